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
pub mod problem;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_lc_rs::digest;
use charm::{
    BackendError, Charm, Endpoint, Event, HandlerError, LogLevel, Model, SecretId, SecretLookup,
    SecretRead, Status,
};
use pki::Certificate;
use tls_interfaces::{ProviderState, TlsProvider, TransferProvider, TransferRequirer};
use tokio::sync::Semaphore;

use crate::book::{Book, Entry};
use crate::client::{AccountFor, Eab};
use crate::config::{Config, Plugin};
use crate::order::{DnsSolver, Outcome, Shared, Solver};
use crate::problem::Failure;

/// The charm.
#[derive(Debug, Default)]
pub struct AcmeCertificates;

const CERTIFICATES: &str = "certificates";
const SEND_CA_CERT: &str = "send-ca-cert";
const RECEIVE_CA_CERT: &str = "receive-ca-cert";
/// Orders driven at once: enough to hide round trips, few enough for a server's rate limits.
const PARALLEL_ORDERS: usize = 8;

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
    let solver = match solver(model, &config)? {
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
    trusted.extend(receive.certificates(model)?);
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
        state.set_error(
            &request.relation,
            request.csr.pem(),
            failure.body(&config.server),
        )?;
    }
    let mut problem = None;
    if !work.due.is_empty() || book.orders.values().any(|e| !e.records.is_empty()) {
        let address = model.binding_address(CERTIFICATES, None)?;
        let run = Run {
            config: &config,
            solver,
            eab: eab.as_ref(),
            trusted: &trusted,
            address,
            deadline: started + config.order_wait,
            in_flight: Arc::new(client::InFlight::default()),
        };
        let in_flight = Arc::clone(&run.in_flight);
        let driving = std::time::Instant::now();
        let stored = client::stored_account(model)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HandlerError::from(format!("cannot start the async runtime: {e}")))?;
        let result = runtime.block_on(run.orders(stored.clone(), &mut book, work.due));
        match result {
            Ok(done) => {
                if let Some(credentials) = done.new_account {
                    let want = AccountFor {
                        email: config.email.clone(),
                        server: config.server.clone(),
                    };
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
                let (counts, issued) =
                    apply(model, &mut state, &mut book, done.outcomes, &config, now)?;
                // What the benchmark reads: where this hook's time went.
                log(
                    model,
                    LogLevel::Info,
                    &format!(
                        "drove {} orders in {} ms ({} ms awaiting the ACME server, {} ms CPU): {} issued, {} failed, {} pending{}",
                        counts.iter().sum::<usize>(),
                        driving.elapsed().as_millis(),
                        in_flight.total().as_millis(),
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
            Err((failure, due)) => {
                // No account: every request due now gets the failure and waits its backoff.
                for (request, key) in due {
                    book.orders
                        .entry(key)
                        .or_default()
                        .failed(now, &failure.message);
                    state.set_error(
                        &request.relation,
                        request.csr.pem(),
                        failure.body(&config.server),
                    )?;
                }
                problem = Some(failure);
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
    provider.commit(model, state)?;
    book::save(model, &peers, &before, &book)?;
    TransferProvider::new(endpoint(SEND_CA_CERT)?).publish(model, &issuers)?;
    report(model, &book, total, outstanding, problem.as_ref(), now)
}

/// What this hook does with the requests.
struct Work {
    /// Refused before asking the server (IP identifiers not requested, no name).
    refused: Vec<(tls_interfaces::RequirerRequest, Failure)>,
    /// Requests to drive now, with their book key.
    due: Vec<(tls_interfaces::RequirerRequest, String)>,
}

impl Work {
    fn plan(state: &mut ProviderState, book: &mut Book, config: &Config, now: i64) -> Self {
        let outstanding = state.outstanding(None);
        let keys: BTreeSet<String> = outstanding.iter().map(|r| key_of(r.csr.der())).collect();
        // CSRs answered or withdrawn leave the book (records left behind go with the next run).
        book.orders
            .retain(|k, e| keys.contains(k) || !e.records.is_empty());
        let mut refused = Vec::new();
        let mut due = Vec::new();
        for request in outstanding {
            let key = key_of(request.csr.der());
            if let Err(f) = order::identifiers(&request.csr, config.request_ip_identifiers) {
                book.orders.remove(&key);
                refused.push((request, f));
                continue;
            }
            if book.orders.get(&key).is_none_or(|e| e.due(now)) {
                due.push((request, key));
            }
        }
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

/// The solver from the config and the plugin secret; a message for status when unusable.
fn solver(model: &mut Model<'_>, config: &Config) -> Result<Result<Solver, String>, HandlerError> {
    match config.plugin {
        Plugin::Http => Ok(Ok(Solver::Http(http01::Tokens::default()))),
        Plugin::Rfc2136 => {
            let id = config
                .plugin_config_secret_id
                .as_deref()
                .unwrap_or_default();
            let content = match user_secret(model, id, "plugin-config-secret-id")? {
                Ok(c) => c,
                Err(_) => return Ok(Err("plugin configuration secret is not available".into())),
            };
            Ok(dns_solver(&content, config).map(|d| Solver::Dns(Arc::new(d))))
        }
    }
}

/// lego's rfc2136 variables from the secret's kebab-case keys.
fn dns_solver(content: &BTreeMap<String, String>, config: &Config) -> Result<DnsSolver, String> {
    const KNOWN: [&str; 9] = [
        "RFC2136_NAMESERVER",
        "RFC2136_TSIG_KEY",
        "RFC2136_TSIG_SECRET",
        "RFC2136_TSIG_ALGORITHM",
        "RFC2136_TTL",
        "RFC2136_DNS_TIMEOUT",
        "RFC2136_PROPAGATION_TIMEOUT",
        "RFC2136_POLLING_INTERVAL",
        "RFC2136_SEQUENCE_INTERVAL",
    ];
    let vars: BTreeMap<String, String> = content
        .iter()
        .map(|(k, v)| (k.to_uppercase().replace('-', "_"), v.trim().to_owned()))
        .collect();
    let unknown: Vec<&str> = vars
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "plugin-config-secret-id has settings the rfc2136 plugin does not know: {} (known: {})",
            unknown.join(", "),
            KNOWN.join(", ")
        ));
    }
    let Some(server) = vars.get("RFC2136_NAMESERVER") else {
        return Err("The following config options must be set: RFC2136_NAMESERVER".into());
    };
    let server =
        config::parse_nameserver(server).map_err(|m| format!("RFC2136_NAMESERVER: {m}"))?;
    let key_name = vars.get("RFC2136_TSIG_KEY");
    let secret = vars.get("RFC2136_TSIG_SECRET");
    let (Some(key_name), Some(secret)) = (key_name, secret) else {
        return Err(
            "The following config options must be set: RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET (updates without TSIG are not supported)"
                .into(),
        );
    };
    let algorithm = match vars.get("RFC2136_TSIG_ALGORITHM") {
        None => dns::Algorithm::Sha1,
        Some(a) => dns::Algorithm::parse(a).ok_or_else(|| {
            format!(
                "RFC2136_TSIG_ALGORITHM {a:?} is not supported (supported: {})",
                dns::Algorithm::SUPPORTED
            )
        })?,
    };
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::STANDARD
        .decode(secret)
        .map_err(|_| "RFC2136_TSIG_SECRET is not base64".to_owned())?;
    let name = dns::Name::parse(key_name).map_err(|e| format!("RFC2136_TSIG_KEY: {e}"))?;
    let number = |var: &str, default: u64| -> Result<u64, String> {
        vars.get(var).map_or(Ok(default), |v| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{var} must be a positive integer (got {v:?})"))
        })
    };
    let ttl = u32::try_from(number("RFC2136_TTL", 120)?).map_err(|e| e.to_string())?;
    let timeout = std::time::Duration::from_secs(number("RFC2136_DNS_TIMEOUT", 10)?);
    let updater = |addr| {
        dns::Updater::new(
            addr,
            dns::Key::new(name.clone(), algorithm, &secret),
            timeout,
            ttl,
        )
    };
    Ok(DnsSolver {
        updater: updater(server),
        lookup: config.dns_nameservers.iter().map(|a| updater(*a)).collect(),
        follow_cnames: !config.disable_cname_support,
        propagation_wait: config.dns_propagation_wait,
    })
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

/// Everything the async part needs.
struct Run<'a> {
    config: &'a Config,
    solver: Solver,
    eab: Option<&'a Eab>,
    trusted: &'a [String],
    address: Option<std::net::IpAddr>,
    deadline: tokio::time::Instant,
    in_flight: Arc<client::InFlight>,
}

/// What the async part did.
struct Done {
    account_url: String,
    new_account: Option<String>,
    outcomes: Vec<(tls_interfaces::RequirerRequest, String, Entry, Outcome)>,
}

type Due = Vec<(tls_interfaces::RequirerRequest, String)>;

impl Run<'_> {
    async fn orders(
        self,
        stored: Option<client::StoredAccount>,
        book: &mut Book,
        due: Due,
    ) -> Result<Done, (Failure, Due)> {
        let http = match client::http_client(
            self.trusted,
            self.config.acme_request_timeout,
            Arc::clone(&self.in_flight),
        ) {
            Ok(h) => h,
            Err(f) => return Err((f, due)),
        };
        let want = AccountFor {
            email: self.config.email.clone(),
            server: self.config.server.clone(),
        };
        let (account, new_account) = match client::account(stored, &want, http, self.eab).await {
            Ok(a) => a,
            Err(f) => return Err((f, due)),
        };
        let account_url = account.id().to_owned();
        if book.account.as_deref() != Some(&account_url) {
            // Orders belong to their account: another account starts them again.
            for e in book.orders.values_mut() {
                e.url = None;
            }
            book.account = Some(account_url.clone());
        }
        let _responder = match (&self.solver, self.address) {
            (Solver::Http(tokens), Some(ip)) if !due.is_empty() => {
                let at = std::net::SocketAddr::new(ip, self.config.http_01_port);
                match http01::Responder::start(at, tokens.clone()).await {
                    Ok(r) => Some(r),
                    Err(e) => {
                        let f = Failure::other(format!(
                            "cannot answer http-01 challenges: cannot listen on {at}: {e}"
                        ));
                        return Err((f, due));
                    }
                }
            }
            _ => None,
        };
        let shared = Arc::new(Shared {
            account,
            server: self.config.server.clone(),
            solver: self.solver,
            deadline: self.deadline,
            waiting: Arc::clone(&self.in_flight),
        });
        // Records of orders decided elsewhere (answered, withdrawn) are removed now.
        let wanted: BTreeSet<&String> = due.iter().map(|(_, k)| k).collect();
        for (key, entry) in book.orders.iter_mut() {
            if !wanted.contains(key) && !entry.records.is_empty() && entry.url.is_none() {
                order::cleanup(&shared, entry).await;
            }
        }
        let limit = Arc::new(Semaphore::new(PARALLEL_ORDERS));
        let mut tasks = tokio::task::JoinSet::new();
        for (request, key) in due {
            let mut entry = book.orders.get(&key).cloned().unwrap_or_default();
            let ids = match order::identifiers(&request.csr, self.config.request_ip_identifiers) {
                Ok(ids) => ids,
                Err(_) => continue,
            };
            let shared = Arc::clone(&shared);
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let der = request.csr.der().to_vec();
                let outcome = order::drive(shared, der, ids, &mut entry).await;
                (request, key, entry, outcome)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(o) = done {
                outcomes.push(o);
            }
        }
        Ok(Done {
            account_url,
            new_account,
            outcomes,
        })
    }
}

/// Publishes certificates and errors, and updates the book.
fn apply(
    model: &mut Model<'_>,
    state: &mut ProviderState,
    book: &mut Book,
    outcomes: Vec<(tls_interfaces::RequirerRequest, String, Entry, Outcome)>,
    config: &Config,
    now: i64,
) -> Result<([usize; 3], Vec<String>), HandlerError> {
    let mut counts = [0; 3];
    let mut issued = Vec::new();
    for (request, key, mut entry, outcome) in outcomes {
        counts[match outcome {
            Outcome::Issued(_) => 0,
            Outcome::Failed(_) => 1,
            Outcome::Pending => 2,
        }] += 1;
        match outcome {
            Outcome::Issued(chain_pem) => match chain_of(&chain_pem, &request.csr) {
                Ok(chain) => {
                    let (leaf, top) = (&chain[0], &chain[chain.len() - 1]);
                    state.set_certificate(&request.relation, &request.csr, leaf, top, &chain)?;
                    issued.push(format!(
                        "{} (order {})",
                        subject(&request.csr),
                        entry.url.take().unwrap_or_default()
                    ));
                    if entry.records.is_empty() {
                        book.orders.remove(&key);
                    } else {
                        entry.failures = 0;
                        entry.retry_at = None;
                        book.orders.insert(key, entry);
                    }
                }
                Err(message) => {
                    // A new order next time: this one's chain is unusable.
                    entry.url = None;
                    entry.failed(now, &message);
                    log(model, LogLevel::Error, &message);
                    state.set_error(
                        &request.relation,
                        request.csr.pem(),
                        Failure::other(message).body(&config.server),
                    )?;
                    book.orders.insert(key, entry);
                }
            },
            Outcome::Failed(f) => {
                entry.failed(now, &f.message);
                log(
                    model,
                    LogLevel::Warning,
                    &format!(
                        "certificate request for {} failed ({} {}): {}; next attempt in {}{}",
                        subject(&request.csr),
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
                state.set_error(&request.relation, request.csr.pem(), f.body(&config.server))?;
                book.orders.insert(key, entry);
            }
            Outcome::Pending => {
                book.orders.insert(key, entry);
            }
        }
    }
    Ok((counts, issued))
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
    problem: Option<&Failure>,
    now: i64,
) -> Result<(), HandlerError> {
    if let Some(f) = problem {
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
