//! `status-get`, `status-set` and `juju-log`.

use std::collections::BTreeMap;

use hook_tools::error::msg;
use hook_tools::output::{self, StatusInfo};
use rusqlite::Connection;

use super::{ToolResult, is_leader, runtime, store_err};
use crate::context::HookContext;
use crate::store::{self, WorkloadStatus};

pub(super) fn status_get(
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
pub(super) fn status_set(
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

pub(super) fn juju_log(
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
