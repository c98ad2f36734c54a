//! The outbox publisher: sends queued posts in order, exactly once.
//!
//! Posts are written to the outbox in the same transaction as what they
//! announce. This task sends them one at a time, each replying to the
//! previous post's remote id, and records each remote id before sending the
//! next. Before a request leaves, the post is marked `sending`; a post found
//! in that state (crash, timeout, 5xx) is looked for among the account's
//! recent statuses and adopted if it is there, instead of being posted again.
//! The `Idempotency-Key` makes servers that honour it (Mastodon) deduplicate
//! on their side too; the read-back covers those that ignore it.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Notify};

use super::client::{ApiError, Client, NewStatus};
use super::connection::Connection;
use crate::html_text::html_to_text as plain_text;
use crate::metrics::Metrics;
use crate::store::{DuePost, Store, StoreError};

/// Where posts go.
#[derive(Clone)]
pub enum Sink {
    /// No account configured: print each post on stdout.
    Preview,
    /// A real account (verified lazily: the instance may be down at start).
    Account(Arc<Connection>),
}

/// A 429 whose reset is further away than this is not believed: the post
/// is tried again after this long (and the oddity logged).
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(15 * 60);

/// How often an idle publisher looks for posts that another process (a
/// `clausewatch check` run by hand) queued.
pub const IDLE_POLL: Duration = Duration::from_secs(1);

/// The `kv` key under which the publisher says why posting is paused.
pub const BLOCKED_KEY: &str = "publisher_blocked";

#[derive(Clone)]
pub struct Publisher {
    pub store: Store,
    pub sink: Sink,
    /// Pause between two posts (politeness; also spreads a thread out).
    pub post_interval: Duration,
    pub metrics: Arc<Metrics>,
    /// Woken when something is queued.
    pub wake: Arc<Notify>,
    /// 401/403 answers in a row: posting is paused, not the thread.
    pub auth_failures: Arc<std::sync::atomic::AtomicU32>,
}

/// What one attempt did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing is due now.
    Idle,
    Sent,
    Adopted,
    RetryLater,
    Failed,
    /// The token was refused: nothing is sent until it works again.
    Unauthorized,
}

/// Wait before sending a post again after its `attempt`-th try: 1 s
/// doubling to 10 minutes, never at once.
fn backoff(attempt: u32) -> Duration {
    crate::retry::Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(600),
    }
    .delay_at_least_half(attempt, &mut rand::thread_rng())
}

fn comparable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Publisher {
    /// Sends due posts until `shutdown`; a post being sent when shutdown
    /// comes is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if let Sink::Account(connection) = &self.sink {
            // The read-back needs the account id; wait for it (the instance
            // may be down at start), watching pages meanwhile is not ours.
            if connection.account(&mut shutdown).await.is_none() {
                return;
            }
        }
        let mut attempts_in_a_row = 0u32;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let step = match self.step().await {
                Ok(step) => step,
                Err(e) => {
                    tracing::error!(error = %e, "outbox: database error");
                    Step::RetryLater
                }
            };
            if let Ok(s) = self.store.outbox_summary().await {
                self.metrics
                    .outbox_depth
                    .store((s.pending + s.sending) as u64, Ordering::Relaxed);
            }
            let wait = match step {
                Step::Sent | Step::Adopted => {
                    attempts_in_a_row = 0;
                    // The pause between two posts holds whatever wakes us:
                    // a check that queued something meanwhile must not cut
                    // it short.
                    tokio::select! {
                        _ = tokio::time::sleep(self.post_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
                Step::Failed => Duration::ZERO,
                Step::RetryLater | Step::Unauthorized => {
                    attempts_in_a_row += 1;
                    Duration::from_millis(200 * attempts_in_a_row.min(10) as u64)
                }
                Step::Idle => {
                    // Sleep until the next retry time or a wake-up, and look
                    // again every second for posts another process queued.
                    match self.store.next_attempt_at().await.ok().flatten() {
                        Some(t) => crate::retry::until(t, Utc::now()).min(IDLE_POLL),
                        None => IDLE_POLL,
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One attempt at the post at the head of the queue.
    pub async fn step(&self) -> Result<Step, StoreError> {
        let Some(post) = self.store.next_due_post(Utc::now()).await? else {
            return Ok(Step::Idle);
        };
        if post.seq > 1 && post.reply_to.is_none() {
            // Cannot happen: a later post is only due once its predecessor
            // is sent, and sent posts have a remote id.
            self.store
                .mark_failed(post.id, "previous post has no remote id")
                .await?;
            return Ok(Step::Failed);
        }
        match &self.sink {
            Sink::Preview => {
                {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(
                        out,
                        "── post {} of thread {} ({}) ──",
                        post.seq, post.thread_id, post.visibility
                    );
                    if let Some(sp) = &post.spoiler {
                        let _ = writeln!(out, "CW: {sp}");
                    }
                    let _ = writeln!(out, "{}\n", post.text);
                    let _ = out.flush();
                }
                self.store
                    .mark_sent(post.id, &format!("preview-{}", post.id), None)
                    .await?;
                self.metrics.posts_sent.fetch_add(1, Ordering::Relaxed);
                Ok(Step::Sent)
            }
            Sink::Account(connection) => {
                let Some(account) = connection.verified() else {
                    return Ok(Step::Idle);
                };
                let account_id = account.id.clone();
                self.send(connection, &account_id, &post).await
            }
        }
    }

    async fn send(
        &self,
        connection: &Connection,
        account_id: &str,
        post: &DuePost,
    ) -> Result<Step, StoreError> {
        let client = &connection.client;
        if post.maybe_sent {
            match self.find_on_server(client, account_id, post).await {
                Ok(Some((id, url))) => {
                    tracing::info!(thread = post.thread_id, seq = post.seq, remote_id = %id, "outbox: post was already on the server; adopted");
                    self.store.mark_sent(post.id, &id, url.as_deref()).await?;
                    return Ok(Step::Adopted);
                }
                Ok(None) => {}
                Err(e) => {
                    // Without the read-back we cannot know: do not risk a
                    // duplicate, try again later.
                    let at =
                        Utc::now() + chrono::Duration::from_std(backoff(1)).unwrap_or_default();
                    self.store
                        .retry_later(post.id, at, &e.to_string(), true)
                        .await?;
                    return Ok(Step::RetryLater);
                }
            }
        }
        self.store.mark_sending(post.id).await?;
        let result = client
            .post_status(&NewStatus {
                text: &post.text,
                spoiler: post.spoiler.as_deref(),
                visibility: post.visibility.as_str(),
                language: post.language.map(|l| l.as_str()),
                in_reply_to: post.reply_to.as_deref(),
                idempotency_key: &post.idempotency_key,
            })
            .await;
        match result {
            Ok(status) => {
                self.store
                    .mark_sent(post.id, &status.id, status.url.as_deref())
                    .await?;
                if self.auth_failures.swap(0, Ordering::Relaxed) > 0 {
                    tracing::info!("outbox: the token works again; posting resumed");
                }
                self.store.kv_delete(BLOCKED_KEY).await?;
                self.metrics.posts_sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(thread = post.thread_id, seq = post.seq, remote_id = %status.id, "outbox: posted");
                Ok(Step::Sent)
            }
            Err(ApiError::RateLimited { reset, .. }) => {
                self.metrics
                    .rate_limit_waits
                    .fetch_add(1, Ordering::Relaxed);
                let now = Utc::now();
                let latest =
                    now + chrono::Duration::from_std(MAX_RATE_LIMIT_WAIT).unwrap_or_default();
                let mut at: DateTime<Utc> =
                    reset.unwrap_or_else(|| now + chrono::Duration::seconds(60));
                if at > latest {
                    tracing::warn!(thread = post.thread_id, seq = post.seq, server_reset = %at, retry_at = %latest, "outbox: rate limited with a reset too far away; trying again sooner");
                    at = latest;
                }
                tracing::warn!(thread = post.thread_id, seq = post.seq, until = %at, "outbox: rate limited");
                // A 429 means the server did not post it.
                self.store
                    .retry_later(post.id, at, "rate limited (HTTP 429)", false)
                    .await?;
                Ok(Step::RetryLater)
            }
            Err(e @ ApiError::Unauthorized { .. }) => {
                // The token, not the post: nothing was posted. Pause posting
                // (this post stays first in line), re-read the token file,
                // and try again with backoff until it works.
                let failures = self.auth_failures.fetch_add(1, Ordering::Relaxed);
                let reloaded = connection.reload_token();
                let wait = if reloaded {
                    Duration::ZERO
                } else {
                    backoff(failures)
                };
                let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::error!(thread = post.thread_id, seq = post.seq, error = %e, retry_at = %at, "outbox: the token was refused; posting paused (run `clausewatch doctor`)");
                self.store
                    .retry_later(post.id, at, &e.to_string(), false)
                    .await?;
                self.store
                    .kv_set(
                        BLOCKED_KEY,
                        &format!("since {}: {e}", crate::store::ts(Utc::now())),
                    )
                    .await?;
                Ok(Step::Unauthorized)
            }
            Err(e) if e.outcome_unknown() => {
                let attempt = self.attempts(post.id).await?;
                let at =
                    Utc::now() + chrono::Duration::from_std(backoff(attempt)).unwrap_or_default();
                tracing::warn!(thread = post.thread_id, seq = post.seq, error = %e, retry_at = %at, "outbox: will retry");
                self.store
                    .retry_later(post.id, at, &e.to_string(), true)
                    .await?;
                Ok(Step::RetryLater)
            }
            Err(e) => {
                tracing::error!(thread = post.thread_id, seq = post.seq, error = %e, "outbox: post refused; thread stopped");
                self.store.mark_failed(post.id, &e.to_string()).await?;
                self.metrics.posts_failed.fetch_add(1, Ordering::Relaxed);
                Ok(Step::Failed)
            }
        }
    }

    async fn attempts(&self, id: i64) -> Result<u32, StoreError> {
        self.store.attempts(id).await
    }

    /// Looks for a post among the account's recent statuses: same parent,
    /// same text, not older than the post itself.
    async fn find_on_server(
        &self,
        client: &Client,
        account_id: &str,
        post: &DuePost,
    ) -> Result<Option<(String, Option<String>)>, ApiError> {
        let recent = client.account_statuses(account_id, 40).await?;
        let want = comparable(&post.text);
        let earliest = post.created_at - chrono::Duration::minutes(5);
        Ok(recent
            .into_iter()
            .find(|s| {
                s.in_reply_to_id == post.reply_to
                    && s.created_at.is_none_or(|t| t >= earliest)
                    && comparable(&plain_text(&s.content)) == want
            })
            .map(|s| (s.id, s.url)))
    }
}
