//! Dormant balances, as [`DormancyStore`](crate::store::DormancyStore) for [`SqlStore`] on either
//! engine. "Has not bought" is read through the partial index of approved purchases per household
//! and program (`redemptions_household_purchases_idx`); the balance is the entitlement account's.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::ids::{DormancyNoticeId, HouseholdId, ProgramId, UserId},
    model::dormancy::{DormancyNotice, DormantFilter, DormantHousehold, NewNotice},
    store::{
        registry::audit,
        sql_store::{Engine, SqlStore},
        sql_text::placeholders,
        Page, StoreResult,
    },
};

/// An approved purchase of the household in the program.
const BOUGHT: &str = "r.household_id = h.id AND r.program_id = a.program_id
                      AND r.kind = 'purchase' AND r.response_code = '00'";

const NOTICE: &str = "SELECT n.id, n.household_id, n.program_id, p.code AS program_code,
        n.available_minor, n.expiring_minor, n.expiring_on, n.last_purchase_date, n.idle_months,
        n.printed_on, n.printed_by, u.username AS printer, n.printed_at
     FROM dormancy_notices n JOIN programs p ON p.id = n.program_id
     JOIN users u ON u.id = n.printed_by";

#[async_trait::async_trait]
impl<E: Engine> crate::store::DormancyStore for SqlStore<E>
where
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
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> DormantHousehold: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> DormancyNotice: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (uuid::Uuid, String, i64): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn list_dormant(
        &self,
        filter: DormantFilter,
        page: Page,
    ) -> StoreResult<Vec<DormantHousehold>> {
        let sql = format!(
            "SELECT h.id AS household_id, h.kk_number, h.head_name, h.kelurahan, h.kecamatan,
                    a.credits_posted - a.debits_posted - a.debits_pending AS available_minor,
                    (SELECT max(r.business_date) FROM redemptions r WHERE {BOUGHT})
                        AS last_purchase_date,
                    (SELECT CAST(count(*) AS BIGINT) FROM dormancy_notices n
                      WHERE n.household_id = h.id AND n.program_id = a.program_id) AS notices,
                    (SELECT max(n.printed_on) FROM dormancy_notices n
                      WHERE n.household_id = h.id AND n.program_id = a.program_id) AS last_notice_on
             FROM accounts a JOIN households h ON h.id = a.household_id
             WHERE a.kind = 'entitlement' AND a.program_id = $1 AND h.status = 'active'
               AND a.credits_posted - a.debits_posted - a.debits_pending > 0
               AND EXISTS (SELECT 1 FROM quota_credits q WHERE q.program_id = a.program_id
                             AND q.household_id = h.id AND q.period <= $3)
               AND NOT EXISTS (SELECT 1 FROM redemptions r WHERE {BOUGHT} AND r.business_date >= $2)
               AND ($4 IS NULL OR h.kelurahan = $4)
               AND ($5 IS NULL OR h.id = $5)
               AND ($6 IS NULL OR h.id > $6)
             ORDER BY h.id LIMIT $7"
        );
        Ok(sqlx::query_as(&sql)
            .bind(filter.program.0)
            .bind(filter.since)
            .bind(filter.since_period)
            .bind(filter.kelurahan)
            .bind(filter.household.map(|id| id.0))
            .bind(page.after)
            .bind(i64::from(page.limit))
            .fetch_all(self.engine.reader())
            .await?)
    }

    async fn quota_credits_of(
        &self,
        program: ProgramId,
        households: &[HouseholdId],
    ) -> StoreResult<Vec<(HouseholdId, String, i64)>> {
        if households.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT household_id, period, amount_minor FROM quota_credits
             WHERE program_id = $1 AND household_id IN ({}) ORDER BY household_id, period",
            placeholders(2, households.len())
        );
        let mut query = sqlx::query_as::<_, (uuid::Uuid, String, i64)>(&sql).bind(program.0);
        for household in households {
            query = query.bind(household.0);
        }
        let rows = query.fetch_all(self.engine.reader()).await?;
        Ok(rows
            .into_iter()
            .map(|(household, period, amount)| (HouseholdId(household), period, amount))
            .collect())
    }

    async fn record_notice(&self, notice: NewNotice) -> StoreResult<DormancyNotice> {
        let mut tx = self.engine.begin_write().await?;
        let id = DormancyNoticeId::new();
        let expiring_on = notice
            .expiring_on
            .map(|day| day.format("%Y-%m-%d").to_string());
        let printed_on = notice.printed_on.format("%Y-%m-%d").to_string();
        sqlx::query(
            "INSERT INTO dormancy_notices (id, household_id, program_id, available_minor,
                 expiring_minor, expiring_on, last_purchase_date, idle_months, printed_on,
                 printed_by, printed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.0)
        .bind(notice.household.0)
        .bind(notice.program.0)
        .bind(notice.available_minor)
        .bind(notice.expiring_minor)
        .bind(expiring_on.clone())
        .bind(notice.last_purchase_date.clone())
        .bind(i32::try_from(notice.idle_months).unwrap_or(i32::MAX))
        .bind(printed_on)
        .bind(notice.actor.0)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(notice.actor),
            "household.dormancy_notice",
            ("household", notice.household.0.to_string()),
            json!({ "notice_id": id, "program_id": notice.program,
                    "available_minor": notice.available_minor,
                    "expiring_minor": notice.expiring_minor, "expiring_on": expiring_on,
                    "last_purchase_date": notice.last_purchase_date,
                    "idle_months": notice.idle_months }),
        )
        .await?;
        let record: DormancyNotice = sqlx::query_as(&format!("{NOTICE} WHERE n.id = $1"))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_notice(&self, id: DormancyNoticeId) -> StoreResult<Option<DormancyNotice>> {
        Ok(sqlx::query_as(&format!("{NOTICE} WHERE n.id = $1"))
            .bind(id.0)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_notices(&self, household: HouseholdId) -> StoreResult<Vec<DormancyNotice>> {
        Ok(sqlx::query_as(&format!(
            "{NOTICE} WHERE n.household_id = $1 ORDER BY n.printed_at DESC, n.id DESC"
        ))
        .bind(household.0)
        .fetch_all(self.engine.reader())
        .await?)
    }
}
