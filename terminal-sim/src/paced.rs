//! Bytes at the speed of the configured baud rate (8N1: ten bits a byte), both ways, because a
//! pseudo-terminal ignores baud and delivers at memory speed.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{sleep_until, Instant, Sleep},
};

/// Bytes written or read per pacing step.
const STEP: usize = 16;

pub struct Paced<S> {
    inner: S,
    per_byte: Duration,
    write_wait: Option<Pin<Box<Sleep>>>,
    read_wait: Option<Pin<Box<Sleep>>>,
    /// Read ahead of the line's speed, released as the pace allows.
    pending: Vec<u8>,
}

impl<S> Paced<S> {
    pub fn new(inner: S, baud: u32) -> Self {
        Self {
            inner,
            per_byte: Duration::from_secs_f64(10.0 / f64::from(baud.max(1))),
            write_wait: None,
            read_wait: None,
            pending: Vec::new(),
        }
    }

    fn pause(&self, bytes: usize) -> Pin<Box<Sleep>> {
        Box::pin(sleep_until(Instant::now() + self.per_byte * bytes as u32))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Paced<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            let mut chunk = [0u8; 256];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            let filled = read.filled().to_vec();
            let wait = self.pause(filled.len().min(STEP));
            self.pending = filled;
            self.read_wait = Some(wait);
        }
        if let Some(wait) = self.read_wait.as_mut() {
            ready!(wait.as_mut().poll(cx));
        }
        let n = self.pending.len().min(STEP).min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.read_wait =
            (!self.pending.is_empty()).then(|| self.pause(self.pending.len().min(STEP)));
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Paced<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(wait) = self.write_wait.as_mut() {
            ready!(wait.as_mut().poll(cx));
            self.write_wait = None;
        }
        let n = buf.len().min(STEP);
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..n]))?;
        self.write_wait = Some(self.pause(written));
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(wait) = self.write_wait.as_mut() {
            ready!(wait.as_mut().poll(cx));
            self.write_wait = None;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
