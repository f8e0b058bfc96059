//! Household members, as [`MemberStore`](crate::store::MemberStore) for [`SqlStore`] on either
//! engine. Every change is one transaction: the household's revision moves on (a stale one
//! refuses the change), the members' rows change, the head's NIK and name are copied to the
//! household, and the revision row and an audit entry record what changed and why. Which
//! changes are allowed is the registry service's (`registry::members`); the schema keeps one
//! head per household and one household per NIK.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::{
        ids::{HouseholdId, MemberId, UserId},
        member::Relation,
    },
    model::members::{MemberChange, MemberData, MemberEdit, MemberRecord, NikHolder},
    store::{
        registry::audit,
        sql_store::{Engine, SqlStore},
        HouseholdRecord, StoreError, StoreResult, WriteTx,
    },
};

fn member_json(data: &MemberData) -> serde_json::Value {
    json!({ "nik": data.nik, "name": data.name, "relation": data.relation,
            "sex": data.sex, "birth_date": data.birth_date })
}

fn record_json(member: &MemberRecord) -> serde_json::Value {
    json!({ "id": member.id, "nik": member.nik, "name": member.name, "relation": member.relation,
            "sex": member.sex, "birth_date": member.birth_date })
}

impl<E: Engine> SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> MemberRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> HouseholdRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i32,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn member_in(
        tx: &mut WriteTx<E::Db>,
        household: HouseholdId,
        member: MemberId,
    ) -> StoreResult<MemberRecord> {
        sqlx::query_as(
            "SELECT id, household_id, nik, name, relation, sex, birth_date, created_at, updated_at
             FROM household_members WHERE id = $1 AND household_id = $2",
        )
        .bind(member)
        .bind(household)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "member" })
    }

    async fn head_of(tx: &mut WriteTx<E::Db>, household: HouseholdId) -> StoreResult<MemberRecord> {
        sqlx::query_as(
            "SELECT id, household_id, nik, name, relation, sex, birth_date, created_at, updated_at
             FROM household_members WHERE household_id = $1 AND relation = 'head'",
        )
        .bind(household)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "member" })
    }

    async fn write_member(
        tx: &mut WriteTx<E::Db>,
        member: MemberId,
        data: &MemberData,
        relation: Relation,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE household_members SET nik = $2, name = $3, relation = $4, sex = $5,
                 birth_date = $6, updated_at = $7
             WHERE id = $1",
        )
        .bind(member)
        .bind(&data.nik)
        .bind(&data.name)
        .bind(relation)
        .bind(data.sex)
        .bind(&data.birth_date)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn set_relation(
        tx: &mut WriteTx<E::Db>,
        member: MemberId,
        relation: Relation,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE household_members SET relation = $2, updated_at = $3 WHERE id = $1")
            .bind(member)
            .bind(relation)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn delete_member(tx: &mut WriteTx<E::Db>, member: MemberId) -> StoreResult<()> {
        sqlx::query("DELETE FROM household_members WHERE id = $1")
            .bind(member)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Applies one edit inside the change's transaction; returns what changed, for the
    /// revision and the audit.
    async fn apply_edit(
        tx: &mut WriteTx<E::Db>,
        household: &HouseholdRecord,
        edit: &MemberEdit,
        at: DateTime<Utc>,
    ) -> StoreResult<(&'static str, serde_json::Value)> {
        match edit {
            MemberEdit::Add(data) => {
                let id = MemberId::new();
                // A member of an exited household does not hold the NIK.
                let released = (household.status
                    == crate::domain::household::HouseholdStatus::Exited)
                    .then_some(at);
                sqlx::query(
                    "INSERT INTO household_members (id, household_id, nik, name, relation, sex,
                         birth_date, released_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                )
                .bind(id)
                .bind(household.id)
                .bind(&data.nik)
                .bind(&data.name)
                .bind(data.relation)
                .bind(data.sex)
                .bind(&data.birth_date)
                .bind(released)
                .bind(at)
                .execute(&mut **tx)
                .await?;
                let mut added = member_json(data);
                added["id"] = json!(id);
                Ok(("household.member_added", json!({ "member_added": added })))
            }
            MemberEdit::Correct { member, data } => {
                let before = Self::member_in(tx, household.id, *member).await?;
                Self::write_member(tx, *member, data, before.relation, at).await?;
                Ok((
                    "household.member_corrected",
                    json!({ "member_corrected": { "from": record_json(&before),
                                                   "to": member_json(data) } }),
                ))
            }
            MemberEdit::Remove { member } => {
                let before = Self::member_in(tx, household.id, *member).await?;
                Self::delete_member(tx, *member).await?;
                Ok((
                    "household.member_removed",
                    json!({ "member_removed": record_json(&before) }),
                ))
            }
            MemberEdit::MakeHead {
                member,
                former_head_relation,
            } => {
                let head = Self::head_of(tx, household.id).await?;
                let next = Self::member_in(tx, household.id, *member).await?;
                // The former head first: the schema allows one head per household.
                match former_head_relation {
                    Some(relation) => Self::set_relation(tx, head.id, *relation, at).await?,
                    None => Self::delete_member(tx, head.id).await?,
                }
                Self::set_relation(tx, next.id, Relation::Head, at).await?;
                Ok((
                    "household.head_changed",
                    json!({ "head_changed": { "from": record_json(&head), "to": record_json(&next),
                                              "former_head_relation": former_head_relation } }),
                ))
            }
        }
    }

    pub(crate) async fn change_members_in(
        &self,
        change: MemberChange,
    ) -> StoreResult<HouseholdRecord> {
        let mut tx = self.engine.begin_write().await?;
        let now = crate::store::now();
        // The revision moves on first: a stale change stops here, and the row stays locked.
        let household: Option<HouseholdRecord> = sqlx::query_as(
            "UPDATE households SET revision = revision + 1, updated_at = $3
             WHERE id = $1 AND revision = $2 RETURNING *",
        )
        .bind(change.household)
        .bind(change.expected_revision)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(household) = household else {
            let current: Option<(i32,)> =
                sqlx::query_as("SELECT revision FROM households WHERE id = $1")
                    .bind(change.household)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match current {
                Some((actual,)) => StoreError::StaleRevision {
                    entity: "household",
                    actual,
                },
                None => StoreError::NotFound {
                    entity: "household",
                },
            });
        };
        let (action, changes) = Self::apply_edit(&mut tx, &household, &change.edit, now).await?;
        // The household's own copy of its head's NIK and name.
        let head = Self::head_of(&mut tx, household.id).await?;
        let household: HouseholdRecord = sqlx::query_as(
            "UPDATE households SET head_nik = $2, head_name = $3 WHERE id = $1 RETURNING *",
        )
        .bind(household.id)
        .bind(&head.nik)
        .bind(&head.name)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO household_revisions (household_id, revision, changed_by, changed_at, reason, changes)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(household.id)
        .bind(household.revision)
        .bind(change.actor)
        .bind(now)
        .bind(&change.reason)
        .bind(Json(changes.clone()))
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(change.actor),
            action,
            ("household", household.id.to_string()),
            json!({ "reason": change.reason, "revision": household.revision, "changes": changes }),
        )
        .await?;
        if let Some(approval) = change.request {
            crate::store::change_request_sql::mark_applied(
                &mut tx,
                approval,
                household.id,
                household.revision,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(household)
    }
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::MemberStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i32: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<DateTime<Utc>>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> MemberRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> HouseholdRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> NikHolder: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i32,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn list_members(&self, household: HouseholdId) -> StoreResult<Vec<MemberRecord>> {
        // The head first, then by birth date (oldest first), as a KK lists them.
        Ok(sqlx::query_as(
            "SELECT id, household_id, nik, name, relation, sex, birth_date, created_at, updated_at
             FROM household_members WHERE household_id = $1
             ORDER BY CASE WHEN relation = 'head' THEN 0 ELSE 1 END, birth_date, name, id",
        )
        .bind(household)
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn change_members(&self, change: MemberChange) -> StoreResult<HouseholdRecord> {
        self.change_members_in(change).await
    }

    async fn nik_holder(&self, nik: &str) -> StoreResult<Option<NikHolder>> {
        Ok(sqlx::query_as(
            "SELECT m.household_id, h.kk_number FROM household_members m
             JOIN households h ON h.id = m.household_id
             WHERE m.nik = $1 AND m.released_at IS NULL",
        )
        .bind(nik)
        .fetch_optional(self.engine.reader())
        .await?)
    }
}
