//! Parsing arbitrary mention content never panics, and what it returns is consistent.
#![no_main]

use clausewatch::mentions::parse::{parse, Command, DocInfo, ParseError, MAX_HISTORY};
use libfuzzer_sys::fuzz_target;

fn doc(id: &str, name: &str, service: &str, language: &str) -> DocInfo {
    DocInfo {
        id: id.into(),
        name: name.into(),
        service: service.into(),
        language: language.into(),
        tags: vec!["social".into()],
    }
}

fuzz_target!(|data: &[u8]| {
    let docs = [
        doc("x-privacy", "Privacy Policy", "X", "en"),
        doc("x-terms", "Terms of Service", "X", "en"),
        doc("x-privacy-fr", "Politique de confidentialité", "X", "fr"),
        doc("reddit-privacy", "Privacy Policy", "Reddit", "en"),
    ];
    let text = String::from_utf8_lossy(data);
    let known = |id: &str| docs.iter().any(|d| d.id == id);
    match parse(&text, &docs) {
        Ok(command) => {
            match &command {
                Command::History { doc, n } => assert!(known(doc) && (1..=MAX_HISTORY).contains(n)),
                Command::When { doc, phrase } => assert!(known(doc) && !phrase.is_empty()),
                Command::Diff { doc, .. }
                | Command::Show { doc, .. }
                | Command::Subscribe { doc }
                | Command::Unsubscribe { doc }
                | Command::Check { doc }
                | Command::Pause { doc }
                | Command::Resume { doc } => assert!(known(doc)),
                _ => {}
            }
            let _ = (command.name(), command.is_admin());
        }
        Err(ParseError::UnknownDocument { closest, .. }) => {
            assert!(closest.len() <= 5 && closest.iter().all(|id| known(id)))
        }
        Err(ParseError::AmbiguousDocument { candidates, .. }) => {
            assert!((2..=5).contains(&candidates.len()) && candidates.iter().all(|id| known(id)))
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
