//! SQL both backends write alike: a browse's filter conditions and the `SET` lists of partial
//! updates. Column names come from static tables, never from the request; values are always
//! bound.

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::billing::PlanRow;
use super::billing_rows::SubscriptionRow;
use crate::qualpay::{BillingFields, ShippingFields};
use crate::vault::filter::{Condition, Operator, Value};

/// How a backend spells what differs between SQLite and PostgreSQL here.
pub(crate) trait Dialect: Database {
    /// The case-insensitive `LIKE`, as the grammar's `LIKE` behaves on SQLite (ASCII letters
    /// match either case there).
    const LIKE: &'static str;
}

impl Dialect for sqlx::Sqlite {
    const LIKE: &'static str = "LIKE";
}

impl Dialect for sqlx::Postgres {
    const LIKE: &'static str = "ILIKE";
}

/// Appends ` AND <condition>` for each filter condition.
pub(crate) fn push_conditions<'a, DB>(query: &mut QueryBuilder<'a, DB>, conditions: &[Condition])
where
    DB: Dialect,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    for condition in conditions {
        let column = condition.field.column;
        query.push(" AND ");
        match &condition.op {
            Operator::Eq(v) => push_compare(query, column, "=", v),
            Operator::Ne(v) => {
                query.push(format_args!("({column} IS NULL OR {column} <> "));
                push_value(query, v);
                query.push(")");
            }
            Operator::Gt(v) => push_compare(query, column, ">", v),
            Operator::Ge(v) => push_compare(query, column, ">=", v),
            Operator::Lt(v) => push_compare(query, column, "<", v),
            Operator::Le(v) => push_compare(query, column, "<=", v),
            Operator::Like(pattern) => {
                // `%` is the only wildcard the grammar offers: `_` and `\` match themselves.
                let escaped = pattern.replace('\\', "\\\\").replace('_', "\\_");
                query.push(format_args!("{column} {} ", DB::LIKE));
                query.push_bind(escaped);
                query.push(" ESCAPE '\\'");
            }
            Operator::In(values) => {
                query.push(format_args!("{column} IN "));
                push_value_list(query, values);
            }
            Operator::NotIn(values) => {
                query.push(format_args!("({column} IS NULL OR {column} NOT IN "));
                push_value_list(query, values);
                query.push(")");
            }
            Operator::Between(low, high) => {
                query.push(format_args!("{column} BETWEEN "));
                push_value(query, low);
                query.push(" AND ");
                push_value(query, high);
            }
            Operator::IsNull => {
                query.push(format_args!("{column} IS NULL"));
            }
            Operator::IsNotNull => {
                query.push(format_args!("{column} IS NOT NULL"));
            }
        }
    }
}

fn push_compare<'a, DB>(query: &mut QueryBuilder<'a, DB>, column: &str, op: &str, value: &Value)
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    query.push(format_args!("{column} {op} "));
    push_value(query, value);
}

fn push_value_list<'a, DB>(query: &mut QueryBuilder<'a, DB>, values: &[Value])
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    query.push("(");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            query.push(", ");
        }
        push_value(query, value);
    }
    query.push(")");
}

fn push_value<'a, DB>(query: &mut QueryBuilder<'a, DB>, value: &Value)
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    match value {
        Value::Text(text) => query.push_bind(text.clone()),
        Value::Integer(number) => query.push_bind(*number),
        // Amounts are stored as integer cents.
        Value::Decimal(number) => query.push_bind(crate::vault::billing::money::cents(*number)),
        Value::Date(date) => query.push_bind(date.format("%Y-%m-%d").to_string()),
    };
}

/// Appends `, column = value` for each field that is set; an empty string stores NULL.
pub(crate) fn push_assignments<'a, DB>(
    query: &mut QueryBuilder<'a, DB>,
    fields: &[(&'static str, &Option<String>)],
) where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
{
    for (column, value) in fields {
        if let Some(value) = value {
            query.push(format_args!(", {column} = NULLIF("));
            query.push_bind(value.clone());
            query.push(", '')");
        }
    }
}

/// The billing fields of a card that are set, as [`push_assignments`] writes them (the email
/// list as a JSON array).
pub(crate) fn push_billing_assignments<'a, DB>(
    query: &mut QueryBuilder<'a, DB>,
    billing: &BillingFields,
) where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
{
    let emails = billing
        .billing_email
        .as_ref()
        .map(|emails| serde_json::to_string(emails).expect("a list of strings serializes"));
    push_assignments(
        query,
        &[
            ("billing_first_name", &billing.billing_first_name),
            ("billing_last_name", &billing.billing_last_name),
            ("billing_firm_name", &billing.billing_firm_name),
            ("billing_email", &emails),
            ("billing_addr1", &billing.billing_addr1),
            ("billing_addr2", &billing.billing_addr2),
            ("billing_city", &billing.billing_city),
            ("billing_state", &billing.billing_state),
            ("billing_zip", &billing.billing_zip),
            ("billing_zip4", &billing.billing_zip4),
            ("billing_country", &billing.billing_country),
            ("billing_country_code", &billing.billing_country_code),
        ],
    );
}

/// A shipping address's columns and the fields that set them.
pub(crate) fn shipping_assignments(
    fields: &ShippingFields,
) -> [(&'static str, &Option<String>); 11] {
    [
        ("shipping_first_name", &fields.shipping_first_name),
        ("shipping_last_name", &fields.shipping_last_name),
        ("shipping_firm_name", &fields.shipping_firm_name),
        ("shipping_addr1", &fields.shipping_addr1),
        ("shipping_addr2", &fields.shipping_addr2),
        ("shipping_city", &fields.shipping_city),
        ("shipping_state", &fields.shipping_state),
        ("shipping_zip", &fields.shipping_zip),
        ("shipping_zip4", &fields.shipping_zip4),
        ("shipping_country", &fields.shipping_country),
        ("shipping_country_code", &fields.shipping_country_code),
    ]
}

/// The columns written for a plan, in the order [`bind_plan`] binds them.
pub(crate) const PLAN_COLUMNS: &str = "merchant_id, plan_code, plan_name, plan_desc, \
    plan_frequency, interval, plan_duration, trial_duration, amt_trial, amt_setup, amt_tran, \
    tran_currency, profile_id, bill_specific_day, day_of_week, day_of_month, month, \
    prorate_first_pmt, amt_prorate, status, db_timestamp, mod_timestamp";

/// A plan's columns ([`PLAN_COLUMNS`]'s order) as binds, for an `INSERT` or an `UPDATE`.
pub(crate) fn bind_plan<'a, DB>(query: &mut QueryBuilder<'a, DB>, plan: &'a PlanRow)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    i32: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    Option<i32>: Encode<'a, DB> + Type<DB>,
    &'a String: Encode<'a, DB> + Type<DB>,
    &'a Option<String>: Encode<'a, DB> + Type<DB>,
{
    let mut values = query.separated(", ");
    values.push_bind(plan.merchant_id);
    values.push_bind(&plan.plan_code);
    values.push_bind(&plan.plan_name);
    values.push_bind(&plan.plan_desc);
    values.push_bind(plan.plan_frequency);
    values.push_bind(plan.interval);
    values.push_bind(plan.plan_duration);
    values.push_bind(plan.trial_duration);
    values.push_bind(plan.amt_trial);
    values.push_bind(plan.amt_setup);
    values.push_bind(plan.amt_tran);
    values.push_bind(&plan.tran_currency);
    values.push_bind(&plan.profile_id);
    values.push_bind(plan.bill_specific_day);
    values.push_bind(plan.day_of_week);
    values.push_bind(plan.day_of_month);
    values.push_bind(plan.month);
    values.push_bind(plan.prorate_first_pmt);
    values.push_bind(plan.amt_prorate);
    values.push_bind(&plan.status);
    values.push_bind(&plan.db_timestamp);
    values.push_bind(&plan.mod_timestamp);
}

/// A subscription's columns ([`SUBSCRIPTION_COLUMNS`]'s order) as binds.
pub(crate) fn bind_subscription<'a, DB>(query: &mut QueryBuilder<'a, DB>, s: &'a SubscriptionRow)
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    i32: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    Option<i32>: Encode<'a, DB> + Type<DB>,
    &'a String: Encode<'a, DB> + Type<DB>,
    &'a Option<String>: Encode<'a, DB> + Type<DB>,
{
    let mut values = query.separated(", ");
    values.push_bind(s.merchant_id);
    values.push_bind(&s.customer_id);
    values.push_bind(&s.card_id);
    values.push_bind(s.plan_id);
    values.push_bind(&s.plan_code);
    values.push_bind(&s.plan_name);
    values.push_bind(&s.plan_desc);
    values.push_bind(s.plan_frequency);
    values.push_bind(s.interval);
    values.push_bind(s.plan_duration);
    values.push_bind(s.trial_duration);
    values.push_bind(s.bill_specific_day);
    values.push_bind(s.day_of_week);
    values.push_bind(s.day_of_month);
    values.push_bind(s.month);
    values.push_bind(s.anchor_day);
    values.push_bind(s.amt_setup);
    values.push_bind(s.trial_amt);
    values.push_bind(s.recur_amt);
    values.push_bind(s.prorate_amt);
    values.push_bind(&s.tran_currency);
    values.push_bind(&s.profile_id);
    values.push_bind(&s.purchase_id);
    values.push_bind(s.cancel_on_setup_fail);
    values.push_bind(&s.status);
    values.push_bind(&s.date_start);
    values.push_bind(&s.first_billing);
    values.push_bind(s.next_event);
    values.push_bind(&s.date_next);
    values.push_bind(&s.next_attempt_on);
    values.push_bind(s.failed_attempts);
    values.push_bind(s.retry_base);
    values.push_bind(&s.created_at);
    values.push_bind(&s.updated_at);
}
