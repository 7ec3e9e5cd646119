//! The local-model verbs' command line: clap's `Command` and one `Args` struct per verb, with the
//! help text `--help` prints.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Environment variable with the default hook timeout (`300s`, `5m`, `2s`).
pub(super) const HOOK_TIMEOUT_ENV: &str = "JUJU_TLS_HOOK_TIMEOUT";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Add, destroy, list or switch local models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Deploy a charm: a directory, a packed .charm, a charmcraft.yaml source tree, or a Rust charm
    /// source (built with `cargo build --release`).
    Deploy(Deploy),
    /// Add units to an application.
    AddUnit(AddUnit),
    /// Remove units (relations depart, then stop and remove run).
    RemoveUnit(RemoveUnit),
    /// Remove an application and its units.
    RemoveApplication(AppArg),
    /// Replace an application's charm; units keep their state and run upgrade-charm.
    Refresh(Refresh),
    /// Relate two applications: `integrate A[:endpoint] B[:endpoint]`.
    Integrate(Pair),
    /// Remove the relation between two applications.
    RemoveRelation(Pair),
    /// Offer endpoints of an application to other models: `offer APP:EP[,EP] [NAME]`.
    Offer(OfferArgs),
    /// Withdraw an offer (`--force` also removes the relations using it).
    RemoveOffer(RemoveOffer),
    /// List this model's offers and the relations of other models to them.
    Offers(JsonOnly),
    /// Consume another model's offer: `consume [owner/]MODEL.OFFER [ALIAS]`; then `integrate`.
    Consume(ConsumeArgs),
    /// Remove a consumed offer and its relations.
    RemoveSaas(AppArg),
    /// Show an application's config, or set `key=value` options.
    Config(Config),
    /// Run an action on a unit and print its results (non-zero exit when it failed).
    Run(Run),
    /// Show applications, units, relations and the virtual time.
    Status(Status),
    /// Show a unit's relations and the databags it sees.
    ShowUnit(ShowUnit),
    /// List the model's secrets (charm secrets and user secrets, owner `<model>`).
    Secrets(JsonOnly),
    /// Add a user secret (owned by the model) and print its URI.
    AddSecret(AddSecret),
    /// Update a user secret: new content makes a new revision; consumers get secret-changed.
    UpdateSecret(UpdateSecret),
    /// Let applications read a user secret.
    GrantSecret(GrantRevokeSecret),
    /// Stop applications reading a user secret.
    RevokeSecret(GrantRevokeSecret),
    /// Remove a user secret, or one of its revisions, and its content.
    RemoveSecret(RemoveSecret),
    /// Show a secret's details (its content with --reveal).
    ShowSecret(ShowSecret),
    /// Show juju-log lines (or, with --hooks, every hook run with its output).
    DebugLog(DebugLog),
    /// Move the virtual clock forward (`30d`, `12h`, `90m`) and run what became due.
    Advance(Advance),
    /// Run pending hooks until the model settles; non-zero exit naming the failed hook.
    Wait(WaitArgs),
    /// Retry the failed hook of a unit in error.
    Resolve(UnitArg),
    /// LOCAL MODEL ONLY (tests): hand leadership to a unit. Juju never lets anyone choose.
    SetLeader(UnitArg),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {
    /// Create a model and make it current.
    Add {
        /// Model name.
        name: String,
    },
    /// End every workload of a model and delete it.
    Destroy {
        /// Model name.
        name: String,
        /// Give up waiting for the model's locks after this long (`30s`, `5m`, a bare number is
        /// seconds; default: wait).
        #[arg(long)]
        timeout: Option<String>,
    },
    /// List models; `*` marks the current one.
    List,
    /// Make a model current.
    Switch {
        /// Model name.
        name: String,
    },
}

/// `-m/--model`, on every verb.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// Model to act on (default: the current model).
    #[arg(short = 'm', long = "model", global = true)]
    pub(super) model: Option<String>,
}

/// How a changing verb runs the hooks it caused.
#[derive(Debug, Args)]
pub(crate) struct Settle {
    /// Record the change only; run hooks later with `wait`.
    #[arg(long)]
    pub(super) no_wait: bool,
    /// One hook at a time in queue order (deterministic; for tests).
    #[arg(long)]
    pub(super) serial: bool,
    /// Hooks running at once (default: the number of cores).
    #[arg(long)]
    pub(super) jobs: Option<usize>,
    /// Kill a hook running longer than this (`300s`, `5m`, a bare number is seconds; default
    /// $JUJU_TLS_HOOK_TIMEOUT or 5m).
    #[arg(long)]
    pub(super) hook_timeout: Option<String>,
    /// Give up waiting for the model's locks after this long (`30s`, `5m`, a bare number is
    /// seconds; default: wait).
    #[arg(long)]
    pub(super) timeout: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct Deploy {
    /// Charm directory, .charm file, or charm source tree.
    pub(super) charm: PathBuf,
    /// Application name (default: the charm's name).
    pub(super) app: Option<String>,
    /// Number of units.
    #[arg(short = 'n', long = "num-units", default_value_t = 1)]
    pub(super) num_units: usize,
    /// Config option `key=value` (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub(super) config: Vec<String>,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct AddUnit {
    /// Application.
    pub(super) app: String,
    /// Number of units to add.
    #[arg(short = 'n', long = "num-units", default_value_t = 1)]
    pub(super) num_units: usize,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveUnit {
    /// Units (`app/n`).
    #[arg(required = true)]
    pub(super) units: Vec<String>,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct AppArg {
    /// Application.
    pub(super) app: String,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct UnitArg {
    /// Unit (`app/n`).
    pub(super) unit: String,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct Refresh {
    /// Application.
    pub(super) app: String,
    /// The new charm (directory or .charm).
    #[arg(long)]
    pub(super) path: PathBuf,
    /// Config option `key=value` (repeatable), checked against the new charm's options.
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub(super) config: Vec<String>,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct Pair {
    /// `app` or `app:endpoint`.
    pub(super) a: String,
    /// `app` or `app:endpoint`.
    pub(super) b: String,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct OfferArgs {
    /// `APP:ENDPOINT[,ENDPOINT...]` (`MODEL.APP:...` names the model too).
    pub(super) endpoints: String,
    /// The offer's name (default: the application's).
    pub(super) name: Option<String>,
    #[command(flatten)]
    pub(super) target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveOffer {
    /// Offer name (or URL `[owner/]MODEL.OFFER`).
    pub(super) offer: String,
    /// Also remove the relations of consuming models to it.
    #[arg(long)]
    pub(super) force: bool,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct ConsumeArgs {
    /// Offer URL: `[controller:][owner/]MODEL.OFFER`.
    pub(super) url: String,
    /// Name of the consumed offer in this model (default: the offer's name).
    pub(super) alias: Option<String>,
    #[command(flatten)]
    pub(super) target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct Config {
    /// Application.
    pub(super) app: String,
    /// `key=value` to set; none shows the config.
    #[arg(value_name = "KEY=VALUE")]
    pub(super) pairs: Vec<String>,
    /// Options to reset to their defaults.
    #[arg(long, value_delimiter = ',')]
    pub(super) reset: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct Run {
    /// Unit.
    pub(super) unit: String,
    /// Action name.
    pub(super) action: String,
    /// Parameters `key=value` (values parsed as YAML scalars, like Juju).
    #[arg(value_name = "KEY=VALUE")]
    pub(super) params: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct Status {
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct ShowUnit {
    /// Unit.
    pub(super) unit: String,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct JsonOnly {
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct DebugLog {
    /// Only this unit.
    #[arg(long)]
    pub(super) unit: Option<String>,
    /// Number of lines.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub(super) lines: usize,
    /// Show hook runs (exit code, time, output) instead of juju-log lines.
    #[arg(long)]
    pub(super) hooks: bool,
    /// Print JSON.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) target: Target,
}

#[derive(Debug, Args)]
pub(crate) struct Advance {
    /// How far, in the CLI dialect: `30d`, `12h`, `90m`, `45s`, sums like `1d12h` (a bare
    /// number is refused: `90` is no unit).
    pub(super) duration: String,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct AddSecret {
    /// The secret's name, unique in the model.
    pub(super) name: String,
    /// Content: `key=value`, `key#base64=VALUE` (already base64), `key#file=PATH` (read now).
    #[arg(value_name = "KEY[#base64|#file]=VALUE")]
    pub(super) content: Vec<String>,
    /// The secret description.
    #[arg(long)]
    pub(super) info: Option<String>,
    /// A YAML file containing secret key values.
    #[arg(long)]
    pub(super) file: Option<PathBuf>,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateSecret {
    /// The secret's URI or name.
    pub(super) secret: String,
    /// New content: `key=value`, `key#base64=VALUE`, `key#file=PATH`.
    #[arg(value_name = "KEY[#base64|#file]=VALUE")]
    pub(super) content: Vec<String>,
    /// The secret description.
    #[arg(long)]
    pub(super) info: Option<String>,
    /// The new secret name.
    #[arg(long)]
    pub(super) name: Option<String>,
    /// A YAML file containing secret key values.
    #[arg(long)]
    pub(super) file: Option<PathBuf>,
    /// Delete revisions no consumer tracks any more (`--auto-prune=false` to stop).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub(super) auto_prune: Option<bool>,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct GrantRevokeSecret {
    /// The secret's URI or name.
    pub(super) secret: String,
    /// Applications, comma separated.
    #[arg(value_name = "APP[,APP...]", value_delimiter = ',', required = true)]
    pub(super) apps: Vec<String>,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveSecret {
    /// The secret's URI or name.
    pub(super) secret: String,
    /// Remove only this revision.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub(super) revision: Option<i64>,
    #[command(flatten)]
    pub(super) target: Target,
    #[command(flatten)]
    pub(super) settle: Settle,
}

#[derive(Debug, Args)]
pub(crate) struct ShowSecret {
    /// The secret's URI, name or label.
    pub(super) secret: String,
    /// Show the content.
    #[arg(long)]
    pub(super) reveal: bool,
    /// Show every revision's metadata.
    #[arg(long, conflicts_with = "reveal")]
    pub(super) revisions: bool,
    /// The revision whose content --reveal shows (default: the latest).
    #[arg(short = 'r', long, conflicts_with = "revisions", value_parser = clap::value_parser!(i64).range(1..))]
    pub(super) revision: Option<i64>,
    /// Output format.
    #[arg(long, default_value = "yaml", value_parser = ["yaml", "json"])]
    pub(super) format: String,
    #[command(flatten)]
    pub(super) target: Target,
}
