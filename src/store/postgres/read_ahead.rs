//! PostgreSQL's [`ReadAhead`]: a job's reads in one statement each (see `store::read_ahead`).
//! Each statement also share-locks the business calendar, as `business_date` would: a close
//! waits for this transaction, and this one for a close in progress.

use chrono::{DateTime, Utc};
use sqlx::{postgres::PgRow, FromRow, PgConnection, Row};

use crate::{
    domain::{catalog::CommodityGroup, ids::ProgramId},
    ledger::{
        tx::{CardWithHousehold, RedemptionRow, TerminalContext},
        AccountBalance, ReadAheadPlan, Transfer,
    },
    store::{read_ahead::ReadAhead, CatalogItemRecord, ProgramRecord, StoreError, StoreResult},
};

/// One row per entitlement of the card's household (one row with empty entitlement columns
/// when there is none, or no card). The card's columns keep their names, so that
/// `CardWithHousehold`'s own row mapper reads them; the other tables' are renamed apart.
const AUTHORIZE: &str = "SELECT clock_timestamp() AS clock, b.cutoff_minutes, b.last_closed_date,
        t.terminal_id, t.ewarung_id AS terminal_ewarung_id, t.status AS terminal_status,
        e.status AS ewarung_status, t.pin_key_wrapped,
        EXISTS (SELECT 1 FROM redemptions r
                WHERE r.terminal_id = $1 AND r.stan = $2 AND r.local_date = $3) AS request_taken,
        c.id, c.household_id, c.pan_last4, c.pan_encrypted, c.pan_key_id, c.status, c.status_reason,
        c.pin_hash, c.pin_failures, c.locked_until, c.replaces, c.representative_id, c.issued_by,
        c.issued_at, c.updated_at,
        h.status AS household_status, rep.valid_until AS representative_valid_until,
        EXISTS (SELECT 1 FROM change_requests q WHERE q.household_id = c.household_id
                AND q.blocks_cards = TRUE AND q.state IN ('submitted', 'returned')) AS held_by_request,
        a.id AS account_id, a.program_id, a.debits_pending, a.debits_posted, a.credits_pending,
        a.credits_posted,
        p.code AS program_code, p.name AS program_name, p.currency, p.default_monthly_amount_minor,
        p.carry_over_months, p.created_at AS program_created_at,
        (SELECT x.id FROM accounts x WHERE x.kind = 'ewarung_payable'
           AND x.ewarung_id = t.ewarung_id AND x.program_id = a.program_id) AS payable_id,
        (SELECT json_agg(json_build_object('sku', i.sku, 'name', i.name, 'unit', i.unit,
                  'group', i.commodity_group, 'max', i.max_unit_price_minor, 'at', i.created_at))
           FROM catalog_items i WHERE i.program_id = a.program_id AND i.sku = ANY($5)) AS catalog
    FROM business_calendar b
    LEFT JOIN terminals t ON t.terminal_id = $1
    LEFT JOIN ewarungs e ON e.id = t.ewarung_id
    LEFT JOIN cards c ON c.pan_hash = $4
    LEFT JOIN households h ON h.id = c.household_id
    LEFT JOIN household_representatives rep ON rep.id = c.representative_id
    LEFT JOIN accounts a ON a.kind = 'entitlement' AND a.household_id = c.household_id
    LEFT JOIN programs p ON p.id = a.program_id
    WHERE b.id = 1
    ORDER BY a.id
    FOR SHARE OF b";

/// The original request with its hold's columns renamed (both tables have `id`, `amount_minor`…).
const FOLLOW_UP: &str =
    "SELECT b.cutoff_minutes, b.last_closed_date, r.id IS NOT NULL AS found, r.*,
        h.id AS h_id, h.program_id AS h_program_id, h.debit_account_id AS h_debit_account_id,
        h.credit_account_id AS h_credit_account_id, h.amount_minor AS h_amount_minor,
        h.kind AS h_kind, h.pending_id AS h_pending_id, h.timeout_at AS h_timeout_at,
        h.reference AS h_reference, h.created_at AS h_created_at
    FROM business_calendar b
    LEFT JOIN redemptions r ON r.terminal_id = $1 AND r.stan = $2 AND r.local_date = $3
    LEFT JOIN transfers h ON h.id = r.hold_id
    WHERE b.id = 1
    FOR SHARE OF b";

/// Fetches what `plan` names.
pub async fn fetch(conn: &mut PgConnection, plan: &ReadAheadPlan<'_>) -> StoreResult<ReadAhead> {
    match *plan {
        ReadAheadPlan::Authorize {
            terminal_id,
            stan,
            local_date,
            pan_hash,
            skus,
        } => {
            let rows = sqlx::query(AUTHORIZE)
                .bind(terminal_id)
                .bind(stan)
                .bind(local_date)
                .bind(pan_hash)
                .bind(skus)
                .fetch_all(conn)
                .await?;
            let key = (terminal_id, stan, local_date);
            authorize_from_rows(&rows, key, pan_hash, skus)
        }
        ReadAheadPlan::FollowUp {
            terminal_id,
            stan,
            local_date,
        } => {
            let row = sqlx::query(FOLLOW_UP)
                .bind(terminal_id)
                .bind(stan)
                .bind(local_date)
                .fetch_one(conn)
                .await?;
            follow_up_from_row(&row, (terminal_id, stan, local_date))
        }
    }
}

fn authorize_from_rows(
    rows: &[PgRow],
    (terminal_id, stan, local_date): (&str, &str, &str),
    pan_hash: &[u8],
    skus: &[String],
) -> StoreResult<ReadAhead> {
    let first = rows.first().ok_or(StoreError::NotFound {
        entity: "business calendar",
    })?;
    let mut ahead = ReadAhead {
        clock: Some(first.try_get("clock")?),
        calendar: Some((
            first.try_get("cutoff_minutes")?,
            first.try_get("last_closed_date")?,
        )),
        ..ReadAhead::default()
    };
    let terminal = match first.try_get::<Option<String>, _>("terminal_id")? {
        None => None,
        Some(id) => Some(TerminalContext {
            terminal_id: id,
            ewarung_id: first.try_get("terminal_ewarung_id")?,
            status: first.try_get("terminal_status")?,
            ewarung_status: first.try_get("ewarung_status")?,
            pin_key_wrapped: first.try_get("pin_key_wrapped")?,
        }),
    };
    let ewarung = terminal.as_ref().map(|t| t.ewarung_id);
    ahead.terminal = Some((terminal_id.to_string(), terminal));
    // A taken key is rare (a replay or a conflict): then the job reads the whole row itself.
    if !first.try_get::<bool, _>("request_taken")? {
        let key = (terminal_id.into(), stan.into(), local_date.into());
        ahead.redemption = Some((key, None));
    }
    let card = match first.try_get::<Option<crate::domain::ids::CardId>, _>("id")? {
        None => None,
        Some(_) => Some(CardWithHousehold::from_row(first)?),
    };
    let household = card.as_ref().map(|c| c.card.household_id);
    ahead.card = Some((pan_hash.to_vec(), card));
    let Some(household) = household else {
        return Ok(ahead);
    };
    let mut entitlements = Vec::new();
    for row in rows {
        let Some(id) = row.try_get("account_id")? else {
            continue;
        };
        let program_id: ProgramId = row.try_get("program_id")?;
        entitlements.push(AccountBalance {
            id,
            program_id,
            household_id: Some(household),
            ewarung_id: None,
            debits_pending: row.try_get("debits_pending")?,
            debits_posted: row.try_get("debits_posted")?,
            credits_pending: row.try_get("credits_pending")?,
            credits_posted: row.try_get("credits_posted")?,
        });
        ahead.programs.push(ProgramRecord {
            id: program_id,
            code: row.try_get("program_code")?,
            name: row.try_get("program_name")?,
            currency: row.try_get("currency")?,
            default_monthly_amount_minor: row.try_get("default_monthly_amount_minor")?,
            carry_over_months: row.try_get("carry_over_months")?,
            created_at: row.try_get("program_created_at")?,
        });
        if let (Some(ewarung), Some(payable)) = (ewarung, row.try_get("payable_id")?) {
            ahead.payables.push((program_id, ewarung, payable));
        }
        let catalog: Option<sqlx::types::Json<Vec<CatalogJson>>> = row.try_get("catalog")?;
        let items = catalog
            .map(|json| json.0)
            .unwrap_or_default()
            .into_iter()
            .map(|item| item.into_record(program_id))
            .collect::<StoreResult<Vec<_>>>()?;
        ahead.catalog.push((program_id, skus.to_vec(), items));
    }
    ahead.entitlements = Some((household, entitlements));
    Ok(ahead)
}

/// A catalog item as the statement builds it in JSON.
#[derive(serde::Deserialize)]
struct CatalogJson {
    sku: String,
    name: String,
    unit: String,
    group: String,
    max: i64,
    at: DateTime<Utc>,
}

impl CatalogJson {
    fn into_record(self, program_id: ProgramId) -> StoreResult<CatalogItemRecord> {
        let commodity_group =
            CommodityGroup::parse(&self.group).map_err(|_| StoreError::Check {
                constraint: "catalog_items_commodity_group_check".into(),
            })?;
        Ok(CatalogItemRecord {
            program_id,
            sku: self.sku,
            name: self.name,
            unit: self.unit,
            commodity_group,
            max_unit_price_minor: self.max,
            created_at: self.at,
        })
    }
}

fn follow_up_from_row(
    row: &PgRow,
    (terminal_id, stan, local_date): (&str, &str, &str),
) -> StoreResult<ReadAhead> {
    let mut ahead = ReadAhead {
        calendar: Some((
            row.try_get("cutoff_minutes")?,
            row.try_get("last_closed_date")?,
        )),
        ..ReadAhead::default()
    };
    let redemption = if row.try_get("found")? {
        Some(RedemptionRow::from_row(row)?)
    } else {
        None
    };
    if let Some(id) = row.try_get("h_id")? {
        ahead.transfers.push(Transfer {
            id,
            program_id: row.try_get("h_program_id")?,
            debit_account_id: row.try_get("h_debit_account_id")?,
            credit_account_id: row.try_get("h_credit_account_id")?,
            amount_minor: row.try_get("h_amount_minor")?,
            kind: row.try_get("h_kind")?,
            pending_id: row.try_get("h_pending_id")?,
            timeout_at: row.try_get("h_timeout_at")?,
            reference: row.try_get("h_reference")?,
            created_at: row.try_get("h_created_at")?,
        });
    }
    let key = (terminal_id.into(), stan.into(), local_date.into());
    ahead.redemption = Some((key, redemption));
    Ok(ahead)
}
