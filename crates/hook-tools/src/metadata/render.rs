//! `charmcraft.yaml` rendered into the files Juju and ops read, the way `charmcraft pack` (4.x)
//! writes them: `metadata.yaml` from a fixed list of keys (charmcraft's `CharmMetadata` model,
//! `extra="ignore"`), after renaming `title` to `display-name` and flattening `links`
//! (`documentation` -> `docs`, `contact` -> `maintainers` as a list, the rest as top-level keys);
//! `config.yaml` and `actions.yaml` from those sections only when they are not empty. Every
//! mapping has its keys sorted (PyYAML's `sort_keys=True`).

use serde_json::{Map, Value};

/// Keys of `charmcraft.yaml` that go into `metadata.yaml`: the fields of charmcraft's
/// `CharmMetadata` (`charmcraft/models/metadata.py`), everything else is dropped.
pub const METADATA_KEYS: &[&str] = &[
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

/// The documents `charmcraft pack` writes from one `charmcraft.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// `metadata.yaml`.
    pub metadata: Value,
    /// `config.yaml`, `None` when the charm has no config.
    pub config: Option<Value>,
    /// `actions.yaml`, `None` when the charm has no actions.
    pub actions: Option<Value>,
}

impl Rendered {
    /// Renders a parsed `charmcraft.yaml`; `Err` says what is not a mapping.
    pub fn from_charmcraft(doc: &Value) -> Result<Rendered, String> {
        let Value::Object(doc) = doc else {
            return Err("not a mapping".into());
        };
        Ok(Rendered {
            metadata: metadata(doc),
            config: optional_section(doc, "config")?,
            actions: optional_section(doc, "actions")?,
        })
    }

    /// The files as (name, YAML text), `metadata.yaml` first, absent sections left out.
    pub fn files(&self) -> Result<Vec<(&'static str, String)>, String> {
        let mut out = vec![("metadata.yaml", to_yaml(&self.metadata)?)];
        if let Some(c) = &self.config {
            out.push(("config.yaml", to_yaml(c)?));
        }
        if let Some(a) = &self.actions {
            out.push(("actions.yaml", to_yaml(a)?));
        }
        Ok(out)
    }
}

fn metadata(doc: &Map<String, Value>) -> Value {
    let mut flat = doc.clone();
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
    sorted(Value::Object(meta))
}

fn optional_section(doc: &Map<String, Value>, key: &str) -> Result<Option<Value>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) if m.is_empty() => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(sorted(value.clone()))),
        Some(_) => Err(format!("`{key}` in charmcraft.yaml is not a mapping")),
    }
}

/// The same value with every mapping's keys sorted, as PyYAML's `sort_keys=True` writes them.
pub fn sorted(value: Value) -> Value {
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

/// YAML text of a value.
pub fn to_yaml(value: &Value) -> Result<String, String> {
    serde_norway::to_string(value).map_err(|e| e.to_string())
}
