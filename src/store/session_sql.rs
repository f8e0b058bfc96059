//! The web application's sessions, as [`SessionStore`](crate::store::SessionStore) for
//! [`SqlStore`] on either engine.

use chrono::{DateTime, Utc};

use crate::{
    domain::{ids::UserId, locale::Locale},
    store::{
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
    for<'r> UserRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> WebSessionRecord: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
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
