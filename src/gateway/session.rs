//! One terminal link, served: each message from the terminal is relayed to the host and answered.
//! Uncertainty is resolved, never guessed:
//! - an approval the terminal did not acknowledge may still have arrived (only its ACK was lost):
//!   the terminal's next message decides. A terminal that took the approval sends its completion
//!   next (the protocol puts nothing before it); anything else, silence, or a lost device means it
//!   did not, and the approval is reversed;
//! - a request the host may have processed without answering is reversed and the terminal gets 91;
//! - advices wait in the outbox until the host acknowledges them, and go before any new purchase.

use std::time::Duration;

use serde::{de::IgnoredAny, Deserialize};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::{
    gateway::{
        host::{HostClient, HostError},
        outbox::{now_ms, AdviceAction, Outbox},
        translate,
    },
    redemption::{response::TerminalReply, ResponseCode},
};
use terminal_link::{
    link::{Link, LinkConfig, LinkError, LinkStats},
    messages::*,
};
/// How long the link waits for a message before looking at the outbox again.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The longest wait between two tries of an outbox item.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long an unacknowledged approval waits for the terminal's completion before it is
/// reversed (a terminal that took it completes at once; the hold's own timeout is longer).
const UNACKNOWLEDGED_WAIT: Duration = Duration::from_secs(30);

pub struct Gateway {
    pub host: HostClient,
    pub outbox: Outbox,
    /// Tries of an outbox item before it is parked with an alarm.
    pub outbox_attempts: u32,
    pub link: LinkConfig,
}

impl Gateway {
    /// Serves one open device until it fails; the caller reopens it.
    pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: S) -> LinkError {
        let mut link = Link::new(stream, self.link);
        // An approval sent but not acknowledged, and since when.
        let mut unacknowledged: Option<(RequestKey, std::time::Instant)> = None;
        let mut counted = LinkStats::default();
        loop {
            counted = publish_link_stats(counted, link.stats());
            let payload = match link.recv(Some(IDLE_POLL)).await {
                Ok(payload) => payload,
                Err(LinkError::Timeout) => {
                    if let Some((key, since)) = &unacknowledged {
                        if since.elapsed() > UNACKNOWLEDGED_WAIT {
                            tracing::warn!(terminal = %key.terminal_id, stan = key.stan,
                                "gateway: no completion for an unacknowledged approval; reversing it");
                            self.store(AdviceAction::Reverse, key).await;
                            unacknowledged = None;
                        }
                    }
                    self.drain(false).await;
                    continue;
                }
                Err(error) => {
                    if let Some((key, _)) = unacknowledged.take() {
                        self.store(AdviceAction::Reverse, &key).await;
                    }
                    return lost(error, counted, link.stats());
                }
            };
            let message = match TerminalMessage::decode(&payload) {
                Ok(message) => message,
                Err(error) => {
                    crate::metrics::metrics().link_events("unreadable_message", 1);
                    tracing::warn!(%error, "gateway: unreadable message from the terminal");
                    // Nothing happened: the terminal is told so (DE39 30) when the message says
                    // who it is from; otherwise nobody can be answered, and it times out.
                    let now = chrono::Utc::now().naive_utc();
                    let answer = format_error_reply(&payload, now).and_then(|a| a.encode().ok());
                    if let Some(bytes) = answer {
                        if let Err(error) = link.send(&bytes).await {
                            if error.device_lost() {
                                return lost(error, counted, link.stats());
                            }
                            count_send_failure(&error);
                            tracing::warn!(%error, "gateway: format-error answer not acknowledged");
                        }
                    }
                    continue;
                }
            };
            if let Some((key, _)) = unacknowledged.take() {
                let completes_it = matches!(&message, TerminalMessage::Advice(advice)
                    if advice.kind == AdviceKind::Completion && advice.original == key);
                if !completes_it {
                    tracing::warn!(terminal = %key.terminal_id, stan = key.stan,
                        "gateway: the terminal moved on without the approval; reversing it");
                    self.store(AdviceAction::Reverse, &key).await;
                }
            }
            let (answer, undo) = self.handle(&message).await;
            let bytes = match answer.encode() {
                Ok(bytes) => bytes,
                Err(error) => {
                    tracing::error!(%error, "gateway: an answer does not encode");
                    continue;
                }
            };
            if let Err(error) = link.send(&bytes).await {
                if error.device_lost() {
                    if let Some(key) = undo {
                        tracing::warn!(terminal = %key.terminal_id, stan = key.stan, %error,
                            "gateway: the line went with the approval; reversing it");
                        self.store(AdviceAction::Reverse, &key).await;
                    }
                    return lost(error, counted, link.stats());
                }
                count_send_failure(&error);
                tracing::warn!(%error, "gateway: answer not acknowledged by the terminal");
                unacknowledged = undo.map(|key| (key, std::time::Instant::now()));
            }
        }
    }

    /// The answer, and the request to reverse if that answer does not reach the terminal.
    async fn handle(&self, message: &TerminalMessage) -> (HostMessage, Option<RequestKey>) {
        let (terminal, stan) = message.terminal_and_stan();
        tracing::info!(
            terminal,
            stan,
            kind = kind(message),
            "gateway: from terminal"
        );
        match message {
            TerminalMessage::Financial(request) => self.financial(request).await,
            TerminalMessage::Advice(advice) => (self.advice(advice).await, None),
            TerminalMessage::Status(query) => (self.status(query).await, None),
            TerminalMessage::Network(request) => (self.network(request).await, None),
            TerminalMessage::BatchTotals(totals) => (self.batch_totals(totals).await, None),
            TerminalMessage::DeviceEvent(event) => (self.device_event(event).await, None),
        }
    }

    async fn financial(&self, request: &FinancialRequest) -> (HostMessage, Option<RequestKey>) {
        let local = |code| (translate::local_response(request, code), None);
        // Advices the host has not acknowledged go first: a purchase must never overtake the
        // reversal of an earlier one.
        if !self.drain(true).await {
            return local(ResponseCode::HostUnavailable);
        }
        let (path, body) = match request.processing {
            ProcessingCode::BalanceInquiry => {
                ("/v1/redemptions/balance", translate::balance_body(request))
            }
            // A refund is a request of its own (its STAN), naming the purchase in DE90.
            ProcessingCode::Refund => match &request.original {
                Some(original) => (
                    "/v1/redemptions/refund",
                    Ok(translate::refund_body(request, original)),
                ),
                None => return local(ResponseCode::FormatError),
            },
            _ => (
                "/v1/redemptions/authorize",
                translate::authorize_body(request),
            ),
        };
        let body = match body {
            Ok(body) => body,
            Err((code, reason)) => {
                tracing::info!(
                    code = code.code(),
                    reason,
                    "gateway: declined without the host"
                );
                return local(code);
            }
        };
        let asked = std::time::Instant::now();
        let outcome = self.host.post(path, &body).await;
        // The host's share of the terminal's wait (docs/benchmarks.md compares the two).
        let host_us = asked.elapsed().as_micros() as u64;
        match outcome {
            Ok(reply) => {
                let answer = translate::financial_response(request, &reply);
                tracing::info!(terminal = %request.key.terminal_id, stan = request.key.stan, host_us,
                    code = answer.response_code().unwrap_or(""), "gateway: answered");
                let spends = path == "/v1/redemptions/authorize";
                let approved = answer.response_code() == Some(ResponseCode::Approved.code());
                (answer, (spends && approved).then(|| request.key.clone()))
            }
            Err(HostError::Uncertain(error)) => {
                if path == "/v1/redemptions/authorize" {
                    tracing::warn!(%error, "gateway: no answer to an authorization; reversing it");
                    self.store(AdviceAction::Reverse, &request.key).await;
                }
                local(ResponseCode::HostUnavailable)
            }
            Err(HostError::Unreachable(error)) => {
                tracing::warn!(%error, "gateway: host unreachable");
                local(ResponseCode::HostUnavailable)
            }
            Err(error @ HostError::Refused { .. }) => {
                tracing::warn!(%error, "gateway: host refused the request");
                local(ResponseCode::FormatError)
            }
        }
    }

    /// Completion and reversal advices are answered once stored; the host gets them in order.
    async fn advice(&self, advice: &Advice) -> HostMessage {
        let action = match advice.kind {
            AdviceKind::Completion => AdviceAction::Complete,
            AdviceKind::Reversal | AdviceKind::ReversalRepeat => AdviceAction::Reverse,
        };
        let code = if self.store(action, &advice.original).await {
            self.drain(false).await;
            ResponseCode::Approved
        } else {
            ResponseCode::SystemError
        };
        HostMessage::Advice(AdviceResponse {
            kind: advice.kind,
            original: advice.original.clone(),
            response_code: code.code().into(),
            display: code.text().id.into(),
        })
    }

    async fn status(&self, query: &StatusQuery) -> HostMessage {
        self.drain(true).await;
        let body = translate::original_body(&query.original);
        match self.host.post("/v1/redemptions/status", &body).await {
            Ok(reply) => translate::status_response(&query.original, &reply),
            Err(error) => {
                tracing::warn!(%error, "gateway: status query not answered");
                let code = ResponseCode::HostUnavailable;
                HostMessage::Status(StatusResponse {
                    original: query.original.clone(),
                    status: RequestStatus::InProgress,
                    response_code: Some(code.code().into()),
                    rrn: None,
                    approval_code: None,
                    balance_minor: None,
                    display: code.text().id.into(),
                })
            }
        }
    }

    async fn network(&self, request: &NetworkRequest) -> HostMessage {
        let code = if self.host.reachable().await {
            ResponseCode::Approved
        } else {
            ResponseCode::HostUnavailable
        };
        HostMessage::Network(NetworkResponse {
            terminal_id: request.terminal_id.clone(),
            stan: request.stan,
            code: request.code,
            response_code: code.code().into(),
            host_time_utc: chrono::Utc::now().naive_utc(),
        })
    }

    async fn batch_totals(&self, totals: &BatchTotals) -> HostMessage {
        /// The part of the host's batch-totals record the terminal is told.
        #[derive(Deserialize)]
        struct BatchTotalsAnswer {
            matched: bool,
        }
        let side = |t: Totals| json!({"count": t.count, "amount_minor": t.amount_minor});
        let body = json!({
            "business_date": totals.business_date.format("%Y-%m-%d").to_string(),
            "purchases": side(totals.purchases),
            "refunds": side(totals.refunds),
            "reversals": side(totals.reversals),
        });
        let path = format!("/v1/terminals/{}/batch-totals", totals.terminal_id);
        let code = match self.host.post::<BatchTotalsAnswer>(&path, &body).await {
            Ok(reply) if reply.matched => ResponseCode::Approved,
            Ok(_) => ResponseCode::ReconcileError,
            Err(error) => {
                tracing::warn!(%error, "gateway: batch totals not delivered");
                ResponseCode::HostUnavailable
            }
        };
        HostMessage::BatchTotals(BatchTotalsResponse {
            terminal_id: totals.terminal_id.clone(),
            stan: totals.stan,
            response_code: code.code().into(),
            display: code.text().id.into(),
        })
    }

    async fn device_event(&self, event: &DeviceEvent) -> HostMessage {
        let body = json!({
            "event": event.event.as_str(),
            "local_time": event.key.local_time.format("%Y-%m-%dT%H:%M:%S").to_string(),
        });
        let path = format!("/v1/terminals/{}/events", event.key.terminal_id);
        let code = match self.host.post::<IgnoredAny>(&path, &body).await {
            Ok(_) => ResponseCode::Approved,
            Err(error) => {
                tracing::warn!(%error, event = event.event.as_str(), "gateway: device event not delivered");
                ResponseCode::HostUnavailable
            }
        };
        HostMessage::DeviceEvent(DeviceEventResponse {
            key: event.key.clone(),
            response_code: code.code().into(),
        })
    }

    /// Stores an advice durably. `false` if the outbox file could not be written.
    async fn store(&self, action: AdviceAction, key: &RequestKey) -> bool {
        let original = translate::original_body(key);
        let text = |field: &str| original[field].as_str().unwrap_or_default().to_string();
        match self
            .outbox
            .push(action, &key.terminal_id, &text("stan"), &text("local_date"))
            .await
        {
            Ok(()) => {
                self.publish_outbox_counts().await;
                true
            }
            Err(error) => {
                tracing::error!(alarm = true, %error, "gateway: the outbox cannot be written");
                false
            }
        }
    }

    /// Sends what is due in the outbox, oldest first; with `force`, also what waits for its
    /// backoff. Returns whether nothing is left to send. The outbox's counts go to `/metrics`
    /// after each pass (also after `ssn terminal outbox --retry-parked` changed the file).
    pub async fn drain(&self, force: bool) -> bool {
        let emptied = self.send_due(force).await;
        self.publish_outbox_counts().await;
        emptied
    }

    async fn publish_outbox_counts(&self) {
        let metrics = crate::metrics::metrics();
        if let (Ok(pending), Ok(parked)) = (
            self.outbox.pending_count().await,
            self.outbox.parked_count().await,
        ) {
            metrics.outbox_pending.set(pending);
            metrics.outbox_parked.set(parked);
        }
    }

    async fn send_due(&self, force: bool) -> bool {
        let items = match self.outbox.pending().await {
            Ok(items) => items,
            Err(error) => {
                tracing::error!(alarm = true, %error, "gateway: the outbox cannot be read");
                return false;
            }
        };
        for item in items {
            if !force && item.next_attempt_ms > now_ms() {
                return false;
            }
            let outcome = self
                .host
                .post::<TerminalReply>(item.action().path(), &item.body())
                .await;
            let result = match outcome {
                Ok(reply) if reply.response_code == ResponseCode::SystemError => {
                    Err("the host answered 96".to_string())
                }
                Ok(reply) => {
                    tracing::info!(terminal = %item.terminal_id, stan = %item.stan,
                        action = %item.action, code = reply.response_code.code(), "gateway: advice delivered");
                    self.outbox.done(item.id).await
                }
                .map_err(|error| error.to_string()),
                Err(error @ HostError::Refused { .. }) => {
                    tracing::error!(alarm = true, %error, id = item.id, "gateway: advice refused by the host; parked");
                    self.outbox
                        .park(item.id, &error.to_string())
                        .await
                        .map_err(|error| error.to_string())
                }
                Err(error) => Err(error.to_string()),
            };
            if let Err(error) = result {
                let attempts = item.attempts as u32 + 1;
                if attempts >= self.outbox_attempts {
                    tracing::error!(alarm = true, id = item.id, attempts, %error,
                        "gateway: advice not acknowledged after every try; parked");
                    let _ = self.outbox.park(item.id, &error).await;
                    continue;
                }
                let backoff = Duration::from_secs(1 << attempts.min(6)).min(MAX_BACKOFF);
                let _ = self.outbox.failed(item.id, &error, backoff).await;
                return false;
            }
        }
        true
    }
}

/// Adds what the link counted since `counted` to `/metrics`; returns the new mark.
fn publish_link_stats(counted: LinkStats, now: LinkStats) -> LinkStats {
    let metrics = crate::metrics::metrics();
    for (event, before, after) in [
        (
            "retransmission",
            counted.retransmissions,
            now.retransmissions,
        ),
        ("nak_sent", counted.naks_sent, now.naks_sent),
        ("rejected_frame", counted.rejected, now.rejected),
        (
            "duplicate",
            counted.duplicates_suppressed,
            now.duplicates_suppressed,
        ),
    ] {
        metrics.link_events(event, after.saturating_sub(before));
    }
    now
}

/// The device went: counts it (and what the link saw last), and hands the error back.
fn lost(error: LinkError, counted: LinkStats, now: LinkStats) -> LinkError {
    publish_link_stats(counted, now);
    crate::metrics::metrics().link_events("device_lost", 1);
    error
}

fn count_send_failure(error: &LinkError) {
    if matches!(error, LinkError::NoAck(_)) {
        crate::metrics::metrics().link_events("no_ack", 1);
    }
}

fn kind(message: &TerminalMessage) -> &'static str {
    match message {
        TerminalMessage::Financial(request) => match request.processing {
            ProcessingCode::Purchase => "purchase",
            ProcessingCode::BalanceInquiry => "balance",
            ProcessingCode::Refund => "refund",
            ProcessingCode::CashWithdrawal | ProcessingCode::PurchaseWithCashBack => "cash",
            ProcessingCode::Other(_) => "other",
        },
        TerminalMessage::Advice(advice) => match advice.kind {
            AdviceKind::Completion => "completion",
            _ => "reversal",
        },
        TerminalMessage::Status(_) => "status",
        TerminalMessage::Network(_) => "network",
        TerminalMessage::BatchTotals(_) => "batch_totals",
        TerminalMessage::DeviceEvent(_) => "device_event",
    }
}
