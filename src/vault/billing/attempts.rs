//! Payment attempts: what a claim writes for a due subscription, and how a recorded outcome
//! moves its subscription on. Pure functions over the typed [`Subscription`]; every store backend
//! calls them inside its own claim and record transactions, so the rules live in one place.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::subscription::{Event, Subscription};
use crate::vault::crypto::random_alphanumeric;
use crate::vault::store::billing::TransactionRow;
use crate::vault::store::timestamp;

/// What a stored card shows on a transaction (never its number).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct CardSummary {
    pub card_id: String,
    pub masked_number: String,
    pub card_type: Option<String>,
    pub billing_first_name: Option<String>,
    pub billing_last_name: Option<String>,
}

/// What one claim transaction writes.
#[derive(Debug, Default)]
pub struct ClaimPlan {
    /// New pending attempts, one per subscription at most.
    pub attempts: Vec<TransactionRow>,
    /// Subscriptions moved past an event that costs nothing (a free trial cycle).
    pub passed: Vec<Subscription>,
}

/// The claims for subscriptions read under the write lock: one pending attempt for each whose
/// charge is due on `today`, or a pass for a free event. Subscriptions with nothing due (paused
/// or cancelled since they were selected) are left alone.
pub fn plan_claims(
    subscriptions: Vec<Subscription>,
    cards: &HashMap<String, CardSummary>,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> ClaimPlan {
    let mut plan = ClaimPlan::default();
    for mut sub in subscriptions {
        let Some(charge) = sub.charge_due(today) else {
            continue;
        };
        if charge.amount == 0 {
            sub.pass_free(charge.event);
            touch(&mut sub, now);
            plan.passed.push(sub);
            continue;
        }
        let card = cards.get(&sub.card_id);
        plan.attempts.push(TransactionRow {
            tran_id: 0,
            pg_id: random_alphanumeric(32),
            merchant_id: sub.merchant_id,
            subscription_id: sub.subscription_id,
            customer_id: sub.customer_id.clone(),
            event: charge.event.code(),
            attempt: i64::from(charge.attempt),
            kind: charge.kind.as_str().into(),
            tran_date: charge.date.format("%Y-%m-%d").to_string(),
            tran_time: format!(
                "{} {}",
                charge.date.format("%Y-%m-%d"),
                now.format("%H:%M:%S")
            ),
            amt_tran: charge.amount,
            tran_currency: sub.terms.tran_currency.clone(),
            tran_status: "P".into(),
            rcode: None,
            rmsg: None,
            auth_code: None,
            card_id: sub.card_id.clone(),
            card_number: card.map(|c| c.masked_number.clone()).unwrap_or_default(),
            card_type: card.and_then(|c| c.card_type.clone()),
            cardholder_first_name: card.and_then(|c| c.billing_first_name.clone()),
            cardholder_last_name: card.and_then(|c| c.billing_last_name.clone()),
            purchase_id: sub.purchase_id.clone(),
            claimed_at: timestamp(now),
        });
    }
    plan
}

/// The processor's answer to one attempt, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub pg_id: String,
    pub approved: bool,
    pub rcode: String,
    pub rmsg: String,
    pub auth_code: Option<String>,
}

/// An attempt whose outcome was just recorded (it was still pending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Recorded {
    pub subscription_id: i64,
    pub event: i64,
    pub attempt: i64,
    pub approved: bool,
}

/// How many attempts were recorded approved and declined.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub approved: u64,
    pub declined: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Self) {
        self.approved += other.approved;
        self.declined += other.declined;
    }
}

/// Moves each subscription on by the outcomes recorded for it, read in the same transaction
/// that recorded them. Returns the subscriptions that changed (to write back) and the tally.
pub fn apply_outcomes(
    subscriptions: Vec<Subscription>,
    recorded: &[Recorded],
    now: DateTime<Utc>,
) -> (Vec<Subscription>, Tally) {
    let mut by_id: HashMap<i64, Subscription> = subscriptions
        .into_iter()
        .map(|sub| (sub.subscription_id, sub))
        .collect();
    let mut changed = Vec::new();
    let mut tally = Tally::default();
    for outcome in recorded {
        if outcome.approved {
            tally.approved += 1;
        } else {
            tally.declined += 1;
        }
        let (Some(sub), Some(event), Ok(attempt)) = (
            by_id.get_mut(&outcome.subscription_id),
            Event::from_code(outcome.event),
            u32::try_from(outcome.attempt),
        ) else {
            continue;
        };
        let before = sub.state;
        if outcome.approved {
            sub.approved(event);
        } else {
            sub.declined(event, attempt);
        }
        if sub.state != before {
            touch(sub, now);
            changed.push(sub.subscription_id);
        }
    }
    changed.sort_unstable();
    changed.dedup();
    let subs = changed
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .collect();
    (subs, tally)
}

fn touch(sub: &mut Subscription, now: DateTime<Utc>) {
    sub.updated_at = now;
}

/// The processor idempotency key of an attempt: the same attempt is never charged twice.
pub fn idempotency_key(attempt: &TransactionRow) -> String {
    format!(
        "subscription:{}:event:{}:attempt:{}",
        attempt.subscription_id, attempt.event, attempt.attempt
    )
}
