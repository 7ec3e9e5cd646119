//! Loopback addresses unique on the machine. Each live model leases a block `127.M.0.0/16`
//! (M in 1..=254) machine-wide, and numbers its units sequentially inside it: unit k of the
//! model (k counts every unit ever added, over all applications) is
//! `127.M.(k / 254).(k % 254 + 1)`, so a model holds 65,024 units over its life and a unit keeps
//! its address until it is removed (numbers are not reused).
//!
//! A lease is a file `juju-tls-lease-127.M` in `/tmp` (`$JUJU_TLS_LEASE_DIR` overrides it),
//! created with `O_EXCL`, naming the model's directory and UUID; the model directory holds the
//! matching claim (`address-lease`). `/tmp` rather than a directory of our own: it exists on
//! every machine, is root-owned and sticky (1777), so every user can lease and nobody can
//! delete or replace another user's leases, and no user can pre-create the directory with modes
//! that lock others out. A lease is stale when its model is gone (no claim naming it); stale
//! leases of the current user are reclaimed, so crashed tests cannot exhaust the blocks.
//! Limits: 254 live models per machine; another user's stale lease cannot be removed (the
//! sticky bit) and its block is skipped; any local user can hold blocks, as they can bind any
//! loopback port.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Overrides the directory of lease files (tests of exhaustion; default `/tmp`).
pub const LEASE_DIR_ENV: &str = "JUJU_TLS_LEASE_DIR";

/// Units one model can number over its life: 256 third octets × 254 fourth octets.
pub(crate) const UNITS_PER_MODEL: i64 = 254 * 256;

/// The claim file in a model directory naming its block.
const CLAIM: &str = "address-lease";

/// The address of unit number `index` of the model holding `block`.
pub(crate) fn unit_address(block: i64, index: i64) -> String {
    if !(1..=254).contains(&block) || !(0..UNITS_PER_MODEL).contains(&index) {
        // Not yet numbered (a store being migrated): no address rather than a shared one.
        return String::new();
    }
    format!("127.{block}.{}.{}", index / 254, index % 254 + 1)
}

fn lease_dir() -> PathBuf {
    std::env::var_os(LEASE_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

fn lease_path(leases: &Path, block: i64) -> PathBuf {
    leases.join(format!("juju-tls-lease-127.{block}"))
}

fn contents(model_dir: &Path, uuid: &str) -> String {
    format!("{}\n{uuid}\n", model_dir.display())
}

/// Reads a lease or claim file that any local user may have put there: never through a link,
/// never a FIFO or device (no open that blocks, no endless read), at most 4 KiB.
fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    const MAX: u64 = 4096;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > MAX {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a small regular file",
        ));
    }
    let mut text = String::new();
    file.take(MAX).read_to_string(&mut text)?;
    Ok(text)
}

/// Whether the lease file's model still claims it. Unreadable claims (another user's 0700
/// model) count as live.
fn live(lease_text: &str, block: i64) -> bool {
    let mut lines = lease_text.lines();
    let (Some(dir), Some(uuid)) = (lines.next(), lines.next()) else {
        // Half-written by a process that died between create and write: stale.
        return false;
    };
    match read_small(&Path::new(dir).join(CLAIM)) {
        Ok(claim) => claim.trim() == format!("{block} {uuid}"),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

fn write_claim(model_dir: &Path, block: i64, uuid: &str) -> Result<()> {
    let path = model_dir.join(CLAIM);
    fs::write(&path, format!("{block} {uuid}\n")).map_err(|e| Error::io("writing", &path, e))
}

/// Tries to create the lease of `block` for the model; reclaims it first when stale and ours.
fn try_block(leases: &Path, model_dir: &Path, uuid: &str, block: i64) -> Result<bool> {
    let path = lease_path(leases, block);
    // The claim first: a process checking this lease between its creation and the claim would
    // take it for stale.
    write_claim(model_dir, block, uuid)?;
    for _ in 0..2 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(contents(model_dir, uuid).as_bytes())
                    .map_err(|e| Error::io("writing", &path, e))?;
                return Ok(true);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let Ok(text) = read_small(&path) else {
                    return Ok(false);
                };
                if text == contents(model_dir, uuid) {
                    return Ok(true);
                }
                if live(&text, block) || !reclaim(&path, &text) {
                    return Ok(false);
                }
            }
            Err(e) => return Err(Error::io("creating", &path, e)),
        }
    }
    Ok(false)
}

/// Removes a stale lease of ours. Renamed aside first, and put back if what was moved is not
/// the stale lease we judged (another process reclaimed and re-leased it meanwhile).
fn reclaim(path: &Path, stale: &str) -> bool {
    let mine = fs::metadata(path).is_ok_and(|m| m.uid() == rustix::process::getuid().as_raw());
    if !mine {
        return false;
    }
    let aside = path.with_extension(format!("reclaim-{}", std::process::id()));
    if fs::rename(path, &aside).is_err() {
        return true; // gone already: try to create it
    }
    let moved = read_small(&aside).unwrap_or_default();
    if moved != stale {
        let _ = fs::hard_link(&aside, path);
    }
    let _ = fs::remove_file(&aside);
    moved == stale
}

/// Leases a block for the model (`preferred` first, the block it held before); returns it.
pub(crate) fn acquire(model_dir: &Path, uuid: &str, preferred: Option<i64>) -> Result<i64> {
    acquire_in(&lease_dir(), model_dir, uuid, preferred)
}

fn acquire_in(leases: &Path, model_dir: &Path, uuid: &str, preferred: Option<i64>) -> Result<i64> {
    let model_dir =
        fs::canonicalize(model_dir).map_err(|e| Error::io("resolving", model_dir, e))?;
    // Start at a block derived from the directory, so parallel models rarely race for one.
    let start = preferred.unwrap_or_else(|| {
        let h = model_dir
            .to_string_lossy()
            .bytes()
            .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
        i64::from(h % 254) + 1
    });
    for i in 0..254 {
        let block = (start - 1 + i) % 254 + 1;
        if try_block(leases, &model_dir, uuid, block)? {
            return Ok(block);
        }
    }
    let _ = fs::remove_file(model_dir.join(CLAIM));
    Err(Error::NoAddressBlock(format!(
        "all 254 blocks 127.1-254.0.0/16 are leased by live models (lease files {}/juju-tls-lease-127.*); destroy a model",
        leases.display()
    )))
}

/// Makes sure the model still holds `block` (a cleaned `/tmp` loses lease files); re-leases it,
/// or another block when a different model took it meanwhile.
pub(crate) fn ensure(model_dir: &Path, uuid: &str, block: i64) -> Result<i64> {
    let canonical =
        fs::canonicalize(model_dir).map_err(|e| Error::io("resolving", model_dir, e))?;
    let held =
        read_small(&lease_path(&lease_dir(), block)).is_ok_and(|t| t == contents(&canonical, uuid));
    if held {
        return Ok(block);
    }
    acquire(model_dir, uuid, Some(block))
}

/// Gives the block back (model destroy).
pub(crate) fn release(model_dir: &Path, uuid: &str, block: i64) {
    let Ok(canonical) = fs::canonicalize(model_dir) else {
        return;
    };
    let path = lease_path(&lease_dir(), block);
    if read_small(&path).is_ok_and(|t| t == contents(&canonical, uuid)) {
        let _ = fs::remove_file(path);
    }
    let _ = fs::remove_file(canonical.join(CLAIM));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_number_across_the_block() {
        assert_eq!(unit_address(3, 0), "127.3.0.1");
        assert_eq!(unit_address(3, 253), "127.3.0.254");
        assert_eq!(unit_address(3, 254), "127.3.1.1");
        assert_eq!(unit_address(3, 999), "127.3.3.238");
        assert_eq!(unit_address(3, UNITS_PER_MODEL - 1), "127.3.255.254");
        assert_eq!(unit_address(3, UNITS_PER_MODEL), "");
        assert_eq!(unit_address(0, 1), "");
        let all: std::collections::BTreeSet<String> =
            (0..2000).map(|k| unit_address(7, k)).collect();
        assert_eq!(all.len(), 2000, "distinct");
    }

    fn model(root: &Path, name: &str) -> PathBuf {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn planted_fifos_and_links_are_skipped_not_waited_on() {
        // Another user can create any lease name in /tmp first: a FIFO would block a plain
        // open for ever, a link to /dev/zero would read for ever.
        let tmp = tempfile::tempdir().unwrap();
        let leases = model(tmp.path(), "leases");
        let fifo = lease_path(&leases, 5);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        std::os::unix::fs::symlink("/dev/zero", lease_path(&leases, 6)).unwrap();
        let a = model(tmp.path(), "a");
        let started = std::time::Instant::now();
        let block = acquire_in(&leases, &a, "uuid-a", Some(5)).unwrap();
        assert_eq!(block, 7, "5 (FIFO) and 6 (link) skipped");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(read_small(&fifo).is_err());
    }

    #[test]
    fn stale_leases_are_reclaimed_and_live_ones_exhaust_the_blocks() {
        let tmp = tempfile::tempdir().unwrap();
        let leases = model(tmp.path(), "leases");
        // Every block leased by models that are gone (a crashed test's deleted data dir).
        for b in 1..=254 {
            fs::write(
                lease_path(&leases, b),
                format!("{}/gone{b}\nu{b}\n", tmp.path().display()),
            )
            .unwrap();
        }
        let a = model(tmp.path(), "a");
        let block = acquire_in(&leases, &a, "ua", None).unwrap();
        assert!(
            fs::read_to_string(lease_path(&leases, block))
                .unwrap()
                .contains("ua")
        );
        assert_eq!(
            fs::read_to_string(a.join(CLAIM)).unwrap(),
            format!("{block} ua\n")
        );
        // A second model never gets the same block, and asking again is idempotent.
        let b = model(tmp.path(), "b");
        let other = acquire_in(&leases, &b, "ub", Some(block)).unwrap();
        assert_ne!(other, block);
        assert_eq!(acquire_in(&leases, &a, "ua", Some(block)).unwrap(), block);
        // Every block held by a live model: a clear error, nothing taken over.
        for x in 1..=254 {
            if x != block && x != other {
                let m = model(tmp.path(), &format!("live{x}"));
                assert_eq!(
                    acquire_in(&leases, &m, &format!("l{x}"), Some(x)).unwrap(),
                    x
                );
            }
        }
        let c = model(tmp.path(), "c");
        let err = acquire_in(&leases, &c, "uc", None).unwrap_err().to_string();
        assert!(err.contains("all 254 blocks"), "{err}");
        assert!(!c.join(CLAIM).exists());
        // A destroyed model's block is free again.
        fs::remove_dir_all(&b).unwrap();
        assert_eq!(acquire_in(&leases, &c, "uc", None).unwrap(), other);
    }
}
