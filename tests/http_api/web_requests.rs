//! Change requests on the office's pages: the queue with its filters and ages, approving
//! several at once, returning and rejecting with a note, four eyes, and the household page's
//! warning while a "moved away" request holds its cards.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

async fn a_request(
    app: &TestApp,
    token: &str,
    household: &str,
    proposal: serde_json::Value,
) -> String {
    let made = app
        .post(
            "/v1/change-requests",
            token,
            json!({"household_id": household, "proposal": proposal, "submit": true,
                   "reason": "visited 2026-12-01"}),
        )
        .await
        .expect(201);
    made["id"].as_str().unwrap().to_string()
}

async fn the_office_decides_requests_on_its_pages(app: TestApp) {
    let author = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    let first = app.household_id(&author, DEMO_KKS[0]).await;
    let second = app.household_id(&author, DEMO_KKS[1]).await;
    let third = app.household_id(&author, DEMO_KKS[2]).await;
    let moved = a_request(
        &app,
        &author,
        &first,
        json!({"kind": "status", "status": "exited", "ground": "moved_away"}),
    )
    .await;
    let named = a_request(
        &app,
        &author,
        &second,
        json!({"kind": "data", "head_name": "Ahmad Fauzi Rahman"}),
    )
    .await;
    let suspended = a_request(
        &app,
        &author,
        &third,
        json!({"kind": "status", "status": "suspended", "ground": "other"}),
    )
    .await;

    // The household page warns that its cards are held.
    let mut checker = Browser::new(&app);
    checker.login("diskominfo").await;
    let page = checker.get(&format!("/households/{first}")).await;
    assert!(page.body.contains("id=\"cards-held\""), "{}", page.body);
    assert!(page.body.contains(&format!("/change-requests/{moved}")));

    // The queue: submitted requests, oldest first, each with its age and a box to tick.
    let queue = checker.get("/change-requests").await;
    assert_eq!(queue.status, StatusCode::OK);
    for id in [&moved, &named, &suspended] {
        assert!(
            queue.body.contains(&format!("name=\"approve-{id}\"")),
            "{}",
            queue.body
        );
    }
    assert!(queue.body.contains("0 hari"), "{}", queue.body);
    assert!(queue.body.contains("kartu ditahan"));
    // Filtered by kind.
    let data_only = checker
        .get("/change-requests?state=submitted&kind=data")
        .await;
    assert!(data_only.body.contains(&named) && !data_only.body.contains(&moved));
    // The author sees no boxes for their own requests.
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let own = office.get("/change-requests").await;
    assert!(!own.body.contains("name=\"approve-"), "{}", own.body);

    // Two approved at once.
    let csrf = queue.csrf();
    let approve_named = format!("approve-{named}");
    let approve_suspended = format!("approve-{suspended}");
    let done = checker
        .post(
            "/change-requests/approve",
            &[
                ("csrf", &csrf),
                (&approve_named, "on"),
                (&approve_suspended, "on"),
            ],
        )
        .await;
    let done = checker.follow(&done).await;
    assert!(
        done.body.contains("2 permohonan disetujui"),
        "{}",
        done.body
    );
    let household = app
        .get(&format!("/v1/households/{second}"), &author)
        .await
        .expect(200);
    assert_eq!(household["head_name"], "Ahmad Fauzi Rahman");
    let household = app
        .get(&format!("/v1/households/{third}"), &author)
        .await
        .expect(200);
    assert_eq!(household["status"], "suspended");
    // Reloading the result approves nothing more.
    let reloaded = checker.get("/change-requests").await;
    assert!(!reloaded.body.contains("disetujui dan diterapkan"));

    // The author may not approve their own request, even by posting the form.
    let path = format!("/change-requests/{moved}");
    let own = office.get(&path).await;
    assert!(own.body.contains("id=\"waits-for-other\"") && !own.body.contains("id=\"approve\""));
    let refused = office
        .post_refused(&format!("{path}/approve"), &[("csrf", &own.csrf())], &path)
        .await;
    assert!(
        refused.body.contains("selain pengajunya"),
        "{}",
        refused.body
    );

    // Returning needs a note, shown beside its own form.
    let request = checker.get(&path).await;
    assert!(request.body.contains("id=\"cards-held\""));
    let csrf = request.csrf();
    let blank = checker
        .post_refused(
            &format!("{path}/return"),
            &[("csrf", &csrf), ("note_return", " ")],
            &path,
        )
        .await;
    assert!(
        blank.body.contains("id=\"note_return-error\""),
        "{}",
        blank.body
    );
    let returned = checker
        .post(
            &format!("{path}/return"),
            &[("csrf", &csrf), ("note_return", "tanyakan ketua RT")],
        )
        .await;
    let returned = checker.follow(&returned).await;
    assert!(returned
        .body
        .contains("id=\"decision-note\">tanyakan ketua RT"));
    assert!(returned.body.contains("Dikembalikan untuk diperbaiki"));
    // Still held while returned; the author submits it again.
    let refused = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000501", DEMO_PANS[0], 1, "13500"),
        )
        .await
        .expect(200);
    assert_eq!(refused["response_code"], "78");
    let mine = office.get(&path).await;
    let again = office
        .post(&format!("{path}/submit"), &[("csrf", &mine.csrf())])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);

    // Rejected with why: the hold ends.
    let request = checker.get(&path).await;
    let rejected = checker
        .post(
            &format!("{path}/reject"),
            &[
                ("csrf", &request.csrf()),
                ("note_reject", "keluarga masih di rumah"),
            ],
        )
        .await;
    let rejected = checker.follow(&rejected).await;
    assert!(rejected.body.contains("id=\"request-state\">Ditolak"));
    let page = checker.get(&format!("/households/{first}")).await;
    assert!(!page.body.contains("id=\"cards-held\""));
    let bought = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00001", "000502", DEMO_PANS[0], 1, "13500"),
        )
        .await
        .expect(200);
    assert_eq!(bought["response_code"], "00");

    // An auditor reads requests but decides nothing; a typed address of no request is 404.
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    let read = auditor.get(&path).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains("id=\"reject\""));
    let forbidden = auditor
        .post(&format!("{path}/approve"), &[("csrf", &read.csrf())])
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let missing = checker
        .get("/change-requests/01939f3e-0000-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

on_both_backends!(the_office_decides_requests_on_its_pages);
