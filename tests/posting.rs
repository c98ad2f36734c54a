//! Posting change threads to a real Mastodon-API server process
//! (mastodon_mock), exactly once, through crashes and faults.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clausewatch::announce::count::status_length;
use common::corpus;
use common::mastodon::{MockServer, BOT_TOKEN};
use common::server::{Reply, TestServer};
use common::wait_until;
use serde_json::{json, Value};

/// The mock counts raw code points and not URLs as 23 (a gap noted in
/// README "Testing"), so tests keep a margin under its fixed 500.
const MAX_CHARS: usize = 470;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clausewatch"));
    c.env_remove("CLAUSEWATCH_DATABASE")
        .env_remove("CLAUSEWATCH_CONFIG")
        .env("CLAUSEWATCH_TOKEN", BOT_TOKEN);
    c
}

struct Bot {
    dir: tempfile::TempDir,
    pages: TestServer,
}

impl Bot {
    /// A bot folder whose one document has already been checked twice (the
    /// X privacy policy of May 2023, then of September 2023), so the outbox
    /// holds the change thread. The schedule never fires during the test:
    /// the daemon only publishes.
    fn with_thread(instance: &str, extra: &str) -> Bot {
        let pages = TestServer::start();
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"[defaults]
confirm_after = "0s"
per_host_delay = "0s"
# The test server is on 127.0.0.1.
allow_private_addresses = true
[fediverse]
instance = "{instance}"
visibility = "public"
reply_visibility = "unlisted"
hashtags = ["privacy"]
max_chars = {MAX_CHARS}
max_posts_per_thread = 8
request_timeout = "2s"
{extra}
[[documents]]
id = "x-privacy"
name = "Privacy Policy"
service = "X"
url = "{}"
select = "main"
schedule = "0 0 1 1 *"
"#,
            pages.url("/en/privacy")
        );
        std::fs::write(dir.path().join("bot.toml"), config).unwrap();
        let bot = Bot { dir, pages };
        for file in ["2023-08-24T095329Z.md", "2023-09-29T231259Z.md"] {
            bot.pages.set_route(
                "/en/privacy",
                vec![Reply::html(&corpus::x_page(&corpus::markdown(
                    "twitter/privacy-policy",
                    file,
                )))],
            );
            let out = bot.cmd(&["check"]).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        bot
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("bot.toml")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bin();
        c.args(args).arg("--config").arg(self.config());
        c
    }

    fn outbox(&self) -> Value {
        let out = self.cmd(&["status", "--format", "json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["outbox"].clone()
    }

    fn status(&self) -> Value {
        let out = self.cmd(&["status", "--format", "json"]).output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    }

    /// `clausewatch outbox --format json`.
    fn outbox_threads(&self) -> Vec<Value> {
        let out = self.cmd(&["outbox", "--format", "json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
    }

    fn posts_in_outbox(&self) -> i64 {
        let o = self.outbox();
        ["pending", "sending", "sent", "failed"]
            .iter()
            .map(|k| o[k].as_i64().unwrap())
            .sum()
    }

    fn spawn(&self, log: &Path) -> Child {
        self.cmd(&["run"])
            .env("RUST_LOG", "clausewatch=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap()
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = wait_until("the daemon to stop", Duration::from_secs(30), || {
        child.try_wait().unwrap()
    });
    assert!(status.success(), "{status:?}");
}

/// Checks the bot's statuses form exactly one thread of `n` posts, in
/// order, as configured, each within the limit.
fn assert_one_thread(mock: &MockServer, n: usize) -> Vec<Value> {
    let statuses = mock.statuses(BOT_TOKEN);
    let texts: Vec<String> = statuses
        .iter()
        .map(|s| s["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses.len(), n, "exactly {n} posts: {texts:#?}");
    for (i, s) in statuses.iter().enumerate() {
        let expected_parent = if i == 0 {
            Value::Null
        } else {
            statuses[i - 1]["id"].clone()
        };
        assert_eq!(
            s["in_reply_to_id"],
            expected_parent,
            "post {} replies to the previous one",
            i + 1
        );
        assert_eq!(s["visibility"], if i == 0 { "public" } else { "unlisted" });
        assert_eq!(s["language"], "en");
        let plain = clausewatch::fediverse::client::plain_text(s["content"].as_str().unwrap());
        assert!(
            plain.starts_with(&format!("{}/{n}", i + 1)),
            "numbered: {plain}"
        );
        assert!(
            status_length(&plain, None, 23) <= MAX_CHARS,
            "post {} too long",
            i + 1
        );
    }
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), n, "no post twice");
    statuses
}

#[test]
fn change_thread_is_posted_in_order_once() {
    let mock = MockServer::start();
    let bot = Bot::with_thread(&mock.base_url(), "post_interval = \"0s\"");
    let n = bot.posts_in_outbox() as usize;
    assert!(n >= 3, "a real change makes a thread");
    let log = bot.dir.path().join("run.log");
    let mut child = bot.spawn(&log);
    wait_until("every post sent", Duration::from_secs(60), || {
        (bot.outbox()["sent"].as_i64() == Some(n as i64)).then_some(())
    });
    stop(&mut child);
    let statuses = assert_one_thread(&mock, n);
    let first =
        clausewatch::fediverse::client::plain_text(statuses[0]["content"].as_str().unwrap())
            .to_lowercase();
    assert!(
        first.contains("biometric") && first.contains("#privacy"),
        "{first}"
    );

    // The token never reaches the logs (debug level included).
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(BOT_TOKEN) && text.contains("outbox: posted"),
        "{text}"
    );

    // A restart sends nothing again.
    let mut child = bot.spawn(&bot.dir.path().join("restart.log"));
    std::thread::sleep(Duration::from_secs(2));
    stop(&mut child);
    assert_eq!(mock.statuses(BOT_TOKEN).len(), n);
}

#[test]
fn sigkill_after_k_posts_then_restart_gives_exactly_n_posts() {
    for k in [1usize, 3] {
        let mock = MockServer::start();
        let bot = Bot::with_thread(&mock.base_url(), "post_interval = \"600ms\"");
        let n = bot.posts_in_outbox() as usize;
        let log = bot.dir.path().join("run.log");
        let mut child = bot.spawn(&log);
        wait_until("k posts", Duration::from_secs(60), || {
            (mock.statuses(BOT_TOKEN).len() >= k).then_some(())
        });
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        let mut child = bot.spawn(&log);
        wait_until(
            "every post sent after restart",
            Duration::from_secs(90),
            || (bot.outbox()["sent"].as_i64() == Some(n as i64)).then_some(()),
        );
        stop(&mut child);
        assert_one_thread(&mock, n);
    }
}

#[test]
fn server_errors_rate_limits_and_timeouts_still_give_exactly_n_posts() {
    let mock = MockServer::start();
    let statuses_path = json!({"methods": ["POST"], "path": "/api/v1/statuses"});
    // Two 500s, then a 429 whose reset is two seconds away (ISO 8601, as
    // Mastodon sends it), then a response slower than our 2 s timeout.
    mock.fault(
        json!({"match": statuses_path, "effect": {"type": "status", "status": 500}, "count": 2}),
    );
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    mock.fault(json!({"match": statuses_path, "effect": {"type": "status", "status": 429,
        "body": {"error": "Too many requests"}, "headers": {"X-RateLimit-Reset": reset}}, "count": 1}));
    mock.fault(json!({"match": statuses_path, "effect": {"type": "latency", "delay_ms": 3000}, "count": 1}));
    let bot = Bot::with_thread(&mock.base_url(), "post_interval = \"0s\"");
    let n = bot.posts_in_outbox() as usize;
    let log = bot.dir.path().join("run.log");
    let started = Instant::now();
    let mut child = bot.spawn(&log);
    wait_until("every post sent", Duration::from_secs(120), || {
        (bot.outbox()["sent"].as_i64() == Some(n as i64)).then_some(())
    });
    stop(&mut child);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the 429 reset was honoured"
    );
    assert_one_thread(&mock, n);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("rate limited") && text.contains("will retry"),
        "{text}"
    );
}

#[test]
fn lost_responses_from_a_server_that_ignores_idempotency_keys_are_adopted_not_reposted() {
    // A proxy in front of the mock that drops the Idempotency-Key header (as
    // servers that ignore it behave) and, for the 2nd and 4th post, lets the
    // server create the status but never answers: the outcome is unknown to
    // the bot, which must find the post on the server instead of posting it
    // again.
    let mock = MockServer::start();
    let proxy = LossyProxy::start(mock.base_url(), vec![2, 4]);
    let bot = Bot::with_thread(&proxy.url(), "post_interval = \"0s\"");
    let n = bot.posts_in_outbox() as usize;
    let log = bot.dir.path().join("run.log");
    let mut child = bot.spawn(&log);
    wait_until("every post sent", Duration::from_secs(120), || {
        (bot.outbox()["sent"].as_i64() == Some(n as i64)).then_some(())
    });
    stop(&mut child);
    assert!(proxy.dropped() >= 2, "the proxy lost two responses");
    assert_one_thread(&mock, n);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("adopted"), "{text}");
}

#[test]
fn refused_post_is_marked_failed_and_shown_in_status() {
    let mock = MockServer::start();
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": 422, "body": {"error": "Validation failed: Text is too long"}}, "count": 1}));
    let bot = Bot::with_thread(&mock.base_url(), "post_interval = \"0s\"");
    let log = bot.dir.path().join("run.log");
    let mut child = bot.spawn(&log);
    wait_until("the failure", Duration::from_secs(60), || {
        (bot.outbox()["failed"].as_i64() == Some(1)).then_some(())
    });
    std::thread::sleep(Duration::from_secs(1));
    stop(&mut child);
    assert_eq!(
        mock.statuses(BOT_TOKEN).len(),
        0,
        "a refused first post stops its thread"
    );
    let outbox = bot.outbox();
    assert!(
        outbox["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Text is too long"),
        "{outbox}"
    );
    let out = bot.cmd(&["status"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("failed") && text.contains("Text is too long"),
        "{text}"
    );

    // `outbox` shows the stopped thread and why; `outbox retry` puts the
    // refused post back in line and the daemon sends the whole thread, once.
    let threads = bot.outbox_threads();
    assert_eq!(threads.len(), 1, "{threads:?}");
    let t = &threads[0];
    assert_eq!(
        (t["kind"].as_str(), t["state"].as_str()),
        (Some("change"), Some("failed")),
        "{t}"
    );
    assert_eq!(t["document"].as_str(), Some("x-privacy"));
    assert_eq!(t["version"].as_i64(), Some(2));
    let posts = t["posts"].as_array().unwrap();
    assert_eq!(posts[0]["state"].as_str(), Some("failed"));
    assert!(posts[0]["error"]
        .as_str()
        .unwrap()
        .contains("Text is too long"));
    assert!(posts[1..]
        .iter()
        .all(|p| p["state"].as_str() == Some("pending")));
    let n = posts.len();
    let key = t["key"].as_str().unwrap().to_string();
    let out = bot
        .cmd(&["outbox", "retry", "no-such-thread"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown key is bad input");
    let out = bot.cmd(&["outbox", "retry", &key]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 failed posts back in line"));
    let mut child = bot.spawn(&bot.dir.path().join("retry.log"));
    wait_until(
        "every post sent after retry",
        Duration::from_secs(60),
        || (bot.outbox()["sent"].as_i64() == Some(n as i64)).then_some(()),
    );
    stop(&mut child);
    assert_one_thread(&mock, n);
}

#[test]
fn a_refused_token_pauses_posting_and_the_thread_completes_in_one_chain() {
    let mock = MockServer::start();
    let bot = Bot::with_thread(&mock.base_url(), "post_interval = \"700ms\"");
    let n = bot.posts_in_outbox() as usize;
    assert!(n >= 4, "the thread is long enough to break in the middle");
    let log = bot.dir.path().join("run.log");
    let mut child = bot.spawn(&log);
    wait_until("two posts", Duration::from_secs(60), || {
        (mock.statuses(BOT_TOKEN).len() >= 2).then_some(())
    });
    // The third post (or the one after it) meets two transient 401s.
    mock.fault(json!({"match": {"methods": ["POST"], "path": "/api/v1/statuses"},
        "effect": {"type": "status", "status": 401, "body": {"error": "The access token is invalid"}}, "count": 2}));
    // While the token is refused, `status` says posting is paused.
    let paused = wait_until(
        "status to say posting is paused",
        Duration::from_secs(60),
        || bot.status()["publishing_paused"].as_str().map(String::from),
    );
    assert!(paused.contains("401"), "{paused}");
    wait_until("every post sent", Duration::from_secs(90), || {
        (bot.outbox()["sent"].as_i64() == Some(n as i64)).then_some(())
    });
    stop(&mut child);
    assert_one_thread(&mock, n);
    assert!(
        bot.status()["publishing_paused"].is_null(),
        "the pause ends with the first post that goes through"
    );
    assert_eq!(
        bot.outbox()["failed"].as_i64(),
        Some(0),
        "a 401 never fails a post"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("posting paused") && text.contains("posting resumed"),
        "{text}"
    );
}

#[test]
fn a_check_by_hand_while_the_daemon_runs_is_posted_promptly() {
    let mock = MockServer::start();
    let bot = Bot::with_thread(&mock.base_url(), "post_interval = \"0s\"");
    let n = bot.posts_in_outbox() as usize;
    let mut child = bot.spawn(&bot.dir.path().join("run.log"));
    wait_until("the first thread sent", Duration::from_secs(60), || {
        (bot.outbox()["sent"].as_i64() == Some(n as i64)).then_some(())
    });
    // A new change, found by `clausewatch check` in another process: the
    // daemon cannot be woken by it, and still posts it within seconds.
    bot.pages.set_route(
        "/en/privacy",
        vec![Reply::html(&corpus::x_page(&corpus::markdown(
            "twitter/privacy-policy",
            "2024-05-17T004526Z.md",
        )))],
    );
    let out = bot.cmd(&["check"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("new version 3"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let queued = Instant::now();
    wait_until(
        "the new thread's first post",
        Duration::from_secs(10),
        || (mock.statuses(BOT_TOKEN).len() > n).then_some(()),
    );
    let delay = queued.elapsed();
    stop(&mut child);
    eprintln!("first post of a thread queued by hand reached the server after {delay:?}");
}

#[test]
fn the_daemon_keeps_watching_while_the_instance_is_down() {
    // An instance that answers nothing: a port where nobody listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let bot = Bot::with_thread(&dead, "post_interval = \"0s\"");
    // A document never checked is due at once when the daemon starts.
    let config = std::fs::read_to_string(bot.config())
        .unwrap()
        .replace("id = \"x-privacy\"", "id = \"x-privacy-new\"");
    std::fs::write(bot.config(), config).unwrap();
    let log = bot.dir.path().join("run.log");
    let mut child = bot.spawn(&log);
    wait_until(
        "a check while the instance is down",
        Duration::from_secs(60),
        || {
            let status = bot.status();
            let docs = status["documents"].as_array().cloned().unwrap_or_default();
            docs.iter()
                .any(|d| d["id"] == "x-privacy-new" && d["last_check"].is_string())
                .then_some(())
        },
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
    stop(&mut child);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("cannot reach the instance"), "{text}");
    assert_eq!(
        bot.outbox()["sent"].as_i64(),
        Some(0),
        "nothing could be posted"
    );
}

#[test]
fn token_file_readable_by_others_is_refused() {
    let mock = MockServer::start();
    let bot = Bot::with_thread(&mock.base_url(), "token_file = \"token\"");
    let token = bot.dir.path().join("token");
    std::fs::write(&token, BOT_TOKEN).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = bot
        .cmd(&["run"])
        .env_remove("CLAUSEWATCH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("readable by others") && !err.contains(BOT_TOKEN),
        "{err}"
    );
}

/// A one-connection-at-a-time HTTP proxy that strips `Idempotency-Key` and
/// swallows the response of chosen status posts (counted from 1).
struct LossyProxy {
    port: u16,
    dropped: Arc<AtomicUsize>,
}

impl LossyProxy {
    fn start(upstream: String, lose: Vec<usize>) -> LossyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let dropped = Arc::new(AtomicUsize::new(0));
        let counter = dropped.clone();
        let upstream = upstream.trim_start_matches("http://").to_string();
        std::thread::spawn(move || {
            let mut posts = 0usize;
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                let Some((head, body)) = read_request(&mut client) else {
                    continue;
                };
                let is_post = head.starts_with("POST /api/v1/statuses ");
                let head: String = head
                    .split("\r\n")
                    .filter(|l| {
                        !l.to_ascii_lowercase().starts_with("idempotency-key:")
                            && !l.to_ascii_lowercase().starts_with("connection:")
                    })
                    .collect::<Vec<_>>()
                    .join("\r\n");
                let Ok(mut server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = server.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes());
                let _ = server.write_all(&body);
                let mut response = Vec::new();
                let _ = server.read_to_end(&mut response);
                if is_post {
                    posts += 1;
                    if lose.contains(&posts) {
                        // The status exists on the server; the client never
                        // hears about it.
                        counter.fetch_add(1, Ordering::SeqCst);
                        drop(client);
                        continue;
                    }
                }
                let _ = client.write_all(&response);
            }
        });
        LossyProxy { port, dropped }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Reads one HTTP/1.1 request: (head without the final blank line, body).
fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf[..buf.len() - 4]).to_string();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((head, body))
}
