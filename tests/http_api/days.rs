//! The bank's day: close, reconciliation against its settlement file, settlement to E-Warungs,
//! exception resolution, and who may do each.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

const HEADER: &str = "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type";

fn rrn(answer: &Value) -> &str {
    answer["rrn"].as_str().unwrap()
}

async fn upload(app: &TestApp, token: &str, date: &str, text: &str) -> Reply {
    upload_with(app, token, date, "", text).await
}

/// Uploads with more query parameters (`extra` starts with `&`).
async fn upload_with(app: &TestApp, token: &str, date: &str, extra: &str, text: &str) -> Reply {
    app.raw(
        Method::POST,
        &format!("/v1/recon/runs?date={date}&file_name=bank-{date}.csv{extra}"),
        Some(token),
        Some("text/csv"),
        Some(text.as_bytes().to_vec()),
    )
    .await
}

fn category(run: &Value, name: &str) -> i64 {
    run["report"]["categories"][name]["count"].as_i64().unwrap()
}

fn tomorrow() -> String {
    let today = ssn::business_day::parse_date(&today()).unwrap();
    ssn::business_day::format_date(today.succ_opt().unwrap())
}

async fn a_clean_day_closes_reconciles_and_settles_once(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let bank = app.login("kaltimtara").await;
    let auditor = app.login("auditor").await;
    let date = today();
    let a = app
        .buy(&operator, "SMD00001", "000001", DEMO_PANS[0], 5)
        .await; // 67,500
    let b = app
        .buy(&operator, "SMD00002", "000001", DEMO_PANS[1], 2)
        .await; // 27,000
    let d = app
        .buy(&operator, "SMD00001", "000002", DEMO_PANS[2], 1)
        .await; // 13,500, voided
    let voided = app
        .post(
            "/v1/redemptions/void",
            &operator,
            original("SMD00001", "000002"),
        )
        .await
        .expect(200);
    assert_eq!(voided["state"], "refunded", "{voided}");
    // Approved, never completed: still held at close.
    let held = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00002", "000009", DEMO_PANS[3], 1, "13000"),
        )
        .await
        .expect(200);
    assert_eq!(held["response_code"], "00");

    let close = app
        .post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(201);
    assert_eq!(
        close["totals"]["purchases"],
        json!({"count": 3, "amount_minor": 10_800_000})
    );
    assert_eq!(
        close["totals"]["voids"],
        json!({"count": 1, "amount_minor": 1_350_000})
    );
    assert_eq!(
        close["totals"]["refunds"],
        json!({"count": 1, "amount_minor": 1_350_000})
    );
    assert_eq!(close["totals"]["net_minor"], 9_450_000);
    assert_eq!(close["terminals"].as_array().unwrap().len(), 2);
    assert_eq!(close["ewarungs"][0]["net_minor"], 9_450_000);
    let holds = close["open_holds"].as_array().unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0]["stan"], "000009");
    assert_eq!(holds[0]["rrn"], held["rrn"]);
    // Closing twice reports the same and changes nothing.
    let again = app
        .post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(200);
    assert_eq!(again, close);

    // The held purchase completes after the close: it lands on the next date, not the closed one.
    app.post(
        "/v1/redemptions/complete",
        &operator,
        original("SMD00002", "000009"),
    )
    .await
    .expect(200);
    let late = count_on(
        app.backend,
        &app.database_url,
        &format!(
            "SELECT COUNT(*) FROM redemptions WHERE stan = '000009' AND completed_date = '{}'",
            tomorrow()
        ),
    )
    .await;
    assert_eq!(late, 1);
    assert_eq!(
        app.get(&format!("/v1/days/{date}/close"), &auditor)
            .await
            .expect(200),
        close
    );

    let file = format!(
        "{HEADER}\n{date},SMD00001,000001,{},{},67500,SALE\n{date},SMD00002,000001,{},{},27000.00,SALE\n\
         {date},SMD00001,000002,{},,13500,SALE\n{date},SMD00001,000002,{},,13500,VOID\n",
        rrn(&a), a["approval_code"].as_str().unwrap(), rrn(&b), b["approval_code"].as_str().unwrap(), rrn(&d), rrn(&d)
    );
    let run = upload(&app, &bank, &date, &file).await.expect(201);
    assert_eq!(category(&run, "matched"), 4, "{run}");
    assert_eq!(run["report"]["exceptions"], 0);
    assert_eq!(run["report"]["host_entries"], 4);
    assert_eq!(run["open_exceptions"], 0);
    assert_eq!(run["report"]["ewarungs"][0]["payable_minor"], 9_450_000);
    // The same file again is the same run; nothing is counted twice.
    let rerun = upload(&app, &bank, &date, &file).await.expect(201);
    assert_eq!(rerun["id"], run["id"]);
    assert_eq!(app.count("recon_runs").await, 1);
    assert_eq!(
        app.get(
            &format!("/v1/recon/runs/{}", run["id"].as_str().unwrap()),
            &auditor
        )
        .await
        .expect(200)["report"],
        run["report"]
    );

    let settled = app
        .post(&format!("/v1/settlements/{date}"), &bank, json!({}))
        .await
        .expect(200);
    let rows = settled["posted"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{settled}");
    assert_eq!(rows[0]["amount_minor"], 9_450_000);
    assert_eq!(rows[0]["matched_minor"], 9_450_000);
    assert_eq!(rows[0]["settled_before_minor"], 0);
    assert_eq!(rows[0]["items"], 4);
    assert_eq!(settled["run_id"], run["id"]);
    assert_eq!(settled["entries"], settled["posted"]);
    assert!(!rows[0]["bank_account_number"].as_str().unwrap().is_empty());
    let transfers = app.count("transfers").await;
    let twice = app
        .post(&format!("/v1/settlements/{date}"), &bank, json!({}))
        .await
        .expect(200);
    assert_eq!(twice["posted"], json!([]), "nothing new to settle");
    assert_eq!(twice["entries"], settled["entries"]);
    assert_eq!(
        app.get(&format!("/v1/settlements/{date}"), &auditor)
            .await
            .expect(200),
        settled["entries"]
    );
    assert_eq!(
        app.count("transfers").await,
        transfers,
        "settling twice moves nothing"
    );
    let settled_minor = count_on(
        app.backend,
        &app.database_url,
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM transfers WHERE kind = 'settlement'",
    )
    .await;
    assert_eq!(settled_minor, 9_450_000);
    assert!(app
        .audit_actions(&auditor, "business_date", &date)
        .await
        .contains(&"day.closed".to_string()));
    app.assert_ledger_clean().await;
}

async fn every_exception_category_is_found_and_resolved_by_the_right_people(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let bank = app.login("kaltimtara").await;
    let office = app.login("dinsos").await;
    let auditor = app.login("auditor").await;
    let date = today();
    let a = app
        .buy(&operator, "SMD00001", "000001", DEMO_PANS[0], 1)
        .await;
    let b = app
        .buy(&operator, "SMD00001", "000002", DEMO_PANS[1], 2)
        .await;
    let c = app
        .buy(&operator, "SMD00001", "000003", DEMO_PANS[2], 3)
        .await;
    let _d = app
        .buy(&operator, "SMD00002", "000004", DEMO_PANS[3], 4)
        .await;
    // Reconciling before the close is refused, and so is settling.
    upload(&app, &bank, &date, HEADER)
        .await
        .expect_error(409, "business_date_not_closed");
    app.post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(201);
    app.post(&format!("/v1/settlements/{date}"), &bank, json!({}))
        .await
        .expect_error(409, "not_reconciled");

    // BOM, CRLF, and one line of each kind.
    let file = format!(
        "\u{feff}{HEADER}\r\n\
         {date},SMD00001,000001,{},,13500,SALE\r\n\
         {date},SMD00001,000002,{},,27500,SALE\r\n\
         {date},SMD00001,000009,999999999999,,5000,SALE\r\n\
         {date},SMD00001,000001,{},,13500,SALE\r\n\
         {date},SMD00002,000004,,,54000,SALE\r\n\
         {date},SMD00001,12,1,,100,SALE\r\n\
         2001-01-01,SMD00001,000005,1,,100,SALE\r\n",
        rrn(&a),
        rrn(&b),
        rrn(&a)
    );
    // Roles: an operator and an office cannot run reconciliation; nothing is recorded.
    upload(&app, &operator, &date, &file)
        .await
        .expect_error(403, "forbidden_role");
    upload(&app, &office, &date, &file)
        .await
        .expect_error(403, "forbidden_role");
    let run = upload(&app, &bank, &date, &file).await.expect(201);
    for (name, count) in [
        ("matched", 2),
        ("amount_mismatch", 1),
        ("host_only", 1),
        ("bank_only", 1),
        ("duplicate", 1),
        ("malformed", 2),
    ] {
        assert_eq!(category(&run, name), count, "{name}: {run}");
    }
    assert_eq!(run["report"]["bank_lines"], 7);
    assert_eq!(run["report"]["unusable_lines"], 2);
    assert_eq!(run["open_exceptions"], 6);
    let exceptions = run["exceptions"].as_array().unwrap();
    let find = |cat: &str| {
        exceptions
            .iter()
            .find(|e| e["category"] == cat)
            .unwrap()
            .clone()
    };
    assert_eq!(find("amount_mismatch")["line_no"], 3);
    assert_eq!(find("amount_mismatch")["host_amount_minor"], 2_700_000);
    assert_eq!(find("host_only")["rrn"], c["rrn"]);
    assert_eq!(find("duplicate")["line_no"], 5);
    let malformed: Vec<i64> = exceptions
        .iter()
        .filter(|e| e["category"] == "malformed")
        .map(|e| e["line_no"].as_i64().unwrap())
        .collect();
    assert_eq!(malformed, [7, 8]);
    // Why, as a stable code beside the English.
    let codes: Vec<&str> = exceptions
        .iter()
        .filter(|e| e["category"] == "malformed")
        .map(|e| e["detail_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["stan", "other_date"]);
    assert!(find("duplicate")["detail_code"].is_null());
    // Only what matched is settled: a (13,500) and d (54,000).
    let payable = run["report"]["ewarungs"][0]["payable_minor"]
        .as_i64()
        .unwrap();
    assert_eq!(payable, 6_750_000);

    // The auditor reads, page by page and as CSV, and changes nothing.
    let run_id = run["id"].as_str().unwrap();
    let page = app
        .get(
            &format!("/v1/recon/runs/{run_id}/exceptions?category=bank_only"),
            &auditor,
        )
        .await
        .expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let csv = app
        .get(&format!("/v1/recon/runs/{run_id}/exceptions.csv"), &auditor)
        .await;
    let text = csv.body.as_str().unwrap().to_string();
    assert_eq!(text.lines().count(), 7, "{text}");
    assert!(text.starts_with("id,category,line_no,"));
    let exception = find("bank_only")["id"].as_str().unwrap().to_string();
    let resolve = format!("/v1/recon/exceptions/{exception}/resolve");
    let reason = json!({"reason": "bank confirmed a test transaction; reversed on their side"});
    app.post(&resolve, &auditor, reason.clone())
        .await
        .expect_error(403, "forbidden_role");
    app.post(&resolve, &operator, reason.clone())
        .await
        .expect_error(403, "forbidden_role");
    app.post(&resolve, &office, json!({"reason": "ok"}))
        .await
        .expect_error(422, "reason_required");
    let resolved = app
        .post(&resolve, &office, reason.clone())
        .await
        .expect(200);
    assert_eq!(resolved["resolution"], reason["reason"]);
    app.post(&resolve, &bank, reason)
        .await
        .expect_error(409, "invalid_state");
    assert!(app
        .audit_actions(&auditor, "recon_exception", &exception)
        .await
        .contains(&"recon.exception_resolved".to_string()));
    let open = app
        .get(
            &format!("/v1/recon/runs/{run_id}/exceptions?open=true"),
            &bank,
        )
        .await
        .expect(200);
    assert_eq!(open["items"].as_array().unwrap().len(), 5);
    assert_eq!(
        app.get(&format!("/v1/recon/runs/{run_id}"), &auditor)
            .await
            .expect(200)["open_exceptions"],
        5
    );

    // Two of seven lines unreadable, three matching nothing: the run waits for a second bank
    // user before anything settles from it.
    assert_eq!(run["authoritative"], false);
    assert_eq!(
        run["review"]["reasons"],
        json!(["malformed_share", "unmatched_share"])
    );
    let checker = app.login("kaltimtara-2").await;
    app.post(
        &format!("/v1/recon/runs/{run_id}/confirm"),
        &checker,
        json!({}),
    )
    .await
    .expect(200);
    let settled = app
        .post(&format!("/v1/settlements/{date}"), &bank, json!({}))
        .await
        .expect(200);
    let total: i64 = settled["posted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 6_750_000);
    app.post(&format!("/v1/settlements/{date}"), &operator, json!({}))
        .await
        .expect_error(403, "forbidden_role");
    app.assert_ledger_clean().await;
}

async fn a_terminal_batch_mismatch_is_recorded_and_reported_at_close(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let bank = app.login("kaltimtara").await;
    let date = today();
    app.buy(&operator, "SMD00001", "000001", DEMO_PANS[0], 2)
        .await;
    app.buy(&operator, "SMD00002", "000001", DEMO_PANS[1], 1)
        .await;
    // SMD00001 says it sold one more than the host knows; SMD00002 sends nothing.
    let totals = json!({
        "business_date": date,
        "purchases": {"count": 2, "amount_minor": 4_050_000},
        "refunds": {"count": 0, "amount_minor": 0},
        "reversals": {"count": 0, "amount_minor": 0},
    });
    let sent = app
        .post("/v1/terminals/SMD00001/batch-totals", &operator, totals)
        .await
        .expect(200);
    assert_eq!(sent["matched"], false);
    let close = app
        .post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(201);
    let batches = close["batch_totals"].as_array().unwrap();
    let status =
        |t: &str| batches.iter().find(|b| b["terminal_id"] == t).unwrap()["status"].clone();
    assert_eq!(status("SMD00001"), "mismatch", "{close}");
    assert_eq!(status("SMD00002"), "missing", "{close}");
    let one = batches
        .iter()
        .find(|b| b["terminal_id"] == "SMD00001")
        .unwrap();
    assert_eq!(one["terminal"]["purchases"]["count"], 2);
    assert_eq!(one["host"]["purchases"]["count"], 1);
    let auditor = app.login("auditor").await;
    let audited = app.audit_actions(&auditor, "terminal", "SMD00001").await;
    assert!(
        audited.contains(&"day.batch_mismatch".to_string()),
        "{audited:?}"
    );
}

async fn dates_roles_and_headers_are_checked_before_anything_changes(app: TestApp) {
    let bank = app.login("kaltimtara").await;
    let operator = app.login("warung-berkah").await;
    let office = app.login("dinsos").await;
    let auditor = app.login("auditor").await;
    let date = today();
    app.post(&format!("/v1/days/{}/close", tomorrow()), &bank, json!({}))
        .await
        .expect_error(409, "business_date_not_started");
    app.post("/v1/days/2026-13-01/close", &bank, json!({}))
        .await
        .expect_error(422, "invalid_date");
    for token in [&operator, &office, &auditor] {
        app.post(&format!("/v1/days/{date}/close"), token, json!({}))
            .await
            .expect_error(403, "forbidden_role");
    }
    app.get(&format!("/v1/days/{date}/close"), &operator)
        .await
        .expect_error(403, "forbidden_role");
    app.get(&format!("/v1/days/{date}/close"), &auditor)
        .await
        .expect_error(404, "close_not_found");
    app.post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(201);
    upload(&app, &bank, &date, "date,amount\n2026-01-01,5\n")
        .await
        .expect_error(422, "invalid_header");
    assert_eq!(
        app.count("recon_runs").await,
        0,
        "a refused file leaves no run"
    );
    // A file with nothing in it, or a header alone, is no run: a truncated transfer must not
    // become the date's word. A header alone is a run when the bank states it had no activity.
    for empty in [
        "",
        "\u{feff}",
        &format!("{HEADER}\n"),
        &format!("{HEADER}\r\n\r\n"),
    ] {
        upload(&app, &bank, &date, empty)
            .await
            .expect_error(422, "empty_file");
    }
    assert_eq!(app.count("recon_runs").await, 0);
    let one_line = format!("{HEADER}\n{date},SMD00001,000001,1,A,100,SALE\n");
    upload_with(&app, &bank, &date, "&no_activity=true", &one_line)
        .await
        .expect_error(422, "activity_in_file");
    assert_eq!(app.count("recon_runs").await, 0);
    let run = upload_with(
        &app,
        &bank,
        &date,
        "&no_activity=true",
        &format!("{HEADER}\n"),
    )
    .await
    .expect(201);
    assert_eq!(run["report"]["exceptions"], 0);
    assert_eq!(run["report"]["no_activity"], true);
    assert_eq!(run["authoritative"], true);
    app.get(
        &format!("/v1/recon/runs/{}", run["id"].as_str().unwrap()),
        &operator,
    )
    .await
    .expect_error(403, "forbidden_role");
}

/// Settles `date` and returns what this call posted, as (amount, matched, settled before).
async fn settle(app: &TestApp, bank: &str, date: &str) -> (Value, Vec<(i64, i64, i64)>) {
    let outcome = app
        .post(&format!("/v1/settlements/{date}"), bank, json!({}))
        .await
        .expect(200);
    let posted = outcome["posted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = |k: &str| e[k].as_i64().unwrap();
            (
                n("amount_minor"),
                n("matched_minor"),
                n("settled_before_minor"),
            )
        })
        .collect();
    (outcome, posted)
}

async fn settled_total(app: &TestApp) -> i64 {
    count_on(
        app.backend,
        &app.database_url,
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM settlement_entries",
    )
    .await
}

async fn settlement_pays_the_difference_when_the_bank_sends_more_or_less(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let bank = app.login("kaltimtara").await;
    let date = today();
    let a = app
        .buy(&operator, "SMD00001", "000001", DEMO_PANS[0], 5)
        .await; // 67,500
    let b = app
        .buy(&operator, "SMD00002", "000001", DEMO_PANS[1], 2)
        .await; // 27,000
    app.post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(201);
    let line = |answer: &Value, terminal: &str, amount: &str| {
        format!(
            "{date},{terminal},000001,{},{},{amount},SALE\n",
            rrn(answer),
            answer["approval_code"].as_str().unwrap()
        )
    };
    let partial = format!("{HEADER}\n{}", line(&a, "SMD00001", "67500"));
    let full = format!("{partial}{}", line(&b, "SMD00002", "27000"));
    let corrected = format!("{HEADER}\n{}", line(&b, "SMD00002", "27000"));

    // A partial file first: only what it matched is paid.
    let first = upload(&app, &bank, &date, &partial).await.expect(201);
    assert_eq!(first["authoritative"], true);
    let (outcome, posted) = settle(&app, &bank, &date).await;
    assert_eq!(outcome["run_id"], first["id"]);
    assert_eq!(posted, [(6_750_000, 6_750_000, 0)]);

    // The complete file: the rest is paid, as a new entry; the partial run stops being the word.
    let complete = upload(&app, &bank, &date, &full).await.expect(201);
    assert_eq!(complete["authoritative"], true);
    let first_now = app
        .get(
            &format!("/v1/recon/runs/{}", first["id"].as_str().unwrap()),
            &bank,
        )
        .await
        .expect(200);
    assert_eq!(first_now["authoritative"], false);
    let (outcome, posted) = settle(&app, &bank, &date).await;
    assert_eq!(outcome["run_id"], complete["id"]);
    assert_eq!(posted, [(2_700_000, 9_450_000, 6_750_000)]);
    assert_eq!(settle(&app, &bank, &date).await.1, [], "nothing new");

    // A corrected file that matches less would take money back: it waits for a second bank
    // user, and settling meanwhile keeps paying from the complete run.
    let lower = upload(&app, &bank, &date, &corrected).await.expect(201);
    assert_eq!(lower["authoritative"], false);
    assert_eq!(lower["review"]["status"], "pending");
    assert_eq!(
        lower["review"]["reasons"],
        json!(["takes_money_back", "lowers_due"])
    );
    let (outcome, posted) = settle(&app, &bank, &date).await;
    assert_eq!(posted, [], "nothing changes while the run waits");
    assert_eq!(outcome["run_id"], complete["id"]);
    let lower_id = lower["id"].as_str().unwrap();
    let review = app
        .get(&format!("/v1/recon/runs/{lower_id}/review"), &bank)
        .await
        .expect(200);
    let preview = &review["preview"]["lines"];
    let of = |name: &str| {
        let line = preview
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["ewarung_name"] == name)
            .unwrap_or_else(|| panic!("{name} in {review}"));
        (
            line["paid_minor"].as_i64().unwrap(),
            line["due_after_minor"].as_i64().unwrap(),
            line["difference_minor"].as_i64().unwrap(),
        )
    };
    assert_eq!(of("E-Warung Berkah"), (9_450_000, 2_700_000, -6_750_000));
    let confirm = format!("/v1/recon/runs/{lower_id}/confirm");
    let digest = review["preview"]["digest"].as_str().unwrap();
    app.post(&confirm, &bank, json!({ "digest": digest }))
        .await
        .expect_error(403, "maker_checker");
    let checker = app.login("kaltimtara-2").await;
    app.post(
        &confirm,
        &checker,
        json!({ "digest": "0123456789abcdef01234567" }),
    )
    .await
    .expect_error(409, "review_changed");
    let confirmed = app
        .post(
            &confirm,
            &checker,
            json!({ "digest": digest, "note": "the bank corrected line 1" }),
        )
        .await
        .expect(200);
    assert_eq!(confirmed["authoritative"], true);
    assert_eq!(confirmed["review"]["status"], "confirmed");
    app.post(&confirm, &checker, json!({}))
        .await
        .expect_error(409, "review_not_pending");
    let auditor = app.login("auditor").await;
    let actions = app.audit_actions(&auditor, "recon_run", lower_id).await;
    assert_eq!(actions, ["recon.run", "recon.review_confirmed"]);

    // Confirmed: settling posts a visible negative entry, value moved back to the payable.
    let (outcome, posted) = settle(&app, &bank, &date).await;
    assert_eq!(posted, [(-6_750_000, 2_700_000, 9_450_000)]);
    let back = count_on(
        app.backend,
        &app.database_url,
        "SELECT COUNT(*) FROM transfers t JOIN accounts d ON d.id = t.debit_account_id
          JOIN accounts c ON c.id = t.credit_account_id
          WHERE t.kind = 'settlement' AND d.kind = 'settlement' AND c.kind = 'ewarung_payable'
            AND t.amount_minor = 6750000",
    )
    .await;
    assert_eq!(back, 1, "the adjustment is a transfer back: {outcome}");
    let payout = {
        let records: Vec<ssn::settlement::SettlementRecord> =
            serde_json::from_value(outcome["posted"].clone()).unwrap();
        let mut out = Vec::new();
        let head = outcome["audit_head"].as_str();
        ssn::settlement::write_payout_file(&records, head, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    // Each line carries the date's signed audit head, for the bank to keep.
    let head = outcome["audit_head"].as_str().expect("a signed head");
    assert!(
        head.starts_with(&format!("ssn-audit-head-v1;business_date={date};")),
        "{head}"
    );
    assert!(head.contains(";signature="), "{head}");
    assert!(
        payout
            .lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!(",1,-67500.00,{head}")),
        "{payout}"
    );
    assert_eq!(outcome["entries"].as_array().unwrap().len(), 3);

    // The earlier complete file sent again is the same run, and the word again.
    let again = upload(&app, &bank, &date, &full).await.expect(201);
    assert_eq!(again["id"], complete["id"]);
    assert_eq!(again["authoritative"], true);
    let (_, posted) = settle(&app, &bank, &date).await;
    assert_eq!(posted, [(6_750_000, 9_450_000, 2_700_000)]);
    assert_eq!(settled_total(&app).await, 9_450_000);
    app.assert_ledger_clean().await;

    // Settles and runs at the same time: whatever order they take, settled ends equal to matched.
    let settle_path = format!("/v1/settlements/{date}");
    for file in [&corrected, &full, &partial, &full] {
        let (run, settled) = tokio::join!(
            upload(&app, &bank, &date, file),
            app.post(&settle_path, &bank, json!({}))
        );
        run.expect(201);
        settled.expect(200);
    }
    let (outcome, _) = settle(&app, &bank, &date).await;
    let authoritative = app
        .get(
            &format!("/v1/recon/runs/{}", outcome["run_id"].as_str().unwrap()),
            &bank,
        )
        .await
        .expect(200);
    assert_eq!(authoritative["authoritative"], true);
    assert_eq!(
        authoritative["id"], complete["id"],
        "the last upload was the full file"
    );
    assert_eq!(settled_total(&app).await, 9_450_000);
    app.assert_ledger_clean().await;

    // The check notices an entry that no longer agrees with its transfer.
    app.execute(
        "UPDATE settlement_entries SET matched_minor = matched_minor + 100, amount_minor = amount_minor + 100
          WHERE amount_minor > 0",
    )
    .await;
    let check = app.app_state.store.ledger().verify_ledger().await.unwrap();
    let rules: Vec<&str> = check.violations.iter().map(|v| v.rule).collect();
    assert!(rules.contains(&"settlement_transfer"), "{rules:?}");
    assert!(rules.contains(&"settlement_sum"), "{rules:?}");
}

async fn a_garbage_file_waits_for_a_second_bank_user(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let bank = app.login("kaltimtara").await;
    let checker = app.login("kaltimtara-2").await;
    let date = today();
    let a = app
        .buy(&operator, "SMD00001", "000001", DEMO_PANS[0], 5)
        .await; // 67,500
    app.post(&format!("/v1/days/{date}/close"), &bank, json!({}))
        .await
        .expect(201);
    // 8 lines of ten unreadable, the other 2 for a terminal nobody knows: nothing matches.
    let mut garbage = format!("{HEADER}\n");
    for i in 0..8 {
        garbage.push_str(&format!("this is not a line {i}\n"));
    }
    for stan in ["000001", "000002"] {
        garbage.push_str(&format!("{date},XXX99999,{stan},,,1000,SALE\n"));
    }

    // Garbage as the date's first run: nothing to settle from until someone confirms it.
    let first = upload(&app, &bank, &date, &garbage).await.expect(201);
    assert_eq!(first["authoritative"], false);
    assert_eq!(
        first["review"]["reasons"],
        json!(["malformed_share", "unmatched_share"])
    );
    app.post(&format!("/v1/settlements/{date}"), &bank, json!({}))
        .await
        .expect_error(409, "review_pending");

    // The good file: it becomes the word at once, and the waiting garbage run is superseded.
    let good_file = format!(
        "{HEADER}\n{date},SMD00001,000001,{},{},67500,SALE\n",
        rrn(&a),
        a["approval_code"].as_str().unwrap()
    );
    let good = upload(&app, &bank, &date, &good_file).await.expect(201);
    assert_eq!(good["authoritative"], true);
    assert_eq!(good["review"], Value::Null);
    let first_id = first["id"].as_str().unwrap();
    let first_now = app
        .get(&format!("/v1/recon/runs/{first_id}"), &bank)
        .await
        .expect(200);
    assert_eq!(first_now["review"]["status"], "superseded");
    app.post(
        &format!("/v1/recon/runs/{first_id}/confirm"),
        &checker,
        json!({}),
    )
    .await
    .expect_error(409, "review_not_pending");
    let (_, posted) = settle(&app, &bank, &date).await;
    assert_eq!(posted, [(6_750_000, 6_750_000, 0)]);

    // The same garbage after a good, settled file (sent with another name, so a new run).
    let again = app
        .raw(
            Method::POST,
            &format!("/v1/recon/runs?date={date}&file_name=again.csv"),
            Some(&bank),
            Some("text/csv"),
            Some(format!("{garbage}\n").into_bytes()),
        )
        .await
        .expect(201);
    assert_eq!(again["authoritative"], false);
    assert_eq!(
        again["review"]["reasons"],
        json!([
            "takes_money_back",
            "lowers_due",
            "malformed_share",
            "unmatched_share"
        ])
    );
    let (outcome, posted) = settle(&app, &bank, &date).await;
    assert_eq!(posted, [], "settlement keeps the good run");
    assert_eq!(outcome["run_id"], good["id"]);

    // A second bank user rejects it, with a reason; the good run stays the word.
    let again_id = again["id"].as_str().unwrap();
    let reject = format!("/v1/recon/runs/{again_id}/reject");
    app.post(&reject, &checker, json!({}))
        .await
        .expect_error(422, "note_required");
    app.post(&reject, &bank, json!({ "note": "my own file" }))
        .await
        .expect_error(403, "maker_checker");
    let operator_refused = app
        .post(&reject, &operator, json!({ "note": "not mine to say" }))
        .await;
    operator_refused.expect_error(403, "forbidden_role");
    let rejected = app
        .post(
            &reject,
            &checker,
            json!({ "note": "the bank sent the wrong file" }),
        )
        .await
        .expect(200);
    assert_eq!(rejected["review"]["status"], "rejected");
    assert_eq!(rejected["authoritative"], false);
    let good_now = app
        .get(
            &format!("/v1/recon/runs/{}", good["id"].as_str().unwrap()),
            &bank,
        )
        .await
        .expect(200);
    assert_eq!(good_now["authoritative"], true);
    assert_eq!(settle(&app, &bank, &date).await.1, []);
    assert_eq!(settled_total(&app).await, 6_750_000);
    let auditor = app.login("auditor").await;
    let actions = app.audit_actions(&auditor, "recon_run", again_id).await;
    assert_eq!(actions, ["recon.run", "recon.review_rejected"]);
    app.assert_ledger_clean().await;
}

on_both_backends!(
    a_garbage_file_waits_for_a_second_bank_user,
    settlement_pays_the_difference_when_the_bank_sends_more_or_less,
    a_clean_day_closes_reconciles_and_settles_once,
    every_exception_category_is_found_and_resolved_by_the_right_people,
    a_terminal_batch_mismatch_is_recorded_and_reported_at_close,
    dates_roles_and_headers_are_checked_before_anything_changes,
);
