//! SQLite storage. The store owns all SQL: no other module sees the pool.
//! The schema lives in `migrations/` and is applied at open.
//!
//! One file per entity: [`documents`] (state between checks), [`versions`]
//! (versions, clauses, snapshots, change sets, technical updates),
//! [`fetches`] (the fetch log), [`check`] (a check's decision applied in one
//! transaction), [`outbox`] (threads and posts), [`mentions`] (mentions and
//! subscriptions), [`kv`] (small settings).

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub mod check;
pub mod documents;
pub mod fetches;
pub mod kv;
pub mod mentions;
pub mod outbox;
pub mod versions;

pub use check::{CheckWrite, Recorded, TechnicalWrite, VersionWrite};
pub use documents::{DocumentState, DocumentStatus, Known};
pub use fetches::FetchLog;
pub use mentions::MentionRecord;
pub use outbox::{DuePost, NewPost, NewThread, OutboxFailure, OutboxSummary, PostView, ThreadView};
pub use versions::{ChangeCounts, ChangeSetIn, SnapshotIn, VersionInfo};

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
    #[error("database holds an unknown value: {0}")]
    Word(#[from] crate::domain::UnknownWord),
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

pub(crate) fn parse_opt_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().map(parse_ts)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The transaction type every write uses.
type Tx<'c> = sqlx::Transaction<'c, sqlx::Sqlite>;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
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

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction that takes the database's write lock at once
    /// (`BEGIN IMMEDIATE`): what it reads cannot change under it, so two
    /// checks of one document at once cannot both write a version.
    async fn write(&self) -> Result<Tx<'static>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
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

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .is_ok()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Store;

    /// A store on a fresh database file in a temporary folder.
    pub async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("test.db"))
            .await
            .expect("open test database");
        (dir, store)
    }
}
