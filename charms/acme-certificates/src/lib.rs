//! The acme-certificates charm: lego's role in Rust. Requirers' CSRs on `certificates` are
//! ordered from an ACME server (RFC 8555), their challenges answered by HTTP-01 (the charm's
//! own responder) or DNS-01 (RFC 2136 updates), and finalised with the CSR as it is.
//!
//! Every hook reconciles on the leader: the account comes from an application secret (or is
//! created, with External Account Binding when configured), pending orders from the order
//! book in the peer application bag; every outstanding CSR whose backoff has passed is driven
//! until the hook's `order-wait` ends; what is left resumes on a later hook (update-status).
#![deny(missing_docs)]

pub mod book;
pub mod client;
pub mod config;
pub mod dns;
pub mod http01;
pub mod order;
pub mod plugin;
pub mod problem;
pub mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_lc_rs::digest;
use charm::{
    BackendError, Charm, Endpoint, Event, HandlerError, LogLevel, Model, SecretId, SecretLookup,
    SecretRead, Status,
};
use pki::Certificate;
use tls_interfaces::{ProviderState, TlsProvider, TransferProvider, TransferRequirer};

use crate::book::{Book, Entry};
use crate::client::{AccountFor, Eab};
use crate::config::{Config, Plugin};
use crate::order::Outcome;
use crate::problem::Failure;

/// The charm.
#[derive(Debug, Default)]
pub struct AcmeCertificates;

const CERTIFICATES: &str = "certificates";
const SEND_CA_CERT: &str = "send-ca-cert";
const RECEIVE_CA_CERT: &str = "receive-ca-cert";

impl Charm for AcmeCertificates {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        match event {
            Event::Action(_) | Event::Stop | Event::Remove => Ok(()),
            // Juju follows a unit's relation-joined with its relation-changed: reconcile there.
            Event::RelationJoined(r) if r.relation.endpoint().as_str() == CERTIFICATES => Ok(()),
            _ => reconcile(event, model),
        }
    }
}

fn endpoint(name: &str) -> Result<Endpoint, HandlerError> {
    Ok(name.parse()?)
}

fn log(model: &mut Model<'_>, level: LogLevel, message: &str) {
    let _ = model.log(level, message);
}

fn blocked(model: &mut Model<'_>, message: impl Into<String>) -> Result<(), HandlerError> {
    model.set_unit_status(Status::blocked(message))?;
    Ok(())
}

fn reconcile(event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
    let started = tokio::time::Instant::now();
    let receive = TransferRequirer::new(endpoint(RECEIVE_CA_CERT)?);
    receive.handle(event, model)?;
    let config = match config::read(model.config_map()?) {
        Ok(c) => c,
        Err(message) => return blocked(model, message),
    };
    if !model.is_leader()? {
        // Publishing on a follower only withdraws what an old leader left in unit bags.
        TransferProvider::new(endpoint(SEND_CA_CERT)?).publish(model, &BTreeSet::new())?;
        model.set_unit_status(Status::active(
            "standby: the leader manages certificates; it continues with the same account and orders",
        ))?;
        return Ok(());
    }
    let solver = match plugin::solver(model, &config)? {
        Ok(s) => s,
        Err(message) => return blocked(model, message),
    };
    let eab = match &config.eab_secret_id {
        None => None,
        Some(id) => match user_secret(model, id, "eab-secret-id")? {
            Ok(content) => match Eab::from_content(&content) {
                Ok(e) => Some(e),
                Err(message) => return blocked(model, message),
            },
            Err(message) => return blocked(model, message),
        },
    };
    let mut trusted = config.acme_ca_certificates.clone();
    for pem in receive.certificates(model)? {
        // One bad certificate from a relation must not stop every request.
        if Certificate::from_pem(&pem).is_ok() {
            trusted.push(pem);
        } else {
            log(
                model,
                LogLevel::Warning,
                "ignoring a certificate on receive-ca-cert that does not parse",
            );
        }
    }
    let peers = model
        .relation_ids(&endpoint(book::PEERS)?)?
        .into_iter()
        .next();
    let Some(peers) = peers else {
        model.set_unit_status(Status::waiting(format!(
            "waiting for the {} peer relation",
            book::PEERS
        )))?;
        return Ok(());
    };
    let before = match book::load(model, &peers) {
        Ok(b) => b,
        Err(e) => return blocked(model, e.to_string()),
    };
    let mut book = before.clone();
    // An operator's change (config, a secret) may be the fix: failed requests retry at once.
    if matches!(event, Event::ConfigChanged | Event::SecretChanged(_)) {
        book.orders.values_mut().for_each(Entry::retry_now);
    }
    let provider = TlsProvider::new(endpoint(CERTIFICATES)?);
    let mut state = provider.load(model)?;
    state.drop_certificates_without_csr();
    let now = model.now();
    let work = Work::plan(&mut state, &mut book, &config, now);
    for (request, failure) in &work.refused {
        answer_error(model, &mut state, request, failure, &config.server);
    }
    let mut problem = None;
    let cleanup_due = book
        .orders
        .values()
        .any(|e| e.url.is_none() && !e.records.is_empty());
    if !work.due.is_empty() || cleanup_due {
        let address = match config.plugin {
            Plugin::Http if !work.due.is_empty() => model.binding_address(CERTIFICATES, None)?,
            _ => None,
        };
        let in_flight = Arc::new(client::InFlight::default());
        let polling = Arc::new(client::InFlight::default());
        let run = run::Run {
            config: &config,
            solver,
            eab: eab.as_ref(),
            trusted: &trusted,
            address,
            deadline: started.checked_add(config.order_wait).unwrap_or(started),
            in_flight: Arc::clone(&in_flight),
            polling: Arc::clone(&polling),
        };
        let driving = std::time::Instant::now();
        let stored = client::stored_account(model)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HandlerError::from(format!("cannot start the async runtime: {e}")))?;
        let want = AccountFor {
            email: config.email.clone(),
            server: config.server.clone(),
        };
        match runtime.block_on(run.orders(stored, &mut book, work.due)) {
            Ok(done) => {
                if let Some(credentials) = done.new_account {
                    client::store_account(model, &want, credentials)?;
                    log(
                        model,
                        LogLevel::Info,
                        &format!(
                            "created the ACME account {} at {}",
                            done.account_url, config.server
                        ),
                    );
                }
                if done.account_gone {
                    client::forget_account(model, &want, "the ACME server no longer knows it")?;
                    log(
                        model,
                        LogLevel::Warning,
                        &format!(
                            "the ACME server no longer knows the account {}: a new one is made on the next attempt",
                            done.account_url
                        ),
                    );
                }
                if !done.outcomes.is_empty() {
                    let (counts, issued) =
                        apply(model, &mut state, &mut book, done.outcomes, &config, now);
                    // What the benchmark reads: where this hook's time went.
                    log(
                        model,
                        LogLevel::Info,
                        &format!(
                            "drove {} orders in {} ms ({} ms with requests in flight, {} ms polling, {} ms CPU): {} issued, {} failed, {} pending{}",
                            counts.iter().sum::<usize>(),
                            driving.elapsed().as_millis(),
                            in_flight.total().as_millis(),
                            polling.total().as_millis(),
                            client::cpu_time().map_or(0, |d| d.as_millis()),
                            counts[0],
                            counts[1],
                            counts[2],
                            if issued.is_empty() {
                                String::new()
                            } else {
                                format!("; issued: {}", issued.join(", "))
                            }
                        ),
                    );
                }
            }
            Err((stop, due)) => {
                let failure = match &stop {
                    run::Stop::Account(f) => f.clone(),
                    run::Stop::Responder(why) => Failure::other(why.clone()),
                };
                // Every request due now gets the failure and waits its backoff.
                for d in due {
                    book.orders
                        .entry(d.key)
                        .or_default()
                        .failed(now, &failure.message);
                    for request in &d.requests {
                        answer_error(model, &mut state, request, &failure, &config.server);
                    }
                }
                problem = Some(stop);
            }
        }
    }
    if matches!(event, Event::UpdateStatus) {
        warn_expiring(model, &mut state, config.expiry_ratio, now);
    }
    let issuers: BTreeSet<String> = state
        .issued()
        .into_iter()
        .map(|c| c.entry.ca.trim().to_owned())
        .collect();
    let total = state.requests(None).len();
    let outstanding = state.outstanding(None).len();
    // The book first: it is what lets the next hook resume instead of ordering again.
    book::save(model, &peers, &before, &book)?;
    provider.commit(model, state)?;
    TransferProvider::new(endpoint(SEND_CA_CERT)?).publish(model, &issuers)?;
    report(model, &book, total, outstanding, problem.as_ref(), now)
}

/// Publishes an error for a request; a failure to is logged, not fatal (the hook's other
/// answers and the order book must still be written).
fn answer_error(
    model: &mut Model<'_>,
    state: &mut ProviderState,
    request: &tls_interfaces::RequirerRequest,
    failure: &Failure,
    server: &str,
) {
    if let Err(e) = state.set_error(&request.relation, request.csr.pem(), failure.body(server)) {
        log(
            model,
            LogLevel::Error,
            &format!(
                "cannot publish the error for {}: {e}",
                subject(&request.csr)
            ),
        );
    }
}

/// What this hook does with the requests.
struct Work {
    /// Refused before asking the server (IP identifiers not requested, no name, wildcard
    /// under HTTP-01).
    refused: Vec<(tls_interfaces::RequirerRequest, Failure)>,
    /// CSRs to drive now.
    due: Vec<run::Due>,
}

impl Work {
    fn plan(state: &mut ProviderState, book: &mut Book, config: &Config, now: i64) -> Self {
        let outstanding = state.outstanding(None);
        let keys: BTreeSet<String> = outstanding.iter().map(|r| key_of(r.csr.der())).collect();
        // CSRs answered or withdrawn: their orders are given up (records removed by the run,
        // then the entry goes).
        book.orders.retain(|k, e| {
            if keys.contains(k) {
                return true;
            }
            e.url = None;
            e.retry_at = None;
            !e.records.is_empty()
        });
        let wildcards = config.plugin == Plugin::Rfc2136;
        let mut refused = Vec::new();
        let mut due: BTreeMap<String, Vec<tls_interfaces::RequirerRequest>> = BTreeMap::new();
        for request in outstanding {
            let key = key_of(request.csr.der());
            if let Err(f) =
                order::identifiers(&request.csr, config.request_ip_identifiers, wildcards)
            {
                if let Some(e) = book.orders.get_mut(&key) {
                    e.url = None;
                    e.retry_at = None;
                    if e.records.is_empty() {
                        book.orders.remove(&key);
                    }
                }
                refused.push((request, f));
                continue;
            }
            if book.orders.get(&key).is_none_or(|e| e.due(now)) {
                due.entry(key).or_default().push(request);
            }
        }
        let due = due
            .into_iter()
            .map(|(key, requests)| run::Due { key, requests })
            .collect();
        Self { refused, due }
    }
}

/// The hex SHA-256 of a CSR's DER: the book's key.
fn key_of(der: &[u8]) -> String {
    digest::digest(&digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Juju user secret's content by URI, or a message naming the option for status.
fn user_secret(
    model: &mut Model<'_>,
    uri: &str,
    option: &str,
) -> Result<Result<BTreeMap<String, String>, String>, HandlerError> {
    let Ok(id) = uri.parse::<SecretId>() else {
        return Ok(Err(format!("{option} is not a secret URI: {uri:?}")));
    };
    match model.secret(&SecretLookup::Id(id), SecretRead::Refresh) {
        Ok(content) => Ok(Ok(content)),
        Err(charm::Error::Backend(
            BackendError::SecretNotFound(m) | BackendError::PermissionDenied(m),
        )) => Ok(Err(format!(
            "{option} secret is not available ({}); grant it: juju grant-secret <name> <this app>",
            m.trim()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Publishes certificates and errors, and updates the book. Returns (issued, failed,
/// pending) and the names issued with their order URLs.
fn apply(
    model: &mut Model<'_>,
    state: &mut ProviderState,
    book: &mut Book,
    outcomes: Vec<(run::Due, Entry, Outcome)>,
    config: &Config,
    now: i64,
) -> ([usize; 3], Vec<String>) {
    let mut counts = [0; 3];
    let mut issued = Vec::new();
    for (due, mut entry, outcome) in outcomes {
        let Some(first) = due.requests.first() else {
            continue;
        };
        let name = subject(&first.csr);
        match outcome {
            Outcome::Issued(chain_pem) => match chain_of(&chain_pem, &first.csr) {
                Ok(chain) => {
                    counts[0] += 1;
                    let (leaf, top) = (&chain[0], &chain[chain.len() - 1]);
                    for request in &due.requests {
                        if let Err(e) = state.set_certificate(
                            &request.relation,
                            &request.csr,
                            leaf,
                            top,
                            &chain,
                        ) {
                            log(
                                model,
                                LogLevel::Error,
                                &format!("cannot publish the certificate for {name}: {e}"),
                            );
                        }
                    }
                    issued.push(format!(
                        "{name} (order {})",
                        entry.url.take().unwrap_or_default()
                    ));
                    if entry.records.is_empty() {
                        book.orders.remove(&due.key);
                    } else {
                        entry.failures = 0;
                        entry.retry_at = None;
                        book.orders.insert(due.key, entry);
                    }
                }
                Err(message) => {
                    counts[1] += 1;
                    // A new order next time: this one's chain is unusable.
                    entry.url = None;
                    entry.failed(now, &message);
                    log(model, LogLevel::Error, &message);
                    let failure = Failure::other(message);
                    for request in &due.requests {
                        answer_error(model, state, request, &failure, &config.server);
                    }
                    book.orders.insert(due.key, entry);
                }
            },
            Outcome::Failed(f) => {
                counts[1] += 1;
                entry.failed(now, &f.message);
                log(
                    model,
                    LogLevel::Warning,
                    &format!(
                        "certificate request for {name} failed ({} {}): {}; next attempt in {}{}",
                        f.code.code(),
                        f.code.name(),
                        f.message,
                        charm::duration::format_config(time::Duration::seconds(
                            entry.retry_at.unwrap_or(now) - now
                        )),
                        entry
                            .url
                            .as_ref()
                            .map(|u| format!(", resuming order {u}"))
                            .unwrap_or_default()
                    ),
                );
                for request in &due.requests {
                    answer_error(model, state, request, &f, &config.server);
                }
                book.orders.insert(due.key, entry);
            }
            Outcome::Pending => {
                counts[2] += 1;
                book.orders.insert(due.key, entry);
            }
        }
    }
    (counts, issued)
}

fn subject(csr: &pki::Csr) -> String {
    csr.subject()
        .common_name()
        .map_or_else(|| csr.subject().to_string(), str::to_owned)
}

/// The server's chain, leaf first, checked to be for the CSR's key.
fn chain_of(pem: &str, csr: &pki::Csr) -> Result<Vec<Certificate>, String> {
    let chain = Certificate::all_from_pem(pem)
        .map_err(|e| format!("the ACME server returned a chain we cannot read: {e}"))?;
    let Some(leaf) = chain.first() else {
        return Err("the ACME server returned an empty chain".into());
    };
    if !leaf.matches_public_key(csr.public_key_der()) {
        return Err("the ACME server returned a certificate for another key than the CSR's".into());
    }
    Ok(chain)
}

/// lego's `lego_cert_expiring` warning for certificates with at most `ratio` of life left.
fn warn_expiring(model: &mut Model<'_>, state: &mut ProviderState, ratio: f64, now: i64) {
    for issued in state.issued() {
        let Ok(cert) = Certificate::from_pem(&issued.entry.certificate) else {
            continue;
        };
        let info = cert.info();
        let (start, end) = (
            info.not_before.unix_timestamp(),
            info.not_after.unix_timestamp(),
        );
        let total = end - start;
        if total <= 0 {
            continue;
        }
        let remaining = end - now;
        if (remaining as f64) / (total as f64) > ratio {
            continue;
        }
        let sans = &info.sans;
        let payload = serde_json::json!({
            "common_name": cert.subject().common_name().unwrap_or_default(),
            "event": "lego_cert_expiring",
            "not_valid_after": info.not_after.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "remaining_days": remaining.div_euclid(86_400),
            "sans_dns": sans.dns.iter().collect::<Vec<_>>(),
            "sans_ip": sans.ip.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "severity": "critical",
        });
        log(model, LogLevel::Warning, &payload.to_string());
    }
}

/// lego's status text, plus what is pending and when failed requests are retried.
fn report(
    model: &mut Model<'_>,
    book: &Book,
    total: usize,
    outstanding: usize,
    problem: Option<&run::Stop>,
    now: i64,
) -> Result<(), HandlerError> {
    if let Some(run::Stop::Responder(why)) = problem {
        return blocked(model, why.clone());
    }
    if let Some(run::Stop::Account(f)) = problem {
        // Waiting when the server is away (it comes back on its own); blocked otherwise.
        if f.is_unreachable() {
            model.set_unit_status(Status::waiting(f.message.clone()))?;
            return Ok(());
        }
        let message = match f.reason.as_deref() {
            Some("urn:ietf:params:acme:error:externalAccountRequired") => format!(
                "the ACME server requires External Account Binding: set eab-secret-id ({})",
                f.message
            ),
            _ => format!("the ACME account cannot be used: {}", f.message),
        };
        return blocked(model, message);
    }
    let fulfilled = total - outstanding.min(total);
    let mut message = format!("{fulfilled}/{total} certificate requests are fulfilled");
    if fulfilled != total {
        let pending = book
            .orders
            .values()
            .filter(|e| e.url.is_some() && e.retry_at.is_none_or(|t| t <= now))
            .count();
        let waiting: Vec<i64> = book
            .orders
            .values()
            .filter_map(|e| e.retry_at)
            .filter(|t| *t > now)
            .collect();
        if pending > 0 {
            message.push_str(&format!("; {pending} pending at the ACME server"));
        }
        if let Some(next) = waiting.iter().min() {
            message.push_str(&format!(
                "; {} failed, next retry in {}",
                waiting.len(),
                charm::duration::format_config(time::Duration::seconds(next - now))
            ));
        }
        message.push_str(". please monitor logs for any errors");
    }
    model.set_unit_status(Status::active(message))?;
    Ok(())
}
