//! The tls-demo charm: requests a unit and an application certificate, writes them to files,
//! runs a mutual-TLS HTTPS server with them, and probes its peers. It exists to prove the
//! certificates are real: every handshake is a real `rustls` handshake between processes.
#![deny(missing_docs)]

pub mod files;
pub mod server;
pub mod tls;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use charm::{BagOwner, Charm, Endpoint, Event, HandlerError, LogLevel, Model, Status};
use pki::{Certificate, RequestAttributes};
use rustls::RootCertStore;
use serde::Deserialize;
use tls_interfaces::{CertificateRequest, Mode, Scope, TlsRequirer, TransferRequirer};

use crate::files::{
    APP_CERT, APP_KEY, CA_BUNDLE, UNIT_CERT, UNIT_CHAIN, UNIT_KEY, tls_dir, write_if_changed,
};

/// The charm.
#[derive(Debug, Default)]
pub struct TlsDemo;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Config {
    port: u16,
    #[serde(default)]
    request_ca_certificate: bool,
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
            _ => reconcile(event, model),
        }
    }
}

fn endpoint(name: &str) -> Result<Endpoint, HandlerError> {
    Ok(name.parse()?)
}

/// What this unit asks for: its own certificate for its name and address, and (leader) one for
/// the application.
fn requirer(
    model: &mut Model<'_>,
    config: &Config,
) -> Result<(TlsRequirer, Option<IpAddr>), HandlerError> {
    let address = model.binding_address("certificates", None)?;
    let unit_name = model.unit().to_string().replace('/', "-");
    let mut unit = RequestAttributes::new(unit_name.clone());
    unit.sans.push_str(&format!("DNS:{unit_name}"))?;
    if let Some(ip) = address {
        unit.sans.ip.insert(ip);
    }
    let app_name = model.app().to_string();
    let mut app = RequestAttributes::new(app_name.clone());
    app.sans.push_str(&format!("DNS:{app_name}"))?;
    let mut requirer = TlsRequirer::new(endpoint("certificates")?, Mode::AppAndUnit)
        .with_request(Scope::Unit, CertificateRequest::leaf(unit))?
        .with_request(Scope::App, CertificateRequest::leaf(app))?;
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
    Ok((requirer, address))
}

fn reconcile(event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
    let config: Config = model.config()?;
    let (requirer, address) = requirer(model, &config)?;
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
    let transfer = TransferRequirer::new(endpoint("receive-ca-cert")?);
    transfer.handle(event, model)?;

    // Tell peers where this unit serves.
    if let Some(ip) = address {
        let me = model.own_unit_bag();
        for peer in model.relations(&endpoint(PEERS)?)? {
            let bag = model.relation_data(&peer.id, &me)?;
            if bag.get("address") != Some(&ip.to_string())
                || bag.get("port") != Some(&config.port.to_string())
            {
                let changes = BTreeMap::from([
                    ("address".to_owned(), ip.to_string()),
                    ("port".to_owned(), config.port.to_string()),
                ]);
                model.update_relation_data(&peer.id, &me, &changes)?;
            }
        }
    }

    let dir = tls_dir(&model.context().charm_dir);
    let unit_certs = requirer.assigned_certificates(model, Scope::Unit)?;
    let Some(unit_cert) = unit_certs.first() else {
        model.set_unit_status(Status::waiting(
            "waiting for a certificate from the tls-certificates provider",
        ))?;
        return Ok(());
    };
    let Some(unit_key) = requirer.private_key(model, Scope::Unit)? else {
        model.set_unit_status(Status::waiting("waiting for the private key"))?;
        return Ok(());
    };
    let mut cas: BTreeSet<String> = BTreeSet::from([unit_cert.ca.trim().to_owned()]);
    cas.extend(transfer.certificates(model)?);
    let chain = if unit_cert.chain.is_empty() {
        vec![unit_cert.certificate.pem().trim().to_owned()]
    } else {
        unit_cert
            .chain
            .iter()
            .map(|c| c.trim().to_owned())
            .collect()
    };
    write_if_changed(
        &dir,
        UNIT_CERT,
        &format!("{}\n", unit_cert.certificate.pem().trim()),
        0o644,
    )?;
    write_if_changed(&dir, UNIT_CHAIN, &format!("{}\n", chain.join("\n")), 0o644)?;
    write_if_changed(&dir, UNIT_KEY, &unit_key.to_pkcs8_pem(), 0o600)?;
    write_if_changed(
        &dir,
        CA_BUNDLE,
        &format!("{}\n", cas.iter().cloned().collect::<Vec<_>>().join("\n")),
        0o644,
    )?;

    let mut app_part = String::new();
    let app_certs = if model.is_leader()? {
        requirer.assigned_certificates(model, Scope::App)?
    } else {
        Vec::new()
    };
    if let Some(ca_cert) = app_certs.iter().find(|c| c.request.is_ca) {
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
    if let Some(message) = denied.first() {
        app_part.push_str(&format!("; denied: {message}"));
    }
    if let Some(app_cert) = app_certs.iter().find(|c| !c.request.is_ca)
        && let Some(app_key) = requirer.private_key(model, Scope::App)?
    {
        write_if_changed(
            &dir,
            APP_CERT,
            &format!("{}\n", app_cert.certificate.pem().trim()),
            0o644,
        )?;
        write_if_changed(&dir, APP_KEY, &app_key.to_pkcs8_pem(), 0o600)?;
        app_part = format!(
            "; app cert {} until {}{app_part}",
            short(&app_cert.certificate),
            until(&app_cert.certificate)
        );
    }

    let Some(ip) = address else {
        model.set_unit_status(Status::blocked("no address on the certificates binding"))?;
        return Ok(());
    };
    if let Some(problem) = ensure_server(model, &dir, ip, config.port)? {
        model.set_unit_status(Status::blocked(problem))?;
        return Ok(());
    }
    model.open_port(charm::PortSpec::tcp(config.port))?;
    let message = format!(
        "https://{ip}:{}: unit cert {} until {}{app_part}; trusting {} CA(s)",
        config.port,
        short(&unit_cert.certificate),
        until(&unit_cert.certificate),
        cas.len()
    );
    model.set_unit_status(Status::active(message))?;
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

/// The pid of the running server and its command line, if it is running.
fn running(charm_dir: &Path) -> Option<(u32, String)> {
    let pid: u32 = std::fs::read_to_string(pidfile(charm_dir))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    cmdline.contains(" serve ").then_some((pid, cmdline))
}

/// Starts the server detached (own session, output to a log, a pidfile) unless it already
/// serves on `ip:port`; a server on another address is replaced. Returns why it cannot serve
/// when that is the operator's to fix (the port is taken), so the unit goes blocked instead of
/// failing the hook.
fn ensure_server(
    model: &mut Model<'_>,
    dir: &Path,
    ip: IpAddr,
    port: u16,
) -> Result<Option<String>, HandlerError> {
    let charm_dir = model.context().charm_dir.clone();
    let listen = std::net::SocketAddr::new(ip, port);
    match running(&charm_dir) {
        Some((_, cmdline)) if cmdline.contains(&format!(" --listen {listen} ")) => {
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
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(charm_dir.join("workloads/tls-demo.log"))?;
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
            &model.unit().to_string(),
            "--pidfile",
        ])
        .arg(pidfile(&charm_dir))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()?;
    // Wait for the pidfile so the next hook sees the server (a loaded machine may take seconds
    // to start a process).
    for _ in 0..300 {
        if running(&charm_dir).is_some() {
            model.log(
                LogLevel::Info,
                &format!("started the HTTPS server on {listen}"),
            )?;
            return Ok(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(format!(
        "the HTTPS server did not start; see {}",
        charm_dir.join("workloads/tls-demo.log").display()
    )
    .into())
}

fn stop_server(charm_dir: &Path) {
    if let Some((pid, _)) = running(charm_dir) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        // The port must be free before a replacement binds it.
        for _ in 0..100 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let _ = std::fs::remove_file(pidfile(charm_dir));
}

/// The `probe` action: mutual TLS to every peer with this unit's certificate.
fn probe(model: &mut Model<'_>) -> Result<(), HandlerError> {
    let dir = tls_dir(&model.context().charm_dir);
    let (chain, key) = match (
        tls::read_chain(&dir.join(UNIT_CHAIN)),
        tls::read_key(&dir.join(UNIT_KEY)),
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
            let bag = model.relation_data(&peer.id, &BagOwner::Unit(unit.clone()))?;
            let key_name = unit.to_string().replace('/', "-");
            count += 1;
            let outcome = match (
                bag.get("address").and_then(|a| a.parse::<IpAddr>().ok()),
                bag.get("port").and_then(|p| p.parse::<u16>().ok()),
            ) {
                (Some(ip), Some(port)) => {
                    tls::probe(ip, port, chain.clone(), key.clone_key(), roots.clone())
                        .map_err(|e| format!("{e:#}"))
                }
                _ => Err("the peer has not published its address yet".to_owned()),
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
