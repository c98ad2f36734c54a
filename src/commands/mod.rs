//! Answering people who mention the bot.

pub mod parse;
