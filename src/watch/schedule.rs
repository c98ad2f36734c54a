//! The daemon's clock: runs each document's check on its cron schedule.
//!
//! One task per document. After downtime, a document whose last check is
//! older than its previous scheduled tick is checked once at start, not once
//! per missed tick. Checks are never cancelled half-way: on shutdown a task
//! finishes its in-flight check, then stops.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::watch;

use super::check::{Checker, Outcome};
use super::decide::Verdict;
use crate::config::{Config, Document};

/// Something to tell about each check (the publisher, metrics).
pub type OnOutcome = Arc<dyn Fn(&Document, &Outcome) + Send + Sync>;

/// When the next check of a document is due, given its last check.
///
/// A document never checked, or whose last check is older than the tick
/// before now, is due at once: that is the "missed schedule runs once" rule.
pub fn next_due(
    schedule: &cron::Schedule,
    last_check: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(last) = last_check else { return now };
    match schedule.after(&last).next() {
        Some(tick) if tick <= now => now,
        Some(tick) => tick,
        // A schedule with no future tick was rejected by config validation;
        // checking once a day is the least surprising fallback.
        None => now + chrono::Duration::days(1),
    }
}

/// Runs every document on its schedule until `shutdown` becomes true.
pub async fn run(
    config: Arc<Config>,
    checker: Checker,
    on_outcome: OnOutcome,
    shutdown: watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(super::check::checks_in_flight(
        &config.defaults,
    )));
    for doc in config.documents.clone() {
        let permits = permits.clone();
        let checker = checker.clone();
        let on_outcome = on_outcome.clone();
        let mut shutdown = shutdown.clone();
        let jitter = config.defaults.jitter;
        tasks.spawn(async move {
            let mut confirm_at: Option<DateTime<Utc>> = None;
            loop {
                let last = match checker.store().document_state(&doc.id).await {
                    Ok(s) => s.and_then(|s| s.last_check_at),
                    Err(e) => {
                        tracing::error!(document = %doc.id, error = %e, "cannot read document state");
                        None
                    }
                };
                let now = Utc::now();
                let mut due = next_due(&doc.schedule.cron, last, now);
                // A change waiting for confirmation is looked at again once
                // its settle delay is over, not at the next cron tick.
                if let Some(at) = confirm_at.take() {
                    due = due.min(at);
                }
                let mut wait = (due - now).to_std().unwrap_or(Duration::ZERO);
                if wait > Duration::ZERO && !jitter.is_zero() {
                    wait += rand::thread_rng().gen_range(Duration::ZERO..=jitter);
                }
                tracing::debug!(document = %doc.id, due = %due, "next check");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => break,
                }
                if *shutdown.borrow() {
                    break;
                }
                let permit = permits.clone().acquire_owned().await.expect("semaphore never closed");
                let result = checker.check(&doc).await;
                drop(permit);
                match result {
                    Ok(outcome) => {
                        if let Verdict::Pending { retry_after: d } = &outcome.verdict {
                            confirm_at = Some(Utc::now() + chrono::Duration::from_std(*d).unwrap_or_default());
                        }
                        on_outcome(&doc, &outcome)
                    }
                    Err(e) => {
                        tracing::error!(document = %doc.id, error = %e, "check could not be recorded");
                        // Do not spin on a broken database.
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                            _ = shutdown.changed() => break,
                        }
                    }
                }
                if *shutdown.borrow() {
                    break;
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!(error = %e, "document task panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Schedule;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn never_checked_is_due_now() {
        let s = Schedule::parse("0 * * * *").unwrap();
        let now = at("2026-01-01T10:30:00Z");
        assert_eq!(next_due(&s.cron, None, now), now);
    }

    #[test]
    fn missed_ticks_run_once_now() {
        // Hourly, last checked three days ago: due now, once.
        let s = Schedule::parse("0 * * * *").unwrap();
        let now = at("2026-01-04T10:30:00Z");
        assert_eq!(
            next_due(&s.cron, Some(at("2026-01-01T10:00:00Z")), now),
            now
        );
        // After that check the next due time is the next tick, not another
        // catch-up.
        assert_eq!(
            next_due(&s.cron, Some(now), now),
            at("2026-01-04T11:00:00Z")
        );
    }

    #[test]
    fn up_to_date_waits_for_next_tick() {
        let s = Schedule::parse("0 */6 * * *").unwrap();
        let now = at("2026-01-01T07:00:00Z");
        assert_eq!(
            next_due(&s.cron, Some(at("2026-01-01T06:00:05Z")), now),
            at("2026-01-01T12:00:00Z")
        );
    }
}
