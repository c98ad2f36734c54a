//! Word-level quoting of a modified clause.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};
use similar::{capture_diff_slices, Algorithm, DiffTag};
use unicode_segmentation::UnicodeSegmentation;

/// Kind of a word run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WordOpKind {
    Equal,
    Delete,
    Insert,
}

/// A run of original wording that is kept, deleted or inserted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WordOp {
    pub op: WordOpKind,
    pub text: String,
}

/// Token → id, hashed with [`Fnv`].
type TokenIds<'a> = HashMap<&'a str, u32, BuildHasherDefault<Fnv>>;

/// FNV-1a: tokens are short and each is hashed once; SipHash's defence
/// against chosen keys buys nothing for a policy's own words and costs
/// several times more per token.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Splits into word / punctuation tokens, each carrying its trailing
/// whitespace so that concatenating tokens gives back the text exactly.
fn tokens(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, piece) in text.split_word_bound_indices() {
        let blank = |s: &str| s.chars().all(char::is_whitespace);
        // Leading whitespace stays with the first token.
        if i > start && !blank(piece) && !blank(&text[start..i]) {
            out.push(&text[start..i]);
            start = i;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Word diff of two original wordings, merged into runs (deletions before
/// insertions within a replaced stretch). Tokens compare without their
/// trailing whitespace, so a re-spaced word is not reported.
pub fn word_ops(old: &str, new: &str) -> Vec<WordOp> {
    let ot = tokens(old);
    let nt = tokens(new);
    // Compared as small integers, one per distinct word: the diff hashes
    // and compares its elements many times over, words once each here.
    fn id<'a>(ids: &mut TokenIds<'a>, token: &'a str) -> u32 {
        let next = ids.len() as u32;
        *ids.entry(token.trim_end()).or_insert(next)
    }
    let mut ids = TokenIds::with_capacity_and_hasher(ot.len() + nt.len(), Default::default());
    let ok: Vec<u32> = ot.iter().map(|t| id(&mut ids, t)).collect();
    let nk: Vec<u32> = nt.iter().map(|t| id(&mut ids, t)).collect();
    let mut out: Vec<WordOp> = Vec::new();
    let mut push = |op: WordOpKind, parts: &[&str]| {
        if parts.iter().all(|p| p.is_empty()) {
            return;
        }
        match out.last_mut() {
            Some(last) if last.op == op => parts.iter().for_each(|p| last.text.push_str(p)),
            _ => out.push(WordOp {
                op,
                text: parts.concat(),
            }),
        }
    };
    for op in capture_diff_slices(Algorithm::Patience, &ok, &nk) {
        let (tag, or, nr) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                // Same word; the space after it may differ ("address and"
                // vs "address,"). Keeping each side's own spacing makes
                // both wordings rebuild exactly from the runs.
                for (o, n) in ot[or].iter().zip(&nt[nr]) {
                    let word = n.trim_end();
                    let (ows, nws) = (&o[word.len()..], &n[word.len()..]);
                    push(WordOpKind::Equal, &[word]);
                    if ows == nws {
                        push(WordOpKind::Equal, &[nws]);
                    } else {
                        push(WordOpKind::Delete, &[ows]);
                        push(WordOpKind::Insert, &[nws]);
                    }
                }
            }
            DiffTag::Delete => push(WordOpKind::Delete, &ot[or]),
            DiffTag::Insert => push(WordOpKind::Insert, &nt[nr]),
            DiffTag::Replace => {
                push(WordOpKind::Delete, &ot[or]);
                push(WordOpKind::Insert, &nt[nr]);
            }
        }
    }
    // Runs of Delete/Insert/Delete/Insert separated by nothing can appear
    // when similar splits a replace; fold them so a quote reads
    // "[-old words-]{+new words+}" once per stretch.
    let mut merged: Vec<WordOp> = Vec::with_capacity(out.len());
    let mut runs = out.into_iter().peekable();
    while let Some(run) = runs.next() {
        if run.op == WordOpKind::Equal {
            merged.push(run);
            continue;
        }
        let mut del = String::new();
        let mut ins = String::new();
        let mut next = Some(run);
        while let Some(run) = next {
            match run.op {
                WordOpKind::Delete => del.push_str(&run.text),
                _ => ins.push_str(&run.text),
            }
            next = runs.next_if(|r| r.op != WordOpKind::Equal);
        }
        if !del.is_empty() {
            merged.push(WordOp {
                op: WordOpKind::Delete,
                text: del,
            });
        }
        if !ins.is_empty() {
            merged.push(WordOp {
                op: WordOpKind::Insert,
                text: ins,
            });
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_rebuild_text() {
        for t in [
            "",
            "a",
            "  lead",
            "We may share, with partners.",
            "l’accès aux  données",
        ] {
            assert_eq!(tokens(t).concat(), t, "tokens of {t:?}");
        }
    }

    fn side(ops: &[WordOp], skip: WordOpKind) -> String {
        ops.iter()
            .filter(|o| o.op != skip)
            .map(|o| o.text.as_str())
            .collect()
    }

    #[test]
    fn both_wordings_rebuild_exactly() {
        let pairs = [
            (
                "IP address and browser type.",
                "IP address, browser type, and related information.",
            ),
            (
                "Tweets and other content you post",
                "Posts and other content you post",
            ),
            (
                "3.1 When you Tweet, post, and share.",
                "3.1 When you post and share.",
            ),
            ("", "Brand new clause."),
            ("Same words here", "Same words here"),
        ];
        for (a, b) in pairs {
            let ops = word_ops(a, b);
            assert_eq!(side(&ops, WordOpKind::Insert), a, "old side of {ops:?}");
            assert_eq!(side(&ops, WordOpKind::Delete), b, "new side of {ops:?}");
            // Runs are maximal: never two neighbours of the same kind.
            assert!(ops.windows(2).all(|w| w[0].op != w[1].op), "{ops:?}");
        }
        let ops = word_ops("IP address and browser type.", "IP address, browser type.");
        let del: Vec<&str> = ops
            .iter()
            .filter(|o| o.op == WordOpKind::Delete)
            .map(|o| o.text.as_str())
            .collect();
        assert_eq!(del, vec![" and "]);
    }

    #[test]
    fn replaced_word_is_one_delete_one_insert() {
        let ops = word_ops(
            "We may share your data with partners.",
            "We may sell your data with partners.",
        );
        let kinds: Vec<_> = ops.iter().map(|o| o.op).collect();
        assert_eq!(
            kinds,
            vec![
                WordOpKind::Equal,
                WordOpKind::Delete,
                WordOpKind::Insert,
                WordOpKind::Equal
            ]
        );
        assert_eq!(ops[1].text.trim(), "share");
        assert_eq!(ops[2].text.trim(), "sell");
        let new: String = ops
            .iter()
            .filter(|o| o.op != WordOpKind::Delete)
            .map(|o| o.text.as_str())
            .collect();
        assert_eq!(new, "We may sell your data with partners.");
    }
}
