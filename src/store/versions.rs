//! Versions and what they are made of: `versions`, `version_clauses`,
//! `clause_texts` (distinct clause wordings), `snapshots` (raw bodies,
//! compressed, stored once), `changesets` (the diff against the parent) and
//! `technical_updates` (a version re-extracted with new rules).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{codec, documents, parse_ts, sha256_hex, ts, Result, Store, StoreError, Tx};
use crate::config::Document;
use crate::pipeline::clauses::Clause;

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

pub(super) const VERSION_COLUMNS: &str =
    "v.id, v.number, v.first_seen, v.last_seen, v.hash, v.clause_count, \
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

/// A new version row with its clauses, snapshot and change set; returns
/// its id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_version(
    tx: &mut Tx<'_>,
    document_id: &str,
    number: i64,
    parent: Option<i64>,
    snapshot: Option<&SnapshotIn<'_>>,
    at: &str,
    clauses: &[Clause],
    hash: &str,
    cosmetic: bool,
    changeset: Option<&ChangeSetIn>,
    parent_clauses: Option<&StoredClauses>,
) -> Result<i64> {
    let seq = intern_clauses(tx, clauses, parent_clauses).await?;
    let snapshot = match snapshot {
        Some(s) => Some(insert_snapshot(tx, s, parent, &seq, clauses, parent_clauses, at).await?),
        None => None,
    };
    let version_id: i64 = sqlx::query_scalar(
        "INSERT INTO versions (document_id, number, hash, parent_id, snapshot_hash, first_seen, last_seen, clause_count, cosmetic, clause_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
    .bind(codec::encode_seq(&seq))
    .fetch_one(&mut **tx)
    .await?;
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

/// How many snapshots may be chained through `base_hash` before one is
/// compressed against its own clause texts again: reading a snapshot
/// decompresses its whole chain.
const MAX_DEPTH: i64 = 15;

/// The wordings of `ids` joined by newlines: the dictionary a snapshot
/// compressed against its clause texts was made with. Only the wordings
/// `held` lacks are read.
async fn text_prefix(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
    held: Option<&StoredClauses>,
) -> Result<Vec<u8>> {
    let held: std::collections::HashMap<i64, &str> =
        held.map(|h| h.texts_by_id().collect()).unwrap_or_default();
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !held.contains_key(id))
        .collect();
    let texts = if missing.is_empty() {
        Default::default()
    } else {
        texts_by_id(conn, &missing).await?
    };
    let ordered = ids
        .iter()
        .map(|id| {
            held.get(id)
                .copied()
                .or_else(|| texts.get(id).map(|t| t.text.as_str()))
                .ok_or_else(|| StoreError::Corrupt {
                    what: "snapshot dictionary".into(),
                    message: format!("clause text {id} is missing"),
                })
        })
        .collect::<Result<Vec<&str>>>()?;
    Ok(joined_texts(ordered.into_iter()))
}

fn joined_texts<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> Vec<u8> {
    // Sized up front: grown by doubling, a big page's dictionary took half
    // as much again (15 MB for 10 MB of text) at the peak of its write.
    let mut prefix = Vec::with_capacity(texts.clone().map(|t| t.len() + 1).sum());
    for t in texts {
        prefix.extend_from_slice(t.as_bytes());
        prefix.push(b'\n');
    }
    prefix
}

fn dict_ids(dict: &[u8]) -> Vec<i64> {
    dict.chunks_exact(4)
        .map(|c| i64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect()
}

/// Stores a raw body once (content-addressed) and returns its hash. The
/// body is compressed against the parent version's snapshot when there is
/// one and its chain is short, otherwise against the version's clause
/// texts.
async fn insert_snapshot(
    tx: &mut Tx<'_>,
    s: &SnapshotIn<'_>,
    parent: Option<i64>,
    seq: &[codec::SeqEntry],
    clauses: &[Clause],
    parent_clauses: Option<&StoredClauses>,
    at: &str,
) -> Result<String> {
    let hash = sha256_hex(s.body);
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM snapshots WHERE hash = ?)")
        .bind(&hash)
        .fetch_one(&mut **tx)
        .await?;
    if exists {
        return Ok(hash);
    }
    let base: Option<(String, i64)> = match parent {
        Some(p) => {
            sqlx::query_as(
                "SELECT s.hash, s.depth FROM versions v JOIN snapshots s ON s.hash = v.snapshot_hash WHERE v.id = ?",
            )
            .bind(p)
            .fetch_optional(&mut **tx)
            .await?
        }
        None => None,
    };
    let corrupt = |e: std::io::Error| StoreError::Snapshot {
        hash: hash.clone(),
        message: e.to_string(),
    };
    let (base_hash, dict, depth, prefix) = match base.filter(|(_, d)| *d < MAX_DEPTH) {
        Some((base_hash, depth)) => {
            let body = read_snapshot(tx, &base_hash, parent_clauses)
                .await?
                .map(|(b, _)| b);
            (Some(base_hash), None, depth + 1, body.unwrap_or_default())
        }
        None => {
            let ids: Vec<i64> = seq.iter().map(|e| e.text).collect();
            let dict: Vec<u8> = ids
                .iter()
                .flat_map(|id| (*id as u32).to_be_bytes())
                .collect();
            // The same bytes `text_prefix` reads back, from the clauses
            // in hand rather than from the rows just written.
            let prefix = joined_texts(clauses.iter().map(|c| c.text.as_str()));
            (None, Some(dict), 0, prefix)
        }
    };
    let compressed = codec::compress(s.body, &prefix).map_err(corrupt)?;
    sqlx::query(
        "INSERT INTO snapshots (hash, size, content_type, encoding, body_zstd, first_seen, base_hash, dict, depth)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&hash)
    .bind(s.body.len() as i64)
    .bind(s.content_type)
    .bind(s.encoding)
    .bind(compressed)
    .bind(at)
    .bind(base_hash)
    .bind(dict)
    .bind(depth)
    .execute(&mut **tx)
    .await?;
    Ok(hash)
}

#[derive(FromRow)]
struct SnapshotRow {
    size: i64,
    content_type: Option<String>,
    base_hash: Option<String>,
    dict: Option<Vec<u8>>,
    body_zstd: Vec<u8>,
}

/// A snapshot's body and content type, decompressing its chain of bases
/// from the oldest. Wordings of a dictionary that `held` has are not read.
async fn read_snapshot(
    conn: &mut sqlx::SqliteConnection,
    hash: &str,
    held: Option<&StoredClauses>,
) -> Result<Option<(Vec<u8>, Option<String>)>> {
    let mut chain: Vec<(String, SnapshotRow)> = Vec::new();
    let mut next = Some(hash.to_string());
    while let Some(h) = next {
        let row: Option<SnapshotRow> = sqlx::query_as(
            "SELECT size, content_type, base_hash, dict, body_zstd FROM snapshots WHERE hash = ?",
        )
        .bind(&h)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            if chain.is_empty() {
                return Ok(None);
            }
            return Err(StoreError::Snapshot {
                hash: hash.to_string(),
                message: format!("its base snapshot {h} is missing"),
            });
        };
        if chain.len() as i64 > MAX_DEPTH + 1 || chain.iter().any(|(c, _)| *c == h) {
            return Err(StoreError::Snapshot {
                hash: hash.to_string(),
                message: "its chain of base snapshots does not end".into(),
            });
        }
        next = row.base_hash.clone();
        chain.push((h, row));
    }
    let content_type = chain[0].1.content_type.clone();
    let mut body = Vec::new();
    for (h, row) in chain.into_iter().rev() {
        let prefix = match &row.dict {
            Some(dict) => text_prefix(&mut *conn, &dict_ids(dict), held).await?,
            None => body,
        };
        body =
            codec::decompress(&row.body_zstd, &prefix, row.size.max(0) as usize).map_err(|e| {
                StoreError::Snapshot {
                    hash: h.clone(),
                    message: e.to_string(),
                }
            })?;
    }
    Ok(Some((body, content_type)))
}

/// Rows per multi-row statement: every statement is a round trip to the
/// database thread (SQLite allows 32,766 parameters; 5 × 512 stays far
/// below).
const ROWS_PER_STATEMENT: usize = 512;

/// `n` rows of placeholders, `n` rounded up to a power of two: sqlx keeps
/// 100 prepared statements per connection, and one per exact row count
/// would prepare nearly every statement afresh and push the others out.
fn placeholders(row: &str, n: usize) -> String {
    vec![row; n.next_power_of_two()].join(", ")
}

/// A chunk padded to [`placeholders`]' row count by repeating its last
/// item: a repeated key in `IN (…)` or a repeated row of `INSERT OR
/// IGNORE` changes nothing.
fn padded<T>(chunk: &[T]) -> impl Iterator<Item = &T> {
    (0..chunk.len().next_power_of_two()).map(move |k| &chunk[k.min(chunk.len() - 1)])
}

/// Makes sure every clause's wording and heading path is stored, and
/// returns the version's sequence. Wordings already stored (most of them,
/// for a version that changes a few clauses) cost one lookup, no write;
/// those of `held` (the parent version's, as the check read them) cost
/// nothing.
async fn intern_clauses(
    tx: &mut Tx<'_>,
    clauses: &[Clause],
    held: Option<&StoredClauses>,
) -> Result<Vec<codec::SeqEntry>> {
    use sha2::{Digest, Sha256};
    let hashes: Vec<[u8; 32]> = clauses
        .iter()
        .map(|c| Sha256::digest(c.text.as_bytes()).into())
        .collect();
    let mut text_ids: std::collections::HashMap<[u8; 32], i64> = Default::default();
    let mut paths: std::collections::HashMap<&str, i64> = Default::default();
    if let Some(h) = held {
        for (c, r) in h.clauses.iter().zip(&h.refs) {
            text_ids.insert(r.hash, r.text);
            paths.insert(c.path.as_str(), r.path);
        }
    }
    let mut distinct: Vec<usize> = Vec::new();
    for (i, h) in hashes.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(e) = text_ids.entry(*h) {
            e.insert(0);
            distinct.push(i);
        }
    }
    let mut distinct_paths: Vec<&str> = Vec::new();
    for c in clauses {
        if let std::collections::hash_map::Entry::Vacant(e) = paths.entry(c.path.as_str()) {
            e.insert(0);
            distinct_paths.push(c.path.as_str());
        }
    }
    // First the ids of what is stored already, then the missing rows
    // inserted and their ids: wordings and paths apart, so that each
    // query has one of a few shapes (sqlx keeps each shape prepared).
    //
    // One query per chunk of rows, not one for all of them: SQLite holds
    // every statement of a query compiled at once, and a page of 51,000
    // clauses then held 46 MB of compiled statements (as much as its
    // parse); a policy of a few hundred clauses is one chunk either way.
    for chunk in distinct.chunks(ROWS_PER_STATEMENT) {
        let mut lookup = IdQuery::default();
        let chunk: Vec<&[u8]> = chunk.iter().map(|&i| &hashes[i][..]).collect();
        lookup.text_ids(&chunk);
        lookup.run(tx, &mut text_ids, &mut paths).await?;
    }
    for chunk in distinct_paths.chunks(ROWS_PER_STATEMENT) {
        let mut lookup = IdQuery::default();
        lookup.path_ids(chunk);
        lookup.run(tx, &mut text_ids, &mut paths).await?;
    }

    let missing: Vec<usize> = distinct
        .into_iter()
        .filter(|&i| text_ids[&hashes[i]] == 0)
        .collect();
    let missing_paths: Vec<&str> = distinct_paths
        .into_iter()
        .filter(|p| paths[p] == 0)
        .collect();
    let mut rows = Vec::with_capacity(missing.len());
    for &i in &missing {
        let c = &clauses[i];
        let (norm, edit) = if c.norm == c.text {
            (None, None)
        } else {
            match codec::norm_edit(&c.text, &c.norm) {
                Some(edit) => (None, Some(edit)),
                None => (Some(c.norm.as_str()), None),
            }
        };
        let norm_hash =
            hex::decode(&c.hash).unwrap_or_else(|_| Sha256::digest(c.norm.as_bytes()).to_vec());
        rows.push((&hashes[i][..], c.text.as_str(), norm, edit, norm_hash));
    }
    for (chunk, ids) in rows
        .chunks(ROWS_PER_STATEMENT)
        .zip(missing.chunks(ROWS_PER_STATEMENT))
    {
        let mut insert = IdQuery::default();
        insert.sql.push_str(&format!(
            "INSERT OR IGNORE INTO texts (hash, text, norm, norm_edit, norm_hash) VALUES {};\n",
            placeholders("(?, ?, ?, ?, ?)", chunk.len())
        ));
        for (hash, text, norm, edit, norm_hash) in padded(chunk) {
            insert.args.extend([
                IdArg::Blob(Some(hash)),
                IdArg::Text(Some(text)),
                IdArg::Text(*norm),
                IdArg::Blob(edit.as_deref()),
                IdArg::Blob(Some(norm_hash)),
            ]);
        }
        let ids: Vec<&[u8]> = ids.iter().map(|&i| &hashes[i][..]).collect();
        insert.text_ids(&ids);
        insert.run(tx, &mut text_ids, &mut paths).await?;
    }
    for chunk in missing_paths.chunks(ROWS_PER_STATEMENT) {
        let mut insert = IdQuery::default();
        insert.sql.push_str(&format!(
            "INSERT OR IGNORE INTO heading_paths (path) VALUES {};\n",
            placeholders("(?)", chunk.len())
        ));
        insert
            .args
            .extend(padded(chunk).map(|p| IdArg::Text(Some(p))));
        insert.path_ids(chunk);
        insert.run(tx, &mut text_ids, &mut paths).await?;
    }

    clauses
        .iter()
        .zip(&hashes)
        .map(|(c, h)| {
            let (text, path) = (text_ids[h], paths[c.path.as_str()]);
            if text == 0 || path == 0 {
                return Err(StoreError::Corrupt {
                    what: "clause texts".into(),
                    message: "a wording or heading path just written cannot be read back".into(),
                });
            }
            if path > codec::MAX_PATH_ID {
                return Err(StoreError::Corrupt {
                    what: "heading paths".into(),
                    message: format!("more than {} distinct heading paths", codec::MAX_PATH_ID),
                });
            }
            Ok(codec::SeqEntry {
                text,
                path,
                kind: c.kind,
            })
        })
        .collect()
}

/// A value bound to an [`IdQuery`].
enum IdArg<'a> {
    Text(Option<&'a str>),
    Blob(Option<&'a [u8]>),
}

/// Statements whose only rows are the ids of wordings and heading paths,
/// each `SELECT` returning all of its ids as one JSON row.
///
/// Why one row: sqlx sends a query's rows one by one from its database
/// thread, and a version's hundred-odd ids, one message each, cost more
/// than everything else its write does.
#[derive(Default)]
struct IdQuery<'a> {
    sql: String,
    args: Vec<IdArg<'a>>,
}

impl<'a> IdQuery<'a> {
    /// Asks for the ids of one chunk of wordings (at most
    /// [`ROWS_PER_STATEMENT`]: the write runs one query per chunk).
    fn text_ids(&mut self, hashes: &[&'a [u8]]) {
        debug_assert!(!hashes.is_empty() && hashes.len() <= ROWS_PER_STATEMENT);
        self.sql.push_str(&format!(
            "SELECT 't', json_group_array(json_array(id, hex(hash))) FROM texts WHERE hash IN ({});\n",
            placeholders("?", hashes.len())
        ));
        self.args
            .extend(padded(hashes).map(|h| IdArg::Blob(Some(h))));
    }

    /// Asks for the ids of one chunk of heading paths, as
    /// [`IdQuery::text_ids`].
    fn path_ids(&mut self, paths: &[&'a str]) {
        debug_assert!(!paths.is_empty() && paths.len() <= ROWS_PER_STATEMENT);
        self.sql.push_str(&format!(
            "SELECT 'p', json_group_array(json_array(id, path)) FROM heading_paths WHERE path IN ({});\n",
            placeholders("?", paths.len())
        ));
        self.args
            .extend(padded(paths).map(|p| IdArg::Text(Some(p))));
    }

    /// Runs the statements and fills in the ids they return.
    async fn run(
        self,
        tx: &mut Tx<'_>,
        text_ids: &mut std::collections::HashMap<[u8; 32], i64>,
        paths: &mut std::collections::HashMap<&str, i64>,
    ) -> Result<()> {
        if self.sql.is_empty() {
            return Ok(());
        }
        let q =
            self.args
                .into_iter()
                .fold(
                    sqlx::query_as::<_, (String, String)>(&self.sql),
                    |q, a| match a {
                        IdArg::Text(v) => q.bind(v),
                        IdArg::Blob(v) => q.bind(v),
                    },
                );
        let corrupt = |message: String| StoreError::Corrupt {
            what: "clause texts".into(),
            message,
        };
        for (kind, json) in q.fetch_all(&mut **tx).await? {
            let ids: Vec<(i64, String)> =
                serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))?;
            for (id, key) in ids {
                if kind == "t" {
                    let hash = hex::decode(&key)
                        .ok()
                        .and_then(|h| <[u8; 32]>::try_from(h.as_slice()).ok())
                        .ok_or_else(|| corrupt(format!("clause text {id} has a bad hash")))?;
                    text_ids.insert(hash, id);
                } else if let Some(slot) = paths.get_mut(key.as_str()) {
                    *slot = id;
                }
            }
        }
        Ok(())
    }
}

/// One stored wording with its normalized form rebuilt.
struct StoredText {
    hash: Vec<u8>,
    text: String,
    norm: String,
    norm_hash: String,
}

#[derive(FromRow)]
struct TextRow {
    id: i64,
    hash: Vec<u8>,
    text: String,
    norm: Option<String>,
    norm_edit: Option<Vec<u8>>,
    norm_hash: Vec<u8>,
}

/// Rows of `select` (a statement up to its `WHERE`) for each distinct id.
async fn rows_by_id<R>(
    conn: &mut sqlx::SqliteConnection,
    select: &str,
    ids: &[i64],
) -> Result<Vec<R>>
where
    R: for<'r> FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let mut unique: Vec<i64> = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut out = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(ROWS_PER_STATEMENT) {
        let sql = format!("{select} WHERE id IN ({})", placeholders("?", chunk.len()));
        let mut q = sqlx::query_as::<_, R>(&sql);
        for id in padded(chunk) {
            q = q.bind(id);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

async fn texts_by_id(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, StoredText>> {
    let rows: Vec<TextRow> = rows_by_id(conn, TEXTS_SELECT, ids).await?;
    stored_texts(rows)
}

const TEXTS_SELECT: &str = "SELECT id, hash, text, norm, norm_edit, norm_hash FROM texts";
const PATHS_SELECT: &str = "SELECT id, path FROM heading_paths";

/// Stored wordings with their normalized forms rebuilt, by id.
fn stored_texts(rows: Vec<TextRow>) -> Result<std::collections::HashMap<i64, StoredText>> {
    rows.into_iter()
        .map(|r| {
            let norm = match (r.norm, r.norm_edit) {
                (Some(norm), _) => norm,
                (None, Some(edit)) => {
                    codec::apply_norm_edit(&r.text, &edit).map_err(|message| {
                        StoreError::Corrupt {
                            what: format!("clause text {}", r.id),
                            message,
                        }
                    })?
                }
                (None, None) => r.text.clone(),
            };
            Ok((
                r.id,
                StoredText {
                    hash: r.hash,
                    text: r.text,
                    norm,
                    norm_hash: hex::encode(r.norm_hash),
                },
            ))
        })
        .collect()
}

async fn paths_by_id(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = rows_by_id(conn, PATHS_SELECT, ids).await?;
    Ok(rows.into_iter().collect())
}

/// A version's stored sequence, decoded.
async fn seq_of(
    conn: &mut sqlx::SqliteConnection,
    version_id: i64,
) -> Result<Vec<codec::SeqEntry>> {
    let blob: Option<Vec<u8>> = sqlx::query_scalar("SELECT clause_seq FROM versions WHERE id = ?")
        .bind(version_id)
        .fetch_optional(&mut *conn)
        .await?;
    decoded_seq(version_id, blob)
}

fn decoded_seq(version_id: i64, blob: Option<Vec<u8>>) -> Result<Vec<codec::SeqEntry>> {
    codec::decode_seq(&blob.unwrap_or_default()).map_err(|message| StoreError::Corrupt {
        what: format!("version {version_id}"),
        message,
    })
}

/// [`rows_by_id`] on the checks' connection.
fn lane_rows_by_id<R>(
    conn: &rusqlite::Connection,
    select: &str,
    ids: &[i64],
    mut map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
) -> rusqlite::Result<Vec<R>> {
    let mut unique: Vec<i64> = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut out = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(ROWS_PER_STATEMENT) {
        let (marks, values) = super::lane::padded_in(chunk);
        let mut st = conn.prepare_cached(&format!("{select} WHERE id IN ({marks})"))?;
        let mut rows = st.query(rusqlite::params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            out.push(map(row)?);
        }
    }
    Ok(out)
}

/// A version's clauses as stored, with the ids of their wordings and
/// heading paths.
///
/// Why: the check that writes the next version holds these already (it
/// diffed against them), so that write looks up only the wordings that
/// are new, and rebuilds the parent snapshot's dictionary without reading
/// the texts back: those two reads were a third of a changed page's
/// check.
#[derive(Debug, Clone, Default)]
pub struct StoredClauses {
    pub clauses: Vec<Clause>,
    /// The version they were read from.
    version_id: Option<i64>,
    /// One per clause, or none for clauses that are not (all) stored.
    refs: Vec<ClauseRef>,
}

#[derive(Debug, Clone)]
struct ClauseRef {
    text: i64,
    /// SHA-256 of the wording, the key `texts` is unique on.
    hash: [u8; 32],
    path: i64,
}

impl StoredClauses {
    /// Clauses that were not read from the store (a re-extraction): a
    /// write with them looks every wording up.
    pub fn unstored(clauses: Vec<Clause>) -> StoredClauses {
        StoredClauses {
            clauses,
            version_id: None,
            refs: Vec::new(),
        }
    }

    /// Whether these are the stored clauses of version `id`.
    pub(super) fn of_version(&self, id: i64) -> bool {
        self.version_id == Some(id)
    }

    fn texts_by_id(&self) -> impl Iterator<Item = (i64, &str)> {
        self.clauses
            .iter()
            .zip(&self.refs)
            .map(|(c, r)| (r.text, c.text.as_str()))
    }
}

/// The clauses of a sequence with their texts and paths.
async fn clauses_of(
    conn: &mut sqlx::SqliteConnection,
    seq: &[codec::SeqEntry],
) -> Result<StoredClauses> {
    let text_ids: Vec<i64> = seq.iter().map(|e| e.text).collect();
    let path_ids: Vec<i64> = seq.iter().map(|e| e.path).collect();
    let texts = texts_by_id(&mut *conn, &text_ids).await?;
    let paths = paths_by_id(&mut *conn, &path_ids).await?;
    assemble(seq, &texts, &paths)
}

/// A sequence's clauses from its wordings and paths.
fn assemble(
    seq: &[codec::SeqEntry],
    texts: &std::collections::HashMap<i64, StoredText>,
    paths: &std::collections::HashMap<i64, String>,
) -> Result<StoredClauses> {
    seq.iter()
        .enumerate()
        .map(|(position, e)| {
            let t = texts.get(&e.text).ok_or_else(|| StoreError::Corrupt {
                what: "clause sequence".into(),
                message: format!("clause text {} is missing", e.text),
            })?;
            let path = paths.get(&e.path).ok_or_else(|| StoreError::Corrupt {
                what: "clause sequence".into(),
                message: format!("heading path {} is missing", e.path),
            })?;
            let hash =
                <[u8; 32]>::try_from(t.hash.as_slice()).map_err(|_| StoreError::Corrupt {
                    what: format!("clause text {}", e.text),
                    message: format!("its hash has {} bytes, not 32", t.hash.len()),
                })?;
            Ok((
                Clause {
                    position: position as u32,
                    kind: e.kind,
                    path: path.clone(),
                    text: t.text.clone(),
                    norm: t.norm.clone(),
                    hash: t.norm_hash.clone(),
                },
                ClauseRef {
                    text: e.text,
                    hash,
                    path: e.path,
                },
            ))
        })
        .collect::<Result<(Vec<Clause>, Vec<ClauseRef>)>>()
        .map(|(clauses, refs)| StoredClauses {
            clauses,
            version_id: None,
            refs,
        })
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
    let old_seq = seq_of(tx, version_id).await?;
    let old_clauses = clauses_of(tx, &old_seq).await?;
    let old: Vec<serde_json::Value> = old_clauses
        .clauses
        .iter()
        .zip(&old_clauses.refs)
        .map(|(c, r)| {
            let (kind, level) = c.kind.parts();
            serde_json::json!([kind, level, c.path, hex::encode(r.hash)])
        })
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
    let seq = intern_clauses(tx, clauses, Some(&old_clauses)).await?;
    sqlx::query("UPDATE versions SET hash = ?, clause_count = ?, clause_seq = ? WHERE id = ?")
        .bind(hash)
        .bind(clauses.len() as i64)
        .bind(codec::encode_seq(&seq))
        .bind(version_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A version read from a row of the checks' connection that holds
/// `VERSION_COLUMNS` among others.
pub(super) fn version_of_lane(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionInfo> {
    Ok(VersionRow {
        id: r.get("id")?,
        number: r.get("number")?,
        first_seen: r.get("first_seen")?,
        last_seen: r.get("last_seen")?,
        hash: r.get("hash")?,
        clause_count: r.get("clause_count")?,
        snapshot_hash: r.get("snapshot_hash")?,
        cosmetic: r.get("cosmetic")?,
        added: r.get("added")?,
        removed: r.get("removed")?,
        modified: r.get("modified")?,
        moved: r.get("moved")?,
        renamed: r.get("renamed")?,
    }
    .into())
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
            None,
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
        let mut conn = self.pool.acquire().await?;
        let seq = seq_of(&mut conn, version_id).await?;
        Ok(clauses_of(&mut conn, &seq).await?.clauses)
    }

    /// The clauses of a version with the ids they are stored under, for
    /// writing the next version (see [`StoredClauses`]). Read on the
    /// checks' connection: a check reads them for every changed page.
    pub async fn stored_clauses(&self, version_id: i64) -> Result<StoredClauses> {
        use rusqlite::OptionalExtension;
        let blob: Option<Vec<u8>> = self
            .lane
            .with(|c| {
                c.prepare_cached("SELECT clause_seq FROM versions WHERE id = ?")?
                    .query_row([version_id], |r| r.get(0))
                    .optional()
            })
            .await?;
        let seq = decoded_seq(version_id, blob)?;
        let text_ids: Vec<i64> = seq.iter().map(|e| e.text).collect();
        let path_ids: Vec<i64> = seq.iter().map(|e| e.path).collect();
        let (texts, paths) = self
            .lane
            .with(|c| {
                let texts = lane_rows_by_id(c, TEXTS_SELECT, &text_ids, |r| {
                    Ok(TextRow {
                        id: r.get(0)?,
                        hash: r.get(1)?,
                        text: r.get(2)?,
                        norm: r.get(3)?,
                        norm_edit: r.get(4)?,
                        norm_hash: r.get(5)?,
                    })
                })?;
                let paths = lane_rows_by_id(c, PATHS_SELECT, &path_ids, |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?;
                Ok((texts, paths))
            })
            .await?;
        let mut stored = assemble(&seq, &stored_texts(texts)?, &paths.into_iter().collect())?;
        stored.version_id = Some(version_id);
        Ok(stored)
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
        let mut conn = self.pool.acquire().await?;
        read_snapshot(&mut conn, hash, None).await
    }
}
