//! The web application's read models, as [`ViewStore`](crate::store::ViewStore) for
//! [`SqlStore`] on either engine: counts and sums over the registry and the ledger.

use crate::{
    domain::ids::{EwarungId, HouseholdId},
    model::views::{
        AuditFilter, AuditLine, HouseholdPurchase, MonthOverview, ProgramBalance, PurchasedLine,
        QuotaCredit, RecentRequest, TerminalSales, TerminalState,
    },
    store::{
        sql_store::{Engine, SqlStore},
        StoreResult,
    },
};

#[async_trait::async_trait]
impl<E: Engine> crate::store::ViewStore for SqlStore<E>
where
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> (String, i64): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (String,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (Option<chrono::DateTime<chrono::Utc>>,):
        sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> TerminalSales: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> RecentRequest: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ProgramBalance: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> HouseholdPurchase: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> PurchasedLine: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> QuotaCredit: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> AuditLine: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> TerminalState: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'q> Option<String>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<chrono::DateTime<chrono::Utc>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
{
    async fn open_holds(&self, ewarung: EwarungId) -> StoreResult<Vec<RecentRequest>> {
        Ok(sqlx::query_as(
            "SELECT created_at, terminal_id, stan, local_date, kind, response_code, state,
                    amount_minor
             FROM redemptions WHERE ewarung_id = $1 AND state = 'held'
             ORDER BY created_at, id LIMIT 200",
        )
        .bind(ewarung.0)
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn terminal_states(
        &self,
        ewarung: EwarungId,
        business_dates: &[String],
    ) -> StoreResult<Vec<TerminalState>> {
        let pool = self.engine.reader();
        let mut states: Vec<TerminalState> = sqlx::query_as(
            "SELECT t.terminal_id, t.status,
                    b.business_date AS batch_date, b.purchases_count AS batch_purchases,
                    b.purchases_minor AS batch_purchases_minor, b.matched AS batch_matched
             FROM terminals t
             LEFT JOIN terminal_batch_totals b ON b.id = (
                 SELECT x.id FROM terminal_batch_totals x WHERE x.terminal_id = t.terminal_id
                 ORDER BY x.received_at DESC LIMIT 1)
             WHERE t.ewarung_id = $1
             ORDER BY t.terminal_id",
        )
        .bind(ewarung.0)
        .fetch_all(pool)
        .await?;
        for state in &mut states {
            for date in business_dates {
                let (last,): (Option<chrono::DateTime<chrono::Utc>>,) = sqlx::query_as(
                    "SELECT max(created_at) FROM redemptions
                     WHERE business_date = $1 AND terminal_id = $2",
                )
                .bind(date.clone())
                .bind(state.terminal_id.clone())
                .fetch_one(pool)
                .await?;
                if last.is_some() {
                    state.last_request_at = last;
                    break;
                }
            }
        }
        Ok(states)
    }

    async fn audit_log(
        &self,
        filter: &AuditFilter,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<AuditLine>> {
        Ok(sqlx::query_as(
            "SELECT a.*, u.username AS actor_name
             FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
             WHERE ($1 IS NULL OR u.username = $1) AND ($2 IS NULL OR a.action = $2)
               AND ($3 IS NULL OR a.subject_type = $3) AND ($4 IS NULL OR a.subject_id = $4)
               AND ($5 IS NULL OR a.at >= $5) AND ($6 IS NULL OR a.at < $6)
               AND ($7 IS NULL OR a.id < $7)
             ORDER BY a.id DESC LIMIT $8",
        )
        .bind(filter.actor.clone())
        .bind(filter.action.clone())
        .bind(filter.subject_type.clone())
        .bind(filter.subject_id.clone())
        .bind(filter.from)
        .bind(filter.until)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn household_balances(&self, household: HouseholdId) -> StoreResult<Vec<ProgramBalance>> {
        Ok(sqlx::query_as(
            "SELECT p.code AS program_code, p.name AS program_name,
                    a.credits_posted - a.debits_posted - a.debits_pending AS available_minor,
                    a.debits_pending AS held_minor
             FROM accounts a JOIN programs p ON p.id = a.program_id
             WHERE a.kind = 'entitlement' AND a.household_id = $1
             ORDER BY p.code",
        )
        .bind(household.0)
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn household_quota_credits(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<QuotaCredit>> {
        Ok(sqlx::query_as(
            "SELECT p.code AS program_code, q.period, q.amount_minor
             FROM quota_credits q JOIN programs p ON p.id = q.program_id
             WHERE q.household_id = $1 ORDER BY p.code, q.period",
        )
        .bind(household.0)
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn household_purchases(
        &self,
        household: HouseholdId,
        limit: u32,
    ) -> StoreResult<Vec<HouseholdPurchase>> {
        // Through the ledger's indexes rather than one on redemptions by household (which every
        // purchase would pay for): each purchase that moved or held value has a hold debiting
        // the household's entitlement account, and the hold names its redemption.
        let pool = self.engine.reader();
        let holds: Vec<(String,)> = sqlx::query_as(
            "SELECT t.reference FROM accounts a
             JOIN transfers t ON t.debit_account_id = a.id AND t.kind = 'hold'
             WHERE a.household_id = $1 AND a.kind = 'entitlement'
             ORDER BY t.created_at DESC LIMIT $2",
        )
        .bind(household.0)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        let redemptions: Vec<uuid::Uuid> = holds
            .iter()
            .filter_map(|(reference,)| reference.strip_prefix("redemption:"))
            .filter_map(|id| uuid::Uuid::parse_str(id).ok())
            .collect();
        if redemptions.is_empty() {
            return Ok(Vec::new());
        }
        // One read of those redemptions by primary key.
        let ids = crate::store::ledger_store::value_rows::<E::Db>(1, redemptions.len());
        let sql = format!(
            "SELECT r.id, r.created_at, e.name AS ewarung_name, r.terminal_id,
                    c.pan_last4 AS card_last4, rep.name AS representative_name, r.state,
                    r.amount_minor, r.rrn
             FROM redemptions r JOIN ewarungs e ON e.id = r.ewarung_id
             LEFT JOIN cards c ON c.id = r.card_id
             LEFT JOIN household_representatives rep ON rep.id = c.representative_id
             WHERE r.id IN {ids}
             ORDER BY r.created_at DESC, r.id DESC"
        );
        let mut query = sqlx::query_as(&sql);
        for id in &redemptions {
            query = query.bind(*id);
        }
        let mut purchases: Vec<HouseholdPurchase> = query.fetch_all(pool).await?;
        let sql = format!(
            "SELECT redemption_id, name, unit, CAST(quantity AS BIGINT) AS quantity,
                    unit_price_minor, amount_minor
             FROM redemption_lines WHERE redemption_id IN {ids}
             ORDER BY redemption_id, line_no"
        );
        let mut query = sqlx::query_as(&sql);
        for id in &redemptions {
            query = query.bind(*id);
        }
        let lines: Vec<PurchasedLine> = query.fetch_all(pool).await?;
        for line in lines {
            if let Some(purchase) = purchases.iter_mut().find(|p| p.id == line.redemption_id) {
                purchase.lines.push(line);
            }
        }
        Ok(purchases)
    }

    async fn month_overview(
        &self,
        month: &str,
        expiry_cutoffs: &[(crate::domain::ids::ProgramId, String)],
    ) -> StoreResult<MonthOverview> {
        let pool = self.engine.reader();
        let households = sqlx::query_as(
            "SELECT status, CAST(count(*) AS BIGINT) FROM households GROUP BY status ORDER BY status",
        )
        .fetch_all(pool)
        .await?;
        let cards = sqlx::query_as(
            "SELECT status, CAST(count(*) AS BIGINT) FROM cards GROUP BY status ORDER BY status",
        )
        .fetch_all(pool)
        .await?;
        let sum = |sql: &'static str| {
            sqlx::query_as::<_, (i64,)>(sql)
                .bind(month.to_string())
                .fetch_one(pool)
        };
        let (loaded_minor,) = sum(
            "SELECT CAST(COALESCE(sum(amount_minor), 0) AS BIGINT) FROM quota_credits
             WHERE period = $1",
        )
        .await?;
        // Business dates are `YYYY-MM-DD` text, so a month is the range `YYYY-MM-00` to
        // `YYYY-MM-99`, which the date indexes serve. Spent is what was completed in the month
        // less what was given back in it (a void or reversal after completion, whichever month
        // the purchase was in).
        let (first, last) = (format!("{month}-00"), format!("{month}-99"));
        let (completed_minor,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(sum(amount_minor), 0) AS BIGINT) FROM redemptions
             WHERE completed_date >= $1 AND completed_date <= $2",
        )
        .bind(first.clone())
        .bind(last.clone())
        .fetch_one(pool)
        .await?;
        let (returned_minor,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(sum(amount_minor), 0) AS BIGINT) FROM redemptions
             WHERE undone_date >= $1 AND undone_date <= $2 AND completed_date IS NOT NULL",
        )
        .bind(first)
        .bind(last)
        .fetch_one(pool)
        .await?;
        let spent_minor = completed_minor.saturating_sub(returned_minor);
        let (held_minor, left_minor): (i64, i64) = {
            let (held,) = sqlx::query_as::<_, (i64,)>(
                "SELECT CAST(COALESCE(sum(debits_pending), 0) AS BIGINT) FROM accounts
                 WHERE kind = 'entitlement'",
            )
            .fetch_one(pool)
            .await?;
            let (left,) = sqlx::query_as::<_, (i64,)>(
                "SELECT CAST(COALESCE(sum(credits_posted - debits_posted - debits_pending), 0)
                             AS BIGINT)
                 FROM accounts WHERE kind = 'entitlement'",
            )
            .fetch_one(pool)
            .await?;
            (held, left)
        };
        // What `expire_entitlements` would return: per program, the balance above the credits
        // of periods from its cut-off on.
        let mut expiring_minor = 0i64;
        for (program, cutoff) in expiry_cutoffs {
            let (excess,): (i64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(sum(CASE WHEN excess > 0 THEN excess ELSE 0 END), 0) AS BIGINT)
                 FROM (SELECT a.credits_posted - a.debits_posted - a.debits_pending - CAST(COALESCE(
                           (SELECT sum(q.amount_minor) FROM quota_credits q
                            WHERE q.program_id = a.program_id AND q.household_id = a.household_id
                              AND q.period >= $2), 0) AS BIGINT) AS excess
                       FROM accounts a WHERE a.kind = 'entitlement' AND a.program_id = $1) x",
            )
            .bind(program.0)
            .bind(cutoff.clone())
            .fetch_one(pool)
            .await?;
            expiring_minor = expiring_minor.saturating_add(excess);
        }
        Ok(MonthOverview {
            households,
            cards,
            loaded_minor,
            spent_minor,
            held_minor,
            left_minor,
            expiring_minor,
        })
    }

    async fn terminal_sales(
        &self,
        ewarung: EwarungId,
        business_date: &str,
    ) -> StoreResult<Vec<TerminalSales>> {
        Ok(sqlx::query_as(
            "SELECT terminal_id, CAST(count(*) AS BIGINT) AS purchases,
                    CAST(COALESCE(sum(amount_minor), 0) AS BIGINT) AS amount_minor
             FROM redemptions
             WHERE ewarung_id = $1 AND completed_date = $2 AND state = 'completed'
             GROUP BY terminal_id ORDER BY terminal_id",
        )
        .bind(ewarung.0)
        .bind(business_date.to_string())
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn recent_requests(
        &self,
        ewarung: EwarungId,
        business_dates: &[String],
        limit: u32,
    ) -> StoreResult<Vec<RecentRequest>> {
        // Newest first per terminal and business date (an E-Warung has a few terminals), each
        // one probe of the business-date index, merged here.
        let pool = self.engine.reader();
        let terminals: Vec<(String,)> =
            sqlx::query_as("SELECT terminal_id FROM terminals WHERE ewarung_id = $1")
                .bind(ewarung.0)
                .fetch_all(pool)
                .await?;
        let mut requests: Vec<RecentRequest> = Vec::new();
        for (terminal,) in terminals {
            for date in business_dates {
                let newest: Vec<RecentRequest> = sqlx::query_as(
                    "SELECT created_at, terminal_id, stan, local_date, kind, response_code, state,
                            amount_minor
                     FROM redemptions
                     WHERE business_date = $1 AND terminal_id = $2 AND ewarung_id = $3
                     ORDER BY created_at DESC LIMIT $4",
                )
                .bind(date.clone())
                .bind(terminal.clone())
                .bind(ewarung.0)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                requests.extend(newest);
            }
        }
        requests.sort_by_key(|request| std::cmp::Reverse(request.created_at));
        requests.truncate(limit as usize);
        Ok(requests)
    }
}
