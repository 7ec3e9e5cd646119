//! Juju names, checked once where they enter the model. Application and unit names follow the
//! vocabulary's rules (`hook_tools::names`, juju/names'); model names are the local model's own
//! (they become directory names): lowercase letters, digits and single dashes, at most 60.

use crate::error::{Result, UsageError};

fn usage(kind: &'static str, e: hook_tools::NameError) -> UsageError {
    UsageError::InvalidName {
        kind,
        name: e.value,
        reason: e.reason,
    }
}

/// Checks a model name.
pub(crate) fn check_model(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 60
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(UsageError::InvalidName {
            kind: "model",
            name: name.to_owned(),
            reason: "use lowercase letters, digits and single dashes, starting with a letter",
        }
        .into())
    }
}

/// Checks an application name.
pub(crate) fn check_app(name: &str) -> Result<()> {
    hook_tools::names::check_app_name(name).map_err(|e| usage("application", e).into())
}

/// The application of a unit name the store holds. Stored names were checked when they entered
/// (by the rules of the binary that recorded them), so they are only split here, never judged
/// again: a model made before a rule got stricter stays usable.
pub(crate) fn app_of(unit: &str) -> Result<&str> {
    match unit.rsplit_once('/') {
        Some((app, n)) if !app.is_empty() && n.parse::<u32>().is_ok() => Ok(app),
        _ => Err(UsageError::InvalidName {
            kind: "unit",
            name: unit.to_owned(),
            reason: "a unit name is <application>/<number>",
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_names() {
        assert!(check_app("web").is_ok());
        assert!(check_app("self-signed-ca2").is_ok());
        assert!(check_app("Web").is_err());
        assert!(check_app("9a").is_err());
        assert!(check_app("a-").is_err());
        // Juju's rule: a word after a dash needs a letter, `_` is no name character.
        assert!(check_app("self-signed-2").is_err());
        assert!(check_app("web_1").is_err());
        assert_eq!(app_of("web/3").unwrap(), "web");
        assert!(app_of("web").is_err());
        // Stored before `_` and `-2` were refused: still split, not judged again.
        assert_eq!(app_of("self-signed-2/0").unwrap(), "self-signed-2");
        assert_eq!(app_of("web_1/4").unwrap(), "web_1");
        assert!(check_model("scale-10").is_ok());
        assert!(check_model("a".repeat(61).as_str()).is_err());
    }
}
