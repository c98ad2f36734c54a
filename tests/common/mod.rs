//! Helpers shared by integration tests. Each test crate uses a different subset.
#![allow(dead_code)]

pub mod corpus;
pub mod mastodon;
pub mod server;

use std::time::{Duration, Instant};

/// The `clausewatch` binary, without the environment's defaults.
pub fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_clausewatch"));
    c.env_remove("CLAUSEWATCH_DATABASE")
        .env_remove("CLAUSEWATCH_CONFIG");
    c
}

/// A loopback port nothing listens on (for the daemon's listeners).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` until it gives a value, failing the test after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain SQLite connection pool on a database file the binary wrote, for
/// tests that look at tables directly (the store keeps its own pool to
/// itself). It runs no migrations.
pub async fn raw_db(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(10));
    sqlx::SqlitePool::connect_with(options)
        .await
        .expect("open the test database")
}
