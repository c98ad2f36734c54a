//! HTML to blocks.

use scraper::Selector;

use super::{ExtractError, Extracted, Rules};

/// Checks that `css` is a selector this extractor can apply.
pub fn validate_selector(css: &str) -> Result<(), String> {
    Selector::parse(css).map(|_| ()).map_err(|e| e.to_string())
}

pub fn extract_html(_html: &str, _rules: &Rules) -> Result<Extracted, ExtractError> {
    Ok(Extracted::default())
}
