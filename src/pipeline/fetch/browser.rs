//! Pages written by JavaScript, read in a headless Chromium driven over the
//! DevTools protocol (`chromiumoxide`).
//!
//! One browser process at most, whoever asks: it is started on the first
//! page that needs it and stopped once no page has needed it for
//! [`IDLE`]; pages are rendered one at a time. The browser is found in
//! `CHROMIUM`, else as `chromium` (Debian's package) or Chrome on the
//! `PATH`; without one, such documents fail with `no_browser` and every
//! other document is unaffected.
//!
//! The private-address guard is applied to the page's URL before the
//! browser sees it (IP literals and the name's resolution), as the HTTP
//! fetcher applies it, and to every request the page then makes
//! (redirects, scripts, images, `fetch`): each is paused over the DevTools
//! `Fetch` domain and failed when it goes to a private address. The one
//! exception is the plain fetch's: a loopback address the operator wrote in
//! the document's URL, for requests to that same origin. Iframes stay in
//! the page's process so that their requests are paused too. The browser
//! resolves names itself after the check, so a name that changes its
//! answer between the two (DNS rebinding) is not covered, nor are
//! WebSockets, which the `Fetch` domain does not pause.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams, EventRequestPaused, FailRequestParams, RequestPattern,
};
use chromiumoxide::cdp::browser_protocol::network::ErrorReason;
use chromiumoxide::error::CdpError;
use chromiumoxide::Page as Tab;
use futures_util::StreamExt;
use tokio::sync::Mutex;
use tracing::{debug, info};
use url::Url;

use super::address::{keep_public, literal_private};
use super::{
    private_error, redact, FetchError, FetchReport, FetchSettings, Fetched, Fetcher, Page, Trust,
};

/// How long the browser stays up with nothing to render.
pub const IDLE: Duration = Duration::from_secs(60);

/// How often the page is asked whether its selected elements have text.
const POLL: Duration = Duration::from_millis(100);

/// The name the browser's profile folders start with: `status` finds the
/// browser's processes by it.
const PROFILE_PREFIX: &str = "clausewatch-browser-";

/// The browser process, when one is running, and the time it was last
/// used (for the idle stop).
#[derive(Default)]
pub(super) struct Pool {
    running: Mutex<Option<Running>>,
    /// Bumped on every render: an idle stop that finds another number
    /// knows the browser was used since it was scheduled.
    uses: AtomicU64,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("uses", &self.uses.load(Ordering::Relaxed))
            .finish()
    }
}

struct Running {
    browser: Browser,
    events: tokio::task::JoinHandle<()>,
    profile: PathBuf,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.browser.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        self.events.abort();
    }
}

impl Drop for Running {
    /// A command that ends before the idle stop drops a running browser:
    /// it is killed and reaped here, before its profile is removed (the
    /// handle would kill it later, in the background, while the profile is
    /// being deleted under it, and warn about it).
    fn drop(&mut self) {
        if let Some(child) = self.browser.get_mut_child() {
            let child = child.as_mut_inner();
            if matches!(child.try_wait(), Ok(None)) && child.start_kill().is_ok() {
                let deadline = Instant::now() + Duration::from_secs(2);
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        self.events.abort();
        // The browser's helper processes can write into the profile for a
        // moment after the main one is gone: removing it once then found
        // the folder not empty (one run in three, on one async thread).
        let deadline = Instant::now() + Duration::from_secs(2);
        while std::fs::remove_dir_all(&self.profile).is_err()
            && self.profile.exists()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Where the browser is: `CHROMIUM`, else the first of Debian's and
/// Google's names on the `PATH`.
pub fn executable() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

async fn launch(exe: &Path, settings: &FetchSettings) -> Result<Running, String> {
    static STARTS: AtomicU64 = AtomicU64::new(0);
    let profile = std::env::temp_dir().join(format!(
        "{PROFILE_PREFIX}{}-{}",
        std::process::id(),
        STARTS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).map_err(|e| format!("{}: {e}", profile.display()))?;
    let config = BrowserConfig::builder()
        .chrome_executable(exe)
        .no_sandbox()
        .user_data_dir(&profile)
        .launch_timeout(settings.timeout.max(Duration::from_secs(20)))
        .request_timeout(settings.timeout)
        // Keys without their dashes: the builder writes `--key`.
        .args([
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
            // Cross-site iframes in the page's own process, where its
            // request guard sees them.
            "disable-site-isolation-trials",
        ])
        .arg((
            "disable-features",
            "TranslateUI,IsolateOrigins,site-per-process",
        ))
        .arg(("user-agent", settings.user_agent.as_str()))
        // Handed to the event loop below instead of logged as warnings.
        .surface_invalid_messages()
        .build()?;
    let (browser, mut handler) = Browser::launch(config)
        .await
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let events = tokio::spawn(async move {
        while let Some(event) = handler.next().await {
            // Events of a newer browser than the crate's protocol
            // definitions do not parse; nothing clausewatch reads is among
            // them. Connection errors are logged by the crate as errors.
            if let Err(e @ CdpError::InvalidMessage(..)) = event {
                debug!(error = %e, "browser event not understood");
            }
        }
    });
    info!(browser = %exe.display(), "browser started");
    Ok(Running {
        browser,
        events,
        profile,
    })
}

/// The memory of the running browser: its processes and their
/// proportional set size (shared pages split among them), read from
/// `/proc` by the profile folder they were started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserMemory {
    pub processes: usize,
    pub memory_bytes: u64,
}

/// The browser processes of any clausewatch on this machine (the daemon's,
/// when `status` asks), or `None` when none runs: the processes started
/// with our profile folder and all their descendants (renderers, the GPU
/// and network services).
pub fn memory() -> Option<BrowserMemory> {
    // pid → (parent, resident KiB, ours by its command line)
    let mut procs: Vec<(u32, u32, u64, bool)> = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        let ours = cmdline
            .split(|b| *b == 0)
            .any(|arg| arg.starts_with(b"--user-data-dir=") && memchr(arg, PROFILE_PREFIX));
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        // The proportional set size splits the pages the browser's
        // processes share among them; their resident sizes added up would
        // count the shared libraries once per process.
        let rollup = std::fs::read_to_string(dir.join("smaps_rollup")).unwrap_or_default();
        let pss = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| field("VmRSS:"));
        procs.push((pid, field("PPid:") as u32, pss, ours));
    }
    let mut members: std::collections::HashSet<u32> =
        procs.iter().filter(|p| p.3).map(|p| p.0).collect();
    // Descendants, however deep: repeat until no process joins.
    loop {
        let before = members.len();
        for p in &procs {
            if members.contains(&p.1) {
                members.insert(p.0);
            }
        }
        if members.len() == before {
            break;
        }
    }
    let kib: u64 = procs
        .iter()
        .filter(|p| members.contains(&p.0))
        .map(|p| p.2)
        .sum();
    (!members.is_empty()).then_some(BrowserMemory {
        processes: members.len(),
        memory_bytes: kib * 1024,
    })
}

fn memchr(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A script that tells whether the page has its text: the first element
/// of one of the selectors has some, or (no selectors) the body has.
fn ready_script(wait_for: &[String]) -> String {
    let selectors = serde_json::to_string(wait_for).unwrap_or_else(|_| "[]".into());
    format!(
        "(() => {{ const s = {selectors}; const has = e => !!e && (e.innerText || e.textContent || '').trim().length > 0; \
         return s.length ? s.some(x => {{ try {{ return has(document.querySelector(x)); }} catch (_) {{ return false; }} }}) : has(document.body); }})()"
    )
}

impl Fetcher {
    /// Loads `url` in the browser and returns the DOM once one of
    /// `wait_for` has text (bounded by the fetch timeout: after it, the DOM
    /// as it is, which extraction then judges).
    pub(super) async fn render(&self, url: &Url, trust: Trust, wait_for: &[String]) -> FetchReport {
        let started_at = chrono::Utc::now();
        let start = Instant::now();
        let shown = redact(url);
        let report = |status, bytes, result| FetchReport {
            url: shown.clone(),
            started_at,
            duration: start.elapsed(),
            attempts: 1,
            status,
            bytes,
            error_body: None,
            result,
        };
        if let Err(e) = self.guard(url, &shown, trust).await {
            return FetchReport {
                attempts: 0,
                ..report(None, 0, Err(e))
            };
        }
        let Some(exe) = executable() else {
            return FetchReport {
                attempts: 0,
                ..report(
                    None,
                    0,
                    Err(FetchError::NoBrowser {
                        url: shown.clone(),
                        message: "the page needs a browser and none was found (install chromium or set CHROMIUM)".into(),
                    }),
                )
            };
        };
        let settings = &self.inner.settings;
        let pool = &self.inner.browser;
        let mut running = pool.running.lock().await;
        pool.uses.fetch_add(1, Ordering::Relaxed);
        if running.is_none() {
            match launch(&exe, settings).await {
                Ok(r) => *running = Some(r),
                Err(message) => {
                    return report(
                        None,
                        0,
                        Err(FetchError::NoBrowser {
                            url: shown.clone(),
                            message: format!("the browser could not be started: {message}"),
                        }),
                    )
                }
            }
        }
        let browser = &running.as_ref().expect("started above").browser;
        let guard = (!settings.allow_private_addresses).then(|| RequestGuard::for_page(url, trust));
        let outcome = tokio::time::timeout(
            settings.timeout,
            load(browser, url, wait_for, settings.timeout, guard),
        )
        .await;
        let result = match outcome {
            Err(_) => Err(FetchError::Timeout { url: shown.clone() }),
            Ok(Err(message)) => {
                // A browser that fails a page may be wedged: the next page
                // gets a fresh one.
                if let Some(r) = running.take() {
                    r.stop().await;
                }
                Err(FetchError::Connect {
                    url: shown.clone(),
                    message: format!("in the browser: {message}"),
                })
            }
            Ok(Ok((status, final_url, html))) => {
                if html.len() as u64 > settings.max_body_bytes {
                    Err(FetchError::TooLarge {
                        url: shown.clone(),
                        limit: settings.max_body_bytes,
                    })
                } else if !(200..300).contains(&status) {
                    Err(FetchError::Status {
                        url: shown.clone(),
                        status,
                    })
                } else {
                    Ok((status, final_url, html))
                }
            }
        };
        drop(running);
        self.stop_when_idle();
        match result {
            Ok((status, final_url, html)) => {
                let bytes = html.len() as u64;
                debug!(url = %shown, bytes, elapsed_ms = start.elapsed().as_millis() as u64, "page rendered");
                report(
                    Some(status),
                    bytes,
                    Ok(Fetched::Page(Box::new(Page {
                        final_url: final_url.map_or_else(|| shown.clone(), |u| redact(&u)),
                        status,
                        content_type: Some("text/html; charset=utf-8".into()),
                        body: html.clone().into_bytes().into(),
                        text: html.into(),
                        encoding: "UTF-8",
                        etag: None,
                        last_modified: None,
                        headers: Vec::new(),
                    }))),
                )
            }
            Err(e) => {
                let status = match &e {
                    FetchError::Status { status, .. } => Some(*status),
                    _ => None,
                };
                report(status, 0, Err(e))
            }
        }
    }

    /// The private-address guard for a page the browser is to load.
    async fn guard(&self, url: &Url, shown: &Url, trust: Trust) -> Result<(), FetchError> {
        if self.inner.settings.allow_private_addresses {
            return Ok(());
        }
        if let Some(found) = literal_private(url) {
            if found.kind == "loopback" && trust == Trust::Operator {
                return Ok(());
            }
            return Err(private_error(shown, found, None));
        }
        let Some(host) = url.host_str() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| FetchError::Dns {
                url: shown.clone(),
                message: e.to_string(),
            })?
            .collect();
        keep_public(host, addrs)
            .map(|_| ())
            .map_err(|refusal| private_error(shown, refusal.0, None))
    }

    /// Stops the browser once [`IDLE`] passes without a render.
    fn stop_when_idle(&self) {
        let inner = Arc::clone(&self.inner);
        let seen = inner.browser.uses.load(Ordering::Relaxed);
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        tokio::spawn(async move {
            tokio::time::sleep(IDLE).await;
            let mut running = inner.browser.running.lock().await;
            if inner.browser.uses.load(Ordering::Relaxed) == seen {
                if let Some(r) = running.take() {
                    info!("browser idle: stopped");
                    r.stop().await;
                }
            }
        });
    }
}

/// The private-address guard for the requests a page makes, with the
/// origin it exempts: the document's own, when the operator wrote it as a
/// loopback address.
#[derive(Debug, Clone)]
struct RequestGuard {
    exempt: Option<url::Origin>,
}

/// What becomes of one request the page makes.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Allow,
    Refuse(String),
    /// A name: allowed when it resolves to a public address.
    Resolve(String, u16),
}

impl RequestGuard {
    fn for_page(url: &Url, trust: Trust) -> RequestGuard {
        let exempt = (trust == Trust::Operator
            && literal_private(url).is_some_and(|found| found.kind == "loopback"))
        .then(|| url.origin());
        RequestGuard { exempt }
    }

    fn verdict(&self, url: &str) -> Verdict {
        let Ok(url) = Url::parse(url) else {
            return Verdict::Refuse("not a URL".into());
        };
        // data:, blob: and the like reach no host.
        if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
            return Verdict::Allow;
        }
        if self.exempt.as_ref() == Some(&url.origin()) {
            return Verdict::Allow;
        }
        if let Some(found) = literal_private(&url) {
            return Verdict::Refuse(format!("{} is a {} address", found.host, found.kind));
        }
        match (url.host_str(), url.port_or_known_default()) {
            (Some(host), Some(port)) => Verdict::Resolve(host.to_string(), port),
            _ => Verdict::Refuse("no host".into()),
        }
    }

    /// Why the request to `url` is refused, or `None`; each name is
    /// resolved once per page.
    async fn refusal(
        &self,
        url: &str,
        resolved: &mut std::collections::HashMap<(String, u16), Option<String>>,
    ) -> Option<String> {
        match self.verdict(url) {
            Verdict::Allow => None,
            Verdict::Refuse(why) => Some(why),
            Verdict::Resolve(host, port) => {
                if let Some(known) = resolved.get(&(host.clone(), port)) {
                    return known.clone();
                }
                let why = match tokio::net::lookup_host((host.as_str(), port)).await {
                    Ok(addrs) => keep_public(&host, addrs).err().map(|r| r.to_string()),
                    Err(e) => Some(format!("{host} does not resolve: {e}")),
                };
                resolved.insert((host, port), why.clone());
                why
            }
        }
    }

    /// Pauses every request of `tab` and lets through only those the
    /// guard allows, until the returned task is aborted.
    async fn watch(self, tab: &Tab) -> Result<tokio::task::JoinHandle<()>, String> {
        let mut paused = tab
            .event_listener::<EventRequestPaused>()
            .await
            .map_err(|e| e.to_string())?;
        tab.execute(
            EnableParams::builder()
                .pattern(RequestPattern::builder().url_pattern("*").build())
                .build(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let tab = tab.clone();
        Ok(tokio::spawn(async move {
            let mut resolved = std::collections::HashMap::new();
            while let Some(event) = paused.next().await {
                let id = event.request_id.clone();
                let answer = match self.refusal(&event.request.url, &mut resolved).await {
                    None => tab
                        .execute(ContinueRequestParams::new(id))
                        .await
                        .map(|_| ()),
                    Some(why) => {
                        let shown = Url::parse(&event.request.url)
                            .map(|u| redact(&u).to_string())
                            .unwrap_or_default();
                        debug!(url = %shown, reason = %why, "browser request refused: private address");
                        tab.execute(FailRequestParams::new(id, ErrorReason::BlockedByClient))
                            .await
                            .map(|_| ())
                    }
                };
                if let Err(e) = answer {
                    debug!(error = %e, "browser request not answered");
                }
            }
        }))
    }
}

/// Opens `url` in a new tab, waits for its text, reads the DOM, closes
/// the tab: (status, final URL, HTML). With a `guard`, every request the
/// page makes passes it first.
async fn load(
    browser: &Browser,
    url: &Url,
    wait_for: &[String],
    bound: Duration,
    guard: Option<RequestGuard>,
) -> Result<(u16, Option<Url>, String), String> {
    let page = browser
        .new_page("about:blank")
        .await
        .map_err(|e| e.to_string())?;
    let watching = match guard {
        Some(guard) => match guard.watch(&page).await {
            Ok(task) => Some(task),
            Err(e) => {
                let _ = page.close().await;
                return Err(format!("cannot guard the page's requests: {e}"));
            }
        },
        None => None,
    };
    let result = async {
        page.goto(url.as_str()).await.map_err(|e| e.to_string())?;
        let response = page
            .wait_for_navigation_response()
            .await
            .map_err(|e| e.to_string())?;
        let status = response
            .as_ref()
            .and_then(|r| r.response.as_ref())
            .map_or(200, |r| u16::try_from(r.status).unwrap_or(200));
        let script = ready_script(wait_for);
        let deadline = Instant::now() + bound.mul_f32(0.8);
        loop {
            let ready = page
                .evaluate(script.as_str())
                .await
                .ok()
                .and_then(|v| v.into_value::<bool>().ok())
                .unwrap_or(false);
            if ready || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        let html = page.content().await.map_err(|e| e.to_string())?;
        let final_url = page
            .url()
            .await
            .ok()
            .flatten()
            .and_then(|u| Url::parse(&u).ok());
        Ok((status, final_url, html))
    }
    .await;
    if let Some(task) = watching {
        task.abort();
    }
    let _ = page.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_requests_guard_exempts_only_the_operators_loopback_origin() {
        let own = Url::parse("http://127.0.0.1:8080/privacy").unwrap();
        let guard = RequestGuard::for_page(&own, Trust::Operator);
        assert_eq!(
            guard.verdict("http://127.0.0.1:8080/app.js"),
            Verdict::Allow
        );
        assert_eq!(guard.verdict("data:text/plain,hi"), Verdict::Allow);
        for other in [
            "http://127.0.0.1:9090/beacon",
            "https://127.0.0.1:8080/app.js",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/",
            "http://10.0.0.1/",
        ] {
            assert!(
                matches!(guard.verdict(other), Verdict::Refuse(_)),
                "{other}"
            );
        }
        assert_eq!(
            guard.verdict("https://cdn.example.org/a.js"),
            Verdict::Resolve("cdn.example.org".into(), 443)
        );
        // A declaration's loopback URL, or a public page, exempts nothing.
        let collection = RequestGuard::for_page(&own, Trust::Collection);
        assert!(matches!(
            collection.verdict("http://127.0.0.1:8080/app.js"),
            Verdict::Refuse(_)
        ));
        let public = Url::parse("https://example.org/privacy").unwrap();
        let guard = RequestGuard::for_page(&public, Trust::Operator);
        assert_eq!(guard.exempt, None);
    }

    #[test]
    fn the_ready_script_names_the_selectors_as_json() {
        let s = ready_script(&["#main".into(), "div[data-x=\"a\"]".into()]);
        assert!(s.contains(r##"["#main","div[data-x=\"a\"]"]"##), "{s}");
        assert!(ready_script(&[]).contains("const s = [];"));
    }
}
