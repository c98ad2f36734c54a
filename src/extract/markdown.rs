//! Markdown to blocks.
//!
//! Aimed at the Markdown Open Terms Archive stores (turndown output: setext
//! `h1`/`h2`, `*   ` bullets, backslash-escaped punctuation) but written
//! against CommonMark rules where it matters for the text: emphasis
//! delimiters only count when they flank words, so underscores inside words
//! and asterisks in arithmetic survive.

use super::{BlockSink, ClauseKind, Extracted};

/// Extracts the blocks of a Markdown document. Markup is dropped: links
/// become their text, images disappear, emphasis, code backticks, escapes
/// and inline HTML tags are removed.
pub fn extract_markdown(md: &str) -> Extracted {
    let lines: Vec<&str> = md.lines().collect();
    let mut sink = BlockSink::default();
    parse_blocks(&lines, &mut sink);
    sink.finish()
}

/// The block being accumulated from consecutive lines.
#[derive(Default)]
struct Open<'a> {
    lines: Vec<&'a str>,
    kind: Option<ClauseKind>,
    /// A blank line was seen inside the open list item; only indented lines
    /// continue it after that.
    blank_in_item: bool,
}

impl<'a> Open<'a> {
    fn flush(&mut self, sink: &mut BlockSink) {
        if let Some(kind) = self.kind.take() {
            sink.push(kind, &inline(&join_lines(&self.lines)));
        }
        self.lines.clear();
        self.blank_in_item = false;
    }

    fn start(&mut self, kind: ClauseKind, first: &'a str, sink: &mut BlockSink) {
        self.flush(sink);
        self.kind = Some(kind);
        self.lines.push(first);
    }

    fn is(&self, kind: ClauseKind) -> bool {
        self.kind == Some(kind)
    }
}

fn parse_blocks(lines: &[&str], sink: &mut BlockSink) {
    let mut open = Open::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();

        if trimmed.is_empty() {
            if open.is(ClauseKind::ListItem) {
                open.blank_in_item = true;
            } else {
                open.flush(sink);
            }
            continue;
        }
        if let Some(fence) = fence_start(line) {
            open.flush(sink);
            let mut body = Vec::new();
            while i < lines.len() && !is_fence_end(lines[i], fence) {
                body.push(lines[i]);
                i += 1;
            }
            i += 1; // closing fence (or end of input)
                    // Code is quoted as-is: no inline processing.
            sink.push(ClauseKind::Paragraph, &body.join(" "));
            continue;
        }
        if indent <= 3 {
            if let Some((level, text)) = atx_heading(trimmed) {
                open.flush(sink);
                sink.push(ClauseKind::Heading { level }, &inline(text));
                continue;
            }
            if open.is(ClauseKind::Paragraph) {
                if let Some(level) = setext_level(trimmed) {
                    let text = inline(&join_lines(&open.lines));
                    open.kind = None;
                    open.flush(sink);
                    sink.push(ClauseKind::Heading { level }, &text);
                    continue;
                }
            }
            if is_thematic_break(trimmed) {
                open.flush(sink);
                continue;
            }
            if trimmed.starts_with('>') {
                open.flush(sink);
                let mut quoted = vec![strip_quote_marker(trimmed)];
                while i < lines.len() && lines[i].trim_start().starts_with('>') {
                    quoted.push(strip_quote_marker(lines[i].trim_start()));
                    i += 1;
                }
                parse_blocks(&quoted, sink);
                continue;
            }
        }
        if trimmed.starts_with('|') {
            open.flush(sink);
            if let Some(row) = table_row(trimmed) {
                sink.push(ClauseKind::TableRow, &row);
            }
            continue;
        }
        if let Some((ordinal, content)) = list_item(trimmed) {
            // Like CommonMark, only "1." may interrupt a paragraph: a wrapped
            // line that happens to start with "2021. " is still prose.
            let interrupts = !open.is(ClauseKind::Paragraph) || ordinal.is_none_or(|n| n == 1);
            if interrupts {
                open.start(ClauseKind::ListItem, content, sink);
                continue;
            }
        }
        if open.is(ClauseKind::ListItem) && open.blank_in_item && indent < 2 {
            open.flush(sink);
        }
        match open.kind {
            Some(ClauseKind::ListItem) | Some(ClauseKind::Paragraph) => open.lines.push(trimmed),
            _ => open.start(ClauseKind::Paragraph, trimmed, sink),
        }
    }
    open.flush(sink);
}

/// Joins the lines of one block with spaces, dropping hard-break markers
/// (trailing backslash) that only make sense before a newline.
fn join_lines(lines: &[&str]) -> String {
    let last = lines.len().saturating_sub(1);
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        let mut l = line.trim();
        if n < last && l.ends_with('\\') && !l.ends_with("\\\\") {
            l = &l[..l.len() - 1];
        }
        if n > 0 {
            out.push(' ');
        }
        out.push_str(l);
    }
    out
}

fn fence_start(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start();
    let c = t.chars().next().filter(|&c| c == '`' || c == '~')?;
    let n = t.chars().take_while(|&x| x == c).count();
    (n >= 3 && line.len() - t.len() <= 3).then_some((c, n))
}

fn is_fence_end(line: &str, (c, n): (char, usize)) -> bool {
    let t = line.trim();
    t.chars().take_while(|&x| x == c).count() >= n && t.chars().all(|x| x == c)
}

fn atx_heading(t: &str) -> Option<(u8, &str)> {
    let level = t.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut text = rest.trim();
    // Optional closing sequence: "## Title ##".
    let without = text.trim_end_matches('#');
    if without.len() < text.len() && (without.is_empty() || without.ends_with([' ', '\t'])) {
        text = without.trim_end();
    }
    Some((level as u8, text))
}

fn setext_level(t: &str) -> Option<u8> {
    if t.chars().all(|c| c == '=') {
        Some(1)
    } else if t.chars().all(|c| c == '-') {
        Some(2)
    } else {
        None
    }
}

fn is_thematic_break(t: &str) -> bool {
    let mut chars = t.chars().filter(|c| !c.is_whitespace());
    let Some(first) = chars.next() else {
        return false;
    };
    matches!(first, '-' | '*' | '_')
        && t.chars().filter(|&c| c == first).count() >= 3
        && chars.all(|c| c == first)
}

fn strip_quote_marker(t: &str) -> &str {
    let rest = &t[1..];
    rest.strip_prefix(' ').unwrap_or(rest)
}

/// Returns the ordinal (for numbered items) and the content of a list item
/// line, if it is one. A marker needs a following space, so "**bold**" and
/// "-5" are not items.
fn list_item(t: &str) -> Option<(Option<u64>, &str)> {
    let (ordinal, rest) = if let Some(rest) = t.strip_prefix(['-', '*', '+']) {
        (None, rest)
    } else {
        let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let rest = t[digits..].strip_prefix(['.', ')'])?;
        (t[..digits].parse().ok(), rest)
    };
    if rest.is_empty() {
        return Some((ordinal, rest));
    }
    rest.starts_with([' ', '\t'])
        .then(|| (ordinal, rest.trim_start()))
}

/// Cells of a table row joined with " | "; `None` for the `|---|` separator.
fn table_row(t: &str) -> Option<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cell.push(c);
                if let Some(n) = chars.next() {
                    cell.push(n);
                }
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    // The row starts with '|', so the first split is empty; a trailing pipe
    // leaves an empty last one.
    cells.remove(0);
    if cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    let is_separator = !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim();
            !c.is_empty() && c.contains('-') && c.chars().all(|x| matches!(x, '-' | ':'))
        });
    if is_separator {
        return None;
    }
    let cells: Vec<String> = cells
        .iter()
        .map(|c| super::collapse_ws(&inline(c)))
        .collect();
    Some(super::join_cells(&cells))
}

/// Inline tokens before emphasis matching.
enum Tok {
    Text(String),
    Delim {
        ch: char,
        len: usize,
        open: bool,
        close: bool,
        used: usize,
    },
}

fn push_char(toks: &mut Vec<Tok>, c: char) {
    if let Some(Tok::Text(t)) = toks.last_mut() {
        t.push(c);
    } else {
        toks.push(Tok::Text(c.to_string()));
    }
}

fn push_text(toks: &mut Vec<Tok>, s: &str) {
    if let Some(Tok::Text(t)) = toks.last_mut() {
        t.push_str(s);
    } else {
        toks.push(Tok::Text(s.to_string()));
    }
}

/// Markdown inline markup to plain text.
pub(crate) fn inline(src: &str) -> String {
    inline_at(src, 0)
}

/// Links nested deeper than this keep their inner markup: real documents
/// never nest links, and the bound keeps hostile input from exhausting the
/// stack.
const MAX_LINK_NESTING: usize = 8;

fn inline_at(src: &str, depth: usize) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut toks: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) => {
                push_char(&mut toks, chars[i + 1]);
                i += 2;
            }
            '`' => {
                let n = run_len(&chars, i, '`');
                match find_code_end(&chars, i + n, n) {
                    Some(end) => {
                        let code: String = chars[i + n..end].iter().collect();
                        push_text(&mut toks, &code);
                        i = end + n;
                    }
                    None => {
                        push_text(&mut toks, &"`".repeat(n));
                        i += n;
                    }
                }
            }
            '!' if chars.get(i + 1) == Some(&'[') => match parse_link(&chars, i + 1) {
                // Images are dropped, alt text included (see module docs).
                Some((_, end)) => i = end,
                None => {
                    push_text(&mut toks, "!");
                    i += 1;
                }
            },
            '[' => match parse_link(&chars, i) {
                Some((text, end)) => {
                    if depth < MAX_LINK_NESTING {
                        push_text(&mut toks, &inline_at(&text, depth + 1));
                    } else {
                        push_text(&mut toks, &text);
                    }
                    i = end;
                }
                None => {
                    push_text(&mut toks, "[");
                    i += 1;
                }
            },
            '<' => match parse_angle(&chars, i) {
                Some((replacement, end)) => {
                    push_text(&mut toks, &replacement);
                    i = end;
                }
                None => {
                    push_text(&mut toks, "<");
                    i += 1;
                }
            },
            '&' => match parse_entity(&chars, i) {
                Some((decoded, end)) => {
                    push_char(&mut toks, decoded);
                    i = end;
                }
                None => {
                    push_text(&mut toks, "&");
                    i += 1;
                }
            },
            '*' | '_' => {
                let len = run_len(&chars, i, c);
                let prev = if i == 0 { ' ' } else { chars[i - 1] };
                let next = chars.get(i + len).copied().unwrap_or(' ');
                let left = !next.is_whitespace()
                    && (!is_punct(next) || prev.is_whitespace() || is_punct(prev));
                let right = !prev.is_whitespace()
                    && (!is_punct(prev) || next.is_whitespace() || is_punct(next));
                let (open, close) = if c == '*' {
                    (left, right)
                } else {
                    // Underscores never open or close inside a word.
                    (
                        left && (!right || is_punct(prev)),
                        right && (!left || is_punct(next)),
                    )
                };
                toks.push(Tok::Delim {
                    ch: c,
                    len,
                    open,
                    close,
                    used: 0,
                });
                i += len;
            }
            _ => {
                push_char(&mut toks, c);
                i += 1;
            }
        }
    }
    match_emphasis(&mut toks);
    let mut out = String::new();
    for tok in toks {
        match tok {
            Tok::Text(t) => out.push_str(&t),
            Tok::Delim { ch, len, used, .. } => out.extend(std::iter::repeat_n(ch, len - used)),
        }
    }
    out
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() || (!c.is_alphanumeric() && !c.is_whitespace())
}

fn run_len(chars: &[char], i: usize, c: char) -> usize {
    chars[i..].iter().take_while(|&&x| x == c).count()
}

fn find_code_end(chars: &[char], from: usize, n: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == '`' {
            let m = run_len(chars, j, '`');
            if m == n {
                return Some(j);
            }
            j += m;
        } else {
            j += 1;
        }
    }
    None
}

/// Pairs emphasis openers with closers of the same character (CommonMark's
/// delimiter stack, without the rule of three) and marks the paired
/// characters as used so they are not printed.
fn match_emphasis(toks: &mut [Tok]) {
    let mut openers: Vec<usize> = Vec::new();
    for idx in 0..toks.len() {
        let Tok::Delim {
            ch, open, close, ..
        } = toks[idx]
        else {
            continue;
        };
        if close {
            while remaining(&toks[idx]) > 0 {
                let Some(pos) = openers
                    .iter()
                    .rposition(|&o| matches!(toks[o], Tok::Delim { ch: oc, .. } if oc == ch))
                else {
                    break;
                };
                let o = openers[pos];
                let n = remaining(&toks[o]).min(remaining(&toks[idx])).min(2);
                use_up(&mut toks[o], n);
                use_up(&mut toks[idx], n);
                // Openers between the pair can no longer match anything.
                openers.truncate(if remaining(&toks[o]) == 0 {
                    pos
                } else {
                    pos + 1
                });
            }
        }
        if open && remaining(&toks[idx]) > 0 {
            openers.push(idx);
        }
    }
}

fn remaining(tok: &Tok) -> usize {
    match tok {
        Tok::Delim { len, used, .. } => len - used,
        Tok::Text(_) => 0,
    }
}

fn use_up(tok: &mut Tok, n: usize) {
    if let Tok::Delim { used, .. } = tok {
        *used += n;
    }
}

/// Parses `[text](destination "title")` starting at `start` (the `[`).
/// Returns the raw link text and the index after the closing `)`.
fn parse_link(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut depth = 0usize;
    let mut j = start;
    let close = loop {
        match chars.get(j)? {
            '\\' => j += 1,
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    break j;
                }
            }
            _ => {}
        }
        j += 1;
    };
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let mut j = close + 2;
    let mut depth = 1usize;
    let mut quote: Option<char> = None;
    loop {
        let c = *chars.get(j)?;
        match (quote, c) {
            (_, '\\') => j += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if j > 0 && chars[j - 1].is_whitespace() => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        j += 1;
    }
    Some((chars[start + 1..close].iter().collect(), j + 1))
}

/// Autolinks (`<https://…>`) become their address; HTML comments and tags
/// are removed, with a space for `<br>` and block-level tags so words on
/// either side stay apart.
fn parse_angle(chars: &[char], start: usize) -> Option<(String, usize)> {
    let rest: String = chars[start..].iter().take(2048).collect();
    if rest.starts_with("<!--") {
        let end = rest.find("-->")?;
        return Some((String::new(), start + rest[..end + 3].chars().count()));
    }
    let end = rest.find('>')?;
    let inner = &rest[1..end];
    let consumed = start + rest[..=end].chars().count();
    if inner.contains(['<', '\n']) || inner.is_empty() {
        return None;
    }
    if !inner.contains(char::is_whitespace)
        && (inner.contains("://") || inner.starts_with("mailto:") || is_email(inner))
    {
        return Some((inner.trim_start_matches("mailto:").to_string(), consumed));
    }
    let name_part = inner.strip_prefix('/').unwrap_or(inner);
    let name: String = name_part
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let after = &name_part[name.len()..];
    if !(after.is_empty() || after.starts_with(char::is_whitespace) || after.starts_with('/')) {
        return None;
    }
    let name = name.to_ascii_lowercase();
    let spaced = matches!(
        name.as_str(),
        "br" | "p"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "hr"
            | "section"
            | "blockquote"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "dd"
            | "dt"
    );
    Some((if spaced { " ".into() } else { String::new() }, consumed))
}

fn is_email(s: &str) -> bool {
    s.split_once('@')
        .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
}

/// Decodes `&amp;`-style entities Markdown allows in text (numeric ones and
/// the common named ones).
fn parse_entity(chars: &[char], start: usize) -> Option<(char, usize)> {
    let semi = chars[start..].iter().take(12).position(|&c| c == ';')? + start;
    let name: String = chars[start + 1..semi].iter().collect();
    let decoded = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        match name.as_str() {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{00A0}',
            "shy" => '\u{00AD}',
            "ndash" => '\u{2013}',
            "mdash" => '\u{2014}',
            "hellip" => '\u{2026}',
            "lsquo" => '\u{2018}',
            "rsquo" => '\u{2019}',
            "ldquo" => '\u{201C}',
            "rdquo" => '\u{201D}',
            "laquo" => '\u{00AB}',
            "raquo" => '\u{00BB}',
            "copy" => '\u{00A9}',
            "reg" => '\u{00AE}',
            "trade" => '\u{2122}',
            _ => return None,
        }
    };
    Some((decoded, semi + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{fixture, Block};

    fn blocks(md: &str) -> Vec<(ClauseKind, String)> {
        extract_markdown(md)
            .blocks
            .into_iter()
            .map(|Block { kind, text }| (kind, text))
            .collect()
    }

    #[test]
    fn inline_markup_is_removed() {
        assert_eq!(
            inline("**[Learn what’s viewable](#chapter3 \"3.1 When (you) post\")**"),
            "Learn what’s viewable"
        );
        assert_eq!(inline("a [link](https://e.com/a_(b)) here"), "a link here");
        assert_eq!(inline("see ![logo](x.png \"t\") now"), "see  now");
        assert_eq!(
            inline("1\\. Info \\- \\* \\[x\\] \\_y\\_ \\#"),
            "1. Info - * [x] _y_ #"
        );
        assert_eq!(
            inline("__bold__ and _it_ and *em* and ***both***"),
            "bold and it and em and both"
        );
        assert_eq!(
            inline("snake_case_name and 2 * 3 * 4 and a*b"),
            "snake_case_name and 2 * 3 * 4 and a*b"
        );
        assert_eq!(inline("use `x_y *z*` code"), "use x_y *z* code");
        assert_eq!(
            inline("one<br>two<br/>three <span class=\"a\">four</span>"),
            "one two three four"
        );
        assert_eq!(
            inline("a < b and <https://x.com/a> &amp; &#8217; &copy; &bogus;"),
            "a < b and https://x.com/a & ’ © &bogus;"
        );
        assert_eq!(inline("[not a link] and [x]"), "[not a link] and [x]");
        assert_eq!(inline("[[**in**](b)](a)"), "in");
        let deep = format!("{}x{}", "[".repeat(10_000), "](u)".repeat(10_000));
        // Beyond the nesting bound the rest is kept as written, not recursed.
        let out = inline(&deep);
        assert_eq!(out.matches("](u)").count(), 10_000 - MAX_LINK_NESTING - 1);
    }

    #[test]
    fn headings_paragraphs_and_setext() {
        let got = blocks("Title\n=====\n\nSub\n---\n\n### Third ###\n\nline one\nline two  \nline three\n\n---\n\n####### seven");
        assert_eq!(
            got,
            vec![
                (ClauseKind::Heading { level: 1 }, "Title".into()),
                (ClauseKind::Heading { level: 2 }, "Sub".into()),
                (ClauseKind::Heading { level: 3 }, "Third".into()),
                (ClauseKind::Paragraph, "line one line two line three".into()),
                (ClauseKind::Paragraph, "####### seven".into()),
            ]
        );
    }

    #[test]
    fn nested_lists_fixture() {
        let got = blocks(&fixture("nested-lists.md"));
        let texts: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Intro.",
                "First item continues on a second line.",
                "Nested one",
                "Nested two",
                "Second item with a second paragraph.",
                "Numbered",
                "Two",
                "After the list.",
                "Year 2021. Not a list item.",
            ]
        );
        assert!(got[1..7].iter().all(|(k, _)| *k == ClauseKind::ListItem));
        assert_eq!(got[7].0, ClauseKind::Paragraph);
    }

    #[test]
    fn tables_quotes_and_code_fixture() {
        let got = blocks(&fixture("table-quote-code.md"));
        assert_eq!(
            got,
            vec![
                (ClauseKind::TableRow, "Data | Purpose".into()),
                (ClauseKind::TableRow, "Email | Login | and pipe".into()),
                (ClauseKind::TableRow, "Phone".into()),
                (ClauseKind::Paragraph, "Quoted paragraph continues.".into()),
                (ClauseKind::ListItem, "quoted item".into()),
                (ClauseKind::Paragraph, "let x_y = *p; **not bold**".into()),
                (ClauseKind::Paragraph, "End.".into()),
            ]
        );
    }

    #[test]
    fn escapes_fixture() {
        let got = blocks(&fixture("markdown-escapes.md"));
        let texts: Vec<&str> = got.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "1. Information We Collect",
                "Prices: 5 * 3 = 15, file_name_here, C:\\path",
                "Learn how to contact us (or not).",
                "We collect some data about you",
            ]
        );
        assert_eq!(got[0].0, ClauseKind::Heading { level: 2 });
    }
}
