//! The fetcher against a real HTTP server on 127.0.0.1 (tests/common/server.rs).

mod common;

use std::time::{Duration, Instant};

use clausewatch::pipeline::fetch::{
    Conditional, FetchError, FetchReport, FetchSettings, Fetched, Fetcher, Page,
};
use common::server::{Reply, TestServer};
use url::Url;

const USER_AGENT: &str = "clausewatch-test/0.1 (+https://example.org/contact)";
const LIMIT: u64 = 10 * 1024;

/// Small timeouts and backoffs keep the suite fast; per-host delay is off except in the
/// test about it.
fn settings() -> FetchSettings {
    FetchSettings {
        user_agent: USER_AGENT.to_string(),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        max_redirects: 3,
        max_body_bytes: LIMIT,
        retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_secs(3),
        per_host_delay: Duration::ZERO,
        max_concurrent: 4,
        allow_cross_host_redirects: false,
        // The test server is on 127.0.0.1.
        allow_private_addresses: true,
    }
}

fn fetcher_with(settings: FetchSettings) -> Fetcher {
    Fetcher::new(settings).expect("build fetcher")
}

async fn get(fetcher: &Fetcher, url: &str) -> FetchReport {
    get_if(fetcher, url, &Conditional::default()).await
}

async fn get_if(fetcher: &Fetcher, url: &str, cond: &Conditional) -> FetchReport {
    let url = Url::parse(url).expect("test URL");
    fetcher.fetch(&url, cond).await
}

fn page(report: &FetchReport) -> &Page {
    match &report.result {
        Ok(Fetched::Page(page)) => page,
        other => panic!("expected a page, got {other:?}"),
    }
}

fn error(report: &FetchReport) -> &FetchError {
    match &report.result {
        Err(error) => error,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/src/pipeline/fetch/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[tokio::test]
async fn plain_page_is_fetched_with_configured_user_agent() {
    let server = TestServer::start();
    server.set_route(
        "/privacy",
        vec![Reply::html("<h1>Privacy</h1><p>We collect data.</p>")],
    );
    let report = get(&fetcher_with(settings()), &server.url("/privacy")).await;

    let page = page(&report);
    assert_eq!(page.status, 200);
    assert_eq!(page.text, "<h1>Privacy</h1><p>We collect data.</p>");
    assert_eq!(page.body.len() as u64, report.bytes);
    assert_eq!(page.encoding, "UTF-8");
    assert_eq!(
        page.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.final_url.as_str(), server.url("/privacy"));
    assert_eq!((report.attempts, report.status), (1, Some(200)));

    let requests = server.requests_to("/privacy");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].header("user-agent"), Some(USER_AGENT));
    assert_eq!(requests[0].header("if-none-match"), None);
}

#[tokio::test]
async fn etag_round_trip_yields_not_modified() {
    let server = TestServer::start();
    server.set_route(
        "/terms",
        vec![Reply::html("<p>terms v1</p>").etag("\"v1\"")],
    );
    let fetcher = fetcher_with(settings());

    let first = get(&fetcher, &server.url("/terms")).await;
    let etag = page(&first).etag.clone();
    assert_eq!(etag.as_deref(), Some("\"v1\""));

    let cond = Conditional {
        etag,
        last_modified: None,
    };
    let second = get_if(&fetcher, &server.url("/terms"), &cond).await;
    assert!(
        matches!(second.result, Ok(Fetched::NotModified)),
        "{second:?}"
    );
    assert_eq!((second.status, second.bytes), (Some(304), 0));
    let requests = server.requests_to("/terms");
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));

    // A changed ETag on the server means a full page again.
    server.set_route(
        "/terms",
        vec![Reply::html("<p>terms v2</p>").etag("\"v2\"")],
    );
    let third = get_if(&fetcher, &server.url("/terms"), &cond).await;
    assert_eq!(page(&third).text, "<p>terms v2</p>");
}

#[tokio::test]
async fn last_modified_round_trip_yields_not_modified() {
    let date = "Wed, 21 Oct 2015 07:28:00 GMT";
    let server = TestServer::start();
    server.set_route(
        "/policy",
        vec![Reply::html("<p>policy</p>").last_modified(date)],
    );
    let fetcher = fetcher_with(settings());

    let first = get(&fetcher, &server.url("/policy")).await;
    let cond = Conditional {
        etag: None,
        last_modified: page(&first).last_modified.clone(),
    };
    assert_eq!(cond.last_modified.as_deref(), Some(date));
    let second = get_if(&fetcher, &server.url("/policy"), &cond).await;
    assert!(
        matches!(second.result, Ok(Fetched::NotModified)),
        "{second:?}"
    );
    assert_eq!(
        server.requests_to("/policy")[1].header("if-modified-since"),
        Some(date)
    );
}

#[tokio::test]
async fn iso_8859_1_header_decodes_as_windows_1252() {
    let server = TestServer::start();
    server.set_route(
        "/latin1",
        vec![Reply::ok(&b"<p>Caf\xe9 \x92quoted\x92</p>"[..])
            .header("Content-Type", "text/html; charset=ISO-8859-1")],
    );
    let report = get(&fetcher_with(settings()), &server.url("/latin1")).await;
    let page = page(&report);
    assert_eq!(page.encoding, "windows-1252");
    assert_eq!(page.text, "<p>Café ’quoted’</p>");
}

#[tokio::test]
async fn meta_charset_is_used_when_header_has_none() {
    let server = TestServer::start();
    server.set_route(
        "/meta",
        vec![Reply::ok(fixture("windows-1252-meta-charset.html"))
            .header("Content-Type", "text/html")],
    );
    server.set_route(
        "/late-meta",
        vec![Reply::ok(fixture("iso-8859-1-meta-after-1024.html"))
            .header("Content-Type", "text/html")],
    );
    let fetcher = fetcher_with(settings());

    let report = get(&fetcher, &server.url("/meta")).await;
    assert_eq!(page(&report).encoding, "windows-1252");
    assert!(page(&report).text.contains("We don’t sell your données."));

    let report = get(&fetcher, &server.url("/late-meta")).await;
    assert_eq!(page(&report).encoding, "windows-1252");
    assert!(page(&report)
        .text
        .contains("<title>Données personnelles</title>"));
}

#[tokio::test]
async fn utf8_bom_beats_a_wrong_header() {
    let server = TestServer::start();
    server.set_route(
        "/bom",
        vec![Reply::ok(&b"\xef\xbb\xbf<p>na\xc3\xafve</p>"[..])
            .header("Content-Type", "text/html; charset=iso-8859-1")],
    );
    let report = get(&fetcher_with(settings()), &server.url("/bom")).await;
    assert_eq!(page(&report).encoding, "UTF-8");
    assert_eq!(page(&report).text, "<p>naïve</p>");
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let server = TestServer::start();
    server.set_route("/down", vec![Reply::status(500)]);
    let report = get(&fetcher_with(settings()), &server.url("/down")).await;

    let error = error(&report);
    assert!(
        matches!(error, FetchError::Status { status: 500, .. }),
        "{error:?}"
    );
    assert_eq!(error.class().as_str(), "http_server");
    assert_eq!(report.attempts, 3);
    assert_eq!(server.hits("/down"), 3, "retries + 1 requests");
    assert_eq!(report.status, Some(500));
}

#[tokio::test]
async fn service_unavailable_then_ok_succeeds_on_second_attempt() {
    let server = TestServer::start();
    server.set_route(
        "/flaky",
        vec![Reply::status(503), Reply::html("<p>back</p>")],
    );
    let report = get(&fetcher_with(settings()), &server.url("/flaky")).await;
    assert_eq!(page(&report).text, "<p>back</p>");
    assert_eq!(report.attempts, 2);
    assert_eq!(server.hits("/flaky"), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let server = TestServer::start();
    server.set_route(
        "/busy",
        vec![
            Reply::status(429).header("Retry-After", "1"),
            Reply::html("<p>ok</p>"),
        ],
    );
    let start = Instant::now();
    let report = get(&fetcher_with(settings()), &server.url("/busy")).await;
    let elapsed = start.elapsed();
    assert_eq!(page(&report).text, "<p>ok</p>");
    assert_eq!(report.attempts, 2);
    assert!(
        elapsed >= Duration::from_millis(950),
        "waited only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "waited {elapsed:?}");
    let requests = server.requests_to("/busy");
    let gap = requests[1].received - requests[0].received;
    assert!(
        gap >= Duration::from_millis(950),
        "server saw a gap of {gap:?}"
    );
}

#[tokio::test]
async fn rate_limit_error_class_after_exhausted_retries() {
    let server = TestServer::start();
    server.set_route("/limited", vec![Reply::status(429)]);
    let settings = FetchSettings {
        retries: 1,
        ..settings()
    };
    let report = get(&fetcher_with(settings), &server.url("/limited")).await;
    assert_eq!(error(&report).class().as_str(), "rate_limited");
    assert_eq!(server.hits("/limited"), 2);
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let server = TestServer::start();
    server.set_route("/gone", vec![Reply::status(404)]);
    let report = get(&fetcher_with(settings()), &server.url("/gone")).await;
    assert_eq!(error(&report).class().as_str(), "http_not_found");
    assert_eq!((report.attempts, report.status), (1, Some(404)));
    assert_eq!(server.hits("/gone"), 1);
}

#[tokio::test]
async fn forbidden_is_a_client_error_and_not_retried() {
    let server = TestServer::start();
    server.set_route("/forbidden", vec![Reply::status(403)]);
    let report = get(&fetcher_with(settings()), &server.url("/forbidden")).await;
    assert_eq!(error(&report).class().as_str(), "http_client");
    assert_eq!(server.hits("/forbidden"), 1);
}

#[tokio::test]
async fn oversized_body_is_refused_with_and_without_content_length() {
    let big = vec![b'a'; 20 * 1024];
    let server = TestServer::start();
    server.set_route("/announced", vec![Reply::ok(big.clone())]);
    server.set_route("/streamed", vec![Reply::ok(big).without_content_length()]);
    let fetcher = fetcher_with(settings());

    for path in ["/announced", "/streamed"] {
        let report = get(&fetcher, &server.url(path)).await;
        let error = error(&report);
        assert!(
            matches!(error, FetchError::TooLarge { limit: LIMIT, .. }),
            "{path}: {error:?}"
        );
        assert_eq!(error.class().as_str(), "too_large");
        assert_eq!(server.hits(path), 1, "{path} must not be retried");
    }
    // The announced length is refused before reading anything.
    assert_eq!(get(&fetcher, &server.url("/announced")).await.bytes, 0);
}

#[tokio::test]
async fn body_at_the_limit_is_accepted_without_content_length() {
    let server = TestServer::start();
    server.set_route(
        "/exact",
        vec![Reply::ok(vec![b'x'; LIMIT as usize]).without_content_length()],
    );
    let report = get(&fetcher_with(settings()), &server.url("/exact")).await;
    assert_eq!(page(&report).body.len() as u64, LIMIT);
}

#[tokio::test]
async fn slow_headers_time_out() {
    let server = TestServer::start();
    server.set_route(
        "/slow",
        vec![Reply::html("late").delay(Duration::from_secs(3))],
    );
    let settings = FetchSettings {
        timeout: Duration::from_millis(300),
        retries: 1,
        ..settings()
    };
    let start = Instant::now();
    let report = get(&fetcher_with(settings), &server.url("/slow")).await;
    assert!(
        matches!(error(&report), FetchError::Timeout { .. }),
        "{report:?}"
    );
    assert_eq!(error(&report).class().as_str(), "timeout");
    assert_eq!(report.attempts, 2, "timeouts are retried");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn slow_body_times_out() {
    let server = TestServer::start();
    server.set_route(
        "/trickle",
        vec![Reply::ok(vec![b'z'; 2000]).slow_body(100, Duration::from_millis(100))],
    );
    let settings = FetchSettings {
        timeout: Duration::from_millis(400),
        retries: 0,
        ..settings()
    };
    let report = get(&fetcher_with(settings), &server.url("/trickle")).await;
    assert!(
        matches!(error(&report), FetchError::Timeout { .. }),
        "{report:?}"
    );
    assert!(
        report.bytes > 0 && report.bytes < 2000,
        "partial body: {}",
        report.bytes
    );
}

/// Installs /hop0 → /hop1 → ... → /hop{n} which serves a page.
fn redirect_chain(server: &TestServer, n: usize) {
    for i in 0..n {
        server.set_route(
            &format!("/hop{i}"),
            vec![Reply::redirect(302, &format!("/hop{}", i + 1))],
        );
    }
    server.set_route(&format!("/hop{n}"), vec![Reply::html("arrived")]);
}

#[tokio::test]
async fn redirects_within_the_limit_are_followed() {
    let server = TestServer::start();
    redirect_chain(&server, 3);
    let report = get(&fetcher_with(settings()), &server.url("/hop0")).await;
    assert_eq!(page(&report).text, "arrived");
    assert_eq!(page(&report).final_url.as_str(), server.url("/hop3"));
}

#[tokio::test]
async fn too_many_redirects_are_refused() {
    let server = TestServer::start();
    redirect_chain(&server, 4);
    let report = get(&fetcher_with(settings()), &server.url("/hop0")).await;
    let error = error(&report);
    assert!(
        matches!(error, FetchError::TooManyRedirects { max: 3, .. }),
        "{error:?}"
    );
    assert_eq!(error.class().as_str(), "redirect");
    assert_eq!(server.hits("/hop4"), 0);
    assert_eq!(server.hits("/hop0"), 1, "redirect errors are not retried");
}

#[tokio::test]
async fn redirect_to_another_host_is_refused() {
    let server = TestServer::start();
    let elsewhere = server.url_with_host("localhost", "/target");
    server.set_route("/moved", vec![Reply::redirect(301, &elsewhere)]);
    server.set_route("/target", vec![Reply::html("other site")]);
    let report = get(&fetcher_with(settings()), &server.url("/moved")).await;
    match error(&report) {
        FetchError::CrossHostRedirect { from, to } => {
            assert_eq!(from.as_str(), server.url("/moved"));
            assert_eq!(to.as_str(), elsewhere);
        }
        other => panic!("expected CrossHostRedirect, got {other:?}"),
    }
    assert_eq!(server.hits("/target"), 0);
}

#[tokio::test]
async fn same_host_requests_are_serialized_and_spaced() {
    let delay = Duration::from_millis(300);
    let server = TestServer::start();
    server.set_route(
        "/a",
        vec![Reply::html("a").delay(Duration::from_millis(150))],
    );
    server.set_route(
        "/b",
        vec![Reply::html("b").delay(Duration::from_millis(150))],
    );
    let fetcher = fetcher_with(FetchSettings {
        per_host_delay: delay,
        ..settings()
    });
    let (url_a, url_b) = (server.url("/a"), server.url("/b"));
    let (a, b) = tokio::join!(get(&fetcher, &url_a), get(&fetcher, &url_b));
    page(&a);
    page(&b);

    let mut requests = server.requests();
    requests.sort_by_key(|r| r.received);
    assert_eq!(requests.len(), 2);
    let first_done = requests[0].finished.expect("first response completed");
    assert!(
        requests[1].received >= first_done,
        "requests overlapped on the server"
    );
    let gap = requests[1].received - first_done;
    assert!(
        gap >= delay,
        "second request only {gap:?} after the first finished"
    );
}

/// The settings a `bot.toml` without `allow_private_addresses` gives.
fn public_only() -> FetchSettings {
    FetchSettings {
        allow_private_addresses: false,
        ..settings()
    }
}

#[tokio::test]
async fn default_settings_fetch_only_a_loopback_address_written_in_the_url() {
    assert!(!FetchSettings::default().allow_private_addresses);
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html("<p>served here</p>")]);
    // 127.0.0.1 written in the document URL is the operator's own choice.
    let report = get(&fetcher_with(public_only()), &server.url("/privacy")).await;
    assert_eq!(page(&report).text, "<p>served here</p>");
    // The same server behind a name is refused (see the test below), and so
    // are the other private ranges written literally: no request is sent.
    for literal in [
        "http://10.1.2.3/p",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/p",
    ] {
        let report = get(&fetcher_with(public_only()), literal).await;
        let error = error(&report);
        assert_eq!(error.class().as_str(), "private_address", "{literal}");
        let text = error.to_string();
        assert!(
            text.contains("allow_private_addresses = true") && text.contains("[defaults]"),
            "{text}"
        );
        assert_eq!(report.attempts, 0, "{literal}: nothing was sent");
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_at_resolution() {
    let server = TestServer::start();
    server.set_route("/privacy", vec![Reply::html("<p>internal</p>")]);
    // `localhost` is a name, not a literal: only the resolver can see where it leads.
    let url = server.url_with_host("localhost", "/privacy");
    let report = get(&fetcher_with(public_only()), &url).await;
    let error = error(&report);
    assert!(
        matches!(error, FetchError::PrivateAddress { host, .. } if host == "localhost"),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("localhost resolves to") && text.contains("allow_private_addresses"),
        "{text}"
    );
    assert_eq!(report.attempts, 1, "a refusal is not retried");
    assert!(server.requests().is_empty(), "a request reached the server");

    // The same URL is fetched once the operator allows it.
    let allowed = get(&fetcher_with(settings()), &url).await;
    assert_eq!(page(&allowed).text, "<p>internal</p>");
}

#[tokio::test]
async fn redirect_to_another_port_of_the_same_host_is_refused() {
    let server = TestServer::start();
    let other = TestServer::start();
    other.set_route("/target", vec![Reply::html("another server")]);
    server.set_route("/moved", vec![Reply::redirect(302, &other.url("/target"))]);
    let report = get(&fetcher_with(settings()), &server.url("/moved")).await;
    match error(&report) {
        FetchError::CrossHostRedirect { from, to } => {
            assert_eq!(from.as_str(), server.url("/moved"));
            assert_eq!(to.as_str(), other.url("/target"));
        }
        other => panic!("expected CrossHostRedirect, got {other:?}"),
    }
    assert_eq!(other.hits("/target"), 0);

    // allow_cross_host_redirects lets it through.
    let fetcher = fetcher_with(FetchSettings {
        allow_cross_host_redirects: true,
        ..settings()
    });
    let report = get(&fetcher, &server.url("/moved")).await;
    assert_eq!(page(&report).text, "another server");
}

#[tokio::test]
async fn credentials_in_the_url_are_sent_but_never_shown() {
    let server = TestServer::start();
    server.set_route("/ok", vec![Reply::html("<p>members only</p>")]);
    server.set_route("/denied", vec![Reply::status(403)]);
    // A Location with credentials of its own.
    let elsewhere =
        server
            .url_with_host("localhost", "/x")
            .replacen("http://", "http://other:s3cret-too@", 1);
    server.set_route("/away", vec![Reply::redirect(302, &elsewhere)]);
    let with_credentials = |path: &str| {
        server
            .url(path)
            .replacen("http://", "http://watcher:s3cret-pw@", 1)
    };
    let fetcher = fetcher_with(FetchSettings {
        retries: 0,
        ..settings()
    });
    let shown = |report: &FetchReport| format!("{report:?} {}", report.url);

    // Sent as basic auth (watcher:s3cret-pw), never echoed.
    let ok = get(&fetcher, &with_credentials("/ok")).await;
    assert_eq!(page(&ok).text, "<p>members only</p>");
    assert_eq!(
        server.requests_to("/ok")[0].header("authorization"),
        Some("Basic d2F0Y2hlcjpzM2NyZXQtcHc=")
    );
    assert!(!page(&ok).final_url.as_str().contains("s3cret"));
    assert_eq!(
        ok.url.as_str(),
        server.url("/ok").replacen("http://", "http://***@", 1)
    );

    let denied = get(&fetcher, &with_credentials("/denied")).await;
    let text = error(&denied).to_string();
    assert!(text.contains("***@127.0.0.1"), "{text}");
    assert!(
        !text.contains("s3cret") && !text.contains("watcher"),
        "{text}"
    );
    assert!(!shown(&denied).contains("s3cret"), "{}", shown(&denied));

    let away = get(&fetcher, &with_credentials("/away")).await;
    let error_away = error(&away);
    assert_eq!(error_away.class().as_str(), "redirect", "{error_away:?}");
    let text = format!("{error_away} {}", shown(&away));
    assert!(text.contains("localhost"), "{text}");
    assert!(
        !text.contains("s3cret") && !text.contains("watcher") && !text.contains("other:"),
        "{text}"
    );

    // A connection error: reqwest's own message quotes the URL it tried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://watcher:s3cret-pw@127.0.0.1:{port}/p");
    let report = get(&fetcher, &closed).await;
    let error = error(&report);
    assert_eq!(error.class().as_str(), "network", "{error:?}");
    let text = format!("{error} {error:?}");
    assert!(text.contains(&format!("***@127.0.0.1:{port}")), "{text}");
    assert!(
        !text.contains("s3cret") && !text.contains("watcher"),
        "{text}"
    );
}
