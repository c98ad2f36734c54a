//! Posting changes to the fediverse.

pub mod compose;
pub mod count;
