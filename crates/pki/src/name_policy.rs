//! Which names a CA signs for, in the manner of a Vault PKI role: allowed domains, bare
//! domains, subdomains, wildcards, IP addresses, or any name at all.
//!
//! The issuing policy ([`crate::IssuingPolicy`]) decides what a certificate carries; this decides
//! whether a request's names may be certified at all. Refusals say which rule refused, so the
//! provider can answer with the library's structured codes (IP, domain, wildcard).

use std::net::IpAddr;

use crate::{Csr, SubjectAltNames};

/// The names a CA signs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePolicy {
    /// Domains names may belong to (lower case, no leading dot).
    pub allowed_domains: Vec<String>,
    /// A name may be an allowed domain itself (`example.com` under `example.com`).
    pub allow_bare_domains: bool,
    /// A name may be below an allowed domain, at any depth (`a.b.example.com`).
    pub allow_subdomains: bool,
    /// A name may be a wildcard (`*.example.com`); the rest of it must still be allowed.
    pub allow_wildcards: bool,
    /// IP address SANs may be certified.
    pub allow_ip_sans: bool,
    /// Any DNS name and common name is allowed (wildcards and IP SANs still follow their rules).
    pub allow_any_name: bool,
}

impl Default for NamePolicy {
    /// Everything allowed: what a private CA for one deployment usually wants.
    fn default() -> Self {
        Self {
            allowed_domains: Vec::new(),
            allow_bare_domains: false,
            allow_subdomains: false,
            allow_wildcards: true,
            allow_ip_sans: true,
            allow_any_name: true,
        }
    }
}

/// Which rule refused a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// An IP address SAN while IP SANs are not allowed.
    IpSans,
    /// A wildcard name while wildcards are not allowed.
    Wildcards,
    /// A name outside the allowed domains (or not allowed as bare domain or subdomain).
    Domains,
}

/// A request's name that the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is not allowed by the signing policy: {why}")]
pub struct NameRefused {
    /// The rule that refused.
    pub rule: NameRule,
    /// The name, as in "DNS name 'a.example.org'".
    pub what: String,
    /// Which setting refused it, in words.
    pub why: String,
}

impl NamePolicy {
    /// Checks every name the request would carry: its DNS and IP SANs and its common name (the
    /// common name is a name clients may still match on, so Vault checks it too). Email, URI and
    /// registered-ID SANs are not judged here.
    pub fn check_csr(&self, csr: &Csr) -> Result<(), NameRefused> {
        self.check(csr.subject().common_name(), csr.sans())
    }

    /// Checks a common name and SANs; see [`NamePolicy::check_csr`].
    pub fn check(
        &self,
        common_name: Option<&str>,
        sans: &SubjectAltNames,
    ) -> Result<(), NameRefused> {
        if let Some(ip) = sans.ip.iter().next()
            && !self.allow_ip_sans
        {
            return Err(self.refuse_ip(ip));
        }
        for dns in &sans.dns {
            self.check_dns(dns, "DNS name")?;
        }
        if let Some(cn) = common_name.filter(|cn| !cn.is_empty()) {
            match cn.parse::<IpAddr>() {
                Ok(ip) if !self.allow_ip_sans => return Err(self.refuse_ip(&ip)),
                Ok(_) => {}
                Err(_) => self.check_dns(cn, "common name")?,
            }
        }
        Ok(())
    }

    fn refuse_ip(&self, ip: &IpAddr) -> NameRefused {
        NameRefused {
            rule: NameRule::IpSans,
            what: format!("IP address {ip}"),
            why: "allow-ip-sans is false".into(),
        }
    }

    fn check_dns(&self, name: &str, kind: &str) -> Result<(), NameRefused> {
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        let what = format!("{kind} '{name}'");
        let (wildcard, rest) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        if wildcard && !self.allow_wildcards {
            return Err(NameRefused {
                rule: NameRule::Wildcards,
                what,
                why: "allow-wildcard-certificates is false".into(),
            });
        }
        if rest.contains('*') {
            return Err(NameRefused {
                rule: NameRule::Wildcards,
                what,
                why: "only a whole leftmost label may be a wildcard ('*.example.com')".into(),
            });
        }
        if self.allow_any_name {
            return Ok(());
        }
        if !is_hostname(rest) {
            return Err(NameRefused {
                rule: NameRule::Domains,
                what,
                why: "it is not a host name, and allow-any-name is false".into(),
            });
        }
        let allowed = self.allowed_domains.iter().any(|d| {
            let d = d.trim_start_matches('.').trim_end_matches('.');
            let bare = rest == d && !wildcard && self.allow_bare_domains;
            let below = rest
                .strip_suffix(d)
                .is_some_and(|head| head.ends_with('.') && head.len() > 1);
            // A wildcard stands for names below its base: it needs subdomains (as in Vault).
            let sub = (below || (wildcard && rest == d)) && self.allow_subdomains;
            bare || sub
        });
        if allowed {
            return Ok(());
        }
        let why = if self.allowed_domains.is_empty() {
            "allowed-domains is empty and allow-any-name is false".to_owned()
        } else {
            format!(
                "allowed-domains is {} (allow-bare-domains={}, allow-subdomains={}), and allow-any-name is false",
                self.allowed_domains.join(","),
                self.allow_bare_domains,
                self.allow_subdomains
            )
        };
        Err(NameRefused {
            rule: NameRule::Domains,
            what,
            why,
        })
    }
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 characters (RFC 1123), which
/// is what Vault's `enforce_hostnames` accepts.
fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(list: &[&str]) -> NamePolicy {
        NamePolicy {
            allowed_domains: list.iter().map(|s| (*s).to_owned()).collect(),
            allow_any_name: false,
            ..NamePolicy::default()
        }
    }

    fn dns(names: &[&str]) -> SubjectAltNames {
        SubjectAltNames {
            dns: names.iter().map(|s| (*s).to_owned()).collect(),
            ..SubjectAltNames::default()
        }
    }

    #[test]
    fn the_default_allows_everything() {
        let p = NamePolicy::default();
        let mut sans = dns(&["*.anything.org", "x"]);
        sans.ip.insert("10.0.0.1".parse().unwrap());
        assert_eq!(p.check(Some("My Service"), &sans), Ok(()));
    }

    #[test]
    fn bare_and_sub_domains_follow_their_switches() {
        let mut p = domains(&["example.com"]);
        let refused = p.check(None, &dns(&["example.com"])).unwrap_err();
        assert_eq!(refused.rule, NameRule::Domains);
        assert!(refused.to_string().contains("allow-bare-domains=false"));
        assert!(p.check(None, &dns(&["a.example.com"])).is_err());
        p.allow_bare_domains = true;
        assert!(p.check(None, &dns(&["EXAMPLE.com."])).is_ok());
        assert!(p.check(None, &dns(&["a.example.com"])).is_err());
        p.allow_subdomains = true;
        assert!(p.check(None, &dns(&["a.b.example.com"])).is_ok());
        // A suffix that is not a label boundary is another domain.
        assert!(p.check(None, &dns(&["badexample.com"])).is_err());
        assert!(p.check(None, &dns(&["example.org"])).is_err());
    }

    #[test]
    fn wildcards_and_ip_sans_have_their_own_rules() {
        let mut p = domains(&["example.com"]);
        p.allow_subdomains = true;
        assert!(p.check(None, &dns(&["*.example.com"])).is_ok());
        assert!(p.check(None, &dns(&["*.a.example.com"])).is_ok());
        assert!(p.check(None, &dns(&["*.other.org"])).is_err());
        let bad = p.check(None, &dns(&["a*.example.com"])).unwrap_err();
        assert_eq!(bad.rule, NameRule::Wildcards);
        p.allow_wildcards = false;
        let refused = p.check(None, &dns(&["*.example.com"])).unwrap_err();
        assert_eq!(refused.rule, NameRule::Wildcards);
        assert!(refused.to_string().contains("allow-wildcard-certificates"));

        let mut sans = dns(&["a.example.com"]);
        sans.ip.insert("192.0.2.1".parse().unwrap());
        assert!(p.check(None, &sans).is_ok());
        p.allow_ip_sans = false;
        let refused = p.check(None, &sans).unwrap_err();
        assert_eq!(refused.rule, NameRule::IpSans);
        assert_eq!(
            refused.to_string(),
            "IP address 192.0.2.1 is not allowed by the signing policy: allow-ip-sans is false"
        );
    }

    #[test]
    fn the_common_name_is_judged_too() {
        let mut p = domains(&["example.com"]);
        p.allow_subdomains = true;
        assert!(p.check(Some("web.example.com"), &dns(&[])).is_ok());
        let refused = p.check(Some("web-0"), &dns(&[])).unwrap_err();
        assert_eq!(refused.rule, NameRule::Domains);
        assert!(refused.to_string().starts_with("common name 'web-0'"));
        let refused = p.check(Some("My Service"), &dns(&[])).unwrap_err();
        assert!(refused.to_string().contains("not a host name"));
        p.allow_ip_sans = false;
        assert_eq!(
            p.check(Some("10.1.1.1"), &dns(&[])).unwrap_err().rule,
            NameRule::IpSans
        );
        p.allow_any_name = true;
        assert!(p.check(Some("My Service"), &dns(&["x"])).is_ok());
    }
}
