//! Building and running the server: open (and migrate) the store, load keys, optionally load the
//! demo data, bind, serve until SIGTERM or Ctrl-C, then let requests in flight finish within a grace
//! period. Tests build the same `Application` on port 0.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::Notify};

use crate::{
    auth::{
        card_policy::CardPolicy, jwt::JwtKeys, login_throttle::ThrottlePolicy, pan_vault::PanVault,
        password_workers::PasswordWorkers, pin::PinHasher, terminal_keys::TerminalKeyVault,
    },
    cards::Cards,
    config::{CommonArgs, ServeArgs},
    demo,
    http::{self, state::AppState, Limits},
    login::Logins,
    redemption::{self, engine::RedemptionRules},
    registry::{ewarungs::Ewarungs, households::Households, programs::Programs, users::Users},
    secrets, store,
};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    address: SocketAddr,
    grace: Duration,
    state: AppState,
    /// The hold sweeper, the web session sweeper, the token revocation refresher and the
    /// scheduled backups.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// SQLite: held while serving, so that no restore replaces the database under the server.
    _serve_lock: Option<crate::backup::ServeLock>,
}

impl Application {
    pub async fn build(common: &CommonArgs, args: &ServeArgs) -> anyhow::Result<Self> {
        let url = common.database_url();
        let sqlite_file = url
            .starts_with("sqlite:")
            .then(|| crate::backup::sqlite_file(&url))
            .transpose()?;
        if sqlite_file.is_none() && args.backup_dir.is_some() {
            anyhow::bail!("--backup-dir backs up the SQLite default; for PostgreSQL use pg_basebackup with WAL archiving (README: Backups)");
        }
        let serve_lock = match &sqlite_file {
            Some(file) => {
                if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                Some(crate::backup::ServeLock::shared(file)?)
            }
            None => None,
        };
        let store = store::open(&url, &common.connect_options()).await?;
        let jwt_secret = secrets::load_or_create(
            args.jwt_secret.as_ref().map(crate::config::Secret::expose),
            &common.data_dir,
            "jwt.key",
        )?;
        let pin_key = secrets::load_or_create(
            args.pin_key.as_ref().map(crate::config::Secret::expose),
            &common.data_dir,
            "pin.key",
        )?;
        let pins = Arc::new(PinHasher::new(&pin_key));
        let saldo_grants = Arc::new(crate::auth::saldo_grant::SaldoGrants::new(&pin_key));
        let terminal_keys = Arc::new(TerminalKeyVault::new(&pin_key));
        let pans = Arc::new(PanVault::new(&pin_key, &common.data_dir)?);
        let audit_signer = Arc::new(crate::audit_trail::signing::AuditSigner::load_or_create(
            common.audit_key.as_ref().map(crate::config::Secret::expose),
            &common.data_dir,
        )?);
        // Cards stored before numbers were protected get their hash and encryption now.
        let converted = store
            .protect_legacy_pans(&|pan: &str| pans.protect(pan))
            .await?;
        if converted > 0 {
            tracing::info!(
                cards = converted,
                "card numbers converted to hashes and encryption"
            );
        }
        let card_policy = Arc::new(CardPolicy {
            prefix: args.card_prefix.clone(),
            pin_max_failures: args.pin_max_failures,
            pin_lock: args.pin_lock(),
        });
        let cards = Cards {
            store: store.clone(),
            pins: pins.clone(),
            policy: card_policy.clone(),
            pans: pans.clone(),
        };
        let logins = Arc::new(Logins::new(
            PasswordWorkers::for_this_machine(),
            ThrottlePolicy::default(),
        ));
        let revocations: Arc<crate::revocations::TokenRevocations> = Arc::default();
        let state = AppState {
            households: Households::new(store.clone()),
            members: crate::registry::members::Members::new(store.clone()),
            change_requests: crate::registry::change_requests::ChangeRequests::new(store.clone()),
            complaints: crate::registry::complaints::Complaints {
                store: store.clone(),
            },
            visits: crate::registry::visits::Visits {
                store: store.clone(),
                photos: Arc::new(crate::photos::PhotoStore::new(
                    common.data_dir.join("photos"),
                )),
            },
            registry_imports: crate::registry::import::RegistryImports {
                store: store.clone(),
            },
            campaigns: crate::registry::campaigns::Campaigns {
                store: store.clone(),
            },
            dormancy: crate::registry::dormancy::Dormancy {
                store: store.clone(),
            },
            representatives: crate::registry::representatives::Representatives {
                store: store.clone(),
                cards: cards.clone(),
            },
            saldo_grants,
            // Ten wrong answers from one address, then fifteen minutes' rest.
            saldo_throttle: Arc::new(crate::auth::address_throttle::AddressThrottle::new(
                10,
                std::time::Duration::from_secs(15 * 60),
            )),
            users: Users {
                store: store.clone(),
                logins: logins.clone(),
                revocations: revocations.clone(),
            },
            programs: Programs {
                store: store.clone(),
            },
            ewarungs: Ewarungs {
                store: store.clone(),
                keys: terminal_keys.clone(),
            },
            store,
            audit_signer,
            jwt: Arc::new(JwtKeys::new(
                &jwt_secret,
                &common.data_dir,
                args.token_ttl(),
            )?),
            redemptions: Arc::new(RedemptionRules {
                pins: pins.clone(),
                cards: card_policy.clone(),
                hold_timeout: Duration::from_secs(args.hold_timeout_seconds),
                terminal_keys: terminal_keys.clone(),
                pans: pans.clone(),
            }),
            terminal_keys,
            pans,
            pins,
            card_policy,
            cards,
            logins,
            revocations,
            trusted_proxies: Arc::new(crate::http::client_address::TrustedProxies::new(
                args.trusted_proxies.clone(),
            )),
        };
        // Tokens revoked before this start are refused from the first request on.
        state.revocations.refresh(state.store.sessions()).await?;
        if let Some(cutoff) = args.business_cutoff {
            state.store.days().set_cutoff(cutoff).await?;
            tracing::info!(%cutoff, "business-date cut-off (WITA)");
        }
        if args.demo {
            demo::load(&state).await?;
        }
        let limits = Limits {
            body_bytes: args.body_limit_bytes,
            request_timeout: Duration::from_secs(args.request_timeout_seconds),
        };
        let router = http::router(state.clone(), limits, crate::web::router(state.clone()));
        let background = vec![
            redemption::sweeper::spawn(
                state.store.clone(),
                Duration::from_secs(args.sweep_interval_seconds),
            ),
            crate::web::session::spawn_sweeper(
                state.store.clone(),
                crate::web::session::SWEEP_EVERY,
            ),
            crate::revocations::spawn_refresher(
                state.revocations.clone(),
                state.store.clone(),
                crate::revocations::REFRESH_EVERY,
            ),
        ];
        let mut background = background;
        background.push(key_reloader(state.pans.clone(), state.jwt.clone()));
        background.push(crate::audit_trail::spawn_sealer(
            state.store.clone(),
            state.audit_signer.clone(),
            crate::audit_trail::SEAL_EVERY,
        ));
        if let (Some(source), Some(dir)) = (sqlite_file, args.backup_dir.clone()) {
            background.push(scheduled_backups(
                source,
                dir,
                args.backup_every,
                args.backup_keep as usize,
            ));
        }
        let listener = TcpListener::bind(args.listen).await?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            address,
            grace: Duration::from_secs(args.shutdown_grace_seconds),
            state,
            background,
            _serve_lock: serve_lock,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` completes, then drains requests in flight for at most the grace period.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stopping = Arc::new(Notify::new());
        let notify = stopping.clone();
        let signal = async move {
            stop.await;
            tracing::info!("shutting down: no new connections, finishing requests in flight");
            notify.notify_one();
        };
        // Client addresses reach the handlers, for the failed-login throttle.
        let server = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        let grace = self.grace;
        tokio::select! {
            result = server => result?,
            () = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_seconds = grace.as_secs(), "grace period over, stopping with requests unfinished");
            }
        }
        for task in &self.background {
            task.abort();
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// `ssn serve`: build, announce the address on stdout, run until SIGTERM or Ctrl-C.
pub async fn serve(common: &CommonArgs, args: ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(common, &args).await?;
    tracing::info!(address = %app.address(), database = app.state().store.backend(), "serving");
    println!("ssn listening on http://{}", app.address());
    app.run_until(shutdown_signal()).await
}

/// Completes on SIGTERM (how service managers stop us) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// How often a server reads the key directory for rotated and retired keys (it also reads it
/// before sealing a number or signing a token, and when it meets a newer key id).
pub const KEY_RELOAD_EVERY: Duration = Duration::from_secs(5);

/// Reads the data directory's rotated keys every [`KEY_RELOAD_EVERY`]: a retired key stops
/// opening numbers and verifying tokens within that time.
fn key_reloader(pans: Arc<PanVault>, jwt: Arc<JwtKeys>) -> tokio::task::JoinHandle<()> {
    crate::periodic::every(KEY_RELOAD_EVERY, move || {
        let (pans, jwt) = (pans.clone(), jwt.clone());
        async move {
            let read = tokio::task::spawn_blocking(move || {
                pans.reload()?;
                jwt.reload()
            })
            .await;
            if let Ok(Err(error)) = read {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "could not read the key directory"
                );
            }
        }
    })
}

/// A backup into `dir` every `every` (the first at once), keeping the newest `keep`.
fn scheduled_backups(
    source: std::path::PathBuf,
    dir: std::path::PathBuf,
    every: Duration,
    keep: usize,
) -> tokio::task::JoinHandle<()> {
    crate::periodic::every(every, move || {
        let (source, dir) = (source.clone(), dir.clone());
        async move {
            let made =
                tokio::task::spawn_blocking(move || crate::backup::scheduled(&source, &dir, keep))
                    .await;
            let metrics = crate::metrics::metrics();
            match made {
                Ok(Ok(report)) => {
                    metrics
                        .backup_last_success
                        .set(chrono::Utc::now().timestamp());
                    tracing::info!(
                        path = %report.path.display(),
                        bytes = report.bytes,
                        seconds = report.elapsed.as_secs_f64(),
                        "scheduled backup written"
                    )
                }
                Ok(Err(error)) => {
                    metrics.backup_failures.inc();
                    tracing::error!(error = format!("{error:#}"), "scheduled backup failed")
                }
                Err(error) => {
                    metrics.backup_failures.inc();
                    tracing::error!(%error, "scheduled backup stopped")
                }
            }
        }
    })
}
