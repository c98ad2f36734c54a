//! clausewatch: watches privacy policies and terms of service, diffs them
//! clause by clause, and tells the fediverse.
//!
//! This file only wires command-line commands to the library. The pipeline
//! is described in ARCHITECTURE.md; each command's entry point lives in
//! `clausewatch::app`:
//!
//! - `run`: the daemon; checks every document on its cron schedule.
//! - `check`: one check of the given (or all) documents now.
//! - `history`: the stored versions of a document, newest first.
//! - `show`: the clauses of a stored version.
//! - `extract`: the clauses of a URL or file, to write selectors.
//! - `diff`: the clause-level changes between two files or stored versions.
//! - `status`: each document's last check, last change and failures.
//! - `outbox`: the outbox's threads and posts; `outbox retry` re-queues refused posts.
//! - `backup`: a consistent copy of the database (`VACUUM INTO`).
//! - `export`: a document's versions as Markdown files, with an index.
//! - `import`: a version history recorded elsewhere, with its dates.
//! - `login`: registers with an instance (OAuth, out of band), writes a token file.
//! - `doctor`: checks config, instance, token, limits; says what to fix.
//!
//! Exit status ([`clausewatch::app::Exit`]): 0 success, 1 a check failed,
//! 2 bad input (arguments, config file, unknown document), 3 anything else
//! (database, I/O).

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use clausewatch::app;

#[derive(Parser, Debug)]
#[command(
    name = "clausewatch",
    version,
    about = "Watches policy pages and reports clause-level changes"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon: check every document on its schedule until stopped.
    Run(app::RunArgs),
    /// Check the given documents (default: all) once, now.
    Check(app::CheckArgs),
    /// List the stored versions of a document, newest first.
    History(app::HistoryArgs),
    /// Print the clauses of a stored version (default: the latest).
    Show(app::ShowArgs),
    /// Fetch a URL or read a file and print its clauses.
    Extract(app::ExtractArgs),
    /// Compare two files or stored versions clause by clause.
    Diff(app::DiffArgs),
    /// Show each document's last check, last change and failures.
    Status(app::StatusArgs),
    /// List the configured documents (bot.toml and declaration folders).
    List(app::ListArgs),
    /// List the outbox's threads and posts; `outbox retry [KEY]` re-queues
    /// refused posts.
    Outbox(app::OutboxArgs),
    /// Write a consistent copy of the database to PATH.
    Backup(app::BackupArgs),
    /// Write every version of a document as Markdown files, with an index.
    Export(app::ExportArgs),
    /// Load a version history (e.g. Open Terms Archive data) with its dates.
    Import(app::ImportArgs),
    /// Register with a fediverse instance and write an access token file.
    Login(app::LoginArgs),
    /// Check the config, the instance and the token, and say what to fix.
    Doctor(app::DoctorArgs),
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Colour only for a person at a terminal; journald and files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn main() -> ExitCode {
    app::process::limit_malloc_arenas();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match app::process::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clausewatch: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(a) => app::run(a).await,
            Command::Check(a) => app::check(a).await,
            Command::History(a) => app::history(a).await,
            Command::Show(a) => app::show(a).await,
            Command::Extract(a) => app::extract_cmd(a).await,
            Command::Diff(a) => app::diff_cmd(a).await,
            Command::Status(a) => app::status(a).await,
            Command::List(a) => app::list(a).await,
            Command::Outbox(a) => app::outbox(a).await,
            Command::Backup(a) => app::backup(a).await,
            Command::Export(a) => app::export(a).await,
            Command::Import(a) => app::import(a).await,
            Command::Login(a) => app::login(a).await,
            Command::Doctor(a) => app::doctor(a).await,
        }
    });
    match result {
        Ok(exit) => exit.into(),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clausewatch: {e:#}");
            app::Exit::of_error(&e).into()
        }
    }
}

/// `clausewatch show x | head` closes our stdout early; that is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}
