//! Backups of the SQLite default while it serves, and putting one back.
//!
//! A backup is SQLite's online backup (`sqlite3_backup_*`), never a copy of the files: a live WAL
//! database is a main file plus a WAL whose committed pages the file does not have yet. The copy
//! runs inside one read transaction on the source, so it is the database exactly as of the
//! moment the backup began (every transaction acknowledged before then, none after), while
//! writers go on (WAL lets them). It is written under `NAME.partial`, checked
//! (`PRAGMA quick_check`), synced, and only then renamed to its name and the directory synced:
//! a backup killed halfway leaves a `.partial` file, never one that looks complete.
//!
//! A restore refuses to replace a database that a running `ssn serve` has open: every server
//! holds a shared lock on `DATABASE.serve-lock` for as long as it runs, and a restore needs it
//! exclusively. The database it replaces is kept beside it (`DATABASE.replaced-TIMESTAMP`), its
//! WAL checkpointed into it first.

use std::{
    fs,
    path::{Path, PathBuf},
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context};
use rusqlite::{backup::StepResult, Connection, OpenFlags};

/// How a backup copies: pages per step, and a pause between steps that leaves the disk to the
/// service on a busy machine (the snapshot is held meanwhile, so the WAL grows until the end).
#[derive(Debug, Clone, Copy)]
pub struct BackupPace {
    pub pages_per_step: i32,
    pub pause: Duration,
}

impl Default for BackupPace {
    fn default() -> Self {
        Self {
            pages_per_step: 4096,
            pause: Duration::ZERO,
        }
    }
}

/// What a finished backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub pages: i64,
    pub elapsed: Duration,
}

/// The database file a `sqlite://` URL names (sqlx's reading of it).
pub fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    if !url.starts_with("sqlite:") {
        bail!(
            "backup and restore here are for the SQLite default; for PostgreSQL use pg_basebackup with WAL archiving (README: Backups)"
        );
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    Ok(PathBuf::from(options.get_filename()))
}

/// Where a backup is written until it is complete.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Copies the database at `source` to `output` as of now, while it serves. `progress` hears
/// (pages copied, pages in all) after every step.
pub fn backup(
    source: &Path,
    output: &Path,
    pace: BackupPace,
    mut progress: impl FnMut(i64, i64),
) -> anyhow::Result<BackupReport> {
    ensure!(source.exists(), "no database at {}", source.display());
    ensure!(
        !output.exists(),
        "{} exists; a backup never replaces a file",
        output.display()
    );
    let started = Instant::now();
    let partial = partial_path(output);
    let _ = fs::remove_file(&partial);
    // Read-write though it only reads: a read-only connection cannot open a WAL database whose
    // shared-memory file is not there yet (a database no server has open).
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {}", source.display()))?;
    from.busy_timeout(Duration::from_secs(30))?;
    // One read transaction for the whole copy: the snapshot the backup is.
    from.execute_batch("BEGIN")?;
    let _: i64 = from.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    let mut to =
        Connection::open(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let pages = {
        let copy = rusqlite::backup::Backup::new(&from, &mut to)?;
        loop {
            match copy.step(pace.pages_per_step)? {
                StepResult::Done => break,
                StepResult::More => {
                    let now = copy.progress();
                    progress(
                        i64::from(now.pagecount - now.remaining),
                        i64::from(now.pagecount),
                    );
                    if !pace.pause.is_zero() {
                        std::thread::sleep(pace.pause);
                    }
                }
                // Another connection holds a lock the step needs for a moment.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let done = copy.progress();
        i64::from(done.pagecount)
    };
    progress(pages, pages);
    from.execute_batch("COMMIT")?;
    drop(from);
    // A backup is one self-contained file (no WAL beside it); the server puts it back in WAL
    // mode when it opens it.
    let _: String = to.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
    let check: String = to.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    ensure!(check == "ok", "the copy does not check out: {check}");
    to.close().map_err(|(_, error)| error)?;
    fs::File::open(&partial)?.sync_all()?;
    fs::rename(&partial, output)
        .with_context(|| format!("naming the backup {}", output.display()))?;
    sync_parent(output)?;
    Ok(BackupReport {
        path: output.to_path_buf(),
        bytes: fs::metadata(output)?.len(),
        pages,
        elapsed: started.elapsed(),
    })
}

/// The lock every running server holds on its SQLite database (shared: several servers may
/// serve one database) and a restore needs alone.
pub struct ServeLock {
    _file: fs::File,
}

impl ServeLock {
    fn path(database: &Path) -> PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push(".serve-lock");
        PathBuf::from(name)
    }

    fn open(database: &Path) -> anyhow::Result<fs::File> {
        let path = Self::path(database);
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))
    }

    /// Held by `ssn serve` for as long as it runs.
    pub fn shared(database: &Path) -> anyhow::Result<Self> {
        let file = Self::open(database)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                bail!(
                    "{} is being restored; start the server after the restore",
                    database.display()
                )
            }
            Err(std::fs::TryLockError::Error(error)) => Err(error.into()),
        }
    }

    /// Taken by a restore: refused while any server has the database open.
    fn exclusive(database: &Path) -> anyhow::Result<Self> {
        let file = Self::open(database)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "{} is in use by a running ssn serve; stop it before restoring",
                database.display()
            ),
            Err(std::fs::TryLockError::Error(error)) => Err(error.into()),
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// Where the database it replaced was kept, if there was one.
    pub replaced: Option<PathBuf>,
    pub bytes: u64,
}

/// Puts the backup `input` in place as the database at `target`, which no server may have
/// open. The database it replaces is kept beside it, whole (its WAL checkpointed into it).
pub fn restore(input: &Path, target: &Path) -> anyhow::Result<RestoreReport> {
    check_backup(input)?;
    let _alone = ServeLock::exclusive(target)?;
    let restoring = {
        let mut name = target.as_os_str().to_owned();
        name.push(".restoring");
        PathBuf::from(name)
    };
    fs::copy(input, &restoring)
        .with_context(|| format!("copying {} to {}", input.display(), restoring.display()))?;
    fs::File::open(&restoring)?.sync_all()?;
    let replaced = if target.exists() {
        // Whatever its WAL still holds goes into the file before the file is set aside.
        let old = Connection::open(target)?;
        old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        old.close().map_err(|(_, error)| error)?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let mut name = target.as_os_str().to_owned();
        name.push(format!(".replaced-{stamp}"));
        let kept = PathBuf::from(name);
        fs::rename(target, &kept)?;
        Some(kept)
    } else {
        None
    };
    for suffix in ["-wal", "-shm"] {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        let _ = fs::remove_file(PathBuf::from(name));
    }
    fs::rename(&restoring, target)?;
    sync_parent(target)?;
    Ok(RestoreReport {
        replaced,
        bytes: fs::metadata(target)?.len(),
    })
}

/// A backup is a SQLite database that checks out and has this service's schema.
fn check_backup(input: &Path) -> anyhow::Result<()> {
    ensure!(input.is_file(), "no backup at {}", input.display());
    let backup = Connection::open_with_flags(input, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", input.display()))?;
    let check: String = backup
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .with_context(|| format!("{} is not a SQLite database", input.display()))?;
    ensure!(
        check == "ok",
        "{} does not check out: {check}",
        input.display()
    );
    let migrations: i64 = backup
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = '_sqlx_migrations'",
            [],
            |row| row.get(0),
        )
        .unwrap_or(0);
    ensure!(
        migrations == 1,
        "{} is not an ssn database (it has no migrations table)",
        input.display()
    );
    Ok(())
}

/// Scheduled backups (`serve --backup-dir`): one now into `dir`, named by its UTC time, then
/// all but the newest `keep` of them removed.
pub fn scheduled(source: &Path, dir: &Path, keep: usize) -> anyhow::Result<BackupReport> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = format!("ssn-{}.db", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
    let report = backup(source, &dir.join(name), BackupPace::default(), |_, _| {})?;
    let mut kept: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("ssn-") && name.ends_with(".db"))
        })
        .collect();
    // The names sort by time.
    kept.sort();
    let excess = kept.len().saturating_sub(keep.max(1));
    for old in &kept[..excess] {
        fs::remove_file(old).with_context(|| format!("removing {}", old.display()))?;
    }
    Ok(report)
}

fn sync_parent(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
