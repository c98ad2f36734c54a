//! The optional HTTP listener (`[http] listen`): `/healthz`, `/metrics`
//! and, when the daemon gives it a [`crate::web::Web`], the read-only web
//! pages, feeds and `/api/…` (rate limited per client, with security
//! headers).
//!
//! Off by default: a bot that only talks outwards needs no open port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::store::Store;

/// What the listener reads.
#[derive(Clone)]
pub struct Shared {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Cleared when the scheduler stops (or dies).
    pub scheduler_alive: Arc<AtomicBool>,
    /// The web pages, served beside `/healthz` when present.
    pub web: Option<crate::web::Web>,
    /// False when `/metrics` is served on a private listener instead.
    pub serve_metrics: bool,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    database: bool,
    scheduler: bool,
    last_success: Option<DateTime<Utc>>,
    last_success_age_seconds: Option<i64>,
    /// Posts the server refused; their threads wait (`clausewatch outbox`).
    outbox_failed: i64,
    /// Why posting is paused (the token was refused), when it is.
    publishing_paused: Option<String>,
}

async fn healthz(State(s): State<Shared>) -> impl IntoResponse {
    let last = s.store.last_success().await;
    let database = last.is_ok();
    let last_success = last.ok().flatten();
    let scheduler = s.scheduler_alive.load(Ordering::Relaxed);
    let ok = database && scheduler;
    let outbox_failed = s.store.outbox_summary().await.map_or(0, |o| o.failed);
    let publishing_paused = s
        .store
        .kv_get(crate::fediverse::publisher::BLOCKED_KEY)
        .await
        .ok()
        .flatten();
    // Watching works but something waits for a person: still 200, so that
    // a supervisor does not restart a bot that restarting cannot fix.
    let degraded = outbox_failed > 0 || publishing_paused.is_some();
    let body = Health {
        status: match (ok, degraded) {
            (false, _) => "failing",
            (true, true) => "degraded",
            (true, false) => "ok",
        },
        database,
        scheduler,
        last_success,
        last_success_age_seconds: last_success.map(|t| (Utc::now() - t).num_seconds()),
        outbox_failed,
        publishing_paused,
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}

async fn metrics(State(s): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

/// Binds the listener (so a bad address fails at start) and returns the
/// server future.
pub async fn serve(
    listen: SocketAddr,
    shared: Shared,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<impl std::future::Future<Output = std::io::Result<()>>> {
    let web = shared.web.clone();
    let mut app = Router::new().route("/healthz", get(healthz));
    if shared.serve_metrics {
        app = app.route("/metrics", get(metrics));
    }
    let mut app = app.with_state(shared);
    if let Some(web) = web {
        let limiter = crate::web::limit::Limiter::new(crate::web::limit::Rate::default());
        app = app.merge(crate::web::router(web, limiter));
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(listen = %listener.local_addr()?, "http listener started");
    Ok(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
    })
}
