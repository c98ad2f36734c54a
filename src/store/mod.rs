//! SQLite storage: documents, the fetch log, snapshots, versions, clauses and
//! change sets. The schema lives in `migrations/` and is applied at open.
//!
//! Every write that belongs to one check happens in one transaction, so a
//! crash leaves either the whole check or none of it.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::clauses::{Clause, ClauseKind};

mod mentions;
mod outbox;
mod technical;
pub use mentions::MentionRecord;
pub use outbox::{DuePost, NewPost, NewThread, OutboxFailure, OutboxSummary};

/// Checks at the latest version after which a flapping document is no
/// longer shown as flapping.
pub const STABLE_CHECKS_END_FLAP: i64 = 5;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("snapshot {hash} is corrupt: {message}")]
    Snapshot { hash: String, message: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Formats a time the way the database stores it: RFC 3339, UTC, with
/// milliseconds so that text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// What the store knows about a document between checks.
#[derive(Debug, Clone, Default)]
pub struct DocumentState {
    pub paused: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub rules_hash: Option<String>,
    pub consecutive_failures: i64,
    pub last_check_at: Option<DateTime<Utc>>,
    /// A changed page waiting for confirmation: its version hash and when
    /// it was first seen.
    pub pending_hash: Option<String>,
    pub pending_since: Option<DateTime<Utc>>,
    /// First 404/410 of the current run of "not found" answers.
    pub not_found_since: Option<DateTime<Utc>>,
    pub flapping_since: Option<DateTime<Utc>>,
}

/// One row of a version's history.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    #[serde(skip)]
    pub id: i64,
    pub version: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub hash: String,
    pub clauses: i64,
    pub snapshot: Option<String>,
    /// Counts of the change set against the previous version, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeCounts>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ChangeCounts {
    pub added: i64,
    pub removed: i64,
    pub modified: i64,
    pub moved: i64,
    pub renamed: i64,
}

/// What `clausewatch status` shows of a document.
#[derive(Debug, Clone, Serialize)]
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
    pub last_error_class: Option<String>,
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

/// One entry of the fetch log.
#[derive(Debug, Clone)]
pub struct FetchLog {
    pub url: String,
    pub started_at: DateTime<Utc>,
    pub status: Option<u16>,
    pub bytes: u64,
    pub duration_ms: u64,
    pub attempts: u32,
}

/// A raw body to keep beside a new version.
pub struct SnapshotIn<'a> {
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
    pub encoding: Option<&'a str>,
}

/// A change set to store with a new version (already serialized, so the
/// store does not depend on the diff module's types).
pub struct ChangeSetIn {
    pub counts: ChangeCounts,
    pub json: String,
}

/// What a check found, to be written in one transaction.
pub enum CheckRecord<'a> {
    /// The server said 304: nothing was parsed.
    NotModified,
    /// The page was fetched and extracted to the latest version's clauses.
    Unchanged {
        etag: Option<&'a str>,
        last_modified: Option<&'a str>,
    },
    /// The page was fetched and extracted to new clauses.
    NewVersion {
        etag: Option<&'a str>,
        last_modified: Option<&'a str>,
        snapshot: SnapshotIn<'a>,
        clauses: &'a [Clause],
        hash: &'a str,
        changeset: Option<ChangeSetIn>,
        /// The announcement, written in the same transaction as the version
        /// so that a version is never stored without its thread.
        announcement: Option<NewThread>,
    },
    /// The check failed; nothing but the failure is recorded.
    Failed { class: &'a str, error: &'a str },
    /// The page changed but the change is not confirmed yet: `pending` is
    /// the candidate waiting for a later check, `None` when a confirmation
    /// fetch already disagreed.
    Unconfirmed { pending: Option<&'a str> },
    /// The page equals an older version than the latest: no version.
    Flap { version: i64 },
    /// The latest version was re-extracted with new rules (see
    /// `Store::replace_version_clauses`) and the page matches it.
    TechnicalUpdate {
        etag: Option<&'a str>,
        last_modified: Option<&'a str>,
    },
}

/// What `record_check` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    NotModified,
    Unchanged { version: i64 },
    NewVersion { version: i64, id: i64 },
    Failed,
    Unconfirmed,
    Flap,
    TechnicalUpdate { version: i64 },
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up
    /// to date.
    pub async fn open(path: &Path) -> Result<Store> {
        let shown = path.display().to_string();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: shown.clone(),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: shown,
                source,
            })?;
        Ok(Store { pool })
    }

    /// Opens an existing database without creating it (read commands).
    pub async fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                source: sqlx::Error::Configuration(
                    "no database here yet: run `clausewatch check` first".into(),
                ),
            });
        }
        Store::open(path).await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Makes the documents table match the config's metadata (documents that
    /// left the config are kept, with their history).
    pub async fn sync_document(&self, doc: &crate::config::Document) -> Result<()> {
        sqlx::query(
            "INSERT INTO documents (id, name, service, url, language) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, service = excluded.service,
                url = excluded.url, language = excluded.language",
        )
        .bind(&doc.id)
        .bind(&doc.name)
        .bind(&doc.service)
        .bind(doc.url.as_str())
        .bind(&doc.language)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn document_state(&self, id: &str) -> Result<Option<DocumentState>> {
        let row = sqlx::query(
            "SELECT paused, etag, last_modified, rules_hash, consecutive_failures, last_check_at,
                    pending_hash, pending_since, not_found_since, flapping_since
             FROM documents WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| DocumentState {
            paused: r.get::<i64, _>(0) != 0,
            etag: r.get(1),
            last_modified: r.get(2),
            rules_hash: r.get(3),
            consecutive_failures: r.get(4),
            last_check_at: r.get::<Option<String>, _>(5).map(|s| parse_ts(&s)),
            pending_hash: r.get(6),
            pending_since: r.get::<Option<String>, _>(7).map(|s| parse_ts(&s)),
            not_found_since: r.get::<Option<String>, _>(8).map(|s| parse_ts(&s)),
            flapping_since: r.get::<Option<String>, _>(9).map(|s| parse_ts(&s)),
        }))
    }

    pub async fn set_paused(&self, id: &str, paused: bool) -> Result<bool> {
        let r = sqlx::query("UPDATE documents SET paused = ? WHERE id = ?")
            .bind(paused as i64)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Writes everything one check found, in one transaction.
    pub async fn record_check(
        &self,
        document_id: &str,
        fetch: &FetchLog,
        rules_hash: &str,
        record: CheckRecord<'_>,
    ) -> Result<Recorded> {
        let now = ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let (outcome, class, error) = match &record {
            CheckRecord::NotModified => ("not_modified", None, None),
            CheckRecord::Unchanged { .. } => ("unchanged", None, None),
            CheckRecord::NewVersion { .. } => ("new_version", None, None),
            CheckRecord::Failed { class, error } => ("failed", Some(*class), Some(*error)),
            CheckRecord::Unconfirmed { .. } => ("unconfirmed", None, None),
            CheckRecord::Flap { .. } => ("flap", None, None),
            CheckRecord::TechnicalUpdate { .. } => ("technical_update", None, None),
        };
        sqlx::query(
            "INSERT INTO fetches (document_id, url, started_at, status, bytes, duration_ms, attempts, outcome, error_class, error)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(document_id)
        .bind(&fetch.url)
        .bind(ts(fetch.started_at))
        .bind(fetch.status.map(i64::from))
        .bind(fetch.bytes as i64)
        .bind(fetch.duration_ms as i64)
        .bind(fetch.attempts as i64)
        .bind(outcome)
        .bind(class)
        .bind(error)
        .execute(&mut *tx)
        .await?;

        let latest = sqlx::query(
            "SELECT id, number FROM versions WHERE document_id = ? ORDER BY number DESC LIMIT 1",
        )
        .bind(document_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1)));

        let result = match record {
            CheckRecord::Failed { class, error } => {
                sqlx::query(
                    "UPDATE documents SET last_check_at = ?1, consecutive_failures = consecutive_failures + 1,
                        failing_since = COALESCE(failing_since, ?1), last_error = ?2, last_error_class = ?3,
                        not_found_since = CASE WHEN ?3 = 'http_not_found' THEN COALESCE(not_found_since, ?1)
                                               ELSE not_found_since END
                     WHERE id = ?4",
                )
                .bind(&now)
                .bind(error)
                .bind(class)
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
                Recorded::Failed
            }
            CheckRecord::NotModified => {
                mark_success(&mut tx, document_id, &now, None, None, false, rules_hash).await?;
                mark_stable(&mut tx, document_id).await?;
                if let Some((id, _)) = latest {
                    touch_version(&mut tx, id, &now).await?;
                }
                Recorded::NotModified
            }
            CheckRecord::Unchanged {
                etag,
                last_modified,
            }
            | CheckRecord::TechnicalUpdate {
                etag,
                last_modified,
            } => {
                let technical = matches!(record, CheckRecord::TechnicalUpdate { .. });
                mark_success(
                    &mut tx,
                    document_id,
                    &now,
                    etag,
                    last_modified,
                    true,
                    rules_hash,
                )
                .await?;
                mark_stable(&mut tx, document_id).await?;
                let (id, number) = latest.expect("unchanged implies a latest version");
                touch_version(&mut tx, id, &now).await?;
                if technical {
                    Recorded::TechnicalUpdate { version: number }
                } else {
                    Recorded::Unchanged { version: number }
                }
            }
            CheckRecord::Unconfirmed { pending } => {
                // The validators stay those of the latest version, so the
                // next check downloads the page again to decide.
                mark_success(&mut tx, document_id, &now, None, None, false, rules_hash).await?;
                sqlx::query(
                    "UPDATE documents SET
                        pending_since = CASE WHEN ?1 IS NULL THEN NULL
                                             WHEN pending_hash = ?1 THEN pending_since ELSE ?2 END,
                        pending_hash = ?1
                     WHERE id = ?3",
                )
                .bind(pending)
                .bind(&now)
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
                Recorded::Unconfirmed
            }
            CheckRecord::Flap { .. } => {
                mark_success(&mut tx, document_id, &now, None, None, false, rules_hash).await?;
                sqlx::query(
                    "UPDATE documents SET flapping_since = COALESCE(flapping_since, ?1), last_flap_at = ?1,
                        stable_checks = 0, pending_hash = NULL, pending_since = NULL
                     WHERE id = ?2",
                )
                .bind(&now)
                .bind(document_id)
                .execute(&mut *tx)
                .await?;
                Recorded::Flap
            }
            CheckRecord::NewVersion {
                etag,
                last_modified,
                snapshot,
                clauses,
                hash,
                changeset,
                announcement,
            } => {
                let snapshot_hash = sha256_hex(snapshot.body);
                let compressed =
                    zstd::encode_all(snapshot.body, 3).map_err(|e| StoreError::Snapshot {
                        hash: snapshot_hash.clone(),
                        message: e.to_string(),
                    })?;
                sqlx::query(
                    "INSERT OR IGNORE INTO snapshots (hash, size, content_type, encoding, body_zstd, first_seen)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&snapshot_hash)
                .bind(snapshot.body.len() as i64)
                .bind(snapshot.content_type)
                .bind(snapshot.encoding)
                .bind(compressed)
                .bind(&now)
                .execute(&mut *tx)
                .await?;

                let number = latest.map_or(1, |(_, n)| n + 1);
                let version_id: i64 = sqlx::query_scalar(
                    "INSERT INTO versions (document_id, number, hash, parent_id, snapshot_hash, first_seen, last_seen, clause_count)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(document_id)
                .bind(number)
                .bind(hash)
                .bind(latest.map(|(id, _)| id))
                .bind(&snapshot_hash)
                .bind(&now)
                .bind(&now)
                .bind(clauses.len() as i64)
                .fetch_one(&mut *tx)
                .await?;

                insert_clauses(&mut tx, version_id, clauses).await?;
                if let Some(cs) = changeset {
                    insert_changeset(&mut tx, version_id, latest.map(|(id, _)| id), cs, &now)
                        .await?;
                }
                if let Some(thread) = announcement {
                    outbox::insert_thread(&mut tx, &thread, Some(version_id), &now).await?;
                }
                mark_success(
                    &mut tx,
                    document_id,
                    &now,
                    etag,
                    last_modified,
                    true,
                    rules_hash,
                )
                .await?;
                sqlx::query(
                    "UPDATE documents SET last_change_at = ?, pending_hash = NULL, pending_since = NULL,
                        flapping_since = NULL, stable_checks = 0 WHERE id = ?",
                )
                    .bind(&now)
                    .bind(document_id)
                    .execute(&mut *tx)
                    .await?;
                Recorded::NewVersion {
                    version: number,
                    id: version_id,
                }
            }
        };
        tx.commit().await?;
        Ok(result)
    }

    /// Adds a version seen at a past time (importing a history recorded
    /// elsewhere, e.g. Open Terms Archive data). Never announced. Returns the
    /// version number, or None when it equals the latest version.
    pub async fn import_version(
        &self,
        doc: &crate::config::Document,
        seen_at: DateTime<Utc>,
        clauses: &[Clause],
        hash: &str,
        changeset: Option<ChangeSetIn>,
    ) -> Result<Option<i64>> {
        self.sync_document(doc).await?;
        let mut tx = self.pool.begin().await?;
        let latest = sqlx::query("SELECT id, number, hash FROM versions WHERE document_id = ? ORDER BY number DESC LIMIT 1")
            .bind(&doc.id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1), r.get::<String, _>(2)));
        if latest.as_ref().is_some_and(|(_, _, h)| h == hash) {
            return Ok(None);
        }
        let at = ts(seen_at);
        let number = latest.as_ref().map_or(1, |(_, n, _)| n + 1);
        let version_id: i64 = sqlx::query_scalar(
            "INSERT INTO versions (document_id, number, hash, parent_id, snapshot_hash, first_seen, last_seen, clause_count)
             VALUES (?, ?, ?, ?, NULL, ?, ?, ?) RETURNING id",
        )
        .bind(&doc.id)
        .bind(number)
        .bind(hash)
        .bind(latest.as_ref().map(|(id, _, _)| *id))
        .bind(&at)
        .bind(&at)
        .bind(clauses.len() as i64)
        .fetch_one(&mut *tx)
        .await?;
        insert_clauses(&mut tx, version_id, clauses).await?;
        if let Some(cs) = changeset {
            insert_changeset(
                &mut tx,
                version_id,
                latest.as_ref().map(|(id, _, _)| *id),
                cs,
                &at,
            )
            .await?;
        }
        sqlx::query("UPDATE documents SET last_change_at = ? WHERE id = ?")
            .bind(&at)
            .bind(&doc.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(number))
    }

    /// The latest version of a document, if any.
    pub async fn latest_version(&self, document_id: &str) -> Result<Option<VersionInfo>> {
        Ok(self.history(document_id, Some(1)).await?.into_iter().next())
    }

    /// Versions, newest first.
    pub async fn history(&self, document_id: &str, limit: Option<i64>) -> Result<Vec<VersionInfo>> {
        let rows = sqlx::query(
            "SELECT v.id, v.number, v.first_seen, v.last_seen, v.hash, v.clause_count, v.snapshot_hash,
                    c.added, c.removed, c.modified, c.moved, c.renamed
             FROM versions v LEFT JOIN changesets c ON c.version_id = v.id
             WHERE v.document_id = ? ORDER BY v.number DESC LIMIT ?",
        )
        .bind(document_id)
        .bind(limit.unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(version_from_row).collect())
    }

    /// A version by number.
    pub async fn version(&self, document_id: &str, number: i64) -> Result<Option<VersionInfo>> {
        let row = sqlx::query(
            "SELECT v.id, v.number, v.first_seen, v.last_seen, v.hash, v.clause_count, v.snapshot_hash,
                    c.added, c.removed, c.modified, c.moved, c.renamed
             FROM versions v LEFT JOIN changesets c ON c.version_id = v.id
             WHERE v.document_id = ? AND v.number = ?",
        )
        .bind(document_id)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(version_from_row))
    }

    /// The version in force at a time: the newest first seen at or before it.
    pub async fn version_at(
        &self,
        document_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<VersionInfo>> {
        let number: Option<i64> = sqlx::query_scalar(
            "SELECT number FROM versions WHERE document_id = ? AND first_seen <= ? ORDER BY number DESC LIMIT 1",
        )
        .bind(document_id)
        .bind(ts(at))
        .fetch_optional(&self.pool)
        .await?;
        match number {
            Some(n) => self.version(document_id, n).await,
            None => Ok(None),
        }
    }

    /// The clauses of a version, in order.
    pub async fn clauses(&self, version_id: i64) -> Result<Vec<Clause>> {
        let rows = sqlx::query(
            "SELECT vc.position, vc.kind, vc.level, vc.path, t.text, t.norm, t.norm_hash
             FROM version_clauses vc JOIN clause_texts t ON t.hash = vc.text_hash
             WHERE vc.version_id = ? ORDER BY vc.position",
        )
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Clause {
                position: r.get::<i64, _>(0) as u32,
                kind: kind_from_db(r.get(1), r.get(2)),
                path: r.get(3),
                text: r.get(4),
                norm: r.get(5),
                hash: r.get(6),
            })
            .collect())
    }

    /// The stored change set (JSON) of a version, if it has one.
    pub async fn changeset_json(&self, version_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT json FROM changesets WHERE version_id = ?")
                .bind(version_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The raw body a version was extracted from.
    pub async fn snapshot(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let blob: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT body_zstd FROM snapshots WHERE hash = ?")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
        let Some(blob) = blob else { return Ok(None) };
        let mut out = Vec::new();
        zstd::Decoder::new(&blob[..])
            .and_then(|mut d| d.read_to_end(&mut out))
            .map_err(|e| StoreError::Snapshot {
                hash: hash.to_string(),
                message: e.to_string(),
            })?;
        Ok(Some(out))
    }

    /// Every known document's state, by id.
    pub async fn statuses(&self) -> Result<Vec<DocumentStatus>> {
        let rows = sqlx::query(
            "SELECT d.id, d.name, d.url, d.paused, (SELECT COUNT(*) FROM versions v WHERE v.document_id = d.id),
                    d.last_check_at, d.last_success_at, d.last_change_at, d.consecutive_failures, d.failing_since,
                    d.last_error_class, d.last_error, d.flapping_since, d.last_flap_at, d.pending_since,
                    d.not_found_since
             FROM documents d ORDER BY d.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let t = |r: &sqlx::sqlite::SqliteRow, i: usize| {
            r.get::<Option<String>, _>(i).map(|s| parse_ts(&s))
        };
        Ok(rows
            .iter()
            .map(|r| DocumentStatus {
                id: r.get(0),
                name: r.get(1),
                url: r.get(2),
                paused: r.get::<i64, _>(3) != 0,
                versions: r.get(4),
                last_check: t(r, 5),
                last_success: t(r, 6),
                last_change: t(r, 7),
                consecutive_failures: r.get(8),
                failing_since: t(r, 9),
                last_error_class: r.get(10),
                last_error: r.get(11),
                flapping: r.get::<Option<String>, _>(12).is_some(),
                flapping_since: t(r, 12),
                last_flap_at: t(r, 13),
                pending_change_since: t(r, 14),
                not_found_since: t(r, 15),
            })
            .collect())
    }

    /// Writes a consistent copy of the database to `dest` (`VACUUM INTO`),
    /// safe while the daemon runs.
    pub async fn backup(&self, dest: &Path) -> Result<()> {
        sqlx::query("VACUUM INTO ?")
            .bind(dest.to_string_lossy().as_ref())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Number of fetches logged for a document (for tests and status).
    pub async fn fetch_count(&self, document_id: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM fetches WHERE document_id = ?")
                .bind(document_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

async fn insert_clauses(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    version_id: i64,
    clauses: &[Clause],
) -> Result<()> {
    for c in clauses {
        let text_hash = sha256_hex(c.text.as_bytes());
        sqlx::query(
            "INSERT OR IGNORE INTO clause_texts (hash, text, norm, norm_hash) VALUES (?, ?, ?, ?)",
        )
        .bind(&text_hash)
        .bind(&c.text)
        .bind(&c.norm)
        .bind(&c.hash)
        .execute(&mut **tx)
        .await?;
        let (kind, level) = kind_to_db(c.kind);
        sqlx::query("INSERT INTO version_clauses (version_id, position, kind, level, path, text_hash) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(version_id)
            .bind(c.position as i64)
            .bind(kind)
            .bind(level)
            .bind(&c.path)
            .bind(&text_hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn insert_changeset(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    version_id: i64,
    from: Option<i64>,
    cs: ChangeSetIn,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changesets (version_id, from_version_id, added, removed, modified, moved, renamed, json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(version_id)
    .bind(from)
    .bind(cs.counts.added)
    .bind(cs.counts.removed)
    .bind(cs.counts.modified)
    .bind(cs.counts.moved)
    .bind(cs.counts.renamed)
    .bind(cs.json)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn mark_success(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    document_id: &str,
    now: &str,
    etag: Option<&str>,
    last_modified: Option<&str>,
    replace_validators: bool,
    rules_hash: &str,
) -> Result<()> {
    // On a 304 the validators we sent are still the right ones; otherwise the
    // response's validators (or their absence) replace them.
    let sql = if replace_validators {
        "UPDATE documents SET last_check_at = ?1, last_success_at = ?1, consecutive_failures = 0,
            failing_since = NULL, last_error = NULL, last_error_class = NULL, not_found_since = NULL,
            etag = ?2, last_modified = ?3, rules_hash = ?4 WHERE id = ?5"
    } else {
        "UPDATE documents SET last_check_at = ?1, last_success_at = ?1, consecutive_failures = 0,
            failing_since = NULL, last_error = NULL, last_error_class = NULL, not_found_since = NULL,
            rules_hash = ?4 WHERE id = ?5"
    };
    sqlx::query(sql)
        .bind(now)
        .bind(etag)
        .bind(last_modified)
        .bind(rules_hash)
        .bind(document_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A check at the latest version: the pending candidate is dropped, and
/// enough such checks in a row end a flapping period.
async fn mark_stable(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    document_id: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE documents SET pending_hash = NULL, pending_since = NULL, stable_checks = stable_checks + 1,
            flapping_since = CASE WHEN stable_checks + 1 >= ?1 THEN NULL ELSE flapping_since END
         WHERE id = ?2",
    )
    .bind(STABLE_CHECKS_END_FLAP)
    .bind(document_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn touch_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: i64,
    now: &str,
) -> Result<()> {
    sqlx::query("UPDATE versions SET last_seen = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn version_from_row(r: &sqlx::sqlite::SqliteRow) -> VersionInfo {
    let added: Option<i64> = r.get(7);
    VersionInfo {
        id: r.get(0),
        version: r.get(1),
        first_seen: parse_ts(r.get(2)),
        last_seen: parse_ts(r.get(3)),
        hash: r.get(4),
        clauses: r.get(5),
        snapshot: r.get(6),
        changes: added.map(|added| ChangeCounts {
            added,
            removed: r.get(8),
            modified: r.get(9),
            moved: r.get(10),
            renamed: r.get(11),
        }),
    }
}

fn kind_to_db(kind: ClauseKind) -> (&'static str, Option<i64>) {
    match kind {
        ClauseKind::Heading { level } => ("heading", Some(level as i64)),
        ClauseKind::Paragraph => ("paragraph", None),
        ClauseKind::ListItem => ("list_item", None),
        ClauseKind::TableRow => ("table_row", None),
    }
}

fn kind_from_db(kind: &str, level: Option<i64>) -> ClauseKind {
    match kind {
        "heading" => ClauseKind::Heading {
            level: level.unwrap_or(1) as u8,
        },
        "list_item" => ClauseKind::ListItem,
        "table_row" => ClauseKind::TableRow,
        _ => ClauseKind::Paragraph,
    }
}
