//! `clausewatch run`: the daemon's composition root. It opens the store,
//! connects the account (or the preview), builds the checker with the
//! instance's limits, and runs the scheduler, the publisher, the mention
//! listener and the HTTP listener until a signal.

use super::*;
use crate::fediverse::connection::Connection;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// How long in-flight work may take after SIGTERM before the daemon exits
/// anyway. A check cut short writes nothing (its one transaction never
/// began), so it is simply done again at the next start; systemd's default
/// stop timeout is 90 s, a person's patience about 10.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(8);

/// `clausewatch run`: the daemon.
pub async fn run(args: RunArgs) -> Result<Exit> {
    let config = Arc::new(args.config.load()?);
    let store = open_store(&config).await?;
    let metrics = Arc::new(crate::metrics::Metrics::default());
    // The account first: its instance's limits shape every thread, so the
    // checker is built with them and nothing feeds them back later.
    let (sink, connection, domain, announce) = connect_sink(&config, &store).await?;
    let checker =
        Checker::new(&config, store.clone(), announce.clone())?.with_metrics(metrics.clone());
    tracing::info!(
        config = %config.path.display(),
        database = %config.storage.path.display(),
        documents = config.documents.len(),
        "clausewatch started"
    );
    let (tx, rx) = watch::channel(false);
    let scheduler_alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut http = Vec::new();
    let shared = |web: Option<crate::web::Web>, serve_metrics: bool| crate::http::Shared {
        store: store.clone(),
        metrics: metrics.clone(),
        scheduler_alive: scheduler_alive.clone(),
        web,
        serve_metrics,
    };
    if let Some(listen) = config.http_listen {
        // Without `public_url` the listener stays what it was: health and
        // metrics, no pages.
        let web = match &config.public_url {
            Some(base) => Some(crate::web::Web::new(
                store.clone(),
                config.clone(),
                base.clone(),
            )?),
            None => None,
        };
        let on = shared(web, config.metrics_listen.is_none());
        let server = crate::http::serve(listen, on, rx.clone())
            .await
            .map_err(|e| bad(format!("cannot listen on {listen} ([http] listen): {e}")))?;
        http.push(tokio::spawn(server));
    }
    if let Some(listen) = config.metrics_listen {
        let server = crate::http::serve(listen, shared(None, true), rx.clone())
            .await
            .map_err(|e| {
                bad(format!(
                    "cannot listen on {listen} ([http] metrics_listen): {e}"
                ))
            })?;
        http.push(tokio::spawn(server));
    }
    let mut signal_rx = rx.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight checks");
        let _ = tx.send(true);
    });
    let wake = Arc::new(tokio::sync::Notify::new());
    let publisher = crate::fediverse::publisher::Publisher {
        store: store.clone(),
        sink,
        post_interval: config
            .fediverse
            .as_ref()
            .map_or(std::time::Duration::ZERO, |f| f.post_interval),
        metrics: metrics.clone(),
        wake: wake.clone(),
        auth_failures: Default::default(),
    };
    let publisher = tokio::spawn(publisher.run(rx.clone()));
    let listener = match (&connection, &config.fediverse) {
        (Some(connection), Some(f)) if f.answer_mentions => {
            let listener = crate::mentions::listen::Listener {
                connection: connection.clone(),
                domain,
                store: store.clone(),
                config: config.clone(),
                checker: checker.clone(),
                announce,
                limits: crate::mentions::listen::Limits {
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
    // One deadline for everything after the signal.
    let (deadline_tx, mut deadline_rx) = watch::channel(None::<tokio::time::Instant>);
    let mut deadline_signal = signal_rx.clone();
    tokio::spawn(async move {
        let _ = deadline_signal.wait_for(|stop| *stop).await;
        let _ = deadline_tx.send(Some(tokio::time::Instant::now() + SHUTDOWN_GRACE));
    });
    tokio::select! {
        _ = &mut scheduler => {}
        _ = async {
            let _ = signal_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(grace_seconds = SHUTDOWN_GRACE.as_secs(), "in-flight checks did not finish in time; exiting anyway (they wrote nothing and run again at the next start)");
        }
    }
    scheduler_alive.store(false, std::sync::atomic::Ordering::Relaxed);
    let deadline = deadline_rx
        .wait_for(|d| d.is_some())
        .await
        .ok()
        .and_then(|d| *d)
        .unwrap_or_else(|| tokio::time::Instant::now() + SHUTDOWN_GRACE);
    // The publisher finishes the post it is sending if it can in time; a
    // post cut short stays `sending` and is looked for on the server first
    // at the next start, so nothing is posted twice.
    let _ = tokio::time::timeout_at(deadline, publisher).await;
    if let Some(l) = listener {
        let _ = tokio::time::timeout_at(deadline, l).await;
    }
    for h in http {
        let _ = tokio::time::timeout_at(deadline, h).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(Exit::Ok)
}

/// The `kv` key of the instance's limits as last read: used when the
/// instance cannot be reached at start.
const LIMITS_KEY: &str = "instance_limits";

/// How long the start may wait for the instance's limits.
const LIMITS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The publisher's destination (the configured account, connected lazily,
/// or the preview on stdout), the connection for the mention listener, the
/// bot's own domain when known, and the thread settings with the
/// instance's limits. An instance that is down never stops the daemon:
/// the limits then come from the last time it answered.
async fn connect_sink(
    config: &Config,
    store: &Store,
) -> Result<(
    crate::fediverse::publisher::Sink,
    Option<Arc<Connection>>,
    Option<String>,
    Announce,
)> {
    use crate::fediverse::{client::Client, publisher::Sink, token};
    let Some(f) = &config.fediverse else {
        tracing::info!(
            "no [fediverse] account configured: threads are printed on stdout (preview)"
        );
        return Ok((Sink::Preview, None, None, Announce::from_config(config)));
    };
    // A missing or unsafe token file is the operator's to fix: say so now.
    let token = token::load(f.token_file.as_deref()).map_err(|e| bad(e.to_string()))?;
    let client = Client::new(&f.instance, token, f.request_timeout)?;
    let (max_chars, chars_per_url, domain) = match tokio::time::timeout(
        LIMITS_TIMEOUT,
        client.instance(),
    )
    .await
    {
        Ok(info) if info.source != "default" => {
            let cached = format!(
                "{} {} {}",
                info.max_chars,
                info.chars_per_url,
                info.domain.clone().unwrap_or_default()
            );
            store.kv_set(LIMITS_KEY, &cached).await?;
            tracing::info!(instance = %f.instance, max_chars = info.max_chars, limit_source = info.source, domain = info.domain.as_deref().unwrap_or("?"), "instance limits read");
            (info.max_chars, info.chars_per_url, info.domain)
        }
        _ => {
            let cached = store.kv_get(LIMITS_KEY).await?;
            let mut parts = cached.as_deref().unwrap_or_default().split(' ');
            let max = parts.next().and_then(|p| p.parse().ok());
            let per_url = parts.next().and_then(|p| p.parse().ok());
            let domain = parts.next().filter(|d| !d.is_empty()).map(String::from);
            tracing::warn!(instance = %f.instance, cached = cached.is_some(), "the instance's limits cannot be read now; using the last known ones (or the defaults)");
            (
                max.unwrap_or(crate::defaults::MAX_CHARS),
                per_url.unwrap_or(crate::defaults::CHARS_PER_URL),
                domain,
            )
        }
    };
    let announce = Announce::from_config(config).with_limits(max_chars, chars_per_url);
    let connection = Arc::new(Connection::new(client, f.token_file.clone()));
    Ok((
        Sink::Account(connection.clone()),
        Some(connection),
        domain,
        announce,
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
