//! Model-level settings, as `juju model-config` and `juju model-constraints` show them, and the
//! real-time clock of models created through the `juju` front end.
//!
//! Settings live in the store's `meta` table as one JSON object each, so a model created by an
//! older binary simply has none set. Only `update-status-hook-interval` changes what the model
//! does; other keys are recorded and shown back, as Juju does for settings a machine-local
//! model has no use for.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde_json::Value;

use crate::error::{Result, UsageError};
use crate::model::Model;
use crate::store;

/// Juju's default `update-status-hook-interval`, in seconds.
pub(crate) const DEFAULT_UPDATE_STATUS_INTERVAL: i64 = 300;

/// Juju accepts an update-status interval from one minute to one hour.
const UPDATE_STATUS_RANGE: (i64, i64) = (60, 3600);

const CONFIG_KEY: &str = "model_config";
const CONSTRAINTS_KEY: &str = "model_constraints";
const REALTIME_KEY: &str = "realtime";
const UPDATE_STATUS_KEY: &str = "update-status-hook-interval";

/// The settings every model shows, with Juju's defaults for a machine model.
fn defaults(name: &str) -> BTreeMap<String, Value> {
    [
        ("name", Value::from(name)),
        ("type", Value::from("lxd")),
        ("default-base", Value::from("ubuntu@24.04")),
        ("automatically-retry-hooks", Value::from(true)),
        ("logging-config", Value::from("<root>=INFO")),
        (UPDATE_STATUS_KEY, Value::from("5m")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn read_map(c: &Connection, key: &str) -> Result<BTreeMap<String, Value>> {
    match store::meta(c, key)? {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| crate::Error::Corrupt {
            table: "meta",
            row: key.to_owned(),
            column: "value",
            reason: e.to_string(),
        }),
    }
}

fn write_map(c: &Connection, key: &str, map: &BTreeMap<String, Value>) -> Result<()> {
    let text = serde_json::to_string(map).map_err(|e| UsageError::BadArgument(e.to_string()))?;
    store::set_meta(c, key, &text)
}

/// A config value as typed on the command line: booleans and integers as such, else a string.
fn typed(value: &str) -> Value {
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => value
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(value)),
    }
}

/// Seconds of an update-status interval (`5m`, `90s`, `1h`), checked against Juju's range.
fn update_status_seconds(text: &str) -> Result<i64> {
    let secs = hook_tools::duration::parse_cli(text)
        .map(|d| d.whole_seconds())
        .map_err(|e| UsageError::BadArgument(format!("{UPDATE_STATUS_KEY}: {e}")))?;
    let (lo, hi) = UPDATE_STATUS_RANGE;
    if !(lo..=hi).contains(&secs) {
        return Err(UsageError::BadArgument(format!(
            "{UPDATE_STATUS_KEY} must be between 1m and 60m, got {text:?}"
        ))
        .into());
    }
    Ok(secs)
}

/// The update-status interval in force, in seconds.
pub(crate) fn update_status_interval(c: &Connection) -> Result<i64> {
    match read_map(c, CONFIG_KEY)?.get(UPDATE_STATUS_KEY) {
        Some(Value::String(s)) => update_status_seconds(s),
        _ => Ok(DEFAULT_UPDATE_STATUS_INTERVAL),
    }
}

impl Model {
    /// The model's settings: Juju's defaults overlaid with what was set.
    pub fn model_config(&self) -> Result<BTreeMap<String, Value>> {
        let mut all = defaults(self.name());
        all.extend(read_map(&self.db(), CONFIG_KEY)?);
        Ok(all)
    }

    /// Sets (`key=value`) and resets settings. `update-status-hook-interval` is checked and
    /// takes effect from each unit's next update-status. `name` and `type` cannot change.
    pub fn set_model_config(&self, set: &[(String, String)], reset: &[String]) -> Result<()> {
        for (k, v) in set {
            if k == "name" || k == "type" {
                return Err(UsageError::BadArgument(format!("cannot change model {k}")).into());
            }
            if k == UPDATE_STATUS_KEY {
                update_status_seconds(v)?;
            }
        }
        self.tx(|c| {
            let mut map = read_map(c, CONFIG_KEY)?;
            for k in reset {
                map.remove(k);
            }
            for (k, v) in set {
                // Juju keeps durations as the string given.
                let value = if k == UPDATE_STATUS_KEY {
                    Value::from(v.as_str())
                } else {
                    typed(v)
                };
                map.insert(k.clone(), value);
            }
            write_map(c, CONFIG_KEY, &map)
        })
    }

    /// The model's constraints (`arch`, `mem`, …), as recorded: a local model places nothing.
    pub fn model_constraints(&self) -> Result<BTreeMap<String, Value>> {
        read_map(&self.db(), CONSTRAINTS_KEY)
    }

    /// Replaces the model's constraints.
    pub fn set_model_constraints(&self, set: &[(String, String)]) -> Result<()> {
        let map = set.iter().map(|(k, v)| (k.clone(), typed(v))).collect();
        self.tx(|c| write_map(c, CONSTRAINTS_KEY, &map))
    }

    /// Whether the model follows the real clock: timers fire when due without `advance`,
    /// through a clock process (models created by the `juju` front end).
    pub fn realtime(&self) -> Result<bool> {
        Ok(store::meta(&self.db(), REALTIME_KEY)?.as_deref() == Some("1"))
    }

    /// Makes the model follow the real clock.
    pub fn set_realtime(&self, on: bool) -> Result<()> {
        self.tx(|c| store::set_meta(c, REALTIME_KEY, if on { "1" } else { "0" }))
    }

    /// Queues what the clock has made due (secret expiry and rotation, update-status), as
    /// `advance` does, without moving the clock. Returns the model's time.
    pub fn fire_due_timers(&self) -> Result<i64> {
        self.tx(|c| {
            let now = crate::model::now_in(c)?;
            crate::timers::fire_due(c, now)?;
            Ok(now)
        })
    }

    /// The model time at which the next timer falls due, if any is armed.
    pub fn next_timer_due(&self) -> Result<Option<i64>> {
        crate::timers::next_due(&self.db())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_status_interval_is_checked_against_jujus_range() {
        assert_eq!(update_status_seconds("5m").ok(), Some(300));
        assert_eq!(update_status_seconds("60m").ok(), Some(3600));
        assert!(update_status_seconds("30s").is_err());
        assert!(update_status_seconds("2h").is_err());
        assert!(update_status_seconds("soon").is_err());
    }

    #[test]
    fn command_line_values_keep_their_types() {
        assert_eq!(typed("true"), Value::Bool(true));
        assert_eq!(typed("42"), Value::from(42));
        assert_eq!(typed("amd64"), Value::from("amd64"));
    }
}
