//! Replays every shared corpus history the way the bot would meet it: each
//! recorded version served in turn as an HTML page on 127.0.0.1, checked
//! through the real `Checker` (changes confirmed at once), and writes a
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
//! `REPLAY_THREADS=1` it also prints every thread.

#[allow(dead_code)]
#[path = "../tests/common/server.rs"]
mod server;

#[allow(dead_code)]
#[path = "../tests/common/corpus.rs"]
mod corpus;

#[allow(dead_code)]
#[path = "../tests/common/replay.rs"]
mod replay;

use replay::{Report, DOCUMENTS};
use server::TestServer;

fn main() {
    let server = TestServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let show_threads = std::env::var_os("REPLAY_THREADS").is_some();
    let show_steps = std::env::var_os("REPLAY_STEPS").is_some();
    println!("{}", replay::header());
    let mut total = Report::default();
    for doc in DOCUMENTS {
        let replayed = runtime.block_on(replay::replay(doc, &server));
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
    println!("columns: noise thr/rec = threads for labelled noise records (refilter, doubling, revert, cosmetic) / such records; real ann. = labelled real changes announced / such records; both-ways = first posts naming a topic as new and removed; md-leaks = posts with Markdown or HTML; toc = posts naming \"Table of Contents\"; read/changed = words in posts per changed word");
}
