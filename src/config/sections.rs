//! Where the `[[documents]]` tables of a `bot.toml` are, found without
//! parsing it.
//!
//! A TOML parser keeps the whole file as a tree (every key and value with
//! its position and formatting) until it is deserialized: about 2.3 KB per
//! `[[documents]]` table, 23 MB for 10,000 documents, where the documents
//! themselves need a fraction of it. Cut at its table headers, the file is
//! parsed a table at a time instead: each document's tree is dropped as
//! soon as the document is read.
//!
//! This only needs to know which lines are table headers, so it follows
//! just enough of TOML for that: strings (which may hold a `[` at the start
//! of a line), comments, and brackets (a line of a multi-line array may
//! start with `[`). A file it misreads is one TOML rejects anyway, and the
//! parts are then parsed by TOML itself, which reports the error.

use std::ops::Range;

/// What a table header names.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    /// `[[documents]]`: the start of a document.
    Document,
    /// `[documents.x]` or `[[documents.x]]`: part of the document before it.
    InDocument,
    /// Any other table.
    Other,
}

/// The byte ranges of the `[[documents]]` tables of `text`, in order, each
/// from the start of its header's line to the start of the next header
/// that is not part of it (or the end of the text).
pub(super) fn document_tables(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut tables = Vec::new();
    let mut open: Option<usize> = None;
    let mut depth = 0usize;
    let mut line_start = true;
    // A byte-order mark is not part of the first line's text.
    let mut i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    while i < b.len() {
        if line_start && depth == 0 {
            let first = i + b[i..]
                .iter()
                .take_while(|c| matches!(c, b' ' | b'\t'))
                .count();
            if b.get(first) == Some(&b'[') {
                let end = line_end(b, first);
                match header(&text[first..end]) {
                    Header::Document => {
                        if let Some(start) = open.replace(i) {
                            tables.push(start..i);
                        }
                    }
                    Header::InDocument if open.is_some() => {}
                    Header::InDocument | Header::Other => {
                        if let Some(start) = open.take() {
                            tables.push(start..i);
                        }
                    }
                }
                // A header is one line; its comment ends with it.
                i = end;
                line_start = false;
                continue;
            }
        }
        line_start = false;
        match b[i] {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'#' => i = line_end(b, i),
            b'"' | b'\'' => i = string_end(b, i),
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    if let Some(start) = open {
        tables.push(start..b.len());
    }
    tables
}

/// The position of the newline ending the line at `from` (or the end).
fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |n| from + n)
}

/// Where the string opening at `at` ends (just past its closing quote).
/// Basic strings (`"`) have escapes, literal ones (`'`) do not; a tripled
/// quote opens a multi-line string, whose closing run may hold up to two
/// more quotes that belong to its content. An unclosed one-line string ends
/// at its line's end, an unclosed multi-line one at the end of the text.
fn string_end(b: &[u8], at: usize) -> usize {
    let quote = b[at];
    let escapes = quote == b'"';
    let multi = b[at..].starts_with(&[quote; 3]);
    let mut i = at + if multi { 3 } else { 1 };
    while i < b.len() {
        let c = b[i];
        if escapes && c == b'\\' {
            i += 2;
            continue;
        }
        if !multi && c == b'\n' {
            return i;
        }
        if c == quote {
            if !multi {
                return i + 1;
            }
            let run = b[i..].iter().take_while(|&&q| q == quote).count();
            if run >= 3 {
                return i + run;
            }
            i += run;
            continue;
        }
        i += 1;
    }
    b.len()
}

/// Reads a header line (from its first `[`): which table it names.
fn header(line: &str) -> Header {
    let (array, rest) = match line.strip_prefix("[[") {
        Some(rest) => (true, rest),
        None => (false, &line[1..]),
    };
    let keys = header_keys(rest);
    match keys.first().map(String::as_str) {
        Some("documents") if keys.len() == 1 && array => Header::Document,
        Some("documents") if keys.len() > 1 => Header::InDocument,
        _ => Header::Other,
    }
}

/// The dotted keys of a header, up to its closing `]`, unquoted (escapes in
/// quoted keys are left as written: only `documents` matters here).
fn header_keys(rest: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut key = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    key.push(q);
                }
            }
            '.' => keys.push(std::mem::take(&mut key)),
            ']' => break,
            c if c.is_whitespace() => {}
            c => key.push(c),
        }
    }
    keys.push(key);
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(text: &str) -> Vec<&str> {
        document_tables(text)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn each_document_runs_to_the_next_other_table() {
        let text = "[defaults]\nschedule = \"@daily\"\n\n[[documents]]\nid = \"a\"\n\n\
                    [[ documents ]] # second\nid = \"b\"\n[documents.extra]\nx = 1\n\
                    [storage]\npath = \"x.db\"\n  [[\"documents\"]]\nid = \"c\"\n";
        assert_eq!(
            tables(text),
            [
                "[[documents]]\nid = \"a\"\n\n",
                "[[ documents ]] # second\nid = \"b\"\n[documents.extra]\nx = 1\n",
                "  [[\"documents\"]]\nid = \"c\"\n",
            ]
        );
    }

    #[test]
    fn brackets_in_strings_comments_and_arrays_are_not_headers() {
        let text = "[[documents]]\nid = \"a\"\nselect = [\n[\"nested\"],\n\"#main\",\n]\n\
                    name = \"\"\"\n[defaults]\n\"\"\"\"\nservice = '''\n[[documents]]'''\n\
                    # [storage]\nurl = \"x\\\"[y]\"\n[[documents]]\nid = \"b\"\n";
        let found = tables(text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].ends_with("url = \"x\\\"[y]\"\n"), "{found:#?}");
        assert_eq!(found[1], "[[documents]]\nid = \"b\"\n");
    }

    #[test]
    fn a_documents_table_that_is_not_an_array_is_left_to_the_rest() {
        assert!(tables("[documents]\nid = \"a\"\n[documents.x]\ny = 1\n").is_empty());
        assert!(tables("documents = [{ id = \"a\" }]\n").is_empty());
    }
}
