//! The HTML extractor, applied with Open Terms Archive's own selectors to the
//! raw pages OTA fetched, must produce the same clauses as the Markdown OTA
//! recorded for those pages.

use clausewatch::pipeline::clauses::{split, Clause};
use clausewatch::pipeline::extract::{extract_html, extract_markdown, Rules};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

fn read(rel: &str) -> String {
    let path = format!("{CORPUS}/{rel}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The "Privacy Policy" rules of the twitter declaration.
fn privacy_rules() -> Rules {
    let decl: serde_json::Value =
        serde_json::from_str(&read("twitter/declaration.json")).expect("declaration.json is JSON");
    let doc = &decl["terms"]["Privacy Policy"];
    let strings = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} is an array"))
            .iter()
            .map(|v| v.as_str().expect("selector is a string").to_string())
            .collect()
    };
    Rules {
        select: strings("select"),
        remove: strings("remove"),
        ..Rules::default()
    }
}

fn norms(clauses: &[Clause]) -> Vec<&str> {
    clauses.iter().map(|c| c.norm()).collect()
}

/// Squeezes out what OTA's own pipeline changes in the known spots:
/// spaces and unpaired `**` emphasis markers.
fn squeeze(s: &str) -> String {
    s.replace("**", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn check_snapshot(stamp: &str) {
    let html = read(&format!("twitter/privacy-policy/snapshots/{stamp}.html"));
    let md = read(&format!("twitter/privacy-policy/{stamp}.md"));
    let from_html = split(&extract_html(&html, &privacy_rules()).expect("snapshot extracts"));
    let from_md = split(&extract_markdown(&md));
    assert!(
        from_md.len() > 100,
        "{stamp}: only {} clauses in the Markdown",
        from_md.len()
    );
    assert_eq!(
        norms(&from_html).len(),
        norms(&from_md).len(),
        "{stamp}: clause counts differ:\nhtml: {:#?}\nmd: {:#?}",
        norms(&from_html),
        norms(&from_md)
    );
    let mut differing = Vec::new();
    for (h, m) in from_html.iter().zip(&from_md) {
        assert_eq!(
            (h.kind, &h.path),
            (m.kind, &m.path),
            "{stamp}: structure differs at {:?}",
            h.text
        );
        if h.norm() != m.norm() {
            // Not a wording difference: only spaces and `**` may differ.
            assert_eq!(
                squeeze(h.norm()),
                squeeze(m.norm()),
                "{stamp}: clause {} differs",
                h.position
            );
            differing.push(h.position);
        }
    }
    // Exactly four clauses differ, for reasons outside this extractor:
    // * 52 and 53: the page wraps `<br /> <br />` in `<b>`; turndown turns the
    //   double break into a blank line, which leaves an unpaired `**` at the
    //   end of 52 and after "publishers." in 53. The Markdown extractor drops
    //   such stray markers, so 52 now matches.
    // * 53, 114 and 120: the page separates words with links whose only text
    //   is a space (`in<a> </a><a>Your X Data</a>`); OTA's `removeEmptyLinks`
    //   filter deletes them, gluing "inYour X Data", "informationhere",
    //   "featureshere". We keep the space, as a browser shows it.
    assert_eq!(
        differing,
        [53, 114, 120],
        "{stamp}: unexpected set of differing clauses"
    );
}

#[test]
fn snapshot_2026_07_16_matches_its_markdown_version() {
    check_snapshot("2026-07-16T005820Z");
}

#[test]
fn snapshot_2026_01_16_matches_its_markdown_version() {
    check_snapshot("2026-01-16T005414Z");
}

#[path = "common/corpus.rs"]
#[allow(dead_code)]
mod corpus;

/// Markup a reader should never see in a clause: Markdown headings,
/// emphasis, links and list markers, and HTML tags.
fn markup_in(text: &str) -> Option<&'static str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if text.contains("**") {
        Some("**")
    } else if text.contains("](") {
        Some("](")
    } else if words.iter().any(|w| w.chars().all(|c| c == '#')) {
        Some("#")
    } else if words.contains(&"*") {
        Some("*")
    } else if text.contains("</") || text.contains("<br") || text.contains("<p>") {
        Some("html")
    } else {
        None
    }
}

#[test]
fn corpus_pages_give_clauses_without_markup() {
    let mut leaks = Vec::new();
    for doc in [
        "twitter/privacy-policy",
        "twitter/terms-of-service",
        "google/privacy-policy",
        "reddit/privacy-policy",
    ] {
        for v in corpus::versions(doc) {
            let page = corpus::x_page(&corpus::markdown(doc, &v.file));
            let rules = Rules {
                select: vec!["#twtr-main".into()],
                ..Rules::default()
            };
            let md = corpus::markdown(doc, &v.file);
            let mut clauses = split(&extract_html(&page, &rules).expect("page extracts"));
            clauses.extend(split(&extract_markdown(&md)));
            for c in &clauses {
                if let Some(what) = markup_in(&c.text) {
                    leaks.push(format!(
                        "{doc}/{} #{} {what}: {:.150}",
                        v.file, c.position, c.text
                    ));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} clauses with markup:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
