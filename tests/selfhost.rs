//! Self-hosting: the daemon's HTTP listener, `status`, `backup`, `export`,
//! upgrades from the first released schema, and clean shutdown on SIGTERM.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::corpus;
use common::server::{Reply, TestServer};
use common::wait_until;
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clausewatch"));
    c.env_remove("CLAUSEWATCH_DATABASE")
        .env_remove("CLAUSEWATCH_CONFIG");
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 GET; returns (status, body).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// The value of a metric line `name{labels} value`, or 0 when absent.
fn metric(text: &str, line_prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    wait_until("the daemon to exit", timeout, || child.try_wait().unwrap())
}

fn write_config(dir: &Path, server: &TestServer, http_port: u16) -> PathBuf {
    let config = format!(
        r#"[defaults]
confirm_after = "0s"
per_host_delay = "0s"
jitter = "0s"
retries = 0
timeout = "10s"
# The test server is on 127.0.0.1.
allow_private_addresses = true
[http]
listen = "127.0.0.1:{http_port}"
[[documents]]
id = "x-privacy"
name = "X Privacy Policy"
service = "X"
url = "{}"
select = "main"
schedule = "*/1 * * * * *"
[[documents]]
id = "gone"
name = "Gone"
service = "Test"
url = "{}"
"#,
        server.url("/privacy"),
        server.url("/gone")
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn x_page(file: &str) -> String {
    corpus::x_page(&corpus::markdown("twitter/privacy-policy", file))
}

#[test]
fn daemon_serves_health_and_metrics_and_stops_cleanly_on_sigterm() {
    let server = TestServer::start();
    server.set_route(
        "/privacy",
        vec![Reply::html(&x_page("2023-08-24T095329Z.md"))],
    );
    server.set_route("/gone", vec![Reply::status(500)]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), &server, port);
    let stderr_path = dir.path().join("stderr.log");
    let mut child = bin()
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();

    let (status, body) = wait_until("/healthz", Duration::from_secs(20), || {
        http_get(port, "/healthz")
    });
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["database"], true);
    assert_eq!(health["scheduler"], true);

    // The first checks run at once; the page is then checked every second,
    // so the counters move while we watch.
    let first = wait_until("a new version in /metrics", Duration::from_secs(20), || {
        let (_, m) = http_get(port, "/metrics")?;
        (metric(&m, "clausewatch_checks_total{outcome=\"new_version\"}") == 1.0).then_some(m)
    });
    assert!(
        metric(&first, "clausewatch_checks_total{outcome=\"failed\"}") >= 1.0,
        "{first}"
    );
    assert_eq!(metric(&first, "clausewatch_versions_recorded_total"), 1.0);
    assert!(first.contains("# TYPE clausewatch_fetch_duration_seconds histogram"));
    let unchanged_before = metric(&first, "clausewatch_checks_total{outcome=\"unchanged\"}");
    wait_until(
        "unchanged checks to be counted",
        Duration::from_secs(20),
        || {
            let (_, m) = http_get(port, "/metrics")?;
            (metric(&m, "clausewatch_checks_total{outcome=\"unchanged\"}")
                >= unchanged_before + 2.0)
                .then_some(())
        },
    );
    let (_, health) = http_get(port, "/healthz").unwrap();
    let health: Value = serde_json::from_str(&health).unwrap();
    assert!(
        health["last_success_age_seconds"].as_i64().unwrap() < 10,
        "{health}"
    );

    // `status` reads the live database: the 500 shows as failing.
    let out = bin()
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gone = text
        .lines()
        .find(|l| l.starts_with("gone:"))
        .expect("gone listed");
    assert!(
        gone.contains("FAILING") && gone.contains("http_server"),
        "{text}"
    );
    let out = bin()
        .args(["status", "--format", "json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let gone = v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "gone")
        .unwrap();
    assert!(gone["consecutive_failures"].as_i64().unwrap() >= 1);
    assert!(
        gone["last_error"].as_str().unwrap().contains("500"),
        "{gone}"
    );

    // SIGTERM during a slow check: the check finishes and is recorded, then
    // the daemon exits 0.
    server.set_route(
        "/privacy",
        vec![Reply::html(&x_page("2023-09-29T231259Z.md")).delay(Duration::from_millis(1500))],
    );
    let hits = server.hits("/privacy");
    wait_until("the slow check to start", Duration::from_secs(10), || {
        (server.hits("/privacy") > hits).then_some(())
    });
    let sent = Instant::now();
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert!(status.success(), "exit status {status:?}");
    assert!(
        sent.elapsed() >= Duration::from_millis(1000),
        "did not wait for the in-flight check"
    );
    let log = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
    let out = bin()
        .args(["history", "x-privacy", "--format", "json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        history.as_array().unwrap().len(),
        2,
        "the in-flight check stored its version"
    );
}

#[test]
fn backup_is_a_consistent_copy_and_export_writes_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    std::fs::copy(fixture(), &db).unwrap();
    let backup = dir.path().join("backup.db");
    let out = bin()
        .args(["backup", "--db"])
        .arg(&db)
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second backup onto the same file is refused, not overwritten.
    let again = bin()
        .args(["backup", "--db"])
        .arg(&db)
        .arg(&backup)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    // The backup is the database as it was: the first schema, not upgraded
    // by the read; both are upgraded here as a writer would at start.
    for file in [&db, &backup] {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = clausewatch::store::Store::open(file)
                .await
                .expect("migrates");
            store.close().await;
        });
    }

    let history = |db: &Path| -> Value {
        let out = bin()
            .args(["history", "x-privacy", "--format", "json", "--db"])
            .arg(db)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(history(&db), history(&backup));
    let show = |db: &Path| {
        bin()
            .args(["show", "x-privacy", "1", "--format", "json", "--db"])
            .arg(db)
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(show(&db), show(&backup));

    let export = dir.path().join("export");
    let out = bin()
        .args(["export", "x-privacy", "--db"])
        .arg(&db)
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = std::fs::read_to_string(export.join("index.tsv")).unwrap();
    let rows: Vec<&str> = index.lines().skip(1).collect();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let file = row.split('\t').nth(1).unwrap();
        let md = std::fs::read_to_string(export.join(file)).unwrap();
        assert!(
            md.starts_with("# X Privacy Policy"),
            "{}",
            &md[..80.min(md.len())]
        );
        // The exported Markdown extracts back to the stored version.
        let out = bin()
            .args(["extract", "--format", "json"])
            .arg(export.join(file))
            .output()
            .unwrap();
        let clauses: Value = serde_json::from_slice(&out.stdout).unwrap();
        let version: i64 = row.split('\t').next().unwrap().parse().unwrap();
        let stored = bin()
            .args([
                "show",
                "x-privacy",
                &version.to_string(),
                "--format",
                "json",
                "--db",
            ])
            .arg(&db)
            .output()
            .unwrap();
        let stored: Value = serde_json::from_slice(&stored.stdout).unwrap();
        let hashes = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|c| c["hash"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            hashes(&clauses),
            hashes(&stored),
            "version {version} round-trips"
        );
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-0001.db")
}

/// A database made by the first released schema (migrations/0001) opens
/// with the current binary, is migrated forward, and keeps its history.
#[test]
fn first_schema_database_migrates_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    std::fs::copy(fixture(), &db).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = clausewatch::store::Store::open(&db)
            .await
            .expect("migrates");
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&common::raw_db(&db).await)
                .await
                .unwrap();
        let available: Vec<i64> =
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
                .unwrap()
                .filter_map(|e| {
                    e.ok()?
                        .file_name()
                        .to_str()?
                        .split('_')
                        .next()?
                        .parse()
                        .ok()
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
        assert_eq!(applied, available, "every migration applied");

        let history = store.history("x-privacy", None).await.unwrap();
        assert_eq!(history.len(), 2);
        for v in &history {
            // Every stored version still hashes to its clauses.
            let clauses = store.clauses(v.id).await.unwrap();
            assert_eq!(clauses.len() as i64, v.clauses);
            assert_eq!(
                clausewatch::pipeline::clauses::version_hash(&clauses),
                v.hash,
                "version {}",
                v.version
            );
            let snapshot = store
                .snapshot(v.snapshot.as_deref().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert!(snapshot.0.len() > 100_000, "raw page kept");
        }
        assert!(history[0].changes.is_some(), "change set kept");
        let statuses = store.statuses().await.unwrap();
        let broken = statuses.iter().find(|s| s.id == "broken").unwrap();
        assert_eq!(broken.consecutive_failures, 2);
        assert_eq!(store.fetch_count("x-privacy").await.unwrap(), 2);
        store.close().await;
    });
}

#[test]
fn runs_from_a_folder_with_only_bot_toml() {
    // The binary needs nothing beside its config: the database is created
    // next to it, migrations are embedded.
    let server = TestServer::start();
    server.set_route(
        "/privacy",
        vec![Reply::html(&x_page("2023-08-24T095329Z.md"))],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bot.toml"),
        format!(
            "[defaults]\nallow_private_addresses = true\n[[documents]]\nid = \"x-privacy\"\nname = \"X\"\nservice = \"X\"\nurl = \"{}\"\nselect = \"main\"\n",
            server.url("/privacy")
        ),
    )
    .unwrap();
    let out = bin().arg("check").current_dir(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("clausewatch.db").exists());
}

/// SIGTERM with thousands of documents due and slow pages: the daemon stops
/// starting checks at once and exits within its grace period, instead of
/// working through the queue.
#[test]
fn sigterm_with_thousands_of_documents_due_stops_promptly() {
    let server = TestServer::start();
    // Every answer takes a second: checks pile up behind the slot limit.
    let mut slow = Reply::html(&x_page("2023-08-24T095329Z.md"));
    slow.delay = Duration::from_secs(1);
    server.set_route("/privacy", vec![slow]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from(
        "[defaults]\nallow_private_addresses = true\nper_host_delay = \"0s\"\nretries = 0\njitter = \"0s\"\nconfirm_after = \"0s\"\nmax_concurrent = 4\n",
    );
    for n in 0..3_000 {
        config.push_str(&format!(
            "\n[[documents]]\nid = \"doc-{n}\"\nname = \"Policy {n}\"\nservice = \"S\"\nurl = \"{}\"\n",
            server.url("/privacy")
        ));
    }
    let path = dir.path().join("bot.toml");
    std::fs::write(&path, config).unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = bin()
        .args(["run", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until("checks under way", Duration::from_secs(30), || {
        (!server.requests().is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let signalled = std::time::Instant::now();
    // Well past the 8 s grace, far below the minutes the queue would take.
    let status = wait_until("the daemon to exit", Duration::from_secs(30), || {
        child.try_wait().unwrap()
    });
    let took = signalled.elapsed();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status:?}\n{text}");
    assert!(
        took < Duration::from_secs(15),
        "stopping took {took:?}\n{text}"
    );
    assert!(text.contains("stopped"), "{text}");
    assert!(
        server.requests().len() < 100,
        "{} requests: the queue was not worked through",
        server.requests().len()
    );
}
