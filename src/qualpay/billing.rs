//! Recurring Billing bodies: `RecurringPlan`, `Subscription`, `Transaction` and the requests
//! that add and change them. Amounts are exact decimals, written as JSON numbers.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::CustomerVault;

/// `RecurringPlan`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecurringPlan {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_desc: Option<String>,
    /// 0 weekly, 1 bi-weekly, 3 monthly, 4 quarterly, 5 bi-annually, 6 annually, 7 daily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_frequency: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    /// Billing cycles; -1 bills until cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_duration: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_duration: Option<i32>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_trial: Option<Decimal>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_setup: Option<Decimal>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_specific_day: Option<bool>,
    /// 1 = Sunday ... 7 = Saturday.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_week: Option<i32>,
    /// 1-31, or 32 for the last day of the month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_month: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prorate_first_pmt: Option<bool>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_prorate: Option<Decimal>,
    /// E active, A archived, D deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mod_timestamp: Option<String>,
}

/// `AddRecurringPlanRequest` (`plan_code` is required there) and `UpdateRecurringPlanRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlanRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_desc: Option<String>,
    /// 0 weekly, 1 bi-weekly, 3 monthly, 4 quarterly, 5 bi-annually, 6 annually, 7 daily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_frequency: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    /// Billing cycles; -1 bills until cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_duration: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_duration: Option<i32>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_trial: Option<Decimal>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_setup: Option<Decimal>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_specific_day: Option<bool>,
    /// 1 = Sunday ... 7 = Saturday.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_week: Option<i32>,
    /// 1-31, or 32 for the last day of the month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_month: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prorate_first_pmt: Option<bool>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_prorate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dba_suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `ArchiveRecurringPlanRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArchivePlanRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `Subscription`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// A active, P paused, C cancelled, S suspended, D complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_on_plan: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_frequency: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_duration: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_start: Option<String>,
    /// Empty once the subscription is cancelled or complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_end: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_setup: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prorate_date_start: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub prorate_amt: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_date_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_date_end: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub trial_amt: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recur_date_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recur_date_end: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub recur_amt: Option<Decimal>,
    /// The last payment attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<GatewayResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerVault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
}

/// `GatewayResponse`: the answer to one payment attempt.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GatewayResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rmsg: Option<String>,
    /// `Approved` or `Declined`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// Masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_time: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<bool>,
}

/// `AddSubscriptionRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddSubscriptionRequest {
    /// YYYY-MM-DD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Without it the customer's primary card is charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// A new customer to create with the subscription (not supported by this vault).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<serde_json::Value>,
    /// Makes the subscription follow this plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_frequency: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_duration: Option<i32>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_setup: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amt_setup_ignore: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_on_setup_fail: Option<bool>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_existing_customer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `UpdateSubscriptionRequest`. `plan_code` and `amt_tran` are this vault's extension
/// (Qualpay's update takes only `date_start`, `card_id` and `profile_id`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateSubscriptionRequest {
    /// The next billing date, YYYY-MM-DD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_code: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `PauseSubscriptionRequest`, `ResumeSubscriptionRequest` and `CancelSubscriptionRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SubscriptionActionRequest {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `Transaction`: one gateway transaction as the reporting API shows it (a payment attempt of a
/// subscription is one too).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transaction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
    /// YYYY-MM-DD HH:MM:SS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_date: Option<String>,
    /// A approved, D declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
    /// Masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_last_name: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merch_ref_num: Option<String>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_refunded: Option<Decimal>,
    /// YYYY-MM-DD: the batch that settled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_date: Option<String>,
    /// This vault's addition: the card the transaction charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// This vault's addition (Qualpay's report has no type): `sale`, `auth`, `refund`,
    /// `credit`, `force`, `verify` or `recharge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_type: Option<String>,
    /// This vault's addition: the transaction a refund or recharge refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_id_orig: Option<String>,
    /// This vault's addition: the amount captured (an auth captured for less, a sale in full).
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_captured: Option<Decimal>,
    /// This vault's addition: the response text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rmsg: Option<String>,
}
