//! Markdown → clauses → version hash: positions are dense and hashes well formed.
#![no_main]

use clausewatch::pipeline::clauses::{split, version_hash};
use clausewatch::pipeline::extract::extract_markdown;
use libfuzzer_sys::fuzz_target;

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let md = String::from_utf8_lossy(data);
    let clauses = split(&extract_markdown(&md));
    for (i, c) in clauses.iter().enumerate() {
        assert_eq!(c.position as usize, i, "position gap at clause {i}");
        assert!(is_sha256_hex(&c.hash), "bad clause hash {:?}", c.hash);
        assert!(!c.norm().is_empty(), "empty clause kept at {i}");
    }
    assert!(is_sha256_hex(&version_hash(&clauses)));
});
