//! The gateway's client for the service's redemption API, logged in as the E-Warung's operator.
//! Failures are sorted by what they mean for money: the request surely never reached the host
//! (`Unreachable`, safe to answer 91), it may have (`Uncertain`, must be reversed), or the host
//! refused it (`Refused`, definite).

use std::time::Duration;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
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

    /// POSTs JSON to the API, logging in first when needed and once more if the token expired,
    /// and reads the answer as `T` (an answer that is not a `T` is `Uncertain`: whatever the host
    /// did, the gateway cannot tell).
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, HostError> {
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
        let reply: LoginAnswer = read(response).await?;
        *token = Some(reply.access_token.clone());
        Ok(reply.access_token)
    }
}

fn classify(error: reqwest::Error) -> HostError {
    if error.is_connect() {
        HostError::Unreachable(error.to_string())
    } else {
        HostError::Uncertain(error.to_string())
    }
}

/// The part of `POST /v1/auth/login`'s answer the gateway uses.
#[derive(Deserialize)]
struct LoginAnswer {
    access_token: String,
}

/// The API's error shape, `{"error": {"code", "message"}}`; anything else reads as empty.
#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, HostError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|error| HostError::Uncertain(format!("answer cut short: {error}")))?;
    if status.is_server_error() {
        return Err(HostError::Uncertain(format!(
            "{status}: {}",
            String::from_utf8_lossy(&bytes)
        )));
    }
    if !status.is_success() {
        let answer: ErrorAnswer = serde_json::from_slice(&bytes).unwrap_or_default();
        return Err(HostError::Refused {
            status: status.as_u16(),
            code: answer.error.code,
            message: answer.error.message,
        });
    }
    // 204 No Content and the like carry no body: read as JSON null.
    let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
    serde_json::from_slice(body)
        .map_err(|error| HostError::Uncertain(format!("unreadable answer: {error}")))
}
