//! Security events as JSON lines in the OWASP logging vocabulary, like the Python library's
//! `_OWASPLogger`: `{"datetime", "appid", "event", "level", "description", ...labels}`.
//! Several events go out in one `juju-log` call (one JSON line each): a provider hook that issues
//! a thousand certificates logs a thousand events without a thousand tool calls. At most
//! [`MAX_EVENTS_PER_HOOK`] events are written one by one; the rest are counted in one summary
//! event (`security_events_summarized`), so a flood cannot flood the log.

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

/// Events written one by one per call; the rest are summarized.
pub(crate) const MAX_EVENTS_PER_HOOK: usize = 10;

/// The first [`MAX_EVENTS_PER_HOOK`] events, then one summary counting the rest by event name.
pub(crate) fn bounded(events: &[SecurityEvent]) -> Vec<SecurityEvent> {
    let mut out: Vec<SecurityEvent> = events.iter().take(MAX_EVENTS_PER_HOOK).cloned().collect();
    let rest = events.get(MAX_EVENTS_PER_HOOK..).unwrap_or_default();
    if !rest.is_empty() {
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut level = LogLevel::Info;
        for e in rest {
            *counts.entry(e.event).or_default() += 1;
            level = level.max(e.level);
        }
        let mut labels = vec![("count", rest.len().to_string())];
        labels.extend(counts.into_iter().map(|(k, n)| (k, n.to_string())));
        out.push(SecurityEvent {
            level,
            event: "security_events_summarized",
            description: "More security events in this hook, counted by event",
            labels,
        });
    }
    out
}

/// Logs several events in one call, at the most severe of their levels (bounded: see
/// [`bounded`]).
pub(crate) fn log_many(model: &mut Model<'_>, events: &[SecurityEvent]) {
    if events.is_empty() {
        return;
    }
    let events = bounded(events);
    let app = format!("tls-certificates-{}", model.app());
    let datetime = crate::time_fmt::rfc3339(model.now());
    let mut lines = Vec::with_capacity(events.len());
    let mut worst = LogLevel::Info;
    for e in &events {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &'static str) -> SecurityEvent {
        SecurityEvent {
            level: LogLevel::Info,
            event: name,
            description: "d",
            labels: Vec::new(),
        }
    }

    #[test]
    fn ten_events_then_one_summary_with_counts() {
        let mut events: Vec<SecurityEvent> =
            (0..25).map(|_| event("certificate_provided")).collect();
        events.extend((0..5).map(|_| event("certificate_denied")));
        let out = bounded(&events);
        assert_eq!(out.len(), MAX_EVENTS_PER_HOOK + 1);
        let summary = &out[MAX_EVENTS_PER_HOOK];
        assert_eq!(summary.event, "security_events_summarized");
        let label = |k: &str| {
            summary
                .labels
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(label("count").as_deref(), Some("20"));
        assert_eq!(label("certificate_provided").as_deref(), Some("15"));
        assert_eq!(label("certificate_denied").as_deref(), Some("5"));
        assert_eq!(
            bounded(&events[..MAX_EVENTS_PER_HOOK]).len(),
            MAX_EVENTS_PER_HOOK
        );
    }
}
