//! `bot.toml`: the documents to watch and how to watch them.
//!
//! Everything is checked before anything runs: unknown keys, duplicate ids,
//! bad URLs, bad cron expressions and bad CSS selectors are reported with the
//! file, line and column, so a typo never turns into a silent no-op at 3 a.m.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::defaults as D;
use crate::domain::Visibility;

/// Per language, per flag name, the phrases that raise the flag.
pub type WatchTermsConfig = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// A configuration error, located in its file when it can be.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

/// Where a document was declared. A URL from a declaration folder was
/// written by someone else (a shared collection), so it gets none of the
/// trust an operator's own `bot.toml` line gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `[[documents]]` entry of bot.toml.
    Config,
    /// An Open Terms Archive declaration file.
    Declaration(PathBuf),
}

/// How a document's page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// An HTTP GET; the body as served.
    Fetch,
    /// Loaded in a headless browser; the DOM once scripts have written it
    /// (`executeClientScripts: true`, `render = "browser"`).
    Browser,
    /// An HTTP GET, and once in the browser when the site refuses it (403,
    /// 406, a bot challenge): declarations that leave
    /// `executeClientScripts` unset, `render = "auto"`.
    FetchOrBrowser,
}

impl Render {
    pub fn as_str(self) -> &'static str {
        match self {
            Render::Fetch => "fetch",
            Render::Browser => "browser",
            Render::FetchOrBrowser => "auto",
        }
    }
}

/// What a document's body is, as `format` in `[[documents]]` declares it.
/// A server may send a PDF as `application/octet-stream` from an address
/// without `.pdf`, or a page that looks like a PDF to the sniffer: the
/// operator's word then decides which reader gets the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyFormat {
    /// PDF when the body says so (its type or first bytes) and the
    /// document expects one; a page otherwise.
    #[default]
    Auto,
    /// Always a page: a PDF body is refused, never read as the policy.
    Html,
    /// Always the PDF reader, whatever the type the server sends.
    Pdf,
}

impl BodyFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Auto => "auto",
            BodyFormat::Html => "html",
            BodyFormat::Pdf => "pdf",
        }
    }
}

/// The rules a declaration's history says were in force until a date.
#[derive(Debug, Clone)]
pub struct PastRules {
    pub valid_until: chrono::DateTime<chrono::Utc>,
    pub url: Url,
    pub select: Vec<String>,
    pub remove: Vec<String>,
    pub pages: Vec<ota::PageRules>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    pub defaults: Defaults,
    pub storage: Storage,
    pub diff: DiffSettings,
    pub watch_terms: WatchTermsConfig,
    pub documents: Vec<Document>,
    /// `[http] listen`: where to serve /healthz and /metrics (off when absent).
    pub http_listen: Option<std::net::SocketAddr>,
    /// `[http] public_url`: the address people reach the listener's pages
    /// at (`https://policies.example`). When set, threads link to the
    /// change's page under it.
    pub public_url: Option<Url>,
    /// `[http] metrics_listen`: a private listener for /healthz and
    /// /metrics; when set, `listen` (the public pages) serves no /metrics.
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub fediverse: Option<Fediverse>,
}

/// `[defaults]`: applied to every document unless it says otherwise.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub schedule: Schedule,
    pub user_agent: String,
    pub contact: Option<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_redirects: usize,
    pub max_body_bytes: u64,
    pub retries: u32,
    pub backoff_base: Duration,
    pub per_host_delay: Duration,
    pub max_concurrent: usize,
    pub min_chars: usize,
    /// Upper bound of the random delay added to each scheduled check, so that
    /// many documents on the same schedule do not hit their hosts at once.
    pub jitter: Duration,
    /// Settle delay before a changed page becomes a version: it must extract
    /// to the same clauses again after this long (zero: re-fetched at once).
    pub confirm_after: Duration,
    /// A page equal to one of this many latest versions (other than the
    /// latest) is a flap, not a change.
    pub flap_window: usize,
    /// An extraction shorter than this share of the latest version's is a
    /// soft error.
    pub soft_error_ratio: f64,
    /// How long a page must answer 404/410 before "this page no longer
    /// exists" is announced.
    pub gone_after: Duration,
    /// Fetch documents (and follow redirects) on loopback, link-local,
    /// private and unique-local addresses. Off by default, so that a
    /// config or a redirect cannot point the bot at the operator's network.
    pub allow_private_addresses: bool,
}

/// `[fediverse]`: the account that posts. Absent: the bot previews threads
/// on stdout instead.
#[derive(Debug, Clone)]
pub struct Fediverse {
    pub instance: Url,
    /// Where the access token is read from when `CLAUSEWATCH_TOKEN` is unset.
    pub token_file: Option<PathBuf>,
    /// Visibility of the first post of a change thread.
    pub visibility: Visibility,
    /// Visibility of the replies.
    pub reply_visibility: Visibility,
    pub content_warning: Option<String>,
    pub hashtags: Vec<String>,
    pub max_posts_per_thread: usize,
    /// Overrides the instance's character limit (lower only).
    pub max_chars: Option<usize>,
    /// Pause between two posts of a thread.
    pub post_interval: Duration,
    /// Timeout of every call to the instance.
    pub request_timeout: Duration,
    /// Accounts (`user@host`) allowed to run admin commands.
    pub admins: Vec<String>,
    /// How often mentions are polled.
    pub poll_interval: Duration,
    /// Commands answered per account per 10 minutes.
    pub commands_per_account: i64,
    /// Posts per 3 hours above which the bot stops answering mentions.
    pub reply_budget: i64,
    pub answer_mentions: bool,
}

/// `[storage]`.
#[derive(Debug, Clone)]
pub struct Storage {
    pub path: PathBuf,
}

/// `[diff]`.
#[derive(Debug, Clone)]
pub struct DiffSettings {
    /// Word-level similarity from which a removed and an added clause are
    /// reported as one modified clause.
    pub similarity: f64,
}

/// One watched document.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub name: String,
    pub service: String,
    pub url: Url,
    pub select: Vec<String>,
    pub remove: Vec<String>,
    pub schedule: Schedule,
    /// The document's language tag (`en` when bot.toml gives none).
    pub language: String,
    /// Whether bot.toml names the language; when it does not, the language
    /// of the first good version is the one later versions must keep.
    pub language_configured: bool,
    pub tags: Vec<String>,
    /// For pages served as JSON: the field (a top-level key, or a JSON
    /// pointer like `/data/content`) that holds the policy's HTML or text.
    pub json_field: Option<String>,
    /// Regular expressions whose matches are cut out of clause text before
    /// hashing and quoting (counters, dates the site rewrites on every
    /// visit).
    pub ignore: Vec<regex::Regex>,
    /// Where it was declared and how its page is read.
    pub reach: Reach,
}

/// Where a document was declared and how its page is read: one field of
/// [`Document`], so that a document written by hand needs one line for it
/// (`reach: Reach::default()`).
#[derive(Debug, Clone)]
pub struct Reach {
    pub origin: Origin,
    pub render: Render,
    /// `format` in `[[documents]]`; declarations leave it to the body.
    pub format: BodyFormat,
    /// Set when the fetcher assembles the page itself (range selectors,
    /// several pages combined): each page with the rules that cut its part
    /// out. `select` and `remove` are then empty.
    pub pages: Vec<ota::PageRules>,
    /// Declaration filters (JavaScript functions of the Open Terms Archive
    /// collection) that clausewatch does not run.
    pub filters_not_applied: Vec<String>,
    /// Earlier rules, oldest first, each in force until its date.
    pub history: Vec<PastRules>,
}

impl Default for Reach {
    fn default() -> Reach {
        Reach {
            origin: Origin::Config,
            render: Render::Fetch,
            format: BodyFormat::Auto,
            pages: Vec::new(),
            filters_not_applied: Vec::new(),
            history: Vec::new(),
        }
    }
}

impl Document {
    /// The document with the rules that were in force at `at`: those of
    /// the first history entry still valid then, else today's. Versions
    /// recorded before a declaration changed are re-extracted with the
    /// rules they were recorded with.
    pub fn as_of(&self, at: chrono::DateTime<chrono::Utc>) -> Document {
        let mut doc = self.clone();
        if let Some(past) = self.reach.history.iter().find(|p| at < p.valid_until) {
            doc.url = past.url.clone();
            doc.select = past.select.clone();
            doc.remove = past.remove.clone();
            doc.reach.pages = past.pages.clone();
        }
        doc
    }
}

pub mod ota;
mod schedule;
mod sections;
pub use schedule::Schedule;

pub use crate::defaults::{SCHEDULE as DEFAULT_SCHEDULE, USER_AGENT as DEFAULT_USER_AGENT};

// ---- raw TOML shape ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    diff: RawDiff,
    #[serde(default)]
    watch_terms: WatchTermsConfig,
    /// Left to later stages (posting); accepted here so one file configures
    /// the whole bot.
    #[serde(default)]
    fediverse: Option<RawFediverse>,
    #[serde(default)]
    http: Option<RawHttp>,
    #[serde(default)]
    ota: Option<RawOta>,
    #[serde(default)]
    documents: Vec<RawDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOta {
    /// A folder of Open Terms Archive declarations, relative to bot.toml.
    declarations: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    schedule: Option<Spanned<String>>,
    user_agent: Option<String>,
    contact: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    max_redirects: Option<usize>,
    max_body_bytes: Option<u64>,
    retries: Option<u32>,
    backoff_base: Option<Spanned<String>>,
    per_host_delay: Option<Spanned<String>>,
    max_concurrent: Option<Spanned<usize>>,
    min_chars: Option<usize>,
    jitter: Option<Spanned<String>>,
    confirm_after: Option<Spanned<String>>,
    flap_window: Option<Spanned<usize>>,
    soft_error_ratio: Option<Spanned<f64>>,
    gone_after: Option<Spanned<String>>,
    allow_private_addresses: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFediverse {
    instance: Spanned<String>,
    token_file: Option<String>,
    visibility: Option<Spanned<String>>,
    reply_visibility: Option<Spanned<String>>,
    content_warning: Option<String>,
    #[serde(default)]
    hashtags: Vec<String>,
    max_posts_per_thread: Option<Spanned<usize>>,
    max_chars: Option<usize>,
    post_interval: Option<Spanned<String>>,
    request_timeout: Option<Spanned<String>>,
    #[serde(default)]
    admins: Vec<String>,
    poll_interval: Option<Spanned<String>>,
    commands_per_account: Option<i64>,
    reply_budget: Option<i64>,
    /// Set to false to never read mentions.
    answer_mentions: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    metrics_listen: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDiff {
    similarity: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    id: Spanned<String>,
    name: String,
    service: String,
    url: Spanned<String>,
    #[serde(default)]
    select: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    remove: Option<Spanned<OneOrMany>>,
    schedule: Option<Spanned<String>>,
    language: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    json_field: Option<String>,
    #[serde(default)]
    ignore: Option<Spanned<OneOrMany>>,
    render: Option<Spanned<String>>,
    format: Option<Spanned<String>>,
}

/// One `[[documents]]` table, parsed on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentTable {
    documents: Vec<RawDocument>,
}

/// A string or a list of strings (`select = "#main"` or `select = ["a", "b"]`).
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a CSS selector or a list of CSS selectors")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Turns byte offsets into 1-based line and column numbers.
struct Locator<'a> {
    path: &'a Path,
    /// The whole file.
    text: &'a str,
    /// Where the part of the file being read starts: the offsets given are
    /// relative to it.
    base: usize,
}

impl Locator<'_> {
    fn at(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        let before = &self.text[..(self.base + offset).min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError::At {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
    fn spanned<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        self.at(s.span().start, message)
    }

    /// Parses `part`, the part of the file that starts at `base`.
    fn toml<T: de::DeserializeOwned>(&self, part: &str) -> Result<T, ConfigError> {
        toml::from_str(part).map_err(|e| {
            let message = e.message().to_string();
            match e.span() {
                Some(span) => self.at(span.start, message),
                None => ConfigError::File {
                    path: self.path.to_path_buf(),
                    message,
                },
            }
        })
    }
}

fn duration(
    loc: &Locator,
    v: &Option<Spanned<String>>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => humantime::parse_duration(s.get_ref().trim()).map_err(|e| {
            loc.spanned(
                s,
                format!(
                    "invalid duration {:?}: {e} (write e.g. \"30s\", \"5m\")",
                    s.get_ref()
                ),
            )
        }),
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(path, &text)?;
        // Environment overrides, for containers where the file is read-only.
        if let Ok(db) = std::env::var("CLAUSEWATCH_DATABASE") {
            if !db.is_empty() {
                config.storage.path = PathBuf::from(db);
            }
        }
        Ok(config)
    }

    /// The configuration of an empty file: every default.
    pub fn empty() -> Config {
        Config::parse(Path::new("(defaults)"), "").expect("the empty config is valid")
    }

    /// Parses config text; `path` is only used for messages and to resolve
    /// the database path relative to the config file's folder.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let loc = Locator {
            path,
            text,
            base: 0,
        };
        // The `[[documents]]` tables are read one at a time below; the rest
        // of the file is parsed with them blanked out (newlines kept), so
        // that its positions are the file's.
        let tables = sections::document_tables(text);
        let raw: RawConfig = if tables.is_empty() {
            loc.toml(text)?
        } else {
            let mut rest = text.as_bytes().to_vec();
            for table in &tables {
                for byte in &mut rest[table.clone()] {
                    if *byte != b'\n' {
                        *byte = b' ';
                    }
                }
            }
            let rest = String::from_utf8(rest).expect("ASCII spaces over whole tables keep UTF-8");
            loc.toml(&rest)?
        };

        let d = &raw.defaults;
        let schedule = match &d.schedule {
            Some(s) => Schedule::parse(s.get_ref()).map_err(|m| loc.spanned(s, m))?,
            None => Schedule::parse(DEFAULT_SCHEDULE).expect("default schedule is valid"),
        };
        let contact = match &d.contact {
            Some(c) => {
                Url::parse(c.get_ref()).map_err(|e| {
                    loc.spanned(c, format!("invalid contact URL {:?}: {e}", c.get_ref()))
                })?;
                Some(c.get_ref().clone())
            }
            None => None,
        };
        let max_concurrent = match &d.max_concurrent {
            Some(m) if *m.get_ref() == 0 => {
                return Err(loc.spanned(m, "max_concurrent must be at least 1"))
            }
            Some(m) => *m.get_ref(),
            None => D::MAX_CONCURRENT,
        };
        let base_agent = d
            .user_agent
            .clone()
            .unwrap_or_else(|| DEFAULT_USER_AGENT.to_string());
        // The user agent names the bot and says where to complain, as polite
        // crawlers do.
        let user_agent = match &contact {
            Some(c) if !base_agent.contains(c.as_str()) => format!("{base_agent} (+{c})"),
            _ => base_agent,
        };
        let defaults = Defaults {
            schedule,
            user_agent,
            contact,
            connect_timeout: duration(&loc, &d.connect_timeout, D::CONNECT_TIMEOUT)?,
            timeout: duration(&loc, &d.timeout, D::TIMEOUT)?,
            max_redirects: d.max_redirects.unwrap_or(D::MAX_REDIRECTS),
            max_body_bytes: d.max_body_bytes.unwrap_or(D::MAX_BODY_BYTES),
            retries: d.retries.unwrap_or(D::RETRIES),
            backoff_base: duration(&loc, &d.backoff_base, D::BACKOFF_BASE)?,
            per_host_delay: duration(&loc, &d.per_host_delay, D::PER_HOST_DELAY)?,
            max_concurrent,
            min_chars: d.min_chars.unwrap_or(D::MIN_CHARS),
            jitter: duration(&loc, &d.jitter, D::JITTER)?,
            confirm_after: duration(&loc, &d.confirm_after, D::CONFIRM_AFTER)?,
            flap_window: match &d.flap_window {
                Some(n) if *n.get_ref() == 0 => {
                    return Err(loc.spanned(n, "flap_window must be at least 1"))
                }
                Some(n) => *n.get_ref(),
                None => D::FLAP_WINDOW,
            },
            soft_error_ratio: match &d.soft_error_ratio {
                Some(r) if !(0.0..=1.0).contains(r.get_ref()) => {
                    return Err(loc.spanned(r, "soft_error_ratio must be between 0 and 1"))
                }
                Some(r) => *r.get_ref(),
                None => D::SOFT_ERROR_RATIO,
            },
            gone_after: duration(&loc, &d.gone_after, D::GONE_AFTER)?,
            allow_private_addresses: d.allow_private_addresses.unwrap_or(false),
        };

        let storage_path = PathBuf::from(
            raw.storage
                .path
                .clone()
                .unwrap_or_else(|| D::DATABASE.into()),
        );
        let storage_path = if storage_path.is_relative() {
            path.parent()
                .map(|p| p.join(&storage_path))
                .unwrap_or(storage_path)
        } else {
            storage_path
        };

        let similarity = match &raw.diff.similarity {
            Some(s) if !(0.0..=1.0).contains(s.get_ref()) => {
                return Err(loc.spanned(s, "similarity must be between 0 and 1"))
            }
            Some(s) => *s.get_ref(),
            None => D::SIMILARITY,
        };

        let mut declared = match &raw.ota {
            Some(ota) => {
                let dir = PathBuf::from(ota.declarations.get_ref());
                let dir = match path.parent() {
                    Some(parent) if dir.is_relative() => parent.join(dir),
                    _ => dir,
                };
                if !dir.is_dir() {
                    return Err(loc.spanned(
                        &ota.declarations,
                        format!("declarations folder {} is not a folder", dir.display()),
                    ));
                }
                ota::load_dir(&dir, &defaults)?
            }
            None => Vec::new(),
        };
        if let (Some(first), Some(_)) = (tables.first(), raw.documents.first()) {
            return Err(loc.at(
                first.start,
                "documents are given both as `documents = [...]` and as [[documents]] tables: use one",
            ));
        }
        let mut seen = HashSet::new();
        let mut documents = Vec::with_capacity(raw.documents.len() + tables.len());
        for rd in &raw.documents {
            documents.push(document(&loc, rd, &defaults, &mut seen)?);
        }
        for table in tables {
            let loc = Locator {
                base: table.start,
                ..loc
            };
            let one: DocumentTable = loc.toml(&text[table])?;
            for rd in &one.documents {
                documents.push(document(&loc, rd, &defaults, &mut seen)?);
            }
        }
        // bot.toml is the operator's word: its entry replaces a declared
        // document of the same id.
        declared.retain(|d| !seen.contains(&d.id));
        declared.append(&mut documents);
        let documents = declared;

        let address = |l: Option<&Spanned<String>>| match l {
            Some(l) => l.get_ref().parse().map(Some).map_err(|e| {
                loc.spanned(
                    l,
                    format!(
                        "invalid listen address {:?}: {e} (write e.g. \"127.0.0.1:9090\")",
                        l.get_ref()
                    ),
                )
            }),
            None => Ok(None),
        };
        let http_listen = address(raw.http.as_ref().and_then(|h| h.listen.as_ref()))?;
        let metrics_listen = address(raw.http.as_ref().and_then(|h| h.metrics_listen.as_ref()))?;

        let public_url = match raw.http.as_ref().and_then(|h| h.public_url.as_ref()) {
            Some(u) => {
                let parsed = Url::parse(u.get_ref().trim()).map_err(|e| {
                    loc.spanned(
                        u,
                        format!(
                            "invalid public_url {:?}: {e} (write e.g. \"https://policies.example\")",
                            u.get_ref()
                        ),
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(loc.spanned(u, "public_url must be an http:// or https:// address"));
                }
                Some(parsed)
            }
            None => None,
        };

        let fediverse = match &raw.fediverse {
            Some(f) => Some(fediverse(&loc, path, f)?),
            None => None,
        };

        Ok(Config {
            fediverse,
            http_listen,
            public_url,
            metrics_listen,
            path: path.to_path_buf(),
            defaults,
            storage: Storage { path: storage_path },
            diff: DiffSettings { similarity },
            watch_terms: raw.watch_terms,
            documents,
        })
    }

    /// One sentence naming the declaration filters clausewatch does not
    /// run and the documents that have them, when there are any: `check`
    /// and `doctor` say it once, since such a document is still watched
    /// (its text may only carry a little more noise).
    pub fn filters_note(&self) -> Option<String> {
        let mut by_filter: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for d in &self.documents {
            for f in &d.reach.filters_not_applied {
                by_filter.entry(f).or_default().push(&d.id);
            }
        }
        if by_filter.is_empty() {
            return None;
        }
        let list: Vec<String> = by_filter
            .iter()
            .map(|(f, docs)| format!("{f} ({})", docs.join(", ")))
            .collect();
        Some(format!(
            "declaration filters not applied (JavaScript functions of the collection, documents still watched without them): {}",
            list.join("; ")
        ))
    }

    /// The document with this id.
    pub fn document(&self, id: &str) -> Option<&Document> {
        self.documents.iter().find(|d| d.id == id)
    }
}

/// Reads one `[[documents]]` entry; `seen` holds the ids read so far.
fn document(
    loc: &Locator,
    rd: &RawDocument,
    defaults: &Defaults,
    seen: &mut HashSet<String>,
) -> Result<Document, ConfigError> {
    let id = rd.id.get_ref();
    if !is_slug(id) {
        return Err(loc.spanned(
            &rd.id,
            format!("document id {id:?} must be lowercase letters, digits and '-' (it is typed in commands)"),
        ));
    }
    if !seen.insert(id.clone()) {
        return Err(loc.spanned(&rd.id, format!("duplicate document id {id:?}")));
    }
    let url = Url::parse(rd.url.get_ref())
        .map_err(|e| loc.spanned(&rd.url, format!("invalid URL {:?}: {e}", rd.url.get_ref())))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(loc.spanned(&rd.url, format!("URL {url} must be http or https")));
    }
    let select = selectors(loc, &rd.select)?;
    let remove = selectors(loc, &rd.remove)?;
    let ignore = ignore_patterns(loc, &rd.ignore)?;
    let schedule = match &rd.schedule {
        Some(s) => Schedule::parse(s.get_ref()).map_err(|m| loc.spanned(s, m))?,
        None => defaults.schedule.clone(),
    };
    let render = one_of(
        loc,
        "render",
        rd.render.as_ref(),
        &[
            ("fetch", Render::Fetch),
            ("browser", Render::Browser),
            ("auto", Render::FetchOrBrowser),
        ],
    )?;
    let format = one_of(
        loc,
        "format",
        rd.format.as_ref(),
        &[
            ("auto", BodyFormat::Auto),
            ("html", BodyFormat::Html),
            ("pdf", BodyFormat::Pdf),
        ],
    )?;
    if let (Some(f), BodyFormat::Pdf) = (&rd.format, format) {
        // A PDF has no elements to select and no JSON field: rules
        // that would silently do nothing are a mistake to show.
        let cuts = [
            ("select", !select.is_empty()),
            ("remove", !remove.is_empty()),
            ("json_field", rd.json_field.is_some()),
        ];
        if let Some((key, _)) = cuts.iter().find(|(_, set)| *set) {
            return Err(loc.spanned(
                f,
                format!("format = \"pdf\" cannot be combined with {key} (a PDF has no HTML elements or JSON fields)"),
            ));
        }
    }
    Ok(Document {
        id: id.clone(),
        name: rd.name.clone(),
        service: rd.service.clone(),
        url,
        select,
        remove,
        schedule,
        language: rd.language.clone().unwrap_or_else(|| "en".into()),
        language_configured: rd.language.is_some(),
        tags: rd.tags.clone(),
        json_field: rd.json_field.clone(),
        ignore,
        reach: Reach {
            render,
            format,
            ..Reach::default()
        },
    })
}

fn visibility(
    loc: &Locator,
    v: &Option<Spanned<String>>,
    default: Visibility,
    allowed: &[Visibility],
) -> Result<Visibility, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => match s.get_ref().parse::<Visibility>() {
            Ok(vis) if allowed.contains(&vis) => Ok(vis),
            _ => Err(loc.spanned(
                s,
                format!(
                    "visibility {:?} must be one of {}",
                    s.get_ref(),
                    allowed
                        .iter()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
    }
}

fn fediverse(loc: &Locator, path: &Path, f: &RawFediverse) -> Result<Fediverse, ConfigError> {
    let instance = Url::parse(f.instance.get_ref()).map_err(|e| {
        loc.spanned(
            &f.instance,
            format!("invalid instance URL {:?}: {e}", f.instance.get_ref()),
        )
    })?;
    if !matches!(instance.scheme(), "http" | "https") {
        return Err(loc.spanned(
            &f.instance,
            format!("instance URL {instance} must be http or https"),
        ));
    }
    let max_posts = match &f.max_posts_per_thread {
        Some(m) if *m.get_ref() < 2 => {
            return Err(loc.spanned(m, "max_posts_per_thread must be at least 2"))
        }
        Some(m) => *m.get_ref(),
        None => D::MAX_POSTS_PER_THREAD,
    };
    let token_file = f.token_file.as_ref().map(|t| {
        let p = PathBuf::from(t);
        if p.is_relative() {
            path.parent().map(|d| d.join(&p)).unwrap_or(p)
        } else {
            p
        }
    });
    Ok(Fediverse {
        instance,
        token_file,
        visibility: visibility(
            loc,
            &f.visibility,
            Visibility::Public,
            &[Visibility::Public, Visibility::Unlisted],
        )?,
        reply_visibility: visibility(
            loc,
            &f.reply_visibility,
            Visibility::Unlisted,
            &[
                Visibility::Public,
                Visibility::Unlisted,
                Visibility::Private,
            ],
        )?,
        content_warning: f.content_warning.clone().filter(|c| !c.trim().is_empty()),
        hashtags: f
            .hashtags
            .iter()
            .map(|h| h.trim_start_matches('#').to_string())
            .collect(),
        max_posts_per_thread: max_posts,
        max_chars: f.max_chars,
        post_interval: duration(loc, &f.post_interval, D::POST_INTERVAL)?,
        request_timeout: duration(loc, &f.request_timeout, D::REQUEST_TIMEOUT)?,
        admins: f
            .admins
            .iter()
            .map(|a| a.trim_start_matches('@').to_lowercase())
            .collect(),
        poll_interval: duration(loc, &f.poll_interval, D::POLL_INTERVAL)?,
        commands_per_account: f.commands_per_account.unwrap_or(D::COMMANDS_PER_ACCOUNT),
        reply_budget: f.reply_budget.unwrap_or(D::REPLY_BUDGET),
        answer_mentions: f.answer_mentions.unwrap_or(true),
    })
}

fn selectors(loc: &Locator, v: &Option<Spanned<OneOrMany>>) -> Result<Vec<String>, ConfigError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    for s in &v.get_ref().0 {
        // The extractor's own selector engine, so that what passes here
        // applies there.
        scraper::Selector::parse(s)
            .map_err(|e| loc.spanned(v, format!("invalid CSS selector {s:?}: {e}")))?;
    }
    Ok(v.get_ref().0.clone())
}

fn ignore_patterns(
    loc: &Locator,
    v: &Option<Spanned<OneOrMany>>,
) -> Result<Vec<regex::Regex>, ConfigError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    v.get_ref()
        .0
        .iter()
        .map(|p| match regex::Regex::new(p) {
            // An empty match would cut nothing but still make every clause
            // "match"; refusing it keeps the intent of the pattern clear.
            Ok(re) if re.is_match("") => {
                Err(loc.spanned(v, format!("ignore pattern {p:?} matches the empty string")))
            }
            Ok(re) => Ok(re),
            Err(e) => Err(loc.spanned(v, format!("invalid ignore pattern {p:?}: {e}"))),
        })
        .collect()
}

/// The value of a key that takes one of a few words, the first when the
/// key is absent; another word is an error at its place naming them all.
fn one_of<T: Copy>(
    loc: &Locator,
    key: &str,
    value: Option<&Spanned<String>>,
    words: &[(&str, T)],
) -> Result<T, ConfigError> {
    let Some(value) = value else {
        return Ok(words[0].1);
    };
    if let Some((_, v)) = words.iter().find(|(w, _)| w == value.get_ref()) {
        return Ok(*v);
    }
    let names: Vec<String> = words.iter().map(|(w, _)| format!("{w:?}")).collect();
    let (last, first) = names.split_last().expect("at least one word");
    Err(loc.spanned(
        value,
        format!(
            "{key} {:?} must be {} or {last}",
            value.get_ref(),
            first.join(", ")
        ),
    ))
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("bot.toml"), text)
    }

    const DOC: &str = "[[documents]]\nid = \"x-privacy\"\nname = \"X Privacy Policy\"\nservice = \"X\"\nurl = \"https://x.com/en/privacy\"\n";

    #[test]
    fn minimal_document_gets_defaults() {
        let c = parse(DOC).unwrap();
        let d = &c.documents[0];
        assert_eq!(d.id, "x-privacy");
        assert_eq!(d.schedule.expr, DEFAULT_SCHEDULE);
        assert_eq!(d.language, "en");
        assert_eq!(c.defaults.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(c.storage.path, PathBuf::from("clausewatch.db"));
    }

    /// Each `[[documents]]` table is parsed on its own, so errors in any of
    /// them must still name their place in the whole file.
    #[test]
    fn tables_are_read_one_by_one_in_order_and_located_in_the_file() {
        let doc = |id: &str| DOC.replace("x-privacy", id);
        let text = format!(
            "[defaults]\nschedule = \"0 6 * * *\"\n\n{}\n[storage]\npath = \"x.db\"\n\n{}{}",
            doc("a"),
            doc("b"),
            doc("c")
        );
        let c = parse(&text).unwrap();
        let ids: Vec<&str> = c.documents.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(c.storage.path, PathBuf::from("x.db"));
        assert_eq!(c.documents[2].schedule.expr, "0 6 * * *");
        // A syntax error in the third table (line 20) and a bad value in
        // the second (line 17): each is reported where it is.
        let broken = text.replacen(
            "name = \"X Privacy Policy\"\nservice",
            "name = \"X\nservice",
            3,
        );
        let err = parse(&broken.replacen("name = \"X\n", "name = \"X\"\n", 2))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bot.toml:20:"), "{err}");
        let err = parse(
            &text
                .replacen("https://x.com/en/privacy", "not a url", 2)
                .replacen("not a url", "https://x.com/en/privacy", 1),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("bot.toml:17:7:") && err.contains("invalid URL"),
            "{err}"
        );
        // An unknown key in the part of the file between the tables.
        let err = parse(&text.replace("path = \"x.db\"", "paht = \"x.db\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:11:1:") && err.contains("paht"),
            "{err}"
        );
    }

    #[test]
    fn documents_as_an_array_are_read_but_not_mixed_with_tables() {
        let inline = "documents = [{ id = \"a\", name = \"A\", service = \"S\", url = \"https://a.test/\" }]\n";
        let c = parse(inline).unwrap();
        assert_eq!(c.documents[0].id, "a");
        let err = parse(&format!("{inline}{DOC}")).unwrap_err().to_string();
        assert!(
            err.starts_with("bot.toml:2:1:") && err.contains("both"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_located() {
        let err = parse(&format!("{DOC}selct = \"#main\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bot.toml:6:1:"), "{err}");
        assert!(err.contains("selct"), "{err}");
    }

    #[test]
    fn duplicate_id_is_located() {
        let err = parse(&format!("{DOC}{DOC}")).unwrap_err().to_string();
        assert!(err.starts_with("bot.toml:7:6:"), "{err}");
        assert!(err.contains("duplicate document id \"x-privacy\""), "{err}");
    }

    #[test]
    fn bad_url_and_cron_are_located() {
        let err = parse(&DOC.replace("https://x.com/en/privacy", "not a url"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:5:7:") && err.contains("invalid URL \"not a url\""),
            "{err}"
        );
        let err = parse(&format!("{DOC}schedule = \"61 * * * *\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:6:12:") && err.contains("cron"),
            "{err}"
        );
        let err = parse(&format!("[defaults]\nschedule = \"every day\"\n{DOC}"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bot.toml:2:12:"), "{err}");
    }

    #[test]
    fn select_accepts_one_or_many_and_checks_selectors() {
        let c = parse(&format!(
            "{DOC}select = \"#main\"\nremove = [\".a\", \".b\"]\n"
        ))
        .unwrap();
        assert_eq!(c.documents[0].select, vec!["#main"]);
        assert_eq!(c.documents[0].remove, vec![".a", ".b"]);
        let err = parse(&format!("{DOC}remove = [\".a\", \"[[oops\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:6:10:") && err.contains("[[oops"),
            "{err}"
        );
    }

    #[test]
    fn realworld_defaults_and_ignore_patterns() {
        let c = parse(DOC).unwrap();
        assert_eq!(c.defaults.confirm_after, Duration::from_secs(60));
        assert_eq!(c.defaults.flap_window, 5);
        assert_eq!(c.defaults.gone_after, Duration::from_secs(3 * 24 * 3600));
        let c = parse(&format!(
            "[defaults]\nconfirm_after = \"0s\"\ngone_after = \"1h\"\nflap_window = 3\nsoft_error_ratio = 0.5\n{DOC}ignore = [\"Visitors: \\\\d+\"]\n"
        ))
        .unwrap();
        assert_eq!(c.defaults.confirm_after, Duration::ZERO);
        assert_eq!(c.defaults.gone_after, Duration::from_secs(3600));
        assert_eq!(c.defaults.flap_window, 3);
        assert_eq!(c.defaults.soft_error_ratio, 0.5);
        assert!(c.document("x-privacy").unwrap().ignore[0].is_match("Visitors: 42"));
        let err = parse(&format!("{DOC}ignore = [\"ok\", \"(unclosed\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:6:10:") && err.contains("(unclosed"),
            "{err}"
        );
        let err = parse(&format!("{DOC}ignore = \"x*\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:6:10:") && err.contains("empty string"),
            "{err}"
        );
        let err = parse(&format!("[defaults]\nflap_window = 0\n{DOC}"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bot.toml:2:15:"), "{err}");
    }

    #[test]
    fn contact_is_added_to_user_agent() {
        let c = parse(&format!(
            "[defaults]\ncontact = \"https://example.org/bot\"\n{DOC}"
        ))
        .unwrap();
        assert!(c.defaults.user_agent.starts_with("clausewatch/"));
        assert!(c
            .defaults
            .user_agent
            .ends_with("(+https://example.org/bot)"));
    }

    #[test]
    fn storage_path_is_relative_to_config_file() {
        let c = Config::parse(Path::new("/etc/cw/bot.toml"), DOC).unwrap();
        assert_eq!(c.storage.path, PathBuf::from("/etc/cw/clausewatch.db"));
    }

    #[test]
    fn declarations_live_beside_documents_and_bot_toml_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("decl")).unwrap();
        std::fs::write(
            dir.path().join("decl/X.json"),
            r#"{"name": "X", "terms": {"Privacy Policy": {"fetch": "https://x.com/p"}, "Terms of Service": {"fetch": "https://x.com/t"}}}"#,
        )
        .unwrap();
        let bot = dir.path().join("bot.toml");
        let c = Config::parse(
            &bot,
            "[ota]\ndeclarations = \"decl\"\n[[documents]]\nid = \"x-privacy-policy\"\nname = \"Mine\"\nservice = \"X\"\nurl = \"https://x.com/mine\"\nrender = \"browser\"\n",
        )
        .unwrap();
        let ids: Vec<&str> = c.documents.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["x-terms-of-service", "x-privacy-policy"]);
        let mine = c.document("x-privacy-policy").unwrap();
        assert_eq!(mine.url.as_str(), "https://x.com/mine");
        assert_eq!(mine.reach.render, Render::Browser);
        assert_eq!(mine.reach.origin, Origin::Config);
        assert!(matches!(
            c.document("x-terms-of-service").unwrap().reach.origin,
            Origin::Declaration(_)
        ));
        let err = Config::parse(&bot, "[ota]\ndeclarations = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bot.toml:2:16:") && err.contains("nowhere"),
            "{err}"
        );
        let err = Config::parse(&bot, &format!("{DOC}render = \"chrome\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("render \"chrome\""), "{err}");
    }

    #[test]
    fn format_is_typed_and_a_bad_value_is_located() {
        let c = parse(&format!("{DOC}format = \"pdf\"\n")).unwrap();
        assert_eq!(c.documents[0].reach.format, BodyFormat::Pdf);
        let c = parse(&format!("{DOC}format = \"html\"\n")).unwrap();
        assert_eq!(c.documents[0].reach.format, BodyFormat::Html);
        assert_eq!(
            parse(DOC).unwrap().documents[0].reach.format,
            BodyFormat::Auto
        );
        let err = parse(&format!("{DOC}format = \"docx\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:6:10: format \"docx\" must be"),
            "{err}"
        );
        let err = parse(&format!("{DOC}select = \"main\"\nformat = \"pdf\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("bot.toml:7:10: format = \"pdf\" cannot be combined with select"),
            "{err}"
        );
    }
}
