//! Outbox queries: threads waiting to be posted, and their delivery state.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{parse_ts, ts, Result, Store};
pub use crate::announce::{NewPost, NewThread};
use crate::domain::{Lang, OutboxState, ThreadKind, Visibility};

/// A post the publisher should send now.
#[derive(Debug, Clone)]
pub struct DuePost {
    pub id: i64,
    pub thread_id: i64,
    pub seq: i64,
    pub text: String,
    pub spoiler: Option<String>,
    pub visibility: Visibility,
    pub language: Option<Lang>,
    pub idempotency_key: String,
    /// True when an earlier attempt may have reached the server.
    pub maybe_sent: bool,
    /// The remote status this post replies to.
    pub reply_to: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: i64,
    thread_id: i64,
    seq: i64,
    text: String,
    spoiler: Option<String>,
    visibility: String,
    language: Option<String>,
    idempotency_key: String,
    state: String,
    created_at: String,
    next_attempt_at: Option<String>,
    in_reply_to: Option<String>,
    previous_remote_id: Option<String>,
}

/// Counts for `status` and metrics.
#[derive(Debug, Clone, Default)]
pub struct OutboxSummary {
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    /// Failed posts with the server's reason.
    pub failures: Vec<OutboxFailure>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxFailure {
    pub thread: String,
    pub seq: i64,
    pub error: String,
}

fn idempotency_key(thread_key: &str, seq: usize) -> String {
    // Stable across restarts and unique per post: the same post always
    // carries the same key, so a server that honours it deduplicates.
    let digest = Sha256::digest(format!("clausewatch\n{thread_key}\n{seq}").as_bytes());
    format!("cw-{}", &hex::encode(digest)[..32])
}

/// Inserts a thread and its posts inside an open transaction on the
/// checks' connection. Returns false when a thread with that key already
/// exists.
pub(crate) fn insert_thread_on(
    conn: &rusqlite::Connection,
    thread: &NewThread,
    version_id: Option<i64>,
    now: &str,
) -> rusqlite::Result<bool> {
    use rusqlite::OptionalExtension;
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO threads (key, kind, document_id, version_id, in_reply_to, created_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING RETURNING id",
        )?
        .query_row(
            rusqlite::params![
                thread.key,
                thread.kind.as_str(),
                thread.document_id,
                version_id,
                thread.in_reply_to,
                now,
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(id) = id else { return Ok(false) };
    let mut insert = conn.prepare_cached(
        "INSERT INTO outbox (thread_id, seq, text, spoiler, visibility, language, idempotency_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )?;
    for (i, p) in thread.posts.iter().enumerate() {
        insert.execute(rusqlite::params![
            id,
            i as i64 + 1,
            p.text,
            p.spoiler,
            p.visibility.as_str(),
            p.language.map(Lang::as_str),
            idempotency_key(&thread.key, i + 1),
            now,
        ])?;
    }
    Ok(true)
}

impl Store {
    /// Writes a thread on its own (answers to mentions, notices).
    pub async fn enqueue_thread(&self, thread: &NewThread) -> Result<bool> {
        let now = ts(Utc::now());
        self.lane
            .with(|c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let inserted = insert_thread_on(&tx, thread, None, &now)?;
                tx.commit()?;
                Ok::<_, rusqlite::Error>(inserted)
            })
            .await
    }

    /// The next post to send: the first unsent post of the oldest thread
    /// that has no failed post, whose previous post is sent, and whose retry
    /// time has come. Threads go out one at a time, posts in order.
    pub async fn next_due_post(&self, now: DateTime<Utc>) -> Result<Option<DuePost>> {
        let row: Option<DueRow> = sqlx::query_as(
            "SELECT o.id, o.thread_id, o.seq, o.text, o.spoiler, o.visibility, o.language, o.idempotency_key,
                    o.state, o.created_at, o.next_attempt_at, t.in_reply_to,
                    (SELECT p.remote_id FROM outbox p WHERE p.thread_id = o.thread_id AND p.seq = o.seq - 1)
                        AS previous_remote_id
             FROM outbox o JOIN threads t ON t.id = o.thread_id
             WHERE o.state IN ('pending', 'sending')
               AND NOT EXISTS (SELECT 1 FROM outbox f WHERE f.thread_id = o.thread_id AND f.state = 'failed')
               AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.thread_id = o.thread_id AND e.seq < o.seq AND e.state != 'sent')
             ORDER BY o.thread_id, o.seq LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        if r.next_attempt_at
            .as_deref()
            .is_some_and(|n| parse_ts(n) > now)
        {
            return Ok(None);
        }
        Ok(Some(DuePost {
            id: r.id,
            thread_id: r.thread_id,
            seq: r.seq,
            text: r.text,
            spoiler: r.spoiler,
            visibility: r.visibility.parse()?,
            language: r.language.map(|l| l.parse()).transpose()?,
            idempotency_key: r.idempotency_key,
            maybe_sent: r.state.parse::<OutboxState>()? == OutboxState::Sending,
            // Post 1 answers what the thread answers; the others, the post
            // before them.
            reply_to: if r.seq == 1 {
                r.in_reply_to
            } else {
                r.previous_remote_id
            },
            created_at: parse_ts(&r.created_at),
        }))
    }

    /// When the head of the queue may be tried again (for the publisher's sleep).
    pub async fn next_attempt_at(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<String> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sending') AND next_attempt_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(t.map(|t| parse_ts(&t)))
    }

    /// Marks a post as possibly sent, before the request leaves: after a
    /// crash, the publisher then looks for it on the server before resending.
    /// How many times a post was sent.
    pub async fn attempts(&self, id: i64) -> Result<u32> {
        let n: i64 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u32)
    }

    pub async fn mark_sending(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_sent(
        &self,
        id: i64,
        remote_id: &str,
        remote_url: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', remote_id = ?, remote_url = ?, sent_at = ?, last_error = NULL,
                next_attempt_at = NULL WHERE id = ?",
        )
        .bind(remote_id)
        .bind(remote_url)
        .bind(ts(Utc::now()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Schedules another attempt. `maybe_sent` keeps the post in the
    /// "outcome unknown" state (timeouts, 5xx) or returns it to pending
    /// (the server said it did not post it, e.g. 429).
    pub async fn retry_later(
        &self,
        id: i64,
        at: DateTime<Utc>,
        error: &str,
        maybe_sent: bool,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
        )
        .bind(if maybe_sent {
            OutboxState::Sending.as_str()
        } else {
            OutboxState::Pending.as_str()
        })
        .bind(ts(at))
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The server refused the post: it stays failed (and its thread stops)
    /// until someone looks; `status` shows the reason.
    pub async fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?")
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn outbox_summary(&self) -> Result<OutboxSummary> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let mut s = OutboxSummary::default();
        for (state, n) in rows {
            match state.parse()? {
                OutboxState::Pending => s.pending = n,
                OutboxState::Sending => s.sending = n,
                OutboxState::Sent => s.sent = n,
                OutboxState::Failed => s.failed = n,
            }
        }
        s.failures = sqlx::query_as(
            "SELECT t.key AS thread, o.seq, COALESCE(o.last_error, '') AS error
             FROM outbox o JOIN threads t ON t.id = o.thread_id
             WHERE o.state = 'failed' ORDER BY o.id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(s)
    }
}

/// A thread as `clausewatch outbox` shows it.
#[derive(Debug, Clone)]
pub struct ThreadView {
    pub key: String,
    pub kind: ThreadKind,
    pub document: Option<String>,
    /// The version it announces (its number).
    pub version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub posts: Vec<PostView>,
}

impl ThreadView {
    /// The thread's state: failed when a post failed (the rest wait for it),
    /// sent when all are, sending when one may be on the server, else
    /// pending.
    pub fn state(&self) -> OutboxState {
        let any = |s: OutboxState| self.posts.iter().any(|p| p.state == s);
        if any(OutboxState::Failed) {
            OutboxState::Failed
        } else if self.posts.iter().all(|p| p.state == OutboxState::Sent) {
            OutboxState::Sent
        } else if any(OutboxState::Sending) {
            OutboxState::Sending
        } else {
            OutboxState::Pending
        }
    }
}

/// One post of a [`ThreadView`].
#[derive(Debug, Clone)]
pub struct PostView {
    pub seq: i64,
    pub text: String,
    pub state: OutboxState,
    pub remote_id: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ThreadRow {
    id: i64,
    key: String,
    kind: String,
    document_id: Option<String>,
    number: Option<i64>,
    created_at: String,
}

#[derive(sqlx::FromRow)]
struct PostRow {
    thread_id: i64,
    seq: i64,
    text: String,
    state: String,
    remote_id: Option<String>,
    last_error: Option<String>,
    attempts: i64,
    next_attempt_at: Option<String>,
}

impl Store {
    /// Every thread with its posts, oldest first (`limit` newest threads).
    pub async fn threads(&self, limit: i64) -> Result<Vec<ThreadView>> {
        let threads: Vec<ThreadRow> = sqlx::query_as(
            "SELECT * FROM (
                SELECT t.id, t.key, t.kind, t.document_id, v.number, t.created_at
                FROM threads t LEFT JOIN versions v ON v.id = t.version_id
                ORDER BY t.id DESC LIMIT ?
             ) ORDER BY id",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let first = threads.first().map_or(0, |t| t.id);
        let posts: Vec<PostRow> = sqlx::query_as(
            "SELECT thread_id, seq, text, state, remote_id, last_error, attempts, next_attempt_at
             FROM outbox WHERE thread_id >= ? ORDER BY thread_id, seq",
        )
        .bind(first)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(threads.len());
        for t in threads {
            let mut view = ThreadView {
                key: t.key,
                kind: t.kind.parse()?,
                document: t.document_id,
                version: t.number,
                created_at: parse_ts(&t.created_at),
                posts: Vec::new(),
            };
            for p in posts.iter().filter(|p| p.thread_id == t.id) {
                view.posts.push(PostView {
                    seq: p.seq,
                    text: p.text.clone(),
                    state: p.state.parse()?,
                    remote_id: p.remote_id.clone(),
                    error: p.last_error.clone(),
                    attempts: p.attempts,
                    next_attempt_at: p.next_attempt_at.as_deref().map(parse_ts),
                });
            }
            out.push(view);
        }
        Ok(out)
    }

    /// Puts the failed posts (of the thread `key`, or of every thread) back
    /// in line, in their place: a failed post was refused by the server, so
    /// sending it again cannot duplicate it, and the posts after it were
    /// waiting for it. Returns how many were re-queued.
    pub async fn retry_failed(&self, key: Option<&str>) -> Result<u64> {
        let mut tx = self.write().await?;
        let r = sqlx::query(
            "UPDATE outbox SET state = 'pending', next_attempt_at = NULL
             WHERE state = 'failed'
               AND (?1 IS NULL OR thread_id = (SELECT id FROM threads WHERE key = ?1))",
        )
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected())
    }

    /// Whether a thread with this key exists.
    pub async fn thread_exists(&self, key: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM threads WHERE key = ?")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn thread(key: &str, posts: usize) -> NewThread {
        NewThread {
            key: key.into(),
            kind: ThreadKind::Notice,
            document_id: None,
            in_reply_to: Some("remote-1".into()),
            posts: (1..=posts)
                .map(|i| NewPost {
                    text: format!("{key} {i}"),
                    spoiler: None,
                    visibility: Visibility::Unlisted,
                    language: Some(Lang::En),
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn threads_go_out_one_at_a_time_posts_in_order() {
        let (_dir, store) = testing::store().await;
        assert!(store.enqueue_thread(&thread("a", 2)).await.unwrap());
        assert!(store.enqueue_thread(&thread("b", 1)).await.unwrap());
        // The same key again is ignored: nothing is announced twice.
        assert!(!store.enqueue_thread(&thread("a", 2)).await.unwrap());
        let now = Utc::now();
        let first = store.next_due_post(now).await.unwrap().unwrap();
        assert_eq!(
            (first.text.as_str(), first.reply_to.as_deref()),
            ("a 1", Some("remote-1"))
        );
        store.mark_sending(first.id).await.unwrap();
        // Until post 1 has its remote id, nothing else is due but post 1.
        let again = store.next_due_post(now).await.unwrap().unwrap();
        assert_eq!(again.id, first.id);
        assert!(again.maybe_sent);
        store.mark_sent(first.id, "r1", None).await.unwrap();
        let second = store.next_due_post(now).await.unwrap().unwrap();
        assert_eq!(
            (second.text.as_str(), second.reply_to.as_deref()),
            ("a 2", Some("r1"))
        );
        // A refused post stops its thread, not the next one.
        store.mark_failed(second.id, "422 too long").await.unwrap();
        let other = store.next_due_post(now).await.unwrap().unwrap();
        assert_eq!(other.text, "b 1");
        let summary = store.outbox_summary().await.unwrap();
        assert_eq!((summary.pending, summary.sent, summary.failed), (1, 1, 1));
        assert_eq!(summary.failures[0].thread, "a");
        let views = store.threads(10).await.unwrap();
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].state(), OutboxState::Failed);
        assert_eq!(views[1].state(), OutboxState::Pending);
        // `outbox retry a` puts the refused post back in its place: it is
        // due again before thread b, and its reply target is unchanged.
        assert_eq!(store.retry_failed(Some("a")).await.unwrap(), 1);
        let again = store.next_due_post(now).await.unwrap().unwrap();
        assert_eq!(
            (again.id, again.reply_to.as_deref()),
            (second.id, Some("r1"))
        );
        assert_eq!(store.retry_failed(None).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_post_waits_for_its_retry_time() {
        let (_dir, store) = testing::store().await;
        store.enqueue_thread(&thread("a", 1)).await.unwrap();
        let now = Utc::now();
        let post = store.next_due_post(now).await.unwrap().unwrap();
        let later = now + chrono::Duration::seconds(30);
        store
            .retry_later(post.id, later, "429", false)
            .await
            .unwrap();
        assert!(store.next_due_post(now).await.unwrap().is_none());
        assert_eq!(
            store.next_attempt_at().await.unwrap().unwrap(),
            parse_ts(&ts(later))
        );
        assert!(store.next_due_post(later).await.unwrap().is_some());
    }
}
