//! The replay shared by `benches/replay.rs` (which prints its report) and
//! `tests/replay.rs` (which asserts on it): every recorded version of a
//! corpus history served in turn as an HTML page on 127.0.0.1 and checked
//! through the real `Checker` (changes confirmed at once), with what a
//! follower would read, and the noise labels of
//! `tests/fixtures/replay/labels.tsv`.
//!
//! Include with `#[path]` beside `server.rs` and `corpus.rs` (it names them
//! as `crate::server` and `crate::corpus`).

use std::collections::BTreeMap;

use clausewatch::announce::Announce;
use clausewatch::config::Config;
use clausewatch::pipeline::diff::{ChangeKind, ChangeSet, WordOpKind};
use clausewatch::store::{Store, ThreadView};
use clausewatch::watch::check::Checker;
use clausewatch::watch::decide::Verdict;

use crate::corpus;
use crate::server::{Reply, TestServer};

pub const DOCUMENTS: &[&str] = &[
    "twitter/privacy-policy",
    "twitter/terms-of-service",
    "google/privacy-policy",
    "reddit/privacy-policy",
];

/// What a recorded version is, as labelled in the fixture (or, when not
/// listed, from Open Terms Archive's commit subject).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// The first record of a history: nothing to compare with.
    First,
    /// A change of the policy a follower should hear about.
    Real,
    /// OTA changed its extraction (`Refilter …`, `Apply technical …`).
    Refilter,
    /// The page briefly held the upcoming and the current policy, or came
    /// back from that to one policy.
    Doubling,
    /// Back to an earlier version's text.
    Revert,
    /// Only case, spacing, punctuation, quotes or markup changed.
    Cosmetic,
    /// Only a clause whose exact text already stands on the other side was
    /// added or removed (a button label repeated, a table of contents).
    Churn,
}

impl Label {
    pub fn is_noise(self) -> bool {
        !matches!(self, Label::First | Label::Real)
    }

    fn parse(s: &str) -> Option<Label> {
        Some(match s {
            "first" => Label::First,
            "real" => Label::Real,
            "refilter" => Label::Refilter,
            "doubling" => Label::Doubling,
            "revert" => Label::Revert,
            "cosmetic" => Label::Cosmetic,
            "churn" => Label::Churn,
            _ => return None,
        })
    }
}

/// `document → file → label` from `tests/fixtures/replay/labels.tsv`.
pub fn labels() -> BTreeMap<(String, String), Label> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/labels.tsv");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let label = cols.get(2).and_then(|l| Label::parse(l.trim()));
        match (cols.first(), cols.get(1), label) {
            (Some(doc), Some(file), Some(label)) => {
                out.insert((doc.trim().to_string(), file.trim().to_string()), label);
            }
            _ => panic!(
                "{}:{}: expected DOCUMENT<TAB>FILE<TAB>LABEL[<TAB>NOTE], LABEL one of first, real, refilter, doubling, revert, cosmetic, churn: {line:?}",
                path.display(),
                n + 1
            ),
        }
    }
    out
}

/// The label of one version: the fixture's, else what OTA's commit
/// subject says.
pub fn label_of(
    labels: &BTreeMap<(String, String), Label>,
    doc: &str,
    v: &corpus::Version,
) -> Label {
    if let Some(l) = labels.get(&(doc.to_string(), v.file.clone())) {
        return *l;
    }
    if v.subject.starts_with("Start tracking") {
        Label::First
    } else if v.subject.starts_with("Refilter") || v.subject.starts_with("Apply technical") {
        Label::Refilter
    } else {
        Label::Real
    }
}

/// One recorded version as the checker met it.
#[derive(Debug)]
pub struct Step {
    pub file: String,
    pub label: Label,
    pub verdict: Verdict,
    pub cosmetic: bool,
    /// The posts of the thread announcing it, if one was queued.
    pub thread: Option<Vec<String>>,
}

#[derive(Default, Debug, Clone)]
pub struct Report {
    pub versions: usize,
    pub new_versions: usize,
    pub cosmetic: usize,
    pub threads: usize,
    pub posts: usize,
    pub noise_threads: usize,
    pub noise_records: usize,
    pub real_records: usize,
    pub real_announced: usize,
    pub both_ways: usize,
    pub markdown_leaks: usize,
    pub toc_sections: usize,
    pub words_read: usize,
    pub words_changed: usize,
}

impl Report {
    pub fn add(&mut self, r: &Report) {
        self.versions += r.versions;
        self.new_versions += r.new_versions;
        self.cosmetic += r.cosmetic;
        self.threads += r.threads;
        self.posts += r.posts;
        self.noise_threads += r.noise_threads;
        self.noise_records += r.noise_records;
        self.real_records += r.real_records;
        self.real_announced += r.real_announced;
        self.both_ways += r.both_ways;
        self.markdown_leaks += r.markdown_leaks;
        self.toc_sections += r.toc_sections;
        self.words_read += r.words_read;
        self.words_changed += r.words_changed;
    }
}

pub struct Replayed {
    pub steps: Vec<Step>,
    pub threads: Vec<ThreadView>,
    pub report: Report,
}

pub fn words_changed(cs: &ChangeSet) -> usize {
    cs.changes
        .iter()
        .map(|c| match c.kind {
            ChangeKind::Added => c.new.as_deref().unwrap_or("").split_whitespace().count(),
            ChangeKind::Removed => c.old.as_deref().unwrap_or("").split_whitespace().count(),
            ChangeKind::Modified | ChangeKind::Renamed => c
                .words
                .iter()
                .filter(|w| w.op != WordOpKind::Equal)
                .map(|w| w.text.split_whitespace().count().max(1))
                .sum(),
            ChangeKind::Moved => 0,
        })
        .sum()
}

/// Markdown or HTML that should never reach a post.
pub fn leaks_markup(text: &str) -> bool {
    text.contains("**")
        || text.contains("](#")
        || text.contains("](http")
        || text.lines().any(|l| {
            let body = l
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '/')
                .trim();
            body.starts_with("# ") || body.starts_with("## ") || body.starts_with("### ")
        })
        || text.contains("<p>")
        || text.contains("</")
}

/// The topic lines of a first post name one topic as new and as removed
/// (English and French labels).
pub fn both_ways(first_post: &str) -> bool {
    let topics = |markers: &[&str]| -> Vec<String> {
        first_post
            .lines()
            .filter_map(|l| {
                markers.iter().find_map(|m| {
                    l.strip_prefix(m)
                        .or_else(|| l.find(m).map(|i| &l[i + m.len()..]))
                })
            })
            .flat_map(|rest| {
                rest.trim_end_matches('.')
                    .split(';')
                    .map(|w| w.trim().to_lowercase())
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let new = topics(&["New text about: ", "Nouveau texte sur : "]);
    let removed = topics(&["Text removed about: ", "Texte supprimé sur : "]);
    new.iter().any(|t| removed.contains(t))
}

/// Replays one history through a fresh database and checker.
pub async fn replay(doc: &str, server: &TestServer) -> Replayed {
    let labels = labels();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = format!("/{}", doc.replace('/', "-"));
    let service = match doc.split('/').next().unwrap_or("") {
        "twitter" => "X",
        "google" => "Google",
        "reddit" => "Reddit",
        other => other,
    };
    let name = if doc.ends_with("terms-of-service") {
        "Terms of Service"
    } else {
        "Privacy Policy"
    };
    let toml = format!(
        "[defaults]\nper_host_delay = \"0s\"\nretries = 0\njitter = \"0s\"\nconfirm_after = \"0s\"\n\
         min_chars = 100\n\n[storage]\npath = \"{}\"\n\n[[documents]]\nid = \"{}\"\nname = \"{service} {name}\"\n\
         service = \"{service}\"\nurl = \"{}\"\nselect = \"#twtr-main\"\n",
        dir.path().join("replay.db").display(),
        doc.replace('/', "-"),
        server.url(&path)
    );
    let config = Config::parse(&dir.path().join("bot.toml"), &toml).expect("replay config");
    let store = Store::open(&config.storage.path).await.expect("database");
    let checker =
        Checker::new(&config, store.clone(), Announce::from_config(&config)).expect("checker");
    let document = config.documents[0].clone();
    let mut r = Report::default();
    let mut steps = Vec::new();
    let mut by_version: BTreeMap<i64, usize> = BTreeMap::new();
    for v in corpus::versions(doc) {
        r.versions += 1;
        let label = label_of(&labels, doc, &v);
        let page = corpus::x_page(&corpus::markdown(doc, &v.file));
        server.set_route(&path, vec![Reply::html(&page)]);
        let outcome = checker.check(&document).await.expect("check recorded");
        if label.is_noise() {
            r.noise_records += 1;
        }
        if label == Label::Real {
            r.real_records += 1;
        }
        if let Verdict::NewVersion { version, .. } = outcome.verdict {
            r.new_versions += 1;
            r.cosmetic += usize::from(outcome.cosmetic);
            by_version.insert(version, steps.len());
            if let Some(cs) = &outcome.changes {
                if !outcome.cosmetic && !cs.is_empty() {
                    r.words_changed += words_changed(cs);
                }
            }
        }
        steps.push(Step {
            file: v.file.clone(),
            label,
            verdict: outcome.verdict.clone(),
            cosmetic: outcome.cosmetic,
            thread: None,
        });
    }
    let threads = store.threads(10_000).await.expect("threads");
    for t in &threads {
        r.threads += 1;
        r.posts += t.posts.len();
        let step = t.version.and_then(|v| by_version.get(&v)).copied();
        if let Some(i) = step {
            steps[i].thread = Some(t.posts.iter().map(|p| p.text.clone()).collect());
        }
        if let Some(first) = t.posts.first() {
            r.both_ways += usize::from(both_ways(&first.text));
        }
        for p in &t.posts {
            r.markdown_leaks += usize::from(leaks_markup(&p.text));
            r.toc_sections += usize::from(p.text.contains("Table of Contents"));
            r.words_read += p.text.split_whitespace().count();
        }
    }
    for s in &steps {
        if s.thread.is_some() && s.label.is_noise() {
            r.noise_threads += 1;
        }
        if s.thread.is_some() && s.label == Label::Real {
            r.real_announced += 1;
        }
    }
    store.close().await;
    Replayed {
        steps,
        threads,
        report: r,
    }
}

/// The report table's header.
pub fn header() -> String {
    format!(
        "{:<26} {:>8} {:>5} {:>8} {:>7} {:>5} {:>13} {:>9} {:>9} {:>9} {:>5} {:>12}",
        "document",
        "versions",
        "new",
        "cosmetic",
        "threads",
        "posts",
        "noise thr/rec",
        "real ann.",
        "both-ways",
        "md-leaks",
        "toc",
        "read/changed"
    )
}

/// One row of the report table.
pub fn row(name: &str, r: &Report) -> String {
    format!(
        "{:<26} {:>8} {:>5} {:>8} {:>7} {:>5} {:>13} {:>9} {:>9} {:>9} {:>5} {:>12.1}",
        name,
        r.versions,
        r.new_versions,
        r.cosmetic,
        r.threads,
        r.posts,
        format!("{}/{}", r.noise_threads, r.noise_records),
        format!("{}/{}", r.real_announced, r.real_records),
        r.both_ways,
        r.markdown_leaks,
        r.toc_sections,
        r.words_read as f64 / r.words_changed.max(1) as f64
    )
}
