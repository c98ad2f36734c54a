//! The checks' own connection: rusqlite, called on the checking task's
//! thread.
//!
//! Why not sqlx here: sqlx runs each SQLite connection on a thread of its
//! own and sends it every statement, and sends back every row, over a
//! channel; each message can wake a sleeping thread. An unchanged page's
//! check is two short statements, and a changed page's reads about 150
//! rows of clause texts, so those hand-offs (and the thread switches they
//! cause) were most of what such a check cost: reading one version's
//! clauses took 1.5 ms through sqlx against 0.3 ms for the same query in
//! process. The statements the check path runs (its `known` read, the
//! latest version's clauses, every check's write, a new version's
//! included) therefore run here, in process, in microseconds each; so do
//! answers to mentions and queued threads. Everything else (migrations,
//! read commands, the outbox's delivery state, the web pages) stays on
//! the sqlx pool. Both libraries link the one SQLite of
//! `libsqlite3-sys`, so their connections share its file locks.
//!
//! A statement never waits for a lock on this thread: the connection's
//! busy timeout is zero, and a statement that finds the database locked
//! (a command writing on the pool) is run again after an
//! asynchronous pause, for as long as the pool's connections would wait.
//! Blocking instead would stall the runtime's other tasks, and on a
//! single-threaded runtime the very task whose transaction holds the lock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Result, StoreError};

/// How long a statement waits for another connection's lock, as the
/// pool's connections do.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest pause between two tries while the database is locked (a
/// version write holds it for milliseconds).
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// Statements kept prepared: the check path has about thirty, some in a
/// few sizes of `IN (…)`.
const CACHED_STATEMENTS: usize = 64;

/// The connection, opened on first use. A store opened read-only has
/// none: only checks use it, and they write.
#[derive(Clone)]
pub(super) struct Lane {
    path: Option<PathBuf>,
    conn: Arc<tokio::sync::Mutex<Option<Connection>>>,
}

impl Lane {
    pub(super) fn new(path: PathBuf) -> Lane {
        Lane {
            path: Some(path),
            conn: Default::default(),
        }
    }

    pub(super) fn none() -> Lane {
        Lane {
            path: None,
            conn: Default::default(),
        }
    }

    fn open(&self) -> Result<Connection> {
        let Some(path) = &self.path else {
            return Err(StoreError::Unusable {
                path: String::new(),
                message: "opened read-only: a check cannot run on it".into(),
            });
        };
        // The pool made the file and its schema: never create one here.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::ZERO)?;
        conn.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        // The pool's settings (see `Store::open`); these are per
        // connection, the journal mode is the file's.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 8000;",
        )?;
        Ok(conn)
    }

    /// Runs `f` on the connection. `f` may be run again after the
    /// database was found locked, so it must leave nothing behind when it
    /// fails (a transaction that is dropped is rolled back).
    pub(super) async fn with<T, E: Into<StoreError>>(
        &self,
        mut f: impl FnMut(&mut Connection) -> std::result::Result<T, E>,
    ) -> Result<T> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            *guard = Some(self.open()?);
        }
        let conn = guard.as_mut().expect("opened just above");
        let deadline = tokio::time::Instant::now() + BUSY_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            match f(conn).map_err(Into::into) {
                Err(StoreError::Lane(e))
                    if is_locked(&e) && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                r => return r,
            }
        }
    }

    /// Closes the connection (so that the last one to close can checkpoint
    /// the log).
    pub(super) async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            if let Err((_, e)) = conn.close() {
                tracing::debug!(error = %e, "closing the check connection");
            }
        }
    }
}

fn is_locked(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// `n` placeholders, `n` rounded up to a power of two, with the values
/// padded to match by repeating the last: a repeated key in `IN (…)`
/// changes nothing, and few distinct statements stay prepared.
pub(super) fn padded_in<T: Copy>(values: &[T]) -> (String, Vec<T>) {
    let n = values.len().next_power_of_two();
    let marks = vec!["?"; n].join(", ");
    let padded = (0..n).map(|k| values[k.min(values.len() - 1)]).collect();
    (marks, padded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_locked_database_is_waited_for_not_failed() {
        let (dir, store) = crate::store::testing::store().await;
        // Another connection holds the write lock for a moment.
        let other = Connection::open(dir.path().join("test.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let mut attempts = 0;
        let written = store
            .lane
            .with(|c| {
                attempts += 1;
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                tx.execute("INSERT INTO kv (key, value) VALUES ('lane', 'x')", [])?;
                tx.commit()
            })
            .await;
        release.join().unwrap();
        assert!(written.is_ok(), "{written:?}");
        assert!(attempts > 1, "the first attempt found the lock taken");
        let v: String = store
            .lane
            .with(|c| c.query_row("SELECT value FROM kv WHERE key = 'lane'", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(v, "x");
    }

    #[tokio::test]
    async fn on_one_thread_a_lane_write_waits_for_the_pools_transaction() {
        // A single-threaded runtime: a lane write that blocked its thread
        // on the lock would keep the task holding the lock from ever
        // committing.
        let (_dir, store) = crate::store::testing::store().await;
        let mut tx = store.write().await.unwrap();
        sqlx::query("INSERT INTO kv (key, value) VALUES ('pool', 'p')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let s = store.clone();
        let lane = tokio::spawn(async move {
            s.lane
                .with(|c| {
                    c.execute("INSERT INTO kv (key, value) VALUES ('lane', 'l')", [])
                        .map(|_| ())
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.commit().await.unwrap();
        lane.await.unwrap().unwrap();
        let n: i64 = store
            .lane
            .with(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM kv WHERE key IN ('pool', 'lane')",
                    [],
                    |r| r.get(0),
                )
            })
            .await
            .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn placeholders_are_padded_to_a_power_of_two() {
        let (marks, values) = padded_in(&[1, 2, 3]);
        assert_eq!(marks, "?, ?, ?, ?");
        assert_eq!(values, [1, 2, 3, 3]);
    }
}
