//! Unit tests on hand-built clause lists. Lines starting with `#` are
//! headings (level = number of `#`), others paragraphs; paths come from the
//! heading stack, as `clauses::split` builds them.

use super::*;
use crate::pipeline::clauses::ClauseKind;

/// Stand-in for `extract::normalize`: what matters here is that two
/// wordings differing only by spacing or quote style get the same norm.
fn norm(text: &str) -> String {
    let t: String = text
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{00A0}' => ' ',
            c => c,
        })
        .filter(|c| *c != '\u{200B}')
        .collect();
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn doc(lines: &[&str]) -> Vec<Clause> {
    let mut stack: Vec<(u8, String)> = Vec::new();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let level = line.chars().take_while(|c| *c == '#').count() as u8;
        let text = line.trim_start_matches('#').trim().to_string();
        let kind = if level > 0 {
            while stack.last().is_some_and(|(l, _)| *l >= level) {
                stack.pop();
            }
            ClauseKind::Heading { level }
        } else {
            ClauseKind::Paragraph
        };
        let path = stack
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" > ");
        if level > 0 {
            stack.push((level, text.clone()));
        }
        let n = norm(&text);
        let hash = crate::pipeline::clauses::ClauseHash::of(&n);
        out.push(Clause::new(i as u32, kind, path, text, Some(n), hash));
    }
    out
}

fn run(old: &[&str], new: &[&str]) -> ChangeSet {
    diff(&doc(old), &doc(new), &DiffOptions::default(), "en")
}

fn kinds(cs: &ChangeSet) -> Vec<ChangeKind> {
    cs.changes.iter().map(|c| c.kind).collect()
}

const BASE: &[&str] = &[
    "# Privacy Policy",
    "## 1. Information we collect",
    "We collect the information you give us when you create an account.",
    "We collect information about how you use the service.",
    "## 2. How we use information",
    "We use information to operate and improve the service.",
    "We use information to keep you safe.",
    "## 3. Sharing",
    "We share information with service providers who work for us.",
];

#[test]
fn identical_versions_have_no_changes() {
    let cs = run(BASE, BASE);
    assert!(cs.is_empty());
    assert!(cs.changes.is_empty());
}

#[test]
fn rewrapped_and_requoted_text_is_not_a_change() {
    let old = [
        "# Terms",
        "You agree to X\u{2019}s \u{201C}rules\u{201D} and  conditions.",
    ];
    let new = [
        "# Terms",
        "You agree to\u{00A0}X's \"rules\"\n and conditions.\u{200B}",
    ];
    let cs = run(&old, &new);
    assert!(cs.changes.is_empty(), "{:?}", cs.changes);
}

#[test]
fn inserted_section_only_adds() {
    let mut new: Vec<&str> = BASE[..4].to_vec();
    new.extend([
        "## 1a. Biometric information",
        "Based on your consent, we may collect and use your biometric information for safety purposes.",
    ]);
    new.extend(&BASE[4..]);
    let cs = run(BASE, &new);
    assert_eq!(kinds(&cs), vec![ChangeKind::Added, ChangeKind::Added]);
    assert_eq!(
        cs.changes[1].path,
        "Privacy Policy > 1a. Biometric information"
    );
    // Heading and paragraph both name biometric information.
    assert_eq!(cs.changes[1].flags, vec!["biometric"]);
    assert_eq!(cs.changes[1].new_position, Some(5));
    assert_eq!(cs.summary.added, 2);
    assert_eq!(
        cs.summary.flags,
        vec![FlagSummary {
            flag: "biometric".into(),
            appeared: true,
            count: 2
        }]
    );
}

#[test]
fn renumbered_heading_is_renamed_and_its_clauses_untouched() {
    let mut new = BASE.to_vec();
    new[7] = "## 4. Sharing";
    let cs = run(BASE, &new);
    assert_eq!(kinds(&cs), vec![ChangeKind::Renamed]);
    let c = &cs.changes[0];
    assert_eq!(c.old.as_deref(), Some("3. Sharing"));
    assert_eq!(c.new.as_deref(), Some("4. Sharing"));
    let del: Vec<&str> = c
        .words
        .iter()
        .filter(|w| w.op == WordOpKind::Delete)
        .map(|w| w.text.trim())
        .collect();
    assert_eq!(del, vec!["3"]);
    assert_eq!(cs.summary.renamed, 1);
}

#[test]
fn moved_clause_to_other_section() {
    let mut new = BASE.to_vec();
    let moved = new.remove(6);
    new.push(moved);
    let cs = run(BASE, &new);
    assert_eq!(kinds(&cs), vec![ChangeKind::Moved]);
    let c = &cs.changes[0];
    assert_eq!(
        c.old_path.as_deref(),
        Some("Privacy Policy > 2. How we use information")
    );
    assert_eq!(c.path, "Privacy Policy > 3. Sharing");
    assert_eq!((c.old_position, c.new_position), (Some(6), Some(8)));
    // Moves alone are not worth a notification.
    assert!(cs.is_empty());
    assert_eq!(cs.summary.moved, 1);
}

#[test]
fn modified_clause_gets_word_runs() {
    let mut new = BASE.to_vec();
    new[8] =
        "We share information with service providers and advertising partners who work for us.";
    let cs = run(BASE, &new);
    assert_eq!(kinds(&cs), vec![ChangeKind::Modified]);
    let c = &cs.changes[0];
    let ins: Vec<&str> = c
        .words
        .iter()
        .filter(|w| w.op == WordOpKind::Insert)
        .map(|w| w.text.trim())
        .collect();
    assert_eq!(ins, vec!["and advertising partners"]);
    assert!(c.words.iter().all(|w| w.op != WordOpKind::Delete));
    assert_eq!(c.flags, vec!["third_parties"]);
    assert!(c.flags_disappeared.is_empty());
}

#[test]
fn duplicates_are_churn_and_moves_count_multiplicity() {
    let old = [
        "# A",
        "Same sentence here.",
        "# B",
        "Same sentence here.",
        "Other text in B.",
    ];
    // One copy removed; the other copy is unchanged, so a reader lost no
    // words.
    let new = ["# A", "Same sentence here.", "# B", "Other text in B."];
    let cs = run(&old, &new);
    assert!(cs.changes.is_empty(), "{:?}", cs.changes);
    // A copy added in a third section while the other two stay: only the
    // new heading is new.
    let new2 = [
        "# A",
        "Same sentence here.",
        "# B",
        "Same sentence here.",
        "Other text in B.",
        "# C",
        "Same sentence here.",
    ];
    let cs = run(&old, &new2);
    assert_eq!(kinds(&cs), vec![ChangeKind::Added]);
    assert_eq!(cs.changes[0].new.as_deref(), Some("C"));
    // Two copies swapping places with a distinct clause: one move, nothing else.
    let new3 = [
        "# A",
        "Same sentence here.",
        "# B",
        "Other text in B.",
        "Same sentence here.",
    ];
    let cs = run(&old, &new3);
    assert_eq!(kinds(&cs), vec![ChangeKind::Moved]);
}

#[test]
fn similarity_threshold_splits_modified_from_add_remove() {
    // Two clauses per side in the gap, so the one-for-one relaxation does
    // not apply and only the threshold decides.
    let old = [
        "# S",
        "We keep your data for thirty days after you delete it.",
        "Write to us at the address below.",
        "# T",
    ];
    let new = [
        "# S",
        "We keep your data for ninety days after you delete it.",
        "Call our office during opening hours.",
        "# T",
    ];
    let cs = run(&old, &new);
    assert_eq!(
        kinds(&cs),
        vec![ChangeKind::Modified, ChangeKind::Removed, ChangeKind::Added]
    );
    assert!(cs.changes[0]
        .old
        .as_deref()
        .is_some_and(|t| t.contains("thirty")));
    let strict = DiffOptions {
        similarity: 0.95,
        ..DiffOptions::default()
    };
    let cs = diff(&doc(&old), &doc(&new), &strict, "en");
    assert_eq!(cs.summary.modified, 0);
    assert_eq!((cs.summary.removed, cs.summary.added), (2, 2));
    let s = align::similarity(doc(&old)[1].norm(), doc(&new)[1].norm());
    assert!(s > 0.5 && s < 0.95, "{s}");
}

#[test]
fn modified_prefers_same_gap_then_global() {
    // The reworded clause moved from section A to section C: no similar
    // clause in its own gap, so the global pass pairs it.
    let old = [
        "# A",
        "Alpha clause stays.",
        "Users may request a copy of their personal data at any time.",
        "# B",
        "Beta clause stays.",
        "# C",
        "Gamma clause stays.",
    ];
    let new = [
        "# A",
        "Alpha clause stays.",
        "# B",
        "Beta clause stays.",
        "# C",
        "Gamma clause stays.",
        "Users may request a copy of their personal data at any time by email.",
    ];
    let cs = run(&old, &new);
    assert_eq!(kinds(&cs), vec![ChangeKind::Modified]);
    assert_eq!(cs.changes[0].path, "C");
}

#[test]
fn json_shape() {
    let mut new = BASE.to_vec();
    new[8] = "We sell information to data brokers.";
    let cs = run(BASE, &new);
    let v = serde_json::to_value(&cs).expect("serializable");
    let c = &v["changes"][0];
    assert!(["added", "removed", "modified"].contains(&c["kind"].as_str().unwrap_or("")));
    assert!(c["path"].is_string());
    assert!(c["words"].is_array());
    assert!(c["flags"].is_array());
    assert!(v["summary"]["sections"][0]["path"].is_string());
    let back: ChangeSet = serde_json::from_value(v).expect("round trip");
    assert_eq!(back.changes.len(), cs.changes.len());
}

#[test]
fn render_marks_deleted_and_inserted() {
    let mut new = BASE.to_vec();
    new[6] = "We use information to keep you and others safe.";
    let cs = run(BASE, &new);
    let plain = render_text(&cs, false);
    assert!(plain.contains("{+and others +}"), "{plain}");
    assert!(
        plain.contains("modified in Privacy Policy > 2. How we use information"),
        "{plain}"
    );
    let colored = render_text(&cs, true);
    assert!(colored.contains("\x1b[32mand others \x1b[0m"), "{colored}");
    assert_eq!(render_text(&run(BASE, BASE), false), "no changes\n");
}

#[test]
fn one_for_one_replacement_in_place_is_modified_even_if_short() {
    let old = [
        "# S",
        "Effective: May 18, 2023",
        "Body text stays the same.",
    ];
    let new = [
        "# S",
        "Effective as of September 29th, 2023",
        "Body text stays the same.",
    ];
    let s = align::similarity(doc(&old)[1].norm(), doc(&new)[1].norm());
    assert!((0.25..0.5).contains(&s), "{s}");
    assert_eq!(kinds(&run(&old, &new)), vec![ChangeKind::Modified]);
    // Two candidates in the gap: no positional hint, the normal threshold applies.
    let new2 = [
        "# S",
        "Effective as of September 29th, 2023",
        "Updated on 1 October",
        "Body text stays the same.",
    ];
    assert_eq!(
        kinds(&run(&old, &new2)),
        vec![ChangeKind::Removed, ChangeKind::Added, ChangeKind::Added]
    );
    // Nothing in common: not paired even one for one.
    let new3 = [
        "# S",
        "Questions? Write to us.",
        "Body text stays the same.",
    ];
    assert_eq!(
        kinds(&run(&old, &new3)),
        vec![ChangeKind::Removed, ChangeKind::Added]
    );
}

#[test]
fn a_table_of_contents_dropped_or_rebuilt_is_not_a_change() {
    let with_toc = [
        "# Privacy Policy",
        "## Table of Contents",
        "Information we collect",
        "Children and minors",
        "## Information we collect",
        "We collect the information you give us when you create an account.",
        "## Children and minors",
        "Our services are not directed to children under 13.",
    ];
    let without: Vec<&str> = with_toc
        .iter()
        .copied()
        .filter(|l| !matches!(*l, "Information we collect" | "Children and minors"))
        .filter(|l| *l != "## Table of Contents")
        .collect();
    let dropped = run(&with_toc, &without);
    // The entries' words still stand as the section headings, the title
    // says nothing, and no topic is flagged as removed.
    assert!(dropped.changes.is_empty(), "{:?}", dropped.changes);
    let rebuilt = run(&without, &with_toc);
    assert!(rebuilt.changes.is_empty(), "{:?}", rebuilt.changes);
    // A real removal next to it is still reported, with its flag.
    let mut gone = without.clone();
    gone.retain(|l| !l.contains("children under 13"));
    let cs = run(&with_toc, &gone);
    assert!(cs.changes.iter().any(|c| c.kind == ChangeKind::Removed
        && c.old.as_deref() == Some("Our services are not directed to children under 13.")
        && c.flags_disappeared.contains(&"children".to_string())));
}

#[test]
fn a_heading_turned_into_a_paragraph_is_not_a_move() {
    let old = ["# Policy", "## Your choices", "You can opt out of ads."];
    let new = ["# Policy", "Your choices", "You can opt out of ads."];
    assert!(run(&old, &new).changes.is_empty());
    assert!(run(&new, &old).changes.is_empty());
    // Elsewhere and turned into a paragraph: still not a move.
    let moved = ["# Policy", "You can opt out of ads.", "Your choices"];
    let cs = run(&old, &moved);
    assert!(
        cs.changes
            .iter()
            .all(|c| c.old.as_deref() != Some("Your choices")),
        "{:?}",
        cs.changes
    );
}

#[test]
fn a_clause_whose_letters_did_not_change_is_not_a_change() {
    let old = [
        "# Privacy Policy",
        "We’ve updated our policy. If you use our services, click here.",
        "Your data is yours.",
        "## Sharing",
        "We share data with partners.",
    ];
    // Apostrophes stripped, a space before a comma, case, Markdown
    // markers and an invisible character; then restored.
    let new = [
        "# PRIVACY POLICY",
        "Weve updated our policy. If you use our services , click here.",
        "**Your** data is \u{2060}yours",
        "## Sharing",
        "We share data with partners.",
    ];
    assert!(
        run(&old, &new).changes.is_empty(),
        "{:?}",
        run(&old, &new).changes
    );
    assert!(run(&new, &old).changes.is_empty());
    // One letter is a change.
    let mut real = new;
    real[2] = "Your data is ours";
    assert_eq!(kinds(&run(&old, &real)), vec![ChangeKind::Modified]);
}
