//! A pseudo-terminal pair made by the simulator: the simulator holds the master side, the gateway
//! opens the slave side as if it were the terminal's serial port. A stable symlink can point at
//! the slave, so a restarted simulator (a new pair) is found at the same path, as a re-plugged
//! USB-serial adapter would be.

use std::{
    io,
    os::fd::{AsFd, AsRawFd, OwnedFd},
    path::{Path, PathBuf},
    pin::Pin,
    task::{ready, Context, Poll},
};

use nix::{
    fcntl::{fcntl, FcntlArg, OFlag},
    pty::openpty,
    sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg},
};
use tokio::io::{unix::AsyncFd, AsyncRead, AsyncWrite, ReadBuf};

pub struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
    /// Kept open so the pair lives while the gateway closes and reopens its side.
    _slave: OwnedFd,
    pub slave_path: PathBuf,
    link: Option<PathBuf>,
}

impl Drop for PtyMaster {
    /// The pair dies with the simulator: its link goes too, so a gateway never follows a stale
    /// link to whatever pseudo-terminal gets the same number next.
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            if std::fs::read_link(link).is_ok_and(|target| target == self.slave_path) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}

impl PtyMaster {
    /// Opens a raw (no echo, no line editing) pair; `link` becomes a symlink to the slave.
    pub fn open(link: Option<&Path>) -> anyhow::Result<Self> {
        let pair = openpty(None, None)?;
        let mut termios = tcgetattr(pair.slave.as_fd())?;
        cfmakeraw(&mut termios);
        tcsetattr(pair.slave.as_fd(), SetArg::TCSANOW, &termios)?;
        let slave_path = std::fs::read_link(format!("/proc/self/fd/{}", pair.slave.as_raw_fd()))?;
        let flags = OFlag::from_bits_truncate(fcntl(pair.master.as_raw_fd(), FcntlArg::F_GETFL)?);
        fcntl(
            pair.master.as_raw_fd(),
            FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
        )?;
        if let Some(link) = link {
            let _ = std::fs::remove_file(link);
            std::os::unix::fs::symlink(&slave_path, link)?;
        }
        // `AsyncFd::new` is deprecated for fds whose owner may close them behind tokio's back;
        // here the `OwnedFd` moves into the `AsyncFd` and lives exactly as long as it.
        #[allow(deprecated)]
        let fd = AsyncFd::new(pair.master)?;
        Ok(Self {
            fd,
            _slave: pair.slave,
            slave_path,
            link: link.map(Path::to_path_buf),
        })
    }
}

impl PtyMaster {
    /// Waits until another process (the gateway) has the slave side open, or `patience` passes:
    /// what a re-plugged terminal waits for before it speaks. Linux: read from `/proc/*/fd`.
    pub async fn wait_until_opened(&self, patience: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        while tokio::time::Instant::now() < deadline {
            if opened_by_another_process(&self.slave_path) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        false
    }
}

/// Whether a process other than this one has `path` open.
fn opened_by_another_process(path: &Path) -> bool {
    let me = std::process::id().to_string();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return false;
    };
    processes
        .filter_map(Result::ok)
        .filter(|process| {
            let name = process.file_name();
            let name = name.to_string_lossy();
            name != me.as_str() && name.bytes().all(|b| b.is_ascii_digit())
        })
        .filter_map(|process| std::fs::read_dir(process.path().join("fd")).ok())
        .flat_map(|fds| fds.filter_map(Result::ok))
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

fn to_io(error: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(error as i32)
}

impl AsyncRead for PtyMaster {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| nix::unistd::read(fd.as_raw_fd(), unfilled).map_err(to_io)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(error)) => return Poll::Ready(Err(error)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for PtyMaster {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| nix::unistd::write(fd, buf).map_err(to_io)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
