//! Refusals as a clerk meets them on the pages: in the page's language and shape, beside what
//! caused them, at an address that can be opened again (post/redirect/get), and never a server
//! error for a case the API answers in words. Each case failed before its fix.

use reqwest::{header, StatusCode};
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

/// Registers a household without a card through the API; answers its id.
async fn new_household(app: &TestApp, token: &str, kk: &str) -> String {
    let created = app
        .post(
            "/v1/households",
            token,
            json!({
                "kk_number": kk, "head_nik": "6472014107850099", "head_name": "Sri Wahyuni",
                "address": {"street": "Jl. Sentosa No. 4", "rt": "8", "rw": "2",
                            "kelurahan": "Sungai Pinang Dalam", "kecamatan": "Sungai Pinang"}
            }),
        )
        .await
        .expect(201);
    created["id"].as_str().unwrap().to_string()
}

async fn card_id(app: &TestApp, token: &str, pan: &str) -> String {
    let found = app
        .post("/v1/cards/lookup", token, json!({ "pan": pan }))
        .await
        .expect(200);
    found["id"].as_str().unwrap().to_string()
}

async fn issuing_a_card_twice_says_the_household_has_one(app: TestApp) {
    let token = app.login("dinsos").await;
    let household = new_household(&app, &token, "6472010909990001").await;
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let form_path = format!("/households/{household}/cards/new");
    let form = office.get(&form_path).await;
    let csrf = form.csrf();
    let pins = [
        ("csrf", csrf.as_str()),
        ("pin", "482913"),
        ("pin_again", "482913"),
    ];
    let issue_path = format!("/households/{household}/cards");
    let issued = office.post(&issue_path, &pins).await;
    let letter_path = issued.location().to_string();
    let letter = office.follow(&issued).await;
    assert!(
        letter.body.contains("id=\"card-number\""),
        "{}",
        letter.body
    );
    assert!(letter.body.contains("data-print"), "a print button");
    // Reload, Back or a second tab: the letter again, its number masked.
    let again = office.get(&letter_path).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(!again.body.contains("id=\"card-number\""), "{}", again.body);
    assert!(again.body.contains("id=\"number-shown-once\""));

    // The form opened again (by address, or Back) and sent: refused in words, not a 500.
    office.get(&form_path).await;
    let refused = office.post_refused(&issue_path, &pins, &form_path).await;
    assert!(
        refused
            .body
            .contains("Rumah tangga ini sudah memegang kartu."),
        "{}",
        refused.body
    );
    let cards = app
        .get(&format!("/v1/households/{household}/cards"), &token)
        .await
        .expect(200);
    assert_eq!(cards.as_array().map(Vec::len), Some(1), "{cards}");
    // The refusal was shown once: a reload shows the form afresh.
    let reloaded = office.get(&form_path).await;
    assert!(!reloaded.body.contains("sudah memegang kartu"));
}

async fn the_pin_rule_is_stated_as_it_is_applied(app: TestApp) {
    let token = app.login("dinsos").await;
    let household = new_household(&app, &token, "6472010909990002").await;
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let form_path = format!("/households/{household}/cards/new");
    let form = office.get(&form_path).await;
    assert!(
        form.body.contains("PIN baru (4 sampai 6 angka)"),
        "{}",
        form.body
    );
    let csrf = form.csrf();
    let issue_path = format!("/households/{household}/cards");
    let short = [
        ("csrf", csrf.as_str()),
        ("pin", "123"),
        ("pin_again", "123"),
    ];
    let refused = office.post_refused(&issue_path, &short, &form_path).await;
    assert!(
        refused.body.contains("PIN harus 4 sampai 6 angka."),
        "{}",
        refused.body
    );
    let four = [
        ("csrf", csrf.as_str()),
        ("pin", "4821"),
        ("pin_again", "4821"),
    ];
    let issued = office.post(&issue_path, &four).await;
    assert!(issued.location().ends_with("/letter"), "{}", issued.body);
}

async fn a_pin_reset_is_refused_on_a_card_blocked_meanwhile(app: TestApp) {
    let token = app.login("dinsos").await;
    let card = card_id(&app, &token, DEMO_PANS[2]).await;
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let path = format!("/cards/{card}/pin");
    let form = office.get(&path).await;
    assert!(form.body.contains("name=\"seen_status\" value=\"active\""));
    let csrf = form.csrf();
    // Meanwhile, somebody else blocks the card.
    app.post(
        &format!("/v1/cards/{card}/block"),
        &token,
        json!({"reason": "dipinjam tetangga"}),
    )
    .await
    .expect(200);
    let pins = [
        ("csrf", csrf.as_str()),
        ("seen_status", "active"),
        ("pin", "654321"),
        ("pin_again", "654321"),
    ];
    let refused = office.post_refused(&path, &pins, &path).await;
    assert!(
        refused
            .body
            .contains("Kartu ini sekarang berstatus Diblokir"),
        "{}",
        refused.body
    );
    let actions = app.audit_actions(&token, "card", &card).await;
    assert!(actions.iter().any(|a| a == "card.blocked"), "{actions:?}");
    assert!(!actions.iter().any(|a| a == "card.pin_set"), "{actions:?}");
}

async fn two_login_tabs_both_sign_in(app: TestApp) {
    let mut browser = Browser::new(&app);
    let tab_a = browser.get("/login").await.csrf();
    let tab_b = browser.get("/login").await.csrf();
    for csrf in [&tab_a, &tab_b] {
        let done = browser
            .post(
                "/login",
                &[
                    ("csrf", csrf),
                    ("username", "dinsos"),
                    ("password", "demo-office-pass"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/");
        assert_eq!(browser.get("/").await.status, StatusCode::OK);
    }
    // A login page whose token ended is shown again in words, ready to send.
    browser.cookies.remove("ssn_login_csrf");
    let expired = browser
        .post(
            "/login",
            &[
                ("csrf", &tab_a),
                ("username", "dinsos"),
                ("password", "demo-office-pass"),
            ],
        )
        .await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert!(
        expired.body.contains("Halaman masuk ini sudah kedaluwarsa"),
        "{}",
        expired.body
    );
    assert!(expired.body.contains("value=\"dinsos\""), "the name kept");
    let fresh = expired.csrf();
    let done = browser
        .post(
            "/login",
            &[
                ("csrf", &fresh),
                ("username", "dinsos"),
                ("password", "demo-office-pass"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

/// Asserts an error page: HTML in Indonesian, titled, fit for a phone, with its status.
fn assert_error_page(page: &Page, status: StatusCode, text: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    let content_type = page.headers[header::CONTENT_TYPE].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.body.contains("lang=\"id\""), "{}", page.body);
    assert!(page.body.contains("name=\"viewport\""));
    assert!(page.body.contains(&format!("<title>{text} · SSN</title>")));
    assert!(page.body.contains(text));
}

async fn unknown_and_malformed_addresses_are_pages(app: TestApp) {
    let mut browser = Browser::new(&app);
    let unknown = browser.get("/rumah-tangga").await;
    assert_error_page(&unknown, StatusCode::NOT_FOUND, "Halaman tidak ditemukan.");
    browser.login("dinsos").await;
    for path in [
        "/rumah-tangga",
        "/households/bukan-uuid",
        "/households/bukan-uuid/cards/new",
        "/quota/123",
        "/bank/2026-12-01/recon",
    ] {
        let page = browser.get(path).await;
        assert_error_page(&page, StatusCode::NOT_FOUND, "Halaman tidak ditemukan.");
    }
    // The API keeps answering in JSON.
    let api = browser.get("/v1/rumah-tangga").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.body.contains("\"route_not_found\""), "{}", api.body);
    let token = app.login("dinsos").await;
    app.get("/v1/households/bukan-uuid", &token)
        .await
        .expect_error(400, "invalid_path");
}

async fn a_reused_bank_account_is_named_beside_the_account_number(app: TestApp) {
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let csrf = admin.get("/ewarungs").await.csrf();
    let ewarung = |name: &'static str| {
        vec![
            ("name", name),
            ("owner", "Ibu Rina"),
            ("street", "Jl. Kadrie Oening 7"),
            ("rt", "4"),
            ("rw", "2"),
            ("kelurahan", "Air Putih"),
            ("kecamatan", "Samarinda Ulu"),
            ("bank_code", "124"),
            ("account_number", "0012345678"),
            ("account_holder", "Rina Wati"),
        ]
    };
    let mut first = ewarung("E-Warung Mawar");
    first.push(("csrf", &csrf));
    let created = admin.post("/ewarungs", &first).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let mut second = ewarung("E-Warung Melati");
    second.push(("csrf", &csrf));
    let refused = admin.post("/ewarungs", &second).await;
    let refused = admin.follow(&refused).await;
    assert!(
        refused
            .body
            .contains("id=\"account_number-error\">Rekening ini sudah dipakai E-Warung lain."),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("id=\"name-error\""));
}

async fn a_retired_terminal_stays_retired(app: TestApp) {
    let admin_token = app.login("admin").await;
    let operator = app.login("warung-berkah").await;
    let ewarung = app.ewarung_id(&admin_token, "E-Warung Berkah").await;
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let path = format!("/ewarungs/{ewarung}/terminals/SMD00002/status");
    let csrf = admin.get(&path).await.csrf();
    let retired = admin
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("status", "retired"),
                ("reason", "EDC dikembalikan ke bank"),
            ],
        )
        .await;
    assert_eq!(retired.status, StatusCode::SEE_OTHER, "{}", retired.body);
    // The page offers no way back, and a forged form is refused in words.
    let page = admin.get(&path).await;
    assert!(page.body.contains("id=\"no-choices\""), "{}", page.body);
    assert!(!page.body.contains("value=\"active\""));
    let forged = admin
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("status", "active"),
                ("reason", "coba lagi"),
            ],
        )
        .await;
    let forged = admin.follow(&forged).await;
    assert!(
        forged.body.contains("sudah dipensiunkan"),
        "{}",
        forged.body
    );
    // The API refuses it too, and the terminal keeps answering 58.
    app.post(
        "/v1/terminals/SMD00002/status",
        &admin_token,
        json!({"status": "active", "reason": "coba lagi"}),
    )
    .await
    .expect_error(409, "invalid_state");
    let refused = app
        .post(
            "/v1/redemptions/authorize",
            &operator,
            purchase("SMD00002", "000061", DEMO_PANS[3], 1, "13000"),
        )
        .await
        .expect(200);
    assert_eq!(refused["response_code"], "58", "{refused}");
}

async fn the_audit_log_reads_in_words_and_refuses_a_filter_it_cannot_use(app: TestApp) {
    let token = app.login("dinsos").await;
    let household = new_household(&app, &token, "6472010909990003").await;
    let mut auditor = Browser::new(&app);
    auditor.login("auditor").await;
    // Registering is in the log, in words, with the household as its subject.
    let page = auditor
        .get(&format!(
            "/audit?subject_type=household&subject_id={household}"
        ))
        .await;
    assert!(
        page.body
            .contains("data-action=\"household.register\">Pendaftaran rumah tangga<"),
        "{}",
        page.body
    );
    // Filters are choices; the demo's quota posting shows its amount in Rupiah.
    assert!(page.body.contains("<select id=\"action\""));
    let posted = auditor.get("/audit?action=quota.posted").await;
    assert!(
        posted.body.contains("Kuota disetujui dan dibukukan"),
        "{}",
        posted.body
    );
    assert!(posted.body.contains("Rp "), "{}", posted.body);
    assert!(!posted.body.contains("_minor"), "{}", posted.body);
    // A date typed the Indonesian way is read; one that is no date is refused beside its
    // field, not silently dropped (which once showed every row).
    let typed = auditor.get("/audit?from=1-1-2026").await;
    assert!(!typed.body.contains("id=\"from-error\""), "{}", typed.body);
    assert!(typed.body.contains("id=\"audit\""));
    let refused = auditor.get("/audit?from=31-13-2026").await;
    assert!(
        refused
            .body
            .contains("id=\"from-error\">Tulis tanggal sebagai hari-bulan-tahun"),
        "{}",
        refused.body
    );
    assert!(
        !refused.body.contains("id=\"audit\""),
        "no rows for a refused filter"
    );
    let unknown = auditor.get("/audit?action=card.stolen").await;
    assert!(
        unknown.body.contains("id=\"action-error\""),
        "{}",
        unknown.body
    );
}

async fn a_refused_user_form_keeps_its_choices_and_sums_up_its_errors(app: TestApp) {
    let admin_token = app.login("admin").await;
    let ewarung = app.ewarung_id(&admin_token, "E-Warung Berkah").await;
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let csrf = admin.get("/users").await.csrf();
    let refused = admin
        .post(
            "/users",
            &[
                ("csrf", &csrf),
                ("username", "Operator Baru!"),
                ("password", "pendek"),
                ("password_again", "pendek"),
                ("role", "operator"),
                ("ewarung", &ewarung),
            ],
        )
        .await;
    let refused = admin.follow(&refused).await;
    // The summary at the top lists each error as a link to its field, in Indonesian.
    let summary = between(&refused.body, "id=\"error-summary\"", "</div>");
    assert!(summary.contains("href=\"#username\""), "{summary}");
    assert!(summary.contains("href=\"#password\""), "{summary}");
    assert!(
        summary.contains("Kata sandi 10 sampai 256 karakter."),
        "{summary}"
    );
    assert!(
        summary.contains("Nama pengguna 3 sampai 64 karakter"),
        "{summary}"
    );
    // The chosen role and E-Warung are kept; the password is not.
    assert!(
        refused
            .body
            .contains("<option value=\"operator\" selected>"),
        "{}",
        refused.body
    );
    assert!(refused
        .body
        .contains(&format!("<option value=\"{ewarung}\" selected>")));
    assert!(!refused.body.contains("pendek"));
}

async fn a_form_sent_after_the_session_ended_comes_back_after_signing_in(app: TestApp) {
    let mut office = Browser::new(&app);
    office.login("dinsos").await;
    let csrf = office.get("/households/new").await.csrf();
    // The session ends (idle, expired: to the server, a token it no longer knows).
    office
        .cookies
        .insert("ssn_session".into(), "ended-session-token".into());
    let form = [
        ("csrf", csrf.as_str()),
        ("kk", "6472010909990009"),
        ("nik", "6472014107850099"),
        ("name", "Rahmawati"),
        ("street", "Jl. Sentosa No. 9"),
        ("rt", "8"),
        ("rw", "2"),
        ("kelurahan", "Sungai Pinang Dalam"),
        ("kecamatan", "Sungai Pinang"),
        ("password", "never-kept-1"),
    ];
    let households = app.count("households").await;
    let sent = office.post("/households/new", &form).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(sent.location(), "/login");
    let login = office.get("/login").await;
    assert!(login.body.contains("id=\"login-resume\""), "{}", login.body);
    let signed_in = office
        .post(
            "/login",
            &[
                ("csrf", &login.csrf()),
                ("username", "dinsos"),
                ("password", "demo-office-pass"),
            ],
        )
        .await;
    assert_eq!(signed_in.location(), "/households/new");
    let back = office.follow(&signed_in).await;
    assert!(back.body.contains("value=\"Rahmawati\""), "{}", back.body);
    assert!(back.body.contains("value=\"6472010909990009\""));
    assert!(back
        .body
        .contains("Sesi Anda berakhir sebelum formulir ini terkirim"));
    assert!(
        !back.body.contains("never-kept-1"),
        "a password is never kept"
    );
    assert!(
        !office.cookies.contains_key("ssn_resume"),
        "the cookie is spent"
    );
    // Nothing was registered by the form sent without a session.
    assert_eq!(app.count("households").await, households);
}

/// The API and the page call one service: the same E-Warung is refused for the same values,
/// the API with the first refusal's code and field, the page with every one beside its field in
/// Indonesian; nothing is stored by either.
async fn the_api_and_the_page_refuse_an_ewarung_by_the_same_rules(app: TestApp) {
    let token = app.login("admin").await;
    let ewarungs = app.count("ewarungs").await;
    let refused = app
        .post(
            "/v1/ewarungs",
            &token,
            json!({
                "name": "Warung Sejahtera", "owner_name": "Hj. Rahmah",
                "address": {"street": "Jl. Antasari 9", "rt": "1", "rw": "2",
                            "kelurahan": "Air Putih", "kecamatan": "Samarinda Ulu"},
                "bank_account": {"bank_code": "12", "number": "12345", "holder": "Hj. Rahmah"}
            }),
        )
        .await;
    refused.expect_error(422, "invalid_bank_code");
    assert_eq!(refused.field(), "bank_account.bank_code");
    let mut admin = Browser::new(&app);
    admin.login("admin").await;
    let csrf = admin.get("/ewarungs").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Warung Sejahtera"),
        ("owner", ""),
        ("street", "Jl. Antasari 9"),
        ("rt", "1234"),
        ("rw", "2"),
        ("kelurahan", "Air Putih"),
        ("kecamatan", "Samarinda Ulu"),
        ("bank_code", "12"),
        ("account_number", "12345"),
        ("account_holder", "Hj. Rahmah"),
    ];
    let page = admin.post_refused("/ewarungs", &form, "/ewarungs").await;
    for (field, words) in [
        ("owner", "Wajib diisi."),
        ("rt", "RT/RW harus 1 sampai 3 angka."),
        ("bank_code", "Kode bank tepat 3 angka."),
        ("account_number", "angka"),
    ] {
        let shown = between(&page.body, &format!("id=\"{field}-error\">"), "</p>");
        assert!(shown.contains(words), "{field}: {shown}");
    }
    // The summary at the top links each error to its field.
    assert!(page.body.contains("href=\"#bank_code\""), "{}", page.body);
    assert_eq!(app.count("ewarungs").await, ewarungs);
}

/// A line of the bank's file that cannot be used says why in the reader's language, from the
/// code and values recorded with it; nothing of the engine's English is shown.
async fn a_malformed_bank_line_says_why_in_the_readers_language(app: TestApp) {
    let bank_token = app.login("kaltimtara").await;
    let date = today();
    app.post(&format!("/v1/days/{date}/close"), &bank_token, json!({}))
        .await
        .expect(201);
    let mut bank = Browser::new(&app);
    bank.login("kaltimtara").await;
    let csrf = bank.get(&format!("/bank?date={date}")).await.csrf();
    let file = format!(
        "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\n\
         {date},SMD00001,12a,,,5000,SALE\n\
         {date},SMD00001,000002,,,5000,CASH\n\
         {date},SMD00001,000003,,,5000\n"
    );
    let uploaded = bank
        .upload(&format!("/bank/{date}/recon"), &csrf, "bank.csv", &file)
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let run_path = uploaded.location().to_string();
    let run = bank.get(&run_path).await;
    for words in [
        "STAN &#34;12a&#34; bukan 6 angka.",
        "Jenis &#34;CASH&#34; bukan SALE, VOID, atau REFUND.",
        "Baris ini punya 6 kolom; seharusnya 7.",
    ] {
        assert!(run.body.contains(words), "{words}: {}", run.body);
    }
    assert!(!run.body.contains("is not 6 digits"), "{}", run.body);
    assert!(!run.body.contains("lang=\"en\">("), "{}", run.body);
}

on_both_backends!(
    a_malformed_bank_line_says_why_in_the_readers_language,
    the_api_and_the_page_refuse_an_ewarung_by_the_same_rules,
    a_form_sent_after_the_session_ended_comes_back_after_signing_in,
    a_refused_user_form_keeps_its_choices_and_sums_up_its_errors,
    the_audit_log_reads_in_words_and_refuses_a_filter_it_cannot_use,
    a_retired_terminal_stays_retired,
    issuing_a_card_twice_says_the_household_has_one,
    the_pin_rule_is_stated_as_it_is_applied,
    a_pin_reset_is_refused_on_a_card_blocked_meanwhile,
    two_login_tabs_both_sign_in,
    unknown_and_malformed_addresses_are_pages,
    a_reused_bank_account_is_named_beside_the_account_number,
);
