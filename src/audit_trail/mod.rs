//! The tamper-evident audit trail. Every audit entry and every ledger transfer is sealed into one
//! hash chain shortly after it commits (`seal`, every few seconds in the server); each closed
//! business date gets a head signed with Ed25519 over the Merkle tree (RFC 6962) of the links
//! sealed since the previous head (`sign_closed_dates`), which the payout file carries to the
//! bank. `verify` recomputes everything from the rows and names the first entry that was altered,
//! removed or inserted; `proof` exports one entry's inclusion proof for an inspector, and
//! `check_proof` checks one with nothing but the file.
//!
//! Limits, by design: an entry is protected once sealed (seconds after it commits), and a
//! rewrite of the whole chain is caught from the last signed head backwards; what was sealed
//! after the last head is protected by the chain only until the next date closes.

pub mod signing;

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        chain::{chain_hash, parse_hash, ChainSource, HeadStatement, GENESIS},
        merkle::{self, Hash, RootBuilder},
    },
    model::audit_chain::{AuditHead, ChainLink},
    store::Store,
};
use signing::{signature_holds, AuditSigner};

/// How often the server seals new entries and signs the heads of newly closed dates.
pub const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Seals and signs every `every` while the server runs.
pub fn spawn_sealer(
    store: Arc<dyn Store>,
    signer: Arc<AuditSigner>,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::every(every, move || {
        let (store, signer) = (store.clone(), signer.clone());
        async move {
            if let Err(error) = seal(&store).await {
                tracing::warn!(%error, "sealing the audit trail failed; will retry");
                return;
            }
            match sign_closed_dates(&store, &signer).await {
                Ok(heads) => {
                    for head in heads {
                        tracing::info!(
                            business_date = %head.business_date,
                            first_seq = head.first_seq,
                            last_seq = head.last_seq,
                            "audit head signed"
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "signing audit heads failed; will retry"),
            }
        }
    })
}

/// Entries of each source a sealing transaction takes.
const SEAL_BATCH: u32 = 500;
/// Times a sealer reads again after another sealer moved first.
const SEAL_RACES: u32 = 5;
/// Links read a page when recomputing.
const READ_PAGE: u32 = 5_000;
/// An entry dated this long before the close of a date whose head comes before it in the chain
/// was written into a closed period: reported as inserted. (Longer than any transaction runs:
/// an entry is dated when its transaction starts and sealed after it commits.)
const BACKDATED_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// Seals every entry committed so far; answers how many it linked. Another sealer (another
/// server, `ssn audit seal`) moving first makes this one read again, a few times at most.
pub async fn seal(store: &Arc<dyn Store>) -> anyhow::Result<u64> {
    let mut sealed = 0;
    let mut races = 0;
    loop {
        match store.audit_chain().seal_next(SEAL_BATCH).await {
            Ok(0) => return Ok(sealed),
            Ok(linked) => sealed += linked,
            Err(crate::store::StoreError::LostRace(_)) if races < SEAL_RACES => races += 1,
            Err(error) => return Err(error.into()),
        }
    }
}

/// The Merkle root of links `first..=last` and the chain hash of `last` (or `before` when the
/// range is empty), read page by page.
async fn range_root(
    store: &Arc<dyn Store>,
    first: i64,
    last: i64,
    before: Hash,
) -> anyhow::Result<(Hash, Hash)> {
    let mut root = RootBuilder::default();
    let mut chain = before;
    let mut after = first - 1;
    while after < last {
        let page = store.audit_chain().links(after, READ_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for link in page.iter().take_while(|link| link.seq <= last) {
            root.push(hash_of(&link.entry_hash, link.seq)?);
            chain = hash_of(&link.chain_hash, link.seq)?;
            after = link.seq;
        }
        if page.last().is_some_and(|link| link.seq > last) {
            break;
        }
    }
    Ok((root.root(), chain))
}

fn hash_of(bytes: &[u8], seq: i64) -> anyhow::Result<Hash> {
    Hash::try_from(bytes).with_context(|| format!("link {seq} holds no SHA-256 hash"))
}

/// Seals what is new, then signs a head for every closed date that has none, oldest first: each
/// covers the links sealed after the previous head. Answers the heads it stored.
pub async fn sign_closed_dates(
    store: &Arc<dyn Store>,
    signer: &AuditSigner,
) -> anyhow::Result<Vec<AuditHead>> {
    let dates = store.audit_chain().closed_dates_without_head().await?;
    if dates.is_empty() {
        return Ok(Vec::new());
    }
    seal(store).await?;
    let mut signed = Vec::new();
    for date in dates {
        let heads = store.audit_chain().heads().await?;
        let previous = heads.last();
        let first = previous.map_or(1, |head| head.last_seq + 1);
        let before = match previous {
            Some(head) => parse_hash(&head.chain_hash).context("the last head's chain hash")?,
            None => GENESIS,
        };
        let last = store
            .audit_chain()
            .last_link()
            .await?
            .map_or(0, |link| link.seq)
            .max(first - 1);
        let (root, chain) = range_root(store, first, last, before).await?;
        let statement = HeadStatement {
            business_date: date.business_date.clone(),
            first_seq: first,
            last_seq: last,
            root,
            chain,
            signed_at: crate::store::now(),
        };
        let head = AuditHead {
            business_date: statement.business_date.clone(),
            first_seq: first,
            last_seq: last,
            root_hash: hex::encode(root),
            chain_hash: hex::encode(chain),
            signed_at: statement.signed_at,
            public_key: signer.public_key_hex(),
            signature: signer.sign(&statement),
        };
        if store.audit_chain().insert_head(head.clone()).await? {
            signed.push(head);
        } else {
            // Another server signed first; its heads stand, and this pass stops.
            break;
        }
    }
    Ok(signed)
}

/// A head as the payout file carries it: its signed statement on one line (each line break
/// written as `;`), then `;public_key=` and `;signature=`. The statement is the text before
/// `;public_key=` with `;` read back as line breaks.
pub fn payout_text(head: &AuditHead) -> anyhow::Result<String> {
    let statement = statement_of(head)?.message();
    Ok(format!(
        "{}public_key={};signature={}",
        statement.replace('\n', ";"),
        head.public_key,
        head.signature
    ))
}

/// The date's head for its payout file, signed now if the server has not yet (the date is
/// closed before it is settled); `None`, logged, when it cannot be.
pub async fn payout_head(
    store: &Arc<dyn Store>,
    signer: &AuditSigner,
    business_date: &str,
) -> Option<String> {
    let head = async {
        sign_closed_dates(store, signer).await?;
        match store.audit_chain().head(business_date).await? {
            Some(head) => payout_text(&head).map(Some),
            None => Ok(None),
        }
    };
    match head.await {
        Ok(head) => head,
        Err(error) => {
            tracing::warn!(%error, business_date, "no audit head for the payout file");
            None
        }
    }
}

/// A head's statement, as it was signed.
pub fn statement_of(head: &AuditHead) -> anyhow::Result<HeadStatement> {
    Ok(HeadStatement {
        business_date: head.business_date.clone(),
        first_seq: head.first_seq,
        last_seq: head.last_seq,
        root: parse_hash(&head.root_hash).context("the head's root")?,
        chain: parse_hash(&head.chain_hash).context("the head's chain hash")?,
        signed_at: head.signed_at,
    })
}

/// What `verify` found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The entry's row no longer hashes to what was sealed.
    Altered,
    /// A sealed entry's row is gone, or links are missing from the chain.
    Removed,
    /// An entry was written into a period already closed and signed.
    Inserted,
    /// A link's hashes do not follow from the one before: the chain was rewritten.
    ChainBroken,
    /// A head's root or chain hash differs from the chain's, or its range does not follow.
    HeadMismatch,
    /// A head's signature does not hold under any trusted key.
    BadSignature,
}

impl ProblemKind {
    /// The kind as the JSON report names it.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::Altered => "altered",
            ProblemKind::Removed => "removed",
            ProblemKind::Inserted => "inserted",
            ProblemKind::ChainBroken => "chain_broken",
            ProblemKind::HeadMismatch => "head_mismatch",
            ProblemKind::BadSignature => "bad_signature",
        }
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProblemKind::Altered => "altered",
            ProblemKind::Removed => "removed",
            ProblemKind::Inserted => "inserted",
            ProblemKind::ChainBroken => "chain broken",
            ProblemKind::HeadMismatch => "head mismatch",
            ProblemKind::BadSignature => "bad signature",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The link, when the problem is at one.
    pub seq: Option<i64>,
    /// `audit` or `transfer`, when an entry is named.
    pub source: Option<String>,
    pub entry_id: Option<uuid::Uuid>,
    /// The head's date, when a head is named.
    pub business_date: Option<String>,
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(seq) = self.seq {
            write!(f, " at link {seq}")?;
        }
        if let (Some(source), Some(id)) = (&self.source, self.entry_id) {
            write!(f, ": {source} {id}")?;
        }
        if let Some(date) = &self.business_date {
            write!(f, " (head of {date})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// What `verify` read and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub links: u64,
    pub heads: u64,
    /// Entries committed but not sealed yet (newer than the last head: not a problem).
    pub unsealed: u64,
    /// Closed dates whose head is not signed yet (the server signs them within seconds).
    pub unsigned_dates: Vec<String>,
    /// In chain order; the first is the first thing that was changed.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Entries in no link read at most per source (the oldest first).
const UNCHAINED_READ: u32 = 100_000;

/// Problems listed at most (the count goes on).
const MAX_PROBLEMS: usize = 1_000;

struct Verifier<'a> {
    keys: &'a [VerifyingKey],
    report: VerifyReport,
    heads: Vec<AuditHead>,
    /// The next head to finish, by index in `heads`.
    next_head: usize,
    /// The close time of the newest head the chain has passed.
    passed_close: Option<DateTime<Utc>>,
    root: RootBuilder,
    chain: Hash,
    seq: i64,
}

impl Verifier<'_> {
    fn problem(&mut self, kind: ProblemKind, link: Option<&ChainLink>, detail: String) {
        if self.report.problems.len() >= MAX_PROBLEMS {
            return;
        }
        self.report.problems.push(Problem {
            kind,
            seq: link.map(|l| l.seq),
            source: link.map(|l| l.source.clone()),
            entry_id: link.map(|l| l.entry_id),
            business_date: None,
            detail,
        });
    }

    fn head_problem(&mut self, kind: ProblemKind, head: &AuditHead, detail: String) {
        if self.report.problems.len() >= MAX_PROBLEMS {
            return;
        }
        self.report.problems.push(Problem {
            kind,
            seq: None,
            source: None,
            entry_id: None,
            business_date: Some(head.business_date.clone()),
            detail,
        });
    }

    /// Checks one link against the one before and against its entry (`None`: the row is gone;
    /// otherwise its recomputed hash and its time).
    fn link(&mut self, link: &ChainLink, entry: Option<(Hash, DateTime<Utc>)>) {
        self.report.links += 1;
        if link.seq != self.seq + 1 {
            self.problem(
                ProblemKind::Removed,
                Some(link),
                format!("links {} to {} are missing", self.seq + 1, link.seq - 1),
            );
        }
        let (Ok(entry_hash), Ok(prev), Ok(stored_chain)) = (
            Hash::try_from(link.entry_hash.as_slice()),
            Hash::try_from(link.prev_hash.as_slice()),
            Hash::try_from(link.chain_hash.as_slice()),
        ) else {
            self.problem(
                ProblemKind::ChainBroken,
                Some(link),
                "the link holds no SHA-256 hash".into(),
            );
            self.seq = link.seq;
            return;
        };
        if prev != self.chain || chain_hash(&prev, &entry_hash) != stored_chain {
            self.problem(
                ProblemKind::ChainBroken,
                Some(link),
                "its chain hash does not follow from the link before".into(),
            );
        }
        match entry {
            None => self.problem(
                ProblemKind::Removed,
                Some(link),
                "the sealed entry's row is gone".into(),
            ),
            Some((hash, _)) if hash != entry_hash => self.problem(
                ProblemKind::Altered,
                Some(link),
                "the row no longer hashes to what was sealed".into(),
            ),
            Some((_, at)) => {
                if let Some(closed) = self.passed_close {
                    if at < closed - BACKDATED_AFTER {
                        self.problem(
                            ProblemKind::Inserted,
                            Some(link),
                            format!(
                                "dated {} but sealed after a head signed at {}",
                                crate::domain::chain::timestamp(at),
                                crate::domain::chain::timestamp(closed)
                            ),
                        );
                    }
                }
            }
        }
        // Go on from the stored hash, so one change is reported once, not at every later link.
        self.chain = stored_chain;
        self.seq = link.seq;
        self.root.push(entry_hash);
        self.finish_heads_through(link.seq);
    }

    /// Checks every head that ends at or before `seq`.
    fn finish_heads_through(&mut self, seq: i64) {
        while let Some(head) = self.heads.get(self.next_head).cloned() {
            if head.last_seq > seq {
                break;
            }
            self.finish_head(&head);
        }
    }

    fn finish_head(&mut self, head: &AuditHead) {
        self.next_head += 1;
        self.report.heads += 1;
        let root = std::mem::take(&mut self.root).root();
        match statement_of(head) {
            Err(error) => self.head_problem(ProblemKind::HeadMismatch, head, error.to_string()),
            Ok(statement) => {
                if statement.root != root {
                    self.head_problem(
                        ProblemKind::HeadMismatch,
                        head,
                        format!(
                            "its Merkle root is not that of links {} to {}",
                            head.first_seq, head.last_seq
                        ),
                    );
                } else if statement.chain != self.chain {
                    self.head_problem(
                        ProblemKind::HeadMismatch,
                        head,
                        format!("its chain hash is not link {}'s", head.last_seq),
                    );
                }
                if !self
                    .keys
                    .iter()
                    .any(|key| signature_holds(key, &statement, &head.signature))
                {
                    self.head_problem(
                        ProblemKind::BadSignature,
                        head,
                        "its signature does not hold under the trusted key".into(),
                    );
                }
            }
        }
        self.passed_close = Some(head.signed_at);
    }
}

/// Recomputes the chain from the rows and checks every head against it and its signature.
pub async fn verify(
    store: &Arc<dyn Store>,
    keys: &[VerifyingKey],
    mut progress: impl FnMut(u64),
) -> anyhow::Result<VerifyReport> {
    let chain = store.audit_chain();
    let heads = chain.heads().await?;
    let mut verifier = Verifier {
        keys,
        report: VerifyReport::default(),
        heads: heads.clone(),
        next_head: 0,
        passed_close: None,
        root: RootBuilder::default(),
        chain: GENESIS,
        seq: 0,
    };
    // Heads must follow one another.
    let mut expected_first = 1;
    for head in &heads {
        if head.first_seq != expected_first {
            verifier.head_problem(
                ProblemKind::HeadMismatch,
                head,
                format!(
                    "it starts at link {} where the head before ended at {}: a head was removed",
                    head.first_seq,
                    expected_first - 1
                ),
            );
        }
        expected_first = head.last_seq + 1;
    }
    // Empty heads at the start finish before any link.
    verifier.finish_heads_through(0);
    let mut after = 0;
    loop {
        let page = chain.links(after, READ_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let entries = entries_of(store, &page).await?;
        for link in &page {
            let entry = entries.get(&(link.source.clone(), link.entry_id)).copied();
            verifier.link(link, entry);
        }
        progress(verifier.report.links);
    }
    for head in heads
        .iter()
        .skip(verifier.next_head)
        .cloned()
        .collect::<Vec<_>>()
    {
        if head.last_seq > verifier.seq {
            verifier.head_problem(
                ProblemKind::Removed,
                &head,
                format!(
                    "it covers links to {} but the chain ends at {}",
                    head.last_seq, verifier.seq
                ),
            );
            verifier.next_head += 1;
        } else {
            verifier.finish_head(&head);
        }
    }
    // Entries in no link: new ones wait for the sealer; one dated inside a signed period was
    // written behind the chain's back.
    let latest_close = heads.iter().map(|head| head.signed_at).max();
    for source in ChainSource::ALL {
        // Oldest first: a backdated row is among the first, however many wait.
        for (id, at) in chain.unchained(source, UNCHAINED_READ).await? {
            match latest_close {
                Some(closed) if at < closed - BACKDATED_AFTER => {
                    if verifier.report.problems.len() < MAX_PROBLEMS {
                        verifier.report.problems.push(Problem {
                            kind: ProblemKind::Inserted,
                            seq: None,
                            source: Some(source.as_str().to_string()),
                            entry_id: Some(id),
                            business_date: None,
                            detail: format!(
                                "in no link, dated {} before the last head was signed",
                                crate::domain::chain::timestamp(at)
                            ),
                        });
                    }
                }
                _ => verifier.report.unsealed += 1,
            }
        }
    }
    verifier.report.unsigned_dates = chain
        .closed_dates_without_head()
        .await?
        .into_iter()
        .map(|date| date.business_date)
        .collect();
    Ok(verifier.report)
}

/// The recomputed hash and time of each entry of `page` that still exists.
async fn entries_of(
    store: &Arc<dyn Store>,
    page: &[ChainLink],
) -> anyhow::Result<HashMap<(String, uuid::Uuid), (Hash, DateTime<Utc>)>> {
    let ids_of = |source: ChainSource| -> Vec<uuid::Uuid> {
        page.iter()
            .filter(|link| link.source == source.as_str())
            .map(|link| link.entry_id)
            .collect()
    };
    let mut found = HashMap::new();
    for chunk in ids_of(ChainSource::Audit).chunks(1_000) {
        for row in store.audit_chain().audit_entries(chunk).await? {
            found.insert(
                ("audit".to_string(), row.id),
                (row.canonical().hash(), row.at),
            );
        }
    }
    for chunk in ids_of(ChainSource::Transfer).chunks(1_000) {
        for row in store.audit_chain().transfer_entries(chunk).await? {
            found.insert(
                ("transfer".to_string(), row.id),
                (row.canonical().hash(), row.created_at),
            );
        }
    }
    Ok(found)
}

/// One entry's place in a signed head, for an inspector: the entry as encoded, the audit path
/// to the head's root, and the signed head.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InclusionProof {
    pub source: String,
    pub entry_id: uuid::Uuid,
    pub seq: i64,
    /// The entry's canonical encoding (base64): its SHA-256 with a 0x00 before is `entry_hash`.
    pub canonical_entry: String,
    pub entry_hash: String,
    /// The leaf's index in the head's tree (`seq - first_seq`) and the tree's size.
    pub leaf_index: u64,
    pub tree_size: u64,
    /// RFC 6962 audit path, from the leaf up (hex).
    pub audit_path: Vec<String>,
    pub head: ProofHead,
}

/// A signed head as a proof carries it: the head and the exact text its signature covers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProofHead {
    #[serde(flatten)]
    pub head: AuditHead,
    /// The exact bytes signed (UTF-8).
    pub signed_statement: String,
}

/// Why a proof cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("no {0} entry has that id")]
    NotFound(ChainSource),
    #[error("the entry is not sealed yet; try again in a few seconds")]
    NotSealed,
    #[error("the entry's date is not closed and signed yet; a proof exists once its head is")]
    NoHead,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The inclusion proof of one entry in the head that covers it.
pub async fn proof(
    store: &Arc<dyn Store>,
    source: ChainSource,
    entry_id: uuid::Uuid,
) -> Result<InclusionProof, ProofError> {
    let chain = store.audit_chain();
    let canonical = match source {
        ChainSource::Audit => chain
            .audit_entries(&[entry_id])
            .await
            .map_err(anyhow::Error::from)?
            .first()
            .map(|row| row.canonical()),
        ChainSource::Transfer => chain
            .transfer_entries(&[entry_id])
            .await
            .map_err(anyhow::Error::from)?
            .first()
            .map(|row| row.canonical()),
    }
    .ok_or(ProofError::NotFound(source))?;
    let link = chain
        .find_link(source, entry_id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(ProofError::NotSealed)?;
    let head = chain
        .heads()
        .await
        .map_err(anyhow::Error::from)?
        .into_iter()
        .find(|head| head.first_seq <= link.seq && link.seq <= head.last_seq)
        .ok_or(ProofError::NoHead)?;
    let hashes = chain
        .entry_hashes(head.first_seq, head.last_seq)
        .await
        .map_err(anyhow::Error::from)?
        .iter()
        .map(|bytes| Hash::try_from(bytes.as_slice()).context("a link holds no SHA-256 hash"))
        .collect::<anyhow::Result<Vec<Hash>>>()?;
    let index = usize::try_from(link.seq - head.first_seq).context("leaf index")?;
    let path = merkle::inclusion_proof(&hashes, index).context("the head's links are missing")?;
    let statement = statement_of(&head)?;
    Ok(InclusionProof {
        source: source.as_str().to_string(),
        entry_id,
        seq: link.seq,
        canonical_entry: STANDARD.encode(canonical.bytes()),
        entry_hash: hex::encode(&link.entry_hash),
        leaf_index: index as u64,
        tree_size: hashes.len() as u64,
        audit_path: path.iter().map(hex::encode).collect(),
        head: ProofHead {
            head,
            signed_statement: statement.message(),
        },
    })
}

/// Checks a proof with nothing but itself and the key the inspector trusts: the encoded entry
/// hashes to the leaf, the path leads to the head's root, and the head is signed by that key.
pub fn check_proof(proof: &InclusionProof, key: &VerifyingKey) -> anyhow::Result<()> {
    let encoded = STANDARD
        .decode(&proof.canonical_entry)
        .context("canonical_entry is not base64")?;
    let leaf = merkle::leaf_hash(&encoded);
    anyhow::ensure!(
        hex::encode(leaf) == proof.entry_hash,
        "the entry does not hash to entry_hash"
    );
    let path = proof
        .audit_path
        .iter()
        .map(|text| parse_hash(text).context("audit_path holds a value that is no hash"))
        .collect::<anyhow::Result<Vec<Hash>>>()?;
    let head = &proof.head.head;
    let statement = statement_of(head)?;
    anyhow::ensure!(
        statement.tree_size() as u64 == proof.tree_size,
        "tree_size is not the head's"
    );
    anyhow::ensure!(
        merkle::verify_inclusion(
            &leaf,
            proof.leaf_index,
            proof.tree_size,
            &path,
            &statement.root
        ),
        "the audit path does not lead to the head's root"
    );
    anyhow::ensure!(
        signature_holds(key, &statement, &head.signature),
        "the head's signature does not hold under that key"
    );
    Ok(())
}
