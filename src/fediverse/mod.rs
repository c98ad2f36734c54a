//! Talking to the fediverse account: the access token, our own API client
//! (posting, mentions, instance limits), the outbox publisher, and set-up
//! through megalodon (`login`, `doctor`). I/O only: what to say is decided
//! by [`crate::announce`].

pub mod client;
pub mod connection;
pub mod publisher;
pub mod setup;
pub mod token;
