//! Leadership: `is-leader` (sticky within a hook), `leader-get`, `leader-set`.

use hook_tools::ToolError;
use hook_tools::error::msg;
use rusqlite::Connection;
use serde_json::{Value, json};

use super::{ToolResult, runtime, store_err};
use crate::context::HookContext;
use crate::store::{self};

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

pub(super) fn leader_get(c: &Connection, ctx: &HookContext, key: Option<&str>) -> ToolResult {
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
pub(super) fn leader_set(
    c: &Connection,
    ctx: &HookContext,
    settings: &[(String, String)],
) -> ToolResult {
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
