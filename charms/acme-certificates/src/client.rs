//! The ACME account: its HTTPS client (trust roots, timeouts) and its credentials in an
//! application-owned secret, so any leader signs with the same account key.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use charm::{BackendError, Model, NewSecret, SecretLookup, SecretOwner, SecretRead};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{
    Account, AccountCredentials, BodyWrapper, BytesResponse, ExternalAccountKey, HttpClient,
    NewAccount,
};
use rustls_pki_types::CertificateDer;

use crate::problem::Failure;

/// Label of the application secret holding the account.
pub const ACCOUNT_LABEL: &str = "acme-account";

/// Wall time with at least one request to the ACME server in flight: the server's share of a
/// hook, measured where it happens (orders run concurrently, so durations would overlap).
#[derive(Debug, Default)]
pub struct InFlight(Mutex<(usize, Option<Instant>, Duration)>);

impl InFlight {
    /// One more request (or wait) in flight.
    pub fn start(&self) {
        if let Ok(mut g) = self.0.lock() {
            if g.0 == 0 {
                g.1 = Some(Instant::now());
            }
            g.0 += 1;
        }
    }

    /// One fewer.
    pub fn end(&self) {
        if let Ok(mut g) = self.0.lock() {
            g.0 = g.0.saturating_sub(1);
            if g.0 == 0
                && let Some(t) = g.1.take()
            {
                g.2 += t.elapsed();
            }
        }
    }

    /// The time so far.
    pub fn total(&self) -> Duration {
        self.0.lock().map(|g| g.2).unwrap_or_default()
    }
}

/// An HTTPS client whose every request ends within a deadline: a server that accepts
/// connections but never answers (stopped, overloaded) counts as unreachable, not as a hang.
struct TimedClient {
    inner: HyperClient<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>,
    timeout: Duration,
    in_flight: Arc<InFlight>,
}

/// A request that took longer than `acme-request-timeout`.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {0:?} (acme-request-timeout)")]
pub struct TimedOut(Duration);

impl HttpClient for TimedClient {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let fut = HttpClient::request(&self.inner, req);
        let timeout = self.timeout;
        let in_flight = Arc::clone(&self.in_flight);
        Box::pin(async move {
            in_flight.start();
            // Headers and body within the timeout: a server that stalls mid-body is as
            // unreachable as one that never answers.
            let whole = async {
                let mut r = fut.await?;
                let body = r
                    .body
                    .into_bytes()
                    .await
                    .map_err(instant_acme::Error::Other)?;
                Ok(BytesResponse {
                    parts: r.parts,
                    body: Box::new(body),
                })
            };
            let r = match tokio::time::timeout(timeout, whole).await {
                Ok(r) => r,
                Err(_) => Err(instant_acme::Error::Other(Box::new(TimedOut(timeout)))),
            };
            in_flight.end();
            r
        })
    }
}

/// The HTTPS client: `cas` (PEM) as the only roots when given, else the system's; the time
/// its requests are in flight adds up in `in_flight`.
pub fn http_client(
    cas: &[String],
    timeout: Duration,
    in_flight: Arc<InFlight>,
) -> Result<Box<dyn HttpClient>, Failure> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = if cas.is_empty() {
        builder.with_native_roots().map_err(|e| {
            Failure::config(format!(
                "cannot load the system's trusted CA certificates: {e}"
            ))
        })?
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for pem in cas {
            let cert = pki::Certificate::from_pem(pem)
                .map_err(|e| Failure::config(format!("a CA certificate to trust: {e}")))?;
            roots
                .add(CertificateDer::from(cert.der().to_vec()))
                .map_err(|e| Failure::config(format!("a CA certificate to trust: {e}")))?;
        }
        builder.with_tls_config(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    };
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    http.enforce_http(false);
    let connector = builder.https_only().enable_http1().wrap_connector(http);
    Ok(Box::new(TimedClient {
        inner: HyperClient::builder(TokioExecutor::new()).build(connector),
        timeout,
        in_flight,
    }))
}

/// External Account Binding credentials (`eab-kid`, `eab-hmac` base64url).
#[derive(Clone)]
pub struct Eab {
    /// Key identifier.
    pub kid: String,
    /// HMAC key, decoded.
    pub hmac: Vec<u8>,
}

impl std::fmt::Debug for Eab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the HMAC key.
        f.debug_struct("Eab")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Eab {
    /// From the secret's content; lego's message when one key is missing.
    pub fn from_content(
        content: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let both = "eab-secret-id secret must contain both 'eab-kid' and 'eab-hmac'";
        let kid = content
            .get("eab-kid")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        let hmac = content
            .get("eab-hmac")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        let (Some(kid), Some(hmac)) = (kid, hmac) else {
            return Err(both.into());
        };
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(hmac.trim_end_matches('='))
            .map_err(|_| "eab-hmac in eab-secret-id is not base64url".to_owned())?;
        Ok(Self {
            kid: kid.to_owned(),
            hmac: decoded,
        })
    }
}

/// What the account secret holds besides the credentials: the account is for this email and
/// server; another email or server means another account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFor {
    /// Contact email.
    pub email: String,
    /// Directory URL.
    pub server: String,
}

/// The account of `want`: restored from the application secret when it was made for the same
/// email and server, else created at the server (with EAB when given) and stored.
pub async fn account(
    model_secret: Option<StoredAccount>,
    want: &AccountFor,
    http: Box<dyn HttpClient>,
    eab: Option<&Eab>,
) -> Result<(Account, Option<String>), Failure> {
    if let Some(content) = &model_secret
        && content.get("email") == Some(&want.email)
        && content.get("server") == Some(&want.server)
        && let Some(json) = content.get("credentials")
    {
        // Unreadable credentials (edited by hand, a library change) are replaced by a new
        // account below rather than blocking every request; the caller logs the new account.
        if let Ok(credentials) = serde_json::from_str::<AccountCredentials>(json) {
            let account = Account::builder_with_http(http)
                .from_credentials(credentials)
                .await
                .map_err(|e| Failure::from_acme(e, &want.server))?;
            return Ok((account, None));
        }
    }
    create(want, http, eab).await
}

async fn create(
    want: &AccountFor,
    http: Box<dyn HttpClient>,
    eab: Option<&Eab>,
) -> Result<(Account, Option<String>), Failure> {
    let contact = format!("mailto:{}", want.email);
    let eab_key = eab.map(|e| ExternalAccountKey::new(e.kid.clone(), &e.hmac));
    let (account, credentials) = Account::builder_with_http(http)
        .create(
            &NewAccount {
                contact: &[&contact],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            want.server.clone(),
            eab_key.as_ref(),
        )
        .await
        .map_err(|e| Failure::from_acme(e, &want.server))?;
    let json = serde_json::to_string(&credentials)
        .map_err(|e| Failure::other(format!("cannot serialise the ACME account: {e}")))?;
    Ok((account, Some(json)))
}

/// The account secret's content.
pub type StoredAccount = std::collections::BTreeMap<String, String>;

/// The account secret's content, if there is one (leader: the owner reads the latest). One
/// tool call on the hot path; the id is only looked up when the account changes.
pub fn stored_account(model: &mut Model<'_>) -> Result<Option<StoredAccount>, charm::Error> {
    let lookup = SecretLookup::Label(ACCOUNT_LABEL.into());
    match model.secret(&lookup, SecretRead::Tracked) {
        Ok(content) => Ok(Some(content)),
        Err(charm::Error::Backend(BackendError::SecretNotFound(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Stores a new account (credentials JSON) for `want`, in the existing secret when there is
/// one (a new revision), else in a new application secret.
pub fn store_account(
    model: &mut Model<'_>,
    want: &AccountFor,
    credentials: String,
) -> Result<(), charm::Error> {
    let lookup = SecretLookup::Label(ACCOUNT_LABEL.into());
    let existing = match model.secret_info(&lookup) {
        Ok(info) => Some(info.id),
        Err(charm::Error::Backend(BackendError::SecretNotFound(_))) => None,
        Err(e) => return Err(e),
    };
    let content = std::collections::BTreeMap::from([
        ("credentials".to_owned(), credentials),
        ("email".to_owned(), want.email.clone()),
        ("server".to_owned(), want.server.clone()),
    ]);
    match existing {
        Some(id) => model.update_secret(
            &id,
            &charm::SecretUpdate {
                content: Some(content),
                ..Default::default()
            },
        ),
        None => model
            .add_secret(&NewSecret {
                content,
                label: Some(ACCOUNT_LABEL.into()),
                description: Some("ACME account key and URL".into()),
                expire: None,
                rotate: None,
                owner: SecretOwner::Application,
            })
            .map(|_| ()),
    }
}

/// CPU time of this process so far (every thread: the runtime, DNS workers), from the
/// scheduler's per-thread nanosecond counters; `None` where `/proc` does not say.
pub fn cpu_time() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// Drops the stored credentials (the server no longer knows the account, or deactivated it):
/// the next hook creates a new account. Email and server stay, for the record.
pub fn forget_account(
    model: &mut Model<'_>,
    want: &AccountFor,
    why: &str,
) -> Result<(), charm::Error> {
    let lookup = SecretLookup::Label(ACCOUNT_LABEL.into());
    let id = match model.secret_info(&lookup) {
        Ok(info) => info.id,
        Err(charm::Error::Backend(BackendError::SecretNotFound(_))) => return Ok(()),
        Err(e) => return Err(e),
    };
    let content = std::collections::BTreeMap::from([
        ("email".to_owned(), want.email.clone()),
        ("server".to_owned(), want.server.clone()),
        ("forgotten".to_owned(), why.to_owned()),
    ]);
    model.update_secret(
        &id,
        &charm::SecretUpdate {
            content: Some(content),
            ..Default::default()
        },
    )
}
