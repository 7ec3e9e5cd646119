//! The async part of a hook: the account, the HTTP-01 responder, one task per CSR (at most
//! [`PARALLEL_ORDERS`] at once), and the records of abandoned orders removed first.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tls_interfaces::RequirerRequest;
use tokio::sync::Semaphore;

use crate::book::{Book, Entry};
use crate::client::{self, AccountFor, Eab, InFlight};
use crate::config::Config;
use crate::http01;
use crate::order::{self, Outcome, Shared, Solver};
use crate::problem::Failure;

/// Orders driven at once: enough to hide round trips, few enough for a server's rate limits.
const PARALLEL_ORDERS: usize = 8;

/// One CSR to drive: its book key and every request that carries it (the same CSR on two
/// relations is one order, answered on both).
pub struct Due {
    /// SHA-256 of the CSR.
    pub key: String,
    /// The requests.
    pub requests: Vec<RequirerRequest>,
}

/// Everything the async part needs.
pub struct Run<'a> {
    /// The config.
    pub config: &'a Config,
    /// How challenges are answered.
    pub solver: Solver,
    /// EAB credentials, for a new account.
    pub eab: Option<&'a Eab>,
    /// CAs to trust for the server's TLS.
    pub trusted: &'a [String],
    /// The unit's address (HTTP-01 responder).
    pub address: Option<std::net::IpAddr>,
    /// When the hook stops waiting.
    pub deadline: tokio::time::Instant,
    /// Requests in flight.
    pub in_flight: Arc<InFlight>,
    /// Polls while the server works.
    pub polling: Arc<InFlight>,
}

/// What stopped every due request at once.
#[derive(Debug)]
pub enum Stop {
    /// The account could not be restored or created.
    Account(Failure),
    /// The HTTP-01 responder could not listen.
    Responder(String),
}

/// What the async part did.
pub struct Done {
    /// The account's URL (empty when nothing was due).
    pub account_url: String,
    /// Credentials of an account created now, to store.
    pub new_account: Option<String>,
    /// The server says the stored account is gone.
    pub account_gone: bool,
    /// Per CSR: its key, requests, updated entry and outcome.
    pub outcomes: Vec<(Due, Entry, Outcome)>,
}

impl Run<'_> {
    /// Cleans up abandoned records, then drives `due`.
    pub async fn orders(
        self,
        stored: Option<client::StoredAccount>,
        book: &mut Book,
        due: Vec<Due>,
    ) -> Result<Done, (Stop, Vec<Due>)> {
        // Records of orders given up (CSR withdrawn or refused now) go first: that needs the
        // name server only, not the ACME server.
        let wanted: BTreeSet<&String> = due.iter().map(|d| &d.key).collect();
        for (key, entry) in book.orders.iter_mut() {
            if !wanted.contains(key) && entry.url.is_none() && !entry.records.is_empty() {
                order::cleanup(&self.solver, entry).await;
            }
        }
        book.orders.retain(|k, e| {
            wanted.contains(k) || e.url.is_some() || !e.records.is_empty() || e.retry_at.is_some()
        });
        let mut done = Done {
            account_url: String::new(),
            new_account: None,
            account_gone: false,
            outcomes: Vec::new(),
        };
        if due.is_empty() {
            return Ok(done);
        }
        let http = match client::http_client(
            self.trusted,
            self.config.acme_request_timeout,
            Arc::clone(&self.in_flight),
        ) {
            Ok(h) => h,
            Err(f) => return Err((Stop::Account(f), due)),
        };
        let want = AccountFor {
            email: self.config.email.clone(),
            server: self.config.server.clone(),
        };
        let (account, new_account) = match client::account(stored, &want, http, self.eab).await {
            Ok(a) => a,
            Err(f) => return Err((Stop::Account(f), due)),
        };
        done.account_url = account.id().to_owned();
        done.new_account = new_account;
        if book.account.as_deref() != Some(done.account_url.as_str()) {
            // Orders belong to their account: another account starts them again.
            for e in book.orders.values_mut() {
                e.url = None;
            }
            book.account = Some(done.account_url.clone());
        }
        let _responder = match (&self.solver, self.address) {
            (Solver::Http(tokens), Some(ip)) => {
                let at = std::net::SocketAddr::new(ip, self.config.http_01_port);
                match http01::Responder::start(at, tokens.clone()).await {
                    Ok(r) => Some(r),
                    Err(e) => {
                        let why =
                            format!("cannot answer http-01 challenges: cannot listen on {at}: {e}");
                        return Err((Stop::Responder(why), due));
                    }
                }
            }
            (Solver::Http(_), None) => {
                let why = "cannot answer http-01 challenges: the unit has no address on the certificates endpoint".to_owned();
                return Err((Stop::Responder(why), due));
            }
            (Solver::Dns(_), _) => None,
        };
        let shared = Arc::new(Shared {
            account,
            server: self.config.server.clone(),
            solver: self.solver,
            deadline: self.deadline,
            in_flight: Arc::clone(&self.in_flight),
            polling: Arc::clone(&self.polling),
            unreachable: AtomicBool::new(false),
        });
        let limit = Arc::new(Semaphore::new(PARALLEL_ORDERS));
        let mut tasks = tokio::task::JoinSet::new();
        let wildcards = matches!(shared.solver, Solver::Dns(_));
        for d in due {
            let mut entry = book.orders.get(&d.key).cloned().unwrap_or_default();
            let Some(first) = d.requests.first() else {
                continue;
            };
            let ids =
                match order::identifiers(&first.csr, self.config.request_ip_identifiers, wildcards)
                {
                    Ok(ids) => ids,
                    Err(_) => continue,
                };
            let der = first.csr.der().to_vec();
            let shared = Arc::clone(&shared);
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let outcome = order::drive(shared, der, ids, &mut entry).await;
                (d, entry, outcome)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok(o) = joined {
                if matches!(&o.2, Outcome::Failed(f) if f.account_gone()) {
                    done.account_gone = true;
                }
                done.outcomes.push(o);
            }
        }
        Ok(done)
    }
}
