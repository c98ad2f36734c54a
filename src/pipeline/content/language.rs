//! The language a page is written in, and whether it is the document's.
//!
//! A site that serves its policy in another language (a geo-located
//! redirect, a cookie that picked a locale) has not changed its policy:
//! diffed against the English version, a French page reads as every clause
//! removed and added. Such a page is a `wrong_language` failure.
//!
//! The page's language is the one its text is detected in (`whatlang`,
//! trigrams) when the detection is reliable, else its `lang` attribute:
//! templates often keep `lang="en"` on every locale, while the words are
//! what a follower would read. The expected language is the configured one,
//! else the one detected in the last good version (see
//! [`super::Baseline`]), so the two sides of a comparison are measured the
//! same way.

use crate::pipeline::clauses::{Clause, ClauseKind};

/// A language, as the primary subtag of a language tag: two letters (ISO
/// 639-1) where the language has them, else three (ISO 639-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language {
    code: [u8; 3],
    len: u8,
}

/// ISO 639-3 codes `whatlang` names and their ISO 639-1 forms, plus the
/// aliases a `lang` attribute may use (`no` for Norwegian Bokmål, `iw` for
/// Hebrew, `in` for Indonesian, `fa`'s Iranian Persian).
const TWO_LETTER: &[(&str, &str)] = &[
    ("afr", "af"),
    ("aka", "ak"),
    ("amh", "am"),
    ("ara", "ar"),
    ("aze", "az"),
    ("bel", "be"),
    ("ben", "bn"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("cmn", "zh"),
    ("dan", "da"),
    ("deu", "de"),
    ("ell", "el"),
    ("eng", "en"),
    ("epo", "eo"),
    ("est", "et"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("guj", "gu"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("hye", "hy"),
    ("ind", "id"),
    ("ita", "it"),
    ("jav", "jv"),
    ("jpn", "ja"),
    ("kan", "kn"),
    ("kat", "ka"),
    ("khm", "km"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("mal", "ml"),
    ("mar", "mr"),
    ("mkd", "mk"),
    ("mya", "my"),
    ("nep", "ne"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("ori", "or"),
    ("pan", "pa"),
    ("pes", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rus", "ru"),
    ("sin", "si"),
    ("slk", "sk"),
    ("slv", "sl"),
    ("sna", "sn"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tam", "ta"),
    ("tel", "te"),
    ("tgl", "tl"),
    ("tha", "th"),
    ("tuk", "tk"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("urd", "ur"),
    ("uzb", "uz"),
    ("vie", "vi"),
    ("yid", "yi"),
    ("zul", "zu"),
    // Aliases, older or macrolanguage codes of the same languages.
    ("fas", "fa"),
    ("nor", "nb"),
    ("zho", "zh"),
    ("no", "nb"),
    ("iw", "he"),
    ("in", "id"),
    ("fil", "tl"),
];

/// Characters of clause text the detection reads: a few paragraphs are
/// enough for trigrams to tell languages apart reliably, and reading the
/// whole policy would cost as much as parsing it.
pub const SAMPLE_CHARS: usize = 2_000;

impl Language {
    /// The language of a tag (`en`, `en-US`, `fr_FR`, `eng`), if it names
    /// one.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        let code = TWO_LETTER
            .iter()
            .find(|(from, _)| *from == primary)
            .map_or(primary.as_str(), |(_, two)| two);
        let mut bytes = [0u8; 3];
        bytes[..code.len()].copy_from_slice(code.as_bytes());
        Some(Language {
            code: bytes,
            len: code.len() as u8,
        })
    }

    /// The code, two letters where the language has them.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.code[..usize::from(self.len)]).unwrap_or("")
    }

    /// The language the clauses are written in, when the detection on a
    /// sample of their paragraphs is reliable.
    pub fn detect(clauses: &[Clause]) -> Option<Language> {
        let mut sample = String::with_capacity(SAMPLE_CHARS + 200);
        // Paragraphs first: headings and table rows are short and often
        // names or numbers.
        for prose in [true, false] {
            for c in clauses {
                let is_prose = matches!(c.kind, ClauseKind::Paragraph | ClauseKind::ListItem);
                if is_prose != prose {
                    continue;
                }
                if sample.len() >= SAMPLE_CHARS {
                    break;
                }
                sample.push_str(&c.text);
                sample.push('\n');
            }
        }
        let info = whatlang::detect(&sample)?;
        if !info.is_reliable() {
            return None;
        }
        Language::from_tag(info.lang().code())
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `lang` (or `xml:lang`) attribute of a page's `<html>` element, read
/// from its first bytes without parsing the page.
pub fn html_lang(html: &str) -> Option<&str> {
    let head = &html[..floor_char_boundary(html, 4096)];
    let lower = head.to_ascii_lowercase();
    let start = lower.find("<html")? + "<html".len();
    let end = start + lower[start..].find('>')?;
    let tag = &lower[start..end];
    let mut from = 0;
    while let Some(i) = tag[from..].find("lang") {
        let at = from + i;
        from = at + 4;
        let before = tag[..at].chars().next_back();
        if !before.is_some_and(|c| c.is_whitespace() || c == ':') {
            continue;
        }
        let rest = tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        // ASCII lowercasing keeps byte offsets, so they hold in `head`.
        let value_start = start + tag.len() - rest.len();
        let (offset, len) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => (1, rest[1..].find(q)?),
            Some(_) => (
                0,
                rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len()),
            ),
            None => return None,
        };
        let value = head[value_start + offset..value_start + offset + len].trim();
        return (!value.is_empty()).then_some(value);
    }
    None
}

fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The page's language: detected from its text when reliable, else its
/// `lang` attribute.
pub fn page_language(clauses: &[Clause], lang_attribute: Option<&str>) -> Option<Language> {
    Language::detect(clauses).or_else(|| lang_attribute.and_then(Language::from_tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clauses::split;
    use crate::pipeline::content::ContentProblem;
    use crate::pipeline::extract::extract_markdown;

    fn clauses_of(md: &str) -> Vec<Clause> {
        split(&extract_markdown(md))
    }

    fn french() -> Vec<Clause> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/pipeline/content/testdata/privacy-policy-fr.md"
        );
        clauses_of(&std::fs::read_to_string(path).expect("French fixture"))
    }

    fn english() -> Vec<Clause> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus/twitter/privacy-policy/2023-09-29T231259Z.md"
        );
        clauses_of(&std::fs::read_to_string(path).expect("corpus version"))
    }

    fn lang(tag: &str) -> Language {
        Language::from_tag(tag).unwrap_or_else(|| panic!("{tag} is a language"))
    }

    #[test]
    fn tags_reduce_to_their_primary_language() {
        assert_eq!(lang("en-US").as_str(), "en");
        assert_eq!(lang("fr_FR"), lang("fr"));
        assert_eq!(lang("eng"), lang("en"));
        assert_eq!(lang("FRA"), lang("fr"));
        assert_eq!(lang("no"), lang("nob"));
        assert_eq!(lang("gsw").as_str(), "gsw");
        for bad in ["", "x", "english", "e1", "-US"] {
            assert_eq!(Language::from_tag(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_lang_attribute_is_read_from_the_html_element() {
        assert_eq!(
            html_lang("<!DOCTYPE html>\n<html dir=\"ltr\" lang=\"fr-FR\"><head>"),
            Some("fr-FR")
        );
        assert_eq!(html_lang("<HTML xml:lang='de'>"), Some("de"));
        assert_eq!(html_lang("<html lang=en class=x>"), Some("en"));
        assert_eq!(html_lang("<html data-language=\"fr\"><p>x</p>"), None);
        assert_eq!(html_lang("<html lang=\"\">"), None);
        assert_eq!(html_lang("<body lang=\"fr\">"), None);
    }

    #[test]
    fn text_is_detected_when_there_is_enough_of_it() {
        assert_eq!(Language::detect(&english()), Some(lang("en")));
        assert_eq!(Language::detect(&french()), Some(lang("fr")));
        assert_eq!(Language::detect(&clauses_of("OK.")), None);
    }

    /// No real English record is taken for another language, or a real
    /// change would be lost as a failure.
    #[test]
    fn every_corpus_version_is_english() {
        let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
        let mut checked = 0;
        for doc in [
            "twitter/privacy-policy",
            "twitter/terms-of-service",
            "google/privacy-policy",
            "reddit/privacy-policy",
        ] {
            let dir = format!("{corpus}/{doc}");
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
                let path = entry.expect("directory entry").path();
                if path.extension().is_none_or(|e| e != "md") {
                    continue;
                }
                let md = std::fs::read_to_string(&path).expect("corpus version");
                assert_eq!(
                    Language::detect(&clauses_of(&md)),
                    Some(lang("en")),
                    "{}",
                    path.display()
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn a_page_in_another_language_is_a_wrong_language_problem() {
        let en = Some(lang("en"));
        // The template says English; the words are French.
        let p = crate::pipeline::content::inspect_language(&french(), Some("en"), en)
            .expect("French text is not English");
        assert!(
            matches!(&p, ContentProblem::WrongLanguage { reason } if reason.contains("in fr, not in the document's language en")),
            "{p:?}"
        );
        assert_eq!(
            crate::pipeline::content::inspect_language(&english(), Some("en-GB"), en),
            None
        );
        // Too little text to tell: the attribute decides.
        let short = clauses_of("Mentions légales.");
        assert!(crate::pipeline::content::inspect_language(&short, Some("fr"), en).is_some());
        assert_eq!(
            crate::pipeline::content::inspect_language(&short, None, en),
            None
        );
        // Nothing to compare with: not judged.
        assert_eq!(
            crate::pipeline::content::inspect_language(&french(), None, None),
            None
        );
    }
}
