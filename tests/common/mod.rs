//! Helpers shared by integration tests. Each test crate uses a different subset.
#![allow(dead_code)]

pub mod corpus;
pub mod mastodon;
pub mod server;

use std::time::{Duration, Instant};

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
