//! The bot's connection to its account, shared by the publisher and the
//! mention listener: the API client, the account once verified, and the
//! token file to re-read when the server refuses the token.
//!
//! The daemon never waits for the instance to start watching: an instance
//! that is down, or a token that does not work yet, only delays posting and
//! answering. [`Connection::account`] retries with backoff until it works.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{watch, OnceCell};

use super::client::{Account, ApiError, Client};
use super::token;

/// The client, and what is learned about the account.
pub struct Connection {
    pub client: Client,
    account: OnceCell<Account>,
    /// Where the token came from (`None`: `CLAUSEWATCH_TOKEN`), re-read after
    /// a 401/403 so that replacing the file needs no restart.
    token_file: Option<PathBuf>,
}

impl Connection {
    pub fn new(client: Client, token_file: Option<PathBuf>) -> Connection {
        Connection {
            client,
            account: OnceCell::new(),
            token_file,
        }
    }

    /// The account, if it has been verified.
    pub fn verified(&self) -> Option<&Account> {
        self.account.get()
    }

    /// Verifies the token once (the first caller does the work, the others
    /// wait for it), retrying with backoff while the instance is down or the
    /// token is refused. `None` only when shutdown came first.
    pub async fn account(&self, shutdown: &mut watch::Receiver<bool>) -> Option<&Account> {
        let mut attempt = 0u32;
        loop {
            if let Some(a) = self.account.get() {
                return Some(a);
            }
            if *shutdown.borrow() {
                return None;
            }
            match self
                .account
                .get_or_try_init(|| self.client.verify_credentials())
                .await
            {
                Ok(a) => {
                    if attempt > 0 {
                        tracing::info!(account = %a.acct, "connected to the instance");
                    }
                    return Some(a);
                }
                Err(e) => {
                    let wait = retry_wait(attempt);
                    if matches!(e, ApiError::Unauthorized { .. }) {
                        self.reload_token();
                        tracing::error!(error = %e, retry_in_s = wait.as_secs(), "the instance refuses the access token; pages are still watched, posting waits (run `clausewatch doctor`)");
                    } else {
                        tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "cannot reach the instance; pages are still watched, posting waits");
                    }
                    attempt += 1;
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
    }

    /// Reads the token again (the operator may have replaced the file);
    /// true when it changed.
    pub fn reload_token(&self) -> bool {
        match token::load(self.token_file.as_deref()) {
            Ok(t) => {
                let changed = self.client.replace_token(t);
                if changed {
                    tracing::info!("access token re-read: it changed");
                }
                changed
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-read the access token");
                false
            }
        }
    }
}

/// Wait before connection attempt `attempt + 1`: 2 s doubling to 5 minutes.
pub fn retry_wait(attempt: u32) -> Duration {
    crate::retry::Backoff {
        base: Duration::from_secs(2),
        max: Duration::from_secs(300),
    }
    .delay_at_least_half(attempt, &mut rand::thread_rng())
}
