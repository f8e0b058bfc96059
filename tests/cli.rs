//! The `ssn` binary as an operator runs it: `migrate`, `user add`, `serve --demo`, JSON logs that
//! mask card numbers, and a SIGTERM that lets a request in flight finish.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Stdio},
    time::Duration,
};

use sqlx::{Connection, SqliteConnection};

const SSN: &str = env!("CARGO_BIN_EXE_ssn");

fn ssn(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(SSN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--data-dir")
        .arg(data_dir);
    command
}

/// A running `ssn serve`, its base URL, and everything it printed on stdout before listening.
/// A server left running by a failing test is killed, not leaked.
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Server {
    child: Child,
    base: String,
    stdout_before: String,
    /// Everything logged on stderr so far (read by a thread as it comes).
    logs: std::sync::Arc<std::sync::Mutex<String>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(data_dir: &std::path::Path, extra: &[&str]) -> Server {
        let mut child = ssn(data_dir)
            .env("SSN_LOG_FORMAT", "json")
            // Requests are logged when they start too, so a test can wait for one to arrive.
            .env("SSN_LOG", "info,tower_http=debug")
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ssn starts");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let log_reader = {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in stderr.lines().map_while(Result::ok) {
                    let mut logs = logs.lock().unwrap();
                    logs.push_str(&line);
                    logs.push('\n');
                }
            })
        };
        // Owned by `Server` from here on, whose `Drop` reaps it on every path.
        let mut server = Server {
            child,
            base: String::new(),
            stdout_before: String::new(),
            logs,
            log_reader: Some(log_reader),
        };
        let mut stdout = BufReader::new(server.child.stdout.take().unwrap());
        loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "ssn exited before listening: {}",
                server.stdout_before
            );
            server.stdout_before.push_str(&line);
            if let Some(address) = line.trim().strip_prefix("ssn listening on ") {
                server.base = address.to_string();
                return server;
            }
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until a log line contains `needle` (a deadline only against hanging forever).
    async fn wait_for_log(&self, needle: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !self.logs.lock().unwrap().contains(needle) {
            assert!(
                std::time::Instant::now() < deadline,
                "never logged {needle:?}: {}",
                self.logs.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits for exit and returns (exit success, everything logged on stderr).
    fn wait(&mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.log_reader.take() {
            reader.join().unwrap();
        }
        let logs = self.logs.lock().unwrap().clone();
        (status.success(), logs)
    }
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    http.post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn migrate_and_user_add_prepare_a_database_a_new_user_can_log_in_to() {
    let dir = tempfile::tempdir().unwrap();
    let migrate = ssn(dir.path()).arg("migrate").output().unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(dir.path().join("ssn.db").exists());

    let added = ssn(dir.path())
        .args([
            "user",
            "add",
            "--username",
            "kepala.dinsos",
            "--role",
            "office",
        ])
        .env("SSN_USER_PASSWORD", "a-long-office-password")
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("created user kepala.dinsos (office)"));

    // The password can come on standard input instead, so it stays out of the environment.
    let mut from_stdin = ssn(dir.path())
        .args([
            "user",
            "add",
            "--username",
            "pemeriksa",
            "--role",
            "auditor",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    from_stdin
        .stdin
        .take()
        .unwrap()
        .write_all(b"another-long-password\n")
        .unwrap();
    assert!(from_stdin.wait_with_output().unwrap().status.success());

    let again = ssn(dir.path())
        .args([
            "user",
            "add",
            "--username",
            "kepala.dinsos",
            "--role",
            "office",
        ])
        .env("SSN_USER_PASSWORD", "a-long-office-password")
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("username is taken"));
    let unbound = ssn(dir.path())
        .args(["user", "add", "--username", "kasir", "--role", "operator"])
        .env("SSN_USER_PASSWORD", "a-long-operator-password")
        .output()
        .unwrap();
    assert!(!unbound.status.success());
    assert!(
        String::from_utf8_lossy(&unbound.stderr).contains("--ewarung is required for operators")
    );

    let mut server = Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();
    assert_eq!(
        login(
            &http,
            &server.base,
            "kepala.dinsos",
            "a-long-office-password"
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        login(&http, &server.base, "pemeriksa", "another-long-password")
            .await
            .status(),
        200
    );
    assert_eq!(
        login(&http, &server.base, "pemeriksa", "wrong-password-here")
            .await
            .status(),
        401
    );
    server.terminate();
    assert!(server.wait().0);
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_and_logs_never_show_a_card_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--demo"]);
    let demo_pans: Vec<String> = server
        .stdout_before
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| word.len() == 16 && word.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    assert_eq!(
        demo_pans.len(),
        5,
        "the demo prints its cards: {}",
        server.stdout_before
    );
    let http = reqwest::Client::new();
    let token: serde_json::Value = login(&http, &server.base, "dinsos", "demo-office-pass")
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();

    // Card numbers arrive in a body and, carelessly, in a path; neither may reach the logs.
    let lookup = http
        .post(format!("{}/v1/cards/lookup", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"pan": demo_pans[0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(lookup.status(), 200);
    let in_path = http
        .get(format!("{}/v1/cards/{}", server.base, demo_pans[1]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(in_path.status(), 400);

    // Hold SQLite's write lock from outside, so the next write is genuinely in flight at SIGTERM.
    let mut blocker =
        SqliteConnection::connect(&format!("sqlite://{}", dir.path().join("ssn.db").display()))
            .await
            .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let request = {
        let (http, base, token) = (http.clone(), server.base.clone(), token.clone());
        tokio::spawn(async move {
            http.post(format!("{base}/v1/households")).bearer_auth(token)
                .json(&serde_json::json!({"kk_number": "6472010505270001", "head_nik": "6472014107850041", "head_name": "Tono",
                    "address": {"street": "Jl. D", "rt": "1", "rw": "1", "kelurahan": "K", "kecamatan": "C"}}))
                .send().await.unwrap().status()
        })
    };
    server.wait_for_log("\"path\":\"/v1/households\"").await;
    server.terminate();
    server.wait_for_log("shutting down").await;
    assert!(
        !request.is_finished(),
        "the request waits for the write lock"
    );
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    assert_eq!(
        request.await.unwrap(),
        201,
        "the request in flight was finished, not dropped"
    );

    let (exited_cleanly, logs) = server.wait();
    assert!(exited_cleanly);
    assert!(logs.contains("shutting down"));
    for line in logs.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("log line is JSON: {line}"));
        assert!(entry.get("level").is_some());
    }
    assert!(
        logs.contains("\"request_id\""),
        "requests are logged with their id"
    );
    assert!(
        logs.contains(&format!("************{}", &demo_pans[1][12..])),
        "the path is logged masked"
    );
    for pan in &demo_pans {
        assert!(
            !logs.contains(pan.as_str()),
            "a full card number reached the logs"
        );
    }
    assert!(!logs.contains("demo-office-pass"));
}
