//! Status length as a Mastodon server counts it, so that a composed post is
//! never rejected for being too long.
//!
//! Mastodon's `StatusLengthValidator` joins the content warning and the text
//! (no separator), rewrites entities of the text, then counts extended
//! grapheme clusters:
//!
//! * every URL counts as a fixed number of characters (`chars_per_url`, 23 by
//!   default on Mastodon, announced by instances as
//!   `configuration.statuses.characters_reserved_per_url`);
//! * a mention `@user@domain` counts as `@user` (the domain is free).
//!
//! The content warning is counted as is: Mastodon does not rewrite entities
//! in it.
//!
//! # URL rule implemented here
//!
//! Mastodon extracts URLs with its twitter-text port, protocol required.
//! The subset implemented:
//!
//! * a URL starts with `http://` or `https://` (any case), not directly
//!   preceded by a letter, digit, `@`, `$` or `#` (twitter-text's "valid
//!   preceding characters"), and has at least one character after `//`;
//! * it runs up to the next whitespace;
//! * trailing characters are dropped until the URL ends in a letter, digit,
//!   one of `= _ # / + - &`, or a `)` closing a `(` inside the URL: so
//!   `https://a.example/x.` and `(see https://a.example/x)` leave the `.`
//!   and the unbalanced `)` out, as twitter-text's path-ending rule does.
//!
//! Domains are not validated against the TLD list: text that looks like a
//! URL but that twitter-text would reject is counted as 23 instead of its
//! length. For the text clausewatch writes (links it was configured with)
//! the two agree; a deliberate difference would only matter for odd input.
//!
//! # Mention rule
//!
//! Mastodon's `MENTION_RE`: `@` not preceded by a word character or `/`,
//! then a username `[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?`, then optionally
//! `@domain` with domain `[\w.-]+\w+`. Only the `@domain` part is free.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

/// Mastodon's default `characters_reserved_per_url`.
pub const DEFAULT_CHARS_PER_URL: usize = crate::defaults::CHARS_PER_URL;

static URL_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)https?://").expect("static URL regex is valid"));

static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)@([a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)(@[\w.\-]+\w)?")
        .expect("static mention regex is valid")
});

/// Length of a status as the server counts it: content warning plus text,
/// in grapheme clusters, URLs at `chars_per_url`, remote mentions without
/// their domain.
pub fn status_length(text: &str, spoiler: Option<&str>, chars_per_url: usize) -> usize {
    let placeholder = "x".repeat(chars_per_url);
    let mut combined = String::with_capacity(text.len() + spoiler.map_or(0, str::len));
    combined.push_str(spoiler.unwrap_or(""));
    let mut last = 0;
    for (range, entity) in entities(text) {
        combined.push_str(&text[last..range.start]);
        match entity {
            Entity::Url => combined.push_str(&placeholder),
            Entity::Mention { local_end } => combined.push_str(&text[range.start..local_end]),
        }
        last = range.end;
    }
    combined.push_str(&text[last..]);
    combined.graphemes(true).count()
}

/// Byte ranges of URLs in `text`, as counted by [`status_length`]. Used by
/// the composer to avoid cutting a post inside a link.
pub fn url_ranges(text: &str) -> Vec<Range<usize>> {
    entities(text)
        .into_iter()
        .filter(|(_, e)| matches!(e, Entity::Url))
        .map(|(r, _)| r)
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Entity {
    Url,
    /// Byte offset where the `@domain` part starts (end of what counts).
    Mention {
        local_end: usize,
    },
}

fn preceding_char(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

/// Non-overlapping entities in order: URLs first, then mentions outside them.
fn entities(text: &str) -> Vec<(Range<usize>, Entity)> {
    let mut found: Vec<(Range<usize>, Entity)> = Vec::new();
    for m in URL_START.find_iter(text) {
        if found.last().is_some_and(|(r, _)| r.end > m.start()) {
            continue;
        }
        if preceding_char(text, m.start()).is_some_and(|c| c.is_alphanumeric() || "@$#".contains(c))
        {
            continue;
        }
        let run_end = text[m.end()..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| m.end() + i);
        let end = url_end(&text[m.start()..run_end]) + m.start();
        if end > m.end() {
            found.push((m.start()..end, Entity::Url));
        }
    }
    let urls = found.clone();
    for caps in MENTION.captures_iter(text) {
        let (Some(all), Some(domain)) = (caps.get(0), caps.get(2)) else {
            // A local mention counts at its full length: nothing to rewrite.
            continue;
        };
        if urls
            .iter()
            .any(|(r, _)| r.start < all.end() && all.start() < r.end)
        {
            continue;
        }
        if preceding_char(text, all.start())
            .is_some_and(|c| c == '/' || c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        found.push((
            all.range(),
            Entity::Mention {
                local_end: domain.start(),
            },
        ));
    }
    found.sort_by_key(|(r, _)| r.start);
    found
}

/// Length in bytes of the URL at the start of `candidate` (a whitespace-free
/// run starting with the scheme), after dropping trailing punctuation.
fn url_end(candidate: &str) -> usize {
    let mut end = candidate.len();
    while let Some(c) = candidate[..end].chars().next_back() {
        let keep = c.is_alphanumeric()
            || "=_#/+-&".contains(c)
            || (c == ')' && {
                let s = &candidate[..end];
                s.matches('(').count() >= s.matches(')').count()
            });
        if keep {
            break;
        }
        end -= c.len_utf8();
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(t: &str) -> usize {
        status_length(t, None, DEFAULT_CHARS_PER_URL)
    }

    #[test]
    fn graphemes_not_code_points() {
        // Thumbs up + medium skin tone: two code points, one grapheme.
        assert_eq!(len("👍🏽"), 1);
        // Family: four people joined by ZWJ, one grapheme.
        assert_eq!(len("👩‍👩‍👧‍👦"), 1);
        // Flag: two regional indicators.
        assert_eq!(len("🇫🇷!"), 2);
        // "e" + combining acute, and a precomposed "é".
        assert_eq!(len("e\u{301}té"), 3);
        assert_eq!(len("ok\r\n"), 3, "CRLF is one grapheme");
    }

    #[test]
    fn urls_count_fixed_and_exclude_trailing_punctuation() {
        let long = "https://example.com/a/very/long/path/that/goes/on/and/on?query=1&x=2";
        assert_eq!(len(long), 23);
        assert_eq!(len("http://a.b"), 23, "short URLs count 23 too");
        assert_eq!(len(&format!("see {long}.")), 4 + 23 + 1);
        assert_eq!(len("(https://example.com/x)"), 1 + 23 + 1);
        // A balanced parenthesis belongs to the URL.
        assert_eq!(len("https://en.wikipedia.org/wiki/Foo_(bar)"), 23);
        assert_eq!(len("https://example.com/x?!;:,"), 23 + 5);
        assert_eq!(len("HTTPS://EXAMPLE.COM"), 23);
        assert_eq!(status_length("go https://x.org now", None, 30), 3 + 30 + 4);
    }

    #[test]
    fn not_urls() {
        // Glued to a word, or nothing after the scheme.
        assert_eq!(len("xhttps://example.com"), 20);
        assert_eq!(len("https://"), 8);
        assert_eq!(len("https://."), 9);
    }

    #[test]
    fn remote_mentions_count_without_domain() {
        assert_eq!(len("@alice@example.social"), 6);
        assert_eq!(len("hi @alice@example.social!"), 3 + 6 + 1);
        assert_eq!(len("@alice"), 6);
        // Not a mention: preceded by a word character (an e-mail address).
        assert_eq!(len("bob@alice@example.social"), 24);
        // Inside a URL the URL rule wins.
        assert_eq!(len("https://example.com/@alice@example.social"), 23);
    }

    #[test]
    fn content_warning_is_counted_raw() {
        assert_eq!(status_length("abc", Some("CW: policy"), 23), 13);
        // URLs in the warning are not shortened.
        assert_eq!(
            status_length("", Some("https://example.com/long/path/here/x"), 23),
            36
        );
        assert_eq!(status_length("👍🏽", Some("é"), 23), 2);
    }

    #[test]
    fn url_ranges_exposed() {
        let t = "a https://x.org/p. b";
        assert_eq!(url_ranges(t), vec![2..17]);
        assert_eq!(&t[2..17], "https://x.org/p");
    }
}
