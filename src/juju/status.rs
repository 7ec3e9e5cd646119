//! Juju's JSON shapes for `status`, `show-unit` and `show-model`, built from the local model's
//! views. Only what a machine model has is filled in; `machines` is empty (units run on this
//! machine, not in machines Juju would list).

use std::collections::{BTreeMap, BTreeSet};

use model::{Model, Status};
use serde_json::{Value, json};

/// The controller and cloud names the front end reports.
pub(super) const CONTROLLER: &str = "local";
pub(super) const CLOUD: &str = "localhost";

/// `juju status --format json`.
pub(super) fn status(model: &Model) -> anyhow::Result<Value> {
    let st = model.status()?;
    // Units with hooks queued show `executing`, not only the one running: a caller polling
    // for idle agents then never sees a unit idle between a change and its first hook.
    let busy: BTreeSet<String> = model
        .pending_hooks()?
        .into_iter()
        .filter(|h| !h.failed)
        .map(|h| h.unit)
        .collect();
    let mut apps = serde_json::Map::new();
    for a in &st.applications {
        let mut units = serde_json::Map::new();
        for u in &a.units {
            let agent = match u.agent.as_str() {
                // Juju 3 reports a failed hook in the workload status; the agent is idle.
                "error" => "idle",
                _ if busy.contains(&u.name) => "executing",
                other => other,
            };
            let mut unit = json!({
                "workload-status": {"current": u.workload, "message": u.message},
                "juju-status": {"current": agent, "version": model::JUJU_VERSION},
                "leader": u.leader,
                "public-address": u.address,
                "address": u.address,
                "machine": "",
            });
            if !u.ports.is_empty() {
                unit["open-ports"] = json!(u.ports);
            }
            units.insert(u.name.clone(), unit);
        }
        let mut app = json!({
            "charm": format!("local:{}-{}", a.charm, a.revision),
            "charm-origin": "local",
            "charm-name": a.charm,
            "charm-rev": a.revision,
            "exposed": false,
            "base": {"name": "ubuntu", "channel": "24.04"},
            "life": "",
            "application-status": {"current": a.status, "message": a.message},
            "relations": relations_of(&st, &a.name),
            "units": units,
        });
        if let Some(v) = a.units.iter().map(|u| &u.version).find(|v| !v.is_empty()) {
            app["version"] = json!(v);
        }
        apps.insert(a.name.clone(), app);
    }
    let mut out = json!({
        "model": model_header(model)?,
        "machines": {},
        "applications": apps,
        "storage": {},
        "controller": {"timestamp": st.time},
    });
    if !st.saas.is_empty() {
        let mut saas = serde_json::Map::new();
        for r in &st.saas {
            saas.insert(
                r.name.clone(),
                json!({
                    "url": format!("{CONTROLLER}:admin/{}.{}", r.model_name, r.offer),
                    "endpoints": endpoints_json(&r.endpoints),
                    "life": if r.dying { "dying" } else { "" },
                    "application-status": {"current": r.status, "message": r.message},
                    "relations": remote_relations(&st, &r.name),
                }),
            );
        }
        out["application-endpoints"] = Value::Object(saas);
    }
    if !st.offers.is_empty() {
        let mut offers = serde_json::Map::new();
        for o in &st.offers {
            let active = o
                .connections
                .iter()
                .filter(|c| c.status == "joined")
                .count();
            offers.insert(
                o.name.clone(),
                json!({
                    "application": o.app,
                    "charm": format!("local:{}-{}", o.charm, o.charm_rev),
                    "total-connected-count": o.connections.len(),
                    "active-connected-count": active,
                    "endpoints": endpoints_json(&o.endpoints),
                }),
            );
        }
        out["offers"] = Value::Object(offers);
    }
    Ok(out)
}

/// Endpoints as Juju shows them on offers and SAAS: by name, interface and role.
pub(super) fn endpoints_json(endpoints: &[model::Endpoint]) -> Value {
    let map: serde_json::Map<String, Value> = endpoints
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                json!({"interface": e.interface, "role": model::role_name(e.role)}),
            )
        })
        .collect();
    Value::Object(map)
}

/// A SAAS's `relations`: by its endpoint, the local applications related to it.
fn remote_relations(st: &Status, saas: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in st.relations.iter().filter(|r| !r.dying && r.involves(saas)) {
        out.entry(r.endpoint_of(saas).to_owned())
            .or_default()
            .push(r.other_app(saas).to_owned());
    }
    out
}

/// `juju offers --format json`: keyed by offer name.
pub(super) fn offers(offers: &[model::OfferView]) -> Value {
    let mut out = serde_json::Map::new();
    for o in offers {
        let connections: Vec<Value> = o
            .connections
            .iter()
            .map(|c| {
                json!({
                    "source-model": format!("admin/{}", c.model),
                    "username": "admin",
                    "relation-id": c.relation_id,
                    "endpoint": c.endpoint,
                    "status": {"current": c.status},
                })
            })
            .collect();
        out.insert(
            o.name.clone(),
            json!({
                "offer": o.name,
                "offer-url": o.url,
                "application": o.app,
                "charm": format!("local:{}-{}", o.charm, o.charm_rev),
                "endpoints": endpoints_json(&o.endpoints),
                "connections": connections,
                "users": {"admin": {"display-name": "admin", "access": "admin"}},
            }),
        );
    }
    Value::Object(out)
}

fn model_header(model: &Model) -> anyhow::Result<Value> {
    Ok(json!({
        "name": model.name(),
        "type": "iaas",
        "controller": CONTROLLER,
        "cloud": CLOUD,
        "region": CLOUD,
        "version": model::JUJU_VERSION,
        "model-status": {"current": "available"},
        "sla": "unsupported",
    }))
}

/// `relations` of one application: by its endpoint, the applications on the other side.
fn relations_of(st: &Status, app: &str) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in st.relations.iter().filter(|r| !r.dying) {
        let sides = [(&r.app_a, &r.ep_a, &r.app_b), (&r.app_b, &r.ep_b, &r.app_a)];
        for (this, endpoint, other) in sides {
            if this == app {
                out.entry(endpoint.clone()).or_default().push(json!({
                    "related-application": other,
                    "interface": r.interface,
                    "scope": "global",
                }));
                if r.peer {
                    break;
                }
            }
        }
    }
    out
}

/// `juju show-unit --format json`: keyed by the unit.
pub(super) fn show_unit(model: &Model, unit: &str) -> anyhow::Result<Value> {
    let view = model.show_unit(unit)?;
    let st = model.status()?;
    let u = st
        .applications
        .iter()
        .flat_map(|a| a.units.iter().map(move |u| (a, u)))
        .find(|(_, u)| u.name == unit);
    let mut relation_info = Vec::new();
    for r in &view.relations {
        let own_app = unit.split('/').next().unwrap_or_default();
        let related_endpoint = st
            .relations
            .iter()
            .find(|x| x.id == r.id)
            .map(|x| {
                if x.app_a == own_app && x.ep_a == r.endpoint {
                    x.ep_b.clone()
                } else {
                    x.ep_a.clone()
                }
            })
            .unwrap_or_default();
        let related: serde_json::Map<String, Value> = r
            .remote_unit_data
            .iter()
            .map(|(name, data)| (name.clone(), json!({"in-scope": true, "data": data})))
            .collect();
        relation_info.push(json!({
            "relation-id": r.id,
            "endpoint": r.endpoint,
            "related-endpoint": related_endpoint,
            "application-data": r.remote_app_data,
            "local-unit": {"in-scope": true, "data": r.unit_data},
            "related-units": related,
        }));
    }
    let (charm, address, ports, version) = match u {
        Some((a, u)) => (
            format!("local:{}-{}", a.charm, a.revision),
            u.address.clone(),
            u.ports.clone(),
            u.version.clone(),
        ),
        None => Default::default(),
    };
    Ok(json!({ unit: {
        "workload-version": version,
        "opened-ports": ports,
        "charm": charm,
        "leader": view.leader,
        "life": "alive",
        "relation-info": relation_info,
        "public-address": address,
        "address": address,
    }}))
}

/// `juju show-model --format json`: keyed by the model's name.
pub(super) fn show_model(model: &Model) -> anyhow::Result<Value> {
    Ok(json!({ model.name(): {
        "name": format!("admin/{}", model.name()),
        "short-name": model.name(),
        "model-uuid": model.uuid(),
        "model-type": "iaas",
        "controller-uuid": model.uuid(),
        "controller-name": CONTROLLER,
        "is-controller": false,
        "owner": "admin",
        "cloud": CLOUD,
        "region": CLOUD,
        "type": "local",
        "life": "alive",
        "status": {"current": "available"},
        "users": {"admin": {"access": "admin", "last-connection": "just now", "display-name": "admin"}},
        "machines": {},
        "agent-version": model::JUJU_VERSION,
    }}))
}
