//! Pure rules of the SSN program: values that parse instead of validate, states and their allowed
//! transitions. Nothing in here does I/O, so every rule can be tested directly.

pub mod bank;
pub mod campaign;
pub mod card;
pub mod catalog;
pub mod chain;
pub mod change_request;
pub mod complaint;
pub mod expiry;
pub mod household;
pub mod identity;
pub mod ids;
pub mod invalid;
pub mod limits;
pub mod locale;
pub mod member;
pub mod merkle;
pub mod message;
pub mod money;
pub mod pan;
pub mod pin;
pub mod purchase;
pub mod representative;
pub mod role;
pub mod string_enum;
pub mod terminal;
pub mod text;
pub mod username;
pub mod visit;

pub use invalid::{Invalid, Refusals};
