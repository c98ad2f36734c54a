//! Versions and what they are made of: `versions` (each with its clause
//! sequence as one blob), `texts` (distinct clause wordings),
//! `heading_paths`, `snapshots` (raw bodies, compressed, stored once),
//! `changesets` (the diff against the parent) and `technical_updates` (a
//! version re-extracted with new rules). Writes run on the checks'
//! connection (`store::lane`); the read commands' queries on the pool.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{codec, documents, parse_ts, sha256_hex, ts, Result, Store, StoreError};
use crate::config::Document;
use crate::pipeline::clauses::{Clause, ClauseHash};

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
pub(super) fn latest_on(
    conn: &rusqlite::Connection,
    document_id: &str,
) -> rusqlite::Result<Option<(i64, i64, String)>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(
        "SELECT id, number, hash FROM versions WHERE document_id = ? ORDER BY number DESC LIMIT 1",
    )?
    .query_row([document_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .optional()
}

/// A new version's content, as [`insert_version_on`] writes it.
pub(super) struct NewVersion<'a> {
    pub number: i64,
    pub parent: Option<i64>,
    pub snapshot: Option<&'a PreparedSnapshot>,
    pub at: &'a str,
    pub clauses: &'a [Clause],
    pub hash: &'a str,
    pub cosmetic: bool,
    pub changeset: Option<&'a ChangeSetIn>,
    /// The parent's clauses as the check read them, when it did.
    pub parent_clauses: Option<&'a StoredClauses>,
}

/// A new version row with its clauses, snapshot and change set, on the
/// checks' connection inside the caller's transaction; returns its id.
pub(super) fn insert_version_on(
    conn: &rusqlite::Connection,
    document_id: &str,
    v: &NewVersion<'_>,
) -> Result<i64> {
    let seq = intern_clauses_on(conn, v.clauses, v.parent_clauses)?;
    if let Some(s) = v.snapshot {
        insert_snapshot_on(conn, s, &seq, v.at)?;
    }
    let version_id: i64 = conn
        .prepare_cached(
            "INSERT INTO versions (document_id, number, hash, parent_id, snapshot_hash, first_seen, last_seen, clause_count, cosmetic, clause_seq)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )?
        .query_row(
            rusqlite::params![
                document_id,
                v.number,
                v.hash,
                v.parent,
                v.snapshot.map(|s| s.hash.as_str()),
                v.at,
                v.at,
                v.clauses.len() as i64,
                v.cosmetic,
                codec::encode_seq(&seq),
            ],
            |r| r.get(0),
        )?;
    if let Some(cs) = v.changeset {
        conn.prepare_cached(
            "INSERT INTO changesets (version_id, from_version_id, added, removed, modified, moved, renamed, json, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?
        .execute(rusqlite::params![
            version_id,
            v.parent,
            cs.counts.added,
            cs.counts.removed,
            cs.counts.modified,
            cs.counts.moved,
            cs.counts.renamed,
            cs.json,
            v.at,
        ])?;
    }
    conn.prepare_cached("UPDATE documents SET last_change_at = ? WHERE id = ?")?
        .execute([v.at, document_id])?;
    Ok(version_id)
}

/// How many snapshots may be chained through `base_hash` before one is
/// compressed against its own clause texts again: reading a snapshot
/// decompresses its whole chain.
const MAX_DEPTH: i64 = 15;

/// The wordings of `ids` joined by newlines: the dictionary a snapshot
/// compressed against its clause texts was made with. Only the wordings
/// `held` lacks are read, a chunk of ids at a time and in the dictionary's
/// order, so that nothing but the dictionary itself grows with the page:
/// read all at once with their hashes and normal forms, a 10 MB page's
/// wordings took 23 MB beside it.
async fn text_prefix(
    conn: &mut sqlx::SqliteConnection,
    ids: &[i64],
    held: Option<&StoredClauses>,
) -> Result<Vec<u8>> {
    let held: std::collections::HashMap<i64, &str> =
        held.map(|h| h.texts_by_id().collect()).unwrap_or_default();
    let mut prefix = Vec::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut missing: Vec<i64> = chunk
            .iter()
            .copied()
            .filter(|id| !held.contains_key(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let rows: Vec<(i64, String)> = if missing.is_empty() {
            Vec::new()
        } else {
            let sql = format!(
                "SELECT id, text FROM texts WHERE id IN ({})",
                placeholders("?", missing.len())
            );
            let mut q = sqlx::query_as(&sql);
            for id in padded(&missing) {
                q = q.bind(id);
            }
            q.fetch_all(&mut *conn).await?
        };
        let read: std::collections::HashMap<i64, &str> =
            rows.iter().map(|(id, t)| (*id, t.as_str())).collect();
        for id in chunk {
            let text =
                held.get(id)
                    .or_else(|| read.get(id))
                    .ok_or_else(|| StoreError::Corrupt {
                        what: "snapshot dictionary".into(),
                        message: format!("clause text {id} is missing"),
                    })?;
            prefix.extend_from_slice(text.as_bytes());
            prefix.push(b'\n');
        }
    }
    Ok(prefix)
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

/// A raw body compressed for storing, before the transaction that stores
/// it: the compression is the write's largest piece of work, and the
/// database stays unlocked while it runs.
pub(super) struct PreparedSnapshot {
    hash: String,
    size: i64,
    content_type: Option<String>,
    encoding: Option<String>,
    /// `None` when the snapshot is stored already (content-addressed).
    compressed: Option<Vec<u8>>,
    /// The snapshot it was compressed against, and its chain's depth; with
    /// none, it was compressed against the version's clause texts.
    base: Option<(String, i64)>,
}

impl Store {
    /// Compresses a new version's body against the snapshot of `parent`
    /// when its chain is short, otherwise against the version's clause
    /// texts. Any stored snapshot is a valid base, so a version written
    /// meanwhile cannot make the result wrong: the write re-reads the
    /// latest version under its lock and stores nothing then.
    pub(super) async fn prepare_snapshot(
        &self,
        s: &SnapshotIn<'_>,
        parent: Option<i64>,
        clauses: &[Clause],
        parent_clauses: Option<&StoredClauses>,
    ) -> Result<PreparedSnapshot> {
        use rusqlite::OptionalExtension;
        let hash = sha256_hex(s.body);
        let (exists, base) = self
            .lane
            .with(|c| {
                let exists: bool = c
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM snapshots WHERE hash = ?)")?
                    .query_row([&hash], |r| r.get(0))?;
                let base: Option<(String, i64)> = match parent {
                    Some(p) if !exists => c
                        .prepare_cached(
                            "SELECT s.hash, s.depth FROM versions v JOIN snapshots s ON s.hash = v.snapshot_hash WHERE v.id = ?",
                        )?
                        .query_row([p], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?,
                    _ => None,
                };
                Ok::<_, rusqlite::Error>((exists, base))
            })
            .await?;
        let mut prepared = PreparedSnapshot {
            hash,
            size: s.body.len() as i64,
            content_type: s.content_type.map(str::to_string),
            encoding: s.encoding.map(str::to_string),
            compressed: None,
            base: None,
        };
        if exists {
            return Ok(prepared);
        }
        let base = base.filter(|(_, d)| *d < MAX_DEPTH);
        let prefix = match &base {
            Some((base_hash, _)) => {
                let mut conn = self.pool.acquire().await?;
                read_snapshot(&mut conn, base_hash, parent_clauses)
                    .await?
                    .map(|(b, _)| b)
                    .unwrap_or_default()
            }
            // The same bytes `text_prefix` reads back, from the clauses in
            // hand rather than from the rows the write will make.
            None => joined_texts(clauses.iter().map(|c| c.text.as_str())),
        };
        let compressed = codec::compress(s.body, &prefix).map_err(|e| StoreError::Snapshot {
            hash: prepared.hash.clone(),
            message: e.to_string(),
        })?;
        prepared.compressed = Some(compressed);
        prepared.base = base.map(|(h, d)| (h, d + 1));
        Ok(prepared)
    }
}

/// Stores a prepared snapshot once (content-addressed). One compressed
/// against its clause texts names them by id (`seq`, in clause order).
fn insert_snapshot_on(
    conn: &rusqlite::Connection,
    s: &PreparedSnapshot,
    seq: &[codec::SeqEntry],
    at: &str,
) -> Result<()> {
    let Some(compressed) = &s.compressed else {
        return Ok(());
    };
    let (base_hash, dict, depth) = match &s.base {
        Some((h, depth)) => (Some(h.as_str()), None, *depth),
        None => {
            let dict: Vec<u8> = seq
                .iter()
                .flat_map(|e| (e.text as u32).to_be_bytes())
                .collect();
            (None, Some(dict), 0)
        }
    };
    conn.prepare_cached(
        "INSERT OR IGNORE INTO snapshots (hash, size, content_type, encoding, body_zstd, first_seen, base_hash, dict, depth)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(rusqlite::params![
        s.hash,
        s.size,
        s.content_type,
        s.encoding,
        compressed,
        at,
        base_hash,
        dict,
        depth,
    ])?;
    Ok(())
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

/// Ids per `IN (…)` of a read by id: through the pool every statement is a
/// round trip to the database thread (SQLite allows 32,766 parameters).
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
/// nothing. One prepared statement per row: in process, a statement costs
/// microseconds, and a query never holds more than one compiled.
fn intern_clauses_on(
    conn: &rusqlite::Connection,
    clauses: &[Clause],
    held: Option<&StoredClauses>,
) -> Result<Vec<codec::SeqEntry>> {
    use rusqlite::OptionalExtension;
    let mut text_ids: std::collections::HashMap<[u8; 32], i64> = Default::default();
    let mut paths: std::collections::HashMap<&str, i64> = Default::default();
    if let Some(h) = held {
        for r in &h.refs {
            text_ids.insert(r.hash, r.text);
        }
        for (c, r) in h.clauses.iter().zip(&h.refs) {
            paths.insert(c.path.as_str(), r.path);
        }
        for (path, id) in &h.paths {
            paths.insert(path.as_str(), *id);
        }
    }
    let mut find_text = conn.prepare_cached("SELECT id FROM texts WHERE hash = ?")?;
    let mut add_text = conn.prepare_cached(
        "INSERT INTO texts (hash, text, norm, norm_edit, norm_hash) VALUES (?, ?, ?, ?, ?)",
    )?;
    let mut find_path = conn.prepare_cached("SELECT id FROM heading_paths WHERE path = ?")?;
    let mut add_path = conn.prepare_cached("INSERT INTO heading_paths (path) VALUES (?)")?;
    let mut seq = Vec::with_capacity(clauses.len());
    for c in clauses {
        let hash = text_hash(c);
        let text = match text_ids.get(&hash) {
            Some(&id) => id,
            None => {
                let id = match find_text
                    .query_row([&hash[..]], |r| r.get::<_, i64>(0))
                    .optional()?
                {
                    Some(id) => id,
                    None => {
                        let (norm, edit) = if c.norm_is_text() {
                            (None, None)
                        } else {
                            match codec::norm_edit(&c.text, c.norm()) {
                                Some(edit) => (None, Some(edit)),
                                None => (Some(c.norm()), None),
                            }
                        };
                        // A clause that is its own normal form has its
                        // normal form's hash as `hash` already.
                        let norm_hash = if c.norm_is_text() { hash } else { c.hash.0 };
                        add_text.execute(rusqlite::params![
                            &hash[..],
                            c.text,
                            norm,
                            edit,
                            &norm_hash[..]
                        ])?;
                        conn.last_insert_rowid()
                    }
                };
                text_ids.insert(hash, id);
                id
            }
        };
        let path = match paths.get(c.path.as_str()) {
            Some(&id) => id,
            None => {
                let id = match find_path
                    .query_row([&c.path], |r| r.get::<_, i64>(0))
                    .optional()?
                {
                    Some(id) => id,
                    None => {
                        add_path.execute([&c.path])?;
                        conn.last_insert_rowid()
                    }
                };
                paths.insert(c.path.as_str(), id);
                id
            }
        };
        if path > codec::MAX_PATH_ID {
            return Err(StoreError::Corrupt {
                what: "heading paths".into(),
                message: format!("more than {} distinct heading paths", codec::MAX_PATH_ID),
            });
        }
        seq.push(codec::SeqEntry {
            text,
            path,
            kind: c.kind,
        });
    }
    Ok(seq)
}

/// SHA-256 of a clause's wording, the key of `texts`. Most clauses are
/// their own normal form, whose hash the clause carries: hashing every
/// wording again was a second SHA-256 of each page's text.
fn text_hash(c: &Clause) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    if c.norm_is_text() {
        debug_assert_eq!(
            c.hash.0,
            <[u8; 32]>::from(Sha256::digest(c.text.as_bytes()))
        );
        return c.hash.0;
    }
    Sha256::digest(c.text.as_bytes()).into()
}

/// One stored wording with its normalized form rebuilt.
#[derive(Clone)]
struct StoredText {
    hash: [u8; 32],
    text: String,
    /// `None` when the normalized form is the text itself.
    norm: Option<String>,
    norm_hash: ClauseHash,
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
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let (id, t) = stored_text(r)?;
        out.insert(id, t);
    }
    Ok(out)
}

/// One stored wording with its normalized form rebuilt.
fn stored_text(r: TextRow) -> Result<(i64, StoredText)> {
    let corrupt = |message: String| StoreError::Corrupt {
        what: format!("clause text {}", r.id),
        message,
    };
    let norm = match (r.norm, r.norm_edit) {
        (Some(norm), _) => Some(norm),
        (None, Some(edit)) => Some(codec::apply_norm_edit(&r.text, &edit).map_err(corrupt)?),
        (None, None) => None,
    };
    let hash = <[u8; 32]>::try_from(r.hash.as_slice())
        .map_err(|_| corrupt(format!("its hash has {} bytes, not 32", r.hash.len())))?;
    Ok((
        r.id,
        StoredText {
            hash,
            text: r.text,
            norm,
            norm_hash: ClauseHash(<[u8; 32]>::try_from(r.norm_hash.as_slice()).map_err(|_| {
                corrupt(format!(
                    "its normal form's hash has {} bytes, not 32",
                    r.norm_hash.len()
                ))
            })?),
        },
    ))
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
    let mut out = Vec::new();
    lane_each_by_id(conn, select, ids, |row| {
        out.push(map(row)?);
        Ok::<_, rusqlite::Error>(())
    })?;
    Ok(out)
}

/// Calls `each` on the row of `select` for each distinct id, as the rows
/// come: nothing is collected on the way.
fn lane_each_by_id<E: From<rusqlite::Error>>(
    conn: &rusqlite::Connection,
    select: &str,
    ids: &[i64],
    mut each: impl FnMut(&rusqlite::Row<'_>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut unique: Vec<i64> = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    for chunk in unique.chunks(ROWS_PER_STATEMENT) {
        let (marks, values) = super::lane::padded_in(chunk);
        let mut st = conn.prepare_cached(&format!("{select} WHERE id IN ({marks})"))?;
        let mut rows = st.query(rusqlite::params_from_iter(values))?;
        while let Some(row) = rows.next()? {
            each(row)?;
        }
    }
    Ok(())
}

/// [`Store::stored_clauses`] on the checks' connection.
fn stored_clauses_on(conn: &rusqlite::Connection, version_id: i64) -> Result<StoredClauses> {
    use rusqlite::OptionalExtension;
    let blob: Option<Vec<u8>> = conn
        .prepare_cached("SELECT clause_seq FROM versions WHERE id = ?")?
        .query_row([version_id], |r| r.get(0))
        .optional()?;
    let seq = decoded_seq(version_id, blob)?;
    let path_ids: Vec<i64> = seq.iter().map(|e| e.path).collect();
    let paths = lane_rows_by_id(conn, PATHS_SELECT, &path_ids, |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let paths: std::collections::HashMap<i64, String> = paths.into_iter().collect();
    // The wordings are read a chunk of clauses at a time and go straight
    // into them: a big page's rows read all at once into one map were
    // 25 MB beside its 10 MB of text, at the peak of its check.
    let mut stored = StoredClauses {
        clauses: Vec::with_capacity(seq.len()),
        refs: Vec::with_capacity(seq.len()),
        ..StoredClauses::default()
    };
    for (k, chunk) in seq.chunks(ROWS_PER_STATEMENT).enumerate() {
        let ids: Vec<i64> = chunk.iter().map(|e| e.text).collect();
        let mut texts = std::collections::HashMap::with_capacity(ids.len());
        lane_each_by_id(conn, TEXTS_SELECT, &ids, |r| {
            let (id, text) = stored_text(TextRow {
                id: r.get(0)?,
                hash: r.get(1)?,
                text: r.get(2)?,
                norm: r.get(3)?,
                norm_edit: r.get(4)?,
                norm_hash: r.get(5)?,
            })?;
            texts.insert(id, text);
            Ok::<_, StoreError>(())
        })?;
        assemble_into(chunk, k * ROWS_PER_STATEMENT, texts, &paths, &mut stored)?;
    }
    stored.version_id = Some(version_id);
    Ok(stored)
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
    /// One per clause, or none for clauses that are not (all) stored; after
    /// [`StoredClauses::shed_wordings`], one per clause that was.
    refs: Vec<ClauseRef>,
    /// The distinct heading paths with their ids, once the clauses are shed.
    paths: Vec<(String, i64)>,
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
            paths: Vec::new(),
        }
    }

    /// The same stored rows without the clauses: the ids of their wordings
    /// by hash and of their heading paths, each path once. A write of the
    /// next version still looks up only the wordings that are new, but
    /// reads the parent snapshot's dictionary back from the database.
    ///
    /// Why: a big page's old clauses (wordings, hex hashes, one path per
    /// clause) were a third of its check's memory, held until its write
    /// only to spare that read (25 MB of a 10 MB page's 81 MB peak).
    pub fn shed_wordings(self) -> StoredClauses {
        let mut paths: std::collections::HashMap<String, i64> = self.paths.into_iter().collect();
        for (c, r) in self.clauses.into_iter().zip(&self.refs) {
            paths.entry(c.path).or_insert(r.path);
        }
        StoredClauses {
            clauses: Vec::new(),
            version_id: self.version_id,
            refs: self.refs,
            paths: paths.into_iter().collect(),
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
    assemble(seq, texts, &paths)
}

/// A sequence's clauses from its wordings and paths.
fn assemble(
    seq: &[codec::SeqEntry],
    texts: std::collections::HashMap<i64, StoredText>,
    paths: &std::collections::HashMap<i64, String>,
) -> Result<StoredClauses> {
    // Sized up front: collected through a `Result`, the two lists grew by
    // doubling, a quarter again of a big page's clauses at the peak.
    let mut stored = StoredClauses {
        clauses: Vec::with_capacity(seq.len()),
        refs: Vec::with_capacity(seq.len()),
        ..StoredClauses::default()
    };
    assemble_into(seq, 0, texts, paths, &mut stored)?;
    Ok(stored)
}

/// Appends the clauses of `seq`, the first at `position`, to `out`.
fn assemble_into(
    seq: &[codec::SeqEntry],
    position: usize,
    mut texts: std::collections::HashMap<i64, StoredText>,
    paths: &std::collections::HashMap<i64, String>,
    out: &mut StoredClauses,
) -> Result<()> {
    // A wording goes into its last clause rather than being copied, so
    // that a big page's texts are not held twice while they are read.
    let mut uses: std::collections::HashMap<i64, u32> =
        std::collections::HashMap::with_capacity(texts.len());
    for e in seq {
        *uses.entry(e.text).or_default() += 1;
    }
    for (k, e) in seq.iter().enumerate() {
        let left = uses.get_mut(&e.text).map(|n| {
            *n -= 1;
            *n
        });
        let t = match left {
            Some(0) => texts.remove(&e.text),
            _ => texts.get(&e.text).cloned(),
        }
        .ok_or_else(|| StoreError::Corrupt {
            what: "clause sequence".into(),
            message: format!("clause text {} is missing", e.text),
        })?;
        let path = paths.get(&e.path).ok_or_else(|| StoreError::Corrupt {
            what: "clause sequence".into(),
            message: format!("heading path {} is missing", e.path),
        })?;
        out.refs.push(ClauseRef {
            text: e.text,
            hash: t.hash,
            path: e.path,
        });
        out.clauses.push(Clause::new(
            (position + k) as u32,
            e.kind,
            path.clone(),
            t.text,
            t.norm,
            t.norm_hash,
        ));
    }
    Ok(())
}

/// Replaces the clauses and hash of a version with a re-extraction of its
/// snapshot, keeping the old clause list in `technical_updates`. Never
/// announced: nothing on the page changed.
pub(super) fn replace_clauses_on(
    conn: &rusqlite::Connection,
    version_id: i64,
    clauses: &[Clause],
    hash: &str,
    rules_hash: &str,
    at: &str,
) -> Result<()> {
    let old_hash: String = conn
        .prepare_cached("SELECT hash FROM versions WHERE id = ?")?
        .query_row([version_id], |r| r.get(0))?;
    let old_clauses = stored_clauses_on(conn, version_id)?;
    let old: Vec<serde_json::Value> = old_clauses
        .clauses
        .iter()
        .zip(&old_clauses.refs)
        .map(|(c, r)| {
            let (kind, level) = c.kind.parts();
            serde_json::json!([kind, level, c.path, hex::encode(r.hash)])
        })
        .collect();
    conn.prepare_cached(
        "INSERT INTO technical_updates (version_id, old_hash, new_hash, old_clauses, rules_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(rusqlite::params![
        version_id,
        old_hash,
        hash,
        serde_json::Value::Array(old).to_string(),
        rules_hash,
        at,
    ])?;
    let seq = intern_clauses_on(conn, clauses, Some(&old_clauses))?;
    conn.prepare_cached(
        "UPDATE versions SET hash = ?, clause_count = ?, clause_seq = ? WHERE id = ?",
    )?
    .execute(rusqlite::params![
        hash,
        clauses.len() as i64,
        codec::encode_seq(&seq),
        version_id
    ])?;
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
        let at = ts(seen_at);
        let (id, name, service, url, language) = documents::sync_values(doc);
        self.lane
            .with(|c| -> Result<Option<i64>> {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                tx.prepare_cached(documents::SYNC)?
                    .execute(rusqlite::params![id, name, service, url, language])?;
                let latest = latest_on(&tx, id)?;
                if latest.as_ref().is_some_and(|(_, _, h)| h == hash) {
                    // The document's row is kept in step all the same.
                    tx.commit()?;
                    return Ok(None);
                }
                let number = latest.as_ref().map_or(1, |(_, n, _)| n + 1);
                let version = NewVersion {
                    number,
                    parent: latest.as_ref().map(|(id, _, _)| *id),
                    snapshot: None,
                    at: &at,
                    clauses,
                    hash,
                    cosmetic: false,
                    changeset: changeset.as_ref(),
                    parent_clauses: None,
                };
                insert_version_on(&tx, id, &version)?;
                tx.commit()?;
                Ok(Some(number))
            })
            .await
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
        self.lane.with(|c| stored_clauses_on(c, version_id)).await
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
