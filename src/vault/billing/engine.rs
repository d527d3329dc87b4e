//! The billing engine: charges subscriptions that are due through the test processor, exactly
//! once per billing event, a batch at a time.
//!
//! Each batch goes in three steps: **claim** (one write transaction re-reads the due
//! subscriptions and inserts a unique (subscription, event, attempt) row for each, so a second
//! engine on the same database, or a pause or cancel that committed first, is always seen),
//! **charge** (the cards are decrypted with one audit record each, and the processor is called
//! with each claim as its idempotency key, so charging a claim again returns the first answer),
//! and **record** (one write transaction stores the outcomes of attempts still pending and moves
//! their subscriptions on). A run that stops anywhere leaves pending claims; the next run
//! finishes them with the same keys before it claims anything new.
//!
//! A run is a function of (store, merchant, now): the scheduler and the sandbox clock are thin
//! loops around [`Engine::run`] that read the time once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};

use super::attempts::{Outcome, Tally, idempotency_key};
use super::subscription::Subscription;
use crate::metrics::Metrics;
use crate::vault::clock::Clock;
use crate::vault::crypto::random_alphanumerics;
use crate::vault::error::VaultError;
use crate::vault::processor::{self, APPROVED, HELD_CARD, NO_SUCH_CARD};
use crate::vault::service::VaultService;
use crate::vault::store::SealedCard;
use crate::vault::store::billing::{
    BillingStore, Claimed, Lane, LedgerEntry, ProcessorRecord, TransactionRow,
};

/// Attempts per claim and record transaction unless configured otherwise.
pub const DEFAULT_BATCH: usize = 500;

/// How many claims in a row a lane lets find nothing left to claim before it stops.
const MAX_EMPTY_CLAIMS: u32 = 3;

/// How many lanes bill a merchant side by side: one per core of a small machine.
const LANES: u32 = 2;

/// Why a decryption is audited when the engine charges a card.
const AUDIT_PURPOSE: &str = "recurring charge";

#[derive(Clone)]
pub struct Engine {
    vault: Arc<VaultService>,
    store: Arc<dyn BillingStore>,
    batch: usize,
    /// Counts charges by outcome and runs' durations; its own unless [`Engine::with_metrics`].
    metrics: Arc<Metrics>,
}

impl Engine {
    pub fn new(vault: Arc<VaultService>, store: Arc<dyn BillingStore>, batch: usize) -> Self {
        Self {
            vault,
            store,
            batch: batch.max(1),
            metrics: Arc::default(),
        }
    }

    /// Counts in the process's metrics.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Bills everything due for the merchant at `now` (the merchant's time), oldest first: it
    /// first finishes the attempts earlier runs left pending, then claims, charges and records
    /// due attempts a batch at a time until nothing is due. `progress` hears the running total
    /// after each batch.
    pub async fn run(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        progress: &(dyn Fn(Tally) + Send + Sync),
    ) -> Result<Tally, VaultError> {
        let started = Instant::now();
        let result = self.run_batches(merchant_id, now, progress).await;
        self.metrics
            .record_billing_run(result.is_ok(), started.elapsed());
        result
    }

    async fn run_batches(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        progress: &(dyn Fn(Tally) + Send + Sync),
    ) -> Result<Tally, VaultError> {
        let mut total = Tally::default();
        let horizon = self.store.last_attempt_id().await?;
        let mut after = 0;
        loop {
            let left = self
                .store
                .pending(merchant_id, after, horizon, self.batch)
                .await?;
            let Some(last) = left.last() else {
                break;
            };
            after = last.tran_id;
            let claimed = Claimed {
                attempts: left,
                ..Claimed::default()
            };
            total += self.settle(merchant_id, claimed, now).await?;
            progress(total);
        }
        // Lanes claim and settle batches side by side, each its own task, so one lane's
        // decrypting and (de)serializing runs on another core than the other's, and overlaps
        // its statements. They never share a subscription: each claims under the write lock
        // what no claim holds yet. Each lane reports the tally of every batch it settles; the
        // tasks are aborted if this run is dropped, which leaves at most pending claims.
        let (tallies, mut settled) = tokio::sync::mpsc::unbounded_channel();
        let mut lanes = tokio::task::JoinSet::new();
        for index in 0..LANES {
            let engine = self.clone();
            let tallies = tallies.clone();
            let lane = Lane { index, of: LANES };
            lanes.spawn(async move { engine.bill_lane(merchant_id, now, lane, tallies).await });
        }
        drop(tallies);
        while let Some(tally) = settled.recv().await {
            total += tally;
            progress(total);
        }
        while let Some(lane) = lanes.join_next().await {
            lane.map_err(|e| VaultError::Internal(format!("a billing lane stopped: {e}")))??;
        }
        Ok(total)
    }

    /// Claims and settles batches of `lane` until nothing in it is due, sending each batch's
    /// tally.
    async fn bill_lane(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        lane: Lane,
        tallies: tokio::sync::mpsc::UnboundedSender<Tally>,
    ) -> Result<(), VaultError> {
        let mut unlucky = 0;
        loop {
            let (found, claimed) = self.claim_lane(merchant_id, now, lane).await?;
            if found == 0 {
                return Ok(());
            }
            if claimed.attempts.is_empty() && claimed.passed == 0 {
                // Everything found changed before it could be claimed (another engine, a
                // request): look again, a few times, rather than leave it for the next run.
                unlucky += 1;
                if unlucky > MAX_EMPTY_CLAIMS {
                    return Ok(());
                }
                continue;
            }
            unlucky = 0;
            let tally = self.settle(merchant_id, claimed, now).await?;
            // The receiver is gone only when the run was dropped, which aborts this task too.
            let _ = tallies.send(tally);
        }
    }

    /// Runs every merchant that has billing to do, each at its own time: one scheduler tick.
    pub async fn run_due(&self, clock: &Clock) -> Result<Tally, VaultError> {
        let mut total = Tally::default();
        for (merchant_id, now) in clock.billing_merchants().await? {
            total += self.run(merchant_id, now, &|_| {}).await?;
        }
        Ok(total)
    }

    /// Claims a batch of the merchant's due attempts (and passes free events).
    pub async fn claim(&self, merchant_id: i64, now: DateTime<Utc>) -> Result<Claimed, VaultError> {
        Ok(self.claim_lane(merchant_id, now, Lane::ALL).await?.1)
    }

    /// Reads a batch of due subscriptions in `lane` and claims them: how many were found, and
    /// the claims that were written.
    async fn claim_lane(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        lane: Lane,
    ) -> Result<(usize, Claimed), VaultError> {
        Ok(self
            .store
            .claim_due(merchant_id, now, self.batch, lane)
            .await?)
    }

    /// Charges claimed attempts through the processor, each under its claim's idempotency key:
    /// an attempt charged before gets the processor's first answer, not a second charge. The
    /// cards come sealed with the claim, or are read when it has none (attempts left pending).
    pub async fn charge(
        &self,
        merchant_id: i64,
        attempts: &[TransactionRow],
        sealed: Vec<SealedCard>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, VaultError> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        // A card on hold is not charged, nor even opened: the vault declines it itself.
        let card_ids: Vec<&str> = attempts.iter().map(|a| a.card_id.as_str()).collect();
        let held = self.vault.held_cards(merchant_id, &card_ids).await?;
        let wanted: Vec<(&str, &str)> = attempts
            .iter()
            .filter(|a| !held.contains(&a.card_id))
            .map(|a| (a.customer_id.as_str(), a.card_id.as_str()))
            .collect();
        let cards = if sealed.is_empty() {
            self.vault
                .open_cards(merchant_id, &wanted, AUDIT_PURPOSE, now)
                .await?
        } else {
            self.vault
                .open_sealed(merchant_id, &wanted, sealed, AUDIT_PURPOSE, now)
                .await?
        };
        let mut auth_codes = random_alphanumerics(attempts.len(), 6).into_iter();
        let entries: Vec<LedgerEntry> = attempts
            .iter()
            .map(|attempt| {
                let on = attempt
                    .tran_date
                    .parse::<NaiveDate>()
                    .unwrap_or(now.date_naive());
                let answer = match cards.get(&attempt.card_id) {
                    _ if held.contains(&attempt.card_id) => HELD_CARD,
                    Some(card) => {
                        processor::charge_on(card.number.expose(), card.exp_date.as_deref(), on)
                    }
                    None => NO_SUCH_CARD,
                };
                LedgerEntry {
                    key: idempotency_key(attempt),
                    merchant_id,
                    amount: attempt.amt_tran,
                    record: processor_record(answer, || {
                        auth_codes.next().unwrap_or_default().to_uppercase()
                    }),
                }
            })
            .collect();
        let answers = self.store.processor_charges(&entries, now).await?;
        Ok(attempts
            .iter()
            .zip(answers)
            .map(|(attempt, answer)| Outcome {
                pg_id: attempt.pg_id.clone(),
                subscription_id: attempt.subscription_id,
                event: attempt.event,
                attempt: attempt.attempt,
                approved: answer.approved,
                rcode: answer.rcode,
                rmsg: answer.rmsg,
                auth_code: answer.auth_code,
                row: attempt.clone(),
            })
            .collect())
    }

    /// Records outcomes and moves their subscriptions on, once: an outcome another engine
    /// recorded first changes nothing and is not counted. `claimed` are the subscriptions as
    /// they were claimed (none for attempts an earlier run left).
    pub async fn record(
        &self,
        merchant_id: i64,
        outcomes: &[Outcome],
        claimed: Vec<Subscription>,
        now: DateTime<Utc>,
    ) -> Result<Tally, VaultError> {
        Ok(self
            .store
            .record(merchant_id, outcomes, claimed, now)
            .await?)
    }

    async fn settle(
        &self,
        merchant_id: i64,
        claimed: Claimed,
        now: DateTime<Utc>,
    ) -> Result<Tally, VaultError> {
        let outcomes = self
            .charge(merchant_id, &claimed.attempts, claimed.cards, now)
            .await?;
        let tally = self
            .record(merchant_id, &outcomes, claimed.subscriptions, now)
            .await?;
        // Counted once recorded: an outcome another engine recorded first is in its tally.
        self.metrics
            .record_billing_charges(tally.approved, tally.declined);
        Ok(tally)
    }

    /// Bills every merchant that has billing to do every `every`, for as long as the process
    /// lives. Each tick reads the clock once.
    pub fn spawn_scheduler(self, clock: Clock, every: Duration) {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                // Debug shows an internal error's cause (never a number: causes are store and
                // crypto errors), where Display would say only "Internal error".
                if let Err(error) = self.run_due(&clock).await {
                    tracing::warn!(?error, "billing run failed");
                }
            }
        });
    }
}

/// What the processor's ledger keeps of an answer; an approval gets an authorization code.
fn processor_record(
    answer: processor::Outcome,
    auth_code: impl FnOnce() -> String,
) -> ProcessorRecord {
    match answer {
        processor::Outcome::Approved => ProcessorRecord {
            approved: true,
            rcode: APPROVED.into(),
            rmsg: "Approved".into(),
            auth_code: Some(auth_code()),
        },
        processor::Outcome::Declined {
            response_code,
            message,
        } => ProcessorRecord {
            approved: false,
            rcode: response_code.into(),
            rmsg: message.into(),
            auth_code: None,
        },
    }
}
