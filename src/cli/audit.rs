//! `ssn audit …`: the tamper-evident trail from the command line, directly on the database (and
//! the data directory's signing key): seal and sign now, verify everything, export one entry's
//! inclusion proof, and check a proof with nothing but the file and a public key.

use std::{path::PathBuf, sync::Arc};

use clap::Subcommand;

use crate::{
    audit_trail::{self, signing::AuditSigner},
    config::CommonArgs,
    domain::chain::ChainSource,
    store::{self, ConnectOptions, Store},
};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Seal every entry committed so far and sign the head of every closed date that has none
    /// (the server does both every few seconds; this is for jobs and after a restore).
    Seal,
    /// Recompute the chain from the rows and check every signed head; exits non-zero and names
    /// the first entry that was altered, removed or inserted.
    Verify {
        /// Trust this Ed25519 public key (hex) instead of the data directory's signing key's
        /// (an inspector who holds only the public key).
        #[arg(long)]
        public_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print the public key heads are signed with (hex), for the bank and inspectors.
    PublicKey,
    /// Export one entry's inclusion proof in its date's signed head (JSON).
    Proof {
        /// A ledger transfer's id.
        #[arg(long, conflicts_with = "audit", required_unless_present = "audit")]
        transfer: Option<uuid::Uuid>,
        /// An audit entry's id.
        #[arg(long)]
        audit: Option<uuid::Uuid>,
        /// Write the proof here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Check an exported proof: the entry hashes to its leaf, the path leads to the head's root,
    /// and the head is signed by the public key given. Needs no database.
    CheckProof {
        /// The proof file (`ssn audit proof`'s output).
        file: PathBuf,
        /// The Ed25519 public key (hex) the inspector trusts.
        #[arg(long)]
        public_key: String,
    },
}

async fn open(common: &CommonArgs) -> anyhow::Result<Arc<dyn Store>> {
    let options = ConnectOptions {
        migrate: false,
        ..common.connect_options()
    };
    store::open(&common.database_url(), &options).await
}

fn audit_key(common: &CommonArgs) -> Option<&str> {
    common.audit_key.as_ref().map(crate::config::Secret::expose)
}

pub async fn audit(common: &CommonArgs, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Seal => {
            let store = open(common).await?;
            let signer = AuditSigner::load_or_create(audit_key(common), &common.data_dir)?;
            let sealed = audit_trail::seal(&store).await?;
            let heads = audit_trail::sign_closed_dates(&store, &signer).await?;
            println!("sealed {sealed} entries; signed {} heads", heads.len());
            for head in heads {
                println!(
                    "  {}: links {} to {}, root {}",
                    head.business_date, head.first_seq, head.last_seq, head.root_hash
                );
            }
            Ok(())
        }
        AuditCommand::PublicKey => {
            let signer = AuditSigner::load_existing(audit_key(common), &common.data_dir)?;
            println!("{}", signer.public_key_hex());
            Ok(())
        }
        AuditCommand::Verify { public_key, json } => {
            let key = match public_key {
                Some(text) => audit_trail::signing::parse_public_key(&text)?,
                None => {
                    AuditSigner::load_existing(audit_key(common), &common.data_dir)?.public_key()
                }
            };
            let store = open(common).await?;
            let report = audit_trail::verify(&store, &[key], |links| {
                if !json && links % 100_000 == 0 {
                    eprintln!("  {links} links checked");
                }
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "checked {} links and {} signed heads; {} entries wait for the sealer{}",
                    report.links,
                    report.heads,
                    report.unsealed,
                    if report.unsigned_dates.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; closed dates not signed yet: {}",
                            report.unsigned_dates.join(", ")
                        )
                    }
                );
                match report.problems.first() {
                    None => println!("the trail is intact"),
                    Some(first) => {
                        println!("first: {first}");
                        for problem in report.problems.iter().skip(1) {
                            println!("  {problem}");
                        }
                    }
                }
            }
            anyhow::ensure!(
                report.is_intact(),
                "the audit trail was tampered with: {} problems, the first {}",
                report.problems.len(),
                report.problems[0]
            );
            Ok(())
        }
        AuditCommand::Proof {
            transfer,
            audit,
            output,
        } => {
            let (source, id) = match (transfer, audit) {
                (Some(id), _) => (ChainSource::Transfer, id),
                (None, Some(id)) => (ChainSource::Audit, id),
                (None, None) => anyhow::bail!("name --transfer or --audit"),
            };
            let store = open(common).await?;
            let proof = audit_trail::proof(&store, source, id).await?;
            let text = serde_json::to_string_pretty(&proof)?;
            match output {
                Some(path) => std::fs::write(&path, text + "\n")?,
                None => println!("{text}"),
            }
            Ok(())
        }
        AuditCommand::CheckProof { file, public_key } => {
            let key = audit_trail::signing::parse_public_key(&public_key)?;
            let text = std::fs::read_to_string(&file)?;
            let proof: audit_trail::InclusionProof = serde_json::from_str(&text)?;
            audit_trail::check_proof(&proof, &key)?;
            println!(
                "the proof holds: {} {} is link {} in the head of {}, signed by {}",
                proof.source, proof.entry_id, proof.seq, proof.head.head.business_date, public_key
            );
            Ok(())
        }
    }
}
