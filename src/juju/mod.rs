//! The `juju` front end: `juju-tls` invoked as `juju` (a link first on `PATH`) answers Juju's
//! CLI from the local model, so tests written for a real controller with `jubilant` run here
//! unmodified.
//!
//! What differs from the `juju-tls` verbs, on purpose, to match Juju:
//! * changing verbs return once the change is recorded; hooks run in a background settler
//!   ([`background`]) and failures surface in `status`;
//! * models added here follow the real clock (timers fire when due, no `advance` needed);
//! * output shapes are Juju's (`--format json`), errors are `ERROR <message>` on stderr.

mod args;
mod background;
mod status;
mod tasks;
mod verbs;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use model::{Model, Registry};

use args::{Format, JujuCli};

/// Whether argv\[0\] asks for the `juju` front end.
pub(crate) fn invoked_as_juju(argv0: &str) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .is_some_and(|n| n == "juju")
}

/// Runs `juju ARGS`, printing errors as Juju does.
pub(crate) fn run(argv: Vec<String>) -> ExitCode {
    let cli = match JujuCli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code.clamp(0, 255) as u8);
        }
    };
    match verbs::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ERROR {err:#}");
            ExitCode::from(1)
        }
    }
}

/// A model name as Juju accepts it: `[controller:][user/]name`, reduced to `name`.
pub(crate) fn model_name(text: &str) -> &str {
    let after_controller = text.rsplit_once(':').map_or(text, |(_, m)| m);
    after_controller
        .rsplit_once('/')
        .map_or(after_controller, |(_, m)| m)
}

/// `[ctrl:][owner/]MODEL.NAME` as a model and a name (offers, `offer MODEL.APP`); a plain
/// name's model is `target`.
pub(crate) fn dotted(spec: &str, target: Option<&str>) -> (Option<String>, String) {
    let spec = spec.split_once(':').map_or(spec, |(_, rest)| rest);
    match spec.split_once('.') {
        Some((model, name)) => (Some(model_name(model).to_owned()), name.to_owned()),
        None => (target.map(|t| model_name(t).to_owned()), spec.to_owned()),
    }
}

/// Opens the model `--model` names, or the current one.
fn open(registry: &Registry, model: Option<&str>) -> anyhow::Result<Arc<Model>> {
    Ok(Arc::new(registry.open(model.map(model_name))?))
}

/// Prints a value in the format asked for (YAML for the human formats).
fn print(value: &serde_json::Value, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string(value)?),
        Format::Yaml | Format::Tabular => print!("{}", serde_norway::to_string(value)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_lose_controller_and_owner() {
        assert_eq!(model_name("dev"), "dev");
        assert_eq!(model_name("admin/dev"), "dev");
        assert_eq!(model_name("local:dev"), "dev");
        assert_eq!(model_name("local:admin/dev"), "dev");
    }

    #[test]
    fn only_the_name_juju_selects_the_front_end() {
        assert!(invoked_as_juju("/home/u/bin/juju"));
        assert!(invoked_as_juju("juju"));
        assert!(!invoked_as_juju("/usr/bin/juju-tls"));
        assert!(!invoked_as_juju("jujuc"));
    }

    #[test]
    fn jubilants_argument_orders_parse() {
        for argv in [
            &["juju", "status", "--model", "m", "--format", "json"][..],
            &["juju", "status", "--model", "m", "--format=json"],
            &[
                "juju", "run", "--model", "m", "--format", "json", "a/0", "go", "--wait", "60s",
            ],
            &[
                "juju",
                "remove-unit",
                "--model",
                "m",
                "--no-prompt",
                "a/1",
                "a/2",
            ],
            &[
                "juju",
                "deploy",
                "--model",
                "m",
                "./c.charm",
                "app",
                "--base",
                "ubuntu@22.04",
                "--config",
                "a=b",
                "--num-units",
                "2",
                "--trust",
            ],
            &[
                "juju", "exec", "--model", "m", "--format", "json", "--unit", "a/0", "--", "ls",
                "-l",
            ],
            &[
                "juju",
                "destroy-model",
                "m",
                "--no-prompt",
                "--destroy-storage",
                "--force",
            ],
            &["juju", "add-model", "--no-switch", "m"],
            &["juju", "config", "--model", "m", "--format", "json", "app"],
            &["juju", "version", "--format", "json", "--all"],
        ] {
            assert!(JujuCli::try_parse_from(argv).is_ok(), "{argv:?}");
        }
    }
}
