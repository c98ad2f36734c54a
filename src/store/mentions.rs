//! Mentions handled, rate limits, subscriptions.

use chrono::{DateTime, Utc};

use super::outbox::{insert_thread_on, NewThread};
use super::{ts, Result, Store};
use crate::domain::{MentionOutcome, ThreadKind};

/// What to record about one mention.
pub struct MentionRecord<'a> {
    pub notification_id: &'a str,
    pub status_id: &'a str,
    pub account: &'a str,
    pub command: Option<&'a str>,
    pub outcome: MentionOutcome,
}

impl Store {
    /// Records a mention, its reply (if any) and the new cursor in one
    /// transaction, so a crash neither loses nor repeats an answer. Returns
    /// false if the mention was already handled (nothing written).
    pub async fn record_mention(
        &self,
        m: &MentionRecord<'_>,
        reply: Option<&NewThread>,
        cursor: &str,
    ) -> Result<bool> {
        let now = ts(Utc::now());
        self.lane
            .with(|c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO mentions (notification_id, status_id, account, command, outcome, received_at)
                         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(notification_id) DO NOTHING",
                    )?
                    .execute(rusqlite::params![
                        m.notification_id,
                        m.status_id,
                        m.account,
                        m.command,
                        m.outcome.as_str(),
                        now,
                    ])?
                    > 0;
                if inserted {
                    if let Some(thread) = reply {
                        insert_thread_on(&tx, thread, None, &now)?;
                    }
                }
                tx.prepare_cached(
                    "INSERT INTO kv (key, value) VALUES ('mention_cursor', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )?
                .execute([cursor])?;
                tx.commit()?;
                Ok::<_, rusqlite::Error>(inserted)
            })
            .await
    }

    pub async fn mention_handled(&self, notification_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mentions WHERE notification_id = ?")
            .bind(notification_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Mentions from an account since a time with one of the outcomes.
    pub async fn mentions_from(
        &self,
        account: &str,
        since: DateTime<Utc>,
        outcomes: &[MentionOutcome],
    ) -> Result<i64> {
        let seen: Vec<String> = sqlx::query_scalar(
            "SELECT outcome FROM mentions WHERE account = ? AND received_at >= ?",
        )
        .bind(account)
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(seen
            .iter()
            .filter(|o| outcomes.iter().any(|want| want.as_str() == o.as_str()))
            .count() as i64)
    }

    /// Posts queued since a time (for the global posting budget).
    pub async fn posts_since(&self, since: DateTime<Utc>) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE created_at >= ?")
                .bind(ts(since))
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn subscribe(&self, account: &str, document_id: &str) -> Result<bool> {
        let r = sqlx::query("INSERT OR IGNORE INTO subscriptions (account, document_id, created_at) VALUES (?, ?, ?)")
            .bind(account)
            .bind(document_id)
            .bind(ts(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn unsubscribe(&self, account: &str, document_id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM subscriptions WHERE account = ? AND document_id = ?")
            .bind(account)
            .bind(document_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn subscriptions_of(&self, account: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT document_id FROM subscriptions WHERE account = ? ORDER BY document_id",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn subscribers(&self, document_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT account FROM subscriptions WHERE document_id = ? ORDER BY account",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Change threads created after thread id `after`: (thread id,
    /// document, version id).
    pub async fn change_threads_after(
        &self,
        after: i64,
    ) -> Result<Vec<(i64, String, Option<i64>)>> {
        Ok(sqlx::query_as(
            "SELECT id, document_id, version_id FROM threads
             WHERE kind = ? AND id > ? AND document_id IS NOT NULL ORDER BY id",
        )
        .bind(ThreadKind::Change.as_str())
        .bind(after)
        .fetch_all(&self.pool)
        .await?)
    }
}
