//! The workload: an HTTPS server on the unit's address that requires a client certificate signed
//! by a CA of `ca.pem`, and reloads its certificate and trust whenever the files change (checked
//! on each connection: a renewal or a CA rotation is picked up without a restart).
//!
//! `tls-demo serve --dir DIR --listen IP:PORT --name UNIT --identity unit|app --pidfile FILE`

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use crate::files::{CA_BUNDLE, Identity};
use crate::tls;

struct Args {
    dir: PathBuf,
    listen: SocketAddr,
    name: String,
    identity: Identity,
    pidfile: PathBuf,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let mut dir = None;
    let mut listen = None;
    let mut name = None;
    let mut pidfile = None;
    let mut identity = Identity::Unit;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dir" => dir = Some(PathBuf::from(value)),
            "--listen" => {
                listen = Some(value.parse().with_context(|| format!("--listen {value}"))?)
            }
            "--name" => name = Some(value.clone()),
            "--pidfile" => pidfile = Some(PathBuf::from(value)),
            "--identity" => identity = value.parse().map_err(anyhow::Error::msg)?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(Args {
        dir: dir.context("--dir is required")?,
        listen: listen.context("--listen is required")?,
        name: name.context("--name is required")?,
        identity,
        pidfile: pidfile.context("--pidfile is required")?,
    })
}

/// Runs the server until killed.
pub fn main(args: &[String]) -> anyhow::Result<()> {
    let args = parse(args)?;
    if let Some(parent) = args.pidfile.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let listener =
        TcpListener::bind(args.listen).with_context(|| format!("binding {}", args.listen))?;
    // The pidfile says "serving": written only once the port is ours.
    std::fs::write(&args.pidfile, std::process::id().to_string())?;
    eprintln!("tls-demo {}: serving https://{}", args.name, args.listen);
    let mut current: Option<(Vec<Option<SystemTime>>, Arc<ServerConfig>)> = None;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let stamp = stamps(&args.dir, args.identity);
        if current.as_ref().is_none_or(|(s, _)| *s != stamp) {
            match server_config(&args.dir, args.identity) {
                Ok(config) => {
                    eprintln!(
                        "tls-demo {}: (re)loaded certificate and trust from {}",
                        args.name,
                        args.dir.display()
                    );
                    current = Some((stamp, Arc::new(config)));
                }
                Err(e) => eprintln!("tls-demo {}: cannot load TLS files: {e:#}", args.name),
            }
        }
        let Some((_, config)) = &current else {
            continue;
        };
        let (config, name) = (config.clone(), args.name.clone());
        std::thread::spawn(move || {
            if let Err(e) = answer(stream, config, &name) {
                eprintln!("tls-demo {name}: connection: {e:#}");
            }
        });
    }
    Ok(())
}

fn stamps(dir: &Path, identity: Identity) -> Vec<Option<SystemTime>> {
    [identity.chain_file(), identity.key_file(), CA_BUNDLE]
        .iter()
        .map(|f| {
            std::fs::metadata(dir.join(f))
                .and_then(|m| m.modified())
                .ok()
        })
        .collect()
}

fn server_config(dir: &Path, identity: Identity) -> anyhow::Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain = tls::read_chain(&dir.join(identity.chain_file()))?;
    let key = tls::read_key(&dir.join(identity.key_file()))?;
    let mut roots = RootCertStore::empty();
    for ca in tls::read_chain(&dir.join(CA_BUNDLE))? {
        roots.add(ca).context("adding a trusted CA")?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    Ok(ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?)
}

fn answer(stream: TcpStream, config: Arc<ServerConfig>, name: &str) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let conn = ServerConnection::new(config)?;
    let mut tls = StreamOwned::new(conn, stream);
    let mut reader = BufReader::new(&mut tls);
    let mut line = String::new();
    // Read the request head (bounded).
    for _ in 0..64 {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    drop(reader);
    let client = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| pki::Certificate::from_der(c.as_ref()).ok())
        .and_then(|c| c.subject().common_name().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    let body = format!("hello {client}, this is {name}\n");
    write!(
        tls,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(())
}
