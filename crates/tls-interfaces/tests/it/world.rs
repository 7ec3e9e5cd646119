//! Two charms and the databags between them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use charm::testing::{Context, Relation, State};
use charm::{AppName, Charm, Databag, Endpoint, Event, HandlerError, Model, UnitName};
use juju_tls_interfaces::{
    Capabilities, CertificateRequest, Mode, RequirerEvent, Scope, Signer, TlsProvider, TlsRequirer,
};
use pki::time::{Duration, OffsetDateTime};
use pki::{
    CertificateAuthority, IssuingPolicy, KeyAlgorithm, NamePolicy, PrivateKey, RequestAttributes,
};

pub(crate) const REQUIRER_META: &str = "name: req\nrequires:\n  certificates:\n    interface: tls-certificates\nactions:\n  renew: {}\n  regenerate-key: {}\n  import-key: {}\n";
pub(crate) const PROVIDER_META: &str =
    "name: ca\nprovides:\n  certificates:\n    interface: tls-certificates\n";
pub(crate) const RELATION_ID: u32 = 7;

pub(crate) fn endpoint() -> Endpoint {
    "certificates".parse().unwrap()
}

pub(crate) fn unit(name: &str) -> UnitName {
    name.parse().unwrap()
}

/// An RSA CA made once (RSA key generation is slow), valid around the harness clock.
pub(crate) fn ca() -> Arc<CertificateAuthority> {
    static CA: OnceLock<Arc<CertificateAuthority>> = OnceLock::new();
    CA.get_or_init(|| {
        let start = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap() - Duration::days(1);
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        Arc::new(
            CertificateAuthority::self_signed_root(
                &RequestAttributes::new("Test CA"),
                key,
                Duration::days(3650),
                start,
            )
            .unwrap(),
        )
    })
    .clone()
}

/// The attributes a unit asks for: `cn` also as SAN (an IP SAN when it is an address).
pub(crate) fn attributes(cn: &str) -> RequestAttributes {
    let mut a = RequestAttributes::new(cn);
    let kind = if cn.parse::<std::net::IpAddr>().is_ok() {
        "IP"
    } else {
        "DNS"
    };
    a.sans.push_str(&format!("{kind}:{cn}")).unwrap();
    a
}

/// What the requirer charm asks for: (scope, common name, is_ca).
#[derive(Clone)]
pub(crate) struct Wants(pub(crate) Vec<(Scope, String, bool)>);

pub(crate) struct RequirerCharm {
    pub(crate) mode: Mode,
    pub(crate) wants: Rc<RefCell<Wants>>,
    pub(crate) events: Rc<RefCell<Vec<RequirerEvent>>>,
    /// A private key the charm supplies instead of letting the library generate one.
    pub(crate) supplied_key: Rc<RefCell<Option<String>>>,
    /// Errors of the `renew` / `regenerate-key` actions, as the library returned them.
    pub(crate) action_errors: Rc<RefCell<Vec<String>>>,
    /// The key the `import-key` action imports.
    pub(crate) import_key: Rc<RefCell<Option<String>>>,
}

impl RequirerCharm {
    pub(crate) fn requirer(&self) -> TlsRequirer {
        let mut r =
            TlsRequirer::new(endpoint(), self.mode).with_key_algorithm(KeyAlgorithm::EcdsaP256);
        if let Some(pem) = self.supplied_key.borrow().as_deref() {
            r = r.with_private_key(pem).unwrap();
        }
        for (scope, cn, is_ca) in &self.wants.borrow().0 {
            r = r
                .with_request(
                    *scope,
                    CertificateRequest {
                        attributes: attributes(cn),
                        is_ca: *is_ca,
                    },
                )
                .unwrap();
        }
        r
    }
}

impl Charm for RequirerCharm {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let requirer = self.requirer();
        let events = match event {
            // The on-demand paths a charm exposes as actions.
            Event::Action(a) if a.name == "renew" => {
                let mut events = Vec::new();
                for scope in [Scope::Unit, Scope::App] {
                    for cert in requirer.assigned_certificates(model, scope)? {
                        events.extend(requirer.renew(model, &cert.csr)?);
                    }
                }
                Ok(events)
            }
            Event::Action(a) if a.name == "regenerate-key" => {
                requirer.regenerate_private_key(model, None)
            }
            Event::Action(a) if a.name == "import-key" => {
                let pem = self.import_key.borrow().clone().unwrap_or_default();
                let key = PrivateKey::from_pem(&pem)?;
                requirer.import_private_key(model, &key, None)
            }
            _ => Ok(requirer.handle(event, model)?),
        };
        match events {
            Ok(events) => self.events.borrow_mut().extend(events),
            Err(e) => self.action_errors.borrow_mut().push(e.to_string()),
        }
        Ok(())
    }
}

pub(crate) struct ProviderCharm {
    pub(crate) policy: IssuingPolicy,
    pub(crate) names: Option<NamePolicy>,
}

impl Charm for ProviderCharm {
    fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        if !model.is_leader()? {
            return Ok(());
        }
        let provider = TlsProvider::new(endpoint());
        let mut state = provider.load(model)?;
        state.drop_certificates_without_csr();
        let ca = ca();
        let now = OffsetDateTime::from_unix_timestamp(model.now())?;
        let signer = Signer {
            ca: &ca,
            issuers: &[],
            policy: &self.policy,
            names: self.names.as_ref(),
            validity: Duration::days(90),
            now,
            provider_name: "ca",
            limit_per_relation: None,
            limit_hint: "",
        };
        state.sign_outstanding(&signer)?;
        state.set_capabilities(Some(&Capabilities {
            supports_ca_certificates: Some(self.policy.allow_ca),
            provider_type: Some("self-signed".into()),
            ..Capabilities::default()
        }));
        provider.commit(model, state)?;
        Ok(())
    }
}

/// A requirer application with some units, a provider with one leader unit, one relation.
pub(crate) struct World {
    pub(crate) requirer_ctx: Context<RequirerCharm>,
    pub(crate) provider_ctx: Context<ProviderCharm>,
    pub(crate) requirers: BTreeMap<UnitName, State>,
    pub(crate) provider: State,
    pub(crate) wants: Rc<RefCell<Wants>>,
    pub(crate) events: Rc<RefCell<Vec<RequirerEvent>>>,
    pub(crate) supplied_key: Rc<RefCell<Option<String>>>,
    pub(crate) action_errors: Rc<RefCell<Vec<String>>>,
    pub(crate) import_key: Rc<RefCell<Option<String>>>,
}

impl World {
    pub(crate) fn new(
        mode: Mode,
        units: &[&str],
        leader: &str,
        wants: Wants,
        policy: IssuingPolicy,
    ) -> Self {
        let wants = Rc::new(RefCell::new(wants));
        let events = Rc::new(RefCell::new(Vec::new()));
        let supplied_key = Rc::new(RefCell::new(None));
        let action_errors = Rc::new(RefCell::new(Vec::new()));
        let import_key = Rc::new(RefCell::new(None));
        let (w, e, k, a, i) = (
            wants.clone(),
            events.clone(),
            supplied_key.clone(),
            action_errors.clone(),
            import_key.clone(),
        );
        let requirer_ctx = Context::from_charmcraft_yaml(REQUIRER_META, move || RequirerCharm {
            mode,
            wants: w.clone(),
            events: e.clone(),
            supplied_key: k.clone(),
            action_errors: a.clone(),
            import_key: i.clone(),
        })
        .unwrap();
        let policy2 = policy.clone();
        let provider_ctx = Context::from_charmcraft_yaml(PROVIDER_META, move || ProviderCharm {
            policy: policy2.clone(),
            names: None,
        })
        .unwrap();
        let requirers = units
            .iter()
            .map(|u| {
                let rel = Relation::new(endpoint(), RELATION_ID, "ca".parse().unwrap());
                (
                    unit(u),
                    State::new(unit(u))
                        .with_leader(*u == leader)
                        .with_relation(rel),
                )
            })
            .collect();
        let mut provider_rel =
            Relation::new(endpoint(), RELATION_ID, "req".parse().unwrap()).without_remote_units();
        for u in units {
            provider_rel = provider_rel.with_remote_unit(unit(u), Databag::new());
        }
        let provider = State::new(unit("ca/0"))
            .with_leader(true)
            .with_relation(provider_rel);
        Self {
            requirer_ctx,
            provider_ctx,
            requirers,
            provider,
            wants,
            events,
            supplied_key,
            action_errors,
            import_key,
        }
    }

    /// The provider signs only the names `names` allows.
    pub(crate) fn with_name_policy(mut self, names: NamePolicy) -> Self {
        self.provider_ctx = Context::from_charmcraft_yaml(PROVIDER_META, move || ProviderCharm {
            policy: IssuingPolicy::default(),
            names: Some(names.clone()),
        })
        .unwrap();
        self
    }

    /// One requirer unit `req/0` in UNIT mode asking for `cn`, and a provider with the default
    /// policy: the set-up most tests start from.
    pub(crate) fn single(cn: &str) -> Self {
        Self::new(
            Mode::Unit,
            &["req/0"],
            "req/0",
            unit_wants(&[cn]),
            IssuingPolicy::default(),
        )
    }

    /// Rewrites the certificates the provider published (to simulate another provider).
    pub(crate) fn edit_provider_certificates(
        &mut self,
        edit: impl FnOnce(&mut Vec<serde_json::Value>),
    ) {
        let rel = self
            .provider
            .relations
            .iter_mut()
            .find(|r| r.id == RELATION_ID)
            .unwrap();
        let mut certs = list(&rel.local_app_data["certificates"]);
        edit(&mut certs);
        rel.local_app_data.insert(
            "certificates".into(),
            serde_json::to_string(&certs).unwrap(),
        );
        self.sync();
    }

    /// Forgets the certificate secrets of a requirer unit, so it looks at the provider again.
    pub(crate) fn forget_certificate_secrets(&mut self, name: &str) {
        self.requirers
            .get_mut(&unit(name))
            .unwrap()
            .secrets
            .retain(|s| {
                !s.label
                    .as_deref()
                    .is_some_and(juju_tls_interfaces::labels::is_certificate)
            });
    }

    pub(crate) fn relation_event(&self, remote: Option<&str>) -> Event {
        Event::RelationChanged(charm::event::RelationEvent {
            relation: charm::RelationId::new(endpoint(), RELATION_ID),
            remote_app: remote.map(|r| r.split('/').next().unwrap().parse::<AppName>().unwrap()),
            remote_unit: remote.filter(|r| r.contains('/')).map(unit),
            departing_unit: None,
        })
    }

    /// Runs `event` on a requirer unit, then copies its bags to the provider's view.
    pub(crate) fn run_requirer(&mut self, name: &str, event: Event) {
        let state = self.requirers.remove(&unit(name)).unwrap();
        let out = self
            .requirer_ctx
            .run(event, state)
            .unwrap_or_else(|e| panic!("requirer hook failed: {e}"));
        self.requirers.insert(unit(name), out);
        self.sync();
    }

    pub(crate) fn run_provider(&mut self, event: Event) {
        let state = std::mem::replace(&mut self.provider, State::new(unit("ca/0")));
        self.provider = self
            .provider_ctx
            .run(event, state)
            .unwrap_or_else(|e| panic!("provider hook failed: {e}"));
        self.sync();
    }

    /// Every requirer unit, then the provider, then every requirer unit again.
    pub(crate) fn round(&mut self) {
        let names: Vec<String> = self.requirers.keys().map(ToString::to_string).collect();
        for n in &names {
            self.run_requirer(n, self.relation_event(Some("ca")));
        }
        self.run_provider(self.relation_event(Some("req/0")));
        for n in &names {
            self.run_requirer(n, self.relation_event(Some("ca")));
        }
    }

    /// Copies each side's bags into the other side's view of the relation.
    pub(crate) fn sync(&mut self) {
        let provider_app = self
            .provider
            .relation(RELATION_ID)
            .unwrap()
            .local_app_data
            .clone();
        let mut requirer_app = None;
        let mut unit_bags = Vec::new();
        for (u, s) in &mut self.requirers {
            let rel = s
                .relations
                .iter_mut()
                .find(|r| r.id == RELATION_ID)
                .unwrap();
            rel.remote_app_data = provider_app.clone();
            unit_bags.push((u.clone(), rel.local_unit_data.clone()));
            if s.leader {
                requirer_app = Some(rel.local_app_data.clone());
            }
        }
        // Every unit sees the same app bag.
        if let Some(app) = &requirer_app {
            for s in self.requirers.values_mut() {
                s.relations
                    .iter_mut()
                    .find(|r| r.id == RELATION_ID)
                    .unwrap()
                    .local_app_data = app.clone();
            }
        }
        let prel = self
            .provider
            .relations
            .iter_mut()
            .find(|r| r.id == RELATION_ID)
            .unwrap();
        for (u, bag) in unit_bags {
            prel.remote_units.insert(u, bag);
        }
        if let Some(app) = requirer_app {
            prel.remote_app_data = app;
        }
    }

    pub(crate) fn requirer(&self, name: &str) -> &State {
        &self.requirers[&unit(name)]
    }

    pub(crate) fn unit_csrs(&self, name: &str) -> Option<String> {
        self.requirer(name)
            .relation(RELATION_ID)
            .unwrap()
            .local_unit_data
            .get("certificate_signing_requests")
            .cloned()
    }

    pub(crate) fn app_csrs(&self, name: &str) -> Option<String> {
        self.requirer(name)
            .relation(RELATION_ID)
            .unwrap()
            .local_app_data
            .get("certificate_signing_requests")
            .cloned()
    }

    pub(crate) fn provider_bag(&self) -> &Databag {
        &self.provider.relation(RELATION_ID).unwrap().local_app_data
    }

    pub(crate) fn take_events(&self) -> Vec<RequirerEvent> {
        std::mem::take(&mut self.events.borrow_mut())
    }

    /// Moves every clock (harness states) forward.
    pub(crate) fn advance(&mut self, seconds: i64) {
        for s in self.requirers.values_mut() {
            s.now += seconds;
        }
        self.provider.now += seconds;
    }
}

pub(crate) fn unit_wants(cns: &[&str]) -> Wants {
    Wants(
        cns.iter()
            .map(|c| (Scope::Unit, (*c).to_owned(), false))
            .collect(),
    )
}

/// Parses a JSON list value.
pub(crate) fn list(value: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(value).unwrap()
}
