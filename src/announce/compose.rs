//! Turns a change set into a thread of fediverse posts.
//!
//! Post 1 stands alone for a follower who reads nothing else: who changed
//! which document, the most important change said as a consequence ("X may
//! now collect biometric data"), how many clauses, systematic renames in
//! one line, which sections and watched topics, the date the version was
//! first seen, a link and hashtags; when the whole change fits, it is in
//! post 1 too. The following posts quote the changes, those raising a topic
//! first; a reworded clause shows one excerpt with its edits marked
//! `[+ … +]` / `[- … -]`. Every post is numbered `i/n` at its start and,
//! counted as the server counts it (see [`super::count`]), content warning
//! included, stays within the instance limit. Output is a pure function of
//! the input: no clock, no randomness.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::Range;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use unicode_segmentation::UnicodeSegmentation;

use super::count::{status_length, url_ranges, DEFAULT_CHARS_PER_URL};
use super::topics::{self, Direction, Raised, Topics};
use crate::pipeline::diff::{Change, ChangeKind, ChangeSet, WordOp, WordOpKind};

/// What the thread is about.
pub struct ThreadInput<'a> {
    pub service: &'a str,
    pub document_name: &'a str,
    pub document_id: &'a str,
    pub url: &'a str,
    /// Document language tag ("en", "fr", "fr-CA"); templates fall back to English.
    pub language: &'a str,
    pub changes: &'a ChangeSet,
    pub version: i64,
    pub previous_version: Option<i64>,
    pub seen_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ComposeOptions {
    /// Instance character limit.
    pub max_chars: usize,
    /// Instance `characters_reserved_per_url`.
    pub chars_per_url: usize,
    /// Content warning applied to every post; counted against `max_chars`.
    pub spoiler: Option<String>,
    /// Hashtags for post 1, without `#`.
    pub hashtags: Vec<String>,
    /// Maximum number of posts in a thread, the notice of left-out changes included.
    pub max_posts: usize,
    /// Where the full list of changes can be read (the change's web page);
    /// without it a capped thread names the reply command that shows it.
    pub more_url: Option<String>,
    /// The watched topics (built-in lists and `[watch_terms]`).
    pub topics: Arc<Topics>,
}

impl Default for ComposeOptions {
    fn default() -> Self {
        ComposeOptions {
            max_chars: crate::defaults::MAX_CHARS,
            chars_per_url: DEFAULT_CHARS_PER_URL,
            spoiler: None,
            hashtags: Vec::new(),
            max_posts: crate::defaults::MAX_POSTS_PER_THREAD,
            more_url: None,
            topics: topics::builtin(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// The post as sent: `i/n ` and the body.
    pub text: String,
    /// The body alone, without the numbering (a subscriber's message).
    pub body: String,
    pub spoiler: Option<String>,
    /// ISO 639-1 language of the post (the document's).
    pub language: String,
}

/// Section names longer than this are shortened in the overview, where they
/// are only a pointer; detail posts show them in full.
const SECTION_NAME_MAX: usize = 60;
/// Sections listed by name in the overview before "and N more".
const SECTIONS_SHOWN: usize = 3;
/// Words of unchanged text kept on each side of a reworded stretch.
const CONTEXT_WORDS: usize = 8;
/// A reworded clause whose two sides together are at most this long is
/// quoted whole; a longer one only around what changed.
const WHOLE_QUOTE_MAX: usize = 280;
const ELLIPSIS: &str = "…";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    En,
    Fr,
}

impl Lang {
    fn from_tag(tag: &str) -> Lang {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if primary == "fr" {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    /// "X updated its Privacy Policy.": the document's name without the
    /// service's when it starts with it ("X Privacy Policy").
    fn headline(self, service: &str, document: &str) -> String {
        let document = document_without_service(service, document);
        match self {
            Lang::En => format!("{service} updated its {document}."),
            Lang::Fr => format!("{service} a mis à jour sa page « {document} »."),
        }
    }

    /// "X may now collect biometric data, use … and …": the consequences
    /// (verb phrases from the topic files) after the service's name, a
    /// repeated "may now" said once.
    fn consequences(self, service: &str, items: &[&str]) -> String {
        let Some((first, rest)) = items.split_first() else {
            return String::new();
        };
        let lead: Vec<&str> = first.split(' ').take(2).collect();
        let lead = format!("{} ", lead.join(" "));
        let mut parts = vec![first.to_string()];
        for item in rest {
            parts.push(item.strip_prefix(lead.as_str()).unwrap_or(item).to_string());
        }
        let and = match self {
            Lang::En => " and ",
            Lang::Fr => " et ",
        };
        let joined = match parts.split_last() {
            Some((last, init)) if !init.is_empty() => format!("{}{and}{last}", init.join(", ")),
            _ => parts.concat(),
        };
        format!("{service} {joined}.")
    }

    /// "Throughout: Twitter → X (52 clauses), Tweets → posts (7)."
    fn throughout(self, pairs: &[&Substitution], total: usize) -> String {
        let label = match self {
            Lang::En => "Throughout: ",
            Lang::Fr => "Partout : ",
        };
        let items: Vec<String> = pairs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let unit = match (self, i) {
                    (Lang::En, 0) => " clauses",
                    (Lang::Fr, 0) => " clauses",
                    _ => "",
                };
                format!("{} → {} ({}{unit})", p.old, p.new, p.clauses.len())
            })
            .collect();
        let rest = total - pairs.len();
        let more = if rest > 0 {
            self.and_more(rest)
        } else {
            String::new()
        };
        format!("{label}{}{more}.", items.join(", "))
    }

    /// The one post for a version after a tiny, broken-looking one.
    fn after_bad_baseline(self, service: &str, document: &str, sizes: PageSizes) -> String {
        let document = document_without_service(service, document);
        match self {
            Lang::En => format!(
                "{service} {document}: the page now holds {} clauses; the previous version ({} clause{}) looked like an error page, so its differences are not listed.",
                sizes.new_clauses,
                sizes.old_clauses,
                if sizes.old_clauses == 1 { "" } else { "s" }
            ),
            Lang::Fr => format!(
                "{service}, « {document} » : la page compte désormais {} clauses ; la version précédente ({} clause{}) ressemblait à une page d’erreur, ses différences ne sont donc pas listées.",
                sizes.new_clauses,
                sizes.old_clauses,
                if sizes.old_clauses > 1 { "s" } else { "" }
            ),
        }
    }

    /// "3 clauses added, 1 reworded, 2 removed": the noun only on the first
    /// item, which is how people write such lists.
    fn counts(self, items: &[(usize, CountItem)]) -> String {
        let mut parts = Vec::new();
        for (i, &(n, item)) in items.iter().enumerate() {
            let plural = n > 1;
            let noun = if item == CountItem::Renamed {
                match (self, plural) {
                    (Lang::En, false) => "heading ",
                    (Lang::En, true) => "headings ",
                    (Lang::Fr, false) => "titre ",
                    (Lang::Fr, true) => "titres ",
                }
            } else if i == 0 {
                match (self, plural) {
                    (Lang::En, false) => "clause ",
                    (Lang::En, true) => "clauses ",
                    (Lang::Fr, false) => "clause ",
                    (Lang::Fr, true) => "clauses ",
                }
            } else {
                ""
            };
            let verb = match (self, item) {
                (Lang::En, CountItem::Added) => "added",
                (Lang::En, CountItem::Modified) => "reworded",
                (Lang::En, CountItem::Removed) => "removed",
                (Lang::En, CountItem::Renamed) => "renamed",
                (Lang::En, CountItem::Moved) => "moved",
                (Lang::Fr, CountItem::Added) => "ajoutée",
                (Lang::Fr, CountItem::Modified) => "reformulée",
                (Lang::Fr, CountItem::Removed) => "supprimée",
                (Lang::Fr, CountItem::Renamed) => "renommé",
                (Lang::Fr, CountItem::Moved) => "déplacée",
            };
            let s = if self == Lang::Fr && plural { "s" } else { "" };
            parts.push(format!("{n} {noun}{verb}{s}"));
        }
        if parts.is_empty() {
            return match self {
                Lang::En => "No wording changed.".into(),
                Lang::Fr => "Aucune formulation n’a changé.".into(),
            };
        }
        format!("{}.", parts.join(", "))
    }

    fn and_more(self, n: usize) -> String {
        match self {
            Lang::En => format!(" and {n} more"),
            Lang::Fr => format!(" et {n} autre{}", if n > 1 { "s" } else { "" }),
        }
    }

    fn sections(self, shown: &[String], total: usize) -> String {
        let rest = total - shown.len();
        let label = match (self, total > 1) {
            (Lang::En, false) => "Section: ",
            (Lang::En, true) => "Sections: ",
            (Lang::Fr, false) => "Section : ",
            (Lang::Fr, true) => "Sections : ",
        };
        if shown.is_empty() {
            return match self {
                Lang::En => format!("In {total} section{}.", if total > 1 { "s" } else { "" }),
                Lang::Fr => format!("Dans {total} section{}.", if total > 1 { "s" } else { "" }),
            };
        }
        let more = if rest > 0 {
            self.and_more(rest)
        } else {
            String::new()
        };
        format!("{label}{}{more}.", shown.join("; "))
    }

    fn flags_line(self, appeared: bool, shown: &[&str], total: usize) -> String {
        let label = match (self, appeared) {
            (Lang::En, true) => "New text about: ",
            (Lang::En, false) => "Text removed about: ",
            (Lang::Fr, true) => "Nouveau texte sur : ",
            (Lang::Fr, false) => "Texte supprimé sur : ",
        };
        let rest = total - shown.len();
        let more = if rest > 0 {
            self.and_more(rest)
        } else {
            String::new()
        };
        format!("{label}{}{more}.", shown.join("; "))
    }

    fn seen(self, at: DateTime<Utc>) -> String {
        let d = at.format("%Y-%m-%d");
        match self {
            Lang::En => format!("Seen on {d}."),
            Lang::Fr => format!("Constaté le {d}."),
        }
    }

    fn section_line(self, path: &str) -> String {
        match (self, path.is_empty()) {
            (Lang::En, true) => "Section: (beginning)".into(),
            (Lang::En, false) => format!("Section: {path}"),
            (Lang::Fr, true) => "Section : (début)".into(),
            (Lang::Fr, false) => format!("Section : {path}"),
        }
    }

    fn quote(self, text: &str) -> String {
        match self {
            Lang::En => format!("«{text}»"),
            Lang::Fr => format!("« {text} »"),
        }
    }

    fn label(self, kind: ChangeKind) -> &'static str {
        match (self, kind) {
            (Lang::En, ChangeKind::Added) => "Added:",
            (Lang::En, ChangeKind::Removed) => "Removed:",
            (Lang::En, ChangeKind::Modified) => "Reworded:",
            (Lang::En, ChangeKind::Renamed) => "Heading renamed:",
            (Lang::En, ChangeKind::Moved) => "Moved:",
            (Lang::Fr, ChangeKind::Added) => "Ajouté :",
            (Lang::Fr, ChangeKind::Removed) => "Supprimé :",
            (Lang::Fr, ChangeKind::Modified) => "Reformulé :",
            (Lang::Fr, ChangeKind::Renamed) => "Titre renommé :",
            (Lang::Fr, ChangeKind::Moved) => "Déplacé :",
        }
    }

    fn was_now(self) -> (&'static str, &'static str) {
        match self {
            Lang::En => ("was:", "now:"),
            Lang::Fr => ("avant :", "après :"),
        }
    }

    fn continued(self) -> &'static str {
        match self {
            Lang::En => "(continued)\n",
            Lang::Fr => "(suite)\n",
        }
    }

    fn omitted(self, n: usize, rest: &Rest) -> String {
        let s = if n > 1 { "s" } else { "" };
        match (self, rest) {
            (Lang::En, Rest::Page(url)) => {
                format!("{n} more change{s} not shown in full here. All changes: {url}")
            }
            (Lang::Fr, Rest::Page(url)) => format!(
                "{n} autre{s} modification{s} non affichée{s} en entier ici. Toutes les modifications : {url}"
            ),
            (Lang::En, Rest::Command(cmd)) => format!(
                "{n} more change{s} not shown in full here. Reply “{cmd}” to get them as a reply."
            ),
            (Lang::Fr, Rest::Command(cmd)) => format!(
                "{n} autre{s} modification{s} non affichée{s} en entier ici. Répondez « {cmd} » pour les recevoir en réponse."
            ),
        }
    }
}

/// Where a capped thread sends the reader for what it left out.
enum Rest {
    /// The change's web page.
    Page(String),
    /// The mention command whose answer lists the changes.
    Command(String),
}

/// The clause counts of the two versions, for a change that follows a
/// version too small to be the policy (an error page or a cut-off body
/// that passed the gates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSizes {
    pub old_clauses: usize,
    pub new_clauses: usize,
    pub old_chars: usize,
    pub new_chars: usize,
}

/// A version this many times larger than the one before it…
const BAD_BASELINE_GROWTH: usize = 4;
/// … when that one held fewer characters than this, was not the policy.
const BAD_BASELINE_MAX_CHARS: usize = 3_000;

impl PageSizes {
    /// The sizes of two clause lists.
    pub fn of(
        old: &[crate::pipeline::clauses::Clause],
        new: &[crate::pipeline::clauses::Clause],
    ) -> PageSizes {
        let chars = |cs: &[crate::pipeline::clauses::Clause]| {
            cs.iter().map(|c| c.text.chars().count()).sum()
        };
        PageSizes {
            old_clauses: old.len(),
            new_clauses: new.len(),
            old_chars: chars(old),
            new_chars: chars(new),
        }
    }

    /// Whether the previous version looks like an error page or a cut-off
    /// body rather than the policy: tiny, and several times smaller than
    /// the new one in both text and clauses.
    pub fn previous_was_broken(&self) -> bool {
        self.old_chars < BAD_BASELINE_MAX_CHARS
            && self.new_chars >= BAD_BASELINE_GROWTH * self.old_chars.max(1)
            && self.new_clauses >= BAD_BASELINE_GROWTH * self.old_clauses.max(1)
    }
}

/// The document's name as a sentence uses it: "Privacy Policy", not "X
/// Privacy Policy" after "X".
fn document_without_service<'a>(service: &str, document: &'a str) -> &'a str {
    let service = service.trim();
    match document.get(..service.len()) {
        Some(head)
            if !service.is_empty()
                && head.eq_ignore_ascii_case(service)
                && document[service.len()..].starts_with([' ', '\u{a0}'])
                && !document[service.len()..].trim().is_empty() =>
        {
            document[service.len()..].trim_start()
        }
        _ => document,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CountItem {
    Added,
    Modified,
    Removed,
    Renamed,
    Moved,
}

/// Whether a post body, once numbered, fits the instance limit.
struct Fit<'a> {
    max_chars: usize,
    chars_per_url: usize,
    spoiler: Option<&'a str>,
    /// Widest number prefix the thread can get: `max_posts/max_posts `.
    reserve: String,
}

impl Fit<'_> {
    fn ok(&self, body: &str) -> bool {
        let numbered = format!("{}{body}", self.reserve);
        status_length(&numbered, self.spoiler, self.chars_per_url) <= self.max_chars
    }
}

/// Composes the thread; always at least one post, at most `max_posts`
/// (at least one), each within `max_chars` as long as the limit leaves room
/// for the number and content warning at all.
pub fn compose_thread(input: &ThreadInput, opts: &ComposeOptions) -> Vec<Post> {
    let lang = Lang::from_tag(input.language);
    let max_posts = opts.max_posts.max(1);
    let fit = Fit {
        max_chars: opts.max_chars,
        chars_per_url: opts.chars_per_url,
        spoiler: opts.spoiler.as_deref(),
        reserve: format!("{max_posts}/{max_posts} "),
    };
    // Each change's topics once: they rank the changes and make post 1's lines.
    let hits = opts.topics.of_each_change(input.language, input.changes);
    let topics = opts.topics.raised(input.language, &hits);
    let renames = substitutions(input.changes);

    // Changes go in document order, except that those raising a topic of
    // post 1 go first, the most important topic first: when the thread is
    // capped, those are the ones worth reading. Clauses whose only edits
    // are systematic renames are told by post 1's "Throughout" line.
    let names = opts.topics.of_language(input.language);
    let rank = |i: usize| -> usize {
        topics
            .iter()
            .position(|r| {
                hits[i]
                    .iter()
                    .any(|h| h.direction == r.direction && names[h.topic].name == r.topic.name)
            })
            .unwrap_or(usize::MAX)
    };
    let mut listed: Vec<(usize, usize, &Change)> = input
        .changes
        .changes
        .iter()
        .enumerate()
        .filter(|(i, c)| c.kind != ChangeKind::Moved && !renames.folded.contains(i))
        .map(|(i, c)| (rank(i), i, c))
        .collect();
    listed.sort_by_key(|(rank, i, _)| (*rank, *i));
    let listed: Vec<&Change> = listed.into_iter().map(|(_, _, c)| c).collect();
    let blocks: Vec<Vec<String>> = listed
        .iter()
        .map(|c| {
            let (text, head) = change_block(c, lang, &renames);
            split_to_fit(&text, head, lang.continued(), &fit)
        })
        .collect();
    let details = pack(&blocks, &fit);
    let first = overview(input, opts, lang, &fit, &topics, &renames, &listed);

    // A small change is read in full in post 1.
    if let [only] = details.as_slice() {
        let whole = format!("{first}\n\n{}", only.text);
        if fit.ok(&whole) {
            return number(vec![whole], input, opts);
        }
    }
    let mut bodies = vec![first];
    if details.len() < max_posts {
        bodies.extend(details.into_iter().map(|d| d.text));
    } else if max_posts >= 2 {
        let kept = max_posts - 2;
        let shown = details[..kept].iter().map(|d| d.completed).sum::<usize>();
        bodies.extend(details.into_iter().take(kept).map(|d| d.text));
        let rest = match &opts.more_url {
            Some(url) => Rest::Page(url.clone()),
            None => Rest::Command(diff_command(input)),
        };
        bodies.push(clip(&lang.omitted(listed.len() - shown, &rest), &fit));
    }
    // With max_posts == 1 the overview alone goes out; it links the page.
    number(bodies, input, opts)
}

/// The mention command that answers with this change: `diff DOC FROM TO`.
fn diff_command(input: &ThreadInput) -> String {
    match input.previous_version {
        Some(p) => format!("diff {} {p} {}", input.document_id, input.version),
        None => format!("diff {} {}", input.document_id, input.version),
    }
}

/// The posts, numbered `i/n`.
fn number(bodies: Vec<String>, input: &ThreadInput, opts: &ComposeOptions) -> Vec<Post> {
    let n = bodies.len();
    let language = post_language(input.language);
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Post {
            text: format!("{}/{n} {body}", i + 1),
            body,
            spoiler: opts.spoiler.clone(),
            language: language.clone(),
        })
        .collect()
}

/// The one post announcing a version that follows a version too small to
/// be the policy: its size, not a diff of the whole policy against an error
/// page.
pub fn compose_after_bad_baseline(
    input: &ThreadInput,
    opts: &ComposeOptions,
    sizes: PageSizes,
) -> Vec<Post> {
    let lang = Lang::from_tag(input.language);
    let fit = Fit {
        max_chars: opts.max_chars,
        chars_per_url: opts.chars_per_url,
        spoiler: opts.spoiler.as_deref(),
        reserve: "1/1 ".into(),
    };
    let text = [
        lang.after_bad_baseline(input.service, input.document_name, sizes),
        lang.seen(input.seen_at),
        input.url.to_string(),
    ]
    .join("\n");
    number(vec![clip(&text, &fit)], input, opts)
}

/// A systematic substitution: the same words replaced by the same words
/// in several clauses ("Twitter" → "X").
#[derive(Clone, Debug, PartialEq, Eq)]
struct Substitution {
    old: String,
    new: String,
    /// Changes (indices in the change set) that make it.
    clauses: BTreeSet<usize>,
}

/// Systematic substitutions, most frequent first, and the reworded clauses
/// whose every edit is one of them.
#[derive(Default)]
struct Renames {
    pairs: Vec<Substitution>,
    /// The (old, new) of `pairs`, to look an edit up in constant time:
    /// a thread's cost stays linear however many substitutions it has.
    systematic: HashSet<(String, String)>,
    folded: BTreeSet<usize>,
}

/// Clauses a substitution must occur in to be systematic.
const SYSTEMATIC_MIN_CLAUSES: usize = 3;
/// Longest side of a substitution, in words: longer edits are rewording.
const SUBSTITUTION_MAX_WORDS: usize = 4;

/// The edits of a reworded clause as (deleted, inserted) texts: each run
/// of changed words between two unchanged ones. Trimmed, and without the
/// punctuation or possessive both sides share ("Twitter’s" → "X’s" is
/// "Twitter" → "X").
fn edits(words: &[WordOp]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut old, mut new) = (String::new(), String::new());
    let flush = |old: &mut String, new: &mut String, out: &mut Vec<(String, String)>| {
        if !old.is_empty() || !new.is_empty() {
            out.push(strip_shared(old.trim(), new.trim()));
            old.clear();
            new.clear();
        }
    };
    for w in words {
        match w.op {
            WordOpKind::Equal => flush(&mut old, &mut new, &mut out),
            WordOpKind::Delete => old.push_str(&w.text),
            WordOpKind::Insert => new.push_str(&w.text),
        }
    }
    flush(&mut old, &mut new, &mut out);
    out
}

fn strip_shared(old: &str, new: &str) -> (String, String) {
    let (mut o, mut n) = (old, new);
    for suffix in ["’s", "'s"] {
        if o.ends_with(suffix) && n.ends_with(suffix) {
            o = &o[..o.len() - suffix.len()];
            n = &n[..n.len() - suffix.len()];
        }
    }
    loop {
        match (o.chars().last(), n.chars().last()) {
            (Some(a), Some(b)) if a == b && !a.is_alphanumeric() => {
                o = &o[..o.len() - a.len_utf8()];
                n = &n[..n.len() - b.len_utf8()];
            }
            _ => break,
        }
    }
    (o.trim().to_string(), n.trim().to_string())
}

impl Renames {
    /// A clause's word runs with the systematic substitutions taken as
    /// unchanged new wording: the "Throughout" line already tells them, so
    /// an excerpt marks only the other edits.
    fn applied(&self, words: &[WordOp]) -> Vec<WordOp> {
        if self.pairs.is_empty() {
            return words.to_vec();
        }
        let mut out: Vec<WordOp> = Vec::with_capacity(words.len());
        let push = |out: &mut Vec<WordOp>, op: WordOpKind, text: &str| match out.last_mut() {
            Some(last) if last.op == op => last.text.push_str(text),
            _ => out.push(WordOp {
                op,
                text: text.to_string(),
            }),
        };
        let mut i = 0;
        while i < words.len() {
            if words[i].op == WordOpKind::Equal {
                push(&mut out, WordOpKind::Equal, &words[i].text);
                i += 1;
                continue;
            }
            let end = words[i..]
                .iter()
                .position(|w| w.op == WordOpKind::Equal)
                .map_or(words.len(), |n| i + n);
            let run = &words[i..end];
            let pair = edits(run);
            let systematic = pair.len() == 1 && self.systematic.contains(&pair[0]);
            if systematic {
                let new: String = run
                    .iter()
                    .filter(|w| w.op == WordOpKind::Insert)
                    .map(|w| w.text.as_str())
                    .collect();
                push(&mut out, WordOpKind::Equal, &new);
            } else {
                for w in run {
                    push(&mut out, w.op, &w.text);
                }
            }
            i = end;
        }
        out
    }
}

fn substitutions(cs: &ChangeSet) -> Renames {
    let mut by_pair: BTreeMap<(String, String), BTreeSet<usize>> = BTreeMap::new();
    let mut clause_edits: Vec<(usize, Vec<(String, String)>)> = Vec::new();
    for (i, c) in cs.changes.iter().enumerate() {
        if !matches!(c.kind, ChangeKind::Modified | ChangeKind::Renamed) || c.words.is_empty() {
            continue;
        }
        let e = edits(&c.words);
        for (old, new) in &e {
            let short = |s: &str| s.split_whitespace().count() <= SUBSTITUTION_MAX_WORDS;
            if !old.is_empty() && !new.is_empty() && short(old) && short(new) {
                by_pair
                    .entry((old.clone(), new.clone()))
                    .or_default()
                    .insert(i);
            }
        }
        clause_edits.push((i, e));
    }
    let mut pairs: Vec<Substitution> = by_pair
        .into_iter()
        .filter(|(_, clauses)| clauses.len() >= SYSTEMATIC_MIN_CLAUSES)
        .map(|((old, new), clauses)| Substitution { old, new, clauses })
        .collect();
    pairs.sort_by(|a, b| {
        b.clauses
            .len()
            .cmp(&a.clauses.len())
            .then(a.old.cmp(&b.old))
    });
    let systematic: HashSet<(String, String)> = pairs
        .iter()
        .map(|p| (p.old.clone(), p.new.clone()))
        .collect();
    let folded = clause_edits
        .into_iter()
        .filter(|(_, e)| {
            !e.is_empty()
                && e.iter().all(|edit| {
                    (edit.0.is_empty() && edit.1.is_empty()) || systematic.contains(edit)
                })
        })
        .map(|(i, _)| i)
        .collect();
    Renames {
        pairs,
        systematic,
        folded,
    }
}

fn post_language(tag: &str) -> String {
    let primary = tag
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if primary.is_empty() {
        "en".into()
    } else {
        primary
    }
}

fn grapheme_len(s: &str) -> usize {
    s.graphemes(true).count()
}

fn shorten(s: &str, max: usize) -> String {
    if grapheme_len(s) <= max {
        return s.to_string();
    }
    let head: String = s.graphemes(true).take(max.saturating_sub(1)).collect();
    format!("{}{ELLIPSIS}", head.trim_end())
}

/// How much of the overview to show; the composer gives things up in the
/// order of [`OverviewParts::degrade`] until the post fits.
#[derive(Clone, Copy)]
struct OverviewParts {
    date: bool,
    moved: bool,
    sections: usize,
    hashtags: bool,
    flags: usize,
    renames: usize,
    consequences: usize,
}

impl OverviewParts {
    /// Least useful first: the date (the post's own date says as much),
    /// the moved count, section names, hashtags, watched topics one by
    /// one, renames, then consequences but the first. None when nothing is
    /// left to give up.
    fn degrade(self) -> Option<OverviewParts> {
        let mut d = self;
        if d.date {
            d.date = false;
        } else if d.moved {
            d.moved = false;
        } else if d.sections > 0 {
            d.sections -= 1;
        } else if d.hashtags {
            d.hashtags = false;
        } else if d.flags > 0 {
            d.flags -= 1;
        } else if d.renames > 1 {
            d.renames -= 1;
        } else if d.consequences > 1 {
            d.consequences -= 1;
        } else {
            return None;
        }
        Some(d)
    }
}

/// Most consequences post 1 spells out; further topics are named in the
/// topic lines.
const CONSEQUENCES_SHOWN: usize = 3;
/// Most substitutions the "Throughout" line names before "and N more".
const RENAMES_SHOWN: usize = 4;

fn overview(
    input: &ThreadInput,
    opts: &ComposeOptions,
    lang: Lang,
    fit: &Fit,
    topics: &[Raised],
    renames: &Renames,
    listed: &[&Change],
) -> String {
    // A page whose headings all sit under one title (an `h1` naming the
    // document) has its real sections one level down.
    let in_order: Vec<&Change> = input
        .changes
        .changes
        .iter()
        .enumerate()
        .filter(|(i, c)| c.kind != ChangeKind::Moved && !renames.folded.contains(i))
        .map(|(_, c)| c)
        .collect();
    let firsts: Vec<&str> = in_order
        .iter()
        .filter_map(|c| c.path.split(" > ").next())
        .filter(|f| !f.trim().is_empty())
        .collect();
    let title = firsts.first().copied().filter(|t| {
        let under = firsts.iter().filter(|f| *f == t).count();
        under * 5 >= firsts.len() * 4
    });
    let mut sections: Vec<String> = Vec::new();
    let mut named: HashSet<String> = HashSet::new();
    for c in &in_order {
        let mut segments = c.path.split(" > ");
        let mut top = segments.next().unwrap_or("");
        // Clauses right under the title are the page's introduction.
        if Some(top) == title {
            top = segments.next().unwrap_or("");
        }
        let top = top.trim();
        let name = if top.is_empty() {
            match lang {
                Lang::En => "the beginning".to_string(),
                Lang::Fr => "le début".to_string(),
            }
        } else {
            shorten(top, SECTION_NAME_MAX)
        };
        if named.insert(name.clone()) {
            sections.push(name);
        }
    }
    // A topic whose sentence says what the service may now do becomes a
    // consequence; the others are named in the topic lines.
    let mut consequences: Vec<&str> = Vec::new();
    let (mut new_flags, mut gone_flags) = (Vec::new(), Vec::new());
    for r in topics {
        let template = match r.direction {
            Direction::Added => r.topic.new.as_deref(),
            Direction::Removed => r.topic.removed.as_deref(),
        };
        match template {
            Some(t) if consequences.len() < CONSEQUENCES_SHOWN && !topics::negated(&r.sentence) => {
                consequences.push(t)
            }
            _ if r.direction == Direction::Added => new_flags.push(r.topic.label.clone()),
            _ => gone_flags.push(r.topic.label.clone()),
        }
    }
    let hashtags: Vec<String> = opts
        .hashtags
        .iter()
        .map(|h| h.trim().trim_start_matches('#'))
        .filter(|h| !h.is_empty())
        .map(|h| format!("#{h}"))
        .collect();
    let count = |k: ChangeKind| listed.iter().filter(|c| c.kind == k).count();
    let moved = input
        .changes
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Moved)
        .count();
    let only_moves = listed.is_empty() && renames.folded.is_empty();
    // Quote-style or punctuation swaps are folded like renames but not
    // worth naming: no word changed.
    let letters = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let pairs: Vec<&Substitution> = renames
        .pairs
        .iter()
        .filter(|p| p.clauses.iter().any(|i| renames.folded.contains(i)))
        .filter(|p| letters(&p.old) != letters(&p.new))
        .collect();

    let render = |d: OverviewParts| -> String {
        let mut items = Vec::new();
        for (n, item) in [
            (count(ChangeKind::Added), CountItem::Added),
            (count(ChangeKind::Modified), CountItem::Modified),
            (count(ChangeKind::Removed), CountItem::Removed),
            (count(ChangeKind::Renamed), CountItem::Renamed),
        ] {
            if n > 0 {
                items.push((n, item));
            }
        }
        // Moves alone are not news, but when nothing else changed the count
        // is the only thing there is to say.
        if moved > 0 && (d.moved || only_moves) {
            items.push((moved, CountItem::Moved));
        }
        let mut lines = vec![lang.headline(input.service, input.document_name)];
        if d.consequences > 0 && !consequences.is_empty() {
            lines.push(lang.consequences(
                input.service,
                &consequences[..d.consequences.min(consequences.len())],
            ));
        }
        if !items.is_empty() || pairs.is_empty() {
            lines.push(lang.counts(&items));
        }
        if d.renames > 0 && !pairs.is_empty() {
            lines.push(lang.throughout(&pairs[..d.renames.min(pairs.len())], pairs.len()));
        }
        if !sections.is_empty() {
            lines.push(lang.sections(&sections[..d.sections.min(sections.len())], sections.len()));
        }
        // Topics that appeared come first in the flag budget: they are the news.
        let new_shown = d.flags.min(new_flags.len());
        let gone_shown = (d.flags - new_shown).min(gone_flags.len());
        for (list, shown, appeared) in [
            (&new_flags, new_shown, true),
            (&gone_flags, gone_shown, false),
        ] {
            if shown > 0 {
                let names: Vec<&str> = list[..shown].iter().map(String::as_str).collect();
                lines.push(lang.flags_line(appeared, &names, list.len()));
            }
        }
        if d.date {
            lines.push(lang.seen(input.seen_at));
        }
        lines.push(input.url.to_string());
        if d.hashtags && !hashtags.is_empty() {
            lines.push(hashtags.join(" "));
        }
        lines.join("\n")
    };

    let mut d = OverviewParts {
        date: true,
        moved: moved > 0,
        sections: SECTIONS_SHOWN,
        hashtags: true,
        flags: new_flags.len() + gone_flags.len(),
        renames: RENAMES_SHOWN,
        consequences: CONSEQUENCES_SHOWN,
    };
    loop {
        let text = render(d);
        if fit.ok(&text) {
            return text;
        }
        match d.degrade() {
            Some(next) => d = next,
            None => return clip(&text, fit),
        }
    }
}

/// The text of one change, before any splitting, and the byte length of
/// its heading (section and kind), which a split must not leave alone. A
/// reworded clause shows one excerpt with its edits marked, or was/now
/// when most of it changed.
fn change_block(c: &Change, lang: Lang, renames: &Renames) -> (String, usize) {
    let words = renames.applied(&c.words);
    let old = c.old.as_deref().unwrap_or("").trim();
    let new = c.new.as_deref().unwrap_or("").trim();
    let head = format!("{}\n{}", lang.section_line(&c.path), lang.label(c.kind));
    let text = match c.kind {
        ChangeKind::Added => format!("{head} {}", lang.quote(new)),
        ChangeKind::Removed => format!("{head} {}", lang.quote(old)),
        ChangeKind::Modified | ChangeKind::Renamed
            if !words.is_empty() && !mostly_changed(&words) =>
        {
            format!("{head} {}", lang.quote(&marked_excerpt(&words)))
        }
        ChangeKind::Modified | ChangeKind::Renamed | ChangeKind::Moved => {
            let (o, n) =
                if grapheme_len(old) + grapheme_len(new) <= WHOLE_QUOTE_MAX || c.words.is_empty() {
                    (old.to_string(), new.to_string())
                } else {
                    excerpts(&c.words)
                };
            let (was, now) = lang.was_now();
            format!("{head}\n{was} {}\n{now} {}", lang.quote(&o), lang.quote(&n))
        }
    };
    (text, head.len())
}

/// Whether at least half of a reworded clause's words (both sides
/// counted) changed: then two copies read better than one marked one.
fn mostly_changed(words: &[WordOp]) -> bool {
    let count = |keep: fn(WordOpKind) -> bool| -> usize {
        words
            .iter()
            .filter(|w| keep(w.op))
            .map(|w| w.text.split_whitespace().count())
            .sum()
    };
    let changed = count(|k| k != WordOpKind::Equal);
    let equal = count(|k| k == WordOpKind::Equal);
    changed >= equal * 2
}

/// One excerpt of a reworded clause: a few words before the first edit to
/// a few after the last, long unchanged runs in between shortened to their
/// ends, deletions as `[- … -]` and insertions as `[+ … +]` (marks that a
/// plain-text client shows and a screen reader reads out).
fn marked_excerpt(words: &[WordOp]) -> String {
    // An edit of spacing alone (a no-break space replaced by ", Inc., ")
    // is not marked: "[- -]" would read as an empty deletion.
    let blank = |w: &WordOp| w.op != WordOpKind::Equal && w.text.trim().is_empty();
    let changed = |w: &WordOp| w.op != WordOpKind::Equal && !blank(w);
    let (Some(first), Some(last)) = (
        words.iter().position(changed),
        words.iter().rposition(changed),
    ) else {
        return words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<String>()
            .trim()
            .to_string();
    };
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if blank(w) {
            if !out.is_empty() && !out.ends_with(char::is_whitespace) {
                out.push(' ');
            }
            continue;
        }
        let piece = match w.op {
            WordOpKind::Equal if i < first => keep_words(&w.text, CONTEXT_WORDS, Keep::Tail),
            WordOpKind::Equal if i > last => keep_words(&w.text, CONTEXT_WORDS, Keep::Head),
            WordOpKind::Equal => keep_words(&w.text, CONTEXT_WORDS, Keep::Ends),
            WordOpKind::Delete => mark("[-", &w.text, "-]"),
            WordOpKind::Insert => mark("[+", &w.text, "+]"),
        };
        // An edit right after a word gets a space, so that "[+" never
        // sticks to the text before it.
        if w.op != WordOpKind::Equal && !out.is_empty() && !out.ends_with(char::is_whitespace) {
            out.push(' ');
        }
        if w.op == WordOpKind::Equal
            && i > 0
            && words[i - 1].op != WordOpKind::Equal
            && !piece.starts_with(char::is_whitespace)
            && !piece.starts_with(|c: char| c.is_ascii_punctuation())
        {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    let mut out = out.trim().to_string();
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    out
}

/// A space for each end of `text` that has whitespace: what a shortened
/// or marked run keeps so that it still joins its neighbours.
fn outer_spacing(text: &str) -> (&'static str, &'static str) {
    let space = |yes: bool| if yes { " " } else { "" };
    (
        space(text.starts_with(char::is_whitespace)),
        space(text.ends_with(char::is_whitespace)),
    )
}

/// `text` between two marks, its outer spacing kept outside them.
fn mark(open: &str, text: &str, close: &str) -> String {
    let (lead, trail) = outer_spacing(text);
    format!("{lead}{open} {} {close}{trail}", text.trim())
}

/// Old and new excerpts of a reworded clause: from a few words before the
/// first changed stretch to a few words after the last, long unchanged runs
/// in between shortened to their ends. Both sides cover the same region so
/// the reader can compare them line by line.
fn excerpts(words: &[WordOp]) -> (String, String) {
    let changed = |w: &WordOp| w.op != WordOpKind::Equal;
    let (Some(first), Some(last)) = (
        words.iter().position(changed),
        words.iter().rposition(changed),
    ) else {
        let all: String = words.iter().map(|w| w.text.as_str()).collect();
        return (all.trim().to_string(), all.trim().to_string());
    };
    let (mut old, mut new) = (String::new(), String::new());
    for (i, w) in words.iter().enumerate() {
        let piece = match w.op {
            WordOpKind::Equal if i < first => keep_words(&w.text, CONTEXT_WORDS, Keep::Tail),
            WordOpKind::Equal if i > last => keep_words(&w.text, CONTEXT_WORDS, Keep::Head),
            WordOpKind::Equal => keep_words(&w.text, CONTEXT_WORDS, Keep::Ends),
            _ => w.text.clone(),
        };
        if w.op != WordOpKind::Insert {
            old.push_str(&piece);
        }
        if w.op != WordOpKind::Delete {
            new.push_str(&piece);
        }
    }
    (old.trim().to_string(), new.trim().to_string())
}

#[derive(Clone, Copy)]
enum Keep {
    Head,
    Tail,
    Ends,
}

/// Shortens an unchanged run to `n` words at its head, its tail, or both
/// ends, marking the cut with an ellipsis; keeps the run's outer spacing so
/// it still joins its neighbours.
fn keep_words(text: &str, n: usize, keep: Keep) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let limit = if matches!(keep, Keep::Ends) {
        2 * n + 1
    } else {
        n
    };
    if words.len() <= limit {
        return text.to_string();
    }
    let (lead, trail) = outer_spacing(text);
    match keep {
        Keep::Head => format!("{lead}{} {ELLIPSIS}{trail}", words[..n].join(" ")),
        Keep::Tail => format!(
            "{lead}{ELLIPSIS} {}{trail}",
            words[words.len() - n..].join(" ")
        ),
        Keep::Ends => format!(
            "{lead}{} {ELLIPSIS} {}{trail}",
            words[..n].join(" "),
            words[words.len() - n..].join(" ")
        ),
    }
}

/// Splits a change's text into post bodies that fit: cut after the last
/// sentence that fits, else after the last word, else (one word longer
/// than a post) between graphemes. The first piece goes past the first
/// `head` bytes when it can, so that a heading is not posted alone. Pieces
/// after the first start with the continuation mark; pieces before the
/// last end with an ellipsis.
fn split_to_fit(text: &str, head: usize, continued: &str, fit: &Fit) -> Vec<String> {
    let text = text.trim();
    // URLs are found once; each piece only looks at a window of the text a
    // little longer than a post, so a long clause costs linear time.
    let all_urls = url_ranges(text);
    let mut first_url = 0;
    let mut out = Vec::new();
    let mut offset = 0;
    let mut min_cut = head.min(text.len());
    while offset < text.len() {
        let rest = &text[offset..];
        while first_url < all_urls.len() && all_urls[first_url].end <= offset {
            first_url += 1;
        }
        let urls: Vec<Range<usize>> = all_urls[first_url..]
            .iter()
            .map(|r| r.start.saturating_sub(offset)..r.end - offset)
            .take_while(|r| r.start < rest.len())
            .take(fit.max_chars + 1)
            .collect();
        let prefix = if out.is_empty() { "" } else { continued };
        let end = window_end(rest, &urls, fit);
        if end == rest.len() {
            let whole = format!("{prefix}{rest}");
            if fit.ok(&whole) {
                out.push(whole);
                break;
            }
        }
        let window = &rest[..end];
        let urls: Vec<Range<usize>> = urls.into_iter().filter(|r| r.start < end).collect();
        let piece = |head: &str| format!("{prefix}{} {ELLIPSIS}", head.trim_end());
        let cut = best_cut(window, &urls, min_cut.min(end), |head| fit.ok(&piece(head)))
            .or_else(|| best_cut(window, &urls, 0, |head| fit.ok(&piece(head))))
            .unwrap_or_else(|| {
                // Not even one grapheme fits beside the number and warning:
                // the limit is unusable; take one grapheme to make progress.
                rest.grapheme_indices(true)
                    .nth(1)
                    .map_or(rest.len(), |(i, _)| i)
            });
        min_cut = 0;
        out.push(piece(&rest[..cut]));
        let after = &rest[cut..];
        offset += cut + (after.len() - after.trim_start().len());
    }
    out
}

/// Byte length of the longest prefix of `text` that could still fit a post:
/// graphemes count one, a URL (in `urls`, relative to `text`) counts
/// `chars_per_url` and is never cut. One past the limit is enough for the
/// cut search, which never needs to look further.
fn window_end(text: &str, urls: &[Range<usize>], fit: &Fit) -> usize {
    let budget = fit.max_chars + 1;
    let mut count = 0;
    let mut url = urls.iter().peekable();
    let mut graphemes = text.grapheme_indices(true);
    while let Some((i, g)) = graphemes.next() {
        if count > budget {
            return i;
        }
        while url.peek().is_some_and(|r| r.end <= i) {
            url.next();
        }
        match url.peek() {
            Some(r) if r.start <= i => {
                count += fit.chars_per_url;
                let end = r.end;
                // Skip the rest of the URL.
                for (j, h) in graphemes.by_ref() {
                    if j + h.len() >= end {
                        break;
                    }
                }
                url.next();
                if end >= text.len() {
                    return text.len();
                }
            }
            _ => count += usize::from(!g.is_empty()),
        }
    }
    text.len()
}

/// Byte offset past `min` to cut `text` at: the longest fitting prefix
/// ending at a sentence boundary, unless that is less than a quarter of
/// what cutting at a word would give (a very long sentence would otherwise
/// leave a nearly empty post); never inside a URL (`urls`) unless a URL
/// alone is too long. None when not even one grapheme past `min` fits.
fn best_cut(
    text: &str,
    urls: &[Range<usize>],
    min: usize,
    fits: impl Fn(&str) -> bool,
) -> Option<usize> {
    let outside_urls = |i: &usize| !urls.iter().any(|r| r.start < *i && *i < r.end);
    let sentences: Vec<usize> = text
        .split_sentence_bound_indices()
        .map(|(i, s)| i + s.len())
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|i| *i > min && *i < text.len())
        .filter(outside_urls)
        .collect();
    let words: Vec<usize> = text
        .char_indices()
        .filter(|(i, c)| c.is_whitespace() && *i > min)
        .map(|(i, _)| i)
        .filter(outside_urls)
        .collect();
    let graphemes: Vec<usize> = text
        .grapheme_indices(true)
        .map(|(i, _)| i)
        .filter(|i| *i > min)
        .collect();
    let longest = |mut cands: Vec<usize>| -> Option<usize> {
        cands.sort_unstable();
        cands.dedup();
        // Length grows with the prefix (cuts inside URLs are excluded), so
        // the fitting candidates form a prefix of the list.
        let n = cands.partition_point(|&i| fits(&text[..i]));
        n.checked_sub(1).map(|k| cands[k])
    };
    let word_cut = longest(words);
    match (longest(sentences), word_cut) {
        (Some(s), Some(w)) if 4 * s >= w => Some(s),
        (_, Some(w)) => Some(w),
        (Some(s), None) => Some(s),
        (None, None) => longest(graphemes),
    }
}

/// First piece of `text` that fits, for texts that must be one post.
fn clip(text: &str, fit: &Fit) -> String {
    split_to_fit(text, 0, "", fit)
        .into_iter()
        .next()
        .unwrap_or_default()
}

struct DetailPost {
    text: String,
    /// Changes whose last piece is in this post.
    completed: usize,
}

/// Packs the pieces of every change into posts, in order: a change that fits
/// one post shares the current post when there is room; the pieces of a
/// split change get a post each.
fn pack(blocks: &[Vec<String>], fit: &Fit) -> Vec<DetailPost> {
    let mut posts: Vec<DetailPost> = Vec::new();
    // Whether the last post may take more changes (not a split piece).
    let mut open = false;
    for pieces in blocks {
        if let [single] = pieces.as_slice() {
            if open {
                if let Some(last) = posts.last_mut() {
                    let joined = format!("{}\n\n{single}", last.text);
                    if fit.ok(&joined) {
                        last.text = joined;
                        last.completed += 1;
                        continue;
                    }
                }
            }
            posts.push(DetailPost {
                text: single.clone(),
                completed: 1,
            });
            open = true;
        } else {
            let n = pieces.len();
            for (i, p) in pieces.iter().enumerate() {
                posts.push(DetailPost {
                    text: p.clone(),
                    completed: usize::from(i + 1 == n),
                });
            }
            open = false;
        }
    }
    posts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(max: usize) -> Fit<'static> {
        Fit {
            max_chars: max,
            chars_per_url: 23,
            spoiler: None,
            reserve: "10/10 ".into(),
        }
    }

    #[test]
    fn keep_words_marks_cuts() {
        let t = "one two three four five six ";
        assert_eq!(keep_words(t, 2, Keep::Head), "one two … ");
        assert_eq!(keep_words(t, 2, Keep::Tail), "… five six ");
        assert_eq!(keep_words(t, 2, Keep::Ends), "one two … five six ");
        assert_eq!(keep_words(t, 3, Keep::Ends), t);
    }

    #[test]
    fn excerpt_keeps_context_around_change() {
        let filler = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu ";
        let words = vec![
            WordOp {
                op: WordOpKind::Equal,
                text: format!("{filler}{filler}we may "),
            },
            WordOp {
                op: WordOpKind::Delete,
                text: "share ".into(),
            },
            WordOp {
                op: WordOpKind::Insert,
                text: "sell ".into(),
            },
            WordOp {
                op: WordOpKind::Equal,
                text: format!("your data {filler}{filler}"),
            },
        ];
        let (o, n) = excerpts(&words);
        assert!(o.starts_with("… ") && o.ends_with(" …"), "{o}");
        assert!(o.contains("we may share your data"), "{o}");
        assert!(n.contains("we may sell your data"), "{n}");
        assert_eq!(o.split_whitespace().count(), 2 * CONTEXT_WORDS + 1 + 2);
    }

    #[test]
    fn long_word_is_cut_between_graphemes() {
        let word = "👍🏽".repeat(100);
        let pieces = split_to_fit(&word, 0, "", &fit(40));
        assert!(pieces.len() > 3);
        for p in &pieces {
            assert!(fit(40).ok(p), "{p}");
        }
        let rebuilt: String = pieces.iter().map(|p| p.trim_end_matches(" …")).collect();
        assert_eq!(rebuilt, word, "no grapheme lost or broken");
    }

    #[test]
    fn urls_are_not_cut() {
        let text = format!(
            "{} https://example.com/{} end",
            "word ".repeat(20),
            "p".repeat(200)
        );
        for p in split_to_fit(&text, 0, "", &fit(60)) {
            assert!(fit(60).ok(&p));
            if p.contains("https://") {
                assert!(p.contains(&"p".repeat(200)), "URL kept whole: {p}");
            }
        }
    }

    fn op(op: WordOpKind, text: &str) -> WordOp {
        WordOp {
            op,
            text: text.into(),
        }
    }

    fn modified(path: &str, words: Vec<WordOp>) -> Change {
        let side = |skip: WordOpKind| -> String {
            words
                .iter()
                .filter(|w| w.op != skip)
                .map(|w| w.text.as_str())
                .collect()
        };
        Change {
            kind: ChangeKind::Modified,
            path: path.into(),
            old: Some(side(WordOpKind::Insert)),
            new: Some(side(WordOpKind::Delete)),
            words,
            flags: Vec::new(),
            flags_disappeared: Vec::new(),
            old_position: None,
            new_position: None,
            old_path: None,
        }
    }

    fn thread(changes: Vec<Change>, opts: &ComposeOptions) -> Vec<Post> {
        let cs = ChangeSet {
            summary: Default::default(),
            changes,
        };
        thread_of(&cs, opts)
    }

    fn thread_of(cs: &ChangeSet, opts: &ComposeOptions) -> Vec<Post> {
        let input = ThreadInput {
            service: "X",
            document_name: "X Privacy Policy",
            document_id: "x-privacy",
            url: "https://x.test/privacy",
            language: "en",
            changes: cs,
            version: 7,
            previous_version: Some(6),
            seen_at: DateTime::parse_from_rfc3339("2023-09-29T23:12:59Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        compose_thread(&input, opts)
    }

    use WordOpKind::{Delete as D, Equal as E, Insert as I};

    /// The web pages show a change set's flags (`ChangeSet::net_flags`),
    /// the posts its topics: both come from one list and one matcher, so
    /// they name the same topics in the same direction, a topic reworded
    /// around unchanged words in neither.
    #[test]
    fn web_flags_and_the_topic_lines_name_the_same_topics() {
        use crate::pipeline::clauses::split;
        use crate::pipeline::diff::{diff, DiffOptions};
        use crate::pipeline::extract::{Block, ClauseKind, Extracted};
        let paragraph = |t: &&str| Block {
            kind: ClauseKind::Paragraph,
            text: t.to_string(),
        };
        let page = |texts: &[&str]| {
            let blocks = texts.iter().map(paragraph).collect();
            split(&Extracted { blocks })
        };
        let old = page(&[
            "We share your information with third parties for analytics and research.",
            "Any dispute will be resolved by binding arbitration and you waive any class action.",
            "You can close your account at any time from the settings page of the app.",
        ]);
        let new = page(&[
            "We share some of your information with third parties for analytics and research.",
            "You can close your account at any time from the settings page of the app.",
            "We collect biometric information such as your face geometry to verify your identity.",
        ]);
        let cs = diff(&old, &new, &DiffOptions::default(), "en");
        let topics = crate::pipeline::topics::builtin();
        let label = |name: &str| -> String {
            topics
                .of_language("en")
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.label.clone())
                .unwrap_or_else(|| panic!("no topic {name}"))
        };
        let web: Vec<(String, bool)> = cs
            .net_flags()
            .iter()
            .map(|f| (label(&f.flag), f.appeared))
            .collect();
        let first = thread_of(&cs, &ComposeOptions::default())[0].text.clone();
        let line = |prefix: &str| -> Vec<String> {
            first
                .lines()
                .filter_map(|l| l.strip_prefix(prefix))
                .flat_map(|rest| rest.trim_end_matches('.').split("; ").map(str::to_string))
                .collect()
        };
        let mut posts: Vec<(String, bool)> = line("New text about: ")
            .into_iter()
            .map(|t| (t, true))
            .chain(line("Text removed about: ").into_iter().map(|t| (t, false)))
            .collect();
        // A consequence line ("X may now collect biometric data.") stands
        // for its topic instead of the topic line.
        for t in topics.of_language("en") {
            for (said, added) in [(&t.new, true), (&t.removed, false)] {
                if said.as_ref().is_some_and(|s| first.contains(s.as_str())) {
                    posts.push((t.label.clone(), added));
                }
            }
        }
        let (mut web, mut posts) = (web, posts);
        web.sort();
        posts.sort();
        assert!(!web.is_empty(), "{first}");
        assert_eq!(web, posts, "{first}");
        assert!(
            web.iter().all(|(l, _)| *l != label("third_parties")),
            "{web:?}"
        );
    }

    #[test]
    fn an_edit_of_spacing_alone_is_not_marked() {
        // Reddit 2026-01-06: "Reddit\u{a0}complies" became "Reddit, Inc., complies".
        let words = vec![
            op(E, "Reddit"),
            op(D, "\u{a0}"),
            op(I, ", Inc., "),
            op(E, "complies with the framework."),
        ];
        let text = marked_excerpt(&words);
        assert_eq!(text, "Reddit [+ , Inc., +] complies with the framework.");
    }

    #[test]
    fn a_reworded_clause_is_one_marked_excerpt() {
        let filler = "alpha beta gamma delta epsilon zeta eta theta iota kappa ";
        let words = vec![
            op(E, &format!("{filler}{filler}we collect approximate ")),
            op(I, "or precise "),
            op(E, "location and "),
            op(D, "sometimes "),
            op(E, &format!("your language {filler}{filler}")),
        ];
        let text = marked_excerpt(&words);
        assert!(
            text.contains("we collect approximate [+ or precise +] location and [- sometimes -] your language"),
            "{text}"
        );
        assert!(text.starts_with("… ") && text.ends_with(" …"), "{text}");
        assert!(!mostly_changed(&words));
        let (block, _) = change_block(&modified("S", words), Lang::En, &Renames::default());
        assert!(
            !block.contains("was:") && block.contains("Reworded: «"),
            "{block}"
        );
        // Most words changed: both versions, labelled.
        let words = vec![
            op(D, "We sell data to anyone. "),
            op(I, "We never share it. "),
            op(E, "Bye."),
        ];
        assert!(mostly_changed(&words));
        let (block, _) = change_block(&modified("S", words), Lang::En, &Renames::default());
        assert!(
            block.contains("was: «") && block.contains("now: «"),
            "{block}"
        );
    }

    #[test]
    fn systematic_renames_take_one_line_and_no_post() {
        let mut changes: Vec<Change> = (0..5)
            .map(|i| {
                modified(
                    &format!("Part {i}"),
                    vec![
                        op(E, "Use "),
                        op(D, "Twitter’s "),
                        op(I, "X’s "),
                        op(E, &format!("feature number {i}.")),
                    ],
                )
            })
            .collect();
        changes.push(modified(
            "Part 9",
            vec![
                op(E, "On "),
                op(D, "Twitter "),
                op(I, "X "),
                op(E, "we may "),
                op(I, "sell "),
                op(E, "ads to people who visit the site every single day."),
            ],
        ));
        let posts = thread(changes, &ComposeOptions::default());
        let all = posts
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            all.contains("Throughout: Twitter → X (6 clauses)."),
            "{all}"
        );
        assert_eq!(all.matches("Reworded:").count(), 1, "{all}");
        // The rename is plain text in the remaining excerpt; the real edit is marked.
        assert!(all.contains("On X we may [+ sell +] ads"), "{all}");
        assert!(all.contains("1 clause reworded."), "{all}");

        let quotes: Vec<Change> = (0..4)
            .map(|i| {
                modified(
                    &format!("Q {i}"),
                    vec![
                        op(E, "Say "),
                        op(D, "\"hi\" "),
                        op(I, "“hi” "),
                        op(E, &format!("to {i} people.")),
                    ],
                )
            })
            .collect();
        let posts = thread(quotes, &ComposeOptions::default());
        assert!(!posts[0].text.contains("Throughout"), "{}", posts[0].text);
        assert!(!posts[0].text.contains("Reworded:"), "{}", posts[0].text);
    }

    #[test]
    fn post_one_names_the_document_once_says_the_consequence_and_holds_a_small_change() {
        let words = vec![
            op(E, "We may use the information we collect "),
            op(I, "to train our machine learning models "),
            op(E, "for the purposes in this policy."),
        ];
        let posts = thread(vec![modified("Use", words)], &ComposeOptions::default());
        assert_eq!(posts.len(), 1, "{posts:?}");
        let p = &posts[0].text;
        assert!(p.starts_with("1/1 X updated its Privacy Policy.\n"), "{p}");
        assert!(
            p.contains("\nX may now use your information to train AI models.\n"),
            "{p}"
        );
        assert!(p.contains("Seen on 2023-09-29."), "{p}");
        assert!(
            p.contains("[+ to train our machine learning models +]"),
            "{p}"
        );
        // Said the other way round, it is not claimed as a consequence.
        let words = vec![
            op(E, "We do not use your posts "),
            op(I, "to train our machine learning models"),
            op(E, "."),
        ];
        let p = &thread(vec![modified("Use", words)], &ComposeOptions::default())[0].text;
        assert!(!p.contains("may now"), "{p}");
        assert!(
            p.contains("New text about: training AI / machine-learning models."),
            "{p}"
        );
    }

    #[test]
    fn a_tiny_previous_version_gets_one_short_post() {
        let tiny = PageSizes {
            old_clauses: 2,
            new_clauses: 120,
            old_chars: 300,
            new_chars: 40_000,
        };
        assert!(tiny.previous_was_broken());
        for normal in [
            PageSizes {
                old_clauses: 100,
                new_clauses: 120,
                old_chars: 30_000,
                new_chars: 40_000,
            },
            // A short policy that grew a lot is still diffed: it was text.
            PageSizes {
                old_clauses: 20,
                new_clauses: 40,
                old_chars: 2_500,
                new_chars: 12_000,
            },
        ] {
            assert!(!normal.previous_was_broken(), "{normal:?}");
        }
        let cs = ChangeSet {
            summary: Default::default(),
            changes: Vec::new(),
        };
        let input = ThreadInput {
            service: "Reddit",
            document_name: "Reddit Privacy Policy",
            document_id: "reddit",
            url: "https://reddit.test/p",
            language: "en",
            changes: &cs,
            version: 3,
            previous_version: Some(2),
            seen_at: DateTime::parse_from_rfc3339("2021-01-07T02:03:34Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        let posts = compose_after_bad_baseline(&input, &ComposeOptions::default(), tiny);
        assert_eq!(posts.len(), 1);
        let p = &posts[0].text;
        assert!(p.contains("the page now holds 120 clauses; the previous version (2 clauses) looked like an error page"), "{p}");
        assert!(
            p.contains("Seen on 2021-01-07.") && p.contains("https://reddit.test/p"),
            "{p}"
        );
    }

    #[test]
    fn the_document_name_drops_a_leading_service_name() {
        assert_eq!(
            document_without_service("X", "X Privacy Policy"),
            "Privacy Policy"
        );
        assert_eq!(
            document_without_service("Google", "Privacy Policy"),
            "Privacy Policy"
        );
        assert_eq!(document_without_service("X", "Xbox Terms"), "Xbox Terms");
        assert_eq!(document_without_service("X", "X"), "X");
    }

    #[test]
    fn french_tags() {
        assert_eq!(Lang::from_tag("fr-CA"), Lang::Fr);
        assert_eq!(Lang::from_tag("de"), Lang::En);
        assert_eq!(post_language("FR_ca"), "fr");
        assert_eq!(post_language(""), "en");
    }
}
