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
//!   routinely redirect between the two and a watcher should not break on that; ports and
//!   schemes may change (http → https). Anything else is refused: a policy URL that
//!   suddenly lands on another domain is exactly what a human should look at;
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

// A fetch error carries the URLs it is about (a refused redirect names
// both); it is returned once per fetch, never in a loop, so its size costs
// nothing worth boxing for.
#![allow(clippy::result_large_err)]

mod charset;
mod limit;
mod retry;

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tracing::debug;
use url::Url;

pub use charset::decode;

use crate::defaults as D;
use crate::domain::FailureClass;
use crate::retry::Backoff;
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
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub text: String,
    /// WHATWG name of the encoding used to produce `text`.
    pub encoding: &'static str,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The response headers the classifier reads (challenge markers such as
    /// `cf-mitigated`); cookies and the like are not kept.
    pub headers: Vec<(String, String)>,
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
    #[error("HTTP client error: {message}")]
    Client { message: String },
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
            FetchError::Client { .. } => FailureClass::Client,
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
}

/// Raised inside the redirect policy; recovered from the reqwest error's source chain.
#[derive(thiserror::Error, Debug)]
enum RedirectRefusal {
    #[error("more than {0} redirects")]
    TooMany(usize),
    #[error("redirect from {from} to another site {to}")]
    CrossSite { from: Url, to: Url },
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
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds the original URL plus every URL already redirected to.
            if attempt.previous().len() > max_redirects {
                return attempt.error(RedirectRefusal::TooMany(max_redirects));
            }
            match attempt.previous().last() {
                Some(from) if !allow_cross && !same_site(from, attempt.url()) => {
                    let (from, to) = (from.clone(), attempt.url().clone());
                    attempt.error(RedirectRefusal::CrossSite { from, to })
                }
                _ => attempt.follow(),
            }
        });
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.8"),
        );
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.as_str())
            .default_headers(default_headers)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(policy)
            .build()
            .map_err(|e| FetchError::Client {
                message: error_chain(&e),
            })?;
        let limiter = Limiter::new(settings.per_host_delay, settings.max_concurrent);
        Ok(Fetcher {
            inner: Arc::new(Inner {
                client,
                settings,
                limiter,
            }),
        })
    }

    /// Fetches `url`, retrying transient failures. Never panics and never returns early
    /// without a report: every outcome, including invalid input, is in `result`.
    pub async fn fetch(&self, url: &Url, cond: &Conditional) -> FetchReport {
        let started_at = Utc::now();
        let start = Instant::now();
        let settings = &self.inner.settings;
        let backoff = Backoff {
            base: settings.backoff_base,
            max: settings.backoff_max,
        };
        let report = |attempts, status, bytes, error_body, result| FetchReport {
            url: url.clone(),
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
        let mut attempts = 0u32;
        let mut last_status = None;
        loop {
            attempts += 1;
            let attempt_start = Instant::now();
            let outcome = {
                let _permit = self.inner.limiter.acquire(host).await;
                self.attempt(url, cond).await
            };
            last_status = outcome.status.or(last_status);
            debug!(
                url = %url,
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
                    debug!(url = %url, attempt = attempts, wait_ms = wait.as_millis() as u64,
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

    async fn attempt(&self, url: &Url, cond: &Conditional) -> Attempt {
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
            Err(error) => return Attempt::failed(None, map_send_error(url, &error)),
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
                        url: url.clone(),
                        status,
                    },
                )
            };
        }
        let too_large = || FetchError::TooLarge {
            url: url.clone(),
            limit,
        };
        if response.content_length().is_some_and(|len| len > limit) {
            return Attempt::failed(Some(status), too_large());
        }
        let final_url = response.url().clone();
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

        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let error = if error.is_timeout() {
                        FetchError::Timeout { url: url.clone() }
                    } else {
                        FetchError::Body {
                            url: url.clone(),
                            message: error_chain(&error),
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
        let (text, encoding) = decode(&body, content_type.as_deref());
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
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs can be fetched"));
    }
    url.host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| invalid("URL has no host"))
}

/// Same site for redirect purposes: equal host names once a leading `www.` is ignored.
fn same_site(from: &Url, to: &Url) -> bool {
    fn site(url: &Url) -> Option<String> {
        let host = url.host_str()?.to_ascii_lowercase();
        Some(
            host.strip_prefix("www.")
                .map(str::to_string)
                .unwrap_or(host),
        )
    }
    matches!((site(from), site(to)), (Some(a), Some(b)) if a == b)
}

fn map_send_error(url: &Url, error: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<RedirectRefusal>() {
            return match refusal {
                RedirectRefusal::TooMany(max) => FetchError::TooManyRedirects {
                    url: url.clone(),
                    max: *max,
                },
                RedirectRefusal::CrossSite { from, to } => FetchError::CrossHostRedirect {
                    from: from.clone(),
                    to: to.clone(),
                },
            };
        }
        source = cause.source();
    }
    let url = url.clone();
    let message = error_chain(error);
    if error.is_timeout() {
        return FetchError::Timeout { url };
    }
    if error.is_builder() {
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
    fn www_and_apex_are_the_same_site() {
        assert!(same_site(
            &url("https://example.com/a"),
            &url("https://www.example.com/b")
        ));
        assert!(same_site(
            &url("http://WWW.example.com/"),
            &url("https://example.com:8443/")
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
