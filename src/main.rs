//! clausewatch: watches privacy policies and terms of service, diffs them
//! clause by clause, and tells the fediverse.
//!
//! This file only wires command-line commands to the library. The pipeline
//! is described in ARCHITECTURE.md; each command's entry point lives in
//! `clausewatch::cli`:
//!
//! - `run`: the daemon; checks every document on its cron schedule.
//! - `check`: one check of the given (or all) documents now.
//! - `history`: the stored versions of a document, newest first.
//! - `show`: the clauses of a stored version.
//! - `extract`: the clauses of a URL or file, to write selectors.
//! - `diff`: the clause-level changes between two files or stored versions.
//! - `status`: each document's last check, last change and failures.
//! - `backup`: a consistent copy of the database (`VACUUM INTO`).
//! - `export`: a document's versions as Markdown files, with an index.
//! - `import`: a version history recorded elsewhere, with its dates.
//! - `login`: registers with an instance (OAuth, out of band), writes a token file.
//! - `doctor`: checks config, instance, token, limits; says what to fix.
//!
//! Exit status: 0 success, 1 a check failed, 2 bad input (arguments, config
//! file, unknown document), 3 anything else (database, I/O).

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use clausewatch::cli;

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
    Run(cli::RunArgs),
    /// Check the given documents (default: all) once, now.
    Check(cli::CheckArgs),
    /// List the stored versions of a document, newest first.
    History(cli::HistoryArgs),
    /// Print the clauses of a stored version (default: the latest).
    Show(cli::ShowArgs),
    /// Fetch a URL or read a file and print its clauses.
    Extract(cli::ExtractArgs),
    /// Compare two files or stored versions clause by clause.
    Diff(cli::DiffArgs),
    /// Show each document's last check, last change and failures.
    Status(cli::StatusArgs),
    /// Write a consistent copy of the database to PATH.
    Backup(cli::BackupArgs),
    /// Write every version of a document as Markdown files, with an index.
    Export(cli::ExportArgs),
    /// Load a version history (e.g. Open Terms Archive data) with its dates.
    Import(cli::ImportArgs),
    /// Register with a fediverse instance and write an access token file.
    Login(cli::LoginArgs),
    /// Check the config, the instance and the token, and say what to fix.
    Doctor(cli::DoctorArgs),
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
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clausewatch: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(a) => cli::run(a).await,
            Command::Check(a) => cli::check(a).await,
            Command::History(a) => cli::history(a).await,
            Command::Show(a) => cli::show(a).await,
            Command::Extract(a) => cli::extract_cmd(a).await,
            Command::Diff(a) => cli::diff_cmd(a).await,
            Command::Status(a) => cli::status(a).await,
            Command::Backup(a) => cli::backup(a).await,
            Command::Export(a) => cli::export(a).await,
            Command::Import(a) => cli::import(a).await,
            Command::Login(a) => cli::login(a).await,
            Command::Doctor(a) => cli::doctor(a).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clausewatch: {e:#}");
            if e.downcast_ref::<cli::BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(3)
            }
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
