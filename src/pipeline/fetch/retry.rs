//! Which failed fetches are worth another attempt. How long to wait is
//! [`crate::retry`]'s, shared with the publisher.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::FetchError;

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

/// Parses a `Retry-After` value into a wait (a date in the past means now).
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    crate::retry::retry_after(value, now).map(|at| crate::retry::until(at, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

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
