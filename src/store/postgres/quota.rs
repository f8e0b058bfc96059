//! Quota staging on PostgreSQL: households looked up on a reader (one query per program and
//! period in a chunk), the lines streamed into `quota_lines` with binary `COPY`, which PostgreSQL
//! loads several times faster than multi-row `INSERT`s (no statement to parse and plan per
//! thousand rows, no bound parameters, no text to parse).

use crate::{
    domain::ids::{AccountId, QuotaBatchId, TransferId},
    model::quota::{LineError, LineOutcome, StagedLine},
    store::{postgres::PgStore, StoreResult},
};

const COPY_LINES: &str =
    "COPY quota_lines (batch_id, line_no, program_id, kk_number, household_id, period,
                                amount_minor, outcome, transfer_id, account_id) FROM STDIN (FORMAT binary)";

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
                let outcome = LineOutcome::of_household(status, loaded);
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
        let mut rows = BinaryRows::with_capacity(lines.len());
        for (line, found) in lines.iter().zip(&resolved) {
            match found {
                Some((household, outcome)) => {
                    rows.row(10);
                    rows.uuid(batch.0);
                    rows.bigint(line.line_no);
                    rows.uuid(line.program_id.0);
                    rows.text(&line.kk_number);
                    rows.uuid(household.0);
                    rows.text(&line.period);
                    rows.bigint(line.amount_minor);
                    rows.text(outcome.as_str());
                    rows.uuid(TransferId::new().0);
                    rows.uuid(AccountId::new().0);
                }
                None => errors.push(LineError::unknown_household(line)),
            }
        }
        let mut tx = self.begin_write().await?;
        if rows.count > 0 {
            let mut copy = tx.copy_in_raw(COPY_LINES).await?;
            if let Err(error) = copy.send(rows.finish()).await {
                copy.abort(error.to_string()).await?;
                return Err(error.into());
            }
            copy.finish().await?;
        }
        crate::store::sql_store::SqlStore::<PgStore>::insert_quota_errors(&mut tx, batch, &errors)
            .await?;
        tx.commit().await?;
        Ok(resolved
            .into_iter()
            .map(|found| found.map(|(_, outcome)| outcome))
            .collect())
    }
}

/// Rows in the binary format of `COPY … FROM STDIN`: a signature and an empty header, then each
/// row as its field count and each field as its length and the type's binary form, and a count of
/// -1 at the end. PostgreSQL reads it without parsing text (uuids as text cost it a tenth of its
/// time in the text format).
struct BinaryRows {
    buffer: Vec<u8>,
    count: usize,
}

impl BinaryRows {
    const SIGNATURE: &'static [u8; 11] = b"PGCOPY\n\xff\r\n\0";

    fn with_capacity(rows: usize) -> Self {
        let mut buffer = Vec::with_capacity(19 + rows * 160);
        buffer.extend_from_slice(Self::SIGNATURE);
        buffer.extend_from_slice(&0_i32.to_be_bytes()); // flags
        buffer.extend_from_slice(&0_i32.to_be_bytes()); // header extension length
        Self { buffer, count: 0 }
    }

    fn row(&mut self, fields: i16) {
        self.buffer.extend_from_slice(&fields.to_be_bytes());
        self.count += 1;
    }

    fn field(&mut self, bytes: &[u8]) {
        let length = i32::try_from(bytes.len()).expect("a field shorter than 2 GiB");
        self.buffer.extend_from_slice(&length.to_be_bytes());
        self.buffer.extend_from_slice(bytes);
    }

    fn uuid(&mut self, id: uuid::Uuid) {
        self.field(id.as_bytes());
    }

    fn bigint(&mut self, value: i64) {
        self.field(&value.to_be_bytes());
    }

    fn text(&mut self, text: &str) {
        self.field(text.as_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(&(-1_i16).to_be_bytes());
        self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::BinaryRows;

    #[test]
    fn binary_copy_rows_carry_the_signature_each_field_length_first_and_the_trailer() {
        let mut rows = BinaryRows::with_capacity(1);
        rows.row(2);
        rows.bigint(7);
        rows.text("ab");
        let bytes = rows.finish();
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 2]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
        expected.extend_from_slice(&[0, 0, 0, 2, b'a', b'b']);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(bytes, expected);
    }
}
