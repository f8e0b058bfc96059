//! What a terminal remembers across a power cut: its STAN counter and link sequence, the advice
//! it still owes the host, and its batch totals. Written atomically (temporary file, fsync,
//! rename) before every step that depends on it, so a restart resumes where the power went.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use terminal_link::messages::{RequestKey, Totals};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Key {
    pub terminal_id: String,
    pub stan: u32,
    pub local_time: NaiveDateTime,
}

impl From<&RequestKey> for Key {
    fn from(key: &RequestKey) -> Self {
        Self {
            terminal_id: key.terminal_id.clone(),
            stan: key.stan,
            local_time: key.local_time,
        }
    }
}

impl From<&Key> for RequestKey {
    fn from(key: &Key) -> Self {
        Self {
            terminal_id: key.terminal_id.clone(),
            stan: key.stan,
            local_time: key.local_time,
        }
    }
}

/// An advice the host must get before the terminal does anything else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Pending {
    /// A request was sent and no answer was taken: reverse it.
    Uncertain { key: Key, amount_minor: i64 },
    /// Reverse an approval (printer out, or the answer came too late).
    Reverse { key: Key, amount_minor: i64 },
    /// The receipt printed: complete the approval.
    Complete { key: Key, amount_minor: i64 },
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DayTotals {
    pub purchases: (u64, i64),
    pub refunds: (u64, i64),
    pub reversals: (u64, i64),
}

impl DayTotals {
    pub fn side(pair: (u64, i64)) -> Totals {
        Totals {
            count: pair.0,
            amount_minor: pair.1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub next_stan: u32,
    pub next_seq: u8,
    pub pending: Option<Pending>,
    /// By local date `YYYY-MM-DD`.
    pub totals: BTreeMap<String, DayTotals>,
    #[serde(skip)]
    path: Option<PathBuf>,
}

impl State {
    /// Loads the state file, or starts fresh (STAN 1) when there is none.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut state = match path.filter(|p| p.exists()) {
            Some(path) => serde_json::from_slice::<State>(&std::fs::read(path)?)?,
            None => State {
                next_stan: 1,
                next_seq: rand::random(),
                pending: None,
                totals: BTreeMap::new(),
                path: None,
            },
        };
        state.path = path.map(Path::to_path_buf);
        Ok(state)
    }

    pub fn save(&self) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let temporary = path.with_extension("tmp");
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&serde_json::to_vec_pretty(self)?)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// The next STAN, counted before it is used so a restart never reuses one.
    pub fn take_stan(&mut self) -> u32 {
        let stan = self.next_stan;
        self.next_stan = if stan >= 999_999 { 1 } else { stan + 1 };
        stan
    }

    pub fn day(&mut self, date: &str) -> &mut DayTotals {
        self.totals.entry(date.to_string()).or_default()
    }
}
