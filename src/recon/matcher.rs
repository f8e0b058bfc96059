//! Matching the bank's lines against the host's entries of a date, in memory and without I/O.
//!
//! The host side (completed purchases and refunds of the date) is held compactly: about 64 bytes
//! an entry, RRNs and STANs as integers, terminals, E-Warungs and programs interned. The bank side
//! streams through: each line is decided as it arrives and only exceptions leave. A line matches
//! first on RRN (and direction: a sale, or money going back); a line whose RRN is missing or
//! unknown then matches on terminal, STAN and amount. A host entry is claimed once; a later line
//! for it is a duplicate. Whatever the bank never claimed is host-only at the end.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::{
    domain::ids::{EwarungId, ProgramId},
    model::recon::{Category, CategoryTotal, Direction, HostRow, Payable, ReconException},
    recon::bank_file::{BankLine, Unusable},
};

/// A multiplicative hasher for integer keys: the keys are RRNs and packed ids, not attacker-chosen
/// strings, and SipHash would be most of the matching time.
#[derive(Default)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

const NO_RRN: u64 = u64::MAX;

/// Finds an entry by RRN and direction. RRNs come from a counter, so a day's are nearly a dense
/// range: then a plain array indexed by RRN (filled and read mostly in order, which the cache
/// likes); a hash map when they are spread out.
enum RrnIndex {
    Dense { base: u64, slots: Vec<u32> },
    Sparse(IntMap<u64, u32>),
}

impl RrnIndex {
    const EMPTY: u32 = u32::MAX;

    fn build(entries: &[HostEntry]) -> Self {
        let keys = || {
            entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.rrn != NO_RRN)
                .map(|(i, e)| (rrn_key(e.rrn, e.direction), i as u32))
        };
        let (low, high) = keys().fold((u64::MAX, 0), |(low, high), (key, _)| {
            (low.min(key), high.max(key))
        });
        let span = high.saturating_sub(low).saturating_add(1);
        if low <= high && span <= 4 * entries.len() as u64 + 1024 {
            let mut slots = vec![Self::EMPTY; span as usize];
            for (key, index) in keys() {
                slots[(key - low) as usize] = index;
            }
            RrnIndex::Dense { base: low, slots }
        } else {
            let mut map = IntMap::default();
            map.reserve(entries.len());
            map.extend(keys());
            RrnIndex::Sparse(map)
        }
    }

    fn get(&self, key: u64) -> Option<u32> {
        match self {
            RrnIndex::Dense { base, slots } => key
                .checked_sub(*base)
                .and_then(|offset| slots.get(usize::try_from(offset).ok()?))
                .copied()
                .filter(|&index| index != Self::EMPTY),
            RrnIndex::Sparse(map) => map.get(&key).copied(),
        }
    }
}

/// Lines that wait for the end of the file before matching on terminal, STAN and amount; past
/// this many, the rest are matched as they come, so memory stays bounded whatever the file.
const PENDING_LIMIT: usize = 50_000;

/// A bank line kept until the end of the file.
#[derive(Debug, Clone)]
struct PendingLine {
    line_no: i64,
    terminal_id: String,
    stan: String,
    rrn: String,
    approval_code: String,
    amount_minor: i64,
    entry_type: crate::model::recon::EntryType,
}

impl PendingLine {
    fn from(line: &BankLine<'_>) -> Self {
        Self {
            line_no: line.line_no,
            terminal_id: line.terminal_id.to_string(),
            stan: line.stan.to_string(),
            rrn: line.rrn.to_string(),
            approval_code: line.approval_code.to_string(),
            amount_minor: line.amount_minor,
            entry_type: line.entry_type,
        }
    }

    fn as_line(&self) -> BankLine<'_> {
        BankLine {
            line_no: self.line_no,
            terminal_id: &self.terminal_id,
            stan: &self.stan,
            rrn: &self.rrn,
            approval_code: &self.approval_code,
            amount_minor: self.amount_minor,
            entry_type: self.entry_type,
        }
    }
}

/// One host entry, compact.
#[derive(Debug, Clone)]
struct HostEntry {
    redemption_id: uuid::Uuid,
    rrn: u64,
    amount_minor: i64,
    terminal: u32,
    stan: u32,
    ewarung: u32,
    program: u32,
    approval: [u8; 8],
    direction: Direction,
    /// The bank line that claimed it (0: none yet).
    claimed_by: i64,
}

/// Per-category totals, indexed by `Category::index`.
pub type Totals = [CategoryTotal; 6];

/// The matching state of one run.
pub struct Matcher {
    run_id: uuid::Uuid,
    value_date: String,
    entries: Vec<HostEntry>,
    terminals: Vec<String>,
    terminal_index: HashMap<String, u32, BuildHasherDefault<IntHasher>>,
    /// The E-Warung each known terminal belongs to.
    terminal_ewarung: Vec<u32>,
    ewarungs: Vec<EwarungId>,
    ewarung_index: IntMap<u128, u32>,
    programs: Vec<ProgramId>,
    program_index: IntMap<u128, u32>,
    /// The program of the last entry added (rows come mostly program by program).
    last_program: Option<(ProgramId, u32)>,
    /// RRN (and direction) → entry; built when the first bank line arrives.
    by_rrn: Option<RrnIndex>,
    /// (terminal, STAN, amount, direction) → entry, sorted; built the first time a line needs it.
    by_key: Option<Vec<(u128, u32)>>,
    /// Lines whose RRN matched nothing, decided at the end (see `bank_line`).
    pending: Vec<PendingLine>,
    /// Bank-only lines seen so far, to tell a repeated one as a duplicate.
    bank_only_seen: HashSet<String>,
    totals: Totals,
    /// Per E-Warung (index; `u32::MAX` for unknown terminals).
    per_ewarung: IntMap<u32, Totals>,
    payables: IntMap<u64, (i64, i64)>,
    /// A total overflowed (see `count`).
    overflowed: bool,
}

pub const UNKNOWN_EWARUNG: u32 = u32::MAX;

impl Matcher {
    /// `terminals`: every terminal the host knows, with its E-Warung (to place bank lines that
    /// match nothing).
    pub fn new(
        run_id: uuid::Uuid,
        value_date: &str,
        terminals: impl IntoIterator<Item = (String, EwarungId)>,
    ) -> Self {
        let mut matcher = Self {
            run_id,
            value_date: value_date.to_string(),
            entries: Vec::new(),
            terminals: Vec::new(),
            terminal_index: HashMap::default(),
            terminal_ewarung: Vec::new(),
            ewarungs: Vec::new(),
            ewarung_index: IntMap::default(),
            programs: Vec::new(),
            program_index: IntMap::default(),
            last_program: None,
            by_rrn: None,
            by_key: None,
            pending: Vec::new(),
            bank_only_seen: HashSet::new(),
            totals: Totals::default(),
            overflowed: false,
            per_ewarung: IntMap::default(),
            payables: IntMap::default(),
        };
        for (terminal, ewarung) in terminals {
            let ewarung = matcher.ewarung(ewarung);
            matcher.terminal(&terminal, ewarung);
        }
        matcher
    }

    fn ewarung(&mut self, id: EwarungId) -> u32 {
        let next = self.ewarungs.len() as u32;
        *self.ewarung_index.entry(id.0.as_u128()).or_insert_with(|| {
            self.ewarungs.push(id);
            next
        })
    }

    fn terminal(&mut self, terminal_id: &str, ewarung: u32) -> u32 {
        if let Some(&index) = self.terminal_index.get(terminal_id) {
            return index;
        }
        let index = self.terminals.len() as u32;
        self.terminals.push(terminal_id.to_string());
        self.terminal_ewarung.push(ewarung);
        self.terminal_index.insert(terminal_id.to_string(), index);
        index
    }

    pub fn reserve(&mut self, entries: usize) {
        self.entries.reserve(entries);
    }

    /// Adds one host entry of the date.
    pub fn add_host(&mut self, row: HostRow<'_>) {
        // Most rows name a known terminal of the same E-Warung and the last row's program.
        let known = self
            .terminal_index
            .get(row.terminal_id)
            .copied()
            .filter(|&t| {
                row.ewarung_id.is_none_or(|id| {
                    self.ewarungs
                        .get(self.terminal_ewarung[t as usize] as usize)
                        == Some(&id)
                })
            });
        let (terminal, ewarung) = match (known, row.ewarung_id) {
            (Some(t), _) => (t, self.terminal_ewarung[t as usize]),
            (None, Some(id)) => {
                let ewarung = self.ewarung(id);
                (self.terminal(row.terminal_id, ewarung), ewarung)
            }
            (None, None) => (
                self.terminal(row.terminal_id, UNKNOWN_EWARUNG),
                UNKNOWN_EWARUNG,
            ),
        };
        let program = match self.last_program {
            Some((id, index)) if id == row.program_id => index,
            _ => {
                let next = self.programs.len() as u32;
                let index = *self
                    .program_index
                    .entry(row.program_id.0.as_u128())
                    .or_insert(next);
                if index == next {
                    self.programs.push(row.program_id);
                }
                self.last_program = Some((row.program_id, index));
                index
            }
        };
        let rrn = row.rrn.and_then(parse_rrn).unwrap_or(NO_RRN);
        let mut approval = [0u8; 8];
        if let Some(code) = row.approval_code {
            let bytes = code.as_bytes();
            let n = bytes.len().min(8);
            approval[..n].copy_from_slice(&bytes[..n]);
        }
        self.entries.push(HostEntry {
            redemption_id: row.redemption_id,
            rrn,
            amount_minor: row.amount_minor,
            terminal,
            stan: row.stan.parse().unwrap_or(u32::MAX),
            ewarung,
            program,
            approval,
            direction: row.direction,
            claimed_by: 0,
        });
    }

    pub fn host_entries(&self) -> usize {
        self.entries.len()
    }

    /// Decides one bank line; returns the exception to record, if it is one.
    ///
    /// A line whose RRN finds nothing waits until the end of the file (up to `PENDING_LIMIT`
    /// lines), so that matching on terminal, STAN and amount only takes what no RRN claimed.
    pub fn bank_line(&mut self, line: &BankLine<'_>) -> Option<ReconException> {
        let direction = line.entry_type.direction();
        let entries = &self.entries;
        let index = self.by_rrn.get_or_insert_with(|| RrnIndex::build(entries));
        let by_rrn = parse_rrn(line.rrn).and_then(|rrn| index.get(rrn_key(rrn, direction)));
        if let Some(index) = by_rrn {
            return self.decide(line, Some((index, true)));
        }
        if self.by_key.is_none() && self.pending.len() < PENDING_LIMIT {
            self.pending.push(PendingLine::from(line));
            return None;
        }
        // Past the limit, later lines match as they come; the waiting ones are still decided at
        // the end (and may then find their entry claimed: a duplicate).
        let found = self.by_terminal_stan_amount(line, direction);
        self.decide(line, found)
    }

    /// Decides the lines that waited for a match on terminal, STAN and amount; call once the
    /// whole file has been read. Returns their exceptions, in file order.
    pub fn finish_bank_side(&mut self) -> Vec<ReconException> {
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return Vec::new();
        }
        // One pass over the host side collects the candidates of exactly the keys asked for.
        let mut wanted: IntMap<u128, Vec<u32>> = IntMap::default();
        for line in &pending {
            if let Some(key) = self.line_key(&line.as_line()) {
                wanted.entry(key).or_default();
            }
        }
        for (index, e) in self.entries.iter().enumerate() {
            let key = fallback_key(e.terminal, e.stan, e.amount_minor, e.direction);
            if let Some(candidates) = wanted.get_mut(&key) {
                candidates.push(index as u32);
            }
        }
        let mut exceptions = Vec::new();
        for line in &pending {
            let line = line.as_line();
            let candidates = self
                .line_key(&line)
                .and_then(|key| wanted.get(&key))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let found = candidates
                .iter()
                .find(|&&i| self.entries[i as usize].claimed_by == 0)
                .or(candidates.first())
                .map(|&i| (i, false));
            exceptions.extend(self.decide(&line, found));
        }
        exceptions
    }

    /// The (terminal, STAN, amount, direction) key of a line, when its terminal and STAN can be one.
    fn line_key(&self, line: &BankLine<'_>) -> Option<u128> {
        let &terminal = self.terminal_index.get(line.terminal_id)?;
        let stan: u32 = line.stan.parse().ok()?;
        Some(fallback_key(
            terminal,
            stan,
            line.amount_minor,
            line.entry_type.direction(),
        ))
    }

    /// Claims the host entry found for `line` (matched or amount mismatch), or says why not.
    fn decide(
        &mut self,
        line: &BankLine<'_>,
        found: Option<(u32, bool)>,
    ) -> Option<ReconException> {
        let Some((index, on_rrn)) = found else {
            return Some(self.bank_only(line));
        };
        let entry = &self.entries[index as usize];
        if entry.claimed_by != 0 {
            let detail = format!(
                "the host entry was already claimed by line {}",
                entry.claimed_by
            );
            let ewarung = entry.ewarung;
            let host_amount = entry.amount_minor;
            let redemption = entry.redemption_id;
            self.count(Category::Duplicate, ewarung, line.amount_minor, 0);
            let mut exception =
                self.exception_from_line(Category::Duplicate, line, ewarung, detail);
            exception.host_amount_minor = Some(host_amount);
            exception.redemption_id = Some(redemption);
            return Some(exception);
        }
        self.entries[index as usize].claimed_by = line.line_no;
        let entry = self.entries[index as usize].clone();
        if entry.amount_minor == line.amount_minor {
            self.count(
                Category::Matched,
                entry.ewarung,
                line.amount_minor,
                entry.amount_minor,
            );
            let payable = self
                .payables
                .entry(payable_key(entry.ewarung, entry.program))
                .or_default();
            payable.0 += 1;
            let signed = match entry.direction {
                Direction::Sale => entry.amount_minor,
                Direction::MoneyBack => -entry.amount_minor,
            };
            match payable.1.checked_add(signed) {
                Some(sum) => payable.1 = sum,
                None => self.overflowed = true,
            }
            return None;
        }
        self.count(
            Category::AmountMismatch,
            entry.ewarung,
            line.amount_minor,
            entry.amount_minor,
        );
        let how = if on_rrn { "RRN" } else { "terminal and STAN" };
        let detail = format!(
            "matched on {how}, but the bank has {} and the host {}",
            crate::domain::money::format_minor(line.amount_minor),
            crate::domain::money::format_minor(entry.amount_minor)
        );
        let mut exception =
            self.exception_from_line(Category::AmountMismatch, line, entry.ewarung, detail);
        exception.host_amount_minor = Some(entry.amount_minor);
        exception.redemption_id = Some(entry.redemption_id);
        if exception.rrn.is_none() && entry.rrn != NO_RRN {
            exception.rrn = Some(format!("{:012}", entry.rrn));
        }
        Some(exception)
    }

    /// Records a line that could not be read.
    pub fn unusable(&mut self, line: &Unusable) -> ReconException {
        let ewarung = line
            .terminal_id
            .as_deref()
            .and_then(|t| self.terminal_index.get(t))
            .map_or(UNKNOWN_EWARUNG, |&t| self.terminal_ewarung[t as usize]);
        self.count(Category::Malformed, ewarung, 0, 0);
        ReconException {
            line_no: Some(line.line_no),
            terminal_id: line.terminal_id.clone(),
            stan: line.stan.clone(),
            rrn: line.rrn.clone(),
            detail_code: Some(line.reason.code().to_string()),
            detail_args: Some(json_args(&line.reason.args())),
            ..self.blank(Category::Malformed, ewarung, line.reason.to_string())
        }
    }

    /// Ends the bank side: every unclaimed host entry is host-only. Returns them as exceptions,
    /// in host order, a chunk at a time through `sink`.
    pub fn finish_host_side(&mut self, chunk: usize, mut sink: impl FnMut(Vec<ReconException>)) {
        let mut batch = Vec::with_capacity(chunk);
        for index in 0..self.entries.len() {
            if self.entries[index].claimed_by != 0 {
                continue;
            }
            let entry = self.entries[index].clone();
            self.count(Category::HostOnly, entry.ewarung, 0, entry.amount_minor);
            let approval_len = entry.approval.iter().position(|&b| b == 0).unwrap_or(8);
            let approval = String::from_utf8_lossy(&entry.approval[..approval_len]).into_owned();
            let what = match entry.direction {
                Direction::Sale => "a completed purchase",
                Direction::MoneyBack => "a refund",
            };
            batch.push(ReconException {
                terminal_id: Some(self.terminals[entry.terminal as usize].clone()),
                stan: Some(format!("{:06}", entry.stan)),
                rrn: (entry.rrn != NO_RRN).then(|| format!("{:012}", entry.rrn)),
                approval_code: (!approval.is_empty()).then_some(approval),
                entry_type: Some(
                    match entry.direction {
                        Direction::Sale => "SALE",
                        Direction::MoneyBack => "REFUND",
                    }
                    .into(),
                ),
                host_amount_minor: Some(entry.amount_minor),
                redemption_id: Some(entry.redemption_id),
                ..self.blank(
                    Category::HostOnly,
                    entry.ewarung,
                    format!(
                        "{what} of {} at the host, not in the bank's file",
                        self.value_date
                    ),
                )
            });
            if batch.len() == chunk {
                sink(std::mem::replace(&mut batch, Vec::with_capacity(chunk)));
            }
        }
        if !batch.is_empty() {
            sink(batch);
        }
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Totals per E-Warung (`None`: lines whose terminal the host does not know).
    pub fn per_ewarung(&self) -> Vec<(Option<EwarungId>, Totals)> {
        let mut out: Vec<_> = self
            .per_ewarung
            .iter()
            .map(|(&index, totals)| (self.ewarungs.get(index as usize).copied(), *totals))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// Matched sales less matched refunds, per E-Warung and program.
    pub fn payables(&self) -> Vec<Payable> {
        let mut out: Vec<Payable> = self
            .payables
            .iter()
            .map(|(&key, &(items, amount_minor))| Payable {
                ewarung_id: self.ewarungs[(key >> 32) as usize],
                program_id: self.programs[(key & 0xffff_ffff) as usize],
                items,
                amount_minor,
            })
            .collect();
        out.sort_by_key(|p| (p.ewarung_id, p.program_id));
        out
    }

    fn by_terminal_stan_amount(
        &mut self,
        line: &BankLine<'_>,
        direction: Direction,
    ) -> Option<(u32, bool)> {
        let &terminal = self.terminal_index.get(line.terminal_id)?;
        let stan: u32 = line.stan.parse().ok()?;
        let key = fallback_key(terminal, stan, line.amount_minor, direction);
        let entries = &self.entries;
        let index = self.by_key.get_or_insert_with(|| {
            let mut keys: Vec<(u128, u32)> = entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    (
                        fallback_key(e.terminal, e.stan, e.amount_minor, e.direction),
                        i as u32,
                    )
                })
                .collect();
            keys.sort_unstable();
            keys
        });
        let start = index.partition_point(|(k, _)| *k < key);
        // Prefer an entry nobody claimed yet; else report against the first (a duplicate).
        let candidates = index[start..].iter().take_while(|(k, _)| *k == key);
        let mut first = None;
        for &(_, i) in candidates {
            first.get_or_insert(i);
            if entries[i as usize].claimed_by == 0 {
                return Some((i, false));
            }
        }
        first.map(|i| (i, false))
    }

    fn bank_only(&mut self, line: &BankLine<'_>) -> ReconException {
        let ewarung = self
            .terminal_index
            .get(line.terminal_id)
            .map_or(UNKNOWN_EWARUNG, |&t| self.terminal_ewarung[t as usize]);
        let direction = line.entry_type.direction();
        let key = if line.rrn.is_empty() {
            format!(
                "{direction:?}|{}|{}|{}",
                line.terminal_id, line.stan, line.amount_minor
            )
        } else {
            format!("{direction:?}|{}", line.rrn.trim_start_matches('0'))
        };
        if !self.bank_only_seen.insert(key) {
            self.count(Category::Duplicate, ewarung, line.amount_minor, 0);
            return self.exception_from_line(
                Category::Duplicate,
                line,
                ewarung,
                "repeats an earlier line of the file that the host does not know".into(),
            );
        }
        self.count(Category::BankOnly, ewarung, line.amount_minor, 0);
        let detail = if line.rrn.is_empty() {
            format!(
                "no RRN, and no host entry of {} with this terminal, STAN and amount",
                self.value_date
            )
        } else {
            format!(
                "RRN {} is not a {} of {} at the host",
                line.rrn,
                match direction {
                    Direction::Sale => "completed purchase",
                    Direction::MoneyBack => "refund",
                },
                self.value_date
            )
        };
        self.exception_from_line(Category::BankOnly, line, ewarung, detail)
    }

    fn exception_from_line(
        &self,
        category: Category,
        line: &BankLine<'_>,
        ewarung: u32,
        detail: String,
    ) -> ReconException {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        ReconException {
            line_no: Some(line.line_no),
            terminal_id: some(line.terminal_id),
            stan: some(line.stan),
            rrn: some(line.rrn),
            approval_code: some(line.approval_code),
            entry_type: Some(line.entry_type.as_str().to_string()),
            bank_amount_minor: Some(line.amount_minor),
            ..self.blank(category, ewarung, detail)
        }
    }

    fn blank(&self, category: Category, ewarung: u32, detail: String) -> ReconException {
        ReconException {
            id: uuid::Uuid::now_v7(),
            run_id: self.run_id,
            category: category.as_str().to_string(),
            line_no: None,
            terminal_id: None,
            stan: None,
            rrn: None,
            approval_code: None,
            entry_type: None,
            bank_amount_minor: None,
            host_amount_minor: None,
            ewarung_id: self.ewarungs.get(ewarung as usize).copied(),
            redemption_id: None,
            detail,
            detail_code: None,
            detail_args: None,
            resolved_by: None,
            resolved_at: None,
            resolution: None,
        }
    }

    fn count(&mut self, category: Category, ewarung: u32, bank: i64, host: i64) {
        // Checked: a bank file may carry any number of lines of up to 10 trillion rupiah each.
        // An overflow marks the run, which then fails whole instead of reporting wrapped totals.
        let add = |totals: &mut Totals| -> Option<()> {
            let t = &mut totals[category.index()];
            t.count += 1;
            t.bank_amount_minor = t.bank_amount_minor.checked_add(bank)?;
            t.host_amount_minor = t.host_amount_minor.checked_add(host)?;
            Some(())
        };
        let fits = add(&mut self.totals).is_some()
            && add(self.per_ewarung.entry(ewarung).or_default()).is_some();
        self.overflowed |= !fits;
    }

    /// Whether a total left the range of `i64` minor units (the run must not be recorded).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

/// An RRN as a number, when it is one (so "000000000042" and "42" are the same RRN).
fn parse_rrn(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn rrn_key(rrn: u64, direction: Direction) -> u64 {
    // RRNs are at most 12 digits, far below 2^63.
    rrn << 1 | u64::from(direction == Direction::MoneyBack)
}

fn fallback_key(terminal: u32, stan: u32, amount: i64, direction: Direction) -> u128 {
    (u128::from(terminal) << 96)
        | (u128::from(stan) << 64)
        | (u128::from(amount as u64) << 1)
        | u128::from(direction == Direction::MoneyBack)
}

fn payable_key(ewarung: u32, program: u32) -> u64 {
    u64::from(ewarung) << 32 | u64::from(program)
}

/// Named values as a JSON object of strings.
fn json_args(args: &[(&'static str, String)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = args
        .iter()
        .map(|(name, value)| (name.to_string(), serde_json::Value::from(value.as_str())))
        .collect();
    serde_json::Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::recon::EntryType;

    fn ids() -> (EwarungId, ProgramId) {
        (
            EwarungId(uuid::Uuid::from_u128(1)),
            ProgramId(uuid::Uuid::from_u128(2)),
        )
    }

    fn matcher() -> Matcher {
        let (ewarung, program) = ids();
        let mut m = Matcher::new(
            uuid::Uuid::nil(),
            "2026-11-23",
            [("SMD00001".to_string(), ewarung)],
        );
        for (n, amount, direction) in [
            (1, 10_000, Direction::Sale),
            (2, 20_000, Direction::Sale),
            (3, 30_000, Direction::Sale),
            (4, 40_000, Direction::Sale),
            (1, 10_000, Direction::MoneyBack),
        ] {
            let rrn = format!("{n:012}");
            let stan = format!("{n:06}");
            m.add_host(HostRow {
                redemption_id: uuid::Uuid::from_u128(n),
                terminal_id: "SMD00001",
                stan: &stan,
                rrn: Some(&rrn),
                approval_code: Some("AB12CD"),
                amount_minor: amount,
                ewarung_id: Some(ewarung),
                program_id: program,
                direction,
            });
        }
        m
    }

    fn line<'a>(
        line_no: i64,
        stan: &'a str,
        rrn: &'a str,
        amount: i64,
        kind: EntryType,
    ) -> BankLine<'a> {
        BankLine {
            line_no,
            terminal_id: "SMD00001",
            stan,
            rrn,
            approval_code: "",
            amount_minor: amount,
            entry_type: kind,
        }
    }

    #[test]
    fn every_line_of_either_side_lands_in_exactly_one_category() {
        let mut m = matcher();
        use EntryType::*;
        let lines = [
            // RRN match; the refund of purchase 1 matches its own entry, not the sale's.
            line(2, "000001", "000000000001", 10_000, Sale),
            line(3, "000001", "1", 10_000, Void),
            // Mistyped RRN: matched on terminal, STAN and amount at the end of the file.
            line(4, "000002", "99999", 20_000, Sale),
            // Same RRN, another amount.
            line(5, "000003", "000000000003", 31_000, Sale),
            // Again for entry 1: duplicate.
            line(6, "000001", "000000000001", 10_000, Sale),
            // Unknown to the host, twice.
            line(7, "000009", "000000000009", 5_000, Sale),
            line(8, "000009", "000000000009", 5_000, Sale),
        ];
        let mut exceptions: Vec<ReconException> =
            lines.iter().filter_map(|l| m.bank_line(l)).collect();
        exceptions.extend(m.finish_bank_side());
        let of = |n: i64| {
            exceptions
                .iter()
                .find(|e| e.line_no == Some(n))
                .map_or("matched", |e| {
                    Category::parse(&e.category).unwrap().as_str()
                })
        };
        let decided: Vec<&str> = (2..=8).map(of).collect();
        assert_eq!(
            decided,
            [
                "matched",
                "matched",
                "matched",
                "amount_mismatch",
                "duplicate",
                "bank_only",
                "duplicate"
            ]
        );
        let mut host_only = Vec::new();
        m.finish_host_side(10, |chunk| host_only.extend(chunk));
        assert_eq!(host_only.len(), 1);
        assert_eq!(host_only[0].rrn.as_deref(), Some("000000000004"));
        assert_eq!(host_only[0].approval_code.as_deref(), Some("AB12CD"));
        let t = m.totals();
        let count = |c: Category| t[c.index()].count;
        assert_eq!(count(Category::Matched), 3);
        assert_eq!(count(Category::AmountMismatch), 1);
        assert_eq!(count(Category::Duplicate), 2);
        assert_eq!(count(Category::BankOnly), 1);
        assert_eq!(count(Category::HostOnly), 1);
        // Payable: sales 1 and 2 less refund 1.
        let payables = m.payables();
        assert_eq!(payables.len(), 1);
        assert_eq!((payables[0].items, payables[0].amount_minor), (3, 20_000));
    }

    #[test]
    fn a_line_without_rrn_takes_only_what_no_rrn_claimed() {
        let mut m = matcher();
        // Line 2 has no RRN but fits entry 2; line 3 names entry 2 by RRN later in the file.
        assert!(m
            .bank_line(&line(2, "000002", "", 20_000, EntryType::Sale))
            .is_none());
        assert!(m
            .bank_line(&line(3, "000002", "000000000002", 20_000, EntryType::Sale))
            .is_none());
        let decided = m.finish_bank_side();
        assert_eq!(decided.len(), 1);
        assert_eq!(decided[0].category, "duplicate");
        assert_eq!(decided[0].line_no, Some(2));
    }

    #[test]
    fn a_missing_rrn_with_another_amount_matches_nothing() {
        let mut m = matcher();
        assert!(m
            .bank_line(&line(2, "000002", "", 20_001, EntryType::Sale))
            .is_none());
        let decided = m.finish_bank_side();
        assert_eq!(decided.len(), 1);
        assert_eq!(decided[0].category, "bank_only");
        let mut host_only = 0;
        m.finish_host_side(10, |chunk| host_only += chunk.len());
        assert_eq!(host_only, 5);
    }
}
