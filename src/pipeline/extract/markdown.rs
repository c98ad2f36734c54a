//! Markdown to blocks.
//!
//! Parsing is CommonMark (plus GFM tables) by `pulldown-cmark`; this module
//! only walks its events. The walk mirrors what the HTML extractor does with
//! the HTML the same Markdown renders to, so that a policy stored as Markdown
//! and fetched as HTML give the same blocks:
//!
//! * Headings, paragraphs, list items, code blocks and table rows are
//!   blocks. A list item takes all the text below it (its paragraphs, a
//!   heading or code block in it), except nested lists and tables, whose
//!   blocks follow the item's block.
//! * Block quotes only separate blocks: their paragraphs are paragraphs.
//! * A hard break is a space; two in a row split a paragraph, like two
//!   `<br>`.
//! * Links become their text, images are dropped with their alt text, code
//!   is quoted as written, escapes and entities become the plain character.
//! * Inline HTML tags are removed (a space for `<br>` and block-level tags);
//!   an HTML block goes through the HTML extractor.
//! * Table rows are their non-empty cells joined with " | ".
//!
//! One departure from CommonMark: a run of two or three `*` or `_` that is
//! no emphasis (left over from matching, or between spaces) is dropped
//! rather than printed, unless it sits inside a word (`snake__case`) or in
//! code. Converters that write the Markdown (turndown) leave such runs when
//! the page wraps line breaks in `<b>` (`with us.**  ` / `Ad partners.**`,
//! `**  ` before a break), and the page shows no asterisks there. Escaped
//! ones (`\*\*`) and longer runs (`____` blanks) stay.

use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{
    cells_hold_blocks, collapse_ws, extract_html, join_cells, Block, BlockSink, ClauseKind,
    Extracted, BR,
};

/// Extracts the blocks of a Markdown document. Markup is dropped: links
/// become their text, images disappear, emphasis, code backticks, escapes
/// and inline HTML tags are removed.
pub fn extract_markdown(md: &str) -> Extracted {
    let mut walk = Walk::new(md);
    for (event, range) in Parser::new_ext(md, Options::ENABLE_TABLES).into_offset_iter() {
        walk.event(event, range);
    }
    walk.finish()
}

/// What closing an element does.
enum Close {
    Nothing,
    /// Block markup inside a block: a word separator.
    Space,
    /// A table cell: its text, from this offset of the row's text, becomes
    /// a cell.
    Cell(usize),
    /// A table row: the collected cells become the row's text.
    Row(Vec<String>),
    /// An HTML block: the collected HTML goes through the HTML extractor.
    Html(String),
}

struct Frame {
    /// Index of the block receiving the text inside the element.
    target: Option<usize>,
    close: Close,
}

/// A run of unmatched emphasis delimiters being collected: the character
/// and the source range so far.
struct Run {
    ch: char,
    range: Range<usize>,
}

struct Walk<'a> {
    src: &'a str,
    blocks: Vec<Block>,
    frames: Vec<Frame>,
    /// Depth of images being skipped.
    skip: usize,
    /// Paragraph for text outside any block (not produced by the parser for
    /// valid input, kept so no text is ever lost).
    loose: Option<usize>,
    run: Option<Run>,
    /// Inside a code block: text is quoted as written.
    in_code: bool,
}

impl<'a> Walk<'a> {
    fn new(src: &'a str) -> Self {
        Walk {
            src,
            blocks: Vec::new(),
            frames: Vec::new(),
            skip: 0,
            loose: None,
            run: None,
            in_code: false,
        }
    }

    fn target(&self) -> Option<usize> {
        self.frames.last().and_then(|f| f.target)
    }

    fn open(&mut self, kind: ClauseKind) -> usize {
        self.loose = None;
        self.blocks.push(Block {
            kind,
            text: String::new(),
        });
        self.blocks.len() - 1
    }

    fn push_text(&mut self, text: &str) {
        let index = match self.target() {
            Some(index) => index,
            None => match self.loose {
                Some(index) => index,
                None => {
                    let index = self.open(ClauseKind::Paragraph);
                    self.loose = Some(index);
                    index
                }
            },
        };
        self.blocks[index].text.push_str(text);
    }

    /// A word separator; nothing outside a block.
    fn space(&mut self) {
        if let Some(index) = self.target() {
            self.blocks[index].text.push(' ');
        }
    }

    fn event(&mut self, event: Event<'a>, range: Range<usize>) {
        if self.skip > 0 {
            match event {
                Event::Start(Tag::Image { .. }) => self.skip += 1,
                Event::End(TagEnd::Image) => self.skip -= 1,
                _ => {}
            }
            return;
        }
        if let Event::Text(text) = &event {
            if self.extend_run(text, &range) {
                return;
            }
        }
        self.end_run();
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => {
                if !matches!(
                    tag,
                    TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link
                ) {
                    self.loose = None;
                }
                self.end(tag);
            }
            Event::Text(text) if !self.in_code && self.src.get(range.clone()) == Some(&*text) => {
                let text = self.drop_stray_runs(&text, range.start);
                self.push_text(&text.replace(BR, ""));
            }
            Event::Text(text) | Event::Code(text) => {
                if text.contains(BR) {
                    self.push_text(&text.replace(BR, ""));
                } else {
                    self.push_text(&text);
                }
            }
            Event::Html(html) => match self.frames.last_mut() {
                Some(Frame {
                    close: Close::Html(buf),
                    ..
                }) => buf.push_str(&html),
                _ => self.inline_html(&html),
            },
            Event::InlineHtml(html) => self.inline_html(&html),
            Event::SoftBreak => self.push_text(" "),
            Event::HardBreak => self.push_text(&BR.to_string()),
            Event::Rule => self.space(),
            // Not enabled in the parser options.
            Event::InlineMath(_)
            | Event::DisplayMath(_)
            | Event::FootnoteReference(_)
            | Event::TaskListMarker(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'a>) {
        let target = self.target();
        self.in_code |= matches!(tag, Tag::CodeBlock(_));
        let frame = match tag {
            Tag::Heading { level, .. }
                if target.is_some_and(|i| self.blocks[i].kind == ClauseKind::ListItem) =>
            {
                self.split_item(target);
                Frame {
                    target: Some(self.open(ClauseKind::Heading {
                        level: heading_level(level),
                    })),
                    close: Close::Nothing,
                }
            }
            Tag::Paragraph | Tag::Heading { .. } | Tag::CodeBlock(_) => {
                let kind = match tag {
                    Tag::Heading { level, .. } => ClauseKind::Heading {
                        level: heading_level(level),
                    },
                    _ => ClauseKind::Paragraph,
                };
                match target {
                    None => Frame {
                        target: Some(self.open(kind)),
                        close: Close::Nothing,
                    },
                    Some(_) => {
                        self.space();
                        Frame {
                            target,
                            close: Close::Space,
                        }
                    }
                }
            }
            Tag::Item => Frame {
                target: Some(self.open(ClauseKind::ListItem)),
                close: Close::Nothing,
            },
            // Inside an item, a nested list or table yields its own blocks
            // after the item's; the item's text continues after it.
            Tag::List(_) | Tag::Table(_) => Frame {
                target: None,
                close: Close::Nothing,
            },
            Tag::TableHead | Tag::TableRow => Frame {
                target: Some(self.open(ClauseKind::TableRow)),
                close: Close::Row(Vec::new()),
            },
            Tag::TableCell => {
                let start = target.map_or(0, |i| self.blocks[i].text.len());
                Frame {
                    target,
                    close: Close::Cell(start),
                }
            }
            Tag::HtmlBlock => Frame {
                target,
                close: Close::Html(String::new()),
            },
            Tag::Image { .. } => {
                self.skip = 1;
                return;
            }
            Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. } => Frame {
                target,
                close: Close::Nothing,
            },
            // Containers: block quotes (and, if ever enabled, definition
            // lists, footnotes, metadata) only separate blocks.
            Tag::BlockQuote(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::FootnoteDefinition(_)
            | Tag::MetadataBlock(_) => {
                self.space();
                Frame {
                    target,
                    close: Close::Space,
                }
            }
        };
        self.frames.push(frame);
    }

    /// A list item that holds a heading is a section, not one clause (a
    /// page laid out as a list of sections): the text before the heading
    /// is a paragraph, and what follows it in the item opens its own blocks.
    fn split_item(&mut self, item: Option<usize>) {
        let Some(item) = item else { return };
        self.blocks[item].kind = ClauseKind::Paragraph;
        for frame in &mut self.frames {
            if frame.target == Some(item) {
                frame.target = None;
            }
        }
    }

    fn end(&mut self, tag: TagEnd) {
        if tag == TagEnd::CodeBlock {
            self.in_code = false;
        }
        let Some(frame) = self.frames.pop() else {
            return;
        };
        match frame.close {
            Close::Nothing => {}
            Close::Space => self.space(),
            Close::Cell(start) => {
                if let Some(index) = frame.target {
                    let text = &mut self.blocks[index].text;
                    let cell = collapse_ws(&text[start..]);
                    text.truncate(start);
                    if let Some(Frame {
                        close: Close::Row(cells),
                        ..
                    }) = self.frames.last_mut()
                    {
                        cells.push(cell);
                    }
                }
            }
            Close::Row(cells) => {
                if let Some(index) = frame.target {
                    if cells_hold_blocks(&cells) {
                        // A table cell cannot hold blocks, so converters
                        // write them with breaks: each cell is then its own
                        // text, split into paragraphs and list items.
                        self.blocks.truncate(index);
                        self.blocks.extend(cells.into_iter().map(|text| Block {
                            kind: ClauseKind::Paragraph,
                            text,
                        }));
                    } else {
                        self.blocks[index].text = join_cells(&cells);
                    }
                }
            }
            Close::Html(html) => self.html_block(&html, frame.target),
        }
    }

    /// An HTML block: its blocks as extracted from HTML, or their text when
    /// it sits inside a block.
    fn html_block(&mut self, html: &str, target: Option<usize>) {
        let Ok(extracted) = extract_html(html, &super::Rules::default()) else {
            return;
        };
        match target {
            None => self.blocks.extend(extracted.blocks),
            Some(_) => {
                for block in extracted.blocks {
                    self.space();
                    self.push_text(&block.text);
                }
                self.space();
            }
        }
    }

    /// Inline HTML: tags are removed; `<br>` is a break and block-level
    /// tags separate words, as in the HTML extractor.
    fn inline_html(&mut self, html: &str) {
        let Some(rest) = html.strip_prefix('<') else {
            return self.push_text(html);
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match name.as_str() {
            "br" => self.push_text(&BR.to_string()),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "p" | "dt" | "dd" | "pre"
            | "caption" | "figcaption" | "summary" | "legend" | "tr" | "ul" | "ol" | "menu"
            | "dl" | "table" | "div" | "section" | "article" | "main" | "header" | "footer"
            | "nav" | "aside" | "blockquote" | "address" | "details" | "dialog" | "fieldset"
            | "figure" | "form" | "hgroup" | "center" | "body" | "html" | "thead" | "tbody"
            | "tfoot" | "search" | "hr" | "td" | "th" | "wbr" => self.push_text(" "),
            _ => {}
        }
    }

    /// Collects a text event that is one unmatched emphasis delimiter
    /// character; the parser gives each its own event, with its own source
    /// byte (an escaped one has the backslash before it, so consecutive
    /// escaped characters never have adjacent ranges).
    fn extend_run(&mut self, text: &str, range: &Range<usize>) -> bool {
        let ch = match text {
            "*" => '*',
            "_" => '_',
            _ => return false,
        };
        if self.src.get(range.clone()) != Some(text) || self.escaped(range.start) {
            return false;
        }
        match &mut self.run {
            Some(run) if run.ch == ch && run.range.end == range.start => {
                run.range.end = range.end;
                return true;
            }
            _ => {}
        }
        self.end_run();
        self.run = Some(Run {
            ch,
            range: range.clone(),
        });
        true
    }

    /// Prints a collected delimiter run, unless it is a stray emphasis
    /// marker (see the module docs).
    fn end_run(&mut self) {
        let Some(Run { range, .. }) = self.run.take() else {
            return;
        };
        if !self.is_stray(&range) {
            let src = self.src;
            self.push_text(&src[range]);
        }
    }

    /// Is the source range a run of `*` or `_` to drop: two or three of
    /// them (longer runs are rules or blanks to fill in), not inside a word.
    fn is_stray(&self, range: &Range<usize>) -> bool {
        let before = self.src[..range.start].chars().next_back();
        let after = self.src[range.end..].chars().next();
        let in_word =
            before.is_some_and(char::is_alphanumeric) && after.is_some_and(char::is_alphanumeric);
        (2..=3).contains(&range.len()) && !in_word
    }

    /// Is the character at byte `at` of the source escaped by a backslash?
    fn escaped(&self, at: usize) -> bool {
        let backslashes = self.src.as_bytes()[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        backslashes % 2 == 1
    }

    /// Removes stray runs of `*` or `_` from a text event whose source is
    /// `text` itself, starting at byte `start`. The parser leaves a run
    /// with spaces on both sides in the text (`**  ` before a hard break):
    /// it can neither open nor close emphasis.
    fn drop_stray_runs<'t>(&self, text: &'t str, start: usize) -> std::borrow::Cow<'t, str> {
        if !text.contains("**") && !text.contains("__") {
            return text.into();
        }
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b != b'*' && b != b'_' {
                i += 1;
                continue;
            }
            let end = i + bytes[i..].iter().take_while(|&&x| x == b).count();
            let range = start + i..start + end;
            if self.is_stray(&range) && !(i == 0 && self.escaped(range.start)) {
                out.push_str(&text[copied..i]);
                copied = end;
            }
            i = end;
        }
        out.push_str(&text[copied..]);
        out.into()
    }

    fn finish(mut self) -> Extracted {
        self.end_run();
        let mut sink = BlockSink::default();
        for block in self.blocks {
            sink.push_broken(block.kind, &block.text);
        }
        sink.finish()
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::extract::{fixture, Rules};

    fn blocks(md: &str) -> Vec<(ClauseKind, String)> {
        extract_markdown(md)
            .blocks
            .into_iter()
            .map(|Block { kind, text }| (kind, text))
            .collect()
    }

    /// The text of a one-paragraph document.
    fn text(md: &str) -> String {
        let got = blocks(md);
        assert_eq!(got.len(), 1, "{md:?} gave {got:?}");
        got.into_iter().next().map(|(_, t)| t).unwrap_or_default()
    }

    #[test]
    fn inline_markup_is_removed() {
        assert_eq!(
            text("**[Learn what’s viewable](#chapter3 \"3.1 When (you) post\")**"),
            "Learn what’s viewable"
        );
        assert_eq!(text("a [link](https://e.com/a_(b)) here"), "a link here");
        assert_eq!(text("see ![logo](x.png \"t\") now"), "see now");
        assert_eq!(text("see ![a ![b](c) d](x.png) now"), "see now");
        assert_eq!(
            text("1\\. Info \\- \\* \\[x\\] \\_y\\_ \\#"),
            "1. Info - * [x] _y_ #"
        );
        assert_eq!(
            text("__bold__ and _it_ and *em* and ***both***"),
            "bold and it and em and both"
        );
        assert_eq!(
            text("snake_case_name and 2 * 3 * 4 and a*b"),
            "snake_case_name and 2 * 3 * 4 and a*b"
        );
        assert_eq!(text("use `x_y *z*` code"), "use x_y *z* code");
        assert_eq!(
            text("one<br>two<br/>three <span class=\"a\">four</span>"),
            "one two three four"
        );
        assert_eq!(
            text("a < b and <https://x.com/a> &amp; &#8217; &copy; &bogus;"),
            "a < b and https://x.com/a & ’ © &bogus;"
        );
        assert_eq!(text("[not a link] and [x]"), "[not a link] and [x]");
        assert_eq!(text("[[**in**](b)](a)"), "[in](a)");
        assert_eq!(text("[ref] text\n\n[ref]: https://x.com"), "ref text");
    }

    #[test]
    fn anchor_links_become_their_text() {
        assert_eq!(
            text("See [Information You Provide](#info-you-provide) below."),
            "See Information You Provide below."
        );
        assert_eq!(
            text("**[Information You Provide](#info-you-provide \"1.1 Info\")**"),
            "Information You Provide"
        );
    }

    #[test]
    fn escapes_and_emphasis_spacing() {
        assert_eq!(text("End\\. Not \\*bold\\*"), "End. Not *bold*");
        assert_eq!(text("in **Your** data"), "in Your data");
        assert_eq!(text("in __Your__ data"), "in Your data");
        assert_eq!(text("in *Your* _own_ data"), "in Your own data");
        assert_eq!(text("**a** **b**"), "a b");
        assert_eq!(
            blocks("1\\. Information\n==="),
            [(ClauseKind::Heading { level: 1 }, "1. Information".into())]
        );
        // An escaped run stays; so does an unmatched run inside a word.
        assert_eq!(text("\\*\\*x\\*\\* a__b \\**y"), "**x** a__b **y");
    }

    #[test]
    fn stray_emphasis_markers_are_dropped() {
        assert_eq!(
            blocks("with us.**  \n  \nAd partners.** Our ad"),
            [
                (ClauseKind::Paragraph, "with us.".into()),
                (ClauseKind::Paragraph, "Ad partners. Our ad".into()),
            ]
        );
        assert_eq!(text("**Unclosed bold and __this"), "Unclosed bold and this");
        // Before a hard break the opening run can open nothing.
        assert_eq!(
            text("**  \nUsage Information.** We collect"),
            "Usage Information. We collect"
        );
        assert_eq!(text("** With the public**. You"), "With the public. You");
        // Single stars and long runs (blanks to fill in) are text.
        assert_eq!(text("a single * star and *x"), "a single * star and *x");
        assert_eq!(text("Name: ____ and ____"), "Name: ____ and ____");
        // Code keeps them; the price of the rule is that a spaced-out `**`
        // in prose goes too.
        assert_eq!(text("`a ** b` and 2 ** 3"), "a ** b and 2 3");
    }

    #[test]
    fn runs_of_brackets_are_text() {
        // Alternating brackets and words, 200,000 characters: every bracket
        // is kept, none pairs up into a link.
        let unit = "[ab ";
        let md = unit.repeat(200_000 / unit.len());
        assert_eq!(md.len(), 200_000);
        assert_eq!(text(&md), md.trim_end());
        let only = "[".repeat(200_000);
        assert_eq!(text(&only), only);
        let nested = format!("{}x{}", "[".repeat(10_000), "](u)".repeat(10_000));
        let want = format!("{}x{}", "[".repeat(9_999), "](u)".repeat(9_999));
        assert_eq!(text(&nested), want);
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 5_000;
        let md = format!(
            "{} deep\n\n*   item\n\n{}x{}\n\n{}nested\n",
            ">".repeat(depth),
            "*".repeat(depth),
            "*".repeat(depth),
            "- ".repeat(depth)
        );
        let got = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || blocks(&md))
            .expect("thread starts")
            .join()
            .expect("no stack overflow");
        assert_eq!(got[0], (ClauseKind::Paragraph, "deep".into()));
        assert_eq!(got[1], (ClauseKind::ListItem, "item".into()));
        assert_eq!(got[2], (ClauseKind::Paragraph, "x".into()));
        assert_eq!(got.last(), Some(&(ClauseKind::ListItem, "nested".into())));
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
    fn double_hard_break_splits_a_paragraph_not_an_item() {
        assert_eq!(
            blocks("One\\\n\\\nTwo<br><br>Three\n\n- a<br><br>b"),
            [
                (ClauseKind::Paragraph, "One".into()),
                (ClauseKind::Paragraph, "Two".into()),
                (ClauseKind::Paragraph, "Three".into()),
                (ClauseKind::ListItem, "a b".into()),
            ]
        );
    }

    #[test]
    fn html_blocks_go_through_the_html_extractor() {
        assert_eq!(
            blocks(
                "<div>\n<p>Fish &amp; chips</p><script>x()</script>\n<p>Two</p>\n</div>\n\nAfter"
            ),
            [
                (ClauseKind::Paragraph, "Fish & chips".into()),
                (ClauseKind::Paragraph, "Two".into()),
                (ClauseKind::Paragraph, "After".into()),
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

    #[test]
    fn list_items_holding_headings_split_at_them() {
        let md = blocks(&fixture("sections-in-list-items.md"));
        let html = extract_html(&fixture("sections-in-list-items.html"), &Rules::default())
            .expect("extracts");
        let html: Vec<(ClauseKind, String)> =
            html.blocks.into_iter().map(|b| (b.kind, b.text)).collect();
        let h = |level, t: &str| (ClauseKind::Heading { level }, t.to_string());
        let p = |t: &str| (ClauseKind::Paragraph, t.to_string());
        let li = |t: &str| (ClauseKind::ListItem, t.to_string());
        let want = [
            h(1, "Privacy Policy"),
            h(2, "Table of Contents"),
            li("1. Information We Collect"),
            li("2. How We Share Information"),
            h(2, "1. Information We Collect"),
            p("We collect the information you give us when you create an account."),
            p("We also collect information about how you use the services."),
            h(3, "Location"),
            p("We collect your approximate location from your IP address."),
            h(2, "2. How We Share Information"),
            p("We share information with service providers who work for us."),
            li("Payment processors"),
            li("Hosting providers"),
        ];
        assert_eq!(md, want);
        assert_eq!(html, want);
    }

    #[test]
    fn table_cells_written_with_breaks_are_paragraphs_and_items() {
        let got = blocks(&fixture("google-processing-table-cells.md"));
        let p = |t: &str| (ClauseKind::Paragraph, t.to_string());
        let li = |t: &str| (ClauseKind::ListItem, t.to_string());
        let row = |t: &str| (ClauseKind::TableRow, t.to_string());
        assert_eq!(
            got,
            [
                row("Why and how we process data | What data is processed | Legal grounds"),
                p("To provide Google services, products and features"),
                p("Examples of processing activities:"),
                li("We process the terms that you search for in order to return results."),
                li("We use the IP address assigned to your device to send you the data that you've requested."),
                p("The information processed will depend on how you use Google services and your settings, but could include the following:"),
                li("Things that you create or provide to us:"),
                li("Content that you create, upload or receive (like photos, videos, emails, docs and spreadsheets)."),
                p("The legal grounds for processing this information will depend on how you use Google services and your settings, but could include the following:"),
                li("To perform a contract with you."),
                row("Email Phone | Kept for 18 months | Consent"),
            ]
        );
    }

    /// The same Markdown rendered to HTML gives the same blocks.
    #[test]
    fn fixtures_match_their_html_rendering() {
        for name in [
            "nested-lists.md",
            "table-quote-code.md",
            "markdown-escapes.md",
            "sections-in-list-items.md",
            "google-processing-table-cells.md",
        ] {
            let md = fixture(name);
            let mut html = String::new();
            pulldown_cmark::html::push_html(
                &mut html,
                Parser::new_ext(&md, Options::ENABLE_TABLES),
            );
            let from_html = extract_html(&html, &Rules::default()).expect("extracts");
            assert_eq!(extract_markdown(&md), from_html, "{name}");
        }
    }
}
