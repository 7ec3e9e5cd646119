//! Durations as people write them, in three named dialects:
//!
//! * [`Dialect::Config`], the charm-config dialect of the published charms (the
//!   `certificate-validity` of self-signed-certificates): one positive integer followed by `m`,
//!   `h`, `d` or `w`; a bare number means days (`90` is 90 days).
//! * [`Dialect::Cli`], the dialect of `juju-tls` verbs (`advance`, `--timeout`, `--hook-timeout`):
//!   a sum of integer-and-unit parts with units `s`, `m`, `h`, `d`, `w` (`1d12h`,
//!   `90m`, `45s`); a bare number is refused, so `90` is never silently read as seconds or days.
//!   [`parse_cli_or_seconds`] is that dialect for timeouts, where a bare number is seconds.
//! * [`Dialect::Go`], what Juju's own hook tools read (Go's `time.ParseDuration`, used by
//!   `secret-add --expire`): signed, fractions allowed, units `ns`, `us`/`µs`, `ms`, `s`, `m`,
//!   `h` and no `d` or `w` (`1.5h`, `90m`, `-1h`).
//!
//! All are bounded by [`MAX_DURATION`], so no duration read here can push a clock past year
//! 9999. Which dialect a flag takes is said in its `--help`.

use std::fmt;

use time::Duration;

/// The longest duration either dialect reads: 1,000 years (365,250 days). Longer is no
/// certificate's lifetime nor a useful clock jump, and it keeps `now + duration` far from the
/// year 9999.
pub const MAX_DURATION: Duration = Duration::days(365_250);

/// Which spelling of durations a caller reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The charm-config dialect: `90d`, `12h`, `30m`, `2w`, `90` (days).
    Config,
    /// The CLI dialect: `30d`, `12h`, `90m`, `45s`, `2w`, sums like `1d12h`.
    Cli,
    /// Go's `time.ParseDuration`, as Juju's hook tools read it: `1.5h`, `90m`, `-1h`, `500ms`.
    Go,
}

/// Why a duration text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not the syntax of the dialect.
    #[error("invalid duration '{input}': {}", dialect.expected())]
    Syntax {
        /// What was given.
        input: String,
        /// The dialect it was read in.
        dialect: Dialect,
    },
    /// Longer than [`MAX_DURATION`].
    #[error("duration '{input}' {TOO_LONG}")]
    TooLong {
        /// What was given.
        input: String,
    },
}

const TOO_LONG: &str = "is too long: at most 365250d (1000 years)";

impl Dialect {
    fn expected(self) -> &'static str {
        match self {
            Dialect::Config => {
                "expected a positive integer followed by m, h, d or w (e.g. 90d, 12h); a bare number means days"
            }
            Dialect::Cli => {
                "expected numbers with units s, m, h, d or w, summed (e.g. 30d, 12h, 90m, 45s, 1d12h)"
            }
            Dialect::Go => {
                "expected Go's duration syntax: signed numbers with units ns, us, ms, s, m or h (e.g. 24h, 1.5h, 90m)"
            }
        }
    }

    /// Reads `input` in this dialect.
    pub fn parse(self, input: &str) -> Result<Duration, DurationError> {
        match self {
            Dialect::Config => parse_config(input),
            Dialect::Cli => parse_cli(input),
            Dialect::Go => parse_go(input),
        }
    }
}

impl DurationError {
    /// What was given.
    pub fn input(&self) -> &str {
        match self {
            Self::Syntax { input, .. } | Self::TooLong { input } => input,
        }
    }

    /// The problem as a predicate of the input, for messages that name the input first
    /// (`certificate-validity '1y' is not a duration (…)`).
    pub fn problem(&self) -> String {
        match self {
            Self::Syntax { dialect, .. } => format!("is not a duration ({})", dialect.expected()),
            Self::TooLong { .. } => TOO_LONG.to_owned(),
        }
    }
}

fn minutes_per(unit: char) -> Option<i64> {
    Some(match unit {
        'm' => 1,
        'h' => 60,
        'd' => 60 * 24,
        'w' => 60 * 24 * 7,
        _ => return None,
    })
}

/// Reads the charm-config dialect: `90d`, `12h`, `30m`, `2w` or `365` (days), up to
/// [`MAX_DURATION`]. Surrounding blanks are ignored; a unit may be upper case.
pub fn parse_config(input: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax {
        input: input.to_owned(),
        dialect: Dialect::Config,
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
    let per = minutes_per(unit).ok_or_else(syntax)?;
    // All digits: a parse failure can only be an overflow.
    let n: i64 = number.parse().map_err(|_| too_long())?;
    if n == 0 {
        return Err(syntax());
    }
    let minutes = n.checked_mul(per).ok_or_else(too_long)?;
    if minutes > MAX_DURATION.whole_minutes() {
        return Err(too_long());
    }
    Ok(Duration::minutes(minutes))
}

/// Reads the CLI dialect: one or more integer-and-unit parts (`s`, `m`, `h`, `d`, `w`), summed,
/// up to [`MAX_DURATION`]. `0s` is valid (a zero step); a bare number is not.
pub fn parse_cli(input: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax {
        input: input.to_owned(),
        dialect: Dialect::Cli,
    };
    let too_long = || DurationError::TooLong {
        input: input.to_owned(),
    };
    let s = input.trim();
    let max = MAX_DURATION.whole_seconds();
    let mut total: i64 = 0;
    let mut digits = 0..0;
    let mut parts = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            if digits.is_empty() {
                digits = i..i;
            }
            digits.end = i + 1;
            continue;
        }
        if digits.is_empty() {
            return Err(syntax());
        }
        let per = match c {
            's' => 1,
            _ => minutes_per(c).ok_or_else(syntax)? * 60,
        };
        let n: i64 = s[digits.clone()].parse().map_err(|_| too_long())?;
        digits = 0..0;
        total = n
            .checked_mul(per)
            .and_then(|secs| total.checked_add(secs))
            .filter(|t| *t <= max)
            .ok_or_else(too_long)?;
        parts += 1;
    }
    if !digits.is_empty() || parts == 0 {
        return Err(syntax());
    }
    Ok(Duration::seconds(total))
}

/// The CLI dialect for timeouts: a bare number is seconds (`--timeout 60`), anything else is
/// read by [`parse_cli`].
pub fn parse_cli_or_seconds(input: &str) -> Result<Duration, DurationError> {
    let s = input.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return parse_cli(&format!("{s}s")).map_err(|e| match e {
            DurationError::TooLong { .. } => DurationError::TooLong {
                input: input.to_owned(),
            },
            DurationError::Syntax { .. } => DurationError::Syntax {
                input: input.to_owned(),
                dialect: Dialect::Cli,
            },
        });
    }
    parse_cli(input)
}

/// Reads Go's `time.ParseDuration` syntax, the one Juju's hook tools accept: an optional sign,
/// then one or more decimal numbers (fractions allowed) each with a unit (`ns`, `us`, `µs`, `μs`,
/// `ms`, `s`, `m`, `h`), summed; `0` alone is zero. No blanks, no `d`. Bounded by
/// [`MAX_DURATION`] either way.
pub fn parse_go(input: &str) -> Result<Duration, DurationError> {
    let syntax = || DurationError::Syntax {
        input: input.to_owned(),
        dialect: Dialect::Go,
    };
    let too_long = || DurationError::TooLong {
        input: input.to_owned(),
    };
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(syntax());
    }
    let max = i128::from(MAX_DURATION.whole_seconds()) * 1_000_000_000;
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(syntax)?;
        let (number, tail) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(syntax());
        }
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let nanos_per: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(syntax()),
        };
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_long())?
        };
        // Go keeps the fraction's leading digits; 18 are beyond a nanosecond of any unit here.
        let digits = &fraction[..fraction.len().min(18)];
        let scale = 10i128.pow(u32::try_from(digits.len()).map_err(|_| syntax())?);
        let fraction: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| syntax())?
        };
        total = whole
            .checked_mul(nanos_per)
            .and_then(|w| w.checked_add(fraction * nanos_per / scale))
            .and_then(|part| total.checked_add(part))
            .filter(|t| *t <= max)
            .ok_or_else(too_long)?;
        rest = next;
    }
    let nanos = i64::try_from(total).map_err(|_| too_long())?;
    let d = Duration::nanoseconds(nanos);
    Ok(if negative { -d } else { d })
}

/// Writes a duration the way [`parse_config`] reads it, in the largest exact unit (`90d`, `1w`,
/// `90m`); seconds are dropped.
pub fn format_config(d: Duration) -> String {
    let minutes = d.whole_minutes();
    for (unit, size) in [('w', 60 * 24 * 7), ('d', 60 * 24), ('h', 60)] {
        if minutes != 0 && minutes % size == 0 {
            return format!("{}{unit}", minutes / size);
        }
    }
    format!("{minutes}m")
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Config => "charm-config",
            Dialect::Cli => "CLI",
            Dialect::Go => "Go",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn config_reads_the_published_charms_syntax() {
        assert_eq!(parse_config("365d"), Ok(Duration::days(365)));
        assert_eq!(parse_config("365"), Ok(Duration::days(365)));
        assert_eq!(parse_config(" 12H "), Ok(Duration::hours(12)));
        assert_eq!(parse_config("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_config("2w"), Ok(Duration::weeks(2)));
        assert_eq!(parse_config("365250d"), Ok(MAX_DURATION));
    }

    #[test]
    fn config_refuses_what_it_cannot_read() {
        for bad in [
            "", "d", "0d", "0", "-1d", "1.5d", "1y", "12 h", "1d12h", "45s", "+1d", "٣d",
        ] {
            assert!(
                matches!(parse_config(bad), Err(DurationError::Syntax { .. })),
                "{bad}"
            );
        }
        let e = parse_config("1y").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid duration '1y': expected a positive integer followed by m, h, d or w (e.g. 90d, 12h); a bare number means days"
        );
    }

    #[test]
    fn config_refuses_more_than_a_thousand_years() {
        // Regression: `pki ca --validity 3000000d` aborted (`now + validity` past year 9999).
        for bad in [
            "3000000d",
            "365251d",
            "99999999999999999999d",
            "9223372036854775807w",
            "9223372036854775807",
        ] {
            let err = parse_config(bad).unwrap_err();
            assert!(matches!(err, DurationError::TooLong { .. }), "{bad}");
            assert!(err.to_string().contains("at most 365250d"), "{err}");
        }
    }

    #[test]
    fn cli_sums_its_parts() {
        assert_eq!(parse_cli("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_cli("1d12h"), Ok(Duration::hours(36)));
        assert_eq!(parse_cli("45s"), Ok(Duration::seconds(45)));
        assert_eq!(parse_cli("1h30m15s"), Ok(Duration::seconds(5415)));
        assert_eq!(parse_cli("2w"), Ok(Duration::weeks(2)));
        assert_eq!(parse_cli("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_cli("365250d"), Ok(MAX_DURATION));
    }

    #[test]
    fn cli_refuses_bare_numbers_and_garbage() {
        for bad in [
            "", "12", "x", "d", "1x", "1d2", "1.5h", "-1d", "1 d", "h1", "soon",
        ] {
            assert!(
                matches!(parse_cli(bad), Err(DurationError::Syntax { .. })),
                "{bad}"
            );
        }
        assert!(
            parse_cli("soon")
                .unwrap_err()
                .to_string()
                .starts_with("invalid duration 'soon'")
        );
    }

    #[test]
    fn cli_overflow_is_too_long_not_a_panic() {
        for bad in [
            "365251d",
            "365250d1s",
            "9223372036854775807s",
            "99999999999999999999999s",
            "9223372036854775807w1s",
        ] {
            assert!(
                matches!(parse_cli(bad), Err(DurationError::TooLong { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn timeouts_take_bare_seconds() {
        assert_eq!(parse_cli_or_seconds("60"), Ok(Duration::seconds(60)));
        assert_eq!(parse_cli_or_seconds("5m"), Ok(Duration::minutes(5)));
        assert!(matches!(
            parse_cli_or_seconds("99999999999999999999"),
            Err(DurationError::TooLong { input }) if input == "99999999999999999999"
        ));
        assert!(parse_cli_or_seconds("").is_err());
    }

    #[test]
    fn the_two_dialects_differ_where_documented() {
        assert_eq!(Dialect::Config.parse("90"), Ok(Duration::days(90)));
        assert!(Dialect::Cli.parse("90").is_err());
        assert!(Dialect::Config.parse("45s").is_err());
        assert_eq!(Dialect::Cli.parse("45s"), Ok(Duration::seconds(45)));
        assert_eq!(
            DurationError::TooLong { input: "x".into() }.problem(),
            "is too long: at most 365250d (1000 years)"
        );
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_config(Duration::days(90)), "90d");
        assert_eq!(format_config(Duration::weeks(1)), "1w");
        assert_eq!(format_config(Duration::minutes(90)), "90m");
    }

    #[test]
    fn go_reads_what_juju_reads() {
        assert_eq!(parse_go("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_go("1.5h"), Ok(Duration::minutes(90)));
        assert_eq!(parse_go("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_go("500ms"), Ok(Duration::milliseconds(500)));
        assert_eq!(parse_go("-1h"), Ok(Duration::hours(-1)));
        assert_eq!(parse_go(".5s"), Ok(Duration::milliseconds(500)));
        assert_eq!(parse_go("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go("2µs"), Ok(Duration::microseconds(2)));
        // Go has no days, no bare numbers, no blanks.
        for bad in [
            "", "1d", "2w", "90", " 1h", "1h ", ".s", "1..5h", "h", "-", "1e3s",
        ] {
            assert!(
                matches!(parse_go(bad), Err(DurationError::Syntax { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_go("9999999h"),
            Err(DurationError::TooLong { .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panic(s in ".{0,24}") {
            let _ = parse_config(&s);
            let _ = parse_cli(&s);
            let _ = parse_cli_or_seconds(&s);
            let _ = parse_go(&s);
        }

        #[test]
        fn go_is_the_signed_sum_of_its_parts(neg in any::<bool>(), parts in proptest::collection::vec((0u32..100_000, 0u32..1000, "(ns|us|ms|s|m|h)"), 1..4)) {
            let text: String = std::iter::once(if neg { "-" } else { "" }.to_owned())
                .chain(parts.iter().map(|(n, f, u)| format!("{n}.{f:03}{u}")))
                .collect();
            let nanos: i128 = parts
                .iter()
                .map(|(n, f, u)| {
                    let per: i128 = match u.as_str() {
                        "ns" => 1, "us" => 1_000, "ms" => 1_000_000, "s" => 1_000_000_000,
                        "m" => 60_000_000_000, _ => 3_600_000_000_000,
                    };
                    i128::from(*n) * per + i128::from(*f) * per / 1000
                })
                .sum();
            let want = if neg { -nanos } else { nanos };
            prop_assert_eq!(parse_go(&text).map(|d| d.whole_nanoseconds()), Ok(want));
        }

        #[test]
        fn config_durations_are_bounded(n in any::<u64>(), unit in "[mhdw]?") {
            let text = format!("{n}{unit}");
            match parse_config(&text) {
                Ok(d) => prop_assert!(d > Duration::ZERO && d <= MAX_DURATION),
                Err(e) => prop_assert_eq!(e.input(), text.as_str()),
            }
        }

        #[test]
        fn cli_is_the_sum_of_its_parts(parts in proptest::collection::vec((0u32..100_000, "[smhdw]"), 1..5)) {
            let text: String = parts.iter().map(|(n, u)| format!("{n}{u}")).collect();
            let secs: i64 = parts
                .iter()
                .map(|(n, u)| i64::from(*n) * match u.as_str() {
                    "s" => 1, "m" => 60, "h" => 3600, "d" => 86400, _ => 7 * 86400,
                })
                .sum();
            match parse_cli(&text) {
                Ok(d) => prop_assert_eq!(d, Duration::seconds(secs)),
                Err(e) => {
                    prop_assert!(matches!(e, DurationError::TooLong { .. }), "{}", e);
                    prop_assert!(secs > MAX_DURATION.whole_seconds());
                }
            }
        }

        #[test]
        fn config_format_round_trips(minutes in 1i64..10_000_000) {
            let d = Duration::minutes(minutes);
            prop_assert_eq!(parse_config(&format_config(d)), Ok(d));
            prop_assert_eq!(parse_cli(&format_config(d)), Ok(d));
        }
    }
}
