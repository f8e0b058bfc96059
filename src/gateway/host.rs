//! The gateway's client for the service's redemption API, logged in as the E-Warung's operator.
//! Failures are sorted by what they mean for money: the request surely never reached the host
//! (`Unreachable`, safe to answer 91), it may have (`Uncertain`, must be reversed), or the host
//! refused it (`Refused`, definite).

use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("host unreachable: {0}")]
    Unreachable(String),
    #[error("no answer from the host, the request may have been processed: {0}")]
    Uncertain(String),
    #[error("host refused the request ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
}

pub struct HostClient {
    http: reqwest::Client,
    base: String,
    username: String,
    password: Zeroizing<String>,
    token: Mutex<Option<String>>,
}

impl HostClient {
    /// `timeout` bounds every call, so a terminal never waits longer than that for a 91.
    pub fn new(
        server: &str,
        username: &str,
        password: Zeroizing<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(2)))
                .build()?,
            base: server.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password,
            token: Mutex::new(None),
        })
    }

    /// POSTs JSON to the API, logging in first when needed and once more if the token expired.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, HostError> {
        for fresh_login in [false, true] {
            let token = self.token(fresh_login).await?;
            let response = self
                .http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&token)
                .json(body)
                .send()
                .await
                .map_err(classify)?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED && !fresh_login {
                continue;
            }
            return read(response).await;
        }
        unreachable!("the second pass always returns")
    }

    /// Whether the host answers at all (for logon and echo).
    pub async fn reachable(&self) -> bool {
        match self.http.get(format!("{}/readyz", self.base)).send().await {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    }

    async fn token(&self, fresh: bool) -> Result<String, HostError> {
        let mut token = self.token.lock().await;
        if let (Some(token), false) = (token.as_ref(), fresh) {
            return Ok(token.clone());
        }
        let response = self
            .http
            .post(format!("{}/v1/auth/login", self.base))
            .json(&serde_json::json!({"username": self.username, "password": *self.password}))
            .send()
            .await
            .map_err(|error| match classify(error) {
                // Logging in moves no money: an unclear failure is as good as unreachable.
                HostError::Uncertain(text) => HostError::Unreachable(text),
                other => other,
            })?;
        let reply = read(response).await?;
        let access = reply["access_token"]
            .as_str()
            .ok_or_else(|| HostError::Unreachable("login answer without a token".into()))?
            .to_string();
        *token = Some(access.clone());
        Ok(access)
    }
}

fn classify(error: reqwest::Error) -> HostError {
    if error.is_connect() {
        HostError::Unreachable(error.to_string())
    } else {
        HostError::Uncertain(error.to_string())
    }
}

async fn read(response: reqwest::Response) -> Result<Value, HostError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| HostError::Uncertain(format!("answer cut short: {error}")))?;
    // 204 No Content and the like carry no body.
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|error| HostError::Uncertain(format!("unreadable answer: {error}")))?
    };
    if status.is_success() {
        return Ok(body);
    }
    if status.is_server_error() {
        return Err(HostError::Uncertain(format!("{status}: {body}")));
    }
    Err(HostError::Refused {
        status: status.as_u16(),
        code: body["error"]["code"].as_str().unwrap_or("").to_string(),
        message: body["error"]["message"].as_str().unwrap_or("").to_string(),
    })
}
