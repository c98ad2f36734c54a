//! Applying one check's decision: every write of a check (its fetch rows,
//! a technical update, the document's new state, a new version with its
//! clauses, change set and thread, a gone notice) in one `BEGIN IMMEDIATE`
//! transaction.
//!
//! The latest version is read again inside the transaction: when another
//! check of the same document wrote a version since this check read it,
//! nothing but the fetch rows is written, so two checks at once never
//! record the same change twice.

use chrono::{DateTime, Utc};

use super::outbox::{self, NewThread};
use super::versions::{self, ChangeSetIn, SnapshotIn, StoredClauses};
use super::{documents, ts, FetchLog, Result, Store};
use crate::config::Document;
use crate::pipeline::clauses::Clause;
use crate::watch::decide::{Decision, Validators, Verdict};

/// A re-extraction of the latest version with new rules.
pub struct TechnicalWrite<'a> {
    pub version_id: i64,
    pub clauses: &'a [Clause],
    pub hash: &'a str,
}

/// A new version's content.
pub struct VersionWrite<'a> {
    pub snapshot: SnapshotIn<'a>,
    pub clauses: &'a [Clause],
    pub hash: &'a str,
    pub cosmetic: bool,
    pub changeset: Option<ChangeSetIn>,
    /// The latest version's clauses as the check read them, when it did:
    /// what of them is stored is not looked up again.
    pub parent_clauses: Option<&'a StoredClauses>,
    /// Written in the same transaction as the version, so that a version is
    /// never stored without its thread.
    pub announcement: Option<NewThread>,
}

/// Everything one check writes.
pub struct CheckWrite<'a> {
    pub document: &'a Document,
    /// One row per HTTP request the check made.
    pub fetches: &'a [FetchLog],
    /// Fingerprint of the rules the observation was made with.
    pub rules_hash: &'a str,
    /// The latest version's hash as the check read it (before any technical
    /// update), to detect a concurrent check.
    pub expected_latest: Option<&'a str>,
    pub technical: Option<TechnicalWrite<'a>>,
    pub decision: &'a Decision,
    /// The response's validators, stored when the decision says so.
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    /// Required when the verdict is a new version.
    pub version: Option<VersionWrite<'a>>,
    /// A "page gone" notice to queue.
    pub notice: Option<&'a NewThread>,
    pub now: DateTime<Utc>,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The decision, as decided.
    Applied { version_id: Option<i64> },
    /// Another check recorded the same page as a version meanwhile.
    AlreadyRecorded { version: i64 },
    /// Another check recorded a different version meanwhile: only the fetch
    /// rows were written; the next check compares against it.
    Superseded { latest: i64 },
}

impl Store {
    /// Applies a check's decision in one transaction, on the checks' own
    /// connection (`store::lane`): a version's write is a few hundred
    /// statements, in process each a few microseconds, where through the
    /// pool each was a message to its thread and back.
    ///
    /// A new version's snapshot is compressed first, outside the lock.
    pub async fn record_check(&self, w: CheckWrite<'_>) -> Result<Recorded> {
        let now = ts(w.now);
        let writes_version = matches!(
            w.decision.verdict,
            Verdict::NewVersion { .. } | Verdict::TechnicalUpdate { .. }
        ) || w.technical.is_some();
        let mut batch = Batch::new(&w, &now);
        if !writes_version {
            batch.state(&w);
            return self
                .lane
                .with(|c| {
                    let tx =
                        c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    batch.run_on(&tx)?;
                    if let Some(notice) = w.notice {
                        outbox::insert_thread_on(&tx, notice, None, &now)?;
                    }
                    tx.commit()?;
                    Ok::<_, rusqlite::Error>(Recorded::Applied { version_id: None })
                })
                .await;
        }
        let id = w.document.id.as_str();
        let snapshot = match (&w.decision.verdict, &w.version) {
            (Verdict::NewVersion { .. }, Some(v)) => {
                let parent = self.lane.with(|c| versions::latest_on(c, id)).await?;
                Some(
                    self.prepare_snapshot(
                        &v.snapshot,
                        parent.map(|(id, _, _)| id),
                        v.clauses,
                        v.parent_clauses,
                    )
                    .await?,
                )
            }
            _ => None,
        };
        let mut state = Batch::empty(&w, &now);
        state.state(&w);
        self.lane
            .with(|c| -> Result<Recorded> {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                batch.run_on(&tx)?;
                let latest = versions::latest_on(&tx, id)?;
                if latest.as_ref().map(|(_, _, h)| h.as_str()) != w.expected_latest {
                    let (latest_id, number, hash) = latest.expect("a version appeared meanwhile");
                    let same = w.version.as_ref().is_some_and(|v| v.hash == hash);
                    tx.prepare_cached("UPDATE documents SET last_check_at = ? WHERE id = ?")?
                        .execute([now.as_str(), id])?;
                    if same {
                        tx.prepare_cached("UPDATE versions SET last_seen = ? WHERE id = ?")?
                            .execute(rusqlite::params![now, latest_id])?;
                    }
                    tx.commit()?;
                    return Ok(if same {
                        Recorded::AlreadyRecorded { version: number }
                    } else {
                        Recorded::Superseded { latest: number }
                    });
                }
                if let Some(t) = &w.technical {
                    versions::replace_clauses_on(
                        &tx,
                        t.version_id,
                        t.clauses,
                        t.hash,
                        w.rules_hash,
                        &now,
                    )?;
                }
                state.run_on(&tx)?;
                let mut version_id = None;
                if let Verdict::NewVersion { version, .. } = &w.decision.verdict {
                    let v = w
                        .version
                        .as_ref()
                        .expect("a new version verdict comes with its content");
                    let parent = latest.as_ref().map(|(id, _, _)| *id);
                    let new = versions::NewVersion {
                        number: *version,
                        parent,
                        snapshot: snapshot.as_ref(),
                        at: &now,
                        clauses: v.clauses,
                        hash: v.hash,
                        cosmetic: v.cosmetic,
                        changeset: v.changeset.as_ref(),
                        // Held clauses of any other version (one replaced
                        // meanwhile) would name wordings the parent lacks.
                        parent_clauses: v
                            .parent_clauses
                            .filter(|p| parent.is_some_and(|id| p.of_version(id))),
                    };
                    let new_id = versions::insert_version_on(&tx, id, &new)?;
                    if let Some(thread) = &v.announcement {
                        outbox::insert_thread_on(&tx, thread, Some(new_id), &now)?;
                    }
                    version_id = Some(new_id);
                }
                if let Some(notice) = w.notice {
                    outbox::insert_thread_on(&tx, notice, None, &now)?;
                }
                tx.commit()?;
                Ok(Recorded::Applied { version_id })
            })
            .await
    }
}

/// A value bound to a parameter of a [`Batch`].
enum Arg<'a> {
    Text(Option<&'a str>),
    Owned(Option<String>),
    Int(Option<i64>),
    Bool(bool),
}

/// Several statements, run one by one on the checks' connection or sent
/// to the pool as one query. Their parameters are plain `?`s, which
/// sqlx's SQLite driver binds in order across the statements, so a value
/// used twice is pushed twice (numbered `?N`s would not do: the driver
/// stops binding at a statement's first gap in the numbering).
struct Batch<'a> {
    /// Each statement with how many of `args` it takes.
    statements: Vec<(&'static str, usize)>,
    args: Vec<Arg<'a>>,
    id: &'a str,
    now: &'a str,
}

impl<'a> Batch<'a> {
    fn empty(w: &CheckWrite<'a>, now: &'a str) -> Batch<'a> {
        Batch {
            statements: Vec::new(),
            args: Vec::new(),
            id: &w.document.id,
            now,
        }
    }

    /// Keeps the document's row in step with the configuration, then logs
    /// the check's requests.
    fn new(w: &CheckWrite<'a>, now: &'a str) -> Batch<'a> {
        let mut b = Batch::empty(w, now);
        let (id, name, service, url, language) = documents::sync_values(w.document);
        b.push(
            documents::SYNC,
            [
                Arg::Text(Some(id)),
                Arg::Text(Some(name)),
                Arg::Text(Some(service)),
                Arg::Owned(Some(url)),
                Arg::Text(Some(language)),
            ],
        );
        for f in w.fetches {
            b.push(
                "INSERT INTO fetches (document_id, url, started_at, status, bytes, duration_ms, attempts, outcome, error_class, error)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                Arg::Text(Some(b.id)),
                Arg::Owned(Some(f.url.clone())),
                Arg::Owned(Some(ts(f.started_at))),
                Arg::Int(f.status.map(i64::from)),
                Arg::Int(Some(f.bytes as i64)),
                Arg::Int(Some(f.duration_ms as i64)),
                Arg::Int(Some(i64::from(f.attempts))),
                Arg::Text(Some(f.outcome)),
                Arg::Text(f.error.as_ref().map(|(c, _)| c.as_str())),
                Arg::Text(f.error.as_ref().map(|(_, e)| e.as_str())),
                ],
            );
        }
        b
    }

    fn push<const N: usize>(&mut self, sql: &'static str, args: [Arg<'a>; N]) {
        self.statements.push((sql, N));
        self.args.extend(args);
    }

    /// The document's new state, as decided: a failure counts up; a check
    /// that saw the page ends the failures, takes the decision's state and,
    /// when told, the response's validators; the version still served is
    /// marked as seen.
    fn state(&mut self, w: &CheckWrite<'a>) {
        let next = &w.decision.next;
        let (id, now) = (self.id, self.now);
        match &w.decision.verdict {
            Verdict::Failed { class, error } => {
                self.push(
                    "UPDATE documents SET last_check_at = ?, consecutive_failures = consecutive_failures + 1,
                        failing_since = COALESCE(failing_since, ?), last_error = ?,
                        last_error_class = ?, not_found_since = ?
                     WHERE id = ?",
                    [
                    Arg::Text(Some(now)),
                    Arg::Text(Some(now)),
                    Arg::Owned(Some(error.clone())),
                    Arg::Text(Some(class.as_str())),
                    Arg::Owned(next.not_found_since.map(ts)),
                    Arg::Text(Some(id)),
                    ],
                );
            }
            Verdict::Paused | Verdict::Superseded => {}
            verdict => {
                let replace = next.validators == Validators::Replace;
                self.push(
                    "UPDATE documents SET last_check_at = ?, last_success_at = ?, consecutive_failures = 0,
                        failing_since = NULL, last_error = NULL, last_error_class = NULL,
                        not_found_since = ?, rules_hash = ?, pending_hash = ?, pending_since = ?,
                        flapping_since = ?, last_flap_at = CASE WHEN ? THEN ? ELSE last_flap_at END,
                        stable_checks = ?,
                        etag = CASE WHEN ? THEN ? ELSE etag END,
                        last_modified = CASE WHEN ? THEN ? ELSE last_modified END
                     WHERE id = ?",
                    [
                    Arg::Text(Some(now)),
                    Arg::Text(Some(now)),
                    Arg::Owned(next.not_found_since.map(ts)),
                    Arg::Text(Some(w.rules_hash)),
                    Arg::Owned(next.pending.as_ref().map(|p| p.hash.clone())),
                    Arg::Owned(next.pending.as_ref().map(|p| ts(p.since))),
                    Arg::Owned(next.flapping_since.map(ts)),
                    Arg::Bool(next.flapped),
                    Arg::Text(Some(now)),
                    Arg::Int(Some(next.stable_checks)),
                    Arg::Bool(replace),
                    Arg::Text(w.etag),
                    Arg::Bool(replace),
                    Arg::Text(w.last_modified),
                    Arg::Text(Some(id)),
                    ],
                );
                if matches!(
                    verdict,
                    Verdict::NotModified
                        | Verdict::Unchanged { .. }
                        | Verdict::TechnicalUpdate { .. }
                ) {
                    self.push(
                        "UPDATE versions SET last_seen = ? WHERE id =
                            (SELECT id FROM versions WHERE document_id = ? ORDER BY number DESC LIMIT 1)",
                        [Arg::Text(Some(now)), Arg::Text(Some(id))],
                    );
                }
            }
        }
    }

    /// Runs the statements inside the caller's transaction on the checks'
    /// connection. A failed statement makes the caller drop the
    /// transaction, which rolls it back: the connection's next check
    /// starts clean.
    fn run_on(&self, conn: &rusqlite::Connection) -> rusqlite::Result<()> {
        let mut args = self.args.iter();
        for (sql, n) in &self.statements {
            conn.prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(args.by_ref().take(*n)))?;
        }
        Ok(())
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(v) => v.to_sql(),
            Arg::Owned(v) => v.to_sql(),
            Arg::Int(v) => v.to_sql(),
            Arg::Bool(v) => v.to_sql(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FailureClass;
    use crate::pipeline::clauses::{split, version_hash};
    use crate::pipeline::extract::{Block, Extracted};
    use crate::store::testing;
    use crate::watch::decide::{Decision, Next, Pending, Validators, Verdict};

    fn doc() -> Document {
        crate::config::Config::parse(
            std::path::Path::new("bot.toml"),
            "[[documents]]\nid = \"p\"\nname = \"Policy\"\nservice = \"S\"\nurl = \"https://s.test/p\"\n",
        )
        .unwrap()
        .documents
        .remove(0)
    }

    fn clauses(texts: &[&str]) -> Vec<Clause> {
        split(&Extracted {
            blocks: texts
                .iter()
                .map(|t| Block {
                    kind: crate::pipeline::clauses::ClauseKind::Paragraph,
                    text: t.to_string(),
                })
                .collect(),
        })
    }

    fn fetch(outcome: &'static str) -> FetchLog {
        FetchLog {
            url: "https://s.test/p".into(),
            started_at: Utc::now(),
            status: Some(200),
            bytes: 10,
            duration_ms: 1,
            attempts: 1,
            outcome,
            error: None,
        }
    }

    fn next() -> Next {
        Next {
            pending: None,
            not_found_since: None,
            flapping_since: None,
            stable_checks: 0,
            flapped: false,
            validators: Validators::Replace,
        }
    }

    fn new_version(version: i64) -> Decision {
        Decision {
            verdict: Verdict::NewVersion {
                version,
                previous: (version > 1).then_some(version - 1),
                returns_to: None,
            },
            next: next(),
            gone_since: None,
        }
    }

    async fn write_version(
        store: &Store,
        doc: &Document,
        expected: Option<&str>,
        decision: &Decision,
        cl: &[Clause],
    ) -> Recorded {
        write_page(store, doc, expected, decision, cl, b"<p>body</p>", None).await
    }

    async fn write_page(
        store: &Store,
        doc: &Document,
        expected: Option<&str>,
        decision: &Decision,
        cl: &[Clause],
        body: &[u8],
        parent_clauses: Option<&StoredClauses>,
    ) -> Recorded {
        let hash = version_hash(cl);
        let fetches = [fetch("new_version")];
        store
            .record_check(CheckWrite {
                document: doc,
                fetches: &fetches,
                rules_hash: "rules",
                expected_latest: expected,
                technical: None,
                decision,
                etag: Some("\"e1\""),
                last_modified: None,
                version: Some(VersionWrite {
                    snapshot: SnapshotIn {
                        body,
                        content_type: Some("text/html"),
                        encoding: Some("UTF-8"),
                    },
                    clauses: cl,
                    hash: &hash,
                    cosmetic: false,
                    changeset: None,
                    parent_clauses,
                    announcement: None,
                }),
                notice: None,
                now: Utc::now(),
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_new_version_is_written_with_its_clauses_fetch_and_validators() {
        let (_dir, store) = testing::store().await;
        let d = doc();
        let cl = clauses(&["One.", "Two."]);
        let r = write_version(&store, &d, None, &new_version(1), &cl).await;
        assert!(matches!(
            r,
            Recorded::Applied {
                version_id: Some(_)
            }
        ));
        let v = store.latest_version("p").await.unwrap().unwrap();
        assert_eq!((v.version, v.clauses), (1, 2));
        assert_eq!(store.clauses(v.id).await.unwrap(), cl);
        assert_eq!(store.fetch_count("p").await.unwrap(), 1);
        let (body, content_type) = store
            .snapshot(v.snapshot.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (body.as_slice(), content_type.as_deref()),
            (&b"<p>body</p>"[..], Some("text/html"))
        );
        let state = store.document_state("p").await.unwrap().unwrap();
        assert_eq!(state.etag.as_deref(), Some("\"e1\""));
        assert_eq!(state.rules_hash.as_deref(), Some("rules"));
    }

    #[tokio::test]
    async fn snapshots_are_compressed_against_what_is_stored_and_read_back_whole() {
        let (_dir, store) = testing::store().await;
        let d = doc();
        let texts: Vec<String> = (0..60)
            .map(|i| {
                format!(
                    "Clause {i}: we may share your “data” with partner number {i} for purposes {}.",
                    i * 7
                )
            })
            .collect();
        let page = |texts: &[String]| {
            let mut html =
                String::from("<html><head><script>var a = 1;</script></head><body><main>");
            for t in texts {
                html.push_str(&format!("<p class=\"clause\">{t}</p>\n"));
            }
            html + "</main><footer>Footer</footer></body></html>"
        };
        let mut bodies = Vec::new();
        let mut versions = Vec::new();
        let mut expected = None;
        for round in 0..20i64 {
            let mut texts = texts.clone();
            texts[round as usize].push_str(" Changed.");
            let body = page(&texts);
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let cl = clauses(&refs);
            let hash = version_hash(&cl);
            // Two versions of three are written as a check writes them,
            // with the parent's clauses held: its wordings and the parent
            // snapshot's dictionary then come from them, not from the
            // database; or, as for a big page, with only their ids held.
            let parent = match (round % 3, store.latest_version("p").await.unwrap()) {
                (1, Some(v)) => Some(store.stored_clauses(v.id).await.unwrap()),
                (2, Some(v)) => Some(store.stored_clauses(v.id).await.unwrap().shed_wordings()),
                _ => None,
            };
            write_page(
                &store,
                &d,
                expected.as_deref(),
                &new_version(round + 1),
                &cl,
                body.as_bytes(),
                parent.as_ref(),
            )
            .await;
            expected = Some(hash);
            bodies.push(body);
            versions.push(cl);
        }
        let history = store.history("p", None).await.unwrap();
        assert_eq!(history.len(), 20);
        for v in &history {
            let (body, _) = store
                .snapshot(v.snapshot.as_deref().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                body,
                bodies[v.version as usize - 1].as_bytes(),
                "version {}",
                v.version
            );
            assert_eq!(
                store.clauses(v.id).await.unwrap(),
                versions[v.version as usize - 1],
                "version {}",
                v.version
            );
        }
        let (texts, paths): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM texts), (SELECT COUNT(*) FROM heading_paths)",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        // Each wording once: 60 clauses and one changed one per version.
        assert_eq!((texts, paths), (60 + 20, 1));
        let sizes: Vec<(i64, i64, bool)> = sqlx::query_as(
            "SELECT length(body_zstd), depth, dict IS NOT NULL FROM snapshots ORDER BY first_seen, rowid",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let alone = zstd::bulk::compress(bodies[0].as_bytes(), 3).unwrap().len() as i64;
        // The first is compressed against its clause texts, the next ones
        // against the previous page, with a fresh start when the chain is long.
        assert!(sizes[0].2 && sizes[0].0 < alone, "{sizes:?} vs {alone}");
        assert!(
            sizes[1..16].iter().all(|&(n, _, dict)| !dict && n < 200),
            "{sizes:?}"
        );
        assert_eq!(sizes[16].1, 0, "{sizes:?}");
        assert!(sizes[16].2);
    }

    #[tokio::test]
    async fn a_page_of_more_clauses_than_a_statement_takes_is_stored_and_read_back() {
        let (_dir, store) = testing::store().await;
        let d = doc();
        // More clauses than one statement takes (the write runs one query
        // per chunk of rows).
        let texts: Vec<String> = (0..3000)
            .map(|i| format!("Paragraph {i}: we may share information about you with partner {i}, as section {} says.", i / 20))
            .collect();
        let page = |texts: &[String]| {
            let mut html = String::from("<html><body><main>");
            for (i, t) in texts.iter().enumerate() {
                html.push_str(&format!("<p id=\"p{i}\" class=\"clause para\">{t}</p>\n"));
            }
            html + "</main></body></html>"
        };
        let mut bodies = Vec::new();
        let mut expected = None;
        for round in 0..3 {
            let mut texts = texts.clone();
            texts[round].push_str(" Changed.");
            let body = page(&texts);
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let cl = clauses(&refs);
            // The third is written as a big page's check writes it: the
            // first snapshot's dictionary is read back a chunk at a time.
            let parent = match store.latest_version("p").await.unwrap() {
                Some(v) if round == 2 => {
                    let shed = store.stored_clauses(v.id).await.unwrap().shed_wordings();
                    assert!(shed.clauses.is_empty());
                    Some(shed)
                }
                Some(v) => Some(store.stored_clauses(v.id).await.unwrap()),
                None => None,
            };
            write_page(
                &store,
                &d,
                expected.as_deref(),
                &new_version(round as i64 + 1),
                &cl,
                body.as_bytes(),
                parent.as_ref(),
            )
            .await;
            expected = Some(version_hash(&cl));
            assert_eq!(
                store
                    .clauses(store.latest_version("p").await.unwrap().unwrap().id)
                    .await
                    .unwrap(),
                cl
            );
            bodies.push(body);
        }
        for v in store.history("p", None).await.unwrap() {
            let (body, _) = store
                .snapshot(v.snapshot.as_deref().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(body, bodies[v.version as usize - 1].as_bytes());
        }
        // The next pages are compressed against the one before.
        let chained: Vec<(bool, bool)> = sqlx::query_as(
            "SELECT base_hash IS NOT NULL, dict IS NOT NULL FROM snapshots ORDER BY first_seen, rowid",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        assert_eq!(chained, [(false, true), (true, false), (true, false)]);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM texts")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(n, 3000 + 3);
    }

    #[tokio::test]
    async fn a_version_written_meanwhile_is_not_written_twice() {
        let (_dir, store) = testing::store().await;
        let d = doc();
        let v1 = clauses(&["One."]);
        write_version(&store, &d, None, &new_version(1), &v1).await;
        let h1 = version_hash(&v1);
        let v2 = clauses(&["One.", "Two."]);
        // Two checks both saw version 1 and both decided on version 2.
        let first = write_version(&store, &d, Some(&h1), &new_version(2), &v2).await;
        let second = write_version(&store, &d, Some(&h1), &new_version(2), &v2).await;
        assert!(matches!(first, Recorded::Applied { .. }));
        assert_eq!(second, Recorded::AlreadyRecorded { version: 2 });
        // A third that saw something else is superseded.
        let v3 = clauses(&["Three."]);
        let third = write_version(&store, &d, Some(&h1), &new_version(2), &v3).await;
        assert_eq!(third, Recorded::Superseded { latest: 2 });
        assert_eq!(store.history("p", None).await.unwrap().len(), 2);
        // Every request is logged, raced or not.
        assert_eq!(store.fetch_count("p").await.unwrap(), 4);
    }

    /// Makes inserts into `table` whose `column` is 'refused' fail.
    async fn refuse(store: &Store, table: &str, column: &str) {
        sqlx::query(&format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN NEW.{column} = 'refused'
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ))
        .execute(&store.pool)
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_version_write_waits_for_a_commands_lock_without_blocking_the_thread() {
        // One thread (tokio's test runtime): a version write that blocked
        // on the lock would keep the transaction holding it from ever
        // committing.
        let (_dir, store) = testing::store().await;
        let mut tx = store.write().await.unwrap();
        sqlx::query("INSERT INTO kv (key, value) VALUES ('command', 'c')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let s = store.clone();
        let writer = tokio::spawn(async move {
            let cl = clauses(&["One.", "Two."]);
            write_version(&s, &doc(), None, &new_version(1), &cl).await
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            !writer.is_finished(),
            "the version was written under another's lock"
        );
        tx.commit().await.unwrap();
        assert!(matches!(
            writer.await.unwrap(),
            Recorded::Applied {
                version_id: Some(_)
            }
        ));
        assert_eq!(store.history("p", None).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_version_write_that_fails_leaves_nothing_and_the_next_one_is_written() {
        let (_dir, store) = testing::store().await;
        let d = doc();
        refuse(&store, "versions", "hash").await;
        let cl = clauses(&["One.", "Two."]);
        let fetches = [fetch("new_version")];
        let decision = new_version(1);
        let write = |hash| CheckWrite {
            document: &d,
            fetches: &fetches,
            rules_hash: "rules",
            expected_latest: None,
            technical: None,
            decision: &decision,
            etag: None,
            last_modified: None,
            version: Some(VersionWrite {
                snapshot: SnapshotIn {
                    body: b"<p>One.</p><p>Two.</p>",
                    content_type: Some("text/html"),
                    encoding: None,
                },
                clauses: &cl,
                hash,
                cosmetic: false,
                changeset: None,
                parent_clauses: None,
                announcement: None,
            }),
            notice: None,
            now: Utc::now(),
        };
        // The version's row fails after its wordings, paths and snapshot
        // were written in the same transaction.
        let err = store.record_check(write("refused")).await.unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        for table in [
            "texts",
            "heading_paths",
            "snapshots",
            "versions",
            "fetches",
            "documents",
        ] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&store.pool)
                .await
                .unwrap();
            assert_eq!(n, 0, "{table} kept a row of the failed write");
        }
        let hash = version_hash(&cl);
        let r = store.record_check(write(&hash)).await.unwrap();
        assert!(matches!(
            r,
            Recorded::Applied {
                version_id: Some(_)
            }
        ));
        let v = store.latest_version("p").await.unwrap().unwrap();
        assert_eq!(store.clauses(v.id).await.unwrap(), cl);
    }

    #[tokio::test]
    async fn a_failed_one_query_write_is_rolled_back_and_the_next_check_is_written() {
        let (_dir, store) = testing::store().await;
        let d = doc();
        // A write that fails in its last statement but one.
        refuse(&store, "fetches", "outcome").await;
        let now = Utc::now();
        let failed = Decision {
            verdict: Verdict::Failed {
                class: FailureClass::Timeout,
                error: "timed out".into(),
            },
            next: next(),
            gone_since: None,
        };
        let write = |fetches| CheckWrite {
            document: &d,
            fetches,
            rules_hash: "rules",
            expected_latest: None,
            technical: None,
            decision: &failed,
            etag: None,
            last_modified: None,
            version: None,
            notice: None,
            now,
        };
        let refused = [fetch("refused")];
        assert!(store.record_check(write(&refused)).await.is_err());
        // Nothing of it stays, and the check connection is not left inside
        // the failed transaction.
        assert!(store.document_state("p").await.unwrap().is_none());
        let logged = [fetch("failed")];
        store.record_check(write(&logged)).await.unwrap();
        let s = store.document_state("p").await.unwrap().unwrap();
        assert_eq!(s.consecutive_failures, 1);
        assert_eq!(store.fetch_count("p").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn failures_and_pending_changes_update_the_state_only() {
        let (_dir, store) = testing::store().await;
        let d = doc();
        let v1 = clauses(&["One."]);
        write_version(&store, &d, None, &new_version(1), &v1).await;
        let now = Utc::now();
        let pending = Decision {
            verdict: Verdict::Pending {
                retry_after: std::time::Duration::from_secs(60),
            },
            next: Next {
                pending: Some(Pending {
                    hash: "cand".into(),
                    since: now,
                }),
                validators: Validators::Keep,
                ..next()
            },
            gone_since: None,
        };
        let fetches = [fetch("pending")];
        let write = |decision| CheckWrite {
            document: &d,
            fetches: &fetches,
            rules_hash: "rules",
            expected_latest: None,
            technical: None,
            decision,
            etag: Some("\"other\""),
            last_modified: None,
            version: None,
            notice: None,
            now,
        };
        store.record_check(write(&pending)).await.unwrap();
        let s = store.document_state("p").await.unwrap().unwrap();
        assert_eq!(s.pending.unwrap().hash, "cand");
        assert_eq!(s.etag.as_deref(), Some("\"e1\""), "validators kept");
        let failed = Decision {
            verdict: Verdict::Failed {
                class: FailureClass::NotFound,
                error: "HTTP status 404".into(),
            },
            next: Next {
                not_found_since: Some(now),
                ..next()
            },
            gone_since: None,
        };
        store.record_check(write(&failed)).await.unwrap();
        let s = store.document_state("p").await.unwrap().unwrap();
        assert_eq!(s.consecutive_failures, 1);
        assert!(s.not_found_since.is_some());
        let statuses = store.statuses().await.unwrap();
        assert_eq!(statuses[0].last_error_class, Some(FailureClass::NotFound));
        assert_eq!(store.history("p", None).await.unwrap().len(), 1);
    }
}
