//! The built-in test processor that verifies cards (and, for recurring billing, charges them).
//! It approves everything except these test inputs:
//!
//! | input | verification | charge |
//! |-------|--------------|--------|
//! | card `4000000000000002` | declined, `05` do not honor | declined, `05` |
//! | card `4000000000000341` | approved | declined, `51` insufficient funds |
//! | CVV `999` on any card | declined, `N7` CVV mismatch | — |
//! | a card past its expiry month | — | declined, `54` expired card |

/// What the processor answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approved,
    Declined {
        response_code: &'static str,
        message: &'static str,
    },
}

const DO_NOT_HONOR: Outcome = Outcome::Declined {
    response_code: "05",
    message: "Do not honor",
};

/// A zero-amount verification of a card number, with the CVV when the caller has one.
pub fn verify(card_number: &str, cvv: Option<&str>) -> Outcome {
    match (card_number, cvv) {
        ("4000000000000002", _) => DO_NOT_HONOR,
        (_, Some("999")) => Outcome::Declined {
            response_code: "N7",
            message: "CVV2 mismatch",
        },
        _ => Outcome::Approved,
    }
}

/// A sale against a stored card on `on`; a card past its `MMYY` expiry month is declined.
pub fn charge_on(card_number: &str, exp_date: Option<&str>, on: chrono::NaiveDate) -> Outcome {
    use chrono::Datelike;
    let expired = exp_date
        .filter(|e| e.len() == 4)
        .and_then(|e| {
            Some((
                e[2..].parse::<i32>().ok()? + 2000,
                e[..2].parse::<u32>().ok()?,
            ))
        })
        .is_some_and(|(year, month)| (year, month) < (on.year(), on.month()));
    if expired {
        return Outcome::Declined {
            response_code: "54",
            message: "Expired card",
        };
    }
    charge(card_number)
}

/// A sale against a stored card.
pub fn charge(card_number: &str) -> Outcome {
    match card_number {
        "4000000000000002" => DO_NOT_HONOR,
        "4000000000000341" => Outcome::Declined {
            response_code: "51",
            message: "Insufficient funds",
        },
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
        assert!(matches!(
            verify("4111111111111111", Some("999")),
            Outcome::Declined {
                response_code: "N7",
                ..
            }
        ));
        assert!(matches!(
            charge("4000000000000341"),
            Outcome::Declined {
                response_code: "51",
                ..
            }
        ));
        assert_eq!(charge("4111111111111111"), Outcome::Approved);
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            charge_on("4111111111111111", Some("0127"), day("2027-01-31")),
            Outcome::Approved
        );
        assert!(matches!(
            charge_on("4111111111111111", Some("0127"), day("2027-02-01")),
            Outcome::Declined {
                response_code: "54",
                ..
            }
        ));
    }
}
