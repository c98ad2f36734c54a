//! Watch terms: phrases whose appearance or disappearance in a change is worth
//! a flag (biometric data, AI training, arbitration...).
//!
//! A flag is raised on a change when one of its phrases occurs on one side of
//! the change and none occurs on the other. Comparing presence per side (not
//! mere occurrence) keeps common phrases such as "third parties" quiet when a
//! sentence that already mentioned them is merely reworded.

use std::collections::BTreeMap;

use regex::RegexSet;

/// `language → flag name → phrases`, as read from the configuration file.
pub type WatchTermsConfig = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The flags of one language: `set` has one pattern per name, same order,
/// so one scan of a clause answers every flag at once.
#[derive(Clone, Debug)]
struct Matchers {
    names: Vec<String>,
    set: RegexSet,
}

/// Compiled watch terms for every language.
#[derive(Clone, Debug)]
pub struct WatchTerms {
    langs: BTreeMap<String, Matchers>,
}

/// Direction of a raised flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Appeared,
    Disappeared,
}

const EN: &[(&str, &[&str])] = &[
    (
        "biometric",
        &[
            "biometric",
            "biometrics",
            "faceprint",
            "faceprints",
            "voiceprint",
            "voiceprints",
            "iris scan",
            "retina scan",
            "fingerprint scan",
        ],
    ),
    (
        "facial_recognition",
        &[
            "facial recognition",
            "face recognition",
            "facial geometry",
            "face geometry",
            "face scan",
        ],
    ),
    (
        "ai_training",
        &[
            "machine learning",
            "artificial intelligence",
            "ai model",
            "ai models",
            "generative ai",
            "large language model",
            "large language models",
            "train our models",
            "training our models",
            "model training",
            "train ai",
            "training data",
        ],
    ),
    (
        "data_sale",
        &[
            "sell your personal",
            "sell personal",
            "sale of personal",
            "sale of your personal",
            "selling personal",
            "sell your data",
            "sell your information",
            "we do not sell",
            "we don't sell",
            "sale or sharing",
            "sell or share",
            "cross-context behavioral advertising",
        ],
    ),
    (
        "third_parties",
        &[
            "third parties",
            "third-party partners",
            "advertising partners",
            "ad partners",
            "marketing partners",
            "third-party advertisers",
            "data brokers",
        ],
    ),
    (
        "precise_location",
        &[
            "precise location",
            "precise geolocation",
            "exact location",
            "gps",
            "location history",
        ],
    ),
    (
        "retention",
        &[
            "data retention",
            "retention period",
            "retention periods",
            "retain your",
            "retain personal",
            "retained for",
            "we retain",
            "keep your information",
            "store your information",
        ],
    ),
    (
        "children",
        &[
            "children",
            "child",
            "minors",
            "under 13",
            "under the age of",
            "coppa",
            "parental consent",
        ],
    ),
    (
        "law_enforcement",
        &[
            "law enforcement",
            "government request",
            "government requests",
            "subpoena",
            "subpoenas",
            "court order",
            "court orders",
            "legal process",
            "search warrant",
        ],
    ),
    (
        "arbitration",
        &[
            "arbitration",
            "arbitrate",
            "arbitrator",
            "class action",
            "class actions",
            "class arbitration",
            "jury trial",
            "representative action",
        ],
    ),
    (
        "account_deletion",
        &[
            "delete your account",
            "deleting your account",
            "account deletion",
            "deactivate your account",
            "deactivating your account",
            "account deactivation",
            "close your account",
        ],
    ),
    (
        "employment",
        &[
            "employment history",
            "employment preferences",
            "job application",
            "job applications",
            "job search",
            "potential employers",
            "applicant tracking",
            "job data",
        ],
    ),
];

const FR: &[(&str, &[&str])] = &[
    (
        "biometric",
        &[
            "biométrique",
            "biométriques",
            "empreinte faciale",
            "empreintes digitales",
            "empreinte vocale",
        ],
    ),
    (
        "facial_recognition",
        &["reconnaissance faciale", "géométrie faciale"],
    ),
    (
        "ai_training",
        &[
            "apprentissage automatique",
            "intelligence artificielle",
            "modèle d'ia",
            "modèles d'ia",
            "ia générative",
            "entraîner nos modèles",
            "entraînement de modèles",
            "entraînement des modèles",
        ],
    ),
    (
        "data_sale",
        &[
            "vendre vos données",
            "vente de vos données",
            "vente de données",
            "ne vendons pas",
            "vendons vos",
            "cession de vos données",
        ],
    ),
    (
        "third_parties",
        &[
            "tiers",
            "partenaires publicitaires",
            "annonceurs",
            "courtiers en données",
        ],
    ),
    (
        "precise_location",
        &[
            "localisation précise",
            "position précise",
            "géolocalisation précise",
            "gps",
        ],
    ),
    (
        "retention",
        &[
            "durée de conservation",
            "conservation des données",
            "conservons vos",
            "conserver vos",
        ],
    ),
    (
        "children",
        &[
            "enfants",
            "enfant",
            "mineurs",
            "moins de 13 ans",
            "moins de 15 ans",
            "consentement parental",
        ],
    ),
    (
        "law_enforcement",
        &[
            "forces de l'ordre",
            "autorités judiciaires",
            "réquisition judiciaire",
            "réquisitions",
            "décision de justice",
            "demandes gouvernementales",
            "procédure judiciaire",
        ],
    ),
    (
        "arbitration",
        &[
            "arbitrage",
            "action collective",
            "actions collectives",
            "recours collectif",
            "action de groupe",
        ],
    ),
    (
        "account_deletion",
        &[
            "supprimer votre compte",
            "suppression de votre compte",
            "suppression du compte",
            "désactiver votre compte",
            "désactivation de votre compte",
            "fermer votre compte",
        ],
    ),
    (
        "employment",
        &[
            "candidature",
            "candidatures",
            "offres d'emploi",
            "employeurs potentiels",
            "historique professionnel",
            "parcours professionnel",
        ],
    ),
];

/// One regex per flag: alternation of the phrases, word-bounded. Spaces and
/// hyphens inside a phrase match any run of spaces/hyphens and apostrophes
/// match typographic ones, so "third-party" finds "third party".
fn pattern(phrases: &[String]) -> Option<String> {
    let alts: Vec<String> = phrases
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut out = String::new();
            for part in p.split([' ', '-']).filter(|s| !s.is_empty()) {
                if !out.is_empty() {
                    out.push_str(r"[\s\-]+");
                }
                out.push_str(&regex::escape(part).replace(['\'', '’'], "['’]"));
            }
            out
        })
        .collect();
    if alts.is_empty() {
        return None;
    }
    Some(format!(r"(?i)\b(?:{})\b", alts.join("|")))
}

fn table(t: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    t.iter()
        .map(|(n, ps)| (n.to_string(), ps.iter().map(|p| p.to_string()).collect()))
        .collect()
}

impl WatchTerms {
    /// Built-in lists for English and French.
    pub fn defaults() -> Self {
        Self::with_config(&WatchTermsConfig::new())
    }

    /// Defaults plus configuration: a flag named in the configuration gets the
    /// configured phrases instead of the default ones (an empty list turns
    /// the flag off); flags unknown to the defaults are added; new languages
    /// are added.
    pub fn with_config(cfg: &WatchTermsConfig) -> Self {
        let mut raw: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        raw.insert("en".into(), table(EN));
        raw.insert("fr".into(), table(FR));
        for (lang, flags) in cfg {
            let entry = raw.entry(lang.to_lowercase()).or_default();
            for (flag, phrases) in flags {
                entry.insert(flag.clone(), phrases.clone());
            }
        }
        let langs = raw
            .into_iter()
            .map(|(lang, flags)| {
                let (names, patterns): (Vec<String>, Vec<String>) = flags
                    .into_iter()
                    .filter_map(|(name, ps)| pattern(&ps).map(|p| (name, p)))
                    .unzip();
                // Phrases are escaped, so the only way to fail is the
                // compiled size limit; that language then raises no flags
                // rather than making configuration loading fallible.
                let set = RegexSet::new(&patterns).unwrap_or_else(|_| RegexSet::empty());
                let names = if set.is_empty() { Vec::new() } else { names };
                (lang, Matchers { names, set })
            })
            .collect();
        WatchTerms { langs }
    }

    /// Matchers for a language tag: exact ("pt-br"), then primary subtag
    /// ("pt"), then English.
    fn for_language(&self, language: &str) -> Option<&Matchers> {
        let tag = language.to_lowercase().replace('_', "-");
        let primary = tag.split('-').next().unwrap_or("");
        self.langs
            .get(&tag)
            .or_else(|| self.langs.get(primary))
            .or_else(|| self.langs.get("en"))
    }

    /// Flags raised between the two sides of a change (normalized text; a
    /// missing side counts as empty), sorted by name.
    pub(crate) fn flags(
        &self,
        language: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Vec<(String, Direction)> {
        let Some(m) = self.for_language(language) else {
            return Vec::new();
        };
        let hits = |t: Option<&str>| t.map(|t| m.set.matches(t));
        let (in_old, in_new) = (hits(old), hits(new));
        let has =
            |h: &Option<regex::SetMatches>, i: usize| h.as_ref().is_some_and(|h| h.matched(i));
        let mut out = Vec::new();
        for (i, name) in m.names.iter().enumerate() {
            match (has(&in_old, i), has(&in_new, i)) {
                (false, true) => out.push((name.clone(), Direction::Appeared)),
                (true, false) => out.push((name.clone(), Direction::Disappeared)),
                _ => {}
            }
        }
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

    fn names(v: Vec<(String, Direction)>) -> Vec<String> {
        v.into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn phrase_presence_per_side() {
        let w = WatchTerms::defaults();
        let f = w.flags("en", None, Some("We collect your Biometric information."));
        assert_eq!(f, vec![("biometric".to_string(), Direction::Appeared)]);
        // Present on both sides: reworded, not a new topic.
        let f = w.flags(
            "en",
            Some("we share with third parties"),
            Some("we share data with third parties"),
        );
        assert!(f.is_empty(), "{f:?}");
        let f = w.flags(
            "en",
            Some("you waive any class action"),
            Some("you may sue"),
        );
        assert_eq!(f, vec![("arbitration".to_string(), Direction::Disappeared)]);
    }

    #[test]
    fn word_boundaries_and_separators() {
        let w = WatchTerms::defaults();
        // "child" must not fire inside "childhood"; "gps" not inside "gpsx".
        assert!(w
            .flags("en", None, Some("childhood memories gpsx"))
            .is_empty());
        assert_eq!(
            names(w.flags("en", None, Some("our third party advertising-partners"))),
            vec!["third_parties"]
        );
        assert_eq!(
            names(w.flags("fr", None, Some("les forces de l’ordre"))),
            vec!["law_enforcement"]
        );
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
        assert!(w.flags("en", None, Some("biometric data")).is_empty());
        assert_eq!(
            names(w.flags("en-GB", None, Some("iris and blockchain"))),
            vec!["biometric", "crypto"]
        );
        // Unknown language falls back to English.
        assert_eq!(
            names(w.flags("de", None, Some("the blockchain"))),
            vec!["crypto"]
        );
        assert_eq!(
            names(w.flags("fr-CA", None, Some("données biométriques"))),
            vec!["biometric"]
        );
    }
}
