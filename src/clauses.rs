//! Clauses: the unit clausewatch stores, hashes and diffs.
//!
//! A clause is one heading, paragraph, list item or table row of the
//! extracted text, with the path of headings above it. The clause keeps its
//! original wording (for quoting) and a normalized form (for hashing and
//! comparing), so that re-wrapped markup or a changed quote style never looks
//! like a change.

use serde::{Deserialize, Serialize};

/// What kind of block a clause came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ClauseKind {
    /// A heading, with its level (1 for `h1` / `#`).
    Heading { level: u8 },
    Paragraph,
    ListItem,
    TableRow,
}

/// One clause of one version of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    /// 0-based position in the version.
    pub position: u32,
    pub kind: ClauseKind,
    /// Heading path above this clause, joined with " > ". For a heading, the
    /// path of its parent headings (not including itself).
    pub path: String,
    /// Original wording, whitespace collapsed, for quoting.
    pub text: String,
    /// Normalized text used for hashing and comparison.
    pub norm: String,
    /// Hex SHA-256 of `norm`.
    pub hash: String,
}
