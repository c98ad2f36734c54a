//! Watched topics (biometric data, AI training, arbitration…) as a reader
//! should see them in a thread: a topic is *new* only when the change adds
//! text about it, *removed* only when it takes such text away, never both.
//!
//! Flags come from the changed words. In a reworded clause a phrase counts
//! only when one of its words is inserted (or deleted) and the clause holds
//! it more often after (before) than before (after): rewording the sentence
//! around an unchanged "third parties" raises nothing, and neither does a
//! clause that merely mentions biometric data while a date in it changes.
//!
//! The phrase lists are data (`en.toml`, `fr.toml` beside this file, format
//! described at the top of `en.toml`); `[watch_terms]` in the configuration
//! replaces or adds lists by topic name.

use std::collections::BTreeMap;
use std::ops::Range;

use regex::Regex;
use serde::Deserialize;

use crate::pipeline::diff::{Change, ChangeKind, ChangeSet, WordOpKind};

const EN: &str = include_str!("en.toml");
const FR: &str = include_str!("fr.toml");

/// Words a `…` in a phrase may stand for.
const GAP_WORDS: usize = 8;

/// Number words a `#` in a phrase also matches (digits always do).
const NUMBER_WORDS: &str = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|twenty|thirty|sixty|ninety|un|deux|trois|quatre|cinq|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|dix-sept|dix-huit|vingt|trente|soixante|quatre-vingt-dix";

#[derive(Deserialize)]
struct RawTopic {
    label: String,
    new: Option<String>,
    removed: Option<String>,
    phrases: Vec<String>,
}

/// One watched topic of one language.
#[derive(Clone, Debug)]
pub struct Topic {
    /// The flag name shared by both languages and `[watch_terms]`.
    pub name: String,
    /// The topic in plain words.
    pub label: String,
    /// What added text about it means, after the service's name.
    pub new: Option<String>,
    /// What removed text about it means, after the service's name.
    pub removed: Option<String>,
    pattern: Option<Regex>,
    /// Whether every match of `pattern` holds a character (see
    /// [`Topics::hits`]).
    never_empty: bool,
}

/// Whether a change brought text about a topic in or took it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    Added,
    Removed,
}

/// A topic raised by one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`Topics::of_language`]'s list.
    pub topic: usize,
    pub direction: Direction,
    /// The sentence of the change holding the phrase (original wording).
    pub sentence: String,
}

/// A topic raised by a whole change set, in one direction only.
#[derive(Clone, Debug)]
pub struct Raised {
    pub topic: Topic,
    pub direction: Direction,
    /// The first sentence that raised it, to judge and quote.
    pub sentence: String,
    /// Index of the first change that raised it in the change set.
    pub first_change: usize,
}

/// The compiled topics of every language.
#[derive(Clone, Debug)]
pub struct Topics {
    langs: BTreeMap<String, LangTopics>,
}

/// One language's topics, and all their patterns in one set: one scan of
/// a clause tells which topics need a closer look.
#[derive(Clone, Debug)]
struct LangTopics {
    topics: Vec<Topic>,
    set: regex::RegexSet,
    /// The topic of each pattern of `set`.
    of_pattern: Vec<usize>,
    /// Whether the patterns match the same in a text's [`ascii_view`] as
    /// in the text: none of them holds a character past ASCII or one of
    /// the view's stand-ins.
    ascii_view: bool,
}

/// How often a change set adds and removes text about one topic, and the
/// first change doing each.
#[derive(Default)]
struct Tally {
    added: usize,
    removed: usize,
    first: [Option<(usize, String)>; 2],
}

/// A phrase list that cannot be read, with the file it came from.
#[derive(Debug, thiserror::Error)]
pub enum TopicsError {
    #[error("topic list {file}: {error}")]
    Toml {
        file: &'static str,
        error: toml::de::Error,
    },
    #[error("topic list {file}, topic {topic}: {error}")]
    Pattern {
        file: String,
        topic: String,
        error: regex::Error,
    },
}

/// The built-in lists, compiled once per process.
pub fn builtin() -> std::sync::Arc<Topics> {
    static BUILTIN: std::sync::OnceLock<std::sync::Arc<Topics>> = std::sync::OnceLock::new();
    BUILTIN
        .get_or_init(|| std::sync::Arc::new(Topics::builtin()))
        .clone()
}

impl Topics {
    /// The built-in English and French lists.
    pub fn builtin() -> Topics {
        // The lists are compiled in and tested (`builtin_lists_load`); an
        // error here is a bug in this crate, not in the user's input.
        Topics::load(&BTreeMap::new()).expect("built-in topic lists are valid")
    }

    /// Built-in lists with `[watch_terms]` applied: a topic named there
    /// gets those phrases instead (an empty list turns it off); unknown
    /// topics and languages are added.
    pub fn with_config(config: &BTreeMap<String, BTreeMap<String, Vec<String>>>) -> Topics {
        // Phrases are escaped, so a configured list cannot fail to compile
        // short of the size limit; such a list raises nothing.
        Topics::load(config).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "watch_terms: a topic list is too large and is ignored");
            Topics::builtin()
        })
    }

    fn load(
        config: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    ) -> Result<Topics, TopicsError> {
        let mut langs = BTreeMap::new();
        for (lang, file, text) in [("en", "en.toml", EN), ("fr", "fr.toml", FR)] {
            let raw: toml::Table =
                toml::from_str(text).map_err(|error| TopicsError::Toml { file, error })?;
            let mut topics = Vec::new();
            for (name, value) in raw {
                let t: RawTopic = value
                    .try_into()
                    .map_err(|error| TopicsError::Toml { file, error })?;
                topics.push((name, t));
            }
            langs.insert(lang.to_string(), (file.to_string(), topics));
        }
        for (lang, flags) in config {
            let entry = langs
                .entry(lang.to_lowercase())
                .or_insert_with(|| (format!("[watch_terms.{lang}]"), Vec::new()));
            for (flag, phrases) in flags {
                match entry.1.iter_mut().find(|(n, _)| n == flag) {
                    Some((_, t)) => t.phrases = phrases.clone(),
                    None => entry.1.push((
                        flag.clone(),
                        RawTopic {
                            label: flag.replace('_', " "),
                            new: None,
                            removed: None,
                            phrases: phrases.clone(),
                        },
                    )),
                }
            }
        }
        // The TOML table is read in key order; the files list topics by
        // importance, which is the order posts name them in.
        let order = |lang: &str, name: &str| -> usize {
            let text = match lang {
                "fr" => FR,
                _ => EN,
            };
            text.find(&format!("\n[{name}]")).unwrap_or(usize::MAX)
        };
        let mut out = BTreeMap::new();
        for (lang, (file, mut raw)) in langs {
            raw.sort_by_key(|(name, _)| order(&lang, name));
            let mut topics = Vec::new();
            for (name, t) in raw {
                let pattern = compile(&t.phrases).map_err(|error| TopicsError::Pattern {
                    file: file.clone(),
                    topic: name.clone(),
                    error,
                })?;
                let never_empty = pattern.as_ref().is_some_and(|re| {
                    regex_syntax::Parser::new()
                        .parse(re.as_str())
                        .is_ok_and(|hir| hir.properties().minimum_len().is_some_and(|n| n > 0))
                });
                topics.push(Topic {
                    name,
                    label: t.label,
                    new: t.new,
                    removed: t.removed,
                    pattern,
                    never_empty,
                });
            }
            let of_pattern: Vec<usize> = topics
                .iter()
                .enumerate()
                .filter(|(_, t)| t.pattern.is_some())
                .map(|(i, _)| i)
                .collect();
            let set = regex::RegexSet::new(
                of_pattern
                    .iter()
                    .filter_map(|&i| topics[i].pattern.as_ref().map(Regex::as_str)),
            )
            .map_err(|error| TopicsError::Pattern {
                file: file.clone(),
                topic: "(all)".into(),
                error,
            })?;
            let ascii_view = topics
                .iter()
                .filter_map(|t| t.pattern.as_ref())
                .all(|re| view_safe(re.as_str()));
            out.insert(
                lang,
                LangTopics {
                    topics,
                    set,
                    of_pattern,
                    ascii_view,
                },
            );
        }
        Ok(Topics { langs: out })
    }

    /// The topics of a language tag: exact, then primary subtag, then English.
    pub fn of_language(&self, tag: &str) -> &[Topic] {
        self.lang(tag).map_or(&[], |l| l.topics.as_slice())
    }

    fn lang(&self, tag: &str) -> Option<&LangTopics> {
        let tag = tag.to_lowercase().replace('_', "-");
        let primary = tag.split('-').next().unwrap_or("");
        self.langs
            .get(&tag)
            .or_else(|| self.langs.get(primary))
            .or_else(|| self.langs.get("en"))
    }

    /// The topics one change raises, at most one direction per topic.
    pub fn of_change(&self, tag: &str, change: &Change) -> Vec<Hit> {
        self.hits(tag, change, true)
    }

    /// [`Topics::of_change`] without the sentences (left empty), which
    /// cost a sentence segmentation of the clause per hit: what the diff's
    /// flags need.
    pub fn directions_of_change(&self, tag: &str, change: &Change) -> Vec<Hit> {
        self.hits(tag, change, false)
    }

    fn hits(&self, tag: &str, change: &Change, sentences: bool) -> Vec<Hit> {
        let Some(lang) = self.lang(tag) else {
            return Vec::new();
        };
        let (mut old, mut new) = sides(change);
        if lang.ascii_view {
            old.view = ascii_view(&old.folded);
            new.view = ascii_view(&new.folded);
        }
        // Most clauses are about no topic: a search that stops at the
        // first match tells so faster than the search for every pattern.
        let scan = |h: &str| lang.set.is_match(h).then(|| lang.set.matches(h));
        let (in_old, in_new) = (scan(old.haystack()), scan(new.haystack()));
        if in_old.is_none() && in_new.is_none() {
            return Vec::new();
        }
        let matched =
            |m: &Option<regex::SetMatches>, p: usize| m.as_ref().is_some_and(|m| m.matched(p));
        let mut hits = Vec::new();
        // `of_pattern` is in topic order: so are the hits.
        for (p, &i) in lang.of_pattern.iter().enumerate() {
            let (in_o, in_n) = (matched(&in_old, p), matched(&in_new, p));
            if !in_o && !in_n {
                continue;
            }
            let topic = &lang.topics[i];
            let Some(re) = &topic.pattern else {
                continue;
            };
            // Found on one side only, and all of that side changed (an
            // added or removed clause): the set's answer is the hit. Only
            // a sentence to quote needs the match itself.
            if !sentences && in_o != in_n && topic.never_empty {
                let (side, direction) = if in_n {
                    (&new, Direction::Added)
                } else {
                    (&old, Direction::Removed)
                };
                if side.wholly_changed() {
                    hits.push(Hit {
                        topic: i,
                        direction,
                        sentence: String::new(),
                    });
                    continue;
                }
            }
            let (o, n) = (old.matches(re), new.matches(re));
            let touching = |side: &Side, ms: &[Range<usize>]| {
                ms.iter()
                    .find(|m| {
                        side.changed
                            .iter()
                            .any(|c| c.start < m.end && m.start < c.end)
                    })
                    .map(|m| {
                        if sentences {
                            side.sentence(m.clone())
                        } else {
                            String::new()
                        }
                    })
            };
            let hit = if n.len() > o.len() {
                touching(&new, &n).map(|s| (Direction::Added, s))
            } else if o.len() > n.len() {
                touching(&old, &o).map(|s| (Direction::Removed, s))
            } else {
                None
            };
            if let Some((direction, sentence)) = hit {
                hits.push(Hit {
                    topic: i,
                    direction,
                    sentence,
                });
            }
        }
        hits
    }

    /// The topics a change set raises: each in the direction most of its
    /// changes take (added or removed text about it); a topic as often
    /// added as removed is reworded text, not news, and is left out. In the
    /// language file's order of importance.
    pub fn of_changes(&self, tag: &str, cs: &ChangeSet) -> Vec<Raised> {
        self.raised(tag, &self.of_each_change(tag, cs))
    }

    /// [`Topics::of_change`] of every change of `cs` (none for a move), in
    /// order: for a caller that needs them besides [`Topics::raised`].
    pub fn of_each_change(&self, tag: &str, cs: &ChangeSet) -> Vec<Vec<Hit>> {
        cs.changes
            .iter()
            .map(|c| {
                if c.kind == ChangeKind::Moved {
                    Vec::new()
                } else {
                    self.of_change(tag, c)
                }
            })
            .collect()
    }

    /// [`Topics::of_changes`] from the hits of each change
    /// ([`Topics::of_each_change`]).
    pub fn raised(&self, tag: &str, per_change: &[Vec<Hit>]) -> Vec<Raised> {
        let topics = self.of_language(tag);
        // topic → (added, removed, first hit per direction)
        let mut tally: BTreeMap<usize, Tally> = BTreeMap::new();
        for (ci, hits) in per_change.iter().enumerate() {
            for h in hits {
                let e = tally.entry(h.topic).or_default();
                let slot = match h.direction {
                    Direction::Added => {
                        e.added += 1;
                        0
                    }
                    Direction::Removed => {
                        e.removed += 1;
                        1
                    }
                };
                e.first[slot].get_or_insert_with(|| (ci, h.sentence.clone()));
            }
        }
        tally
            .into_iter()
            .filter_map(|(t, tally)| {
                let (direction, slot) = match tally.added.cmp(&tally.removed) {
                    std::cmp::Ordering::Greater => (Direction::Added, 0),
                    std::cmp::Ordering::Less => (Direction::Removed, 1),
                    std::cmp::Ordering::Equal => return None,
                };
                let (first_change, sentence) = tally.first[slot].clone()?;
                Some(Raised {
                    topic: topics[t].clone(),
                    direction,
                    sentence,
                    first_change,
                })
            })
            .collect()
    }
}

/// Whether a sentence says the opposite of what its topic's template
/// would claim ("we do not collect biometric data").
pub fn negated(sentence: &str) -> bool {
    let s = fold(sentence);
    const WORDS: &[&str] = &[
        "not",
        "never",
        "no longer",
        "don't",
        "doesn't",
        "won't",
        "cannot",
        "without",
        "ne ",
        "n'",
        "jamais",
        "aucun",
        "aucune",
        "sans",
    ];
    WORDS.iter().any(|w| {
        s.match_indices(w).any(|(i, _)| {
            let before_ok = i == 0 || !s[..i].ends_with(|c: char| c.is_alphanumeric());
            let end = i + w.len();
            let after_ok = w.ends_with([' ', '\''])
                || end == s.len()
                || !s[end..].starts_with(|c: char| c.is_alphanumeric());
            before_ok && after_ok
        })
    })
}

/// One side of a change as matchable text: folded, with the byte ranges
/// of changed words and the original wording per folded byte range (to
/// give back sentences as written).
struct Side<'a> {
    folded: String,
    /// [`ascii_view`] of `folded`, when it differs from it and the
    /// language's patterns allow it.
    view: Option<String>,
    changed: Vec<Range<usize>>,
    /// (folded start, original text) for each piece, in order.
    pieces: Vec<(usize, &'a str)>,
}

impl<'a> Side<'a> {
    fn new(parts: &[(&'a str, bool)]) -> Side<'a> {
        let mut side = Side {
            folded: String::new(),
            view: None,
            changed: Vec::new(),
            pieces: Vec::new(),
        };
        for (text, changed) in parts {
            let start = side.folded.len();
            fold_into(text, &mut side.folded);
            if *changed {
                side.changed.push(start..side.folded.len());
            }
            side.pieces.push((start, text));
        }
        side
    }

    /// Whether the whole side is one changed stretch.
    fn wholly_changed(&self) -> bool {
        !self.folded.is_empty()
            && matches!(self.changed.as_slice(), [c] if *c == (0..self.folded.len()))
    }

    /// What the patterns run on: byte offsets in it are offsets in `folded`.
    fn haystack(&self) -> &str {
        self.view.as_deref().unwrap_or(&self.folded)
    }

    fn matches(&self, re: &Regex) -> Vec<Range<usize>> {
        re.find_iter(self.haystack()).map(|m| m.range()).collect()
    }

    /// The sentence around a match, in the original wording.
    fn sentence(&self, m: Range<usize>) -> String {
        let original: String = self.pieces.iter().map(|(_, t)| *t).collect();
        // Folded and original texts differ in length; the position is
        // carried over by proportion within the piece holding the match.
        let mut at = 0;
        let mut offset = 0;
        for (i, (start, text)) in self.pieces.iter().enumerate() {
            let end = self
                .pieces
                .get(i + 1)
                .map_or(self.folded.len(), |(s, _)| *s);
            if m.start >= *start && m.start < end.max(*start + 1) {
                let ratio = (m.start - start) as f64 / (end - start).max(1) as f64;
                let mut guess = (ratio * text.len() as f64) as usize;
                while guess > 0 && !text.is_char_boundary(guess) {
                    guess -= 1;
                }
                at = offset + guess;
                break;
            }
            offset += text.len();
        }
        sentence_around(&original, at)
    }
}

/// The sentence of `text` holding byte `at`.
fn sentence_around(text: &str, at: usize) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    text.split_sentence_bound_indices()
        .find(|(i, s)| at >= *i && at < i + s.len())
        .or_else(|| text.split_sentence_bound_indices().last())
        .map(|(_, s)| s.trim().to_string())
        .unwrap_or_default()
}

/// The two sides of a change, every word of an added or removed clause
/// counting as changed.
fn sides(c: &Change) -> (Side<'_>, Side<'_>) {
    let old = c.old.as_deref().unwrap_or("");
    let new = c.new.as_deref().unwrap_or("");
    match c.kind {
        ChangeKind::Added => (Side::new(&[]), Side::new(&[(new, true)])),
        ChangeKind::Removed => (Side::new(&[(old, true)]), Side::new(&[])),
        ChangeKind::Moved => (Side::new(&[(old, false)]), Side::new(&[(new, false)])),
        ChangeKind::Modified | ChangeKind::Renamed if c.words.is_empty() => {
            (Side::new(&[(old, true)]), Side::new(&[(new, true)]))
        }
        ChangeKind::Modified | ChangeKind::Renamed => {
            let old: Vec<(&str, bool)> = c
                .words
                .iter()
                .filter(|w| w.op != WordOpKind::Insert)
                .map(|w| (w.text.as_str(), w.op == WordOpKind::Delete))
                .collect();
            let new: Vec<(&str, bool)> = c
                .words
                .iter()
                .filter(|w| w.op != WordOpKind::Delete)
                .map(|w| (w.text.as_str(), w.op == WordOpKind::Insert))
                .collect();
            (Side::new(&old), Side::new(&new))
        }
    }
}

/// Lower case, French accents and ligatures removed, typographic
/// apostrophes and spaces made plain: what phrases are matched against.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`], appended to `out`.
fn fold_into(text: &str, out: &mut String) {
    out.reserve(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        // ASCII (most of a policy) a stretch at a time, without the
        // general lowercase mapping, which costs an iterator per
        // character (and a push per character was most of folding).
        let ascii = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        if ascii > 0 {
            let start = out.len();
            out.push_str(&rest[..ascii]);
            out[start..].make_ascii_lowercase();
            if rest[..ascii].contains('`') {
                let folded = out.split_off(start).replace('`', "'");
                out.push_str(&folded);
            }
            rest = &rest[ascii..];
            continue;
        }
        let c = rest.chars().next().expect("a character past ASCII");
        rest = &rest[c.len_utf8()..];
        fold_char(c, out);
    }
}

/// [`fold`] of one character past ASCII, appended to `out`.
fn fold_char(c: char, out: &mut String) {
    match c {
        'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' | 'Ä' | 'Á' => out.push('a'),
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => out.push('e'),
        'î' | 'ï' | 'í' | 'Î' | 'Ï' => out.push('i'),
        'ô' | 'ö' | 'ó' | 'Ô' | 'Ö' => out.push('o'),
        'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' => out.push('u'),
        'ç' | 'Ç' => out.push('c'),
        'ÿ' => out.push('y'),
        'œ' | 'Œ' => out.push_str("oe"),
        'æ' | 'Æ' => out.push_str("ae"),
        'ﬁ' => out.push_str("fi"),
        'ﬂ' => out.push_str("fl"),
        '’' | '‘' | 'ʼ' => out.push('\''),
        '\u{a0}' | '\u{202f}' | '\u{2009}' => out.push(' '),
        '\u{2010}' | '\u{2011}' | '\u{2013}' => out.push('-'),
        c => out.extend(c.to_lowercase()),
    }
}

/// What a character past ASCII that is a word character (`\w`, what `\b`
/// looks at) stands as in an [`ascii_view`]: upper case, which no folded
/// phrase holds.
const WORD_STAND_IN: char = 'W';
/// … and one that is neither a word character nor white space: a control
/// character, which no phrase holds either.
const OTHER_STAND_IN: char = '\u{1}';

/// Whether a topic pattern matches in [`ascii_view`]s exactly where it
/// matches in the texts: it names no character past ASCII and neither
/// stand-in (folded phrases are lower case; only the escapes `\b`, `\s`,
/// `\d` have letters).
fn view_safe(pattern: &str) -> bool {
    pattern.is_ascii() && !pattern.contains(OTHER_STAND_IN) && !pattern.contains(WORD_STAND_IN)
}

/// `folded` with every character past ASCII replaced by as many ASCII
/// bytes as it takes (so that offsets carry over): white space by spaces,
/// a word character by [`WORD_STAND_IN`], anything else by
/// [`OTHER_STAND_IN`]. Phrases (see [`view_safe`]) only ever meet such
/// characters through `\s`, `[^\s]` and `\b`, which the stand-ins
/// answer alike; and on ASCII text the regex crate's DFAs handle Unicode
/// `\b`, where past ASCII they give up for the much slower PikeVM. None
/// when no view is needed (ASCII already) or none is exact (a digit past
/// ASCII, which `\d` matches and no stand-in can).
fn ascii_view(folded: &str) -> Option<String> {
    if folded.is_ascii() {
        return None;
    }
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let word = regex_syntax::is_word_character(c);
        let stand_in = if c.is_whitespace() {
            ' '
        } else if word && c.is_numeric() {
            return None;
        } else if word {
            WORD_STAND_IN
        } else {
            OTHER_STAND_IN
        };
        out.extend(std::iter::repeat_n(stand_in, c.len_utf8()));
    }
    Some(out)
}

/// One regex for a topic's phrases (None for an empty list). Each word
/// may take a plural ending; spaces and hyphens match any run of either;
/// `…` (or `...`) stands for up to [`GAP_WORDS`] words, `#` for a number.
fn compile(phrases: &[String]) -> Result<Option<Regex>, regex::Error> {
    let alts: Vec<String> = phrases
        .iter()
        .map(|p| fold(p.trim()))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let p = p.replace("...", "…");
            let mut out = String::new();
            for (i, word) in p.split([' ', '-']).filter(|w| !w.is_empty()).enumerate() {
                if word == "…" {
                    out.push_str(&format!(r"(?:[\s\-]+[^\s]+){{0,{GAP_WORDS}}}"));
                    continue;
                }
                if i > 0 {
                    out.push_str(r"[\s\-]+");
                }
                if word == "#" {
                    out.push_str(&format!(r"(?:\d+|{NUMBER_WORDS})"));
                } else {
                    out.push_str(&regex::escape(word));
                    if word.ends_with(|c: char| c.is_alphabetic()) {
                        out.push_str("(?:s|es|x)?");
                    }
                }
            }
            out
        })
        .collect();
    if alts.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!(r"\b(?:{})\b", alts.join("|"))).map(Some)
}

#[cfg(test)]
mod tests;
