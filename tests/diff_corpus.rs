//! Clause diff over the whole shared corpus (real Open Terms Archive
//! histories): nothing lost, no noise, consistent summaries; plus the known
//! X privacy-policy change of September 2023 and re-wrapping invariance.

#[path = "diff_corpus/corpus.rs"]
mod corpus;

use std::collections::{BTreeMap, HashMap, HashSet};

use clausewatch::pipeline::clauses::{self, Clause, ClauseKind};
use clausewatch::pipeline::diff::{
    diff, ChangeKind, ChangeSet, DiffOptions, FlagSummary, WordOpKind,
};
use clausewatch::pipeline::extract::{extract_html, extract_markdown, Rules};
use similar::{capture_diff_slices, Algorithm, DiffTag};

fn at(clauses: &[Clause], pos: Option<u32>) -> Option<&Clause> {
    pos.map(|p| &clauses[p as usize])
}

/// A clause's letters and digits, case folded: what the diff compares.
fn letters(c: &Clause) -> String {
    c.norm()
        .chars()
        .filter(|ch| ch.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A clause's words as letters and digits, case folded: a word that only
/// lost a comma or a capital is the same word.
fn words(c: &Clause) -> Vec<String> {
    c.norm()
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|ch| ch.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The clauses no change mentions, on each side, in order.
fn unmentioned<'a>(
    old: &'a [Clause],
    new: &'a [Clause],
    cs: &ChangeSet,
) -> (Vec<&'a Clause>, Vec<&'a Clause>) {
    let old_used: HashSet<u32> = cs.changes.iter().filter_map(|c| c.old_position).collect();
    let new_used: HashSet<u32> = cs.changes.iter().filter_map(|c| c.new_position).collect();
    (
        old.iter()
            .filter(|c| !old_used.contains(&c.position))
            .collect(),
        new.iter()
            .filter(|c| !new_used.contains(&c.position))
            .collect(),
    )
}

/// Churn: the unmentioned clauses that are not unchanged, i.e. what a
/// minimal diff of the two unmentioned sequences (by letters) deletes (old
/// side) and inserts (new side). The diff leaves them out on purpose only
/// when their letters still stand on the other side (a table of contents
/// dropped, a duplicate, a heading turned into a paragraph).
fn churn<'a>(
    old: &'a [Clause],
    new: &'a [Clause],
    cs: &ChangeSet,
) -> (Vec<&'a Clause>, Vec<&'a Clause>) {
    let (o, n) = unmentioned(old, new, cs);
    let ok: Vec<String> = o.iter().map(|c| letters(c)).collect();
    let nk: Vec<String> = n.iter().map(|c| letters(c)).collect();
    let (mut del, mut ins) = (Vec::new(), Vec::new());
    for op in capture_diff_slices(Algorithm::Myers, &ok, &nk) {
        let (tag, or, nr) = op.as_tag_tuple();
        if tag != DiffTag::Equal {
            del.extend(or.map(|i| o[i]));
            ins.extend(nr.map(|i| n[i]));
        }
    }
    (del, ins)
}

/// (a1) Nothing is lost, exactly: the clauses no change mentions are the
/// unchanged ones plus churn whose words stand on the other side (or a
/// table of contents' title). Then
/// old = unchanged + churn + changed-old and new = unchanged + churn +
/// changed-new, i.e. every difference a reader could miss lies inside
/// some change.
fn unchanged_differs(old: &[Clause], new: &[Clause], cs: &ChangeSet) -> Option<String> {
    let (del, ins) = churn(old, new, cs);
    let old_letters: HashSet<String> = old.iter().map(letters).collect();
    let new_letters: HashSet<String> = new.iter().map(letters).collect();
    let navigation = |c: &Clause| {
        matches!(c.kind, ClauseKind::Heading { .. }) && clauses::is_navigation(c.norm())
    };
    let lost = del
        .iter()
        .find(|c| !new_letters.contains(&letters(c)) && !navigation(c))
        .or_else(|| {
            ins.iter()
                .find(|c| !old_letters.contains(&letters(c)) && !navigation(c))
        })?;
    Some(format!(
        "unreported clause #{} whose words are not on the other side: {:?}",
        lost.position, lost.text
    ))
}

/// (a2) Every word a linear word diff (Myers, minimal) of the two texts
/// (clause norms joined) deletes occurs in the old side of some change, and
/// every word it inserts in the new side of some change. A linear diff
/// cannot express a move: when a clause is reordered it shows the clause's
/// words deleted in one place and inserted in another, so a word that the
/// diff both deletes and inserts is excused here (a1 covers it exactly).
fn lost_words(old: &[Clause], new: &[Clause], cs: &ChangeSet) -> (Vec<String>, Vec<String>) {
    let ot: Vec<String> = old.iter().flat_map(words).collect();
    let nt: Vec<String> = new.iter().flat_map(words).collect();
    let mut old_side: HashSet<String> = HashSet::new();
    let mut new_side: HashSet<String> = HashSet::new();
    // Churn's words stand on the other side (checked by a1).
    let (del, ins) = churn(old, new, cs);
    old_side.extend(del.iter().flat_map(|c| words(c)));
    new_side.extend(ins.iter().flat_map(|c| words(c)));
    for c in &cs.changes {
        if let Some(o) = at(old, c.old_position) {
            old_side.extend(words(o));
        }
        if let Some(n) = at(new, c.new_position) {
            new_side.extend(words(n));
        }
    }
    let (mut del, mut ins) = (Vec::new(), Vec::new());
    for op in capture_diff_slices(Algorithm::Myers, &ot, &nt) {
        let (tag, or, nr) = op.as_tag_tuple();
        if matches!(tag, DiffTag::Delete | DiffTag::Replace) {
            del.extend(&ot[or]);
        }
        if matches!(tag, DiffTag::Insert | DiffTag::Replace) {
            ins.extend(&nt[nr]);
        }
    }
    let (del_set, ins_set): (HashSet<&String>, HashSet<&String>) =
        (del.iter().copied().collect(), ins.iter().copied().collect());
    // A word split or joined by a space ("webpage" / "web page") changed no
    // letter: its letters still run on in the other side's text.
    let run_on = |side: &[Clause]| -> String { side.iter().map(letters).collect() };
    let (old_run, new_run) = (run_on(old), run_on(new));
    let lost_del = del.iter().filter(|w| {
        !old_side.contains(**w) && !ins_set.contains(*w) && !new_run.contains(w.as_str())
    });
    let lost_ins = ins.iter().filter(|w| {
        !new_side.contains(**w) && !del_set.contains(*w) && !old_run.contains(w.as_str())
    });
    (
        lost_del.map(|w| w.to_string()).collect(),
        lost_ins.map(|w| w.to_string()).collect(),
    )
}

/// (b) No reported change is noise, moves really are identical, and word
/// runs rebuild both wordings.
fn noise(old: &[Clause], new: &[Clause], cs: &ChangeSet) -> Vec<String> {
    let mut bad = Vec::new();
    let mut added: HashMap<&str, usize> = HashMap::new();
    let mut removed: HashMap<&str, usize> = HashMap::new();
    for c in &cs.changes {
        let (o, n) = (at(old, c.old_position), at(new, c.new_position));
        match (c.kind, o, n) {
            (ChangeKind::Moved, Some(o), Some(n)) if letters(o) == letters(n) => {}
            (ChangeKind::Modified | ChangeKind::Renamed, Some(o), Some(n))
                if o.norm() != n.norm() =>
            {
                // The word runs quote both wordings exactly.
                let side = |skip: WordOpKind| -> String {
                    c.words
                        .iter()
                        .filter(|w| w.op != skip)
                        .map(|w| w.text.as_str())
                        .collect()
                };
                if side(WordOpKind::Insert) != o.text || side(WordOpKind::Delete) != n.text {
                    bad.push(format!(
                        "word runs do not rebuild {:?} -> {:?}",
                        o.text, n.text
                    ));
                }
            }
            (ChangeKind::Added, None, Some(n)) => *added.entry(n.norm()).or_default() += 1,
            (ChangeKind::Removed, Some(o), None) => *removed.entry(o.norm()).or_default() += 1,
            _ => bad.push(format!("{:?} {:?} -> {:?}", c.kind, c.old, c.new)),
        }
    }
    // The same text both added and removed is an unreported move.
    for k in added.keys() {
        if removed.contains_key(k) {
            bad.push(format!("added and removed: {k}"));
        }
    }
    bad
}

/// (c) Summary counts agree with the change list, and both versions'
/// clauses are accounted for.
fn check_summary(old: &[Clause], new: &[Clause], cs: &ChangeSet) -> Result<(), String> {
    let count = |k| cs.changes.iter().filter(|c| c.kind == k).count();
    let s = &cs.summary;
    let got = [s.added, s.removed, s.modified, s.moved, s.renamed];
    use ChangeKind::*;
    let want = [
        count(Added),
        count(Removed),
        count(Modified),
        count(Moved),
        count(Renamed),
    ];
    if got != want {
        return Err(format!("summary {got:?} != changes {want:?}"));
    }
    let per_section: usize = s
        .sections
        .iter()
        .map(|x| x.added + x.removed + x.modified + x.moved + x.renamed)
        .sum();
    if per_section != cs.changes.len() {
        return Err(format!(
            "sections sum {per_section} != {}",
            cs.changes.len()
        ));
    }
    let paired = s.modified + s.renamed + s.moved;
    let (del, ins) = churn(old, new, cs);
    if old.len() - s.removed - paired - del.len() != new.len() - s.added - paired - ins.len() {
        return Err("unchanged clause counts differ between sides".into());
    }
    let mut flags: BTreeMap<(String, bool), usize> = BTreeMap::new();
    for c in &cs.changes {
        for f in &c.flags {
            *flags
                .entry((f.clone(), !c.flags_disappeared.contains(f)))
                .or_default() += 1;
        }
    }
    let mut got: Vec<FlagSummary> = s.flags.clone();
    got.sort_by(|a, b| (&a.flag, a.appeared).cmp(&(&b.flag, b.appeared)));
    let want: Vec<FlagSummary> = flags
        .into_iter()
        .map(|((flag, appeared), count)| FlagSummary {
            flag,
            appeared,
            count,
        })
        .collect();
    if got != want {
        return Err(format!("flag summary {got:?} != {want:?}"));
    }
    Ok(())
}

#[test]
fn whole_corpus_no_loss_no_noise_consistent_summary() {
    let opts = DiffOptions::default();
    let mut failures = Vec::new();
    let mut pairs = 0;
    for doc in corpus::documents() {
        for w in doc.versions.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            pairs += 1;
            let cs = diff(&a.clauses, &b.clauses, &opts, "en");
            let what = format!("{}: {} -> {}", doc.name, a.file, b.file);
            if let Some(e) = unchanged_differs(&a.clauses, &b.clauses, &cs) {
                failures.push(format!("{what}: {e}"));
            }
            let (del, ins) = lost_words(&a.clauses, &b.clauses, &cs);
            if !del.is_empty() || !ins.is_empty() {
                failures.push(format!(
                    "{what}: lost deleted {del:?}, lost inserted {ins:?}"
                ));
            }
            let bad = noise(&a.clauses, &b.clauses, &cs);
            if !bad.is_empty() {
                failures.push(format!("{what}: noise {bad:?}"));
            }
            if let Err(e) = check_summary(&a.clauses, &b.clauses, &cs) {
                failures.push(format!("{what}: {e}"));
            }
        }
    }
    assert!(pairs > 100, "expected the whole corpus, got {pairs} pairs");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn x_privacy_policy_september_2023_additions_are_flagged() {
    let dir = corpus::corpus_dir().join("twitter/privacy-policy");
    let old = corpus::load_version(&dir, "2023-08-24T095329Z.md");
    let new = corpus::load_version(&dir, "2023-09-29T231259Z.md");
    let cs = diff(&old.clauses, &new.clauses, &DiffOptions::default(), "en");
    let expect = [
        ("Biometric Information. Based on your consent", "biometric"),
        ("Job Applications / Recommendations.", "employment"),
        (
            "help train our machine learning or artificial intelligence models",
            "ai_training",
        ),
    ];
    for (needle, flag) in expect {
        // The AI-training sentence was appended to the existing paragraph
        // of section 2.1 (whose "Twitter" also became "X"), so at clause
        // level it is a modified clause whose inserted run is the whole
        // sentence; the other two are new paragraphs.
        let found: Vec<_> = cs
            .changes
            .iter()
            .filter(|c| match c.kind {
                ChangeKind::Added => c.new.as_deref().is_some_and(|t| t.contains(needle)),
                ChangeKind::Modified => c
                    .words
                    .iter()
                    .any(|w| w.op == WordOpKind::Insert && w.text.contains(needle)),
                _ => false,
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one added clause or inserted run quoting {needle:?}"
        );
        let c = found[0];
        if flag != "ai_training" {
            assert_eq!(c.kind, ChangeKind::Added, "{needle:?}");
        }
        assert!(
            c.flags.contains(&flag.to_string()),
            "{needle:?} flags {:?}",
            c.flags
        );
        assert!(c.flags_disappeared.is_empty(), "{needle:?}");
        assert!(!c.path.is_empty(), "{needle:?} has a section path");
        assert!(
            cs.summary
                .flags
                .iter()
                .any(|f| f.flag == flag && f.appeared && f.count >= 1),
            "summary lists {flag}"
        );
    }
    check_summary(&old.clauses, &new.clauses, &cs).unwrap_or_else(|e| panic!("{e}"));
    assert!(!cs.is_empty());
}

fn clauses_of(md: &str) -> Vec<Clause> {
    clauses::split(&extract_markdown(md))
}

#[test]
fn rewrapped_fixture_reports_nothing() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/pipeline/diff/testdata");
    let read = |f: &str| {
        let p = format!("{dir}/{f}");
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {p}: {e}"))
    };
    let old = clauses_of(&read("rewrap-original.md"));
    let new = clauses_of(&read("rewrap-rewrapped.md"));
    assert!(old.len() >= 6, "fixture parsed into {} clauses", old.len());
    let cs = diff(&old, &new, &DiffOptions::default(), "en");
    assert!(
        cs.changes.is_empty(),
        "{}",
        clausewatch::pipeline::diff::render_text(&cs, false)
    );
}

/// Re-wraps long paragraph lines, swaps bullet style, straightens quotes and
/// replaces no-break spaces: presentation only.
fn rewrap(md: &str) -> String {
    let mut out = String::new();
    for line in md.lines() {
        let line = line
            .replace('\u{a0}', " ")
            .replace(['\u{2019}', '\u{2018}'], "'")
            .replace(['\u{201C}', '\u{201D}'], "\"");
        let line = match line.strip_prefix("*   ") {
            Some(rest) => format!("-   {rest}"),
            None => line,
        };
        let plain = line.chars().next().is_some_and(|c| c.is_alphabetic());
        if !plain || line.len() < 100 {
            out.push_str(&line);
            out.push('\n');
            continue;
        }
        // Break before words that start with a lowercase letter only, so a
        // continuation line can never look like a list marker or heading.
        let mut width = 0;
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 {
                if width > 60 && word.chars().next().is_some_and(|c| c.is_lowercase()) {
                    out.push('\n');
                    width = 0;
                } else {
                    out.push(' ');
                }
            }
            out.push_str(word);
            width += word.len() + 1;
        }
        out.push('\n');
    }
    out
}

#[test]
fn rewrapped_corpus_versions_report_nothing() {
    let opts = DiffOptions::default();
    for (doc, file) in [
        ("twitter/privacy-policy", "2023-09-29T231259Z.md"),
        ("google/privacy-policy", "2020-07-29T143020Z.md"),
        ("reddit/privacy-policy", "2020-07-29T133225Z.md"),
    ] {
        let path = corpus::corpus_dir().join(doc).join(file);
        let md =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let re = rewrap(&md);
        assert_ne!(re, md, "{doc}: transformation changed nothing");
        let cs = diff(&clauses_of(&md), &clauses_of(&re), &opts, "en");
        assert!(
            cs.changes.is_empty(),
            "{doc}:\n{}",
            clausewatch::pipeline::diff::render_text(&cs, false)
        );
    }
}

/// The two raw X pages differ by one sentence in section 10 ("authority or"
/// became "authority. If you live in the European Union, you may contact"):
/// extracted from HTML with the declaration's selectors, the diff is that
/// one modified clause and nothing else.
#[test]
fn x_html_snapshots_differ_by_one_modified_clause() {
    let root = corpus::corpus_dir();
    let read = |rel: &str| {
        let p = root.join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let decl: serde_json::Value =
        serde_json::from_str(&read("twitter/declaration.json")).expect("declaration.json is JSON");
    let list = |key: &str| -> Vec<String> {
        decl["terms"]["Privacy Policy"][key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} is an array"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let rules = Rules {
        select: list("select"),
        remove: list("remove"),
        ..Rules::default()
    };
    let load = |stamp: &str| {
        let html = read(&format!("twitter/privacy-policy/snapshots/{stamp}.html"));
        clauses::split(&extract_html(&html, &rules).unwrap_or_else(|e| panic!("{stamp}: {e}")))
    };
    let (old, new) = (load("2026-01-16T005414Z"), load("2026-07-16T005820Z"));
    let cs = diff(&old, &new, &DiffOptions::default(), "en");
    assert_eq!(
        cs.changes.len(),
        1,
        "{}",
        clausewatch::pipeline::diff::render_text(&cs, false)
    );
    let c = &cs.changes[0];
    assert_eq!(c.kind, ChangeKind::Modified);
    assert!(c.path.contains("10"), "section 10, got {:?}", c.path);
    let inserted: String = c
        .words
        .iter()
        .filter(|w| w.op == WordOpKind::Insert)
        .map(|w| w.text.as_str())
        .collect();
    assert!(
        inserted.contains("If you live in the European Union, you may contact"),
        "{inserted:?}"
    );
    check_summary(&old, &new, &cs).unwrap_or_else(|e| panic!("{e}"));
}

/// Google added a table of contents on 2022-03-24: ten of its entries
/// repeat section headings that were already there and its title says
/// nothing, so only the new entry "Introduction" is reported, either way
/// round, and no topic is flagged.
#[test]
fn google_table_of_contents_added_or_dropped_is_churn() {
    let dir = corpus::corpus_dir().join("google/privacy-policy");
    let old = corpus::load_version(&dir, "2022-02-11T003337Z.md");
    let new = corpus::load_version(&dir, "2022-03-24T082822Z.md");
    let texts = |cs: &ChangeSet| -> Vec<(ChangeKind, String)> {
        cs.changes
            .iter()
            .map(|c| (c.kind, c.new.clone().or(c.old.clone()).unwrap_or_default()))
            .collect()
    };
    let added = diff(&old.clauses, &new.clauses, &DiffOptions::default(), "en");
    assert_eq!(
        texts(&added),
        [(ChangeKind::Added, "Introduction".to_string())]
    );
    assert!(added.summary.flags.is_empty(), "{:?}", added.summary.flags);
    let dropped = diff(&new.clauses, &old.clauses, &DiffOptions::default(), "en");
    assert_eq!(
        texts(&dropped),
        [(ChangeKind::Removed, "Introduction".to_string())]
    );
    assert!(
        dropped.summary.flags.is_empty(),
        "{:?}",
        dropped.summary.flags
    );
}
