//! Typed hook-tool calls: producing argv ([`Call::to_argv`]) and parsing it ([`parse_argv`]).
//!
//! [`Call`] is the argv-level grammar: what is on the command line, not what ends up in Juju. Data
//! that travels beside argv (the YAML/JSON map of `relation-set --file -`, the files of
//! `secret-add key#file=…`) is handled by [`crate::settings`] and the caller.
//!
//! **Producing.** [`Call::to_argv`] emits one canonical modern form, close to what ops 3.8+ sends
//! (transcripts §2.1, §2.5): `--format=json` right after the tool name for tools that print,
//! `-r <endpoint>:<id>` for `relation-*` tools when the endpoint is known, `--` before free text,
//! values of any size through `--file -` or `key#file=`.
//!
//! **Parsing.** [`parse_argv`] scans with gnuflag's rules ([`crate::flags`]), so every generation
//! of ops parses with one grammar: ops <= 3.3 (`--format=json` last, no `--`, `--app` after the
//! positionals), 3.4-3.7 (`--format=json` first, `--` before free text, `-r <id>`) and >= 3.8
//! (`-r <endpoint>:<id>`).
//!
//! Modules: this one has the types; `flag_table` the flags each tool takes; `parse` the
//! parser; `produce` the producer.

mod flag_table;
mod parse;
mod produce;

pub use parse::parse_argv;

use crate::tool::Tool;
use crate::values::{
    FileArg, Format, PortSpec, RelationRef, RotatePolicy, SecretContentArg, SecretOwner, SecretUri,
    SettableStatus,
};

/// Metadata flags shared by `secret-add` and `secret-set` (§6.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretMeta {
    /// `--label`: the owner label.
    pub label: Option<String>,
    /// `--description`.
    pub description: Option<String>,
    /// `--expire`: RFC 3339 (`Z`, `±hh:mm` or zoneless, transcripts D5) or a Go duration. Kept
    /// as text: interpreting it needs a clock, which is the model's.
    pub expire: Option<String>,
    /// `--rotate`.
    pub rotate: Option<RotatePolicy>,
}

/// One hook-tool invocation, by tool, with its arguments typed.
///
/// Common output flags (`--format`, `-o`) are not here but in [`Invocation`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Call {
    /// `relation-ids [<endpoint>]`
    RelationIds {
        /// Endpoint; defaults to the context relation's.
        endpoint: Option<String>,
    },
    /// `relation-list [-r <rel>] [--app]`
    RelationList {
        /// `-r`; defaults to the context relation.
        relation: Option<RelationRef>,
        /// `--app`: print the remote application name instead of the units.
        app: bool,
    },
    /// `relation-get [-r <rel>] [--app] [<key>|-] [<unit-or-app>]`
    RelationGet {
        /// `-r`; defaults to the context relation.
        relation: Option<RelationRef>,
        /// `--app`: read an application bag.
        app: bool,
        /// One key; `None` means all keys (`-` or absent).
        key: Option<String>,
        /// Whose bag; defaults to the context's remote unit (§6.1).
        target: Option<String>,
    },
    /// `relation-set [-r <rel>] [--app] [--file <path>|-] [key=value …]`
    RelationSet {
        /// `-r`; defaults to the context relation.
        relation: Option<RelationRef>,
        /// `--app`: write the own application bag (leader only).
        app: bool,
        /// `--file`: a YAML map, from stdin with `-`; see [`crate::settings`].
        file: Option<FileArg>,
        /// `key=value` pairs, which override the file; an empty value deletes the key.
        settings: Vec<(String, String)>,
    },
    /// `relation-model-get [-r <rel>]`
    RelationModelGet {
        /// `-r`; defaults to the context relation.
        relation: Option<RelationRef>,
    },
    /// `config-get [--all] [<key>]`
    ConfigGet {
        /// `--all`: include options whose value is null.
        all: bool,
        /// One option.
        key: Option<String>,
    },
    /// `is-leader`
    IsLeader,
    /// `leader-get [<key>|-]` (deprecated; ops never calls it)
    LeaderGet {
        /// One key; `None` means all.
        key: Option<String>,
    },
    /// `leader-set key=value …` (deprecated)
    LeaderSet {
        /// Settings; an empty value deletes.
        settings: Vec<(String, String)>,
    },
    /// `status-get [--include-data] [--application]`
    StatusGet {
        /// `--application`: the application status (leader only).
        application: bool,
        /// `--include-data`: include `status-data` (ops always passes it).
        include_data: bool,
    },
    /// `status-set [--application] <status> [<message>]`
    StatusSet {
        /// `--application`: set the application status (leader only).
        application: bool,
        /// The status.
        status: SettableStatus,
        /// The message; ops always passes one, possibly empty (transcripts D10).
        message: Option<String>,
    },
    /// `application-version-set <version>`
    ApplicationVersionSet {
        /// Workload version shown by `juju status`.
        version: String,
    },
    /// `juju-log [-l <level>] [--debug] <message…>`
    JujuLog {
        /// `-l/--log-level` as given (Juju maps unknown levels to INFO with a warning).
        level: Option<String>,
        /// `--debug`: log at DEBUG.
        debug: bool,
        /// The message: positional words joined with single spaces.
        message: String,
    },
    /// `action-get [<key>[.<key>…]]`
    ActionGet {
        /// Dotted path; `None` means all parameters.
        key: Option<String>,
    },
    /// `action-set <key>=<value> …` (keys are dotted paths)
    ActionSet {
        /// Results, in order.
        results: Vec<(String, String)>,
    },
    /// `action-log <message…>`
    ActionLog {
        /// Progress message (words joined with spaces).
        message: String,
    },
    /// `action-fail [<message>]`
    ActionFail {
        /// Failure message; Juju supplies a default when absent.
        message: Option<String>,
    },
    /// `secret-add [flags] [--owner o] [--file f] key[#file|#base64]=value …`
    SecretAdd {
        /// Label, description, expiry, rotation.
        meta: SecretMeta,
        /// `--owner`; Juju defaults to `application`.
        owner: Option<SecretOwner>,
        /// `--file`: a YAML file of content.
        file: Option<String>,
        /// Content arguments.
        content: Vec<SecretContentArg>,
    },
    /// `secret-set <uri> [flags] [key[#file|#base64]=value …]`
    SecretSet {
        /// The secret.
        uri: SecretUri,
        /// Metadata to change.
        meta: SecretMeta,
        /// `--owner`: parsed and ignored by Juju (ops >= 3.4 always sends `application`, D6).
        owner: Option<SecretOwner>,
        /// `--file`: a YAML file of content.
        file: Option<String>,
        /// New content; empty for metadata-only changes.
        content: Vec<SecretContentArg>,
    },
    /// `secret-get [<uri> [<key>]] [--label L] [--refresh|--peek]`
    SecretGet {
        /// The secret; may be absent when a label is given.
        uri: Option<SecretUri>,
        /// One content key (only after a URI).
        key: Option<String>,
        /// `--label`: look up by label, or (with a URI) set the label.
        label: Option<String>,
        /// `--refresh`: track the latest revision and return it.
        refresh: bool,
        /// `--peek`: return the latest revision without tracking it.
        peek: bool,
    },
    /// `secret-info-get <uri> | --label L`
    SecretInfoGet {
        /// By URI …
        uri: Option<SecretUri>,
        /// … or by owner label (never both).
        label: Option<String>,
    },
    /// `secret-ids`
    SecretIds,
    /// `secret-grant --relation <id> [--unit <unit>] <uri>`
    SecretGrant {
        /// The secret.
        uri: SecretUri,
        /// The relation whose remote app is granted access (plain id in every ops version, D20).
        relation: RelationRef,
        /// One remote unit instead of the whole app.
        unit: Option<String>,
    },
    /// `secret-revoke [--relation <id>] [--unit <unit>] [--app <app>] <uri>`
    SecretRevoke {
        /// The secret.
        uri: SecretUri,
        /// Revoke the grant made on this relation.
        relation: Option<RelationRef>,
        /// Revoke one unit's grant.
        unit: Option<String>,
        /// Revoke an application's grant.
        app: Option<String>,
    },
    /// `secret-remove <uri> [--revision <n>]`
    SecretRemove {
        /// The secret.
        uri: SecretUri,
        /// One revision; `None` removes the whole secret.
        revision: Option<u32>,
    },
    /// `open-port <port>[/<proto>] [--endpoints a,b]`
    OpenPort {
        /// The port range.
        port: PortSpec,
        /// `--endpoints`: comma-separated endpoints; all when absent.
        endpoints: Option<String>,
    },
    /// `close-port <port>[/<proto>] [--endpoints a,b]`
    ClosePort {
        /// The port range.
        port: PortSpec,
        /// `--endpoints`: comma-separated endpoints; all when absent.
        endpoints: Option<String>,
    },
    /// `opened-ports [--endpoints]`
    OpenedPorts {
        /// `--endpoints`: annotate each range with its endpoints.
        endpoints: bool,
    },
    /// `network-get <binding> [-r <rel>] [--ingress-address] [--bind-address] [--egress-subnets]`
    NetworkGet {
        /// Endpoint or extra binding.
        binding: String,
        /// `-r`: the addresses as seen on this relation.
        relation: Option<RelationRef>,
        /// `--ingress-address`: print only the ingress addresses.
        ingress_address: bool,
        /// `--bind-address`: print only the bind address.
        bind_address: bool,
        /// `--egress-subnets`: print only the egress subnets.
        egress_subnets: bool,
    },
    /// `unit-get private-address|public-address` (legacy)
    UnitGet {
        /// The setting.
        key: String,
    },
    /// `state-get [<key>|-] [--strict]`
    StateGet {
        /// One key; `None` means all.
        key: Option<String>,
        /// `--strict`: fail for a missing key.
        strict: bool,
    },
    /// `state-set [--file <path>|-] [key=value …]`
    StateSet {
        /// `--file`: a YAML map, from stdin with `-`.
        file: Option<FileArg>,
        /// Pairs overriding the file.
        settings: Vec<(String, String)>,
    },
    /// `state-delete <key>`
    StateDelete {
        /// The key.
        key: String,
    },
    /// `storage-list [<name>]`
    StorageList {
        /// Storage name filter.
        name: Option<String>,
    },
    /// `storage-get [-s <name>/<n>] [<key>]`
    StorageGet {
        /// `-s`; defaults to the storage of a storage hook.
        storage: Option<String>,
        /// One attribute (`kind`, `location`).
        key: Option<String>,
    },
    /// `storage-add <name>[=<count>] …`
    StorageAdd {
        /// Requests as given.
        requests: Vec<String>,
    },
    /// `goal-state`
    GoalState,
    /// `resource-get <name>`
    ResourceGet {
        /// Resource name.
        name: String,
    },
    /// `juju-reboot [--now]`
    JujuReboot {
        /// `--now`: reboot immediately, killing the hook.
        now: bool,
    },
}

/// A parsed command line: the call plus the output flags every printing tool takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The call.
    pub call: Call,
    /// `--format`; `None` means the tool's default (smart for most, §5.2).
    pub format: Option<Format>,
    /// `-o/--output`: write the result to this file instead of stdout.
    pub output: Option<String>,
}

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Run the call.
    Run(Invocation),
    /// `--help` / `-h`: print help and exit 0 (ops <= 3.3 parses `storage-get --help`, D2).
    Help(Tool),
}

impl Call {
    /// The tool this call runs.
    pub fn tool(&self) -> Tool {
        match self {
            Call::RelationIds { .. } => Tool::RelationIds,
            Call::RelationList { .. } => Tool::RelationList,
            Call::RelationGet { .. } => Tool::RelationGet,
            Call::RelationSet { .. } => Tool::RelationSet,
            Call::RelationModelGet { .. } => Tool::RelationModelGet,
            Call::ConfigGet { .. } => Tool::ConfigGet,
            Call::IsLeader => Tool::IsLeader,
            Call::LeaderGet { .. } => Tool::LeaderGet,
            Call::LeaderSet { .. } => Tool::LeaderSet,
            Call::StatusGet { .. } => Tool::StatusGet,
            Call::StatusSet { .. } => Tool::StatusSet,
            Call::ApplicationVersionSet { .. } => Tool::ApplicationVersionSet,
            Call::JujuLog { .. } => Tool::JujuLog,
            Call::ActionGet { .. } => Tool::ActionGet,
            Call::ActionSet { .. } => Tool::ActionSet,
            Call::ActionLog { .. } => Tool::ActionLog,
            Call::ActionFail { .. } => Tool::ActionFail,
            Call::SecretAdd { .. } => Tool::SecretAdd,
            Call::SecretSet { .. } => Tool::SecretSet,
            Call::SecretGet { .. } => Tool::SecretGet,
            Call::SecretInfoGet { .. } => Tool::SecretInfoGet,
            Call::SecretIds => Tool::SecretIds,
            Call::SecretGrant { .. } => Tool::SecretGrant,
            Call::SecretRevoke { .. } => Tool::SecretRevoke,
            Call::SecretRemove { .. } => Tool::SecretRemove,
            Call::OpenPort { .. } => Tool::OpenPort,
            Call::ClosePort { .. } => Tool::ClosePort,
            Call::OpenedPorts { .. } => Tool::OpenedPorts,
            Call::NetworkGet { .. } => Tool::NetworkGet,
            Call::UnitGet { .. } => Tool::UnitGet,
            Call::StateGet { .. } => Tool::StateGet,
            Call::StateSet { .. } => Tool::StateSet,
            Call::StateDelete { .. } => Tool::StateDelete,
            Call::StorageList { .. } => Tool::StorageList,
            Call::StorageGet { .. } => Tool::StorageGet,
            Call::StorageAdd { .. } => Tool::StorageAdd,
            Call::GoalState => Tool::GoalState,
            Call::ResourceGet { .. } => Tool::ResourceGet,
            Call::JujuReboot { .. } => Tool::JujuReboot,
        }
    }

    /// The `--format` [`Call::to_argv`] asks for: JSON for every tool that prints, so the SDK
    /// never has to parse the smart format.
    pub fn preferred_format(&self) -> Option<Format> {
        self.tool().prints().then_some(Format::Json)
    }
}
