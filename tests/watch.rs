//! The watch loop end to end: the real `clausewatch` binary, a real HTTP
//! server on 127.0.0.1 serving pages built from the corpus, a real SQLite
//! file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::corpus;
use common::server::{Reply, TestServer};
use serde_json::Value;

const X_DOC: &str = "twitter/privacy-policy";
const X_REMOVE: &str = r#"[".ct01__background-img", ".twtr-hidden--lg", ".ct07__dropdown-item", ".ct07__side-nav", "[aria-hidden=\"true\"]", ".b04__image", ".ct17-banner-container"]"#;

/// A temporary bot folder: a `bot.toml` and, after a check, its database.
struct Bot {
    dir: tempfile::TempDir,
}

impl Bot {
    /// Writes a config with one `[[documents]]` entry per (id, url, extra).
    fn new(docs: &[(&str, String, &str)]) -> Bot {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut toml = String::from(
            "[defaults]\nallow_private_addresses = true\nconfirm_after = \"0s\"\nper_host_delay = \"0s\"\nbackoff_base = \"10ms\"\nretries = 2\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\njitter = \"0s\"\ncontact = \"https://example.org/bot\"\n",
        );
        for (id, url, extra) in docs {
            toml.push_str(&format!(
                "\n[[documents]]\nid = \"{id}\"\nname = \"{id} policy\"\nservice = \"Test\"\nurl = \"{url}\"\n{extra}\n"
            ));
        }
        std::fs::write(dir.path().join("bot.toml"), toml).expect("write bot.toml");
        Bot { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("bot.toml")
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("clausewatch.db")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_clausewatch"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("CLAUSEWATCH_DATABASE")
            .env("RUST_LOG", "clausewatch=debug")
            .output()
            .expect("run clausewatch")
    }

    /// `clausewatch check`; returns (exit code, stdout).
    fn check(&self) -> (i32, String) {
        let out = self.run(&["check"]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        (out.status.code().unwrap_or(-1), stdout)
    }

    fn history(&self, id: &str) -> Vec<Value> {
        let out = self.run(&["history", id, "--format", "json"]);
        if !out.status.success() {
            return Vec::new();
        }
        let v: Value = serde_json::from_slice(&out.stdout).expect("history is JSON");
        v.as_array().expect("history is an array").clone()
    }

    fn show(&self, id: &str) -> Vec<Value> {
        let out = self.run(&["show", id, "--format", "json"]);
        assert!(
            out.status.success(),
            "show failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .expect("show is JSON")
            .as_array()
            .unwrap()
            .clone()
    }

    /// Rows of the fetch log, oldest first: (outcome, error_class).
    fn fetch_log(&self, id: &str) -> Vec<(String, Option<String>, Option<i64>)> {
        fetch_log_rows(&self.db(), id)
    }
}

/// Reads the fetch log straight from the database file, through the
/// library's own store (which also checks the file is a valid database).
fn fetch_log_rows(db: &Path, id: &str) -> Vec<(String, Option<String>, Option<i64>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = common::raw_db(db).await;
        let rows: Vec<(String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT outcome, error_class, status FROM fetches WHERE document_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&pool)
        .await
        .expect("query fetches");
        pool.close().await;
        rows
    })
}

fn x_doc(server: &TestServer, path: &str) -> (&'static str, String, String) {
    (
        "x-privacy",
        server.url(path),
        format!("select = \"#twtr-main\"\nremove = {X_REMOVE}"),
    )
}

fn x_versions() -> Vec<corpus::Version> {
    corpus::versions(X_DOC)
}

#[test]
fn first_check_stores_version_repeat_stores_nothing_change_stores_next() {
    let server = TestServer::start();
    // v1, v1, v2, v3 as in the issue's check by hand: May 2023 (as restored
    // in August), the September 2023 rewrite, then the October 2023 update.
    let files = [
        "2023-08-24T095329Z.md",
        "2023-08-24T095329Z.md",
        "2023-09-29T231259Z.md",
        "2023-10-17T184327Z.md",
    ];
    let pages: Vec<String> = files
        .iter()
        .map(|f| corpus::x_page(&corpus::markdown(X_DOC, f)))
        .collect();
    let (id, url, extra) = x_doc(&server, "/en/privacy");
    let bot = Bot::new(&[(id, url, &extra)]);

    let mut outputs = Vec::new();
    for page in &pages {
        server.set_route("/en/privacy", vec![Reply::html(page)]);
        let (code, out) = bot.check();
        assert_eq!(code, 0, "check failed: {out}");
        outputs.push(out);
    }
    assert_eq!(outputs[0].trim(), "x-privacy: new version 1");
    assert!(
        outputs[1].starts_with("x-privacy: unchanged (version 1)"),
        "{}",
        outputs[1]
    );
    assert!(
        outputs[2].starts_with("x-privacy: new version 2"),
        "{}",
        outputs[2]
    );
    assert!(
        outputs[3].starts_with("x-privacy: new version 3"),
        "{}",
        outputs[3]
    );

    let history = bot.history("x-privacy");
    assert_eq!(history.len(), 3, "{history:?}");
    let numbers: Vec<i64> = history
        .iter()
        .map(|h| h["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![3, 2, 1], "newest first");
    for h in &history {
        for key in ["first_seen", "last_seen", "hash", "clauses"] {
            assert!(!h[key].is_null(), "history entry lacks {key}: {h}");
        }
        chrono::DateTime::parse_from_rfc3339(h["first_seen"].as_str().unwrap()).expect("RFC 3339");
    }
    // The repeated page only moved version 1's last_seen.
    let v1 = &history[2];
    assert!(v1["last_seen"].as_str() > v1["first_seen"].as_str());
    // Version 2 carries its change set against version 1.
    assert!(history[1]["changes"].is_object(), "{}", history[1]);

    // The page chrome (navigation, cookie banner, footer, scripts) is not in
    // the clauses; the policy's first heading is.
    let clauses = bot.show("x-privacy");
    let texts: Vec<&str> = clauses
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert!(texts.iter().all(|t| !t.contains("cookies to improve")
        && !t.contains("INITIAL_STATE")
        && !t.contains("© 2026")));
    assert!(clauses
        .iter()
        .all(|c| c["path"].is_string() && c["hash"].as_str().unwrap().len() == 64));
    // Four checks; the first version and each of the two changes were
    // confirmed by a second fetch (`confirm_after = "0s"`), and every
    // request is logged.
    let log = bot.fetch_log("x-privacy");
    assert_eq!(log.len(), 7, "every fetch is logged: {log:?}");
    let confirmations = log.iter().filter(|(o, _, _)| o == "confirmation").count();
    assert_eq!(confirmations, 3, "{log:?}");
}

#[test]
fn etag_gives_304_and_no_parsing() {
    let server = TestServer::start();
    let v = x_versions();
    let page = corpus::x_page(&corpus::markdown(X_DOC, &v[0].file));
    server.set_route("/en/privacy", vec![Reply::html(&page).etag("\"v1\"")]);
    let (id, url, extra) = x_doc(&server, "/en/privacy");
    let bot = Bot::new(&[(id, url, &extra)]);
    assert_eq!(bot.check().1.trim(), "x-privacy: new version 1");
    let (code, out) = bot.check();
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "x-privacy: unchanged (not modified)");
    // The first version's confirming fetch sends the first response's
    // strong ETag: the server's 304 confirms it without a second body.
    let reqs = server.requests_to("/en/privacy");
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].header("if-none-match"), None);
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(reqs[2].header("if-none-match"), Some("\"v1\""));
    let log = bot.fetch_log("x-privacy");
    assert_eq!(log[1].0, "confirmation");
    assert_eq!(log[1].2, Some(304));
    assert_eq!(log[2].0, "not_modified");
    assert_eq!(log[2].2, Some(304));
    assert_eq!(bot.history("x-privacy").len(), 1);
    // The user agent names the bot and the contact URL.
    let ua = reqs[0].header("user-agent").unwrap();
    assert!(
        ua.starts_with("clausewatch/") && ua.contains("https://example.org/bot"),
        "{ua}"
    );
}

#[test]
fn a_confirmation_304_only_answers_the_same_strong_etag() {
    let server = TestServer::start();
    let v = x_versions();
    let page = corpus::x_page(&corpus::markdown(X_DOC, &v[0].file));
    let other = corpus::x_page(&corpus::markdown(X_DOC, &v[v.len() - 1].file));
    // The first response is a different page than the second, each with its
    // own ETag: the validator of the first does not match the second, whose
    // whole body comes back and disagrees.
    server.set_route(
        "/en/privacy",
        vec![
            Reply::html(&other).etag("\"v0\""),
            Reply::html(&page).etag("\"v1\""),
        ],
    );
    let (id, url, extra) = x_doc(&server, "/en/privacy");
    let bot = Bot::new(&[(id, url, &extra)]);
    let (_, out) = bot.check();
    let reqs = server.requests_to("/en/privacy");
    assert!(out.contains("not confirmed"), "{out} {reqs:?}");
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v0\""));
    let log = bot.fetch_log("x-privacy");
    assert_eq!(log[1], ("confirmation".to_string(), None, Some(200)));
    assert!(bot.history("x-privacy").is_empty());

    // A weak ETag only promises an equivalent page: the confirming fetch
    // asks for the whole body and compares it.
    let weak = TestServer::start();
    weak.set_route("/en/privacy", vec![Reply::html(&page).etag("W/\"v1\"")]);
    let (id, url, extra) = x_doc(&weak, "/en/privacy");
    let bot = Bot::new(&[(id, url, &extra)]);
    assert_eq!(bot.check().1.trim(), "x-privacy: new version 1");
    let reqs = weak.requests_to("/en/privacy");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("if-none-match"), None);
    assert_eq!(bot.fetch_log("x-privacy")[1].2, Some(200));
}

#[test]
fn changed_selectors_ignore_the_etag_and_re_extract() {
    let server = TestServer::start();
    let page = corpus::x_page(&corpus::markdown(X_DOC, &x_versions()[0].file));
    server.set_route("/en/privacy", vec![Reply::html(&page).etag("\"v1\"")]);
    let (id, url, extra) = x_doc(&server, "/en/privacy");
    let bot = Bot::new(&[(id, url.clone(), &extra)]);
    bot.check();
    // Same page, new rules (the cookie banner is no longer removed): the
    // check must not send If-None-Match, and must see the new clauses.
    let bot2 = Bot { dir: bot.dir };
    std::fs::write(
        bot2.config(),
        format!("[defaults]\nallow_private_addresses = true\nper_host_delay = \"0s\"\n[[documents]]\nid = \"x-privacy\"\nname = \"n\"\nservice = \"s\"\nurl = \"{url}\"\nselect = \"body\"\n"),
    )
    .unwrap();
    let (_, out) = bot2.check();
    // The stored page re-extracted with the new rules matches the page:
    // a technical update of version 1, not an announced version 2.
    assert!(
        out.starts_with("x-privacy: technical update of version 1"),
        "{out}"
    );
    // (Request 1 confirmed the first bot's version 1.)
    assert_eq!(
        server.requests_to("/en/privacy")[2].header("if-none-match"),
        None
    );
}

#[test]
fn legacy_charsets_are_decoded() {
    let server = TestServer::start();
    let text = "Politique de confidentialité : nous collectons les données que vous nous donnez. \
                Vos données ne sont pas vendues à des tiers. L’accès est protégé — toujours.";
    // ISO-8859-1 announced in the header (é, à; ’ and — do not exist there).
    let latin1_text = text.replace('’', "'").replace('—', "-");
    let latin1_page = format!("<html><body><main><p>{latin1_text}</p></main></body></html>");
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&latin1_page);
    server.set_route(
        "/latin1",
        vec![Reply::ok(latin1.to_vec()).header("content-type", "text/html; charset=ISO-8859-1")],
    );
    // windows-1252 announced only by <meta>, with 0x92 (’) and 0x97 (—).
    let cp1252_page =
        format!("<html><head><meta charset=\"windows-1252\"></head><body><main><p>{text}</p></main></body></html>");
    let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(&cp1252_page);
    server.set_route(
        "/cp1252",
        vec![Reply::ok(cp1252.to_vec()).header("content-type", "text/html")],
    );
    let bot = Bot::new(&[
        (
            "latin1",
            server.url("/latin1"),
            "select = \"main\"\nlanguage = \"fr\"",
        ),
        (
            "cp1252",
            server.url("/cp1252"),
            "select = \"main\"\nlanguage = \"fr\"",
        ),
    ]);
    let (code, out) = bot.check();
    assert_eq!(code, 0, "{out}");
    assert_eq!(bot.show("latin1")[0]["text"], latin1_text);
    assert_eq!(bot.show("cp1252")[0]["text"], text);
}

/// Runs one check of a single document that must fail, and returns the
/// fetch log's (outcome, class, status).
fn expect_failure(bot: &Bot, id: &str) -> (String, Option<String>, Option<i64>) {
    let (code, out) = bot.check();
    assert_eq!(code, 1, "a failed check exits 1: {out}");
    assert!(out.starts_with(&format!("{id}: failed (")), "{out}");
    assert!(bot.history(id).is_empty(), "a failure is never a version");
    let log = bot.fetch_log(id);
    assert_eq!(log.len(), 1);
    log[0].clone()
}

#[test]
fn server_error_is_retried_then_recorded() {
    let server = TestServer::start();
    server.set_route("/p", vec![Reply::status(500)]);
    let bot = Bot::new(&[("p", server.url("/p"), "")]);
    let (outcome, class, status) = expect_failure(&bot, "p");
    assert_eq!(
        (outcome.as_str(), class.as_deref(), status),
        ("failed", Some("http_server"), Some(500))
    );
    assert_eq!(server.hits("/p"), 3, "first attempt + 2 retries");
}

#[test]
fn not_found_is_a_failure_without_retry() {
    let server = TestServer::start();
    server.set_route("/p", vec![Reply::status(404)]);
    let bot = Bot::new(&[("p", server.url("/p"), "")]);
    let (_, class, status) = expect_failure(&bot, "p");
    assert_eq!(
        (class.as_deref(), status),
        (Some("http_not_found"), Some(404))
    );
    assert_eq!(server.hits("/p"), 1);
}

#[test]
fn empty_selection_is_a_failure() {
    let server = TestServer::start();
    let page = corpus::x_page(&corpus::markdown(X_DOC, &x_versions()[0].file));
    server.set_route("/p", vec![Reply::html(&page)]);
    let bot = Bot::new(&[("p", server.url("/p"), "select = \"#no-such-element\"")]);
    let (_, class, _) = expect_failure(&bot, "p");
    assert_eq!(class.as_deref(), Some("selector_mismatch"));
}

#[test]
fn too_short_extraction_is_a_failure() {
    let server = TestServer::start();
    server.set_route(
        "/p",
        vec![Reply::html(
            "<html><body><main><p>Our policy.</p></main></body></html>",
        )],
    );
    let bot = Bot::new(&[("p", server.url("/p"), "")]);
    let (_, class, _) = expect_failure(&bot, "p");
    assert_eq!(class.as_deref(), Some("too_short"));
}

#[test]
fn body_over_the_cap_is_a_failure_not_a_truncated_version() {
    let server = TestServer::start();
    let body = format!(
        "<html><body><p>{}</p></body></html>",
        "policy text ".repeat(20 * 1024 / 12)
    );
    assert!(body.len() > 20 * 1024);
    server.set_route("/p", vec![Reply::html(&body)]);
    let bot = Bot::new(&[("p", server.url("/p"), "")]);
    std::fs::write(
        bot.config(),
        std::fs::read_to_string(bot.config())
            .unwrap()
            .replace("[defaults]\n", "[defaults]\nmax_body_bytes = 10240\n"),
    )
    .unwrap();
    let (_, class, _) = expect_failure(&bot, "p");
    assert_eq!(class.as_deref(), Some("too_large"));
}

#[test]
fn slow_server_past_the_timeout_is_a_failure() {
    let server = TestServer::start();
    let page = corpus::x_page(&corpus::markdown(X_DOC, &x_versions()[0].file));
    server.set_route("/p", vec![Reply::html(&page).delay(Duration::from_secs(5))]);
    let bot = Bot::new(&[("p", server.url("/p"), "")]);
    std::fs::write(
        bot.config(),
        std::fs::read_to_string(bot.config())
            .unwrap()
            .replace("retries = 2", "retries = 0")
            .replace("timeout = \"2s\"", "timeout = \"500ms\""),
    )
    .unwrap();
    let (_, class, _) = expect_failure(&bot, "p");
    assert_eq!(class.as_deref(), Some("timeout"));
}

#[test]
fn real_x_snapshots_with_the_x_declaration() {
    // The two real HTML pages of X's privacy policy (January and July 2026):
    // one sentence of section 10 changed between them.
    let snaps = corpus::dir().join(X_DOC).join("snapshots");
    let jan = std::fs::read(snaps.join("2026-01-16T005414Z.html")).unwrap();
    let jul = std::fs::read(snaps.join("2026-07-16T005820Z.html")).unwrap();
    let server = TestServer::start();
    let (id, url, extra) = x_doc(&server, "/en/privacy");
    let bot = Bot::new(&[(id, url, &extra)]);
    server.set_route(
        "/en/privacy",
        vec![Reply::ok(jan).header("content-type", "text/html; charset=utf-8")],
    );
    assert_eq!(bot.check().1.trim(), "x-privacy: new version 1");
    server.set_route(
        "/en/privacy",
        vec![Reply::ok(jul).header("content-type", "text/html; charset=utf-8")],
    );
    let (_, out) = bot.check();
    assert_eq!(
        out.trim(),
        "x-privacy: new version 2: 0 added, 0 removed, 1 modified, 0 renamed, 0 moved"
    );

    let diff = bot.run(&[
        "diff",
        "x-privacy@1",
        "x-privacy@latest",
        "--format",
        "json",
    ]);
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    let cs: Value = serde_json::from_slice(&diff.stdout).unwrap();
    let change = &cs["changes"][0];
    assert_eq!(change["kind"], "modified");
    assert!(
        change["path"]
            .as_str()
            .unwrap()
            .contains("10. How To Contact X"),
        "{change}"
    );
    let inserted: String = change["words"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["op"] == "insert")
        .map(|w| w["text"].as_str().unwrap())
        .collect();
    assert!(
        inserted.contains("If you live in the European Union, you may contact"),
        "{inserted}"
    );
}

#[test]
fn extract_command_on_the_snapshot_matches_the_markdown_version() {
    let snaps = corpus::dir().join(X_DOC).join("snapshots");
    let run = |args: &[&str]| -> Vec<Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_clausewatch"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let html = snaps.join("2026-07-16T005820Z.html");
    let md = corpus::dir().join(X_DOC).join("2026-07-16T005820Z.md");
    let mut args = vec![
        "extract",
        html.to_str().unwrap(),
        "--select",
        "#twtr-main",
        "--format",
        "json",
    ];
    let removes: Vec<String> = serde_json::from_str(X_REMOVE).unwrap();
    for r in &removes {
        args.push("--remove");
        args.push(r);
    }
    let from_html = run(&args);
    let from_md = run(&["extract", md.to_str().unwrap(), "--format", "json"]);
    // Same sentences in the same order. Three clauses differ by spacing only
    // for reasons outside clausewatch (Open Terms Archive's
    // `removeEmptyLinks` filter glues words that the page separates with a
    // space-only link; turndown leaves unpaired `**`): see
    // tests/extract_snapshots.rs. Everything else is identical.
    assert!(from_html.len() > 100);
    assert_eq!(from_html.len(), from_md.len());
    let squeeze = |c: &Value| -> String {
        c["text"]
            .as_str()
            .unwrap()
            .replace("**", "")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    let mut exact = 0;
    for (h, m) in from_html.iter().zip(&from_md) {
        assert_eq!(
            squeeze(h),
            squeeze(m),
            "clause {} differs in wording",
            h["position"]
        );
        exact += (h["hash"] == m["hash"]) as usize;
    }
    assert_eq!(
        exact,
        from_md.len() - 3,
        "only the three known clauses differ in spacing (words glued where OTA removed empty links)"
    );
}

#[test]
fn bad_config_is_reported_with_line_and_column_and_exit_2() {
    let bot = Bot::new(&[(
        "p",
        "http://127.0.0.1:1/p".into(),
        "schedule = \"every tuesday\"",
    )]);
    let out = bot.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bot.toml:") && err.contains("cron"), "{err}");
    assert!(!bot.db().exists(), "nothing ran");
}

/// A policy page of `paragraphs` numbered paragraphs under a heading every
/// twenty, with a sentence added to each paragraph of `changed`.
fn long_page(paragraphs: usize, changed: &[usize]) -> String {
    let mut html = String::from("<html><body><main id=\"policy\">\n");
    for i in 0..paragraphs {
        if i % 20 == 0 {
            html.push_str(&format!("<h2>Section {}</h2>\n", i / 20));
        }
        let added = if changed.contains(&i) {
            " This sentence was added later."
        } else {
            ""
        };
        html.push_str(&format!(
            "<p>Paragraph {i}: we may collect, use and share information about you with our \
             partners for the purposes of section {}, subject to your choices.{added}</p>\n",
            i / 20
        ));
    }
    html + "</main></body></html>"
}

/// Pages from a megabyte on are checked holding less (the old clauses are
/// read again after the parse and only their ids are kept for the write,
/// which then reads the parent snapshot's dictionary back): their versions,
/// change sets, snapshots and the truncation check come out as any page's.
#[test]
fn a_page_over_a_megabyte_is_diffed_stored_and_read_back_like_any_other() {
    let server = TestServer::start();
    let v1 = long_page(7000, &[]);
    let v2 = long_page(7000, &[10]);
    let v3 = long_page(7000, &[10, 4000, 6999]);
    assert!(v1.len() > 1 << 20, "{} bytes", v1.len());
    // Version 2 cut in the middle of paragraph 3000's wording.
    let cut = v2.find("<p>Paragraph 3000:").unwrap() + "<p>Paragraph 3000: we may".len();
    let truncated = v2[..cut].to_string();
    let bot = Bot::new(&[("long", server.url("/long"), "select = \"#policy\"")]);
    std::fs::write(
        bot.config(),
        std::fs::read_to_string(bot.config())
            .unwrap()
            .replace("[defaults]\n", "[defaults]\nmax_body_bytes = 4194304\n"),
    )
    .unwrap();
    let mut outputs = Vec::new();
    for page in [&v1, &v2, &truncated, &v3] {
        server.set_route("/long", vec![Reply::html(page)]);
        outputs.push(bot.check());
    }
    assert_eq!(outputs[0], (0, "long: new version 1\n".to_string()));
    assert!(
        outputs[1].1.starts_with("long: new version 2"),
        "{:?}",
        outputs[1]
    );
    assert_eq!(outputs[2].0, 1, "{:?}", outputs[2]);
    assert!(outputs[2].1.contains("truncated"), "{:?}", outputs[2]);
    assert!(
        outputs[3].1.starts_with("long: new version 3"),
        "{:?}",
        outputs[3]
    );

    let history = bot.history("long");
    let counts: Vec<[i64; 3]> = history
        .iter()
        .take(2)
        .map(|h| {
            let n = |k: &str| h["changes"][k].as_i64().unwrap();
            [n("added"), n("removed"), n("modified")]
        })
        .collect();
    assert_eq!(counts, [[0, 0, 2], [0, 0, 1]], "{history:?}");
    let clauses = bot.show("long");
    assert_eq!(clauses.len(), 7000 + 350);
    let added: Vec<&str> = clauses
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .filter(|t| t.ends_with("This sentence was added later."))
        .collect();
    assert_eq!(added.len(), 3, "{added:?}");

    // Each version's snapshot reads back as the bytes served: the second
    // and third are compressed against the one before, down to the first,
    // which is compressed against its clause texts.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = common::raw_db(&bot.db()).await;
        let rows: Vec<(i64, String, bool)> = sqlx::query_as(
            "SELECT v.number, v.snapshot_hash, s.dict IS NOT NULL FROM versions v JOIN snapshots s ON s.hash = v.snapshot_hash WHERE v.document_id = 'long' ORDER BY v.number",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        let dicts: Vec<bool> = rows.iter().map(|r| r.2).collect();
        assert_eq!(dicts, [true, false, false]);
        let store = clausewatch::store::Store::open_read_only(&bot.db())
            .await
            .unwrap();
        for ((number, hash, _), page) in rows.iter().zip([&v1, &v2, &v3]) {
            let (body, _) = store.snapshot(hash).await.unwrap().unwrap();
            assert!(body == page.as_bytes(), "snapshot of version {number}");
        }
        store.close().await;
    });
}
