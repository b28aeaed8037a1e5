//! numberdesk: a self-hosted phone-number request platform with a CM.com-compatible API.
//!
//! [`Application::build`] migrates the database and binds the listener; `run_until_stopped`
//! serves the API and runs the background workers until shutdown.

pub mod api;
pub mod apilog;
pub mod backup;
pub mod cache;
pub mod config;
pub mod console;
pub mod demo;
pub mod domain;
pub mod idempotency;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod money;
pub mod netpolicy;
pub mod notify;
pub mod orders;
pub mod phone;
pub mod prices;
pub mod profiles;
pub mod rules;
pub mod stock;
pub mod store;
pub mod text;
pub mod throttle;
pub mod usage;
pub mod workers;

pub use netpolicy::callback_target_is_private;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};

use crate::config::Config;
use crate::store::Db;

/// What every handler and worker shares: one allocation behind an `Arc`, so the several
/// clones each request makes (every `State` extractor and middleware takes one) are one counter
/// each, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: metrics::Metrics,
    /// One fulfilment pass at a time in this process (passes on other instances are safe too:
    /// every completion is a guarded status change).
    pub fulfil_lock: Arc<Mutex<()>>,
    /// Woken after a status event is committed, so the delivery worker sends it at once.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// The queue of the group-commit create writer ([`orders::spawn_create_writer`]).
    pub creates: tokio::sync::mpsc::Sender<orders::CreateJob>,
    /// API keys and order rules read by nearly every call ([`cache`]).
    pub caches: Arc<cache::Caches>,
    /// Requests per second per API key (`NUMBERDESK_RATE_LIMIT`, burst twice that); None when 0.
    pub rate_limiter: Option<Arc<governor::DefaultKeyedRateLimiter<String>>>,
    /// Failed operator-token (and sign-in) attempts per client address ([`throttle`]).
    pub auth_throttle: Arc<throttle::AuthThrottle>,
    /// Where customer calls are recorded ([`apilog`]); None when the retention is 0 days.
    pub api_log: Option<apilog::ApiLog>,
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        let db = Db::connect(&config).await?;
        db.migrate().await?;
        let metrics = metrics::Metrics::install();
        let outbox_wake = Arc::new(tokio::sync::Notify::new());
        let creates = orders::spawn_create_writer(&db, &metrics, &outbox_wake)?;
        Ok(AppState(Arc::new(Services {
            db,
            metrics,
            fulfil_lock: Arc::new(Mutex::new(())),
            outbox_wake,
            creates,
            caches: Arc::new(cache::Caches::new()),
            rate_limiter: std::num::NonZeroU32::new(config.rate_limit).map(|rate| {
                let burst = rate.saturating_mul(std::num::NonZeroU32::MIN.saturating_add(1));
                let quota = governor::Quota::per_second(rate).allow_burst(burst);
                Arc::new(governor::RateLimiter::keyed(quota))
            }),
            auth_throttle: Arc::new(throttle::AuthThrottle::new(config.auth_failure_limit)),
            api_log: (config.api_log_retention_days > 0).then(apilog::ApiLog::new),
            config: Arc::new(config),
        })))
    }
}

/// The service: a bound listener plus its state.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    limits: api::serve::ConnLimits,
}

impl Application {
    /// Connects and migrates the database, then binds the listen address (port 0 picks one).
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let state = AppState::new(config).await?;
        Self::with_state(state).await
    }

    pub async fn with_state(state: AppState) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&state.config.listen)
            .await
            .with_context(|| format!("binding {}", state.config.listen))?;
        let nofile = api::serve::raise_descriptor_limit();
        let limits = api::serve::ConnLimits::from_config(&state.config, nofile);
        tracing::debug!(?limits, nofile, "connection limits");
        Ok(Application {
            listener,
            state,
            limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves: then stops taking connections, finishes requests in
    /// flight, stops the workers and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!("listening on http://{addr}");
        let (stop_tx, stop_rx) = watch::channel(false);
        let notifier = Arc::new(notify::Notifier::new(&self.state.config, addr)?);
        let workers = tokio::spawn(workers::run(self.state.clone(), stop_rx.clone()));
        let log_writer = self
            .state
            .api_log
            .as_ref()
            .and_then(apilog::ApiLog::take_receiver)
            .map(|rx| {
                tokio::spawn(apilog::run_writer(
                    self.state.db.clone(),
                    rx,
                    stop_rx.clone(),
                ))
            });
        let log_trimmer = tokio::spawn(apilog::run_trimmer(
            self.state.db.clone(),
            self.state.config.api_log_retention_days,
            stop_rx.clone(),
        ));
        let sender = tokio::spawn(notify::run(self.state.clone(), notifier, stop_rx));
        let app = api::router(self.state.clone());
        api::serve::serve(self.listener, app, self.limits, shutdown).await?;
        let _ = stop_tx.send(true);
        let _ = workers.await;
        let _ = sender.await;
        if let Some(w) = log_writer {
            let _ = w.await;
        }
        let _ = log_trimmer.await;
        self.state.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
