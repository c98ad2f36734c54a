//! Replays every shared corpus history the way the bot would meet it: each
//! recorded version served in turn as an HTML page on 127.0.0.1, checked
//! through the real `Checker` as often as a page must stay on an older
//! version to be a revert (changes confirmed at once), and writes a
//! report of what a follower would read: threads, posts, threads for the
//! labelled noise records (`tests/fixtures/replay/labels.tsv`: OTA's
//! `Refilter …` records, the "upcoming + current policy" doubling,
//! reverts), labelled real changes announced, topic lines that name a
//! topic both as new and as removed, Markdown reaching a post, sections
//! named "Table of Contents", and words a follower reads per changed word.
//! The replay itself is `tests/common/replay.rs`, which `tests/replay.rs`
//! asserts on.
//!
//! Run with `cargo bench --bench replay` (about a minute); see
//! `benches/README.md`. It measures; it asserts nothing. With
//! `REPLAY_THREADS=1` it also prints every thread, with `REPLAY_STEPS=1`
//! every record's verdict, and with `REPLAY_CORPUS=DIR` it replays every
//! history under DIR (the corpus's layout) instead of the shared corpus.

#[allow(dead_code)]
#[path = "../tests/common/server.rs"]
mod server;

#[allow(dead_code)]
#[path = "../tests/common/corpus.rs"]
mod corpus;

#[allow(dead_code)]
#[path = "../tests/common/replay.rs"]
mod replay;

use replay::{History, Report, DOCUMENTS};
use server::TestServer;

fn main() {
    let server = TestServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let show_threads = std::env::var_os("REPLAY_THREADS").is_some();
    let show_steps = std::env::var_os("REPLAY_STEPS").is_some();
    let histories = match std::env::var_os("REPLAY_CORPUS") {
        Some(dir) => History::all_in(std::path::Path::new(&dir)).unwrap_or_else(|e| {
            eprintln!("REPLAY_CORPUS: {e}");
            std::process::exit(2)
        }),
        None => DOCUMENTS.iter().map(|d| History::corpus(d)).collect(),
    };
    println!("{}", replay::header());
    let mut total = Report::default();
    for history in &histories {
        let doc = &history.name;
        let replayed = runtime.block_on(replay::replay(history, &server));
        println!("{}", replay::row(doc, &replayed.report));
        total.add(&replayed.report);
        if show_steps {
            for s in &replayed.steps {
                println!(
                    "  {} {:?} {} technical {} thread {}",
                    s.file,
                    s.label,
                    s.verdict.label(),
                    s.technical,
                    s.thread.as_ref().map_or(0, Vec::len)
                );
            }
        }
        if show_threads {
            for s in &replayed.steps {
                if let Some(posts) = &s.thread {
                    println!("\n--- {doc} {} ({:?})", s.file, s.label);
                    for p in posts {
                        println!("{p}\n");
                    }
                }
            }
        }
    }
    println!("{}", replay::row("all", &total));
    let (ok, four) = total.unseen_verdict();
    println!(
        "threads for letter-less changes or language flips, topics both ways, Markdown leaks, \"Table of Contents\" sections: {four} ({})",
        if ok { "meets issue 10" } else { "misses issue 10: each must be 0, 95% of real changes announced" }
    );
    println!("columns: reverts = new versions going back to an older one's text (never announced); tech = technical updates; noise thr/rec = threads for labelled noise records (refilter, doubling, revert, reopened, cosmetic, churn, flip) / such records; cos+flip t/r = the same for letter-less changes and language flips; real ann. = labelled real changes announced / such records; both-ways = first posts naming a topic as new and removed; md-leaks = posts with Markdown or HTML; toc = posts naming \"Table of Contents\"; read/changed = words in posts per changed word");
}
