//! Word-level quoting of a modified clause.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};
use similar::DiffTag;
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
    plain_tokens(text).unwrap_or_else(|| unicode_tokens(text))
}

/// [`tokens`] by Unicode's word boundaries (UAX #29).
fn unicode_tokens(text: &str) -> Vec<&str> {
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

/// [`unicode_tokens`] of a text of ASCII and a few common typographic
/// characters (curly quotes, dashes, the no-break space), by the rules of
/// UAX #29 that such characters can meet; `None` for any other text.
/// Looking every character's class up in Unicode's tables was a tenth of
/// diffing a policy, and nearly every clause is such a text.
///
/// Within a run of non-space characters a token goes on through letters
/// and digits mixed (WB5, WB8–10), through `_` beside them (WB13a–b), and
/// through one `:` `.` `'` `‘` `’` between letters (WB6–7) or one `,` `;`
/// `.` `'` `‘` `’` between digits (WB11–12); every other character is a
/// token of its own. Whitespace joins the token before it, or the first
/// token when the text starts with it, as in [`unicode_tokens`].
fn plain_tokens(text: &str) -> Option<Vec<&str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Class {
        Space,
        Letter,
        Digit,
        Underscore,
        /// `:`, between letters only.
        MidLetter,
        /// `.`, `'`, `‘` and `’`, between letters or between digits.
        MidNumLet,
        /// `,` and `;`, between digits only.
        MidNum,
        Other,
    }
    let class = |c: char| {
        Some(match c {
            'a'..='z' | 'A'..='Z' => Class::Letter,
            '0'..='9' => Class::Digit,
            '_' => Class::Underscore,
            ':' => Class::MidLetter,
            '.' | '\'' | '‘' | '’' => Class::MidNumLet,
            ',' | ';' => Class::MidNum,
            // The no-break space is a word boundary of its own in UAX #29,
            // and whitespace to `unicode_tokens`, like the others here.
            ' ' | '\t' | '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{a0}' => Class::Space,
            '\0'..='\u{7f}' | '“' | '”' | '–' | '—' | '…' | '•' | '©' | '®' | '™' => {
                Class::Other
            }
            _ => return None,
        })
    };
    let mut chars: Vec<(usize, Class)> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        chars.push((i, class(c)?));
    }
    let at = |k: usize| chars.get(k).map_or(Class::Other, |&(_, c)| c);
    // Whether the characters `k - 1` and `k` (neither a space) are in one
    // word.
    let joined = |k: usize| {
        let word = |c: Class| matches!(c, Class::Letter | Class::Digit | Class::Underscore);
        match (at(k - 1), at(k)) {
            (Class::Letter | Class::Digit, Class::Letter | Class::Digit) => true,
            (x, Class::Underscore) | (Class::Underscore, x) => word(x),
            (Class::Letter, Class::MidLetter | Class::MidNumLet) => at(k + 1) == Class::Letter,
            (Class::MidLetter | Class::MidNumLet, Class::Letter) => {
                k >= 2 && at(k - 2) == Class::Letter
            }
            (Class::Digit, Class::MidNum | Class::MidNumLet) => at(k + 1) == Class::Digit,
            (Class::MidNum | Class::MidNumLet, Class::Digit) => k >= 2 && at(k - 2) == Class::Digit,
            _ => false,
        }
    };
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0;
    // Whether the token begun at `start` holds anything but whitespace.
    let mut solid = false;
    for (k, &(i, c)) in chars.iter().enumerate() {
        if c == Class::Space {
            continue;
        }
        let after_space = k == 0 || at(k - 1) == Class::Space;
        if solid && (after_space || !joined(k)) {
            out.push(&text[start..i]);
            start = i;
        }
        solid = true;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    Some(out)
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
    for op in super::lcs::patience_ops(&ok, &nk) {
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
    fn plain_tokens_are_unicodes_word_boundaries() {
        let texts = [
            "",
            " ",
            "  lead and trail  ",
            "We may share, with partners.",
            "e.g. U.S. residents: see 3.1.2, or 1,000,000; 2;3 a;b a,b",
            "don't 'quoted' it's o'clock 9'5 a'1 1'a",
            "snake_case _lead trail_ __ a_1 1_a _ _. ._",
            "a:b 1:2 a:1 http://x.test/a?b=c&d=e#f",
            "a..b 1..2 a.'b 1.,2 a. b 1. 2 .5 5.",
            "tab\there\r\nnew\x0bline\x0cfeed\r\r\n\n (parens) [brackets] {braces} \"q\"",
            "2023-09-29 10:30 $5.00 50% #tag @user a/b a\\b a-b a+b a*b a~b a^b a`b a|b",
            "!!! ??? ... --- *** ,,, ;;; ::: '' \x00\x7f",
            "We’ve ‘quoted’ don’t 9’5 a’1 ’’ “double” – — … • © ® ™ a\u{a0}b 1\u{a0}000",
            "ends’ ’starts a’ ’b a‘b 1‘2 a’’b x\u{a0}\u{a0} \u{a0}lead",
        ];
        // Anything else is left to Unicode's tables.
        assert_eq!(plain_tokens("café"), None);
        assert_eq!(plain_tokens("données’"), None);
        for t in texts {
            assert_eq!(plain_tokens(t), Some(unicode_tokens(t)), "tokens of {t:?}");
        }
        // And every ASCII line of the shared corpus's policies.
        let mut compared = 0;
        for text in corpus_texts() {
            for line in text.lines() {
                if let Some(plain) = plain_tokens(line) {
                    assert_eq!(plain, unicode_tokens(line), "tokens of {line:?}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 10_000, "{compared} corpus lines");
    }

    /// The Markdown of every version in the shared corpus.
    fn corpus_texts() -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus"
        ))];
        while let Some(dir) = dirs.pop() {
            for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "md") {
                    out.push(std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        out
    }

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
