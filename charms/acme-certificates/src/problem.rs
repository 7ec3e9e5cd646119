//! What went wrong with a request, in the library's error codes, mapped from ACME problems as
//! lego maps them: rejected or unsupported identifiers are 101 (an IP is involved), 103 (the
//! detail says wildcard) or 102; a server we cannot reach is 201; anything else 999.

use instant_acme::{Identifier, Problem};
use tls_interfaces::{ErrorBody, ErrorCode};

use crate::client::TimedOut;

/// A failed request (or a failure that stops every request).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The library's code.
    pub code: ErrorCode,
    /// For people: the server's detail when it gave one.
    pub message: String,
    /// The ACME problem type (`urn:ietf:params:acme:error:...`), when there is one.
    pub reason: Option<String>,
    /// The order survives it (see [`Self::keeps_order`]).
    pub transient: bool,
}

const REJECTED: &str = "urn:ietf:params:acme:error:rejectedIdentifier";
const UNSUPPORTED: &str = "urn:ietf:params:acme:error:unsupportedIdentifier";

impl Failure {
    /// A 999 with `message`.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Other,
            message: message.into(),
            reason: None,
            transient: false,
        }
    }

    /// A failure of our own configuration (trust roots, keys): 999.
    pub fn config(message: impl Into<String>) -> Self {
        Self::other(message)
    }

    /// A refusal of ours before asking the server (for example IP identifiers not requested).
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reason: None,
            transient: false,
        }
    }

    /// Whether the server was unreachable (the order, if any, is kept and resumed).
    pub fn is_unreachable(&self) -> bool {
        self.code == ErrorCode::ServerNotAvailable
    }

    /// Whether the order may still be good: the server was away, or our side of a challenge
    /// (DNS) failed for now. Such failures keep the order and its records for the next try.
    pub fn keeps_order(&self) -> bool {
        self.is_unreachable() || self.transient
    }

    /// The same failure, marked as keeping the order.
    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Whether the server says the account is gone (a new one must be made).
    pub fn account_gone(&self) -> bool {
        matches!(
            self.reason.as_deref(),
            Some(
                "urn:ietf:params:acme:error:accountDoesNotExist"
                    | "urn:ietf:params:acme:error:unauthorized"
            )
        ) && self.message.to_lowercase().contains("account")
    }

    /// An ACME problem document.
    pub fn from_problem(problem: &Problem) -> Self {
        let detail = problem
            .detail
            .clone()
            .or_else(|| problem.subproblems.iter().find_map(|s| s.detail.clone()))
            .unwrap_or_else(|| "the ACME server gave no detail".to_owned());
        let kind = problem.r#type.clone();
        // A server error (5xx) is the server being unwell, not a verdict on the request.
        if problem.status.is_some_and(|s| s >= 500) {
            return Self {
                code: ErrorCode::ServerNotAvailable,
                message: detail,
                reason: kind,
                transient: false,
            };
        }
        let rejected = [kind.as_deref()]
            .into_iter()
            .chain(problem.subproblems.iter().map(|s| s.r#type.as_deref()))
            .any(|t| matches!(t, Some(REJECTED | UNSUPPORTED)));
        let code = if !rejected {
            ErrorCode::Other
        } else if is_ip_rejection(problem, &detail) {
            ErrorCode::IpNotAllowed
        } else if detail.to_lowercase().contains("wildcard") {
            ErrorCode::WildcardNotAllowed
        } else {
            ErrorCode::DomainNotAllowed
        };
        Self {
            code,
            message: detail,
            reason: kind,
            transient: false,
        }
    }

    /// An error of the ACME client: a problem document, or no usable answer (201).
    pub fn from_acme(error: instant_acme::Error, server: &str) -> Self {
        match error {
            instant_acme::Error::Api(p) => Self::from_problem(&p),
            instant_acme::Error::Hyper(e) => unreachable_server(server, &e.to_string()),
            instant_acme::Error::Other(e) if e.is::<TimedOut>() => {
                unreachable_server(server, &e.to_string())
            }
            // hyper-util's client errors (connect refused, TLS) arrive boxed as `Other`.
            instant_acme::Error::Other(e) => {
                let text = error_chain(&*e);
                if text.contains("invalid peer certificate") {
                    Self::other(format!(
                        "the ACME server {server} presented a certificate we do not trust ({text}); set acme-ca-certificates or relate receive-ca-cert"
                    ))
                } else {
                    unreachable_server(server, &text)
                }
            }
            instant_acme::Error::Timeout(_) => {
                unreachable_server(server, "the order did not progress in time")
            }
            // Not JSON where JSON was due: a proxy's error page, a maintenance page.
            instant_acme::Error::Json(e) => {
                unreachable_server(server, &format!("an answer that is not ACME JSON ({e})"))
            }
            other => Self::other(format!("ACME client: {other}")),
        }
    }

    /// The wire body, with the server URL as endpoint (as lego).
    pub fn body(&self, server: &str) -> ErrorBody {
        let mut body = self.code.body(self.message.clone());
        body.reason = self.reason.clone();
        body.endpoint = Some(server.to_owned());
        body
    }
}

fn unreachable_server(server: &str, why: &str) -> Failure {
    Failure {
        code: ErrorCode::ServerNotAvailable,
        message: format!("the ACME server {server} is not reachable: {why}"),
        reason: None,
        transient: false,
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// lego's test: a subproblem about an IP identifier, or a detail that speaks of IP addresses.
fn is_ip_rejection(problem: &Problem, detail: &str) -> bool {
    let lower = detail.to_lowercase();
    problem
        .subproblems
        .iter()
        .any(|s| matches!(s.identifier, Some(Identifier::Ip(_))))
        || ["ip address", "ip-address", "ipaddress", "ip identifier"]
            .iter()
            .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(json: &str) -> Problem {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rejected_identifiers_map_as_lego_maps_them() {
        let p = problem(
            r#"{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Order included an IP address identifier"}"#,
        );
        assert_eq!(Failure::from_problem(&p).code, ErrorCode::IpNotAllowed);
        let p = problem(
            r#"{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Wildcard names not supported"}"#,
        );
        assert_eq!(
            Failure::from_problem(&p).code,
            ErrorCode::WildcardNotAllowed
        );
        let p = problem(
            r#"{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Order includes a blocked identifier: bad.test"}"#,
        );
        let f = Failure::from_problem(&p);
        assert_eq!(f.code, ErrorCode::DomainNotAllowed);
        assert_eq!(f.message, "Order includes a blocked identifier: bad.test");
        assert_eq!(f.reason.as_deref(), Some(REJECTED));
        let body = f.body("https://acme.test/dir");
        assert_eq!(body.code, 102);
        assert_eq!(body.endpoint.as_deref(), Some("https://acme.test/dir"));
    }

    #[test]
    fn an_ip_subproblem_is_101_and_other_problems_999() {
        let p = problem(
            r#"{"type":"urn:ietf:params:acme:error:compound","detail":"x","subproblems":[{"type":"urn:ietf:params:acme:error:unsupportedIdentifier","identifier":{"type":"ip","value":"10.0.0.1"}}]}"#,
        );
        assert_eq!(Failure::from_problem(&p).code, ErrorCode::IpNotAllowed);
        let p =
            problem(r#"{"type":"urn:ietf:params:acme:error:rateLimited","detail":"slow down"}"#);
        let f = Failure::from_problem(&p);
        assert_eq!(f.code, ErrorCode::Other);
        assert!(!f.is_unreachable());
        let p = problem(
            r#"{"type":"urn:ietf:params:acme:error:serverInternal","detail":"oops","status":503}"#,
        );
        let f = Failure::from_problem(&p);
        assert!(f.is_unreachable() && f.keeps_order(), "{f:?}");
    }
}
