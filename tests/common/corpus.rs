//! The Open Terms Archive corpus beside the repository (`../shared/corpus`),
//! and pages built from it the way a real site would serve them.

use std::path::{Path, PathBuf};

/// The corpus folder.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// One recorded version of a document, in `index.tsv` order.
#[derive(Debug, Clone)]
pub struct Version {
    pub file: String,
    pub date: String,
    pub subject: String,
    pub path: PathBuf,
}

/// The versions of `service/document`, oldest first.
pub fn versions(doc: &str) -> Vec<Version> {
    let base = dir().join(doc);
    let index = std::fs::read_to_string(base.join("index.tsv"))
        .unwrap_or_else(|e| panic!("read {}/index.tsv: {e}", base.display()));
    index
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Version {
                file: cols[0].to_string(),
                date: cols[1].to_string(),
                subject: cols.get(3).unwrap_or(&"").to_string(),
                path: base.join(cols[0]),
            }
        })
        .collect()
}

/// The Markdown text of a version.
pub fn markdown(doc: &str, file: &str) -> String {
    let p = dir().join(doc).join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Renders Markdown to HTML and wraps it in page chrome (navigation, cookie
/// banner, scripts, footer) around `<main id="twtr-main">`, as the X pages
/// are built, so that the X selectors apply.
pub fn x_page(markdown: &str) -> String {
    let mut body = String::new();
    // Tables too: OTA's Markdown keeps the policies' tables (Reddit's, Google's)
    // as pipe tables, which the real pages serve as `<table>`.
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::html::push_html(&mut body, parser);
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Privacy</title>
<style>.x{{color:red}}</style><script>window.__INITIAL_STATE__ = {{"session":"abc"}};</script></head>
<body><nav class="ct07__side-nav"><a href="/">Home</a><a href="/tos">Terms of Service</a></nav>
<div class="ct17-banner-container"><p>We use cookies to improve your experience. Accept all cookies?</p></div>
<main id="twtr-main">{body}</main>
<footer><p>© 2026 X Corp. Cookies Privacy Terms and Conditions</p></footer>
<script src="/app.js"></script></body></html>"#
    )
}
