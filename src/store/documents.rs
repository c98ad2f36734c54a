//! The `documents` table: one row per watched document, with what a check
//! needs to know between runs (validators, failure run, pending change,
//! flapping) and what `status` shows.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::versions::VersionInfo;
use super::{parse_opt_ts, Result, Store};
use crate::config::Document;
use crate::domain::FailureClass;
use crate::watch::decide::{self, Latest, Pending};

/// What the store knows about a document between checks.
#[derive(Debug, Clone, Default)]
pub struct DocumentState {
    pub paused: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Fingerprint of the rules that made the latest version.
    pub rules_hash: Option<String>,
    pub consecutive_failures: i64,
    pub last_check_at: Option<DateTime<Utc>>,
    pub pending: Option<Pending>,
    pub not_found_since: Option<DateTime<Utc>>,
    pub flapping_since: Option<DateTime<Utc>>,
    pub stable_checks: i64,
}

/// Everything a check reads before it fetches.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub state: DocumentState,
    pub latest: Option<VersionInfo>,
    /// Versions before the latest, newest first, within the flap window.
    pub recent: Vec<Latest>,
}

impl Known {
    /// The decision's view of it.
    pub fn decide_state(&self) -> decide::State {
        decide::State {
            latest: self.latest.as_ref().map(|v| Latest {
                number: v.version,
                hash: v.hash.clone(),
            }),
            recent: self.recent.clone(),
            pending: self.state.pending.clone(),
            not_found_since: self.state.not_found_since,
            flapping_since: self.state.flapping_since,
            stable_checks: self.state.stable_checks,
            technical: false,
        }
    }
}

/// What `clausewatch status` shows of a document.
#[derive(Debug, Clone)]
pub struct DocumentStatus {
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
    /// The page keeps returning to recent versions (A/B tests, geo
    /// variants); such returns are neither versions nor announcements.
    pub flapping: bool,
    pub flapping_since: Option<DateTime<Utc>>,
    pub last_flap_at: Option<DateTime<Utc>>,
    /// A change seen once and waiting for its confirmation fetch.
    pub pending_change_since: Option<DateTime<Utc>>,
    /// The page has answered 404/410 since then.
    pub not_found_since: Option<DateTime<Utc>>,
}

const STATE_COLUMNS: &str = "paused, etag, last_modified, rules_hash, consecutive_failures, \
     last_check_at, pending_hash, pending_since, not_found_since, flapping_since, stable_checks";

struct StateRow {
    paused: bool,
    etag: Option<String>,
    last_modified: Option<String>,
    rules_hash: Option<String>,
    consecutive_failures: i64,
    last_check_at: Option<String>,
    pending_hash: Option<String>,
    pending_since: Option<String>,
    not_found_since: Option<String>,
    flapping_since: Option<String>,
    stable_checks: i64,
}

impl StateRow {
    /// The row's [`STATE_COLUMNS`], by name.
    fn from_lane(r: &rusqlite::Row<'_>) -> rusqlite::Result<StateRow> {
        Ok(StateRow {
            paused: r.get("paused")?,
            etag: r.get("etag")?,
            last_modified: r.get("last_modified")?,
            rules_hash: r.get("rules_hash")?,
            consecutive_failures: r.get("consecutive_failures")?,
            last_check_at: r.get("last_check_at")?,
            pending_hash: r.get("pending_hash")?,
            pending_since: r.get("pending_since")?,
            not_found_since: r.get("not_found_since")?,
            flapping_since: r.get("flapping_since")?,
            stable_checks: r.get("stable_checks")?,
        })
    }
}

impl From<StateRow> for DocumentState {
    fn from(r: StateRow) -> DocumentState {
        let pending_since = parse_opt_ts(r.pending_since);
        DocumentState {
            paused: r.paused,
            etag: r.etag,
            last_modified: r.last_modified,
            rules_hash: r.rules_hash,
            consecutive_failures: r.consecutive_failures,
            last_check_at: parse_opt_ts(r.last_check_at),
            pending: match (r.pending_hash, pending_since) {
                (Some(hash), Some(since)) => Some(Pending { hash, since }),
                _ => None,
            },
            not_found_since: parse_opt_ts(r.not_found_since),
            flapping_since: parse_opt_ts(r.flapping_since),
            stable_checks: r.stable_checks,
        }
    }
}

const STATUS_COLUMNS: &str = "d.id, d.name, d.url, d.paused, \
     (SELECT COUNT(*) FROM versions v WHERE v.document_id = d.id) AS versions, \
     d.last_check_at, d.last_success_at, d.last_change_at, d.consecutive_failures, d.failing_since, \
     d.last_error_class, d.last_error, d.flapping_since, d.last_flap_at, d.pending_since, d.not_found_since";

#[derive(FromRow)]
struct StatusRow {
    id: String,
    name: String,
    url: String,
    paused: bool,
    versions: i64,
    last_check_at: Option<String>,
    last_success_at: Option<String>,
    last_change_at: Option<String>,
    consecutive_failures: i64,
    failing_since: Option<String>,
    last_error_class: Option<String>,
    last_error: Option<String>,
    flapping_since: Option<String>,
    last_flap_at: Option<String>,
    pending_since: Option<String>,
    not_found_since: Option<String>,
}

/// Makes the documents table match the config's metadata (documents that
/// left the config are kept, with their history); binds [`sync_values`].
pub(super) const SYNC: &str =
    "INSERT INTO documents (id, name, service, url, language) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET name = excluded.name, service = excluded.service,
        url = excluded.url, language = excluded.language";

/// [`SYNC`]'s values, in order: id, name, service, URL, language.
pub(super) fn sync_values(doc: &Document) -> (&str, &str, &str, String, &str) {
    (
        &doc.id,
        &doc.name,
        &doc.service,
        // Credentials in a watched URL are the operator's: `status` shows
        // `***@host`, the database keeps no password.
        crate::pipeline::fetch::redact(&doc.url).to_string(),
        &doc.language,
    )
}

impl Store {
    pub async fn document_state(&self, id: &str) -> Result<Option<DocumentState>> {
        use rusqlite::OptionalExtension;
        let sql = format!("SELECT {STATE_COLUMNS} FROM documents WHERE id = ?");
        let row = self
            .lane
            .with(|c| {
                c.prepare_cached(&sql)?
                    .query_row([id], StateRow::from_lane)
                    .optional()
            })
            .await?;
        Ok(row.map(DocumentState::from))
    }

    /// What a check needs before it fetches: the document's state, its
    /// latest version and the hashes of the `flap_window` versions before.
    pub async fn known(&self, id: &str, flap_window: usize) -> Result<Known> {
        // One query, the state beside each recent version (or alone when
        // there is none yet), on the checks' connection: it runs before
        // every check.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {STATE_COLUMNS}, v.* FROM documents d
                 LEFT JOIN (SELECT {} FROM versions v LEFT JOIN changesets c ON c.version_id = v.id
                     WHERE v.document_id = ?1 ORDER BY v.number DESC LIMIT ?2) v ON 1
                 WHERE d.id = ?1 ORDER BY v.number DESC",
                super::versions::VERSION_COLUMNS
            )
        });
        let (state, mut history) = self
            .lane
            .with(|c| {
                let mut st = c.prepare_cached(&SQL)?;
                let mut rows = st.query(rusqlite::params![id, flap_window as i64 + 1])?;
                let mut state = None;
                let mut history = Vec::with_capacity(flap_window + 1);
                while let Some(row) = rows.next()? {
                    if state.is_none() {
                        state = Some(StateRow::from_lane(row)?);
                    }
                    if row.get::<_, Option<i64>>("id")?.is_some() {
                        history.push(super::versions::version_of_lane(row)?);
                    }
                }
                Ok::<_, rusqlite::Error>((state, history))
            })
            .await?;
        let state = state.map(DocumentState::from).unwrap_or_default();
        let latest = if history.is_empty() {
            None
        } else {
            Some(history.remove(0))
        };
        let recent = history
            .into_iter()
            .map(|v| Latest {
                number: v.version,
                hash: v.hash,
            })
            .collect();
        Ok(Known {
            state,
            latest,
            recent,
        })
    }

    pub async fn set_paused(&self, id: &str, paused: bool) -> Result<bool> {
        let r = sqlx::query("UPDATE documents SET paused = ? WHERE id = ?")
            .bind(paused)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Every known document's state, by id.
    pub async fn statuses(&self) -> Result<Vec<DocumentStatus>> {
        let rows: Vec<StatusRow> = sqlx::query_as(&format!(
            "SELECT {STATUS_COLUMNS} FROM documents d ORDER BY d.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DocumentStatus {
                    id: r.id,
                    name: r.name,
                    url: r.url,
                    paused: r.paused,
                    versions: r.versions,
                    last_check: parse_opt_ts(r.last_check_at),
                    last_success: parse_opt_ts(r.last_success_at),
                    last_change: parse_opt_ts(r.last_change_at),
                    consecutive_failures: r.consecutive_failures,
                    failing_since: parse_opt_ts(r.failing_since),
                    last_error_class: r.last_error_class.map(|c| c.parse()).transpose()?,
                    last_error: r.last_error,
                    flapping: r.flapping_since.is_some(),
                    flapping_since: parse_opt_ts(r.flapping_since),
                    last_flap_at: parse_opt_ts(r.last_flap_at),
                    pending_change_since: parse_opt_ts(r.pending_since),
                    not_found_since: parse_opt_ts(r.not_found_since),
                })
            })
            .collect()
    }

    /// The most recent successful check of any document (for `/healthz`).
    pub async fn last_success(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = sqlx::query_scalar("SELECT MAX(last_success_at) FROM documents")
            .fetch_one(&self.pool)
            .await?;
        Ok(parse_opt_ts(t))
    }
}
