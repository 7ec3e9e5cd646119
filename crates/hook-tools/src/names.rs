//! Juju names and their rules, in one place: application, unit and endpoint names, parsed once at
//! the edge (`FromStr`) so no caller re-checks a string.
//!
//! The rules are juju/names': an application name is `[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*`
//! (`application.go`: every word after a dash holds a letter, so `web-2` is not a name: it would
//! read as unit 2 of `web` in a tag), a unit name `<application>/<number>` with no leading zero
//! (`NumberSnippet`), an endpoint (relation) name `[a-z][a-z0-9]*([_-][a-z0-9]+)*`
//! (`RelationSnippet`). juju/names puts no length cap on any of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string that is not a valid name of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {reason}")]
pub struct NameError {
    /// What was expected (`application name`, `unit name`, …).
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
    /// Why.
    pub reason: &'static str,
}

fn err(kind: &'static str, value: &str, reason: &'static str) -> NameError {
    NameError {
        kind,
        value: value.to_owned(),
        reason,
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Checks an application name (also a charm name: `charmcraft` and Juju use the same rule).
pub fn check_app_name(s: &str) -> Result<(), NameError> {
    const KIND: &str = "application name";
    let first = *s.as_bytes().first().ok_or_else(|| err(KIND, s, "empty"))?;
    if !first.is_ascii_lowercase() {
        return Err(err(KIND, s, "must start with a lowercase letter"));
    }
    if !s.bytes().all(|b| is_word_byte(b) || b == b'-') {
        return Err(err(
            KIND,
            s,
            "only lowercase letters, digits and '-' are allowed",
        ));
    }
    for (i, word) in s.split('-').enumerate() {
        if word.is_empty() {
            return Err(err(
                KIND,
                s,
                "'-' must join two words (not doubled, not last)",
            ));
        }
        if i > 0 && !word.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(err(
                KIND,
                s,
                "every word after a '-' needs a letter (Juju reads `web-2` as a unit)",
            ));
        }
    }
    Ok(())
}

/// Checks an endpoint (relation) name from a charm's metadata.
pub fn check_endpoint_name(s: &str) -> Result<(), NameError> {
    const KIND: &str = "endpoint name";
    let first = *s.as_bytes().first().ok_or_else(|| err(KIND, s, "empty"))?;
    if !first.is_ascii_lowercase() {
        return Err(err(KIND, s, "must start with a lowercase letter"));
    }
    if !s.bytes().all(|b| is_word_byte(b) || b == b'-' || b == b'_') {
        return Err(err(
            KIND,
            s,
            "only lowercase letters, digits, '-' and '_' are allowed",
        ));
    }
    if s.split(['-', '_']).any(str::is_empty) {
        return Err(err(
            KIND,
            s,
            "'-' and '_' must join two words (not doubled, not last)",
        ));
    }
    Ok(())
}

/// Splits a unit name into its application and number, checking both.
pub fn split_unit_name(s: &str) -> Result<(&str, u32), NameError> {
    const KIND: &str = "unit name";
    let (app, n) = s
        .split_once('/')
        .ok_or_else(|| err(KIND, s, "expected <app>/<number>"))?;
    check_app_name(app).map_err(|_| err(KIND, s, "bad application part"))?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(KIND, s, "bad unit number"));
    }
    if n.len() > 1 && n.starts_with('0') {
        return Err(err(KIND, s, "unit number with a leading zero"));
    }
    let number = n
        .parse()
        .map_err(|_| err(KIND, s, "unit number too large"))?;
    Ok((app, number))
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An application name such as `web`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppName(String);

impl AppName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AppName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        check_app_name(s)?;
        Ok(AppName(s.to_owned()))
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
serde_via_str!(AppName);

/// A unit name such as `web/0`: application and number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitName {
    app: AppName,
    number: u32,
}

impl UnitName {
    /// Builds `app/number`.
    pub fn new(app: AppName, number: u32) -> Self {
        UnitName { app, number }
    }

    /// The application the unit belongs to.
    pub fn app(&self) -> &AppName {
        &self.app
    }

    /// The unit number.
    pub fn number(&self) -> u32 {
        self.number
    }
}

impl FromStr for UnitName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let (app, number) = split_unit_name(s)?;
        Ok(UnitName {
            app: AppName(app.to_owned()),
            number,
        })
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.app, self.number)
    }
}
serde_via_str!(UnitName);

/// An endpoint name from the charm's metadata (`certificates`, `cluster`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint(String);

impl Endpoint {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Endpoint {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        check_endpoint_name(s)?;
        Ok(Endpoint(s.to_owned()))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
serde_via_str!(Endpoint);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn application_names_follow_juju_names() {
        for ok in [
            "web",
            "a",
            "self-signed-certificates",
            "web2",
            "a-b2",
            "x-1a",
            "mysql-k8s",
        ] {
            assert!(check_app_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Web",
            "9a",
            "-a",
            "a-",
            "a--b",
            "web_1",
            "web-2",
            "self-signed-2",
            "a.b",
            "a/0",
        ] {
            assert!(check_app_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unit_names() {
        let u: UnitName = "web/10".parse().unwrap();
        assert_eq!((u.app().as_str(), u.number()), ("web", 10));
        assert_eq!(u.to_string(), "web/10");
        assert_eq!(split_unit_name("web/0").unwrap(), ("web", 0));
        for bad in [
            "web",
            "web/",
            "/0",
            "Web/0",
            "web/x",
            "web/-1",
            "web/0/1",
            "web/01",
            "a_b/0",
            "web-2/0",
            "web/99999999999",
        ] {
            assert!(bad.parse::<UnitName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoint_names_follow_juju_names() {
        for ok in [
            "certificates",
            "send-ca-cert",
            "cert_transfer",
            "db2",
            "a-1",
        ] {
            assert!(check_endpoint_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Cert", "1a", "a-", "a_", "a--b", "a.b"] {
            assert!(check_endpoint_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_say_what_and_why() {
        let e = "web_1".parse::<AppName>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid application name \"web_1\": only lowercase letters, digits and '-' are allowed"
        );
    }

    /// juju/names' `ApplicationSnippet`, matched by hand (no regex crate here): the first word
    /// starts with a letter, every later word holds one.
    fn juju_app_regex(s: &str) -> bool {
        let mut words = s.split('-');
        let first = words.next().unwrap_or("");
        let word = |w: &str| !w.is_empty() && w.bytes().all(is_word_byte);
        first.starts_with(|c: char| c.is_ascii_lowercase())
            && word(first)
            && words.all(|w| word(w) && w.bytes().any(|b| b.is_ascii_lowercase()))
    }

    proptest! {
        #[test]
        fn app_rule_is_the_regex(s in "[a-z0-9_A-]{0,12}") {
            prop_assert_eq!(check_app_name(&s).is_ok(), juju_app_regex(&s));
        }

        #[test]
        fn valid_names_round_trip(s in "[a-z][a-z0-9]{0,5}(-[a-z0-9]{0,3}[a-z][a-z0-9]{0,3}){0,3}", n in any::<u32>()) {
            let app: AppName = s.parse().unwrap();
            let unit = UnitName::new(app.clone(), n);
            prop_assert_eq!(unit.to_string().parse::<UnitName>().unwrap(), unit);
            let json = serde_json::to_string(&app).unwrap();
            prop_assert_eq!(serde_json::from_str::<AppName>(&json).unwrap(), app);
        }

        #[test]
        fn never_panics(s in ".{0,20}") {
            let _ = s.parse::<UnitName>();
            let _ = s.parse::<Endpoint>();
        }
    }
}
