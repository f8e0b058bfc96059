//! Quota staging on PostgreSQL: households looked up on a reader (one query per program and
//! period in a chunk), the lines streamed into `quota_lines` with `COPY`, which PostgreSQL loads
//! several times faster than multi-row `INSERT`s (no statement to parse and plan per thousand rows,
//! no bound parameters).

use std::fmt::Write as _;

use crate::{
    domain::ids::{AccountId, QuotaBatchId, TransferId},
    quota::{LineError, LineOutcome, StagedLine},
    store::{postgres::PgStore, StoreResult},
};

const COPY_LINES: &str =
    "COPY quota_lines (batch_id, line_no, program_id, kk_number, household_id, period,
                                amount_minor, outcome, transfer_id, account_id) FROM STDIN";

impl PgStore {
    /// For each line, its household and what posting it would do now; `None` when no
    /// household has that KK number. Reads only, on a reader: one query per program and
    /// period in the chunk, with the KK numbers passed as one JSON array (a bound
    /// parameter per number costs more than the lookup itself).
    async fn resolve_quota_lines(
        &self,
        lines: &[StagedLine],
    ) -> StoreResult<Vec<Option<(crate::domain::ids::HouseholdId, LineOutcome)>>> {
        use crate::domain::{household::HouseholdStatus, ids::HouseholdId, ids::ProgramId};
        use std::collections::HashMap;
        let mut groups: HashMap<(ProgramId, &str), Vec<&str>> = HashMap::new();
        for line in lines {
            groups
                .entry((line.program_id, line.period.as_str()))
                .or_default()
                .push(line.kk_number.as_str());
        }
        const SQL: &str = "SELECT h.kk_number, h.id, h.status,
                EXISTS (SELECT 1 FROM quota_credits c WHERE c.program_id = $2
                          AND c.household_id = h.id AND c.period = $3) AS loaded
             FROM jsonb_array_elements_text($1::jsonb) AS j(value)
             JOIN households h ON h.kk_number = j.value";
        let mut found: HashMap<(ProgramId, &str, String), (HouseholdId, LineOutcome)> =
            HashMap::new();
        for ((program, period), mut kks) in groups {
            kks.sort_unstable();
            kks.dedup();
            let array = serde_json::to_string(&kks).expect("strings serialise");
            let rows = sqlx::query_as::<_, (String, HouseholdId, HouseholdStatus, bool)>(SQL)
                .bind(array)
                .bind(program)
                .bind(period)
                .fetch_all(self.reader())
                .await?;
            for (kk, id, status, loaded) in rows {
                let outcome = match status {
                    HouseholdStatus::Suspended => LineOutcome::SkippedSuspended,
                    HouseholdStatus::Exited => LineOutcome::SkippedExited,
                    HouseholdStatus::Active if loaded => LineOutcome::AlreadyLoaded,
                    HouseholdStatus::Active => LineOutcome::Credited,
                };
                found.insert((program, period, kk), (id, outcome));
            }
        }
        Ok(lines
            .iter()
            .map(|line| {
                found
                    .get(&(
                        line.program_id,
                        line.period.as_str(),
                        line.kk_number.clone(),
                    ))
                    .copied()
            })
            .collect())
    }

    /// Stages a chunk in one transaction; answers each line's outcome (`None`: no household,
    /// recorded as an `unknown_household` error).
    pub(crate) async fn stage_lines(
        &self,
        batch: QuotaBatchId,
        lines: &[StagedLine],
        errors: &[LineError],
    ) -> StoreResult<Vec<Option<LineOutcome>>> {
        let resolved = self.resolve_quota_lines(lines).await?;
        let mut errors = errors.to_vec();
        let mut rows = String::with_capacity(lines.len() * 200);
        for (line, found) in lines.iter().zip(&resolved) {
            match found {
                Some((household, outcome)) => {
                    // Text format: tab-separated, one row a line. Every field is a number, a uuid
                    // or text the row checks allowed (digits, `YYYY-MM`), but escape anyway.
                    let _ = writeln!(
                        rows,
                        "{batch}\t{}\t{}\t{}\t{household}\t{}\t{}\t{}\t{}\t{}",
                        line.line_no,
                        line.program_id,
                        copy_text(&line.kk_number),
                        copy_text(&line.period),
                        line.amount_minor,
                        outcome.as_str(),
                        TransferId::new(),
                        AccountId::new(),
                    );
                }
                None => errors.push(LineError {
                    line_no: line.line_no,
                    field: "kk_number".into(),
                    code: "unknown_household".into(),
                    message: format!(
                        "no household is registered with KK number {}",
                        line.kk_number
                    ),
                }),
            }
        }
        let mut tx = self.begin_write().await?;
        if !rows.is_empty() {
            let mut copy = tx.copy_in_raw(COPY_LINES).await?;
            if let Err(error) = copy.send(rows.as_bytes()).await {
                copy.abort(error.to_string()).await?;
                return Err(error.into());
            }
            copy.finish().await?;
        }
        Self::insert_quota_errors(&mut tx, batch, &errors).await?;
        tx.commit().await?;
        Ok(resolved
            .into_iter()
            .map(|found| found.map(|(_, outcome)| outcome))
            .collect())
    }
}

/// Escapes text for `COPY … FROM STDIN` in text format.
fn copy_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\\', '\t', '\n', '\r']) {
        return text.into();
    }
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_text_escapes_what_would_end_a_field_or_a_row() {
        assert_eq!(super::copy_text("2026-11"), "2026-11");
        assert_eq!(super::copy_text("a\tb\\c\nd"), "a\\tb\\\\c\\nd");
    }
}
