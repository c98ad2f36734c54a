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

/// The shared corpus's histories the replay serves by default.
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
    /// The upcoming and the current policy again, right after a revert
    /// from such a page: the page a follower was last told about holds one
    /// policy, so this opens a doubling (announced when the upcoming policy
    /// takes effect). Only a checker that saw the revert persist reads it
    /// so; one that looked at the revert once took it for a flap, and reads
    /// this record as a change between two doubled pages
    /// (`tests/realworld.rs`, which checks each record once, announces it).
    Reopened,
    /// Only case, spacing, punctuation, quotes or markup changed.
    Cosmetic,
    /// Only a clause whose exact text already stands on the other side was
    /// added or removed (a button label repeated, a table of contents).
    Churn,
    /// The page is in another language than the document's.
    Flip,
}

impl Label {
    pub fn is_noise(self) -> bool {
        !matches!(self, Label::First | Label::Real)
    }

    /// Nothing a follower could read changed: no letter, or not their
    /// language.
    pub fn is_quiet(self) -> bool {
        matches!(self, Label::Cosmetic | Label::Flip)
    }

    fn parse(s: &str) -> Option<Label> {
        Some(match s {
            "first" => Label::First,
            "real" => Label::Real,
            "refilter" => Label::Refilter,
            "doubling" => Label::Doubling,
            "revert" => Label::Revert,
            "reopened" => Label::Reopened,
            "cosmetic" => Label::Cosmetic,
            "churn" => Label::Churn,
            "flip" => Label::Flip,
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
                "{}:{}: expected DOCUMENT<TAB>FILE<TAB>LABEL[<TAB>NOTE], LABEL one of first, real, refilter, doubling, revert, reopened, cosmetic, churn, flip: {line:?}",
                path.display(),
                n + 1
            ),
        }
    }
    out
}

/// One recorded version of a history.
#[derive(Debug, Clone)]
pub struct Record {
    pub file: String,
    pub subject: String,
    pub markdown: String,
}

/// A history in the corpus's layout: `ROOT/<service>/<document>/` with an
/// `index.tsv` (a header row naming at least `file`; `commit_subject` is
/// read when present) and the Markdown files it lists, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    /// `service/document`, the key of `labels.tsv`.
    pub name: String,
    pub records: Vec<Record>,
}

impl History {
    /// `ROOT/NAME/index.tsv` and its files; errors name the file and line.
    pub fn open(root: &std::path::Path, name: &str) -> Result<History, String> {
        let dir = root.join(name);
        let index = dir.join("index.tsv");
        let text =
            std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
        let mut lines = text.lines().enumerate();
        let header: Vec<&str> = lines
            .next()
            .map(|(_, l)| l.split('\t').map(str::trim).collect())
            .unwrap_or_default();
        let column = |name: &str| header.iter().position(|c| *c == name);
        let file_col = column("file").ok_or_else(|| {
            format!(
                "{}:1: the header row names no `file` column",
                index.display()
            )
        })?;
        let subject_col = column("commit_subject");
        let mut records = Vec::new();
        for (n, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let file = cols
                .get(file_col)
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .ok_or_else(|| {
                    format!(
                        "{}:{}: no file in column {}",
                        index.display(),
                        n + 1,
                        file_col + 1
                    )
                })?;
            let path = dir.join(&file);
            let markdown = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}:{}: {}: {e}", index.display(), n + 1, path.display()))?;
            let subject = subject_col
                .and_then(|c| cols.get(c))
                .map_or(String::new(), |s| s.trim().to_string());
            records.push(Record {
                file,
                subject,
                markdown,
            });
        }
        if records.is_empty() {
            return Err(format!("{}: lists no versions", index.display()));
        }
        Ok(History {
            name: name.to_string(),
            records,
        })
    }

    /// `service/document` of the shared corpus.
    pub fn corpus(name: &str) -> History {
        History::open(&corpus::dir(), name).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every history under `root` (`<service>/<document>/index.tsv`), in
    /// name order.
    pub fn all_in(root: &std::path::Path) -> Result<Vec<History>, String> {
        let read = |dir: &std::path::Path| -> Result<Vec<std::path::PathBuf>, String> {
            let mut out: Vec<_> = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            out.sort();
            Ok(out)
        };
        let mut histories = Vec::new();
        for service in read(root)? {
            for document in read(&service)? {
                if document.join("index.tsv").is_file() {
                    let name = document
                        .strip_prefix(root)
                        .map_err(|e| format!("{}: {e}", document.display()))?
                        .to_string_lossy()
                        .replace('\\', "/");
                    histories.push(History::open(root, &name)?);
                }
            }
        }
        if histories.is_empty() {
            return Err(format!(
                "{}: no <service>/<document>/index.tsv under it",
                root.display()
            ));
        }
        Ok(histories)
    }
}

/// The words of a Markdown file (link targets and markup left out).
pub fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser};
    let mut out = String::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        if let Event::Text(t) | Event::Code(t) = event {
            out.push_str(&t);
            out.push(' ');
        }
    }
    out
}

/// Letters and digits only, lower case: what a cosmetic change keeps.
pub fn letters(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The label of each record: `labels.tsv`'s where it lists the record,
/// else derived from the data: the first record, OTA's commit subject
/// (refilter), a file byte-identical to an earlier one (revert), a text in
/// another language than the first record's (flip), letters and digits
/// equal to the previous record in the document's language (cosmetic) or
/// to an earlier one (revert), else a real change.
pub fn labels_of(history: &History, fixture: &BTreeMap<(String, String), Label>) -> Vec<Label> {
    let language = |r: &Record| whatlang::detect(&plain_text(&r.markdown)).map(|i| i.lang());
    let records = &history.records;
    let document_language = language(&records[0]);
    let mut last_letters: Option<String> = None;
    let mut seen_letters = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let own = language(r) == document_language;
        let text_letters = letters(&plain_text(&r.markdown));
        let earlier = !seen_letters.insert(text_letters.clone());
        let derived = if i == 0 || r.subject.starts_with("Start tracking") {
            Label::First
        } else if r.subject.starts_with("Refilter") || r.subject.starts_with("Apply technical") {
            Label::Refilter
        } else if records[..i].iter().any(|e| e.markdown == r.markdown) {
            Label::Revert
        } else if !own {
            Label::Flip
        } else if last_letters.as_deref() == Some(text_letters.as_str()) {
            Label::Cosmetic
        } else if earlier {
            Label::Revert
        } else {
            Label::Real
        };
        if own {
            last_letters = Some(text_letters);
        }
        out.push(
            fixture
                .get(&(history.name.clone(), r.file.clone()))
                .copied()
                .unwrap_or(derived),
        );
    }
    out
}

/// One recorded version as the checker met it.
#[derive(Debug)]
pub struct Step {
    pub file: String,
    pub label: Label,
    pub verdict: Verdict,
    pub cosmetic: bool,
    /// The check recorded a technical update (the rules changed and the
    /// stored page re-extracted to other clauses).
    pub technical: bool,
    /// The posts of the thread announcing it, if one was queued.
    pub thread: Option<Vec<String>>,
}

#[derive(Default, Debug, Clone)]
pub struct Report {
    pub versions: usize,
    pub new_versions: usize,
    /// New versions that went back to an older version's text.
    pub reverts: usize,
    pub cosmetic: usize,
    pub technical_updates: usize,
    pub threads: usize,
    pub posts: usize,
    pub noise_threads: usize,
    pub noise_records: usize,
    /// Threads for records whose letters did not change or whose language
    /// is not the document's, and such records.
    pub quiet_threads: usize,
    pub quiet_records: usize,
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
        self.reverts += r.reverts;
        self.cosmetic += r.cosmetic;
        self.technical_updates += r.technical_updates;
        self.threads += r.threads;
        self.posts += r.posts;
        self.noise_threads += r.noise_threads;
        self.noise_records += r.noise_records;
        self.quiet_threads += r.quiet_threads;
        self.quiet_records += r.quiet_records;
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

/// The top-level Markdown blocks of a file (a paragraph, a heading, a
/// whole list, a table), each with the text up to the next one, so that
/// joined again they parse as the file did.
pub fn blocks(markdown: &str) -> Vec<&str> {
    use pulldown_cmark::{Event, Options, Parser};
    let mut starts = vec![0];
    let mut depth = 0usize;
    for (event, range) in Parser::new_ext(markdown, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    starts.push(range.start);
                }
                depth += 1;
            }
            Event::End(_) => depth -= 1,
            _ if depth == 0 => starts.push(range.start),
            _ => {}
        }
    }
    starts.push(markdown.len());
    starts.dedup();
    starts
        .windows(2)
        .map(|w| markdown[w[0]..w[1]].trim_end())
        .filter(|b| !b.trim().is_empty())
        .collect()
}

/// What one OTA refilter (step `k`) did to the page's text: the blocks it
/// dropped, and the blocks it added, each run after the block it follows.
pub struct Refilter {
    k: usize,
    dropped: std::collections::HashSet<String>,
    added: Vec<(Option<String>, Vec<String>)>,
}

impl Refilter {
    /// From the records before (`old`) and at (`new`) the refilter.
    pub fn between(old: &str, new: &str, k: usize) -> Refilter {
        let (a, b) = (blocks(old), blocks(new));
        let mut rf = Refilter {
            k,
            dropped: Default::default(),
            added: Vec::new(),
        };
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &a, &b) {
            let (_, old_range, new_range) = op.as_tag_tuple();
            if matches!(op, similar::DiffOp::Equal { .. }) {
                continue;
            }
            let anchor = old_range.end.checked_sub(1).map(|i| a[i].to_string());
            rf.dropped
                .extend(a[old_range].iter().map(|s| s.to_string()));
            if !new_range.is_empty() {
                rf.added
                    .push((anchor, b[new_range].iter().map(|s| s.to_string()).collect()));
            }
        }
        rf
    }

    /// The page of a record before the refilter, as the site served it all
    /// along: what the refilter drops is wrapped in an element of class
    /// `rf{k}-old`, what it adds stands in one of class `rf{k}-new`.
    /// Removing the first gives the refiltered text, removing the second
    /// the record's: the page did not change, OTA's rules did.
    pub fn apply(&self, markdown: &str) -> String {
        let wrap = |class: &str, part: &[String]| {
            format!(
                "<div class=\"rf{}-{class}\">\n\n{}\n\n</div>",
                self.k,
                part.join("\n\n")
            )
        };
        let mut pending: Vec<&(Option<String>, Vec<String>)> = self.added.iter().collect();
        let mut out: Vec<String> = Vec::new();
        let mut insert_after = |anchor: Option<&str>, out: &mut Vec<String>| {
            pending.retain(|(a, part)| {
                let here = a.as_deref() == anchor;
                if here {
                    out.push(wrap("new", part));
                }
                !here
            });
        };
        insert_after(None, &mut out);
        for b in blocks(markdown) {
            if self.dropped.contains(b) {
                out.push(wrap("old", &[b.to_string()]));
            } else {
                out.push(b.to_string());
            }
            insert_after(Some(b), &mut out);
        }
        out.join("\n\n") + "\n"
    }
}

/// The pages and `remove` rules of each step of a history. `refilters`
/// are the steps where OTA re-extracted the page with new rules; `undos`
/// pair a step with the refilter it takes back (the record after it is
/// byte-identical to the one before it). Each page holds what the next
/// refilter changes ([`Refilter::apply`]); the rules remove, for every
/// refilter, what it dropped once it is in force and what it adds while it
/// is not. So the rules change only where OTA's did, and there the stored
/// page re-extracts to the refiltered text: a technical update.
pub fn pages_and_rules(
    markdown: &[String],
    refilters: &[usize],
    undos: &[(usize, usize)],
) -> Vec<(String, Vec<String>)> {
    let changes: Vec<Refilter> = refilters
        .iter()
        .map(|&k| Refilter::between(&markdown[k - 1], &markdown[k], k))
        .collect();
    let mut in_force: Vec<usize> = Vec::new();
    (0..markdown.len())
        .map(|i| {
            if refilters.contains(&i) {
                in_force.push(i);
            }
            if let Some((_, k)) = undos.iter().find(|(u, _)| *u == i) {
                in_force.retain(|r| r != k);
            }
            let page = match changes.iter().find(|rf| rf.k > i) {
                Some(rf) => rf.apply(&markdown[i]),
                None => markdown[i].clone(),
            };
            let remove = refilters
                .iter()
                .map(|r| {
                    let part = if in_force.contains(r) { "old" } else { "new" };
                    format!(".rf{r}-{part}")
                })
                .collect();
            (page, remove)
        })
        .collect()
}

/// Checks of each record: enough for a page that stays on an older
/// version to be taken as having gone back to it.
pub const CHECKS_PER_RECORD: i64 = clausewatch::watch::decide::STABLE_CHECKS_END_FLAP;

/// Replays one history through a fresh database and checker, each record
/// checked [`CHECKS_PER_RECORD`] times.
pub async fn replay(history: &History, server: &TestServer) -> Replayed {
    let doc = history.name.as_str();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = format!("/{}", doc.replace('/', "-"));
    let words = |slug: &str| -> String {
        slug.split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (service_slug, document_slug) = doc.split_once('/').unwrap_or((doc, "policy"));
    let service = match service_slug {
        "twitter" => "X".to_string(),
        other => words(other),
    };
    let name = words(document_slug);
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
    let step_labels = labels_of(history, &labels());
    let refilters: Vec<usize> = (1..step_labels.len())
        .filter(|&i| step_labels[i] == Label::Refilter)
        .collect();
    let markdown: Vec<String> = history.records.iter().map(|r| r.markdown.clone()).collect();
    let undos: Vec<(usize, usize)> = refilters
        .iter()
        .filter(|&&k| k + 1 < markdown.len() && markdown[k + 1] == markdown[k - 1])
        .map(|&k| (k + 1, k))
        .collect();
    let plan = pages_and_rules(&markdown, &refilters, &undos);
    let mut r = Report::default();
    let mut steps = Vec::new();
    let mut by_version: BTreeMap<i64, usize> = BTreeMap::new();
    let mut technical_updates = 0;
    for ((v, label), (page, remove)) in history.records.iter().zip(step_labels).zip(plan) {
        r.versions += 1;
        server.set_route(&path, vec![Reply::html(&corpus::x_page(&page))]);
        let mut document = config.documents[0].clone();
        document.remove = remove;
        // The bot checks a page many times between two changes, and a page
        // back at an older version becomes a version (a revert) only once
        // it has stayed there for that many checks: each record is checked
        // as often. Its step is the check that recorded something, if any.
        let mut outcome = None;
        for _ in 0..CHECKS_PER_RECORD {
            let o = checker.check(&document).await.expect("check recorded");
            let records = |o: &clausewatch::watch::check::Outcome| {
                matches!(
                    o.verdict,
                    Verdict::NewVersion { .. } | Verdict::TechnicalUpdate { .. }
                )
            };
            if outcome
                .as_ref()
                .is_none_or(|kept| !records(kept) && records(&o))
            {
                outcome = Some(o);
            }
        }
        let outcome = outcome.expect("at least one check");
        let updates = store
            .technical_updates(&document.id)
            .await
            .expect("technical updates")
            .len();
        let technical = updates > technical_updates;
        technical_updates = updates;
        r.technical_updates += usize::from(technical);
        if label.is_noise() {
            r.noise_records += 1;
        }
        if label.is_quiet() {
            r.quiet_records += 1;
        }
        if label == Label::Real {
            r.real_records += 1;
        }
        if let Verdict::NewVersion {
            version,
            returns_to,
            ..
        } = outcome.verdict
        {
            r.new_versions += 1;
            r.reverts += usize::from(returns_to.is_some());
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
            technical,
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
        if s.thread.is_some() && s.label.is_quiet() {
            r.quiet_threads += 1;
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
        "{:<26} {:>8} {:>5} {:>7} {:>8} {:>4} {:>7} {:>5} {:>13} {:>12} {:>9} {:>9} {:>9} {:>5} {:>12}",
        "document",
        "versions",
        "new",
        "reverts",
        "cosmetic",
        "tech",
        "threads",
        "posts",
        "noise thr/rec",
        "cos+flip t/r",
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
        "{:<26} {:>8} {:>5} {:>7} {:>8} {:>4} {:>7} {:>5} {:>13} {:>12} {:>9} {:>9} {:>9} {:>5} {:>12.1}",
        name,
        r.versions,
        r.new_versions,
        r.reverts,
        r.cosmetic,
        r.technical_updates,
        r.threads,
        r.posts,
        format!("{}/{}", r.noise_threads, r.noise_records),
        format!("{}/{}", r.quiet_threads, r.quiet_records),
        format!("{}/{}", r.real_announced, r.real_records),
        r.both_ways,
        r.markdown_leaks,
        r.toc_sections,
        r.words_read as f64 / r.words_changed.max(1) as f64
    )
}

impl Report {
    /// The four numbers a history the project has not seen is judged by
    /// (threads for letter-less changes or language flips, topics both
    /// ways, Markdown leaks, sections named "Table of Contents": each must
    /// be 0) and whether at least 95% of its real changes are announced.
    pub fn unseen_verdict(&self) -> (bool, String) {
        let four = [
            self.quiet_threads,
            self.both_ways,
            self.markdown_leaks,
            self.toc_sections,
        ];
        let enough = self.real_announced * 100 >= self.real_records * 95;
        (
            four.iter().all(|n| *n == 0) && enough,
            format!(
                "{}, {}, {} and {} of {} threads; {} of {} real changes announced",
                four[0],
                four[1],
                four[2],
                four[3],
                self.threads,
                self.real_announced,
                self.real_records
            ),
        )
    }
}
