//! The vault's REST API on each database backend: `GET /platform/vault/customer/{id}` and
//! adding a card (`POST .../billing`), at 1 and 16 concurrent clients.
//!
//! `cargo bench --bench vault` runs `vaultql sandbox` as a child process on SQLite (a file in a
//! temporary directory); `cargo bench --bench vault -- --database-url postgres://...` also on
//! PostgreSQL (in a schema of its own, dropped afterwards). Each server gets 500 customers with
//! a card, then each phase runs for a few seconds. It prints requests a second, p50 and p99; it
//! asserts only that every answer succeeded.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;
use sqlx::Connection as _;

const KEY: &str = "bench-key";
const CUSTOMERS: usize = 500;
const PHASE: Duration = Duration::from_secs(4);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let postgres = args
        .iter()
        .position(|a| a == "--database-url")
        .and_then(|at| args.get(at + 1).cloned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut rows = bench("sqlite", None).await?;
        if let Some(url) = postgres {
            let schema = format!("bench_rest_{}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(&url).await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await?;
            let separator = if url.contains('?') { '&' } else { '?' };
            let schema_url = format!("{url}{separator}options[search_path]={schema}");
            let result = bench("postgres", Some(&schema_url)).await;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut conn)
                .await?;
            rows.extend(result?);
        }
        println!(
            "\n{:<10} {:<24} {:>4} {:>8} {:>8} {:>8}",
            "backend", "request", "conc", "req/s", "p50 ms", "p99 ms"
        );
        for row in rows {
            println!("{row}");
        }
        Ok(())
    })
}

/// The phases against one `vaultql sandbox` on `database_url` (its own SQLite file without).
async fn bench(backend: &str, database_url: Option<&str>) -> anyhow::Result<Vec<String>> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(dir.path(), database_url)?;
    let http = reqwest::Client::new();
    let base = format!("http://{}/platform/vault/customer", server.address);
    for n in 0..CUSTOMERS {
        let body = json!({ "customer_id": format!("REST{n:04}"), "customer_first_name": "Rest",
            "customer_last_name": format!("Customer{n}"),
            "billing_cards": [card(n, 0)] });
        let response = http
            .post(&base)
            .basic_auth(KEY, Some(""))
            .json(&body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("adding a customer: {}", response.text().await?);
        }
    }
    let ctx = Arc::new(Ctx {
        http,
        base,
        next: AtomicUsize::new(0),
    });
    let mut rows = Vec::new();
    for (label, add) in [
        ("GET customer/{id}", false),
        ("POST .../billing (card)", true),
    ] {
        for concurrency in [1, 16] {
            let latencies = drive(&ctx, add, concurrency).await?;
            rows.push(row(backend, label, concurrency, latencies));
        }
    }
    Ok(rows)
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    /// Request counter: which customer, and which new card number.
    next: AtomicUsize,
}

/// Runs `concurrency` clients for [`PHASE`]; every request's latency, sorted.
async fn drive(ctx: &Arc<Ctx>, add: bool, concurrency: usize) -> anyhow::Result<Vec<Duration>> {
    let started = Instant::now();
    let clients = (0..concurrency).map(|_| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < PHASE {
                let i = ctx.next.fetch_add(1, Ordering::Relaxed);
                let customer = format!("{}/REST{:04}", ctx.base, i % CUSTOMERS);
                let request = if add {
                    let body = card(i % CUSTOMERS, 1 + i / CUSTOMERS);
                    ctx.http.post(format!("{customer}/billing")).json(&body)
                } else {
                    ctx.http.get(customer)
                };
                let at = Instant::now();
                let response = request.basic_auth(KEY, Some("")).send().await?;
                let ok = response.status().is_success();
                let text = response.text().await?;
                if !ok {
                    bail!("request {i} failed: {text}");
                }
                latencies.push(at.elapsed());
            }
            Ok(latencies)
        })
    });
    let mut all = Vec::new();
    for client in clients.collect::<Vec<_>>() {
        all.extend(client.await??);
    }
    all.sort_unstable();
    Ok(all)
}

fn row(backend: &str, label: &str, concurrency: usize, latencies: Vec<Duration>) -> String {
    let at = |p: f64| {
        let index = ((latencies.len().max(1) - 1) as f64 * p).round() as usize;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "{backend:<10} {label:<24} {concurrency:>4} {:>8.0} {:>8.2} {:>8.2}",
        latencies.len() as f64 / PHASE.as_secs_f64(),
        at(0.5),
        at(0.99)
    )
}

/// Card `k` of customer `n`: a Luhn-valid Visa number no other request uses.
fn card(n: usize, k: usize) -> serde_json::Value {
    let payload = format!("4{n:05}{k:09}");
    json!({ "card_number": format!("{payload}{}", luhn_digit(&payload)), "exp_date": "1239",
        "billing_zip": "94107" })
}

fn luhn_digit(payload: &str) -> u32 {
    let sum: u32 = payload
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// `vaultql sandbox` as a child process, stopped when dropped.
struct Server {
    process: Child,
    address: String,
}

impl Server {
    fn start(data_dir: &std::path::Path, database_url: Option<&str>) -> anyhow::Result<Server> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vaultql"));
        command
            .args([
                "sandbox",
                "--listen",
                "127.0.0.1:0",
                "--billing-interval-secs",
                "0",
            ])
            .args(["--api-key", &format!("{KEY}:1001")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "warn,vaultql::app=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            command.env("VAULTQL_DATABASE_URL", url);
        }
        let mut process = command.spawn().context("vaultql starts")?;
        let stderr = process.stderr.take().context("its stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            let Some(line) = lines.next() else {
                bail!("vaultql stopped before it listened");
            };
            let line = line?;
            if let Some(rest) = line.split("127.0.0.1:").nth(1) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break format!("127.0.0.1:{port}");
            }
        };
        // Keep reading its log, so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Server { process, address })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
