use std::path::{Path, PathBuf};

use super::*;
use crate::pipeline::extract::extract_markdown;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
const TESTDATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/pipeline/classify/testdata"
);

fn fixture(name: &str) -> String {
    let path = Path::new(TESTDATA).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn html_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "text/html; charset=utf-8".into())]
}

/// Every document folder of the corpus with its versions, oldest first
/// (file names are UTC timestamps, so name order is time order).
fn corpus_documents() -> Vec<(String, Vec<PathBuf>)> {
    let mut docs = Vec::new();
    let mut services: Vec<PathBuf> = read_dir_sorted(Path::new(CORPUS))
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    services.sort();
    for service in services {
        for doc in read_dir_sorted(&service).into_iter().filter(|p| p.is_dir()) {
            let versions: Vec<PathBuf> = read_dir_sorted(&doc)
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .collect();
            let name = doc
                .strip_prefix(CORPUS)
                .unwrap_or(&doc)
                .display()
                .to_string();
            docs.push((name, versions));
        }
    }
    assert!(
        docs.len() >= 4,
        "corpus at {CORPUS} has too few documents: {}",
        docs.len()
    );
    docs
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    entries
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn challenge_and_error_fixtures_are_flagged_with_their_class() {
    let cases = [
        ("cloudflare-just-a-moment.html", "blocked"),
        ("cloudflare-attention-required.html", "blocked"),
        ("akamai-access-denied.html", "blocked"),
        ("perimeterx-px-captcha.html", "blocked"),
        ("datadome-captcha.html", "blocked"),
        ("imperva-incapsula-incident.html", "blocked"),
        ("aws-waf-challenge.html", "blocked"),
        ("enable-javascript-spa-shell.html", "blocked"),
        ("x-javascript-not-available.html", "blocked"),
        ("recaptcha-verify-human.html", "blocked"),
        ("hcaptcha-are-you-human.html", "blocked"),
        ("amazon-robot-check.html", "blocked"),
        ("amazon-were-sorry.html", "soft_error"),
        ("soft-404-status-200.html", "soft_error"),
        ("soft-error-french-status-200.html", "soft_error"),
    ];
    // Every fixture on disk is listed, so a new one cannot go untested.
    let on_disk = read_dir_sorted(Path::new(TESTDATA)).len();
    assert_eq!(on_disk, cases.len() + 1, "testdata has unlisted fixtures");
    for (name, class) in cases {
        let problem = inspect_page(200, &html_headers(), &fixture(name));
        let problem = problem.unwrap_or_else(|| panic!("{name} was not flagged"));
        assert_eq!(
            problem.class().as_str(),
            class,
            "{name}: {}",
            problem.reason()
        );
        assert!(!problem.reason().is_empty());
    }
}

#[test]
fn fixtures_name_the_vendor_in_the_reason() {
    let reason = |name| {
        inspect_page(200, &[], &fixture(name))
            .map(|p| p.reason().to_string())
            .unwrap_or_default()
    };
    assert!(reason("cloudflare-just-a-moment.html").contains("Cloudflare"));
    assert!(reason("datadome-captcha.html").contains("DataDome"));
    assert!(reason("perimeterx-px-captcha.html").contains("PerimeterX"));
    assert!(reason("imperva-incapsula-incident.html").contains("Incapsula"));
    assert!(reason("akamai-access-denied.html").contains("Akamai"));
    assert!(reason("aws-waf-challenge.html").contains("AWS WAF"));
    assert!(reason("enable-javascript-spa-shell.html").contains("JavaScript"));
}

#[test]
fn policy_mentioning_captcha_javascript_and_access_is_not_flagged() {
    let page = fixture("policy-mentioning-captcha.html");
    assert_eq!(inspect_page(200, &html_headers(), &page), None);
    assert_eq!(inspect_error_body(403, &page), None);
}

#[test]
fn no_corpus_version_is_flagged_as_a_page() {
    let headers = vec![("content-type".to_string(), "text/markdown".to_string())];
    let mut checked = 0;
    for (doc, versions) in corpus_documents() {
        for path in versions {
            let body = read(&path);
            let problem = inspect_page(200, &headers, &body);
            assert_eq!(problem, None, "{doc}/{}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} corpus versions found");
}

#[test]
fn twitter_html_snapshots_are_not_flagged() {
    let dir = Path::new(CORPUS).join("twitter/privacy-policy/snapshots");
    let snapshots: Vec<PathBuf> = read_dir_sorted(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    assert_eq!(snapshots.len(), 2);
    for path in snapshots {
        let body = read(&path);
        assert_eq!(
            inspect_page(200, &html_headers(), &body),
            None,
            "{}",
            path.display()
        );
        assert_eq!(inspect_error_body(403, &body), None, "{}", path.display());
    }
}

#[test]
fn challenge_headers_block_whatever_the_body() {
    let policy = fixture("policy-mentioning-captcha.html");
    let cf = vec![("CF-Mitigated".to_string(), "challenge".to_string())];
    assert_eq!(
        inspect_page(200, &cf, &policy).map(|p| p.class().as_str()),
        Some("blocked")
    );
    let waf = vec![("x-amzn-waf-action".to_string(), "captcha".to_string())];
    assert_eq!(
        inspect_page(405, &waf, "").map(|p| p.class().as_str()),
        Some("blocked")
    );
    let other = vec![("cf-mitigated".to_string(), "none".to_string())];
    assert_eq!(inspect_page(200, &other, &policy), None);
}

#[test]
fn error_statuses_are_problems_even_with_a_plain_body() {
    let policy = fixture("policy-mentioning-captcha.html");
    assert_eq!(
        inspect_page(429, &[], &policy).map(|p| p.class().as_str()),
        Some("blocked")
    );
    assert_eq!(
        inspect_page(404, &[], &policy).map(|p| p.class().as_str()),
        Some("soft_error")
    );
    assert_eq!(
        inspect_page(500, &[], &policy).map(|p| p.class().as_str()),
        Some("soft_error")
    );
}

#[test]
fn error_bodies_with_a_challenge_are_blocked() {
    for (status, name) in [
        (403, "cloudflare-just-a-moment.html"),
        (503, "cloudflare-just-a-moment.html"),
        (403, "akamai-access-denied.html"),
        (403, "datadome-captcha.html"),
        (429, "perimeterx-px-captcha.html"),
        (406, "imperva-incapsula-incident.html"),
        (405, "aws-waf-challenge.html"),
    ] {
        let problem = inspect_error_body(status, &fixture(name));
        let problem = problem.unwrap_or_else(|| panic!("{status} {name} not flagged"));
        assert_eq!(problem.class().as_str(), "blocked");
        assert!(
            problem.reason().starts_with(&format!("HTTP {status}")),
            "{}",
            problem.reason()
        );
    }
    // A plain server error page says nothing beyond its status.
    let plain = "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>";
    assert_eq!(inspect_error_body(503, plain), None);
    assert_eq!(inspect_error_body(404, ""), None);
}

#[test]
fn empty_page_is_a_soft_error() {
    assert_eq!(
        inspect_page(200, &[], "").map(|p| p.class().as_str()),
        Some("soft_error")
    );
    let shell = "<html><head><title></title><script>boot()</script></head><body><div id=app></div></body></html>";
    assert_eq!(
        inspect_page(200, &[], shell).map(|p| p.class().as_str()),
        Some("soft_error")
    );
}

#[test]
fn extraction_shrunk_below_the_ratio_is_a_soft_error() {
    let text = "x".repeat(200);
    let shrunk = inspect_extraction(2_000, &text, Some(10_000), DEFAULT_MIN_RATIO);
    assert_eq!(
        shrunk.as_ref().map(|p| p.class().as_str()),
        Some("soft_error")
    );
    assert!(shrunk.is_some_and(|p| p.reason().contains("20%")));
    assert_eq!(
        inspect_extraction(6_000, &text, Some(10_000), DEFAULT_MIN_RATIO),
        None
    );
    // Growth is never shrinking, and without history there is nothing to compare.
    assert_eq!(
        inspect_extraction(20_000, &text, Some(10_000), DEFAULT_MIN_RATIO),
        None
    );
    assert_eq!(
        inspect_extraction(2_000, &text, None, DEFAULT_MIN_RATIO),
        None
    );
    assert_eq!(
        inspect_extraction(2_000, &text, Some(0), DEFAULT_MIN_RATIO),
        None
    );
    // A stricter ratio is honoured, a nonsensical one falls back to the default.
    assert!(inspect_extraction(6_000, &text, Some(10_000), 0.7).is_some());
    assert!(inspect_extraction(2_000, &text, Some(10_000), f64::NAN).is_some());
    assert_eq!(inspect_extraction(6_000, &text, Some(10_000), -1.0), None);
}

#[test]
fn short_extraction_worded_like_an_error_is_a_soft_error() {
    for text in [
        "Page not found. The page you requested does not exist.",
        "Sorry! Something went wrong on our end.",
        "We\u{2019}re sorry, this service is temporarily unavailable. Please try again later.",
        "Error 404",
        "Oups ! Une erreur s'est produite. Veuillez réessayer plus tard.",
        "Page introuvable",
    ] {
        let p = inspect_extraction(text.chars().count(), text, None, DEFAULT_MIN_RATIO);
        assert_eq!(p.map(|p| p.class().as_str()), Some("soft_error"), "{text}");
    }
    for text in [
        "Effective: 14040 days",
        "This foundation is not founded on anything.",
        "Terms of Service",
    ] {
        assert_eq!(
            inspect_extraction(text.chars().count(), text, None, DEFAULT_MIN_RATIO),
            None,
            "{text}"
        );
    }
    // Long texts may use the words: only short ones are error pages.
    let long = format!(
        "{} Please try again later.",
        "A clause of a real policy. ".repeat(100)
    );
    assert_eq!(
        inspect_extraction(long.chars().count(), &long, None, DEFAULT_MIN_RATIO),
        None
    );
}

fn chars_of(path: &Path) -> (usize, String) {
    let ex = extract_markdown(&read(path));
    (ex.char_count(), ex.to_text())
}

/// Replays every corpus history as the watcher would, updating the last good
/// size only on accepted versions. The only version to be rejected is the
/// known truncated reddit extract; the "upcoming + current policy" doubling
/// and the halving back are accepted.
#[test]
fn corpus_histories_only_flag_the_truncated_reddit_extract() {
    let mut flagged = Vec::new();
    for (doc, versions) in corpus_documents() {
        let mut last_good = None;
        for path in &versions {
            let (chars, text) = chars_of(path);
            match inspect_extraction(chars, &text, last_good, DEFAULT_MIN_RATIO) {
                Some(p) => flagged.push(format!(
                    "{doc}/{} {}",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    p.class()
                )),
                None => last_good = Some(chars),
            }
        }
    }
    assert_eq!(
        flagged,
        vec!["reddit/privacy-policy/2021-01-07T014808Z.md soft_error".to_string()]
    );
}

#[test]
fn truncated_reddit_extract_is_below_the_ratio_of_its_predecessor() {
    let dir = Path::new(CORPUS).join("reddit/privacy-policy");
    let (before, _) = chars_of(&dir.join("2020-12-29T070418Z.md"));
    let (truncated, text) = chars_of(&dir.join("2021-01-07T014808Z.md"));
    assert!(
        (truncated as f64) < 0.30 * before as f64,
        "{truncated} vs {before}"
    );
    let p = inspect_extraction(truncated, &text, Some(before), DEFAULT_MIN_RATIO);
    assert_eq!(p.map(|p| p.class().as_str()), Some("soft_error"));
}

#[test]
fn twitter_upcoming_policy_doubling_and_halving_are_not_flagged() {
    let dir = Path::new(CORPUS).join("twitter/privacy-policy");
    let (may, _) = chars_of(&dir.join("2023-05-18T184358Z.md"));
    let (doubled, doubled_text) = chars_of(&dir.join("2023-08-23T034134Z.md"));
    let (reverted, reverted_text) = chars_of(&dir.join("2023-08-24T095329Z.md"));
    // The corpus really doubles and halves here; otherwise this test proves nothing.
    assert!(doubled as f64 > 1.8 * may as f64, "{doubled} vs {may}");
    let halving = reverted as f64 / doubled as f64;
    assert!((0.4..0.6).contains(&halving), "ratio {halving}");
    assert_eq!(
        inspect_extraction(doubled, &doubled_text, Some(may), DEFAULT_MIN_RATIO),
        None
    );
    assert_eq!(
        inspect_extraction(reverted, &reverted_text, Some(doubled), DEFAULT_MIN_RATIO),
        None
    );
}

#[test]
fn phrases_match_on_word_boundaries_only() {
    assert!(page::contains_phrase("error 404 here", "404"));
    assert!(page::contains_phrase("404", "404"));
    assert!(!page::contains_phrase("14040", "404"));
    assert!(!page::contains_phrase("not foundation", "not found"));
    assert!(page::contains_phrase("é404é not found.", "not found"));
}

#[test]
fn display_shows_class_and_reason() {
    let p = PageProblem::Blocked { reason: "x".into() };
    assert_eq!(p.to_string(), "blocked: x");
}

/// A fixture's reason, and the same page grown past the visible-text
/// prefix the view reads, must agree: the bounded view may only skip work.
#[test]
fn interstitials_behind_megabytes_of_markup_or_entities_are_still_flagged() {
    let page = fixture("cloudflare-just-a-moment.html");
    let expected = inspect_page(200, &html_headers(), &page).expect("fixture is flagged");
    // 2 MB of inline script: no visible text, but a long source.
    let script = format!("<script>{}</script>", "var x = 1;\n".repeat(200_000));
    let grown = page.replacen("<head>", &format!("<head>{script}"), 1);
    assert!(grown.len() > 2_000_000, "the script was not inserted");
    assert_eq!(inspect_page(200, &html_headers(), &grown), Some(expected));
    // 120 KB of visible text that normalizes to whitespace: the prefix the
    // view reads first is empty once normalized, so the whole page decides.
    let spaces = "&nbsp; ".repeat(20_000);
    let grown = page.replacen(
        "<body class=\"no-js\">",
        &format!("<body><p>{spaces}</p>"),
        1,
    );
    assert!(grown.contains(&spaces), "the entities were not inserted");
    let problem = inspect_page(200, &html_headers(), &grown).expect("still flagged");
    assert_eq!(problem.class(), FailureClass::Blocked, "{problem}");
}

#[test]
fn a_long_page_is_never_an_interstitial_however_it_ends() {
    // Well past the prefix the view reads: a policy of 40,000 words whose
    // end looks like a challenge page.
    let policy = "<p>We process your data lawfully.</p>\n".repeat(8_000);
    let page = format!(
        "<html><head><title>Just a moment...</title></head><body>{policy}\
         <div class=\"cf-turnstile\">Verify you are human</div></body></html>"
    );
    assert_eq!(inspect_page(200, &html_headers(), &page), None);
    // The same ending alone is a challenge: the length is what spares it.
    let short = "<html><head><title>Just a moment...</title></head><body>\
         <div class=\"cf-turnstile\">Verify you are human</div></body></html>";
    assert!(inspect_page(200, &html_headers(), short).is_some());
}

#[test]
fn an_indented_policy_is_read_past_a_first_step_that_normalizes_short() {
    // Half of each line is indentation: the first 4 KB of visible text
    // normalizes to about 2,000 characters, fewer than an interstitial may
    // have, and the view must read on before it calls the page short.
    let line = format!("{}We process your data lawfully.\n", " ".repeat(32));
    let policy = format!("<p>{}</p>", line.repeat(400));
    let page =
        format!("<html><head><title>Just a moment...</title></head><body>{policy}</body></html>");
    assert_eq!(inspect_page(200, &html_headers(), &page), None);
    // Short, the same indented text is an interstitial.
    let short = format!(
        "<html><head><title>Just a moment...</title></head><body><p>{}</p></body></html>",
        line.repeat(40)
    );
    assert!(inspect_page(200, &html_headers(), &short).is_some());
}

#[test]
fn tag_names_and_markers_match_in_any_case() {
    let page = "<HTML><HEAD><TITLE>Attention Required!</TITLE>\
        <SCRIPT>var words = 'lots of words that are not visible';</SCRIPT></HEAD>\
        <BODY><DIV ID=\"CF-TURNSTILE\">Sorry, you have been blocked</DIV></BODY></HTML>";
    let problem = inspect_page(200, &html_headers(), page).expect("flagged");
    assert!(problem.reason().contains("Turnstile"), "{problem}");
    // Script text in an upper-case element is not visible text.
    let shell = "<html><body><SCRIPT>".to_string()
        + &"document.write('policy text');".repeat(100)
        + "</SCRIPT><NOSCRIPT>You need to enable JavaScript to run this app.</NOSCRIPT></body></html>";
    let problem = inspect_page(200, &html_headers(), &shell).expect("flagged");
    assert!(problem.reason().contains("JavaScript"), "{problem}");
}
