//! The terminal itself: what an EDC does for a purchase, step by step, with every step that
//! matters written to the state file first. It never guesses: a request without a matching answer
//! is reversed, an approval whose receipt did not print is reversed, and the advice it owes the
//! host goes before anything new.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use terminal_link::{
    link::{Link, LinkError},
    messages::*,
    pin_block::{self, TerminalKey},
    tlv::IsoMessage,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::{
    faults::{Faults, FaultyAcks, FaultyStream},
    state::{Pending, State},
};

/// WITA, the terminals' local time (UTC+8).
const LOCAL_OFFSET_HOURS: i64 = 8;
/// Tries of an advice (0420, then 0421 repeats) before the terminal keeps it for later.
const ADVICE_TRIES: u32 = 3;

#[derive(Debug, Clone)]
pub struct TerminalConfig {
    pub terminal_id: String,
    pub ewarung_id: String,
    pub key: TerminalKey,
    /// How long the terminal waits for an answer before it reverses.
    pub response_timeout: Duration,
}

/// What happened to one transaction, as the scripted and load modes report it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    pub kind: &'static str,
    pub stan: Option<u32>,
    /// approved, declined, reversed, no_request, power_lost.
    pub outcome: &'static str,
    pub code: Option<String>,
    pub display: Option<String>,
    pub amount_minor: i64,
    pub balance_minor: Option<i64>,
    pub rrn: Option<String>,
    pub note: Option<String>,
    /// A raw exchange's answer, element by element (as text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<std::collections::BTreeMap<String, String>>,
}

impl Report {
    pub fn power_lost() -> Self {
        Self::new("power_loss", "restarted")
    }

    fn new(kind: &'static str, outcome: &'static str) -> Self {
        Self {
            kind,
            stan: None,
            outcome,
            code: None,
            display: None,
            amount_minor: 0,
            balance_minor: None,
            rrn: None,
            note: None,
            elements: None,
        }
    }
}

/// A power cut in the middle of a step (fault injection): the caller restarts from the state file.
#[derive(Debug, thiserror::Error)]
#[error("power lost")]
pub struct PowerLost;

/// One purchase's exchange on the line: from the request's first byte to the answer's last.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub exchange: Duration,
    /// Bytes of the request frame, its ACK, the answer frame and its ACK.
    pub wire_bytes: usize,
}

pub struct Terminal<S> {
    pub timings: Vec<Timing>,
    link: Link<FaultyStream<S>>,
    pub state: State,
    config: TerminalConfig,
    faults: Faults,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Terminal<S> {
    pub fn new(stream: S, state: State, config: TerminalConfig, faults: Faults) -> Self {
        let link = Link::new(
            FaultyStream::new(stream, faults.clone()),
            Default::default(),
        )
        .with_policy(Box::new(FaultyAcks(faults.clone())))
        .with_next_seq(state.next_seq);
        Self {
            timings: Vec::new(),
            link,
            state,
            config,
            faults,
        }
    }

    pub fn link_stats(&self) -> terminal_link::link::LinkStats {
        self.link.stats()
    }

    fn local_now(&self) -> chrono::NaiveDateTime {
        (Utc::now()
            + chrono::Duration::hours(LOCAL_OFFSET_HOURS)
            + chrono::Duration::seconds(self.faults.args.clock_skew_seconds))
        .naive_utc()
        .with_nanosecond(0)
        .expect("zero nanoseconds is valid")
    }

    /// A new request of this terminal at its own clock.
    fn request_key(&self, stan: u32) -> RequestKey {
        RequestKey {
            terminal_id: self.config.terminal_id.clone(),
            stan,
            local_time: self.local_now(),
        }
    }

    /// What the PIN pad sends: the PIN enciphered under the terminal's key for this card.
    fn pin_block(&self, pin: &str, pan: &str) -> anyhow::Result<[u8; pin_block::BLOCK_LEN]> {
        Ok(pin_block::encipher(
            &self.config.key,
            pin,
            pan,
            &mut self.faults.rng(),
        )?)
    }

    fn save(&mut self) -> anyhow::Result<()> {
        self.state.next_seq = self.link.next_seq();
        self.state.save()
    }

    fn power_cut(&self) -> Result<(), PowerLost> {
        if self.faults.roll(self.faults.args.power_loss_rate) {
            Err(PowerLost)
        } else {
            Ok(())
        }
    }

    /// Sends a message and waits for its answer; answers to other requests are stale and ignored.
    async fn exchange(
        &mut self,
        message: &TerminalMessage,
        timeout: Duration,
    ) -> Result<HostMessage, LinkError> {
        self.link
            .send(&message.encode().expect("the terminal's own messages fit"))
            .await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(LinkError::Timeout);
            }
            let payload = self.link.recv(Some(left)).await?;
            match HostMessage::decode(&payload) {
                Ok(answer) if answer.answers(message) => return Ok(answer),
                Ok(stale) => {
                    tracing::info!(answer = ?stale.terminal_and_stan(), "terminal: stale answer ignored")
                }
                Err(error) => tracing::warn!(%error, "terminal: unreadable answer ignored"),
            }
        }
    }

    /// Sends a request that moves no money on the terminal's side; the report from its answer.
    async fn ask(&mut self, request: &TerminalMessage, mut report: Report) -> Report {
        match self.exchange(request, self.config.response_timeout).await {
            Ok(answer) => {
                let code = answer.response_code().unwrap_or_default().to_string();
                report.outcome = if code == "00" { "approved" } else { "declined" };
                report.code = Some(code);
                match answer {
                    HostMessage::Financial(answer) => {
                        report.display = Some(answer.display);
                        report.balance_minor = answer.balance_minor;
                    }
                    HostMessage::BatchTotals(answer) => report.display = Some(answer.display),
                    HostMessage::Network(answer) => {
                        report.note = Some(format!("host time {} UTC", answer.host_time_utc))
                    }
                    _ => {}
                }
            }
            Err(error) => report.note = Some(error.to_string()),
        }
        report
    }

    /// Sends `payload` as it is and reports the first answer: its MTI (`note`), DE39 (`code`),
    /// DE44 (`display`) and every data element (`elements`, hex). No answer in the response
    /// timeout is the outcome `no_answer`.
    pub async fn raw(&mut self, payload: &[u8]) -> anyhow::Result<Report> {
        let mut report = Report::new("raw", "no_answer");
        self.link.send(payload).await?;
        match self.link.recv(Some(self.config.response_timeout)).await {
            Ok(answer) => {
                let iso = IsoMessage::decode(&answer).map_err(|error| {
                    anyhow::anyhow!("the host's answer does not decode: {error}")
                })?;
                let text = |tag| {
                    iso.get(tag)
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                };
                report.outcome = "answered";
                report.note = Some(iso.mti.to_string());
                report.code = text(de::RESPONSE_CODE);
                report.display = text(de::DISPLAY_TEXT);
                report.elements = Some(
                    iso.tags()
                        .map(|tag| (tag.to_string(), text(tag).unwrap_or_default()))
                        .collect(),
                );
            }
            Err(LinkError::Timeout) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(report)
    }

    /// Clears the advice owed to the host, if any. `false` if the host did not take it yet.
    pub async fn recover(&mut self) -> anyhow::Result<bool> {
        let Some(pending) = self.state.pending.clone() else {
            return Ok(true);
        };
        let (kind, key, amount) = match &pending {
            Pending::Uncertain { key, amount_minor } | Pending::Reverse { key, amount_minor } => {
                (AdviceKind::Reversal, key, *amount_minor)
            }
            Pending::Complete { key, amount_minor } => (AdviceKind::Completion, key, *amount_minor),
        };
        for attempt in 0..ADVICE_TRIES {
            let kind = if kind == AdviceKind::Reversal && attempt > 0 {
                AdviceKind::ReversalRepeat
            } else {
                kind
            };
            let advice = TerminalMessage::Advice(Advice {
                kind,
                original: key.into(),
                amount_minor: amount,
            });
            match self.exchange(&advice, self.config.response_timeout).await {
                Ok(HostMessage::Advice(answer)) if answer.response_code == "00" => {
                    let date = key.local_time.format("%Y-%m-%d").to_string();
                    let day = self.state.day(&date);
                    match &pending {
                        Pending::Complete { .. } => {
                            day.purchases.0 += 1;
                            day.purchases.1 += amount;
                        }
                        Pending::Reverse { .. } => {
                            day.reversals.0 += 1;
                            day.reversals.1 += amount;
                        }
                        Pending::Uncertain { .. } => {}
                    }
                    self.state.pending = None;
                    self.save()?;
                    return Ok(true);
                }
                Ok(other) => tracing::warn!(?other, "terminal: advice not accepted"),
                Err(error) => {
                    tracing::warn!(%error, "terminal: advice not acknowledged");
                    if error.device_lost() {
                        return Err(error.into());
                    }
                }
            }
        }
        Ok(false)
    }

    pub async fn logon(&mut self) -> anyhow::Result<Report> {
        let stan = self.state.take_stan();
        self.save()?;
        let request = TerminalMessage::Network(NetworkRequest {
            terminal_id: self.config.terminal_id.clone(),
            stan,
            code: NetworkCode::Logon,
        });
        let mut report = Report::new("logon", "declined");
        report.stan = Some(stan);
        Ok(self.ask(&request, report).await)
    }

    /// A purchase (or a refused cash type, by `processing`) of `basket` with `pan` and `pin`.
    pub async fn purchase(
        &mut self,
        processing: ProcessingCode,
        pan: &str,
        pin: &str,
        basket: Vec<BasketLine>,
    ) -> anyhow::Result<Report> {
        let kind = match processing {
            ProcessingCode::Purchase => "purchase",
            ProcessingCode::CashWithdrawal => "cash_withdrawal",
            ProcessingCode::PurchaseWithCashBack => "cash_back",
            _ => "other",
        };
        if !self.recover().await? {
            let mut report = Report::new(kind, "no_request");
            report.note = Some("an earlier advice is still owed to the host".into());
            return Ok(report);
        }
        if self.faults.roll(self.faults.args.card_read_failure_rate) {
            let _ = self.device_event(DeviceEventKind::CardReadError).await;
            let mut report = Report::new(kind, "no_request");
            report.note = Some("card read error".into());
            return Ok(report);
        }
        let pin = if self.faults.roll(self.faults.args.wrong_pin_rate) {
            if pin == "000000" { "111111" } else { "000000" }.to_string()
        } else {
            pin.to_string()
        };
        let amount_minor: i64 = basket
            .iter()
            .map(|line| i64::from(line.quantity) * line.unit_price_minor)
            .sum();
        let stan = self.state.take_stan();
        let key = self.request_key(stan);
        let pin_block = self.pin_block(&pin, pan)?;
        let request = TerminalMessage::Financial(FinancialRequest {
            key: key.clone(),
            ewarung_id: self.config.ewarung_id.clone(),
            processing,
            amount_minor,
            pan: pan.to_string(),
            pin_block: Some(pin_block),
            program_code: None,
            basket,
            original: None,
        });
        // From here the request may reach the host: until an answer is in hand, it is uncertain.
        self.state.pending = Some(Pending::Uncertain {
            key: (&key).into(),
            amount_minor,
        });
        self.save()?;
        self.power_cut()?;
        let mut report = Report::new(kind, "declined");
        report.stan = Some(stan);
        report.amount_minor = amount_minor;

        let answer = if self.faults.roll(self.faults.args.drop_before_ack_rate) {
            // Half a frame, then the line goes quiet: the host never sees a whole request.
            let bytes = terminal_link::frame::encode(self.link.next_seq(), &request.encode()?)?;
            let stream = self.link.stream_mut().inner_mut();
            stream.write_all(&bytes[..bytes.len() / 2]).await?;
            stream.flush().await?;
            tokio::time::sleep(Duration::from_millis(700)).await;
            Err(LinkError::Timeout)
        } else if self.faults.roll(self.faults.args.drop_after_ack_rate) {
            self.link
                .send(&request.encode()?)
                .await
                .and(Err(LinkError::Timeout))
        } else {
            let timeout = if self.faults.roll(self.faults.args.late_response_rate) {
                Duration::from_millis(1)
            } else {
                self.config.response_timeout
            };
            let started = std::time::Instant::now();
            let answer = self.exchange(&request, timeout).await;
            if let Ok(answer) = &answer {
                let frame = |payload: usize| terminal_link::frame::wire_len(payload) + 1;
                self.timings.push(Timing {
                    exchange: started.elapsed(),
                    wire_bytes: frame(request.encode()?.len()) + frame(answer.encode()?.len()),
                });
            }
            answer
        };
        self.power_cut()?;
        match answer {
            Ok(HostMessage::Financial(answer)) if answer.response_code == "00" => {
                report.code = Some(answer.response_code.clone());
                report.display = Some(answer.display.clone());
                report.balance_minor = answer.balance_minor;
                report.rrn = answer.rrn.clone();
                let printed = !self.faults.roll(self.faults.args.printer_out_rate);
                if printed {
                    self.state.pending = Some(Pending::Complete {
                        key: (&key).into(),
                        amount_minor,
                    });
                    report.outcome = "approved";
                } else {
                    let _ = self.device_event(DeviceEventKind::PaperOut).await;
                    self.state.pending = Some(Pending::Reverse {
                        key: (&key).into(),
                        amount_minor,
                    });
                    report.outcome = "reversed";
                    report.note = Some("printer out of paper".into());
                }
                self.save()?;
                self.power_cut()?;
                self.recover().await?;
            }
            Ok(HostMessage::Financial(answer)) => {
                report.code = Some(answer.response_code);
                report.display = Some(answer.display);
                report.balance_minor = answer.balance_minor;
                self.state.pending = None;
                self.save()?;
            }
            Ok(_) | Err(_) => {
                if let Err(error) = &answer {
                    if error.device_lost() {
                        anyhow::bail!("the line is gone: {error}");
                    }
                }
                report.outcome = "reversed";
                report.note = Some(match answer {
                    Err(error) => format!("no answer ({error}); reversed"),
                    Ok(_) => "unexpected answer; reversed".into(),
                });
                // Stays `Uncertain` until the host takes the reversal.
                self.recover().await?;
            }
        }
        Ok(report)
    }

    /// Returns an earlier purchase of this terminal (STAN and local date) to the card: DE3 20 with
    /// the original in DE90. Never cash.
    pub async fn refund(
        &mut self,
        pan: &str,
        original_stan: u32,
        original_date: NaiveDate,
        amount_minor: i64,
    ) -> anyhow::Result<Report> {
        self.recover().await?;
        let stan = self.state.take_stan();
        self.save()?;
        let key = self.request_key(stan);
        let request = TerminalMessage::Financial(FinancialRequest {
            key: key.clone(),
            ewarung_id: self.config.ewarung_id.clone(),
            processing: ProcessingCode::Refund,
            amount_minor,
            pan: pan.to_string(),
            pin_block: None,
            program_code: None,
            basket: Vec::new(),
            original: Some(OriginalRef {
                stan: original_stan,
                local_date: original_date,
            }),
        });
        let mut report = Report::new("refund", "declined");
        report.stan = Some(stan);
        report.amount_minor = amount_minor;
        let report = self.ask(&request, report).await;
        if report.outcome == "approved" {
            let date = key.local_time.format("%Y-%m-%d").to_string();
            let day = self.state.day(&date);
            day.refunds.0 += 1;
            day.refunds.1 += amount_minor;
            self.save()?;
        }
        Ok(report)
    }

    pub async fn balance(&mut self, pan: &str, pin: &str) -> anyhow::Result<Report> {
        let stan = self.state.take_stan();
        self.save()?;
        let key = self.request_key(stan);
        let pin_block = self.pin_block(pin, pan)?;
        let request = TerminalMessage::Financial(FinancialRequest {
            key,
            ewarung_id: self.config.ewarung_id.clone(),
            processing: ProcessingCode::BalanceInquiry,
            amount_minor: 0,
            pan: pan.to_string(),
            pin_block: Some(pin_block),
            program_code: None,
            basket: Vec::new(),
            original: None,
        });
        let mut report = Report::new("balance", "declined");
        report.stan = Some(stan);
        Ok(self.ask(&request, report).await)
    }

    /// Sends the day's totals (0500); `batch_mismatch` adds a purchase that never happened.
    pub async fn batch_close(&mut self, date: NaiveDate) -> anyhow::Result<Report> {
        self.recover().await?;
        let stan = self.state.take_stan();
        let mut day = *self.state.day(&date.format("%Y-%m-%d").to_string());
        self.save()?;
        if self.faults.args.batch_mismatch {
            day.purchases.0 += 1;
            day.purchases.1 += 100;
        }
        let request = TerminalMessage::BatchTotals(BatchTotals {
            terminal_id: self.config.terminal_id.clone(),
            stan,
            business_date: date,
            purchases: crate::state::DayTotals::side(day.purchases),
            refunds: crate::state::DayTotals::side(day.refunds),
            reversals: crate::state::DayTotals::side(day.reversals),
        });
        let mut report = Report::new("batch_close", "declined");
        report.stan = Some(stan);
        report.amount_minor = day.purchases.1;
        Ok(self.ask(&request, report).await)
    }

    pub async fn device_event(&mut self, event: DeviceEventKind) -> anyhow::Result<Report> {
        let stan = self.state.take_stan();
        self.save()?;
        let request = TerminalMessage::DeviceEvent(DeviceEvent {
            key: self.request_key(stan),
            event,
        });
        let mut report = Report::new("device_event", "declined");
        report.stan = Some(stan);
        report.note = Some(event.as_str().into());
        Ok(self.ask(&request, report).await)
    }
}

use chrono::Timelike;
