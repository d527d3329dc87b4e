//! The events the gateway hears of (Qualpay's webhooks, received by [`super::receiver`]) and
//! the broker that hands each one to every live GraphQL subscription
//! ([`super::live_query`]).
//!
//! An event is a routing hint, not an authority: it names objects (a subscription, a payment,
//! cards), and a subscriber receives it only when its own credential can load those objects
//! from the upstream (see [`super::live_query`]). So the broker fans every event out to every
//! subscriber and never decides who may see what.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
use tokio::sync::broadcast;

/// Events a subscriber may fall behind by before it is told it lost some.
pub const BROKER_CAPACITY: usize = 1024;

/// Deliveries remembered to drop their duplicates (a webhook retried after its answer was lost).
const REMEMBERED: usize = 10_000;

/// One webhook event as Qualpay posts it: `{webhook_id, db_timestamp, event, is_test, data}`.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// Hex SHA-256 of the delivery's raw body: the same delivery sent again has the same id.
    pub id: String,
    /// Qualpay's event name, e.g. `subscription_payment_failure`.
    pub name: String,
    pub webhook_id: Option<i64>,
    /// When the upstream says it happened (`db_timestamp`); when it says nothing readable, when
    /// the gateway received it.
    pub occurred_at: DateTime<Utc>,
    pub is_test: bool,
    pub data: Value,
}

impl LiveEvent {
    /// The event of a delivery's JSON body; `None` when it is not an object with an `event`.
    pub fn from_delivery(id: String, body: &Value, received_at: DateTime<Utc>) -> Option<Self> {
        let name = body.get("event")?.as_str()?.to_owned();
        let occurred_at = body
            .get("db_timestamp")
            .and_then(Value::as_str)
            .and_then(parse_timestamp)
            .unwrap_or(received_at);
        Some(Self {
            id,
            name,
            webhook_id: body.get("webhook_id").and_then(Value::as_i64),
            occurred_at,
            is_test: body
                .get("is_test")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            data: body.get("data").cloned().unwrap_or(Value::Null),
        })
    }

    /// A string field of `data` (numbers are taken as their text).
    pub fn text(&self, field: &str) -> Option<String> {
        text(self.data.get(field)?)
    }

    /// The customer the event's object belongs to, when it says.
    pub fn customer_id(&self) -> Option<String> {
        self.text("customer_id")
    }

    /// The subscription the event is about, when it is about one.
    pub fn subscription_id(&self) -> Option<i64> {
        let id = self.data.get("subscription_id")?;
        id.as_i64().or_else(|| id.as_str()?.parse().ok())
    }

    /// The payment the event is about: its own `pg_id`, or its `transaction`'s (a subscription
    /// payment's event carries the subscription with the transaction of the attempt).
    pub fn pg_id(&self) -> Option<String> {
        self.text("pg_id").or_else(|| {
            let transaction = self.data.get("transaction")?;
            text(transaction.get("pg_id")?)
        })
    }

    /// The cards of an account updater request's answers: `(card_id, customer_id, reason_code)`.
    pub fn updated_cards(&self) -> Vec<(String, String, String)> {
        let Some(Value::Array(cards)) = self.data.get("cards") else {
            return Vec::new();
        };
        cards
            .iter()
            .filter_map(|card| {
                Some((
                    text(card.get("card_id")?)?,
                    text(card.get("customer_id")?)?,
                    text(card.get("reason_code")?)?,
                ))
            })
            .collect()
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Qualpay's `db_timestamp`: `2027-02-01 12:00:00`, or RFC 3339.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|at| at.and_utc())
        })
}

/// Hands received events to every live subscription; cheap to clone.
#[derive(Clone)]
pub struct EventBroker {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    seen: Arc<Mutex<Seen>>,
}

impl Default for EventBroker {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BROKER_CAPACITY).0,
            seen: Arc::default(),
        }
    }
}

/// The ids of the last [`REMEMBERED`] events, oldest first.
#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl EventBroker {
    /// Publishes `event` unless an event with its id was published before: true when it was
    /// new. Subscribers that fall [`BROKER_CAPACITY`] events behind lose the oldest.
    pub fn publish(&self, event: LiveEvent) -> bool {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if !seen.ids.insert(event.id.clone()) {
                return false;
            }
            seen.order.push_back(event.id.clone());
            if seen.order.len() > REMEMBERED
                && let Some(oldest) = seen.order.pop_front()
            {
                seen.ids.remove(&oldest);
            }
        }
        // No subscriber is not an error: the event is simply not wanted now.
        let _ = self.sender.send(Arc::new(event));
        true
    }

    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str) -> LiveEvent {
        LiveEvent::from_delivery(
            id.into(),
            &json!({"webhook_id": 3, "db_timestamp": "2027-02-01 12:00:00",
                    "event": "subscription_suspended", "is_test": false,
                    "data": {"subscription_id": 7, "customer_id": "ann",
                             "transaction": {"pg_id": "abc"}}}),
            DateTime::UNIX_EPOCH,
        )
        .expect("an event")
    }

    #[test]
    fn a_delivery_names_its_objects() {
        let event = event("1");
        assert_eq!(event.name, "subscription_suspended");
        assert_eq!(event.webhook_id, Some(3));
        assert_eq!(event.subscription_id(), Some(7));
        assert_eq!(event.customer_id().as_deref(), Some("ann"));
        assert_eq!(event.pg_id().as_deref(), Some("abc"));
        assert_eq!(event.occurred_at.to_rfc3339(), "2027-02-01T12:00:00+00:00");
    }

    #[test]
    fn an_event_is_published_once_however_often_it_arrives() {
        let broker = EventBroker::default();
        let mut receiver = broker.subscribe();
        assert!(broker.publish(event("1")));
        assert!(!broker.publish(event("1")));
        assert!(broker.publish(event("2")));
        assert_eq!(receiver.try_recv().expect("the first").id, "1");
        assert_eq!(receiver.try_recv().expect("the second").id, "2");
        assert!(receiver.try_recv().is_err());
    }
}
