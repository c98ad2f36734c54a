//! The command-line commands: their arguments and what each one prints.
//!
//! Each command returns an [`ExitCode`]-like status through `anyhow`; errors
//! that come from bad input are wrapped in [`BadInput`] so `main` can tell
//! them from failures of the machine (exit 2 versus 3).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use serde::Serialize;
use tokio::sync::watch;
use url::Url;

use crate::check::{self, Checker, Outcome};
use crate::clauses::{self, Clause};
use crate::config::{Config, Document};
use crate::diff;
use crate::extract::{self, Format, Rules};
use crate::fetch::{self, Conditional, Fetched, Fetcher};
use crate::schedule;
use crate::store::Store;

/// An error caused by what the user typed or wrote (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Options shared by the commands that read the config.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// The config file.
    #[arg(
        long,
        short = 'c',
        env = "CLAUSEWATCH_CONFIG",
        default_value = "bot.toml"
    )]
    pub config: PathBuf,
}

impl ConfigArgs {
    pub fn load(&self) -> Result<Config> {
        Config::load(&self.config).map_err(|e| bad(e.to_string()))
    }
}

/// Options of the commands that only read the database.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The database file (default: `[storage] path` of the config).
    #[arg(long, env = "CLAUSEWATCH_DATABASE")]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    /// The database path: `--db`, or the config's (the config file may be
    /// absent when `--db` is given).
    fn path(&self) -> Result<PathBuf> {
        match &self.db {
            Some(p) => Ok(p.clone()),
            None => Ok(self.config.load()?.storage.path),
        }
    }

    async fn open(&self) -> Result<Store> {
        let path = self.path()?;
        Store::open_existing(&path)
            .await
            .map_err(|e| bad(e.to_string()))
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Where to write the copy (must not exist).
    pub path: PathBuf,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    pub document: String,
    /// Folder to write the versions into (created if missing).
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The document (as configured) the history belongs to.
    pub document: String,
    /// A folder of versions: Markdown, HTML or text files named by date
    /// (`2023-09-29T231259Z.md`), with an optional `index.tsv` (file, date)
    /// as in Open Terms Archive data and `clausewatch export`.
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The instance, e.g. https://mastodon.social
    #[arg(long)]
    pub instance: Url,
    /// Where to write the token (mode 0600).
    #[arg(long, default_value = "token")]
    pub token_file: PathBuf,
    /// Replace an existing token file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Documents to check (default: all).
    pub documents: Vec<String>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub db: DbArgs,
    pub document: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub db: DbArgs,
    pub document: String,
    /// Version number (default: the latest).
    pub version: Option<i64>,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// A URL (fetched) or a file (HTML, Markdown or text).
    pub source: String,
    /// Keep only elements matching this CSS selector (repeatable).
    #[arg(long)]
    pub select: Vec<String>,
    /// Drop elements matching this CSS selector (repeatable).
    #[arg(long)]
    pub remove: Vec<String>,
    /// Input format (default: guessed from the name, the Content-Type and the content).
    #[arg(long = "input", value_enum)]
    pub input_format: Option<InputFormat>,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Html,
    Markdown,
    Text,
}

impl From<InputFormat> for Format {
    fn from(f: InputFormat) -> Format {
        match f {
            InputFormat::Html => Format::Html,
            InputFormat::Markdown => Format::Markdown,
            InputFormat::Text => Format::Text,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum DiffFormat {
    #[default]
    Text,
    Json,
    /// The thread the bot would post, as a JSON array of post texts.
    Thread,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Old side: a file, or a stored version `DOC_ID@N`, `DOC_ID@latest`, `DOC_ID@YYYY-MM-DD`.
    pub old: String,
    /// New side, same forms as OLD.
    pub new: String,
    /// CSS selector applied to HTML files (repeatable).
    #[arg(long)]
    pub select: Vec<String>,
    /// CSS selector removed from HTML files (repeatable).
    #[arg(long)]
    pub remove: Vec<String>,
    /// Language of the watch terms (default: the document's, or en).
    #[arg(long)]
    pub language: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// Character limit of each post for `--format thread` (default: the
    /// instance's, else 500).
    #[arg(long)]
    pub max_chars: Option<usize>,
    /// For `--format thread` on files: the service and document names and
    /// the page URL shown in post 1.
    #[arg(long, default_value = "The service")]
    pub service: String,
    #[arg(long, default_value = "policy")]
    pub name: String,
    #[arg(long)]
    pub url: Option<Url>,
}

/// How long in-flight work may take after SIGTERM before the daemon exits
/// anyway (a check is bounded by its fetch timeouts; this bounds the rest).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// `clausewatch run`: the daemon.
pub async fn run(args: RunArgs) -> Result<i32> {
    let config = Arc::new(args.config.load()?);
    let store = open_store(&config).await?;
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let checker = Checker::new(&config, store.clone())?.with_metrics(metrics.clone());
    tracing::info!(
        config = %config.path.display(),
        database = %config.storage.path.display(),
        documents = config.documents.len(),
        "clausewatch started"
    );
    let (tx, rx) = watch::channel(false);
    let scheduler_alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let http = match config.http_listen {
        Some(listen) => {
            let shared = crate::http::Shared {
                store: store.clone(),
                metrics: metrics.clone(),
                scheduler_alive: scheduler_alive.clone(),
            };
            let server = crate::http::serve(listen, shared, rx.clone())
                .await
                .map_err(|e| bad(format!("cannot listen on {listen} ([http] listen): {e}")))?;
            Some(tokio::spawn(server))
        }
        None => None,
    };
    let mut signal_rx = rx.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight checks");
        let _ = tx.send(true);
    });
    let wake = Arc::new(tokio::sync::Notify::new());
    let (sink, publisher_sink_account) = connect_sink(&config, &checker).await?;
    let publisher = crate::fediverse::publisher::Publisher {
        store: store.clone(),
        sink,
        post_interval: config
            .fediverse
            .as_ref()
            .map_or(std::time::Duration::ZERO, |f| f.post_interval),
        metrics: metrics.clone(),
        wake: wake.clone(),
    };
    let publisher = tokio::spawn(publisher.run(rx.clone()));
    let listener = match (&publisher_sink_account, &config.fediverse) {
        (Some((client, account)), Some(f)) if f.answer_mentions => {
            let listener = crate::commands::listen::Listener {
                client: client.clone(),
                account_id: account.id.clone(),
                domain: account_domain(account, &f.instance),
                store: store.clone(),
                config: config.clone(),
                checker: checker.clone(),
                announce: checker.announce(),
                limits: crate::commands::listen::Limits {
                    poll_interval: f.poll_interval,
                    per_account: f.commands_per_account,
                    reply_budget: f.reply_budget,
                    ..Default::default()
                },
                wake_publisher: wake.clone(),
                metrics: metrics.clone(),
            };
            Some(tokio::spawn(listener.run(rx.clone())))
        }
        _ => None,
    };
    // Any check may have queued something (a change thread, a "page gone"
    // notice): let the publisher look.
    let wake_on_check = wake.clone();
    let on_outcome: schedule::OnOutcome = Arc::new(move |_doc: &Document, _outcome: &Outcome| {
        wake_on_check.notify_one();
    });
    let scheduler = schedule::run(config.clone(), checker, on_outcome, rx);
    tokio::pin!(scheduler);
    tokio::select! {
        _ = &mut scheduler => {}
        _ = async {
            let _ = signal_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(grace_seconds = SHUTDOWN_GRACE.as_secs(), "in-flight work did not finish in time; exiting anyway");
        }
    }
    scheduler_alive.store(false, std::sync::atomic::Ordering::Relaxed);
    // The publisher finishes the post it is sending, then stops.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, publisher).await;
    if let Some(l) = listener {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, l).await;
    }
    if let Some(h) = http {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), h).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(0)
}

/// The publisher's destination: the configured account (checked now, so a
/// bad token fails at start), or the preview on stdout.
type SinkAccount = Option<(
    crate::fediverse::client::Client,
    crate::fediverse::client::Account,
)>;

/// The host part of the bot's own `user@host` (local accounts' `acct` has
/// none): the account URL's host, else the instance's.
fn account_domain(account: &crate::fediverse::client::Account, instance: &Url) -> String {
    account
        .url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .and_then(|u| u.host_str().map(String::from))
        .or_else(|| instance.host_str().map(String::from))
        .unwrap_or_default()
}

async fn connect_sink(
    config: &Config,
    checker: &Checker,
) -> Result<(crate::fediverse::publisher::Sink, SinkAccount)> {
    use crate::fediverse::{client::Client, publisher::Sink, token};
    let Some(f) = &config.fediverse else {
        tracing::info!(
            "no [fediverse] account configured: threads are printed on stdout (preview)"
        );
        return Ok((Sink::Preview, None));
    };
    let token = token::load(f.token_file.as_deref()).map_err(|e| bad(e.to_string()))?;
    let client = Client::new(&f.instance, token, f.request_timeout)?;
    let account = client
        .verify_credentials()
        .await
        .map_err(|e| anyhow!("cannot verify the access token with {}: {e}", f.instance))?;
    let info = client.instance().await;
    checker.set_limits(info.max_chars, info.chars_per_url);
    tracing::info!(
        instance = %f.instance,
        account = %account.acct,
        max_chars = info.max_chars,
        limit_source = info.source,
        "posting to the fediverse"
    );
    if !account.bot {
        tracing::warn!(account = %account.acct, "the account does not have the bot flag; set it in the profile settings");
    }
    Ok((
        Sink::Account {
            client: client.clone(),
            account_id: account.id.clone(),
        },
        Some((client, account)),
    ))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.storage.path)
        .await
        .with_context(|| format!("database {}", config.storage.path.display()))
}

/// `clausewatch check`: one check of the given (or all) documents now.
pub async fn check(args: CheckArgs) -> Result<i32> {
    let config = args.config.load()?;
    let docs: Vec<&Document> = if args.documents.is_empty() {
        config.documents.iter().collect()
    } else {
        args.documents
            .iter()
            .map(|id| {
                config
                    .document(id)
                    .ok_or_else(|| unknown_document(&config, id))
            })
            .collect::<Result<_>>()?
    };
    let store = open_store(&config).await?;
    let checker = Checker::new(&config, store.clone())?;
    // Documents are checked concurrently; the fetcher's limits keep this
    // polite (one request at a time per host).
    let mut set = tokio::task::JoinSet::new();
    // As in the scheduler: bound the checks in flight, not only the fetches,
    // so a large config does not starve the database pool.
    let permits = Arc::new(tokio::sync::Semaphore::new(
        config.defaults.max_concurrent * 2,
    ));
    for (i, doc) in docs.iter().enumerate() {
        let checker = checker.clone();
        let doc = (*doc).clone();
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            (i, checker.check(&doc).await)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        results.push(r.context("check task")?);
    }
    results.sort_by_key(|(i, _)| *i);
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    for (i, r) in results {
        let outcome = r?;
        failed += outcome.is_failure() as usize;
        writeln!(out, "{}: {}", docs[i].id, outcome)?;
    }
    store.close().await;
    Ok(if failed > 0 { 1 } else { 0 })
}

fn unknown_document(config: &Config, id: &str) -> anyhow::Error {
    let ids: Vec<&str> = config.documents.iter().map(|d| d.id.as_str()).collect();
    bad(format!(
        "unknown document {id:?} in {}; known: {}",
        config.path.display(),
        ids.join(", ")
    ))
}

/// `clausewatch history`: the versions of a document, newest first.
pub async fn history(args: HistoryArgs) -> Result<i32> {
    let store = args.db.open().await?;
    let versions = store.history(&args.document, None).await?;
    if versions.is_empty() {
        return Err(bad(format!(
            "no versions of {:?} in the database",
            args.document
        )));
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &versions)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for v in &versions {
                let changes = v
                    .changes
                    .map(|c| {
                        format!(
                            "  +{} -{} ~{} renamed {} moved {}",
                            c.added, c.removed, c.modified, c.renamed, c.moved
                        )
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:>4}  {}  (last seen {})  {} clauses  {}{}",
                    v.version,
                    v.first_seen.format("%Y-%m-%d %H:%M"),
                    v.last_seen.format("%Y-%m-%d %H:%M"),
                    v.clauses,
                    &v.hash[..12],
                    changes
                )?;
            }
        }
    }
    Ok(0)
}

#[derive(Serialize)]
struct ClauseOut<'a> {
    position: u32,
    kind: &'static str,
    path: &'a str,
    text: &'a str,
    hash: &'a str,
}

fn kind_name(c: &Clause) -> &'static str {
    match c.kind {
        clauses::ClauseKind::Heading { .. } => "heading",
        clauses::ClauseKind::Paragraph => "paragraph",
        clauses::ClauseKind::ListItem => "list_item",
        clauses::ClauseKind::TableRow => "table_row",
    }
}

fn print_clauses(clauses: &[Clause], format: OutputFormat) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            let rows: Vec<ClauseOut> = clauses
                .iter()
                .map(|c| ClauseOut {
                    position: c.position,
                    kind: kind_name(c),
                    path: &c.path,
                    text: &c.text,
                    hash: &c.hash,
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for c in clauses {
                match c.kind {
                    clauses::ClauseKind::Heading { level } => {
                        writeln!(out, "\n{} {}", "#".repeat(level as usize), c.text)?
                    }
                    clauses::ClauseKind::ListItem => writeln!(out, "  - {}", c.text)?,
                    _ => writeln!(out, "{}", c.text)?,
                }
            }
        }
    }
    Ok(())
}

/// `clausewatch show`: the clauses of a stored version.
pub async fn show(args: ShowArgs) -> Result<i32> {
    let store = args.db.open().await?;
    let v = match args.version {
        Some(n) => store.version(&args.document, n).await?,
        None => store.latest_version(&args.document).await?,
    }
    .ok_or_else(|| {
        bad(format!(
            "no version {} of {:?} in the database",
            args.version.map_or("at all".to_string(), |n| n.to_string()),
            args.document
        ))
    })?;
    let clauses = store.clauses(v.id).await?;
    print_clauses(&clauses, args.format)?;
    Ok(0)
}

/// Reads a local file or fetches a URL, and extracts its clauses.
async fn load_source(source: &str, rules: &Rules, forced: Option<Format>) -> Result<Vec<Clause>> {
    let (text, format) = if source.starts_with("http://") || source.starts_with("https://") {
        let url = Url::parse(source).map_err(|e| bad(format!("invalid URL {source:?}: {e}")))?;
        let fetcher = Fetcher::new(fetch::FetchSettings {
            user_agent: crate::config::DEFAULT_USER_AGENT.to_string(),
            ..fetch::FetchSettings::default()
        })?;
        let report = fetcher.fetch(&url, &Conditional::default()).await;
        let page = match report.result {
            Ok(Fetched::Page(p)) => p,
            Ok(Fetched::NotModified) => bail!("{url}: unexpected 304 Not Modified"),
            Err(e) => return Err(anyhow!(e)),
        };
        let format = forced
            .unwrap_or_else(|| Format::guess(source, page.content_type.as_deref(), &page.text));
        (page.text, format)
    } else {
        let path = Path::new(source);
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read {source}: {e}")))?;
        let (text, _) = fetch::decode(&bytes, None);
        let format = forced.unwrap_or_else(|| Format::guess(source, None, &text));
        (text, format)
    };
    let extracted =
        extract::extract(&text, format, rules).map_err(|e| bad(format!("{source}: {e}")))?;
    Ok(clauses::split(&extracted))
}

/// `clausewatch extract`: prints the clauses of a page or file, to write
/// selectors for a new document.
pub async fn extract_cmd(args: ExtractArgs) -> Result<i32> {
    for s in args.select.iter().chain(&args.remove) {
        extract::validate_selector(s)
            .map_err(|m| bad(format!("invalid CSS selector {s:?}: {m}")))?;
    }
    let rules = Rules {
        select: args.select,
        remove: args.remove,
        min_chars: 1,
    };
    let clauses = load_source(&args.source, &rules, args.input_format.map(Format::from)).await?;
    print_clauses(&clauses, args.format)?;
    Ok(0)
}

/// A side of `clausewatch diff`: a stored version reference or a file.
enum Side<'a> {
    Stored { doc: &'a str, at: VersionRef },
    File(&'a str),
}

enum VersionRef {
    Latest,
    Number(i64),
    Date(DateTime<Utc>),
}

fn parse_side(s: &str) -> Result<Side<'_>> {
    // A path that exists wins, so a file named "a@b" still works.
    if Path::new(s).exists() {
        return Ok(Side::File(s));
    }
    let Some((doc, v)) = s.rsplit_once('@') else {
        return Ok(Side::File(s));
    };
    let at = if v == "latest" {
        VersionRef::Latest
    } else if let Ok(n) = v.parse::<i64>() {
        VersionRef::Number(n)
    } else if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        // "the version current at that date": everything seen by the end of
        // that day.
        let end = d.and_hms_opt(23, 59, 59).expect("valid time").and_utc();
        VersionRef::Date(end)
    } else if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        VersionRef::Date(t.with_timezone(&Utc))
    } else {
        return Err(bad(format!(
            "{s:?}: after '@' write a version number, 'latest' or a date (YYYY-MM-DD)"
        )));
    };
    Ok(Side::Stored { doc, at })
}

async fn load_side(
    side: &Side<'_>,
    store: &mut Option<Store>,
    db: &DbArgs,
    rules: &Rules,
) -> Result<Vec<Clause>> {
    match side {
        Side::File(path) => load_source(path, rules, None).await,
        Side::Stored { doc, at } => {
            if store.is_none() {
                *store = Some(db.open().await?);
            }
            let st = store.as_ref().expect("opened above");
            let v = match at {
                VersionRef::Latest => st.latest_version(doc).await?,
                VersionRef::Number(n) => st.version(doc, *n).await?,
                VersionRef::Date(t) => st.version_at(doc, *t).await?,
            }
            .ok_or_else(|| bad(format!("no such stored version: {doc}@…")))?;
            Ok(st.clauses(v.id).await?)
        }
    }
}

/// `clausewatch diff`: the clause-level changes between two versions.
pub async fn diff_cmd(args: DiffArgs) -> Result<i32> {
    let rules = Rules {
        select: args.select.clone(),
        remove: args.remove.clone(),
        min_chars: 1,
    };
    let old_side = parse_side(&args.old)?;
    let new_side = parse_side(&args.new)?;
    let mut store = None;
    let old = load_side(&old_side, &mut store, &args.db, &rules).await?;
    let new = load_side(&new_side, &mut store, &args.db, &rules).await?;
    let config = args.db.config.load().ok();
    let options = config
        .as_ref()
        .map(check::diff_options)
        .unwrap_or_else(|| diff::DiffOptions {
            similarity: 0.5,
            watch_terms: diff::WatchTerms::defaults(),
        });
    let language = args
        .language
        .clone()
        .or_else(|| {
            let doc = match (&new_side, &old_side) {
                (Side::Stored { doc, .. }, _) | (_, Side::Stored { doc, .. }) => Some(*doc),
                _ => None,
            }?;
            config.as_ref()?.document(doc).map(|d| d.language.clone())
        })
        .unwrap_or_else(|| "en".to_string());
    let cs = diff::diff(&old, &new, &options, &language);
    let mut out = std::io::stdout().lock();
    match args.format {
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &cs)?;
            writeln!(out)?;
        }
        DiffFormat::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write!(out, "{}", diff::render_text(&cs, color))?;
        }
        DiffFormat::Thread => {
            let mut announce = match &config {
                Some(c) => check::Announce::from_config(c),
                None => check::Announce::from_config(
                    &Config::parse(Path::new("(none)"), "").expect("empty config parses"),
                ),
            };
            if let Some(m) = args.max_chars {
                announce.compose.max_chars = m;
            }
            let doc_id = match (&new_side, &old_side) {
                (Side::Stored { doc, .. }, _) | (_, Side::Stored { doc, .. }) => {
                    Some(doc.to_string())
                }
                _ => None,
            };
            let doc = doc_id
                .as_deref()
                .and_then(|id| config.as_ref()?.document(id).cloned());
            let doc = doc.unwrap_or_else(|| Document {
                id: doc_id.clone().unwrap_or_else(|| "document".into()),
                name: args.name.clone(),
                service: args.service.clone(),
                url: args
                    .url
                    .clone()
                    .unwrap_or_else(|| Url::parse("https://example.invalid/").expect("valid")),
                select: Vec::new(),
                remove: Vec::new(),
                schedule: crate::config::Schedule::parse(crate::config::DEFAULT_SCHEDULE)
                    .expect("valid"),
                language: language.clone(),
                tags: Vec::new(),
                json_field: None,
            });
            let thread = announce.thread(&doc, &cs, 2, Some(1), String::new());
            let texts: Vec<&str> = thread.posts.iter().map(|p| p.text.as_str()).collect();
            serde_json::to_writer_pretty(&mut out, &texts)?;
            writeln!(out)?;
        }
    }
    Ok(0)
}

/// `clausewatch status`: per document the last check, last change, failures
/// and last error.
pub async fn status(args: StatusArgs) -> Result<i32> {
    let store = args.db.open().await?;
    let docs = store.statuses().await?;
    let outbox = store.outbox_summary().await?;
    let cursor = store.kv_get("mention_cursor").await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({ "documents": docs, "outbox": outbox, "mention_cursor": cursor }),
            )?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            let when = |t: Option<DateTime<Utc>>| {
                t.map_or("never".to_string(), |t| {
                    t.format("%Y-%m-%d %H:%M").to_string()
                })
            };
            for d in &docs {
                let mut state = if d.paused {
                    "paused".to_string()
                } else if d.consecutive_failures > 0 {
                    format!(
                        "FAILING since {} ({} in a row, {})",
                        when(d.failing_since),
                        d.consecutive_failures,
                        d.last_error_class.as_deref().unwrap_or("error")
                    )
                } else if d.last_check.is_none() {
                    "not checked yet".to_string()
                } else {
                    "ok".to_string()
                };
                if d.flapping {
                    state.push_str(&format!(
                        ", flapping since {} (last {})",
                        when(d.flapping_since),
                        when(d.last_flap_at)
                    ));
                }
                if d.pending_change_since.is_some() {
                    state.push_str(&format!(
                        ", change awaiting confirmation since {}",
                        when(d.pending_change_since)
                    ));
                }
                if d.not_found_since.is_some() {
                    state.push_str(&format!(", not found since {}", when(d.not_found_since)));
                }
                writeln!(
                    out,
                    "{}: {state}; {} versions; last check {}; last change {}",
                    d.id,
                    d.versions,
                    when(d.last_check),
                    when(d.last_change)
                )?;
                if d.consecutive_failures > 0 {
                    if let Some(e) = &d.last_error {
                        writeln!(out, "    last error: {e}")?;
                    }
                }
            }
            writeln!(
                out,
                "outbox: {} pending, {} awaiting confirmation, {} sent, {} failed",
                outbox.pending, outbox.sending, outbox.sent, outbox.failed
            )?;
            for f in &outbox.failures {
                writeln!(
                    out,
                    "    failed: post {} of {}: {}",
                    f.seq, f.thread, f.error
                )?;
            }
            writeln!(
                out,
                "mention cursor: {}",
                cursor.as_deref().unwrap_or("none")
            )?;
        }
    }
    Ok(0)
}

/// `clausewatch backup`: a consistent copy of the database.
pub async fn backup(args: BackupArgs) -> Result<i32> {
    if args.path.exists() {
        return Err(bad(format!(
            "{} already exists; choose a new file",
            args.path.display()
        )));
    }
    let store = args.db.open().await?;
    store
        .backup(&args.path)
        .await
        .with_context(|| format!("backup to {}", args.path.display()))?;
    eprintln!("backup written to {}", args.path.display());
    Ok(0)
}

/// `clausewatch export`: every version of a document as a Markdown file
/// named by date, plus an index, so the history can leave the bot.
pub async fn export(args: ExportArgs) -> Result<i32> {
    let store = args.db.open().await?;
    let versions = store.history(&args.document, None).await?;
    if versions.is_empty() {
        return Err(bad(format!(
            "no versions of {:?} in the database",
            args.document
        )));
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    let mut used = std::collections::HashSet::new();
    let mut index = String::from("version\tfile\tfirst_seen\tlast_seen\thash\tclauses\n");
    for v in versions.iter().rev() {
        let clauses = store.clauses(v.id).await?;
        let blocks = clauses
            .iter()
            .map(|c| extract::Block {
                kind: c.kind,
                text: c.text.clone(),
            })
            .collect();
        let text = extract::Extracted { blocks }.to_text();
        // Named by date like the Open Terms Archive data; two versions seen
        // within one second (possible with `check` run by hand) keep apart.
        let stamp = v.first_seen.format("%Y-%m-%dT%H%M%SZ").to_string();
        let file = if used.insert(stamp.clone()) {
            format!("{stamp}.md")
        } else {
            format!("{stamp}-v{}.md", v.version)
        };
        let path = args.dir.join(&file);
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
        index.push_str(&format!(
            "{}\t{file}\t{}\t{}\t{}\t{}\n",
            v.version,
            crate::store::ts(v.first_seen),
            crate::store::ts(v.last_seen),
            v.hash,
            v.clauses
        ));
    }
    let index_path = args.dir.join("index.tsv");
    std::fs::write(&index_path, index)
        .with_context(|| format!("write {}", index_path.display()))?;
    eprintln!(
        "{} versions written to {}",
        versions.len(),
        args.dir.display()
    );
    Ok(0)
}

/// Parses the date in a version file name or index: `2023-09-29T231259Z`
/// or RFC 3339.
fn parse_version_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

/// `clausewatch import`: loads a version history recorded elsewhere (Open
/// Terms Archive data, or an export of another clausewatch) with its dates.
/// Imported versions are never announced.
pub async fn import(args: ImportArgs) -> Result<i32> {
    let config = args.config.load()?;
    let doc = config
        .document(&args.document)
        .ok_or_else(|| unknown_document(&config, &args.document))?;
    let index = args.dir.join("index.tsv");
    let mut entries: Vec<(DateTime<Utc>, PathBuf)> = Vec::new();
    if index.exists() {
        let text =
            std::fs::read_to_string(&index).with_context(|| format!("read {}", index.display()))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (file_col, date_col) = match (col("file"), col("date").or_else(|| col("first_seen"))) {
            (Some(f), Some(d)) => (f, d),
            _ => {
                return Err(bad(format!(
                    "{}: needs 'file' and 'date' (or 'first_seen') columns",
                    index.display()
                )))
            }
        };
        for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (Some(file), Some(date)) = (cols.get(file_col), cols.get(date_col)) else {
                return Err(bad(format!(
                    "{}:{}: missing columns",
                    index.display(),
                    n + 2
                )));
            };
            let date = parse_version_date(date)
                .ok_or_else(|| bad(format!("{}:{}: bad date {date:?}", index.display(), n + 2)))?;
            entries.push((date, args.dir.join(file)));
        }
    } else {
        for entry in
            std::fs::read_dir(&args.dir).with_context(|| format!("read {}", args.dir.display()))?
        {
            let path = entry?.path();
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if let Some(date) = parse_version_date(&stem) {
                entries.push((date, path));
            }
        }
    }
    entries.sort();
    if entries.is_empty() {
        return Err(bad(format!("no versions found in {}", args.dir.display())));
    }
    let store = open_store(&config).await?;
    if let Some(latest) = store.latest_version(&doc.id).await? {
        if latest.first_seen >= entries[0].0 {
            return Err(bad(format!(
                "{} already has versions up to {}; import only into an empty history or with later dates",
                doc.id, latest.first_seen
            )));
        }
    }
    let options = check::diff_options(&config);
    let rules = Rules {
        select: doc.select.clone(),
        remove: doc.remove.clone(),
        min_chars: 1,
    };
    let mut previous: Option<Vec<Clause>> = match store.latest_version(&doc.id).await? {
        Some(v) => Some(store.clauses(v.id).await?),
        None => None,
    };
    let (mut imported, mut same) = (0, 0);
    for (date, path) in &entries {
        let source = path.to_string_lossy().to_string();
        let clauses = load_source(&source, &rules, None).await?;
        let hash = clauses::version_hash(&clauses);
        let changeset = previous.as_ref().map(|old| {
            let cs = diff::diff(old, &clauses, &options, &doc.language);
            crate::store::ChangeSetIn {
                counts: check::counts(&cs),
                json: serde_json::to_string(&cs).expect("change sets serialize"),
            }
        });
        match store
            .import_version(doc, *date, &clauses, &hash, changeset)
            .await?
        {
            Some(_) => imported += 1,
            None => same += 1,
        }
        previous = Some(clauses);
    }
    store.close().await;
    println!(
        "{}: {imported} versions imported, {same} identical to the previous one",
        doc.id
    );
    Ok(0)
}

/// `clausewatch login`: registers the app and writes a token file.
pub async fn login(args: LoginArgs) -> Result<i32> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout();
    crate::fediverse::setup::login(
        &args.instance,
        &args.token_file,
        args.force,
        &mut input,
        &mut out,
    )
    .await?;
    Ok(0)
}

/// `clausewatch doctor`: checks the config, the instance and the token, and
/// says what to fix. Exit 1 when something needs fixing.
pub async fn doctor(args: DoctorArgs) -> Result<i32> {
    let config = args.config.load()?;
    let mut out = std::io::stdout();
    let ok = crate::fediverse::setup::doctor(&config, &mut out).await?;
    Ok(if ok { 0 } else { 1 })
}
