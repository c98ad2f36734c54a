//! One check of one document: fetch → extract → clauses → diff → store.
//!
//! This is the only place where the pipeline stages meet. Whatever happens,
//! exactly one fetch-log row is written, and a version is written only after
//! extraction succeeded and produced clauses different from the latest
//! version's.

use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use std::collections::BTreeMap;
use std::time::Duration;

use crate::classify::{self, PageProblem};
use crate::clauses::{self, Clause};
use crate::config::{Config, Document};
use crate::diff::{self, ChangeSet, DiffOptions, WatchTerms};
use crate::extract::{self, Format, Rules};
use crate::fediverse::compose::{compose_thread, ComposeOptions, ThreadInput};
use crate::fetch::{Conditional, FetchError, FetchReport, FetchSettings, Fetched, Fetcher, Page};
use crate::metrics::Metrics;
use crate::noise::NoiseFilter;
use crate::store::{
    ChangeCounts, ChangeSetIn, CheckRecord, DocumentState, FetchLog, NewPost, NewThread, Recorded,
    SnapshotIn, Store, StoreError, VersionInfo,
};

/// Bumped whenever a change to the extraction code may change the clauses of
/// an unchanged page; stored pages are then re-extracted instead of being
/// answered with 304.
pub const EXTRACTOR_VERSION: u32 = 1;

/// The result of one check, as printed by `clausewatch check`.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server answered 304 Not Modified.
    NotModified,
    /// The page extracted to the same clauses as the latest version.
    Unchanged { version: i64 },
    /// A new version was stored, with its change set against the previous one.
    NewVersion {
        version: i64,
        changes: Option<Arc<ChangeSet>>,
    },
    /// The document is paused (admin command); nothing was fetched.
    Paused,
    /// The check failed; the failure is recorded, no version is written.
    Failed { class: String, error: String },
    /// The page changed but the change is not confirmed yet. With
    /// `retry_after`, the same page must be seen again after that delay (the
    /// scheduler should check again then); without, a confirmation fetch
    /// showed something else and the change is dropped.
    Unconfirmed { retry_after: Option<Duration> },
    /// The page equals an older version (A/B test, geo variant): nothing
    /// stored, nothing announced.
    Flap { version: i64 },
    /// New extraction rules re-extracted the latest version and the page
    /// matches it: replaced silently, never announced.
    TechnicalUpdate { version: i64 },
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::NotModified => "not_modified",
            Outcome::Unchanged { .. } => "unchanged",
            Outcome::NewVersion { .. } => "new_version",
            Outcome::Paused => "paused",
            Outcome::Failed { .. } => "failed",
            Outcome::Unconfirmed { .. } => "unconfirmed",
            Outcome::Flap { .. } => "flap",
            Outcome::TechnicalUpdate { .. } => "technical_update",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::NotModified => write!(f, "unchanged (not modified)"),
            Outcome::Unchanged { version } => write!(f, "unchanged (version {version})"),
            Outcome::NewVersion {
                version,
                changes: None,
            } => write!(f, "new version {version}"),
            Outcome::NewVersion {
                version,
                changes: Some(cs),
            } => {
                let s = &cs.summary;
                write!(
                    f,
                    "new version {version}: {} added, {} removed, {} modified, {} renamed, {} moved",
                    s.added, s.removed, s.modified, s.renamed, s.moved
                )
            }
            Outcome::Paused => write!(f, "paused"),
            Outcome::Failed { class, error } => write!(f, "failed ({class}): {error}"),
            Outcome::Unconfirmed {
                retry_after: Some(d),
            } => {
                write!(
                    f,
                    "change not confirmed yet (checking again in {}s)",
                    d.as_secs().max(1)
                )
            }
            Outcome::Unconfirmed { retry_after: None } => {
                write!(
                    f,
                    "change not confirmed (a second fetch showed something else)"
                )
            }
            Outcome::Flap { version } => {
                write!(f, "flapping (page equals version {version}; not stored)")
            }
            Outcome::TechnicalUpdate { version } => {
                write!(f, "technical update of version {version} (re-extracted with new rules; not announced)")
            }
        }
    }
}

/// Everything a check needs, shared by all documents.
#[derive(Clone)]
pub struct Checker {
    store: Store,
    fetcher: Fetcher,
    diff_options: Arc<DiffOptions>,
    min_chars: usize,
    metrics: Arc<Metrics>,
    announce: Arc<std::sync::RwLock<Announce>>,
    real: RealWorld,
    /// Per document id, its `ignore` patterns.
    noise: Arc<BTreeMap<String, NoiseFilter>>,
}

/// The `[defaults]` that guard against real-world noise.
#[derive(Clone, Copy, Debug)]
struct RealWorld {
    confirm_after: Duration,
    flap_window: usize,
    soft_error_ratio: f64,
    gone_after: Duration,
}

/// How change threads are composed: the composer's options (the character
/// limit is learned from the instance at start) and the visibilities.
#[derive(Clone, Debug)]
pub struct Announce {
    pub compose: ComposeOptions,
    pub visibility: String,
    pub reply_visibility: String,
}

impl Announce {
    pub fn from_config(config: &Config) -> Announce {
        let mut compose = ComposeOptions::default();
        let (mut visibility, mut reply_visibility) = ("public".to_string(), "unlisted".to_string());
        if let Some(f) = &config.fediverse {
            compose.spoiler = f.content_warning.clone();
            compose.hashtags = f.hashtags.clone();
            compose.max_posts = f.max_posts_per_thread;
            if let Some(m) = f.max_chars {
                compose.max_chars = m;
            }
            visibility = f.visibility.clone();
            reply_visibility = f.reply_visibility.clone();
        }
        Announce {
            compose,
            visibility,
            reply_visibility,
        }
    }

    /// The thread announcing a change set, as outbox posts.
    pub fn thread(
        &self,
        doc: &Document,
        cs: &ChangeSet,
        version: i64,
        previous: Option<i64>,
        key: String,
    ) -> NewThread {
        let input = ThreadInput {
            service: &doc.service,
            document_name: &doc.name,
            document_id: &doc.id,
            url: doc.url.as_str(),
            language: &doc.language,
            changes: cs,
            version,
            previous_version: previous,
            seen_at: chrono::Utc::now(),
        };
        let posts = compose_thread(&input, &self.compose)
            .into_iter()
            .enumerate()
            .map(|(i, p)| NewPost {
                text: p.text,
                spoiler: p.spoiler,
                visibility: if i == 0 {
                    self.visibility.clone()
                } else {
                    self.reply_visibility.clone()
                },
                language: Some(p.language),
            })
            .collect();
        NewThread {
            key,
            kind: "change".into(),
            document_id: Some(doc.id.clone()),
            in_reply_to: None,
            posts,
        }
    }
}

/// Builds the fetch settings from `[defaults]`.
pub fn fetch_settings(config: &Config) -> FetchSettings {
    let d = &config.defaults;
    FetchSettings {
        user_agent: d.user_agent.clone(),
        connect_timeout: d.connect_timeout,
        timeout: d.timeout,
        max_redirects: d.max_redirects,
        max_body_bytes: d.max_body_bytes,
        retries: d.retries,
        backoff_base: d.backoff_base,
        per_host_delay: d.per_host_delay,
        max_concurrent: d.max_concurrent,
        ..FetchSettings::default()
    }
}

/// The diff options from `[diff]` and `[watch_terms]`.
pub fn diff_options(config: &Config) -> DiffOptions {
    DiffOptions {
        similarity: config.diff.similarity,
        watch_terms: WatchTerms::with_config(&config.watch_terms),
    }
}

impl Checker {
    pub fn new(config: &Config, store: Store) -> anyhow::Result<Checker> {
        let fetcher = Fetcher::new(fetch_settings(config))?;
        Ok(Checker {
            store,
            fetcher,
            diff_options: Arc::new(diff_options(config)),
            min_chars: config.defaults.min_chars,
            metrics: Arc::new(Metrics::default()),
            announce: Arc::new(std::sync::RwLock::new(Announce::from_config(config))),
            real: RealWorld {
                confirm_after: config.defaults.confirm_after,
                flap_window: config.defaults.flap_window,
                soft_error_ratio: config.defaults.soft_error_ratio,
                gone_after: config.defaults.gone_after,
            },
            noise: Arc::new(
                config
                    .ignore
                    .iter()
                    .map(|(id, patterns)| (id.clone(), NoiseFilter::new(patterns)))
                    .collect(),
            ),
        })
    }

    /// Applies the instance's limits (a configured `max_chars` only lowers them).
    pub fn set_limits(&self, max_chars: usize, chars_per_url: usize) {
        let mut a = self.announce.write().unwrap_or_else(|p| p.into_inner());
        a.compose.max_chars = a.compose.max_chars.min(max_chars);
        a.compose.chars_per_url = chars_per_url;
    }

    /// The current thread settings, instance limits included.
    pub fn announce(&self) -> Announce {
        self.announce
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Shares a metrics registry with the HTTP listener.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Checker {
        self.metrics = metrics;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Checks one document now. Errors are storage errors only: a page that
    /// cannot be fetched or extracted is an `Outcome::Failed`, recorded.
    pub async fn check(&self, doc: &Document) -> Result<Outcome, StoreError> {
        let started = Instant::now();
        self.store.sync_document(doc).await?;
        let state = self
            .store
            .document_state(&doc.id)
            .await?
            .unwrap_or_default();
        if state.paused {
            return Ok(Outcome::Paused);
        }
        let rules = Rules {
            select: doc.select.clone(),
            remove: doc.remove.clone(),
            min_chars: self.min_chars,
        };
        let filter = self.noise.get(&doc.id).cloned().unwrap_or_default();
        let rules_hash = document_rules_hash(&rules, &filter);
        let mut latest = self.store.latest_version(&doc.id).await?;
        // Validators are only worth sending when the stored version was made
        // by the same rules: otherwise a 304 would hide the new extraction.
        let rules_changed = state.rules_hash.as_deref() != Some(rules_hash.as_str());
        let cond = if latest.is_some() && !rules_changed {
            Conditional {
                etag: state.etag.clone(),
                last_modified: state.last_modified.clone(),
            }
        } else {
            Conditional::default()
        };
        // New rules re-extract the stored page first, so that what they
        // change by themselves is a technical update, not a change.
        let mut technical = false;
        if let (Some(v), true) = (&latest, rules_changed) {
            if let Some((clauses, hash)) = self.reextract(doc, v, &rules, &filter).await? {
                if hash != v.hash {
                    self.store
                        .replace_version_clauses(&doc.id, v.id, &clauses, &hash, &rules_hash)
                        .await?;
                    tracing::info!(document = %doc.id, version = v.version, "technical update: version re-extracted with new rules");
                    technical = true;
                    latest = self.store.latest_version(&doc.id).await?;
                }
            }
        }
        let old_clauses = match &latest {
            Some(v) => Some(self.store.clauses(v.id).await?),
            None => None,
        };
        let last_chars = old_clauses.as_deref().map(char_count);

        let report = self.fetcher.fetch(&doc.url, &cond).await;
        self.metrics.fetch_latency(report.duration);
        if report.status == Some(429) {
            self.metrics
                .rate_limit_waits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let log = FetchLog {
            url: doc.url.to_string(),
            started_at: report.started_at,
            status: report.status,
            bytes: report.bytes,
            duration_ms: report.duration.as_millis() as u64,
            attempts: report.attempts,
        };

        let outcome = match self.observe(doc, report, &rules, &filter, last_chars) {
            Observed::Failed {
                class,
                error,
                status,
            } => {
                self.store
                    .record_check(
                        &doc.id,
                        &log,
                        &rules_hash,
                        CheckRecord::Failed {
                            class: &class,
                            error: &error,
                        },
                    )
                    .await?;
                // "No longer exists" only makes sense for a page that did.
                if class == "http_not_found" && latest.is_some() {
                    self.maybe_announce_gone(doc, status.unwrap_or(404)).await?;
                }
                Outcome::Failed { class, error }
            }
            Observed::NotModified => {
                self.store
                    .record_check(&doc.id, &log, &rules_hash, CheckRecord::NotModified)
                    .await?;
                Outcome::NotModified
            }
            Observed::Page {
                page,
                clauses,
                hash,
            } => {
                let v = match (&latest, &old_clauses) {
                    (Some(v), Some(old)) => Some((v, old)),
                    _ => None,
                };
                match v {
                    None => {
                        self.store_version(doc, &log, &rules_hash, None, &page, clauses, hash)
                            .await?
                    }
                    Some((v, _)) if v.hash == hash => {
                        let (etag, last_modified) =
                            (page.etag.as_deref(), page.last_modified.as_deref());
                        if technical {
                            let rec = CheckRecord::TechnicalUpdate {
                                etag,
                                last_modified,
                            };
                            self.store
                                .record_check(&doc.id, &log, &rules_hash, rec)
                                .await?;
                            Outcome::TechnicalUpdate { version: v.version }
                        } else {
                            let rec = CheckRecord::Unchanged {
                                etag,
                                last_modified,
                            };
                            self.store
                                .record_check(&doc.id, &log, &rules_hash, rec)
                                .await?;
                            Outcome::Unchanged { version: v.version }
                        }
                    }
                    Some((v, old)) => {
                        let recent = self
                            .store
                            .history(&doc.id, Some(self.real.flap_window as i64 + 1))
                            .await?;
                        if let Some(older) = recent.iter().skip(1).find(|o| o.hash == hash) {
                            self.store
                                .record_check(
                                    &doc.id,
                                    &log,
                                    &rules_hash,
                                    CheckRecord::Flap {
                                        version: older.version,
                                    },
                                )
                                .await?;
                            Outcome::Flap {
                                version: older.version,
                            }
                        } else {
                            match self
                                .confirm(doc, &state, &rules, &filter, last_chars, &hash)
                                .await
                            {
                                Confirmation::Confirmed => {
                                    let prev = Some((v, old.as_slice()));
                                    self.store_version(
                                        doc,
                                        &log,
                                        &rules_hash,
                                        prev,
                                        &page,
                                        clauses,
                                        hash,
                                    )
                                    .await?
                                }
                                Confirmation::Pending { retry_after } => {
                                    let rec = CheckRecord::Unconfirmed {
                                        pending: Some(&hash),
                                    };
                                    self.store
                                        .record_check(&doc.id, &log, &rules_hash, rec)
                                        .await?;
                                    Outcome::Unconfirmed {
                                        retry_after: Some(retry_after),
                                    }
                                }
                                Confirmation::Disagreed => {
                                    let rec = CheckRecord::Unconfirmed { pending: None };
                                    self.store
                                        .record_check(&doc.id, &log, &rules_hash, rec)
                                        .await?;
                                    Outcome::Unconfirmed { retry_after: None }
                                }
                            }
                        }
                    }
                }
            }
        };
        self.metrics.check(outcome.label());
        if let Outcome::NewVersion { changes, .. } = &outcome {
            self.metrics
                .versions_recorded
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(cs) = changes {
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
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &outcome {
            Outcome::Failed { class, error } => {
                tracing::warn!(document = %doc.id, outcome = "failed", class = %class, duration_ms = elapsed_ms, error = %error, "check")
            }
            other => {
                tracing::info!(document = %doc.id, outcome = other.label(), duration_ms = elapsed_ms, "check: {other}")
            }
        }
        Ok(outcome)
    }

    /// Turns a fetch into clauses, or into a classified failure: challenge
    /// and error pages, and extractions far shorter than the latest
    /// version, never reach the version comparison.
    fn observe(
        &self,
        doc: &Document,
        report: FetchReport,
        rules: &Rules,
        filter: &NoiseFilter,
        last_chars: Option<usize>,
    ) -> Observed {
        let failed = |class: &str, error: String| Observed::Failed {
            class: class.to_string(),
            error,
            status: report.status,
        };
        let page = match report.result {
            Ok(Fetched::NotModified) => return Observed::NotModified,
            Err(e) => {
                if let (FetchError::Status { status, .. }, Some(body)) = (&e, &report.error_body) {
                    if !matches!(status, 404 | 410) {
                        if let Some(problem) = classify::inspect_error_body(*status, body) {
                            return failed(
                                problem.class(),
                                format!("{}: {}", doc.url, problem.reason()),
                            );
                        }
                    }
                }
                return failed(e.class(), e.to_string());
            }
            Ok(Fetched::Page(page)) => page,
        };
        // Headers are not kept by the fetcher; challenge pages served with
        // a success status are recognised by their body. A challenge wins
        // over any extraction failure (it explains it); an extraction
        // failure is more precise than the page-level "almost empty".
        let page_problem = classify::inspect_page(page.status, &[], &page.text);
        if let Some(problem @ PageProblem::Blocked { .. }) = &page_problem {
            return failed(
                problem.class(),
                format!("{}: {}", doc.url, problem.reason()),
            );
        }
        let clauses = match extract_clauses(
            doc,
            &page.text,
            page.final_url.as_str(),
            page.content_type.as_deref(),
            rules,
            filter,
        ) {
            Ok(c) => c,
            Err((class, error)) => return failed(class, error),
        };
        if let Some(problem) = page_problem {
            return failed(
                problem.class(),
                format!("{}: {}", doc.url, problem.reason()),
            );
        }
        let text: Vec<&str> = clauses.iter().map(|c| c.text.as_str()).collect();
        if let Some(problem) = classify::inspect_extraction(
            char_count(&clauses),
            &text.join("\n"),
            last_chars,
            self.real.soft_error_ratio,
        ) {
            return failed(
                problem.class(),
                format!("{}: {}", doc.url, problem.reason()),
            );
        }
        let hash = clauses::version_hash(&clauses);
        Observed::Page {
            page,
            clauses,
            hash,
        }
    }

    /// Decides whether a changed page (version hash `hash`) is confirmed:
    /// at once by a second fetch when `confirm_after` is zero, otherwise by a
    /// later check that sees the same hash after the delay.
    async fn confirm(
        &self,
        doc: &Document,
        state: &DocumentState,
        rules: &Rules,
        filter: &NoiseFilter,
        last_chars: Option<usize>,
        hash: &str,
    ) -> Confirmation {
        let delay = self.real.confirm_after;
        if delay.is_zero() {
            let report = self.fetcher.fetch(&doc.url, &Conditional::default()).await;
            return match self.observe(doc, report, rules, filter, last_chars) {
                Observed::Page { hash: second, .. } if second == hash => Confirmation::Confirmed,
                other => {
                    let seen = match &other {
                        Observed::Page { hash, .. } => format!("version hash {hash}"),
                        Observed::Failed { class, .. } => format!("failure ({class})"),
                        Observed::NotModified => "not modified".to_string(),
                    };
                    tracing::info!(document = %doc.id, candidate = %hash, second = %seen, "change not confirmed by a second fetch");
                    Confirmation::Disagreed
                }
            };
        }
        let waited = match (&state.pending_hash, state.pending_since) {
            (Some(p), Some(since)) if p == hash => {
                (chrono::Utc::now() - since).to_std().unwrap_or_default()
            }
            _ => return Confirmation::Pending { retry_after: delay },
        };
        if waited >= delay {
            Confirmation::Confirmed
        } else {
            Confirmation::Pending {
                retry_after: delay - waited,
            }
        }
    }

    /// Stores a new version (announced when there is a previous one and the
    /// clauses differ).
    #[allow(clippy::too_many_arguments)]
    async fn store_version(
        &self,
        doc: &Document,
        log: &FetchLog,
        rules_hash: &str,
        previous: Option<(&VersionInfo, &[Clause])>,
        page: &Page,
        clauses: Vec<Clause>,
        hash: String,
    ) -> Result<Outcome, StoreError> {
        let changes = previous
            .map(|(_, old)| Arc::new(diff::diff(old, &clauses, &self.diff_options, &doc.language)));
        let announcement = match (&changes, previous) {
            (Some(cs), Some((prev, _))) if !cs.is_empty() => {
                let a = self
                    .announce
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                // Keyed by the transition, so a page flapping
                // between two versions is announced once.
                let key = format!("change:{}:{}:{}", doc.id, prev.hash, hash);
                Some(a.thread(doc, cs, prev.version + 1, Some(prev.version), key))
            }
            _ => None,
        };
        let changeset = changes.as_ref().map(|cs| ChangeSetIn {
            counts: counts(cs),
            json: serde_json::to_string(cs.as_ref()).expect("change sets serialize"),
        });
        let rec = CheckRecord::NewVersion {
            etag: page.etag.as_deref(),
            last_modified: page.last_modified.as_deref(),
            snapshot: SnapshotIn {
                body: &page.body,
                content_type: page.content_type.as_deref(),
                encoding: Some(page.encoding),
            },
            clauses: &clauses,
            hash: &hash,
            changeset,
            announcement,
        };
        match self
            .store
            .record_check(&doc.id, log, rules_hash, rec)
            .await?
        {
            Recorded::NewVersion { version, .. } => Ok(Outcome::NewVersion { version, changes }),
            other => unreachable!("new version recorded as {other:?}"),
        }
    }

    /// The latest version's snapshot extracted with the current rules, when
    /// the snapshot is stored and still extracts.
    async fn reextract(
        &self,
        doc: &Document,
        v: &VersionInfo,
        rules: &Rules,
        filter: &NoiseFilter,
    ) -> Result<Option<(Vec<Clause>, String)>, StoreError> {
        let Some(snapshot) = &v.snapshot else {
            return Ok(None);
        };
        let Some(body) = self.store.snapshot(snapshot).await? else {
            return Ok(None);
        };
        let content_type = self.store.snapshot_content_type(snapshot).await?;
        let (text, _) = crate::fetch::decode(&body, content_type.as_deref());
        match extract_clauses(
            doc,
            &text,
            doc.url.as_str(),
            content_type.as_deref(),
            rules,
            filter,
        ) {
            Ok(clauses) => {
                let hash = clauses::version_hash(&clauses);
                Ok(Some((clauses, hash)))
            }
            Err((class, error)) => {
                tracing::warn!(document = %doc.id, class, error = %error, "stored snapshot does not extract with the new rules");
                Ok(None)
            }
        }
    }

    /// Announces once that a page has answered 404/410 for longer than
    /// `gone_after`; the thread key names the first failure's date, so the
    /// same disappearance is never announced twice.
    async fn maybe_announce_gone(&self, doc: &Document, status: u16) -> Result<(), StoreError> {
        let Some(state) = self.store.document_state(&doc.id).await? else {
            return Ok(());
        };
        let Some(since) = state.not_found_since else {
            return Ok(());
        };
        let gone_for = (chrono::Utc::now() - since).to_std().unwrap_or_default();
        if gone_for < self.real.gone_after {
            return Ok(());
        }
        let a = self
            .announce
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let thread = gone_notice(doc, status, since, &a);
        if self.store.enqueue_thread(&thread).await? {
            tracing::warn!(document = %doc.id, since = %since, "page no longer exists: notice queued");
        }
        Ok(())
    }
}

/// The one-post notice that a watched page is gone.
fn gone_notice(
    doc: &Document,
    status: u16,
    since: chrono::DateTime<chrono::Utc>,
    a: &Announce,
) -> NewThread {
    let date = since.format("%Y-%m-%d").to_string();
    let text = if doc.language.starts_with("fr") {
        format!(
            "{} : la page « {} » n'existe plus.\n\n{} répond « introuvable » (HTTP {status}) depuis le {date}. \
             Elle reste surveillée : son retour sera signalé.",
            doc.service, doc.name, doc.url
        )
    } else {
        format!(
            "{}: the page \"{}\" no longer exists.\n\n{} has answered \"not found\" (HTTP {status}) since {date}. \
             It is still watched: if it comes back, that will be reported.",
            doc.service, doc.name, doc.url
        )
    };
    NewThread {
        key: format!("gone:{}:{date}", doc.id),
        kind: "notice".into(),
        document_id: Some(doc.id.clone()),
        in_reply_to: None,
        posts: vec![NewPost {
            text,
            spoiler: a.compose.spoiler.clone(),
            visibility: a.visibility.clone(),
            language: Some(if doc.language.starts_with("fr") {
                "fr".into()
            } else {
                "en".into()
            }),
        }],
    }
}

/// What one fetch showed, before it is compared with the stored versions.
enum Observed {
    NotModified,
    Page {
        page: Page,
        clauses: Vec<Clause>,
        hash: String,
    },
    Failed {
        class: String,
        error: String,
        status: Option<u16>,
    },
}

enum Confirmation {
    Confirmed,
    /// Seen once; a later check must see it again after `retry_after`.
    Pending {
        retry_after: Duration,
    },
    /// The confirmation fetch showed something else.
    Disagreed,
}

fn char_count(clauses: &[Clause]) -> usize {
    clauses.iter().map(|c| c.text.chars().count()).sum()
}

/// Extracts a fetched (or stored) body into noise-free clauses.
fn extract_clauses(
    doc: &Document,
    body: &str,
    url: &str,
    content_type: Option<&str>,
    rules: &Rules,
    filter: &NoiseFilter,
) -> Result<Vec<Clause>, (&'static str, String)> {
    let (text, format) = match &doc.json_field {
        Some(field) => {
            json_field(body, field).map_err(|m| ("json", format!("{}: {m}", doc.url)))?
        }
        None => (body.to_string(), Format::guess(url, content_type, body)),
    };
    let extracted = extract::extract(&text, format, rules)
        .map_err(|e| (extract_error_class(&e), format!("{}: {e}", doc.url)))?;
    Ok(filter.apply(clauses::split(&extracted)))
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

/// Takes the policy out of a JSON response (e.g. Mastodon's
/// `/api/v1/instance/privacy_policy`, whose `content` is HTML).
fn json_field(body: &str, field: &str) -> Result<(String, Format), String> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("not JSON (json_field = {field:?}): {e}"))?;
    let pointer = if field.starts_with('/') {
        field.to_string()
    } else {
        format!("/{field}")
    };
    let text = value
        .pointer(&pointer)
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("no string field {field:?} in the JSON response"))?;
    Ok((text.to_string(), Format::guess("", None, text)))
}

fn extract_error_class(e: &extract::ExtractError) -> &'static str {
    match e {
        extract::ExtractError::NothingSelected { .. } => "selector_mismatch",
        extract::ExtractError::TooShort { .. } => "too_short",
        _ => "extraction",
    }
}

/// Identifies everything that turns a page into clauses: the extraction
/// rules and the noise rules.
pub fn document_rules_hash(rules: &Rules, filter: &NoiseFilter) -> String {
    let mut h = Sha256::new();
    h.update(rules_hash(rules).as_bytes());
    h.update(filter.fingerprint().as_bytes());
    hex::encode(h.finalize())
}

/// Identifies the extraction rules (and extractor version) of a document.
pub fn rules_hash(rules: &Rules) -> String {
    let mut h = Sha256::new();
    h.update(EXTRACTOR_VERSION.to_le_bytes());
    for (tag, list) in [("select", &rules.select), ("remove", &rules.remove)] {
        h.update(tag.as_bytes());
        for s in list {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    }
    h.update((rules.min_chars as u64).to_le_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(language: &str) -> Document {
        let config = Config::parse(
            std::path::Path::new("bot.toml"),
            &format!(
                "[[documents]]\nid = \"x-privacy\"\nname = \"Privacy Policy\"\nservice = \"X\"\nurl = \"https://x.com/en/privacy\"\nlanguage = \"{language}\"\n"
            ),
        )
        .expect("test config parses");
        config.documents[0].clone()
    }

    #[test]
    fn gone_notice_is_one_post_keyed_by_the_first_failure_date() {
        let announce = Announce::from_config(
            &Config::parse(std::path::Path::new("bot.toml"), "").expect("empty config"),
        );
        let since = chrono::DateTime::parse_from_rfc3339("2026-03-01T22:10:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let en = gone_notice(&doc("en"), 410, since, &announce);
        assert_eq!(en.key, "gone:x-privacy:2026-03-01");
        assert_eq!(en.kind, "notice");
        assert_eq!(en.posts.len(), 1);
        assert!(
            en.posts[0].text.contains("no longer exists") && en.posts[0].text.contains("HTTP 410"),
            "{}",
            en.posts[0].text
        );
        let fr = gone_notice(&doc("fr"), 404, since, &announce);
        assert!(
            fr.posts[0].text.contains("n'existe plus") && fr.posts[0].text.contains("2026-03-01"),
            "{}",
            fr.posts[0].text
        );
        assert_eq!(fr.posts[0].language.as_deref(), Some("fr"));
    }

    #[test]
    fn rules_hash_covers_selectors_and_noise_rules() {
        let rules = Rules {
            select: vec!["main".into()],
            remove: Vec::new(),
            min_chars: 100,
        };
        let plain = document_rules_hash(&rules, &NoiseFilter::default());
        let ignoring = document_rules_hash(
            &rules,
            &NoiseFilter::new(&[regex::Regex::new("Visitors: \\d+").unwrap()]),
        );
        let other_select = document_rules_hash(
            &Rules {
                select: vec!["article".into()],
                ..rules.clone()
            },
            &NoiseFilter::default(),
        );
        assert_ne!(plain, ignoring);
        assert_ne!(plain, other_select);
        assert_eq!(plain, document_rules_hash(&rules, &NoiseFilter::default()));
    }
}
