//! Response codes, modelled on ISO 8583 field 39, with the short texts a terminal displays in
//! Indonesian and English. The codes are a stable contract with terminals: never renumber them.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseCode {
    /// 00: approved (or, for complete/void/reversal, done).
    Approved,
    /// 12: invalid transaction: an item outside the catalog, a price above the cap, an unknown
    /// transaction type, or an operation the purchase's state does not allow.
    InvalidTransaction,
    /// 14: no such card.
    InvalidCard,
    /// 25: the original request of a complete or void is unknown.
    UnableToLocate,
    /// 51: the basket costs more than the household has left.
    InsufficientBalance,
    /// 54: expired card: a representative's card past the date its authority runs until.
    ExpiredCard,
    /// 55: wrong PIN.
    WrongPin,
    /// 57: not permitted to the cardholder: any cash transaction.
    NotPermitted,
    /// 58: the terminal may not transact (unknown, not the caller's, suspended, retired).
    TerminalNotPermitted,
    /// 62: restricted card: blocked, lost, replaced, or the household is not active.
    RestrictedCard,
    /// 75: too many wrong PINs; the card is locked for a while.
    PinTriesExceeded,
    /// 78: an open change request says the household moved away or its head died; its cards
    /// wait for the office's decision (the balance is kept).
    HouseholdUnderReview,
    /// 30: the terminal's message could not be read (the gateway answers it; nothing happened).
    FormatError,
    /// 91: the host could not be reached (the gateway answers it; nothing happened, or the
    /// gateway reverses whatever might have).
    HostUnavailable,
    /// 94: the same terminal, STAN and date were already used for a different request.
    Duplicate,
    /// 95: a terminal's batch totals differ from the host's (the mismatch is recorded).
    ReconcileError,
    /// 96: the host failed; the terminal should reverse and may retry.
    SystemError,
}

/// What the terminal shows, in both languages of its users.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DisplayText {
    pub id: Cow<'static, str>,
    pub en: Cow<'static, str>,
}

/// Sent and stored as its two digits (`"00"`); an unknown code does not deserialise.
impl Serialize for ResponseCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for ResponseCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        ResponseCode::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown response code {code:?}")))
    }
}

impl ResponseCode {
    pub const ALL: &'static [ResponseCode] = &[
        ResponseCode::Approved,
        ResponseCode::InvalidTransaction,
        ResponseCode::InvalidCard,
        ResponseCode::UnableToLocate,
        ResponseCode::InsufficientBalance,
        ResponseCode::ExpiredCard,
        ResponseCode::WrongPin,
        ResponseCode::NotPermitted,
        ResponseCode::TerminalNotPermitted,
        ResponseCode::RestrictedCard,
        ResponseCode::PinTriesExceeded,
        ResponseCode::HouseholdUnderReview,
        ResponseCode::FormatError,
        ResponseCode::HostUnavailable,
        ResponseCode::Duplicate,
        ResponseCode::ReconcileError,
        ResponseCode::SystemError,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ResponseCode::Approved => "00",
            ResponseCode::InvalidTransaction => "12",
            ResponseCode::InvalidCard => "14",
            ResponseCode::UnableToLocate => "25",
            ResponseCode::InsufficientBalance => "51",
            ResponseCode::ExpiredCard => "54",
            ResponseCode::WrongPin => "55",
            ResponseCode::NotPermitted => "57",
            ResponseCode::TerminalNotPermitted => "58",
            ResponseCode::RestrictedCard => "62",
            ResponseCode::PinTriesExceeded => "75",
            ResponseCode::HouseholdUnderReview => "78",
            ResponseCode::FormatError => "30",
            ResponseCode::HostUnavailable => "91",
            ResponseCode::Duplicate => "94",
            ResponseCode::ReconcileError => "95",
            ResponseCode::SystemError => "96",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == code)
    }

    pub fn text(self) -> DisplayText {
        let (id, en) = match self {
            ResponseCode::Approved => ("Disetujui", "Approved"),
            ResponseCode::InvalidTransaction => ("Transaksi tidak valid", "Invalid transaction"),
            ResponseCode::InvalidCard => ("Kartu tidak dikenal", "Invalid card"),
            ResponseCode::UnableToLocate => {
                ("Transaksi asal tidak ditemukan", "Original not found")
            }
            ResponseCode::InsufficientBalance => ("Saldo tidak cukup", "Insufficient balance"),
            ResponseCode::ExpiredCard => ("Kartu kedaluwarsa", "Expired card"),
            ResponseCode::WrongPin => ("PIN salah", "Wrong PIN"),
            ResponseCode::NotPermitted => ("Tarik tunai tidak diizinkan", "Cash not permitted"),
            ResponseCode::TerminalNotPermitted => {
                ("Terminal tidak diizinkan", "Terminal not permitted")
            }
            ResponseCode::RestrictedCard => ("Kartu dibatasi", "Restricted card"),
            ResponseCode::PinTriesExceeded => {
                ("PIN salah 3 kali, kartu terkunci", "PIN tries exceeded")
            }
            ResponseCode::HouseholdUnderReview => (
                "Data keluarga sedang diverifikasi, hubungi Dinas Sosial",
                "Household under review, contact the social affairs office",
            ),
            ResponseCode::FormatError => ("Format pesan salah", "Message format error"),
            ResponseCode::HostUnavailable => (
                "Host tidak dapat dihubungi, coba lagi",
                "Host unreachable, try again",
            ),
            ResponseCode::Duplicate => ("Transaksi ganda", "Duplicate transaction"),
            ResponseCode::ReconcileError => ("Total batch tidak cocok", "Batch totals differ"),
            ResponseCode::SystemError => ("Gangguan sistem", "System error"),
        };
        DisplayText {
            id: Cow::Borrowed(id),
            en: Cow::Borrowed(en),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_two_digit_strings_that_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ResponseCode::ALL {
            assert_eq!(code.code().len(), 2);
            assert!(seen.insert(code.code()), "{code:?} reuses {}", code.code());
            assert_eq!(ResponseCode::from_code(code.code()), Some(*code));
            assert!(!code.text().id.is_empty() && !code.text().en.is_empty());
        }
    }
}
