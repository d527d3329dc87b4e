//! Idempotency keys of payment mutations, carried with what Qualpay itself offers, so that they
//! hold across gateway restarts and processes (the gateway keeps no state):
//!
//! - the key travels in the transaction's `merch_ref_num`, as `idem:<key>:<merchant
//!   reference>`, so the reporting API finds every transaction made with it
//!   (`filter=merch_ref_num,LIKE,idem:<key>:%`, checked again exactly here);
//! - a charge with a key is sent with `duplicate_seconds` = [`DUPLICATE_WINDOW`]: the gateway
//!   does not send a repeat of an approved charge (same card, type, `merch_ref_num` and
//!   `purchase_id`) made within the window to the processor again, but answers the first
//!   transaction. So two concurrent retries of one lost charge charge once.
//!
//! Before a charge, the key is looked up: a payment made with it is answered again when the
//! input is the same, and the mutation fails with `BAD_USER_INPUT` when it is not.

use std::sync::Arc;

use crate::gateway::error::GatewayError;
use crate::gateway::loaders::NEWEST_FIRST;
use crate::gateway::types::{IDEMPOTENCY_PREFIX, PaymentStatus};
use crate::qualpay::filter::MAX_VALUE_CHARS;
use crate::qualpay::{Filter, Transaction};
use crate::upstream::{BrowseParams, Upstream, UpstreamError};

/// Seconds in which the Payment Gateway answers a repeated charge with the first one (its
/// largest `duplicate_seconds`: a day).
pub const DUPLICATE_WINDOW: i64 = 86_400;
/// Longest idempotency key.
pub const MAX_KEY_CHARS: usize = 64;

/// A checked idempotency key: 1 to 64 ASCII letters, digits, `-`, `_` or `.` (a UUID fits).
#[derive(Debug, Clone, Copy)]
pub struct Key<'a>(&'a str);

impl<'a> Key<'a> {
    pub fn parse(key: Option<&'a str>) -> Result<Option<Self>, GatewayError> {
        let Some(key) = key else {
            return Ok(None);
        };
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.chars().all(allowed) {
            return Err(GatewayError::BadUserInput(format!(
                "idempotencyKey must be 1 to {MAX_KEY_CHARS} ASCII letters, digits, '-', '_' or \
                 '.' (a UUID fits)"
            )));
        }
        Ok(Some(Self(key)))
    }

    /// What every `merch_ref_num` made with this key starts with.
    fn prefix(self) -> String {
        format!("{IDEMPOTENCY_PREFIX}{}:", self.0)
    }
}

/// The `merch_ref_num` to send: the merchant's reference, after the key when there is one.
/// Qualpay takes at most 128 characters.
pub fn merch_ref_num(
    key: Option<Key<'_>>,
    reference: Option<&str>,
) -> Result<Option<String>, GatewayError> {
    let value = match key {
        Some(key) => Some(format!("{}{}", key.prefix(), reference.unwrap_or_default())),
        None => reference.map(str::to_owned),
    };
    if let Some(value) = &value
        && value.chars().count() > MAX_VALUE_CHARS
    {
        return Err(GatewayError::BadUserInput(format!(
            "merchantReference is too long: with the idempotencyKey it must fit Qualpay's \
             {MAX_VALUE_CHARS} characters of merch_ref_num ({} for the key and its prefix)",
            key.map_or(0, |k| k.prefix().len())
        )));
    }
    Ok(value)
}

/// The first transaction made with `key` that is not a failure (a processor timeout charged
/// nothing, so a retry may charge); `accept` picks the kind of transaction (a charge, or a
/// refund of one payment).
pub async fn earlier(
    upstream: &Upstream,
    key: Key<'_>,
    accept: impl Fn(&Transaction) -> bool,
) -> Result<Option<Arc<Transaction>>, UpstreamError> {
    let prefix = key.prefix();
    let params = BrowseParams {
        count: 100,
        page: 0,
        order_on: Some(NEWEST_FIRST.0),
        order_by: Some(NEWEST_FIRST.1),
        filters: vec![Filter::prefix("merch_ref_num", &prefix)?],
    };
    let page = upstream.browse_payments(&params).await?;
    // The upstream's LIKE may ignore case: only an exact prefix is this key's.
    Ok(page
        .data
        .into_iter()
        .filter(|t| {
            t.merch_ref_num
                .as_deref()
                .is_some_and(|r| r.starts_with(&prefix))
        })
        .filter(|t| PaymentStatus::from_wire(t.tran_status.as_deref()) != PaymentStatus::Failed)
        .filter(|t| accept(t))
        .last()
        .map(Arc::new))
}

/// The refusal of a key used before for another payment.
pub fn reused(pg_id: Option<&str>) -> GatewayError {
    GatewayError::BadUserInput(format!(
        "this idempotencyKey was used for a different payment (pgId {}): use a new key for a \
         new payment",
        pg_id.unwrap_or("unknown")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_before_anything_is_sent() {
        assert!(Key::parse(None).unwrap().is_none());
        let uuid = "0b6c4a9e-2f59-4a8e-9d8e-4f3f6f2a1c11";
        assert!(Key::parse(Some(uuid)).unwrap().is_some());
        for bad in ["", "a:b", "a|b", "a;b", "a%", "a b", &"k".repeat(65)] {
            assert!(Key::parse(Some(bad)).is_err(), "{bad}");
        }
        assert!(Key::parse(Some(&"k".repeat(64))).unwrap().is_some());
    }

    #[test]
    fn the_key_and_the_reference_share_merch_ref_num_within_its_limit() {
        let key = Key::parse(Some("order-7")).unwrap();
        assert_eq!(
            merch_ref_num(key, Some("INV-1")).unwrap().as_deref(),
            Some("idem:order-7:INV-1")
        );
        assert_eq!(
            merch_ref_num(key, None).unwrap().as_deref(),
            Some("idem:order-7:")
        );
        assert_eq!(
            merch_ref_num(None, Some("INV-1")).unwrap().as_deref(),
            Some("INV-1")
        );
        assert_eq!(merch_ref_num(None, None).unwrap(), None);
        let long_key = "k".repeat(64);
        let long = Key::parse(Some(&long_key)).unwrap();
        // 5 + 64 + 1 = 70 characters for the key: 58 are left.
        assert!(merch_ref_num(long, Some(&"r".repeat(58))).is_ok());
        assert!(merch_ref_num(long, Some(&"r".repeat(59))).is_err());
    }
}
