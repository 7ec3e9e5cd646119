//! Driving one CSR's order: create it (or resume the stored one), answer its challenges,
//! finalise it with the requirer's CSR as it is (the key never leaves the requirer), and fetch
//! the chain; within the hook's deadline, after which the order stays pending for a later hook.

use std::sync::Arc;
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
    /// Where zones and CNAMEs are looked up (the update server when empty).
    pub lookup: Vec<Updater>,
    /// Follow CNAMEs of challenge names.
    pub follow_cnames: bool,
    /// Wait after creating records.
    pub propagation_wait: Option<Duration>,
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
    /// Time spent waiting on the server (requests, and polls while it works on an order).
    pub waiting: Arc<crate::client::InFlight>,
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

/// The identifiers a CSR asks for: its SANs (DNS, and IPs when `ips`), else its CN.
pub fn identifiers(csr: &pki::Csr, ips: bool) -> Result<Vec<Identifier>, Failure> {
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
    Ok(out)
}

/// Drives one order; `entry` is updated (order URL, DNS records) whatever happens.
pub async fn drive(
    shared: Arc<Shared>,
    csr_der: Vec<u8>,
    identifiers: Vec<Identifier>,
    entry: &mut Entry,
) -> Outcome {
    match steps(&shared, &csr_der, &identifiers, entry).await {
        Ok(Some(chain)) => {
            // The URL stays for the caller to log; the entry leaves the book.
            cleanup(&shared, entry).await;
            Outcome::Issued(chain)
        }
        Ok(None) => Outcome::Pending,
        Err(failure) => {
            if !failure.is_unreachable() {
                // The order is decided (or unusable): the next attempt makes a new one.
                cleanup(&shared, entry).await;
                entry.url = None;
            }
            Outcome::Failed(failure)
        }
    }
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
            // An order the server no longer knows (expired, another server): start again.
            Err(instant_acme::Error::Api(_)) => new_order(shared, identifiers, entry).await?,
            Err(e) => return Err(acme(e)),
        },
        None => new_order(shared, identifiers, entry).await?,
    };
    loop {
        let status = order.state().status;
        match status {
            OrderStatus::Pending => {
                if !answer_challenges(shared, &mut order, entry).await? {
                    return Ok(None);
                }
                if !wait_while(shared, &mut order, OrderStatus::Pending).await? {
                    return Ok(None);
                }
            }
            OrderStatus::Ready => {
                cleanup(shared, entry).await;
                order.finalize_csr(csr_der).await.map_err(acme)?;
            }
            OrderStatus::Processing => {
                if !wait_while(shared, &mut order, OrderStatus::Processing).await? {
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

/// Polls until the order leaves `status`; `false` when the deadline came first.
async fn wait_while(
    shared: &Shared,
    order: &mut Order,
    status: OrderStatus,
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
        if Instant::now() + delay > shared.deadline {
            return Ok(false);
        }
        shared.waiting.start();
        tokio::time::sleep(delay).await;
        shared.waiting.end();
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Provisions and triggers every pending challenge of the solver's type.
/// `false` when the hook's deadline came before the challenges could be triggered.
async fn answer_challenges(
    shared: &Shared,
    order: &mut Order,
    entry: &mut Entry,
) -> Result<bool, Failure> {
    let acme = |e| Failure::from_acme(e, &shared.server);
    let wanted = match shared.solver {
        Solver::Http(_) => ChallengeType::Http01,
        Solver::Dns(_) => ChallengeType::Dns01,
    };
    let mut to_trigger = Vec::new();
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
                let record = add_record(dns, domain, &key_authorization.dns_value()).await?;
                if !entry.records.contains(&record) {
                    entry.records.push(record);
                }
                entry.records_since.get_or_insert_with(real_now);
            }
            Solver::Dns(_) => {}
        }
        if challenge.status == ChallengeStatus::Pending {
            to_trigger.push(challenge.url.clone());
        }
    }
    if to_trigger.is_empty() {
        return Ok(true);
    }
    if let Solver::Dns(dns) = &shared.solver
        && let Some(wait) = dns.propagation_wait
    {
        // Waited once per order: a later hook waits only what is left.
        let waited = real_now() - entry.records_since.unwrap_or_else(real_now);
        let left = wait.saturating_sub(Duration::from_secs(waited.max(0).unsigned_abs()));
        if Instant::now() + left > shared.deadline {
            tokio::time::sleep(shared.deadline.saturating_duration_since(Instant::now())).await;
            return Ok(false);
        }
        tokio::time::sleep(left).await;
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
    Ok(true)
}

fn real_now() -> i64 {
    i64::try_from(crate::dns::client::real_unix_time()).unwrap_or(i64::MAX)
}

async fn add_record(dns: &Arc<DnsSolver>, domain: &str, value: &str) -> Result<TxtRecord, Failure> {
    let dns = Arc::clone(dns);
    let domain = domain.trim_start_matches("*.").to_owned();
    let value = value.to_owned();
    tokio::task::spawn_blocking(move || {
        let fail = |e: crate::dns::DnsError| Failure::other(format!("dns-01 for {domain}: {e}"));
        let name = Name::parse(&format!("_acme-challenge.{domain}"))
            .map_err(|e| Failure::other(e.to_string()))?;
        let lookup = dns.lookup.first().unwrap_or(&dns.updater);
        let target = if dns.follow_cnames {
            lookup.follow_cnames(&name).map_err(fail)?
        } else {
            name
        };
        let zone = lookup.zone_of(&target).map_err(fail)?;
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

/// Removes the TXT records of `entry` (best effort: a record that cannot be removed now is kept
/// and tried again with the next hook's attempt).
pub async fn cleanup(shared: &Shared, entry: &mut Entry) {
    let Solver::Dns(dns) = &shared.solver else {
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
