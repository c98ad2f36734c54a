//! Page classification on arbitrary status, headers and body never panics.
#![no_main]

use clausewatch::pipeline::classify::{inspect_error_body, inspect_extraction, inspect_page};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let status = u16::from_le_bytes([data[0], data[1]]);
    let text = String::from_utf8_lossy(&data[4..]);
    // The first line of the rest is one header "name: value"; the remainder is the body.
    let (header_line, body) = text.split_once('\n').unwrap_or(("", &text));
    let headers: Vec<(String, String)> = header_line
        .split_once(':')
        .map(|(n, v)| vec![(n.to_string(), v.to_string())])
        .unwrap_or_default();
    if let Some(p) = inspect_page(status, &headers, body) {
        assert!(matches!(p.class().as_str(), "blocked" | "soft_error"));
    }
    let _ = inspect_error_body(status, body);
    let last_good = match data[2] {
        0 => None,
        n => Some(usize::from(n) * usize::from(data[3])),
    };
    let chars = body.chars().count();
    let _ = inspect_extraction(chars, body, last_good, f64::from(data[3]) / 255.0);
});
