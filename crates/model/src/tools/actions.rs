//! Action tools: `action-get`, `action-set`, `action-log`, `action-fail`.

use hook_tools::ToolError;
use hook_tools::error::msg;
use rusqlite::Connection;
use serde_json::{Value, json};

use super::{ToolResult, runtime, store_err};
use crate::context::HookContext;
use crate::store::{self};

pub(super) fn action_id(ctx: &HookContext) -> Result<i64, ToolError> {
    ctx.hook
        .action_id
        .ok_or_else(|| runtime(msg::NOT_RUNNING_ACTION))
}

pub(super) fn action_get(c: &Connection, ctx: &HookContext, key: Option<&str>) -> ToolResult {
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

pub(super) fn action_set(ctx: &HookContext, results: &[(String, String)]) -> ToolResult {
    action_id(ctx)?;
    for (k, _) in results {
        hook_tools::check_action_key(k).map_err(|e| ToolError::usage(e.to_string()))?;
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
pub(super) fn action_log(c: &Connection, ctx: &HookContext, message: &str) -> ToolResult {
    let id = action_id(ctx)?;
    store::actions::append_log(c, id, message).map_err(store_err)?;
    Ok(None)
}
