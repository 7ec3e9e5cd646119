//! Juju names, checked once where they enter the model.

use crate::error::{Result, UsageError};

fn check(kind: &'static str, name: &str) -> Result<()> {
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
            kind,
            name: name.to_owned(),
            reason: "use lowercase letters, digits and single dashes, starting with a letter",
        }
        .into())
    }
}

/// Checks a model name.
pub(crate) fn check_model(name: &str) -> Result<()> {
    check("model", name)
}

/// Checks an application name.
pub(crate) fn check_app(name: &str) -> Result<()> {
    check("application", name)
}

/// Splits `app/n` into its parts.
pub(crate) fn split_unit(name: &str) -> Result<(&str, i64)> {
    let bad = || UsageError::InvalidName {
        kind: "unit",
        name: name.to_owned(),
        reason: "expected <application>/<number>",
    };
    let (app, n) = name.split_once('/').ok_or_else(bad)?;
    let n = n.parse::<i64>().map_err(|_| bad())?;
    check_app(app)?;
    Ok((app, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_names() {
        assert!(check_app("web").is_ok());
        assert!(check_app("self-signed-2").is_ok());
        assert!(check_app("Web").is_err());
        assert!(check_app("9a").is_err());
        assert!(check_app("a-").is_err());
        assert_eq!(split_unit("web/3").unwrap(), ("web", 3));
        assert!(split_unit("web").is_err());
    }
}
