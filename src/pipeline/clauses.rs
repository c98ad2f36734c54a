//! Clauses: the unit clausewatch stores, hashes and diffs.
//!
//! A clause is one heading, paragraph, list item or table row of the
//! extracted text, with the path of headings above it. The clause keeps its
//! original wording (for quoting) and a normalized form (for hashing and
//! comparing), so that re-wrapped markup or a changed quote style never looks
//! like a change.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One clause of one version of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ClauseFields", into = "ClauseFields")]
pub struct Clause {
    /// 0-based position in the version.
    pub position: u32,
    pub kind: ClauseKind,
    /// Heading path above this clause, joined with " > ". For a heading, the
    /// path of its parent headings (not including itself).
    pub path: String,
    /// Original wording, whitespace collapsed, for quoting.
    pub text: String,
    /// The normalized form ([`Clause::norm`]) when it differs from `text`.
    /// Most clauses normalize to their own wording (two thirds of the
    /// corpus's): holding it twice was a fifth of a 10 MB page's check.
    /// Always `None` when equal, so that the derived equality holds.
    norm: Option<String>,
    /// SHA-256 of the normalized form.
    pub hash: ClauseHash,
}

/// The SHA-256 of a clause's normalized form. Held as its 32 bytes and
/// written as lowercase hex (its `Display`, and how JSON and the version
/// hash spell it): as a hex string it was 88 bytes and an allocation per
/// clause, 7 MB of a 10 MB page's change.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClauseHash(pub [u8; 32]);

impl ClauseHash {
    /// The hash of `norm`, a clause's normalized text.
    pub fn of(norm: &str) -> ClauseHash {
        ClauseHash(Sha256::digest(norm.as_bytes()).into())
    }

    /// Reads 64 hex digits (either case), as [`ClauseHash::hex`] writes them.
    pub fn parse(hex: &str) -> Option<ClauseHash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex, &mut out).ok()?;
        Some(ClauseHash(out))
    }

    /// Lowercase hex, without an allocation.
    pub fn hex(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        hex::encode_to_slice(self.0, &mut out).expect("64 bytes hold 32 in hex");
        out
    }
}

impl std::fmt::Display for ClauseHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = self.hex();
        f.write_str(std::str::from_utf8(&hex).expect("hex is ASCII"))
    }
}

impl std::fmt::Debug for ClauseHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClauseHash({self})")
    }
}

impl Serialize for ClauseHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClauseHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ClauseHash, D::Error> {
        let hex = std::borrow::Cow::<'de, str>::deserialize(d)?;
        ClauseHash::parse(&hex).ok_or_else(|| {
            serde::de::Error::custom(format!("{hex:?} is not a SHA-256 in hex (64 digits)"))
        })
    }
}

impl Clause {
    /// A clause; `norm`, its normalized form, is `None` when known to be
    /// the text (as the store keeps it), and is held apart only when it
    /// differs.
    pub fn new(
        position: u32,
        kind: ClauseKind,
        path: String,
        text: String,
        norm: Option<String>,
        hash: ClauseHash,
    ) -> Clause {
        let norm = norm.filter(|n| *n != text);
        Clause {
            position,
            kind,
            path,
            text,
            norm,
            hash,
        }
    }

    /// Normalized text used for hashing and comparison.
    pub fn norm(&self) -> &str {
        self.norm.as_deref().unwrap_or(&self.text)
    }

    /// Whether the normalized form is the text itself.
    pub fn norm_is_text(&self) -> bool {
        self.norm.is_none()
    }

    /// Replaces the normalized form (the hash is left to the caller).
    pub fn set_norm(&mut self, norm: String) {
        self.norm = (norm != self.text).then_some(norm);
    }
}

/// A clause as it is written out (JSON, the technical updates' records):
/// the normalized form in full, whether or not it is held apart.
#[derive(Serialize, Deserialize)]
struct ClauseFields {
    position: u32,
    kind: ClauseKind,
    path: String,
    text: String,
    norm: String,
    hash: ClauseHash,
}

impl From<ClauseFields> for Clause {
    fn from(f: ClauseFields) -> Clause {
        Clause::new(f.position, f.kind, f.path, f.text, Some(f.norm), f.hash)
    }
}

impl From<Clause> for ClauseFields {
    fn from(c: Clause) -> ClauseFields {
        let norm = c.norm().to_string();
        ClauseFields {
            position: c.position,
            kind: c.kind,
            path: c.path,
            text: c.text,
            norm,
            hash: c.hash,
        }
    }
}

use sha2::{Digest, Sha256};

pub use crate::pipeline::extract::ClauseKind;
use crate::pipeline::extract::{normalize, normalize_cow, Extracted};

/// Splits extracted blocks into clauses: one clause per block whose
/// normalized text is not empty, with the path of enclosing headings.
pub fn split(ex: &Extracted) -> Vec<Clause> {
    split_blocks(
        ex.blocks
            .iter()
            .map(|b| (b.kind, Cow::Borrowed(b.text.as_str()))),
    )
}

/// [`split`], taking the blocks: each block's text becomes its clause's
/// without a copy, and goes once split, so that a big page is not held
/// twice (as blocks and as clauses).
pub fn split_owned(ex: Extracted) -> Vec<Clause> {
    split_blocks(ex.blocks.into_iter().map(|b| (b.kind, Cow::Owned(b.text))))
}

fn split_blocks<'a>(blocks: impl Iterator<Item = (ClauseKind, Cow<'a, str>)>) -> Vec<Clause> {
    // Open headings, outermost first: (level, original text).
    let mut headings: Vec<(u8, String)> = Vec::new();
    let mut clauses = Vec::new();
    // The path of the open headings, joined once per heading change
    // rather than once per clause.
    let mut path = String::new();
    for (kind, text) in blocks {
        let norm = normalize_cow(&text);
        if norm.is_empty() {
            continue;
        }
        if let ClauseKind::Heading { level } = kind {
            // A heading closes every open heading at its level or deeper.
            while headings.last().is_some_and(|&(l, _)| l >= level) {
                headings.pop();
            }
            path = joined_path(&headings);
        }
        let clause_path = path.clone();
        if let ClauseKind::Heading { level } = kind {
            if !is_navigation(&norm) {
                headings.push((level, text.to_string()));
                path = joined_path(&headings);
            }
        }
        if text.len() <= MAX_CLAUSE_BYTES {
            let hash = ClauseHash::of(&norm);
            let norm = match norm {
                Cow::Borrowed(_) => None,
                Cow::Owned(n) => Some(n),
            };
            clauses.push(Clause::new(
                u32::try_from(clauses.len()).unwrap_or(u32::MAX),
                kind,
                clause_path,
                text.into_owned(),
                norm,
                hash,
            ));
            continue;
        }
        // A block longer than any real clause (a page without structure, a
        // runaway text node) is cut at sentence ends, so that the diff and
        // the posts work on pieces of a sane size.
        for piece in cut_long(&text, MAX_CLAUSE_BYTES) {
            let norm = normalize(piece);
            if norm.is_empty() {
                continue;
            }
            let hash = ClauseHash::of(&norm);
            clauses.push(Clause::new(
                u32::try_from(clauses.len()).unwrap_or(u32::MAX),
                kind,
                clause_path.clone(),
                piece.to_string(),
                Some(norm),
                hash,
            ));
        }
    }
    clauses
}

fn joined_path(headings: &[(u8, String)]) -> String {
    headings
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join(" > ")
}

/// Is a heading's normalized text the title of a page's navigation
/// ("Table of Contents")?
/// Such a heading ends the sections before it but names no section: what
/// follows it is the policy, and a change there said to be in "Table of
/// Contents" tells a reader nothing.
pub fn is_navigation(norm: &str) -> bool {
    let t = norm
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    matches!(
        t.as_str(),
        "table of contents"
            | "contents"
            | "on this page"
            | "in this policy"
            | "jump to section"
            | "quick links"
            | "sommaire"
            | "table des matières"
            | "sur cette page"
            | "dans cette page"
    )
}

/// Longest clause, in bytes. The longest clause of the corpus is about
/// 9,000 characters; a block past this is cut.
pub const MAX_CLAUSE_BYTES: usize = 32 * 1024;

/// Pieces of at most `max` bytes, cut after the last sentence end (". ",
/// "! ", "? ") in each window, else at the last space, else at a character
/// boundary.
fn cut_long(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while rest.len() > max {
        let mut end = max;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let window = &rest[..end];
        let cut = [". ", "! ", "? "]
            .iter()
            .filter_map(|p| window.rfind(p).map(|i| i + 1))
            .max()
            .filter(|&i| i > max / 2)
            .or_else(|| window.rfind(' ').filter(|&i| i > 0))
            .unwrap_or(end);
        out.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Identifies a version by its ordered clause hashes. Each hash is followed
/// by a newline so that the digest input is unambiguous even if clause
/// hashes ever changed length.
pub fn version_hash(clauses: &[Clause]) -> String {
    let mut hasher = Sha256::new();
    for clause in clauses {
        hasher.update(clause.hash.hex());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// Identifies the letters and digits of a clause list, in order, case
/// folded: two versions with the same letters hash differ only in case,
/// whitespace, punctuation, quote style, markup or invisible characters (a
/// cosmetic change). Read from the normalized text, so that a letter
/// written with a combining accent is the same letter as the precomposed
/// one.
pub fn letters_hash(clauses: &[Clause]) -> String {
    // The letters go through a buffer: a hasher update per letter cost
    // more than the hashing, and ASCII (nearly every letter) needs no
    // case table.
    let mut hasher = Sha256::new();
    let mut letters: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut buf = [0u8; 4];
    for clause in clauses {
        for c in clause.norm().chars() {
            if c.is_ascii() {
                if c.is_ascii_alphanumeric() {
                    letters.push(c.to_ascii_lowercase() as u8);
                }
            } else if c.is_alphanumeric() {
                for l in c.to_lowercase() {
                    letters.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if letters.len() >= 8 * 1024 {
            hasher.update(&letters);
            letters.clear();
        }
    }
    hasher.update(&letters);
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::extract::{Block, Extracted};

    fn block(kind: ClauseKind, text: &str) -> Block {
        Block {
            kind,
            text: text.to_string(),
        }
    }

    #[test]
    fn paths_follow_heading_levels() {
        let h = |level| ClauseKind::Heading { level };
        let ex = Extracted {
            blocks: vec![
                block(h(1), "Policy"),
                block(ClauseKind::Paragraph, "Intro"),
                block(h(2), "1. Data"),
                block(h(3), "1.1 Provided"),
                block(ClauseKind::ListItem, "Email"),
                block(h(2), "2. Use"),
                block(ClauseKind::Paragraph, "\u{200B}"),
                block(ClauseKind::TableRow, "a | b"),
                block(h(1), "Other"),
            ],
        };
        let clauses = split(&ex);
        let got: Vec<(u32, &str, &str)> = clauses
            .iter()
            .map(|c| (c.position, c.path.as_str(), c.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "", "Policy"),
                (1, "Policy", "Intro"),
                (2, "Policy", "1. Data"),
                (3, "Policy > 1. Data", "1.1 Provided"),
                (4, "Policy > 1. Data > 1.1 Provided", "Email"),
                (5, "Policy", "2. Use"),
                (6, "Policy > 2. Use", "a | b"),
                (7, "", "Other"),
            ]
        );
        assert_eq!(
            clauses[1].hash.to_string(),
            hex::encode(Sha256::digest(b"Intro"))
        );
        // Taking the blocks splits them the same way.
        assert_eq!(split_owned(ex), clauses);
    }

    #[test]
    fn a_table_of_contents_heading_names_no_section() {
        let h = |level| ClauseKind::Heading { level };
        let ex = Extracted {
            blocks: vec![
                block(h(1), "Privacy Policy"),
                block(h(2), "Table of Contents"),
                block(ClauseKind::ListItem, "1. Information We Collect"),
                block(h(3), "1. Information We Collect"),
                block(ClauseKind::Paragraph, "We collect your email."),
                block(h(2), "Sommaire :"),
                block(h(3), "2. Partage"),
                block(ClauseKind::Paragraph, "Nous partageons."),
            ],
        };
        let clauses = split(&ex);
        let paths: Vec<(&str, &str)> = clauses
            .iter()
            .map(|c| (c.text.as_str(), c.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("Privacy Policy", ""),
                ("Table of Contents", "Privacy Policy"),
                ("1. Information We Collect", "Privacy Policy"),
                ("1. Information We Collect", "Privacy Policy"),
                (
                    "We collect your email.",
                    "Privacy Policy > 1. Information We Collect"
                ),
                ("Sommaire :", "Privacy Policy"),
                ("2. Partage", "Privacy Policy"),
                ("Nous partageons.", "Privacy Policy > 2. Partage"),
            ]
        );
    }

    #[test]
    fn a_normalized_form_equal_to_the_text_is_held_once_and_written_out_whole() {
        let p = |t| block(ClauseKind::Paragraph, t);
        let clauses = split(&Extracted {
            blocks: vec![p("We share data."), p("We use \u{201c}cookies\u{201d}.")],
        });
        assert_eq!(clauses[0].norm(), "We share data.");
        assert_eq!(clauses[0].norm, None);
        assert_eq!(clauses[1].norm(), "We use \"cookies\".");
        assert!(clauses[1].norm.is_some());
        let json = serde_json::to_value(&clauses).unwrap();
        assert_eq!(json[0]["norm"], "We share data.");
        assert_eq!(json[1]["norm"], "We use \"cookies\".");
        let back: Vec<Clause> = serde_json::from_value(json).unwrap();
        assert_eq!(back, clauses);
        // A form given whole equal to the text is not kept apart either,
        // so that equal clauses compare equal however they were made.
        let mut c = clauses[1].clone();
        c.set_norm(c.text.clone());
        assert_eq!(c.norm, None);
        assert_eq!(
            Clause::new(
                0,
                ClauseKind::Paragraph,
                String::new(),
                "a".into(),
                Some("a".into()),
                ClauseHash::of("a")
            ),
            Clause::new(
                0,
                ClauseKind::Paragraph,
                String::new(),
                "a".into(),
                None,
                ClauseHash::of("a")
            )
        );
    }

    #[test]
    fn letters_hash_is_the_hash_of_the_lowercased_letters() {
        let p = |t| block(ClauseKind::Paragraph, t);
        let long = "Ünïcode and ASCII, İstanbul ΣΊΣΥΦΟΣ 42. ".repeat(400);
        let clauses = split(&Extracted {
            blocks: vec![p("Short one."), p(&long), p("Straße ǅ Ⅻ.")],
        });
        let mut letters = String::new();
        for c in &clauses {
            for ch in c.norm().chars().filter(|ch| ch.is_alphanumeric()) {
                letters.extend(ch.to_lowercase());
            }
        }
        assert_eq!(
            letters_hash(&clauses),
            hex::encode(Sha256::digest(letters.as_bytes()))
        );
    }

    #[test]
    fn letters_hash_ignores_everything_but_letters_and_digits() {
        let p = |t| block(ClauseKind::Paragraph, t);
        let a = split(&Extracted {
            blocks: vec![p("We collect data in Your X Data, identifiers, mobile.")],
        });
        let b = split(&Extracted {
            blocks: vec![
                p("We collect **data** inYour X Data, identifiers,mobile"),
                p("**"),
            ],
        });
        let c = split(&Extracted {
            blocks: vec![p("We collect data in Your X Data, identifiers, mobile, 2.")],
        });
        assert_eq!(letters_hash(&a), letters_hash(&b));
        // Apostrophes stripped, a space before a comma, a combining accent,
        // an invisible character.
        let d = split(&Extracted {
            blocks: vec![p("Weve updated the services , click \u{2060}Cafe\u{301}.")],
        });
        let e = split(&Extracted {
            blocks: vec![p("We’ve updated the services, click Café.")],
        });
        assert_eq!(letters_hash(&d), letters_hash(&e));
        assert_ne!(letters_hash(&a), letters_hash(&c));
    }

    #[test]
    fn a_runaway_block_is_cut_at_sentence_ends() {
        let sentence = "We collect the data you give us when you use the services. ";
        let text = sentence.repeat(2_000); // about 120 KB
        let clauses = split(&Extracted {
            blocks: vec![block(ClauseKind::Paragraph, text.trim())],
        });
        assert!(clauses.len() >= 4, "{}", clauses.len());
        for c in &clauses {
            assert!(c.text.len() <= MAX_CLAUSE_BYTES);
            assert!(c.text.ends_with('.'), "cut at a sentence end");
        }
        let rejoined: Vec<&str> = clauses.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(rejoined.join(" "), text.trim(), "nothing lost");
        let positions: Vec<u32> = clauses.iter().map(|c| c.position).collect();
        assert_eq!(positions, (0..clauses.len() as u32).collect::<Vec<_>>());
    }

    #[test]
    fn kinds_round_trip_through_their_stored_parts() {
        for kind in [
            ClauseKind::Heading { level: 3 },
            ClauseKind::Paragraph,
            ClauseKind::ListItem,
            ClauseKind::TableRow,
        ] {
            let (name, level) = kind.parts();
            assert_eq!(ClauseKind::from_parts(name, level).unwrap(), kind);
        }
        assert!(ClauseKind::from_parts("banner", None).is_err());
    }

    #[test]
    fn a_clause_hash_is_written_and_read_as_the_hex_crate_writes_it() {
        for i in 0..200u32 {
            let digest: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
            let lower = hex::encode(digest);
            let h = ClauseHash(digest);
            assert_eq!(h.to_string(), lower);
            assert_eq!(&h.hex()[..], lower.as_bytes());
            assert_eq!(ClauseHash::parse(&lower), Some(h));
            assert_eq!(ClauseHash::parse(&lower.to_uppercase()), Some(h));
            let json = serde_json::to_string(&h).unwrap();
            assert_eq!(json, format!("\"{lower}\""));
            assert_eq!(serde_json::from_str::<ClauseHash>(&json).unwrap(), h);
        }
        let good = hex::encode([0xabu8; 32]);
        for bad in [
            String::new(),
            good[..62].to_string(),
            format!("{good}00"),
            format!("g{}", &good[1..]),
            format!("{}\u{e9}", &good[..62]),
        ] {
            assert_eq!(ClauseHash::parse(&bad), None, "{bad:?}");
            let err = serde_json::from_str::<ClauseHash>(&format!("{bad:?}")).unwrap_err();
            assert!(err.to_string().contains("not a SHA-256"), "{err}");
        }
    }

    #[test]
    fn version_hash_depends_on_order_and_content_only() {
        let p = |t| block(ClauseKind::Paragraph, t);
        let a = split(&Extracted {
            blocks: vec![p("One."), p("Two.")],
        });
        let b = split(&Extracted {
            blocks: vec![p("One."), p("Two.")],
        });
        let swapped = split(&Extracted {
            blocks: vec![p("Two."), p("One.")],
        });
        let rewrapped = split(&Extracted {
            blocks: vec![p("One."), p("Two.\u{00A0}")],
        });
        assert_eq!(version_hash(&a), version_hash(&b));
        assert_ne!(version_hash(&a), version_hash(&swapped));
        assert_eq!(version_hash(&a), version_hash(&rewrapped));
        assert_ne!(version_hash(&a), version_hash(&a[..1]));
        assert_eq!(version_hash(&a).len(), 64);
    }
}
