//! The virtual clock. Model time is the real time plus an offset; the offset is kept in the store
//! and in a libfaketime timestamp file (`+<seconds>`) that every hook and workload process reads
//! on each clock call (`FAKETIME_NO_CACHE=1`), so `advance` moves the time of running processes
//! too, by rewriting one file. Offsets rather than absolute times keep time flowing between
//! hooks, as it does under Juju.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

use crate::error::{Error, Result, UsageError};

/// Where Debian and Ubuntu install libfaketime.
const FAKETIME_PATHS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
];

/// The libfaketime preload library, if installed.
pub fn faketime_library() -> Option<PathBuf> {
    FAKETIME_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Real seconds since the epoch.
pub(crate) fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Writes the libfaketime file for `offset` seconds (write then rename: a reader never sees a
/// half-written file).
pub(crate) fn write_offset_file(path: &Path, offset: i64) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let text = if offset >= 0 {
        format!("+{offset}\n")
    } else {
        format!("{offset}\n")
    };
    std::fs::write(&tmp, text).map_err(|e| Error::io("writing", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("writing", path, e))
}

/// Parses a duration in the CLI dialect of the vocabulary (`30d`, `12h`, `90m`, `45s`, `2w`,
/// sums like `1d12h`; a bare number is refused), in seconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    hook_tools::duration::parse_cli(text)
        .map(|d| d.whole_seconds())
        .map_err(|e| UsageError::BadArgument(e.to_string()).into())
}

/// RFC 3339 in UTC with `Z`, as Juju prints times.
pub(crate) fn format_rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// Parses an `--expire` value the way Juju's `secret-add`/`secret-set` do: RFC 3339 with `Z` or
/// `±hh:mm`, a zoneless timestamp read as UTC (ops ≤ 3.6 sends naive local times), each
/// optionally with fractional seconds; or a positive Go duration from `now` (`24h`, `1.5h`),
/// with Juju's error texts.
pub fn parse_expiry(text: &str, now: i64) -> Result<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let zoneless = text.replace(' ', "T");
    let with_z = format!("{zoneless}Z");
    if let Ok(t) = OffsetDateTime::parse(&with_z, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(t) = time::PrimitiveDateTime::parse(&zoneless, &fmt) {
        return Ok(t.assume_utc().unix_timestamp());
    }
    let d = hook_tools::duration::parse_go(text).map_err(|_| {
        UsageError::BadArgument(format!("expire time or duration {text:?} not valid"))
    })?;
    if d <= time::Duration::ZERO {
        return Err(UsageError::BadArgument(format!(
            "negative expire duration {text:?} not valid"
        ))
        .into());
    }
    // The clock counts whole seconds; a part second still lies ahead.
    let secs = d.whole_seconds() + i64::from(d.subsec_nanoseconds() > 0);
    Ok(now + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_every_spelling_ops_sends() {
        let z = parse_expiry("2027-02-18T15:22:03.320706Z", 0).unwrap();
        let plus = parse_expiry("2027-02-18T15:22:03.320706+00:00", 0).unwrap();
        let naive = parse_expiry("2027-02-18T15:22:03.320706", 0).unwrap();
        let shifted = parse_expiry("2027-02-18T17:22:03+02:00", 0).unwrap();
        assert_eq!(z, plus);
        assert_eq!(z, naive);
        assert_eq!(z, shifted);
        assert_eq!(parse_expiry("24h", 100).unwrap(), 100 + 86400);
        assert_eq!(parse_expiry("1.5h", 100).unwrap(), 100 + 5400);
        assert_eq!(parse_expiry("500ms", 100).unwrap(), 101);
        // Juju's texts; Go has no days.
        for (bad, text) in [
            ("tomorrow", "expire time or duration \"tomorrow\" not valid"),
            ("1d", "expire time or duration \"1d\" not valid"),
            (
                "2022-01-01",
                "expire time or duration \"2022-01-01\" not valid",
            ),
            ("-1h", "negative expire duration \"-1h\" not valid"),
        ] {
            let err = parse_expiry(bad, 0).unwrap_err().to_string();
            assert!(err.contains(text), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_sum_their_parts() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86400);
        assert_eq!(parse_duration("1d12h").unwrap(), 36 * 3600);
        assert!(parse_duration("12").is_err());
        assert!(parse_duration("x").is_err());
    }
}
