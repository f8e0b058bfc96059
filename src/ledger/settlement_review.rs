//! Four eyes on the bank's runs: whether a finished reconciliation run may become its date's
//! authoritative run at once, or waits for a second bank user, and what settling after it would
//! change for each E-Warung (paid so far, due after, the difference).
//!
//! A run waits when settling after it would take money back from an E-Warung, when it matches
//! less for one than the date's authoritative run does, or when more than
//! [`REVIEW_SHARE_PERCENT`] percent of its bank lines are malformed, or match nothing the host
//! approved. A partial file followed by the complete one waits for nobody: the complete file
//! only adds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::{
    domain::ids::{EwarungId, ProgramId, UserId},
    model::recon::{Category, Payable, ReconReport, ReviewReason},
};

/// A run whose malformed lines, or whose lines matching no approval of the host (bank-only,
/// duplicate, amount mismatch), are more than this percentage of its bank lines waits for a
/// second bank user.
pub const REVIEW_SHARE_PERCENT: i64 = 10;

/// What the store reads for a preview, all of one date.
#[derive(Debug, Clone, Default)]
pub struct ReviewFigures {
    /// What the run matched.
    pub run: Vec<Payable>,
    /// The date's authoritative run, if it has one, and what that run matched.
    pub authoritative: Option<(uuid::Uuid, Vec<Payable>)>,
    /// What the date's settlement entries paid so far, per (E-Warung, program).
    pub settled: Vec<(EwarungId, ProgramId, i64)>,
    pub ewarung_names: BTreeMap<EwarungId, String>,
    pub program_codes: BTreeMap<ProgramId, String>,
}

/// What settling after a run would do for one E-Warung and program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PreviewLine {
    #[schema(value_type = String, format = Uuid)]
    pub ewarung_id: EwarungId,
    pub ewarung_name: String,
    #[schema(value_type = String, format = Uuid)]
    pub program_id: ProgramId,
    pub program_code: String,
    /// Settled for the date so far, in minor units.
    pub paid_minor: i64,
    /// What the date's authoritative run makes due now; none when the date has none.
    pub due_now_minor: Option<i64>,
    /// What the run would make due.
    pub due_after_minor: i64,
    /// `due_after_minor - paid_minor`: what a settle after the run posts. Negative is taken
    /// back from the E-Warung.
    pub difference_minor: i64,
}

/// What settling after a run would change, line by line, with a digest of exactly these
/// figures: a confirmation names the digest it saw, and is refused if the figures moved since.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    /// The date's authoritative run the figures were taken against.
    pub authoritative_run: Option<uuid::Uuid>,
    pub lines: Vec<PreviewLine>,
    pub digest: String,
}

/// Sums and differences beyond an `i64` of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the settlement figures of the date exceed what this service can hold")]
pub struct OutOfRange;

/// A negative match (refunds above sales) makes nothing due, as in settlement.
fn due(payable: &Payable) -> i64 {
    payable.amount_minor.max(0)
}

/// The preview of settling after the run in `figures`: one line per (E-Warung, program) that
/// the run, the authoritative run or an earlier settlement names, in a fixed order.
pub fn preview(figures: &ReviewFigures) -> Result<Preview, OutOfRange> {
    #[derive(Default)]
    struct Sides {
        paid: i64,
        due_now: Option<i64>,
        due_after: i64,
    }
    let mut by_key: BTreeMap<(EwarungId, ProgramId), Sides> = BTreeMap::new();
    for payable in &figures.run {
        by_key
            .entry((payable.ewarung_id, payable.program_id))
            .or_default()
            .due_after = due(payable);
    }
    for &(ewarung, program, paid) in &figures.settled {
        by_key.entry((ewarung, program)).or_default().paid = paid;
    }
    if let Some((_, payables)) = &figures.authoritative {
        for payable in payables {
            by_key
                .entry((payable.ewarung_id, payable.program_id))
                .or_default()
                .due_now = Some(due(payable));
        }
        // Pairs only the run or the settlement named are due nothing under the current run.
        for sides in by_key.values_mut() {
            sides.due_now.get_or_insert(0);
        }
    }
    let mut lines = Vec::with_capacity(by_key.len());
    for ((ewarung_id, program_id), sides) in by_key {
        lines.push(PreviewLine {
            ewarung_id,
            ewarung_name: figures
                .ewarung_names
                .get(&ewarung_id)
                .cloned()
                .unwrap_or_default(),
            program_id,
            program_code: figures
                .program_codes
                .get(&program_id)
                .cloned()
                .unwrap_or_default(),
            paid_minor: sides.paid,
            due_now_minor: sides.due_now,
            due_after_minor: sides.due_after,
            difference_minor: sides.due_after.checked_sub(sides.paid).ok_or(OutOfRange)?,
        });
    }
    lines.sort_by(|a, b| {
        (&a.ewarung_name, a.ewarung_id, &a.program_code).cmp(&(
            &b.ewarung_name,
            b.ewarung_id,
            &b.program_code,
        ))
    });
    let authoritative_run = figures.authoritative.as_ref().map(|(id, _)| *id);
    let digest = digest_of(authoritative_run, &lines);
    Ok(Preview {
        authoritative_run,
        lines,
        digest,
    })
}

fn digest_of(authoritative_run: Option<uuid::Uuid>, lines: &[PreviewLine]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(
        authoritative_run
            .map(|id| id.to_string())
            .unwrap_or_default(),
    );
    for line in lines {
        hasher.update(format!(
            "\n{}|{}|{}|{:?}|{}",
            line.ewarung_id,
            line.program_id,
            line.paid_minor,
            line.due_now_minor,
            line.due_after_minor
        ));
    }
    hex::encode(&hasher.finalize()[..12])
}

/// Why the run of `report` must wait for a second bank user (empty: it may settle at once).
pub fn reasons(report: &ReconReport, preview: &Preview) -> Vec<ReviewReason> {
    let mut reasons = Vec::new();
    if preview.lines.iter().any(|line| line.difference_minor < 0) {
        reasons.push(ReviewReason::TakesMoneyBack);
    }
    if preview.lines.iter().any(|line| {
        line.due_now_minor
            .is_some_and(|now| line.due_after_minor < now)
    }) {
        reasons.push(ReviewReason::LowersDue);
    }
    let count = |category| report.categories.get(&category).map_or(0, |t| t.count);
    let unmatched = [
        Category::BankOnly,
        Category::Duplicate,
        Category::AmountMismatch,
    ]
    .into_iter()
    .map(count)
    .fold(0i64, i64::saturating_add);
    if above_share(count(Category::Malformed), report.bank_lines) {
        reasons.push(ReviewReason::MalformedShare);
    }
    if above_share(unmatched, report.bank_lines) {
        reasons.push(ReviewReason::UnmatchedShare);
    }
    reasons
}

/// Whether `part` is more than [`REVIEW_SHARE_PERCENT`] of `whole`, in integers.
fn above_share(part: i64, whole: i64) -> bool {
    whole > 0 && i128::from(part) * 100 > i128::from(whole) * i128::from(REVIEW_SHARE_PERCENT)
}

/// A second bank user's decision on a waiting run.
#[derive(Debug, Clone)]
pub struct ReviewDecision {
    pub run: uuid::Uuid,
    pub confirm: bool,
    pub actor: UserId,
    pub note: Option<String>,
    /// The preview's digest the decider saw; refused when the figures moved since.
    pub seen_digest: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::recon::{CategoryTotal, CategoryTotals};

    fn payable(ewarung: EwarungId, program: ProgramId, amount_minor: i64) -> Payable {
        Payable {
            ewarung_id: ewarung,
            program_id: program,
            items: 1,
            amount_minor,
        }
    }

    fn report(bank_lines: i64, counts: &[(Category, i64)]) -> ReconReport {
        let categories: CategoryTotals = counts
            .iter()
            .map(|&(c, count)| {
                (
                    c,
                    CategoryTotal {
                        count,
                        ..Default::default()
                    },
                )
            })
            .collect();
        ReconReport {
            business_date: "2026-12-01".into(),
            file_name: "bank.csv".into(),
            file_sha256: String::new(),
            bank_lines,
            unusable_lines: 0,
            host_entries: 0,
            categories,
            ewarungs: Vec::new(),
            exceptions: 0,
            no_activity: false,
        }
    }

    #[test]
    fn a_run_that_pays_less_than_was_paid_takes_money_back() {
        let (a, program) = (EwarungId::new(), ProgramId::new());
        let figures = ReviewFigures {
            run: vec![payable(a, program, 20_000)],
            authoritative: Some((uuid::Uuid::nil(), vec![payable(a, program, 30_000)])),
            settled: vec![(a, program, 30_000)],
            ..Default::default()
        };
        let preview = preview(&figures).unwrap();
        assert_eq!(preview.lines[0].difference_minor, -10_000);
        assert_eq!(preview.lines[0].due_now_minor, Some(30_000));
        let found = reasons(&report(3, &[(Category::Matched, 3)]), &preview);
        assert_eq!(
            found,
            [ReviewReason::TakesMoneyBack, ReviewReason::LowersDue]
        );
    }

    #[test]
    fn a_complete_file_after_a_partial_one_needs_nobody() {
        let (a, b, program) = (EwarungId::new(), EwarungId::new(), ProgramId::new());
        let figures = ReviewFigures {
            run: vec![payable(a, program, 30_000), payable(b, program, 5_000)],
            authoritative: Some((uuid::Uuid::nil(), vec![payable(a, program, 10_000)])),
            settled: vec![(a, program, 10_000)],
            ..Default::default()
        };
        let preview = preview(&figures).unwrap();
        let of = |e| preview.lines.iter().find(|l| l.ewarung_id == e).unwrap();
        assert_eq!(of(b).due_now_minor, Some(0), "not in the current run");
        assert_eq!(of(a).difference_minor, 20_000);
        let counts = [(Category::Matched, 40), (Category::HostOnly, 500)];
        assert!(reasons(&report(40, &counts), &preview).is_empty());
    }

    #[test]
    fn shares_above_the_threshold_wait() {
        let empty = preview(&ReviewFigures::default()).unwrap();
        let at_threshold = report(100, &[(Category::Matched, 90), (Category::Malformed, 10)]);
        assert!(
            reasons(&at_threshold, &empty).is_empty(),
            "10 of 100 is not above 10%"
        );
        let garbage = report(
            100,
            &[
                (Category::Matched, 0),
                (Category::Malformed, 80),
                (Category::BankOnly, 20),
            ],
        );
        assert_eq!(
            reasons(&garbage, &empty),
            [ReviewReason::MalformedShare, ReviewReason::UnmatchedShare]
        );
        assert!(reasons(&report(0, &[]), &empty).is_empty());
    }

    #[test]
    fn the_digest_follows_the_figures() {
        let (a, program) = (EwarungId::new(), ProgramId::new());
        let mut figures = ReviewFigures {
            run: vec![payable(a, program, 20_000)],
            ..Default::default()
        };
        let before = preview(&figures).unwrap().digest;
        assert_eq!(before, preview(&figures).unwrap().digest);
        figures.settled = vec![(a, program, 20_000)];
        assert_ne!(before, preview(&figures).unwrap().digest);
    }
}
