//! What only the web pages read.

use chrono::{DateTime, Utc};

use super::{parse_ts, Result, Store};

impl Store {
    /// The technical updates of a document's versions (clauses re-extracted
    /// with new rules, never announced): version number and when, oldest
    /// first.
    pub async fn technical_updates(&self, document_id: &str) -> Result<Vec<(i64, DateTime<Utc>)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT v.number, t.created_at FROM technical_updates t
             JOIN versions v ON v.id = t.version_id
             WHERE v.document_id = ? ORDER BY t.id",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(n, at)| (n, parse_ts(&at))).collect())
    }
}
