//! clausewatch: watches policy pages, splits them into clauses, keeps every
//! version in SQLite and reports clause-level changes.
//!
//! The crate is a library so that tests and benchmarks drive the same code as
//! the binary; `main.rs` only wires command-line commands to these modules.

pub mod clauses;
pub mod diff;
pub mod extract;
pub mod fetch;
