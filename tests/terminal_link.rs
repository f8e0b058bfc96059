//! The whole terminal chain over real pseudo-terminals: `terminal-sim` ↔ pty ↔ `ssn terminal
//! gateway` ↔ `ssn serve` ↔ database, each a real process, on SQLite and PostgreSQL. One test per
//! failure class, each with its expected ending; the load test runs every fault class at once
//! and checks every transaction against the host.

#[path = "common/mod.rs"]
mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use common::{fresh_database, process::*, Backend, DEMO_PANS};
use serde_json::Value;

const OPERATOR: (&str, &str) = ("warung-berkah", "demo-operator-pass");

/// `terminal-sim` is built beside `ssn` by `cargo test --workspace` (scripts/test builds it first).
fn terminal_sim() -> PathBuf {
    let path = Path::new(SSN).with_file_name("terminal-sim");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` (scripts/test does)",
        path.display()
    );
    path
}

/// A chain: server, and a gateway on a device path that the simulator creates.
struct Chain {
    dir: tempfile::TempDir,
    database_url: String,
    listen: String,
    server: Option<ServerProcess>,
    gateway: Child,
    device: PathBuf,
}

impl Chain {
    async fn start(backend: Backend) -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database(backend, dir.path()).await;
        // The server picks its own free port (a port probed here and handed over could be taken
        // by a parallel test in between); a restart comes back on the same one.
        let server = ServerProcess::start(dir.path(), &database_url, &[]);
        let listen = server
            .base
            .strip_prefix("http://")
            .expect("the server prints its URL")
            .to_string();
        // The load mode links each terminal's pty at `PREFIX-ID`.
        let device = dir.path().join("edc-SMD00001");
        let gateway = ssn_command(&dir.path().join("gateway"), &database_url)
            .env("SSN_USERNAME", OPERATOR.0)
            .env("SSN_PASSWORD", OPERATOR.1)
            .env("SSN_LOG", "info,ssn=debug")
            .args(["terminal", "gateway", "--device"])
            .arg(&device)
            .args(["--server", &server.base, "--host-timeout-seconds", "3"])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("gateway.log")).unwrap())
            .spawn()
            .expect("the gateway starts");
        Chain {
            dir,
            database_url,
            listen,
            server: Some(server),
            gateway,
            device,
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.listen)
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("terminal-state.json")
    }

    /// Runs a scenario through the simulator; one report per command.
    fn script(&self, lines: &[&str], flags: &[&str]) -> Vec<Value> {
        let file = self
            .dir
            .path()
            .join(format!("script-{}.txt", uuid::Uuid::new_v4().simple()));
        std::fs::write(&file, lines.join("\n")).unwrap();
        let output = self
            .sim(flags)
            .args(["script"])
            .arg(&file)
            .output()
            .expect("terminal-sim runs");
        assert!(
            output.status.success(),
            "terminal-sim failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.gateway_log()
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn sim(&self, flags: &[&str]) -> Command {
        let mut command = Command::new(terminal_sim());
        command
            .env_clear()
            .arg("--pty-link")
            .arg(&self.device)
            .arg("--state")
            .arg(self.state())
            .args(["--baud", "115200", "--response-timeout-seconds", "10"])
            .args(flags);
        command
    }

    fn gateway_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    /// One sample of the gateway's own `/metrics` (at the address its log names), 0 if absent.
    async fn gateway_metric(&self, series: &str) -> f64 {
        let log = self.gateway_log();
        let address = log
            .lines()
            .find(|line| line.contains("serving /metrics"))
            .and_then(|line| line.split("address=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("the gateway names its /metrics address: {log}"));
        let text = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0)
    }

    async fn status(&self, stan: u64) -> Value {
        let http = reqwest::Client::new();
        let token = login(&http, &self.base(), OPERATOR.0, OPERATOR.1).await;
        let date = ssn::redemption::engine::local_date(chrono::Utc::now());
        http.post(format!("{}/v1/redemptions/status", self.base()))
            .bearer_auth(token)
            .json(&serde_json::json!({"terminal_id": "SMD00001", "stan": format!("{stan:06}"), "local_date": date}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    fn assert_ledger_verifies(&self) {
        let output = ssn_command(self.dir.path(), &self.database_url)
            .args(["ledger", "verify"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "ledger verify: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = self.gateway.kill();
        let _ = self.gateway.wait();
    }
}

fn purchase_line(pan: &str, pin: &str) -> String {
    format!("purchase {pan} {pin} BERAS-MEDIUM*2*13500")
}

#[track_caller]
fn assert_report(report: &Value, outcome: &str, code: Option<&str>) {
    assert_eq!(report["outcome"], outcome, "{report}");
    if let Some(code) = code {
        assert_eq!(report["code"], code, "{report}");
    }
}

async fn a_person_buys_rice_and_cash_is_refused(backend: Backend) {
    let chain = Chain::start(backend).await;
    let pan = DEMO_PANS[0];
    let reports = chain.script(
        &[
            "logon",
            &purchase_line(pan, "123456"),
            &format!("cash {pan} 123456 50000"),
            &format!("cashback {pan} 123456 BERAS-MEDIUM*1*13500"),
            &purchase_line(pan, "999999"),
            &format!("balance {pan} 123456"),
            "event PAPER_OUT",
            "batch",
            &purchase_line(pan, "123456"),
            // The second bag is returned the same day: back to the card, never as cash.
            &format!("refund {pan} 9 27000"),
            &format!("balance {pan} 123456"),
            "batch",
            // The same bag refunded again under a new STAN: refused, and not counted.
            &format!("refund {pan} 9 27000"),
            "batch",
        ],
        &[],
    );
    assert_report(&reports[0], "approved", Some("00"));
    assert_report(&reports[1], "approved", Some("00"));
    assert_eq!(reports[1]["balance_minor"], 20_000_000 - 2_700_000);
    assert_eq!(reports[1]["display"], "Disetujui");
    assert_report(&reports[2], "declined", Some("57"));
    assert_report(&reports[3], "declined", Some("57"));
    assert_report(&reports[4], "declined", Some("55"));
    assert_eq!(reports[5]["balance_minor"], 20_000_000 - 2_700_000);
    assert_report(&reports[6], "approved", Some("00"));
    // The terminal's totals (one purchase of Rp 27,000) agree with the host's.
    assert_report(&reports[7], "approved", Some("00"));
    assert_report(&reports[8], "approved", Some("00"));
    assert_eq!(reports[8]["stan"], 9, "{}", reports[8]);
    assert_report(&reports[9], "approved", Some("00"));
    // The refund put the second bag's money back on the card, once.
    assert_eq!(
        reports[10]["balance_minor"],
        20_000_000 - 2_700_000,
        "{}",
        reports[10]
    );
    assert_eq!(chain.status(9).await["state"], "refunded");
    // Purchases and refunds agree with the host's.
    assert_report(&reports[11], "approved", Some("00"));
    assert_report(&reports[12], "declined", Some("94"));
    assert_report(&reports[13], "approved", Some("00"));
    assert_eq!(chain.status(9).await["state"], "refunded");
    // Exactly one debit, completed; the cash attempts are recorded as refused.
    let bought = chain.status(reports[1]["stan"].as_u64().unwrap()).await;
    assert_eq!(bought["state"], "completed", "{bought}");
    let cash = chain.status(reports[2]["stan"].as_u64().unwrap()).await;
    assert_eq!(cash["answer"]["response_code"], "57");
    assert!(
        !chain.gateway_log().contains(pan),
        "the full card number never reaches the gateway's log"
    );
    chain.assert_ledger_verifies();
}

impl Chain {
    /// `terminal-sim load` with `flags`, checked against the host; the summary.
    fn load(&self, transactions: usize, flags: &[&str]) -> Value {
        let count = transactions.to_string();
        let output = self
            .sim(flags)
            .env("SSN_SERVER", self.base())
            .env("SSN_USERNAME", OPERATOR.0)
            .env("SSN_PASSWORD", OPERATOR.1)
            .args([
                "load",
                "--transactions",
                &count,
                "--terminal-ids",
                "SMD00001",
                "--check",
            ])
            .arg("--link-prefix")
            .arg(self.dir.path().join("edc"))
            .arg("--state-dir")
            .arg(self.dir.path())
            .args(["--cards", &DEMO_PANS[..4].join(",")])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "load failed:\n{stdout}\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.gateway_log()
        );
        let summary: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(summary["transactions"], transactions, "{summary}");
        for count in ["lost", "duplicated", "unresolved"] {
            assert_eq!(summary["check"][count], 0, "{count}: {summary}");
        }
        summary
    }
}

/// How many transactions ended as `outcome` (e.g. "purchase reversed", "cash_back declined 57").
fn ended(summary: &Value, outcome: &str) -> u64 {
    summary["outcomes"][outcome].as_u64().unwrap_or(0)
}

/// One fault class on its own: every transaction ends exactly once on both sides (the load's
/// check), the ledger verifies, and the class's own ending is there.
async fn fault_class(backend: Backend, flags: &[&str], expect: fn(&Value)) {
    let chain = Chain::start(backend).await;
    let mut all = vec!["--seed", "11"];
    all.extend_from_slice(flags);
    let summary = chain.load(12, &all);
    expect(&summary);
    chain.assert_ledger_verifies();
}

fn link(summary: &Value, counter: &str) -> u64 {
    summary["batch_totals"][0]["link"][counter]
        .as_u64()
        .unwrap()
}

fn batch_code(summary: &Value) -> &str {
    summary["batch_totals"][0]["code"].as_str().unwrap_or("")
}

macro_rules! fault_classes {
    ($($name:ident: [$($flag:expr),*] => $expect:expr;)*) => { $(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { fault_class(Backend::Sqlite, &[$($flag),*], $expect).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { fault_class(Backend::Postgres, &[$($flag),*], $expect).await }
        }
    )* };
}

fault_classes! {
    // A damaged frame is NAKed and sent again; every purchase still ends once: approved, or
    // reversed when an answer stayed damaged three times (which frames the seeded faults hit
    // depends on timing: a slow ACK means one more frame), and both sides' totals agree.
    corrupted_bytes: ["--corrupt-rate", "0.4"] => |s| {
        assert!(link(s, "retransmissions") > 0, "{s}");
        let approved = ended(s, "purchase approved");
        assert!(approved >= 8, "{s}");
        assert_eq!(approved + ended(s, "purchase reversed"), 12, "{s}");
        assert_eq!(batch_code(s), "00", "{s}");
    };
    // The gateway resends an answer whose ACK was lost; the terminal takes it once.
    lost_acks: ["--drop-ack-rate", "0.3"] => |s| {
        assert!(link(s, "duplicates_suppressed") > 0, "{s}");
        assert_eq!(batch_code(s), "00", "{s}");
    };
    naks: ["--nak-rate", "0.3"] => |s| assert_eq!(batch_code(s), "00", "{s}");
    // A frame sent twice is delivered once: one debit per purchase, totals agree.
    duplicated_frames: ["--duplicate-rate", "0.6"] => |s| {
        assert_eq!(ended(s, "purchase approved"), 12, "{s}");
        assert_eq!(batch_code(s), "00", "{s}");
    };
    // Half a request, then silence: the terminal reverses; the host has nothing or a marker.
    link_dropped_before_the_ack: ["--drop-before-ack-rate", "0.5"] => |s| {
        assert!(ended(s, "purchase reversed") > 0, "{s}");
        assert_eq!(batch_code(s), "00", "{s}");
    };
    // The answer is never read: the approval is reversed and the balance restored exactly once.
    link_dropped_after_the_ack: ["--drop-after-ack-rate", "0.5"] => |s| {
        assert!(ended(s, "purchase reversed") > 0, "{s}");
        assert_eq!(batch_code(s), "00", "{s}");
    };
    // The answer comes after the terminal stopped waiting: it is stale and ignored.
    answer_after_the_timeout: ["--late-response-rate", "0.5"] => |s| {
        assert!(ended(s, "purchase reversed") > 0, "{s}");
    };
    power_loss_at_any_step: ["--power-loss-rate", "0.1"] => |s| {
        assert_eq!(batch_code(s), "00", "{s}");
    };
    printer_out_after_approval: ["--printer-out-rate", "0.5"] => |s| {
        assert!(ended(s, "purchase reversed") > 0, "{s}");
        assert_eq!(batch_code(s), "00", "{s}");
    };
    card_read_failure: ["--card-read-failure-rate", "0.5"] => |s| {
        assert!(ended(s, "purchase no_request") > 0, "{s}");
    };
    wrong_pin: ["--wrong-pin-rate", "0.4"] => |s| {
        assert!(ended(s, "purchase declined 55") + ended(s, "purchase declined 75") > 0, "{s}");
    };
    cash_withdrawal: ["--cash-rate", "0.5"] => |s| {
        assert!(ended(s, "cash_withdrawal declined 57") > 0, "{s}");
    };
    purchase_with_cash_back: ["--cashback-rate", "0.5"] => |s| {
        assert!(ended(s, "cash_back declined 57") > 0, "{s}");
    };
    // The terminal's clock 40 minutes behind: for most of the day the same date, near midnight
    // another one; either way its requests are keyed by its own date and its totals agree.
    clock_skew: ["--clock-skew-seconds", "-2400"] => |s| {
        assert_eq!(ended(s, "purchase approved"), 12, "{s}");
        assert_eq!(batch_code(s), "00", "{s}");
    };
    batch_totals_that_disagree: ["--batch-mismatch"] => |s| assert_eq!(batch_code(s), "95", "{s}");
}

async fn the_outbox_drains_in_order_when_the_host_returns(backend: Backend) {
    let mut chain = Chain::start(backend).await;
    let pan = DEMO_PANS[1];
    let first = chain.script(&["logon", &purchase_line(pan, "123456")], &[]);
    assert_report(&first[1], "approved", Some("00"));

    // The host goes away. The terminal does not hear the gateway's answer and reverses; the
    // gateway stores the reversal and acknowledges it.
    chain.server.take();
    let lost = chain.script(
        &[&purchase_line(pan, "123456")],
        &["--drop-after-ack-rate", "1"],
    );
    assert_report(&lost[0], "reversed", None);
    let reversed_stan = lost[0]["stan"].as_u64().unwrap();
    // While the reversal waits, no new purchase goes through: 91 at once.
    let refused = chain.script(&[&purchase_line(pan, "123456")], &[]);
    assert_report(&refused[0], "declined", Some("91"));
    // A monitoring system sees it waiting.
    assert_eq!(
        chain.gateway_metric("ssn_gateway_outbox_pending").await,
        1.0
    );
    assert_eq!(chain.gateway_metric("ssn_gateway_outbox_parked").await, 0.0);

    // The host returns: the reversal goes first, then the new purchase is approved.
    chain.server = Some(ServerProcess::start_at(
        chain.dir.path(),
        &chain.database_url,
        &chain.listen,
        &[],
    ));
    let after = chain.script(&[&purchase_line(pan, "123456")], &[]);
    assert_report(&after[0], "approved", Some("00"));
    let reversal = chain.status(reversed_stan).await;
    assert_eq!(reversal["status"], "not_found", "{reversal}");
    assert_eq!(
        chain.status(first[1]["stan"].as_u64().unwrap()).await["state"],
        "completed"
    );
    assert_eq!(
        chain.gateway_metric("ssn_gateway_outbox_pending").await,
        0.0
    );
    chain.assert_ledger_verifies();
}

async fn the_gateway_comes_back_after_the_device_vanished(backend: Backend) {
    let chain = Chain::start(backend).await;
    let pan = DEMO_PANS[2];
    // A power cut in the middle closes the line (the pty disappears) and a new one appears at
    // the same path; the gateway reopens it and the next purchase goes through.
    let reports = chain.script(
        &[
            "logon",
            &purchase_line(pan, "123456"),
            "power-loss",
            &purchase_line(pan, "123456"),
        ],
        &[],
    );
    assert_report(&reports[1], "approved", Some("00"));
    assert_eq!(reports[2]["kind"], "power_loss");
    assert_report(&reports[3], "approved", Some("00"));
    assert!(
        chain.gateway_log().contains("device lost"),
        "{}",
        chain.gateway_log()
    );
    assert!(
        chain
            .gateway_metric(r#"ssn_gateway_link_events_total{event="device_lost"}"#)
            .await
            >= 1.0
    );
    chain.assert_ledger_verifies();
}

/// docs/conformance/vectors.json, replayed byte for byte: every answer as the vectors say.
async fn the_conformance_vectors_are_answered_as_documented(backend: Backend) {
    let chain = Chain::start(backend).await;
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conformance/vectors.json");
    let document: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let vectors = document["vectors"].as_array().unwrap();
    let lines: Vec<String> = vectors
        .iter()
        .map(|vector| format!("raw {}", vector["payload_hex"].as_str().unwrap()))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let reports = chain.script(&lines, &["--response-timeout-seconds", "3"]);
    assert_eq!(reports.len(), vectors.len());
    for (vector, report) in vectors.iter().zip(&reports) {
        let name = &vector["name"];
        let expect = &vector["expect"];
        if expect.is_null() {
            assert_eq!(report["outcome"], "no_answer", "{name}: {report}");
            continue;
        }
        assert_eq!(report["outcome"], "answered", "{name}: {report}");
        assert_eq!(report["note"], expect["mti"], "{name}: {report}");
        for (tag, value) in expect["elements"].as_object().unwrap() {
            assert_eq!(
                &report["elements"][tag], value,
                "{name}: DE{tag} in {report}"
            );
        }
    }
    // Nothing the unreadable messages said was acted on; each was counted.
    assert!(
        chain.gateway_log().contains("unreadable message"),
        "{}",
        chain.gateway_log()
    );
    assert!(
        chain
            .gateway_metric(r#"ssn_gateway_link_events_total{event="unreadable_message"}"#)
            .await
            >= 1.0
    );
}

on_both_backends!(
    the_conformance_vectors_are_answered_as_documented,
    a_person_buys_rice_and_cash_is_refused,
    the_outbox_drains_in_order_when_the_host_returns,
    the_gateway_comes_back_after_the_device_vanished,
);

/// After an alarm a person looks at the gateway's outbox and, once the cause is fixed, puts the
/// parked items back in line.
#[tokio::test]
async fn parked_outbox_items_are_listed_and_can_be_put_back_in_line() {
    use ssn::gateway::outbox::{AdviceAction, Outbox};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.sqlite");
    let outbox = Outbox::open(&path).await.unwrap();
    outbox
        .push(AdviceAction::Reverse, "SMD00001", "000042", "2026-11-23")
        .await
        .unwrap();
    outbox
        .push(AdviceAction::Complete, "SMD00001", "000043", "2026-11-23")
        .await
        .unwrap();
    let first = outbox.pending().await.unwrap()[0].id;
    outbox.park(first, "host refused: 422").await.unwrap();
    let run = |extra: &[&str]| {
        let output = Command::new(SSN)
            .args(["--data-dir"])
            .arg(dir.path())
            .args(["terminal", "outbox", "--outbox"])
            .arg(&path)
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let listed = run(&[]);
    assert!(listed.contains("2 item(s)"), "{listed}");
    assert!(
        listed.contains(
            "reversal SMD00001 000042 2026-11-23 tries=0 PARKED last error: host refused: 422"
        ),
        "{listed}"
    );
    assert!(listed.contains("complete SMD00001 000043"), "{listed}");
    let retried = run(&["--retry-parked"]);
    assert!(
        retried.contains("1 parked item(s) back in line"),
        "{retried}"
    );
    assert_eq!(outbox.parked_count().await.unwrap(), 0);
    assert_eq!(outbox.pending_count().await.unwrap(), 2);
    // Still in the order they came.
    assert_eq!(outbox.pending().await.unwrap()[0].stan, "000042");
}
