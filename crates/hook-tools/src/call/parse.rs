//! [`parse_argv`]: argv of any ops generation to a typed [`Call`], with gnuflag's rules.

use super::flag_table::flags_of;
use super::{Call, Invocation, Parsed, SecretMeta};
use crate::error::{UsageError, msg};
use crate::flags::{Scanned, scan};
use crate::tool::Tool;
use crate::values::{
    FileArg, Format, PortSpec, RelationRef, SecretContentArg, SecretOwner, SecretUri, parse_pair,
};

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
