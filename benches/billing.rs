//! Billing engine throughput: N subscriptions due on one day, billed by one engine run.
//!
//! `cargo bench --bench billing` (N = 100000), or `cargo bench --bench billing -- 20000`.
//! It makes a SQLite database in a temporary directory, adds customers with one card each
//! and N daily subscriptions spread over them (so every batch decrypts hundreds of distinct
//! cards, each with its audit record), all directly through the store, then runs the engine
//! once at a pinned date and prints charges per second, the p99 batch time and peak RSS.
//!
//! With `--database-url postgres://...` it does the same on PostgreSQL (in a schema of its
//! own, dropped afterwards), then bills N more subscriptions of a second merchant with
//! `--processes` (default 3) processes at once, each this binary run as a worker that runs the
//! engine once, as separate vault processes would, and prints the speed-up over one process.
//! It prints figures; it asserts only that every subscription was charged exactly once.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Connection as _;
use vaultql::qualpay::{AddBillingCardRequest, AddCustomerRequest};
use vaultql::secret::Secret;
use vaultql::vault::billing::attempts::Tally;
use vaultql::vault::billing::engine::{DEFAULT_BATCH, Engine};
use vaultql::vault::billing::schedule::{Frequency, Schedule};
use vaultql::vault::billing::subscription::{Length, Subscription, Terms};
use vaultql::vault::crypto::MasterKey;
use vaultql::vault::service::VaultService;
use vaultql::vault::store::{Database, PoolSettings, PostgresStore, SqliteStore};

const MERCHANT: i64 = 1001;
/// The merchant the processes bill together, on PostgreSQL.
const SHARED_MERCHANT: i64 = 1002;
/// Subscriptions per customer (and card): a batch still holds hundreds of distinct cards.
const PER_CUSTOMER: usize = 10;
/// Every this many customers, one whose card is declined (`051`), so declines are billed too.
const DECLINING_EVERY: usize = 100;
const NOW: &str = "2027-03-01T06:00:00Z";

fn master_key() -> MasterKey {
    let encoded = base64::engine::general_purpose::STANDARD.encode([7_u8; 32]);
    MasterKey::from_base64(&encoded).expect("32 bytes make a master key")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|at| args.get(at + 1).cloned())
    };
    if let Some(url) = flag("--worker") {
        return runtime
            .block_on(worker(&url))
            .map_err(|e| anyhow::anyhow!("{e:?}"));
    }
    let n: usize = args
        .iter()
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100_000);
    let processes: usize = flag("--processes")
        .and_then(|p| p.parse().ok())
        .unwrap_or(3);
    runtime
        .block_on(bench(n, flag("--database-url"), processes))
        .map_err(|e| anyhow::anyhow!("{e:?}"))
}

async fn bench(n: usize, postgres: Option<String>, processes: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let now: DateTime<Utc> = NOW.parse()?;
    let (store, schema_url): (Arc<dyn Database>, Option<String>) = match &postgres {
        None => {
            println!("backend: SQLite, a file in a temporary directory");
            let store = SqliteStore::open_file(&dir.path().join("vault.db")).await?;
            (Arc::new(store), None)
        }
        Some(url) => {
            let schema = format!("bench_{}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            let separator = if url.contains('?') { '&' } else { '?' };
            let schema_url = format!("{url}{separator}options[search_path]={schema}");
            println!("backend: PostgreSQL, schema {schema}");
            let store = PostgresStore::open(&schema_url, PoolSettings::default()).await?;
            (Arc::new(store), Some(schema_url))
        }
    };
    let vault = Arc::new(VaultService::open(store.clone(), &master_key(), now).await?);
    seed(&vault, store.as_ref(), MERCHANT, n, now).await?;

    let batch: usize = std::env::var("VAULTQL_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(DEFAULT_BATCH);
    if postgres.is_none() {
        // The setup's writes are checkpointed into the database file first, so that the run
        // pays only for its own.
        let checkpoint = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("vault.db")),
        )
        .await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&checkpoint)
            .await?;
        checkpoint.close().await;
    }

    let engine = Engine::new(vault.clone(), store.clone(), batch);
    let batches: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let last = Mutex::new(Instant::now());
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    *last.lock().expect("the lock") = started;
    let total: Tally = engine
        .run(MERCHANT, now, &|_| {
            let mut last = last.lock().expect("the lock");
            batches.lock().expect("the lock").push(last.elapsed());
            *last = Instant::now();
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let elapsed = started.elapsed();
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);

    let charges = total.approved + total.declined;
    anyhow::ensure!(
        charges == n as u64,
        "{charges} charges for {n} subscriptions"
    );
    let ledger = store.processor_charge_count(MERCHANT).await?;
    anyhow::ensure!(ledger == n as i64, "the processor charged {ledger} times");
    let mut batches = batches.lock().expect("the lock").clone();
    batches.sort_unstable();
    let p99 = batches
        .get((batches.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    println!(
        "billed: {charges} charges ({} approved, {} declined) in {:.2} s, {} batches of up to {batch}",
        total.approved,
        total.declined,
        elapsed.as_secs_f64(),
        batches.len()
    );
    let one = charges as f64 / elapsed.as_secs_f64();
    println!("charges per second: {one:.0}");
    println!("p99 batch time: {:.1} ms", p99.as_secs_f64() * 1000.0);
    println!(
        "peak RSS: {}",
        peak_rss().unwrap_or_else(|| "unknown".into())
    );
    if let Some(cpu) = cpu {
        println!(
            "CPU: {cpu:.2} s over {:.2} s ({:.0} µs a charge, {:.2} cores busy)",
            elapsed.as_secs_f64(),
            cpu * 1e6 / charges as f64,
            cpu / elapsed.as_secs_f64()
        );
    }

    if let Some(schema_url) = schema_url {
        let single = in_processes(&vault, store.as_ref(), &schema_url, n, 1, now).await?;
        let several = in_processes(&vault, store.as_ref(), &schema_url, n, processes, now).await?;
        println!(
            "{processes} processes against 1 on one PostgreSQL database: {:.2}x the charges per second",
            several / single
        );
        let mut conn = sqlx::PgConnection::connect(postgres.as_deref().unwrap_or_default()).await?;
        let schema = schema_url.rsplit('=').next().unwrap_or_default();
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

/// Bills `n` subscriptions of a merchant of their own with `processes` worker processes at
/// once, each this binary running the engine once: charges per second, counted from the
/// workers' start to the last one's end.
async fn in_processes(
    vault: &VaultService,
    store: &dyn Database,
    url: &str,
    n: usize,
    processes: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<f64> {
    let merchant = SHARED_MERCHANT + processes as i64;
    seed(vault, store, merchant, n, now).await?;
    let exe = std::env::current_exe()?;
    let machine_before = machine_busy_seconds();
    let started = Instant::now();
    let workers: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(&exe)
                .args(["--worker", url, "--merchant", &merchant.to_string()])
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut charges = 0;
    for worker in workers {
        let output = worker.wait_with_output()?;
        anyhow::ensure!(output.status.success(), "a worker failed");
        let text = String::from_utf8_lossy(&output.stdout);
        charges += text.trim().parse::<u64>().context("a worker's count")?;
    }
    let elapsed = started.elapsed();
    let machine = machine_busy_seconds()
        .zip(machine_before)
        .map(|(after, before)| (after - before) / elapsed.as_secs_f64());
    anyhow::ensure!(
        charges == n as u64,
        "{charges} charges for {n} subscriptions"
    );
    let ledger = store.processor_charge_count(merchant).await?;
    anyhow::ensure!(ledger == n as i64, "the processor charged {ledger} times");
    let per_second = n as f64 / elapsed.as_secs_f64();
    println!(
        "{processes} process(es) billing merchant {merchant}: {n} charges in {:.2} s, {per_second:.0} a second, \
         the machine's cores busy: {} of {}",
        elapsed.as_secs_f64(),
        machine.map_or("unknown".into(), |busy| format!("{busy:.2}")),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    Ok(per_second)
}

/// One worker process: runs the engine once for `--merchant` on the database at `url` and
/// prints how many outcomes it recorded.
async fn worker(url: &str) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let merchant: i64 = args
        .iter()
        .position(|a| a == "--merchant")
        .and_then(|at| args.get(at + 1))
        .and_then(|m| m.parse().ok())
        .context("--merchant")?;
    let now: DateTime<Utc> = NOW.parse()?;
    let store: Arc<dyn Database> =
        Arc::new(PostgresStore::open(url, PoolSettings::default()).await?);
    let vault = Arc::new(VaultService::open(store.clone(), &master_key(), now).await?);
    let engine = Engine::new(vault, store, DEFAULT_BATCH);
    let tally = engine
        .run(merchant, now, &|_| {})
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!("{}", tally.approved + tally.declined);
    Ok(())
}

/// Customers with one card each and `n` daily subscriptions due on `now`'s day, spread over
/// them round robin (consecutive subscriptions bill different cards).
async fn seed(
    vault: &VaultService,
    store: &dyn Database,
    merchant: i64,
    n: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let setup = Instant::now();
    let today = now.date_naive();
    let customers = n.div_ceil(PER_CUSTOMER).max(1);
    let mut cards = Vec::with_capacity(customers);
    for c in 0..customers {
        let customer_id = format!("BENCH{c:07}");
        let number = if c % DECLINING_EVERY == DECLINING_EVERY - 1 {
            "4000000000000341"
        } else {
            "4111111111111111"
        };
        let record = vault
            .add_customer(merchant, customer(&customer_id, number), now)
            .await?;
        cards.push((customer_id, record.cards[0].card_id.clone()));
    }
    for i in 0..n {
        let (customer_id, card_id) = &cards[i % customers];
        store
            .insert_subscription(&daily(merchant, customer_id, card_id, today, now))
            .await?;
    }
    println!(
        "setup: merchant {merchant}, {customers} customers, {n} subscriptions due {today} in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    Ok(())
}

fn customer(customer_id: &str, number: &str) -> AddCustomerRequest {
    AddCustomerRequest {
        customer_id: Some(customer_id.to_owned()),
        customer_first_name: Some("Bench".into()),
        customer_last_name: Some("Customer".into()),
        billing_cards: Some(vec![AddBillingCardRequest {
            card_number: Some(Secret::new(number.to_owned())),
            exp_date: Some("1239".into()),
            billing_zip: Some("94107".into()),
            ..AddBillingCardRequest::default()
        }]),
        ..AddCustomerRequest::default()
    }
}

/// A daily subscription of 9.99 until cancelled, first billed on `start`.
fn daily(
    merchant: i64,
    customer_id: &str,
    card_id: &str,
    start: NaiveDate,
    now: DateTime<Utc>,
) -> Subscription {
    let terms = Terms {
        schedule: Schedule::new(Frequency::Daily, 1, None).expect("a daily schedule"),
        length: Length::UntilCancelled,
        trial_cycles: 0,
        amt_setup: None,
        trial_amt: None,
        recur_amt: 999,
        prorate_amt: None,
        tran_currency: "840".into(),
    };
    Subscription {
        plan_desc: Some("bench".into()),
        ..Subscription::new(
            merchant,
            customer_id.to_owned(),
            card_id.to_owned(),
            terms,
            start,
            start,
            now,
        )
    }
}

/// CPU time the process has used (user and system), from `/proc/self/stat` (Linux).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    // The kernel reports in clock ticks, 100 a second on Linux.
    Some((user + system) as f64 / 100.0)
}

/// CPU time the whole machine has spent busy (every process, the database server's too), from
/// `/proc/stat` (Linux): user, nice, system, irq and softirq time.
fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = cpu
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let busy = ticks.first()? + ticks.get(1)? + ticks.get(2)? + ticks.get(5)? + ticks.get(6)?;
    Some(busy as f64 / 100.0)
}

/// The process's peak resident set size, from `/proc/self/status` (Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MiB", kb as f64 / 1024.0))
}
