//! The web application in a real browser: headless Chromium (Debian's `chromium`) driven over
//! WebDriver (`chromedriver`, which scripts/test installs when absent) against the real server
//! on both databases. Pages are also checked by axe-core (vendored in tests/browser/) for
//! accessibility rules at WCAG 2.1 AA.

#[path = "common/mod.rs"]
mod common;

use std::{process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use common::{demo_password, Backend, TestApp};

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
    let expected: [(&str, &[&str]); 5] = [
        (
            "dinsos",
            &[
                "/",
                "/office",
                "/households",
                "/quota",
                "/bank",
                "/audit",
                "/ewarungs",
            ],
        ),
        ("warung-berkah", &["/", "/kiosk"]),
        ("kaltimtara", &["/", "/office", "/quota", "/bank"]),
        (
            "auditor",
            &["/", "/office", "/households", "/quota", "/bank", "/audit"],
        ),
        ("admin", &["/", "/households", "/ewarungs", "/users"]),
    ];
    for (username, links) in expected {
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
    // Each click loads a page: wait for what it should show.
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText(&kk))
        .await
        .expect("the household is listed")
        .click()
        .await
        .unwrap();
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

on_both_backends!(
    each_role_sees_its_menu_and_pages_pass_axe,
    an_office_user_finds_a_household_and_an_operator_is_kept_to_their_kiosk,
);
