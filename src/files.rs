//! Owner-only files. The data directory and everything the portal creates in it (the SQLite
//! database with its `-wal`/`-shm`, the cookie key, `mail/` and its `.eml` files) are 0700
//! directories and 0600 files whatever the process umask: modes are set explicitly when
//! creating, and tightened at start where an older version left them wider.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` (and missing parents) as 0700 directories, and makes an existing `path`
/// 0700 too.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    tighten(path, DIR_MODE)
}

/// Creates the empty file `path` with mode 0600 if it does not exist; makes an existing one
/// owner-only.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)?;
    tighten(path, FILE_MODE)
}

/// Writes a new file (it must not exist) with mode 0600.
pub fn write_new_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Removes group and other permissions from an existing file or directory (no-op if it is
/// already owner-only).
pub fn tighten(path: &Path, mode: u32) -> std::io::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode();
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Makes the SQLite database at `path` owner-only before SQLite opens it: creates it 0600 if
/// missing (SQLite then gives its `-wal` and `-shm` the same mode) and tightens an existing
/// database and its `-wal`/`-shm` files.
pub fn private_sqlite_file(path: &Path) -> std::io::Result<()> {
    private_file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        if side.exists() {
            tighten(side, FILE_MODE)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_owner_only_and_existing_ones_are_tightened() {
        let tmp = tempfile_dir();
        let dir = tmp.join("a/b");
        private_dir(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.join("a")), 0o700);
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"x", "content kept");
        write_new_private_file(&dir.join("g"), b"y").unwrap();
        assert_eq!(mode(&dir.join("g")), 0o600);
        assert!(write_new_private_file(&dir.join("g"), b"z").is_err());
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("portal-files-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&p).unwrap();
        p
    }
}
