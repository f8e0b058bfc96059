//! The web application's sessions, as [`SessionStore`](crate::store::SessionStore) for
//! [`SqlStore`] on either engine.

use chrono::{DateTime, Utc};

use serde_json::json;
use sqlx::types::Json;

use crate::{
    domain::{
        ids::{EwarungId, UserId},
        locale::Locale,
        role::Role,
    },
    store::{
        registry::audit,
        sql_store::{Engine, SqlStore},
        StoreError, StoreResult, UserRecord, WebSessionRecord,
    },
};

#[async_trait::async_trait]
impl<E: Engine> crate::store::SessionStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q [u8]: sqlx::Encode<'q, E::Db>,
    [u8]: sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> (UserId, i64, i64): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (String,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> UserRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> WebSessionRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'q> Option<UserId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Option<EwarungId>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> Json<serde_json::Value>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
{
    async fn kelurahan_of(&self, user: UserId) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT kelurahan FROM user_kelurahan WHERE user_id = $1 ORDER BY kelurahan",
        )
        .bind(user)
        .fetch_all(self.engine.reader())
        .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    async fn disable_user(&self, user: UserId, actor: UserId) -> StoreResult<UserRecord> {
        let now = crate::store::now();
        let mut tx = self.engine.begin_write().await?;
        let record: UserRecord = sqlx::query_as(
            "UPDATE users SET disabled_at = COALESCE(disabled_at, $2),
                              token_generation = token_generation + 1
             WHERE id = $1 RETURNING *",
        )
        .bind(user)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { entity: "user" })?;
        end_sessions(&mut tx, user, now).await?;
        let detail = json!({ "username": record.username });
        audit(
            &mut tx,
            Some(actor),
            "user.disable",
            ("user", user.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn enable_user(&self, user: UserId, actor: UserId) -> StoreResult<UserRecord> {
        let mut tx = self.engine.begin_write().await?;
        let record: UserRecord =
            sqlx::query_as("UPDATE users SET disabled_at = NULL WHERE id = $1 RETURNING *")
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound { entity: "user" })?;
        let detail = json!({ "username": record.username });
        audit(
            &mut tx,
            Some(actor),
            "user.enable",
            ("user", user.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: String,
        actor: UserId,
    ) -> StoreResult<()> {
        let now = crate::store::now();
        let mut tx = self.engine.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE users SET password_hash = $2, token_generation = token_generation + 1
             WHERE id = $1",
        )
        .bind(user)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
        if crate::store::ledger_sql::RowsAffected::rows_affected(&changed) == 0 {
            return Err(StoreError::NotFound { entity: "user" });
        }
        end_sessions(&mut tx, user, now).await?;
        audit(
            &mut tx,
            Some(actor),
            "user.password_reset",
            ("user", user.to_string()),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn change_role(
        &self,
        user: UserId,
        role: Role,
        ewarung: Option<EwarungId>,
        kelurahan: &[String],
        actor: UserId,
    ) -> StoreResult<UserRecord> {
        let now = crate::store::now();
        let mut tx = self.engine.begin_write().await?;
        let before: UserRecord = sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { entity: "user" })?;
        let record: UserRecord = sqlx::query_as(
            "UPDATE users SET role = $2, ewarung_id = $3, token_generation = token_generation + 1
                 WHERE id = $1 RETURNING *",
        )
        .bind(user)
        .bind(role.as_str())
        .bind(ewarung)
        .fetch_one(&mut *tx)
        .await?;
        end_sessions(&mut tx, user, now).await?;
        sqlx::query("DELETE FROM user_kelurahan WHERE user_id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        bind_kelurahan(&mut tx, user, kelurahan).await?;
        let mut record = record;
        record.kelurahan = kelurahan.to_vec();
        let detail = json!({ "from": before.role.as_str(), "to": role.as_str(),
                             "ewarung_id": ewarung, "kelurahan": kelurahan });
        audit(
            &mut tx,
            Some(actor),
            "user.role_change",
            ("user", user.to_string()),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn create_session(&self, session: &WebSessionRecord) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at,
                                       expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.token_hash.as_slice())
        .bind(session.user_id)
        .bind(session.csrf_token.clone())
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_session(&self, token_hash: &[u8]) -> StoreResult<Option<WebSessionRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM web_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(self.engine.reader())
                .await?,
        )
    }

    async fn touch_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        sqlx::query("UPDATE web_sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_session(&self, token_hash: &[u8], at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        sqlx::query(
            "UPDATE web_sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_ended_sessions(
        &self,
        now: DateTime<Utc>,
        idle_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        let mut tx = self.engine.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM web_sessions WHERE token_hash IN (
                 SELECT token_hash FROM web_sessions
                 WHERE revoked_at IS NOT NULL OR expires_at <= $1 OR last_seen_at <= $2
                 LIMIT $3)",
        )
        .bind(now)
        .bind(idle_before)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?;
        // A flash lives for one page view; one older than the idle time has no reader left.
        // (Few: one per refused form not yet shown, deleted as it is shown.)
        sqlx::query("DELETE FROM web_flashes WHERE created_at <= $1")
            .bind(idle_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(crate::store::ledger_sql::RowsAffected::rows_affected(
            &deleted,
        ))
    }

    async fn put_flash(
        &self,
        token_hash: &[u8],
        path: &str,
        payload: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        sqlx::query(
            "INSERT INTO web_flashes (token_hash, path, payload, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (token_hash, path)
             DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at",
        )
        .bind(token_hash)
        .bind(path)
        .bind(payload)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_flash(&self, token_hash: &[u8], path: &str) -> StoreResult<Option<String>> {
        let mut tx = self.engine.begin_write().await?;
        let payload: Option<(String,)> = sqlx::query_as(
            "DELETE FROM web_flashes WHERE token_hash = $1 AND path = $2 RETURNING payload",
        )
        .bind(token_hash)
        .bind(path)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(payload.map(|(payload,)| payload))
    }

    async fn token_states(&self) -> StoreResult<Vec<(UserId, i64, bool)>> {
        Ok(sqlx::query_as(
            "SELECT id, token_generation,
                    CAST(CASE WHEN disabled_at IS NULL THEN 0 ELSE 1 END AS BIGINT)
             FROM users WHERE token_generation > 0 OR disabled_at IS NOT NULL",
        )
        .fetch_all(self.engine.reader())
        .await?
        .into_iter()
        .map(|(id, generation, disabled): (UserId, i64, i64)| (id, generation, disabled != 0))
        .collect())
    }

    async fn find_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.engine.reader())
            .await?)
    }

    async fn set_locale(&self, user: UserId, locale: Locale) -> StoreResult<()> {
        let mut tx = self.engine.begin_write().await?;
        let changed = sqlx::query("UPDATE users SET locale = $2 WHERE id = $1")
            .bind(user)
            .bind(locale.as_str().to_string())
            .execute(&mut *tx)
            .await?;
        if crate::store::ledger_sql::RowsAffected::rows_affected(&changed) == 0 {
            return Err(StoreError::NotFound { entity: "user" });
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Ends every live session of `user` (inside the caller's transaction).
async fn end_sessions<DB: sqlx::Database>(
    tx: &mut crate::store::WriteTx<DB>,
    user: UserId,
    at: DateTime<Utc>,
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "UPDATE web_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Binds `user` to each of `kelurahan` (inside the caller's transaction).
pub(crate) async fn bind_kelurahan<DB: sqlx::Database>(
    tx: &mut crate::store::WriteTx<DB>,
    user: UserId,
    kelurahan: &[String],
) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for name in kelurahan {
        sqlx::query("INSERT INTO user_kelurahan (user_id, kelurahan) VALUES ($1, $2)")
            .bind(user.0)
            .bind(name.clone())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
