//! E-Warungs and their terminals: registering an E-Warung (its address and the bank account it
//! is paid into, one account per E-Warung), suspending or reopening it, adding a terminal with a
//! fresh PIN key, rotating that key, and moving a terminal between active and suspended (retired
//! is final: a retired terminal's id and key left service with its device). A PIN key is known in
//! clear only in the answer that made it; the host keeps it wrapped.

use std::sync::Arc;

use terminal_link::pin_block::TerminalKey;

use crate::{
    auth::terminal_keys::TerminalKeyVault,
    domain::{
        bank,
        household::Address,
        identity::Nik,
        ids::{EwarungId, UserId},
        limits::{NAME_CHARS, REASON_CHARS, SERIAL_CHARS},
        terminal::{EwarungStatus, TerminalId, TerminalStatus},
        text::bounded,
        Refusals,
    },
    store::{
        BankAccount, EwarungRecord, NewEwarung, NewTerminal, Store, StoreError, TerminalRecord,
        WrappedPinKey,
    },
};

/// Why an E-Warung or terminal command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EwarungError {
    #[error("E-Warung not found")]
    EwarungNotFound,
    #[error("terminal not found")]
    TerminalNotFound,
    /// Values of the command were refused, each beside its field.
    #[error("{0}")]
    Refused(Refusals),
    /// Every E-Warung is paid into its own account.
    #[error("another E-Warung is paid to that bank account")]
    BankAccountTaken,
    #[error("a terminal with that id is registered")]
    TerminalIdTaken,
    #[error("a terminal with that serial number is registered")]
    SerialNumberTaken,
    /// The terminal's state does not allow the change (a retired terminal stays retired).
    #[error("terminal is {actual}, which does not allow this change")]
    TerminalState { actual: String },
    #[error(transparent)]
    Store(StoreError),
}

impl From<Refusals> for EwarungError {
    fn from(refusals: Refusals) -> Self {
        EwarungError::Refused(refusals)
    }
}

impl From<StoreError> for EwarungError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate { constraint } => match constraint.as_str() {
                "ewarungs_bank_account_key" => EwarungError::BankAccountTaken,
                "terminals_pkey" => EwarungError::TerminalIdTaken,
                "terminals_serial_number_key" => EwarungError::SerialNumberTaken,
                _ => EwarungError::Store(StoreError::Duplicate { constraint }),
            },
            StoreError::NotFound { entity: "ewarung" } => EwarungError::EwarungNotFound,
            StoreError::NotFound { entity: "terminal" } => EwarungError::TerminalNotFound,
            StoreError::StateConflict {
                entity: "terminal",
                actual,
            } => EwarungError::TerminalState { actual },
            error => EwarungError::Store(error),
        }
    }
}

/// A new E-Warung, checked.
#[derive(Debug)]
pub struct EwarungRegistration {
    name: String,
    owner_name: String,
    owner_nik: Option<Nik>,
    address: Address,
    bank_account: BankAccount,
}

impl EwarungRegistration {
    /// Checks every value; the refusals name the API's fields (`owner_name`, `owner_nik`,
    /// `address.rt`, `bank_account.number`). The owner's NIK is optional (blank: none).
    pub fn parse(
        name: &str,
        owner_name: &str,
        owner_nik: &str,
        address: Address,
        account: &BankAccount,
    ) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let name = refusals.check("name", bounded(name, NAME_CHARS, "name"));
        let owner_name =
            refusals.check("owner_name", bounded(owner_name, NAME_CHARS, "owner_name"));
        let owner_nik = if owner_nik.trim().is_empty() {
            Some(None)
        } else {
            refusals
                .check("owner_nik", Nik::parse_as_printed(owner_nik))
                .map(Some)
        };
        let address = refusals.merge(address.normalised());
        let bank_code = refusals.check(
            "bank_account.bank_code",
            bank::bank_code(&account.bank_code),
        );
        let number = refusals.check(
            "bank_account.number",
            bank::account_number(&account.account_number),
        );
        let holder = refusals.check(
            "bank_account.holder",
            bounded(&account.account_holder, NAME_CHARS, "holder"),
        );
        let registration = match (
            name, owner_name, owner_nik, address, bank_code, number, holder,
        ) {
            (
                Some(name),
                Some(owner_name),
                Some(owner_nik),
                Some(address),
                Some(bank_code),
                Some(account_number),
                Some(account_holder),
            ) => Some(Self {
                name,
                owner_name,
                owner_nik,
                address,
                bank_account: BankAccount {
                    bank_code,
                    account_number,
                    account_holder,
                },
            }),
            _ => None,
        };
        refusals.or_value(registration)
    }
}

/// A new terminal of an E-Warung, checked.
#[derive(Debug)]
pub struct TerminalRegistration {
    terminal_id: TerminalId,
    serial_number: String,
}

impl TerminalRegistration {
    pub fn parse(terminal_id: &str, serial_number: &str) -> Result<Self, Refusals> {
        let mut refusals = Refusals::default();
        let terminal_id = refusals.check("terminal_id", TerminalId::parse(terminal_id));
        let serial_number = refusals.check(
            "serial_number",
            bounded(serial_number, SERIAL_CHARS, "serial_number"),
        );
        let registration = match (terminal_id, serial_number) {
            (Some(terminal_id), Some(serial_number)) => Some(Self {
                terminal_id,
                serial_number,
            }),
            _ => None,
        };
        refusals.or_value(registration)
    }
}

/// A reason for a status change, checked (the refusal under `reason`).
pub fn reason(typed: &str) -> Result<String, Refusals> {
    bounded(typed, REASON_CHARS, "reason").map_err(|invalid| Refusals::one("reason", invalid))
}

/// A terminal with the PIN key just made for it, to be shown this once.
pub struct Keyed {
    pub terminal: TerminalRecord,
    pub key: TerminalKey,
}

#[derive(Clone)]
pub struct Ewarungs {
    pub store: Arc<dyn Store>,
    pub keys: Arc<TerminalKeyVault>,
}

impl Ewarungs {
    pub async fn get(&self, id: EwarungId) -> Result<EwarungRecord, EwarungError> {
        self.store
            .get_ewarung(id)
            .await?
            .ok_or(EwarungError::EwarungNotFound)
    }

    pub async fn terminal(&self, terminal_id: &str) -> Result<TerminalRecord, EwarungError> {
        self.store
            .get_terminal(terminal_id)
            .await?
            .ok_or(EwarungError::TerminalNotFound)
    }

    pub async fn register(
        &self,
        registration: EwarungRegistration,
        actor: UserId,
    ) -> Result<EwarungRecord, EwarungError> {
        let ewarung = NewEwarung {
            name: registration.name,
            owner_name: registration.owner_name,
            owner_nik: registration.owner_nik.map(|nik| nik.as_str().to_string()),
            address: registration.address,
            bank_account: registration.bank_account,
        };
        Ok(self.store.create_ewarung(ewarung, actor).await?)
    }

    /// Suspends or reopens an E-Warung, with why (`reason` from [`reason`]).
    pub async fn change_status(
        &self,
        id: EwarungId,
        status: EwarungStatus,
        reason: String,
        actor: UserId,
    ) -> Result<EwarungRecord, EwarungError> {
        Ok(self
            .store
            .set_ewarung_status(id, status, reason, actor)
            .await?)
    }

    /// Adds a terminal to an E-Warung with a fresh PIN key.
    pub async fn add_terminal(
        &self,
        ewarung: EwarungId,
        registration: TerminalRegistration,
        actor: UserId,
    ) -> Result<Keyed, EwarungError> {
        self.get(ewarung).await?;
        let terminal_id = registration.terminal_id.as_str().to_string();
        let (key, wrapped) = self.new_key(&terminal_id);
        let terminal = NewTerminal {
            terminal_id,
            ewarung_id: ewarung,
            serial_number: registration.serial_number,
            pin_key: Some(wrapped),
        };
        let terminal = self.store.create_terminal(terminal, actor).await?;
        Ok(Keyed { terminal, key })
    }

    /// A new PIN key for a terminal; the old one stops working at once.
    pub async fn rotate_pin_key(
        &self,
        terminal_id: &str,
        actor: UserId,
    ) -> Result<Keyed, EwarungError> {
        let terminal = self.terminal(terminal_id).await?;
        let (key, wrapped) = self.new_key(&terminal.terminal_id);
        let terminal = self
            .store
            .set_terminal_pin_key(&terminal.terminal_id, wrapped, actor)
            .await?;
        Ok(Keyed { terminal, key })
    }

    /// Moves a terminal between active and suspended, or retires it for good.
    pub async fn change_terminal_status(
        &self,
        terminal_id: &str,
        status: TerminalStatus,
        reason: String,
        actor: UserId,
    ) -> Result<TerminalRecord, EwarungError> {
        Ok(self
            .store
            .set_terminal_status(terminal_id, status, reason, actor)
            .await?)
    }

    /// A new PIN key: in clear (to show once) and as the store keeps it.
    fn new_key(&self, terminal_id: &str) -> (TerminalKey, WrappedPinKey) {
        let key = TerminalKey::generate();
        let wrapped = WrappedPinKey {
            wrapped: self.keys.wrap(terminal_id, &key),
            check_value: key.check_value(),
        };
        (key, wrapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refused_value_names_the_apis_field() {
        let address = Address {
            street: "Jl. Antasari 9".into(),
            rt: "x".into(),
            rw: "1".into(),
            kelurahan: "Air Putih".into(),
            kecamatan: "Samarinda Ulu".into(),
        };
        let account = BankAccount {
            bank_code: "12".into(),
            account_number: "12345".into(),
            account_holder: "Hj. Rahmah".into(),
        };
        let refused = EwarungRegistration::parse("Mawar", "", "", address, &account).unwrap_err();
        let refusals: Vec<(&str, &str)> = refused
            .iter()
            .map(|(field, invalid)| (field, invalid.code))
            .collect();
        assert_eq!(
            refusals,
            [
                ("owner_name", "blank"),
                ("address.rt", "invalid_rt_rw"),
                ("bank_account.bank_code", "invalid_bank_code"),
                ("bank_account.number", "invalid_bank_account"),
            ]
        );
    }

    #[test]
    fn a_terminal_needs_an_id_of_eight_and_a_serial() {
        let refused = TerminalRegistration::parse("smd1", "").unwrap_err();
        let fields: Vec<&str> = refused.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["terminal_id", "serial_number"]);
        assert!(TerminalRegistration::parse("SMD00001", "PAX-1").is_ok());
    }
}
