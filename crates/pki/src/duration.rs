//! Validity durations as the published self-signed charm spells them: an integer followed by
//! `m` (minutes), `h`, `d` or `w`; a bare number means days. And the checked arithmetic that
//! turns a start and a duration into a validity end a certificate can carry, so no input can
//! reach a panic in `time` (whose `+` panics past year 9999).

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The longest duration [`parse_duration`] reads: 1,000 years (365,250 days). Longer is no
/// certificate's lifetime, and it keeps `now + duration` far from year 9999.
pub const MAX_DURATION: Duration = Duration::days(365_250);

/// Why a duration string is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not the syntax.
    #[error(
        "invalid duration '{input}': expected a positive integer followed by m, h, d or w (e.g. 90d, 12h); a bare number means days"
    )]
    Syntax {
        /// What was given.
        input: String,
    },
    /// Longer than [`MAX_DURATION`].
    #[error("duration '{input}' is too long: at most 365250d (1000 years)")]
    TooLong {
        /// What was given.
        input: String,
    },
}

impl DurationError {
    /// What was given.
    pub fn input(&self) -> &str {
        match self {
            Self::Syntax { input } | Self::TooLong { input } => input,
        }
    }
}

/// Parses `90d`, `12h`, `30m`, `2w` or `365`, up to [`MAX_DURATION`].
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax {
        input: input.to_owned(),
    };
    let too_long = || DurationError::TooLong {
        input: input.to_owned(),
    };
    let s = input.trim();
    let (number, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_lowercase()),
        Some(_) => (s, 'd'),
        None => return Err(syntax()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    let minutes_per_unit: i64 = match unit {
        'm' => 1,
        'h' => 60,
        'd' => 60 * 24,
        'w' => 60 * 24 * 7,
        _ => return Err(syntax()),
    };
    // All digits: a parse failure can only be an overflow.
    let n: i64 = number.parse().map_err(|_| too_long())?;
    if n <= 0 {
        return Err(syntax());
    }
    let minutes = n.checked_mul(minutes_per_unit).ok_or_else(too_long)?;
    if minutes > MAX_DURATION.whole_minutes() {
        return Err(too_long());
    }
    Ok(Duration::minutes(minutes))
}

/// Why a validity window cannot be represented in a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidityError {
    /// The duration is zero or negative.
    #[error("a validity of {} is not positive", format_duration(*.length))]
    NotPositive {
        /// The duration given.
        length: Duration,
    },
    /// `start + length` is past [`last_representable`] (or past what `time` can hold).
    #[error(
        "a validity of {} from {} ends after 9999-12-31T23:59:59Z, the last time a certificate can carry",
        format_duration(*.length), rfc3339(.start)
    )]
    EndOutOfRange {
        /// The start.
        start: OffsetDateTime,
        /// The duration given.
        length: Duration,
    },
    /// The start is before year 0000, the first a certificate can carry.
    #[error("a validity starting at {} is before year 0000, the first a certificate can carry", rfc3339(.start))]
    StartOutOfRange {
        /// The start.
        start: OffsetDateTime,
    },
}

fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The last instant a certificate can carry: GeneralizedTime `99991231235959Z`.
pub const LAST_REPRESENTABLE: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

/// The end of a validity of `length` from `start`, checked: positive, and representable in a
/// certificate (years 0000 to 9999). Use it wherever a configured or requested duration meets
/// a clock, so an out-of-range value is an error naming it rather than a panic.
pub fn checked_end(
    start: OffsetDateTime,
    length: Duration,
) -> Result<OffsetDateTime, ValidityError> {
    if length <= Duration::ZERO {
        return Err(ValidityError::NotPositive { length });
    }
    if start.to_offset(time::UtcOffset::UTC).year() < 0 {
        return Err(ValidityError::StartOutOfRange { start });
    }
    start
        .checked_add(length)
        .filter(|end| *end <= LAST_REPRESENTABLE)
        .ok_or(ValidityError::EndOutOfRange { start, length })
}

/// The start of a validity `backdate` before `now`, checked like [`checked_end`].
pub fn checked_start(
    now: OffsetDateTime,
    backdate: Duration,
) -> Result<OffsetDateTime, ValidityError> {
    now.checked_sub(backdate)
        .filter(|start| start.to_offset(time::UtcOffset::UTC).year() >= 0)
        .ok_or(ValidityError::StartOutOfRange { start: now })
}

/// Formats a duration the way [`parse_duration`] reads it, in the largest exact unit.
pub fn format_duration(d: Duration) -> String {
    let minutes = d.whole_minutes();
    for (unit, size) in [('w', 60 * 24 * 7), ('d', 60 * 24), ('h', 60)] {
        if minutes != 0 && minutes % size == 0 {
            return format!("{}{unit}", minutes / size);
        }
    }
    format!("{minutes}m")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_published_charms_syntax() {
        assert_eq!(parse_duration("365d"), Ok(Duration::days(365)));
        assert_eq!(parse_duration("365"), Ok(Duration::days(365)));
        assert_eq!(parse_duration("12h"), Ok(Duration::hours(12)));
        assert_eq!(parse_duration("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_duration("2w"), Ok(Duration::weeks(2)));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in ["", "d", "0d", "-1d", "1.5d", "1y", "12 h"] {
            assert!(
                matches!(parse_duration(bad), Err(DurationError::Syntax { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_durations_longer_than_a_thousand_years() {
        // Regression: `pki ca --validity 3000000d` aborted (`now + validity` past year 9999).
        for bad in [
            "3000000d",
            "365251d",
            "99999999999999999999d",
            "9223372036854775807w",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(matches!(err, DurationError::TooLong { .. }), "{bad}");
            assert!(err.to_string().contains("at most 365250d"), "{err}");
        }
        assert_eq!(parse_duration("365250d"), Ok(MAX_DURATION));
    }

    #[test]
    fn validity_ends_are_checked_against_year_9999() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            checked_end(now, Duration::days(90)),
            Ok(now + Duration::days(90))
        );
        let err = checked_end(now, Duration::days(3_000_000)).unwrap_err();
        assert!(matches!(err, ValidityError::EndOutOfRange { .. }));
        assert!(err.to_string().contains("3000000d"), "{err}");
        assert!(err.to_string().contains("9999-12-31T23:59:59Z"), "{err}");
        assert!(matches!(
            checked_end(now, Duration::MAX),
            Err(ValidityError::EndOutOfRange { .. })
        ));
        assert!(matches!(
            checked_end(now, Duration::ZERO),
            Err(ValidityError::NotPositive { .. })
        ));
        let last = LAST_REPRESENTABLE;
        assert_eq!(last.year(), 9999);
        assert_eq!((last.hour(), last.minute(), last.second()), (23, 59, 59));
        assert_eq!(
            checked_end(last - Duration::days(1), Duration::days(1)),
            Ok(last)
        );
        assert!(checked_end(last - Duration::days(1), Duration::seconds(86_401)).is_err());
        assert!(checked_start(OffsetDateTime::UNIX_EPOCH, Duration::MAX).is_err());
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::days(90)), "90d");
        assert_eq!(format_duration(Duration::weeks(1)), "1w");
        assert_eq!(format_duration(Duration::minutes(90)), "90m");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,24}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn parsed_durations_are_bounded(n in any::<u64>(), unit in "[mhdw]?") {
            let text = format!("{n}{unit}");
            match parse_duration(&text) {
                Ok(d) => prop_assert!(d > Duration::ZERO && d <= MAX_DURATION),
                Err(e) => prop_assert_eq!(e.input(), text.as_str()),
            }
        }

        #[test]
        fn checked_end_never_panics_and_stays_representable(
            start_secs in -400_000_000_000i64..=253_402_300_799,
            length_secs in any::<i64>(),
        ) {
            let Ok(start) = OffsetDateTime::from_unix_timestamp(start_secs) else {
                return Ok(());
            };
            let length = Duration::seconds(length_secs);
            match checked_end(start, length) {
                Ok(end) => {
                    prop_assert!(end > start && end <= LAST_REPRESENTABLE);
                    prop_assert_eq!(end - start, length);
                }
                Err(ValidityError::NotPositive { .. }) => prop_assert!(length <= Duration::ZERO),
                Err(ValidityError::StartOutOfRange { .. }) => prop_assert!(start.year() < 0),
                Err(ValidityError::EndOutOfRange { .. }) => prop_assert!(
                    start.checked_add(length).is_none_or(|end| end > LAST_REPRESENTABLE)
                ),
            }
        }

        #[test]
        fn format_round_trips(minutes in 1i64..10_000_000) {
            let d = Duration::minutes(minutes);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
