//! The Atom feeds: one entry per announced version, its summary and the
//! diff as HTML content, linking to its diff page. Built without I/O; the
//! answer carries an `ETag` (of the XML itself) and a `Last-Modified` (the
//! newest entry), and a reader that already has them gets a 304.

use std::time::{Duration, SystemTime};

use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::html;
use sha2::{Digest, Sha256};
use url::Url;

use super::load::FeedEntry;
use super::pages;
use crate::links;

/// What tells a reader's copy apart from ours, known before any XML is
/// written: a 304 costs no rendering.
pub struct Validators {
    pub etag: String,
    pub updated: Option<DateTime<Utc>>,
}

/// The validators of the feed at `self_url` holding `entries`: the ETag
/// hashes which versions it holds (and this clausewatch's version, whose
/// rendering may differ), so it changes exactly when the XML would.
pub fn validators(self_url: &Url, entries: &[FeedEntry]) -> Validators {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(self_url.as_str().as_bytes());
    for e in entries {
        h.update(format!("\n{}\t{}\t{}", e.doc.id, e.to.version, e.to.hash).as_bytes());
    }
    Validators {
        etag: format!("\"{}\"", &hex::encode(h.finalize())[..20]),
        updated: entries.iter().map(|e| e.to.first_seen).max(),
    }
}

fn link(href: &Url, rel: &str) -> Link {
    let mut l = Link::default();
    l.set_href(href.as_str());
    l.set_rel(rel);
    l
}

fn entry(base: &Url, e: &FeedEntry) -> Entry {
    let n = e.to.version;
    let page = links::change(base, &e.doc.id, n);
    let summary = pages::counts_line(&crate::watch::check::counts(&e.changes));
    let body = html! {
        p { (summary) }
        (pages::change_list(base, &e.doc.id, n - 1, n, &e.changes.changes))
    };
    let mut content = Content::default();
    content.set_content_type(Some("html".to_string()));
    content.set_value(Some(body.into_string()));
    let mut entry = Entry::default();
    entry.set_id(page.as_str());
    entry.set_title(Text::plain(format!(
        "{} {}: version {n}",
        e.doc.service, e.doc.name
    )));
    entry.set_updated(e.to.first_seen.fixed_offset());
    entry.set_published(Some(e.to.first_seen.fixed_offset()));
    entry.set_links(vec![link(&page, "alternate")]);
    entry.set_summary(Some(Text::plain(summary)));
    entry.set_content(Some(content));
    entry
}

/// The Atom XML of the feed at `self_url` of `entries` (newest first).
pub fn build(base: &Url, self_url: &Url, title: &str, entries: &[FeedEntry]) -> String {
    let updated = entries.iter().map(|e| e.to.first_seen).max();
    let mut feed = Feed::default();
    feed.set_id(self_url.as_str());
    feed.set_title(Text::plain(title));
    // A feed with no entry yet still needs a date: the epoch says "never".
    feed.set_updated(updated.unwrap_or(DateTime::UNIX_EPOCH).fixed_offset());
    let mut author = Person::default();
    author.set_name("clausewatch");
    author.set_uri(Some(links::home(base).to_string()));
    feed.set_authors(vec![author]);
    feed.set_links(vec![
        link(self_url, "self"),
        link(&links::home(base), "alternate"),
    ]);
    feed.set_entries(entries.iter().map(|e| entry(base, e)).collect::<Vec<_>>());
    feed.to_string()
}

/// Whole seconds, as HTTP dates have them.
fn http_time(t: DateTime<Utc>) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.timestamp().max(0) as u64)
}

/// True when the reader's copy is current: its `If-None-Match` names our
/// ETag, or (without one) its `If-Modified-Since` is not older than the
/// newest entry.
pub fn not_modified(headers: &HeaderMap, built: &Validators) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let inm = inm.to_str().unwrap_or_default();
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == built.etag || t == "*");
    }
    let (Some(ims), Some(updated)) = (headers.get(header::IF_MODIFIED_SINCE), built.updated) else {
        return false;
    };
    ims.to_str()
        .ok()
        .and_then(|s| httpdate::parse_http_date(s).ok())
        .is_some_and(|since| since >= http_time(updated))
}

/// The feed's answer: 304 to a reader that has it, else 200 with the XML
/// (`build` is only called then).
pub fn answer(headers: &HeaderMap, v: &Validators, build: impl FnOnce() -> String) -> Response {
    let mut res = if not_modified(headers, v) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            build(),
        )
            .into_response()
    };
    let h = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&v.etag) {
        h.insert(header::ETAG, etag);
    }
    if let Some(t) = v.updated {
        if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(http_time(t))) {
            h.insert(header::LAST_MODIFIED, date);
        }
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators_at(t: DateTime<Utc>) -> Validators {
        Validators {
            etag: "\"abc\"".to_string(),
            updated: Some(t),
        }
    }

    #[test]
    fn a_reader_with_our_etag_or_a_recent_date_gets_not_modified() {
        let t = DateTime::parse_from_rfc3339("2023-09-29T23:12:59.5Z")
            .unwrap()
            .to_utc();
        let v = validators_at(t);
        let with = |k: header::HeaderName, val: &str| {
            let mut h = HeaderMap::new();
            h.insert(k, HeaderValue::from_str(val).unwrap());
            not_modified(&h, &v)
        };
        assert!(with(header::IF_NONE_MATCH, "\"x\", W/\"abc\""));
        assert!(!with(header::IF_NONE_MATCH, "\"x\""));
        assert!(with(
            header::IF_MODIFIED_SINCE,
            "Fri, 29 Sep 2023 23:12:59 GMT"
        ));
        assert!(!with(
            header::IF_MODIFIED_SINCE,
            "Fri, 29 Sep 2023 23:12:58 GMT"
        ));
        assert!(!with(header::IF_MODIFIED_SINCE, "yesterday"));
        assert!(!not_modified(&HeaderMap::new(), &v));
    }
}
