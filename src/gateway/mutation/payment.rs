//! Payments: `chargeCustomer`, `capturePayment`, `voidPayment`, `refundPayment` and
//! `verifyCard`, over the Payment Gateway (`/pg`). Only a secret key may use them: a customer
//! session is refused before any upstream call. A declined payment is still an answer: the
//! payload holds it, beside a `CARD_DECLINED` error. A request whose answer was lost is
//! `OUTCOME_UNKNOWN`, never retried by the gateway; idempotency keys ([`idempotency`]) make a
//! client's retry safe.

mod idempotency;

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use rust_decimal::Decimal;

use super::per_mutation;
use crate::gateway::access::Caller;
use crate::gateway::context::{loaders, upstream};
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::types::{Payment, PaymentKind, PaymentStatus};
use crate::qualpay::{Filter, PgRequest, PgResponse, Transaction};
use crate::upstream::{BrowseParams, PgCall, UpstreamError};
use idempotency::{DUPLICATE_WINDOW, Key};

/// US dollars, the currency when none is given.
const USD: i32 = 840;
/// The `rcode` of a processor timeout: recorded as failed, nothing charged.
const PROCESSOR_TIMEOUT: &str = "998";

#[derive(Default)]
pub struct PaymentMutations;

/// A charge of one of the merchant's customers, on a stored card.
#[derive(InputObject)]
pub struct ChargeCustomerInput {
    pub customer_id: String,
    /// The card (or bank account) to charge; the customer's primary payment method when absent.
    pub card_id: Option<String>,
    /// A token from the embedded card fields (`createCardSetup`) or `/pg/tokenize`, instead of
    /// `cardId`: charged, and stored on the customer when approved (keeping the token's id).
    pub card_token: Option<String>,
    /// In the currency's major unit, at most two decimals, more than 0.
    pub amount: Decimal,
    /// ISO 4217 numeric code (`840`), or `USD`.
    #[graphql(default = "840")]
    pub currency: String,
    /// True: a sale (authorized and captured). False: an auth, captured later with
    /// `capturePayment` (or voided; an auth not captured in 28 days is voided by the system).
    #[graphql(default = true)]
    pub capture: bool,
    /// The merchant's purchase or invoice number (Qualpay `purchase_id`).
    pub purchase_id: Option<String>,
    /// The merchant's reference (Qualpay `merch_ref_num`; with an `idempotencyKey`, the two
    /// share its 128 characters).
    pub merchant_reference: Option<String>,
    /// Makes retries safe: 1 to 64 ASCII letters, digits, `-`, `_` or `.`. A retry with the
    /// same key and input answers the first payment instead of charging again; the same key
    /// with another input is refused.
    pub idempotency_key: Option<String>,
}

/// Captures an auth.
#[derive(InputObject)]
pub struct CapturePaymentInput {
    pub pg_id: String,
    /// At most the authorized amount; the authorized amount when absent.
    pub amount: Option<Decimal>,
    /// With a key, a retry of a capture that went through answers the captured payment
    /// instead of `CONFLICT`.
    pub idempotency_key: Option<String>,
}

/// Voids an auth, or a sale or capture whose batch has not closed.
#[derive(InputObject)]
pub struct VoidPaymentInput {
    pub pg_id: String,
    /// With a key, a retry of a void that went through answers the voided payment instead of
    /// `CONFLICT`.
    pub idempotency_key: Option<String>,
}

/// Refunds a settled sale or capture, in part or in full.
#[derive(InputObject)]
pub struct RefundPaymentInput {
    pub pg_id: String,
    /// What is left to refund when absent.
    pub amount: Option<Decimal>,
    /// With a key, a retry answers the refund made with it instead of refunding again.
    pub idempotency_key: Option<String>,
}

/// Checks a stored card with its issuer (a zero-amount authorization).
#[derive(InputObject)]
pub struct VerifyCardInput {
    pub customer_id: String,
    /// The customer's primary payment method when absent.
    pub card_id: Option<String>,
}

/// A payment after a mutation.
pub struct PaymentChange {
    payment: Payment,
}

per_mutation! {
    /// The payment as it is after the mutation (declined ones too, beside a `CARD_DECLINED`
    /// error).
    #[derive(SimpleObject)]
    from PaymentChange
    { payment: Payment }
    as ChargeCustomerPayload, CapturePaymentPayload, VoidPaymentPayload, VerifyCardPayload
}

/// A refund and the payment it refunds, after the refund.
#[derive(SimpleObject)]
pub struct RefundPaymentPayload {
    pub refund: Payment,
    pub payment: Payment,
}

#[Object]
impl PaymentMutations {
    /// Charges a customer's stored card: a sale, or an auth with `capture: false`.
    async fn charge_customer(
        &self,
        ctx: &Context<'_>,
        input: ChargeCustomerInput,
    ) -> Result<ChargeCustomerPayload> {
        secret_key_only(ctx)?;
        if input.card_id.is_some() && input.card_token.is_some() {
            return Err(gql(GatewayError::BadUserInput(
                "give cardId or cardToken, not both".into(),
            )));
        }
        let amount = amount(input.amount)?;
        let currency = currency(&input.currency)?;
        let key = Key::parse(input.idempotency_key.as_deref()).map_err(gql)?;
        let merch_ref_num =
            idempotency::merch_ref_num(key, input.merchant_reference.as_deref()).map_err(gql)?;
        let kind = if input.capture { "sale" } else { "auth" };
        let upstream = upstream(ctx)?;
        if let Some(key) = key {
            let earlier = idempotency::earlier(upstream, key, |t| {
                t.tran_type
                    .as_deref()
                    .is_none_or(|t| t == "sale" || t == "auth")
            })
            .await
            .map_err(gql)?;
            if let Some(row) = earlier {
                let same = row.customer_id.as_deref() == Some(input.customer_id.as_str())
                    && input.card_id.as_deref().is_none_or(|card| {
                        row.card_id.as_deref().is_none_or(|charged| charged == card)
                    })
                    && row.amt_tran == Some(amount)
                    && row.tran_type.as_deref().is_none_or(|t| t == kind)
                    && row.merch_ref_num == merch_ref_num
                    && nonempty(row.purchase_id.as_deref())
                        == nonempty(input.purchase_id.as_deref())
                    && row
                        .tran_currency
                        .as_deref()
                        .is_none_or(|c| c.parse::<i32>().ok() == Some(currency));
                if !same {
                    return Err(gql(idempotency::reused(row.pg_id.as_deref())));
                }
                return Ok(PaymentChange {
                    payment: replay(ctx, row).await?,
                }
                .into());
            }
        }
        let request = PgRequest {
            amt_tran: Some(amount),
            tran_currency: Some(currency),
            customer_id: Some(input.customer_id.clone()),
            card_id: input.card_id.clone().or(input.card_token.clone()),
            tokenize: input.card_token.is_some().then_some(true),
            purchase_id: input.purchase_id.clone(),
            merch_ref_num: merch_ref_num.clone(),
            duplicate_seconds: key.map(|_| DUPLICATE_WINDOW),
            ..PgRequest::default()
        };
        let call = if input.capture {
            PgCall::Sale
        } else {
            PgCall::Auth
        };
        let answer = upstream
            .pg(call, &request)
            .await
            .map_err(|e| lost(e, charge_hint(key.is_some())))?;
        let made = Transaction {
            tran_type: Some(kind.to_owned()),
            amt_tran: Some(amount),
            tran_currency: Some(currency.to_string()),
            customer_id: Some(input.customer_id),
            card_id: input.card_id,
            merch_ref_num,
            purchase_id: input.purchase_id,
            ..Transaction::default()
        };
        let payment = answered(ctx, answer, made).await?;
        Ok(PaymentChange { payment }.into())
    }

    /// Captures an auth, for its authorized amount unless `amount` says less.
    async fn capture_payment(
        &self,
        ctx: &Context<'_>,
        input: CapturePaymentInput,
    ) -> Result<CapturePaymentPayload> {
        secret_key_only(ctx)?;
        let requested = input.amount.map(amount).transpose()?;
        let key = Key::parse(input.idempotency_key.as_deref()).map_err(gql)?;
        let pg_id = pg_id(&input.pg_id)?;
        let current = if requested.is_none() || key.is_some() {
            Some(existing(ctx, pg_id).await?)
        } else {
            None
        };
        let amount = requested.or_else(|| current.as_ref().map(Payment::amount_value));
        if let (Some(_), Some(current)) = (key, &current) {
            let captured = matches!(
                current.status_code(),
                PaymentStatus::Captured | PaymentStatus::Settled
            );
            if captured && current.captured() == amount {
                return Ok(PaymentChange {
                    payment: current.clone(),
                }
                .into());
            }
        }
        let request = PgRequest {
            amt_tran: amount,
            ..PgRequest::default()
        };
        let answer = upstream(ctx)?
            .pg(PgCall::Capture(pg_id), &request)
            .await
            .map_err(|e| lost(e, CHECK_HINT))?;
        let base = current.map(|p| (**p.raw()).clone()).unwrap_or_default();
        let payment = answered(ctx, answer, base).await?;
        Ok(PaymentChange { payment }.into())
    }

    /// Voids an auth, or a sale, capture or refund whose batch has not closed.
    async fn void_payment(
        &self,
        ctx: &Context<'_>,
        input: VoidPaymentInput,
    ) -> Result<VoidPaymentPayload> {
        secret_key_only(ctx)?;
        let key = Key::parse(input.idempotency_key.as_deref()).map_err(gql)?;
        let pg_id = pg_id(&input.pg_id)?;
        let mut base = Transaction::default();
        if key.is_some() {
            let current = existing(ctx, pg_id).await?;
            if current.status_code() == PaymentStatus::Voided {
                return Ok(PaymentChange { payment: current }.into());
            }
            base = (**current.raw()).clone();
        }
        let answer = upstream(ctx)?
            .pg(PgCall::Void(pg_id), &PgRequest::default())
            .await
            .map_err(|e| lost(e, CHECK_HINT))?;
        let payment = answered(ctx, answer, base).await?;
        Ok(PaymentChange { payment }.into())
    }

    /// Refunds a settled sale or capture: `amount`, or all that is left to refund.
    async fn refund_payment(
        &self,
        ctx: &Context<'_>,
        input: RefundPaymentInput,
    ) -> Result<RefundPaymentPayload> {
        secret_key_only(ctx)?;
        let requested = input.amount.map(amount).transpose()?;
        let key = Key::parse(input.idempotency_key.as_deref()).map_err(gql)?;
        let pg_id = pg_id(&input.pg_id)?;
        let upstream = upstream(ctx)?;
        if let Some(key) = key {
            let earlier = idempotency::earlier(upstream, key, |t| {
                t.tran_type.as_deref().is_none_or(|t| t == "refund")
            })
            .await
            .map_err(gql)?;
            if let Some(row) = earlier {
                let same = row.pg_id_orig.as_deref().is_none_or(|o| o == pg_id)
                    && requested.is_none_or(|a| row.amt_tran == Some(a));
                if !same {
                    return Err(gql(idempotency::reused(row.pg_id.as_deref())));
                }
                let original = existing(ctx, pg_id).await?;
                return Ok(RefundPaymentPayload {
                    refund: Payment::new(row),
                    payment: original,
                });
            }
        }
        let amount = match requested {
            Some(amount) => amount,
            None => {
                let original = existing(ctx, pg_id).await?;
                let left = original.captured().unwrap_or_default() - original.refunded();
                if left <= Decimal::ZERO {
                    return Err(gql(GatewayError::Conflict {
                        message: format!("payment {pg_id} has nothing left to refund"),
                        upstream_code: None,
                    }));
                }
                left
            }
        };
        let request = PgRequest {
            amt_tran: Some(amount),
            merch_ref_num: idempotency::merch_ref_num(key, None).map_err(gql)?,
            ..PgRequest::default()
        };
        let answer = upstream
            .pg(PgCall::Refund(pg_id), &request)
            .await
            .map_err(|e| lost(e, CHECK_HINT))?;
        let refund_id = answer.pg_id.clone().unwrap_or_default();
        let rows = fresh(ctx, &[&refund_id, pg_id]).await?;
        let row = |id: &str| {
            rows.iter()
                .find(|t| t.pg_id.as_deref() == Some(id))
                .cloned()
        };
        let made = Transaction {
            tran_type: Some("refund".into()),
            amt_tran: Some(amount),
            pg_id_orig: Some(pg_id.to_owned()),
            ..Transaction::default()
        };
        let refund = row(&refund_id).unwrap_or_else(|| Arc::new(from_answer(&answer, made)));
        let original = match row(pg_id) {
            Some(original) => Payment::new(original),
            None => existing(ctx, pg_id).await?,
        };
        let refund = Payment::answered(refund, Arc::new(answer));
        Ok(RefundPaymentPayload {
            refund,
            payment: original,
        })
    }

    /// Checks a customer's stored card with its issuer; a declined card answers the verify
    /// payment beside a `CARD_DECLINED` error.
    async fn verify_card(
        &self,
        ctx: &Context<'_>,
        input: VerifyCardInput,
    ) -> Result<VerifyCardPayload> {
        secret_key_only(ctx)?;
        let request = PgRequest {
            customer_id: Some(input.customer_id.clone()),
            card_id: input.card_id.clone(),
            ..PgRequest::default()
        };
        let answer = upstream(ctx)?
            .pg(PgCall::Verify, &request)
            .await
            .map_err(|e| lost(e, "Verify the card again: a verification moves no money."))?;
        let made = Transaction {
            tran_type: Some("verify".into()),
            amt_tran: Some(Decimal::ZERO),
            customer_id: Some(input.customer_id),
            card_id: input.card_id,
            ..Transaction::default()
        };
        let payment = answered(ctx, answer, made).await?;
        Ok(PaymentChange { payment }.into())
    }
}

/// Moving money takes a secret key: a customer session is refused before any upstream call.
fn secret_key_only(ctx: &Context<'_>) -> Result<()> {
    match Caller::of(ctx)? {
        Caller::Merchant => Ok(()),
        Caller::Customer(_) => Err(gql(GatewayError::Forbidden(
            "a customer session cannot charge, capture, void, refund or verify: payments need \
             a secret key"
                .into(),
        ))),
    }
}

/// More than 0, at most two decimals.
fn amount(amount: Decimal) -> Result<Decimal> {
    if amount <= Decimal::ZERO || amount.normalize().scale() > 2 {
        return Err(gql(GatewayError::BadUserInput(
            "amount must be more than 0, with at most two decimals".into(),
        )));
    }
    Ok(amount)
}

/// An ISO 4217 numeric code, or `USD`.
fn currency(code: &str) -> Result<i32> {
    if code.eq_ignore_ascii_case("USD") {
        return Ok(USD);
    }
    match code.parse::<i32>() {
        Ok(number) if code.len() == 3 && number > 0 => Ok(number),
        _ => Err(gql(GatewayError::BadUserInput(
            "currency must be an ISO 4217 numeric code such as 840, or USD".into(),
        ))),
    }
}

/// A `pg_id` as the gateway makes them (letters and digits); any other is no payment.
fn pg_id(pg_id: &str) -> Result<&str> {
    if pg_id.is_empty() || pg_id.len() > 64 || !pg_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(gql(GatewayError::NotFound(
            "there is no payment with this pgId".into(),
        )));
    }
    Ok(pg_id)
}

fn nonempty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The payment, as the reporting API shows it now; `NOT_FOUND` when there is none.
async fn existing(ctx: &Context<'_>, pg_id: &str) -> Result<Payment> {
    loaders(ctx)?
        .payment(pg_id)
        .await
        .map_err(gql)?
        .map(Payment::new)
        .ok_or_else(|| gql(GatewayError::NotFound(format!("no payment {pg_id}"))))
}

/// The payments with these `pg_id`s as they are after a write (one browse), remembered for
/// the rest of the request.
async fn fresh(ctx: &Context<'_>, pg_ids: &[&str]) -> Result<Vec<Arc<Transaction>>> {
    let ids: Vec<&str> = pg_ids.iter().copied().filter(|id| !id.is_empty()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let params = BrowseParams {
        count: ids.len() as i64,
        page: 0,
        order_on: None,
        order_by: None,
        filters: vec![Filter::any_of("pg_id", &ids).map_err(gql)?],
    };
    let page = upstream(ctx)?.browse_payments(&params).await.map_err(gql)?;
    let rows: Vec<Arc<Transaction>> = page.data.into_iter().map(Arc::new).collect();
    let loaders = loaders(ctx)?;
    loaders.remember_payments(rows.iter().cloned()).await;
    loaders.forget_payment_lists();
    Ok(rows)
}

/// The payment a `/pg` answer is about, as reported after it (or, when the report does not
/// have it yet, made from the answer and `made`); a decline or a failure is reported beside it.
async fn answered(ctx: &Context<'_>, answer: PgResponse, made: Transaction) -> Result<Payment> {
    let pg_id = answer.pg_id.clone().unwrap_or_default();
    let row = fresh(ctx, &[&pg_id]).await?.into_iter().next();
    let row = row.unwrap_or_else(|| Arc::new(from_answer(&answer, made)));
    let payment = Payment::answered(row, Arc::new(answer.clone()));
    if !answer.approved() {
        report_refusal(ctx, &answer.rcode, &answer.rmsg);
    }
    Ok(payment)
}

/// A payment made before with the same idempotency key, answered again as it was: a declined
/// one with its `CARD_DECLINED` error.
async fn replay(ctx: &Context<'_>, row: Arc<Transaction>) -> Result<Payment> {
    loaders(ctx)?.remember_payments([row.clone()]).await;
    let payment = Payment::new(row.clone());
    if payment.status_code() == PaymentStatus::Declined {
        let rcode = row.rcode.clone().unwrap_or_default();
        report_refusal(ctx, &rcode, row.rmsg.as_deref().unwrap_or("declined"));
    }
    Ok(payment)
}

/// Adds the error of a refused payment beside the payload that holds it.
fn report_refusal(ctx: &Context<'_>, rcode: &str, rmsg: &str) {
    let error = if rcode == PROCESSOR_TIMEOUT {
        GatewayError::PaymentFailed {
            response_code: rcode.to_owned(),
            message: rmsg.to_owned(),
        }
    } else {
        GatewayError::CardDeclined {
            response_code: rcode.to_owned(),
            message: rmsg.to_owned(),
        }
    };
    ctx.add_error(ctx.set_error_path(gql(error).into_server_error(ctx.item.pos)));
}

/// A transaction as the `/pg` answer and the request describe it, for an upstream whose report
/// does not show it yet.
fn from_answer(answer: &PgResponse, made: Transaction) -> Transaction {
    let kind = PaymentKind::from_wire(made.tran_type.as_deref());
    let status = match (answer.approved(), answer.rcode.as_str(), kind) {
        (false, PROCESSOR_TIMEOUT, _) => "F",
        (false, _, _) => "D",
        (true, _, Some(PaymentKind::Auth | PaymentKind::Verify)) => "A",
        (true, _, _) => "C",
    };
    Transaction {
        pg_id: answer.pg_id.clone().or(made.pg_id.clone()),
        tran_status: Some(status.to_owned()),
        rcode: Some(answer.rcode.clone()),
        rmsg: Some(answer.rmsg.clone()),
        auth_code: answer.auth_code.clone().or(made.auth_code.clone()),
        card_number: answer.card_number.clone().or(made.card_number.clone()),
        card_id: answer.card_id.clone().or(made.card_id.clone()),
        amt_tran: answer.amt_tran.or(made.amt_tran),
        ..made
    }
}

/// A lost answer is `OUTCOME_UNKNOWN`, with how to find out what happened; other failures map
/// as Payment Gateway errors.
fn lost(error: UpstreamError, hint: &str) -> async_graphql::Error {
    match error {
        UpstreamError::OutcomeUnknown(reason) => gql(GatewayError::OutcomeUnknown(format!(
            "the payment gateway's answer was lost ({reason}): the request may have taken \
             effect. {hint}"
        ))),
        other => gql(GatewayError::from_pg(other)),
    }
}

fn charge_hint(with_key: bool) -> &'static str {
    if with_key {
        "Retry with the same idempotencyKey: it answers the payment if it was made and charges \
         once if it was not."
    } else {
        "Look for it in the customer's payments (Customer.payments) before charging again; an \
         idempotencyKey makes a retry safe."
    }
}

/// How to find out what became of a capture, void or refund (the `pgId` is not quoted back:
/// errors never quote what the caller sent).
const CHECK_HINT: &str = "Read payment(pgId:) for this pgId before trying again.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_currencies_are_checked() {
        assert!(amount(Decimal::new(1999, 2)).is_ok());
        assert!(amount(Decimal::new(10, 0)).is_ok());
        assert!(amount(Decimal::new(19990, 3)).is_ok(), "19.990 is 19.99");
        for bad in [Decimal::ZERO, Decimal::new(-1, 0), Decimal::new(1999, 3)] {
            assert!(amount(bad).is_err(), "{bad}");
        }
        assert_eq!(currency("840").unwrap(), 840);
        assert_eq!(currency("usd").unwrap(), 840);
        for bad in ["", "84", "EUR", "8400", "-84"] {
            assert!(currency(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_made_payment_reads_as_its_answer_says() {
        let answer = PgResponse {
            pg_id: Some("ab12".into()),
            rcode: "005".into(),
            rmsg: "Do not honor".into(),
            ..PgResponse::default()
        };
        let made = Transaction {
            tran_type: Some("sale".into()),
            ..Transaction::default()
        };
        let row = from_answer(&answer, made);
        assert_eq!(row.tran_status.as_deref(), Some("D"));
        assert_eq!(row.pg_id.as_deref(), Some("ab12"));
    }
}
