//! Clause alignment: decides which old clause corresponds to which new one.
//!
//! Three passes, from most to least certain:
//! 1. an LCS (patience) over `(is_heading, letters)` keys, `letters` being
//!    the clause's letters and digits, case folded (see [`letters_key`]):
//!    these pairs are the unchanged anchors, so an inserted section shifts
//!    positions without disturbing the pairing of anything around it, and a
//!    clause whose case, spacing, punctuation, quotes or markup alone
//!    changed is unchanged;
//! 2. clauses with an identical key left unmatched on both sides are *moved*
//!    (multiset matching, so duplicated clause texts are counted correctly);
//! 3. the rest pair up as *modified* by word similarity, first inside the gap
//!    between the same two anchors (a clause that was reworded usually stays
//!    where it was), then globally for what is left, best pair first.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use similar::DiffTag;

use super::lcs;

use crate::pipeline::clauses::{Clause, ClauseKind};

/// How one clause (or pair of clauses) ended up after alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pairing {
    Unchanged {
        old: usize,
        new: usize,
    },
    Moved {
        old: usize,
        new: usize,
    },
    /// Different norms, similar enough to be the same clause reworded.
    Modified {
        old: usize,
        new: usize,
    },
    Removed {
        old: usize,
    },
    Added {
        new: usize,
    },
}

/// Alignment result: every old and every new index appears in exactly one
/// pairing, sorted in document order by the attached key: new index for
/// anything present in the new version, see `align` for removed clauses.
pub(crate) struct Alignment {
    pub pairings: Vec<(Pairing, (usize, u8, usize))>,
}

fn is_heading(c: &Clause) -> bool {
    matches!(c.kind, ClauseKind::Heading { .. })
}

/// The letters and digits of a clause's normalized text, case folded, as a
/// 64-bit hash: two clauses with the same key differ at most in what a
/// reader does not read as wording. A collision would only pair two
/// clauses as unchanged; at 64 bits, over a few thousand clauses, its odds
/// are negligible.
pub(crate) fn letters_key(norm: &str) -> u64 {
    let mut h = LettersHasher::default();
    // The letters are gathered into a small buffer and hashed eight bytes
    // at a time: pushed one by one into the hash, each waited for the
    // last (a fifth of a busy diff). Policies are mostly ASCII: bytes
    // first, through a table, and stored whether they count or not (the
    // next one goes over what did not), characters only past ASCII.
    let mut buf = [0u8; LETTERS_BUF];
    let mut n = 0;
    let bytes = norm.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let folded = ASCII_FOLD[usize::from(bytes[i])];
        if folded != NOT_ASCII {
            buf[n] = folded;
            n += usize::from(folded != 0);
            i += 1;
        } else {
            let c = norm[i..].chars().next().unwrap_or_default();
            if c.is_alphanumeric() {
                for l in c.to_lowercase() {
                    let mut utf8 = [0u8; 4];
                    for &b in l.encode_utf8(&mut utf8).as_bytes() {
                        buf[n] = b;
                        n += 1;
                    }
                }
            }
            i += c.len_utf8().max(1);
        }
        if n >= LETTERS_CHUNK {
            h.words(&buf[..LETTERS_CHUNK]);
            buf.copy_within(LETTERS_CHUNK..n, 0);
            n -= LETTERS_CHUNK;
        }
    }
    h.finish(&buf[..n])
}

/// Letters are hashed a chunk of this many bytes at a time, from a buffer
/// with room for one more character's lowercase form (up to three
/// characters of four bytes).
const LETTERS_CHUNK: usize = 64;
const LETTERS_BUF: usize = LETTERS_CHUNK + 16;

/// Marks a byte that starts or continues a character past ASCII.
const NOT_ASCII: u8 = 0xff;

/// Per byte: the lowercase ASCII letter or digit it is, 0 for other ASCII,
/// [`NOT_ASCII`] past ASCII.
const ASCII_FOLD: [u8; 256] = {
    let mut t = [NOT_ASCII; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Hashes a string of letters (the UTF-8 of each letter or digit, lower
/// case) eight bytes at a time in two lanes with different multipliers:
/// equal letters give equal keys, and a multiply per character made
/// hashing the clauses cost more than the rest of an unchanged diff.
#[derive(Default)]
struct LettersHasher {
    len: u64,
    a: u64,
    b: u64,
}

impl LettersHasher {
    /// Mixes whole words (`bytes` holds a multiple of eight).
    fn words(&mut self, bytes: &[u8]) {
        for w in bytes.chunks_exact(8) {
            self.mix(u64::from_le_bytes(w.try_into().expect("eight bytes")));
        }
        self.len += bytes.len() as u64;
    }

    fn mix(&mut self, word: u64) {
        self.a = (self.a ^ word)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
        self.b = (self.b.rotate_left(23) ^ word).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    }

    /// The key, after the letters left over (fewer than a chunk): their
    /// whole words, then the last one zero-padded (the length tells the
    /// padding from letters), or the empty word of an empty key.
    fn finish(mut self, tail: &[u8]) -> u64 {
        let whole = tail.len() / 8 * 8;
        self.words(&tail[..whole]);
        let rest = &tail[whole..];
        if !rest.is_empty() || self.len == 0 {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
            self.len += rest.len() as u64;
        }
        let mut x = self.a ^ self.b.rotate_left(32) ^ self.len.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        // Final avalanche (the MurmurHash3 finalizer).
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        x ^ (x >> 33)
    }
}

type Key = (bool, u64);

/// Replaces each distinct key by a small integer for the patience diff.
fn intern(old: &[Key], new: &[Key]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<Key, u32, BuildHasherDefault<KeyHasher>> =
        HashMap::with_capacity_and_hasher(old.len() + new.len(), Default::default());
    let mut id = |k: &Key| {
        let next = ids.len() as u32;
        *ids.entry(*k).or_insert(next)
    };
    let o = old.iter().map(&mut id).collect();
    let n = new.iter().map(&mut id).collect();
    (o, n)
}

/// Hashes a [`Key`] with one multiply per word: its letters part is a
/// hash already, so SipHash (a fifth of interning, done twice per diff)
/// would only mix it again. Ids go by first appearance, whatever the
/// hasher.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.write_u64(u64::from(b));
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(26) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Sorted multiset of lowercase word hashes, for a cheap Dice similarity.
/// Hashing words (instead of keeping strings) keeps the all-pairs comparison
/// of a big gap within the benchmark budget.
fn word_bag(norm: &str) -> Vec<u64> {
    // FNV-1a: collisions only blur a similarity score, so a fast
    // non-cryptographic hash is enough.
    const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;
    let fnv = |h: u64, c: u64| (h ^ c).wrapping_mul(0x0100_0000_01b3);
    let mut bag: Vec<u64> = if norm.is_ascii() {
        // The same hashes as below, a byte at a time: an ASCII letter is
        // its own lowercase character. One pass, into a vector sized for
        // words of five letters and a space: collecting from a filtered
        // split grew it a doubling at a time (a tenth of the bags' cost).
        let mut bag = Vec::with_capacity(norm.len() / 6 + 1);
        let mut h = FNV_START;
        let mut in_word = false;
        for &b in norm.as_bytes() {
            let folded = ASCII_FOLD[usize::from(b)];
            if folded != 0 {
                h = fnv(h, u64::from(folded));
                in_word = true;
            } else if in_word {
                bag.push(h);
                h = FNV_START;
                in_word = false;
            }
        }
        if in_word {
            bag.push(h);
        }
        bag
    } else {
        norm.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                w.chars()
                    .flat_map(char::to_lowercase)
                    .fold(FNV_START, |h, c| fnv(h, u64::from(u32::from(c))))
            })
            .collect()
    };
    bag.sort_unstable();
    bag
}

/// Dice coefficient over word multisets, 2·|A∩B| / (|A|+|B|), if it is at
/// least `min`, else `None` — possibly found
/// before the end: the merge stops as soon as the words left cannot lift
/// the score to `min`, which is most of the all-pairs cost on rewrites.
/// The diff asks [`Bag::dice_at_least`], which asks the sketches first.
#[cfg(test)]
fn dice_at_least(a: &[u64], b: &[u64], min: f64) -> Option<f64> {
    let total = a.len() + b.len();
    if total == 0 {
        return Some(1.0);
    }
    dice_needing(a, b, min, words_needed(min, total))
}

/// The Dice coefficient of `a` and `b` if it is at least `min`, which
/// takes `needed` common words (see [`words_needed`]); `a` and `b` not
/// both empty.
fn dice_needing(a: &[u64], b: &[u64], min: f64, needed: usize) -> Option<f64> {
    let total = a.len() + b.len();
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        // Without a branch on the comparison: which side steps is as
        // random as the words, and mispredicting it was most of the merge.
        let (x, y) = (a[i], b[j]);
        common += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
        if common + (a.len() - i).min(b.len() - j) < needed {
            return None;
        }
    }
    let score = 2.0 * common as f64 / total as f64;
    (score >= min).then_some(score)
}

/// Buckets of a [`Sketch`].
const SKETCH_BUCKETS: usize = 64;

/// How many words of a bag fall in each of 64 buckets (by hash): two bags
/// share at most, bucket by bucket, the smaller count, so most hopeless
/// pairs of a rewrite are told apart in 64 byte compares instead of a
/// merge of both bags. None when a bucket would overflow (a clause of
/// hundreds of repeated words): such a bag is always merged.
struct Sketch([u8; SKETCH_BUCKETS]);

impl Sketch {
    fn of(bag: &[u64]) -> Option<Sketch> {
        let mut counts = [0u8; SKETCH_BUCKETS];
        for &w in bag {
            // FNV's low bits mix poorly: take the top ones of a multiply.
            let b = (w.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize;
            counts[b] = counts[b].checked_add(1)?;
        }
        Some(Sketch(counts))
    }

    /// At least as many words as the two bags have in common.
    fn common_at_most(&self, other: &Sketch) -> usize {
        // In u16 (64 buckets of at most 255 cannot overflow it), which
        // the compiler turns into a few vector instructions.
        let sum: u16 = self
            .0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| u16::from(*a.min(b)))
            .sum();
        usize::from(sum)
    }
}

/// A clause's [`word_bag`] and its [`Sketch`].
struct Bag {
    words: Vec<u64>,
    sketch: Option<Sketch>,
}

impl Bag {
    fn of(norm: &str) -> Bag {
        let words = word_bag(norm);
        let sketch = Sketch::of(&words);
        Bag { words, sketch }
    }

    /// The Dice coefficient of two bags if it is at least `min`, the
    /// sketches asked first.
    fn dice_at_least(&self, other: &Bag, min: f64) -> Option<f64> {
        let total = self.words.len() + other.words.len();
        if total == 0 {
            return Some(1.0);
        }
        // Once per pair: `ceil` is a library call.
        let needed = words_needed(min, total);
        if let (Some(a), Some(b)) = (&self.sketch, &other.sketch) {
            if a.common_at_most(b) < needed {
                return None;
            }
        }
        dice_needing(&self.words, &other.words, min, needed)
    }
}

/// The [`Bag`]s of the clauses left unmatched, by clause index. Only
/// theirs are made: one per clause of a 10 MB page (51,000 clauses, all
/// but one unchanged) was 10 MB of empty bags at the peak of its diff.
struct Bags {
    /// Per clause, its bag's place in `bags`; [`NO_BAG`] for a matched clause.
    slot: Vec<u32>,
    bags: Vec<Bag>,
}

const NO_BAG: u32 = u32::MAX;

impl Bags {
    fn of(clauses: &[Clause], left: &[usize]) -> Bags {
        let mut slot = vec![NO_BAG; clauses.len()];
        let mut bags = Vec::with_capacity(left.len());
        for &i in left {
            slot[i] = bags.len() as u32;
            bags.push(Bag::of(clauses[i].norm()));
        }
        Bags { slot, bags }
    }

    /// The bag of clause `i`, one of those it was made for.
    fn get(&self, i: usize) -> &Bag {
        &self.bags[self.slot[i] as usize]
    }
}

/// Common words two bags of `total` words need for a Dice coefficient of
/// `min`. In whole words: `x < needed` is `x < ceil(needed)` for an
/// integer x, and comparing integers keeps floats out of the loops.
fn words_needed(min: f64, total: usize) -> usize {
    // `ceil` by hand: `f64::ceil` is a library call, made once per pair.
    let x = (min * total as f64 / 2.0).max(0.0);
    let whole = x as usize;
    whole + usize::from((whole as f64) < x)
}

/// Whether bags of `a` and `b` words can have a Dice coefficient of `min`:
/// the shorter must hold the words the pair needs in common. For one `a`
/// and `min` ≤ 1, the `b` that can make an interval around `a`.
fn can_reach(min: f64, a: usize, b: usize) -> bool {
    a.min(b) >= words_needed(min, a + b)
}

/// Word similarity of two clause norms, exposed for tests and callers that
/// want to explain a pairing.
#[cfg(test)]
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    dice_at_least(&word_bag(a), &word_bag(b), 0.0).unwrap_or(0.0)
}

/// Aligns `old` with `new`; `old_letters` and `new_letters` are their
/// clauses' [`letters_key`]s.
pub(crate) fn align(
    old: &[Clause],
    new: &[Clause],
    old_letters: &[u64],
    new_letters: &[u64],
    threshold: f64,
) -> Alignment {
    let keys = |clauses: &[Clause], letters: &[u64], heading: bool| -> Vec<Key> {
        clauses
            .iter()
            .zip(letters)
            .map(|(c, &l)| (heading && is_heading(c), l))
            .collect()
    };
    let (ok, nk) = intern(&keys(old, old_letters, true), &keys(new, new_letters, true));
    let ops = lcs::patience_ops(&ok, &nk);

    let mut old_match: Vec<Option<Pairing>> = vec![None; old.len()];
    let mut new_match: Vec<Option<Pairing>> = vec![None; new.len()];
    // Gap id of each clause not in the LCS.
    let mut old_gap = vec![usize::MAX; old.len()];
    let mut new_gap = vec![usize::MAX; new.len()];
    let mut gap_count = 0usize;
    let mut in_gap = false;
    for op in &ops {
        let (tag, or, nr) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            in_gap = false;
            for (o, n) in or.zip(nr) {
                let p = Pairing::Unchanged { old: o, new: n };
                old_match[o] = Some(p);
                new_match[n] = Some(p);
            }
            continue;
        }
        if !in_gap {
            gap_count += 1;
            in_gap = true;
        }
        let g = gap_count - 1;
        for o in or {
            old_gap[o] = g;
        }
        for n in nr {
            new_gap[n] = g;
        }
    }

    // Pass 2: moved. Queue per key of unmatched new indexes, consumed in
    // document order so duplicates pair first-with-first. A second round
    // ignores heading-ness: the same words turned from heading into
    // paragraph (or back) are a formatting change, not a wording change.
    for heading in [true, false] {
        let (oid, nid) = if heading {
            (ok.clone(), nk.clone())
        } else {
            intern(
                &keys(old, old_letters, false),
                &keys(new, new_letters, false),
            )
        };
        let mut pending: HashMap<u32, VecDeque<usize>> = HashMap::new();
        for (n, id) in nid.iter().enumerate() {
            if new_match[n].is_none() {
                pending.entry(*id).or_default().push_back(n);
            }
        }
        for (o, id) in oid.iter().enumerate() {
            if old_match[o].is_some() {
                continue;
            }
            if let Some(n) = pending.get_mut(id).and_then(VecDeque::pop_front) {
                let p = Pairing::Moved { old: o, new: n };
                old_match[o] = Some(p);
                new_match[n] = Some(p);
            }
        }
    }

    // Pass 3: modified, within each gap, then globally.
    let old_left: Vec<usize> = (0..old.len()).filter(|&o| old_match[o].is_none()).collect();
    let new_left: Vec<usize> = (0..new.len()).filter(|&n| new_match[n].is_none()).collect();
    let old_bags = Bags::of(old, &old_left);
    let new_bags = Bags::of(new, &new_left);
    let ctx = PairCtx {
        old,
        new,
        old_bags: &old_bags,
        new_bags: &new_bags,
        threshold,
    };

    let mut by_gap: HashMap<usize, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for &o in &old_left {
        by_gap.entry(old_gap[o]).or_default().0.push(o);
    }
    for &n in &new_left {
        by_gap.entry(new_gap[n]).or_default().1.push(n);
    }
    let mut gaps: Vec<_> = by_gap.into_values().collect();
    // HashMap order is random; sorting keeps the result deterministic.
    gaps.sort_unstable();
    for (os, ns) in &gaps {
        // One clause replaced by one clause between the same anchors: the
        // place itself says they correspond, so short clauses whose few
        // words mostly changed ("Effective: May 18, 2023" → "Effective:
        // September 29, 2023") still read as modified.
        let one_to_one = |h: bool| {
            os.iter().filter(|&&o| is_heading(&old[o]) == h).count() == 1
                && ns.iter().filter(|&&n| is_heading(&new[n]) == h).count() == 1
        };
        let relaxed = PairCtx {
            threshold: threshold / 2.0,
            ..ctx
        };
        for h in [false, true] {
            if one_to_one(h) {
                let o: Vec<usize> = os
                    .iter()
                    .copied()
                    .filter(|&o| is_heading(&old[o]) == h)
                    .collect();
                let n: Vec<usize> = ns
                    .iter()
                    .copied()
                    .filter(|&n| is_heading(&new[n]) == h)
                    .collect();
                relaxed.pair_best_first(&o, &n, &mut old_match, &mut new_match);
            }
        }
        ctx.pair_best_first(os, ns, &mut old_match, &mut new_match);
    }
    let old_left: Vec<usize> = old_left
        .into_iter()
        .filter(|&o| old_match[o].is_none())
        .collect();
    let new_left: Vec<usize> = new_left
        .into_iter()
        .filter(|&n| new_match[n].is_none())
        .collect();
    // Two clauses left over from the same gap were already compared there,
    // at this threshold, and did not pair: only pairs across gaps can.
    ctx.pair_best_first_across(
        &old_left,
        &new_left,
        Some((&old_gap, &new_gap)),
        &mut old_match,
        &mut new_match,
    );

    let mut pairings = Vec::with_capacity(old.len().max(new.len()));
    for (n, m) in new_match.iter().enumerate() {
        let p = m.unwrap_or(Pairing::Added { new: n });
        pairings.push((p, (n, 1, 0)));
    }
    // A removed clause sorts right after the new counterpart of the old
    // clause before it (moves excluded: they jump elsewhere), so it shows up
    // where it used to be read.
    let mut after: usize = 0;
    for (o, m) in old_match.iter().enumerate() {
        match m {
            Some(Pairing::Unchanged { new: n, .. } | Pairing::Modified { new: n, .. }) => {
                after = n + 1
            }
            Some(_) => {}
            None => pairings.push((Pairing::Removed { old: o }, (after, 0, o))),
        }
    }
    pairings.sort_by_key(|&(_, k)| k);
    Alignment { pairings }
}

#[derive(Clone, Copy)]
struct PairCtx<'a> {
    old: &'a [Clause],
    new: &'a [Clause],
    old_bags: &'a Bags,
    new_bags: &'a Bags,
    threshold: f64,
}

impl PairCtx<'_> {
    /// Greedy one-to-one pairing, most similar first; ties go to the pair
    /// whose positions are closest, so repeated boilerplate pairs in order.
    fn pair_best_first(
        &self,
        os: &[usize],
        ns: &[usize],
        old_match: &mut [Option<Pairing>],
        new_match: &mut [Option<Pairing>],
    ) {
        self.pair_best_first_across(os, ns, None, old_match, new_match);
    }

    /// [`PairCtx::pair_best_first`], skipping pairs whose old and new gap
    /// (`gaps`: gap ids by old and by new index) are the same.
    fn pair_best_first_across(
        &self,
        os: &[usize],
        ns: &[usize],
        gaps: Option<(&[usize], &[usize])>,
        old_match: &mut [Option<Pairing>],
        new_match: &mut [Option<Pairing>],
    ) {
        if os.is_empty() || ns.is_empty() {
            return;
        }
        let same_gap = |o: usize, n: usize| gaps.is_some_and(|(og, ng)| og[o] == ng[n]);
        let mut cands: Vec<(f64, usize, usize, usize)> = Vec::new();
        // Targets by heading-ness and then length: a pair can reach the
        // threshold only if the shorter bag holds as many words as the
        // pair needs in common, and for one old clause the new lengths
        // that can make an interval, so each old clause looks only there.
        let mut targets: Vec<(bool, usize, usize, &Bag)> = ns
            .iter()
            .map(|&n| {
                let bag = self.new_bags.get(n);
                (is_heading(&self.new[n]), bag.words.len(), n, bag)
            })
            .collect();
        targets.sort_unstable_by_key(|&(h, len, n, _)| (h, len, n));
        let paragraphs = targets.partition_point(|t| !t.0);
        let t = self.threshold;
        for &o in os {
            let ob = self.old_bags.get(o);
            // Headings only pair with headings: a heading that became a
            // paragraph is a structural change, reported as remove + add.
            let group = if is_heading(&self.old[o]) {
                &targets[paragraphs..]
            } else {
                &targets[..paragraphs]
            };
            let a = ob.words.len();
            let lo = group.partition_point(|g| g.1 < a && !can_reach(t, a, g.1));
            let hi = group.partition_point(|g| g.1 <= a || can_reach(t, a, g.1));
            for &(_, b, n, nb) in &group[lo..hi] {
                if same_gap(o, n) {
                    continue;
                }
                debug_assert!(can_reach(t, a, b));
                if let Some(s) = ob.dice_at_least(nb, t) {
                    cands.push((s, o.abs_diff(n), o, n));
                }
            }
        }
        // Best first, then closest, then by old and new index: the order
        // the candidates are found in plays no part.
        cands.sort_unstable_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        for (_, _, o, n) in cands {
            if old_match[o].is_none() && new_match[n].is_none() {
                let p = Pairing::Modified { old: o, new: n };
                old_match[o] = Some(p);
                new_match[n] = Some(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_keys_ignore_all_but_letters_and_digits() {
        let k = letters_key;
        assert_eq!(
            k("We’ve updated the services , click"),
            k("weve Updated the services, click")
        );
        assert_eq!(k("Café — 2023"), k("CAFÉ2023"));
        assert_ne!(k("ab"), k("ba"));
        assert_ne!(k("data"), k("date"));
        assert_ne!(k(""), k("a"));
        // Words that fill the packing differently still differ.
        assert_ne!(k("abcdefgh i"), k("abcdefghj"));
        assert_ne!(k("é"), k("e"));
        // A word is mixed as soon as it fills: a key of exactly 8 or 16
        // letters still differs from one a letter longer or shorter, and
        // from the same letters spread over more words.
        assert_eq!(k("abcdefgh"), k("abcd efgh."));
        assert_ne!(k("abcdefgh"), k("abcdefg"));
        assert_ne!(k("abcdefgh"), k("abcdefgha"));
        assert_ne!(k("abcdefghijklmnop"), k("abcdefghijklmno"));
        assert_eq!(k("abcdefghijklmnop"), k("ABCDEFGH-IJKLMNOP"));
        assert_ne!(k("abcdefgé"), k("abcdefge"));
    }

    /// The pairing looks, for each old clause, only at the new lengths
    /// between two binary searches: they must be exactly the lengths that
    /// can reach the threshold, for every threshold the diff uses.
    #[test]
    fn the_length_window_holds_every_length_that_can_reach_and_no_other() {
        let lengths: Vec<usize> = (0..120).chain([150, 200, 400, 1000]).collect();
        for t in [0.0, 0.05, 0.25, 0.3, 0.5, 0.7, 0.8, 0.95, 1.0] {
            for a in (0..300).chain([999, 1000, 1001]) {
                let lo = lengths.partition_point(|&b| b < a && !can_reach(t, a, b));
                let hi = lengths.partition_point(|&b| b <= a || can_reach(t, a, b));
                for (i, &b) in lengths.iter().enumerate() {
                    let needed = words_needed(t, a + b);
                    let exact = a + b == 0 || 2.0 * a.min(b) as f64 >= t * (a + b) as f64;
                    assert_eq!(can_reach(t, a, b), a.min(b) >= needed, "{t} {a} {b}");
                    assert_eq!(can_reach(t, a, b), exact, "{t} {a} {b}");
                    assert_eq!((lo..hi).contains(&i), exact, "{t}: {a} against {b}");
                }
            }
        }
        // `ceil` by hand agrees with the library's.
        for total in 0..500 {
            for t in [0.0, 0.1, 0.25, 0.333, 0.5, 0.75, 1.0] {
                let x = (t * total as f64 / 2.0).ceil() as usize;
                assert_eq!(words_needed(t, total), x, "{t} {total}");
            }
        }
    }

    /// Character by character, as the keys and bags were first written:
    /// the byte paths must give the very same values.
    fn letters_key_by_chars(norm: &str) -> u64 {
        let letters: String = norm
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        LettersHasher::default().finish(letters.as_bytes())
    }

    fn word_bag_by_chars(norm: &str) -> Vec<u64> {
        let mut bag: Vec<u64> = norm
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                w.chars()
                    .flat_map(char::to_lowercase)
                    .fold(0xcbf2_9ce4_8422_2325_u64, |h, c| {
                        (h ^ u64::from(u32::from(c))).wrapping_mul(0x0100_0000_01b3)
                    })
            })
            .collect();
        bag.sort_unstable();
        bag
    }

    #[test]
    fn byte_paths_give_the_character_values() {
        let texts = [
            "",
            "We may share your Data with 3 partners (see 2.1).",
            "abcdefgh i",
            "We’ve updated the Café — 2023 terms, ÉTÉ",
            "İstanbul ǅ ß ﬁ",
            "x",
        ];
        for t in texts {
            assert_eq!(letters_key(t), letters_key_by_chars(t), "{t:?}");
            assert_eq!(word_bag(t), word_bag_by_chars(t), "{t:?}");
        }
        // Letters that fill the hash's chunks at every offset, with
        // characters past ASCII (some lowercasing to two) across the ends.
        for k in 0..80 {
            let t = format!(
                "{} \u{130}x {} \u{c9}t\u{c9} \u{df}",
                "a".repeat(k),
                "b1".repeat(k)
            );
            assert_eq!(letters_key(&t), letters_key_by_chars(&t), "{t:?}");
        }
    }

    #[test]
    fn early_exit_agrees_with_full_score() {
        // More of one word than a sketch's bucket counts.
        let repeated = format!("{} and share", "data ".repeat(300));
        let texts = [
            "we may share your data with our partners",
            "we may share data with partners and advertisers",
            "contact us by mail",
            "the the the data",
            "",
            repeated.as_str(),
        ];
        for a in texts {
            for b in texts {
                let (ba, bb) = (word_bag(a), word_bag(b));
                let full = dice_at_least(&ba, &bb, 0.0).unwrap_or(0.0);
                for min in [0.1, 0.3, 0.5, 0.7, 0.9, 1.0] {
                    let got = dice_at_least(&ba, &bb, min);
                    assert_eq!(got, (full >= min).then_some(full), "{a:?} / {b:?} at {min}");
                    let sketched = Bag::of(a).dice_at_least(&Bag::of(b), min);
                    assert_eq!(sketched, got, "sketched {a:?} / {b:?} at {min}");
                }
            }
        }
        // Multiset: repeated words count as often as they occur on both sides.
        assert_eq!(similarity("the the data", "the data"), 0.8);
        assert_eq!(similarity("Data", "data"), 1.0);
    }
}
