//! Addresses of the read-only web pages (`[http] public_url`), shared by the
//! pages themselves and by the posts that link to them, so that a link in a
//! thread and the route that answers it cannot drift apart.
//!
//! Routes, relative to `public_url` (which may carry a path prefix):
//! - `/` the watched documents
//! - `/documents/{id}` a document's versions
//! - `/documents/{id}/versions/{n}` version `n`'s clauses
//! - `/documents/{id}/changes/{n}` what version `n` changed (`?from=m` for
//!   any two versions)
//! - `/search` "when did this phrase appear"
//! - `/feed.atom` and `/documents/{id}/feed.atom`

use url::Url;

/// `base` with `segments` appended as path segments (each escaped), the
/// base's own path kept as a prefix.
fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for s in segments {
            path.push(s);
        }
    }
    url
}

/// The list of watched documents.
pub fn home(base: &Url) -> Url {
    join(base, &[""])
}

/// A document's page: its versions, newest first.
pub fn document(base: &Url, id: &str) -> Url {
    join(base, &["documents", id])
}

/// One version's clauses.
pub fn version(base: &Url, id: &str, number: i64) -> Url {
    join(base, &["documents", id, "versions", &number.to_string()])
}

/// What version `number` changed from the one before it.
pub fn change(base: &Url, id: &str, number: i64) -> Url {
    join(base, &["documents", id, "changes", &number.to_string()])
}

/// The Atom feed of every document.
pub fn feed(base: &Url) -> Url {
    join(base, &["feed.atom"])
}

/// One document's Atom feed.
pub fn document_feed(base: &Url, id: &str) -> Url {
    join(base, &["documents", id, "feed.atom"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_base_path_and_escape_ids() {
        let root = Url::parse("https://policies.example").unwrap();
        assert_eq!(
            change(&root, "x-privacy", 3).as_str(),
            "https://policies.example/documents/x-privacy/changes/3"
        );
        assert_eq!(home(&root).as_str(), "https://policies.example/");
        let prefixed = Url::parse("https://example.org/watch/").unwrap();
        assert_eq!(
            document(&prefixed, "a b").as_str(),
            "https://example.org/watch/documents/a%20b"
        );
        assert_eq!(home(&prefixed).as_str(), "https://example.org/watch/");
        let bare = Url::parse("https://example.org/watch?x=1").unwrap();
        assert_eq!(feed(&bare).as_str(), "https://example.org/watch/feed.atom");
        assert_eq!(
            version(&bare, "g", 2).as_str(),
            "https://example.org/watch/documents/g/versions/2"
        );
        assert_eq!(
            document_feed(&root, "g").as_str(),
            "https://policies.example/documents/g/feed.atom"
        );
    }
}
