//! Diff timing over the shared corpus: the largest consecutive pair (by
//! total Markdown size) many times, then every consecutive pair of every
//! document. Clauses are extracted once up front: only `diff` is timed.
//!
//! Then one clause edited in a policy of about 180 clauses, as the shared
//! bench's "changed" pages are (a sentence added, "may" made "will", a
//! sentence dropped): the pure stages of such a check, diff and the
//! announcing thread, timed together and apart.
//!
//! Then the composer on one long added clause (20,000 and 200,000
//! characters of real policy sentences) and on 1,000 and 10,000 reworded
//! clauses: composing must stay linear in both.
//!
//! Run with `cargo bench --bench diff`; `DIFF_BENCH_PROFILE=N` diffs the
//! busiest pair N more times and stops there, for a profiler.

#[path = "../tests/diff_corpus/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};

use clausewatch::announce::compose::{compose_thread, ComposeOptions, ThreadInput};
use clausewatch::announce::Announce;
use clausewatch::config::Config;
use clausewatch::pipeline::clauses::{self, Clause};
use clausewatch::pipeline::diff::{diff, Change, ChangeKind, ChangeSet, DiffOptions, Summary};
use clausewatch::pipeline::extract::extract_markdown;

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
    // For a profiler: the busiest pair alone, this many times, and nothing else.
    if let Some(n) = std::env::var("DIFF_BENCH_PROFILE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let (d, i) = busiest;
        for _ in 0..n {
            std::hint::black_box(diff(
                &d.versions[i - 1].clauses,
                &d.versions[i].clauses,
                &opts,
                "en",
            ));
        }
        return;
    }

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

    one_clause_edited(&docs, &opts);
    compose_long_clauses(&docs);
}

/// The number of clauses of the shared bench's pages, about.
const EDITED_POLICY_CLAUSES: usize = 180;

/// The sentence the shared bench's generator adds to its first "insert"
/// pages (X's September 2023 policy): it raises a watched topic, so the
/// thread gets its consequence line.
const INSERTED: &str = "We may use the information we collect and publicly available information to help train our machine learning or artificial intelligence models for the purposes outlined in this policy.";

/// Edits one prose line near the middle of `md` the way the shared
/// bench's generator does; None when no line takes that edit.
fn edit_one_line(md: &str, kind: &str) -> Option<String> {
    let mut lines: Vec<String> = md.lines().map(str::to_string).collect();
    let mid = lines.len() / 2;
    let mut prose: Vec<usize> = (0..lines.len())
        .filter(|&k| {
            let s = lines[k].trim();
            s.len() >= 120
                && !s.starts_with(['#', '-', '*', '+', '|', '>', '[', '!'])
                && !s.starts_with(|c: char| c.is_ascii_digit())
                && s.contains(". ")
        })
        .collect();
    prose.sort_by_key(|&k| k.abs_diff(mid));
    for k in prose {
        let line = &lines[k];
        let edited = match kind {
            "insert" => format!("{} {INSERTED}", line.trim_end()),
            "modify" if line.contains(" may ") => line.replacen(" may ", " will ", 1),
            "delete" => match line.trim_end().rfind(". ") {
                Some(i) => line[..=i].to_string(),
                None => continue,
            },
            _ => continue,
        };
        lines[k] = edited;
        return Some(lines.join("\n"));
    }
    None
}

/// Mean CPU time of this thread per call of `f`, over `iters` calls.
fn cpu_per_call<T>(iters: u32, mut f: impl FnMut() -> T) -> Option<Duration> {
    let start = thread_cpu_ns()?;
    for _ in 0..iters {
        std::hint::black_box(f());
    }
    let end = thread_cpu_ns()?;
    Some(Duration::from_nanos((end - start) / u64::from(iters)))
}

/// One clause of a ~180-clause corpus policy edited three ways; for each,
/// the CPU time of the diff, of `Announce::change_thread` (what a check
/// runs after the diff: doubling and structure checks, the composer) and
/// of both.
fn one_clause_edited(docs: &[corpus::Document], opts: &DiffOptions) {
    let (doc, version) = docs
        .iter()
        .filter(|d| d.name.contains("privacy"))
        .flat_map(|d| d.versions.iter().map(move |v| (d, v)))
        .min_by_key(|(_, v)| v.clauses.len().abs_diff(EDITED_POLICY_CLAUSES))
        .expect("corpus has a privacy policy");
    let md = std::fs::read_to_string(corpus::corpus_dir().join(&doc.name).join(&version.file))
        .expect("corpus file reads");
    let config = Config::parse(
        std::path::Path::new("bench.toml"),
        "[[documents]]\nid = \"policy\"\nname = \"Privacy Policy\"\nservice = \"X\"\nurl = \"https://x.com/en/privacy\"\n",
    )
    .expect("bench config parses");
    let announce = Announce::from_config(&config);
    let document = &config.documents[0];
    let old: Vec<Clause> = clauses::split(&extract_markdown(&md));
    println!(
        "one clause edited: {} {} ({} clauses, {} bytes)",
        doc.name,
        version.file,
        old.len(),
        md.len()
    );
    let seen = chrono::DateTime::UNIX_EPOCH;
    for kind in ["insert", "modify", "delete"] {
        let Some(edited) = edit_one_line(&md, kind) else {
            println!("  {kind}: no line to edit");
            continue;
        };
        let new: Vec<Clause> = clauses::split(&extract_markdown(&edited));
        let thread = |cs: &ChangeSet| {
            announce.change_thread(
                document,
                cs,
                2,
                Some(1),
                seen,
                "k".into(),
                Some((&old, &new)),
            )
        };
        let cs = diff(&old, &new, opts, "en");
        let posts = thread(&cs).map_or(0, |t| t.posts.len());
        let iters = 500;
        let both = cpu_per_call(iters, || thread(&diff(&old, &new, opts, "en")));
        let alone = cpu_per_call(iters, || diff(&old, &new, opts, "en"));
        let compose = cpu_per_call(iters, || thread(&cs));
        let show = |d: Option<Duration>| d.map_or("n/a".to_string(), |d| format!("{d:.2?}"));
        println!(
            "  {kind}: {} change(s), {posts} post(s); CPU per call: diff + thread {}, diff {}, thread {}",
            cs.changes.len(),
            show(both),
            show(alone),
            show(compose)
        );
    }
}

/// The corpus's clauses of more than 80 bytes, all versions.
fn long_sentences(docs: &[corpus::Document]) -> Vec<&str> {
    docs.iter()
        .flat_map(|d| d.versions.iter())
        .flat_map(|v| v.clauses.iter())
        .map(|c| c.text.as_str())
        .filter(|t| t.len() > 80)
        .collect()
}

/// One added clause of `chars` characters, made of the corpus's sentences.
fn long_clause(docs: &[corpus::Document], chars: usize) -> String {
    let sentences = long_sentences(docs);
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

/// Mean, median and max wall time of composing the thread of `cs`.
fn time_compose(
    cs: &ChangeSet,
    iters: usize,
    opts: &ComposeOptions,
) -> (Duration, Duration, Duration) {
    let input = ThreadInput {
        service: "X",
        document_name: "Privacy Policy",
        document_id: "x-privacy",
        url: "https://x.com/en/privacy",
        language: "en",
        changes: cs,
        version: 2,
        previous_version: Some(1),
        seen_at: chrono::DateTime::UNIX_EPOCH,
    };
    let samples: Vec<Duration> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(compose_thread(&input, opts));
            t.elapsed()
        })
        .collect();
    let (mean, median, _, max) = stats(samples);
    (mean, median, max)
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
        let (mean, median, max) = time_compose(&cs, if chars > 100_000 { 5 } else { 20 }, &opts);
        println!("compose one added clause of {chars} characters: mean {mean:.2?}, median {median:.2?}, max {max:.2?}");
        per_size.push(median);
    }
    println!(
        "  200,000 / 20,000 characters: {:.1}x the time (linear is 10x)",
        per_size[1].as_secs_f64() / per_size[0].as_secs_f64()
    );
    compose_many_changes(docs, &opts);
}

/// A change set of `n` reworded corpus clauses, each in a section of its
/// own: half of them in threes sharing one substitution (systematic
/// renames: a "Throughout" line and folded clauses), half with an edit of
/// their own (listed and quoted), so that the numbers of sections, of
/// substitutions and of quoted changes grow with the input.
fn many_changes(docs: &[corpus::Document], n: usize) -> ChangeSet {
    use clausewatch::pipeline::diff::{WordOp, WordOpKind};
    let texts = long_sentences(docs);
    let op = |op, text: &str| WordOp {
        op,
        text: text.to_string(),
    };
    let changes = (0..n)
        .map(|i| {
            let text = texts[i % texts.len()];
            let (head, tail) = text.split_at(text.find(' ').unwrap_or(0));
            let (old_word, new_word) = if i % 2 == 0 {
                (format!("term{}", i / 6), format!("word{}", i / 6))
            } else {
                (format!("old{i}"), format!("new{i}"))
            };
            let words = vec![
                op(WordOpKind::Equal, &format!("{head} ")),
                op(WordOpKind::Delete, &old_word),
                op(WordOpKind::Insert, &new_word),
                op(WordOpKind::Equal, tail),
            ];
            Change {
                kind: ChangeKind::Modified,
                path: format!("Policy > Section {i}"),
                old: Some(format!("{head} {old_word}{tail}")),
                new: Some(format!("{head} {new_word}{tail}")),
                words,
                flags: Vec::new(),
                flags_disappeared: Vec::new(),
                old_position: Some(i as u32),
                new_position: Some(i as u32),
                old_path: None,
            }
        })
        .collect();
    ChangeSet {
        summary: Summary {
            modified: n,
            ..Summary::default()
        },
        changes,
    }
}

fn compose_many_changes(docs: &[corpus::Document], opts: &ComposeOptions) {
    let mut per_size = Vec::new();
    for n in [1_000usize, 10_000] {
        let cs = many_changes(docs, n);
        let (mean, median, max) = time_compose(&cs, if n > 5_000 { 3 } else { 10 }, opts);
        println!("compose {n} reworded clauses in {n} sections: mean {mean:.2?}, median {median:.2?}, max {max:.2?}");
        per_size.push(median);
    }
    println!(
        "  10,000 / 1,000 changes: {:.1}x the time (linear is 10x)",
        per_size[1].as_secs_f64() / per_size[0].as_secs_f64()
    );
}
