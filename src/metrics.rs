//! Counters the daemon keeps while it runs, rendered in the Prometheus text
//! format by the `http` module.
//!
//! Plain atomics rather than a metrics crate: the set is small and fixed, and
//! the text format is simple enough to write by hand.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the fetch latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Default)]
pub struct Metrics {
    checks: Mutex<Vec<(String, u64)>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    pub versions_recorded: AtomicU64,
    changes: Mutex<Vec<(String, u64)>>,
    pub posts_sent: AtomicU64,
    pub posts_failed: AtomicU64,
    pub outbox_depth: AtomicU64,
    pub mentions_handled: AtomicU64,
    pub rate_limit_waits: AtomicU64,
}

fn bump(list: &Mutex<Vec<(String, u64)>>, label: &str, by: u64) {
    let mut list = list.lock().unwrap_or_else(|p| p.into_inner());
    match list.iter_mut().find(|(l, _)| l == label) {
        Some((_, n)) => *n += by,
        None => list.push((label.to_string(), by)),
    }
}

impl Metrics {
    /// Counts one check by outcome (`new_version`, `unchanged`, `failed`…).
    pub fn check(&self, outcome: &str) {
        bump(&self.checks, outcome, 1);
    }

    /// Records how long one fetch took (all attempts included).
    pub fn fetch_latency(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts the changes of a new version by kind.
    pub fn changes(&self, kind: &str, n: u64) {
        if n > 0 {
            bump(&self.changes, kind, n);
        }
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let labelled = |out: &mut String,
                        name: &str,
                        help: &str,
                        label: &str,
                        list: &Mutex<Vec<(String, u64)>>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let mut list = list.lock().unwrap_or_else(|p| p.into_inner()).clone();
            list.sort();
            for (l, n) in list {
                let _ = writeln!(out, "{name}{{{label}=\"{l}\"}} {n}");
            }
        };
        labelled(
            &mut out,
            "clausewatch_checks_total",
            "Checks by outcome.",
            "outcome",
            &self.checks,
        );
        let _ = writeln!(
            out,
            "# HELP clausewatch_fetch_duration_seconds Fetch latency, retries included.\n# TYPE clausewatch_fetch_duration_seconds histogram"
        );
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "clausewatch_fetch_duration_seconds_bucket{{le=\"{le}\"}} {}",
                self.latency_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "clausewatch_fetch_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "clausewatch_fetch_duration_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "clausewatch_fetch_duration_seconds_count {count}");
        let simple = |out: &mut String, name: &str, kind: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        simple(
            &mut out,
            "clausewatch_versions_recorded_total",
            "counter",
            "New versions stored.",
            &self.versions_recorded,
        );
        labelled(
            &mut out,
            "clausewatch_changes_total",
            "Clause changes in new versions, by kind.",
            "kind",
            &self.changes,
        );
        simple(
            &mut out,
            "clausewatch_posts_sent_total",
            "counter",
            "Posts sent to the fediverse.",
            &self.posts_sent,
        );
        simple(
            &mut out,
            "clausewatch_posts_failed_total",
            "counter",
            "Posts that failed for good.",
            &self.posts_failed,
        );
        simple(
            &mut out,
            "clausewatch_outbox_depth",
            "gauge",
            "Posts waiting in the outbox.",
            &self.outbox_depth,
        );
        simple(
            &mut out,
            "clausewatch_mentions_handled_total",
            "counter",
            "Mentions answered or ignored.",
            &self.mentions_handled,
        );
        simple(
            &mut out,
            "clausewatch_rate_limit_waits_total",
            "counter",
            "Waits caused by HTTP 429 answers.",
            &self.rate_limit_waits,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.check("unchanged");
        m.check("unchanged");
        m.check("failed");
        m.fetch_latency(Duration::from_millis(80));
        m.fetch_latency(Duration::from_secs(3));
        m.changes("added", 3);
        let text = m.render();
        assert!(
            text.contains("clausewatch_checks_total{outcome=\"unchanged\"} 2"),
            "{text}"
        );
        assert!(text.contains("clausewatch_checks_total{outcome=\"failed\"} 1"));
        assert!(text.contains("clausewatch_fetch_duration_seconds_bucket{le=\"0.1\"} 1"));
        assert!(text.contains("clausewatch_fetch_duration_seconds_bucket{le=\"5\"} 2"));
        assert!(text.contains("clausewatch_fetch_duration_seconds_count 2"));
        assert!(text.contains("clausewatch_changes_total{kind=\"added\"} 3"));
    }
}
