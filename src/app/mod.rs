//! The command line: one file per command, each with its arguments and an
//! entry point that only wires stages together and renders their results
//! (text or JSON). The daemon's composition root is [`run`](mod@run).
//!
//! Every entry point returns an [`Exit`]. Errors caused by what the user
//! typed or wrote are [`BadInput`] (exit 2); database and other machine
//! failures exit 3.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use tokio::sync::watch;
use url::Url;

use crate::announce::Announce;
use crate::config::{Config, Document};
use crate::pipeline::clauses::{self, Clause};
use crate::pipeline::diff;
use crate::pipeline::extract::{self, Format};
use crate::pipeline::fetch::{Conditional, Fetcher};
use crate::pipeline::observe::{self, ObserveRules, Seen};
use crate::store::Store;
use crate::watch::check::{self, Checker, Outcome};
use crate::watch::schedule;

pub mod backup;
pub mod check_cmd;
pub mod diff_cmd;
pub mod export;
pub mod extract_cmd;
use extract_cmd::{ad_hoc_rules, load_source};
pub mod history;
pub mod import;
pub mod json;
pub mod list;
pub mod outbox;
pub mod process;
pub mod run;
pub mod setup;
pub mod show;
pub mod status;

pub use backup::{backup, BackupArgs};
pub use check_cmd::{check, CheckArgs};
pub use diff_cmd::{diff_cmd, DiffArgs};
pub use export::{export, ExportArgs};
pub use extract_cmd::{extract_cmd, ExtractArgs};
pub use history::{history, HistoryArgs};
pub use import::{import, ImportArgs};
pub use list::{list, ListArgs};
pub use outbox::{outbox, OutboxArgs};
pub use run::{run, RunArgs};
pub use setup::{doctor, login, DoctorArgs, LoginArgs};
pub use show::{show, ShowArgs};
pub use status::{status, StatusArgs};

/// How a command ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: a check failed (or `doctor` found something to fix).
    CheckFailed,
    /// 2: bad input: arguments, config file, unknown document.
    BadInput,
    /// 3: anything else: database, I/O.
    Internal,
}

impl Exit {
    /// The exit status for an error: [`BadInput`] anywhere in its chain is
    /// 2, anything else (a database error included) 3.
    pub fn of_error(e: &anyhow::Error) -> Exit {
        if e.chain().any(|c| c.downcast_ref::<BadInput>().is_some()) {
            Exit::BadInput
        } else if e
            .chain()
            .any(|c| c.downcast_ref::<observe::Failure>().is_some())
        {
            Exit::CheckFailed
        } else {
            Exit::Internal
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Ok => 0,
            Exit::CheckFailed => 1,
            Exit::BadInput => 2,
            Exit::Internal => 3,
        })
    }
}

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

    /// The config when its file exists (commands that also work without
    /// one); a file that exists but does not parse is still an error.
    pub fn load_if_present(&self) -> Result<Option<Config>> {
        if self.config.exists() {
            self.load().map(Some)
        } else {
            Ok(None)
        }
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

    /// Opens the database read-only ([`Store::open_read_only`]): the read
    /// commands never migrate, write or leave files beside it. Its errors
    /// say what to do, once, and exit 3.
    async fn open(&self) -> Result<Store> {
        let path = self.path()?;
        Ok(Store::open_read_only(&path).await?)
    }

    /// Read-only like `DbArgs::open`, whatever the schema: for
    /// `backup`, which should copy an old database before its upgrade
    /// (`backup.rs` is to call this instead of `open`).
    pub async fn open_any_schema(&self) -> Result<Store> {
        let path = self.path()?;
        Ok(Store::open_read_only_any_schema(&path).await?)
    }
}

async fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.storage.path)
        .await
        .with_context(|| format!("database {}", config.storage.path.display()))
}

fn unknown_document(config: &Config, id: &str) -> anyhow::Error {
    let ids: Vec<&str> = config.documents.iter().map(|d| d.id.as_str()).collect();
    bad(format!(
        "unknown document {id:?} in {}; known: {}",
        config.path.display(),
        ids.join(", ")
    ))
}

fn print_clauses(clauses: &[Clause], format: OutputFormat) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            let rows: Vec<json::ClauseEntry> = clauses.iter().map(Into::into).collect();
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
