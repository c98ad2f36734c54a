//! Technical updates: a version re-extracted with new rules keeps its
//! number and history but gets the new extraction's clauses, so that the
//! next comparison is made between two extractions by the same rules.

use chrono::Utc;
use sqlx::Row;

use super::{insert_clauses, ts, Result, Store};
use crate::clauses::Clause;

impl Store {
    /// Replaces the clauses and hash of a version with a re-extraction of
    /// its snapshot, keeping the old clause list in `technical_updates`.
    /// Also records `rules_hash` as the document's current rules. Never
    /// announced: nothing on the page changed.
    pub async fn replace_version_clauses(
        &self,
        document_id: &str,
        version_id: i64,
        clauses: &[Clause],
        hash: &str,
        rules_hash: &str,
    ) -> Result<()> {
        let now = ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let old_hash: String = sqlx::query_scalar("SELECT hash FROM versions WHERE id = ?")
            .bind(version_id)
            .fetch_one(&mut *tx)
            .await?;
        let old_rows = sqlx::query("SELECT kind, level, path, text_hash FROM version_clauses WHERE version_id = ? ORDER BY position")
            .bind(version_id)
            .fetch_all(&mut *tx)
            .await?;
        let old: Vec<serde_json::Value> = old_rows
            .iter()
            .map(|r| {
                serde_json::json!([
                    r.get::<String, _>(0),
                    r.get::<Option<i64>, _>(1),
                    r.get::<String, _>(2),
                    r.get::<String, _>(3)
                ])
            })
            .collect();
        sqlx::query(
            "INSERT INTO technical_updates (version_id, old_hash, new_hash, old_clauses, rules_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(version_id)
        .bind(&old_hash)
        .bind(hash)
        .bind(serde_json::Value::Array(old).to_string())
        .bind(rules_hash)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM version_clauses WHERE version_id = ?")
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        insert_clauses(&mut tx, version_id, clauses).await?;
        sqlx::query("UPDATE versions SET hash = ?, clause_count = ? WHERE id = ?")
            .bind(hash)
            .bind(clauses.len() as i64)
            .bind(version_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE documents SET rules_hash = ? WHERE id = ?")
            .bind(rules_hash)
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Number of technical updates applied to a document's versions.
    pub async fn technical_update_count(&self, document_id: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM technical_updates t JOIN versions v ON v.id = t.version_id WHERE v.document_id = ?",
        )
        .bind(document_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The stored content type of a snapshot (to re-extract it as it was
    /// first read).
    pub async fn snapshot_content_type(&self, hash: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT content_type FROM snapshots WHERE hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }
}
