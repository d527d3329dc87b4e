//! Opaque global ids for `Node`: base64 of `Type:vault id[:vault id]`. Clients treat them as
//! opaque; the vault's own ids are plain fields (`customerId`, `cardId`, `shippingId`).

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;

/// What a global id points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRef {
    Customer(String),
    /// A card or a bank account: both are billing records of a customer.
    PaymentMethod {
        customer_id: String,
        card_id: String,
    },
    ShippingAddress {
        customer_id: String,
        shipping_id: i64,
    },
    Plan(String),
    Subscription(i64),
    Transaction {
        subscription_id: i64,
        pg_id: String,
    },
    /// A Payment Gateway transaction, by its `pg_id`.
    Payment(String),
}

pub fn customer(customer_id: &str) -> ID {
    encode(&["Customer", customer_id])
}

pub fn payment_method(customer_id: &str, card_id: &str) -> ID {
    encode(&["PaymentMethod", customer_id, card_id])
}

pub fn shipping_address(customer_id: &str, shipping_id: i64) -> ID {
    encode(&["ShippingAddress", customer_id, &shipping_id.to_string()])
}

pub fn plan(plan_code: &str) -> ID {
    encode(&["Plan", plan_code])
}

pub fn subscription(subscription_id: i64) -> ID {
    encode(&["BillingSubscription", &subscription_id.to_string()])
}

pub fn transaction(subscription_id: &str, pg_id: &str) -> ID {
    encode(&["SubscriptionTransaction", subscription_id, pg_id])
}

pub fn payment(pg_id: &str) -> ID {
    encode(&["Payment", pg_id])
}

fn encode(parts: &[&str]) -> ID {
    ID(BASE64.encode(parts.join(":")))
}

/// `None` for anything that is not an id this gateway made.
pub fn decode(id: &str) -> Option<NodeRef> {
    let text = String::from_utf8(BASE64.decode(id).ok()?).ok()?;
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["Customer", customer_id] => Some(NodeRef::Customer((*customer_id).to_owned())),
        ["PaymentMethod", customer_id, card_id] => Some(NodeRef::PaymentMethod {
            customer_id: (*customer_id).to_owned(),
            card_id: (*card_id).to_owned(),
        }),
        ["ShippingAddress", customer_id, shipping_id] => Some(NodeRef::ShippingAddress {
            customer_id: (*customer_id).to_owned(),
            shipping_id: shipping_id.parse().ok()?,
        }),
        ["Plan", plan_code] => Some(NodeRef::Plan((*plan_code).to_owned())),
        ["BillingSubscription", id] => Some(NodeRef::Subscription(id.parse().ok()?)),
        ["SubscriptionTransaction", id, pg_id] => Some(NodeRef::Transaction {
            subscription_id: id.parse().ok()?,
            pg_id: (*pg_id).to_owned(),
        }),
        ["Payment", pg_id] => Some(NodeRef::Payment((*pg_id).to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_junk_is_rejected() {
        assert_eq!(
            decode(&customer("JOHNDOE")),
            Some(NodeRef::Customer("JOHNDOE".into()))
        );
        assert_eq!(
            decode(&payment_method("JOHNDOE", "abc")),
            Some(NodeRef::PaymentMethod {
                customer_id: "JOHNDOE".into(),
                card_id: "abc".into()
            })
        );
        assert_eq!(
            decode(&shipping_address("JOHNDOE", 12)),
            Some(NodeRef::ShippingAddress {
                customer_id: "JOHNDOE".into(),
                shipping_id: 12
            })
        );
        for junk in ["", "!!!", "Q3VzdG9tZXI", &BASE64.encode("Invoice:x")] {
            assert_eq!(decode(junk), None, "{junk}");
        }
    }
}
