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
mod codec;
pub mod documents;
pub mod fetches;
pub mod kv;
mod lane;
pub mod mentions;
pub mod outbox;
pub mod versions;
mod web;

pub use check::{CheckWrite, Recorded, TechnicalWrite, VersionWrite};
pub use documents::{DocumentState, DocumentStatus, Known};
pub use fetches::FetchLog;
pub use mentions::MentionRecord;
pub use outbox::{DuePost, NewPost, NewThread, OutboxFailure, OutboxSummary, PostView, ThreadView};
pub use versions::{ChangeCounts, ChangeSetIn, SnapshotIn, StoredClauses, VersionInfo};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A database error, worded for the person at the terminal: what is wrong
/// and what to do, said once (no variant repeats its cause as a `source`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file cannot be used as a clausewatch database: missing, not
    /// SQLite, unreadable, from a newer or older clausewatch.
    #[error("database {path}: {message}")]
    Unusable { path: String, message: String },
    #[error("database error: {0}")]
    Sql(sqlx::Error),
    /// An error of the check path's own connection (`store::lane`).
    #[error("database error: {0}")]
    Lane(rusqlite::Error),
    #[error("snapshot {hash} is corrupt: {message}")]
    Snapshot { hash: String, message: String },
    /// A stored value that cannot be read back (a damaged file).
    #[error("database holds a damaged {what}: {message}")]
    Corrupt { what: String, message: String },
    #[error("database holds an unknown value: {0}")]
    Word(#[from] crate::domain::UnknownWord),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::Sql(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Lane(e)
    }
}

/// What an SQLite error at open means, in words that say what to do.
fn open_error(path: &Path, e: &sqlx::Error) -> StoreError {
    let code = match e {
        sqlx::Error::Database(d) => d.code().and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    // Extended result codes carry the primary code in their low byte.
    let message = match code.map(|c| c & 0xff) {
        Some(26) => "not an SQLite database (is this the right file?)".to_string(),
        Some(11) => format!("the file is damaged ({e}); restore a backup"),
        Some(5 | 6) => format!("the database is locked by another process ({e}); try again"),
        Some(8) => format!(
            "cannot write ({e}): check the permissions of the file and its folder (SQLite writes {0}-wal and {0}-shm beside it)",
            path.display()
        ),
        Some(14) | Some(23) | Some(3) => format!(
            "cannot open it ({e}): check that its folder exists and that the file and its folder may be read (and written, for `run`, `check` and `import`)"
        ),
        _ => format!("cannot open it: {e}"),
    };
    StoreError::Unusable {
        path: path.display().to_string(),
        message,
    }
}

fn migrate_error(path: &Path, e: &sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError as M;
    let message = match e {
        M::VersionMissing(v) => format!(
            "made by a newer clausewatch: migration {v} is unknown to this one; run a clausewatch at least as new as the one that wrote it"
        ),
        M::VersionMismatch(v) => format!(
            "migration {v} differs from the one this clausewatch knows: the database was made by another build; restore a backup or use that build"
        ),
        M::Dirty(v) => format!(
            "migration {v} was left half-done; restore a backup made before the upgrade"
        ),
        M::Execute(sqlx::Error::Database(_)) | M::ExecuteMigration(..) => {
            format!("cannot upgrade the schema: {e}")
        }
        other => format!("cannot upgrade the schema: {other}"),
    };
    StoreError::Unusable {
        path: path.display().to_string(),
        message,
    }
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
    /// The check path's connection, outside the pool (see [`lane`]).
    lane: lane::Lane,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up
    /// to date.
    pub async fn open(path: &Path) -> Result<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10))
            // A checkpoint every 1,000 log pages (SQLite's default) ran
            // several times in a first run of a large watch list, each one
            // copying again the pages every check touches and syncing the
            // file; every 8,000 (32 MB of log at most) copies them once.
            .pragma("wal_autocheckpoint", "8000");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A connection to a local file does not go stale: the ping
            // before each use would only be a round trip to its thread.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_error(path, &e))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| migrate_error(path, &e))?;
        Ok(Store {
            pool,
            lane: lane::Lane::new(path.to_path_buf()),
        })
    }

    /// Opens an existing database for reading only (the read commands):
    /// nothing is written, no migration runs, and no file is left beside
    /// it. The schema must be the one this build knows; an older or newer
    /// one is an error that says what to do.
    ///
    /// How: when a `-wal` file is there (a daemon or a check has the
    /// database open, or one stopped without cleaning up) the connection
    /// is an ordinary read-only one that shares the daemon's locks and
    /// reads what the log holds. Otherwise no process has the database
    /// open in WAL mode and everything is in the main file: it is opened
    /// `immutable`, so SQLite creates no `-wal` or `-shm` file (which a
    /// read-only connection could not delete afterwards, and could not
    /// create in a read-only folder).
    pub async fn open_read_only(path: &Path) -> Result<Store> {
        let store = Store::open_read_only_any_schema(path).await?;
        if let Err(e) = store.schema_is_current().await {
            store.close().await;
            return Err(match e {
                StoreError::Sql(e) => open_error(path, &e),
                StoreError::Unusable { message, .. } => StoreError::Unusable {
                    path: path.display().to_string(),
                    message,
                },
                other => other,
            });
        }
        Ok(store)
    }

    /// [`open_read_only`](Store::open_read_only) without the schema check:
    /// for `backup`, which copies a database of any schema (a backup before
    /// an upgrade is the point).
    pub async fn open_read_only_any_schema(path: &Path) -> Result<Store> {
        missing(path)?;
        let unusable = |message: String| StoreError::Unusable {
            path: path.display().to_string(),
            message,
        };
        let mut header = [0u8; 16];
        let read = {
            use std::io::Read;
            std::fs::File::open(path).and_then(|mut f| {
                let mut n = 0;
                while n < header.len() {
                    match f.read(&mut header[n..])? {
                        0 => break,
                        k => n += k,
                    }
                }
                Ok(n)
            })
        };
        match read {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(unusable(format!(
                    "cannot read it ({e}): check the file's owner and permissions"
                )))
            }
            Err(e) => return Err(unusable(format!("cannot read it: {e}"))),
            Ok(0) => {
                return Err(unusable(
                    "the file is empty: run `clausewatch run` or `clausewatch check` to create the database".into(),
                ))
            }
            Ok(n) if n < 16 || &header != b"SQLite format 3\0" => {
                return Err(unusable(
                    "not an SQLite database (is this the right file?)".into(),
                ))
            }
            Ok(_) => {}
        }
        let sidecar = |suffix: &str| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::path::PathBuf::from(p).exists()
        };
        let shared = sidecar("-wal") || sidecar("-journal");
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .immutable(!shared)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_error(path, &e))?;
        Ok(Store {
            pool,
            lane: lane::Lane::none(),
        })
    }

    /// Whether the migrations recorded in the database are exactly the
    /// ones this build knows.
    async fn schema_is_current(&self) -> Result<()> {
        let unusable = |message: String| StoreError::Unusable {
            path: String::new(),
            message,
        };
        let has_table: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        )
        .fetch_one(&self.pool)
        .await?;
        if !has_table {
            let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master")
                .fetch_one(&self.pool)
                .await?;
            return Err(unusable(if tables == 0 {
                "the database is empty: run `clausewatch run` or `clausewatch check` once to create its schema".into()
            } else {
                "not a clausewatch database (an SQLite file with other tables)".into()
            }));
        }
        let applied: Vec<(i64, bool)> =
            sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        let known: std::collections::BTreeSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        let unknown = applied.iter().filter(|(v, _)| !known.contains(v)).count();
        if unknown > 0 {
            return Err(unusable(format!(
                "made by a newer clausewatch: {unknown} migration{} unknown to this one; read it with a clausewatch at least as new as the one that wrote it",
                if unknown == 1 { " is" } else { "s are" }
            )));
        }
        if let Some((v, _)) = applied.iter().find(|(_, ok)| !ok) {
            return Err(unusable(format!(
                "migration {v} was left half-done; restore a backup made before the upgrade"
            )));
        }
        let missing = known.len() - applied.len();
        if missing > 0 {
            return Err(unusable(format!(
                "older schema ({} of {} migrations): run `clausewatch run` or `clausewatch check` once to upgrade it (`clausewatch backup` first keeps a copy)",
                applied.len(),
                known.len()
            )));
        }
        Ok(())
    }

    pub async fn close(&self) {
        // Closing every connection is what lets the last one checkpoint
        // the log; an error here leaves a -wal file the next open replays.
        self.lane.close().await;
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
}

/// A missing database file is an error for the commands that do not
/// create one.
fn missing(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    Err(StoreError::Unusable {
        path: path.display().to_string(),
        message: "no database here: run `clausewatch run` or `clausewatch check` first (or give the right --db)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_older_schema_can_be_backed_up_read_only_but_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("old.db");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-0001.db"),
            &db,
        )
        .unwrap();
        let before = std::fs::read(&db).unwrap();
        let err = Store::open_read_only(&db).await.err().expect("refused");
        assert!(err.to_string().contains("older schema (1 of"), "{err}");
        let store = Store::open_read_only_any_schema(&db).await.unwrap();
        store.backup(&dir.path().join("copy.db")).await.unwrap();
        store.close().await;
        assert!(
            std::fs::read(&db).unwrap() == before,
            "the original is unchanged"
        );
        let copy = std::fs::read(dir.path().join("copy.db")).unwrap();
        assert!(copy.starts_with(b"SQLite format 3\0"));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["copy.db", "old.db"]);
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
