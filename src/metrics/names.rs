//! Operation names as label values, bounded: a name is a label only when it is a GraphQL name
//! of at most [`MAX_OPERATION_NAME`] characters with no card-like run of digits, and only for
//! the first [`MAX_OPERATION_NAMES`] distinct names; later ones are `(other)`.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::redact::CARD_LIKE_DIGITS;

/// Longest operation name kept as a label; longer ones are `(invalid)`.
pub const MAX_OPERATION_NAME: usize = 64;

/// Distinct operation names kept as labels; names first seen after these are `(other)`.
pub const MAX_OPERATION_NAMES: usize = 100;

/// Labels that stand for no name: they pass as they are and are not counted in the cap.
const FIXED: [&str; 3] = ["(anonymous)", "(invalid)", "(other)"];

#[derive(Default)]
pub struct OperationNames {
    seen: Mutex<HashSet<String>>,
}

impl OperationNames {
    /// The label for `name`: itself, `(invalid)` or `(other)`.
    pub fn label(&self, name: &str) -> String {
        if let Some(fixed) = FIXED.iter().find(|fixed| **fixed == name) {
            return (*fixed).to_owned();
        }
        if !is_label_safe(name) {
            return "(invalid)".to_owned();
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(name) {
            return name.to_owned();
        }
        if seen.len() >= MAX_OPERATION_NAMES {
            return "(other)".to_owned();
        }
        seen.insert(name.to_owned());
        name.to_owned()
    }
}

/// `[_A-Za-z][_0-9A-Za-z]*`, short, and without a run of digits as long as a card number's.
fn is_label_safe(name: &str) -> bool {
    let mut chars = name.chars();
    let mut digits = 0;
    name.len() <= MAX_OPERATION_NAME
        && chars
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && name.chars().all(|c| {
            digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
            (c == '_' || c.is_ascii_alphanumeric()) && digits < CARD_LIKE_DIGITS
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_carry_a_secret_are_invalid() {
        let names = OperationNames::default();
        assert_eq!(names.label("CustomerPage"), "CustomerPage");
        assert_eq!(names.label("(anonymous)"), "(anonymous)");
        for bad in [
            "4111111111111111",
            "_4111111111111111",
            "card 4111",
            "",
            "é",
            &"a".repeat(MAX_OPERATION_NAME + 1),
        ] {
            assert_eq!(names.label(bad), "(invalid)", "{bad}");
        }
        assert_eq!(names.label("Order12345678901"), "Order12345678901");
    }

    #[test]
    fn names_after_the_cap_are_other_and_earlier_ones_stay() {
        let names = OperationNames::default();
        for i in 0..MAX_OPERATION_NAMES {
            assert_eq!(names.label(&format!("Op{i}")), format!("Op{i}"));
        }
        assert_eq!(names.label("OneTooMany"), "(other)");
        assert_eq!(names.label("Op0"), "Op0");
        assert_eq!(names.label("(anonymous)"), "(anonymous)");
    }
}
