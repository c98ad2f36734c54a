//! Posting to the fediverse: the thread composer, character counting as the
//! server does it, the access token, the API client and the outbox
//! publisher.

pub mod client;
pub mod compose;
pub mod count;
pub mod publisher;
pub mod setup;
pub mod token;
