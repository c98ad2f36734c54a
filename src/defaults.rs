//! Every default value, once. `config` fills what `bot.toml` leaves out from
//! here; the stages' own `Default` impls (fetch settings, compose options,
//! diff options, listener limits) read the same constants, so a command run
//! without a config behaves like the daemon with an empty one.

use std::time::Duration;

/// `[defaults] schedule`: classic cron, four times a day at :17.
pub const SCHEDULE: &str = "17 */6 * * *";
/// `[defaults] user_agent`; the contact URL is appended when configured.
pub const USER_AGENT: &str = concat!("clausewatch/", env!("CARGO_PKG_VERSION"));
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Per attempt, body included.
pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_REDIRECTS: usize = 5;
pub const MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
/// Extra attempts after the first one.
pub const RETRIES: u32 = 3;
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest wait between two fetch attempts, `Retry-After` included.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
pub const PER_HOST_DELAY: Duration = Duration::from_secs(1);
/// Requests in flight overall.
pub const MAX_CONCURRENT: usize = 4;
/// A shorter extraction is a failure, not a version.
pub const MIN_CHARS: usize = 100;
pub const JITTER: Duration = Duration::from_secs(30);
pub const CONFIRM_AFTER: Duration = Duration::from_secs(60);
pub const FLAP_WINDOW: usize = 5;
/// An extraction below this share of the last good one is a soft error: the
/// corpus has real versions at about half of their predecessor, and a
/// truncated extract at 7%.
pub const SOFT_ERROR_RATIO: f64 = 0.30;
pub const GONE_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);

/// `[storage] path`, relative to the config file.
pub const DATABASE: &str = "clausewatch.db";

/// `[diff] similarity`: word similarity from which a removed and an added
/// clause pair as one modified clause.
pub const SIMILARITY: f64 = 0.5;

/// A post's character limit when the instance does not say (Mastodon's).
pub const MAX_CHARS: usize = 500;
/// What a URL counts for in a post, whatever its length (Mastodon's).
pub const CHARS_PER_URL: usize = 23;
pub const MAX_POSTS_PER_THREAD: usize = 10;
pub const POST_INTERVAL: Duration = Duration::from_secs(2);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const POLL_INTERVAL: Duration = Duration::from_secs(30);
/// Commands answered per account per [`COMMAND_WINDOW`].
pub const COMMANDS_PER_ACCOUNT: i64 = 5;
pub const COMMAND_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Posts per 3 hours above which mentions are not answered: Mastodon allows
/// 300, this keeps room for change threads.
pub const REPLY_BUDGET: i64 = 240;
/// Documents one account may subscribe to.
pub const SUBSCRIPTIONS_PER_ACCOUNT: i64 = 20;
