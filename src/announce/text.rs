//! The bot's short sentences, in English and French, in one place. Each
//! function takes the language and the facts, and returns the sentence.

use crate::config::Document;
use crate::domain::Lang;

/// A watched page answers "not found".
pub fn gone(lang: Lang, doc: &Document, status: u16, date: &str) -> String {
    match lang {
        Lang::Fr => format!(
            "{} : la page « {} » n'existe plus.\n\n{} répond « introuvable » (HTTP {status}) depuis le {date}. \
             Elle reste surveillée : son retour sera signalé.",
            doc.service, doc.name, super::public_url(&doc.url)
        ),
        Lang::En => format!(
            "{}: the page \"{}\" no longer exists.\n\n{} has answered \"not found\" (HTTP {status}) since {date}. \
             It is still watched: if it comes back, that will be reported.",
            doc.service, doc.name, super::public_url(&doc.url)
        ),
    }
}

/// The pointer to `help` for a mention that is not a command.
pub fn not_understood(lang: Lang) -> String {
    match lang {
        Lang::Fr => "Je n'ai pas compris. Répondez « aide » pour la liste des commandes.",
        Lang::En => "I did not understand that. Reply \"help\" for the commands.",
    }
    .to_string()
}

/// `YYYY-MM-DD`, the date form every answer uses.
pub fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The list of commands.
pub fn help(lang: Lang) -> String {
    match lang {
        Lang::Fr => "Commandes : liste [tag] · historique DOC [N] · diff DOC [DE] [À] · montre DOC [DATE] [MOTS] · quand DOC \"PHRASE\" · statut · abonner DOC · désabonner DOC · abonnements. Exemple : quand x-privacy \"biometric\"",
        Lang::En => "Commands: list [tag] · history DOC [N] · diff DOC [FROM] [TO] · show DOC [DATE] [WORDS] · when DOC \"PHRASE\" · status · subscribe DOC · unsubscribe DOC · subscriptions. Example: when x-privacy \"biometric\"",
    }
    .to_string()
}

pub fn no_document_with_tag(lang: Lang) -> String {
    match lang {
        Lang::Fr => "Aucun document avec ce tag.",
        Lang::En => "No document has that tag.",
    }
    .to_string()
}

pub fn no_versions(lang: Lang, doc: &str) -> String {
    match lang {
        Lang::Fr => format!("Je n'ai encore aucune version de {doc}."),
        Lang::En => format!("I have no version of {doc} yet."),
    }
}

/// One line of `history`: a version and what changed in it.
pub fn version_line(lang: Lang, v: &crate::store::VersionInfo) -> String {
    let d = day(v.first_seen);
    match (v.changes, lang) {
        (Some(c), Lang::Fr) => format!(
            "v{} du {d} : {} ajoutées, {} supprimées, {} reformulées",
            v.version,
            c.added,
            c.removed,
            c.modified + c.renamed
        ),
        (Some(c), Lang::En) => format!(
            "v{} {d}: {} added, {} removed, {} reworded",
            v.version,
            c.added,
            c.removed,
            c.modified + c.renamed
        ),
        (None, Lang::Fr) => format!("v{} du {d} : première version", v.version),
        (None, Lang::En) => format!("v{} {d}: first version", v.version),
    }
}

pub fn only_one_version(lang: Lang, doc: &str, version: i64) -> String {
    match lang {
        Lang::Fr => format!("{doc} n'a qu'une version (v{version})."),
        Lang::En => format!("{doc} has only one version (v{version})."),
    }
}

pub fn no_clause_changed(lang: Lang, from: i64, to: i64) -> String {
    match lang {
        Lang::Fr => format!("Aucun changement de clause entre v{from} et v{to}."),
        Lang::En => format!("No clause changed between v{from} and v{to}."),
    }
}

pub fn nothing_matches(lang: Lang, doc: &str, version: i64, date: &str) -> String {
    match lang {
        Lang::Fr => format!("Rien ne correspond dans {doc} v{version} ({date})."),
        Lang::En => format!("Nothing matches in {doc} v{version} ({date})."),
    }
}

pub fn never_appeared(lang: Lang, doc: &str, phrase: &str) -> String {
    match lang {
        Lang::Fr => format!("« {phrase} » n'apparaît dans aucune version de {doc}."),
        Lang::En => format!("\"{phrase}\" appears in no version of {doc}."),
    }
}

pub fn first_appeared(
    lang: Lang,
    doc: &str,
    phrase: &str,
    date: &str,
    version: i64,
    quote: &str,
) -> String {
    match lang {
        Lang::Fr => format!("« {phrase} » apparaît dans {doc} le {date} (v{version}) : «{quote}»"),
        Lang::En => {
            format!("\"{phrase}\" first appeared in {doc} on {date} (v{version}): «{quote}»")
        }
    }
}

pub fn present_since(lang: Lang, date: &str, version: i64) -> String {
    match lang {
        Lang::Fr => format!("Sans interruption depuis le {date} (v{version})."),
        Lang::En => format!("Present without interruption since {date} (v{version})."),
    }
}

pub fn removed_on(lang: Lang, date: &str, version: i64) -> String {
    match lang {
        Lang::Fr => format!("Retiré le {date} (v{version})."),
        Lang::En => format!("Removed on {date} (v{version})."),
    }
}

pub fn still_there(lang: Lang) -> String {
    match lang {
        Lang::Fr => "Toujours présent.",
        Lang::En => "Still there.",
    }
    .to_string()
}

/// One line of `status`.
pub fn status_line(
    lang: Lang,
    doc: &str,
    paused: bool,
    failing: Option<&str>,
    checked: Option<&str>,
    changed: Option<&str>,
) -> String {
    let never = match lang {
        Lang::Fr => "jamais",
        Lang::En => "never",
    };
    let state = match (paused, failing, lang) {
        (true, _, Lang::Fr) => "en pause".to_string(),
        (true, _, Lang::En) => "paused".to_string(),
        (false, Some(class), Lang::Fr) => format!("en échec ({class})"),
        (false, Some(class), Lang::En) => format!("failing ({class})"),
        (false, None, _) => "ok".to_string(),
    };
    let (checked, changed) = (checked.unwrap_or(never), changed.unwrap_or(never));
    match lang {
        Lang::Fr => format!("{doc} : {state}, vérifié le {checked}, modifié le {changed}"),
        Lang::En => format!("{doc}: {state}, checked {checked}, changed {changed}"),
    }
}

pub fn subscribed(lang: Lang, doc: &str, new: bool) -> String {
    match (lang, new) {
        (Lang::Fr, true) => format!("C'est noté : je vous écrirai en privé quand {doc} change."),
        (Lang::En, true) => {
            format!("Subscribed: I will send you a direct message when {doc} changes.")
        }
        (Lang::Fr, false) => format!("Vous êtes déjà abonné à {doc}."),
        (Lang::En, false) => format!("You are already subscribed to {doc}."),
    }
}

pub fn too_many_subscriptions(lang: Lang, limit: i64) -> String {
    match lang {
        Lang::Fr => format!("Vous suivez déjà {limit} documents, le maximum. Désabonnez-vous d'un autre d'abord."),
        Lang::En => format!("You already follow {limit} documents, the most one account may. Unsubscribe from one first."),
    }
}

pub fn unsubscribed(lang: Lang, doc: &str, was: bool) -> String {
    match (lang, was) {
        (Lang::Fr, true) => format!("Désabonné de {doc}."),
        (Lang::En, true) => format!("Unsubscribed from {doc}."),
        (Lang::Fr, false) => format!("Vous n'étiez pas abonné à {doc}."),
        (Lang::En, false) => format!("You were not subscribed to {doc}."),
    }
}

pub fn subscriptions(lang: Lang, docs: &[String]) -> String {
    match (lang, docs.is_empty()) {
        (Lang::Fr, true) => "Aucun abonnement.".into(),
        (Lang::En, true) => "No subscriptions.".into(),
        (Lang::Fr, false) => format!("Abonnements : {}", docs.join(", ")),
        (Lang::En, false) => format!("Subscriptions: {}", docs.join(", ")),
    }
}

pub fn admins_only(lang: Lang) -> String {
    match lang {
        Lang::Fr => "Cette commande est réservée aux admins du bot.",
        Lang::En => "Only the bot's admins can do that.",
    }
    .to_string()
}

pub fn paused(lang: Lang, doc: &str, paused: bool) -> String {
    match (lang, paused) {
        (Lang::Fr, true) => format!("{doc} : en pause"),
        (Lang::En, true) => format!("{doc}: paused"),
        (Lang::Fr, false) => format!("{doc} : reprise"),
        (Lang::En, false) => format!("{doc}: resumed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentence_exists_in_both_languages() {
        for lang in Lang::ALL {
            let texts = [
                help(*lang),
                not_understood(*lang),
                no_versions(*lang, "d"),
                only_one_version(*lang, "d", 1),
                no_clause_changed(*lang, 1, 2),
                never_appeared(*lang, "d", "p"),
                still_there(*lang),
                subscriptions(*lang, &[]),
                admins_only(*lang),
                status_line(*lang, "d", false, Some("timeout"), None, None),
            ];
            assert!(texts.iter().all(|t| !t.is_empty()));
        }
        assert_ne!(help(Lang::En), help(Lang::Fr));
        assert!(status_line(Lang::Fr, "d", true, None, None, None).contains("en pause"));
    }
}
