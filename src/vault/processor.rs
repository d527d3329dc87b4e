//! The built-in test processor that authorizes cards for the Payment Gateway (`/pg`), verifies
//! them (add-card with `verify`) and charges them for recurring billing: one table for all.
//! Its response codes are Qualpay's gateway `rcode`s, three characters: `000` approved, `010`
//! partially approved, `0xx` for the issuer's two-character decline codes, `998` a timeout. It
//! approves everything except these inputs:
//!
//! | input | verification | charge |
//! |-------|--------------|--------|
//! | card `4000000000000002` | declined, `005` do not honor | declined, `005` |
//! | card `4000000000000341` | approved | declined, `051` insufficient funds |
//! | card `4000000000000044` | declined, `004` pick up card | declined, `004` |
//! | card `4000000000000069` | declined, `054` expired card | declined, `054` |
//! | card `4000000000000093` | approved | `partial_auth`: `010` for half; otherwise `051` |
//! | card `4000000000000259` | timeout, `998` | timeout, `998` |
//! | CVV `999` on any card | declined, `0N7` CVV mismatch | declined, `0N7` |
//! | a card past its expiry month on the charge date | declined, `054` | declined, `054` expired card |
//! | a card no longer on file | — | declined, `014` invalid card number |
//! | a card on Account Updater hold | — | declined, `0AH` by the vault, which does not call the processor |
//!
//! AVS, when a zip code is sent: `N` for `99999`, `Y` with a street address, `Z` without.

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

/// The card a recurring charge names is on Account Updater hold (`POST /aus/hold`, or an
/// account closed or contact-cardholder answer): the vault declines the attempt itself, without
/// calling the processor, and the subscription goes its usual way after a decline. `0AH` is
/// vaultql's own code (no issuer sends it).
pub const HELD_CARD: Outcome = Outcome::Declined {
    response_code: "0AH",
    message: "Card on account updater hold",
};

pub const CVV_MISMATCH: Outcome = Outcome::Declined {
    response_code: "0N7",
    message: "CVV2 mismatch",
};

pub const PICK_UP_CARD: Outcome = Outcome::Declined {
    response_code: "004",
    message: "Pick up card",
};

/// The processor did not answer in time: nothing was charged.
pub const TIMEOUT: Outcome = Outcome::Declined {
    response_code: "998",
    message: "Timeout",
};

/// The test card that partially approves with `partial_auth`.
const PARTIAL_CARD: &str = "4000000000000093";

/// What a Payment Gateway authorization sends the processor.
#[derive(Debug, Clone, Copy)]
pub struct Authorization<'a> {
    pub card_number: &'a str,
    /// `MMYY`, when the source has one.
    pub exp_date: Option<&'a str>,
    pub cvv: Option<&'a str>,
    pub avs_zip: Option<&'a str>,
    pub avs_address: Option<&'a str>,
    /// Cents; 0 for a verification.
    pub amount: i64,
    pub partial_auth: bool,
    /// The merchant's date, for the expiry check.
    pub today: NaiveDate,
}

/// What the processor answered an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub outcome: Outcome,
    /// Cents approved: the amount, half of it on a partial approval, 0 when declined.
    pub approved: i64,
    pub partial: bool,
    pub avs_result: Option<&'static str>,
    pub cvv2_result: Option<&'static str>,
}

/// Authorizes an amount on a card (a verification when `amount` is 0).
pub fn authorize(request: &Authorization<'_>) -> Authorized {
    let avs_result = request.avs_zip.map(|zip| match (zip, request.avs_address) {
        ("99999", _) => "N",
        (_, Some(_)) => "Y",
        (_, None) => "Z",
    });
    let cvv2_result = request.cvv.map(|cvv| if cvv == "999" { "N" } else { "M" });
    let verification = request.amount == 0;
    let mut partial = false;
    let outcome = if request.cvv == Some("999") {
        CVV_MISMATCH
    } else if expired(request.exp_date, request.today) {
        EXPIRED_CARD
    } else {
        match request.card_number {
            "4000000000000002" => DO_NOT_HONOR,
            "4000000000000044" => PICK_UP_CARD,
            "4000000000000069" => EXPIRED_CARD,
            "4000000000000259" => TIMEOUT,
            "4000000000000341" if !verification => INSUFFICIENT_FUNDS,
            PARTIAL_CARD if !verification && !request.partial_auth => INSUFFICIENT_FUNDS,
            PARTIAL_CARD if !verification => {
                partial = true;
                Outcome::Approved
            }
            _ => Outcome::Approved,
        }
    };
    let approved = match outcome {
        Outcome::Approved if partial => request.amount / 2,
        Outcome::Approved => request.amount,
        Outcome::Declined { .. } => 0,
    };
    Authorized {
        outcome,
        approved,
        partial,
        avs_result,
        cvv2_result,
    }
}

/// Whether an `MMYY` expiry month is before `today`'s month.
fn expired(exp_date: Option<&str>, today: NaiveDate) -> bool {
    exp_date
        .filter(|e| e.len() == 4)
        .and_then(|e| {
            Some((
                e.get(2..)?.parse::<i32>().ok()? + 2000,
                e.get(..2)?.parse::<u32>().ok()?,
            ))
        })
        .is_some_and(|(year, month)| (year, month) < (today.year(), today.month()))
}

/// A zero-amount verification of a card number, with the CVV when the caller has one (the
/// expiry was checked by validation).
pub fn verify(card_number: &str, cvv: Option<&str>) -> Outcome {
    authorize(&Authorization {
        card_number,
        exp_date: None,
        cvv,
        avs_zip: None,
        avs_address: None,
        amount: 0,
        partial_auth: false,
        today: NaiveDate::MIN,
    })
    .outcome
}

/// A sale against a stored card on `on`; a card past its `MMYY` expiry month is declined.
pub fn charge_on(card_number: &str, exp_date: Option<&str>, on: NaiveDate) -> Outcome {
    authorize(&Authorization {
        card_number,
        exp_date,
        cvv: None,
        avs_zip: None,
        avs_address: None,
        amount: 1,
        partial_auth: false,
        today: on,
    })
    .outcome
}

/// A sale against a stored card.
pub fn charge(card_number: &str) -> Outcome {
    charge_on(card_number, None, NaiveDate::MIN)
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
            PICK_UP_CARD,
        ] {
            let Outcome::Declined { response_code, .. } = outcome else {
                panic!("a decline");
            };
            assert_eq!(response_code.len(), 3, "{response_code}");
            assert!(response_code.starts_with('0'), "{response_code}");
        }
        assert_eq!(APPROVED.len(), 3);
    }

    #[test]
    fn partial_approval_is_half_and_needs_partial_auth() {
        let today = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        let request = |partial_auth| Authorization {
            card_number: PARTIAL_CARD,
            exp_date: Some("1230"),
            cvv: Some("123"),
            avs_zip: Some("94402"),
            avs_address: None,
            amount: 1001,
            partial_auth,
            today,
        };
        let partial = authorize(&request(true));
        assert_eq!(partial.outcome, Outcome::Approved);
        assert!(partial.partial);
        assert_eq!(partial.approved, 500);
        assert_eq!(partial.avs_result, Some("Z"));
        assert_eq!(partial.cvv2_result, Some("M"));
        let refused = authorize(&request(false));
        assert_eq!(refused.outcome, INSUFFICIENT_FUNDS);
        assert_eq!(refused.approved, 0);
        assert_eq!(
            authorize(&Authorization {
                amount: 0,
                ..request(false)
            })
            .outcome,
            Outcome::Approved
        );
    }
}
