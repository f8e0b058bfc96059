//! Fresh databases and the data a benchmark needs, created through the store like real work.

use std::path::Path;

use sqlx::Connection;

use ssn::{
    auth::password,
    domain::{
        catalog::CommodityGroup,
        household::Address,
        ids::{ProgramId, UserId},
        pan::Pan,
        pin::Pin,
        role::Role,
    },
    http::state::AppState,
    quota::StagedLine,
    store::{
        BankAccount, NewCard, NewCatalogItem, NewEwarung, NewHousehold, NewProgram, NewTerminal,
        NewUser,
    },
};

/// Builds the real application (HTTP server, store, sweeper) on `database` listening on a free
/// port, with `serve`'s settings (its `listen` is replaced) and `max_connections` in the pool. Not
/// started: the caller runs it.
pub async fn build_app(
    database: &FreshDatabase,
    dir: &Path,
    max_connections: u32,
    serve: ssn::config::ServeArgs,
) -> anyhow::Result<ssn::startup::Application> {
    let common = ssn::config::CommonArgs {
        database_url: Some(database.url.clone()),
        data_dir: dir.to_path_buf(),
        db_max_connections: max_connections,
        ..Default::default()
    };
    let serve = ssn::config::ServeArgs {
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        ..serve
    };
    ssn::startup::Application::build(&common, &serve).await
}

/// A benchmark's server, serving in this process until `stop`.
pub struct BackgroundServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl BackgroundServer {
    pub fn start(app: ssn::startup::Application) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self { stop, task }
    }

    /// Stops the server and waits until it has.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// A database made for one benchmark run; a PostgreSQL one is dropped when the run ends.
pub struct FreshDatabase {
    pub url: String,
    admin_url: Option<String>,
    name: String,
}

impl FreshDatabase {
    pub async fn create(spec: &str, dir: &Path) -> anyhow::Result<Self> {
        if spec == "sqlite" {
            return Ok(Self {
                url: format!("sqlite://{}", dir.join("bench.db").display()),
                admin_url: None,
                name: String::new(),
            });
        }
        anyhow::ensure!(
            spec.starts_with("postgres://") || spec.starts_with("postgresql://"),
            "--bench-database is `sqlite` or a postgres:// URL"
        );
        let name = format!("ssn_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(spec).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let (prefix, _) = spec
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("the URL needs a database name"))?;
        Ok(Self {
            url: format!("{prefix}/{name}"),
            admin_url: Some(spec.to_string()),
            name,
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.admin_url.is_some()
    }

    pub async fn drop_database(&self) {
        if let Some(admin) = &self.admin_url {
            if let Ok(mut admin) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .execute(&mut admin)
                .await;
            }
        }
    }
}

pub const OPERATOR_PASSWORD: &str = "bench-operator-password";
pub const OFFICE_PASSWORD: &str = "bench-office-password";

/// An office user for the bench (the maker and the checker of its quota batches).
pub fn office_user(username: &str) -> NewUser {
    NewUser {
        nik: None,
        username: username.into(),
        password_hash: password::hash(OFFICE_PASSWORD).expect("hashing works"),
        role: Role::Office,
        ewarung_id: None,
        kelurahan: Vec::new(),
        actor: None,
    }
}

/// Logs in over HTTP and returns the access token.
pub async fn login(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let reply: serde_json::Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    reply["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("login failed: {reply}"))
}
pub const PIN: &str = "123456";
pub const SKU: &str = "BERAS";

/// What the redemption benchmark runs against.
pub struct RedeemDataset {
    pub program: ProgramId,
    /// (operator username, terminal ids) per E-Warung.
    pub ewarungs: Vec<(String, Vec<String>)>,
    pub pans: Vec<String>,
}

/// Creates a program, `terminals` terminals in E-Warungs of ten, and `households` households
/// with cards and a quota far above what the run can spend.
pub async fn redeem_dataset(
    state: &AppState,
    terminals: usize,
    households: usize,
) -> anyhow::Result<RedeemDataset> {
    let store = state.store.as_ref();
    let maker = store.create_user(office_user("bench-maker")).await?.id;
    let checker = store.create_user(office_user("bench-checker")).await?.id;
    let program = store
        .create_program(
            NewProgram {
                code: "BENCH".into(),
                name: "Benchmark program".into(),
                default_monthly_amount_minor: 200_000 * 100,
                carry_over_months: 3,
            },
            maker,
        )
        .await?;
    store
        .add_catalog_item(
            NewCatalogItem {
                program_id: program.id,
                sku: SKU.into(),
                name: "Beras medium".into(),
                unit: "kg".into(),
                commodity_group: CommodityGroup::Carbohydrate,
                max_unit_price_minor: 14_000 * 100,
            },
            maker,
        )
        .await?;
    let mut ewarungs = Vec::new();
    for (index, chunk) in (0..terminals).collect::<Vec<_>>().chunks(10).enumerate() {
        let ewarung = store
            .create_ewarung(
                NewEwarung {
                    owner_nik: None,
                    name: format!("Bench E-Warung {index}"),
                    owner_name: "Bench".into(),
                    address: address(),
                    bank_account: BankAccount {
                        bank_code: "124".into(),
                        account_number: format!("9{index:09}"),
                        account_holder: "Bench".into(),
                    },
                },
                maker,
            )
            .await?;
        let username = format!("bench-operator-{index}");
        store
            .create_user(NewUser {
                nik: None,
                username: username.clone(),
                password_hash: password::hash(OPERATOR_PASSWORD)?,
                role: Role::Operator,
                ewarung_id: Some(ewarung.id),
                kelurahan: Vec::new(),
                actor: Some(maker),
            })
            .await?;
        let mut ids = Vec::new();
        for terminal in chunk {
            let id = format!("BN{terminal:06}");
            store
                .create_terminal(
                    NewTerminal {
                        terminal_id: id.clone(),
                        ewarung_id: ewarung.id,
                        serial_number: format!("SN-{id}"),
                        pin_key: None,
                    },
                    maker,
                )
                .await?;
            ids.push(id);
        }
        ewarungs.push((username, ids));
    }
    let pin = Pin::parse(PIN)?;
    let mut pans = Vec::new();
    let mut lines = Vec::new();
    let mut rng = rand::thread_rng();
    for index in 0..households {
        let kk = format!("9900{index:012}");
        let household = store
            .create_household(
                NewHousehold {
                    kk_number: kk.clone(),
                    head_nik: format!("9900{index:012}"),
                    head_name: format!("Bench household {index}"),
                    address: address(),
                    request: None,
                },
                maker,
            )
            .await?;
        let pan = Pan::generate(&state.card_policy.prefix, &mut rng);
        store
            .issue_card(
                NewCard {
                    representative_id: None,
                    household_id: household.id,
                    pan: state.pans.protect(pan.expose()),
                    pin_hash: state.pins.verification_value(pan.expose(), &pin),
                },
                maker,
            )
            .await?;
        pans.push(pan.expose().to_string());
        lines.push(StagedLine {
            line_no: index as i64 + 2,
            program_id: program.id,
            kk_number: kk,
            period: "2026-11".into(),
            // Ten million rupiah each: the run never runs out.
            amount_minor: 10_000_000 * 100,
        });
    }
    load_quota(state, &lines, maker, checker).await?;
    Ok(RedeemDataset {
        program: program.id,
        ewarungs,
        pans,
    })
}

async fn load_quota(
    state: &AppState,
    lines: &[StagedLine],
    maker: UserId,
    checker: UserId,
) -> anyhow::Result<()> {
    let ledger = state.store.ledger();
    let batch = ledger.create_quota_batch("bench.csv", maker).await?;
    let mut tally = ssn::quota::BatchTally::default();
    for part in lines.chunks(5_000) {
        let outcomes = ledger.stage_quota_chunk(batch.id, part, &[]).await?;
        tally.record(part, &outcomes);
    }
    let report = ledger
        .finish_quota_batch(batch.id, lines.len() as i64, tally.finish())
        .await?;
    anyhow::ensure!(
        report.batch.error_count == 0,
        "bench quota invalid: {:?}",
        report.errors
    );
    ssn::quota::posting::approve(state.store.as_ref(), batch.id, checker).await?;
    Ok(())
}

pub fn address() -> Address {
    Address {
        street: "Jl. Benchmark 1".into(),
        rt: "001".into(),
        rw: "001".into(),
        kelurahan: "Air Putih".into(),
        kecamatan: "Samarinda Ulu".into(),
    }
}
