//! The HTML of every page, from views, without I/O. maud escapes every
//! interpolated string, so policy text (which may hold `<script>` as
//! words) is always shown as text; nothing here writes raw HTML.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use url::Url;

use super::load::{ChangeView, DocumentView, HomeRow, VersionRow, VersionView};
use crate::links;
use crate::pipeline::clauses::{Clause, ClauseHash, ClauseKind};
use crate::pipeline::diff::{Change, ChangeKind, FlagSummary, WordOpKind};
use crate::pipeline::extract::normalize;
use crate::store::ChangeCounts;
use crate::watch::check;

/// The one stylesheet (the CSP allows no inline style). Readable on a
/// phone; `ins` and `del` keep an underline and a strike so that colour is
/// not the only sign, and say what they are to screen readers.
pub const STYLE: &str = r#"body{font:1rem/1.5 system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;color:#1a1a1a;background:#fff}
a{color:#0645ad}
nav.crumbs{font-size:.9rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
.failing{color:#a00000;font-weight:bold}
.muted{color:#555}
.tag{display:inline-block;font-size:.8rem;padding:0 .4rem;border:1px solid #888;border-radius:.3rem;margin-right:.3rem}
ins{background:#d7f5d7;text-decoration:underline}
del{background:#fad4d4;text-decoration:line-through}
ins::before{content:" [inserted: ";position:absolute;clip-path:inset(50%);width:1px;height:1px;overflow:hidden}
ins::after,del::after{content:"] ";position:absolute;clip-path:inset(50%);width:1px;height:1px;overflow:hidden}
del::before{content:" [deleted: ";position:absolute;clip-path:inset(50%);width:1px;height:1px;overflow:hidden}
ol.changes>li{margin-bottom:1.5rem}
ol.changes h2{font-size:1.05rem;margin:.2rem 0}
.clause{margin:.4rem 0}
.clause a.anchor{visibility:hidden;text-decoration:none;margin-left:.3rem}
.clause:hover a.anchor,.clause:target a.anchor{visibility:visible}
.clause:target{background:#fff8c4}
p.item::before{content:"• "}
nav.pager{display:flex;justify-content:space-between;margin:1rem 0}
form label{display:block;margin:.5rem 0 .2rem}
input,select,button{font:inherit;max-width:100%}
"#;

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The page frame: title, stylesheet, feed link, a way home.
fn layout(base: &Url, title: &str, feed: Option<Url>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href=(join(base, "style.css"));
                @if let Some(f) = feed {
                    link rel="alternate" type="application/atom+xml" title="Atom feed" href=(f);
                }
            }
            body {
                main { (body) }
                footer class="muted" {
                    p {
                        a href=(links::home(base)) { "All documents" }
                        " · "
                        a href=(join(base, "search")) { "Search" }
                        " · "
                        a href=(links::feed(base)) { "Atom feed" }
                    }
                }
            }
        }
    }
}

fn join(base: &Url, last: &str) -> Url {
    let mut u = links::home(base);
    if let Ok(mut p) = u.path_segments_mut() {
        p.pop_if_empty().push(last);
    }
    u
}

/// A clause's anchor: from its normalized wording, so that the same clause
/// keeps its address from one version to the next.
pub fn anchor_for_text(text: &str) -> String {
    anchor(&ClauseHash::of(&normalize(text)).to_string())
}

fn anchor(hash: &str) -> String {
    format!("c-{}", &hash[..hash.len().min(12)])
}

/// Anchors of a version's clauses, a repeated wording numbered on.
pub fn anchors(clauses: &[Clause]) -> Vec<String> {
    let mut seen = std::collections::HashMap::<ClauseHash, usize>::new();
    clauses
        .iter()
        .map(|c| {
            let n = seen.entry(c.hash).or_insert(0);
            *n += 1;
            let hash = c.hash.to_string();
            match *n {
                1 => anchor(&hash),
                k => format!("{}-{k}", anchor(&hash)),
            }
        })
        .collect()
}

/// "2 added, 1 modified": the counts that are not zero.
pub fn counts_line(c: &ChangeCounts) -> String {
    let parts: Vec<String> = [
        (c.added, "added"),
        (c.removed, "removed"),
        (c.modified, "modified"),
        (c.renamed, "headings renamed"),
        (c.moved, "moved"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}"))
    .collect();
    if parts.is_empty() {
        "no clause changed".to_string()
    } else {
        parts.join(", ")
    }
}

/// A version's one-line summary on the document page.
pub fn version_line(row: &VersionRow) -> String {
    let v = &row.info;
    if v.version == 1 {
        return format!("First version seen, {} clauses", v.clauses);
    }
    if v.cosmetic {
        return "Cosmetic: only case, spacing, punctuation or markup changed (not announced)"
            .to_string();
    }
    if row.only_moves {
        return "Only clauses moved (not announced)".to_string();
    }
    match &v.changes {
        Some(c) => counts_line(c),
        None => format!("{} clauses", v.clauses),
    }
}

fn flag_word(f: &FlagSummary) -> String {
    let dir = if f.appeared {
        "appeared"
    } else {
        "disappeared"
    };
    if f.count > 1 {
        format!("{}: {dir} ({} times)", f.flag, f.count)
    } else {
        format!("{}: {dir}", f.flag)
    }
}

fn flags(list: &[FlagSummary]) -> Markup {
    html! {
        @if !list.is_empty() {
            ul class="flags" aria-label="Flags" {
                @for f in list { li { span class="tag" { "flag" } (flag_word(f)) } }
            }
        }
    }
}

fn crumbs(base: &Url, doc: Option<(&str, &str, &str)>) -> Markup {
    html! {
        nav class="crumbs" aria-label="Breadcrumb" {
            a href=(links::home(base)) { "Documents" }
            @if let Some((id, service, name)) = doc {
                " › " a href=(links::document(base, id)) { (service) " " (name) }
            }
        }
    }
}

pub fn home(base: &Url, rows: &[HomeRow]) -> Markup {
    let body = html! {
        h1 { "Watched policies" }
        p class="muted" { "Every change to these pages, clause by clause." }
        @if rows.is_empty() {
            p { "No document is watched yet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Service" } th scope="col" { "Document" } th scope="col" { "Last change" } th scope="col" { "State" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { (r.doc.service) }
                            td { a href=(links::document(base, &r.doc.id)) { (r.doc.name) } }
                            td { @match r.status.last_change { Some(t) => (day(t)), None => "none yet" } }
                            td {
                                @if r.status.consecutive_failures > 0 {
                                    span class="failing" {
                                        "Failing"
                                        @if let Some(c) = r.status.last_error_class { " (" (c.as_str()) ")" }
                                        @if let Some(t) = r.status.failing_since { " since " (day(t)) }
                                    }
                                } @else if r.status.paused {
                                    "Paused"
                                } @else {
                                    "Watched"
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(base, "Watched policies", Some(links::feed(base)), body)
}

pub fn document(base: &Url, v: &DocumentView) -> Markup {
    let d = &v.doc;
    let title = format!("{} {}", d.service, d.name);
    let body = html! {
        (crumbs(base, None))
        h1 { (title) }
        p {
            a href=(d.url) rel="noopener" { "The policy page itself" }
            " · "
            a href=(links::document_feed(base, &d.id)) { "Atom feed of its changes" }
        }
        @if v.status.consecutive_failures > 0 {
            p class="failing" {
                "The last " (v.status.consecutive_failures) " checks failed"
                @if let Some(e) = &v.status.last_error { ": " (e) }
            }
        }
        @if v.versions.is_empty() {
            p { "No version recorded yet." }
        } @else {
            h2 { "Versions, newest first" }
            table {
                thead { tr { th scope="col" { "Version" } th scope="col" { "Seen" } th scope="col" { "What changed" } } }
                tbody {
                    @for r in &v.versions {
                        tr {
                            td { a href=(links::version(base, &d.id, r.info.version)) { "Version " (r.info.version) } }
                            td { (day(r.info.first_seen)) }
                            td {
                                @if r.info.cosmetic { span class="tag" { "cosmetic" } }
                                @if r.only_moves { span class="tag" { "moves only" } }
                                (version_line(r))
                                @if r.info.version > 1 {
                                    " · " a href=(links::change(base, &d.id, r.info.version)) { "the diff" }
                                }
                                (flags(&r.flags))
                                @for t in &r.technical {
                                    p class="muted" {
                                        span class="tag" { "technical" }
                                        "Re-read with new extraction rules on " (day(*t)) " (not announced)."
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(base, &title, Some(links::document_feed(base, &d.id)), body)
}

fn clause_markup(c: &Clause, id: &str) -> Markup {
    let link =
        html! { a class="anchor" href={ "#" (id) } aria-label="Link to this clause" { "¶" } };
    html! {
        @match c.kind {
            ClauseKind::Heading { level } => {
                @let tag = level.clamp(1, 5) + 1;
                @match tag {
                    2 => h2 class="clause" id=(id) { (c.text) (link) },
                    3 => h3 class="clause" id=(id) { (c.text) (link) },
                    4 => h4 class="clause" id=(id) { (c.text) (link) },
                    5 => h5 class="clause" id=(id) { (c.text) (link) },
                    _ => h6 class="clause" id=(id) { (c.text) (link) },
                }
            }
            ClauseKind::ListItem => p class="clause item" id=(id) { (c.text) (link) },
            ClauseKind::TableRow => p class="clause row" id=(id) { (c.text) (link) },
            ClauseKind::Paragraph => p class="clause" id=(id) { (c.text) (link) },
        }
    }
}

pub fn version(base: &Url, v: &VersionView) -> Markup {
    let d = &v.doc;
    let n = v.info.version;
    let title = format!("{} {}: version {n}", d.service, d.name);
    let ids = anchors(&v.clauses);
    let body = html! {
        (crumbs(base, Some((&d.id, &d.service, &d.name))))
        h1 { (title) }
        p {
            "First seen " (day(v.info.first_seen)) ", last seen " (day(v.info.last_seen)) ", "
            (v.clauses.len()) " clauses."
            @if v.info.cosmetic { " " span class="tag" { "cosmetic" } }
        }
        nav class="pager" aria-label="Versions" {
            span { @if n > 1 { a href=(links::version(base, &d.id, n - 1)) rel="prev" { "← Version " (n - 1) } } }
            span { @if n > 1 { a href=(links::change(base, &d.id, n)) { "What this version changed" } } }
            span { @if n < v.newest { a href=(links::version(base, &d.id, n + 1)) rel="next" { "Version " (n + 1) " →" } } }
        }
        article lang=(d.language) {
            @for (c, id) in v.clauses.iter().zip(&ids) { (clause_markup(c, id)) }
        }
    };
    layout(base, &title, Some(links::document_feed(base, &d.id)), body)
}

fn kind_word(c: &Change) -> &'static str {
    match c.kind {
        ChangeKind::Added => "Added",
        ChangeKind::Removed => "Removed",
        ChangeKind::Modified => "Modified",
        ChangeKind::Moved => "Moved",
        ChangeKind::Renamed => "Heading renamed",
    }
}

/// Where a clause is, as the end of a sentence: " in “A > B”".
fn quote_path(p: &str) -> String {
    if p.is_empty() {
        " at the top of the page".to_string()
    } else {
        format!(" in “{p}”")
    }
}

/// The words of a modified clause, deletions and insertions marked.
fn words(c: &Change) -> Markup {
    if c.words.is_empty() {
        return html! {
            @if let Some(o) = &c.old { del { (o) } " " }
            @if let Some(n) = &c.new { ins { (n) } }
        };
    }
    html! {
        @for w in &c.words {
            @match w.op {
                WordOpKind::Equal => (w.text),
                WordOpKind::Delete => del { (w.text) },
                WordOpKind::Insert => ins { (w.text) },
            }
        }
    }
}

/// One change of the diff page.
pub fn change_item(base: &Url, doc: &str, from: i64, to: i64, c: &Change) -> Markup {
    let flagged: Vec<FlagSummary> = c
        .flags
        .iter()
        .map(|f| FlagSummary {
            flag: f.clone(),
            appeared: !c.flags_disappeared.contains(f),
            count: 1,
        })
        .collect();
    let kind = kind_word(c);
    html! {
        li class={ "change " (kind.to_lowercase().replace(' ', "-")) } {
            h2 { (kind) (quote_path(&c.path)) }
            @match c.kind {
                ChangeKind::Added => { p { ins { (c.new.as_deref().unwrap_or_default()) } } }
                ChangeKind::Removed => { p { del { (c.old.as_deref().unwrap_or_default()) } } }
                ChangeKind::Modified | ChangeKind::Renamed => { p { (words(c)) } }
                ChangeKind::Moved => {
                    p class="muted" {
                        @match &c.old_path {
                            Some(o) if *o != c.path => { "Moved unchanged from “" (o) "” to “" (c.path) "”." }
                            _ => { "Moved unchanged" (quote_path(&c.path)) ", or turned from a heading into text or back." }
                        }
                    }
                    p { (c.new.as_deref().unwrap_or_default()) }
                }
            }
            (flags(&flagged))
            p class="muted" {
                @if let Some(n) = &c.new {
                    a href={ (links::version(base, doc, to)) "#" (anchor_for_text(n)) } { "In version " (to) }
                }
                @if c.new.is_some() && c.old.is_some() { " · " }
                @if let Some(o) = &c.old {
                    a href={ (links::version(base, doc, from)) "#" (anchor_for_text(o)) } { "In version " (from) }
                }
            }
        }
    }
}

/// The changes of a change set, in order.
pub fn change_list(base: &Url, doc: &str, from: i64, to: i64, changes: &[Change]) -> Markup {
    html! {
        ol class="changes" {
            @for c in changes { (change_item(base, doc, from, to, c)) }
        }
    }
}

pub fn change(base: &Url, v: &ChangeView) -> Markup {
    let d = &v.doc;
    let (from, to) = (v.from.version, v.to.version);
    let title = if from + 1 == to {
        format!("{} {}: what version {to} changed", d.service, d.name)
    } else {
        format!(
            "{} {}: from version {from} to version {to}",
            d.service, d.name
        )
    };
    let body = html! {
        (crumbs(base, Some((&d.id, &d.service, &d.name))))
        h1 { (title) }
        p {
            "Version " (to) " was first seen " (day(v.to.first_seen))
            "; version " (from) " " (day(v.from.first_seen)) ". "
            a href=(d.url) rel="noopener" { "The policy page itself" }
            "."
        }
        p { strong { (counts_line(&check::counts(&v.changes))) } }
        @if v.to.cosmetic && from + 1 == to { p { span class="tag" { "cosmetic" } "Only case, spacing, punctuation or markup changed: not announced." } }
        (flags(&v.changes.net_flags()))
        nav class="pager" aria-label="Changes" {
            span { @if let Some(p) = v.prev { a href=(links::change(base, &d.id, p)) rel="prev" { "← Previous change" } } }
            span { a href=(links::version(base, &d.id, to)) { "Version " (to) " in full" } }
            span { @if let Some(n) = v.next { a href=(links::change(base, &d.id, n)) rel="next" { "Next change →" } } }
        }
        @if v.changes.changes.is_empty() {
            p { "No clause changed." }
        } @else {
            div lang=(d.language) { (change_list(base, &d.id, from, to, &v.changes.changes)) }
        }
        form method="get" action=(links::change(base, &d.id, to)) {
            label for="from" { "Compare version " (to) " with version" }
            input id="from" name="from" type="number" min="1" max=(to) value=(from);
            " " button type="submit" { "Compare" }
        }
    };
    layout(base, &title, Some(links::document_feed(base, &d.id)), body)
}

pub fn search(
    base: &Url,
    docs: &[HomeRow],
    doc: Option<&str>,
    phrase: Option<&str>,
    answer: Option<&str>,
) -> Markup {
    let body = html! {
        (crumbs(base, None))
        h1 { "When did this phrase appear?" }
        form method="get" action=(join(base, "search")) {
            label for="doc" { "Document" }
            select id="doc" name="doc" {
                @for r in docs {
                    option value=(r.doc.id) selected[doc == Some(r.doc.id.as_str())] { (r.doc.service) " " (r.doc.name) }
                }
            }
            label for="q" { "Phrase" }
            input id="q" name="q" type="search" value=(phrase.unwrap_or_default()) required;
            " " button type="submit" { "Search" }
        }
        @if let Some(a) = answer {
            section aria-live="polite" {
                h2 { "Answer" }
                @for line in a.lines() { p { (line) } }
            }
        }
    };
    layout(base, "When did this phrase appear?", None, body)
}

pub fn error_page(status: u16, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Error " (status) } }
            body { h1 { "Error " (status) } p { (message) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clauses::split;
    use crate::pipeline::diff::{diff, DiffOptions};
    use crate::pipeline::extract::extract_markdown;

    fn clauses(md: &str) -> Vec<Clause> {
        split(&extract_markdown(md))
    }

    #[test]
    fn policy_text_is_escaped_and_word_changes_are_marked() {
        let old = clauses("# Terms\n\nWe keep your email.\n");
        let new = clauses(
            "# Terms\n\nWe keep your email and face.\n\nType \\<script>alert(1)\\</script> here.\n",
        );
        let cs = diff(&old, &new, &DiffOptions::default(), "en");
        let base = Url::parse("https://p.example/").unwrap();
        let html = change_list(&base, "d", 1, 2, &cs.changes).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("<ins>Type &lt;script&gt;alert(1)&lt;/script&gt; here.</ins>"),
            "{html}"
        );
        assert!(
            html.contains("We keep your email<ins> and face</ins>."),
            "{html}"
        );
        assert!(
            html.contains("https://p.example/documents/d/versions/2#c-"),
            "{html}"
        );
    }

    #[test]
    fn anchors_follow_the_wording_and_number_repeats() {
        let a = clauses("# T\n\nSame words.\n\nOther.\n\nSame words.\n");
        let ids = anchors(&a);
        assert_eq!(ids[1], anchor_for_text("Same words."));
        assert_eq!(ids[3], format!("{}-2", ids[1]));
        // The same clause in another version keeps its anchor.
        let b = clauses("# T\n\nNew first.\n\nSame words.\n");
        assert_eq!(anchors(&b)[2], ids[1]);
    }
}
