//! The built-in test processor that verifies cards (and, for recurring billing, charges them).
//! Its response codes are Qualpay's gateway `rcode`s, three characters: `000` approved, `0xx`
//! for the issuer's two-character decline codes. It approves everything except these inputs:
//!
//! | input | verification | charge |
//! |-------|--------------|--------|
//! | card `4000000000000002` | declined, `005` do not honor | declined, `005` |
//! | card `4000000000000341` | approved | declined, `051` insufficient funds |
//! | CVV `999` on any card | declined, `0N7` CVV mismatch | — |
//! | a card past its expiry month on the charge date | — | declined, `054` expired card |
//! | a card no longer on file | — | declined, `014` invalid card number |

use chrono::{Datelike, NaiveDate};

/// The response code of an approval.
pub const APPROVED: &str = "000";

/// What the processor answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approved,
    Declined {
        response_code: &'static str,
        message: &'static str,
    },
}

pub const DO_NOT_HONOR: Outcome = Outcome::Declined {
    response_code: "005",
    message: "Do not honor",
};

pub const INSUFFICIENT_FUNDS: Outcome = Outcome::Declined {
    response_code: "051",
    message: "Insufficient funds",
};

pub const EXPIRED_CARD: Outcome = Outcome::Declined {
    response_code: "054",
    message: "Expired card",
};

/// The card a charge names is not on file (deleted since the subscription was made).
pub const NO_SUCH_CARD: Outcome = Outcome::Declined {
    response_code: "014",
    message: "No such card on file",
};

pub const CVV_MISMATCH: Outcome = Outcome::Declined {
    response_code: "0N7",
    message: "CVV2 mismatch",
};

/// A zero-amount verification of a card number, with the CVV when the caller has one.
pub fn verify(card_number: &str, cvv: Option<&str>) -> Outcome {
    match (card_number, cvv) {
        ("4000000000000002", _) => DO_NOT_HONOR,
        (_, Some("999")) => CVV_MISMATCH,
        _ => Outcome::Approved,
    }
}

/// A sale against a stored card on `on`; a card past its `MMYY` expiry month is declined.
pub fn charge_on(card_number: &str, exp_date: Option<&str>, on: NaiveDate) -> Outcome {
    let expired = exp_date
        .filter(|e| e.len() == 4)
        .and_then(|e| {
            Some((
                e.get(2..)?.parse::<i32>().ok()? + 2000,
                e.get(..2)?.parse::<u32>().ok()?,
            ))
        })
        .is_some_and(|(year, month)| (year, month) < (on.year(), on.month()));
    if expired {
        return EXPIRED_CARD;
    }
    charge(card_number)
}

/// A sale against a stored card.
pub fn charge(card_number: &str) -> Outcome {
    match card_number {
        "4000000000000002" => DO_NOT_HONOR,
        "4000000000000341" => INSUFFICIENT_FUNDS,
        _ => Outcome::Approved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_test_inputs_decline() {
        assert_eq!(verify("4111111111111111", Some("123")), Outcome::Approved);
        assert_eq!(verify("4000000000000341", None), Outcome::Approved);
        assert_eq!(verify("4000000000000002", None), DO_NOT_HONOR);
        assert_eq!(verify("4111111111111111", Some("999")), CVV_MISMATCH);
        assert_eq!(charge("4000000000000341"), INSUFFICIENT_FUNDS);
        assert_eq!(charge("4111111111111111"), Outcome::Approved);
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            charge_on("4111111111111111", Some("0127"), day("2027-01-31")),
            Outcome::Approved
        );
        assert_eq!(
            charge_on("4111111111111111", Some("0127"), day("2027-02-01")),
            EXPIRED_CARD
        );
    }

    #[test]
    fn response_codes_are_three_characters() {
        for outcome in [
            DO_NOT_HONOR,
            INSUFFICIENT_FUNDS,
            EXPIRED_CARD,
            NO_SUCH_CARD,
            CVV_MISMATCH,
        ] {
            let Outcome::Declined { response_code, .. } = outcome else {
                panic!("a decline");
            };
            assert_eq!(response_code.len(), 3, "{response_code}");
            assert!(response_code.starts_with('0'), "{response_code}");
        }
        assert_eq!(APPROVED.len(), 3);
    }
}
