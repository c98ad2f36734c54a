//! The mention listener: polls mention notifications with a cursor kept in
//! SQLite, answers each mention once, in-thread, through the outbox.
//!
//! A mention counts only when the status's `mentions` include the bot's own
//! account id. The bot's own statuses and accounts with the bot flag are
//! ignored (no bot loops). Each account gets a few commands per window, and
//! all replies share a budget below the server's posting limit.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Notify};

use super::answer::{answer, Answer, Context};
use super::parse::{self, Command, DocInfo, ParseError};
use crate::announce::Announce;
use crate::config::{Config, Document};
use crate::defaults as D;
use crate::domain::{Lang, MentionOutcome, Visibility};
use crate::fediverse::client::{Account, ApiError, Mention};
use crate::fediverse::connection::Connection;
use crate::metrics::Metrics;
use crate::pipeline::diff::ChangeSet;
use crate::store::{MentionRecord, NewThread, Store, StoreError};
use crate::watch::check::Checker;
use url::Url;

/// Limits of the listener (from `[fediverse]`).
#[derive(Clone, Debug)]
pub struct Limits {
    pub poll_interval: Duration,
    /// Commands per account per `rate_window`.
    pub per_account: i64,
    pub rate_window: chrono::Duration,
    /// Posts (all kinds) per 3 hours above which replies and subscription
    /// messages stop.
    pub reply_budget: i64,
    /// Documents one account may subscribe to.
    pub subscriptions_per_account: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            poll_interval: D::POLL_INTERVAL,
            per_account: D::COMMANDS_PER_ACCOUNT,
            rate_window: chrono::Duration::from_std(D::COMMAND_WINDOW).expect("ten minutes fit"),
            reply_budget: D::REPLY_BUDGET,
            subscriptions_per_account: D::SUBSCRIPTIONS_PER_ACCOUNT,
        }
    }
}

#[derive(Clone)]
pub struct Listener {
    pub connection: Arc<Connection>,
    /// The instance's own domain (`/api/v2/instance` `domain`), which local
    /// accounts are known by; when unknown, the account URL's host and port.
    pub domain: Option<String>,
    pub store: Store,
    pub config: Arc<Config>,
    pub checker: Checker,
    pub announce: Announce,
    pub limits: Limits,
    pub wake_publisher: Arc<Notify>,
    pub metrics: Arc<Metrics>,
}

fn doc_infos(config: &Config) -> Vec<DocInfo> {
    config
        .documents
        .iter()
        .map(|d: &Document| DocInfo {
            id: d.id.clone(),
            name: d.name.clone(),
            service: d.service.clone(),
            language: d.language.clone(),
            tags: d.tags.clone(),
        })
        .collect()
}

/// The bot's domain from its account URL (host and port) when the
/// instance did not name it.
fn domain_of(account: &Account) -> Option<String> {
    let url = Url::parse(account.url.as_deref()?).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// Who a mention's author is: `user@domain`, lowercase. The server's
/// `acct` is `user` for local accounts and `user@host` for remote ones.
pub fn account_key(acct: &str, own_domain: &str) -> String {
    let a = acct.to_lowercase();
    if a.contains('@') {
        a
    } else {
        format!("{a}@{}", own_domain.to_lowercase())
    }
}

/// How to mention an account in a post: local accounts by their name alone
/// (a domain with a port is no valid mention), remote ones in full.
pub fn mention_of(account_key: &str, own_domain: &str) -> String {
    match account_key.rsplit_once('@') {
        Some((user, domain)) if domain.eq_ignore_ascii_case(own_domain) => format!("@{user}"),
        _ => format!("@{account_key}"),
    }
}

/// The listener once connected: the bot's account id and domain known.
struct Connected<'a> {
    listener: &'a Listener,
    account_id: String,
    domain: String,
}

impl Listener {
    /// Waits for the account (the instance may be down at start), then
    /// polls until shutdown.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let Some(account) = self.connection.account(&mut shutdown).await else {
            return;
        };
        let domain = self
            .domain
            .clone()
            .or_else(|| domain_of(account))
            .or_else(|| {
                let url = self.connection.client.instance_url();
                url.host_str().map(String::from)
            })
            .unwrap_or_default();
        let connected = Connected {
            listener: &self,
            account_id: account.id.clone(),
            domain,
        };
        connected.run(shutdown).await;
    }
}

impl std::ops::Deref for Connected<'_> {
    type Target = Listener;
    fn deref(&self) -> &Listener {
        self.listener
    }
}

impl Connected<'_> {
    async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.poll_once().await {
                Ok(n) if n > 0 => tracing::debug!(handled = n, "mentions handled"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mentions: poll failed; will retry"),
            }
            if let Err(e) = self.notify_subscribers().await {
                tracing::warn!(error = %e, "subscriptions: could not queue direct messages");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.limits.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One poll: every new mention is recorded and, when it deserves it,
    /// answered.
    pub async fn poll_once(&self) -> Result<usize, ListenError> {
        let cursor = self.store.kv_get("mention_cursor").await?;
        let mentions = self
            .connection
            .client
            .mentions_since(cursor.as_deref())
            .await?;
        let mut handled = 0;
        for m in &mentions {
            if self.store.mention_handled(&m.notification_id).await? {
                continue;
            }
            self.handle(m).await?;
            handled += 1;
            self.metrics
                .mentions_handled
                .fetch_add(1, Ordering::Relaxed);
        }
        if handled > 0 {
            self.wake_publisher.notify_one();
        }
        Ok(handled)
    }

    fn acct(&self, m: &Mention) -> String {
        account_key(&m.status.account_acct, &self.domain)
    }

    async fn handle(&self, m: &Mention) -> Result<(), ListenError> {
        let account = self.acct(m);
        let record = |outcome: MentionOutcome, command: Option<&'static str>| MentionRecord {
            notification_id: &m.notification_id,
            status_id: &m.status.id,
            account: &account,
            command,
            outcome,
        };
        let cursor = m.notification_id.clone();
        // Not for us, our own, or another bot: record and stay silent.
        let silent = if m.status.account_id == self.account_id {
            Some(MentionOutcome::Own)
        } else if !m.status.mention_ids.contains(&self.account_id) {
            Some(MentionOutcome::NotForUs)
        } else if m.status.account_bot {
            Some(MentionOutcome::IgnoredBot)
        } else {
            None
        };
        if let Some(outcome) = silent {
            self.store
                .record_mention(&record(outcome, None), None, &cursor)
                .await?;
            return Ok(());
        }
        let now = Utc::now();
        let recent = self
            .store
            .mentions_from(
                &account,
                now - self.limits.rate_window,
                &[
                    MentionOutcome::Answered,
                    MentionOutcome::Unknown,
                    MentionOutcome::ErrorReply,
                ],
            )
            .await?;
        if recent >= self.limits.per_account {
            tracing::info!(account = %account, "mentions: rate limited");
            self.store
                .record_mention(&record(MentionOutcome::RateLimited, None), None, &cursor)
                .await?;
            return Ok(());
        }
        if self
            .store
            .posts_since(now - chrono::Duration::hours(3))
            .await?
            >= self.limits.reply_budget
        {
            tracing::warn!("mentions: reply budget used up; not answering");
            self.store
                .record_mention(&record(MentionOutcome::Budget, None), None, &cursor)
                .await?;
            return Ok(());
        }

        let docs = doc_infos(&self.config);
        let parsed = parse::parse(&m.status.content, &docs);
        // The reply's language is the command word's; a word both languages
        // use ("diff") takes the document's.
        let lang = parse::language(&m.status.content)
            .or_else(|| {
                let doc = command_doc(parsed.as_ref().ok()?)?;
                Some(Lang::for_tag(&self.config.document(doc)?.language))
            })
            .unwrap_or(Lang::En);
        let (outcome, name, reply): (MentionOutcome, Option<&'static str>, Option<Answer>) =
            match &parsed {
                Ok(cmd) => {
                    let is_admin = self
                        .config
                        .fediverse
                        .as_ref()
                        .is_some_and(|f| f.admins.contains(&account));
                    let ctx = Context {
                        store: &self.store,
                        config: &self.config,
                        checker: &self.checker,
                        account: &account,
                        is_admin,
                        lang,
                        subscriptions_per_account: self.limits.subscriptions_per_account,
                    };
                    (
                        MentionOutcome::Answered,
                        Some(cmd.name()),
                        Some(answer(cmd, &ctx).await?),
                    )
                }
                Err(ParseError::Empty) | Err(ParseError::Unknown { .. }) => {
                    // A pointer to help, at most once per account per hour.
                    let told = self
                        .store
                        .mentions_from(
                            &account,
                            now - chrono::Duration::hours(1),
                            &[MentionOutcome::Unknown],
                        )
                        .await?;
                    if told > 0 {
                        (MentionOutcome::IgnoredUnknown, None, None)
                    } else {
                        let text = crate::announce::text::not_understood(lang);
                        (MentionOutcome::Unknown, None, Some(Answer::Text(text)))
                    }
                }
                Err(e) => (
                    MentionOutcome::ErrorReply,
                    None,
                    Some(Answer::Text(e.to_string())),
                ),
            };
        let thread = reply.map(|a| self.reply_thread(m, a, lang));
        self.store
            .record_mention(&record(outcome, name), thread.as_ref(), &cursor)
            .await?;
        tracing::info!(account = %account, outcome = %outcome, command = name.unwrap_or("-"), "mention handled");
        Ok(())
    }

    fn reply_thread(&self, m: &Mention, answer: Answer, lang: Lang) -> NewThread {
        // The server's `acct` is `user` for local accounts and `user@host`
        // for remote ones: exactly the mention to write.
        let mention = format!("@{}", m.status.account_acct);
        let asked = m
            .status
            .visibility
            .parse::<Visibility>()
            .unwrap_or(Visibility::Direct);
        let a = &self.announce;
        match answer {
            Answer::Text(t) => a.reply(&m.notification_id, &m.status.id, &mention, &t, asked, lang),
            Answer::Changes {
                doc,
                version,
                previous,
                seen_at,
                changes,
            } => match self.config.document(&doc) {
                Some(d) => a.change_reply(
                    &m.notification_id,
                    &m.status.id,
                    &mention,
                    d,
                    &changes,
                    version,
                    previous,
                    seen_at,
                    asked,
                ),
                None => a.reply(
                    &m.notification_id,
                    &m.status.id,
                    &mention,
                    &crate::pipeline::diff::render_text(&changes, false),
                    asked,
                    lang,
                ),
            },
        }
    }

    /// Sends each subscriber of a changed document a direct message, made
    /// from the stored change set (not read back out of the outbox).
    pub async fn notify_subscribers(&self) -> Result<(), StoreError> {
        let after: i64 = self
            .store
            .kv_get("subscription_cursor")
            .await?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        for (thread_id, doc_id, version_id) in self.store.change_threads_after(after).await? {
            let subscribers = self.store.subscribers(&doc_id).await?;
            // Direct messages are posts like any other: they wait while the
            // posting budget is used up (the cursor stays, nothing is lost).
            let queued = self
                .store
                .posts_since(Utc::now() - chrono::Duration::hours(3))
                .await?;
            if !subscribers.is_empty()
                && queued + subscribers.len() as i64 > self.limits.reply_budget
            {
                tracing::warn!(document = %doc_id, subscribers = subscribers.len(), "subscriptions: posting budget used up; direct messages wait");
                break;
            }
            let change = match (version_id, self.config.document(&doc_id)) {
                (Some(id), Some(doc)) if !subscribers.is_empty() => {
                    let version = self.store.version_by_id(id).await?;
                    let changes: Option<ChangeSet> = self
                        .store
                        .changeset_json(id)
                        .await?
                        .and_then(|json| crate::pipeline::diff::stored::from_json(&json).ok());
                    version.zip(changes).map(|(v, cs)| (doc, v, cs))
                }
                _ => None,
            };
            if let Some((doc, v, cs)) = change {
                for account in subscribers {
                    let thread = self.announce.subscription_message(
                        thread_id,
                        &account,
                        &mention_of(&account, &self.domain),
                        doc,
                        &cs,
                        v.version,
                        (v.version > 1).then_some(v.version - 1),
                        v.first_seen,
                    );
                    self.store.enqueue_thread(&thread).await?;
                }
            }
            self.store
                .kv_set("subscription_cursor", &thread_id.to_string())
                .await?;
            self.wake_publisher.notify_one();
        }
        Ok(())
    }
}

/// The document a command is about, if any.
fn command_doc(c: &Command) -> Option<&str> {
    match c {
        Command::History { doc, .. }
        | Command::Diff { doc, .. }
        | Command::Show { doc, .. }
        | Command::When { doc, .. }
        | Command::Subscribe { doc }
        | Command::Unsubscribe { doc }
        | Command::Check { doc }
        | Command::Pause { doc }
        | Command::Resume { doc } => Some(doc),
        _ => None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
