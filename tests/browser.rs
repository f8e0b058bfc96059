//! The web application in a real browser: headless Chromium (Debian's `chromium`) driven over
//! WebDriver (`chromedriver`, which scripts/test installs when absent) against the real server
//! on both databases. Pages are also checked by axe-core (vendored in tests/browser/) for
//! accessibility rules at WCAG 2.1 AA.

#[path = "common/mod.rs"]
mod common;

use std::{process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use common::{demo_password, today, Backend, TestApp, DEMO_KKS, DEMO_PANS, DEMO_PIN, ROLE_MENUS};

const AXE: &str = include_str!("browser/axe-4.14.1.min.js");

/// A chromedriver of our own on a free port, stopped when dropped.
struct Driver {
    child: tokio::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start_driver() -> Driver {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_string());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot start {path} ({error}): run the suite with scripts/test, which installs Chromium and ChromeDriver")
        });
    let url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver { child, url }
}

async fn browser(driver: &Driver, width: u32) -> Client {
    let mut capabilities = serde_json::Map::new();
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string());
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        json!({
            "binary": binary,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     format!("--window-size={width},900")],
            // A window is at least 500 px wide; a phone's screen is drawn by emulation.
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": 900, "pixelRatio": 1.0}}
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

async fn sign_in(client: &Client, app: &TestApp, username: &str) {
    client.goto(&format!("{}/login", app.base)).await.unwrap();
    let field = client.find(Locator::Id("username")).await.unwrap();
    field.send_keys(username).await.unwrap();
    let field = client.find(Locator::Id("password")).await.unwrap();
    field.send_keys(demo_password(username)).await.unwrap();
    client
        .find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(client, "/").await;
}

async fn wait_for_path(client: &Client, path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "at {url}, expected {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn menu(client: &Client) -> Vec<String> {
    let mut links = Vec::new();
    for link in client.find_all(Locator::Css("nav a")).await.unwrap() {
        links.push(link.attr("href").await.unwrap().unwrap_or_default());
    }
    links
}

/// Runs axe-core on the page; answers the violations (rule id, impact, first target).
async fn accessibility_violations(client: &Client) -> Vec<String> {
    // WebDriver's scripts are not the page's: the page's CSP does not apply to them.
    client.execute(AXE, vec![]).await.unwrap();
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})
                .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): '
                                + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))))
                .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    match result {
        Value::Array(items) => items.into_iter().map(|v| v.to_string()).collect(),
        other => vec![format!("unexpected axe result {other}")],
    }
}

async fn each_role_sees_its_menu_and_pages_pass_axe(app: TestApp) {
    let driver = start_driver().await;
    for (username, links) in ROLE_MENUS {
        let client = browser(&driver, 1280).await;
        sign_in(&client, &app, username).await;
        assert_eq!(menu(&client).await, links, "{username}");
        for link in links {
            client.goto(&format!("{}{link}", app.base)).await.unwrap();
            let violations = accessibility_violations(&client).await;
            assert!(violations.is_empty(), "{username} {link}: {violations:#?}");
        }
        client.close().await.unwrap();
    }
    // Pages behind the menus, on a phone: records, confirmations, and a form showing errors.
    let token = app.login("dinsos").await;
    let household = app.household_id(&token, DEMO_KKS[0]).await;
    let ewarung = app.ewarung_id(&token, "E-Warung Berkah").await;
    let lookup = json!({"pan": DEMO_PANS[0]});
    let card = app
        .post("/v1/cards/lookup", &token, lookup)
        .await
        .expect(200);
    let card = card["id"].as_str().unwrap().to_string();
    let client = browser(&driver, 360).await;
    sign_in(&client, &app, "dinsos").await;
    for path in [
        format!("/households/{household}"),
        format!("/households/{household}/status"),
        format!("/households/{household}/edit"),
        format!("/households/{household}/members/new"),
        "/households/new".to_string(),
        "/change-requests?state=all".to_string(),
        format!("/cards/{card}/replace"),
        "/programs/SSN-SEMBAKO".to_string(),
        format!("/ewarungs/{ewarung}"),
        format!("/ewarungs/{ewarung}/status"),
        format!("/ewarungs/{ewarung}/terminals/SMD00001/status"),
        "/quota/expire".to_string(),
        format!("/households/{household}/representatives/new"),
        "/dormant".to_string(),
        "/campaigns".to_string(),
        "/registry-imports".to_string(),
    ] {
        client.goto(&format!("{}{path}", app.base)).await.unwrap();
        let violations = accessibility_violations(&client).await;
        assert!(violations.is_empty(), "{path}: {violations:#?}");
    }
    client
        .goto(&format!("{}/programs", app.base))
        .await
        .unwrap();
    click(&client, "form[action=\"/programs\"] button").await;
    wait_for(&client, Locator::Id("code-error")).await;
    let violations = accessibility_violations(&client).await;
    assert!(violations.is_empty(), "refused /programs: {violations:#?}");
    client.close().await.unwrap();
    // The login page too, at a phone's width.
    let phone = browser(&driver, 360).await;
    phone.goto(&format!("{}/login", app.base)).await.unwrap();
    let violations = accessibility_violations(&phone).await;
    assert!(violations.is_empty(), "/login: {violations:#?}");
    // The check can fail: an image without a text alternative is reported.
    phone
        .execute(
            "document.body.insertAdjacentHTML('beforeend', '<img src=\"/static/x.png\">')",
            vec![],
        )
        .await
        .unwrap();
    let planted = accessibility_violations(&phone).await;
    assert!(
        planted.iter().any(|v| v.contains("image-alt")),
        "{planted:#?}"
    );
    phone.close().await.unwrap();
}

async fn an_office_user_finds_a_household_and_an_operator_is_kept_to_their_kiosk(app: TestApp) {
    let driver = start_driver().await;
    let token = app.login("dinsos").await;
    let listed = app.get("/v1/households?limit=1", &token).await.expect(200);
    let kk = listed["items"][0]["kk_number"]
        .as_str()
        .unwrap()
        .to_string();
    let client = browser(&driver, 1280).await;
    sign_in(&client, &app, "dinsos").await;
    client
        .goto(&format!("{}/households", app.base))
        .await
        .unwrap();
    client
        .find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys(&kk)
        .await
        .unwrap();
    client
        .find(Locator::Css("form[role='search'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Each click loads a page: wait for what it should show. Typing and the button both ask
    // for results, so the list may be swapped again just as the link is found.
    click_link(&client, &kk).await;
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("household-status"))
        .await
        .expect("the household's page");
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains(&kk), "{heading}");
    client.close().await.unwrap();

    // An operator's own page opens; another kiosk's address is refused.
    let operator = browser(&driver, 360).await;
    sign_in(&operator, &app, "warung-sejahtera").await;
    operator.goto(&format!("{}/kiosk", app.base)).await.unwrap();
    let theirs = operator.current_url().await.unwrap().to_string();
    operator.close().await.unwrap();
    let operator = browser(&driver, 360).await;
    sign_in(&operator, &app, "warung-berkah").await;
    operator.goto(&theirs).await.unwrap();
    let refusal = operator
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        refusal.contains("403") && refusal.contains("tidak berhak"),
        "{refusal}"
    );
    operator.close().await.unwrap();
}

/// Waits (up to 10 s) for the element a click or a submit leads to.
async fn wait_for(client: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(locator)
        .await
        .unwrap_or_else(|error| panic!("waiting for {locator:?}: {error}"))
}

/// Sets a date input as the form sends it (typing into one depends on the browser's locale).
async fn set_date(client: &Client, id: &str, date: &str) {
    let script = format!("document.getElementById('{id}').value = '{date}';");
    client.execute(&script, vec![]).await.unwrap();
}

/// Types `text` into the input with this id.
/// Clicks the link reading `text`, finding it again when the page replaced it meanwhile (htmx
/// swaps the search results in as typing settles).
async fn click_link(client: &Client, text: &str) {
    for _ in 0..5 {
        let link = client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::LinkText(text))
            .await
            .expect("the link is shown");
        match link.click().await {
            Ok(()) => return,
            Err(error) if error.to_string().contains("stale element") => continue,
            Err(error) => panic!("clicking {text}: {error}"),
        }
    }
    panic!("the link {text} kept being replaced");
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn text_of(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn an_office_user_registers_a_household_and_reads_its_card_letter(app: TestApp) {
    let driver = start_driver().await;
    let client = browser(&driver, 1280).await;
    sign_in(&client, &app, "dinsos").await;
    client
        .goto(&format!("{}/households", app.base))
        .await
        .unwrap();
    click(&client, "#register").await;
    wait_for(&client, Locator::Id("kk")).await;
    let fields = [
        ("kk", "6472019900000123"),
        ("nik", "6472015501800123"),
        ("name", "Nur Aini"),
        ("street", "Jl. Cendana 9"),
        ("rt", "5"),
        ("rw", "1"),
        ("kelurahan", "Teluk Lerong Ulu"),
        ("kecamatan", "Sungai Kunjang"),
    ];
    // First with a KK number too short: the error shows beside its field, the rest is kept.
    for (id, value) in fields {
        fill(&client, id, if id == "kk" { "647201" } else { value }).await;
    }
    click(&client, "form.fields button[type=submit]").await;
    let error = wait_for(&client, Locator::Id("kk-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("16 angka"), "{error}");
    let kept = client
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Nur Aini"));
    fill(&client, "kk", "6472019900000123").await;
    click(&client, "form.fields button[type=submit]").await;
    wait_for(&client, Locator::Id("household-status")).await;
    let household_page = client.current_url().await.unwrap().to_string();
    click(&client, "#issue-card").await;
    wait_for(&client, Locator::Id("pin")).await;
    fill(&client, "pin", "246810").await;
    fill(&client, "pin_again", "246810").await;
    click(&client, "form button[type=submit]").await;
    wait_for(&client, Locator::Id("card-letter")).await;
    let number = text_of(&client, "card-number").await;
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    assert_eq!(digits.len(), 16, "{number}");
    assert!(text_of(&client, "card-letter").await.contains("Nur Aini"));
    // Back on the household's page the number shows only its last four digits.
    client.goto(&household_page).await.unwrap();
    let cards = wait_for(&client, Locator::Id("cards"))
        .await
        .text()
        .await
        .unwrap();
    assert!(cards.contains(&digits[12..]), "{cards}");
    assert!(
        !client.source().await.unwrap().contains(&digits),
        "shown once only"
    );

    // A representative with a card of their own: a minor is refused beside the birth date, the
    // typed values are kept (never the PIN); an adult gets the card letter in their name.
    click(&client, "#name-representative").await;
    wait_for(&client, Locator::Id("valid_until")).await;
    let representative = [
        ("nik", "6472011001120006"),
        ("name", "Andi Pratama"),
        ("pin", "135790"),
        ("pin_again", "135790"),
    ];
    for (id, value) in representative {
        fill(&client, id, value).await;
    }
    set_date(&client, "birth_date", "2012-01-10").await;
    click(&client, "input[name='sex'][value='male']").await;
    client
        .find(Locator::Css("#relation option[value='child']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&client, "#name-representative").await;
    let error = wait_for(&client, Locator::Id("birth_date-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("17 tahun"), "{error}");
    let pin_kept = client
        .find(Locator::Id("pin"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(pin_kept.as_deref(), Some(""), "a PIN is never kept");
    fill(&client, "nik", "6472015203900004").await;
    fill(&client, "name", "Rina Rahmawati").await;
    set_date(&client, "birth_date", "1990-03-12").await;
    fill(&client, "pin", "135790").await;
    fill(&client, "pin_again", "135790").await;
    click(&client, "input[name='sex'][value='female']").await;
    click(&client, "#name-representative").await;
    wait_for(&client, Locator::Id("card-holder")).await;
    assert!(text_of(&client, "card-holder")
        .await
        .contains("Rina Rahmawati"));
    let rep_digits: String = text_of(&client, "card-number")
        .await
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(rep_digits.len(), 16);
    // Revoked from the household's page, with a reason.
    client.goto(&household_page).await.unwrap();
    let listed = text_of(&client, "representatives-table").await;
    assert!(
        listed.contains("Rina Rahmawati") && listed.contains("Aktif"),
        "{listed}"
    );
    assert!(text_of(&client, "cards").await.contains("Rina Rahmawati"));
    click_link(&client, "Cabut").await;
    wait_for(&client, Locator::Id("reason")).await;
    fill(&client, "reason", "keluarga meminta").await;
    click(&client, "#revoke-representative").await;
    wait_for(&client, Locator::Id("household-status")).await;
    let listed = text_of(&client, "representatives-table").await;
    assert!(listed.contains("Dicabut"), "{listed}");
    client.close().await.unwrap();
}

async fn quota_is_uploaded_by_one_office_user_and_approved_by_another(app: TestApp) {
    let driver = start_driver().await;
    let token = app.login("dinsos").await;
    let listed = app.get("/v1/households?limit=1", &token).await.expect(200);
    let kk = listed["items"][0]["kk_number"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("kuota-salah.csv");
    std::fs::write(
        &bad,
        format!("period,program_code,kk_number,amount_idr\n2098-05,SSN-SEMBAKO,{kk},150000\n2098-05,SSN-SEMBAKO,123,150000\n"),
    )
    .unwrap();
    let good = dir.path().join("kuota.csv");
    std::fs::write(
        &good,
        format!("period,program_code,kk_number,amount_idr\n2098-05,SSN-SEMBAKO,{kk},150000\n"),
    )
    .unwrap();
    let maker = browser(&driver, 1280).await;
    sign_in(&maker, &app, "dinsos").await;
    for (file, status) in [
        (&bad, "Tidak sah (ada kesalahan)"),
        (&good, "Sah, menunggu persetujuan"),
    ] {
        maker.goto(&format!("{}/quota", app.base)).await.unwrap();
        let input = maker.find(Locator::Id("file")).await.unwrap();
        input.send_keys(&file.display().to_string()).await.unwrap();
        click(&maker, "#upload-form button[type=submit]").await;
        let shown = wait_for(&maker, Locator::Id("batch-status"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(shown, status);
    }
    let batch = maker.current_url().await.unwrap().to_string();
    maker.close().await.unwrap();
    let checker = browser(&driver, 1280).await;
    sign_in(&checker, &app, "diskominfo").await;
    checker.goto(&batch).await.unwrap();
    click(&checker, "#review-approval").await;
    wait_for(&checker, Locator::Id("approve"))
        .await
        .click()
        .await
        .unwrap();
    wait_for(
        &checker,
        Locator::XPath("//dd[@id='batch-status' and text()='Sudah dimuat']"),
    )
    .await;
    checker.close().await.unwrap();
}

async fn the_bank_works_a_day_and_a_form_without_its_token_is_refused(app: TestApp) {
    let driver = start_driver().await;
    let operator = app.login("warung-berkah").await;
    let sale = app
        .buy(&operator, "SMD00001", "000051", DEMO_PANS[0], 3)
        .await; // 40,500
                // The purchase is on the operator's page.
    let kiosk = browser(&driver, 360).await;
    sign_in(&kiosk, &app, "warung-berkah").await;
    kiosk.goto(&format!("{}/kiosk", app.base)).await.unwrap();
    let recent = wait_for(&kiosk, Locator::Id("recent"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        recent.contains("SMD00001 / 000051") && recent.contains("Disetujui"),
        "{recent}"
    );
    // On a phone the page stays short: today's total first, the catalog folded away.
    let length = kiosk
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        length <= 2400.0,
        "the kiosk page is {length} px long on a phone"
    );
    assert!(!kiosk
        .find(Locator::Css("#catalog-section table"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap());
    kiosk.close().await.unwrap();

    let date = today();
    let bank = browser(&driver, 1280).await;
    sign_in(&bank, &app, "kaltimtara").await;
    bank.goto(&format!("{}/bank?date={date}", app.base))
        .await
        .unwrap();
    click(&bank, "#close-day").await;
    wait_for(&bank, Locator::Id("confirm-close"))
        .await
        .click()
        .await
        .unwrap();
    wait_for(&bank, Locator::Css("#close-totals")).await;
    let dir = tempfile::tempdir().unwrap();
    // Refused uploads are shown on the day's page, in words (the upload script once navigated
    // to the form's POST address and showed the API's 405 JSON instead).
    click(&bank, "#recon-form button[type=submit]").await;
    let refused = wait_for(&bank, Locator::Id("bank-error")).await;
    assert!(
        refused.text().await.unwrap().contains("Pilih berkas bank"),
        "{}",
        bank.source().await.unwrap()
    );
    let wrong = dir.path().join("salah.csv");
    std::fs::write(
        &wrong,
        "tanggal,terminal,jumlah
2026-12-01,SMD00001,100
",
    )
    .unwrap();
    bank.find(Locator::Id("bank-file"))
        .await
        .unwrap()
        .send_keys(&wrong.display().to_string())
        .await
        .unwrap();
    click(&bank, "#recon-form button[type=submit]").await;
    wait_for(
        &bank,
        Locator::XPath("//p[@id='bank-error' and contains(., 'Baris judul kolom harus')]"),
    )
    .await;
    assert!(!bank.source().await.unwrap().contains("method_not_allowed"));
    let file = dir.path().join("bank.csv");
    std::fs::write(
        &file,
        format!(
            "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\n\
             {date},SMD00001,000051,{},{},40500,SALE\n{date},SMD00003,000999,123456789012,XYZ999,5000,SALE\n",
            sale["rrn"].as_str().unwrap(),
            sale["approval_code"].as_str().unwrap()
        ),
    )
    .unwrap();
    bank.find(Locator::Id("bank-file"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    click(&bank, "#recon-form button[type=submit]").await;
    wait_for(&bank, Locator::Id("exceptions")).await;
    assert_eq!(text_of(&bank, "open-exceptions").await, "1");
    let reason = bank
        .find(Locator::Css("#exceptions input[name=reason]"))
        .await
        .unwrap();
    reason
        .send_keys("bank line sent in error, confirmed by phone")
        .await
        .unwrap();
    click(&bank, "#exceptions form button").await;
    wait_for(
        &bank,
        Locator::XPath("//dd[@id='open-exceptions' and text()='0']"),
    )
    .await;
    // Half the file matches nothing: the run waits for a second bank user, who sees what it
    // would change and confirms it in another browser.
    let run_url = bank.current_url().await.unwrap();
    let run_path = run_url.path().to_string();
    assert!(text_of(&bank, "review-status")
        .await
        .contains("Menunggu konfirmasi"));
    let checker = browser(&driver, 390).await;
    sign_in(&checker, &app, "kaltimtara-2").await;
    checker
        .goto(&format!("{}{run_path}", app.base))
        .await
        .unwrap();
    let preview = wait_for(&checker, Locator::Id("review-preview")).await;
    assert!(preview.text().await.unwrap().contains("E-Warung Berkah"));
    click(&checker, "#review-confirm").await;
    wait_for(
        &checker,
        Locator::XPath("//p[@id='review-status' and contains(., 'Dikonfirmasi')]"),
    )
    .await;
    checker.close().await.unwrap();
    bank.goto(&format!("{}/bank/{date}/settle", app.base))
        .await
        .unwrap();
    click(&bank, "#confirm-settle").await;
    let payout = wait_for(&bank, Locator::Id("payout")).await;
    let href = payout.attr("href").await.unwrap().unwrap();
    // The download, fetched as the browser would (same session cookie).
    let csv = bank
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text()).then(done).catch(e => done('failed: ' + e));",
            vec![serde_json::Value::String(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap_or_default().to_string();
    assert!(
        csv.contains("E-Warung Berkah") && csv.contains("40500"),
        "{csv}"
    );
    // A form stripped of its CSRF token is refused, and the session still stands.
    bank.goto(&format!("{}/", app.base)).await.unwrap();
    bank.execute(
        "document.querySelector('form[action=\"/logout\"] input[name=csrf]').remove();",
        vec![],
    )
    .await
    .unwrap();
    click(&bank, "form[action='/logout'] button").await;
    let refused = wait_for(&bank, Locator::Id("request-id")).await;
    assert!(!refused.text().await.unwrap().is_empty());
    assert!(bank.source().await.unwrap().contains("kedaluwarsa"));
    bank.goto(&format!("{}/", app.base)).await.unwrap();
    assert_eq!(
        bank.current_url().await.unwrap().path(),
        "/",
        "still signed in"
    );
    bank.close().await.unwrap();
}

/// The height of the element `css` in CSS pixels.
async fn height_of(client: &Client, css: &str) -> f64 {
    client
        .execute(
            "return document.querySelector(arguments[0]).getBoundingClientRect().height;",
            vec![json!(css)],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap()
}

async fn the_header_on_a_phone_is_one_line_with_a_menu_button(app: TestApp) {
    let driver = start_driver().await;
    let phone = browser(&driver, 360).await;
    // An office user has the longest menu (nine links).
    sign_in(&phone, &app, "dinsos").await;
    phone
        .goto(&format!("{}/households", app.base))
        .await
        .unwrap();
    let folded = height_of(&phone, "header").await;
    assert!(folded <= 56.0, "the header is {folded} px tall on a phone");
    let toggle = phone
        .find(Locator::Css("header .menu-toggle"))
        .await
        .unwrap();
    assert_eq!(
        toggle.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    assert!(height_of(&phone, "header .menu-toggle").await >= 24.0);
    assert!(height_of(&phone, "form[action='/logout'] button").await >= 24.0);
    toggle.click().await.unwrap();
    assert_eq!(
        toggle.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    let link = phone
        .find(Locator::Css("#site-menu a[href='/quota']"))
        .await
        .unwrap();
    assert!(link.is_displayed().await.unwrap());
    assert!(height_of(&phone, "#site-menu a[href='/quota']").await >= 24.0);
    link.click().await.unwrap();
    wait_for_path(&phone, "/quota").await;
    phone.close().await.unwrap();
    // On a desktop the links show and the button does not.
    let desk = browser(&driver, 1280).await;
    sign_in(&desk, &app, "dinsos").await;
    let toggle = desk
        .find(Locator::Css("header .menu-toggle"))
        .await
        .unwrap();
    assert!(!toggle.is_displayed().await.unwrap());
    let link = desk
        .find(Locator::Css("#site-menu a[href='/quota']"))
        .await
        .unwrap();
    assert!(link.is_displayed().await.unwrap());
    assert!(height_of(&desk, "header").await <= 100.0);
    desk.close().await.unwrap();
}

/// Whether the page is wider than the window (a phone would scroll sideways).
async fn scrolls_sideways(client: &Client) -> bool {
    client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

async fn a_beneficiary_checks_the_balance_on_a_phone_and_the_office_adds_a_member(app: TestApp) {
    let driver = start_driver().await;
    let phone = browser(&driver, 360).await;
    phone.goto(&format!("{}/saldo", app.base)).await.unwrap();
    let violations = accessibility_violations(&phone).await;
    assert!(violations.is_empty(), "/saldo: {violations:#?}");
    assert!(!scrolls_sideways(&phone).await);
    fill(&phone, "pan", DEMO_PANS[4]).await;
    fill(&phone, "pin", DEMO_PIN).await;
    click(&phone, "form[action='/saldo'] button").await;
    wait_for(&phone, Locator::Id("statement")).await;
    assert!(text_of(&phone, "statement").await.contains("200.000"));
    let violations = accessibility_violations(&phone).await;
    assert!(violations.is_empty(), "/saldo statement: {violations:#?}");
    assert!(
        !scrolls_sideways(&phone).await,
        "the statement fits a phone"
    );
    // Back shows the empty form again, never the balance from a cache.
    phone.back().await.unwrap();
    wait_for(&phone, Locator::Id("pan")).await;
    assert!(phone.find(Locator::Id("statement")).await.is_err());
    // A wrong PIN: told so, nothing shown.
    fill(&phone, "pan", DEMO_PANS[4]).await;
    fill(&phone, "pin", "000000").await;
    click(&phone, "form[action='/saldo'] button").await;
    wait_for(&phone, Locator::Id("saldo-error")).await;
    assert!(phone.find(Locator::Id("statement")).await.is_err());
    phone.close().await.unwrap();

    // The office adds a child to the family card on a phone.
    let token = app.login("dinsos").await;
    let household = app.household_id(&token, DEMO_KKS[4]).await;
    let office = browser(&driver, 360).await;
    sign_in(&office, &app, "dinsos").await;
    office
        .goto(&format!("{}/households/{household}", app.base))
        .await
        .unwrap();
    click(&office, "#add-member").await;
    wait_for(&office, Locator::Id("nik")).await;
    fill(&office, "nik", "6472014107150031").await;
    fill(&office, "name", "Nur Aisyah").await;
    office
        .find(Locator::Css("#relation option[value='child']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&office, "input[name='sex'][value='female']").await;
    // A date input takes its value in the browser's own format; set it as the form sends it.
    set_date(&office, "birth_date", "2015-07-02").await;
    fill(&office, "reason", "listed on the KK").await;
    click(&office, "form.fields button[type='submit']").await;
    // The NIK says the 1st: refused beside the field, what was typed kept.
    wait_for(&office, Locator::Id("nik-error")).await;
    let violations = accessibility_violations(&office).await;
    assert!(
        violations.is_empty(),
        "refused member form: {violations:#?}"
    );
    office
        .execute(
            "document.getElementById('birth_date').value = '2015-07-01';",
            vec![],
        )
        .await
        .unwrap();
    fill(&office, "reason", "listed on the KK").await;
    click(&office, "form.fields button[type='submit']").await;
    // A change request: it waits for a second office user.
    wait_for(&office, Locator::Id("written")).await;
    let request = office.current_url().await.unwrap().path().to_string();
    assert!(request.starts_with("/change-requests/"), "{request}");
    assert!(text_of(&office, "proposal").await.contains("Nur Aisyah"));
    let violations = accessibility_violations(&office).await;
    assert!(violations.is_empty(), "{request}: {violations:#?}");
    office.close().await.unwrap();

    // The second office user finds it in the queue on a phone, ticks it and approves.
    let checker = browser(&driver, 360).await;
    sign_in(&checker, &app, "diskominfo").await;
    checker
        .goto(&format!("{}/change-requests", app.base))
        .await
        .unwrap();
    let violations = accessibility_violations(&checker).await;
    assert!(violations.is_empty(), "/change-requests: {violations:#?}");
    assert!(!scrolls_sideways(&checker).await, "the queue fits a phone");
    let id = request.trim_start_matches("/change-requests/");
    click(&checker, &format!("input[name='approve-{id}']")).await;
    click(&checker, "#approve-ticked").await;
    wait_for(&checker, Locator::Id("approved")).await;
    assert!(text_of(&checker, "approved").await.contains("1 permohonan"));
    checker
        .goto(&format!("{}/households/{household}", app.base))
        .await
        .unwrap();
    assert!(text_of(&checker, "member-list")
        .await
        .contains("Nur Aisyah"));
    checker.close().await.unwrap();
}

async fn a_verifier_on_a_phone_proposes_a_move_and_the_office_approves_it(app: TestApp) {
    let driver = start_driver().await;
    let token = app.login("dinsos").await;
    let household = app.household_id(&token, DEMO_KKS[0]).await;
    let phone = browser(&driver, 360).await;
    sign_in(&phone, &app, "verifikator").await;
    assert_eq!(menu(&phone).await, ["/", "/field"]);
    phone.goto(&format!("{}/field", app.base)).await.unwrap();
    let violations = accessibility_violations(&phone).await;
    assert!(violations.is_empty(), "/field: {violations:#?}");
    assert!(!scrolls_sideways(&phone).await, "the round fits a phone");
    click(&phone, &format!("a[href='/households/{household}']")).await;
    wait_for(&phone, Locator::Id("record-visit")).await;
    click(&phone, "#record-visit").await;
    wait_for(&phone, Locator::Id("visited_on")).await;
    let violations = accessibility_violations(&phone).await;
    assert!(violations.is_empty(), "visit form: {violations:#?}");
    click(&phone, "input[name='outcome'][value='moved_away']").await;
    fill(
        &phone,
        "note",
        "rumah kosong, kata tetangga pindah ke Balikpapan",
    )
    .await;
    // The photo the phone's camera took: a file the browser sends with the form.
    let photo = app.data_dir.path().join("rumah.jpg");
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(4_096, 9);
    std::fs::write(&photo, &bytes).unwrap();
    phone
        .find(Locator::Id("photo"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    click(&phone, "form.fields button[type='submit']").await;
    wait_for(&phone, Locator::Id("visit-list")).await;
    assert!(text_of(&phone, "visit-list").await.contains("pindah"));
    // The move, proposed from the household's page: held at the terminal from now on.
    click(&phone, "#change-status").await;
    wait_for(&phone, Locator::Id("ground")).await;
    phone
        .find(Locator::Css("#status option[value='exited']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    phone
        .find(Locator::Css("#ground option[value='moved_away']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&phone, "reason", "kunjungan hari ini: pindah ke Balikpapan").await;
    click(&phone, "form button[type='submit']").await;
    wait_for(&phone, Locator::Id("written")).await;
    assert!(phone.find(Locator::Id("cards-held")).await.is_ok());
    assert!(phone.find(Locator::Id("approve")).await.is_err());
    let request = phone.current_url().await.unwrap().path().to_string();
    let violations = accessibility_violations(&phone).await;
    assert!(violations.is_empty(), "{request}: {violations:#?}");
    phone.close().await.unwrap();

    // The office approves it at its desk; the household has left the program.
    let desk = browser(&driver, 1280).await;
    sign_in(&desk, &app, "dinsos").await;
    desk.goto(&format!("{}{request}", app.base)).await.unwrap();
    click(&desk, "#approve").await;
    wait_for(&desk, Locator::Id("decider")).await;
    desk.close().await.unwrap();
    let record = app
        .get(&format!("/v1/households/{household}"), &token)
        .await
        .expect(200);
    assert_eq!(record["status"], "exited");
}

on_both_backends!(
    the_header_on_a_phone_is_one_line_with_a_menu_button,
    each_role_sees_its_menu_and_pages_pass_axe,
    an_office_user_finds_a_household_and_an_operator_is_kept_to_their_kiosk,
    an_office_user_registers_a_household_and_reads_its_card_letter,
    quota_is_uploaded_by_one_office_user_and_approved_by_another,
    the_bank_works_a_day_and_a_form_without_its_token_is_refused,
    a_beneficiary_checks_the_balance_on_a_phone_and_the_office_adds_a_member,
    a_verifier_on_a_phone_proposes_a_move_and_the_office_approves_it,
);
