//! Markdown → clauses → version hash: positions are dense, each clause's hash
//! is its normal form's, and the version hash is well formed.
#![no_main]

use clausewatch::pipeline::clauses::{split, version_hash, ClauseHash};
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
        assert_eq!(c.hash, ClauseHash::of(c.norm()), "clause {i}'s hash");
        assert!(!c.norm().is_empty(), "empty clause kept at {i}");
    }
    assert!(is_sha256_hex(&version_hash(&clauses)));
});
