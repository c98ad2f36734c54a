//! `clausewatch status`: each document's last check, last change and
//! failures, and the outbox.

use super::*;

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// `clausewatch status`: per document the last check, last change, failures
/// and last error.
pub async fn status(args: StatusArgs) -> Result<Exit> {
    let store = args.db.open().await?;
    let docs = store.statuses().await?;
    let outbox = store.outbox_summary().await?;
    let cursor = store.kv_get("mention_cursor").await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let report = json::Status {
                json_version: json::JSON_VERSION,
                documents: docs.iter().map(Into::into).collect(),
                outbox: (&outbox).into(),
                mention_cursor: cursor.clone(),
            };
            serde_json::to_writer_pretty(&mut out, &report)?;
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
                        d.last_error_class.map_or("error", |c| c.as_str())
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
    Ok(Exit::Ok)
}
