//! Unpacks a `.charm` (a zip) into a fresh directory without trusting it: every name goes
//! through `enclosed_name` (no `../`, no absolute path), regular files and directories are
//! written first and symlinks last, so nothing is ever written through a link; a symlink must be
//! relative and resolve inside the charm, following the archive's other links (charmcraft ships
//! `hooks/*` -> `../dispatch` and links inside `venv/`). Sizes are checked against the declared
//! ones and against what actually comes out: at most [`MAX_UNPACKED_BYTES`] in total, and an
//! entry over 1 MiB may expand at most [`MAX_RATIO`] times; at most [`MAX_ENTRIES`] entries, and
//! none under a link. Errors name the entry.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Component, Path, PathBuf};

use crate::error::{CharmError, Error, Result};

/// The most a `.charm` may unpack to, all entries together.
pub const MAX_UNPACKED_BYTES: u64 = 512 << 20;
/// The most an entry larger than [`RATIO_FLOOR`] may expand (uncompressed / compressed).
pub const MAX_RATIO: u64 = 100;
/// Entries up to this size are not ratio-checked (a small file of one repeated byte compresses
/// far better than 100:1 and harms nobody).
pub const RATIO_FLOOR: u64 = 1 << 20;
/// Entries in one `.charm` (directories and empty files cost nothing against the size cap, but
/// each is an inode and a step of the unpack); charmcraft's largest charms hold a few thousand.
pub const MAX_ENTRIES: usize = 100_000;
/// Symlinks followed while resolving one link, as the kernel's limit.
const MAX_HOPS: usize = 40;

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;

/// Unpacks `archive` into `dest`, which must not exist yet or be empty.
pub(crate) fn unpack(archive: &Path, dest: &Path) -> Result<()> {
    let bad = |reason: String| -> Error {
        CharmError::Unpack {
            path: archive.to_owned(),
            reason,
        }
        .into()
    };
    let file = fs::File::open(archive).map_err(|e| Error::io("opening", archive, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip: {e}")))?;
    fs::create_dir_all(dest).map_err(|e| Error::io("creating", dest, e))?;
    if fs::read_dir(dest)
        .map_err(|e| Error::io("reading", dest, e))?
        .next()
        .is_some()
    {
        return Err(bad(format!("{} is not empty", dest.display())));
    }
    if zip.len() > MAX_ENTRIES {
        return Err(bad(format!("{} entries: at most {MAX_ENTRIES}", zip.len())));
    }
    let mut links: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut names: Vec<PathBuf> = Vec::with_capacity(zip.len());
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| bad(format!("entry #{i}: {e}")))?;
        let raw = entry.name().to_owned();
        let entry_bad = |what: String| bad(format!("entry {raw:?}: {what}"));
        // `enclosed_name` would quietly make `/etc/x` relative: an absolute name is refused.
        let absolute = raw.starts_with(['/', '\\']) || raw.as_bytes().get(1) == Some(&b':');
        let Some(name) = entry.enclosed_name().filter(|_| !absolute) else {
            return Err(entry_bad(
                "its name is absolute or leaves the charm (`..`)".into(),
            ));
        };
        if name.as_os_str().is_empty() {
            continue;
        }
        let size = entry.size();
        if size > MAX_UNPACKED_BYTES.saturating_sub(total) {
            return Err(entry_bad(format!(
                "unpacks to more than {} MiB in all",
                MAX_UNPACKED_BYTES >> 20
            )));
        }
        if size > RATIO_FLOOR && size > entry.compressed_size().saturating_mul(MAX_RATIO) {
            return Err(entry_bad(format!(
                "expands {size} bytes from {}: more than {MAX_RATIO} times",
                entry.compressed_size()
            )));
        }
        let mode = entry.unix_mode().unwrap_or(0);
        let to = dest.join(&name);
        names.push(name.clone());
        if mode & S_IFMT == S_IFLNK {
            let mut target = Vec::new();
            (&mut entry)
                .take(4096)
                .read_to_end(&mut target)
                .map_err(|e| entry_bad(format!("reading its link target: {e}")))?;
            let target = String::from_utf8(target)
                .map_err(|_| entry_bad("its link target is not UTF-8".into()))?;
            if target.is_empty() || target.contains('\0') {
                return Err(entry_bad("its link target is empty or has a NUL".into()));
            }
            total += target.len() as u64;
            if links.insert(name, PathBuf::from(target)).is_some() {
                return Err(entry_bad("appears twice".into()));
            }
            continue;
        }
        if entry.is_dir() {
            fs::create_dir_all(&to).map_err(|e| Error::io("creating", &to, e))?;
            continue;
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&to)
            .map_err(|e| entry_bad(format!("cannot create it: {e}")))?;
        // The declared size may lie: never write more than it, nor past the total.
        let written = std::io::copy(&mut (&mut entry).take(size + 1), &mut out)
            .map_err(|e| entry_bad(format!("{e}")))?;
        if written > size {
            return Err(entry_bad(format!(
                "holds more than the {size} bytes it declares"
            )));
        }
        total += written;
        out.flush().map_err(|e| Error::io("writing", &to, e))?;
        // Keep the owner's permission bits (executables), never set-id or others' write.
        let perm = if mode & 0o100 != 0 { 0o755 } else { 0o644 };
        fs::set_permissions(&to, fs::Permissions::from_mode(perm))
            .map_err(|e| Error::io("setting the mode of", &to, e))?;
    }
    // No entry may live under a link: creating it would go through the link (`a -> .` then
    // `a/a/../../x -> /etc` lands at the root with its parents never checked). charmcraft never
    // ships that.
    for name in &names {
        if let Some(link) = name.ancestors().skip(1).find(|a| links.contains_key(*a)) {
            return Err(bad(format!(
                "entry {:?}: it lies under the link {:?}",
                name.display().to_string(),
                link.display().to_string()
            )));
        }
    }
    for (link, target) in &links {
        if let Some(why) = escapes(&links, link, target) {
            return Err(bad(format!(
                "entry {:?}: its link target {:?} {why}",
                link.display().to_string(),
                target.display().to_string()
            )));
        }
    }
    for (link, target) in &links {
        let at = dest.join(link);
        if let Some(parent) = at.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        std::os::unix::fs::symlink(target, &at).map_err(|e| {
            bad(format!(
                "entry {:?}: cannot create the link: {e}",
                link.display().to_string()
            ))
        })?;
    }
    Ok(())
}

/// Why the symlink at `link` (relative to the charm root) pointing at `target` would resolve
/// outside the charm, if it would: resolved component by component through the archive's own
/// links, so `a -> .` then `b -> a/../x` is caught although `a/../x` looks harmless.
fn escapes(links: &BTreeMap<PathBuf, PathBuf>, link: &Path, target: &Path) -> Option<String> {
    if target.is_absolute() {
        return Some("is absolute".into());
    }
    let mut at: Vec<OsString> = link
        .parent()
        .into_iter()
        .flat_map(|p| p.components())
        .map(|c| c.as_os_str().to_owned())
        .collect();
    let mut todo: Vec<OsString> = target
        .components()
        .rev()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        match Path::new(&part).components().next() {
            Some(Component::CurDir) | None => {}
            Some(Component::ParentDir) => {
                if at.pop().is_none() {
                    return Some("leaves the charm".into());
                }
            }
            Some(Component::Normal(n)) => {
                at.push(n.to_owned());
                let here: PathBuf = at.iter().collect();
                if let Some(next) = links.get(&here) {
                    hops += 1;
                    if hops > MAX_HOPS || next.is_absolute() {
                        return Some("loops or leaves the charm through another link".into());
                    }
                    at.pop();
                    todo.extend(next.components().rev().map(|c| c.as_os_str().to_owned()));
                }
            }
            Some(Component::RootDir | Component::Prefix(_)) => {
                return Some("is absolute".into());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn charm(entries: impl FnOnce(&mut zip::ZipWriter<fs::File>)) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.charm");
        let mut w = zip::ZipWriter::new(fs::File::create(&path).expect("create"));
        let o = SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("dispatch", o).expect("entry");
        w.write_all(b"#!/bin/sh\nexit 0\n").expect("write");
        w.add_directory("hooks", o).expect("dir");
        w.add_symlink("hooks/install", "../dispatch", o)
            .expect("link");
        entries(&mut w);
        w.finish().expect("finish");
        (dir, path)
    }

    fn refused(path: &Path) -> String {
        let out = path.with_file_name("out");
        let err = unpack(path, &out).expect_err("refused").to_string();
        // Bad input leaves nothing outside the destination.
        assert!(!path.parent().expect("parent").join("evil").exists());
        err
    }

    #[test]
    fn a_charmcraft_layout_with_internal_links_unpacks() {
        let (dir, path) = charm(|w| {
            let o = SimpleFileOptions::default();
            w.add_directory("venv/lib/python3.12/site-packages", o)
                .expect("dir");
            w.start_file("venv/lib/python3.12/site-packages/ops.py", o)
                .expect("f");
            w.write_all(b"# ops\n").expect("write");
            w.add_symlink("venv/lib64", "lib", o).expect("link");
            w.add_symlink("hooks/upgrade-charm", "../dispatch", o)
                .expect("link");
            // A link through a link, staying inside.
            w.add_symlink("ops-link", "venv/lib64/python3.12/site-packages/ops.py", o)
                .expect("link");
        });
        let out = dir.path().join("out");
        unpack(&path, &out).expect("unpacks");
        assert_eq!(
            fs::read_link(out.join("hooks/install")).expect("link"),
            Path::new("../dispatch")
        );
        assert_eq!(
            fs::read_to_string(out.join("hooks/upgrade-charm")).expect("through link"),
            "#!/bin/sh\nexit 0\n"
        );
        assert_eq!(
            fs::read_to_string(out.join("ops-link")).expect("read"),
            "# ops\n"
        );
        let mode = fs::metadata(out.join("dispatch"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn a_parent_dir_name_is_refused_naming_the_entry() {
        let (_d, path) = charm(|w| {
            w.start_file("../evil", SimpleFileOptions::default())
                .expect("f");
            w.write_all(b"x").expect("write");
        });
        let err = refused(&path);
        assert!(
            err.contains("entry \"../evil\"") && err.contains("leaves the charm"),
            "{err}"
        );
    }

    #[test]
    fn an_absolute_name_is_refused_naming_the_entry() {
        let (_d, path) = charm(|w| {
            w.start_file("/tmp/evil-abs", SimpleFileOptions::default())
                .expect("f");
            w.write_all(b"x").expect("write");
        });
        let err = refused(&path);
        assert!(err.contains("entry \"/tmp/evil-abs\""), "{err}");
        assert!(!Path::new("/tmp/evil-abs").exists());
    }

    #[test]
    fn escaping_symlinks_are_refused_naming_the_entry() {
        for (name, target) in [
            ("hooks/start", "../../evil"),
            ("abs", "/etc/passwd"),
            ("here", "."),
        ] {
            let (_d, path) = charm(|w| {
                let o = SimpleFileOptions::default();
                w.add_symlink(name, target, o).expect("link");
                if name == "here" {
                    // Harmless alone; escapes through `here`.
                    w.add_symlink("sneaky", "here/../evil", o).expect("link");
                }
            });
            let err = refused(&path);
            let named = if name == "here" { "sneaky" } else { name };
            assert!(err.contains(&format!("entry \"{named}\"")), "{err}");
        }
    }

    #[test]
    fn a_file_is_never_written_through_a_link() {
        // The link comes first in the archive, then a file under it.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.charm");
        let mut w = zip::ZipWriter::new(fs::File::create(&path).expect("create"));
        let o = SimpleFileOptions::default();
        w.add_symlink("lib", "sub", o).expect("link");
        w.start_file("lib/x", o).expect("f");
        w.write_all(b"x").expect("write");
        w.finish().expect("finish");
        let out = dir.path().join("out");
        let err = unpack(&path, &out).expect_err("refused").to_string();
        assert!(
            err.contains("entry \"lib/x\": it lies under the link \"lib\""),
            "{err}"
        );
        assert!(!out.join("sub").exists());
    }

    #[test]
    fn a_link_under_a_link_is_refused_before_anything_escapes() {
        // `a -> .` is harmless alone; a link named through it would be created at the root of
        // the charm with a target checked from six levels down: it would point outside.
        let (dir, path) = charm(|w| {
            let o = SimpleFileOptions::default();
            w.add_symlink("a", ".", o).expect("link");
            w.add_symlink("a/a/a/a/a/a/l", "../../../../../../evil", o)
                .expect("link");
        });
        let err = refused(&path);
        assert!(
            err.contains("entry \"a/a/a/a/a/a/l\": it lies under the link \"a\""),
            "{err}"
        );
        assert!(!dir.path().join("out").join("l").exists());
    }

    #[test]
    fn a_gigabyte_expanding_entry_is_refused_naming_it() {
        let (_d, path) = charm(|w| {
            let o = SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            w.start_file("bomb.bin", o).expect("f");
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..1024 {
                w.write_all(&zeros).expect("write");
            }
        });
        let err = refused(&path);
        assert!(err.contains("entry \"bomb.bin\""), "{err}");
    }
}
