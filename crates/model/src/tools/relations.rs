//! Relation tools: `relation-ids`, `relation-list`, `relation-get`, `relation-set`; what a
//! unit may name and see of each relation.

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::error::msg;
use hook_tools::values::FileArg;
use hook_tools::{RelationHook, RelationRef, ToolError};
use rusqlite::Connection;
use serde_json::Value;

use super::{Files, Output, ToolResult, is_leader, read_settings, runtime, store_err};
use crate::context::{BagWrite, HookContext};
use crate::model::Model;
use crate::store::{self, Relation};

/// The relations this unit may name: those whose relation-created it committed (it is in
/// scope), plus the relation of the current hook.
pub(super) fn known_relation(
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
pub(super) fn resolve_relation(
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

pub(super) fn relation_ids(
    c: &Connection,
    ctx: &HookContext,
    endpoint: Option<&str>,
) -> ToolResult {
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
pub(super) fn listed_units(
    c: &Connection,
    ctx: &HookContext,
    r: &Relation,
) -> Result<Vec<String>, ToolError> {
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

pub(super) fn relation_list(
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
pub(super) fn bag_view(
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

/// What a `relation-get` names: the relation (`-r`), `--app`, the key (`-` or none: all)
/// and the unit or application whose bag it reads.
pub(super) struct BagRead<'a> {
    pub(super) relation: Option<&'a RelationRef>,
    pub(super) app: bool,
    pub(super) key: Option<&'a str>,
    pub(super) target: Option<&'a str>,
}

/// `relation-get`. A bag this hook has not written is answered from the model's bag cache
/// (the same bag for every reader, read and rendered once per revision); one it wrote is read
/// with its pending writes over it, as Juju's own context does.
pub(super) fn relation_get(
    model: &Model,
    c: &Connection,
    ctx: &HookContext,
    read: BagRead<'_>,
) -> Result<Output, ToolError> {
    let BagRead {
        relation,
        app,
        key,
        target,
    } = read;
    let r = resolve_relation(c, ctx, relation)?;
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
    let written = (owner == ctx.unit.name || owner == ctx.app.name)
        && ctx
            .pending()
            .bag_writes
            .iter()
            .any(|w| w.relation_id == r.id && w.owner == owner);
    if !written {
        let bag = model
            .bag_cache()
            .bag(c, r.id, &owner, key)
            .map_err(store_err)?;
        return Ok(Output::Bag(bag));
    }
    let bag = bag_view(c, ctx, r.id, &owner)?;
    Ok(Output::Value(match key {
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

#[allow(clippy::too_many_arguments)]
pub(super) fn relation_set(
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
