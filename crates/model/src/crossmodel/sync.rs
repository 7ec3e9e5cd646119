//! The copy between linked relations of two models (see the module above): scope and databags
//! of each side's units, pushed into the other side's remote scope, with the hooks Juju would
//! deliver for what changed; linking a new consuming relation to the offer; ending a relation
//! whose other side went.

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::{HookKind, RelationHook};
use rusqlite::Connection;

use crate::error::{Result, UsageError};
use crate::lifecycle::{departed, dying_relation, relation_created};
use crate::model::Model;
use crate::store::crossmodel::{self as xm, Link, RemoteApp, RemoteKind};
use crate::store::{self, Hook, Relation};

/// What one side of a linked relation holds: its live units in scope with their bags, named as
/// the other side sees them, and its application's bag.
#[derive(Debug, Default, PartialEq, Eq)]
struct Snapshot {
    units: BTreeMap<String, BTreeMap<String, String>>,
    app_bag: BTreeMap<String, String>,
    /// The application's status and message (shown on the consuming side's SAAS).
    status: (String, String),
}

impl Model {
    /// Copies every linked relation between this model and its peers, both ways, and links
    /// consuming relations not linked yet. Returns the peer models in which hooks were queued
    /// (their settlers have work). Cheap when the model has no cross-model relation.
    pub fn sync_cross_model(&self) -> Result<BTreeSet<String>> {
        let mut woken = BTreeSet::new();
        let (links, remotes) = {
            let db = self.db();
            if !xm::has_links(&db)? {
                let dying = xm::remote_apps(&db)?.iter().any(|r| r.dying);
                if !dying {
                    return Ok(woken);
                }
            }
            (xm::links(&db)?, xm::remote_apps(&db)?)
        };
        for link in links {
            // One link failing (a peer's store busy past the timeout, a damaged peer) must not
            // stop this model's hooks: it is logged and tried again at the next sync.
            match self.sync_link(&link) {
                Ok(true) => {
                    woken.insert(link.peer_model.clone());
                }
                Ok(false) => {}
                Err(e) => {
                    let message = format!(
                        "cross-model relation {} with model {:?}: sync failed, will retry: {e}",
                        link.relation_id, link.peer_model
                    );
                    self.tx(|c| {
                        let now = crate::model::now_in(c)?;
                        store::log(c, now, "", "WARNING", &message)
                    })?;
                }
            }
        }
        // Stand-ins no relation uses any more: a removed SAAS, a consumer whose relation went.
        let unused = |c: &Connection| -> Result<Vec<String>> {
            let rels = store::relations(c)?;
            Ok(remotes
                .iter()
                .filter(|r| r.dying || r.kind == RemoteKind::Consumer)
                .filter(|r| !rels.iter().any(|x| x.involves(&r.name)))
                .map(|r| r.name.clone())
                .collect())
        };
        if !unused(&self.db())?.is_empty() {
            self.tx(|c| {
                for name in unused(c)? {
                    xm::delete_remote_app(c, &name)?;
                }
                Ok(())
            })?;
        }
        Ok(woken)
    }

    /// Opens a peer model by name; `None` when it is gone, dying, or is another model of the
    /// same name (a model destroyed and made again).
    fn open_peer(&self, name: &str, uuid: &str) -> Result<Option<Model>> {
        match self.registry().open(Some(name)) {
            Ok(peer) => Ok((peer.uuid() == uuid).then_some(peer)),
            Err(crate::Error::Usage(UsageError::UnknownModel(_) | UsageError::ModelDying(_))) => {
                Ok(None)
            }
            // Anything else (a busy or damaged store, an unsafe directory) is not the model
            // being gone: ending the relation could not be undone, so the sync is retried.
            Err(e) => Err(e),
        }
    }

    /// Syncs one link; whether hooks were queued in the peer.
    fn sync_link(&self, link: &Link) -> Result<bool> {
        let local = store::relation(&self.db(), link.relation_id)?;
        let peer = self.open_peer(&link.peer_model, &link.peer_uuid)?;
        let Some(local) = local else {
            // Our relation is gone: end theirs, then forget the link.
            let mut woke = false;
            if let (Some(peer), Some(pr)) = (&peer, link.peer_relation) {
                woke = peer.tx(|c| end_relation(c, pr))?;
            }
            self.tx(|c| xm::delete_link(c, link.relation_id))?;
            return Ok(woke);
        };
        let Some(peer) = peer else {
            self.tx(|c| end_relation(c, local.id))?;
            return Ok(false);
        };
        let (peer_relation, linked_now) = match link.peer_relation {
            Some(p) => (p, false),
            // Going before it was linked: the offering side never needs to exist.
            None if local.dying => return Ok(false),
            None => match self.link_offer(&peer, link, &local)? {
                Some(p) => (p, true),
                None => {
                    self.tx(|c| end_relation(c, local.id))?;
                    return Ok(false);
                }
            },
        };
        let theirs = store::relation(&peer.db(), peer_relation)?;
        let Some(theirs) = theirs.filter(|t| !t.dying) else {
            // Their relation is going or gone.
            self.tx(|c| end_relation(c, local.id))?;
            return Ok(linked_now);
        };
        // Their link, found by their relation: it may not name ours yet when the consuming
        // side committed the offering side's relation but not yet its own half of the link
        // (another settler syncing in between, or a crash): then it is completed here.
        let their_link = xm::link(&peer.db(), theirs.id)?;
        let their_link = match their_link {
            Some(l) if l.peer_uuid == self.uuid() && l.peer_relation == Some(local.id) => l,
            Some(l) if l.peer_uuid == self.uuid() && l.peer_relation.is_none() => {
                peer.tx(|c| xm::set_peer_relation(c, theirs.id, local.id))?;
                Link {
                    peer_relation: Some(local.id),
                    ..l
                }
            }
            _ => {
                self.tx(|c| end_relation(c, local.id))?;
                return Ok(linked_now);
            }
        };
        if local.dying {
            return peer.tx(|c| end_relation(c, theirs.id));
        }
        // Each copy reads its source inside the destination's write transaction: writers of
        // one store are serialised, so a copy is never older than the one before it.
        let woke = peer.tx(|c| {
            let mine = snapshot(&self.db(), &local, &link.local_app, &their_link.remote_app)?;
            apply(c, &theirs, &their_link, &mine)
        })?;
        self.tx(|c| {
            let them = snapshot(&peer.db(), &theirs, &their_link.local_app, &link.remote_app)?;
            let copied = apply(c, &local, link, &them)?;
            // Secrets of theirs our units read: secret-changed for newer revisions.
            super::secrets::notify(c, &peer)?;
            Ok(copied)
        })?;
        let woke_secrets = peer.tx(|c| super::secrets::notify(c, self))?;
        Ok(woke || linked_now || woke_secrets)
    }

    /// Makes the offering model's side of a consuming relation: its stand-in for our
    /// application, its relation to the offered application, and the link both ways. `None`
    /// when the offer (or its application) is gone.
    fn link_offer(&self, peer: &Model, link: &Link, local: &Relation) -> Result<Option<i64>> {
        let Some(saas) = xm::remote_app(&self.db(), &link.remote_app)? else {
            return Ok(None);
        };
        let Some(local_app) = store::app(&self.db(), &link.local_app)? else {
            return Ok(None);
        };
        let local_ep = local.endpoint_of(&link.local_app).to_owned();
        let offered_ep = local.endpoint_of(&link.remote_app).to_owned();
        let Some(my_endpoint) = local_app.meta.endpoint(&local_ep).cloned() else {
            return Ok(None);
        };
        let my_uuid = self.uuid().to_owned();
        let my_name = self.name().to_owned();
        let consumer_app = link.local_app.clone();
        let relation_id = local.id;
        let interface = local.interface.clone();
        let theirs = peer.tx(|c| {
            if let Some(existing) = xm::link_to(c, &my_uuid, relation_id)? {
                return Ok(Some(existing.relation_id));
            }
            let Some(offer) = xm::offer(c, &saas.offer)? else {
                return Ok(None);
            };
            if !offer.endpoints.contains(&offered_ep) || store::app(c, &offer.app)?.is_none() {
                return Ok(None);
            }
            let stand_in = format!("remote-{}", consumer_token()?);
            xm::insert_remote_app(
                c,
                &RemoteApp {
                    name: stand_in.clone(),
                    kind: RemoteKind::Consumer,
                    model_uuid: my_uuid.clone(),
                    model_name: my_name.clone(),
                    offer: offer.name.clone(),
                    app: consumer_app.clone(),
                    endpoints: vec![my_endpoint.clone()],
                    status: String::new(),
                    message: String::new(),
                    dying: false,
                },
            )?;
            let id = store::next_counter(c, "relation")?;
            let r = Relation {
                id,
                app_a: offer.app.clone(),
                ep_a: offered_ep.clone(),
                app_b: stand_in.clone(),
                ep_b: my_endpoint.name.clone(),
                interface: interface.clone(),
                peer: false,
                dying: false,
            };
            store::relations::insert(c, &r)?;
            xm::insert_link(
                c,
                &Link {
                    relation_id: id,
                    local_app: offer.app.clone(),
                    remote_app: stand_in,
                    peer_uuid: my_uuid.clone(),
                    peer_model: my_name.clone(),
                    peer_relation: Some(relation_id),
                },
            )?;
            relation_created(c, &r)?;
            Ok(Some(id))
        })?;
        if let Some(id) = theirs {
            self.tx(|c| xm::set_peer_relation(c, relation_id, id))?;
            // One controller, one clock: the model behind catches up with the other.
            let gap = self.clock_offset()? - peer.clock_offset()?;
            if gap > 0 {
                peer.advance(gap)?;
            } else if gap < 0 {
                self.advance(-gap)?;
            }
        }
        Ok(theirs)
    }
}

/// Juju names a consuming application in the offering model `remote-` + 32 hex digits (a UUID
/// without its dashes).
fn consumer_token() -> Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| crate::Error::io("reading", "/dev/urandom", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Marks a relation dying (departed and broken queued) unless it already is, or is gone.
/// Whether hooks were queued.
fn end_relation(c: &Connection, id: i64) -> Result<bool> {
    match store::relation(c, id)? {
        Some(r) if !r.dying => {
            dying_relation(c, id)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// `unit` of `from_app` as the other side names it (`ca/0` consumed as `x` is `x/0`).
pub(super) fn renamed(unit: &str, to_app: &str) -> String {
    match unit.rsplit_once('/') {
        Some((_, n)) => format!("{to_app}/{n}"),
        None => to_app.to_owned(),
    }
}

/// What `app`'s side of `r` holds, its units named after `as_app`.
fn snapshot(c: &Connection, r: &Relation, app: &str, as_app: &str) -> Result<Snapshot> {
    let dying = store::units::dying_units(c)?;
    let mut units = BTreeMap::new();
    for u in store::scope(c, r.id)? {
        if dying.contains(&u) || crate::names::app_of(&u)? != app {
            continue;
        }
        units.insert(renamed(&u, as_app), store::bag(c, r.id, &u)?);
    }
    let status = crate::views::app_statuses(c)?
        .into_iter()
        .find(|a| a.name == app)
        .map(|a| (a.status, a.message))
        .unwrap_or_else(|| ("unknown".into(), String::new()));
    Ok(Snapshot {
        units,
        app_bag: store::bag(c, r.id, app)?,
        status,
    })
}

/// Brings `r`'s remote side in line with `s` (the other model's side), queuing the hooks the
/// local units are owed: joined + changed for a unit that entered, changed for a bag that
/// changed, departed for a unit that left. Whether anything was queued.
fn apply(c: &Connection, r: &Relation, link: &Link, s: &Snapshot) -> Result<bool> {
    // Re-read inside the write transaction: a second syncer may have applied the same copy.
    let Some(r) = store::relation(c, r.id)?.filter(|r| !r.dying) else {
        return Ok(false);
    };
    let remote = &link.remote_app;
    let local_app = &link.local_app;
    let ep = r.endpoint_of(local_app).to_owned();
    let units = store::units(c)?;
    let live: Vec<&store::Unit> = store::scope(c, r.id)?
        .into_iter()
        .filter_map(|u| units.iter().find(|x| x.name == u))
        .filter(|u| !u.dying && u.app == *local_app)
        .collect();
    let before: BTreeSet<String> = xm::remote_scope(c, r.id)?.into_iter().collect();
    let mut queued = false;
    if xm::remote_app(c, remote)?.is_some_and(|a| a.kind == RemoteKind::Saas) {
        xm::set_remote_status(c, remote, &s.status.0, &s.status.1)?;
    }
    for (w, bag) in &s.units {
        if !before.contains(w) {
            xm::set_remote_scope(c, r.id, w, true)?;
            xm::replace_bag(c, r.id, w, bag)?;
            for x in live.iter().filter(|x| x.started) {
                crate::commit::queue_join(c, &r, &x.name, w)?;
                queued = true;
            }
        } else if store::bag(c, r.id, w)? != *bag {
            xm::replace_bag(c, r.id, w, bag)?;
            for x in &live {
                if store::seen(c, r.id, &x.name)?.iter().any(|s| s == w) {
                    store::enqueue(
                        c,
                        &Hook {
                            relation_id: Some(r.id),
                            remote_unit: w.clone(),
                            remote_app: remote.clone(),
                            ..Hook::new(
                                x.name.clone(),
                                HookKind::relation(&ep, RelationHook::Changed),
                            )
                        },
                    )?;
                    queued = true;
                }
            }
        }
    }
    for w in before.iter().filter(|w| !s.units.contains_key(*w)) {
        xm::set_remote_scope(c, r.id, w, false)?;
        for x in &live {
            store::hooks::drop_arrivals_from(c, &x.name, r.id, w)?;
            if store::seen(c, r.id, &x.name)?.iter().any(|s| s == w) {
                store::enqueue(c, &departed(&r, &ep, &x.name, w, w)?)?;
                queued = true;
            }
        }
    }
    if store::bag(c, r.id, remote)? != s.app_bag {
        xm::replace_bag(c, r.id, remote, &s.app_bag)?;
        let hook = HookKind::relation(&ep, RelationHook::Changed);
        store::hooks::enqueue_app_bag_changed(c, r.id, &hook, remote, local_app, "")?;
        queued |= !live.is_empty();
    }
    Ok(queued)
}

/// Checks, before a relation to a SAAS is recorded, that the consumed offer still exists.
pub(crate) fn check_offer(model: &Model, saas: &RemoteApp) -> Result<()> {
    let gone = || UsageError::UnknownOffer {
        model: saas.model_name.clone(),
        offer: saas.offer.clone(),
    };
    let peer = model
        .open_peer(&saas.model_name, &saas.model_uuid)?
        .ok_or_else(gone)?;
    let exists = xm::offer(&peer.db(), &saas.offer)?.is_some();
    if exists { Ok(()) } else { Err(gone().into()) }
}
