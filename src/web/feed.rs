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

/// A feed ready to send.
pub struct Built {
    pub xml: String,
    pub etag: String,
    pub updated: Option<DateTime<Utc>>,
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
    let summary = pages::counts_line(&pages::summary_counts(&e.changes.summary));
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

/// The feed at `self_url` of `entries` (newest first).
pub fn build(base: &Url, self_url: Url, title: &str, entries: &[FeedEntry]) -> Built {
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
        link(&self_url, "self"),
        link(&links::home(base), "alternate"),
    ]);
    feed.set_entries(entries.iter().map(|e| entry(base, e)).collect::<Vec<_>>());
    let xml = feed.to_string();
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(xml.as_bytes()))[..20]);
    Built { xml, etag, updated }
}

/// Whole seconds, as HTTP dates have them.
fn http_time(t: DateTime<Utc>) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.timestamp().max(0) as u64)
}

/// True when the reader's copy is current: its `If-None-Match` names our
/// ETag, or (without one) its `If-Modified-Since` is not older than the
/// newest entry.
pub fn not_modified(headers: &HeaderMap, built: &Built) -> bool {
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

/// The feed's answer: 200 with the XML, or 304 to a reader that has it.
pub fn answer(headers: &HeaderMap, built: Built) -> Response {
    let mut res = if not_modified(headers, &built) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            built.xml.clone(),
        )
            .into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&built.etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(t) = built.updated {
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(http_time(t))) {
            h.insert(header::LAST_MODIFIED, v);
        }
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
