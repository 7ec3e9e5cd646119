//! Cross-model relations between the models of one registry, as Juju 3 makes them: a model
//! offers endpoints of an application (`offer`), another consumes the offer under an alias
//! (`consume`, status's SAAS) and relates its applications to it (`integrate`).
//!
//! Each side keeps an ordinary relation in its own store with a stand-in for the other side's
//! application: the SAAS alias in the consuming model, `remote-<token>` in the offering one
//! (Juju's name for a consumer), and the two relations are linked (`xrels`). The remote units
//! are named after the stand-in (`ca/0` offered and consumed as `ca` is `ca/0`; the consumer's
//! `web/1` is `remote-<token>/1` in the offering model), which is how Juju presents them.
//!
//! Nothing runs between the models: whichever side settles copies, for each linked relation,
//! its units' scope and databags to the other side and the other side's to itself ([`sync`]),
//! queuing the joined / changed / departed hooks a real controller would deliver, and ends the
//! other side's relation when its own goes (or when the other model is destroyed). Copies are
//! idempotent and made in one transaction per side, so two settlers syncing at once, or a
//! settler killed halfway, queue nothing twice and lose nothing.
//!
//! Secrets are shared across a cross-model relation as Juju 3.3+ shares them (see [`secrets`]).

pub(crate) mod secrets;
pub(crate) mod sync;
mod url;

use serde::Serialize;

use crate::charm::Endpoint;
use crate::error::{Result, UsageError};
use crate::lifecycle::dying_relation;
use crate::model::Model;
use crate::registry::Registry;
use crate::store::{self, crossmodel as xm};
use crate::{Role, names};

pub use url::OfferUrl;
pub use xm::{Offer, RemoteApp, RemoteKind};

/// An offer as `juju offers` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OfferView {
    /// The offer's name.
    pub name: String,
    /// The offered application.
    pub app: String,
    /// Its charm's name.
    pub charm: String,
    /// Its charm's revision.
    pub charm_rev: i64,
    /// `admin/MODEL.OFFER`.
    pub url: String,
    /// The offered endpoints.
    pub endpoints: Vec<Endpoint>,
    /// The relations of consuming models to it.
    pub connections: Vec<OfferConnection>,
}

/// One consuming relation of an offer.
#[derive(Debug, Clone, Serialize)]
pub struct OfferConnection {
    /// The consuming model.
    pub model: String,
    /// The relation's id in this model.
    pub relation_id: i64,
    /// The offered endpoint it uses.
    pub endpoint: String,
    /// The consuming application, by its name in its own model.
    pub app: String,
    /// `joined`, or `dying` while it is being removed.
    pub status: String,
}

/// The `provider` / `requirer` word Juju uses for an endpoint's role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Provides => "provider",
        Role::Requires => "requirer",
        Role::Peers => "peer",
    }
}

impl Model {
    /// The registry this model lives in (its peers are opened through it).
    pub fn registry(&self) -> Registry {
        Registry::at(
            self.dir()
                .parent()
                .and_then(|models| models.parent())
                .unwrap_or(self.dir()),
        )
    }

    /// Offers `endpoints` of `app` to other models, as `name` (the application's name when
    /// `None`).
    pub fn offer(&self, app: &str, endpoints: &[String], name: Option<&str>) -> Result<Offer> {
        let name = name.unwrap_or(app).to_owned();
        names::check_app(&name).map_err(|_| UsageError::CannotOffer {
            offer: name.clone(),
            reason: "an offer name is spelled like an application name".into(),
        })?;
        self.tx(|c| {
            let a = store::app(c, app)?.ok_or_else(|| UsageError::UnknownApp(app.to_owned()))?;
            if endpoints.is_empty() {
                return Err(UsageError::CannotOffer {
                    offer: name.clone(),
                    reason: "name at least one endpoint (APP:ENDPOINT)".into(),
                }
                .into());
            }
            for ep in endpoints {
                match a.meta.endpoint(ep) {
                    None => {
                        return Err(UsageError::unknown_endpoint(app, ep, &a.meta.endpoints).into());
                    }
                    Some(e) if e.role == Role::Peers => {
                        return Err(UsageError::CannotOffer {
                            offer: name.clone(),
                            reason: format!("{app}:{ep} is a peer endpoint"),
                        }
                        .into());
                    }
                    Some(_) => {}
                }
            }
            if xm::offer(c, &name)?.is_some() {
                return Err(UsageError::OfferExists(name.clone()).into());
            }
            let offer = Offer {
                name: name.clone(),
                app: app.to_owned(),
                endpoints: endpoints.to_vec(),
            };
            xm::insert_offer(c, &offer)?;
            Ok(offer)
        })
    }

    /// Withdraws an offer. With relations still using it, refused unless `force`, which
    /// removes them (the consuming side sees its relation broken).
    pub fn remove_offer(&self, name: &str, force: bool) -> Result<()> {
        self.tx(|c| {
            let offer = xm::offer(c, name)?.ok_or_else(|| UsageError::UnknownOffer {
                model: self.name().to_owned(),
                offer: name.to_owned(),
            })?;
            let using: Vec<i64> = offer_relations(c, &offer)?;
            if !using.is_empty() && !force {
                return Err(UsageError::CannotOffer {
                    offer: name.to_owned(),
                    reason: format!(
                        "offer has {} relation(s); remove them first or use --force",
                        using.len()
                    ),
                }
                .into());
            }
            for id in using {
                dying_relation(c, id)?;
            }
            xm::delete_offer(c, name)
        })
    }

    /// This model's offers, with the relations of consuming models to each.
    pub fn offers(&self) -> Result<Vec<OfferView>> {
        let db = self.db();
        let mut out = Vec::new();
        for o in xm::offers(&db)? {
            let Some(app) = store::app(&db, &o.app)? else {
                continue;
            };
            let endpoints = o
                .endpoints
                .iter()
                .filter_map(|e| app.meta.endpoint(e).cloned())
                .collect();
            let mut connections = Vec::new();
            for link in xm::links(&db)? {
                let Some(r) = store::relation(&db, link.relation_id)? else {
                    continue;
                };
                let endpoint = r.endpoint_of(&o.app).to_owned();
                if link.local_app != o.app || !o.endpoints.contains(&endpoint) {
                    continue;
                }
                let Some(remote) = xm::remote_app(&db, &link.remote_app)? else {
                    continue;
                };
                if remote.kind != RemoteKind::Consumer || remote.offer != o.name {
                    continue;
                }
                connections.push(OfferConnection {
                    model: link.peer_model.clone(),
                    relation_id: r.id,
                    endpoint,
                    app: remote.app.clone(),
                    status: if r.dying { "dying" } else { "joined" }.into(),
                });
            }
            out.push(OfferView {
                url: format!("admin/{}.{}", self.name(), o.name),
                name: o.name,
                app: o.app,
                charm: app.meta.name.clone(),
                charm_rev: app.charm_rev,
                endpoints,
                connections,
            });
        }
        Ok(out)
    }

    /// Consumes the offer at `url` (`[controller:][owner/]MODEL.OFFER`) under `alias` (the
    /// offer's name when `None`). Consuming the same offer again under the same name is a no-op.
    pub fn consume(&self, url: &str, alias: Option<&str>) -> Result<RemoteApp> {
        let url = OfferUrl::parse(url)?;
        if url.model == self.name() {
            return Err(UsageError::ConsumeOwnOffer(url.to_string()).into());
        }
        let peer =
            self.registry()
                .open(Some(&url.model))
                .map_err(|_| UsageError::UnknownOffer {
                    model: url.model.clone(),
                    offer: url.offer.clone(),
                })?;
        let unknown = || UsageError::UnknownOffer {
            model: url.model.clone(),
            offer: url.offer.clone(),
        };
        let (offer, endpoints, status) = {
            let db = peer.db();
            let offer = xm::offer(&db, &url.offer)?.ok_or_else(unknown)?;
            let app = store::app(&db, &offer.app)?.ok_or_else(unknown)?;
            let endpoints: Vec<Endpoint> = offer
                .endpoints
                .iter()
                .filter_map(|e| app.meta.endpoint(e).cloned())
                .collect();
            let status = crate::views::app_statuses(&db)?
                .into_iter()
                .find(|a| a.name == offer.app)
                .map(|a| (a.status, a.message))
                .unwrap_or_else(|| ("unknown".into(), String::new()));
            (offer, endpoints, status)
        };
        let name = alias.unwrap_or(&url.offer).to_owned();
        names::check_app(&name)?;
        self.tx(|c| {
            if let Some(existing) = xm::remote_app(c, &name)? {
                if existing.kind == RemoteKind::Saas
                    && existing.model_uuid == peer.uuid()
                    && existing.offer == offer.name
                    && !existing.dying
                {
                    return Ok(existing);
                }
                return Err(UsageError::AppExists(name.clone()).into());
            }
            if store::app(c, &name)?.is_some() {
                return Err(UsageError::AppExists(name.clone()).into());
            }
            let saas = RemoteApp {
                name: name.clone(),
                kind: RemoteKind::Saas,
                model_uuid: peer.uuid().to_owned(),
                model_name: peer.name().to_owned(),
                offer: offer.name.clone(),
                app: offer.app.clone(),
                endpoints: endpoints.clone(),
                status: status.0.clone(),
                message: status.1.clone(),
                dying: false,
            };
            xm::insert_remote_app(c, &saas)?;
            Ok(saas)
        })
    }

    /// Removes a consumed offer (`remove-saas`): its relations are removed, and it is gone once
    /// they are.
    pub fn remove_saas(&self, name: &str) -> Result<()> {
        self.tx(|c| {
            match xm::remote_app(c, name)? {
                Some(r) if r.kind == RemoteKind::Saas => {}
                _ => return Err(UsageError::UnknownSaas(name.to_owned()).into()),
            }
            xm::mark_remote_dying(c, name)?;
            for r in store::relations(c)? {
                if r.involves(name) && !r.dying {
                    dying_relation(c, r.id)?;
                }
            }
            if !store::relations(c)?.iter().any(|r| r.involves(name)) {
                xm::delete_remote_app(c, name)?;
            }
            Ok(())
        })
    }

    /// The consumed offers (SAAS) of this model.
    pub fn saas(&self) -> Result<Vec<RemoteApp>> {
        Ok(xm::remote_apps(&self.db())?
            .into_iter()
            .filter(|r| r.kind == RemoteKind::Saas)
            .collect())
    }

    /// The names of the models this one has cross-model relations with.
    pub fn peer_models(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = xm::links(&self.db())?
            .into_iter()
            .map(|l| l.peer_model)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}

/// The live relations of consuming models to an offer.
fn offer_relations(c: &rusqlite::Connection, offer: &Offer) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for link in xm::links(c)? {
        let Some(remote) = xm::remote_app(c, &link.remote_app)? else {
            continue;
        };
        if remote.kind != RemoteKind::Consumer || remote.offer != offer.name {
            continue;
        }
        if let Some(r) = store::relation(c, link.relation_id)? {
            if !r.dying {
                out.push(r.id);
            }
        }
    }
    Ok(out)
}
