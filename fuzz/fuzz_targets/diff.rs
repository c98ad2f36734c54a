//! Two versions from one input: the summary agrees with the change list, and
//! a version diffed against itself has no changes.
#![no_main]

use clausewatch::pipeline::clauses::split;
use clausewatch::pipeline::diff::{diff, ChangeKind, DiffOptions};
use clausewatch::pipeline::extract::extract_markdown;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split on a byte boundary, then decode each half lossily, so the fuzzer
    // controls both sides independently.
    let mid = data.len() / 2;
    let a = split(&extract_markdown(&String::from_utf8_lossy(&data[..mid])));
    let b = split(&extract_markdown(&String::from_utf8_lossy(&data[mid..])));
    let opts = DiffOptions::default();

    let cs = diff(&a, &b, &opts, "en");
    let count = |k: ChangeKind| cs.changes.iter().filter(|c| c.kind == k).count();
    assert_eq!(cs.summary.added, count(ChangeKind::Added));
    assert_eq!(cs.summary.removed, count(ChangeKind::Removed));
    assert_eq!(cs.summary.modified, count(ChangeKind::Modified));
    assert_eq!(cs.summary.moved, count(ChangeKind::Moved));
    assert_eq!(cs.summary.renamed, count(ChangeKind::Renamed));
    let _ = clausewatch::pipeline::diff::render_text(&cs, false);

    let same = diff(&a, &a, &opts, "en");
    assert!(
        same.changes.is_empty(),
        "diff(a, a) not empty: {:?}",
        same.changes
    );
});
