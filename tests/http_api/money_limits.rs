//! Money never wraps: price caps, quota lines and totals have limits, and an amount that would
//! overflow is refused with a clear code instead of being computed.

use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

async fn price_caps_and_quota_lines_have_limits(app: TestApp) {
    let office = app.login("dinsos").await;
    let item = |price: &str| {
        json!({"sku": "BERAS-EMAS", "name": "Beras emas", "unit": "kg", "group": "carbohydrate",
               "max_unit_price": price})
    };
    let path = "/v1/programs/SSN-SEMBAKO/items";
    let refused = app.post(path, &office, item("100000000.01")).await;
    refused.expect_error(422, "amount_out_of_range");
    assert_eq!(refused.field(), "max_unit_price");
    app.post(path, &office, item("100000000")).await.expect(201);

    let program = json!({"code": "SSN-BESAR", "name": "Terlalu besar", "default_monthly_amount": "100000000.01",
                         "carry_over_months": 1});
    app.post("/v1/programs", &office, program)
        .await
        .expect_error(422, "amount_out_of_range");

    let csv = format!(
        "period,program_code,kk_number,amount_idr\n2099-02,SSN-SEMBAKO,{},100000000.01\n2099-02,SSN-SEMBAKO,{},100000000\n",
        DEMO_KKS[0], DEMO_KKS[1]
    );
    let report = app
        .raw(
            reqwest::Method::POST,
            "/v1/quota/batches?source_name=big.csv",
            Some(&office),
            Some("text/csv"),
            Some(csv.into_bytes()),
        )
        .await
        .expect(201);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0]["line_no"], 2);
    assert_eq!(errors[0]["code"], "amount_out_of_range");
}

async fn a_basket_whose_total_overflows_is_declined_not_wrapped(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    // A cap from before caps had a limit: the largest amount the service accepts.
    app.execute("UPDATE catalog_items SET max_unit_price_minor = 1000000000000000 WHERE sku = 'BERAS-MEDIUM'")
        .await;
    let line = json!({"sku": "BERAS-MEDIUM", "quantity": 999, "unit_price": "10000000000000"});
    let mut request = purchase("SMD00001", "000001", DEMO_PANS[0], 1, "13500");
    request["lines"] = json!(vec![line; 10]);
    let reply = app
        .post("/v1/redemptions/authorize", &operator, request)
        .await
        .expect(200);
    assert_eq!(reply["response_code"], "12", "{reply}");
    assert!(
        reply["reason"].as_str().unwrap().contains("out of range"),
        "{reply}"
    );
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[0]).await,
        DEMO_QUOTA
    );
    app.assert_ledger_clean().await;
}

on_both_backends!(
    price_caps_and_quota_lines_have_limits,
    a_basket_whose_total_overflows_is_declined_not_wrapped,
);

/// On SQLite the tables that hold money are STRICT: a total that overflows 64 bits (which
/// SQLite's arithmetic turns into a floating-point value) is refused by the table instead of
/// being stored inexactly, and the transaction fails whole.
#[tokio::test]
async fn on_sqlite_an_overflowing_total_is_an_error_not_a_float() {
    use sqlx::Connection;
    let app = spawn_app(Backend::Sqlite).await;
    let mut db = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .unwrap();
    for table in [
        "accounts",
        "transfers",
        "redemptions",
        "quota_batches",
        "quota_lines",
        "quota_credits",
        "quota_batch_outcomes",
        "settlement_entries",
        "recon_payables",
        "recon_exceptions",
        "terminal_batch_totals",
    ] {
        let strict: i64 = sqlx::query_scalar("SELECT strict FROM pragma_table_list WHERE name = ?")
            .bind(table)
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(strict, 1, "{table} is STRICT");
    }
    let (id, before): (Vec<u8>, i64) = sqlx::query_as(
        "SELECT id, credits_posted FROM accounts WHERE kind = 'entitlement' AND credits_posted > 0 LIMIT 1",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let refused =
        sqlx::query("UPDATE accounts SET credits_posted = credits_posted + ? WHERE id = ?")
            .bind(i64::MAX)
            .bind(&id)
            .execute(&mut db)
            .await
            .expect_err("an overflowing total is refused");
    assert!(
        refused
            .to_string()
            .contains("cannot store REAL value in INTEGER column"),
        "{refused}"
    );
    let after: i64 = sqlx::query_scalar("SELECT credits_posted FROM accounts WHERE id = ?")
        .bind(&id)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(after, before);
}
