//! Clause-level diff between two versions of a document.
//!
//! Comparison is on each clause's `norm` (see `extract::normalize`), so
//! re-wrapping, markup, quote style or invisible characters never produce a
//! change; quotes are taken from the original wording (`text`).
//!
//! Alignment is described in `align`: unchanged clauses anchor the two
//! versions, identical clauses that changed place are *moved*, similar ones
//! are *modified* (headings: *renamed*), the rest *added* / *removed*.
//!
//! # JSON shape
//!
//! A [`ChangeSet`] serializes as
//! `{"summary": {...}, "changes": [{"kind", "path", "old", "new", "words",
//! "flags", "flags_disappeared", "old_position", "new_position", "old_path"}]}`.
//! Every field is always present: absent optional values are `null` and
//! `words` is `[]` except for modified and renamed changes.

mod align;
mod lcs;
mod render;
mod watch;
mod words;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::pipeline::clauses::{self, Clause};
use align::Pairing;
use watch::Direction;

pub mod stored;

pub use render::render_text;
pub use watch::{WatchTerms, WatchTermsConfig};
pub use words::{WordOp, WordOpKind};

/// All changes between two versions, in document order.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ChangeSet {
    pub summary: Summary,
    pub changes: Vec<Change>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    /// A non-heading clause reworded (similar enough to its old wording).
    Modified,
    /// Same normalized wording and kind found elsewhere (other place or
    /// section). Quiet: see [`ChangeSet::is_empty`].
    Moved,
    /// A heading reworded (renumbered sections included).
    Renamed,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Change {
    pub kind: ChangeKind,
    /// Section path of the clause: new side, or old side for removed clauses.
    pub path: String,
    /// Original wording on the old side (none for added).
    pub old: Option<String>,
    /// Original wording on the new side (none for removed).
    pub new: Option<String>,
    /// Word runs, only for modified and renamed.
    pub words: Vec<WordOp>,
    /// Watch-term flags raised by this change (either direction), by name.
    pub flags: Vec<String>,
    /// Those of `flags` whose phrase disappeared rather than appeared.
    pub flags_disappeared: Vec<String>,
    pub old_position: Option<u32>,
    pub new_position: Option<u32>,
    /// Old section path, for moved clauses.
    pub old_path: Option<String>,
}

/// Change counts of one section.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SectionSummary {
    pub path: String,
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub moved: usize,
    pub renamed: usize,
}

/// How many changes raised `flag` in one direction.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FlagSummary {
    pub flag: String,
    /// True when the phrase appeared, false when it disappeared.
    pub appeared: bool,
    pub count: usize,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Summary {
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub moved: usize,
    pub renamed: usize,
    /// Sections with at least one change, in document order.
    pub sections: Vec<SectionSummary>,
    /// Sorted by flag name, appeared before disappeared.
    pub flags: Vec<FlagSummary>,
}

impl ChangeSet {
    /// True when nothing but moves happened: a moved clause keeps its
    /// wording, so it alone is not worth a notification.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.kind == ChangeKind::Moved)
    }

    /// The flags as a reader is told them, on the web as in the posts'
    /// topic lines: each topic once, in the direction most of its changes
    /// take (with that direction's count); a topic as often added as
    /// removed is reworded text, not news, and is left out.
    pub fn net_flags(&self) -> Vec<FlagSummary> {
        let mut out: Vec<FlagSummary> = Vec::new();
        for f in &self.summary.flags {
            let other = self
                .summary
                .flags
                .iter()
                .find(|g| g.flag == f.flag && g.appeared != f.appeared)
                .map_or(0, |g| g.count);
            if f.count > other {
                out.push(f.clone());
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Minimum word similarity (Dice over word multisets, 0..=1) for an old
    /// and a new clause to be reported as one modified clause.
    pub similarity: f64,
    pub watch_terms: WatchTerms,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            similarity: crate::defaults::SIMILARITY,
            watch_terms: WatchTerms::defaults(),
        }
    }
}

/// Diffs two clause lists of the same document. `language` picks the watch
/// term list (falls back to English).
pub fn diff(old: &[Clause], new: &[Clause], opts: &DiffOptions, language: &str) -> ChangeSet {
    let old_letters: Vec<u64> = old.iter().map(|c| align::letters_key(c.norm())).collect();
    let new_letters: Vec<u64> = new.iter().map(|c| align::letters_key(c.norm())).collect();
    let alignment = align::align(old, new, &old_letters, &new_letters, opts.similarity);
    // Churn: a clause whose exact words still stand on the other side (a
    // table of contents rebuilt or dropped, a duplicate of a kept clause, a
    // heading turned into a paragraph) added or removed nothing a reader
    // could lose or gain, so it is not reported at all.
    let old_words: HashSet<u64> = old_letters.iter().copied().collect();
    let new_words: HashSet<u64> = new_letters.iter().copied().collect();
    let mut changes = Vec::new();
    for (p, _) in alignment.pairings {
        let (kind, o, n) = match p {
            Pairing::Unchanged { .. } => continue,
            Pairing::Added { new: n } if is_churn(&new[n], new_letters[n], &old_words) => continue,
            Pairing::Removed { old: o } if is_churn(&old[o], old_letters[o], &new_words) => {
                continue
            }
            // The same words as a heading on one side and a paragraph on
            // the other: formatting, not a move.
            Pairing::Moved { old: o, new: n } if is_heading(&old[o]) != is_heading(&new[n]) => {
                continue
            }
            Pairing::Moved { old: o, new: n } => (ChangeKind::Moved, Some(&old[o]), Some(&new[n])),
            Pairing::Modified { old: o, new: n } => {
                let kind = if is_heading(&old[o]) {
                    ChangeKind::Renamed
                } else {
                    ChangeKind::Modified
                };
                (kind, Some(&old[o]), Some(&new[n]))
            }
            Pairing::Removed { old: o } => (ChangeKind::Removed, Some(&old[o]), None),
            Pairing::Added { new: n } => (ChangeKind::Added, None, Some(&new[n])),
        };
        changes.push(make_change(kind, o, n, opts, language));
    }
    ChangeSet {
        summary: summarize(&changes),
        changes,
    }
}

/// Is an added or removed clause churn: its words stand on the other side,
/// or it is the title of a table of contents, which says nothing itself.
fn is_churn(c: &Clause, letters: u64, other_side: &HashSet<u64>) -> bool {
    other_side.contains(&letters) || (is_heading(c) && clauses::is_navigation(c.norm()))
}

fn is_heading(c: &Clause) -> bool {
    matches!(c.kind, crate::pipeline::clauses::ClauseKind::Heading { .. })
}

fn make_change(
    kind: ChangeKind,
    o: Option<&Clause>,
    n: Option<&Clause>,
    opts: &DiffOptions,
    language: &str,
) -> Change {
    let words = match (kind, o, n) {
        (ChangeKind::Modified | ChangeKind::Renamed, Some(o), Some(n)) => {
            words::word_ops(&o.text, &n.text)
        }
        _ => Vec::new(),
    };
    let path = n.or(o).map(|c| c.path.clone()).unwrap_or_default();
    let mut change = Change {
        kind,
        path,
        old: o.map(|c| c.text.clone()),
        new: n.map(|c| c.text.clone()),
        words,
        flags: Vec::new(),
        flags_disappeared: Vec::new(),
        old_position: o.map(|c| c.position),
        new_position: n.map(|c| c.position),
        old_path: if kind == ChangeKind::Moved {
            o.map(|c| c.path.clone())
        } else {
            None
        },
    };
    // The flags are read from the changed words, as the posts' topic lines
    // are (one list and one matcher for both).
    if kind != ChangeKind::Moved {
        for (flag, direction) in opts.watch_terms.flags(language, &change) {
            if direction == Direction::Disappeared {
                change.flags_disappeared.push(flag.clone());
            }
            change.flags.push(flag);
        }
    }
    change
}

fn summarize(changes: &[Change]) -> Summary {
    let mut s = Summary::default();
    let mut flags: std::collections::BTreeMap<(String, bool), usize> = Default::default();
    let mut section_index: std::collections::HashMap<&str, usize> = Default::default();
    for c in changes {
        let idx = *section_index.entry(c.path.as_str()).or_insert_with(|| {
            s.sections.push(SectionSummary {
                path: c.path.clone(),
                ..Default::default()
            });
            s.sections.len() - 1
        });
        let sec = &mut s.sections[idx];
        let (total, local) = match c.kind {
            ChangeKind::Added => (&mut s.added, &mut sec.added),
            ChangeKind::Removed => (&mut s.removed, &mut sec.removed),
            ChangeKind::Modified => (&mut s.modified, &mut sec.modified),
            ChangeKind::Moved => (&mut s.moved, &mut sec.moved),
            ChangeKind::Renamed => (&mut s.renamed, &mut sec.renamed),
        };
        *total += 1;
        *local += 1;
        for f in &c.flags {
            let appeared = !c.flags_disappeared.contains(f);
            *flags.entry((f.clone(), !appeared)).or_default() += 1;
        }
    }
    s.flags = flags
        .into_iter()
        .map(|((flag, disappeared), count)| FlagSummary {
            flag,
            appeared: !disappeared,
            count,
        })
        .collect();
    s
}

#[cfg(test)]
mod tests;
