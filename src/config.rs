//! Command line and environment configuration. The doc comments here are the `--help` text.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::time::TimeSource;
use crate::vault::store::PoolSettings;

/// vaultql: a GraphQL gateway over the Qualpay Customer Vault API, with an embedded vault.
///
/// With no command it runs `serve`; `vaultql serve --help` lists the gateway's settings.
#[derive(Debug, Parser)]
#[command(name = "vaultql", version, about, long_about)]
pub struct Cli {
    /// Log as JSON lines instead of human-readable text. `RUST_LOG` sets the level.
    #[arg(long, global = true, env = "VAULTQL_LOG_JSON")]
    pub log_json: bool,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The process's command line, with `serve` where no command is named: `vaultql` and
    /// `vaultql --listen ...` run the gateway, and `vaultql --help` lists the commands alone.
    pub fn from_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Self {
        Self::parse_from(with_default_command(args))
    }
}

/// Commands, and the arguments that are not a command's settings.
const NAMED: [&str; 9] = [
    "serve",
    "sandbox",
    "schema",
    "healthcheck",
    "help",
    "--help",
    "-h",
    "--version",
    "-V",
];

/// `args` with `serve` put after the program name when the next argument names no command.
fn with_default_command(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<_> = args.into_iter().collect();
    let named = args
        .get(1)
        .and_then(|first| first.to_str())
        .is_some_and(|first| NAMED.contains(&first));
    if !named {
        args.insert(args.len().min(1), "serve".into());
    }
    args
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL gateway (the default), with the embedded vault unless --upstream is set.
    Serve(ServeArgs),
    /// Run the Customer Vault service alone: Qualpay's vault REST API under /platform.
    Sandbox(SandboxArgs),
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Ask a running vaultql whether it is up (for a container's HEALTHCHECK): exit 0 if
    /// `/healthz` answers 200, 1 otherwise.
    Healthcheck(HealthcheckArgs),
}

/// Settings of `vaultql healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The address the process listens on (an unspecified address means this machine).
    #[arg(long, env = "VAULTQL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Check readiness (`/readyz`: the upstream or database answers) instead of liveness.
    #[arg(long)]
    pub ready: bool,

    /// How long to wait for the answer, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub timeout_ms: u64,
}

/// Settings of `vaultql serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (GraphQL at /graphql; the embedded vault under /platform).
    #[arg(long, env = "VAULTQL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Qualpay API base URL, e.g. https://api-test.qualpay.com. Without it the embedded vault
    /// runs in this process and the gateway talks to it over loopback.
    #[arg(long, env = "VAULTQL_UPSTREAM_URL")]
    pub upstream: Option<String>,

    /// The gateway's own API key for the upstream, for readiness checks and seeding (GraphQL
    /// requests bring their own). Required with --upstream; with the embedded vault, the vault
    /// accepts it for the demo merchant (made and kept in --data-dir when absent).
    #[arg(long, env = "VAULTQL_UPSTREAM_API_KEY", hide_env_values = true)]
    pub upstream_api_key: Option<String>,

    /// How the customer loader batches: `in` sends one browse with `customer_id,IN,...` per 100
    /// ids; `none` sends bounded concurrent GETs, for an upstream without IN.
    #[arg(long, env = "VAULTQL_UPSTREAM_BATCH", value_enum, default_value_t = UpstreamBatch::In)]
    pub upstream_batch: UpstreamBatch,

    /// Upstream connect timeout, in milliseconds.
    #[arg(
        long,
        env = "VAULTQL_UPSTREAM_CONNECT_TIMEOUT_MS",
        default_value_t = 2_000
    )]
    pub upstream_connect_timeout_ms: u64,

    /// Upstream request timeout (whole request), in milliseconds.
    #[arg(long, env = "VAULTQL_UPSTREAM_TIMEOUT_MS", default_value_t = 15_000)]
    pub upstream_timeout_ms: u64,

    /// Do not add demo customers to an empty embedded vault on start.
    #[arg(long, env = "VAULTQL_NO_SEED")]
    pub no_seed: bool,

    /// A browser origin allowed to call /graphql from its pages (CORS), as `scheme://host[:port]`,
    /// e.g. https://app.example.com. Repeat for each origin; none by default.
    #[arg(
        long = "cors-origin",
        env = "VAULTQL_CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_origin
    )]
    pub cors_origins: Vec<String>,

    /// Most upstream (REST) calls one GraphQL request may make, batched operations together;
    /// fields past it fail with TOO_MANY_UPSTREAM_CALLS.
    #[arg(long, env = "VAULTQL_MAX_UPSTREAM_CALLS", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_upstream_calls: u32,

    /// Largest GraphQL response body, in bytes; a larger one is replaced by a
    /// RESPONSE_TOO_LARGE error.
    #[arg(long, env = "VAULTQL_MAX_RESPONSE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_response_bytes: usize,

    /// Most GraphQL requests this process works on at once; one more is answered 503 at once
    /// (so a hung upstream cannot pile up unbounded work).
    #[arg(long, env = "VAULTQL_MAX_CONCURRENT_REQUESTS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_requests: u32,

    /// Failed authentications (401 answers) one client address may get per minute; past it,
    /// its requests are answered 429 until the minute is over.
    #[arg(long, env = "VAULTQL_MAX_AUTH_FAILURES", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_auth_failures: u32,

    /// The keys that sign customer session tokens, one `<key id> <base64 key>` per line, the
    /// first signing (made with one fresh key if missing). Default: `session-keys` in the data
    /// directory. Every gateway process serving the same clients needs the same file.
    #[arg(long, env = "VAULTQL_SESSION_KEYS_FILE")]
    pub session_keys_file: Option<PathBuf>,

    /// GraphiQL on GET /graphql from a browser: `on` or `off` (production). With the embedded
    /// vault on a loopback address, its Headers tab starts with the development key.
    #[arg(long, env = "VAULTQL_GRAPHIQL", value_enum, default_value_t = Toggle::On)]
    pub graphiql: Toggle,

    /// The signing secret of a webhook registered at Qualpay to post to this gateway's
    /// `/webhooks/qualpay` (its events go to GraphQL subscriptions). Repeat for each webhook;
    /// without any, that path answers 404 (with the embedded vault, see --embedded-webhooks).
    #[arg(
        long = "qualpay-webhook-secret",
        env = "VAULTQL_QUALPAY_WEBHOOK_SECRETS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub qualpay_webhook_secrets: Vec<String>,

    /// With the embedded vault: register this gateway's `/webhooks/qualpay` as a webhook of
    /// every merchant on start (replacing an earlier run's), so GraphQL subscriptions hear of
    /// the vault's events.
    #[arg(long, env = "VAULTQL_EMBEDDED_WEBHOOKS", value_enum, default_value_t = Toggle::On)]
    pub embedded_webhooks: Toggle,

    #[command(flatten)]
    pub vault: VaultArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Toggle {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpstreamBatch {
    In,
    None,
}

/// Settings of `vaultql sandbox`.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address and port to listen on.
    #[arg(long, env = "VAULTQL_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub vault: VaultArgs,
}

/// Settings of the Customer Vault service, standalone or embedded.
#[derive(Debug, Clone, Args)]
pub struct VaultArgs {
    /// Directory for the database file and the master key file (created if missing).
    #[arg(long, env = "VAULTQL_DATA_DIR", default_value = "./vaultql-data")]
    pub data_dir: PathBuf,

    /// Database URL, instead of the SQLite file in --data-dir: `postgres://USER:PASSWORD@HOST:PORT/DB`
    /// for PostgreSQL (several vault processes can share it), or a SQLite URL such as
    /// `sqlite::memory:`. Prefer the environment variable when it holds a password.
    #[arg(long, env = "VAULTQL_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// PostgreSQL: connections this process opens at most.
    #[arg(long, env = "VAULTQL_DATABASE_MAX_CONNECTIONS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub database_max_connections: u32,

    /// PostgreSQL: connections kept open while idle.
    #[arg(long, env = "VAULTQL_DATABASE_MIN_CONNECTIONS", default_value_t = 1)]
    pub database_min_connections: u32,

    /// PostgreSQL: seconds a request waits for a connection before it fails.
    #[arg(long, env = "VAULTQL_DATABASE_ACQUIRE_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub database_acquire_timeout_secs: u64,

    /// PostgreSQL: seconds an unused connection (above the minimum) stays open.
    #[arg(
        long,
        env = "VAULTQL_DATABASE_IDLE_TIMEOUT_SECS",
        default_value_t = 300
    )]
    pub database_idle_timeout_secs: u64,

    /// An API key and the merchant it belongs to: `KEY:MERCHANT_ID`, or
    /// `KEY:MERCHANT_ID:OTHER_ID,OTHER_ID` for a key that may also act for other merchants
    /// (through `merchant_id`). Repeatable; in the environment, separate keys with `;`.
    /// With no key at all, a development key is made, kept in --data-dir and printed at start.
    #[arg(long = "api-key", env = "VAULTQL_API_KEYS", value_delimiter = ';')]
    pub api_keys: Vec<ApiKeySpec>,

    /// Master key (base64 of 32 bytes) that encrypts the data keys. Prefer the environment
    /// variable: a flag shows in the process list. Without it, a key file `master.key` is
    /// created in --data-dir with mode 0600 on first start.
    #[arg(long, env = "VAULTQL_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// Largest accepted request body, in bytes; larger ones get 413.
    #[arg(long, env = "VAULTQL_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// Seconds between runs of the billing scheduler, which charges subscriptions that are
    /// due; 0 turns it off (the sandbox clock endpoint still bills what it passes over).
    #[arg(long, env = "VAULTQL_BILLING_INTERVAL_SECS", default_value_t = 60)]
    pub billing_interval_secs: u64,

    /// Payment attempts the billing engine claims, charges and records per database
    /// transaction.
    #[arg(long, env = "VAULTQL_BILLING_BATCH_SIZE", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub billing_batch_size: u32,

    /// How long `POST /platform/sandbox/clock` waits for its billing before it answers 202
    /// with the running job, in milliseconds. The billing goes on either way.
    #[arg(long, env = "VAULTQL_CLOCK_ADVANCE_WAIT_MS", default_value_t = 5_000)]
    pub advance_wait_ms: u64,

    /// How long an embedded-fields transient key (`GET /platform/embedded`) lives without
    /// use, in minutes; each declined card moves its end this far from the decline.
    #[arg(long, env = "VAULTQL_EMBEDDED_KEY_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    pub embedded_key_idle_minutes: u32,

    /// The longest a transient key lives, however it is used, in hours.
    #[arg(long, env = "VAULTQL_EMBEDDED_KEY_MAX_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=12))]
    pub embedded_key_max_hours: u32,

    /// A page origin allowed to frame the hosted card fields (`scheme://host[:port]`;
    /// repeatable). The vault's own origin always is.
    #[arg(
        long = "embedded-origin",
        env = "VAULTQL_EMBEDDED_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_origin
    )]
    pub embedded_origins: Vec<String>,

    /// Whether this process posts webhook deliveries (`off` for a process that should only
    /// serve requests while others deliver; events are written to the outbox either way).
    #[arg(long, env = "VAULTQL_WEBHOOK_DELIVERY", value_enum, default_value_t = Toggle::On)]
    pub webhook_delivery: Toggle,

    /// How long a webhook receiver has to answer a delivery, in milliseconds.
    #[arg(long, env = "VAULTQL_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub webhook_timeout_ms: u64,

    /// How long a process holds a delivery it is posting, in milliseconds (measured by the
    /// machine's clock); a process that dies while posting leaves it to others after this.
    /// Must be longer than the timeout.
    #[arg(long, env = "VAULTQL_WEBHOOK_LEASE_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(200..=3_600_000))]
    pub webhook_lease_ms: u64,

    /// How often the delivery worker looks for deliveries written by other processes and for
    /// retries that came due, in milliseconds (its own process's events wake it at once).
    #[arg(long, env = "VAULTQL_WEBHOOK_POLL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub webhook_poll_ms: u64,

    /// Where the time comes from: the system clock, or a fixed instant that tests and
    /// benchmarks pin (not a command-line setting).
    #[arg(skip)]
    pub time: TimeSource,
}

impl VaultArgs {
    /// The PostgreSQL pool settings these flags give.
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.database_max_connections,
            min_connections: self.database_min_connections,
            acquire_timeout: Duration::from_secs(self.database_acquire_timeout_secs),
            idle_timeout: Duration::from_secs(self.database_idle_timeout_secs),
        }
    }

    /// Defaults for the given data directory, as the command line would give them.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            database_max_connections: 16,
            database_min_connections: 1,
            database_acquire_timeout_secs: 10,
            database_idle_timeout_secs: 300,
            api_keys: Vec::new(),
            master_key: None,
            max_body_bytes: 256 * 1024,
            billing_interval_secs: 60,
            billing_batch_size: 500,
            advance_wait_ms: 5_000,
            embedded_key_idle_minutes: 30,
            embedded_key_max_hours: 12,
            embedded_origins: Vec::new(),
            webhook_delivery: Toggle::On,
            webhook_timeout_ms: 10_000,
            webhook_lease_ms: 60_000,
            webhook_poll_ms: 1_000,
            time: TimeSource::System,
        }
    }
}

/// One API key with its merchant, parsed from `KEY:MERCHANT_ID[:OTHER_ID,...]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySpec {
    pub key: String,
    pub merchant_id: i64,
    /// Other merchants this key may act for by passing their `merchant_id`.
    pub acts_for: Vec<i64>,
}

impl fmt::Debug for ApiKeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeySpec")
            .field("key", &"[REDACTED]")
            .field("merchant_id", &self.merchant_id)
            .field("acts_for", &self.acts_for)
            .finish()
    }
}

impl FromStr for ApiKeySpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut parts = spec.trim().splitn(3, ':');
        let key = parts.next().unwrap_or_default();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_graphic() && c != ':') {
            return Err("an API key must be printable ASCII without spaces or ':'".into());
        }
        let merchant_id = parts
            .next()
            .and_then(|m| m.parse::<i64>().ok())
            .filter(|m| *m > 0)
            .ok_or("expected KEY:MERCHANT_ID with a positive merchant id")?;
        let acts_for = match parts.next() {
            None | Some("") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|m| m.trim().parse::<i64>().ok().filter(|m| *m > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or("other merchant ids must be positive integers separated by ','")?,
        };
        Ok(Self {
            key: key.to_owned(),
            merchant_id,
            acts_for,
        })
    }
}

/// An origin as browsers send it in `Origin`: a scheme, a host and maybe a port, nothing else.
/// A wildcard is refused: the allow-list is the point.
fn parse_origin(value: &str) -> Result<String, String> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or("an origin starts with https:// or http://")?;
    let well_formed = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !well_formed {
        return Err(
            "an origin is scheme://host[:port], with no path, wildcard or trailing slash".into(),
        );
    }
    Ok(value.to_ascii_lowercase())
}

impl ServeArgs {
    /// Defaults for the given data directory, as the command line would give them.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstream: None,
            upstream_api_key: None,
            upstream_batch: UpstreamBatch::In,
            upstream_connect_timeout_ms: 2_000,
            upstream_timeout_ms: 15_000,
            no_seed: false,
            cors_origins: Vec::new(),
            graphiql: Toggle::On,
            qualpay_webhook_secrets: Vec::new(),
            embedded_webhooks: Toggle::On,
            max_upstream_calls: 100,
            max_concurrent_requests: 256,
            max_auth_failures: 20,
            session_keys_file: None,
            max_response_bytes: 8 * 1024 * 1024,
            vault: VaultArgs::new(data_dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_specs_parse_with_and_without_other_merchants() {
        let spec: ApiKeySpec = "abc:1001".parse().unwrap();
        assert_eq!((spec.key.as_str(), spec.merchant_id), ("abc", 1001));
        assert!(spec.acts_for.is_empty());
        let spec: ApiKeySpec = "abc:1001:2002,3003".parse().unwrap();
        assert_eq!(spec.acts_for, vec![2002, 3003]);
        assert!("abc".parse::<ApiKeySpec>().is_err());
        assert!("abc:0".parse::<ApiKeySpec>().is_err());
        assert!(":12".parse::<ApiKeySpec>().is_err());
        assert!("abc:1:x".parse::<ApiKeySpec>().is_err());
    }

    #[test]
    fn cors_origins_are_exact_origins() {
        assert_eq!(
            parse_origin("https://App.example.com").unwrap(),
            "https://app.example.com"
        );
        assert!(parse_origin("http://localhost:5173").is_ok());
        assert!(parse_origin("http://[::1]:5173").is_ok());
        for bad in [
            "*",
            "https://*.example.com",
            "https://a.com/",
            "https://a.com/x",
            "a.com",
            "https://",
            "ftp://a.com",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from([
            "vaultql",
            "serve",
            "--cors-origin",
            "https://a.com",
            "--cors-origin",
            "http://b.com:81",
        ])
        .unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("serve");
        };
        assert_eq!(serve.cors_origins, ["https://a.com", "http://b.com:81"]);
    }

    #[test]
    fn debug_hides_the_key() {
        let spec: ApiKeySpec = "supersecret:1001".parse().unwrap();
        assert!(!format!("{spec:?}").contains("supersecret"));
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve_with_its_defaults() {
        let parse = |args: &[&str]| Cli::from_args(args.iter().map(Into::into));
        let Command::Serve(serve) = parse(&["vaultql"]).command else {
            panic!("serve");
        };
        assert_eq!(serve.listen.port(), 8080);
        let cli = parse(&["vaultql", "--log-json", "--listen", "127.0.0.1:7"]);
        assert!(cli.log_json);
        assert!(matches!(cli.command, Command::Serve(args) if args.listen.port() == 7));
        let cli = parse(&["vaultql", "sandbox", "--listen", "127.0.0.1:9"]);
        assert!(matches!(cli.command, Command::Sandbox(args) if args.listen.port() == 9));
        assert!(matches!(
            parse(&["vaultql", "healthcheck", "--ready"]).command,
            Command::Healthcheck(HealthcheckArgs { ready: true, .. })
        ));
    }

    #[test]
    fn the_top_level_help_lists_the_commands_only() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        insta::assert_snapshot!(help);
        assert!(help.lines().count() < 40, "{help}");
    }
}
