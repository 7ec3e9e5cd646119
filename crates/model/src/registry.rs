//! Where models live: one directory per model under the user's data dir (or
//! `$JUJU_TLS_DATA_DIR`), each holding its SQLite store, its clock file and its units' charm
//! copies; plus a `current-model` file, Juju's `switch`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, UsageError};
use crate::locks::{self, LockKind, LockWait};
use crate::model::Model;

/// The environment variable that overrides where models are kept.
pub const DATA_DIR_ENV: &str = "JUJU_TLS_DATA_DIR";

/// The set of local models of this user.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

impl Registry {
    /// The registry at `$JUJU_TLS_DATA_DIR`, else `$XDG_DATA_HOME/juju-tls`, else
    /// `~/.local/share/juju-tls`.
    pub fn from_env() -> Self {
        let root = if let Some(d) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            PathBuf::from(d)
        } else if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            PathBuf::from(d).join("juju-tls")
        } else {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/tmp"));
            home.join(".local/share/juju-tls")
        };
        Self { root }
    }

    /// A registry rooted at `root` (tests).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the registry keeps its models.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn model_dir(&self, name: &str) -> PathBuf {
        self.root.join("models").join(name)
    }

    /// Creates a model and makes it current.
    pub fn add(&self, name: &str) -> Result<Model> {
        crate::names::check_model(name)?;
        let dir = self.model_dir(name);
        if dir.join("model.db").exists() {
            return Err(UsageError::ModelExists(name.to_owned()).into());
        }
        fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        let model = Model::create(name, &dir)?;
        self.switch(name)?;
        Ok(model)
    }

    /// Opens a model by name, or the current one.
    pub fn open(&self, name: Option<&str>) -> Result<Model> {
        let name = match name {
            Some(n) => n.to_owned(),
            None => self.current()?.ok_or(UsageError::NoCurrentModel)?,
        };
        let dir = self.model_dir(&name);
        if !dir.join("model.db").exists() {
            return Err(UsageError::UnknownModel(name).into());
        }
        if dir.join(locks::TOMBSTONE).exists() {
            return Err(UsageError::ModelDying(name).into());
        }
        Model::open(&name, &dir)
    }

    /// Names of every model, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let dir = self.root.join("models");
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("model.db").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The current model's name, if set and still present.
    pub fn current(&self) -> Result<Option<String>> {
        let path = self.root.join("current-model");
        match fs::read_to_string(&path) {
            Ok(s) => {
                let name = s.trim().to_owned();
                Ok(
                    (!name.is_empty() && self.model_dir(&name).join("model.db").exists())
                        .then_some(name),
                )
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading", path, e)),
        }
    }

    /// Makes `name` the current model.
    pub fn switch(&self, name: &str) -> Result<()> {
        if !self.model_dir(name).join("model.db").exists() {
            return Err(UsageError::UnknownModel(name.to_owned()).into());
        }
        fs::create_dir_all(&self.root).map_err(|e| Error::io("creating", &self.root, e))?;
        let path = self.root.join("current-model");
        fs::write(&path, format!("{name}\n")).map_err(|e| Error::io("writing", path, e))
    }

    /// Destroys a model: under its change lock the model is tombstoned first (from then on every
    /// verb on it fails cleanly, a deploy that was waiting for the lock included); then, under
    /// its settle lock (a settling process finishes first; `wait` says whom it waits for), every
    /// workload is ended, its address lease released and its directory deleted. A destroy that
    /// dies midway is finished by running it again.
    pub fn destroy(&self, name: &str) -> Result<()> {
        self.destroy_with(name, LockWait::default())
    }

    /// [`Registry::destroy`], waiting for the model's locks as `wait` says.
    pub fn destroy_with(&self, name: &str, wait: LockWait) -> Result<()> {
        crate::names::check_model(name)?;
        let dir = self.model_dir(name);
        if !dir.join("model.db").exists() {
            return Err(UsageError::UnknownModel(name.to_owned()).into());
        }
        let change = locks::take(&dir, name, LockKind::Change, wait, true)?;
        let tomb = dir.join(locks::TOMBSTONE);
        fs::write(&tomb, format!("{}\n", std::process::id()))
            .map_err(|e| Error::io("writing", &tomb, e))?;
        let settle = locks::take(&dir, name, LockKind::Settle, wait, true)?;
        let model = Model::open(name, &dir)?;
        model.kill_all_workloads()?;
        let block = model.address_block()?;
        let uuid = model.uuid().to_owned();
        drop(model);
        if let Some(block) = block {
            crate::addresses::release(&dir, &uuid, block);
        }
        fs::remove_dir_all(&dir).map_err(|e| Error::io("removing", &dir, e))?;
        drop(settle);
        drop(change);
        if self.current()?.is_none() {
            let _ = fs::remove_file(self.root.join("current-model"));
        }
        Ok(())
    }
}
