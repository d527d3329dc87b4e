//! PostgreSQL only (SQLite is one machine's file; several processes on one file are covered by
//! `billing_exactly_once`): three `vaultql sandbox` processes on one PostgreSQL database, each
//! with its billing scheduler ticking every second, while the sandbox clock moves a year and
//! one process at a time is killed with SIGKILL and started again. Every billing event is
//! approved exactly once and none is skipped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::NaiveDate;
use reqwest::Method;
use serde_json::json;

use crate::billing_support::{
    clock_today, customer_with_card, date, dates_with_status, day, days, monthly_dates, off_plan,
    send_raw, shared_data_dir, sub_id, subscribe, subscription, transactions,
};
use crate::database::{RawPool, data_dir_url, postgres};
use crate::helpers::{MERCHANT_A, TestApp};
use crate::testdata::VISA;

/// One `vaultql sandbox` process.
struct Process {
    child: Child,
    app: TestApp,
}

impl Process {
    /// Starts a sandbox on `database_url` and waits until it says where it listens.
    async fn start(n: usize, database_url: &str, dir: &Path) -> Process {
        let data_dir = dir.join(format!("process-{n}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_vaultql"))
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .args(["--billing-interval-secs", "1", "--api-key", "key-a:1001"])
            // Small batches, so that billing spans many transactions for a kill to cut into,
            // and clock advances that answer once the clock moved while their billing runs on.
            .args(["--billing-batch-size", "3", "--advance-wait-ms", "0"])
            .arg("--data-dir")
            .arg(&data_dir)
            .env("VAULTQL_DATABASE_URL", database_url)
            .env("VAULTQL_MASTER_KEY", BASE64.encode([0x5a_u8; 32]))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vaultql starts");
        let stderr = child.stderr.take().expect("its stderr");
        let port = tokio::task::spawn_blocking(move || listening_port(stderr))
            .await
            .expect("the log reader");
        let mut app = TestApp::shared();
        app.base_url = format!("http://127.0.0.1:{port}/platform");
        app.data_dir = data_dir;
        Process { child, app }
    }

    /// `kill -9`: the process stops wherever it is, mid-claim, mid-charge or mid-record.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port a starting process logs (`listening address=127.0.0.1:PORT`), read from its log
/// as it writes it; the rest of the log is drained on a thread of its own, so the process never
/// blocks on a full pipe. Panics with the log if the process stops first.
fn listening_port(stderr: ChildStderr) -> u16 {
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let port = line
            .contains("listening")
            .then(|| line.split("127.0.0.1:").nth(1))
            .flatten()
            .and_then(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            });
        if let Some(port) = port {
            std::thread::spawn(move || lines.for_each(drop));
            return port;
        }
        seen.push(line);
    }
    panic!("vaultql stopped before it listened:\n{}", seen.join("\n"));
}

/// A small deterministic generator, seeded from the clock and printed, so a failing run can be
/// replayed with `VAULTQL_TEST_SEED`.
struct Dice(u64);

impl Dice {
    fn new() -> Dice {
        let seed = std::env::var("VAULTQL_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        println!("VAULTQL_TEST_SEED={seed}");
        Dice(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_processes_billing_one_postgresql_while_killed_at_random_approve_every_event_once() {
    if postgres().is_none() {
        return;
    }
    let dir = shared_data_dir();
    let url = data_dir_url(dir.path()).expect("a schema on PostgreSQL");
    let mut processes: Vec<Option<Process>> = Vec::new();
    for n in 0..3 {
        processes.push(Some(Process::start(n, &url, dir.path()).await));
    }
    let app = |processes: &[Option<Process>], n: usize| {
        processes[n].as_ref().expect("running").app.clone()
    };
    let first = app(&processes, 0);
    let start = clock_today(&first).await;

    // Monthly subscriptions from today and from the days after, so that every advance of the
    // clock makes some of them due.
    let mut subscriptions: Vec<(i64, NaiveDate)> = Vec::new();
    for n in 0..90u32 {
        let id = format!("Proc{n:02}");
        let through = app(&processes, n as usize % 3);
        customer_with_card(&through, &id, VISA).await;
        let from = start + chrono::Days::new(u64::from(n % 15) * 2);
        let body = off_plan(&id, from, 5.0 + f64::from(n), -1);
        subscriptions.push((sub_id(&subscribe(&through, &body).await), from));
    }

    // A year, ten days at a time, each advance through any process (it answers at once and
    // bills on in the background, beside the schedulers); after about every other step, a
    // process is killed with SIGKILL a random moment later, wherever it is in its billing,
    // and started again.
    let mut dice = Dice::new();
    let mut kills = 0;
    let mut today = start;
    while today < start + chrono::Days::new(366) {
        let driver = app(&processes, dice.below(3) as usize);
        // `send_raw`: a 202 carries data, which the error-envelope check of `call` refuses.
        let body = json!({ "advance": "P10D" }).to_string();
        let resp = send_raw(&driver, Method::POST, "/sandbox/clock", Some(&body)).await;
        assert!(resp.status == 200 || resp.status == 202, "{}", resp.text);
        // Even a 202 comes after the clock has moved: it carries the new date.
        let moved = resp.json["data"]["today"].as_str().expect("today");
        today = date(moved);
        if dice.below(2) == 0 {
            tokio::time::sleep(Duration::from_millis(dice.below(400))).await;
            let victim = dice.below(3) as usize;
            if let Some(process) = processes[victim].take() {
                process.kill();
                kills += 1;
            }
            processes[victim] = Some(Process::start(victim, &url, dir.path()).await);
        }
    }
    assert!(kills >= 5, "only {kills} kills");

    // Every process's scheduler finishes what is due and what a killed one left in flight.
    let deadline = Instant::now() + Duration::from_secs(120);
    let reader = app(&processes, 0);
    loop {
        let mut settled = true;
        for (id, _) in &subscriptions {
            let next = subscription(&reader, *id).await["date_next"]
                .as_str()
                .map(str::to_owned);
            settled &= next.is_some_and(|next| next > day(today));
        }
        let pool = RawPool::of(dir.path()).await;
        let pending: Vec<(i64,)> = pool
            .rows("SELECT tran_id FROM subscription_transactions WHERE tran_status = 'P'")
            .await;
        pool.close().await;
        if settled && pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "billing did not settle within 120 s ({} pending)",
            pending.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for (id, from) in &subscriptions {
        let due: Vec<NaiveDate> = monthly_dates(*from, 14)
            .into_iter()
            .filter(|d| *d <= today)
            .collect();
        let approved = dates_with_status(&transactions(&reader, *id).await, "A");
        assert_eq!(
            approved,
            days(&due),
            "subscription {id} from {from}: every event through {today} approved once"
        );
    }
    let pool = RawPool::of(dir.path()).await;
    let doubles: Vec<(i64, i64, i64)> = pool
        .rows(
            "SELECT subscription_id, event, COUNT(*) FROM subscription_transactions \
             WHERE tran_status = 'A' GROUP BY subscription_id, event HAVING COUNT(*) > 1",
        )
        .await;
    assert_eq!(doubles, []);
    let charges: Vec<(i64,)> = pool
        .rows(&format!(
            "SELECT COUNT(*) FROM processor_charges WHERE merchant_id = {MERCHANT_A}"
        ))
        .await;
    let events: usize = subscriptions
        .iter()
        .map(|(_, from)| {
            monthly_dates(*from, 14)
                .iter()
                .filter(|d| **d <= today)
                .count()
        })
        .sum();
    assert_eq!(
        charges[0].0 as usize, events,
        "the processor charged each event once"
    );
    pool.close().await;
}
