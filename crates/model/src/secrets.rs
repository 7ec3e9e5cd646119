//! Secrets as a hook sees them (the store plus its own buffered `secret-*` calls) and how those
//! calls are committed: owners always read the latest revision, consumers track one (§8.4);
//! a new revision sends secret-changed to consumers tracking an older one, and a revision nobody
//! tracks any more sends secret-remove to its owner.

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::error::msg;
use hook_tools::values::SecretOwner;
use hook_tools::{HookKind, SecretHook, SecretMeta, ToolError};
use rusqlite::Connection;
use serde_json::Value;

use crate::context::{HookContext, SecretOp};
use crate::error::Result;
use crate::store::{self, Hook, Relation};
use crate::tools::{is_leader, secret_info, wants_unit_owner};

type ToolResult = std::result::Result<Option<Value>, ToolError>;

pub(crate) fn store_err(e: impl std::fmt::Display) -> ToolError {
    ToolError::runtime(format!("model store: {e}"))
}

/// A secret as the running hook sees it.
#[derive(Debug, Clone)]
struct View {
    xid: String,
    /// `None`: owned by the model (a user secret).
    owner_app: Option<String>,
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
    Ok(store::secrets::latest(c, xid)
        .map_err(store_err)?
        .map(|s| View {
            xid: xid.to_owned(),
            owner_app: s.owner_app,
            owner_unit: s.owner_unit,
            label: s.label,
            description: s.description,
            rotate: s.rotate,
            latest: s.latest,
            expiry: s.expiry,
            content: s.content,
            pending_content: None,
            label_changed: false,
            removed: false,
        }))
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
                    owner_app: Some(ctx.app.name.clone()),
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
    let mut xids = store::secrets::owned_by(c, &ctx.app.name, &ctx.unit.name).map_err(store_err)?;
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
        None => v.owner_app.as_deref() == Some(ctx.app.name.as_str()) && is_leader(c, ctx)?,
    })
}

fn managed(c: &Connection, ctx: &HookContext, xid: &str) -> std::result::Result<View, ToolError> {
    let v = view(c, ctx, xid)?.ok_or_else(|| ToolError::runtime(msg::secret_not_found(xid)))?;
    if !manages(c, ctx, &v)? {
        return Err(
            if v.owner_unit.is_none() && v.owner_app.as_deref() == Some(&ctx.app.name) {
                ToolError::runtime(msg::NOT_LEADER)
            } else {
                ToolError::runtime(msg::PERMISSION_DENIED)
            },
        );
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

/// What a `secret-get` call asks.
pub(crate) struct SecretGetArgs<'a> {
    pub(crate) uri: Option<&'a hook_tools::values::SecretUri>,
    pub(crate) key: Option<&'a str>,
    pub(crate) label: Option<&'a str>,
    pub(crate) refresh: bool,
    pub(crate) peek: bool,
}

/// The secret a `secret-get` names, by URI or else by label.
fn named_xid(
    c: &Connection,
    ctx: &HookContext,
    uri: Option<&hook_tools::values::SecretUri>,
    label: Option<&str>,
) -> std::result::Result<String, ToolError> {
    match (uri.map(|u| u.xid()), label) {
        (Some(x), _) => Ok(x.to_owned()),
        (None, Some(l)) => by_label(c, ctx, l),
        (None, None) => Err(ToolError::usage("require either a secret URI or label")),
    }
}

/// `secret-get`.
pub(crate) fn get(
    model: &crate::model::Model,
    c: &Connection,
    ctx: &HookContext,
    args: &SecretGetArgs<'_>,
) -> ToolResult {
    let &SecretGetArgs {
        uri,
        key,
        label,
        refresh,
        peek,
    } = args;
    if refresh && peek {
        return Err(ToolError::usage(
            "specify one of --peek or --refresh but not both",
        ));
    }
    // Another model's secret, shared over a cross-model relation: read from its owner's store.
    if let Some(named) = crate::crossmodel::secrets::named_remote(model, c, ctx, uri, label)? {
        let content = crate::crossmodel::secrets::get(model, c, ctx, named, label, refresh, peek)?;
        return content_reply(content, key);
    }
    let xid = named_xid(c, ctx, uri, label)?;
    let v = view(c, ctx, &xid)?.ok_or_else(|| ToolError::runtime(msg::secret_not_found(&xid)))?;
    let own_app = v.owner_app.as_deref() == Some(ctx.app.name.as_str());
    let content = if is_owner_side(ctx, &v) {
        if let Some(l) = label_to_record(c, ctx, &v, label)? {
            store::secrets::set_label(c, &xid, l).map_err(store_err)?;
        }
        owner_content(&v, refresh, peek)
    } else if own_app {
        return Err(ToolError::runtime(msg::PERMISSION_DENIED));
    } else {
        consumer_read(c, ctx, &v, label, refresh, peek)?
    };
    content_reply(content, key)
}

/// What `secret-get` prints: one key's value, or the whole content.
fn content_reply(content: BTreeMap<String, String>, key: Option<&str>) -> ToolResult {
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

/// `secret-get` of a secret this unit owns, when answering it changes nothing: served on the
/// hook-tool server's read connection, so a unit reading its own key does not wait for
/// another hook's commit. `None` when [`get`] must answer it (on the main connection): a
/// consumer's read records what it tracks, an owner may name a new label, another model's
/// secret is read from there, and every error but a missing key (the same text either way) is
/// reported by [`get`].
pub(crate) fn get_own_without_writing(
    model: &crate::model::Model,
    c: &Connection,
    ctx: &HookContext,
    args: &SecretGetArgs<'_>,
) -> Option<ToolResult> {
    if args.refresh && args.peek
        || crate::crossmodel::secrets::named_remote(model, c, ctx, args.uri, args.label)
            .ok()?
            .is_some()
    {
        return None;
    }
    let xid = named_xid(c, ctx, args.uri, args.label).ok()?;
    let v = view(c, ctx, &xid).ok()??;
    if !is_owner_side(ctx, &v) || label_to_record(c, ctx, &v, args.label).ok()?.is_some() {
        return None;
    }
    Some(content_reply(
        owner_content(&v, args.refresh, args.peek),
        args.key,
    ))
}

/// Whether this unit reads `v` as its owner: its application's secret, and its own unit's
/// if unit-owned.
fn is_owner_side(ctx: &HookContext, v: &View) -> bool {
    v.owner_app.as_deref() == Some(ctx.app.name.as_str())
        && v.owner_unit.as_ref().is_none_or(|u| *u == ctx.unit.name)
}

/// The label an owner's `secret-get <uri> --label L` gives the secret, if it changes it. ops
/// sends the label the object was created with even after renaming it in this hook (D8), so a
/// rename wins.
fn label_to_record<'l>(
    c: &Connection,
    ctx: &HookContext,
    v: &View,
    label: Option<&'l str>,
) -> std::result::Result<Option<&'l str>, ToolError> {
    match label {
        Some(l) if !v.label_changed && v.label.as_deref() != Some(l) && manages(c, ctx, v)? => {
            Ok(Some(l))
        }
        _ => Ok(None),
    }
}

/// What an owner reads: the revision this hook set, with `--refresh` or `--peek`.
fn owner_content(v: &View, refresh: bool, peek: bool) -> BTreeMap<String, String> {
    match (&v.pending_content, refresh || peek) {
        (Some(p), true) => p.clone(),
        _ => v.content.clone(),
    }
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
    let unit = &ctx.unit.name;
    let granted = store::secrets::is_granted(c, &v.xid, &ctx.app.name, unit).map_err(store_err)?;
    if !granted {
        return Err(ToolError::runtime(msg::PERMISSION_DENIED));
    }
    let tracked = store::secrets::tracked(c, &v.xid, unit).map_err(store_err)?;
    let tracked = match tracked {
        None => {
            store::secrets::add_consumer(c, &v.xid, unit, label, v.latest).map_err(store_err)?;
            v.latest
        }
        Some(t) => {
            let t = if refresh { v.latest } else { t };
            store::secrets::set_tracked(c, &v.xid, unit, t).map_err(store_err)?;
            if let Some(l) = label {
                store::secrets::set_consumer_label(c, &v.xid, unit, l).map_err(store_err)?;
            }
            t
        }
    };
    let rev = if peek { v.latest } else { tracked };
    let content = store::secrets::revision_content(c, &v.xid, rev)
        .map_err(store_err)?
        .ok_or_else(|| ToolError::runtime(msg::secret_not_found(&v.xid)))?;
    queue_obsolete(c).map_err(store_err)?;
    Ok(content)
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
    let consumer =
        store::secrets::consumed_by_label(c, &ctx.unit.name, label).map_err(store_err)?;
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
    let rotate_due = |policy: &str| crate::timers::rotate_interval(policy).map(|i| now + i);
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
                store::secrets::insert(
                    c,
                    &store::secrets::New {
                        xid,
                        owner_app: Some(&ctx.app.name),
                        owner_unit: owner_unit.as_deref(),
                        label: label.as_deref(),
                        description: description.as_deref().unwrap_or_default(),
                        rotate: rotate.as_deref().unwrap_or_default(),
                        rotate_due: rotate.as_deref().and_then(rotate_due),
                        expiry: *expiry,
                        content,
                        now,
                    },
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
                let Some(current) = store::secrets::latest(c, xid)? else {
                    continue;
                };
                if let Some(content) = content {
                    if new_revs.contains(xid) {
                        store::secrets::replace_content(c, xid, current.latest, content)?;
                    } else if current.content != *content {
                        store::secrets::add_revision(c, xid, current.latest + 1, content, now)?;
                        store::secrets::set_rotate_due(c, xid, rotate_due(&current.rotate))?;
                        new_revs.insert(xid.clone());
                    }
                }
                if let Some(l) = label {
                    store::secrets::set_label(c, xid, l)?;
                }
                if let Some(d) = description {
                    store::secrets::set_description(c, xid, d)?;
                }
                if let Some(r) = rotate {
                    store::secrets::set_rotate(c, xid, r, rotate_due(r))?;
                }
                if let Some(e) = expiry {
                    expiries.push((xid.clone(), *e));
                }
            }
            SecretOp::Remove { xid, revision } => {
                match revision {
                    None => store::secrets::delete(c, xid)?,
                    Some(rev) => store::secrets::delete_revision(c, xid, *rev)?,
                }
                store::hooks::drop_secret_hooks(c, xid, *revision)?;
            }
            SecretOp::Grant {
                xid,
                relation_id,
                target,
            } => store::secrets::grant(c, xid, *relation_id, target)?,
            SecretOp::Revoke {
                xid,
                relation_id,
                target,
            } => store::secrets::revoke(c, xid, *relation_id, target.as_deref())?,
        }
    }
    // Juju coalesces a hook's `secret-set` calls on one secret into one update: an expiry set
    // before new content belongs to the revision that content makes (`set_info(expire=…)` then
    // `set_content(…)`, as the published self-signed-certificates charm renews its CA).
    for (xid, e) in expiries {
        store::secrets::set_latest_expiry(c, &xid, e)?;
    }
    for xid in &new_revs {
        notify_consumers(c, xid)?;
    }
    queue_obsolete(c)
}

/// Queues secret-changed for each consumer tracking a revision older than the latest.
pub(crate) fn notify_consumers(c: &Connection, xid: &str) -> Result<()> {
    let Some(latest) = store::secrets::latest_revision(c, xid)? else {
        return Ok(());
    };
    for unit in store::secrets::consumers_not_tracking(c, xid, latest)? {
        // A reader in another model (its stand-in here) hears of it through the sync.
        if store::crossmodel::remote_app(c, crate::names::app_of(&unit)?)?.is_some() {
            continue;
        }
        store::enqueue(
            c,
            &Hook {
                secret: Some(xid.to_owned()),
                secret_rev: Some(latest),
                ..Hook::new(unit, HookKind::Secret(SecretHook::Changed))
            },
        )?;
    }
    Ok(())
}

/// Sends secret-remove to the owner for each old revision no consumer tracks any more. A
/// model-owned secret has no owner unit: its revision is deleted if the user asked for
/// `--auto-prune`, else kept until `remove-secret --revision`.
pub(crate) fn queue_obsolete(c: &Connection) -> Result<()> {
    for s in store::secrets::obsolete_revisions(c)? {
        let rev = s.rev.unwrap_or_default();
        if s.owner_app.is_none() {
            if store::secrets::auto_prune(c, &s.xid)? {
                store::secrets::delete_revision(c, &s.xid, rev)?;
                store::hooks::drop_secret_hooks(c, &s.xid, Some(rev))?;
            } else {
                store::secrets::mark_remove_notified(c, &s.xid, rev)?;
            }
            continue;
        }
        let owner = crate::timers::owner_unit(c, s.owner_app.as_deref(), s.owner_unit.as_deref())?;
        if let Some(owner) = owner {
            store::enqueue(
                c,
                &Hook {
                    secret: Some(s.xid.clone()),
                    secret_rev: Some(rev),
                    ..Hook::new(owner, HookKind::Secret(SecretHook::Remove))
                },
            )?;
        }
        store::secrets::mark_remove_notified(c, &s.xid, rev)?;
    }
    Ok(())
}

/// `JUJU_SECRET_LABEL` for a secret hook: the consumer's label for secret-changed, the owner
/// label for the owner's events.
pub(crate) fn hook_label(c: &Connection, hook: &Hook) -> Result<String> {
    let Some(xid) = &hook.secret else {
        return Ok(String::new());
    };
    if let Some(uri) = xid.strip_prefix("secret:") {
        // Another model's secret: the label is the reader's, kept here.
        let xid = uri.rsplit('/').next().unwrap_or(uri);
        return Ok(store::crossmodel::remote_secret(c, &hook.unit, xid)?
            .and_then(|r| r.label)
            .unwrap_or_default());
    }
    let label = if hook.hook == HookKind::Secret(SecretHook::Changed) {
        store::secrets::consumer_label(c, xid, &hook.unit)?
    } else {
        store::secrets::owner_label(c, xid)?
    };
    Ok(label.unwrap_or_default())
}
