//! The normal form of clause text used for hashing and comparison.
//!
//! Two renderings of the same sentence must normalize to the same string:
//! typographic vs. straight quotes, ligatures, no-break spaces, invisible
//! formatting characters and line wrapping are all presentation, not
//! wording. Case and other punctuation are kept: they can change meaning.

use unicode_normalization::UnicodeNormalization;

/// Normalizes clause text:
///
/// * invisible characters are dropped (zero-width space/joiner/non-joiner,
///   soft hyphen, BOM, word joiner and invisible operators U+2060–2064,
///   bidi marks U+200E/F and embeddings U+202A–202E);
/// * single quotes and primes `‘’‚‛′` become `'`; double quotes, double
///   primes and guillemets `“”„‟″«»` become `"` (guillemets are quotes in
///   the languages that use them);
/// * dashes `‐‑‒–—―` become `-`;
/// * NFKC (ligature `ﬁ` → `fi`, no-break space → space, `…` → `...`);
/// * whitespace collapsed, trimmed;
/// * a leading heading marker (`#`) or bullet (`-`, `*`, `+`, `•`) that
///   slipped into the text is removed. Numbered markers ("1. ") are kept:
///   section numbers are part of the wording and tell sections apart.
pub fn normalize(text: &str) -> String {
    // ASCII text has no invisible characters or typographic punctuation
    // to map and is in NFKC already: only whitespace and a marker can go.
    if text.is_ascii() {
        return without_marker(super::collapse_ws(text));
    }
    normalize_any(text)
}

/// [`normalize`] for any text, the ASCII shortcut aside.
fn normalize_any(text: &str) -> String {
    let mapped: String = text
        .chars()
        .filter(|&c| !is_invisible(c))
        .map(map_punctuation)
        .collect();
    // Most text is already in NFKC (all ASCII text is): the quick check
    // says so without the decomposition and recomposition, which were
    // the largest part of extracting a page.
    let folded: String = if mapped.is_ascii()
        || unicode_normalization::is_nfkc_quick(mapped.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        mapped
    } else {
        mapped.nfkc().collect()
    };
    without_marker(super::collapse_ws(&folded))
}

/// [`strip_marker`] without a copy when there is no marker.
fn without_marker(s: String) -> String {
    let kept = strip_marker(&s).len();
    if kept == s.len() {
        s
    } else {
        s[s.len() - kept..].to_string()
    }
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

fn map_punctuation(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => '"',
        '\u{2010}'..='\u{2015}' => '-',
        other => other,
    }
}

fn strip_marker(s: &str) -> &str {
    let hashes = s.trim_start_matches('#');
    if hashes.len() < s.len() && s.len() - hashes.len() <= 6 {
        if let Some(rest) = hashes.strip_prefix(' ') {
            return rest;
        }
    }
    for bullet in ["- ", "* ", "+ ", "• "] {
        if let Some(rest) = s.strip_prefix(bullet) {
            return rest;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{normalize, normalize_any};

    #[test]
    fn ascii_text_takes_the_shortcut_to_the_same_result() {
        for s in [
            "",
            "  plain  text\t\nhere ",
            "## Heading",
            "#hashtag",
            "- item",
            "-5 degrees",
            "+ plus",
            "* \x0b starred",
            "1. Information We Collect!",
            "\"quoted\" 'single' -- dashes ... dots",
        ] {
            assert_eq!(normalize(s), normalize_any(s), "{s:?}");
        }
    }

    #[test]
    fn presentation_differences_vanish() {
        assert_eq!(
            normalize(
                "  It\u{2019}s  \u{201C}identi\u{FB01}ers\u{201D}\u{00A0}\u{2014} here\u{2026}\n"
            ),
            "It's \"identifiers\" - here..."
        );
        assert_eq!(
            normalize("co\u{00AD}op\u{200B}er\u{2060}ate\u{FEFF}"),
            "cooperate"
        );
        assert_eq!(
            normalize("\u{00AB}Bonjour\u{00BB} 5\u{2033} 3\u{2032}"),
            "\"Bonjour\" 5\" 3'"
        );
        assert_eq!(
            normalize("non\u{2011}breaking \u{2010}\u{2012}\u{2015}"),
            "non-breaking ---"
        );
    }

    #[test]
    fn keeps_case_punctuation_and_section_numbers() {
        assert_eq!(
            normalize("1. Information We Collect!"),
            "1. Information We Collect!"
        );
        assert_eq!(normalize("Use of X; NOT Y."), "Use of X; NOT Y.");
    }

    #[test]
    fn strips_stray_markers() {
        assert_eq!(normalize("## Heading"), "Heading");
        assert_eq!(normalize("- item"), "item");
        assert_eq!(normalize("* item"), "item");
        assert_eq!(normalize("#hashtag"), "#hashtag");
        assert_eq!(normalize("-5 degrees"), "-5 degrees");
    }
}
