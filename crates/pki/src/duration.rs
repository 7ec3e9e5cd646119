//! The checked arithmetic that turns a start and a plain [`Duration`] into a validity a
//! certificate can carry, so no input can reach a panic in `time` (whose `+` panics past year
//! 9999). Reading durations from user text is the callers' business (the charm config and CLI
//! dialects live in the `hook-tools` vocabulary crate); pki knows nothing of Juju.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Why a validity window cannot be represented in a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidityError {
    /// The duration is zero or negative.
    #[error("a validity of {} is not positive", show(*.length))]
    NotPositive {
        /// The duration given.
        length: Duration,
    },
    /// `start + length` is past [`LAST_REPRESENTABLE`] (or past what `time` can hold).
    #[error(
        "a validity of {} from {} ends after 9999-12-31T23:59:59Z, the last time a certificate can carry",
        show(*.length), rfc3339(.start)
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

/// A duration for an error message, in the largest exact unit (`90d`, `1w`, `90m`).
fn show(d: Duration) -> String {
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
    fn errors_show_the_largest_exact_unit() {
        assert_eq!(show(Duration::days(90)), "90d");
        assert_eq!(show(Duration::weeks(1)), "1w");
        assert_eq!(show(Duration::minutes(90)), "90m");
    }

    proptest! {
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
    }
}
