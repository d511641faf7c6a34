//! Atomic file and directory writes: a reader (or a resumed run after `kill -9`) sees the old
//! content or the new, never half of either.
//!
//! A file is written to a temporary sibling (`.<name>.tmp-<pid>`, in the same directory so the
//! rename cannot cross file systems), synced, renamed over the target, and the directory is
//! synced so the rename itself survives a power cut. A directory (a checkpoint) is filled under
//! a temporary name by the caller and published with [`replace_dir`].

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{CoreError, Result};

/// The temporary sibling of `path` used while writing it: `.<name>.tmp-<pid>`.
///
/// Names starting with `.` and containing `.tmp-` are never a finished file, so readers that
/// list a directory can skip them.
pub fn temp_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."))
}

/// Writes `bytes` to `path` atomically, creating missing parent directories.
///
/// # Errors
/// [`CoreError::Io`] naming the file (or the temporary file) that failed; the temporary file is
/// removed on failure.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_of(path);
    std::fs::create_dir_all(dir).map_err(|e| CoreError::io(dir, e))?;
    let tmp = temp_sibling(path);
    let written = File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|e| CoreError::io(&tmp, e));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(CoreError::io(path, e));
    }
    sync_dir(dir)
}

/// Syncs a directory, so that renames and creations inside it are durable.
///
/// # Errors
/// [`CoreError::Io`] naming the directory.
pub fn sync_dir(dir: &Path) -> Result<()> {
    // Windows cannot open a directory as a file; its renames are durable on return.
    if cfg!(windows) {
        return Ok(());
    }
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| CoreError::io(dir, e))
}

/// Publishes the fully written directory `tmp` as `target`, replacing an existing `target`.
///
/// Every file in `tmp` should already be synced. An existing `target` is first renamed to
/// `<target>.old-<pid>` and removed after the swap, so at every instant either the old or the
/// new directory stands under a name a reader can tell apart (`.old-`/`.tmp-` names are never
/// final). The parent directory is synced at the end.
///
/// # Errors
/// [`CoreError::Io`] naming the directory that could not be renamed or removed.
pub fn replace_dir(tmp: &Path, target: &Path) -> Result<()> {
    let parent = parent_of(target);
    if target.exists() {
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("dir");
        let old = target.with_file_name(format!("{name}.old-{}", std::process::id()));
        std::fs::rename(target, &old).map_err(|e| CoreError::io(target, e))?;
        std::fs::rename(tmp, target).map_err(|e| CoreError::io(tmp, e))?;
        std::fs::remove_dir_all(&old).map_err(|e| CoreError::io(&old, e))?;
    } else {
        std::fs::rename(tmp, target).map_err(|e| CoreError::io(tmp, e))?;
    }
    sync_dir(parent)
}

/// Deletes the temporary siblings ([`temp_sibling`]: `.<name>.tmp-<pid>`) in `dir` whose
/// writer is gone: what a killed process left half-written in a directory that outlives it
/// (a cache shared by runs). A temporary whose process is still running is kept, so two runs
/// sharing the directory never delete each other's writes; where liveness cannot be asked
/// (no `/proc`), nothing is deleted. Returns how many were deleted; a missing `dir` is 0.
///
/// # Errors
/// [`CoreError::Io`] naming the directory that could not be listed or the file that could
/// not be removed.
pub fn remove_orphaned_temporaries(dir: &Path) -> Result<usize> {
    let proc = Path::new("/proc/self");
    if !proc.exists() {
        return Ok(0);
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(CoreError::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| CoreError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|rest| rest.rsplit_once(".tmp-"))
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| CoreError::io(&path, e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphaned_temporaries_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        // A pid above the kernel's maximum (2^22) is never running.
        let orphan = dir.path().join(".ref.bin.tmp-4294967295");
        let live = temp_sibling(&dir.path().join("ref.bin"));
        let finished = dir.path().join("ref.bin");
        for f in [&orphan, &live, &finished] {
            std::fs::write(f, b"x").unwrap();
        }
        let removed = remove_orphaned_temporaries(dir.path()).unwrap();
        if Path::new("/proc/self").exists() {
            assert_eq!(removed, 1);
            assert!(!orphan.exists());
        }
        assert!(live.exists() && finished.exists());
        assert_eq!(
            remove_orphaned_temporaries(&dir.path().join("none")).unwrap(),
            0
        );
    }

    #[test]
    fn writes_replace_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.jsonl");
        write_atomic(&path, b"one\n").unwrap();
        write_atomic(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.jsonl")]);
    }

    #[test]
    fn a_failed_write_names_the_path_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"x").unwrap();
        // Renaming a file over a non-empty directory fails.
        let err = write_atomic(&target, b"new").unwrap_err();
        assert!(err.to_string().contains("target"), "{err}");
        assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"x");
        assert!(!temp_sibling(&target).exists());
    }

    #[test]
    fn directories_are_swapped_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("checkpoint-2");
        for content in ["old", "new"] {
            let tmp = dir.path().join("checkpoint-2.tmp");
            std::fs::create_dir(&tmp).unwrap();
            std::fs::write(tmp.join("w"), content).unwrap();
            replace_dir(&tmp, &target).unwrap();
        }
        assert_eq!(std::fs::read_to_string(target.join("w")).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
