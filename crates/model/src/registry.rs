//! Where models live: one directory per model under the user's data dir (or
//! `$JUJU_TLS_DATA_DIR`), each holding its SQLite store, its clock file and its units' charm
//! copies; plus a `current-model` file, Juju's `switch`.
//!
//! Models hold private keys (secret revisions in `model.db`), so the data dir, `models/` and
//! every model dir are 0700 and the user's own: created so, and an existing one owned by another
//! uid or open to group/others is refused with the command that fixes it.

use std::fs;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
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
    /// `~/.local/share/juju-tls`; an error without any of them (never a shared fallback such as
    /// `/tmp`, where another user could create the directory first).
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let root = if let Some(d) = var(DATA_DIR_ENV) {
            d
        } else if let Some(d) = var("XDG_DATA_HOME") {
            d.join("juju-tls")
        } else if let Some(home) = var("HOME") {
            home.join(".local/share/juju-tls")
        } else {
            return Err(UsageError::NoDataDir.into());
        };
        Ok(Self { root })
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
        let model = self.create(name)?;
        self.switch(name)?;
        Ok(model)
    }

    /// Creates a model, leaving the current model as it is (`juju add-model --no-switch`).
    pub fn create(&self, name: &str) -> Result<Model> {
        crate::names::check_model(name)?;
        let dir = self.model_dir(name);
        if dir.join("model.db").exists() {
            return Err(UsageError::ModelExists(name.to_owned()).into());
        }
        private_dir(&self.root)?;
        private_dir(&self.root.join("models"))?;
        private_dir(&dir)?;
        Model::create(name, &dir)
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
        check_private(&self.root)?;
        check_private(&dir)?;
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
        private_dir(&self.root)?;
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

/// Creates `dir` (and missing parents) 0700, or checks an existing one.
fn private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io("creating", dir, e))?;
    }
    check_private(dir)
}

/// Refuses a directory that is not the user's own, or that group/others may enter.
fn check_private(dir: &Path) -> Result<()> {
    let meta = fs::metadata(dir).map_err(|e| Error::io("reading", dir, e))?;
    let me = rustix::process::geteuid().as_raw();
    let unsafe_dir = |reason: String| -> Error {
        UsageError::UnsafeDir {
            path: dir.to_owned(),
            reason,
        }
        .into()
    };
    if meta.uid() != me {
        return Err(unsafe_dir(format!(
            "owned by uid {}, not by you (uid {me}): models hold private keys; use a directory of your own (set {DATA_DIR_ENV})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "open to group/others (mode {mode:04o}): models hold private keys; run `chmod 700 {}`",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn data_and_model_dirs_are_created_0700() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("a/b/data");
        let reg = Registry::at(&root);
        reg.add("m").expect("model");
        for d in [root.clone(), root.join("models"), root.join("models/m")] {
            let mode = fs::metadata(&d).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
    }

    #[test]
    fn a_dir_open_to_others_is_refused_with_the_fix() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("data");
        let reg = Registry::at(&root);
        reg.add("m").expect("model");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod");
        let err = reg.open(Some("m")).expect_err("refused").to_string();
        assert!(
            err.contains("open to group/others (mode 0755)")
                && err.contains(&format!("chmod 700 {}", root.display())),
            "{err}"
        );
        let err = reg.add("n").expect_err("refused").to_string();
        assert!(err.contains("open to group/others"), "{err}");
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).expect("chmod");
        let model_dir = root.join("models/m");
        fs::set_permissions(&model_dir, fs::Permissions::from_mode(0o750)).expect("chmod");
        let err = reg.open(Some("m")).expect_err("refused").to_string();
        assert!(err.contains("mode 0750"), "{err}");
    }

    #[test]
    fn a_dir_of_another_user_is_refused() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root to give a directory to another uid");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("data");
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&root)
            .expect("mkdir");
        rustix::fs::chown(&root, Some(rustix::fs::Uid::from_raw(65534)), None).expect("chown");
        let err = Registry::at(&root)
            .add("m")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("owned by uid 65534") && err.contains(DATA_DIR_ENV),
            "{err}"
        );
    }
}
