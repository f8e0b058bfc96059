//! The redemption rules, written once against [`LedgerTx`] and run as ledger jobs.
//!
//! Authorize checks, in this order: the terminal belongs to the caller's E-Warung (otherwise 58 and
//! nothing is recorded, so nobody can occupy another terminal's request keys); the request key
//! (terminal, STAN, date) is new, or the request is a replay that gets the stored answer byte for
//! byte (a different body under the same key gets 94 and nothing is recorded); the terminal and
//! its E-Warung are active; the card exists and is active; the PIN; the household is active; the
//! type is a purchase (cash is 57); every line is in the program's catalog at or under the cap;
//! the total fits the balance. Every answer from there on is recorded with the request, declines
//! included, so a retried decline stays declined.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;

use crate::{
    auth::card_policy::CardPolicy,
    auth::{pin::PinHasher, terminal_keys::TerminalKeyVault},
    domain::{
        card::CardStatus,
        household::HouseholdStatus,
        ids::{EwarungId, RedemptionId, RefundRequestId, TransferId},
        money::{format_minor, Minor},
        pan,
        purchase::{self, Followup, PurchaseState, Refusal, RequestKind, Step},
        representative,
        terminal::{EwarungStatus, TerminalStatus},
    },
    ledger::{
        tx::{
            AccountOwner, CardWithHousehold, RedemptionLine, RedemptionRow, RefundRequestRow,
            TerminalContext,
        },
        AccountBalance, AccountKind, LedgerJob, LedgerTx, ReadAheadPlan, Transfer, TransferKind,
    },
    pin_check::{self, PinRefusal},
    redemption::{
        request::{
            AuthorizeRequest, BalanceRequest, OriginalRequest, PinEntry, RefundRequest,
            TransactionType,
        },
        response::{ReceiptLine, RequestStatus, StatusReply, TerminalReply},
        ResponseCode,
    },
    store::{ProgramRecord, StoreError, StoreResult},
};
use terminal_link::pin_block;
/// Everything the rules need besides the database.
pub struct RedemptionRules {
    pub pins: Arc<PinHasher>,
    pub cards: Arc<CardPolicy>,
    /// How long an approved purchase's hold waits for the terminal's completion.
    pub hold_timeout: Duration,
    /// Terminals' PIN keys, for PIN blocks.
    pub terminal_keys: Arc<TerminalKeyVault>,
    /// How a card is found by its number (never stored in clear).
    pub pans: Arc<crate::auth::pan_vault::PanVault>,
}

/// The calendar date in Samarinda (WITA) at `at`, ignoring the cut-off and closes: for labels
/// such as the quota period of demo data. Money is dated by [`LedgerTx::business_date`].
pub fn local_date(at: DateTime<Utc>) -> String {
    crate::business_day::format_date(crate::business_day::clock_date(
        at,
        crate::business_day::Cutoff::default(),
    ))
}

/// Authorize a basket. Output: the response body, exactly as stored.
pub struct Authorize {
    pub rules: Arc<RedemptionRules>,
    pub ewarung: EwarungId,
    pub request: AuthorizeRequest,
}

/// What the checks decided, before it is written.
struct Decision {
    reply: TerminalReply,
    state: PurchaseState,
    row: RedemptionRow,
}

#[async_trait]
impl LedgerJob for Authorize {
    type Output = Vec<u8>;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<Vec<u8>> {
        let request = &self.request;
        let terminal_id = request.terminal_id.as_str();
        let local_date = request.local_time.date();
        let skus = request.skus();
        let pan_hash = self.rules.pans.lookup_hash(request.pan.expose());
        tx.read_ahead(&ReadAheadPlan::Authorize {
            terminal_id,
            stan: request.stan.as_str(),
            local_date: &local_date,
            pan_hash: &pan_hash,
            skus: &skus,
        })
        .await?;
        let Some(terminal) = own_terminal(tx, terminal_id, self.ewarung).await? else {
            return Ok(not_your_terminal(terminal_id).to_bytes());
        };
        let fingerprint = request.fingerprint();
        if let Some(existing) = tx
            .find_redemption(terminal_id, request.stan.as_str(), &local_date)
            .await?
        {
            if existing.kind == RequestKind::Purchase && existing.request_hash == fingerprint {
                return Ok(existing.response);
            }
            let reason = if existing.kind == RequestKind::ReversalMarker {
                "this request was already reversed by the terminal"
            } else {
                "this terminal already used the STAN today for a different request"
            };
            let mut reply = TerminalReply::new(ResponseCode::Duplicate, terminal_id).reason(reason);
            reply.stan = Some(request.stan.as_str().to_string());
            reply.local_date = Some(local_date);
            return Ok(reply.to_bytes());
        }

        let now = crate::store::now();
        let today = tx.business_date(now).await?;
        let mut decision = Decision {
            reply: TerminalReply::new(ResponseCode::Approved, terminal_id),
            state: PurchaseState::Declined,
            row: RedemptionRow {
                request_hash: fingerprint,
                ..RedemptionRow::new(
                    &terminal,
                    request.stan.as_str(),
                    &local_date,
                    RequestKind::Purchase,
                    today,
                    now,
                )
            },
        };
        self.decide(tx, &terminal, &pan_hash, &mut decision, now)
            .await?;

        let Decision {
            mut reply,
            state,
            mut row,
        } = decision;
        reply.stan = Some(row.stan.clone());
        reply.local_date = Some(row.local_date.clone());
        reply.card = Some(request.pan.masked());
        let body = reply.to_bytes();
        row.response_code = reply.response_code.code().to_string();
        row.response = body.clone();
        row.state = state;
        let lines = if state == PurchaseState::Held {
            reply
                .receipt
                .as_deref()
                .map(bought_lines)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        tx.insert_redemption(&row, &lines).await?;
        tracing::info!(
            terminal = terminal_id, stan = %row.stan, card = %request.pan.masked(),
            code = reply.response_code.code(), amount = row.amount_minor, "authorize"
        );
        Ok(body)
    }
}

impl Authorize {
    /// Runs the checks in order; the first that fails decides the answer.
    async fn decide(
        &self,
        tx: &mut dyn LedgerTx,
        terminal: &TerminalContext,
        pan_hash: &[u8],
        decision: &mut Decision,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let request = &self.request;
        let decline = |decision: &mut Decision, code: ResponseCode, reason: &str| {
            decision.reply =
                TerminalReply::new(code, &request.terminal_id.to_string()).reason(reason);
        };
        let checked = usable_card(
            tx,
            &self.rules,
            terminal,
            pan_hash,
            request.pan.expose(),
            request.pin_entry(),
        )
        .await?;
        let card = match checked {
            Ok(card) => card,
            Err(refused) => {
                if let Some(card) = &refused.card {
                    decision.row.card_id = Some(card.id);
                    decision.row.household_id = Some(card.household_id);
                }
                decline(decision, refused.code, &refused.reason);
                decision.reply.pin_tries_left = refused.pin_tries_left;
                return Ok(());
            }
        };
        decision.row.card_id = Some(card.id);
        decision.row.household_id = Some(card.household_id);
        match &request.transaction_type {
            TransactionType::Purchase => {}
            TransactionType::Cash(kind) => {
                let reason = format!("{kind} refused: the entitlement buys food, never cash");
                decline(decision, ResponseCode::NotPermitted, &reason);
                return Ok(());
            }
            TransactionType::Other(kind) => {
                let reason = format!("transaction type {kind} is not supported; send purchase");
                decline(decision, ResponseCode::InvalidTransaction, &reason);
                return Ok(());
            }
        }
        if request.lines.is_empty() || request.lines.len() > AuthorizeRequest::MAX_LINES {
            let reason = format!("a basket has 1 to {} lines", AuthorizeRequest::MAX_LINES);
            decline(decision, ResponseCode::InvalidTransaction, &reason);
            return Ok(());
        }
        let entitlement =
            match choose_entitlement(tx, card.household_id, request.program_code.as_deref()).await?
            {
                Ok(found) => found,
                Err((code, reason)) => {
                    decline(decision, code, &reason);
                    return Ok(());
                }
            };
        let (program, account) = entitlement;
        decision.row.program_id = Some(program.id);
        let receipt = match price_basket(tx, &program, request).await? {
            Ok(receipt) => receipt,
            Err(reason) => {
                decline(decision, ResponseCode::InvalidTransaction, &reason);
                return Ok(());
            }
        };
        let Ok(total) = Minor::sum(receipt.iter().map(|(_, amount)| *amount)) else {
            decline(
                decision,
                ResponseCode::InvalidTransaction,
                "the basket's total is out of range",
            );
            return Ok(());
        };
        let total = total.get();
        decision.row.amount_minor = total;
        let Some(available) = account.available() else {
            decline(
                decision,
                ResponseCode::SystemError,
                "the account's totals are out of range",
            );
            return Ok(());
        };
        if total > available {
            decline(
                decision,
                ResponseCode::InsufficientBalance,
                "the basket costs more than the balance",
            );
            decision.reply.balance = Some(Minor::new(available));
            return Ok(());
        }
        let payable = tx
            .ensure_account(
                AccountKind::EwarungPayable,
                program.id,
                AccountOwner::Ewarung(terminal.ewarung_id),
            )
            .await?;
        let db_now = tx.db_now().await?;
        let timeout_at = db_now
            + chrono::Duration::from_std(self.rules.hold_timeout)
                .unwrap_or(chrono::Duration::seconds(120));
        let hold = Transfer {
            id: TransferId::new(),
            program_id: program.id,
            debit_account_id: account.id,
            credit_account_id: payable,
            amount_minor: total,
            kind: TransferKind::Hold,
            pending_id: None,
            timeout_at: Some(timeout_at),
            reference: format!("redemption:{}", decision.row.id),
            created_at: now,
        };
        if !tx.apply_transfer(&hold).await? {
            // Only reachable when something else spent in between; the guard in SQL decides.
            decline(
                decision,
                ResponseCode::InsufficientBalance,
                "the basket costs more than the balance",
            );
            return Ok(());
        }
        let rrn = format!("{:012}", tx.next_rrn().await?);
        let approval_code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        decision.state = PurchaseState::Held;
        decision.row.hold_id = Some(hold.id);
        decision.row.rrn = Some(rrn.clone());
        decision.row.approval_code = Some(approval_code.clone());
        let reply = &mut decision.reply;
        reply.rrn = Some(rrn);
        reply.approval_code = Some(approval_code);
        reply.program_code = Some(program.code.clone());
        reply.amount = Some(Minor::new(total));
        // total <= available (checked above), both non-negative: this cannot wrap.
        reply.balance = Some(Minor::new(available - total));
        reply.hold_expires_at = Some(timeout_at);
        reply.receipt = Some(receipt.into_iter().map(|(line, _)| line).collect());
        Ok(())
    }
}

/// Why an own terminal may not transact, if it may not.
/// Why a request with a card was refused before anything about money: the code and reason
/// the terminal is told, its PIN tries left, and the card when it was found.
struct CardRefused {
    code: ResponseCode,
    reason: String,
    pin_tries_left: Option<u32>,
    card: Option<crate::store::CardRecord>,
}

/// The checks every request with a card passes, in one order (a purchase and a balance inquiry
/// alike): the terminal and its E-Warung may trade, the card exists and is active, the PIN is
/// right, the household may spend. The first that fails decides.
async fn usable_card(
    tx: &mut dyn LedgerTx,
    rules: &RedemptionRules,
    terminal: &TerminalContext,
    pan_hash: &[u8],
    pan: &str,
    pin_entry: Result<PinEntry<'_>, crate::domain::Invalid>,
) -> StoreResult<Result<crate::store::CardRecord, CardRefused>> {
    let refused = |code, reason: String, card: Option<&crate::store::CardRecord>| CardRefused {
        code,
        reason,
        pin_tries_left: None,
        card: card.cloned(),
    };
    if let Some(reason) = terminal_refusal(terminal) {
        return Ok(Err(refused(
            ResponseCode::TerminalNotPermitted,
            reason,
            None,
        )));
    }
    let Some(CardWithHousehold {
        card,
        household_status,
        held_by_request,
        representative_valid_until,
    }) = tx.card_by_pan_hash(pan_hash).await?
    else {
        return Ok(Err(refused(
            ResponseCode::InvalidCard,
            "no such card".into(),
            None,
        )));
    };
    if card.status != CardStatus::Active {
        let reason = format!("the card is {}", card.status);
        return Ok(Err(refused(
            ResponseCode::RestrictedCard,
            reason,
            Some(&card),
        )));
    }
    // A representative's authority runs out at the end of its last day, local time; the
    // office's revocation blocks the card (62 above).
    let today = crate::business_day::local_today(crate::store::now());
    if representative_valid_until.is_some_and(|until| representative::is_past(&until, today)) {
        return Ok(Err(refused(
            ResponseCode::ExpiredCard,
            "the representative's authority has run past its last day".into(),
            Some(&card),
        )));
    }
    if let Err(problem) = verify_pin(tx, rules, terminal, &card, pan, pin_entry).await? {
        let (code, reason, left) = pin_decline(&problem);
        return Ok(Err(CardRefused {
            pin_tries_left: left,
            ..refused(code, reason, Some(&card))
        }));
    }
    if household_status != HouseholdStatus::Active {
        let reason = format!("the household is {household_status}; its balance is kept");
        return Ok(Err(refused(
            ResponseCode::RestrictedCard,
            reason,
            Some(&card),
        )));
    }
    if held_by_request {
        let reason = "a change request (moved away or head deceased) is open for the household; \
                      its balance is kept until the office decides";
        return Ok(Err(refused(
            ResponseCode::HouseholdUnderReview,
            reason.into(),
            Some(&card),
        )));
    }
    Ok(Ok(card))
}

fn terminal_refusal(terminal: &TerminalContext) -> Option<String> {
    if terminal.status != TerminalStatus::Active {
        return Some(format!("the terminal is {}", terminal.status));
    }
    if terminal.ewarung_status != EwarungStatus::Active {
        return Some(format!("the E-Warung is {}", terminal.ewarung_status));
    }
    None
}

/// The terminal, if it exists and belongs to the caller's E-Warung.
async fn own_terminal(
    tx: &mut dyn LedgerTx,
    terminal_id: &str,
    ewarung: EwarungId,
) -> StoreResult<Option<TerminalContext>> {
    Ok(tx
        .terminal(terminal_id)
        .await?
        .filter(|terminal| terminal.ewarung_id == ewarung))
}

fn not_your_terminal(terminal_id: &str) -> TerminalReply {
    TerminalReply::new(ResponseCode::TerminalNotPermitted, terminal_id)
        .reason("the terminal is unknown or not registered to your E-Warung")
}

/// Why the PIN step declined.
enum PinProblem {
    Refused(PinRefusal),
    /// The request came without a PIN or PIN block (the HTTP layer refuses this before).
    Missing,
    /// A PIN block from a terminal that has no PIN key.
    NoTerminalKey,
    /// The block does not decipher to a format 4 PIN for this card under the terminal's key:
    /// no PIN was tried, so no failure is counted against the card.
    UnreadableBlock,
    /// The stored key does not unwrap (another host key, or tampering).
    KeyUnusable,
}

async fn verify_pin(
    tx: &mut dyn LedgerTx,
    rules: &RedemptionRules,
    terminal: &TerminalContext,
    card: &crate::store::CardRecord,
    pan: &str,
    entry: Result<PinEntry<'_>, crate::domain::Invalid>,
) -> StoreResult<Result<(), PinProblem>> {
    let deciphered;
    let pin = match entry {
        Err(_) => return Ok(Err(PinProblem::Missing)),
        Ok(PinEntry::Clear(pin)) => pin,
        Ok(PinEntry::Block(block)) => {
            let Some(wrapped) = terminal.pin_key_wrapped.as_deref() else {
                return Ok(Err(PinProblem::NoTerminalKey));
            };
            let key = match rules.terminal_keys.unwrap(&terminal.terminal_id, wrapped) {
                Ok(key) => key,
                Err(error) => {
                    tracing::error!(%error, "terminal PIN key");
                    return Ok(Err(PinProblem::KeyUnusable));
                }
            };
            // A well-formed block whose PIN is not 4 to 6 digits is unreadable too.
            let digits = pin_block::decipher(&key, &block.0, pan);
            match digits
                .ok()
                .and_then(|digits| crate::domain::pin::Pin::parse(&digits).ok())
            {
                Some(pin) => {
                    deciphered = pin;
                    &deciphered
                }
                None => return Ok(Err(PinProblem::UnreadableBlock)),
            }
        }
    };
    let mut attempts: &mut dyn LedgerTx = tx;
    Ok(
        pin_check::check(&mut attempts, &rules.pins, &rules.cards, card, pan, pin)
            .await?
            .map_err(PinProblem::Refused),
    )
}

fn pin_decline(problem: &PinProblem) -> (ResponseCode, String, Option<u32>) {
    let refusal = match problem {
        PinProblem::Refused(refusal) => refusal,
        PinProblem::Missing => {
            return (ResponseCode::WrongPin, "no PIN was sent".into(), None);
        }
        PinProblem::NoTerminalKey => {
            return (
                ResponseCode::TerminalNotPermitted,
                "the terminal has no PIN key yet; ask the office to provision one".into(),
                None,
            );
        }
        PinProblem::UnreadableBlock => {
            return (
                ResponseCode::WrongPin,
                "the PIN block does not decipher for this card under the terminal's key".into(),
                None,
            );
        }
        PinProblem::KeyUnusable => {
            return (
                ResponseCode::SystemError,
                "the terminal's PIN key cannot be used; ask the office to provision a new one"
                    .into(),
                None,
            );
        }
    };
    match refusal {
        PinRefusal::NotSet => (
            ResponseCode::WrongPin,
            "the card has no PIN yet; ask the office".into(),
            None,
        ),
        PinRefusal::Wrong { remaining } => (
            ResponseCode::WrongPin,
            format!("wrong PIN; {remaining} tries left before the card locks"),
            Some(*remaining),
        ),
        PinRefusal::Locked { until } | PinRefusal::NowLocked { until } => (
            ResponseCode::PinTriesExceeded,
            format!("too many wrong PINs; the card is locked until {until}"),
            Some(0),
        ),
    }
}

/// Finds the program that pays and the household's entitlement in it.
async fn choose_entitlement(
    tx: &mut dyn LedgerTx,
    household: crate::domain::ids::HouseholdId,
    program_code: Option<&str>,
) -> StoreResult<Result<(ProgramRecord, AccountBalance), (ResponseCode, String)>> {
    let accounts = tx.entitlements(household).await?;
    let chosen = match program_code {
        Some(code) => {
            let Some(program) = tx.program_by_code(code).await? else {
                return Ok(Err((
                    ResponseCode::InvalidTransaction,
                    format!("no program {code}"),
                )));
            };
            accounts
                .into_iter()
                .find(|a| a.program_id == program.id)
                .map(|account| (program, account))
        }
        None => match accounts.as_slice() {
            [only] => {
                let only = *only;
                let program = tx.program(only.program_id).await?;
                program.map(|program| (program, only))
            }
            [] => None,
            _ => {
                return Ok(Err((
                    ResponseCode::InvalidTransaction,
                    "the household has several programs; send program_code".into(),
                )))
            }
        },
    };
    Ok(chosen.ok_or((
        ResponseCode::InsufficientBalance,
        "nothing has been loaded for this household yet".to_string(),
    )))
}

/// Prices the basket against the catalog: `Err(reason)` on the first line that is not eligible.
async fn price_basket(
    tx: &mut dyn LedgerTx,
    program: &ProgramRecord,
    request: &AuthorizeRequest,
) -> StoreResult<Result<Vec<(ReceiptLine, Minor)>, String>> {
    let skus = request.skus();
    let catalog: HashMap<String, crate::store::CatalogItemRecord> = tx
        .catalog_items(program.id, &skus)
        .await?
        .into_iter()
        .map(|item| (item.sku.clone(), item))
        .collect();
    let mut receipt = Vec::with_capacity(request.lines.len());
    for line in &request.lines {
        let Some(item) = catalog.get(line.sku.as_str()) else {
            return Ok(Err(format!(
                "{} is not in the {} food catalog",
                line.sku.as_str(),
                program.code
            )));
        };
        let price = line.unit_price.minor_units();
        if price > item.max_unit_price_minor {
            return Ok(Err(format!(
                "{} costs at most {} per {}",
                item.sku,
                format_minor(item.max_unit_price_minor),
                item.unit
            )));
        }
        let Ok(amount) = Minor::from(line.unit_price).times(line.quantity.get()) else {
            return Ok(Err(format!(
                "{} × {} is out of range",
                line.quantity.get(),
                item.sku
            )));
        };
        receipt.push((
            ReceiptLine {
                sku: item.sku.clone(),
                name: item.name.clone(),
                unit: item.unit.clone(),
                quantity: line.quantity.get(),
                unit_price: Minor::new(price),
                amount,
            },
            amount,
        ));
    }
    Ok(Ok(receipt))
}

/// What an approved purchase records of its receipt.
fn bought_lines(receipt: &[ReceiptLine]) -> Vec<RedemptionLine> {
    receipt
        .iter()
        .map(|line| RedemptionLine {
            sku: line.sku.clone(),
            name: line.name.clone(),
            unit: line.unit.clone(),
            quantity: line.quantity,
            unit_price_minor: line.unit_price.get(),
            amount_minor: line.amount.get(),
        })
        .collect()
}

/// The request an original names, if the caller may ask about it: `Err` carries the 58 answer
/// for a terminal that is not the caller's. A stored request names its E-Warung; only for an
/// unknown one is the terminal looked up.
async fn find_original(
    tx: &mut dyn LedgerTx,
    original: &OriginalRequest,
    ewarung: EwarungId,
) -> StoreResult<Result<Option<RedemptionRow>, Vec<u8>>> {
    let terminal_id = original.terminal_id.as_str();
    let found = tx
        .find_redemption(
            terminal_id,
            original.stan.as_str(),
            original.local_date.as_str(),
        )
        .await?;
    let yours = match &found {
        Some(row) => row.ewarung_id == ewarung,
        None => own_terminal(tx, terminal_id, ewarung).await?.is_some(),
    };
    Ok(if yours {
        Ok(found)
    } else {
        Err(not_your_terminal(terminal_id).to_bytes())
    })
}

pub struct FollowUp {
    pub ewarung: EwarungId,
    pub action: Followup,
    pub original: OriginalRequest,
}

#[async_trait]
impl LedgerJob for FollowUp {
    type Output = Vec<u8>;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<Vec<u8>> {
        let original = &self.original;
        let terminal_id = original.terminal_id.as_str();
        tx.read_ahead(&ReadAheadPlan::FollowUp {
            terminal_id,
            stan: original.stan.as_str(),
            local_date: original.local_date.as_str(),
        })
        .await?;
        let found = match find_original(tx, original, self.ewarung).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let mut reply = match found {
            None if self.action == Followup::Reverse => {
                self.mark_reversed_unknown(tx).await?;
                TerminalReply::new(ResponseCode::Approved, terminal_id)
                    .reason("no such request; noted so that it can never be approved")
            }
            None => TerminalReply::new(ResponseCode::UnableToLocate, terminal_id)
                .reason("no authorization with that STAN and date from this terminal"),
            Some(row) => self.apply(tx, row).await?,
        };
        reply.stan = Some(original.stan.as_str().to_string());
        reply.local_date = Some(original.local_date.as_str().to_string());
        tracing::info!(terminal = terminal_id, stan = original.stan.as_str(), action = ?self.action,
            code = reply.response_code.code(), "follow-up");
        Ok(reply.to_bytes())
    }
}

impl FollowUp {
    async fn apply(&self, tx: &mut dyn LedgerTx, row: RedemptionRow) -> StoreResult<TerminalReply> {
        let terminal_id = row.terminal_id.clone();
        let done = |state: PurchaseState| {
            let mut reply = TerminalReply::new(ResponseCode::Approved, &terminal_id);
            reply.state = Some(state);
            reply.rrn = row.rrn.clone();
            reply.amount = (row.amount_minor > 0).then_some(Minor::new(row.amount_minor));
            reply
        };
        let refuse = |code: ResponseCode, reason: String| {
            let mut reply = TerminalReply::new(code, &terminal_id).reason(reason);
            reply.state = Some(row.state);
            reply.rrn = row.rrn.clone();
            reply
        };
        if row.kind == RequestKind::ReversalMarker {
            return Ok(match self.action {
                Followup::Reverse => done(PurchaseState::Reversed),
                _ => refuse(
                    ResponseCode::UnableToLocate,
                    "the request was reversed before it arrived".into(),
                ),
            });
        }
        let step = purchase::transition(row.state, self.action);
        let now = crate::store::now();
        // Every change is dated with the open business date; replays and refusals need none.
        let today = if step.changes_anything() {
            tx.business_date(now).await?
        } else {
            String::new()
        };
        Ok(match step {
            Step::Acknowledge(state) => done(state),
            Step::Refuse(Refusal::WasDeclined) => refuse(
                ResponseCode::UnableToLocate,
                "the authorization was declined; there is nothing to complete or void".into(),
            ),
            Step::Refuse(Refusal::CannotComplete(state)) => refuse(
                ResponseCode::InvalidTransaction,
                format!("the purchase was {state}; it cannot be completed"),
            ),
            Step::PostHold => {
                self.resolve(tx, &row, TransferKind::Post, now).await?;
                let next = PurchaseState::Completed;
                tx.set_redemption_state(row.id, next, None, &today, now, row.state)
                    .await?;
                done(next)
            }
            Step::ReleaseHold { next } => {
                self.resolve(tx, &row, TransferKind::Void, now).await?;
                tx.set_redemption_state(row.id, next, None, &today, now, row.state)
                    .await?;
                done(next)
            }
            Step::Refund {
                same_business_day_only: true,
                ..
            } if row.completed_date.as_deref() != Some(today.as_str()) => refuse(
                ResponseCode::InvalidTransaction,
                format!(
                    "a completed purchase can be voided only on its business day ({})",
                    row.completed_date.as_deref().unwrap_or(&row.business_date)
                ),
            ),
            Step::Refund { next, .. } => {
                let refund = self.refund(tx, &row, now).await?;
                tx.set_redemption_state(row.id, next, Some(refund), &today, now, row.state)
                    .await?;
                done(next)
            }
        })
    }

    /// Resolves the purchase's hold (post or void).
    async fn resolve(
        &self,
        tx: &mut dyn LedgerTx,
        row: &RedemptionRow,
        kind: TransferKind,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let hold = hold_of(tx, row).await?;
        let resolution = Transfer::resolving(&hold, kind, format!("redemption:{}", row.id), now);
        if !tx.apply_transfer(&resolution).await? {
            // Another transaction (the sweeper, on PostgreSQL) resolved the hold after this one
            // read the purchase: run the whole request again, and it will see what happened.
            return Err(StoreError::Duplicate {
                constraint: "transfers_hold_resolves_once".into(),
            });
        }
        Ok(())
    }

    /// Returns a completed purchase to the household's entitlement (never as cash).
    async fn refund(
        &self,
        tx: &mut dyn LedgerTx,
        row: &RedemptionRow,
        now: DateTime<Utc>,
    ) -> StoreResult<TransferId> {
        let hold = hold_of(tx, row).await?;
        let refund = Transfer::refunding(&hold, format!("redemption:{}", row.id), now);
        if !tx.apply_transfer(&refund).await? {
            // Either a concurrent request refunded this purchase first (its refund took the
            // amount out of the payable while this one waited for the lock: run again, and see
            // it), or the payable really no longer holds the amount (settled out).
            let now_state = tx
                .find_redemption(&row.terminal_id, &row.stan, &row.local_date)
                .await?
                .map(|current| current.state);
            if now_state != Some(PurchaseState::Completed) {
                return Err(StoreError::LostRace("the purchase"));
            }
            return Err(StoreError::StateConflict {
                entity: "payable",
                actual: "already settled".into(),
            });
        }
        Ok(refund.id)
    }

    async fn mark_reversed_unknown(&self, tx: &mut dyn LedgerTx) -> StoreResult<()> {
        let now = crate::store::now();
        let terminal = tx
            .terminal(self.original.terminal_id.as_str())
            .await?
            .ok_or(StoreError::NotFound { entity: "terminal" })?;
        let row = RedemptionRow {
            response_code: ResponseCode::Approved.code().to_string(),
            state: PurchaseState::Reversed,
            ..RedemptionRow::new(
                &terminal,
                self.original.stan.as_str(),
                self.original.local_date.as_str(),
                RequestKind::ReversalMarker,
                tx.business_date(now).await?,
                now,
            )
        };
        tx.insert_redemption(&row, &[]).await
    }
}

/// The hold a purchase placed.
async fn hold_of(tx: &mut dyn LedgerTx, row: &RedemptionRow) -> StoreResult<Transfer> {
    let missing = || StoreError::NotFound { entity: "hold" };
    let hold_id = row.hold_id.ok_or_else(missing)?;
    tx.transfer(hold_id).await?.ok_or_else(missing)
}

/// Balance inquiry with card and PIN.
pub struct Balance {
    pub rules: Arc<RedemptionRules>,
    pub ewarung: EwarungId,
    pub request: BalanceRequest,
}

#[async_trait]
impl LedgerJob for Balance {
    type Output = Vec<u8>;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<Vec<u8>> {
        let request = &self.request;
        let terminal_id = request.terminal_id.as_str();
        let Some(terminal) = own_terminal(tx, terminal_id, self.ewarung).await? else {
            return Ok(not_your_terminal(terminal_id).to_bytes());
        };
        let reply =
            |code: ResponseCode, reason: &str| TerminalReply::new(code, terminal_id).reason(reason);
        let mut answer = async {
            // The same checks, in the same order, as a purchase's.
            let checked = usable_card(
                tx,
                &self.rules,
                &terminal,
                &self.rules.pans.lookup_hash(request.pan.expose()),
                request.pan.expose(),
                request.pin_entry(),
            )
            .await?;
            let card = match checked {
                Ok(card) => card,
                Err(refused) => {
                    let mut declined = reply(refused.code, &refused.reason);
                    declined.pin_tries_left = refused.pin_tries_left;
                    return Ok::<_, StoreError>(declined);
                }
            };
            match choose_entitlement(tx, card.household_id, request.program_code.as_deref()).await?
            {
                Ok((program, account)) => {
                    let Some(available) = account.available() else {
                        return Ok(reply(
                            ResponseCode::SystemError,
                            "the account's totals are out of range",
                        ));
                    };
                    let mut ok = TerminalReply::new(ResponseCode::Approved, terminal_id);
                    ok.program_code = Some(program.code);
                    ok.balance = Some(Minor::new(available));
                    Ok(ok)
                }
                Err((ResponseCode::InsufficientBalance, _)) => {
                    let mut ok = TerminalReply::new(ResponseCode::Approved, terminal_id);
                    ok.balance = Some(Minor::ZERO);
                    Ok(ok)
                }
                Err((code, reason)) => Ok(reply(code, &reason)),
            }
        }
        .await?;
        answer.card = Some(pan::mask(request.pan.expose()));
        Ok(answer.to_bytes())
    }
}

/// Ends a hold nobody completed in time and marks its purchase expired (the sweeper's step).
pub(crate) async fn expire_hold(
    tx: &mut dyn LedgerTx,
    redemption: RedemptionId,
    hold_id: TransferId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let Some(hold) = tx.transfer(hold_id).await? else {
        return Ok(false);
    };
    let expiry = Transfer::resolving(
        &hold,
        TransferKind::HoldExpired,
        format!("redemption:{redemption}"),
        now,
    );
    if !tx.apply_transfer(&expiry).await? {
        return Ok(false);
    }
    let today = tx.business_date(now).await?;
    tx.set_redemption_state(
        redemption,
        PurchaseState::Expired,
        None,
        &today,
        now,
        PurchaseState::Held,
    )
    .await?;
    Ok(true)
}

/// A terminal's refund: a request of its own (terminal, STAN, date) that returns a purchase to
/// the card, as a void does. Recorded with its answer, so the same refund again gets the same
/// answer byte for byte, and a second refund of one purchase under a new STAN is refused (94) and
/// recorded: no terminal can count one refund twice.
pub struct Refund {
    pub ewarung: EwarungId,
    pub request: RefundRequest,
}

#[async_trait]
impl LedgerJob for Refund {
    type Output = Vec<u8>;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<Vec<u8>> {
        let request = &self.request;
        let terminal_id = request.terminal_id.as_str();
        let local_date = request.local_time.date();
        let stan = request.stan.as_str();
        let fingerprint = request.fingerprint();
        // Another E-Warung's terminal: answered 58 before anything stored is looked at.
        if own_terminal(tx, terminal_id, self.ewarung).await?.is_none() {
            return Ok(self.reply_to(not_your_terminal(terminal_id)).to_bytes());
        }
        if let Some(existing) = tx
            .find_refund_request(terminal_id, stan, &local_date)
            .await?
        {
            if existing.request_hash == fingerprint {
                return Ok(existing.response);
            }
            return Ok(self
                .reply_to(refusal(
                    ResponseCode::Duplicate,
                    terminal_id,
                    "this terminal already used the STAN today for a different refund",
                ))
                .to_bytes());
        }
        let original = request.original();
        let found = match find_original(tx, &original, self.ewarung).await? {
            Ok(found) => found,
            // Not the caller's terminal: answered, not recorded (as everywhere).
            Err(refused) => return Ok(refused),
        };
        let (reply, redemption_id) = if tx
            .find_redemption(terminal_id, stan, &local_date)
            .await?
            .is_some()
        {
            let reason = "this terminal already used the STAN today for a purchase";
            (refusal(ResponseCode::Duplicate, terminal_id, reason), None)
        } else {
            match found {
                None => {
                    let reason = "no purchase with that STAN and date from this terminal";
                    (
                        refusal(ResponseCode::UnableToLocate, terminal_id, reason),
                        None,
                    )
                }
                Some(row) if row.kind == RequestKind::Purchase && row.state.is_undone() => {
                    let reason = format!(
                        "the purchase was already {}; it cannot be refunded again",
                        row.state
                    );
                    let id = row.id;
                    (
                        refusal(ResponseCode::Duplicate, terminal_id, &reason),
                        Some(id),
                    )
                }
                Some(row) => {
                    let id = row.id;
                    let void = FollowUp {
                        ewarung: self.ewarung,
                        action: Followup::Void,
                        original,
                    };
                    (void.apply(tx, row).await?, Some(id))
                }
            }
        };
        let reply = self.reply_to(reply);
        let body = reply.to_bytes();
        tx.insert_refund_request(&RefundRequestRow {
            id: RefundRequestId::new(),
            terminal_id: terminal_id.to_string(),
            stan: stan.to_string(),
            local_date,
            request_hash: fingerprint,
            redemption_id,
            response_code: reply.response_code.code().to_string(),
            response: body.clone(),
            created_at: crate::store::now(),
        })
        .await?;
        tracing::info!(
            terminal = terminal_id,
            stan,
            original = request.original_stan.as_str(),
            code = reply.response_code.code(),
            "refund"
        );
        Ok(body)
    }
}

impl Refund {
    /// Names the refund's own request in its answer.
    fn reply_to(&self, mut reply: TerminalReply) -> TerminalReply {
        reply.stan = Some(self.request.stan.as_str().to_string());
        reply.local_date = Some(self.request.local_time.date());
        reply
    }
}

fn refusal(code: ResponseCode, terminal_id: &str, reason: &str) -> TerminalReply {
    TerminalReply::new(code, terminal_id).reason(reason)
}

/// What became of a request (the terminal's status query after a power loss or a lost answer):
/// the stored answer, byte for byte, or that the host never saw it. Reads only.
pub struct Status {
    pub ewarung: EwarungId,
    pub original: OriginalRequest,
}

#[async_trait]
impl LedgerJob for Status {
    type Output = Vec<u8>;

    async fn run(&self, tx: &mut dyn LedgerTx) -> StoreResult<Vec<u8>> {
        let original = &self.original;
        let terminal_id = original.terminal_id.as_str();
        let found = match find_original(tx, original, self.ewarung).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let stored = |bytes: &[u8]| {
            serde_json::from_slice::<TerminalReply>(bytes)
                .map_err(|error| StoreError::Database(sqlx::Error::Decode(Box::new(error))))
        };
        let (answer, state) = match found {
            Some(row) if row.kind == RequestKind::Purchase => {
                (Some(stored(&row.response)?), Some(row.state))
            }
            // A refund is a request of its own: its stored answer (the purchase's state is on
            // the purchase's own STAN).
            None => match tx
                .find_refund_request(
                    terminal_id,
                    original.stan.as_str(),
                    original.local_date.as_str(),
                )
                .await?
            {
                Some(refund) => (Some(stored(&refund.response)?), None),
                None => (None, None),
            },
            // A reversal marker: the request never ran here and never will.
            _ => (None, None),
        };
        let body = StatusReply {
            terminal_id: terminal_id.to_string(),
            stan: original.stan.as_str().to_string(),
            local_date: original.local_date.as_str().to_string(),
            status: if answer.is_some() {
                RequestStatus::Final
            } else {
                RequestStatus::NotFound
            },
            answer,
            state,
        };
        Ok(serde_json::to_vec(&body).expect("plain data serialises"))
    }
}
