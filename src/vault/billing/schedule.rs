//! Billing-schedule arithmetic for recurring billing: works out when a Qualpay-style plan bills, the prorated first payment, when declined payments are retried, and whether an amount fits Qualpay's "12,2" money format.
//!
//! Everything here is pure: no clock, no I/O. Money is `rust_decimal::Decimal` and never a float.
//!
//! Out-of-range dates: chrono cannot go past `NaiveDate::MAX` (year 262143). No real subscription gets
//! there, so date arithmetic saturates at `NaiveDate::MAX`. Panicking inside a billing run would be
//! worse than a nonsense date far in the future.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

/// How often a plan bills: Qualpay's `plan_frequency` table.
pub use crate::qualpay::codes::Frequency;

/// The lower-case name used in error messages, e.g. "bi-weekly".
impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Weekly => "weekly",
            Self::BiWeekly => "bi-weekly",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::BiAnnually => "bi-annual",
            Self::Annually => "annual",
            Self::Daily => "daily",
        })
    }
}

/// A validated billing schedule: how often a plan or subscription bills, and on which day.
///
/// The fields are public so the schedule can be read easily. Build it with [`Schedule::new`] so it is
/// validated. The date methods do not panic on a hand-built invalid schedule: they clamp out-of-range
/// values into range. Their results for such a schedule are not otherwise specified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// How often the plan bills.
    pub frequency: Frequency,
    /// Cycles per billing: "every 2 months" = Monthly with interval 2. Qualpay applies interval only to weekly and monthly; for the other frequencies it is treated as 1.
    ///
    /// The value is kept as given, so it reads back the same as it was stored in Qualpay. Only the
    /// date arithmetic ignores it for the other frequencies.
    pub interval: u32,
    /// `bill_specific_day`: bill on a given weekday (weekly, bi-weekly), or day of month (monthly, quarterly, bi-annually) or day of month + month (annually).
    pub specific_day: Option<SpecificDay>,
}

/// The Qualpay `bill_specific_day` fields. Which fields must be set depends on the frequency; see [`Schedule::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecificDay {
    /// Qualpay `day_of_week`: 1 = Sunday ... 7 = Saturday (weekly and bi-weekly plans).
    pub day_of_week: Option<u32>,
    /// Qualpay `day_of_month`: 1–31, or 32 = last day of the month. A day the month doesn't have (31 in April, 30 in February) bills on that month's last day.
    pub day_of_month: Option<u32>,
    /// Qualpay `month`: 1–12 (annual plans: the month of the year to bill).
    pub month: Option<u32>,
}

/// Why a schedule or an amount was rejected. Each message starts with the Qualpay field name, so an API
/// error can point at the field the caller has to fix.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// A daily plan was given a `bill_specific_day`: every day is a billing day, so there is nothing to choose.
    #[error("plan_frequency: daily plans cannot bill on a specific day")]
    DailySpecificDay,
    /// `interval` is outside 1..=99.
    #[error("interval: must be 1 to 99 (got {0})")]
    Interval(u32),
    /// A specific-day field that the frequency needs is not set.
    #[error("{field}: required when a {frequency} plan bills on a specific day")]
    MissingField {
        /// The Qualpay field name.
        field: &'static str,
        /// The plan's frequency.
        frequency: Frequency,
    },
    /// A specific-day field is set that the frequency does not use. It is rejected rather than ignored,
    /// because a value that is stored but has no effect would mislead whoever reads the plan later.
    #[error("{field}: not used by {frequency} plans")]
    UnusedField {
        /// The Qualpay field name.
        field: &'static str,
        /// The plan's frequency.
        frequency: Frequency,
    },
    /// `day_of_week` is outside 1..=7.
    #[error("day_of_week: must be 1 (Sunday) to 7 (Saturday) (got {0})")]
    DayOfWeek(u32),
    /// `day_of_month` is outside 1..=32.
    #[error("day_of_month: must be 1 to 32 (got {0})")]
    DayOfMonth(u32),
    /// `month` is outside 1..=12.
    #[error("month: must be 1 to 12 (got {0})")]
    Month(u32),
    /// The amount is below zero.
    #[error("{field}: must not be negative")]
    NegativeAmount {
        /// The Qualpay field name of the amount.
        field: &'static str,
    },
    /// The amount has fractions of a cent.
    #[error("{field}: must have at most 2 decimal places")]
    TooManyDecimals {
        /// The Qualpay field name of the amount.
        field: &'static str,
    },
    /// The amount is 10,000,000,000 or more, so it does not fit 10 integer digits.
    #[error("{field}: must have at most 10 integer digits")]
    TooManyDigits {
        /// The Qualpay field name of the amount.
        field: &'static str,
    },
}

/// How far one billing cycle moves the date. Day-based and month-based frequencies need different
/// arithmetic: months need the anchor day, days don't.
#[derive(Debug, Clone, Copy)]
enum Step {
    Days(u64),
    Months(u32),
}

impl Schedule {
    /// Validates the combination: interval 1..=99; specific day fields in range and present for the frequency (weekly/bi-weekly need day_of_week; monthly/quarterly/bi-annually need day_of_month; annually needs day_of_month and month; daily cannot bill on a specific day).
    ///
    /// A field that the frequency does not use (for example `month` on a monthly plan) is rejected too.
    /// `interval` is checked against 1..=99 for every frequency, even those that treat it as 1.
    pub fn new(
        frequency: Frequency,
        interval: u32,
        specific_day: Option<SpecificDay>,
    ) -> Result<Self, ScheduleError> {
        if !(1..=99).contains(&interval) {
            return Err(ScheduleError::Interval(interval));
        }
        if let Some(day) = specific_day {
            validate_specific_day(frequency, day)?;
        }
        Ok(Self {
            frequency,
            interval,
            specific_day,
        })
    }

    /// The first billing date on or after `start`: `start` itself without a specific day; otherwise the first date >= start that matches the specific day.
    ///
    /// Quarterly and bi-annual plans bill on the first matching day of any month. Qualpay does not tie
    /// them to calendar quarters, so the cycle counts from the first billing date. For a day the month
    /// doesn't have, the matching day is that month's last day. For example, day 30 from Feb 1 2025
    /// gives Feb 28 2025.
    pub fn first_billing_date(&self, start: NaiveDate) -> NaiveDate {
        let Some(day) = self.specific_day else {
            return start;
        };
        match self.frequency {
            Frequency::Daily => start,
            Frequency::Weekly | Frequency::BiWeekly => match day.day_of_week {
                Some(day_of_week) => next_weekday(start, day_of_week),
                None => start,
            },
            Frequency::Monthly | Frequency::Quarterly | Frequency::BiAnnually => {
                match day.day_of_month {
                    Some(day_of_month) => {
                        let this_month = clamped_date(start.year(), start.month(), day_of_month)
                            .unwrap_or(NaiveDate::MAX);
                        if this_month >= start {
                            this_month
                        } else {
                            add_months(this_month, 1, day_of_month)
                        }
                    }
                    None => start,
                }
            }
            Frequency::Annually => match (day.day_of_month, day.month) {
                (Some(day_of_month), Some(month)) => {
                    let month = month.clamp(1, 12);
                    let this_year =
                        clamped_date(start.year(), month, day_of_month).unwrap_or(NaiveDate::MAX);
                    if this_year >= start {
                        this_year
                    } else {
                        add_months(this_year, 12, day_of_month)
                    }
                }
                // An annual plan with only a day of month bills on that day in the start month or the one after.
                (Some(day_of_month), None) => {
                    let this_month = clamped_date(start.year(), start.month(), day_of_month)
                        .unwrap_or(NaiveDate::MAX);
                    if this_month >= start {
                        this_month
                    } else {
                        add_months(this_month, 1, day_of_month)
                    }
                }
                (None, _) => start,
            },
        }
    }

    /// The billing date after `date`: + 1 day (daily), + 7×interval days (weekly), 14 days (bi-weekly), + interval months (monthly), 3 / 6 / 12 months. Month arithmetic keeps the ANCHOR day, not the clamped one: a subscription anchored on the 31st bills Jan 31, Feb 28 (29 in leap years), Mar 31, Apr 30, May 31 — so this takes the anchor day explicitly.
    ///
    /// For month-based frequencies the result's day is `min(anchor_day, days in that month)`, so an
    /// anchor of 32 (or 31) always means the last day of the month. `anchor_day` is ignored for daily
    /// and weekly frequencies.
    pub fn next_billing_date(&self, date: NaiveDate, anchor_day: u32) -> NaiveDate {
        match self.step() {
            Step::Days(days) => add_days(date, days),
            Step::Months(months) => add_months(date, i64::from(months), anchor_day),
        }
    }

    /// The anchor day of month for a subscription whose first billing date is `first` (day_of_month if set — 32 means last day — else first.day()).
    ///
    /// The result may be 29–32 and need not exist in every month: [`Schedule::next_billing_date`] clamps
    /// it to each month's length. It is stored with the subscription so that later dates don't drift.
    pub fn anchor_day(&self, first: NaiveDate) -> u32 {
        self.specific_day
            .and_then(|day| day.day_of_month)
            .unwrap_or_else(|| first.day())
    }

    /// The n-th billing date (n = 0 is the first) — equal to applying next_billing_date n times; must not drift (Jan 31 → ... → Mar 31, never Mar 28).
    ///
    /// It is worked out in one step, not by looping, so a large `n` costs no more than a small one.
    /// This gives the same dates as looping because each month-based date depends only on
    /// its month and the anchor, not on the date before it.
    pub fn nth_billing_date(&self, first: NaiveDate, anchor_day: u32, n: u32) -> NaiveDate {
        if n == 0 {
            // `first` is returned as given, even if its day differs from the clamped anchor.
            return first;
        }
        match self.step() {
            Step::Days(days) => days
                .checked_mul(u64::from(n))
                .map_or(NaiveDate::MAX, |total| add_days(first, total)),
            Step::Months(months) => add_months(first, i64::from(months) * i64::from(n), anchor_day),
        }
    }

    /// The billing date one cycle before `date`, for the length of the cycle that ends on it.
    pub fn previous_billing_date(&self, date: NaiveDate, anchor_day: u32) -> NaiveDate {
        match self.step() {
            Step::Days(days) => date.checked_sub_days(Days::new(days)).unwrap_or(date),
            Step::Months(months) => add_months(date, -i64::from(months), anchor_day),
        }
    }

    /// The length in days of the billing cycle that starts on `date` (next_billing_date - date).
    pub fn cycle_days(&self, date: NaiveDate, anchor_day: u32) -> i64 {
        self.next_billing_date(date, anchor_day)
            .signed_duration_since(date)
            .num_days()
    }

    /// The interval the date arithmetic actually uses: Qualpay honours `interval` only for weekly and
    /// monthly plans. It is clamped to 1..=99 so a hand-built schedule cannot stall (0) or overflow.
    fn effective_interval(&self) -> u32 {
        match self.frequency {
            Frequency::Weekly | Frequency::Monthly => self.interval.clamp(1, 99),
            _ => 1,
        }
    }

    fn step(&self) -> Step {
        let interval = self.effective_interval();
        match self.frequency {
            Frequency::Daily => Step::Days(1),
            Frequency::Weekly => Step::Days(7 * u64::from(interval)),
            Frequency::BiWeekly => Step::Days(14),
            Frequency::Monthly => Step::Months(interval),
            Frequency::Quarterly => Step::Months(3),
            Frequency::BiAnnually => Step::Months(6),
            Frequency::Annually => Step::Months(12),
        }
    }
}

/// Checks the specific-day fields against what the frequency needs. Each field is either required and
/// range-checked, or must be absent.
fn validate_specific_day(frequency: Frequency, day: SpecificDay) -> Result<(), ScheduleError> {
    let (wants_weekday, wants_day_of_month, wants_month) = match frequency {
        Frequency::Daily => return Err(ScheduleError::DailySpecificDay),
        Frequency::Weekly | Frequency::BiWeekly => (true, false, false),
        Frequency::Monthly | Frequency::Quarterly | Frequency::BiAnnually => (false, true, false),
        Frequency::Annually => (false, true, true),
    };
    check_field(
        "day_of_week",
        day.day_of_week,
        wants_weekday,
        frequency,
        7,
        ScheduleError::DayOfWeek,
    )?;
    check_field(
        "day_of_month",
        day.day_of_month,
        wants_day_of_month,
        frequency,
        32,
        ScheduleError::DayOfMonth,
    )?;
    check_field(
        "month",
        day.month,
        wants_month,
        frequency,
        12,
        ScheduleError::Month,
    )
}

/// One specific-day field: present exactly when `wanted`, and then within 1..=max.
fn check_field(
    field: &'static str,
    value: Option<u32>,
    wanted: bool,
    frequency: Frequency,
    max: u32,
    out_of_range: fn(u32) -> ScheduleError,
) -> Result<(), ScheduleError> {
    match (value, wanted) {
        (None, false) => Ok(()),
        (None, true) => Err(ScheduleError::MissingField { field, frequency }),
        (Some(_), false) => Err(ScheduleError::UnusedField { field, frequency }),
        (Some(v), true) if (1..=max).contains(&v) => Ok(()),
        (Some(v), true) => Err(out_of_range(v)),
    }
}

/// The prorated first payment when a subscription starts on `start` but its specific billing day is `first_billing` (later): amount × (days from start to first_billing) / (days of the full cycle that ends on first_billing), rounded to cents. Zero days → zero.
///
/// Choices for inputs the formula doesn't cover:
/// - `first_billing` on or before `start` (zero or negative days) gives zero: there is no partial period to charge for.
/// - More days than `full_cycle_days` (or a cycle length of zero or less) gives the full `amount`.
///   A proration never charges more than a whole cycle.
///
/// It multiplies before dividing, so the only rounding is the final one to cents (midpoint away from
/// zero). The result always has exactly 2 decimal places, e.g. `30.00`.
pub fn prorated_amount(
    amount: Decimal,
    start: NaiveDate,
    first_billing: NaiveDate,
    full_cycle_days: i64,
) -> Decimal {
    let days = first_billing.signed_duration_since(start).num_days();
    if days <= 0 {
        return to_cents(Decimal::ZERO);
    }
    if days >= full_cycle_days {
        return to_cents(amount);
    }
    let days = Decimal::from(days);
    let cycle = Decimal::from(full_cycle_days);
    // If the product would overflow (amounts near Decimal::MAX), divide first. The ratio is below 1,
    // so the result stays in range; it loses only digits far below a cent.
    let exact = amount
        .checked_mul(days)
        .map_or_else(|| amount * (days / cycle), |product| product / cycle);
    to_cents(exact)
}

/// When a declined recurring payment is retried: 1, 3 and 5 days after the original due date (three retries); after the last retry fails the subscription is suspended.
pub const RETRY_DELAYS_DAYS: [i64; 3] = [1, 3, 5];

/// The date of the next payment attempt after `failed_attempts` declines of the payment due on `due`. `None` after the last retry.
///
/// `failed_attempts` counts every declined attempt, including the original one on the due date:
/// - 1 → `due` + 1 day
/// - 2 → `due` + 3 days
/// - 3 → `due` + 5 days
/// - 4 or more → `None`: the last retry failed, so suspend the subscription.
///
/// 0 (nothing declined yet) gives `Some(due)`, the original attempt, so the function covers every count.
pub fn retry_date(due: NaiveDate, failed_attempts: u32) -> Option<NaiveDate> {
    let Some(index) = failed_attempts.checked_sub(1) else {
        return Some(due);
    };
    let delay = *RETRY_DELAYS_DAYS.get(usize::try_from(index).ok()?)?;
    // The delays are positive constants, so the conversion cannot fail.
    Some(add_days(due, u64::try_from(delay).unwrap_or(0)))
}

/// Money: parse/validate an amount as Qualpay's "12,2" format: non-negative, at most 2 decimal places, at most 10 integer digits (12 digits in total).
///
/// `field` is the Qualpay field name used in the error message (e.g. `"amount"`). Trailing zeros are
/// not extra decimal places: `1.500` is accepted as `1.50`. Negative zero counts as zero. On success it
/// returns the amount with exactly 2 decimal places, e.g. `12` → `12.00`.
pub fn check_amount(field: &'static str, amount: Decimal) -> Result<Decimal, ScheduleError> {
    // `<` compares by value, so -0 is not negative; `is_sign_negative` would reject it.
    if amount < Decimal::ZERO {
        return Err(ScheduleError::NegativeAmount { field });
    }
    let normalized = amount.normalize();
    if normalized.scale() > 2 {
        return Err(ScheduleError::TooManyDecimals { field });
    }
    if normalized.trunc() >= Decimal::from(10_000_000_000_i64) {
        return Err(ScheduleError::TooManyDigits { field });
    }
    let mut cents = normalized;
    // Exact: the scale is at most 2, so this only adds trailing zeros.
    cents.rescale(2);
    Ok(cents)
}

/// Rounds to cents, midpoint away from zero, and shows exactly two decimals. The rescale after rounding
/// only adds trailing zeros (`30` → `30.00`).
fn to_cents(amount: Decimal) -> Decimal {
    let mut cents = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    cents.rescale(2);
    cents
}

/// `date` + `days`, saturating at `NaiveDate::MAX` (see the module doc).
fn add_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

/// The month `months` after `date`'s month, on the anchor day clamped to that month's length. This
/// uses the anchor, not `date.day()`, because a date already clamped to Feb 28 would otherwise pull
/// every later date back to the 28th.
fn add_months(date: NaiveDate, months: i64, anchor_day: u32) -> NaiveDate {
    let index = i64::from(date.year()) * 12 + i64::from(date.month0()) + months;
    let year = i32::try_from(index.div_euclid(12)).ok();
    let month = u32::try_from(index.rem_euclid(12)).ok().map(|m| m + 1);
    match (year, month) {
        (Some(year), Some(month)) => clamped_date(year, month, anchor_day),
        _ => None,
    }
    .unwrap_or(NaiveDate::MAX)
}

/// `day` of the given month, clamped to 1..=the month's length (so 31 and 32 both mean the last day).
/// `None` only if the year is outside chrono's range.
fn clamped_date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day.clamp(1, days_in_month(year, month)))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The first date on or after `start` that falls on Qualpay weekday `day_of_week` (1 = Sunday ... 7 = Saturday).
fn next_weekday(start: NaiveDate, day_of_week: u32) -> NaiveDate {
    let wanted = day_of_week.clamp(1, 7) - 1;
    let current = start.weekday().num_days_from_sunday();
    add_days(start, u64::from((wanted + 7 - current) % 7))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [Frequency; 7] = [
        Frequency::Weekly,
        Frequency::BiWeekly,
        Frequency::Monthly,
        Frequency::Quarterly,
        Frequency::BiAnnually,
        Frequency::Annually,
        Frequency::Daily,
    ];

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    fn dec(s: &str) -> Decimal {
        s.parse().expect("valid test decimal")
    }

    fn plain(frequency: Frequency, interval: u32) -> Schedule {
        Schedule::new(frequency, interval, None).expect("valid schedule")
    }

    fn on_day_of_month(frequency: Frequency, day_of_month: u32) -> Schedule {
        Schedule::new(
            frequency,
            1,
            Some(SpecificDay {
                day_of_week: None,
                day_of_month: Some(day_of_month),
                month: None,
            }),
        )
        .expect("valid schedule")
    }

    fn on_weekday(frequency: Frequency, interval: u32, day_of_week: u32) -> Schedule {
        Schedule::new(
            frequency,
            interval,
            Some(SpecificDay {
                day_of_week: Some(day_of_week),
                day_of_month: None,
                month: None,
            }),
        )
        .expect("valid schedule")
    }

    fn annual_on(month: u32, day_of_month: u32) -> Schedule {
        Schedule::new(
            Frequency::Annually,
            1,
            Some(SpecificDay {
                day_of_week: None,
                day_of_month: Some(day_of_month),
                month: Some(month),
            }),
        )
        .expect("valid schedule")
    }

    /// The first `count` billing dates, walked with `next_billing_date`.
    fn walk(schedule: &Schedule, first: NaiveDate, anchor: u32, count: usize) -> Vec<NaiveDate> {
        std::iter::successors(Some(first), |&date| {
            Some(schedule.next_billing_date(date, anchor))
        })
        .take(count)
        .collect()
    }

    // ---- Frequency codes ----

    #[test]
    fn frequency_codes_round_trip() {
        let codes: Vec<i32> = ALL.iter().map(|f| f.code()).collect();
        assert_eq!(codes, [0, 1, 3, 4, 5, 6, 7]);
        for frequency in ALL {
            assert_eq!(Frequency::from_code(frequency.code()), Some(frequency));
        }
    }

    #[test]
    fn unknown_frequency_codes_are_none() {
        for code in [-1, 2, 8, 99, i32::MIN, i32::MAX] {
            assert_eq!(Frequency::from_code(code), None, "code {code}");
        }
    }

    // ---- Validation ----

    #[test]
    fn interval_must_be_1_to_99() {
        for frequency in ALL {
            assert_eq!(
                Schedule::new(frequency, 0, None),
                Err(ScheduleError::Interval(0))
            );
            assert_eq!(
                Schedule::new(frequency, 100, None),
                Err(ScheduleError::Interval(100))
            );
            assert!(Schedule::new(frequency, 1, None).is_ok());
            assert!(Schedule::new(frequency, 99, None).is_ok());
        }
        let message = Schedule::new(Frequency::Monthly, 0, None)
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("interval: must be 1 to 99"),
            "{message}"
        );
    }

    #[test]
    fn daily_cannot_bill_on_a_specific_day() {
        let day = SpecificDay {
            day_of_week: Some(2),
            day_of_month: None,
            month: None,
        };
        let err = Schedule::new(Frequency::Daily, 1, Some(day)).unwrap_err();
        assert_eq!(err, ScheduleError::DailySpecificDay);
        assert!(err.to_string().starts_with("plan_frequency: "));
    }

    #[test]
    fn weekly_plans_need_day_of_week_in_range() {
        for frequency in [Frequency::Weekly, Frequency::BiWeekly] {
            for day_of_week in 1..=7 {
                assert!(
                    Schedule::new(
                        frequency,
                        1,
                        Some(SpecificDay {
                            day_of_week: Some(day_of_week),
                            day_of_month: None,
                            month: None
                        })
                    )
                    .is_ok()
                );
            }
            for bad in [0, 8] {
                let err = Schedule::new(
                    frequency,
                    1,
                    Some(SpecificDay {
                        day_of_week: Some(bad),
                        day_of_month: None,
                        month: None,
                    }),
                )
                .unwrap_err();
                assert_eq!(err, ScheduleError::DayOfWeek(bad));
                assert!(err.to_string().starts_with("day_of_week: "));
            }
            let err = Schedule::new(
                frequency,
                1,
                Some(SpecificDay {
                    day_of_week: None,
                    day_of_month: None,
                    month: None,
                }),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ScheduleError::MissingField {
                    field: "day_of_week",
                    frequency
                }
            );
            assert!(err.to_string().starts_with("day_of_week: required"));
        }
    }

    #[test]
    fn monthly_like_plans_need_day_of_month_1_to_32() {
        for frequency in [
            Frequency::Monthly,
            Frequency::Quarterly,
            Frequency::BiAnnually,
        ] {
            for day in [1, 15, 28, 31, 32] {
                assert_eq!(on_day_of_month(frequency, day).frequency, frequency);
            }
            for bad in [0, 33] {
                let err = Schedule::new(
                    frequency,
                    1,
                    Some(SpecificDay {
                        day_of_week: None,
                        day_of_month: Some(bad),
                        month: None,
                    }),
                )
                .unwrap_err();
                assert_eq!(err, ScheduleError::DayOfMonth(bad));
                assert!(
                    err.to_string().starts_with("day_of_month: must be 1 to 32"),
                    "{err}"
                );
            }
            let err = Schedule::new(
                frequency,
                1,
                Some(SpecificDay {
                    day_of_week: None,
                    day_of_month: None,
                    month: None,
                }),
            )
            .unwrap_err();
            assert!(err.to_string().starts_with("day_of_month: required"));
        }
    }

    #[test]
    fn annual_plans_need_day_of_month_and_month() {
        assert!(
            Schedule::new(
                Frequency::Annually,
                1,
                Some(SpecificDay {
                    day_of_week: None,
                    day_of_month: Some(15),
                    month: None,
                }),
            )
            .unwrap_err()
            .to_string()
            .starts_with("month: required")
        );
        assert!(
            Schedule::new(
                Frequency::Annually,
                1,
                Some(SpecificDay {
                    day_of_week: None,
                    day_of_month: None,
                    month: Some(3),
                }),
            )
            .unwrap_err()
            .to_string()
            .starts_with("day_of_month: required")
        );
        for bad in [0, 13] {
            let err = Schedule::new(
                Frequency::Annually,
                1,
                Some(SpecificDay {
                    day_of_week: None,
                    day_of_month: Some(1),
                    month: Some(bad),
                }),
            )
            .unwrap_err();
            assert_eq!(err, ScheduleError::Month(bad));
            assert!(err.to_string().starts_with("month: "));
        }
        assert_eq!(annual_on(2, 29).specific_day.and_then(|s| s.month), Some(2));
    }

    #[test]
    fn fields_the_frequency_does_not_use_are_rejected() {
        let cases = [
            (
                Frequency::Weekly,
                SpecificDay {
                    day_of_week: Some(2),
                    day_of_month: Some(1),
                    month: None,
                },
                "day_of_month: not used by weekly plans",
            ),
            (
                Frequency::Monthly,
                SpecificDay {
                    day_of_week: Some(2),
                    day_of_month: Some(1),
                    month: None,
                },
                "day_of_week: not used by monthly plans",
            ),
            (
                Frequency::Quarterly,
                SpecificDay {
                    day_of_week: None,
                    day_of_month: Some(1),
                    month: Some(4),
                },
                "month: not used by quarterly plans",
            ),
            (
                Frequency::Annually,
                SpecificDay {
                    day_of_week: Some(1),
                    day_of_month: Some(1),
                    month: Some(4),
                },
                "day_of_week: not used by annual plans",
            ),
        ];
        for (frequency, day, message) in cases {
            let err = Schedule::new(frequency, 1, Some(day)).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn new_keeps_the_given_values() {
        let schedule = Schedule::new(Frequency::Quarterly, 5, None).unwrap();
        assert_eq!(
            schedule,
            Schedule {
                frequency: Frequency::Quarterly,
                interval: 5,
                specific_day: None
            }
        );
    }

    // ---- next_billing_date for each frequency and interval ----

    #[test]
    fn next_billing_date_table() {
        let start = d(2025, 1, 15);
        let cases: [(Frequency, u32, [NaiveDate; 3]); 15] = [
            (
                Frequency::Daily,
                1,
                [d(2025, 1, 16), d(2025, 1, 17), d(2025, 1, 18)],
            ),
            // Interval applies only to weekly and monthly.
            (
                Frequency::Daily,
                5,
                [d(2025, 1, 16), d(2025, 1, 17), d(2025, 1, 18)],
            ),
            (
                Frequency::Weekly,
                1,
                [d(2025, 1, 22), d(2025, 1, 29), d(2025, 2, 5)],
            ),
            (
                Frequency::Weekly,
                2,
                [d(2025, 1, 29), d(2025, 2, 12), d(2025, 2, 26)],
            ),
            (
                Frequency::Weekly,
                3,
                [d(2025, 2, 5), d(2025, 2, 26), d(2025, 3, 19)],
            ),
            (
                Frequency::BiWeekly,
                1,
                [d(2025, 1, 29), d(2025, 2, 12), d(2025, 2, 26)],
            ),
            (
                Frequency::BiWeekly,
                3,
                [d(2025, 1, 29), d(2025, 2, 12), d(2025, 2, 26)],
            ),
            (
                Frequency::Monthly,
                1,
                [d(2025, 2, 15), d(2025, 3, 15), d(2025, 4, 15)],
            ),
            (
                Frequency::Monthly,
                2,
                [d(2025, 3, 15), d(2025, 5, 15), d(2025, 7, 15)],
            ),
            (
                Frequency::Monthly,
                12,
                [d(2026, 1, 15), d(2027, 1, 15), d(2028, 1, 15)],
            ),
            (
                Frequency::Quarterly,
                1,
                [d(2025, 4, 15), d(2025, 7, 15), d(2025, 10, 15)],
            ),
            (
                Frequency::Quarterly,
                2,
                [d(2025, 4, 15), d(2025, 7, 15), d(2025, 10, 15)],
            ),
            (
                Frequency::BiAnnually,
                1,
                [d(2025, 7, 15), d(2026, 1, 15), d(2026, 7, 15)],
            ),
            (
                Frequency::Annually,
                1,
                [d(2026, 1, 15), d(2027, 1, 15), d(2028, 1, 15)],
            ),
            (
                Frequency::Annually,
                4,
                [d(2026, 1, 15), d(2027, 1, 15), d(2028, 1, 15)],
            ),
        ];
        for (frequency, interval, expected) in cases {
            let schedule = plain(frequency, interval);
            let first = schedule.first_billing_date(start);
            assert_eq!(first, start);
            let anchor = schedule.anchor_day(first);
            let dates = walk(&schedule, first, anchor, 4);
            assert_eq!(dates[1..], expected, "{frequency} every {interval}");
            for (n, date) in dates.iter().enumerate() {
                let n = u32::try_from(n).unwrap();
                assert_eq!(schedule.nth_billing_date(first, anchor, n), *date);
            }
        }
    }

    #[test]
    fn daily_crosses_month_and_year_ends() {
        let schedule = plain(Frequency::Daily, 1);
        assert_eq!(
            walk(&schedule, d(2028, 2, 28), 28, 3),
            [d(2028, 2, 28), d(2028, 2, 29), d(2028, 3, 1)]
        );
        assert_eq!(
            schedule.next_billing_date(d(2025, 12, 31), 31),
            d(2026, 1, 1)
        );
    }

    // ---- Anchored month arithmetic ----

    #[test]
    fn monthly_anchored_on_31st_through_leap_year_2028() {
        let schedule = plain(Frequency::Monthly, 1);
        let first = d(2028, 1, 31);
        let anchor = schedule.anchor_day(first);
        assert_eq!(anchor, 31);
        let expected = [
            d(2028, 1, 31),
            d(2028, 2, 29),
            d(2028, 3, 31),
            d(2028, 4, 30),
            d(2028, 5, 31),
            d(2028, 6, 30),
            d(2028, 7, 31),
            d(2028, 8, 31),
            d(2028, 9, 30),
            d(2028, 10, 31),
            d(2028, 11, 30),
            d(2028, 12, 31),
            d(2029, 1, 31),
        ];
        assert_eq!(walk(&schedule, first, anchor, expected.len()), expected);
        assert_eq!(schedule.nth_billing_date(first, anchor, 2), d(2028, 3, 31));
        assert_eq!(schedule.nth_billing_date(first, anchor, 12), d(2029, 1, 31));
    }

    #[test]
    fn monthly_anchored_on_31st_through_non_leap_year_2027() {
        let schedule = plain(Frequency::Monthly, 1);
        let first = d(2027, 1, 31);
        let anchor = schedule.anchor_day(first);
        let expected = [
            d(2027, 1, 31),
            d(2027, 2, 28),
            d(2027, 3, 31),
            d(2027, 4, 30),
            d(2027, 5, 31),
            d(2027, 6, 30),
            d(2027, 7, 31),
            d(2027, 8, 31),
            d(2027, 9, 30),
            d(2027, 10, 31),
            d(2027, 11, 30),
            d(2027, 12, 31),
        ];
        assert_eq!(walk(&schedule, first, anchor, expected.len()), expected);
        // Never drifts to the 28th after February.
        assert_eq!(schedule.nth_billing_date(first, anchor, 2), d(2027, 3, 31));
    }

    #[test]
    fn every_two_months_anchored_on_31st() {
        let schedule = plain(Frequency::Monthly, 2);
        let first = d(2027, 12, 31);
        assert_eq!(
            walk(&schedule, first, 31, 4),
            [
                d(2027, 12, 31),
                d(2028, 2, 29),
                d(2028, 4, 30),
                d(2028, 6, 30)
            ]
        );
        assert_eq!(schedule.nth_billing_date(first, 31, 4), d(2028, 8, 31));
    }

    #[test]
    fn day_of_month_32_is_the_last_day() {
        let schedule = on_day_of_month(Frequency::Monthly, 32);
        let first = schedule.first_billing_date(d(2027, 1, 10));
        assert_eq!(first, d(2027, 1, 31));
        let anchor = schedule.anchor_day(first);
        assert_eq!(anchor, 32);
        assert_eq!(
            walk(&schedule, first, anchor, 5),
            [
                d(2027, 1, 31),
                d(2027, 2, 28),
                d(2027, 3, 31),
                d(2027, 4, 30),
                d(2027, 5, 31)
            ]
        );
        // Starting on a last day bills that same day.
        assert_eq!(schedule.first_billing_date(d(2028, 2, 29)), d(2028, 2, 29));
        assert_eq!(schedule.first_billing_date(d(2028, 2, 28)), d(2028, 2, 29));
    }

    #[test]
    fn day_30_in_february_bills_on_the_last_day_then_returns_to_30() {
        let schedule = on_day_of_month(Frequency::Monthly, 30);
        assert_eq!(schedule.first_billing_date(d(2027, 2, 1)), d(2027, 2, 28));
        assert_eq!(schedule.first_billing_date(d(2028, 2, 1)), d(2028, 2, 29));
        // Jan 31 is past Jan 30, so the first billing is February's last day.
        let first = schedule.first_billing_date(d(2027, 1, 31));
        assert_eq!(first, d(2027, 2, 28));
        let anchor = schedule.anchor_day(first);
        assert_eq!(anchor, 30);
        assert_eq!(
            walk(&schedule, first, anchor, 4),
            [
                d(2027, 2, 28),
                d(2027, 3, 30),
                d(2027, 4, 30),
                d(2027, 5, 30)
            ]
        );
    }

    #[test]
    fn quarterly_from_nov_30() {
        let schedule = plain(Frequency::Quarterly, 1);
        let leap = d(2027, 11, 30);
        let anchor = schedule.anchor_day(leap);
        assert_eq!(
            walk(&schedule, leap, anchor, 5),
            [
                d(2027, 11, 30),
                d(2028, 2, 29),
                d(2028, 5, 30),
                d(2028, 8, 30),
                d(2028, 11, 30)
            ]
        );
        let non_leap = d(2026, 11, 30);
        assert_eq!(
            walk(&schedule, non_leap, 30, 4),
            [
                d(2026, 11, 30),
                d(2027, 2, 28),
                d(2027, 5, 30),
                d(2027, 8, 30)
            ]
        );
    }

    #[test]
    fn bi_annual_anchored_on_31st() {
        let schedule = on_day_of_month(Frequency::BiAnnually, 31);
        let first = schedule.first_billing_date(d(2027, 8, 15));
        assert_eq!(first, d(2027, 8, 31));
        assert_eq!(
            walk(&schedule, first, schedule.anchor_day(first), 4),
            [
                d(2027, 8, 31),
                d(2028, 2, 29),
                d(2028, 8, 31),
                d(2029, 2, 28)
            ]
        );
    }

    #[test]
    fn annual_on_feb_29_bills_feb_28_in_non_leap_years() {
        let schedule = annual_on(2, 29);
        let first = schedule.first_billing_date(d(2026, 6, 1));
        assert_eq!(first, d(2027, 2, 28));
        let anchor = schedule.anchor_day(first);
        assert_eq!(anchor, 29);
        assert_eq!(
            walk(&schedule, first, anchor, 4),
            [
                d(2027, 2, 28),
                d(2028, 2, 29),
                d(2029, 2, 28),
                d(2030, 2, 28)
            ]
        );
        // Without a specific day, a subscription started on Feb 29 is anchored on the 29th too.
        let unanchored = plain(Frequency::Annually, 1);
        let first = d(2028, 2, 29);
        assert_eq!(
            walk(&unanchored, first, unanchored.anchor_day(first), 5),
            [
                d(2028, 2, 29),
                d(2029, 2, 28),
                d(2030, 2, 28),
                d(2031, 2, 28),
                d(2032, 2, 29)
            ]
        );
        assert_eq!(unanchored.nth_billing_date(first, 29, 4), d(2032, 2, 29));
    }

    // ---- first_billing_date for each kind ----

    #[test]
    fn first_billing_date_without_specific_day_is_start() {
        for frequency in ALL {
            let schedule = plain(frequency, 1);
            assert_eq!(schedule.first_billing_date(d(2025, 3, 17)), d(2025, 3, 17));
        }
    }

    #[test]
    fn weekly_on_a_weekday_starting_mid_week() {
        // 2025-01-15 is a Wednesday; 2 = Monday.
        let schedule = on_weekday(Frequency::Weekly, 2, 2);
        let first = schedule.first_billing_date(d(2025, 1, 15));
        assert_eq!(first, d(2025, 1, 20));
        assert_eq!(first.weekday(), chrono::Weekday::Mon);
        assert_eq!(
            walk(&schedule, first, schedule.anchor_day(first), 3),
            [d(2025, 1, 20), d(2025, 2, 3), d(2025, 2, 17)]
        );
    }

    #[test]
    fn weekday_codes_map_sunday_to_saturday() {
        // 2025-01-15 is a Wednesday (code 4).
        let start = d(2025, 1, 15);
        let expected = [
            d(2025, 1, 19), // 1 Sunday
            d(2025, 1, 20), // 2 Monday
            d(2025, 1, 21), // 3 Tuesday
            d(2025, 1, 15), // 4 Wednesday: the start itself
            d(2025, 1, 16), // 5 Thursday
            d(2025, 1, 17), // 6 Friday
            d(2025, 1, 18), // 7 Saturday
        ];
        for (code, want) in (1..=7).zip(expected) {
            let schedule = on_weekday(Frequency::BiWeekly, 1, code);
            assert_eq!(
                schedule.first_billing_date(start),
                want,
                "day_of_week {code}"
            );
        }
    }

    #[test]
    fn bi_weekly_on_a_weekday() {
        // 2025-12-27 is a Saturday; 6 = Friday, so the first billing is six days later.
        let schedule = on_weekday(Frequency::BiWeekly, 1, 6);
        let first = schedule.first_billing_date(d(2025, 12, 27));
        assert_eq!(first, d(2026, 1, 2));
        assert_eq!(schedule.next_billing_date(first, 2), d(2026, 1, 16));
    }

    #[test]
    fn monthly_first_billing_date_this_month_or_next() {
        let schedule = on_day_of_month(Frequency::Monthly, 15);
        assert_eq!(schedule.first_billing_date(d(2025, 3, 10)), d(2025, 3, 15));
        assert_eq!(schedule.first_billing_date(d(2025, 3, 15)), d(2025, 3, 15));
        assert_eq!(schedule.first_billing_date(d(2025, 3, 16)), d(2025, 4, 15));
        assert_eq!(schedule.first_billing_date(d(2025, 12, 20)), d(2026, 1, 15));
    }

    #[test]
    fn quarterly_first_billing_date_is_the_next_matching_day_of_any_month() {
        let schedule = on_day_of_month(Frequency::Quarterly, 1);
        let first = schedule.first_billing_date(d(2025, 5, 10));
        assert_eq!(first, d(2025, 6, 1));
        assert_eq!(schedule.next_billing_date(first, 1), d(2025, 9, 1));
    }

    #[test]
    fn annual_first_billing_date_this_year_or_next() {
        let schedule = annual_on(7, 4);
        assert_eq!(schedule.first_billing_date(d(2025, 1, 1)), d(2025, 7, 4));
        assert_eq!(schedule.first_billing_date(d(2025, 7, 4)), d(2025, 7, 4));
        assert_eq!(schedule.first_billing_date(d(2025, 7, 5)), d(2026, 7, 4));
        // Day 31 in a 30-day month bills on its last day.
        let april = annual_on(4, 31);
        assert_eq!(april.first_billing_date(d(2025, 1, 1)), d(2025, 4, 30));
        assert_eq!(april.next_billing_date(d(2025, 4, 30), 31), d(2026, 4, 30));
    }

    #[test]
    fn anchor_day_prefers_day_of_month() {
        assert_eq!(
            on_day_of_month(Frequency::Monthly, 32).anchor_day(d(2025, 2, 28)),
            32
        );
        assert_eq!(
            on_day_of_month(Frequency::Monthly, 5).anchor_day(d(2025, 2, 5)),
            5
        );
        assert_eq!(plain(Frequency::Monthly, 1).anchor_day(d(2025, 2, 28)), 28);
        assert_eq!(
            on_weekday(Frequency::Weekly, 1, 3).anchor_day(d(2025, 2, 11)),
            11
        );
    }

    #[test]
    fn nth_billing_date_zero_is_first_as_given() {
        let schedule = plain(Frequency::Monthly, 1);
        assert_eq!(
            schedule.nth_billing_date(d(2025, 1, 15), 31, 0),
            d(2025, 1, 15)
        );
        assert_eq!(
            schedule.nth_billing_date(d(2025, 1, 15), 31, 1),
            d(2025, 2, 28)
        );
    }

    #[test]
    fn nth_billing_date_far_out_does_not_loop_or_drift() {
        let monthly = plain(Frequency::Monthly, 1);
        // 1200 months = 100 years.
        assert_eq!(
            monthly.nth_billing_date(d(2028, 1, 31), 31, 1200),
            d(2128, 1, 31)
        );
        assert_eq!(
            monthly.nth_billing_date(d(2028, 1, 31), 31, 1201),
            d(2128, 2, 29)
        );
        let weekly = plain(Frequency::Weekly, 1);
        assert_eq!(
            weekly.nth_billing_date(d(2025, 1, 1), 1, 52),
            d(2025, 12, 31)
        );
    }

    #[test]
    fn dates_saturate_at_chrono_max_instead_of_panicking() {
        let max = NaiveDate::MAX;
        assert_eq!(plain(Frequency::Daily, 1).next_billing_date(max, 31), max);
        assert_eq!(
            plain(Frequency::Annually, 1).next_billing_date(max, 31),
            max
        );
        assert_eq!(
            plain(Frequency::Monthly, 99).nth_billing_date(d(2025, 1, 1), 1, u32::MAX),
            max
        );
        assert_eq!(
            plain(Frequency::Weekly, 99).nth_billing_date(d(2025, 1, 1), 1, u32::MAX),
            max
        );
        assert_eq!(annual_on(12, 31).first_billing_date(max), max);
    }

    #[test]
    fn hand_built_invalid_schedules_do_not_panic() {
        let zero_interval = Schedule {
            frequency: Frequency::Monthly,
            interval: 0,
            specific_day: None,
        };
        assert_eq!(
            zero_interval.next_billing_date(d(2025, 1, 15), 15),
            d(2025, 2, 15)
        );
        let odd_days = Schedule {
            frequency: Frequency::Annually,
            interval: 1,
            specific_day: Some(SpecificDay {
                day_of_week: Some(0),
                day_of_month: Some(0),
                month: Some(13),
            }),
        };
        assert_eq!(odd_days.first_billing_date(d(2025, 1, 15)), d(2025, 12, 1));
        assert_eq!(odd_days.next_billing_date(d(2025, 1, 15), 0), d(2026, 1, 1));
    }

    // ---- cycle_days ----

    #[test]
    fn the_cycle_before_a_date_keeps_the_anchor_day() {
        let monthly = plain(Frequency::Monthly, 1);
        assert_eq!(
            monthly.previous_billing_date(d(2026, 11, 25), 25),
            d(2026, 10, 25)
        );
        assert_eq!(
            monthly.previous_billing_date(d(2027, 3, 31), 31),
            d(2027, 2, 28)
        );
        assert_eq!(
            monthly.previous_billing_date(d(2028, 3, 31), 31),
            d(2028, 2, 29)
        );
        let weekly = plain(Frequency::Weekly, 2);
        assert_eq!(
            weekly.previous_billing_date(d(2026, 11, 25), 25),
            d(2026, 11, 11)
        );
        let annual = plain(Frequency::Annually, 1);
        assert_eq!(
            annual.previous_billing_date(d(2028, 2, 29), 29),
            d(2027, 2, 28)
        );
    }

    #[test]
    fn cycle_days_per_frequency() {
        assert_eq!(plain(Frequency::Daily, 1).cycle_days(d(2025, 1, 1), 1), 1);
        assert_eq!(plain(Frequency::Weekly, 1).cycle_days(d(2025, 1, 1), 1), 7);
        assert_eq!(plain(Frequency::Weekly, 3).cycle_days(d(2025, 1, 1), 1), 21);
        assert_eq!(
            plain(Frequency::BiWeekly, 1).cycle_days(d(2025, 1, 1), 1),
            14
        );
        assert_eq!(
            plain(Frequency::Monthly, 1).cycle_days(d(2025, 1, 1), 1),
            31
        );
        assert_eq!(
            plain(Frequency::Monthly, 1).cycle_days(d(2027, 2, 1), 1),
            28
        );
        assert_eq!(
            plain(Frequency::Monthly, 1).cycle_days(d(2028, 2, 1), 1),
            29
        );
        assert_eq!(
            plain(Frequency::Monthly, 1).cycle_days(d(2027, 1, 31), 31),
            28
        );
        assert_eq!(
            plain(Frequency::Quarterly, 1).cycle_days(d(2025, 1, 1), 1),
            90
        );
        assert_eq!(
            plain(Frequency::BiAnnually, 1).cycle_days(d(2025, 1, 1), 1),
            181
        );
        assert_eq!(
            plain(Frequency::Annually, 1).cycle_days(d(2027, 1, 1), 1),
            365
        );
        assert_eq!(
            plain(Frequency::Annually, 1).cycle_days(d(2028, 1, 1), 1),
            366
        );
    }

    // ---- Proration ----

    #[test]
    fn prorated_monthly_example() {
        // $30 monthly, start Jan 10, billing day 1: first billing Feb 1.
        let schedule = on_day_of_month(Frequency::Monthly, 1);
        let start = d(2025, 1, 10);
        let first = schedule.first_billing_date(start);
        assert_eq!(first, d(2025, 2, 1));
        // The full cycle that ends on Feb 1 runs Jan 1 to Feb 1: 31 days.
        let full = schedule.cycle_days(d(2025, 1, 1), schedule.anchor_day(first));
        assert_eq!(full, 31);
        // 22 days of 31: 30 × 22 / 31 = 21.2903… → 21.29.
        let prorated = prorated_amount(dec("30"), start, first, full);
        assert_eq!(prorated, dec("21.29"));
        assert_eq!(prorated.to_string(), "21.29");
    }

    #[test]
    fn prorated_amount_examples() {
        // 9.99 × 1 / 31 = 0.32225… → 0.32.
        assert_eq!(
            prorated_amount(dec("9.99"), d(2025, 1, 31), d(2025, 2, 1), 31),
            dec("0.32")
        );
        // Half of 0.01 is exactly a midpoint: away from zero gives 0.01, not banker's 0.00.
        assert_eq!(
            prorated_amount(dec("0.01"), d(2025, 1, 1), d(2025, 1, 2), 2),
            dec("0.01")
        );
        // 0.03 × 1 / 6 = 0.005 exactly: multiplying first keeps the midpoint exact.
        assert_eq!(
            prorated_amount(dec("0.03"), d(2025, 1, 1), d(2025, 1, 2), 6),
            dec("0.01")
        );
        // 2.5 × 1 / 2 = 1.25, already in cents.
        assert_eq!(
            prorated_amount(dec("2.50"), d(2025, 1, 1), d(2025, 1, 2), 2).to_string(),
            "1.25"
        );
        // Annual plan, 100 of 365 days: 120 × 100 / 365 = 32.8767… → 32.88.
        assert_eq!(
            prorated_amount(dec("120"), d(2025, 3, 23), d(2025, 7, 1), 365),
            dec("32.88")
        );
    }

    #[test]
    fn prorated_amount_edges() {
        let amount = dec("30");
        // Zero days → zero.
        let zero = prorated_amount(amount, d(2025, 2, 1), d(2025, 2, 1), 31);
        assert_eq!(zero, Decimal::ZERO);
        assert_eq!(zero.to_string(), "0.00");
        // First billing before the start → zero.
        assert_eq!(
            prorated_amount(amount, d(2025, 2, 5), d(2025, 2, 1), 31),
            Decimal::ZERO
        );
        // A whole cycle or more → the full amount, never more.
        let full = prorated_amount(amount, d(2025, 1, 1), d(2025, 2, 1), 31);
        assert_eq!(full.to_string(), "30.00");
        assert_eq!(
            prorated_amount(amount, d(2025, 1, 1), d(2025, 3, 1), 31),
            amount
        );
        assert_eq!(
            prorated_amount(amount, d(2025, 1, 1), d(2025, 1, 5), 0),
            amount
        );
        // No overflow with a huge amount.
        assert_eq!(
            prorated_amount(Decimal::MAX, d(2025, 1, 1), d(2025, 1, 2), 2),
            (Decimal::MAX / Decimal::TWO)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        );
    }

    // ---- Retries ----

    #[test]
    fn retry_dates_then_suspend() {
        let due = d(2025, 1, 30);
        assert_eq!(retry_date(due, 0), Some(due));
        assert_eq!(retry_date(due, 1), Some(d(2025, 1, 31)));
        assert_eq!(retry_date(due, 2), Some(d(2025, 2, 2)));
        assert_eq!(retry_date(due, 3), Some(d(2025, 2, 4)));
        assert_eq!(retry_date(due, 4), None);
        assert_eq!(retry_date(due, u32::MAX), None);
        // Retries count from the due date, not from the previous retry.
        for (attempt, delay) in (1..).zip(RETRY_DELAYS_DAYS) {
            let retry = retry_date(due, attempt).unwrap();
            assert_eq!(retry.signed_duration_since(due).num_days(), delay);
        }
    }

    #[test]
    fn retry_dates_cross_a_leap_day() {
        let due = d(2028, 2, 27);
        assert_eq!(retry_date(due, 2), Some(d(2028, 3, 1)));
    }

    // ---- Amounts ----

    #[test]
    fn check_amount_accepts_the_12_2_range() {
        assert_eq!(check_amount("amount", Decimal::ZERO), Ok(dec("0.00")));
        let max = check_amount("amount", dec("9999999999.99")).unwrap();
        assert_eq!(max.to_string(), "9999999999.99");
        assert_eq!(
            check_amount("amount", dec("12")).unwrap().to_string(),
            "12.00"
        );
        assert_eq!(
            check_amount("amount", dec("0.5")).unwrap().to_string(),
            "0.50"
        );
        // Trailing zeros are not extra decimal places.
        assert_eq!(
            check_amount("amount", dec("1.500")).unwrap().to_string(),
            "1.50"
        );
        // Negative zero is zero.
        assert_eq!(
            check_amount("amount", dec("-0.00")).unwrap().to_string(),
            "0.00"
        );
    }

    #[test]
    fn check_amount_rejects_negative_fractional_cents_and_11_digits() {
        assert_eq!(
            check_amount("amount", dec("-0.01")),
            Err(ScheduleError::NegativeAmount { field: "amount" })
        );
        assert_eq!(
            check_amount("amount", dec("1.005")),
            Err(ScheduleError::TooManyDecimals { field: "amount" })
        );
        assert_eq!(
            check_amount("amount", dec("10000000000")),
            Err(ScheduleError::TooManyDigits { field: "amount" })
        );
        assert_eq!(
            check_amount("amount", dec("10000000000.00")),
            Err(ScheduleError::TooManyDigits { field: "amount" })
        );
        let message = check_amount("setup_amount", dec("-5"))
            .unwrap_err()
            .to_string();
        assert_eq!(message, "setup_amount: must not be negative");
        let message = check_amount("amount", dec("0.001"))
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("amount: "), "{message}");
    }

    // ---- Properties ----

    fn frequency() -> impl Strategy<Value = Frequency> {
        proptest::sample::select(ALL.to_vec())
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        // 1970-01-01 to about 2200: far enough to cover every leap-year rule that matters.
        (0u64..84_000).prop_map(|days| add_days(d(1970, 1, 1), days))
    }

    /// Any valid schedule, with a specific day about half the time.
    fn schedule() -> impl Strategy<Value = Schedule> {
        (
            frequency(),
            1u32..=99,
            any::<bool>(),
            1u32..=7,
            1u32..=32,
            1u32..=12,
        )
            .prop_map(
                |(frequency, interval, specific, day_of_week, day_of_month, month)| {
                    let day = match frequency {
                        _ if !specific => None,
                        Frequency::Daily => None,
                        Frequency::Weekly | Frequency::BiWeekly => Some(SpecificDay {
                            day_of_week: Some(day_of_week),
                            day_of_month: None,
                            month: None,
                        }),
                        Frequency::Monthly | Frequency::Quarterly | Frequency::BiAnnually => {
                            Some(SpecificDay {
                                day_of_week: None,
                                day_of_month: Some(day_of_month),
                                month: None,
                            })
                        }
                        Frequency::Annually => Some(SpecificDay {
                            day_of_week: None,
                            day_of_month: Some(day_of_month),
                            month: Some(month),
                        }),
                    };
                    Schedule::new(frequency, interval, day)
                        .expect("strategy builds valid schedules")
                },
            )
    }

    proptest! {
        #[test]
        fn nth_billing_date_is_strictly_increasing(schedule in schedule(), start in date(), count in 1u32..60) {
            let first = schedule.first_billing_date(start);
            prop_assert!(first >= start);
            // The first billing is less than one cycle away: at most a year.
            prop_assert!(first.signed_duration_since(start).num_days() < 366);
            let anchor = schedule.anchor_day(first);
            let mut previous = schedule.nth_billing_date(first, anchor, 0);
            prop_assert_eq!(previous, first);
            for n in 1..=count {
                let date = schedule.nth_billing_date(first, anchor, n);
                prop_assert!(date > previous, "{:?}: n={} {} <= {}", schedule, n, date, previous);
                previous = date;
            }
        }

        #[test]
        fn nth_equals_next_applied_n_times(schedule in schedule(), start in date(), anchor in 1u32..=32, n in 0u32..80) {
            // Any `first` and any anchor, even ones that don't match each other.
            let mut date = start;
            for _ in 0..n {
                date = schedule.next_billing_date(date, anchor);
            }
            prop_assert_eq!(schedule.nth_billing_date(start, anchor, n), date);
            prop_assert_eq!(
                schedule.cycle_days(date, anchor),
                schedule.next_billing_date(date, anchor).signed_duration_since(date).num_days()
            );
        }

        #[test]
        fn anchored_month_dates_land_on_min_of_anchor_and_month_length(
            frequency in proptest::sample::select(vec![
                Frequency::Monthly, Frequency::Quarterly, Frequency::BiAnnually, Frequency::Annually,
            ]),
            interval in 1u32..=99,
            day_of_month in 1u32..=32,
            month in 1u32..=12,
            start in date(),
            n in 0u32..40,
        ) {
            let schedule = Schedule::new(frequency, interval, Some(SpecificDay {
                day_of_week: None,
                day_of_month: Some(day_of_month),
                month: (frequency == Frequency::Annually).then_some(month),
            })).unwrap();
            let first = schedule.first_billing_date(start);
            let anchor = schedule.anchor_day(first);
            prop_assert_eq!(anchor, day_of_month);
            let date = schedule.nth_billing_date(first, anchor, n);
            prop_assert_eq!(date.day(), anchor.min(days_in_month(date.year(), date.month())));
            if frequency == Frequency::Annually {
                prop_assert_eq!(date.month(), month);
            }
        }

        #[test]
        fn prorated_amount_is_between_zero_and_the_full_amount(
            cents in 0i64..1_000_000_000_000,
            days in -5i64..400,
            full in 1i64..400,
        ) {
            let amount = Decimal::new(cents, 2);
            let start = d(2025, 1, 1);
            let first_billing = start + chrono::TimeDelta::days(days);
            let prorated = prorated_amount(amount, start, first_billing, full);
            prop_assert!(prorated >= Decimal::ZERO);
            prop_assert!(prorated <= amount);
            prop_assert_eq!(prorated.scale(), 2);
            prop_assert!(check_amount("amount", prorated).is_ok());
        }

        #[test]
        fn check_amount_accepts_every_whole_cent_amount_in_range(cents in 0i64..=999_999_999_999) {
            let amount = Decimal::new(cents, 2);
            prop_assert_eq!(check_amount("amount", amount), Ok(amount));
        }
    }
}
