//! The data directory's private files and the check that they stay private.
//!
//! The directory is created 0700 and every file in it 0600 (`admin.key` and `master.key`
//! by [`crate::crypto::write_private_file`], the database by
//! [`crate::store::Store::open`], whose mode SQLite copies to `-wal` and `-shm`). An
//! operator may still have made it (or restored it) with looser modes; [`warn_if_exposed`]
//! says so at start-up, naming the path and mode, never reading any content.

use std::path::{Path, PathBuf};

/// Files of the data directory that hold secrets or the database.
pub const PRIVATE_FILES: &[&str] = &[
    "switchyard.db",
    "switchyard.db-wal",
    "switchyard.db-shm",
    "admin.key",
    "master.key",
];

/// A path open to group or others, with its permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    pub path: PathBuf,
    pub mode: u32,
    pub is_dir: bool,
}

/// The data directory and its [`PRIVATE_FILES`] that grant any permission to group or
/// others. Missing files are skipped. Always empty off Unix.
pub fn exposed(dir: &Path) -> Vec<Exposed> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let candidates =
            std::iter::once(dir.to_owned()).chain(PRIVATE_FILES.iter().map(|f| dir.join(f)));
        candidates
            .filter_map(|path| {
                let meta = std::fs::metadata(&path).ok()?;
                let mode = meta.permissions().mode() & 0o7777;
                (mode & 0o077 != 0).then(|| Exposed {
                    path,
                    mode,
                    is_dir: meta.is_dir(),
                })
            })
            .collect()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Vec::new()
    }
}

/// Log a warning for each path [`exposed`] finds.
pub fn warn_if_exposed(dir: &Path) {
    for e in exposed(dir) {
        let mode = format!("{:04o}", e.mode);
        if e.is_dir {
            tracing::warn!(path = %e.path.display(), %mode, "the data directory is accessible by group or others; `chmod 700` it");
        } else {
            tracing::warn!(path = %e.path.display(), %mode, "a key or database file is accessible by group or others; `chmod 600` it");
        }
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn finds_open_directory_and_files() {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o700);
        std::fs::write(dir.path().join("master.key"), "k").unwrap();
        std::fs::write(dir.path().join("other.txt"), "x").unwrap();
        chmod(&dir.path().join("master.key"), 0o600);
        chmod(&dir.path().join("other.txt"), 0o644);
        assert!(exposed(dir.path()).is_empty());

        chmod(dir.path(), 0o755);
        chmod(&dir.path().join("master.key"), 0o640);
        let found = exposed(dir.path());
        assert_eq!(
            found,
            vec![
                Exposed {
                    path: dir.path().to_owned(),
                    mode: 0o755,
                    is_dir: true
                },
                Exposed {
                    path: dir.path().join("master.key"),
                    mode: 0o640,
                    is_dir: false
                },
            ]
        );
    }
}
