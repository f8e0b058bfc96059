//! The audit chain, as [`AuditChainStore`](crate::store::AuditChainStore) for [`SqlStore`] on
//! either engine. Sealing reads each source after its cursor by the engine's position column
//! (`Dialect::CHAIN_POS`: the rowid on SQLite, whose one writer commits in rowid order; the
//! writing transaction on PostgreSQL, read only below the oldest transaction still running, so
//! nothing can appear behind the cursor), links the rows in one order, and writes the links and
//! the cursors in one transaction. Sealers take turns: SQLite's writer, PostgreSQL's row locks
//! on the cursors.

use chrono::{DateTime, Utc};

use crate::{
    domain::{
        chain::{chain_hash, ChainSource, GENESIS},
        merkle::Hash,
    },
    model::audit_chain::{
        AuditHead, ChainCursor, ChainLink, ChainedAudit, ChainedTransfer, ClosedDate,
    },
    store::{
        ledger_sql::Dialect,
        sql_store::{Engine, SqlStore},
        sql_text::placeholders,
        StoreError, StoreResult,
    },
};

const AUDIT_COLUMNS: &str = "id, at, actor_id, action, subject_type, subject_id, detail";
const TRANSFER_COLUMNS: &str = "id, program_id, debit_account_id, credit_account_id, amount_minor,
     kind, pending_id, timeout_at, reference, created_at";
const LINK_COLUMNS: &str = "seq, source, entry_id, entry_hash, prev_hash, chain_hash";
const HEAD_COLUMNS: &str = "business_date, first_seq, last_seq, root_hash, chain_hash,
     signed_at, public_key, signature";

/// The rows of a source after `cursor` that can no longer change, in position order.
fn after_cursor_sql<DB: Dialect>(table: &str, columns: &str) -> String {
    let pos = DB::CHAIN_POS;
    format!(
        "SELECT {pos} AS pos, {columns} FROM {table}
         WHERE ({pos}, id) > ($1, $2) AND {pos} < ({horizon})
         ORDER BY {pos}, id LIMIT $3",
        horizon = DB::CHAIN_HORIZON
    )
}

/// A stored hash, or the store's error naming the broken row.
fn stored_hash(bytes: &[u8], what: &str) -> StoreResult<Hash> {
    Hash::try_from(bytes).map_err(|_| StoreError::Refused {
        code: "audit_chain_broken",
        message: format!("{what} holds no SHA-256 hash: run `ssn audit verify`"),
    })
}

/// One entry read for sealing, whichever its source.
struct Unsealed {
    source: ChainSource,
    pos: i64,
    id: uuid::Uuid,
    hash: Hash,
}

#[async_trait::async_trait]
impl<E: Engine> crate::store::AuditChainStore for SqlStore<E>
where
    for<'c> &'c mut <E::Db as sqlx::Database>::Connection: sqlx::Executor<'c, Database = E::Db>,
    for<'c> &'c sqlx::Pool<E::Db>: sqlx::Executor<'c, Database = E::Db>,
    for<'q> <E::Db as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, E::Db>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> String: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> &'q str: sqlx::Encode<'q, E::Db>,
    str: sqlx::Type<E::Db>,
    for<'q> i64: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'q> Vec<u8>: sqlx::Encode<'q, E::Db> + sqlx::Type<E::Db>,
    for<'r> ChainedAudit: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ChainedTransfer: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ChainLink: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> AuditHead: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> ClosedDate: sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (String, i64, uuid::Uuid): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (Vec<u8>,): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (i64, Vec<u8>): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
    for<'r> (uuid::Uuid, DateTime<Utc>): sqlx::FromRow<'r, <E::Db as sqlx::Database>::Row>,
{
    async fn seal_next(&self, limit: u32) -> StoreResult<u64> {
        // Read and hash outside the writer's turn (on SQLite the one writer is the purchases'
        // too); in the turn only check that no other sealer moved meanwhile, and write.
        let reader = self.engine.reader();
        let cursors: Vec<(String, i64, uuid::Uuid)> =
            sqlx::query_as("SELECT source, pos, entry_id FROM audit_chain_cursors ORDER BY source")
                .fetch_all(reader)
                .await?;
        let cursor_of = |source: ChainSource| {
            cursors
                .iter()
                .find(|(name, _, _)| name == source.as_str())
                .map_or(ChainCursor::START, |(_, pos, entry_id)| ChainCursor {
                    pos: *pos,
                    entry_id: *entry_id,
                })
        };
        let limit = i64::from(limit.max(1));
        let mut unsealed = Vec::new();
        let audit_cursor = cursor_of(ChainSource::Audit);
        let audits: Vec<ChainedAudit> =
            sqlx::query_as(&after_cursor_sql::<E::Db>("audit_log", AUDIT_COLUMNS))
                .bind(audit_cursor.pos)
                .bind(audit_cursor.entry_id)
                .bind(limit)
                .fetch_all(reader)
                .await?;
        unsealed.extend(audits.iter().map(|row| Unsealed {
            source: ChainSource::Audit,
            pos: row.pos,
            id: row.id,
            hash: row.canonical().hash(),
        }));
        let transfer_cursor = cursor_of(ChainSource::Transfer);
        let transfers: Vec<ChainedTransfer> =
            sqlx::query_as(&after_cursor_sql::<E::Db>("transfers", TRANSFER_COLUMNS))
                .bind(transfer_cursor.pos)
                .bind(transfer_cursor.entry_id)
                .bind(limit)
                .fetch_all(reader)
                .await?;
        unsealed.extend(transfers.iter().map(|row| Unsealed {
            source: ChainSource::Transfer,
            pos: row.pos,
            id: row.id,
            hash: row.canonical().hash(),
        }));
        if unsealed.is_empty() {
            return Ok(0);
        }
        // One order for both sources: by position, an audit entry before a transfer of the same
        // position, then by id.
        unsealed.sort_by_key(|entry| (entry.pos, entry.source, entry.id));
        let last: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, chain_hash FROM audit_chain ORDER BY seq DESC LIMIT 1")
                .fetch_optional(reader)
                .await?;
        let (first_seq, mut previous) = match &last {
            Some((seq, hash)) => (seq + 1, stored_hash(hash, "the last link")?),
            None => (1, GENESIS),
        };
        let mut links = Vec::with_capacity(unsealed.len());
        for entry in &unsealed {
            let link = chain_hash(&previous, &entry.hash);
            links.push((entry, previous, link));
            previous = link;
        }

        let mut tx = self.engine.begin_write().await?;
        let now: Vec<(String, i64, uuid::Uuid)> = sqlx::query_as(&format!(
            "SELECT source, pos, entry_id FROM audit_chain_cursors ORDER BY source{}",
            <E::Db as Dialect>::FOR_UPDATE
        ))
        .fetch_all(&mut *tx)
        .await?;
        let now_last: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM audit_chain ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        if now != cursors || now_last.map(|(seq,)| seq) != last.as_ref().map(|(seq, _)| *seq) {
            tx.rollback().await?;
            return Err(StoreError::LostRace("audit chain"));
        }
        // Rows a statement: well under either engine's limit on bound values (6 each).
        let mut seq = first_seq;
        for chunk in links.chunks(1_000) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 6 + 1, 6)))
                .collect();
            let sql = format!(
                "INSERT INTO audit_chain ({LINK_COLUMNS}) VALUES {}",
                rows.join(", ")
            );
            let mut insert = sqlx::query(&sql);
            for (entry, prev, link) in chunk {
                insert = insert
                    .bind(seq)
                    .bind(entry.source.as_str())
                    .bind(entry.id)
                    .bind(entry.hash.to_vec())
                    .bind(prev.to_vec())
                    .bind(link.to_vec());
                seq += 1;
            }
            insert.execute(&mut *tx).await?;
        }
        for source in ChainSource::ALL {
            let Some(newest) = unsealed.iter().rev().find(|entry| entry.source == source) else {
                continue;
            };
            sqlx::query("UPDATE audit_chain_cursors SET pos = $1, entry_id = $2 WHERE source = $3")
                .bind(newest.pos)
                .bind(newest.id)
                .bind(source.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(unsealed.len() as u64)
    }

    async fn links(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<ChainLink>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM audit_chain WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn last_link(&self) -> StoreResult<Option<ChainLink>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM audit_chain ORDER BY seq DESC LIMIT 1"
        ))
        .fetch_optional(self.engine.reader())
        .await?)
    }

    async fn find_link(
        &self,
        source: ChainSource,
        entry_id: uuid::Uuid,
    ) -> StoreResult<Option<ChainLink>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {LINK_COLUMNS} FROM audit_chain WHERE source = $1 AND entry_id = $2"
        ))
        .bind(source.as_str())
        .bind(entry_id)
        .fetch_optional(self.engine.reader())
        .await?)
    }

    async fn entry_hashes(&self, first_seq: i64, last_seq: i64) -> StoreResult<Vec<Vec<u8>>> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT entry_hash FROM audit_chain WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
        )
        .bind(first_seq)
        .bind(last_seq)
        .fetch_all(self.engine.reader())
        .await?;
        Ok(rows.into_iter().map(|(hash,)| hash).collect())
    }

    async fn audit_entries(&self, ids: &[uuid::Uuid]) -> StoreResult<Vec<ChainedAudit>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT CAST(0 AS BIGINT) AS pos, {AUDIT_COLUMNS} FROM audit_log WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(self.engine.reader()).await?)
    }

    async fn transfer_entries(&self, ids: &[uuid::Uuid]) -> StoreResult<Vec<ChainedTransfer>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT CAST(0 AS BIGINT) AS pos, {TRANSFER_COLUMNS} FROM transfers WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(self.engine.reader()).await?)
    }

    async fn unchained(
        &self,
        source: ChainSource,
        limit: u32,
    ) -> StoreResult<Vec<(uuid::Uuid, DateTime<Utc>)>> {
        let (table, at) = match source {
            ChainSource::Audit => ("audit_log", "at"),
            ChainSource::Transfer => ("transfers", "created_at"),
        };
        Ok(sqlx::query_as(&format!(
            "SELECT e.id, e.{at} FROM {table} e
             WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = $1 AND c.entry_id = e.id)
             ORDER BY e.{at}, e.id LIMIT $2"
        ))
        .bind(source.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn heads(&self) -> StoreResult<Vec<AuditHead>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY first_seq, business_date"
        ))
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn head(&self, business_date: &str) -> StoreResult<Option<AuditHead>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {HEAD_COLUMNS} FROM audit_heads WHERE business_date = $1"
        ))
        .bind(business_date)
        .fetch_optional(self.engine.reader())
        .await?)
    }

    async fn closed_dates_without_head(&self) -> StoreResult<Vec<ClosedDate>> {
        Ok(sqlx::query_as(
            "SELECT d.business_date, d.closed_at FROM day_closes d
             WHERE NOT EXISTS (SELECT 1 FROM audit_heads h WHERE h.business_date = d.business_date)
             ORDER BY d.business_date",
        )
        .fetch_all(self.engine.reader())
        .await?)
    }

    async fn insert_head(&self, head: AuditHead) -> StoreResult<bool> {
        let mut tx = self.engine.begin_write().await?;
        // Taken in the sealers' turn, so the chain cannot move between the check and the write.
        let _: Vec<(String, i64, uuid::Uuid)> = sqlx::query_as(&format!(
            "SELECT source, pos, entry_id FROM audit_chain_cursors ORDER BY source{}",
            <E::Db as Dialect>::FOR_UPDATE
        ))
        .fetch_all(&mut *tx)
        .await?;
        let exists: Option<(i64,)> =
            sqlx::query_as("SELECT last_seq FROM audit_heads WHERE business_date = $1")
                .bind(head.business_date.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let latest: Option<(i64,)> =
            sqlx::query_as("SELECT last_seq FROM audit_heads ORDER BY last_seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let follows = latest.map_or(1, |(last,)| last + 1) == head.first_seq;
        if exists.is_some() || !follows {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(&format!(
            "INSERT INTO audit_heads ({HEAD_COLUMNS}) VALUES ({})",
            placeholders(1, 8)
        ))
        .bind(head.business_date)
        .bind(head.first_seq)
        .bind(head.last_seq)
        .bind(head.root_hash)
        .bind(head.chain_hash)
        .bind(head.signed_at)
        .bind(head.public_key)
        .bind(head.signature)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
