//! User secrets (Juju 3.3+): owned by the model, made and changed by its user with `add-secret`,
//! `update-secret`, `grant-secret`, `revoke-secret`, `remove-secret`, shown with `show-secret`.
//! Units of granted applications read them as consumers (`secrets.rs`): a new revision sends
//! them secret-changed like a charm's `secret-set` does. A user secret's name is its owner label.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;

use crate::error::{Result, UsageError};
use crate::model::Model;
use crate::store::{self, secrets::MODEL_GRANT};

/// The owner `secrets` and `show-secret` print for a user secret.
pub(crate) const MODEL_OWNER: &str = "<model>";

/// What `update-secret` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SecretUpdate {
    /// New content: a new revision unless equal to the latest.
    pub content: Option<BTreeMap<String, String>>,
    /// New description (`--info`).
    pub description: Option<String>,
    /// New name (`--name`).
    pub name: Option<String>,
    /// Whether revisions no consumer tracks are deleted (`--auto-prune`).
    pub auto_prune: Option<bool>,
}

/// What `show-secret` includes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShowSecret {
    /// The content (`--reveal`).
    pub reveal: bool,
    /// Every revision's metadata (`--revisions`).
    pub revisions: bool,
    /// The revision whose content `--reveal` shows (default: the latest).
    pub revision: Option<i64>,
}

/// One secret as `show-secret` prints it (Juju's field names and order).
#[derive(Debug, Clone, Serialize)]
pub struct SecretDetails {
    /// Latest revision.
    pub revision: i64,
    /// Expiry of the latest revision, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Rotation policy of a charm secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<String>,
    /// `<model>`, or the owning application or unit.
    pub owner: String,
    /// Description (`--info`, `secret-add --description`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A user secret's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A charm secret's owner label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Creation time, RFC 3339 (absent for secrets made before the model recorded it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last change, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Content, with `--reveal` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<BTreeMap<String, String>>,
    /// Revisions, with `--revisions` only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<SecretRevisionDetails>,
    /// Who may do what.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<SecretAccess>,
}

/// One revision in [`SecretDetails`].
#[derive(Debug, Clone, Serialize)]
pub struct SecretRevisionDetails {
    /// Number.
    pub revision: i64,
    /// Creation time, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Expiry, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One grant in [`SecretDetails`], as Juju's tags spell it.
#[derive(Debug, Clone, Serialize)]
pub struct SecretAccess {
    /// `application-NAME`, `unit-NAME-N` or `model-UUID`.
    pub target: String,
    /// `model-UUID` or `relation-KEY`.
    pub scope: String,
    /// `view` or `manage`.
    pub role: String,
}

fn tag_of(target: &str) -> String {
    match target.split_once('/') {
        Some((app, n)) => format!("unit-{app}-{n}"),
        None => format!("application-{target}"),
    }
}

impl Model {
    /// `add-secret NAME`: a model-owned secret with revision 1; returns its URI.
    pub fn add_secret(
        &self,
        name: &str,
        description: Option<&str>,
        content: &BTreeMap<String, String>,
    ) -> Result<String> {
        if name.is_empty() {
            return Err(UsageError::BadArgument("missing secret name".into()).into());
        }
        if content.is_empty() {
            return Err(UsageError::BadArgument("empty secret value not valid".into()).into());
        }
        let xid = crate::secret_id::new_xid();
        self.tx(|c| {
            if store::secrets::model_owned_named(c, name)?.is_some() {
                return Err(UsageError::SecretNameExists(name.to_owned()).into());
            }
            store::secrets::insert(
                c,
                &store::secrets::New {
                    xid: &xid,
                    owner_app: None,
                    owner_unit: None,
                    label: Some(name),
                    description: description.unwrap_or_default(),
                    rotate: "",
                    rotate_due: None,
                    expiry: None,
                    content,
                    now: crate::model::now_in(c)?,
                },
            )
        })?;
        Ok(crate::secret_id::short_uri(&xid))
    }

    /// `update-secret ID|NAME`: new content makes a new revision (and secret-changed for the
    /// consumers of older ones) unless it equals the latest.
    pub fn update_secret(&self, id: &str, update: &SecretUpdate) -> Result<()> {
        if update.content.is_none()
            && update.description.is_none()
            && update.name.is_none()
            && update.auto_prune.is_none()
        {
            return Err(UsageError::BadArgument(
                "at least one attribute to update must be specified".into(),
            )
            .into());
        }
        if update.content.as_ref().is_some_and(BTreeMap::is_empty) {
            return Err(UsageError::BadArgument("empty secret value not valid".into()).into());
        }
        self.tx(|c| {
            let xid = user_secret(c, id)?;
            let now = crate::model::now_in(c)?;
            if let Some(name) = &update.name {
                match store::secrets::model_owned_named(c, name)? {
                    Some(other) if other != xid => {
                        return Err(UsageError::SecretNameExists(name.clone()).into());
                    }
                    _ => store::secrets::set_label(c, &xid, name)?,
                }
            }
            if let Some(d) = &update.description {
                store::secrets::set_description(c, &xid, d)?;
            }
            if let Some(on) = update.auto_prune {
                store::secrets::set_auto_prune(c, &xid, on)?;
            }
            store::secrets::touch(c, &xid, now)?;
            if let Some(content) = &update.content {
                let current = store::secrets::latest(c, &xid)?
                    .ok_or_else(|| UsageError::SecretNotFound(xid.clone()))?;
                if current.content != *content {
                    store::secrets::add_revision(c, &xid, current.latest + 1, content, now)?;
                    crate::secrets::notify_consumers(c, &xid)?;
                }
            }
            if store::secrets::auto_prune(c, &xid)? {
                for rev in store::secrets::unused_revisions(c, &xid)? {
                    drop_revision(c, &xid, rev)?;
                }
            }
            Ok(())
        })?;
        // Pruned revisions leave no copy in the log.
        self.scrub_wal()
    }

    /// `grant-secret ID|NAME APP,...`: the applications' units may read the secret. Each
    /// application is granted or fails on its own, as in Juju.
    pub fn grant_secret(&self, id: &str, apps: &[String]) -> Result<()> {
        self.change_access(id, apps, true)
    }

    /// `revoke-secret ID|NAME APP,...`: the applications' units may no longer read it.
    pub fn revoke_secret(&self, id: &str, apps: &[String]) -> Result<()> {
        self.change_access(id, apps, false)
    }

    fn change_access(&self, id: &str, apps: &[String], grant: bool) -> Result<()> {
        let failures = self.tx(|c| {
            let xid = user_secret(c, id)?;
            let uri = crate::secret_id::short_uri(&xid);
            let mut failures = Vec::new();
            for app in apps {
                if store::app(c, app)?.is_none() {
                    failures.push(format!(
                        "cannot change access to \"{uri}\" for \"{app}\": {}",
                        UsageError::UnknownApp(app.clone())
                    ));
                } else if grant {
                    store::secrets::grant(c, &xid, MODEL_GRANT, app)?;
                } else {
                    store::secrets::revoke(c, &xid, Some(MODEL_GRANT), Some(app))?;
                }
            }
            store::secrets::touch(c, &xid, crate::model::now_in(c)?)?;
            Ok(failures)
        })?;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(UsageError::SecretAccess(failures.join(", ")).into())
        }
    }

    /// `remove-secret ID|NAME [--revision N]`: the secret, or one revision, and its content
    /// are deleted; consumers' `secret-get` then fails with "not found".
    pub fn remove_secret(&self, id: &str, revision: Option<i64>) -> Result<()> {
        self.tx(|c| remove(c, id, revision))?;
        self.scrub_wal()
    }

    /// Copies the write-ahead log into the store and empties it: deleted content is zeroed in
    /// the store (`secure_delete`) but older copies stay in the log until a checkpoint, which
    /// SQLite otherwise runs only when the last connection closes. Best effort: a reader still
    /// on an older snapshot keeps those frames until the next checkpoint.
    fn scrub_wal(&self) -> Result<()> {
        self.db()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// `show-secret ID|NAME`: the secret with that URI, or the secrets with that name or label
    /// (user and charm secrets alike), keyed by id.
    pub fn show_secret(
        &self,
        id: &str,
        opts: ShowSecret,
    ) -> Result<BTreeMap<String, SecretDetails>> {
        let db = self.db();
        let xids = match hook_tools::SecretUri::parse(id) {
            Ok(uri) => vec![uri.xid().to_owned()],
            Err(_) => store::secrets::labelled(&db, id)?,
        };
        let mut out = BTreeMap::new();
        for xid in xids {
            if let Some(d) = self.details(&db, &xid, opts)? {
                out.insert(xid, d);
            }
        }
        if out.is_empty() {
            let shown = hook_tools::SecretUri::parse(id)
                .map(|u| u.xid().to_owned())
                .unwrap_or_else(|_| id.to_owned());
            return Err(UsageError::SecretNotFound(shown).into());
        }
        Ok(out)
    }

    fn details(
        &self,
        c: &Connection,
        xid: &str,
        opts: ShowSecret,
    ) -> Result<Option<SecretDetails>> {
        let Some(s) = store::secrets::latest(c, xid)? else {
            return Ok(None);
        };
        let time = |t: Option<i64>| t.map(crate::clock::format_rfc3339);
        let (created, updated) = store::secrets::times(c, xid)?;
        let revisions = store::secrets::revisions(c, xid)?;
        let model_tag = format!("model-{}", self.uuid());
        let mut access = Vec::new();
        if s.owner_app.is_none() {
            access.push(SecretAccess {
                target: model_tag.clone(),
                scope: model_tag.clone(),
                role: "manage".into(),
            });
        }
        let relations = store::relations(c)?;
        for (rel, target) in store::secrets::grants(c, xid)? {
            let scope = if rel == MODEL_GRANT {
                model_tag.clone()
            } else {
                relations
                    .iter()
                    .find(|r| r.id == rel)
                    .map(|r| format!("relation-{}.{}#{}.{}", r.app_a, r.ep_a, r.app_b, r.ep_b))
                    .unwrap_or_else(|| format!("relation-{rel}"))
            };
            access.push(SecretAccess {
                target: tag_of(&target),
                scope,
                role: "view".into(),
            });
        }
        let content = if opts.reveal {
            let rev = opts.revision.unwrap_or(s.latest);
            Some(
                store::secrets::revision_content(c, xid, rev)?.ok_or_else(|| {
                    UsageError::BadArgument(format!("secret revision {rev} of \"{xid}\" not found"))
                })?,
            )
        } else {
            None
        };
        let (owner, name, label) = match (&s.owner_app, &s.owner_unit) {
            (None, _) => (MODEL_OWNER.to_owned(), s.label.clone(), None),
            (Some(_), Some(unit)) => (unit.clone(), None, s.label.clone()),
            (Some(app), None) => (app.clone(), None, s.label.clone()),
        };
        Ok(Some(SecretDetails {
            revision: s.latest,
            expires: time(s.expiry),
            rotation: (!s.rotate.is_empty() && s.rotate != "never").then(|| s.rotate.clone()),
            owner,
            description: (!s.description.is_empty()).then(|| s.description.clone()),
            name,
            label,
            created: time(created),
            updated: time(updated),
            content,
            revisions: if opts.revisions {
                revisions
                    .iter()
                    .map(|r| SecretRevisionDetails {
                        revision: r.rev,
                        created: time(r.created),
                        expires: time(r.expiry),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            access,
        }))
    }
}

/// The user secret `id` names: a URI (any spelling `secret-get` takes) or a name.
fn user_secret(c: &Connection, id: &str) -> Result<String> {
    let xid = match hook_tools::SecretUri::parse(id) {
        Ok(uri) => uri.xid().to_owned(),
        Err(_) => store::secrets::model_owned_named(c, id)?
            .ok_or_else(|| UsageError::SecretNotFound(id.to_owned()))?,
    };
    match store::secrets::latest(c, &xid)? {
        None => Err(UsageError::SecretNotFound(xid).into()),
        Some(s) if s.owner_app.is_some() => Err(UsageError::SecretPermissionDenied.into()),
        Some(_) => Ok(xid),
    }
}

/// `remove-secret` in one transaction.
fn remove(c: &Connection, id: &str, revision: Option<i64>) -> Result<()> {
    let xid = user_secret(c, id)?;
    let Some(rev) = revision else {
        store::secrets::delete(c, &xid)?;
        return store::hooks::drop_secret_hooks(c, &xid, None);
    };
    let revs = store::secrets::revisions(c, &xid)?;
    if !revs.iter().any(|r| r.rev == rev) {
        return Err(UsageError::BadArgument(format!(
            "secret revision {rev} of \"{xid}\" not found"
        ))
        .into());
    }
    let rest: Vec<i64> = revs.iter().map(|r| r.rev).filter(|r| *r != rev).collect();
    match rest.last() {
        None => {
            store::secrets::delete(c, &xid)?;
            store::hooks::drop_secret_hooks(c, &xid, None)
        }
        Some(last) => {
            drop_revision(c, &xid, rev)?;
            store::secrets::set_latest(c, &xid, *last)?;
            store::secrets::touch(c, &xid, crate::model::now_in(c)?)
        }
    }
}

/// Deletes one old revision's content and the hooks waiting on it.
fn drop_revision(c: &Connection, xid: &str, rev: i64) -> Result<()> {
    store::secrets::delete_revision(c, xid, rev)?;
    store::hooks::drop_secret_hooks(c, xid, Some(rev))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use hook_tools::{HookKind, SecretHook};

    use super::*;
    use crate::registry::Registry;

    fn model(dir: &Path) -> Model {
        let reg = Registry::at(dir.join("data"));
        reg.add("m").expect("model");
        reg.open(Some("m")).expect("open")
    }

    /// A model with application `reader` (one unit, no hooks run).
    fn model_with_reader(dir: &Path) -> Model {
        let m = model(dir);
        let charm = dir.join("charm");
        std::fs::create_dir_all(&charm).expect("mkdir");
        std::fs::write(charm.join("metadata.yaml"), "name: reader\n").expect("metadata");
        std::fs::write(charm.join("dispatch"), "#!/bin/sh\n").expect("dispatch");
        m.deploy(&charm, None, 1, &[]).expect("deploy");
        m
    }

    fn content(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn xid_of(uri: &str) -> String {
        uri.strip_prefix("secret:").expect("secret: URI").to_owned()
    }

    #[test]
    fn names_are_unique_and_content_is_required() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let m = model(tmp.path());
        let uri = m
            .add_secret("acme", Some("eab keys"), &content(&[("kid", "k1")]))
            .expect("add");
        assert!(hook_tools::SecretUri::parse(&uri).is_ok(), "{uri}");
        let err = m
            .add_secret("acme", None, &content(&[("kid", "k2")]))
            .expect_err("duplicate");
        assert_eq!(err.to_string(), "secret with name \"acme\" already exists");
        let err = m
            .add_secret("other", None, &BTreeMap::new())
            .expect_err("empty");
        assert_eq!(err.to_string(), "empty secret value not valid");
        let shown = m.show_secret("acme", ShowSecret::default()).expect("show");
        let d = &shown[&xid_of(&uri)];
        assert_eq!(
            (d.owner.as_str(), d.name.as_deref(), d.revision),
            ("<model>", Some("acme"), 1)
        );
        assert_eq!(d.description.as_deref(), Some("eab keys"));
        assert!(d.content.is_none(), "content only with --reveal");
        let err = m
            .show_secret("nope", ShowSecret::default())
            .expect_err("unknown");
        assert_eq!(err.to_string(), "secret \"nope\" not found");
    }

    #[test]
    fn new_content_makes_a_revision_and_tells_consumers_of_older_ones() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let m = model(tmp.path());
        let uri = m
            .add_secret("s", None, &content(&[("token", "one")]))
            .expect("add");
        let xid = xid_of(&uri);
        m.tx(|c| store::secrets::add_consumer(c, &xid, "reader/0", None, 1))
            .expect("consumer");
        let same = SecretUpdate {
            content: Some(content(&[("token", "one")])),
            ..SecretUpdate::default()
        };
        m.update_secret(&uri, &same).expect("same content");
        assert_eq!(
            store::secrets::latest_revision(&m.db(), &xid).unwrap(),
            Some(1)
        );
        let new = SecretUpdate {
            content: Some(content(&[("token", "two")])),
            ..SecretUpdate::default()
        };
        m.update_secret("s", &new).expect("new content");
        assert_eq!(
            store::secrets::latest_revision(&m.db(), &xid).unwrap(),
            Some(2)
        );
        let hooks = store::hooks::hooks(&m.db()).expect("hooks");
        assert!(
            hooks.iter().any(|h| h.unit == "reader/0"
                && h.hook == HookKind::Secret(SecretHook::Changed)
                && h.secret.as_deref() == Some(xid.as_str())
                && h.secret_rev == Some(2)),
            "{hooks:?}"
        );
        let err = m
            .update_secret("s", &SecretUpdate::default())
            .expect_err("nothing to update");
        assert_eq!(
            err.to_string(),
            "at least one attribute to update must be specified"
        );
    }

    #[test]
    fn auto_prune_deletes_revisions_no_consumer_tracks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let m = model(tmp.path());
        let uri = m
            .add_secret("s", None, &content(&[("token", "one")]))
            .expect("add");
        let xid = xid_of(&uri);
        m.tx(|c| store::secrets::add_consumer(c, &xid, "reader/0", None, 1))
            .expect("consumer");
        let update = |v: &str, prune: Option<bool>| SecretUpdate {
            content: Some(content(&[("token", v)])),
            auto_prune: prune,
            ..SecretUpdate::default()
        };
        m.update_secret("s", &update("two", None)).expect("rev 2");
        m.update_secret("s", &update("three", Some(true)))
            .expect("rev 3");
        // Revision 1 is tracked; 2 is not and goes.
        let revs: Vec<i64> = store::secrets::revisions(&m.db(), &xid)
            .unwrap()
            .iter()
            .map(|r| r.rev)
            .collect();
        assert_eq!(revs, [1, 3]);
        // The consumer moves on: revision 1 goes too.
        m.tx(|c| {
            store::secrets::set_tracked(c, &xid, "reader/0", 3)?;
            crate::secrets::queue_obsolete(c)
        })
        .expect("refresh");
        let revs = store::secrets::revisions(&m.db(), &xid).unwrap();
        assert_eq!(revs.iter().map(|r| r.rev).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn grants_name_known_applications_and_show_in_access() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let m = model_with_reader(tmp.path());
        let uri = m
            .add_secret("s", None, &content(&[("token", "one")]))
            .expect("add");
        let err = m
            .grant_secret("s", &["reader".into(), "ghost".into()])
            .expect_err("unknown app");
        assert_eq!(
            err.to_string(),
            format!(
                "failed to grant/revoke secret: cannot change access to \"{uri}\" for \"ghost\": \
                 application \"ghost\" not found"
            )
        );
        let xid = xid_of(&uri);
        assert!(store::secrets::is_granted(&m.db(), &xid, "reader", "reader/0").unwrap());
        let shown = m.show_secret(&uri, ShowSecret::default()).expect("show");
        let access: Vec<(String, String)> = shown[&xid]
            .access
            .iter()
            .map(|a| (a.target.clone(), a.role.clone()))
            .collect();
        let model_tag = format!("model-{}", m.uuid());
        assert_eq!(
            access,
            [
                (model_tag, "manage".to_owned()),
                ("application-reader".to_owned(), "view".to_owned())
            ]
        );
        m.revoke_secret(&uri, &["reader".into()]).expect("revoke");
        assert!(!store::secrets::is_granted(&m.db(), &xid, "reader", "reader/0").unwrap());
    }

    #[test]
    fn remove_deletes_the_content_and_a_revision_moves_latest_back() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let m = model(tmp.path());
        let uri = m
            .add_secret("s", None, &content(&[("token", "one")]))
            .expect("add");
        let xid = xid_of(&uri);
        let two = SecretUpdate {
            content: Some(content(&[("token", "two")])),
            ..SecretUpdate::default()
        };
        m.update_secret("s", &two).expect("rev 2");
        m.remove_secret("s", Some(2)).expect("remove rev 2");
        assert_eq!(
            store::secrets::latest_revision(&m.db(), &xid).unwrap(),
            Some(1)
        );
        let err = m.remove_secret("s", Some(7)).expect_err("no such revision");
        assert!(err.to_string().contains("revision 7"), "{err}");
        m.remove_secret(&uri, None).expect("remove");
        let left: i64 = m
            .db()
            .query_row(
                "SELECT COUNT(*) FROM secret_revisions WHERE xid=?1",
                [&xid],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
        let err = m.remove_secret("s", None).expect_err("gone");
        assert_eq!(err.to_string(), "secret \"s\" not found");
    }

    #[test]
    fn user_verbs_refuse_charm_secrets() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let m = model(tmp.path());
        let xid = crate::secret_id::new_xid();
        m.tx(|c| {
            store::secrets::insert(
                c,
                &store::secrets::New {
                    xid: &xid,
                    owner_app: Some("app"),
                    owner_unit: None,
                    label: Some("tls"),
                    description: "",
                    rotate: "",
                    rotate_due: None,
                    expiry: None,
                    content: &content(&[("key", "v")]),
                    now: 0,
                },
            )
        })
        .expect("charm secret");
        let err = m.remove_secret(&xid, None).expect_err("charm-owned");
        assert_eq!(err.to_string(), "permission denied");
        // A charm secret's label is not a user secret's name.
        let err = m.remove_secret("tls", None).expect_err("not a name");
        assert_eq!(err.to_string(), "secret \"tls\" not found");
        let shown = m.show_secret(
            "tls",
            ShowSecret {
                reveal: true,
                ..ShowSecret::default()
            },
        );
        let d = &shown.expect("show by label")[&xid];
        assert_eq!((d.owner.as_str(), d.label.as_deref()), ("app", Some("tls")));
        assert_eq!(d.content.as_ref().map(|c| c["key"].as_str()), Some("v"));
    }
}
