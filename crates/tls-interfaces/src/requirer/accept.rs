//! Judging a certificate the provider sent for one of our CSRs: it must parse, be for our key,
//! be the kind we asked for and name what we asked for (else it is refused, with the reason);
//! its chain is verified as `pki verify` does and its defects reported (it is kept anyway).
//! Pure: no model, the clock is an input.

use pki::chain::Usage;
use pki::{Certificate, Csr, PrivateKey};

use crate::time_fmt;
use crate::wire::tls_certificates::CertificateEntry;

/// The certificate of `entry` when it answers `csr` (asked as a CA when `is_ca`) for `key`;
/// otherwise why it is refused, as a log line.
pub(super) fn judge(
    csr: &Csr,
    is_ca: bool,
    entry: &CertificateEntry,
    key: &PrivateKey,
) -> Result<Certificate, String> {
    let subject = csr.subject();
    let certificate = Certificate::from_pem(&entry.certificate)
        .map_err(|e| format!("refusing the certificate for '{subject}': it does not parse: {e}"))?;
    if !certificate.matches_key(key) {
        return Err(format!(
            "refusing the certificate for '{subject}': it is not for our private key"
        ));
    }
    let info = certificate.info();
    if info.is_ca != is_ca {
        let (asked, got) = if is_ca {
            ("a CA", "a leaf")
        } else {
            ("a leaf", "a CA")
        };
        return Err(format!(
            "refusing the certificate for '{subject}': {asked} certificate was requested, the provider sent {got}"
        ));
    }
    if info.subject.common_name() != subject.common_name()
        || info.sans.dns != csr.sans().dns
        || info.sans.ip != csr.sans().ip
    {
        return Err(format!(
            "refusing the certificate for '{subject}': its subject or SANs ({}; {}) differ from the request ({}; {})",
            info.subject,
            info.sans.to_strings().join(", "),
            subject,
            csr.sans().to_strings().join(", ")
        ));
    }
    Ok(certificate)
}

/// What is wrong with leaf -> chain -> CA, one log line each, judged at `now` as `pki verify`
/// judges (`rustls-webpki` for TLS server or client use: unknown critical extensions, extended
/// key usages, name constraints; a CA or v1 certificate is walked by our own verifier, which
/// webpki does not judge), naming the known Python provider defects. The certificate is still
/// accepted: key and request match, and the workload may trust its real issuer by other means.
pub(super) fn chain_defects(
    certificate: &Certificate,
    entry: &CertificateEntry,
    subject: &str,
    now: i64,
) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(ca) = Certificate::from_pem(&entry.ca) else {
        out.push(format!(
            "the CA sent with the certificate for '{subject}' does not parse"
        ));
        return out;
    };
    let chain: Vec<Certificate> = entry
        .chain
        .iter()
        .flatten()
        .filter_map(|p| Certificate::from_pem(p).ok())
        .collect();
    if let Some(first) = chain.first()
        && first.der() != certificate.der()
    {
        out.push(format!(
            "the chain sent for '{subject}' does not start with the certificate (expected leaf first)"
        ));
    }
    let intermediates: Vec<Certificate> = chain
        .into_iter()
        .filter(|c| c.der() != certificate.der() && c.der() != ca.der())
        .collect();
    if let Err(e) = pki::chain::verify_for_usage(
        certificate,
        &intermediates,
        &ca,
        time_fmt::at(now),
        Usage::Any,
    ) {
        let hint = if certificate.info().issuer.der() == ca.info().issuer.der()
            && !ca.is_self_issued()
        {
            " (the certificate's issuer is the CA's own issuer: the Python provider helper's intermediate-CA defect)"
        } else {
            ""
        };
        out.push(format!(
            "the certificate for '{subject}' does not chain to the CA it came with: {e}{hint}"
        ));
    }
    out
}

/// When certificates are renewed: a fraction of the time left when the certificate is stored
/// (the Python library's `renewal_relative_time`), or earlier when the charm asks for a fixed
/// margin before expiry (a CA whose remaining validity must exceed what it issues).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Renewal {
    /// In (0.5, 1.0].
    pub(crate) fraction: f64,
    /// Seconds before `not_after` by which renewal happens at the latest.
    pub(crate) before_expiry: Option<i64>,
}

impl Default for Renewal {
    fn default() -> Self {
        Self {
            fraction: 0.9,
            before_expiry: None,
        }
    }
}

impl Renewal {
    /// When the certificate secret expires, so that `secret-expired` renews: the earlier of
    /// `fraction` of the time left and the margin before `not_after`. The margin is capped at
    /// half the time left: a margin longer than the certificate's life would renew at once,
    /// every time.
    pub(super) fn time(&self, now: i64, not_after: i64) -> i64 {
        let left = (not_after - now).max(0);
        let by_fraction = now + (left as f64 * self.fraction) as i64;
        match self.before_expiry {
            Some(margin) => by_fraction.min(not_after - margin.min(left / 2)),
            None => by_fraction,
        }
    }

    /// Whether the safety net renews `cert` at `now`: a little after the renewal time (in case
    /// the `secret-expired` event was missed), and before the end.
    pub(super) fn safety_net_due(&self, cert: &Certificate, now: i64) -> bool {
        let info = cert.info();
        let start = info.not_before.unix_timestamp();
        let end = info.not_after.unix_timestamp();
        let threshold = (self.fraction + 0.05).min(0.99);
        let mut due = start + ((end - start) as f64 * threshold) as i64;
        if let Some(margin) = self.before_expiry {
            // A twentieth of the margin late, as the fraction's safety net is 5% late.
            let margin = margin.min((end - start) / 2);
            due = due.min(end - margin + margin / 20);
        }
        now >= due && now < end
    }
}

#[cfg(test)]
mod tests {
    use super::Renewal;

    const DAY: i64 = 86_400;

    #[test]
    fn a_margin_before_expiry_renews_earlier_than_the_fraction() {
        let fraction = Renewal::default();
        assert_eq!(fraction.time(0, 30 * DAY), 27 * DAY);
        let margin = Renewal {
            before_expiry: Some(8 * DAY),
            ..Renewal::default()
        };
        assert_eq!(margin.time(0, 30 * DAY), 22 * DAY);
        // The fraction still wins when it comes first.
        assert_eq!(margin.time(0, 100 * DAY), 90 * DAY);
        // A margin longer than the life left is capped at half of it: never at once.
        assert_eq!(margin.time(5 * DAY, 10 * DAY), 7 * DAY + DAY / 2);
    }
}
