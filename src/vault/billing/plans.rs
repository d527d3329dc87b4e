//! Plan rules: the fields of `AddRecurringPlanRequest` and `UpdateRecurringPlanRequest` and
//! how they combine (frequency, interval, duration, trial, setup fee, specific day, proration).

use rust_decimal::Decimal;

use super::money::cents;
use super::schedule::{Frequency, Schedule, SpecificDay, check_amount};
use crate::qualpay::PlanRequest;
use crate::vault::store::billing::PlanRow;
use crate::vault::validate::Problems;

/// Applies the fields a request carries to `plan` (a new default row, or the stored plan for an
/// update) and checks the result as a whole.
pub fn apply(plan: &mut PlanRow, request: &PlanRequest, problems: &mut Problems) {
    if let Some(name) = &request.plan_name {
        plan.plan_name = name.trim().to_owned();
    }
    if let Some(desc) = &request.plan_desc {
        plan.plan_desc = desc.clone();
    }
    set(&mut plan.plan_frequency, request.plan_frequency);
    set(&mut plan.interval, request.interval);
    set(&mut plan.plan_duration, request.plan_duration);
    set(&mut plan.trial_duration, request.trial_duration);
    money(
        problems,
        "amt_trial",
        request.amt_trial,
        &mut plan.amt_trial,
    );
    money(
        problems,
        "amt_setup",
        request.amt_setup,
        &mut plan.amt_setup,
    );
    money(
        problems,
        "amt_prorate",
        request.amt_prorate,
        &mut plan.amt_prorate,
    );
    if let Some(amount) = request.amt_tran {
        match check_amount("amt_tran", amount) {
            Ok(amount) => plan.amt_tran = cents(amount),
            Err(error) => problems.push(error),
        }
    }
    if let Some(currency) = &request.tran_currency {
        plan.tran_currency = currency.clone();
    }
    if request.profile_id.is_some() {
        plan.profile_id = request.profile_id.clone();
    }
    if let Some(flag) = request.bill_specific_day {
        plan.bill_specific_day = flag;
    }
    if let Some(flag) = request.prorate_first_pmt {
        plan.prorate_first_pmt = flag;
    }
    for (value, field) in [
        (request.day_of_week, &mut plan.day_of_week),
        (request.day_of_month, &mut plan.day_of_month),
        (request.month, &mut plan.month),
    ] {
        if value.is_some() {
            *field = value;
        }
    }
    check(plan, problems);
}

fn set(field: &mut i32, value: Option<i32>) {
    if let Some(value) = value {
        *field = value;
    }
}

fn money(
    problems: &mut Problems,
    name: &'static str,
    value: Option<Decimal>,
    field: &mut Option<i64>,
) {
    if let Some(amount) = value {
        match check_amount(name, amount) {
            Ok(amount) => *field = Some(cents(amount)),
            Err(error) => problems.push(error),
        }
    }
}

/// The whole plan's consistency, after a create or an update.
fn check(plan: &PlanRow, problems: &mut Problems) {
    let code = &plan.plan_code;
    if code.is_empty()
        || code.len() > 16
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        problems.push("plan_code: must be 1 to 16 letters, digits, '-' or '_'");
    }
    if plan.plan_name.is_empty() {
        problems.push("plan_name: is required");
    }
    problems.text("plan_name", &Some(plan.plan_name.clone()), 64);
    if plan.plan_desc.trim().is_empty() {
        problems.push("plan_desc: is required");
    }
    problems.text("plan_desc", &Some(plan.plan_desc.clone()), 1024);
    if plan.plan_duration != -1 && !(1..=9999).contains(&plan.plan_duration) {
        problems.push("plan_duration: must be -1 (until cancelled) or 1 to 9999 billing cycles");
    }
    if !(0..=99).contains(&plan.trial_duration) {
        problems.push("trial_duration: must be 0 to 99 billing cycles");
    }
    if plan.tran_currency.len() != 3 || !plan.tran_currency.bytes().all(|b| b.is_ascii_digit()) {
        problems.push("tran_currency: must be a 3-digit ISO 4217 numeric code, e.g. 840");
    }
    if plan.prorate_first_pmt && !plan.bill_specific_day {
        problems.push("prorate_first_pmt: applies only when bill_specific_day is true");
    }
    if let Err(error) = schedule(plan) {
        problems.push(error);
    }
}

/// The billing schedule a plan describes.
pub fn schedule(plan: &PlanRow) -> Result<Schedule, String> {
    let frequency = Frequency::from_code(plan.plan_frequency)
        .ok_or("plan_frequency: must be 0, 1, 3, 4, 5, 6 or 7")?;
    specific_schedule(
        frequency,
        plan.interval,
        plan.bill_specific_day,
        [plan.day_of_week, plan.day_of_month, plan.month],
    )
}

/// A schedule from Qualpay's fields; `days` is `[day_of_week, day_of_month, month]`.
pub fn specific_schedule(
    frequency: Frequency,
    interval: i32,
    bill_specific_day: bool,
    days: [Option<i32>; 3],
) -> Result<Schedule, String> {
    let interval = u32::try_from(interval).map_err(|_| "interval: must be 1 to 99".to_owned())?;
    let to_u32 = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    let specific = bill_specific_day.then(|| SpecificDay {
        day_of_week: to_u32(days[0]),
        day_of_month: to_u32(days[1]),
        month: to_u32(days[2]),
    });
    Schedule::new(frequency, interval, specific).map_err(|e| e.to_string())
}
