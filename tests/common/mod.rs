//! Helpers shared by integration tests. Each test crate uses a different subset.
#![allow(dead_code)]

pub mod corpus;
pub mod mastodon;
pub mod server;
