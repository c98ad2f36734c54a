//! Arbitrary bytes as a stored Markdown version or a plain-text page.
#![no_main]

use clausewatch::pipeline::extract::{extract, extract_markdown, Format, Rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let md = String::from_utf8_lossy(data);
    let ex = extract_markdown(&md);
    for b in &ex.blocks {
        assert_eq!(b.text.trim(), b.text, "untrimmed block {:?}", b.text);
    }
    // to_text is what gets stored; it must not panic on any extraction.
    let _ = ex.to_text();
    let _ = extract(&md, Format::Text, &Rules::default());
    let _ = Format::guess("page", None, &md);
});
