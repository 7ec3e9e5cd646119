//! Juju's hook names as a type: what the local model queues and runs, and what the SDK turns
//! into events. Juju names a hook by its kind, prefixed by the endpoint, storage or container it
//! concerns (`certificates-relation-changed`, `data-storage-attached`, `web-pebble-ready`);
//! `juju-hook-environment.md` §2 lists them. Actions are not hooks, but the local model queues
//! them beside hooks and dispatches them as `actions/<name>` (`JUJU_DISPATCH_PATH`), so they are
//! one more kind here.

use std::fmt;

/// The kind of a relation hook, after its endpoint prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelationHook {
    /// `<endpoint>-relation-created`.
    Created,
    /// `<endpoint>-relation-joined`.
    Joined,
    /// `<endpoint>-relation-changed`.
    Changed,
    /// `<endpoint>-relation-departed`.
    Departed,
    /// `<endpoint>-relation-broken`.
    Broken,
}

impl RelationHook {
    /// Every relation hook kind, in the order Juju runs them for one relation.
    pub const ALL: [RelationHook; 5] = [
        RelationHook::Created,
        RelationHook::Joined,
        RelationHook::Changed,
        RelationHook::Departed,
        RelationHook::Broken,
    ];

    /// `relation-created`, ...: the hook name without its endpoint.
    pub fn suffix(self) -> &'static str {
        match self {
            RelationHook::Created => "relation-created",
            RelationHook::Joined => "relation-joined",
            RelationHook::Changed => "relation-changed",
            RelationHook::Departed => "relation-departed",
            RelationHook::Broken => "relation-broken",
        }
    }
}

/// The kind of a secret hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretHook {
    /// `secret-changed`: sent to consumers.
    Changed,
    /// `secret-expired`: sent to the owner.
    Expired,
    /// `secret-remove`: sent to the owner.
    Remove,
    /// `secret-rotate`: sent to the owner.
    Rotate,
}

impl SecretHook {
    /// Every secret hook kind.
    pub const ALL: [SecretHook; 4] = [
        SecretHook::Changed,
        SecretHook::Expired,
        SecretHook::Remove,
        SecretHook::Rotate,
    ];

    /// The hook name.
    pub fn name(self) -> &'static str {
        match self {
            SecretHook::Changed => "secret-changed",
            SecretHook::Expired => "secret-expired",
            SecretHook::Remove => "secret-remove",
            SecretHook::Rotate => "secret-rotate",
        }
    }
}

/// The kind of a storage hook, after its storage-name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StorageHook {
    /// `<name>-storage-attached`.
    Attached,
    /// `<name>-storage-detaching`.
    Detaching,
}

impl StorageHook {
    /// Every storage hook kind.
    pub const ALL: [StorageHook; 2] = [StorageHook::Attached, StorageHook::Detaching];

    /// `storage-attached` or `storage-detaching`.
    pub fn suffix(self) -> &'static str {
        match self {
            StorageHook::Attached => "storage-attached",
            StorageHook::Detaching => "storage-detaching",
        }
    }
}

/// One hook (or action) by name. [`HookKind::parse`] and [`fmt::Display`] are inverses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// `install`.
    Install,
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// `remove`.
    Remove,
    /// `upgrade-charm`.
    UpgradeCharm,
    /// `config-changed`.
    ConfigChanged,
    /// `update-status`.
    UpdateStatus,
    /// `leader-elected`.
    LeaderElected,
    /// `leader-settings-changed`.
    LeaderSettingsChanged,
    /// `pre-series-upgrade`.
    PreSeriesUpgrade,
    /// `post-series-upgrade`.
    PostSeriesUpgrade,
    /// `<endpoint>-relation-<kind>`.
    Relation {
        /// The endpoint.
        endpoint: String,
        /// Which relation hook.
        kind: RelationHook,
    },
    /// `secret-<kind>`.
    Secret(SecretHook),
    /// `<name>-storage-<kind>`.
    Storage {
        /// The storage name.
        name: String,
        /// Which storage hook.
        kind: StorageHook,
    },
    /// `<container>-pebble-ready`.
    PebbleReady {
        /// The container.
        container: String,
    },
    /// `actions/<name>`: an action, as the local model queues and dispatches it.
    Action {
        /// The action's name.
        name: String,
    },
    /// A name none of the above parses (a newer Juju's hook, `juju-exec` of a custom name).
    Other(String),
}

const SIMPLE: [(&str, HookKind); 11] = [
    ("install", HookKind::Install),
    ("start", HookKind::Start),
    ("stop", HookKind::Stop),
    ("remove", HookKind::Remove),
    ("upgrade-charm", HookKind::UpgradeCharm),
    ("config-changed", HookKind::ConfigChanged),
    ("update-status", HookKind::UpdateStatus),
    ("leader-elected", HookKind::LeaderElected),
    ("leader-settings-changed", HookKind::LeaderSettingsChanged),
    ("pre-series-upgrade", HookKind::PreSeriesUpgrade),
    ("post-series-upgrade", HookKind::PostSeriesUpgrade),
];

/// `ACTION_PREFIX<name>` is how an action is dispatched.
pub const ACTION_PREFIX: &str = "actions/";

/// `name` without `-suffix`, when what is left is not empty.
fn prefix_of<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    name.strip_suffix(suffix)?
        .strip_suffix('-')
        .filter(|p| !p.is_empty())
}

impl HookKind {
    /// Reads a hook name (`install`, `db-relation-changed`, `actions/renew`). Never fails: a
    /// name of no known shape is [`HookKind::Other`].
    pub fn parse(name: &str) -> HookKind {
        if let Some((_, k)) = SIMPLE.iter().find(|(n, _)| *n == name) {
            return k.clone();
        }
        if let Some(k) = SecretHook::ALL.into_iter().find(|k| k.name() == name) {
            return HookKind::Secret(k);
        }
        if let Some(action) = name.strip_prefix(ACTION_PREFIX).filter(|a| !a.is_empty()) {
            return HookKind::Action {
                name: action.to_owned(),
            };
        }
        for kind in RelationHook::ALL {
            if let Some(endpoint) = prefix_of(name, kind.suffix()) {
                return HookKind::Relation {
                    endpoint: endpoint.to_owned(),
                    kind,
                };
            }
        }
        for kind in StorageHook::ALL {
            if let Some(storage) = prefix_of(name, kind.suffix()) {
                return HookKind::Storage {
                    name: storage.to_owned(),
                    kind,
                };
            }
        }
        if let Some(container) = prefix_of(name, "pebble-ready") {
            return HookKind::PebbleReady {
                container: container.to_owned(),
            };
        }
        HookKind::Other(name.to_owned())
    }

    /// A relation hook of `endpoint`.
    pub fn relation(endpoint: impl Into<String>, kind: RelationHook) -> HookKind {
        HookKind::Relation {
            endpoint: endpoint.into(),
            kind,
        }
    }

    /// The relation hook kind, for a relation hook.
    pub fn relation_kind(&self) -> Option<RelationHook> {
        match self {
            HookKind::Relation { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The secret hook kind, for a secret hook.
    pub fn secret_kind(&self) -> Option<SecretHook> {
        match self {
            HookKind::Secret(k) => Some(*k),
            _ => None,
        }
    }

    /// The action's name, for an action.
    pub fn action_name(&self) -> Option<&str> {
        match self {
            HookKind::Action { name } => Some(name),
            _ => None,
        }
    }

    /// Whether this is an action rather than a hook.
    pub fn is_action(&self) -> bool {
        matches!(self, HookKind::Action { .. })
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((n, _)) = SIMPLE.iter().find(|(_, k)| k == self) {
            return f.write_str(n);
        }
        match self {
            HookKind::Relation { endpoint, kind } => write!(f, "{endpoint}-{}", kind.suffix()),
            HookKind::Secret(k) => f.write_str(k.name()),
            HookKind::Storage { name, kind } => write!(f, "{name}-{}", kind.suffix()),
            HookKind::PebbleReady { container } => write!(f, "{container}-pebble-ready"),
            HookKind::Action { name } => write!(f, "{ACTION_PREFIX}{name}"),
            HookKind::Other(name) => f.write_str(name),
            // The simple kinds were written above.
            _ => Ok(()),
        }
    }
}

impl From<&str> for HookKind {
    fn from(name: &str) -> Self {
        HookKind::parse(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_parse_as_juju_spells_them() {
        let cases = [
            ("install", HookKind::Install),
            ("leader-settings-changed", HookKind::LeaderSettingsChanged),
            (
                "certificates-relation-changed",
                HookKind::relation("certificates", RelationHook::Changed),
            ),
            (
                "send-ca-cert-relation-created",
                HookKind::relation("send-ca-cert", RelationHook::Created),
            ),
            ("secret-remove", HookKind::Secret(SecretHook::Remove)),
            (
                "data-storage-detaching",
                HookKind::Storage {
                    name: "data".into(),
                    kind: StorageHook::Detaching,
                },
            ),
            (
                "web-pebble-ready",
                HookKind::PebbleReady {
                    container: "web".into(),
                },
            ),
            (
                "actions/get-ca-certificate",
                HookKind::Action {
                    name: "get-ca-certificate".into(),
                },
            ),
            // No endpoint, no action name: not a relation hook, not an action.
            (
                "-relation-joined",
                HookKind::Other("-relation-joined".into()),
            ),
            ("actions/", HookKind::Other("actions/".into())),
            ("collect-metrics", HookKind::Other("collect-metrics".into())),
        ];
        for (name, kind) in cases {
            assert_eq!(HookKind::parse(name), kind, "{name}");
            assert_eq!(kind.to_string(), name);
        }
    }

    fn kind() -> impl Strategy<Value = HookKind> {
        let word = "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,6}){0,3}";
        prop_oneof![
            (0..SIMPLE.len()).prop_map(|i| SIMPLE[i].1.clone()),
            (word, 0..5usize).prop_map(|(e, i)| HookKind::relation(e, RelationHook::ALL[i])),
            (0..4usize).prop_map(|i| HookKind::Secret(SecretHook::ALL[i])),
            (word, 0..2usize).prop_map(|(name, i)| HookKind::Storage {
                name,
                kind: StorageHook::ALL[i]
            }),
            word.prop_map(|container| HookKind::PebbleReady { container }),
            word.prop_map(|name| HookKind::Action { name }),
            prop::sample::select(vec!["collect-metrics", "meter-status-changed", "x"])
                .prop_map(|n| HookKind::Other(n.to_owned())),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(k in kind()) {
            prop_assert_eq!(HookKind::parse(&k.to_string()), k);
        }

        #[test]
        fn any_name_renders_back(name in "[a-z/-]{0,24}") {
            prop_assert_eq!(HookKind::parse(&name).to_string(), name);
        }
    }
}
