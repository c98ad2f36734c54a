//! The normal form of clause text used for hashing and comparison.
//!
//! Two renderings of the same sentence must normalize to the same string:
//! typographic vs. straight quotes, ligatures, no-break spaces, invisible
//! formatting characters and line wrapping are all presentation, not
//! wording. Case and other punctuation are kept: they can change meaning.

use std::borrow::Cow;

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
    let mapped = mapped_punctuation(text);
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

/// `text` without its invisible characters and with its typographic
/// punctuation mapped. The ASCII between two other characters is copied a
/// stretch at a time: character by character, this was most of what
/// normalizing a clause with one curly quote cost.
fn mapped_punctuation(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(k) = rest.bytes().position(|b| !b.is_ascii()) {
        out.push_str(&rest[..k]);
        // Only ASCII comes before `k`: a character starts there.
        let c = rest[k..]
            .chars()
            .next()
            .expect("a character at a non-ASCII byte");
        if !is_invisible(c) {
            out.push(map_punctuation(c));
        }
        rest = &rest[k + c.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// [`normalize`], borrowing `text` when it is its own normal form: a
/// block's text is collapsed already, and most of it is plain ASCII with
/// nothing to map, so a copy of each clause was made only to be compared
/// with the text and dropped.
pub fn normalize_cow(text: &str) -> Cow<'_, str> {
    if is_collapsed_ascii(text.as_bytes()) && strip_marker(text).len() == text.len() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(normalize(text))
    }
}

/// Whether `s` is ASCII and already what [`super::collapse_ws`] makes of
/// it: words with one space between them, none at either end.
fn is_collapsed_ascii(s: &[u8]) -> bool {
    if s.first() == Some(&b' ') || s.last() == Some(&b' ') {
        return false;
    }
    let mut after_space = false;
    for &b in s {
        match b {
            b' ' if after_space => return false,
            b' ' => after_space = true,
            b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0x80..=0xFF => return false,
            _ => after_space = false,
        }
    }
    true
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
    use super::{normalize, normalize_any, normalize_cow};
    use std::borrow::Cow;

    #[test]
    fn a_text_in_its_normal_form_is_borrowed_and_any_other_normalized() {
        let cases = [
            ("", true),
            ("plain text here", true),
            ("1. Information We Collect!", true),
            ("-5 degrees", true),
            (" leading", false),
            ("trailing ", false),
            ("two  spaces", false),
            ("tab\there", false),
            ("line\nbreak", false),
            ("## Heading", false),
            ("- item", false),
            ("* starred", false),
            ("caf\u{e9}", false),
            ("It\u{2019}s", false),
            ("no\u{a0}break", false),
        ];
        for (s, borrowed) in cases {
            let got = normalize_cow(s);
            assert_eq!(got, normalize(s), "{s:?}");
            assert_eq!(matches!(got, Cow::Borrowed(_)), borrowed, "{s:?}");
        }
        // Every line of one corpus policy's versions, raw and collapsed.
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/twitter/privacy-policy");
        let mut lines = 0;
        for entry in std::fs::read_dir(&corpus).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                assert_eq!(normalize_cow(line), normalize(line), "{line:?}");
                let collapsed = super::super::collapse_ws(line);
                assert_eq!(
                    normalize_cow(&collapsed),
                    normalize(&collapsed),
                    "{collapsed:?}"
                );
                lines += 1;
            }
        }
        assert!(
            lines > 1000,
            "only {lines} corpus lines read from {corpus:?}"
        );
    }

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
    fn punctuation_is_mapped_as_character_by_character_for_every_character() {
        let by_char = |s: &str| -> String {
            s.chars()
                .filter(|&c| !super::is_invisible(c))
                .map(super::map_punctuation)
                .collect()
        };
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s = format!("a{c}bc{c}{c} d{c}");
            assert_eq!(
                super::mapped_punctuation(&s),
                by_char(&s),
                "U+{:04X}",
                c as u32
            );
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
