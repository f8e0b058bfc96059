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
