//! Fetching policy pages.
