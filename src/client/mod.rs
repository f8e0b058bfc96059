//! The commands that are clients of the service's own API: the office's quota jobs
//! ([`quota`]: `ssn quota load | approve | expire`) and the bank's daily jobs ([`recon`]: `ssn
//! close`, `ssn recon …`, `ssn settle`). They go through the server like any other user, so roles,
//! maker-checker and audit apply to them exactly as to a browser or script.

pub mod quota;
pub mod recon;

use anyhow::{bail, Context};
use clap::Args;
use serde::{de::DeserializeOwned, Deserialize};

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The ssn server to talk to.
    #[arg(long, env = "SSN_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Who to log in as. The password comes from SSN_PASSWORD or, if unset, the first line of
    /// standard input, so it never shows in the process list.
    #[arg(long, env = "SSN_USERNAME")]
    pub username: String,
}

pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Deserialize)]
struct LoginReply {
    access_token: String,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    field: Option<String>,
}

impl ApiClient {
    /// Logs in and keeps the token for the calls that follow.
    pub async fn login(args: &ClientArgs) -> anyhow::Result<Self> {
        let password = match std::env::var("SSN_PASSWORD") {
            Ok(password) => password,
            Err(_) => {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                line.trim_end_matches(['\r', '\n']).to_string()
            }
        };
        let http = reqwest::Client::builder()
            .build()
            .context("building the HTTP client")?;
        let base = args.server.trim_end_matches('/').to_string();
        let response = http
            .post(format!("{base}/v1/auth/login"))
            .json(&serde_json::json!({ "username": args.username, "password": password }))
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {base}"))?;
        let login: LoginReply = read(response).await.context("login failed")?;
        Ok(Self {
            http,
            base,
            token: login.access_token,
        })
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
}

/// Reads a JSON answer, turning an error body into a readable error.
/// Posts `file` as `text/csv` to `path` (with `query`), streamed, with a progress bar saying
/// `doing` (e.g. "uploading").
pub async fn upload_csv(
    client: &ApiClient,
    path: &str,
    query: &[(&str, String)],
    file: &std::path::Path,
    doing: &str,
) -> anyhow::Result<reqwest::Response> {
    use futures_util::TryStreamExt;
    use indicatif::{ProgressBar, ProgressStyle};
    let handle = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("cannot open {}", file.display()))?;
    let size = handle.metadata().await?.len();
    let progress = ProgressBar::new(size).with_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {doing} {{bytes}}/{{total_bytes}} [{{bar:30}}] {{percent}}% {{bytes_per_sec}}, {{eta}} left"
        ))
        .context("progress template")?
        .progress_chars("=> "),
    );
    let ticker = progress.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(handle, 256 * 1024)
        .inspect_ok(move |chunk| ticker.inc(chunk.len() as u64));
    let response = client
        .request(reqwest::Method::POST, path)
        .query(query)
        .header(reqwest::header::CONTENT_TYPE, "text/csv")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .with_context(|| format!("sending {}", file.display()))?;
    progress.finish_and_clear();
    Ok(response)
}

/// The file's own name, for the record on the server.
pub fn file_name(file: &std::path::Path, default: &str) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| default.into())
}

pub async fn read<T: DeserializeOwned>(response: reqwest::Response) -> anyhow::Result<T> {
    let status = response.status();
    let bytes = response.bytes().await.context("reading the answer")?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).context("the server's answer was not understood");
    }
    match serde_json::from_slice::<ErrorReply>(&bytes) {
        Ok(ErrorReply { error }) => match error.field {
            Some(field) => bail!(
                "{} ({}, field {field}): {}",
                status,
                error.code,
                error.message
            ),
            None => bail!("{} ({}): {}", status, error.code, error.message),
        },
        Err(_) => bail!("{status}: {}", String::from_utf8_lossy(&bytes)),
    }
}
