//! The registry's application services, one per area: [`households`], [`users`],
//! [`programs`] (and their catalogs), [`ewarungs`] (and their terminals). Like [`crate::cards`],
//! each takes typed commands, parsed once from what a person typed with every refused value kept
//! beside its field ([`crate::domain::Refusals`]); owns the area's rules (which store conflicts
//! mean what, which states a change may start from); and answers with one error enum. The JSON
//! API and the pages call the same methods and only translate: the API into its codes, the pages
//! into words of the reader's language.

pub mod campaigns;
pub mod change_requests;
pub mod complaints;
pub mod dormancy;
pub mod ewarungs;
pub mod households;
pub mod import;
pub mod import_parse;
pub mod members;
pub mod programs;
pub mod reach;
pub mod representatives;
pub mod users;
pub mod visits;

/// A value a front end reads in its own way before the rules see it (an amount typed as
/// `13.500` on a page, a JSON string in the API; a role chosen from a list): the value, or why
/// it could not be read, which the command keeps beside the value's field with its other
/// refusals.
pub type Read<T> = Result<T, crate::domain::Invalid>;
