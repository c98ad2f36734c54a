//! `clausewatch status`: each document's last check, last change and
//! failures, and the outbox.

use super::*;
use crate::pipeline::fetch::browser;

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
    // The schedules are in the config: read it when there is one. With
    // `--db` a config that is absent (or broken) only makes the next checks
    // unknown.
    let config = if args.db.db.is_some() {
        match args.db.config.load_if_present() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("clausewatch: {e:#} (next checks unknown)");
                None
            }
        }
    } else {
        Some(args.db.config.load()?)
    };
    // A config whose database is not made yet still has documents to
    // show: every one is "not checked yet".
    let fresh = match (&config, &args.db.db) {
        (Some(c), None) => !c.storage.path.exists(),
        _ => false,
    };
    let store = if fresh {
        None
    } else {
        Some(args.db.open().await?)
    };
    let mut docs = match &store {
        Some(store) => store.statuses().await?,
        None => Vec::new(),
    };
    if let Some(config) = &config {
        add_unchecked(&mut docs, config);
    }
    let now = Utc::now();
    let next: Vec<NextCheck> = docs
        .iter()
        .map(|d| next_check(config.as_ref(), d, now))
        .collect();
    let (outbox, cursor, paused) = match &store {
        Some(store) => (
            store.outbox_summary().await?,
            store.kv_get("mention_cursor").await?,
            store
                .kv_get(crate::fediverse::publisher::BLOCKED_KEY)
                .await?,
        ),
        None => Default::default(),
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let report = json::Status {
                json_version: json::JSON_VERSION,
                documents: docs
                    .iter()
                    .zip(&next)
                    .map(|(d, n)| json::DocumentEntry {
                        next_check: n.at(),
                        ..d.into()
                    })
                    .collect(),
                outbox: (&outbox).into(),
                mention_cursor: cursor.clone(),
                publishing_paused: paused.clone(),
            };
            let mut report = serde_json::to_value(&report)?;
            // The browser is the daemon's, seen from here through /proc.
            report["browser"] = match browser::memory() {
                Some(m) => {
                    serde_json::json!({"processes": m.processes, "memory_bytes": m.memory_bytes})
                }
                None => serde_json::Value::Null,
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
            for (d, next) in docs.iter().zip(&next) {
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
                let next = match next {
                    NextCheck::At(t) if *t <= now => "now".to_string(),
                    NextCheck::At(t) => when(Some(*t)),
                    NextCheck::Paused => "none while paused".to_string(),
                    NextCheck::NotConfigured => "none (not in the config)".to_string(),
                    NextCheck::NoConfig => "unknown (no config file read)".to_string(),
                };
                writeln!(
                    out,
                    "{}: {state}; {} versions; last check {}; last change {}; next check {next}",
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
            if let Some(p) = &paused {
                writeln!(
                    out,
                    "    POSTING PAUSED {p} (run `clausewatch doctor`; posts wait, none is lost)"
                )?;
            }
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
            match browser::memory() {
                Some(m) => writeln!(
                    out,
                    "browser: running, {} processes, {:.1} MiB (proportional set size)",
                    m.processes,
                    m.memory_bytes as f64 / (1024.0 * 1024.0)
                )?,
                None => writeln!(out, "browser: not running")?,
            }
        }
    }
    Ok(Exit::Ok)
}

/// The configured documents the store has not seen yet (a declaration
/// folder just added, a database not made yet), in config order after the
/// known ones.
fn add_unchecked(docs: &mut Vec<crate::store::DocumentStatus>, config: &Config) {
    for d in &config.documents {
        if docs.iter().any(|known| known.id == d.id) {
            continue;
        }
        docs.push(crate::store::DocumentStatus {
            id: d.id.clone(),
            name: d.name.clone(),
            url: crate::pipeline::fetch::redact(&d.url).to_string(),
            paused: false,
            versions: 0,
            last_check: None,
            last_success: None,
            last_change: None,
            consecutive_failures: 0,
            failing_since: None,
            last_error_class: None,
            last_error: None,
            flapping: false,
            flapping_since: None,
            last_flap_at: None,
            pending_change_since: None,
            not_found_since: None,
        });
    }
}

/// When a document is checked next, as far as `status` can tell.
enum NextCheck {
    At(DateTime<Utc>),
    Paused,
    /// In the database but no longer in the config: not checked.
    NotConfigured,
    /// No config read: the schedule is unknown.
    NoConfig,
}

impl NextCheck {
    fn at(&self) -> Option<DateTime<Utc>> {
        match self {
            NextCheck::At(t) => Some(*t),
            _ => None,
        }
    }
}

/// The scheduler's own rule ([`schedule::next_check`]) on what the store
/// says of the document.
fn next_check(
    config: Option<&Config>,
    d: &crate::store::DocumentStatus,
    now: DateTime<Utc>,
) -> NextCheck {
    let Some(config) = config else {
        return NextCheck::NoConfig;
    };
    let Some(doc) = config.document(&d.id) else {
        return NextCheck::NotConfigured;
    };
    if d.paused {
        return NextCheck::Paused;
    }
    let state = schedule::DueState {
        last_check: d.last_check,
        consecutive_failures: d.consecutive_failures,
        pending_since: d.pending_change_since,
    };
    NextCheck::At(schedule::next_check(
        &doc.schedule,
        &state,
        config.defaults.confirm_after,
        now,
    ))
}
