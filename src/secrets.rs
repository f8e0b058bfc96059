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
    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let mut key = vec![0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    write_private(&path, STANDARD.encode(&key).as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new key");
    Ok(key)
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
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
    }
}
