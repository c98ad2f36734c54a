//! Reach: Open Terms Archive declarations as published, PDF policies and
//! pages written by JavaScript, through the `clausewatch` binary against
//! loopback servers and a real SQLite file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::server::{Reply, TestServer};
use serde_json::Value;

struct Bot {
    dir: tempfile::TempDir,
}

const DEFAULTS: &str = "[defaults]\nper_host_delay = \"0s\"\nbackoff_base = \"10ms\"\nretries = 0\ntimeout = \"5s\"\njitter = \"0s\"\nconfirm_after = \"0s\"\nmin_chars = 20\n";

/// Loopback pages are what the tests serve.
const PRIVATE: &str = "allow_private_addresses = true\n";

impl Bot {
    /// A bot whose `[ota] declarations` folder holds `declarations` (file
    /// name, text), with `extra` appended to bot.toml.
    fn new(declarations: &[(&str, String)], defaults: &str, extra: &str) -> Bot {
        let bot = Bot {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir(bot.dir.path().join("decl")).unwrap();
        for (name, text) in declarations {
            std::fs::write(bot.dir.path().join("decl").join(name), text).unwrap();
        }
        let toml = format!("{DEFAULTS}{defaults}\n\n[ota]\ndeclarations = \"decl\"\n\n{extra}");
        std::fs::write(bot.config(), toml).unwrap();
        bot
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("bot.toml")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_clausewatch"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("CLAUSEWATCH_DATABASE")
            .envs(env.iter().copied())
            .output()
            .expect("run clausewatch")
    }

    /// `check DOC`: the line printed for it, and stderr.
    fn check(&self, doc: &str) -> (String, String) {
        let out = self.run(&["check", doc]);
        (
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    fn status(&self) -> Value {
        let out = self.run(&["status", "--format", "json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status is JSON")
    }

    /// Rows of the bot's database.
    fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    {
        let db = self.dir.path().join("clausewatch.db");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let pool = common::raw_db(&db).await;
                let rows = sqlx::query_as::<_, T>(sql).fetch_all(&pool).await;
                pool.close().await;
                rows.expect("query")
            })
    }

    /// Rewrites a declaration file in place.
    fn declare(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join("decl").join(name), text).unwrap();
    }

    /// The clause texts of the latest version of `doc`.
    fn clauses(&self, doc: &str) -> Vec<String> {
        let out = self.run(&["show", doc, "--format", "json"]);
        assert!(
            out.status.success(),
            "show {doc}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("show is JSON");
        let list = v["clauses"]
            .as_array()
            .or(v.as_array())
            .expect("a clause list");
        list.iter()
            .map(|c| c["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

#[test]
fn the_corpus_declarations_load_unedited_one_document_per_terms_type() {
    let mut files = Vec::new();
    for service in ["twitter", "google", "reddit"] {
        for (from, to) in [
            ("declaration.json", format!("{service}.json")),
            (
                "declaration.history.json",
                format!("{service}.history.json"),
            ),
        ] {
            if let Ok(text) = std::fs::read_to_string(corpus().join(service).join(from)) {
                files.push((to, text));
            }
        }
    }
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let bot = Bot::new(&files, "", "");
    let status = bot.status();
    let ids: Vec<&str> = status["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 14, "{ids:?}");
    for id in [
        "twitter-privacy-policy",
        "twitter-community-guidelines",
        "google-privacy-policy",
        "reddit-quality-guidelines",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    let out = bot.run(&["list", "--format", "json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).expect("list is JSON");
    let listed = listed["documents"].as_array().unwrap();
    assert_eq!(listed.len(), 14);
    let cg = listed
        .iter()
        .find(|d| d["id"] == "twitter-community-guidelines")
        .unwrap();
    assert_eq!(cg["pages"], 18, "{cg}");
    assert_eq!(cg["render"], "auto", "{cg}");
    assert!(
        cg["declared_in"]
            .as_str()
            .unwrap()
            .ends_with("twitter.json"),
        "{cg}"
    );
    let out = bot.run(&["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("declaration filters not applied").count(),
        1,
        "{stdout}"
    );
    assert!(
        stdout.contains("removeQueryParams (google-privacy-policy, google-terms-of-service)"),
        "{stdout}"
    );
}

const PRIVACY: &str = r#"<!DOCTYPE html><html lang="en"><body>
<nav>Home · Products · Careers</nav>
<main>
  <p>Welcome banner before the policy text.</p>
  <h1 id="start">Example Privacy Policy</h1>
  <p>We collect the email address you give us when you sign up.</p>
  <div class="ad">Try Example Premium free for thirty days!</div>
  <h2>Sharing</h2>
  <p>We never sell your personal data to advertisers.</p>
  <p id="end">Was this page helpful? Yes / No</p>
  <p>Footer links and copyright.</p>
</main></body></html>"#;

fn declaration(name: &str, terms: &str) -> String {
    format!(r#"{{"name": "{name}", "terms": {{{terms}}}}}"#)
}

#[test]
fn a_range_selector_keeps_exactly_the_text_between_the_markers_without_the_ad() {
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html(PRIVACY)]);
    let decl = declaration(
        "Example",
        &format!(
            r##""Privacy Policy": {{"fetch": "{}", "select": {{"startBefore": "#start", "endBefore": "#end"}}, "remove": ".ad"}}"##,
            server.url("/privacy")
        ),
    );
    let bot = Bot::new(&[("Example.json", decl)], PRIVATE, "");
    let (line, stderr) = bot.check("example-privacy-policy");
    assert!(
        line.starts_with("example-privacy-policy: "),
        "{line} / {stderr}"
    );
    assert_eq!(
        bot.clauses("example-privacy-policy"),
        [
            "Example Privacy Policy",
            "We collect the email address you give us when you sign up.",
            "Sharing",
            "We never sell your personal data to advertisers.",
        ]
    );
    // The marker gone: a recorded failure naming the selector, no version.
    server.set_route(
        "/privacy",
        vec![Reply::html(&PRIVACY.replace("id=\"end\"", "id=\"later\""))],
    );
    let (line, _) = bot.check("example-privacy-policy");
    assert!(
        line.contains("selector_mismatch") && line.contains("#end"),
        "{line}"
    );
    let status = bot.status();
    assert_eq!(status["documents"][0]["versions"], 1, "{status}");
}

/// A combined document's first page.
const RULES: &str = "<html><body><nav>Menu</nav><article><h1>Rules</h1><p>Do not post spam or scams in any community.</p></article></body></html>";

/// The clauses of the combined document, both pages cut.
const GUIDELINES: [&str; 4] = [
    "Rules",
    "Do not post spam or scams in any community.",
    "Violence",
    "Threats of violence are removed at once.",
];

#[test]
fn a_combined_document_holds_both_pages_text() {
    let server = TestServer::start();
    server.set_route("/rules", vec![Reply::html(RULES)]);
    server.set_route(
        "/violence",
        vec![Reply::html(
            "<html><body><article><h1>Violence</h1><p>Threats of violence are removed at once.</p><p class=\"share\">Share this</p></article></body></html>",
        )],
    );
    let decl = declaration(
        "Example",
        &format!(
            r#""Community Guidelines": {{"select": "article", "combine": [{{"fetch": "{}"}}, {{"fetch": "{}", "remove": ".share"}}]}}"#,
            server.url("/rules"),
            server.url("/violence")
        ),
    );
    let bot = Bot::new(&[("Example.json", decl)], PRIVATE, "");
    let (line, stderr) = bot.check("example-community-guidelines");
    assert!(!line.contains("failed"), "{line} / {stderr}");
    assert_eq!(bot.clauses("example-community-guidelines"), GUIDELINES);
}

#[test]
fn a_loopback_url_from_a_declaration_is_refused_unlike_one_in_bot_toml() {
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html(PRIVACY)]);
    let decl = declaration(
        "Example",
        &format!(
            r#""Privacy Policy": {{"fetch": "{}", "select": "main"}}"#,
            server.url("/privacy")
        ),
    );
    let own = format!(
        "[[documents]]\nid = \"mine\"\nname = \"Mine\"\nservice = \"Example\"\nurl = \"{}\"\nselect = \"main\"\n",
        server.url("/privacy")
    );
    let bot = Bot::new(&[("Example.json", decl)], "", &own);
    let (line, _) = bot.check("example-privacy-policy");
    assert!(line.contains("private_address"), "{line}");
    assert_eq!(
        server.requests().len(),
        0,
        "the declaration's URL was refused before any request"
    );
    let (line, _) = bot.check("mine");
    assert!(!line.contains("failed"), "{line}");
    assert!(
        !server.requests().is_empty(),
        "bot.toml's URL, the same address, was fetched"
    );
}

#[test]
fn import_reads_pages_older_than_valid_until_with_the_rules_of_their_time() {
    let decl = declaration(
        "Example",
        r##""Privacy Policy": {"fetch": "https://example.org/privacy", "select": "#new-main"}"##,
    );
    let history = r##"{"Privacy Policy": [{"fetch": "https://example.org/privacy", "select": ".old-main", "validUntil": "2022-01-01T00:00:00Z"}]}"##;
    let bot = Bot::new(
        &[
            ("Example.json", decl),
            ("Example.history.json", history.to_string()),
        ],
        "",
        "",
    );
    let versions = bot.dir.path().join("versions");
    std::fs::create_dir(&versions).unwrap();
    std::fs::write(
        versions.join("2021-06-01T000000Z.html"),
        "<html><body><div class=\"old-main\"><p>Old wording of the data policy, kept for years.</p></div><div id=\"new-main\">Not yet.</div></body></html>",
    )
    .unwrap();
    std::fs::write(
        versions.join("2023-06-01T000000Z.html"),
        "<html><body><div class=\"old-main\">Gone.</div><div id=\"new-main\"><p>New wording of the data policy, from this year on.</p></div></body></html>",
    )
    .unwrap();
    let out = bot.run(&[
        "import",
        "example-privacy-policy",
        versions.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bot.run(&["show", "example-privacy-policy", "1", "--format", "json"]);
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(first.to_string().contains("Old wording"), "{first}");
    assert!(!first.to_string().contains("Not yet"), "{first}");
    assert_eq!(
        bot.clauses("example-privacy-policy"),
        ["New wording of the data policy, from this year on."]
    );
}

/// A one-page PDF whose text layer holds `lines` (an empty line is a
/// paragraph gap), written with lopdf as a word processor would: Helvetica,
/// one text object per line.
fn pdf(lines: &[&str]) -> Vec<u8> {
    pdf_with(lines, false)
}

/// [`pdf`], encrypted when `encrypted` (a standard security handler with
/// a password nobody knows).
fn pdf_with(lines: &[&str], encrypted: bool) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut operations = Vec::new();
    let mut y = 780;
    for line in lines {
        if line.is_empty() {
            y -= 14;
            continue;
        }
        operations.push(Operation::new("BT", vec![]));
        operations.push(Operation::new("Tf", vec!["F1".into(), 11.into()]));
        operations.push(Operation::new("Td", vec![72.into(), y.into()]));
        operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
        operations.push(Operation::new("ET", vec![]));
        y -= 14;
    }
    if lines.is_empty() {
        // A scanned page: a filled shape, no text.
        operations.push(Operation::new(
            "re",
            vec![72.into(), 72.into(), 400.into(), 600.into()],
        ));
        operations.push(Operation::new("f", vec![]));
    }
    let content = Content { operations };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    if encrypted {
        let encrypt = doc.add_object(dictionary! {
            "Filter" => "Standard", "V" => 1, "R" => 2, "P" => -4,
            "O" => Object::string_literal(vec![7u8; 32]),
            "U" => Object::string_literal(vec![9u8; 32]),
        });
        doc.trailer.set("Encrypt", encrypt);
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

const PDF_POLICY: &[&str] = &[
    "Example Privacy Policy",
    "",
    "We collect the email address you give us when you sign up.",
    "",
    "Sharing",
    "",
    "We never sell your personal data to advertisers.",
];

#[test]
fn a_pdf_policy_gives_clauses_with_its_sentences_and_bad_pdfs_are_failures() {
    let server = TestServer::start();
    server.set_route(
        "/privacy",
        vec![Reply::ok(pdf(PDF_POLICY)).header("Content-Type", "application/pdf")],
    );
    let decl = declaration(
        "Example",
        &format!(
            r#""Privacy Policy": {{"fetch": "{}"}}"#,
            server.url("/privacy")
        ),
    );
    let bot = Bot::new(&[("Example.json", decl)], PRIVATE, "");
    let (line, stderr) = bot.check("example-privacy-policy");
    assert!(line.contains("new version 1"), "{line} / {stderr}");
    assert_eq!(
        bot.clauses("example-privacy-policy"),
        [
            "Example Privacy Policy",
            "We collect the email address you give us when you sign up.",
            "Sharing",
            "We never sell your personal data to advertisers.",
        ]
    );
    // Scanned pages, an encrypted file, a truncated one: failures, never a
    // version.
    let encrypted = pdf_with(PDF_POLICY, true);
    let full = pdf(PDF_POLICY);
    let cases = [
        (pdf(&[]), "pdf_no_text", "no text layer"),
        (
            full[..full.len() / 2].to_vec(),
            "pdf_unreadable",
            "cannot be read",
        ),
        (encrypted, "pdf_unreadable", "encrypted"),
    ];
    for (body, class, reason) in cases {
        server.set_route(
            "/privacy",
            vec![Reply::ok(body).header("Content-Type", "application/pdf")],
        );
        let (line, _) = bot.check("example-privacy-policy");
        assert!(
            line.contains(&format!("failed ({class})")) && line.contains(reason),
            "{class}: {line}"
        );
    }
    let status = bot.status();
    assert_eq!(status["documents"][0]["versions"], 1, "{status}");
    // The body cap holds for PDFs too.
    let capped = Bot::new(
        &[(
            "Example.json",
            declaration(
                "Example",
                &format!(
                    r#""Privacy Policy": {{"fetch": "{}"}}"#,
                    server.url("/big.pdf")
                ),
            ),
        )],
        &format!("{PRIVATE}max_body_bytes = 2000\n"),
        "",
    );
    let mut big = pdf(PDF_POLICY);
    big.extend(std::iter::repeat_n(b'%', 4000));
    server.set_route(
        "/big.pdf",
        vec![Reply::ok(big).header("Content-Type", "application/pdf")],
    );
    let (line, _) = capped.check("example-privacy-policy");
    assert!(line.contains("failed (too_large)"), "{line}");
}

/// A page whose policy a script writes after load: a plain fetch sees an
/// empty `<main>`.
const SCRIPTED: &str = r#"<!DOCTYPE html><html lang="en"><head><title>Privacy</title></head><body>
<main id="policy"></main>
<script>
setTimeout(function () {
  document.getElementById("policy").innerHTML =
    "<h1>Scripted Privacy Policy</h1><p>This sentence was written by a script after the page loaded.</p>";
}, 300);
</script></body></html>"#;

/// The browser Debian's package installs (`.ci/run` installs it), or the
/// one `CHROMIUM` names.
fn chromium() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).is_file(),
        "these tests need Chromium at {path} (apt-get install chromium, or set CHROMIUM)"
    );
    path
}

#[test]
fn a_page_written_by_a_script_gives_that_text_in_the_browser() {
    let chromium = chromium();
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html(SCRIPTED)]);
    let decl = declaration(
        "Example",
        &format!(
            r##""Privacy Policy": {{"fetch": "{}", "select": "#policy", "executeClientScripts": true}}"##,
            server.url("/privacy")
        ),
    );
    let bot = Bot::new(&[("Example.json", decl)], PRIVATE, "");
    let child = Command::new(env!("CARGO_BIN_EXE_clausewatch"))
        .args(["check", "--config"])
        .arg(bot.config())
        .env_remove("CLAUSEWATCH_DATABASE")
        .env("CHROMIUM", &chromium)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(line.contains("new version 1"), "{line} / {stderr}");
    assert_eq!(
        bot.clauses("example-privacy-policy"),
        [
            "Scripted Privacy Policy",
            "This sentence was written by a script after the page loaded.",
        ]
    );
    // The command ends with the browser up: it is stopped without a word,
    // and its profile is gone with it.
    assert!(!stderr.contains(" WARN "), "{stderr}");
    let profile = std::env::temp_dir().join(format!("clausewatch-browser-{pid}-0"));
    assert!(
        !profile.exists(),
        "{} left behind / {stderr}",
        profile.display()
    );
}

#[test]
fn without_a_browser_such_documents_fail_with_no_browser_and_the_rest_run() {
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html(SCRIPTED)]);
    server.set_route("/terms", vec![Reply::html(PRIVACY)]);
    let decl = declaration(
        "Example",
        &format!(
            r##""Privacy Policy": {{"fetch": "{}", "select": "#policy", "executeClientScripts": true}},
                "Terms of Service": {{"fetch": "{}", "select": "main"}}"##,
            server.url("/privacy"),
            server.url("/terms")
        ),
    );
    let bot = Bot::new(&[("Example.json", decl)], PRIVATE, "");
    let out = bot.run_with(&["check"], &[("CHROMIUM", "/nonexistent/chromium")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("example-privacy-policy: failed (no_browser)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("example-terms-of-service: new version 1"),
        "{stdout}"
    );
}

#[test]
fn a_refused_plain_fetch_is_retried_once_in_the_browser() {
    let chromium = chromium();
    let server = TestServer::start();
    // The plain client is turned away every time; the visitor after it
    // (the browser) is served. A first version is confirmed by a second
    // fetch, which takes the same way.
    server.set_route(
        "/privacy",
        vec![
            Reply::status(403),
            Reply::html(SCRIPTED),
            Reply::status(403),
            Reply::html(SCRIPTED),
        ],
    );
    let decl = declaration(
        "Example",
        &format!(
            r##""Privacy Policy": {{"fetch": "{}", "select": "#policy"}}"##,
            server.url("/privacy")
        ),
    );
    let bot = Bot::new(&[("Example.json", decl)], PRIVATE, "");
    let out = bot.run_with(&["check"], &[("CHROMIUM", &chromium)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("new version 1"), "{stdout}");
    assert_eq!(
        bot.clauses("example-privacy-policy")[0],
        "Scripted Privacy Policy"
    );
    let page_requests = server
        .requests()
        .iter()
        .filter(|r| r.path == "/privacy")
        .count();
    assert_eq!(
        page_requests, 4,
        "per fetch (the first and its confirmation) one plain GET, one browser visit"
    );
}

#[test]
fn format_pdf_reads_a_pdf_served_as_octets_and_format_html_never_reads_one() {
    let server = TestServer::start();
    server.set_route(
        "/download",
        vec![Reply::ok(pdf(PDF_POLICY)).header("Content-Type", "application/octet-stream")],
    );
    server.set_route(
        "/policy.pdf",
        vec![Reply::ok(pdf(PDF_POLICY)).header("Content-Type", "application/pdf")],
    );
    let doc = |id: &str, path: &str, format: &str| {
        format!(
            "[[documents]]\nid = \"{id}\"\nname = \"{id}\"\nservice = \"Example\"\nurl = \"{}\"\n{format}\n",
            server.url(path)
        )
    };
    let docs = [
        doc("octets-pdf", "/download?id=7", "format = \"pdf\""),
        doc("octets-auto", "/download?id=7", ""),
        doc("typed-html", "/policy.pdf", "format = \"html\""),
        doc("typed-auto", "/policy.pdf", "format = \"auto\""),
    ]
    .concat();
    let bot = Bot::new(&[], "", &docs);
    let out = bot.run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id}: ")))
            .unwrap_or_else(|| panic!("no line for {id}: {stdout}"))
            .to_string()
    };
    for id in ["octets-pdf", "octets-auto", "typed-auto"] {
        assert!(line(id).contains("new version 1"), "{id}: {stdout}");
    }
    assert_eq!(
        bot.clauses("octets-pdf"),
        [
            "Example Privacy Policy",
            "We collect the email address you give us when you sign up.",
            "Sharing",
            "We never sell your personal data to advertisers.",
        ]
    );
    // Declared a page, a PDF is refused even where it would be read.
    assert!(
        line("typed-html").contains("failed (unexpected_content)"),
        "{stdout}"
    );
    // A page where the PDF was declared (left to the body, it would be read
    // as a page): a failure naming the declaration.
    server.set_route(
        "/download",
        vec![Reply::html("<html><body><p>Please sign in to download our privacy policy document.</p></body></html>")],
    );
    let (line, _) = bot.check("octets-pdf");
    assert!(
        line.contains("failed (unexpected_content)") && line.contains("format = \"pdf\""),
        "{line}"
    );
}

/// A combined document's second page: a note the declaration may remove.
const VIOLENCE: &str = "<html><body><article><h1>Violence</h1><p>Threats of violence are removed at once.</p><p class=\"note\">Appeals go to the review team within a week.</p></article></body></html>";

#[test]
fn new_range_markers_and_removals_re_cut_the_stored_pages_as_a_technical_update() {
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html(PRIVACY)]);
    server.set_route("/terms", vec![Reply::html(PRIVACY)]);
    server.set_route("/rules", vec![Reply::html(RULES)]);
    server.set_route("/violence", vec![Reply::html(VIOLENCE)]);
    let decl = |end: &str, remove: &str| {
        declaration(
            "Example",
            &format!(
                r##""Privacy Policy": {{"fetch": "{}", "select": {{"startBefore": "#start", "endBefore": "{end}"}}, "remove": ".ad"}},
                "Community Guidelines": {{"select": "article", "combine": [{{"fetch": "{}"}}, {{"fetch": "{}", "remove": "{remove}"}}]}},
                "Terms of Service": {{"fetch": "{}", "select": "main", "remove": ".ad"}}"##,
                server.url("/privacy"),
                server.url("/rules"),
                server.url("/violence"),
                server.url("/terms"),
            ),
        )
    };
    let bot = Bot::new(&[("Example.json", decl("#end", ".share"))], PRIVATE, "");
    let out = bot.run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("new version 1").count(), 3, "{stdout}");
    let guidelines = bot.clauses("example-community-guidelines");
    assert!(
        guidelines.contains(&"Appeals go to the review team within a week.".to_string()),
        "{guidelines:?}"
    );
    let threads = || bot.rows::<(i64,)>("SELECT COUNT(*) FROM threads")[0].0;
    let threads_before = threads();

    // The same pages, new rules: the privacy policy now ends before its
    // second heading, the guidelines drop the note.
    bot.declare("Example.json", &decl("h2", ".note"));
    let out = bot.run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for id in ["example-privacy-policy", "example-community-guidelines"] {
        assert!(
            stdout.contains(&format!("{id}: technical update")),
            "{id}: {stdout}"
        );
    }
    assert!(
        stdout.contains("example-terms-of-service: unchanged"),
        "{stdout}"
    );
    assert_eq!(
        bot.clauses("example-privacy-policy"),
        [
            "Example Privacy Policy",
            "We collect the email address you give us when you sign up.",
        ]
    );
    assert_eq!(bot.clauses("example-community-guidelines"), GUIDELINES);
    assert_eq!(
        threads(),
        threads_before,
        "a technical update is never announced"
    );
    let versions: Vec<(String, i64)> =
        bot.rows("SELECT document_id, COUNT(*) FROM versions GROUP BY document_id ORDER BY 1");
    assert!(versions.iter().all(|(_, n)| *n == 1), "{versions:?}");
    let technical: Vec<(i64,)> = bot.rows("SELECT COUNT(*) FROM technical_updates");
    assert_eq!(technical[0].0, 2);

    // What is stored: the page as served for a document cut by CSS alone,
    // the pages as fetched, before any cut, for the assembled ones.
    use sha2::{Digest, Sha256};
    let snapshots: Vec<(String, String, Option<String>)> = bot.rows(
        "SELECT v.document_id, s.hash, s.content_type FROM versions v JOIN snapshots s ON s.hash = v.snapshot_hash ORDER BY 1",
    );
    let of = |id: &str| snapshots.iter().find(|s| s.0 == id).unwrap().clone();
    let terms = of("example-terms-of-service");
    assert_eq!(terms.1, hex::encode(Sha256::digest(PRIVACY.as_bytes())));
    assert!(terms.2.unwrap().starts_with("text/html"));
    for id in ["example-privacy-policy", "example-community-guidelines"] {
        assert_eq!(
            of(id).2.as_deref(),
            Some("application/vnd.clausewatch.parts"),
            "{id}"
        );
    }
}

#[test]
fn the_browser_refuses_what_a_page_loads_from_private_addresses_but_its_own_origin() {
    let chromium = chromium();
    let page = TestServer::start();
    let elsewhere = TestServer::start();
    let other = |path: &str| elsewhere.url(path);
    let named = elsewhere.url_with_host("localhost", "/named");
    page.set_route(
        "/privacy",
        vec![Reply::html(&format!(
            r#"<!DOCTYPE html><html lang="en"><body><main id="policy"></main>
<img src="{}"><iframe src="{}"></iframe>
<script src="/app.js"></script></body></html>"#,
            other("/pixel.png"),
            other("/frame")
        ))],
    );
    // Same origin as the page: let through. It writes the policy once the
    // requests elsewhere have settled, so that they were all made.
    page.set_route(
        "/app.js",
        vec![Reply::ok(format!(
            r#"Promise.allSettled([fetch("{}"), fetch("{named}")]).then(function () {{
  document.getElementById("policy").innerHTML =
    "<h1>Guarded Privacy Policy</h1><p>The script that wrote this came from the page's own origin.</p>";
}});"#,
            other("/beacon")
        ))
        .header("Content-Type", "text/javascript")],
    );
    let doc = format!(
        "[[documents]]\nid = \"guarded\"\nname = \"Guarded\"\nservice = \"Example\"\nurl = \"{}\"\nselect = \"#policy\"\nrender = \"browser\"\n",
        page.url("/privacy")
    );
    let bot = Bot::new(&[], "", &doc);
    let out = bot.run_with(&["check", "guarded"], &[("CHROMIUM", &chromium)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("new version 1"),
        "{stdout} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        bot.clauses("guarded"),
        [
            "Guarded Privacy Policy",
            "The script that wrote this came from the page's own origin.",
        ]
    );
    assert!(
        page.requests_to("/app.js").len() >= 2,
        "the page's own script was loaded (a first fetch and its confirmation)"
    );
    let reached: Vec<String> = elsewhere
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        reached.is_empty(),
        "another loopback port and a name for loopback were reached: {reached:?}"
    );
}
