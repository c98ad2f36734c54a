//! What the commands print with `--format json`: types of their own, not
//! the store's rows, so that a change inside clausewatch never changes what
//! scripts read. Version 1 ([`JSON_VERSION`]): fields may be added, none is
//! renamed or removed without a new version.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::FailureClass;
use crate::pipeline::clauses::{Clause, ClauseHash};
use crate::store::{ChangeCounts, DocumentStatus, OutboxSummary, VersionInfo};

/// The version of this JSON.
pub const JSON_VERSION: u32 = 1;

/// One entry of `history --format json` (newest first).
#[derive(Serialize)]
pub struct HistoryEntry {
    pub version: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub hash: String,
    pub clauses: i64,
    pub snapshot: Option<String>,
    /// Only case, spacing, punctuation or markup changed: never announced.
    pub cosmetic: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Counts>,
}

#[derive(Serialize)]
pub struct Counts {
    pub added: i64,
    pub removed: i64,
    pub modified: i64,
    pub moved: i64,
    pub renamed: i64,
}

impl From<ChangeCounts> for Counts {
    fn from(c: ChangeCounts) -> Counts {
        Counts {
            added: c.added,
            removed: c.removed,
            modified: c.modified,
            moved: c.moved,
            renamed: c.renamed,
        }
    }
}

impl From<&VersionInfo> for HistoryEntry {
    fn from(v: &VersionInfo) -> HistoryEntry {
        HistoryEntry {
            version: v.version,
            first_seen: v.first_seen,
            last_seen: v.last_seen,
            hash: v.hash.clone(),
            clauses: v.clauses,
            snapshot: v.snapshot.clone(),
            cosmetic: v.cosmetic,
            changes: v.changes.map(Counts::from),
        }
    }
}

/// One clause of `show` and `extract --format json`.
#[derive(Serialize)]
pub struct ClauseEntry<'a> {
    pub position: u32,
    pub kind: &'static str,
    pub path: &'a str,
    pub text: &'a str,
    pub hash: ClauseHash,
}

impl<'a> From<&'a Clause> for ClauseEntry<'a> {
    fn from(c: &'a Clause) -> ClauseEntry<'a> {
        ClauseEntry {
            position: c.position,
            kind: c.kind.name(),
            path: &c.path,
            text: &c.text,
            hash: c.hash,
        }
    }
}

/// `status --format json`.
#[derive(Serialize)]
pub struct Status {
    pub json_version: u32,
    pub documents: Vec<DocumentEntry>,
    pub outbox: Outbox,
    pub mention_cursor: Option<String>,
    /// Why posting is paused (the instance refused the token), when it is.
    pub publishing_paused: Option<String>,
}

#[derive(Serialize)]
pub struct DocumentEntry {
    pub id: String,
    pub name: String,
    pub url: String,
    pub paused: bool,
    pub versions: i64,
    pub last_check: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_change: Option<DateTime<Utc>>,
    pub consecutive_failures: i64,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error_class: Option<FailureClass>,
    pub last_error: Option<String>,
    pub flapping: bool,
    pub flapping_since: Option<DateTime<Utc>>,
    pub last_flap_at: Option<DateTime<Utc>>,
    pub pending_change_since: Option<DateTime<Utc>>,
    pub not_found_since: Option<DateTime<Utc>>,
    /// When the daemon checks it next (before its random jitter): the cron
    /// tick, or earlier for a retry after a failure or a confirmation.
    /// Null when unknown: no config read, the document is not in it, or it
    /// is paused.
    pub next_check: Option<DateTime<Utc>>,
}

impl From<&DocumentStatus> for DocumentEntry {
    fn from(d: &DocumentStatus) -> DocumentEntry {
        DocumentEntry {
            id: d.id.clone(),
            name: d.name.clone(),
            url: d.url.clone(),
            paused: d.paused,
            versions: d.versions,
            last_check: d.last_check,
            last_success: d.last_success,
            last_change: d.last_change,
            consecutive_failures: d.consecutive_failures,
            failing_since: d.failing_since,
            last_error_class: d.last_error_class,
            last_error: d.last_error.clone(),
            flapping: d.flapping,
            flapping_since: d.flapping_since,
            last_flap_at: d.last_flap_at,
            pending_change_since: d.pending_change_since,
            not_found_since: d.not_found_since,
            next_check: None,
        }
    }
}

#[derive(Serialize)]
pub struct Outbox {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub failures: Vec<OutboxFailure>,
}

#[derive(Serialize)]
pub struct OutboxFailure {
    pub thread: String,
    pub seq: i64,
    pub error: String,
}

impl From<&OutboxSummary> for Outbox {
    fn from(s: &OutboxSummary) -> Outbox {
        Outbox {
            pending: s.pending,
            sending: s.sending,
            sent: s.sent,
            failed: s.failed,
            failures: s
                .failures
                .iter()
                .map(|f| OutboxFailure {
                    thread: f.thread.clone(),
                    seq: f.seq,
                    error: f.error.clone(),
                })
                .collect(),
        }
    }
}

/// One thread of `outbox --format json`.
#[derive(Serialize)]
pub struct OutboxThread {
    pub key: String,
    pub kind: crate::domain::ThreadKind,
    pub document: Option<String>,
    pub version: Option<i64>,
    pub state: crate::domain::OutboxState,
    pub created_at: DateTime<Utc>,
    pub posts: Vec<OutboxPost>,
}

#[derive(Serialize)]
pub struct OutboxPost {
    pub seq: i64,
    pub text: String,
    pub state: crate::domain::OutboxState,
    pub remote_id: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<&crate::store::ThreadView> for OutboxThread {
    fn from(t: &crate::store::ThreadView) -> OutboxThread {
        OutboxThread {
            key: t.key.clone(),
            kind: t.kind,
            document: t.document.clone(),
            version: t.version,
            state: t.state(),
            created_at: t.created_at,
            posts: t
                .posts
                .iter()
                .map(|p| OutboxPost {
                    seq: p.seq,
                    text: p.text.clone(),
                    state: p.state,
                    remote_id: p.remote_id.clone(),
                    error: p.error.clone(),
                    attempts: p.attempts,
                    next_attempt_at: p.next_attempt_at,
                })
                .collect(),
        }
    }
}
