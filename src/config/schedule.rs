//! Cron schedules as `bot.toml` writes them.

use std::fmt;
use std::str::FromStr;

/// A cron schedule, keeping the expression as written for messages.
#[derive(Clone)]
pub struct Schedule {
    pub expr: String,
    pub cron: cron::Schedule,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.expr)
    }
}

impl Schedule {
    /// Parses a cron expression. The classic five-field form (minute hour
    /// day-of-month month day-of-week) is accepted as well as the six- and
    /// seven-field forms of the `cron` crate (with seconds, and years).
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let fields = expr.split_whitespace().count();
        let full = match fields {
            5 => format!("0 {expr}"),
            6 | 7 => expr.to_string(),
            n => {
                return Err(format!(
                    "cron expression {expr:?} has {n} fields; expected 5 (min hour day month weekday), 6 or 7"
                ))
            }
        };
        let cron = cron::Schedule::from_str(&full)
            .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))?;
        if cron.upcoming(chrono::Utc).next().is_none() {
            return Err(format!("cron expression {expr:?} never fires"));
        }
        Ok(Schedule {
            expr: expr.to_string(),
            cron,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_field_cron() {
        assert!(Schedule::parse("*/5 * * * *").is_ok());
        assert!(Schedule::parse("0 */5 * * * *").is_ok());
        assert!(Schedule::parse("* *").is_err());
    }
}
