//! The replay of every shared corpus history through the real checker
//! (`tests/common/replay.rs`, also run by `benches/replay.rs`), and what a
//! follower would read: no thread for labelled noise, no topic both new and
//! removed, no markup in posts, every labelled real change announced; and
//! the X privacy policy change of September 2023 told as it should be.

#[allow(dead_code)]
#[path = "common/server.rs"]
mod server;

#[allow(dead_code)]
#[path = "common/corpus.rs"]
mod corpus;

#[allow(dead_code)]
#[path = "common/replay.rs"]
mod replay;

use clausewatch::announce::Announce;
use clausewatch::config::Config;
use clausewatch::store::Store;
use clausewatch::watch::check::Checker;
use clausewatch::watch::decide::Verdict;
use replay::{Label, DOCUMENTS};
use server::{Reply, TestServer};

/// Replays all four histories once; every test below reads the result.
fn replayed() -> &'static Vec<(String, replay::Replayed)> {
    static ALL: std::sync::OnceLock<Vec<(String, replay::Replayed)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let server = TestServer::start();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        DOCUMENTS
            .iter()
            .map(|d| (d.to_string(), runtime.block_on(replay::replay(d, &server))))
            .collect()
    })
}

/// No thread for labelled noise. One kind is told late, not made up: a
/// page that went back to an older version's text is a flap, and when it
/// stays there the next new version (whatever OTA's record is) is read
/// against the abandoned version (reddit 2022-07-06 tells the "German
/// language version" link that 2021-12-17 removed). Such a thread must
/// follow a flap with no version in between.
#[test]
fn labelled_noise_is_never_announced() {
    let mut announced = Vec::new();
    for (doc, r) in replayed() {
        for (i, s) in r.steps.iter().enumerate() {
            if !s.label.is_noise() || s.thread.is_none() {
                continue;
            }
            let after_flap = r.steps[..i]
                .iter()
                .rev()
                .find(|p| {
                    !matches!(
                        p.verdict,
                        Verdict::Unchanged { .. } | Verdict::Failed { .. }
                    )
                })
                .is_some_and(|p| matches!(p.verdict, Verdict::Flap { .. }));
            if !after_flap {
                announced.push(format!("{doc} {} ({:?})", s.file, s.label));
            }
        }
    }
    assert!(
        announced.is_empty(),
        "noise announced:\n{}",
        announced.join("\n")
    );
}

/// An Open Terms Archive "Refilter" record is the same page read with new
/// rules: the replay changes the document's `remove` rules there, and the
/// check re-extracts the stored page (a technical update) instead of
/// taking OTA's new text for a change. A refilter that changed nothing the
/// bot reads is unchanged; one that cut the policy short is a failure.
#[test]
fn refilter_records_are_technical_updates() {
    let mut wrong = Vec::new();
    let mut updates = 0;
    for (doc, r) in replayed() {
        for s in r.steps.iter().filter(|s| s.label == Label::Refilter) {
            if s.technical {
                updates += 1;
            } else if !matches!(
                s.verdict,
                Verdict::Unchanged { .. } | Verdict::Failed { .. }
            ) {
                wrong.push(format!("{doc} {}: {:?}", s.file, s.verdict));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "refilter records met without a technical update:\n{}",
        wrong.join("\n")
    );
    assert!(updates > 0, "no technical update recorded");
}

#[test]
fn every_labelled_real_change_is_announced() {
    let mut missed = Vec::new();
    for (doc, r) in replayed() {
        for s in &r.steps {
            if s.label == Label::Real && s.thread.is_none() {
                missed.push(format!(
                    "{doc} {} ({:?}, cosmetic {})",
                    s.file, s.verdict, s.cosmetic
                ));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "real changes not announced:\n{}",
        missed.join("\n")
    );
}

#[test]
fn no_topic_is_both_new_and_removed() {
    for (doc, r) in replayed() {
        for t in &r.threads {
            let first = &t.posts[0].text;
            assert!(
                !replay::both_ways(first),
                "{doc} v{:?}:\n{first}",
                t.version
            );
        }
    }
}

#[test]
fn no_markup_reaches_a_post() {
    let mut leaks = Vec::new();
    for (doc, r) in replayed() {
        for t in &r.threads {
            for p in &t.posts {
                if replay::leaks_markup(&p.text) || p.text.contains("Table of Contents") {
                    leaks.push(format!("{doc} v{:?}: {}", t.version, p.text));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} posts with markup:\n{}",
        leaks.len(),
        leaks.join("\n\n")
    );
}

/// The X privacy policy of 29 September 2023 against the May one, through
/// the real checker: post 1 says what X may now do (biometric data, job
/// data, AI training) without a second "X" in the document's name; the
/// AI-training sentence is quoted within posts 1–3; the renames take one
/// line; the date is the check's; the thread points to the reply command
/// for what it leaves out, never to the policy page.
#[tokio::test(flavor = "multi_thread")]
async fn x_2023_thread_tells_the_consequences_first() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[defaults]\nper_host_delay = \"0s\"\nretries = 0\njitter = \"0s\"\nconfirm_after = \"0s\"\n\n\
         [storage]\npath = \"{}\"\n\n[[documents]]\nid = \"x-privacy\"\nname = \"X Privacy Policy\"\n\
         service = \"X\"\nurl = \"{}\"\nselect = \"#twtr-main\"\n",
        dir.path().join("x.db").display(),
        server.url("/privacy")
    );
    let config = Config::parse(&dir.path().join("bot.toml"), &toml).unwrap();
    let store = Store::open(&config.storage.path).await.unwrap();
    let checker = Checker::new(&config, store.clone(), Announce::from_config(&config)).unwrap();
    let doc = &config.documents[0];
    for file in ["2023-08-24T095329Z.md", "2023-09-29T231259Z.md"] {
        let page = corpus::x_page(&corpus::markdown("twitter/privacy-policy", file));
        server.set_route("/privacy", vec![Reply::html(&page)]);
        checker.check(doc).await.unwrap();
    }
    let threads = store.threads(10).await.unwrap();
    assert_eq!(threads.len(), 1, "one change thread");
    let posts: Vec<&str> = threads[0].posts.iter().map(|p| p.text.as_str()).collect();
    println!("{}", posts.join("\n\n"));
    let first = posts[0];
    assert!(first.starts_with("1/"), "{first}");
    assert!(first.contains("X updated its Privacy Policy."), "{first}");
    assert!(!first.contains("X Privacy Policy"), "{first}");
    let consequence = first
        .lines()
        .find(|l| l.starts_with("X may now"))
        .unwrap_or_else(|| panic!("no consequence line:\n{first}"));
    for said in ["biometric data", "employment data", "train AI models"] {
        assert!(consequence.contains(said), "{said}: {consequence}");
    }
    let renames = first
        .lines()
        .filter(|l| l.starts_with("Throughout: "))
        .collect::<Vec<_>>();
    assert_eq!(renames.len(), 1, "{first}");
    assert!(renames[0].contains("Twitter → X ("), "{}", renames[0]);
    let today = chrono::Utc::now().format("Seen on %Y-%m-%d.").to_string();
    assert!(first.contains(&today) || posts.len() > 1, "{first}");
    let ai = "help train our machine learning or artificial intelligence models";
    assert!(
        posts.iter().take(3).any(|p| p.contains(ai)),
        "AI-training sentence not in posts 1-3:\n{}",
        posts[..3.min(posts.len())].join("\n\n")
    );
    let last = posts[posts.len() - 1];
    if last.contains("not shown in full") {
        assert!(last.contains("“diff x-privacy 1 2”"), "{last}");
        assert!(!last.contains(&server.url("/privacy")), "{last}");
    }
    // The renames are told once, not marked in every excerpt.
    for p in &posts[1..] {
        assert!(!p.contains("[- Twitter -] [+ X +]"), "{p}");
    }
    store.close().await;
}
