//! Secrets as a hook sees them (the store plus its own buffered `secret-*` calls) and how those
//! calls are committed: owners always read the latest revision, consumers track one (§8.4);
//! a new revision sends secret-changed to consumers tracking an older one, and a revision nobody
//! tracks any more sends secret-remove to its owner.

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::error::msg;
use hook_tools::values::SecretOwner;
use hook_tools::{SecretMeta, ToolError};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::context::{HookContext, SecretOp};
use crate::error::Result;
use crate::store::{self, Hook, Relation};
use crate::tools::{is_leader, secret_info, wants_unit_owner};

type ToolResult = std::result::Result<Option<Value>, ToolError>;

fn store_err(e: impl std::fmt::Display) -> ToolError {
    ToolError::runtime(format!("model store: {e}"))
}

/// A secret as the running hook sees it.
#[derive(Debug, Clone)]
struct View {
    xid: String,
    owner_app: String,
    owner_unit: Option<String>,
    label: Option<String>,
    description: String,
    rotate: String,
    /// Latest committed revision (1 for a secret added in this hook).
    latest: i64,
    expiry: Option<i64>,
    /// Committed latest content, or the content of a secret added in this hook.
    content: BTreeMap<String, String>,
    /// Content set in this hook, not yet a revision.
    pending_content: Option<BTreeMap<String, String>>,
    /// The label was changed by `secret-set` in this hook.
    label_changed: bool,
    removed: bool,
}

fn load(c: &Connection, xid: &str) -> std::result::Result<Option<View>, ToolError> {
    let row = c
        .query_row(
            "SELECT s.owner_app, s.owner_unit, s.label, s.description, s.rotate, s.latest, r.content, r.expiry \
             FROM secrets s JOIN secret_revisions r ON r.xid=s.xid AND r.rev=s.latest WHERE s.xid=?1",
            [xid],
            |r| {
                Ok((View {
                    xid: xid.to_owned(),
                    owner_app: r.get(0)?,
                    owner_unit: r.get(1)?,
                    label: r.get(2)?,
                    description: r.get(3)?,
                    rotate: r.get(4)?,
                    latest: r.get(5)?,
                    content: BTreeMap::new(),
                    expiry: r.get(7)?,
                    pending_content: None,
                    label_changed: false,
                    removed: false,
                }, r.get::<_, i64>(5)?, r.get::<_, String>(6)?))
            },
        )
        .optional()
        .map_err(store_err)?;
    row.map(|(mut v, rev, content)| {
        v.content = store::decode(
            "secret_revisions",
            &format!("{xid}/{rev}"),
            "content",
            &content,
        )
        .map_err(store_err)?;
        Ok(v)
    })
    .transpose()
}

/// The secret after this hook's buffered operations.
fn view(
    c: &Connection,
    ctx: &HookContext,
    xid: &str,
) -> std::result::Result<Option<View>, ToolError> {
    let mut v = load(c, xid)?;
    for op in ctx.pending().secrets.iter().filter(|op| op.xid() == xid) {
        match op {
            SecretOp::Add {
                xid,
                owner_unit,
                label,
                description,
                expiry,
                rotate,
                content,
            } => {
                v = Some(View {
                    xid: xid.clone(),
                    owner_app: ctx.app.name.clone(),
                    owner_unit: owner_unit.clone(),
                    label: label.clone(),
                    description: description.clone().unwrap_or_default(),
                    rotate: rotate.clone().unwrap_or_default(),
                    latest: 1,
                    expiry: *expiry,
                    content: content.clone(),
                    pending_content: None,
                    label_changed: false,
                    removed: false,
                });
            }
            SecretOp::Set {
                content,
                label,
                description,
                expiry,
                rotate,
                ..
            } => {
                if let Some(v) = v.as_mut() {
                    if let Some(cn) = content {
                        v.pending_content = Some(cn.clone());
                    }
                    if let Some(l) = label {
                        v.label = Some(l.clone());
                        v.label_changed = true;
                    }
                    if let Some(d) = description {
                        v.description = d.clone();
                    }
                    if expiry.is_some() {
                        v.expiry = *expiry;
                    }
                    if let Some(r) = rotate {
                        v.rotate = r.clone();
                    }
                }
            }
            SecretOp::Remove { revision: None, .. } => {
                if let Some(v) = v.as_mut() {
                    v.removed = true;
                }
            }
            _ => {}
        }
    }
    Ok(v.filter(|v| !v.removed))
}

/// Secrets of the unit's application (unit-owned ones only of this unit), committed or added
/// in this hook.
fn own_app_secrets(c: &Connection, ctx: &HookContext) -> std::result::Result<Vec<View>, ToolError> {
    let mut xids: Vec<String> = {
        let mut st = c
            .prepare("SELECT xid FROM secrets WHERE owner_app=?1 AND (owner_unit IS NULL OR owner_unit=?2) ORDER BY rowid")
            .map_err(store_err)?;
        st.query_map(params![ctx.app.name, ctx.unit.name], |r| r.get(0))
            .and_then(|r| r.collect())
            .map_err(store_err)?
    };
    for op in &ctx.pending().secrets {
        if let SecretOp::Add { xid, .. } = op {
            xids.push(xid.clone());
        }
    }
    let mut out = Vec::new();
    for x in xids {
        if let Some(v) = view(c, ctx, &x)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Whether the unit may change the secret: the owning unit, or the leader for app-owned ones.
fn manages(c: &Connection, ctx: &HookContext, v: &View) -> std::result::Result<bool, ToolError> {
    Ok(match &v.owner_unit {
        Some(u) => *u == ctx.unit.name,
        None => v.owner_app == ctx.app.name && is_leader(c, ctx)?,
    })
}

fn managed(c: &Connection, ctx: &HookContext, xid: &str) -> std::result::Result<View, ToolError> {
    let v = view(c, ctx, xid)?.ok_or_else(|| ToolError::runtime(msg::secret_not_found(xid)))?;
    if !manages(c, ctx, &v)? {
        return Err(if v.owner_unit.is_none() && v.owner_app == ctx.app.name {
            ToolError::runtime(msg::NOT_LEADER)
        } else {
            ToolError::runtime(msg::PERMISSION_DENIED)
        });
    }
    Ok(v)
}

fn expiry_of(c: &Connection, meta: &SecretMeta) -> std::result::Result<Option<i64>, ToolError> {
    let Some(text) = &meta.expire else {
        return Ok(None);
    };
    let now = crate::model::now_in(c).map_err(store_err)?;
    crate::clock::parse_expiry(text, now)
        .map(Some)
        .map_err(|e| ToolError::usage(format!("invalid value {text:?} for option --expire: {e}")))
}

/// `secret-add`: buffered; the URI is printed now.
pub(crate) fn add(
    model_uuid: &str,
    c: &Connection,
    ctx: &HookContext,
    meta: &SecretMeta,
    owner: Option<SecretOwner>,
    content: BTreeMap<String, String>,
) -> ToolResult {
    if content.is_empty() {
        return Err(ToolError::usage(msg::MISSING_SECRET_VALUE));
    }
    let unit_owned = wants_unit_owner(owner);
    if !unit_owned && !is_leader(c, ctx)? {
        return Err(ToolError::runtime(msg::NOT_LEADER));
    }
    if let Some(label) = &meta.label {
        let clash = own_app_secrets(c, ctx)?
            .iter()
            .any(|v| v.label.as_deref() == Some(label) && v.owner_unit.is_some() == unit_owned);
        if clash {
            return Err(ToolError::runtime(msg::secret_label_exists(label)));
        }
    }
    let expiry = expiry_of(c, meta)?;
    let xid = crate::secret_id::new_xid();
    ctx.pending().secrets.push(SecretOp::Add {
        xid: xid.clone(),
        owner_unit: unit_owned.then(|| ctx.unit.name.clone()),
        label: meta.label.clone(),
        description: meta.description.clone(),
        expiry,
        rotate: meta.rotate.map(|r| r.as_str().to_owned()),
        content,
    });
    Ok(Some(Value::String(crate::secret_id::uri(model_uuid, &xid))))
}

/// A `secret-set` / `secret-remove` of a secret the hook cannot see "succeeds" and fails the
/// hook at commit, as Juju's flush does (§6.5, §8.5); other refusals are immediate.
fn managed_or_deferred(
    c: &Connection,
    ctx: &HookContext,
    xid: &str,
) -> std::result::Result<bool, ToolError> {
    if view(c, ctx, xid)?.is_none() {
        ctx.pending().commit_errors.push(msg::secret_not_found(xid));
        return Ok(false);
    }
    managed(c, ctx, xid).map(|_| true)
}

/// `secret-set`: buffered. `--owner` is ignored, as Juju does (D6).
pub(crate) fn set(
    c: &Connection,
    ctx: &HookContext,
    xid: &str,
    meta: &SecretMeta,
    content: BTreeMap<String, String>,
) -> ToolResult {
    if !managed_or_deferred(c, ctx, xid)? {
        return Ok(None);
    }
    let expiry = expiry_of(c, meta)?;
    ctx.pending().secrets.push(SecretOp::Set {
        xid: xid.to_owned(),
        content: (!content.is_empty()).then_some(content),
        label: meta.label.clone(),
        description: meta.description.clone(),
        expiry,
        rotate: meta.rotate.map(|r| r.as_str().to_owned()),
    });
    Ok(None)
}

/// `secret-get`.
pub(crate) fn get(
    c: &Connection,
    ctx: &HookContext,
    xid: Option<&str>,
    key: Option<&str>,
    label: Option<&str>,
    refresh: bool,
    peek: bool,
) -> ToolResult {
    if refresh && peek {
        return Err(ToolError::usage(
            "specify one of --peek or --refresh but not both",
        ));
    }
    let xid = match (xid, label) {
        (Some(x), _) => x.to_owned(),
        (None, Some(l)) => by_label(c, ctx, l)?,
        (None, None) => return Err(ToolError::usage("require either a secret URI or label")),
    };
    let v = view(c, ctx, &xid)?.ok_or_else(|| ToolError::runtime(msg::secret_not_found(&xid)))?;
    let owner_side =
        v.owner_app == ctx.app.name && v.owner_unit.as_ref().is_none_or(|u| *u == ctx.unit.name);
    let content = if owner_side {
        // An owner's `secret-get <uri> --label L` names the secret; but ops sends the label the
        // object was created with even after renaming it in this hook (D8), so a rename wins.
        if let (Some(l), true) = (label, manages(c, ctx, &v)?) {
            if !v.label_changed && v.label.as_deref() != Some(l) {
                c.execute("UPDATE secrets SET label=?2 WHERE xid=?1", params![xid, l])
                    .map_err(store_err)?;
            }
        }
        match (&v.pending_content, refresh || peek) {
            (Some(p), true) => p.clone(),
            _ => v.content.clone(),
        }
    } else if v.owner_app == ctx.app.name {
        return Err(ToolError::runtime(msg::PERMISSION_DENIED));
    } else {
        consumer_read(c, ctx, &v, label, refresh, peek)?
    };
    Ok(Some(match key {
        Some(k) => Value::String(
            content
                .get(k)
                .cloned()
                .ok_or_else(|| ToolError::runtime(format!("secret key {k:?} not found")))?,
        ),
        None => Value::Object(
            content
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
    }))
}

/// A consumer's read: needs a grant; starts tracking on first read; `--refresh` moves tracking
/// to the latest, `--peek` reads it without moving. Tracking and the consumer label are kept
/// by the controller, so they change now, not at commit.
fn consumer_read(
    c: &Connection,
    ctx: &HookContext,
    v: &View,
    label: Option<&str>,
    refresh: bool,
    peek: bool,
) -> std::result::Result<BTreeMap<String, String>, ToolError> {
    let granted: bool = c
        .query_row(
            "SELECT COUNT(*)>0 FROM secret_grants WHERE xid=?1 AND (target=?2 OR target=?3)",
            params![v.xid, ctx.app.name, ctx.unit.name],
            |r| r.get(0),
        )
        .map_err(store_err)?;
    if !granted {
        return Err(ToolError::runtime(msg::PERMISSION_DENIED));
    }
    let tracked: Option<i64> = c
        .query_row(
            "SELECT tracked FROM secret_consumers WHERE xid=?1 AND unit=?2",
            params![v.xid, ctx.unit.name],
            |r| r.get(0),
        )
        .optional()
        .map_err(store_err)?;
    let tracked = match tracked {
        None => {
            c.execute(
                "INSERT INTO secret_consumers(xid,unit,label,tracked) VALUES(?1,?2,?3,?4)",
                params![v.xid, ctx.unit.name, label, v.latest],
            )
            .map_err(store_err)?;
            v.latest
        }
        Some(t) => {
            let t = if refresh { v.latest } else { t };
            c.execute(
                "UPDATE secret_consumers SET tracked=?3 WHERE xid=?1 AND unit=?2",
                params![v.xid, ctx.unit.name, t],
            )
            .map_err(store_err)?;
            if let Some(l) = label {
                c.execute(
                    "UPDATE secret_consumers SET label=?3 WHERE xid=?1 AND unit=?2",
                    params![v.xid, ctx.unit.name, l],
                )
                .map_err(store_err)?;
            }
            t
        }
    };
    let rev = if peek { v.latest } else { tracked };
    let raw: String = c
        .query_row(
            "SELECT content FROM secret_revisions WHERE xid=?1 AND rev=?2",
            params![v.xid, rev],
            |r| r.get(0),
        )
        .optional()
        .map_err(store_err)?
        .ok_or_else(|| ToolError::runtime(msg::secret_not_found(&v.xid)))?;
    queue_obsolete(c).map_err(store_err)?;
    store::decode(
        "secret_revisions",
        &format!("{}/{rev}", v.xid),
        "content",
        &raw,
    )
    .map_err(store_err)
}

/// Resolves a label: an owner label of the application's secrets first, then a consumer label
/// of this unit.
fn by_label(
    c: &Connection,
    ctx: &HookContext,
    label: &str,
) -> std::result::Result<String, ToolError> {
    if let Some(v) = own_app_secrets(c, ctx)?
        .into_iter()
        .find(|v| v.label.as_deref() == Some(label))
    {
        return Ok(v.xid);
    }
    let consumer: Option<String> = c
        .query_row(
            "SELECT xid FROM secret_consumers WHERE unit=?1 AND label=?2",
            params![ctx.unit.name, label],
            |r| r.get(0),
        )
        .optional()
        .map_err(store_err)?;
    consumer.ok_or_else(|| ToolError::runtime(msg::secret_label_not_found(label)))
}

/// `secret-info-get`: only secrets this unit manages.
pub(crate) fn info_get(
    c: &Connection,
    ctx: &HookContext,
    xid: Option<&str>,
    label: Option<&str>,
) -> ToolResult {
    let v = match (xid, label) {
        (Some(_), Some(_)) => return Err(ToolError::usage(msg::URI_OR_LABEL)),
        (None, None) => return Err(ToolError::usage("require either a secret URI or label")),
        (Some(x), None) => match view(c, ctx, x)? {
            Some(v) if manages(c, ctx, &v)? => v,
            _ => return Err(ToolError::runtime(msg::secret_not_found(x))),
        },
        (None, Some(l)) => {
            let mut found = None;
            for v in own_app_secrets(c, ctx)? {
                if v.label.as_deref() == Some(l) && manages(c, ctx, &v)? {
                    found = Some(v);
                    break;
                }
            }
            found.ok_or_else(|| ToolError::runtime(msg::secret_label_not_found(l)))?
        }
    };
    let info = secret_info(
        v.owner_unit.is_some(),
        v.label.clone(),
        v.description.clone(),
        v.rotate.clone(),
        v.latest,
        v.expiry,
    );
    let mut out = serde_json::Map::new();
    out.insert(
        v.xid.clone(),
        serde_json::to_value(info).map_err(store_err)?,
    );
    Ok(Some(Value::Object(out)))
}

/// `secret-ids`: the secrets this unit manages, including ones added in this hook.
pub(crate) fn ids(c: &Connection, ctx: &HookContext) -> ToolResult {
    let mut out = Vec::new();
    for v in own_app_secrets(c, ctx)? {
        if manages(c, ctx, &v)? {
            out.push(Value::String(v.xid));
        }
    }
    Ok(Some(if out.is_empty() {
        Value::Null
    } else {
        Value::Array(out)
    }))
}

/// `secret-grant`: to the remote application of the relation, or one of its units.
pub(crate) fn grant(
    c: &Connection,
    ctx: &HookContext,
    xid: &str,
    r: &Relation,
    unit: Option<&str>,
) -> ToolResult {
    managed(c, ctx, xid)?;
    let other = r.other_app(&ctx.app.name);
    let target = match unit {
        Some(u) if u.split('/').next() != Some(other) => {
            return Err(ToolError::runtime(format!(
                "cannot grant access to unit {u:?}: not a unit of {other:?}"
            )));
        }
        Some(u) => u.to_owned(),
        None => other.to_owned(),
    };
    ctx.pending().secrets.push(SecretOp::Grant {
        xid: xid.to_owned(),
        relation_id: r.id,
        target,
    });
    Ok(None)
}

/// `secret-revoke`.
pub(crate) fn revoke(
    c: &Connection,
    ctx: &HookContext,
    xid: &str,
    relation_id: Option<i64>,
    target: Option<String>,
) -> ToolResult {
    managed(c, ctx, xid)?;
    ctx.pending().secrets.push(SecretOp::Revoke {
        xid: xid.to_owned(),
        relation_id,
        target,
    });
    Ok(None)
}

/// `secret-remove [--revision]`.
pub(crate) fn remove(
    c: &Connection,
    ctx: &HookContext,
    xid: &str,
    revision: Option<i64>,
) -> ToolResult {
    if !managed_or_deferred(c, ctx, xid)? {
        return Ok(None);
    }
    ctx.pending().secrets.push(SecretOp::Remove {
        xid: xid.to_owned(),
        revision,
    });
    Ok(None)
}

/// Commits a hook's secret operations in call order. Several content changes to one secret in
/// one hook make one revision; content equal to the latest makes none (Juju 3.6).
pub(crate) fn commit(c: &Connection, ctx: &HookContext, ops: &[SecretOp], now: i64) -> Result<()> {
    let mut new_revs: BTreeSet<String> = BTreeSet::new();
    let mut expiries = Vec::new();
    for op in ops {
        match op {
            SecretOp::Add {
                xid,
                owner_unit,
                label,
                description,
                expiry,
                rotate,
                content,
            } => {
                let rotate_due = rotate
                    .as_deref()
                    .and_then(crate::timers::rotate_interval)
                    .map(|i| now + i);
                c.execute(
                    "INSERT INTO secrets(xid,owner_app,owner_unit,label,description,rotate,rotate_due,latest) VALUES(?1,?2,?3,?4,?5,?6,?7,1)",
                    params![xid, ctx.app.name, owner_unit, label, description.clone().unwrap_or_default(), rotate.clone().unwrap_or_default(), rotate_due],
                )?;
                c.execute(
                    "INSERT INTO secret_revisions(xid,rev,content,expiry,expire_due) VALUES(?1,1,?2,?3,?3)",
                    params![xid, serde_json::to_string(content).unwrap_or_default(), expiry],
                )?;
                new_revs.insert(xid.clone());
            }
            SecretOp::Set {
                xid,
                content,
                label,
                description,
                expiry,
                rotate,
            } => {
                let Some((latest, latest_content)) = c
                    .query_row(
                        "SELECT s.latest, r.content FROM secrets s JOIN secret_revisions r ON r.xid=s.xid AND r.rev=s.latest WHERE s.xid=?1",
                        [xid],
                        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                    )
                    .optional()?
                else {
                    continue;
                };
                if let Some(content) = content {
                    let text = serde_json::to_string(content).unwrap_or_default();
                    let current: BTreeMap<String, String> = store::decode(
                        "secret_revisions",
                        &format!("{xid}/{latest}"),
                        "content",
                        &latest_content,
                    )?;
                    if new_revs.contains(xid) {
                        c.execute(
                            "UPDATE secret_revisions SET content=?3 WHERE xid=?1 AND rev=?2",
                            params![xid, latest, text],
                        )?;
                    } else if current != *content {
                        c.execute(
                            "INSERT INTO secret_revisions(xid,rev,content) VALUES(?1,?2,?3)",
                            params![xid, latest + 1, text],
                        )?;
                        c.execute(
                            "UPDATE secrets SET latest=?2 WHERE xid=?1",
                            params![xid, latest + 1],
                        )?;
                        let policy: String =
                            c.query_row("SELECT rotate FROM secrets WHERE xid=?1", [xid], |r| {
                                r.get(0)
                            })?;
                        let due = crate::timers::rotate_interval(&policy).map(|i| now + i);
                        c.execute(
                            "UPDATE secrets SET rotate_due=?2 WHERE xid=?1",
                            params![xid, due],
                        )?;
                        new_revs.insert(xid.clone());
                    }
                }
                if let Some(l) = label {
                    c.execute("UPDATE secrets SET label=?2 WHERE xid=?1", params![xid, l])?;
                }
                if let Some(d) = description {
                    c.execute(
                        "UPDATE secrets SET description=?2 WHERE xid=?1",
                        params![xid, d],
                    )?;
                }
                if let Some(r) = rotate {
                    let due = crate::timers::rotate_interval(r).map(|i| now + i);
                    c.execute(
                        "UPDATE secrets SET rotate=?2, rotate_due=?3 WHERE xid=?1",
                        params![xid, r, due],
                    )?;
                }
                if let Some(e) = expiry {
                    expiries.push((xid.clone(), *e));
                }
            }
            SecretOp::Remove {
                xid,
                revision: None,
            } => {
                for sql in [
                    "DELETE FROM secrets WHERE xid=?1",
                    "DELETE FROM secret_revisions WHERE xid=?1",
                    "DELETE FROM secret_grants WHERE xid=?1",
                    "DELETE FROM secret_consumers WHERE xid=?1",
                    "DELETE FROM hooks WHERE secret=?1 AND failed=0",
                ] {
                    c.execute(sql, [xid])?;
                }
            }
            SecretOp::Remove {
                xid,
                revision: Some(rev),
            } => {
                c.execute(
                    "DELETE FROM secret_revisions WHERE xid=?1 AND rev=?2",
                    params![xid, rev],
                )?;
                c.execute(
                    "DELETE FROM hooks WHERE secret=?1 AND secret_rev=?2 AND failed=0",
                    params![xid, rev],
                )?;
            }
            SecretOp::Grant {
                xid,
                relation_id,
                target,
            } => {
                c.execute(
                    "INSERT OR IGNORE INTO secret_grants(xid,relation_id,target) VALUES(?1,?2,?3)",
                    params![xid, relation_id, target],
                )?;
            }
            SecretOp::Revoke {
                xid,
                relation_id,
                target,
            } => {
                c.execute(
                    "DELETE FROM secret_grants WHERE xid=?1 AND (?2 IS NULL OR relation_id=?2) AND (?3 IS NULL OR target=?3 OR target LIKE ?3 || '/%')",
                    params![xid, relation_id, target],
                )?;
            }
        }
    }
    // Juju coalesces a hook's `secret-set` calls on one secret into one update: an expiry set
    // before new content belongs to the revision that content makes (`set_info(expire=…)` then
    // `set_content(…)`, as the published self-signed-certificates charm renews its CA).
    for (xid, e) in expiries {
        c.execute(
            "UPDATE secret_revisions SET expiry=?2, expire_due=?2 WHERE xid=?1 AND rev=(SELECT latest FROM secrets WHERE xid=?1)",
            params![xid, e],
        )?;
    }
    for xid in &new_revs {
        let latest: Option<i64> = c
            .query_row("SELECT latest FROM secrets WHERE xid=?1", [xid], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(latest) = latest else { continue };
        let stale: Vec<String> = {
            let mut st = c.prepare(
                "SELECT unit FROM secret_consumers WHERE xid=?1 AND tracked<>?2 ORDER BY unit",
            )?;
            st.query_map(params![xid, latest], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for unit in stale {
            store::enqueue(
                c,
                &Hook {
                    unit,
                    hook: "secret-changed".into(),
                    secret: Some(xid.clone()),
                    secret_rev: Some(latest),
                    ..Hook::default()
                },
            )?;
        }
    }
    queue_obsolete(c)
}

/// Sends secret-remove to the owner for each old revision no consumer tracks any more.
pub(crate) fn queue_obsolete(c: &Connection) -> Result<()> {
    let obsolete: Vec<(String, i64, String, Option<String>)> = {
        let mut st = c.prepare(
            "SELECT r.xid, r.rev, s.owner_app, s.owner_unit FROM secret_revisions r JOIN secrets s ON s.xid=r.xid \
             WHERE r.rev < s.latest AND r.remove_notified=0 \
             AND NOT EXISTS (SELECT 1 FROM secret_consumers sc WHERE sc.xid=r.xid AND sc.tracked=r.rev)",
        )?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (xid, rev, app, unit) in obsolete {
        if let Some(owner) = crate::timers::owner_unit(c, &app, unit.as_deref())? {
            store::enqueue(
                c,
                &Hook {
                    unit: owner,
                    hook: "secret-remove".into(),
                    secret: Some(xid.clone()),
                    secret_rev: Some(rev),
                    ..Hook::default()
                },
            )?;
        }
        c.execute(
            "UPDATE secret_revisions SET remove_notified=1 WHERE xid=?1 AND rev=?2",
            params![xid, rev],
        )?;
    }
    Ok(())
}

/// `JUJU_SECRET_LABEL` for a secret hook: the consumer's label for secret-changed, the owner
/// label for the owner's events.
pub(crate) fn hook_label(c: &Connection, hook: &Hook) -> Result<String> {
    let Some(xid) = &hook.secret else {
        return Ok(String::new());
    };
    let label: Option<Option<String>> = if hook.hook == "secret-changed" {
        c.query_row(
            "SELECT label FROM secret_consumers WHERE xid=?1 AND unit=?2",
            params![xid, hook.unit],
            |r| r.get(0),
        )
        .optional()?
    } else {
        c.query_row("SELECT label FROM secrets WHERE xid=?1", [xid], |r| {
            r.get(0)
        })
        .optional()?
    };
    Ok(label.flatten().unwrap_or_default())
}
