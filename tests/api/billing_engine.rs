//! The billing schedule end to end, through the sandbox clock: a year of monthly charges,
//! setup fees, trials and prorated payments, declines with their retries and suspension,
//! pause, resume and cancel. Every test has its own in-memory server with the scheduler off, so
//! only the clock bills.

use chrono::Datelike;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::billing_support::{
    act, add_card, add_plan, advance, advance_times, billing_app, brief, clock_today,
    customer_with_card, dates_with_status, day, days, dec, exchange, money, monthly_dates,
    months_after, next_31st, off_plan, on_plan, plan_body, plus_days, put, sub_id, subscribe,
    subscription, transactions,
};
use crate::testdata::{CHARGE_DECLINE_CARD, VISA};

#[tokio::test(flavor = "multi_thread")]
async fn a_year_of_monthly_billing_from_the_31st_gives_twelve_charges_on_the_right_days_then_completes()
 {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    let start = next_31st(today);
    let card = customer_with_card(&app, "Year31", VISA).await;

    add_plan(&app, &plan_body("YEAR12", 19.99, 12)).await;
    let twelve = subscribe(&app, &on_plan("Year31", "YEAR12", start)).await;
    let endless = subscribe(&app, &off_plan("Year31", start, 19.99, -1)).await;
    assert_eq!(
        twelve["card_id"], card,
        "the customer's only card is billed"
    );
    assert_eq!(twelve["date_next"], day(start), "{twelve}");
    assert_eq!(twelve["status"], "A");

    let expected = monthly_dates(start, 12);
    // Jan 31, Feb 28 (or 29), Mar 31, Apr 30, ...: the anchor day is kept, never drifting.
    for (n, d) in expected.iter().enumerate() {
        let month_days = months_after(*d, 1, 1).pred_opt().expect("a date").day();
        assert_eq!(
            d.day(),
            month_days.min(31),
            "cycle {n} is on the month's end: {d}"
        );
    }
    assert_eq!(
        twelve["date_end"],
        day(expected[11]),
        "date_end is the 12th billing date: {twelve}"
    );

    // 15 monthly steps: past the 12th cycle (at most 11 months + 30 days away) with room.
    let total = advance_times(&app, "P1M", 15).await;

    let sub = subscription(&app, sub_id(&twelve)).await;
    assert_eq!(sub["status"], "D", "complete after 12 cycles: {sub}");
    assert!(
        sub.get("date_next").is_none(),
        "no next date once complete: {sub}"
    );
    let charges = transactions(&app, sub_id(&twelve)).await;
    assert_eq!(
        dates_with_status(&charges, "A"),
        days(&expected),
        "12 approved charges, one per month on the anchor day: {}",
        brief(&charges)
    );
    assert_eq!(charges.len(), 12, "and nothing else: {}", brief(&charges));
    for charge in &charges {
        assert_eq!(charge["rcode"], "000", "{charge}");
        assert_eq!(money(&charge["amt_tran"]), dec("19.99"), "{charge}");
        assert_eq!(charge["card_id"], card, "{charge}");
    }
    let sum: Decimal = charges.iter().map(|c| money(&c["amt_tran"])).sum();
    assert_eq!(sum, dec("239.88"));

    // The endless subscription billed every cycle up to the clock's date and goes on.
    let due: Vec<_> = monthly_dates(start, 40)
        .into_iter()
        .filter(|d| *d <= total.today)
        .collect();
    assert!(
        due.len() > 12,
        "the clock went past a year: {}",
        total.today
    );
    let sub = subscription(&app, sub_id(&endless)).await;
    assert_eq!(sub["status"], "A", "-1 bills until cancelled: {sub}");
    assert_eq!(
        sub["date_next"],
        day(months_after(start, due.len() as i32, 31)),
        "{sub}"
    );
    let charges = transactions(&app, sub_id(&endless)).await;
    assert_eq!(
        dates_with_status(&charges, "A"),
        days(&due),
        "{}",
        brief(&charges)
    );
    assert_eq!(
        total.approved as usize,
        12 + due.len(),
        "the clock's summaries count every approved charge once"
    );
    assert_eq!(total.declined, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_fee_and_the_trial_cycles_come_first_then_the_recurring_amount() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "Setup01", VISA).await;
    customer_with_card(&app, "Setup02", VISA).await;
    let plan = json!({
        "plan_code": "TRIAL2",
        "plan_name": "Trial then monthly",
        "plan_desc": "setup fee, two trial months, three paid months",
        "plan_frequency": 3,
        "plan_duration": 3,
        "trial_duration": 2,
        "amt_trial": 1.5,
        "amt_setup": 25.0,
        "amt_tran": 19.99
    });
    add_plan(&app, &plan).await;
    let with_fee = subscribe(&app, &on_plan("Setup01", "TRIAL2", today)).await;
    let mut body = on_plan("Setup02", "TRIAL2", today);
    body["amt_setup_ignore"] = json!(true);
    let without_fee = subscribe(&app, &body).await;

    let cycles = monthly_dates(today, 5);
    assert_eq!(money(&with_fee["amt_setup"]), dec("25"), "{with_fee}");
    assert_eq!(money(&with_fee["trial_amt"]), dec("1.5"), "{with_fee}");
    assert_eq!(money(&with_fee["recur_amt"]), dec("19.99"), "{with_fee}");
    assert_eq!(with_fee["trial_date_start"], day(cycles[0]), "{with_fee}");
    assert_eq!(with_fee["trial_date_end"], day(cycles[1]), "{with_fee}");
    assert_eq!(with_fee["recur_date_start"], day(cycles[2]), "{with_fee}");
    assert_eq!(with_fee["recur_date_end"], day(cycles[4]), "{with_fee}");
    assert!(
        without_fee.get("amt_setup").is_none(),
        "amt_setup_ignore drops the fee: {without_fee}"
    );

    advance_times(&app, "P1M", 5).await;

    let kinds = |charges: &[Value]| -> Vec<(String, String, String)> {
        charges
            .iter()
            .map(|c| {
                (
                    c["tran_date"].as_str().unwrap_or_default().to_owned(),
                    c["tran_status"].as_str().unwrap_or_default().to_owned(),
                    money(&c["amt_tran"]).normalize().to_string(),
                )
            })
            .collect()
    };
    let a = |d: usize, amount: &str| (day(cycles[d]), "A".to_owned(), amount.to_owned());
    let charged = transactions(&app, sub_id(&with_fee)).await;
    assert_eq!(
        kinds(&charged),
        [
            a(0, "25"),
            a(0, "1.5"),
            a(1, "1.5"),
            a(2, "19.99"),
            a(3, "19.99"),
            a(4, "19.99")
        ],
        "setup fee on the start date, then 2 trial cycles, then 3 paid cycles, in order"
    );
    let charged = transactions(&app, sub_id(&without_fee)).await;
    assert_eq!(
        kinds(&charged),
        [
            a(0, "1.5"),
            a(1, "1.5"),
            a(2, "19.99"),
            a(3, "19.99"),
            a(4, "19.99")
        ],
        "amt_setup_ignore: no setup fee, the rest the same"
    );
    for id in [sub_id(&with_fee), sub_id(&without_fee)] {
        let sub = subscription(&app, id).await;
        assert_eq!(
            sub["status"], "D",
            "complete after trial + duration cycles: {sub}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prorated_first_payment_covers_the_days_up_to_the_billing_day() {
    let app = billing_app().await;
    let today = clock_today(&app).await;
    customer_with_card(&app, "Prorate01", VISA).await;
    // A billing day after today: tomorrow's day of month, or the 1st..4th of next month.
    let billing_day = today.day() % 28 + 1;
    let plan = json!({
        "plan_code": "PRORATE",
        "plan_name": "Prorated",
        "plan_desc": "monthly on a fixed day, first payment prorated",
        "plan_frequency": 3,
        "plan_duration": 2,
        "amt_tran": 30.0,
        "bill_specific_day": true,
        "day_of_month": billing_day,
        "prorate_first_pmt": true
    });
    add_plan(&app, &plan).await;
    let sub = subscribe(&app, &on_plan("Prorate01", "PRORATE", today)).await;
    let first = if today.day() < billing_day {
        today.with_day(billing_day).expect("a date")
    } else {
        months_after(today, 1, billing_day)
    };
    assert_eq!(
        sub["date_next"],
        day(today),
        "the prorated payment is due at the start: {sub}"
    );
    assert_eq!(sub["prorate_date_start"], day(today), "{sub}");
    assert_eq!(sub["recur_date_start"], day(first), "{sub}");
    // amount × (days from the start to the first billing day) / (days of the full cycle that
    // ends on the first billing day), rounded to cents.
    let covered = (first - today).num_days();
    let cycle = (first - months_after(first, -1, billing_day)).num_days();
    let expected = (dec("30") * Decimal::from(covered) / Decimal::from(cycle))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(
        money(&sub["prorate_amt"]),
        expected,
        "30.00 × {covered} / {cycle} days, from {today} to {first}: {sub}"
    );

    advance_times(&app, "P1M", 3).await;
    let charged = transactions(&app, sub_id(&sub)).await;
    let got: Vec<(String, Decimal)> = charged
        .iter()
        .map(|c| {
            (
                c["tran_date"].as_str().unwrap_or_default().to_owned(),
                money(&c["amt_tran"]),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (day(today), expected),
            (day(first), dec("30")),
            (day(months_after(first, 1, billing_day)), dec("30"))
        ],
        "the prorated payment on the start date, then the full cycles: {}",
        brief(&charged)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declining_card_is_retried_on_days_1_3_and_5_then_suspended_and_a_new_card_pays_the_cycle_once()
 {
    let app = billing_app().await;
    let t = clock_today(&app).await;
    customer_with_card(&app, "Decline01", CHARGE_DECLINE_CARD).await;
    let sub = subscribe(&app, &off_plan("Decline01", t, 10.0, -1)).await;
    let id = sub_id(&sub);

    let first = advance(&app, "P1D").await;
    assert_eq!(
        (first.approved, first.declined),
        (0, 2),
        "the due date and the retry a day later"
    );
    let second = advance(&app, "P2D").await;
    assert_eq!(
        (second.approved, second.declined),
        (0, 1),
        "the retry on day 3"
    );
    let sub = subscription(&app, id).await;
    assert_eq!(
        sub["status"], "A",
        "still active while retries remain: {sub}"
    );
    let third = advance(&app, "P2D").await;
    assert_eq!(
        (third.approved, third.declined),
        (0, 1),
        "the last retry on day 5"
    );

    let sub = subscription(&app, id).await;
    assert_eq!(sub["status"], "S", "suspended after the last retry: {sub}");
    assert_eq!(
        sub["date_next"],
        day(t),
        "the unpaid cycle stays due: {sub}"
    );
    assert_eq!(sub["response"]["rcode"], "051", "the last attempt: {sub}");
    assert_eq!(sub["response"]["status"], "Declined", "{sub}");
    let attempts = transactions(&app, id).await;
    assert_eq!(
        dates_with_status(&attempts, "D"),
        days(&[t, plus_days(t, 1), plus_days(t, 3), plus_days(t, 5)]),
        "{}",
        brief(&attempts)
    );
    assert_eq!(attempts.len(), 4, "{}", brief(&attempts));
    for attempt in &attempts {
        assert_eq!(attempt["rcode"], "051", "insufficient funds: {attempt}");
        assert_eq!(money(&attempt["amt_tran"]), dec("10"), "{attempt}");
    }

    let idle = advance(&app, "P3D").await;
    assert_eq!(
        (idle.approved, idle.declined),
        (0, 0),
        "a suspended subscription is not billed"
    );

    let good = add_card(&app, "Decline01", VISA).await;
    let body = json!({ "card_id": good });
    let resp = put(&app, &format!("/subscription/{id}"), &body).await;
    assert_eq!(resp.status, 200, "{}", exchange(&resp, Some(&body)));
    let sub = resp.json["data"].clone();
    assert_eq!(sub["status"], "A", "a new card re-activates it: {sub}");
    assert_eq!(sub["card_id"], good, "{sub}");

    let paid = advance(&app, "P1D").await;
    let stuck = subscription(&app, id).await;
    assert_eq!(
        (paid.approved, paid.declined),
        (1, 0),
        "the unpaid cycle is charged once on the next advance (PUT /subscription/{id} {body} \
         answered {}); now: {stuck} / {}",
        resp.text,
        brief(&transactions(&app, id).await)
    );
    let sub = subscription(&app, id).await;
    assert_eq!(sub["status"], "A", "{sub}");
    assert_eq!(
        sub["date_next"],
        day(months_after(t, 1, t.day())),
        "billing goes on with the next cycle: {sub}"
    );
    let after = advance(&app, "P1M").await;
    assert_eq!((after.approved, after.declined), (1, 0), "the next cycle");
    let attempts = transactions(&app, id).await;
    let approved: Vec<&Value> = attempts
        .iter()
        .filter(|a| a["tran_status"] == "A")
        .collect();
    assert_eq!(
        approved.len(),
        2,
        "one charge per cycle: {}",
        brief(&attempts)
    );
    assert_eq!(approved[0]["card_id"], good);
    assert_eq!(
        approved[1]["tran_date"],
        day(months_after(t, 1, t.day())),
        "{}",
        brief(&attempts)
    );
    assert_eq!(
        attempts.len(),
        6,
        "4 declines + 2 charges: {}",
        brief(&attempts)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn paused_cycles_are_never_billed_resume_bills_the_next_cycle_and_cancel_stops_billing() {
    let app = billing_app().await;
    let t = clock_today(&app).await;
    customer_with_card(&app, "Pause01", VISA).await;
    let sub = subscribe(&app, &off_plan("Pause01", t, 12.5, -1)).await;
    let id = sub_id(&sub);
    let cycle = |n: i32| months_after(t, n, t.day());

    assert_eq!(advance(&app, "P1D").await.approved, 1, "the first cycle");
    let paused = act(&app, id, "pause", "Pause01").await;
    assert_eq!(paused.json["data"]["status"], "P", "{}", paused.text);

    let idle = advance(&app, "P2M").await;
    assert_eq!(
        (idle.approved, idle.declined),
        (0, 0),
        "nothing is billed while paused"
    );

    let other = act(&app, id, "resume", "SomeoneElse").await;
    assert_eq!(
        other.status, 404,
        "another customer_id cannot resume it: {}",
        other.text
    );
    let resumed = act(&app, id, "resume", "Pause01").await;
    let data = resumed.json["data"].clone();
    assert_eq!(data["status"], "A", "{}", resumed.text);
    assert_eq!(
        data["date_next"],
        day(cycle(3)),
        "the cycles of the pause ({} and {}) are skipped: {data}",
        cycle(1),
        cycle(2)
    );

    let next = advance(&app, "P1M").await;
    assert_eq!(
        (next.approved, next.declined),
        (1, 0),
        "the next cycle bills"
    );
    let charged = transactions(&app, id).await;
    assert_eq!(
        dates_with_status(&charged, "A"),
        days(&[t, cycle(3)]),
        "{}",
        brief(&charged)
    );
    assert_eq!(charged.len(), 2, "{}", brief(&charged));

    let cancelled = act(&app, id, "cancel", "Pause01").await;
    let data = cancelled.json["data"].clone();
    assert_eq!(data["status"], "C", "{}", cancelled.text);
    assert!(
        data.get("date_next").is_none(),
        "no next date once cancelled: {data}"
    );
    let idle = advance(&app, "P3M").await;
    assert_eq!(
        (idle.approved, idle.declined),
        (0, 0),
        "nothing after cancel"
    );
    assert_eq!(transactions(&app, id).await.len(), 2);
    let sub = subscription(&app, id).await;
    assert_eq!(sub["status"], "C", "{sub}");
    assert!(sub.get("date_next").is_none(), "{sub}");

    for action in ["pause", "resume", "cancel"] {
        let resp = act(&app, id, action, "Pause01").await;
        assert_eq!(
            (resp.status, resp.json["code"].as_i64()),
            (409, Some(8)),
            "{action} of a cancelled subscription: {}",
            resp.text
        );
    }
    let body = json!({ "date_start": day(cycle(6)) });
    let resp = put(&app, &format!("/subscription/{id}"), &body).await;
    assert_eq!(resp.status, 400, "{}", exchange(&resp, Some(&body)));
}

#[tokio::test(flavor = "multi_thread")]
async fn resuming_a_suspended_subscription_retries_the_unpaid_cycle_at_once() {
    let app = billing_app().await;
    let t = clock_today(&app).await;
    customer_with_card(&app, "Suspend01", CHARGE_DECLINE_CARD).await;
    let id = sub_id(&subscribe(&app, &off_plan("Suspend01", t, 8.0, -1)).await);
    let walked = advance(&app, "P6D").await;
    assert_eq!(
        (walked.approved, walked.declined),
        (0, 4),
        "the due date and three retries"
    );
    assert_eq!(subscription(&app, id).await["status"], "S");
    let resp = act(&app, id, "pause", "Suspend01").await;
    assert_eq!(
        resp.status, 409,
        "only an active subscription pauses: {}",
        resp.text
    );

    let resumed = act(&app, id, "resume", "Suspend01").await;
    let data = resumed.json["data"].clone();
    assert_eq!(data["status"], "A", "{}", resumed.text);
    assert_eq!(
        data["date_next"],
        day(t),
        "the unpaid cycle is still the next: {data}"
    );

    // The card still declines: what matters is that the unpaid cycle is attempted again, once
    // per attempt, and never approved.
    let retried = advance(&app, "P1D").await;
    assert_eq!(retried.approved, 0);
    assert!(
        retried.declined >= 1,
        "resuming retries the unpaid cycle on the next advance: {retried:?}"
    );
    let attempts = transactions(&app, id).await;
    assert_eq!(
        attempts.len() as u64,
        4 + retried.declined,
        "{}",
        brief(&attempts)
    );
    let mut pg_ids: Vec<&str> = attempts
        .iter()
        .filter_map(|a| a["pg_id"].as_str())
        .collect();
    pg_ids.sort_unstable();
    pg_ids.dedup();
    assert_eq!(
        pg_ids.len(),
        attempts.len(),
        "every attempt is its own transaction"
    );
}
