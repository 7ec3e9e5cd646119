//! Driving one CSR's order: create it (or resume the stored one), answer its challenges,
//! finalise it with the requirer's CSR as it is (the key never leaves the requirer), and fetch
//! the chain; within the hook's deadline, after which the order stays pending for a later hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, NewOrder, Order,
    OrderStatus,
};
use tls_interfaces::ErrorCode;
use tokio::time::Instant;

use crate::book::{Entry, TxtRecord};
use crate::dns::{Name, Updater};
use crate::http01::Tokens;
use crate::problem::Failure;

/// Nothing new (an order, a challenge) starts with less than this left before the deadline:
/// it would only be abandoned half way.
const START_MARGIN: Duration = Duration::from_secs(3);
/// Once its challenges are triggered, an order is waited for this much past the deadline: the
/// HTTP-01 responder must outlive the validation (Let's Encrypt validates from several places,
/// over seconds).
const VALIDATION_GRACE: Duration = Duration::from_secs(30);

/// How challenges are answered in this hook.
#[derive(Debug, Clone)]
pub enum Solver {
    /// HTTP-01: tokens go to the responder.
    Http(Tokens),
    /// DNS-01: TXT records through RFC 2136.
    Dns(Arc<DnsSolver>),
}

/// DNS-01 settings.
#[derive(Debug)]
pub struct DnsSolver {
    /// Where updates go.
    pub updater: Updater,
    /// Where zones and CNAMEs are looked up and propagation is checked, in order (the update
    /// server when empty).
    pub lookup: Vec<Updater>,
    /// Follow CNAMEs of challenge names.
    pub follow_cnames: bool,
    /// Fixed wait after creating records.
    pub propagation_wait: Option<Duration>,
    /// How long to poll the lookup servers until they serve the record (lego's
    /// `RFC2136_PROPAGATION_TIMEOUT`), and how often (`RFC2136_POLLING_INTERVAL`).
    pub propagation_timeout: Duration,
    /// Poll interval.
    pub polling_interval: Duration,
}

impl DnsSolver {
    /// The lookup servers, the update server when none is configured.
    fn lookups(&self) -> impl Iterator<Item = &Updater> {
        let fallback = self.lookup.is_empty().then_some(&self.updater);
        self.lookup.iter().chain(fallback)
    }

    /// The first lookup server's answer that is not an I/O error.
    fn ask<T>(
        &self,
        f: impl Fn(&Updater) -> Result<T, crate::dns::DnsError>,
    ) -> Result<T, crate::dns::DnsError> {
        let mut last = None;
        for u in self.lookups() {
            match f(u) {
                Err(e @ crate::dns::DnsError::Io { .. }) => last = Some(e),
                other => return other,
            }
        }
        match last {
            Some(e) => Err(e),
            None => f(&self.updater),
        }
    }
}

/// What every order task shares.
pub struct Shared {
    /// The account.
    pub account: Account,
    /// Directory URL (error bodies name it).
    pub server: String,
    /// The solver.
    pub solver: Solver,
    /// When the hook stops waiting.
    pub deadline: Instant,
    /// Time with a request to the server in flight.
    pub in_flight: Arc<crate::client::InFlight>,
    /// Time spent polling while the server works on an order.
    pub polling: Arc<crate::client::InFlight>,
    /// Set by the first order that finds the server unreachable: the others stop at once
    /// instead of each waiting out its own timeout.
    pub unreachable: AtomicBool,
}

/// How an order ended in this hook.
#[derive(Debug)]
pub enum Outcome {
    /// The chain (PEM, leaf first) as the server returned it.
    Issued(String),
    /// Refused or failed.
    Failed(Failure),
    /// Still at the server; resumed on a later hook.
    Pending,
}

/// The identifiers a CSR asks for: its SANs (DNS, and IPs when `ips`), else its CN. Wildcards
/// only when `wildcards` (DNS-01).
pub fn identifiers(csr: &pki::Csr, ips: bool, wildcards: bool) -> Result<Vec<Identifier>, Failure> {
    let sans = csr.sans();
    if !sans.ip.is_empty() && !ips {
        let list: Vec<String> = sans.ip.iter().map(ToString::to_string).collect();
        return Err(Failure::refused(
            ErrorCode::IpNotAllowed,
            format!(
                "the CSR names IP addresses ({}); this provider does not request IP identifiers (config request-ip-identifiers=false)",
                list.join(", ")
            ),
        ));
    }
    let mut out: Vec<Identifier> = sans.dns.iter().cloned().map(Identifier::Dns).collect();
    if ips {
        out.extend(sans.ip.iter().copied().map(Identifier::Ip));
    }
    if out.is_empty() {
        match csr.subject().common_name() {
            Some(cn) if !cn.is_empty() => out.push(Identifier::Dns(cn.to_owned())),
            _ => {
                return Err(Failure::refused(
                    ErrorCode::DomainNotAllowed,
                    "the CSR names no DNS name or IP address to validate",
                ));
            }
        }
    }
    if !wildcards
        && let Some(Identifier::Dns(w)) = out
            .iter()
            .find(|i| matches!(i, Identifier::Dns(d) if d.starts_with("*.")))
    {
        return Err(Failure::refused(
            ErrorCode::WildcardNotAllowed,
            format!("{w} is a wildcard name: it needs DNS-01 (plugin rfc2136), not HTTP-01"),
        ));
    }
    Ok(out)
}

fn unreachable_now(shared: &Shared) -> Failure {
    Failure::refused(
        ErrorCode::ServerNotAvailable,
        format!(
            "the ACME server {} did not answer another order in this hook; not tried",
            shared.server
        ),
    )
}

/// Drives one order; `entry` is updated (order URL, DNS records) whatever happens.
pub async fn drive(
    shared: Arc<Shared>,
    csr_der: Vec<u8>,
    identifiers: Vec<Identifier>,
    entry: &mut Entry,
) -> Outcome {
    if shared.unreachable.load(Ordering::Relaxed) {
        return Outcome::Failed(unreachable_now(&shared));
    }
    match steps(&shared, &csr_der, &identifiers, entry).await {
        Ok(Some(chain)) => {
            // The URL stays for the caller to log; the entry leaves the book.
            cleanup(&shared.solver, entry).await;
            Outcome::Issued(chain)
        }
        Ok(None) => Outcome::Pending,
        Err(failure) => {
            if failure.is_unreachable() {
                shared.unreachable.store(true, Ordering::Relaxed);
            }
            if !failure.keeps_order() {
                // The order is decided (or unusable): the next attempt makes a new one.
                cleanup(&shared.solver, entry).await;
                entry.url = None;
            }
            Outcome::Failed(failure)
        }
    }
}

fn time_left(shared: &Shared) -> Duration {
    shared.deadline.saturating_duration_since(Instant::now())
}

async fn steps(
    shared: &Shared,
    csr_der: &[u8],
    identifiers: &[Identifier],
    entry: &mut Entry,
) -> Result<Option<String>, Failure> {
    let acme = |e| Failure::from_acme(e, &shared.server);
    let mut order = match &entry.url {
        Some(url) => match shared.account.order(url.clone()).await {
            Ok(o) => o,
            // Only an order the server no longer knows is started again; any other answer
            // (rate limit, server error) keeps it, so a CSR never gets two live orders.
            Err(instant_acme::Error::Api(p))
                if p.status == Some(404)
                    || p.r#type.as_deref() == Some("urn:ietf:params:acme:error:malformed") =>
            {
                entry.url = None;
                if time_left(shared) < START_MARGIN {
                    return Ok(None);
                }
                new_order(shared, identifiers, entry).await?
            }
            Err(e) => return Err(acme(e).transient()),
        },
        None => {
            if time_left(shared) < START_MARGIN {
                return Ok(None);
            }
            new_order(shared, identifiers, entry).await?
        }
    };
    let mut triggered = false;
    loop {
        if shared.unreachable.load(Ordering::Relaxed) {
            return Err(unreachable_now(shared));
        }
        let status = order.state().status;
        match status {
            OrderStatus::Pending => {
                match answer_challenges(shared, &mut order, entry).await? {
                    Challenges::Deferred => return Ok(None),
                    Challenges::Triggered => triggered = true,
                    Challenges::InProgress => {}
                }
                // Past the deadline only by the grace, and only for what we triggered.
                let until = if triggered {
                    shared.deadline + VALIDATION_GRACE
                } else {
                    shared.deadline
                };
                if !wait_while(shared, &mut order, OrderStatus::Pending, until).await? {
                    return Ok(None);
                }
            }
            OrderStatus::Ready => {
                cleanup(&shared.solver, entry).await;
                if time_left(shared).is_zero() && !triggered {
                    return Ok(None);
                }
                order.finalize_csr(csr_der).await.map_err(acme)?;
                if order.state().status == OrderStatus::Ready {
                    return Err(Failure::other(
                        "the ACME server left the order ready after finalisation",
                    ));
                }
            }
            OrderStatus::Processing => {
                let until = shared.deadline
                    + if triggered {
                        VALIDATION_GRACE
                    } else {
                        Duration::ZERO
                    };
                if !wait_while(shared, &mut order, OrderStatus::Processing, until).await? {
                    return Ok(None);
                }
            }
            OrderStatus::Valid => {
                return match order.certificate().await.map_err(acme)? {
                    Some(chain) => Ok(Some(chain)),
                    None => Ok(None),
                };
            }
            OrderStatus::Invalid => return Err(why_invalid(&mut order).await),
        }
    }
}

async fn new_order(
    shared: &Shared,
    identifiers: &[Identifier],
    entry: &mut Entry,
) -> Result<Order, Failure> {
    let order = shared
        .account
        .new_order(&NewOrder::new(identifiers))
        .await
        .map_err(|e| Failure::from_acme(e, &shared.server))?;
    entry.url = Some(order.url().to_owned());
    Ok(order)
}

/// Polls until the order leaves `status`; `false` when `until` came first.
async fn wait_while(
    shared: &Shared,
    order: &mut Order,
    status: OrderStatus,
    until: Instant,
) -> Result<bool, Failure> {
    // Pebble and Boulder finish a validation in milliseconds to seconds: start polling soon,
    // back off to every 2 s.
    let mut delay = Duration::from_millis(10);
    loop {
        let state = order
            .refresh()
            .await
            .map_err(|e| Failure::from_acme(e, &shared.server))?;
        if state.status != status {
            return Ok(true);
        }
        if Instant::now() + delay > until {
            return Ok(false);
        }
        shared.polling.start();
        tokio::time::sleep(delay).await;
        shared.polling.end();
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// What [`answer_challenges`] did.
enum Challenges {
    /// Challenges were triggered now.
    Triggered,
    /// Nothing to trigger: the server is already validating.
    InProgress,
    /// Not triggered: the deadline is too close, or DNS has not propagated yet.
    Deferred,
}

/// Provisions and triggers every pending challenge of the solver's type.
async fn answer_challenges(
    shared: &Shared,
    order: &mut Order,
    entry: &mut Entry,
) -> Result<Challenges, Failure> {
    let acme = |e| Failure::from_acme(e, &shared.server);
    let wanted = match shared.solver {
        Solver::Http(_) => ChallengeType::Http01,
        Solver::Dns(_) => ChallengeType::Dns01,
    };
    let mut to_trigger = Vec::new();
    let mut published = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(acme)?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        let identifier = authz.identifier().identifier.clone();
        let Some(challenge) = authz.challenge(wanted.clone()) else {
            let what = match &identifier {
                Identifier::Ip(ip) => format!("IP address {ip}"),
                Identifier::Dns(d) => d.clone(),
                other => format!("{other:?}"),
            };
            let code = match identifier {
                Identifier::Ip(_) => ErrorCode::IpNotAllowed,
                _ => ErrorCode::Other,
            };
            return Err(Failure::refused(
                code,
                format!("the ACME server offers no {wanted:?} challenge for {what}"),
            ));
        };
        let key_authorization = challenge.key_authorization();
        match &shared.solver {
            Solver::Http(tokens) => tokens.insert(&challenge.token, key_authorization.as_str()),
            Solver::Dns(dns) if challenge.status == ChallengeStatus::Pending => {
                let Identifier::Dns(domain) = &identifier else {
                    return Err(Failure::refused(
                        ErrorCode::IpNotAllowed,
                        "dns-01 cannot validate an IP address",
                    ));
                };
                let value = key_authorization.dns_value();
                let record = add_record(dns, domain, &value).await?;
                if !entry.records.contains(&record) {
                    entry.records.push(record.clone());
                }
                entry.records_since.get_or_insert_with(real_now);
                published.push(record);
            }
            Solver::Dns(_) => {}
        }
        if challenge.status == ChallengeStatus::Pending {
            to_trigger.push(challenge.url.clone());
        }
    }
    if to_trigger.is_empty() {
        return Ok(Challenges::InProgress);
    }
    if let Solver::Dns(dns) = &shared.solver
        && !propagated(shared, dns, entry, &published).await
    {
        return Ok(Challenges::Deferred);
    }
    if time_left(shared) < START_MARGIN {
        return Ok(Challenges::Deferred);
    }
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(acme)?;
        if let Some(mut challenge) = authz.challenge(wanted.clone())
            && to_trigger.contains(&challenge.url)
        {
            challenge.set_ready().await.map_err(acme)?;
        }
    }
    Ok(Challenges::Triggered)
}

/// Whether the records can be checked now: the fixed `dns-propagation-wait` has passed (across
/// hooks) and the lookup servers serve every record (polled, as lego's pre-check), both within
/// the deadline.
async fn propagated(
    shared: &Shared,
    dns: &Arc<DnsSolver>,
    entry: &Entry,
    records: &[TxtRecord],
) -> bool {
    if let Some(wait) = dns.propagation_wait {
        let waited = real_now() - entry.records_since.unwrap_or_else(real_now);
        let left = wait.saturating_sub(Duration::from_secs(waited.max(0).unsigned_abs()));
        if left + START_MARGIN > time_left(shared) {
            return false;
        }
        tokio::time::sleep(left).await;
    }
    let until = Instant::now() + dns.propagation_timeout.min(time_left(shared));
    loop {
        let dns2 = Arc::clone(dns);
        let wanted = records.to_vec();
        let visible = tokio::task::spawn_blocking(move || {
            wanted.iter().all(|r| {
                Name::parse(&r.name)
                    .is_ok_and(|n| dns2.ask(|u| u.has_txt(&n, &r.value)).unwrap_or(false))
            })
        })
        .await
        .unwrap_or(false);
        if visible {
            return true;
        }
        if Instant::now() + dns.polling_interval > until {
            return false;
        }
        tokio::time::sleep(dns.polling_interval).await;
    }
}

async fn add_record(dns: &Arc<DnsSolver>, domain: &str, value: &str) -> Result<TxtRecord, Failure> {
    let dns = Arc::clone(dns);
    let domain = domain.trim_start_matches("*.").to_owned();
    let value = value.to_owned();
    tokio::task::spawn_blocking(move || {
        // Our side of the challenge failed, not the order: it is kept for the next try.
        let fail = |e: crate::dns::DnsError| {
            Failure::other(format!("dns-01 for {domain}: {e}")).transient()
        };
        let name = Name::parse(&format!("_acme-challenge.{domain}"))
            .map_err(|e| Failure::other(e.to_string()))?;
        let target = if dns.follow_cnames {
            dns.ask(|u| u.follow_cnames(&name)).map_err(fail)?
        } else {
            name
        };
        let zone = dns.ask(|u| u.zone_of(&target)).map_err(fail)?;
        dns.updater.add_txt(&zone, &target, &value).map_err(fail)?;
        Ok(TxtRecord {
            zone: zone.to_string(),
            name: target.to_string(),
            value,
        })
    })
    .await
    .map_err(|e| Failure::other(format!("dns-01 task: {e}")))?
}

/// Removes the TXT records of `entry` (a record that cannot be removed now is kept and tried
/// again with the next hook's attempt). Under HTTP-01 (the plugin changed since) there is no
/// name server to ask: the records are forgotten, and the caller logs them.
pub async fn cleanup(solver: &Solver, entry: &mut Entry) {
    let Solver::Dns(dns) = solver else {
        entry.records.clear();
        entry.records_since = None;
        return;
    };
    let records = std::mem::take(&mut entry.records);
    let dns = Arc::clone(dns);
    let kept = tokio::task::spawn_blocking(move || {
        records
            .into_iter()
            .filter(|r| {
                let (Ok(zone), Ok(name)) = (Name::parse(&r.zone), Name::parse(&r.name)) else {
                    return false;
                };
                dns.updater.remove_txt(&zone, &name, &r.value).is_err()
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    if kept.is_empty() {
        entry.records_since = None;
    }
    entry.records = kept;
}

/// The problem of an invalid order: its own error, else the first failed challenge's.
async fn why_invalid(order: &mut Order) -> Failure {
    if let Some(p) = &order.state().error {
        return Failure::from_problem(p);
    }
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        if let Some(p) = authz.challenges.iter().find_map(|c| c.error.as_ref()) {
            return Failure::from_problem(p);
        }
    }
    Failure::other("the ACME server marked the order invalid without saying why")
}

fn real_now() -> i64 {
    i64::try_from(crate::dns::client::real_unix_time()).unwrap_or(i64::MAX)
}
