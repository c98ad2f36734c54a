//! Replays every shared corpus history the way the bot would meet it: each
//! recorded version served in turn as an HTML page on 127.0.0.1, checked
//! through the real `Checker` (changes confirmed at once), and writes a
//! report of what a follower would read: threads, posts, threads for the
//! records Open Terms Archive itself labels as noise (`Refilter …`,
//! `Apply technical or declaration upgrade …`), topic lines that name a
//! topic both as new and as removed, Markdown reaching a post, sections
//! named "Table of Contents", and words a follower reads per changed word.
//!
//! Run with `cargo bench --bench replay` (about a minute); see
//! `benches/README.md`. It measures; it asserts nothing.

#[allow(dead_code)]
#[path = "../tests/common/server.rs"]
mod server;

#[allow(dead_code)]
#[path = "../tests/common/corpus.rs"]
mod corpus;

use std::sync::Arc;

use clausewatch::announce::Announce;
use clausewatch::config::Config;
use clausewatch::pipeline::diff::ChangeSet;
use clausewatch::store::Store;
use clausewatch::watch::check::Checker;
use clausewatch::watch::decide::Verdict;
use server::{Reply, TestServer};

const DOCUMENTS: &[&str] = &[
    "twitter/privacy-policy",
    "twitter/terms-of-service",
    "google/privacy-policy",
    "reddit/privacy-policy",
];

/// What OTA's own commit subjects call an artefact of its extraction.
fn labelled_noise(subject: &str) -> bool {
    subject.starts_with("Refilter") || subject.starts_with("Apply technical")
}

#[derive(Default)]
struct Report {
    versions: usize,
    new_versions: usize,
    cosmetic: usize,
    threads: usize,
    posts: usize,
    noise_threads: usize,
    noise_records: usize,
    both_ways: usize,
    markdown_leaks: usize,
    toc_sections: usize,
    words_read: usize,
    words_changed: usize,
}

fn words_changed(cs: &ChangeSet) -> usize {
    use clausewatch::pipeline::diff::{ChangeKind, WordOpKind};
    cs.changes
        .iter()
        .map(|c| match c.kind {
            ChangeKind::Added => c.new.as_deref().unwrap_or("").split_whitespace().count(),
            ChangeKind::Removed => c.old.as_deref().unwrap_or("").split_whitespace().count(),
            ChangeKind::Modified | ChangeKind::Renamed => c
                .words
                .iter()
                .filter(|w| w.op != WordOpKind::Equal)
                .map(|w| w.text.split_whitespace().count().max(1))
                .sum(),
            ChangeKind::Moved => 0,
        })
        .sum()
}

/// Markdown or HTML that should never reach a post.
fn leaks_markup(text: &str) -> bool {
    text.contains("**")
        || text.contains("](#")
        || text.contains("](http")
        || text.lines().any(|l| {
            let body = l
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '/')
                .trim();
            body.starts_with("# ") || body.starts_with("## ") || body.starts_with("### ")
        })
        || text.contains("<p>")
        || text.contains("</")
}

/// The topic line of post 1 names a topic as new and as removed.
fn both_ways(first_post: &str) -> bool {
    let line = |marker: &str| -> Vec<String> {
        first_post
            .lines()
            .filter(|l| l.to_lowercase().contains(marker))
            .flat_map(|l| {
                l.split([',', ':', ';'])
                    .map(|w| w.trim().to_lowercase())
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty() && !w.contains(marker))
            .collect()
    };
    let new = line("new");
    let removed = line("removed");
    new.iter().any(|t| removed.contains(t))
}

async fn replay(doc: &str, server: &TestServer) -> Report {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = format!("/{}", doc.replace('/', "-"));
    let toml = format!(
        "[defaults]\nper_host_delay = \"0s\"\nretries = 0\njitter = \"0s\"\nconfirm_after = \"0s\"\n\
         min_chars = 100\n\n[storage]\npath = \"{}\"\n\n[[documents]]\nid = \"doc\"\nname = \"Policy\"\n\
         service = \"{}\"\nurl = \"{}\"\nselect = \"#twtr-main\"\n",
        dir.path().join("replay.db").display(),
        doc.split('/').next().unwrap_or("Service"),
        server.url(&path)
    );
    let config = Config::parse(&dir.path().join("bot.toml"), &toml).expect("replay config");
    let store = Store::open(&config.storage.path).await.expect("database");
    let checker =
        Checker::new(&config, store.clone(), Announce::from_config(&config)).expect("checker");
    let document = config.documents[0].clone();
    let mut r = Report::default();
    let mut noise_versions = Vec::new();
    for v in corpus::versions(doc) {
        r.versions += 1;
        let page = corpus::x_page(&corpus::markdown(doc, &v.file));
        server.set_route(&path, vec![Reply::html(&page)]);
        let outcome = checker.check(&document).await.expect("check recorded");
        if labelled_noise(&v.subject) {
            r.noise_records += 1;
        }
        if let Verdict::NewVersion { version, .. } = outcome.verdict {
            r.new_versions += 1;
            r.cosmetic += usize::from(outcome.cosmetic);
            if labelled_noise(&v.subject) {
                noise_versions.push(version);
            }
            if let Some(cs) = &outcome.changes {
                if !outcome.cosmetic && !cs.is_empty() {
                    r.words_changed += words_changed(cs);
                }
            }
        }
    }
    for t in store.threads(10_000).await.expect("threads") {
        r.threads += 1;
        r.posts += t.posts.len();
        if t.version.is_some_and(|v| noise_versions.contains(&v)) {
            r.noise_threads += 1;
        }
        if let Some(first) = t.posts.first() {
            r.both_ways += usize::from(both_ways(&first.text));
        }
        for p in &t.posts {
            r.markdown_leaks += usize::from(leaks_markup(&p.text));
            r.toc_sections += usize::from(p.text.contains("Table of Contents"));
            r.words_read += p.text.split_whitespace().count();
        }
    }
    store.close().await;
    r
}

fn main() {
    let server = TestServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = Arc::new(server);
    println!(
        "{:<26} {:>8} {:>5} {:>8} {:>7} {:>5} {:>12} {:>9} {:>9} {:>5} {:>12}",
        "document",
        "versions",
        "new",
        "cosmetic",
        "threads",
        "posts",
        "noise thr/rec",
        "both-ways",
        "md-leaks",
        "toc",
        "read/changed"
    );
    let mut total = Report::default();
    for doc in DOCUMENTS {
        let r = runtime.block_on(replay(doc, &server));
        println!(
            "{:<26} {:>8} {:>5} {:>8} {:>7} {:>5} {:>12} {:>9} {:>9} {:>5} {:>12.1}",
            doc,
            r.versions,
            r.new_versions,
            r.cosmetic,
            r.threads,
            r.posts,
            format!("{}/{}", r.noise_threads, r.noise_records),
            r.both_ways,
            r.markdown_leaks,
            r.toc_sections,
            r.words_read as f64 / r.words_changed.max(1) as f64
        );
        total.versions += r.versions;
        total.new_versions += r.new_versions;
        total.cosmetic += r.cosmetic;
        total.threads += r.threads;
        total.posts += r.posts;
        total.noise_threads += r.noise_threads;
        total.noise_records += r.noise_records;
        total.both_ways += r.both_ways;
        total.markdown_leaks += r.markdown_leaks;
        total.toc_sections += r.toc_sections;
        total.words_read += r.words_read;
        total.words_changed += r.words_changed;
    }
    println!(
        "{:<26} {:>8} {:>5} {:>8} {:>7} {:>5} {:>12} {:>9} {:>9} {:>5} {:>12.1}",
        "all",
        total.versions,
        total.new_versions,
        total.cosmetic,
        total.threads,
        total.posts,
        format!("{}/{}", total.noise_threads, total.noise_records),
        total.both_ways,
        total.markdown_leaks,
        total.toc_sections,
        total.words_read as f64 / total.words_changed.max(1) as f64
    );
    println!("columns: noise thr/rec = threads for OTA-labelled noise records / such records; both-ways = first posts naming a topic as new and removed; md-leaks = posts with Markdown or HTML; toc = posts naming \"Table of Contents\"; read/changed = words in posts per changed word");
}
