//! The tls-demo charm: requests a unit and/or an application certificate (option `mode`), writes
//! them to files, runs a mutual-TLS HTTPS server with the one it serves, and probes its peers.
//! It exists to prove the certificates are real: every handshake is a real `rustls` handshake
//! between processes.
#![deny(missing_docs)]

pub mod files;
mod peer;
pub mod server;
pub mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use charm::{BagOwner, Charm, Endpoint, Event, HandlerError, LogLevel, Model, Status};
use pki::{Certificate, PrivateKey, RequestAttributes};
use rustls::RootCertStore;
use serde::Deserialize;
use tls_interfaces::{CertificateRequest, Mode, Scope, TlsRequirer, TransferRequirer};

use crate::files::{CA_BUNDLE, Identity, tls_dir, write_if_changed};
use crate::peer::TLS_PEERS;

/// The charm.
#[derive(Debug, Default)]
pub struct TlsDemo;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Config {
    port: u16,
    #[serde(default)]
    mode: DemoMode,
    #[serde(default)]
    request_ca_certificate: bool,
    /// When set, certificates name `<unit>.<domain>` (and `<app>.<domain>`) instead of the
    /// unit's bare name and address: names a public CA (ACME) can validate.
    #[serde(default)]
    domain: String,
    /// Where the certificates come from.
    #[serde(default)]
    certificates_from: Source,
}

impl Config {
    /// The DNS name of `base` (a unit as `app-0`, or the app) under `domain`, if set.
    fn domain_name(&self, base: &str) -> Option<String> {
        let d = self.domain.trim().trim_matches('.');
        (!d.is_empty()).then(|| format!("{base}.{d}"))
    }
}

/// The `certificates-from` option.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Source {
    /// A tls-certificates provider on the `certificates` relation.
    #[default]
    Relation,
    /// The application's leader, over the peer `tls` interface (`tls-peers`): no CA charm.
    Peers,
}

/// The `mode` option: which certificates the unit asks for, as the library's modes.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum DemoMode {
    /// Every unit asks for its own certificate and serves it.
    Unit,
    /// The leader asks for the application's certificate and serves it; followers stand by.
    App,
    /// Both: units serve their own, the leader also holds the application's.
    #[default]
    AppAndUnit,
}

impl DemoMode {
    fn library_mode(self) -> Mode {
        match self {
            Self::Unit => Mode::Unit,
            Self::App => Mode::App,
            Self::AppAndUnit => Mode::AppAndUnit,
        }
    }

    /// The certificate this unit serves and presents.
    fn identity(self) -> Identity {
        match self {
            Self::App => Identity::App,
            Self::Unit | Self::AppAndUnit => Identity::Unit,
        }
    }

    fn scopes(self) -> &'static [Scope] {
        match self {
            Self::Unit => &[Scope::Unit],
            Self::App => &[Scope::App],
            Self::AppAndUnit => &[Scope::Unit, Scope::App],
        }
    }
}

const PEERS: &str = "peers";
const PIDFILE: &str = "workloads/tls-demo.pid";

impl Charm for TlsDemo {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        match event {
            Event::Stop | Event::Remove => {
                stop_server(&model.context().charm_dir);
                Ok(())
            }
            Event::Action(a) if a.name == "probe" => probe(model),
            Event::Action(_) => Ok(()),
            // Nothing the unit holds or serves depends on its peers: their addresses are the
            // ones Juju seeds into their bags, the port is the application's config. Returning
            // at once keeps the n^2 peer hooks Juju sends (joined + changed per pair) free of
            // tool calls.
            e if e.endpoint().is_some_and(|ep| ep.as_str() == PEERS) => Ok(()),
            // The peer `tls` relation only matters when the certificates come from it; then
            // every change of a peer's CSR or of the leader's signatures is worth a reconcile.
            e if e.endpoint().is_some_and(|ep| ep.as_str() == TLS_PEERS)
                && !matches!(model.config::<Config>(), Ok(c) if c.certificates_from == Source::Peers) =>
            {
                Ok(())
            }
            _ => reconcile(event, model),
        }
    }
}

fn endpoint(name: &str) -> Result<Endpoint, HandlerError> {
    Ok(name.parse()?)
}

/// What this unit asks for, by mode: its own certificate for its name and address, and (leader)
/// one for the application.
fn requirer(
    model: &mut Model<'_>,
    config: &Config,
) -> Result<(TlsRequirer, Option<IpAddr>), HandlerError> {
    let address = model.binding_address("certificates", None)?;
    let mut requirer = TlsRequirer::new(endpoint("certificates")?, config.mode.library_mode());
    if config.mode.scopes().contains(&Scope::Unit) {
        let unit = unit_request(model, config, address)?;
        requirer = requirer.with_request(Scope::Unit, CertificateRequest::leaf(unit))?;
    }
    if config.mode.scopes().contains(&Scope::App) {
        let app_name = model.app().to_string();
        let app_dns = config
            .domain_name(&app_name)
            .unwrap_or_else(|| app_name.clone());
        let mut app = RequestAttributes::new(app_dns.clone());
        app.sans.push_str(&format!("DNS:{app_dns}"))?;
        requirer = requirer.with_request(Scope::App, CertificateRequest::leaf(app))?;
        if config.request_ca_certificate {
            let mut ca = RequestAttributes::new(format!("{app_name} intermediate CA"));
            ca.add_unique_id_to_subject_name = false;
            requirer = requirer.with_request(
                Scope::App,
                CertificateRequest {
                    attributes: ca,
                    is_ca: true,
                },
            )?;
        }
    }
    Ok((requirer, address))
}

/// The unit's own certificate request, whichever source signs it: CN and DNS SAN the unit's
/// name (`tls-demo-0`) and its address as IP SAN, or `<unit>.<domain>` alone when `domain` is
/// set.
fn unit_request(
    model: &Model<'_>,
    config: &Config,
    address: Option<IpAddr>,
) -> Result<RequestAttributes, HandlerError> {
    let unit_name = model.unit().to_string().replace('/', "-");
    let mut unit;
    if let Some(fqdn) = config.domain_name(&unit_name) {
        unit = RequestAttributes::new(fqdn.clone());
        unit.sans.push_str(&format!("DNS:{fqdn}"))?;
    } else {
        unit = RequestAttributes::new(unit_name.clone());
        unit.sans.push_str(&format!("DNS:{unit_name}"))?;
        if let Some(ip) = address {
            unit.sans.ip.insert(ip);
        }
    }
    Ok(unit)
}

/// A certificate this unit holds, with the files it goes to.
pub(crate) struct Held {
    pub(crate) certificate: Certificate,
    pub(crate) chain: Vec<String>,
    pub(crate) ca: String,
    pub(crate) key: PrivateKey,
}

/// The leaf certificate of `scope` and its key, when this unit holds both.
fn held(
    requirer: &TlsRequirer,
    model: &mut Model<'_>,
    scope: Scope,
) -> Result<Option<Held>, HandlerError> {
    let certs = requirer.assigned_certificates(model, scope)?;
    let Some(cert) = certs.into_iter().find(|c| !c.request.is_ca) else {
        return Ok(None);
    };
    let Some(key) = requirer.private_key(model, scope)? else {
        return Ok(None);
    };
    let chain = if cert.chain.is_empty() {
        vec![cert.certificate.pem().trim().to_owned()]
    } else {
        cert.chain.iter().map(|c| c.trim().to_owned()).collect()
    };
    Ok(Some(Held {
        ca: cert.ca.trim().to_owned(),
        certificate: cert.certificate,
        chain,
        key,
    }))
}

/// Writes a held certificate, its chain and its key (0600) under the names of `identity`.
fn write_held(dir: &Path, identity: Identity, held: &Held) -> Result<(), HandlerError> {
    write_if_changed(
        dir,
        identity.cert_file(),
        &format!("{}\n", held.certificate.pem().trim()),
        0o644,
    )?;
    write_if_changed(
        dir,
        identity.chain_file(),
        &format!("{}\n", held.chain.join("\n")),
        0o644,
    )?;
    write_if_changed(dir, identity.key_file(), &held.key.to_pkcs8_pem(), 0o600)?;
    Ok(())
}

fn reconcile(event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
    if matches!(event, Event::UpgradeCharm) {
        drop_legacy_peer_keys(model)?;
    }
    let config: Config = match model.config() {
        Ok(config) => config,
        Err(e) => {
            model.set_unit_status(Status::blocked(format!("invalid config: {e}")))?;
            return Ok(());
        }
    };
    if let Some(problem) = config_problem(&config) {
        model.set_unit_status(Status::blocked(problem))?;
        return Ok(());
    }
    let transfer = TransferRequirer::new(endpoint("receive-ca-cert")?);
    match config.certificates_from {
        Source::Relation => from_relation(event, model, &config, &transfer),
        Source::Peers => {
            let address = model.binding_address("certificates", None)?;
            let request = unit_request(model, &config, address)?;
            transfer.handle(event, model)?;
            let dir = tls_dir(&model.context().charm_dir);
            let Some(signed) = peer::certificate(model, request)? else {
                forget(&dir, Identity::Unit);
                forget(&dir, Identity::App);
                return stand_down(
                    model,
                    Status::waiting(
                        "waiting for the leader to sign this unit's certificate (certificates-from=peers)",
                    ),
                );
            };
            write_held(&dir, Identity::Unit, &signed.held)?;
            forget(&dir, Identity::App);
            let extra_cas = transfer.certificates(model)?;
            serve(
                model,
                &config,
                address,
                Identity::Unit,
                &signed.held,
                extra_cas,
                &signed.detail,
            )
        }
    }
}

/// Option combinations the charm cannot serve, said as the operator's fix.
fn config_problem(config: &Config) -> Option<&'static str> {
    match config.certificates_from {
        Source::Relation => (config.request_ca_certificate && config.mode == DemoMode::Unit)
            .then_some("request-ca-certificate needs mode app or app-and-unit"),
        Source::Peers if config.mode == DemoMode::App => Some(
            "certificates-from=peers signs unit certificates only: set mode unit or app-and-unit",
        ),
        Source::Peers if config.request_ca_certificate => {
            Some("request-ca-certificate needs certificates-from=relation")
        }
        Source::Peers => None,
    }
}

/// Certificates from the tls-certificates provider on the `certificates` relation.
fn from_relation(
    event: &Event,
    model: &mut Model<'_>,
    config: &Config,
    transfer: &TransferRequirer,
) -> Result<(), HandlerError> {
    let (requirer, address) = requirer(model, config)?;
    let mut denied = Vec::new();
    for e in requirer.handle(event, model)? {
        if let tls_interfaces::RequirerEvent::CertificateDenied(d) = e {
            let _ = model.log(
                LogLevel::Warning,
                &format!("certificate denied: {}", d.error.message),
            );
            denied.push(d.error.message);
        }
    }
    transfer.handle(event, model)?;

    let dir = tls_dir(&model.context().charm_dir);
    let leader = model.is_leader()?;
    let identity = config.mode.identity();
    // In app mode only the leader holds a certificate: followers stand by.
    let standby = identity == Identity::App && !leader;
    let serving = if standby {
        None
    } else {
        held(&requirer, model, scope_of(identity))?
    };
    let app_held = if leader && config.mode == DemoMode::AppAndUnit {
        held(&requirer, model, Scope::App)?
    } else {
        None
    };
    // The files hold exactly what this unit holds now: nothing stale, no key it lost.
    let (other, other_held) = match identity {
        Identity::Unit => (Identity::App, app_held.as_ref()),
        Identity::App => (Identity::Unit, None),
    };
    for (id, h) in [(identity, serving.as_ref()), (other, other_held)] {
        match h {
            Some(h) => write_held(&dir, id, h)?,
            None => forget(&dir, id),
        }
    }
    if standby {
        return stand_down(
            model,
            Status::active(
                "standby: in app mode the leader holds and serves the application certificate",
            ),
        );
    }
    let Some(serving) = serving else {
        return stand_down(
            model,
            Status::waiting("waiting for a certificate from the tls-certificates provider"),
        );
    };

    let mut app_part = String::new();
    if let Some(app) = &app_held {
        app_part = format!(
            "; app cert {} until {}",
            short(&app.certificate),
            until(&app.certificate)
        );
    }
    if leader && config.request_ca_certificate {
        let granted = requirer.assigned_certificates(model, Scope::App)?;
        if let Some(ca_cert) = granted.iter().find(|c| c.request.is_ca) {
            write_if_changed(
                &dir,
                "app-ca.crt",
                &format!("{}\n", ca_cert.certificate.pem().trim()),
                0o644,
            )?;
            app_part.push_str(&format!(
                "; CA certificate {} granted",
                short(&ca_cert.certificate)
            ));
        }
    }
    if let Some(message) = denied.first() {
        app_part.push_str(&format!("; denied: {message}"));
    }
    let extra_cas = transfer.certificates(model)?;
    serve(
        model, config, address, identity, &serving, extra_cas, &app_part,
    )
}

/// Serves `serving` as `identity` on the unit's address: the CA bundle (its CA and `extra_cas`),
/// the server, the port, and the status (`detail` appended to it).
fn serve(
    model: &mut Model<'_>,
    config: &Config,
    address: Option<IpAddr>,
    identity: Identity,
    serving: &Held,
    extra_cas: BTreeSet<String>,
    detail: &str,
) -> Result<(), HandlerError> {
    let dir = tls_dir(&model.context().charm_dir);
    let mut cas: BTreeSet<String> = BTreeSet::from([serving.ca.clone()]);
    cas.extend(extra_cas);
    write_if_changed(
        &dir,
        CA_BUNDLE,
        &format!("{}\n", cas.iter().cloned().collect::<Vec<_>>().join("\n")),
        0o644,
    )?;
    let Some(ip) = address else {
        return stand_down(
            model,
            Status::blocked("no address on the certificates binding"),
        );
    };
    if let Some(problem) = ensure_server(model, &dir, ip, config.port, identity)? {
        return stand_down(model, Status::blocked(problem));
    }
    let port = charm::PortSpec::tcp(config.port);
    for old in model.opened_ports()? {
        if old != port {
            model.close_port(old)?;
        }
    }
    model.open_port(port)?;
    let message = format!(
        "https://{ip}:{}: {} cert {} until {}{detail}; trusting {} CA(s)",
        config.port,
        identity.as_str(),
        short(&serving.certificate),
        until(&serving.certificate),
        cas.len()
    );
    model.set_unit_status(Status::active(message))?;
    Ok(())
}

fn scope_of(identity: Identity) -> Scope {
    match identity {
        Identity::Unit => Scope::Unit,
        Identity::App => Scope::App,
    }
}

/// This unit does not serve: no server, no advertised address, no open port; `status` says why.
fn stand_down(model: &mut Model<'_>, status: Status) -> Result<(), HandlerError> {
    stop_server(&model.context().charm_dir);
    for port in model.opened_ports()? {
        model.close_port(port)?;
    }
    model.set_unit_status(status)?;
    Ok(())
}

/// Removes the files of an identity this unit does not hold (any more).
fn forget(dir: &Path, identity: Identity) {
    for file in [
        identity.cert_file(),
        identity.chain_file(),
        identity.key_file(),
    ] {
        let _ = std::fs::remove_file(dir.join(file));
    }
}

/// Keys this charm's earlier versions wrote into the unit's peer bag (its address and port,
/// which woke every peer on every change). Juju's own `ingress-address` and the `port` option
/// replace them; an upgraded unit removes them once.
const LEGACY_PEER_KEYS: [&str; 2] = ["address", "port"];

/// Removes [`LEGACY_PEER_KEYS`] from this unit's peer bag, if there.
fn drop_legacy_peer_keys(model: &mut Model<'_>) -> Result<(), HandlerError> {
    let me = model.own_unit_bag();
    for peer in model.relations(&endpoint(PEERS)?)? {
        let bag = model.relation_data(&peer.id, &me)?;
        if LEGACY_PEER_KEYS.iter().any(|k| bag.contains_key(*k)) {
            // An empty value deletes the key, as with relation-set.
            let empty = LEGACY_PEER_KEYS
                .iter()
                .map(|k| ((*k).to_owned(), String::new()))
                .collect::<BTreeMap<_, _>>();
            model.update_relation_data(&peer.id, &me, &empty)?;
        }
    }
    Ok(())
}

fn short(cert: &Certificate) -> String {
    cert.info().serial.chars().take(8).collect()
}

fn until(cert: &Certificate) -> String {
    let t = cert.info().not_after;
    format!("{}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

fn pidfile(charm_dir: &Path) -> PathBuf {
    charm_dir.join(PIDFILE)
}

/// The pid of this unit's running server and its command line, if it is running. The command
/// line must name this unit's pidfile: a recycled pid is never taken for our server.
fn running(charm_dir: &Path) -> Option<(u32, String)> {
    let pidfile = pidfile(charm_dir);
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if !alive(pid) {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let named = format!(" --pidfile {} ", pidfile.display());
    (cmdline.contains(" serve ") && cmdline.contains(&named)).then_some((pid, cmdline))
}

/// Whether `pid` exists and is not a zombie (an exited server nobody reaped yet).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `pid (comm) S ...`: the state follows the last parenthesis.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X')
    })
}

/// Starts the server detached (own session, output to a log, a pidfile) unless it already
/// serves `identity` on `ip:port`; a server on another address or identity is replaced.
/// Returns why it cannot serve when that is the operator's to fix (the port is taken), so the
/// unit goes blocked instead of failing the hook.
fn ensure_server(
    model: &mut Model<'_>,
    dir: &Path,
    ip: IpAddr,
    port: u16,
    identity: Identity,
) -> Result<Option<String>, HandlerError> {
    let charm_dir = model.context().charm_dir.clone();
    let listen = std::net::SocketAddr::new(ip, port);
    let name = model.unit().to_string();
    let wanted = format!(
        " --listen {listen} --name {name} --identity {} ",
        identity.as_str()
    );
    match running(&charm_dir) {
        Some((_, cmdline)) if cmdline.contains(&wanted) => {
            return Ok(None);
        }
        Some(_) => stop_server(&charm_dir),
        None => {}
    }
    // Find a taken port now rather than after a server start that can take seconds.
    if let Err(e) = std::net::TcpListener::bind(listen) {
        return Ok(Some(format!(
            "cannot serve on {listen}: {e}; set the `port` option to a free port"
        )));
    }
    let exe = std::env::current_exe()?;
    std::fs::create_dir_all(charm_dir.join("workloads"))?;
    let log_path = charm_dir.join("workloads/tls-demo.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let log_start = log.metadata()?.len();
    // libfaketime (the local model's virtual clock) shares a semaphore between a process and
    // its children (FAKETIME_SHARED) and removes it when the creating process exits. `setsid
    // --fork` exits at once, so the server could start after that semaphore is gone and die in
    // libfaketime's start-up. Start setsid without the preload, and give it back to the server
    // alone through env(1): the server then makes its own.
    let mut cmd = Command::new("setsid");
    cmd.arg("--fork")
        .env_remove("LD_PRELOAD")
        .env_remove("FAKETIME_SHARED");
    if let Some(preload) = std::env::var_os("LD_PRELOAD") {
        let mut assignment = std::ffi::OsString::from("LD_PRELOAD=");
        assignment.push(preload);
        cmd.arg("env").arg(assignment);
    }
    cmd.arg(exe)
        .args(["serve", "--dir"])
        .arg(dir)
        .args([
            "--listen",
            &listen.to_string(),
            "--name",
            &name,
            "--identity",
            identity.as_str(),
            "--pidfile",
        ])
        .arg(pidfile(&charm_dir))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()?;
    // Wait for the pidfile so the next hook sees the server (a loaded machine may take seconds
    // to start a process), or for the server's own error (say the port was taken meanwhile).
    for _ in 0..300 {
        if running(&charm_dir).is_some() {
            model.log(
                LogLevel::Info,
                &format!("started the HTTPS server on {listen}"),
            )?;
            return Ok(None);
        }
        if let Some(error) = server_error(&log_path, log_start) {
            return Ok(Some(format!(
                "the HTTPS server on {listen} failed: {error}"
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(format!("the HTTPS server did not start; see {}", log_path.display()).into())
}

/// The error a server started after `offset` of its log exited with, if any.
fn server_error(log: &Path, offset: u64) -> Option<String> {
    let text = std::fs::read(log).ok()?;
    let new = String::from_utf8_lossy(text.get(usize::try_from(offset).ok()?..)?).into_owned();
    new.lines()
        .find_map(|l| l.strip_prefix("tls-demo server: "))
        .map(str::to_owned)
}

/// Stops this unit's server: TERM, then KILL if it is still there after two seconds, so the port
/// is free for a replacement.
fn stop_server(charm_dir: &Path) {
    let Some((pid, _)) = running(charm_dir) else {
        let _ = std::fs::remove_file(pidfile(charm_dir));
        return;
    };
    for signal in ["-TERM", "-KILL"] {
        let _ = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status();
        for _ in 0..100 {
            if !alive(pid) {
                let _ = std::fs::remove_file(pidfile(charm_dir));
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// The `probe` action: mutual TLS to every serving peer with the certificate this unit serves.
fn probe(model: &mut Model<'_>) -> Result<(), HandlerError> {
    let config: Config = model.config()?;
    let identity = config.mode.identity();
    let dir = tls_dir(&model.context().charm_dir);
    let (chain, key) = match (
        tls::read_chain(&dir.join(identity.chain_file())),
        tls::read_key(&dir.join(identity.key_file())),
    ) {
        (Ok(c), Ok(k)) => (c, k),
        _ => {
            model.action_fail("this unit has no certificate yet")?;
            return Ok(());
        }
    };
    let mut roots = RootCertStore::empty();
    for ca in tls::read_chain(&dir.join(CA_BUNDLE))? {
        roots.add(ca)?;
    }
    let mut results = BTreeMap::new();
    let mut failed = Vec::new();
    let mut count = 0;
    for peer in model.relations(&endpoint(PEERS)?)? {
        for unit in &peer.units {
            let key_name = unit.to_string().replace('/', "-");
            // In app mode the unit holding the certificate (this one) is the leader; peers
            // stand by.
            if identity == Identity::App {
                results.insert(key_name, "skipped: app mode, only the leader serves".into());
                continue;
            }
            count += 1;
            // Where the peer serves: the address Juju seeds into its bag (the endpoints share
            // the unit's address, the one its certificate names) and the application's port.
            let bag = model.relation_data(&peer.id, &BagOwner::Unit(unit.clone()))?;
            let outcome = match bag
                .get("ingress-address")
                .or_else(|| bag.get("private-address"))
                .and_then(|a| a.parse::<IpAddr>().ok())
            {
                Some(ip) => tls::probe(
                    ip,
                    config.domain_name(&key_name),
                    config.port,
                    chain.clone(),
                    key.clone_key(),
                    roots.clone(),
                )
                .map_err(|e| format!("{e:#}")),
                None => Err("Juju has not given the peer an address yet".to_owned()),
            };
            match outcome {
                Ok(body) => {
                    results.insert(key_name, format!("ok: {body}"));
                }
                Err(e) => {
                    failed.push(format!("{unit}: {e}"));
                    results.insert(key_name, format!("error: {e}"));
                }
            }
        }
    }
    results.insert(
        "summary".to_owned(),
        format!("{}/{count} peers ok", count - failed.len()),
    );
    model.set_action_results(&results)?;
    if !failed.is_empty() {
        model.action_fail(&format!("handshake failed with {}", failed.join("; ")))?;
    }
    Ok(())
}
