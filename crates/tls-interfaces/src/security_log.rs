//! Security events as JSON lines in the OWASP logging vocabulary, like the Python library's
//! `_OWASPLogger`: `{"datetime", "appid", "event", "level", "description", ...labels}`.
//! Several events go out in one `juju-log` call (one JSON line each): a provider hook that issues
//! a thousand certificates logs a thousand events without a thousand tool calls.

use std::collections::BTreeMap;

use charm::{LogLevel, Model};
use serde::Serialize;

/// One security event.
#[derive(Debug, Clone)]
pub(crate) struct SecurityEvent {
    pub(crate) level: LogLevel,
    pub(crate) event: &'static str,
    pub(crate) description: &'static str,
    pub(crate) labels: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct Line<'a> {
    datetime: &'a str,
    appid: &'a str,
    event: &'a str,
    level: &'a str,
    description: &'a str,
    #[serde(flatten)]
    labels: BTreeMap<&'a str, &'a str>,
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Warning => "WARNING",
        LogLevel::Error => "ERROR",
        LogLevel::Critical => "CRITICAL",
        LogLevel::Debug | LogLevel::Trace => "DEBUG",
        LogLevel::Info => "INFO",
    }
}

/// Logs one security event; a logging failure never fails the hook.
pub(crate) fn log(model: &mut Model<'_>, event: SecurityEvent) {
    log_many(model, &[event]);
}

/// Logs several events in one call, at the most severe of their levels.
pub(crate) fn log_many(model: &mut Model<'_>, events: &[SecurityEvent]) {
    if events.is_empty() {
        return;
    }
    let app = format!("tls-certificates-{}", model.app());
    let datetime = crate::time_fmt::rfc3339(model.now());
    let mut lines = Vec::with_capacity(events.len());
    let mut worst = LogLevel::Info;
    for e in events {
        worst = worst.max(e.level);
        let mut labels: BTreeMap<&str, &str> =
            e.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        labels.entry("application").or_insert(app.as_str());
        let line = Line {
            datetime: &datetime,
            appid: &app,
            event: e.event,
            level: level_name(e.level),
            description: e.description,
            labels,
        };
        lines.push(serde_json::to_string(&line).unwrap_or_default());
    }
    let _ = model.log(worst, &lines.join("\n"));
}
