//! Which Ubuntu bases a charm binary can run on, decided from the glibc it needs.
//!
//! A Rust charm is one dynamically linked executable (static glibc would defeat `libfaketime`, the
//! local model's virtual clock), so the base's glibc must be at least the newest symbol version
//! the binary needs. Ubuntu 24.04 is always declared (the project's base); 22.04 is added only
//! when the binary needs nothing newer than its glibc 2.35, so a charm never lands on a machine
//! where its binary would not start.

use std::fmt;

use anyhow::bail;

use super::elf::GlibcVersion;

/// A Juju base as `manifest.yaml` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    /// Distribution (`ubuntu`).
    pub(crate) name: String,
    /// Release (`24.04`).
    pub(crate) channel: String,
    /// Juju architecture names (`amd64`).
    pub(crate) architectures: Vec<String>,
}

impl fmt::Display for Base {
    /// The form charmcraft uses in `.charm` file names: `ubuntu-24.04-amd64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}",
            self.name,
            self.channel,
            self.architectures.join("-")
        )
    }
}

/// The Ubuntu LTS releases a charm may declare, oldest first, with the glibc each ships.
const UBUNTU: &[(&str, GlibcVersion, bool)] = &[
    // (channel, glibc, always declared)
    ("22.04", GlibcVersion::new(2, 35), false),
    ("24.04", GlibcVersion::new(2, 39), true),
];

/// The bases for a binary of `architecture` that needs glibc `needed`, oldest first; an error
/// when even the always-declared base's glibc is too old for it.
pub(crate) fn for_glibc(needed: GlibcVersion, architecture: &str) -> anyhow::Result<Vec<Base>> {
    let mut bases = Vec::new();
    for &(channel, shipped, required) in UBUNTU {
        if needed <= shipped {
            bases.push(Base {
                name: "ubuntu".to_owned(),
                channel: channel.to_owned(),
                architectures: vec![architecture.to_owned()],
            });
        } else if required {
            bail!(
                "the charm binary needs {needed}, newer than the glibc of ubuntu {channel} \
                 ({shipped}): build it on an older system"
            );
        }
    }
    Ok(bases)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(glibc: &str) -> anyhow::Result<Vec<String>> {
        let needed = GlibcVersion::from_symbol_version(glibc).unwrap();
        Ok(for_glibc(needed, "amd64")?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    #[test]
    fn old_enough_glibc_runs_on_22_04_too() {
        let both = vec!["ubuntu-22.04-amd64", "ubuntu-24.04-amd64"];
        assert_eq!(bases("GLIBC_2.34").unwrap(), both);
        assert_eq!(bases("GLIBC_2.35").unwrap(), both);
    }

    #[test]
    fn newer_glibc_is_24_04_only() {
        assert_eq!(bases("GLIBC_2.36").unwrap(), vec!["ubuntu-24.04-amd64"]);
        assert_eq!(bases("GLIBC_2.39").unwrap(), vec!["ubuntu-24.04-amd64"]);
    }

    #[test]
    fn too_new_is_refused() {
        let err = bases("GLIBC_2.40").unwrap_err().to_string();
        assert!(err.contains("GLIBC_2.40") && err.contains("24.04"), "{err}");
    }
}
