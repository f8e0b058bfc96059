//! Fault injection: each fault is a rate (0 to 1) drawn from one seeded generator, so a run can
//! be repeated exactly.

use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{ready, Context, Poll},
};

use clap::Args;
use rand::{rngs::StdRng, Rng, SeedableRng};
use terminal_link::{frame::STX, link::AckPolicy};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, Clone, Default, Args)]
pub struct FaultArgs {
    /// Seed of every random choice (faults, cards, baskets).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Flip a byte of an outgoing frame.
    #[arg(long, default_value_t = 0.0)]
    pub corrupt_rate: f64,
    /// Withhold the ACK of a frame from the host.
    #[arg(long, default_value_t = 0.0)]
    pub drop_ack_rate: f64,
    /// Answer NAK to a good frame from the host (1.0: NAK everything).
    #[arg(long, default_value_t = 0.0)]
    pub nak_rate: f64,
    /// Send a frame twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// The link drops half-way through sending the request (before its ACK).
    #[arg(long, default_value_t = 0.0)]
    pub drop_before_ack_rate: f64,
    /// The link drops right after the request's ACK (the answer is never read).
    #[arg(long, default_value_t = 0.0)]
    pub drop_after_ack_rate: f64,
    /// The terminal stops waiting for the answer almost at once (the answer arrives late).
    #[arg(long, default_value_t = 0.0)]
    pub late_response_rate: f64,
    /// Power is lost at a random step of a purchase; the terminal restarts from its state file.
    #[arg(long, default_value_t = 0.0)]
    pub power_loss_rate: f64,
    /// The printer runs out of paper after an approval (the purchase must be reversed).
    #[arg(long, default_value_t = 0.0)]
    pub printer_out_rate: f64,
    /// The card cannot be read (nothing is sent but a device event).
    #[arg(long, default_value_t = 0.0)]
    pub card_read_failure_rate: f64,
    /// The cardholder types a wrong PIN.
    #[arg(long, default_value_t = 0.0)]
    pub wrong_pin_rate: f64,
    /// A cash withdrawal attempt instead of a purchase.
    #[arg(long, default_value_t = 0.0)]
    pub cash_rate: f64,
    /// A purchase with cash-back attempt.
    #[arg(long, default_value_t = 0.0)]
    pub cashback_rate: f64,
    /// The terminal's clock is off by this many seconds (negative: behind).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_skew_seconds: i64,
    /// At batch close, report one purchase more than the terminal made.
    #[arg(long)]
    pub batch_mismatch: bool,
}

/// The shared random source and the rates.
#[derive(Clone)]
pub struct Faults {
    pub args: FaultArgs,
    rng: Arc<Mutex<StdRng>>,
}

impl Faults {
    pub fn new(args: FaultArgs, stream: u64) -> Self {
        let rng = StdRng::seed_from_u64(args.seed.wrapping_mul(1_000_003).wrapping_add(stream));
        Self {
            args,
            rng: Arc::new(Mutex::new(rng)),
        }
    }

    pub fn roll(&self, rate: f64) -> bool {
        rate > 0.0
            && self
                .rng
                .lock()
                .expect("not poisoned")
                .gen_bool(rate.min(1.0))
    }

    pub fn below(&self, bound: usize) -> usize {
        self.rng
            .lock()
            .expect("not poisoned")
            .gen_range(0..bound.max(1))
    }

    pub fn rng(&self) -> StdRng {
        let seed = self.rng.lock().expect("not poisoned").gen();
        StdRng::seed_from_u64(seed)
    }
}

/// Withheld ACKs and NAKs, for the link.
pub struct FaultyAcks(pub Faults);

impl AckPolicy for FaultyAcks {
    fn send_ack(&mut self) -> bool {
        !self.0.roll(self.0.args.drop_ack_rate)
    }

    fn nak_anyway(&mut self) -> bool {
        self.0.roll(self.0.args.nak_rate)
    }
}

/// Corrupts or duplicates whole outgoing frames (the link writes each frame in one call).
pub struct FaultyStream<S> {
    inner: S,
    faults: Faults,
    /// A frame still to be written (a corrupted copy, or the second of a duplicate).
    queued: Vec<u8>,
}

impl<S> FaultyStream<S> {
    pub fn new(inner: S, faults: Faults) -> Self {
        Self {
            inner,
            faults,
            queued: Vec::new(),
        }
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FaultyStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FaultyStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // Finish any queued bytes first, so frames never interleave.
        while !self.queued.is_empty() {
            let this = &mut *self;
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &this.queued))?;
            this.queued.drain(..n);
        }
        let is_frame = buf.len() > 1 && buf[0] == STX;
        if is_frame && self.faults.roll(self.faults.args.corrupt_rate) {
            let mut damaged = buf.to_vec();
            let at = 1 + self.faults.below(damaged.len() - 1);
            damaged[at] ^= 0x5A;
            self.queued = damaged;
            return Poll::Ready(Ok(buf.len()));
        }
        if is_frame && self.faults.roll(self.faults.args.duplicate_rate) {
            self.queued = [buf, buf].concat();
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.queued.is_empty() {
            let this = &mut *self;
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &this.queued))?;
            this.queued.drain(..n);
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
