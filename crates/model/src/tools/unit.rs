//! The unit's own view: `network-get`, `state-get`, `goal-state`.

use hook_tools::error::msg;
use hook_tools::output::NetworkInfo;
use hook_tools::{RelationRef, ToolError};
use rusqlite::Connection;
use serde_json::{Value, json};

use super::relations::known_relation;
use super::{ToolResult, runtime, store_err};
use crate::context::HookContext;
use crate::store::{self};

pub(super) fn network_get(
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
    if !ctx.app.meta.has_binding(binding) {
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
    let info = NetworkInfo::loopback(&addr);
    Ok(Some(serde_json::to_value(info).map_err(store_err)?))
}

pub(super) fn state_get(
    c: &Connection,
    ctx: &HookContext,
    key: Option<&str>,
    strict: bool,
) -> ToolResult {
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

pub(super) fn since(secs: i64) -> String {
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

pub(super) fn goal_state(c: &Connection, ctx: &HookContext) -> ToolResult {
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
