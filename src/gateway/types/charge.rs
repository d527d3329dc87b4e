//! `Payment`: one Payment Gateway transaction (a sale, an auth, a refund...), as the reporting
//! API shows it, plus what the gateway answered when this request made it (AVS and CVV
//! results exist only there). Links go through the request's loaders.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::{BillingSubscription, Card, Customer, PaymentMethod};
use crate::gateway::access::{Needs, Permission};
use crate::gateway::context::loaders;
use crate::gateway::error::{gql, null_on_error};
use crate::gateway::ids;
use crate::qualpay::{PgResponse, Transaction};

/// What kind of transaction a payment is (the vault's `tran_type`). A capture completes an
/// `AUTH` in place, so there is no `CAPTURE` kind: a captured auth is an `AUTH` whose status is
/// `CAPTURED`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PaymentKind {
    /// Authorized and captured at once.
    Sale,
    /// Authorized, to capture later (`capturePayment`).
    Auth,
    /// Money given back on an earlier sale or captured auth (`original`).
    Refund,
    /// Money given to a card, linked to no earlier payment.
    Credit,
    /// A sale with a voice authorization code.
    Force,
    /// A new sale on the card of an earlier payment.
    Recharge,
    /// A zero-amount authorization that checks a card.
    Verify,
}

impl PaymentKind {
    /// From `tran_type`; `None` when it is missing (Qualpay's report has none) or unknown.
    pub fn from_wire(code: Option<&str>) -> Option<Self> {
        Some(match code? {
            "sale" => Self::Sale,
            "auth" => Self::Auth,
            "refund" => Self::Refund,
            "credit" => Self::Credit,
            "force" => Self::Force,
            "recharge" => Self::Recharge,
            "verify" => Self::Verify,
            _ => return None,
        })
    }
}

/// Where a payment is in its life (the reporting API's `tran_status` letter).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PaymentStatus {
    /// `A`: an auth approved and not captured yet.
    Authorized,
    /// `C`: captured (a sale, a captured auth, a refund), waiting for its batch to close.
    Captured,
    /// `S`: its batch closed; it can be refunded now, no longer voided.
    Settled,
    /// `V`: voided by the merchant.
    Voided,
    /// `v`: an auth not captured within 28 days, voided by the system.
    VoidedBySystem,
    /// `D`: declined by the card's issuer.
    Declined,
    /// `F`: failed (the processor did not answer): nothing was charged.
    Failed,
    /// A status letter this gateway does not know.
    Unknown,
}

impl PaymentStatus {
    pub fn from_wire(code: Option<&str>) -> Self {
        match code {
            Some("A") => Self::Authorized,
            Some("C") => Self::Captured,
            Some("S") => Self::Settled,
            Some("V") => Self::Voided,
            Some("v") => Self::VoidedBySystem,
            Some("D") => Self::Declined,
            Some("F") => Self::Failed,
            _ => Self::Unknown,
        }
    }

    /// The letter; `None` for `Unknown`.
    pub fn code(self) -> Option<&'static str> {
        Some(match self {
            Self::Authorized => "A",
            Self::Captured => "C",
            Self::Settled => "S",
            Self::Voided => "V",
            Self::VoidedBySystem => "v",
            Self::Declined => "D",
            Self::Failed => "F",
            Self::Unknown => return None,
        })
    }
}

/// The prefix of the `merch_ref_num` a payment made with an idempotency key carries:
/// `idem:<key>:<merchant reference>`.
pub const IDEMPOTENCY_PREFIX: &str = "idem:";

/// A Payment Gateway transaction.
#[derive(Clone)]
pub struct Payment {
    row: Arc<Transaction>,
    /// The gateway's answer, when this request made the transaction.
    answer: Option<Arc<PgResponse>>,
}

impl Payment {
    pub fn new(row: Arc<Transaction>) -> Self {
        Self { row, answer: None }
    }

    /// A payment this request made, with the gateway's answer to it.
    pub fn answered(row: Arc<Transaction>, answer: Arc<PgResponse>) -> Self {
        Self {
            row,
            answer: Some(answer),
        }
    }

    pub fn raw(&self) -> &Arc<Transaction> {
        &self.row
    }

    pub fn key(&self) -> &str {
        self.row.pg_id.as_deref().unwrap_or_default()
    }

    pub fn status_code(&self) -> PaymentStatus {
        PaymentStatus::from_wire(self.row.tran_status.as_deref())
    }

    pub fn amount_value(&self) -> Decimal {
        self.row.amt_tran.unwrap_or_default()
    }

    /// What was captured: the vault says; otherwise the amount, once captured or settled.
    pub fn captured(&self) -> Option<Decimal> {
        self.row.amt_captured.or_else(|| {
            matches!(
                self.status_code(),
                PaymentStatus::Captured | PaymentStatus::Settled
            )
            .then(|| self.amount_value())
        })
    }

    pub fn refunded(&self) -> Decimal {
        self.row.amt_refunded.unwrap_or_default()
    }
}

#[Object]
impl Payment {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        ids::payment(self.key())
    }

    /// The Payment Gateway's id of the transaction (Qualpay `pg_id`).
    pub async fn pg_id(&self) -> &str {
        self.key()
    }

    /// Null when the upstream does not say (Qualpay's own report has no type). A capture
    /// completes an `AUTH` in place: there is no `CAPTURE` kind.
    pub async fn kind(&self) -> Option<PaymentKind> {
        PaymentKind::from_wire(self.row.tran_type.as_deref())
    }

    pub async fn status(&self) -> PaymentStatus {
        self.status_code()
    }

    /// The amount authorized (for a refund, the amount refunded).
    pub async fn amount(&self) -> Decimal {
        self.amount_value()
    }

    /// The amount captured: null while an auth is not captured (or once it is voided), less
    /// than `amount` for an auth captured for less.
    pub async fn captured_amount(&self) -> Option<Decimal> {
        self.captured()
    }

    /// The sum of the refunds of this payment (0 when none).
    pub async fn refunded_amount(&self) -> Decimal {
        self.refunded()
    }

    /// ISO 4217 numeric code, e.g. `840` for US dollars.
    pub async fn currency(&self) -> Option<&str> {
        self.row.tran_currency.as_deref()
    }

    /// The issuer's authorization code; null when declined.
    pub async fn auth_code(&self) -> Option<&str> {
        self.row
            .auth_code
            .as_deref()
            .or_else(|| self.answer.as_ref()?.auth_code.as_deref())
            .filter(|code| !code.is_empty())
    }

    /// The gateway's response code: `000` approved, `010` partially approved, `0xx` declined by
    /// the issuer, `998` processor timeout.
    pub async fn response_code(&self) -> Option<&str> {
        self.row
            .rcode
            .as_deref()
            .or_else(|| Some(self.answer.as_ref()?.rcode.as_str()))
    }

    /// The gateway's response text, e.g. `Do not honor`.
    pub async fn response_message(&self) -> Option<&str> {
        self.row
            .rmsg
            .as_deref()
            .or_else(|| Some(self.answer.as_ref()?.rmsg.as_str()))
            .filter(|message| !message.is_empty())
    }

    /// The address check's result (`Y`, `Z`, `N`, ...): only in the answer of the mutation
    /// that made the payment; null when the payment is read later.
    pub async fn avs_result(&self) -> Option<&str> {
        self.answer.as_ref()?.auth_avs_result.as_deref()
    }

    /// The card security code (CVV2) check's result (`M` match, `N` no match), named so
    /// that no output field is called like the code itself: only in the answer of the mutation
    /// that made the payment; null when the payment is read later.
    pub async fn card_code_result(&self) -> Option<&str> {
        self.answer.as_ref()?.auth_cvv2_result.as_deref()
    }

    /// The number charged, masked.
    pub async fn masked_card_number(&self) -> Option<&str> {
        self.row
            .card_number
            .as_deref()
            .or_else(|| self.answer.as_ref()?.card_number.as_deref())
    }

    /// The merchant's reference (`merchantReference` of `chargeCustomer`).
    pub async fn merchant_reference(&self) -> Option<&str> {
        let reference = self.row.merch_ref_num.as_deref()?;
        match reference.strip_prefix(IDEMPOTENCY_PREFIX) {
            Some(rest) => rest.split_once(':').map(|(_, own)| own),
            None => Some(reference),
        }
        .filter(|own| !own.is_empty())
    }

    pub async fn purchase_id(&self) -> Option<&str> {
        self.row.purchase_id.as_deref()
    }

    /// When it was made (the reporting API's `tran_time`, read as UTC).
    pub async fn created_at(&self) -> Option<DateTime<Utc>> {
        let time = self.row.tran_time.as_deref()?;
        NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|t| t.and_utc())
    }

    /// The customer charged; null for a payment made without one.
    pub async fn customer(&self, ctx: &Context<'_>) -> Option<Customer> {
        let customer_id = self.row.customer_id.as_deref()?;
        let found = match loaders(ctx) {
            Ok(loaders) => loaders.customer(customer_id).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(Customer::new)
    }

    /// The card charged, when the upstream says which (the embedded vault does; Qualpay's
    /// report does not) and it is still stored.
    #[graphql(guard = "Needs(Permission::ReadPaymentMethods)")]
    pub async fn card(&self, ctx: &Context<'_>) -> Option<Card> {
        let customer_id = self.row.customer_id.as_deref()?;
        let card_id = self.row.card_id.as_deref()?;
        null_on_error(ctx, find_card(ctx, customer_id, card_id).await)
    }

    /// The subscription whose billing made this payment; null for the others.
    #[graphql(guard = "Needs(Permission::ReadSubscriptions)")]
    pub async fn subscription(&self, ctx: &Context<'_>) -> Option<BillingSubscription> {
        let id = self.row.subscription_id.as_deref()?.parse::<i64>().ok()?;
        let found = match loaders(ctx) {
            Ok(loaders) => loaders.subscription(id).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(BillingSubscription::new)
    }

    /// The refunds of this payment, newest first (empty when the upstream does not report
    /// refunds with their original, as Qualpay's report does not).
    #[graphql(complexity = "crate::gateway::cost::embedded(child_complexity)")]
    pub async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        let Some(customer_id) = self.row.customer_id.as_deref() else {
            return Ok(Vec::new());
        };
        let refunds = loaders(ctx)?
            .refunds_of(customer_id, self.key())
            .await
            .map_err(gql)?;
        Ok(refunds.iter().cloned().map(Payment::new).collect())
    }

    /// For a refund: the payment it gives money back on.
    pub async fn original(&self, ctx: &Context<'_>) -> Option<Payment> {
        let pg_id = self.row.pg_id_orig.as_deref()?;
        let found = match loaders(ctx) {
            Ok(loaders) => loaders.payment(pg_id).await.map_err(gql),
            Err(error) => Err(error),
        };
        null_on_error(ctx, found).map(Payment::new)
    }
}

async fn find_card(ctx: &Context<'_>, customer_id: &str, card_id: &str) -> Result<Option<Card>> {
    let customer = loaders(ctx)?.customer(customer_id).await.map_err(gql)?;
    Ok(customer
        .map(Customer::new)
        .and_then(|customer| customer.payment_method(card_id))
        .and_then(PaymentMethod::into_card))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_letter_reads_as_its_enum_and_back() {
        for letter in ["A", "C", "S", "V", "v", "D", "F"] {
            let status = PaymentStatus::from_wire(Some(letter));
            assert_ne!(status, PaymentStatus::Unknown, "{letter}");
            assert_eq!(status.code(), Some(letter));
        }
        assert_eq!(PaymentStatus::from_wire(Some("X")), PaymentStatus::Unknown);
        assert_eq!(PaymentStatus::from_wire(None), PaymentStatus::Unknown);
        assert_eq!(PaymentKind::from_wire(None), None);
        assert_eq!(
            PaymentKind::from_wire(Some("auth")),
            Some(PaymentKind::Auth)
        );
    }
}
