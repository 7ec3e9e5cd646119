//! `juju-tls demo`: the main job. On a fresh local model it deploys the self-signed CA and three
//! mutual-TLS servers, relates them, and proves the certificates work (real handshakes between
//! processes), then renews them through the virtual clock, rotates the CA, and removes a unit and
//! the relation. Every step is timed; any failed step stops the demo with a non-zero exit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;
use model::{Model, Registry, SettleOptions};

use crate::ui::{self, Table};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Name of the local model to (re)create.
    #[arg(long, default_value = "demo")]
    model: String,
    /// Units of tls-demo.
    #[arg(long, default_value_t = 3)]
    units: usize,
    /// Validity of issued certificates (short values make renewal happen sooner).
    #[arg(long, default_value = "90d")]
    certificate_validity: String,
    /// Deploy these packed charms (or charm directories) instead of packing ours.
    #[arg(long, num_args = 2, value_names = ["CA_CHARM", "DEMO_CHARM"])]
    charms: Option<Vec<PathBuf>>,
    /// Put the CA in a model of its own (`<model>-ca`) and offer it; tls-demo consumes the
    /// offer across models.
    #[arg(long)]
    cross_model: bool,
}

const CA: &str = "self-signed-certificates";
const DEMO: &str = "tls-demo";

struct Steps {
    table: Table,
    total: usize,
    done: usize,
    started: Instant,
}

impl Steps {
    fn run<T>(
        &mut self,
        name: &str,
        f: impl FnOnce() -> anyhow::Result<(T, String)>,
    ) -> anyhow::Result<T> {
        self.done += 1;
        println!("{} [{}/{}] {name}", ui::bold("==>"), self.done, self.total);
        let start = Instant::now();
        let result = f();
        let took = format!("{:.1} s", start.elapsed().as_secs_f64());
        match result {
            Ok((value, summary)) => {
                for line in summary.lines() {
                    println!("      {line}");
                }
                self.table.row([name.to_owned(), ui::green("ok"), took]);
                Ok(value)
            }
            Err(e) => {
                self.table.row([name.to_owned(), ui::red("FAILED"), took]);
                println!("\n{}", self.table.render());
                Err(e.context(format!("step '{name}' failed")))
            }
        }
    }
}

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut steps = Steps {
        table: Table::new(["step", "result", "took"]),
        total: 13,
        done: 0,
        started: Instant::now(),
    };
    println!(
        "{}",
        ui::bold("juju-tls demo: a self-signed CA and mutual-TLS servers on a local Juju model")
    );

    steps.run("check the virtual clock (libfaketime)", || {
        let lib = ensure_faketime()?;
        Ok(((), format!("{}", lib.display())))
    })?;

    let (ca_charm, demo_charm) = steps.run("pack the charms (cargo build + .charm)", || {
        let dirs = match &args.charms {
            Some(v) if v.len() == 2 => (v[0].clone(), v[1].clone()),
            _ => {
                let root = Path::new(env!("CARGO_MANIFEST_DIR"));
                let (ca, demo) = (root.join("charms").join(CA), root.join("charms").join(DEMO));
                let packed = crate::pack::pack_all(
                    &[&ca, &demo],
                    &root.join("target").join("charms"),
                    &crate::pack::PackOptions::default(),
                )?;
                (packed[0].path.clone(), packed[1].path.clone())
            }
        };
        let summary = format!("{}\n{}", dirs.0.display(), dirs.1.display());
        Ok((dirs, summary))
    })?;

    let registry = Registry::from_env()?;
    let ca_model_name = format!("{}-ca", args.model);
    let created = if args.cross_model {
        format!(
            "create fresh models '{}' and '{ca_model_name}' (the CA's)",
            args.model
        )
    } else {
        format!("create a fresh model '{}'", args.model)
    };
    let (model, ca_model) = steps.run(&created, || {
        let existing = registry.list()?;
        // The CA's model first: destroying it ends the demo model's relation to it cleanly.
        if args.cross_model && existing.contains(&ca_model_name) {
            registry.destroy(&ca_model_name)?;
        }
        if existing.contains(&args.model) {
            registry.destroy(&args.model)?;
        }
        let model = Arc::new(registry.add(&args.model)?);
        let ca_model = if args.cross_model {
            Arc::new(registry.create(&ca_model_name)?)
        } else {
            model.clone()
        };
        registry.switch(&args.model)?;
        let dir = model.dir().display().to_string();
        Ok(((model, ca_model), format!("stored in {dir}")))
    })?;
    let _lock = model.lock()?;
    let _ca_lock = if args.cross_model {
        Some(ca_model.lock()?)
    } else {
        None
    };
    // Ctrl-C ends the running hooks too; they rerun from scratch on the next `wait`.
    crate::cli::model::interrupt_on_signals(&model)?;
    let settle = SettleOptions::default();

    steps.run(
        &format!("deploy {CA} and {DEMO} ({} units)", args.units),
        || {
            ca_model.deploy(
                &ca_charm,
                None,
                1,
                &[(
                    "certificate-validity".into(),
                    args.certificate_validity.clone(),
                )],
            )?;
            model.deploy(&demo_charm, None, args.units, &[])?;
            let mut runs = 0;
            if !Arc::ptr_eq(&model, &ca_model) {
                let report = ca_model.settle(&settle)?;
                check_errors(&report.errors)?;
                runs += report.runs.len();
            }
            let report = model.settle_with_peers(&settle)?;
            check_errors(&report.errors)?;
            runs += report.runs.len();
            Ok(((), format!("{runs} hooks run")))
        },
    )?;

    let across = if args.cross_model {
        format!(" (offered by model '{ca_model_name}')")
    } else {
        String::new()
    };
    steps.run(
        &format!("integrate {DEMO}:certificates with {CA}{across}"),
        || {
            let hooks = integrate(&model, &ca_model, &settle)?;
            Ok(((), format!("{hooks} hooks run; {}", unit_summary(&model)?)))
        },
    )?;

    let first = steps.run(
        "probe: every unit handshakes with every peer (mutual TLS)",
        || {
            let probes = probe_all(&model, &settle)?;
            let summary = probe_summary(&probes);
            Ok((serials(&model)?, summary))
        },
    )?;

    steps.run(
        "advance the virtual clock 82 days (past the renewal point)",
        || {
            model.advance(82 * 86_400)?;
            let report = model.settle_with_peers(&settle)?;
            check_errors(&report.errors)?;
            let now = serials(&model)?;
            let renewed = first
                .iter()
                .filter(|(u, s)| now.get(*u).is_some_and(|n| n != *s))
                .count();
            if renewed != first.len() {
                bail!(
                    "{renewed} of {} unit certificates were renewed",
                    first.len()
                );
            }
            Ok((
                (),
                format!(
                    "{renewed}/{} unit certificates renewed (new serials); {} hooks run",
                    first.len(),
                    report.runs.len()
                ),
            ))
        },
    )?;

    steps.run("probe again with the renewed certificates", || {
        let probes = probe_all(&model, &settle)?;
        Ok(((), probe_summary(&probes)))
    })?;

    steps.run(
        &format!("rotate-private-key on {CA}/0: new CA, everything re-issued"),
        || {
            let before = ca_serial(&model)?;
            let id = ca_model.queue_action(&format!("{CA}/0"), "rotate-private-key", &[])?;
            let report = ca_model.settle_with_peers(&settle)?;
            check_errors(&report.errors)?;
            let run = ca_model.action(id)?;
            if run.status != "completed" {
                bail!("rotate-private-key {}: {}", run.status, run.message);
            }
            let after = ca_serial(&model)?;
            if before == after {
                bail!("the CA did not change");
            }
            Ok(((), format!("CA serial {before} -> {after}")))
        },
    )?;

    steps.run("probe again under the new CA", || {
        let probes = probe_all(&model, &settle)?;
        Ok(((), probe_summary(&probes)))
    })?;

    steps.run(&format!("remove {DEMO}/{} and the relation: cleanup", args.units.saturating_sub(1)), || {
        let secrets_before = model.secrets()?.len();
        model.remove_unit(&format!("{DEMO}/{}", args.units.saturating_sub(1)))?;
        model.settle_with_peers(&settle)?;
        model.remove_relation(DEMO, CA)?;
        let report = model.settle_with_peers(&settle)?;
        check_errors(&report.errors)?;
        let secrets_after = model.secrets()?.len();
        Ok(((), format!("secrets {secrets_before} -> {secrets_after} (keys and certificates of the relation removed); {}", unit_summary(&model)?)))
    })?;

    let last_probes = steps.run("integrate again: new keys and certificates", || {
        integrate(&model, &ca_model, &settle)?;
        let probes = probe_all(&model, &settle)?;
        let summary = format!("{}\n{}", unit_summary(&model)?, probe_summary(&probes));
        Ok((probes, summary))
    })?;
    // The final table is the model as it is now, with the last step's probes.
    let final_serials = serials(&model)?;
    let final_status = model.status()?;

    steps.run("leave the model for inspection", || {
        let also = if args.cross_model {
            format!("; juju-tls status -m {ca_model_name}")
        } else {
            String::new()
        };
        Ok(((), format!("juju-tls status -m {}{also}", args.model)))
    })?;

    println!();
    let mut table = Table::new(["unit", "certificate serial", "expires", "probe"]);
    for unit in final_status
        .applications
        .iter()
        .filter(|a| a.name == DEMO)
        .flat_map(|a| &a.units)
    {
        let (serial, expiry) = final_serials
            .get(&unit.name)
            .map(|s| s.split_once('|').unwrap_or((s.as_str(), "")))
            .unwrap_or(("-", "-"));
        let probe = last_probes
            .get(&unit.name)
            .cloned()
            .unwrap_or_else(|| "-".into());
        table.row([
            unit.name.clone(),
            serial.to_owned(),
            expiry.to_owned(),
            probe,
        ]);
    }
    print!("{}", table.render());
    println!();
    print!("{}", steps.table.render());
    println!(
        "total {:.1} s; the model is left in place: juju-tls status -m {}",
        steps.started.elapsed().as_secs_f64(),
        args.model
    );
    Ok(ExitCode::SUCCESS)
}

/// The local model's virtual clock is libfaketime preloaded into hooks and workloads. On a fresh
/// machine where we are root (a container, CI), install it the way `scripts/test` does; otherwise
/// say how.
fn ensure_faketime() -> anyhow::Result<PathBuf> {
    if let Some(lib) = model::faketime_library() {
        return Ok(lib);
    }
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root || which("apt-get").is_none() {
        bail!(
            "the virtual clock needs libfaketime: install it (Debian/Ubuntu: sudo apt-get install libfaketime) and run the demo again"
        );
    }
    // One line for the whole install; apt's own output only when it fails.
    println!(
        "      installing libfaketime with apt-get (the local model's virtual clock needs it)"
    );
    for args in [
        &["update", "-qq"][..],
        &[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "libfaketime",
        ][..],
    ] {
        let out = std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(std::process::Stdio::null())
            .output()
            .context("running apt-get")?;
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            bail!(
                "apt-get {} failed; install libfaketime by hand:\n{}",
                args.join(" "),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
    model::faketime_library()
        .context("libfaketime was installed but its library is not where expected")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

fn check_errors(errors: &[(String, String)]) -> anyhow::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = errors.iter().map(|(u, h)| format!("{u} ({h})")).collect();
    bail!(
        "units in error: {}; see juju-tls debug-log --hooks",
        list.join(", ")
    )
}

/// Relates the demo to the CA and settles; returns how many hooks ran. With the CA in another
/// model, it is offered there and consumed here first (once).
fn integrate(
    model: &Arc<Model>,
    ca_model: &Arc<Model>,
    settle: &SettleOptions,
) -> anyhow::Result<usize> {
    if !Arc::ptr_eq(model, ca_model) {
        if ca_model.offers()?.is_empty() {
            ca_model.offer(CA, &["certificates".to_owned()], None)?;
        }
        if model.saas()?.is_empty() {
            model.consume(&format!("{}.{CA}", ca_model.name()), None)?;
        }
    }
    model.integrate(
        &format!("{DEMO}:certificates"),
        &format!("{CA}:certificates"),
    )?;
    let report = model.settle_with_peers(settle)?;
    check_errors(&report.errors)?;
    Ok(report.runs.len())
}

fn unit_summary(model: &Model) -> anyhow::Result<String> {
    let status = model.status()?;
    let parts: Vec<String> = status
        .applications
        .iter()
        .flat_map(|a| a.units.iter())
        .map(|u| format!("{}: {}", u.name, u.workload))
        .collect();
    Ok(parts.join(", "))
}

/// Runs `probe` on every tls-demo unit; unit -> "n/n peers ok". Fails if any handshake failed.
fn probe_all(
    model: &Arc<Model>,
    settle: &SettleOptions,
) -> anyhow::Result<BTreeMap<String, String>> {
    let units: Vec<String> = model
        .status()?
        .applications
        .into_iter()
        .filter(|a| a.name == DEMO)
        .flat_map(|a| a.units)
        .map(|u| u.name)
        .collect();
    let ids: Vec<(String, i64)> = units
        .iter()
        .map(|u| Ok((u.clone(), model.queue_action(u, "probe", &[])?)))
        .collect::<anyhow::Result<_>>()?;
    let report = model.settle_with_peers(settle)?;
    check_errors(&report.errors)?;
    let mut out = BTreeMap::new();
    let mut failures = Vec::new();
    for (unit, id) in ids {
        let run = model.action(id)?;
        let summary = run
            .results
            .get("summary")
            .and_then(|v| v.as_str())
            .unwrap_or("no result")
            .to_owned();
        if run.status != "completed" {
            failures.push(format!("{unit}: {}", run.message));
        }
        out.insert(unit, summary);
    }
    if !failures.is_empty() {
        bail!("probe failed: {}", failures.join("; "));
    }
    Ok(out)
}

fn probe_summary(probes: &BTreeMap<String, String>) -> String {
    probes
        .iter()
        .map(|(u, s)| format!("{u}: {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Unit -> "serial|expiry" of the certificate each tls-demo unit serves (from its files).
fn serials(model: &Model) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for unit in model
        .status()?
        .applications
        .into_iter()
        .filter(|a| a.name == DEMO)
        .flat_map(|a| a.units)
    {
        let path = model.unit_dir(&unit.name).join("charm/tls/unit.crt");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let cert = pki::Certificate::from_pem(&text)
            .with_context(|| format!("reading {}", path.display()))?;
        let info = cert.info();
        let expiry = format!(
            "{}-{:02}-{:02}",
            info.not_after.year(),
            u8::from(info.not_after.month()),
            info.not_after.day()
        );
        out.insert(
            unit.name,
            format!("{}|{expiry}", &info.serial[..12.min(info.serial.len())]),
        );
    }
    Ok(out)
}

fn ca_serial(model: &Model) -> anyhow::Result<String> {
    let path = model
        .unit_dir(&format!("{DEMO}/0"))
        .join("charm/tls/ca.pem");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let certs = pki::Certificate::all_from_pem(&text)?;
    Ok(certs
        .iter()
        .map(|c| c.info().serial.chars().take(12).collect::<String>())
        .collect::<Vec<_>>()
        .join("+"))
}
