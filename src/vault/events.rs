//! The events the vault tells webhooks about: their names (Qualpay's), the `data` each carries,
//! and the signal that wakes the delivery worker when a transaction that wrote some commits.
//!
//! An event is written to the outbox ([`crate::vault::store::outbox`]) in the same database
//! transaction as the change that caused it, so a change and its event happen together or not
//! at all; delivering it is the worker's job ([`crate::vault::webhooks::delivery`]).

use std::sync::LazyLock;

use serde_json::Value;
use tokio::sync::watch;

use crate::vault::billing::attempts::Outcome;
use crate::vault::billing::subscription::{Status, Subscription};
use crate::vault::billing::wire;
use crate::vault::store::billing::TransactionRow;

/// An event a webhook can subscribe to, by Qualpay's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventName {
    SubscriptionPaymentSuccess,
    SubscriptionPaymentFailure,
    SubscriptionSuspended,
    SubscriptionComplete,
    AccountUpdaterRequestCreated,
    AccountUpdaterRequestCompleted,
    TransactionStatusUpdated,
}

impl EventName {
    pub const ALL: [EventName; 7] = [
        Self::SubscriptionPaymentSuccess,
        Self::SubscriptionPaymentFailure,
        Self::SubscriptionSuspended,
        Self::SubscriptionComplete,
        Self::AccountUpdaterRequestCreated,
        Self::AccountUpdaterRequestCompleted,
        Self::TransactionStatusUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SubscriptionPaymentSuccess => "subscription_payment_success",
            Self::SubscriptionPaymentFailure => "subscription_payment_failure",
            Self::SubscriptionSuspended => "subscription_suspended",
            Self::SubscriptionComplete => "subscription_complete",
            Self::AccountUpdaterRequestCreated => "account_updater_request_created",
            Self::AccountUpdaterRequestCompleted => "account_updater_request_completed",
            Self::TransactionStatusUpdated => "transaction_status_updated",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// An event to write to the outbox with the change that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub merchant_id: i64,
    pub name: EventName,
    /// The event's `data`: objects as the REST API shows them (never a full card number).
    pub data: Value,
}

/// Counts transactions that committed events in this process; the delivery worker waits on it.
static COMMITTED: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Says that a transaction that wrote events (or made deliveries due, as a clock advance does)
/// has committed: the delivery worker looks at once instead of at its next poll. Call it after
/// the commit, never before: a worker woken early would find nothing and sleep.
pub fn committed() {
    COMMITTED.send_modify(|n| *n = n.wrapping_add(1));
}

/// What the delivery worker waits on.
pub fn watch_committed() -> watch::Receiver<u64> {
    COMMITTED.subscribe()
}

/// The events of one recorded billing outcome: a payment success or failure (the subscription
/// as it is after the outcome, with its transaction), then a suspension or completion when the
/// outcome moved the subscription there from `before`.
pub fn outcome_events(outcome: &Outcome, sub: &Subscription, before: Status) -> Vec<NewEvent> {
    let row = TransactionRow {
        tran_status: if outcome.approved { "A" } else { "D" }.to_owned(),
        rcode: Some(outcome.rcode.clone()),
        rmsg: Some(outcome.rmsg.clone()),
        auth_code: outcome.auth_code.clone(),
        ..outcome.row.clone()
    };
    let mut data = to_value(wire::subscription(sub.clone(), Some(row.clone())));
    if let Value::Object(fields) = &mut data {
        fields.insert("transaction".into(), to_value(wire::transaction(row)));
    }
    let name = if outcome.approved {
        EventName::SubscriptionPaymentSuccess
    } else {
        EventName::SubscriptionPaymentFailure
    };
    let mut events = vec![NewEvent {
        merchant_id: sub.merchant_id,
        name,
        data,
    }];
    let moved = match sub.status() {
        status if status == before => None,
        Status::Suspended => Some(EventName::SubscriptionSuspended),
        Status::Complete => Some(EventName::SubscriptionComplete),
        _ => None,
    };
    if let Some(name) = moved {
        events.push(NewEvent {
            merchant_id: sub.merchant_id,
            name,
            data: to_value(wire::subscription(sub.clone(), None)),
        });
    }
    events
}

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
