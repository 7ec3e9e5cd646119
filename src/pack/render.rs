//! The YAML files a Juju controller reads from a charm, rendered from `charmcraft.yaml` the way
//! `charmcraft pack` (4.x) does.
//!
//! Juju and ops read `metadata.yaml`, `config.yaml` and `actions.yaml`, never `charmcraft.yaml`,
//! and Juju takes a charm's bases from `manifest.yaml`. The three YAML files come from the
//! vocabulary's renderer (`hook_tools::metadata::render`, shared with the local model's
//! deploy-from-source); this module adds pack's checks and `manifest.yaml`.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};

use hook_tools::metadata::render::{self, Rendered};

use super::bases::Base;

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

    /// `metadata.yaml` text (the vocabulary's renderer, the one the local model uses).
    pub(crate) fn metadata_yaml(&self) -> anyhow::Result<String> {
        to_yaml(&self.rendered()?.metadata)
    }

    /// `config.yaml` text, `None` when the charm has no config.
    pub(crate) fn config_yaml(&self) -> anyhow::Result<Option<String>> {
        self.rendered()?.config.as_ref().map(to_yaml).transpose()
    }

    /// `actions.yaml` text, `None` when the charm has no actions.
    pub(crate) fn actions_yaml(&self) -> anyhow::Result<Option<String>> {
        self.rendered()?.actions.as_ref().map(to_yaml).transpose()
    }

    fn rendered(&self) -> anyhow::Result<Rendered> {
        Rendered::from_charmcraft(&Value::Object(self.doc.clone())).map_err(anyhow::Error::msg)
    }
}

/// `manifest.yaml` text: when and by what the charm was packed, its bases, and the analysis
/// attributes Charmhub shows.
///
/// charmcraft also writes `charmcraft-version`; this packer is not charmcraft, so it says what it
/// is in a comment instead (Juju reads only `bases`). The attributes are what charmcraft's
/// `language` and `framework` checkers find: `unknown` for both in a charm whose entrypoint is a
/// native binary, `python` and `operator` for an ops charm (the pack tests compare them with
/// `charmcraft analyse`).
pub(crate) fn manifest_yaml(
    bases: &[Base],
    started_at: &str,
    language: &str,
    framework: &str,
) -> anyhow::Result<String> {
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
                {"name": "language", "result": language},
                {"name": "framework", "result": framework},
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

fn to_yaml(value: &Value) -> anyhow::Result<String> {
    render::to_yaml(value).map_err(anyhow::Error::msg)
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

    /// The rendering rules themselves are the vocabulary's (tested in `hook_tools::metadata`);
    /// here, that the YAML pack writes reads back as that rendering, with the block text kept.
    #[test]
    fn metadata_yaml_is_the_vocabularys_rendering() {
        let p = Project::parse(CHARMCRAFT).unwrap();
        let text = p.metadata_yaml().unwrap();
        assert_eq!(
            yaml(&text),
            Rendered::from_charmcraft(&yaml(CHARMCRAFT))
                .unwrap()
                .metadata,
            "{text}"
        );
        assert_eq!(yaml(&text)["description"], "Two lines\nof text.\n");
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
        let text = manifest_yaml(&[base], "2026-01-01T00:00:00Z", "unknown", "unknown").unwrap();
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
