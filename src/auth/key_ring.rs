//! Rotatable keys: a base key (id 0: the configured or first generated key) and numbered keys
//! in the data directory (`PREFIX-N.key`, N >= 1, created by a rotation). The newest is used for
//! new values; every key present opens what was made under it, so values (and tokens) made
//! before a rotation stay readable until they are re-encrypted (or expire) and the key is
//! retired by removing its file.
//!
//! A running server learns of a new key without a restart: it reads the directory again before
//! making a value under the newest key, and when it meets a key id newer than any it holds (at
//! most ten times a second, so made-up ids cannot make it read the directory on every request;
//! an older id it does not hold was retired, and is refused without a look).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;
use zeroize::Zeroizing;

/// How often a miss may read the directory again.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_millis(100);

/// The numbered key files of `prefix` in `dir`, by id.
pub fn key_files(dir: &Path, prefix: &str) -> anyhow::Result<BTreeMap<u32, PathBuf>> {
    let mut files = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(error) => return Err(error).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|name| name.strip_prefix(prefix)?.strip_prefix('-'))
            .and_then(|rest| rest.strip_suffix(".key"))
            .and_then(|id| id.parse::<u32>().ok())
            .filter(|id| *id >= 1)
        else {
            continue;
        };
        files.insert(id, entry.path());
    }
    Ok(files)
}

fn read_key(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    let key = STANDARD
        .decode(text.trim())
        .with_context(|| format!("{} is not base64", path.display()))?;
    anyhow::ensure!(key.len() >= 32, "{} is too short", path.display());
    Ok(Zeroizing::new(key))
}

/// Creates the next numbered key of `prefix` in `dir`, durably (synced, its directory too),
/// and answers its id.
pub fn create_next(dir: &Path, prefix: &str) -> anyhow::Result<u32> {
    std::fs::create_dir_all(dir)?;
    loop {
        let next = key_files(dir, prefix)?
            .keys()
            .next_back()
            .map_or(1, |last| last + 1);
        let mut key = Zeroizing::new(vec![0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut key);
        let path = dir.join(format!("{prefix}-{next}.key"));
        let encoded = Zeroizing::new(STANDARD.encode(&*key));
        if crate::secrets::publish_private(&path, encoded.as_bytes())? {
            return Ok(next);
        }
        // Another rotation took that id first: take the next.
    }
}

/// Removes numbered key `id` of `prefix` for good (durably).
pub fn remove(dir: &Path, prefix: &str, id: u32) -> anyhow::Result<()> {
    let path = dir.join(format!("{prefix}-{id}.key"));
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    crate::secrets::sync_directory(dir)
}

/// The keys of one purpose, each turned into what uses it (`T`: a cipher, a signing key).
pub struct KeyRing<T> {
    dir: PathBuf,
    prefix: &'static str,
    make: fn(&[u8]) -> T,
    keys: RwLock<BTreeMap<u32, Arc<T>>>,
    /// When a miss last read the directory (only misses are rate-limited).
    last_miss_reload: Mutex<Option<Instant>>,
}

impl<T> std::fmt::Debug for KeyRing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({}, keys hidden)", self.prefix)
    }
}

impl<T> KeyRing<T> {
    /// The ring of `base` (id 0) and the numbered files of `prefix` in `dir`.
    pub fn open(
        dir: &Path,
        prefix: &'static str,
        base: &[u8],
        make: fn(&[u8]) -> T,
    ) -> anyhow::Result<Self> {
        let ring = Self {
            dir: dir.to_path_buf(),
            prefix,
            make,
            keys: RwLock::new(BTreeMap::from([(0, Arc::new(make(base)))])),
            last_miss_reload: Mutex::new(None),
        };
        ring.reload()?;
        Ok(ring)
    }

    /// Reads the directory again: new keys join, removed (retired) ones leave; 0 always stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let files = key_files(&self.dir, self.prefix)?;
        let known: Vec<u32> = self.ids();
        let mut added = BTreeMap::new();
        for (id, path) in &files {
            if !known.contains(id) {
                added.insert(*id, Arc::new((self.make)(&read_key(path)?)));
            }
        }
        let mut keys = self.keys.write().expect("key ring lock");
        keys.retain(|id, _| *id == 0 || files.contains_key(id));
        keys.extend(added);
        Ok(())
    }

    /// The ids held, oldest first.
    pub fn ids(&self) -> Vec<u32> {
        self.keys
            .read()
            .expect("key ring lock")
            .keys()
            .copied()
            .collect()
    }

    /// The newest key, after looking for one newer than what is held.
    pub fn newest(&self) -> (u32, Arc<T>) {
        if let Err(error) = self.reload() {
            tracing::warn!(%error, prefix = self.prefix, "could not read the key directory; using the keys held");
        }
        let keys = self.keys.read().expect("key ring lock");
        let (id, key) = keys.iter().next_back().expect("key 0 is always held");
        (*id, key.clone())
    }

    /// Key `id`, reading the directory again when it is newer than every key held.
    pub fn get(&self, id: u32) -> Option<Arc<T>> {
        {
            let keys = self.keys.read().expect("key ring lock");
            if let Some(key) = keys.get(&id) {
                return Some(key.clone());
            }
            if keys.keys().next_back().is_some_and(|newest| id < *newest) {
                return None;
            }
        }
        let due = {
            let mut last = self.last_miss_reload.lock().expect("key ring lock");
            let due = last.is_none_or(|at| at.elapsed() >= RELOAD_AT_MOST_EVERY);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due {
            if let Err(error) = self.reload() {
                tracing::warn!(%error, prefix = self.prefix, "could not read the key directory");
            }
        }
        self.keys.read().expect("key ring lock").get(&id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keys_join_and_removed_ones_leave() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open(dir.path(), "k", &[1u8; 32], |key: &[u8]| key.to_vec()).unwrap();
        assert_eq!(ring.newest().0, 0);
        assert_eq!(create_next(dir.path(), "k").unwrap(), 1);
        assert_eq!(create_next(dir.path(), "k").unwrap(), 2);
        assert_eq!(ring.newest().0, 2, "found without a restart");
        assert_eq!(ring.ids(), [0, 1, 2]);
        assert_eq!(*ring.get(0).unwrap(), vec![1u8; 32]);
        remove(dir.path(), "k", 1).unwrap();
        ring.reload().unwrap();
        assert_eq!(ring.ids(), [0, 2]);
        assert!(ring.get(1).is_none());
        // Files of other prefixes and other names are not keys of this ring.
        std::fs::write(dir.path().join("k-x.key"), "AAAA").unwrap();
        std::fs::write(dir.path().join("other-3.key"), "AAAA").unwrap();
        assert_eq!(key_files(dir.path(), "k").unwrap().len(), 1);
    }
}
