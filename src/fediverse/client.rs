//! The calls whose failure would lose or duplicate posts, made directly with
//! reqwest: posting statuses (with an `Idempotency-Key`), reading back the
//! account's statuses, reading mentions, reading the instance's limits.
//!
//! Every call has a timeout. Responses are decoded leniently, as
//! `serde_json::Value`, picking the fields we need, so that a field or a
//! notification type this code has never seen cannot stop the bot (see
//! ARCHITECTURE.md on why megalodon is not used here).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde_json::Value;
use url::Url;

use super::token::Token;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 429: try again at `reset` (from X-RateLimit-Reset or Retry-After).
    #[error("{url}: rate limited (HTTP 429) until {reset:?}")]
    RateLimited {
        url: String,
        reset: Option<DateTime<Utc>>,
    },
    /// 5xx: the server may or may not have acted.
    #[error("{url}: server error HTTP {status}: {message}")]
    Server {
        url: String,
        status: u16,
        message: String,
    },
    /// 401/403: the token is missing, revoked or lacks a scope. Nothing was
    /// posted; posting waits until the token works again.
    #[error("{url}: the access token was refused (HTTP {status}): {message}")]
    Unauthorized {
        url: String,
        status: u16,
        message: String,
    },
    /// Other 4xx: the server refused; retrying will not help.
    #[error("{url}: refused with HTTP {status}: {message}")]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: timed out")]
    Timeout { url: String },
    #[error("{url}: {message}")]
    Network { url: String, message: String },
    #[error("{url}: unexpected response: {message}")]
    Decode { url: String, message: String },
}

impl ApiError {
    /// True when the request may have reached the server and been acted on.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ApiError::Server { .. }
                | ApiError::Timeout { .. }
                | ApiError::Network { .. }
                | ApiError::Decode { .. }
        )
    }
}

/// The bot's own account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub bot: bool,
    pub url: Option<String>,
}

/// What the instance says about itself.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    pub max_chars: usize,
    pub chars_per_url: usize,
    pub version: Option<String>,
    /// The instance's own domain (`domain` in v2, `uri` in v1): what local
    /// accounts are known as elsewhere, which may differ from the API
    /// URL's host and may carry a port.
    pub domain: Option<String>,
    /// Where the limit came from: "v2", "v1" or "default".
    pub source: &'static str,
}

/// A status as far as the bot cares.
#[derive(Debug, Clone)]
pub struct Status {
    pub id: String,
    pub url: Option<String>,
    pub in_reply_to_id: Option<String>,
    pub content: String,
    pub created_at: Option<DateTime<Utc>>,
    pub visibility: String,
    pub account_id: String,
    pub account_acct: String,
    pub account_bot: bool,
    /// Ids of the accounts the status mentions.
    pub mention_ids: Vec<String>,
}

/// A post to send.
pub struct NewStatus<'a> {
    pub text: &'a str,
    pub spoiler: Option<&'a str>,
    pub visibility: &'a str,
    pub language: Option<&'a str>,
    pub in_reply_to: Option<&'a str>,
    pub idempotency_key: &'a str,
}

/// A mention notification.
#[derive(Debug, Clone)]
pub struct Mention {
    pub notification_id: String,
    pub status: Status,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// Shared by all clones, so that a token re-read after a 401 (the
    /// operator replaced the token file) reaches every task.
    token: std::sync::Arc<std::sync::RwLock<Token>>,
}

fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v?.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn status_from(v: &Value) -> Option<Status> {
    let account = v.get("account")?;
    Some(Status {
        id: s(v, "id")?,
        url: s(v, "url"),
        in_reply_to_id: s(v, "in_reply_to_id"),
        content: s(v, "content").unwrap_or_default(),
        created_at: parse_time(v.get("created_at")),
        visibility: s(v, "visibility").unwrap_or_else(|| "public".into()),
        account_id: s(account, "id")?,
        account_acct: s(account, "acct").unwrap_or_default(),
        account_bot: account.get("bot").and_then(Value::as_bool).unwrap_or(false),
        mention_ids: v
            .get("mentions")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(|x| s(x, "id")).collect())
            .unwrap_or_default(),
    })
}

/// When a 429 ends: `X-RateLimit-Reset` (ISO 8601 on Mastodon; some servers
/// send epoch seconds), else `Retry-After` (seconds or an HTTP date).
pub fn rate_limit_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(r) = get("x-ratelimit-reset") {
        if let Ok(t) = DateTime::parse_from_rfc3339(r) {
            return Some(t.with_timezone(&Utc));
        }
        if let Ok(epoch) = r.parse::<i64>() {
            return DateTime::from_timestamp(epoch, 0);
        }
    }
    get("retry-after").and_then(|r| crate::retry::retry_after(r, now))
}

/// A failed exchange, without reqwest's URL (ours is in `url`) and never
/// with headers.
fn transport_error(e: reqwest::Error, url: &str) -> ApiError {
    if e.is_timeout() {
        ApiError::Timeout {
            url: url.to_string(),
        }
    } else {
        ApiError::Network {
            url: url.to_string(),
            message: e.without_url().to_string(),
        }
    }
}

impl Client {
    pub fn new(instance: &Url, token: Token, timeout: Duration) -> Result<Client, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(crate::config::DEFAULT_USER_AGENT)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            // Redirects on API calls would carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Network {
                url: instance.to_string(),
                message: e.to_string(),
            })?;
        Ok(Client {
            http,
            base: instance.clone(),
            token: std::sync::Arc::new(std::sync::RwLock::new(token)),
        })
    }

    /// Uses `token` from now on, in every clone. Returns whether it differs
    /// from the one in use.
    pub fn replace_token(&self, token: Token) -> bool {
        let mut current = self.token.write().unwrap_or_else(|p| p.into_inner());
        let changed = current.expose() != token.expose();
        *current = token;
        changed
    }

    pub fn instance_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<(HeaderMap, Value), ApiError> {
        let resp = req
            .header(AUTHORIZATION, {
                let token = self.token.read().unwrap_or_else(|p| p.into_inner());
                format!("Bearer {}", token.expose())
            })
            .send()
            .await
            .map_err(|e| transport_error(e, url))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.map_err(|e| transport_error(e, url))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = || {
            body.get("error")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| text.chars().take(200).collect())
        };
        match status {
            200..=299 => Ok((headers, body)),
            429 => Err(ApiError::RateLimited {
                url: url.to_string(),
                reset: rate_limit_reset(&headers, Utc::now()),
            }),
            401 | 403 => Err(ApiError::Unauthorized {
                url: url.to_string(),
                status,
                message: message(),
            }),
            500..=599 => Err(ApiError::Server {
                url: url.to_string(),
                status,
                message: message(),
            }),
            _ => Err(ApiError::Refused {
                url: url.to_string(),
                status,
                message: message(),
            }),
        }
    }

    /// The account behind the token.
    pub async fn verify_credentials(&self) -> Result<Account, ApiError> {
        let url = self.url("/api/v1/accounts/verify_credentials");
        let (_, v) = self.send(self.http.get(&url), &url).await?;
        Ok(Account {
            id: s(&v, "id").ok_or_else(|| ApiError::Decode {
                url: url.clone(),
                message: "no account id".into(),
            })?,
            username: s(&v, "username").unwrap_or_default(),
            acct: s(&v, "acct").unwrap_or_default(),
            bot: v.get("bot").and_then(Value::as_bool).unwrap_or(false),
            url: s(&v, "url"),
        })
    }

    /// The character limit: `/api/v2/instance`, else `/api/v1/instance`
    /// (Akkoma/Pleroma put it in `max_toot_chars`), else 500.
    pub async fn instance(&self) -> InstanceInfo {
        for (path, source) in [("/api/v2/instance", "v2"), ("/api/v1/instance", "v1")] {
            let url = self.url(path);
            let Ok((_, v)) = self.send(self.http.get(&url), &url).await else {
                continue;
            };
            let statuses = v.pointer("/configuration/statuses");
            let max = statuses
                .and_then(|s| s.get("max_characters"))
                .or_else(|| v.get("max_toot_chars"))
                .and_then(Value::as_u64);
            if let Some(max) = max {
                let per_url = statuses
                    .and_then(|s| s.get("characters_reserved_per_url"))
                    .and_then(Value::as_u64)
                    .unwrap_or(23);
                let domain = s(&v, "domain").or_else(|| {
                    s(&v, "uri").map(|u| {
                        u.trim_start_matches("https://")
                            .trim_start_matches("http://")
                            .trim_end_matches('/')
                            .to_string()
                    })
                });
                return InstanceInfo {
                    max_chars: max as usize,
                    chars_per_url: per_url as usize,
                    version: s(&v, "version"),
                    domain: domain.filter(|d| !d.is_empty()),
                    source,
                };
            }
        }
        InstanceInfo {
            max_chars: crate::defaults::MAX_CHARS,
            chars_per_url: crate::defaults::CHARS_PER_URL,
            version: None,
            domain: None,
            source: "default",
        }
    }

    /// `POST /api/v1/statuses` with an Idempotency-Key.
    pub async fn post_status(&self, post: &NewStatus<'_>) -> Result<Status, ApiError> {
        let url = self.url("/api/v1/statuses");
        let mut body = serde_json::json!({ "status": post.text, "visibility": post.visibility });
        if let Some(sp) = post.spoiler {
            body["spoiler_text"] = sp.into();
        }
        if let Some(l) = post.language {
            body["language"] = l.into();
        }
        if let Some(r) = post.in_reply_to {
            body["in_reply_to_id"] = r.into();
        }
        let req = self
            .http
            .post(&url)
            .header("Idempotency-Key", post.idempotency_key)
            .json(&body);
        let (_, v) = self.send(req, &url).await?;
        status_from(&v).ok_or_else(|| ApiError::Decode {
            url,
            message: "the response is not a status".into(),
        })
    }

    /// The account's most recent statuses, newest first (at most 40).
    pub async fn account_statuses(
        &self,
        account_id: &str,
        limit: u32,
    ) -> Result<Vec<Status>, ApiError> {
        let url = self.url(&format!(
            "/api/v1/accounts/{account_id}/statuses?limit={}",
            limit.min(40)
        ));
        let (_, v) = self.send(self.http.get(&url), &url).await?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(status_from).collect())
            .unwrap_or_default())
    }

    /// Mention notifications newer than `since_id`, oldest first. Entries
    /// that do not decode (unknown types, missing statuses) are skipped.
    pub async fn mentions_since(&self, since_id: Option<&str>) -> Result<Vec<Mention>, ApiError> {
        let mut out: Vec<Mention> = Vec::new();
        // `min_id` pages forward from the cursor, oldest page first; follow
        // until a short page. The Link header is not followed because some
        // servers drop the `types[]` filter from it.
        let mut cursor = since_id.map(String::from);
        for _ in 0..20 {
            let mut url = self.url("/api/v1/notifications?types[]=mention&limit=40");
            if let Some(c) = &cursor {
                url.push_str(&format!("&min_id={c}"));
            }
            let (_, v) = self.send(self.http.get(&url), &url).await?;
            let page = v.as_array().cloned().unwrap_or_default();
            let (mentions, newest) = mentions_in_page(&page);
            out.extend(mentions);
            if page.len() < 40 || newest.is_none() {
                break;
            }
            cursor = newest;
        }
        Ok(out)
    }
}

/// The mentions of one notification page, oldest first whatever the id
/// scheme (Mastodon's numeric snowflakes, GoToSocial's ULIDs), and the
/// newest notification id of the page (of any type) for the cursor. Entries
/// that do not decode are skipped.
fn mentions_in_page(page: &[Value]) -> (Vec<Mention>, Option<String>) {
    let mut mentions: Vec<Mention> = Vec::new();
    let mut newest: Option<String> = None;
    for n in page {
        let Some(id) = s(n, "id") else { continue };
        if newest.as_ref().is_none_or(|m| id_gt(&id, m)) {
            newest = Some(id.clone());
        }
        if n.get("type").and_then(Value::as_str) != Some("mention") {
            continue;
        }
        if let Some(status) = n.get("status").and_then(status_from) {
            mentions.push(Mention {
                notification_id: id,
                status,
            });
        }
    }
    mentions.sort_by(|a, b| compare_ids(&a.notification_id, &b.notification_id));
    (mentions, newest)
}

/// Orders two ids as the server made them: numeric ids (Mastodon's
/// snowflakes) by value, others (GoToSocial's ULIDs, which sort by time as
/// text) by length then text.
pub fn compare_ids(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u128>(), b.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => (a.len(), a).cmp(&(b.len(), b)),
    }
}

/// Whether id `a` is newer than id `b` (see [`compare_ids`]).
pub fn id_gt(a: &str, b: &str) -> bool {
    compare_ids(a, b) == std::cmp::Ordering::Greater
}

pub use crate::html_text::html_to_text as plain_text;

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn rate_limit_reset_formats() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("2026-01-01T00:05:00.000Z"),
        );
        assert_eq!(
            rate_limit_reset(&h, now).unwrap().to_rfc3339(),
            "2026-01-01T00:05:00+00:00"
        );
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1767225900"));
        assert_eq!(
            rate_limit_reset(&h, now).unwrap().to_rfc3339(),
            "2026-01-01T00:05:00+00:00"
        );
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("30"));
        assert_eq!(
            rate_limit_reset(&h, now).unwrap().to_rfc3339(),
            "2026-01-01T00:00:30+00:00"
        );
        assert_eq!(rate_limit_reset(&HeaderMap::new(), now), None);
    }

    #[test]
    fn plain_text_is_the_shared_html_to_text() {
        assert_eq!(
            plain_text(
                "<p>1/3 X changed <a href=\"https://x.com\">x.com</a> &amp; more<br />next</p>"
            ),
            "1/3 X changed x.com & more\nnext"
        );
    }

    #[test]
    fn mentions_come_oldest_first_with_numeric_and_ulid_ids() {
        let note = |id: &str| {
            serde_json::json!({"id": id, "type": "mention", "status": {"id": format!("s{id}"),
                "content": "<p>hi</p>", "account": {"id": "7", "acct": "alice"}}})
        };
        // Servers list notifications newest first.
        let ulids = [
            "01HZZZB0000000000000000003",
            "01HZZZA0000000000000000002",
            "01HZZZ90000000000000000001",
        ];
        let page: Vec<Value> = ulids.iter().map(|id| note(id)).collect();
        let (mentions, newest) = mentions_in_page(&page);
        let ids: Vec<&str> = mentions
            .iter()
            .map(|m| m.notification_id.as_str())
            .collect();
        assert_eq!(ids, [ulids[2], ulids[1], ulids[0]]);
        assert_eq!(newest.as_deref(), Some(ulids[0]));
        let page: Vec<Value> = ["110", "99", "100"].iter().map(|id| note(id)).collect();
        let (mentions, newest) = mentions_in_page(&page);
        let ids: Vec<&str> = mentions
            .iter()
            .map(|m| m.notification_id.as_str())
            .collect();
        assert_eq!(ids, ["99", "100", "110"]);
        assert_eq!(newest.as_deref(), Some("110"));
    }

    #[test]
    fn lenient_status_decoding() {
        let v = serde_json::json!({"id": 12, "content": "<p>hi</p>", "account": {"id": "5", "acct": "a", "bot": true},
            "mentions": [{"id": "7"}, {"nope": 1}], "unknown_field": {"x": [1]}});
        let st = status_from(&v).unwrap();
        assert_eq!(
            (st.id.as_str(), st.account_id.as_str(), st.account_bot),
            ("12", "5", true)
        );
        assert_eq!(st.mention_ids, vec!["7"]);
        assert!(
            status_from(&serde_json::json!({"id": "1"})).is_none(),
            "no account: skipped, not an error"
        );
    }

    #[test]
    fn ids_compare_numerically() {
        assert!(id_gt("110", "99"));
        assert!(!id_gt("99", "110"));
    }
}
