//! Re-verification campaigns, as [`CampaignStore`](crate::store::CampaignStore) for [`SqlStore`]
//! on either engine. A campaign's households are copied in one `INSERT … SELECT` when it opens;
//! "visited" is a visit of the household dated within the campaign's window, read through the
//! visits' index on (household, day).

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::ids::{CampaignId, UserId},
    model::campaigns::{
        CampaignHousehold, CampaignHouseholdFilter, CampaignRecord, KelurahanProgress, NewCampaign,
    },
    store::{
        registry::audit,
        sql_store::{Engine, SqlStore},
        sql_text::within_kelurahan,
        Page, StoreResult,
    },
};

const SELECT: &str = "SELECT c.id, c.name, c.kelurahan, c.not_visited_months, c.opened_on,
        c.deadline, CAST(c.households AS BIGINT) AS households, c.opened_by,
        u.username AS opener, c.opened_at
     FROM verification_campaigns c JOIN users u ON u.id = c.opened_by";

/// A visit of the campaign's household dated within the campaign's window.
const VISITED_IN_WINDOW: &str = "v.household_id = ch.household_id
        AND v.visited_on >= c.opened_on AND v.visited_on <= c.deadline";

#[async_trait::async_trait]
impl<E: Engine> crate::store::CampaignStore for SqlStore<E>
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
    for<'q> Option<i32>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> CampaignRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> KelurahanProgress: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> CampaignHousehold: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn open_campaign(&self, campaign: NewCampaign) -> StoreResult<CampaignRecord> {
        let mut tx = self.engine.begin_write().await?;
        let day = |date: chrono::NaiveDate| date.format("%Y-%m-%d").to_string();
        let months = campaign
            .not_visited_months
            .map(|months| i32::try_from(months).unwrap_or(i32::MAX));
        sqlx::query(
            "INSERT INTO verification_campaigns (id, name, kelurahan, not_visited_months,
                 opened_on, deadline, households, opened_by, opened_at)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
        )
        .bind(campaign.id.0)
        .bind(campaign.name.clone())
        .bind(campaign.kelurahan.clone())
        .bind(months)
        .bind(day(campaign.opened_on))
        .bind(day(campaign.deadline))
        .bind(campaign.actor.0)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO campaign_households (campaign_id, household_id, kelurahan)
             SELECT $1, h.id, h.kelurahan FROM households h
             WHERE h.status = 'active'
               AND ($2 IS NULL OR h.kelurahan = $2)
               AND ($3 IS NULL OR NOT EXISTS (SELECT 1 FROM household_visits v
                                              WHERE v.household_id = h.id AND v.visited_on >= $3))",
        )
        .bind(campaign.id.0)
        .bind(campaign.kelurahan.clone())
        .bind(campaign.visited_since.map(day))
        .execute(&mut *tx)
        .await?;
        let (households,): (i64,) = sqlx::query_as(
            "SELECT CAST(count(*) AS BIGINT) FROM campaign_households WHERE campaign_id = $1",
        )
        .bind(campaign.id.0)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE verification_campaigns SET households = $2 WHERE id = $1")
            .bind(campaign.id.0)
            .bind(households)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Some(campaign.actor),
            "campaign.open",
            ("campaign", campaign.id.0.to_string()),
            json!({ "name": campaign.name, "kelurahan": campaign.kelurahan,
                    "not_visited_months": campaign.not_visited_months,
                    "deadline": day(campaign.deadline), "households": households }),
        )
        .await?;
        let record: CampaignRecord = sqlx::query_as(&format!("{SELECT} WHERE c.id = $1"))
            .bind(campaign.id.0)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_campaign(&self, id: CampaignId) -> StoreResult<Option<CampaignRecord>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE c.id = $1"))
            .bind(id.0)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_campaigns(&self, page: Page) -> StoreResult<Vec<CampaignRecord>> {
        // Ids are time-ordered (UUIDv7): the latest opened first, paged by id.
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE ($1 IS NULL OR c.id < $1) ORDER BY c.id DESC LIMIT $2"
        ))
        .bind(page.after)
        .bind(i64::from(page.limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn campaign_progress(
        &self,
        id: CampaignId,
        within: Option<&[String]>,
    ) -> StoreResult<Vec<KelurahanProgress>> {
        let Some(limit) = within_kelurahan("ch.kelurahan", within, 2) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT ch.kelurahan, CAST(count(*) AS BIGINT) AS households,
                    CAST(sum(CASE WHEN EXISTS (SELECT 1 FROM household_visits v
                                               WHERE {VISITED_IN_WINDOW})
                             THEN 1 ELSE 0 END) AS BIGINT) AS visited
             FROM campaign_households ch JOIN verification_campaigns c ON c.id = ch.campaign_id
             WHERE ch.campaign_id = $1 {limit}
             GROUP BY ch.kelurahan ORDER BY ch.kelurahan"
        );
        let mut query = sqlx::query_as(&sql).bind(id.0);
        for name in within.unwrap_or_default() {
            query = query.bind(name.clone());
        }
        Ok(query.fetch_all(self.engine.reader()).await?)
    }

    async fn campaign_households(
        &self,
        id: CampaignId,
        filter: CampaignHouseholdFilter,
        page: Page,
    ) -> StoreResult<Vec<CampaignHousehold>> {
        let within = filter.within.as_deref();
        let Some(limit) = within_kelurahan("ch.kelurahan", within, 5) else {
            return Ok(Vec::new());
        };
        let visited = match filter.visited {
            None => "",
            Some(true) => "AND visited_on IS NOT NULL",
            Some(false) => "AND visited_on IS NULL",
        };
        let sql = format!(
            "SELECT * FROM (
                 SELECT h.id AS household_id, h.kk_number, h.head_name, h.street, ch.kelurahan,
                        (SELECT max(v.visited_on) FROM household_visits v
                          WHERE {VISITED_IN_WINDOW}) AS visited_on
                 FROM campaign_households ch
                 JOIN verification_campaigns c ON c.id = ch.campaign_id
                 JOIN households h ON h.id = ch.household_id
                 WHERE ch.campaign_id = $1 AND ($2 IS NULL OR ch.kelurahan = $2)
                   AND ($3 IS NULL OR ch.household_id > $3) {limit}
             ) x WHERE TRUE {visited} ORDER BY household_id LIMIT $4"
        );
        let mut query = sqlx::query_as(&sql)
            .bind(id.0)
            .bind(filter.kelurahan)
            .bind(page.after)
            .bind(i64::from(page.limit));
        for name in within.unwrap_or_default() {
            query = query.bind(name.clone());
        }
        Ok(query.fetch_all(self.engine.reader()).await?)
    }
}
