//! Renders the web application's main pages, at a desktop's and a phone's width, into PNG files
//! (`docs/ui/` by default; the README shows them). It starts `ssn serve --demo` on a fresh SQLite
//! database and drives headless Chromium over ChromeDriver (`scripts/screenshots` installs both
//! when absent), signing in as each demo user in turn.
//!
//! `ssn-screenshots [OUT_DIR]`; `CHROMEDRIVER` and `CHROMIUM` name the programs if not on PATH.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

/// (file name, user, password, path): the pages the README shows.
const PAGES: [(&str, &str, &str, &str); 18] = [
    ("login", "", "", "/login"),
    ("beneficiary-saldo", "", "", "/saldo"),
    ("office-overview", "dinsos", "demo-office-pass", "/office"),
    (
        "office-households",
        "dinsos",
        "demo-office-pass",
        "/households?q=a",
    ),
    (
        "office-household",
        "dinsos",
        "demo-office-pass",
        "/households?q=6472010101230001",
    ),
    ("office-quota", "dinsos", "demo-office-pass", "/quota"),
    (
        "office-import",
        "dinsos",
        "demo-office-pass",
        "/registry-imports",
    ),
    ("office-dormant", "dinsos", "demo-office-pass", "/dormant"),
    (
        "office-campaigns",
        "dinsos",
        "demo-office-pass",
        "/campaigns",
    ),
    (
        "verifier-field",
        "verifikator",
        "demo-verifier-pass",
        "/field",
    ),
    (
        "office-catalog",
        "dinsos",
        "demo-office-pass",
        "/programs/SSN-SEMBAKO",
    ),
    (
        "operator-kiosk",
        "warung-berkah",
        "demo-operator-pass",
        "/kiosk",
    ),
    ("bank-day", "kaltimtara", "demo-bank-pass", "/bank"),
    ("auditor-audit", "auditor", "demo-auditor-pass", "/audit"),
    ("admin-users", "admin", "demo-admin-pass", "/users"),
    ("admin-ewarungs", "admin", "demo-admin-pass", "/ewarungs"),
    (
        "admin-ewarung-refused",
        "admin",
        "demo-admin-pass",
        "/ewarungs",
    ),
    (
        "admin-terminal-key",
        "admin",
        "demo-admin-pass",
        "/ewarungs",
    ),
];

const WIDTHS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 360, 780)];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs/ui".into()));
    std::fs::create_dir_all(&out)?;
    let data = tempfile::tempdir()?;
    let mut server = tokio::process::Command::new(ssn_bench::ssn_binary()?)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("SSN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting ssn serve")?;
    let mut lines = BufReader::new(server.stdout.take().context("server stdout")?).lines();
    let base = loop {
        let line = lines
            .next_line()
            .await?
            .context("the server stopped before it listened")?;
        if let Some(address) = line.strip_prefix("ssn listening on ") {
            break address.to_string();
        }
    };
    let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _driver = tokio::process::Command::new(&driver_path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {driver_path}"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let driver = format!("http://127.0.0.1:{port}");
    for (width_name, width, height) in WIDTHS {
        for (name, user, password, path) in PAGES {
            let client = browser(&driver, width, height).await?;
            if !user.is_empty() {
                sign_in(&client, &base, user, password).await?;
            }
            client.goto(&format!("{base}{path}")).await?;
            act(&client, name, width_name).await?;
            let png = client.screenshot().await?;
            let file = out.join(format!("{name}-{width_name}.png"));
            std::fs::write(&file, png)?;
            println!("{}", file.display());
            client.close().await?;
        }
    }
    Ok(())
}

/// What a clerk does on the page before it is shown: a refused form (its errors beside the
/// fields and summed up at the top), a terminal added (its new key, shown once).
async fn act(client: &Client, name: &str, width_name: &str) -> anyhow::Result<()> {
    match name {
        // A beneficiary's statement: the first demo card and the demo PIN.
        "beneficiary-saldo" => {
            client
                .find(Locator::Id("pan"))
                .await?
                .send_keys("6019 0104 3547 4346")
                .await?;
            client
                .find(Locator::Id("pin"))
                .await?
                .send_keys("123456")
                .await?;
            client
                .find(Locator::Css("form[action='/saldo'] button"))
                .await?
                .click()
                .await?;
            if client
                .wait()
                .at_most(Duration::from_secs(5))
                .for_element(Locator::Id("statement"))
                .await
                .is_err()
            {
                anyhow::bail!("no statement at {}", client.current_url().await?);
            }
        }
        // The household found by its KK, with its family card.
        "office-household" => {
            client
                .find(Locator::Css("table a[href^='/households/']"))
                .await?
                .click()
                .await?;
            if client
                .wait()
                .at_most(Duration::from_secs(5))
                .for_element(Locator::Id("member-list"))
                .await
                .is_err()
            {
                anyhow::bail!("no members at {}", client.current_url().await?);
            }
        }
        "admin-ewarung-refused" => {
            client
                .find(Locator::Css("form[action='/ewarungs'] button[type=submit]"))
                .await?
                .click()
                .await?;
        }
        "admin-terminal-key" => {
            client
                .find(Locator::Css("a[href^='/ewarungs/']"))
                .await?
                .click()
                .await?;
            client
                .find(Locator::Id("terminal_id"))
                .await?
                // A terminal of its own per width: an id is registered once.
                .send_keys(if width_name == "phone" {
                    "smd00098"
                } else {
                    "smd00099"
                })
                .await?;
            client
                .find(Locator::Id("serial"))
                .await?
                .send_keys(if width_name == "phone" {
                    "PAX-A920-0098"
                } else {
                    "PAX-A920-0099"
                })
                .await?;
            client
                .find(Locator::Css(
                    "form[action$='/terminals'] button[type=submit]",
                ))
                .await?
                .click()
                .await?;
            // The add redirects to the E-Warung's page, which shows the key this once.
            if client
                .wait()
                .at_most(Duration::from_secs(5))
                .for_element(Locator::Id("pin-key"))
                .await
                .is_err()
            {
                anyhow::bail!("no key shown at {}", client.current_url().await?);
            }
        }
        _ => {}
    }
    Ok(())
}

async fn browser(driver: &str, width: u32, height: u32) -> anyhow::Result<Client> {
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": binary,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--hide-scrollbars", format!("--window-size={width},{height}")],
            // A window is at least 500 px wide; a phone's screen is drawn by emulation.
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}}
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Ok(ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(driver)
        .await?)
}

async fn sign_in(client: &Client, base: &str, user: &str, password: &str) -> anyhow::Result<()> {
    client.goto(&format!("{base}/login")).await?;
    client
        .find(Locator::Id("username"))
        .await?
        .send_keys(user)
        .await?;
    client
        .find(Locator::Id("password"))
        .await?
        .send_keys(password)
        .await?;
    client
        .find(Locator::Css("form[action='/login'] button"))
        .await?
        .click()
        .await?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.current_url().await?.path() != "/" {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{user} could not sign in"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
