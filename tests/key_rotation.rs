//! Key rotation while `ssn serve` takes purchases, on both engines: the card-number key is
//! rotated by `ssn keys rotate-pan`, killed (SIGKILL) half way through its re-encryption, and
//! resumed; every number stays readable under the key its row names meanwhile, and the server
//! picks the new key up without a restart. The token-signing key is rotated: tokens of the old
//! key keep working, new ones name the new key, and a retired key's tokens are refused.

#[path = "common/mod.rs"]
mod common;

use std::{
    process::{Child, Command, Output},
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use base64::Engine;
use common::{process::*, Backend};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `ssn keys …` as an operator runs it beside the server: the same data directory and keys.
fn keys(dir: &std::path::Path, db: &str, args: &[&str]) -> Command {
    let mut command = ssn_command(dir, db);
    command
        .env("SSN_PIN_KEY", b64(common::PIN_KEY))
        .arg("keys")
        .args(args);
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn cards_under(backend: Backend, db: &str, key: i32) -> i64 {
    common::count_on(
        backend,
        db,
        &format!("SELECT COUNT(*) FROM cards WHERE pan_key_id = {key}"),
    )
    .await
}

/// The `kid` in a token's header.
fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&json).unwrap();
    header["kid"].as_str().unwrap_or_default().to_string()
}

/// Purchases on every demo card, round robin, until told to stop; counts approvals and
/// anything else.
fn purchase_load(
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
    approved: Arc<AtomicU32>,
    refused: Arc<AtomicU32>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut n = 0u32;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let stan = format!("{n:06}");
            let pan = common::DEMO_PANS[n as usize % common::DEMO_PANS.len()];
            let mut ok = true;
            for (path, body) in [
                (
                    "/v1/redemptions/authorize",
                    common::purchase("SMD00001", &stan, pan, 1, "1000"),
                ),
                (
                    "/v1/redemptions/complete",
                    common::original("SMD00001", &stan),
                ),
            ] {
                let reply: serde_json::Value = http
                    .post(format!("{base}{path}"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if reply["response_code"] != "00" {
                    if refused.load(Ordering::Relaxed) == 0 {
                        eprintln!("refused: {path} {reply}");
                    }
                    ok = false;
                }
            }
            // Paced: the demo quota allows 1,000 such purchases, the test runs some seconds.
            tokio::time::sleep(Duration::from_millis(30)).await;
            if ok {
                approved.fetch_add(1, Ordering::Relaxed);
            } else {
                refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

async fn keys_rotate_under_load_and_survive_a_crash(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database(backend, dir.path()).await;
    let server = ServerProcess::start(dir.path(), &db, &[]);
    let http = reqwest::Client::new();
    let operator = login(&http, &server.base, "warung-berkah", "demo-operator-pass").await;
    let office = login(&http, &server.base, "dinsos", "demo-office-pass").await;
    assert_eq!(kid(&operator), "0");
    let stop = Arc::new(AtomicBool::new(false));
    let (approved, refused) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let load = purchase_load(
        server.base.clone(),
        operator.clone(),
        stop.clone(),
        approved.clone(),
        refused.clone(),
    );

    // A re-encryption killed after its first batch: one card under the new key, the rest
    // under the old one.
    let mut rotation: Child = keys(
        dir.path(),
        &db,
        &["rotate-pan", "--batch", "1", "--pause-ms", "3000"],
    )
    .spawn()
    .unwrap();
    for _ in 0..200 {
        if cards_under(backend, &db, 1).await >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    rotation.kill().unwrap();
    rotation.wait().unwrap();
    assert_eq!(
        cards_under(backend, &db, 1).await,
        1,
        "one batch of one card"
    );
    assert_eq!(cards_under(backend, &db, 0).await, 4);

    // Meanwhile the server opens numbers under either key (a PIN's value is keyed by the
    // number), found the new key without a restart, and seals new cards under it.
    let mut cards = Vec::new();
    for pan in common::DEMO_PANS {
        let card: serde_json::Value = http
            .post(format!("{}/v1/cards/lookup", server.base))
            .bearer_auth(&office)
            .json(&serde_json::json!({ "pan": pan }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        cards.push(card["id"].as_str().expect("card found").to_string());
    }
    for card in &cards {
        let reply = http
            .put(format!("{}/v1/cards/{card}/pin", server.base))
            .bearer_auth(&office)
            .json(&serde_json::json!({"pin": common::DEMO_PIN}))
            .send()
            .await
            .unwrap();
        let status = reply.status();
        assert_eq!(
            status,
            200,
            "{}\n{}",
            reply.text().await.unwrap(),
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
    }
    let status = keys(dir.path(), &db, &["status"]).output().unwrap();
    assert!(
        text(&status).contains("key 1: 1 cards"),
        "{}",
        text(&status)
    );
    let retire_early = keys(dir.path(), &db, &["retire-pan", "0"])
        .output()
        .unwrap();
    assert!(!retire_early.status.success());

    // Resumed: every number under key 1; the old key can go, the newest cannot.
    let resumed = keys(dir.path(), &db, &["rotate-pan", "--resume"])
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert!(
        text(&resumed).contains("sealed 4 card numbers under key 1; 0 left"),
        "{}",
        text(&resumed)
    );
    assert_eq!(cards_under(backend, &db, 1).await, 5);
    let newest = keys(dir.path(), &db, &["retire-pan", "1"])
        .output()
        .unwrap();
    assert!(text(&newest).contains("is the newest"), "{}", text(&newest));

    // A second rotation, all the way, then the first rotated key retired.
    let again = keys(dir.path(), &db, &["rotate-pan", "--batch", "2"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(cards_under(backend, &db, 2).await, 5);
    let retired = keys(dir.path(), &db, &["retire-pan", "1"])
        .output()
        .unwrap();
    assert!(retired.status.success(), "{}", text(&retired));
    assert!(!dir.path().join("pan-key-1.key").exists());
    let reply = http
        .put(format!("{}/v1/cards/{}/pin", server.base, cards[0]))
        .bearer_auth(&office)
        .json(&serde_json::json!({"pin": common::DEMO_PIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "opens under key 2 after key 1 left");

    // The token key: old tokens keep working, new ones name the new key.
    let rotated = keys(dir.path(), &db, &["rotate-jwt"]).output().unwrap();
    assert!(rotated.status.success(), "{}", text(&rotated));
    let newer = login(&http, &server.base, "dinsos", "demo-office-pass").await;
    assert_eq!(kid(&newer), "1");
    for token in [&office, &newer] {
        let reply = http
            .get(format!("{}/v1/households", server.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
    let first = keys(dir.path(), &db, &["retire-jwt", "0"])
        .output()
        .unwrap();
    assert!(
        text(&first).contains("is the first key"),
        "{}",
        text(&first)
    );
    keys(dir.path(), &db, &["rotate-jwt"]).output().unwrap();
    let alive = keys(dir.path(), &db, &["retire-jwt", "1"])
        .output()
        .unwrap();
    assert!(
        text(&alive).contains("may be valid for"),
        "{}",
        text(&alive)
    );
    // As if the token lifetime had passed since key 2 was made.
    let made = dir.path().join("jwt-key-2.key");
    std::fs::File::options()
        .write(true)
        .open(&made)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let retired = keys(dir.path(), &db, &["retire-jwt", "1"])
        .output()
        .unwrap();
    assert!(retired.status.success(), "{}", text(&retired));
    // Servers read the key directory every 5 seconds.
    tokio::time::sleep(ssn::startup::KEY_RELOAD_EVERY + Duration::from_millis(500)).await;
    let reply = http
        .get(format!("{}/v1/households", server.base))
        .bearer_auth(&newer)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401, "a retired key's token is refused");

    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert!(approved.load(Ordering::Relaxed) > 0);
    assert_eq!(
        refused.load(Ordering::Relaxed),
        0,
        "every purchase went through the rotations"
    );

    let auditor = login(&http, &server.base, "auditor", "demo-auditor-pass").await;
    let audit: serde_json::Value = http
        .get(format!(
            "{}/v1/audit?subject_type=key&limit=50",
            server.base
        ))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for action in [
        "keys.pan_key_created",
        "keys.pan_reencrypted",
        "keys.pan_key_retired",
        "keys.jwt_key_created",
        "keys.jwt_key_retired",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let verified = ssn_command(dir.path(), &db)
        .args(["ledger", "verify"])
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified));
}

on_both_backends!(keys_rotate_under_load_and_survive_a_crash);
