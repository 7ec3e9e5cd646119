//! Validity durations as the published self-signed charm spells them: an integer followed by
//! `m` (minutes), `h`, `d` or `w`; a bare number means days.

use time::Duration;

/// Why a duration string is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration '{input}': expected a positive integer followed by m, h, d or w (e.g. 90d, 12h); a bare number means days"
)]
pub struct DurationError {
    /// What was given.
    pub input: String,
}

/// Parses `90d`, `12h`, `30m`, `2w` or `365`.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = || DurationError {
        input: input.to_owned(),
    };
    let s = input.trim();
    let (number, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_lowercase()),
        Some(_) => (s, 'd'),
        None => return Err(err()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let n: i64 = number.parse().map_err(|_| err())?;
    if n <= 0 {
        return Err(err());
    }
    let minutes = match unit {
        'm' => Some(n),
        'h' => n.checked_mul(60),
        'd' => n.checked_mul(60 * 24),
        'w' => n.checked_mul(60 * 24 * 7),
        _ => None,
    }
    .ok_or_else(err)?;
    // Beyond ~10,000 years a certificate's GeneralizedTime cannot express the end anyway.
    if minutes > 60 * 24 * 366 * 9000 {
        return Err(err());
    }
    Ok(Duration::minutes(minutes))
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
        for bad in [
            "",
            "d",
            "0d",
            "-1d",
            "1.5d",
            "1y",
            "12 h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
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
        fn format_round_trips(minutes in 1i64..10_000_000) {
            let d = Duration::minutes(minutes);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
