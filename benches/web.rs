//! Render times of the web pages over the shared corpus: the diff page of
//! the largest change (the pair whose change set is the longest to show),
//! the version page of the largest version, and a feed of 50 entries made
//! of the corpus's busiest changes. Diffs are computed once up front: only
//! rendering (HTML or Atom, escaping included) is timed, which is what a
//! page costs once the store has answered.
//!
//! Run with `cargo bench --bench web`. Budget: the diff page under 20 ms.

#[path = "../tests/diff_corpus/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use clausewatch::pipeline::diff::{diff, ChangeSet, DiffOptions};
use clausewatch::store::VersionInfo;
use clausewatch::web::load::{ChangeView, DocInfo, FeedEntry, VersionView};
use clausewatch::web::{feed, pages};
use url::Url;

fn time(label: &str, iters: usize, mut f: impl FnMut() -> usize) {
    let bytes = f();
    let mut samples: Vec<Duration> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    samples.sort_unstable();
    let at = |p: usize| samples[(samples.len() - 1) * p / 100];
    println!(
        "{label} ({bytes} bytes), {iters} iterations: median {:.2?}, p95 {:.2?}, min {:.2?}, max {:.2?}",
        at(50),
        at(95),
        samples[0],
        samples[iters - 1]
    );
}

fn info(n: i64, clauses: usize) -> VersionInfo {
    let seen = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(n);
    VersionInfo {
        id: n,
        version: n,
        first_seen: seen,
        last_seen: seen,
        hash: format!("{n:064x}"),
        clauses: clauses as i64,
        snapshot: None,
        cosmetic: false,
        changes: None,
    }
}

fn doc(name: &str) -> DocInfo {
    DocInfo {
        id: name.replace('/', "-"),
        name: name.to_string(),
        service: "Service".to_string(),
        url: "https://example.org/policy".to_string(),
        language: "en".to_string(),
    }
}

/// Bytes of text a change set puts on its page.
fn weight(cs: &ChangeSet) -> usize {
    cs.changes
        .iter()
        .map(|c| c.old.as_ref().map_or(0, String::len) + c.new.as_ref().map_or(0, String::len))
        .sum()
}

fn main() {
    let opts = DiffOptions::default();
    let base = Url::parse("https://policies.example/").unwrap();
    let docs = corpus::documents();
    let mut changes: Vec<(usize, &corpus::Document, usize, ChangeSet)> = Vec::new();
    for d in &docs {
        for i in 1..d.versions.len() {
            let cs = diff(
                &d.versions[i - 1].clauses,
                &d.versions[i].clauses,
                &opts,
                "en",
            );
            changes.push((weight(&cs), d, i, cs));
        }
    }
    changes.sort_by_key(|c| std::cmp::Reverse(c.0));
    let (w, d, i, cs) = &changes[0];
    println!(
        "largest change: {} {} -> {} ({} changes, {w} bytes of clause text)",
        d.name,
        d.versions[i - 1].file,
        d.versions[*i].file,
        cs.changes.len()
    );
    let view = ChangeView {
        doc: doc(&d.name),
        from: info(*i as i64, d.versions[i - 1].clauses.len()),
        to: info(*i as i64 + 1, d.versions[*i].clauses.len()),
        changes: cs.clone(),
        prev: Some(*i as i64),
        next: None,
    };
    time("diff page of the largest change", 200, || {
        pages::change(&base, &view).into_string().len()
    });

    let (vd, vi) = docs
        .iter()
        .flat_map(|d| (0..d.versions.len()).map(move |i| (d, i)))
        .max_by_key(|(d, i)| d.versions[*i].clauses.len())
        .unwrap();
    let v = &vd.versions[vi];
    println!(
        "largest version: {} {} ({} clauses)",
        vd.name,
        v.file,
        v.clauses.len()
    );
    let version = VersionView {
        doc: doc(&vd.name),
        info: info(vi as i64 + 1, v.clauses.len()),
        clauses: v.clauses.clone(),
        newest: vi as i64 + 1,
    };
    time("version page of the largest version", 200, || {
        pages::version(&base, &version).into_string().len()
    });

    let entries: Vec<FeedEntry> = changes
        .iter()
        .take(50)
        .map(|(_, d, i, cs)| FeedEntry {
            doc: doc(&d.name),
            to: info(*i as i64 + 1, d.versions[*i].clauses.len()),
            changes: cs.clone(),
        })
        .collect();
    let self_url = clausewatch::links::feed(&base);
    time("feed of the 50 largest changes", 50, || {
        feed::build(&base, &self_url, "all", &entries).len()
    });
}
