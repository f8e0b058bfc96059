//! The web application over HTTP, as a browser without JavaScript uses it: sessions, CSRF,
//! per-role menus, an operator kept to their own E-Warung, security headers, and the login
//! throttle shared with the API. (tests/browser.rs drives the same pages in Chromium.)

use reqwest::{header, Method, StatusCode};

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

async fn each_role_signs_in_and_sees_only_its_menu(app: TestApp) {
    for (username, menu) in ROLE_MENUS {
        let mut browser = Browser::new(&app);
        assert_eq!(
            browser.get("/").await.location(),
            "/login",
            "not signed in yet"
        );
        browser.login(username).await;
        let home = browser.get("/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert_eq!(home.menu(), menu, "{username}");
        assert!(home.body.contains("lang=\"id\""), "Indonesian first");
        assert!(home.body.contains("Masuk sebagai"));
        assert!(home
            .body
            .contains(&format!("id=\"signed-in-user\">{username}<")));
        // A page outside the role's menu is refused, with the request id on the page.
        if !menu.contains(&"/office") {
            let refused = browser.get("/office").await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{username}");
            let id = refused
                .headers
                .get("x-request-id")
                .unwrap()
                .to_str()
                .unwrap();
            assert!(refused.body.contains(id), "{}", refused.body);
        }
    }
}

async fn a_session_cookie_is_strict_http_only_and_new_at_every_login(app: TestApp) {
    let mut browser = Browser::new(&app);
    let form = browser.get("/login").await;
    let csrf = form.csrf();
    let done = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "dinsos"),
                ("password", "demo-office-pass"),
            ],
        )
        .await;
    let set = done
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("ssn_session="))
        .expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let first = browser.cookies["ssn_session"].clone();
    browser.login("dinsos").await;
    let second = browser.cookies["ssn_session"].clone();
    assert_ne!(first, second, "a login rotates the token");
    // The first token ended when the second login replaced it.
    let mut stale = Browser::new(&app);
    stale.cookies.insert("ssn_session".into(), first);
    assert_eq!(stale.get("/").await.location(), "/login");
}

async fn forms_without_the_sessions_csrf_token_are_refused(app: TestApp) {
    let mut browser = Browser::new(&app);
    browser.login("dinsos").await;
    let home = browser.get("/").await;
    for sent in ["", "not-the-token"] {
        let refused = browser.post("/logout", &[("csrf", sent)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("kedaluwarsa"), "{}", refused.body);
    }
    assert_eq!(
        browser.get("/").await.status,
        StatusCode::OK,
        "still signed in"
    );
    // The login form's token must come back in its cookie too.
    let mut other = Browser::new(&app);
    let form = other.get("/login").await;
    let csrf = form.csrf();
    other.cookies.clear();
    let refused = other
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "dinsos"),
                ("password", "demo-office-pass"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // With the token, logout ends the session on the server: the old cookie no longer works.
    let token = browser.cookies["ssn_session"].clone();
    let out = browser.post("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login");
    let mut replay = Browser::new(&app);
    replay.cookies.insert("ssn_session".into(), token);
    assert_eq!(replay.get("/").await.location(), "/login");
}

async fn an_operator_sees_only_their_own_ewarung(app: TestApp) {
    let mut own = Browser::new(&app);
    own.login("warung-berkah").await;
    let mine = own.get("/kiosk").await;
    assert_eq!(mine.status, StatusCode::SEE_OTHER);
    let own_page = mine.location().to_string();
    let page = own.get(&own_page).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("E-Warung Berkah"), "{}", page.body);
    let mut other = Browser::new(&app);
    other.login("warung-sejahtera").await;
    let theirs = other.get("/kiosk").await.location().to_string();
    assert_ne!(theirs, own_page);
    let refused = own.get(&theirs).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        !refused.body.contains("Sejahtera"),
        "nothing of the other kiosk shows"
    );
}

async fn pages_carry_the_security_headers(app: TestApp) {
    let mut browser = Browser::new(&app);
    for path in ["/login", "/static/app.css"] {
        let page = browser.get(path).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
    }
    let htmx = browser.get("/static/htmx.min.js").await;
    assert_eq!(htmx.status, StatusCode::OK);
    assert_eq!(htmx.headers[header::CONTENT_TYPE], "text/javascript");
    assert!(htmx.body.contains("htmx"));
    // No inline script anywhere: the policy would block it.
    browser.login("dinsos").await;
    for path in ["/", "/office", "/households?q=a"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains("<script>"), "{path}");
        assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    }
}

async fn web_and_api_logins_share_one_throttle(app: TestApp) {
    for _ in 0..5 {
        app.request(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(serde_json::json!({"username": "kaltimtara", "password": "wrong-password"})),
        )
        .await
        .expect(401);
    }
    let mut browser = Browser::new(&app);
    let refused = browser.login_as("kaltimtara", "demo-bank-pass").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Terlalu banyak percobaan gagal"));
    let wrong = Browser::new(&app).login_as("dinsos", "nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Nama pengguna atau kata sandi salah"));
}

async fn the_language_switch_is_remembered_for_the_user(app: TestApp) {
    let mut browser = Browser::new(&app);
    browser.login("auditor").await;
    let home = browser.get("/").await;
    let switched = browser
        .post("/locale", &[("csrf", &home.csrf()), ("locale", "en")])
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    let home = browser.get("/").await;
    assert!(
        home.body.contains("Signed in as") && home.body.contains("id=\"signed-in-user\">auditor<")
    );
    // A new session of the same user speaks English from the start.
    let mut later = Browser::new(&app);
    later.login("auditor").await;
    let page = later.get("/households").await;
    assert!(page.body.contains("lang=\"en\"") && page.body.contains("Find a household"));
    // Error pages too speak the user's language.
    let refused = later.get("/kiosk").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("You may not open this page."),
        "{}",
        refused.body
    );
}

async fn the_office_finds_households_and_reads_their_history(app: TestApp) {
    let token = app.login("dinsos").await;
    let listed = app.get("/v1/households?limit=1", &token).await.expect(200);
    let household = &listed["items"][0];
    let (kk, name) = (
        household["kk_number"].as_str().unwrap(),
        household["head_name"].as_str().unwrap(),
    );
    let mut browser = Browser::new(&app);
    browser.login("dinsos").await;
    let by_kk = browser.get(&format!("/households?q={kk}")).await;
    assert!(by_kk.body.contains(name), "{}", by_kk.body);
    let part: String = name
        .chars()
        .skip(1)
        .take(4)
        .collect::<String>()
        .to_uppercase();
    let by_name = browser
        .get(&format!("/households?q={}", part.replace(' ', "+")))
        .await;
    assert!(
        by_name.body.contains(kk),
        "a part of the name in any case finds it"
    );
    let none = browser.get("/households?q=zzzzqqq").await;
    assert!(none.body.contains("id=\"no-results\""));
    let id = household["id"].as_str().unwrap();
    let page = browser.get(&format!("/households/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(kk) && page.body.contains("id=\"revisions\""));
    assert!(page.body.contains("WITA"), "times are shown in WITA");
    let missing = browser
        .get("/households/0190a000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

on_both_backends!(
    each_role_signs_in_and_sees_only_its_menu,
    a_session_cookie_is_strict_http_only_and_new_at_every_login,
    forms_without_the_sessions_csrf_token_are_refused,
    an_operator_sees_only_their_own_ewarung,
    pages_carry_the_security_headers,
    web_and_api_logins_share_one_throttle,
    the_language_switch_is_remembered_for_the_user,
    the_office_finds_households_and_reads_their_history,
);

/// The form fields of a household, valid unless changed.
fn household_form<'a>(csrf: &'a str, kk: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("kk", kk),
        ("nik", "6472015501800042"),
        ("name", "Siti Aminah"),
        ("street", "Jl. Pangeran Antasari 12"),
        ("rt", "7"),
        ("rw", "3"),
        ("kelurahan", "Air Hitam"),
        ("kecamatan", "Samarinda Ulu"),
    ]
}

fn with<'a>(
    form: &[(&'a str, &'a str)],
    field: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    form.iter()
        .map(|(k, v)| if *k == field { (*k, value) } else { (*k, *v) })
        .collect()
}

async fn the_office_registers_a_household_issues_a_card_and_blocks_it(app: TestApp) {
    let mut browser = Browser::new(&app);
    browser.login("dinsos").await;
    let search = browser.get("/households").await;
    assert!(search.body.contains("href=\"/households/new\""));
    let form = browser.get("/households/new").await;
    let csrf = form.csrf();
    let kk = "6472019900000077";
    // Refused values are shown beside their fields, as typed, and nothing is stored.
    let bad = with(
        &with(&household_form(&csrf, kk), "kk", "12345"),
        "name",
        "  ",
    );
    let refused = browser.post("/households/new", &bad).await;
    let refused = browser.follow(&refused).await;
    assert!(
        refused
            .body
            .contains("id=\"kk-error\">Nomor KK harus tepat 16 angka."),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("id=\"name-error\">Wajib diisi."));
    assert!(
        refused.body.contains("value=\"12345\""),
        "the form keeps what was typed"
    );
    let token = app.login("dinsos").await;
    // Registered (the numbers typed in groups, as printed on the cards): the browser lands on
    // the household's page.
    let printed = with(
        &with(&household_form(&csrf, kk), "kk", "6472 0199 0000 0077"),
        "nik",
        "6472 0155 0180 0042",
    );
    let done = browser.post("/households/new", &printed).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page_path = done.location().to_string();
    let page = browser.get(&page_path).await;
    assert!(page.body.contains(kk) && page.body.contains("Siti Aminah"));
    assert!(
        page.body.contains("6472015501800042"),
        "the NIK stored as digits"
    );
    let found = browser.get("/households?q=6472+0199+0000+0077").await;
    assert!(
        found.body.contains(&page_path),
        "found by the number as printed"
    );
    assert!(page.body.contains("RT 007 / RW 003"));
    // The same KK again is refused beside the KK field.
    let again = browser
        .post("/households/new", &household_form(&csrf, kk))
        .await;
    let again = browser.follow(&again).await;
    assert!(again
        .body
        .contains("id=\"kk-error\">Nomor KK ini sudah terdaftar."));
    // A change needs a reason and becomes revision 2 with who and why.
    let edit = browser.get(&format!("{page_path}/edit")).await;
    let mut change = household_form(&csrf, kk);
    change.retain(|(k, _)| *k != "kk");
    change = with(&change, "street", "Jl. Juanda 4");
    change.push(("revision", "1"));
    let no_reason = browser.post(&format!("{page_path}/edit"), &change).await;
    let no_reason = browser.follow(&no_reason).await;
    assert!(no_reason.body.contains("id=\"reason-error\""));
    assert!(edit.body.contains("name=\"revision\" value=\"1\""));
    change.push(("reason", "pindah rumah, dicek RT 007"));
    let changed = browser.post(&format!("{page_path}/edit"), &change).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    // A change request: nothing changes until a second office user approves it.
    assert!(changed.location().starts_with("/change-requests/"));
    let waiting = browser.get(&page_path).await;
    assert!(!waiting.body.contains("Jl. Juanda 4"));
    assert!(waiting.body.contains("id=\"request-list\""));
    approve_written(&app, &mut browser, &changed).await;
    let page = browser.get(&page_path).await;
    assert!(page.body.contains("Jl. Juanda 4") && page.body.contains("pindah rumah, dicek RT 007"));
    assert!(
        page.body
            .contains("<td data-label=\"Oleh\">diskominfo</td>"),
        "the revision names who approved it: {}",
        page.body
    );
    // A second change against revision 1 is stale.
    let stale = browser.post(&format!("{page_path}/edit"), &change).await;
    let stale = browser.follow(&stale).await;
    assert!(stale.body.contains("sudah diubah orang lain"));

    // Issue a card: the PIN typed twice must agree.
    assert!(page.body.contains("id=\"issue-card\""));
    let issue_path = format!("{page_path}/cards");
    let form_path = format!("{page_path}/cards/new");
    let differ = browser
        .post_refused(
            &issue_path,
            &[("csrf", &csrf), ("pin", "135790"), ("pin_again", "135791")],
            &form_path,
        )
        .await;
    assert!(differ
        .body
        .contains("id=\"pin_again-error\">Kedua PIN tidak sama."));
    assert!(!differ.body.contains("135790"), "a PIN is never kept");
    let issued = browser
        .post(
            &issue_path,
            &[("csrf", &csrf), ("pin", "135790"), ("pin_again", "135790")],
        )
        .await;
    assert!(
        issued.location().ends_with("/letter"),
        "{}",
        issued.location()
    );
    let letter = browser.follow(&issued).await;
    assert_eq!(letter.status, StatusCode::OK, "{}", letter.body);
    assert_eq!(letter.headers[header::CACHE_CONTROL], "no-store");
    let at = letter.body.find("id=\"card-number\">").unwrap() + "id=\"card-number\">".len();
    let number: String = letter.body[at..at + 19]
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(number.len(), 16, "{}", &letter.body[at..at + 19]);
    // The letter tells the household where to check its balance, on this server's address.
    let saldo = between(&letter.body, "id=\"card-letter-saldo\">", "</p>");
    let host = app.base.trim_start_matches("http://");
    assert!(saldo.contains(&format!("http://{host}/saldo")), "{saldo}");
    // The number is the card's: the API finds it, and the household page shows only its end.
    let found = app
        .post(
            "/v1/cards/lookup",
            &token,
            serde_json::json!({"pan": number}),
        )
        .await
        .expect(200);
    let card_id = found["id"].as_str().unwrap().to_string();
    let page = browser.get(&page_path).await;
    assert!(page.body.contains(&format!("•••• {}", &number[12..])));
    assert!(
        !page.body.contains(&number),
        "the full number is shown once only"
    );
    assert!(
        !page.body.contains("id=\"issue-card\""),
        "one live card per household"
    );

    // Blocking asks for confirmation and a reason first.
    let confirm = browser.get(&format!("/cards/{card_id}/block")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains(&number[12..]) && confirm.body.contains("Ya, lanjutkan"));
    let no_reason = browser
        .post_refused(
            &format!("/cards/{card_id}/block"),
            &[("csrf", &csrf), ("reason", "")],
            &format!("/cards/{card_id}/block"),
        )
        .await;
    assert!(
        no_reason.body.contains("id=\"reason-error\""),
        "{}",
        no_reason.body
    );
    let blocked = browser
        .post(
            &format!("/cards/{card_id}/block"),
            &[
                ("csrf", &csrf),
                ("seen_status", "active"),
                ("reason", "kartu dilaporkan dipinjam tetangga"),
            ],
        )
        .await;
    assert_eq!(blocked.status, StatusCode::SEE_OTHER);
    let card = app
        .get(&format!("/v1/cards/{card_id}"), &token)
        .await
        .expect(200);
    assert_eq!(card["status"], "blocked");

    // An auditor reads the same page without a single action, and cannot post one.
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    let read = auditor.get(&page_path).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        !read.body.contains("/edit") && !read.body.contains("/cards/"),
        "{}",
        read.body
    );
    let auditor_csrf = auditor.get("/").await.csrf();
    let refused = auditor
        .post(
            &format!("/cards/{card_id}/unblock"),
            &[("csrf", &auditor_csrf), ("reason", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let card = app
        .get(&format!("/v1/cards/{card_id}"), &token)
        .await
        .expect(200);
    assert_eq!(card["status"], "blocked", "nothing changed");
}

on_both_backends!(the_office_registers_a_household_issues_a_card_and_blocks_it);

async fn one_office_user_uploads_quota_and_another_approves_it(app: TestApp) {
    let token = app.login("dinsos").await;
    let listed = app.get("/v1/households?limit=2", &token).await.expect(200);
    let kk = listed["items"][0]["kk_number"]
        .as_str()
        .unwrap()
        .to_string();
    let household = listed["items"][0]["id"].as_str().unwrap().to_string();
    let mut maker = Browser::new(&app);
    maker.login("dinsos").await;
    let list = maker.get("/quota").await;
    assert!(list.body.contains("enctype=\"multipart/form-data\""));
    let csrf = list.csrf();
    // A file with a bad line: the report lists it, and the CSV download has every error.
    let bad = format!(
        "period,program_code,kk_number,amount_idr\n2099-03,SSN-SEMBAKO,{kk},200000\n2099-03,SSN-SEMBAKO,12345,100000\n"
    );
    let uploaded = maker.upload("/quota", &csrf, "maret-salah.csv", &bad).await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let report = maker.get(uploaded.location()).await;
    assert!(report.body.contains("Tidak sah"), "{}", report.body);
    assert!(
        report.body.contains("<td data-label=\"Baris\">3</td>"),
        "{}",
        report.body
    );
    assert!(
        !report.body.contains("id=\"review-approval\""),
        "an invalid batch cannot be approved"
    );
    let csv = maker
        .get(&format!("{}/errors.csv", uploaded.location()))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert!(
        csv.body
            .starts_with("line_no,field,code,message\n3,kk_number,"),
        "{}",
        csv.body
    );
    // Without the CSRF token nothing is uploaded.
    let forged = maker.upload("/quota", "forged", "x.csv", &bad).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The good file validates; its uploader may not approve it.
    let good =
        format!("period,program_code,kk_number,amount_idr\n2099-03,SSN-SEMBAKO,{kk},200000\n");
    let uploaded = maker.upload("/quota", &csrf, "maret.csv", &good).await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let batch_path = uploaded.location().to_string();
    let report = maker.get(&batch_path).await;
    assert!(
        report.body.contains("Sah, menunggu persetujuan"),
        "{}",
        report.body
    );
    assert!(report.body.contains("Rp 200.000"));
    let own = maker
        .post_refused(
            &format!("{batch_path}/approve"),
            &[("csrf", &csrf)],
            &format!("{batch_path}/approve"),
        )
        .await;
    assert!(own.body.contains("pengguna dinas lain"), "{}", own.body);
    // Another office user sees what will be posted, then approves.
    let mut checker = Browser::new(&app);
    checker.login("diskominfo").await;
    let confirm = checker.get(&format!("{batch_path}/approve")).await;
    assert!(confirm.body.contains("id=\"approve\"") && confirm.body.contains("Dimuat"));
    let checker_csrf = confirm.csrf();
    let approved = checker
        .post(&format!("{batch_path}/approve"), &[("csrf", &checker_csrf)])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    assert!(checker.get(&batch_path).await.body.contains("Sudah dimuat"));
    let page = checker.get(&format!("/households/{household}")).await;
    assert!(page.body.contains("id=\"balances\""), "{}", page.body);
    // Approving again (Back to the confirmation, send) is refused in words on the batch's
    // page, and nothing is posted twice.
    let again = checker
        .post_refused(
            &format!("{batch_path}/approve"),
            &[("csrf", &checker_csrf)],
            &batch_path,
        )
        .await;
    assert!(
        again
            .body
            .contains("id=\"approve-error\">Batch ini sudah disetujui dan dibukukan."),
        "{}",
        again.body
    );
    assert!(
        !checker
            .get(&batch_path)
            .await
            .body
            .contains("approve-error"),
        "shown once"
    );
    let batch = app
        .get(
            &format!(
                "/v1/quota/batches/{}",
                batch_path.trim_start_matches("/quota/")
            ),
            &token,
        )
        .await
        .expect(200);
    assert_eq!(batch["batch"]["status"], "posted");
}

on_both_backends!(one_office_user_uploads_quota_and_another_approves_it);

async fn the_bank_closes_reconciles_resolves_settles_and_downloads_the_payout(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let a = app
        .buy(&operator, "SMD00001", "000001", DEMO_PANS[0], 5)
        .await; // 67,500
    let b = app
        .buy(&operator, "SMD00002", "000001", DEMO_PANS[1], 2)
        .await; // 27,000
                // The purchase appears on the operator's own page, with its answer in words.
    let mut kiosk = Browser::new(&app);
    kiosk.login("warung-berkah").await;
    let own = kiosk.get("/kiosk").await.location().to_string();
    let page = kiosk.get(&own).await;
    assert!(
        page.body.contains("SMD00001") && page.body.contains("Rp 67.500"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Disetujui · Selesai"), "{}", page.body);
    // Today's total comes first.
    let total = between(&page.body, "id=\"today-total\">", "</p>");
    assert!(
        total.contains("Rp 94.500") && total.contains("dari 2 pembelian"),
        "{total}"
    );
    assert!(page.body.find("id=\"today-total\"") < page.body.find("id=\"sales\""));

    let date = today();
    let mut bank = Browser::new(&app);
    bank.login("kaltimtara").await;
    let day = bank.get(&format!("/bank?date={date}")).await;
    assert!(day.body.contains("id=\"close-day\""), "{}", day.body);
    let csrf = day.csrf();
    // Closing cannot be undone: it asks first, naming the date in words.
    let confirm = bank.get(&format!("/bank/{date}/close")).await;
    assert!(
        confirm.body.contains("id=\"confirm-close\""),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("tidak dapat dibatalkan"));
    let closed = bank
        .post(&format!("/bank/{date}/close"), &[("csrf", &csrf)])
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    let day = bank.get(&format!("/bank?date={date}")).await;
    assert!(
        day.body.contains("Rp 94.500"),
        "the close report: {}",
        day.body
    );
    assert!(!day.body.contains("id=\"close-day\""));
    // The bank's file: one sale matches, one differs in amount, one line is unknown to the host.
    let file = format!(
        "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\n\
         {date},SMD00001,000001,{},{},67500,SALE\n{date},SMD00002,000001,{},{},27500,SALE\n\
         {date},SMD00002,000777,999999999999,ABC123,10000,SALE\n",
        a["rrn"].as_str().unwrap(),
        a["approval_code"].as_str().unwrap(),
        b["rrn"].as_str().unwrap(),
        b["approval_code"].as_str().unwrap(),
    );
    let uploaded = bank
        .upload(&format!("/bank/{date}/recon"), &csrf, "bank.csv", &file)
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let run_path = uploaded.location().to_string();
    let run = bank.get(&run_path).await;
    assert!(
        run.body.contains("Nilai berbeda") && run.body.contains("Hanya di bank"),
        "{}",
        run.body
    );
    assert!(
        run.body.contains("id=\"open-exceptions\">2<"),
        "{}",
        run.body
    );
    // Filters: only the bank-only line.
    let filtered = bank
        .get(&format!("{run_path}?category=bank_only&open=1"))
        .await;
    assert_eq!(
        filtered.body.matches("/resolve\"").count(),
        1,
        "{}",
        filtered.body
    );
    let at = filtered.body.find("/bank/exceptions/").unwrap() + "/bank/exceptions/".len();
    let exception = filtered.body[at..at + 36].to_string();
    // Too short a reason: back to the queue, the error beside that exception's reason, the
    // text kept; nothing resolved.
    let run_id = run_path.trim_start_matches("/bank/runs/").to_string();
    let short = bank
        .post(
            &format!("/bank/exceptions/{exception}/resolve"),
            &[("csrf", &csrf), ("run", &run_id), ("reason", "ok")],
        )
        .await;
    assert_eq!(short.location(), format!("{run_path}?open=1"));
    let queue = bank.follow(&short).await;
    assert!(
        queue.body.contains(&format!(
            "id=\"reason-{exception}-error\">Tuliskan alasan penyelesaian, 5 sampai 500"
        )),
        "{}",
        queue.body
    );
    assert!(queue.body.contains("value=\"ok\""));
    assert!(
        queue.body.contains("id=\"open-exceptions\">2<"),
        "{}",
        queue.body
    );
    let resolved = bank
        .post(
            &format!("/bank/exceptions/{exception}/resolve"),
            &[
                ("csrf", &csrf),
                ("reason", "bank confirmed a test line, no money moved"),
            ],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.body);
    let run = bank.get(&run_path).await;
    assert!(run.body.contains("id=\"open-exceptions\">1<"));
    assert!(run
        .body
        .contains("bank confirmed a test line, no money moved"));
    // Two of three lines match nothing: the run waits for a second bank user. Its uploader
    // sees why and what it would change, and no buttons; settling meanwhile posts nothing.
    assert!(
        run.body
            .contains("id=\"review-status\">Menunggu konfirmasi"),
        "{}",
        run.body
    );
    assert!(run.body.contains("Lebih dari 10% baris berkas tidak cocok"));
    assert!(run.body.contains("id=\"review-waits\"") && !run.body.contains("id=\"review-form\""));
    let early = bank
        .post(&format!("/bank/{date}/settle"), &[("csrf", &csrf)])
        .await;
    let day = bank.follow(&early).await;
    assert!(
        day.body
            .contains("masih menunggu konfirmasi pengguna bank lain"),
        "{}",
        day.body
    );
    assert!(
        day.body.contains("Menunggu konfirmasi"),
        "the run list says so: {}",
        day.body
    );
    let mut checker = Browser::new(&app);
    checker.login("kaltimtara-2").await;
    let review = checker.get(&run_path).await;
    let preview = between(&review.body, "id=\"review-preview\"", "</table>");
    assert!(
        preview.contains("E-Warung Berkah") && preview.contains("Rp 67.500"),
        "{preview}"
    );
    let checker_csrf = review.csrf();
    let digest = between(&review.body, "name=\"digest\" value=\"", "\"");
    // Rejecting needs a reason: the error beside the note, what was typed kept.
    let short = checker
        .post(
            &format!("{run_path}/reject"),
            &[("csrf", &checker_csrf), ("digest", &digest), ("note", "no")],
        )
        .await;
    assert_eq!(short.location(), run_path);
    let again = checker.follow(&short).await;
    assert!(
        again.body.contains("Tuliskan alasan, 5 sampai 500"),
        "{}",
        again.body
    );
    assert!(again.body.contains(">no</textarea>"), "{}", again.body);
    // Figures seen on an older page: refused, the new figures shown.
    let stale = checker
        .post(
            &format!("{run_path}/confirm"),
            &[("csrf", &checker_csrf), ("digest", "stale"), ("note", "")],
        )
        .await;
    let again = checker.follow(&stale).await;
    assert!(
        again.body.contains("Angka settlement berubah"),
        "{}",
        again.body
    );
    let confirmed = checker
        .post(
            &format!("{run_path}/confirm"),
            &[
                ("csrf", &checker_csrf),
                ("digest", &digest),
                ("note", "checked with the bank"),
            ],
        )
        .await;
    assert_eq!(confirmed.location(), run_path);
    let run = checker.follow(&confirmed).await;
    assert!(
        run.body.contains("Dikonfirmasi pengguna bank kedua"),
        "{}",
        run.body
    );
    assert!(run.body.contains("checked with the bank"));
    assert!(!run.body.contains("id=\"review-form\""), "decided once");
    // A second press of the same button (Back, then submit again) changes nothing.
    let twice = checker
        .post(
            &format!("{run_path}/confirm"),
            &[("csrf", &checker_csrf), ("digest", &digest), ("note", "")],
        )
        .await;
    let again = checker.follow(&twice).await;
    assert!(
        again.body.contains("tidak (lagi) menunggu konfirmasi"),
        "{}",
        again.body
    );
    // Settling asks first, then posts what the run matched.
    let confirm = bank.get(&format!("/bank/{date}/settle")).await;
    assert!(confirm.body.contains("id=\"confirm-settle\""));
    let settled = bank
        .post(&format!("/bank/{date}/settle"), &[("csrf", &csrf)])
        .await;
    assert_eq!(settled.status, StatusCode::SEE_OTHER, "{}", settled.body);
    let day = bank.get(&format!("/bank?date={date}")).await;
    assert!(
        day.body.contains("id=\"settlement\"") && day.body.contains("id=\"payout\""),
        "{}",
        day.body
    );
    let payout = bank.get(&format!("/bank/{date}/payout.csv")).await;
    assert_eq!(payout.status, StatusCode::OK);
    assert!(payout.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("payout-"));
    assert!(payout.body.lines().count() >= 2, "{}", payout.body);
    assert!(payout.body.contains("E-Warung Berkah"), "{}", payout.body);
    // The operator's statement for the date: what was paid, and both exceptions on its
    // terminals (the amount that differs, still open; the bank-only line, resolved, and why).
    let statement = kiosk.get(&format!("{own}?date={date}")).await;
    assert!(
        statement.body.contains("id=\"statement\""),
        "{}",
        statement.body
    );
    let exceptions = between(&statement.body, "id=\"exceptions\"", "</table>");
    assert!(
        exceptions.contains("Nilai berbeda") && exceptions.contains("SMD00002 / 000001"),
        "{exceptions}"
    );
    assert!(
        exceptions.contains("Rp 27.500") && exceptions.contains("Belum diselesaikan oleh bank")
    );
    assert!(exceptions.contains("bank confirmed a test line, no money moved"));
    // Another E-Warung's operator sees none of them.
    let mut other = Browser::new(&app);
    other.login("warung-sejahtera").await;
    let theirs = other.get("/kiosk").await.location().to_string();
    let theirs = other.get(&format!("{theirs}?date={date}")).await;
    assert!(
        theirs.body.contains("id=\"no-exceptions\""),
        "{}",
        theirs.body
    );
    // The API filters the same way.
    let bank_token = app.login("kaltimtara").await;
    let run_id = run_path.rsplit('/').next().unwrap();
    let berkah = app.ewarung_id(&bank_token, "E-Warung Berkah").await;
    let sejahtera = app.ewarung_id(&bank_token, "E-Warung Sejahtera").await;
    for (ewarung, count) in [(berkah, 2), (sejahtera, 0)] {
        let listed = app
            .get(
                &format!("/v1/recon/runs/{run_id}/exceptions?ewarung_id={ewarung}"),
                &bank_token,
            )
            .await
            .expect(200);
        assert_eq!(listed["items"].as_array().unwrap().len(), count, "{listed}");
    }
    // An operator may not close, settle or resolve.
    let operator_csrf = kiosk.get("/").await.csrf();
    let refused = kiosk
        .post(&format!("/bank/{date}/settle"), &[("csrf", &operator_csrf)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.assert_ledger_clean().await;
}

on_both_backends!(the_bank_closes_reconciles_resolves_settles_and_downloads_the_payout);

async fn the_admin_creates_disables_and_changes_users(app: TestApp) {
    let token = app.login("admin").await;
    let berkah = app.ewarung_id(&token, "E-Warung Berkah").await;
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let page = admin.get("/users").await;
    assert!(page.body.contains("dinsos") && page.body.contains("warung-berkah"));
    let csrf = page.csrf();
    // An operator without an E-Warung, a weak password, a password typed differently.
    let refused = admin
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "Bad Name"),
                ("password", "short"),
                ("password_again", "other"),
                ("role", "operator"),
                ("ewarung", ""),
            ],
        )
        .await;
    let refused = admin.follow(&refused).await;
    for field in ["username-error", "password-error", "ewarung-error"] {
        assert!(refused.body.contains(field), "{field}: {}", refused.body);
    }
    let password = "kasir-baru-2026!";
    let created = admin
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "kasir.berkah"),
                ("password", password),
                ("password_again", password),
                ("role", "operator"),
                ("ewarung", &berkah),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let user_path = created.location().to_string();
    // The new operator signs in and sees their kiosk.
    let mut cashier = Browser::new(&app);
    assert_eq!(
        cashier.login_as("kasir.berkah", password).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(cashier.get("/").await.menu(), ["/", "/kiosk"]);
    // Disabling ends the session at once, and the next login is refused.
    let disabled = admin
        .post(&format!("{user_path}/disable"), &[("csrf", &csrf)])
        .await;
    let disabled = admin.follow(&disabled).await;
    assert!(disabled.body.contains("id=\"done\""));
    assert!(
        !admin.get(&user_path).await.body.contains("id=\"done\""),
        "said once"
    );
    assert_eq!(cashier.get("/").await.location(), "/login");
    let again = Browser::new(&app).login_as("kasir.berkah", password).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    app.request(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(serde_json::json!({"username": "kasir.berkah", "password": password})),
    )
    .await
    .expect(401);
    // Enabled again with a new password and a new role: the new role applies at the next login.
    admin
        .post(&format!("{user_path}/enable"), &[("csrf", &csrf)])
        .await;
    let fresh = "kasir-lagi-2026!";
    let reset = admin
        .post(
            &format!("{user_path}/password"),
            &[
                ("csrf", &csrf),
                ("password", fresh),
                ("password_again", fresh),
            ],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    let changed = admin
        .post(
            &format!("{user_path}/role"),
            &[("csrf", &csrf), ("role", "auditor"), ("ewarung", "")],
        )
        .await;
    let changed = admin.follow(&changed).await;
    assert!(
        changed.body.contains("id=\"user-role\">Auditor<"),
        "{}",
        changed.body
    );
    let mut auditor = Browser::new(&app);
    assert_eq!(
        auditor.login_as("kasir.berkah", fresh).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(auditor
        .get("/")
        .await
        .menu()
        .contains(&"/audit".to_string()));
    // The admin cannot disable themselves; nobody else may open this page.
    let own_id = app.get("/v1/users?limit=500", &token).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = admin
        .post(&format!("/users/{own_id}/disable"), &[("csrf", &csrf)])
        .await;
    let own = admin.follow(&own).await;
    assert!(own.body.contains("id=\"form-error\""), "{}", own.body);
    // The auditor (the changed user, now) reads the users but may change none of them.
    let read = auditor.get("/users").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        !read.body.contains("action=\"/users\""),
        "no form for a reader"
    );
    let auditor_csrf = read.csrf();
    let refused = auditor
        .post(&format!("{user_path}/disable"), &[("csrf", &auditor_csrf)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Every change is in the audit trail, which the office reads with filters.
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let trail = office.get("/audit?actor=admin&subject_type=user").await;
    for action in [
        "user.create",
        "user.disable",
        "user.enable",
        "user.password_reset",
        "user.role_change",
    ] {
        assert!(trail.body.contains(action), "{action}: {}", trail.body);
    }
    let none = office.get("/audit?actor=nobody").await;
    assert!(none.body.contains("id=\"no-entries\""));
    let check = office.get("/audit/ledger").await;
    let verified = office
        .post("/audit/ledger", &[("csrf", &check.csrf())])
        .await;
    assert!(
        verified.body.contains("id=\"ledger-clean\""),
        "{}",
        verified.body
    );
}

on_both_backends!(the_admin_creates_disables_and_changes_users);

async fn an_operator_voids_todays_purchase_and_reads_holds_terminals_and_catalog(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    // Approved, not completed: a hold.
    let held = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00002", "000031", DEMO_PANS[3], 2, "13000"),
        )
        .await
        .expect(200);
    assert_eq!(held["response_code"], "00");
    let before = app.balance(&operator, "SMD00002", DEMO_PANS[3]).await;
    let mut kiosk = Browser::new(&app);
    kiosk.login("warung-berkah").await;
    let own = kiosk.get("/kiosk").await.location().to_string();
    // A wrong PIN is declined, and says so in words.
    let mut wrong_pin = purchase("SMD00001", "000032", DEMO_PANS[2], 1, "13000");
    wrong_pin["pin"] = serde_json::json!("000000");
    app.post("/v1/redemptions/authorize", &operator, wrong_pin)
        .await
        .expect(200);
    let page = kiosk.get(&own).await;
    assert!(page.body.contains("id=\"holds\""), "{}", page.body);
    assert!(page.body.contains("SMD00002 / 000031") && page.body.contains("Rp 26.000"));
    // What refreshes every 30 s (htmx selects #today) holds the sales, the holds and the
    // latest requests.
    let refreshed = between(&page.body, "<div id=\"today\"", "</div>");
    assert!(refreshed.contains("hx-trigger=\"every 30s\""));
    assert!(
        !refreshed.contains("id=\"today-total\""),
        "no total without sales"
    );
    for table in ["id=\"no-sales\"", "id=\"holds\"", "id=\"recent\""] {
        assert!(refreshed.contains(table), "{table} refreshes: {refreshed}");
    }
    // The hold is listed once, in the holds (not again among the latest requests).
    assert_eq!(
        page.body.matches("SMD00002 / 000031").count(),
        1,
        "{}",
        page.body
    );
    let recent = between(&page.body, "id=\"recent\"", "</table>");
    assert!(recent.contains("Ditolak: PIN salah"), "{recent}");
    // The catalog is folded away, by program.
    let catalog = between(&page.body, "<details id=\"catalog-section\">", "</details>");
    assert!(
        catalog.contains("(SSN-SEMBAKO)") && catalog.contains("BERAS-MEDIUM"),
        "{catalog}"
    );
    assert!(
        page.body.contains("Rp 14.000"),
        "the rice price cap: {}",
        page.body
    );
    assert!(page.body.contains("id=\"terminals\"") && page.body.contains("WITA"));
    // Voiding asks first, then answers with the terminal's response code in words.
    let at = page
        .body
        .find("/void?")
        .expect("a void link for today's hold");
    let link = page.body[..at]
        .rfind('"')
        .map(|start| &page.body[start + 1..])
        .unwrap();
    let link = link[..link.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(link.contains("stan=000031"), "{link}");
    let confirm = kiosk.get(&link).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let csrf = confirm.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("terminal", "SMD00002"),
        ("stan", "000031"),
        ("date", &today()),
    ];
    // Another E-Warung's operator cannot void it.
    let mut other = Browser::new(&app);
    other.login("warung-sejahtera").await;
    let other_csrf = other.get("/").await.csrf();
    let mut foreign = form;
    foreign[0] = ("csrf", other_csrf.as_str());
    let refused = other.post(&format!("{own}/void"), &foreign).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let voided = kiosk.post(&format!("{own}/void"), &form).await;
    assert_eq!(voided.status, StatusCode::SEE_OTHER, "{}", voided.body);
    assert!(
        voided.location().ends_with("answer=00"),
        "{}",
        voided.location()
    );
    let page = kiosk.get(voided.location()).await;
    assert!(page.body.contains("id=\"void-answer\"") && page.body.contains("00 · Disetujui"));
    assert!(
        page.body.contains("Disetujui · Dibatalkan"),
        "the void among the latest requests"
    );
    assert!(page.body.contains("id=\"no-holds\""), "the hold is gone");
    let after = app.balance(&operator, "SMD00002", DEMO_PANS[3]).await;
    assert_ne!(before, after, "the held amount is back on the card");
    // Voiding again answers with a code, and moves nothing.
    let again = kiosk.post(&format!("{own}/void"), &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.balance(&operator, "SMD00002", DEMO_PANS[3]).await,
        after
    );
    app.assert_ledger_clean().await;
}

on_both_backends!(an_operator_voids_todays_purchase_and_reads_holds_terminals_and_catalog);

async fn the_admin_registers_an_ewarung_and_provisions_its_terminal(app: TestApp) {
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let page = admin.get("/ewarungs").await;
    assert!(page.body.contains("E-Warung Berkah"));
    let csrf = page.csrf();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("name", "E-Warung Mawar"),
        ("owner", "Ibu Rina"),
        ("street", "Jl. Kadrie Oening 7"),
        ("rt", "4"),
        ("rw", "2"),
        ("kelurahan", "Air Putih"),
        ("kecamatan", "Samarinda Ulu"),
        ("bank_code", "12"),
        ("account_number", "0012345678"),
        ("account_holder", "Rina Wati"),
    ];
    let refused = admin.post("/ewarungs", &form).await;
    let refused = admin.follow(&refused).await;
    assert!(
        refused.body.contains("id=\"bank_code-error\""),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"E-Warung Mawar\""),
        "kept as typed"
    );
    form[8] = ("bank_code", "124");
    let created = admin.post("/ewarungs", &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let ewarung_path = created.location().to_string();
    // A terminal: its PIN key is shown this once, with the check value the API keeps.
    let bad = admin
        .post(
            &format!("{ewarung_path}/terminals"),
            &[("csrf", &csrf), ("terminal_id", "SMD"), ("serial", "PAX-1")],
        )
        .await;
    let bad = admin.follow(&bad).await;
    assert!(bad.body.contains("id=\"terminal_id-error\""));
    let added = admin
        .post(
            &format!("{ewarung_path}/terminals"),
            &[
                ("csrf", &csrf),
                ("terminal_id", "SMD00077"),
                ("serial", "PAX-A920-0077"),
            ],
        )
        .await;
    // Post/redirect/get: the key shows on the E-Warung's page the add leads to, that once.
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), ewarung_path);
    let added = admin.follow(&added).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let key = shown_key(&added.body);
    let check = between(&added.body, "id=\"check-value\">", "<");
    assert_eq!(key.len(), 32, "{key}");
    // In eight groups of four that a phone never breaks inside.
    let shown = between(&added.body, "id=\"pin-key\">", "</dd>");
    assert_eq!(
        shown.matches("<span class=\"group\">").count(),
        8,
        "{shown}"
    );
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = app.login("admin").await;
    let terminal = app.get("/v1/terminals/SMD00077", &token).await.expect(200);
    assert_eq!(terminal["pin_key_check_value"], check.as_str());
    // Shown once: the page, read again (a reload, Back), has the check value but not the key.
    let again = admin.get(&ewarung_path).await;
    assert!(again.body.contains(&check) && !again.body.contains(&key));
    assert!(!again.body.contains("id=\"pin-key\""));
    // Rotating asks first (the old key stops at once), then gives a new key; the API's check
    // value follows.
    let confirm = admin
        .get(&format!("{ewarung_path}/terminals/SMD00077/pin-key"))
        .await;
    assert!(
        confirm.body.contains("id=\"confirm-rotate\""),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("Kunci lama langsung tidak berlaku"));
    let rotated = admin
        .post(
            &format!("{ewarung_path}/terminals/SMD00077/pin-key"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER);
    let rotated = admin.follow(&rotated).await;
    let new_key = shown_key(&rotated.body);
    assert_ne!(new_key, key);
    let new_check = between(&rotated.body, "id=\"check-value\">", "<");
    let terminal = app.get("/v1/terminals/SMD00077", &token).await.expect(200);
    assert_eq!(terminal["pin_key_check_value"], new_check.as_str());
    // A reload of the page after the rotation neither shows the key again nor rotates it.
    let reloaded = admin.get(&ewarung_path).await;
    assert!(!reloaded.body.contains(&new_key));
    let terminal = app.get("/v1/terminals/SMD00077", &token).await.expect(200);
    assert_eq!(terminal["pin_key_check_value"], new_check.as_str());
    // A terminal of another E-Warung cannot be rotated through this one.
    let foreign = admin
        .post(
            &format!("{ewarung_path}/terminals/SMD00001/pin-key"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    // An operator may not open these pages.
    let mut operator = Browser::new(&app);
    operator.login("warung-berkah").await;
    assert_eq!(
        operator.get("/ewarungs").await.status,
        StatusCode::FORBIDDEN
    );
}

on_both_backends!(the_admin_registers_an_ewarung_and_provisions_its_terminal);

async fn the_office_expires_old_quota_after_confirming(app: TestApp) {
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let list = office.get("/quota").await;
    assert!(list.body.contains("action=\"/quota/expire\""));
    // Far enough ahead that the demo's month is past every carry-over.
    let review = office.get("/quota/expire?as_of=2100-01-01").await;
    assert_eq!(review.status, StatusCode::OK);
    assert!(review.body.contains("id=\"confirm-expire\""));
    // A date that is none returns to the quota page, the error beside the field, the text kept.
    let bad = office.get("/quota/expire?as_of=soon").await;
    assert_eq!(bad.location(), "/quota");
    let back = office.follow(&bad).await;
    assert!(back.body.contains("id=\"as_of-error\""), "{}", back.body);
    assert!(back.body.contains("value=\"soon\""));
    // Typed the Indonesian way, it is read.
    let typed = office.get("/quota/expire?as_of=1-1-2100").await;
    assert!(typed.body.contains("1 Jan 2100"), "{}", typed.body);
    let csrf = review.csrf();
    let done = office
        .post("/quota/expire", &[("csrf", &csrf), ("as_of", "2100-01-01")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("Rp 1.000.000"),
        "five households' 200,000: {}",
        done.body
    );
    assert_eq!(done.body.matches("/households/").count(), 5);
    let again = office
        .post("/quota/expire", &[("csrf", &csrf), ("as_of", "2100-01-01")])
        .await;
    assert!(again.body.contains("Rp 0") && again.body.contains("Tidak ada saldo"));
    app.assert_ledger_clean().await;
}

on_both_backends!(the_office_expires_old_quota_after_confirming);

async fn the_month_overview_counts_what_the_month_holds_and_what_will_expire(app: TestApp) {
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let page = office.get("/office").await;
    assert_eq!(page.status, StatusCode::OK);
    // The demo loads 200,000 for each of five households this month.
    assert!(
        page.body.contains("id=\"loaded\">Rp 1.000.000<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"left\">Rp 1.000.000<"));
    // The same figure `POST /v1/quota/expire` gives as of next month's first day.
    let next = chrono::NaiveDate::parse_from_str(&format!("{}-01", &today()[..7]), "%Y-%m-%d")
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    let token = app.login("dinsos").await;
    let expected = ssn::model::quota::expiry_cutoff(next, 0);
    let programs = app.get("/v1/programs", &token).await.expect(200);
    let carry = programs[0]["carry_over_months"].as_i64().unwrap_or(0);
    let expiring = if carry == 0 { "Rp 1.000.000" } else { "Rp 0" };
    assert!(
        page.body.contains(&format!("id=\"expiring\">{expiring}<")),
        "carry-over {carry}, cut-off {expected}: {}",
        page.body
    );
    // Credits of an old period are past every carry-over: they show as expiring.
    let kk = app.get("/v1/households?limit=1", &token).await.expect(200)["items"][0]["kk_number"]
        .as_str()
        .unwrap()
        .to_string();
    let uploaded = app
        .raw(
            Method::POST,
            "/v1/quota/batches?source_name=lama.csv",
            Some(&token),
            Some("text/csv"),
            Some(
                format!(
                    "period,program_code,kk_number,amount_idr\n2020-01,SSN-SEMBAKO,{kk},50000\n"
                )
                .into_bytes(),
            ),
        )
        .await
        .expect(201);
    let checker = app.login("diskominfo").await;
    app.post(
        &format!(
            "/v1/quota/batches/{}/approve",
            uploaded["batch"]["id"].as_str().unwrap()
        ),
        &checker,
        serde_json::json!({}),
    )
    .await
    .expect(200);
    let page = office.get("/office").await;
    let shown = if carry == 0 {
        "Rp 1.050.000"
    } else {
        "Rp 50.000"
    };
    assert!(
        page.body.contains(&format!("id=\"expiring\">{shown}<")),
        "{}",
        page.body
    );
    // A purchase moves spent and left.
    let operator = app.login("warung-berkah").await;
    app.buy(&operator, "SMD00001", "000061", DEMO_PANS[0], 2)
        .await; // 27,000
    let page = office.get("/office").await;
    assert!(
        page.body.contains("id=\"spent\">Rp 27.000<"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"left\">Rp 1.023.000<"),
        "{}",
        page.body
    );
    // A purchase completed and then voided (its money given back) is not spent.
    app.buy(&operator, "SMD00001", "000062", DEMO_PANS[0], 1)
        .await;
    let voided = app
        .post(
            "/v1/redemptions/void",
            &operator,
            original("SMD00001", "000062"),
        )
        .await
        .expect(200);
    assert_eq!(voided["state"], "refunded", "{voided}");
    let page = office.get("/office").await;
    assert!(
        page.body.contains("id=\"spent\">Rp 27.000<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"left\">Rp 1.023.000<"));
}

on_both_backends!(the_month_overview_counts_what_the_month_holds_and_what_will_expire);

/// The PIN key a page shows, its groups joined.
fn shown_key(body: &str) -> String {
    between(body, "id=\"pin-key\">", "</dd>")
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|part| part.len() == 4)
        .collect()
}

/// The `value` of the hidden `revision` field.
fn revision_field(body: &str) -> String {
    between(body, "name=\"revision\" value=\"", "\"")
}

async fn the_office_suspends_a_household_and_reports_its_card_lost(app: TestApp) {
    let token = app.login("dinsos").await;
    let operator = app.login("warung-berkah").await;
    let card = app
        .post(
            "/v1/cards/lookup",
            &token,
            serde_json::json!({"pan": DEMO_PANS[1]}),
        )
        .await
        .expect(200);
    let card_id = card["id"].as_str().unwrap().to_string();
    let household = format!("/households/{}", card["household_id"].as_str().unwrap());
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let page = office.get(&household).await;
    assert!(page.body.contains(&format!("href=\"{household}/status\"")));
    let form = office.get(&format!("{household}/status")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("id=\"current-status\">Aktif<"));
    assert!(
        form.body.contains("value=\"suspended\"")
            && form.body.contains("value=\"exited\"")
            && !form.body.contains("value=\"active\""),
        "only the statuses it is not in: {}",
        form.body
    );
    assert!(
        form.body.contains("<select id=\"ground\" name=\"ground\">")
            && form.body.contains("value=\"moved_away\""),
        "a household's status is asked for on a ground: {}",
        form.body
    );
    let csrf = form.csrf();
    let revision = revision_field(&form.body);
    let path = format!("{household}/status");
    // No reason, or the status it has: refused beside the field, nothing changes.
    let no_reason = office
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("status", "suspended"),
                ("revision", &revision),
                ("reason", " "),
            ],
        )
        .await;
    let no_reason = office.follow(&no_reason).await;
    assert!(no_reason.body.contains("id=\"reason-error\""));
    assert!(no_reason
        .body
        .contains("<option value=\"suspended\" selected>"));
    let same = office
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("status", "active"),
                ("revision", &revision),
                ("reason", "cek"),
            ],
        )
        .await;
    let same = office.follow(&same).await;
    assert!(same
        .body
        .contains("id=\"status-error\">Status ini sudah berlaku."));
    // Somebody changed the household meanwhile: refused, and the page shows it as it is now.
    let moved = app
        .approved(
            app.request(
                Method::PATCH,
                &format!("/v1{household}"),
                Some(&token),
                Some(serde_json::json!({
                    "expected_revision": revision.parse::<i64>().unwrap(),
                    "head_name": "Rahmawati Binti Saleh",
                    "reason": "ejaan nama diperbaiki"
                })),
            )
            .await,
        )
        .await;
    let stale_form = [
        ("csrf", csrf.as_str()),
        ("status", "suspended"),
        ("revision", revision.as_str()),
        ("reason", "pindah ke Balikpapan, dicek RT 004"),
        ("ground", "other"),
    ];
    let stale = office.post(&path, &stale_form).await;
    let stale = office.follow(&stale).await;
    assert!(stale.body.contains("id=\"form-error\""), "{}", stale.body);
    let fresh = revision_field(&stale.body);
    assert_eq!(fresh, moved["revision"].to_string());
    // Confirmed against the fresh revision: suspended, with the reason in its history.
    let mut confirmed = stale_form;
    confirmed[2] = ("revision", fresh.as_str());
    let done = office.post(&path, &confirmed).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // A request, applied when a second office user approves it.
    assert!(done.location().starts_with("/change-requests/"));
    assert_eq!(
        app.get(&format!("/v1{household}"), &token)
            .await
            .expect(200)["status"],
        "active"
    );
    approve_written(&app, &mut office, &done).await;
    let page = office.get(&household).await;
    assert!(
        page.body
            .contains("id=\"household-status\">Ditangguhkan (pindah ke Balikpapan, dicek RT 004)"),
        "{}",
        page.body
    );
    let record = app
        .get(&format!("/v1{household}"), &token)
        .await
        .expect(200);
    assert_eq!(record["status"], "suspended");
    // The terminal refuses the suspended household at once.
    let refused = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00002", "000041", DEMO_PANS[1], 1, "13000"),
        )
        .await
        .expect(200);
    assert_eq!(refused["response_code"], "62", "{refused}");

    // Reporting the card lost asks first, needs a reason, and leaves only "replace".
    let confirm = office.get(&format!("/cards/{card_id}/lost")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Laporkan hilang"));
    let lost = office
        .post(
            &format!("/cards/{card_id}/lost"),
            &[
                ("csrf", &csrf),
                ("seen_status", "active"),
                ("reason", "hilang di pasar Segiri"),
            ],
        )
        .await;
    assert_eq!(lost.status, StatusCode::SEE_OTHER, "{}", lost.body);
    let card = app
        .get(&format!("/v1/cards/{card_id}"), &token)
        .await
        .expect(200);
    assert_eq!(card["status"], "lost");
    let page = office.get(&household).await;
    assert!(page.body.contains(&format!("/cards/{card_id}/replace")));
    assert!(!page.body.contains(&format!("/cards/{card_id}/lost")));
    // A lost card cannot be reported lost again, nor unblocked.
    let again = office
        .post_refused(
            &format!("/cards/{card_id}/unblock"),
            &[
                ("csrf", &csrf),
                ("seen_status", "lost"),
                ("reason", "ketemu"),
            ],
            &format!("/cards/{card_id}/unblock"),
        )
        .await;
    assert!(again.body.contains("id=\"form-error\""));
    assert_eq!(
        app.get(&format!("/v1/cards/{card_id}"), &token)
            .await
            .expect(200)["status"],
        "lost"
    );
    // An auditor reads the household without the status link, and cannot post the change.
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    let read = auditor.get(&household).await;
    assert!(!read.body.contains(&format!("{household}/status")));
    assert_eq!(auditor.get(&path).await.status, StatusCode::FORBIDDEN);
    let auditor_csrf = auditor.get("/").await.csrf();
    let mut forbidden = confirmed;
    forbidden[0] = ("csrf", auditor_csrf.as_str());
    forbidden[1] = ("status", "active");
    assert_eq!(
        auditor.post(&path, &forbidden).await.status,
        StatusCode::FORBIDDEN
    );
    app.assert_ledger_clean().await;
}

on_both_backends!(the_office_suspends_a_household_and_reports_its_card_lost);

async fn the_admin_suspends_a_terminal_and_an_ewarung_and_lets_them_trade_again(app: TestApp) {
    let admin_token = app.login("admin").await;
    let operator = app.login("warung-berkah").await;
    let ewarung_id = app.ewarung_id(&admin_token, "E-Warung Berkah").await;
    let ewarung = format!("/ewarungs/{ewarung_id}");
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let page = admin.get(&ewarung).await;
    assert!(page.body.contains("id=\"ewarung-status\">Aktif<"));
    let terminal_path = format!("{ewarung}/terminals/SMD00002/status");
    assert!(page.body.contains(&format!("href=\"{terminal_path}\"")));
    let form = admin.get(&terminal_path).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("value=\"suspended\"") && form.body.contains("value=\"retired\""));
    let csrf = form.csrf();
    let bad = admin
        .post(
            &terminal_path,
            &[("csrf", &csrf), ("status", "broken"), ("reason", "x")],
        )
        .await;
    let bad = admin.follow(&bad).await;
    assert!(bad.body.contains("id=\"status-error\""));
    let suspended = admin
        .post(
            &terminal_path,
            &[
                ("csrf", &csrf),
                ("status", "suspended"),
                ("reason", "EDC rusak, dikirim ke bank"),
            ],
        )
        .await;
    assert_eq!(
        suspended.status,
        StatusCode::SEE_OTHER,
        "{}",
        suspended.body
    );
    assert_eq!(suspended.location(), ewarung);
    let refused = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00002", "000051", DEMO_PANS[3], 1, "13000"),
        )
        .await
        .expect(200);
    assert_eq!(refused["response_code"], "58", "{refused}");
    let back = admin
        .post(
            &terminal_path,
            &[
                ("csrf", &csrf),
                ("status", "active"),
                ("reason", "EDC diganti"),
            ],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    // The E-Warung itself: suspended, every terminal of it refuses; active again, it trades.
    let ewarung_path = format!("{ewarung}/status");
    let closed = admin
        .post(
            &ewarung_path,
            &[
                ("csrf", &csrf),
                ("status", "suspended"),
                ("reason", "menjual rokok dengan kartu, diperiksa Dinsos"),
            ],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    assert!(admin
        .get(&ewarung)
        .await
        .body
        .contains("id=\"ewarung-status\">Ditangguhkan<"));
    let refused = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00002", "000052", DEMO_PANS[3], 1, "13000"),
        )
        .await
        .expect(200);
    assert_eq!(refused["response_code"], "58", "{refused}");
    let reopened = admin
        .post(
            &ewarung_path,
            &[
                ("csrf", &csrf),
                ("status", "active"),
                ("reason", "pemeriksaan selesai"),
            ],
        )
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER);
    app.buy(&operator, "SMD00002", "000053", DEMO_PANS[3], 1)
        .await;
    // Each change is in the audit trail with its reason.
    let auditor = app.login("auditor").await;
    let actions = app.audit_actions(&auditor, "terminal", "SMD00002").await;
    assert_eq!(
        actions
            .iter()
            .filter(|action| action.as_str() == "terminal.status")
            .count(),
        2,
        "{actions:?}"
    );
    // A terminal of another E-Warung is not reachable through this one; an operator may not
    // change statuses at all.
    assert_eq!(
        admin
            .get(&format!("{ewarung}/terminals/SMD00003/status"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mut kiosk = Browser::new(&app);
    kiosk.login("warung-berkah").await;
    assert_eq!(kiosk.get(&ewarung_path).await.status, StatusCode::FORBIDDEN);
    app.assert_ledger_clean().await;
}

on_both_backends!(the_admin_suspends_a_terminal_and_an_ewarung_and_lets_them_trade_again);

async fn the_office_registers_a_program_and_builds_its_catalog(app: TestApp) {
    let token = app.login("dinsos").await;
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let list = office.get("/programs").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("href=\"/programs/SSN-SEMBAKO\""),
        "{}",
        list.body
    );
    let csrf = list.csrf();
    // Refused values beside their fields, kept as typed; nothing is stored.
    let bad = [
        ("csrf", csrf.as_str()),
        ("code", "x"),
        ("name", "Bantuan Lansia"),
        ("monthly", "150.00"),
        ("carry_over", "30"),
    ];
    let refused = office.post("/programs", &bad).await;
    let refused = office.follow(&refused).await;
    for field in ["code", "monthly", "carry_over"] {
        assert!(
            refused.body.contains(&format!("id=\"{field}-error\"")),
            "{field}: {}",
            refused.body
        );
    }
    assert!(refused
        .body
        .contains("id=\"monthly-error\">Tulis nilai dalam rupiah"));
    assert!(refused.body.contains("value=\"150.00\""), "kept as typed");
    app.get("/v1/programs/X", &token)
        .await
        .expect_error(404, "program_not_found");
    // Codes are taken in any case; amounts as written in Indonesia.
    let good = [
        ("csrf", csrf.as_str()),
        ("code", "ssn-lansia"),
        ("name", "Bantuan Pangan Lansia"),
        ("monthly", "Rp 150.000"),
        ("carry_over", "3"),
    ];
    let created = office.post("/programs", &good).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(created.location(), "/programs/SSN-LANSIA");
    let program = app.get("/v1/programs/SSN-LANSIA", &token).await.expect(200);
    assert_eq!(program["default_monthly_amount"], "150000.00");
    assert_eq!(program["carry_over_months"], 3);
    let taken = office.post("/programs", &good).await;
    let taken = office.follow(&taken).await;
    assert!(taken
        .body
        .contains("id=\"code-error\">Kode program ini sudah dipakai."));
    // Its page: an empty catalog says so; items are added with a group and a price cap.
    let page = office.get("/programs/SSN-LANSIA").await;
    assert!(page.body.contains("Rp 150.000") && page.body.contains("3 bulan"));
    assert!(page.body.contains("<p class=\"empty\" id=\"catalog\">"));
    let item_path = "/programs/SSN-LANSIA/items";
    let mut item = vec![
        ("csrf", csrf.as_str()),
        ("sku", "telur-ayam"),
        ("name", "Telur ayam ras"),
        ("unit", "butir"),
        ("group", "sweets"),
        ("price_cap", "2.500"),
    ];
    let no_group = office.post(item_path, &item).await;
    let no_group = office.follow(&no_group).await;
    assert!(no_group.body.contains("id=\"group-error\""));
    item[4] = ("group", "animal_protein");
    let added = office.post(item_path, &item).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let items = app
        .get("/v1/programs/SSN-LANSIA/items", &token)
        .await
        .expect(200);
    assert_eq!(items[0]["sku"], "TELUR-AYAM");
    assert_eq!(items[0]["max_unit_price"], "2500.00");
    assert_eq!(items[0]["group"], "animal_protein");
    let page = office.get("/programs/SSN-LANSIA").await;
    assert!(page.body.contains("Telur ayam ras") && page.body.contains("Protein hewani"));
    assert!(page.body.contains("Rp 2.500"));
    let again = office.post(item_path, &item).await;
    let again = office.follow(&again).await;
    assert!(again.body.contains("id=\"sku-error\""));
    // A new price cap, with a reason; the catalog and the API show it.
    let cap_path = "/programs/SSN-LANSIA/items/TELUR-AYAM";
    assert!(page.body.contains(&format!("href=\"{cap_path}\"")));
    let form = office.get(cap_path).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("id=\"current-cap\">Rp 2.500<"));
    let refused = office
        .post(
            cap_path,
            &[("csrf", &csrf), ("price_cap", "2,7,5"), ("reason", "")],
        )
        .await;
    let refused = office.follow(&refused).await;
    assert!(
        refused.body.contains("id=\"price_cap-error\"")
            && refused.body.contains("id=\"reason-error\"")
    );
    let changed = office
        .post(
            cap_path,
            &[
                ("csrf", &csrf),
                ("price_cap", "2.750"),
                ("reason", "harga telur naik"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let items = app
        .get("/v1/programs/SSN-LANSIA/items", &token)
        .await
        .expect(200);
    assert_eq!(items[0]["max_unit_price"], "2750.00");
    assert!(office
        .get("/programs/SSN-LANSIA")
        .await
        .body
        .contains("Rp 2.750"));
    // Auditors read without forms and cannot post; operators have their catalog on the kiosk.
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    let read = auditor.get("/programs/SSN-LANSIA").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.body.contains("Telur ayam ras")
            && !read
                .body
                .contains("<form method=\"post\" action=\"/programs")
    );
    assert!(!read.body.contains(cap_path));
    assert_eq!(auditor.get(cap_path).await.status, StatusCode::FORBIDDEN);
    let auditor_csrf = auditor.get("/").await.csrf();
    let mut forbidden = item.clone();
    forbidden[0] = ("csrf", auditor_csrf.as_str());
    forbidden[1] = ("sku", "GULA");
    assert_eq!(
        auditor.post(item_path, &forbidden).await.status,
        StatusCode::FORBIDDEN
    );
    let mut kiosk = Browser::new(&app);
    kiosk.login("warung-berkah").await;
    assert_eq!(kiosk.get("/programs").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/v1/programs/SSN-LANSIA/items", &token)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

on_both_backends!(the_office_registers_a_program_and_builds_its_catalog);

async fn ended_sessions_are_swept_and_live_ones_kept(app: TestApp) {
    let mut live = Browser::new(&app);
    live.login("dinsos").await;
    let mut gone = Browser::new(&app);
    gone.login("auditor").await;
    let csrf = gone.get("/").await.csrf();
    let out = gone.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("web_sessions").await, 2);
    let sessions = app.app_state.store.sessions();
    // Now: only the logged-out session goes.
    let now = chrono::Utc::now();
    let swept = ssn::web::session::sweep_ended(sessions, now).await.unwrap();
    assert_eq!(swept, 1);
    assert_eq!(app.count("web_sessions").await, 1);
    assert_eq!(live.get("/households").await.status, StatusCode::OK);
    // Half an hour without a request: the idle session goes too, and its browser signs in again.
    let later = now + ssn::web::session::IDLE + chrono::Duration::seconds(1);
    let swept = ssn::web::session::sweep_ended(sessions, later)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert_eq!(app.count("web_sessions").await, 0);
    let page = live.get("/households").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login");
}

on_both_backends!(ended_sessions_are_swept_and_live_ones_kept);

/// The id of the demo user `username`, as the admin's API lists it.
async fn user_id(app: &TestApp, admin_token: &str, username: &str) -> String {
    let users = app
        .get("/v1/users?limit=500", admin_token)
        .await
        .expect(200);
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["username"] == username)
        .map(|user| user["id"].as_str().unwrap().to_string())
        .expect("a demo user")
}

async fn api_tokens_end_when_their_user_is_disabled_or_given_a_new_password_or_role(app: TestApp) {
    let admin_token = app.login("admin").await;
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let user = format!("/users/{}", user_id(&app, &admin_token, "diskominfo").await);
    let csrf = admin.get(&user).await.csrf();
    // A new role: the token that carried the old one is refused at once; a new login carries
    // the new role.
    let office = app.login("diskominfo").await;
    app.get("/v1/households?limit=1", &office).await.expect(200);
    let changed = admin
        .post(
            &format!("{user}/role"),
            &[("csrf", &csrf), ("role", "auditor"), ("ewarung", "")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    app.get("/v1/households?limit=1", &office)
        .await
        .expect_error(401, "token_revoked");
    let auditor = app.login("diskominfo").await;
    app.get("/v1/audit?limit=1", &auditor).await.expect(200);
    // A new password: the same.
    let fresh = "a-new-long-password-2026";
    let reset = admin
        .post(
            &format!("{user}/password"),
            &[
                ("csrf", &csrf),
                ("password", fresh),
                ("password_again", fresh),
            ],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER, "{}", reset.body);
    app.get("/v1/audit?limit=1", &auditor)
        .await
        .expect_error(401, "token_revoked");
    let body = serde_json::json!({"username": "diskominfo", "password": fresh});
    let login = app
        .request(Method::POST, "/v1/auth/login", None, Some(body))
        .await
        .expect(200);
    let newest = login["access_token"].as_str().unwrap().to_string();
    app.get("/v1/audit?limit=1", &newest).await.expect(200);
    // Disabled: every token of the user is refused.
    let disabled = admin
        .post(&format!("{user}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.body);
    app.get("/v1/audit?limit=1", &newest)
        .await
        .expect_error(401, "token_revoked");
    // A change another server made (here: straight in the database) is refused once this
    // server has re-read the generations, as it does every few seconds.
    let bank = app.login("kaltimtara").await;
    app.get("/v1/recon/runs?date=2026-01-01", &bank)
        .await
        .expect(200);
    app.execute(
        "UPDATE users SET token_generation = token_generation + 1 WHERE username = 'kaltimtara'",
    )
    .await;
    let state = &app.app_state;
    state
        .revocations
        .refresh(state.store.sessions())
        .await
        .unwrap();
    app.get("/v1/recon/runs?date=2026-01-01", &bank)
        .await
        .expect_error(401, "token_revoked");
    app.get(
        "/v1/recon/runs?date=2026-01-01",
        &app.login("kaltimtara").await,
    )
    .await
    .expect(200);
}

on_both_backends!(api_tokens_end_when_their_user_is_disabled_or_given_a_new_password_or_role);

async fn a_households_page_lists_its_purchases_newest_first(app: TestApp) {
    let operator = app.login("warung-berkah").await;
    let office = app.login("dinsos").await;
    // Completed, then held; a declined attempt moves nothing and is not a purchase.
    app.buy(&operator, "SMD00001", "000081", DEMO_PANS[4], 2)
        .await; // 27,000
    let held = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00002", "000082", DEMO_PANS[4], 1, "12500"),
        )
        .await
        .expect(200);
    assert_eq!(held["response_code"], "00", "{held}");
    let mut wrong_pin = purchase("SMD00001", "000083", DEMO_PANS[4], 1, "13000");
    wrong_pin["pin"] = serde_json::json!("000000");
    let declined = app
        .post("/v1/redemptions/authorize", &operator, wrong_pin)
        .await
        .expect(200);
    assert_ne!(declined["response_code"], "00");
    let household = app.household_id(&office, DEMO_KKS[4]).await;
    let mut browser = Browser::new(&app);
    browser.login("dinsos").await;
    let page = browser.get(&format!("/households/{household}")).await;
    let purchases = between(&page.body, "id=\"purchases\"", "</table>");
    let rows: Vec<&str> = purchases.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2, "{purchases}");
    assert!(
        rows[0].contains("SMD00002") && rows[0].contains("Rp 12.500"),
        "newest first: {}",
        rows[0]
    );
    assert!(rows[1].contains("SMD00001") && rows[1].contains("Rp 27.000"));
    // Another household's page shows none of them.
    let other = app.household_id(&office, DEMO_KKS[3]).await;
    let page = browser.get(&format!("/households/{other}")).await;
    assert!(!page.body.contains("id=\"purchases\""), "{}", page.body);
}

on_both_backends!(a_households_page_lists_its_purchases_newest_first);
