//! The tls-client-demo charm: `tls_client` end to end. A server and a client certificate at the
//! paths of the options, the CA in a file and in the unit's trust store, the reactive layer's
//! flags recorded for the `flags` action, and status saying which path holds what.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use charm::{Charm, Endpoint, Event, HandlerError, LogLevel, Model, Status};
use serde::Deserialize;
use tls_interfaces::tls_client::{ClientState, RequestedCertificate, Wire};
use tls_interfaces::{TlsClient, TlsClientEvent, TrustStore};

/// The charm.
#[derive(Debug, Default)]
pub struct TlsClientDemo;

const ENDPOINT: &str = "certificates";
/// Charm state: every flag an event stood for, oldest first.
const RAISED: &str = "raised-flags";
/// Charm state: the provider's last refusal, until every certificate is saved.
const DENIED: &str = "denied";
/// How many raised flags are kept.
const MAX_RAISED: usize = 200;
/// The option allowing the reactive wire.
const ALLOW_OPTION: &str = "allow-reactive-wire";
/// The start of the status while the reactive wire is in use.
const REACTIVE_NOTE: &str = "reactive wire in use (keys made by the provider): ";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Config {
    server_certificate_path: String,
    server_key_path: String,
    client_certificate_path: String,
    client_key_path: String,
    ca_certificate_path: String,
    #[serde(default)]
    extra_sans: String,
    #[serde(default)]
    trust_store_dir: String,
    #[serde(default)]
    allow_reactive_wire: bool,
}

impl Charm for TlsClientDemo {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let config: Config = match model.config() {
            Ok(c) => c,
            Err(e) => {
                model.set_unit_status(Status::blocked(format!("invalid config: {e}")))?;
                return Ok(());
            }
        };
        let client = match client(model, &config) {
            Ok(c) => c,
            // A bad path or SAN is the operator's to fix: say which, do not fail the hook.
            Err(e) => {
                model.set_unit_status(Status::blocked(format!("invalid config: {e}")))?;
                return Ok(());
            }
        };
        if let Event::Action(a) = event {
            if a.name == "flags" {
                flags_action(model, &client)?;
            }
            return Ok(());
        }
        let events = client.handle(event, model)?;
        record(model, &events)?;
        status(model, &client)
    }
}

/// The client for this unit: its name (and address) in the server certificate, paths from the
/// options, relative ones under the charm directory.
fn client(model: &mut Model<'_>, config: &Config) -> Result<TlsClient, HandlerError> {
    let dir = model.context().charm_dir.clone();
    let unit = model.unit().to_string().replace('/', "-");
    let mut sans = vec![unit.clone()];
    if let Some(ip) = model.binding_address(ENDPOINT, None)? {
        sans.push(ip.to_string());
    }
    sans.extend(config.extra_sans.split_whitespace().map(str::to_owned));
    let path = |option: &str, value: &str| -> Result<PathBuf, HandlerError> {
        match value.trim() {
            "" => Err(format!("option {option} is empty").into()),
            v => Ok(dir.join(v)),
        }
    };
    let endpoint: Endpoint = ENDPOINT.parse()?;
    let none: &[&str] = &[];
    let mut client = TlsClient::new(endpoint).allow_reactive_wire(config.allow_reactive_wire);
    if !config.trust_store_dir.trim().is_empty() {
        client = client.with_trust_store(TrustStore::at(path(
            "trust-store-dir",
            &config.trust_store_dir,
        )?));
    }
    Ok(client
        .with_ca_certificate_path(path("ca-certificate-path", &config.ca_certificate_path)?)?
        .request_server_cert(
            &unit,
            &sans,
            path("server-certificate-path", &config.server_certificate_path)?,
            path("server-key-path", &config.server_key_path)?,
        )?
        .request_client_cert(
            &format!("{unit}-client"),
            none,
            path("client-certificate-path", &config.client_certificate_path)?,
            path("client-key-path", &config.client_key_path)?,
        )?)
}

/// Appends the flags the events stood for; keeps the provider's refusal for the status.
fn record(model: &mut Model<'_>, events: &[TlsClientEvent]) -> Result<(), HandlerError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut raised: Vec<String> = model.stored(RAISED).ok().flatten().unwrap_or_default();
    for e in events {
        let flag = match e {
            TlsClientEvent::CaRemoved { .. } => "(ca removed from the trust store)".to_owned(),
            TlsClientEvent::CertificateDenied(d) => {
                let _ = model.log(
                    LogLevel::Warning,
                    &format!("certificate denied: {}", d.error.message),
                );
                model.store(DENIED, &d.error.message)?;
                "(certificate denied)".to_owned()
            }
            other => other.flag().unwrap_or_default(),
        };
        raised.push(flag);
    }
    let excess = raised.len().saturating_sub(MAX_RAISED);
    raised.drain(..excess);
    model.store(RAISED, &raised)?;
    Ok(())
}

/// A path as status shows it: relative to the charm directory when under it.
fn short(model: &Model<'_>, p: &Path) -> String {
    p.strip_prefix(&model.context().charm_dir)
        .unwrap_or(p)
        .display()
        .to_string()
}

fn status(model: &mut Model<'_>, client: &TlsClient) -> Result<(), HandlerError> {
    let state = client.state(model);
    if model.relation_ids(&ENDPOINT.parse()?)?.is_empty() {
        model.unstore(DENIED);
        model.set_unit_status(Status::blocked(
            "needs a tls-certificates provider on 'certificates'",
        ))?;
        return Ok(());
    }
    if state.wire == Wire::ReactiveNotAllowed {
        model.set_unit_status(Status::blocked(format!(
            "the provider speaks only the reactive tls-certificates wire (it makes the keys); \
             set {ALLOW_OPTION}=true to use it"
        )))?;
        return Ok(());
    }
    // On the reactive wire the operator must see that the keys came over the relation.
    let wire = match state.wire {
        Wire::Reactive => REACTIVE_NOTE,
        Wire::Current | Wire::ReactiveNotAllowed => "",
    };
    if !state.certs_saved {
        let denied: Option<String> = model.stored(DENIED).ok().flatten();
        model.set_unit_status(match denied {
            Some(why) => Status::blocked(format!("certificate denied: {why}")),
            None => Status::waiting(format!(
                "{wire}waiting for certificates: {} of {} saved",
                state.saved.len(),
                client.requests().len()
            )),
        })?;
        return Ok(());
    }
    model.unstore(DENIED);
    let mut parts: Vec<String> = client
        .requests()
        .iter()
        .map(|r| {
            format!(
                "{} {} -> {} (key {})",
                r.kind.as_str(),
                r.common_name,
                short(model, &r.cert_path),
                short(model, &r.key_path)
            )
        })
        .collect();
    let ca_files = ca_files(client, &state);
    if !ca_files.is_empty() {
        let shown: Vec<String> = ca_files.iter().map(|p| short(model, p)).collect();
        parts.push(format!("CA -> {}", shown.join(", ")));
    }
    model.set_unit_status(Status::active(format!("{wire}{}", parts.join("; "))))?;
    Ok(())
}

/// The CA file and the trust-store files, as far as they are saved.
fn ca_files(client: &TlsClient, state: &ClientState) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if state.ca_saved {
        out.extend(client.ca_certificate_path().map(Path::to_path_buf));
    }
    out.extend(state.ca_installed.iter().cloned());
    out
}

/// What each file holds, by path.
fn files(client: &TlsClient, state: &ClientState) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in client.requests() {
        let RequestedCertificate {
            kind,
            common_name,
            cert_path,
            key_path,
            ..
        } = r;
        if !state.saved.contains(&(*kind, common_name.clone())) {
            continue;
        }
        let what = kind.as_str();
        out.insert(
            cert_path.display().to_string(),
            format!("{what} certificate {common_name}"),
        );
        out.insert(
            key_path.display().to_string(),
            format!("{what} key {common_name}"),
        );
    }
    if state.ca_saved
        && let Some(p) = client.ca_certificate_path()
    {
        out.insert(p.display().to_string(), "CA".into());
    }
    for p in &state.ca_installed {
        out.insert(p.display().to_string(), "CA (trust store)".into());
    }
    out
}

/// `flags`: the flags set now, those raised so far, and which path holds what.
fn flags_action(model: &mut Model<'_>, client: &TlsClient) -> Result<(), HandlerError> {
    let state = client.state(model);
    let raised: Vec<String> = model.stored(RAISED).ok().flatten().unwrap_or_default();
    let results = BTreeMap::from([
        ("set".to_owned(), state.flags().join(" ")),
        ("raised".to_owned(), serde_json::to_string(&raised)?),
        (
            "files".to_owned(),
            serde_json::to_string(&files(client, &state))?,
        ),
        (
            "trust-store".to_owned(),
            client.trust_store().root().display().to_string(),
        ),
    ]);
    model.set_action_results(&results)?;
    Ok(())
}
