//! `config-get`.

use serde_json::Value;

use super::ToolResult;
use crate::context::HookContext;

pub(super) fn config_get(ctx: &HookContext, all: bool, key: Option<&str>) -> ToolResult {
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
