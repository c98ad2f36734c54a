//! The daemon's clock: runs each document's check on its cron schedule.
//!
//! One queue of due times; a task per check in flight. After downtime, a
//! document whose last check is older than its previous scheduled tick is
//! checked once at start, not once per missed tick. Checks are never cancelled half-way: on shutdown the
//! checks in flight finish, and no other starts.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::watch;

use super::check::{Checker, Outcome};
use crate::config::{Config, Document, Schedule};

/// Something to tell about each check (the publisher, metrics).
pub type OnOutcome = Arc<dyn Fn(&Document, &Outcome) + Send + Sync>;

/// The first retry of a failed check comes this long after it; each
/// further failure in a row doubles the delay, up to the schedule's period.
pub const FIRST_RETRY: Duration = Duration::from_secs(60);

/// What deciding the next check needs to know of a document (from
/// [`DocumentState`](crate::store::DocumentState)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueState {
    /// The last check, successful or not.
    pub last_check: Option<DateTime<Utc>>,
    /// Failed checks in a row up to the last one (0: it succeeded).
    pub consecutive_failures: i64,
    /// A changed page seen at this time waits for its confirmation.
    pub pending_since: Option<DateTime<Utc>>,
}

impl From<&crate::store::DocumentState> for DueState {
    fn from(s: &crate::store::DocumentState) -> DueState {
        DueState {
            last_check: s.last_check_at,
            consecutive_failures: s.consecutive_failures,
            pending_since: s.pending.as_ref().map(|p| p.since),
        }
    }
}

/// When the next check of a document is due (before jitter). One function
/// for the scheduler and for `status`, so what `status` says is what the
/// daemon does.
///
/// - Never checked, or the last check older than the tick before now: due
///   now ("a missed schedule runs once", not once per missed tick).
/// - Otherwise the next cron tick after the last check,
/// - or earlier after a failure: [`FIRST_RETRY`] after it, doubling with
///   each failure in a row, at most the schedule's period, never later
///   than the next tick;
/// - or earlier when a change waits for its confirmation: `confirm_after`
///   after it was first seen (when that is after the last check).
pub fn next_check(
    schedule: &Schedule,
    state: &DueState,
    confirm_after: Duration,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(last) = state.last_check else {
        return now;
    };
    let tick = match schedule.next_after(last) {
        Some(tick) => tick,
        // A schedule with no future tick was rejected by config validation;
        // checking once a day is the least surprising fallback.
        None => last + chrono::Duration::days(1),
    };
    let mut due = tick;
    if state.consecutive_failures > 0 {
        due = due.min(last + retry_delay(schedule, last, state.consecutive_failures));
    }
    if let Some(since) = state.pending_since {
        let confirm = since + chrono::Duration::from_std(confirm_after).unwrap_or_default();
        // A confirmation time already looked at (the check after it
        // failed, say) is not looked at again and again.
        if confirm > last {
            due = due.min(confirm);
        }
    }
    due.max(now)
}

/// The delay before retrying after `failures` failed checks in a row, the
/// last at `last`: 1 min, 2, 4, … up to the schedule's period there.
pub fn retry_delay(schedule: &Schedule, last: DateTime<Utc>, failures: i64) -> chrono::Duration {
    let first = chrono::Duration::from_std(FIRST_RETRY).expect("small");
    let doublings = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(30);
    let backoff = first * 2i32.pow(doublings.min(20));
    match schedule.period_after(last) {
        Some(period) if period < backoff => period.max(chrono::Duration::zero()),
        _ => backoff,
    }
}

/// Logs a warning for each document whose schedule fires more than once a
/// minute (a seconds field): pages do not change that fast, and hosts
/// notice.
pub fn warn_frequent_schedules(documents: &[Document]) {
    for doc in documents {
        if doc.schedule.more_than_once_a_minute() {
            tracing::warn!(
                document = %doc.id,
                schedule = %doc.schedule.expr,
                "schedule {:?} of {} fires more than once a minute",
                doc.schedule.expr,
                doc.id
            );
        }
    }
}

/// When a document is next due, read from the store, with jitter.
async fn due_of(
    checker: &Checker,
    doc: &Document,
    jitter: Duration,
    confirm_after: Duration,
    not_before: DateTime<Utc>,
) -> DateTime<Utc> {
    let state = match checker.store().document_state(&doc.id).await {
        Ok(s) => s.as_ref().map(DueState::from).unwrap_or_default(),
        Err(e) => {
            tracing::error!(document = %doc.id, error = %e, "cannot read document state");
            DueState::default()
        }
    };
    let now = Utc::now();
    let mut due = next_check(&doc.schedule, &state, confirm_after, now).max(not_before);
    if due > now && !jitter.is_zero() {
        let extra = rand::thread_rng().gen_range(Duration::ZERO..=jitter);
        due += chrono::Duration::from_std(extra).unwrap_or_default();
    }
    tracing::debug!(document = %doc.id, due = %due, "next check");
    due
}

/// Runs every document on its schedule until `shutdown` becomes true.
///
/// One queue of due times, not one task per document: a waiting document
/// costs a queue entry, and a task exists only for a check in flight, at
/// most `checks_in_flight` of them, so memory does not grow with the
/// number of documents.
pub async fn run(
    config: Arc<Config>,
    checker: Checker,
    on_outcome: OnOutcome,
    mut shutdown: watch::Receiver<bool>,
) {
    use std::cmp::Reverse;
    warn_frequent_schedules(&config.documents);
    let docs = &config.documents;
    let jitter = config.defaults.jitter;
    let confirm_after = config.defaults.confirm_after;
    let permits = Arc::new(tokio::sync::Semaphore::new(super::check::checks_in_flight(
        &config.defaults,
    )));
    let mut queue = std::collections::BinaryHeap::with_capacity(docs.len());
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    for (i, doc) in docs.iter().enumerate() {
        if *shutdown.borrow() {
            return;
        }
        queue.push(Reverse((
            due_of(&checker, doc, jitter, confirm_after, epoch).await,
            i,
        )));
    }
    let mut running = tokio::task::JoinSet::new();
    // Which document each check in flight is of, so that one whose task
    // panicked is still scheduled again.
    let mut of_task = std::collections::HashMap::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let wait = queue
            .peek()
            .map(|Reverse((due, _))| (*due - Utc::now()).to_std().unwrap_or(Duration::ZERO));
        tokio::select! {
            _ = tokio::time::sleep(wait.unwrap_or(Duration::MAX)), if wait.is_some() => {
                // Waiting for a free slot must not outlive a shutdown: with
                // thousands of documents due, the queue would otherwise keep
                // starting checks long after SIGTERM.
                let permit = tokio::select! {
                    p = permits.clone().acquire_owned() => p.expect("semaphore never closed"),
                    _ = shutdown.changed() => break,
                };
                if *shutdown.borrow() {
                    break;
                }
                let Some(Reverse((_, i))) = queue.pop() else { continue };
                let checker = checker.clone();
                let doc = docs[i].clone();
                let task = running.spawn(async move {
                    let result = checker.check(&doc).await;
                    drop(permit);
                    result.map_err(|e| e.to_string())
                });
                of_task.insert(task.id(), i);
            }
            Some(joined) = running.join_next_with_id() => {
                let (id, result) = match joined {
                    Ok((id, result)) => (id, result),
                    Err(e) => (e.id(), Err(format!("the check panicked: {e}"))),
                };
                let Some(i) = of_task.remove(&id) else { continue };
                let doc = &docs[i];
                // Do not spin on a broken database.
                let mut not_before = epoch;
                match result {
                    Ok(outcome) => on_outcome(doc, &outcome),
                    Err(e) => {
                        tracing::error!(document = %doc.id, error = %e, "check could not be recorded");
                        not_before = Utc::now() + chrono::Duration::seconds(60);
                    }
                }
                queue.push(Reverse((due_of(&checker, doc, jitter, confirm_after, not_before).await, i)));
            }
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    // Checks are never cancelled half-way: the ones in flight finish.
    while let Some(joined) = running.join_next_with_id().await {
        match joined {
            Ok((id, Ok(outcome))) => {
                if let Some(&i) = of_task.get(&id) {
                    on_outcome(&docs[i], &outcome);
                }
            }
            Ok((_, Err(e))) => tracing::error!(error = %e, "check could not be recorded"),
            Err(e) => tracing::error!(error = %e, "check task panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn checked(last: &str, failures: i64) -> DueState {
        DueState {
            last_check: Some(at(last)),
            consecutive_failures: failures,
            pending_since: None,
        }
    }

    const CONFIRM: Duration = Duration::from_secs(60);

    #[test]
    fn never_checked_is_due_now() {
        let s = Schedule::parse("0 * * * *").unwrap();
        let now = at("2026-01-01T10:30:00Z");
        assert_eq!(next_check(&s, &DueState::default(), CONFIRM, now), now);
    }

    #[test]
    fn missed_ticks_run_once_now() {
        // Hourly, last checked three days ago: due now, once.
        let s = Schedule::parse("0 * * * *").unwrap();
        let now = at("2026-01-04T10:30:00Z");
        assert_eq!(
            next_check(&s, &checked("2026-01-01T10:00:00Z", 0), CONFIRM, now),
            now
        );
        // After that check the next due time is the next tick, not another
        // catch-up.
        assert_eq!(
            next_check(&s, &checked("2026-01-04T10:30:00Z", 0), CONFIRM, now),
            at("2026-01-04T11:00:00Z")
        );
    }

    #[test]
    fn up_to_date_waits_for_next_tick() {
        let s = Schedule::parse("0 */6 * * *").unwrap();
        let now = at("2026-01-01T07:00:00Z");
        assert_eq!(
            next_check(&s, &checked("2026-01-01T06:00:05Z", 0), CONFIRM, now),
            at("2026-01-01T12:00:00Z")
        );
    }

    #[test]
    fn failures_back_off_from_a_minute_doubling_to_the_period() {
        // Every 6 hours; failed at 06:00:05.
        let s = Schedule::parse("0 */6 * * *").unwrap();
        let now = at("2026-01-01T06:00:05Z");
        let due =
            |failures| next_check(&s, &checked("2026-01-01T06:00:05Z", failures), CONFIRM, now);
        assert_eq!(due(1), at("2026-01-01T06:01:05Z"));
        assert_eq!(due(2), at("2026-01-01T06:02:05Z"));
        assert_eq!(due(3), at("2026-01-01T06:04:05Z"));
        assert_eq!(due(9), at("2026-01-01T10:16:05Z")); // 256 min
                                                        // Never later than the next tick, however many failures.
        assert_eq!(due(10), at("2026-01-01T12:00:00Z"));
        assert_eq!(due(1_000_000), at("2026-01-01T12:00:00Z"));
        // A retry time already past is due now, not in the past.
        let later = at("2026-01-01T07:00:00Z");
        assert_eq!(
            next_check(&s, &checked("2026-01-01T06:00:05Z", 1), CONFIRM, later),
            later
        );
        // Success resets the backoff: back to the cron tick.
        assert_eq!(due(0), at("2026-01-01T12:00:00Z"));
    }

    #[test]
    fn backoff_is_capped_by_the_period_of_a_fast_schedule() {
        let s = Schedule::parse("*/5 * * * *").unwrap();
        assert_eq!(
            retry_delay(&s, at("2026-01-01T06:02:00Z"), 8),
            chrono::Duration::minutes(5)
        );
        assert_eq!(
            retry_delay(&s, at("2026-01-01T06:02:00Z"), 2),
            chrono::Duration::minutes(2)
        );
    }

    #[test]
    fn a_pending_change_is_confirmed_after_its_delay_once() {
        let s = Schedule::parse("0 0 * * *").unwrap();
        let now = at("2026-01-01T06:00:10Z");
        let state = DueState {
            pending_since: Some(at("2026-01-01T06:00:00Z")),
            ..checked("2026-01-01T06:00:00Z", 0)
        };
        assert_eq!(
            next_check(&s, &state, CONFIRM, now),
            at("2026-01-01T06:01:00Z")
        );
        // Checked after the confirmation time (and still pending, say the
        // check failed): the confirmation time is not due again.
        let state = DueState {
            pending_since: Some(at("2026-01-01T06:00:00Z")),
            ..checked("2026-01-01T06:01:00Z", 0)
        };
        assert_eq!(
            next_check(&s, &state, CONFIRM, now),
            at("2026-01-02T00:00:00Z")
        );
    }
}
