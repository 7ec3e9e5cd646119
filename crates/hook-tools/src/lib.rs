//! Juju's vocabulary, written once for the charm SDK, the local model and `pack`: the hook-tool
//! command grammar (the SDK produces calls, the model parses them), and the Juju rules both
//! sides apply, so that they cannot drift.
//!
//! # Overview
//!
//! * [`names`]: application, unit and endpoint names with juju/names' rules.
//! * [`action_keys`]: `action-set`'s result-key rule and texts.
//! * [`duration`]: the charm-config and CLI duration dialects.
//! * [`metadata`]: the one charm-metadata reader and the `charmcraft.yaml` renderer.
//!
//! * [`Tool`]: the tools by name; [`Tool::from_argv0`] dispatches a multi-call binary on the
//!   basename of argv\[0\].
//! * [`Call`]: one invocation with typed arguments. [`Call::to_argv`] writes the modern form (close
//!   to ops 3.8+), [`parse_argv`] reads the forms of every ops generation (<= 3.3, 3.4-3.7,
//!   >= 3.8) with gnuflag's rules and returns an [`Invocation`] (call + `--format` + `-o`).
//! * [`settings`]: the YAML/JSON map on stdin of `relation-set --file -` / `state-set --file -`.
//! * [`output`]: the JSON shapes tools print, and Go's JSON rendering.
//! * [`error`]: exit codes, Juju's exact error texts ([`error::msg`]) and their classification
//!   ([`ErrorKind::classify`]), the same rules ops applies.
//!
//! Facts come from `shared/juju-hook-environment.md` and `shared/ops-hook-tool-transcripts.md`
//! (which wins where they differ); comments cite their sections.
//!
//! # Example
//!
//! ```
//! use juju_hook_tools::{Call, Parsed, RelationRef, parse_argv, values::FileArg};
//!
//! // The SDK writes a databag through stdin, never argv.
//! let call = Call::RelationSet {
//!     relation: Some(RelationRef::qualified("certificates", 7)),
//!     app: true,
//!     file: Some(FileArg::Stdin),
//!     settings: vec![],
//! };
//! assert_eq!(call.to_argv(), ["relation-set", "-r", "certificates:7", "--app", "--file", "-"]);
//!
//! // The model reads what ops 3.3 sent: `--app` after the positionals, `--format=json` last.
//! let old = ["/tools/relation-get", "-r", "7", "-", "ca", "--app", "--format=json"];
//! let Ok(Parsed::Run(inv)) = parse_argv(&old) else { panic!() };
//! assert!(matches!(inv.call, Call::RelationGet { app: true, .. }));
//! ```
#![deny(missing_docs)]

pub mod action_keys;
mod call;
pub mod duration;
pub mod error;
mod flags;
mod hook_kind;
pub mod metadata;
pub mod names;
pub mod output;
pub mod settings;
mod tool;
pub mod values;

pub use action_keys::{ActionKeyError, check_action_key};
pub use call::{Call, Invocation, Parsed, SecretMeta, parse_argv};
pub use error::{ErrorKind, ToolError, UsageError};
pub use hook_kind::{ACTION_PREFIX, HookKind, RelationHook, SecretHook, StorageHook};
pub use names::{AppName, Endpoint, NameError, UnitName};
pub use tool::Tool;
pub use values::{RelationRef, SecretUri};

/// The README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
