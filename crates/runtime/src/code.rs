//! Deployment packages and layers: checking and extracting zips.
//!
//! Extraction never writes outside its directory: entry names must stay inside (no absolute
//! paths, no `..`), no entry is written through a symbolic link (links are created last, and
//! only where no link is on the way), and the bytes written are counted against AWS's unzipped
//! limit whatever sizes the archive declares.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Cursor, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::RuntimeError;

/// AWS's limit for a function's unzipped code and layers together.
pub(crate) const MAX_UNZIPPED: u64 = 262_144_000;

/// A function key's extracted code: `task` (LAMBDA_TASK_ROOT) and `opt` (the layers). Removed
/// from disk when the last environment using it is gone.
#[derive(Debug)]
pub(crate) struct CodeDir {
    root: PathBuf,
    pub task: PathBuf,
    pub opt: PathBuf,
}

impl CodeDir {
    /// Extracts the function's package and its layers into `root`.
    pub(crate) fn extract(root: PathBuf, code: &[u8], layers: &[(String, &[u8])]) -> Result<CodeDir, RuntimeError> {
        let task = root.join("task");
        let opt = root.join("opt");
        let dir = CodeDir { root, task, opt };
        mkdirs(&dir.task)?;
        mkdirs(&dir.opt)?;
        let mut budget = MAX_UNZIPPED;
        extract_zip(code, &dir.task, &mut budget)
            .map_err(|e| RuntimeError::InvalidCode(format!("Could not unzip uploaded file: {e}")))?;
        for (arn, zip) in layers {
            extract_zip(zip, &dir.opt, &mut budget)
                .map_err(|e| RuntimeError::InvalidCode(format!("Could not unzip layer {arn}: {e}")))?;
        }
        // Zips made on some systems lose the executable bit; a bootstrap is always meant to run.
        for bootstrap in [dir.task.join("bootstrap"), dir.opt.join("bootstrap")] {
            if fs::symlink_metadata(&bootstrap).is_ok_and(|m| m.is_file()) {
                fs::set_permissions(&bootstrap, fs::Permissions::from_mode(0o755))
                    .map_err(|e| RuntimeError::Internal(format!("chmod {}: {e}", bootstrap.display())))?;
            }
        }
        Ok(dir)
    }
}

impl Drop for CodeDir {
    fn drop(&mut self) {
        remove_in_background(self.root.clone());
    }
}

/// Removes a directory tree from a short-lived thread: a big `node_modules` or a full `/tmp`
/// must not stall the async runtime that drops its owner.
pub(crate) fn remove_in_background(dir: PathBuf) {
    let spawned = std::thread::Builder::new().name("stratus-rm".into()).spawn({
        let dir = dir.clone();
        move || {
            let _ = fs::remove_dir_all(&dir);
        }
    });
    if spawned.is_err() {
        let _ = fs::remove_dir_all(&dir);
    }
}

fn mkdirs(p: &Path) -> Result<(), RuntimeError> {
    fs::create_dir_all(p).map_err(|e| RuntimeError::Internal(format!("create {}: {e}", p.display())))
}

/// Validates a zip without extracting it: readable, every entry readable, names inside, total
/// size within AWS's limit.
pub(crate) fn check(zip_bytes: &[u8]) -> Result<(), RuntimeError> {
    let invalid = |m: String| RuntimeError::InvalidCode(format!("Could not unzip uploaded file. {m}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(|e| invalid(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| invalid(e.to_string()))?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if entry.enclosed_name().is_none() {
            return Err(invalid(format!("Entry {name:?} points outside the package.")));
        }
        // Reading every entry checks compression method and CRC, and measures what the
        // archive really holds rather than what it declares.
        let mut limited = (&mut entry).take(MAX_UNZIPPED - total + 1);
        let n = io::copy(&mut limited, &mut io::sink()).map_err(|e| invalid(format!("{name}: {e}")))?;
        total += n;
        if total > MAX_UNZIPPED {
            return Err(RuntimeError::InvalidCode(format!("Unzipped size must be smaller than {MAX_UNZIPPED} bytes")));
        }
    }
    Ok(())
}

/// Extracts `zip_bytes` into `dest`; existing files are replaced (later layers win).
fn extract_zip(zip_bytes: &[u8], dest: &Path, budget: &mut u64) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(|e| e.to_string())?;
    let mut links: Vec<(PathBuf, String)> = Vec::new();
    let mut safe_dirs: HashSet<PathBuf> = HashSet::new();
    safe_dirs.insert(PathBuf::new());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        let rel = entry.enclosed_name().ok_or_else(|| format!("entry {name:?} points outside the package"))?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        if entry.is_symlink() {
            let mut target = String::new();
            (&mut entry).take(4096).read_to_string(&mut target).map_err(|e| format!("{name}: {e}"))?;
            links.push((rel, target));
            continue;
        }
        ensure_dirs(dest, rel.parent().unwrap_or(Path::new("")), &mut safe_dirs)?;
        let path = dest.join(&rel);
        if entry.is_dir() {
            ensure_dirs(dest, &rel, &mut safe_dirs)?;
            continue;
        }
        // Replace, never write through whatever is there (a link from an earlier layer).
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if meta.is_dir() {
                fs::remove_dir_all(&path).map_err(|e| format!("{name}: {e}"))?;
            } else {
                fs::remove_file(&path).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        let mut out = fs::File::create(&path).map_err(|e| format!("{name}: {e}"))?;
        let mut limited = (&mut entry).take(*budget + 1);
        let n = io::copy(&mut limited, &mut out).map_err(|e| format!("{name}: {e}"))?;
        if n > *budget {
            return Err(format!("Unzipped size must be smaller than {MAX_UNZIPPED} bytes"));
        }
        *budget -= n;
        let mode = match entry.unix_mode() {
            Some(m) if m & 0o777 != 0 => (m & 0o777) | 0o400,
            _ => 0o644,
        };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| format!("{name}: {e}"))?;
    }
    for (rel, target) in links {
        ensure_dirs(dest, rel.parent().unwrap_or(Path::new("")), &mut safe_dirs)?;
        let path = dest.join(&rel);
        if fs::symlink_metadata(&path).is_ok() {
            // A file or directory of the same name came first; it stays.
            continue;
        }
        std::os::unix::fs::symlink(&target, &path).map_err(|e| format!("{}: {e}", rel.display()))?;
    }
    Ok(())
}

/// Creates `rel` under `dest` component by component, refusing any component that is a
/// symbolic link (it could lead outside `dest`).
fn ensure_dirs(dest: &Path, rel: &Path, safe: &mut HashSet<PathBuf>) -> Result<(), String> {
    if safe.contains(rel) {
        return Ok(());
    }
    let mut so_far = PathBuf::new();
    for comp in rel.components() {
        let Component::Normal(part) = comp else {
            return Err(format!("entry {} points outside the package", rel.display()));
        };
        so_far.push(part);
        if safe.contains(&so_far) {
            continue;
        }
        let full = dest.join(&so_far);
        match fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!("entry {} would be written through a link", rel.display()));
            }
            Ok(_) => {
                // A file where a directory is needed (a later layer restructures): replace it.
                fs::remove_file(&full).map_err(|e| format!("{}: {e}", full.display()))?;
                fs::create_dir(&full).map_err(|e| format!("{}: {e}", full.display()))?;
            }
            Err(_) => fs::create_dir(&full).map_err(|e| format!("{}: {e}", full.display()))?,
        }
        safe.insert(so_far.clone());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("stratus-code-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn rejects_garbage_and_zip_slip() {
        assert!(matches!(check(b"not a zip"), Err(RuntimeError::InvalidCode(_))));
        assert!(check(&zip_of(&[("a/b.txt", b"x")])).is_ok());
        assert!(matches!(check(&zip_of(&[("../evil", b"x")])), Err(RuntimeError::InvalidCode(_))));
    }

    #[test]
    fn absolute_names_land_inside() {
        let root = tempdir("abs");
        let target = root.join("abs-evil");
        let zip = zip_of(&[(target.to_str().unwrap(), b"x")]);
        if check(&zip).is_ok() {
            let dir = CodeDir::extract(root.join("k"), &zip, &[]).unwrap();
            assert!(!target.exists(), "an absolute entry name escaped the code directory");
            assert!(dir.task.join(target.strip_prefix("/").unwrap()).exists());
        }
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn layers_overwrite_in_order_and_bootstrap_is_executable() {
        let root = tempdir("layers");
        let code = zip_of(&[("bootstrap", b"#!/bin/sh\n"), ("dir/f.txt", b"code")]);
        let l1 = zip_of(&[("bin/tool", b"one"), ("python/m.py", b"X = 1")]);
        let l2 = zip_of(&[("bin/tool", b"two")]);
        let dir = CodeDir::extract(root.join("k"), &code, &[("l1".into(), &l1), ("l2".into(), &l2)]).unwrap();
        assert_eq!(fs::read(dir.task.join("dir/f.txt")).unwrap(), b"code");
        assert_eq!(fs::read(dir.opt.join("bin/tool")).unwrap(), b"two");
        assert_eq!(fs::read(dir.opt.join("python/m.py")).unwrap(), b"X = 1");
        let mode = fs::metadata(dir.task.join("bootstrap")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        let task = dir.task.clone();
        drop(dir);
        for _ in 0..100 {
            if !task.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!task.exists(), "the code directory goes with its last user");
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn never_writes_through_a_link() {
        let root = tempdir("links");
        let outside = root.join("outside");
        fs::create_dir_all(&outside).unwrap();
        // A layer that plants a link to a directory outside, then a layer that writes into it.
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.add_symlink("escape", outside.to_str().unwrap(), SimpleFileOptions::default()).unwrap();
        let l1 = w.finish().unwrap().into_inner();
        let l2 = zip_of(&[("escape/pwned", b"x")]);
        let err = CodeDir::extract(root.join("k"), &zip_of(&[]), &[("l1".into(), &l1), ("l2".into(), &l2)]);
        assert!(matches!(err, Err(RuntimeError::InvalidCode(_))), "{err:?}");
        assert!(!outside.join("pwned").exists());
        let _ = fs::remove_dir_all(&root);
    }
}
