//! Every page in both languages: each role walks every page its menu leads to (following the
//! links on each page), first in Indonesian, then in English, and no page may show a message key
//! or a text of the other language. A batch with line errors and a refused form are among the
//! pages, so refusals are read too.

use std::collections::{BTreeSet, HashMap, VecDeque};

use reqwest::StatusCode;

use crate::common::*;
use crate::on_both_backends;
use crate::web_client::*;

const INDONESIAN: &str = include_str!("../../src/web/locales/id.ftl");
const ENGLISH: &str = include_str!("../../src/web/locales/en.ftl");
/// Pages a walk opens at most, per role and language.
const MOST_PAGES: usize = 120;

/// `key = value` of a Fluent file (single-line messages, as this project writes them).
fn messages(source: &str) -> HashMap<String, String> {
    source
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with(' '))
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// Texts of `other` that cannot be mistaken for a text of `mine`: long enough to be a phrase,
/// different from this language's text of the same key, cut at the first placeholder.
fn foreign_phrases(mine: &HashMap<String, String>, other: &HashMap<String, String>) -> Vec<String> {
    let own: BTreeSet<&String> = mine.values().collect();
    let mut phrases: Vec<String> = other
        .iter()
        .filter(|(key, value)| mine.get(*key) != Some(*value) && !own.contains(value))
        .map(|(_, value)| value.split('{').next().unwrap_or("").trim().to_string())
        .filter(|phrase| phrase.chars().count() >= 14)
        .collect();
    phrases.sort();
    phrases.dedup();
    phrases
}

/// What a person reads on a page: its text and the attributes read aloud or shown, without
/// scripts, and without what the page itself marks as being in English (the language switch,
/// a bank file's technical detail).
fn readable(html: &str) -> String {
    let mut text = html.to_string();
    for (open, close) in [("<script", "</script>"), ("<style", "</style>")] {
        while let Some(at) = text.find(open) {
            let end = text[at..]
                .find(close)
                .map_or(text.len(), |e| at + e + close.len());
            text.replace_range(at..end, " ");
        }
    }
    // Elements marked lang="en" inside a page (never nested in this app's templates).
    while let Some(at) = text.find(" lang=\"en\"") {
        let start = text[..at].rfind('<').unwrap();
        let name: String = text[start + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name == "html" {
            text.replace_range(at..at + 10, " ");
            continue;
        }
        let close = format!("</{name}>");
        let end = text[at..]
            .find(&close)
            .map_or(text.len(), |e| at + e + close.len());
        text.replace_range(start..end, " ");
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        out.push(' ');
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e + 1);
        let tag = &rest[at..end];
        for attribute in [
            "aria-label=\"",
            "data-label=\"",
            "placeholder=\"",
            "title=\"",
            "alt=\"",
        ] {
            if let Some(value_at) = tag.find(attribute) {
                let value = &tag[value_at + attribute.len()..];
                out.push_str(&value[..value.find('"').unwrap_or(value.len())]);
                out.push(' ');
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// The addresses a page links to that a walk may open (no sign-out, files or static files).
fn links(html: &str) -> Vec<String> {
    html.match_indices("href=\"/")
        .map(|(at, _)| {
            let rest = &html[at + 6..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
        .filter(|href| {
            !href.starts_with("/static/") && !href.ends_with(".csv") && !href.starts_with("/#")
        })
        .collect()
}

/// Opens every page reachable from `/` and checks each; answers how many it read.
async fn walk(
    browser: &mut Browser,
    lang: &str,
    foreign: &[String],
    keys: &BTreeSet<String>,
) -> usize {
    let mut seen = BTreeSet::from(["/".to_string()]);
    let mut queue = VecDeque::from(["/".to_string()]);
    let mut read = 0;
    while let Some(path) = queue.pop_front() {
        if read == MOST_PAGES {
            break;
        }
        let page = browser.get(&path).await;
        if page.status == StatusCode::SEE_OTHER {
            let to = page.location().to_string();
            assert_ne!(to, "/login", "{path}: signed out");
            if seen.insert(to.clone()) {
                queue.push_back(to);
            }
            continue;
        }
        read += 1;
        assert!(
            page.status == StatusCode::OK || page.status == StatusCode::FORBIDDEN,
            "{path}: {}",
            page.status
        );
        assert!(
            page.body.contains(&format!("<html lang=\"{lang}\"")),
            "{path}"
        );
        check(&path, &page.body, foreign, keys);
        for link in links(&page.body) {
            // Pages of one kind are alike: a few of each.
            let of_kind = seen.iter().filter(|s| kind(s) == kind(&link)).count();
            if of_kind < 3 && seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    read
}

/// A page's kind: its first segment and how many segments it has (`/households/{id}`).
fn kind(path: &str) -> (String, usize) {
    let path = path.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    (segments.first().unwrap_or(&"").to_string(), segments.len())
}

/// English words that no Indonesian sentence uses: an English sentence the engine wrote (a
/// refusal, a detail) shows up by them even when no text file has it.
const ENGLISH_WORDS: [&str; 10] = [
    "the",
    "must",
    "is",
    "not",
    "cannot",
    "found",
    "expected",
    "characters",
    "digits",
    "already",
];

fn check(path: &str, html: &str, foreign: &[String], keys: &BTreeSet<String>) {
    let text = readable(html);
    if html.contains("<html lang=\"id\"") {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            assert!(
                !ENGLISH_WORDS.contains(&word),
                "{path} shows the English word {word:?}: {text}"
            );
        }
    }
    for phrase in foreign {
        assert!(
            !text.contains(phrase.as_str()),
            "{path} shows {phrase:?} of the other language"
        );
    }
    for word in text.split(|c: char| c.is_whitespace() || "()[]:,.;\"'".contains(c)) {
        assert!(
            !keys.contains(word),
            "{path} shows the message key {word:?}"
        );
    }
}

async fn every_page_speaks_one_language(app: TestApp) {
    let indonesian = messages(INDONESIAN);
    let english = messages(ENGLISH);
    let keys: BTreeSet<String> = indonesian.keys().cloned().collect();
    // A batch with line errors, so its page shows them.
    let office = app.login("dinsos").await;
    let file = "period,program_code,kk_number,amount_idr\n2026-13,NOPE,12345,-5\n";
    let batch = app
        .raw(
            reqwest::Method::POST,
            "/v1/quota/batches",
            Some(&office),
            Some("text/csv"),
            Some(file.as_bytes().to_vec()),
        )
        .await;
    assert!(batch.status.is_success(), "{}", batch.body);
    for username in ["dinsos", "warung-berkah", "kaltimtara", "auditor", "admin"] {
        let mut browser = Browser::new(&app);
        browser.login(username).await;
        let read = walk(
            &mut browser,
            "id",
            &foreign_phrases(&indonesian, &english),
            &keys,
        )
        .await;
        assert!(read > 1, "{username} read {read} pages");
        let csrf = browser.get("/").await.csrf();
        browser
            .post("/locale", &[("csrf", &csrf), ("locale", "en")])
            .await;
        walk(
            &mut browser,
            "en",
            &foreign_phrases(&english, &indonesian),
            &keys,
        )
        .await;
    }
}

/// The checks themselves catch what they are for.
#[test]
fn the_checks_catch_a_key_and_a_foreign_phrase() {
    let keys = BTreeSet::from(["menu-home".to_string()]);
    let foreign = vec!["must be at most".to_string()];
    let caught =
        |html: &str| std::panic::catch_unwind(|| check("/x", html, &foreign, &keys)).is_err();
    assert!(caught("<p>menu-home</p>"));
    assert!(caught("<td data-label=\"menu-home\">1</td>"));
    assert!(caught("<p>name must be at most 5</p>"));
    assert!(!caught(
        "<p>Beranda</p><button lang=\"en\">must be at most</button>"
    ));
}

on_both_backends!(every_page_speaks_one_language);
