//! A browser check: `Checker::check` of one document read in headless
//! Chromium (`render = "browser"`), a loopback page whose script writes
//! the policy (41 blocks) 300 ms after load, and what the browser costs in
//! memory while it is up.
//!
//! 1. cold: the first check, browser start included (a first version is
//!    confirmed by a second render);
//! 2. warm: the same document checked again and again with the browser
//!    up (one render each, the page unchanged);
//! 3. memory: the browser's processes and their proportional set size
//!    while it is up (what `status` shows), and this process's peak.
//!
//! Run with `cargo bench --bench browser` (needs `chromium`, or `CHROMIUM`);
//! `BROWSER_BENCH_CHECKS=5` for fewer warm checks. See `benches/README.md`.

#[allow(dead_code)]
#[path = "../tests/common/server.rs"]
mod server;

use std::time::{Duration, Instant};

use clausewatch::announce::Announce;
use clausewatch::config::Config;
use clausewatch::pipeline::fetch::browser;
use clausewatch::store::Store;
use clausewatch::watch::check::Checker;
use server::{Reply, TestServer};

const DEFAULT_CHECKS: usize = 20;

/// The page: an empty `<main>` and a same-origin script that fills it.
const PAGE: &str = r#"<!DOCTYPE html><html lang="en"><head><title>Privacy</title></head><body>
<main id="policy"></main><script src="/app.js"></script></body></html>"#;

fn script() -> String {
    let mut html = String::from("<h1>Example Privacy Policy</h1>");
    for i in 1..=20 {
        html.push_str(&format!(
            "<h2>Section {i}</h2><p>In section {i} we describe how the data you give us is kept, for how long, and who may read it.</p>"
        ));
    }
    format!(
        "setTimeout(function () {{ document.getElementById(\"policy\").innerHTML = {}; }}, 300);",
        serde_json::to_string(&html).expect("a JSON string")
    )
}

/// This process's memory figures (`VmHWM`, `VmRSS`, …) in KiB, by name.
fn memory_kib() -> std::collections::HashMap<String, u64> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter_map(|l| {
            let (key, value) = l.split_once(':')?;
            let kib = value.trim().strip_suffix(" kB")?.trim().parse().ok()?;
            Some((key.to_string(), kib))
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    if browser::executable().is_none() {
        eprintln!("no browser: install chromium or set CHROMIUM");
        std::process::exit(2);
    }
    let checks: usize = std::env::var("BROWSER_BENCH_CHECKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CHECKS);
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html(PAGE)]);
    server.set_route(
        "/app.js",
        vec![Reply::ok(script()).header("Content-Type", "text/javascript")],
    );
    let dir = tempfile::tempdir().expect("temp dir for the database");
    let toml = format!(
        "[defaults]\nper_host_delay = \"0s\"\nretries = 0\ntimeout = \"10s\"\njitter = \"0s\"\nconfirm_after = \"0s\"\n\n\
         [[documents]]\nid = \"scripted\"\nname = \"Scripted\"\nservice = \"Example\"\nurl = \"{}\"\nselect = \"#policy\"\nrender = \"browser\"\n",
        server.url("/privacy")
    );
    let config = Config::parse(&dir.path().join("bench.toml"), &toml).expect("bench config");
    let doc = config.documents[0].clone();
    println!(
        "one browser document on {} ({} cores), {} warm checks",
        server.base_url(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        checks
    );
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let store = Store::open(&config.storage.path.clone())
            .await
            .expect("open the bench database");
        let checker =
            Checker::new(&config, store, Announce::from_config(&config)).expect("checker");

        let start = Instant::now();
        let outcome = checker.check(&doc).await.expect("first check");
        let cold = start.elapsed();
        assert!(
            outcome.label() == "new_version",
            "the first check gave {outcome}"
        );
        println!("cold (browser start + 2 renders): {:>7.0} ms", ms(cold));

        let mut times = Vec::with_capacity(checks);
        for _ in 0..checks {
            let start = Instant::now();
            let outcome = checker.check(&doc).await.expect("warm check");
            times.push(start.elapsed());
            assert!(!outcome.is_failure(), "a warm check failed: {outcome}");
        }
        times.sort();
        if let (Some(min), Some(max)) = (times.first(), times.last()) {
            let median = times[times.len() / 2];
            println!(
                "warm (1 render, browser up):      {:>7.0} ms median, {:.0}–{:.0} ms",
                ms(median),
                ms(*min),
                ms(*max)
            );
        }
        match browser::memory() {
            Some(m) => println!(
                "browser up: {} processes, {:.0} MiB proportional set size",
                m.processes,
                m.memory_bytes as f64 / (1024.0 * 1024.0)
            ),
            None => println!("browser up: no processes found"),
        }
        let own = memory_kib();
        let mib = |key: &str| own.get(key).copied().unwrap_or(0) / 1024;
        println!(
            "this process: {} MiB peak resident, {} MiB now",
            mib("VmHWM"),
            mib("VmRSS")
        );
    });
}
