//! The `juju` command line this front end accepts: Juju's verb names and flags, as jubilant and
//! people type them. Flags that only mean something on a cloud (`--base`, `--channel`,
//! `--constraints`, `--trust`, `--to`, …) are accepted and ignored, so unmodified test code
//! runs; each is listed in `docs/juju-front-end.md`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `juju`, answered by the local model.
#[derive(Debug, Parser)]
#[command(
    name = "juju",
    about = "Juju's CLI, answered by the juju-tls local model",
    disable_version_flag = true
)]
pub(crate) struct JujuCli {
    #[command(subcommand)]
    pub(super) verb: Verb,
    /// Model: `NAME`, `user/NAME` or `controller:[user/]NAME` (default: the current model).
    #[arg(short = 'm', long = "model", global = true)]
    pub(super) model: Option<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum Format {
    /// Human-readable (YAML for most verbs here).
    #[default]
    Tabular,
    /// YAML.
    Yaml,
    /// JSON, as jubilant reads it.
    Json,
}

/// `--format` on a reading verb.
#[derive(Debug, Args)]
pub(crate) struct Output {
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = Format::Tabular)]
    pub(super) format: Format,
}

/// Flags of a cloud Juju that the local model accepts and ignores.
#[derive(Debug, Args, Default)]
pub(crate) struct Ignored {
    #[arg(long, hide = true)]
    base: Option<String>,
    #[arg(long, hide = true)]
    channel: Option<String>,
    #[arg(long, hide = true)]
    revision: Option<String>,
    #[arg(long, hide = true)]
    constraints: Vec<String>,
    #[arg(long, hide = true)]
    trust: bool,
    #[arg(long, hide = true)]
    force: bool,
    #[arg(long, hide = true)]
    to: Vec<String>,
    #[arg(long, hide = true)]
    bind: Option<String>,
    #[arg(long, hide = true)]
    resource: Vec<String>,
    #[arg(long, hide = true)]
    storage: Vec<String>,
    #[arg(long = "attach-storage", hide = true)]
    attach_storage: Vec<String>,
    #[arg(long, hide = true)]
    overlay: Vec<String>,
    #[arg(long = "destroy-storage", hide = true)]
    destroy_storage: bool,
    #[arg(long = "no-prompt", hide = true)]
    no_prompt: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Verb {
    /// Add a model (a real-time one: timers fire on the real clock).
    AddModel {
        /// Name.
        name: String,
        /// Cloud (ignored: the local machine).
        cloud: Option<String>,
        /// Do not make it the current model.
        #[arg(long = "no-switch")]
        no_switch: bool,
        /// Controller (ignored).
        #[arg(long, short = 'c')]
        controller: Option<String>,
        /// Model config `key=value` (repeatable).
        #[arg(long = "config")]
        config: Vec<String>,
        /// Credential (ignored).
        #[arg(long)]
        credential: Option<String>,
    },
    /// Destroy a model: its workloads end, its files go.
    DestroyModel {
        /// Name.
        name: String,
        /// Do not ask (there is nothing to ask here).
        #[arg(long = "no-prompt")]
        no_prompt: bool,
        /// Accepted (no storage here).
        #[arg(long = "destroy-storage")]
        destroy_storage: bool,
        /// Accepted (no storage here).
        #[arg(long = "release-storage")]
        release_storage: bool,
        /// Do not wait for hooks in progress (they are ended).
        #[arg(long)]
        force: bool,
        /// Accepted.
        #[arg(long = "no-wait")]
        no_wait: bool,
        /// Give up waiting for the model's locks after this long.
        #[arg(long)]
        timeout: Option<String>,
    },
    /// Show a model.
    ShowModel {
        /// Name (default: the current model or --model).
        name: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// List models.
    Models {
        #[command(flatten)]
        out: Output,
    },
    /// Make a model current.
    Switch {
        /// Name.
        name: String,
    },
    /// Show or set model settings.
    ModelConfig {
        /// `key=value` to set, or one `key` to show.
        items: Vec<String>,
        /// Keys to reset (comma separated, repeatable).
        #[arg(long)]
        reset: Vec<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Show the model's constraints.
    ModelConstraints {
        #[command(flatten)]
        out: Output,
    },
    /// Set the model's constraints (recorded; a local model places nothing).
    SetModelConstraints {
        /// `key=value`.
        items: Vec<String>,
    },
    /// Deploy a charm: a directory, a .charm, or a Charmhub name mapped to a local path.
    Deploy {
        /// Charm path or name.
        charm: String,
        /// Application name.
        app: Option<String>,
        /// Config `key=value` (repeatable), or a YAML file.
        #[arg(long = "config")]
        config: Vec<String>,
        /// Number of units.
        #[arg(long = "num-units", short = 'n', default_value_t = 1)]
        num_units: usize,
        #[command(flatten)]
        ignored: Ignored,
    },
    /// Relate two applications.
    Integrate {
        /// `app[:endpoint]`.
        a: String,
        /// `app[:endpoint]`.
        b: String,
        /// Accepted (cross-model networking).
        #[arg(long)]
        via: Vec<String>,
    },
    /// Remove a relation.
    RemoveRelation {
        /// `app[:endpoint]`.
        a: String,
        /// `app[:endpoint]`.
        b: String,
        #[command(flatten)]
        ignored: Ignored,
    },
    /// Add units.
    AddUnit {
        /// Application.
        app: String,
        /// How many.
        #[arg(long = "num-units", short = 'n', default_value_t = 1)]
        num_units: usize,
        #[command(flatten)]
        ignored: Ignored,
    },
    /// Remove units.
    RemoveUnit {
        /// Units (`app/n`), or an application with `--num-units`.
        #[arg(required = true)]
        units: Vec<String>,
        /// With an application name: remove this many of its units (newest first).
        #[arg(long = "num-units")]
        num_units: Option<usize>,
        #[command(flatten)]
        ignored: Ignored,
    },
    /// Remove applications.
    RemoveApplication {
        /// Applications.
        #[arg(required = true)]
        apps: Vec<String>,
        #[command(flatten)]
        ignored: Ignored,
    },
    /// Replace an application's charm.
    Refresh {
        /// Application.
        app: String,
        /// The new charm.
        #[arg(long)]
        path: Option<PathBuf>,
        /// Config `key=value` (repeatable).
        #[arg(long = "config")]
        config: Vec<String>,
        /// Accepted.
        #[arg(long = "force-base")]
        force_base: bool,
        /// Accepted.
        #[arg(long = "force-units")]
        force_units: bool,
        #[command(flatten)]
        ignored: Ignored,
    },
    /// Show or set an application's config.
    Config {
        /// Application.
        app: String,
        /// `key=value` to set, or one `key` to show.
        items: Vec<String>,
        /// Keys to reset (comma separated, repeatable).
        #[arg(long)]
        reset: Vec<String>,
        /// Read `key: value` settings from a YAML file (`app: {key: value}` or flat).
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        out: Output,
    },
    /// Run an action and wait for it.
    Run {
        /// Unit (`app/n` or `app/leader`).
        unit: String,
        /// Action.
        action: String,
        /// Parameters `key=value`.
        params: Vec<String>,
        /// Parameters from a YAML file.
        #[arg(long = "params")]
        params_file: Option<PathBuf>,
        /// Give up after this long (`60s`).
        #[arg(long)]
        wait: Option<String>,
        /// Do not wait: print the task id.
        #[arg(long = "background")]
        background: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Run a command as a hook of a unit (hook tools available).
    Exec {
        /// Unit (`app/n` or `app/leader`).
        #[arg(long)]
        unit: Vec<String>,
        /// Machines (none here).
        #[arg(long)]
        machine: Vec<String>,
        /// Give up after this long (`60s`).
        #[arg(long)]
        wait: Option<String>,
        #[command(flatten)]
        out: Output,
        /// Command and arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Show the model.
    Status {
        /// Filters (ignored).
        filters: Vec<String>,
        /// Accepted.
        #[arg(long)]
        relations: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Show a unit.
    ShowUnit {
        /// Unit.
        unit: String,
        #[command(flatten)]
        out: Output,
    },
    /// List secrets.
    Secrets {
        /// Only this owner (`application-x`, `unit-x-0`, `model`).
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Show a secret.
    ShowSecret {
        /// URI, id or name.
        secret: String,
        /// Include the content.
        #[arg(long)]
        reveal: bool,
        /// Include every revision.
        #[arg(long)]
        revisions: bool,
        /// One revision.
        #[arg(long)]
        revision: Option<i64>,
        #[command(flatten)]
        out: Output,
    },
    /// Add a user secret.
    AddSecret {
        /// Name.
        name: String,
        /// `key=value` content.
        content: Vec<String>,
        /// Description.
        #[arg(long)]
        info: Option<String>,
        /// YAML file of content.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Update a user secret.
    UpdateSecret {
        /// URI, id or name.
        secret: String,
        /// `key=value` content.
        content: Vec<String>,
        /// Description.
        #[arg(long)]
        info: Option<String>,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// YAML file of content.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Remove revisions nobody reads.
        #[arg(long = "auto-prune")]
        auto_prune: Option<bool>,
    },
    /// Let applications read a user secret.
    GrantSecret {
        /// URI, id or name.
        secret: String,
        /// Applications, comma separated.
        apps: String,
    },
    /// Stop applications reading a user secret.
    RevokeSecret {
        /// URI, id or name.
        secret: String,
        /// Applications, comma separated.
        apps: String,
    },
    /// Remove a user secret or one revision.
    RemoveSecret {
        /// URI, id or name.
        secret: String,
        /// Only this revision.
        #[arg(long)]
        revision: Option<i64>,
    },
    /// Print the model's log and exit.
    DebugLog {
        /// Lines.
        #[arg(long, short = 'n', default_value_t = 10)]
        limit: usize,
        /// Accepted (everything is replayed).
        #[arg(long)]
        replay: bool,
        /// Only this entity (`unit-app-0` or `app/0`).
        #[arg(long, short = 'i')]
        include: Vec<String>,
        /// Accepted.
        #[arg(long)]
        level: Option<String>,
        /// Accepted.
        #[arg(long = "no-tail")]
        no_tail: bool,
    },
    /// Print the version.
    Version {
        /// Every detail.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Offer endpoints of an application to other models: `offer [MODEL.]APP:EP[,EP] [NAME]`.
    Offer {
        /// `[MODEL.]APP:ENDPOINT[,ENDPOINT...]`.
        endpoints: String,
        /// The offer's name (default: the application's).
        name: Option<String>,
        /// Accepted (one controller).
        #[arg(long, short = 'c')]
        controller: Option<String>,
    },
    /// Withdraw offers (`--force` also removes the relations using them).
    RemoveOffer {
        /// Offer names or URLs (`[owner/]MODEL.OFFER`).
        #[arg(required = true)]
        offers: Vec<String>,
        /// Remove the offer's relations too.
        #[arg(long)]
        force: bool,
        /// Accepted.
        #[arg(long, short = 'y', alias = "no-prompt")]
        yes: bool,
    },
    /// List the model's offers.
    Offers {
        /// Only this offer.
        name: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Find offers of every model (`--url [owner/]MODEL.OFFER` for one).
    FindOffers {
        /// Only this URL (or the offers of the model it names, `MODEL.`).
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Consume another model's offer: `consume [ctrl:][owner/]MODEL.OFFER [ALIAS]`.
    Consume {
        /// The offer's URL.
        url: String,
        /// Its name in this model (default: the offer's name).
        alias: Option<String>,
    },
    /// Remove consumed offers and their relations.
    RemoveSaas {
        /// SAAS names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Accepted.
        #[arg(long)]
        force: bool,
        /// Accepted.
        #[arg(long, alias = "no-prompt")]
        no_prompt: bool,
    },
    /// Run the model's pending hooks in the background (started by the changing verbs).
    #[command(hide = true, name = "local-settle")]
    LocalSettle,
}
