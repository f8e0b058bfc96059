//! Monthly quota batches: upload (CSV and JSON), whole-file validation with line numbers,
//! maker-checker approval, idempotent posting, skipped households, and carry-over expiry.

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

const BATCHES: &str = "/v1/quota/batches";

async fn upload_csv(app: &TestApp, token: &str, csv: &str) -> Reply {
    app.raw(
        reqwest::Method::POST,
        &format!("{BATCHES}?source_name=dinsos-2098-12.csv"),
        Some(token),
        Some("text/csv"),
        Some(csv.as_bytes().to_vec()),
    )
    .await
}

fn outcome(report: &Value, name: &str) -> (i64, String) {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["outcome"] == name)
        .map(|o| {
            (
                o["rows"].as_i64().unwrap(),
                o["amount"].as_str().unwrap().to_string(),
            )
        })
        .unwrap_or((0, "0".into()))
}

/// A report's errors as (line, code), in the report's order.
fn errors(report: &Value) -> Vec<(i64, &str)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line_no"].as_i64().unwrap(), e["code"].as_str().unwrap()))
        .collect()
}

/// A report's skipped lines as (line, KK number, outcome), in the report's order.
fn skipped(report: &Value) -> Vec<(i64, &str, &str)> {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["line_no"].as_i64().unwrap(),
                s["kk_number"].as_str().unwrap(),
                s["outcome"].as_str().unwrap(),
            )
        })
        .collect()
}

/// A December file for all five demo households: BOM, CRLF and quoted fields, as spreadsheets
/// write them.
fn december_csv() -> String {
    let mut csv = String::from("\u{feff}period,program_code,kk_number,amount_idr\r\n");
    for kk in DEMO_KKS {
        csv.push_str(&format!(
            "\"2098-12\",SSN-SEMBAKO,\"{kk}\",\"150000.00\"\r\n"
        ));
    }
    csv
}

async fn a_batch_is_validated_whole_and_errors_name_their_lines(app: TestApp) {
    let office = app.login("dinsos").await;
    let csv = "period,program_code,kk_number,amount_idr\n\
               2098-12,SSN-SEMBAKO,6472010101230001,150000\n\
               2026-13,SSN-SEMBAKO,6472010101230002,150000\n\
               2098-12,NO-SUCH,6472010101230003,150000\n\
               2098-12,SSN-SEMBAKO,6472010101239999,150000\n\
               2098-12,SSN-SEMBAKO,64720101012300,150000\n\
               2098-12,SSN-SEMBAKO,6472010101230004,0\n\
               2098-12,SSN-SEMBAKO,6472010101230005,100.001\n\
               2098-12,SSN-SEMBAKO,6472010101230001,150000\n";
    let transfers = app.count("transfers").await;
    let report = upload_csv(&app, &office, csv).await.expect(201);
    assert_eq!(report["batch"]["status"], "invalid");
    assert_eq!(report["batch"]["row_count"], 8);
    let errors = errors(&report);
    assert_eq!(
        errors,
        vec![
            (3, "invalid_period"),
            (4, "unknown_program"),
            (5, "unknown_household"),
            (6, "invalid_kk_number"),
            (7, "amount_not_positive"),
            (8, "amount_too_precise"),
            (9, "duplicate_household"),
        ]
    );
    // An invalid batch can never be posted, by anyone.
    let id = report["batch"]["id"].as_str().unwrap();
    let checker = app.login("diskominfo").await;
    app.post(&format!("{BATCHES}/{id}/approve"), &checker, json!({}))
        .await
        .expect_error(409, "invalid_state");
    assert_eq!(app.count("transfers").await, transfers);
    // The errors are also listed page by page.
    let page = app
        .get(
            &format!("{BATCHES}/{id}/errors?after_line=5&limit=2"),
            &checker,
        )
        .await
        .expect(200);
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(page[0]["line_no"], 6);
}

async fn a_second_office_user_approves_and_a_reupload_moves_no_money(app: TestApp) {
    let maker = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let report = upload_csv(&app, &maker, &december_csv()).await.expect(201);
    assert_eq!(report["batch"]["status"], "validated", "{report}");
    assert_eq!(report["households"], 5);
    assert_eq!(report["batch"]["total_amount"], "750000.00");
    assert_eq!(outcome(&report, "credited"), (5, "750000.00".into()));
    let id = report["batch"]["id"].as_str().unwrap().to_string();
    let approve = format!("{BATCHES}/{id}/approve");

    // Maker-checker: the uploader cannot approve, an operator cannot either.
    app.post(&approve, &maker, json!({}))
        .await
        .expect_error(403, "maker_checker");
    let operator = app.login("warung-berkah").await;
    app.post(&approve, &operator, json!({}))
        .await
        .expect_error(403, "forbidden_role");

    let posted = app.post(&approve, &checker, json!({})).await.expect(200);
    assert_eq!(posted["batch"]["status"], "posted");
    assert_eq!(outcome(&posted, "credited"), (5, "750000.00".into()));
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[0]).await,
        "350000.00"
    );
    // Approving twice posts once.
    app.post(&approve, &checker, json!({}))
        .await
        .expect_error(409, "invalid_state");

    // The same file again: every row already loaded, nothing credited.
    let transfers = app.count("transfers").await;
    let again = upload_csv(&app, &maker, &december_csv()).await.expect(201);
    assert_eq!(outcome(&again, "already_loaded"), (5, "750000.00".into()));
    assert_eq!(outcome(&again, "credited").0, 0);
    let again_id = again["batch"]["id"].as_str().unwrap();
    let reposted = app
        .post(
            &format!("{BATCHES}/{again_id}/approve"),
            &checker,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(outcome(&reposted, "already_loaded").0, 5);
    assert_eq!(app.count("transfers").await, transfers);
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[0]).await,
        "350000.00"
    );
    assert_eq!(
        app.audit_actions(&checker, "quota_batch", &id).await,
        vec!["quota.uploaded", "quota.posted"]
    );
    app.assert_ledger_clean().await;
}

/// Households are looked up a chunk at a time, grouped by program and period: a file that
/// alternates two periods line by line gets each line's own answer (December already loaded,
/// January new), told apart here by their amounts.
async fn a_file_alternating_periods_gets_each_line_its_own_outcome(app: TestApp) {
    let maker = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let december = upload_csv(&app, &maker, &december_csv()).await.expect(201);
    let december_id = december["batch"]["id"].as_str().unwrap();
    app.post(
        &format!("{BATCHES}/{december_id}/approve"),
        &checker,
        json!({}),
    )
    .await
    .expect(200);

    let mut mixed = String::from("period,program_code,kk_number,amount_idr\n");
    for kk in DEMO_KKS {
        mixed.push_str(&format!("2099-01,SSN-SEMBAKO,{kk},160000\n"));
        mixed.push_str(&format!("2098-12,SSN-SEMBAKO,{kk},150000\n"));
    }
    let report = upload_csv(&app, &maker, &mixed).await.expect(201);
    assert_eq!(report["batch"]["status"], "validated", "{report}");
    assert_eq!(report["batch"]["row_count"], 10);
    assert_eq!(outcome(&report, "credited"), (5, "800000.00".into()));
    assert_eq!(outcome(&report, "already_loaded"), (5, "750000.00".into()));
    let id = report["batch"]["id"].as_str().unwrap();
    let posted = app
        .post(&format!("{BATCHES}/{id}/approve"), &checker, json!({}))
        .await
        .expect(200);
    assert_eq!(outcome(&posted, "credited"), (5, "800000.00".into()));
    let operator = app.login("warung-berkah").await;
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[0]).await,
        "510000.00",
        "the demo's 200,000 plus December's 150,000 and January's 160,000"
    );
    app.assert_ledger_clean().await;
}

async fn suspended_and_exited_households_are_skipped_with_the_reason(app: TestApp) {
    let maker = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let suspended = app.household_id(&maker, DEMO_KKS[1]).await;
    app.approved(
        app.post(
            &format!("/v1/households/{suspended}/status"),
            &maker,
            json!({"expected_revision": 1, "status": "suspended", "reason": "pending field check"}),
        )
        .await,
    )
    .await;
    let exited = app.household_id(&maker, DEMO_KKS[2]).await;
    app.approved(
        app.post(
            &format!("/v1/households/{exited}/status"),
            &maker,
            json!({"expected_revision": 1, "status": "exited", "reason": "head of household died"}),
        )
        .await,
    )
    .await;
    // JSON upload, same rules as CSV.
    let lines: Vec<Value> = DEMO_KKS
        .iter()
        .map(|kk| json!({"period": "2098-12", "program_code": "SSN-SEMBAKO", "kk_number": kk, "amount_idr": "150000"}))
        .collect();
    let report = app
        .post(
            BATCHES,
            &maker,
            json!({"source_name": "december.json", "lines": lines}),
        )
        .await
        .expect(201);
    assert_eq!(report["batch"]["status"], "validated");
    let id = report["batch"]["id"].as_str().unwrap();
    let posted = app
        .post(&format!("{BATCHES}/{id}/approve"), &checker, json!({}))
        .await
        .expect(200);
    assert_eq!(outcome(&posted, "credited").0, 3);
    assert_eq!(
        outcome(&posted, "skipped_suspended"),
        (1, "150000.00".into())
    );
    assert_eq!(outcome(&posted, "skipped_exited"), (1, "150000.00".into()));
    let skipped: Vec<(&str, &str)> = skipped(&posted)
        .into_iter()
        .map(|(_, kk, outcome)| (kk, outcome))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (DEMO_KKS[1], "skipped_suspended"),
            (DEMO_KKS[2], "skipped_exited")
        ]
    );
    app.assert_ledger_clean().await;
}

async fn uploads_refuse_bad_files_and_wrong_roles_without_creating_a_batch(app: TestApp) {
    let maker = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    upload_csv(&app, &operator, &december_csv())
        .await
        .expect_error(403, "forbidden_role");
    upload_csv(&app, &maker, "kk,amount\n6472010101230001,5\n")
        .await
        .expect_error(422, "invalid_header");
    upload_csv(&app, &maker, "period,program_code,kk_number,amount_idr\n")
        .await
        .expect_error(422, "empty_file");
    assert_eq!(
        app.count("quota_batches").await,
        1,
        "only the demo's own batch"
    );
}

async fn expiry_returns_entitlement_older_than_the_carry_over_oldest_first(app: TestApp) {
    let maker = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let operator = app.login("warung-berkah").await;
    let this_month = &today()[..7];
    // Household 1 also has an old June credit; household 2 has one too but spends more than it.
    let csv = format!(
        "period,program_code,kk_number,amount_idr\n\
         2026-06,SSN-SEMBAKO,{},100000\n\
         2026-06,SSN-SEMBAKO,{},100000\n",
        DEMO_KKS[0], DEMO_KKS[1]
    );
    let report = upload_csv(&app, &maker, &csv).await.expect(201);
    let id = report["batch"]["id"].as_str().unwrap();
    app.post(&format!("{BATCHES}/{id}/approve"), &checker, json!({}))
        .await
        .expect(200);
    let spend = purchase("SMD00001", "000901", DEMO_PANS[1], 10, "12000");
    app.post("/v1/redemptions/authorize", &operator, spend)
        .await
        .expect(200);
    app.post(
        "/v1/redemptions/complete",
        &operator,
        original("SMD00001", "000901"),
    )
    .await
    .expect(200);

    // As of the first day of the month three months after this one, with carry-over 3, the
    // June credit is out of its window but this month's is not.
    let as_of = format!("{this_month}-01");
    let expired = app
        .post("/v1/quota/expire", &checker, json!({"as_of": as_of}))
        .await
        .expect(200);
    let touched: Vec<(&str, &str)> = expired["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["kk_number"].as_str().unwrap(),
                h["amount"].as_str().unwrap(),
            )
        })
        .collect();
    // Household 2 spent 120000, more than its June credit, so nothing of it is left to expire.
    assert_eq!(touched, vec![(DEMO_KKS[0], "100000.00")]);
    assert_eq!(expired["total_amount"], "100000.00");
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[0]).await,
        DEMO_QUOTA
    );
    assert_eq!(
        app.balance(&operator, "SMD00001", DEMO_PANS[1]).await,
        "180000.00"
    );
    // Running it again finds nothing more.
    let again = app
        .post("/v1/quota/expire", &checker, json!({"as_of": as_of}))
        .await
        .expect(200);
    assert_eq!(again["households"].as_array().unwrap().len(), 0);
    app.post("/v1/quota/expire", &operator, json!({"as_of": as_of}))
        .await
        .expect_error(403, "forbidden_role");
    app.assert_ledger_clean().await;
}

/// Registers `count` households straight into the table (setup for a large file; registration
/// itself is tested elsewhere): KK numbers `7100000000000000` onwards, every thousandth from the
/// seventh on suspended.
async fn register_many_households(app: &TestApp, count: usize) {
    let columns =
        "id, kk_number, head_nik, head_name, street, rt, rw, kelurahan, kecamatan, status,
                   revision, created_at, updated_at";
    let sql = match app.backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO households ({columns})
             SELECT randomblob(16), printf('71%014d', i), printf('71%014d', i), 'Keluarga Uji',
                    'Jl. Uji 1', '001', '001', 'Air Putih', 'Samarinda Ulu',
                    CASE WHEN i % 1000 = 7 THEN 'suspended' ELSE 'active' END, 1,
                    '2026-11-23T00:00:00Z', '2026-11-23T00:00:00Z' FROM n",
            last = count - 1
        ),
        Backend::Postgres => format!(
            "INSERT INTO households ({columns})
             SELECT gen_random_uuid(), '71' || lpad(i::text, 14, '0'), '71' || lpad(i::text, 14, '0'),
                    'Keluarga Uji', 'Jl. Uji 1', '001', '001', 'Air Putih', 'Samarinda Ulu',
                    CASE WHEN i % 1000 = 7 THEN 'suspended' ELSE 'active' END, 1, now(), now()
             FROM generate_series(0, {last}) AS i",
            last = count - 1
        ),
    };
    app.execute(&sql).await;
}

fn many_kk(index: usize) -> String {
    format!("71{index:014}")
}

/// A file bigger than one staging chunk (5,000 rows) and than one multi-row insert (100 rows):
/// every line is staged once, unknown households and a repeat across chunks are found with
/// their line numbers, and the clean file posts every credit.
async fn a_file_of_several_chunks_is_checked_and_posted_whole(app: TestApp) {
    const HOUSEHOLDS: usize = 5_100;
    register_many_households(&app, HOUSEHOLDS).await;
    let maker = app.login("dinsos").await;
    let checker = app.login("diskominfo").await;
    let header = "period,program_code,kk_number,amount_idr\n";
    let mut clean = String::from(header);
    for index in 0..HOUSEHOLDS {
        clean.push_str(&format!("2098-12,SSN-SEMBAKO,{},100000\n", many_kk(index)));
    }
    // 49 unknown households (lines 5102 to 5150), then the first household again (line 5151).
    let mut flawed = clean.clone();
    for index in 0..49 {
        flawed.push_str(&format!("2098-12,SSN-SEMBAKO,72{index:014},100000\n"));
    }
    flawed.push_str(&format!("2098-12,SSN-SEMBAKO,{},100000\n", many_kk(0)));

    let transfers = app.count("transfers").await;
    let report = upload_csv(&app, &maker, &flawed).await.expect(201);
    assert_eq!(report["batch"]["status"], "invalid", "{report}");
    assert_eq!(report["batch"]["row_count"], 5_150);
    assert_eq!(report["batch"]["error_count"], 50);
    assert_eq!(report["households"], 5_100);
    let errors = errors(&report);
    let mut expected: Vec<(i64, &str)> = (5_102..=5_150)
        .map(|line| (line, "unknown_household"))
        .collect();
    expected.push((5_151, "duplicate_household"));
    assert_eq!(errors, expected);
    assert!(
        report["errors"][49]["message"]
            .as_str()
            .unwrap()
            .ends_with("(line 2)"),
        "{}",
        report["errors"][49]
    );

    let report = upload_csv(&app, &maker, &clean).await.expect(201);
    assert_eq!(report["batch"]["status"], "validated", "{report}");
    assert_eq!(report["households"], 5_100);
    assert_eq!(report["batch"]["total_amount"], "510000000.00");
    // Households 7, 1007, … 5007 are suspended: six of them, on lines 9, 1009, … 5009.
    assert_eq!(outcome(&report, "credited"), (5_094, "509400000.00".into()));
    assert_eq!(
        outcome(&report, "skipped_suspended"),
        (6, "600000.00".into())
    );
    let skipped = skipped(&report);
    let kks: Vec<String> = (0..6).map(|k| many_kk(k * 1000 + 7)).collect();
    let expected: Vec<(i64, &str, &str)> = (0..6)
        .map(|k| (k as i64 * 1000 + 9, kks[k].as_str(), "skipped_suspended"))
        .collect();
    assert_eq!(skipped, expected);
    assert_eq!(
        app.count("transfers").await,
        transfers,
        "nothing moves before approval"
    );

    let id = report["batch"]["id"].as_str().unwrap();
    let posted = app
        .post(&format!("{BATCHES}/{id}/approve"), &checker, json!({}))
        .await
        .expect(200);
    assert_eq!(posted["batch"]["status"], "posted");
    assert_eq!(outcome(&posted, "credited"), (5_094, "509400000.00".into()));
    assert_eq!(app.count("transfers").await, transfers + 5_094);
    // The report read back later says the same.
    let read = app
        .get(&format!("{BATCHES}/{id}"), &checker)
        .await
        .expect(200);
    assert_eq!(read["households"], 5_100);
    assert_eq!(outcome(&read, "credited"), (5_094, "509400000.00".into()));
    app.assert_ledger_clean().await;
}

async fn count_validating(app: &TestApp) -> i64 {
    count_on(
        app.backend,
        &app.database_url,
        "SELECT COUNT(*) FROM quota_batches WHERE status = 'validating'",
    )
    .await
}

async fn an_upload_cut_off_midway_leaves_no_batch_validating(app: TestApp) {
    let maker = app.login("dinsos").await;
    let batches = app.count("quota_batches").await;
    let staged_before = app.count("quota_lines").await + app.count("quota_errors").await;
    // The client sends the header and some lines, then goes away mid-file: a raw connection, so
    // that dropping it really closes the socket.
    use tokio::io::AsyncWriteExt;
    let address = app.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    // More than a chunk, so the server stages some before the file ends (unknown households are
    // line errors, staged like good lines).
    let mut rows = String::from("period,program_code,kk_number,amount_idr\n");
    for i in 0..ssn::quota::parse::CHUNK_ROWS * 2 {
        rows.push_str(&format!("2099-01,SSN-SEMBAKO,64729{i:011},150000\n"));
    }
    let head = format!(
        "POST {BATCHES}?source_name=cut.csv HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {maker}\r\n\
         content-type: text/csv\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{rows}\r\n",
        rows.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    // Wait until the server has made the batch, then cut the connection.
    let mut made = false;
    for _ in 0..200 {
        if app.count("quota_batches").await > batches {
            made = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(made, "the server started the batch");
    drop(socket);
    let mut left = i64::MAX;
    for _ in 0..200 {
        left = count_validating(&app).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(left, 0, "the cut upload's batch was removed");
    assert_eq!(app.count("quota_batches").await, batches);
    assert_eq!(
        app.count("quota_lines").await + app.count("quota_errors").await,
        staged_before,
        "its staged lines went with it"
    );
    upload_csv(&app, &maker, &december_csv()).await.expect(201);

    // A batch left `validating` by a process that died (no clean-up ran) goes at the next upload
    // once it is an hour old.
    app.execute(
        "UPDATE quota_batches SET status = 'validating', uploaded_at = '2000-01-01T00:00:00Z'
          WHERE source_name = 'dinsos-2098-12.csv'",
    )
    .await;
    assert_eq!(count_validating(&app).await, 1);
    upload_csv(&app, &maker, &december_csv()).await.expect(201);
    assert_eq!(count_validating(&app).await, 0, "the stale batch was swept");
}

/// Whatever bytes a line holds, its errors can be stored and shown (PostgreSQL refuses NUL in text).
async fn control_characters_in_a_line_are_reported_not_a_server_error(app: TestApp) {
    let office = app.login("dinsos").await;
    let lines = json!([
        {"period": "\u{0}", "program_code": "SSN\u{0}X", "kk_number": "\u{0}", "amount_idr": "1\u{0}"},
        {"period": "2099-03", "program_code": "SSN-SEMBAKO\u{202e}", "kk_number": DEMO_KKS[0], "amount_idr": "1000"},
    ]);
    let report = app
        .post(
            BATCHES,
            &office,
            json!({"source_name": "nul.json", "lines": lines}),
        )
        .await
        .expect(201);
    let messages = report["errors"].to_string();
    assert!(!messages.contains("\\u0000"), "{messages}");
    assert_eq!(report["batch"]["status"], "invalid", "{report}");
    assert!(report["errors"].as_array().unwrap().len() >= 5, "{report}");
}

on_both_backends!(
    control_characters_in_a_line_are_reported_not_a_server_error,
    an_upload_cut_off_midway_leaves_no_batch_validating,
    a_batch_is_validated_whole_and_errors_name_their_lines,
    a_second_office_user_approves_and_a_reupload_moves_no_money,
    a_file_alternating_periods_gets_each_line_its_own_outcome,
    suspended_and_exited_households_are_skipped_with_the_reason,
    uploads_refuse_bad_files_and_wrong_roles_without_creating_a_batch,
    expiry_returns_entitlement_older_than_the_carry_over_oldest_first,
    a_file_of_several_chunks_is_checked_and_posted_whole,
);
