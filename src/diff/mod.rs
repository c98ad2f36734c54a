//! Clause-level diff.
