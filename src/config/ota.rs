//! Open Terms Archive service declarations, read as they are published.
//!
//! A declaration is one JSON file per service: `name`, and under `terms`
//! one entry per terms type with its `fetch` URL, `select` and `remove`
//! (a CSS selector, a range selector, or a list of them), `filter`,
//! `executeClientScripts`, or `combine` (several pages making one
//! document, the keys at the terms' root shared by every page). The
//! history file beside it (`Service.history.json`) holds the declarations
//! that were in force until a date (`validUntil`).
//!
//! The collections are maintained by other people for another engine, so
//! two rules matter here: a file is read unedited (every key the format
//! has is understood or reported, none is an error by surprise), and a bad
//! file names itself and the JSON path of the mistake.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use url::Url;

use super::{BodyFormat, ConfigError, Defaults, Document, Origin, PastRules, Reach, Render};

/// One `select` or `remove` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every element the CSS selector matches.
    Css(String),
    /// Everything between two elements, in document order.
    Range(Range),
}

/// A range selector: `{"startBefore" | "startAfter": CSS, "endBefore" |
/// "endAfter": CSS}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: Bound,
    pub end: Bound,
}

/// One end of a range: just before the first element the selector
/// matches (that element included at the start, excluded at the end), or
/// just after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Before(String),
    After(String),
}

impl Bound {
    pub fn selector(&self) -> &str {
        match self {
            Bound::Before(s) | Bound::After(s) => s,
        }
    }
}

/// One page of a document whose text the fetcher assembles itself (range
/// selectors, `combine`): its URL and the rules that cut its part out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRules {
    pub url: Url,
    pub select: Vec<Selection>,
    pub remove: Vec<Selection>,
    pub render: Render,
}

/// Every document declared by the `*.json` files under `dir` (sub-folders
/// included, in path order), with the histories beside them.
pub fn load_dir(dir: &Path, defaults: &Defaults) -> Result<Vec<Document>, ConfigError> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut documents: Vec<Document> = Vec::new();
    let mut declared_in: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        for doc in load_file(&file, defaults)? {
            if let Some(first) = declared_in.get(&doc.id) {
                return Err(ConfigError::File {
                    path: file.clone(),
                    message: format!(
                        "document id {:?} is also declared in {}",
                        doc.id,
                        first.display()
                    ),
                });
            }
            declared_in.insert(doc.id.clone(), file.clone());
            documents.push(doc);
        }
    }
    Ok(documents)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if is_declaration(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_declaration(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".json") && !name.ends_with(".history.json")
}

/// `Service.json` → `Service.history.json`.
fn history_path(file: &Path) -> PathBuf {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    file.with_file_name(format!(
        "{}.history.json",
        name.strip_suffix(".json").unwrap_or(name)
    ))
}

/// Where in a file a value sits, as a JSON path (`$.terms["Privacy
/// Policy"].select[0].startBefore`).
#[derive(Clone)]
struct At<'a> {
    file: &'a Path,
    path: String,
}

impl<'a> At<'a> {
    fn key(&self, k: &str) -> At<'a> {
        let simple = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        At {
            file: self.file,
            path: if simple {
                format!("{}.{k}", self.path)
            } else {
                format!("{}[{k:?}]", self.path)
            },
        }
    }
    fn index(&self, i: usize) -> At<'a> {
        At {
            file: self.file,
            path: format!("{}[{i}]", self.path),
        }
    }
    fn err(&self, message: impl std::fmt::Display) -> ConfigError {
        ConfigError::File {
            path: self.file.to_path_buf(),
            message: format!("at {}: {message}", self.path),
        }
    }
}

fn read_json(file: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ConfigError::At {
        path: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: format!("not valid JSON: {e}"),
    })
}

fn object<'v>(at: &At, v: &'v Value) -> Result<&'v serde_json::Map<String, Value>, ConfigError> {
    v.as_object().ok_or_else(|| at.err("must be an object"))
}

fn string<'v>(at: &At, v: &'v Value) -> Result<&'v str, ConfigError> {
    v.as_str().ok_or_else(|| at.err("must be a string"))
}

/// The rules one terms entry (or one `combine` item) states; what it
/// leaves out is inherited.
#[derive(Default, Clone)]
struct Stated {
    fetch: Option<Url>,
    select: Option<Vec<Selection>>,
    remove: Option<Vec<Selection>>,
    filters: Vec<String>,
    scripts: Option<bool>,
    combine: Option<Vec<Stated>>,
    valid_until: Option<DateTime<Utc>>,
}

/// Which keys an entry may have.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Terms,
    History,
    CombineItem,
}

fn stated(at: &At, v: &Value, level: Level) -> Result<Stated, ConfigError> {
    let mut s = Stated::default();
    for (key, value) in object(at, v)? {
        let here = at.key(key);
        match key.as_str() {
            "fetch" => {
                let raw = string(&here, value)?;
                let url =
                    Url::parse(raw).map_err(|e| here.err(format!("invalid URL {raw:?}: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(here.err(format!("URL {url} must be http or https")));
                }
                s.fetch = Some(url);
            }
            "select" => s.select = Some(selections(&here, value)?),
            "remove" => s.remove = Some(selections(&here, value)?),
            "filter" => s.filters = filters(&here, value)?,
            "executeClientScripts" => {
                s.scripts = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| here.err("must be true or false"))?,
                )
            }
            "combine" if level != Level::CombineItem => {
                let items = value
                    .as_array()
                    .ok_or_else(|| here.err("must be a list of pages"))?;
                if items.is_empty() {
                    return Err(here.err("must name at least one page"));
                }
                s.combine = Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| stated(&here.index(i), item, Level::CombineItem))
                        .collect::<Result<_, _>>()?,
                );
            }
            "validUntil" if level == Level::History => {
                let raw = string(&here, value)?;
                let t = DateTime::parse_from_rfc3339(raw).map_err(|e| {
                    here.err(format!("invalid date {raw:?}: {e} (RFC 3339 expected)"))
                })?;
                s.valid_until = Some(t.with_timezone(&Utc));
            }
            other => {
                let known = match level {
                    Level::Terms => "fetch, select, remove, filter, executeClientScripts, combine",
                    Level::History => {
                        "fetch, select, remove, filter, executeClientScripts, combine, validUntil"
                    }
                    Level::CombineItem => "fetch, select, remove, filter, executeClientScripts",
                };
                return Err(here.err(format!("unknown key {other:?} (known: {known})")));
            }
        }
    }
    if level == Level::History && s.valid_until.is_none() {
        return Err(at.err("a history entry needs \"validUntil\""));
    }
    Ok(s)
}

fn selections(at: &At, v: &Value) -> Result<Vec<Selection>, ConfigError> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| selection(&at.index(i), item))
            .collect(),
        other => Ok(vec![selection(at, other)?]),
    }
}

fn css(at: &At, v: &Value) -> Result<String, ConfigError> {
    let s = string(at, v)?;
    scraper::Selector::parse(s).map_err(|e| at.err(format!("invalid CSS selector {s:?}: {e}")))?;
    Ok(s.to_string())
}

fn selection(at: &At, v: &Value) -> Result<Selection, ConfigError> {
    if v.is_string() {
        return Ok(Selection::Css(css(at, v)?));
    }
    let map = v
        .as_object()
        .ok_or_else(|| at.err("must be a CSS selector or a range selector object"))?;
    let (mut start, mut end) = (None, None);
    for (key, value) in map {
        let here = at.key(key);
        let (slot, bound) = match key.as_str() {
            "startBefore" => (&mut start, Bound::Before(css(&here, value)?)),
            "startAfter" => (&mut start, Bound::After(css(&here, value)?)),
            "endBefore" => (&mut end, Bound::Before(css(&here, value)?)),
            "endAfter" => (&mut end, Bound::After(css(&here, value)?)),
            other => {
                return Err(here.err(format!(
                    "unknown key {other:?} in a range selector (known: startBefore, startAfter, endBefore, endAfter)"
                )))
            }
        };
        if slot.is_some() {
            return Err(here.err("a range selector has one start and one end"));
        }
        *slot = Some(bound);
    }
    match (start, end) {
        (Some(start), Some(end)) => Ok(Selection::Range(Range { start, end })),
        (None, _) => Err(at.err("a range selector needs \"startBefore\" or \"startAfter\"")),
        (_, None) => Err(at.err("a range selector needs \"endBefore\" or \"endAfter\"")),
    }
}

/// Filter names: a string, or an object whose one key names the filter
/// and holds its parameters (`{"removeQueryParams": [...]}`).
fn filters(at: &At, v: &Value) -> Result<Vec<String>, ConfigError> {
    let items = v
        .as_array()
        .ok_or_else(|| at.err("must be a list of filter names"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let here = at.index(i);
            match item {
                Value::String(s) => Ok(s.clone()),
                Value::Object(m) if m.len() == 1 => {
                    Ok(m.keys().next().cloned().unwrap_or_default())
                }
                _ => Err(here.err(
                    "must be a filter name or an object with one filter name and its parameters",
                )),
            }
        })
        .collect()
}

/// An id-safe form of a name: ASCII lowercase letters and digits, words
/// joined by '-' (accents dropped: "Política" → "politica").
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.nfd() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !unicode_normalization::char::is_combining_mark(c) && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn render(scripts: Option<bool>) -> Render {
    match scripts {
        Some(true) => Render::Browser,
        Some(false) => Render::Fetch,
        // As Open Terms Archive does: a plain fetch first, the browser
        // once when the plain fetch is refused.
        None => Render::FetchOrBrowser,
    }
}

/// What a terms entry becomes: the document's URL and rules, either as
/// CSS for the extractor or as pages the fetcher assembles.
struct Resolved {
    url: Url,
    select: Vec<String>,
    remove: Vec<String>,
    pages: Vec<PageRules>,
    render: Render,
    filters: Vec<String>,
}

fn resolve(at: &At, s: &Stated) -> Result<Resolved, ConfigError> {
    let mut filters = s.filters.clone();
    let pages: Vec<PageRules> = match &s.combine {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                for f in &item.filters {
                    if !filters.contains(f) {
                        filters.push(f.clone());
                    }
                }
                Ok(PageRules {
                    url: item.fetch.clone().ok_or_else(|| {
                        at.key("combine")
                            .index(i)
                            .err("a combined page needs \"fetch\"")
                    })?,
                    select: item
                        .select
                        .clone()
                        .or_else(|| s.select.clone())
                        .unwrap_or_default(),
                    remove: item
                        .remove
                        .clone()
                        .or_else(|| s.remove.clone())
                        .unwrap_or_default(),
                    render: render(item.scripts.or(s.scripts)),
                })
            })
            .collect::<Result<_, ConfigError>>()?,
        None => vec![PageRules {
            url: s
                .fetch
                .clone()
                .ok_or_else(|| at.err("needs \"fetch\" (or \"combine\")"))?,
            select: s.select.clone().unwrap_or_default(),
            remove: s.remove.clone().unwrap_or_default(),
            render: render(s.scripts),
        }],
    };
    let url = pages[0].url.clone();
    let plain_css = |list: &[Selection]| -> Option<Vec<String>> {
        list.iter()
            .map(|sel| match sel {
                Selection::Css(c) => Some(c.clone()),
                Selection::Range(_) => None,
            })
            .collect()
    };
    // One page cut by CSS alone is what the extractor already does, on the
    // page as served (so its snapshot is the page itself); ranges and
    // combined pages are assembled by the fetcher.
    if let [only] = pages.as_slice() {
        if let (Some(select), Some(remove)) = (plain_css(&only.select), plain_css(&only.remove)) {
            return Ok(Resolved {
                url,
                select,
                remove,
                render: only.render,
                pages: Vec::new(),
                filters,
            });
        }
    }
    Ok(Resolved {
        url,
        select: Vec::new(),
        remove: Vec::new(),
        render: render(s.scripts),
        pages,
        filters,
    })
}

/// The documents one declaration file declares.
pub fn load_file(file: &Path, defaults: &Defaults) -> Result<Vec<Document>, ConfigError> {
    let root = read_json(file)?;
    let at = At {
        file,
        path: "$".into(),
    };
    let map = object(&at, &root)?;
    let mut name = None;
    let mut terms = None;
    for (key, value) in map {
        match key.as_str() {
            "name" => name = Some(string(&at.key(key), value)?),
            "terms" => terms = Some(object(&at.key(key), value)?),
            // The JSON schema's address, written by editors.
            "$schema" => {}
            other => {
                return Err(at
                    .key(other)
                    .err(format!("unknown key {other:?} (known: name, terms)")))
            }
        }
    }
    let name = name.ok_or_else(|| at.err("needs \"name\""))?;
    let terms = terms.ok_or_else(|| at.err("needs \"terms\""))?;
    if slug(name).is_empty() {
        return Err(at.key("name").err(format!("{name:?} gives no id")));
    }
    let history_file = history_path(file);
    let history = load_history(&history_file)?;
    let mut documents = Vec::with_capacity(terms.len());
    for (kind, entry) in terms {
        let here = at.key("terms").key(kind);
        let resolved = resolve(&here, &stated(&here, entry, Level::Terms)?)?;
        let id = format!("{}-{}", slug(name), slug(kind));
        if id.len() > 64 {
            return Err(here.err(format!("the id {id:?} is longer than 64 characters")));
        }
        let past = match history.get(kind.as_str()) {
            Some(list) => list
                .iter()
                .map(|(at, s)| {
                    let r = resolve(at, s)?;
                    Ok(PastRules {
                        valid_until: s.valid_until.unwrap_or_default(),
                        url: r.url,
                        select: r.select,
                        remove: r.remove,
                        pages: r.pages,
                    })
                })
                .collect::<Result<Vec<_>, ConfigError>>()?,
            None => Vec::new(),
        };
        let mut past = past;
        past.sort_by_key(|p| p.valid_until);
        documents.push(Document {
            id,
            name: format!("{name} {kind}"),
            service: name.to_string(),
            url: resolved.url,
            select: resolved.select,
            remove: resolved.remove,
            schedule: defaults.schedule.clone(),
            language: "en".into(),
            language_configured: false,
            tags: Vec::new(),
            json_field: None,
            ignore: Vec::new(),
            reach: Reach {
                origin: Origin::Declaration(file.to_path_buf()),
                render: resolved.render,
                format: BodyFormat::Auto,
                pages: resolved.pages,
                filters_not_applied: resolved.filters,
                history: past,
            },
        });
    }
    Ok(documents)
}

type History<'a> = BTreeMap<String, Vec<(At<'a>, Stated)>>;

fn load_history(file: &Path) -> Result<History<'_>, ConfigError> {
    let mut out = BTreeMap::new();
    if !file.exists() {
        return Ok(out);
    }
    let root = read_json(file)?;
    let at = At {
        file,
        path: "$".into(),
    };
    for (kind, entries) in object(&at, &root)? {
        let here = at.key(kind);
        let list = entries
            .as_array()
            .ok_or_else(|| here.err("must be a list of past declarations"))?;
        let mut parsed = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let at = here.index(i);
            let s = stated(&at, entry, Level::History)?;
            parsed.push((at, s));
        }
        out.insert(kind.clone(), parsed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn defaults() -> Defaults {
        super::super::Config::empty().defaults
    }

    #[test]
    fn slugs_are_ids() {
        assert_eq!(slug("Privacy Policy"), "privacy-policy");
        assert_eq!(slug("Política de privacidad"), "politica-de-privacidad");
        assert_eq!(slug("  Terms & Conditions!"), "terms-conditions");
    }

    #[test]
    fn range_selectors_combine_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "Example.json",
            r##"{"name": "Example", "terms": {
                "Privacy Policy": {"fetch": "https://example.org/p",
                    "select": {"startBefore": "#start", "endAfter": "#end"}, "remove": ".ad",
                    "filter": ["removeScripts", {"removeQueryParams": ["utm"]}]},
                "Community Guidelines": {"select": "main", "executeClientScripts": true,
                    "combine": [{"fetch": "https://example.org/a"},
                                {"fetch": "https://example.org/b", "remove": [".x"], "executeClientScripts": false}]}
            }}"##,
        );
        let docs = load_file(&file, &defaults()).unwrap();
        let p = docs
            .iter()
            .find(|d| d.id == "example-privacy-policy")
            .unwrap();
        assert_eq!(p.name, "Example Privacy Policy");
        assert_eq!(p.reach.render, Render::FetchOrBrowser);
        assert_eq!(
            p.reach.pages[0].select,
            vec![Selection::Range(Range {
                start: Bound::Before("#start".into()),
                end: Bound::After("#end".into())
            })]
        );
        assert_eq!(p.reach.pages[0].remove, vec![Selection::Css(".ad".into())]);
        assert_eq!(
            p.reach.filters_not_applied,
            vec!["removeScripts", "removeQueryParams"]
        );
        let c = docs
            .iter()
            .find(|d| d.id == "example-community-guidelines")
            .unwrap();
        assert_eq!(c.reach.pages.len(), 2);
        assert_eq!(c.url.as_str(), "https://example.org/a");
        assert_eq!(c.reach.pages[0].select, vec![Selection::Css("main".into())]);
        assert_eq!(c.reach.pages[0].render, Render::Browser);
        assert_eq!(c.reach.pages[1].remove, vec![Selection::Css(".x".into())]);
        assert_eq!(c.reach.pages[1].render, Render::Fetch);
    }

    #[test]
    fn mistakes_name_the_file_and_the_json_path() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                r##"{"name": "E", "terms": {"Privacy Policy": {"fetch": "https://e.org", "select": [".a", {"startBefore": "[[x"}]}}}"##,
                r##"at $.terms["Privacy Policy"].select[1].startBefore: invalid CSS selector"##,
            ),
            (
                r##"{"name": "E", "terms": {"Privacy Policy": {"fetch": "https://e.org", "select": {"startBefore": "h1"}}}}"##,
                r##"at $.terms["Privacy Policy"].select: a range selector needs "endBefore" or "endAfter""##,
            ),
            (
                r##"{"name": "E", "terms": {"Privacy Policy": {"fecth": "https://e.org"}}}"##,
                r##"at $.terms["Privacy Policy"].fecth: unknown key "fecth""##,
            ),
            (
                r##"{"name": "E", "terms": {"Privacy Policy": {"combine": [{"select": "p"}]}}}"##,
                r##"at $.terms["Privacy Policy"].combine[0]: a combined page needs "fetch""##,
            ),
            (
                r##"{"name": "E", "terms": {"Privacy Policy": {"fetch": "ftp://e.org"}}}"##,
                r##"at $.terms["Privacy Policy"].fetch: URL ftp://e.org/ must be http or https"##,
            ),
        ];
        for (text, expected) in cases {
            let file = write(dir.path(), "E.json", text);
            let err = load_file(&file, &defaults()).unwrap_err().to_string();
            assert!(err.starts_with(&file.display().to_string()), "{err}");
            assert!(err.contains(expected), "{err}\nexpected: {expected}");
        }
        let file = write(dir.path(), "E.json", "{\"name\": \"E\",\n \"terms\": {,}}");
        let err = load_file(&file, &defaults()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:2:", file.display())), "{err}");
    }

    #[test]
    fn history_entries_apply_before_their_date() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "E.json",
            r##"{"name": "E", "terms": {"Privacy Policy": {"fetch": "https://e.org/new", "select": "#new"}}}"##,
        );
        write(
            dir.path(),
            "E.history.json",
            r##"{"Privacy Policy": [
                {"fetch": "https://e.org/mid", "select": "#mid", "validUntil": "2022-01-01T00:00:00Z"},
                {"fetch": "https://e.org/old", "select": "#old", "validUntil": "2021-01-01T00:00:00.000Z"}]}"##,
        );
        let docs = load_dir(dir.path(), &defaults()).unwrap();
        assert_eq!(docs.len(), 1, "the history file is not a declaration");
        let d = &docs[0];
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(d.as_of(at("2020-06-01T00:00:00Z")).select, vec!["#old"]);
        assert_eq!(d.as_of(at("2021-06-01T00:00:00Z")).select, vec!["#mid"]);
        assert_eq!(
            d.as_of(at("2021-06-01T00:00:00Z")).url.as_str(),
            "https://e.org/mid"
        );
        assert_eq!(d.as_of(at("2023-06-01T00:00:00Z")).select, vec!["#new"]);
        write(
            dir.path(),
            "E.history.json",
            r##"{"Privacy Policy": [{"fetch": "https://e.org/mid", "select": "#mid"}]}"##,
        );
        let err = load_dir(dir.path(), &defaults()).unwrap_err().to_string();
        assert!(
            err.contains(
                "E.history.json: at $[\"Privacy Policy\"][0]: a history entry needs \"validUntil\""
            ),
            "{err}"
        );
    }

    #[test]
    fn the_corpus_declarations_load_unedited() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        let docs = load_dir(&corpus, &defaults()).unwrap();
        assert_eq!(docs.len(), 14);
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        for id in [
            "twitter-privacy-policy",
            "twitter-community-guidelines",
            "google-terms-of-service",
            "reddit-live-policy",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        let cg = docs
            .iter()
            .find(|d| d.id == "twitter-community-guidelines")
            .unwrap();
        assert_eq!(cg.reach.pages.len(), 18);
        assert!(
            matches!(&cg.reach.pages[16].select[0], Selection::Range(r) if r.end == Bound::Before("[class*=\"share-tweet\"]".into()))
        );
        let tw = docs
            .iter()
            .find(|d| d.id == "twitter-privacy-policy")
            .unwrap();
        assert_eq!(tw.reach.history.len(), 1);
        assert_eq!(tw.reach.filters_not_applied, vec!["removeEmptyLinks"]);
    }
}
