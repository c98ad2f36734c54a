//! Pages that briefly hold the upcoming and the current policy together
//! ("This policy will go into effect on September 29", then the current
//! one). Such a page is stored like any version but not announced: its
//! diff against the current policy reads as the whole upcoming policy
//! added. When the page holds one policy again, the change a follower must
//! hear about is from the policy that was current to the one now shown,
//! not "half the page removed".

use std::collections::HashMap;

use crate::pipeline::clauses::{Clause, ClauseHash};

/// Clauses shorter than this (headings such as "Overview", "Learn more")
/// repeat in any policy and do not count as a second copy.
const MIN_CHARS: usize = 40;
/// Share of a page's clauses (of at least [`MIN_CHARS`]) that occur twice
/// from which the page holds two versions of one policy. The upcoming and
/// the current X policies share most of their clauses; a single policy
/// repeats almost none.
const DOUBLED_SHARE: f64 = 0.3;
/// Clauses a page needs before it is judged at all.
const MIN_CLAUSES: usize = 20;
/// How much larger than the other a doubled page is. Some pages always
/// hold two variants (terms for two regions): between two such pages the
/// change is an ordinary one.
const GROWTH: f64 = 1.6;

/// What a change between two pages is, as far as doubling goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Neither page is a doubling of the other.
    Ordinary,
    /// The new page adds the upcoming policy to the current one.
    Opened,
    /// The old page held two policies; the new one holds one of them.
    Closed,
}

/// How `new` follows `old`.
pub fn transition(old: &[Clause], new: &[Clause]) -> Transition {
    let larger = |a: &[Clause], b: &[Clause]| a.len() as f64 >= GROWTH * b.len() as f64;
    if larger(new, old) && is_doubled(new) {
        Transition::Opened
    } else if larger(old, new) && is_doubled(old) {
        Transition::Closed
    } else {
        Transition::Ordinary
    }
}

/// Whether a page holds two versions of one policy.
pub fn is_doubled(clauses: &[Clause]) -> bool {
    let long: Vec<&Clause> = clauses
        .iter()
        .filter(|c| c.norm().chars().count() >= MIN_CHARS)
        .collect();
    if long.len() < MIN_CLAUSES {
        return false;
    }
    let mut counts: HashMap<ClauseHash, usize> = HashMap::new();
    for c in &long {
        *counts.entry(c.hash).or_default() += 1;
    }
    let repeated = long.iter().filter(|c| counts[&c.hash] > 1).count();
    repeated as f64 >= DOUBLED_SHARE * long.len() as f64
}

/// The policy that was current on a doubled page, once the page shows
/// `new` alone: the old page's clauses less one copy of each clause of
/// `new`, the first one (the upcoming policy comes first on such pages).
/// Clauses are matched on their letters and digits: a doubled page stored
/// with other punctuation or quotes (a cosmetic version) still holds the
/// upcoming policy.
pub fn previous_policy(old: &[Clause], new: &[Clause]) -> Vec<Clause> {
    let letters = |c: &Clause| -> String {
        c.norm()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut wanted: HashMap<String, usize> = HashMap::new();
    for c in new {
        *wanted.entry(letters(c)).or_default() += 1;
    }
    let mut kept = Vec::new();
    for c in old {
        match wanted.get_mut(&letters(c)) {
            Some(n) if *n > 0 => *n -= 1,
            _ => kept.push(c.clone()),
        }
    }
    for (i, c) in kept.iter_mut().enumerate() {
        c.position = i as u32;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clauses::ClauseKind;

    fn clause(text: &str) -> Clause {
        Clause::new(
            0,
            ClauseKind::Paragraph,
            "P".into(),
            text.into(),
            Some(text.to_lowercase()),
            ClauseHash::of(text),
        )
    }

    fn policy(tag: &str, n: usize) -> Vec<Clause> {
        (0..n)
            .map(|i| {
                clause(&format!(
                    "Clause number {i} of the policy, worded at length {tag}."
                ))
            })
            .collect()
    }

    #[test]
    fn a_page_with_two_copies_is_doubled_and_the_current_one_is_recovered() {
        let current = policy("", 30);
        let mut upcoming = current.clone();
        upcoming[3] = clause("We may collect biometric information for safety, based on consent.");
        upcoming.push(clause(
            "We may use what we collect to help train machine learning models.",
        ));
        assert!(!is_doubled(&current));
        let mut page = upcoming.clone();
        page.extend(current.iter().cloned());
        assert!(is_doubled(&page));
        let recovered = previous_policy(&page, &upcoming);
        let texts = |cs: &[Clause]| cs.iter().map(|c| c.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&recovered), texts(&current));
        assert_eq!(transition(&current, &page), Transition::Opened);
        assert_eq!(transition(&page, &upcoming), Transition::Closed);
        // A page that always holds two variants changes as any page does.
        let mut next = page.clone();
        next[0] = clause("A reworded first clause of the upcoming policy, long enough to count.");
        assert_eq!(transition(&page, &next), Transition::Ordinary);
        // Distinct policies or short pages are not doubled.
        let mut two = policy("a", 15);
        two.extend(policy("b", 15));
        assert!(!is_doubled(&two));
        let mut short = policy("", 5);
        short.extend(policy("", 5));
        assert!(!is_doubled(&short));
    }

    #[test]
    fn the_current_policy_is_recovered_from_a_doubled_page_with_other_punctuation() {
        let current = policy("", 30);
        let mut upcoming = current.clone();
        upcoming.push(clause(
            "We may use what we collect to help train machine learning models.",
        ));
        let respaced = |c: &Clause| clause(&c.text.replace(", ", " , ").replace('.', " ."));
        let page: Vec<Clause> = upcoming.iter().chain(&current).map(respaced).collect();
        let recovered = previous_policy(&page, &upcoming);
        assert_eq!(recovered.len(), current.len());
        assert!(recovered
            .iter()
            .all(|c| !c.text.contains("machine learning")));
    }
}
