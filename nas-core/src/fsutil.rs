//! File writing that survives crashes: the one atomic-write helper of the project.
//!
//! [`write_atomic`] writes a unique temporary file in the target's folder
//! (`tempfile`), flushes it to disk (`fsync`), renames it over the target and
//! then flushes the folder, so after a crash the target holds either its old or
//! its new content in full, never a mix, and no temporary file is left behind
//! (the temporary is removed when anything fails). Run directories, latency
//! tables and saved predictors all go through it.

use crate::error::{NasError, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (see the module docs). Creates the parent
/// folder when missing. Errors name the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| NasError::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", path.file_name().and_then(|n| n.to_str()).unwrap_or("file")))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| NasError::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| NasError::io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| NasError::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| NasError::io(path, e.error))?;
    // Make the rename itself durable; a folder that cannot be opened for syncing
    // (some file systems) still holds the complete file.
    if let Ok(d) = std::fs::File::open(dir) {
        d.sync_all().ok();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub").join("a.json");
        write_atomic(&path, b"one").expect("first write");
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn a_failed_rename_names_the_path_and_cleans_up() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A folder in the way: the rename fails.
        let path = dir.path().join("taken");
        std::fs::create_dir(path.join("inner")).or_else(|_| std::fs::create_dir_all(path.join("inner"))).ok();
        let err = write_atomic(&path, b"x").expect_err("a folder is in the way");
        assert!(err.to_string().contains("taken"), "{err}");
        let left: Vec<_> =
            std::fs::read_dir(dir.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("taken")], "temporary file left behind");
    }
}
