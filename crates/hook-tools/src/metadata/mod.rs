//! Charm metadata, read one way for everyone: endpoints, config options and actions of a charm
//! directory, from `metadata.yaml` + `config.yaml` + `actions.yaml` (a packed charm, what Juju
//! unpacks) or from `charmcraft.yaml` (a source tree), which is first rendered into those three
//! documents exactly as `charmcraft pack` writes them ([`render`]). So a charm deployed from
//! source and the same charm packed have the same metadata.
//!
//! Juju's rules applied while reading: every endpoint has an `interface`; a config option's
//! `type` is `string` (also when absent), `int`, `float`, `boolean` or `secret`; a `null`
//! default is no default. Endpoints keep the order of the file (provides, requires, peers),
//! which is the order messages list them in.

pub mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Why metadata could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Neither `metadata.yaml` nor `charmcraft.yaml` exists.
    #[error("no metadata.yaml or charmcraft.yaml in {0}")]
    NotFound(PathBuf),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not YAML, or not of the shape Juju expects.
    #[error("parsing {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// How an endpoint relates: the section of `metadata.yaml` it is listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `provides`.
    Provides,
    /// `requires`.
    Requires,
    /// `peers`: Juju relates the application to itself.
    Peers,
}

impl Role {
    /// The `metadata.yaml` section.
    pub fn section(self) -> &'static str {
        match self {
            Role::Provides => "provides",
            Role::Requires => "requires",
            Role::Peers => "peers",
        }
    }
}

/// One relation endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointMeta {
    /// Endpoint name (`certificates`).
    pub name: String,
    /// Its section.
    pub role: Role,
    /// Interface name (`tls-certificates`), which must match across a relation.
    pub interface: String,
    /// Maximum number of relations.
    pub limit: Option<u32>,
    /// Whether the charm works without it.
    pub optional: bool,
    /// `global` or `container`.
    pub scope: Option<String>,
}

/// One config option.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOption {
    /// `string`, `int`, `float`, `boolean` or `secret`.
    pub kind: String,
    /// Default value (`None`: no default, or `null`).
    pub default: Option<Value>,
    /// Description.
    pub description: Option<String>,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionMeta {
    /// Description.
    pub description: Option<String>,
    /// JSON-schema properties of the parameters.
    pub params: BTreeMap<String, Value>,
    /// Required parameters.
    pub required: Vec<String>,
}

/// What Juju, the SDK and the local model read from a charm's metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CharmMeta {
    /// Charm name.
    pub name: String,
    /// Endpoints, in the order of the file: provides, requires, peers.
    pub endpoints: Vec<EndpointMeta>,
    /// Config options by name.
    pub options: BTreeMap<String, ConfigOption>,
    /// Actions by name.
    pub actions: BTreeMap<String, ActionMeta>,
    /// Extra bindings (names usable with `network-get`).
    pub extra_bindings: Vec<String>,
}

/// Config option types Juju accepts.
const OPTION_TYPES: &[&str] = &["string", "int", "float", "boolean", "secret"];

impl CharmMeta {
    /// Reads a charm directory: the packed layout if `metadata.yaml` exists, otherwise
    /// `charmcraft.yaml` rendered as `charmcraft pack` would.
    pub fn from_charm_dir(dir: &Path) -> Result<CharmMeta, MetadataError> {
        let metadata = dir.join("metadata.yaml");
        if metadata.is_file() {
            let meta = read_yaml(&metadata)?;
            let config = read_optional_yaml(&dir.join("config.yaml"))?;
            let actions = read_optional_yaml(&dir.join("actions.yaml"))?;
            return Self::from_documents(dir, &meta, &config, &actions);
        }
        let charmcraft = dir.join("charmcraft.yaml");
        if charmcraft.is_file() {
            let doc = read_yaml(&charmcraft)?;
            let r = render::Rendered::from_charmcraft(&doc)
                .map_err(|reason| invalid(&charmcraft, reason))?;
            return Self::from_rendered(dir, &r);
        }
        Err(MetadataError::NotFound(dir.to_owned()))
    }

    /// Reads a `charmcraft.yaml` document (rendered first, as [`CharmMeta::from_charm_dir`]).
    pub fn from_charmcraft_yaml(text: &str) -> Result<CharmMeta, MetadataError> {
        let path = Path::new("charmcraft.yaml");
        let doc = parse_yaml(path, text)?;
        let r = render::Rendered::from_charmcraft(&doc).map_err(|reason| invalid(path, reason))?;
        Self::from_rendered(Path::new(""), &r)
    }

    fn from_rendered(dir: &Path, r: &render::Rendered) -> Result<CharmMeta, MetadataError> {
        let empty = Value::Object(Map::new());
        Self::from_documents(
            dir,
            &r.metadata,
            r.config.as_ref().unwrap_or(&empty),
            r.actions.as_ref().unwrap_or(&empty),
        )
    }

    /// Reads the three documents of a packed charm (`null` or `{}` for an absent one); `dir`
    /// names the files in errors.
    pub fn from_documents(
        dir: &Path,
        meta: &Value,
        config: &Value,
        actions: &Value,
    ) -> Result<CharmMeta, MetadataError> {
        let meta_path = dir.join("metadata.yaml");
        let bad = |reason: String| invalid(&meta_path, reason);
        let meta = as_map(meta).ok_or_else(|| bad("not a mapping".into()))?;
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no `name`".into()))?
            .to_owned();
        let mut endpoints = Vec::new();
        for role in [Role::Provides, Role::Requires, Role::Peers] {
            let section = role.section();
            let Some(spec) = meta.get(section).filter(|v| !v.is_null()) else {
                continue;
            };
            let map = spec
                .as_object()
                .ok_or_else(|| bad(format!("`{section}` is not a mapping")))?;
            for (ep, spec) in map {
                endpoints.push(endpoint(ep, role, spec).map_err(bad)?);
            }
        }
        let extra_bindings = match meta.get("extra-bindings") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            Some(_) => return Err(bad("`extra-bindings` is not a mapping".into())),
        };
        let config_path = dir.join("config.yaml");
        let options = options(config).map_err(|reason| invalid(&config_path, reason))?;
        let actions_path = dir.join("actions.yaml");
        let actions = actions_of(actions).map_err(|reason| invalid(&actions_path, reason))?;
        Ok(CharmMeta {
            name,
            endpoints,
            options,
            actions,
            extra_bindings,
        })
    }

    /// The endpoint of that name.
    pub fn endpoint(&self, name: &str) -> Option<&EndpointMeta> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The role of an endpoint, if declared.
    pub fn role(&self, endpoint: &str) -> Option<Role> {
        self.endpoint(endpoint).map(|e| e.role)
    }

    /// Whether `network-get` knows this binding: an endpoint or an `extra-bindings` name.
    pub fn has_binding(&self, name: &str) -> bool {
        self.endpoint(name).is_some() || self.extra_bindings.iter().any(|b| b == name)
    }

    /// Whether an endpoint is a peer endpoint.
    pub fn is_peer(&self, endpoint: &str) -> bool {
        self.role(endpoint) == Some(Role::Peers)
    }

    /// The options that have a default, as `config-get` shows them before anyone sets them.
    pub fn config_defaults(&self) -> Map<String, Value> {
        self.options
            .iter()
            .filter_map(|(k, o)| o.default.clone().map(|d| (k.clone(), d)))
            .collect()
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> MetadataError {
    MetadataError::Invalid {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// A mapping, `null` (an empty file) being an empty one.
fn as_map(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Null => Some(Map::new()),
        Value::Object(m) => Some(m.clone()),
        _ => None,
    }
}

fn endpoint(name: &str, role: Role, spec: &Value) -> Result<EndpointMeta, String> {
    let interface = spec
        .get("interface")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("endpoint `{name}` has no interface"))?
        .to_owned();
    let limit = match spec.get("limit") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| format!("endpoint `{name}`: `limit` is not a count"))?,
        ),
    };
    let optional = match spec.get("optional") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("endpoint `{name}`: `optional` is not a boolean")),
    };
    let scope = match spec.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(format!("endpoint `{name}`: `scope` is not a string")),
    };
    Ok(EndpointMeta {
        name: name.to_owned(),
        role,
        interface,
        limit,
        optional,
        scope,
    })
}

fn options(config: &Value) -> Result<BTreeMap<String, ConfigOption>, String> {
    let config = as_map(config).ok_or("not a mapping")?;
    let opts = match config.get("options") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`options` is not a mapping".into()),
    };
    let mut out = BTreeMap::new();
    for (key, spec) in opts {
        let kind = match spec.get("type") {
            // Juju: a missing type is a string ("valid in python").
            None | Some(Value::Null) => "string",
            Some(Value::String(t)) if OPTION_TYPES.contains(&t.as_str()) => t.as_str(),
            Some(other) => {
                let t = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned);
                return Err(format!("option `{key}` has unknown type `{t}`"));
            }
        };
        out.insert(
            key.clone(),
            ConfigOption {
                kind: kind.to_owned(),
                default: spec.get("default").filter(|v| !v.is_null()).cloned(),
                description: spec
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
        );
    }
    Ok(out)
}

fn actions_of(actions: &Value) -> Result<BTreeMap<String, ActionMeta>, String> {
    let actions = as_map(actions).ok_or("not a mapping")?;
    let mut out = BTreeMap::new();
    for (name, spec) in actions {
        let spec = as_map(&spec).ok_or_else(|| format!("action `{name}` is not a mapping"))?;
        let params = match spec.get("params") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(_) => return Err(format!("action `{name}`: `params` is not a mapping")),
        };
        let required = match spec.get("required") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("action `{name}`: `required` is not a list of names"))?,
            Some(_) => return Err(format!("action `{name}`: `required` is not a list")),
        };
        let description = spec
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned);
        out.insert(
            name,
            ActionMeta {
                description,
                params,
                required,
            },
        );
    }
    Ok(out)
}

/// Parses YAML text into JSON values (mapping order kept).
pub(crate) fn parse_yaml(path: &Path, text: &str) -> Result<Value, MetadataError> {
    let yaml: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| invalid(path, e.to_string()))?;
    serde_json::to_value(yaml).map_err(|e| invalid(path, e.to_string()))
}

/// Reads a YAML file into JSON values.
pub fn read_yaml(path: &Path) -> Result<Value, MetadataError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_yaml(path, &text)
}

fn read_optional_yaml(path: &Path) -> Result<Value, MetadataError> {
    if path.is_file() {
        read_yaml(path)
    } else {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests;
