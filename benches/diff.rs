//! Diff timing over the shared corpus: the largest consecutive pair (by
//! total Markdown size) many times, then every consecutive pair of every
//! document. Clauses are extracted once up front: only `diff` is timed.
//!
//! Then the composer on one long added clause (20,000 and 200,000
//! characters of real policy sentences): composing must stay linear.
//!
//! Run with `cargo bench --bench diff`.

#[path = "../tests/diff_corpus/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};

use clausewatch::announce::compose::{compose_thread, ComposeOptions, ThreadInput};
use clausewatch::pipeline::diff::{diff, Change, ChangeKind, ChangeSet, DiffOptions, Summary};

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration, Duration, Duration) {
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    let mean = total / samples.len() as u32;
    let pct = |p: usize| samples[(samples.len() - 1) * p / 100];
    (mean, pct(50), pct(95), samples[samples.len() - 1])
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), so that a
/// figure taken on a loaded machine is not the wall time of other processes.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn time_pair(label: &str, (doc, i): (&corpus::Document, usize), opts: &DiffOptions) {
    let (a, b) = (&doc.versions[i - 1], &doc.versions[i]);
    let cs = diff(&a.clauses, &b.clauses, opts, "en");
    println!(
        "{label}: {} {} -> {} ({} + {} bytes, {} + {} clauses, {} changes)",
        doc.name,
        a.file,
        b.file,
        a.bytes,
        b.bytes,
        a.clauses.len(),
        b.clauses.len(),
        cs.changes.len()
    );
    let iters = 200;
    let cpu_start = thread_cpu_ns();
    let samples: Vec<Duration> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(diff(&a.clauses, &b.clauses, opts, "en"));
            t.elapsed()
        })
        .collect();
    let cpu = cpu_start
        .zip(thread_cpu_ns())
        .map(|(a, b)| Duration::from_nanos((b - a) / iters as u64));
    let (mean, median, p95, max) = stats(samples);
    println!(
        "  {iters} iterations: mean {mean:.2?}, median {median:.2?}, p95 {p95:.2?}, max {max:.2?}"
    );
    if let Some(cpu) = cpu {
        println!("  CPU time per iteration (this thread, on a CPU): {cpu:.2?}");
    }
}

fn main() {
    let opts = DiffOptions::default();
    let load_start = Instant::now();
    let docs = corpus::documents();
    let versions: usize = docs.iter().map(|d| d.versions.len()).sum();
    println!(
        "loaded {} documents, {versions} versions in {:.2?}",
        docs.len(),
        load_start.elapsed()
    );

    let pairs = || {
        docs.iter()
            .flat_map(|d| (1..d.versions.len()).map(move |i| (d, i)))
    };
    let largest = pairs()
        .max_by_key(|(d, i)| d.versions[i - 1].bytes + d.versions[*i].bytes)
        .expect("corpus has at least one pair");
    time_pair("largest pair", largest, &opts);
    // The largest pair may be a quiet one; the busiest pair exercises the
    // similarity pairing and word diffs.
    let busiest = pairs()
        .max_by_key(|(d, i)| {
            diff(
                &d.versions[i - 1].clauses,
                &d.versions[*i].clauses,
                &opts,
                "en",
            )
            .changes
            .len()
        })
        .expect("corpus has at least one pair");
    time_pair("pair with most changes", busiest, &opts);

    let rounds = 5;
    let mut pair_samples = Vec::new();
    let mut history = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    for _ in 0..rounds {
        let t = Instant::now();
        for d in &docs {
            for w in d.versions.windows(2) {
                let p = Instant::now();
                std::hint::black_box(diff(&w[0].clauses, &w[1].clauses, &opts, "en"));
                let took = p.elapsed();
                if took > slowest.0 {
                    slowest = (took, format!("{} {} -> {}", d.name, w[0].file, w[1].file));
                }
                pair_samples.push(took);
            }
        }
        history.push(t.elapsed());
    }
    let pairs = pair_samples.len() / rounds;
    let (hmean, hmedian, _, hmax) = stats(history);
    let (pmean, pmedian, pp95, pmax) = stats(pair_samples);
    println!("whole corpus history ({pairs} consecutive pairs), {rounds} rounds: mean {hmean:.2?}, median {hmedian:.2?}, max {hmax:.2?}");
    println!("  per pair: mean {pmean:.2?}, median {pmedian:.2?}, p95 {pp95:.2?}, max {pmax:.2?}");
    println!("  slowest pair: {} ({:.2?})", slowest.1, slowest.0);

    compose_long_clauses(&docs);
}

/// One added clause of `chars` characters, made of the corpus's sentences.
fn long_clause(docs: &[corpus::Document], chars: usize) -> String {
    let sentences: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.versions.iter())
        .flat_map(|v| v.clauses.iter())
        .map(|c| c.text.as_str())
        .filter(|t| t.len() > 80)
        .collect();
    let mut out = String::new();
    for s in sentences.iter().cycle() {
        if out.chars().count() >= chars {
            break;
        }
        out.push_str(s);
        out.push(' ');
    }
    out
}

fn compose_long_clauses(docs: &[corpus::Document]) {
    let opts = ComposeOptions::default();
    let mut per_size = Vec::new();
    for chars in [20_000usize, 200_000] {
        let clause = long_clause(docs, chars);
        let cs = ChangeSet {
            summary: Summary {
                added: 1,
                ..Summary::default()
            },
            changes: vec![Change {
                kind: ChangeKind::Added,
                path: "Policy > Section".into(),
                old: None,
                new: Some(clause),
                words: Vec::new(),
                flags: Vec::new(),
                flags_disappeared: Vec::new(),
                old_position: None,
                new_position: Some(1),
                old_path: None,
            }],
        };
        let input = ThreadInput {
            service: "X",
            document_name: "Privacy Policy",
            document_id: "x-privacy",
            url: "https://x.com/en/privacy",
            language: "en",
            changes: &cs,
            version: 2,
            previous_version: Some(1),
            seen_at: chrono::DateTime::UNIX_EPOCH,
        };
        let iters = if chars > 100_000 { 5 } else { 20 };
        let samples: Vec<Duration> = (0..iters)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(compose_thread(&input, &opts));
                t.elapsed()
            })
            .collect();
        let (mean, median, _, max) = stats(samples);
        println!("compose one added clause of {chars} characters: mean {mean:.2?}, median {median:.2?}, max {max:.2?}");
        per_size.push(median);
    }
    println!(
        "  200,000 / 20,000 characters: {:.1}x the time (linear is 10x)",
        per_size[1].as_secs_f64() / per_size[0].as_secs_f64()
    );
}
