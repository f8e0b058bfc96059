//! Change requests, as [`ChangeRequestStore`](crate::store::ChangeRequestStore) for
//! [`SqlStore`] on either engine. Every step is one conditional update (the request must still be
//! in the state the step starts from) with its audit entry. Approval is not a step here: the
//! household change it applies calls [`mark_applied`] inside its own transaction, so a request
//! is applied exactly when its change is.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::{
        change_request::RequestState,
        ids::{ChangeRequestId, HouseholdId, UserId},
    },
    model::change_requests::{
        ChangeRequestFilter, ChangeRequestRecord, NewChangeRequest, RequestApproval, RequestStep,
        RevisedChangeRequest,
    },
    store::{
        registry::audit,
        sql_store::{Engine, SqlStore},
        Page, StoreError, StoreResult, WriteTx,
    },
};

/// The columns every read answers: the request, its author's and decider's usernames and its
/// household's KK number.
const SELECT: &str = "SELECT r.id, r.number, r.household_id, r.kind, r.proposal, r.reason,
        r.base_revision, r.kelurahan, r.blocks_cards, r.state, r.created_by,
        a.username AS author, r.created_at, r.submitted_at, r.decided_by, d.username AS decider,
        r.decided_at, r.decision_note, r.applied_revision, r.updated_at, h.kk_number
     FROM change_requests r JOIN users a ON a.id = r.created_by
     LEFT JOIN users d ON d.id = r.decided_by
     LEFT JOIN households h ON h.id = r.household_id";

/// Marks an approved request applied, inside the transaction of the household change it made:
/// only from `submitted`, only by someone other than its author. A request decided meanwhile
/// (or the author approving their own) is `StateConflict`, and the change rolls back with it.
pub(crate) async fn mark_applied<DB: sqlx::Database>(
    tx: &mut WriteTx<DB>,
    approval: RequestApproval,
    household: HouseholdId,
    revision: i32,
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<UserId>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB>,
    str: sqlx::Type<DB>,
    for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    let now = crate::store::now();
    let applied: Option<(i64,)> = sqlx::query_as(
        "UPDATE change_requests SET state = 'applied', decided_by = $2, decided_at = $3,
             applied_revision = $4, household_id = $5, updated_at = $3
         WHERE id = $1 AND state = 'submitted' AND created_by <> $2
         RETURNING number",
    )
    .bind(approval.request.0)
    .bind(Some(approval.approver))
    .bind(now)
    .bind(revision)
    .bind(household.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((number,)) = applied else {
        return Err(StoreError::StateConflict {
            entity: "change request",
            actual: "no longer submitted, or its author's own".into(),
        });
    };
    audit(
        tx,
        Some(approval.approver),
        "change_request.apply",
        ("change_request", approval.request.0.to_string()),
        json!({ "number": number, "household_id": household, "revision": revision }),
    )
    .await
}

impl<E: Engine> SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<i32>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> ChangeRequestRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn request_in(
        tx: &mut WriteTx<E::Db>,
        id: ChangeRequestId,
    ) -> StoreResult<ChangeRequestRecord> {
        sqlx::query_as(&format!("{SELECT} WHERE r.id = $1"))
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "change request",
            })
    }

    async fn insert_request(&self, request: &NewChangeRequest) -> StoreResult<ChangeRequestRecord> {
        let mut tx = self.engine.begin_write().await?;
        let now = crate::store::now();
        let id = ChangeRequestId::new();
        let state = if request.submit {
            RequestState::Submitted
        } else {
            RequestState::Draft
        };
        let proposal = serde_json::to_string(&request.proposal)
            .map_err(|error| StoreError::Database(sqlx::Error::Decode(error.into())))?;
        sqlx::query(
            "INSERT INTO change_requests (id, number, household_id, kind, proposal, reason,
                 base_revision, kelurahan, blocks_cards, state, created_by, created_at,
                 submitted_at, updated_at)
             VALUES ($1, (SELECT COALESCE(max(number), 0) + 1 FROM change_requests), $2, $3, $4,
                     $5, $6, $7, $8, $9, $10, $11, $12, $11)",
        )
        .bind(id.0)
        .bind(request.household_id.map(|h| h.0))
        .bind(request.proposal.kind().as_str())
        .bind(proposal)
        .bind(&request.reason)
        .bind(request.base_revision)
        .bind(&request.kelurahan)
        .bind(request.proposal.holds_cards())
        .bind(state.as_str())
        .bind(Some(request.actor))
        .bind(now)
        .bind(request.submit.then_some(now))
        .execute(&mut *tx)
        .await?;
        let record = Self::request_in(&mut tx, id).await?;
        let action = if request.submit {
            "change_request.submit"
        } else {
            "change_request.create"
        };
        audit(
            &mut tx,
            Some(request.actor),
            action,
            ("change_request", id.0.to_string()),
            json!({ "number": record.number, "household_id": record.household_id,
                    "kind": record.kind, "proposal": record.proposal, "reason": record.reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::ChangeRequestStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<i32>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> ChangeRequestRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn create_change_request(
        &self,
        request: NewChangeRequest,
    ) -> StoreResult<ChangeRequestRecord> {
        crate::store::numbering::with_next_number("change_requests_number_key", || {
            self.insert_request(&request)
        })
        .await
    }

    async fn revise_change_request(
        &self,
        revised: RevisedChangeRequest,
    ) -> StoreResult<ChangeRequestRecord> {
        let mut tx = self.engine.begin_write().await?;
        let now = crate::store::now();
        let proposal = serde_json::to_string(&revised.proposal)
            .map_err(|error| StoreError::Database(sqlx::Error::Decode(error.into())))?;
        let changed: Option<(i64,)> = sqlx::query_as(
            "UPDATE change_requests SET kind = $2, proposal = $3, reason = $4, base_revision = $5,
                 kelurahan = $6, blocks_cards = $7, updated_at = $8
             WHERE id = $1 AND created_by = $9 AND state IN ('draft', 'returned')
             RETURNING number",
        )
        .bind(revised.id.0)
        .bind(revised.proposal.kind().as_str())
        .bind(proposal)
        .bind(&revised.reason)
        .bind(revised.base_revision)
        .bind(&revised.kelurahan)
        .bind(revised.proposal.holds_cards())
        .bind(now)
        .bind(Some(revised.actor))
        .fetch_optional(&mut *tx)
        .await?;
        let record = Self::request_in(&mut tx, revised.id).await?;
        if changed.is_none() {
            return Err(StoreError::StateConflict {
                entity: "change request",
                actual: record.state.to_string(),
            });
        }
        audit(
            &mut tx,
            Some(revised.actor),
            "change_request.revise",
            ("change_request", revised.id.0.to_string()),
            json!({ "number": record.number, "proposal": record.proposal,
                    "reason": record.reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn step_change_request(&self, step: RequestStep) -> StoreResult<ChangeRequestRecord> {
        let mut tx = self.engine.begin_write().await?;
        let now = crate::store::now();
        let submitting = step.to == RequestState::Submitted;
        // Submitting is the author's; returning and rejecting are decisions and say by whom.
        let moved: Option<(i64,)> = sqlx::query_as(
            "UPDATE change_requests SET state = $2, updated_at = $4,
                 submitted_at = CASE WHEN $5 THEN $4 ELSE submitted_at END,
                 decided_by = CASE WHEN $5 THEN NULL ELSE $6 END,
                 decided_at = CASE WHEN $5 THEN NULL ELSE $4 END,
                 decision_note = CASE WHEN $5 THEN decision_note ELSE $7 END
             WHERE id = $1 AND state = $3 AND (NOT $5 OR created_by = $6)
             RETURNING number",
        )
        .bind(step.id.0)
        .bind(step.to.as_str())
        .bind(step.from.as_str())
        .bind(now)
        .bind(submitting)
        .bind(Some(step.actor))
        .bind(step.note.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let record = Self::request_in(&mut tx, step.id).await?;
        if moved.is_none() {
            return Err(StoreError::StateConflict {
                entity: "change request",
                actual: record.state.to_string(),
            });
        }
        let action = match step.to {
            RequestState::Submitted => "change_request.submit",
            RequestState::Returned => "change_request.return",
            _ => "change_request.reject",
        };
        audit(
            &mut tx,
            Some(step.actor),
            action,
            ("change_request", step.id.0.to_string()),
            json!({ "number": record.number, "from": step.from, "to": step.to,
                    "note": step.note }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn mark_unchanged_applied(
        &self,
        approval: RequestApproval,
        household: HouseholdId,
        revision: i32,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        mark_applied(&mut tx, approval, household, revision).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_change_request(
        &self,
        id: ChangeRequestId,
    ) -> StoreResult<Option<ChangeRequestRecord>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE r.id = $1"))
            .bind(id.0)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_change_requests(
        &self,
        filter: ChangeRequestFilter,
        page: Page,
    ) -> StoreResult<Vec<ChangeRequestRecord>> {
        // A verifier's reach: their kelurahan, one placeholder each (never more than 20).
        let Some(within) =
            crate::store::sql_text::within_kelurahan("r.kelurahan", filter.within.as_deref(), 8)
        else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "{SELECT}
             WHERE ($1 IS NULL OR r.state = $1) AND ($2 IS NULL OR r.kind = $2)
               AND ($3 IS NULL OR r.household_id = $3) AND ($4 IS NULL OR r.kelurahan = $4)
               AND ($5 IS NULL OR r.created_by = $5) AND ($6 IS NULL OR r.id > $6)
               {within}
             ORDER BY r.id LIMIT $7"
        );
        let mut query = sqlx::query_as(&sql)
            .bind(filter.state.map(|s| s.as_str()))
            .bind(filter.kind.map(|k| k.as_str()))
            .bind(filter.household_id.map(|h| h.0))
            .bind(filter.kelurahan)
            .bind(filter.created_by.map(|u| u.0))
            .bind(page.after)
            .bind(i64::from(page.limit));
        for name in filter.within.unwrap_or_default() {
            query = query.bind(name);
        }
        Ok(query.fetch_all(self.engine.reader()).await?)
    }
}
