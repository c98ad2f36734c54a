//! Real-world pages end to end: the `clausewatch` binary against a loopback
//! server serving the corpus's X privacy-policy versions with the noise real
//! sites add (re-wrapped markup, renamed classes, cookie banners, bot
//! challenges, rotating timestamps, session tokens, truncated bodies,
//! "upcoming policy" banners, A/B flapping, rule changes, removed pages).
//! Announcements are counted in the outbox (the daemon is not running, so
//! nothing is sent).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::corpus;
use common::server::{Reply, TestServer};
use serde_json::Value;

const X_DOC: &str = "twitter/privacy-policy";
const X_SELECT: &str =
    "select = \"#twtr-main\"\nremove = [\".ct17-banner-container\", \".ct07__side-nav\"]";

struct Bot {
    dir: tempfile::TempDir,
    defaults: String,
}

impl Bot {
    /// A bot with one document `p` at `url`, with the given extra
    /// `[defaults]` lines and document lines.
    fn new(defaults: &str, url: &str, doc: &str) -> Bot {
        let bot = Bot {
            dir: tempfile::tempdir().expect("temp dir"),
            defaults: format!(
                "[defaults]\nallow_private_addresses = true\nper_host_delay = \"0s\"\nbackoff_base = \"10ms\"\nretries = 0\ntimeout = \"5s\"\njitter = \"0s\"\n{defaults}\n"
            ),
        };
        bot.set_document(url, doc);
        bot
    }

    /// Rewrites the document entry (new rules), keeping the database.
    fn set_document(&self, url: &str, doc: &str) {
        let toml = format!(
            "{}\n[[documents]]\nid = \"p\"\nname = \"Privacy Policy\"\nservice = \"X\"\nurl = \"{url}\"\n{doc}\n",
            self.defaults
        );
        std::fs::write(self.config(), toml).expect("write bot.toml");
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("bot.toml")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("clausewatch.db")
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_clausewatch"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("CLAUSEWATCH_DATABASE")
            .output()
            .expect("run clausewatch")
    }

    /// `clausewatch check`: the line printed for the document.
    fn check(&self) -> String {
        let out = self.run(&["check"]);
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            stdout.starts_with("p: "),
            "check printed no outcome: {stdout} / {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn status(&self) -> Value {
        let out = self.run(&["status", "--format", "json"]);
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("status is JSON");
        v["documents"][0].clone()
    }

    fn query<T>(&self, sql: &str) -> Vec<T>
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = common::raw_db(&self.db()).await;
            let rows = sqlx::query_as::<_, T>(sql)
                .fetch_all(&pool)
                .await
                .expect("query");
            pool.close().await;
            rows
        })
    }

    /// Threads in the outbox of a kind ("change", "notice").
    fn threads(&self, kind: &str) -> Vec<String> {
        self.query::<(String, String)>("SELECT kind, key FROM threads ORDER BY id")
            .into_iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, key)| key)
            .collect()
    }

    /// (outcome, error_class) of every fetch-log row, oldest first.
    fn fetch_log(&self) -> Vec<(String, Option<String>)> {
        self.query("SELECT outcome, error_class FROM fetches ORDER BY id")
    }
}

/// A page holding the upcoming and the current X policy at once: stored,
/// not announced (`announce::doubling`; labelled in the replay fixture).
fn doubled(file: &str) -> bool {
    include_str!("fixtures/replay/labels.tsv")
        .lines()
        .any(|l| l.starts_with(&format!("{X_DOC}\t{file}\tdoubling")))
}

fn html_of(markdown: &str) -> String {
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, pulldown_cmark::Parser::new(markdown));
    body
}

/// The page chrome of `corpus::x_page` around any `<main>` content.
fn page_with_main(main: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Privacy</title></head>
<body><nav class="ct07__side-nav"><a href="/">Home</a></nav>
<div class="ct17-banner-container"><p>We use cookies. Accept all cookies?</p></div>
<main id="twtr-main">{main}</main><footer><p>© X Corp.</p></footer></body></html>"#
    )
}

/// Same text, other markup: every block wrapped in extra elements with
/// generated class names and attributes, lines broken inside paragraphs.
fn rewrapped(markdown: &str, seed: usize) -> String {
    let html = html_of(markdown)
        .replace("<p>", &format!("<div class=\"css-{seed:x}a r-{seed}\" data-testid=\"block-{seed}\"><p dir=\"auto\" class=\"x{seed}\">"))
        .replace("</p>", "</p></div>")
        .replace("<li>", &format!("<li class=\"item-{seed}\"><span>"))
        .replace("</li>", "</span></li>")
        .replace(". ", ".\n   ");
    page_with_main(&format!(
        "<article data-build=\"{seed}\"><section>{html}</section></article>"
    ))
}

/// A banner inside the selected region, removed by a `remove` selector, plus
/// a differently worded one outside the selected region.
fn with_cookie_banners(markdown: &str, seed: usize) -> String {
    page_with_main(&format!(
        "<div class=\"ct17-banner-container\"><p>Cookie preferences #{seed}: we and our {seed} partners use cookies.</p></div>{}",
        html_of(markdown)
    ))
    .replace("<footer>", &format!("<div id=\"consent-{seed}\"><p>Manage {seed} cookie settings</p></div><footer>"))
}

/// A "Last updated N minutes ago" line inside the policy, and links whose
/// URLs carry session and tracking tokens.
fn with_timestamp_and_tokens(markdown: &str, seed: usize) -> String {
    page_with_main(&format!(
        "<p class=\"stamp\">Last updated {} minutes ago</p>{}",
        seed % 59 + 1,
        html_of(markdown)
            .replace("<a href=\"", &format!("<a data-session=\"{seed}\" href=\"/out;jsessionid=S{seed}?utm_source=n{seed}&amp;to=")),
    ))
}

/// The upcoming policy announced above the current one, as X did in 2023.
fn with_upcoming_banner(markdown: &str, upcoming: &str) -> String {
    page_with_main(&format!(
        "<p>Our updated Privacy Policy will go into effect soon. Here is the upcoming version, followed by the current one.</p>{}{}",
        html_of(upcoming),
        html_of(markdown)
    ))
}

/// A Cloudflare interstitial, as served instead of the page.
const CHALLENGE: &str = r#"<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper"><h1>x.com</h1>
<h2 id="challenge-running">Checking if the site connection is secure</h2>
<noscript>Enable JavaScript and cookies to continue</noscript></div>
<script>window._cf_chl_opt={cvId: '3', cType: 'managed'};</script>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8"></script></body></html>"#;

/// The visible words of a Markdown version: link targets and emphasis marks
/// are not part of any clause, so a record changing only them is no change.
fn visible_text(md: &str) -> String {
    let link_target = regex::Regex::new(r"\]\([^)]*\)").expect("valid pattern");
    let visible = link_target
        .replace_all(md, "]")
        .replace(['*', '_', '[', ']'], "");
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Real records ("Update ...", "Record new changes ...") of the X history.
fn real_records() -> Vec<corpus::Version> {
    corpus::versions(X_DOC)
        .into_iter()
        .filter(|v| v.subject.starts_with("Update") || v.subject.starts_with("Record new changes"))
        .collect()
}

fn is_technical(v: &corpus::Version) -> bool {
    v.subject.starts_with("Refilter")
        || v.subject
            .starts_with("Apply technical or declaration upgrade")
}

#[test]
fn noise_is_never_announced_and_real_changes_are_announced_once() {
    let server = TestServer::start();
    // Consecutive real changes from the September 2023 policy on.
    let mut records: Vec<corpus::Version> = real_records()
        .into_iter()
        .skip_while(|v| v.file != "2023-09-29T231259Z.md")
        .collect();
    // Records that only changed link targets are no change to announce.
    let mut previous = String::new();
    records.retain(|r| {
        let text = visible_text(&corpus::markdown(X_DOC, &r.file));
        std::mem::replace(&mut previous, text.clone()) != text
    });
    assert!(
        records.len() >= 10,
        "corpus has {} real records from 2023-09-29",
        records.len()
    );
    let bot = Bot::new(
        "confirm_after = \"0s\"",
        &server.url("/en/privacy"),
        X_SELECT,
    );
    let mut announced = 0;
    for (i, record) in records.iter().enumerate() {
        let md = corpus::markdown(X_DOC, &record.file);
        let page = corpus::x_page(&md);
        server.set_route("/en/privacy", vec![Reply::html(&page)]);
        let out = bot.check();
        assert!(out.starts_with("p: new version"), "{}: {out}", record.file);
        if i > 0 && !doubled(&record.file) {
            announced += 1;
        }
        assert_eq!(
            bot.threads("change").len(),
            announced,
            "{}: the real change is announced once",
            record.file
        );

        let next = records
            .get(i + 1)
            .map(|r| corpus::markdown(X_DOC, &r.file))
            .unwrap_or_else(|| md.clone());
        let truncated = page[..page.len() / 5].to_string();
        let perturbations: Vec<(&str, Vec<Reply>)> = vec![
            (
                "rewrapped markup and renamed classes",
                vec![Reply::html(&rewrapped(&md, i + 1))],
            ),
            (
                "cookie banners",
                vec![Reply::html(&with_cookie_banners(&md, i + 7))],
            ),
            (
                "rotating timestamp and session tokens",
                vec![Reply::html(&with_timestamp_and_tokens(&md, i * 13 + 5))],
            ),
            ("challenge interstitial", vec![Reply::html(CHALLENGE)]),
            (
                "challenge behind 403",
                vec![Reply::status(403)
                    .header("Content-Type", "text/html")
                    .body(CHALLENGE)],
            ),
            ("truncated body", vec![Reply::html(&truncated)]),
            (
                "upcoming policy shown once",
                vec![
                    Reply::html(&with_upcoming_banner(&md, &next)),
                    Reply::html(&page),
                ],
            ),
            ("restored", vec![Reply::html(&page)]),
        ];
        for (what, script) in perturbations {
            server.set_route("/en/privacy", script);
            let out = bot.check();
            assert!(
                !out.contains("new version"),
                "{} with {what}: {out}",
                record.file
            );
            assert_eq!(
                bot.threads("change").len(),
                announced,
                "{} with {what}: {out}",
                record.file
            );
        }
    }
    let log = bot.fetch_log();
    let classes: Vec<&str> = log.iter().filter_map(|(_, c)| c.as_deref()).collect();
    assert!(classes.contains(&"blocked"), "{classes:?}");
    assert!(
        classes.contains(&"soft_error") || classes.contains(&"selector_mismatch"),
        "{classes:?}"
    );
    assert!(
        log.iter().any(|(o, _)| o == "unconfirmed"),
        "the upcoming banner shown once is unconfirmed"
    );
    // The stored quotes never carry the volatile fragments.
    let texts: Vec<(String,)> = bot.query("SELECT text FROM clause_texts");
    assert!(texts
        .iter()
        .all(|(t,)| !t.contains("minutes ago") && !t.contains("sessionid")));
}

#[test]
fn alternating_server_is_announced_at_most_once_then_flaps() {
    let server = TestServer::start();
    let a = corpus::x_page(&corpus::markdown(X_DOC, "2025-12-17T005030Z.md"));
    let b = corpus::x_page(&corpus::markdown(X_DOC, "2026-01-16T005414Z.md"));
    // A different version on every request, whatever the checks do.
    let every_request: Vec<Reply> = (0..200)
        .map(|i| Reply::html(if i % 2 == 0 { &a } else { &b }))
        .collect();
    server.set_route("/p", every_request);
    let bot = Bot::new("confirm_after = \"0s\"", &server.url("/p"), X_SELECT);
    for _ in 0..8 {
        bot.check();
    }
    assert!(
        bot.threads("change").len() <= 1,
        "{:?}",
        bot.threads("change")
    );
    let after_first = bot.threads("change").len();
    for _ in 0..6 {
        bot.check();
    }
    assert_eq!(
        bot.threads("change").len(),
        after_first,
        "nothing more once flapping"
    );

    // A different version on every check (A/B test per visit): one
    // announcement for the first switch, then flaps.
    let server2 = TestServer::start();
    let bot2 = Bot::new("confirm_after = \"0s\"", &server2.url("/p"), X_SELECT);
    for i in 0..8 {
        server2.set_route("/p", vec![Reply::html(if i % 2 == 0 { &a } else { &b })]);
        bot2.check();
    }
    assert_eq!(
        bot2.threads("change").len(),
        1,
        "{:?}",
        bot2.threads("change")
    );
    let outcomes: Vec<String> = bot2.fetch_log().into_iter().map(|(o, _)| o).collect();
    assert!(outcomes.contains(&"flap".to_string()), "{outcomes:?}");
    let status = bot2.status();
    assert_eq!(status["flapping"], Value::Bool(true), "{status}");
    assert!(status["last_flap_at"].is_string(), "{status}");
    assert_eq!(status["versions"], 2, "{status}");
}

#[test]
fn good_challenge_good_records_blocked_and_announces_nothing() {
    let server = TestServer::start();
    let page = corpus::x_page(&corpus::markdown(X_DOC, "2026-07-16T005820Z.md"));
    let bot = Bot::new("confirm_after = \"0s\"", &server.url("/p"), X_SELECT);
    server.set_route("/p", vec![Reply::html(&page)]);
    assert!(bot.check().starts_with("p: new version 1"));
    server.set_route("/p", vec![Reply::html(CHALLENGE)]);
    let out = bot.check();
    assert!(out.starts_with("p: failed (blocked)"), "{out}");
    let status = bot.status();
    assert_eq!(status["last_error_class"], "blocked", "{status}");
    assert!(status["failing_since"].is_string(), "{status}");
    server.set_route("/p", vec![Reply::html(&page)]);
    assert!(bot.check().starts_with("p: unchanged (version 1)"));
    assert_eq!(bot.threads("change").len(), 0);
    let log = bot.fetch_log();
    // The first version is confirmed by a second fetch (row 1).
    assert_eq!(log[1].0, "confirmation");
    assert_eq!(log[2], ("failed".to_string(), Some("blocked".to_string())));
    assert_eq!(bot.status()["failing_since"], Value::Null);
}

#[test]
fn delayed_confirmation_needs_the_same_page_after_the_delay() {
    let server = TestServer::start();
    let a = corpus::x_page(&corpus::markdown(X_DOC, "2025-12-17T005030Z.md"));
    let b = corpus::x_page(&corpus::markdown(X_DOC, "2026-01-16T005414Z.md"));
    let bot = Bot::new("confirm_after = \"1s\"", &server.url("/p"), X_SELECT);
    server.set_route("/p", vec![Reply::html(&a)]);
    assert!(bot.check().starts_with("p: new version 1"));
    server.set_route("/p", vec![Reply::html(&b)]);
    let out = bot.check();
    assert!(out.starts_with("p: change not confirmed yet"), "{out}");
    assert!(bot.status()["pending_change_since"].is_string());
    // Back to A before the delay: the candidate is dropped.
    server.set_route("/p", vec![Reply::html(&a)]);
    assert!(bot.check().starts_with("p: unchanged"));
    assert_eq!(bot.status()["pending_change_since"], Value::Null);
    server.set_route("/p", vec![Reply::html(&b)]);
    assert!(bot.check().starts_with("p: change not confirmed yet"));
    std::thread::sleep(Duration::from_millis(1100));
    let out = bot.check();
    assert!(out.starts_with("p: new version 2"), "{out}");
    assert_eq!(bot.threads("change").len(), 1);
}

#[test]
fn permanent_not_found_is_announced_once() {
    let server = TestServer::start();
    let page = corpus::x_page(&corpus::markdown(X_DOC, "2026-07-16T005820Z.md"));
    let bot = Bot::new(
        "confirm_after = \"0s\"\ngone_after = \"0s\"",
        &server.url("/p"),
        X_SELECT,
    );
    server.set_route("/p", vec![Reply::html(&page)]);
    bot.check();
    server.set_route("/p", vec![Reply::status(404)]);
    for _ in 0..3 {
        assert!(bot.check().starts_with("p: failed (http_not_found)"));
    }
    let notices = bot.threads("notice");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].starts_with("gone:p:"), "{notices:?}");
    let texts: Vec<(String,)> = bot.query("SELECT text FROM outbox");
    assert!(texts[0].0.contains("no longer exists"), "{texts:?}");
    assert!(bot.status()["not_found_since"].is_string());

    // With the default period (days), a 404 is only a failure.
    let bot2 = Bot::new("confirm_after = \"0s\"", &server.url("/p"), X_SELECT);
    server.set_route("/p", vec![Reply::html(&page)]);
    bot2.check();
    server.set_route("/p", vec![Reply::status(404)]);
    assert!(bot2.check().starts_with("p: failed (http_not_found)"));
    assert!(bot2.threads("notice").is_empty());
    // A page that never existed for the bot is a failure, never "gone".
    let bot3 = Bot::new(
        "confirm_after = \"0s\"\ngone_after = \"0s\"",
        &server.url("/p"),
        X_SELECT,
    );
    bot3.check();
    bot3.check();
    assert!(bot3.threads("notice").is_empty());
    // Back after the notice: the page works again and the run is over.
    server.set_route("/p", vec![Reply::html(&page)]);
    assert!(bot.check().starts_with("p: unchanged (version 1)"));
    assert_eq!(bot.status()["not_found_since"], Value::Null);
}

#[test]
fn ignore_patterns_keep_counters_out_of_versions_and_quotes() {
    let server = TestServer::start();
    let md = corpus::markdown(X_DOC, "2026-07-16T005820Z.md");
    let page = |n: usize| {
        page_with_main(&format!(
            "<p>Accounts protected by this policy: {n} and counting.</p>{}",
            html_of(&md)
        ))
    };
    let doc = format!(
        "{X_SELECT}\nignore = ['Accounts protected by this policy: [0-9,]+ and counting\\.']"
    );
    let bot = Bot::new("confirm_after = \"0s\"", &server.url("/p"), &doc);
    for n in [1_000usize, 1_250, 9_999] {
        server.set_route("/p", vec![Reply::html(&page(n))]);
        let out = bot.check();
        assert!(
            out.starts_with("p: new version 1") || out.starts_with("p: unchanged (version 1)"),
            "{out}"
        );
    }
    let texts: Vec<(String,)> = bot.query("SELECT text FROM clause_texts");
    assert!(texts.iter().all(|(t,)| !t.contains("and counting")));
}

/// Replays the whole X history. "Refilter" and "Apply technical or
/// declaration upgrade" records are played as OTA made them: the page did
/// not change, the extraction rules did. Every page carries one region per
/// rules generation (`.gen-N`), and a technical record switches the
/// document's selector to the next generation, so its text appears only
/// through the rule change.
#[test]
fn replaying_the_x_history_announces_real_changes_only() {
    let server = TestServer::start();
    let records = corpus::versions(X_DOC);
    let bot = Bot::new(
        "confirm_after = \"0s\"",
        &server.url("/p"),
        "select = \".gen-0\"",
    );
    // The text model of what must be announced: the latest version's text,
    // and the texts of recent versions (a return to one is a flap).
    let norm = visible_text;
    let mut expected_technical = 0;
    let mut versions: Vec<String> = Vec::new();
    let mut expected = 0;
    let mut generation = 0;
    let mut i = 0;
    while i < records.len() {
        let record = &records[i];
        assert!(
            !is_technical(record) || i > 0,
            "history starts with a real record"
        );
        // This page and the technical records that follow it (same page).
        let mut regions = vec![(generation, corpus::markdown(X_DOC, &record.file))];
        let mut j = i + 1;
        while j < records.len() && is_technical(&records[j]) {
            regions.push((
                generation + j - i,
                corpus::markdown(X_DOC, &records[j].file),
            ));
            j += 1;
        }
        let main: String = regions
            .iter()
            .map(|(g, md)| format!("<div class=\"gen-{g}\">{}</div>", html_of(md)))
            .collect();
        server.set_route("/p", vec![Reply::html(&page_with_main(&main))]);
        bot.set_document(
            &server.url("/p"),
            &format!("select = \".gen-{generation}\""),
        );
        let out = bot.check();
        let text = norm(&regions[0].1);
        if versions.last() != Some(&text) {
            let recent = versions.iter().rev().skip(1).take(4).any(|v| v == &text);
            if !recent {
                if !versions.is_empty() && !doubled(&record.file) {
                    expected += 1;
                }
                versions.push(text);
            }
        }
        assert_eq!(
            bot.threads("change").len(),
            expected,
            "{} ({}): {out}",
            record.file,
            record.subject
        );
        for (g, md) in regions.iter().skip(1) {
            bot.set_document(&server.url("/p"), &format!("select = \".gen-{g}\""));
            let out = bot.check();
            let file = &records[i + g - generation].file;
            if let Some(last) = versions.last_mut() {
                if *last == norm(md) {
                    assert!(out.starts_with("p: unchanged"), "{file}: {out}");
                } else {
                    assert!(out.starts_with("p: technical update"), "{file}: {out}");
                    expected_technical += 1;
                    *last = norm(md);
                }
            }
            assert_eq!(
                bot.threads("change").len(),
                expected,
                "technical record announced: {out}"
            );
        }
        generation += regions.len();
        i = j;
    }
    // Seven of the records are doubled pages, which are not announced.
    assert!(expected >= 15, "the X history has {expected} real changes");
    let technical: Vec<(i64,)> = bot.query("SELECT COUNT(*) FROM technical_updates");
    assert_eq!(technical[0].0, expected_technical);
    assert!(
        expected_technical >= 2,
        "the X history has {expected_technical} visible technical changes"
    );
}
