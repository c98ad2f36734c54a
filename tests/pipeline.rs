//! The whole pipeline through the command line only: `import`, then `check`
//! against a loopback page, read back with `status --format json` and
//! `history --format json`. No database access from the test: the outbox is
//! counted through `status`, versions through `history`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::corpus;
use common::server::{Reply, TestServer};
use serde_json::Value;

const DOC_ID: &str = "x-privacy";
const X_DOC: &str = "twitter/privacy-policy";
/// The X privacy-policy selectors of the Open Terms Archive declaration
/// (`shared/corpus/twitter/declaration.json`), as in the example bot.toml.
const X_RULES: &str = r##"select = "#twtr-main"
remove = [".ct01__background-img", ".twtr-hidden--lg", ".ct07__dropdown-item", ".ct07__side-nav", "[aria-hidden=\"true\"]", ".b04__image", ".ct17-banner-container"]"##;

/// A temp dir holding `bot.toml` (one document, `x-privacy`) and the
/// database beside it.
struct Bot {
    dir: tempfile::TempDir,
}

impl Bot {
    fn new(url: &str) -> Bot {
        let bot = Bot {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let toml = format!(
            r#"[defaults]
per_host_delay = "0s"
# The test server is on 127.0.0.1.
allow_private_addresses = true
backoff_base = "10ms"
retries = 0
timeout = "5s"
jitter = "0s"
confirm_after = "0s"

[[documents]]
id = "{DOC_ID}"
name = "X Privacy Policy"
service = "X"
url = "{url}"
{X_RULES}
"#
        );
        std::fs::write(bot.config(), toml).expect("write bot.toml");
        bot
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("bot.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clausewatch"));
        cmd.args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("CLAUSEWATCH_DATABASE")
            .env_remove("CLAUSEWATCH_CONFIG");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run clausewatch")
    }

    /// `clausewatch check x-privacy`, which must succeed; returns its output.
    fn check(&self) -> Output {
        let out = self.run(&["check", DOC_ID]);
        assert!(out.status.success(), "check failed: {}", show(&out));
        out
    }

    /// `clausewatch status --format json`.
    fn status(&self) -> Value {
        let out = self.run(&["status", "--format", "json"]);
        assert!(out.status.success(), "status failed: {}", show(&out));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("status is not JSON ({e}): {}", show(&out)))
    }

    /// `clausewatch history x-privacy --format json`: the versions, newest first.
    fn history(&self) -> Vec<Value> {
        let out = self.run(&["history", DOC_ID, "--format", "json"]);
        assert!(out.status.success(), "history failed: {}", show(&out));
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("history is not JSON ({e}): {}", show(&out)));
        v.as_array()
            .unwrap_or_else(|| panic!("history is not an array: {}", show(&out)))
            .clone()
    }
}

/// Exit status, stdout and stderr of a command, for assertion messages.
fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )
}

/// The line `check` printed for the document, without the `x-privacy: ` prefix.
fn outcome_of(out: &Output) -> Option<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{DOC_ID}: ")))
        .map(str::to_string)
}

/// As [`outcome_of`], failing the test when there is none.
fn outcome(out: &Output) -> String {
    outcome_of(out)
        .unwrap_or_else(|| panic!("check printed no outcome for {DOC_ID}: {}", show(out)))
}

/// The outbox counts of `status --format json`: (pending, sending, sent, failed).
fn outbox_counts(status: &Value) -> (i64, i64, i64, i64) {
    let outbox = &status["outbox"];
    let count = |k: &str| {
        outbox[k]
            .as_i64()
            .unwrap_or_else(|| panic!("status outbox has no count {k:?}: {status}"))
    };
    (
        count("pending"),
        count("sending"),
        count("sent"),
        count("failed"),
    )
}

/// "number:hash" of each entry of a `history --format json` answer, for
/// assertion messages.
fn version_numbers(history: &[Value]) -> Vec<String> {
    history
        .iter()
        .map(|v| {
            let hash = v["hash"].as_str().unwrap_or("?");
            format!("{}:{}", v["version"], &hash[..hash.len().min(12)])
        })
        .collect()
}

/// Importing the Open Terms Archive history, then checking the live page
/// that history's last version was recorded from, announces nothing: import
/// and check go through the same observation path, and what the recorded
/// Markdown cannot tell (a space OTA's filters removed) is cosmetic.
#[test]
fn import_then_live_check_queues_nothing() {
    let corpus_doc = corpus::dir().join(X_DOC);
    let snapshot_path = corpus_doc.join("snapshots/2026-07-16T005820Z.html");
    let snapshot = std::fs::read(&snapshot_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", snapshot_path.display()));

    let server = TestServer::start();
    let bot = Bot::new(&server.url("/en/privacy"));

    let import = bot.run(&["import", DOC_ID, &corpus_doc.to_string_lossy()]);
    assert!(import.status.success(), "import failed: {}", show(&import));
    let imported: usize = String::from_utf8_lossy(&import.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{DOC_ID}: ")))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("import printed no version count: {}", show(&import)));
    let after_import = bot.history();
    assert!(imported > 0, "import imported nothing: {}", show(&import));
    assert_eq!(
        after_import.len(),
        imported,
        "history after import lists the imported versions: {}",
        show(&import)
    );
    let status = bot.status();
    assert_eq!(
        outbox_counts(&status),
        (0, 0, 0, 0),
        "an import is never announced: {}\n=== status\n{status}",
        show(&import)
    );

    server.set_route(
        "/en/privacy",
        vec![Reply::ok(snapshot).header("Content-Type", "text/html; charset=utf-8")],
    );
    let check = bot.check();
    let line = outcome(&check);
    let history = bot.history();
    let status = bot.status();
    let context = format!(
        "=== import: {}\n=== check: {}\n=== history versions (newest first): {:?}\n=== status\n{status}",
        show(&import),
        show(&check),
        version_numbers(&history)
    );

    assert_eq!(
        outbox_counts(&status),
        (0, 0, 0, 0),
        "the live page of the last imported version queued posts: {context}"
    );
    // The Markdown Open Terms Archive recorded glues a few words the page
    // separates ("inYour X Data"): the same letters, so at most a cosmetic
    // version, stored and never announced.
    assert!(
        line.starts_with("unchanged")
            || line.starts_with("technical update")
            || (line.starts_with("new version") && line.contains("cosmetic")),
        "the check of the last imported version's page is no announced change: {context}"
    );
    assert!(
        history.len() == imported || history.len() == imported + 1,
        "expected {imported} imported versions plus at most one unannounced one, got {}: {context}",
        history.len()
    );
}

/// The posts one change thread (version A, then B, checked one after the
/// other) puts in the outbox.
fn posts_of_one_change(a: &str, b: &str) -> i64 {
    let server = TestServer::start();
    let bot = Bot::new(&server.url("/p"));
    server.set_route("/p", vec![Reply::html(a)]);
    let first = bot.check();
    assert!(
        outcome(&first).starts_with("new version 1"),
        "reference run, version A: {}",
        show(&first)
    );
    server.set_route("/p", vec![Reply::html(b)]);
    let second = bot.check();
    assert!(
        outcome(&second).starts_with("new version 2"),
        "reference run, version B: {}",
        show(&second)
    );
    let status = bot.status();
    let (pending, sending, sent, failed) = outbox_counts(&status);
    assert!(
        pending > 0 && sending == 0 && sent == 0 && failed == 0,
        "reference run: one change queues posts and sends none: {status}"
    );
    pending
}

/// Two `check` processes at once on the same database and the same changed
/// page store the change once and queue one thread.
#[test]
fn two_checks_at_once_record_one_version() {
    // Two consecutive real records: a few clauses reworded.
    let a = corpus::x_page(&corpus::markdown(X_DOC, "2026-01-16T005414Z.md"));
    let b = corpus::x_page(&corpus::markdown(X_DOC, "2026-07-16T005820Z.md"));
    let thread_posts = posts_of_one_change(&a, &b);

    let mut failures = Vec::new();
    for round in 1..=5 {
        let server = TestServer::start();
        let bot = Bot::new(&server.url("/p"));
        server.set_route("/p", vec![Reply::html(&a)]);
        let first = bot.check();
        assert!(
            outcome(&first).starts_with("new version 1"),
            "round {round}, version A: {}",
            show(&first)
        );
        server.set_route("/p", vec![Reply::html(&b)]);

        let spawn = || {
            bot.command(&["check", DOC_ID])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn clausewatch check")
        };
        let (one, two) = (spawn(), spawn());
        let one = one.wait_with_output().expect("wait for check 1");
        let two = two.wait_with_output().expect("wait for check 2");

        let history = bot.history();
        let status = bot.status();
        let third = bot.run(&["check", DOC_ID]);
        let context = format!(
            "round {round}\n=== check 1: {}\n=== check 2: {}\n=== third check: {}\n=== history versions (newest first): {:?}\n=== status\n{status}",
            show(&one),
            show(&two),
            show(&third),
            version_numbers(&history)
        );
        eprintln!("{context}\n");

        let mut round_failures = Vec::new();
        let (pending, sending, sent, failed) = outbox_counts(&status);
        if history.len() != 2 {
            round_failures.push(format!(
                "round {round}: {} versions in history, expected 2",
                history.len()
            ));
        }
        if (pending, sending, sent, failed) != (thread_posts, 0, 0, 0) {
            round_failures.push(format!(
                "round {round}: outbox (pending, sending, sent, failed) = {:?}, expected one thread: ({thread_posts}, 0, 0, 0)",
                (pending, sending, sent, failed)
            ));
        }
        let third_unchanged = outcome_of(&third).is_some_and(|l| l.starts_with("unchanged"));
        if !(third.status.success() && third_unchanged) {
            round_failures.push(format!(
                "round {round}: the check after the race is not 'unchanged'"
            ));
        }
        if !round_failures.is_empty() {
            failures.push(format!("{}\n{context}", round_failures.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "two checks at once (one thread = {thread_posts} posts), {} of 5 rounds wrong:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Exit statuses as documented: a database that is not one exits 3 (a
/// machine problem), an unknown document 2 (bad input), each with one
/// message naming what is wrong.
#[test]
fn database_errors_exit_3_and_bad_input_exits_2() {
    let server = TestServer::start();
    let bot = Bot::new(&server.url("/p"));
    let not_a_db = bot.dir.path().join("notes.txt");
    std::fs::write(
        &not_a_db,
        "these are notes, not an SQLite database\n".repeat(200),
    )
    .expect("write a text file");
    let out = bot.run(&["status", "--db", &not_a_db.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("notes.txt") && stderr.lines().count() == 1,
        "one line naming the file: {stderr}"
    );
    let out = bot.run(&["check", "no-such-doc"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-doc"),
        "{}",
        show(&out)
    );
}
