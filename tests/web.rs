//! The web pages, feeds and `/api/…` of the real daemon: `clausewatch run`
//! with `[http] listen` and `public_url`, watching a loopback page that
//! serves X's privacy policy of 2023-08-24, then of 2023-09-29 (which adds
//! the biometric clause), then a version with `<script>` as visible text.
//! The feed is read by a real feed parser (`feed-rs`) and the diff page is
//! rendered by headless Chromium, which writes screenshots under
//! `target/web-artefacts/`.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::corpus;
use common::server::{Reply, TestServer};
use common::{bin, free_port, wait_until};
use scraper::{Html, Selector};
use serde_json::Value;
use url::Url;

const DOC: &str = "x-privacy";
const SCRIPT: &str = "<script>alert('x')</script>";

/// An answer as the test reads it: status, headers (lowercase names), body.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// A minimal HTTP/1.1 GET of `url` (on 127.0.0.1) with extra headers.
fn get_with(url: &Url, extra: &[(&str, &str)]) -> Option<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", url.port()?)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: body.to_string(),
    })
}

fn get(url: &Url) -> Answer {
    get_with(url, &[]).unwrap_or_else(|| panic!("GET {url} got no answer"))
}

fn page(url: &Url) -> Html {
    let a = get(url);
    assert_eq!(a.status, 200, "GET {url}: {}", a.body);
    assert!(
        a.header("content-type").starts_with("text/html"),
        "GET {url}: {:?}",
        a.headers
    );
    Html::parse_document(&a.body)
}

fn texts(doc: &Html, css: &str) -> Vec<String> {
    doc.select(&Selector::parse(css).unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

fn hrefs(doc: &Html) -> Vec<String> {
    doc.select(&Selector::parse("a[href]").unwrap())
        .filter_map(|e| e.value().attr("href").map(String::from))
        .collect()
}

fn x_page(file: &str) -> String {
    corpus::x_page(&corpus::markdown("twitter/privacy-policy", file))
}

/// Version 3: version 2 with a paragraph quoting a script tag as text (the
/// Markdown escapes make it `&lt;script&gt;` in the page's HTML).
fn page_with_script_text() -> String {
    let mut md = corpus::markdown("twitter/privacy-policy", "2023-09-29T231259Z.md");
    md.push_str("\n\nTo test your browser, type \\<script>alert('x')\\</script> in the box.\n");
    corpus::x_page(&md)
}

fn write_config(
    dir: &Path,
    server: &TestServer,
    port: u16,
    public: &Url,
    more_http: &str,
) -> PathBuf {
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
listen = "127.0.0.1:{port}"
public_url = "{public}"
{more_http}
[[documents]]
id = "{DOC}"
name = "Privacy Policy"
service = "X"
url = "{}"
select = "main"
schedule = "*/1 * * * * *"
"#,
        server.url("/privacy"),
    );
    let path = dir.join("bot.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A loopback page serving X's policy of 2023-08-24 and a config watching
/// it, with the listener's `public_url` at `prefix`.
struct Setup {
    server: TestServer,
    dir: tempfile::TempDir,
    base: Url,
    config: PathBuf,
}

fn setup(prefix: &str, more_http: &str) -> Setup {
    let server = TestServer::start();
    server.set_route(
        "/privacy",
        vec![Reply::html(&x_page("2023-08-24T095329Z.md"))],
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = Url::parse(&format!("http://127.0.0.1:{port}{prefix}")).unwrap();
    let config = write_config(dir.path(), &server, port, &base, more_http);
    Setup {
        server,
        dir,
        base,
        config,
    }
}

struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(dir: &Path, config: &Path) -> Daemon {
        Daemon {
            child: bin()
                .args(["run", "--config"])
                .arg(config)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
                .spawn()
                .unwrap(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Versions in the API's history. Polled at the rate limit's refill rate,
/// so that waiting never spends the test's allowance.
fn versions_seen(base: &Url) -> usize {
    std::thread::sleep(Duration::from_millis(200));
    let url = base.join(&format!("api/documents/{DOC}/history")).unwrap();
    get_with(&url, &[])
        .filter(|a| a.status == 200)
        .and_then(|a| serde_json::from_str::<Value>(&a.body).ok())
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

fn cli_json(config: &Path, args: &[&str]) -> Value {
    let out = bin()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clausewatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("clausewatch {args:?}: {e}"))
}

/// The Chromium to drive: `CHROMIUM`, else one on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    })
}

/// Runs headless Chromium with a fresh profile and the flags that keep it
/// off the network (it must only reach 127.0.0.1); returns its stdout.
fn run_chromium(chromium: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        chromium.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a person sees: the diff page rendered by a real browser.
fn browser_checks(diff: &Url, document: &Url) {
    let Some(chromium) = chromium() else {
        let why = "no Chromium: set CHROMIUM or put chromium on PATH (.ci/run installs Debian's chromium)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipping the browser checks: {why}");
        return;
    };
    let dom = run_chromium(&chromium, &["--dump-dom".to_string(), diff.to_string()]);
    let rendered = Html::parse_document(&dom);
    let inserted = texts(&rendered, "ins");
    assert!(
        inserted.iter().any(|t| t.contains("Biometric Information")),
        "the rendered diff page has no <ins> with the biometric clause: {inserted:?}"
    );
    let dir = artefacts();
    for (name, url, height) in [
        ("diff-page.png", diff, 2400),
        ("document-page.png", document, 900),
    ] {
        let file = dir.join(name);
        let _ = std::fs::remove_file(&file);
        run_chromium(
            &chromium,
            &[
                format!("--screenshot={}", file.display()),
                format!("--window-size=420,{height}"),
                url.to_string(),
            ],
        );
        let png = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name} is not a real screenshot ({} bytes)",
            png.len()
        );
        eprintln!("screenshot: {}", file.display());
    }
}

#[test]
fn daemon_serves_diff_pages_feeds_and_api_from_the_store() {
    // The daemon is reached at its listener, as a proxy would reach it.
    let Setup {
        server,
        dir,
        base,
        config,
    } = setup("/", "");
    let _daemon = Daemon::start(dir.path(), &config);
    let timeout = Duration::from_secs(60);
    wait_until("version 1", timeout, || {
        (versions_seen(&base) == 1).then_some(())
    });
    server.set_route(
        "/privacy",
        vec![Reply::html(&x_page("2023-09-29T231259Z.md"))],
    );
    wait_until("version 2", timeout, || {
        (versions_seen(&base) == 2).then_some(())
    });
    server.set_route("/privacy", vec![Reply::html(&page_with_script_text())]);
    wait_until("version 3", timeout, || {
        (versions_seen(&base) == 3).then_some(())
    });

    // The thread of version 2 and the page its link is made with.
    let outbox = cli_json(&config, &["outbox", "--format", "json"]);
    let thread = outbox
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["version"] == 2)
        .unwrap_or_else(|| panic!("no thread for version 2: {outbox}"));
    assert_eq!(thread["document"], DOC);
    let diff_url = clausewatch::links::change(&base, DOC, 2);
    // The thread links to that page: in post 1 and, the thread being
    // capped, in its last post, which points to where the rest is.
    let posts = thread["posts"].as_array().expect("posts");
    let linking: Vec<usize> = posts
        .iter()
        .enumerate()
        .filter(|(_, p)| p["text"].as_str().unwrap_or("").contains(diff_url.as_str()))
        .map(|(i, _)| i)
        .collect();
    assert!(
        linking.first() == Some(&0) && linking.last() == Some(&(posts.len() - 1)),
        "posts linking {diff_url}: {linking:?} of {}: {thread}",
        posts.len()
    );
    let diff = page(&diff_url);
    let inserted = texts(&diff, "ins");
    assert!(
        inserted.iter().any(|t| t.contains(
            "Biometric Information. Based on your consent, we may collect and use your biometric information"
        )),
        "{inserted:?}"
    );
    assert!(
        hrefs(&diff).contains(&server.url("/privacy")),
        "no link to the policy page"
    );
    let next = clausewatch::links::change(&base, DOC, 3).to_string();
    assert!(hrefs(&diff).contains(&next), "no link to the next change");
    assert!(texts(&diff, "h1")[0].contains("what version 2 changed"));

    // Home → document page → versions 1, 2 and 3.
    let home = page(&clausewatch::links::home(&base));
    let doc_url = clausewatch::links::document(&base, DOC);
    assert!(
        hrefs(&home).contains(&doc_url.to_string()),
        "{:?}",
        hrefs(&home)
    );
    let doc_page = page(&doc_url);
    for n in 1..=3 {
        let v = clausewatch::links::version(&base, DOC, n).to_string();
        assert!(hrefs(&doc_page).contains(&v), "no link to version {n}");
    }
    let rows = texts(&doc_page, "tbody tr");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].starts_with("Version 3"), "newest first: {rows:?}");
    assert!(rows[2].contains("First version seen"), "{rows:?}");

    // Policy text holding a script tag is shown as text, never run.
    for url in [
        clausewatch::links::version(&base, DOC, 3),
        clausewatch::links::change(&base, DOC, 3),
    ] {
        let raw = get(&url);
        assert!(!raw.body.contains(SCRIPT), "{url} has the script unescaped");
        assert!(
            raw.body.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
            "{url} does not show the script as text"
        );
        let html = Html::parse_document(&raw.body);
        assert!(texts(&html, "script").is_empty(), "{url} has a <script>");
        assert!(texts(&html, "body")[0].contains(SCRIPT));
        let csp = raw.header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(raw.header("x-content-type-options"), "nosniff");
        assert_eq!(raw.header("referrer-policy"), "no-referrer");
    }
    let v3 = page(&clausewatch::links::change(&base, DOC, 3));
    assert!(texts(&v3, "ins").iter().any(|t| t.contains(SCRIPT)));

    // Any two versions: 1 → 3 has both insertions.
    let mut span = clausewatch::links::change(&base, DOC, 3);
    span.set_query(Some("from=1"));
    let both = texts(&page(&span), "ins").join("\n");
    assert!(both.contains("Biometric Information") && both.contains(SCRIPT));
    span.set_query(Some("from=abc"));
    let bad = get(&span);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("from=&quot;abc&quot;"), "{}", bad.body);

    // The search gives the `when` answer.
    let mut search = base.join("search").unwrap();
    search.set_query(Some(&format!("doc={DOC}&q=biometric+information")));
    let answer = texts(&page(&search), "section p").join("\n");
    assert!(
        answer.contains("\"biometric information\" first appeared in x-privacy on")
            && answer.contains("(v2)"),
        "{answer}"
    );

    // The feed: Atom, an entry per announced change linking to its page,
    // 304 to its own validators.
    let feed_url = clausewatch::links::feed(&base);
    let feed = get(&feed_url);
    assert_eq!(feed.status, 200);
    assert!(feed
        .header("content-type")
        .starts_with("application/atom+xml"));
    let parsed = feed_rs::parser::parse(feed.body.as_bytes()).expect("the feed parses");
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(parsed.entries.len(), 2, "versions 2 and 3");
    let entry = parsed
        .entries
        .iter()
        .find(|e| e.links.iter().any(|l| l.href == diff_url.as_str()))
        .expect("an entry links to the diff page of version 2");
    let content = entry.content.as_ref().and_then(|c| c.body.clone()).unwrap();
    assert!(content.contains("<ins>Biometric Information."), "{content}");
    let etag = feed.header("etag").to_string();
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(
        get_with(&feed_url, &[("If-None-Match", &etag)])
            .unwrap()
            .status,
        304
    );
    let modified = feed.header("last-modified").to_string();
    assert_eq!(
        get_with(&feed_url, &[("If-Modified-Since", &modified)])
            .unwrap()
            .status,
        304
    );
    assert_eq!(
        get_with(&feed_url, &[("If-None-Match", "\"stale\"")])
            .unwrap()
            .status,
        200
    );
    let per_doc = get(&clausewatch::links::document_feed(&base, DOC));
    let per_doc = feed_rs::parser::parse(per_doc.body.as_bytes()).unwrap();
    assert_eq!(per_doc.entries.len(), 2);

    // The API says what the CLI says.
    let api = |path: &str| -> Value {
        let a = get(&base.join(path).unwrap());
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        serde_json::from_str(&a.body).unwrap()
    };
    assert_eq!(
        api(&format!("api/documents/{DOC}/history")),
        cli_json(&config, &["history", DOC, "--format", "json"])
    );
    assert_eq!(
        api(&format!("api/documents/{DOC}/versions/2")),
        cli_json(&config, &["show", DOC, "2", "--format", "json"])
    );
    assert_eq!(
        api(&format!("api/documents/{DOC}/changes/2")),
        cli_json(
            &config,
            &[
                "diff",
                &format!("{DOC}@1"),
                &format!("{DOC}@2"),
                "--format",
                "json"
            ]
        )
    );
    assert_eq!(api("api/documents")["documents"][0]["versions"], 3);
    let missing = get(&base.join("api/documents/nope/history").unwrap());
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains(r#"\"nope\""#), "{}", missing.body);

    browser_checks(&diff_url, &doc_url);
}

#[test]
fn metrics_stay_on_the_private_listener_and_each_client_is_rate_limited() {
    let private = free_port();
    let inside = Url::parse(&format!("http://127.0.0.1:{private}/")).unwrap();
    // A public_url with a path prefix, as behind a proxy that keeps it.
    let Setup {
        server: _server,
        dir,
        base,
        config,
    } = setup(
        "/watch/",
        &format!("metrics_listen = \"127.0.0.1:{private}\""),
    );
    let _daemon = Daemon::start(dir.path(), &config);
    wait_until("version 1", Duration::from_secs(60), || {
        (versions_seen(&base) == 1).then_some(())
    });
    let metrics = get(&inside.join("metrics").unwrap());
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("clausewatch_checks_total"),
        "{}",
        metrics.body
    );
    assert_eq!(get(&base.join("/metrics").unwrap()).status, 404);
    let doc = page(&clausewatch::links::document(&base, DOC));
    let v1 = clausewatch::links::version(&base, DOC, 1).to_string();
    assert!(v1.contains("/watch/documents/"), "{v1}");
    assert!(hrefs(&doc).contains(&v1), "{:?}", hrefs(&doc));
    assert_eq!(get(&Url::parse(&v1).unwrap()).status, 200);
    assert_eq!(get(&inside.join("healthz").unwrap()).status, 200);
    assert_eq!(
        get(&inside.join("documents/x-privacy").unwrap()).status,
        404
    );

    // One client past its burst is told to wait; health checks are not
    // counted against it.
    let home = clausewatch::links::home(&base);
    let answers: Vec<Answer> = (0..120).map(|_| get(&home)).collect();
    let limited = answers
        .iter()
        .find(|a| a.status == 429)
        .expect("a client sending 120 requests at once is limited");
    assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(answers.iter().take(50).all(|a| a.status == 200));
    assert_eq!(get(&base.join("/healthz").unwrap()).status, 200);
}

#[test]
fn a_technical_update_is_shown_as_such_and_stays_out_of_the_feed() {
    let Setup {
        server: _server,
        dir,
        base,
        config,
    } = setup("/", "");
    let check = |what: &str| {
        let out = bin()
            .arg("check")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains(what), "expected {what:?}: {text}");
    };
    check("new version");
    // New rules that drop the headings: the same page reads differently.
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("remove = [\"h1\", \"h2\"]\n");
    std::fs::write(&config, toml).unwrap();
    check("technical update");
    let _daemon = Daemon::start(dir.path(), &config);
    wait_until("the listener", Duration::from_secs(60), || {
        (versions_seen(&base) == 1).then_some(())
    });
    let doc = page(&clausewatch::links::document(&base, DOC));
    let row = texts(&doc, "tbody tr").join("\n");
    assert!(
        row.contains("technical") && row.contains("Re-read with new extraction rules"),
        "{row}"
    );
    let feed = get(&clausewatch::links::feed(&base));
    let parsed = feed_rs::parser::parse(feed.body.as_bytes()).unwrap();
    assert!(parsed.entries.is_empty(), "{}", feed.body);
}
