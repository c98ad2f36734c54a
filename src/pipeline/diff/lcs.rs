//! The patience diff of two sequences of small integer ids, as
//! `similar::capture_diff_slices(Algorithm::Patience, ..)` computes it.
//!
//! The clause alignment and the word diff of every modified clause both
//! run that diff, and in the busiest corpus pair it was nearly half of the
//! whole `diff`: similar's Myers calls a non-inlined prefix comparison
//! through an `Index` impl for every diagonal it tries, allocates two
//! vectors for every gap between unique lines (empty gaps too) and finds
//! unique lines with a SipHash map. The result must stay the very same
//! ops, ties included (which clause of two duplicates is the unchanged
//! one decides what is reported), so this is not another LCS: it makes
//! the same decisions as similar 2.7's patience and Myers, in the same
//! order, and feeds the same hook calls to similar's own `Compact` and
//! `Replace` post-processing, which it reuses as is. The tests compare
//! the hook calls with similar's, call by call.

use similar::algorithms::{Capture, Compact, DiffHook, Replace};
use similar::DiffOp;

/// The ops of `capture_diff_slices(Algorithm::Patience, old, new)`.
/// Ids should be small (they index a table of counts): interned ids are.
pub(crate) fn patience_ops(old: &[u32], new: &[u32]) -> Vec<DiffOp> {
    let mut d = Compact::new(Replace::new(Capture::new()), old, new);
    match patience(&mut d, old, new) {
        Ok(()) => {}
        Err(never) => match never {},
    }
    d.into_inner().into_inner().into_ops()
}

/// Patience diff into `d`: the ids that occur once on each side are
/// matched by Myers; the stretch before each matched pair is then taken
/// forward while it agrees and diffed by Myers, and the rest after the
/// last pair likewise (with `finish`).
fn patience<D: DiffHook>(d: &mut D, old: &[u32], new: &[u32]) -> Result<(), D::Error> {
    let (old_unique, new_unique) = uniques(old, new);
    let old_ids: Vec<u32> = old_unique.iter().map(|&i| old[i]).collect();
    let new_ids: Vec<u32> = new_unique.iter().map(|&i| new[i]).collect();
    let ids = old.iter().chain(new).max().map_or(0, |&m| m as usize + 1);
    let mut myers = Myers {
        marks: vec![0; ids],
        ..Myers::default()
    };
    let mut pairs = UniquePairs(Vec::new());
    if let Err(never) = myers.diff(
        &mut pairs,
        &old_ids,
        0..old_ids.len(),
        &new_ids,
        0..new_ids.len(),
    ) {
        match never {}
    }
    let (mut o, mut n) = (0, 0);
    for (uo, un) in pairs.0 {
        let (oi, ni) = (old_unique[uo], new_unique[un]);
        let (o0, n0) = (o, n);
        while o < oi && n < ni && old[o] == new[n] {
            o += 1;
            n += 1;
        }
        if o > o0 {
            d.equal(o0, n0, o - o0)?;
        }
        myers.diff(d, old, o..oi, new, n..ni)?;
        o = oi;
        n = ni;
    }
    myers.diff(d, old, o..old.len(), new, n..new.len())?;
    d.finish()
}

/// Indexes of the ids that occur exactly once on their side, in order.
fn uniques(old: &[u32], new: &[u32]) -> (Vec<usize>, Vec<usize>) {
    let size = old.iter().chain(new).max().map_or(0, |&m| m as usize + 1);
    // Per id, occurrences capped at 2: only "once" matters.
    let mut counts = vec![0u8; size];
    let mut once = |side: &[u32]| -> Vec<usize> {
        counts.iter_mut().for_each(|c| *c = 0);
        for &id in side {
            let c = &mut counts[id as usize];
            *c = (*c + 1).min(2);
        }
        (0..side.len())
            .filter(|&i| counts[side[i] as usize] == 1)
            .collect()
    };
    (once(old), once(new))
}

/// The matched pairs of unique ids, one by one, as similar's patience
/// reads them (it ignores the outer diff's deletions and insertions).
struct UniquePairs(Vec<(usize, usize)>);

impl DiffHook for UniquePairs {
    type Error = std::convert::Infallible;

    fn equal(&mut self, old: usize, new: usize, len: usize) -> Result<(), Self::Error> {
        self.0.extend((0..len).map(|k| (old + k, new + k)));
        Ok(())
    }
}

/// Myers' divide and conquer by middle snakes, as similar implements it
/// (same snake chosen, same order of calls), with its two frontier
/// vectors kept between calls instead of allocated for each.
///
/// Two stretches with no id in common take no search: the middle snake
/// is then where [`unmatched_middle`] says. A rewritten section is such a
/// stretch (in the busiest corpus pair, 125 old clauses against 153 new
/// ones), and there the search visits every diagonal at every distance:
/// most of the clause alignment's time.
#[derive(Default)]
struct Myers {
    forward: Vec<usize>,
    backward: Vec<usize>,
    /// Added to a diagonal to index the vectors.
    offset: isize,
    /// Per id, the `stamp` of the last stretch it was seen in.
    marks: Vec<u32>,
    stamp: u32,
}

/// Below this many ids in both stretches, searching costs little more
/// than telling whether they share one.
const DISJOINT_CHECK_FROM: usize = 32;

/// The middle snake [`Myers::middle_snake`] finds between stretches of
/// `n` and `m` ids with none in common. Without a match no path ever
/// slides, so the furthest point on diagonal `k` after `d` steps is
/// `x = (d + k) / 2` from either end, and the two searches meet at the
/// first `d` where the forward and backward points of matching
/// diagonals add up to `n`: `d = (n + m + 1) / 2` (forward, when
/// `n - m` is odd) or `(n + m) / 2` (backward, when even), on the
/// highest diagonal the overlap test admits.
fn unmatched_middle(os: Span, ns: Span) -> (usize, usize) {
    let (n, m) = (os.len() as isize, ns.len() as isize);
    let delta = n - m;
    if delta & 1 == 1 {
        let d = (n + m + 1) / 2;
        let k = (delta + d - 1).min(d);
        let x = (d + k) / 2;
        (os.start + x as usize, ns.start + (x - k) as usize)
    } else {
        let d = (n + m) / 2;
        let k = (delta + d).min(d);
        let x = (d + k) / 2;
        (os.start + (n - x) as usize, ns.start + (m - x + k) as usize)
    }
}

/// A range of indexes.
type Span = std::ops::Range<usize>;

fn max_d(n: usize, m: usize) -> usize {
    (n + m).div_ceil(2) + 1
}

fn prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn suffix(a: &[u32], b: &[u32]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

impl Myers {
    /// One Myers diff of `old[os]` against `new[ns]`, without `finish`.
    fn diff<D: DiffHook>(
        &mut self,
        d: &mut D,
        old: &[u32],
        os: Span,
        new: &[u32],
        ns: Span,
    ) -> Result<(), D::Error> {
        if os.is_empty() && ns.is_empty() {
            // Nothing to call the hook with.
            return Ok(());
        }
        let size = max_d(os.len(), ns.len());
        // Zeroed as similar's fresh vectors are, though no diagonal is read
        // before it is written.
        for v in [&mut self.forward, &mut self.backward] {
            v.clear();
            v.resize(2 * size, 0);
        }
        self.offset = size as isize;
        self.conquer(d, old, os, new, ns, false)
    }

    /// Whether `old[os]` and `new[ns]` have no id in common.
    fn disjoint(&mut self, old: &[u32], new: &[u32]) -> bool {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        for &id in old {
            self.marks[id as usize] = self.stamp;
        }
        new.iter().all(|&id| self.marks[id as usize] != self.stamp)
    }

    fn conquer<D: DiffHook>(
        &mut self,
        d: &mut D,
        old: &[u32],
        mut os: Span,
        new: &[u32],
        mut ns: Span,
        // Known to share no id (then neither do their parts).
        mut disjoint: bool,
    ) -> Result<(), D::Error> {
        let head = prefix(&old[os.clone()], &new[ns.clone()]);
        if head > 0 {
            d.equal(os.start, ns.start, head)?;
        }
        os.start += head;
        ns.start += head;
        let tail = suffix(&old[os.clone()], &new[ns.clone()]);
        os.end -= tail;
        ns.end -= tail;
        if os.is_empty() && ns.is_empty() {
        } else if ns.is_empty() {
            d.delete(os.start, os.len(), ns.start)?;
        } else if os.is_empty() {
            d.insert(os.start, ns.start, ns.len())?;
        } else if let Some((x, y)) = {
            disjoint = disjoint
                || (os.len() + ns.len() >= DISJOINT_CHECK_FROM
                    && self.disjoint(&old[os.clone()], &new[ns.clone()]));
            if disjoint {
                Some(unmatched_middle(os.clone(), ns.clone()))
            } else {
                self.middle_snake(old, os.clone(), new, ns.clone())
            }
        } {
            self.conquer(d, old, os.start..x, new, ns.start..y, disjoint)?;
            self.conquer(d, old, x..os.end, new, y..ns.end, disjoint)?;
        } else {
            d.delete(os.start, os.len(), ns.start)?;
            d.insert(os.start, ns.start, ns.len())?;
        }
        if tail > 0 {
            d.equal(os.end, ns.end, tail)?;
        }
        Ok(())
    }

    /// Where the middle snake of an optimal path starts, searching from
    /// both corners at once; diagonals from the highest down, forward
    /// before backward, ties to the diagonal above, as similar does.
    fn middle_snake(
        &mut self,
        old: &[u32],
        os: Span,
        new: &[u32],
        ns: Span,
    ) -> Option<(usize, usize)> {
        let (old, new) = (&old[os.clone()], &new[ns.clone()]);
        let (n, m) = (old.len(), new.len());
        let delta = n as isize - m as isize;
        let odd = delta & 1 == 1;
        let offset = self.offset;
        let (vf, vb) = (&mut self.forward[..], &mut self.backward[..]);
        let at = |k: isize| (k + offset) as usize;
        vf[at(1)] = 0;
        vb[at(1)] = 0;
        // Snakes compared in place: a call per diagonal, as in similar,
        // was most of the cost where most diagonals have no match.
        for d in 0..max_d(n, m) as isize {
            let mut k = d;
            while k >= -d {
                let c = at(k);
                let mut x = if k == -d || (k != d && vf[c - 1] < vf[c + 1]) {
                    vf[c + 1]
                } else {
                    vf[c - 1] + 1
                };
                let (x0, y0) = (x, (x as isize - k) as usize);
                let mut y = y0;
                while x < n && y < m && old[x] == new[y] {
                    x += 1;
                    y += 1;
                }
                vf[c] = x;
                if odd && (k - delta).abs() < d && x + vb[at(delta - k)] >= n {
                    return Some((x0 + os.start, y0 + ns.start));
                }
                k -= 2;
            }
            let mut k = d;
            while k >= -d {
                let c = at(k);
                let mut x = if k == -d || (k != d && vb[c - 1] < vb[c + 1]) {
                    vb[c + 1]
                } else {
                    vb[c - 1] + 1
                };
                let mut y = (x as isize - k) as usize;
                while x < n && y < m && old[n - 1 - x] == new[m - 1 - y] {
                    x += 1;
                    y += 1;
                }
                vb[c] = x;
                if !odd && (k - delta).abs() <= d && x + vf[at(delta - k)] >= n {
                    return Some((n - x + os.start, m - y + ns.start));
                }
                k -= 2;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use similar::{capture_diff_slices, Algorithm};

    /// Every hook call, in order.
    #[derive(Default, Debug, PartialEq)]
    struct Calls(Vec<(char, usize, usize, usize)>);

    impl DiffHook for Calls {
        type Error = std::convert::Infallible;
        fn equal(&mut self, o: usize, n: usize, len: usize) -> Result<(), Self::Error> {
            self.0.push(('=', o, n, len));
            Ok(())
        }
        fn delete(&mut self, o: usize, len: usize, n: usize) -> Result<(), Self::Error> {
            self.0.push(('-', o, len, n));
            Ok(())
        }
        fn insert(&mut self, o: usize, n: usize, len: usize) -> Result<(), Self::Error> {
            self.0.push(('+', o, n, len));
            Ok(())
        }
        fn replace(&mut self, o: usize, ol: usize, n: usize, nl: usize) -> Result<(), Self::Error> {
            self.0.push(('~', o, ol, n * 100_000 + nl));
            Ok(())
        }
        fn finish(&mut self) -> Result<(), Self::Error> {
            self.0.push(('.', 0, 0, 0));
            Ok(())
        }
    }

    /// Same hook calls as similar's patience, and the same final ops.
    pub(crate) fn assert_same_as_similar(old: &[u32], new: &[u32]) {
        let mut theirs = Calls::default();
        similar::algorithms::patience::diff(&mut theirs, old, 0..old.len(), new, 0..new.len())
            .unwrap();
        let mut ours = Calls::default();
        patience(&mut ours, old, new).unwrap();
        assert_eq!(ours, theirs, "hook calls for {old:?} / {new:?}");
        assert_eq!(
            patience_ops(old, new),
            capture_diff_slices(Algorithm::Patience, old, new),
            "ops for {old:?} / {new:?}"
        );
    }

    /// A small xorshift: the cases must be the same on every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    #[test]
    fn same_calls_as_similar_on_generated_sequences() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for case in 0..20_000 {
            // Few distinct ids make duplicates, ties and few unique lines;
            // many make long unique runs.
            let alphabet = [2, 3, 5, 8, 20, 100][case % 6];
            let len = |rng: &mut Rng| rng.below(40) as usize;
            let old: Vec<u32> = (0..len(&mut rng))
                .map(|_| rng.below(alphabet) as u32)
                .collect();
            // Half the cases: the new side an edit of the old one.
            let new: Vec<u32> = if case % 2 == 0 {
                (0..len(&mut rng))
                    .map(|_| rng.below(alphabet) as u32)
                    .collect()
            } else {
                let mut new = Vec::new();
                for &id in &old {
                    match rng.below(6) {
                        0 => {}
                        1 => new.push(rng.below(alphabet) as u32),
                        2 => {
                            new.push(id);
                            new.push(rng.below(alphabet) as u32);
                        }
                        _ => new.push(id),
                    }
                }
                new
            };
            assert_same_as_similar(&old, &new);
        }
        // No id in common, every pair of sizes: the middle snake is
        // computed, not searched, past the smallest.
        for n in 0..70u32 {
            for m in 0..70u32 {
                let old: Vec<u32> = (0..n).collect();
                let new: Vec<u32> = (1000..1000 + m).collect();
                assert_same_as_similar(&old, &new);
                // Around one shared id, the two sides of it unmatched.
                let mut old: Vec<u32> = (0..n).collect();
                old.insert(old.len() / 3, 999);
                let mut new: Vec<u32> = (1000..1000 + m).collect();
                new.insert(new.len() * 2 / 3, 999);
                assert_same_as_similar(&old, &new);
            }
        }
        assert_same_as_similar(&[], &[]);
        assert_same_as_similar(&[1, 2, 3], &[]);
        assert_same_as_similar(&[], &[1, 2, 3]);
        // Long sequences, one big rewrite in the middle.
        let old: Vec<u32> = (0..400).map(|i| if i % 7 == 0 { 1 } else { i }).collect();
        let new: Vec<u32> = (0..450)
            .map(|i| {
                if (150..300).contains(&i) {
                    1000 + i % 13
                } else {
                    i
                }
            })
            .collect();
        assert_same_as_similar(&old, &new);
    }

    /// Small dense ids, as the diff interns its keys and tokens.
    fn interner<T: std::hash::Hash + Eq>() -> impl FnMut(T) -> u32 {
        let mut ids = std::collections::HashMap::new();
        move |t| {
            let next = ids.len() as u32;
            *ids.entry(t).or_insert(next)
        }
    }

    #[test]
    fn same_calls_as_similar_on_the_corpus() {
        use crate::pipeline::clauses::{self, ClauseKind};
        let root =
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
        let mut dirs = vec![root];
        let mut compared = 0;
        while let Some(dir) = dirs.pop() {
            let mut versions = Vec::new();
            for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "md") {
                    versions.push(p);
                }
            }
            versions.sort();
            let texts: Vec<String> = versions
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect();
            for w in texts.windows(2) {
                // Clause keys as the alignment diffs them (of the original
                // wording: the sequences are what matters here).
                let mut id = interner();
                let mut keys = |md: &str| -> Vec<u32> {
                    clauses::split(&crate::pipeline::extract::extract_markdown(md))
                        .iter()
                        .map(|c| {
                            id((
                                matches!(c.kind, ClauseKind::Heading { .. }),
                                super::super::align::letters_key(&c.text),
                            ))
                        })
                        .collect()
                };
                let (old, new) = (keys(&w[0]), keys(&w[1]));
                assert_same_as_similar(&old, &new);
                // Words of the lines that differ at the same place, as
                // reworded clauses are diffed.
                for (a, b) in w[0].lines().zip(w[1].lines()).filter(|(a, b)| a != b) {
                    let mut id = interner();
                    let old: Vec<u32> = a.split_whitespace().map(&mut id).collect();
                    let new: Vec<u32> = b.split_whitespace().map(&mut id).collect();
                    assert_same_as_similar(&old, &new);
                }
                compared += 1;
            }
        }
        assert!(compared > 100, "{compared} corpus pairs");
    }
}
