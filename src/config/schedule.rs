//! Cron schedules as `bot.toml` writes them: classic cron.
//!
//! The five fields are minute, hour, day of the month, month and weekday,
//! with the classic numbers: weekdays 0–7 where 0 and 7 are Sunday and 1 is
//! Monday, months 1–12, and the names `sun`–`sat`, `jan`–`dec` (any case).
//! Each field takes `*`, numbers, names, ranges (`1-5`, `mon-fri`), lists
//! (`1,3,5`) and steps (`*/2`, `1-5/2`, `10/15`). A leading seconds field
//! (six fields) and a trailing years field (seven) are accepted too.
//!
//! As in classic cron, when both the day of the month and the weekday are
//! restricted (neither starts with `*`), a day matches when either does:
//! `0 0 1 * mon` is the first of the month and every Monday.
//!
//! The `cron` crate does the time arithmetic, but its weekday numbers differ
//! (1 is Sunday … 7 Saturday): each field is parsed and checked here, then
//! handed to the crate as a plain list of the crate's numbers. Messages name
//! the field in the user's terms, never the crate's.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, Utc};

/// A cron schedule, keeping the expression as written for messages.
///
/// Clones share one compiled form, and so do schedules parsed from the same
/// expression: a `cron::Schedule` holds an ordered set per field (130 years,
/// 31 days…), about 3 KB, and 10,000 documents on one schedule would
/// otherwise keep 10,000 copies of it.
#[derive(Clone)]
pub struct Schedule {
    /// The expression as written in `bot.toml`.
    pub expr: String,
    compiled: Arc<Compiled>,
}

/// What the expression compiles to.
struct Compiled {
    /// One schedule, or two when both day fields are restricted (classic
    /// cron fires when either matches): the next tick is the earlier one.
    crons: Vec<cron::Schedule>,
    /// Ticks per minute (1 without a seconds field).
    per_minute: usize,
}

/// Compiled forms by expression, while some schedule still holds them.
static COMPILED: Mutex<Option<HashMap<String, Weak<Compiled>>>> = Mutex::new(None);

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.expr)
    }
}

/// One field of the expression: its name in messages, its limits, and the
/// names it accepts (the first name stands for `min`).
struct Field {
    name: &'static str,
    limits: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static [&'static str]],
}

const SECONDS: Field = Field {
    name: "seconds",
    limits: "seconds are 0–59",
    min: 0,
    max: 59,
    names: &[],
};
const MINUTES: Field = Field {
    name: "minute",
    limits: "minutes are 0–59",
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Field = Field {
    name: "hour",
    limits: "hours are 0–23",
    min: 0,
    max: 23,
    names: &[],
};
const DAYS: Field = Field {
    name: "day-of-month",
    limits: "days of the month are 1–31",
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Field = Field {
    name: "month",
    limits: "months are 1–12 or jan–dec",
    min: 1,
    max: 12,
    names: &[
        &["jan", "january"],
        &["feb", "february"],
        &["mar", "march"],
        &["apr", "april"],
        &["may"],
        &["jun", "june"],
        &["jul", "july"],
        &["aug", "august"],
        &["sep", "sept", "september"],
        &["oct", "october"],
        &["nov", "november"],
        &["dec", "december"],
    ],
};
const WEEKDAYS: Field = Field {
    name: "weekday",
    limits: "weekdays are 0–7 (0 and 7 are Sunday) or sun–sat",
    min: 0,
    max: 7,
    names: &[
        &["sun", "sunday"],
        &["mon", "monday"],
        &["tue", "tues", "tuesday"],
        &["wed", "wednesday"],
        &["thu", "thur", "thurs", "thursday"],
        &["fri", "friday"],
        &["sat", "saturday"],
    ],
};
const YEARS: Field = Field {
    name: "year",
    limits: "years are 1970–2099",
    min: 1970,
    max: 2099,
    names: &[],
};

impl Field {
    fn value(&self, s: &str) -> Result<u32, String> {
        if s.is_empty() {
            return Err(format!("a value is missing; {}", self.limits));
        }
        let v = if s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u32>().map_err(|_| self.limits.to_string())?
        } else {
            let lower = s.to_ascii_lowercase();
            match self.names.iter().position(|n| n.contains(&lower.as_str())) {
                Some(i) => self.min + i as u32,
                None if self.names.is_empty() => {
                    return Err(format!("{s:?} is not a number; {}", self.limits))
                }
                None => return Err(format!("{s:?} is not a name; {}", self.limits)),
            }
        };
        if v < self.min || v > self.max {
            return Err(format!("{v} is out of range; {}", self.limits));
        }
        Ok(v)
    }

    /// The values one field matches, in the classic numbering.
    fn values(&self, text: &str) -> Result<BTreeSet<u32>, String> {
        let mut out = BTreeSet::new();
        for item in text.split(',') {
            let (base, step) = match item.split_once('/') {
                Some((b, s)) => {
                    let step = s
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("step {s:?} must be a whole number from 1"))?;
                    (b, Some(step))
                }
                None => (item, None),
            };
            let (from, to) = if base == "*" || base == "?" {
                // `*/2` on weekdays is 0,2,4,6: Sunday once, not 7 again.
                let max = if self.max == 7 { 6 } else { self.max };
                (self.min, max)
            } else if let Some((a, b)) = base.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!(
                        "range {base:?} goes backwards; write the smaller end first ({})",
                        self.limits
                    ));
                }
                (a, b)
            } else {
                let a = self.value(base)?;
                // `10/15` is "from 10, every 15".
                (a, if step.is_some() { self.max } else { a })
            };
            let mut v = from;
            while v <= to {
                out.insert(v);
                v += step.unwrap_or(1);
            }
        }
        Ok(out)
    }

    /// The field as the `cron` crate reads it.
    fn translate(&self, text: &str, offset: i64) -> Result<(String, usize), String> {
        let values = self
            .values(text)
            .map_err(|m| format!("{} field {text:?}: {m}", self.name))?;
        let mut crate_values: BTreeSet<i64> = BTreeSet::new();
        for v in &values {
            let v = i64::from(*v);
            // Weekdays: classic 0 and 7 are Sunday, the crate's 1.
            let v = if self.max == 7 && v == 7 { 0 } else { v };
            crate_values.insert(v + offset);
        }
        let list: Vec<String> = crate_values.iter().map(|v| v.to_string()).collect();
        Ok((list.join(","), crate_values.len()))
    }
}

impl Schedule {
    /// Parses a classic cron expression: five fields (minute hour
    /// day-of-month month weekday), or six with a leading seconds field, or
    /// seven with a trailing years field.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let compiled = {
            let mut interned = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
            let interned = interned.get_or_insert_with(HashMap::new);
            match interned.get(expr).and_then(Weak::upgrade) {
                Some(compiled) => compiled,
                None => {
                    let compiled = Arc::new(Schedule::compile(expr)?);
                    // Entries whose schedules are all dropped go now and
                    // then (as the map doubles: linear overall), so that
                    // configs read again and again do not pile them up.
                    if interned.len() >= 64 && interned.len().is_power_of_two() {
                        interned.retain(|_, c| c.strong_count() > 0);
                    }
                    interned.insert(expr.to_string(), Arc::downgrade(&compiled));
                    compiled
                }
            }
        };
        // Checked on every parse, not only the first: an expression that
        // fired when it was first read may have no tick left now.
        if compiled.next_after(Utc::now()).is_none() {
            return Err(format!(
                "cron expression {expr:?} never fires (no such date ahead)"
            ));
        }
        Ok(Schedule {
            expr: expr.to_string(),
            compiled,
        })
    }

    fn compile(expr: &str) -> Result<Compiled, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let (seconds, rest, years) = match fields.len() {
            5 => (None, &fields[..], None),
            6 => (Some(fields[0]), &fields[1..], None),
            7 => (Some(fields[0]), &fields[1..6], Some(fields[6])),
            n => {
                return Err(format!(
                    "cron expression {expr:?} has {n} fields; expected 5 (minute hour day month weekday), or 6 with seconds first"
                ))
            }
        };
        let invalid = |m: String| format!("invalid cron expression {expr:?}: {m}");
        let (sec, per_minute) = match seconds {
            Some(s) => SECONDS.translate(s, 0).map_err(invalid)?,
            None => ("0".to_string(), 1),
        };
        let (min, _) = MINUTES.translate(rest[0], 0).map_err(invalid)?;
        let (hour, _) = HOURS.translate(rest[1], 0).map_err(invalid)?;
        let (dom, _) = DAYS.translate(rest[2], 0).map_err(invalid)?;
        let (month, _) = MONTHS.translate(rest[3], 0).map_err(invalid)?;
        // The crate counts weekdays from 1 (Sunday).
        let (dow, _) = WEEKDAYS.translate(rest[4], 1).map_err(invalid)?;
        let year = match years {
            Some(y) => YEARS.translate(y, 0).map_err(invalid)?.0,
            None => "*".to_string(),
        };
        let restricted = |f: &str| !(f.starts_with('*') || f.starts_with('?'));
        let day_sets: Vec<(String, String)> = if restricted(rest[2]) && restricted(rest[4]) {
            vec![(dom, "*".into()), ("*".into(), dow)]
        } else {
            // Either starts with `*` (`*/2` included): both must match.
            vec![(dom, dow)]
        };
        let crons = day_sets
            .into_iter()
            .map(|(dom, dow)| {
                let full = format!("{sec} {min} {hour} {dom} {month} {dow} {year}");
                cron::Schedule::from_str(&full).map_err(|e| {
                    // Every field was checked above; this is a bug, say so
                    // in the user's terms.
                    invalid(format!("not understood ({e})"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Compiled { crons, per_minute })
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.compiled.next_after(t)
    }

    /// The gap between the first two ticks after `t`: the schedule's period
    /// there (None when it stops firing).
    pub fn period_after(&self, t: DateTime<Utc>) -> Option<chrono::Duration> {
        let first = self.next_after(t)?;
        let second = self.next_after(first)?;
        Some(second - first)
    }

    /// Whether the schedule fires more than once in some minute (a seconds
    /// field with several values): worth a warning, pages do not change
    /// that fast and hosts notice.
    pub fn more_than_once_a_minute(&self) -> bool {
        self.compiled.per_minute > 1
    }
}

impl Compiled {
    fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.crons.iter().filter_map(|c| c.after(&t).next()).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Timelike, Weekday};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The next `n` ticks after 2026-01-01 (a Thursday).
    fn ticks(expr: &str, n: usize) -> Vec<DateTime<Utc>> {
        let s = Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let mut t = at("2026-01-01T00:00:00Z");
        let mut out = Vec::new();
        for _ in 0..n {
            t = s.next_after(t).unwrap();
            out.push(t);
        }
        out
    }

    /// The weekdays of the next `n` ticks, classic numbers (0 Sunday).
    fn weekdays(expr: &str, n: usize) -> BTreeSet<u32> {
        ticks(expr, n)
            .iter()
            .map(|t| t.weekday().num_days_from_sunday())
            .collect()
    }

    #[test]
    fn five_and_six_field_cron() {
        assert!(Schedule::parse("*/5 * * * *").is_ok());
        assert!(Schedule::parse("0 */5 * * * *").is_ok());
        assert!(Schedule::parse("* *").is_err());
    }

    #[test]
    fn weekday_numbers_are_classic() {
        let monday = ticks("0 9 * * 1", 3);
        assert!(monday
            .iter()
            .all(|t| t.weekday() == Weekday::Mon && t.hour() == 9 && t.minute() == 0));
        assert_eq!(monday[0], at("2026-01-05T09:00:00Z"));
        for sunday in ["0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * SUN"] {
            assert_eq!(weekdays(sunday, 4), BTreeSet::from([0]), "{sunday}");
        }
        assert_eq!(weekdays("0 0 * * 6", 3), BTreeSet::from([6]));
        let work = BTreeSet::from([1, 2, 3, 4, 5]);
        assert_eq!(weekdays("0 9 * * 1-5", 30), work);
        assert_eq!(weekdays("0 9 * * mon-fri", 30), work);
        assert_eq!(weekdays("0 9 * * Mon-FRI", 30), work);
        assert_eq!(weekdays("0 9 * * 1,2,3,4,5", 30), work);
        assert_eq!(weekdays("0 9 * * 1-5/2", 30), BTreeSet::from([1, 3, 5]));
        assert_eq!(weekdays("0 9 * * */2", 30), BTreeSet::from([0, 2, 4, 6]));
        assert_eq!(weekdays("0 9 * * 5-7", 30), BTreeSet::from([5, 6, 0]));
        // Six fields: the same weekday numbers.
        assert_eq!(weekdays("30 0 9 * * 1", 3), BTreeSet::from([1]));
        assert_eq!(ticks("30 0 9 * * 1", 1)[0], at("2026-01-05T09:00:30Z"));
    }

    #[test]
    fn month_names_and_steps() {
        assert_eq!(ticks("0 0 1 jan *", 1)[0], at("2027-01-01T00:00:00Z"));
        assert_eq!(ticks("0 0 1 FEB *", 1)[0], at("2026-02-01T00:00:00Z"));
        let months: Vec<u32> = ticks("0 0 1 */3 *", 4).iter().map(|t| t.month()).collect();
        assert_eq!(months, vec![4, 7, 10, 1]);
        let minutes: Vec<u32> = ticks("10/20 * * * *", 3)
            .iter()
            .map(|t| t.minute())
            .collect();
        assert_eq!(minutes, vec![10, 30, 50]);
    }

    #[test]
    fn both_day_fields_restricted_fire_on_either() {
        // The 1st of the month (a Sunday in February 2026) and every Monday.
        let days: Vec<String> = ticks("0 0 1 * mon", 6)
            .iter()
            .map(|t| t.format("%m-%d %a").to_string())
            .collect();
        assert_eq!(
            days,
            [
                "01-05 Mon",
                "01-12 Mon",
                "01-19 Mon",
                "01-26 Mon",
                "02-01 Sun",
                "02-02 Mon"
            ]
        );
        // A `*` in either field: only the other one counts.
        assert_eq!(weekdays("0 0 * * 1", 5), BTreeSet::from([1]));
        assert!(ticks("0 0 13 * *", 3).iter().all(|t| t.day() == 13));
    }

    #[test]
    fn errors_name_the_field_and_its_limits() {
        let cases = [
            ("61 * * * *", "minute field \"61\"", "minutes are 0–59"),
            ("0 24 * * *", "hour field \"24\"", "hours are 0–23"),
            (
                "0 0 0 * *",
                "day-of-month field \"0\"",
                "days of the month are 1–31",
            ),
            (
                "0 0 * 13 *",
                "month field \"13\"",
                "months are 1–12 or jan–dec",
            ),
            (
                "0 0 * jaan *",
                "month field \"jaan\"",
                "months are 1–12 or jan–dec",
            ),
            (
                "0 0 * * 8",
                "weekday field \"8\"",
                "weekdays are 0–7 (0 and 7 are Sunday) or sun–sat",
            ),
            ("0 0 * * funday", "weekday field \"funday\"", "sun–sat"),
            ("0 0 * * 5-1", "goes backwards", "weekdays are 0–7"),
            ("*/0 * * * *", "minute field \"*/0\"", "step"),
            ("60 0 0 * * *", "seconds field \"60\"", "seconds are 0–59"),
            ("every day", "has 2 fields", "expected 5"),
        ];
        for (expr, what, limits) in cases {
            let err = Schedule::parse(expr).unwrap_err();
            assert!(
                err.contains(&format!("{expr:?}")) && err.contains(what) && err.contains(limits),
                "{expr}: {err}"
            );
            // Never the crate's six-field form or its words.
            assert!(
                !err.contains("Days of Week") && !err.contains("0 61"),
                "{err}"
            );
        }
        assert!(Schedule::parse("0 0 30 2 *")
            .unwrap_err()
            .contains("never fires"));
    }

    #[test]
    fn equal_expressions_share_one_compiled_schedule() {
        let a = Schedule::parse("17 */6 * * 1-5").unwrap();
        let b = Schedule::parse("17 */6 * * 1-5").unwrap();
        assert!(Arc::ptr_eq(&a.compiled, &b.compiled));
        assert!(Arc::ptr_eq(&a.compiled, &a.clone().compiled));
        let other = Schedule::parse("18 */6 * * 1-5").unwrap();
        assert!(!Arc::ptr_eq(&a.compiled, &other.compiled));
        // Shared or not, it is the same schedule.
        let t = at("2026-01-01T00:00:00Z");
        assert_eq!(b.next_after(t), Some(at("2026-01-01T00:17:00Z")));
        assert_eq!(b.expr, "17 */6 * * 1-5");
        // Once every holder is gone, the expression compiles afresh.
        drop((a, b));
        let again = Schedule::parse("17 */6 * * 1-5").unwrap();
        assert_eq!(Arc::strong_count(&again.compiled), 1);
    }

    #[test]
    fn period_and_sub_minute() {
        let s = Schedule::parse("17 */6 * * *").unwrap();
        assert_eq!(
            s.period_after(at("2026-01-01T00:00:00Z")),
            Some(chrono::Duration::hours(6))
        );
        assert!(!s.more_than_once_a_minute());
        assert!(!Schedule::parse("0 * * * * *")
            .unwrap()
            .more_than_once_a_minute());
        assert!(Schedule::parse("*/10 * * * * *")
            .unwrap()
            .more_than_once_a_minute());
        assert!(Schedule::parse("0,30 * * * * *")
            .unwrap()
            .more_than_once_a_minute());
    }
}
