//! Authorised representatives, as [`RepresentativeStore`](crate::store::RepresentativeStore) for
//! [`SqlStore`] on either engine. The limits (two per household, two households per person) are
//! slots held by partial unique indexes, so two namings at once cannot both take the last one;
//! the checks before the insert only give the refusal its name.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::{
        household::HouseholdStatus,
        ids::{HouseholdId, RepresentativeId, UserId},
        representative::{PER_HOUSEHOLD, PER_PERSON},
    },
    model::representatives::{
        NamingConflict, NewRepresentative, RepresentativeEnd, RepresentativeRecord,
    },
    store::{
        registry::{audit, insert_card},
        sql_store::{Engine, SqlStore},
        CardRecord, NewCard, StoreError, StoreResult, WriteTx,
    },
};

const SELECT: &str = "SELECT * FROM household_representatives";

/// What a representative's card is blocked with when the representative ends.
fn blocked_reason(kind: &str) -> String {
    format!("representative {kind}")
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::RepresentativeStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<uuid::Uuid>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> RepresentativeRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> CardRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (String,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i32,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (String, i32): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn name_representative(
        &self,
        named: NewRepresentative,
        card: NewCard,
    ) -> StoreResult<Result<(RepresentativeRecord, CardRecord), NamingConflict>> {
        let mut tx = self.engine.begin_write().await?;
        let status: Option<(String,)> =
            sqlx::query_as("SELECT status FROM households WHERE id = $1")
                .bind(named.household.0)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((status,)) = status else {
            return Err(StoreError::NotFound {
                entity: "household",
            });
        };
        let status = HouseholdStatus::parse(&status).map_err(|_| StoreError::Check {
            constraint: "households_status_check".into(),
        })?;
        if status != HouseholdStatus::Active {
            return Ok(Err(NamingConflict::HouseholdNotActive(status)));
        }
        let nik = named.nik.as_str().to_string();
        end_expired(&mut tx, named.household, &nik, named.today).await?;
        if let Some(conflict) = excluded_person(&mut tx, &nik).await? {
            return Ok(Err(conflict));
        }
        let held: Vec<(String, i32)> = sqlx::query_as(
            "SELECT nik, slot FROM household_representatives
             WHERE household_id = $1 AND ended_at IS NULL",
        )
        .bind(named.household.0)
        .fetch_all(&mut *tx)
        .await?;
        if held.iter().any(|(held_nik, _)| *held_nik == nik) {
            return Ok(Err(NamingConflict::AlreadyRepresents));
        }
        let Some(slot) = free_slot(held.iter().map(|(_, slot)| *slot), PER_HOUSEHOLD) else {
            return Ok(Err(NamingConflict::HouseholdFull));
        };
        let person: Vec<(i32,)> = sqlx::query_as(
            "SELECT nik_slot FROM household_representatives WHERE nik = $1 AND ended_at IS NULL",
        )
        .bind(nik.clone())
        .fetch_all(&mut *tx)
        .await?;
        let Some(nik_slot) = free_slot(person.iter().map(|(slot,)| *slot), PER_PERSON) else {
            return Ok(Err(NamingConflict::RepresentsTwo));
        };
        let inserted = sqlx::query_as::<_, RepresentativeRecord>(
            "INSERT INTO household_representatives (id, household_id, slot, nik, nik_slot, name, sex,
                 birth_date, relation, valid_until, named_by, named_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
        )
        .bind(named.id.0)
        .bind(named.household.0)
        .bind(slot)
        .bind(nik)
        .bind(nik_slot)
        .bind(named.name.clone())
        .bind(named.sex.as_str())
        .bind(named.birth_date.format("%Y-%m-%d").to_string())
        .bind(named.relation.as_str())
        .bind(named.valid_until.format("%Y-%m-%d").to_string())
        .bind(named.actor.0)
        .bind(crate::store::now())
        .fetch_one(&mut *tx)
        .await;
        let representative = match inserted {
            Ok(representative) => representative,
            // Another naming took the slot between the read and the insert.
            Err(error) => {
                return match StoreError::from(error) {
                    StoreError::Duplicate { constraint } => Ok(Err(slot_conflict(&constraint))),
                    error => Err(error),
                }
            }
        };
        let card = insert_card(&mut tx, &card, None, named.actor).await?;
        audit(
            &mut tx,
            Some(named.actor),
            "household.representative_named",
            ("household", named.household.0.to_string()),
            json!({ "representative_id": representative.id, "name": representative.name,
                    "relation": representative.relation.as_str(),
                    "valid_until": representative.valid_until, "card_id": card.id,
                    "pan_last4": card.pan_last4 }),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok((representative, card)))
    }

    async fn revoke_representative(
        &self,
        end: RepresentativeEnd,
    ) -> StoreResult<RepresentativeRecord> {
        let mut tx = self.engine.begin_write().await?;
        let revoked = sqlx::query_as::<_, RepresentativeRecord>(
            "UPDATE household_representatives
             SET ended_at = $2, ended_by = $3, end_kind = 'revoked', end_reason = $4
             WHERE id = $1 AND ended_at IS NULL RETURNING *",
        )
        .bind(end.id.0)
        .bind(crate::store::now())
        .bind(Some(end.actor))
        .bind(end.reason.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(revoked) = revoked else {
            let existing: Option<RepresentativeRecord> =
                sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
                    .bind(end.id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match existing {
                None => StoreError::NotFound {
                    entity: "representative",
                },
                Some(existing) => StoreError::StateConflict {
                    entity: "representative",
                    actual: existing
                        .end_kind
                        .map_or("ended", |kind| kind.as_str())
                        .to_string(),
                },
            });
        };
        let cards: Vec<CardRecord> = sqlx::query_as(
            "UPDATE cards SET status = 'blocked', status_reason = $2, updated_at = $3
             WHERE representative_id = $1 AND status = 'active' RETURNING *",
        )
        .bind(end.id.0)
        .bind(blocked_reason("revoked"))
        .bind(crate::store::now())
        .fetch_all(&mut *tx)
        .await?;
        let blocked: Vec<_> = cards.iter().map(|card| card.id).collect();
        audit(
            &mut tx,
            Some(end.actor),
            "household.representative_revoked",
            ("household", revoked.household_id.0.to_string()),
            json!({ "representative_id": revoked.id, "name": revoked.name,
                    "reason": end.reason, "blocked_cards": blocked }),
        )
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn get_representative(
        &self,
        id: RepresentativeId,
    ) -> StoreResult<Option<RepresentativeRecord>> {
        Ok(sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn list_representatives(
        &self,
        household: HouseholdId,
    ) -> StoreResult<Vec<RepresentativeRecord>> {
        Ok(sqlx::query_as(&format!(
            "{SELECT} WHERE household_id = $1 ORDER BY named_at DESC, id DESC"
        ))
        .bind(household.0)
        .fetch_all(self.engine.reader())
        .await?)
    }
}

/// The lowest slot from 1 to `of` not in `taken`.
fn free_slot(taken: impl Iterator<Item = i32> + Clone, of: usize) -> Option<i32> {
    let of = i32::try_from(of).unwrap_or(i32::MAX);
    (1..=of).find(|slot| !taken.clone().any(|held| held == *slot))
}

/// The refusal a slot index's violation stands for.
fn slot_conflict(constraint: &str) -> NamingConflict {
    match constraint {
        "household_representatives_nik_slot" => NamingConflict::RepresentsTwo,
        "household_representatives_once" => NamingConflict::AlreadyRepresents,
        _ => NamingConflict::HouseholdFull,
    }
}

/// Ends (as expired) the household's and the person's representatives whose last day is before
/// `today`, and blocks their cards, so that they hold no slot.
async fn end_expired<DB: sqlx::Database>(
    tx: &mut WriteTx<DB>,
    household: HouseholdId,
    nik: &str,
    today: chrono::NaiveDate,
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let now = crate::store::now();
    sqlx::query(
        "UPDATE household_representatives
         SET ended_at = $1, end_kind = 'expired', end_reason = 'the last valid day passed'
         WHERE ended_at IS NULL AND valid_until < $2 AND (household_id = $3 OR nik = $4)",
    )
    .bind(now)
    .bind(today.format("%Y-%m-%d").to_string())
    .bind(household.0)
    .bind(nik.to_string())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE cards SET status = 'blocked', status_reason = $1, updated_at = $2
         WHERE status = 'active' AND representative_id IN (
             SELECT id FROM household_representatives
             WHERE end_kind = 'expired' AND (household_id = $3 OR nik = $4))",
    )
    .bind(blocked_reason("expired"))
    .bind(now)
    .bind(household.0)
    .bind(nik.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether the person owns an E-Warung or operates one (an active operator account), by NIK.
async fn excluded_person<DB: sqlx::Database>(
    tx: &mut WriteTx<DB>,
    nik: &str,
) -> StoreResult<Option<NamingConflict>>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> (i32,): sqlx::FromRow<'r, DB::Row>,
{
    let owner: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM ewarungs WHERE owner_nik = $1 LIMIT 1")
            .bind(nik.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    if owner.is_some() {
        return Ok(Some(NamingConflict::EwarungOwner));
    }
    let operator: Option<(i32,)> = sqlx::query_as(
        "SELECT 1 FROM users WHERE nik = $1 AND role = 'operator' AND disabled_at IS NULL LIMIT 1",
    )
    .bind(nik.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(operator.map(|_| NamingConflict::Operator))
}
