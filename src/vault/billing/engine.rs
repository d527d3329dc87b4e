//! The billing engine: finds subscriptions that are due and charges them through the test
//! processor, exactly once per billing event.
//!
//! Each attempt goes in three steps: **claim** (a unique (subscription, event, attempt) row,
//! committed before anything is charged, so a second scheduler on the same database skips it),
//! **charge** (the processor, with the claim as its idempotency key, so charging the same claim
//! again returns the first answer instead of charging twice), and **record** (the outcome and the
//! subscription's next state in one transaction, once). A scheduler that stops between charge
//! and record leaves a pending claim; the next run finishes it with the same idempotency key.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::subscriptions::{self, advance, charge_of, decline};
use crate::vault::crypto::random_alphanumeric;
use crate::vault::error::VaultError;
use crate::vault::processor::{self, Outcome};
use crate::vault::service::VaultService;
use crate::vault::store::billing::{
    BillingStore, ProcessorRecord, SubscriptionRow, TransactionRow,
};

/// Most attempts one run makes, so a clock jumped far ahead cannot keep a run going forever.
const MAX_ATTEMPTS_PER_RUN: usize = 100_000;

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub approved: u64,
    pub declined: u64,
}

#[derive(Clone)]
pub struct Engine {
    vault: Arc<VaultService>,
    store: Arc<dyn BillingStore>,
}

/// A claimed attempt, charged but maybe not yet recorded.
pub struct Charged {
    attempt: TransactionRow,
    outcome: ProcessorRecord,
}

impl Engine {
    pub fn new(vault: Arc<VaultService>, store: Arc<dyn BillingStore>) -> Self {
        Self { vault, store }
    }

    /// Bills everything due (for one merchant, or all), oldest first, after finishing any
    /// attempts a stopped scheduler left pending.
    pub async fn run(&self, merchant_id: Option<i64>) -> Result<RunSummary, VaultError> {
        let mut summary = RunSummary::default();
        for attempt in self.store.pending().await? {
            if merchant_id.is_none_or(|m| m == attempt.merchant_id) {
                let charged = self.charge(attempt).await?;
                self.record(charged, &mut summary).await?;
            }
        }
        for _ in 0..MAX_ATTEMPTS_PER_RUN {
            let now = Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
            let Some(sub) = self.store.next_due(merchant_id, &now).await? else {
                break;
            };
            match self.claim(&sub).await? {
                Some(attempt) => {
                    let charged = self.charge(attempt).await?;
                    self.record(charged, &mut summary).await?;
                }
                // Nothing to charge (a free trial cycle) or claimed by another scheduler.
                None => continue,
            }
        }
        Ok(summary)
    }

    /// Claims the subscription's due attempt. `None` when another scheduler holds it, or when
    /// the event costs nothing (then it is passed without a charge).
    pub async fn claim(&self, sub: &SubscriptionRow) -> Result<Option<TransactionRow>, VaultError> {
        let (kind, amount) = charge_of(sub, sub.next_event);
        let due = sub.next_attempt_on.clone().unwrap_or_default();
        if amount == 0 {
            let mut next = sub.clone();
            advance(&mut next);
            next.updated_at = crate::vault::store::timestamp(Utc::now());
            match self.store.save_subscription(&next, &sub.updated_at).await {
                Ok(_) | Err(crate::vault::store::StoreError::Concurrent) => return Ok(None),
                Err(error) => return Err(error.into()),
            }
        }
        let card = self
            .vault
            .card(sub.merchant_id, &sub.customer_id, &sub.card_id)
            .await
            .ok();
        let attempt = TransactionRow {
            pg_id: random_alphanumeric(32),
            merchant_id: sub.merchant_id,
            subscription_id: sub.subscription_id,
            customer_id: sub.customer_id.clone(),
            event: sub.next_event,
            attempt: sub.failed_attempts,
            kind: kind.into(),
            tran_time: format!("{due} {}", Utc::now().format("%H:%M:%S")),
            tran_date: due,
            amt_tran: amount,
            tran_currency: sub.tran_currency.clone(),
            card_id: sub.card_id.clone(),
            card_number: card
                .as_ref()
                .map(|c| c.masked_number.clone())
                .unwrap_or_default(),
            card_type: card.as_ref().and_then(|c| c.card_type.clone()),
            cardholder_first_name: card.as_ref().and_then(|c| c.billing_first_name.clone()),
            cardholder_last_name: card.as_ref().and_then(|c| c.billing_last_name.clone()),
            purchase_id: sub.purchase_id.clone(),
            ..TransactionRow::default()
        };
        Ok(self.store.claim(&attempt).await?)
    }

    /// Charges a claimed attempt through the processor, keyed by the claim.
    pub async fn charge(&self, attempt: TransactionRow) -> Result<Charged, VaultError> {
        let on = subscriptions::date(&attempt.tran_date).unwrap_or_else(|| Utc::now().date_naive());
        let answer = match self
            .vault
            .card_number_for(
                attempt.merchant_id,
                &attempt.customer_id,
                &attempt.card_id,
                "recurring charge",
            )
            .await
        {
            Ok((card, number)) => {
                processor::charge_on(number.expose(), card.exp_date.as_deref(), on)
            }
            Err(_) => Outcome::Declined {
                response_code: "14",
                message: "No such card on file",
            },
        };
        let record = match answer {
            Outcome::Approved => ProcessorRecord {
                approved: true,
                rcode: "000".into(),
                rmsg: "Approved".into(),
                auth_code: Some(random_alphanumeric(6).to_uppercase()),
            },
            Outcome::Declined {
                response_code,
                message,
            } => ProcessorRecord {
                approved: false,
                rcode: response_code.into(),
                rmsg: message.into(),
                auth_code: None,
            },
        };
        let key = format!(
            "subscription:{}:event:{}:attempt:{}",
            attempt.subscription_id, attempt.event, attempt.attempt
        );
        let (outcome, _) = self
            .store
            .processor_charge(&key, attempt.merchant_id, attempt.amt_tran, &record)
            .await?;
        Ok(Charged { attempt, outcome })
    }

    /// Records a charged attempt and moves the subscription on (once; a second record of the
    /// same attempt changes nothing).
    pub async fn record(
        &self,
        charged: Charged,
        summary: &mut RunSummary,
    ) -> Result<(), VaultError> {
        let Charged {
            mut attempt,
            outcome,
        } = charged;
        let mut sub = self
            .store
            .subscription(attempt.merchant_id, attempt.subscription_id)
            .await?;
        let current = sub.next_event == attempt.event && sub.failed_attempts == attempt.attempt;
        // A charge that went through moves the subscription on whatever happened to it
        // meanwhile (a pause, say); a decline only counts against an active one.
        if current && outcome.approved {
            let status = sub.status.clone();
            advance(&mut sub);
            if status != subscriptions::ACTIVE && sub.status == subscriptions::ACTIVE {
                sub.status = status;
            }
            sub.updated_at = crate::vault::store::timestamp(Utc::now());
        } else if current && sub.status == subscriptions::ACTIVE {
            decline(&mut sub);
            sub.updated_at = crate::vault::store::timestamp(Utc::now());
        }
        attempt.tran_status = if outcome.approved { "A" } else { "D" }.into();
        attempt.rcode = Some(outcome.rcode);
        attempt.rmsg = Some(outcome.rmsg);
        attempt.auth_code = outcome.auth_code;
        if self.store.record(&attempt, &sub).await? {
            if outcome.approved {
                summary.approved += 1;
            } else {
                summary.declined += 1;
            }
        }
        Ok(())
    }

    /// Runs the engine every `every`, for as long as the process lives.
    pub fn spawn_scheduler(self, every: Duration) {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                // Debug shows an internal error's cause (never a number: causes are store and
                // crypto errors), where Display would say only "Internal error".
                if let Err(error) = self.run(None).await {
                    tracing::warn!(?error, "billing run failed");
                }
            }
        });
    }
}
