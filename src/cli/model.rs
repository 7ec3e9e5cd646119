//! The local-model verbs, with Juju's names: `model add|destroy|list|switch`, `deploy`,
//! `add-unit`, `remove-unit`, `remove-application`, `refresh`, `integrate`, `remove-relation`,
//! `config`, `run`, `status`, `show-unit`, `secrets`, `debug-log`, `advance`, `wait`, `resolve`,
//! and the user-secret verbs `add-secret`, `update-secret`, `grant-secret`, `revoke-secret`,
//! `remove-secret`, `show-secret`.
//!
//! A verb that changes the model records the change, then (unless `--no-wait`) runs the model's
//! hooks in this process until it settles, serving the hook tools meanwhile. Readers (`status`,
//! `show-unit`, `secrets`, `show-secret`, `debug-log`) never wait for that.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use model::{LockKind, LockWait, Model, ModelLock, Registry, SettleOptions};

use crate::ui::{self, Table};

mod args;
mod report;

pub(crate) use args::Command;
use args::{
    AddSecret, AddUnit, Advance, Config, ConsumeArgs, DebugLog, Deploy, HOOK_TIMEOUT_ENV, JsonOnly,
    ModelCommand, OfferArgs, Pair, Refresh, Run, Settle, ShowSecret, ShowUnit, Status, Target,
    UpdateSecret, WaitArgs,
};
use report::{print_action, print_status, time_text};

fn open(target: &Target) -> anyhow::Result<Arc<Model>> {
    Ok(Arc::new(
        Registry::from_env()?.open(target.model.as_deref())?,
    ))
}

/// `key=value` arguments as pairs (the value may contain `=`).
pub(crate) fn pairs(items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => bail!("expected key=value, got {s:?}"),
        })
        .collect()
}

fn say_waiting(pid: u32) {
    if pid == 0 {
        eprintln!("waiting for the model lock (held by another process)");
    } else {
        eprintln!("waiting for the model lock held by pid {pid}");
    }
}

/// A timeout: the CLI dialect, a bare number being seconds.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let d = hook_tools::duration::parse_cli_or_seconds(text)?;
    Ok(Duration::from_secs(d.whole_seconds().max(0) as u64))
}

fn lock_wait(timeout: Option<&str>) -> anyhow::Result<LockWait> {
    Ok(LockWait {
        timeout: timeout.map(duration).transpose()?,
        notice: Some(say_waiting),
    })
}

/// The model's change lock, for recording one change (released before settling).
fn change_lock(model: &Model, s: &Settle) -> anyhow::Result<ModelLock> {
    Ok(model.lock_with(LockKind::Change, lock_wait(s.timeout.as_deref())?)?)
}

fn options(s: &Settle) -> anyhow::Result<SettleOptions> {
    let mut o = SettleOptions {
        serial: s.serial,
        lock_wait: lock_wait(s.timeout.as_deref())?,
        ..SettleOptions::default()
    };
    if let Some(j) = s.jobs {
        o.jobs = j.max(1);
    }
    let timeout = s.hook_timeout.clone().or_else(|| {
        std::env::var(HOOK_TIMEOUT_ENV)
            .ok()
            .filter(|v| !v.is_empty())
    });
    if let Some(t) = timeout {
        let d = hook_tools::duration::parse_cli_or_seconds(&t)
            .map_err(|e| anyhow::anyhow!("invalid hook timeout: {e}"))?;
        o.hook_timeout = Duration::from_secs(d.whole_seconds().max(1) as u64);
    }
    Ok(o)
}

/// Runs hooks until the model settles (unless `--no-wait`); fails naming each unit in error.
/// SIGINT or SIGTERM meanwhile ends the running hooks (they rerun from scratch next settle)
/// and exits 130 or 143.
fn settle(model: &Arc<Model>, s: &Settle) -> anyhow::Result<()> {
    if s.no_wait {
        return Ok(());
    }
    let opts = options(s)?;
    interrupt_on_signals(model)?;
    // An interrupted settle returns `Error::Interrupted`; `main` leaves the exit to the
    // signal thread.
    let report = model.settle_with_peers(&opts)?;
    if !report.errors.is_empty() {
        let mut msg = String::new();
        for (unit, hook) in &report.errors {
            msg.push_str(&format!("\n  {unit}: hook failed: \"{hook}\""));
            if let Some(last) = model.hook_log(Some(unit), 1)?.pop() {
                for line in last
                    .output
                    .lines()
                    .rev()
                    .take(12)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    msg.push_str(&format!("\n    | {line}"));
                }
            }
        }
        bail!("units in error (fix, then `juju-tls resolve UNIT`):{msg}");
    }
    Ok(())
}

/// Installs (once per process) a thread that ends the model's running hooks on SIGINT/SIGTERM,
/// then exits as the signal would have.
pub(crate) fn interrupt_on_signals(model: &Arc<Model>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            let model = model.clone();
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    let ended = model.interrupt();
                    eprintln!(
                        "juju-tls: interrupted; ended {ended} running hook(s), which run again from the start on the next `wait`"
                    );
                    std::process::exit(128 + sig);
                }
            });
        }
        Err(e) => result = Err(anyhow::anyhow!("installing signal handlers: {e}")),
    });
    result
}

/// Runs a verb.
pub(crate) fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    let registry = Registry::from_env()?;
    match cmd {
        Command::Model(m) => model_verb(&registry, m),
        Command::Deploy(d) => deploy(d),
        Command::AddUnit(a) => add_unit(a),
        Command::RemoveUnit(r) => change(&r.target, &r.settle, |model| {
            for u in &r.units {
                model.remove_unit(u)?;
            }
            Ok(())
        }),
        Command::RemoveApplication(a) => change(&a.target, &a.settle, |model| {
            Ok(model.remove_application(&a.app)?)
        }),
        Command::Refresh(r) => refresh(r),
        Command::Integrate(p) => integrate(p),
        Command::RemoveRelation(p) => change(&p.target, &p.settle, |model| {
            Ok(model.remove_relation(&p.a, &p.b)?)
        }),
        Command::Offer(o) => offer(o),
        Command::RemoveOffer(r) => {
            let (target, offer) = offer_target(&r.target, &r.offer);
            change(&target, &r.settle, |model| {
                Ok(model.remove_offer(&offer, r.force)?)
            })
        }
        Command::Offers(o) => offers(o),
        Command::Consume(c) => consume(c),
        Command::RemoveSaas(a) => {
            change(&a.target, &a.settle, |model| Ok(model.remove_saas(&a.app)?))
        }
        Command::Config(c) => config(c),
        Command::Run(r) => run_action(r),
        Command::Status(s) => status(s),
        Command::ShowUnit(s) => show_unit(s),
        Command::Secrets(s) => secrets(s),
        Command::AddSecret(a) => add_secret(a),
        Command::UpdateSecret(u) => update_secret(u),
        Command::GrantSecret(g) => change(&g.target, &g.settle, |model| {
            Ok(model.grant_secret(&g.secret, &g.apps)?)
        }),
        Command::RevokeSecret(g) => change(&g.target, &g.settle, |model| {
            Ok(model.revoke_secret(&g.secret, &g.apps)?)
        }),
        Command::RemoveSecret(r) => change(&r.target, &r.settle, |model| {
            Ok(model.remove_secret(&r.secret, r.revision)?)
        }),
        Command::ShowSecret(s) => show_secret(s),
        Command::DebugLog(d) => debug_log(d),
        Command::Advance(a) => advance(a),
        Command::Wait(w) => wait(w),
        Command::Resolve(u) => change(&u.target, &u.settle, |model| Ok(model.resolve(&u.unit)?)),
        Command::SetLeader(u) => {
            change(&u.target, &u.settle, |model| Ok(model.set_leader(&u.unit)?))
        }
    }
}

/// A verb that records one change under the change lock, then runs the hooks it caused.
fn change(
    target: &Target,
    s: &Settle,
    record: impl FnOnce(&Model) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    let model = open(target)?;
    let lock = change_lock(&model, s)?;
    record(&model)?;
    drop(lock);
    settle(&model, s)?;
    Ok(ExitCode::SUCCESS)
}

/// `model add|destroy|list|switch`.
fn model_verb(registry: &Registry, m: ModelCommand) -> anyhow::Result<ExitCode> {
    match m {
        ModelCommand::Add { name } => {
            registry.add(&name)?;
            eprintln!("Added model {name:?} (now current)");
        }
        ModelCommand::Destroy { name, timeout } => {
            registry.destroy_with(&name, lock_wait(timeout.as_deref())?)?;
            eprintln!("Destroyed model {name:?}");
        }
        ModelCommand::List => {
            let current = registry.current()?;
            for name in registry.list()? {
                let mark = if current.as_deref() == Some(name.as_str()) {
                    "*"
                } else {
                    ""
                };
                println!("{name}{mark}");
            }
        }
        ModelCommand::Switch { name } => {
            registry.switch(&name)?;
            eprintln!("Current model: {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `deploy`.
fn deploy(d: Deploy) -> anyhow::Result<ExitCode> {
    let model = open(&d.target)?;
    let config = pairs(&d.config)?;
    let lock = change_lock(&model, &d.settle)?;
    let app = model.deploy(&d.charm, d.app.as_deref(), d.num_units, &config)?;
    drop(lock);
    eprintln!(
        "Deployed {app:?} ({} unit{})",
        d.num_units,
        if d.num_units == 1 { "" } else { "s" }
    );
    settle(&model, &d.settle)?;
    Ok(ExitCode::SUCCESS)
}

/// `add-unit`.
fn add_unit(a: AddUnit) -> anyhow::Result<ExitCode> {
    let model = open(&a.target)?;
    let lock = change_lock(&model, &a.settle)?;
    let units = model.add_units(&a.app, a.num_units)?;
    drop(lock);
    eprintln!("Added {}", units.join(", "));
    settle(&model, &a.settle)?;
    Ok(ExitCode::SUCCESS)
}

/// `refresh`.
fn refresh(r: Refresh) -> anyhow::Result<ExitCode> {
    let model = open(&r.target)?;
    let config = pairs(&r.config)?;
    let lock = change_lock(&model, &r.settle)?;
    model.refresh(&r.app, &r.path, &config)?;
    drop(lock);
    settle(&model, &r.settle)?;
    Ok(ExitCode::SUCCESS)
}

/// `integrate`.
fn integrate(p: Pair) -> anyhow::Result<ExitCode> {
    let model = open(&p.target)?;
    let lock = change_lock(&model, &p.settle)?;
    let id = model.integrate(&p.a, &p.b)?;
    drop(lock);
    eprintln!("Integrated {} and {} (relation {id})", p.a, p.b);
    settle(&model, &p.settle)?;
    Ok(ExitCode::SUCCESS)
}

/// `offer APP:EP[,EP] [NAME]`; `MODEL.APP` names the model.
fn offer(o: OfferArgs) -> anyhow::Result<ExitCode> {
    let (app, endpoints) = o.endpoints.split_once(':').ok_or_else(|| {
        anyhow::anyhow!("expected APP:ENDPOINT[,ENDPOINT...], got {:?}", o.endpoints)
    })?;
    let (target, app) = offer_target(&o.target, app);
    let endpoints: Vec<String> = endpoints
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    let model = open(&target)?;
    let lock = model.lock()?;
    let offer = model.offer(&app, &endpoints, o.name.as_deref())?;
    drop(lock);
    eprintln!(
        "Offered {}:{} as admin/{}.{}",
        offer.app,
        offer.endpoints.join(","),
        model.name(),
        offer.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `MODEL.NAME` (or `[owner/]MODEL.NAME`) as a target model and a name; a plain name as is.
fn offer_target(target: &Target, name: &str) -> (Target, String) {
    let (model, name) = crate::juju::dotted(name, target.model.as_deref());
    (Target { model }, name)
}

/// `offers`.
fn offers(o: JsonOnly) -> anyhow::Result<ExitCode> {
    let model = open(&o.target)?;
    let list = model.offers()?;
    if o.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else if list.is_empty() {
        eprintln!("No offers in model {:?}", model.name());
    } else {
        print!("{}", report::offers_table(&list).render());
    }
    Ok(ExitCode::SUCCESS)
}

/// `consume URL [ALIAS]`.
fn consume(c: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let model = open(&c.target)?;
    let lock = model.lock()?;
    let saas = model.consume(&c.url, c.alias.as_deref())?;
    drop(lock);
    eprintln!(
        "Added admin/{}.{} as {}",
        saas.model_name, saas.offer, saas.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `config`: shows the options, or sets and resets them.
fn config(c: Config) -> anyhow::Result<ExitCode> {
    let model = open(&c.target)?;
    if c.pairs.is_empty() && c.reset.is_empty() {
        let cfg = model.config(&c.app)?;
        if c.json {
            println!("{}", serde_json::to_string_pretty(&cfg)?);
        } else {
            let mut t = Table::new(["Option", "Type", "Value", "Source"]);
            for (k, e) in cfg {
                let v = e
                    .value
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .unwrap_or_default();
                t.row([
                    k,
                    e.kind,
                    v,
                    if e.default {
                        "default".into()
                    } else {
                        "user".into()
                    },
                ]);
            }
            print!("{}", t.render());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let lock = change_lock(&model, &c.settle)?;
    model.set_config(&c.app, &pairs(&c.pairs)?, &c.reset)?;
    drop(lock);
    settle(&model, &c.settle)?;
    Ok(ExitCode::SUCCESS)
}

/// `run`: queues an action, waits for it and prints its result.
fn run_action(r: Run) -> anyhow::Result<ExitCode> {
    let model = open(&r.target)?;
    let lock = change_lock(&model, &r.settle)?;
    let id = model.queue_action(&r.unit, &r.action, &pairs(&r.params)?)?;
    drop(lock);
    if r.settle.no_wait {
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }
    let settled = settle(&model, &r.settle);
    let run = model.action(id)?;
    if r.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print_action(&run);
    }
    settled?;
    if run.status != "completed" {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `status`.
fn status(s: Status) -> anyhow::Result<ExitCode> {
    let model = open(&s.target)?;
    let st = model.status()?;
    if s.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        print_status(&st);
    }
    Ok(ExitCode::SUCCESS)
}

/// `show-unit`.
fn show_unit(s: ShowUnit) -> anyhow::Result<ExitCode> {
    let model = open(&s.target)?;
    let v = model.show_unit(&s.unit)?;
    if s.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", serde_norway::to_string(&v).context("rendering YAML")?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `secrets`.
fn secrets(s: JsonOnly) -> anyhow::Result<ExitCode> {
    let model = open(&s.target)?;
    let list = model.secrets()?;
    if s.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        let mut t = Table::new(["ID", "Owner", "Label", "Rev", "Expiry", "Granted to"]);
        for x in list {
            t.row([
                x.uri,
                x.owner,
                x.label,
                x.revision.to_string(),
                x.expiry.unwrap_or_default(),
                x.granted_to.join(","),
            ]);
        }
        print!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// Secret content from `key=value`, `key#base64=VALUE` and `key#file=PATH` arguments and a
/// `--file` YAML map (arguments win). Files are read here, as the user running the verb.
pub(crate) fn secret_content(
    args: &[String],
    file: Option<&std::path::Path>,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    use base64::Engine as _;
    use hook_tools::values::{SecretContentArg, SecretValue};
    let mut out = std::collections::BTreeMap::new();
    if let Some(f) = file {
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let map = hook_tools::settings::decode(&bytes)
            .with_context(|| format!("{} is not a YAML map of secret values", f.display()))?;
        out.extend(map);
    }
    for a in args {
        let arg = SecretContentArg::parse(a)?;
        let value = match arg.value {
            SecretValue::Inline(v) => v,
            SecretValue::Base64(v) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .with_context(|| format!("invalid base64 value for {:?}", arg.key))?;
                String::from_utf8(bytes)
                    .with_context(|| format!("the base64 value of {:?} is not UTF-8", arg.key))?
            }
            SecretValue::File(p) => std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {p} for {:?}", arg.key))?,
        };
        out.insert(arg.key, value);
    }
    Ok(out)
}

/// `add-secret`: prints the new secret's URI.
fn add_secret(a: AddSecret) -> anyhow::Result<ExitCode> {
    let content = secret_content(&a.content, a.file.as_deref())?;
    change(&a.target, &a.settle, |model| {
        println!(
            "{}",
            model.add_secret(&a.name, a.info.as_deref(), &content)?
        );
        Ok(())
    })
}

/// `update-secret`.
fn update_secret(u: UpdateSecret) -> anyhow::Result<ExitCode> {
    let content = secret_content(&u.content, u.file.as_deref())?;
    let update = model::SecretUpdate {
        content: (!content.is_empty()).then_some(content),
        description: u.info,
        name: u.name,
        auto_prune: u.auto_prune,
    };
    change(&u.target, &u.settle, |model| {
        Ok(model.update_secret(&u.secret, &update)?)
    })
}

/// `show-secret`: YAML (default) or JSON, keyed by secret id.
fn show_secret(s: ShowSecret) -> anyhow::Result<ExitCode> {
    let model = open(&s.target)?;
    let details = model.show_secret(
        &s.secret,
        model::ShowSecret {
            reveal: s.reveal,
            revisions: s.revisions,
            revision: s.revision,
        },
    )?;
    if s.format == "json" {
        println!("{}", serde_json::to_string(&details)?);
    } else {
        print!(
            "{}",
            serde_norway::to_string(&details).context("rendering YAML")?
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `debug-log`: unit logs, or every hook run with `--hooks`.
fn debug_log(d: DebugLog) -> anyhow::Result<ExitCode> {
    let model = open(&d.target)?;
    if d.hooks {
        let runs = model.hook_log(d.unit.as_deref(), d.lines)?;
        if d.json {
            println!("{}", serde_json::to_string_pretty(&runs)?);
        } else {
            for r in runs {
                let mark = if r.code == 0 {
                    ui::green("ok")
                } else {
                    ui::red(&format!("exit {}", r.code))
                };
                println!("{} {} {} {mark} ({} ms)", r.time, r.unit, r.hook, r.millis);
                for line in r.output.lines() {
                    println!("    {line}");
                }
            }
        }
    } else {
        let lines = model.debug_log(d.unit.as_deref(), d.lines)?;
        if d.json {
            println!("{}", serde_json::to_string_pretty(&lines)?);
        } else {
            for l in lines {
                println!("{} unit.{} {} {}", l.time, l.unit, l.level, l.message);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `advance`: moves the virtual clock and runs what became due.
fn advance(a: Advance) -> anyhow::Result<ExitCode> {
    let model = open(&a.target)?;
    let secs = model::parse_duration(&a.duration)?;
    if model::faketime_library().is_none() {
        return Err(model::Error::from(model::UsageError::NoFaketime).into());
    }
    let lock = change_lock(&model, &a.settle)?;
    let now = model.advance(secs)?;
    drop(lock);
    eprintln!("Virtual time is now {}", time_text(now));
    settle(&model, &a.settle)?;
    Ok(ExitCode::SUCCESS)
}

/// `wait`: runs queued hooks until the model settles.
fn wait(w: WaitArgs) -> anyhow::Result<ExitCode> {
    let model = open(&w.target)?;
    settle(
        &model,
        &Settle {
            no_wait: false,
            ..w.settle
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// An application of a local model that another verb runs actions on (`pki sign-requests
/// --run`): its leader, the model's time, and actions queued together and run in one settle.
pub(crate) struct LocalApp {
    model: Arc<Model>,
    leader: String,
}

impl LocalApp {
    /// Opens `model` (default: the current one) and finds the leader of `app`.
    pub(crate) fn open(model: Option<&str>, app: &str) -> anyhow::Result<Self> {
        let model = open(&Target {
            model: model.map(str::to_owned),
        })?;
        let status = model.status()?;
        let Some(application) = status.applications.iter().find(|a| a.name == app) else {
            bail!("no application {app:?} in model {:?}", status.model);
        };
        let Some(leader) = application.units.iter().find(|u| u.leader) else {
            bail!("application {app:?} has no leader yet (run `juju-tls wait`)");
        };
        let leader = leader.name.clone();
        Ok(Self { model, leader })
    }

    /// The leader unit.
    pub(crate) fn leader(&self) -> &str {
        &self.leader
    }

    /// The model's (virtual) time.
    pub(crate) fn now(&self) -> anyhow::Result<time::OffsetDateTime> {
        let text = self.model.status()?.time;
        time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("the model's time {text:?} is not RFC 3339"))
    }

    /// Runs `provide-certificate` on the leader once per parameter file (YAML, as
    /// `juju run --params` reads it), in one settle; per file, completed or the failure message.
    pub(crate) fn provide_all(
        &self,
        files: &[std::path::PathBuf],
    ) -> anyhow::Result<Vec<Result<(), String>>> {
        let s = Settle {
            no_wait: false,
            serial: false,
            jobs: None,
            hook_timeout: None,
            timeout: None,
        };
        let mut ids = Vec::with_capacity(files.len());
        for file in files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let map: serde_json::Map<String, serde_json::Value> = serde_norway::from_str(&text)
                .with_context(|| format!("{} is not a YAML map", file.display()))?;
            let params: Vec<(String, String)> = map
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect();
            let lock = change_lock(&self.model, &s)?;
            ids.push(
                self.model
                    .queue_action(&self.leader, "provide-certificate", &params)?,
            );
            drop(lock);
        }
        settle(&self.model, &s)?;
        ids.into_iter()
            .map(|id| {
                let run = self.model.action(id)?;
                Ok(if run.status == "completed" {
                    Ok(())
                } else {
                    Err(run.message)
                })
            })
            .collect()
    }
}
