//! Keys the service needs but must not keep in the database: the JWT signing key and the PIN key.
//! Each comes from configuration when given, otherwise it is generated once into the data directory
//! (mode 0600) and reused on every start, so tokens and PINs survive restarts.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;

/// Keys are 32 random bytes (256 bits).
const KEY_BYTES: usize = 32;

/// The configured key (base64), or the one in `data_dir/file_name`; never creates one (for
/// commands that work on what a server already encrypted).
pub fn load_existing(
    configured: Option<&str>,
    data_dir: &Path,
    file_name: &str,
) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(file_name);
    anyhow::ensure!(
        configured.is_some() || path.exists(),
        "{} does not exist: give the key the server uses (--pin-key or SSN_PIN_KEY) or the right --data-dir",
        path.display()
    );
    load_or_create(configured, data_dir, file_name)
}

/// Returns the configured key (base64), or the one in `data_dir/file_name`, creating it if absent.
pub fn load_or_create(
    configured: Option<&str>,
    data_dir: &Path,
    file_name: &str,
) -> anyhow::Result<Vec<u8>> {
    if let Some(encoded) = configured {
        let key = STANDARD
            .decode(encoded.trim())
            .context("a configured key must be base64")?;
        anyhow::ensure!(
            key.len() >= KEY_BYTES,
            "a configured key must be at least 32 bytes"
        );
        return Ok(key);
    }
    let path: PathBuf = data_dir.join(file_name);
    if path.exists() {
        let key = STANDARD
            .decode(fs::read_to_string(&path)?.trim())
            .with_context(|| format!("{} is not base64", path.display()))?;
        anyhow::ensure!(key.len() >= KEY_BYTES, "{} is too short", path.display());
        return Ok(key);
    }
    if !data_dir.exists() {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        // The new directory's own entry, too.
        if let Some(parent) = data_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_directory(parent)?;
        }
    }
    let mut key = vec![0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    if !publish_private(&path, STANDARD.encode(&key).as_bytes())? {
        // Another process starting on the same directory published its key first: use that one.
        return load_or_create(None, data_dir, file_name);
    }
    tracing::info!(path = %path.display(), "generated a new key");
    Ok(key)
}

/// Puts `contents` at `path` durably before anything is encrypted under it: written and synced
/// under a temporary name, linked to `path` (never replacing a key that is there: answers
/// `false` then), and the directory synced, so a power cut leaves either no key file or the
/// whole key, never an empty file nor a key whose directory entry was lost while data encrypted
/// under it survived.
pub(crate) fn publish_private(path: &Path, contents: &[u8]) -> anyhow::Result<bool> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(error) => {
            return Err(error).with_context(|| format!("creating {}", path.display()));
        }
    }
    sync_directory(dir)?;
    Ok(true)
}

/// Makes a directory's entries durable (a new file's name survives a power cut).
pub(crate) fn sync_directory(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|handle| handle.sync_all())
            .with_context(|| format!("syncing directory {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_reused_on_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(None, dir.path(), "k.key").unwrap();
        let second = load_or_create(None, dir.path(), "k.key").unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
        assert!(load_or_create(Some("c2hvcnQ="), dir.path(), "k.key").is_err());
        // Only the key is left in the directory, readable by its owner alone.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["k.key"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("k.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_key_already_published_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        assert!(publish_private(&path, b"first").unwrap());
        assert!(!publish_private(&path, b"second").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"first");
    }
}
