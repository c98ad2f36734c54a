//! HTML to blocks.
//!
//! The walk keeps one "open" block at a time. Leaf blocks (headings,
//! paragraphs, list items, table rows, `dt`/`dd`, `pre`) take all the text
//! below them, so a `<p>` inside an `<li>` does not split the item. Container
//! elements (`div`, `section`, `blockquote`, lists, tables…) only separate
//! blocks; text sitting directly in them becomes a paragraph of its own. A
//! list or table nested in a leaf block produces its own blocks after the
//! leaf, so a parent list item is followed by its nested items.

use std::collections::HashSet;

use ego_tree::{NodeId, NodeRef};
use scraper::{Html, Node, Selector};

use super::{
    cells_hold_blocks, collapse_ws, join_cells, Block, BlockSink, ClauseKind, ExtractError,
    Extracted, Rules, BR,
};

/// Checks that `css` is a selector this extractor can apply.
pub fn validate_selector(css: &str) -> Result<(), String> {
    parse_selector(css).map(|_| ()).map_err(|e| match e {
        ExtractError::InvalidSelector { message, .. } => message,
        other => other.to_string(),
    })
}

fn parse_selector(css: &str) -> Result<Selector, ExtractError> {
    Selector::parse(css).map_err(|e| ExtractError::InvalidSelector {
        selector: css.to_string(),
        message: e.to_string(),
    })
}

/// Extracts the blocks of an HTML page: the union of `rules.select` (or the
/// `<body>`), minus `rules.remove` and elements that never render as text
/// (scripts, styles, templates, SVG, hidden elements and inputs).
pub fn extract_html(html: &str, rules: &Rules) -> Result<Extracted, ExtractError> {
    let select = rules
        .select
        .iter()
        .map(|s| parse_selector(s))
        .collect::<Result<Vec<_>, _>>()?;
    let remove = rules
        .remove
        .iter()
        .map(|s| parse_selector(s))
        .collect::<Result<Vec<_>, _>>()?;
    let doc = parse_document(html);

    let roots = if select.is_empty() {
        let body = parse_selector("body")?;
        let roots: Vec<NodeId> = doc.select(&body).map(|e| e.id()).take(1).collect();
        if roots.is_empty() {
            vec![doc.root_element().id()]
        } else {
            roots
        }
    } else {
        let roots = selected_roots(&doc, &select);
        if roots.is_empty() {
            return Err(ExtractError::NothingSelected {
                selectors: rules.select.join(", "),
            });
        }
        roots
    };

    let removed: HashSet<NodeId> = remove
        .iter()
        .flat_map(|sel| doc.select(sel).map(|e| e.id()))
        .collect();
    let mut walker = Walker {
        removed: &removed,
        blocks: Vec::new(),
        loose: String::new(),
        rows: Vec::new(),
    };
    for id in roots {
        if let Some(node) = doc.tree.get(id) {
            walker.walk(node);
        }
    }
    let blocks = walker.blocks;
    // The tree is several times the page's size: gone before the blocks
    // are collapsed, so that the two are never held at once.
    drop(removed);
    drop(doc);
    let mut sink = BlockSink::default();
    // Two or more line breaks in a row look like a paragraph break and are
    // one in the Markdown of such pages. Each raw block goes as soon as it
    // is collapsed.
    for block in blocks {
        sink.push_broken(block.kind, &block.text);
    }
    Ok(sink.finish())
}

/// Parses a page as `Html::parse_document` does, into a tree sized up
/// front: grown by doubling, a big page's tree would hold room for up to
/// twice its nodes (for a 10 MB page, 13 MB of it empty). A page has about
/// one node per `<` (elements open and close with one, and most of them
/// hold a text node), and a half more covers the whitespace between them.
fn parse_document(html: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    let tags = html.bytes().filter(|&b| b == b'<').count();
    let mut doc = Html::new_document();
    doc.tree = ego_tree::Tree::with_capacity(Node::Document, tags + tags / 2 + 16);
    html5ever::driver::parse_document(scraper::HtmlTreeSink::new(doc), Default::default()).one(html)
}

/// Matches of all selectors, in document order, each element once, and
/// without elements inside another match (their text is already in it).
fn selected_roots(doc: &Html, selectors: &[Selector]) -> Vec<NodeId> {
    let matched: HashSet<NodeId> = selectors
        .iter()
        .flat_map(|sel| doc.select(sel).map(|e| e.id()))
        .collect();
    // Document order is the order of a walk over the tree: no map of every
    // node's position (a big page has hundreds of thousands of nodes).
    doc.tree
        .root()
        .descendants()
        .filter(|n| matched.contains(&n.id()) && !n.ancestors().any(|a| matched.contains(&a.id())))
        .map(|n| n.id())
        .collect()
}

enum Role {
    /// Starts a block that takes all text below it.
    Leaf(ClauseKind),
    /// A table row: cells joined with " | ".
    Row,
    /// Separates blocks; holds no text of its own.
    Container,
    /// A list or table: inside a leaf it still yields its own blocks.
    Structure,
    /// `<br>`: a space, or a paragraph break when doubled.
    Break,
    /// A cell, rule or other element that separates words but not blocks.
    Space,
    Inline,
    Skip,
}

fn role(name: &str) -> Role {
    match name {
        "h1" => Role::Leaf(ClauseKind::Heading { level: 1 }),
        "h2" => Role::Leaf(ClauseKind::Heading { level: 2 }),
        "h3" => Role::Leaf(ClauseKind::Heading { level: 3 }),
        "h4" => Role::Leaf(ClauseKind::Heading { level: 4 }),
        "h5" => Role::Leaf(ClauseKind::Heading { level: 5 }),
        "h6" => Role::Leaf(ClauseKind::Heading { level: 6 }),
        "li" => Role::Leaf(ClauseKind::ListItem),
        "p" | "dt" | "dd" | "pre" | "caption" | "figcaption" | "summary" | "legend" => {
            Role::Leaf(ClauseKind::Paragraph)
        }
        "tr" => Role::Row,
        "ul" | "ol" | "menu" | "dl" | "table" => Role::Structure,
        "div" | "section" | "article" | "main" | "header" | "footer" | "nav" | "aside"
        | "blockquote" | "address" | "details" | "dialog" | "fieldset" | "figure" | "form"
        | "hgroup" | "center" | "body" | "html" | "thead" | "tbody" | "tfoot" | "search" => {
            Role::Container
        }
        "br" => Role::Break,
        "hr" | "td" | "th" | "wbr" => Role::Space,
        // Images are dropped with their alt text (see the module docs of
        // `extract`); the rest never renders as readable text.
        "script" | "style" | "noscript" | "template" | "svg" | "math" | "head" | "img"
        | "picture" | "video" | "audio" | "iframe" | "object" | "canvas" | "select" => Role::Skip,
        _ => Role::Inline,
    }
}

struct Walker<'a> {
    removed: &'a HashSet<NodeId>,
    /// Blocks in output order; texts are collapsed at the end.
    blocks: Vec<Block>,
    /// Text found directly in containers, waiting to become a paragraph.
    loose: String,
    /// Cells of the table rows being walked (rows nest through tables in
    /// cells).
    rows: Vec<Vec<String>>,
}

/// Work left to do. The walk keeps its own stack instead of recursing so
/// that a page nesting elements thousands deep cannot overflow the thread
/// stack.
enum Step<'a> {
    /// Walk this node; the target is the open leaf block receiving text.
    Node(NodeRef<'a, Node>, Option<usize>),
    /// Walk this node, then each of its next siblings, for the same target.
    /// One step for all the children of an element rather than one each:
    /// the `<main>` of a 10 MB page has a hundred thousand, and the stack
    /// of their steps was 7 MB at the peak of its check.
    Siblings(NodeRef<'a, Node>, Option<usize>),
    /// A word separator after block markup inside a leaf.
    Space(Option<usize>),
    FlushLoose,
    /// End of a nested list or table inside a leaf: give back the loose
    /// text set aside when it started.
    RestoreLoose(String),
    /// End of a table cell: move the row block's text into the cell list.
    EndCell(usize),
    EndRow(usize),
}

impl<'a> Walker<'a> {
    fn push_text(&mut self, target: Option<usize>, text: &str) {
        match target.and_then(|i| self.blocks.get_mut(i)) {
            Some(block) => block.text.push_str(text),
            None => self.loose.push_str(text),
        }
    }

    fn flush_loose(&mut self) {
        if !self.loose.trim().is_empty() {
            let text = std::mem::take(&mut self.loose);
            self.blocks.push(Block {
                kind: ClauseKind::Paragraph,
                text,
            });
        }
        self.loose.clear();
    }

    fn open(&mut self, kind: ClauseKind) -> usize {
        self.flush_loose();
        self.blocks.push(Block {
            kind,
            text: String::new(),
        });
        self.blocks.len() - 1
    }

    fn is_dropped(&self, id: NodeId, element: &scraper::node::Element) -> bool {
        self.removed.contains(&id)
            || element.attr("hidden").is_some()
            || (element.name() == "input"
                && element
                    .attr("type")
                    .is_some_and(|t| t.eq_ignore_ascii_case("hidden")))
    }

    /// Walks `root` and everything below it.
    fn walk(&mut self, root: NodeRef<'a, Node>) {
        let mut stack = vec![Step::Node(root, None)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Node(node, target) => self.node(node, target, &mut stack),
                Step::Siblings(node, target) => {
                    if let Some(next) = node.next_sibling() {
                        stack.push(Step::Siblings(next, target));
                    }
                    self.node(node, target, &mut stack);
                }
                Step::Space(target) => self.push_text(target, " "),
                Step::FlushLoose => self.flush_loose(),
                Step::RestoreLoose(saved) => self.loose = saved,
                Step::EndCell(index) => {
                    let cell = collapse_ws(&std::mem::take(&mut self.blocks[index].text));
                    if let Some(row) = self.rows.last_mut() {
                        row.push(cell);
                    }
                }
                Step::EndRow(index) => {
                    let cells = self.rows.pop().unwrap_or_default();
                    if cells_hold_blocks(&cells) {
                        // Cells written as lines and blank lines (as a
                        // Markdown table renders them) are each their own
                        // text. Blocks after the row are finished ones, so
                        // no open target moves.
                        let cells = cells.into_iter().map(|text| Block {
                            kind: ClauseKind::Paragraph,
                            text,
                        });
                        self.blocks.splice(index..=index, cells);
                    } else {
                        self.blocks[index].text = join_cells(&cells);
                    }
                }
            }
        }
        self.flush_loose();
    }

    /// Handles one node; work that follows its children is pushed first so
    /// that it runs after them.
    fn node(&mut self, node: NodeRef<'a, Node>, target: Option<usize>, stack: &mut Vec<Step<'a>>) {
        let children = |stack: &mut Vec<Step<'a>>, target: Option<usize>| {
            if let Some(first) = node.first_child() {
                stack.push(Step::Siblings(first, target));
            }
        };
        let element = match node.value() {
            Node::Text(text) if text.contains(BR) => {
                return self.push_text(target, &text.replace(BR, ""))
            }
            Node::Text(text) if (text.contains("**") || text.contains("__")) && !in_code(node) => {
                return self.push_text(target, &drop_stray_runs(text))
            }
            Node::Text(text) => return self.push_text(target, text),
            Node::Element(element) => element,
            Node::Document | Node::Fragment => return children(stack, target),
            _ => return,
        };
        if self.is_dropped(node.id(), element) {
            return;
        }
        match role(element.name()) {
            Role::Skip => {}
            Role::Inline => children(stack, target),
            Role::Break => self.push_text(target, &BR.to_string()),
            // A list item or a table row holding headings is a section laid
            // out as a list or a table: its headings and paragraphs are
            // blocks of their own, and the path follows its headings.
            Role::Leaf(ClauseKind::ListItem) if holds_heading(node) => {
                self.flush_loose();
                stack.push(Step::FlushLoose);
                children(stack, None);
            }
            Role::Row if node.children().any(holds_heading) => {
                self.flush_loose();
                for cell in node.children().rev() {
                    stack.push(Step::FlushLoose);
                    stack.push(Step::Node(cell, None));
                }
            }
            Role::Space if target.is_none() && matches!(element.name(), "td" | "th") => {
                self.flush_loose();
                stack.push(Step::FlushLoose);
                children(stack, None);
            }
            Role::Leaf(kind) if target.is_none() || kind == ClauseKind::ListItem => {
                let index = self.open(kind);
                children(stack, Some(index));
            }
            Role::Row => {
                let index = self.open(ClauseKind::TableRow);
                self.rows.push(Vec::new());
                stack.push(Step::EndRow(index));
                for cell in node.children().rev() {
                    let is_cell = matches!(cell.value(),
                        Node::Element(e) if matches!(e.name(), "td" | "th") && !self.is_dropped(cell.id(), e));
                    if is_cell {
                        stack.push(Step::EndCell(index));
                        if let Some(first) = cell.first_child() {
                            stack.push(Step::Siblings(first, Some(index)));
                        }
                    }
                }
            }
            Role::Structure | Role::Container if target.is_none() => {
                self.flush_loose();
                stack.push(Step::FlushLoose);
                children(stack, None);
            }
            // Cells and rules, and block markup inside a leaf, only separate
            // words.
            Role::Space | Role::Leaf(_) | Role::Container => {
                self.push_text(target, " ");
                stack.push(Step::Space(target));
                children(stack, target);
            }
            Role::Structure => {
                // Nested list or table in a leaf: its blocks follow the leaf,
                // whose text continues after it.
                let saved = std::mem::take(&mut self.loose);
                stack.push(Step::RestoreLoose(saved));
                stack.push(Step::FlushLoose);
                children(stack, None);
            }
        }
    }
}

/// Does an element hold a heading, other than in a nested list or table
/// (which make their own blocks anyway)?
fn holds_heading(node: NodeRef<'_, Node>) -> bool {
    let mut stack: Vec<NodeRef<'_, Node>> = node.children().collect();
    while let Some(n) = stack.pop() {
        let Node::Element(e) = n.value() else {
            continue;
        };
        match e.name() {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => return true,
            "ul" | "ol" | "menu" | "dl" | "table" => {}
            _ => stack.extend(n.children()),
        }
    }
    false
}

/// Is a text node inside code, where markers are what the page shows?
fn in_code(node: NodeRef<'_, Node>) -> bool {
    node.ancestors().any(|a| {
        a.value()
            .as_element()
            .is_some_and(|e| matches!(e.name(), "code" | "pre" | "kbd" | "samp"))
    })
}

/// Removes runs of two or three `*` or `_` that are not inside a word: the
/// emphasis markers a Markdown converter left unpaired (`** Usage
/// Information.**`), which a page built from that Markdown shows as text.
/// The Markdown extractor drops the same runs, so that both observe alike.
/// Longer runs (`____` blanks to fill in) stay.
fn drop_stray_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '*' && c != '_' {
            out.push(c);
            i += 1;
            continue;
        }
        let end = i + chars[i..].iter().take_while(|&&x| x == c).count();
        let before = i.checked_sub(1).map(|b| chars[b]);
        let after = chars.get(end).copied();
        let in_word =
            before.is_some_and(char::is_alphanumeric) && after.is_some_and(char::is_alphanumeric);
        if !(2..=3).contains(&(end - i)) || in_word {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clauses::{split, version_hash};
    use crate::pipeline::extract::{extract, fixture, Format};

    fn rules(select: &[&str], remove: &[&str]) -> Rules {
        Rules {
            select: select.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
            min_chars: 0,
        }
    }

    fn blocks(name: &str, rules: &Rules) -> Vec<(ClauseKind, String)> {
        extract_html(&fixture(name), rules)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .blocks
            .into_iter()
            .map(|b| (b.kind, b.text))
            .collect()
    }

    fn texts(name: &str, rules: &Rules) -> Vec<String> {
        blocks(name, rules).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn nested_list_items_are_their_own_items() {
        let got = blocks("nested-lists.html", &Rules::default());
        let item = |t: &str| (ClauseKind::ListItem, t.to_string());
        assert_eq!(
            got,
            [
                item("Parent item tail text"),
                item("Child one"),
                item("Child two"),
                item("Second"),
                item("Numbered link"),
                (ClauseKind::Paragraph, "Term".into()),
                (ClauseKind::Paragraph, "Definition".into()),
            ]
        );
    }

    #[test]
    fn table_rows_join_cells() {
        let got = blocks("table.html", &Rules::default());
        assert_eq!(
            got,
            [
                (ClauseKind::Paragraph, "Retention".into()),
                (ClauseKind::TableRow, "Data | Kept for".into()),
                (ClauseKind::TableRow, "Email | 18 months".into()),
                (ClauseKind::TableRow, "Logs".into()),
            ]
        );
    }

    #[test]
    fn table_cells_holding_headings_split_at_them() {
        let got = blocks("sections-in-table-cells.html", &Rules::default());
        let h = |t: &str| (ClauseKind::Heading { level: 2 }, t.to_string());
        let p = |t: &str| (ClauseKind::Paragraph, t.to_string());
        assert_eq!(
            got,
            [
                h("Table of Contents"),
                p("1. Using the Services 2. Your Content"),
                h("1. Using the Services"),
                p("You may use the services only if you agree to these terms."),
                p("You must be at least 13 years old to use the services."),
                h("2. Your Content"),
                p("You keep ownership of what you post."),
                p("You give us a licence to use what you post to train our models."),
            ]
        );
        let clauses = split(
            &extract_html(&fixture("sections-in-table-cells.html"), &Rules::default()).unwrap(),
        );
        let last = clauses.last().expect("clauses");
        assert_eq!(last.path, "2. Your Content");
    }

    #[test]
    fn stray_emphasis_runs_in_page_text_are_dropped() {
        let html = "<p>** Usage Information.** We collect</p><p>**5. Take Control</p>\
                    <p>snake__case, Name: ____, 2 ** 3</p><pre>let x = **p;</pre>";
        let got: Vec<String> = extract_html(html, &Rules::default())
            .unwrap()
            .blocks
            .into_iter()
            .map(|b| b.text)
            .collect();
        assert_eq!(
            got,
            [
                "Usage Information. We collect",
                "5. Take Control",
                "snake__case, Name: ____, 2 3",
                "let x = **p;"
            ]
        );
    }

    #[test]
    fn single_br_is_a_space_double_br_splits_a_paragraph() {
        assert_eq!(
            texts("br-inside-p.html", &Rules::default()),
            [
                "We collect some data about you",
                "First part.",
                "Second part.",
                "Loose text continues",
                "Para",
                "after para",
                "Two lines"
            ]
        );
    }

    #[test]
    fn select_is_a_union_in_document_order_without_nested_duplicates() {
        let r = rules(&[".b", ".a", "body > p"], &[]);
        assert_eq!(
            texts("select-nested.html", &r),
            ["First p", "In a", "In b", "Last b"]
        );
        let r = rules(&[".a"], &[".b"]);
        assert_eq!(texts("select-nested.html", &r), ["In a"]);
    }

    #[test]
    fn invisible_elements_are_dropped() {
        let r = rules(&[], &["[aria-hidden=\"true\"]"]);
        assert_eq!(
            texts("hidden-and-scripts.html", &r),
            [
                "Visible one.",
                "Form text",
                "Visible two.",
                "Visible three."
            ]
        );
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            texts("entities.html", &Rules::default()),
            ["Fish & chips <tag> café ©\u{a0}2026 it’s ’quoted‘ “x” &bogus; AT&T"]
                .map(crate::pipeline::extract::collapse_ws)
        );
    }

    #[test]
    fn typography_and_wrapping_do_not_change_clauses() {
        let a = split(&extract_html(&fixture("typographic-a.html"), &Rules::default()).unwrap());
        let b = split(&extract_html(&fixture("typographic-b.html"), &Rules::default()).unwrap());
        let norms = |c: &[crate::pipeline::clauses::Clause]| {
            c.iter().map(|c| c.norm().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(norms(&a), norms(&b));
        assert_eq!(
            norms(&a)[1],
            "We collect identifiers - like your e-mail and cooperate with partners..."
        );
        assert_eq!(version_hash(&a), version_hash(&b));
        // The original wording is kept for quoting.
        assert_eq!(a[0].text, "It’s our “Policy”");
    }

    #[test]
    fn selector_matching_nothing_is_an_error() {
        let err = extract_html(
            &fixture("select-nested.html"),
            &rules(&["#main", ".missing"], &[]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ExtractError::NothingSelected {
                selectors: "#main, .missing".into()
            }
        );
    }

    #[test]
    fn invalid_selector_is_named() {
        let err = extract_html("<p>x</p>", &rules(&["p"], &["div[["])).unwrap_err();
        assert!(
            matches!(&err, ExtractError::InvalidSelector { selector, .. } if selector == "div[["),
            "{err:?}"
        );
        assert!(err.to_string().contains("div[["));
        assert!(validate_selector("div[[").is_err());
        assert!(validate_selector("#twtr-main > .x:nth-child(2), [aria-hidden=\"true\"]").is_ok());
    }

    #[test]
    fn short_page_is_too_short() {
        let r = Rules {
            min_chars: 100,
            ..rules(&[".a"], &[])
        };
        let err = extract(&fixture("select-nested.html"), Format::Html, &r).unwrap_err();
        assert_eq!(
            err,
            ExtractError::TooShort {
                chars: "In a".len() + "In b".len(),
                min: 100
            }
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 5_000;
        let html = format!(
            "{}<p>Deep.</p>{}",
            "<div><span>".repeat(depth),
            "</span></div>".repeat(depth)
        );
        // A small thread stack, like a runtime worker's, makes recursion fail fast.
        let texts = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let ex = extract_html(&html, &Rules::default()).map_err(|e| e.to_string())?;
                Ok::<_, String>(ex.blocks.into_iter().map(|b| b.text).collect::<Vec<_>>())
            })
            .expect("thread starts")
            .join()
            .expect("no stack overflow");
        assert_eq!(texts, Ok(vec!["Deep.".to_string()]));
    }

    #[test]
    fn page_without_body_markup_still_extracts() {
        let got = extract_html("Just text, <i>no</i> tags", &Rules::default()).unwrap();
        assert_eq!(
            got.blocks,
            [Block {
                kind: ClauseKind::Paragraph,
                text: "Just text, no tags".into()
            }]
        );
    }
}
