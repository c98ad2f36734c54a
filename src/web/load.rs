//! The store read into what a page shows. Only public `Store` methods,
//! the stored change sets and the `when` answer of the mention commands
//! are used, so a page says what the CLI and the bot say.

use crate::domain::Lang;
use crate::mentions::answer::{self, Answer, Context};
use crate::mentions::parse::Command;
use crate::pipeline::clauses::Clause;
use crate::pipeline::diff::{self, ChangeSet};
use crate::store::{DocumentStatus, VersionInfo};
use crate::watch::check;

use super::{Web, WebError, WebResult};

/// Entries of one feed: enough for a reader that polls daily, small
/// enough to render on every miss of its ETag.
pub const FEED_ENTRIES: usize = 50;

/// A document as the pages name it.
#[derive(Clone, Debug)]
pub struct DocInfo {
    pub id: String,
    pub name: String,
    /// The config's service; a document no longer in the config keeps its
    /// name only.
    pub service: String,
    /// The policy page itself.
    pub url: String,
    pub language: String,
}

/// One line of the home page.
pub struct HomeRow {
    pub doc: DocInfo,
    pub status: DocumentStatus,
}

/// One version on a document's page, with the flags its change raised.
pub struct VersionRow {
    pub info: VersionInfo,
    pub flags: Vec<diff::FlagSummary>,
    /// Only moves: stored, never announced.
    pub only_moves: bool,
    /// When its clauses were re-extracted with new rules (never announced).
    pub technical: Vec<chrono::DateTime<chrono::Utc>>,
}

pub struct DocumentView {
    pub doc: DocInfo,
    pub status: DocumentStatus,
    /// Newest first.
    pub versions: Vec<VersionRow>,
}

pub struct VersionView {
    pub doc: DocInfo,
    pub info: VersionInfo,
    pub clauses: Vec<Clause>,
    pub newest: i64,
}

/// What changed from `from` to `to`, with the neighbouring changes.
pub struct ChangeView {
    pub doc: DocInfo,
    pub from: VersionInfo,
    pub to: VersionInfo,
    pub changes: ChangeSet,
    /// The change that made the version before `to`, when there is one.
    pub prev: Option<i64>,
    /// The change after `to`, when there is one.
    pub next: Option<i64>,
}

/// One version in a feed.
pub struct FeedEntry {
    pub doc: DocInfo,
    pub to: VersionInfo,
    pub changes: ChangeSet,
}

fn info(status: &DocumentStatus, w: &Web) -> DocInfo {
    let configured = w.config.document(&status.id);
    DocInfo {
        id: status.id.clone(),
        name: status.name.clone(),
        service: configured.map_or_else(|| status.name.clone(), |d| d.service.clone()),
        url: status.url.clone(),
        language: configured.map_or_else(|| "en".to_string(), |d| d.language.clone()),
    }
}

async fn status(w: &Web, id: &str) -> WebResult<DocumentStatus> {
    w.store
        .statuses()
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| WebError::NotFound(format!("no document {id:?} is watched here")))
}

pub async fn doc_info(w: &Web, id: &str) -> WebResult<DocInfo> {
    Ok(info(&status(w, id).await?, w))
}

pub async fn home(w: &Web) -> WebResult<Vec<HomeRow>> {
    Ok(w.store
        .statuses()
        .await?
        .into_iter()
        .map(|s| HomeRow {
            doc: info(&s, w),
            status: s,
        })
        .collect())
}

/// A version's stored change set against its parent, when it can be read.
async fn stored_changes(w: &Web, v: &VersionInfo) -> WebResult<Option<ChangeSet>> {
    let json = w.store.changeset_json(v.id).await?;
    Ok(json.and_then(|j| match diff::stored::from_json(&j) {
        Ok(cs) => Some(cs),
        Err(e) => {
            tracing::warn!(version = v.id, error = %e, "stored change set unreadable; diffing again");
            None
        }
    }))
}

pub async fn document(w: &Web, id: &str) -> WebResult<DocumentView> {
    let status = status(w, id).await?;
    let technical = w.store.technical_updates(id).await?;
    let mut versions = Vec::new();
    for v in w.store.history(id, None).await? {
        let cs = if v.version > 1 {
            stored_changes(w, &v).await?
        } else {
            None
        };
        versions.push(VersionRow {
            flags: cs.as_ref().map(|c| c.net_flags()).unwrap_or_default(),
            only_moves: cs.as_ref().is_some_and(|c| c.is_empty()),
            technical: technical
                .iter()
                .filter(|(n, _)| *n == v.version)
                .map(|(_, at)| *at)
                .collect(),
            info: v,
        });
    }
    Ok(DocumentView {
        doc: info(&status, w),
        status,
        versions,
    })
}

async fn version_info(w: &Web, id: &str, n: i64) -> WebResult<VersionInfo> {
    w.store
        .version(id, n)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("{id:?} has no version {n}")))
}

pub async fn version(w: &Web, id: &str, n: i64) -> WebResult<VersionView> {
    let doc = doc_info(w, id).await?;
    let info = version_info(w, id, n).await?;
    let clauses = w.store.clauses(info.id).await?;
    let newest = w
        .store
        .latest_version(id)
        .await?
        .map_or(info.version, |l| l.version);
    Ok(VersionView {
        doc,
        info,
        clauses,
        newest,
    })
}

/// The change set from `from` to `to`: the stored one for consecutive
/// versions, else diffed now with the config's options.
async fn changes_between(
    w: &Web,
    doc: &DocInfo,
    from: &VersionInfo,
    to: &VersionInfo,
) -> WebResult<ChangeSet> {
    if to.version == from.version + 1 {
        if let Some(cs) = stored_changes(w, to).await? {
            return Ok(cs);
        }
    }
    let old = w.store.clauses(from.id).await?;
    let new = w.store.clauses(to.id).await?;
    Ok(check::diff_apart(
        old,
        new,
        check::diff_options(&w.config),
        doc.language.clone(),
    )
    .await)
}

pub async fn change(w: &Web, id: &str, n: i64, from: Option<i64>) -> WebResult<ChangeView> {
    let doc = doc_info(w, id).await?;
    let to = version_info(w, id, n).await?;
    let from_n = match from {
        Some(f) => f,
        None if n > 1 => n - 1,
        None => {
            return Err(WebError::NotFound(format!(
                "version 1 of {id:?} is the first one seen: it changed nothing"
            )))
        }
    };
    let from = version_info(w, id, from_n).await?;
    let changes = changes_between(w, &doc, &from, &to).await?;
    let next = w.store.version(id, n + 1).await?.map(|v| v.version);
    Ok(ChangeView {
        doc,
        prev: (n > 2).then_some(n - 1),
        next,
        from,
        to,
        changes,
    })
}

/// The `when` command's answer, in English.
pub async fn when(w: &Web, doc: &str, phrase: &str) -> WebResult<String> {
    // The search must not tell a stranger more than the bot would.
    status(w, doc).await?;
    let ctx = Context {
        store: &w.store,
        config: &w.config,
        checker: &w.checker,
        account: "",
        is_admin: false,
        lang: Lang::En,
        subscriptions_per_account: 0,
    };
    let cmd = Command::When {
        doc: doc.to_string(),
        phrase: phrase.to_string(),
    };
    Ok(match answer::answer(&cmd, &ctx).await? {
        Answer::Text(t) => t,
        Answer::Changes { .. } => String::new(),
    })
}

/// The announced versions (not cosmetic, not only moves), newest first:
/// of one document, or of every one.
pub async fn feed_entries(w: &Web, id: Option<&str>) -> WebResult<Vec<FeedEntry>> {
    let docs: Vec<DocInfo> = match id {
        Some(id) => vec![doc_info(w, id).await?],
        None => home(w).await?.into_iter().map(|r| r.doc).collect(),
    };
    let mut entries = Vec::new();
    for doc in docs {
        let history = w.store.history(&doc.id, Some(FEED_ENTRIES as i64)).await?;
        for v in history {
            if v.version < 2 || v.cosmetic {
                continue;
            }
            let Some(changes) = stored_changes(w, &v).await? else {
                continue;
            };
            if changes.is_empty() {
                continue;
            }
            entries.push(FeedEntry {
                doc: doc.clone(),
                to: v,
                changes,
            });
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.to.first_seen));
    entries.truncate(FEED_ENTRIES);
    Ok(entries)
}
