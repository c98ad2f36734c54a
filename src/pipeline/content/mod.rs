//! Is the body the policy at all? Two checks [`super::observe`] runs on
//! every body, so that the daemon, `check`, `extract` and `import` all get
//! them:
//!
//! - [`inspect_body`], before anything is parsed: a body that is a PDF, an
//!   image, an archive, a font or other binary data, by its `Content-Type`
//!   or by a sniff of its first bytes, is *unexpected content*. Decoded as
//!   text it extracts to hundreds of garbage "clauses": recorded as a
//!   version it would be announced as a massive change, and every real page
//!   after it would look like a soft error against its size.
//! - [`inspect_decoding`], after extraction: a text full of U+FFFD or of the
//!   sequences UTF-8 turns into when read as Windows-1252 (`Ã©`, `â€™`,
//!   `Â `) was decoded with the wrong charset (a header or `<meta>` that
//!   lies) and is a *bad encoding* failure, judged against the last good
//!   version ([`Baseline`]) so that a policy that legitimately contains a
//!   few such characters still passes.
//!
//! The charset itself is chosen in `pipeline::fetch` (`charset.rs`); this
//! module only reads what came out of it: the raw bytes, the decoded text
//! and the name of the encoding used. Everything here is pure.

mod language;
#[cfg(test)]
mod tests;

pub use language::{html_lang, page_language, Language};

use super::clauses::Clause;
use crate::domain::FailureClass;

/// Why a body is not the policy, before or after extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentProblem {
    /// Binary data, an image, a PDF, an archive: not a policy page.
    Unexpected { reason: String },
    /// Text decoded with the wrong charset.
    BadEncoding { reason: String },
    /// A page in another language than the document's.
    WrongLanguage { reason: String },
}

impl ContentProblem {
    /// The failure class it is recorded as.
    pub fn class(&self) -> FailureClass {
        match self {
            ContentProblem::Unexpected { .. } => FailureClass::UnexpectedContent,
            ContentProblem::BadEncoding { .. } => FailureClass::BadEncoding,
            ContentProblem::WrongLanguage { .. } => FailureClass::WrongLanguage,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            ContentProblem::Unexpected { reason }
            | ContentProblem::BadEncoding { reason }
            | ContentProblem::WrongLanguage { reason } => reason,
        }
    }
}

/// What a new observation is compared with: the last good *version* (never
/// a failure, which is not a version), measured on its clauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Baseline {
    /// Characters of clause text, for the soft-error ratio.
    pub chars: usize,
    /// U+FFFD and mis-decoding sequences in the clause text
    /// ([`suspicious_count`]), for the bad-encoding check.
    pub suspicious_chars: usize,
    /// The language detected in the clause text, for a document whose
    /// language is not configured: later versions must keep it.
    pub language: Option<Language>,
}

impl Baseline {
    /// The baseline a version's clauses give.
    pub fn of(clauses: &[Clause]) -> Baseline {
        let mut b = Baseline::default();
        for c in clauses {
            b.chars += c.text.chars().count();
            b.suspicious_chars += suspicious_count(&c.text, true);
        }
        b.language = Language::detect(clauses);
        b
    }

    /// Suspicious characters per thousand characters.
    fn per_mille(&self) -> f64 {
        per_mille(self.suspicious_chars, self.chars)
    }
}

/// After extraction: a page whose language (see [`page_language`]) is not
/// `expected` (the configured language, else the baseline's) is a
/// wrong-language failure. A page whose language cannot be told is not
/// judged.
pub fn inspect_language(
    clauses: &[Clause],
    lang_attribute: Option<&str>,
    expected: Option<Language>,
) -> Option<ContentProblem> {
    let expected = expected?;
    let found = page_language(clauses, lang_attribute)?;
    (found != expected).then(|| ContentProblem::WrongLanguage {
        reason: format!(
            "the page is in {found}, not in the document's language {expected}; \
             a page in another language is not a new version"
        ),
    })
}

/// Bytes sniffed at the start of a body, as browsers and `file(1)` do.
pub const SNIFF_BYTES: usize = 1024;

/// A share of control characters (other than tab, line feed, form feed and
/// carriage return) at or above this in the first KB means binary data.
/// Text, HTML, JSON and Markdown contain none or a stray one; compressed
/// and image data, being close to uniformly random bytes, about 12% (31 of
/// 256 byte values). 5% sits well between the two and still catches a
/// binary body whose first KB is partly readable headers.
pub const CONTROL_SHARE_BINARY: f64 = 0.05;

/// A bad-encoding verdict needs at least this many suspicious characters.
/// One stray byte, a quoted mis-encoded name or a copyright sign gives one
/// or two; a page decoded with the wrong charset gives one per non-ASCII
/// character of the policy (dozens for an English policy with curly quotes
/// and non-breaking spaces, hundreds for French or German).
pub const MIN_SUSPICIOUS: usize = 5;

/// Without a baseline, or against one that has none: more than this many
/// suspicious characters per thousand is a bad encoding. Measured on the X
/// policy of September 2023 (31,000 characters whose only non-ASCII
/// characters are curly quotes, dashes and non-breaking spaces), UTF-8 read
/// as Windows-1252 gives 55 sequences, 1.8 per thousand; a French policy
/// gives 20 to 40. A correctly decoded policy gives 0, or about 0.1 for one
/// that quotes a mis-encoded name or keeps a stray bad byte. 0.5 keeps a
/// margin of three to five on both sides for English, the hard case.
pub const ABSOLUTE_PER_MILLE: f64 = 0.5;

/// Against a baseline that already has some (a site whose own text carries
/// a few U+FFFD or mis-encoded names), the new text must have more than
/// this many times the baseline's density, plus [`ABSOLUTE_PER_MILLE`]: the
/// same text decoded the same way keeps its density, a text decoded wrongly
/// adds one per non-ASCII character, which is many times what a correct
/// policy carries by accident.
pub const RELATIVE_FACTOR: f64 = 3.0;

/// Looks at the raw body before it is parsed: a `Content-Type` naming a
/// binary type, or first bytes that are a known binary format or contain
/// NUL bytes or many control characters, is unexpected content.
///
/// `application/octet-stream` alone is not enough: storage services (S3,
/// GCS) give it to any upload without a type, and a policy uploaded as
/// such is still the policy. It fails only when the bytes look binary too.
/// `encoding` is the name of the encoding the text was decoded with: for
/// UTF-16 (every other byte a NUL) the sniff reads the decoded text.
pub fn inspect_body(
    bytes: &[u8],
    text: &str,
    content_type: Option<&str>,
    encoding: Option<&str>,
) -> Option<ContentProblem> {
    let mime = content_type.map(mime_of).unwrap_or_default();
    if is_binary_type(&mime) {
        let found = sniff_magic(bytes).map_or(String::new(), |m| format!(", and the body is {m}"));
        return Some(ContentProblem::Unexpected {
            reason: format!("the response is {mime}, not a policy page{found}"),
        });
    }
    let named = if mime.is_empty() {
        String::new()
    } else {
        format!(" (served as {mime})")
    };
    if let Some(magic) = sniff_magic(bytes) {
        return Some(ContentProblem::Unexpected {
            reason: format!("the body is {magic}{named}, not a policy page"),
        });
    }
    let utf16 = encoding.is_some_and(|e| e.to_ascii_uppercase().starts_with("UTF-16"));
    let (nul, controls, total) = if utf16 {
        control_tally(text.chars().take(SNIFF_BYTES).map(u32::from))
    } else {
        control_tally(bytes.iter().take(SNIFF_BYTES).map(|&b| u32::from(b)))
    };
    if nul > 0 {
        return Some(ContentProblem::Unexpected {
            reason: format!("the body is binary data{named}: {nul} NUL bytes in its first {total}"),
        });
    }
    if total > 0 && controls as f64 / total as f64 >= CONTROL_SHARE_BINARY {
        return Some(ContentProblem::Unexpected {
            reason: format!(
                "the body is binary data{named}: {controls} control characters in its first {total} bytes"
            ),
        });
    }
    None
}

/// After extraction: the clauses' U+FFFD and mis-decoding sequences against
/// the baseline's (see [`MIN_SUSPICIOUS`], [`ABSOLUTE_PER_MILLE`] and
/// [`RELATIVE_FACTOR`] for the thresholds and why).
///
/// Mis-decoding sequences only count when the text was decoded with
/// something other than UTF-8 or UTF-16: a text decoded as UTF-8 without
/// error holds exactly the characters the site wrote (if its CMS encoded
/// twice, `Ã©` is what the page says, and no other charset would read it
/// better). U+FFFD always counts: it is what a decoder writes for bytes that
/// are not in its charset. `bytes` is the raw body, when there is one: a
/// body that is valid UTF-8 but was decoded as something else is named in
/// the reason.
pub fn inspect_decoding(
    clauses: &[Clause],
    encoding: Option<&str>,
    bytes: Option<&[u8]>,
    baseline: Option<Baseline>,
) -> Option<ContentProblem> {
    let unicode = encoding.is_some_and(|e| {
        let e = e.to_ascii_uppercase();
        e == "UTF-8" || e.starts_with("UTF-16")
    });
    let (mut chars, mut suspicious, mut replacement) = (0, 0, 0);
    for c in clauses {
        chars += c.text.chars().count();
        suspicious += suspicious_count(&c.text, !unicode);
        replacement += c.text.matches('\u{FFFD}').count();
    }
    let density = per_mille(suspicious, chars);
    let base = baseline.map_or(0.0, |b| b.per_mille());
    let limit = ABSOLUTE_PER_MILLE + RELATIVE_FACTOR * base;
    if suspicious < MIN_SUSPICIOUS || density <= limit {
        return None;
    }
    let what = if replacement * 2 >= suspicious {
        format!("{replacement} replacement characters (U+FFFD)")
    } else {
        format!("{suspicious} mis-decoded sequences such as \"Ã©\" or \"â€™\"")
    };
    let decoded = encoding.map_or(String::new(), |e| format!(" decoded as {e}"));
    let valid_utf8 = match bytes {
        Some(b) if !unicode && !b.is_ascii() && std::str::from_utf8(b).is_ok() => {
            " (the body is valid UTF-8)"
        }
        _ => "",
    };
    let against = match baseline {
        Some(b) if b.chars > 0 => format!(
            "{:.1} per thousand characters against {:.1} in the last good version",
            density, base
        ),
        _ => format!("{density:.1} per thousand characters, no previous version to compare with"),
    };
    Some(ContentProblem::BadEncoding {
        reason: format!(
            "the text{decoded}{valid_utf8} has the wrong charset: {what}, {against} (limit {limit:.1})"
        ),
    })
}

/// U+FFFD characters, plus (when `mojibake`) the sequences UTF-8 text turns
/// into when read as Windows-1252 or Latin-1: a lead byte `Â`, `Ã`, `Ä`,
/// `Å` (U+00C2–U+00C5, the 2-byte lead bytes of Latin letters and signs)
/// followed by what a continuation byte 0x80–0xBF reads as (or a space,
/// which a non-breaking space becomes once whitespace is collapsed);
/// `â€`, `â‚` and `â„` (3-byte punctuation ’ “ ” – — … •, currency signs
/// such as €, letterlike symbols such as ™); `ï»¿` (a
/// byte-order mark) and `ðŸ` (4-byte emoji). Each counts once.
pub fn suspicious_count(text: &str, mojibake: bool) -> usize {
    let mut count = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{FFFD}' {
            count += 1;
            continue;
        }
        if !mojibake {
            continue;
        }
        let Some(&next) = chars.peek() else { break };
        let hit = match c {
            'Â' | 'Ã' | 'Ä' | 'Å' => is_continuation(next) || next == ' ',
            'â' => matches!(next, '€' | '‚' | '„'),
            'ï' => next == '»',
            'ð' => next == 'Ÿ',
            _ => false,
        };
        if hit {
            count += 1;
            chars.next();
        }
    }
    count
}

/// What a UTF-8 continuation byte (0x80–0xBF) reads as in Windows-1252 (the
/// WHATWG decoder for `iso-8859-1` too) or in true Latin-1.
fn is_continuation(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{BF}')
        || matches!(
            c,
            '€' | '‚'
                | 'ƒ'
                | '„'
                | '…'
                | '†'
                | '‡'
                | 'ˆ'
                | '‰'
                | 'Š'
                | '‹'
                | 'Œ'
                | 'Ž'
                | '\u{2018}'
                | '\u{2019}'
                | '\u{201C}'
                | '\u{201D}'
                | '•'
                | '–'
                | '—'
                | '˜'
                | '™'
                | 'š'
                | '›'
                | 'œ'
                | 'ž'
                | 'Ÿ'
        )
}

fn per_mille(count: usize, chars: usize) -> f64 {
    if chars == 0 {
        0.0
    } else {
        1000.0 * count as f64 / chars as f64
    }
}

/// The media type of a `Content-Type` value, lowercased, without parameters.
fn mime_of(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Media types that are never a policy page (a document declared as PDF
/// would be the exception; the configuration has no such declaration yet).
fn is_binary_type(mime: &str) -> bool {
    let (top, sub) = mime.split_once('/').unwrap_or((mime, ""));
    matches!(top, "image" | "audio" | "video" | "font")
        || (top == "application"
            && (matches!(
                sub,
                "pdf"
                    | "x-pdf"
                    | "zip"
                    | "x-zip-compressed"
                    | "gzip"
                    | "x-gzip"
                    | "x-7z-compressed"
                    | "x-rar-compressed"
                    | "vnd.rar"
                    | "x-tar"
                    | "msword"
                    | "vnd.ms-fontobject"
                    | "font-woff"
                    | "x-font-ttf"
                    | "x-font-otf"
                    | "wasm"
                    | "x-shockwave-flash"
            ) || sub.starts_with("vnd.openxmlformats-officedocument.")
                || sub.starts_with("vnd.oasis.opendocument.")))
}

/// The binary format the first bytes announce, if any.
fn sniff_magic(bytes: &[u8]) -> Option<&'static str> {
    // A PDF may be preceded by whitespace (and a UTF-8 BOM from a proxy);
    // the other formats start at byte 0.
    let trimmed = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = trimmed
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(trimmed.len());
    if trimmed[start..].starts_with(b"%PDF-") {
        return Some("a PDF document");
    }
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"PK\x05\x06", "a ZIP archive"),
        (b"\x1F\x8B", "gzip-compressed data"),
        (b"\x28\xB5\x2F\xFD", "zstd-compressed data"),
    ];
    if let Some((_, name)) = MAGIC.iter().find(|(m, _)| bytes.starts_with(m)) {
        return Some(name);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some("a WebP image");
    }
    None
}

/// NULs, other control characters and the total, over the given code units.
fn control_tally(units: impl Iterator<Item = u32>) -> (usize, usize, usize) {
    let (mut nul, mut controls, mut total) = (0, 0, 0);
    for u in units {
        total += 1;
        if u == 0 {
            nul += 1;
        }
        let control = (u < 0x20 && !matches!(u, 0x09 | 0x0A | 0x0C | 0x0D)) || u == 0x7F;
        if control {
            controls += 1;
        }
    }
    (nul, controls, total)
}

/// Whether `new` is `old` cut short: every clause of `new` but the last is
/// the same as `old`'s at that place, the last one is a strict beginning of
/// `old`'s clause there ("If you ar" for "If you are a California
/// resident…"), and clauses of `old` are missing after it. That is a body
/// truncated in transit or by the server, not an edit of the policy: an
/// editor who removes the end of a policy does not stop mid-word.
pub fn truncated(old: &[Clause], new: &[Clause]) -> bool {
    let Some((last, kept)) = new.split_last() else {
        return false;
    };
    if new.len() >= old.len() {
        return false;
    }
    let cut = &old[kept.len()];
    kept.iter().zip(old).all(|(n, o)| n.hash == o.hash)
        && cut.text.len() > last.text.len()
        && cut.text.starts_with(last.text.as_str())
}

#[cfg(test)]
mod truncation_tests {
    use super::truncated;
    use crate::pipeline::clauses;
    use crate::pipeline::extract::{Block, ClauseKind, Extracted};

    fn page(texts: &[&str]) -> Vec<crate::pipeline::clauses::Clause> {
        let blocks: Vec<Block> = texts
            .iter()
            .map(|t| Block {
                kind: ClauseKind::Paragraph,
                text: t.to_string(),
            })
            .collect();
        clauses::split(&Extracted { blocks })
    }

    #[test]
    fn a_policy_cut_mid_clause_is_truncated_and_an_edit_is_not() {
        // Reddit's privacy policy as recorded on 2020-12-29 06:48, restored
        // sixteen minutes later.
        let full = page(&[
            "We collect the information you give us.",
            "If you are a California resident, you have additional rights under the CCPA.",
            "Children under the age of 13 are not allowed to create an account.",
        ]);
        let cut = page(&["We collect the information you give us.", "If you ar"]);
        assert!(truncated(&full, &cut));
        // The last clauses removed on purpose: no clause stops mid-way.
        let shortened = page(&[
            "We collect the information you give us.",
            "If you are a California resident, you have additional rights under the CCPA.",
        ]);
        assert!(!truncated(&full, &shortened));
        // A reworded clause that happens to begin like the old one, with
        // the rest of the page kept, is an edit.
        let mut edited = full.clone();
        edited[1] = page(&["If you are"])[0].clone();
        assert!(!truncated(&full, &edited));
        assert!(!truncated(&full, &full));
        assert!(!truncated(&full, &[]));
    }
}
