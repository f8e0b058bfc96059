//! `ssn serve` as a child process on a real database, for the tests that need a whole process:
//! batch commands talking to it over HTTP, and SIGKILL at random moments. Its logs go to a file
//! (a pipe nobody reads would fill up and stall a busy server).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

pub const SSN: &str = env!("CARGO_BIN_EXE_ssn");

/// `ssn` with a clean environment, the test's data directory and database.
pub fn ssn_command(data_dir: &Path, database_url: &str) -> Command {
    let mut command = Command::new(SSN);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(database_url);
    command
}

pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts `ssn serve --demo` and waits until it listens. Keys are fixed so that tokens and
    /// PINs stay valid across restarts.
    pub fn start(data_dir: &Path, database_url: &str, extra: &[&str]) -> ServerProcess {
        Self::start_at(data_dir, database_url, "127.0.0.1:0", extra)
    }

    /// As `start`, on a given address (a restarted server that clients find at the same place).
    pub fn start_at(
        data_dir: &Path,
        database_url: &str,
        listen: &str,
        extra: &[&str],
    ) -> ServerProcess {
        use base64::Engine;
        let b64 = |key: &[u8]| base64::engine::general_purpose::STANDARD.encode(key);
        let log = data_dir.join(format!("server-{}.log", uuid::Uuid::new_v4().simple()));
        let child = ssn_command(data_dir, database_url)
            .env("SSN_JWT_SECRET", b64(super::JWT_SECRET))
            .env("SSN_PIN_KEY", b64(super::PIN_KEY))
            .args(["serve", "--listen", listen, "--demo"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("ssn starts");
        let mut server = ServerProcess {
            child,
            base: String::new(),
            log,
        };
        let mut stdout = BufReader::new(server.child.stdout.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let read = stdout.read_line(&mut line).unwrap();
            assert!(
                read > 0,
                "ssn exited before listening: {seen}\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            seen.push_str(&line);
            if let Some(address) = line.trim().strip_prefix("ssn listening on ") {
                server.base = address.to_string();
                // Keep draining stdout so the server never blocks on it.
                std::thread::spawn(move || for _ in stdout.lines() {});
                return server;
            }
        }
    }

    /// SIGKILL: no shutdown, no flushing, exactly like a power cut of the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Logs in over HTTP and returns the access token.
pub async fn login(http: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let reply: serde_json::Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["access_token"].as_str().unwrap().to_string()
}
