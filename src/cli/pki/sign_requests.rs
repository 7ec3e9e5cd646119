//! `juju-tls pki sign-requests`: the offline half of the manual-tls-certificates flow. It reads
//! what `get-outstanding-certificate-requests` returned, signs every request with an offline CA
//! (each CSR verified first; a bad one is refused by name and the others are still signed), and
//! writes per request the `provide-certificate` parameters as a YAML file for
//! `juju run APP/leader provide-certificate --params FILE`. Under the local model `--run APP`
//! also runs them on the application's leader, at the model's virtual time.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use pki::time::{Duration, OffsetDateTime};
use pki::{
    Certificate, CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy, chain,
};
use serde_json::{Value, json};

use super::{fmt_time, parse_time, parse_validity, read_certificate, read_key, read_text};
use crate::ui::{self, Table};

#[derive(Debug, Args)]
pub(crate) struct SignRequestsArgs {
    /// What get-outstanding-certificate-requests returned: its `result` JSON string, or the whole
    /// action output (`juju-tls run ... --json`, `juju run ... --format json` or its YAML); `-`
    /// reads standard input.
    requests: PathBuf,
    /// The offline CA's certificate.
    #[arg(long)]
    ca: PathBuf,
    /// The offline CA's private key (never printed; a warning if others can read it).
    #[arg(long)]
    ca_key: PathBuf,
    /// The CA's own issuers, a PEM bundle from the one that issued the CA up to the root. The
    /// chain sent is then leaf, CA, these; `ca-certificate` (what requirers trust) is the last of
    /// them, the root. Without it the CA itself is what requirers trust.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// How long each certificate is valid (never beyond the CA's own expiry), in the
    /// charm-config dialect: an integer with m, h, d or w; a bare number means days.
    #[arg(long, default_value = "90d", value_parser = parse_validity)]
    validity: Duration,
    /// Sign as of this time (RFC 3339) instead of now; with --run, the model's time is used.
    #[arg(long, value_parser = parse_time)]
    at: Option<OffsetDateTime>,
    /// Directory for the parameter files (one `NN-<name>-relation-<id>.yaml` per request, with
    /// the certificate next to it as `.pem`); created if missing.
    #[arg(long)]
    out: PathBuf,
    /// LOCAL MODEL: also run provide-certificate with each file on this application's leader.
    #[arg(long, value_name = "APP")]
    run: Option<String>,
    /// The local model for --run (default: the current model).
    #[arg(short = 'm', long = "model", requires = "run")]
    model: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// One request as get-outstanding-certificate-requests lists it.
#[derive(Debug, Clone)]
struct Request {
    csr: String,
    relation_id: i64,
}

/// What became of one request.
#[derive(Debug)]
struct Outcome {
    index: usize,
    relation_id: i64,
    subject: String,
    sans: String,
    signed: Result<Signed, String>,
    /// The provide-certificate run (with --run): completed, or the failure message.
    provided: Option<Result<(), String>>,
}

#[derive(Debug)]
struct Signed {
    serial: String,
    not_after: OffsetDateTime,
    params_file: PathBuf,
}

pub(crate) fn run(args: SignRequestsArgs) -> anyhow::Result<ExitCode> {
    let text = if args.requests.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        s
    } else {
        read_text(&args.requests)?
    };
    let requests = parse_requests(&text)
        .with_context(|| format!("reading the requests in {}", args.requests.display()))?;
    warn_if_readable(&args.ca_key);
    let ca = CertificateAuthority::new(read_certificate(&args.ca)?, read_key(&args.ca_key)?)
        .with_context(|| {
            format!(
                "{} and {} do not form a usable CA",
                args.ca.display(),
                args.ca_key.display()
            )
        })?;
    let above = match &args.chain {
        Some(path) => Certificate::all_from_pem(&read_text(path)?)
            .with_context(|| format!("reading {}", path.display()))?,
        None => Vec::new(),
    };
    let mut issuers = vec![ca.certificate().clone()];
    issuers.extend(above);
    check_issuers(&issuers)?;
    let anchor = issuers.last().expect("the CA at least").clone();

    let local = match &args.run {
        Some(app) => Some(crate::cli::model::LocalApp::open(
            args.model.as_deref(),
            app,
        )?),
        None => None,
    };
    let now = match (&local, args.at) {
        (Some(l), _) => l.now()?,
        (None, Some(at)) => at,
        (None, None) => OffsetDateTime::now_utc(),
    };
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let total = requests.len();
    let mut outcomes = Vec::with_capacity(total);
    for (i, request) in requests.iter().enumerate() {
        let index = i + 1;
        let parsed = Csr::from_pem(&request.csr);
        let (subject, sans) = match &parsed {
            Ok(csr) => (
                csr.subject().to_string(),
                csr.sans().to_strings().join(", "),
            ),
            Err(_) => (String::from("(not a readable CSR)"), String::new()),
        };
        if !args.json {
            eprintln!(
                "{} [{index}/{total}] relation {}: {subject}",
                ui::bold("==>"),
                request.relation_id
            );
        }
        let signed = parsed
            .map_err(|e| format!("the CSR is refused: {e}"))
            .and_then(|csr| {
                sign_one(&ca, &issuers, &anchor, &csr, request, index, &args, now)
                    .map_err(|e| format!("{e:#}"))
            });
        if let Err(e) = &signed {
            eprintln!(
                "{}: request {index} (relation {}, '{subject}'): {e}",
                ui::red("refused"),
                request.relation_id
            );
        }
        outcomes.push(Outcome {
            index,
            relation_id: request.relation_id,
            subject,
            sans,
            signed,
            provided: None,
        });
    }

    if let Some(local) = &local {
        let files: Vec<(usize, PathBuf)> = outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.signed.as_ref().ok().map(|s| (i, s.params_file.clone())))
            .collect();
        if !args.json {
            eprintln!(
                "{} running provide-certificate {} time(s) on {}",
                ui::bold("==>"),
                files.len(),
                local.leader()
            );
        }
        let paths: Vec<PathBuf> = files.iter().map(|(_, p)| p.clone()).collect();
        let results = local.provide_all(&paths)?;
        for ((i, _), result) in files.into_iter().zip(results) {
            if let Err(e) = &result {
                eprintln!(
                    "{}: provide-certificate for request {}: {e}",
                    ui::red("failed"),
                    outcomes[i].index
                );
            }
            outcomes[i].provided = Some(result);
        }
    }

    let failed = outcomes
        .iter()
        .filter(|o| o.signed.is_err() || matches!(o.provided, Some(Err(_))))
        .count();
    if args.json {
        let list: Vec<Value> = outcomes.iter().map(outcome_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"requests": list, "failed": failed}))?
        );
    } else {
        print_table(&outcomes, local.is_some());
        if failed > 0 {
            eprintln!("{failed} of {total} request(s) failed");
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The requests in what get-outstanding-certificate-requests returned, in any of the forms a
/// person has at hand: the `result` string itself (a JSON list), `juju-tls run --json`
/// (`{"results": {"result": ...}}`), `juju run --format json` (`{"app/0": {"results": ...}}`), or
/// the YAML `juju run` prints.
fn parse_requests(text: &str) -> anyhow::Result<Vec<Request>> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => serde_norway::from_str::<serde_norway::Value>(text)
            .ok()
            .and_then(|y| serde_json::to_value(y).ok())
            .context("neither JSON nor YAML")?,
    };
    let list = find_list(&value, 0).context(
        "no list of requests found: expected get-outstanding-certificate-requests' `result`",
    )?;
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            let csr = entry["csr"]
                .as_str()
                .with_context(|| format!("entry {} has no \"csr\" string", i + 1))?;
            let relation_id = entry["relation_id"]
                .as_i64()
                .with_context(|| format!("entry {} has no integer \"relation_id\"", i + 1))?;
            Ok(Request {
                csr: csr.to_owned(),
                relation_id,
            })
        })
        .collect()
}

fn find_list(value: &Value, depth: usize) -> Option<Vec<Value>> {
    if depth > 4 {
        return None;
    }
    match value {
        Value::Array(list) => Some(list.clone()),
        Value::String(s) => serde_json::from_str::<Value>(s)
            .ok()
            .filter(|v| v.is_array())
            .and_then(|v| find_list(&v, depth + 1)),
        Value::Object(map) => {
            for key in ["results", "result"] {
                if let Some(v) = map.get(key) {
                    return find_list(v, depth + 1);
                }
            }
            // `juju run --format json`: one entry per unit.
            let mut units = map.values().filter(|v| v.is_object());
            match (units.next(), units.next()) {
                (Some(one), None) => find_list(one, depth + 1),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The CA and the issuers above it link, each issued by the next.
fn check_issuers(issuers: &[Certificate]) -> anyhow::Result<()> {
    let ordered = chain::order(issuers).context("the CA and --chain do not form one chain")?;
    if ordered.iter().zip(issuers).any(|(a, b)| a.der() != b.der()) {
        bail!(
            "--chain must list the CA's issuers in order: the one that issued the CA first, the root last"
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn sign_one(
    ca: &CertificateAuthority,
    issuers: &[Certificate],
    anchor: &Certificate,
    csr: &Csr,
    request: &Request,
    index: usize,
    args: &SignRequestsArgs,
    now: OffsetDateTime,
) -> anyhow::Result<Signed> {
    let issue = IssueRequest {
        csr,
        kind: CertificateKind::Leaf,
        validity: args.validity,
    };
    let cert = ca.issue(&issue, &IssuingPolicy::default(), now)?;
    let mut bundle = cert.pem().to_owned();
    for c in issuers {
        bundle.push_str(c.pem());
    }
    let name = file_stem(index, csr, request.relation_id);
    let params_file = args.out.join(format!("{name}.yaml"));
    let params = format!(
        "# provide-certificate parameters for request {index} ('{}'); run on the leader:\n\
         #   juju run APP/leader provide-certificate --params {}\n\
         certificate-signing-request: {}\ncertificate: {}\nca-certificate: {}\nca-chain: {}\nrelation-id: {}\n",
        csr.subject(),
        params_file.display(),
        STANDARD.encode(format!("{}\n", csr.pem().trim())),
        STANDARD.encode(cert.pem()),
        STANDARD.encode(anchor.pem()),
        STANDARD.encode(&bundle),
        request.relation_id,
    );
    super::write_public(&params_file, params.as_bytes())?;
    super::write_public(&args.out.join(format!("{name}.pem")), cert.pem().as_bytes())?;
    let info = cert.info();
    Ok(Signed {
        serial: info.serial.clone(),
        not_after: info.not_after,
        params_file,
    })
}

/// `NN-<common name, or "request">-relation-<id>`, safe as a file name.
fn file_stem(index: usize, csr: &Csr, relation_id: i64) -> String {
    let cn = csr.subject().common_name().unwrap_or("request");
    let safe: String = cn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("{index:02}-{safe}-relation-{relation_id}")
}

/// A private key others can read: said on stderr (the key itself never is).
fn warn_if_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: {} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
}

fn outcome_json(o: &Outcome) -> Value {
    let mut v = json!({
        "request": o.index,
        "relation_id": o.relation_id,
        "subject": o.subject,
        "sans": o.sans,
    });
    match &o.signed {
        Ok(s) => {
            v["serial"] = json!(s.serial);
            v["not_after"] = json!(fmt_time(s.not_after));
            v["params_file"] = json!(s.params_file.display().to_string());
        }
        Err(e) => v["error"] = json!(e),
    }
    match &o.provided {
        Some(Ok(())) => v["provided"] = json!(true),
        Some(Err(e)) => {
            v["provided"] = json!(false);
            v["provide_error"] = json!(e);
        }
        None => {}
    }
    v
}

fn print_table(outcomes: &[Outcome], ran: bool) {
    let mut header = vec![
        "#", "Relation", "Subject", "SANs", "Serial", "Expiry", "Params",
    ];
    if ran {
        header.push("Provided");
    }
    let mut t = Table::new(header);
    for o in outcomes {
        let mut row = vec![
            o.index.to_string(),
            o.relation_id.to_string(),
            o.subject.clone(),
            o.sans.clone(),
        ];
        match &o.signed {
            Ok(s) => row.extend([
                s.serial.clone(),
                fmt_time(s.not_after),
                s.params_file.display().to_string(),
            ]),
            Err(_) => row.extend([ui::red("refused"), String::new(), String::new()]),
        }
        if ran {
            row.push(match &o.provided {
                Some(Ok(())) => ui::green("yes"),
                Some(Err(_)) => ui::red("failed"),
                None => "-".into(),
            });
        }
        t.row(row);
    }
    print!("{}", t.render());
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str =
        r#"[{"csr": "PEM-A", "relation_id": 3}, {"csr": "PEM-B", "relation_id": 4}]"#;

    fn ids(text: &str) -> Vec<(String, i64)> {
        parse_requests(text)
            .unwrap()
            .into_iter()
            .map(|r| (r.csr, r.relation_id))
            .collect()
    }

    #[test]
    fn every_form_of_the_action_output_is_read() {
        let want = vec![("PEM-A".to_owned(), 3), ("PEM-B".to_owned(), 4)];
        assert_eq!(ids(LIST), want);
        let ours = json!({"id": 1, "unit": "m/0", "status": "completed", "results": {"result": LIST, "return-code": 0}});
        assert_eq!(ids(&ours.to_string()), want);
        let juju = json!({"m/0": {"id": "7", "results": {"result": LIST}, "status": "completed"}});
        assert_eq!(ids(&juju.to_string()), want);
        let yaml = format!("m/0:\n  results:\n    result: '{LIST}'\n  status: completed\n");
        assert_eq!(ids(&yaml), want);
        assert!(ids("[]").is_empty());
    }

    #[test]
    fn what_is_not_a_request_list_is_refused() {
        assert!(parse_requests("{\"a\": 1}").is_err());
        assert!(parse_requests("[{\"csr\": 1, \"relation_id\": 2}]").is_err());
        assert!(parse_requests("[{\"csr\": \"x\"}]").is_err());
    }
}
