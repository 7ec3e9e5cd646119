//! State a charm keeps across hooks, in a file in the unit's charm directory (the Rust
//! `StoredState`), plus the deferred events.
//!
//! Like ops' `.unit-state.db` (§2.3, §10.2), the file is written only after the hook's work
//! succeeded, and atomically (temporary file + rename), so a failed hook leaves it as it was —
//! matching Juju, which discards the hook's tool writes too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::event::Event;

/// File name inside the charm directory. Distinct from ops' `.unit-state.db`.
pub const STATE_FILE: &str = ".charm-state.json";

/// The persisted charm state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CharmState {
    /// Values the charm stored, by key.
    #[serde(default)]
    pub values: BTreeMap<String, serde_json::Value>,
    /// Events deferred and not yet handled, oldest first.
    #[serde(default)]
    pub deferred: Vec<Event>,
}

impl CharmState {
    /// The state file of a charm directory.
    pub fn path_in(charm_dir: &Path) -> PathBuf {
        charm_dir.join(STATE_FILE)
    }

    /// Loads the state; a missing file is an empty state (first hook).
    pub fn load(path: &Path) -> Result<CharmState, Error> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::StateCorrupt {
                path: path.to_owned(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CharmState::default()),
            Err(source) => Err(Error::StateFile {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Saves the state atomically, readable by the unit's user only.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let io = |source| Error::StateFile {
            path: path.to_owned(),
            source,
        };
        let bytes = serde_json::to_vec(self).map_err(|source| Error::StateCorrupt {
            path: path.to_owned(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".charm-state")
            .tempfile_in(dir)
            .map_err(io)?;
        tmp.write_all(&bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_empty_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = CharmState::path_in(dir.path());
        assert_eq!(CharmState::load(&path).unwrap(), CharmState::default());
        let mut s = CharmState::default();
        s.values.insert("k".into(), serde_json::json!({"a": 1}));
        s.deferred.push(Event::UpdateStatus);
        s.save(&path).unwrap();
        assert_eq!(CharmState::load(&path).unwrap(), s);
    }

    #[test]
    fn corrupt_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = CharmState::path_in(dir.path());
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            CharmState::load(&path),
            Err(Error::StateCorrupt { .. })
        ));
    }
}
