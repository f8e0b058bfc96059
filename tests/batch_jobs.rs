//! The batch commands as an office user runs them against a live server: `ssn quota load`,
//! `ssn quota approve`, `ssn quota expire`, and `ssn ledger verify` on the database, including a
//! tampered ledger that it must catch.

#[path = "common/mod.rs"]
mod common;

use std::process::Output;

use common::{process::*, Backend, DEMO_KKS};

fn run(
    data_dir: &std::path::Path,
    db: &str,
    server: &str,
    user: &str,
    password: &str,
    args: &[&str],
) -> Output {
    ssn_command(data_dir, db)
        .env("SSN_SERVER", server)
        .env("SSN_USERNAME", user)
        .env("SSN_PASSWORD", password)
        .args(args)
        .output()
        .expect("ssn runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn quota_commands_load_approve_expire_and_the_ledger_verifies(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database(backend, dir.path()).await;
    let server = ServerProcess::start(dir.path(), &db, &[]);
    let file = dir.path().join("kuota-2098-12.csv");
    let mut csv = String::from("period,program_code,kk_number,amount_idr\r\n");
    for kk in DEMO_KKS {
        csv.push_str(&format!("2098-12,SSN-SEMBAKO,{kk},150000\r\n"));
    }
    std::fs::write(&file, &csv).unwrap();
    let path = file.to_str().unwrap();

    let loaded = run(
        dir.path(),
        &db,
        &server.base,
        "dinsos",
        "demo-office-pass",
        &["quota", "load", path],
    );
    assert!(loaded.status.success(), "{}", text(&loaded));
    let out = text(&loaded);
    assert!(out.contains("validated"), "{out}");
    assert!(
        out.contains("rows 5, households 5, total 750000.00 IDR, errors 0"),
        "{out}"
    );
    let batch = out
        .split_whitespace()
        .nth(1)
        .expect("the report starts with the batch id")
        .to_string();

    // The uploader cannot approve; the other office user can.
    let refused = run(
        dir.path(),
        &db,
        &server.base,
        "dinsos",
        "demo-office-pass",
        &["quota", "approve", &batch],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("maker_checker"),
        "{}",
        text(&refused)
    );
    let approved = run(
        dir.path(),
        &db,
        &server.base,
        "diskominfo",
        "demo-office2-pass",
        &["quota", "approve", &batch],
    );
    assert!(approved.status.success(), "{}", text(&approved));
    assert!(
        text(&approved).contains("credited: 5 rows, 750000.00 IDR"),
        "{}",
        text(&approved)
    );

    // A bad file: the command fails and shows the lines.
    std::fs::write(
        &file,
        "period,program_code,kk_number,amount_idr\n2098-12,SSN-SEMBAKO,6472010101239999,5\n",
    )
    .unwrap();
    let invalid = run(
        dir.path(),
        &db,
        &server.base,
        "dinsos",
        "demo-office-pass",
        &["quota", "load", path],
    );
    assert!(!invalid.status.success());
    assert!(
        text(&invalid).contains("line 2: kk_number unknown_household"),
        "{}",
        text(&invalid)
    );

    let expired = run(
        dir.path(),
        &db,
        &server.base,
        "diskominfo",
        "demo-office2-pass",
        &["quota", "expire", "--as-of", "2099-06-01"],
    );
    assert!(expired.status.success(), "{}", text(&expired));
    assert!(
        text(&expired).contains("5 households"),
        "{}",
        text(&expired)
    );

    let verified = ssn_command(dir.path(), &db)
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(
        text(&verified).contains("every invariant holds"),
        "{}",
        text(&verified)
    );

    // Someone edits a balance behind the ledger's back: verify names the account and fails.
    let tamper = "UPDATE accounts SET credits_posted = credits_posted + 100 WHERE id = (SELECT id FROM accounts WHERE kind = 'entitlement' ORDER BY id LIMIT 1)";
    common::execute_on(backend, &db, tamper).await;
    let caught = ssn_command(dir.path(), &db)
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(!caught.status.success());
    let report = text(&caught);
    assert!(report.contains("balance_mismatch: account"), "{report}");
    assert!(report.contains("(entitlement)"), "{report}");
}

on_both_backends!(quota_commands_load_approve_expire_and_the_ledger_verifies);

/// The bank's day as its staff run it: `ssn close`, `ssn recon run` (BOM, CRLF, a malformed line),
/// `ssn recon resolve`, `ssn recon show`, `ssn settle` twice (the second payout file pays nothing), and an
/// operator turned away.
async fn the_banks_daily_commands_close_reconcile_resolve_and_settle(backend: Backend) {
    use common::{original, purchase, today};
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database(backend, dir.path()).await;
    let server = ServerProcess::start(dir.path(), &db, &[]);
    let http = reqwest::Client::new();
    let operator = login(&http, &server.base, "warung-berkah", "demo-operator-pass").await;
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", server.base))
            .bearer_auth(&operator)
            .json(&body)
            .send()
    };
    let approved: serde_json::Value = post(
        "/v1/redemptions/authorize",
        purchase("SMD00001", "000042", common::DEMO_PANS[0], 3, "13500"),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(approved["response_code"], "00", "{approved}");
    post("/v1/redemptions/complete", original("SMD00001", "000042"))
        .await
        .unwrap();
    let date = today();
    let bank = |args: &[&str]| {
        run(
            dir.path(),
            &db,
            &server.base,
            "kaltimtara",
            "demo-bank-pass",
            args,
        )
    };

    let refused = run(
        dir.path(),
        &db,
        &server.base,
        "warung-berkah",
        "demo-operator-pass",
        &["close", "--date", &date],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("forbidden_role"),
        "{}",
        text(&refused)
    );

    let closed = bank(&["close", "--date", &date]);
    assert!(closed.status.success(), "{}", text(&closed));
    let out = text(&closed);
    assert!(out.contains(&format!("closed {date}")), "{out}");
    assert!(
        out.contains("purchases           1           40500.00 IDR"),
        "{out}"
    );
    let again = bank(&["close", "--date", &date]);
    assert!(text(&again).contains("already closed"), "{}", text(&again));

    let file = dir.path().join("kaltimtara.csv");
    std::fs::write(
        &file,
        format!(
            "\u{feff}value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\r\n\
             {date},SMD00001,000042,{},{},40500,SALE\r\n{date},SMD00001,42,x,y,1,SALE\r\n",
            approved["rrn"].as_str().unwrap(),
            approved["approval_code"].as_str().unwrap()
        ),
    )
    .unwrap();
    let exceptions = dir.path().join("exceptions.csv");
    let totals = dir.path().join("totals.csv");
    let reconciled = bank(&[
        "recon",
        "run",
        "--date",
        &date,
        "--bank-file",
        file.to_str().unwrap(),
        "--exceptions-csv",
        exceptions.to_str().unwrap(),
        "--totals-csv",
        totals.to_str().unwrap(),
    ]);
    let out = text(&reconciled);
    assert!(
        !reconciled.status.success(),
        "an open exception fails the command: {out}"
    );
    assert!(out.contains("1 exceptions are open"), "{out}");
    assert!(
        out.contains("the run waits for another bank user (malformed_share)"),
        "half the file is unreadable: {out}"
    );
    assert!(
        out.contains("2 bank lines (1 unusable) against 1 host entries"),
        "{out}"
    );
    let run_id = out
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .expect("the run id is printed")
        .trim()
        .to_string();
    let listed = std::fs::read_to_string(&exceptions).unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[1].contains(",malformed,3,"), "{listed}");
    let exception = lines[1].split(',').next().unwrap();
    let totals = std::fs::read_to_string(&totals).unwrap();
    assert!(
        totals.contains(&format!("{date},,(all),matched,1,40500.00,40500.00")),
        "{totals}"
    );
    assert!(
        totals.contains(&format!("{date},,(all),malformed,1,0.00,0.00")),
        "{totals}"
    );

    let resolved = run(
        dir.path(),
        &db,
        &server.base,
        "dinsos",
        "demo-office-pass",
        &[
            "recon",
            "resolve",
            exception,
            "--reason",
            "the bank's test line; they removed it",
        ],
    );
    assert!(resolved.status.success(), "{}", text(&resolved));
    // Four eyes: the uploader cannot confirm; another bank user sees the figures and does.
    let own = bank(&["recon", "confirm", &run_id]);
    assert!(!own.status.success());
    assert!(text(&own).contains("maker_checker"), "{}", text(&own));
    let confirmed = run(
        dir.path(),
        &db,
        &server.base,
        "kaltimtara-2",
        "demo-bank2-pass",
        &[
            "recon",
            "confirm",
            &run_id,
            "--note",
            "half of it was the bank's test line",
        ],
    );
    let out = text(&confirmed);
    assert!(confirmed.status.success(), "{out}");
    assert!(out.contains("E-Warung Berkah"), "the figures first: {out}");
    assert!(out.contains("confirmed; authoritative: true"), "{out}");
    let shown = bank(&["recon", "show", &run_id]);
    assert!(
        shown.status.success(),
        "nothing is open any more: {}",
        text(&shown)
    );

    let payout = dir.path().join("payout.csv");
    let settle = || {
        bank(&[
            "settle",
            "--date",
            &date,
            "--output",
            payout.to_str().unwrap(),
        ])
    };
    let settled = settle();
    assert!(settled.status.success(), "{}", text(&settled));
    assert!(
        text(&settled).contains("1 payout lines, 40500.00 IDR paid, 0.00 IDR recovered"),
        "{}",
        text(&settled)
    );
    let first = std::fs::read_to_string(&payout).unwrap();
    assert!(first.starts_with("business_date,ewarung_id,ewarung_name,bank_code,bank_account_number,bank_account_holder,count,net_amount_idr,audit_head\n"), "{first}");
    assert!(first.contains(",1,40500.00,ssn-audit-head-v1;"), "{first}");
    let again = settle();
    assert!(again.status.success());
    assert!(text(&again).contains("0 payout lines"), "{}", text(&again));
    assert_eq!(
        std::fs::read_to_string(&payout).unwrap(),
        first.lines().next().unwrap().to_string() + "\n",
        "settling again pays nothing new: the payout file has no lines"
    );

    let verified = ssn_command(dir.path(), &db)
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified));
}

on_both_backends!(the_banks_daily_commands_close_reconcile_resolve_and_settle);
