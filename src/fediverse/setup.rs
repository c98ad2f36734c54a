//! Getting an account ready: `clausewatch login` (OAuth app registration and
//! out-of-band code exchange) and `clausewatch doctor` (checks that the
//! configured account can post).
//!
//! megalodon is used here for server detection, app registration and token
//! exchange only (see ARCHITECTURE.md). It has no request timeouts, so every
//! megalodon call is bounded with `tokio::time::timeout`. Nothing in this
//! module ever writes the token to `out`.

use std::future::Future;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use megalodon::megalodon::AppInputOptions;
use megalodon::SNS;
use url::Url;

use super::client::{ApiError, Client};
use super::token::{self, Token};
use crate::config::{Config, DEFAULT_USER_AGENT};

/// Least privilege on Mastodon: read the own account, mentions and statuses;
/// post statuses and media. No follows, no DMs beyond statuses, no admin.
const GRANULAR_SCOPES: &[&str] = &[
    "read:accounts",
    "read:notifications",
    "read:statuses",
    "write:statuses",
    "write:media",
];
/// GoToSocial, Akkoma/Pleroma and others reject or ignore granular scopes.
const COARSE_SCOPES: &[&str] = &["read", "write"];
/// The code is shown to the user in the browser instead of being sent to a
/// callback, so a headless server needs no listening port.
const OOB_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";
const APP_NAME: &str = "clausewatch";
const MEGALODON_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("token file {path} already exists; pass --force to replace it")]
    TokenFileExists { path: PathBuf },
    #[error("{instance}: {step} timed out after {secs} s")]
    Timeout {
        instance: String,
        step: &'static str,
        secs: u64,
    },
    #[error("{instance}: {step} failed: {message}")]
    Megalodon {
        instance: String,
        step: &'static str,
        message: String,
    },
    #[error("no authorization code entered")]
    NoCode,
    #[error("cannot read the authorization code: {0}")]
    ReadCode(std::io::Error),
    #[error("cannot write token file {path}: {source}")]
    WriteToken {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token saved to {path}, but the instance does not accept it: {source}")]
    Verify { path: PathBuf, source: ApiError },
}

/// The base URL without a trailing slash: megalodon appends paths with
/// `format!("{base}{path}")`, so `https://x/` would become `https://x//api/…`.
fn base(instance: &Url) -> String {
    instance.as_str().trim_end_matches('/').to_string()
}

/// Runs one megalodon call with a deadline, naming the step in errors.
async fn bounded<T>(
    instance: &Url,
    step: &'static str,
    limit: Duration,
    call: impl Future<Output = Result<T, megalodon::error::Error>>,
) -> Result<T, SetupError> {
    match tokio::time::timeout(limit, call).await {
        Err(_) => Err(SetupError::Timeout {
            instance: base(instance),
            step,
            secs: limit.as_secs(),
        }),
        Ok(Err(e)) => Err(SetupError::Megalodon {
            instance: base(instance),
            step,
            message: e.to_string(),
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Which server software runs the instance (from nodeinfo).
async fn detect(instance: &Url, limit: Duration) -> Result<SNS, SetupError> {
    bounded(
        instance,
        "server detection",
        limit,
        megalodon::detector(&base(instance)),
    )
    .await
}

/// The scopes to ask for and the megalodon flavour to register with.
/// Firefish's megalodon flow is Misskey's session auth, whose token our
/// Mastodon-API client cannot use, so it (and an undetected server) goes
/// through the Mastodon-compatible endpoints.
fn plan(detected: &Result<SNS, SetupError>) -> (SNS, &'static [&'static str]) {
    match detected {
        Ok(SNS::Mastodon) => (SNS::Mastodon, GRANULAR_SCOPES),
        Ok(SNS::Firefish) | Err(_) => (SNS::Mastodon, COARSE_SCOPES),
        Ok(other) => (other.clone(), COARSE_SCOPES),
    }
}

/// `clausewatch login --instance URL [--token-file PATH]`: registers an app,
/// prints the authorization URL, reads the code from `input` (one line),
/// exchanges it for a token, writes the token file (mode 0600; an existing
/// file only with `force`), verifies the token and prints the bot.toml lines.
pub async fn login(
    instance: &Url,
    token_path: &Path,
    force: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    // Checked before the user goes through the browser, not after.
    if token_path.exists() && !force {
        return Err(SetupError::TokenFileExists {
            path: token_path.to_path_buf(),
        }
        .into());
    }
    let detected = detect(instance, MEGALODON_TIMEOUT).await;
    let (sns, scopes) = plan(&detected);
    match &detected {
        Ok(SNS::Mastodon) => writeln!(out, "Server software: mastodon")?,
        Ok(other) => writeln!(
            out,
            "Server software: {other}; it may not support Mastodon's granular scopes, so asking for \"{}\"",
            scopes.join(" ")
        )?,
        Err(e) => writeln!(
            out,
            "Server software: unknown ({e}); assuming the Mastodon API and asking for \"{}\"",
            scopes.join(" ")
        )?,
    }

    let api = megalodon::generator(
        sns,
        base(instance),
        None,
        Some(DEFAULT_USER_AGENT.to_string()),
    )
    .map_err(|e| SetupError::Megalodon {
        instance: base(instance),
        step: "client setup",
        message: e.to_string(),
    })?;
    let options = AppInputOptions {
        scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        redirect_uris: Some(OOB_REDIRECT.to_string()),
        website: None,
    };
    let app = bounded(
        instance,
        "app registration",
        MEGALODON_TIMEOUT,
        api.register_app(APP_NAME.to_string(), &options),
    )
    .await?;
    let authorize = match app.url.clone() {
        Some(u) => u,
        None => authorize_url(instance, &app.client_id, scopes),
    };
    writeln!(out, "\nOpen this address in a browser, logged in as the bot account, and authorize clausewatch:\n")?;
    writeln!(out, "  {authorize}\n")?;
    write!(out, "Then paste the authorization code here: ")?;
    out.flush()?;

    let mut line = String::new();
    input.read_line(&mut line).map_err(SetupError::ReadCode)?;
    let code = line.trim();
    if code.is_empty() {
        return Err(SetupError::NoCode.into());
    }

    let granted = bounded(
        instance,
        "token exchange",
        MEGALODON_TIMEOUT,
        api.fetch_access_token(
            app.client_id.clone(),
            app.client_secret.clone(),
            code.to_string(),
            OOB_REDIRECT.to_string(),
        ),
    )
    .await?;
    let token = Token::new(granted.access_token);
    token::write_file(token_path, &token).map_err(|source| SetupError::WriteToken {
        path: token_path.to_path_buf(),
        source,
    })?;
    writeln!(
        out,
        "\nToken saved to {} (readable only by you).",
        token_path.display()
    )?;

    let client = Client::new(instance, token, MEGALODON_TIMEOUT)?;
    let account = client
        .verify_credentials()
        .await
        .map_err(|source| SetupError::Verify {
            path: token_path.to_path_buf(),
            source,
        })?;
    writeln!(
        out,
        "Logged in as @{} ({}).",
        account.acct,
        account.url.as_deref().unwrap_or("no profile URL")
    )?;
    if !account.bot {
        writeln!(out, "Note: the account is not marked as a bot; tick \"This is an automated account\" in its profile settings.")?;
    }
    // bot.toml resolves a relative token_file against its own directory, not
    // the current one, so print an absolute path.
    let shown = std::fs::canonicalize(token_path).unwrap_or_else(|_| token_path.to_path_buf());
    writeln!(out, "\nAdd this to bot.toml:\n")?;
    writeln!(out, "[fediverse]")?;
    writeln!(out, "instance = {}", toml_string(&base(instance)))?;
    writeln!(
        out,
        "token_file = {}",
        toml_string(&shown.to_string_lossy())
    )?;
    writeln!(out, "\nThen run `clausewatch doctor --config bot.toml`.")?;
    Ok(())
}

/// Mastodon's authorize URL, for a megalodon flavour that does not build one.
fn authorize_url(instance: &Url, client_id: &str, scopes: &[&str]) -> String {
    let mut u = instance.clone();
    u.set_path("/oauth/authorize");
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", OOB_REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", &scopes.join(" "));
    u.to_string()
}

/// A TOML basic string (quotes and backslashes escaped).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Collects the doctor's verdicts; any `problem` makes the result false.
struct Report<'a> {
    out: &'a mut dyn Write,
    healthy: bool,
}

impl Report<'_> {
    fn ok(&mut self, what: impl AsRef<str>) -> std::io::Result<()> {
        writeln!(self.out, "ok: {}", what.as_ref())
    }
    /// Something worth fixing that does not stop the bot.
    fn warning(&mut self, what: impl AsRef<str>) -> std::io::Result<()> {
        writeln!(self.out, "warning: {}", what.as_ref())
    }
    fn problem(&mut self, what: impl AsRef<str>, fix: impl AsRef<str>) -> std::io::Result<()> {
        self.healthy = false;
        writeln!(
            self.out,
            "problem: {} — fix: {}",
            what.as_ref(),
            fix.as_ref()
        )
    }
}

/// `clausewatch doctor`: checks the loaded config, the instance, the server
/// software, the token, the account and the character limit, one line each.
/// Returns true when nothing stops the bot from posting.
pub async fn doctor(config: &Config, out: &mut dyn Write) -> anyhow::Result<bool> {
    let mut r = Report { out, healthy: true };
    r.ok(format!(
        "config {} is valid ({} documents)",
        config.path.display(),
        config.documents.len()
    ))?;
    let Some(fed) = &config.fediverse else {
        r.ok("no [fediverse] section: the bot runs in preview mode and writes the posts it would send to the outbox without sending them")?;
        writeln!(
            r.out,
            "To post from an account: run `clausewatch login --instance https://your.instance --token-file clausewatch.token` \
             and add the [fediverse] lines it prints to {}.",
            config.path.display()
        )?;
        return Ok(r.healthy);
    };
    let login_fix = format!(
        "run `clausewatch login --instance {} --token-file {}`",
        base(&fed.instance),
        fed.token_file.as_deref().map_or_else(
            || "clausewatch.token".to_string(),
            |p| p.display().to_string()
        )
    );

    let reachable = check_reachable(&mut r, &fed.instance, fed.request_timeout).await?;
    if reachable {
        match detect(&fed.instance, fed.request_timeout).await {
            Ok(SNS::Mastodon) => r.ok("server software: mastodon")?,
            Ok(other) => r.ok(format!(
                "server software: {other} (clausewatch speaks the Mastodon API; {other} offers a compatible one)"
            ))?,
            Err(e) => r.warning(format!("server software: unknown ({e}); assuming the Mastodon API"))?,
        }
    }

    let from = if std::env::var("CLAUSEWATCH_TOKEN").is_ok_and(|t| !t.trim().is_empty()) {
        "the CLAUSEWATCH_TOKEN environment variable".to_string()
    } else {
        fed.token_file
            .as_deref()
            .map_or_else(|| "nowhere".to_string(), |p| p.display().to_string())
    };
    let token = match token::load(fed.token_file.as_deref()) {
        Ok(t) => {
            r.ok(format!("access token read from {from}"))?;
            t
        }
        Err(e) => {
            r.problem(e.to_string(), &login_fix)?;
            return Ok(false);
        }
    };
    if !reachable {
        return Ok(false);
    }

    let client = Client::new(&fed.instance, token.clone(), fed.request_timeout)?;
    let mut token_works = false;
    match client.verify_credentials().await {
        Ok(account) => {
            token_works = true;
            r.ok(format!("the token works: logged in as @{}", account.acct))?;
            if account.bot {
                r.ok("the account is marked as a bot")?;
            } else {
                r.warning("the account is not marked as a bot; tick \"This is an automated account\" in its profile settings")?;
            }
        }
        Err(ApiError::Unauthorized { message, .. }) => {
            r.problem(
                format!("the instance rejects the access token ({message})"),
                format!("the token was revoked or is for another instance; {login_fix}"),
            )?;
        }
        Err(e) => r.problem(
            format!("cannot check the access token: {e}"),
            "check that the instance is up, then run doctor again",
        )?,
    }
    if token_works {
        check_scopes(&mut r, fed, &token, &login_fix).await?;
    }

    let info = client.instance().await;
    if info.source == "default" {
        r.warning(format!(
            "the instance does not say its character limit; assuming {}",
            info.max_chars
        ))?;
    } else {
        r.ok(format!(
            "character limit {} per post, links count as {} (from /api/{}/instance)",
            info.max_chars, info.chars_per_url, info.source
        ))?;
    }
    if let Some(configured) = fed.max_chars {
        if configured > info.max_chars {
            r.problem(
                format!(
                    "max_chars = {configured} in [fediverse] is above the instance's limit of {}",
                    info.max_chars
                ),
                format!("set max_chars to at most {} or remove it", info.max_chars),
            )?;
        }
    }
    Ok(r.healthy)
}

/// Where the scopes of a token were read, and what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scopes {
    /// The token's own scopes (Doorkeeper's `GET /oauth/token/info`).
    Token(Vec<String>),
    /// The scopes its app was registered with (`GET
    /// /api/v1/apps/verify_credentials`): a token has at most these.
    App(Vec<String>),
    /// The server reports neither.
    Unknown,
}

/// The scopes in a JSON answer: `scope` or `scopes`, an array or a
/// space-separated string (servers differ).
fn scopes_in(v: &serde_json::Value) -> Option<Vec<String>> {
    let field = v.get("scopes").or_else(|| v.get("scope"))?;
    let list: Vec<String> = match field {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str())
            .flat_map(str::split_whitespace)
            .map(str::to_string)
            .collect(),
        serde_json::Value::String(text) => text.split_whitespace().map(str::to_string).collect(),
        _ => return None,
    };
    (!list.is_empty()).then_some(list)
}

/// Whether `scopes` grant `needed` (e.g. `write:statuses`): the scope itself
/// or its parent (`write`).
fn grants(scopes: &[String], needed: &str) -> bool {
    let parent = needed.split(':').next().unwrap_or(needed);
    scopes.iter().any(|s| s == needed || s == parent)
}

/// Asks the instance which scopes the token has: the token's own first,
/// else its app's. Any failure (404, 401 for a token without an app,
/// a body without scopes) moves on: it only means the server does not say.
async fn read_scopes(instance: &Url, token: &Token, limit: Duration) -> anyhow::Result<Scopes> {
    let http = reqwest::Client::builder()
        .user_agent(DEFAULT_USER_AGENT)
        .timeout(limit)
        // Redirects would carry the token elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let get = |path: &str| {
        let request = http
            .get(format!("{}{path}", base(instance)))
            .bearer_auth(token.expose());
        async move {
            let response = request.send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let v: serde_json::Value = response.json().await.ok()?;
            scopes_in(&v)
        }
    };
    if let Some(scopes) = get("/oauth/token/info").await {
        return Ok(Scopes::Token(scopes));
    }
    if let Some(scopes) = get("/api/v1/apps/verify_credentials").await {
        return Ok(Scopes::App(scopes));
    }
    Ok(Scopes::Unknown)
}

/// Reports whether the token may post and read what the bot reads, before
/// the first post fails with 403.
async fn check_scopes(
    r: &mut Report<'_>,
    fed: &crate::config::Fediverse,
    token: &Token,
    login_fix: &str,
) -> anyhow::Result<()> {
    let scopes = read_scopes(&fed.instance, token, fed.request_timeout).await?;
    let (list, whose) = match &scopes {
        Scopes::Token(list) => (list, "the token's scopes (from /oauth/token/info)"),
        Scopes::App(list) => (
            list,
            "the scopes its app was registered with (from /api/v1/apps/verify_credentials; \
             the server does not report the token's own, which can only be narrower)",
        ),
        Scopes::Unknown => {
            r.warning(
                "the instance does not say which scopes the token has (neither /oauth/token/info \
                 nor /api/v1/apps/verify_credentials reports them): a token without \
                 write:statuses would only show when the first post fails",
            )?;
            return Ok(());
        }
    };
    let shown = list.join(" ");
    let fix = format!("{login_fix} (it asks for write:statuses)");
    if !grants(list, "write:statuses") {
        r.problem(
            format!(
                "the token cannot post: {whose} are \"{shown}\", without write or write:statuses"
            ),
            fix,
        )?;
        return Ok(());
    }
    r.ok(format!("the token may post: {whose} are \"{shown}\""))?;
    if fed.answer_mentions && !grants(list, "read:notifications") {
        r.problem(
            format!("the token cannot read mentions (\"{shown}\" has neither read nor read:notifications), and answer_mentions is on"),
            format!("{login_fix}, or set answer_mentions = false"),
        )?;
    }
    if !grants(list, "read:statuses") {
        r.warning(format!(
            "the token cannot read the account's statuses (\"{shown}\" has neither read nor read:statuses): \
             a post whose answer was lost cannot be looked for before it is sent again"
        ))?;
    }
    Ok(())
}

/// What a failed connection to the instance means, and what to do about it,
/// in words for the person running the bot: refused, DNS, TLS, timeout.
fn connect_failure(instance: &Url, error: &reqwest::Error, limit: Duration) -> (String, String) {
    let shown = base(instance);
    let host = instance.host_str().unwrap_or_default();
    let port = instance.port_or_known_default().unwrap_or(0);
    let mut chain = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        chain.push(cause.to_string());
        source = cause.source();
    }
    // The innermost cause says most; reqwest's own words ("error sending
    // request") say nothing.
    let detail = chain.last().cloned().unwrap_or_default();
    let lower = chain.join(": ").to_ascii_lowercase();
    let tls_words = [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "invalidcontenttype",
        "peer is incompatible",
        "alert",
    ];
    if error.is_timeout() {
        (
            format!("cannot reach {shown}: no answer within {} s (timeout)", limit.as_secs()),
            "check that the server is up and reachable from this machine (firewall, proxy), or raise request_timeout in [fediverse]".to_string(),
        )
    } else if refused || lower.contains("connection refused") {
        (
            format!("cannot reach {shown}: the connection to {host} port {port} was refused — nothing listens there, or a firewall rejects it"),
            "check the scheme and port of [fediverse] instance and that the server is running".to_string(),
        )
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        (
            format!("cannot reach {shown}: the name {host} cannot be resolved (DNS: {detail})"),
            "check the spelling of [fediverse] instance and this machine's DNS settings"
                .to_string(),
        )
    } else if tls_words.iter().any(|w| lower.contains(w)) {
        (
            format!("cannot reach {shown}: the TLS (https) connection failed: {detail}"),
            "the certificate may be expired, self-signed or for another name, or the server does not speak https on that port; check [fediverse] instance".to_string(),
        )
    } else {
        (
            format!("cannot reach {shown}: {}", error_text(error)),
            "check [fediverse] instance, DNS and the network".to_string(),
        )
    }
}

/// An error and its causes, without the URL reqwest puts in its message.
fn error_text(error: &reqwest::Error) -> String {
    let mut text = String::from("connection failed");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether anything answers at the instance URL with the Mastodon API.
/// Anonymous on purpose: the token is checked separately, and an instance
/// that is down should not look like a bad token.
async fn check_reachable(
    r: &mut Report<'_>,
    instance: &Url,
    limit: Duration,
) -> anyhow::Result<bool> {
    let url = format!("{}/api/v1/instance", base(instance));
    let http = reqwest::Client::builder()
        .user_agent(DEFAULT_USER_AGENT)
        .timeout(limit)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    match http.get(&url).send().await {
        Ok(resp) if resp.status().is_success() => {
            r.ok(format!("{} answers", base(instance)))?;
            Ok(true)
        }
        Ok(resp) => {
            r.problem(
                format!("{url} answered HTTP {}, not a Mastodon-API instance", resp.status().as_u16()),
                "check [fediverse] instance: it must be the server's base URL, e.g. https://mastodon.social",
            )?;
            Ok(false)
        }
        Err(e) => {
            let (what, fix) = connect_failure(instance, &e, limit);
            r.problem(what, fix)?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granular_scopes_only_for_mastodon() {
        assert_eq!(plan(&Ok(SNS::Mastodon)).1, GRANULAR_SCOPES);
        assert_eq!(plan(&Ok(SNS::Gotosocial)), (SNS::Gotosocial, COARSE_SCOPES));
        assert_eq!(plan(&Ok(SNS::Firefish)), (SNS::Mastodon, COARSE_SCOPES));
        assert_eq!(
            plan(&Err(SetupError::NoCode)),
            (SNS::Mastodon, COARSE_SCOPES)
        );
    }

    #[test]
    fn scopes_are_read_in_every_shape_servers_send() {
        let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            scopes_in(&v(r#"{"scope": ["read", "write:statuses"]}"#)),
            Some(vec!["read".to_string(), "write:statuses".to_string()])
        );
        assert_eq!(
            scopes_in(&v(r#"{"scopes": ["read write"]}"#)),
            Some(vec!["read".to_string(), "write".to_string()])
        );
        assert_eq!(
            scopes_in(&v(r#"{"scope": "read follow"}"#)),
            Some(vec!["read".to_string(), "follow".to_string()])
        );
        assert_eq!(scopes_in(&v(r#"{"name": "app"}"#)), None);
        assert_eq!(scopes_in(&v(r#"{"scopes": []}"#)), None);
    }

    #[test]
    fn a_parent_scope_grants_its_children() {
        let list = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(grants(&list("read write"), "write:statuses"));
        assert!(grants(
            &list("read:accounts write:statuses"),
            "write:statuses"
        ));
        assert!(!grants(&list("read"), "write:statuses"));
        assert!(!grants(&list("write:media read"), "write:statuses"));
        assert!(!grants(&list("read:accounts"), "read:notifications"));
        assert!(grants(&list("read"), "read:notifications"));
    }

    /// A resolver that knows no name, so that a DNS failure needs no network.
    struct NoSuchName;

    impl reqwest::dns::Resolve for NoSuchName {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                Err(Box::new(std::io::Error::other(
                    "failed to lookup address information: Name or service not known",
                ))
                    as Box<dyn std::error::Error + Send + Sync>)
            })
        }
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_reported_as_dns() {
        let instance = Url::parse("https://mastodon.invalid").unwrap();
        let error = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(NoSuchName))
            .build()
            .unwrap()
            .get("https://mastodon.invalid/api/v1/instance")
            .send()
            .await
            .unwrap_err();
        let (what, fix) = connect_failure(&instance, &error, Duration::from_secs(5));
        assert!(
            what.starts_with("cannot reach https://mastodon.invalid: the name mastodon.invalid cannot be resolved (DNS"),
            "{what}"
        );
        assert!(fix.contains("spelling") && fix.contains("DNS"), "{fix}");
    }

    #[test]
    fn base_url_has_no_trailing_slash() {
        assert_eq!(
            base(&Url::parse("https://x.example/").unwrap()),
            "https://x.example"
        );
        assert_eq!(
            base(&Url::parse("https://x.example/sub/").unwrap()),
            "https://x.example/sub"
        );
    }

    #[test]
    fn authorize_url_is_out_of_band() {
        let u = authorize_url(
            &Url::parse("https://x.example").unwrap(),
            "cid",
            COARSE_SCOPES,
        );
        assert_eq!(
            u,
            "https://x.example/oauth/authorize?client_id=cid&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&response_type=code&scope=read+write"
        );
    }
}
