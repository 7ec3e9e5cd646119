//! Serves one hook-tool call: parses argv with the shared `hook-tools` grammar (all three ops
//! calling conventions), answers from the store plus the hook's own buffered writes, and renders
//! the answer in the requested format with Juju's error texts and exit codes.

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::error::msg;
use hook_tools::output::{
    self, BindAddress, InterfaceAddress, NetworkInfo, SecretInfo, StatusInfo,
};
use hook_tools::values::{FileArg, Format, SecretOwner, SecretValue};
use hook_tools::{Call, Parsed, RelationHook, RelationRef, Tool, ToolError};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::context::{BagWrite, HookContext};
use crate::hook_tool_server::CallerFile;
use crate::model::Model;
use crate::store::{self, Relation, WorkloadStatus};

/// What the shim prints and exits with.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// Bytes for stdout.
    pub stdout: String,
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

fn runtime(m: impl Into<String>) -> ToolError {
    ToolError::runtime(m)
}

fn store_err(e: impl std::fmt::Display) -> ToolError {
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
                stdout: help(tool),
                ..Reply::default()
            };
        }
        Parsed::Run(inv) => inv,
    };
    let tool = Tool::from_argv0(&argv[0]);
    let result = {
        let db = model.db();
        call(model, &db, ctx, &inv.call, stdin, files)
    };
    match result {
        Err(e) => fail(&e),
        Ok(None) => Reply::default(),
        Ok(Some(v)) => {
            let default = match tool {
                Some(Tool::SecretGet | Tool::SecretInfoGet | Tool::GoalState) => Format::Yaml,
                _ => Format::Smart,
            };
            let format = inv.format.unwrap_or(default);
            // Many units read the same large bag (a provider's certificates): rendered once.
            let text = if matches!(inv.call, Call::RelationGet { .. }) {
                crate::render_memo::render_memoized(&v, format, render)
            } else {
                render(&v, format)
            };
            Reply {
                stdout: text,
                write_to: inv.output,
                ..Reply::default()
            }
        }
    }
}

fn fail(e: &ToolError) -> Reply {
    Reply {
        stdout: String::new(),
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
) -> ToolResult {
    match call {
        Call::RelationIds { endpoint } => relation_ids(c, ctx, endpoint.as_deref()),
        Call::RelationList { relation, app } => relation_list(c, ctx, relation.as_ref(), *app),
        Call::RelationGet {
            relation,
            app,
            key,
            target,
        } => relation_get(
            c,
            ctx,
            relation.as_ref(),
            *app,
            key.as_deref(),
            target.as_deref(),
        ),
        Call::RelationSet {
            relation,
            app,
            file,
            settings,
        } => relation_set(
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
            resolve_relation(c, ctx, relation.as_ref())?;
            Ok(Some(json!({ "uuid": model.uuid() })))
        }
        Call::ConfigGet { all, key } => config_get(ctx, *all, key.as_deref()),
        Call::IsLeader => Ok(Some(Value::Bool(is_leader(c, ctx)?))),
        Call::LeaderGet { key } => leader_get(c, ctx, key.as_deref()),
        Call::LeaderSet { settings } => leader_set(c, ctx, settings),
        Call::StatusGet {
            application,
            include_data,
        } => status_get(c, ctx, *application, *include_data),
        Call::StatusSet {
            application,
            status,
            message,
        } => status_set(
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
        } => juju_log(c, ctx, level.as_deref(), *debug, message),
        Call::ActionGet { key } => action_get(c, ctx, key.as_deref()),
        Call::ActionSet { results } => action_set(ctx, results),
        Call::ActionLog { message } => action_log(c, ctx, message),
        Call::ActionFail { message } => {
            action_id(ctx)?;
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
            let content = secret_content(content, file.as_deref(), files)?;
            crate::secrets::add(model.uuid(), c, ctx, meta, *owner, content)
        }
        Call::SecretSet {
            uri,
            meta,
            file,
            content,
            ..
        } => {
            let content = secret_content(content, file.as_deref(), files)?;
            crate::secrets::set(c, ctx, uri.xid(), meta, content)
        }
        Call::SecretGet {
            uri,
            key,
            label,
            refresh,
            peek,
        } => crate::secrets::get(
            c,
            ctx,
            uri.as_ref().map(|u| u.xid()),
            key.as_deref(),
            label.as_deref(),
            *refresh,
            *peek,
        ),
        Call::SecretInfoGet { uri, label } => {
            crate::secrets::info_get(c, ctx, uri.as_ref().map(|u| u.xid()), label.as_deref())
        }
        Call::SecretIds => crate::secrets::ids(c, ctx),
        Call::SecretGrant {
            uri,
            relation,
            unit,
        } => {
            let r = resolve_relation(c, ctx, Some(relation))?;
            crate::secrets::grant(c, ctx, uri.xid(), &r, unit.as_deref())
        }
        Call::SecretRevoke {
            uri,
            relation,
            unit,
            app,
        } => {
            let rel = match relation {
                Some(r) => Some(resolve_relation(c, ctx, Some(r))?.id),
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
        } => network_get(
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
        Call::StateGet { key, strict } => state_get(c, ctx, key.as_deref(), *strict),
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
        Call::GoalState => goal_state(c, ctx),
        Call::ResourceGet { name } => Err(runtime(format!(
            "could not download resource {name:?}: the local model has no resources"
        ))),
        Call::JujuReboot { .. } => Ok(None),
        _ => Err(runtime(
            "this hook tool is not supported by the local model",
        )),
    }
}

// ---- relations ---------------------------------------------------------------------------

/// The relations this unit may name: those whose relation-created it committed (it is in
/// scope), plus the relation of the current hook.
fn known_relation(
    c: &Connection,
    ctx: &HookContext,
    id: i64,
) -> Result<Option<Relation>, ToolError> {
    if let Some(r) = &ctx.relation {
        if r.id == id {
            return Ok(store::relation(c, id)
                .map_err(store_err)?
                .or_else(|| Some(r.clone())));
        }
    }
    let Some(r) = store::relation(c, id).map_err(store_err)? else {
        return Ok(None);
    };
    let in_scope = store::scope(c, id)
        .map_err(store_err)?
        .contains(&ctx.unit.name);
    Ok((r.involves(&ctx.app.name) && in_scope).then_some(r))
}

/// `-r` or the context relation. Juju validates `-r` while parsing, so failures exit 2.
fn resolve_relation(
    c: &Connection,
    ctx: &HookContext,
    r: Option<&RelationRef>,
) -> Result<Relation, ToolError> {
    match r {
        Some(r) => known_relation(c, ctx, i64::from(r.id))?
            .ok_or_else(|| ToolError::usage(msg::relation_not_found(&r.to_string()))),
        None => ctx
            .relation
            .clone()
            .ok_or_else(|| ToolError::usage(msg::NO_RELATION_ID)),
    }
}

fn relation_ids(c: &Connection, ctx: &HookContext, endpoint: Option<&str>) -> ToolResult {
    let endpoint = match endpoint {
        Some(e) => e.to_owned(),
        None => ctx
            .relation
            .as_ref()
            .map(|r| r.endpoint_of(&ctx.app.name).to_owned())
            .ok_or_else(|| ToolError::usage(msg::NO_RELATION_ID))?,
    };
    let broken = (ctx.relation_kind() == Some(RelationHook::Broken))
        .then_some(ctx.hook.relation_id)
        .flatten();
    let mut ids: Vec<String> = Vec::new();
    for r in store::relations(c).map_err(store_err)? {
        if !r.involves(&ctx.app.name)
            || r.endpoint_of(&ctx.app.name) != endpoint
            || Some(r.id) == broken
        {
            continue;
        }
        let in_scope = store::scope(c, r.id)
            .map_err(store_err)?
            .contains(&ctx.unit.name);
        if in_scope || ctx.hook.relation_id == Some(r.id) {
            ids.push(format!("{endpoint}:{}", r.id));
        }
    }
    ids.sort();
    Ok(Some(Value::from(ids)))
}

/// What `relation-list` shows this unit: the units whose joined hook it ran (the joining unit
/// already during its joined hook; the departing one no longer during departed; nobody in broken).
fn listed_units(c: &Connection, ctx: &HookContext, r: &Relation) -> Result<Vec<String>, ToolError> {
    let current = ctx.hook.relation_id == Some(r.id);
    if current && ctx.relation_kind() == Some(RelationHook::Broken) {
        return Ok(Vec::new());
    }
    let mut units: BTreeSet<String> = store::seen(c, r.id, &ctx.unit.name)
        .map_err(store_err)?
        .into_iter()
        .collect();
    if current && ctx.relation_kind() == Some(RelationHook::Joined) {
        units.insert(ctx.hook.remote_unit.clone());
    }
    if current && ctx.relation_kind() == Some(RelationHook::Departed) {
        units.remove(&ctx.hook.remote_unit);
    }
    Ok(units.into_iter().collect())
}

fn relation_list(
    c: &Connection,
    ctx: &HookContext,
    rel: Option<&RelationRef>,
    app: bool,
) -> ToolResult {
    let r = resolve_relation(c, ctx, rel)?;
    if app {
        return Ok(Some(Value::String(r.other_app(&ctx.app.name).to_owned())));
    }
    Ok(Some(Value::from(listed_units(c, ctx, &r)?)))
}

/// A bag as this unit sees it: committed values, plus this hook's writes for its own bags.
fn bag_view(
    c: &Connection,
    ctx: &HookContext,
    rel: i64,
    owner: &str,
) -> Result<BTreeMap<String, String>, ToolError> {
    let mut bag = store::bag(c, rel, owner).map_err(store_err)?;
    if owner == ctx.unit.name || owner == ctx.app.name {
        for w in ctx
            .pending()
            .bag_writes
            .iter()
            .filter(|w| w.relation_id == rel && w.owner == owner)
        {
            if w.value.is_empty() {
                bag.remove(&w.key);
            } else {
                bag.insert(w.key.clone(), w.value.clone());
            }
        }
    }
    Ok(bag)
}

fn relation_get(
    c: &Connection,
    ctx: &HookContext,
    rel: Option<&RelationRef>,
    app: bool,
    key: Option<&str>,
    target: Option<&str>,
) -> ToolResult {
    let r = resolve_relation(c, ctx, rel)?;
    let current = ctx.hook.relation_id == Some(r.id);
    let remote_unit = if current {
        ctx.hook.remote_unit.as_str()
    } else {
        ""
    };
    let (owner, is_app) = match (target, app) {
        (Some(t), true) => (t.split('/').next().unwrap_or(t).to_owned(), true),
        (Some(t), false) if !t.contains('/') => return Err(runtime(msg::expected_unit_name(t))),
        (Some(t), false) => (t.to_owned(), false),
        (None, true) => (r.other_app(&ctx.app.name).to_owned(), true),
        (None, false) if !remote_unit.is_empty() => (remote_unit.to_owned(), false),
        (None, false) if current => (r.other_app(&ctx.app.name).to_owned(), true),
        (None, false) => return Err(ToolError::usage(msg::NO_UNIT_OR_APP)),
    };
    let owner_app = owner.split('/').next().unwrap_or(&owner).to_owned();
    if !r.involves(&owner_app) {
        return Err(runtime(format!(
            "cannot read settings for {owner:?} in relation {}: not a member",
            r.id
        )));
    }
    if is_app && owner_app == ctx.app.name && !r.peer && !is_leader(c, ctx)? {
        return Err(runtime(msg::PERMISSION_DENIED));
    }
    let bag = bag_view(c, ctx, r.id, &owner)?;
    Ok(Some(match key {
        Some(k) => bag
            .get(k)
            .map(|v| Value::String(v.clone()))
            .unwrap_or(Value::Null),
        None => Value::Object(
            bag.into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
    }))
}

fn read_settings(
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

#[allow(clippy::too_many_arguments)]
fn relation_set(
    c: &Connection,
    ctx: &HookContext,
    rel: Option<&RelationRef>,
    app: bool,
    file: Option<&FileArg>,
    settings: &[(String, String)],
    stdin: Option<&[u8]>,
    files: &Files,
) -> ToolResult {
    let r = resolve_relation(c, ctx, rel)?;
    let mut map = read_settings(file, stdin, files)?;
    for (k, v) in settings {
        map.insert(k.clone(), v.clone());
    }
    if app && !is_leader(c, ctx)? {
        return Err(runtime(msg::CANNOT_WRITE_RELATION_SETTINGS));
    }
    if app
        && ctx.relation_kind() == Some(RelationHook::Broken)
        && ctx.hook.relation_id == Some(r.id)
    {
        return Err(runtime(msg::CANNOT_READ_APP_SETTINGS));
    }
    let owner = if app {
        ctx.app.name.clone()
    } else {
        ctx.unit.name.clone()
    };
    let mut p = ctx.pending();
    for (key, value) in map {
        p.bag_writes.push(BagWrite {
            relation_id: r.id,
            owner: owner.clone(),
            key,
            value,
        });
    }
    Ok(None)
}

// ---- config, leadership, status, logs ------------------------------------------------------

fn config_get(ctx: &HookContext, all: bool, key: Option<&str>) -> ToolResult {
    let mut cfg = ctx.app.meta.effective_config(&ctx.app.config);
    if all {
        for k in ctx.app.meta.config.keys() {
            cfg.entry(k.clone()).or_insert(Value::Null);
        }
    }
    Ok(Some(match key {
        Some(k) => cfg.get(k).cloned().unwrap_or(Value::Null),
        None => Value::Object(cfg.into_iter().collect()),
    }))
}

/// Leadership as the store has it now, sticky-false within the hook.
pub(crate) fn is_leader(c: &Connection, ctx: &HookContext) -> Result<bool, ToolError> {
    let mut p = ctx.pending();
    if p.minion {
        return Ok(false);
    }
    let leader = store::unit(c, &ctx.unit.name)
        .map_err(store_err)?
        .is_some_and(|u| u.leader && !u.dying);
    if !leader {
        p.minion = true;
    }
    Ok(leader)
}

fn leader_get(c: &Connection, ctx: &HookContext, key: Option<&str>) -> ToolResult {
    let map = store::apps::leader_settings(c, &ctx.app.name).map_err(store_err)?;
    Ok(Some(match key {
        Some(k) => map
            .get(k)
            .map(|v| Value::String(v.clone()))
            .unwrap_or(Value::Null),
        None => json!(map),
    }))
}

/// Leader settings take effect immediately (§3.4), and non-leaders get
/// leader-settings-changed.
fn leader_set(c: &Connection, ctx: &HookContext, settings: &[(String, String)]) -> ToolResult {
    if !is_leader(c, ctx)? {
        return Err(runtime(msg::LEADER_SET_NOT_LEADER));
    }
    let mut map = store::apps::leader_settings(c, &ctx.app.name).map_err(store_err)?;
    let before = map.clone();
    for (k, v) in settings {
        if v.is_empty() {
            map.remove(k);
        } else {
            map.insert(k.clone(), v.clone());
        }
    }
    if map != before {
        store::apps::set_leader_settings(c, &ctx.app.name, &map).map_err(store_err)?;
        crate::lifecycle::leader_settings_changed(c, &ctx.app.name).map_err(store_err)?;
    }
    Ok(None)
}

fn status_get(
    c: &Connection,
    ctx: &HookContext,
    application: bool,
    _include_data: bool,
) -> ToolResult {
    if application {
        if !is_leader(c, ctx)? {
            return Err(runtime(msg::APP_STATUS_NOT_LEADER));
        }
        let app = store::app(c, &ctx.app.name)
            .map_err(store_err)?
            .unwrap_or_else(|| ctx.app.clone());
        let mut units = BTreeMap::new();
        for u in store::app_units(c, &ctx.app.name).map_err(store_err)? {
            units.insert(
                u.name.clone(),
                StatusInfo {
                    message: u.message,
                    status: u.status.as_str().to_owned(),
                    status_data: Default::default(),
                },
            );
        }
        let out = output::ApplicationStatusOutput {
            application_status: output::ApplicationStatus {
                message: app.message,
                status: app.status.as_str().to_owned(),
                status_data: Default::default(),
                units,
            },
        };
        return Ok(Some(serde_json::to_value(out).map_err(store_err)?));
    }
    let u = store::unit(c, &ctx.unit.name)
        .map_err(store_err)?
        .unwrap_or_else(|| ctx.unit.clone());
    Ok(Some(
        serde_json::to_value(StatusInfo {
            message: u.message,
            status: u.status.as_str().to_owned(),
            status_data: Default::default(),
        })
        .map_err(store_err)?,
    ))
}

/// Status is immediate and survives a failed hook (§3.4).
fn status_set(
    c: &Connection,
    ctx: &HookContext,
    application: bool,
    status: WorkloadStatus,
    message: &str,
) -> ToolResult {
    if application {
        if !is_leader(c, ctx)? {
            return Err(runtime(msg::NOT_LEADER));
        }
        store::apps::set_status(c, &ctx.app.name, status, message).map_err(store_err)?;
    } else {
        store::units::set_charm_status(c, &ctx.unit.name, status, message).map_err(store_err)?;
    }
    Ok(None)
}

fn juju_log(
    c: &Connection,
    ctx: &HookContext,
    level: Option<&str>,
    debug: bool,
    message: &str,
) -> ToolResult {
    let level = if debug {
        "DEBUG".to_owned()
    } else {
        level.unwrap_or("INFO").to_uppercase()
    };
    let level =
        if ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].contains(&level.as_str()) {
            level
        } else {
            "INFO".into()
        };
    let message = match (&ctx.relation, ctx.hook.relation_id) {
        (Some(r), Some(id)) => format!("{}:{id}: {message}", r.endpoint_of(&ctx.app.name)),
        _ => message.to_owned(),
    };
    if level == "ERROR" || level == "CRITICAL" {
        ctx.pending().error_lines.push(message.clone());
    }
    let now = crate::model::now_in(c).map_err(store_err)?;
    store::log(c, now, &ctx.unit.name, &level, &message).map_err(store_err)?;
    Ok(None)
}

// ---- actions -----------------------------------------------------------------------------

fn action_id(ctx: &HookContext) -> Result<i64, ToolError> {
    ctx.hook
        .action_id
        .ok_or_else(|| runtime(msg::NOT_RUNNING_ACTION))
}

fn action_get(c: &Connection, ctx: &HookContext, key: Option<&str>) -> ToolResult {
    let id = action_id(ctx)?;
    let params = store::actions::params(c, id).map_err(store_err)?;
    Ok(Some(match key {
        None => params,
        Some(path) => path
            .split('.')
            .try_fold(&params, |v, k| v.get(k))
            .cloned()
            .unwrap_or(Value::Null),
    }))
}

fn valid_result_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn action_set(ctx: &HookContext, results: &[(String, String)]) -> ToolResult {
    action_id(ctx)?;
    for (k, _) in results {
        if !k.split('.').all(valid_result_key) {
            return Err(ToolError::usage(format!(
                "key {k:?} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
            )));
        }
        let top = k.split('.').next().unwrap_or(k);
        if ["stdout", "stdout-encoding", "stderr", "stderr-encoding"].contains(&top) {
            return Err(ToolError::usage(format!(
                "cannot set reserved action key \"{top}\""
            )));
        }
    }
    let mut p = ctx.pending();
    for (k, v) in results {
        let mut map = &mut p.action_results;
        let parts: Vec<&str> = k.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let entry = map.entry((*part).to_owned()).or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            let Value::Object(inner) = entry else {
                unreachable!("just made an object")
            };
            map = inner;
        }
        map.insert(parts[parts.len() - 1].to_owned(), Value::String(v.clone()));
    }
    Ok(None)
}

/// action-log is immediate (§3.4).
fn action_log(c: &Connection, ctx: &HookContext, message: &str) -> ToolResult {
    let id = action_id(ctx)?;
    store::actions::append_log(c, id, message).map_err(store_err)?;
    Ok(None)
}

// ---- secrets content ---------------------------------------------------------------------

/// A file the call names, as the shim sent it. Never read here: the server runs as the model
/// owner and must not open a path a caller chose.
fn caller_file<'a>(files: &'a Files, path: &str) -> Result<&'a [u8], ToolError> {
    match files.get(path) {
        Some(CallerFile::Contents(b)) => Ok(b),
        Some(CallerFile::Unreadable(e)) => Err(runtime(format!("cannot read {path}: {e}"))),
        None => Err(runtime(format!(
            "cannot read {path}: the hook tool did not send its contents"
        ))),
    }
}

/// Reads content arguments; `key#file=` files were read by the shim, during the call: ops deletes them
/// right after (§8.5).
fn secret_content(
    args: &[hook_tools::values::SecretContentArg],
    file: Option<&str>,
    files: &Files,
) -> Result<BTreeMap<String, String>, ToolError> {
    let mut out = BTreeMap::new();
    if let Some(f) = file {
        let bytes = caller_file(files, f)?;
        out.extend(
            hook_tools::settings::decode(bytes)
                .map_err(|e| ToolError::usage(format!("invalid secret file: {e}")))?,
        );
    }
    for a in args {
        let value = match &a.value {
            SecretValue::Inline(v) => v.clone(),
            SecretValue::Base64(v) => decode_base64(v)
                .ok_or_else(|| ToolError::usage(format!("invalid base64 value for {:?}", a.key)))?,
            SecretValue::File(p) => String::from_utf8_lossy(caller_file(files, p)?).into_owned(),
        };
        out.insert(a.key.clone(), value);
    }
    Ok(out)
}

fn decode_base64(s: &str) -> Option<String> {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for ch in s.trim_end_matches('=').bytes() {
        let v = T.iter().position(|t| *t == ch)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The `secret-info-get` entry of a secret.
pub(crate) fn secret_info(
    owner_unit: bool,
    label: Option<String>,
    description: String,
    rotate: String,
    revision: i64,
    expiry: Option<i64>,
) -> SecretInfo {
    SecretInfo {
        revision: revision.max(0) as u32,
        label: label.unwrap_or_default(),
        owner: if owner_unit {
            "unit".into()
        } else {
            "application".into()
        },
        description: (!description.is_empty()).then_some(description),
        rotation: (!rotate.is_empty() && rotate != "never").then_some(rotate),
        expiry: expiry.map(crate::clock::format_rfc3339),
        rotates: None,
        access: Vec::new(),
    }
}

/// The owner spelled as `--owner` takes it.
pub(crate) fn wants_unit_owner(owner: Option<SecretOwner>) -> bool {
    matches!(owner, Some(SecretOwner::Unit))
}

// ---- network, state, goal state ------------------------------------------------------------

fn network_get(
    c: &Connection,
    ctx: &HookContext,
    binding: &str,
    rel: Option<&RelationRef>,
    ingress: bool,
    bind: bool,
    egress: bool,
) -> ToolResult {
    if let Some(r) = rel {
        known_relation(c, ctx, i64::from(r.id))?
            .ok_or_else(|| ToolError::usage(msg::relation_not_found(&r.to_string())))?;
    }
    if ctx.app.meta.endpoint(binding).is_none() {
        return Err(runtime(msg::no_network_config(binding)));
    }
    let addr = ctx.unit.address.clone();
    let cidr = format!("{addr}/32");
    if ingress {
        return Ok(Some(Value::from(vec![addr])));
    }
    if bind {
        return Ok(Some(Value::String(addr)));
    }
    if egress {
        return Ok(Some(Value::from(vec![cidr])));
    }
    let info = NetworkInfo {
        bind_addresses: vec![BindAddress {
            mac_address: String::new(),
            interface_name: "lo".into(),
            addresses: vec![InterfaceAddress {
                hostname: String::new(),
                value: addr.clone(),
                cidr: cidr.clone(),
            }],
        }],
        egress_subnets: vec![cidr],
        ingress_addresses: vec![addr],
    };
    Ok(Some(serde_json::to_value(info).map_err(store_err)?))
}

fn state_get(c: &Connection, ctx: &HookContext, key: Option<&str>, strict: bool) -> ToolResult {
    let mut map = store::units::state(c, &ctx.unit.name).map_err(store_err)?;
    for (k, v) in &ctx.pending().state {
        match v {
            Some(v) => map.insert(k.clone(), v.clone()),
            None => map.remove(k),
        };
    }
    match key {
        None => Ok(Some(if map.is_empty() {
            Value::Null
        } else {
            json!(map)
        })),
        Some(k) => match map.get(k) {
            Some(v) => Ok(Some(Value::String(v.clone()))),
            None if strict => Err(runtime(format!("key {k:?} not found"))),
            None => Ok(Some(Value::String(String::new()))),
        },
    }
}

fn since(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn goal_state(c: &Connection, ctx: &HookContext) -> ToolResult {
    // `since` is virtual time, like everything a charm sees.
    let now = since(crate::model::now_in(c).map_err(store_err)?);
    let entry = |status: &str| json!({ "status": status, "since": now });
    let mut units = serde_json::Map::new();
    for u in store::app_units(c, &ctx.app.name).map_err(store_err)? {
        units.insert(
            u.name.clone(),
            entry(if u.dying { "dying" } else { u.status.as_str() }),
        );
    }
    let mut relations = serde_json::Map::new();
    for r in store::relations(c)
        .map_err(store_err)?
        .into_iter()
        .filter(|r| r.involves(&ctx.app.name) && !r.peer)
    {
        let other = r.other_app(&ctx.app.name);
        let mut m = serde_json::Map::new();
        m.insert(
            other.to_owned(),
            entry(if r.dying { "dying" } else { "joined" }),
        );
        for u in store::app_units(c, other).map_err(store_err)? {
            m.insert(
                u.name.clone(),
                entry(if u.dying { "dying" } else { u.status.as_str() }),
            );
        }
        let ep = r.endpoint_of(&ctx.app.name).to_owned();
        match relations.get_mut(&ep) {
            Some(Value::Object(existing)) => existing.extend(m),
            _ => {
                relations.insert(ep, Value::Object(m));
            }
        }
    }
    Ok(Some(json!({ "units": units, "relations": relations })))
}
