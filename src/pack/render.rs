//! The YAML files a Juju controller reads from a charm, rendered from `charmcraft.yaml` the way
//! `charmcraft pack` (4.x) does.
//!
//! Juju and ops read `metadata.yaml`, `config.yaml` and `actions.yaml`, never `charmcraft.yaml`,
//! and Juju takes a charm's bases from `manifest.yaml`. charmcraft writes `metadata.yaml` from a
//! fixed list of keys (renaming `title` to `display-name` and flattening `links`), `config.yaml`
//! and `actions.yaml` from those keys only when they are not empty, each with sorted keys.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};

use super::bases::Base;

/// Keys of `charmcraft.yaml` that go into `metadata.yaml` (charmcraft's `CharmMetadata` fields,
/// after `title` -> `display-name` and the `links` flattening).
const METADATA_KEYS: &[&str] = &[
    "name",
    "display-name",
    "summary",
    "description",
    "maintainers",
    "assumes",
    "charm-user",
    "containers",
    "devices",
    "docs",
    "extra-bindings",
    "issues",
    "peers",
    "provides",
    "requires",
    "resources",
    "source",
    "storage",
    "subordinate",
    "terms",
    "website",
];

/// The parsed `charmcraft.yaml` of a charm directory.
pub(crate) struct Project {
    /// The charm name (checked: lowercase letters, digits and dashes).
    pub(crate) name: String,
    /// The whole document.
    doc: Map<String, Value>,
}

impl Project {
    /// Reads and checks `charmcraft.yaml`.
    pub(crate) fn load(charm_dir: &Path) -> anyhow::Result<Self> {
        let path = charm_dir.join("charmcraft.yaml");
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)?;
        let Value::Object(doc) = serde_json::to_value(yaml)? else {
            bail!("not a mapping");
        };
        let name = doc
            .get("name")
            .and_then(Value::as_str)
            .context("no `name`")?
            .to_owned();
        check_name(&name)?;
        match doc.get("type").and_then(Value::as_str) {
            None | Some("charm") => {}
            Some(other) => bail!("`type: {other}`: only charms are packed"),
        }
        for key in ["summary", "description"] {
            if !doc.get(key).is_some_and(Value::is_string) {
                bail!("no `{key}` (Juju and Charmhub require it)");
            }
        }
        Ok(Self { name, doc })
    }

    /// `metadata.yaml` text.
    pub(crate) fn metadata_yaml(&self) -> anyhow::Result<String> {
        let mut flat = self.doc.clone();
        if let Some(title) = flat.remove("title") {
            flat.insert("display-name".into(), title);
        }
        if let Some(Value::Object(links)) = flat.remove("links") {
            for (key, value) in links {
                match key.as_str() {
                    "documentation" => {
                        flat.insert("docs".into(), value);
                    }
                    "contact" => {
                        let list = match value {
                            Value::String(_) => Value::Array(vec![value]),
                            other => other,
                        };
                        flat.insert("maintainers".into(), list);
                    }
                    _ => {
                        flat.insert(key, value);
                    }
                }
            }
        }
        let meta: Map<String, Value> = flat
            .into_iter()
            .filter(|(k, v)| METADATA_KEYS.contains(&k.as_str()) && !v.is_null())
            .collect();
        to_yaml(&sorted(Value::Object(meta)))
    }

    /// `config.yaml` text, `None` when the charm has no config.
    pub(crate) fn config_yaml(&self) -> anyhow::Result<Option<String>> {
        self.optional_section("config")
    }

    /// `actions.yaml` text, `None` when the charm has no actions.
    pub(crate) fn actions_yaml(&self) -> anyhow::Result<Option<String>> {
        self.optional_section("actions")
    }

    fn optional_section(&self, key: &str) -> anyhow::Result<Option<String>> {
        match self.doc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) if m.is_empty() => Ok(None),
            Some(value @ Value::Object(_)) => to_yaml(&sorted(value.clone())).map(Some),
            Some(_) => bail!("`{key}` in charmcraft.yaml is not a mapping"),
        }
    }
}

/// `manifest.yaml` text: when and by what the charm was packed, its bases, and the analysis
/// attributes Charmhub shows.
///
/// charmcraft also writes `charmcraft-version`; this packer is not charmcraft, so it says what it
/// is in a comment instead (Juju reads only `bases`). The attributes are what charmcraft's
/// `language` and `framework` checkers find in a charm whose entrypoint is a native binary:
/// `unknown` for both (the pack test compares them with `charmcraft analyse`).
pub(crate) fn manifest_yaml(bases: &[Base], started_at: &str) -> anyhow::Result<String> {
    let bases: Vec<Value> = bases
        .iter()
        .map(|b| {
            json!({
                "name": b.name,
                "channel": b.channel,
                "architectures": b.architectures,
            })
        })
        .collect();
    let manifest = json!({
        "charmcraft-started-at": started_at,
        "bases": bases,
        "analysis": {
            "attributes": [
                {"name": "language", "result": "unknown"},
                {"name": "framework", "result": "unknown"},
            ],
        },
    });
    Ok(format!(
        "# Packed by juju-tls {} (not charmcraft).\n{}",
        env!("CARGO_PKG_VERSION"),
        to_yaml(&manifest)?
    ))
}

/// Charm names are Juju application names (the vocabulary's rule). Checked before the name
/// becomes part of a file path.
fn check_name(name: &str) -> anyhow::Result<()> {
    hook_tools::names::check_app_name(name)
        .map_err(|e| anyhow::anyhow!("charm name {name:?} is not a valid Juju name: {}", e.reason))
}

/// The same value with every mapping's keys sorted, as PyYAML's `sort_keys=True` writes them.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn to_yaml(value: &Value) -> anyhow::Result<String> {
    Ok(serde_norway::to_string(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHARMCRAFT: &str = r#"
name: demo
type: charm
title: Demo
summary: A demo.
description: |
  Two lines
  of text.
links:
  documentation: https://example.com/docs
  contact: Someone <someone@example.com>
  source: https://example.com/src
bases:
  - build-on: [{name: ubuntu, channel: "24.04"}]
    run-on: [{name: ubuntu, channel: "24.04"}]
requires:
  zeta: {interface: z}
  alpha: {interface: a, optional: true}
config:
  options:
    port: {type: int, default: 8080, description: Port.}
    name: {type: string, description: Name.}
actions: {}
parts: {charm: {plugin: nil}}
"#;

    fn yaml(text: &str) -> Value {
        serde_json::to_value(serde_norway::from_str::<serde_norway::Value>(text).unwrap()).unwrap()
    }

    #[test]
    fn metadata_keeps_only_metadata_keys_renamed_and_sorted() {
        let p = Project::parse(CHARMCRAFT).unwrap();
        let text = p.metadata_yaml().unwrap();
        let meta = yaml(&text);
        let keys: Vec<&str> = meta
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "description",
                "display-name",
                "docs",
                "maintainers",
                "name",
                "requires",
                "source",
                "summary"
            ],
            "{text}"
        );
        assert_eq!(meta["display-name"], "Demo");
        assert_eq!(meta["docs"], "https://example.com/docs");
        assert_eq!(
            meta["maintainers"],
            json!(["Someone <someone@example.com>"])
        );
        assert_eq!(meta["description"], "Two lines\nof text.\n");
        // Nested mappings are sorted too, and endpoint fields are passed through.
        let requires: Vec<&String> = meta["requires"].as_object().unwrap().keys().collect();
        assert_eq!(requires, ["alpha", "zeta"]);
        assert_eq!(meta["requires"]["alpha"]["optional"], true);
    }

    #[test]
    fn config_is_rendered_and_empty_actions_are_left_out() {
        let p = Project::parse(CHARMCRAFT).unwrap();
        let config = yaml(&p.config_yaml().unwrap().unwrap());
        assert_eq!(config["options"]["port"]["default"], 8080);
        assert_eq!(config["options"]["port"]["type"], "int");
        assert_eq!(p.actions_yaml().unwrap(), None);
    }

    #[test]
    fn manifest_lists_bases_with_channel_as_string() {
        let base = Base {
            name: "ubuntu".into(),
            channel: "24.04".into(),
            architectures: vec!["amd64".into()],
        };
        let text = manifest_yaml(&[base], "2026-01-01T00:00:00Z").unwrap();
        let m = yaml(&text);
        assert_eq!(m["bases"][0]["channel"], "24.04", "{text}");
        assert_eq!(m["bases"][0]["architectures"], json!(["amd64"]));
        assert_eq!(m["charmcraft-started-at"], "2026-01-01T00:00:00Z");
        assert_eq!(m["analysis"]["attributes"][0]["name"], "language");
    }

    #[test]
    fn bad_projects_are_refused() {
        for (text, why) in [
            ("summary: s\ndescription: d\n", "no `name`"),
            (
                "name: ../x\nsummary: s\ndescription: d\n",
                "not a valid Juju name",
            ),
            (
                "name: Demo\nsummary: s\ndescription: d\n",
                "not a valid Juju name",
            ),
            (
                "name: a--b\nsummary: s\ndescription: d\n",
                "not a valid Juju name",
            ),
            ("name: x\ndescription: d\n", "no `summary`"),
            (
                "name: x\ntype: bundle\nsummary: s\ndescription: d\n",
                "only charms",
            ),
            ("- a\n", "not a mapping"),
        ] {
            let err = match Project::parse(text) {
                Ok(_) => panic!("accepted {text:?}"),
                Err(e) => format!("{e:#}"),
            };
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
