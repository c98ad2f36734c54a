//! Announcing: change threads, "page gone" notices, replies to mentions and
//! subscription messages, as outbox threads. Pure: no I/O and no clock (the
//! dates shown are passed in); all English and French wording of the bot's
//! posts lives in this module ([`text`] for the short sentences, [`compose`]
//! for change threads).

pub mod compose;
pub mod count;
pub mod doubling;
pub mod text;
pub use crate::pipeline::topics;

use chrono::{DateTime, Utc};

use crate::config::{Config, Document};
use crate::domain::{Lang, ThreadKind, Visibility};
use crate::pipeline::clauses::Clause;
use crate::pipeline::diff::{ChangeKind, ChangeSet, DiffOptions, WatchTerms};
pub use compose::PageSizes;
use compose::{compose_after_bad_baseline, compose_thread, ComposeOptions, ThreadInput};
use count::status_length;

/// A post of a thread, as the outbox keeps it until it is sent.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub text: String,
    pub spoiler: Option<String>,
    pub visibility: Visibility,
    pub language: Option<Lang>,
}

/// A thread for the outbox: what [`Announce`] makes, and all the store
/// and the publisher need to post it exactly once, in order.
#[derive(Debug, Clone)]
pub struct NewThread {
    /// Unique: a second thread with the same key is ignored.
    pub key: String,
    pub kind: ThreadKind,
    pub document_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub posts: Vec<NewPost>,
}

/// How threads are composed: the composer's options (the character limit
/// learned from the instance at start) and the visibilities.
#[derive(Clone, Debug)]
pub struct Announce {
    pub compose: ComposeOptions,
    pub visibility: Visibility,
    pub reply_visibility: Visibility,
    /// `[http] public_url`: a capped thread links the change's page there.
    pub public_url: Option<url::Url>,
    /// How the check diffs, to tell the change behind a doubled page.
    pub diff: DiffOptions,
}

/// Whether `cs` changes the page's structure and no sentence of the
/// policy: every change adds or removes a heading (a table of contents
/// gaining an "Introduction"), or the clauses removed hold, in order, the
/// same letters as the clauses added (a bold "**Your Rights** **Data
/// Subject Requests**" paragraph split into a heading and a paragraph). A
/// follower has nothing to read; the version is stored and shown on the web
/// pages all the same.
fn structure_only(cs: &ChangeSet, old: &[Clause], new: &[Clause]) -> bool {
    use crate::pipeline::extract::ClauseKind;
    let heading = |side: &[Clause], at: Option<u32>| {
        at.and_then(|p| side.get(p as usize))
            .is_some_and(|c| matches!(c.kind, ClauseKind::Heading { .. }))
    };
    let letters = |text: &str, out: &mut String| {
        out.extend(
            text.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase),
        );
    };
    let (mut removed, mut added) = (String::new(), String::new());
    let mut all_headings = true;
    let mut any = false;
    for c in &cs.changes {
        match c.kind {
            ChangeKind::Added => {
                all_headings &= heading(new, c.new_position);
                letters(c.new.as_deref().unwrap_or(""), &mut added);
            }
            ChangeKind::Removed => {
                all_headings &= heading(old, c.old_position);
                letters(c.old.as_deref().unwrap_or(""), &mut removed);
            }
            ChangeKind::Moved => continue,
            // Half of a split clause pairs with the old one as a rewording.
            ChangeKind::Modified | ChangeKind::Renamed => {
                all_headings = false;
                letters(c.old.as_deref().unwrap_or(""), &mut removed);
                letters(c.new.as_deref().unwrap_or(""), &mut added);
            }
        }
        any = true;
    }
    any && (all_headings || (!added.is_empty() && added == removed))
}

impl Announce {
    pub fn from_config(config: &Config) -> Announce {
        let mut compose = ComposeOptions::default();
        // One compiled list for the diff's flags and the posts' topics.
        let watch_terms = WatchTerms::with_config(&config.watch_terms);
        compose.topics = watch_terms.topics().clone();
        let (mut visibility, mut reply_visibility) = (Visibility::Public, Visibility::Unlisted);
        if let Some(f) = &config.fediverse {
            compose.spoiler = f.content_warning.clone();
            compose.hashtags = f.hashtags.clone();
            compose.max_posts = f.max_posts_per_thread;
            if let Some(m) = f.max_chars {
                compose.max_chars = m;
            }
            visibility = f.visibility;
            reply_visibility = f.reply_visibility;
        }
        Announce {
            compose,
            visibility,
            reply_visibility,
            public_url: config.public_url.clone(),
            diff: DiffOptions {
                similarity: config.diff.similarity,
                watch_terms,
            },
        }
    }

    /// Applies the instance's limits (a configured `max_chars` only lowers them).
    pub fn with_limits(mut self, max_chars: usize, chars_per_url: usize) -> Announce {
        self.compose.max_chars = self.compose.max_chars.min(max_chars);
        self.compose.chars_per_url = chars_per_url;
        self
    }

    /// The posts announcing a change set (post 1 first); `seen_at` is
    /// when the version was first seen.
    pub fn change_posts(
        &self,
        doc: &Document,
        cs: &ChangeSet,
        version: i64,
        previous: Option<i64>,
        seen_at: DateTime<Utc>,
    ) -> Vec<compose::Post> {
        self.posts(doc, cs, version, previous, seen_at, None)
    }

    /// [`Announce::change_posts`]; with `sizes` (the clause and character
    /// counts of both versions), a version that follows a tiny,
    /// broken-looking one is announced by one short post instead of a diff.
    fn posts(
        &self,
        doc: &Document,
        cs: &ChangeSet,
        version: i64,
        previous: Option<i64>,
        seen_at: DateTime<Utc>,
        sizes: Option<PageSizes>,
    ) -> Vec<compose::Post> {
        // Policies quote handles ("contact @XSupport"): never notify them.
        let cs = &without_mentions(cs);
        // With a web face, post 1 links to the change itself (which links
        // the policy page): the policy page cannot show what changed.
        let change_page = self
            .public_url
            .as_ref()
            .map(|base| crate::links::change(base, &doc.id, version));
        let url = change_page.clone().unwrap_or_else(|| public_url(&doc.url));
        let input = ThreadInput {
            service: &doc.service,
            document_name: &doc.name,
            document_id: &doc.id,
            url: url.as_str(),
            language: &doc.language,
            changes: cs,
            version,
            previous_version: previous,
            seen_at,
        };
        let mut options = self.compose.clone();
        if let Some(page) = change_page {
            options.more_url = Some(page.to_string());
        }
        match sizes.filter(PageSizes::previous_was_broken) {
            Some(sizes) => compose_after_bad_baseline(&input, &options, sizes),
            None => compose_thread(&input, &options),
        }
    }

    /// The thread announcing a change set, keyed by the transition
    /// ([`change_key`]) so that a page flapping between two versions is
    /// announced once. With the clauses of both versions (`pages`): none
    /// for a page holding the upcoming and the current policy at once
    /// ([`doubling`]), the change from the policy that was current when
    /// such a page holds one policy again, and one short post after a tiny,
    /// broken-looking version.
    #[allow(clippy::too_many_arguments)]
    pub fn change_thread(
        &self,
        doc: &Document,
        cs: &ChangeSet,
        version: i64,
        previous: Option<i64>,
        seen_at: DateTime<Utc>,
        key: String,
        pages: Option<(&[Clause], &[Clause])>,
    ) -> Option<NewThread> {
        let mut told = None;
        let mut sizes = None;
        if let Some((old, new)) = pages {
            match doubling::transition(old, new) {
                doubling::Transition::Opened => return None,
                doubling::Transition::Closed => {
                    let before = doubling::previous_policy(old, new);
                    let real = crate::pipeline::diff::diff(&before, new, &self.diff, &doc.language);
                    if real.is_empty() {
                        return None;
                    }
                    told = Some(real);
                }
                doubling::Transition::Ordinary => sizes = Some(PageSizes::of(old, new)),
            }
        }
        let cs = told.as_ref().unwrap_or(cs);
        if let Some((old, new)) = pages {
            if structure_only(cs, old, new) {
                return None;
            }
        }
        let posts = self
            .posts(doc, cs, version, previous, seen_at, sizes)
            .into_iter()
            .enumerate()
            .map(|(i, p)| NewPost {
                text: p.text,
                spoiler: p.spoiler,
                visibility: if i == 0 {
                    self.visibility
                } else {
                    self.reply_visibility
                },
                language: Some(Lang::for_tag(&p.language)),
            })
            .collect();
        Some(NewThread {
            key,
            kind: ThreadKind::Change,
            document_id: Some(doc.id.clone()),
            in_reply_to: None,
            posts,
        })
    }

    /// The one-post notice that a watched page is gone, keyed by the first
    /// failure's date so that one disappearance is announced once.
    pub fn gone_notice(&self, doc: &Document, status: u16, since: DateTime<Utc>) -> NewThread {
        let date = since.format("%Y-%m-%d").to_string();
        let lang = Lang::for_tag(&doc.language);
        NewThread {
            key: format!("gone:{}:{date}", doc.id),
            kind: ThreadKind::Notice,
            document_id: Some(doc.id.clone()),
            in_reply_to: None,
            posts: vec![NewPost {
                text: text::gone(lang, doc, status, &date),
                spoiler: self.compose.spoiler.clone(),
                visibility: self.visibility,
                language: Some(lang),
            }],
        }
    }

    /// A reply to a mention: `text` split into posts that each start with
    /// the mention and fit the limit, numbered when there are several.
    pub fn reply(
        &self,
        notification_id: &str,
        in_reply_to: &str,
        mention: &str,
        text: &str,
        visibility: Visibility,
        lang: Lang,
    ) -> NewThread {
        NewThread {
            key: format!("mention:{notification_id}"),
            kind: ThreadKind::Reply,
            document_id: None,
            in_reply_to: Some(in_reply_to.to_string()),
            posts: self
                .split(mention, &neutralize_mentions(text))
                .into_iter()
                .map(|text| NewPost {
                    text,
                    spoiler: None,
                    visibility: visibility.narrower(self.reply_visibility),
                    language: Some(lang),
                })
                .collect(),
        }
    }

    /// A change set as a reply: the change thread's posts, each starting
    /// with the mention, at most five.
    #[allow(clippy::too_many_arguments)]
    pub fn change_reply(
        &self,
        notification_id: &str,
        in_reply_to: &str,
        mention: &str,
        doc: &Document,
        cs: &ChangeSet,
        version: i64,
        previous: Option<i64>,
        seen_at: DateTime<Utc>,
        visibility: Visibility,
    ) -> NewThread {
        let mut a = self.clone();
        let room = status_length(mention, None, self.compose.chars_per_url) + 1;
        a.compose.max_chars = self.compose.max_chars.saturating_sub(room);
        a.compose.max_posts = a.compose.max_posts.min(5);
        let lang = Lang::for_tag(&doc.language);
        NewThread {
            key: format!("mention:{notification_id}"),
            kind: ThreadKind::Reply,
            document_id: None,
            in_reply_to: Some(in_reply_to.to_string()),
            posts: a
                .change_posts(doc, cs, version, previous, seen_at)
                .into_iter()
                .map(|p| NewPost {
                    text: format!("{mention} {}", p.text),
                    spoiler: None,
                    visibility: visibility.narrower(self.reply_visibility),
                    language: Some(lang),
                })
                .collect(),
        }
    }

    /// The direct message telling a subscriber about a change: post 1 of
    /// the change thread, recomposed (not read back out of the outbox).
    #[allow(clippy::too_many_arguments)]
    pub fn subscription_message(
        &self,
        change_thread_id: i64,
        account: &str,
        mention: &str,
        doc: &Document,
        cs: &ChangeSet,
        version: i64,
        previous: Option<i64>,
        seen_at: DateTime<Utc>,
    ) -> NewThread {
        let mut single = self.clone();
        single.compose.max_posts = single.compose.max_posts.max(2);
        let overview = single
            .change_posts(doc, cs, version, previous, seen_at)
            .into_iter()
            .next()
            .map(|p| p.body)
            .unwrap_or_default();
        NewThread {
            key: format!("dm:{change_thread_id}:{account}"),
            kind: ThreadKind::Direct,
            document_id: Some(doc.id.clone()),
            in_reply_to: None,
            posts: self
                .split(mention, &overview)
                .into_iter()
                .map(|text| NewPost {
                    text,
                    spoiler: None,
                    visibility: Visibility::Direct,
                    language: Some(Lang::for_tag(&doc.language)),
                })
                .collect(),
        }
    }

    /// Splits a text into posts that each start with `mention` and fit the
    /// limit, numbered `i/n` at the end when there are several.
    pub fn split(&self, mention: &str, text: &str) -> Vec<String> {
        split_posts(
            mention,
            text,
            self.compose.max_chars,
            self.compose.chars_per_url,
        )
    }
}

/// A document's URL as posts show it: without the credentials a watched URL
/// may carry (they are the operator's, never the public's).
pub fn public_url(url: &url::Url) -> url::Url {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown
}

/// Makes sure no text the bot echoes (a phrase someone asked about, a
/// quoted clause) forms a mention: an `@` that could start one (not after a
/// letter, digit, `_`, `/` or `=`, and followed by a letter, digit or `_`,
/// as Mastodon and GoToSocial match them) gets a word joiner (U+2060) after
/// it. It looks the same and notifies nobody; e-mail addresses and URLs are
/// left alone.
pub fn neutralize_mentions(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('@') {
        return std::borrow::Cow::Borrowed(text);
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '@'
            && !previous.is_some_and(|p| word(p) || p == '/' || p == '=')
            && chars.peek().is_some_and(|&n| word(n))
        {
            out.push('\u{2060}');
        }
        previous = Some(c);
    }
    std::borrow::Cow::Owned(out)
}

/// A change set whose texts cannot mention anyone.
fn without_mentions(cs: &ChangeSet) -> ChangeSet {
    let mut cs = cs.clone();
    let fix = |s: &mut String| {
        if let std::borrow::Cow::Owned(o) = neutralize_mentions(s) {
            *s = o;
        }
    };
    for c in &mut cs.changes {
        fix(&mut c.path);
        for t in [&mut c.old, &mut c.new, &mut c.old_path]
            .into_iter()
            .flatten()
        {
            fix(t);
        }
        for w in &mut c.words {
            fix(&mut w.text);
        }
    }
    for section in &mut cs.summary.sections {
        fix(&mut section.path);
    }
    cs
}

/// The outbox key of the thread announcing the change from one version
/// hash to another.
pub fn change_key(document_id: &str, old_hash: &str, new_hash: &str) -> String {
    format!("change:{document_id}:{old_hash}:{new_hash}")
}

/// Splits a text into posts that each start with `mention` and fit
/// `max_chars`, numbered when there are several. Linear in the text: each
/// word is measured once.
pub fn split_posts(
    mention: &str,
    text: &str,
    max_chars: usize,
    chars_per_url: usize,
) -> Vec<String> {
    // Room for "@user " and " 10/10".
    let room = max_chars
        .saturating_sub(status_length(mention, None, chars_per_url) + 1 + 7)
        .max(40);
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.lines() {
        for word in line.split(' ') {
            let word_len = status_length(word, None, chars_per_url);
            let sep = usize::from(!(current.is_empty() || current.ends_with('\n')));
            if current_len + sep + word_len > room && !current.trim().is_empty() {
                chunks.push(current.trim_end().to_string());
                current = word.to_string();
                current_len = word_len;
            } else {
                if sep == 1 {
                    current.push(' ');
                }
                current.push_str(word);
                current_len += sep + word_len;
            }
        }
        current.push('\n');
        current_len += 1;
    }
    if !current.trim().is_empty() {
        chunks.push(current.trim_end().to_string());
    }
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            if n > 1 {
                format!("{mention} {c} {}/{n}", i + 1)
            } else {
                format!("{mention} {c}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(language: &str) -> Document {
        let config = Config::parse(
            std::path::Path::new("bot.toml"),
            &format!(
                "[[documents]]\nid = \"x-privacy\"\nname = \"Privacy Policy\"\nservice = \"X\"\nurl = \"https://x.com/en/privacy\"\nlanguage = \"{language}\"\n"
            ),
        )
        .expect("test config parses");
        config.documents[0].clone()
    }

    fn announce() -> Announce {
        Announce::from_config(&Config::parse(std::path::Path::new("bot.toml"), "").unwrap())
    }

    #[test]
    fn gone_notice_is_one_post_keyed_by_the_first_failure_date() {
        let since = chrono::DateTime::parse_from_rfc3339("2026-03-01T22:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let en = announce().gone_notice(&doc("en"), 410, since);
        assert_eq!(en.key, "gone:x-privacy:2026-03-01");
        assert_eq!(en.kind, ThreadKind::Notice);
        assert_eq!(en.posts.len(), 1);
        let text = &en.posts[0].text;
        assert!(
            text.contains("no longer exists") && text.contains("HTTP 410"),
            "{text}"
        );
        let fr = announce().gone_notice(&doc("fr"), 404, since);
        let text = &fr.posts[0].text;
        assert!(
            text.contains("n'existe plus") && text.contains("2026-03-01"),
            "{text}"
        );
        assert_eq!(fr.posts[0].language, Some(Lang::Fr));
    }

    #[test]
    fn long_replies_are_numbered_and_fit() {
        let text = "word ".repeat(300);
        let posts = split_posts("@alice@example.org", &text, 200, 23);
        assert!(posts.len() > 1);
        for (i, p) in posts.iter().enumerate() {
            assert!(p.starts_with("@alice@example.org "), "{p}");
            assert!(p.ends_with(&format!("{}/{}", i + 1, posts.len())), "{p}");
            assert!(status_length(p, None, 23) <= 200, "{p}");
        }
        assert_eq!(
            split_posts("@bob", "short answer", 500, 23),
            vec!["@bob short answer"]
        );
        assert_eq!(
            split_posts("@bob", "line one\nline two", 500, 23),
            vec!["@bob line one\nline two"]
        );
    }

    #[test]
    fn posts_never_show_the_credentials_of_a_watched_url() {
        let config = Config::parse(
            std::path::Path::new("bot.toml"),
            "[[documents]]\nid = \"p\"\nname = \"Policy\"\nservice = \"S\"\nurl = \"https://bot:s3cret@s.test/privacy\"\n",
        )
        .unwrap();
        let doc = &config.documents[0];
        let since = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let notice = announce().gone_notice(doc, 404, since);
        let text = &notice.posts[0].text;
        assert!(
            text.contains("https://s.test/privacy")
                && !text.contains("s3cret")
                && !text.contains("bot:"),
            "{text}"
        );
    }

    #[test]
    fn echoed_text_never_mentions_anyone() {
        let n = |t: &str| neutralize_mentions(t).into_owned();
        assert_eq!(n("hello @victim"), "hello @\u{2060}victim");
        assert_eq!(n("@victim@other.example"), "@\u{2060}victim@other.example");
        assert_eq!(n("(@a)"), "(@\u{2060}a)");
        // E-mail addresses, URLs and a lone @ stay as they are.
        for kept in [
            "privacy@x.com",
            "https://mastodon.social/@alice",
            "a @ b",
            "x=@y",
        ] {
            assert_eq!(n(kept), kept);
        }
        let a = announce();
        let t = a.reply(
            "n1",
            "s1",
            "@asker",
            "\"hello @victim\" appears in no version",
            Visibility::Public,
            Lang::En,
        );
        let text = &t.posts[0].text;
        assert!(text.starts_with("@asker "), "{text}");
        assert!(!text.contains("@victim"), "{text}");
    }

    /// Many added clauses: a thread capped at three posts whose last one
    /// points to the change's web page with `public_url`, else to the reply
    /// command; never to the policy page.
    #[test]
    fn a_capped_thread_points_to_the_change_page_or_the_command() {
        use crate::pipeline::diff::{Change, Summary};
        let changes = (0..30)
            .map(|i| Change {
                kind: ChangeKind::Added,
                path: format!("Section {i}"),
                old: None,
                new: Some(
                    format!(
                        "Clause {i} says something long enough to need its own room in a post. "
                    )
                    .repeat(3),
                ),
                words: Vec::new(),
                flags: Vec::new(),
                flags_disappeared: Vec::new(),
                old_position: None,
                new_position: Some(i),
                old_path: None,
            })
            .collect();
        let cs = ChangeSet {
            summary: Summary::default(),
            changes,
        };
        let seen = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut a = announce();
        a.compose.max_posts = 3;
        let last = |a: &Announce| {
            let t = a
                .change_thread(&doc("en"), &cs, 5, Some(4), seen, "k".into(), None)
                .expect("a thread");
            assert_eq!(t.posts.len(), 3);
            t.posts[2].text.clone()
        };
        let text = last(&a);
        assert!(text.contains("Reply “diff x-privacy 4 5”"), "{text}");
        assert!(!text.contains("x.com"), "{text}");
        a.public_url = Some(url::Url::parse("https://watch.example/bot/").unwrap());
        let text = last(&a);
        assert!(
            text.contains("https://watch.example/bot/documents/x-privacy/changes/5"),
            "{text}"
        );
        // Post 1 links the change's page too, not the policy page.
        let first = a
            .change_thread(&doc("en"), &cs, 5, Some(4), seen, "k".into(), None)
            .expect("a thread")
            .posts[0]
            .text
            .clone();
        assert!(
            first.contains("https://watch.example/bot/documents/x-privacy/changes/5"),
            "{first}"
        );
    }

    #[test]
    fn a_change_of_structure_alone_is_not_announced() {
        use crate::pipeline::extract::{Block, ClauseKind, Extracted};
        let page = |blocks: &[(ClauseKind, &str)]| {
            crate::pipeline::clauses::split(&Extracted {
                blocks: blocks
                    .iter()
                    .map(|(kind, text)| Block {
                        kind: *kind,
                        text: text.to_string(),
                    })
                    .collect(),
            })
        };
        let h = ClauseKind::Heading { level: 2 };
        let p = ClauseKind::Paragraph;
        let body = "You may ask us for a copy of your personal information at any time.";
        // Reddit 2021-12-17 → 2022-07-06: a bold line became a heading and
        // a paragraph.
        let old = page(&[
            (
                p,
                "Your Rights Data Subject and Consumer Information Requests",
            ),
            (p, body),
        ]);
        let split = page(&[
            (h, "Your Rights"),
            (p, "Data Subject and Consumer Information Requests"),
            (p, body),
        ]);
        // A heading added above unchanged text.
        let headed = page(&[
            (h, "Introduction"),
            (
                p,
                "Your Rights Data Subject and Consumer Information Requests",
            ),
            (p, body),
        ]);
        // A sentence added: a change.
        let real = page(&[
            (
                p,
                "Your Rights Data Subject and Consumer Information Requests",
            ),
            (p, body),
            (p, "We may use your posts to train AI models."),
        ]);
        let a = announce();
        let thread = |new: &[Clause]| {
            let cs = crate::pipeline::diff::diff(&old, new, &a.diff, "en");
            assert!(!cs.is_empty());
            a.change_thread(
                &doc("en"),
                &cs,
                2,
                Some(1),
                Utc::now(),
                "k".into(),
                Some((&old, new)),
            )
        };
        assert!(thread(&split).is_none());
        assert!(thread(&headed).is_none());
        assert!(thread(&real).is_some());
    }

    #[test]
    fn a_reply_is_never_more_visible_than_the_request() {
        let a = announce();
        let t = a.reply("n1", "s1", "@bob", "hi", Visibility::Direct, Lang::En);
        assert_eq!(t.posts[0].visibility, Visibility::Direct);
        let t = a.reply("n1", "s1", "@bob", "hi", Visibility::Public, Lang::En);
        assert_eq!(t.posts[0].visibility, Visibility::Unlisted);
        assert_eq!(t.key, "mention:n1");
        assert_eq!(t.in_reply_to.as_deref(), Some("s1"));
    }
}
