//! What the sandbox's Account Updater answers for a card, by its number: the test processor's
//! cards for the account updater. Reason codes and their meanings are the spec's
//! (`AccountUpdaterDetail.reason_code`).
//!
//! | number | reason code | effect on the stored card |
//! |--------|-------------|---------------------------|
//! | `4000000000202004` | `200` valid account, no update | none |
//! | `4000000000202012` | `201` expiration date updated | expiry 3 years later |
//! | `4000000000202020` | `202` account number updated | number becomes `4242424242424242` |
//! | `4000000000202038` | `203` account is closed | put on hold |
//! | `4000000000202046` | `204` contact cardholder | put on hold |
//! | `4000000000202061` | `206` no match | none |
//! | `4000000000203150` | `315` invalid expiration date | none |
//! | `4000000000203200` | `320` invalid account number | none |
//! | `4000000000203291` | `329` invalid card type | none |
//! | any other card | `200` | none |
//! | a card deleted since the request | `000` no response | — |

use crate::vault::domain::card::ExpDate;

/// The number a `202` card gets.
pub const NEW_NUMBER: &str = "4242424242424242";

/// Years a `201` card's expiry moves forward.
const EXPIRY_YEARS: i32 = 3;

/// A card no longer on file when the request completes.
pub const NO_RESPONSE: &str = "000";

/// The answer for one card, before it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub reason_code: &'static str,
    /// `MMYY`, for a `201`.
    pub exp_date_new: Option<String>,
    /// The full new number, for a `202` (sealed before it is stored, never shown).
    pub number_new: Option<&'static str>,
    pub hold: bool,
}

/// The answer for a card with this number and expiry.
pub fn answer(number: &str, exp_date: Option<&str>) -> Answer {
    let plain = |reason_code| Answer {
        reason_code,
        exp_date_new: None,
        number_new: None,
        hold: false,
    };
    match number {
        "4000000000202012" => match exp_date.and_then(|e| ExpDate::parse(e).ok()) {
            Some(exp) => Answer {
                exp_date_new: Some(format!(
                    "{:02}{:02}",
                    exp.month(),
                    (exp.year() + EXPIRY_YEARS) % 100
                )),
                ..plain("201")
            },
            // No expiry to move: nothing to update.
            None => plain("200"),
        },
        "4000000000202020" => Answer {
            number_new: Some(NEW_NUMBER),
            ..plain("202")
        },
        "4000000000202038" => Answer {
            hold: true,
            ..plain("203")
        },
        "4000000000202046" => Answer {
            hold: true,
            ..plain("204")
        },
        "4000000000202061" => plain("206"),
        "4000000000203150" => plain("315"),
        "4000000000203200" => plain("320"),
        "4000000000203291" => plain("329"),
        _ => plain("200"),
    }
}

/// Whether Qualpay bills the merchant for the answer: the matches, 201 to 204.
pub fn billable(reason_code: &str) -> bool {
    matches!(reason_code, "201" | "202" | "203" | "204")
}

/// Whether the answer changes the card's number or expiry (the summary's `cnt_update`).
pub fn updates(reason_code: &str) -> bool {
    matches!(reason_code, "201" | "202")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_201_card_expires_three_years_later() {
        let a = answer("4000000000202012", Some("0430"));
        assert_eq!(a.reason_code, "201");
        assert_eq!(a.exp_date_new.as_deref(), Some("0433"));
    }

    #[test]
    fn closed_and_contact_cardholder_cards_go_on_hold_and_others_change_nothing() {
        assert!(answer("4000000000202038", None).hold);
        assert!(answer("4000000000202046", None).hold);
        assert_eq!(answer("4111111111111111", None).reason_code, "200");
        assert_eq!(answer("4000000000203291", None).reason_code, "329");
        assert_eq!(
            answer("4000000000202020", None).number_new,
            Some(NEW_NUMBER)
        );
    }
}
