//! The ledger's SQL, written once: [`sql`] holds the statements both engines' ledger
//! transactions run (`store::sqlite::ledger_tx` through rusqlite, `store::postgres::ledger_tx`
//! through sqlx), with `$N` placeholders on both. [`Dialect`] is what the SQL built at run time
//! needs to know of its engine.

/// The statements, shared by every implementation of `LedgerTx`.
pub(crate) mod sql {
    pub const TERMINAL: &str = "SELECT t.terminal_id, t.ewarung_id, t.status, e.status AS ewarung_status, t.pin_key_wrapped
         FROM terminals t JOIN ewarungs e ON e.id = t.ewarung_id
         WHERE t.terminal_id = $1";
    /// The card, its household's status, whether an open change request (moved away, head
    /// deceased) holds the household's cards, and a representative's card's last valid day.
    pub const CARD_BY_PAN_HASH: &str = "SELECT c.*, h.status AS household_status,
             EXISTS (SELECT 1 FROM change_requests q WHERE q.household_id = c.household_id
                AND q.blocks_cards = TRUE AND q.state IN ('submitted', 'returned')) AS held_by_request,
             rep.valid_until AS representative_valid_until
         FROM cards c JOIN households h ON h.id = c.household_id
         LEFT JOIN household_representatives rep ON rep.id = c.representative_id
         WHERE c.pan_hash = $1";
    pub const PROGRAM_BY_CODE: &str = "SELECT * FROM programs WHERE code = $1";
    pub const PROGRAM: &str = "SELECT * FROM programs WHERE id = $1";
    pub const PIN_FAILURE: &str = "UPDATE cards SET pin_failures = pin_failures + 1,
             locked_until = CASE WHEN pin_failures + 1 >= $2 THEN $3 ELSE locked_until END,
             updated_at = $4
         WHERE id = $1 RETURNING *";
    pub const PIN_LOCKED_AUDIT: &str =
        "INSERT INTO audit_log (id, at, actor_id, action, subject_type, subject_id, detail)
         VALUES ($1, $2, NULL, 'card.pin_locked', 'card', $3, $4)";
    pub const CLEAR_PIN_FAILURES: &str = "UPDATE cards SET pin_failures = 0, locked_until = NULL
         WHERE id = $1 AND (pin_failures > 0 OR locked_until IS NOT NULL)";
    pub const ENTITLEMENTS: &str =
        "SELECT id, program_id, household_id, ewarung_id, debits_pending, debits_posted,
                credits_pending, credits_posted
         FROM accounts WHERE kind = 'entitlement' AND household_id = $1 ORDER BY id";
    pub const ACCOUNT: &str =
        "SELECT id, program_id, household_id, ewarung_id, debits_pending, debits_posted,
                credits_pending, credits_posted
         FROM accounts WHERE id = $1";
    /// A concurrent transaction may create the same account first: nothing happens then.
    pub const INSERT_ACCOUNT: &str =
        "INSERT INTO accounts (id, kind, program_id, household_id, ewarung_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
    pub const HELD_AMOUNT: &str =
        "SELECT amount_minor FROM transfers WHERE id = $1 AND kind = 'hold'";
    /// A hold's resolution: `$2` leaves pending, `$3` of it becomes posted.
    pub const RESOLVE_DEBIT: &str = "UPDATE accounts SET debits_pending = debits_pending - $2,
                             debits_posted = debits_posted + $3 WHERE id = $1";
    pub const RESOLVE_CREDIT: &str = "UPDATE accounts SET credits_pending = credits_pending - $2,
                             credits_posted = credits_posted + $3 WHERE id = $1";
    pub const TRANSFER: &str = "SELECT * FROM transfers WHERE id = $1";
    pub const FIND_REDEMPTION: &str =
        "SELECT * FROM redemptions WHERE terminal_id = $1 AND stan = $2 AND local_date = $3";
    pub const INSERT_REDEMPTION: &str = "INSERT INTO redemptions (id, terminal_id, ewarung_id, stan, local_date, request_hash, kind,
             response_code, response, card_id, household_id, program_id, amount_minor, hold_id,
             refund_id, state, rrn, approval_code, business_date, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21)";
    /// SQLite: one line of an approved purchase (PostgreSQL writes them with the purchase in
    /// `POSTGRES_INSERT_REDEMPTION_WITH_LINES`).
    pub const INSERT_REDEMPTION_LINE: &str =
        "INSERT INTO redemption_lines (redemption_id, line_no, sku, name, unit, quantity,
                                       unit_price_minor, amount_minor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    /// PostgreSQL: a purchase and its lines in one statement (one round trip, as before lines
    /// were kept); `$22`..`$28` are the lines' columns as arrays.
    pub const POSTGRES_INSERT_REDEMPTION_WITH_LINES: &str = "WITH redemption AS (
            INSERT INTO redemptions (id, terminal_id, ewarung_id, stan, local_date, request_hash,
                kind, response_code, response, card_id, household_id, program_id, amount_minor,
                hold_id, refund_id, state, rrn, approval_code, business_date, created_at,
                updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                    $18, $19, $20, $21)
            RETURNING id)
         INSERT INTO redemption_lines (redemption_id, line_no, sku, name, unit, quantity,
                                       unit_price_minor, amount_minor)
         SELECT redemption.id, line.line_no, line.sku, line.name, line.unit, line.quantity,
                line.unit_price_minor, line.amount_minor
         FROM redemption,
              UNNEST($22::integer[], $23::text[], $24::text[], $25::text[], $26::integer[],
                     $27::bigint[], $28::bigint[])
                  AS line (line_no, sku, name, unit, quantity, unit_price_minor, amount_minor)";
    pub const FIND_REFUND_REQUEST: &str =
        "SELECT * FROM refund_requests WHERE terminal_id = $1 AND stan = $2 AND local_date = $3";
    pub const INSERT_REFUND_REQUEST: &str =
        "INSERT INTO refund_requests (id, terminal_id, stan, local_date, request_hash,
             redemption_id, response_code, response, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub const SET_REDEMPTION_STATE: &str =
        "UPDATE redemptions SET state = $2, refund_id = COALESCE($3, refund_id), updated_at = $4,
             completed_date = CASE WHEN $2 = 'completed' THEN $5 ELSE completed_date END,
             undone_date = CASE WHEN $2 = 'completed' THEN undone_date ELSE $5 END
         WHERE id = $1 AND state = $6";
    pub const BUSINESS_CALENDAR: &str =
        "SELECT cutoff_minutes, last_closed_date FROM business_calendar WHERE id = 1";
    pub const EXPIRED_HOLDS: &str =
        "SELECT r.id, t.id FROM redemptions r JOIN transfers t ON t.id = r.hold_id
         WHERE r.state = 'held' AND t.timeout_at <= $1
           AND NOT EXISTS (SELECT 1 FROM transfers x WHERE x.pending_id = t.id)
         ORDER BY t.timeout_at LIMIT $2";
    /// The unique index on pending_id lets exactly one resolution of a hold in.
    pub const INSERT_TRANSFER: &str =
        "INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id, amount_minor,
                                kind, pending_id, timeout_at, reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING";
    /// PostgreSQL: a hold (`$11` = 'pending') or a posted transfer ('posted') in one statement
    /// (one round trip instead of three): the debit with its overdraft guard, then the credit and
    /// the transfer row only if the debit happened. Answers how many rows each part touched.
    /// Both accounts are locked first, in the order of their ids, whichever is debited: a
    /// completion (entitlement → payable) and a refund (payable → entitlement) of the same
    /// accounts otherwise lock them in opposite orders and deadlock.
    pub const MOVE_VALUE_AT_ONCE: &str = "WITH locked AS (
            SELECT id FROM accounts WHERE id IN ($3, $4) ORDER BY id FOR NO KEY UPDATE),
         debit AS (
            UPDATE accounts SET
                debits_pending = debits_pending + CASE WHEN $11 = 'pending' THEN $5 ELSE 0 END,
                debits_posted = debits_posted + CASE WHEN $11 = 'pending' THEN 0 ELSE $5 END
            WHERE id = $3 AND (SELECT count(*) FROM locked) = 2
              AND (kind NOT IN ('entitlement', 'ewarung_payable')
                   OR credits_posted - debits_posted - debits_pending >= $5)
            RETURNING id),
         credit AS (
            UPDATE accounts SET
                credits_pending = credits_pending + CASE WHEN $11 = 'pending' THEN $5 ELSE 0 END,
                credits_posted = credits_posted + CASE WHEN $11 = 'pending' THEN 0 ELSE $5 END
            WHERE id = $4 AND EXISTS (SELECT 1 FROM debit)
            RETURNING id),
         moved AS (
            INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id,
                                   amount_minor, kind, pending_id, timeout_at, reference, created_at)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM debit)
            ON CONFLICT DO NOTHING
            RETURNING id)
         SELECT (SELECT count(*) FROM locked), (SELECT count(*) FROM debit),
                (SELECT count(*) FROM credit), (SELECT count(*) FROM moved)";
    /// PostgreSQL: a hold's resolution in one statement (one round trip instead of four). The
    /// resolution row goes in only if the hold exists and `$11` (posted) fits it; the unique
    /// index on pending_id lets exactly one resolution in, and only the one that got in moves
    /// the balances. Answers the held amount (NULL: no such hold) and the rows touched. The
    /// accounts are locked first in the order of their ids, as in `MOVE_VALUE_AT_ONCE`.
    pub const RESOLVE_AT_ONCE: &str = "WITH locked AS (
            SELECT id FROM accounts WHERE id IN ($3, $4) ORDER BY id FOR NO KEY UPDATE),
         held AS (
            SELECT amount_minor FROM transfers WHERE id = $7 AND kind = 'hold'),
         resolved AS (
            INSERT INTO transfers (id, program_id, debit_account_id, credit_account_id,
                                   amount_minor, kind, pending_id, timeout_at, reference, created_at)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM held
            WHERE (SELECT count(*) FROM locked) = 2
              AND $11 <= held.amount_minor AND ($6 = 'post' OR $5 = held.amount_minor)
            ON CONFLICT DO NOTHING
            RETURNING id),
         debit AS (
            UPDATE accounts SET debits_pending = debits_pending - held.amount_minor,
                                debits_posted = debits_posted + $11
            FROM held WHERE accounts.id = $3 AND EXISTS (SELECT 1 FROM resolved)
            RETURNING accounts.id),
         credit AS (
            UPDATE accounts SET credits_pending = credits_pending - held.amount_minor,
                                credits_posted = credits_posted + $11
            FROM held WHERE accounts.id = $4 AND EXISTS (SELECT 1 FROM resolved)
            RETURNING accounts.id)
         SELECT (SELECT amount_minor FROM held), (SELECT count(*) FROM resolved),
                (SELECT count(*) FROM debit) + (SELECT count(*) FROM credit)";

    /// SQLite's RRN counter (PostgreSQL has a sequence).
    pub const SQLITE_NEXT_RRN: &str =
        "UPDATE sequences SET value = value + 1 WHERE name = 'rrn' RETURNING value";

    /// Debits a hold (`phase` "pending") or a posted transfer ("posted"), unless that would
    /// overdraw an entitlement or payable, holds included.
    pub fn debit(phase: Phase) -> &'static str {
        match phase {
            Phase::Pending => {
                "UPDATE accounts SET debits_pending = debits_pending + $2 WHERE id = $1
                   AND (kind NOT IN ('entitlement', 'ewarung_payable')
                        OR credits_posted - debits_posted - debits_pending >= $2)"
            }
            Phase::Posted => {
                "UPDATE accounts SET debits_posted = debits_posted + $2 WHERE id = $1
                   AND (kind NOT IN ('entitlement', 'ewarung_payable')
                        OR credits_posted - debits_posted - debits_pending >= $2)"
            }
        }
    }

    pub fn credit(phase: Phase) -> &'static str {
        match phase {
            Phase::Pending => {
                "UPDATE accounts SET credits_pending = credits_pending + $2 WHERE id = $1"
            }
            Phase::Posted => {
                "UPDATE accounts SET credits_posted = credits_posted + $2 WHERE id = $1"
            }
        }
    }

    /// Whether a transfer moves value into the pending or the posted columns.
    #[derive(Debug, Clone, Copy)]
    pub enum Phase {
        Pending,
        Posted,
    }

    /// Finds the account of a kind for its program (`$1`) and owner (`$2`, in `owner_column`).
    /// The kind is spelled out (it comes from a fixed enum), so that the lookup uses the partial
    /// unique index of that kind.
    pub fn find_account(kind: &str, owner_column: Option<&str>) -> String {
        match owner_column {
            Some(column) => format!(
                "SELECT id FROM accounts WHERE kind = '{kind}' AND {column} = $2 AND program_id = $1"
            ),
            None => format!("SELECT id FROM accounts WHERE kind = '{kind}' AND program_id = $1"),
        }
    }

    pub fn catalog_items(skus: usize) -> String {
        format!(
            "SELECT * FROM catalog_items WHERE program_id = $1 AND sku IN ({})",
            crate::store::sql_text::placeholders(2, skus)
        )
    }
}

/// How many rows a statement changed (sqlx has this per engine only).
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// What differs in the shared SQL between the engines.
pub trait Dialect: sqlx::Database<QueryResult: RowsAffected> {
    /// The column the audit chain's sealer reads new audit entries and transfers by
    /// (`store::audit_chain_sql`).
    const CHAIN_POS: &'static str;
    /// Rows at or past this position may still change (their transactions still run).
    const CHAIN_HORIZON: &'static str;
    /// Locks what a SELECT reads until commit ("" where the writer's turn already does).
    const FOR_UPDATE: &'static str;

    /// The `n`th parameter (from 1) of a statement built at run time whose parameters are bound
    /// in order. SQLite takes `$N` and `?N` for names and looks each one up in a list when it
    /// prepares the statement, which is quadratic in a multi-row insert of thousands of values
    /// (over a second to record a day's reconciliation exceptions); a bare `?` is just the next.
    fn parameter(n: usize) -> String;
}

/// The business date activity at `at` lands on, from the calendar row's cut-off and last close.
pub(crate) fn open_business_date(
    at: chrono::DateTime<chrono::Utc>,
    cutoff_minutes: i32,
    closed: Option<&str>,
) -> String {
    use crate::business_day::{format_date, open_date, parse_date, Cutoff};
    let cutoff = Cutoff::from_minutes(i64::from(cutoff_minutes)).unwrap_or_default();
    format_date(open_date(at, cutoff, closed.and_then(parse_date)))
}
