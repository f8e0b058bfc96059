//! Test harness: the real server on a random port, against a fresh SQLite file or a fresh
//! PostgreSQL database (on the throwaway server that `scripts/test` starts), with demo data loaded.
#![allow(dead_code)]

pub mod process;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use ssn::{
    config::{CommonArgs, ServeArgs},
    startup::Application,
};

/// The JWT key every test server uses, so tests can forge tokens with the right and wrong keys.
pub const JWT_SECRET: &[u8; 32] = b"test-jwt-secret-0123456789abcdef";
pub const PIN_KEY: &[u8; 32] = b"test-pin-key-0123456789abcdefghi";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub backend: Backend,
    pub database_url: String,
    pub app_state: ssn::http::state::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub data_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A database URL for a new, empty database on `backend`.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("ssn.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("SSN_TEST_POSTGRES_URL").expect(
                "SSN_TEST_POSTGRES_URL is not set: run the suite with scripts/test, which starts PostgreSQL",
            );
            let name = format!("ssn_test_{}", uuid::Uuid::new_v4().simple());
            let mut connection = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut connection)
                .await
                .expect("create database");
            let (prefix, _) = admin.rsplit_once('/').expect("URL has a database");
            format!("{prefix}/{name}")
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the server with demo data, its settings built in code (no argv): the flags' defaults,
/// the test keys, then whatever `settings` changes.
pub async fn spawn_app_with(backend: Backend, settings: impl FnOnce(&mut ServeArgs)) -> TestApp {
    use base64::Engine;
    let data_dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(backend, data_dir.path()).await;
    let b64 = |key: &[u8]| base64::engine::general_purpose::STANDARD.encode(key);
    let common = CommonArgs {
        database_url: Some(database_url.clone()),
        data_dir: data_dir.path().to_path_buf(),
        ..CommonArgs::default()
    };
    let mut serve = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        demo: true,
        jwt_secret: Some(b64(JWT_SECRET).into()),
        pin_key: Some(b64(PIN_KEY).into()),
        ..ServeArgs::default()
    };
    settings(&mut serve);
    let app = Application::build(&common, &serve)
        .await
        .expect("app builds");
    let base = format!("http://{}", app.address());
    let app_state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        base,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        backend,
        database_url,
        app_state,
        stop: Some(stop),
        data_dir,
    }
}

/// Demo users and their passwords (see src/demo.rs).
/// The web application's menu for each demo user, as each role must see it (the same
/// `Role::may` as the API decides it).
pub const ROLE_MENUS: [(&str, &[&str]); 6] = [
    (
        "dinsos",
        &[
            "/",
            "/office",
            "/households",
            "/change-requests",
            "/complaints",
            "/quota",
            "/bank",
            "/audit",
            "/ewarungs",
            "/programs",
            "/users",
        ],
    ),
    ("warung-berkah", &["/", "/kiosk"]),
    ("kaltimtara", &["/", "/office", "/quota", "/bank"]),
    (
        "auditor",
        &[
            "/",
            "/office",
            "/households",
            "/change-requests",
            "/complaints",
            "/quota",
            "/bank",
            "/audit",
            "/ewarungs",
            "/programs",
            "/users",
        ],
    ),
    (
        "admin",
        &["/", "/households", "/ewarungs", "/programs", "/users"],
    ),
    ("verifikator", &["/", "/field"]),
];

pub fn demo_password(username: &str) -> &'static str {
    match username {
        "admin" => "demo-admin-pass",
        "dinsos" => "demo-office-pass",
        "diskominfo" => "demo-office2-pass",
        "warung-berkah" => "demo-operator-pass",
        "warung-sejahtera" => "demo-operator2-pass",
        "kaltimtara" => "demo-bank-pass",
        "kaltimtara-2" => "demo-bank2-pass",
        "auditor" => "demo-auditor-pass",
        "verifikator" => "demo-verifier-pass",
        other => panic!("no demo user {other}"),
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The stable error code, or "" when the body is not an error.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected reply: {}",
            self.body
        );
        self.body
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected reply: {}",
            self.body
        );
    }
}

impl TestApp {
    pub async fn login(&self, username: &str) -> String {
        let reply = self
            .request(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(serde_json::json!({
                    "username": username, "password": demo_password(username)
                })),
            )
            .await;
        let body = reply.expect(200);
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.raw(
            method,
            path,
            token,
            bytes.as_ref().map(|_| "application/json"),
            bytes,
        )
        .await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    /// Applies a change proposed through a household's own endpoint (PATCH, …/status,
    /// …/members, …/head): `proposed` must be its 202 with the submitted change request, which
    /// an office user other than its author approves. Answers the household after the change.
    pub async fn approved(&self, proposed: Reply) -> Value {
        let request = proposed.expect(202);
        assert_eq!(request["state"], "submitted", "{request}");
        let checker = if request["author"] == "diskominfo" {
            "dinsos"
        } else {
            "diskominfo"
        };
        let token = self.login(checker).await;
        let id = request["id"].as_str().unwrap();
        let applied = self
            .post(
                &format!("/v1/change-requests/{id}/approve"),
                &token,
                Value::Null,
            )
            .await
            .expect(200);
        assert_eq!(applied["state"], "applied", "{applied}");
        let household = request["household_id"].as_str().unwrap();
        self.get(&format!("/v1/households/{household}"), &token)
            .await
            .expect(200)
    }

    /// The id of the demo household with this KK number.
    pub async fn household_id(&self, token: &str, kk_number: &str) -> String {
        let list = self
            .get("/v1/households?limit=500", token)
            .await
            .expect(200);
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kk_number"] == kk_number)
            .map(|h| h["id"].as_str().unwrap().to_string())
            .expect("demo household exists")
    }

    /// The id of the demo E-Warung with this name.
    pub async fn ewarung_id(&self, token: &str, name: &str) -> String {
        let list = self.get("/v1/ewarungs", token).await.expect(200);
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["id"].as_str().unwrap().to_string())
            .expect("demo E-Warung exists")
    }

    /// The audit log's actions for one subject, oldest first, as read by `token`'s user.
    pub async fn audit_actions(
        &self,
        token: &str,
        subject_type: &str,
        subject_id: &str,
    ) -> Vec<String> {
        let path = format!("/v1/audit?subject_type={subject_type}&subject_id={subject_id}");
        let audit = self.get(&path, token).await.expect(200);
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap().to_string())
            .collect()
    }

    /// Counts rows of a table straight from the database, to prove a refused request changed nothing.
    pub async fn count(&self, table: &str) -> i64 {
        count_on(
            self.backend,
            &self.database_url,
            &format!("SELECT COUNT(*) FROM {table}"),
        )
        .await
    }
}

/// The demo cards, in the order of the demo households (KK ...0001 to ...0005); PIN 123456.
pub const DEMO_PANS: [&str; 5] = [
    "6019010435474346",
    "6019010457276496",
    "6019010429400612",
    "6019010115197969",
    "6019010245629063",
];
pub const DEMO_KKS: [&str; 5] = [
    "6472010101230001",
    "6472010101230002",
    "6472010101230003",
    "6472010101230004",
    "6472010101230005",
];
pub const DEMO_PIN: &str = "123456";
/// What the demo loads onto every household for the current month.
pub const DEMO_QUOTA: &str = "200000.00";

/// Today's date as a terminal would send it (the business day, WITA).
pub fn today() -> String {
    ssn::redemption::engine::local_date(chrono::Utc::now())
}

/// An authorize request for one line of rice (`BERAS-MEDIUM`, cap 14000 per kg).
pub fn purchase(terminal: &str, stan: &str, pan: &str, kilos: u32, price: &str) -> Value {
    serde_json::json!({
        "terminal_id": terminal,
        "stan": stan,
        "local_time": format!("{}T10:00:00", today()),
        "pan": pan,
        "pin": DEMO_PIN,
        "type": "purchase",
        "lines": [{"sku": "BERAS-MEDIUM", "quantity": kilos, "unit_price": price}],
    })
}

/// Names an earlier request of `terminal` for complete, void and reversal.
pub fn original(terminal: &str, stan: &str) -> Value {
    serde_json::json!({"terminal_id": terminal, "stan": stan, "local_date": today()})
}

impl TestApp {
    /// One completed purchase of `kilos` kg of rice at 13,500 (authorize, then complete): the
    /// authorize answer.
    pub async fn buy(
        &self,
        operator: &str,
        terminal: &str,
        stan: &str,
        pan: &str,
        kilos: u32,
    ) -> Value {
        let answer = self
            .post(
                "/v1/redemptions/authorize",
                operator,
                purchase(terminal, stan, pan, kilos, "13500"),
            )
            .await
            .expect(200);
        assert_eq!(answer["response_code"], "00", "{answer}");
        let done = self
            .post(
                "/v1/redemptions/complete",
                operator,
                original(terminal, stan),
            )
            .await
            .expect(200);
        assert_eq!(done["state"], "completed", "{done}");
        answer
    }

    /// The household's balance as a terminal sees it (balance inquiry with PIN).
    pub async fn balance(&self, operator_token: &str, terminal: &str, pan: &str) -> String {
        let body = serde_json::json!({"terminal_id": terminal, "pan": pan, "pin": DEMO_PIN});
        let reply = self
            .post("/v1/redemptions/balance", operator_token, body)
            .await
            .expect(200);
        assert_eq!(reply["response_code"], "00", "{reply}");
        reply["balance"].as_str().unwrap().to_string()
    }

    /// Runs `ssn ledger verify`'s check and fails the test on any violation.
    pub async fn assert_ledger_clean(&self) {
        let check = self
            .app_state
            .store
            .ledger()
            .verify_ledger()
            .await
            .expect("the ledger check runs");
        assert!(
            check.is_clean(),
            "ledger violations: {:#?}",
            check.violations
        );
    }

    /// Runs one SQL statement straight on the database (to set up or tamper in tests).
    pub async fn execute(&self, sql: &str) {
        execute_on(self.backend, &self.database_url, sql).await
    }

    /// Posts raw bytes and returns the raw answer bytes (to compare replays byte for byte).
    pub async fn post_bytes(&self, path: &str, token: &str, body: &Value) -> Vec<u8> {
        let response = self
            .http
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request reaches the server");
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap().to_vec()
    }
}

/// Runs a `SELECT COUNT(*) …` on a test database.
pub async fn count_on(backend: Backend, database_url: &str, sql: &str) -> i64 {
    match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(database_url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(database_url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
    }
}

/// Runs one SQL statement on a test database.
pub async fn execute_on(backend: Backend, database_url: &str, sql: &str) {
    match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(database_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(database_url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

/// What a test written once for both databases starts from: the backend itself (the test sets
/// up what it needs), or the demo server on it.
pub trait OnBackend: Sized {
    fn start(backend: Backend) -> impl std::future::Future<Output = Self>;
}

impl OnBackend for Backend {
    async fn start(backend: Backend) -> Self {
        backend
    }
}

impl OnBackend for TestApp {
    async fn start(backend: Backend) -> Self {
        spawn_app(backend).await
    }
}

/// The start of a test on `backend`, as its function asks for it (see [`on_both_backends!`]).
pub async fn start_on<T: OnBackend>(backend: Backend) -> T {
    T::start(backend).await
}

/// Runs each named `async fn(TestApp)` or `async fn(Backend)` as two tests, `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::common::start_on(Backend::Sqlite).await).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::common::start_on(Backend::Postgres).await).await }
        }
    )* };
}
