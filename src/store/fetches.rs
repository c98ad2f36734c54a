//! The `fetches` table: one row per HTTP request of a check, good or bad.

use chrono::{DateTime, Utc};

use super::{Result, Store};
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
