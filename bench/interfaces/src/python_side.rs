//! The Python side: the same hooks run by the published library through `ops.testing`, in the
//! pinned test venv (`tests/python/tls_oracle.py`).

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use charm::Databag;
use pki::CertificateAuthority;
use serde_json::{Value, json};
use tls_interfaces::to_python_json;

use crate::rust_side::provider_bag_with;

#[path = "../../../tests/python/venv.rs"]
mod venv;

fn oracle(input: &Value) -> anyhow::Result<Value> {
    venv::oracle("tls_oracle.py", input).map_err(anyhow::Error::msg)
}

pub(crate) fn provider_hook_python(
    ca_pem: &str,
    ca_key_pem: &str,
    entries: &[Value],
    app_bag: bool,
) -> anyhow::Result<f64> {
    let (units, app): (BTreeMap<String, Databag>, Databag) = if app_bag {
        (
            BTreeMap::from([("0".to_owned(), Databag::new())]),
            Databag::from([(
                "certificate_signing_requests".into(),
                to_python_json(entries),
            )]),
        )
    } else {
        (
            entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    (
                        i.to_string(),
                        Databag::from([(
                            "certificate_signing_requests".into(),
                            to_python_json(&[e]),
                        )]),
                    )
                })
                .collect(),
            Databag::new(),
        )
    };
    let out = oracle(
        &json!({"role": "provider", "ca_pem": ca_pem, "ca_key_pem": ca_key_pem, "remote_units_data": units, "remote_app_data": app, "event": "update_status"}),
    )?;
    let issued: Vec<Value> = serde_json::from_str(
        out["local_app_data"]["certificates"]
            .as_str()
            .context("no certificates")?,
    )?;
    if issued.len() != entries.len() {
        bail!(
            "the Python provider issued {} of {}",
            issued.len(),
            entries.len()
        );
    }
    out["elapsed"].as_f64().context("elapsed")
}

pub(crate) fn requirer_hook_python(
    ca: &CertificateAuthority,
    others: &[Value],
) -> anyhow::Result<f64> {
    let request = json!({"cn": "me.bench.example", "sans_dns": ["me.bench.example"]});
    let first = oracle(
        &json!({"role": "requirer", "mode": "UNIT", "requests": [request], "event": "update_status"}),
    )?;
    let own = first["local_unit_data"]["certificate_signing_requests"]
        .as_str()
        .context("no CSR")?
        .to_owned();
    let provider = provider_bag_with(ca, &own, others)?;
    let second = oracle(
        &json!({"role": "requirer", "mode": "UNIT", "requests": [request], "event": "update_status",
        "local_unit_data": first["local_unit_data"], "remote_app_data": provider, "secrets": first["secrets"]}),
    )?;
    let third = oracle(
        &json!({"role": "requirer", "mode": "UNIT", "requests": [request], "event": "update_status",
        "local_unit_data": second["local_unit_data"], "remote_app_data": provider, "secrets": second["secrets"]}),
    )?;
    if third["local_unit_data"]["certificate_signing_requests"].as_str() != Some(own.as_str()) {
        bail!("the Python steady-state hook changed the CSR");
    }
    third["elapsed"].as_f64().context("elapsed")
}
