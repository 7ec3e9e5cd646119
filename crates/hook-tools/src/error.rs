//! Exit codes, the exact error texts Juju prints, and their classification.
//!
//! A hook tool that fails prints `ERROR <message>` on stderr and exits 2 for a usage error (flags,
//! arguments; gnuflag or the command's `Init`) or 1 for a run-time error (the command's `Run`),
//! per juju/cmd `cmd.go` (`juju-hook-environment.md` §5.3). ops recognises some failures by
//! substring (`relation not found`, `not found` for secrets, `permission denied`, …;
//! canonical/operator `ops/model.py` `_wrap_hookcmd`, §5.4 and transcripts D4). The model prints
//! these texts through the constructors in [`msg`]; the SDK classifies them back with
//! [`ErrorKind::classify`], so both sides agree on one spelling.

use crate::tool::Tool;

/// Exit code of a hook tool that ran and failed (juju/cmd: error returned by `Run`).
pub const EXIT_RUNTIME: i32 = 1;
/// Exit code of a hook tool given bad flags or arguments (juju/cmd: parse or `Init` error).
pub const EXIT_USAGE: i32 = 2;
/// Prefix juju/cmd writes before every error message on stderr.
pub const STDERR_PREFIX: &str = "ERROR ";

/// A usage error: the argv does not match the tool's grammar. The tool exits [`EXIT_USAGE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    message: String,
}

impl UsageError {
    /// Wraps a message (without the `ERROR ` prefix).
    pub fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
        }
    }

    /// The message as Juju prints it after `ERROR `.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Converts into the failure a tool reports (exit 2).
    pub fn into_tool_error(self) -> ToolError {
        ToolError {
            exit_code: EXIT_USAGE,
            message: self.message,
        }
    }
}

/// A failure as a hook tool reports it: an exit code and the message after `ERROR `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (exit {exit_code})")]
pub struct ToolError {
    /// [`EXIT_RUNTIME`] or [`EXIT_USAGE`].
    pub exit_code: i32,
    /// The message, without the `ERROR ` prefix.
    pub message: String,
}

impl ToolError {
    /// A run-time failure (exit 1) with the given message.
    pub fn runtime(message: impl Into<String>) -> Self {
        ToolError {
            exit_code: EXIT_RUNTIME,
            message: message.into(),
        }
    }

    /// A usage failure (exit 2) with the given message.
    pub fn usage(message: impl Into<String>) -> Self {
        ToolError {
            exit_code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// The exact bytes the tool writes to stderr: `ERROR <message>\n`.
    pub fn stderr(&self) -> String {
        format!("{STDERR_PREFIX}{}\n", self.message)
    }

    /// Reads a tool's stderr back into a message: the last line starting with `ERROR `
    /// (warnings may precede it), or the whole trimmed text if there is none.
    pub fn from_stderr(exit_code: i32, stderr: &str) -> Self {
        let message = stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(STDERR_PREFIX))
            .unwrap_or_else(|| stderr.trim())
            .to_owned();
        ToolError { exit_code, message }
    }
}

/// What a failure means to a charm, decided from the tool and its message the way ops decides
/// it (canonical/operator `ops/model.py` `_wrap_hookcmd`, ops 3.9; transcripts D4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A `relation-*` or `network-get` call named a relation the unit is not in
    /// (stderr matches `relation (\d+ )?not found`).
    RelationNotFound,
    /// A `secret-*` call named a secret or label that does not exist (stderr contains `not found`).
    SecretNotFound,
    /// The unit lacks the right: `permission denied`, `access denied`.
    PermissionDenied,
    /// A leader-only operation by a non-leader: `not the leader`, `cannot write relation
    /// settings`.
    NotLeader,
    /// A tool that only works in an action ran outside one: `not running an action`.
    NotInAction,
    /// The arguments were rejected (exit 2) for another reason.
    Usage,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Classifies a failure of `tool` from its exit code and message.
    pub fn classify(tool: Tool, error: &ToolError) -> ErrorKind {
        let lower = error.message.to_lowercase();
        let name = tool.name();
        if (name.starts_with("relation-") || name == "network-get") && relation_not_found(&lower) {
            return ErrorKind::RelationNotFound;
        }
        if name.starts_with("secret-") && lower.contains("not found") {
            return ErrorKind::SecretNotFound;
        }
        if lower.contains("not the leader") || lower.contains("cannot write relation settings") {
            return ErrorKind::NotLeader;
        }
        if lower.contains("permission denied") || lower.contains("access denied") {
            return ErrorKind::PermissionDenied;
        }
        if lower.contains("not running an action") {
            return ErrorKind::NotInAction;
        }
        if error.exit_code == EXIT_USAGE {
            return ErrorKind::Usage;
        }
        ErrorKind::Other
    }
}

/// `relation (\d+ )?not found`, without a regex engine.
fn relation_not_found(lower: &str) -> bool {
    lower.match_indices("relation ").any(|(i, m)| {
        let rest = &lower[i + m.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let rest = if digits > 0 {
            rest[digits..].strip_prefix(' ').unwrap_or("")
        } else {
            rest
        };
        rest.starts_with("not found")
    })
}

/// The exact messages (after `ERROR `) Juju's hook tools print, one constructor per situation.
/// Each cites where the text comes from.
pub mod msg {
    use crate::flags::with_dashes;

    /// Unknown flag (juju/gnuflag `parseGnuFlagArg`; Juju says "option", §5.1).
    pub fn option_not_defined(name: &str) -> String {
        format!("option provided but not defined: {}", with_dashes(name))
    }

    /// A value flag at the end of argv (juju/gnuflag `parseGnuFlagArg`, §5.1).
    pub fn needs_argument(name: &str) -> String {
        format!("option needs an argument: {}", with_dashes(name))
    }

    /// A flag value its parser rejects (juju/gnuflag `parseGnuFlagArg`, §5.1).
    pub fn invalid_value(value: &str, name: &str, reason: &str) -> String {
        format!(
            "invalid value {value:?} for option {}: {reason}",
            with_dashes(name)
        )
    }

    /// `-r` naming a relation the unit is not in; validated while parsing, so exit 2
    /// (juju/juju `runner/jujuc/relation-id.go` via §5.3 and §6):
    /// `invalid value "7" for option -r: relation not found`.
    pub fn relation_not_found(value: &str) -> String {
        invalid_value(value, "r", "relation not found")
    }

    /// A relation tool outside a relation hook without `-r` (§6, exit 2).
    pub const NO_RELATION_ID: &str = "no relation id specified";

    /// `relation-get` with neither a remote unit in context nor a target (§6.1).
    pub const NO_UNIT_OR_APP: &str = "no unit or application specified";

    /// `relation-get` without `--app` given an application name (§6.1).
    pub fn expected_unit_name(app: &str) -> String {
        format!("expected unit name, got application name {app:?}")
    }

    /// Reading a bag the unit may not read, e.g. a non-leader reading its own app bag on a
    /// non-peer relation (§6.1, §7.1; observed by ops in transcripts §2.5).
    pub const PERMISSION_DENIED: &str = "permission denied";

    /// `relation-set --app` by a non-leader (§6.1).
    pub const CANNOT_WRITE_RELATION_SETTINGS: &str = "cannot write relation settings";

    /// App-bag writes during `relation-broken` (§7.1).
    pub const CANNOT_READ_APP_SETTINGS: &str =
        "cannot read relation application settings: permission denied";

    /// Leader-only operations by a non-leader: `status-set --application`, `secret-add --owner
    /// application`, … (§6.3, §6.5, transcripts §2.5).
    pub const NOT_LEADER: &str = "this unit is not the leader";

    /// `status-get --application` by a non-leader (§6.3).
    pub const APP_STATUS_NOT_LEADER: &str =
        "finding application status: this unit is not the leader";

    /// `leader-set` by a non-leader (§6.2).
    pub const LEADER_SET_NOT_LEADER: &str =
        "cannot write leadership settings: cannot write settings: not the leader";

    /// `status-set` with a status a charm may not set (§6.3, exit 2).
    pub fn invalid_status(status: &str) -> String {
        format!("invalid status {status:?}, expected one of [maintenance blocked waiting active]")
    }

    /// Unknown secret by URI (§6.5, transcripts §2.5: `secret "d000…" not found`).
    pub fn secret_not_found(xid: &str) -> String {
        format!("secret {xid:?} not found")
    }

    /// Unknown owner label (transcripts §3.1).
    pub fn secret_label_not_found(label: &str) -> String {
        format!("secret with label {label:?} not found")
    }

    /// Unknown consumer label (§5.4).
    pub fn consumer_label_not_found(label: &str) -> String {
        format!("consumer label {label:?} not found")
    }

    /// `secret-add` with an owner label already in use (§6.5).
    pub fn secret_label_exists(label: &str) -> String {
        format!("secret with label {label:?} already exists")
    }

    /// `secret-add` without content (§6.5, exit 2).
    pub const MISSING_SECRET_VALUE: &str = "missing secret value or filename";

    /// `secret-info-get` given both a URI and a label (§6.5).
    pub const URI_OR_LABEL: &str = "specify either a secret URI or label but not both";

    /// `action-*` outside an action (§6.4).
    pub const NOT_RUNNING_ACTION: &str = "not running an action";

    /// `network-get` for an unknown binding (§6.6).
    pub fn no_network_config(binding: &str) -> String {
        format!("no network config found for binding {binding:?}")
    }

    /// `storage-get` for an unknown attribute (§6.7).
    pub fn invalid_storage_attribute(key: &str) -> String {
        format!("invalid storage attribute {key:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(tool: Tool, code: i32, stderr: &str) -> ErrorKind {
        ErrorKind::classify(tool, &ToolError::from_stderr(code, stderr))
    }

    #[test]
    fn classifies_what_ops_classifies() {
        // transcripts §2.5: relation-list --app -r db:99
        assert_eq!(
            kind(
                Tool::RelationList,
                2,
                "ERROR invalid value \"db:99\" for option -r: relation not found\n"
            ),
            ErrorKind::RelationNotFound
        );
        assert_eq!(
            kind(Tool::RelationGet, 1, "ERROR relation 7 not found\n"),
            ErrorKind::RelationNotFound
        );
        // transcripts §3.1
        assert_eq!(
            kind(
                Tool::SecretGet,
                1,
                "ERROR secret with label \"x-private-key-0\" not found\n"
            ),
            ErrorKind::SecretNotFound
        );
        assert_eq!(
            kind(
                Tool::SecretInfoGet,
                1,
                "ERROR secret \"d0000000000000000000\" not found\n"
            ),
            ErrorKind::SecretNotFound
        );
        // transcripts §2.5: follower reading its own non-peer app bag
        assert_eq!(
            kind(Tool::RelationGet, 1, "ERROR permission denied\n"),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            kind(Tool::SecretAdd, 1, "ERROR this unit is not the leader\n"),
            ErrorKind::NotLeader
        );
        assert_eq!(
            kind(
                Tool::RelationSet,
                1,
                "ERROR cannot write relation settings\n"
            ),
            ErrorKind::NotLeader
        );
        assert_eq!(
            kind(Tool::ActionGet, 1, "ERROR not running an action\n"),
            ErrorKind::NotInAction
        );
        assert_eq!(
            kind(
                Tool::StatusSet,
                2,
                "ERROR invalid status \"x\", expected one of [maintenance blocked waiting active]\n"
            ),
            ErrorKind::Usage
        );
        assert_eq!(kind(Tool::ConfigGet, 1, "ERROR boom\n"), ErrorKind::Other);
        // "not found" on a non-secret, non-relation tool is not a secret error.
        assert_eq!(
            kind(
                Tool::NetworkGet,
                1,
                "ERROR no network config found for binding \"x\"\n"
            ),
            ErrorKind::Other
        );
    }

    #[test]
    fn stderr_round_trip_skips_warnings() {
        let e = ToolError::runtime(msg::PERMISSION_DENIED);
        assert_eq!(e.stderr(), "ERROR permission denied\n");
        let back = ToolError::from_stderr(
            1,
            &format!("WARNING --format is deprecated\n{}", e.stderr()),
        );
        assert_eq!(back, e);
    }

    #[test]
    fn messages_are_juju_texts() {
        assert_eq!(
            msg::relation_not_found("7"),
            "invalid value \"7\" for option -r: relation not found"
        );
        assert_eq!(
            msg::secret_not_found("cq9e1u1mp25c77ab0abc"),
            "secret \"cq9e1u1mp25c77ab0abc\" not found"
        );
        assert_eq!(
            msg::secret_label_not_found("tls"),
            "secret with label \"tls\" not found"
        );
        assert_eq!(
            msg::invalid_status("x"),
            "invalid status \"x\", expected one of [maintenance blocked waiting active]"
        );
    }
}
