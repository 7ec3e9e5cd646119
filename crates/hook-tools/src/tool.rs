//! The hook tools by name.
//!
//! Juju installs one binary with a symlink per tool name and dispatches on argv\[0\]
//! (`juju-hook-environment.md` §2.3). ops <= 3.3 runs tools by absolute path, newer ops by bare
//! name (transcripts D19), so [`Tool::from_argv0`] looks at the basename only.

use std::fmt;

macro_rules! tools {
    ($($variant:ident => $name:literal,)*) => {
        /// One hook tool. Only the tools a charm SDK or the local model needs are listed; legacy
        /// ones (`pod-spec-set`, `add-metric`, `payload-*`, `credential-get`) are left out.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Tool {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Tool {
            /// Every tool, in a fixed order (for installing shims).
            pub const ALL: &'static [Tool] = &[$(Tool::$variant,)*];

            /// The command name Juju gives the tool.
            pub fn name(self) -> &'static str {
                match self { $(Tool::$variant => $name,)* }
            }

            /// The tool with this exact command name.
            pub fn from_name(name: &str) -> Option<Tool> {
                match name { $($name => Some(Tool::$variant),)* _ => None }
            }
        }
    };
}

tools! {
    RelationIds => "relation-ids",
    RelationList => "relation-list",
    RelationGet => "relation-get",
    RelationSet => "relation-set",
    RelationModelGet => "relation-model-get",
    ConfigGet => "config-get",
    IsLeader => "is-leader",
    LeaderGet => "leader-get",
    LeaderSet => "leader-set",
    StatusGet => "status-get",
    StatusSet => "status-set",
    ApplicationVersionSet => "application-version-set",
    JujuLog => "juju-log",
    ActionGet => "action-get",
    ActionSet => "action-set",
    ActionLog => "action-log",
    ActionFail => "action-fail",
    SecretAdd => "secret-add",
    SecretSet => "secret-set",
    SecretGet => "secret-get",
    SecretInfoGet => "secret-info-get",
    SecretIds => "secret-ids",
    SecretGrant => "secret-grant",
    SecretRevoke => "secret-revoke",
    SecretRemove => "secret-remove",
    OpenPort => "open-port",
    ClosePort => "close-port",
    OpenedPorts => "opened-ports",
    NetworkGet => "network-get",
    UnitGet => "unit-get",
    StateGet => "state-get",
    StateSet => "state-set",
    StateDelete => "state-delete",
    StorageList => "storage-list",
    StorageGet => "storage-get",
    StorageAdd => "storage-add",
    GoalState => "goal-state",
    ResourceGet => "resource-get",
    JujuReboot => "juju-reboot",
}

impl Tool {
    /// The tool named by argv\[0\], which may be a bare name or a path (`/var/lib/juju/tools/
    /// unit-web-0/relation-get`).
    pub fn from_argv0(argv0: &str) -> Option<Tool> {
        let base = argv0.rsplit('/').next().unwrap_or(argv0);
        Tool::from_name(base)
    }

    /// Whether the tool prints a result and so accepts `--format` and `-o/--output`
    /// (juju/cmd `output.go`). `relation-set` also accepts a deprecated, ignored `--format`.
    pub fn prints(self) -> bool {
        matches!(
            self,
            Tool::RelationIds
                | Tool::RelationList
                | Tool::RelationGet
                | Tool::RelationModelGet
                | Tool::ConfigGet
                | Tool::IsLeader
                | Tool::LeaderGet
                | Tool::StatusGet
                | Tool::ActionGet
                | Tool::SecretGet
                | Tool::SecretInfoGet
                | Tool::SecretIds
                | Tool::OpenedPorts
                | Tool::NetworkGet
                | Tool::UnitGet
                | Tool::StateGet
                | Tool::StorageList
                | Tool::StorageGet
                | Tool::GoalState
        )
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Tool::ALL {
            assert_eq!(Tool::from_name(t.name()), Some(*t));
        }
    }

    #[test]
    fn argv0_basename() {
        assert_eq!(
            Tool::from_argv0("/var/lib/juju/tools/unit-web-0/relation-get"),
            Some(Tool::RelationGet)
        );
        assert_eq!(Tool::from_argv0("secret-ids"), Some(Tool::SecretIds));
        assert_eq!(Tool::from_argv0("/usr/bin/ls"), None);
    }
}
