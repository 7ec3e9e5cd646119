//! Charm metadata: endpoints, config options and actions, from `charmcraft.yaml` (a source tree)
//! or `metadata.yaml` + `config.yaml` + `actions.yaml` (a packed charm, which is what Juju
//! unpacks into the charm directory; §2.1).
//!
//! The SDK needs it to know which endpoints are peers (the read rule of the own app bag differs,
//! §7.1), the config defaults (for the test harness) and the declared actions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why metadata could not be loaded.
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
    /// A file is not valid YAML of the expected shape.
    #[error("parsing {path}: {source}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_norway::Error,
    },
}

/// How an endpoint relates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `requires`.
    Requires,
    /// `provides`.
    Provides,
    /// `peers`: the app with itself.
    Peer,
}

/// One endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EndpointMeta {
    /// Interface name (`tls-certificates`).
    pub interface: String,
    /// Maximum number of relations.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Whether the charm works without it.
    #[serde(default)]
    pub optional: bool,
    /// `global` or `container`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// One config option.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConfigOption {
    /// `string`, `int`, `float`, `boolean` or `secret`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Default value.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ActionMeta {
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// JSON-schema properties of the parameters.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Required parameters.
    #[serde(default)]
    pub required: Vec<String>,
}

/// Everything the SDK reads from a charm's metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CharmMeta {
    /// Charm name.
    pub name: String,
    /// Endpoints by name, with their role.
    pub endpoints: BTreeMap<String, (Role, EndpointMeta)>,
    /// Config options by name.
    pub options: BTreeMap<String, ConfigOption>,
    /// Actions by name.
    pub actions: BTreeMap<String, ActionMeta>,
    /// Extra bindings (names usable with `network-get`).
    pub extra_bindings: Vec<String>,
}

#[derive(Deserialize)]
struct RawMetadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    requires: BTreeMap<String, EndpointMeta>,
    #[serde(default)]
    provides: BTreeMap<String, EndpointMeta>,
    #[serde(default)]
    peers: BTreeMap<String, EndpointMeta>,
    #[serde(default, rename = "extra-bindings")]
    extra_bindings: BTreeMap<String, serde_norway::Value>,
}

#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(default)]
    options: BTreeMap<String, ConfigOption>,
}

#[derive(Deserialize)]
struct RawCharmcraft {
    #[serde(flatten)]
    meta: RawMetadata,
    #[serde(default)]
    config: Option<RawConfig>,
    #[serde(default)]
    actions: Option<BTreeMap<String, ActionMeta>>,
}

impl CharmMeta {
    /// Loads metadata from a charm directory: the packed layout if `metadata.yaml` exists,
    /// otherwise `charmcraft.yaml`.
    pub fn from_charm_dir(dir: &Path) -> Result<CharmMeta, MetadataError> {
        let metadata = dir.join("metadata.yaml");
        if metadata.exists() {
            let meta: RawMetadata = read_yaml(&metadata)?;
            let config: RawConfig = read_optional(&dir.join("config.yaml"))?.unwrap_or_default();
            let actions = read_optional(&dir.join("actions.yaml"))?.unwrap_or_default();
            return Ok(CharmMeta::assemble(meta, config, actions));
        }
        let charmcraft = dir.join("charmcraft.yaml");
        if charmcraft.exists() {
            let raw: RawCharmcraft = read_yaml(&charmcraft)?;
            return Ok(CharmMeta::assemble(
                raw.meta,
                raw.config.unwrap_or_default(),
                raw.actions.unwrap_or_default(),
            ));
        }
        Err(MetadataError::NotFound(dir.to_owned()))
    }

    /// Parses a `charmcraft.yaml` document.
    pub fn from_charmcraft_yaml(text: &str) -> Result<CharmMeta, MetadataError> {
        let raw: RawCharmcraft =
            serde_norway::from_str(text).map_err(|source| MetadataError::Yaml {
                path: "charmcraft.yaml".into(),
                source,
            })?;
        Ok(CharmMeta::assemble(
            raw.meta,
            raw.config.unwrap_or_default(),
            raw.actions.unwrap_or_default(),
        ))
    }

    fn assemble(
        meta: RawMetadata,
        config: RawConfig,
        actions: BTreeMap<String, ActionMeta>,
    ) -> CharmMeta {
        let mut endpoints = BTreeMap::new();
        for (role, eps) in [
            (Role::Requires, meta.requires),
            (Role::Provides, meta.provides),
            (Role::Peer, meta.peers),
        ] {
            for (name, ep) in eps {
                endpoints.insert(name, (role, ep));
            }
        }
        CharmMeta {
            name: meta.name,
            endpoints,
            options: config.options,
            actions,
            extra_bindings: meta.extra_bindings.into_keys().collect(),
        }
    }

    /// The role of an endpoint, if declared.
    pub fn role(&self, endpoint: &str) -> Option<Role> {
        self.endpoints.get(endpoint).map(|(r, _)| *r)
    }

    /// Whether an endpoint is a peer endpoint.
    pub fn is_peer(&self, endpoint: &str) -> bool {
        self.role(endpoint) == Some(Role::Peer)
    }

    /// The options that have a default, as `config-get` shows them before anyone sets them.
    pub fn config_defaults(&self) -> serde_json::Map<String, serde_json::Value> {
        self.options
            .iter()
            .filter_map(|(k, o)| {
                o.default
                    .clone()
                    .filter(|d| !d.is_null())
                    .map(|d| (k.clone(), d))
            })
            .collect()
    }
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, MetadataError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_norway::from_str(&text).map_err(|source| MetadataError::Yaml {
        path: path.to_owned(),
        source,
    })
}

fn read_optional<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, MetadataError> {
    if !path.exists() {
        return Ok(None);
    }
    // An empty file (e.g. actions.yaml with no actions) means "none".
    let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Io {
        path: path.to_owned(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_norway::from_str(&text)
        .map(Some)
        .map_err(|source| MetadataError::Yaml {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHARMCRAFT: &str = r#"
name: web
type: charm
summary: s
requires:
  certificates:
    interface: tls-certificates
    limit: 1
peers:
  cluster:
    interface: web-peers
config:
  options:
    common_name:
      type: string
      default: banana
    port:
      type: int
      default: 8443
    unset:
      type: string
actions:
  get-certificate:
    description: Print the certificate.
    params:
      format: {type: string, default: pem}
bases: [{name: ubuntu, channel: "24.04"}]
"#;

    #[test]
    fn charmcraft_yaml() {
        let m = CharmMeta::from_charmcraft_yaml(CHARMCRAFT).unwrap();
        assert_eq!(m.name, "web");
        assert_eq!(m.role("certificates"), Some(Role::Requires));
        assert!(m.is_peer("cluster"));
        assert_eq!(m.config_defaults()["port"], 8443);
        assert!(!m.config_defaults().contains_key("unset"));
        assert!(m.actions["get-certificate"].params.contains_key("format"));
    }

    #[test]
    fn packed_layout_wins_over_charmcraft() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("charmcraft.yaml"), CHARMCRAFT).unwrap();
        std::fs::write(
            dir.path().join("metadata.yaml"),
            "name: packed\nprovides: {certificates: {interface: tls-certificates}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.yaml"),
            "options: {a: {type: boolean, default: true}}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("actions.yaml"), "").unwrap();
        let m = CharmMeta::from_charm_dir(dir.path()).unwrap();
        assert_eq!(m.name, "packed");
        assert_eq!(m.role("certificates"), Some(Role::Provides));
        assert_eq!(m.config_defaults()["a"], true);
        assert!(m.actions.is_empty());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            CharmMeta::from_charm_dir(dir.path()),
            Err(MetadataError::NotFound(_))
        ));
        std::fs::write(dir.path().join("metadata.yaml"), "requires: [1, 2]\n").unwrap();
        let e = CharmMeta::from_charm_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("metadata.yaml"), "{e}");
    }
}
