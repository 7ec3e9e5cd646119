//! Caps on what one requirer can make the provider read, checked before anything is parsed, so
//! a flooding or malicious requirer costs a bounded amount of work per hook and is answered
//! with request errors naming the cap instead of certificates.

/// The caps. Their names (`max-*`) are also the self-signed-certificates charm's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Bytes of one databag value (`max-databag-value-bytes`): a larger
    /// `certificate_signing_requests` value is not parsed as JSON at all.
    pub max_value_bytes: usize,
    /// Requests in one unit bag or one application bag (`max-requests-per-bag`).
    pub max_requests_per_bag: usize,
    /// Bytes of one CSR's PEM text (`max-csr-bytes`).
    pub max_csr_bytes: usize,
    /// Subject alternative names in one CSR (`max-sans-per-csr`).
    pub max_sans: usize,
}

/// 16 MiB: far above any honest bag (1,000 RSA-4096 CSRs are about 2 MiB of JSON).
pub const DEFAULT_MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;
/// 1,000 requests per bag: a unit asks for a handful.
pub const DEFAULT_MAX_REQUESTS_PER_BAG: usize = 1_000;
/// 64 KiB: an RSA-16384 CSR with 100 SANs is under 6 KiB.
pub const DEFAULT_MAX_CSR_BYTES: usize = 64 * 1024;
/// 1,000 SANs: ten times the 100 names per certificate of Let's Encrypt (and of most public
/// CAs); TLS stacks and browsers slow down on certificates far below 20,000 names.
pub const DEFAULT_MAX_SANS: usize = 1_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            max_requests_per_bag: DEFAULT_MAX_REQUESTS_PER_BAG,
            max_csr_bytes: DEFAULT_MAX_CSR_BYTES,
            max_sans: DEFAULT_MAX_SANS,
        }
    }
}

/// Which cap a request hit (the `reason` of its request error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cap {
    ValueBytes,
    RequestsPerBag,
    CsrBytes,
    Sans,
}

impl Cap {
    /// The cap's name: the charm option that sets it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Cap::ValueBytes => "max-databag-value-bytes",
            Cap::RequestsPerBag => "max-requests-per-bag",
            Cap::CsrBytes => "max-csr-bytes",
            Cap::Sans => "max-sans-per-csr",
        }
    }

    pub(crate) fn limit(self, limits: &Limits) -> usize {
        match self {
            Cap::ValueBytes => limits.max_value_bytes,
            Cap::RequestsPerBag => limits.max_requests_per_bag,
            Cap::CsrBytes => limits.max_csr_bytes,
            Cap::Sans => limits.max_sans,
        }
    }

    /// The error message: what was found, the cap, and its name.
    pub(crate) fn message(self, limits: &Limits, found: &str) -> String {
        let what = match self {
            Cap::ValueBytes => "bytes per databag value",
            Cap::RequestsPerBag => "requests per unit or application bag",
            Cap::CsrBytes => "bytes per CSR",
            Cap::Sans => "subject alternative names per CSR",
        };
        format!(
            "request refused: {found}, over the cap of {} {what} ({})",
            self.limit(limits),
            self.name()
        )
    }
}

const BEGIN: &str = "-----BEGIN CERTIFICATE REQUEST-----";
const END: &str = "-----END CERTIFICATE REQUEST-----";

/// The CSRs in a value too large to parse, found by a linear text scan (at most `max`), with
/// JSON's `\n` escapes undone: enough to answer each with an error naming the cap.
pub(crate) fn scan_csrs(value: &str, max: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = value;
    while found.len() < max {
        let Some(start) = rest.find(BEGIN) else { break };
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        found.push(rest[start..end].replace("\\n", "\n"));
        rest = &rest[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn scan_finds_escaped_blocks_up_to_max() {
        let block = format!("{BEGIN}\\nAAAA\\n{END}");
        let value = format!(
            "[{{\"certificate_signing_request\": \"{block}\"}}, {{\"certificate_signing_request\": \"{block}\"}}]"
        );
        let found = scan_csrs(&value, 10);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], format!("{BEGIN}\nAAAA\n{END}"));
        assert_eq!(scan_csrs(&value, 1).len(), 1);
    }

    #[test]
    fn messages_name_the_cap() {
        let l = Limits::default();
        let m = Cap::Sans.message(&l, "20000 SANs");
        assert!(m.contains("max-sans-per-csr") && m.contains("1000"), "{m}");
    }

    proptest! {
        #[test]
        fn scan_never_panics_and_stays_bounded(text in ".{0,400}", max in 0usize..5) {
            let with_blocks = format!("{text}{BEGIN}{text}{END}{text}");
            prop_assert!(scan_csrs(&with_blocks, max).len() <= max);
            prop_assert!(scan_csrs(&text, max).len() <= max);
        }
    }
}
