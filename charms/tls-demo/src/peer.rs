//! `certificates-from=peers`: the unit's certificate comes from the application's leader over
//! the peer `tls` interface on `tls-peers` (the reactive `interface-tls` wire), with the CA the
//! first leader made: no CA charm, no `certificates` relation.

use charm::{HandlerError, LogLevel, Model};
use pki::RequestAttributes;
use tls_interfaces::{PeerTls, PeerTlsEvent, UnitState};

use crate::{Held, short};

/// The peer endpoint of interface `tls`.
pub(crate) const TLS_PEERS: &str = "tls-peers";

/// The certificate this unit holds, and what its status adds about it.
pub(crate) struct PeerCertificate {
    /// Certificate, chain, CA and key.
    pub(crate) held: Held,
    /// Appended to the status message: where the certificate is from.
    pub(crate) detail: String,
}

/// Moves the interface on (key, CSR, and on the leader the CA and the signatures), then the
/// certificate this unit holds, if the leader has signed it.
pub(crate) fn certificate(
    model: &mut Model<'_>,
    request: RequestAttributes,
) -> Result<Option<PeerCertificate>, HandlerError> {
    let tls = PeerTls::new(TLS_PEERS.parse()?, request);
    for event in tls.reconcile(model)? {
        let line = match event {
            PeerTlsEvent::CsrCreated => "published a new certificate signing request".to_owned(),
            PeerTlsEvent::Signed { unit, reason } => {
                format!("signed the certificate of {unit} ({reason:?})")
            }
            PeerTlsEvent::Adopted { unit } => {
                format!("took over the certificate an earlier leader signed for {unit}")
            }
            PeerTlsEvent::CertificateAvailable => "a new certificate is available".to_owned(),
            // The library logs refusals itself, naming the unit and key.
            _ => continue,
        };
        model.log(LogLevel::Info, &format!("peer tls: {line}"))?;
    }
    let UnitState::Available(certificates) = tls.state(model)? else {
        return Ok(None);
    };
    let leader = model.is_leader()?;
    let mut detail = format!("; from the peer CA {}", short(&certificates.ca));
    if leader {
        detail.push_str("; leader: signs the peers' certificates");
    }
    Ok(Some(PeerCertificate {
        detail,
        held: Held {
            chain: certificates
                .chain
                .iter()
                .map(|c| c.pem().trim().to_owned())
                .collect(),
            ca: certificates.ca.pem().trim().to_owned(),
            certificate: certificates.certificate,
            key: certificates.private_key,
        },
    }))
}
