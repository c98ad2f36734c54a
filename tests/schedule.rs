//! Schedules mean what they say: classic cron weekday numbers, errors in the
//! user's terms with file:line:column, `status` says when each document is
//! checked next (with the retry backoff after a failure), and a schedule
//! firing more than once a minute is warned about.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use common::server::{Reply, TestServer};
use serde_json::Value;

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clausewatch"));
    c.current_dir(dir)
        .env_remove("CLAUSEWATCH_CONFIG")
        .env_remove("CLAUSEWATCH_DATABASE")
        .env("RUST_LOG", "warn");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin(dir).args(args).output().expect("run clausewatch")
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const PAGE: &str = "<html><body><main><h1>Privacy Policy</h1><p>We collect the information you give us when you create an account, and we use it to run the service you asked for.</p><p>We never sell it.</p></main></body></html>";

fn config(dir: &Path, documents: &[(&str, &str, &str)]) {
    let mut text = String::from(
        "[defaults]\nallow_private_addresses = true\njitter = \"0s\"\nretries = 0\nper_host_delay = \"0s\"\n\n[storage]\npath = \"cw.db\"\n",
    );
    for (id, url, schedule) in documents {
        text.push_str(&format!(
            "\n[[documents]]\nid = \"{id}\"\nname = \"{id}\"\nservice = \"S\"\nurl = \"{url}\"\nschedule = \"{schedule}\"\n"
        ));
    }
    std::fs::write(dir.join("bot.toml"), text).unwrap();
}

#[test]
fn cron_errors_are_in_the_users_terms_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for (expr, limits) in [
        (
            "0 9 * * 8",
            "weekdays are 0–7 (0 and 7 are Sunday) or sun–sat",
        ),
        ("60 9 * * 1", "minutes are 0–59"),
        ("0 9 * jab 1", "months are 1–12 or jan–dec"),
    ] {
        config(dir.path(), &[("doc", "http://127.0.0.1:9/p", expr)]);
        let out = run(dir.path(), &["check"]);
        assert_eq!(out.status.code(), Some(2), "{expr}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The schedule value is on line 15, after `schedule = `.
        assert!(
            stderr.contains("bot.toml:15:12:") && stderr.contains(expr) && stderr.contains(limits),
            "{expr}: {stderr}"
        );
        assert!(
            !stderr.contains("Days of Week") && !stderr.contains(&format!("0 {expr}")),
            "{stderr}"
        );
    }
}

fn status_json(dir: &Path) -> (Value, DateTime<Utc>, DateTime<Utc>) {
    let before = Utc::now();
    let out = run(dir, &["status", "--format", "json"]);
    let after = Utc::now();
    assert!(out.status.success(), "{}", show(&out));
    (serde_json::from_slice(&out.stdout).unwrap(), before, after)
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

fn doc<'a>(status: &'a Value, id: &str) -> &'a Value {
    status["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {status}"))
}

#[test]
fn status_shows_the_next_cron_tick_and_the_retry_after_a_failure() {
    let server = TestServer::start();
    server.set_route("/ok", vec![Reply::html(PAGE)]);
    server.set_route("/gone", vec![Reply::status(404)]);
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &[
            // Mondays 09:00 in classic numbers; Sundays as 0 and as 7.
            ("weekly", &server.url("/ok"), "0 9 * * 1"),
            ("sunday", &server.url("/ok"), "0 0 * * 0"),
            ("sunday-7", &server.url("/ok"), "0 0 * * 7"),
            // Once a year: a failure must not wait for next January.
            ("broken", &server.url("/gone"), "0 0 1 1 *"),
        ],
    );
    let out = run(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    let (status, before, after) = status_json(dir.path());
    let weekly = doc(&status, "weekly");
    let next = time(&weekly["next_check"]);
    assert_eq!(
        (next.weekday(), next.hour(), next.minute()),
        (Weekday::Mon, 9, 0),
        "{weekly}"
    );
    assert!(
        next > time(&weekly["last_check"])
            && next - time(&weekly["last_check"]) <= chrono::Duration::days(7)
    );
    for id in ["sunday", "sunday-7"] {
        let next = time(&doc(&status, id)["next_check"]);
        assert_eq!((next.weekday(), next.hour()), (Weekday::Sun, 0), "{id}");
    }

    // One failure: retried a minute after it (or now, if that is past).
    let broken = doc(&status, "broken");
    assert_eq!(broken["consecutive_failures"], 1);
    let retry = time(&broken["last_check"]) + chrono::Duration::minutes(1);
    let next = time(&broken["next_check"]);
    assert!(
        next >= retry.min(before) && next <= retry.max(after),
        "{broken}"
    );

    // A second failure in a row doubles the delay.
    let out = run(dir.path(), &["check", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let (status, before, after) = status_json(dir.path());
    let broken = doc(&status, "broken");
    assert_eq!(broken["consecutive_failures"], 2);
    let retry = time(&broken["last_check"]) + chrono::Duration::minutes(2);
    let next = time(&broken["next_check"]);
    assert!(
        next >= retry.min(before) && next <= retry.max(after),
        "{broken}"
    );

    // The text form says it too.
    let out = run(dir.path(), &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().filter(|l| l.contains("; next check ")).count() == 4,
        "{text}"
    );

    // With only --db (no config file here): unknown, not a guess.
    let elsewhere = tempfile::tempdir().unwrap();
    let db = dir.path().join("cw.db");
    let out = run(
        elsewhere.path(),
        &["status", "--format", "json", "--db", &db.to_string_lossy()],
    );
    assert!(out.status.success(), "{}", show(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["next_check"].is_null()),
        "{status}"
    );
    let out = run(elsewhere.path(), &["status", "--db", &db.to_string_lossy()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("next check unknown"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_schedule_firing_more_than_once_a_minute_is_warned_about() {
    let server = TestServer::start();
    server.set_route("/ok", vec![Reply::html(PAGE)]);
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &[
            ("hasty", &server.url("/ok"), "*/10 * * * * *"),
            ("calm", &server.url("/ok"), "0 * * * * *"),
        ],
    );
    let log = dir.path().join("stderr.log");
    let mut child = bin(dir.path())
        .args(["run"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the daemon");
    let line = common::wait_until("the warning", Duration::from_secs(30), || {
        std::fs::read_to_string(&log)
            .ok()?
            .lines()
            .find(|l| l.contains("more than once a minute"))
            .map(str::to_string)
    });
    child.kill().ok();
    child.wait().ok();
    assert!(
        line.contains("hasty") && line.contains("*/10 * * * * *") && line.contains("WARN"),
        "{line}"
    );
    let all = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        all.matches("more than once a minute").count(),
        1,
        "calm is not warned about: {all}"
    );
}
