//! Payment attempts: what a claim writes for a due subscription, and how a recorded outcome
//! moves its subscription on. Pure functions over the typed [`Subscription`]; every store backend
//! calls them inside its own claim and record transactions, so the rules live in one place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};

use super::subscription::{Event, Subscription};
use crate::vault::crypto::random_alphanumerics;
use crate::vault::events::{NewEvent, outcome_events};
use crate::vault::store::billing::TransactionRow;
use crate::vault::store::{SealedCard, timestamp};

/// What a stored card shows on a transaction (never its number).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CardSummary {
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
    /// The subscriptions of those attempts as they were claimed.
    pub claimed: Vec<Subscription>,
    /// Their cards, sealed.
    pub cards: Vec<SealedCard>,
    /// Subscriptions moved past an event that costs nothing (a free trial cycle).
    pub passed: Vec<Subscription>,
}

/// A subscription with an attempt due, and its card: sealed, and what a transaction shows.
pub type DueSubscription = (Subscription, Option<(SealedCard, CardSummary)>);

/// The claims for due subscriptions: one pending attempt for each whose charge is due on
/// `today`, or a pass for a free event. Subscriptions with nothing due are left alone.
pub fn plan_claims(due: Vec<DueSubscription>, today: NaiveDate, now: DateTime<Utc>) -> ClaimPlan {
    let mut plan = ClaimPlan::default();
    let claimed_at = timestamp(now);
    let time_of_day = now.format("%H:%M:%S").to_string();
    let mut pg_ids = pg_ids(due.len()).into_iter();
    for (mut sub, card) in due {
        let Some(charge) = sub.charge_due(today) else {
            continue;
        };
        if charge.amount == 0 {
            sub.pass_free(charge.event);
            sub.updated_at = now;
            plan.passed.push(sub);
            continue;
        }
        let (sealed, card) = card.unzip();
        let card = card.unwrap_or_default();
        plan.cards.extend(sealed);
        let snapshot = sub.clone();
        plan.attempts.push(TransactionRow {
            tran_id: 0,
            pg_id: pg_ids.next().unwrap_or_default(),
            merchant_id: sub.merchant_id,
            subscription_id: sub.subscription_id,
            customer_id: sub.customer_id,
            event: charge.event.code(),
            attempt: i64::from(charge.attempt),
            kind: charge.kind.as_str().into(),
            tran_date: charge.date.to_string(),
            tran_time: format!("{} {time_of_day}", charge.date),
            amt_tran: charge.amount,
            tran_currency: sub.terms.tran_currency,
            tran_status: "P".into(),
            rcode: None,
            rmsg: None,
            auth_code: None,
            card_id: sub.card_id,
            card_number: card.masked_number,
            card_type: card.card_type,
            cardholder_first_name: card.billing_first_name,
            cardholder_last_name: card.billing_last_name,
            purchase_id: sub.purchase_id,
            claimed_at: claimed_at.clone(),
        });
        plan.claimed.push(snapshot);
    }
    plan
}

/// `count` new `pg_id`s: 32 letters and digits, the first 12 a count this process keeps (in
/// letters only: a run of digits as long as a card number would look like one to any scanner
/// of responses and logs) and the other 20 random. Ids made one after the other sort one after the other, so a batch's ids land
/// together in the `pg_id` index instead of on hundreds of its pages (which SQLite would write
/// out whole at every commit).
fn pg_ids(count: usize) -> Vec<String> {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let first = MADE.fetch_add(count as u64, Ordering::Relaxed);
    random_alphanumerics(count, 20)
        .into_iter()
        .zip(first..)
        .map(|(random, n)| {
            let mut id = in_letters(n, 12);
            id.push_str(&random);
            id
        })
        .collect()
}

/// `n` in `width` base-52 digits written as letters (A-Z, a-z: the ASCII order), most
/// significant first.
fn in_letters(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let base = DIGITS.len() as u64;
    let mut out = vec![DIGITS[0]; width];
    for digit in out.iter_mut().rev() {
        *digit = DIGITS[(n % base) as usize];
        n /= base;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The processor's answer to one attempt, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub pg_id: String,
    pub subscription_id: i64,
    pub event: i64,
    pub attempt: i64,
    pub approved: bool,
    pub rcode: String,
    pub rmsg: String,
    pub auth_code: Option<String>,
    /// The attempt as it was claimed (pending): what the outcome's events say it charged.
    pub row: TransactionRow,
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

/// Moves each subscription on by the outcomes recorded for its attempts. `subscriptions` are
/// as they stand in the transaction that records the outcomes; `recorded` are the outcomes of
/// attempts that were still pending there (an outcome another engine recorded first is not
/// applied again). Returns the subscriptions that changed, to write back, the tally, and the
/// events to write with them.
pub fn apply_outcomes(
    mut subscriptions: HashMap<i64, Subscription>,
    recorded: &[&Outcome],
    now: DateTime<Utc>,
) -> (Vec<Subscription>, Tally, Vec<NewEvent>) {
    let mut changed = Vec::new();
    let mut tally = Tally::default();
    let mut events = Vec::new();
    for outcome in recorded {
        if outcome.approved {
            tally.approved += 1;
        } else {
            tally.declined += 1;
        }
        let (Some(sub), Some(event), Ok(attempt)) = (
            subscriptions.get_mut(&outcome.subscription_id),
            Event::from_code(outcome.event),
            u32::try_from(outcome.attempt),
        ) else {
            continue;
        };
        let before = sub.state;
        let status_before = sub.status();
        if outcome.approved {
            sub.approved(event);
        } else {
            sub.declined(event, attempt);
        }
        if sub.state != before {
            sub.updated_at = now;
            changed.push(sub.subscription_id);
        }
        events.extend(outcome_events(outcome, sub, status_before));
    }
    changed.sort_unstable();
    changed.dedup();
    let subs = changed
        .into_iter()
        .filter_map(|id| subscriptions.remove(&id))
        .collect();
    (subs, tally, events)
}

/// The processor idempotency key of an attempt: the same attempt is never charged twice.
pub fn idempotency_key(attempt: &TransactionRow) -> String {
    format!(
        "subscription:{}:event:{}:attempt:{}",
        attempt.subscription_id, attempt.event, attempt.attempt
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_ids_are_unique_alphanumeric_counted_in_letters_and_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..50).flat_map(|_| pg_ids(7)).collect();
        assert!(ids.iter().all(|id| id.len() == 32));
        assert!(
            ids.iter()
                .all(|id| id.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        assert!(
            ids.iter()
                .all(|id| id.bytes().take(12).all(|b| b.is_ascii_alphabetic()))
        );
        assert_eq!(in_letters(0, 3), "AAA");
        assert_eq!(in_letters(51, 3), "AAz");
        assert_eq!(in_letters(52, 3), "ABA");
    }
}
