//! The built-in test processor that verifies cards (and, for recurring billing, charges them).
//! It approves everything except these test inputs:
//!
//! | input | verification | charge |
//! |-------|--------------|--------|
//! | card `4000000000000002` | declined, `05` do not honor | declined, `05` |
//! | card `4000000000000341` | approved | declined, `51` insufficient funds |
//! | CVV `999` on any card | declined, `N7` CVV mismatch | — |

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
    }
}
