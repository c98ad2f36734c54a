//! Answers to commands, read from the store: the facts, worded by
//! [`crate::announce::text`] in the asker's language. The listener turns an
//! answer into reply posts.

use chrono::{DateTime, NaiveDate, Utc};

use super::parse::{Command, VersionSpec};
use crate::announce::text::{self, day};
use crate::config::Config;
use crate::domain::Lang;
use crate::pipeline::diff::{self, ChangeSet};
use crate::pipeline::extract;
use crate::store::{Store, StoreError, VersionInfo};
use crate::watch::check::{self, Checker};

/// What to say back.
pub enum Answer {
    /// Free text, split into numbered posts if it is long.
    Text(String),
    /// A change set, composed like a change announcement.
    Changes {
        doc: String,
        version: i64,
        previous: Option<i64>,
        /// When the newer version was first seen (the thread's "Seen on").
        seen_at: DateTime<Utc>,
        changes: ChangeSet,
    },
}

/// What an answer may use.
pub struct Context<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub checker: &'a Checker,
    /// The requester, `user@host` (lowercase).
    pub account: &'a str,
    pub is_admin: bool,
    /// The language to answer in.
    pub lang: Lang,
    /// Documents one account may subscribe to.
    pub subscriptions_per_account: i64,
}

async fn version_for(
    store: &Store,
    doc: &str,
    spec: &VersionSpec,
) -> Result<Option<VersionInfo>, StoreError> {
    match spec {
        VersionSpec::Number(n) => store.version(doc, *n).await,
        VersionSpec::Date(d) => store.version_at(doc, end_of(*d)).await,
    }
}

/// "The version current at that date": everything seen by the end of it.
fn end_of(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(23, 59, 59).expect("valid time").and_utc()
}

fn contains_phrase(haystack_norm: &str, phrase_norm: &str) -> bool {
    haystack_norm
        .to_lowercase()
        .contains(&phrase_norm.to_lowercase())
}

/// Answers one command.
pub async fn answer(cmd: &Command, ctx: &Context<'_>) -> Result<Answer, StoreError> {
    let lang = ctx.lang;
    let text = match cmd {
        Command::Help => text::help(lang),
        Command::List { tag } => {
            let docs: Vec<String> = ctx
                .config
                .documents
                .iter()
                .filter(|d| {
                    tag.as_ref()
                        .is_none_or(|t| d.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
                })
                .map(|d| format!("{} — {} ({})", d.id, d.name, d.service))
                .collect();
            if docs.is_empty() {
                text::no_document_with_tag(lang)
            } else {
                docs.join("\n")
            }
        }
        Command::History { doc, n } => {
            let versions = ctx.store.history(doc, Some(*n as i64)).await?;
            if versions.is_empty() {
                return Ok(Answer::Text(text::no_versions(lang, doc)));
            }
            let lines: Vec<String> = versions
                .iter()
                .map(|v| text::version_line(lang, v))
                .collect();
            format!("{doc}:\n{}", lines.join("\n"))
        }
        Command::Diff { doc, from, to } => return diff_answer(ctx, doc, from, to).await,
        Command::Show { doc, date, query } => {
            let v = match date {
                Some(d) => ctx.store.version_at(doc, end_of(*d)).await?,
                None => ctx.store.latest_version(doc).await?,
            };
            let Some(v) = v else {
                return Ok(Answer::Text(text::no_versions(lang, doc)));
            };
            let clauses = ctx.store.clauses(v.id).await?;
            let q = query
                .as_deref()
                .map(extract::normalize)
                .unwrap_or_default()
                .to_lowercase();
            let matches: Vec<String> = clauses
                .iter()
                .filter(|c| {
                    q.is_empty()
                        || c.norm().to_lowercase().contains(&q)
                        || c.path.to_lowercase().contains(&q)
                })
                .take(3)
                .map(|c| format!("{}: «{}»", c.path, c.text))
                .collect();
            if matches.is_empty() {
                text::nothing_matches(lang, doc, v.version, &day(v.first_seen))
            } else {
                format!(
                    "{doc} v{} ({}):\n{}",
                    v.version,
                    day(v.first_seen),
                    matches.join("\n")
                )
            }
        }
        Command::When { doc, phrase } => return when_answer(ctx, doc, phrase).await,
        Command::Status => {
            let statuses = ctx.store.statuses().await?;
            let lines: Vec<String> = statuses
                .iter()
                .filter(|d| ctx.config.document(&d.id).is_some())
                .map(|d| {
                    let failing = (d.consecutive_failures > 0)
                        .then(|| d.last_error_class.map_or("error", |c| c.as_str()));
                    text::status_line(
                        lang,
                        &d.id,
                        d.paused,
                        failing,
                        d.last_success.map(day).as_deref(),
                        d.last_change.map(day).as_deref(),
                    )
                })
                .collect();
            lines.join("\n")
        }
        Command::Subscribe { doc } => {
            let current = ctx.store.subscriptions_of(ctx.account).await?;
            let limit = ctx.subscriptions_per_account;
            if !current.iter().any(|d| d == doc) && current.len() as i64 >= limit {
                text::too_many_subscriptions(lang, limit)
            } else {
                text::subscribed(lang, doc, ctx.store.subscribe(ctx.account, doc).await?)
            }
        }
        Command::Unsubscribe { doc } => {
            text::unsubscribed(lang, doc, ctx.store.unsubscribe(ctx.account, doc).await?)
        }
        Command::Subscriptions => {
            text::subscriptions(lang, &ctx.store.subscriptions_of(ctx.account).await?)
        }
        Command::Check { .. } | Command::Pause { .. } | Command::Resume { .. } if !ctx.is_admin => {
            text::admins_only(lang)
        }
        Command::Check { doc } => match ctx.config.document(doc) {
            Some(d) => format!("{doc}: {}", ctx.checker.check(d).await?),
            None => text::no_versions(lang, doc),
        },
        Command::Pause { doc } => {
            ctx.store.set_paused(doc, true).await?;
            text::paused(lang, doc, true)
        }
        Command::Resume { doc } => {
            ctx.store.set_paused(doc, false).await?;
            text::paused(lang, doc, false)
        }
    };
    Ok(Answer::Text(text))
}

/// `diff DOC [FROM] [TO]`: the stored change set when the two versions are
/// consecutive, else a diff computed now.
async fn diff_answer(
    ctx: &Context<'_>,
    doc: &str,
    from: &Option<VersionSpec>,
    to: &Option<VersionSpec>,
) -> Result<Answer, StoreError> {
    let lang = ctx.lang;
    let to_v = match to {
        Some(spec) => version_for(ctx.store, doc, spec).await?,
        None => ctx.store.latest_version(doc).await?,
    };
    let Some(to_v) = to_v else {
        return Ok(Answer::Text(text::no_versions(lang, doc)));
    };
    let from_v = match from {
        Some(spec) => version_for(ctx.store, doc, spec).await?,
        None if to_v.version > 1 => ctx.store.version(doc, to_v.version - 1).await?,
        None => None,
    };
    let Some(from_v) = from_v else {
        return Ok(Answer::Text(text::only_one_version(
            lang,
            doc,
            to_v.version,
        )));
    };
    let stored = match (
        to_v.version == from_v.version + 1,
        ctx.store.changeset_json(to_v.id).await?,
    ) {
        (true, Some(json)) => diff::stored::from_json(&json).ok(),
        _ => None,
    };
    let changes = match stored {
        Some(c) => c,
        None => {
            let old = ctx.store.clauses(from_v.id).await?;
            let new = ctx.store.clauses(to_v.id).await?;
            let language = ctx
                .config
                .document(doc)
                .map_or("en", |d| d.language.as_str());
            check::diff_apart(old, new, check::diff_options(ctx.config), language.into()).await
        }
    };
    if changes.is_empty() {
        return Ok(Answer::Text(text::no_clause_changed(
            lang,
            from_v.version,
            to_v.version,
        )));
    }
    Ok(Answer::Changes {
        doc: doc.to_string(),
        version: to_v.version,
        previous: Some(from_v.version),
        seen_at: to_v.first_seen,
        changes,
    })
}

/// `when DOC "PHRASE"`: its first appearance; the start of the last
/// uninterrupted run (a clause can appear in an announced draft, vanish,
/// then come back for good); and its removal, if it is gone now.
async fn when_answer(ctx: &Context<'_>, doc: &str, phrase: &str) -> Result<Answer, StoreError> {
    let lang = ctx.lang;
    let phrase_norm = extract::normalize(phrase);
    let mut versions = ctx.store.history(doc, None).await?;
    if versions.is_empty() {
        return Ok(Answer::Text(text::no_versions(lang, doc)));
    }
    versions.reverse();
    let mut first: Option<(VersionInfo, String)> = None;
    let mut since: Option<VersionInfo> = None;
    let mut removed: Option<VersionInfo> = None;
    for v in versions {
        let clauses = ctx.store.clauses(v.id).await?;
        let hit = clauses
            .iter()
            .find(|c| contains_phrase(c.norm(), &phrase_norm));
        match (&first, hit) {
            (None, Some(c)) => {
                first = Some((v.clone(), c.text.clone()));
                since = Some(v.clone());
            }
            (Some(_), None) if removed.is_none() => removed = Some(v.clone()),
            (Some(_), Some(_)) if removed.is_some() => {
                removed = None;
                since = Some(v.clone());
            }
            _ => {}
        }
    }
    let since = since.filter(|s| first.as_ref().is_some_and(|(f, _)| f.version != s.version));
    let Some((v, quote)) = first else {
        return Ok(Answer::Text(text::never_appeared(lang, doc, phrase)));
    };
    let mut s = text::first_appeared(lang, doc, phrase, &day(v.first_seen), v.version, &quote);
    if let (Some(back), None) = (&since, &removed) {
        s.push('\n');
        s.push_str(&text::present_since(
            lang,
            &day(back.first_seen),
            back.version,
        ));
    }
    s.push('\n');
    match removed {
        Some(g) => s.push_str(&text::removed_on(lang, &day(g.first_seen), g.version)),
        None => s.push_str(&text::still_there(lang)),
    }
    Ok(Answer::Text(s))
}
