//! Test card numbers, bank accounts, dates and request bodies.

use chrono::Datelike;
use serde_json::{Value, json};

pub const VISA: &str = "4111111111111111";
pub const VISA_MASKED: &str = "411111xxxxxx1111";
pub const VISA_2: &str = "4012888888881881";
pub const VISA_2_MASKED: &str = "401288xxxxxx1881";
pub const MASTERCARD: &str = "5555555555554444";
pub const MASTERCARD_MASKED: &str = "555555xxxxxx4444";
pub const MASTERCARD_2: &str = "5105105105105100";
pub const AMEX: &str = "378282246310005";
pub const AMEX_MASKED: &str = "378282xxxxx0005";
pub const DISCOVER: &str = "6011111111111117";
pub const DISCOVER_MASKED: &str = "601111xxxxxx1117";
pub const JCB: &str = "3530111333300000";
pub const JCB_MASKED: &str = "353011xxxxxx0000";
/// Declined by the built-in test processor when verified.
pub const DECLINED_CARD: &str = "4000000000000002";
/// Verifies fine (it only declines charges).
pub const CHARGE_DECLINE_CARD: &str = "4000000000000341";
/// 4111111111111111 with the last digit off by one.
pub const BAD_LUHN: &str = "4111111111111112";
/// The CVV the test processor treats as a mismatch.
pub const MISMATCH_CVV: &str = "999";

/// A routing number with a valid ABA checksum.
pub const ROUTING: &str = "011000015";
pub const ROUTING_2: &str = "021000021";
/// 011000015 with the check digit off by one.
pub const BAD_ROUTING: &str = "011000016";
pub const DDA: &str = "123456789012";
pub const DDA_MASKED: &str = "xxxxxxxx9012";

/// The Account Updater's test cards and the reason code each gets (here, so that
/// `.ci/scan-postgres` looks for them too).
pub const AU_TEST_CARDS: [(&str, &str); 9] = [
    ("4000000000202004", "200"),
    ("4000000000202012", "201"),
    ("4000000000202020", "202"),
    ("4000000000202038", "203"),
    ("4000000000202046", "204"),
    ("4000000000202061", "206"),
    ("4000000000203150", "315"),
    ("4000000000203200", "320"),
    ("4000000000203291", "329"),
];

/// The number a `202` card gets from the Account Updater.
pub const AU_NEW_NUMBER: &str = "4242424242424242";

/// Well-known numbers used throughout the suite; none may ever appear in logs.
pub const ALL_FIXED_PANS: [&str; 12] = [
    VISA,
    VISA_2,
    MASTERCARD,
    MASTERCARD_2,
    AMEX,
    DISCOVER,
    JCB,
    DECLINED_CARD,
    CHARGE_DECLINE_CARD,
    BAD_LUHN,
    DDA,
    AU_NEW_NUMBER,
];

/// A far-future expiry used where the exact date does not matter (December 2039).
pub const FUTURE_EXP: &str = "1239";

/// The Luhn check digit for `payload` (the number without its last digit).
pub fn luhn_check_digit(payload: &str) -> char {
    let sum: u32 = payload
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).expect("digits only");
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10).expect("a digit")
}

/// `payload` followed by its Luhn check digit.
pub fn luhn_complete(payload: &str) -> String {
    format!("{payload}{}", luhn_check_digit(payload))
}

pub fn luhn_valid(number: &str) -> bool {
    let (payload, check) = number.split_at(number.len() - 1);
    check.starts_with(luhn_check_digit(payload))
}

/// The `n`-th of a family of valid 16-digit Visa numbers, distinct from the fixed test cards.
pub fn generated_visa(n: u32) -> String {
    luhn_complete(&format!("4{:014}", 73_000_000_000_u64 + u64::from(n)))
}

/// `first6 + x.. + last4`, the mask the vault returns for card numbers.
pub fn masked(number: &str) -> String {
    let len = number.len();
    format!(
        "{}{}{}",
        &number[..6],
        "x".repeat(len - 10),
        &number[len - 4..]
    )
}

/// MMYY for the month `delta` months away from the test clock's month.
pub fn exp_months_from_now(delta: i32) -> String {
    let now = crate::helpers::test_now();
    let months = now.year() * 12 + now.month0() as i32 + delta;
    let (year, month0) = (months.div_euclid(12), months.rem_euclid(12));
    format!("{:02}{:02}", month0 + 1, year % 100)
}

/// A minimal valid add-card request.
pub fn card(number: &str) -> Value {
    json!({ "card_number": number, "exp_date": FUTURE_EXP, "billing_zip": "94107" })
}

/// An add-card request with every billing field set.
pub fn full_card(number: &str, cvv2: &str) -> Value {
    json!({
        "card_number": number,
        "exp_date": FUTURE_EXP,
        "cvv2": cvv2,
        "billing_first_name": "Jane",
        "billing_last_name": "Doe",
        "billing_firm_name": "Doe Widgets",
        "billing_email": ["jane@example.com", "billing@example.com"],
        "billing_addr1": "1 Market St",
        "billing_addr2": "Suite 100",
        "billing_city": "San Francisco",
        "billing_state": "CA",
        "billing_zip": "94107",
        "billing_zip4": "1234",
        "billing_country": "USA",
        "billing_country_code": "840"
    })
}

/// A valid ACH (bank account) add request.
pub fn ach(type_id: &str, routing: &str, dda: &str) -> Value {
    json!({
        "type_id": type_id,
        "tr_number": routing,
        "dda_number": dda,
        "billing_first_name": "Jane",
        "billing_last_name": "Doe",
        "billing_zip": "94107"
    })
}

/// A minimal valid shipping address.
pub fn address(first: &str, last: &str) -> Value {
    json!({ "shipping_first_name": first, "shipping_last_name": last })
}

/// A shipping address with every field set.
pub fn full_address(first: &str, last: &str) -> Value {
    json!({
        "shipping_first_name": first,
        "shipping_last_name": last,
        "shipping_firm_name": "Doe Widgets",
        "shipping_addr1": "500 Howard St",
        "shipping_addr2": "Floor 3",
        "shipping_city": "San Francisco",
        "shipping_state": "CA",
        "shipping_zip": "94105",
        "shipping_zip4": "4321",
        "shipping_country": "USA",
        "shipping_country_code": "840"
    })
}

/// A minimal valid add-customer request.
pub fn customer(id: &str, first: &str, last: &str) -> Value {
    json!({ "customer_id": id, "customer_first_name": first, "customer_last_name": last })
}

/// `base` with the keys of `extra` added or replaced (both must be objects).
pub fn with(mut base: Value, extra: Value) -> Value {
    let target = base.as_object_mut().expect("base is an object");
    for (key, value) in extra.as_object().expect("extra is an object") {
        target.insert(key.clone(), value.clone());
    }
    base
}

/// `base` without `key`.
pub fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().expect("an object").remove(key);
    base
}

#[test]
fn the_luhn_helper_agrees_with_the_published_test_cards() {
    for number in [
        VISA,
        VISA_2,
        MASTERCARD,
        MASTERCARD_2,
        AMEX,
        DISCOVER,
        JCB,
        DECLINED_CARD,
    ] {
        assert!(luhn_valid(number), "{number} should pass Luhn");
    }
    assert!(!luhn_valid(BAD_LUHN));
    assert!(luhn_valid(&generated_visa(7)));
    assert_eq!(generated_visa(7).len(), 16);
    assert_eq!(masked(VISA), VISA_MASKED);
    assert_eq!(masked(AMEX), AMEX_MASKED);
}
