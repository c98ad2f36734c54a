//! Watch terms: a change's flags are the topics of
//! [`crate::pipeline::topics`] (the built-in phrase lists with
//! `[watch_terms]` applied), read from the changed words the same way the
//! posts' topic lines are, so that the web pages and the posts name the
//! same topics in the same direction.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::pipeline::topics::{self, Topics};

use super::Change;

/// `language → flag name → phrases`, as read from the configuration file.
pub type WatchTermsConfig = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The compiled topics a diff flags changes with.
#[derive(Clone, Debug)]
pub struct WatchTerms {
    topics: Arc<Topics>,
}

/// Direction of a raised flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Appeared,
    Disappeared,
}

impl WatchTerms {
    /// Built-in lists for English and French.
    pub fn defaults() -> Self {
        WatchTerms {
            topics: topics::builtin(),
        }
    }

    /// Defaults plus configuration: a flag named in the configuration gets the
    /// configured phrases instead of the default ones (an empty list turns
    /// the flag off); flags unknown to the defaults are added; new languages
    /// are added.
    pub fn with_config(cfg: &WatchTermsConfig) -> Self {
        if cfg.is_empty() {
            return Self::defaults();
        }
        WatchTerms {
            topics: Arc::new(Topics::with_config(cfg)),
        }
    }

    /// The topics themselves, for the stage that words the posts.
    pub fn topics(&self) -> &Arc<Topics> {
        &self.topics
    }

    /// Flags one change raises (its words already computed), at most one
    /// direction each, sorted by name.
    pub(crate) fn flags(&self, language: &str, change: &Change) -> Vec<(String, Direction)> {
        let list = self.topics.of_language(language);
        let mut out: Vec<(String, Direction)> = self
            .topics
            .directions_of_change(language, change)
            .into_iter()
            .map(|h| {
                let direction = match h.direction {
                    topics::Direction::Added => Direction::Appeared,
                    topics::Direction::Removed => Direction::Disappeared,
                };
                (list[h.topic].name.clone(), direction)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

impl Default for WatchTerms {
    fn default() -> Self {
        Self::defaults()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::diff::{ChangeKind, WordOp};

    fn change(old: Option<&str>, new: Option<&str>) -> Change {
        let kind = match (old, new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
            _ => ChangeKind::Modified,
        };
        let words: Vec<WordOp> = match (old, new) {
            (Some(o), Some(n)) => crate::pipeline::diff::words::word_ops(o, n),
            _ => Vec::new(),
        };
        Change {
            kind,
            path: "P".into(),
            old: old.map(str::to_string),
            new: new.map(str::to_string),
            words,
            flags: Vec::new(),
            flags_disappeared: Vec::new(),
            old_position: old.map(|_| 0),
            new_position: new.map(|_| 0),
            old_path: None,
        }
    }

    fn names(v: Vec<(String, Direction)>) -> Vec<String> {
        v.into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn flags_come_from_the_changed_words() {
        let w = WatchTerms::defaults();
        let f = w.flags(
            "en",
            &change(None, Some("We collect your biometric information.")),
        );
        assert_eq!(f, vec![("biometric".to_string(), Direction::Appeared)]);
        // Reworded around an unchanged phrase: not a new topic.
        let f = w.flags(
            "en",
            &change(
                Some("We share it with third parties."),
                Some("We share your data with third parties."),
            ),
        );
        assert!(f.is_empty(), "{f:?}");
        let f = w.flags(
            "en",
            &change(Some("You waive any right to a class action."), None),
        );
        assert_eq!(f, vec![("arbitration".to_string(), Direction::Disappeared)]);
    }

    #[test]
    fn language_fallback_and_config_override() {
        let mut cfg = WatchTermsConfig::new();
        cfg.entry("en".into())
            .or_default()
            .insert("biometric".into(), vec!["iris".into()]);
        cfg.entry("en".into())
            .or_default()
            .insert("crypto".into(), vec!["blockchain".into()]);
        let w = WatchTerms::with_config(&cfg);
        assert!(w
            .flags("en", &change(None, Some("We keep biometric data.")))
            .is_empty());
        assert_eq!(
            names(w.flags(
                "en-GB",
                &change(None, Some("We scan your iris on the blockchain."))
            )),
            vec!["biometric", "crypto"]
        );
        // Unknown language falls back to English.
        assert_eq!(
            names(w.flags("de", &change(None, Some("We use the blockchain.")))),
            vec!["crypto"]
        );
        assert_eq!(
            names(w.flags(
                "fr-CA",
                &change(None, Some("Nous traitons vos données biométriques."))
            )),
            vec!["biometric"]
        );
    }
}
