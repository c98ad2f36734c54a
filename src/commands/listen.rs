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
use crate::check::{Announce, Checker};
use crate::config::{Config, Document};
use crate::fediverse::client::{ApiError, Client, Mention};
use crate::fediverse::count::status_length;
use crate::metrics::Metrics;
use crate::store::{MentionRecord, NewPost, NewThread, Store, StoreError};

/// Limits of the listener (from `[fediverse]`).
#[derive(Clone, Debug)]
pub struct Limits {
    pub poll_interval: Duration,
    /// Commands per account per `rate_window`.
    pub per_account: i64,
    pub rate_window: chrono::Duration,
    /// Posts (all kinds) per 3 hours above which replies stop.
    pub reply_budget: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            poll_interval: Duration::from_secs(30),
            per_account: 5,
            rate_window: chrono::Duration::minutes(10),
            // Mastodon allows 300 posts per 3 hours; keep room for change
            // threads.
            reply_budget: 240,
        }
    }
}

#[derive(Clone)]
pub struct Listener {
    pub client: Client,
    /// The bot's own account id (from verify_credentials).
    pub account_id: String,
    /// The bot's domain, to write `user@host` for local accounts.
    pub domain: String,
    pub store: Store,
    pub config: Arc<Config>,
    pub checker: Checker,
    pub announce: Announce,
    pub limits: Limits,
    pub wake_publisher: Arc<Notify>,
    pub metrics: Arc<Metrics>,
}

const VISIBILITY_RANK: [&str; 4] = ["public", "unlisted", "private", "direct"];

/// The narrower of two visibilities (a reply is never more visible than
/// the request).
pub fn narrower<'a>(a: &'a str, b: &'a str) -> &'a str {
    let rank = |v: &str| VISIBILITY_RANK.iter().position(|x| *x == v).unwrap_or(3);
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// Splits a reply into posts that each start with the mention and fit the
/// limit, numbered when there are several.
pub fn reply_posts(
    mention: &str,
    text: &str,
    max_chars: usize,
    chars_per_url: usize,
) -> Vec<String> {
    // Room for "@user " and " 10/10".
    let room = max_chars
        .saturating_sub(status_length(mention, None, chars_per_url) + 1 + 7)
        .max(40);
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        for word in line.split(' ') {
            let candidate = if current.is_empty() || current.ends_with('\n') {
                format!("{current}{word}")
            } else {
                format!("{current} {word}")
            };
            if status_length(&candidate, None, chars_per_url) > room && !current.is_empty() {
                chunks.push(current.trim_end().to_string());
                current = word.to_string();
            } else {
                current = candidate;
            }
        }
        current.push('\n');
    }
    if !current.trim().is_empty() {
        chunks.push(current.trim_end().to_string());
    }
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            if n > 1 {
                format!("{mention} {c} {}/{n}", i + 1)
            } else {
                format!("{mention} {c}")
            }
        })
        .collect()
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

impl Listener {
    /// Polls until shutdown.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
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
        let mentions = self.client.mentions_since(cursor.as_deref()).await?;
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
        let a = m.status.account_acct.to_lowercase();
        if a.contains('@') {
            a
        } else {
            format!("{a}@{}", self.domain)
        }
    }

    async fn handle(&self, m: &Mention) -> Result<(), ListenError> {
        let account = self.acct(m);
        let record = |outcome: &'static str, command: Option<&'static str>| MentionRecord {
            notification_id: &m.notification_id,
            status_id: &m.status.id,
            account: &account,
            command,
            outcome,
        };
        let cursor = m.notification_id.clone();
        // Not for us, our own, or another bot: record and stay silent.
        let silent = if m.status.account_id == self.account_id {
            Some("own")
        } else if !m.status.mention_ids.contains(&self.account_id) {
            Some("not_for_us")
        } else if m.status.account_bot {
            Some("ignored_bot")
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
                &["answered", "unknown", "error_reply"],
            )
            .await?;
        if recent >= self.limits.per_account {
            tracing::info!(account = %account, "mentions: rate limited");
            self.store
                .record_mention(&record("rate_limited", None), None, &cursor)
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
                .record_mention(&record("budget", None), None, &cursor)
                .await?;
            return Ok(());
        }

        let docs = doc_infos(&self.config);
        let parsed = parse::parse(&m.status.content, &docs);
        let french = m.status.content.to_lowercase().contains("aide")
            || matches!(&parsed, Ok(c) if command_doc(c).and_then(|d| self.config.document(d)).is_some_and(|d| d.language.starts_with("fr")));
        let (outcome, name, reply): (&'static str, Option<&'static str>, Option<Answer>) =
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
                        french,
                    };
                    ("answered", Some(cmd.name()), Some(answer(cmd, &ctx).await?))
                }
                Err(ParseError::Empty) | Err(ParseError::Unknown { .. }) => {
                    // A pointer to help, at most once per account per hour.
                    let told = self
                        .store
                        .mentions_from(&account, now - chrono::Duration::hours(1), &["unknown"])
                        .await?;
                    if told > 0 {
                        ("ignored_unknown", None, None)
                    } else {
                        let text = if french {
                            "Je n'ai pas compris. Répondez « aide » pour la liste des commandes."
                        } else {
                            "I did not understand that. Reply \"help\" for the commands."
                        };
                        ("unknown", None, Some(Answer::Text(text.into())))
                    }
                }
                Err(e) => ("error_reply", None, Some(Answer::Text(e.to_string()))),
            };
        let thread = reply.map(|a| self.reply_thread(m, &account, a));
        self.store
            .record_mention(&record(outcome, name), thread.as_ref(), &cursor)
            .await?;
        tracing::info!(account = %account, outcome, command = name.unwrap_or("-"), "mention handled");
        Ok(())
    }

    fn reply_thread(&self, m: &Mention, account: &str, answer: Answer) -> NewThread {
        // The server's `acct` is `user` for local accounts and `user@host`
        // for remote ones: exactly the mention to write.
        let mention = format!("@{}", m.status.account_acct);
        let visibility =
            narrower(&m.status.visibility, &self.announce.reply_visibility).to_string();
        let limit = self.announce.compose.max_chars;
        let per_url = self.announce.compose.chars_per_url;
        let texts: Vec<String> = match answer {
            Answer::Text(t) => reply_posts(&mention, &t, limit, per_url),
            Answer::Changes {
                doc,
                version,
                previous,
                changes,
            } => {
                let mut a = self.announce.clone();
                a.compose.max_chars =
                    limit.saturating_sub(status_length(&mention, None, per_url) + 1);
                a.compose.max_posts = a.compose.max_posts.min(5);
                let d = self.config.document(&doc).cloned();
                match d {
                    Some(d) => a
                        .thread(&d, &changes, version, previous, String::new())
                        .posts
                        .into_iter()
                        .map(|p| format!("{mention} {}", p.text))
                        .collect(),
                    None => reply_posts(
                        &mention,
                        &crate::diff::render_text(&changes, false),
                        limit,
                        per_url,
                    ),
                }
            }
        };
        let language = if texts
            .iter()
            .any(|t| t.contains("Section :") || t.contains("Commandes"))
        {
            "fr"
        } else {
            "en"
        };
        tracing::debug!(account, posts = texts.len(), "reply queued");
        NewThread {
            key: format!("mention:{}", m.notification_id),
            kind: "reply".into(),
            document_id: None,
            in_reply_to: Some(m.status.id.clone()),
            posts: texts
                .into_iter()
                .map(|text| NewPost {
                    text,
                    spoiler: None,
                    visibility: visibility.clone(),
                    language: Some(language.into()),
                })
                .collect(),
        }
    }

    /// Sends each subscriber of a changed document a direct message.
    pub async fn notify_subscribers(&self) -> Result<(), StoreError> {
        let after: i64 = self
            .store
            .kv_get("subscription_cursor")
            .await?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        for (thread_id, doc, first_post) in self.store.change_threads_after(after).await? {
            for account in self.store.subscribers(&doc).await? {
                let mention = format!("@{account}");
                // The first post of the announcement, without its "1/n".
                let body = first_post
                    .split_once(' ')
                    .map_or(first_post.as_str(), |(_, rest)| rest);
                let texts = reply_posts(
                    &mention,
                    body,
                    self.announce.compose.max_chars,
                    self.announce.compose.chars_per_url,
                );
                let thread = NewThread {
                    key: format!("dm:{thread_id}:{account}"),
                    kind: "direct".into(),
                    document_id: Some(doc.clone()),
                    in_reply_to: None,
                    posts: texts
                        .into_iter()
                        .map(|text| NewPost {
                            text,
                            spoiler: None,
                            visibility: "direct".into(),
                            language: None,
                        })
                        .collect(),
                };
                self.store.enqueue_thread(&thread).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_is_never_widened() {
        assert_eq!(narrower("direct", "unlisted"), "direct");
        assert_eq!(narrower("public", "unlisted"), "unlisted");
        assert_eq!(narrower("private", "unlisted"), "private");
    }

    #[test]
    fn long_replies_are_numbered_and_fit() {
        let text = "word ".repeat(300);
        let posts = reply_posts("@alice@example.org", &text, 200, 23);
        assert!(posts.len() > 1);
        for (i, p) in posts.iter().enumerate() {
            assert!(p.starts_with("@alice@example.org "), "{p}");
            assert!(p.ends_with(&format!("{}/{}", i + 1, posts.len())), "{p}");
            assert!(status_length(p, None, 23) <= 200, "{p}");
        }
        assert_eq!(
            reply_posts("@bob", "short answer", 500, 23),
            vec!["@bob short answer"]
        );
    }
}
