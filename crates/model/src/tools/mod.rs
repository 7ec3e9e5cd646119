//! Serves one hook-tool call: parses argv with the shared `hook-tools` grammar (all three ops
//! calling conventions), answers from the store plus the hook's own buffered writes, and renders
//! the answer in the requested format with Juju's error texts and exit codes. This module
//! dispatches and renders; each family of tools has its own submodule.

mod actions;
mod config;
mod leader;
mod relations;
mod secrets;
mod status;
mod unit;

use std::collections::BTreeMap;
use std::sync::Arc;

use hook_tools::output;
use hook_tools::values::{FileArg, Format};
use hook_tools::{Call, Parsed, Tool, ToolError};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::context::HookContext;
use crate::hook_tool_server::CallerFile;
use crate::model::Model;
use crate::store;

pub(crate) use leader::is_leader;
pub(crate) use secrets::{secret_info, wants_unit_owner};

/// What the shim prints and exits with.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// Bytes for stdout: shared, as a `relation-get` answer from the bag cache is. Not in the
    /// header on the wire: the bytes follow it.
    #[serde(skip)]
    pub stdout: Arc<str>,
    /// Bytes for stderr.
    pub stderr: String,
    /// Exit code.
    pub code: i32,
    /// `-o PATH`: the shim writes `stdout` to this file (relative to its working directory)
    /// instead of printing it; the server never opens a path a caller names.
    #[serde(default)]
    pub write_to: Option<String>,
}

/// The files a call named, as the shim read them.
type Files = BTreeMap<String, CallerFile>;

type ToolResult = Result<Option<Value>, ToolError>;

/// What a call prints, before its `--format` is applied.
pub(super) enum Output {
    /// A value.
    Value(Value),
    /// A `relation-get` answer from the bag cache (one key or the whole bag), rendered by the
    /// cache once the store connection is let go (rendering megabytes holds nothing).
    Bag(crate::bag_cache::CachedBag),
}

pub(super) fn runtime(m: impl Into<String>) -> ToolError {
    ToolError::runtime(m)
}

pub(super) fn store_err(e: impl std::fmt::Display) -> ToolError {
    runtime(format!("model store: {e}"))
}

/// Runs one call and renders its reply.
pub(crate) fn execute(
    model: &Model,
    ctx: &HookContext,
    argv: &[String],
    stdin: Option<&[u8]>,
    files: &Files,
) -> Reply {
    let started = std::time::Instant::now();
    let reply = serve(model, ctx, argv, stdin, files);
    let mut p = ctx.pending();
    p.calls += 1;
    p.serving += started.elapsed();
    reply
}

fn serve(
    model: &Model,
    ctx: &HookContext,
    argv: &[String],
    stdin: Option<&[u8]>,
    files: &Files,
) -> Reply {
    let parsed = match hook_tools::parse_argv(argv) {
        Ok(p) => p,
        Err(e) => return fail(&e.into_tool_error()),
    };
    let inv = match parsed {
        Parsed::Help(tool) => {
            return Reply {
                stdout: help(tool).into(),
                ..Reply::default()
            };
        }
        Parsed::Run(inv) => inv,
    };
    let default = match Tool::from_argv0(&argv[0]) {
        Some(Tool::SecretGet | Tool::SecretInfoGet | Tool::GoalState) => Format::Yaml,
        _ => Format::Smart,
    };
    let format = inv.format.unwrap_or(default);
    let own_secret = secret_get_args(&inv.call).and_then(|args| {
        read_snapshot(model, |c| {
            crate::secrets::get_own_without_writing(model, c, ctx, &args)
        })
    });
    let result = match own_secret {
        Some(result) => result.map(|v| v.map(Output::Value)),
        None if reads_only(&inv.call) => {
            read_snapshot(model, |c| call(model, c, ctx, &inv.call, stdin, files))
        }
        None => call(model, &model.db(), ctx, &inv.call, stdin, files),
    };
    match result {
        Err(e) => fail(&e),
        Ok(None) => Reply::default(),
        Ok(Some(output)) => Reply {
            stdout: match output {
                Output::Value(v) => render(&v, format).into(),
                Output::Bag(bag) => model.bag_cache().answer(&bag, format, render),
            },
            write_to: inv.output,
            ..Reply::default()
        },
    }
}

/// A `secret-get` call's arguments.
fn secret_get_args(call: &Call) -> Option<crate::secrets::SecretGetArgs<'_>> {
    match call {
        Call::SecretGet {
            uri,
            key,
            label,
            refresh,
            peek,
        } => Some(crate::secrets::SecretGetArgs {
            uri: uri.as_ref(),
            key: key.as_deref(),
            label: label.as_deref(),
            refresh: *refresh,
            peek: *peek,
        }),
        _ => None,
    }
}

/// Runs `f` on the read connection inside one read transaction: a call that reads several
/// rows sees one committed state, as it did under the main connection's lock.
fn read_snapshot<T>(model: &Model, f: impl FnOnce(&Connection) -> T) -> T {
    let db = model.read_db();
    // If it cannot begin, each statement still sees a committed state of its own.
    let _snapshot = db.unchecked_transaction().ok();
    f(&db)
}

/// Calls that only read the store (their writes, if any, go to the hook's pending changes):
/// served on the read connection. Everything else goes through the main one, `secret-get`
/// included unless an owner reads its own secret (a consumer's read records the revision it
/// tracks: [`crate::secrets::get_own_without_writing`]).
fn reads_only(call: &Call) -> bool {
    matches!(
        call,
        Call::RelationIds { .. }
            | Call::RelationList { .. }
            | Call::RelationGet { .. }
            | Call::RelationSet { .. }
            | Call::RelationModelGet { .. }
            | Call::ConfigGet { .. }
            | Call::IsLeader
            | Call::LeaderGet { .. }
            | Call::StatusGet { .. }
            | Call::ActionGet { .. }
            | Call::OpenedPorts { .. }
            | Call::NetworkGet { .. }
            | Call::UnitGet { .. }
            | Call::StateGet { .. }
            | Call::StateSet { .. }
            | Call::StateDelete { .. }
            | Call::OpenPort { .. }
            | Call::ClosePort { .. }
            | Call::GoalState
            | Call::SecretInfoGet { .. }
            | Call::SecretIds
    )
}

fn fail(e: &ToolError) -> Reply {
    Reply {
        stdout: Arc::default(),
        stderr: e.stderr(),
        code: e.exit_code,
        write_to: None,
    }
}

/// `--help`. ops ≤ 3.3 parses `storage-get --help` for the `-s` default (D2).
fn help(tool: Tool) -> String {
    format!(
        "Usage: {} [options]\n\nSummary:\nJuju hook tool served by the juju-tls local model.\n",
        tool.name()
    )
}

/// Renders a value as juju/cmd does for each `--format`.
pub(crate) fn render(v: &Value, format: Format) -> String {
    match format {
        Format::Json => output::to_go_json(v).unwrap_or_else(|_| "null\n".into()),
        Format::Yaml => {
            if v.is_null() {
                String::new()
            } else {
                serde_norway::to_string(v).unwrap_or_default()
            }
        }
        Format::Smart => match v {
            Value::Null => String::new(),
            Value::String(s) if s.is_empty() => String::new(),
            Value::String(s) => format!("{s}\n"),
            Value::Bool(b) => {
                if *b {
                    "True\n".into()
                } else {
                    "False\n".into()
                }
            }
            Value::Array(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| format!("{s}\n"))
                .collect(),
            other => serde_norway::to_string(other).unwrap_or_default(),
        },
    }
}

fn call(
    model: &Model,
    c: &Connection,
    ctx: &HookContext,
    call: &Call,
    stdin: Option<&[u8]>,
    files: &Files,
) -> Result<Option<Output>, ToolError> {
    if let Some(args) = secret_get_args(call) {
        return crate::secrets::get(model, c, ctx, &args).map(|v| v.map(Output::Value));
    }
    let value = match call {
        Call::RelationIds { endpoint } => relations::relation_ids(c, ctx, endpoint.as_deref()),
        Call::RelationList { relation, app } => {
            relations::relation_list(c, ctx, relation.as_ref(), *app)
        }
        Call::RelationGet {
            relation,
            app,
            key,
            target,
        } => {
            return relations::relation_get(
                model,
                c,
                ctx,
                relations::BagRead {
                    relation: relation.as_ref(),
                    app: *app,
                    key: key.as_deref(),
                    target: target.as_deref(),
                },
            )
            .map(Some);
        }
        Call::RelationSet {
            relation,
            app,
            file,
            settings,
        } => relations::relation_set(
            c,
            ctx,
            relation.as_ref(),
            *app,
            file.as_ref(),
            settings,
            stdin,
            files,
        ),
        Call::RelationModelGet { relation } => {
            let r = relations::resolve_relation(c, ctx, relation.as_ref())?;
            // The model of the other side: the peer model for a cross-model relation.
            let uuid = store::crossmodel::link(c, r.id)
                .map_err(store_err)?
                .map_or_else(|| model.uuid().to_owned(), |l| l.peer_uuid);
            Ok(Some(json!({ "uuid": uuid })))
        }
        Call::ConfigGet { all, key } => config::config_get(ctx, *all, key.as_deref()),
        Call::IsLeader => Ok(Some(Value::Bool(is_leader(c, ctx)?))),
        Call::LeaderGet { key } => leader::leader_get(c, ctx, key.as_deref()),
        Call::LeaderSet { settings } => leader::leader_set(c, ctx, settings),
        Call::StatusGet {
            application,
            include_data,
        } => status::status_get(c, ctx, *application, *include_data),
        Call::StatusSet {
            application,
            status,
            message,
        } => status::status_set(
            c,
            ctx,
            *application,
            (*status).into(),
            message.as_deref().unwrap_or(""),
        ),
        Call::ApplicationVersionSet { version } => {
            store::units::set_version(c, &ctx.unit.name, version).map_err(store_err)?;
            Ok(None)
        }
        Call::JujuLog {
            level,
            debug,
            message,
        } => status::juju_log(c, ctx, level.as_deref(), *debug, message),
        Call::ActionGet { key } => actions::action_get(c, ctx, key.as_deref()),
        Call::ActionSet { results } => actions::action_set(ctx, results),
        Call::ActionLog { message } => actions::action_log(c, ctx, message),
        Call::ActionFail { message } => {
            actions::action_id(ctx)?;
            ctx.pending().action_fail = Some(message.clone().unwrap_or_else(|| {
                "action failed without reason given, check action for errors".into()
            }));
            Ok(None)
        }
        Call::SecretAdd {
            meta,
            owner,
            file,
            content,
        } => {
            let content = secrets::secret_content(content, file.as_deref(), files)?;
            crate::secrets::add(model.uuid(), c, ctx, meta, *owner, content)
        }
        Call::SecretSet {
            uri,
            meta,
            file,
            content,
            ..
        } => {
            let content = secrets::secret_content(content, file.as_deref(), files)?;
            crate::secrets::set(c, ctx, uri.xid(), meta, content)
        }
        Call::SecretInfoGet { uri, label } => {
            crate::secrets::info_get(c, ctx, uri.as_ref().map(|u| u.xid()), label.as_deref())
        }
        Call::SecretIds => crate::secrets::ids(c, ctx),
        Call::SecretGrant {
            uri,
            relation,
            unit,
        } => {
            let r = relations::resolve_relation(c, ctx, Some(relation))?;
            crate::secrets::grant(c, ctx, uri.xid(), &r, unit.as_deref())
        }
        Call::SecretRevoke {
            uri,
            relation,
            unit,
            app,
        } => {
            let rel = match relation {
                Some(r) => Some(relations::resolve_relation(c, ctx, Some(r))?.id),
                None => None,
            };
            crate::secrets::revoke(c, ctx, uri.xid(), rel, unit.clone().or_else(|| app.clone()))
        }
        Call::SecretRemove { uri, revision } => {
            crate::secrets::remove(c, ctx, uri.xid(), revision.map(i64::from))
        }
        Call::OpenPort { port, .. } => {
            ctx.pending().ports.push((true, port.to_string()));
            Ok(None)
        }
        Call::ClosePort { port, .. } => {
            ctx.pending().ports.push((false, port.to_string()));
            Ok(None)
        }
        Call::OpenedPorts { endpoints } => {
            // Committed state only, not this hook's pending changes (§6.6).
            let ports = store::units::ports(c, &ctx.unit.name).map_err(store_err)?;
            Ok(Some(Value::from(
                ports
                    .into_iter()
                    .map(|p| if *endpoints { format!("{p} (*)") } else { p })
                    .collect::<Vec<_>>(),
            )))
        }
        Call::NetworkGet {
            binding,
            relation,
            ingress_address,
            bind_address,
            egress_subnets,
        } => unit::network_get(
            c,
            ctx,
            binding,
            relation.as_ref(),
            *ingress_address,
            *bind_address,
            *egress_subnets,
        ),
        Call::UnitGet { key } => match key.as_str() {
            "private-address" | "public-address" => {
                Ok(Some(Value::String(ctx.unit.address.clone())))
            }
            other => Err(runtime(format!("unknown setting {other:?}"))),
        },
        Call::StateGet { key, strict } => unit::state_get(c, ctx, key.as_deref(), *strict),
        Call::StateSet { file, settings } => {
            let mut map = read_settings(file.as_ref(), stdin, files)?;
            for (k, v) in settings {
                map.insert(k.clone(), v.clone());
            }
            let mut p = ctx.pending();
            for (k, v) in map {
                p.state.push((k, (!v.is_empty()).then_some(v)));
            }
            Ok(None)
        }
        Call::StateDelete { key } => {
            ctx.pending().state.push((key.clone(), None));
            Ok(None)
        }
        Call::StorageList { .. } => Ok(Some(Value::Array(Vec::new()))),
        Call::StorageGet { storage, .. } => Err(runtime(format!(
            "storage {:?} not found: the local model attaches no storage",
            storage.clone().unwrap_or_default()
        ))),
        Call::StorageAdd { .. } => Err(runtime("the local model does not provide storage")),
        Call::GoalState => unit::goal_state(c, ctx),
        Call::ResourceGet { name } => Err(runtime(format!(
            "could not download resource {name:?}: the local model has no resources"
        ))),
        Call::JujuReboot { .. } => Ok(None),
        _ => Err(runtime(
            "this hook tool is not supported by the local model",
        )),
    };
    value.map(|v| v.map(Output::Value))
}

/// A file the call names, as the shim sent it. Never read here: the server runs as the model
/// owner and must not open a path a caller chose.
pub(super) fn caller_file<'a>(files: &'a Files, path: &str) -> Result<&'a [u8], ToolError> {
    match files.get(path) {
        Some(CallerFile::Contents(b)) => Ok(b),
        Some(CallerFile::Unreadable(e)) => Err(runtime(format!("cannot read {path}: {e}"))),
        None => Err(runtime(format!(
            "cannot read {path}: the hook tool did not send its contents"
        ))),
    }
}

/// The settings map of `relation-set` / `state-set --file` (a caller file or stdin).
pub(super) fn read_settings(
    file: Option<&FileArg>,
    stdin: Option<&[u8]>,
    files: &Files,
) -> Result<BTreeMap<String, String>, ToolError> {
    let bytes = match file {
        None => return Ok(BTreeMap::new()),
        Some(FileArg::Stdin) => stdin.unwrap_or_default(),
        Some(FileArg::Path(p)) => caller_file(files, p)?,
    };
    hook_tools::settings::decode(bytes)
        .map_err(|e| ToolError::usage(format!("invalid settings: {e}")))
}
