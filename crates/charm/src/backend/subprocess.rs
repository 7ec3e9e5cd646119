//! [`HookTools`]: the backend that runs Juju's hook tools as subprocesses.
//!
//! * argv comes from [`hook_tools::Call::to_argv`] (the modern form), with `--format=json` for
//!   every tool that prints;
//! * values of any size never go through argv (Linux caps one argument at 128 KiB): databags go
//!   through `relation-set --file -` on stdin, secret content through `key#file=<path>` files in a
//!   private temporary directory that lives for the duration of the call;
//! * relation writes are buffered per bag and sent with one `relation-set` per bag at
//!   [`Backend::commit`]; reads of own bags overlay the buffer, as Juju's own context does;
//! * a failing tool's stderr becomes a typed [`BackendError`] by the rules ops uses.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hook_tools::output::{NetworkInfo, SecretInfoOutput, StatusInfo};
use hook_tools::values::{FileArg, PortSpec, SecretContentArg, SecretOwner, SecretValue};
use hook_tools::{Call, RelationRef, SecretMeta, Tool, ToolError, settings};
use serde::de::DeserializeOwned;

use super::{
    Backend, BackendError, BagOwner, Databag, LogLevel, NewSecret, Result, SecretContent,
    SecretInfo, SecretLookup, SecretRead, SecretUpdate, Status,
};
use crate::names::{AppName, Endpoint, RelationId, SecretId, UnitName};

/// ops sends log records in chunks of at most this many characters (§6.3).
const LOG_CHUNK: usize = 131_071;

/// Runs the real hook tools.
#[derive(Debug)]
pub struct HookTools {
    unit: UnitName,
    tools_dir: Option<PathBuf>,
    /// Buffered relation writes: (relation, app bag?) → changes.
    pending: BTreeMap<(RelationId, bool), Databag>,
}

impl HookTools {
    /// Tools are looked up on `PATH`, where Juju puts its tool directory first.
    pub fn new(unit: UnitName) -> Self {
        HookTools {
            unit,
            tools_dir: None,
            pending: BTreeMap::new(),
        }
    }

    /// Runs tools from this directory instead of `PATH` (a local model's shims, test stubs).
    pub fn with_tools_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.tools_dir = Some(dir.into());
        self
    }

    fn program(&self, tool: Tool) -> PathBuf {
        match &self.tools_dir {
            Some(d) => d.join(tool.name()),
            None => PathBuf::from(tool.name()),
        }
    }

    /// Runs one call, feeding `stdin` if given, and returns stdout.
    fn run(&self, call: &Call, stdin: Option<&[u8]>) -> Result<Vec<u8>> {
        let tool = call.tool();
        let argv = call.to_argv();
        let mut cmd = Command::new(self.program(tool));
        cmd.args(argv.get(1..).unwrap_or_default())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|source| BackendError::Spawn { tool, source })?;
        let output = std::thread::scope(|scope| {
            // Write stdin on its own thread: a tool may fill its stdout pipe before reading all of
            // a multi-megabyte stdin.
            let writer = match (stdin, child.stdin.take()) {
                (Some(data), Some(mut pipe)) => Some(scope.spawn(move || pipe.write_all(data))),
                _ => None,
            };
            let output = child.wait_with_output();
            let written = writer.map(|w| w.join());
            (output, written)
        });
        let (output, written) = output;
        let output = output.map_err(|source| BackendError::Spawn { tool, source })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let code = output.status.code().unwrap_or(-1);
            return Err(BackendError::from_tool(
                tool,
                ToolError::from_stderr(code, &stderr),
            ));
        }
        if let Some(Ok(Err(source))) = written {
            return Err(BackendError::Io {
                context: format!("writing stdin of {tool}"),
                source,
            });
        }
        Ok(output.stdout)
    }

    fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<T> {
        let out = self.run(call, None)?;
        serde_json::from_slice(&out).map_err(|e| BackendError::Output {
            tool: call.tool(),
            detail: e.to_string(),
        })
    }

    fn own_bag(&self, relation: &RelationId, owner: &BagOwner) -> Option<bool> {
        match owner {
            BagOwner::Unit(u) if *u == self.unit => Some(false),
            BagOwner::App(a) if a == self.unit.app() => Some(true),
            _ => None,
        }
        .filter(|app| self.pending.contains_key(&(relation.clone(), *app)))
    }
}

/// Writes secret content to files in a fresh private directory, for `key#file=` arguments.
/// The directory (and the values) disappear when the returned guard drops, right after the call.
fn content_files(content: &SecretContent) -> Result<(tempfile::TempDir, Vec<SecretContentArg>)> {
    let io = |context: &str| {
        let context = context.to_owned();
        move |source| BackendError::Io { context, source }
    };
    let dir = tempfile::Builder::new()
        .prefix("charm-secret-")
        .tempdir()
        .map_err(io("creating a secret directory"))?;
    let mut args = Vec::with_capacity(content.len());
    for (key, value) in content {
        if !hook_tools::values::is_valid_secret_key(key) {
            return Err(BackendError::ApiMisuse(format!(
                "invalid secret content key {key:?}"
            )));
        }
        let path: PathBuf = dir.path().join(key);
        write_private(&path, value.as_bytes()).map_err(io("writing secret content"))?;
        args.push(SecretContentArg {
            key: key.clone(),
            value: SecretValue::File(path.display().to_string()),
        });
    }
    Ok((dir, args))
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(data)
}

fn lookup_args(lookup: &SecretLookup) -> (Option<hook_tools::SecretUri>, Option<String>) {
    match lookup {
        SecretLookup::Id(id) => (Some(id.to_tool_uri()), None),
        SecretLookup::Label(l) => (None, Some(l.clone())),
        SecretLookup::IdWithLabel(id, l) => (Some(id.to_tool_uri()), Some(l.clone())),
    }
}

fn parse_secret_id(tool: Tool, s: &str) -> Result<SecretId> {
    let s = s.trim();
    let uri = if s.starts_with("secret:") {
        s.to_owned()
    } else {
        format!("secret:{s}")
    };
    uri.parse()
        .map_err(|e: crate::names::NameError| BackendError::Output {
            tool,
            detail: e.to_string(),
        })
}

impl Backend for HookTools {
    fn relation_ids(&mut self, endpoint: &Endpoint) -> Result<Vec<RelationId>> {
        let ids: Vec<String> = self.json(&Call::RelationIds {
            endpoint: Some(endpoint.to_string()),
        })?;
        ids.iter()
            .map(|s| {
                s.parse().or_else(|_| {
                    // Bare ids from an old agent: qualify them with the endpoint asked for.
                    s.parse::<u32>()
                        .map(|id| RelationId::new(endpoint.clone(), id))
                })
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| BackendError::Output {
                tool: Tool::RelationIds,
                detail: e.to_string(),
            })
    }

    fn relation_units(&mut self, relation: &RelationId) -> Result<Vec<UnitName>> {
        let units: Vec<String> = self.json(&Call::RelationList {
            relation: Some(relation.to_tool_ref()),
            app: false,
        })?;
        units
            .iter()
            .map(|u| u.parse())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e: crate::names::NameError| BackendError::Output {
                tool: Tool::RelationList,
                detail: e.to_string(),
            })
    }

    fn relation_remote_app(&mut self, relation: &RelationId) -> Result<Option<AppName>> {
        let app: Option<String> = self.json(&Call::RelationList {
            relation: Some(relation.to_tool_ref()),
            app: true,
        })?;
        app.filter(|a| !a.is_empty())
            .map(|a| a.parse())
            .transpose()
            .map_err(|e: crate::names::NameError| BackendError::Output {
                tool: Tool::RelationList,
                detail: e.to_string(),
            })
    }

    fn relation_get(&mut self, relation: &RelationId, owner: &BagOwner) -> Result<Databag> {
        let call = Call::RelationGet {
            relation: Some(relation.to_tool_ref()),
            app: matches!(owner, BagOwner::App(_)),
            key: None,
            target: Some(owner.to_string()),
        };
        let mut bag: Databag = self.json(&call)?;
        if let Some(app) = self.own_bag(relation, owner) {
            for (k, v) in &self.pending[&(relation.clone(), app)] {
                if v.is_empty() {
                    bag.remove(k);
                } else {
                    bag.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(bag)
    }

    fn relation_get_key(
        &mut self,
        relation: &RelationId,
        owner: &BagOwner,
        key: &str,
    ) -> Result<Option<String>> {
        if let Some(app) = self.own_bag(relation, owner)
            && let Some(v) = self
                .pending
                .get(&(relation.clone(), app))
                .and_then(|bag| bag.get(key))
        {
            return Ok((!v.is_empty()).then(|| v.clone()));
        }
        let call = Call::RelationGet {
            relation: Some(relation.to_tool_ref()),
            app: matches!(owner, BagOwner::App(_)),
            key: Some(key.to_owned()),
            target: Some(owner.to_string()),
        };
        self.json(&call)
    }

    fn relation_set(&mut self, relation: &RelationId, app: bool, changes: &Databag) -> Result<()> {
        let bag = self.pending.entry((relation.clone(), app)).or_default();
        bag.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    fn config_get(&mut self) -> Result<serde_json::Map<String, serde_json::Value>> {
        self.json(&Call::ConfigGet {
            all: false,
            key: None,
        })
    }

    fn is_leader(&mut self) -> Result<bool> {
        self.json(&Call::IsLeader)
    }

    fn status_get(&mut self, app: bool) -> Result<Status> {
        let call = Call::StatusGet {
            application: app,
            include_data: true,
        };
        let bad = |detail: String| BackendError::Output {
            tool: Tool::StatusGet,
            detail,
        };
        let info: StatusInfo = if app {
            let out: hook_tools::output::ApplicationStatusOutput = self.json(&call)?;
            StatusInfo {
                message: out.application_status.message,
                status: out.application_status.status,
                status_data: out.application_status.status_data,
            }
        } else {
            self.json(&call)?
        };
        Status::from_tool(&info).ok_or_else(|| bad(format!("unknown status {:?}", info.status)))
    }

    fn status_set(&mut self, app: bool, status: &Status) -> Result<()> {
        let settable = status.settable().ok_or_else(|| {
            BackendError::ApiMisuse(format!(
                "a charm cannot set status {:?}",
                status.kind.as_str()
            ))
        })?;
        self.run(
            &Call::StatusSet {
                application: app,
                status: settable,
                message: Some(status.message.clone()),
            },
            None,
        )?;
        Ok(())
    }

    fn application_version_set(&mut self, version: &str) -> Result<()> {
        self.run(
            &Call::ApplicationVersionSet {
                version: version.to_owned(),
            },
            None,
        )
        .map(drop)
    }

    fn juju_log(&mut self, level: LogLevel, message: &str) -> Result<()> {
        let mut rest = message;
        loop {
            let mut end = rest.len().min(LOG_CHUNK);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let (chunk, tail) = rest.split_at(end);
            let call = Call::JujuLog {
                level: Some(level.as_str().to_owned()),
                debug: false,
                message: chunk.to_owned(),
            };
            self.run(&call, None)?;
            if tail.is_empty() {
                return Ok(());
            }
            rest = tail;
        }
    }

    fn action_get(&mut self) -> Result<serde_json::Map<String, serde_json::Value>> {
        self.json(&Call::ActionGet { key: None })
    }

    fn action_set(&mut self, results: &BTreeMap<String, String>) -> Result<()> {
        // action-set has no --file: results go through argv, as with ops.
        let results = results
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.run(&Call::ActionSet { results }, None).map(drop)
    }

    fn action_log(&mut self, message: &str) -> Result<()> {
        self.run(
            &Call::ActionLog {
                message: message.to_owned(),
            },
            None,
        )
        .map(drop)
    }

    fn action_fail(&mut self, message: &str) -> Result<()> {
        self.run(
            &Call::ActionFail {
                message: Some(message.to_owned()),
            },
            None,
        )
        .map(drop)
    }

    fn secret_add(&mut self, secret: &NewSecret) -> Result<SecretId> {
        let (_dir, content) = content_files(&secret.content)?;
        let call = Call::SecretAdd {
            meta: SecretMeta {
                label: secret.label.clone(),
                description: secret.description.clone(),
                expire: secret.expire.clone(),
                rotate: secret.rotate,
            },
            owner: Some(secret.owner),
            file: None,
            content,
        };
        let out = self.run(&call, None)?;
        parse_secret_id(Tool::SecretAdd, &String::from_utf8_lossy(&out))
    }

    fn secret_get(&mut self, lookup: &SecretLookup, read: SecretRead) -> Result<SecretContent> {
        let (uri, label) = lookup_args(lookup);
        self.json(&Call::SecretGet {
            uri,
            key: None,
            label,
            refresh: read == SecretRead::Refresh,
            peek: read == SecretRead::Peek,
        })
    }

    fn secret_set(&mut self, id: &SecretId, update: &SecretUpdate) -> Result<()> {
        let (_dir, content) = match &update.content {
            Some(c) => {
                let (d, args) = content_files(c)?;
                (Some(d), args)
            }
            None => (None, Vec::new()),
        };
        let call = Call::SecretSet {
            uri: id.to_tool_uri(),
            meta: SecretMeta {
                label: update.label.clone(),
                description: update.description.clone(),
                expire: update.expire.clone(),
                rotate: update.rotate,
            },
            owner: None,
            file: None,
            content,
        };
        self.run(&call, None).map(drop)
    }

    fn secret_info(&mut self, lookup: &SecretLookup) -> Result<SecretInfo> {
        let (uri, label) = match lookup {
            SecretLookup::Id(id) | SecretLookup::IdWithLabel(id, _) => {
                (Some(id.to_tool_uri()), None)
            }
            SecretLookup::Label(l) => (None, Some(l.clone())),
        };
        let out: SecretInfoOutput = self.json(&Call::SecretInfoGet { uri, label })?;
        let bad = |detail: &str| BackendError::Output {
            tool: Tool::SecretInfoGet,
            detail: detail.to_owned(),
        };
        let (xid, info) = out
            .into_iter()
            .next()
            .ok_or_else(|| bad("no secret in output"))?;
        let id = match lookup {
            SecretLookup::Id(id) | SecretLookup::IdWithLabel(id, _) => id.clone(),
            SecretLookup::Label(_) => parse_secret_id(Tool::SecretInfoGet, &xid)?,
        };
        let owner = match info.owner.as_str() {
            "unit" => SecretOwner::Unit,
            "application" => SecretOwner::Application,
            other => return Err(bad(&format!("unknown owner {other:?}"))),
        };
        Ok(SecretInfo {
            id,
            revision: info.revision,
            label: Some(info.label).filter(|l| !l.is_empty()),
            owner,
            description: info.description,
            expiry: info.expiry,
            rotation: info.rotation,
        })
    }

    fn secret_ids(&mut self) -> Result<Vec<SecretId>> {
        let ids: Option<Vec<String>> = self.json(&Call::SecretIds)?;
        ids.unwrap_or_default()
            .iter()
            .map(|s| parse_secret_id(Tool::SecretIds, s))
            .collect()
    }

    fn secret_grant(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<()> {
        let call = Call::SecretGrant {
            uri: id.to_tool_uri(),
            relation: RelationRef::id(relation.id()),
            unit: unit.map(ToString::to_string),
        };
        self.run(&call, None).map(drop)
    }

    fn secret_revoke(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<()> {
        let call = Call::SecretRevoke {
            uri: id.to_tool_uri(),
            relation: Some(RelationRef::id(relation.id())),
            unit: unit.map(ToString::to_string),
            app: None,
        };
        self.run(&call, None).map(drop)
    }

    fn secret_remove(&mut self, id: &SecretId, revision: Option<u32>) -> Result<()> {
        self.run(
            &Call::SecretRemove {
                uri: id.to_tool_uri(),
                revision,
            },
            None,
        )
        .map(drop)
    }

    fn open_port(&mut self, port: PortSpec) -> Result<()> {
        self.run(
            &Call::OpenPort {
                port,
                endpoints: None,
            },
            None,
        )
        .map(drop)
    }

    fn close_port(&mut self, port: PortSpec) -> Result<()> {
        self.run(
            &Call::ClosePort {
                port,
                endpoints: None,
            },
            None,
        )
        .map(drop)
    }

    fn opened_ports(&mut self) -> Result<Vec<PortSpec>> {
        let ports: Option<Vec<String>> = self.json(&Call::OpenedPorts { endpoints: false })?;
        ports
            .unwrap_or_default()
            .iter()
            .map(|p| p.split(' ').next().unwrap_or(p).parse())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e: hook_tools::UsageError| BackendError::Output {
                tool: Tool::OpenedPorts,
                detail: e.to_string(),
            })
    }

    fn network_get(&mut self, binding: &str, relation: Option<&RelationId>) -> Result<NetworkInfo> {
        self.json(&Call::NetworkGet {
            binding: binding.to_owned(),
            relation: relation.map(|r| RelationRef::id(r.id())),
            ingress_address: false,
            bind_address: false,
            egress_subnets: false,
        })
    }

    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn commit(&mut self) -> Result<()> {
        for ((relation, app), changes) in std::mem::take(&mut self.pending) {
            let call = Call::RelationSet {
                relation: Some(relation.to_tool_ref()),
                app,
                file: Some(FileArg::Stdin),
                settings: vec![],
            };
            self.run(&call, Some(&settings::encode(&changes)))?;
        }
        Ok(())
    }
}
