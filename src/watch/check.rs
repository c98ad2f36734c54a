//! One check of one document: read what the store knows → fetch →
//! observe → decide → (diff, announce) → one store write.
//!
//! The stages are pure ([`crate::pipeline::observe`], [`super::decide`],
//! [`crate::announce`]); this module only runs them in order and does the
//! I/O between them. Whatever happens, every HTTP request writes its
//! `fetches` row, and all writes of a check are one transaction.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::decide::{self, Decision, Settings, Step, Verdict};
use crate::announce::{self, Announce};
use crate::config::{Config, Defaults, Document};
use crate::domain::FailureClass;
use crate::metrics::Metrics;
use crate::pipeline::clauses::{self, Clause};
use crate::pipeline::diff::{self, ChangeSet, DiffOptions, WatchTerms};
use crate::pipeline::fetch::{Conditional, FetchReport, FetchSettings, Fetcher};
use crate::pipeline::observe::{self, Baseline, Failure, ObserveRules, Seen};
use crate::store::{
    ChangeCounts, ChangeSetIn, CheckWrite, FetchLog, Recorded, SnapshotIn, Store, StoreError,
    StoredClauses, TechnicalWrite, VersionWrite,
};

/// The result of one check, as printed by `clausewatch check`.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    /// The change set of a new version against the previous one.
    pub changes: Option<Arc<ChangeSet>>,
    /// A new version whose letters equal the previous one's: stored, not
    /// announced.
    pub cosmetic: bool,
}

impl Outcome {
    fn of(verdict: Verdict) -> Outcome {
        Outcome {
            verdict,
            changes: None,
            cosmetic: false,
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self.verdict, Verdict::Failed { .. })
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        self.verdict.label()
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.verdict {
            Verdict::NotModified => write!(f, "unchanged (not modified)"),
            Verdict::Unchanged { version } => write!(f, "unchanged (version {version})"),
            Verdict::NewVersion {
                version,
                returns_to,
                ..
            } => {
                write!(f, "new version {version}")?;
                if let Some(older) = returns_to {
                    write!(f, " (back to version {older}'s text; not announced)")?;
                }
                if let Some(cs) = &self.changes {
                    let s = &cs.summary;
                    write!(
                        f,
                        ": {} added, {} removed, {} modified, {} renamed, {} moved",
                        s.added, s.removed, s.modified, s.renamed, s.moved
                    )?;
                }
                if self.cosmetic {
                    write!(
                        f,
                        " (cosmetic: only case, spacing, punctuation or markup changed; not announced)"
                    )?;
                }
                Ok(())
            }
            Verdict::Paused => write!(f, "paused"),
            Verdict::Failed { class, error } => write!(f, "failed ({class}): {error}"),
            Verdict::Pending { retry_after } => write!(
                f,
                "change not confirmed yet (checking again in {}s)",
                retry_after.as_secs().max(1)
            ),
            Verdict::Disagreed => write!(
                f,
                "change not confirmed (a second fetch showed something else)"
            ),
            Verdict::Flap { version } => {
                write!(f, "flapping (page equals version {version}; not stored)")
            }
            Verdict::TechnicalUpdate { version } => write!(
                f,
                "technical update of version {version} (re-extracted with new rules; not announced)"
            ),
            Verdict::Superseded => write!(
                f,
                "another check recorded a new version meanwhile; nothing written"
            ),
        }
    }
}

/// Checks in flight at once. The fetcher limits requests, but a check also
/// holds database connections and memory around its fetch; without a bound,
/// a thousand documents due at once queue on the pool until it times out.
pub fn checks_in_flight(d: &Defaults) -> usize {
    d.max_concurrent * 2
}

/// The diff options from `[diff]` and `[watch_terms]`.
pub fn diff_options(config: &Config) -> DiffOptions {
    DiffOptions {
        similarity: config.diff.similarity,
        watch_terms: WatchTerms::with_config(&config.watch_terms),
    }
}

/// Counts of a change set, for the database's summary columns.
pub fn counts(cs: &ChangeSet) -> ChangeCounts {
    let s = &cs.summary;
    ChangeCounts {
        added: s.added as i64,
        removed: s.removed as i64,
        modified: s.modified as i64,
        moved: s.moved as i64,
        renamed: s.renamed as i64,
    }
}

/// A change set as stored.
pub fn changeset_in(cs: &ChangeSet) -> ChangeSetIn {
    ChangeSetIn {
        counts: counts(cs),
        json: diff::stored::to_json(cs),
    }
}

/// Everything a check needs, shared by all documents.
#[derive(Clone)]
pub struct Checker {
    store: Store,
    fetcher: Fetcher,
    defaults: Arc<Defaults>,
    diff_options: Arc<DiffOptions>,
    announce: Arc<Announce>,
    metrics: Arc<Metrics>,
}

impl Checker {
    /// A checker whose threads are composed with `announce` (the instance's
    /// limits already applied by the caller).
    pub fn new(config: &Config, store: Store, announce: Announce) -> anyhow::Result<Checker> {
        let fetcher = Fetcher::new(FetchSettings::from_defaults(&config.defaults))?;
        Ok(Checker {
            store,
            fetcher,
            defaults: Arc::new(config.defaults.clone()),
            diff_options: Arc::new(diff_options(config)),
            announce: Arc::new(announce),
            metrics: Arc::new(Metrics::default()),
        })
    }

    /// Shares a metrics registry with the HTTP listener.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Checker {
        self.metrics = metrics;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The thread settings checks compose with.
    pub fn announce(&self) -> &Announce {
        &self.announce
    }

    fn settings(&self) -> Settings {
        Settings {
            confirm_after: self.defaults.confirm_after,
            gone_after: self.defaults.gone_after,
        }
    }

    async fn fetch(&self, doc: &Document, cond: &Conditional) -> FetchReport {
        let report = self.fetcher.fetch_document(doc, cond).await;
        self.metrics.fetch_latency(report.duration);
        if report.status == Some(429) {
            self.metrics
                .rate_limit_waits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        report
    }

    /// Checks one document now. Errors are storage errors only: a page that
    /// cannot be fetched or extracted is a recorded `Verdict::Failed`.
    pub async fn check(&self, doc: &Document) -> Result<Outcome, StoreError> {
        let started = Instant::now();
        let known = self.store.known(&doc.id, self.defaults.flap_window).await?;
        if known.state.paused {
            return Ok(Outcome::of(Verdict::Paused));
        }
        let rules = ObserveRules::for_document(doc, &self.defaults);
        let rules_hash = rules.fingerprint();
        let rules_changed = known.state.rules_hash.as_deref() != Some(rules_hash.as_str());
        let mut state = known.decide_state();
        let expected_latest = known.latest.as_ref().map(|v| v.hash.clone());

        // New rules re-extract the stored page first, so that what they
        // change by themselves is a technical update, not a change.
        let mut technical: Option<(i64, Vec<Clause>, String)> = None;
        if let (Some(v), true) = (&known.latest, rules_changed) {
            if let Some(snapshot) = &v.snapshot {
                if let Some((body, content_type)) = self.store.snapshot(snapshot).await? {
                    let (source, r) = (
                        crate::pipeline::fetch::redact(&doc.url).to_string(),
                        rules.clone(),
                    );
                    let reextracted = cpu("re-extracting the stored page", move || {
                        observe::observe_bytes(&body, &source, content_type.as_deref(), &r, None)
                    })
                    .await
                    .unwrap_or_else(Err);
                    match reextracted {
                        Ok(o) if o.hash != v.hash => {
                            tracing::info!(document = %doc.id, version = v.version, "technical update: version re-extracted with new rules");
                            if let Some(l) = &mut state.latest {
                                l.hash = o.hash.clone();
                            }
                            state.technical = true;
                            technical = Some((v.id, o.clauses, o.hash));
                        }
                        Ok(_) => {}
                        Err(f) => {
                            tracing::warn!(document = %doc.id, class = %f.class, error = %f.error, "stored snapshot does not extract with the new rules");
                        }
                    }
                }
            }
        }
        // Validators are only worth sending when the stored version was made
        // by the same rules: otherwise a 304 would hide the new extraction.
        let cond = if known.latest.is_some() && !rules_changed {
            Conditional {
                etag: known.state.etag.clone(),
                last_modified: known.state.last_modified.clone(),
            }
        } else {
            Conditional::default()
        };

        let report = self.fetch(doc, &cond).await;
        let mut logs = vec![fetch_log(&report)];
        // The same bytes as the latest version's page (a server without
        // validators): nothing to parse, the check only says "unchanged".
        let same_bytes = match (&report.result, &known.latest, rules_changed) {
            (Ok(crate::pipeline::fetch::Fetched::Page(page)), Some(v), false) => v
                .snapshot
                .as_deref()
                .is_some_and(|s| s == hex::encode(Sha256::digest(&page.body))),
            _ => false,
        };
        // The latest clauses are only read once a body came back: a 304
        // needs none of them.
        let mut old_clauses: Option<StoredClauses> = match (&technical, &known.latest) {
            (Some((_, c, _)), _) => Some(StoredClauses::unstored(c.clone())),
            (None, Some(v))
                if !same_bytes
                    && !matches!(
                        report.result,
                        Ok(crate::pipeline::fetch::Fetched::NotModified)
                    ) =>
            {
                Some(self.store.stored_clauses(v.id).await?)
            }
            _ => None,
        };
        // The baseline is the latest *version* (re-extracted when the rules
        // changed), never the last observation: a failure is not a version,
        // so a PDF or a mis-decoded page seen meanwhile cannot make the next
        // real page look short or its characters look new.
        let baseline = old_clauses.as_ref().map(|o| Baseline::of(&o.clauses));
        // A big page's old clauses are not held while it is parsed (its
        // tree is five times its size): they are read again after it.
        let reread = match (&report.result, &technical, &known.latest) {
            (Ok(crate::pipeline::fetch::Fetched::Page(page)), None, Some(v))
                if old_clauses.is_some() && page.body.len() >= SHED_OLD_CLAUSES_FROM =>
            {
                old_clauses = None;
                Some(v.id)
            }
            _ => None,
        };
        let seen = match (same_bytes, report.result, &known.latest) {
            (true, Ok(crate::pipeline::fetch::Fetched::Page(page)), Some(v)) => Seen::Page {
                page,
                observation: observe::Observation {
                    clauses: Vec::new(),
                    hash: v.hash.clone(),
                },
            },
            (_, result, _) => {
                let report = FetchReport { result, ..report };
                observe_off_thread(report, &rules, baseline).await
            }
        };
        if let (Some(id), Seen::Page { .. }) = (reread, &seen) {
            old_clauses = Some(self.store.stored_clauses(id).await?);
        }
        // A body cut short mid-clause is a failure to record, not a version
        // that removes the end of the policy.
        let seen = match (seen, old_clauses.as_ref().map(|o| o.clauses.as_slice())) {
            (Seen::Page { page, observation }, Some(old))
                if crate::pipeline::content::truncated(old, &observation.clauses) =>
            {
                Seen::Failed(Failure {
                    class: FailureClass::SoftError,
                    error: format!(
                        "{}: the page stops in the middle of a clause the last version holds in full (a truncated body)",
                        crate::pipeline::fetch::redact(&page.final_url)
                    ),
                    status: Some(page.status),
                })
            }
            (seen, _) => seen,
        };
        let now = Utc::now();
        let decision = match decide::decide(&state, &seen, None, &self.settings(), now) {
            Step::Decided(d) => d,
            Step::ConfirmByFetch => {
                let report = self.fetch(doc, &confirming(&seen)).await;
                let mut log = fetch_log(&report);
                // None: the second fetch observes what the first did, which
                // is then its own confirmation (`decide` reads only its
                // hash): a 304 to the first response's strong ETag, the
                // server saying the bytes are the same ones as every
                // unchanged check takes it, or the same bytes, status and
                // type. Only a different body is worth parsing again.
                let second = match (&seen, report.result) {
                    (Seen::Page { .. }, Ok(crate::pipeline::fetch::Fetched::NotModified)) => None,
                    (Seen::Page { page, .. }, Ok(crate::pipeline::fetch::Fetched::Page(again)))
                        if again.body == page.body
                            && again.status == page.status
                            && again.content_type == page.content_type =>
                    {
                        None
                    }
                    (_, result) => {
                        let report = FetchReport { result, ..report };
                        Some(observe_off_thread(report, &rules, baseline).await)
                    }
                };
                let second = second.as_ref().unwrap_or(&seen);
                log.outcome = "confirmation";
                if let Seen::Failed(f) = second {
                    log.error = Some((f.class, f.error.clone()));
                }
                logs.push(log);
                match decide::decide(&state, &seen, Some(second), &self.settings(), Utc::now()) {
                    Step::Decided(d) => {
                        if d.verdict == Verdict::Disagreed {
                            tracing::info!(document = %doc.id, candidate = seen.hash().unwrap_or("-"), second = second.hash().unwrap_or("-"), "change not confirmed by a second fetch");
                        }
                        d
                    }
                    Step::ConfirmByFetch => unreachable!("a confirmation was given"),
                }
            }
        };
        logs[0].outcome = decision.verdict.label();
        if let Verdict::Failed { class, error } = &decision.verdict {
            logs[0].error = Some((*class, error.clone()));
        }

        // The diff and the thread of a new version are composed off the
        // async thread too, within the same budget.
        let mut decision = decision;
        let mut seen = seen;
        let mut composed = None;
        if let (
            Verdict::NewVersion {
                version,
                previous,
                returns_to,
            },
            Seen::Page { page, observation },
        ) = (&decision.verdict, &mut seen)
        {
            let (version, previous) = (*version, *previous);
            let shed = page.body.len() >= SHED_OLD_CLAUSES_FROM;
            // A revert is stored with its diff but never announced.
            let key = expected_latest
                .as_ref()
                .filter(|_| returns_to.is_none())
                .map(|old| {
                    announce::change_key(&doc.id, state_hash(&state, old), &observation.hash)
                });
            // Both clause lists go to the blocking pool and the new one
            // comes back: a big page's clauses are not copied twice more.
            let new_clauses = std::mem::take(&mut observation.clauses);
            let (old, options, announce, doc2) = (
                old_clauses.take(),
                self.diff_options.clone(),
                self.announce.clone(),
                doc.clone(),
            );
            let work = cpu("diffing and composing the change", move || {
                let composed = compose_change(
                    &doc2,
                    old.as_ref().map(|o| o.clauses.as_slice()),
                    &new_clauses,
                    &options,
                    &announce,
                    version,
                    previous,
                    now,
                    key,
                );
                (
                    composed,
                    new_clauses,
                    old.map(|o| if shed { o.shed_wordings() } else { o }),
                )
            })
            .await;
            match work {
                Ok((c, clauses, old)) => {
                    observation.clauses = clauses;
                    old_clauses = old;
                    composed = Some(c);
                }
                Err(failure) => {
                    tracing::error!(document = %doc.id, error = %failure.error, "check abandoned");
                    let failed = Seen::Failed(failure);
                    decision = match decide::decide(&state, &failed, None, &self.settings(), now) {
                        Step::Decided(d) => d,
                        Step::ConfirmByFetch => unreachable!("a failure needs no confirmation"),
                    };
                    if let Verdict::Failed { class, error } = &decision.verdict {
                        logs[0].outcome = decision.verdict.label();
                        logs[0].error = Some((*class, error.clone()));
                    }
                    seen = failed;
                }
            }
        }
        let mut outcome = Outcome::of(decision.verdict.clone());
        let mut version_write = None;
        let page = match &seen {
            Seen::Page { page, observation } => Some((page, observation)),
            _ => None,
        };
        if let (Some((changes, cosmetic, announcement)), Some((page, observation))) =
            (composed, page)
        {
            version_write = Some(VersionWrite {
                snapshot: SnapshotIn {
                    body: &page.body,
                    content_type: page.content_type.as_deref(),
                    encoding: Some(page.encoding),
                },
                clauses: &observation.clauses,
                hash: &observation.hash,
                cosmetic,
                changeset: changes.as_deref().map(changeset_in),
                parent_clauses: old_clauses.as_ref(),
                announcement,
            });
            outcome.changes = changes;
            outcome.cosmetic = cosmetic;
        }
        let notice = gone_notice(&self.announce, doc, &decision, &seen);
        if notice.is_some() {
            tracing::warn!(document = %doc.id, "page no longer exists: notice queued");
        }
        let (etag, last_modified) = match page {
            Some((p, _)) => (p.etag.as_deref(), p.last_modified.as_deref()),
            None => (None, None),
        };
        let recorded = self
            .store
            .record_check(CheckWrite {
                document: doc,
                fetches: &logs,
                rules_hash: &rules_hash,
                expected_latest: expected_latest.as_deref(),
                technical: technical
                    .as_ref()
                    .map(|(id, clauses, hash)| TechnicalWrite {
                        version_id: *id,
                        clauses,
                        hash,
                    }),
                decision: &decision,
                etag,
                last_modified,
                version: version_write,
                notice: notice.as_ref(),
                now,
            })
            .await?;
        match recorded {
            Recorded::Applied { .. } => {}
            Recorded::AlreadyRecorded { version } => {
                outcome = Outcome::of(Verdict::Unchanged { version });
            }
            Recorded::Superseded { .. } => outcome = Outcome::of(Verdict::Superseded),
        }
        self.count(&outcome);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &outcome.verdict {
            Verdict::Failed { class, error } => {
                tracing::warn!(document = %doc.id, outcome = "failed", class = %class, duration_ms = elapsed_ms, error = %error, "check")
            }
            _ => {
                tracing::info!(document = %doc.id, outcome = outcome.label(), duration_ms = elapsed_ms, "check: {outcome}")
            }
        }
        Ok(outcome)
    }

    /// Checks several documents, at most [`checks_in_flight`] at once: a
    /// check is started only when a permit is free, so memory stays flat
    /// however many documents there are. Results come in `docs` order.
    pub async fn check_many<D: std::borrow::Borrow<Document>>(
        &self,
        docs: &[D],
    ) -> Vec<Result<Outcome, StoreError>> {
        let permits = Arc::new(tokio::sync::Semaphore::new(checks_in_flight(
            &self.defaults,
        )));
        let mut set = tokio::task::JoinSet::new();
        let mut results: Vec<Option<Result<Outcome, StoreError>>> =
            (0..docs.len()).map(|_| None).collect();
        type Joined = Result<(usize, Result<Outcome, StoreError>), tokio::task::JoinError>;
        fn keep(results: &mut [Option<Result<Outcome, StoreError>>], joined: Joined) {
            match joined {
                Ok((i, outcome)) => results[i] = Some(outcome),
                Err(e) => tracing::error!(error = %e, "check task failed"),
            }
        }
        for (i, doc) in docs.iter().enumerate() {
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let checker = self.clone();
            let doc = doc.borrow().clone();
            set.spawn(async move {
                let outcome = checker.check(&doc).await;
                drop(permit);
                (i, outcome)
            });
            // A finished task keeps its whole state until joined: collect
            // them as we go, or memory grows with the number of documents.
            while let Some(joined) = set.try_join_next() {
                keep(&mut results, joined);
            }
        }
        while let Some(joined) = set.join_next().await {
            keep(&mut results, joined);
        }
        results
            .into_iter()
            .zip(docs)
            .map(|(r, doc)| {
                r.unwrap_or_else(|| {
                    Ok(Outcome::of(Verdict::Failed {
                        class: crate::domain::FailureClass::Internal,
                        error: format!("{}: the check did not finish", doc.borrow().id),
                    }))
                })
            })
            .collect()
    }

    fn count(&self, outcome: &Outcome) {
        self.metrics.check(outcome.label());
        if let Verdict::NewVersion { .. } = &outcome.verdict {
            self.metrics
                .versions_recorded
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(cs) = &outcome.changes {
                let s = &cs.summary;
                for (kind, n) in [
                    ("added", s.added),
                    ("removed", s.removed),
                    ("modified", s.modified),
                    ("moved", s.moved),
                    ("renamed", s.renamed),
                ] {
                    self.metrics.changes(kind, n as u64);
                }
            }
        }
    }
}

/// From a body this big on, the old clauses are read again after the page
/// is parsed rather than held through it, and are shed after the diff
/// ([`StoredClauses::shed_wordings`]): the write then reads the parent
/// snapshot's dictionary back from the database instead of keeping every
/// old wording in memory until then. Policy pages are 40–300 KB, where
/// holding them is what keeps a changed page's check fast; at 10 MB they
/// were a quarter of its memory at the parse and a third at the write.
const SHED_OLD_CLAUSES_FROM: usize = 1 << 20;

/// How long the CPU-heavy part of one check (extraction, diff, composing)
/// may take before the check is abandoned as a recorded failure: a page
/// that parses this slowly is not a policy page worth blocking for.
pub const CPU_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs CPU-heavy work on the blocking pool, so that the async thread (the
/// HTTP listener, the publisher, shutdown) never waits for it; past
/// [`CPU_BUDGET`] the check goes on without it as a failure (the work
/// itself cannot be interrupted and finishes in the background).
async fn cpu<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Failure> {
    let failed = |error: String| Failure {
        class: FailureClass::Internal,
        error,
        status: None,
    };
    match tokio::time::timeout(CPU_BUDGET, tokio::task::spawn_blocking(work)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(failed(format!("{what} failed: {e}"))),
        Err(_) => Err(failed(format!(
            "{what} took longer than {} s; the check was abandoned",
            CPU_BUDGET.as_secs()
        ))),
    }
}

/// A diff asked for by a reader (a web page, a reply command) between any
/// two versions, on the blocking pool: distant versions of a long policy
/// take milliseconds, which the one async thread should not wait for.
pub async fn diff_apart(
    old: Vec<Clause>,
    new: Vec<Clause>,
    options: DiffOptions,
    language: String,
) -> ChangeSet {
    match tokio::task::spawn_blocking(move || diff::diff(&old, &new, &options, &language)).await {
        Ok(changes) => changes,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// [`observe::observe_fetch`] on the blocking pool, within the budget,
/// when there is a body to parse. A 304 or a failure without a body is
/// observed here: handing it to another thread and waking this one again
/// cost more than a 304's whole check does otherwise.
async fn observe_off_thread(
    report: FetchReport,
    rules: &ObserveRules,
    baseline: Option<Baseline>,
) -> Seen {
    if !matches!(report.result, Ok(crate::pipeline::fetch::Fetched::Page(_)))
        && report.error_body.is_none()
    {
        return observe::observe_fetch(report, rules, baseline);
    }
    let rules = rules.clone();
    cpu("extracting the page", move || {
        observe::observe_fetch(report, &rules, baseline)
    })
    .await
    .unwrap_or_else(Seen::Failed)
}

/// What a new version brings besides itself: its change set against the
/// previous one, whether only letters-less characters changed, and the
/// thread announcing it (none for a first or a cosmetic version).
type Composed = (
    Option<Arc<ChangeSet>>,
    bool,
    Option<crate::store::NewThread>,
);

#[allow(clippy::too_many_arguments)]
fn compose_change(
    doc: &Document,
    old: Option<&[Clause]>,
    new: &[Clause],
    options: &DiffOptions,
    announce: &Announce,
    version: i64,
    previous: Option<i64>,
    now: chrono::DateTime<Utc>,
    key: Option<String>,
) -> Composed {
    let changes = old.map(|old| Arc::new(diff::diff(old, new, options, &doc.language)));
    let cosmetic = old.is_some_and(|old| clauses::letters_hash(old) == clauses::letters_hash(new));
    let announcement = match (&changes, key) {
        (Some(cs), Some(key)) if !cs.is_empty() && !cosmetic => {
            announce.change_thread(doc, cs, version, previous, now, key, old.map(|o| (o, new)))
        }
        _ => None,
    };
    (changes, cosmetic, announcement)
}

/// The key of a change names the hash the latest version had when the
/// check began (a technical update replaces it in the same write).
fn state_hash<'a>(state: &'a decide::State, original: &'a str) -> &'a str {
    state.latest.as_ref().map_or(original, |l| l.hash.as_str())
}

/// The "page gone" notice a decision asks for.
fn gone_notice(
    announce: &Announce,
    doc: &Document,
    decision: &Decision,
    seen: &Seen,
) -> Option<crate::store::NewThread> {
    let since = decision.gone_since?;
    let status = match seen {
        Seen::Failed(f) => f.status.unwrap_or(404),
        _ => 404,
    };
    Some(announce.gone_notice(doc, status, since))
}

/// The validators a confirmation fetch sends: the first response's ETag,
/// when it is a strong one. A weak ETag only promises an equivalent page
/// and `Last-Modified` has a one-second grain, so either would let a page
/// that changed between the two fetches pass as confirmed.
fn confirming(first: &Seen) -> Conditional {
    match first {
        Seen::Page { page, .. } => Conditional {
            etag: page.etag.clone().filter(|e| !e.starts_with("W/")),
            last_modified: None,
        },
        _ => Conditional::default(),
    }
}

fn fetch_log(report: &FetchReport) -> FetchLog {
    FetchLog {
        url: report.url.to_string(),
        started_at: report.started_at,
        status: report.status,
        bytes: report.bytes,
        duration_ms: report.duration.as_millis() as u64,
        attempts: report.attempts,
        outcome: "",
        error: None,
    }
}
