//! When to retry a failed fetch and how long to wait before the next attempt.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use rand::Rng;

use super::FetchError;

/// Exponential backoff with "full jitter": the wait before retry `n` (0-based) is drawn
/// uniformly from `[0, min(max, base * 2^n)]`. Full jitter spreads out the retries of
/// many watchers that failed together (e.g. after a site outage) better than a fixed
/// exponential schedule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Upper bound of the jitter window for retry `retry_index`.
    pub fn ceiling(&self, retry_index: u32) -> Duration {
        let factor = 1u32.checked_shl(retry_index).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// Wait before retry `retry_index`. A server-provided `Retry-After` replaces the
    /// jittered value (the server knows best when it will be ready) but is still capped
    /// by `max`, so a hostile or misconfigured header cannot stall a watcher for hours.
    pub fn delay<R: Rng + ?Sized>(
        &self,
        retry_index: u32,
        retry_after: Option<Duration>,
        rng: &mut R,
    ) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max);
        }
        let ceiling = self.ceiling(retry_index);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.gen_range(0..=nanos))
    }
}

/// Transient failures worth another attempt: timeouts, connection problems, server
/// errors and rate limiting. Client errors, oversized bodies and redirect refusals would
/// fail the same way again.
pub(crate) fn is_retryable(error: &FetchError) -> bool {
    match error {
        FetchError::Timeout { .. } | FetchError::Connect { .. } => true,
        FetchError::Status { status, .. } => *status == 429 || (500..=599).contains(status),
        _ => false,
    }
}

/// Parses a `Retry-After` value: either delay-seconds or an HTTP-date (IMF-fixdate, or
/// the obsolete RFC 850 and asctime forms). A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = parse_http_date(value)?;
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    // RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
    let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(&collapsed, format).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use url::Url;

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
        }
    }

    #[test]
    fn retry_after_overrides_jitter_but_is_capped() {
        let b = backoff();
        let mut rng = StdRng::seed_from_u64(1);
        let one = Duration::from_secs(1);
        assert_eq!(b.delay(0, Some(one), &mut rng), one);
        assert_eq!(b.delay(0, Some(Duration::from_secs(3600)), &mut rng), b.max);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed Oct 21 07:28:05 2015", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn retryable_classification() {
        let url = Url::parse("https://example.org/privacy").unwrap();
        let status = |status| FetchError::Status {
            url: url.clone(),
            status,
        };
        assert!(is_retryable(&FetchError::Timeout { url: url.clone() }));
        assert!(is_retryable(&FetchError::Connect {
            url: url.clone(),
            message: "refused".into()
        }));
        assert!(is_retryable(&status(500)));
        assert!(is_retryable(&status(503)));
        assert!(is_retryable(&status(429)));
        assert!(!is_retryable(&status(404)));
        assert!(!is_retryable(&status(403)));
        assert!(!is_retryable(&FetchError::TooLarge {
            url: url.clone(),
            limit: 10
        }));
        assert!(!is_retryable(&FetchError::TooManyRedirects { url, max: 5 }));
    }
}
