//! Cron expressions in a time zone, and their slots as instants.
//!
//! Slots are wall-clock times in the schedule's zone (what a user means by "09:00 Paris").
//! Daylight saving time, the rule:
//! - a slot in a skipped hour (spring forward) runs once, at the jump (02:30 runs at 03:00;
//!   several slots of the skipped hour are that one run);
//! - a slot in a repeated hour (fall back) runs once, at its first occurrence (the second
//!   pass through the hour fires nothing).

use crate::error::{Error, Result};
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];

#[derive(Clone)]
pub struct CronSchedule {
    cron: Cron,
    pub time_zone: TimeZone,
    /// The IANA name, canonical ("europe/paris" becomes "Europe/Paris").
    pub time_zone_name: String,
}

fn parser() -> CronParser {
    CronParser::builder().seconds(Seconds::Disallowed).build()
}

fn cron_error(position: Option<usize>, message: impl Into<String>) -> Error {
    Error::InvalidSchedule {
        field: "cron_schedule",
        position,
        message: message.into(),
    }
}

/// Parses a 5-field expression (names like MON-FRI and JAN, steps, ranges, lists, `L`,
/// `W`, `#`, and `@daily`-style macros). Errors name the field and its column.
fn parse_cron(expr: &str) -> Result<Cron> {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return Err(cron_error(
            None,
            "empty expression (expected 5 fields: minute hour day-of-month month day-of-week)",
        ));
    }
    if !trimmed.starts_with('@') {
        let fields: Vec<(usize, &str)> = expr
            .split_whitespace()
            .map(|f| (f.as_ptr() as usize - expr.as_ptr() as usize, f))
            .collect();
        if fields.len() != 5 {
            return Err(cron_error(
                None,
                format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                    fields.len()
                ),
            ));
        }
        // Each field alone, the others `*`: the first that fails is the one to name.
        for (index, (offset, field)) in fields.iter().enumerate() {
            let mut probe = ["*"; 5];
            probe[index] = field;
            if let Err(e) = parser().parse(&probe.join(" ")) {
                return Err(cron_error(
                    Some(offset + 1),
                    format!("{} field {field:?}: {}", FIELDS[index], reason(&e)),
                ));
            }
        }
    }
    parser()
        .parse(trimmed)
        .map_err(|e| cron_error(None, reason(&e)))
}

fn reason(error: &CronError) -> String {
    let text = error.to_string();
    // croner prefixes its kind ("Component error: ..."); the field name says more.
    text.split_once(": ")
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or(text)
        .trim_end_matches('.')
        .to_owned()
}

pub fn parse_time_zone(name: &str) -> Result<TimeZone> {
    let name = if name.trim().is_empty() {
        "UTC"
    } else {
        name.trim()
    };
    TimeZone::get(name).map_err(|e| Error::InvalidSchedule {
        field: "time_zone",
        position: None,
        message: e.to_string(),
    })
}

impl CronSchedule {
    pub fn parse(expr: &str, time_zone: &str) -> Result<CronSchedule> {
        let cron = parse_cron(expr)?;
        let tz = parse_time_zone(time_zone)?;
        let time_zone_name = tz.iana_name().unwrap_or("UTC").to_owned();
        let schedule = CronSchedule {
            cron,
            time_zone: tz,
            time_zone_name,
        };
        if schedule.next_after(Timestamp::now()).is_none() {
            return Err(cron_error(
                None,
                "the expression never matches a date (e.g. February 30)",
            ));
        }
        Ok(schedule)
    }

    /// The expression as stored (croner's normal form: upper case, names as numbers).
    pub fn expression(&self) -> &str {
        self.cron.pattern.as_str()
    }

    /// The first slot strictly after `t`, or None if there is none (ever).
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let mut civil = t.to_zoned(self.time_zone.clone()).datetime();
        loop {
            let slot: DateTime = self.cron.find_next_occurrence(&civil, false).ok()?;
            let instant = self.instant_of(slot)?;
            if instant > t {
                return Some(instant);
            }
            civil = slot;
        }
    }

    /// The last slot at or before `t`, or None.
    pub fn latest_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        let mut civil = t.to_zoned(self.time_zone.clone()).datetime();
        let mut inclusive = true;
        loop {
            let slot: DateTime = self.cron.find_previous_occurrence(&civil, inclusive).ok()?;
            let instant = self.instant_of(slot)?;
            if instant <= t {
                return Some(instant);
            }
            civil = slot;
            inclusive = false;
        }
    }

    /// The instant a wall-clock slot runs at (see the module's DST rule).
    fn instant_of(&self, slot: DateTime) -> Option<Timestamp> {
        let ambiguous = self.time_zone.to_ambiguous_timestamp(slot);
        match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { offset }
            | AmbiguousOffset::Fold { before: offset, .. } => offset.to_timestamp(slot).ok(),
            AmbiguousOffset::Gap { before, .. } => {
                // Read with the offset before the gap, the slot lies after the jump; the
                // jump is the last transition before it.
                let after_jump = before.to_timestamp(slot).ok()?;
                let probe = after_jump.checked_add(1.second()).ok()?;
                self.time_zone
                    .preceding(probe)
                    .next()
                    .map(|t| t.timestamp())
            }
        }
    }

    /// Slots in `(after, until]`, oldest first: the newest `cap` of them, and whether
    /// older ones were left out. Walks back from `until`, so a long outage costs `cap` steps.
    pub fn slots_between(
        &self,
        after: Timestamp,
        until: Timestamp,
        cap: usize,
    ) -> (Vec<Timestamp>, bool) {
        let mut slots = Vec::new();
        let mut cursor = until;
        while let Some(slot) = self.latest_at_or_before(cursor).filter(|s| *s > after) {
            if slots.len() == cap {
                slots.reverse();
                return (slots, true);
            }
            // Gap slots share their instant: one run.
            if slots.last() != Some(&slot) {
                slots.push(slot);
            }
            match slot.checked_sub(1.second()) {
                Ok(previous) => cursor = previous,
                Err(_) => break,
            }
        }
        slots.reverse();
        (slots, false)
    }
}
