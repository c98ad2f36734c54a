//! Migration 0006 (compact storage) on a database written by the first
//! schema: what the old tables held is read back, unchanged, through the
//! new ones, and new versions written on top of it read back too.

use std::io::Read;
use std::path::{Path, PathBuf};

use clausewatch::pipeline::clauses::Clause;
use clausewatch::store::Store;
use sqlx::Row;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-0001.db")
}

async fn raw(path: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
        .await
        .expect("open the copy")
}

/// A clause as the first schema's columns give it: kind, level, path,
/// text, normalized text, normalized hash.
type OldClause = (String, Option<i64>, String, String, String, String);

/// What the first schema holds: per version id, its clauses as the old
/// tables give them, and every snapshot's body.
struct Old {
    versions: Vec<(i64, i64, String, i64)>,
    clauses: Vec<(i64, Vec<OldClause>)>,
    snapshots: Vec<(String, Vec<u8>)>,
}

async fn read_old(path: &Path) -> Old {
    let db = raw(path).await;
    let versions: Vec<(i64, i64, String, i64)> =
        sqlx::query_as("SELECT id, number, hash, clause_count FROM versions ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    let mut clauses = Vec::new();
    for (id, ..) in &versions {
        let rows = sqlx::query(
            "SELECT vc.kind, vc.level, vc.path, t.text, t.norm, t.norm_hash
             FROM version_clauses vc JOIN clause_texts t ON t.hash = vc.text_hash
             WHERE vc.version_id = ? ORDER BY vc.position",
        )
        .bind(id)
        .fetch_all(&db)
        .await
        .unwrap();
        clauses.push((
            *id,
            rows.iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect(),
        ));
    }
    let mut snapshots = Vec::new();
    for (hash, blob) in sqlx::query_as::<_, (String, Vec<u8>)>(
        "SELECT hash, body_zstd FROM snapshots ORDER BY hash",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    {
        let mut body = Vec::new();
        zstd::Decoder::new(&blob[..])
            .unwrap()
            .read_to_end(&mut body)
            .unwrap();
        snapshots.push((hash, body));
    }
    db.close().await;
    Old {
        versions,
        clauses,
        snapshots,
    }
}

fn as_old(c: &Clause) -> OldClause {
    let (kind, level) = c.kind.parts();
    (
        kind.to_string(),
        level.map(i64::from),
        c.path.clone(),
        c.text.clone(),
        c.norm().to_string(),
        c.hash.to_string(),
    )
}

#[tokio::test]
async fn migration_0006_keeps_every_clause_and_snapshot_of_the_first_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    std::fs::copy(fixture(), &db).unwrap();
    let old = read_old(&db).await;
    assert!(old.versions.len() >= 2 && !old.snapshots.is_empty());
    assert!(
        old.clauses.iter().flat_map(|(_, c)| c).any(|c| c.3 != c.4),
        "the fixture has clauses whose normalized form differs"
    );

    let store = Store::open(&db).await.expect("migrates");
    let history = store.history("x-privacy", None).await.unwrap();
    let mut seen: Vec<(i64, i64, String, i64)> = history
        .iter()
        .map(|v| (v.id, v.version, v.hash.clone(), v.clauses))
        .collect();
    seen.sort();
    assert_eq!(seen, old.versions);
    for (id, want) in &old.clauses {
        let got: Vec<_> = store
            .clauses(*id)
            .await
            .unwrap()
            .iter()
            .map(as_old)
            .collect();
        assert_eq!(&got, want, "version {id}");
    }
    for (hash, body) in &old.snapshots {
        let (got, _) = store.snapshot(hash).await.unwrap().expect("kept");
        assert_eq!(&got, body, "snapshot {hash}");
    }
    for table in ["version_clauses"] {
        let gone: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
        )
        .bind(table)
        .fetch_one(&raw(&db).await)
        .await
        .unwrap();
        assert_eq!(gone, 0, "{table} is dropped");
    }

    // A version written by the new code on top of the moved data shares
    // the moved wordings and reads back whole.
    let latest = &history[0];
    let mut clauses = store.clauses(latest.id).await.unwrap();
    let norm = format!("{} One more sentence.", clauses[3].norm());
    clauses[3].text.push_str(" One more sentence.");
    clauses[3].set_norm(norm);
    let texts_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM texts")
        .fetch_one(&raw(&db).await)
        .await
        .unwrap();
    let doc = clausewatch::config::Config::parse(
        Path::new("bot.toml"),
        "[[documents]]\nid = \"x-privacy\"\nname = \"X privacy\"\nservice = \"X\"\nurl = \"https://x.test/p\"\n",
    )
    .unwrap()
    .documents
    .remove(0);
    let number = store
        .import_version(&doc, chrono::Utc::now(), &clauses, "h3", None)
        .await
        .unwrap()
        .expect("a new version");
    let v = store.version("x-privacy", number).await.unwrap().unwrap();
    assert_eq!(store.clauses(v.id).await.unwrap(), clauses);
    let texts_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM texts")
        .fetch_one(&raw(&db).await)
        .await
        .unwrap();
    assert_eq!(
        texts_after,
        texts_before + 1,
        "only the changed wording is new"
    );
    store.close().await;
}
