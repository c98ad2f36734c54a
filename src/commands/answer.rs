//! Answers to commands, read from the store: plain text that the listener
//! turns into reply posts.

use chrono::{DateTime, NaiveDate, Utc};

use super::parse::{Command, VersionSpec};
use crate::check::{self, Checker};
use crate::config::Config;
use crate::diff::{self, ChangeSet};
use crate::extract;
use crate::store::{Store, StoreError, VersionInfo};

/// What to say back.
pub enum Answer {
    /// Free text, split into numbered posts if it is long.
    Text(String),
    /// A change set, composed like a change announcement.
    Changes {
        doc: String,
        version: i64,
        previous: Option<i64>,
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
    pub french: bool,
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn summary_line(v: &VersionInfo, fr: bool) -> String {
    match v.changes {
        Some(c) if fr => format!(
            "v{} du {} : {} ajoutées, {} supprimées, {} reformulées",
            v.version,
            day(v.first_seen),
            c.added,
            c.removed,
            c.modified + c.renamed
        ),
        Some(c) => format!(
            "v{} {}: {} added, {} removed, {} reworded",
            v.version,
            day(v.first_seen),
            c.added,
            c.removed,
            c.modified + c.renamed
        ),
        None if fr => format!("v{} du {} : première version", v.version, day(v.first_seen)),
        None => format!("v{} {}: first version", v.version, day(v.first_seen)),
    }
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
    let fr = ctx.french;
    let text = match cmd {
        Command::Help => {
            if fr {
                "Commandes : liste [tag] · historique DOC [N] · diff DOC [DE] [À] · montre DOC [DATE] [MOTS] · quand DOC \"PHRASE\" · statut · abonner DOC · désabonner DOC · abonnements. Exemple : quand x-privacy \"biometric\"".to_string()
            } else {
                "Commands: list [tag] · history DOC [N] · diff DOC [FROM] [TO] · show DOC [DATE] [WORDS] · when DOC \"PHRASE\" · status · subscribe DOC · unsubscribe DOC · subscriptions. Example: when x-privacy \"biometric\"".to_string()
            }
        }
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
                if fr {
                    "Aucun document avec ce tag.".into()
                } else {
                    "No document has that tag.".into()
                }
            } else {
                docs.join("\n")
            }
        }
        Command::History { doc, n } => {
            let versions = ctx.store.history(doc, Some(*n as i64)).await?;
            if versions.is_empty() {
                return Ok(Answer::Text(no_versions(doc, fr)));
            }
            let lines: Vec<String> = versions.iter().map(|v| summary_line(v, fr)).collect();
            format!("{doc}:\n{}", lines.join("\n"))
        }
        Command::Diff { doc, from, to } => {
            let to_v = match to {
                Some(spec) => version_for(ctx.store, doc, spec).await?,
                None => ctx.store.latest_version(doc).await?,
            };
            let Some(to_v) = to_v else {
                return Ok(Answer::Text(no_versions(doc, fr)));
            };
            let from_v = match from {
                Some(spec) => version_for(ctx.store, doc, spec).await?,
                None if to_v.version > 1 => ctx.store.version(doc, to_v.version - 1).await?,
                None => None,
            };
            let Some(from_v) = from_v else {
                return Ok(Answer::Text(if fr {
                    format!("{doc} n'a qu'une version (v{}).", to_v.version)
                } else {
                    format!("{doc} has only one version (v{}).", to_v.version)
                }));
            };
            let changes = match (
                to_v.version == from_v.version + 1,
                ctx.store.changeset_json(to_v.id).await?,
            ) {
                (true, Some(json)) => serde_json::from_str(&json).ok(),
                _ => None,
            };
            let changes = match changes {
                Some(c) => c,
                None => {
                    let old = ctx.store.clauses(from_v.id).await?;
                    let new = ctx.store.clauses(to_v.id).await?;
                    let language = ctx
                        .config
                        .document(doc)
                        .map_or("en", |d| d.language.as_str());
                    diff::diff(&old, &new, &check::diff_options(ctx.config), language)
                }
            };
            if changes.is_empty() {
                return Ok(Answer::Text(if fr {
                    format!(
                        "Aucun changement de clause entre v{} et v{}.",
                        from_v.version, to_v.version
                    )
                } else {
                    format!(
                        "No clause changed between v{} and v{}.",
                        from_v.version, to_v.version
                    )
                }));
            }
            return Ok(Answer::Changes {
                doc: doc.clone(),
                version: to_v.version,
                previous: Some(from_v.version),
                changes,
            });
        }
        Command::Show { doc, date, query } => {
            let v = match date {
                Some(d) => ctx.store.version_at(doc, end_of(*d)).await?,
                None => ctx.store.latest_version(doc).await?,
            };
            let Some(v) = v else {
                return Ok(Answer::Text(no_versions(doc, fr)));
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
                        || c.norm.to_lowercase().contains(&q)
                        || c.path.to_lowercase().contains(&q)
                })
                .take(3)
                .map(|c| format!("{}: «{}»", c.path, c.text))
                .collect();
            if matches.is_empty() {
                if fr {
                    format!(
                        "Rien ne correspond dans {doc} v{} ({}).",
                        v.version,
                        day(v.first_seen)
                    )
                } else {
                    format!(
                        "Nothing matches in {doc} v{} ({}).",
                        v.version,
                        day(v.first_seen)
                    )
                }
            } else {
                format!(
                    "{doc} v{} ({}):\n{}",
                    v.version,
                    day(v.first_seen),
                    matches.join("\n")
                )
            }
        }
        Command::When { doc, phrase } => {
            let phrase_norm = extract::normalize(phrase);
            let mut versions = ctx.store.history(doc, None).await?;
            if versions.is_empty() {
                return Ok(Answer::Text(no_versions(doc, fr)));
            }
            versions.reverse();
            // First appearance; the start of the last uninterrupted run (a
            // clause can appear in an announced draft, vanish, then come
            // back for good); and its removal, if it is gone now.
            let mut first: Option<(VersionInfo, String)> = None;
            let mut since: Option<VersionInfo> = None;
            let mut removed: Option<VersionInfo> = None;
            for v in versions {
                let clauses = ctx.store.clauses(v.id).await?;
                let hit = clauses
                    .iter()
                    .find(|c| contains_phrase(&c.norm, &phrase_norm));
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
            let since =
                since.filter(|s| first.as_ref().is_some_and(|(f, _)| f.version != s.version));
            match (first, removed) {
                (None, _) if fr => format!("« {phrase} » n'apparaît dans aucune version de {doc}."),
                (None, _) => format!("\"{phrase}\" appears in no version of {doc}."),
                (Some((v, quote)), gone) => {
                    let mut s = if fr {
                        format!(
                            "« {phrase} » apparaît dans {doc} le {} (v{}) : «{quote}»",
                            day(v.first_seen),
                            v.version
                        )
                    } else {
                        format!(
                            "\"{phrase}\" first appeared in {doc} on {} (v{}): «{quote}»",
                            day(v.first_seen),
                            v.version
                        )
                    };
                    if let (Some(back), None) = (&since, &gone) {
                        s.push_str(&if fr {
                            format!(
                                "\nSans interruption depuis le {} (v{}).",
                                day(back.first_seen),
                                back.version
                            )
                        } else {
                            format!(
                                "\nPresent without interruption since {} (v{}).",
                                day(back.first_seen),
                                back.version
                            )
                        });
                    }
                    if let Some(g) = gone {
                        s.push_str(&if fr {
                            format!("\nRetiré le {} (v{}).", day(g.first_seen), g.version)
                        } else {
                            format!("\nRemoved on {} (v{}).", day(g.first_seen), g.version)
                        });
                    } else if fr {
                        s.push_str("\nToujours présent.");
                    } else {
                        s.push_str("\nStill there.");
                    }
                    s
                }
            }
        }
        Command::Status => {
            let statuses = ctx.store.statuses().await?;
            let mut lines = Vec::new();
            for d in statuses
                .iter()
                .filter(|d| ctx.config.document(&d.id).is_some())
            {
                let state = if d.paused {
                    "paused".to_string()
                } else if d.consecutive_failures > 0 {
                    format!(
                        "failing ({})",
                        d.last_error_class.as_deref().unwrap_or("error")
                    )
                } else {
                    "ok".to_string()
                };
                lines.push(format!(
                    "{}: {state}, checked {}, changed {}",
                    d.id,
                    d.last_success.map_or("never".into(), day),
                    d.last_change.map_or("never".into(), day)
                ));
            }
            lines.join("\n")
        }
        Command::Subscribe { doc } => {
            if ctx.store.subscribe(ctx.account, doc).await? {
                if fr {
                    format!("C'est noté : je vous écrirai en privé quand {doc} change.")
                } else {
                    format!("Subscribed: I will send you a direct message when {doc} changes.")
                }
            } else if fr {
                format!("Vous êtes déjà abonné à {doc}.")
            } else {
                format!("You are already subscribed to {doc}.")
            }
        }
        Command::Unsubscribe { doc } => {
            if ctx.store.unsubscribe(ctx.account, doc).await? {
                if fr {
                    format!("Désabonné de {doc}.")
                } else {
                    format!("Unsubscribed from {doc}.")
                }
            } else if fr {
                format!("Vous n'étiez pas abonné à {doc}.")
            } else {
                format!("You were not subscribed to {doc}.")
            }
        }
        Command::Subscriptions => {
            let subs = ctx.store.subscriptions_of(ctx.account).await?;
            match (subs.is_empty(), fr) {
                (true, true) => "Aucun abonnement.".into(),
                (true, false) => "No subscriptions.".into(),
                (false, true) => format!("Abonnements : {}", subs.join(", ")),
                (false, false) => format!("Subscriptions: {}", subs.join(", ")),
            }
        }
        Command::Check { doc } | Command::Pause { doc } | Command::Resume { doc }
            if !ctx.is_admin =>
        {
            let _ = doc;
            if fr {
                "Cette commande est réservée aux admins du bot.".into()
            } else {
                "Only the bot's admins can do that.".into()
            }
        }
        Command::Check { doc } => match ctx.config.document(doc) {
            Some(d) => format!("{doc}: {}", ctx.checker.check(d).await?),
            None => no_versions(doc, fr),
        },
        Command::Pause { doc } => {
            ctx.store.set_paused(doc, true).await?;
            format!("{doc}: paused")
        }
        Command::Resume { doc } => {
            ctx.store.set_paused(doc, false).await?;
            format!("{doc}: resumed")
        }
    };
    Ok(Answer::Text(text))
}

fn no_versions(doc: &str, fr: bool) -> String {
    if fr {
        format!("Je n'ai encore aucune version de {doc}.")
    } else {
        format!("I have no version of {doc} yet.")
    }
}
