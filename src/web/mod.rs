//! The read-only web face on the listener (`[http] public_url`): the
//! watched documents, each document's versions, each version's clauses,
//! the diff of each change, "when did this phrase appear", Atom feeds and
//! the same data as JSON under `/api/…`. Addresses come from
//! [`crate::links`], so that the posts' links and these routes agree.
//!
//! `load` reads the store into views; `pages` and `feed` turn views into
//! HTML and Atom without I/O (the bench times them alone); `api` answers
//! with the CLI's JSON types; `limit` bounds each client's request rate.

pub mod api;
pub mod feed;
pub mod limit;
pub mod load;
pub mod pages;

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use url::Url;

use crate::announce::Announce;
use crate::config::Config;
use crate::store::{Store, StoreError};
use crate::watch::check::Checker;

/// What the pages read.
#[derive(Clone)]
pub struct Web {
    pub store: Store,
    pub config: Arc<Config>,
    /// The `when` answer takes a checker in its context (it never fetches).
    checker: Checker,
    /// `public_url`: every link in pages and feeds is absolute against it.
    pub base: Url,
}

impl Web {
    pub fn new(store: Store, config: Arc<Config>, base: Url) -> anyhow::Result<Web> {
        let checker = Checker::new(&config, store.clone(), Announce::from_config(&config))?;
        Ok(Web {
            store,
            config,
            checker,
            base,
        })
    }
}

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// The details go to the log only: a public page need not show the
    /// database's path or its SQL.
    #[error("the database cannot be read now; try again later")]
    Store(#[from] StoreError),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Store(e) => {
                tracing::warn!(error = %e, "web page failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = pages::error_page(status.as_u16(), &self.to_string());
        (status, html_headers(), body.into_string()).into_response()
    }
}

type WebResult<T> = Result<T, WebError>;

/// The content security policy of every answer: no script at all, styles
/// only from our own stylesheet, forms only to ourselves.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn html_headers() -> [(header::HeaderName, &'static str); 1] {
    [(header::CONTENT_TYPE, "text/html; charset=utf-8")]
}

/// The security headers, added to every answer of the web router.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// The web routes, mounted under `base`'s path (a `public_url` with a path
/// prefix is served under that prefix), rate limited per client.
pub fn router(web: Web, limiter: Arc<limit::Limiter>) -> Router {
    let routes = Router::new()
        .route("/", get(home))
        .route("/style.css", get(style))
        .route("/search", get(search))
        .route("/feed.atom", get(feed_all))
        .route("/documents/{id}", get(document))
        .route("/documents/{id}/feed.atom", get(feed_document))
        .route("/documents/{id}/versions/{n}", get(version))
        .route("/documents/{id}/changes/{n}", get(change))
        .nest("/api", api::routes())
        .with_state(web.clone());
    let prefix = web.base.path().trim_end_matches('/');
    let routes = if prefix.is_empty() {
        routes
    } else {
        // `nest` answers the bare prefix; the home page's own address
        // (`links::home`) ends with a slash.
        Router::new()
            .route(&format!("{prefix}/"), get(home).with_state(web.clone()))
            .nest(prefix, routes)
    };
    routes
        .layer(axum::middleware::from_fn_with_state(limiter, limit::limit))
        .layer(axum::middleware::from_fn(security_headers))
}

fn html(markup: maud::Markup) -> Response {
    (html_headers(), markup.into_string()).into_response()
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLE,
    )
}

async fn home(State(w): State<Web>) -> WebResult<Response> {
    let rows = load::home(&w).await?;
    Ok(html(pages::home(&w.base, &rows)))
}

async fn document(State(w): State<Web>, Path(id): Path<String>) -> WebResult<Response> {
    let view = load::document(&w, &id).await?;
    Ok(html(pages::document(&w.base, &view)))
}

/// A version number from the path, with the input named when it is not one.
fn number(raw: &str) -> WebResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| WebError::BadRequest(format!("{raw:?} is not a version number")))
}

async fn version(
    State(w): State<Web>,
    Path((id, n)): Path<(String, String)>,
) -> WebResult<Response> {
    let view = load::version(&w, &id, number(&n)?).await?;
    Ok(html(pages::version(&w.base, &view)))
}

/// `?from=N`, read by hand so that a bad value is named in the answer.
fn from_param(raw: Option<&str>) -> WebResult<Option<i64>> {
    let Some(q) = raw else { return Ok(None) };
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if k == "from" {
            return v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .map(Some)
                .ok_or_else(|| {
                    WebError::BadRequest(format!("from={v:?} is not a version number"))
                });
        }
    }
    Ok(None)
}

async fn change(
    State(w): State<Web>,
    Path((id, n)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> WebResult<Response> {
    let from = from_param(q.as_deref())?;
    let view = load::change(&w, &id, number(&n)?, from).await?;
    Ok(html(pages::change(&w.base, &view)))
}

#[derive(Deserialize)]
struct SearchQuery {
    doc: Option<String>,
    q: Option<String>,
}

async fn search(State(w): State<Web>, Query(sq): Query<SearchQuery>) -> WebResult<Response> {
    let docs = load::home(&w).await?;
    let doc = sq.doc.filter(|d| !d.is_empty());
    let phrase = sq.q.filter(|q| !q.trim().is_empty());
    let answer = match (&doc, &phrase) {
        (Some(d), Some(p)) => Some(load::when(&w, d, p).await?),
        _ => None,
    };
    Ok(html(pages::search(
        &w.base,
        &docs,
        doc.as_deref(),
        phrase.as_deref(),
        answer.as_deref(),
    )))
}

async fn feed_all(State(w): State<Web>, headers: HeaderMap) -> WebResult<Response> {
    let entries = load::feed_entries(&w, None).await?;
    let url = crate::links::feed(&w.base);
    let v = feed::validators(&url, &entries);
    Ok(feed::answer(&headers, &v, || {
        feed::build(&w.base, &url, "clausewatch: all documents", &entries)
    }))
}

async fn feed_document(
    State(w): State<Web>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let doc = load::doc_info(&w, &id).await?;
    let entries = load::feed_entries(&w, Some(&id)).await?;
    let url = crate::links::document_feed(&w.base, &id);
    let title = format!("clausewatch: {} {}", doc.service, doc.name);
    let v = feed::validators(&url, &entries);
    Ok(feed::answer(&headers, &v, || {
        feed::build(&w.base, &url, &title, &entries)
    }))
}
