//! Charm metadata: endpoints, config options and actions, from `charmcraft.yaml` (a source tree,
//! rendered as `charmcraft pack` does) or `metadata.yaml` + `config.yaml` + `actions.yaml` (a
//! packed charm, which is what Juju unpacks into the charm directory; §2.1). The reader is the
//! vocabulary's (`hook_tools::metadata`), the one the local model and `pack` use too.
//!
//! The SDK needs it to know which endpoints are peers (the read rule of the own app bag differs,
//! §7.1), the config defaults (for the test harness) and the declared actions.

pub use hook_tools::metadata::{
    ActionMeta, CharmMeta, ConfigOption, EndpointMeta, MetadataError, Role,
};
