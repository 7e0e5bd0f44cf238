use super::cron::CronSchedule;
use super::plan::{plan, RUN_ALL_CAP};
use crate::error::Error;
use crate::model::MissedRuns;
use jiff::Timestamp;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn cron(expr: &str, tz: &str) -> CronSchedule {
    CronSchedule::parse(expr, tz).unwrap()
}

/// The next `n` slots after `from`, as offsets in the zone.
fn next_n(c: &CronSchedule, from: &str, n: usize) -> Vec<String> {
    let mut t = ts(from);
    (0..n)
        .map(|_| {
            t = c.next_after(t).unwrap();
            t.to_zoned(c.time_zone.clone())
                .strftime("%Y-%m-%dT%H:%M%:z")
                .to_string()
        })
        .collect()
}

fn invalid(expr: &str, tz: &str) -> (String, Option<usize>, String) {
    match CronSchedule::parse(expr, tz) {
        Err(Error::InvalidSchedule {
            field,
            position,
            message,
        }) => (field.to_owned(), position, message),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("{expr} was accepted"),
    }
}

#[test]
fn names_steps_ranges_and_special_days() {
    let weekdays = cron("0 9 * * MON-FRI", "Europe/Paris");
    assert_eq!(
        next_n(&weekdays, "2026-11-27T12:00:00Z", 3),
        [
            "2026-11-30T09:00+01:00",
            "2026-12-01T09:00+01:00",
            "2026-12-02T09:00+01:00"
        ]
    );
    assert_eq!(weekdays.expression(), "0 9 * * 1-5");
    assert_eq!(
        next_n(&cron("*/20 8-9 * JAN *", "UTC"), "2026-06-01T00:00:00Z", 4),
        [
            "2027-01-01T08:00+00:00",
            "2027-01-01T08:20+00:00",
            "2027-01-01T08:40+00:00",
            "2027-01-01T09:00+00:00"
        ]
    );
    // Last day of the month, second Monday, last Friday, Feb 29.
    assert_eq!(
        next_n(&cron("0 0 L * *", "UTC"), "2027-12-31T12:00:00Z", 3),
        [
            "2028-01-31T00:00+00:00",
            "2028-02-29T00:00+00:00",
            "2028-03-31T00:00+00:00"
        ]
    );
    assert_eq!(
        next_n(&cron("0 12 * * 1#2", "UTC"), "2026-01-01T00:00:00Z", 2),
        ["2026-01-12T12:00+00:00", "2026-02-09T12:00+00:00"]
    );
    assert_eq!(
        next_n(&cron("0 18 * * 5L", "UTC"), "2026-01-01T00:00:00Z", 2),
        ["2026-01-30T18:00+00:00", "2026-02-27T18:00+00:00"]
    );
    assert_eq!(
        next_n(&cron("0 0 29 2 *", "UTC"), "2026-01-01T00:00:00Z", 3),
        [
            "2028-02-29T00:00+00:00",
            "2032-02-29T00:00+00:00",
            "2036-02-29T00:00+00:00"
        ]
    );
    assert_eq!(cron("@daily", "utc").time_zone_name, "UTC");
}

#[test]
fn years_of_slots_match_a_minute_by_minute_scan() {
    // Every slot the scheduler computes over two years is a matching minute, and no
    // matching minute is left out (checked against a plain scan in UTC).
    let c = cron("15 */6 1,15 * *", "UTC");
    let mut expected = Vec::new();
    let mut t = ts("2026-01-01T00:00:00Z");
    let end = ts("2028-01-01T00:00:00Z");
    while t < end {
        let z = t.to_zoned(jiff::tz::TimeZone::UTC);
        if z.minute() == 15 && z.hour() % 6 == 0 && (z.day() == 1 || z.day() == 15) {
            expected.push(t);
        }
        t = t.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
    }
    let mut got = Vec::new();
    let mut t = ts("2025-12-31T23:59:00Z");
    while let Some(next) = c.next_after(t).filter(|n| *n < end) {
        got.push(next);
        t = next;
    }
    assert_eq!(got, expected);
    assert_eq!(got.len(), 2 * 24 * 4);
}

#[test]
fn spring_forward_slot_runs_once_at_the_jump() {
    let paris = cron("30 2 * * *", "Europe/Paris");
    assert_eq!(
        next_n(&paris, "2026-03-28T12:00:00Z", 2),
        ["2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"]
    );
    let new_york = cron("30 2 * * *", "America/New_York");
    assert_eq!(
        next_n(&new_york, "2026-03-07T12:00:00Z", 2),
        ["2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"]
    );
    // Several slots of the skipped hour are one run at the jump, then the clock goes on.
    let every_half_hour = cron("*/30 * * * *", "Europe/Paris");
    assert_eq!(
        next_n(&every_half_hour, "2026-03-29T00:10:00Z", 3),
        [
            "2026-03-29T01:30+01:00",
            "2026-03-29T03:00+02:00",
            "2026-03-29T03:30+02:00"
        ]
    );
    let skipped_hour = cron("0,30 2 * * *", "Europe/Paris");
    assert_eq!(
        next_n(&skipped_hour, "2026-03-28T12:00:00Z", 3),
        [
            "2026-03-29T03:00+02:00",
            "2026-03-30T02:00+02:00",
            "2026-03-30T02:30+02:00"
        ]
    );
}

#[test]
fn fall_back_slot_runs_once_at_its_first_occurrence() {
    let paris = cron("30 2 * * *", "Europe/Paris");
    assert_eq!(
        next_n(&paris, "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"]
    );
    let new_york = cron("0,30 1 * * *", "America/New_York");
    assert_eq!(
        next_n(&new_york, "2026-10-31T12:00:00Z", 3),
        [
            "2026-11-01T01:00-04:00",
            "2026-11-01T01:30-04:00",
            "2026-11-02T01:00-05:00"
        ]
    );
    // Every half hour: the repeated hour's second pass fires nothing.
    let every_half_hour = cron("*/30 * * * *", "America/New_York");
    assert_eq!(
        next_n(&every_half_hour, "2026-11-01T04:10:00Z", 4),
        [
            "2026-11-01T00:30-04:00",
            "2026-11-01T01:00-04:00",
            "2026-11-01T01:30-04:00",
            "2026-11-01T02:00-05:00"
        ]
    );
    // From inside the second pass, the next slot is the first one after it.
    assert_eq!(
        next_n(&every_half_hour, "2026-11-01T06:10:00Z", 1),
        ["2026-11-01T02:00-05:00"]
    );
}

#[test]
fn invalid_expressions_and_zones_say_where_and_why() {
    assert_eq!(
        invalid("61 * * * *", "UTC"),
        (
            "cron_schedule".into(),
            Some(1),
            "minute field \"61\": Number out of bounds".into()
        )
    );
    let (_, position, message) = invalid("0 9 * * MON-FRX", "UTC");
    assert_eq!(position, Some(9));
    assert!(
        message.starts_with("day of week field \"MON-FRX\""),
        "{message}"
    );
    let (_, position, message) = invalid("0  25 * * *", "UTC");
    assert_eq!(
        (position, message.starts_with("hour field \"25\"")),
        (Some(4), true)
    );
    assert_eq!(
        invalid("* * * *", "UTC").2,
        "expected 5 fields (minute hour day-of-month month day-of-week), got 4"
    );
    assert_eq!(
        invalid("0 0 * * * *", "UTC").2,
        "expected 5 fields (minute hour day-of-month month day-of-week), got 6"
    );
    assert!(invalid("*/0 * * * *", "UTC")
        .2
        .contains("Step cannot be zero"));
    assert!(invalid("0 0 30 2 *", "UTC").2.contains("never matches"));
    assert!(invalid("", "UTC").2.contains("empty"));
    let (field, position, message) = invalid("0 9 * * *", "Mars/Olympus");
    assert_eq!((field.as_str(), position), ("time_zone", None));
    assert!(message.contains("Mars/Olympus"));
}

#[test]
fn missed_runs_rules() {
    let every_10 = cron("*/10 * * * *", "UTC");
    let first = ts("2026-05-01T10:00:00Z");
    // On time: every rule fires the slot.
    for rule in [MissedRuns::Skip, MissedRuns::RunOnce, MissedRuns::RunAll] {
        let fire = plan(&every_10, first, ts("2026-05-01T10:00:00.020Z"), rule);
        assert_eq!(fire.slots, [first]);
        assert_eq!(fire.next_run_time, Some(ts("2026-05-01T10:10:00Z")));
        assert!(!fire.skipped);
    }
    // Down from 10:00 to 10:55: six slots passed.
    let now = ts("2026-05-01T10:55:00Z");
    let skip = plan(&every_10, first, now, MissedRuns::Skip);
    assert!(skip.slots.is_empty() && skip.skipped);
    assert_eq!(skip.next_run_time, Some(ts("2026-05-01T11:00:00Z")));
    assert_eq!(
        plan(&every_10, first, now, MissedRuns::RunOnce).slots,
        [ts("2026-05-01T10:50:00Z")]
    );
    let all = plan(&every_10, first, now, MissedRuns::RunAll);
    assert_eq!(all.slots.len(), 6);
    assert_eq!(
        (all.slots[0], all.slots[5]),
        (first, ts("2026-05-01T10:50:00Z"))
    );
    // A long outage: run_all keeps the newest slots up to its cap, in order.
    let later = ts("2026-05-10T00:00:00Z");
    let capped = plan(&every_10, first, later, MissedRuns::RunAll);
    assert_eq!(capped.slots.len(), RUN_ALL_CAP);
    assert!(capped.skipped && capped.slots.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*capped.slots.last().unwrap(), later);
    // A slot a few seconds late (a restart) is not missed.
    assert_eq!(
        plan(
            &every_10,
            first,
            ts("2026-05-01T10:00:30Z"),
            MissedRuns::Skip
        )
        .slots,
        [first]
    );
}
