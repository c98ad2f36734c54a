//! Waiting before trying again, for the fetcher and the publisher alike:
//! exponential backoff with jitter, and what a server's `Retry-After` says.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// Exponential backoff: the ceiling for retry `n` (0-based) is
/// `min(max, base * 2^n)`.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Upper bound of the wait before retry `retry_index`.
    pub fn ceiling(&self, retry_index: u32) -> Duration {
        let factor = 1u32.checked_shl(retry_index).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// "Full jitter": drawn from `[0, ceiling]`. It spreads out the retries
    /// of many watchers that failed together (a site outage) better than a
    /// fixed schedule. A server-provided wait replaces the jittered value
    /// (the server knows best when it will be ready) but is still capped by
    /// `max`, so a hostile header cannot stall a watcher for hours.
    pub fn delay<R: Rng + ?Sized>(
        &self,
        retry_index: u32,
        server_wait: Option<Duration>,
        rng: &mut R,
    ) -> Duration {
        if let Some(wait) = server_wait {
            return wait.min(self.max);
        }
        let nanos = u64::try_from(self.ceiling(retry_index).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.gen_range(0..=nanos))
    }

    /// "Equal jitter": drawn from `[ceiling / 2, ceiling]`, never less than
    /// `base`; for a single sender (the publisher) that must not retry at
    /// once.
    pub fn delay_at_least_half<R: Rng + ?Sized>(&self, retry_index: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(retry_index).max(self.base);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.gen_range(nanos / 2..=nanos)).max(self.base)
    }
}

/// When a `Retry-After` value says to come back: delay-seconds, or an HTTP
/// date (IMF-fixdate, or the obsolete RFC 850 and asctime forms).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u32>() {
        return Some(now + chrono::Duration::seconds(i64::from(seconds)));
    }
    let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = httpdate::parse_http_date(&collapsed).ok()?;
    Some(DateTime::<Utc>::from(at))
}

/// How long from `now` until `at` (zero when it is past).
pub fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = backoff();
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(200));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(5), Duration::from_secs(2));
        // Large indices must not overflow.
        assert_eq!(b.ceiling(200), Duration::from_secs(2));
    }

    #[test]
    fn jittered_delay_stays_in_window_and_varies() {
        let b = backoff();
        let mut rng = StdRng::seed_from_u64(7);
        for index in 0..8 {
            let samples: Vec<_> = (0..50).map(|_| b.delay(index, None, &mut rng)).collect();
            assert!(samples.iter().all(|d| *d <= b.ceiling(index)));
            let first = samples[0];
            assert!(samples.iter().any(|d| *d != first), "jitter should vary");
            let half: Vec<_> = (0..50)
                .map(|_| b.delay_at_least_half(index, &mut rng))
                .collect();
            assert!(half
                .iter()
                .all(|d| *d >= b.ceiling(index) / 2 && *d <= b.ceiling(index) && *d >= b.base));
        }
    }

    #[test]
    fn server_wait_overrides_jitter_but_is_capped() {
        let b = backoff();
        let mut rng = StdRng::seed_from_u64(1);
        let one = Duration::from_secs(1);
        assert_eq!(b.delay(0, Some(one), &mut rng), one);
        assert_eq!(b.delay(0, Some(Duration::from_secs(3600)), &mut rng), b.max);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        let wait = |v: &str| retry_after(v, now).map(|t| until(t, now));
        assert_eq!(wait(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            wait("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            wait("Wednesday, 21-Oct-15 07:29:00 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            wait("Wed Oct 21 07:28:05 2015"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            wait("Wed Oct  21 07:28:05 2015"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(wait("Tue, 20 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(wait("soon"), None);
        assert_eq!(wait("-5"), None);
    }
}
