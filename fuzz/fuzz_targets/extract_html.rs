//! Arbitrary bytes as a fetched page: extraction may reject it, never panic.
#![no_main]

use clausewatch::pipeline::extract::{extract, extract_html, Format, Rules};
use libfuzzer_sys::fuzz_target;

fn rule_sets() -> Vec<Rules> {
    let rules = |select: &[&str], remove: &[&str]| Rules {
        select: select.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
        min_chars: 0,
    };
    vec![
        Rules::default(),
        rules(&["main"], &[]),
        // The shape of the X privacy-policy declaration: one container,
        // several removals, one of them matching nested elements.
        rules(
            &["#twtr-main", "article"],
            &["nav", ".hidden", "[aria-hidden=true]", "script"],
        ),
        rules(&["body > div", "p"], &["p"]),
        rules(&["table tr:nth-child(2n)"], &["td:empty"]),
    ]
}

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    for rules in rule_sets() {
        if let Ok(ex) = extract_html(&html, &rules) {
            // Every block is trimmed and whitespace-collapsed by contract.
            for b in &ex.blocks {
                assert_eq!(b.text.trim(), b.text, "untrimmed block {:?}", b.text);
                assert!(!b.text.contains("  "), "double space in block {:?}", b.text);
            }
        }
    }
    let _ = extract(&html, Format::Html, &Rules::default());
});
