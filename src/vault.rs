//! The Customer Vault service: Qualpay's Customer Vault REST API, storing card data the way a
//! PCI DSS service provider must (encrypted, never a CVV, numbers shown only masked).
//!
//! - [`routes`] maps the REST paths to [`service`] calls; [`extract`] and [`auth`] turn
//!   requests into typed input, [`error`] turns failures into Qualpay's envelope.
//! - [`service`] validates ([`validate`], [`domain`]), verifies ([`processor`]), encrypts
//!   ([`crypto`]) and stores ([`store`]); [`wire`] shapes rows for responses.
//! - [`filter`] parses the browse `filter` grammar; [`clock`] is the one place the vault reads
//!   the time (per merchant, with the sandbox's offset).

pub mod account_updater;
pub mod auth;
pub mod billing;
pub mod clock;
pub mod crypto;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod events;
pub mod extract;
pub mod filter;
pub mod payments;
pub mod processor;
mod routes;
pub mod service;
pub mod store;
mod validate;
pub mod webhooks;
mod wire;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;

use crate::config::{ApiKeySpec, VaultArgs};
use crate::metrics::Metrics;
use crate::private_files;
use crate::readiness;
use crate::vault::account_updater::{AccountUpdaterService, DueWork};
use crate::vault::auth::{ApiKeys, HasApiKeys};
use crate::vault::billing::{BillingService, engine};
use crate::vault::clock::Clock;
use crate::vault::crypto::{MasterKey, random_alphanumeric};
use crate::vault::embedded::{EmbeddedSettings, Lifetime};
use crate::vault::payments::PaymentService;
use crate::vault::service::VaultService;
use crate::vault::store::{Database, PostgresStore, SqliteStore, StoreError, VaultStore};
use crate::vault::webhooks::WebhookService;
use crate::vault::webhooks::delivery::{Deliverer, DeliverySettings};

pub use error::VaultError;

/// The merchant id of the development key made when no key is configured.
pub const DEV_MERCHANT_ID: i64 = 210_000_000_001;
const DEV_KEY_FILE: &str = "dev-api-key";
const DATABASE_FILE: &str = "vault.db";

/// The database `--database-url` names (`postgres://` or `postgresql://` for PostgreSQL, any
/// other URL for SQLite), or without one the SQLite file `vault.db` in the data dir.
async fn open_database(args: &VaultArgs) -> Result<Arc<dyn Database>, StoreError> {
    Ok(match args.database_url.as_deref() {
        Some(url) if is_postgres(url) => {
            Arc::new(PostgresStore::open(url, args.pool_settings()).await?)
        }
        Some(url) => Arc::new(SqliteStore::open_url(url).await?),
        None => Arc::new(SqliteStore::open_file(&args.data_dir.join(DATABASE_FILE)).await?),
    })
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The vault's database answers a query.
struct DatabaseReady(Arc<dyn Database>);

#[async_trait::async_trait]
impl readiness::Check for DatabaseReady {
    fn name(&self) -> String {
        format!("database ({})", self.0.backend())
    }

    async fn check(&self) -> Result<(), String> {
        self.0
            .ping()
            .await
            .map_err(|_| "does not answer".to_owned())
    }
}

/// What every vault handler gets.
#[derive(Clone)]
pub struct VaultState {
    pub service: Arc<VaultService>,
    pub payments: Arc<PaymentService>,
    pub embedded: EmbeddedSettings,
    pub billing: Arc<BillingService>,
    pub webhooks: Arc<WebhookService>,
    pub account_updater: Arc<AccountUpdaterService>,
    pub clock: Clock,
    pub keys: ApiKeys,
    /// How long a clock advance answers inline before it answers with its running job.
    pub advance_wait: Duration,
}

impl HasApiKeys for VaultState {
    fn api_keys(&self) -> &ApiKeys {
        &self.keys
    }
}

/// A vault ready to serve: its routes (under `/platform`) and what its readiness depends on.
pub struct Vault {
    pub routes: Router,
    /// The database answers.
    pub readiness: Arc<dyn readiness::Check>,
    webhooks: Arc<WebhookService>,
    clock: Clock,
}

impl Vault {
    /// Makes the embedded gateway's receiver (`notification_url`) a webhook of `merchant_id`
    /// for every event, in place of the one an earlier run made; answers its signing secret.
    pub async fn register_gateway_webhook(
        &self,
        merchant_id: i64,
        notification_url: &str,
    ) -> Result<String, VaultError> {
        let now = self.clock.now(merchant_id).await?;
        let webhook = self
            .webhooks
            .register_gateway(merchant_id, GATEWAY_WEBHOOK_LABEL, notification_url, now)
            .await?;
        webhook
            .secret
            .ok_or_else(|| VaultError::Internal("a new webhook came without its secret".into()))
    }
}

/// The label of the webhook the embedded gateway registers for itself.
pub const GATEWAY_WEBHOOK_LABEL: &str = "vaultql gateway (embedded)";

/// Opens the database and the keys and returns the vault. `extra_keys` are keys the caller
/// adds (the gateway's own key when the vault is embedded); `metrics` are the process's.
pub async fn open(
    args: &VaultArgs,
    extra_keys: &[ApiKeySpec],
    metrics: Arc<Metrics>,
) -> anyhow::Result<Vault> {
    private_files::create_dir(&args.data_dir)?;
    let master = match &args.master_key {
        Some(encoded) => MasterKey::from_base64(encoded)?,
        None => MasterKey::load_or_create(&args.data_dir)?,
    };
    let database = open_database(args)
        .await
        .context("could not open the vault database")?;
    let store: Arc<dyn VaultStore> = database.clone();
    let clock = Clock::new(args.time, database.clone());
    let service = Arc::new(VaultService::open(store, &master, clock.process_now()).await?);
    let account_updater = Arc::new(AccountUpdaterService::new(
        service.clone(),
        database.clone(),
    ));
    let due_work: Arc<dyn DueWork> = account_updater.clone();
    let billing = Arc::new(
        BillingService::new(
            service.clone(),
            database.clone(),
            clock.clone(),
            usize::try_from(args.billing_batch_size).unwrap_or(engine::DEFAULT_BATCH),
        )
        .with_due_work(due_work)
        .with_metrics(metrics.clone()),
    );
    if args.billing_interval_secs > 0 {
        let every = Duration::from_secs(args.billing_interval_secs);
        billing.engine.clone().spawn_scheduler(clock.clone(), every);
        account_updater::spawn_scheduler(account_updater.clone(), clock.clone(), every);
    }
    let mut specs: Vec<ApiKeySpec> = args.api_keys.iter().chain(extra_keys).cloned().collect();
    if specs.is_empty() {
        let dev = dev_key(&args.data_dir)?;
        dev.announce("http://<listen>/platform/vault/customer");
        specs.push(dev.spec);
    }
    let payments = Arc::new(PaymentService::new(service.clone(), database.clone()));
    let webhooks = Arc::new(WebhookService::new(service.clone(), database.clone()));
    anyhow::ensure!(
        args.webhook_lease_ms > args.webhook_timeout_ms,
        "--webhook-lease-ms must be longer than --webhook-timeout-ms"
    );
    if args.webhook_delivery == crate::config::Toggle::On {
        Deliverer::new(
            database.clone(),
            service.clone(),
            clock.clone(),
            DeliverySettings {
                timeout: Duration::from_millis(args.webhook_timeout_ms),
                lease: Duration::from_millis(args.webhook_lease_ms),
                poll: Duration::from_millis(args.webhook_poll_ms),
            },
            metrics,
        )?
        .spawn();
    }
    let embedded = EmbeddedSettings {
        lifetime: Lifetime {
            idle: chrono::Duration::minutes(i64::from(args.embedded_key_idle_minutes)),
            max: chrono::Duration::hours(i64::from(args.embedded_key_max_hours)),
        },
        origins: args.embedded_origins.clone(),
    };
    let state = VaultState {
        service,
        payments,
        embedded,
        billing,
        webhooks: webhooks.clone(),
        account_updater,
        clock: clock.clone(),
        keys: ApiKeys::new(&specs),
        advance_wait: Duration::from_millis(args.advance_wait_ms),
    };
    Ok(Vault {
        routes: routes::router().with_state(state),
        readiness: Arc::new(DatabaseReady(database)),
        webhooks,
        clock,
    })
}

/// The development key of the demo merchant and the file that keeps it.
pub struct DevKey {
    pub spec: ApiKeySpec,
    pub file: PathBuf,
}

impl DevKey {
    /// Tells the developer where the key is. The key itself goes only to a terminal: when
    /// stderr is a file or a pipe (Docker, systemd, a log collector) it is the log stream, and
    /// there only the key file's path is said.
    pub fn announce(&self, try_url: &str) {
        if crate::telemetry::json() {
            tracing::info!(key_file = %self.file.display(), "{}", self.describe(try_url));
        } else {
            eprintln!("vaultql: {}", self.describe(try_url));
        }
    }

    /// What [`Self::announce`] says: the key on a terminal, else (and always in JSON logs,
    /// which are a log stream) where it is.
    pub fn describe(&self, try_url: &str) -> String {
        let key = &self.spec.key;
        if std::io::stderr().is_terminal() && !crate::telemetry::json() {
            format!(
                "the embedded vault's API key (merchant {DEV_MERCHANT_ID}), FOR DEVELOPMENT \
                 ONLY: {key}  (try: curl -u {key}: {try_url})"
            )
        } else {
            format!(
                "the embedded vault's API key (merchant {DEV_MERCHANT_ID}), FOR DEVELOPMENT \
                 ONLY, is in {} (it is printed only to a terminal)",
                self.file.display()
            )
        }
    }
}

/// The development key of the demo merchant, kept in the data directory so it survives
/// restarts. Callers print it to a terminal only (never to the log).
pub fn dev_key(data_dir: &Path) -> anyhow::Result<DevKey> {
    private_files::create_dir(data_dir)?;
    let path = data_dir.join(DEV_KEY_FILE);
    let key = match std::fs::read_to_string(&path) {
        Ok(key) if !key.trim().is_empty() => key.trim().to_owned(),
        _ => {
            let key = random_alphanumeric(32);
            private_files::write(&path, key.as_bytes())?;
            key
        }
    };
    Ok(DevKey {
        spec: ApiKeySpec {
            key,
            merchant_id: DEV_MERCHANT_ID,
            acts_for: Vec::new(),
        },
        file: path,
    })
}
