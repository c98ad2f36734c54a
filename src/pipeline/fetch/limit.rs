//! Politeness limits: one request at a time per host, a minimum pause between two
//! requests to the same host, and a global cap on concurrent requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Per-host state: when the last request to that host finished (`None` if never).
type HostSlot = Arc<tokio::sync::Mutex<Option<Instant>>>;

#[derive(Debug)]
pub(crate) struct Limiter {
    delay: Duration,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, HostSlot>>,
}

/// Held for the duration of one request. Dropping it records the finish time for the
/// host, so the pause is measured from the end of a request, not from its start: a slow
/// response must not let the next request follow immediately.
#[derive(Debug)]
pub(crate) struct Permit {
    host: OwnedMutexGuard<Option<Instant>>,
    _global: OwnedSemaphorePermit,
}

impl Drop for Permit {
    fn drop(&mut self) {
        *self.host = Some(Instant::now());
    }
}

impl Limiter {
    pub fn new(per_host_delay: Duration, max_concurrent: usize) -> Self {
        Limiter {
            delay: per_host_delay,
            global: Arc::new(Semaphore::new(max_concurrent)),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `host` is free and its pause has elapsed, then for a global slot.
    /// The host is taken first so that tasks queued behind a busy host do not sit on
    /// global slots that requests to other hosts could use.
    pub async fn acquire(&self, host: &str) -> Permit {
        let slot = self.slot(host);
        let guard = slot.lock_owned().await;
        if let Some(finished) = *guard {
            tokio::time::sleep_until((finished + self.delay).into()).await;
        }
        let global = Arc::clone(&self.global)
            .acquire_owned()
            .await
            .expect("the limiter never closes its semaphore");
        Permit {
            host: guard,
            _global: global,
        }
    }

    fn slot(&self, host: &str) -> HostSlot {
        let key = host.to_ascii_lowercase();
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // Forget hosts nobody is waiting for whose pause is over, so the map stays as
        // small as the set of hosts that are actually being fetched right now.
        if hosts.len() > 256 {
            hosts.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .map_or(true, |last| last.is_some_and(|t| t.elapsed() < self.delay))
            });
        }
        Arc::clone(hosts.entry(key).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn same_host_is_spaced_by_delay_after_finish() {
        let limiter = Limiter::new(Duration::from_millis(80), 4);
        let permit = limiter.acquire("example.org").await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(permit);
        let finished = Instant::now();
        let _second = limiter.acquire("EXAMPLE.org").await;
        assert!(finished.elapsed() >= Duration::from_millis(80));
    }

    #[tokio::test]
    async fn other_hosts_do_not_wait() {
        let limiter = Limiter::new(Duration::from_secs(5), 4);
        drop(limiter.acquire("a.example").await);
        let start = Instant::now();
        let _b = limiter.acquire("b.example").await;
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    /// Runs one task per host name, each holding its permit for `hold`, and returns
    /// the highest number of tasks that held a permit at the same time.
    async fn peak_concurrency(limiter: Limiter, hosts: Vec<String>, hold: Duration) -> usize {
        let limiter = Arc::new(limiter);
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = hosts
            .into_iter()
            .map(|host| {
                let (limiter, active, peak) = (limiter.clone(), active.clone(), peak.clone());
                tokio::spawn(async move {
                    let _permit = limiter.acquire(&host).await;
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    active.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task panicked");
        }
        peak.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn same_host_never_runs_concurrently() {
        let limiter = Limiter::new(Duration::from_millis(5), 8);
        let hosts = vec!["one.example".to_string(); 5];
        assert_eq!(
            peak_concurrency(limiter, hosts, Duration::from_millis(10)).await,
            1
        );
    }

    #[tokio::test]
    async fn global_limit_caps_concurrency_across_hosts() {
        let limiter = Limiter::new(Duration::ZERO, 2);
        let hosts = (0..6).map(|i| format!("host{i}.example")).collect();
        assert_eq!(
            peak_concurrency(limiter, hosts, Duration::from_millis(20)).await,
            2
        );
    }
}
