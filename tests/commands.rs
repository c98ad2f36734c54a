//! Answering mentions, against a real Mastodon-API server process
//! (mastodon_mock) and a database loaded with the X privacy-policy history
//! from the corpus.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::mastodon::{MockServer, ALICE_TOKEN, BOB_TOKEN, BOT_TOKEN, ROBOT_TOKEN};
use common::server::{Reply, TestServer};
use serde_json::{json, Value};

struct Bot {
    dir: tempfile::TempDir,
    _pages: TestServer,
}

impl Bot {
    fn new(mock: &MockServer) -> Bot {
        let pages = TestServer::start();
        pages.set_route("/en/privacy", vec![Reply::status(404)]);
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"[defaults]
per_host_delay = "0s"
retries = 0
confirm_after = "0s"
# The test servers are on 127.0.0.1.
allow_private_addresses = true
[fediverse]
instance = "{}"
post_interval = "0s"
poll_interval = "300ms"
# mastodon_mock counts URLs at full length (README, "Tests").
max_chars = 470
admins = ["alice@fedi.test"]
[[documents]]
id = "x-privacy"
name = "Privacy Policy"
service = "X"
url = "{}"
schedule = "0 0 1 1 *"
tags = ["privacy"]
[[documents]]
id = "x-terms"
name = "Terms of Service"
service = "X"
url = "{}"
schedule = "0 0 1 1 *"
tags = ["terms"]
"#,
            mock.base_url(),
            pages.url("/en/privacy"),
            pages.url("/en/tos")
        );
        std::fs::write(dir.path().join("bot.toml"), config).unwrap();
        let bot = Bot { dir, _pages: pages };
        let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/twitter/privacy-policy");
        let out = bot
            .cmd(&["import", "x-privacy"])
            .arg(&corpus)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bot
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clausewatch"));
        c.args(args)
            .arg("--config")
            .arg(self.dir.path().join("bot.toml"))
            .env_remove("CLAUSEWATCH_DATABASE")
            .env("CLAUSEWATCH_TOKEN", BOT_TOKEN);
        c
    }

    fn spawn(&self, name: &str) -> Child {
        self.cmd(&["run"])
            .env("RUST_LOG", "clausewatch=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join(name)).unwrap())
            .spawn()
            .unwrap()
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mention(mock: &MockServer, token: &str, text: &str, visibility: &str) -> String {
    mock.post(
        "/api/v1/statuses",
        token,
        json!({"status": text, "visibility": visibility}),
    )["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The bot's statuses replying to `status_id`.
fn replies_to(mock: &MockServer, status_id: &str) -> Vec<Value> {
    mock.statuses(BOT_TOKEN)
        .into_iter()
        .filter(|s| s["in_reply_to_id"] == status_id)
        .collect()
}

fn wait_reply(mock: &MockServer, status_id: &str) -> Value {
    let start = Instant::now();
    loop {
        if let Some(r) = replies_to(mock, status_id).into_iter().next() {
            return r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no reply to {status_id}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn text(status: &Value) -> String {
    clausewatch::fediverse::client::plain_text(status["content"].as_str().unwrap())
}

#[test]
fn mentions_are_answered_in_thread_once_with_the_right_visibility() {
    let mock = MockServer::start();
    let bot = Bot::new(&mock);
    let alice_id = mock.account_id(ALICE_TOKEN);
    let mut daemon = bot.spawn("run1.log");

    // when: names the 2023 version that added the biometric clause.
    let q = mention(
        &mock,
        ALICE_TOKEN,
        "@clausewatch when x-privacy \"biometric\"",
        "public",
    );
    let r = wait_reply(&mock, &q);
    let t = text(&r);
    assert!(t.starts_with("@alice "), "{t}");
    assert!(t.contains("biometric") && t.contains("2023-"), "{t}");
    assert!(
        t.contains("Biometric Information"),
        "quotes the clause: {t}"
    );
    let mentioned: Vec<&str> = r["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        mentioned,
        vec![alice_id.as_str()],
        "mentions only the requester"
    );
    assert_eq!(
        r["visibility"], "unlisted",
        "a public request gets the configured reply visibility"
    );

    // A direct request gets a direct reply; forgiving document names work.
    let q = mention(
        &mock,
        ALICE_TOKEN,
        "@clausewatch history twitter privacy 3",
        "direct",
    );
    let r = wait_reply(&mock, &q);
    assert_eq!(r["visibility"], "direct");
    let t = text(&r);
    assert!(
        t.contains("x-privacy") && t.matches("\nv").count() == 3,
        "three versions: {t}"
    );

    // diff: the latest change, as a short thread; help and list.
    let q = mention(&mock, ALICE_TOKEN, "@clausewatch diff x-privacy", "public");
    let r = wait_reply(&mock, &q);
    assert!(text(&r).starts_with("@alice 1/"), "{}", text(&r));
    let q = mention(&mock, ALICE_TOKEN, "@clausewatch list", "public");
    let t = text(&wait_reply(&mock, &q));
    assert!(t.contains("x-privacy") && t.contains("x-terms"), "{t}");

    // Another bot gets no answer (no bot loops).
    let q_robot = mention(&mock, ROBOT_TOKEN, "@clausewatch help", "public");

    // Restart between two mentions: each answered exactly once.
    stop(&mut daemon);
    let q_down = mention(&mock, ALICE_TOKEN, "@clausewatch status", "public");
    let mut daemon = bot.spawn("run2.log");
    wait_reply(&mock, &q_down);
    std::thread::sleep(Duration::from_secs(2));
    stop(&mut daemon);
    assert!(
        replies_to(&mock, &q_robot).is_empty(),
        "a bot got an answer"
    );
    for s in mock.statuses(ALICE_TOKEN) {
        let id = s["id"].as_str().unwrap();
        let replies = replies_to(&mock, id);
        let firsts = replies.iter().filter(|r| !text(r).contains(" 2/")).count();
        assert_eq!(
            firsts,
            1,
            "status {id} answered once: {:?}",
            replies.iter().map(text).collect::<Vec<_>>()
        );
    }
    let log = std::fs::read_to_string(bot.dir.path().join("run1.log")).unwrap();
    assert!(!log.contains(BOT_TOKEN), "the token is never logged");
}

#[test]
fn floods_are_rate_limited_and_the_bot_stays_responsive() {
    let mock = MockServer::start();
    let bot = Bot::new(&mock);
    let mut daemon = bot.spawn("run.log");
    // 50 mentions from one account within a minute.
    let flood: Vec<String> = (0..50)
        .map(|i| {
            mention(
                &mock,
                BOB_TOKEN,
                &format!("@clausewatch status {i}"),
                "public",
            )
        })
        .collect();
    // Someone else is still answered promptly.
    let q = mention(&mock, ALICE_TOKEN, "@clausewatch help", "public");
    let t = text(&wait_reply(&mock, &q));
    assert!(t.contains("history") && t.contains("when"), "{t}");
    // Unknown words get one pointer to help per hour, not one per mention.
    let u1 = mention(&mock, ALICE_TOKEN, "@clausewatch blorp", "public");
    wait_reply(&mock, &u1);
    let u2 = mention(&mock, ALICE_TOKEN, "@clausewatch blorp again", "public");
    std::thread::sleep(Duration::from_secs(3));
    stop(&mut daemon);
    let answered = flood
        .iter()
        .filter(|id| !replies_to(&mock, id).is_empty())
        .count();
    assert_eq!(
        answered, 5,
        "the default rate limit is 5 commands per 10 minutes"
    );
    assert!(
        replies_to(&mock, &u2).is_empty(),
        "second unknown command ignored"
    );
    let out = bot.cmd(&["status", "--format", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["mention_cursor"].is_string(), "{v}");
}

#[test]
fn admin_commands_only_from_admins_and_subscriptions() {
    let mock = MockServer::start();
    let bot = Bot::new(&mock);
    let mut daemon = bot.spawn("run.log");
    let q = mention(&mock, BOB_TOKEN, "@clausewatch pause x-privacy", "public");
    assert!(text(&wait_reply(&mock, &q)).contains("admins"));
    let q = mention(&mock, ALICE_TOKEN, "@clausewatch pause x-privacy", "public");
    assert!(text(&wait_reply(&mock, &q)).contains("paused"));
    let q = mention(&mock, BOB_TOKEN, "@clausewatch subscribe x-terms", "public");
    assert!(text(&wait_reply(&mock, &q)).contains("Subscribed"));
    let q = mention(&mock, BOB_TOKEN, "@clausewatch subscriptions", "public");
    assert!(text(&wait_reply(&mock, &q)).contains("x-terms"));
    stop(&mut daemon);
    let out = bot.cmd(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.lines().any(|l| l.starts_with("x-privacy: paused")),
        "{status}"
    );
}

/// The notifications of the account behind `token`.
fn notifications(mock: &MockServer, token: &str) -> Vec<Value> {
    mock.get("/api/v1/notifications", token)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn replies_reach_only_the_asker_and_subscribers_get_their_message() {
    // A server whose own domain carries a port: local accounts are
    // `bob@127.0.0.1:PORT`, which no mention can spell.
    let mock = MockServer::start_with_port_domain();
    let bot = Bot::new(&mock);
    let mut daemon = bot.spawn("run.log");

    // Echoed text never mentions anyone: not in a `when` answer…
    let q = mention(
        &mock,
        ALICE_TOKEN,
        "@clausewatch when x-privacy \"hello @bob\"",
        "public",
    );
    let reply = wait_reply(&mock, &q);
    let mentioned: Vec<&str> = reply["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(mentioned, ["alice"], "{reply}");
    assert!(
        text(&reply).contains("bob"),
        "the phrase is still quoted: {}",
        text(&reply)
    );
    // …nor in a direct message.
    let q = mention(
        &mock,
        ALICE_TOKEN,
        "@clausewatch history \"@bob\"",
        "direct",
    );
    let reply = wait_reply(&mock, &q);
    assert_eq!(reply["mentions"].as_array().unwrap().len(), 1, "{reply}");
    // (Alice's own questions named bob; only the bot's posts are ours.)
    let from_bot: Vec<Value> = notifications(&mock, BOB_TOKEN)
        .into_iter()
        .filter(|n| n["account"]["username"] == "clausewatch")
        .collect();
    assert!(
        from_bot.is_empty(),
        "the bot never addressed bob: {from_bot:?}"
    );

    // Bob subscribes; a change reaches him as a direct message.
    let q = mention(
        &mock,
        BOB_TOKEN,
        "@clausewatch subscribe x-privacy",
        "public",
    );
    assert!(text(&wait_reply(&mock, &q)).contains("Subscribed"));
    bot._pages.set_route(
        "/en/privacy",
        vec![Reply::html(&common::corpus::x_page(
            &common::corpus::markdown("twitter/privacy-policy", "2023-05-18T184358Z.md"),
        ))],
    );
    let out = bot.cmd(&["check", "x-privacy"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("new version"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let start = Instant::now();
    let dm = loop {
        let direct: Vec<Value> = notifications(&mock, BOB_TOKEN)
            .into_iter()
            .filter(|n| {
                n["type"] == "mention"
                    && n["account"]["username"] == "clausewatch"
                    && n["status"]["visibility"] == "direct"
            })
            .collect();
        if let Some(n) = direct.into_iter().next() {
            break n;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let out = bot.cmd(&["outbox"]).output().unwrap();
            let log = std::fs::read_to_string(bot.dir.path().join("run.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "no direct message reached bob\n=== outbox\n{}\n=== log (last lines first)\n{}",
                String::from_utf8_lossy(&out.stdout),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    stop(&mut daemon);
    let body = text(&dm["status"]);
    assert!(body.starts_with("@bob"), "{body}");
    assert!(body.contains("X"), "it tells the change: {body}");
}
