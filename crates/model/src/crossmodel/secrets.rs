//! Secrets across models, as Juju 3.3+ shares them: an owner grants a secret on a cross-model
//! relation (to the consumer's stand-in, `remote-<token>` or one of its units), and a unit of
//! the consuming model reads it by its URI, which names the owning model. The read goes to the
//! owning model's store: the grant is checked there and the revision the reader tracks is kept
//! there, under its stand-in unit, so the owner's revisions stay as long as a remote reader
//! tracks them. The consuming model keeps the reader's label and the latest revision it was
//! told about; each sync of the relation sends it secret-changed when the owner made a newer
//! one ([`notify`]).

use std::collections::BTreeMap;

use hook_tools::error::msg;
use hook_tools::{HookKind, SecretHook, ToolError};
use rusqlite::Connection;

use crate::context::HookContext;
use crate::error::Result;
use crate::model::Model;
use crate::secrets::store_err;
use crate::store::crossmodel::{self as xm, RemoteSecret};
use crate::store::{self, Hook};

/// Which secret a `secret-get` names, when it is another model's: by a URI naming a peer
/// model, or by a label this unit gave a remote secret. `None`: a secret of this model.
pub(crate) fn named_remote(
    model: &Model,
    c: &Connection,
    ctx: &HookContext,
    uri: Option<&hook_tools::values::SecretUri>,
    label: Option<&str>,
) -> std::result::Result<Option<(String, String)>, ToolError> {
    if let Some(uri) = uri {
        return Ok(uri
            .model_uuid()
            .filter(|u| *u != model.uuid())
            .map(|u| (u.to_owned(), uri.xid().to_owned())));
    }
    let Some(label) = label else { return Ok(None) };
    // A label of this model's secrets wins, as the local lookup tries those first.
    if store::secrets::consumed_by_label(c, &ctx.unit.name, label)
        .map_err(store_err)?
        .is_some()
    {
        return Ok(None);
    }
    Ok(xm::remote_secret_by_label(c, &ctx.unit.name, label)
        .map_err(store_err)?
        .map(|r| (r.model_uuid, r.xid)))
}

/// `secret-get` of another model's secret by a unit of this one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn get(
    model: &Model,
    c: &Connection,
    ctx: &HookContext,
    (model_uuid, xid): (String, String),
    label: Option<&str>,
    refresh: bool,
    peek: bool,
) -> std::result::Result<BTreeMap<String, String>, ToolError> {
    let not_found = || ToolError::runtime(msg::secret_not_found(&xid));
    // The relations of this unit's application to that model, with the name this unit has
    // there (its stand-in's unit).
    let mut readers = Vec::new();
    for link in xm::links(c).map_err(store_err)? {
        if link.peer_uuid != model_uuid || link.local_app != ctx.app.name {
            continue;
        }
        let Some(peer_relation) = link.peer_relation else {
            continue;
        };
        readers.push((link.peer_model.clone(), peer_relation));
    }
    let Some((peer_name, _)) = readers.first() else {
        return Err(not_found());
    };
    let peer = model
        .registry()
        .open(Some(peer_name))
        .ok()
        .filter(|p| p.uuid() == model_uuid)
        .ok_or_else(not_found)?;
    let result = peer.tx(|pc| {
        let Some(latest) = store::secrets::latest_revision(pc, &xid)? else {
            return Ok(Err(not_found()));
        };
        for (_, peer_relation) in &readers {
            let Some(their) = xm::link(pc, *peer_relation)? else {
                continue;
            };
            let stand_in = super::sync::renamed(&ctx.unit.name, &their.remote_app);
            if !store::secrets::is_granted(pc, &xid, &their.remote_app, &stand_in)? {
                continue;
            }
            let tracked = match store::secrets::tracked(pc, &xid, &stand_in)? {
                None => {
                    store::secrets::add_consumer(pc, &xid, &stand_in, None, latest)?;
                    latest
                }
                Some(t) => {
                    let t = if refresh { latest } else { t };
                    store::secrets::set_tracked(pc, &xid, &stand_in, t)?;
                    t
                }
            };
            let rev = if peek { latest } else { tracked };
            let Some(content) = store::secrets::revision_content(pc, &xid, rev)? else {
                return Ok(Err(not_found()));
            };
            crate::secrets::queue_obsolete(pc)?;
            return Ok(Ok((content, tracked.max(rev))));
        }
        Ok(Err(ToolError::runtime(msg::PERMISSION_DENIED)))
    });
    let (content, seen) = result.map_err(store_err)??;
    xm::upsert_remote_secret(
        c,
        &RemoteSecret {
            unit: ctx.unit.name.clone(),
            xid: xid.clone(),
            model_uuid,
            label: label.map(str::to_owned),
            notified: seen,
        },
    )
    .map_err(store_err)?;
    Ok(content)
}

/// Sends secret-changed to the units of this model that read a secret of `peer` which has a
/// newer revision than they were told about. Whether hooks were queued.
pub(crate) fn notify(c: &Connection, peer: &Model) -> Result<bool> {
    let mut queued = false;
    for s in xm::remote_secrets(c)? {
        if s.model_uuid != peer.uuid() {
            continue;
        }
        let Some(latest) = store::secrets::latest_revision(&peer.db(), &s.xid)? else {
            continue;
        };
        if latest <= s.notified {
            continue;
        }
        store::enqueue(
            c,
            &Hook {
                secret: Some(crate::secret_id::uri(&s.model_uuid, &s.xid)),
                secret_rev: Some(latest),
                ..Hook::new(s.unit.clone(), HookKind::Secret(SecretHook::Changed))
            },
        )?;
        xm::upsert_remote_secret(
            c,
            &RemoteSecret {
                notified: latest,
                label: None,
                ..s
            },
        )?;
        queued = true;
    }
    Ok(queued)
}
