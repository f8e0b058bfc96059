//! The command line: `ssn serve`, `ssn migrate`, `ssn user add`, the batch jobs (quota loading,
//! reconciliation, keys, backups) and `ssn audit` (in `audit`).

pub mod audit;

use std::{io::BufRead, path::PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    auth::password,
    client::ClientArgs,
    config::{CommonArgs, ServeArgs},
    domain::{ids::EwarungId, role::Role},
    store::{self, ConnectOptions, NewUser},
};

#[derive(Debug, Parser)]
#[command(name = "ssn", version, about = "SSN card transaction service")]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API.
    Serve(ServeArgs),
    /// Create the database if needed and apply pending migrations, then exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Monthly quota batches (as a client of a running server).
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Checks over the ledger (directly on the database).
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The tamper-evident audit trail: seal, verify, proofs (directly on the database).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Close a business date (the bank; as a client of a running server).
    Close {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        date: chrono::NaiveDate,
        #[arg(long)]
        json: bool,
    },
    /// Reconcile the bank's settlement file (as a client of a running server).
    #[command(subcommand)]
    Recon(crate::client::recon::ReconCommand),
    /// Settle a reconciled date and write the payout instruction file.
    Settle {
        #[command(flatten)]
        client: ClientArgs,
        #[arg(long)]
        date: chrono::NaiveDate,
        /// Where to write the payout file (CSV, one line per E-Warung).
        #[arg(long, default_value = "payout.csv")]
        output: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// EDC terminals on serial lines.
    #[command(subcommand)]
    Terminal(TerminalCommand),
    /// Copy the SQLite database to a file while it serves (SQLite's online backup): the
    /// database as of the moment the backup began.
    Backup {
        /// The backup file to write (never replaced; written as FILE.partial until complete).
        #[arg(long)]
        output: PathBuf,
        /// Pages copied per step.
        #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(i32).range(1..))]
        pages_per_step: i32,
        /// Pause between steps, in milliseconds, to leave the disk to the service.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
    },
    /// Rotate and retire the keys that encrypt card numbers and sign access tokens, while the
    /// service runs (directly on the database and the data directory).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Put a backup in place as the SQLite database (refused while a server has it open); the
    /// database it replaces is kept beside it as DATABASE.replaced-TIMESTAMP.
    Restore {
        /// The backup file.
        #[arg(long)]
        input: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The keys in the data directory and how many card numbers each seals.
    Status {
        #[command(flatten)]
        pin_key: PinKeyArg,
    },
    /// Make a new card-number key, then seal every card number again under it, in batches,
    /// with progress. Servers pick the new key up without a restart.
    RotatePan {
        #[command(flatten)]
        pin_key: PinKeyArg,
        /// Make no new key: finish a rotation that stopped (re-encrypt to the newest key).
        #[arg(long)]
        resume: bool,
        /// Cards per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
        /// Pause between batches, in milliseconds, to leave the database to the service.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
    },
    /// Remove a card-number key no card is sealed under any more.
    RetirePan { key_id: u32 },
    /// Make a new token-signing key: tokens signed from now on name it; tokens of older keys
    /// stay valid until they expire.
    RotateJwt,
    /// Remove a token-signing key once no token it signed can still be valid.
    RetireJwt {
        key_id: u32,
        /// The servers' token lifetime (`serve --token-ttl-seconds`).
        #[arg(long, env = "SSN_TOKEN_TTL_SECONDS", default_value_t = 900)]
        token_ttl_seconds: u64,
    },
}

/// The host's PIN key, as `serve` is given it (the first card-number key derives from it).
#[derive(Debug, clap::Args)]
pub struct PinKeyArg {
    /// PIN key, base64. Default: DATA_DIR/pin.key (never created here).
    #[arg(long, env = "SSN_PIN_KEY", hide_env_values = true)]
    pin_key: Option<crate::config::Secret>,
}

#[derive(Debug, Subcommand)]
pub enum TerminalCommand {
    /// Bridge a terminal's serial line to the redemption API (docs/terminal-protocol.md).
    Gateway(crate::gateway::GatewayArgs),
    /// Show a gateway's store-and-forward outbox; re-queue parked items.
    Outbox(crate::gateway::OutboxArgs),
}

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Validate and upload a CSV file (period,program_code,kk_number,amount_idr); prints the report.
    /// Exits non-zero when the batch is invalid.
    Load {
        #[command(flatten)]
        client: ClientArgs,
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve and post a batch uploaded by another office user.
    Approve {
        #[command(flatten)]
        client: ClientArgs,
        batch_id: uuid::Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Return entitlement older than each program's carry-over to program funding.
    Expire {
        #[command(flatten)]
        client: ClientArgs,
        /// The day to expire as of (YYYY-MM-DD).
        #[arg(long)]
        as_of: chrono::NaiveDate,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute every balance from the transfers and check every invariant; exits non-zero and
    /// names the account on any violation.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from SSN_USER_PASSWORD or, if unset, from the first line
    /// of standard input, so it never appears in the process list or shell history.
    Add {
        #[arg(long)]
        username: String,
        /// admin, office, operator, bank, auditor or verifier.
        #[arg(long)]
        role: Role,
        /// The E-Warung an operator works for (required for operators, refused for others).
        #[arg(long)]
        ewarung: Option<uuid::Uuid>,
        /// A kelurahan a verifier works in, as households' addresses spell it; repeat for
        /// several (required for verifiers, refused for others).
        #[arg(long)]
        kelurahan: Vec<String>,
        /// The person's NIK (16 digits), optional; an operator's keeps them from being named a
        /// household's representative.
        #[arg(long)]
        nik: Option<String>,
    },
}

pub async fn migrate(common: &CommonArgs) -> anyhow::Result<()> {
    let url = common.database_url();
    store::open(&url, &common.connect_options()).await?;
    println!("database is at the latest schema");
    Ok(())
}

pub async fn user_add(common: &CommonArgs, command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        username,
        role,
        ewarung,
        kelurahan,
        nik,
    } = command;
    let nik = nik
        .map(|nik| crate::domain::identity::Nik::parse_as_printed(&nik))
        .transpose()
        .map_err(|invalid| anyhow::anyhow!("--nik: {}", invalid.message))?;
    let username = crate::domain::username::parse(&username).map_err(|e| anyhow::anyhow!(e))?;
    let binding = crate::registry::users::Binding::parse(role, ewarung.map(EwarungId), &kelurahan)
        .map_err(|invalid| match invalid.code {
            "ewarung_binding" => anyhow::anyhow!(
                "--ewarung is required for operators and not allowed for other roles"
            ),
            "kelurahan_binding" => anyhow::anyhow!(
                "--kelurahan is required for verifiers (1 to 20) and not allowed for other roles"
            ),
            _ => anyhow::anyhow!("--kelurahan: {}", invalid.message),
        })?;
    let password = match std::env::var("SSN_USER_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    password::check_strength(&password).map_err(|e| anyhow::anyhow!(e))?;
    let store = store::open(&common.database_url(), &common.connect_options()).await?;
    let user = store
        .create_user(NewUser {
            nik: nik.map(|nik| nik.as_str().to_string()),
            username,
            password_hash: password::hash(&password)?,
            role,
            ewarung_id: ewarung.map(EwarungId),
            kelurahan: binding.kelurahan().to_vec(),
            actor: None,
        })
        .await
        .map_err(|error| anyhow::anyhow!(crate::http::error::ApiError::from(error).to_string()))?;
    println!(
        "created user {} ({}) with id {}",
        user.username, user.role, user.id
    );
    Ok(())
}

pub async fn quota(command: QuotaCommand) -> anyhow::Result<()> {
    use crate::client::quota as cli;
    match command {
        QuotaCommand::Load { client, file, json } => cli::load(&client, &file, json).await,
        QuotaCommand::Approve {
            client,
            batch_id,
            json,
        } => cli::approve(&client, batch_id, json).await,
        QuotaCommand::Expire {
            client,
            as_of,
            json,
        } => cli::expire(&client, as_of, json).await,
    }
}

pub async fn backup(
    common: &CommonArgs,
    output: PathBuf,
    pages_per_step: i32,
    pause_ms: u64,
) -> anyhow::Result<()> {
    let source = crate::backup::sqlite_file(&common.database_url())?;
    let pace = crate::backup::BackupPace {
        pages_per_step,
        pause: std::time::Duration::from_millis(pause_ms),
    };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} pages {elapsed}")
            .expect("the template parses"),
    );
    let shown = bar.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::backup::backup(&source, &output, pace, |done, all| {
            shown.set_length(all.max(0) as u64);
            shown.set_position(done.max(0) as u64);
        })
    })
    .await??;
    bar.finish_and_clear();
    println!(
        "backed up {} pages ({} bytes) to {} in {:.1} s",
        report.pages,
        report.bytes,
        report.path.display(),
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

pub async fn restore(common: &CommonArgs, input: PathBuf) -> anyhow::Result<()> {
    let target = crate::backup::sqlite_file(&common.database_url())?;
    let shown = target.clone();
    let report =
        tokio::task::spawn_blocking(move || crate::backup::restore(&input, &target)).await??;
    match &report.replaced {
        Some(kept) => println!(
            "restored {} ({} bytes); the database it replaced is kept as {}",
            shown.display(),
            report.bytes,
            kept.display()
        ),
        None => println!("restored {} ({} bytes)", shown.display(), report.bytes),
    }
    Ok(())
}

pub async fn ledger(common: &CommonArgs, command: LedgerCommand) -> anyhow::Result<()> {
    let LedgerCommand::Verify { json } = command;
    let options = ConnectOptions {
        migrate: false,
        ..common.connect_options()
    };
    let store = store::open(&common.database_url(), &options).await?;
    let check = store.ledger().verify_ledger().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        println!(
            "checked {} accounts and {} transfers: {}",
            check.accounts,
            check.transfers,
            if check.is_clean() {
                "every invariant holds".to_string()
            } else {
                format!("{} violations", check.violations.len())
            }
        );
        for violation in &check.violations {
            println!(
                "  {}: {}: {}",
                violation.rule, violation.subject, violation.detail
            );
        }
    }
    anyhow::ensure!(
        check.is_clean(),
        "the ledger has {} violations",
        check.violations.len()
    );
    Ok(())
}

/// `ssn keys …`.
pub async fn keys(common: &CommonArgs, command: KeysCommand) -> anyhow::Result<()> {
    use crate::auth::{jwt, key_ring, pan_vault};
    let dir = common.data_dir.as_path();
    let open_store = || async {
        let options = ConnectOptions {
            migrate: false,
            ..common.connect_options()
        };
        store::open(&common.database_url(), &options).await
    };
    let vault = |pin_key: &PinKeyArg| -> anyhow::Result<pan_vault::PanVault> {
        let key = crate::secrets::load_existing(
            pin_key.pin_key.as_ref().map(crate::config::Secret::expose),
            dir,
            "pin.key",
        )?;
        pan_vault::PanVault::new(&key, dir)
    };
    match command {
        KeysCommand::Status { pin_key } => {
            let vault = vault(&pin_key)?;
            let store = open_store().await?;
            let jwt_ids: Vec<u32> = std::iter::once(0)
                .chain(key_ring::key_files(dir, jwt::KEY_PREFIX)?.into_keys())
                .collect();
            println!(
                "card-number keys: {:?} (newest {})",
                vault.key_ids(),
                vault.key_ids().last().copied().unwrap_or(0)
            );
            for (key, cards) in store.pan_key_counts().await? {
                println!("  key {key}: {cards} cards");
            }
            println!(
                "token-signing keys: {jwt_ids:?} (newest {})",
                jwt_ids.last().copied().unwrap_or(0)
            );
            Ok(())
        }
        KeysCommand::RotatePan {
            pin_key,
            resume,
            batch,
            pause_ms,
        } => {
            let vault = vault(&pin_key)?;
            let store = open_store().await?;
            let to_key = if resume {
                *vault.key_ids().last().expect("key 0 is always held")
            } else {
                let id = key_ring::create_next(dir, pan_vault::KEY_PREFIX)?;
                vault.reload()?;
                store
                    .audit_job(
                        "keys.pan_key_created",
                        ("key", format!("{}-{id}", pan_vault::KEY_PREFIX)),
                        serde_json::json!({ "key_id": id }),
                    )
                    .await?;
                println!(
                    "made card-number key {id} ({})",
                    dir.join(format!("{}-{id}.key", pan_vault::KEY_PREFIX))
                        .display()
                );
                id
            };
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} sealing card numbers under the new key {pos}/{len} [{bar:30}] {percent}%, {eta} left",
                )?
                .progress_chars("=> "),
            );
            let pace = crate::keys::Pace {
                batch,
                pause: std::time::Duration::from_millis(pause_ms),
            };
            let report = crate::keys::reencrypt_pans(&store, &vault, to_key, pace, |p| {
                bar.set_length(p.total);
                bar.set_position(p.resealed);
            })
            .await?;
            bar.finish_and_clear();
            store
                .audit_job(
                    "keys.pan_reencrypted",
                    ("key", format!("{}-{to_key}", pan_vault::KEY_PREFIX)),
                    serde_json::json!({ "key_id": to_key, "resealed": report.resealed,
                        "remaining": report.remaining, "unreadable": report.unreadable }),
                )
                .await?;
            println!(
                "sealed {} card numbers under key {to_key}; {} left under other keys; {} unreadable",
                report.resealed,
                report.remaining,
                report.unreadable.len()
            );
            anyhow::ensure!(
                report.unreadable.is_empty(),
                "cards whose number opens under no key held: {:?}",
                report.unreadable
            );
            anyhow::ensure!(
                report.remaining == 0,
                "cards were issued under an older key meanwhile: run `ssn keys rotate-pan --resume`"
            );
            Ok(())
        }
        KeysCommand::RetirePan { key_id } => {
            let store = open_store().await?;
            crate::keys::retire_pan_key(&store, dir, key_id).await?;
            store
                .audit_job(
                    "keys.pan_key_retired",
                    ("key", format!("{}-{key_id}", pan_vault::KEY_PREFIX)),
                    serde_json::json!({ "key_id": key_id }),
                )
                .await?;
            println!("retired card-number key {key_id}");
            Ok(())
        }
        KeysCommand::RotateJwt => {
            let store = open_store().await?;
            let id = key_ring::create_next(dir, jwt::KEY_PREFIX)?;
            store
                .audit_job(
                    "keys.jwt_key_created",
                    ("key", format!("{}-{id}", jwt::KEY_PREFIX)),
                    serde_json::json!({ "key_id": id }),
                )
                .await?;
            println!("made token-signing key {id}; servers sign with it from their next login on, and accept tokens of older keys until they expire");
            Ok(())
        }
        KeysCommand::RetireJwt {
            key_id,
            token_ttl_seconds,
        } => {
            let store = open_store().await?;
            crate::keys::retire_jwt_key(
                dir,
                key_id,
                std::time::Duration::from_secs(token_ttl_seconds),
            )?;
            store
                .audit_job(
                    "keys.jwt_key_retired",
                    ("key", format!("{}-{key_id}", jwt::KEY_PREFIX)),
                    serde_json::json!({ "key_id": key_id }),
                )
                .await?;
            println!("retired token-signing key {key_id}: tokens it signed are refused");
            Ok(())
        }
    }
}
