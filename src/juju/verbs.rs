//! Each `juju` verb over the local model. Changing verbs record under the change lock, start
//! the background settler and return; reading verbs print Juju's shapes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use model::{LockWait, Model, Registry};
use serde_json::{Value, json};

use super::args::{Format, JujuCli, Verb};
use super::{background, open, print, status, tasks};
use crate::cli::pairs;

/// Environment variable naming a YAML map of Charmhub names to local charm paths, for
/// `deploy NAME` (default: `charmhub.yaml` in the data directory).
pub(crate) const CHARM_MAP_ENV: &str = "JUJU_TLS_CHARMHUB_MAP";

/// Runs one verb.
pub(super) fn run(cli: JujuCli) -> anyhow::Result<ExitCode> {
    let registry = Registry::from_env()?;
    let target = cli.model.as_deref();
    match cli.verb {
        Verb::AddModel {
            name,
            no_switch,
            config,
            ..
        } => {
            let name = super::model_name(&name).to_owned();
            let model = if no_switch {
                registry.create(&name)?
            } else {
                registry.add(&name)?
            };
            model.set_realtime(true)?;
            let config = pairs(&config)?;
            if !config.is_empty() {
                model.set_model_config(&config, &[])?;
            }
            eprintln!(
                "Added '{name}' model on {}/{}",
                status::CLOUD,
                status::CLOUD
            );
        }
        Verb::DestroyModel { name, timeout, .. } => destroy_model(&registry, &name, timeout)?,
        Verb::ShowModel { name, out } => {
            let model = open(&registry, name.as_deref().or(target))?;
            print(&status::show_model(&model)?, out.format)?;
        }
        Verb::Models { out } => {
            let current = registry.current()?;
            let models: Vec<Value> = registry
                .list()?
                .into_iter()
                .map(|n| json!({"name": format!("admin/{n}"), "short-name": n}))
                .collect();
            print(
                &json!({"models": models, "current-model": current}),
                out.format,
            )?;
        }
        Verb::Switch { name } => registry.switch(super::model_name(&name))?,
        Verb::ModelConfig { items, reset, out } => {
            let model = open(&registry, target)?;
            let reset = split_commas(&reset);
            if items.iter().all(|i| !i.contains('=')) && reset.is_empty() {
                let all = model.model_config()?;
                match items.first() {
                    Some(key) => {
                        let v = all
                            .get(key)
                            .with_context(|| format!("key {key:?} not found in model config"))?;
                        print(v, out.format)?;
                    }
                    None => {
                        let shaped: BTreeMap<String, Value> = all
                            .into_iter()
                            .map(|(k, v)| (k, json!({"Value": v, "Source": "model"})))
                            .collect();
                        print(&json!(shaped), out.format)?;
                    }
                }
            } else {
                let _lock = model.lock()?;
                model.set_model_config(&pairs(&items)?, &reset)?;
            }
        }
        Verb::ModelConstraints { out } => {
            let model = open(&registry, target)?;
            print(&json!(model.model_constraints()?), out.format)?;
        }
        Verb::SetModelConstraints { items } => {
            let model = open(&registry, target)?;
            let _lock = model.lock()?;
            model.set_model_constraints(&pairs(&items)?)?;
        }
        Verb::Deploy {
            charm,
            app,
            config,
            num_units,
            ..
        } => {
            let model = open(&registry, target)?;
            let path = charm_path(&registry, &charm)?;
            let config = deploy_config(&config, app.as_deref())?;
            change(&model, |m| {
                m.deploy(&path, app.as_deref(), num_units, &config)?;
                Ok(())
            })?;
        }
        Verb::Integrate { a, b, .. } => {
            let model = open(&registry, target)?;
            change(&model, |m| {
                m.integrate(&a, &b)?;
                Ok(())
            })?;
            spawn_peers(&registry, &model)?;
        }
        Verb::RemoveRelation { a, b, .. } => {
            let model = open(&registry, target)?;
            change(&model, |m| Ok(m.remove_relation(&a, &b)?))?;
            spawn_peers(&registry, &model)?;
        }
        Verb::AddUnit { app, num_units, .. } => {
            let model = open(&registry, target)?;
            change(&model, |m| {
                m.add_units(&app, num_units)?;
                Ok(())
            })?;
        }
        Verb::RemoveUnit {
            units, num_units, ..
        } => {
            let model = open(&registry, target)?;
            let units = match num_units {
                Some(n) => newest_units(&model, &units, n)?,
                None => units,
            };
            change(&model, |m| {
                for u in &units {
                    m.remove_unit(u)?;
                }
                Ok(())
            })?;
        }
        Verb::RemoveApplication { apps, .. } => {
            let model = open(&registry, target)?;
            change(&model, |m| {
                for a in &apps {
                    m.remove_application(a)?;
                }
                Ok(())
            })?;
        }
        Verb::Refresh {
            app, path, config, ..
        } => {
            let model = open(&registry, target)?;
            let Some(path) = path else {
                bail!("refresh needs --path here: the local model has no Charmhub");
            };
            let config = pairs(&config)?;
            change(&model, |m| Ok(m.refresh(&app, &path, &config)?))?;
        }
        Verb::Config {
            app,
            items,
            reset,
            file,
            out,
        } => {
            let model = open(&registry, target)?;
            let reset = split_commas(&reset);
            let mut set = match &file {
                Some(f) => config_file(f, &app)?,
                None => Vec::new(),
            };
            if items.iter().all(|i| !i.contains('=')) && reset.is_empty() && set.is_empty() {
                return show_config(&model, &app, items.first().map(String::as_str), out.format);
            }
            set.extend(pairs(&items)?);
            change(&model, |m| Ok(m.set_config(&app, &set, &reset)?))?;
        }
        Verb::Run {
            unit,
            action,
            params,
            params_file,
            wait,
            background: in_background,
            out,
        } => {
            let model = open(&registry, target)?;
            let params = tasks::params(params_file.as_deref(), &params)?;
            if in_background {
                let unit = tasks::resolve_unit(&model, &unit)?;
                let id = {
                    let _lock = model.lock()?;
                    model.queue_action(&unit, &action, &params)?
                };
                background::spawn(&model)?;
                println!("Scheduled operation {id} with task {id}");
                return Ok(ExitCode::SUCCESS);
            }
            let wait = tasks::wait_for(wait.as_deref())?;
            return tasks::run_action(
                &model,
                &unit,
                &action,
                &params,
                wait,
                out.format == Format::Json,
            );
        }
        Verb::Exec {
            unit,
            machine,
            wait,
            out,
            command,
        } => {
            if !machine.is_empty() {
                bail!("the local model has no machines: use --unit");
            }
            let [unit] = unit.as_slice() else {
                bail!("exec here runs on exactly one --unit");
            };
            let model = open(&registry, target)?;
            let wait = tasks::wait_for(wait.as_deref())?;
            return tasks::exec(&model, unit, &command, wait, out.format == Format::Json);
        }
        Verb::Status { out, .. } => {
            let model = open(&registry, target)?;
            print(&status::status(&model)?, out.format)?;
        }
        Verb::ShowUnit { unit, out } => {
            let model = open(&registry, target)?;
            let unit = tasks::resolve_unit(&model, &unit)?;
            print(&status::show_unit(&model, &unit)?, out.format)?;
        }
        Verb::Secrets { owner, out } => {
            let model = open(&registry, target)?;
            print(&secrets(&model, owner.as_deref())?, out.format)?;
        }
        Verb::ShowSecret {
            secret,
            reveal,
            revisions,
            revision,
            out,
        } => {
            let model = open(&registry, target)?;
            let details = model.show_secret(
                &secret,
                model::ShowSecret {
                    reveal: reveal || revision.is_some(),
                    revisions,
                    revision,
                },
            )?;
            let mut value = serde_json::to_value(details)?;
            wrap_content(&mut value);
            print(&value, out.format)?;
        }
        Verb::AddSecret {
            name,
            content,
            info,
            file,
        } => {
            let model = open(&registry, target)?;
            let content = crate::cli::secret_content(&content, file.as_deref())?;
            let _lock = model.lock()?;
            println!("{}", model.add_secret(&name, info.as_deref(), &content)?);
        }
        Verb::UpdateSecret {
            secret,
            content,
            info,
            name,
            file,
            auto_prune,
        } => {
            let model = open(&registry, target)?;
            let content = crate::cli::secret_content(&content, file.as_deref())?;
            let update = model::SecretUpdate {
                content: (!content.is_empty()).then_some(content),
                description: info,
                name,
                auto_prune,
            };
            change(&model, |m| Ok(m.update_secret(&secret, &update)?))?;
        }
        Verb::GrantSecret { secret, apps } => {
            let model = open(&registry, target)?;
            let apps = split_commas(&[apps]);
            change(&model, |m| Ok(m.grant_secret(&secret, &apps)?))?;
        }
        Verb::RevokeSecret { secret, apps } => {
            let model = open(&registry, target)?;
            let apps = split_commas(&[apps]);
            change(&model, |m| Ok(m.revoke_secret(&secret, &apps)?))?;
        }
        Verb::RemoveSecret { secret, revision } => {
            let model = open(&registry, target)?;
            change(&model, |m| Ok(m.remove_secret(&secret, revision)?))?;
        }
        Verb::DebugLog { limit, include, .. } => {
            let model = open(&registry, target)?;
            let unit = include.first().map(|i| entity_unit(i));
            for l in model.debug_log(unit.as_deref(), limit)? {
                println!(
                    "unit-{}: {} {} unit.{}.juju-log {}",
                    l.unit.replace('/', "-"),
                    l.time,
                    l.level,
                    l.unit,
                    l.message
                );
            }
        }
        Verb::Version { all, out } => {
            let version = format!("{}-ubuntu-{}", model::JUJU_VERSION, arch());
            if all || out.format != Format::Tabular {
                print(
                    &json!({
                        "version": version,
                        "git-commit": "",
                        "git-tree-state": "clean",
                        "compiler": "juju-tls",
                        "official": false,
                    }),
                    out.format,
                )?;
            } else {
                println!("{version}");
            }
        }
        Verb::Offer {
            endpoints, name, ..
        } => {
            let (spec, eps) = endpoints.split_once(':').with_context(|| {
                format!("expected [MODEL.]APP:ENDPOINT[,ENDPOINT...], got {endpoints:?}")
            })?;
            let (model_name, app) = super::dotted(spec, target);
            let model = open(&registry, model_name.as_deref())?;
            let eps: Vec<String> = eps
                .split(',')
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect();
            let _lock = model.lock()?;
            model.offer(&app, &eps, name.as_deref())?;
        }
        Verb::RemoveOffer { offers, force, .. } => {
            for o in offers {
                let (model_name, offer) = super::dotted(&o, target);
                let model = open(&registry, model_name.as_deref())?;
                change(&model, |m| Ok(m.remove_offer(&offer, force)?))?;
                spawn_peers(&registry, &model)?;
            }
        }
        Verb::Offers { name, out } => {
            let model = open(&registry, target)?;
            let offers: Vec<_> = model
                .offers()?
                .into_iter()
                .filter(|o| name.as_deref().is_none_or(|n| n == o.name))
                .collect();
            print(&status::offers(&offers), out.format)?;
        }
        Verb::FindOffers { url, out } => {
            let mut found = serde_json::Map::new();
            let (want_model, want_offer) = match url.as_deref() {
                Some(u) => {
                    let (m, o) = super::dotted(u, None);
                    (m, (!o.is_empty()).then_some(o))
                }
                None => (None, None),
            };
            for name in registry.list()? {
                if want_model.as_deref().is_some_and(|m| m != name) {
                    continue;
                }
                let Ok(model) = registry.open(Some(&name)) else {
                    continue;
                };
                for o in model.offers()? {
                    if want_offer.as_deref().is_some_and(|w| w != o.name) {
                        continue;
                    }
                    found.insert(
                        format!("{}:{}", status::CONTROLLER, o.url),
                        json!({
                            "access": "admin",
                            "endpoints": status::endpoints_json(&o.endpoints),
                            "users": {"admin": {"display-name": "admin", "access": "admin"}},
                        }),
                    );
                }
            }
            print(&Value::Object(found), out.format)?;
        }
        Verb::Consume { url, alias } => {
            let model = open(&registry, target)?;
            let _lock = model.lock()?;
            let saas = model.consume(&url, alias.as_deref())?;
            eprintln!(
                "Added {}:admin/{}.{} as {}",
                status::CONTROLLER,
                saas.model_name,
                saas.offer,
                saas.name
            );
        }
        Verb::RemoveSaas { names, .. } => {
            let model = open(&registry, target)?;
            for n in &names {
                change(&model, |m| Ok(m.remove_saas(n)?))?;
            }
            spawn_peers(&registry, &model)?;
        }
        Verb::LocalSettle => {
            let model = open(&registry, target)?;
            background::run(model)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the settlers of the models related to `model` across models: a change here (a
/// relation to an offer made or removed) gives them work once synced.
fn spawn_peers(registry: &Registry, model: &Model) -> anyhow::Result<()> {
    spawn_models(registry, model.peer_models()?)
}

/// Starts the settlers of the models named (those that still exist).
fn spawn_models(registry: &Registry, names: Vec<String>) -> anyhow::Result<()> {
    for name in names {
        if let Ok(model) = registry.open(Some(&name)) {
            background::spawn(&model)?;
        }
    }
    Ok(())
}

/// Records one change under the change lock, then leaves the hooks to the settler.
fn change(
    model: &Arc<Model>,
    record: impl FnOnce(&Model) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    {
        let _lock = model.lock()?;
        record(model)?;
    }
    background::spawn(model)
}

/// `destroy-model`: ends the settler (its hooks are killed), then destroys the model and waits
/// until no settler is left, so nothing of the model runs afterwards.
fn destroy_model(registry: &Registry, name: &str, timeout: Option<String>) -> anyhow::Result<()> {
    let name = super::model_name(name);
    let wait = LockWait {
        timeout: timeout
            .as_deref()
            .map(|t| tasks::wait_for(Some(t)))
            .transpose()?,
        notice: None,
    };
    let mut peers = Vec::new();
    if let Ok(model) = registry.open(Some(name)) {
        stop_settler(&model);
        peers = model.peer_models().unwrap_or_default();
    }
    registry.destroy_with(name, wait)?;
    // Models related to it across models end their side of those relations.
    spawn_models(registry, peers)?;
    eprintln!("Model {name:?} destroyed");
    Ok(())
}

/// Sends SIGTERM to the model's settler (checked to be one: its command line names
/// `local-settle` and the model) and waits up to 10 s for it to go.
fn stop_settler(model: &Model) {
    let Some(pid) = background::holder(model) else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let ours = args.contains(&&b"local-settle"[..]) && args.contains(&model.name().as_bytes());
    if !ours {
        return;
    }
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while background::held(model) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn split_commas(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `--config` of `deploy`: `key=value` items, or a YAML file (`app: {key: value}` or flat).
fn deploy_config(items: &[String], app: Option<&str>) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in items {
        if item.contains('=') {
            out.extend(pairs(std::slice::from_ref(item))?);
        } else {
            out.extend(config_file(Path::new(item), app.unwrap_or_default())?);
        }
    }
    Ok(out)
}

/// Settings from a YAML file: `{app: {key: value}}` (Juju's form) or a flat map.
fn config_file(path: &Path, app: &str) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let map: serde_json::Map<String, Value> = serde_norway::from_str(&text)
        .with_context(|| format!("{} is not a YAML map of settings", path.display()))?;
    let flat = match map.get(app) {
        Some(Value::Object(inner)) => inner.clone(),
        _ => map,
    };
    Ok(flat
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect())
}

/// `config APP`: Juju's `settings` map, `value` omitted when unset.
fn show_config(
    model: &Model,
    app: &str,
    key: Option<&str>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let cfg = model.config(app)?;
    if let Some(key) = key {
        let entry = cfg
            .get(key)
            .with_context(|| format!("key {key:?} not found in {app:?} application config"))?;
        match &entry.value {
            Some(Value::String(s)) => println!("{s}"),
            Some(v) => println!("{v}"),
            None => println!(),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let charm = model
        .status()?
        .applications
        .into_iter()
        .find(|a| a.name == app)
        .map(|a| a.charm)
        .unwrap_or_default();
    let settings: BTreeMap<String, Value> = cfg
        .into_iter()
        .map(|(k, e)| {
            let mut s = json!({
                "type": e.kind,
                "source": if e.default { "default" } else { "user" },
            });
            if let Some(v) = e.value {
                s["value"] = v.clone();
                if e.default {
                    s["default"] = v;
                }
            }
            (k, s)
        })
        .collect();
    print(
        &json!({"application": app, "charm": charm, "settings": settings}),
        format,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `secrets`: keyed by the secret's id (its URI without `secret:`), with Juju's fields.
fn secrets(model: &Model, owner: Option<&str>) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for s in model.secrets()? {
        if owner.is_some_and(|o| o != s.owner) {
            continue;
        }
        let details = model.show_secret(&s.uri, model::ShowSecret::default())?;
        for (id, d) in details {
            let mut v = serde_json::to_value(d)?;
            v["owner"] = json!(s.owner);
            let key = id.strip_prefix("secret:").unwrap_or(&id).to_owned();
            out.insert(key, v);
        }
    }
    Ok(Value::Object(out))
}

/// `content` as Juju prints it with `--reveal`: `{"Data": {...}}`.
fn wrap_content(value: &mut Value) {
    if let Value::Object(secrets) = value {
        for s in secrets.values_mut() {
            if let Some(c) = s.get_mut("content") {
                if c.get("Data").is_none() {
                    *c = json!({ "Data": c.take() });
                }
            }
        }
    }
}

/// `remove-unit APP --num-units N`: the application's N newest units.
fn newest_units(model: &Model, apps: &[String], n: usize) -> anyhow::Result<Vec<String>> {
    let [app] = apps else {
        bail!("--num-units takes one application");
    };
    let st = model.status()?;
    let a = st
        .applications
        .iter()
        .find(|a| &a.name == app)
        .with_context(|| format!("application {app:?} not found"))?;
    let mut units: Vec<(u64, String)> = a
        .units
        .iter()
        .filter_map(|u| {
            let n = u.name.rsplit_once('/')?.1.parse().ok()?;
            Some((n, u.name.clone()))
        })
        .collect();
    units.sort();
    Ok(units.into_iter().rev().take(n).map(|(_, u)| u).collect())
}

/// `unit-app-0` or `app/0` to `app/0`.
fn entity_unit(entity: &str) -> String {
    match entity.strip_prefix("unit-") {
        Some(rest) => match rest.rsplit_once('-') {
            Some((app, n)) => format!("{app}/{n}"),
            None => rest.to_owned(),
        },
        None => entity.to_owned(),
    }
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// A charm to deploy: a path as given, else a Charmhub name looked up in the local map.
fn charm_path(registry: &Registry, charm: &str) -> anyhow::Result<PathBuf> {
    let path = Path::new(charm);
    let looks_like_path = charm.contains('/') || charm.ends_with(".charm") || path.exists();
    if looks_like_path {
        return Ok(path.to_path_buf());
    }
    let map_file = std::env::var_os(CHARM_MAP_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| registry.root().join("charmhub.yaml"));
    let map: BTreeMap<String, PathBuf> = match std::fs::read_to_string(&map_file) {
        Ok(text) => serde_norway::from_str(&text).with_context(|| {
            format!("{} is not a YAML map of names to paths", map_file.display())
        })?,
        Err(_) => BTreeMap::new(),
    };
    match map.get(charm) {
        Some(p) => Ok(p.clone()),
        None => bail!(
            "charm {charm:?} is not a path, and the local model has no Charmhub: map the name to a charm path in {} (or ${CHARM_MAP_ENV})",
            map_file.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_name_units() {
        assert_eq!(entity_unit("unit-tls-demo-0"), "tls-demo/0");
        assert_eq!(entity_unit("tls-demo/3"), "tls-demo/3");
    }

    #[test]
    fn comma_lists_split() {
        assert_eq!(
            split_commas(&["a,b".into(), " c ".into()]),
            vec!["a".to_owned(), "b".into(), "c".into()]
        );
    }

    #[test]
    fn revealed_content_is_wrapped_once() {
        let mut v = json!({"id1": {"content": {"k": "v"}}});
        wrap_content(&mut v);
        wrap_content(&mut v);
        assert_eq!(v, json!({"id1": {"content": {"Data": {"k": "v"}}}}));
    }
}
