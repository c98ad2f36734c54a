//! Extraction: HTML, Markdown or plain text in, structured blocks out.

/// Checks that a CSS selector parses.
pub fn validate_selector(css: &str) -> Result<(), String> {
    scraper::Selector::parse(css).map(|_| ()).map_err(|e| format!("{e:?}"))
}
