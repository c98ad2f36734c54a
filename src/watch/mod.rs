//! Watching documents: when to check ([`schedule`]), what one check does
//! ([`check`]).

pub mod check;
pub mod decide;
pub mod schedule;
