//! `clausewatch outbox`: the threads waiting to be posted, being posted,
//! posted or stopped at a refused post; `outbox retry [KEY]` puts refused
//! posts back in line.

use super::*;
use crate::domain::OutboxState;
use crate::store::ThreadView;

#[derive(Args, Debug)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Show at most this many threads, the newest.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
}

#[derive(clap::Subcommand, Debug)]
pub enum OutboxAction {
    /// Put the failed posts of thread KEY (default: every thread) back in
    /// line, in their place; a running daemon sends them within seconds.
    Retry {
        /// A thread key as `outbox` lists it.
        key: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// `clausewatch outbox`.
pub async fn outbox(args: OutboxArgs) -> Result<Exit> {
    match &args.action {
        Some(OutboxAction::Retry { key, db }) => retry(db, key.as_deref()).await,
        None => list(&args).await,
    }
}

async fn retry(db: &DbArgs, key: Option<&str>) -> Result<Exit> {
    let path = db.path()?;
    let store = Store::open(&path)
        .await
        .with_context(|| format!("database {}", path.display()))?;
    if let Some(k) = key {
        if !store.thread_exists(k).await? {
            store.close().await;
            return Err(bad(format!(
                "no thread {k:?} in the outbox (see `clausewatch outbox`)"
            )));
        }
    }
    let n = store.retry_failed(key).await?;
    store.close().await;
    println!("{n} failed posts back in line");
    Ok(Exit::Ok)
}

async fn list(args: &OutboxArgs) -> Result<Exit> {
    let store = args.db.open().await?;
    let threads = store.threads(args.limit).await?;
    let blocked = store
        .kv_get(crate::fediverse::publisher::BLOCKED_KEY)
        .await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let rows: Vec<json::OutboxThread> = threads.iter().map(Into::into).collect();
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            if let Some(b) = &blocked {
                writeln!(out, "posting paused {b}")?;
            }
            for t in &threads {
                render_thread(&mut out, t)?;
            }
            if threads.is_empty() {
                writeln!(out, "the outbox is empty")?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn render_thread(out: &mut impl Write, t: &ThreadView) -> std::io::Result<()> {
    let about = match (&t.document, t.version) {
        (Some(d), Some(v)) => format!(" {d} v{v}"),
        (Some(d), None) => format!(" {d}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "{} [{}{about}] {}, {}",
        t.key,
        t.kind,
        t.state(),
        t.created_at.format("%Y-%m-%d %H:%M")
    )?;
    for p in &t.posts {
        let first_line = p.text.lines().next().unwrap_or_default();
        let short: String = first_line.chars().take(70).collect();
        write!(out, "  {:>2}. {:<7} {short}", p.seq, p.state.as_str())?;
        if let Some(id) = &p.remote_id {
            write!(out, " → {id}")?;
        }
        if p.state != OutboxState::Sent {
            if let Some(e) = &p.error {
                write!(out, "\n      {e}")?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}
