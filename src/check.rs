//! One check of one document: fetch → extract → clauses → diff → store.
//!
//! This is the only place where the pipeline stages meet. Whatever happens,
//! exactly one fetch-log row is written, and a version is written only after
//! extraction succeeded and produced clauses different from the latest
//! version's.

use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::clauses;
use crate::config::{Config, Document};
use crate::diff::{self, ChangeSet, DiffOptions, WatchTerms};
use crate::extract::{self, Format, Rules};
use crate::fetch::{Conditional, FetchSettings, Fetched, Fetcher};
use crate::fediverse::compose::{compose_thread, ComposeOptions, ThreadInput};
use crate::metrics::Metrics;
use crate::store::{
    ChangeCounts, ChangeSetIn, CheckRecord, FetchLog, NewPost, NewThread, Recorded, SnapshotIn, Store, StoreError,
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
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::NotModified => write!(f, "unchanged (not modified)"),
            Outcome::Unchanged { version } => write!(f, "unchanged (version {version})"),
            Outcome::NewVersion { version, changes: None } => write!(f, "new version {version}"),
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
    pub fn thread(&self, doc: &Document, cs: &ChangeSet, version: i64, previous: Option<i64>, key: String) -> NewThread {
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
                visibility: if i == 0 { self.visibility.clone() } else { self.reply_visibility.clone() },
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
        self.announce.read().unwrap_or_else(|p| p.into_inner()).clone()
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
        let state = self.store.document_state(&doc.id).await?.unwrap_or_default();
        if state.paused {
            return Ok(Outcome::Paused);
        }
        let rules = Rules {
            select: doc.select.clone(),
            remove: doc.remove.clone(),
            min_chars: self.min_chars,
        };
        let rules_hash = rules_hash(&rules);
        let latest = self.store.latest_version(&doc.id).await?;
        // Validators are only worth sending when the stored version was made
        // by the same rules: otherwise a 304 would hide the new extraction.
        let cond = if latest.is_some() && state.rules_hash.as_deref() == Some(rules_hash.as_str()) {
            Conditional {
                etag: state.etag.clone(),
                last_modified: state.last_modified.clone(),
            }
        } else {
            Conditional::default()
        };

        let report = self.fetcher.fetch(&doc.url, &cond).await;
        self.metrics.fetch_latency(report.duration);
        if report.status == Some(429) {
            self.metrics.rate_limit_waits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let log = FetchLog {
            url: doc.url.to_string(),
            started_at: report.started_at,
            status: report.status,
            bytes: report.bytes,
            duration_ms: report.duration.as_millis() as u64,
            attempts: report.attempts,
        };

        let outcome = match report.result {
            Err(e) => {
                let (class, error) = (e.class().to_string(), e.to_string());
                self.store
                    .record_check(&doc.id, &log, &rules_hash, CheckRecord::Failed { class: &class, error: &error })
                    .await?;
                Outcome::Failed { class, error }
            }
            Ok(Fetched::NotModified) => {
                self.store.record_check(&doc.id, &log, &rules_hash, CheckRecord::NotModified).await?;
                Outcome::NotModified
            }
            Ok(Fetched::Page(page)) => {
                let input = match &doc.json_field {
                    Some(field) => json_field(&page.text, field).map_err(|m| ("json", format!("{}: {m}", doc.url))),
                    None => {
                        let format = Format::guess(page.final_url.as_str(), page.content_type.as_deref(), &page.text);
                        Ok((page.text.clone(), format))
                    }
                };
                let extracted = input.and_then(|(text, format)| {
                    extract::extract(&text, format, &rules)
                        .map_err(|e| (extract_error_class(&e), format!("{}: {e}", doc.url)))
                });
                match extracted {
                    Err((class, error)) => {
                        let class = class.to_string();
                        self.store
                            .record_check(&doc.id, &log, &rules_hash, CheckRecord::Failed { class: &class, error: &error })
                            .await?;
                        Outcome::Failed { class, error }
                    }
                    Ok(extracted) => {
                        let clauses = clauses::split(&extracted);
                        let hash = clauses::version_hash(&clauses);
                        match &latest {
                            Some(v) if v.hash == hash => {
                                let rec = CheckRecord::Unchanged {
                                    etag: page.etag.as_deref(),
                                    last_modified: page.last_modified.as_deref(),
                                };
                                self.store.record_check(&doc.id, &log, &rules_hash, rec).await?;
                                Outcome::Unchanged { version: v.version }
                            }
                            _ => {
                                let changes = match &latest {
                                    Some(v) => {
                                        let old = self.store.clauses(v.id).await?;
                                        Some(Arc::new(diff::diff(&old, &clauses, &self.diff_options, &doc.language)))
                                    }
                                    None => None,
                                };
                                let announcement = match (&changes, &latest) {
                                    (Some(cs), Some(prev)) if !cs.is_empty() => {
                                        let a = self.announce.read().unwrap_or_else(|p| p.into_inner()).clone();
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
                                match self.store.record_check(&doc.id, &log, &rules_hash, rec).await? {
                                    Recorded::NewVersion { version, .. } => Outcome::NewVersion { version, changes },
                                    other => unreachable!("new version recorded as {other:?}"),
                                }
                            }
                        }
                    }
                }
            }
        };
        self.metrics.check(outcome.label());
        if let Outcome::NewVersion { changes, .. } = &outcome {
            self.metrics.versions_recorded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(cs) = changes {
                let s = &cs.summary;
                for (kind, n) in [("added", s.added), ("removed", s.removed), ("modified", s.modified), ("moved", s.moved), ("renamed", s.renamed)] {
                    self.metrics.changes(kind, n as u64);
                }
            }
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &outcome {
            Outcome::Failed { class, error } => {
                tracing::warn!(document = %doc.id, outcome = "failed", class = %class, duration_ms = elapsed_ms, error = %error, "check")
            }
            other => tracing::info!(document = %doc.id, outcome = other.label(), duration_ms = elapsed_ms, "check: {other}"),
        }
        Ok(outcome)
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

/// Takes the policy out of a JSON response (e.g. Mastodon's
/// `/api/v1/instance/privacy_policy`, whose `content` is HTML).
fn json_field(body: &str, field: &str) -> Result<(String, Format), String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("not JSON (json_field = {field:?}): {e}"))?;
    let pointer = if field.starts_with('/') { field.to_string() } else { format!("/{field}") };
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
