//! `clausewatch login` and `clausewatch doctor` against a real Mastodon-API
//! server process (mastodon_mock), including megalodon's detection and OAuth
//! calls.

mod common;

use std::path::Path;
use std::time::Duration;

use clausewatch::config::Config;
use clausewatch::fediverse::client::Client;
use clausewatch::fediverse::setup::{doctor, login};
use clausewatch::fediverse::token;
use common::mastodon::{MockServer, BOT_TOKEN};
use serde_json::json;
use url::Url;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `login` with `code` as the typed input; returns the result and what
/// it printed.
fn run_login(
    rt: &tokio::runtime::Runtime,
    instance: &Url,
    path: &Path,
    force: bool,
    code: &str,
) -> (anyhow::Result<()>, String) {
    let mut input = std::io::Cursor::new(code.as_bytes().to_vec());
    let mut out = Vec::new();
    let result = rt.block_on(login(instance, path, force, &mut input, &mut out));
    (result, String::from_utf8(out).unwrap())
}

fn run_doctor(rt: &tokio::runtime::Runtime, config_text: &str, dir: &Path) -> (bool, String) {
    let path = dir.join("bot.toml");
    std::fs::write(&path, config_text).unwrap();
    let config = Config::load(&path).expect("config loads");
    let mut out = Vec::new();
    let healthy = rt.block_on(doctor(&config, &mut out)).expect("doctor runs");
    (healthy, String::from_utf8(out).unwrap())
}

#[cfg(unix)]
#[test]
fn login_writes_a_private_working_token_and_never_prints_it() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start();
    let instance = Url::parse(&server.base_url()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clausewatch.token");
    let rt = runtime();

    let (result, out) = run_login(&rt, &instance, &path, false, "mockcode_clausewatch\n");
    result.unwrap_or_else(|e| panic!("login failed: {e:#}\n{out}"));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let saved = token::read_file(&path).unwrap();
    assert!(!out.contains(saved.expose()), "token printed:\n{out}");
    assert!(out.contains("Server software: mastodon"), "{out}");
    let authorize = format!("{}/oauth/authorize?", server.base_url());
    assert!(out.contains(&authorize), "no authorize URL in:\n{out}");
    // Mastodon is detected, so the granular scopes are requested.
    assert!(
        out.contains("write%3Astatuses") || out.contains("write:statuses"),
        "{out}"
    );
    assert!(
        out.contains("[fediverse]")
            && out.contains(&format!("instance = \"{}\"", server.base_url())),
        "{out}"
    );
    assert!(out.contains("token_file = "), "{out}");

    let client = Client::new(&instance, saved.clone(), Duration::from_secs(10)).unwrap();
    let account = rt.block_on(client.verify_credentials()).unwrap();
    assert_eq!(account.username, "clausewatch");
    assert!(out.contains("@clausewatch"), "{out}");

    // A second login must not silently replace a working token.
    let (result, out2) = run_login(&rt, &instance, &path, false, "mockcode_alice\n");
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert!(
        !out2.contains("authorize"),
        "asked for a code before refusing:\n{out2}"
    );
    assert_eq!(token::read_file(&path).unwrap().expose(), saved.expose());

    // With force it is replaced, by a token for the account that authorized.
    let (result, _) = run_login(&rt, &instance, &path, true, "mockcode_alice\n");
    result.unwrap();
    let replaced = token::read_file(&path).unwrap();
    assert_ne!(replaced.expose(), saved.expose());
    let client = Client::new(&instance, replaced, Duration::from_secs(10)).unwrap();
    assert_eq!(
        rt.block_on(client.verify_credentials()).unwrap().username,
        "alice"
    );
}

#[test]
fn login_with_a_wrong_code_fails_and_writes_nothing() {
    let server = MockServer::start();
    let instance = Url::parse(&server.base_url()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    let rt = runtime();

    let (result, _) = run_login(&rt, &instance, &path, false, "not-a-code\n");
    let err = format!("{:#}", result.unwrap_err());
    assert!(err.contains("token exchange"), "{err}");
    assert!(!path.exists());

    let (result, _) = run_login(&rt, &instance, &path, false, "\n");
    assert!(result
        .unwrap_err()
        .to_string()
        .contains("no authorization code"));
    assert!(!path.exists());
}

#[test]
fn doctor_checks_account_token_and_limits() {
    let server = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let token_path = dir.path().join("bot.token");
    token::write_file(&token_path, &token::Token::new(BOT_TOKEN)).unwrap();
    let config = format!(
        "[fediverse]\ninstance = \"{}\"\ntoken_file = \"bot.token\"\nrequest_timeout = \"10s\"\n",
        server.base_url()
    );

    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(healthy, "{out}");
    assert!(!out.contains("problem:"), "{out}");
    assert!(out.contains("ok: server software: mastodon"), "{out}");
    assert!(
        out.contains("ok: the token works: logged in as @clausewatch"),
        "{out}"
    );
    assert!(out.contains("ok: the account is marked as a bot"), "{out}");
    assert!(out.contains("ok: character limit 500 per post"), "{out}");
    assert!(!out.contains(BOT_TOKEN), "{out}");
    // mastodon_mock's seeded tokens belong to no app and it has no
    // /oauth/token/info: the scopes are unknown, and doctor says so rather
    // than claiming the token may post.
    assert!(
        out.contains("warning: the instance does not say which scopes the token has"),
        "{out}"
    );
    assert!(!out.contains("the token may post"), "{out}");

    // A revoked or mistyped token is named as the problem, with the fix.
    token::write_file(&token_path, &token::Token::new("wrong_token_42")).unwrap();
    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(!healthy, "{out}");
    let problem = out
        .lines()
        .find(|l| l.starts_with("problem:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        problem.contains("rejects the access token") && problem.contains("clausewatch login"),
        "{problem}"
    );
    assert!(!out.contains("wrong_token_42"), "{out}");

    // A config limit above the server's is a problem too.
    token::write_file(&token_path, &token::Token::new(BOT_TOKEN)).unwrap();
    let (healthy, out) = run_doctor(&rt, &format!("{config}max_chars = 600\n"), dir.path());
    assert!(!healthy, "{out}");
    assert!(out.contains("problem: max_chars = 600"), "{out}");
}

#[test]
fn doctor_names_an_unreachable_instance_and_a_missing_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!("[fediverse]\ninstance = \"http://127.0.0.1:{port}\"\ntoken_file = \"absent.token\"\nrequest_timeout = \"5s\"\n");
    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(!healthy, "{out}");
    assert!(
        out.contains(&format!(
            "problem: cannot reach http://127.0.0.1:{port}: the connection to 127.0.0.1 port {port} was refused"
        )),
        "{out}"
    );
    assert!(out.contains("absent.token"), "{out}");
}

/// The problem line doctor prints for an instance at `instance`.
fn unreachable_problem(rt: &tokio::runtime::Runtime, instance: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[fediverse]\ninstance = \"{instance}\"\ntoken_file = \"absent.token\"\nrequest_timeout = \"1s\"\n"
    );
    let (healthy, out) = run_doctor(rt, &config, dir.path());
    assert!(!healthy, "{out}");
    out.lines()
        .find(|l| l.starts_with("problem: cannot reach"))
        .unwrap_or_else(|| panic!("no reachability problem in:\n{out}"))
        .to_string()
}

#[test]
fn doctor_says_why_the_instance_cannot_be_reached() {
    let rt = runtime();
    // A server that accepts connections and never answers: a timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let problem = unreachable_problem(&rt, &silent_url);
    assert!(
        problem.contains(&format!(
            "cannot reach {silent_url}: no answer within 1 s (timeout)"
        )) && problem.contains("request_timeout"),
        "{problem}"
    );

    // https to a server that answers in plain HTTP at once: a TLS failure.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tls_url = format!("https://{}", plain.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::Write;
        for stream in plain.incoming() {
            let Ok(mut stream) = stream else { break };
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let problem = unreachable_problem(&rt, &tls_url);
    assert!(
        problem.contains(&format!(
            "cannot reach {tls_url}: the TLS (https) connection failed"
        )) && problem.contains("certificate"),
        "{problem}"
    );
    drop(silent);
}

/// Registers an app with `scopes` on the mock and exchanges a code for
/// `username`'s token, as `clausewatch login` does through the browser.
fn token_with_scopes(server: &MockServer, scopes: &str, username: &str) -> String {
    let (status, app) = server
        .request(
            "POST",
            "/api/v1/apps",
            None,
            Some(json!({"client_name": "clausewatch", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes})),
        )
        .unwrap();
    assert_eq!(status, 200, "{app}");
    let (status, granted) = server
        .request(
            "POST",
            "/oauth/token",
            None,
            Some(json!({
                "grant_type": "authorization_code",
                "code": format!("mockcode_{username}"),
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            })),
        )
        .unwrap();
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["scope"], scopes, "{granted}");
    granted["access_token"].as_str().unwrap().to_string()
}

#[test]
fn doctor_reports_a_read_only_token_before_the_first_post_fails() {
    // With scope enforcement on, the mock refuses what a real Mastodon refuses.
    let server = MockServer::start_with("[auth]\nenforce_scopes = true\n");
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let token_path = dir.path().join("bot.token");
    let config = format!(
        "[fediverse]\ninstance = \"{}\"\ntoken_file = \"bot.token\"\nrequest_timeout = \"10s\"\n",
        server.base_url()
    );

    let read_only = token_with_scopes(&server, "read", "clausewatch");
    // The server agrees: this token cannot post.
    let (status, _) = server
        .request(
            "POST",
            "/api/v1/statuses",
            Some(&read_only),
            Some(json!({"status": "probe"})),
        )
        .unwrap();
    assert_eq!(status, 403);
    token::write_file(&token_path, &token::Token::new(read_only.clone())).unwrap();
    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(!healthy, "{out}");
    assert!(
        out.contains("ok: the token works: logged in as @clausewatch"),
        "{out}"
    );
    let problem = out
        .lines()
        .find(|l| l.starts_with("problem:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        problem.contains("the token cannot post")
            && problem.contains("\"read\"")
            && problem.contains("clausewatch login")
            && problem.contains("write:statuses"),
        "{problem}"
    );
    assert!(!out.contains(&read_only), "{out}");

    // The coarse scopes login asks for on other servers: doctor says the
    // token may post, and it can.
    let working = token_with_scopes(&server, "read write", "clausewatch");
    token::write_file(&token_path, &token::Token::new(working.clone())).unwrap();
    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(healthy, "{out}");
    assert!(
        out.contains("ok: the token may post: the scopes its app was registered with")
            && out.contains("\"read write\""),
        "{out}"
    );
    let (status, posted) = server
        .request(
            "POST",
            "/api/v1/statuses",
            Some(&working),
            Some(json!({"status": "probe"})),
        )
        .unwrap();
    assert_eq!(status, 200, "{posted}");
}

#[test]
fn doctor_reads_granular_scopes() {
    // mastodon_mock's scope enforcement is coarse (a GET needs `read` itself,
    // `read:accounts` is refused), so granular tokens are checked on a
    // server that does not enforce scopes: what is tested is doctor's
    // reading of them.
    let server = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let token_path = dir.path().join("bot.token");
    let config = format!(
        "[fediverse]\ninstance = \"{}\"\ntoken_file = \"bot.token\"\nrequest_timeout = \"10s\"\n",
        server.base_url()
    );

    // The scopes login asks Mastodon for.
    let granular = "read:accounts read:notifications read:statuses write:statuses write:media";
    let working = token_with_scopes(&server, granular, "clausewatch");
    token::write_file(&token_path, &token::Token::new(working)).unwrap();
    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(healthy, "{out}");
    assert!(
        out.contains("ok: the token may post") && out.contains(granular),
        "{out}"
    );
    assert!(!out.contains("warning: the token cannot"), "{out}");

    // Posting without reading mentions is a problem while answer_mentions is on.
    let media_only = token_with_scopes(&server, "read write:media", "clausewatch");
    token::write_file(&token_path, &token::Token::new(media_only)).unwrap();
    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(!healthy, "{out}");
    assert!(out.contains("problem: the token cannot post"), "{out}");

    let post_only = token_with_scopes(&server, "read:accounts write:statuses", "clausewatch");
    token::write_file(&token_path, &token::Token::new(post_only)).unwrap();
    let (healthy, out) = run_doctor(&rt, &config, dir.path());
    assert!(!healthy, "{out}");
    assert!(
        out.contains("problem: the token cannot read mentions"),
        "{out}"
    );
    let (healthy, out) = run_doctor(
        &rt,
        &format!("{config}answer_mentions = false\n"),
        dir.path(),
    );
    assert!(healthy, "{out}");
    assert!(
        out.contains("warning: the token cannot read the account's statuses"),
        "{out}"
    );
}

#[test]
fn doctor_without_fediverse_explains_preview_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (healthy, out) = run_doctor(&runtime(), "", dir.path());
    assert!(healthy, "{out}");
    assert!(out.contains("preview mode"), "{out}");
    assert!(out.contains("clausewatch login --instance"), "{out}");
    assert!(!out.contains("problem:"), "{out}");
}
