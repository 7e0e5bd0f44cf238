//! Property tests of the parsers that take user text (parameter text forms, cron, store
//! URLs, storage locations): any input gives a value or a typed error, never a panic; and
//! what they accept they read back the same.

use crate::params::{self, Language};
use crate::schedule::CronSchedule;
use crate::storage::Location;
use proptest::prelude::*;

/// Text with the characters that break parsers: quotes, separators, escapes, brackets,
/// control and non-ASCII characters.
fn nasty() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\''),
            Just(','),
            Just('='),
            Just('\\'),
            Just('['),
            Just(']'),
            Just('{'),
            Just('}'),
            Just(':'),
            Just('/'),
            Just(' '),
            Just('\n'),
            Just('\0'),
            Just('*'),
            Just('-'),
            Just('L'),
            Just('#'),
            Just('W'),
            Just('?'),
            Just('é'),
            Just('\u{2028}'),
            Just('0'),
            Just('9'),
            Just('.'),
            Just('e'),
            Just('a'),
            any::<char>(),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parameter_text_never_panics(text in nasty()) {
        let _ = params::parse_assignments(&text);
        let _ = params::typed_value(&text);
        let _ = params::parse_defaults(&text, Language::Python);
        let _ = params::parse_defaults(&text, Language::R);
        let _ = params::parse_defaults(&text, Language::Julia);
    }

    #[test]
    fn cron_and_zones_never_panic(expr in nasty(), zone in nasty()) {
        let _ = CronSchedule::parse(&expr, &zone);
        let _ = CronSchedule::parse(&expr, "UTC");
    }

    #[test]
    fn store_urls_and_locations_never_panic(text in nasty()) {
        let _ = crate::store::check_url(&text);
        let _ = Location::parse(&text);
        let _ = Location::parse(&format!("gs://{text}"));
        let _ = Location::parse_folder(&format!("file://{text}"));
    }

    #[test]
    fn gs_locations_read_back_as_written(
        bucket in "[a-z0-9][a-z0-9_-]{1,20}[a-z0-9]",
        name in "[a-zA-Z0-9 ._/é-]{0,30}",
    ) {
        let text = format!("gs://{bucket}/{name}");
        let location = Location::parse(&text).unwrap();
        prop_assert_eq!(location.to_string(), text.clone());
        prop_assert_eq!(Location::parse(&location.to_string()).unwrap(), location);
    }
}
