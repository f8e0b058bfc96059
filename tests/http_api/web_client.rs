//! A browser without JavaScript, for the web application's tests over HTTP: it keeps cookies,
//! follows no redirect by itself (each step is checked), and reads forms' CSRF tokens.

use std::collections::HashMap;

use reqwest::{header, redirect::Policy, StatusCode};

use crate::common::*;

/// A cookie-keeping client that does not follow redirects, so each step can be checked.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// The menu's links, in order.
    pub fn menu(&self) -> Vec<String> {
        let nav = &self.body[self.body.find("<nav").expect("a menu")..];
        let nav = &nav[..nav.find("</nav>").unwrap()];
        nav.match_indices("href=\"")
            .map(|(at, _)| {
                let rest = &nav[at + 6..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: HashMap::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// Posts a multipart form: `csrf`, then `file` named `file_name` with `content`.
    pub async fn upload(&mut self, path: &str, csrf: &str, file_name: &str, content: &str) -> Page {
        let boundary = "ssn-test-boundary-7d93";
        let body = format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             content-type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n"
        );
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }

    /// Posts a multipart form: the text `fields` in order, then `file` (name, file name,
    /// content type, bytes) if given.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &str, &[u8])>,
    ) -> Page {
        let boundary = "ssn-test-boundary-7d93";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((name, file_name, content_type, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     content-type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }

    /// Posts a form that is to be refused: the answer sends the browser back to `form_path`
    /// (post/redirect/get), where the refused form shows its errors; returns that page.
    pub async fn post_refused(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        form_path: &str,
    ) -> Page {
        let answer = self.post(path, form).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location(), form_path);
        let page = self.get(form_path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page
    }

    /// Follows a redirect answer with a GET of its location.
    pub async fn follow(&mut self, answer: &Page) -> Page {
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let location = answer.location().to_string();
        self.get(&location).await
    }

    pub async fn login_as(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn login(&mut self, username: &str) -> Page {
        let done = self.login_as(username, demo_password(username)).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/");
        done
    }
}

/// A page wrote a change request (`written` is its answer, a redirect to the request): the
/// request's page says so, and a second office user (`diskominfo`) approves it on that page.
/// Answers the request's page after the approval.
pub async fn approve_written(app: &TestApp, author: &mut Browser, written: &Page) -> Page {
    let request = author.follow(written).await;
    assert!(request.body.contains("id=\"written\""), "{}", request.body);
    assert!(
        request.body.contains("id=\"waits-for-other\""),
        "the author does not approve"
    );
    let path = written.location().to_string();
    let mut checker = Browser::new(app);
    checker.login("diskominfo").await;
    let page = checker.get(&path).await;
    let csrf = page.csrf();
    let approved = checker
        .post(&format!("{path}/approve"), &[("csrf", &csrf)])
        .await;
    let after = checker.follow(&approved).await;
    assert!(
        after.body.contains("id=\"decider\">diskominfo"),
        "{}",
        after.body
    );
    after
}

/// A request a page wrote (`written`, the redirect to it) approved on its page by `checker`.
pub async fn approve_written_by(app: &TestApp, written: &Page, checker: &str) -> Page {
    let path = written.location().to_string();
    let mut browser = Browser::new(app);
    browser.login(checker).await;
    let page = browser.get(&path).await;
    let csrf = page.csrf();
    let approved = browser
        .post(&format!("{path}/approve"), &[("csrf", &csrf)])
        .await;
    let after = browser.follow(&approved).await;
    assert!(
        after.body.contains(&format!("id=\"decider\">{checker}")),
        "{}",
        after.body
    );
    after
}

/// The text between `start` and the next `end`.
pub fn between(text: &str, start: &str, end: &str) -> String {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {text}"))
        + start.len();
    text[at..at + text[at..].find(end).unwrap()].to_string()
}
