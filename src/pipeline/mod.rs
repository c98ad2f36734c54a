//! The stages that turn a fetched (or stored, or local) body into clauses
//! and compare two clause lists. Nothing here knows about the store, the
//! schedule or the fediverse.

pub mod classify;
pub mod clauses;
pub mod content;
pub mod diff;
pub mod extract;
pub mod fetch;
pub mod noise;
pub mod observe;
pub mod pdf;
pub mod topics;
