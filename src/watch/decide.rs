//! The document state machine, as one pure function: what the store knew,
//! what a fetch showed and the time → what to record.
//!
//! [`decide`] reads no clock and does no I/O; the check passes `now` in, and
//! the store applies the [`Decision`] in one transaction. The rules it
//! holds: a changed page must be confirmed (by a second fetch when
//! `confirm_after` is zero, else by a later check that still sees it after
//! the delay); a page equal to a recent older version is a flap, until it
//! has shown that version on enough checks in a row, when it is a revert
//! (a version of its own, never announced); enough checks at the latest
//! version end a flapping period; a page answering 404/410 for
//! `gone_after` is announced once as gone.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::FailureClass;
use crate::pipeline::observe::Seen;

/// Checks in a row at the latest version after which a flapping document is
/// no longer shown as flapping; and checks in a row at one older version
/// after which the page is taken to have gone back to it (a revert). One
/// number for both: each says the page has settled on one text. An A/B test
/// or a geo variant alternates and never shows the older text that many
/// times in a row; a page that really went back keeps it for weeks, and if
/// it stayed a flap, its next change would be read against the abandoned
/// version and announce as news what the revert had already undone.
pub const STABLE_CHECKS_END_FLAP: i64 = 5;

/// The `[defaults]` the decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub confirm_after: Duration,
    pub gone_after: Duration,
}

/// The latest stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    pub number: i64,
    pub hash: String,
}

/// A changed page waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub hash: String,
    pub since: DateTime<Utc>,
}

/// What the store knows about a document when a check starts.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub latest: Option<Latest>,
    /// Versions before the latest, newest first, within the flap window.
    pub recent: Vec<Latest>,
    /// A changed page waiting for its confirmation; or, when its hash is an
    /// older version's, the revert waiting for enough checks in a row.
    pub pending: Option<Pending>,
    /// First 404/410 of the current run of "not found" answers.
    pub not_found_since: Option<DateTime<Utc>>,
    pub flapping_since: Option<DateTime<Utc>>,
    /// Checks in a row at the latest version; while `pending` is a revert,
    /// checks in a row at that older version.
    pub stable_checks: i64,
    /// The latest version was re-extracted with new rules in this check.
    pub technical: bool,
}

/// What a check concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// 304 Not Modified: nothing parsed.
    NotModified,
    /// The page extracts to the latest version's clauses.
    Unchanged { version: i64 },
    /// New rules re-extracted the latest version and the page matches it:
    /// replaced silently, never announced.
    TechnicalUpdate { version: i64 },
    /// A new version, confirmed. `returns_to` names the older version whose
    /// text it repeats (a revert): stored, with its diff, so that history
    /// shows it and the next change is read against what the page really
    /// showed, but never announced. A thread saying only "went back to
    /// version N" would tell a follower nothing the earlier thread about
    /// that version did not, and its diff would quote as new the text the
    /// page had before; the revert shows in the document's history.
    NewVersion {
        version: i64,
        previous: Option<i64>,
        returns_to: Option<i64>,
    },
    /// The page equals an older version (A/B test, geo variant) on fewer
    /// than [`STABLE_CHECKS_END_FLAP`] checks in a row: nothing stored,
    /// nothing announced.
    Flap { version: i64 },
    /// Changed, seen once: a later check must see it again after
    /// `retry_after`.
    Pending { retry_after: Duration },
    /// The confirmation fetch showed something else: the change is dropped.
    Disagreed,
    /// No observation: a recorded failure, never a version.
    Failed { class: FailureClass, error: String },
    /// The document is paused (admin command): nothing fetched. Decided
    /// before fetching, never by [`decide`].
    Paused,
    /// Another check of the document recorded a different version while
    /// this one ran; only its fetches were recorded. Found by the store,
    /// never by [`decide`].
    Superseded,
}

impl Verdict {
    /// A short label for logs, metrics and the fetch log.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::NotModified => "not_modified",
            Verdict::Unchanged { .. } => "unchanged",
            Verdict::TechnicalUpdate { .. } => "technical_update",
            Verdict::NewVersion { .. } => "new_version",
            Verdict::Flap { .. } => "flap",
            Verdict::Pending { .. } | Verdict::Disagreed => "unconfirmed",
            Verdict::Failed { .. } => "failed",
            Verdict::Paused => "paused",
            Verdict::Superseded => "superseded",
        }
    }
}

/// The validators to keep for the next conditional request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validators {
    /// Keep the stored ones (a 304, or a page that is not the latest version).
    Keep,
    /// Store the response's (or their absence).
    Replace,
}

/// The document's state after the check.
#[derive(Debug, Clone, PartialEq)]
pub struct Next {
    pub pending: Option<Pending>,
    pub not_found_since: Option<DateTime<Utc>>,
    pub flapping_since: Option<DateTime<Utc>>,
    pub stable_checks: i64,
    /// A flap was seen now.
    pub flapped: bool,
    pub validators: Validators,
}

/// Everything to record about one check.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub next: Next,
    /// The page has answered "not found" since then, for longer than
    /// `gone_after`, and once had a version: announce that it is gone.
    pub gone_since: Option<DateTime<Utc>>,
}

/// The decision, or the need for a confirmation fetch first.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Decided(Decision),
    /// `confirm_after` is zero and the page changed: fetch it again now and
    /// call [`decide`] with the second result.
    ConfirmByFetch,
}

/// Decides what one check means. `confirmation` is the second fetch asked
/// for by [`Step::ConfirmByFetch`].
pub fn decide(
    state: &State,
    seen: &Seen,
    confirmation: Option<&Seen>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Step {
    // While a revert is waiting, `stable_checks` counts the checks at the
    // older version: none of them was at the latest.
    let reverting = state
        .pending
        .as_ref()
        .filter(|p| state.recent.iter().any(|v| v.hash == p.hash));
    let at_latest = if reverting.is_some() {
        0
    } else {
        state.stable_checks
    };
    let stable = || Next {
        pending: None,
        not_found_since: None,
        flapping_since: state
            .flapping_since
            .filter(|_| at_latest + 1 < STABLE_CHECKS_END_FLAP),
        stable_checks: at_latest + 1,
        flapped: false,
        validators: Validators::Replace,
    };
    let unsettled = |pending: Option<Pending>| Next {
        pending,
        not_found_since: None,
        flapping_since: state.flapping_since,
        stable_checks: at_latest,
        flapped: false,
        validators: Validators::Keep,
    };
    let decided = |verdict, next| {
        Step::Decided(Decision {
            verdict,
            next,
            gone_since: None,
        })
    };
    let hash = match seen {
        Seen::Failed(f) => {
            let not_found_since = match f.class {
                FailureClass::NotFound => Some(state.not_found_since.unwrap_or(now)),
                _ => state.not_found_since,
            };
            let gone_since = not_found_since.filter(|since| {
                f.class == FailureClass::NotFound
                    && state.latest.is_some()
                    && (now - *since).to_std().unwrap_or_default() >= settings.gone_after
            });
            return Step::Decided(Decision {
                verdict: Verdict::Failed {
                    class: f.class,
                    error: f.error.clone(),
                },
                next: Next {
                    pending: state.pending.clone(),
                    not_found_since,
                    flapping_since: state.flapping_since,
                    stable_checks: state.stable_checks,
                    flapped: false,
                    validators: Validators::Keep,
                },
                gone_since,
            });
        }
        Seen::NotModified => {
            let next = Next {
                validators: Validators::Keep,
                ..stable()
            };
            return decided(Verdict::NotModified, next);
        }
        Seen::Page { observation, .. } => observation.hash.as_str(),
    };
    let Some(latest) = &state.latest else {
        // The first version is the baseline every later change is read
        // against: an error page or a cut-off body taken for it would make
        // the real policy's first check look like a whole new policy. It is
        // confirmed by a second fetch at once, whatever `confirm_after`
        // says (waiting would leave a new document without a version).
        return match confirmation {
            None => Step::ConfirmByFetch,
            Some(second) if second.hash() == Some(hash) => decided(
                Verdict::NewVersion {
                    version: 1,
                    previous: None,
                    returns_to: None,
                },
                Next {
                    flapping_since: None,
                    stable_checks: 0,
                    ..stable()
                },
            ),
            Some(_) => decided(Verdict::Disagreed, unsettled(None)),
        };
    };
    if latest.hash == hash {
        let verdict = if state.technical {
            Verdict::TechnicalUpdate {
                version: latest.number,
            }
        } else {
            Verdict::Unchanged {
                version: latest.number,
            }
        };
        return decided(verdict, stable());
    }
    let new_version = |returns_to: Option<i64>| {
        decided(
            Verdict::NewVersion {
                version: latest.number + 1,
                previous: Some(latest.number),
                returns_to,
            },
            Next {
                flapping_since: None,
                stable_checks: 0,
                ..stable()
            },
        )
    };
    if let Some(older) = state.recent.iter().find(|v| v.hash == hash) {
        let (since, checks) = match reverting {
            Some(p) if p.hash == hash => (p.since, state.stable_checks + 1),
            _ => (now, 1),
        };
        // Seen on enough checks in a row, each one a confirmation already:
        // no second fetch or delay is asked for.
        if checks >= STABLE_CHECKS_END_FLAP {
            return new_version(Some(older.number));
        }
        let next = Next {
            flapping_since: Some(state.flapping_since.unwrap_or(now)),
            stable_checks: checks,
            flapped: true,
            ..unsettled(Some(Pending {
                hash: hash.to_string(),
                since,
            }))
        };
        return decided(
            Verdict::Flap {
                version: older.number,
            },
            next,
        );
    }
    if settings.confirm_after.is_zero() {
        return match confirmation {
            None => Step::ConfirmByFetch,
            Some(second) if second.hash() == Some(hash) => new_version(None),
            Some(_) => decided(Verdict::Disagreed, unsettled(None)),
        };
    }
    match &state.pending {
        Some(p) if p.hash == hash => {
            let waited = (now - p.since).to_std().unwrap_or_default();
            if waited >= settings.confirm_after {
                new_version(None)
            } else {
                decided(
                    Verdict::Pending {
                        retry_after: settings.confirm_after - waited,
                    },
                    unsettled(Some(p.clone())),
                )
            }
        }
        _ => decided(
            Verdict::Pending {
                retry_after: settings.confirm_after,
            },
            unsettled(Some(Pending {
                hash: hash.to_string(),
                since: now,
            })),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::clauses::Clause;
    use crate::pipeline::observe::{Failure, Observation};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn page(hash: &str) -> Seen {
        let url = url::Url::parse("https://x.test/p").unwrap();
        Seen::Page {
            page: Box::new(crate::pipeline::fetch::Page {
                final_url: url,
                status: 200,
                content_type: None,
                body: Vec::new().into(),
                text: String::new().into(),
                encoding: "UTF-8",
                etag: None,
                last_modified: None,
                headers: Vec::new(),
            }),
            observation: Observation {
                clauses: Vec::<Clause>::new(),
                hash: hash.to_string(),
            },
        }
    }

    fn failed(class: FailureClass) -> Seen {
        Seen::Failed(Failure {
            class,
            error: "boom".into(),
            status: None,
        })
    }

    fn v(number: i64, hash: &str) -> Latest {
        Latest {
            number,
            hash: hash.into(),
        }
    }

    fn at_version(n: i64, hash: &str) -> State {
        State {
            latest: Some(v(n, hash)),
            recent: vec![v(n - 1, "older")],
            ..State::default()
        }
    }

    const WAIT: Settings = Settings {
        confirm_after: Duration::from_secs(60),
        gone_after: Duration::from_secs(3600),
    };
    const AT_ONCE: Settings = Settings {
        confirm_after: Duration::ZERO,
        gone_after: Duration::from_secs(3600),
    };

    fn verdict(step: Step) -> Verdict {
        match step {
            Step::Decided(d) => d.verdict,
            Step::ConfirmByFetch => panic!("asked for a confirmation fetch"),
        }
    }

    #[test]
    fn the_first_version_is_confirmed_by_a_second_fetch_at_once() {
        let now = t("2026-03-01T12:00:00Z");
        for settings in [WAIT, AT_ONCE] {
            assert_eq!(
                decide(&State::default(), &page("a"), None, &settings, now),
                Step::ConfirmByFetch
            );
        }
        // A failed first fetch stays a failure: nothing to confirm.
        assert!(matches!(
            decide(
                &State::default(),
                &failed(FailureClass::SoftError),
                None,
                &WAIT,
                now
            ),
            Step::Decided(Decision {
                verdict: Verdict::Failed { .. },
                ..
            })
        ));
    }

    /// The decision table: state, what the fetch showed, the confirmation,
    /// settings → verdict.
    #[test]
    fn decision_table() {
        let now = t("2026-03-01T12:00:00Z");
        let pending_since = |s: &str| State {
            pending: Some(Pending {
                hash: "new".into(),
                since: t(s),
            }),
            ..at_version(3, "cur")
        };
        type Row = (&'static str, State, Seen, Option<Seen>, Settings, Verdict);
        let rows: Vec<Row> = vec![
            (
                "first page ever, confirmed",
                State::default(),
                page("a"),
                Some(page("a")),
                WAIT,
                Verdict::NewVersion {
                    version: 1,
                    previous: None,
                    returns_to: None,
                },
            ),
            (
                "first page ever, second fetch differs",
                State::default(),
                page("a"),
                Some(page("b")),
                WAIT,
                Verdict::Disagreed,
            ),
            (
                "first page ever, second fetch fails",
                State::default(),
                page("a"),
                Some(failed(FailureClass::Timeout)),
                AT_ONCE,
                Verdict::Disagreed,
            ),
            (
                "same clauses",
                at_version(3, "cur"),
                page("cur"),
                None,
                WAIT,
                Verdict::Unchanged { version: 3 },
            ),
            (
                "304",
                at_version(3, "cur"),
                Seen::NotModified,
                None,
                WAIT,
                Verdict::NotModified,
            ),
            (
                "re-extracted and same",
                State {
                    technical: true,
                    ..at_version(3, "cur")
                },
                page("cur"),
                None,
                WAIT,
                Verdict::TechnicalUpdate { version: 3 },
            ),
            (
                "back to an older version",
                at_version(3, "cur"),
                page("older"),
                None,
                WAIT,
                Verdict::Flap { version: 2 },
            ),
            (
                "changed, first sighting",
                at_version(3, "cur"),
                page("new"),
                None,
                WAIT,
                Verdict::Pending {
                    retry_after: Duration::from_secs(60),
                },
            ),
            (
                "changed, seen 20 s ago",
                pending_since("2026-03-01T11:59:40Z"),
                page("new"),
                None,
                WAIT,
                Verdict::Pending {
                    retry_after: Duration::from_secs(40),
                },
            ),
            (
                "changed, seen long enough ago",
                pending_since("2026-03-01T11:58:00Z"),
                page("new"),
                None,
                WAIT,
                Verdict::NewVersion {
                    version: 4,
                    previous: Some(3),
                    returns_to: None,
                },
            ),
            (
                "changed again while pending",
                pending_since("2026-03-01T11:58:00Z"),
                page("newer"),
                None,
                WAIT,
                Verdict::Pending {
                    retry_after: Duration::from_secs(60),
                },
            ),
            (
                "confirmed by a second fetch",
                at_version(3, "cur"),
                page("new"),
                Some(page("new")),
                AT_ONCE,
                Verdict::NewVersion {
                    version: 4,
                    previous: Some(3),
                    returns_to: None,
                },
            ),
            (
                "second fetch disagrees",
                at_version(3, "cur"),
                page("new"),
                Some(page("other")),
                AT_ONCE,
                Verdict::Disagreed,
            ),
            (
                "second fetch fails",
                at_version(3, "cur"),
                page("new"),
                Some(failed(FailureClass::Timeout)),
                AT_ONCE,
                Verdict::Disagreed,
            ),
            (
                "fetch failed",
                at_version(3, "cur"),
                failed(FailureClass::Timeout),
                None,
                WAIT,
                Verdict::Failed {
                    class: FailureClass::Timeout,
                    error: "boom".into(),
                },
            ),
        ];
        for (name, state, seen, second, settings, want) in rows {
            let got = verdict(decide(&state, &seen, second.as_ref(), &settings, now));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn a_change_with_confirm_after_zero_asks_for_a_second_fetch() {
        let now = t("2026-03-01T12:00:00Z");
        let step = decide(&at_version(3, "cur"), &page("new"), None, &AT_ONCE, now);
        assert_eq!(step, Step::ConfirmByFetch);
    }

    #[test]
    fn pending_keeps_its_first_sighting() {
        let now = t("2026-03-01T12:00:00Z");
        let Step::Decided(first) = decide(&at_version(3, "cur"), &page("new"), None, &WAIT, now)
        else {
            panic!()
        };
        assert_eq!(first.next.pending.as_ref().unwrap().since, now);
        let state = State {
            pending: first.next.pending.clone(),
            ..at_version(3, "cur")
        };
        let later = now + chrono::Duration::seconds(10);
        let Step::Decided(second) = decide(&state, &page("new"), None, &WAIT, later) else {
            panic!()
        };
        assert_eq!(second.next.pending.unwrap().since, now);
        assert_eq!(second.next.validators, Validators::Keep);
    }

    #[test]
    fn flapping_starts_on_a_flap_and_ends_after_stable_checks() {
        let now = t("2026-03-01T12:00:00Z");
        let Step::Decided(flap) = decide(&at_version(3, "cur"), &page("older"), None, &WAIT, now)
        else {
            panic!()
        };
        assert_eq!(flap.next.flapping_since, Some(now));
        assert!(flap.next.flapped);
        let mut state = State {
            pending: flap.next.pending.clone(),
            flapping_since: flap.next.flapping_since,
            stable_checks: flap.next.stable_checks,
            ..at_version(3, "cur")
        };
        for i in 1..=STABLE_CHECKS_END_FLAP {
            let Step::Decided(d) = decide(&state, &page("cur"), None, &WAIT, now) else {
                panic!()
            };
            assert_eq!(d.next.stable_checks, i);
            assert_eq!(
                d.next.flapping_since.is_some(),
                i < STABLE_CHECKS_END_FLAP,
                "check {i}"
            );
            state.stable_checks = d.next.stable_checks;
            state.flapping_since = d.next.flapping_since;
            state.pending = d.next.pending;
        }
    }

    #[test]
    fn not_found_long_enough_is_announced_once_known() {
        let now = t("2026-03-01T12:00:00Z");
        let gone = |state: &State| match decide(
            state,
            &failed(FailureClass::NotFound),
            None,
            &WAIT,
            now,
        ) {
            Step::Decided(d) => (d.next.not_found_since, d.gone_since),
            Step::ConfirmByFetch => panic!(),
        };
        // First 404: the run starts now, nothing to announce yet.
        assert_eq!(gone(&at_version(3, "cur")), (Some(now), None));
        // 404 for two hours, with a version: gone since then.
        let since = t("2026-03-01T10:00:00Z");
        let state = State {
            not_found_since: Some(since),
            ..at_version(3, "cur")
        };
        assert_eq!(gone(&state), (Some(since), Some(since)));
        // Never had a version: nothing is "no longer" there.
        let never = State {
            not_found_since: Some(since),
            ..State::default()
        };
        assert_eq!(gone(&never), (Some(since), None));
        // Another failure keeps the run; a success ends it.
        let Step::Decided(d) = decide(&state, &failed(FailureClass::Timeout), None, &WAIT, now)
        else {
            panic!()
        };
        assert_eq!((d.next.not_found_since, d.gone_since), (Some(since), None));
        let Step::Decided(d) = decide(&state, &page("cur"), None, &WAIT, now) else {
            panic!()
        };
        assert_eq!(d.next.not_found_since, None);
    }

    /// Runs `pages` through [`decide`] one check each, the state carried
    /// over as the store would, from version 3 ("cur") with version 2
    /// ("older") before it; the verdicts.
    fn checks(pages: &[&str]) -> Vec<Verdict> {
        let now = t("2026-03-01T12:00:00Z");
        let mut state = at_version(3, "cur");
        let mut out = Vec::new();
        for (i, hash) in pages.iter().enumerate() {
            let at = now + chrono::Duration::minutes(i as i64);
            let Step::Decided(d) = decide(&state, &page(hash), None, &WAIT, at) else {
                panic!("check {i} asked for a confirmation fetch")
            };
            if let Verdict::NewVersion { version, .. } = d.verdict {
                let latest = state.latest.take().unwrap();
                state.recent.insert(0, latest);
                state.latest = Some(v(version, hash));
            }
            state.pending = d.next.pending.clone();
            state.flapping_since = d.next.flapping_since;
            state.stable_checks = d.next.stable_checks;
            out.push(d.verdict);
        }
        out
    }

    #[test]
    fn a_page_that_stays_on_an_older_version_is_a_revert() {
        let n = STABLE_CHECKS_END_FLAP as usize;
        let got = checks(&vec!["older"; n + 1]);
        for (i, verdict) in got[..n - 1].iter().enumerate() {
            assert_eq!(*verdict, Verdict::Flap { version: 2 }, "check {i}");
        }
        assert_eq!(
            got[n - 1],
            Verdict::NewVersion {
                version: 4,
                previous: Some(3),
                returns_to: Some(2),
            }
        );
        // The revert is the latest now: the same page is unchanged, and the
        // next change is read against it.
        assert_eq!(got[n], Verdict::Unchanged { version: 4 });
    }

    #[test]
    fn an_ab_flap_that_alternates_stays_a_flap() {
        let n = STABLE_CHECKS_END_FLAP as usize;
        let pages: Vec<&str> = (0..4 * n)
            .map(|i| if i % 2 == 0 { "older" } else { "cur" })
            .collect();
        for (i, verdict) in checks(&pages).into_iter().enumerate() {
            let want = if i % 2 == 0 {
                Verdict::Flap { version: 2 }
            } else {
                Verdict::Unchanged { version: 3 }
            };
            assert_eq!(verdict, want, "check {i}");
        }
        // One short of a revert, back at the latest once: the count starts
        // again, and the flapping period does not end early either.
        let mut pages = vec!["older"; n - 1];
        pages.push("cur");
        pages.extend(vec!["older"; n - 1]);
        let got = checks(&pages);
        assert!(
            got.iter().all(|v| !matches!(v, Verdict::NewVersion { .. })),
            "{got:?}"
        );
    }

    #[test]
    fn checks_at_an_older_version_do_not_end_a_flapping_period() {
        let now = t("2026-03-01T12:00:00Z");
        let mut state = at_version(3, "cur");
        for _ in 0..STABLE_CHECKS_END_FLAP - 1 {
            let Step::Decided(d) = decide(&state, &page("older"), None, &WAIT, now) else {
                panic!()
            };
            state.pending = d.next.pending;
            state.flapping_since = d.next.flapping_since;
            state.stable_checks = d.next.stable_checks;
        }
        let Step::Decided(d) = decide(&state, &page("cur"), None, &WAIT, now) else {
            panic!()
        };
        assert_eq!(d.next.stable_checks, 1);
        assert_eq!(d.next.flapping_since, Some(now));
        assert_eq!(d.next.pending, None);
    }
}
