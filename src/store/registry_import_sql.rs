//! Registry imports, as [`RegistryImportStore`](crate::store::RegistryImportStore) for
//! [`SqlStore`] on either engine. Lines are staged with multi-row inserts a chunk at a time; the
//! whole-file checks and the approval are set-based statements over the staged lines (each line
//! carries the household and member id it is written under), so a million members never pass
//! through the service's memory.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::ids::{RegistryImportId, UserId},
    model::registry_import::{ImportLine, ImportLineError, ImportRecord},
    store::{
        ledger_sql::Dialect,
        ledger_store::value_rows,
        registry::audit,
        sql_store::{Engine, SqlStore},
        Page, StoreError, StoreResult, WriteTx,
    },
};

/// 15 values a line: SQLite allows 32766 bound parameters a statement.
const LINES_PER_STATEMENT: usize = 1_000;
const ERRORS_PER_STATEMENT: usize = 2_000;

/// The lines of a KK that approval may write: no refused line, not registered, and no member's
/// NIK held by a household since the upload (checked again when approving).
const ELIGIBLE: &str = "NOT EXISTS (SELECT 1 FROM registry_import_errors e
                          WHERE e.import_id = l.import_id AND e.kk_number = l.kk_number)
        AND NOT EXISTS (SELECT 1 FROM households x WHERE x.kk_number = l.kk_number)";

/// The whole-file checks, each an `INSERT … SELECT` of refused lines (`$1`: the import).
const CHECKS: [&str; 5] = [
    // A NIK twice in the file: the later lines are refused.
    "INSERT INTO registry_import_errors (import_id, line_no, kk_number, field, code, message)
     SELECT l.import_id, l.line_no, l.kk_number, 'nik', 'duplicate_nik',
            'this NIK is on an earlier line of the file'
     FROM registry_import_lines l
     WHERE l.import_id = $1 AND l.line_no > (SELECT min(o.line_no) FROM registry_import_lines o
         WHERE o.import_id = l.import_id AND o.nik = l.nik)",
    // A KK without a head: its first line is refused (the whole KK is then not imported).
    "INSERT INTO registry_import_errors (import_id, line_no, kk_number, field, code, message)
     SELECT l.import_id, l.line_no, l.kk_number, 'relation', 'head_missing',
            'no line of this KK has relation head'
     FROM registry_import_lines l
     WHERE l.import_id = $1
       AND NOT EXISTS (SELECT 1 FROM registry_import_lines h WHERE h.import_id = l.import_id
                         AND h.kk_number = l.kk_number AND h.relation = 'head')
       AND l.line_no = (SELECT min(o.line_no) FROM registry_import_lines o
                        WHERE o.import_id = l.import_id AND o.kk_number = l.kk_number)",
    // A second head in one KK.
    "INSERT INTO registry_import_errors (import_id, line_no, kk_number, field, code, message)
     SELECT l.import_id, l.line_no, l.kk_number, 'relation', 'two_heads',
            'an earlier line of this KK is its head already'
     FROM registry_import_lines l
     WHERE l.import_id = $1 AND l.relation = 'head'
       AND l.line_no > (SELECT min(h.line_no) FROM registry_import_lines h
                        WHERE h.import_id = l.import_id AND h.kk_number = l.kk_number
                          AND h.relation = 'head')",
    // An address that differs from the head's within one KK.
    "INSERT INTO registry_import_errors (import_id, line_no, kk_number, field, code, message)
     SELECT l.import_id, l.line_no, l.kk_number, 'street', 'address_conflict',
            'the address differs from the one on the line of this KK''s head'
     FROM registry_import_lines l
     WHERE l.import_id = $1 AND l.relation <> 'head'
       AND EXISTS (SELECT 1 FROM registry_import_lines h WHERE h.import_id = l.import_id
                     AND h.kk_number = l.kk_number AND h.relation = 'head'
                     AND (h.street <> l.street OR h.rt <> l.rt OR h.rw <> l.rw
                          OR h.kelurahan <> l.kelurahan OR h.kecamatan <> l.kecamatan))",
    // A NIK another household holds (one person, one household), naming that household's KK.
    "INSERT INTO registry_import_errors (import_id, line_no, kk_number, field, code, message)
     SELECT l.import_id, l.line_no, l.kk_number, 'nik', 'nik_in_other_household',
            'this NIK is in the household of KK ' || h.kk_number
     FROM registry_import_lines l
     JOIN household_members m ON m.nik = l.nik AND m.released_at IS NULL
     JOIN households h ON h.id = m.household_id
     WHERE l.import_id = $1 AND h.kk_number <> l.kk_number",
];

#[async_trait::async_trait]
impl<E: Engine> crate::store::RegistryImportStore for SqlStore<E>
where
    E::Db: Dialect,
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> ImportRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ImportLineError: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64, i64, i64, i64): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn create_import(
        &self,
        source_name: &str,
        uploaded_by: UserId,
    ) -> StoreResult<ImportRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record = sqlx::query_as(
            "INSERT INTO registry_imports (id, status, source_name, uploaded_by, uploaded_at)
             VALUES ($1, 'validating', $2, $3, $4) RETURNING *",
        )
        .bind(RegistryImportId::new().0)
        .bind(source_name.to_string())
        .bind(uploaded_by.0)
        .bind(crate::store::now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn stage_import_chunk(
        &self,
        id: RegistryImportId,
        lines: &[ImportLine],
        errors: &[ImportLineError],
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        for part in lines.chunks(LINES_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO registry_import_lines (import_id, line_no, kk_number, household_id,
                     member_id, nik, name, relation, sex, birth_date, street, rt, rw, kelurahan,
                     kecamatan) VALUES {}",
                value_rows::<E::Db>(part.len(), 15)
            );
            let mut insert = sqlx::query(&sql);
            for line in part {
                insert = insert
                    .bind(id.0)
                    .bind(line.line_no)
                    .bind(line.kk_number.clone())
                    .bind(line.household_id.0)
                    .bind(line.member_id.0)
                    .bind(line.nik.clone())
                    .bind(line.name.clone())
                    .bind(line.relation.clone())
                    .bind(line.sex.clone())
                    .bind(line.birth_date.clone())
                    .bind(line.street.clone())
                    .bind(line.rt.clone())
                    .bind(line.rw.clone())
                    .bind(line.kelurahan.clone())
                    .bind(line.kecamatan.clone());
            }
            insert.execute(&mut *tx).await?;
        }
        insert_errors(&mut tx, id, errors).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_import(&self, id: RegistryImportId, rows: i64) -> StoreResult<ImportRecord> {
        let mut tx = self.engine.begin_write().await?;
        for check in CHECKS {
            sqlx::query(check).bind(id.0).execute(&mut *tx).await?;
        }
        let (existing, refused, new, members): (i64, i64, i64, i64) = sqlx::query_as(
            "WITH kks AS (
                 SELECT kk_number FROM registry_import_lines WHERE import_id = $1
                 UNION
                 SELECT kk_number FROM registry_import_errors
                  WHERE import_id = $1 AND kk_number IS NOT NULL),
             sorted AS (
                 SELECT k.kk_number,
                        EXISTS (SELECT 1 FROM households h WHERE h.kk_number = k.kk_number) AS registered,
                        EXISTS (SELECT 1 FROM registry_import_errors e WHERE e.import_id = $1
                                  AND e.kk_number = k.kk_number) AS refused
                 FROM kks k)
             SELECT CAST(COALESCE(sum(CASE WHEN registered THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(sum(CASE WHEN refused AND NOT registered THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(sum(CASE WHEN refused OR registered THEN 0 ELSE 1 END), 0) AS BIGINT),
                    CAST((SELECT count(*) FROM registry_import_lines l
                          WHERE l.import_id = $1 AND NOT EXISTS (SELECT 1 FROM registry_import_errors e
                                WHERE e.import_id = l.import_id AND e.kk_number = l.kk_number)
                            AND NOT EXISTS (SELECT 1 FROM households x
                                WHERE x.kk_number = l.kk_number)) AS BIGINT)
             FROM sorted",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        let record: ImportRecord = sqlx::query_as(
            "UPDATE registry_imports SET status = 'validated', row_count = $2,
                 error_count = (SELECT count(*) FROM registry_import_errors WHERE import_id = $1),
                 households_existing = $3, households_refused = $4, households_new = $5,
                 members_new = $6
             WHERE id = $1 AND status = 'validating' RETURNING *",
        )
        .bind(id.0)
        .bind(rows)
        .bind(existing)
        .bind(refused)
        .bind(new)
        .bind(members)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound {
            entity: "registry_import",
        })?;
        audit(
            &mut tx,
            Some(record.uploaded_by),
            "registry_import.upload",
            ("registry_import", id.0.to_string()),
            json!({ "source_name": record.source_name, "rows": rows,
                    "errors": record.error_count, "households_new": new,
                    "members_new": members, "households_existing": existing,
                    "households_refused": refused }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn abandon_import(&self, id: RegistryImportId) -> StoreResult<bool> {
        let mut tx = self.engine.begin_write().await?;
        let (validating,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM registry_imports WHERE id = $1 AND status = 'validating'",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        if validating == 0 {
            return Ok(false);
        }
        for sql in [
            "DELETE FROM registry_import_lines WHERE import_id = $1",
            "DELETE FROM registry_import_errors WHERE import_id = $1",
            "DELETE FROM registry_imports WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn get_import(&self, id: RegistryImportId) -> StoreResult<Option<ImportRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM registry_imports WHERE id = $1")
                .bind(id.0)
                .fetch_optional(self.engine.reader())
                .await?,
        )
    }

    async fn list_imports(&self, page: Page) -> StoreResult<Vec<ImportRecord>> {
        Ok(sqlx::query_as(
            "SELECT * FROM registry_imports WHERE ($1 IS NULL OR id < $1)
             ORDER BY id DESC LIMIT $2",
        )
        .bind(page.after)
        .bind(i64::from(page.limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn import_errors(
        &self,
        id: RegistryImportId,
        after_line: i64,
        limit: u32,
    ) -> StoreResult<Vec<ImportLineError>> {
        Ok(sqlx::query_as(
            "SELECT line_no, kk_number, field, code, message FROM registry_import_errors
             WHERE import_id = $1 AND line_no > $2 ORDER BY line_no, field LIMIT $3",
        )
        .bind(id.0)
        .bind(after_line)
        .bind(i64::from(limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn approve_import(
        &self,
        id: RegistryImportId,
        actor: UserId,
    ) -> StoreResult<ImportRecord> {
        let mut tx = self.engine.begin_write().await?;
        let current: ImportRecord = sqlx::query_as("SELECT * FROM registry_imports WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "registry_import",
            })?;
        if current.uploaded_by == actor {
            return Err(StoreError::SameApprover(
                "an import must be approved by a different office user than the one who uploaded it",
            ));
        }
        let now = crate::store::now();
        let approved = sqlx::query(
            "UPDATE registry_imports SET status = 'approved', approved_by = $2, approved_at = $3
             WHERE id = $1 AND status = 'validated'",
        )
        .bind(id.0)
        .bind(actor.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if crate::store::ledger_sql::RowsAffected::rows_affected(&approved) == 0 {
            return Err(StoreError::StateConflict {
                entity: "registry_import",
                actual: current.status.as_str().to_string(),
            });
        }
        // A KK whose member's NIK a household took since the upload is left out whole.
        sqlx::query(&format!(
            "INSERT INTO households (id, kk_number, head_nik, head_name, street, rt, rw, kelurahan,
                 kecamatan, status, status_reason, revision, created_at, updated_at)
             SELECT l.household_id, l.kk_number, l.nik, l.name, l.street, l.rt, l.rw, l.kelurahan,
                    l.kecamatan, 'active', NULL, 1, $2, $2
             FROM registry_import_lines l
             WHERE l.import_id = $1 AND l.relation = 'head' AND {ELIGIBLE}
               AND NOT EXISTS (SELECT 1 FROM registry_import_lines o
                   JOIN household_members m ON m.nik = o.nik AND m.released_at IS NULL
                   WHERE o.import_id = l.import_id AND o.kk_number = l.kk_number)"
        ))
        .bind(id.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The households just written are exactly those whose id a line of this import carries.
        sqlx::query(
            "INSERT INTO household_members (id, household_id, nik, name, relation, sex, birth_date,
                 released_at, created_at, updated_at)
             SELECT l.member_id, l.household_id, l.nik, l.name, l.relation, l.sex, l.birth_date,
                    NULL, $2, $2
             FROM registry_import_lines l JOIN households h ON h.id = l.household_id
             WHERE l.import_id = $1",
        )
        .bind(id.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let changes = json!({ "registered": { "registry_import": id } });
        sqlx::query(
            "INSERT INTO household_revisions (household_id, revision, changed_by, changed_at,
                 reason, changes)
             SELECT l.household_id, 1, $2, $3, 'registered', $4
             FROM registry_import_lines l JOIN households h ON h.id = l.household_id
             WHERE l.import_id = $1 AND l.relation = 'head'",
        )
        .bind(id.0)
        .bind(actor.0)
        .bind(now)
        .bind(Json(changes))
        .execute(&mut *tx)
        .await?;
        let (households,): (i64,) = sqlx::query_as(
            "SELECT CAST(count(*) AS BIGINT) FROM registry_import_lines l
             JOIN households h ON h.id = l.household_id
             WHERE l.import_id = $1 AND l.relation = 'head'",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        let (members,): (i64,) = sqlx::query_as(
            "SELECT CAST(count(*) AS BIGINT) FROM registry_import_lines l
             JOIN households h ON h.id = l.household_id WHERE l.import_id = $1",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        let record: ImportRecord = sqlx::query_as(
            "UPDATE registry_imports SET households_new = $2, members_new = $3
             WHERE id = $1 RETURNING *",
        )
        .bind(id.0)
        .bind(households)
        .bind(members)
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(actor),
            "registry_import.approve",
            ("registry_import", id.0.to_string()),
            json!({ "households_new": households, "members_new": members,
                    "households_existing": record.households_existing,
                    "households_refused": record.households_refused }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }
}

async fn insert_errors<DB: Dialect>(
    tx: &mut WriteTx<DB>,
    id: RegistryImportId,
    errors: &[ImportLineError],
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for part in errors.chunks(ERRORS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO registry_import_errors (import_id, line_no, kk_number, field, code, message)
             VALUES {}",
            value_rows::<DB>(part.len(), 6)
        );
        let mut insert = sqlx::query(&sql);
        for error in part {
            insert = insert
                .bind(id.0)
                .bind(error.line_no)
                .bind(error.kk_number.clone())
                .bind(error.field.clone())
                .bind(error.code.clone())
                .bind(error.message.clone());
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}
