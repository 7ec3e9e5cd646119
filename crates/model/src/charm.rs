//! What the model needs to know about a charm: its endpoints, config options and actions, read
//! from `metadata.yaml` / `config.yaml` / `actions.yaml`, or from a `charmcraft.yaml` source tree
//! which is rendered into those three files the way `charmcraft pack` does (ops opens
//! `metadata.yaml` unconditionally, so a unit copy without it could not run).
//!
//! It also lays out a unit's own charm directory: ops keeps `.unit-state.db` in there, so two
//! units never share the directory itself; a Python `venv/` is read-only and large, so it is
//! linked, and the files of a charm the model keeps (unpacked from a `.charm`, or built) are
//! hard links to that one copy, not a copy per unit. Files of a charm deployed from a directory
//! are copied: a charm writing into its own files must not write into the user's source.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CharmError, Error, Result};

/// The role of an endpoint in `metadata.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Listed under `provides`.
    Provides,
    /// Listed under `requires`.
    Requires,
    /// Listed under `peers`: Juju relates the application to itself.
    Peers,
}

/// One relation endpoint of a charm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Endpoint name (`certificates`).
    pub name: String,
    /// provides, requires or peers.
    pub role: Role,
    /// Interface name, which must match across a relation.
    pub interface: String,
}

/// One option of `config.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigOption {
    /// `string`, `int`, `float`, `boolean` or `secret`.
    pub kind: String,
    /// The declared default, if any.
    pub default: Option<Value>,
}

/// One action of `actions.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionSpec {
    /// JSON-schema properties of the parameters.
    pub params: BTreeMap<String, Value>,
    /// Required parameter names.
    pub required: Vec<String>,
}

/// The parts of a charm's metadata the model uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharmMeta {
    /// The charm name.
    pub name: String,
    /// Every relation endpoint.
    pub endpoints: Vec<Endpoint>,
    /// Config options by name.
    pub config: BTreeMap<String, ConfigOption>,
    /// Actions by name.
    pub actions: BTreeMap<String, ActionSpec>,
}

/// Top-level keys of `charmcraft.yaml` that `charmcraft pack` does not copy into `metadata.yaml`.
const NOT_METADATA: &[&str] = &[
    "type",
    "bases",
    "base",
    "build-base",
    "platforms",
    "parts",
    "config",
    "actions",
    "charmhub",
    "charm-libs",
    "links",
];

impl CharmMeta {
    /// Reads the metadata of a charm directory: `metadata.yaml` (+ `config.yaml`,
    /// `actions.yaml`) when present, else `charmcraft.yaml`.
    pub fn load(dir: &Path) -> Result<Self> {
        let metadata = dir.join("metadata.yaml");
        let (meta, config, actions) = if metadata.is_file() {
            let meta = read_yaml(&metadata)?;
            let config = read_optional_yaml(&dir.join("config.yaml"))?;
            let actions = read_optional_yaml(&dir.join("actions.yaml"))?;
            (meta, config, actions)
        } else if dir.join("charmcraft.yaml").is_file() {
            let (meta, config, actions) = split_charmcraft(&dir.join("charmcraft.yaml"))?;
            (meta, config, actions)
        } else {
            return Err(CharmError::NoMetadata(dir.to_owned()).into());
        };
        Self::from_yaml(dir, &meta, &config, &actions)
    }

    fn from_yaml(dir: &Path, meta: &Value, config: &Value, actions: &Value) -> Result<Self> {
        let bad = |reason: String| -> Error {
            CharmError::BadYaml {
                path: dir.join("metadata.yaml"),
                reason,
            }
            .into()
        };
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no `name`".into()))?
            .to_owned();
        let mut endpoints = Vec::new();
        for (section, role) in [
            ("provides", Role::Provides),
            ("requires", Role::Requires),
            ("peers", Role::Peers),
        ] {
            let Some(map) = meta.get(section).and_then(Value::as_object) else {
                continue;
            };
            for (ep, spec) in map {
                let interface = spec
                    .get("interface")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("endpoint `{ep}` has no interface")))?;
                endpoints.push(Endpoint {
                    name: ep.clone(),
                    role,
                    interface: interface.to_owned(),
                });
            }
        }
        let mut options = BTreeMap::new();
        if let Some(map) = config.get("options").and_then(Value::as_object) {
            for (key, spec) in map {
                let kind = spec
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("string")
                    .to_owned();
                if !matches!(
                    kind.as_str(),
                    "string" | "int" | "float" | "boolean" | "secret"
                ) {
                    return Err(CharmError::BadYaml {
                        path: dir.join("config.yaml"),
                        reason: format!("option `{key}` has unknown type `{kind}`"),
                    }
                    .into());
                }
                let default = spec.get("default").filter(|v| !v.is_null()).cloned();
                options.insert(key.clone(), ConfigOption { kind, default });
            }
        }
        let mut acts = BTreeMap::new();
        if let Some(map) = actions.as_object() {
            for (name, spec) in map {
                let params = spec
                    .get("params")
                    .and_then(Value::as_object)
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                let required = spec
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                acts.insert(name.clone(), ActionSpec { params, required });
            }
        }
        Ok(Self {
            name,
            endpoints,
            config: options,
            actions: acts,
        })
    }

    /// The endpoint of that name.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The config values a unit sees: declared defaults overlaid with the set values.
    pub fn effective_config(&self, set: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
        let mut out: BTreeMap<String, Value> = self
            .config
            .iter()
            .filter_map(|(k, o)| o.default.clone().map(|d| (k.clone(), d)))
            .collect();
        for (k, v) in set {
            out.insert(k.clone(), v.clone());
        }
        out
    }

    /// Parses `value` as the declared type of option `key` (what `juju config` accepts).
    pub fn parse_config_value(&self, key: &str, value: &str) -> Result<Value> {
        let opt = self.config.get(key).ok_or_else(|| {
            crate::UsageError::BadConfig(format!(
                "unknown option \"{key}\" (options: {})",
                self.config.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let bad = || {
            crate::UsageError::BadConfig(format!(
                "option \"{key}\" expected {}, got {value:?}",
                opt.kind
            ))
        };
        Ok(match opt.kind.as_str() {
            "int" => Value::from(value.parse::<i64>().map_err(|_| bad())?),
            "float" => {
                let f = value.parse::<f64>().map_err(|_| bad())?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(bad)?
            }
            "boolean" => Value::Bool(match value {
                "true" | "True" | "TRUE" | "yes" | "1" => true,
                "false" | "False" | "FALSE" | "no" | "0" => false,
                _ => return Err(bad().into()),
            }),
            _ => Value::String(value.to_owned()),
        })
    }
}

fn read_yaml(path: &Path) -> Result<Value> {
    let text = fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
    let v: Value = serde_norway::from_str::<serde_norway::Value>(&text)
        .map_err(|e| CharmError::BadYaml {
            path: path.to_owned(),
            reason: e.to_string(),
        })
        .and_then(|y| {
            serde_json::to_value(y).map_err(|e| CharmError::BadYaml {
                path: path.to_owned(),
                reason: e.to_string(),
            })
        })?;
    Ok(if v.is_null() {
        Value::Object(Default::default())
    } else {
        v
    })
}

fn read_optional_yaml(path: &Path) -> Result<Value> {
    if path.is_file() {
        read_yaml(path)
    } else {
        Ok(Value::Object(Default::default()))
    }
}

/// Splits `charmcraft.yaml` into the metadata, config and actions documents `charmcraft pack`
/// would write.
fn split_charmcraft(path: &Path) -> Result<(Value, Value, Value)> {
    let all = read_yaml(path)?;
    let Value::Object(map) = all else {
        return Err(CharmError::BadYaml {
            path: path.to_owned(),
            reason: "not a mapping".into(),
        }
        .into());
    };
    let config = map
        .get("config")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let actions = map
        .get("actions")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let meta: serde_json::Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| !NOT_METADATA.contains(&k.as_str()))
        .collect();
    Ok((Value::Object(meta), config, actions))
}

/// Lays out `dest` as a unit's private copy of the charm at `src` (files copied, a `venv/`
/// directory linked), renders `metadata.yaml` & co. from `charmcraft.yaml` when the source has
/// none, and keeps the files the charm wrote in an earlier copy (`.unit-state.db`) when `dest`
/// exists already (refresh).
pub(crate) fn install_unit_copy(src: &Path, dest: &Path) -> Result<()> {
    if !src.join("dispatch").exists() && !src.join("hooks").is_dir() {
        return Err(CharmError::NoDispatch(src.to_owned()).into());
    }
    fs::create_dir_all(dest).map_err(|e| Error::io("creating", dest, e))?;
    // `dest` is `<model>/units/<unit>/charm`; the model keeps its own charms in `<model>/charms`.
    let kept_by_model = dest
        .ancestors()
        .nth(3)
        .is_some_and(|model| src.starts_with(model.join("charms")));
    copy_tree(src, dest, true, kept_by_model)?;
    if !src.join("metadata.yaml").is_file() && src.join("charmcraft.yaml").is_file() {
        let (meta, config, actions) = split_charmcraft(&src.join("charmcraft.yaml"))?;
        write_yaml(&dest.join("metadata.yaml"), &meta)?;
        if config.as_object().is_some_and(|m| !m.is_empty()) {
            write_yaml(&dest.join("config.yaml"), &config)?;
        }
        if actions.as_object().is_some_and(|m| !m.is_empty()) {
            write_yaml(&dest.join("actions.yaml"), &actions)?;
        }
    }
    Ok(())
}

fn write_yaml(path: &Path, v: &Value) -> Result<()> {
    let text = serde_norway::to_string(v).map_err(|e| CharmError::BadYaml {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    fs::write(path, text).map_err(|e| Error::io("writing", path, e))
}

fn copy_tree(src: &Path, dest: &Path, top: bool, link_files: bool) -> Result<()> {
    let entries = fs::read_dir(src).map_err(|e| Error::io("reading", src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("reading", src, e))?;
        let name = entry.file_name();
        let from = entry.path();
        let to = dest.join(&name);
        if top && (name == ".unit-state.db" || name == ".git") {
            continue;
        }
        let meta = fs::symlink_metadata(&from).map_err(|e| Error::io("reading", &from, e))?;
        if top && name == "venv" && meta.is_dir() {
            // Shared read-only: a link, replaced on refresh.
            let _ = fs::remove_file(&to);
            let abs = fs::canonicalize(&from).map_err(|e| Error::io("resolving", &from, e))?;
            std::os::unix::fs::symlink(&abs, &to).map_err(|e| Error::io("linking", &to, e))?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&from).map_err(|e| Error::io("reading link", &from, e))?;
            let _ = fs::remove_file(&to);
            std::os::unix::fs::symlink(&target, &to).map_err(|e| Error::io("linking", &to, e))?;
        } else if meta.is_dir() {
            // An earlier revision may have a link here: replace it, never create through it.
            if fs::symlink_metadata(&to).is_ok_and(|m| m.file_type().is_symlink()) {
                fs::remove_file(&to).map_err(|e| Error::io("removing", &to, e))?;
            }
            fs::create_dir_all(&to).map_err(|e| Error::io("creating", &to, e))?;
            copy_tree(&from, &to, false, link_files)?;
        } else {
            // Never write into an existing file: after a refresh it may be a hard link to the
            // previous revision's copy.
            let _ = fs::remove_file(&to);
            let linked = link_files && fs::hard_link(&from, &to).is_ok();
            if !linked {
                fs::copy(&from, &to).map_err(|e| Error::io("copying", &from, e))?;
            }
        }
    }
    Ok(())
}

/// Deletes the charm files the model kept for a removed application (`charms/<app>-<rev>`).
pub(crate) fn remove_app_files(model_dir: &Path, app: &str) {
    let Ok(entries) = fs::read_dir(model_dir.join("charms")) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name();
        let ours = name.to_str().is_some_and(|n| {
            n.strip_prefix(app)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rev| !rev.is_empty() && rev.bytes().all(|b| b.is_ascii_digit()))
        });
        if ours {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Resolves what `deploy` was given into a charm directory: a directory as is, a Rust charm
/// source built and staged into `unpack_to`, a `.charm` file unpacked into `unpack_to`.
pub(crate) fn resolve_source(path: &Path, unpack_to: &Path) -> Result<PathBuf> {
    if path.is_dir() {
        let dir = fs::canonicalize(path).map_err(|e| Error::io("resolving", path, e))?;
        if crate::rust_charm::needs_build(&dir) {
            return crate::rust_charm::build_and_stage(&dir, unpack_to);
        }
        return Ok(dir);
    }
    if path.is_file() {
        // Left by an interrupted deploy: the archive is unpacked into an empty directory.
        let _ = fs::remove_dir_all(unpack_to);
        crate::archive::unpack(path, unpack_to)?;
        return Ok(unpack_to.to_owned());
    }
    Err(CharmError::NoMetadata(path.to_owned()).into())
}
