//! Complaints, as [`ComplaintStore`](crate::store::ComplaintStore) for [`SqlStore`] on either
//! engine. Filing counts the E-Warung's complaints of the last six months in the same
//! transaction (the third is escalated at once); assigning and resolving are conditional
//! updates on an open complaint; each is audited.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::{
        complaint::{Outcome, REPEAT_THRESHOLD, REPEAT_WINDOW_DAYS},
        ids::{ComplaintId, UserId},
    },
    model::complaints::{ComplainedPurchase, ComplaintFilter, ComplaintRecord, NewComplaint},
    store::{
        registry::audit,
        sql_store::{Engine, SqlStore},
        Page, StoreError, StoreResult, WriteTx,
    },
};

const SELECT: &str = "SELECT c.id, c.number, c.household_id, h.kk_number, c.card_id, c.ewarung_id,
        e.name AS ewarung_name, c.redemption_id, c.rrn, c.channel, c.category, c.severity,
        c.description, c.state, c.assigned_to, s.username AS assignee, c.due_at,
        c.repeat_escalation, c.created_by, a.username AS author, c.created_at, c.resolved_by,
        r.username AS resolver, c.resolved_at, c.outcome, c.outcome_reason
     FROM complaints c JOIN households h ON h.id = c.household_id
     LEFT JOIN ewarungs e ON e.id = c.ewarung_id
     LEFT JOIN users s ON s.id = c.assigned_to
     LEFT JOIN users a ON a.id = c.created_by
     LEFT JOIN users r ON r.id = c.resolved_by";

impl<E: Engine> SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> ComplaintRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn complaint_in(
        tx: &mut WriteTx<E::Db>,
        id: ComplaintId,
    ) -> StoreResult<ComplaintRecord> {
        sqlx::query_as(&format!("{SELECT} WHERE c.id = $1"))
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "complaint",
            })
    }

    async fn insert_complaint(&self, complaint: &NewComplaint) -> StoreResult<ComplaintRecord> {
        let mut tx = self.engine.begin_write().await?;
        let now = crate::store::now();
        let id = ComplaintId::new();
        // Complaints about the same E-Warung in the window, before this one.
        let before = match complaint.ewarung_id {
            Some(ewarung) => {
                let (count,): (i64,) = sqlx::query_as(
                    "SELECT CAST(count(*) AS BIGINT) FROM complaints
                     WHERE ewarung_id = $1 AND created_at > $2",
                )
                .bind(ewarung.0)
                .bind(now - chrono::Duration::days(REPEAT_WINDOW_DAYS))
                .fetch_one(&mut *tx)
                .await?;
                count
            }
            None => 0,
        };
        let repeat = before + 1 >= REPEAT_THRESHOLD;
        sqlx::query(
            "INSERT INTO complaints (id, number, household_id, card_id, ewarung_id, redemption_id,
                 rrn, channel, category, severity, description, state, due_at,
                 repeat_escalation, created_by, created_at, updated_at)
             VALUES ($1, (SELECT COALESCE(max(number), 0) + 1 FROM complaints), $2, $3, $4, $5,
                     $6, $7, $8, $9, $10, 'open', $11, $12, $13, $14, $14)",
        )
        .bind(id.0)
        .bind(complaint.household_id.0)
        .bind(complaint.card_id.map(|c| c.0))
        .bind(complaint.ewarung_id.map(|e| e.0))
        .bind(complaint.redemption_id.map(|r| r.0))
        .bind(complaint.rrn.clone())
        .bind(complaint.channel.as_str())
        .bind(complaint.category.as_str())
        .bind(complaint.severity.as_str())
        .bind(complaint.description.clone())
        .bind(complaint.severity.due(now))
        .bind(repeat)
        .bind(complaint.actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let record = Self::complaint_in(&mut tx, id).await?;
        audit(
            &mut tx,
            complaint.actor,
            "complaint.file",
            ("complaint", id.0.to_string()),
            json!({ "number": record.number, "household_id": record.household_id,
                    "ewarung_id": record.ewarung_id, "rrn": record.rrn,
                    "channel": record.channel, "category": record.category,
                    "severity": record.severity, "repeat_escalation": repeat }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::ComplaintStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> bool: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> ComplaintRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ComplainedPurchase: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn file_complaint(&self, complaint: NewComplaint) -> StoreResult<ComplaintRecord> {
        crate::store::numbering::with_next_number("complaints_number_key", || {
            self.insert_complaint(&complaint)
        })
        .await
    }

    async fn assign_complaint(
        &self,
        id: ComplaintId,
        assignee: UserId,
        actor: UserId,
    ) -> StoreResult<ComplaintRecord> {
        let mut tx = self.engine.begin_write().await?;
        let moved: Option<(i64,)> = sqlx::query_as(
            "UPDATE complaints SET assigned_to = $2, updated_at = $3
             WHERE id = $1 AND state = 'open' RETURNING number",
        )
        .bind(id.0)
        .bind(assignee.0)
        .bind(crate::store::now())
        .fetch_optional(&mut *tx)
        .await?;
        let record = Self::complaint_in(&mut tx, id).await?;
        if moved.is_none() {
            return Err(StoreError::StateConflict {
                entity: "complaint",
                actual: record.state.to_string(),
            });
        }
        audit(
            &mut tx,
            Some(actor),
            "complaint.assign",
            ("complaint", id.0.to_string()),
            json!({ "number": record.number, "assigned_to": assignee }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn resolve_complaint(
        &self,
        id: ComplaintId,
        outcome: Outcome,
        reason: &str,
        actor: UserId,
    ) -> StoreResult<ComplaintRecord> {
        let mut tx = self.engine.begin_write().await?;
        let now = crate::store::now();
        let moved: Option<(i64,)> = sqlx::query_as(
            "UPDATE complaints SET state = 'resolved', outcome = $2, outcome_reason = $3,
                 resolved_by = $4, resolved_at = $5, updated_at = $5
             WHERE id = $1 AND state = 'open' RETURNING number",
        )
        .bind(id.0)
        .bind(outcome.as_str())
        .bind(reason)
        .bind(actor.0)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let record = Self::complaint_in(&mut tx, id).await?;
        if moved.is_none() {
            return Err(StoreError::StateConflict {
                entity: "complaint",
                actual: record.state.to_string(),
            });
        }
        audit(
            &mut tx,
            Some(actor),
            "complaint.resolve",
            ("complaint", id.0.to_string()),
            json!({ "number": record.number, "outcome": outcome.as_str(), "reason": reason,
                    "on_time": now <= record.due_at }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_complaint(&self, id: ComplaintId) -> StoreResult<Option<ComplaintRecord>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE c.id = $1"))
            .bind(id.0)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_complaints(
        &self,
        filter: ComplaintFilter,
        page: Page,
    ) -> StoreResult<Vec<ComplaintRecord>> {
        Ok(sqlx::query_as(&format!(
            "{SELECT}
             WHERE ($1 IS NULL OR c.state = $1) AND ($2 IS NULL OR c.ewarung_id = $2)
               AND ($3 IS NULL OR c.household_id = $3) AND ($4 IS NULL OR c.id > $4)
             ORDER BY c.id LIMIT $5"
        ))
        .bind(filter.state.map(|s| s.as_str()))
        .bind(filter.ewarung_id.map(|e| e.0))
        .bind(filter.household_id.map(|h| h.0))
        .bind(page.after)
        .bind(i64::from(page.limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn purchase_by_rrn(&self, rrn: &str) -> StoreResult<Option<ComplainedPurchase>> {
        Ok(sqlx::query_as(
            "SELECT id AS redemption_id, household_id, card_id, ewarung_id
             FROM redemptions WHERE rrn = $1",
        )
        .bind(rrn)
        .fetch_optional(self.engine.reader())
        .await?)
    }
}
