//! A real Mastodon-API server process for tests: `mastodon_mock` from PyPI
//! (a stateful FastAPI + SQLite implementation of the Mastodon REST API).
//!
//! The executable is taken from `$MASTODON_MOCK` (set by `.ci/run`), else
//! from `PATH`, else installed once into `target/mastodon-mock-venv` with
//! pip, so that `cargo test` alone works on a fresh machine with Python 3.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const VERSION: &str = "0.6.1";
pub const BOT_TOKEN: &str = "cw_bot_token_0123456789";
pub const ALICE_TOKEN: &str = "alice_token_0123456789";
pub const ROBOT_TOKEN: &str = "robot_token_0123456789";
pub const BOB_TOKEN: &str = "bob_token_0123456789";

/// Finds or installs the `mastodon_mock` executable (once per test binary).
fn executable() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        if let Some(p) = std::env::var_os("MASTODON_MOCK") {
            return PathBuf::from(p);
        }
        if let Ok(out) = Command::new("sh")
            .args(["-c", "command -v mastodon_mock"])
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !p.is_empty() {
                return PathBuf::from(p);
            }
        }
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mastodon-mock-venv");
        let exe = venv.join("bin/mastodon_mock");
        if !exe.exists() {
            let ok = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .map(|s| s.success());
            assert_eq!(
                ok.ok(),
                Some(true),
                "python3 -m venv failed: install Python 3 with venv and pip"
            );
            let ok = Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", &format!("mastodon_mock=={VERSION}")])
                .status()
                .map(|s| s.success());
            assert_eq!(
                ok.ok(),
                Some(true),
                "pip install mastodon_mock=={VERSION} failed"
            );
        }
        exe
    })
    .clone()
}

/// A running mastodon_mock with four seeded accounts: the bot
/// (`clausewatch`, bot flag), two people (`alice`, `bob`) and another bot
/// (`robot`).
pub struct MockServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl MockServer {
    pub fn start() -> MockServer {
        Self::start_with("")
    }

    /// Starts with extra TOML appended to the config (e.g. `[ratelimit]`).
    pub fn start_with(extra: &str) -> MockServer {
        Self::start_as(Some("fedi.test"), extra)
    }

    /// Starts a server whose own domain is its address, port included
    /// (`127.0.0.1:PORT`), as a self-hosted instance without a name has.
    pub fn start_with_port_domain() -> MockServer {
        Self::start_as(None, "")
    }

    fn start_as(domain: Option<&str>, extra: &str) -> MockServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let domain = domain.map_or_else(|| format!("127.0.0.1:{port}"), String::from);
        let config = format!(
            r#"domain = "{domain}"
url_scheme = "http"
media_storage_path = "{media}"
[database]
path = "{db}"
[[seed.accounts]]
username = "clausewatch"
display_name = "clausewatch"
bot = true
access_token = "{BOT_TOKEN}"
[[seed.accounts]]
username = "alice"
display_name = "Alice"
access_token = "{ALICE_TOKEN}"
[[seed.accounts]]
username = "robot"
display_name = "Another bot"
bot = true
access_token = "{ROBOT_TOKEN}"
[[seed.accounts]]
username = "bob"
display_name = "Bob"
access_token = "{BOB_TOKEN}"
{extra}
"#,
            media = dir.path().join("media").display(),
            db = dir.path().join("mock.sqlite").display(),
        );
        let cfg = dir.path().join("mock.toml");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.path().join("mock.log")).unwrap();
        let child = Command::new(executable())
            .args(["serve", "--config"])
            .arg(&cfg)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--log-level",
                "warning",
            ])
            .env("TMPDIR", dir.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mastodon_mock");
        let server = MockServer {
            child,
            port,
            _dir: dir,
        };
        let start = Instant::now();
        loop {
            if let Ok(r) = server.request("GET", "/health", None, None) {
                if r.0 == 200 {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "mastodon_mock did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP request; returns (status, JSON body or Null).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.base_url());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut req = client.request(method.parse().unwrap(), &url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
        })
    }

    pub fn get(&self, path: &str, token: &str) -> Value {
        let (status, v) = self.request("GET", path, Some(token), None).expect("GET");
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, v) = self
            .request("POST", path, Some(token), Some(body))
            .expect("POST");
        assert_eq!(status, 200, "POST {path}: {v}");
        v
    }

    pub fn account_id(&self, token: &str) -> String {
        self.get("/api/v1/accounts/verify_credentials", token)["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every status of the account behind `token`, oldest first.
    pub fn statuses(&self, token: &str) -> Vec<Value> {
        let id = self.account_id(token);
        let mut all = Vec::new();
        let mut max_id: Option<String> = None;
        loop {
            let path = match &max_id {
                Some(m) => format!("/api/v1/accounts/{id}/statuses?limit=40&max_id={m}"),
                None => format!("/api/v1/accounts/{id}/statuses?limit=40"),
            };
            let page = self.get(&path, token);
            let page = page.as_array().unwrap().clone();
            if page.is_empty() {
                break;
            }
            max_id = page.last().and_then(|s| s["id"].as_str()).map(String::from);
            all.extend(page);
        }
        all.reverse();
        all
    }

    /// Adds a fault rule (see mastodon_mock's `/api/v1/_mock/faults`).
    pub fn fault(&self, rule: Value) {
        let (status, v) = self
            .request("POST", "/api/v1/_mock/faults", None, Some(rule))
            .unwrap();
        assert!(status == 200 || status == 201, "fault rule refused: {v}");
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
