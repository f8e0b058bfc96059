//! Login, tokens, and every role boundary.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

fn claims(role: &str, exp_offset_seconds: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": uuid::Uuid::now_v7(), "name": "forger", "role": role, "iss": "ssn", "aud": "ssn-api",
            "iat": now, "exp": now + exp_offset_seconds })
}

async fn login_gives_a_token_and_a_wrong_password_is_refused(app: TestApp) {
    let token = app.login("dinsos").await;
    app.get("/v1/households", &token).await.expect(200);
    for (username, password) in [("dinsos", "wrong-password"), ("nobody", "demo-office-pass")] {
        let reply = app
            .request(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        reply.expect_error(401, "invalid_credentials");
    }
}

async fn requests_without_a_valid_token_are_refused_401(app: TestApp) {
    app.request(Method::GET, "/v1/households", None, None)
        .await
        .expect_error(401, "missing_token");
    let reply = app
        .raw(Method::GET, "/v1/households", None, None, None)
        .await;
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    app.get("/v1/households", "not.a.jwt")
        .await
        .expect_error(401, "invalid_token");

    let other_key = encode(
        &Header::new(Algorithm::HS256),
        &claims("office", 600),
        &EncodingKey::from_secret(b"another-key-another-key-another!"),
    )
    .unwrap();
    app.get("/v1/households", &other_key)
        .await
        .expect_error(401, "invalid_token");

    let expired = encode(
        &Header::new(Algorithm::HS256),
        &claims("office", -120),
        &EncodingKey::from_secret(JWT_SECRET),
    )
    .unwrap();
    app.get("/v1/households", &expired)
        .await
        .expect_error(401, "token_expired");

    // Right key, but an algorithm other than the configured one.
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims("office", 600),
        &EncodingKey::from_secret(JWT_SECRET),
    )
    .unwrap();
    app.get("/v1/households", &hs512)
        .await
        .expect_error(401, "invalid_token");

    // `alg: none` with no signature at all.
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims("admin", 600).to_string());
    app.get("/v1/households", &format!("{header}.{payload}."))
        .await
        .expect_error(401, "invalid_token");

    // A correctly signed token is accepted, which shows the refusals above are about the token.
    let good = encode(
        &Header::new(Algorithm::HS256),
        &claims("auditor", 600),
        &EncodingKey::from_secret(JWT_SECRET),
    )
    .unwrap();
    app.get("/v1/households", &good).await.expect(200);
}

async fn each_role_can_do_exactly_its_own_work(app: TestApp) {
    let household = json!({"kk_number": "6472019999000001", "head_nik": "6472019999000001", "head_name": "Uji Coba",
        "address": {"street": "Jl. Uji", "rt": "1", "rw": "2", "kelurahan": "Sidodadi", "kecamatan": "Samarinda Ulu"}});
    let program = json!({"code": "UJI", "name": "Uji", "default_monthly_amount": "100000", "carry_over_months": 1});
    let user = |name: &str| json!({"username": name, "password": "long-enough-password", "role": "auditor"});
    // (user, method, path, body, expected status)
    let cases: Vec<(&str, Method, &str, Option<serde_json::Value>, u16)> = vec![
        ("auditor", Method::GET, "/v1/households", None, 200),
        ("auditor", Method::GET, "/v1/audit", None, 200),
        ("auditor", Method::GET, "/v1/users", None, 200),
        (
            "auditor",
            Method::POST,
            "/v1/households",
            Some(household.clone()),
            403,
        ),
        (
            "auditor",
            Method::POST,
            "/v1/programs",
            Some(program.clone()),
            403,
        ),
        (
            "auditor",
            Method::POST,
            "/v1/users",
            Some(user("aud-1")),
            403,
        ),
        ("operator", Method::GET, "/v1/households", None, 403),
        ("operator", Method::GET, "/v1/users", None, 403),
        (
            "operator",
            Method::GET,
            "/v1/programs/SSN-SEMBAKO/items",
            None,
            200,
        ),
        (
            "operator",
            Method::POST,
            "/v1/households",
            Some(household.clone()),
            403,
        ),
        ("bank", Method::GET, "/v1/households", None, 403),
        ("bank", Method::GET, "/v1/ewarungs", None, 200),
        (
            "bank",
            Method::POST,
            "/v1/programs",
            Some(program.clone()),
            403,
        ),
        (
            "admin",
            Method::POST,
            "/v1/households",
            Some(household.clone()),
            403,
        ),
        ("admin", Method::POST, "/v1/users", Some(user("aud-2")), 201),
        (
            "office",
            Method::POST,
            "/v1/users",
            Some(user("aud-3")),
            403,
        ),
        (
            "office",
            Method::POST,
            "/v1/households",
            Some(household.clone()),
            201,
        ),
        (
            "office",
            Method::POST,
            "/v1/programs",
            Some(program.clone()),
            201,
        ),
    ];
    for (role, method, path, body, expected) in cases {
        let username = match role {
            "auditor" => "auditor",
            "operator" => "warung-berkah",
            "bank" => "kaltimtara",
            "admin" => "admin",
            "office" => "dinsos",
            _ => unreachable!(),
        };
        let token = app.login(username).await;
        let reply = app.request(method.clone(), path, Some(&token), body).await;
        assert_eq!(
            reply.status.as_u16(),
            expected,
            "{role} {method} {path}: {}",
            reply.body
        );
        if expected == 403 {
            assert_eq!(reply.code(), "forbidden_role");
        }
    }
}

async fn an_operator_acts_only_for_their_own_ewarung(app: TestApp) {
    let office = app.login("dinsos").await;
    let own = app.ewarung_id(&office, "E-Warung Berkah").await;
    let other = app.ewarung_id(&office, "E-Warung Sejahtera").await;
    let operator = app.login("warung-berkah").await;

    app.get("/v1/terminals/SMD00001", &operator)
        .await
        .expect(200);
    app.get("/v1/terminals/SMD00003", &operator)
        .await
        .expect_error(403, "forbidden_ewarung");
    app.get(&format!("/v1/ewarungs/{own}"), &operator)
        .await
        .expect(200);
    app.get(&format!("/v1/ewarungs/{other}"), &operator)
        .await
        .expect_error(403, "forbidden_ewarung");
    app.get(&format!("/v1/ewarungs/{other}/terminals"), &operator)
        .await
        .expect_error(403, "forbidden_ewarung");
    let terminals = app
        .get(&format!("/v1/ewarungs/{own}/terminals"), &operator)
        .await
        .expect(200);
    assert_eq!(terminals.as_array().unwrap().len(), 2);

    let listed = app.get("/v1/ewarungs", &operator).await.expect(200);
    let ids: Vec<_> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec![own]);
    // The bank sees every E-Warung.
    let bank = app.login("kaltimtara").await;
    assert_eq!(
        app.get("/v1/ewarungs", &bank).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn operators_must_be_bound_to_an_existing_ewarung(app: TestApp) {
    let admin = app.login("admin").await;
    let unbound =
        json!({"username": "op-x", "password": "long-enough-password", "role": "operator"});
    let reply = app.post("/v1/users", &admin, unbound).await;
    reply.expect_error(422, "ewarung_binding");
    let ghost = json!({"username": "op-y", "password": "long-enough-password", "role": "operator", "ewarung_id": uuid::Uuid::now_v7()});
    app.post("/v1/users", &admin, ghost)
        .await
        .expect_error(404, "ewarung_not_found");
    let weak = json!({"username": "op-z", "password": "short", "role": "auditor"});
    app.post("/v1/users", &admin, weak)
        .await
        .expect_error(422, "weak_password");
    let taken = json!({"username": "dinsos", "password": "long-enough-password", "role": "office"});
    app.post("/v1/users", &admin, taken)
        .await
        .expect_error(409, "username_taken");
}

async fn attempt(app: &TestApp, username: &str, password: &str) -> Reply {
    app.request(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

/// A login as sent through a proxy that says it came from `forwarded_for`.
async fn attempt_from(app: &TestApp, username: &str, password: &str, forwarded_for: &str) -> u16 {
    app.http
        .post(format!("{}/v1/auth/login", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn failed_logins_are_throttled_per_username_and_per_address(app: TestApp) {
    for _ in 0..5 {
        attempt(&app, "dinsos", "wrong-password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    // The sixth try from that address is refused before the password is looked at, the right
    // password too.
    for password in ["wrong-password", "demo-office-pass"] {
        let reply = attempt(&app, "dinsos", password).await;
        reply.expect_error(429, "too_many_attempts");
        let wait: u64 = reply.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&wait), "{wait}");
    }
    // Another user from the same address still gets in...
    app.login("diskominfo").await;
    // ...and so after the address has failed often, whatever usernames it tried: its failures
    // are answered slowly, its other users' right passwords at once.
    for i in 0..15 {
        attempt(&app, &format!("guess{i}"), "wrong-password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    let started = std::time::Instant::now();
    attempt(&app, "guess-more", "wrong-password")
        .await
        .expect_error(401, "invalid_credentials");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1900),
        "a failure from a slowed address waits: {:?}",
        started.elapsed()
    );
    app.login("auditor").await;
}

/// Behind a trusted proxy each client is its own address: one guessing a password locks only
/// itself out of that account. A client that is not a trusted proxy cannot pick its address by
/// sending `X-Forwarded-For`.
async fn behind_a_trusted_proxy_each_client_is_throttled_alone(backend: Backend) {
    let behind = spawn_app_with(backend, |serve| {
        serve.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for _ in 0..5 {
        assert_eq!(
            attempt_from(&behind, "dinsos", "wrong", "198.51.100.1").await,
            401
        );
    }
    assert_eq!(
        attempt_from(&behind, "dinsos", "demo-office-pass", "198.51.100.1").await,
        429
    );
    assert_eq!(
        attempt_from(&behind, "dinsos", "demo-office-pass", "198.51.100.2").await,
        200,
        "the clerk at another desk signs in"
    );
    // Without the proxy trusted, the header names nothing: the guesser's spoofed addresses are
    // all the peer's, and so is the pair that is refused.
    let direct = spawn_app(backend).await;
    for i in 0..5 {
        let spoofed = format!("203.0.113.{i}");
        assert_eq!(
            attempt_from(&direct, "dinsos", "wrong", &spoofed).await,
            401
        );
    }
    assert_eq!(
        attempt_from(&direct, "dinsos", "demo-office-pass", "203.0.113.99").await,
        429
    );
}

on_both_backends!(
    failed_logins_are_throttled_per_username_and_per_address,
    behind_a_trusted_proxy_each_client_is_throttled_alone,
    login_gives_a_token_and_a_wrong_password_is_refused,
    requests_without_a_valid_token_are_refused_401,
    each_role_can_do_exactly_its_own_work,
    an_operator_acts_only_for_their_own_ewarung,
    operators_must_be_bound_to_an_existing_ewarung,
);
