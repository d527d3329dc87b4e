//! The subscription row and its conversion to and from the typed [`Subscription`]. A row that
//! does not convert (an unknown status, an active subscription without a date, a malformed
//! date) is an error, never a default value.

use chrono::{DateTime, NaiveDate, Utc};

use super::{StoreError, timestamp};
use crate::vault::billing::plans::specific_schedule;
use crate::vault::billing::schedule::Frequency;
use crate::vault::billing::subscription::{Due, Event, Length, State, Status, Subscription, Terms};

/// A subscription as stored. Amounts are cents; dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct SubscriptionRow {
    pub subscription_id: i64,
    pub merchant_id: i64,
    pub customer_id: String,
    pub card_id: String,
    pub plan_id: Option<i64>,
    pub plan_code: Option<String>,
    pub plan_name: Option<String>,
    pub plan_desc: Option<String>,
    pub plan_frequency: i32,
    pub interval: i32,
    pub plan_duration: i32,
    pub trial_duration: i32,
    #[serde(deserialize_with = "flag")]
    pub bill_specific_day: bool,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub month: Option<i32>,
    pub anchor_day: i32,
    pub amt_setup: Option<i64>,
    pub trial_amt: Option<i64>,
    pub recur_amt: i64,
    pub prorate_amt: Option<i64>,
    pub tran_currency: String,
    pub profile_id: Option<String>,
    pub purchase_id: Option<String>,
    #[serde(deserialize_with = "flag")]
    pub cancel_on_setup_fail: bool,
    pub status: String,
    pub date_start: String,
    pub first_billing: String,
    pub next_event: i64,
    pub date_next: Option<String>,
    pub next_attempt_on: Option<String>,
    pub failed_attempts: i64,
    pub retry_base: i64,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

/// A boolean column as SQLite's JSON functions write it (0 or 1), or as JSON writes it.
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct Flag;
    impl serde::de::Visitor<'_> for Flag {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("0, 1 or a boolean")
        }
        fn visit_bool<E>(self, value: bool) -> Result<bool, E> {
            Ok(value)
        }
        fn visit_i64<E>(self, value: i64) -> Result<bool, E> {
            Ok(value != 0)
        }
        fn visit_u64<E>(self, value: u64) -> Result<bool, E> {
            Ok(value != 0)
        }
    }
    deserializer.deserialize_any(Flag)
}

/// Every column of a subscription row, in [`SubscriptionRow`]'s field order.
fn row_columns() -> impl Iterator<Item = &'static str> {
    std::iter::once("subscription_id")
        .chain(SUBSCRIPTION_COLUMNS.split(',').map(str::trim))
        .chain(std::iter::once("version"))
}

/// SQL for one subscription row as a JSON array in [`SubscriptionRow`]'s field order (`alias`
/// names the table), for batch reads: serde reads a struct from an array by position, and an
/// array is half the text of an object.
pub fn subscription_json(alias: &str) -> String {
    let fields = row_columns()
        .map(|column| format!("{alias}.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("json_array({fields})")
}

/// The columns written for a subscription, in the order the backends bind them.
pub const SUBSCRIPTION_COLUMNS: &str = "merchant_id, customer_id, card_id, plan_id, plan_code, \
    plan_name, plan_desc, plan_frequency, interval, plan_duration, trial_duration, \
    bill_specific_day, day_of_week, day_of_month, month, anchor_day, amt_setup, trial_amt, \
    recur_amt, prorate_amt, tran_currency, profile_id, purchase_id, cancel_on_setup_fail, status, \
    date_start, first_billing, next_event, date_next, next_attempt_on, failed_attempts, \
    retry_base, created_at, updated_at";

fn corrupt(id: i64, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("subscription {id}: {what}"))
}

fn date(id: i64, column: &str, text: &str) -> Result<NaiveDate, StoreError> {
    text.parse::<NaiveDate>()
        .map_err(|_| corrupt(id, format_args!("{column} is not a date")))
}

fn required_date(id: i64, column: &str, text: Option<&str>) -> Result<NaiveDate, StoreError> {
    date(
        id,
        column,
        text.ok_or_else(|| corrupt(id, format_args!("{column} is missing")))?,
    )
}

fn instant(id: i64, column: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| corrupt(id, format_args!("{column} is not a timestamp")))
}

fn count(id: i64, column: &str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(id, format_args!("{column} is out of range")))
}

/// `YYYY-MM-DD` (chrono's `Display` of a date).
fn day(date: NaiveDate) -> String {
    date.to_string()
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = StoreError;

    fn try_from(row: SubscriptionRow) -> Result<Self, StoreError> {
        let id = row.subscription_id;
        let frequency = Frequency::from_code(row.plan_frequency)
            .ok_or_else(|| corrupt(id, "plan_frequency is unknown"))?;
        let schedule = specific_schedule(
            frequency,
            row.interval,
            row.bill_specific_day,
            [row.day_of_week, row.day_of_month, row.month],
        )
        .map_err(|error| corrupt(id, error))?;
        let terms = Terms {
            schedule,
            length: Length::from_code(row.plan_duration)
                .ok_or_else(|| corrupt(id, "plan_duration is out of range"))?,
            trial_cycles: count(id, "trial_duration", row.trial_duration.into())?,
            amt_setup: row.amt_setup,
            trial_amt: row.trial_amt,
            recur_amt: row.recur_amt,
            prorate_amt: row.prorate_amt,
            tran_currency: row.tran_currency,
        };
        let status =
            Status::from_code(&row.status).ok_or_else(|| corrupt(id, "status is unknown"))?;
        let due = || -> Result<Due, StoreError> {
            Ok(Due {
                event: Event::from_code(row.next_event)
                    .ok_or_else(|| corrupt(id, "next_event is unknown"))?,
                date: required_date(id, "date_next", row.date_next.as_deref())?,
                attempts: count(id, "failed_attempts", row.failed_attempts)?,
                retries_from: count(id, "retry_base", row.retry_base)?,
            })
        };
        let state = match status {
            Status::Active => State::Active {
                due: due()?,
                attempt_on: required_date(id, "next_attempt_on", row.next_attempt_on.as_deref())?,
            },
            Status::Paused => State::Paused { due: due()? },
            Status::Suspended => State::Suspended { due: due()? },
            Status::Cancelled => State::Cancelled,
            Status::Complete => State::Complete,
        };
        Ok(Subscription {
            subscription_id: id,
            merchant_id: row.merchant_id,
            customer_id: row.customer_id,
            card_id: row.card_id,
            plan_id: row.plan_id,
            plan_code: row.plan_code,
            plan_name: row.plan_name,
            plan_desc: row.plan_desc,
            terms,
            profile_id: row.profile_id,
            purchase_id: row.purchase_id,
            cancel_on_setup_fail: row.cancel_on_setup_fail,
            date_start: date(id, "date_start", &row.date_start)?,
            first_billing: date(id, "first_billing", &row.first_billing)?,
            anchor_day: count(id, "anchor_day", row.anchor_day.into())?,
            state,
            created_at: instant(id, "created_at", &row.created_at)?,
            updated_at: instant(id, "updated_at", &row.updated_at)?,
            version: row.version,
        })
    }
}

/// The columns a transition changes, which the billing engine writes back in batches.
pub struct StateRow {
    pub subscription_id: i64,
    pub version: i64,
    pub status: &'static str,
    pub next_event: i64,
    pub date_next: Option<String>,
    pub next_attempt_on: Option<String>,
    pub failed_attempts: i64,
    pub retry_base: i64,
    pub updated_at: String,
}

impl From<&Subscription> for StateRow {
    fn from(sub: &Subscription) -> Self {
        let due = sub.due();
        StateRow {
            subscription_id: sub.subscription_id,
            version: sub.version,
            status: sub.status().code(),
            next_event: due.map_or(0, |d| d.event.code()),
            date_next: due.map(|d| day(d.date)),
            next_attempt_on: sub.attempt_on().map(day),
            failed_attempts: due.map_or(0, |d| i64::from(d.attempts)),
            retry_base: due.map_or(0, |d| i64::from(d.retries_from)),
            updated_at: timestamp(sub.updated_at),
        }
    }
}

impl From<&Subscription> for SubscriptionRow {
    fn from(sub: &Subscription) -> Self {
        let terms = &sub.terms;
        let specific = terms.schedule.specific_day;
        let to_i32 = |v: Option<u32>| v.and_then(|v| i32::try_from(v).ok());
        let state = StateRow::from(sub);
        SubscriptionRow {
            subscription_id: state.subscription_id,
            merchant_id: sub.merchant_id,
            customer_id: sub.customer_id.clone(),
            card_id: sub.card_id.clone(),
            plan_id: sub.plan_id,
            plan_code: sub.plan_code.clone(),
            plan_name: sub.plan_name.clone(),
            plan_desc: sub.plan_desc.clone(),
            plan_frequency: terms.schedule.frequency.code(),
            interval: i32::try_from(terms.schedule.interval).unwrap_or(1),
            plan_duration: terms.length.code(),
            trial_duration: i32::try_from(terms.trial_cycles).unwrap_or(i32::MAX),
            bill_specific_day: specific.is_some(),
            day_of_week: to_i32(specific.and_then(|d| d.day_of_week)),
            day_of_month: to_i32(specific.and_then(|d| d.day_of_month)),
            month: to_i32(specific.and_then(|d| d.month)),
            anchor_day: i32::try_from(sub.anchor_day).unwrap_or(1),
            amt_setup: terms.amt_setup,
            trial_amt: terms.trial_amt,
            recur_amt: terms.recur_amt,
            prorate_amt: terms.prorate_amt,
            tran_currency: terms.tran_currency.clone(),
            profile_id: sub.profile_id.clone(),
            purchase_id: sub.purchase_id.clone(),
            cancel_on_setup_fail: sub.cancel_on_setup_fail,
            status: state.status.to_owned(),
            date_start: day(sub.date_start),
            first_billing: day(sub.first_billing),
            next_event: state.next_event,
            date_next: state.date_next,
            next_attempt_on: state.next_attempt_on,
            failed_attempts: state.failed_attempts,
            retry_base: state.retry_base,
            created_at: timestamp(sub.created_at),
            updated_at: state.updated_at,
            version: state.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> SubscriptionRow {
        SubscriptionRow {
            subscription_id: 9,
            merchant_id: 1,
            customer_id: "C".into(),
            card_id: "K".into(),
            plan_frequency: 3,
            interval: 1,
            plan_duration: -1,
            anchor_day: 31,
            recur_amt: 1000,
            tran_currency: "840".into(),
            status: "A".into(),
            date_start: "2027-01-31".into(),
            first_billing: "2027-01-31".into(),
            date_next: Some("2027-02-28".into()),
            next_attempt_on: Some("2027-03-01".into()),
            next_event: 1,
            failed_attempts: 1,
            created_at: "2027-01-31T10:00:00.000000Z".into(),
            updated_at: "2027-02-28T10:00:00.000000Z".into(),
            version: 4,
            ..SubscriptionRow::default()
        }
    }

    #[test]
    fn the_batch_read_lists_the_columns_in_the_rows_field_order() {
        let json = serde_json::to_value(row()).unwrap();
        let fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(row_columns().collect::<Vec<_>>(), fields);
        let positional: Vec<serde_json::Value> = fields.iter().map(|f| json[*f].clone()).collect();
        let back: SubscriptionRow =
            serde_json::from_value(serde_json::Value::Array(positional)).unwrap();
        assert_eq!(
            Subscription::try_from(back).unwrap(),
            Subscription::try_from(row()).unwrap()
        );
    }

    #[test]
    fn rows_round_trip_through_the_typed_subscription() {
        let sub = Subscription::try_from(row()).unwrap();
        assert_eq!(sub.status(), Status::Active);
        assert_eq!(sub.attempt_on().map(day).as_deref(), Some("2027-03-01"));
        let back = SubscriptionRow::from(&sub);
        assert_eq!(Subscription::try_from(back).unwrap(), sub);
    }

    #[test]
    fn an_ended_subscription_is_written_without_dates() {
        let mut sub = Subscription::try_from(row()).unwrap();
        sub.cancel().unwrap();
        let row = SubscriptionRow::from(&sub);
        assert_eq!((row.date_next, row.next_attempt_on), (None, None));
        assert_eq!(row.status, "C");
    }

    #[test]
    fn rows_that_do_not_describe_a_subscription_are_errors_not_defaults() {
        type Breaker = fn(&mut SubscriptionRow);
        let cases: [(&str, Breaker); 6] = [
            ("date_next is missing", |r| r.date_next = None),
            ("next_attempt_on is missing", |r| r.next_attempt_on = None),
            ("status is unknown", |r| r.status = "X".into()),
            ("date_next is not a date", |r| r.date_next = Some("".into())),
            ("next_event is unknown", |r| r.next_event = -7),
            ("updated_at is not a timestamp", |r| {
                r.updated_at = "yesterday".into()
            }),
        ];
        for (expected, break_it) in cases {
            let mut broken = row();
            break_it(&mut broken);
            let error = Subscription::try_from(broken).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
