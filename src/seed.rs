//! Demo data for a fresh embedded vault: a handful of customers with cards, a bank account and
//! shipping addresses, three plans, four subscriptions and a few payments (a sale, an auth and a
//! decline), added through the same REST client the gateway uses.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::qualpay::{
    AddBillingCardRequest, AddCustomerRequest, AddShippingAddressRequest, AddSubscriptionRequest,
    PgRequest, PlanRequest,
};
use crate::secret::Secret;
use crate::upstream::{BrowseParams, PgCall, Upstream, UpstreamError};

/// What [`seed_if_empty`] added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub customers: usize,
    pub plans: usize,
    pub subscriptions: usize,
    pub payments: usize,
}

/// Adds the demo customers when the vault has none; their subscriptions start on `today`.
/// Returns what was added, or `None` when the vault already had customers.
pub async fn seed_if_empty(
    upstream: &Upstream,
    today: NaiveDate,
) -> Result<Option<Seeded>, UpstreamError> {
    let probe = BrowseParams {
        count: 1,
        ..BrowseParams::default()
    };
    if upstream.browse_customers(&probe).await?.total_records > 0 {
        return Ok(None);
    }
    let customers = demo_customers();
    for customer in &customers {
        upstream.add_customer(customer).await?;
    }
    let plans = demo_plans();
    for plan in &plans {
        upstream.add_plan(plan).await?;
    }
    let today = today.format("%Y-%m-%d").to_string();
    let subscriptions = [
        ("ADALOVELACE", "PRO-MONTHLY"),
        ("GRACEHOPPER", "BASIC-MONTHLY"),
        ("ALANTURING", "ANNUAL"),
        // Its primary card declines every charge: watch the retries and the suspension.
        ("ACMECORP", "PRO-MONTHLY"),
    ];
    for (customer_id, plan_code) in subscriptions {
        let subscription = AddSubscriptionRequest {
            date_start: Some(today.clone()),
            customer_id: Some(customer_id.into()),
            plan_code: Some(plan_code.into()),
            ..AddSubscriptionRequest::default()
        };
        upstream.add_subscription(&subscription).await?;
    }
    let payments = [
        (PgCall::Sale, "ADALOVELACE", Decimal::new(4900, 2)),
        (PgCall::Auth, "GRACEHOPPER", Decimal::new(12000, 2)),
        // Its primary card declines: a DECLINED payment to look at.
        (PgCall::Sale, "ACMECORP", Decimal::new(2500, 2)),
    ];
    for (call, customer_id, amount) in payments {
        let payment = PgRequest {
            amt_tran: Some(amount),
            customer_id: Some(customer_id.into()),
            purchase_id: Some("DEMO".into()),
            ..PgRequest::default()
        };
        upstream.pg(call, &payment).await?;
    }
    Ok(Some(Seeded {
        customers: customers.len(),
        plans: plans.len(),
        subscriptions: subscriptions.len(),
        payments: payments.len(),
    }))
}

fn demo_plans() -> Vec<PlanRequest> {
    let plan = |code: &str, name: &str, frequency: i32, amount: Decimal| PlanRequest {
        plan_code: Some(code.into()),
        plan_name: Some(name.into()),
        plan_desc: Some(format!("{name} (demo plan)")),
        plan_frequency: Some(frequency),
        plan_duration: Some(-1),
        amt_tran: Some(amount),
        ..PlanRequest::default()
    };
    let mut pro = plan("PRO-MONTHLY", "Pro, monthly", 3, Decimal::new(2900, 2));
    pro.amt_setup = Some(Decimal::new(1000, 2));
    pro.trial_duration = Some(1);
    pro.amt_trial = Some(Decimal::new(100, 2));
    let mut annual = plan("ANNUAL", "Annual", 6, Decimal::new(29900, 2));
    annual.plan_duration = Some(3);
    vec![
        plan("BASIC-MONTHLY", "Basic, monthly", 3, Decimal::new(999, 2)),
        pro,
        annual,
    ]
}

fn card(number: &str, exp_date: &str, zip: &str, primary: bool) -> AddBillingCardRequest {
    AddBillingCardRequest {
        card_number: Some(Secret::new(number.to_owned())),
        exp_date: Some(exp_date.to_owned()),
        billing_zip: Some(zip.to_owned()),
        primary: primary.then_some(true),
        ..AddBillingCardRequest::default()
    }
}

fn address(
    first: &str,
    last: &str,
    addr1: &str,
    city: &str,
    state: &str,
    zip: &str,
) -> AddShippingAddressRequest {
    AddShippingAddressRequest {
        shipping_first_name: Some(first.to_owned()),
        shipping_last_name: Some(last.to_owned()),
        shipping_addr1: Some(addr1.to_owned()),
        shipping_city: Some(city.to_owned()),
        shipping_state: Some(state.to_owned()),
        shipping_zip: Some(zip.to_owned()),
        shipping_country_code: Some("840".to_owned()),
        ..AddShippingAddressRequest::default()
    }
}

fn customer(id: &str, first: &str, last: &str, email: &str) -> AddCustomerRequest {
    AddCustomerRequest {
        customer_id: Some(id.to_owned()),
        customer_first_name: Some(first.to_owned()),
        customer_last_name: Some(last.to_owned()),
        customer_email: Some(email.to_owned()),
        ..AddCustomerRequest::default()
    }
}

fn demo_customers() -> Vec<AddCustomerRequest> {
    let mut ada = customer("ADALOVELACE", "Ada", "Lovelace", "ada@example.com");
    ada.customer_phone = Some("415-555-0100".into());
    ada.billing_cards = Some(vec![
        card("4111111111111111", "1230", "94402", false),
        card("5555555555554444", "0629", "94402", true),
    ]);
    ada.shipping_addresses = Some(vec![
        address(
            "Ada",
            "Lovelace",
            "12 St James's Square",
            "San Mateo",
            "CA",
            "94402",
        ),
        address(
            "Ada",
            "Lovelace",
            "1 Analytical Way",
            "Palo Alto",
            "CA",
            "94301",
        ),
    ]);

    let mut grace = customer("GRACEHOPPER", "Grace", "Hopper", "grace@example.com");
    grace.billing_cards = Some(vec![
        card("378282246310005", "0828", "10001", false),
        AddBillingCardRequest {
            type_id: Some("C".into()),
            tr_number: Some("011000015".into()),
            dda_number: Some(Secret::new("123456789".into())),
            billing_first_name: Some("Grace".into()),
            billing_last_name: Some("Hopper".into()),
            billing_zip: Some("10001".into()),
            ..AddBillingCardRequest::default()
        },
    ]);
    grace.shipping_addresses = Some(vec![address(
        "Grace",
        "Hopper",
        "3 Navy Yard",
        "New York",
        "NY",
        "10001",
    )]);

    let mut alan = customer("ALANTURING", "Alan", "Turing", "alan@example.com");
    alan.billing_cards = Some(vec![card("6011111111111117", "0330", "02139", false)]);

    let mut acme = AddCustomerRequest {
        customer_id: Some("ACMECORP".into()),
        customer_firm_name: Some("Acme Corporation".into()),
        customer_email: Some("billing@acme.example".into()),
        reference_id: Some("ERP-10042".into()),
        ..AddCustomerRequest::default()
    };
    acme.billing_cards = Some(vec![
        card("3530111333300000", "1129", "85001", false),
        // Verifies, then declines every charge: for trying out failed recurring payments.
        card("4000000000000341", "1231", "85001", true),
    ]);
    acme.shipping_addresses = Some(vec![address(
        "Wile E.",
        "Coyote",
        "1 Desert Road",
        "Phoenix",
        "AZ",
        "85001",
    )]);

    let katherine = customer(
        "KATHERINEJOHNSON",
        "Katherine",
        "Johnson",
        "katherine@example.com",
    );
    vec![ada, grace, alan, acme, katherine]
}
