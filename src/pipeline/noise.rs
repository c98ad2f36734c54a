//! Volatile fragments that change on every visit without the policy
//! changing: relative timestamps ("Updated 3 minutes ago"), tracking and
//! cache-busting query parameters and session ids in URLs written in the
//! text, and whatever a document's `ignore` patterns name.
//!
//! They are cut out of the clause text itself, not only out of the hash:
//! the hash must not see them (or every visit is a change), and a quote that
//! shows them would quote something the policy does not say.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;
use sha2::{Digest, Sha256};
use url::Url;

use crate::pipeline::extract::Extracted;

/// Bumped when the built-in rules change, so that stored versions are
/// re-extracted (a technical update) rather than the new cleaning showing
/// as a change.
pub const NOISE_VERSION: u32 = 1;

/// Query parameters that identify a visit, a campaign or a cache entry,
/// never the document. Compared in lowercase; `utm_*` is matched by prefix.
const VOLATILE_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "igshid",
    "twclid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "sessionid",
    "session_id",
    "sid",
    "jsessionid",
    "phpsessid",
    "aspsessionid",
    "cb",
    "cachebuster",
    "cache_buster",
    "nocache",
    "_",
    "ts",
    "timestamp",
];

/// A document's noise rules: its own patterns plus the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct NoiseFilter {
    ignore: Vec<Regex>,
}

impl NoiseFilter {
    pub fn new(ignore: &[Regex]) -> NoiseFilter {
        NoiseFilter {
            ignore: ignore.to_vec(),
        }
    }

    /// Identifies the rules, for the extraction-rules hash: changing them
    /// re-extracts the stored version instead of announcing the difference.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(NOISE_VERSION.to_le_bytes());
        for re in &self.ignore {
            h.update((re.as_str().len() as u64).to_le_bytes());
            h.update(re.as_str().as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// Cleans every block before it is split into clauses, so that the
    /// hash and the quotes never see the noise. A block left empty (a "Last
    /// updated 5 minutes ago" line) produces no clause.
    pub fn clean_blocks(&self, mut extracted: Extracted) -> Extracted {
        for block in &mut extracted.blocks {
            if let Cow::Owned(cleaned) = self.cleaned(&block.text) {
                block.text = cleaned;
            }
        }
        extracted
    }

    /// One text with the document's patterns and the built-in rules applied,
    /// whitespace collapsed where something was cut.
    pub fn clean(&self, text: &str) -> String {
        self.cleaned(text).into_owned()
    }

    /// [`clean`](NoiseFilter::clean), borrowing the text when nothing was
    /// cut (nearly every block): no copy of it is made.
    fn cleaned<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut s = Cow::Borrowed(text);
        // The built-in patterns all need one of a few words, and URLs need
        // "http": a cheap look for them first spares most clauses the
        // regular expressions (they were a fifth of a check's time).
        let timestamps = relative_time_word().is_match(text);
        let builtin: &[Regex] = if timestamps { builtin_patterns() } else { &[] };
        for re in self.ignore.iter().chain(builtin) {
            if let Cow::Owned(replaced) = re.replace_all(&s, "") {
                s = Cow::Owned(replaced);
            }
        }
        // Only a URL with a query or a path parameter can lose anything:
        // a page's plain links (most of its URLs) are not parsed, and the
        // clause is not copied for them.
        if http_word().is_match(&s) && url_pattern().find_iter(&s).any(|m| may_clean(m.as_str())) {
            if let Cow::Owned(replaced) =
                url_pattern().replace_all(&s, |caps: &regex::Captures| clean_url(&caps[0]))
            {
                s = Cow::Owned(replaced);
            }
        }
        match s {
            Cow::Borrowed(b) => Cow::Borrowed(b),
            Cow::Owned(o) => match collapse(&o) {
                c if c == text => Cow::Borrowed(text),
                c => Cow::Owned(c),
            },
        }
    }
}

/// Words without which no built-in pattern can match (each pattern needs
/// "ago", "just now", "moments" or the French "il y a"), in any ASCII case.
/// One literal search for all of them: testing each word at every byte
/// was a few per cent of extracting a page.
fn relative_time_word() -> &'static Regex {
    static W: OnceLock<Regex> = OnceLock::new();
    W.get_or_init(|| Regex::new(r"(?i-u)ago|just now|moments|il y a").expect("valid pattern"))
}

/// "http" in any ASCII case: a URL to clean may be there.
fn http_word() -> &'static Regex {
    static W: OnceLock<Regex> = OnceLock::new();
    W.get_or_init(|| Regex::new(r"(?i-u)http").expect("valid pattern"))
}

fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    // Cutting "(updated 2 minutes ago)" can leave "( )" or a dangling "·".
    out.replace("( )", "")
        .replace("()", "")
        .trim_matches(|c: char| c == '·' || c == '|' || c.is_whitespace())
        .to_string()
}

/// Relative timestamps: only the wording a page generates per visit, never
/// absolute dates ("Last updated: May 18, 2023" is part of the policy).
fn builtin_patterns() -> &'static [Regex] {
    static P: OnceLock<Vec<Regex>> = OnceLock::new();
    P.get_or_init(|| {
        [
            // "Last updated 3 hours ago", "updated about a day ago", "edited 2 weeks ago".
            r"(?i)\b(?:last\s+)?(?:updated|modified|edited|refreshed|changed|published|checked|generated)\s*:?\s+(?:about\s+|over\s+|almost\s+|less\s+than\s+)?(?:\d+|an?|one)\s+(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\s+ago\b\.?",
            // A bare "5 minutes ago": only the short units, which policies never use this way.
            r"(?i)\b(?:about\s+|over\s+|almost\s+)?(?:\d+|an?|one)\s+(?:seconds?|secs?|minutes?|mins?|hours?|hrs?)\s+ago\b\.?",
            r"(?i)\b(?:last\s+)?(?:updated|modified|edited)\s+(?:just\s+now|moments\s+ago)\b\.?",
            // French: "mis à jour il y a 5 minutes".
            r"(?i)(?:\b(?:dernière\s+)?mis(?:e)?\s+à\s+jour\s+)?\bil\s+y\s+a\s+(?:environ\s+)?(?:\d+|une?)\s+(?:secondes?|minutes?|heures?)\b\.?",
        ]
        .iter()
        .map(|p| Regex::new(p).expect("built-in noise pattern is valid"))
        .collect()
    })
}

fn url_pattern() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    P.get_or_init(|| Regex::new(r#"https?://[^\s<>"'()\[\]]+"#).expect("URL pattern is valid"))
}

fn is_volatile(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_") || VOLATILE_PARAMS.contains(&key.as_str())
}

/// Whether [`clean_url`] can change `raw`: only a query (`?`) or a path
/// parameter (`;`) holds what it removes.
fn may_clean(raw: &str) -> bool {
    raw.contains(['?', ';'])
}

/// A URL without its volatile query parameters and `;jsessionid=` path
/// parameter; anything that does not parse is left as written.
fn clean_url(raw: &str) -> String {
    // Sentence punctuation glued to the URL is not part of it.
    let trimmed = raw.trim_end_matches(['.', ',', ';', ':', '!', '?']);
    let tail = &raw[trimmed.len()..];
    let Ok(mut url) = Url::parse(trimmed) else {
        return raw.to_string();
    };
    let mut changed = false;
    if let Some(pos) = url.path().to_ascii_lowercase().find(";jsessionid=") {
        let path = url.path()[..pos].to_string();
        url.set_path(&path);
        changed = true;
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let kept: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| !is_volatile(k)).collect();
        if kept.len() != pairs.len() {
            changed = true;
            if kept.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(kept.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            }
        }
    }
    if !changed {
        return raw.to_string();
    }
    format!("{url}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clauses::{split, version_hash, Clause, ClauseKind};
    use crate::pipeline::extract::Block;

    fn apply(f: &NoiseFilter, texts: &[&str]) -> Vec<Clause> {
        split(
            &f.clean_blocks(Extracted {
                blocks: texts
                    .iter()
                    .map(|t| Block {
                        kind: ClauseKind::Paragraph,
                        text: t.to_string(),
                    })
                    .collect(),
            }),
        )
    }

    #[test]
    fn relative_timestamps_are_cut_absolute_dates_kept() {
        let f = NoiseFilter::default();
        assert_eq!(f.clean("Last updated 3 minutes ago"), "");
        assert_eq!(
            f.clean("Privacy Policy · Updated about an hour ago"),
            "Privacy Policy"
        );
        assert_eq!(f.clean("Page generated 12 secs ago."), "Page");
        assert_eq!(f.clean("Mis à jour il y a 5 minutes"), "");
        assert_eq!(
            f.clean("Last updated: May 18, 2023"),
            "Last updated: May 18, 2023"
        );
        // A retention period is policy text, not a page timestamp.
        assert_eq!(
            f.clean("We delete logs after 30 days."),
            "We delete logs after 30 days."
        );
    }

    #[test]
    fn tracking_and_session_parameters_leave_urls() {
        let f = NoiseFilter::default();
        assert_eq!(
            f.clean("See https://x.com/en/privacy?utm_source=mail&lang=en&fbclid=abc."),
            "See https://x.com/en/privacy?lang=en."
        );
        assert_eq!(
            f.clean("Visit https://example.org/help;jsessionid=0A1B2C?_=1700000000 today"),
            "Visit https://example.org/help today"
        );
        assert_eq!(
            f.clean("https://example.org/a?id=7"),
            "https://example.org/a?id=7"
        );
    }

    #[test]
    fn only_urls_with_a_query_or_path_parameter_are_ever_cleaned() {
        // The shortcut may skip a URL only where cleaning keeps it as is.
        for raw in [
            "https://x.com/en/privacy",
            "https://x.com/en/privacy.",
            "https://x.com/en/privacy#utm_source=mail",
            "https://x.com/p?utm_source=mail",
            "https://x.com/p/;JSESSIONID=ab",
            "https://x.com/p;jsessionid=ab?lang=en",
            "https://x.com/%3Futm_source=x",
            "http://[::1]/a?fbclid=1",
            "https://x.com/p?",
        ] {
            assert!(
                may_clean(raw) || clean_url(raw) == raw,
                "{raw:?} is cleaned to {:?} but was skipped",
                clean_url(raw)
            );
        }
        let f = NoiseFilter::default();
        let text = "See https://x.com/a, https://x.com/b?utm_medium=x and https://x.com/c.";
        assert_eq!(
            f.clean(text),
            "See https://x.com/a, https://x.com/b and https://x.com/c."
        );
        let plain = "See https://x.com/a and https://x.com/c.";
        assert!(matches!(f.cleaned(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn versions_differing_only_in_noise_hash_alike() {
        let f = NoiseFilter::default();
        let a = apply(
            &f,
            &[
                "Policy",
                "Updated 2 minutes ago",
                "Contact https://x.com/c?sid=1",
            ],
        );
        let b = apply(
            &f,
            &[
                "Policy",
                "Updated 17 minutes ago",
                "Contact https://x.com/c?sid=2",
            ],
        );
        assert_eq!(version_hash(&a), version_hash(&b));
        assert_eq!(a.len(), 2, "the timestamp-only clause is dropped");
        assert_eq!(a[1].position, 1);
        assert_eq!(a[1].text, "Contact https://x.com/c");
        let changed = apply(&f, &["Policy", "Contact https://x.com/d"]);
        assert_ne!(version_hash(&a), version_hash(&changed));
    }

    #[test]
    fn ignore_patterns_cut_text_and_change_the_fingerprint() {
        let re = Regex::new(r"Visitors today: \d+").unwrap();
        let f = NoiseFilter::new(&[re]);
        let a = apply(&f, &["We collect data. Visitors today: 12"]);
        let b = apply(&f, &["We collect data. Visitors today: 9000"]);
        assert_eq!(a, b);
        assert_eq!(a[0].text, "We collect data.");
        assert_ne!(f.fingerprint(), NoiseFilter::default().fingerprint());
    }
}
