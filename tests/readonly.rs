//! Read commands (`history`, `show`, `status`, `diff DOC@N`, `export`) do not
//! change what they read: no migration, no write, no file left beside the
//! database, and they work in a read-only folder. Database errors say what
//! to do, once, and exit 3. `export` then `import` gives back every version.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const CORPUS_DOC: &str = "twitter/privacy-policy";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clausewatch"));
    c.env_remove("CLAUSEWATCH_CONFIG")
        .env_remove("CLAUSEWATCH_DATABASE")
        .env("RUST_LOG", "warn");
    c
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run clausewatch")
}

/// A config with one document, the database `db` beside it.
fn write_config(dir: &Path, db: &str) -> PathBuf {
    let path = dir.join("bot.toml");
    std::fs::write(
        &path,
        format!(
            "[defaults]\nallow_private_addresses = true\n\n[storage]\npath = \"{db}\"\n\n\
             [[documents]]\nid = \"x-privacy\"\nname = \"X Privacy Policy\"\nservice = \"X\"\n\
             url = \"http://127.0.0.1:9/privacy\"\n"
        ),
    )
    .unwrap();
    path
}

/// Imports the corpus document into `dir/db` and leaves the database with
/// everything in its main file (no `-wal`), as after the daemon stopped.
fn imported(dir: &Path, db: &str) -> PathBuf {
    write_config(dir, db);
    let corpus = common::corpus::dir().join(CORPUS_DOC);
    let out = run(dir, &["import", "x-privacy", &corpus.to_string_lossy()]);
    assert!(out.status.success(), "{}", show(&out));
    let path = dir.join(db);
    checkpoint(&path);
    path
}

/// Checkpoints and closes: the last connection removes `-wal` and `-shm`.
fn checkpoint(path: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = common::raw_db(path).await;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn read_commands(db: &str, export_to: &str) -> Vec<Vec<String>> {
    [
        vec!["history", "x-privacy", "--format", "json"],
        vec!["show", "x-privacy", "3"],
        vec!["status", "--format", "json"],
        vec!["diff", "x-privacy@1", "x-privacy@2"],
        vec!["export", "x-privacy", export_to],
    ]
    .into_iter()
    .map(|a| {
        let mut a: Vec<String> = a.into_iter().map(String::from).collect();
        a.extend(["--db".to_string(), db.to_string()]);
        a
    })
    .collect()
}

#[test]
fn read_commands_write_nothing_and_leave_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), "cw.db");
    let before = std::fs::read(&db).unwrap();
    let files = listing(dir.path());
    assert!(!files.iter().any(|f| f.ends_with("-wal")), "{files:?}");
    let out_dir = tempfile::tempdir().unwrap();
    for args in read_commands(
        &db.to_string_lossy(),
        &out_dir.path().join("e").to_string_lossy(),
    ) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir.path(), &args);
        assert!(out.status.success(), "{args:?}: {}", show(&out));
        assert!(
            !out.stdout.is_empty() || args[0] == "export",
            "{args:?} printed nothing"
        );
        assert_eq!(
            listing(dir.path()),
            files,
            "{args:?} left files beside the database"
        );
        assert!(
            std::fs::read(&db).unwrap() == before,
            "{args:?} changed the database"
        );
    }
}

/// Runs as `nobody` (tests run as root, for whom permissions stop nothing),
/// so that the folder and the file really are read-only.
fn as_nobody(dir: &Path, args: &[&str]) -> Option<Output> {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("not root or no setpriv: the read-only folder case is not run");
        return None;
    }
    let mut c = Command::new("/usr/bin/setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_clausewatch"))
        .args(args)
        .current_dir(dir)
        .env_remove("CLAUSEWATCH_CONFIG")
        .env_remove("CLAUSEWATCH_DATABASE");
    Some(c.output().expect("run setpriv"))
}

#[test]
fn read_commands_work_in_a_read_only_folder_with_and_without_a_running_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), "cw.db");
    let set_mode = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let db_arg = db.to_string_lossy().to_string();
    // No writer: everything in the main file, folder and file read-only.
    set_mode(&db, 0o444);
    set_mode(dir.path(), 0o555);
    let Some(out) = as_nobody(dir.path(), &["history", "x-privacy", "--db", &db_arg]) else {
        set_mode(dir.path(), 0o755);
        return;
    };
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 26);
    assert_eq!(listing(dir.path()), ["bot.toml", "cw.db"]);

    // A writer has the database open (as the daemon does): its last write
    // is only in the -wal file, which the read must see.
    set_mode(dir.path(), 0o755);
    set_mode(&db, 0o644);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async {
        let pool = common::raw_db(&db).await;
        sqlx::query("UPDATE documents SET name = 'Renamed while the daemon runs'")
            .execute(&pool)
            .await
            .unwrap();
        pool
    });
    for f in ["cw.db-wal", "cw.db-shm"] {
        set_mode(&dir.path().join(f), 0o644);
    }
    set_mode(dir.path(), 0o555);
    let out = as_nobody(dir.path(), &["status", "--format", "json", "--db", &db_arg]).unwrap();
    set_mode(dir.path(), 0o755);
    assert!(out.status.success(), "{}", show(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        status["documents"][0]["name"],
        "Renamed while the daemon runs"
    );
    rt.block_on(pool.close());
}

#[test]
fn an_older_schema_is_not_upgraded_by_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-0001.db");
    std::fs::copy(&fixture, &db).unwrap();
    let before = std::fs::read(&db).unwrap();
    let out_dir = dir.path().join("export");
    for args in read_commands(&db.to_string_lossy(), &out_dir.to_string_lossy()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("old.db")
                && stderr.contains("older schema (1 of")
                && stderr.contains("`clausewatch run` or `clausewatch check` once to upgrade")
                && stderr.lines().count() == 1
                && stderr.matches("older schema").count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(
            std::fs::read(&db).unwrap() == before,
            "{args:?} changed the backup"
        );
        assert_eq!(listing(dir.path()), ["old.db"], "{args:?}");
    }
}

#[test]
fn database_errors_say_what_to_do_once_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), "cw.db");
    let newer = dir.path().join("newer.db");
    std::fs::copy(&db, &newer).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = common::raw_db(&newer).await;
        for v in [9001, 9002] {
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES (?, 'from the future', 1, x'00', 0)",
            )
            .bind(v)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    });
    std::fs::write(dir.path().join("notes.db"), "not a database\n".repeat(100)).unwrap();
    std::fs::write(dir.path().join("empty.db"), "").unwrap();
    let cases = [
        ("notes.db", "not an SQLite database"),
        (
            "empty.db",
            "the file is empty: run `clausewatch run` or `clausewatch check`",
        ),
        (
            "missing.db",
            "no database here: run `clausewatch run` or `clausewatch check` first",
        ),
        (
            "newer.db",
            "made by a newer clausewatch: 2 migrations are unknown to this one",
        ),
    ];
    for (file, wording) in cases {
        let path = dir.path().join(file).to_string_lossy().to_string();
        let out = run(dir.path(), &["history", "x-privacy", "--db", &path]);
        assert_eq!(out.status.code(), Some(3), "{file}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&path) && stderr.contains(wording) && stderr.lines().count() == 1,
            "{file}: {stderr}"
        );
        // Said once: no part of the message repeats.
        let message = stderr.trim().trim_start_matches("clausewatch: ");
        let first = message.split(": ").nth(1).unwrap();
        assert_eq!(stderr.matches(first).count(), 1, "{file}: {stderr}");
    }
}

fn hashes(dir: &Path) -> Vec<(i64, String, String)> {
    let out = run(dir, &["history", "x-privacy", "--format", "json"]);
    assert!(out.status.success(), "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["version"].as_i64().unwrap(),
                e["hash"].as_str().unwrap().to_string(),
                e["first_seen"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn export_then_import_gives_back_every_version_hash() {
    let first = tempfile::tempdir().unwrap();
    imported(first.path(), "first.db");
    let original = hashes(first.path());
    assert!(
        original.len() >= 20,
        "the corpus has its versions: {original:?}"
    );
    let export = first.path().join("export");
    let out = run(
        first.path(),
        &["export", "x-privacy", &export.to_string_lossy()],
    );
    assert!(out.status.success(), "{}", show(&out));

    let second = tempfile::tempdir().unwrap();
    write_config(second.path(), "second.db");
    let out = run(
        second.path(),
        &["import", "x-privacy", &export.to_string_lossy()],
    );
    assert!(out.status.success(), "{}", show(&out));
    let again = hashes(second.path());
    assert_eq!(again.len(), original.len());
    for (a, b) in original.iter().zip(&again) {
        assert_eq!(a, b, "version {} after export and import", a.0);
    }
}
