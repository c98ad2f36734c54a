//! Pages the fetcher assembles itself: a declaration's range selectors
//! (everything between two elements) and `combine` (several pages making
//! one document).
//!
//! CSS `select`/`remove` alone are the extractor's job, on the page as
//! served. A range is not an element, so it cannot be handed to a CSS
//! extractor: here the chosen part of each page is written out again as a
//! small HTML document that the one observation path reads like any page.
//!
//! The fetcher does not cut: it keeps every page as it came ([`Part`]) in
//! one framed body of its own type ([`PARTS_TYPE`]), which is what the
//! store keeps as the snapshot. Observing that body cuts and joins the
//! parts with the document's rules of the moment, so new range markers or
//! a new `remove` re-cut a stored snapshot exactly as they cut a fresh
//! fetch (a technical update, not a change).

use ego_tree::iter::Edge;
use std::collections::HashMap;

use ego_tree::{NodeId, NodeRef};
use scraper::{Html, Node, Selector};

use crate::config::ota::{Bound, PageRules, Range, Selection};

/// The content type of a framed body: the pages of one document as they
/// were fetched.
pub const PARTS_TYPE: &str = "application/vnd.clausewatch.parts";

/// The first line of a framed body; the number is the framing's version.
const MAGIC: &[u8] = b"clausewatch-parts 1\n";

/// One page of an assembled document, as fetched: the URL asked for
/// (redacted), the type it was served with, its raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub url: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// Why a framed body could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("not a framed body (no {:?} line)", String::from_utf8_lossy(MAGIC).trim_end())]
    NoMagic,
    #[error("framed part {index}: {message}")]
    Part { index: usize, message: String },
}

/// Whether `bytes` are a framed body: by its type or, for a file given by
/// hand, its first line.
pub fn is_framed(content_type: Option<&str>, bytes: &[u8]) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(PARTS_TYPE))
        || bytes.starts_with(MAGIC)
}

/// The pages in one body. Each part is a header line, `part LENGTH URL
/// CONTENT-TYPE` (`-` without a type; a URL holds no space once
/// serialized, a header value no line break), then its bytes and a line
/// break: raw bytes need no escaping, and an unchanged page frames to the
/// same bytes, which the store deduplicates and compresses against.
pub fn frame(parts: &[Part<'_>]) -> Vec<u8> {
    let size: usize = parts.iter().map(|p| p.body.len() + p.url.len() + 64).sum();
    let mut out = Vec::with_capacity(MAGIC.len() + size);
    out.extend_from_slice(MAGIC);
    for p in parts {
        let content_type = p.content_type.map(|c| c.replace(['\r', '\n'], " "));
        out.extend_from_slice(
            format!(
                "part {} {} {}\n",
                p.body.len(),
                p.url,
                content_type.as_deref().unwrap_or("-")
            )
            .as_bytes(),
        );
        out.extend_from_slice(p.body);
        out.push(b'\n');
    }
    out
}

/// The parts of a framed body, in order.
pub fn unframe(bytes: &[u8]) -> Result<Vec<Part<'_>>, FrameError> {
    let mut rest = bytes.strip_prefix(MAGIC).ok_or(FrameError::NoMagic)?;
    let mut parts = Vec::new();
    while !rest.is_empty() {
        let index = parts.len() + 1;
        let bad = |message: &str| FrameError::Part {
            index,
            message: message.to_string(),
        };
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| bad("no header line"))?;
        let header = std::str::from_utf8(&rest[..end]).map_err(|_| bad("header is not UTF-8"))?;
        let mut fields = header.splitn(4, ' ');
        let (Some("part"), Some(len), Some(url), Some(content_type)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("header is not \"part LENGTH URL CONTENT-TYPE\""));
        };
        let len: usize = len.parse().map_err(|_| bad("length is not a number"))?;
        let body_start = end + 1;
        let body = rest
            .get(body_start..body_start + len)
            .ok_or_else(|| bad("body shorter than its length"))?;
        if rest.get(body_start + len) != Some(&b'\n') {
            return Err(bad("body not followed by a line break"));
        }
        parts.push(Part {
            url,
            content_type: (content_type != "-").then_some(content_type),
            body,
        });
        rest = &rest[body_start + len + 1..];
    }
    Ok(parts)
}

/// Why the pages of a framed body gave no page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssembleError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A page the rules name is not among those fetched (added to the
    /// document after the body was stored).
    #[error("{url}: the stored pages hold none from this address")]
    Missing { url: String },
    #[error("{url}: {error}")]
    Cut { url: String, error: CutError },
}

/// The one page a framed body makes under `pages`: each page of the rules
/// cut out of the part fetched from its URL, in the rules' order, parts no
/// rule names left out. Without rules (a framed file read by hand) every
/// part is kept whole.
pub fn assemble(bytes: &[u8], pages: &[PageRules]) -> Result<String, AssembleError> {
    let parts = unframe(bytes)?;
    let none: &[Selection] = &[];
    let wanted: Vec<(String, &[Selection], &[Selection])> = if pages.is_empty() {
        parts
            .iter()
            .map(|p| (p.url.to_string(), none, none))
            .collect()
    } else {
        pages
            .iter()
            .map(|p| {
                (
                    super::redact(&p.url).to_string(),
                    &p.select[..],
                    &p.remove[..],
                )
            })
            .collect()
    };
    let mut cut_parts = Vec::with_capacity(wanted.len());
    let mut lang = None;
    for (i, (url, select, remove)) in wanted.into_iter().enumerate() {
        // The same page may be cut twice with two rules: the part at the
        // rule's own place first, else the first from its address.
        let part = parts
            .get(i)
            .filter(|p| p.url == url)
            .or_else(|| parts.iter().find(|p| p.url == url))
            .ok_or_else(|| AssembleError::Missing { url: url.clone() })?;
        let (text, _) = super::decode(part.body, part.content_type);
        let (html, page_lang) =
            cut(&text, select, remove).map_err(|error| AssembleError::Cut { url, error })?;
        cut_parts.push(html);
        lang = lang.or(page_lang);
    }
    Ok(join(&cut_parts, lang.as_deref()))
}

/// Why a page's part could not be cut out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CutError {
    #[error("range selector: no element matches {selector:?}")]
    NoBound { selector: String },
    #[error("range selector: {end:?} comes before {start:?}")]
    EmptyRange { start: String, end: String },
    #[error("the selectors match nothing ({selectors})")]
    NothingSelected { selectors: String },
}

/// Positions of the opening and closing edge of every node, in document
/// order: a node spans `open..=close`.
struct Positions(HashMap<NodeId, (usize, usize)>);

impl Positions {
    fn of(doc: &Html) -> Positions {
        let mut spans = HashMap::new();
        for (i, edge) in doc.tree.root().traverse().enumerate() {
            match edge {
                Edge::Open(node) => {
                    spans.insert(node.id(), (i, i));
                }
                Edge::Close(node) => {
                    if let Some(s) = spans.get_mut(&node.id()) {
                        s.1 = i;
                    }
                }
            }
        }
        Positions(spans)
    }
    fn span(&self, node: NodeRef<'_, Node>) -> (usize, usize) {
        self.0.get(&node.id()).copied().unwrap_or((0, 0))
    }
}

/// A half-open interval of edge positions.
type Span = (usize, usize);

fn selector(s: &str) -> Selector {
    // Selectors were validated when the declaration was read; one that
    // does not parse matches nothing.
    Selector::parse(s).unwrap_or_else(|_| Selector::parse(":not(*)").expect("valid selector"))
}

fn spans_of(doc: &Html, pos: &Positions, sel: &Selection) -> Result<Vec<Span>, CutError> {
    match sel {
        Selection::Css(css) => Ok(doc
            .select(&selector(css))
            .map(|e| {
                let (o, c) = pos.span(*e);
                (o, c + 1)
            })
            .collect()),
        Selection::Range(range) => range_span(doc, pos, range).map(|s| vec![s]),
    }
}

fn bound_at(doc: &Html, pos: &Positions, bound: &Bound, from: usize) -> Result<usize, CutError> {
    let found = doc
        .select(&selector(bound.selector()))
        .map(|e| pos.span(*e))
        .find(|(o, _)| *o >= from)
        .ok_or_else(|| CutError::NoBound {
            selector: bound.selector().to_string(),
        })?;
    Ok(match bound {
        Bound::Before(_) => found.0,
        Bound::After(_) => found.1 + 1,
    })
}

fn range_span(doc: &Html, pos: &Positions, range: &Range) -> Result<Span, CutError> {
    let start = bound_at(doc, pos, &range.start, 0)?;
    let end = bound_at(doc, pos, &range.end, start)?;
    if end <= start {
        return Err(CutError::EmptyRange {
            start: range.start.selector().to_string(),
            end: range.end.selector().to_string(),
        });
    }
    Ok((start, end))
}

/// The part of `html` that `select` chooses (all of the body when empty),
/// without what `remove` names, as HTML; with the `lang` of the page's
/// root element, when it has one.
pub fn cut(
    html: &str,
    select: &[Selection],
    remove: &[Selection],
) -> Result<(String, Option<String>), CutError> {
    let doc = Html::parse_document(html);
    let pos = Positions::of(&doc);
    let mut removed = Vec::new();
    for r in remove {
        // A removal that finds nothing removes nothing: pages drop their
        // ads and banners all the time.
        if let Ok(spans) = spans_of(&doc, &pos, r) {
            removed.extend(spans);
        }
    }
    let mut chosen = Vec::new();
    for s in select {
        chosen.extend(spans_of(&doc, &pos, s)?);
    }
    if select.is_empty() {
        chosen.push((0, usize::MAX));
    }
    let mut out = String::new();
    for span in &chosen {
        write_node(&mut out, doc.tree.root(), &pos, *span, &removed);
    }
    if out.trim().is_empty() {
        return Err(CutError::NothingSelected {
            selectors: describe(select),
        });
    }
    let lang = doc
        .root_element()
        .value()
        .attr("lang")
        .map(|l| l.to_string());
    Ok((out, lang))
}

fn describe(select: &[Selection]) -> String {
    select
        .iter()
        .map(|s| match s {
            Selection::Css(c) => format!("{c:?}"),
            Selection::Range(r) => {
                format!("from {:?} to {:?}", r.start.selector(), r.end.selector())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// Writes the part of `node` inside `span` and outside every `removed`
/// span. An element cut by a range boundary keeps its tag around the
/// children that are inside, so headings and lists stay what they were.
fn write_node(
    out: &mut String,
    node: NodeRef<'_, Node>,
    pos: &Positions,
    span: Span,
    removed: &[Span],
) {
    let (open, close) = pos.span(node);
    if close < span.0 || open >= span.1 {
        return;
    }
    if removed.iter().any(|r| r.0 <= open && close < r.1) {
        return;
    }
    match node.value() {
        Node::Text(t) if open >= span.0 && !removed.iter().any(|r| r.0 <= open && open < r.1) => {
            escape(out, t, false);
        }
        Node::Element(e) => {
            let name = e.name();
            if matches!(name, "script" | "style" | "noscript" | "template" | "head") {
                return;
            }
            // The parts go into a page of their own.
            if matches!(name, "html" | "body") {
                for child in node.children() {
                    write_node(out, child, pos, span, removed);
                }
                return;
            }
            out.push('<');
            out.push_str(name);
            for (k, v) in e.attrs() {
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                escape(out, v, true);
                out.push('"');
            }
            out.push('>');
            if VOID.contains(&name) {
                return;
            }
            for child in node.children() {
                write_node(out, child, pos, span, removed);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Node::Document | Node::Fragment => {
            for child in node.children() {
                write_node(out, child, pos, span, removed);
            }
        }
        _ => {}
    }
}

fn escape(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// One HTML document holding the parts, in order, each in its own
/// `<section>`.
pub fn join(parts: &[String], lang: Option<&str>) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html");
    if let Some(l) = lang {
        out.push_str(" lang=\"");
        escape(&mut out, l, true);
        out.push('"');
    }
    out.push_str("><head><meta charset=\"utf-8\"></head><body>\n");
    for p in parts {
        out.push_str("<section>");
        out.push_str(p);
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html lang="en"><body><nav>Menu</nav>
        <div><h1 id="start">Privacy</h1><p>We keep <b>little</b>.</p>
        <div class="ad">Buy now</div><section><p>Kept too.</p><p id="end">Footer</p><p>After</p></section></div>
        <script>var x = "<p>no</p>";</script></body></html>"#;

    fn css(s: &str) -> Selection {
        Selection::Css(s.into())
    }

    fn range(start: Bound, end: Bound) -> Selection {
        Selection::Range(Range { start, end })
    }

    /// The text the extractor reads from an assembled page, block by block.
    fn text(html: &str) -> String {
        let rules = crate::pipeline::extract::Rules {
            select: Vec::new(),
            remove: Vec::new(),
            min_chars: 1,
        };
        let blocks = crate::pipeline::extract::extract_html(html, &rules)
            .unwrap()
            .blocks;
        blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_range_keeps_what_lies_between_its_bounds() {
        let (html, lang) = cut(
            PAGE,
            &[range(
                Bound::Before("#start".into()),
                Bound::Before("#end".into()),
            )],
            &[css(".ad")],
        )
        .unwrap();
        assert_eq!(text(&html), "Privacy We keep little. Kept too.");
        assert!(
            html.contains("<h1 id=\"start\">Privacy</h1>") && !html.contains("Menu"),
            "{html}"
        );
        assert_eq!(lang.as_deref(), Some("en"));
        let (html, _) = cut(
            PAGE,
            &[range(
                Bound::After("#start".into()),
                Bound::After("#end".into()),
            )],
            &[],
        )
        .unwrap();
        assert_eq!(text(&html), "We keep little. Buy now Kept too. Footer");
    }

    #[test]
    fn css_selects_and_ranges_remove() {
        let (html, _) = cut(
            PAGE,
            &[css("h1"), css("section p")],
            &[range(
                Bound::Before("#end".into()),
                Bound::After("#end".into()),
            )],
        )
        .unwrap();
        assert_eq!(text(&html), "Privacy Kept too. After");
        let (html, _) = cut(PAGE, &[], &[css("nav"), css(".ad")]).unwrap();
        assert!(!html.contains("Menu") && !html.contains("Buy") && !html.contains("var x"));
        assert!(html.contains("Footer"));
    }

    #[test]
    fn missing_bounds_and_empty_selections_are_errors() {
        let err = cut(
            PAGE,
            &[range(
                Bound::Before("#nope".into()),
                Bound::Before("#end".into()),
            )],
            &[],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "range selector: no element matches \"#nope\""
        );
        let err = cut(
            PAGE,
            &[range(
                Bound::Before("#end".into()),
                Bound::Before("#start".into()),
            )],
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, CutError::NoBound { .. }), "{err}");
        let err = cut(PAGE, &[css(".missing")], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the selectors match nothing (\".missing\")"
        );
    }

    #[test]
    fn framed_parts_come_back_as_they_went_in() {
        let binary = [0u8, 10, 13, 255, 10];
        let parts = [
            Part {
                url: "https://e.org/a",
                content_type: Some("text/html; charset=iso-8859-1"),
                body: "<p>caf\u{e9}</p>\n".as_bytes(),
            },
            Part {
                url: "https://e.org/b?x=1",
                content_type: None,
                body: &binary,
            },
            Part {
                url: "https://e.org/empty",
                content_type: Some("text/html"),
                body: b"",
            },
        ];
        let framed = frame(&parts);
        assert!(is_framed(None, &framed) && is_framed(Some(PARTS_TYPE), b""));
        assert!(!is_framed(Some("text/html"), b"<html>"));
        assert_eq!(unframe(&framed).unwrap(), parts);
        assert_eq!(frame(&parts), framed, "the same pages frame alike");
        assert_eq!(unframe(b"<html>").unwrap_err(), FrameError::NoMagic);
        let two = frame(&parts[..2]);
        let cut_short = &two[..two.len() - 3];
        assert_eq!(
            unframe(cut_short).unwrap_err().to_string(),
            "framed part 2: body shorter than its length"
        );
    }

    #[test]
    fn joined_parts_form_one_page() {
        let page = join(
            &["<p>One &amp; two</p>".into(), "<p>Three</p>".into()],
            Some("en"),
        );
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert_eq!(text(&page), "One & two Three");
    }
}
