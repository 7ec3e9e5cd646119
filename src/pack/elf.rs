//! Reads what a charm binary asks of the machine it runs on: its CPU architecture and the newest
//! glibc symbol version it needs.
//!
//! The glibc versions come from the ELF version-needs section (`.gnu.version_r`), the table the
//! dynamic loader checks before running anything: a binary that needs `GLIBC_2.39` does not start
//! on a system with glibc 2.35, whatever code paths it takes. That table is what `objdump -T`
//! shows next to each imported symbol, so this and `objdump` agree by construction; reading it
//! here keeps `pack` free of binutils.

use std::fmt;

use anyhow::{Context as _, bail};

/// `SHT_GNU_verneed`: the section type of `.gnu.version_r`.
const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;

/// A glibc symbol version such as `GLIBC_2.2.5`, compared numerically (2.10 > 2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct GlibcVersion {
    /// Major, minor and patch (`0` when the name has no patch part).
    parts: [u32; 3],
}

impl GlibcVersion {
    /// A version from its major and minor numbers (`2`, `35`).
    pub(crate) const fn new(major: u32, minor: u32) -> Self {
        Self {
            parts: [major, minor, 0],
        }
    }

    /// Parses a version-need name: `GLIBC_2.35` or `GLIBC_2.2.5`; `None` for anything else
    /// (`GLIBC_PRIVATE`, `GCC_3.0`, …), which says nothing about the glibc release.
    pub(crate) fn from_symbol_version(name: &str) -> Option<Self> {
        let numbers = name.strip_prefix("GLIBC_")?;
        let mut parts = [0u32; 3];
        let mut count = 0;
        for piece in numbers.split('.') {
            if count == parts.len()
                || piece.is_empty()
                || !piece.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            parts[count] = piece.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(Self { parts })
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.parts;
        write!(f, "GLIBC_{major}.{minor}")?;
        if patch != 0 {
            write!(f, ".{patch}")?;
        }
        Ok(())
    }
}

/// What the packer needs to know about a charm binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BinaryInfo {
    /// Juju's name of the CPU architecture (`amd64`, `arm64`, …).
    pub(crate) architecture: &'static str,
    /// The newest `GLIBC_x.y` version the binary needs; `None` when it needs none (a static or
    /// non-glibc binary).
    pub(crate) glibc: Option<GlibcVersion>,
}

/// Reads the architecture and glibc needs of an ELF64 executable (either byte order).
pub(crate) fn inspect(bytes: &[u8]) -> anyhow::Result<BinaryInfo> {
    let elf = Elf::parse(bytes)?;
    let architecture = match elf.machine {
        62 => "amd64",
        183 => "arm64",
        21 if !elf.big_endian => "ppc64el",
        22 => "s390x",
        243 => "riscv64",
        other => bail!("unsupported ELF machine type {other}: Juju has no base for it"),
    };
    let glibc = elf
        .version_needs()?
        .iter()
        .filter_map(|name| GlibcVersion::from_symbol_version(name))
        .max();
    Ok(BinaryInfo {
        architecture,
        glibc,
    })
}

/// The parts of an ELF64 file this module reads, with bounds-checked access to the rest.
struct Elf<'a> {
    bytes: &'a [u8],
    big_endian: bool,
    machine: u16,
    section_offset: usize,
    section_size: usize,
    section_count: usize,
}

/// One section header: where its data is and which section it links to.
struct Section {
    kind: u32,
    offset: usize,
    size: usize,
    link: usize,
    info: usize,
}

impl<'a> Elf<'a> {
    fn parse(bytes: &'a [u8]) -> anyhow::Result<Self> {
        if bytes.get(..4) != Some(b"\x7fELF".as_slice()) {
            bail!("not an ELF file");
        }
        match bytes.get(4) {
            Some(2) => {}
            Some(1) => bail!("a 32-bit ELF file: Juju bases are 64-bit"),
            _ => bail!("ELF file with an unknown class"),
        }
        let big_endian = match bytes.get(5) {
            Some(1) => false,
            Some(2) => true,
            _ => bail!("ELF file with an unknown byte order"),
        };
        let mut elf = Self {
            bytes,
            big_endian,
            machine: 0,
            section_offset: 0,
            section_size: 0,
            section_count: 0,
        };
        elf.machine = elf.u16_at(18)?;
        elf.section_offset = elf.usize_at(0x28, 8)?;
        elf.section_size = usize::from(elf.u16_at(0x3a)?);
        elf.section_count = usize::from(elf.u16_at(0x3c)?);
        if elf.section_count == 0 {
            bail!("the ELF file has no section headers (stripped with sstrip?)");
        }
        if elf.section_size < 64 {
            bail!("ELF section headers of {} bytes", elf.section_size);
        }
        Ok(elf)
    }

    fn section(&self, index: usize) -> anyhow::Result<Section> {
        if index >= self.section_count {
            bail!("ELF section {index} out of range");
        }
        let at = index
            .checked_mul(self.section_size)
            .and_then(|o| o.checked_add(self.section_offset))
            .context("ELF section header offset overflows")?;
        Ok(Section {
            kind: self.u32_at(at + 4)?,
            offset: self.usize_at(at + 24, 8)?,
            size: self.usize_at(at + 32, 8)?,
            link: self.usize_at(at + 40, 4)?,
            info: self.usize_at(at + 44, 4)?,
        })
    }

    /// Every name in the version-needs section: `GLIBC_2.34`, `GCC_3.0`, …
    fn version_needs(&self) -> anyhow::Result<Vec<String>> {
        let mut names = Vec::new();
        for index in 0..self.section_count {
            let section = self.section(index)?;
            if section.kind != SHT_GNU_VERNEED {
                continue;
            }
            let strings = self.section(section.link)?;
            let end = section
                .offset
                .checked_add(section.size)
                .context("ELF version-needs section overflows")?;
            // `sh_info` counts the Verneed entries; each lists `vn_cnt` Vernaux entries.
            let mut need = section.offset;
            for _ in 0..section.info {
                if need >= end {
                    bail!("ELF version-needs entry outside its section");
                }
                let count = self.u16_at(need + 2)?;
                let mut aux = need + self.usize_at(need + 8, 4)?;
                for _ in 0..count {
                    if aux >= end {
                        bail!("ELF version-needs entry outside its section");
                    }
                    let name = self.usize_at(aux + 8, 4)?;
                    names.push(self.string(&strings, name)?);
                    let next = self.usize_at(aux + 12, 4)?;
                    if next == 0 {
                        break;
                    }
                    aux += next;
                }
                let next = self.usize_at(need + 12, 4)?;
                if next == 0 {
                    break;
                }
                need += next;
            }
        }
        Ok(names)
    }

    fn string(&self, table: &Section, at: usize) -> anyhow::Result<String> {
        if at >= table.size {
            bail!("ELF string offset {at} outside its table");
        }
        let start = table.offset + at;
        let rest = self
            .bytes
            .get(start..table.offset.saturating_add(table.size))
            .context("ELF string table outside the file")?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .context("unterminated ELF string")?;
        Ok(String::from_utf8_lossy(&rest[..len]).into_owned())
    }

    fn slice<const N: usize>(&self, at: usize) -> anyhow::Result<[u8; N]> {
        let bytes = at
            .checked_add(N)
            .and_then(|end| self.bytes.get(at..end))
            .context("ELF file truncated")?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u16_at(&self, at: usize) -> anyhow::Result<u16> {
        let b = self.slice::<2>(at)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, at: usize) -> anyhow::Result<u32> {
        let b = self.slice::<4>(at)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// An unsigned field of `width` bytes (4 or 8) as an offset or count.
    fn usize_at(&self, at: usize, width: usize) -> anyhow::Result<usize> {
        let value = if width == 8 {
            let b = self.slice::<8>(at)?;
            if self.big_endian {
                u64::from_be_bytes(b)
            } else {
                u64::from_le_bytes(b)
            }
        } else {
            u64::from(self.u32_at(at)?)
        };
        usize::try_from(value).context("ELF offset does not fit in memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let v = |s| GlibcVersion::from_symbol_version(s).unwrap();
        assert!(v("GLIBC_2.10") > v("GLIBC_2.9"));
        assert!(v("GLIBC_2.2.5") > v("GLIBC_2.2"));
        assert!(v("GLIBC_2.35") <= GlibcVersion::new(2, 35));
        assert!(v("GLIBC_2.36") > GlibcVersion::new(2, 35));
        assert_eq!(v("GLIBC_2.2.5").to_string(), "GLIBC_2.2.5");
        assert_eq!(v("GLIBC_2.34").to_string(), "GLIBC_2.34");
    }

    #[test]
    fn other_version_names_say_nothing_about_glibc() {
        for name in [
            "GLIBC_PRIVATE",
            "GCC_3.0",
            "GLIBC_2",
            "GLIBC_2.",
            "GLIBC_2.x",
            "GLIBC_2.1.2.3",
            "glibc_2.3",
        ] {
            assert_eq!(GlibcVersion::from_symbol_version(name), None, "{name}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_elf64_file() {
        assert!(inspect(b"#!/bin/sh\n").is_err());
        assert!(inspect(b"\x7fELF").is_err());
        let mut elf32 = b"\x7fELF\x01\x01\x01".to_vec();
        elf32.resize(64, 0);
        let err = inspect(&elf32).unwrap_err().to_string();
        assert!(err.contains("32-bit"), "{err}");
    }

    #[test]
    fn truncated_headers_are_an_error_not_a_panic() {
        let mut header = b"\x7fELF\x02\x01\x01".to_vec();
        header.resize(64, 0);
        header[18] = 62; // EM_X86_64
        header[0x3a] = 64; // e_shentsize
        header[0x3c] = 3; // e_shnum, pointing past the end
        header[0x28] = 0xf0; // e_shoff
        assert!(inspect(&header).is_err());
    }

    #[test]
    fn reads_this_test_binary() {
        // The test executable is a dynamically linked glibc program of this machine's
        // architecture: it must need some GLIBC_2.x and be recognised.
        let exe = std::env::current_exe().unwrap();
        let info = inspect(&std::fs::read(exe).unwrap()).unwrap();
        let glibc = info.glibc.expect("the test binary links glibc dynamically");
        assert!(glibc >= GlibcVersion::new(2, 2));
        let expected = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        assert_eq!(info.architecture, expected);
    }
}
