//! The `fetches` table: one row per HTTP request of a check, good or bad.

use chrono::{DateTime, Utc};

use super::{ts, Result, Store, Tx};
use crate::domain::FailureClass;

/// One entry of the fetch log.
#[derive(Debug, Clone)]
pub struct FetchLog {
    pub url: String,
    pub started_at: DateTime<Utc>,
    pub status: Option<u16>,
    pub bytes: u64,
    pub duration_ms: u64,
    pub attempts: u32,
    /// What the check made of it (`new_version`, `confirmation`, …).
    pub outcome: &'static str,
    pub error: Option<(FailureClass, String)>,
}

pub(super) async fn insert(tx: &mut Tx<'_>, document_id: &str, f: &FetchLog) -> Result<()> {
    sqlx::query(
        "INSERT INTO fetches (document_id, url, started_at, status, bytes, duration_ms, attempts, outcome, error_class, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(document_id)
    .bind(&f.url)
    .bind(ts(f.started_at))
    .bind(f.status.map(i64::from))
    .bind(f.bytes as i64)
    .bind(f.duration_ms as i64)
    .bind(f.attempts as i64)
    .bind(f.outcome)
    .bind(f.error.as_ref().map(|(c, _)| c.as_str()))
    .bind(f.error.as_ref().map(|(_, e)| e.as_str()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Number of fetches logged for a document.
    pub async fn fetch_count(&self, document_id: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM fetches WHERE document_id = ?")
                .bind(document_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
