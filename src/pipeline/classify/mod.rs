//! Classifies fetched pages that must not become a version: bot challenges
//! and access-denied interstitials (*blocked*) and error pages served with a
//! success status or truncated extractions (*soft errors*).
//!
//! A false positive here silently drops a real policy change, so every check
//! is gated on the page being small: interstitials show a few hundred
//! characters, policies tens of thousands. Real policies mention captchas,
//! JavaScript and "access" in their text, and real pages embed vendor
//! scripts (Cloudflare injects `/cdn-cgi/challenge-platform/scripts/jsd/` into
//! ordinary pages), so no single word or script decides on a large page.
//! Everything here is pure: no I/O, and no copy of a long body (only the
//! beginning of its visible text is read once the page is too long to be
//! an interstitial).

mod page;
#[cfg(test)]
mod tests;

use crate::domain::FailureClass;
use page::{contains_phrase, PageView};

/// Why a fetched page is not a new version of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageProblem {
    /// A bot challenge, captcha or access-denied page stood in for the content.
    Blocked { reason: String },
    /// An error page, an empty shell or a much shorter extraction than usual.
    SoftError { reason: String },
}

impl PageProblem {
    /// The failure class it is recorded as.
    pub fn class(&self) -> FailureClass {
        match self {
            PageProblem::Blocked { .. } => FailureClass::Blocked,
            PageProblem::SoftError { .. } => FailureClass::SoftError,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            PageProblem::Blocked { reason } | PageProblem::SoftError { reason } => reason,
        }
    }
}

impl std::fmt::Display for PageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class(), self.reason())
    }
}

/// Default for `inspect_extraction`'s `min_ratio` (see [`crate::defaults`]).
pub const DEFAULT_MIN_RATIO: f64 = crate::defaults::SOFT_ERROR_RATIO;

/// Extractions at most this long are checked for error wording; a real
/// policy is much longer, and a long one may well say "try again later".
const ERROR_TEXT_MAX_CHARS: usize = 1_500;

/// Looks at a fetched page (status, headers, decoded body) before
/// extraction and reports bot challenges, access-denied interstitials,
/// JavaScript-only shells and error pages served as success.
pub fn inspect_page(status: u16, headers: &[(String, String)], body: &str) -> Option<PageProblem> {
    if let Some(p) = header_challenge(headers) {
        return Some(p);
    }
    let view = PageView::new(body);
    if let Some(reason) = view.challenge() {
        return Some(PageProblem::Blocked { reason });
    }
    if !(200..300).contains(&status) {
        return Some(status_problem(status));
    }
    view.soft_error()
        .map(|reason| PageProblem::SoftError { reason })
}

/// For a body that came with an HTTP error status (403, 406, 429, 503...):
/// reports a challenge or access-denied page as `Blocked`, so that "the site
/// blocks us" is told apart from an ordinary server error. `None` means the
/// body shows nothing beyond the status itself.
pub fn inspect_error_body(status: u16, body: &str) -> Option<PageProblem> {
    let view = PageView::new(body);
    view.challenge().map(|reason| PageProblem::Blocked {
        reason: format!("HTTP {status}: {reason}"),
    })
}

/// After extraction: a text far shorter than the last good version (below
/// `min_ratio` of its character count), or a short text worded like an error
/// page, is a soft error. A longer text is never a problem here: pages that
/// briefly show the upcoming and the current policy double in size.
pub fn inspect_extraction(
    chars: usize,
    text: &str,
    last_good_chars: Option<usize>,
    min_ratio: f64,
) -> Option<PageProblem> {
    if let Some(last) = last_good_chars.filter(|&n| n > 0) {
        // A nonsensical ratio (NaN, negative, above 1) would either flag
        // every version or none; fall back to the default instead.
        let ratio = if min_ratio.is_finite() && (0.0..=1.0).contains(&min_ratio) {
            min_ratio
        } else {
            DEFAULT_MIN_RATIO
        };
        // Precision loss above 2^53 characters is irrelevant here.
        if (chars as f64) < (last as f64) * ratio {
            return Some(PageProblem::SoftError {
                reason: format!(
                    "extracted text has {chars} characters, {:.0}% of the last good version's {last} \
                     (minimum {:.0}%)",
                    100.0 * chars as f64 / last as f64,
                    100.0 * ratio
                ),
            });
        }
    }
    if chars <= ERROR_TEXT_MAX_CHARS {
        let lowered = page::normalize_text(text);
        if let Some(phrase) = page::ERROR_PHRASES
            .iter()
            .find(|p| contains_phrase(&lowered, p))
        {
            return Some(PageProblem::SoftError {
                reason: format!("short extracted text ({chars} characters) reads like an error page: {phrase:?}"),
            });
        }
    }
    None
}

/// Response headers that only challenge responses carry.
fn header_challenge(headers: &[(String, String)]) -> Option<PageProblem> {
    for (name, value) in headers {
        let name = name.trim();
        let value = value.trim().to_ascii_lowercase();
        // Cloudflare sets `cf-mitigated: challenge` on challenge pages only.
        if name.eq_ignore_ascii_case("cf-mitigated") && value == "challenge" {
            return Some(PageProblem::Blocked {
                reason: "Cloudflare challenge (header cf-mitigated: challenge)".into(),
            });
        }
        // AWS WAF marks its CAPTCHA and silent-challenge responses.
        if name.eq_ignore_ascii_case("x-amzn-waf-action")
            && (value == "captcha" || value == "challenge")
        {
            return Some(PageProblem::Blocked {
                reason: format!("AWS WAF {value} (header x-amzn-waf-action)"),
            });
        }
    }
    None
}

fn status_problem(status: u16) -> PageProblem {
    match status {
        401 | 403 | 407 | 429 | 451 => PageProblem::Blocked {
            reason: format!("HTTP status {status}"),
        },
        _ => PageProblem::SoftError {
            reason: format!("HTTP status {status}"),
        },
    }
}
