//! A bounded request rate per client address: a token bucket per IP, in a
//! table of bounded size, so that one client cannot keep the store busy
//! and many clients cannot grow the table without end.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How many requests a client may send at once, and how fast its
/// allowance comes back.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub burst: u32,
    pub per_second: f64,
}

impl Default for Rate {
    /// A person reading pages never comes near it; a crawler slows down.
    fn default() -> Rate {
        Rate {
            burst: 60,
            per_second: 5.0,
        }
    }
}

/// Clients remembered at most; the table is emptied of full buckets when
/// it is reached (a full bucket is a client we would not limit anyway).
const MAX_CLIENTS: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Limiter {
    rate: Rate,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
    pub fn new(rate: Rate) -> Arc<Limiter> {
        Arc::new(Limiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one request from `ip`'s allowance: `Err(wait)` when it is
    /// spent, with how long until the next request is allowed.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = f64::from(self.rate.burst);
        let refill = |b: &Bucket| {
            (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.rate.per_second)
                .min(burst)
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&ip) {
            buckets.retain(|_, b| refill(b) < burst);
            if buckets.len() >= MAX_CLIENTS {
                // Every remembered client is busy: forget the lot rather
                // than refuse a newcomer for others' traffic.
                buckets.clear();
            }
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens = refill(b);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - b.tokens) / self.rate.per_second,
            ))
        }
    }
}

/// The middleware: 429 with `Retry-After` once a client's allowance is
/// spent. Requests without a peer address (none in `serve`) pass.
pub async fn limit(State(limiter): State<Arc<Limiter>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer {
        if let Err(wait) = limiter.take(ip, Instant::now()) {
            let secs = wait.as_secs().max(1);
            let mut res = (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many requests from {ip}: try again in {secs} s.\n"),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_not_affected() {
        let l = Limiter::new(Rate {
            burst: 3,
            per_second: 2.0,
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take(a, t0).is_ok());
        }
        let wait = l.take(a, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        assert!(l.take(b, t0).is_ok());
        // Half a second gives back one request at two per second.
        assert!(l.take(a, t0 + Duration::from_millis(510)).is_ok());
        assert!(l.take(a, t0 + Duration::from_millis(520)).is_err());
    }
}
