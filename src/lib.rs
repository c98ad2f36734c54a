//! clausewatch: watches policy pages, splits them into clauses, keeps every
//! version in SQLite and reports clause-level changes.
//!
//! The crate is a library so that tests and benchmarks drive the same code as
//! the binary; `main.rs` only wires command-line commands to these modules.
//! Data flows one way: schedule → check (fetch → extract → clauses → diff →
//! store). See ARCHITECTURE.md.

pub mod check;
pub mod classify;
pub mod clauses;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod extract;
pub mod fediverse;
pub mod fetch;
pub mod http;
pub mod metrics;
pub mod noise;
pub mod schedule;
pub mod store;
