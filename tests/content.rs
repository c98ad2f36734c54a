//! A body that is not the policy never becomes a version: the `clausewatch`
//! binary against a loopback server that serves the X privacy policy, then
//! a PDF, an image, a mis-decoded page and a page in another language in its
//! place, with a real SQLite file. Each stand-in records a failure and nothing else; the next real
//! change is a version, announced once.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::corpus;
use common::server::{Reply, TestServer};
use serde_json::Value;

const X_DOC: &str = "twitter/privacy-policy";
const X_SELECT: &str =
    "select = \"#twtr-main\"\nremove = [\".ct17-banner-container\", \".ct07__side-nav\"]";

struct Bot {
    dir: tempfile::TempDir,
}

impl Bot {
    fn new(url: &str) -> Bot {
        Bot::with(url, "")
    }

    /// A bot whose document has `extra` lines (`language = "en"`).
    fn with(url: &str, extra: &str) -> Bot {
        let bot = Bot {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let toml = format!(
            "[defaults]\nallow_private_addresses = true\nper_host_delay = \"0s\"\nbackoff_base = \"10ms\"\nretries = 0\ntimeout = \"5s\"\njitter = \"0s\"\nconfirm_after = \"0s\"\n\n\
             [[documents]]\nid = \"p\"\nname = \"Privacy Policy\"\nservice = \"X\"\nurl = \"{url}\"\n{X_SELECT}\n{extra}\n"
        );
        std::fs::write(bot.config(), toml).expect("write bot.toml");
        bot
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("bot.toml")
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

    /// `clausewatch status --format json`.
    fn status(&self) -> Value {
        let out = self.run(&["status", "--format", "json"]);
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status is JSON")
    }

    /// Asserts that the document has `versions` versions and that the
    /// outbox is empty, or holds posts when `announced`.
    fn assert_recorded(&self, what: &str, versions: u64, announced: bool) -> Value {
        let status = self.status();
        let doc = &status["documents"][0];
        assert_eq!(doc["versions"], versions, "{what}: {status}");
        let pending = status["outbox"]["pending"].as_u64().expect("pending count");
        assert_eq!(pending > 0, announced, "{what}: {status}");
        assert_eq!(status["outbox"]["sent"], 0, "{what}: {status}");
        doc.clone()
    }
}

/// Consecutive real records of the X policy whose visible text differs.
fn two_real_versions() -> (String, String) {
    let records: Vec<corpus::Version> = corpus::versions(X_DOC)
        .into_iter()
        .filter(|v| v.subject.starts_with("Update") || v.subject.starts_with("Record new changes"))
        .skip_while(|v| v.file != "2023-09-29T231259Z.md")
        .collect();
    let first = corpus::markdown(X_DOC, &records[0].file);
    let second = records
        .iter()
        .map(|r| corpus::markdown(X_DOC, &r.file))
        .find(|md| md.split_whitespace().ne(first.split_whitespace()))
        .expect("a later record with other text");
    (first, second)
}

/// A PDF of the policy as a browser's "Save as PDF" writes it: the binary
/// marker line, the text in content streams, and an embedded font (binary)
/// several times the text's size. Read as text, far more characters than
/// the page.
fn policy_pdf(markdown: &str) -> Vec<u8> {
    let mut pdf =
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            .to_vec();
    let mut text = String::from("BT /F1 10 Tf 50 800 Td 12 TL\n");
    for line in markdown.lines().filter(|l| !l.trim().is_empty()) {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        text.push_str(&format!("({escaped}) '\n"));
    }
    text.push_str("ET\n");
    pdf.extend_from_slice(
        format!(
            "4 0 obj\n<< /Length {} >>\nstream\n{text}endstream\nendobj\n",
            text.len()
        )
        .as_bytes(),
    );
    let font: Vec<u8> = (0..150_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    pdf.extend_from_slice(
        format!(
            "5 0 obj\n<< /Length {} /Subtype /OpenType >>\nstream\n",
            font.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&font);
    pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

/// A 64×64 PNG (the site's logo served instead of the page): a valid
/// signature and IHDR, then image data.
fn logo_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x40\x00\x00\x00\x40\x08\x06\x00\x00\x00\xaa\x69\x71\xde".to_vec();
    png.extend((0..4096u32).map(|i| (i.wrapping_mul(2_246_822_519) >> 9) as u8));
    png.extend_from_slice(b"\x00\x00\x00\x00IEND\xae\x42\x60\x82");
    png
}

/// The UTF-8 page with a header that says Latin-1 (the `<meta>` of
/// `x_page` says UTF-8, the header wins).
fn declared_latin1(page: &str) -> Reply {
    Reply::ok(page.as_bytes().to_vec()).header("Content-Type", "text/html; charset=iso-8859-1")
}

#[test]
fn binary_and_mis_decoded_bodies_record_nothing_then_the_next_change_is_a_version() {
    let server = TestServer::start();
    let url = server.url("/en/privacy");
    let bot = Bot::new(&url);
    let (first, second) = two_real_versions();
    let page = corpus::x_page(&first);
    let next = corpus::x_page(&second);

    server.set_route("/en/privacy", vec![Reply::html(&page)]);
    let out = bot.check();
    assert!(out.starts_with("p: new version 1"), "{out}");
    bot.assert_recorded("first version", 1, false);

    let stand_ins: Vec<(&str, Reply, &str)> = vec![
        (
            "a PDF of the policy",
            Reply::ok(policy_pdf(&second)).header("Content-Type", "application/pdf"),
            "unexpected_content",
        ),
        (
            "a PDF served as text/html",
            Reply::ok(policy_pdf(&second)).header("Content-Type", "text/html"),
            "unexpected_content",
        ),
        (
            "a PNG served as text/html",
            Reply::ok(logo_png()).header("Content-Type", "text/html; charset=utf-8"),
            "unexpected_content",
        ),
        (
            "the next version, UTF-8 served as iso-8859-1",
            declared_latin1(&next),
            "bad_encoding",
        ),
    ];
    for (what, reply, class) in stand_ins {
        server.set_route("/en/privacy", vec![reply]);
        let out = bot.check();
        assert!(
            out.starts_with(&format!("p: failed ({class}): {url}")),
            "{what}: {out}"
        );
        let doc = bot.assert_recorded(what, 1, false);
        assert_eq!(doc["last_error_class"], class, "{what}: {doc}");
        assert!(
            doc["last_error"].as_str().is_some_and(|e| e.contains(&url)),
            "{what}: the error names the URL: {doc}"
        );
    }

    // The next real change, served properly, is a version and is announced.
    server.set_route("/en/privacy", vec![Reply::html(&next)]);
    let out = bot.check();
    assert!(out.starts_with("p: new version 2"), "{out}");
    let doc = bot.assert_recorded("the real change", 2, true);
    assert_eq!(doc["consecutive_failures"], 0, "{doc}");
}

#[test]
fn a_failure_never_becomes_the_soft_error_baseline() {
    let server = TestServer::start();
    let url = server.url("/en/privacy");
    let bot = Bot::new(&url);
    let (first, second) = two_real_versions();
    server.set_route("/en/privacy", vec![Reply::html(&corpus::x_page(&first))]);
    assert!(bot.check().starts_with("p: new version 1"));

    // A mis-decoded page four times the policy's length (a page showing
    // four language versions, all garbled): a failure. Were it the
    // baseline, the real page after it (a quarter of its length, below the
    // 30% soft-error ratio) would be a soft error and the change lost.
    let fourfold = corpus::x_page(&[first.as_str(); 4].join("\n\n"));
    server.set_route("/en/privacy", vec![declared_latin1(&fourfold)]);
    let out = bot.check();
    assert!(out.starts_with("p: failed (bad_encoding)"), "{out}");
    bot.assert_recorded("the garbled page", 1, false);

    server.set_route("/en/privacy", vec![Reply::html(&corpus::x_page(&second))]);
    let out = bot.check();
    assert!(out.starts_with("p: new version 2"), "{out}");
    bot.assert_recorded("the real change", 2, true);
}

#[test]
fn extract_refuses_a_pdf_file_named_html() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, _) = two_real_versions();
    let pdf = dir.path().join("privacy.html");
    std::fs::write(&pdf, policy_pdf(&first)).expect("write the PDF");
    let out = Command::new(env!("CARGO_BIN_EXE_clausewatch"))
        .args(["extract", "--select", "#twtr-main"])
        .arg(&pdf)
        .output()
        .expect("run clausewatch extract");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unexpected_content"), "{stderr}");
    assert!(
        stderr.contains("privacy.html"),
        "the error names the file: {stderr}"
    );
}

/// A French privacy policy, as a site's French locale would serve it.
fn french_policy() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/pipeline/content/testdata/privacy-policy-fr.md"
    );
    std::fs::read_to_string(path).expect("French fixture")
}

#[test]
fn a_language_flip_english_french_english_records_a_failure_and_no_version() {
    let server = TestServer::start();
    let url = server.url("/en/privacy");
    let (first, _) = two_real_versions();
    let english = corpus::x_page(&first);
    // The page template keeps `lang="en"`: the words are what counts.
    let french = corpus::x_page(&french_policy());
    // Without a configured language the first good version's is kept; with
    // one, even a first version must be in it.
    for extra in ["", "language = \"en\""] {
        let bot = Bot::with(&url, extra);
        server.set_route("/en/privacy", vec![Reply::html(&english)]);
        assert!(bot.check().starts_with("p: new version 1"), "{extra}");

        server.set_route("/en/privacy", vec![Reply::html(&french)]);
        let out = bot.check();
        assert!(
            out.starts_with(&format!("p: failed (wrong_language): {url}")),
            "{extra}: {out}"
        );
        let doc = bot.assert_recorded("the French page", 1, false);
        assert_eq!(doc["last_error_class"], "wrong_language", "{doc}");
        assert!(
            doc["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("in fr, not in the document's language en")),
            "{doc}"
        );

        server.set_route("/en/privacy", vec![Reply::html(&english)]);
        let out = bot.check();
        assert!(out.starts_with("p: unchanged"), "{extra}: {out}");
        let doc = bot.assert_recorded("English again", 1, false);
        assert_eq!(doc["consecutive_failures"], 0, "{doc}");
    }

    let configured = Bot::with(&url, "language = \"en\"");
    server.set_route("/en/privacy", vec![Reply::html(&french)]);
    let out = configured.check();
    assert!(out.starts_with("p: failed (wrong_language)"), "{out}");
    configured.assert_recorded("a French first page", 0, false);
}
