//! Action result keys as `action-set` takes them: dotted paths whose every segment matches
//! `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$` (Juju's action name rule) and is none of the reserved
//! keys. Juju checks segment by segment, the rule then the reserved names, and names the
//! offending segment in its error (`jujuc/action-set.go`); so `stdout.x` and `a.stderr` are both
//! refused.

/// Keys Juju adds to every action's results itself.
pub const RESERVED_ACTION_KEYS: [&str; 4] =
    ["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

/// Why `action-set` refuses a key; the texts are Juju's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActionKeyError {
    /// A segment breaks the rule (empty segments included: `a..b`, `.a`, `a.`).
    #[error(
        "key {segment:?} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
    )]
    BadSegment {
        /// The segment, as Juju names it.
        segment: String,
    },
    /// A segment is one of [`RESERVED_ACTION_KEYS`].
    #[error("cannot set reserved action key \"{segment}\"")]
    Reserved {
        /// The segment.
        segment: String,
    },
}

fn segment_ok(seg: &str) -> bool {
    let b = seg.as_bytes();
    let word = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => word(f) && word(l) && b.iter().all(|c| word(c) || *c == b'-'),
        _ => false,
    }
}

/// Checks one result key (`cert`, `outfile.size`).
pub fn check_action_key(key: &str) -> Result<(), ActionKeyError> {
    for segment in key.split('.') {
        if !segment_ok(segment) {
            return Err(ActionKeyError::BadSegment {
                segment: segment.to_owned(),
            });
        }
        if RESERVED_ACTION_KEYS.contains(&segment) {
            return Err(ActionKeyError::Reserved {
                segment: segment.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_juju_accepts() {
        for k in [
            "a",
            "a.b",
            "cert-pem",
            "a1.b-2",
            "500",
            "5-o-0",
            "foo.bar.baz",
        ] {
            assert_eq!(check_action_key(k), Ok(()), "{k}");
        }
    }

    #[test]
    fn keys_juju_refuses_with_its_texts() {
        // From jujuc/action-set_test.go and the Init loop of action-set.go.
        assert_eq!(
            check_action_key("result-Value").unwrap_err().to_string(),
            "key \"result-Value\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
        );
        assert_eq!(
            check_action_key("stdout").unwrap_err().to_string(),
            "cannot set reserved action key \"stdout\""
        );
        for (key, segment) in [("", ""), ("a..b", ""), (".a", ""), ("a.", ""), ("a.B", "B")] {
            assert_eq!(
                check_action_key(key),
                Err(ActionKeyError::BadSegment {
                    segment: segment.into()
                }),
                "{key}"
            );
        }
        for (key, segment) in [
            ("stdout.x", "stdout"),
            ("a.stderr", "stderr"),
            ("stderr-encoding.x", "stderr-encoding"),
            ("stdout-encoding", "stdout-encoding"),
        ] {
            assert_eq!(
                check_action_key(key),
                Err(ActionKeyError::Reserved {
                    segment: segment.into()
                }),
                "{key}"
            );
        }
        for bad in ["A", "-a", "a-", "a_b", "a b", "é"] {
            assert!(check_action_key(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_key_is_valid_iff_every_segment_is(segs in proptest::collection::vec("[a-z0-9A_.-]{0,6}", 1..4)) {
            let key = segs.join(".");
            let by_segment = key.split('.').all(|s| segment_ok(s) && !RESERVED_ACTION_KEYS.contains(&s));
            prop_assert_eq!(check_action_key(&key).is_ok(), by_segment);
        }

        #[test]
        fn errors_name_a_segment_of_the_key(key in ".{0,16}") {
            match check_action_key(&key) {
                Ok(()) => {}
                Err(ActionKeyError::BadSegment { segment } | ActionKeyError::Reserved { segment }) => {
                    prop_assert!(key.split('.').any(|s| s == segment));
                }
            }
        }
    }
}
