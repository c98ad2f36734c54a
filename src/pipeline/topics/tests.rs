use super::*;
use crate::pipeline::diff::{Summary, WordOp};

fn change(kind: ChangeKind, old: Option<&str>, new: Option<&str>, words: Vec<WordOp>) -> Change {
    Change {
        kind,
        path: "Section".into(),
        old: old.map(str::to_string),
        new: new.map(str::to_string),
        words,
        flags: Vec::new(),
        flags_disappeared: Vec::new(),
        old_position: None,
        new_position: None,
        old_path: None,
    }
}

fn added(text: &str) -> Change {
    change(ChangeKind::Added, None, Some(text), Vec::new())
}

fn removed(text: &str) -> Change {
    change(ChangeKind::Removed, Some(text), None, Vec::new())
}

fn op(op: WordOpKind, text: &str) -> WordOp {
    WordOp {
        op,
        text: text.into(),
    }
}

/// A reworded clause from its word runs: `=` equal, `+` inserted, `-` deleted.
fn reworded(runs: &[(char, &str)]) -> Change {
    let words: Vec<WordOp> = runs
        .iter()
        .map(|(k, t)| {
            let kind = match k {
                '+' => WordOpKind::Insert,
                '-' => WordOpKind::Delete,
                _ => WordOpKind::Equal,
            };
            op(kind, t)
        })
        .collect();
    let side = |skip: WordOpKind| -> String {
        words
            .iter()
            .filter(|w| w.op != skip)
            .map(|w| w.text.as_str())
            .collect()
    };
    let (old, new) = (side(WordOpKind::Insert), side(WordOpKind::Delete));
    change(ChangeKind::Modified, Some(&old), Some(&new), words)
}

fn names(topics: &Topics, lang: &str, c: &Change) -> Vec<(String, Direction)> {
    topics
        .of_change(lang, c)
        .into_iter()
        .map(|h| (topics.of_language(lang)[h.topic].name.clone(), h.direction))
        .collect()
}

fn set(changes: Vec<Change>) -> ChangeSet {
    ChangeSet {
        summary: Summary::default(),
        changes,
    }
}

/// Crafted sentences in the wording policies use, each with the topic it
/// must raise. Every phrasing the issue lists is here, mostly inflected
/// (plural, other person, accents or hyphens) so that the match is not a
/// copy of the list.
const EN_PROBES: &[(&str, &str)] = &[
    ("We may scan your fingerprints to unlock the app.", "biometric"),
    ("We measure face geometry in photos you upload.", "biometric"),
    ("Your voiceprint helps us recognise you on calls.", "biometric"),
    ("We collect biometric identifiers with your consent.", "biometric"),
    ("We use facial recognition to suggest tags.", "facial_recognition"),
    ("We may sell your personal information to partners.", "data_sale"),
    ("We do not sell your data.", "data_sale"),
    ("We share your profile with third parties for research.", "third_parties"),
    ("We may share some information we hold with selected third-party partners.", "third_parties"),
    ("Our advertising partners receive your device identifier.", "third_parties"),
    ("We keep your messages for as long as your account exists.", "retention"),
    ("We retain search logs for 18 months.", "retention"),
    ("Server logs are retained for thirty days.", "retention"),
    ("Our services are not directed to people under 13.", "children"),
    ("If you are under 16, a parent must agree.", "children"),
    ("We do not knowingly collect data from children.", "children"),
    ("With your permission we use your precise location.", "precise_location"),
    ("We use geolocation to show nearby posts.", "precise_location"),
    ("Your posts may be used to train our models.", "ai_training"),
    ("We use machine learning to rank content.", "ai_training"),
    ("Our large language models learn from public posts.", "ai_training"),
    ("We build generative AI features.", "ai_training"),
    ("We may use your data to help train our machine learning or artificial intelligence models.", "ai_training"),
    ("Disputes are resolved by binding arbitration.", "arbitration"),
    ("You agree to a class action waiver.", "arbitration"),
    ("We collect your employment history and job search activity.", "employment"),
    ("We respond to valid law enforcement requests.", "law_enforcement"),
    ("You can delete your account at any time.", "account_deletion"),
];

const FR_PROBES: &[(&str, &str)] = &[
    (
        "Nous pouvons utiliser votre empreinte digitale pour déverrouiller l’appli.",
        "biometric",
    ),
    (
        "Vos empreintes digitales restent sur l’appareil.",
        "biometric",
    ),
    (
        "Nous traitons des données biométriques avec votre accord.",
        "biometric",
    ),
    (
        "Nous utilisons la reconnaissance faciale pour les identifications.",
        "facial_recognition",
    ),
    ("Nous ne pouvons pas vendre vos données.", "data_sale"),
    ("La vente de vos données n’a jamais lieu.", "data_sale"),
    (
        "Nous pouvons partager avec des tiers certaines statistiques.",
        "third_parties",
    ),
    (
        "Nous pouvons partager ces informations avec des tiers de confiance.",
        "third_parties",
    ),
    (
        "Nos partenaires publicitaires reçoivent un identifiant.",
        "third_parties",
    ),
    ("Les journaux sont conservés pendant un an.", "retention"),
    (
        "Vos messages sont conservées pendant la durée du compte.",
        "retention",
    ),
    (
        "Nous conservons vos recherches pendant 18 mois.",
        "retention",
    ),
    ("La durée de conservation dépend du service.", "retention"),
    (
        "Le service n’est pas destiné aux personnes de moins de 15 ans.",
        "children",
    ),
    (
        "Les mineurs doivent obtenir l’accord d’un parent.",
        "children",
    ),
    ("Nous protégeons les enfants.", "children"),
    (
        "Nous utilisons la géolocalisation pour afficher la météo.",
        "precise_location",
    ),
    (
        "Avec votre accord nous utilisons votre localisation précise.",
        "precise_location",
    ),
    (
        "Vos publications peuvent servir à entraîner nos modèles.",
        "ai_training",
    ),
    (
        "Nous utilisons l’intelligence artificielle pour modérer.",
        "ai_training",
    ),
    (
        "L’apprentissage automatique classe les contenus.",
        "ai_training",
    ),
    ("Nous développons une IA générative.", "ai_training"),
    ("Les litiges sont soumis à l’arbitrage.", "arbitration"),
    ("Vous renoncez à toute action de groupe.", "arbitration"),
    (
        "Nous utilisons votre parcours professionnel pour vos candidatures.",
        "employment",
    ),
    (
        "Nous répondons aux demandes des forces de l’ordre.",
        "law_enforcement",
    ),
    (
        "Vous pouvez supprimer votre compte à tout moment.",
        "account_deletion",
    ),
];

#[test]
fn builtin_lists_load() {
    let t = Topics::builtin();
    for lang in ["en", "fr"] {
        let list = t.of_language(lang);
        assert!(list.len() >= 12, "{lang}: {} topics", list.len());
        assert!(list.iter().all(|t| t.pattern.is_some()), "{lang}");
    }
    // Files are read in order of importance, not key order.
    assert_eq!(t.of_language("en")[0].name, "ai_training");
    assert_eq!(t.of_language("fr-CA")[1].name, "biometric");
}

#[test]
fn every_probe_raises_its_topic_both_ways() {
    let t = Topics::builtin();
    for (lang, probes) in [("en", EN_PROBES), ("fr", FR_PROBES)] {
        for (sentence, topic) in probes {
            let up = names(&t, lang, &added(sentence));
            assert!(
                up.contains(&(topic.to_string(), Direction::Added)),
                "{lang}: {sentence:?} should add {topic}: {up:?}"
            );
            let down = names(&t, lang, &removed(sentence));
            assert!(
                down.contains(&(topic.to_string(), Direction::Removed)),
                "{lang}: {sentence:?} should remove {topic}: {down:?}"
            );
            assert!(up.iter().all(|(_, d)| *d == Direction::Added));
        }
    }
}

#[test]
fn unrelated_text_raises_nothing() {
    let t = Topics::builtin();
    for (lang, s) in [
        (
            "en",
            "These terms take effect on 1 March. We may make minor changes.",
        ),
        (
            "en",
            "Contact us at the address below to resume the service.",
        ),
        ("fr", "Ces conditions prennent effet le 1er mars."),
    ] {
        assert!(names(&t, lang, &added(s)).is_empty(), "{s}");
    }
}

#[test]
fn unchanged_words_of_a_reworded_clause_raise_nothing() {
    let t = Topics::builtin();
    // Only the date changes; the biometric phrase is untouched.
    let c = reworded(&[
        ('=', "Since "),
        ('-', "May "),
        ('+', "June "),
        ('=', "2023 we may collect biometric information for safety."),
    ]);
    assert!(names(&t, "en", &c).is_empty(), "{:?}", names(&t, "en", &c));
    // Words inserted inside a gap phrase around an unchanged "third
    // parties": still one mention on each side.
    let c = reworded(&[
        ('=', "We share data with "),
        ('+', "carefully selected "),
        ('=', "third parties."),
    ]);
    assert!(names(&t, "en", &c).is_empty(), "{:?}", names(&t, "en", &c));
}

#[test]
fn inserted_and_deleted_words_raise_their_topic() {
    let t = Topics::builtin();
    let c = reworded(&[
        ('=', "We may use the information we collect "),
        ('+', "to help train our machine learning models "),
        ('=', "for the purposes in this policy."),
    ]);
    assert_eq!(
        names(&t, "en", &c),
        vec![("ai_training".into(), Direction::Added)]
    );
    let c = reworded(&[
        ('=', "Nous utilisons "),
        ('-', "votre géolocalisation et "),
        ('=', "votre langue."),
    ]);
    assert_eq!(
        names(&t, "fr", &c),
        vec![("precise_location".into(), Direction::Removed)]
    );
    // A second biometric phrase joins an existing one: more text about it.
    let c = reworded(&[
        ('=', "We may collect your fingerprint "),
        ('+', "and voiceprint "),
        ('=', "with consent."),
    ]);
    assert_eq!(
        names(&t, "en", &c),
        vec![("biometric".into(), Direction::Added)]
    );
}

#[test]
fn a_topic_is_never_new_and_removed_in_one_thread() {
    let t = Topics::builtin();
    // A table of contents entry dropped here, the section's clause added
    // there, and one more clause added: children is new, once.
    let cs = set(vec![
        removed("Children"),
        added("We do not knowingly collect data from children."),
        added("If you are under 13, do not use the service."),
        // Equal weight both ways: reworded, not news.
        removed("We keep logs for 30 days."),
        added("We keep crash reports for 90 days."),
    ]);
    let raised = t.of_changes("en", &cs);
    let children: Vec<&Raised> = raised
        .iter()
        .filter(|r| r.topic.name == "children")
        .collect();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].direction, Direction::Added);
    assert_eq!(children[0].first_change, 1);
    assert!(
        raised.iter().all(|r| r.topic.name != "retention"),
        "{raised:?}"
    );
    let mut seen = std::collections::BTreeSet::new();
    assert!(raised.iter().all(|r| seen.insert(r.topic.name.clone())));
}

#[test]
fn the_sentence_holding_the_phrase_is_kept_and_negations_are_seen() {
    let t = Topics::builtin();
    let cs = set(vec![added(
        "Welcome. Based on your consent, we may collect and use your biometric information for safety. Thanks.",
    )]);
    let r = &t.of_changes("en", &cs)[0];
    assert_eq!(
        r.sentence,
        "Based on your consent, we may collect and use your biometric information for safety."
    );
    assert!(!negated(&r.sentence));
    assert!(negated("We do not sell your personal information."));
    assert!(negated("Nous ne vendons jamais vos données."));
    assert!(negated("Nous n’utilisons pas la reconnaissance faciale."));
    assert!(!negated("Nous pouvons utiliser votre géolocalisation."));
    assert!(!negated("Another note about John's account."));
}

#[test]
fn configured_terms_replace_or_add_topics() {
    let mut cfg = BTreeMap::new();
    let mut en = BTreeMap::new();
    en.insert("biometric".to_string(), Vec::new());
    en.insert(
        "crypto_wallets".to_string(),
        vec!["wallet address".to_string()],
    );
    cfg.insert("en".to_string(), en);
    let t = Topics::with_config(&cfg);
    assert!(names(&t, "en", &added("We scan fingerprints.")).is_empty());
    assert_eq!(
        names(&t, "en", &added("We read your wallet addresses.")),
        vec![("crypto_wallets".into(), Direction::Added)]
    );
    let custom = t
        .of_language("en")
        .iter()
        .find(|x| x.name == "crypto_wallets")
        .unwrap();
    assert_eq!(custom.label, "crypto wallets");
}

/// Every pattern finds the same matches, at the same offsets, in a text's
/// ASCII view as in the text, wherever characters past ASCII sit: inside
/// a word, right after a phrase, as spaces or punctuation.
#[test]
fn the_ascii_view_matches_like_the_text() {
    let texts = [
        "we use machine learning — and “artificial intelligence” — to train … models",
        "biométrique: biometricé data, biometric\u{2003}data and ñbiometric",
        "«données biométriques» et l’intelligence artificielle",
        "we keep it for 18 months¹ or eighteen months ² after deletion",
        "train our ai\u{301} models; train our ai models",
        "share … with third parties — third\u{2028}parties, thirdé parties",
        "arbitration → class action waiver ✓ binding arbitration",
    ];
    let topics = Topics::builtin();
    for lang in topics.langs.values() {
        assert!(lang.ascii_view, "built-in lists allow the view");
        for text in texts {
            let folded = fold(text);
            let view = ascii_view(&folded).expect("no digit past ASCII here");
            assert_eq!(view.len(), folded.len());
            assert!(view.is_ascii());
            for t in &lang.topics {
                let Some(re) = &t.pattern else { continue };
                let at = |h: &str| re.find_iter(h).map(|m| m.range()).collect::<Vec<_>>();
                assert_eq!(at(&view), at(&folded), "{} in {text:?}", t.name);
            }
            let set: Vec<usize> = lang.set.matches(&view).into_iter().collect();
            let plain: Vec<usize> = lang.set.matches(&folded).into_iter().collect();
            assert_eq!(set, plain, "{text:?}");
        }
    }
    // A digit past ASCII is matched by `\d`, which no stand-in is: no view.
    assert_eq!(ascii_view("section ٣"), None);
    // Plain ASCII needs none.
    assert_eq!(ascii_view("plain text"), None);
    // A configured phrase past ASCII turns the view off for its language.
    let mut cfg = BTreeMap::new();
    cfg.entry("en".to_string())
        .or_insert_with(BTreeMap::new)
        .insert("signal".to_string(), vec!["señal".to_string()]);
    let t = Topics::with_config(&cfg);
    assert!(!t.langs["en"].ascii_view);
    assert!(t.langs["fr"].ascii_view);
    let hits = t.of_change("en", &added("We now read the señal — of your device."));
    assert_eq!(hits.len(), 1, "{hits:?}");
}

#[test]
fn folding_a_stretch_of_ascii_at_a_time_folds_as_character_by_character() {
    let by_char = |s: &str| {
        let mut out = String::new();
        for c in s.chars() {
            if c == '`' {
                out.push('\'');
            } else if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                super::fold_char(c, &mut out);
            }
        }
        out
    };
    for s in [
        "",
        "We MAY Share `quoted` Data",
        "\u{c9}T\u{c9} caf\u{e9} \u{152}uvre \u{fb01}le",
        "\u{2019}s`\u{2019}",
        "ABC\u{130}def\u{df}GH",
    ] {
        assert_eq!(super::fold(s), by_char(s), "{s:?}");
    }
    for c in (0..=0x10FFFF).filter_map(char::from_u32).step_by(7) {
        let s = format!("Ab{c}`C{c}");
        assert_eq!(super::fold(&s), by_char(&s), "U+{:04X}", c as u32);
    }
}

/// Real policy paragraphs, X's and Google's, one per line.
fn corpus_paragraphs() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
    let mut out = Vec::new();
    for file in [
        "twitter/privacy-policy/2023-09-29T231259Z.md",
        "google/privacy-policy/2026-05-26T124145Z.md",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("corpus file");
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| l.len() > 40)
                .map(str::to_string),
        );
    }
    assert!(out.len() > 100, "{} paragraphs", out.len());
    out
}

/// The flags of an added or removed clause are read off the set scan
/// alone (no match is looked for): they must name the topics, in the
/// directions, that matching each topic's pattern gives, as the
/// sentence-quoting path does, on real policy paragraphs and on a
/// paragraph reworded as a whole.
#[test]
fn flags_from_the_set_scan_equal_flags_from_the_matches() {
    let topics = Topics::builtin();
    let paragraphs = corpus_paragraphs();
    let mut raised = 0;
    for (k, para) in paragraphs.iter().enumerate() {
        let other = &paragraphs[(k + 7) % paragraphs.len()];
        let reworded = change(ChangeKind::Modified, Some(other), Some(para), Vec::new());
        for c in [added(para), removed(para), reworded] {
            for lang in ["en", "fr"] {
                let quick: Vec<(usize, Direction)> = topics
                    .directions_of_change(lang, &c)
                    .iter()
                    .map(|h| (h.topic, h.direction))
                    .collect();
                let full: Vec<(usize, Direction)> = topics
                    .of_change(lang, &c)
                    .iter()
                    .map(|h| (h.topic, h.direction))
                    .collect();
                assert_eq!(quick, full, "{lang} {:?} {para:?}", c.kind);
                raised += full.len();
            }
        }
    }
    assert!(raised > 100, "{raised} topics raised");
    // Every built-in pattern needs a character to match: the shortcut
    // applies to all of them.
    for lang in topics.langs.values() {
        assert!(
            lang.topics.iter().all(|t| t.never_empty),
            "{:?}",
            lang.topics
        );
    }
}
