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

use crate::error::{UsageError, msg};
use crate::flags::{Flag, Scanned, scan};
use crate::tool::Tool;
use crate::values::{
    FileArg, Format, PortSpec, RelationRef, RotatePolicy, SecretContentArg, SecretOwner, SecretUri,
    SettableStatus, parse_pair,
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

const OUTPUT_FLAGS: &[Flag] = &[Flag::value(&["format"]), Flag::value(&["o", "output"])];
const REL: Flag = Flag::value(&["r", "relation"]);
const APP: Flag = Flag::boolean(&["app"]);
const SECRET_META: &[Flag] = &[
    Flag::value(&["label"]),
    Flag::value(&["description"]),
    Flag::value(&["expire"]),
    Flag::value(&["rotate"]),
    Flag::value(&["owner"]),
    Flag::value(&["file"]),
];

/// The flags each tool accepts (besides `--format`/`-o` for printing tools), from juju/juju
/// `internal/worker/uniter/runner/jujuc/*.go` as summarised in §5.5 and §6.
fn flags_of(tool: Tool) -> Vec<Flag> {
    let own: &[Flag] = match tool {
        Tool::RelationList | Tool::RelationGet => &[REL, APP],
        Tool::RelationSet => &[REL, APP, Flag::value(&["file"]), Flag::value(&["format"])],
        Tool::RelationModelGet => &[REL],
        Tool::ConfigGet => &[Flag::boolean(&["a", "all"])],
        Tool::StatusGet => &[
            Flag::boolean(&["include-data"]),
            Flag::boolean(&["application"]),
        ],
        Tool::StatusSet => &[Flag::boolean(&["application"])],
        Tool::JujuLog => &[Flag::value(&["l", "log-level"]), Flag::boolean(&["debug"])],
        Tool::SecretAdd | Tool::SecretSet => SECRET_META,
        Tool::SecretGet => &[
            Flag::value(&["label"]),
            Flag::boolean(&["refresh"]),
            Flag::boolean(&["peek"]),
        ],
        Tool::SecretInfoGet => &[Flag::value(&["label"])],
        Tool::SecretGrant => &[REL, Flag::value(&["unit"])],
        Tool::SecretRevoke => &[REL, Flag::value(&["unit"]), Flag::value(&["app"])],
        Tool::SecretRemove => &[Flag::value(&["revision"])],
        Tool::OpenPort | Tool::ClosePort => &[Flag::value(&["endpoints"])],
        Tool::OpenedPorts => &[Flag::boolean(&["endpoints"])],
        Tool::NetworkGet => &[
            REL,
            Flag::boolean(&["ingress-address"]),
            Flag::boolean(&["bind-address"]),
            Flag::boolean(&["egress-subnets"]),
        ],
        Tool::StateGet => &[Flag::boolean(&["strict"])],
        Tool::StateSet => &[Flag::value(&["file"])],
        Tool::StorageGet => &[Flag::value(&["s"])],
        Tool::JujuReboot => &[Flag::boolean(&["now"])],
        _ => &[],
    };
    let mut all = own.to_vec();
    if tool.prints() {
        all.extend_from_slice(OUTPUT_FLAGS);
    }
    all
}

/// Parses a full argv (argv\[0\] included) of any ops generation.
///
/// Dispatches on the basename of argv\[0\]. Errors are usage errors, with Juju's text; the tool
/// prints them as `ERROR <message>` and exits 2.
pub fn parse_argv<S: AsRef<str>>(argv: &[S]) -> Result<Parsed, UsageError> {
    let Some((argv0, rest)) = argv.split_first() else {
        return Err(UsageError::new("empty command line"));
    };
    let argv0 = argv0.as_ref();
    let tool = Tool::from_argv0(argv0)
        .ok_or_else(|| UsageError::new(format!("unknown hook tool {argv0:?}")))?;
    let args: Vec<String> = rest.iter().map(|s| s.as_ref().to_owned()).collect();
    let scanned = scan(&flags_of(tool), &args)?;
    if scanned.help {
        return Ok(Parsed::Help(tool));
    }
    let format = match scanned.value("format") {
        Some(f) if tool.prints() => Some(f.parse::<Format>()?),
        _ => None,
    };
    let output = scanned.value("o").map(str::to_owned);
    let call = Args { scanned }.into_call(tool)?;
    Ok(Parsed::Run(Invocation {
        call,
        format,
        output,
    }))
}

/// Scanned arguments with typed accessors.
struct Args {
    scanned: Scanned,
}

impl Args {
    fn relation(&self, flag: &str) -> Result<Option<RelationRef>, UsageError> {
        self.scanned
            .value("r")
            .map(|v| RelationRef::parse_flag(v, flag))
            .transpose()
    }
    fn opt(&self, name: &str) -> Option<String> {
        self.scanned.value(name).map(str::to_owned)
    }
    fn flag(&self, name: &str) -> bool {
        self.scanned.bool(name)
    }
    fn pos(&self) -> &[String] {
        &self.scanned.positionals
    }
    /// At most `n` positionals (juju/cmd `CheckEmpty`).
    fn at_most(&self, n: usize) -> Result<(), UsageError> {
        let extra = self.pos().get(n..).unwrap_or_default();
        if extra.is_empty() {
            Ok(())
        } else {
            let quoted: Vec<String> = extra.iter().map(|a| format!("{a:?}")).collect();
            Err(UsageError::new(format!(
                "unrecognized args: [{}]",
                quoted.join(" ")
            )))
        }
    }
    fn required(&self, i: usize, what: &str) -> Result<String, UsageError> {
        self.pos()
            .get(i)
            .cloned()
            .ok_or_else(|| UsageError::new(format!("no {what} specified")))
    }
    fn optional(&self, i: usize) -> Option<String> {
        self.pos().get(i).cloned()
    }
    fn pairs(&self, from: usize) -> Result<Vec<(String, String)>, UsageError> {
        self.pos()
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(|a| parse_pair(a))
            .collect()
    }
    fn words(&self) -> String {
        self.pos().join(" ")
    }
    fn secret_meta(&self) -> Result<SecretMeta, UsageError> {
        Ok(SecretMeta {
            label: self.opt("label"),
            description: self.opt("description"),
            expire: self.opt("expire"),
            rotate: self.scanned.value("rotate").map(str::parse).transpose()?,
        })
    }
    fn owner(&self) -> Result<Option<SecretOwner>, UsageError> {
        self.scanned
            .value("owner")
            .map(SecretOwner::parse)
            .transpose()
    }
    fn content(&self, from: usize) -> Result<Vec<SecretContentArg>, UsageError> {
        let args = self.pos().get(from..).unwrap_or_default();
        args.iter().map(|a| SecretContentArg::parse(a)).collect()
    }
    fn uri(&self, i: usize) -> Result<SecretUri, UsageError> {
        SecretUri::parse(&self.required(i, "secret URI")?)
    }
    fn port(&self) -> Result<PortSpec, UsageError> {
        self.at_most(1)?;
        self.required(0, "port or range")?.parse()
    }

    fn into_call(self, tool: Tool) -> Result<Call, UsageError> {
        let call = match tool {
            Tool::RelationIds => {
                self.at_most(1)?;
                Call::RelationIds {
                    endpoint: self.optional(0),
                }
            }
            Tool::RelationList => {
                self.at_most(0)?;
                Call::RelationList {
                    relation: self.relation("r")?,
                    app: self.flag("app"),
                }
            }
            Tool::RelationGet => {
                self.at_most(2)?;
                let key = self.optional(0).filter(|k| k != "-");
                Call::RelationGet {
                    relation: self.relation("r")?,
                    app: self.flag("app"),
                    key,
                    target: self.optional(1),
                }
            }
            Tool::RelationSet => Call::RelationSet {
                relation: self.relation("r")?,
                app: self.flag("app"),
                file: FileArg::parse_opt(self.scanned.value("file")),
                settings: self.pairs(0)?,
            },
            Tool::RelationModelGet => {
                self.at_most(0)?;
                Call::RelationModelGet {
                    relation: self.relation("r")?,
                }
            }
            Tool::ConfigGet => {
                self.at_most(1)?;
                Call::ConfigGet {
                    all: self.flag("a"),
                    key: self.optional(0),
                }
            }
            Tool::IsLeader => {
                self.at_most(0)?;
                Call::IsLeader
            }
            Tool::LeaderGet => {
                self.at_most(1)?;
                Call::LeaderGet {
                    key: self.optional(0).filter(|k| k != "-"),
                }
            }
            Tool::LeaderSet => Call::LeaderSet {
                settings: self.pairs(0)?,
            },
            Tool::StatusGet => {
                self.at_most(0)?;
                Call::StatusGet {
                    application: self.flag("application"),
                    include_data: self.flag("include-data"),
                }
            }
            Tool::StatusSet => {
                self.at_most(2)?;
                let status = self.required(0, "status")?;
                Call::StatusSet {
                    application: self.flag("application"),
                    status: status.parse()?,
                    message: self.optional(1),
                }
            }
            Tool::ApplicationVersionSet => {
                self.at_most(1)?;
                Call::ApplicationVersionSet {
                    version: self.required(0, "version")?,
                }
            }
            Tool::JujuLog => {
                if self.pos().is_empty() {
                    return Err(UsageError::new("no message specified"));
                }
                Call::JujuLog {
                    level: self.opt("l"),
                    debug: self.flag("debug"),
                    message: self.words(),
                }
            }
            Tool::ActionGet => {
                self.at_most(1)?;
                Call::ActionGet {
                    key: self.optional(0),
                }
            }
            Tool::ActionSet => {
                if self.pos().is_empty() {
                    return Err(UsageError::new("no key=value pairs specified"));
                }
                Call::ActionSet {
                    results: self.pairs(0)?,
                }
            }
            Tool::ActionLog => {
                if self.pos().is_empty() {
                    return Err(UsageError::new("no message specified"));
                }
                Call::ActionLog {
                    message: self.words(),
                }
            }
            Tool::ActionFail => {
                self.at_most(1)?;
                Call::ActionFail {
                    message: self.optional(0),
                }
            }
            Tool::SecretAdd => {
                let content = self.content(0)?;
                let file = self.opt("file");
                if content.is_empty() && file.is_none() {
                    return Err(UsageError::new(msg::MISSING_SECRET_VALUE));
                }
                Call::SecretAdd {
                    meta: self.secret_meta()?,
                    owner: self.owner()?,
                    file,
                    content,
                }
            }
            Tool::SecretSet => Call::SecretSet {
                uri: self.uri(0)?,
                meta: self.secret_meta()?,
                owner: self.owner()?,
                file: self.opt("file"),
                content: self.content(1)?,
            },
            Tool::SecretGet => {
                self.at_most(2)?;
                let (refresh, peek) = (self.flag("refresh"), self.flag("peek"));
                if refresh && peek {
                    return Err(UsageError::new(
                        "specify one of --peek or --refresh but not both",
                    ));
                }
                let uri = self.optional(0).map(|u| SecretUri::parse(&u)).transpose()?;
                let label = self.opt("label");
                if uri.is_none() && label.is_none() {
                    return Err(UsageError::new("require either a secret URI or label"));
                }
                Call::SecretGet {
                    uri,
                    key: self.optional(1),
                    label,
                    refresh,
                    peek,
                }
            }
            Tool::SecretInfoGet => {
                self.at_most(1)?;
                let uri = self.optional(0).map(|u| SecretUri::parse(&u)).transpose()?;
                let label = self.opt("label");
                match (&uri, &label) {
                    (Some(_), Some(_)) => return Err(UsageError::new(msg::URI_OR_LABEL)),
                    (None, None) => {
                        return Err(UsageError::new("require either a secret URI or label"));
                    }
                    _ => {}
                }
                Call::SecretInfoGet { uri, label }
            }
            Tool::SecretIds => {
                self.at_most(0)?;
                Call::SecretIds
            }
            Tool::SecretGrant => {
                self.at_most(1)?;
                let relation = self
                    .relation("relation")?
                    .ok_or_else(|| UsageError::new("missing relation"))?;
                Call::SecretGrant {
                    uri: self.uri(0)?,
                    relation,
                    unit: self.opt("unit"),
                }
            }
            Tool::SecretRevoke => {
                self.at_most(1)?;
                Call::SecretRevoke {
                    uri: self.uri(0)?,
                    relation: self.relation("relation")?,
                    unit: self.opt("unit"),
                    app: self.opt("app"),
                }
            }
            Tool::SecretRemove => {
                self.at_most(1)?;
                let revision = match self.scanned.value("revision") {
                    Some(v) => Some(v.parse::<u32>().map_err(|e| {
                        UsageError::new(msg::invalid_value(v, "revision", &e.to_string()))
                    })?),
                    None => None,
                };
                Call::SecretRemove {
                    uri: self.uri(0)?,
                    revision,
                }
            }
            Tool::OpenPort => Call::OpenPort {
                port: self.port()?,
                endpoints: self.opt("endpoints"),
            },
            Tool::ClosePort => Call::ClosePort {
                port: self.port()?,
                endpoints: self.opt("endpoints"),
            },
            Tool::OpenedPorts => {
                self.at_most(0)?;
                Call::OpenedPorts {
                    endpoints: self.flag("endpoints"),
                }
            }
            Tool::NetworkGet => {
                self.at_most(1)?;
                Call::NetworkGet {
                    binding: self.required(0, "binding name")?,
                    relation: self.relation("r")?,
                    ingress_address: self.flag("ingress-address"),
                    bind_address: self.flag("bind-address"),
                    egress_subnets: self.flag("egress-subnets"),
                }
            }
            Tool::UnitGet => {
                self.at_most(1)?;
                Call::UnitGet {
                    key: self.required(0, "setting")?,
                }
            }
            Tool::StateGet => {
                self.at_most(1)?;
                Call::StateGet {
                    key: self.optional(0).filter(|k| k != "-"),
                    strict: self.flag("strict"),
                }
            }
            Tool::StateSet => Call::StateSet {
                file: FileArg::parse_opt(self.scanned.value("file")),
                settings: self.pairs(0)?,
            },
            Tool::StateDelete => {
                self.at_most(1)?;
                Call::StateDelete {
                    key: self.required(0, "key")?,
                }
            }
            Tool::StorageList => {
                self.at_most(1)?;
                Call::StorageList {
                    name: self.optional(0),
                }
            }
            Tool::StorageGet => {
                self.at_most(1)?;
                Call::StorageGet {
                    storage: self.opt("s"),
                    key: self.optional(0),
                }
            }
            Tool::StorageAdd => {
                if self.pos().is_empty() {
                    return Err(UsageError::new("storage add requires a storage directive"));
                }
                Call::StorageAdd {
                    requests: self.pos().to_vec(),
                }
            }
            Tool::GoalState => {
                self.at_most(0)?;
                Call::GoalState
            }
            Tool::ResourceGet => {
                self.at_most(1)?;
                Call::ResourceGet {
                    name: self.required(0, "resource")?,
                }
            }
            Tool::JujuReboot => {
                self.at_most(0)?;
                Call::JujuReboot {
                    now: self.flag("now"),
                }
            }
        };
        Ok(call)
    }
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

    /// The modern (ops 3.8+ style) argv, argv\[0\] = the bare tool name.
    ///
    /// `parse_argv(&call.to_argv())` gives back `call` with [`Call::preferred_format`].
    pub fn to_argv(&self) -> Vec<String> {
        let mut a = Argv {
            args: vec![self.tool().name().to_owned()],
            ended: false,
        };
        if let Some(f) = self.preferred_format() {
            a.push(format!("--format={}", f.as_str()));
        }
        match self {
            Call::RelationIds { endpoint } => a.opt_pos(endpoint),
            Call::RelationList { relation, app } => {
                a.rel(relation);
                a.bool("--app", *app);
            }
            Call::RelationGet {
                relation,
                app,
                key,
                target,
            } => {
                a.rel(relation);
                a.bool("--app", *app);
                // `-` before free positionals is safe: gnuflag treats it as a positional.
                match (key, target) {
                    (None, None) => {}
                    (key, target) => {
                        a.end_flags();
                        a.push(key.clone().unwrap_or_else(|| "-".into()));
                        a.opt_pos(target);
                    }
                }
            }
            Call::RelationSet {
                relation,
                app,
                file,
                settings,
            } => {
                a.rel(relation);
                a.bool("--app", *app);
                if let Some(f) = file {
                    a.push("--file".into());
                    a.push(f.to_string());
                }
                a.pairs(settings);
            }
            Call::RelationModelGet { relation } => a.rel(relation),
            Call::ConfigGet { all, key } => {
                a.bool("--all", *all);
                a.tail(key.iter().cloned());
            }
            Call::IsLeader | Call::SecretIds | Call::GoalState => {}
            Call::LeaderGet { key } => a.tail(key.iter().cloned()),
            Call::LeaderSet { settings } => a.pairs(settings),
            Call::StatusGet {
                application,
                include_data,
            } => {
                a.bool("--include-data", *include_data);
                a.bool("--application", *application);
            }
            Call::StatusSet {
                application,
                status,
                message,
            } => {
                a.bool("--application", *application);
                a.push(status.as_str().into());
                if let Some(m) = message {
                    a.end_flags();
                    a.push(m.clone());
                }
            }
            Call::ApplicationVersionSet { version } => a.tail([version.clone()]),
            Call::JujuLog {
                level,
                debug,
                message,
            } => {
                if let Some(l) = level {
                    a.push("--log-level".into());
                    a.push(l.clone());
                }
                a.bool("--debug", *debug);
                a.tail([message.clone()]);
            }
            Call::ActionGet { key } => a.tail(key.iter().cloned()),
            Call::ActionSet { results } => a.pairs(results),
            Call::ActionLog { message } => a.tail([message.clone()]),
            Call::ActionFail { message } => a.tail(message.iter().cloned()),
            Call::SecretAdd {
                meta,
                owner,
                file,
                content,
            } => {
                a.secret_meta(meta, *owner, file);
                a.extend(content.iter().map(SecretContentArg::to_arg));
            }
            Call::SecretSet {
                uri,
                meta,
                owner,
                file,
                content,
            } => {
                a.secret_meta(meta, *owner, file);
                a.push(uri.to_string());
                a.extend(content.iter().map(SecretContentArg::to_arg));
            }
            Call::SecretGet {
                uri,
                key,
                label,
                refresh,
                peek,
            } => {
                if let Some(l) = label {
                    a.push("--label".into());
                    a.push(l.clone());
                }
                a.bool("--refresh", *refresh);
                a.bool("--peek", *peek);
                if let Some(u) = uri {
                    a.push(u.to_string());
                    a.opt_pos(key);
                }
            }
            Call::SecretInfoGet { uri, label } => {
                if let Some(l) = label {
                    a.push("--label".into());
                    a.push(l.clone());
                }
                a.opt_pos(&uri.as_ref().map(SecretUri::to_string));
            }
            Call::SecretGrant {
                uri,
                relation,
                unit,
            } => {
                a.push("--relation".into());
                a.push(relation.to_string());
                a.opt_flag("--unit", unit);
                a.push(uri.to_string());
            }
            Call::SecretRevoke {
                uri,
                relation,
                unit,
                app,
            } => {
                if let Some(r) = relation {
                    a.push("--relation".into());
                    a.push(r.to_string());
                }
                a.opt_flag("--unit", unit);
                a.opt_flag("--app", app);
                a.push(uri.to_string());
            }
            Call::SecretRemove { uri, revision } => {
                a.push(uri.to_string());
                a.opt_flag("--revision", &revision.map(|r| r.to_string()));
            }
            Call::OpenPort { port, endpoints } | Call::ClosePort { port, endpoints } => {
                a.push(port.to_string());
                a.opt_flag("--endpoints", endpoints);
            }
            Call::OpenedPorts { endpoints } => a.bool("--endpoints", *endpoints),
            Call::NetworkGet {
                binding,
                relation,
                ingress_address,
                bind_address,
                egress_subnets,
            } => {
                a.rel(relation);
                a.bool("--ingress-address", *ingress_address);
                a.bool("--bind-address", *bind_address);
                a.bool("--egress-subnets", *egress_subnets);
                a.tail([binding.clone()]);
            }
            Call::UnitGet { key } => a.tail([key.clone()]),
            Call::StateGet { key, strict } => {
                a.bool("--strict", *strict);
                a.tail(key.iter().cloned());
            }
            Call::StateSet { file, settings } => {
                if let Some(f) = file {
                    a.push("--file".into());
                    a.push(f.to_string());
                }
                a.pairs(settings);
            }
            Call::StateDelete { key } => a.tail([key.clone()]),
            Call::StorageList { name } => a.tail(name.iter().cloned()),
            Call::StorageGet { storage, key } => {
                a.opt_flag("-s", storage);
                a.tail(key.iter().cloned());
            }
            Call::StorageAdd { requests } => a.tail(requests.iter().cloned()),
            Call::ResourceGet { name } => a.tail([name.clone()]),
            Call::JujuReboot { now } => a.bool("--now", *now),
        }
        a.args
    }
}

/// Builder for argv.
struct Argv {
    args: Vec<String>,
    /// `--` was emitted: everything after is positional already.
    ended: bool,
}

impl Argv {
    fn push(&mut self, s: String) {
        self.args.push(s);
    }
    fn extend(&mut self, it: impl IntoIterator<Item = String>) {
        self.args.extend(it);
    }
    /// Emits `--` once; later positionals need no protection.
    fn end_flags(&mut self) {
        if !self.ended {
            self.args.push("--".into());
            self.ended = true;
        }
    }
    fn bool(&mut self, flag: &str, on: bool) {
        if on {
            self.push(flag.to_owned());
        }
    }
    fn rel(&mut self, r: &Option<RelationRef>) {
        if let Some(r) = r {
            self.push("-r".into());
            self.push(r.to_string());
        }
    }
    fn opt_flag(&mut self, flag: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.push(flag.to_owned());
            self.push(v.clone());
        }
    }
    /// A positional that is a name, never free text (cannot start with `-` in valid use); a
    /// value that does is protected with `--`.
    fn opt_pos(&mut self, v: &Option<String>) {
        if let Some(v) = v {
            if v.starts_with('-') && v != "-" {
                self.end_flags();
            }
            self.push(v.clone());
        }
    }
    /// Free text after `--`, so that text starting with `-` stays positional (ops >= 3.4).
    fn tail(&mut self, items: impl IntoIterator<Item = String>) {
        let items: Vec<String> = items.into_iter().collect();
        if !items.is_empty() {
            self.end_flags();
            self.extend(items);
        }
    }
    /// `key=value` pairs; a key cannot start with `-` (parse_pair rejects an empty key, and
    /// gnuflag would see a flag), so `--` protects them too.
    fn pairs(&mut self, pairs: &[(String, String)]) {
        self.tail(pairs.iter().map(|(k, v)| format!("{k}={v}")));
    }
    fn secret_meta(&mut self, m: &SecretMeta, owner: Option<SecretOwner>, file: &Option<String>) {
        self.opt_flag("--label", &m.label);
        self.opt_flag("--description", &m.description);
        self.opt_flag("--expire", &m.expire);
        self.opt_flag("--rotate", &m.rotate.map(|r| r.as_str().to_owned()));
        self.opt_flag("--owner", &owner.map(|o| o.as_str().to_owned()));
        self.opt_flag("--file", file);
    }
}
