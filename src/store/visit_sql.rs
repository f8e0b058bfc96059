//! Field visits, as [`VisitStore`](crate::store::VisitStore) for [`SqlStore`] on either engine:
//! a visit and its audit entry in one transaction; a photo's type, size and hash added to its
//! visit once (the file itself is the photo store's, outside the database).

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::store::ledger_sql::RowsAffected;
use crate::{
    domain::ids::{HouseholdId, UserId, VisitId},
    model::visits::{NewVisit, VisitPhoto, VisitRecord},
    store::{
        registry::audit,
        sql_store::{Engine, SqlStore},
        StoreError, StoreResult,
    },
};

const SELECT: &str = "SELECT v.id, v.household_id, v.visited_on, v.outcome, v.note, v.photo_type,
        v.photo_bytes, v.photo_sha256, v.recorded_by, u.username AS recorder, v.recorded_at
     FROM household_visits v JOIN users u ON u.id = v.recorded_by";

#[async_trait::async_trait]
impl<E: Engine> crate::store::VisitStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<i64>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> VisitRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn record_visit(&self, visit: NewVisit) -> StoreResult<VisitRecord> {
        let mut tx = self.engine.begin_write().await?;
        let id = visit.id;
        let photo = visit.photo.clone();
        sqlx::query(
            "INSERT INTO household_visits (id, household_id, visited_on, outcome, note,
                 photo_type, photo_bytes, photo_sha256, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.0)
        .bind(visit.household.0)
        .bind(visit.visited_on.clone())
        .bind(visit.outcome.as_str())
        .bind(visit.note.clone())
        .bind(photo.as_ref().map(|p| p.mime))
        .bind(photo.as_ref().map(|p| p.bytes))
        .bind(photo.as_ref().map(|p| p.sha256.clone()))
        .bind(visit.actor.0)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(visit.actor),
            "household.visit",
            ("household", visit.household.0.to_string()),
            json!({ "visit_id": id, "visited_on": visit.visited_on,
                    "outcome": visit.outcome.as_str(), "note": visit.note,
                    "photo_bytes": photo.as_ref().map(|p| p.bytes) }),
        )
        .await?;
        let record: VisitRecord = sqlx::query_as(&format!("{SELECT} WHERE v.id = $1"))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn add_visit_photo(&self, photo: VisitPhoto) -> StoreResult<VisitRecord> {
        let mut tx = self.engine.begin_write().await?;
        let done = sqlx::query(
            "UPDATE household_visits SET photo_type = $2, photo_bytes = $3, photo_sha256 = $4
             WHERE id = $1 AND photo_type IS NULL",
        )
        .bind(photo.visit.0)
        .bind(photo.mime)
        .bind(photo.bytes)
        .bind(photo.sha256.clone())
        .execute(&mut *tx)
        .await?;
        let record: VisitRecord = sqlx::query_as(&format!("{SELECT} WHERE v.id = $1"))
            .bind(photo.visit.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { entity: "visit" })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::StateConflict {
                entity: "visit",
                actual: "already given its photo".into(),
            });
        }
        audit(
            &mut tx,
            Some(photo.actor),
            "household.visit_photo",
            ("household", record.household_id.0.to_string()),
            json!({ "visit_id": photo.visit, "type": photo.mime, "bytes": photo.bytes,
                    "sha256": hex::encode(&photo.sha256) }),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn list_visits(&self, household: HouseholdId) -> StoreResult<Vec<VisitRecord>> {
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE v.household_id = $1 ORDER BY v.visited_on DESC, v.id DESC"
        ))
        .bind(household.0)
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn get_visit(&self, id: VisitId) -> StoreResult<Option<VisitRecord>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE v.id = $1"))
            .bind(id.0)
            .fetch_optional(self.engine.reader())
            .await?)
    }
}
