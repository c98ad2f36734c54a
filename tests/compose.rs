//! Thread composition over the real corpus: every post within the instance
//! limit as Mastodon counts it, numbering consistent, the overview of the X
//! privacy policy change of September 2023 naming its watched topics, French
//! templates, and long clauses split at sentence boundaries.

#[allow(dead_code)]
#[path = "diff_corpus/corpus.rs"]
mod corpus;

use chrono::{TimeZone, Utc};
use clausewatch::announce::compose::{compose_thread, ComposeOptions, Post, ThreadInput};
use clausewatch::announce::count::status_length;
use clausewatch::pipeline::clauses::Clause;
use clausewatch::pipeline::diff::{
    diff, Change, ChangeKind, ChangeSet, DiffOptions, Summary, WatchTerms,
};

const X_URL: &str = "https://x.com/en/privacy";

fn diff_en(old: &[Clause], new: &[Clause]) -> ChangeSet {
    let opts = DiffOptions {
        similarity: 0.5,
        watch_terms: WatchTerms::defaults(),
    };
    diff(old, new, &opts, "en")
}

fn x_2023() -> ChangeSet {
    let dir = corpus::corpus_dir().join("twitter/privacy-policy");
    let old = corpus::load_version(&dir, "2023-08-24T095329Z.md");
    let new = corpus::load_version(&dir, "2023-09-29T231259Z.md");
    diff_en(&old.clauses, &new.clauses)
}

fn input<'a>(changes: &'a ChangeSet, language: &'a str) -> ThreadInput<'a> {
    ThreadInput {
        service: "X",
        document_name: "Privacy Policy",
        document_id: "twitter/privacy-policy",
        url: X_URL,
        language,
        changes,
        version: 15,
        previous_version: Some(14),
        seen_at: Utc
            .with_ymd_and_hms(2023, 9, 29, 23, 12, 59)
            .single()
            .expect("valid date"),
    }
}

fn options(max_chars: usize) -> ComposeOptions {
    ComposeOptions {
        max_chars,
        chars_per_url: 23,
        spoiler: Some("Privacy policy change".into()),
        hashtags: vec!["privacy".into(), "clausewatch".into()],
        max_posts: 10,
        more_url: Some("https://clausewatch.example/x/privacy-policy/15".into()),
        ..ComposeOptions::default()
    }
}

/// Every post within the limit (text and warning, counted as the server
/// does), not empty beyond its number, numbered `i/n` with `n` the thread
/// length, in the document language. Returns the bodies without numbers.
fn check_thread(thread: &[Post], opts: &ComposeOptions, what: &str) -> Vec<String> {
    assert!(!thread.is_empty(), "{what}: empty thread");
    assert!(
        thread.len() <= opts.max_posts,
        "{what}: {} posts > {}",
        thread.len(),
        opts.max_posts
    );
    let n = thread.len();
    let mut bodies = Vec::new();
    for (i, p) in thread.iter().enumerate() {
        let len = status_length(&p.text, p.spoiler.as_deref(), opts.chars_per_url);
        assert!(
            len <= opts.max_chars,
            "{what}: post {} counts {len} > {}:\n{}",
            i + 1,
            opts.max_chars,
            p.text
        );
        assert_eq!(p.spoiler, opts.spoiler, "{what}: warning on every post");
        let number = format!("{}/{n} ", i + 1);
        let body = p.text.strip_prefix(&number).unwrap_or_else(|| {
            panic!("{what}: post {} not numbered {number:?}: {}", i + 1, p.text)
        });
        assert!(
            !body.trim().is_empty(),
            "{what}: post {} has no content",
            i + 1
        );
        bodies.push(body.to_string());
    }
    bodies
}

fn listed(cs: &ChangeSet) -> usize {
    cs.changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Moved)
        .count()
}

#[test]
fn x_2023_thread_at_500() {
    let cs = x_2023();
    let opts = options(500);
    let thread = compose_thread(&input(&cs, "en"), &opts);
    for p in &thread {
        println!("--- ({})\n{}", p.language, p.text);
    }
    let bodies = check_thread(&thread, &opts, "X 2023 at 500");
    assert!(thread.iter().all(|p| p.language == "en"));

    let first = bodies[0].to_lowercase();
    assert!(first.contains("x updated its privacy policy"), "{first}");
    assert!(
        first.contains("biometric information") || first.contains("biometric data"),
        "{first}"
    );
    assert!(
        first.contains("job") || first.contains("employment data"),
        "{first}"
    );
    assert!(
        first.contains("machine learning") || first.contains("train ai models"),
        "{first}"
    );
    assert!(first.contains(X_URL), "post 1 links the page: {first}");
    assert!(
        first.trim_end().ends_with("#privacy #clausewatch"),
        "post 1 ends with hashtags: {first}"
    );
    let s = &cs.summary;
    assert!(
        first.contains(&format!("{} clause", s.added)),
        "added count in {first}"
    );

    // The thread is capped; the last post then says how many changes are
    // missing and where to read them.
    let detail_capacity = opts.max_posts - 1;
    let last = bodies.last().expect("non-empty");
    if thread.len() == opts.max_posts && listed(&cs) > detail_capacity {
        assert!(
            last.contains("https://clausewatch.example/x/privacy-policy/15"),
            "{last}"
        );
        let n: usize = last
            .split_whitespace()
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("omitted count first: {last}"));
        assert!(n > 0 && n <= listed(&cs), "{n} of {}", listed(&cs));
    }
}

#[test]
fn x_2023_thread_in_french() {
    let cs = x_2023();
    let opts = options(500);
    let thread = compose_thread(&input(&cs, "fr"), &opts);
    for p in &thread {
        println!("--- ({})\n{}", p.language, p.text);
    }
    let bodies = check_thread(&thread, &opts, "X 2023 fr");
    assert!(thread.iter().all(|p| p.language == "fr"));
    let first = &bodies[0];
    assert!(
        first.contains("a mis à jour sa page « Privacy Policy »"),
        "{first}"
    );
    assert!(first.contains("clauses ajoutées"), "{first}");
    assert!(first.contains("Partout : Twitter → X"), "{first}");
    // French phrase lists on this English text find the English "machine
    // learning" only; a French policy is matched with its own words.
    assert!(
        first
            .contains("X peut désormais utiliser vos informations pour entraîner des modèles d’IA"),
        "{first}"
    );
    let details = bodies[1..].join("\n");
    assert!(details.contains("Section : "), "{details}");
    assert!(
        details.contains("Ajouté :") || details.contains("Supprimé :"),
        "{details}"
    );
    assert!(
        details.contains("Reformulé : «") && details.contains("[+ "),
        "{details}"
    );
    assert!(
        !details.contains("Added:") && !details.contains("was:"),
        "no English template: {details}"
    );
}

#[test]
fn every_corpus_pair_within_limits() {
    let mut threads = 0;
    for doc in corpus::documents() {
        for pair in doc.versions.windows(2) {
            let cs = diff_en(&pair[0].clauses, &pair[1].clauses);
            let what = format!("{} {} -> {}", doc.name, pair[0].file, pair[1].file);
            for limit in [300, 500, 1000] {
                let opts = options(limit);
                let thread = compose_thread(&input(&cs, "en"), &opts);
                let bodies = check_thread(&thread, &opts, &format!("{what} at {limit}"));
                // Deterministic.
                assert_eq!(thread, compose_thread(&input(&cs, "en"), &opts), "{what}");
                // A change is quoted in a detail post, or in post 1 when
                // the whole change fits there, or told by the renames line.
                if listed(&cs) > 0 {
                    let quoted = ["Added: «", "Removed: «", "Reworded:", "Heading renamed:"]
                        .iter()
                        .any(|l| bodies[0].contains(l));
                    assert!(
                        bodies.len() >= 2 || quoted || bodies[0].contains("Throughout: "),
                        "{what} at {limit}: changes but none shown: {}",
                        bodies[0]
                    );
                }
                threads += 1;
            }
        }
    }
    assert!(threads > 300, "only {threads} threads composed");
}

fn one_change(kind: ChangeKind, old: Option<String>, new: Option<String>) -> ChangeSet {
    let mut summary = Summary::default();
    match kind {
        ChangeKind::Added => summary.added = 1,
        _ => summary.removed = 1,
    }
    ChangeSet {
        summary,
        changes: vec![Change {
            kind,
            path: "Terms > Use of data".into(),
            old,
            new,
            words: Vec::new(),
            flags: Vec::new(),
            flags_disappeared: Vec::new(),
            old_position: None,
            new_position: Some(3),
            old_path: None,
        }],
    }
}

/// A 3,000-character clause of sentences of varied length; every piece but
/// the last ends at a sentence end, marked as continued.
#[test]
fn long_clause_split_at_sentences() {
    let mut clause = String::new();
    let mut i = 0;
    while clause.chars().count() < 3000 {
        i += 1;
        let words = 6 + (i * 7) % 19;
        let sentence: Vec<String> = (0..words)
            .map(|w| format!("word{}", (i * 31 + w) % 97))
            .collect();
        clause.push_str(&format!("Sentence {i} says {}. ", sentence.join(" ")));
    }
    let clause = clause.trim().to_string();
    let cs = one_change(ChangeKind::Added, None, Some(clause.clone()));
    for limit in [300, 500, 1000] {
        let mut opts = options(limit);
        opts.max_posts = 40;
        let thread = compose_thread(&input(&cs, "en"), &opts);
        let bodies = check_thread(&thread, &opts, &format!("long clause at {limit}"));
        let pieces = &bodies[1..];
        assert!(
            pieces.len() >= 3000 / limit,
            "{} pieces at {limit}",
            pieces.len()
        );
        for (k, p) in pieces.iter().enumerate() {
            if k > 0 {
                assert!(p.starts_with("(continued)\n"), "continuation marked: {p}");
            }
            if k + 1 < pieces.len() {
                let head = p
                    .strip_suffix(" …")
                    .unwrap_or_else(|| panic!("cut marked: {p}"));
                assert!(
                    head.ends_with('.'),
                    "piece {k} at {limit} ends mid-sentence: {p}"
                );
            }
        }
        // Nothing lost: the sentences come back in order.
        let rebuilt: Vec<&str> = pieces
            .iter()
            .map(|p| p.trim_start_matches("(continued)\n").trim_end_matches(" …"))
            .collect();
        let rebuilt = rebuilt.join(" ");
        let quoted = rebuilt
            .split_once('«')
            .map(|(_, q)| q.trim_end_matches('»'))
            .unwrap_or("");
        assert_eq!(quoted, clause, "at {limit}");
    }
}

/// A single word longer than a post is the only case cut mid-word.
#[test]
fn word_longer_than_a_post() {
    let word = "a".repeat(700);
    let cs = one_change(
        ChangeKind::Removed,
        Some(format!("Short start. {word} end.")),
        None,
    );
    let opts = options(300);
    let thread = compose_thread(&input(&cs, "en"), &opts);
    let bodies = check_thread(&thread, &opts, "long word");
    assert!(bodies.len() >= 4, "{bodies:?}");
    assert!(
        bodies[1].contains("Removed: «Short start."),
        "{}",
        bodies[1]
    );
}

/// With few posts allowed, the last one counts what was left out and links
/// `more_url`, and the count matches what the thread does show (clauses
/// whose only edits are the renames are told in post 1, not counted).
#[test]
fn truncated_thread_points_to_the_rest() {
    let cs = x_2023();
    let mut opts = options(300);
    opts.max_posts = 3;
    let thread = compose_thread(&input(&cs, "en"), &opts);
    let bodies = check_thread(&thread, &opts, "truncated");
    assert_eq!(bodies.len(), 3);
    let last = &bodies[2];
    assert!(
        last.contains("more change") && last.contains("https://clausewatch.example/"),
        "{last}"
    );
    let shown = bodies[1].matches("Section: ").count();
    let n: usize = last
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .expect("count first");
    assert!(
        n > 0 && n + shown < listed(&cs),
        "{n} omitted, {shown} shown of {}",
        listed(&cs)
    );

    // Without more_url the reply command that answers with the changes is
    // named; the policy page itself is never where "the rest" is.
    opts.more_url = None;
    let thread = compose_thread(&input(&cs, "en"), &opts);
    assert!(
        thread[2]
            .text
            .contains("Reply “diff twitter/privacy-policy 14 15”"),
        "{}",
        thread[2].text
    );
    assert!(!thread[2].text.contains(X_URL), "{}", thread[2].text);
}
