//! The messages terminals and the host exchange, typed, and their mapping onto ISO 8583 data
//! elements (see `docs/terminal-protocol.md` for the table). `to_iso` and `from_iso` are exact
//! inverses for every valid message; `from_iso` checks every element's format, so anything that
//! decodes is safe to act on.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::{
    frame::MAX_PAYLOAD,
    pin_block::BLOCK_LEN,
    tlv::{IsoMessage, Mti, TlvError},
};

/// Message type indicators.
pub mod mti {
    use crate::tlv::Mti;

    pub const FINANCIAL: Mti = Mti::new(b"0200");
    pub const FINANCIAL_RESPONSE: Mti = Mti::new(b"0210");
    pub const COMPLETION: Mti = Mti::new(b"0220");
    pub const COMPLETION_RESPONSE: Mti = Mti::new(b"0230");
    pub const REVERSAL: Mti = Mti::new(b"0420");
    pub const REVERSAL_REPEAT: Mti = Mti::new(b"0421");
    pub const REVERSAL_RESPONSE: Mti = Mti::new(b"0430");
    pub const BATCH_TOTALS: Mti = Mti::new(b"0500");
    pub const BATCH_TOTALS_RESPONSE: Mti = Mti::new(b"0510");
    pub const STATUS: Mti = Mti::new(b"0600");
    pub const STATUS_RESPONSE: Mti = Mti::new(b"0610");
    pub const NETWORK: Mti = Mti::new(b"0800");
    pub const NETWORK_RESPONSE: Mti = Mti::new(b"0810");
    pub const DEVICE_EVENT: Mti = Mti::new(b"0820");
    pub const DEVICE_EVENT_RESPONSE: Mti = Mti::new(b"0830");
}

/// Data element numbers.
pub mod de {
    pub const PAN: u8 = 2;
    pub const PROCESSING_CODE: u8 = 3;
    pub const AMOUNT: u8 = 4;
    pub const TRANSMISSION_TIME: u8 = 7;
    pub const STAN: u8 = 11;
    pub const LOCAL_TIME: u8 = 12;
    pub const LOCAL_DATE: u8 = 13;
    pub const RRN: u8 = 37;
    pub const APPROVAL_CODE: u8 = 38;
    pub const RESPONSE_CODE: u8 = 39;
    pub const TERMINAL_ID: u8 = 41;
    pub const EWARUNG_ID: u8 = 42;
    pub const DISPLAY_TEXT: u8 = 44;
    pub const BASKET: u8 = 48;
    pub const PIN_BLOCK: u8 = 52;
    pub const BALANCE: u8 = 54;
    pub const REQUEST_STATUS: u8 = 60;
    pub const DEVICE_EVENT: u8 = 61;
    pub const PROGRAM_CODE: u8 = 62;
    pub const RECEIPT: u8 = 63;
    pub const NETWORK_CODE: u8 = 70;
    pub const CREDITS_COUNT: u8 = 74;
    pub const DEBITS_COUNT: u8 = 76;
    pub const REVERSALS_COUNT: u8 = 77;
    pub const CREDITS_AMOUNT: u8 = 86;
    pub const DEBITS_AMOUNT: u8 = 88;
    pub const REVERSALS_AMOUNT: u8 = 89;
    pub const ORIGINAL_DATA: u8 = 90;
}

/// Separates basket and receipt lines (ASCII record separator).
const RECORD_SEPARATOR: char = '\u{1E}';
/// Separates a line's fields (ASCII unit separator).
const UNIT_SEPARATOR: char = '\u{1F}';
/// The most lines a basket may have (the host's own limit too).
pub const MAX_BASKET_LINES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Tlv(#[from] TlvError),
    #[error("message type {0} is not one this link carries")]
    UnknownMti(Mti),
    #[error("data element {0} is required")]
    Missing(u8),
    #[error("data element {tag}: {reason}")]
    Invalid { tag: u8, reason: &'static str },
    #[error("data element {tag} does not belong in a {mti}")]
    Unexpected { tag: u8, mti: Mti },
}

/// The data elements each message a terminal sends may carry (mandatory and optional; the table
/// in docs/terminal-protocol.md). Anything else in it makes the message unreadable.
fn allowed_in_request(kind: Mti) -> &'static [u8] {
    match kind {
        mti::FINANCIAL => &[2, 3, 4, 11, 12, 13, 41, 42, 48, 52, 62, 90],
        mti::COMPLETION | mti::REVERSAL | mti::REVERSAL_REPEAT => &[4, 11, 12, 13, 41],
        mti::BATCH_TOTALS => &[11, 13, 41, 74, 76, 77, 86, 88, 89],
        mti::STATUS => &[11, 12, 13, 41],
        mti::NETWORK => &[11, 41, 70],
        mti::DEVICE_EVENT => &[11, 12, 13, 41, 61],
        _ => &[],
    }
}

/// What the display shows for DE39 `30`.
const FORMAT_ERROR_TEXT: &str = "Format pesan salah";

/// The answer to a message the host cannot read (a missing or malformed data element, one that
/// does not belong, tags out of order or repeated): the response MTI with DE39 `30`, addressed with
/// the request's DE41, DE11 and (where the answer carries them) DE12/DE13. `None` when not even
/// those can be read, or the MTI is not a request: then nobody can be answered, and the terminal
/// times out and asks for the status, as it must.
pub fn format_error_reply(payload: &[u8], now_utc: NaiveDateTime) -> Option<HostMessage> {
    let iso = IsoMessage::decode_leniently(payload)?;
    let response_code = "30".to_string();
    let display = FORMAT_ERROR_TEXT.to_string();
    let key = || RequestKey::read(&iso).ok();
    let terminal = || terminal_id(&iso).ok();
    let stan = || stan(&iso).ok();
    Some(match iso.mti {
        mti::FINANCIAL => HostMessage::Financial(FinancialResponse {
            key: key()?,
            processing: processing(&iso).unwrap_or(ProcessingCode::Purchase),
            response_code,
            rrn: None,
            approval_code: None,
            amount_minor: None,
            balance_minor: None,
            display,
            receipt: Vec::new(),
        }),
        mti::COMPLETION | mti::REVERSAL | mti::REVERSAL_REPEAT => {
            HostMessage::Advice(AdviceResponse {
                kind: advice_kind(iso.mti),
                original: key()?,
                response_code,
                display,
            })
        }
        // The query could not be read, so what became of the request is not known: `P`.
        mti::STATUS => HostMessage::Status(StatusResponse {
            original: key()?,
            status: RequestStatus::InProgress,
            response_code: Some(response_code),
            rrn: None,
            approval_code: None,
            balance_minor: None,
            display,
        }),
        mti::NETWORK => HostMessage::Network(NetworkResponse {
            terminal_id: terminal()?,
            stan: stan()?,
            code: network_code(&iso).unwrap_or(NetworkCode::Echo),
            response_code,
            host_time_utc: now_utc,
        }),
        mti::BATCH_TOTALS => HostMessage::BatchTotals(BatchTotalsResponse {
            terminal_id: terminal()?,
            stan: stan()?,
            response_code,
            display,
        }),
        mti::DEVICE_EVENT => HostMessage::DeviceEvent(DeviceEventResponse {
            key: key()?,
            response_code,
        }),
        _ => return None,
    })
}

fn invalid(tag: u8, reason: &'static str) -> MessageError {
    MessageError::Invalid { tag, reason }
}

/// Names one request of one terminal: terminal id (DE41), STAN (DE11) and the terminal's local
/// date and time (DE12 `hhmmss`, DE13 `YYYYMMDD`). The host's idempotency key is terminal, STAN
/// and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub terminal_id: String,
    pub stan: u32,
    pub local_time: NaiveDateTime,
}

impl RequestKey {
    /// The STAN as six digits.
    pub fn stan_text(&self) -> String {
        format!("{:06}", self.stan)
    }

    fn write(&self, message: &mut IsoMessage) {
        message
            .set(de::TERMINAL_ID, self.terminal_id.as_bytes())
            .set(de::STAN, self.stan_text())
            .set(de::LOCAL_TIME, self.local_time.format("%H%M%S").to_string())
            .set(de::LOCAL_DATE, self.local_time.format("%Y%m%d").to_string());
    }

    fn read(message: &IsoMessage) -> Result<Self, MessageError> {
        let time = NaiveTime::parse_from_str(fixed_digits(message, de::LOCAL_TIME, 6)?, "%H%M%S")
            .map_err(|_| invalid(de::LOCAL_TIME, "not a time hhmmss"))?;
        let date = date(message, de::LOCAL_DATE)?;
        Ok(Self {
            terminal_id: terminal_id(message)?,
            stan: stan(message)?,
            local_time: date.and_time(time),
        })
    }
}

/// DE3's first two digits: what the cardholder asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingCode {
    /// 00: goods (food), the only type that spends.
    Purchase,
    /// 01: cash withdrawal, always refused (57).
    CashWithdrawal,
    /// 09: purchase with cash-back, always refused (57).
    PurchaseWithCashBack,
    /// 20: refund of an earlier purchase, to the card only.
    Refund,
    /// 31: balance inquiry.
    BalanceInquiry,
    /// Any other type, refused (12) but recorded as sent.
    Other(u8),
}

impl ProcessingCode {
    pub fn code(self) -> u8 {
        match self {
            ProcessingCode::Purchase => 0,
            ProcessingCode::CashWithdrawal => 1,
            ProcessingCode::PurchaseWithCashBack => 9,
            ProcessingCode::Refund => 20,
            ProcessingCode::BalanceInquiry => 31,
            ProcessingCode::Other(code) => code,
        }
    }

    pub fn from_code(code: u8) -> Self {
        match code {
            0 => ProcessingCode::Purchase,
            1 => ProcessingCode::CashWithdrawal,
            9 => ProcessingCode::PurchaseWithCashBack,
            20 => ProcessingCode::Refund,
            31 => ProcessingCode::BalanceInquiry,
            other => ProcessingCode::Other(other),
        }
    }

    /// A type that would take cash out of the entitlement.
    pub fn is_cash(self) -> bool {
        matches!(
            self,
            ProcessingCode::CashWithdrawal | ProcessingCode::PurchaseWithCashBack
        )
    }
}

/// One basket line: SKU, whole units, price per unit in minor units (sen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
}

/// One printed receipt line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub name: String,
    pub quantity: u32,
    pub amount_minor: i64,
}

/// The request an original names: its STAN and local date (DE90 `MTI STAN YYYYMMDD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalRef {
    pub stan: u32,
    pub local_date: NaiveDate,
}

/// 0200: purchase, refused cash types, refund or balance inquiry, by DE3. Its `Debug` shows the
/// card number's last four digits and no PIN block.
#[derive(Clone, PartialEq, Eq)]
pub struct FinancialRequest {
    pub key: RequestKey,
    /// DE42, the terminal's E-Warung as the terminal knows it: checked for its format only (the
    /// host knows each terminal's E-Warung from its registration).
    pub ewarung_id: String,
    pub processing: ProcessingCode,
    /// DE4, the basket's total in minor units (0 for a balance inquiry).
    pub amount_minor: i64,
    /// DE2.
    pub pan: String,
    /// DE52, ISO 9564 format 4 under the terminal's key.
    pub pin_block: Option<[u8; BLOCK_LEN]>,
    /// DE62, which program pays when the household has several.
    pub program_code: Option<String>,
    /// DE48.
    pub basket: Vec<BasketLine>,
    /// DE90, the purchase a refund returns.
    pub original: Option<OriginalRef>,
}

/// A card number as logs may show it: its last four digits.
/// A card number as logs may show it: all but the last four digits starred.
pub fn masked_pan(pan: &str) -> String {
    let shown = pan.len().saturating_sub(4);
    format!("{}{}", "*".repeat(shown), pan.get(shown..).unwrap_or(""))
}

impl std::fmt::Debug for FinancialRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinancialRequest")
            .field("key", &self.key)
            .field("ewarung_id", &self.ewarung_id)
            .field("processing", &self.processing)
            .field("amount_minor", &self.amount_minor)
            .field("pan", &masked_pan(&self.pan))
            .field("pin_block", &self.pin_block.map(|_| "(16 bytes)"))
            .field("program_code", &self.program_code)
            .field("basket", &self.basket)
            .field("original", &self.original)
            .finish()
    }
}

/// 0210: the host's answer to a 0200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinancialResponse {
    pub key: RequestKey,
    pub processing: ProcessingCode,
    /// DE39.
    pub response_code: String,
    pub rrn: Option<String>,
    pub approval_code: Option<String>,
    pub amount_minor: Option<i64>,
    /// DE54, what the card can still spend.
    pub balance_minor: Option<i64>,
    /// DE44, the message for the display, in Indonesian.
    pub display: String,
    /// DE63.
    pub receipt: Vec<ReceiptLine>,
}

/// Advice kinds: the terminal tells the host what happened; the host acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdviceKind {
    /// 0220: the receipt printed, post the hold.
    Completion,
    /// 0420: the terminal did not get (or could not use) the answer; undo the request.
    Reversal,
    /// 0421: the same reversal again, after no acknowledgement.
    ReversalRepeat,
}

/// 0220 / 0420 / 0421: names the original 0200 by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub kind: AdviceKind,
    pub original: RequestKey,
    pub amount_minor: i64,
}

/// 0230 / 0430.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdviceResponse {
    pub kind: AdviceKind,
    pub original: RequestKey,
    pub response_code: String,
    pub display: String,
}

/// 0600: what became of a request (after a power loss or a lost answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQuery {
    pub original: RequestKey,
}

/// DE60 of a 0610.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// `F`: the request has a final answer (DE39 and the rest carry it).
    Final,
    /// `P`: still being processed.
    InProgress,
    /// `N`: the host never saw it.
    NotFound,
}

impl RequestStatus {
    fn letter(self) -> &'static str {
        match self {
            RequestStatus::Final => "F",
            RequestStatus::InProgress => "P",
            RequestStatus::NotFound => "N",
        }
    }
}

/// 0610.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResponse {
    pub original: RequestKey,
    pub status: RequestStatus,
    /// The original's answer when final (DE39, DE37, DE38, DE54, DE44).
    pub response_code: Option<String>,
    pub rrn: Option<String>,
    pub approval_code: Option<String>,
    pub balance_minor: Option<i64>,
    pub display: String,
}

/// DE70.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkCode {
    /// 001.
    Logon,
    /// 301.
    Echo,
}

/// 0800: logon at power-on, echo when idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRequest {
    pub terminal_id: String,
    pub stan: u32,
    pub code: NetworkCode,
}

/// 0810: carries the host's clock (DE7, UTC `YYYYMMDDhhmmss`) so terminals can correct theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkResponse {
    pub terminal_id: String,
    pub stan: u32,
    pub code: NetworkCode,
    pub response_code: String,
    pub host_time_utc: NaiveDateTime,
}

/// Count and total of one kind of transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub count: u64,
    pub amount_minor: i64,
}

/// 0500: the terminal's own totals for a business date, sent at batch close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTotals {
    pub terminal_id: String,
    pub stan: u32,
    /// DE13.
    pub business_date: NaiveDate,
    /// DE76 / DE88: completed purchases.
    pub purchases: Totals,
    /// DE74 / DE86: refunds and voids back to cards.
    pub refunds: Totals,
    /// DE77 / DE89: reversed purchases.
    pub reversals: Totals,
}

/// 0510: `00` the host agrees, `95` the totals differ (the host records the mismatch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTotalsResponse {
    pub terminal_id: String,
    pub stan: u32,
    pub response_code: String,
    pub display: String,
}

/// DE61.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceEventKind {
    PowerOn,
    PaperOut,
    PaperLoaded,
    CardReadError,
}

impl DeviceEventKind {
    pub const ALL: [DeviceEventKind; 4] = [
        DeviceEventKind::PowerOn,
        DeviceEventKind::PaperOut,
        DeviceEventKind::PaperLoaded,
        DeviceEventKind::CardReadError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceEventKind::PowerOn => "POWER_ON",
            DeviceEventKind::PaperOut => "PAPER_OUT",
            DeviceEventKind::PaperLoaded => "PAPER_LOADED",
            DeviceEventKind::CardReadError => "CARD_READ_ERROR",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// 0820: something happened to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvent {
    pub key: RequestKey,
    pub event: DeviceEventKind,
}

/// 0830.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEventResponse {
    pub key: RequestKey,
    pub response_code: String,
}

/// What a terminal sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalMessage {
    Financial(FinancialRequest),
    Advice(Advice),
    Status(StatusQuery),
    Network(NetworkRequest),
    BatchTotals(BatchTotals),
    DeviceEvent(DeviceEvent),
}

/// What the host answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMessage {
    Financial(FinancialResponse),
    Advice(AdviceResponse),
    Status(StatusResponse),
    Network(NetworkResponse),
    BatchTotals(BatchTotalsResponse),
    DeviceEvent(DeviceEventResponse),
}

impl TerminalMessage {
    /// The frame payload.
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        Ok(self.to_iso().encode()?)
    }

    pub fn decode(payload: &[u8]) -> Result<Self, MessageError> {
        Self::from_iso(&IsoMessage::decode(payload)?)
    }

    /// The terminal and STAN the message is about, to match an answer to its request.
    pub fn terminal_and_stan(&self) -> (&str, u32) {
        match self {
            TerminalMessage::Financial(m) => (&m.key.terminal_id, m.key.stan),
            TerminalMessage::Advice(m) => (&m.original.terminal_id, m.original.stan),
            TerminalMessage::Status(m) => (&m.original.terminal_id, m.original.stan),
            TerminalMessage::Network(m) => (&m.terminal_id, m.stan),
            TerminalMessage::BatchTotals(m) => (&m.terminal_id, m.stan),
            TerminalMessage::DeviceEvent(m) => (&m.key.terminal_id, m.key.stan),
        }
    }

    pub fn to_iso(&self) -> IsoMessage {
        match self {
            TerminalMessage::Financial(m) => {
                let mut iso = IsoMessage::new(mti::FINANCIAL);
                m.key.write(&mut iso);
                iso.set(de::PAN, m.pan.as_bytes())
                    .set(de::PROCESSING_CODE, processing_text(m.processing))
                    .set(de::AMOUNT, format!("{:012}", m.amount_minor))
                    .set(de::EWARUNG_ID, m.ewarung_id.as_bytes());
                if let Some(block) = &m.pin_block {
                    iso.set(de::PIN_BLOCK, block.to_vec());
                }
                if let Some(program) = &m.program_code {
                    iso.set(de::PROGRAM_CODE, program.as_bytes());
                }
                if !m.basket.is_empty() {
                    iso.set(de::BASKET, basket_text(&m.basket));
                }
                if let Some(original) = &m.original {
                    iso.set(de::ORIGINAL_DATA, original_text(original));
                }
                iso
            }
            TerminalMessage::Advice(m) => {
                let mut iso = IsoMessage::new(match m.kind {
                    AdviceKind::Completion => mti::COMPLETION,
                    AdviceKind::Reversal => mti::REVERSAL,
                    AdviceKind::ReversalRepeat => mti::REVERSAL_REPEAT,
                });
                m.original.write(&mut iso);
                iso.set(de::AMOUNT, format!("{:012}", m.amount_minor));
                iso
            }
            TerminalMessage::Status(m) => {
                let mut iso = IsoMessage::new(mti::STATUS);
                m.original.write(&mut iso);
                iso
            }
            TerminalMessage::Network(m) => {
                let mut iso = IsoMessage::new(mti::NETWORK);
                iso.set(de::STAN, format!("{:06}", m.stan))
                    .set(de::TERMINAL_ID, m.terminal_id.as_bytes())
                    .set(de::NETWORK_CODE, network_text(m.code));
                iso
            }
            TerminalMessage::BatchTotals(m) => {
                let mut iso = IsoMessage::new(mti::BATCH_TOTALS);
                iso.set(de::STAN, format!("{:06}", m.stan))
                    .set(de::LOCAL_DATE, m.business_date.format("%Y%m%d").to_string())
                    .set(de::TERMINAL_ID, m.terminal_id.as_bytes())
                    .set(de::CREDITS_COUNT, format!("{:010}", m.refunds.count))
                    .set(de::DEBITS_COUNT, format!("{:010}", m.purchases.count))
                    .set(de::REVERSALS_COUNT, format!("{:010}", m.reversals.count))
                    .set(
                        de::CREDITS_AMOUNT,
                        format!("{:016}", m.refunds.amount_minor),
                    )
                    .set(
                        de::DEBITS_AMOUNT,
                        format!("{:016}", m.purchases.amount_minor),
                    )
                    .set(
                        de::REVERSALS_AMOUNT,
                        format!("{:016}", m.reversals.amount_minor),
                    );
                iso
            }
            TerminalMessage::DeviceEvent(m) => {
                let mut iso = IsoMessage::new(mti::DEVICE_EVENT);
                m.key.write(&mut iso);
                iso.set(de::DEVICE_EVENT, m.event.as_str());
                iso
            }
        }
    }

    pub fn from_iso(iso: &IsoMessage) -> Result<Self, MessageError> {
        let allowed = allowed_in_request(iso.mti);
        if let Some(tag) = iso.tags().find(|tag| !allowed.contains(tag)) {
            if !allowed.is_empty() {
                return Err(MessageError::Unexpected { tag, mti: iso.mti });
            }
        }
        let message = match iso.mti {
            mti::FINANCIAL => TerminalMessage::Financial(FinancialRequest {
                key: RequestKey::read(iso)?,
                ewarung_id: text(iso, de::EWARUNG_ID, 1..=15)?.to_string(),
                processing: processing(iso)?,
                amount_minor: amount(iso, de::AMOUNT, 12)?,
                pan: pan(iso)?,
                pin_block: optional(iso, de::PIN_BLOCK, |bytes| {
                    bytes
                        .try_into()
                        .map_err(|_| invalid(de::PIN_BLOCK, "a PIN block is 16 bytes"))
                })?,
                program_code: optional(iso, de::PROGRAM_CODE, |_| {
                    text(iso, de::PROGRAM_CODE, 1..=32).map(str::to_string)
                })?,
                basket: optional(iso, de::BASKET, |_| basket(iso))?.unwrap_or_default(),
                original: optional(iso, de::ORIGINAL_DATA, |_| original(iso))?,
            }),
            mti::COMPLETION | mti::REVERSAL | mti::REVERSAL_REPEAT => {
                TerminalMessage::Advice(Advice {
                    kind: advice_kind(iso.mti),
                    original: RequestKey::read(iso)?,
                    amount_minor: amount(iso, de::AMOUNT, 12)?,
                })
            }
            mti::STATUS => TerminalMessage::Status(StatusQuery {
                original: RequestKey::read(iso)?,
            }),
            mti::NETWORK => TerminalMessage::Network(NetworkRequest {
                terminal_id: terminal_id(iso)?,
                stan: stan(iso)?,
                code: network_code(iso)?,
            }),
            mti::BATCH_TOTALS => TerminalMessage::BatchTotals(BatchTotals {
                terminal_id: terminal_id(iso)?,
                stan: stan(iso)?,
                business_date: date(iso, de::LOCAL_DATE)?,
                purchases: totals(iso, de::DEBITS_COUNT, de::DEBITS_AMOUNT)?,
                refunds: totals(iso, de::CREDITS_COUNT, de::CREDITS_AMOUNT)?,
                reversals: totals(iso, de::REVERSALS_COUNT, de::REVERSALS_AMOUNT)?,
            }),
            mti::DEVICE_EVENT => TerminalMessage::DeviceEvent(DeviceEvent {
                key: RequestKey::read(iso)?,
                event: DeviceEventKind::parse(text(iso, de::DEVICE_EVENT, 1..=32)?)
                    .ok_or(invalid(de::DEVICE_EVENT, "unknown device event"))?,
            }),
            other => return Err(MessageError::UnknownMti(other)),
        };
        Ok(message)
    }
}

impl HostMessage {
    /// Whether this is the kind of answer `request` expects (a 0210 for a 0200, and so on): with
    /// the terminal and STAN, what tells a terminal the answer is to its current request.
    pub fn answers(&self, request: &TerminalMessage) -> bool {
        let (terminal, stan) = request.terminal_and_stan();
        let kinds_match = matches!(
            (self, request),
            (HostMessage::Financial(_), TerminalMessage::Financial(_))
                | (HostMessage::Advice(_), TerminalMessage::Advice(_))
                | (HostMessage::Status(_), TerminalMessage::Status(_))
                | (HostMessage::Network(_), TerminalMessage::Network(_))
                | (HostMessage::BatchTotals(_), TerminalMessage::BatchTotals(_))
                | (HostMessage::DeviceEvent(_), TerminalMessage::DeviceEvent(_))
        );
        kinds_match && self.terminal_and_stan() == (terminal, stan)
    }

    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        Ok(self.to_iso().encode()?)
    }

    pub fn decode(payload: &[u8]) -> Result<Self, MessageError> {
        Self::from_iso(&IsoMessage::decode(payload)?)
    }

    /// The terminal and STAN the answer is for.
    pub fn terminal_and_stan(&self) -> (&str, u32) {
        match self {
            HostMessage::Financial(m) => (&m.key.terminal_id, m.key.stan),
            HostMessage::Advice(m) => (&m.original.terminal_id, m.original.stan),
            HostMessage::Status(m) => (&m.original.terminal_id, m.original.stan),
            HostMessage::Network(m) => (&m.terminal_id, m.stan),
            HostMessage::BatchTotals(m) => (&m.terminal_id, m.stan),
            HostMessage::DeviceEvent(m) => (&m.key.terminal_id, m.key.stan),
        }
    }

    /// The answer's DE39.
    pub fn response_code(&self) -> Option<&str> {
        match self {
            HostMessage::Financial(m) => Some(&m.response_code),
            HostMessage::Advice(m) => Some(&m.response_code),
            HostMessage::Status(m) => m.response_code.as_deref(),
            HostMessage::Network(m) => Some(&m.response_code),
            HostMessage::BatchTotals(m) => Some(&m.response_code),
            HostMessage::DeviceEvent(m) => Some(&m.response_code),
        }
    }

    pub fn to_iso(&self) -> IsoMessage {
        match self {
            HostMessage::Financial(m) => {
                let mut iso = IsoMessage::new(mti::FINANCIAL_RESPONSE);
                m.key.write(&mut iso);
                iso.set(de::PROCESSING_CODE, processing_text(m.processing))
                    .set(de::RESPONSE_CODE, m.response_code.as_bytes())
                    .set(de::DISPLAY_TEXT, m.display.as_bytes());
                set_optional(&mut iso, de::RRN, m.rrn.as_deref());
                set_optional(&mut iso, de::APPROVAL_CODE, m.approval_code.as_deref());
                if let Some(amount) = m.amount_minor {
                    iso.set(de::AMOUNT, format!("{amount:012}"));
                }
                if let Some(balance) = m.balance_minor {
                    iso.set(de::BALANCE, format!("{balance:012}"));
                }
                if !m.receipt.is_empty() {
                    iso.set(de::RECEIPT, receipt_text(&m.receipt));
                }
                iso
            }
            HostMessage::Advice(m) => {
                let mut iso = IsoMessage::new(match m.kind {
                    AdviceKind::Completion => mti::COMPLETION_RESPONSE,
                    AdviceKind::Reversal | AdviceKind::ReversalRepeat => mti::REVERSAL_RESPONSE,
                });
                m.original.write(&mut iso);
                iso.set(de::RESPONSE_CODE, m.response_code.as_bytes())
                    .set(de::DISPLAY_TEXT, m.display.as_bytes());
                iso
            }
            HostMessage::Status(m) => {
                let mut iso = IsoMessage::new(mti::STATUS_RESPONSE);
                m.original.write(&mut iso);
                iso.set(de::REQUEST_STATUS, m.status.letter())
                    .set(de::DISPLAY_TEXT, m.display.as_bytes());
                set_optional(&mut iso, de::RESPONSE_CODE, m.response_code.as_deref());
                set_optional(&mut iso, de::RRN, m.rrn.as_deref());
                set_optional(&mut iso, de::APPROVAL_CODE, m.approval_code.as_deref());
                if let Some(balance) = m.balance_minor {
                    iso.set(de::BALANCE, format!("{balance:012}"));
                }
                iso
            }
            HostMessage::Network(m) => {
                let mut iso = IsoMessage::new(mti::NETWORK_RESPONSE);
                iso.set(
                    de::TRANSMISSION_TIME,
                    m.host_time_utc.format("%Y%m%d%H%M%S").to_string(),
                )
                .set(de::STAN, format!("{:06}", m.stan))
                .set(de::RESPONSE_CODE, m.response_code.as_bytes())
                .set(de::TERMINAL_ID, m.terminal_id.as_bytes())
                .set(de::NETWORK_CODE, network_text(m.code));
                iso
            }
            HostMessage::BatchTotals(m) => {
                let mut iso = IsoMessage::new(mti::BATCH_TOTALS_RESPONSE);
                iso.set(de::STAN, format!("{:06}", m.stan))
                    .set(de::RESPONSE_CODE, m.response_code.as_bytes())
                    .set(de::TERMINAL_ID, m.terminal_id.as_bytes())
                    .set(de::DISPLAY_TEXT, m.display.as_bytes());
                iso
            }
            HostMessage::DeviceEvent(m) => {
                let mut iso = IsoMessage::new(mti::DEVICE_EVENT_RESPONSE);
                m.key.write(&mut iso);
                iso.set(de::RESPONSE_CODE, m.response_code.as_bytes());
                iso
            }
        }
    }

    pub fn from_iso(iso: &IsoMessage) -> Result<Self, MessageError> {
        let message = match iso.mti {
            mti::FINANCIAL_RESPONSE => HostMessage::Financial(FinancialResponse {
                key: RequestKey::read(iso)?,
                processing: processing(iso)?,
                response_code: response_code(iso)?,
                rrn: optional(iso, de::RRN, |_| fixed_text(iso, de::RRN, 12))?,
                approval_code: optional(iso, de::APPROVAL_CODE, |_| {
                    fixed_text(iso, de::APPROVAL_CODE, 6)
                })?,
                amount_minor: optional(iso, de::AMOUNT, |_| amount(iso, de::AMOUNT, 12))?,
                balance_minor: optional(iso, de::BALANCE, |_| amount(iso, de::BALANCE, 12))?,
                display: display(iso)?,
                receipt: optional(iso, de::RECEIPT, |_| receipt(iso))?.unwrap_or_default(),
            }),
            mti::COMPLETION_RESPONSE | mti::REVERSAL_RESPONSE => {
                HostMessage::Advice(AdviceResponse {
                    kind: if iso.mti == mti::COMPLETION_RESPONSE {
                        AdviceKind::Completion
                    } else {
                        AdviceKind::Reversal
                    },
                    original: RequestKey::read(iso)?,
                    response_code: response_code(iso)?,
                    display: display(iso)?,
                })
            }
            mti::STATUS_RESPONSE => HostMessage::Status(StatusResponse {
                original: RequestKey::read(iso)?,
                status: match text(iso, de::REQUEST_STATUS, 1..=1)? {
                    "F" => RequestStatus::Final,
                    "P" => RequestStatus::InProgress,
                    "N" => RequestStatus::NotFound,
                    _ => return Err(invalid(de::REQUEST_STATUS, "status is F, P or N")),
                },
                response_code: optional(iso, de::RESPONSE_CODE, |_| response_code(iso))?,
                rrn: optional(iso, de::RRN, |_| fixed_text(iso, de::RRN, 12))?,
                approval_code: optional(iso, de::APPROVAL_CODE, |_| {
                    fixed_text(iso, de::APPROVAL_CODE, 6)
                })?,
                balance_minor: optional(iso, de::BALANCE, |_| amount(iso, de::BALANCE, 12))?,
                display: display(iso)?,
            }),
            mti::NETWORK_RESPONSE => HostMessage::Network(NetworkResponse {
                terminal_id: terminal_id(iso)?,
                stan: stan(iso)?,
                code: network_code(iso)?,
                response_code: response_code(iso)?,
                host_time_utc: NaiveDateTime::parse_from_str(
                    fixed_digits(iso, de::TRANSMISSION_TIME, 14)?,
                    "%Y%m%d%H%M%S",
                )
                .map_err(|_| invalid(de::TRANSMISSION_TIME, "not a time YYYYMMDDhhmmss"))?,
            }),
            mti::BATCH_TOTALS_RESPONSE => HostMessage::BatchTotals(BatchTotalsResponse {
                terminal_id: terminal_id(iso)?,
                stan: stan(iso)?,
                response_code: response_code(iso)?,
                display: display(iso)?,
            }),
            mti::DEVICE_EVENT_RESPONSE => HostMessage::DeviceEvent(DeviceEventResponse {
                key: RequestKey::read(iso)?,
                response_code: response_code(iso)?,
            }),
            other => return Err(MessageError::UnknownMti(other)),
        };
        Ok(message)
    }
}

// ---- element formats -------------------------------------------------------------------------

fn required(iso: &IsoMessage, tag: u8) -> Result<&[u8], MessageError> {
    iso.get(tag).ok_or(MessageError::Missing(tag))
}

fn optional<T>(
    iso: &IsoMessage,
    tag: u8,
    read: impl FnOnce(&[u8]) -> Result<T, MessageError>,
) -> Result<Option<T>, MessageError> {
    iso.get(tag).map(read).transpose()
}

fn set_optional(iso: &mut IsoMessage, tag: u8, value: Option<&str>) {
    if let Some(value) = value {
        iso.set(tag, value.as_bytes());
    }
}

/// UTF-8 text of a bounded length, without control characters.
fn text(
    iso: &IsoMessage,
    tag: u8,
    length: std::ops::RangeInclusive<usize>,
) -> Result<&str, MessageError> {
    let bytes = required(iso, tag)?;
    if !length.contains(&bytes.len()) {
        return Err(invalid(tag, "wrong length"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid(tag, "not UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(invalid(tag, "control characters"));
    }
    Ok(text)
}

fn fixed_text(iso: &IsoMessage, tag: u8, length: usize) -> Result<String, MessageError> {
    let value = text(iso, tag, length..=length)?;
    if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(tag, "letters and digits only"));
    }
    Ok(value.to_string())
}

fn fixed_digits(iso: &IsoMessage, tag: u8, length: usize) -> Result<&str, MessageError> {
    let value = text(iso, tag, length..=length)?;
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(tag, "digits only"));
    }
    Ok(value)
}

fn amount(iso: &IsoMessage, tag: u8, length: usize) -> Result<i64, MessageError> {
    fixed_digits(iso, tag, length)?
        .parse()
        .map_err(|_| invalid(tag, "amount out of range"))
}

fn count(iso: &IsoMessage, tag: u8) -> Result<u64, MessageError> {
    fixed_digits(iso, tag, 10)?
        .parse()
        .map_err(|_| invalid(tag, "count out of range"))
}

fn totals(iso: &IsoMessage, count_tag: u8, amount_tag: u8) -> Result<Totals, MessageError> {
    Ok(Totals {
        count: count(iso, count_tag)?,
        amount_minor: amount(iso, amount_tag, 16)?,
    })
}

fn stan(iso: &IsoMessage) -> Result<u32, MessageError> {
    fixed_digits(iso, de::STAN, 6)?
        .parse()
        .map_err(|_| invalid(de::STAN, "not a STAN"))
}

fn date(iso: &IsoMessage, tag: u8) -> Result<NaiveDate, MessageError> {
    NaiveDate::parse_from_str(fixed_digits(iso, tag, 8)?, "%Y%m%d")
        .map_err(|_| invalid(tag, "not a date YYYYMMDD"))
}

fn terminal_id(iso: &IsoMessage) -> Result<String, MessageError> {
    let value = text(iso, de::TERMINAL_ID, 1..=16)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(invalid(de::TERMINAL_ID, "letters, digits and -"));
    }
    Ok(value.to_string())
}

fn pan(iso: &IsoMessage) -> Result<String, MessageError> {
    let value = text(iso, de::PAN, 12..=19)?;
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(de::PAN, "digits only"));
    }
    Ok(value.to_string())
}

fn response_code(iso: &IsoMessage) -> Result<String, MessageError> {
    fixed_text(iso, de::RESPONSE_CODE, 2)
}

fn display(iso: &IsoMessage) -> Result<String, MessageError> {
    Ok(text(iso, de::DISPLAY_TEXT, 0..=MAX_PAYLOAD)?.to_string())
}

fn processing_text(code: ProcessingCode) -> String {
    format!("{:02}0000", code.code())
}

fn processing(iso: &IsoMessage) -> Result<ProcessingCode, MessageError> {
    let value = fixed_digits(iso, de::PROCESSING_CODE, 6)?;
    let code = value[..2]
        .parse()
        .map_err(|_| invalid(de::PROCESSING_CODE, "not a processing code"))?;
    Ok(ProcessingCode::from_code(code))
}

fn network_text(code: NetworkCode) -> &'static str {
    match code {
        NetworkCode::Logon => "001",
        NetworkCode::Echo => "301",
    }
}

fn network_code(iso: &IsoMessage) -> Result<NetworkCode, MessageError> {
    match fixed_digits(iso, de::NETWORK_CODE, 3)? {
        "001" => Ok(NetworkCode::Logon),
        "301" => Ok(NetworkCode::Echo),
        _ => Err(invalid(de::NETWORK_CODE, "001 logon or 301 echo")),
    }
}

fn advice_kind(mti: Mti) -> AdviceKind {
    match mti {
        mti::COMPLETION => AdviceKind::Completion,
        mti::REVERSAL => AdviceKind::Reversal,
        _ => AdviceKind::ReversalRepeat,
    }
}

fn original_text(original: &OriginalRef) -> String {
    format!(
        "0200{:06}{}",
        original.stan,
        original.local_date.format("%Y%m%d")
    )
}

fn original(iso: &IsoMessage) -> Result<OriginalRef, MessageError> {
    let value = fixed_digits(iso, de::ORIGINAL_DATA, 18)?;
    if &value[..4] != "0200" {
        return Err(invalid(de::ORIGINAL_DATA, "the original must be a 0200"));
    }
    Ok(OriginalRef {
        stan: value[4..10]
            .parse()
            .map_err(|_| invalid(de::ORIGINAL_DATA, "not a STAN"))?,
        local_date: NaiveDate::parse_from_str(&value[10..], "%Y%m%d")
            .map_err(|_| invalid(de::ORIGINAL_DATA, "not a date YYYYMMDD"))?,
    })
}

fn basket_text(lines: &[BasketLine]) -> String {
    join_records(lines.iter().map(|line| {
        format!(
            "{}{UNIT_SEPARATOR}{}{UNIT_SEPARATOR}{}",
            line.sku, line.quantity, line.unit_price_minor
        )
    }))
}

fn basket(iso: &IsoMessage) -> Result<Vec<BasketLine>, MessageError> {
    let tag = de::BASKET;
    let lines = records(iso, tag)?;
    if lines.len() > MAX_BASKET_LINES {
        return Err(invalid(tag, "more than 50 lines"));
    }
    lines
        .into_iter()
        .map(|fields| match fields.as_slice() {
            [sku, quantity, price] if !sku.is_empty() && sku.len() <= 32 => Ok(BasketLine {
                sku: sku.to_string(),
                quantity: small_number(quantity).ok_or(invalid(tag, "quantity 1 to 999"))?,
                unit_price_minor: minor_units(price).ok_or(invalid(tag, "unit price"))?,
            }),
            _ => Err(invalid(tag, "a line is SKU, quantity and unit price")),
        })
        .collect()
}

fn receipt_text(lines: &[ReceiptLine]) -> String {
    join_records(lines.iter().map(|line| {
        format!(
            "{}{UNIT_SEPARATOR}{}{UNIT_SEPARATOR}{}",
            line.name, line.quantity, line.amount_minor
        )
    }))
}

fn receipt(iso: &IsoMessage) -> Result<Vec<ReceiptLine>, MessageError> {
    let tag = de::RECEIPT;
    records(iso, tag)?
        .into_iter()
        .map(|fields| match fields.as_slice() {
            [name, quantity, amount] if !name.is_empty() => Ok(ReceiptLine {
                name: name.to_string(),
                quantity: small_number(quantity).ok_or(invalid(tag, "quantity 1 to 999"))?,
                amount_minor: minor_units(amount).ok_or(invalid(tag, "amount"))?,
            }),
            _ => Err(invalid(tag, "a line is name, quantity and amount")),
        })
        .collect()
}

fn join_records(records: impl Iterator<Item = String>) -> String {
    records
        .collect::<Vec<_>>()
        .join(&RECORD_SEPARATOR.to_string())
}

/// Splits an element into records of fields. Separators are the only control characters allowed.
fn records(iso: &IsoMessage, tag: u8) -> Result<Vec<Vec<&str>>, MessageError> {
    let bytes = required(iso, tag)?;
    let value = std::str::from_utf8(bytes).map_err(|_| invalid(tag, "not UTF-8"))?;
    if value
        .chars()
        .any(|c| c.is_control() && c != RECORD_SEPARATOR && c != UNIT_SEPARATOR)
    {
        return Err(invalid(tag, "control characters"));
    }
    Ok(value
        .split(RECORD_SEPARATOR)
        .map(|record| record.split(UNIT_SEPARATOR).collect())
        .collect())
}

fn small_number(text: &str) -> Option<u32> {
    let ok = (1..=3).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok())
        .flatten()
        .filter(|n| (1..=999).contains(n))
}

fn minor_units(text: &str) -> Option<i64> {
    let ok = (1..=15).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A purchase of one line at `amount_minor` with this card number and PIN block.
    fn purchase(pan: &str, block: [u8; BLOCK_LEN], amount_minor: i64) -> FinancialRequest {
        FinancialRequest {
            key: RequestKey {
                terminal_id: "SMD00001".into(),
                stan: 7,
                local_time: NaiveDate::from_ymd_opt(2026, 11, 23)
                    .unwrap()
                    .and_hms_opt(10, 0, 0)
                    .unwrap(),
            },
            ewarung_id: "EW-1".into(),
            processing: ProcessingCode::Purchase,
            amount_minor,
            pan: pan.into(),
            pin_block: Some(block),
            program_code: None,
            basket: vec![BasketLine {
                sku: "BERAS-5KG".into(),
                quantity: 1,
                unit_price_minor: amount_minor,
            }],
            original: None,
        }
    }

    #[test]
    fn a_financial_request_debug_shows_no_card_number_or_pin_block() {
        let request = purchase("6019010435474346", [0xAB; BLOCK_LEN], 100);
        let shown = format!("{request:?}");
        assert!(shown.contains("************4346"), "{shown}");
        assert!(
            !shown.contains("601901043547") && !shown.contains("171"),
            "{shown}"
        );
    }

    /// Every form a financial request takes on its way (the typed message, its ISO 8583 message,
    /// the frame that carries it, what the decoder hands the link) prints no card number and no
    /// PIN block with `{:?}`.
    #[test]
    fn no_form_of_a_request_prints_its_card_number_or_pin_block() {
        let pan = "6019010435474346";
        let block = [0x5C; BLOCK_LEN];
        let request = TerminalMessage::Financial(purchase(pan, block, 13_500));
        let payload = request.encode().unwrap();
        let iso = request.to_iso();
        let framed = crate::frame::encode(3, &payload).unwrap();
        let mut received = Vec::new();
        crate::frame::FrameDecoder::new().push(&framed, std::time::Instant::now(), &mut received);
        let shown = [
            format!("{request:?}"),
            format!("{iso:?}"),
            format!("{received:?}"),
            format!("{:?}", TerminalMessage::decode(&payload).unwrap()),
        ];
        let pan_bytes = format!("{:?}", pan.as_bytes());
        let pan_inner = &pan_bytes[1..pan_bytes.len() - 1];
        for text in &shown {
            assert!(!text.contains(&pan[..12]), "{text}");
            assert!(!text.contains(pan_inner), "the number as bytes: {text}");
            assert!(!text.contains("92, 92") && !text.contains("5C5C"), "{text}");
        }
        assert!(shown[2].contains("Frame"), "{}", shown[2]);
    }
}
