//! Fetching policy pages politely and robustly.
//!
//! One [`Fetcher`] is shared by all watch tasks. Each [`Fetcher::fetch`] call:
//! - waits for its host to be free (one request at a time per host, with
//!   [`FetchSettings::per_host_delay`] between the end of one request and the start of the
//!   next) and for a global slot ([`FetchSettings::max_concurrent`]);
//! - sends a GET, conditional if the caller knows an ETag / Last-Modified (a 304 yields
//!   [`Fetched::NotModified`] without reading a body);
//! - follows at most [`FetchSettings::max_redirects`] redirects and, unless
//!   [`FetchSettings::allow_cross_host_redirects`] is set, refuses redirects to another
//!   site. `www.example.com` and `example.com` count as the same site, because policy pages
//!   routinely redirect between the two and a watcher should not break on that; the scheme
//!   may change (http → https, each on its default port). Another port is another site
//!   (`127.0.0.1:8080` and `127.0.0.1:9090` are two servers). Anything else is refused: a
//!   policy URL that suddenly lands on another domain is exactly what a human should look
//!   at;
//! - unless [`FetchSettings::allow_private_addresses`] is set, refuses to connect to
//!   loopback, link-local, private and unique-local addresses ([`private_kind`]), whether
//!   the document's URL or a redirect names them as IP literals or a name resolves to them
//!   (the check is in the DNS resolver, so it covers every connection);
//! - streams the body and fails with [`FetchError::TooLarge`] as soon as it exceeds
//!   [`FetchSettings::max_body_bytes`] (the cap applies to the decompressed body, which also
//!   defends against compression bombs). Bodies are never truncated: a truncated policy
//!   would be diffed as a massive deletion;
//! - retries timeouts, connection errors, 5xx and 429 with exponential backoff and full
//!   jitter, honouring `Retry-After` (capped by [`FetchSettings::backoff_max`]). The host
//!   slot and the global slot are released while waiting between attempts.
//!
//! Per-host limits are keyed by the host name of the requested URL (not the port, not the
//! redirect target).
//!
//! Credentials in a URL (`https://user:pass@host/`) are sent as HTTP basic auth by reqwest
//! and never shown: every URL in a [`FetchReport`], a [`Page`], a [`FetchError`] and the
//! fetcher's tracing fields is [`redact`]ed.

// A fetch error carries the URLs it is about (a refused redirect names
// both); it is returned once per fetch, never in a loop, so its size costs
// nothing worth boxing for.
#![allow(clippy::result_large_err)]

mod address;
pub mod assemble;
pub mod browser;
mod charset;
mod document;
mod limit;
mod retry;

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use encoding_rs::Encoding;
use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tracing::debug;
use url::Url;

pub use address::{private_kind, redact};
pub use charset::decode;

use crate::defaults as D;
use crate::domain::FailureClass;
use crate::retry::Backoff;
use address::{literal_private, scrub, GuardedResolver, PrivateHost, PrivateRefusal};
use limit::Limiter;
use retry::{is_retryable, parse_retry_after};

#[derive(Clone, Debug)]
pub struct FetchSettings {
    /// Sent verbatim as `User-Agent`; the caller builds it (name, version, contact URL).
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Total time for one attempt, body included.
    pub timeout: Duration,
    pub max_redirects: usize,
    pub max_body_bytes: u64,
    /// Extra attempts after the first one.
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub per_host_delay: Duration,
    pub max_concurrent: usize,
    pub allow_cross_host_redirects: bool,
    /// `[defaults] allow_private_addresses`: fetch documents on loopback,
    /// link-local, private and unique-local addresses.
    pub allow_private_addresses: bool,
}

impl FetchSettings {
    /// The settings `[defaults]` gives (the user agent already names the
    /// contact URL).
    pub fn from_defaults(d: &crate::config::Defaults) -> FetchSettings {
        FetchSettings {
            user_agent: d.user_agent.clone(),
            connect_timeout: d.connect_timeout,
            timeout: d.timeout,
            max_redirects: d.max_redirects,
            max_body_bytes: d.max_body_bytes,
            retries: d.retries,
            backoff_base: d.backoff_base,
            per_host_delay: d.per_host_delay,
            max_concurrent: d.max_concurrent,
            allow_private_addresses: d.allow_private_addresses,
            ..FetchSettings::default()
        }
    }
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: D::USER_AGENT.to_string(),
            connect_timeout: D::CONNECT_TIMEOUT,
            timeout: D::TIMEOUT,
            max_redirects: D::MAX_REDIRECTS,
            max_body_bytes: D::MAX_BODY_BYTES,
            retries: D::RETRIES,
            backoff_base: D::BACKOFF_BASE,
            backoff_max: D::BACKOFF_MAX,
            per_host_delay: D::PER_HOST_DELAY,
            max_concurrent: D::MAX_CONCURRENT,
            allow_cross_host_redirects: false,
            allow_private_addresses: false,
        }
    }
}

/// Validators from the previous successful fetch, sent as `If-None-Match` /
/// `If-Modified-Since`.
#[derive(Clone, Debug, Default)]
pub struct Conditional {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub struct FetchReport {
    /// The requested URL, [`redact`]ed.
    pub url: Url,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    /// Number of requests sent (0 if the URL was rejected before sending anything).
    pub attempts: u32,
    /// Last HTTP status received over all attempts.
    pub status: Option<u16>,
    /// Body bytes received in the last attempt.
    pub bytes: u64,
    /// The start of the body of an HTTP error response (last attempt), kept
    /// so that a challenge or access-denied page behind a 403/429/503 can be
    /// told apart from a plain server error.
    pub error_body: Option<String>,
    pub result: Result<Fetched, FetchError>,
}

/// Error bodies longer than this are cut: interstitials are small, and the
/// classifier only looks at short pages anyway.
const ERROR_BODY_MAX_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub enum Fetched {
    NotModified,
    /// Boxed: a page is large and a 304 is nothing.
    Page(Box<Page>),
}

#[derive(Debug)]
pub struct Page {
    /// Where the last redirect led, [`redact`]ed.
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// The body decoded; the body's own bytes when they already were UTF-8.
    pub text: PageText,
    /// WHATWG name of the encoding used to produce `text`.
    pub encoding: &'static str,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The response headers the classifier reads (challenge markers such as
    /// `cf-mitigated`); cookies and the like are not kept.
    pub headers: Vec<(String, String)>,
}

/// A page's decoded text. When the body already was UTF-8 (nearly always),
/// the text is the body's own buffer rather than a copy of it: a 10 MB page
/// is then held once, not twice, for as long as its check lasts.
#[derive(Clone, PartialEq, Eq)]
pub struct PageText(TextBytes);

#[derive(Clone, PartialEq, Eq)]
enum TextBytes {
    /// Bytes checked to be UTF-8 when the text was made (the only way one
    /// is made), never changed since: `Bytes` is immutable.
    Shared(Bytes),
    Owned(String),
}

impl PageText {
    /// Decodes `body` (see [`decode`] for the rules), sharing its buffer
    /// when the decoded text is a slice of it.
    pub fn decode(body: &Bytes, content_type: Option<&str>) -> (PageText, &'static Encoding) {
        let encoding = charset::detect(body, content_type);
        let (text, used, _had_errors) = encoding.decode(body);
        let text = match text {
            // A borrowed text is a slice of the body (a byte-order mark
            // left out): the same bytes, found by their address.
            std::borrow::Cow::Borrowed(text) => {
                let start = text.as_ptr() as usize - body.as_ptr() as usize;
                TextBytes::Shared(body.slice(start..start + text.len()))
            }
            std::borrow::Cow::Owned(text) => TextBytes::Owned(text),
        };
        (PageText(text), used)
    }
}

impl std::ops::Deref for PageText {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            // SAFETY: a shared text is only made from a `&str`'s bytes (in
            // `PageText::decode`), and `Bytes` never changes its contents.
            TextBytes::Shared(bytes) => unsafe { std::str::from_utf8_unchecked(bytes) },
            TextBytes::Owned(text) => text,
        }
    }
}

impl From<String> for PageText {
    fn from(text: String) -> PageText {
        PageText(TextBytes::Owned(text))
    }
}

impl std::fmt::Debug for PageText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq<str> for PageText {
    fn eq(&self, other: &str) -> bool {
        **self == *other
    }
}

impl PartialEq<&str> for PageText {
    fn eq(&self, other: &&str) -> bool {
        **self == **other
    }
}

/// Response headers worth keeping for the classifier.
const KEPT_HEADERS: &[&str] = &["cf-mitigated", "x-amzn-waf-action", "server"];

#[derive(thiserror::Error, Debug)]
pub enum FetchError {
    #[error("timed out fetching {url}")]
    Timeout { url: Url },
    #[error("network error fetching {url}: {message}")]
    Connect { url: Url, message: String },
    #[error("DNS lookup failed for {url}: {message}")]
    Dns { url: Url, message: String },
    #[error("TLS error fetching {url}: {message}")]
    Tls { url: Url, message: String },
    #[error("HTTP status {status} from {url}")]
    Status { url: Url, status: u16 },
    #[error("body of {url} exceeds the limit of {limit} bytes")]
    TooLarge { url: Url, limit: u64 },
    #[error("more than {max} redirects fetching {url}")]
    TooManyRedirects { url: Url, max: usize },
    #[error("refused redirect from {from} to another site: {to}")]
    CrossHostRedirect { from: Url, to: Url },
    #[error("error reading body of {url}: {message}")]
    Body { url: Url, message: String },
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The URL, a redirect or a name's resolution leads to a loopback,
    /// link-local, private or unique-local address, and
    /// `allow_private_addresses` is off.
    #[error("{}", private_message(.url, .host, .address, .kind, .redirected_from.as_ref()))]
    PrivateAddress {
        url: Url,
        host: String,
        address: IpAddr,
        kind: &'static str,
        /// Set when a redirect from this URL named the private address.
        redirected_from: Option<Url>,
    },
    #[error("HTTP client error: {message}")]
    Client { message: String },
    /// The document needs a browser and none could be used.
    #[error("{url}: {message}")]
    NoBrowser { url: Url, message: String },
}

/// Who wrote a URL: the operator in bot.toml, or a declaration folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    Operator,
    Collection,
}

impl FetchError {
    /// Stable short name for metrics, logs and the store. HTTP statuses other than 4xx
    /// and 5xx (e.g. a 3xx without `Location`) count as `http_client`.
    pub fn class(&self) -> FailureClass {
        match self {
            FetchError::Timeout { .. } => FailureClass::Timeout,
            FetchError::Connect { .. } => FailureClass::Network,
            FetchError::Dns { .. } => FailureClass::Dns,
            FetchError::Tls { .. } => FailureClass::Tls,
            FetchError::Status { status, .. } => match status {
                404 | 410 => FailureClass::NotFound,
                429 => FailureClass::RateLimited,
                500..=599 => FailureClass::HttpServer,
                _ => FailureClass::HttpClient,
            },
            FetchError::TooLarge { .. } => FailureClass::TooLarge,
            FetchError::TooManyRedirects { .. } | FetchError::CrossHostRedirect { .. } => {
                FailureClass::Redirect
            }
            FetchError::Body { .. } => FailureClass::Body,
            FetchError::InvalidUrl { .. } => FailureClass::InvalidUrl,
            FetchError::PrivateAddress { .. } => FailureClass::PrivateAddress,
            FetchError::Client { .. } => FailureClass::Client,
            FetchError::NoBrowser { .. } => FailureClass::NoBrowser,
        }
    }
}

/// Cheap to clone; all clones share the HTTP connection pool and the politeness limits.
#[derive(Clone, Debug)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    settings: FetchSettings,
    limiter: Limiter,
    browser: browser::Pool,
}

/// Raised inside the redirect policy; recovered from the reqwest error's source chain.
#[derive(thiserror::Error, Debug)]
enum RedirectRefusal {
    #[error("more than {0} redirects")]
    TooMany(usize),
    #[error("redirect from {from} to another site {to}")]
    CrossSite { from: Url, to: Url },
    #[error("redirect from {from} to a private address {to}")]
    Private {
        from: Url,
        to: Url,
        found: PrivateHost,
    },
}

/// What the redirect policy enforces.
#[derive(Clone, Copy, Debug)]
struct RedirectRules {
    max_redirects: usize,
    allow_cross: bool,
    allow_private: bool,
}

impl RedirectRules {
    /// Whether a redirect to `to` may be followed; `previous` holds the original URL plus
    /// every URL already redirected to. The URLs in a refusal are redacted.
    fn check(&self, previous: &[Url], to: &Url) -> Result<(), RedirectRefusal> {
        if previous.len() > self.max_redirects {
            return Err(RedirectRefusal::TooMany(self.max_redirects));
        }
        let from = previous.last().map(redact);
        let shown = redact(to);
        // A name is checked when it is resolved; an IP literal is never resolved.
        if let (false, Some(found)) = (self.allow_private, literal_private(to)) {
            let from = from.unwrap_or_else(|| shown.clone());
            return Err(RedirectRefusal::Private {
                from,
                to: shown,
                found,
            });
        }
        match from {
            Some(from) if !self.allow_cross && !same_site(&from, &shown) => {
                Err(RedirectRefusal::CrossSite { from, to: shown })
            }
            _ => Ok(()),
        }
    }
}

/// The text of [`FetchError::PrivateAddress`]: what was refused, why, and the
/// setting that allows it.
fn private_message(
    url: &Url,
    host: &str,
    address: &IpAddr,
    kind: &str,
    redirected_from: Option<&Url>,
) -> String {
    let what = if host.trim_matches(['[', ']']) == address.to_string() {
        format!("{host} is a {kind} address")
    } else {
        format!("{host} resolves to {address}, a {kind} address")
    };
    let via = redirected_from.map_or_else(String::new, |from| format!(" (redirected from {from})"));
    format!(
        "refused to fetch {url}{via}: {what}; loopback, link-local, private and unique-local \
         addresses are only fetched with `{}` under [defaults] in the config",
        address::ALLOW_SETTING
    )
}

/// Outcome of a single request.
struct Attempt {
    status: Option<u16>,
    bytes: u64,
    retry_after: Option<Duration>,
    error_body: Option<String>,
    result: Result<Fetched, FetchError>,
}

impl Attempt {
    fn failed(status: Option<u16>, error: FetchError) -> Self {
        Attempt {
            status,
            bytes: 0,
            retry_after: None,
            error_body: None,
            result: Err(error),
        }
    }
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Self, FetchError> {
        if settings.max_concurrent == 0 {
            return Err(FetchError::Client {
                message: "max_concurrent must be at least 1".into(),
            });
        }
        let max_redirects = settings.max_redirects;
        let allow_cross = settings.allow_cross_host_redirects;
        let allow_private = settings.allow_private_addresses;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let rules = RedirectRules {
                max_redirects,
                allow_cross,
                allow_private,
            };
            match rules.check(attempt.previous(), attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        });
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.8"),
        );
        let mut builder = reqwest::Client::builder()
            .user_agent(settings.user_agent.as_str())
            .default_headers(default_headers)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(policy);
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        let client = builder.build().map_err(|e| FetchError::Client {
            message: error_chain(&e),
        })?;
        let limiter = Limiter::new(settings.per_host_delay, settings.max_concurrent);
        Ok(Fetcher {
            inner: Arc::new(Inner {
                client,
                settings,
                limiter,
                browser: browser::Pool::default(),
            }),
        })
    }

    /// Fetches `url`, retrying transient failures. Never panics and never returns early
    /// without a report: every outcome, including invalid input, is in `result`.
    pub async fn fetch(&self, url: &Url, cond: &Conditional) -> FetchReport {
        self.fetch_trusting(url, cond, Trust::Operator).await
    }

    /// [`Fetcher::fetch`], with the trust the URL's author gets.
    async fn fetch_trusting(&self, url: &Url, cond: &Conditional, trust: Trust) -> FetchReport {
        let started_at = Utc::now();
        let start = Instant::now();
        let settings = &self.inner.settings;
        let backoff = Backoff {
            base: settings.backoff_base,
            max: settings.backoff_max,
        };
        // What logs, errors and the store see: never the credentials.
        let shown = &redact(url);
        let report = |attempts, status, bytes, error_body, result| FetchReport {
            url: shown.clone(),
            started_at,
            duration: start.elapsed(),
            attempts,
            status,
            bytes,
            error_body,
            result,
        };
        let host = match checked_host(url) {
            Ok(host) => host,
            Err(error) => return report(0, None, 0, None, Err(error)),
        };
        // A loopback address written literally in the document's own URL is
        // the operator's explicit choice (a page this machine serves, the
        // shared benchmark's site): fetched. A name that resolves to one, a
        // redirect to one, and every other private range stay refused.
        // A declaration folder is someone else's writing: no exception.
        let written_loopback =
            |found: &PrivateHost| found.kind == "loopback" && trust == Trust::Operator;
        if let (false, Some(found)) = (settings.allow_private_addresses, literal_private(url)) {
            if written_loopback(&found) {
                debug!(url = %shown, "a loopback address written in the document URL: fetched");
            } else {
                debug!(url = %shown, address = %found.address, "refused: private address");
                let error = private_error(shown, found, None);
                return report(0, None, 0, None, Err(error));
            }
        }
        let mut attempts = 0u32;
        let mut last_status = None;
        loop {
            attempts += 1;
            let attempt_start = Instant::now();
            let outcome = {
                let _permit = self.inner.limiter.acquire(host).await;
                self.attempt(url, shown, cond).await
            };
            last_status = outcome.status.or(last_status);
            debug!(
                url = %shown,
                attempt = attempts,
                status = outcome.status,
                bytes = outcome.bytes,
                elapsed_ms = attempt_start.elapsed().as_millis() as u64,
                outcome = match &outcome.result {
                    Ok(Fetched::NotModified) => "not_modified",
                    Ok(Fetched::Page(_)) => "page",
                    Err(e) => e.class().as_str(),
                },
                "fetch attempt finished"
            );
            match outcome.result {
                Err(error) if attempts <= settings.retries && is_retryable(&error) => {
                    let wait =
                        backoff.delay(attempts - 1, outcome.retry_after, &mut rand::thread_rng());
                    debug!(url = %shown, attempt = attempts, wait_ms = wait.as_millis() as u64,
                        error = %error, "retrying fetch");
                    tokio::time::sleep(wait).await;
                }
                result => {
                    return report(
                        attempts,
                        last_status,
                        outcome.bytes,
                        outcome.error_body,
                        result,
                    )
                }
            }
        }
    }

    /// One request to `url`; `shown` (the URL redacted) is what errors name.
    async fn attempt(&self, url: &Url, shown: &Url, cond: &Conditional) -> Attempt {
        let limit = self.inner.settings.max_body_bytes;
        let mut request = self.inner.client.get(url.clone());
        // A stored validator that is not a valid header value (corrupt store, odd server)
        // only costs a full download, so it is dropped rather than failing the fetch.
        let validators = [
            (header::IF_NONE_MATCH, &cond.etag),
            (header::IF_MODIFIED_SINCE, &cond.last_modified),
        ];
        for (name, value) in validators {
            if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                request = request.header(name, value);
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Attempt::failed(None, map_send_error(url, shown, error)),
        };
        let status = response.status().as_u16();
        let header_text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if status == 304 {
            return Attempt {
                status: Some(status),
                bytes: 0,
                retry_after: None,
                error_body: None,
                result: Ok(Fetched::NotModified),
            };
        }
        if !response.status().is_success() {
            let retry_after =
                header_text(header::RETRY_AFTER).and_then(|v| parse_retry_after(&v, Utc::now()));
            let content_type = header_text(header::CONTENT_TYPE);
            let error_body = error_body(response, content_type.as_deref()).await;
            return Attempt {
                retry_after,
                error_body,
                ..Attempt::failed(
                    Some(status),
                    FetchError::Status {
                        url: shown.clone(),
                        status,
                    },
                )
            };
        }
        let too_large = || FetchError::TooLarge {
            url: shown.clone(),
            limit,
        };
        if response.content_length().is_some_and(|len| len > limit) {
            return Attempt::failed(Some(status), too_large());
        }
        let final_url = redact(response.url());
        let content_type = header_text(header::CONTENT_TYPE);
        let etag = header_text(header::ETAG);
        let last_modified = header_text(header::LAST_MODIFIED);
        let headers: Vec<(String, String)> = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                response
                    .headers()
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| (name.to_string(), v.to_string()))
            })
            .collect();

        // Sized from Content-Length (within the limit) so that a big body
        // is not copied into ever larger buffers that end up to twice its
        // size; a compressed body's length is only where growth starts.
        let announced = response.content_length().unwrap_or(0).min(limit);
        let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let error = if error.is_timeout() {
                        FetchError::Timeout { url: shown.clone() }
                    } else {
                        FetchError::Body {
                            url: shown.clone(),
                            message: scrub(error_chain(&error.without_url()), url),
                        }
                    };
                    return Attempt {
                        bytes: body.len() as u64,
                        ..Attempt::failed(Some(status), error)
                    };
                }
            };
            if (body.len() + chunk.len()) as u64 > limit {
                return Attempt {
                    bytes: (body.len() + chunk.len()) as u64,
                    ..Attempt::failed(Some(status), too_large())
                };
            }
            body.extend_from_slice(&chunk);
        }
        // The page is kept for the whole check: not the room it grew into.
        if body.capacity() > body.len() + body.len() / 8 {
            body.shrink_to_fit();
        }
        let body = Bytes::from(body);
        let (text, encoding) = PageText::decode(&body, content_type.as_deref());
        Attempt {
            status: Some(status),
            bytes: body.len() as u64,
            retry_after: None,
            error_body: None,
            result: Ok(Fetched::Page(Box::new(Page {
                final_url,
                status,
                content_type,
                body,
                text,
                encoding: encoding.name(),
                etag,
                last_modified,
                headers,
            }))),
        }
    }
}

/// Reads at most `ERROR_BODY_MAX_BYTES` of an error response; a body that
/// cannot be read is simply absent (the status alone is still reported).
async fn error_body(response: reqwest::Response, content_type: Option<&str>) -> Option<String> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = ERROR_BODY_MAX_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= ERROR_BODY_MAX_BYTES {
            break;
        }
    }
    if body.is_empty() {
        return None;
    }
    Some(decode(&body, content_type).0)
}

fn checked_host(url: &Url) -> Result<&str, FetchError> {
    let invalid = |reason: &str| FetchError::InvalidUrl {
        url: redact(url).to_string(),
        reason: reason.to_string(),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs can be fetched"));
    }
    url.host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| invalid("URL has no host"))
}

/// Same site for redirect purposes: equal host names once a leading `www.` is ignored,
/// and the same port, where a URL without a port (the scheme's default) matches another
/// without one, so that http → https on the default ports stays on the site.
fn same_site(from: &Url, to: &Url) -> bool {
    fn site(url: &Url) -> Option<(String, Option<u16>)> {
        let host = url.host_str()?.to_ascii_lowercase();
        let host = host
            .strip_prefix("www.")
            .map(str::to_string)
            .unwrap_or(host);
        Some((host, url.port()))
    }
    matches!((site(from), site(to)), (Some(a), Some(b)) if a == b)
}

fn private_error(url: &Url, found: PrivateHost, redirected_from: Option<Url>) -> FetchError {
    FetchError::PrivateAddress {
        url: url.clone(),
        host: found.host,
        address: found.address,
        kind: found.kind,
        redirected_from,
    }
}

/// Maps a failed send of `url` (named as `shown` in the error).
fn map_send_error(url: &Url, shown: &Url, error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<RedirectRefusal>() {
            return match refusal {
                RedirectRefusal::TooMany(max) => FetchError::TooManyRedirects {
                    url: shown.clone(),
                    max: *max,
                },
                RedirectRefusal::CrossSite { from, to } => FetchError::CrossHostRedirect {
                    from: from.clone(),
                    to: to.clone(),
                },
                RedirectRefusal::Private { from, to, found } => {
                    private_error(to, found.clone(), Some(from.clone()))
                }
            };
        }
        if let Some(PrivateRefusal(found)) = cause.downcast_ref::<PrivateRefusal>() {
            return private_error(shown, found.clone(), None);
        }
        source = cause.source();
    }
    let is_timeout = error.is_timeout();
    let is_builder = error.is_builder();
    // The URL reqwest keeps is the one that failed (maybe a redirect target): dropped
    // from the message, which names `shown` instead.
    let message = scrub(error_chain(&error.without_url()), url);
    let url = shown.clone();
    if is_timeout {
        return FetchError::Timeout { url };
    }
    if is_builder {
        return FetchError::InvalidUrl {
            url: url.to_string(),
            reason: message,
        };
    }
    // reqwest does not expose DNS or TLS failures as kinds; hyper-util reports resolver
    // failures as "dns error" and rustls failures mention certificates or handshakes.
    // Best effort: anything unrecognised is a plain network error, which is retried.
    let lower = message.to_ascii_lowercase();
    if lower.contains("dns error") {
        FetchError::Dns { url, message }
    } else if ["certificate", "tls", "handshake"]
        .iter()
        .any(|k| lower.contains(k))
    {
        FetchError::Tls { url, message }
    } else {
        FetchError::Connect { url, message }
    }
}

/// Joins an error and its causes; reqwest's top-level message alone ("error sending
/// request") does not say what went wrong.
fn error_chain(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_utf8_page_text_is_the_body_itself_and_others_are_decoded() {
        let body = Bytes::from("<p>Café</p>".as_bytes().to_vec());
        let (text, encoding) = PageText::decode(&body, Some("text/html; charset=utf-8"));
        assert_eq!((&*text, encoding.name()), ("<p>Café</p>", "UTF-8"));
        assert_eq!(
            text.as_ptr(),
            body.as_ptr(),
            "the text is a copy of the body"
        );
        // A byte-order mark is left out of the text, not copied around.
        let body = Bytes::from(b"\xef\xbb\xbf<p>x</p>".to_vec());
        let (text, _) = PageText::decode(&body, None);
        assert_eq!(text, "<p>x</p>");
        assert_eq!(text.as_ptr(), body[3..].as_ptr());
        // Another encoding is decoded into a text of its own.
        let body = Bytes::from(b"<p>Caf\xe9</p>".to_vec());
        let (text, encoding) = PageText::decode(&body, Some("text/html; charset=iso-8859-1"));
        assert_eq!((&*text, encoding.name()), ("<p>Café</p>", "windows-1252"));
    }

    #[test]
    fn www_and_apex_are_the_same_site() {
        assert!(same_site(
            &url("https://example.com/a"),
            &url("https://www.example.com/b")
        ));
        // http → https on the default ports stays on the site.
        assert!(same_site(
            &url("http://WWW.example.com/"),
            &url("https://example.com/")
        ));
        assert!(same_site(
            &url("http://example.com:80/"),
            &url("https://example.com:443/")
        ));
        // Another port is another server.
        assert!(!same_site(
            &url("http://example.com/"),
            &url("https://example.com:8443/")
        ));
        assert!(!same_site(
            &url("http://127.0.0.1:8080/"),
            &url("http://127.0.0.1:9090/")
        ));
        assert!(!same_site(
            &url("https://example.com/"),
            &url("https://evil.example.net/")
        ));
        assert!(!same_site(
            &url("https://example.com/"),
            &url("https://sub.example.com/")
        ));
        assert!(!same_site(
            &url("http://127.0.0.1:1/"),
            &url("http://localhost:1/")
        ));
    }

    #[test]
    fn only_http_urls_with_hosts_are_accepted() {
        assert_eq!(
            checked_host(&url("https://Example.org/x")).unwrap(),
            "example.org"
        );
        assert_eq!(
            checked_host(&url("ftp://example.org/x"))
                .unwrap_err()
                .class()
                .as_str(),
            "invalid_url"
        );
        assert!(checked_host(&url("file:///etc/passwd")).is_err());
    }

    #[test]
    fn status_classes() {
        let class = |status| {
            FetchError::Status {
                url: url("https://example.org/"),
                status,
            }
            .class()
            .as_str()
        };
        assert_eq!(class(404), "http_not_found");
        assert_eq!(class(410), "http_not_found");
        assert_eq!(class(403), "http_client");
        assert_eq!(class(429), "rate_limited");
        assert_eq!(class(502), "http_server");
    }

    #[test]
    fn private_addresses_have_their_own_class_and_name_the_setting() {
        let error = FetchError::PrivateAddress {
            url: url("http://intranet.example/p"),
            host: "intranet.example".into(),
            address: "10.0.0.7".parse().unwrap(),
            kind: "private",
            redirected_from: Some(url("https://example.org/p")),
        };
        assert_eq!(error.class().as_str(), "private_address");
        assert_eq!(
            error.to_string(),
            "refused to fetch http://intranet.example/p (redirected from https://example.org/p): \
             intranet.example resolves to 10.0.0.7, a private address; loopback, link-local, \
             private and unique-local addresses are only fetched with \
             `allow_private_addresses = true` under [defaults] in the config"
        );
        let literal = FetchError::PrivateAddress {
            url: url("http://[::1]:8080/"),
            host: "[::1]".into(),
            address: "::1".parse().unwrap(),
            kind: "loopback",
            redirected_from: None,
        };
        assert!(
            literal
                .to_string()
                .starts_with("refused to fetch http://[::1]:8080/: [::1] is a loopback address;"),
            "{literal}"
        );
        assert!(!retry::is_retryable(&literal));
    }

    #[test]
    fn redirects_to_private_literals_and_other_ports_are_refused() {
        let rules = RedirectRules {
            max_redirects: 5,
            allow_cross: false,
            allow_private: false,
        };
        let from = [url("https://example.org/privacy")];
        for to in [
            "https://10.0.0.1/privacy",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/",
            "http://[fd00::1]/",
        ] {
            match rules.check(&from, &url(to)) {
                Err(RedirectRefusal::Private { from, found, .. }) => {
                    assert_eq!(from.as_str(), "https://example.org/privacy");
                    assert!(private_kind(found.address).is_some(), "{to}");
                }
                other => panic!("{to}: {other:?}"),
            }
        }
        assert!(rules
            .check(&from, &url("https://www.example.org/p"))
            .is_ok());
        assert!(rules
            .check(&[url("http://example.org/")], &url("https://example.org/"))
            .is_ok());
        assert!(matches!(
            rules.check(&from, &url("https://example.org:8443/p")),
            Err(RedirectRefusal::CrossSite { .. })
        ));
        let with_password = url("https://u:pw-secret@example.org/p");
        match rules.check(&[with_password], &url("https://evil.example/")) {
            Err(refusal) => assert!(!refusal.to_string().contains("pw-secret"), "{refusal}"),
            Ok(()) => panic!("cross-site redirect followed"),
        }
        let allowing = RedirectRules {
            allow_private: true,
            allow_cross: true,
            ..rules
        };
        assert!(allowing.check(&from, &url("https://10.0.0.1/")).is_ok());
        assert!(matches!(
            allowing.check(
                &vec![url("https://example.org/"); 6],
                &url("https://example.org/")
            ),
            Err(RedirectRefusal::TooMany(5))
        ));
    }

    #[tokio::test]
    async fn private_literal_is_refused_without_a_request_by_default() {
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        let report = fetcher
            .fetch(
                &url("http://u:hunter22@169.254.169.254/latest/meta-data/"),
                &Conditional::default(),
            )
            .await;
        assert_eq!(report.attempts, 0);
        let error = report.result.unwrap_err();
        assert_eq!(error.class().as_str(), "private_address");
        let text = error.to_string();
        assert!(
            text.contains("link-local") && text.contains("allow_private_addresses"),
            "{text}"
        );
        assert!(!text.contains("hunter22"), "{text}");
        assert_eq!(
            report.url.as_str(),
            "http://***@169.254.169.254/latest/meta-data/"
        );
    }

    #[test]
    fn zero_concurrency_is_rejected() {
        let settings = FetchSettings {
            max_concurrent: 0,
            ..FetchSettings::default()
        };
        assert!(matches!(
            Fetcher::new(settings),
            Err(FetchError::Client { .. })
        ));
    }

    #[tokio::test]
    async fn invalid_url_is_reported_without_a_request() {
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        let report = fetcher
            .fetch(&url("mailto:privacy@example.org"), &Conditional::default())
            .await;
        assert_eq!(report.attempts, 0);
        assert!(matches!(report.result, Err(FetchError::InvalidUrl { .. })));
    }
}
