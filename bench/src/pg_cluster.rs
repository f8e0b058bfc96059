//! A throwaway PostgreSQL cluster that a benchmark or a test may crash: `initdb` in a temporary
//! directory, started on a free port, killed with SIGKILL (the postmaster, as a power cut or the
//! OOM killer would) and started again on the same data. Uses the Debian binaries
//! (`/usr/lib/postgresql/*/bin`, or `initdb` on the PATH); as root the cluster runs as the
//! `postgres` user, because PostgreSQL refuses to run as root.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use tokio::process::Command;

/// How long a restart may keep failing because the killed server's backends still hold its
/// shared memory (they exit when they notice the postmaster is gone, usually within a second).
const RESTART_PATIENCE: Duration = Duration::from_secs(60);

pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    server_options: String,
    /// `Some("postgres")` when this process is root.
    run_as: Option<&'static str>,
}

impl Cluster {
    /// Creates and starts a cluster. `server_options` are extra `postgres` flags, e.g.
    /// `-c shared_buffers=256MB`; durability settings are PostgreSQL's defaults unless given.
    pub async fn start(server_options: &str) -> anyhow::Result<Cluster> {
        Self::start_with(|_| server_options.to_string()).await
    }

    /// As `start`, with options that name paths inside the cluster's own directory.
    pub async fn start_with(
        server_options: impl FnOnce(&Path) -> String,
    ) -> anyhow::Result<Cluster> {
        let bin = find_binaries()?;
        let dir = tempfile::Builder::new().prefix("ssn-pg-").tempdir()?;
        let server_options = server_options(dir.path());
        let run_as = is_root().then_some("postgres");
        if let Some(user) = run_as {
            run(Command::new("chown").arg(user).arg(dir.path()))
                .await
                .context("giving the cluster directory to the postgres user (does it exist?)")?;
        }
        let cluster = Cluster {
            bin,
            port: free_port()?,
            dir,
            server_options,
            run_as,
        };
        run(cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.data())
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]))
        .await
        .context("initdb")?;
        cluster.restart().await?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Kills the postmaster with SIGKILL. Its backends notice and exit on their own; the data
    /// directory is left as after a power cut of the server process (the OS keeps what was
    /// written, so this tests crash recovery, not fsync).
    pub async fn crash(&self) -> anyhow::Result<()> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .context("reading postmaster.pid: is the cluster running?")?;
        let pid = pid_file
            .lines()
            .next()
            .and_then(|line| line.trim().parse::<u32>().ok())
            .context("postmaster.pid has no pid")?;
        run(Command::new("kill").args(["-KILL", &pid.to_string()]))
            .await
            .context("kill -9 the postmaster")
    }

    /// Starts the server and returns once it accepts connections (`pg_ctl start -w`). After a
    /// crash this retries while the old backends still hold the shared memory.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let outcome = run(self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.path().join("server.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1 {}",
                    self.port,
                    self.dir.path().display(),
                    self.server_options
                ))
                .arg("start"))
            .await;
            match outcome {
                Ok(()) => return Ok(()),
                Err(error) if started.elapsed() > RESTART_PATIENCE => {
                    return Err(error.context(format!(
                        "PostgreSQL did not start within {} s; its log is {}",
                        RESTART_PATIENCE.as_secs(),
                        self.dir.path().join("server.log").display()
                    )))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The cluster's own directory (its data, log and socket live below it; owned by the
    /// server's user).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs a program as the user the server runs as (root runs it through `runuser`).
    pub fn as_server_user(&self, program: &Path) -> Command {
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.stdin(Stdio::null());
        command
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(path);
                command
            }
            None => Command::new(path),
        };
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut stop = std::process::Command::new(match self.run_as {
            Some(_) => PathBuf::from("runuser"),
            None => self.bin.join("pg_ctl"),
        });
        if let Some(user) = self.run_as {
            stop.args(["-u", user, "--"]).arg(self.bin.join("pg_ctl"));
        }
        let _ = stop
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

async fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output().await?;
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            command.as_std().get_program().to_string_lossy(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn find_binaries() -> anyhow::Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    // The newest installed major version first, then whatever is on the PATH.
    candidates.reverse();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|dir| has(dir, "initdb") && has(dir, "pg_ctl"))
        .context(
            "PostgreSQL's initdb and pg_ctl were not found (Debian: apt-get install postgresql)",
        )
}

fn has(dir: &Path, program: &str) -> bool {
    dir.join(program).is_file()
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|output| output.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
