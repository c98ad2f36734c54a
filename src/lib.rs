//! clausewatch: watches policy pages, splits them into clauses, keeps every
//! version in SQLite and reports clause-level changes.
//!
//! The crate is a library so that tests and benchmarks drive the same code as
//! the binary; `main.rs` only parses arguments and hands them to [`app`].
//! Data flows one way (see ARCHITECTURE.md):
//!
//! ```text
//! schedule → fetch → classify → extract → clauses → decide → store → announce → outbox → fediverse
//! mentions → parse → answer → store → outbox
//! ```

pub mod announce;
pub mod app;
pub mod config;
pub mod defaults;
pub mod domain;
pub mod fediverse;
pub mod html_text;
pub mod http;
pub mod links;
pub mod mentions;
pub mod metrics;
pub mod pipeline;
pub mod retry;
pub mod store;
pub mod watch;
pub mod web;
