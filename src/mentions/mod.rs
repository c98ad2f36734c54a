//! Answering people who mention the bot: the mention listener, the command
//! parser and the answers.

pub mod answer;
pub mod listen;
pub mod parse;
