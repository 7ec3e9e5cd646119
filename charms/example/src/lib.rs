//! An example Rust charm, written in the reconcile style the SDK recommends: every hook
//! recomputes what should be true from config, leadership, peers and relations, and makes it so.
//! Only the `get-url` action is handled separately.
//!
//! What it exercises: typed config, leadership, an application-owned secret shared with peers
//! through the peer app bag, relation data (app bag by the leader, unit bag by every unit), ports,
//! workload version, binding address, status, an action with parameters, and charm state.
#![deny(missing_docs)]

use std::collections::BTreeMap;

use charm::{
    BackendError, Charm, Endpoint, Error, Event, HandlerError, Model, NewSecret, PortSpec,
    SecretLookup, SecretOwner, SecretRead, Status,
};
use serde::Deserialize;

/// Label of the application-owned secret holding the shared token.
pub const TOKEN_LABEL: &str = "api-token";
/// Key in the peer app bag where the leader publishes the token secret's id.
pub const TOKEN_ID_KEY: &str = "token-secret-id";

/// The charm's config, mirroring `charmcraft.yaml`.
#[derive(Debug, Deserialize)]
pub struct Config {
    /// Port the workload listens on.
    pub port: u16,
    /// Greeting published to related applications.
    pub greeting: String,
}

/// `get-url` parameters; Juju fills in the default `path` declared in `charmcraft.yaml`.
#[derive(Debug, Deserialize)]
struct GetUrlParams {
    path: String,
}

/// The example charm. It holds no state of its own: everything is in the model.
#[derive(Debug, Default)]
pub struct Example;

impl Charm for Example {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        match event {
            Event::Action(a) if a.name == "get-url" => get_url(model),
            Event::Action(_) | Event::Custom(_) => Ok(()),
            Event::Remove | Event::Stop => Ok(()),
            _ => reconcile(model),
        }
    }
}

fn endpoint(name: &str) -> Result<Endpoint, HandlerError> {
    Ok(name.parse()?)
}

/// Makes the model match config and topology; safe to run in any hook, any number of times.
fn reconcile(model: &mut Model<'_>) -> Result<(), HandlerError> {
    let config: Config = model.config()?;
    let leader = model.is_leader()?;
    let peers = model.relations(&endpoint("cluster")?)?;

    if leader {
        let token_id = ensure_token(model)?;
        let app = model.own_app_bag();
        for p in &peers {
            model.set_relation_data(&p.id, &app, TOKEN_ID_KEY, &token_id)?;
        }
    }
    let token_id = match peers.first() {
        Some(p) => {
            let app = model.own_app_bag();
            model.relation_data(&p.id, &app)?.get(TOKEN_ID_KEY).cloned()
        }
        None => None,
    };
    let have_token = match token_id {
        // Every unit of the app may read an app-owned secret by its id.
        Some(id) => !read_token(model, &id)?.is_empty(),
        // A single-unit deployment before the peer relation exists: only the leader has it.
        None => leader,
    };

    // Exactly one port open: the configured one (a port change closes the old one).
    let wanted = PortSpec::tcp(config.port);
    let opened = model.opened_ports()?;
    for port in opened.iter().filter(|p| **p != wanted) {
        model.close_port(*port)?;
    }
    if !opened.contains(&wanted) {
        model.open_port(wanted)?;
    }
    model.set_workload_version(env!("CARGO_PKG_VERSION"))?;

    for rel in model.relations(&endpoint("website")?)? {
        let me = model.own_unit_bag();
        let addr = model.binding_address("website", Some(&rel.id))?;
        let host = addr.map(|a| a.to_string()).unwrap_or_default();
        model.set_relation_data(&rel.id, &me, "hostname", &host)?;
        if leader {
            let app = model.own_app_bag();
            let data = BTreeMap::from([
                ("port".to_owned(), config.port.to_string()),
                ("greeting".to_owned(), config.greeting.clone()),
            ]);
            model.update_relation_data(&rel.id, &app, &data)?;
        }
    }

    let status = if have_token {
        Status::active(format!("serving on port {}", config.port))
    } else {
        Status::waiting("waiting for the leader to share the token")
    };
    model.set_unit_status(status)?;
    // Remember what was last published, for operators and for the next hook's log line.
    let last: Option<u16> = model.stored("published-port")?;
    if last != Some(config.port) {
        model.store("published-port", &config.port)?;
    }
    Ok(())
}

/// The id of the app-owned token secret, creating it on first use. Leader only.
fn ensure_token(model: &mut Model<'_>) -> Result<String, HandlerError> {
    match model.secret_info(&SecretLookup::Label(TOKEN_LABEL.into())) {
        Ok(info) => Ok(info.id.to_string()),
        Err(Error::Backend(BackendError::SecretNotFound(_))) => {
            let token = format!("token-{}-{}", model.app(), model.now());
            let id = model.add_secret(&NewSecret {
                content: BTreeMap::from([("token".to_owned(), token)]),
                label: Some(TOKEN_LABEL.into()),
                description: Some("shared API token".into()),
                expire: None,
                rotate: None,
                owner: SecretOwner::Application,
            })?;
            Ok(id.to_string())
        }
        Err(e) => Err(e.into()),
    }
}

/// `get-url`: the URL this unit serves, from config and the binding address.
fn get_url(model: &mut Model<'_>) -> Result<(), HandlerError> {
    let params: GetUrlParams = model.action_params()?;
    let config: Config = model.config()?;
    let Some(addr) = model.binding_address("website", None)? else {
        model.action_fail("no address for the website binding")?;
        return Ok(());
    };
    let url = format!("http://{addr}:{}{}", config.port, params.path);
    model.set_action_results(&BTreeMap::from([("url".to_owned(), url)]))?;
    Ok(())
}

/// Reads the shared token by the id the leader published.
fn read_token(model: &mut Model<'_>, secret_id: &str) -> Result<String, HandlerError> {
    let content = model.secret(&SecretLookup::Id(secret_id.parse()?), SecretRead::Tracked)?;
    content
        .get("token")
        .cloned()
        .ok_or_else(|| "token secret has no token".into())
}
