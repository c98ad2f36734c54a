//! Versions and what they are made of: `versions`, `version_clauses`,
//! `clause_texts` (distinct clause wordings), `snapshots` (raw bodies,
//! compressed, stored once), `changesets` (the diff against the parent) and
//! `technical_updates` (a version re-extracted with new rules).

use std::io::Read;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{documents, parse_ts, sha256_hex, ts, Result, Store, StoreError, Tx};
use crate::config::Document;
use crate::pipeline::clauses::{Clause, ClauseKind};

/// One row of a version's history.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    pub id: i64,
    pub version: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub hash: String,
    pub clauses: i64,
    pub snapshot: Option<String>,
    /// Only case, whitespace, punctuation or markup changed: never announced.
    pub cosmetic: bool,
    /// Counts of the change set against the previous version, when there is one.
    pub changes: Option<ChangeCounts>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub added: i64,
    pub removed: i64,
    pub modified: i64,
    pub moved: i64,
    pub renamed: i64,
}

/// A raw body to keep beside a new version.
pub struct SnapshotIn<'a> {
    pub body: &'a [u8],
    pub content_type: Option<&'a str>,
    pub encoding: Option<&'a str>,
}

/// A change set to store with a new version (already serialized, so the
/// store does not depend on the diff's types).
pub struct ChangeSetIn {
    pub counts: ChangeCounts,
    pub json: String,
}

const VERSION_COLUMNS: &str = "v.id, v.number, v.first_seen, v.last_seen, v.hash, v.clause_count, \
     v.snapshot_hash, v.cosmetic, c.added, c.removed, c.modified, c.moved, c.renamed";

#[derive(FromRow)]
struct VersionRow {
    id: i64,
    number: i64,
    first_seen: String,
    last_seen: String,
    hash: String,
    clause_count: i64,
    snapshot_hash: Option<String>,
    cosmetic: bool,
    added: Option<i64>,
    removed: Option<i64>,
    modified: Option<i64>,
    moved: Option<i64>,
    renamed: Option<i64>,
}

impl From<VersionRow> for VersionInfo {
    fn from(r: VersionRow) -> VersionInfo {
        VersionInfo {
            id: r.id,
            version: r.number,
            first_seen: parse_ts(&r.first_seen),
            last_seen: parse_ts(&r.last_seen),
            hash: r.hash,
            clauses: r.clause_count,
            snapshot: r.snapshot_hash,
            cosmetic: r.cosmetic,
            changes: r.added.map(|added| ChangeCounts {
                added,
                removed: r.removed.unwrap_or_default(),
                modified: r.modified.unwrap_or_default(),
                moved: r.moved.unwrap_or_default(),
                renamed: r.renamed.unwrap_or_default(),
            }),
        }
    }
}

const CLAUSE_COLUMNS: &str = "vc.position, vc.kind, vc.level, vc.path, t.text, t.norm, t.norm_hash";

#[derive(FromRow)]
struct ClauseRow {
    position: i64,
    kind: String,
    level: Option<i64>,
    path: String,
    text: String,
    norm: String,
    norm_hash: String,
}

impl TryFrom<ClauseRow> for Clause {
    type Error = StoreError;
    fn try_from(r: ClauseRow) -> Result<Clause> {
        Ok(Clause {
            position: r.position as u32,
            kind: ClauseKind::from_parts(&r.kind, r.level.map(|l| l as u8))?,
            path: r.path,
            text: r.text,
            norm: r.norm,
            hash: r.norm_hash,
        })
    }
}

/// The latest version of a document inside a write: (id, number, hash).
pub(super) async fn latest_in(
    tx: &mut Tx<'_>,
    document_id: &str,
) -> Result<Option<(i64, i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, number, hash FROM versions WHERE document_id = ? ORDER BY number DESC LIMIT 1",
    )
    .bind(document_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// A new version row with its clauses and change set; returns its id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_version(
    tx: &mut Tx<'_>,
    document_id: &str,
    number: i64,
    parent: Option<i64>,
    snapshot: Option<&str>,
    at: &str,
    clauses: &[Clause],
    hash: &str,
    cosmetic: bool,
    changeset: Option<&ChangeSetIn>,
) -> Result<i64> {
    let version_id: i64 = sqlx::query_scalar(
        "INSERT INTO versions (document_id, number, hash, parent_id, snapshot_hash, first_seen, last_seen, clause_count, cosmetic)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(document_id)
    .bind(number)
    .bind(hash)
    .bind(parent)
    .bind(snapshot)
    .bind(at)
    .bind(at)
    .bind(clauses.len() as i64)
    .bind(cosmetic)
    .fetch_one(&mut **tx)
    .await?;
    insert_clauses(tx, version_id, clauses).await?;
    if let Some(cs) = changeset {
        sqlx::query(
            "INSERT INTO changesets (version_id, from_version_id, added, removed, modified, moved, renamed, json, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(version_id)
        .bind(parent)
        .bind(cs.counts.added)
        .bind(cs.counts.removed)
        .bind(cs.counts.modified)
        .bind(cs.counts.moved)
        .bind(cs.counts.renamed)
        .bind(&cs.json)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE documents SET last_change_at = ? WHERE id = ?")
        .bind(at)
        .bind(document_id)
        .execute(&mut **tx)
        .await?;
    Ok(version_id)
}

thread_local! {
    /// One compression context per thread, reused: making one per snapshot
    /// cost megabytes of allocation each time.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd level 3: writing a version at level 9 cost about 20 ms of CPU.
fn compress(body: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Compressor::new(3)?);
        }
        slot.as_mut().expect("made above").compress(body)
    })
}

/// Stores a raw body once (content-addressed) and returns its hash.
pub(super) async fn insert_snapshot(
    tx: &mut Tx<'_>,
    s: &SnapshotIn<'_>,
    at: &str,
) -> Result<String> {
    let hash = sha256_hex(s.body);
    let compressed = compress(s.body).map_err(|e| StoreError::Snapshot {
        hash: hash.clone(),
        message: e.to_string(),
    })?;
    sqlx::query(
        "INSERT OR IGNORE INTO snapshots (hash, size, content_type, encoding, body_zstd, first_seen)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&hash)
    .bind(s.body.len() as i64)
    .bind(s.content_type)
    .bind(s.encoding)
    .bind(compressed)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(hash)
}

/// Rows per multi-row `INSERT`: every statement is a round trip to the
/// database thread, so a 400-clause policy costs a few statements instead
/// of 800 (SQLite allows 32,766 parameters; 6 × 200 stays far below).
const ROWS_PER_INSERT: usize = 200;

pub(super) async fn insert_clauses(
    tx: &mut Tx<'_>,
    version_id: i64,
    clauses: &[Clause],
) -> Result<()> {
    let hashes: Vec<String> = clauses
        .iter()
        .map(|c| sha256_hex(c.text.as_bytes()))
        .collect();
    for (chunk, chunk_hashes) in clauses
        .chunks(ROWS_PER_INSERT)
        .zip(hashes.chunks(ROWS_PER_INSERT))
    {
        let sql = format!(
            "INSERT OR IGNORE INTO clause_texts (hash, text, norm, norm_hash) VALUES {}",
            vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (c, h) in chunk.iter().zip(chunk_hashes) {
            q = q.bind(h).bind(&c.text).bind(&c.norm).bind(&c.hash);
        }
        q.execute(&mut **tx).await?;
        let sql = format!(
            "INSERT INTO version_clauses (version_id, position, kind, level, path, text_hash) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (c, h) in chunk.iter().zip(chunk_hashes) {
            let (kind, level) = c.kind.parts();
            q = q
                .bind(version_id)
                .bind(c.position as i64)
                .bind(kind)
                .bind(level.map(i64::from))
                .bind(&c.path)
                .bind(h);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Replaces the clauses and hash of a version with a re-extraction of its
/// snapshot, keeping the old clause list in `technical_updates`. Never
/// announced: nothing on the page changed.
pub(super) async fn replace_clauses(
    tx: &mut Tx<'_>,
    version_id: i64,
    clauses: &[Clause],
    hash: &str,
    rules_hash: &str,
    at: &str,
) -> Result<()> {
    let old_hash: String = sqlx::query_scalar("SELECT hash FROM versions WHERE id = ?")
        .bind(version_id)
        .fetch_one(&mut **tx)
        .await?;
    let old_rows: Vec<(String, Option<i64>, String, String)> = sqlx::query_as(
        "SELECT kind, level, path, text_hash FROM version_clauses WHERE version_id = ? ORDER BY position",
    )
    .bind(version_id)
    .fetch_all(&mut **tx)
    .await?;
    let old: Vec<serde_json::Value> = old_rows
        .into_iter()
        .map(|(kind, level, path, text_hash)| serde_json::json!([kind, level, path, text_hash]))
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
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM version_clauses WHERE version_id = ?")
        .bind(version_id)
        .execute(&mut **tx)
        .await?;
    insert_clauses(tx, version_id, clauses).await?;
    sqlx::query("UPDATE versions SET hash = ?, clause_count = ? WHERE id = ?")
        .bind(hash)
        .bind(clauses.len() as i64)
        .bind(version_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Adds a version seen at a past time (importing a history recorded
    /// elsewhere, e.g. Open Terms Archive data). Never announced. Returns the
    /// version number, or None when it equals the latest version.
    pub async fn import_version(
        &self,
        doc: &Document,
        seen_at: DateTime<Utc>,
        clauses: &[Clause],
        hash: &str,
        changeset: Option<ChangeSetIn>,
    ) -> Result<Option<i64>> {
        let mut tx = self.write().await?;
        documents::sync(&mut tx, doc).await?;
        let latest = latest_in(&mut tx, &doc.id).await?;
        if latest.as_ref().is_some_and(|(_, _, h)| h == hash) {
            return Ok(None);
        }
        let number = latest.as_ref().map_or(1, |(_, n, _)| n + 1);
        insert_version(
            &mut tx,
            &doc.id,
            number,
            latest.as_ref().map(|(id, _, _)| *id),
            None,
            &ts(seen_at),
            clauses,
            hash,
            false,
            changeset.as_ref(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(number))
    }

    /// The latest version of a document, if any.
    pub async fn latest_version(&self, document_id: &str) -> Result<Option<VersionInfo>> {
        Ok(self.history(document_id, Some(1)).await?.into_iter().next())
    }

    /// Versions, newest first.
    pub async fn history(&self, document_id: &str, limit: Option<i64>) -> Result<Vec<VersionInfo>> {
        let rows: Vec<VersionRow> = sqlx::query_as(&format!(
            "SELECT {VERSION_COLUMNS} FROM versions v LEFT JOIN changesets c ON c.version_id = v.id
             WHERE v.document_id = ? ORDER BY v.number DESC LIMIT ?"
        ))
        .bind(document_id)
        .bind(limit.unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(VersionInfo::from).collect())
    }

    /// A version by number.
    pub async fn version(&self, document_id: &str, number: i64) -> Result<Option<VersionInfo>> {
        let row: Option<VersionRow> = sqlx::query_as(&format!(
            "SELECT {VERSION_COLUMNS} FROM versions v LEFT JOIN changesets c ON c.version_id = v.id
             WHERE v.document_id = ? AND v.number = ?"
        ))
        .bind(document_id)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(VersionInfo::from))
    }

    /// A version by its row id.
    pub async fn version_by_id(&self, id: i64) -> Result<Option<VersionInfo>> {
        let row: Option<VersionRow> = sqlx::query_as(&format!(
            "SELECT {VERSION_COLUMNS} FROM versions v LEFT JOIN changesets c ON c.version_id = v.id
             WHERE v.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(VersionInfo::from))
    }

    /// The version in force at a time: the newest first seen at or before it.
    pub async fn version_at(
        &self,
        document_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<VersionInfo>> {
        let number: Option<i64> = sqlx::query_scalar(
            "SELECT number FROM versions WHERE document_id = ? AND first_seen <= ? ORDER BY number DESC LIMIT 1",
        )
        .bind(document_id)
        .bind(ts(at))
        .fetch_optional(&self.pool)
        .await?;
        match number {
            Some(n) => self.version(document_id, n).await,
            None => Ok(None),
        }
    }

    /// The clauses of a version, in order.
    pub async fn clauses(&self, version_id: i64) -> Result<Vec<Clause>> {
        let rows: Vec<ClauseRow> = sqlx::query_as(&format!(
            "SELECT {CLAUSE_COLUMNS} FROM version_clauses vc JOIN clause_texts t ON t.hash = vc.text_hash
             WHERE vc.version_id = ? ORDER BY vc.position"
        ))
        .bind(version_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Clause::try_from).collect()
    }

    /// The stored change set (JSON) of a version, if it has one.
    pub async fn changeset_json(&self, version_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT json FROM changesets WHERE version_id = ?")
                .bind(version_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The raw body a version was extracted from, and its content type.
    pub async fn snapshot(&self, hash: &str) -> Result<Option<(Vec<u8>, Option<String>)>> {
        let row: Option<(Vec<u8>, Option<String>)> =
            sqlx::query_as("SELECT body_zstd, content_type FROM snapshots WHERE hash = ?")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
        let Some((blob, content_type)) = row else {
            return Ok(None);
        };
        let mut out = Vec::new();
        zstd::Decoder::new(&blob[..])
            .and_then(|mut d| d.read_to_end(&mut out))
            .map_err(|e| StoreError::Snapshot {
                hash: hash.to_string(),
                message: e.to_string(),
            })?;
        Ok(Some((out, content_type)))
    }
}
