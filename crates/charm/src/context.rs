//! The dispatch context: everything the unit agent tells a charm through its environment, parsed
//! once (the Rust `ops.JujuContext`).
//!
//! Juju builds a fresh environment for each hook (`juju-hook-environment.md` §3.2, §4) and exports
//! most variables even when empty, so "empty" and "absent" are treated alike. Missing mandatory
//! values and malformed ones are reported as [`ContextError`], never a panic.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::names::{AppName, Endpoint, NameError, RelationId, SecretId, UnitName};

/// Why the environment is not a usable dispatch context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// A variable every dispatch has is missing or empty.
    #[error("{0} is not set: not running under a Juju unit agent?")]
    Missing(&'static str),
    /// A variable holds a malformed value.
    #[error("{var}: {source}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        source: NameError,
    },
    /// A numeric or version variable does not parse.
    #[error("{var}: cannot parse {value:?}")]
    BadNumber {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// `JUJU_DISPATCH_PATH` is neither `hooks/<name>` nor `actions/<name>`.
    #[error("JUJU_DISPATCH_PATH {0:?} is neither hooks/<name> nor actions/<name>")]
    DispatchPath(String),
}

/// What is being dispatched, from `JUJU_DISPATCH_PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    /// `hooks/<name>`.
    Hook(String),
    /// `actions/<name>`.
    Action(String),
}

/// `JUJU_VERSION`: `major.minor.patch`, optionally with a tag (`3.6-beta1`) or build number
/// (`3.6.8.1`), which are ignored for comparisons. ops gates features on it (§10.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JujuVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch (0 for tagged pre-releases).
    pub patch: u32,
}

impl JujuVersion {
    /// Builds a version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        JujuVersion {
            major,
            minor,
            patch,
        }
    }

    /// Secrets exist from 3.0.3 (ops `has_secrets`).
    pub fn has_secrets(self) -> bool {
        self >= JujuVersion::new(3, 0, 3)
    }
}

impl FromStr for JujuVersion {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut parts = s.split(['.', '-']);
        let num = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok());
        let major = num(parts.next()).ok_or(())?;
        let minor = num(parts.next()).ok_or(())?;
        let patch = num(parts.next()).unwrap_or(0);
        Ok(JujuVersion {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for JujuVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The relation of a relation hook (`JUJU_RELATION`, `JUJU_RELATION_ID`, `JUJU_REMOTE_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationContext {
    /// `JUJU_RELATION_ID`.
    pub id: RelationId,
    /// `JUJU_REMOTE_APP`; empty only in odd corner cases.
    pub remote_app: Option<AppName>,
    /// `JUJU_REMOTE_UNIT`: empty for created, broken and app-level changed (§4.2).
    pub remote_unit: Option<UnitName>,
    /// `JUJU_DEPARTING_UNIT` in `relation-departed`.
    pub departing_unit: Option<UnitName>,
}

/// The secret of a secret hook (`JUJU_SECRET_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretContext {
    /// `JUJU_SECRET_ID`, as Juju spelled it.
    pub id: SecretId,
    /// `JUJU_SECRET_LABEL`: the owner label (owner events) or the consumer label.
    pub label: Option<String>,
    /// `JUJU_SECRET_REVISION`: absent for `secret-rotate` (§4.2).
    pub revision: Option<u32>,
}

/// The action being run (`JUJU_ACTION_NAME`, `JUJU_ACTION_UUID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionContext {
    /// Action name from `actions.yaml`.
    pub name: String,
    /// Juju's id for this run (a small integer in 3.x).
    pub id: String,
}

/// The storage of a storage hook (`JUJU_STORAGE_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageContext {
    /// `<name>/<n>`.
    pub id: String,
    /// Mount point or device.
    pub location: Option<PathBuf>,
    /// `filesystem` or `block`.
    pub kind: Option<String>,
}

/// Everything the environment says about this dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// `JUJU_DISPATCH_PATH`.
    pub dispatch: Dispatch,
    /// `JUJU_UNIT_NAME`.
    pub unit: UnitName,
    /// `JUJU_MODEL_NAME`.
    pub model_name: String,
    /// `JUJU_MODEL_UUID`.
    pub model_uuid: String,
    /// `JUJU_VERSION`; 0.0.0 when unset, as in ops.
    pub juju_version: JujuVersion,
    /// `JUJU_CHARM_DIR` (or `CHARM_DIR`); where the charm's state file lives.
    pub charm_dir: PathBuf,
    /// Relation hooks only.
    pub relation: Option<RelationContext>,
    /// Secret hooks only.
    pub secret: Option<SecretContext>,
    /// Actions only.
    pub action: Option<ActionContext>,
    /// Storage hooks only.
    pub storage: Option<StorageContext>,
    /// `JUJU_WORKLOAD_NAME` (Pebble hooks).
    pub workload: Option<String>,
    /// `JUJU_MACHINE_ID` (empty on Kubernetes).
    pub machine_id: Option<String>,
    /// `JUJU_AVAILABILITY_ZONE`.
    pub availability_zone: Option<String>,
}

impl Context {
    /// Reads the process environment.
    pub fn from_env() -> Result<Context, ContextError> {
        Context::from_vars(std::env::vars())
    }

    /// Reads a set of variables (for tests, or a simulator building a context itself).
    pub fn from_vars<I, K, V>(vars: I) -> Result<Context, ContextError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let get = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let required = |k: &'static str| get(k).ok_or(ContextError::Missing(k));
        fn parse<T: FromStr<Err = NameError>>(
            var: &'static str,
            v: &str,
        ) -> Result<T, ContextError> {
            v.parse()
                .map_err(|source| ContextError::Invalid { var, source })
        }
        let opt = |var: &'static str| -> Result<Option<String>, ContextError> {
            Ok(get(var).map(str::to_owned))
        };

        let path = required("JUJU_DISPATCH_PATH")?;
        let dispatch = match path.trim_start_matches("./").split_once('/') {
            Some(("hooks", name)) if !name.is_empty() && !name.contains('/') => {
                Dispatch::Hook(name.to_owned())
            }
            Some(("actions", name)) if !name.is_empty() && !name.contains('/') => {
                Dispatch::Action(name.to_owned())
            }
            _ => return Err(ContextError::DispatchPath(path.to_owned())),
        };
        let unit: UnitName = parse("JUJU_UNIT_NAME", required("JUJU_UNIT_NAME")?)?;
        let juju_version = match get("JUJU_VERSION") {
            Some(v) => v.parse().map_err(|()| ContextError::BadNumber {
                var: "JUJU_VERSION",
                value: v.to_owned(),
            })?,
            None => JujuVersion::new(0, 0, 0),
        };
        let charm_dir = get("JUJU_CHARM_DIR")
            .or_else(|| get("CHARM_DIR"))
            .map(PathBuf::from)
            .ok_or(ContextError::Missing("JUJU_CHARM_DIR"))?;

        let relation = match get("JUJU_RELATION_ID") {
            Some(id) => Some(RelationContext {
                id: parse("JUJU_RELATION_ID", id)?,
                remote_app: get("JUJU_REMOTE_APP")
                    .map(|v| parse("JUJU_REMOTE_APP", v))
                    .transpose()?,
                remote_unit: get("JUJU_REMOTE_UNIT")
                    .map(|v| parse("JUJU_REMOTE_UNIT", v))
                    .transpose()?,
                departing_unit: get("JUJU_DEPARTING_UNIT")
                    .map(|v| parse("JUJU_DEPARTING_UNIT", v))
                    .transpose()?,
            }),
            None => None,
        };
        let secret = match get("JUJU_SECRET_ID") {
            Some(id) => Some(SecretContext {
                id: parse("JUJU_SECRET_ID", id)?,
                label: opt("JUJU_SECRET_LABEL")?,
                revision: get("JUJU_SECRET_REVISION")
                    .map(|v| {
                        v.parse::<u32>().map_err(|_| ContextError::BadNumber {
                            var: "JUJU_SECRET_REVISION",
                            value: v.to_owned(),
                        })
                    })
                    .transpose()?,
            }),
            None => None,
        };
        let action = match &dispatch {
            Dispatch::Action(name) => Some(ActionContext {
                name: get("JUJU_ACTION_NAME").unwrap_or(name).to_owned(),
                id: required("JUJU_ACTION_UUID")?.to_owned(),
            }),
            Dispatch::Hook(_) => None,
        };
        let storage = get("JUJU_STORAGE_ID").map(|id| StorageContext {
            id: id.to_owned(),
            location: get("JUJU_STORAGE_LOCATION").map(PathBuf::from),
            kind: get("JUJU_STORAGE_KIND").map(str::to_owned),
        });
        Ok(Context {
            dispatch,
            unit,
            model_name: required("JUJU_MODEL_NAME")?.to_owned(),
            model_uuid: required("JUJU_MODEL_UUID")?.to_owned(),
            juju_version,
            charm_dir,
            relation,
            secret,
            action,
            storage,
            workload: opt("JUJU_WORKLOAD_NAME")?,
            machine_id: opt("JUJU_MACHINE_ID")?,
            availability_zone: opt("JUJU_AVAILABILITY_ZONE")?,
        })
    }

    /// The unit's application.
    pub fn app(&self) -> &AppName {
        self.unit.app()
    }

    /// The relation hook's endpoint, if this is one.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        self.relation.as_ref().map(|r| r.id.endpoint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("JUJU_DISPATCH_PATH", "hooks/install"),
            ("JUJU_HOOK_NAME", "install"),
            ("JUJU_UNIT_NAME", "web/0"),
            ("JUJU_MODEL_NAME", "dev"),
            ("JUJU_MODEL_UUID", "cdac5656-2423-4388-8f30-41854b4cca7d"),
            ("JUJU_VERSION", "3.6.8"),
            ("JUJU_CHARM_DIR", "/var/lib/juju/agents/unit-web-0/charm"),
            ("JUJU_AVAILABILITY_ZONE", ""),
            ("JUJU_RELATION_ID", ""),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Result<Context, ContextError> {
        let mut v = base();
        v.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        v.extend_from_slice(extra);
        Context::from_vars(v)
    }

    #[test]
    fn install_hook() {
        let c = with(&[]).unwrap();
        assert_eq!(c.dispatch, Dispatch::Hook("install".into()));
        assert_eq!(c.app().as_str(), "web");
        assert_eq!(c.juju_version, JujuVersion::new(3, 6, 8));
        assert!(
            c.relation.is_none(),
            "empty JUJU_RELATION_ID means no relation"
        );
        assert!(c.availability_zone.is_none());
    }

    #[test]
    fn relation_changed_app_level() {
        // transcripts §3.3
        let c = with(&[
            ("JUJU_DISPATCH_PATH", "hooks/certificates-relation-changed"),
            ("JUJU_RELATION", "certificates"),
            ("JUJU_RELATION_ID", "certificates:7"),
            ("JUJU_REMOTE_UNIT", ""),
            ("JUJU_REMOTE_APP", "self-signed"),
        ])
        .unwrap();
        let r = c.relation.unwrap();
        assert_eq!(r.id.to_string(), "certificates:7");
        assert_eq!(r.remote_unit, None);
        assert_eq!(r.remote_app.unwrap().as_str(), "self-signed");
    }

    #[test]
    fn action_and_secret() {
        let c = with(&[
            ("JUJU_DISPATCH_PATH", "actions/get-certificate"),
            ("JUJU_HOOK_NAME", ""),
            ("JUJU_ACTION_NAME", "get-certificate"),
            ("JUJU_ACTION_UUID", "16"),
        ])
        .unwrap();
        assert_eq!(c.action.unwrap().id, "16");
        let c = with(&[
            ("JUJU_DISPATCH_PATH", "hooks/secret-expired"),
            (
                "JUJU_SECRET_ID",
                "secret://cdac5656-2423-4388-8f30-41854b4cca7d/j5s23s09bpu2ru6qjvtf",
            ),
            ("JUJU_SECRET_LABEL", "cert"),
            ("JUJU_SECRET_REVISION", "1"),
        ])
        .unwrap();
        let s = c.secret.unwrap();
        assert_eq!((s.id.xid(), s.revision), ("j5s23s09bpu2ru6qjvtf", Some(1)));
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            with(&[("JUJU_UNIT_NAME", "")]).unwrap_err(),
            ContextError::Missing("JUJU_UNIT_NAME")
        );
        assert_eq!(
            with(&[("JUJU_UNIT_NAME", "web")]).unwrap_err().to_string(),
            "JUJU_UNIT_NAME: invalid unit name \"web\": expected <app>/<number>"
        );
        assert!(matches!(
            with(&[("JUJU_DISPATCH_PATH", "src/charm.py")]),
            Err(ContextError::DispatchPath(_))
        ));
        assert!(matches!(
            with(&[("JUJU_VERSION", "three")]),
            Err(ContextError::BadNumber { .. })
        ));
        assert!(matches!(
            with(&[("JUJU_DISPATCH_PATH", "actions/x")]),
            Err(ContextError::Missing("JUJU_ACTION_UUID"))
        ));
    }

    #[test]
    fn versions() {
        assert_eq!(
            "3.6-beta1".parse::<JujuVersion>(),
            Ok(JujuVersion::new(3, 6, 0))
        );
        assert_eq!(
            "3.6.8.1".parse::<JujuVersion>(),
            Ok(JujuVersion::new(3, 6, 8))
        );
        assert!(JujuVersion::new(3, 0, 3).has_secrets());
        assert!(!JujuVersion::new(2, 9, 40).has_secrets());
    }
}
