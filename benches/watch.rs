//! Throughput of the watch loop: `Checker::check` for many documents served on
//! 127.0.0.1, the way `clausewatch check` runs them (one `JoinSet`, all
//! documents at once, the fetcher's limits deciding the pace).
//!
//! Four rounds over the same documents, each timed on its own:
//! 1. first version: every document is new (fetch, extract, split, store; no diff);
//! 2. changed: every document serves the next corpus version (full fetch,
//!    extraction, clause split, diff against the stored version, one transaction);
//! 3. unchanged without ETag: the same page again, and no validator stored yet
//!    (full fetch and extraction, equal hash, only `last_seen` moves); the server
//!    now sends an ETag, which this round stores;
//! 4. 304: the stored ETag is sent and the server answers 304 Not Modified;
//! 5. one clause changed: one paragraph of every page gains a sentence, and
//!    the bytes the database grows by per new version are reported (the
//!    storage goal: under 8 KB for a one-clause change).
//!
//! Run with `cargo bench --bench watch`; `WATCH_BENCH_DOCS=200` for a quicker run.
//! `WATCH_BENCH_BIG_PAGE=1` instead checks one 10 MB page in a fresh process
//! (first version, then one clause changed) and reports the peak memory.
//! See `benches/README.md` for what the figures mean.

#[allow(dead_code)]
#[path = "../tests/common/server.rs"]
mod server;

#[allow(dead_code)]
#[path = "../tests/common/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clausewatch::announce::Announce;
use clausewatch::config::{Config, Document};
use clausewatch::store::Store;
use clausewatch::watch::check::Checker;
use clausewatch::watch::decide::Verdict;
use server::{Reply, TestServer};

const X_DOC: &str = "twitter/privacy-policy";
const DEFAULT_DOCS: usize = 1000;
/// `/proc/*/stat` counts CPU time in USER_HZ ticks, which the kernel ABI fixes
/// at 100 on Linux whatever the scheduler's HZ (see proc(5)); reading it this
/// way spares a `libc` dependency for `sysconf(_SC_CLK_TCK)`.
const TICK: Duration = Duration::from_millis(10);

/// utime + stime, in ticks, of a `/proc/.../stat` file (the process when it is
/// `/proc/self/stat`, one thread when it is `/proc/self/task/TID/stat`).
fn cpu_ticks(stat_path: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) may contain spaces and parentheses: fields
    // are counted from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name come field 3 (state) onwards; utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks of the test server's thread, so that the server's share of the
/// process time can be told apart from clausewatch's own.
fn server_ticks() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("test-http-"))
        })
        .filter_map(|t| cpu_ticks(&t.path().join("stat")))
        .sum()
}

/// A `VmHWM`-style line of `/proc/self/status`, in KiB.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Resets the peak RSS to the current RSS (Linux 4.0+, `clear_refs` value 5),
/// so that each round reports its own peak rather than the process's.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct Measured {
    name: &'static str,
    wall: Duration,
    cpu: Duration,
    server_cpu: Duration,
    peak_kib: Option<u64>,
    outcomes: BTreeMap<&'static str, usize>,
    first_failure: Option<String>,
}

/// Checks every document concurrently, as `clausewatch check` does.
async fn round(name: &'static str, checker: &Checker, docs: &Arc<Vec<Document>>) -> Measured {
    let peak_reset = reset_peak();
    let cpu0 = cpu_ticks(Path::new("/proc/self/stat")).unwrap_or(0);
    let server0 = server_ticks();
    let start = Instant::now();
    // The same bounded runner as `clausewatch check`.
    let results = checker.check_many(docs).await;
    let mut outcomes = BTreeMap::new();
    let mut first_failure = None;
    for result in results {
        let (label, error) = match result {
            Ok(outcome) => {
                let error = match &outcome.verdict {
                    Verdict::Failed { error, .. } => Some(error.clone()),
                    _ => None,
                };
                (outcome.label(), error)
            }
            Err(e) => ("store_error", Some(e.to_string())),
        };
        if let Some(error) = error {
            first_failure.get_or_insert(error);
        }
        *outcomes.entry(label).or_insert(0) += 1;
    }
    let wall = start.elapsed();
    let cpu = cpu_ticks(Path::new("/proc/self/stat"))
        .unwrap_or(0)
        .saturating_sub(cpu0);
    let server_cpu = server_ticks().saturating_sub(server0);
    Measured {
        name,
        wall,
        cpu: TICK * cpu as u32,
        server_cpu: TICK * server_cpu as u32,
        peak_kib: if peak_reset {
            status_kib("VmHWM:")
        } else {
            None
        },
        outcomes,
        first_failure,
    }
}

/// The corpus versions as served pages, with consecutive duplicates dropped so
/// that each step to the next page is a real change.
fn distinct_pages() -> Vec<String> {
    let mut markdowns: Vec<String> = corpus::versions(X_DOC)
        .iter()
        .map(|v| corpus::markdown(X_DOC, &v.file))
        .collect();
    markdowns.dedup();
    markdowns.iter().map(|m| corpus::x_page(m)).collect()
}

/// A page as one site serves it: the shared policy text plus a per-document
/// line of chrome, so that snapshots are not all deduplicated into ~30 blobs
/// (1,000 real documents are 1,000 different pages).
fn page_for(pages: &[String], version: usize, doc: usize) -> String {
    pages[version].replacen(
        "</body>",
        &format!("<!-- served for doc-{doc:04} -->\n</body>"),
        1,
    )
}

/// The page with one clause edited: a sentence added to the first
/// paragraph of the policy.
fn one_clause_changed(page: &str, doc: usize) -> String {
    let main = page.find("twtr-main").unwrap_or(0);
    let Some(end) = page[main..].find("</p>").map(|i| main + i) else {
        return page.to_string();
    };
    format!(
        "{} This sentence was added for document {doc}.{}",
        &page[..end],
        &page[end..]
    )
}

/// Bytes of the database's pages in use, after moving the WAL into it.
async fn used_bytes(pool: &sqlx::SqlitePool) -> i64 {
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await;
    let mut used = 1;
    for name in ["page_count", "freelist_count", "page_size"] {
        let v = sqlx::query_scalar::<_, i64>(&format!("PRAGMA {name}"))
            .fetch_one(pool)
            .await
            .unwrap_or(0);
        used = match name {
            "page_count" => v,
            "freelist_count" => used - v,
            _ => used * v,
        };
    }
    used
}

fn config_text(server: &TestServer, docs: usize) -> String {
    let mut text = String::from(
        "[defaults]\nallow_private_addresses = true\nper_host_delay = \"0s\"\nmax_concurrent = 8\nretries = 0\njitter = \"0s\"\nconfirm_after = \"0s\"\n\
         timeout = \"30s\"\n\n[storage]\npath = \"bench.db\"\n",
    );
    for n in 0..docs {
        text.push_str(&format!(
            "\n[[documents]]\nid = \"doc-{n:04}\"\nname = \"Document {n}\"\nservice = \"Bench\"\n\
             url = \"{}\"\nselect = \"#twtr-main\"\n",
            server.url(&format!("/doc/{n}"))
        ));
    }
    text
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn print_table(docs: usize, rounds: &[Measured]) {
    println!();
    println!(
        "{:<26} {:>9} {:>9} {:>12} {:>12} {:>12} {:>10}  outcomes",
        "round", "wall s", "docs/s", "CPU ms/doc", "w/o server", "server", "peak MiB"
    );
    for m in rounds {
        let per_doc = |d: Duration| d.as_secs_f64() * 1000.0 / docs as f64;
        let peak = m
            .peak_kib
            .map_or("n/a".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
        let outcomes: Vec<String> = m.outcomes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:<26} {:>9.2} {:>9.1} {:>12.2} {:>12.2} {:>12.2} {:>10}  {}",
            m.name,
            m.wall.as_secs_f64(),
            docs as f64 / m.wall.as_secs_f64(),
            per_doc(m.cpu),
            per_doc(m.cpu.saturating_sub(m.server_cpu)),
            per_doc(m.server_cpu),
            peak,
            outcomes.join(" ")
        );
        if let Some(error) = &m.first_failure {
            println!("  first failure: {error}");
        }
    }
}

/// A policy page of about `bytes`: numbered sections of distinct paragraphs.
fn big_page(bytes: usize) -> String {
    let mut html = String::from("<html><body><main id=\"twtr-main\">\n");
    let mut i = 0;
    while html.len() < bytes {
        if i % 20 == 0 {
            html.push_str(&format!("<h2>Section {}</h2>\n", i / 20));
        }
        html.push_str(&format!(
            "<p>Paragraph {i}: we may collect, use and share information about you with our \
             partners and affiliates for the purposes described in section {}, subject to your \
             choices and the law where you live.</p>\n",
            i / 20
        ));
        i += 1;
    }
    html + "</main></body></html>"
}

/// One 10 MB page checked twice in a process that holds nothing else.
fn big_page_rounds() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir for the database");
    let text = format!(
        "[defaults]\nallow_private_addresses = true\nper_host_delay = \"0s\"\nretries = 0\njitter = \"0s\"\n\
         confirm_after = \"0s\"\ntimeout = \"120s\"\nmax_body_bytes = 16777216\n\n[storage]\npath = \"bench.db\"\n\n\
         [[documents]]\nid = \"big\"\nname = \"Big\"\nservice = \"Bench\"\nurl = \"{}\"\nselect = \"#twtr-main\"\n",
        server.url("/big")
    );
    let config = Config::parse(&dir.path().join("bench.toml"), &text).expect("bench config");
    let page = big_page(10 * 1000 * 1000);
    let changed = one_clause_changed(&page, 0);
    let runtime = clausewatch::app::process::runtime().expect("tokio runtime");
    let mut rounds = Vec::new();
    let start_kib = status_kib("VmRSS:");
    runtime.block_on(async {
        let store = Store::open(&config.storage.path)
            .await
            .expect("open the bench database");
        let checker =
            Checker::new(&config, store.clone(), Announce::from_config(&config)).expect("checker");
        let documents = Arc::new(config.documents.clone());
        server.set_route("/big", vec![Reply::html(&page)]);
        rounds.push(round("10 MB page, first version", &checker, &documents).await);
        server.set_route("/big", vec![Reply::html(&changed)]);
        rounds.push(round("10 MB page, one clause", &checker, &documents).await);
        store.close().await;
    });
    println!(
        "one page of {:.1} MB; process RSS before the rounds {} MiB (the server holds the page and its changed copy)",
        page.len() as f64 / 1e6,
        start_kib.map_or("n/a".to_string(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
    print_table(1, &rounds);
}

fn main() {
    // The process as the binary sets it up, so that its memory is what a
    // check costs.
    clausewatch::app::process::limit_malloc_arenas();
    if std::env::var_os("WATCH_BENCH_BIG_PAGE").is_some() {
        return big_page_rounds();
    }
    let docs: usize = std::env::var("WATCH_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_DOCS);
    let pages = distinct_pages();
    assert!(
        pages.len() >= 2,
        "the corpus needs two different versions of {X_DOC}"
    );
    let avg_page = pages.iter().map(String::len).sum::<usize>() / pages.len();
    // Version k for the first round, k + 1 for the changed round.
    let version = |n: usize| n % (pages.len() - 1);

    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir for the database");
    let config = Config::parse(&dir.path().join("bench.toml"), &config_text(&server, docs))
        .expect("bench config");
    let db = config.storage.path.clone();
    println!(
        "{docs} documents on {} ({} distinct X privacy-policy pages, {:.0} KiB average), \
         per_host_delay 0, max_concurrent 8, {} cores",
        server.base_url(),
        pages.len(),
        avg_page as f64 / 1024.0,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let runtime = clausewatch::app::process::runtime().expect("tokio runtime");
    let mut rounds = Vec::new();
    let mut row_counts = Vec::new();
    let mut per_version = None;
    runtime.block_on(async {
        let store = Store::open(&db).await.expect("open the bench database");
        let checker =
            Checker::new(&config, store.clone(), Announce::from_config(&config)).expect("checker");
        let documents = Arc::new(config.documents.clone());

        let serve = |next: usize, etag: bool| {
            server.clear_log();
            for n in 0..docs {
                let k = version(n) + next;
                let mut reply = Reply::html(&page_for(&pages, k, n));
                if etag {
                    reply = reply.etag(&format!("\"v{k}-{n}\""));
                }
                server.set_route(&format!("/doc/{n}"), vec![reply]);
            }
        };

        serve(0, false);
        rounds.push(round("first version (no diff)", &checker, &documents).await);
        serve(1, false);
        rounds.push(round("changed (diff + write)", &checker, &documents).await);
        // Same bytes, now with an ETag: a full check that stores the validator.
        serve(1, true);
        rounds.push(round("unchanged, no ETag", &checker, &documents).await);
        rounds.push(round("304 Not Modified", &checker, &documents).await);

        let requests = server.requests().len();
        // The log was last cleared before the unchanged round: two rounds since.
        assert_eq!(
            requests,
            2 * docs,
            "one request per document and round, no retries"
        );
        let pool =
            sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&db))
                .await
                .expect("open the bench database");
        server.clear_log();
        for n in 0..docs {
            let k = version(n) + 1;
            let page = one_clause_changed(&page_for(&pages, k, n), n);
            server.set_route(&format!("/doc/{n}"), vec![Reply::html(&page)]);
        }
        let before = used_bytes(&pool).await;
        let one = round("one clause changed", &checker, &documents).await;
        let grown = used_bytes(&pool).await - before;
        let new_versions = one.outcomes.get("new_version").copied().unwrap_or(0);
        rounds.push(one);
        per_version =
            (new_versions > 0).then(|| (grown as f64 / new_versions as f64, new_versions));
        for table in [
            "versions",
            "snapshots",
            "texts",
            "heading_paths",
            "changesets",
        ] {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap_or(-1);
            row_counts.push(format!("{rows} {table}"));
        }
        store.close().await;
    });

    print_table(docs, &rounds);
    let wal = db.with_file_name(format!(
        "{}-wal",
        db.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("bench.db")
    ));
    println!(
        "\ndatabase after the rounds: {:.1} MiB ({:.1} MiB WAL left); rows: {}",
        mib(file_size(&db)),
        mib(file_size(&wal)),
        row_counts.join(", ")
    );
    if let Some((bytes, n)) = per_version {
        println!(
            "one clause changed: the database grew by {bytes:.0} bytes per new version ({n} versions; pages in use after a checkpoint)"
        );
    }
    println!(
        "process peak RSS (VmHWM, includes the test server thread) at the end: {} MiB",
        status_kib("VmHWM:").map_or("n/a".to_string(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
}
