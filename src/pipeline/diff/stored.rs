//! The change set as the database keeps it (`changesets.json`): a
//! versioned envelope around [`ChangeSet`], written and read only here, so
//! that a change to the in-memory type is a change of `FORMAT` with a
//! conversion, never a silent misreading of old rows.

use serde::{Deserialize, Serialize};

use super::ChangeSet;

/// The stored layout. 1: `ChangeSet` as serde writes it, plus `format`.
/// Rows written before the envelope existed have no `format` and are 1.
pub const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default = "first_format")]
    format: u32,
    #[serde(flatten)]
    changes: ChangeSet,
}

fn first_format() -> u32 {
    1
}

/// A change set's stored JSON.
pub fn to_json(cs: &ChangeSet) -> String {
    serde_json::to_string(&Stored {
        format: FORMAT,
        changes: cs.clone(),
    })
    .expect("change sets serialize")
}

/// Why a stored change set cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StoredError {
    #[error("stored change set has format {0}; this clausewatch reads format {FORMAT}")]
    Format(u32),
    #[error("stored change set does not parse: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads a stored change set.
pub fn from_json(json: &str) -> Result<ChangeSet, StoredError> {
    let stored: Stored = serde_json::from_str(json)?;
    if stored.format != FORMAT {
        return Err(StoredError::Format(stored.format));
    }
    Ok(stored.changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clauses::split;
    use crate::pipeline::diff::{diff, DiffOptions};
    use crate::pipeline::extract::extract_markdown;

    #[test]
    fn round_trips_and_reads_rows_from_before_the_envelope() {
        let old = split(&extract_markdown("# P\n\nWe collect your email.\n"));
        let new = split(&extract_markdown(
            "# P\n\nWe collect your email and face.\n",
        ));
        let cs = diff(&old, &new, &DiffOptions::default(), "en");
        let json = to_json(&cs);
        assert!(json.contains("\"format\":1"), "{json}");
        let back = from_json(&json).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&cs).unwrap()
        );
        let legacy = serde_json::to_string(&cs).unwrap();
        assert_eq!(
            from_json(&legacy).unwrap().summary.modified,
            cs.summary.modified
        );
        let future = json.replace("\"format\":1", "\"format\":9");
        assert!(matches!(from_json(&future), Err(StoredError::Format(9))));
    }
}
