//! PostgreSQL fetches a redemption's reads in one statement before the job makes them
//! (`LedgerTx::read_ahead`). Whatever it fetched must be exactly what each read returns when it
//! asks the database itself: checked here read by read, for the cases the rules branch on.
//! (SQLite ignores the hint, so this is PostgreSQL's alone.)

use chrono::Utc;
use sqlx::Connection;
use ssn::{
    domain::ids::{EwarungId, HouseholdId, ProgramId},
    ledger::{tx::AccountOwner, AccountKind, LedgerTx, ReadAheadPlan},
    store::postgres::PgLedgerTx,
};

use crate::common::{original, purchase, spawn_app, today, Backend, DEMO_PANS};

/// Every read the rules may make for one request, answered by `tx`, as text to compare.
async fn reads(tx: &mut dyn LedgerTx, plan: &ReadAheadPlan<'_>, ewarung: EwarungId) -> Vec<String> {
    let at = Utc::now();
    tx.db_now().await.unwrap(); // a clock: it differs between the runs, so it is not compared
    let mut answers = vec![format!("{:?}", tx.business_date(at).await.unwrap())];
    let (terminal_id, stan, local_date) = match *plan {
        ReadAheadPlan::Authorize {
            terminal_id,
            stan,
            local_date,
            ..
        }
        | ReadAheadPlan::FollowUp {
            terminal_id,
            stan,
            local_date,
        } => (terminal_id, stan, local_date),
    };
    let found = tx
        .find_redemption(terminal_id, stan, local_date)
        .await
        .unwrap();
    answers.push(format!("{found:?}"));
    if let Some(hold) = found.and_then(|row| row.hold_id) {
        answers.push(format!("{:?}", tx.transfer(hold).await.unwrap()));
    }
    answers.push(format!("{:?}", tx.terminal(terminal_id).await.unwrap()));
    let ReadAheadPlan::Authorize { pan_hash, skus, .. } = *plan else {
        return answers;
    };
    let card = tx.card_by_pan_hash(pan_hash).await.unwrap();
    answers.push(format!("{card:?}"));
    let Some(card) = card else {
        return answers;
    };
    let household: HouseholdId = card.card.household_id;
    let accounts = tx.entitlements(household).await.unwrap();
    answers.push(format!("{accounts:?}"));
    for account in accounts {
        let program = tx.program(account.program_id).await.unwrap().unwrap();
        answers.push(format!("{program:?}"));
        let by_code = tx.program_by_code(&program.code).await.unwrap();
        answers.push(format!("{by_code:?}"));
        let mut items = tx.catalog_items(program.id, skus).await.unwrap();
        items.sort_by(|a, b| a.sku.cmp(&b.sku)); // the rules key them by SKU
        answers.push(format!("{items:?}"));
        let payable = tx
            .ensure_account(
                AccountKind::EwarungPayable,
                program.id,
                AccountOwner::Ewarung(ewarung),
            )
            .await
            .unwrap();
        answers.push(format!("{payable:?}"));
    }
    answers
}

/// The answers with the plan fetched ahead, then without, in one transaction (rolled back).
async fn compare(database_url: &str, plan: ReadAheadPlan<'_>, ewarung: EwarungId) {
    let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let mut ahead = PgLedgerTx::new(&mut tx);
    ahead.read_ahead(&plan).await.unwrap();
    assert!(ahead.has_unread_ahead(), "PostgreSQL fetched {plan:?}");
    let fetched = reads(&mut ahead, &plan, ewarung).await;
    assert!(
        !ahead.has_unread_ahead(),
        "the reads took what was fetched: {plan:?}"
    );
    let direct = reads(&mut PgLedgerTx::new(&mut tx), &plan, ewarung).await;
    assert_eq!(fetched, direct, "{plan:?}");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn reads_fetched_ahead_are_what_the_database_answers() {
    let app = spawn_app(Backend::Postgres).await;
    let operator = app.login("warung-berkah").await;
    let office = app.login("dinsos").await;
    let ewarung = EwarungId(
        app.ewarung_id(&office, "E-Warung Berkah")
            .await
            .parse()
            .unwrap(),
    );
    // A completed purchase (its request key is taken; it has a hold and a posting) and a held one.
    let done = purchase("SMD00001", "000201", DEMO_PANS[0], 2, "13500");
    let approved = app.post("/v1/redemptions/authorize", &operator, done).await;
    assert_eq!(approved.expect(200)["response_code"], "00");
    let completion = original("SMD00001", "000201");
    let completed = app
        .post("/v1/redemptions/complete", &operator, completion)
        .await;
    assert_eq!(completed.expect(200)["response_code"], "00");
    let held = purchase("SMD00001", "000202", DEMO_PANS[1], 1, "13000");
    let approved = app.post("/v1/redemptions/authorize", &operator, held).await;
    assert_eq!(approved.expect(200)["response_code"], "00");
    // A second program for the first household, with an entitlement and no payable yet, so
    // the household has two entitlements (several rows) and one program lacks a payable.
    let second = ProgramId::new();
    app.execute(&format!(
        "INSERT INTO programs (id, code, name, currency, default_monthly_amount_minor,
                               carry_over_months, created_at)
         VALUES ('{second}', 'SSN-TEST', 'Second program', 'IDR', 100, 0, now())"
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO accounts (id, kind, program_id, household_id, created_at)
         SELECT gen_random_uuid(), 'entitlement', '{second}', household_id, now()
         FROM cards WHERE pan_last4 = '{}'",
        &DEMO_PANS[0][12..]
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO catalog_items (program_id, sku, name, unit, commodity_group,
                                    max_unit_price_minor, created_at)
         VALUES ('{second}', 'MINYAK', 'Minyak goreng', 'l', 'vegetables_and_fruit', 1500000, now())"
    ))
    .await;

    let date = today();
    let basket = |skus: &[&str]| skus.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let rice = basket(&["BERAS-MEDIUM"]);
    let mixed = basket(&["MINYAK", "BERAS-MEDIUM", "ROKOK", "BERAS-MEDIUM"]);
    let hashes: std::collections::HashMap<&str, Vec<u8>> =
        [DEMO_PANS[0], DEMO_PANS[2], "6019019999999999"]
            .into_iter()
            .map(|pan| (pan, app.app_state.pans.lookup_hash(pan)))
            .collect();
    let authorize = |terminal_id, stan, pan: &str, skus| ReadAheadPlan::Authorize {
        terminal_id,
        stan,
        local_date: &date,
        pan_hash: &hashes[pan],
        skus,
    };
    let cases = [
        // A new request by a card with one program.
        authorize("SMD00001", "000301", DEMO_PANS[2], &rice),
        // Two programs, items in one, the other or neither, one repeated.
        authorize("SMD00001", "000302", DEMO_PANS[0], &mixed),
        // A request key already taken (a replay or a duplicate).
        authorize("SMD00001", "000201", DEMO_PANS[0], &rice),
        // Unknown terminal, unknown card.
        authorize("XXX00009", "000303", "6019019999999999", &rice),
        // Follow-ups: a completed purchase, a held one, and nothing at all.
        ReadAheadPlan::FollowUp {
            terminal_id: "SMD00001",
            stan: "000201",
            local_date: &date,
        },
        ReadAheadPlan::FollowUp {
            terminal_id: "SMD00001",
            stan: "000202",
            local_date: &date,
        },
        ReadAheadPlan::FollowUp {
            terminal_id: "SMD00001",
            stan: "000999",
            local_date: &date,
        },
    ];
    for plan in cases {
        compare(&app.database_url, plan, ewarung).await;
    }
    app.assert_ledger_clean().await;
}
