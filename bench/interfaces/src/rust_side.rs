//! The Rust side: the provider and requirer charms measured, and one hook of each under the
//! in-memory harness.

use std::time::Instant;

use anyhow::{Context as _, bail};
use charm::testing::{Context, Relation, State};
use charm::{BagOwner, Charm, Databag, Event, HandlerError, Model};
use pki::time::{Duration, OffsetDateTime};
use pki::{
    CertificateAuthority, CertificateKind, IssueRequest, IssuingPolicy, PrivateKey,
    RequestAttributes,
};
use serde_json::{Value, json};
use tls_interfaces::{
    CertificateRequest, Mode, Scope, Signer, TlsProvider, TlsRequirer, to_python_json,
};

use crate::{HARNESS_NOW, median, unit};

pub(crate) struct ProviderCharm(pub(crate) std::sync::Arc<CertificateAuthority>);

impl Charm for ProviderCharm {
    fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let provider = TlsProvider::new("certificates".parse()?);
        let mut state = provider.load(model)?;
        state.drop_certificates_without_csr();
        let now = OffsetDateTime::from_unix_timestamp(model.now())?;
        let policy = IssuingPolicy::default();
        let signer = Signer {
            ca: &self.0,
            issuers: &[],
            policy: &policy,
            names: None,
            validity: Duration::days(90),
            now,
            provider_name: "bench",
            limit_per_relation: None,
            limit_hint: "",
        };
        state.sign_outstanding(&signer)?;
        // What the self-signed charm also asks each hook: the CAs to publish, the count.
        let current = self.0.certificate().pem().trim().to_owned();
        std::hint::black_box(state.trusted_cas(Some(&current), now));
        std::hint::black_box(state.issued_count());
        provider.commit(model, state)?;
        Ok(())
    }
}

fn provider_state(entries: &[Value], app_bag: bool) -> State {
    let mut rel = Relation::new(
        "certificates".parse().expect("endpoint"),
        7,
        "req".parse().expect("app"),
    )
    .without_remote_units();
    if app_bag {
        rel = rel.with_remote_unit(unit("req/0"), Databag::new());
        rel.remote_app_data.insert(
            "certificate_signing_requests".into(),
            to_python_json(entries),
        );
    } else {
        for (i, e) in entries.iter().enumerate() {
            let bag =
                Databag::from([("certificate_signing_requests".into(), to_python_json(&[e]))]);
            rel = rel.with_remote_unit(unit(&format!("req/{i}")), bag);
        }
    }
    State::new(unit("ca/0"))
        .with_leader(true)
        .with_relation(rel)
}

pub(crate) fn provider_hook_rust(
    ca: &CertificateAuthority,
    entries: &[Value],
    app_bag: bool,
) -> anyhow::Result<f64> {
    let ca = std::sync::Arc::new(CertificateAuthority::new(
        ca.certificate().clone(),
        PrivateKey::from_pem(&ca.key().to_pkcs8_pem())?,
    )?);
    let ctx = Context::from_charmcraft_yaml(
        "name: ca\nprovides:\n  certificates:\n    interface: tls-certificates\n",
        move || ProviderCharm(ca.clone()),
    )?;
    let state = provider_state(entries, app_bag);
    let t = Instant::now();
    let out = ctx
        .run(Event::UpdateStatus, state)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let elapsed = t.elapsed().as_secs_f64();
    let issued: Vec<Value> = serde_json::from_str(
        out.relation(7)
            .context("relation")?
            .local_app_data
            .get("certificates")
            .context("no certificates written")?,
    )?;
    if issued.len() != entries.len() {
        bail!("issued {} of {}", issued.len(), entries.len());
    }
    Ok(elapsed)
}

struct RequirerCharm;

impl Charm for RequirerCharm {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let mut a = RequestAttributes::new("me.bench.example");
        a.sans.push_str("DNS:me.bench.example")?;
        let tls = TlsRequirer::new("certificates".parse()?, Mode::Unit)
            .with_request(Scope::Unit, CertificateRequest::leaf(a))?;
        tls.handle(event, model)?;
        Ok(())
    }
}

/// The floor of a requirer hook under the harness: reads the provider's bag, parses nothing.
struct FloorCharm;

impl Charm for FloorCharm {
    fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let relation: charm::RelationId = "certificates:7".parse()?;
        let bag = model.relation_data(&relation, &BagOwner::App("ca".parse()?))?;
        std::hint::black_box(bag.get("certificates").map(String::len));
        Ok(())
    }
}

pub(crate) fn signed_entries(
    ca: &CertificateAuthority,
    csrs: &[String],
) -> anyhow::Result<Vec<Value>> {
    let now = OffsetDateTime::from_unix_timestamp(HARNESS_NOW)?;
    csrs.iter()
        .map(|c| {
            let csr = pki::Csr::from_pem(c)?;
            let cert = ca.issue(&IssueRequest { csr: &csr, kind: CertificateKind::Leaf, validity: Duration::days(90) }, &IssuingPolicy::default(), now)?;
            Ok(json!({"ca": ca.certificate().pem().trim(), "certificate_signing_request": c, "certificate": cert.pem().trim(), "chain": [cert.pem().trim(), ca.certificate().pem().trim()]}))
        })
        .collect()
}

/// Signs the CSR the requirer put in its unit bag and adds it to `others`.
pub(crate) fn provider_bag_with(
    ca: &CertificateAuthority,
    own_csrs: &str,
    others: &[Value],
) -> anyhow::Result<Databag> {
    let own: Vec<Value> = serde_json::from_str(own_csrs)?;
    let csr = own
        .first()
        .and_then(|e| e["certificate_signing_request"].as_str())
        .context("no CSR")?
        .to_owned();
    let mut all = others.to_vec();
    all.extend(signed_entries(ca, &[csr])?);
    Ok(Databag::from([(
        "certificates".into(),
        to_python_json(&all),
    )]))
}

pub(crate) fn requirer_hook_rust(
    ca: &CertificateAuthority,
    others: &[Value],
    runs: usize,
) -> anyhow::Result<(f64, f64)> {
    let yaml = "name: req\nrequires:\n  certificates:\n    interface: tls-certificates\n";
    let ctx = Context::from_charmcraft_yaml(yaml, || RequirerCharm)?;
    let floor = Context::from_charmcraft_yaml(yaml, || FloorCharm)?;
    let rel = Relation::new("certificates".parse()?, 7, "ca".parse()?);
    let state = State::new(unit("req/0"))
        .with_leader(true)
        .with_relation(rel);
    let mut state = ctx
        .run(Event::Install, state)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let own = state
        .relation(7)
        .context("rel")?
        .local_unit_data
        .get("certificate_signing_requests")
        .context("no CSR")?
        .clone();
    state.relations[0].remote_app_data = provider_bag_with(ca, &own, others)?;
    let state = ctx
        .run(Event::UpdateStatus, state)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut floor_samples = Vec::with_capacity(runs);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let input = state.clone();
        let t = Instant::now();
        floor
            .run(Event::UpdateStatus, input)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        floor_samples.push(t.elapsed().as_secs_f64());
        let input = state.clone();
        let t = Instant::now();
        let out = ctx
            .run(Event::UpdateStatus, input)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        samples.push(t.elapsed().as_secs_f64());
        if out
            .relation(7)
            .and_then(|r| r.local_unit_data.get("certificate_signing_requests"))
            != Some(&own)
        {
            bail!("the steady-state hook changed the CSR");
        }
    }
    Ok((median(samples), median(floor_samples)))
}
