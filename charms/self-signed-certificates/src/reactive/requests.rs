//! What the reactive requirers of one relation ask for: every requiring unit's bag read with
//! [`RequirerBag::parse`], the application requests of the relation merged into one, and every
//! bad key turned into a refusal that names the unit and the key. A bad key costs only itself:
//! the unit's other requests, and every other unit, are still served.

use charm::{BagOwner, Model, Relation, UnitName};
use tls_interfaces::wire::reactive::{self, RequestType, RequirerBag, WireError};

/// One certificate to hold for a requiring unit (or, for an application request, for every
/// reactive unit of its relation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Server, client or application.
    pub kind: RequestType,
    /// The request's common name (for an application request, the smallest of the
    /// application's common names).
    pub common_name: String,
    /// The names to put in the certificate, sorted, each once.
    pub sans: Vec<String>,
    /// Answered in the top-level `<u>.server.cert` / `.server.key` keys.
    pub top_level: bool,
}

/// A requiring unit that speaks the reactive wire, and what it asks for.
#[derive(Debug, Clone)]
pub struct Requirer {
    /// Juju's name of the unit.
    pub unit: UnitName,
    /// The name the provider keys are made from: the unit's `unit_name` when it wrote one
    /// (in a cross-model relation Juju shows the unit under another name), else Juju's.
    pub wire_name: String,
    /// Its own server and client requests.
    pub wanted: Vec<Wanted>,
    /// Whether it asked for the application certificate.
    pub wants_application: bool,
}

/// A request, or a key, that is not served, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refusal {
    /// The requiring unit.
    pub unit: String,
    /// The relation (`certificates:5`).
    pub relation: String,
    /// Why, naming the databag key (and the common name when one entry is at fault).
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reactive wire: refused from unit {} (relation {}): {}",
            self.unit, self.relation, self.reason
        )
    }
}

/// The reactive requirers of one relation.
#[derive(Debug, Clone, Default)]
pub struct RelationRequests {
    /// Its reactive units, in Juju's order.
    pub requirers: Vec<Requirer>,
    /// The one certificate of the application requests, if any unit made one.
    pub application: Option<Wanted>,
    /// What is not served.
    pub refusals: Vec<Refusal>,
}

/// Reads every unit bag of `relation`; units on the current wire are left out.
pub fn read(model: &mut Model<'_>, relation: &Relation) -> Result<RelationRequests, charm::Error> {
    let mut out = RelationRequests::default();
    let mut app_names: Vec<String> = Vec::new();
    let mut app_cns: Vec<String> = Vec::new();
    let rel = relation.id.to_string();
    for unit in &relation.units {
        let bag = model.relation_data(&relation.id, &BagOwner::Unit(unit.clone()))?;
        if !reactive::is_reactive_requirer(&bag) {
            continue;
        }
        let refuse = |reason: String| Refusal {
            unit: unit.to_string(),
            relation: rel.clone(),
            reason,
        };
        let (parsed, errors) = RequirerBag::parse(&bag);
        out.refusals
            .extend(errors.iter().map(|e: &WireError| refuse(e.to_string())));
        let juju_name = unit.to_string();
        let wire_name =
            reactive::unit_key(parsed.unit_name.as_deref().unwrap_or(juju_name.as_str()));
        if let Some(other) = out.requirers.iter().find(|r| r.wire_name == wire_name) {
            // Two units claiming one name would overwrite each other's keys: the first keeps it.
            out.refusals.push(refuse(format!(
                "key '{}': the name '{wire_name}' is already used by {}",
                reactive::UNIT_NAME_KEY,
                other.unit
            )));
            continue;
        }
        let mut requirer = Requirer {
            unit: unit.clone(),
            wire_name,
            wanted: Vec::new(),
            wants_application: false,
        };
        let top = parsed.top_level.as_ref().map(|t| t.common_name.clone());
        for r in parsed.all_requests() {
            match r.kind {
                RequestType::Server | RequestType::Client => requirer.wanted.push(Wanted {
                    kind: r.kind,
                    common_name: r.common_name.clone(),
                    sans: with_common_name(&r.common_name, &r.sans),
                    top_level: r.kind == RequestType::Server
                        && top.as_deref() == Some(r.common_name.as_str()),
                }),
                RequestType::Application => {
                    requirer.wants_application = true;
                    app_cns.push(r.common_name.clone());
                    app_names.push(r.common_name.clone());
                    app_names.extend(r.sans.iter().cloned());
                }
                RequestType::Intermediate => out.refusals.push(refuse(format!(
                    "key '{}', common name '{}': intermediate CA certificates are not issued over the reactive wire (its keys would travel over the relation; use the current wire and allow-ca-requests)",
                    RequestType::Intermediate.requests_key(),
                    r.common_name
                ))),
            }
        }
        out.requirers.push(requirer);
    }
    // The layer's application certificate: every unit's common names and SANs, together;
    // named after the smallest common name.
    app_names.sort();
    app_names.dedup();
    app_cns.sort();
    if let Some(cn) = app_cns.first() {
        out.application = Some(Wanted {
            kind: RequestType::Application,
            common_name: cn.clone(),
            sans: app_names,
            top_level: false,
        });
    }
    Ok(out)
}

/// The SANs to issue: those asked for, or the common name alone when none is (a certificate
/// without a SAN fails hostname checks in every current TLS client).
fn with_common_name(common_name: &str, sans: &[String]) -> Vec<String> {
    if sans.is_empty() {
        vec![common_name.to_owned()]
    } else {
        sans.to_vec()
    }
}
