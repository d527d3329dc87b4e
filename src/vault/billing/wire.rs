//! The vault's billing records in Qualpay's wire format: `RecurringPlan`, `Subscription` and
//! `Transaction`.

use chrono::NaiveDate;

use super::money::dollars;
use super::subscription::{Length, Subscription};
use crate::qualpay::{self, GatewayResponse, RecurringPlan, Transaction};
use crate::vault::store::billing::{PlanRow, TransactionRow};

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A plan as `RecurringPlan`.
pub fn plan(plan: PlanRow) -> RecurringPlan {
    RecurringPlan {
        merchant_id: Some(plan.merchant_id),
        plan_id: Some(plan.plan_id),
        plan_code: Some(plan.plan_code),
        plan_name: Some(plan.plan_name),
        plan_desc: Some(plan.plan_desc),
        plan_frequency: Some(plan.plan_frequency),
        interval: Some(plan.interval),
        plan_duration: Some(plan.plan_duration),
        trial_duration: Some(plan.trial_duration),
        amt_trial: plan.amt_trial.map(dollars),
        amt_setup: plan.amt_setup.map(dollars),
        amt_tran: Some(dollars(plan.amt_tran)),
        tran_currency: Some(plan.tran_currency),
        profile_id: plan.profile_id,
        bill_specific_day: Some(plan.bill_specific_day),
        day_of_week: plan.day_of_week,
        day_of_month: plan.day_of_month,
        month: plan.month,
        prorate_first_pmt: Some(plan.prorate_first_pmt),
        amt_prorate: plan.amt_prorate.map(dollars),
        status: Some(plan.status),
        db_timestamp: Some(plan.db_timestamp),
        mod_timestamp: Some(plan.mod_timestamp),
    }
}

/// A subscription as `Subscription`, with its last attempt as `response`. An ended subscription
/// has no `date_next`.
pub fn subscription(sub: Subscription, last: Option<TransactionRow>) -> qualpay::Subscription {
    let terms = &sub.terms;
    let nth = |n: i64| {
        u32::try_from(n).ok().map(|n| {
            day(terms
                .schedule
                .nth_billing_date(sub.first_billing, sub.anchor_day, n))
        })
    };
    let trial = i64::from(terms.trial_cycles);
    let recur_end = match terms.length {
        Length::UntilCancelled => None,
        Length::Cycles(cycles) => nth(trial + i64::from(cycles) - 1),
    };
    qualpay::Subscription {
        subscription_id: Some(sub.subscription_id),
        merchant_id: Some(sub.merchant_id),
        customer_id: Some(sub.customer_id.clone()),
        card_id: Some(sub.card_id.clone()),
        status: Some(sub.status().code().to_owned()),
        profile_id: sub.profile_id.clone(),
        subscription_on_plan: Some(sub.plan_id.is_some()),
        plan_id: sub.plan_id,
        plan_name: sub.plan_name.clone(),
        plan_code: sub.plan_code.clone(),
        plan_desc: sub.plan_desc.clone(),
        plan_frequency: Some(terms.schedule.frequency.code()),
        plan_duration: Some(terms.length.code()),
        interval: i32::try_from(terms.schedule.interval).ok(),
        date_start: Some(day(sub.date_start)),
        date_next: sub.date_next().map(day),
        date_end: recur_end.clone(),
        amt_setup: terms.amt_setup.map(dollars),
        prorate_date_start: terms
            .prorate_amt
            .filter(|a| *a > 0)
            .map(|_| day(sub.date_start)),
        prorate_amt: terms.prorate_amt.map(dollars),
        trial_date_start: (trial > 0).then(|| day(sub.first_billing)),
        trial_date_end: (trial > 0).then(|| nth(trial - 1)).flatten(),
        trial_amt: terms.trial_amt.map(dollars),
        recur_date_start: nth(trial),
        recur_date_end: recur_end,
        recur_amt: Some(dollars(terms.recur_amt)),
        response: last.map(gateway_response),
        tran_currency: Some(terms.tran_currency.clone()),
        purchase_id: sub.purchase_id.clone(),
        ..qualpay::Subscription::default()
    }
}

/// A payment attempt as `GET /subscription/transactions` shows it.
pub fn transaction(t: TransactionRow) -> Transaction {
    Transaction {
        merchant_id: Some(t.merchant_id),
        tran_time: Some(t.tran_time),
        tran_date: Some(t.tran_date),
        tran_status: Some(t.tran_status),
        auth_code: t.auth_code,
        rcode: t.rcode,
        card_number: Some(t.card_number),
        card_type: t.card_type,
        purchase_id: t.purchase_id,
        pg_id: Some(t.pg_id),
        cardholder_first_name: t.cardholder_first_name,
        cardholder_last_name: t.cardholder_last_name,
        amt_tran: Some(dollars(t.amt_tran)),
        tran_currency: Some(t.tran_currency),
        customer_id: Some(t.customer_id),
        subscription_id: Some(t.subscription_id.to_string()),
        card_id: Some(t.card_id),
        tran_type: Some("sale".to_owned()),
        rmsg: t.rmsg,
        ..Transaction::default()
    }
}

fn gateway_response(t: TransactionRow) -> GatewayResponse {
    GatewayResponse {
        pg_id: Some(t.pg_id),
        status: Some(
            if t.tran_status == "A" {
                "Approved"
            } else {
                "Declined"
            }
            .into(),
        ),
        rcode: t.rcode,
        rmsg: t.rmsg,
        auth_code: t.auth_code,
        card_id: Some(t.card_id),
        card_number: Some(t.card_number),
        tran_time: Some(t.tran_time),
        amt_tran: Some(dollars(t.amt_tran)),
        merchant_id: Some(t.merchant_id),
        customer_id: Some(t.customer_id),
        tran_currency: Some(t.tran_currency),
        recurring: Some(true),
    }
}
