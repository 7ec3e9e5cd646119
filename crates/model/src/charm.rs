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

use hook_tools::metadata::render::Rendered;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CharmError, Error, Result};

pub use hook_tools::metadata::Role;

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
    /// `extra-bindings` names (`network-get` answers for them too). Absent in stores written
    /// before it was kept.
    #[serde(default)]
    pub extra_bindings: Vec<String>,
}

impl CharmMeta {
    /// Reads the metadata of a charm directory with the vocabulary's reader: `metadata.yaml`
    /// (+ `config.yaml`, `actions.yaml`) when present, else `charmcraft.yaml` rendered as
    /// `charmcraft pack` renders it.
    pub fn load(dir: &Path) -> Result<Self> {
        use hook_tools::metadata::MetadataError;
        let meta = hook_tools::metadata::CharmMeta::from_charm_dir(dir).map_err(|e| match e {
            MetadataError::NotFound(_) => Error::from(CharmError::NoMetadata(dir.to_owned())),
            MetadataError::Io { path, source } => Error::io("reading", &path, source),
            MetadataError::Invalid { path, reason } => CharmError::BadYaml { path, reason }.into(),
            other => CharmError::BadYaml {
                path: dir.to_owned(),
                reason: other.to_string(),
            }
            .into(),
        })?;
        Ok(Self::from(meta))
    }

    /// The endpoint of that name.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// Whether `network-get` knows this binding (as `hook_tools::metadata::CharmMeta::has_binding`).
    pub fn has_binding(&self, name: &str) -> bool {
        self.endpoint(name).is_some() || self.extra_bindings.iter().any(|b| b == name)
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

impl From<hook_tools::metadata::CharmMeta> for CharmMeta {
    fn from(m: hook_tools::metadata::CharmMeta) -> Self {
        CharmMeta {
            name: m.name,
            endpoints: m
                .endpoints
                .into_iter()
                .map(|e| Endpoint {
                    name: e.name,
                    role: e.role,
                    interface: e.interface,
                })
                .collect(),
            extra_bindings: m.extra_bindings,
            config: m
                .options
                .into_iter()
                .map(|(k, o)| {
                    let option = ConfigOption {
                        kind: o.kind,
                        default: o.default,
                    };
                    (k, option)
                })
                .collect(),
            actions: m
                .actions
                .into_iter()
                .map(|(k, a)| {
                    let spec = ActionSpec {
                        params: a.params,
                        required: a.required,
                    };
                    (k, spec)
                })
                .collect(),
        }
    }
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
        // The vocabulary's renderer, the one `pack` uses: a charm deployed from source sees
        // the metadata it would see packed.
        let path = src.join("charmcraft.yaml");
        let bad = |reason: String| -> Error {
            CharmError::BadYaml {
                path: path.clone(),
                reason,
            }
            .into()
        };
        let doc = hook_tools::metadata::read_yaml(&path).map_err(|e| bad(e.to_string()))?;
        let rendered = Rendered::from_charmcraft(&doc).map_err(bad)?;
        for (name, text) in rendered.files().map_err(bad)? {
            let to = dest.join(name);
            fs::write(&to, text).map_err(|e| Error::io("writing", &to, e))?;
        }
    }
    Ok(())
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
