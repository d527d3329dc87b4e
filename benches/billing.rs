//! Billing engine throughput: N subscriptions due on one day, billed by one engine run.
//!
//! `cargo bench --bench billing` (N = 100000), or `cargo bench --bench billing -- 20000`.
//! It makes a SQLite database in a temporary directory, adds customers with one card each
//! and N daily subscriptions spread over them (so every batch decrypts hundreds of distinct
//! cards, each with its audit record), all directly through the store, then runs the engine
//! once at a pinned date and prints charges per second, the p99 batch time and peak RSS.
//! It prints figures; it asserts only that every subscription was charged exactly once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use vaultql::qualpay::{AddBillingCardRequest, AddCustomerRequest};
use vaultql::secret::Secret;
use vaultql::vault::billing::attempts::Tally;
use vaultql::vault::billing::engine::{DEFAULT_BATCH, Engine};
use vaultql::vault::billing::schedule::{Frequency, Schedule};
use vaultql::vault::billing::subscription::{Length, Subscription, Terms};
use vaultql::vault::crypto::MasterKey;
use vaultql::vault::service::VaultService;
use vaultql::vault::store::SqliteStore;
use vaultql::vault::store::billing::BillingStore;

const MERCHANT: i64 = 1001;
/// Subscriptions per customer (and card): a batch still holds hundreds of distinct cards.
const PER_CUSTOMER: usize = 10;
/// Every this many customers, one whose card is declined (`051`), so declines are billed too.
const DECLINING_EVERY: usize = 100;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(bench(n))
        .map_err(|e| anyhow::anyhow!("{e:?}"))
}

async fn bench(n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open_file(&dir.path().join("vault.db")).await?);
    let now: DateTime<Utc> = "2027-03-01T06:00:00Z".parse()?;
    let today = now.date_naive();
    let vault = Arc::new(VaultService::open(store.clone(), &MasterKey::generate(), now).await?);

    let setup = Instant::now();
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
            .add_customer(MERCHANT, customer(&customer_id, number), now)
            .await?;
        cards.push((customer_id, record.cards[0].card_id.clone()));
    }
    // Round robin over the customers, so consecutive subscriptions bill different cards.
    for i in 0..n {
        let (customer_id, card_id) = &cards[i % customers];
        store
            .insert_subscription(&daily(customer_id, card_id, today, now))
            .await?;
    }
    println!(
        "setup: {customers} customers, {n} subscriptions due {today} in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let batch: usize = std::env::var("VAULTQL_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(DEFAULT_BATCH);
    // The setup's writes are checkpointed into the database file first, so that the run pays
    // only for its own.
    let checkpoint = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("vault.db")),
    )
    .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&checkpoint)
        .await?;
    checkpoint.close().await;

    let engine = Engine::new(vault, store.clone(), batch);
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
    println!(
        "charges per second: {:.0}",
        charges as f64 / elapsed.as_secs_f64()
    );
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
fn daily(customer_id: &str, card_id: &str, start: NaiveDate, now: DateTime<Utc>) -> Subscription {
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
            MERCHANT,
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

/// The process's peak resident set size, from `/proc/self/status` (Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MiB", kb as f64 / 1024.0))
}
