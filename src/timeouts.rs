//! The one check of a timeout given in seconds, for every entry point that takes one
//! (`run`'s `--timeout`/`--cell-timeout`, `execute_notebook`, submissions and schedule
//! templates, `wait`): a typed error naming the field for what makes no sense, and no
//! limit for a value so large that no run would reach it.

use crate::error::{Error, Result};
use std::time::Duration;

/// Longer than this is no limit: a century is never reached by a run, and much longer
/// durations overflow the clock's arithmetic (`Instant + Duration` panics).
const NO_LIMIT_BEYOND_SECONDS: f64 = 100.0 * 365.25 * 86400.0;

/// A run's or a cell's timeout: a positive, finite number of seconds, or none.
pub fn timeout(field: &str, seconds: Option<f64>) -> Result<Option<Duration>> {
    let Some(seconds) = seconds else {
        return Ok(None);
    };
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(Error::invalid(
            field,
            format!("must be a positive number of seconds, not {seconds}"),
        ));
    }
    if seconds.is_infinite() {
        return Err(Error::invalid(
            field,
            "must be a finite number of seconds (leave it out for no limit)",
        ));
    }
    if seconds > NO_LIMIT_BEYOND_SECONDS {
        return Ok(None);
    }
    Ok(Some(Duration::from_secs_f64(seconds)))
}

/// An age in days (retention): positive and finite; an age past 1970 keeps nothing old,
/// which the store's time arithmetic saturates to (never a panic).
pub fn age_in_days(field: &str, days: f64) -> Result<Duration> {
    if days.is_nan() || days <= 0.0 || days.is_infinite() {
        return Err(Error::invalid(
            field,
            format!("must be a positive number of days, not {days}"),
        ));
    }
    Ok(Duration::try_from_secs_f64(days * 86400.0).unwrap_or(Duration::MAX))
}

/// How long `wait` waits: as `timeout`, and 0 looks once without waiting.
pub fn wait_timeout(field: &str, seconds: Option<f64>) -> Result<Option<Duration>> {
    match seconds {
        Some(s) if s == 0.0 => Ok(Some(Duration::ZERO)),
        other => timeout(field, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Option<Duration>>) -> String {
        match result {
            Err(Error::Invalid { field, message }) => format!("{field}: {message}"),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn positive_finite_seconds_are_a_limit() {
        assert_eq!(timeout("timeout", None).unwrap(), None);
        assert_eq!(
            timeout("timeout", Some(2.5)).unwrap(),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            timeout("timeout", Some(NO_LIMIT_BEYOND_SECONDS)).unwrap(),
            Some(Duration::from_secs_f64(NO_LIMIT_BEYOND_SECONDS))
        );
    }

    #[test]
    fn ages_in_days_are_positive_and_saturate() {
        assert_eq!(
            age_in_days("days", 1.0).unwrap(),
            Duration::from_secs(86400)
        );
        assert_eq!(age_in_days("days", 1e300).unwrap(), Duration::MAX);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(age_in_days("days", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn huge_finite_values_are_no_limit_and_never_panic() {
        for seconds in [1e10, 1e30, 1e300, f64::MAX] {
            assert_eq!(
                timeout("timeout", Some(seconds)).unwrap(),
                None,
                "{seconds}"
            );
        }
    }

    #[test]
    fn zero_negative_nan_and_infinite_are_refused_naming_the_field() {
        for seconds in [0.0, -0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
            let text = message(timeout("cell_timeout_seconds", Some(seconds)));
            assert!(
                text.starts_with("cell_timeout_seconds: must be a positive number of seconds"),
                "{text}"
            );
        }
        let text = message(timeout("timeout", Some(f64::INFINITY)));
        assert!(text.contains("finite"), "{text}");
    }

    #[test]
    fn a_wait_of_zero_looks_once() {
        assert_eq!(
            wait_timeout("timeout", Some(0.0)).unwrap(),
            Some(Duration::ZERO)
        );
        assert_eq!(wait_timeout("timeout", Some(1e30)).unwrap(), None);
        message(wait_timeout("timeout", Some(-1.0)));
        message(wait_timeout("timeout", Some(f64::NAN)));
    }
}
