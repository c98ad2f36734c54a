//! Extraction: HTML, Markdown or plain text in, structured blocks out.
//!
//! All three formats produce the same block model (headings, paragraphs,
//! list items, table rows) so that a policy fetched as HTML and the same
//! policy stored as Markdown split into the same clauses. Choices that keep
//! the formats aligned:
//!
//! * `<br>` (and a Markdown hard break) is a space inside its block, not a
//!   split: pages use it for visual wrapping inside one sentence. Two or
//!   more `<br>` in a row inside a paragraph split it, as they render as a
//!   blank line and Markdown converters (turndown) write one.
//! * Images are dropped entirely, alt text included: alt texts on policy
//!   pages are decorative ("icon", file names) and not part of the terms.
//! * Links become their text; links without text produce nothing.
//! * Whitespace (including no-break spaces) is collapsed to single spaces.
//! * Table rows are their non-empty cells joined with " | "; empty spacer
//!   cells are left out.

mod html;
mod markdown;
mod normalize;
mod text;

use serde::{Deserialize, Serialize};

#[cfg(test)]
mod corpus_tests;

pub use html::{extract_html, validate_selector};
pub use markdown::extract_markdown;
pub use normalize::{normalize, normalize_cow};
pub use text::extract_text;

/// What kind of block a clause came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ClauseKind {
    /// A heading, with its level (1 for `h1` / `#`).
    Heading {
        level: u8,
    },
    Paragraph,
    ListItem,
    TableRow,
}

impl ClauseKind {
    /// The one string form of the kind (the level is separate).
    pub fn name(self) -> &'static str {
        match self {
            ClauseKind::Heading { .. } => "heading",
            ClauseKind::Paragraph => "paragraph",
            ClauseKind::ListItem => "list_item",
            ClauseKind::TableRow => "table_row",
        }
    }

    /// The name and the heading level, as stored.
    pub fn parts(self) -> (&'static str, Option<u8>) {
        match self {
            ClauseKind::Heading { level } => ("heading", Some(level)),
            other => (other.name(), None),
        }
    }

    /// The inverse of [`ClauseKind::parts`].
    pub fn from_parts(
        name: &str,
        level: Option<u8>,
    ) -> Result<ClauseKind, crate::domain::UnknownWord> {
        Ok(match name {
            "heading" => ClauseKind::Heading {
                level: level.unwrap_or(1),
            },
            "paragraph" => ClauseKind::Paragraph,
            "list_item" => ClauseKind::ListItem,
            "table_row" => ClauseKind::TableRow,
            other => {
                return Err(crate::domain::UnknownWord {
                    kind: "ClauseKind",
                    word: other.to_string(),
                })
            }
        })
    }
}

/// One structural block of extracted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: ClauseKind,
    /// Original wording, whitespace collapsed to single spaces, trimmed.
    pub text: String,
}

/// The blocks of one document, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extracted {
    pub blocks: Vec<Block>,
}

impl Extracted {
    /// Number of characters in all block texts; used for the minimum length
    /// check that catches pages that came back empty or as an error page.
    pub fn char_count(&self) -> usize {
        self.blocks.iter().map(|b| b.text.chars().count()).sum()
    }

    /// Deterministic structured text, Markdown-like, one block per
    /// paragraph, blocks separated by a blank line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, block) in self.blocks.iter().enumerate() {
            if i > 0 {
                out.push_str("\n\n");
            }
            match block.kind {
                ClauseKind::Heading { level } => {
                    out.push_str(&"#".repeat(usize::from(level.clamp(1, 6))));
                    out.push(' ');
                    out.push_str(&block.text);
                }
                ClauseKind::Paragraph => out.push_str(&block.text),
                ClauseKind::ListItem => {
                    out.push_str("- ");
                    out.push_str(&block.text);
                }
                ClauseKind::TableRow => {
                    out.push_str("| ");
                    out.push_str(&block.text);
                    out.push_str(" |");
                }
            }
        }
        out
    }
}

/// Input format of a fetched or stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Text,
}

impl Format {
    /// Guesses the format: the file extension of the path or URL wins (raw
    /// file hosts serve `.md` as `text/plain`), then the content type, then a
    /// look at the start of the body.
    pub fn guess(path_or_url: &str, content_type: Option<&str>, body: &str) -> Format {
        let path = path_or_url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let file = path.rsplit('/').next().unwrap_or_default();
        if let Some((_, ext)) = file.rsplit_once('.') {
            match ext {
                "md" | "markdown" | "mdown" | "mkd" => return Format::Markdown,
                "html" | "htm" | "xhtml" | "shtml" | "php" | "asp" | "aspx" | "jsp" => {
                    return Format::Html
                }
                "txt" | "text" => return Format::Text,
                _ => {}
            }
        }
        if let Some(ct) = content_type {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match mime.as_str() {
                "text/html" | "application/xhtml+xml" => return Format::Html,
                "text/markdown" | "text/x-markdown" => return Format::Markdown,
                // text/plain is often a mislabelled page: sniff the body.
                _ => {}
            }
        }
        sniff(body)
    }
}

fn sniff(body: &str) -> Format {
    let head: String = body
        .trim_start()
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    if head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || ["<body", "<div", "<p>", "<p ", "<head"]
            .iter()
            .any(|t| head.contains(t))
    {
        return Format::Html;
    }
    let markdown_like = body.lines().take(200).any(|line| {
        let t = line.trim_end();
        (t.starts_with('#') && t.trim_start_matches('#').starts_with(' '))
            || (t.len() >= 3 && (t.bytes().all(|b| b == b'=') || t.bytes().all(|b| b == b'-')))
            || t.contains("](")
            || t.contains("**")
    });
    if markdown_like {
        Format::Markdown
    } else {
        Format::Text
    }
}

/// What to keep from a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// CSS selectors of the parts to keep (union, document order). Empty
    /// means the whole `<body>`.
    pub select: Vec<String>,
    /// CSS selectors of parts to drop inside the selection.
    pub remove: Vec<String>,
    /// Fewer extracted characters than this is an error, not a version.
    pub min_chars: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            select: Vec::new(),
            remove: Vec::new(),
            min_chars: 100,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("invalid CSS selector {selector:?}: {message}")]
    InvalidSelector { selector: String, message: String },
    #[error("selector(s) {selectors} matched nothing in the page")]
    NothingSelected { selectors: String },
    #[error("extracted text is too short: {chars} characters, at least {min} required")]
    TooShort { chars: usize, min: usize },
}

/// Extracts `input` in the given format and rejects results shorter than
/// `rules.min_chars`. Selection rules only apply to HTML.
pub fn extract(input: &str, format: Format, rules: &Rules) -> Result<Extracted, ExtractError> {
    let extracted = match format {
        Format::Html => extract_html(input, rules)?,
        Format::Markdown => extract_markdown(input),
        Format::Text => extract_text(input),
    };
    let chars = extracted.char_count();
    if chars < rules.min_chars {
        return Err(ExtractError::TooShort {
            chars,
            min: rules.min_chars,
        });
    }
    Ok(extracted)
}

/// Collapses runs of whitespace (no-break spaces included) to one space and
/// trims. Word by word into one string: collecting the words first cost
/// 16 bytes per word, more than the text itself on a big page.
pub(crate) fn collapse_ws(s: &str) -> String {
    // Bytes, not characters, for any text: a block with one curly quote
    // needs no character decoding either, and Unicode's white space has
    // few enough encodings to match as bytes.
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    loop {
        while i < bytes.len() {
            match whitespace_len(bytes, i) {
                0 => break,
                w => i += w,
            }
        }
        if i == bytes.len() {
            break;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        // Most text is collapsed already where it is not indented: one
        // copy per stretch of it rather than one per word (a call for a
        // few bytes each was most of what collapsing a page cost).
        let start = i;
        i = verbatim_end(bytes, i);
        out.extend_from_slice(&bytes[start..i]);
    }
    // Blocks keep their text: not the room the raw whitespace took.
    out.shrink_to_fit();
    // Whole characters were copied, so this cannot fail.
    String::from_utf8(out).expect("UTF-8 in, UTF-8 out")
}

/// Where the text from `i` (not white space) stops being its own collapsed
/// form: at the first white space character that is not a single ASCII
/// space between two other characters, or at the end.
fn verbatim_end(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    loop {
        // Eight ASCII bytes at a time: no control character (tabs and
        // line breaks among them), no two spaces side by side, and not a
        // space last, whose next byte is not in view. The chunk starts
        // after a character that is not a space (the run's first, or one
        // a chunk or the loop below took), so each space in it is single.
        while let Some(chunk) = b.get(i..i + 8) {
            let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            // Below 0x20, exact for ASCII bytes (the high bits are clear).
            let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
            let y = x ^ (ONES * 0x20);
            let spaces = !(((y & LOW7) + LOW7) | y | LOW7);
            if x & HIGH != 0 || control != 0 || spaces & (spaces << 8) != 0 || spaces >> 56 != 0 {
                break;
            }
            i += 8;
        }
        // Then a byte at a time, as far as the next chunk.
        let stop = (i + 8).min(b.len());
        while i < stop {
            let c = b[i];
            if c == b' ' {
                if i + 1 == b.len() || whitespace_len(b, i + 1) > 0 {
                    return i;
                }
            } else if MAY_START_SPACE[usize::from(c)] && whitespace_len(b, i) > 0 {
                return i;
            }
            i += 1;
        }
        if i == b.len() {
            return i;
        }
    }
}

/// The bytes a white space character's encoding can start with: inside a
/// word, every other byte is passed over with one table lookup.
const MAY_START_SPACE: [bool; 256] = {
    let mut t = [false; 256];
    let starts: [u8; 10] = [
        b' ', b'\t', b'\n', 0x0B, 0x0C, b'\r', 0xC2, 0xE1, 0xE2, 0xE3,
    ];
    let mut k = 0;
    while k < starts.len() {
        t[starts[k] as usize] = true;
        k += 1;
    }
    t
};

/// The length in bytes of the white space character (exactly those
/// `char::is_whitespace` takes) that starts at `i` of UTF-8 text, or 0.
/// A continuation byte never matches: each encoding below starts with a
/// leading byte.
fn whitespace_len(b: &[u8], i: usize) -> usize {
    let at = |k: usize| b.get(i + k).copied();
    match b[i] {
        b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' => 1,
        0x00..=0x7F => 0,
        // U+0085, U+00A0
        0xC2 if matches!(at(1), Some(0x85 | 0xA0)) => 2,
        // U+1680
        0xE1 if at(1) == Some(0x9A) && at(2) == Some(0x80) => 3,
        // U+2000–U+200A, U+2028, U+2029, U+202F; U+205F
        0xE2 => match (at(1), at(2)) {
            (Some(0x80), Some(0x80..=0x8A | 0xA8 | 0xA9 | 0xAF)) | (Some(0x81), Some(0x9F)) => 3,
            _ => 0,
        },
        // U+3000
        0xE3 if at(1) == Some(0x80) && at(2) == Some(0x80) => 3,
        _ => 0,
    }
}

/// Joins the collapsed cells of a table row. Empty cells are left out:
/// pages use them as spacers in layout tables, and they would only add
/// stray separators to the clause.
pub(crate) fn join_cells(cells: &[String]) -> String {
    let filled: Vec<&str> = cells
        .iter()
        .map(String::as_str)
        .filter(|c| !c.is_empty())
        .collect();
    filled.join(" | ")
}

/// Stands for a line break (`<br>`, a Markdown hard break) in block text
/// until blocks are finished. A control character that has no business in
/// page text; the extractors delete it from text so that it only ever marks
/// a break.
pub(crate) const BR: char = '\u{1}';

/// Splits text where two or more breaks follow each other with only
/// whitespace between them.
pub(crate) fn split_at_double_break(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut run: Option<(usize, usize)> = None; // (byte offset, breaks)
    for (i, c) in text.char_indices() {
        if c == BR {
            run = Some(run.map_or((i, 1), |(at, n)| (at, n + 1)));
        } else if !c.is_whitespace() {
            if let Some((at, n)) = run.take() {
                if n >= 2 {
                    parts.push(&text[start..at]);
                    start = i;
                }
            }
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The text of a line that starts with a list marker (`* `, `- `, `+ `,
/// `• `), without it.
fn list_line(line: &str) -> Option<&str> {
    let t = line.trim_start();
    ["* ", "- ", "+ ", "• "]
        .iter()
        .find_map(|m| t.strip_prefix(m))
        .filter(|rest| !rest.trim().is_empty())
}

/// Does a table row's cell text hold more than one block: a blank line or
/// list lines between its breaks? Such a row is a layout row holding a
/// section (Google's "Why and how we process data" table), not one clause.
pub(crate) fn cells_hold_blocks(cells: &[String]) -> bool {
    cells.iter().any(|cell| {
        cell.contains(BR)
            && (split_at_double_break(cell).len() > 1
                || cell.split(BR).any(|l| list_line(l).is_some()))
    })
}

/// Collects blocks, collapsing whitespace and dropping empty ones.
#[derive(Default)]
pub(crate) struct BlockSink {
    blocks: Vec<Block>,
}

impl BlockSink {
    pub(crate) fn push(&mut self, kind: ClauseKind, text: &str) {
        let text = collapse_ws(text);
        if !text.is_empty() {
            self.blocks.push(Block { kind, text });
        }
    }

    /// Pushes a block whose text may hold break markers. A paragraph splits
    /// at double breaks, and its lines that start with a list marker are
    /// list items: a converter that wrote a list as `<br>* item` lines (a
    /// list inside a table cell, which Markdown cannot hold) leaves the
    /// markers in the text, where a reader would see stray asterisks.
    pub(crate) fn push_broken(&mut self, kind: ClauseKind, text: &str) {
        // Most blocks hold no break at all: nothing to split or replace.
        if !text.contains(BR) {
            return self.push(kind, text);
        }
        if kind != ClauseKind::Paragraph {
            return self.push(kind, &text.replace(BR, " "));
        }
        for part in split_at_double_break(text) {
            if !part.split(BR).any(|l| list_line(l).is_some()) {
                self.push(kind, &part.replace(BR, " "));
                continue;
            }
            let mut current: Option<(ClauseKind, String)> = None;
            for line in part.split(BR) {
                if let Some(item) = list_line(line) {
                    if let Some((kind, text)) = current.take() {
                        self.push(kind, &text);
                    }
                    current = Some((ClauseKind::ListItem, item.to_string()));
                } else {
                    // A line after an item continues it; lines before the
                    // first item are the paragraph that introduces the list.
                    let (_, text) =
                        current.get_or_insert_with(|| (ClauseKind::Paragraph, String::new()));
                    text.push(' ');
                    text.push_str(line);
                }
            }
            if let Some((kind, text)) = current {
                self.push(kind, &text);
            }
        }
    }

    pub(crate) fn finish(self) -> Extracted {
        Extracted {
            blocks: self.blocks,
        }
    }
}

/// Reads an edge-case fixture from `src/pipeline/extract/testdata/`.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> String {
    let path = format!(
        "{}/src/pipeline/extract/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_text_collapses_as_unicode_text_does() {
        let unicode = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        for s in [
            "",
            "   ",
            "one",
            "  one \t two\n\nthree  ",
            "a\x0bb\x0cc\rd",
            "\x0b lead and trail \x0c",
            "keep\x1fcontrol\x01chars",
        ] {
            assert_eq!(collapse_ws(s), unicode(s), "{s:?}");
        }
        // Not ASCII: no-break and ideographic spaces are whitespace too.
        assert_eq!(collapse_ws("a\u{a0} b\u{3000}c"), "a b c");
    }

    #[test]
    fn collapsing_agrees_with_unicode_at_every_offset_of_the_eight_byte_chunks() {
        let unicode = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        // Pieces that straddle chunk boundaries at every offset: single and
        // double spaces, tabs, no-break and other Unicode spaces, curly
        // quotes whose encodings start like white space, control bytes.
        let pieces = [
            "a", "bc", "defghij", " ", "  ", "\t", "\n ", "\u{a0}", "\u{2019}", "\u{2003}",
            "\u{3000}", "\u{3001}", "\x01", "xyz.", " \u{85}",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut s = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let mut r = state;
            for _ in 0..len {
                r = r
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push_str(pieces[(r >> 33) as usize % pieces.len()]);
            }
            assert_eq!(collapse_ws(&s), unicode(&s), "{s:?}");
        }
    }

    #[test]
    fn every_character_is_white_space_to_collapse_ws_exactly_when_unicode_says() {
        let unicode = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s = format!("a{c}b {c}");
            assert_eq!(collapse_ws(&s), unicode(&s), "U+{:04X}", c as u32);
        }
        // Characters whose encodings share leading bytes with white space.
        let s = "\u{2019}\u{2010}\u{200b}\u{3001}\u{1681}\u{a9}\u{85}x\u{2060}";
        assert_eq!(collapse_ws(s), unicode(s));
    }

    #[test]
    fn to_text_renders_each_kind() {
        let ex = Extracted {
            blocks: vec![
                Block {
                    kind: ClauseKind::Heading { level: 2 },
                    text: "Title".into(),
                },
                Block {
                    kind: ClauseKind::Paragraph,
                    text: "Body.".into(),
                },
                Block {
                    kind: ClauseKind::ListItem,
                    text: "Item".into(),
                },
                Block {
                    kind: ClauseKind::TableRow,
                    text: "a | b".into(),
                },
            ],
        };
        assert_eq!(ex.to_text(), "## Title\n\nBody.\n\n- Item\n\n| a | b |");
        assert_eq!(ex.char_count(), 5 + 5 + 4 + 5);
    }

    #[test]
    fn guess_prefers_extension_then_content_type_then_body() {
        assert_eq!(
            Format::guess("a/b.md", Some("text/plain"), "<html>"),
            Format::Markdown
        );
        assert_eq!(
            Format::guess(
                "https://x.com/en/privacy?x=1",
                Some("text/html; charset=utf-8"),
                ""
            ),
            Format::Html
        );
        assert_eq!(
            Format::guess(
                "https://x.com/p",
                Some("text/plain"),
                "<!DOCTYPE html><html>"
            ),
            Format::Html
        );
        assert_eq!(
            Format::guess("https://x.com/p", None, "Title\n=====\n\nText"),
            Format::Markdown
        );
        assert_eq!(
            Format::guess("https://x.com/p", None, "Just some words.\n\nMore."),
            Format::Text
        );
        assert_eq!(
            Format::guess("notes.txt", Some("text/html"), "# x"),
            Format::Text
        );
    }

    #[test]
    fn extract_rejects_short_text() {
        let rules = Rules {
            min_chars: 50,
            ..Rules::default()
        };
        let err = extract("Short text.", Format::Text, &rules).unwrap_err();
        assert_eq!(err, ExtractError::TooShort { chars: 11, min: 50 });
        assert!(extract(
            "Short text.",
            Format::Text,
            &Rules {
                min_chars: 11,
                ..rules
            }
        )
        .is_ok());
    }
}
