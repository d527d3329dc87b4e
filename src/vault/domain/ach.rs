//! Validates ACH bank details (account type, ABA routing number, account number) and keeps account numbers out of logs.

use std::fmt;

/// Why a bank field was rejected. Messages name the field, never its value.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum AchError {
    /// The routing number is not exactly nine digits.
    #[error("tr_number: must be exactly 9 digits")]
    RoutingFormat,
    /// The routing number's ABA check digit is wrong.
    #[error("tr_number: fails the ABA checksum")]
    RoutingChecksum,
    /// The account number is not 4 to 17 digits.
    #[error("dda_number: must be 4 to 17 digits")]
    AccountFormat,
    /// The account type code is not one Qualpay knows.
    #[error("type_id: must be one of C, S, K, V")]
    AccountType,
}

/// The kind of bank account: Qualpay's `type_id` table.
pub use crate::qualpay::codes::AchAccountType as AccountType;

impl AccountType {
    /// The account type for a `type_id` code; codes are case-sensitive, as Qualpay's are.
    pub fn parse(code: &str) -> Result<Self, AchError> {
        Self::from_code(code).ok_or(AchError::AccountType)
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// A validated ABA routing number. Routing numbers are public, so `Debug` shows it whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingNumber(String);

impl RoutingNumber {
    /// Validates a routing number: surrounding whitespace is trimmed, then exactly nine
    /// ASCII digits whose ABA checksum holds.
    pub fn parse(input: &str) -> Result<Self, AchError> {
        let digits = input.trim();
        if digits.len() != 9 || !all_digits(digits) {
            return Err(AchError::RoutingFormat);
        }
        let sum: u32 = digits
            .bytes()
            .zip([3, 7, 1].iter().cycle())
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        if !sum.is_multiple_of(10) {
            return Err(AchError::RoutingChecksum);
        }
        Ok(Self(digits.to_owned()))
    }

    /// The nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated bank account number (DDA). Has no `Display`; `Debug` prints the masked form.
#[derive(Clone)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Validates an account number: surrounding whitespace is trimmed, then 4 to 17 ASCII digits.
    pub fn parse(input: &str) -> Result<Self, AchError> {
        let digits = input.trim();
        if !(4..=17).contains(&digits.len()) || !all_digits(digits) {
            return Err(AchError::AccountFormat);
        }
        Ok(Self(digits.to_owned()))
    }

    /// The number with every digit but the last 4 replaced by `x`, same length. Short numbers
    /// show fewer trailing digits so at least four stay hidden: otherwise a 4-digit account
    /// would be printed whole.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        let shown = 4.min(n - 4);
        format!("{}{}", "x".repeat(n - shown), &self.0[n - shown..])
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// The full number; only for encryption and the test processor.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn account_type_codes() {
        use AccountType::*;
        for (t, code) in [
            (PersonalChecking, "C"),
            (PersonalSavings, "S"),
            (BusinessChecking, "K"),
            (BusinessSavings, "V"),
        ] {
            assert_eq!(t.code(), code);
            assert_eq!(AccountType::parse(code), Ok(t));
        }
        for bad in ["", "c", "X", "CC", " C"] {
            assert_eq!(AccountType::parse(bad), Err(AchError::AccountType), "{bad}");
        }
        assert_eq!(
            AchError::AccountType.to_string(),
            "type_id: must be one of C, S, K, V"
        );
    }

    #[test]
    fn real_routing_numbers_pass() {
        for n in [
            "011000015",
            "021000021",
            "122105278",
            "026009593",
            "111000025",
            "322271627",
            "071000013",
        ] {
            assert_eq!(
                RoutingNumber::parse(n).map(|r| r.as_str().to_owned()),
                Ok(n.into())
            );
        }
        let padded = RoutingNumber::parse(" 021000021\n").unwrap();
        assert_eq!(format!("{padded:?}"), "RoutingNumber(\"021000021\")");
    }

    #[test]
    fn bad_routing_numbers_fail() {
        for n in [
            "011000016",
            "021000022",
            "123456789",
            "122105279",
            "000000001",
        ] {
            assert_eq!(
                RoutingNumber::parse(n),
                Err(AchError::RoutingChecksum),
                "{n}"
            );
        }
        for n in [
            "",
            "02100002",
            "0210000210",
            "02100002a",
            "021 00021",
            "０２１000021",
        ] {
            assert_eq!(RoutingNumber::parse(n), Err(AchError::RoutingFormat), "{n}");
        }
    }

    #[test]
    fn account_numbers() {
        let a = AccountNumber::parse("123456789012").unwrap();
        assert_eq!(a.masked(), "xxxxxxxx9012");
        assert_eq!(a.last4(), "9012");
        assert_eq!(a.expose(), "123456789012");
        assert_eq!(format!("{a:?}"), "AccountNumber(xxxxxxxx9012)");
        let masked = |s| AccountNumber::parse(s).unwrap().masked();
        assert_eq!(masked("12345678"), "xxxx5678");
        assert_eq!(masked("1234567"), "xxxx567");
        assert_eq!(masked("1234"), "xxxx");
        assert_eq!(AccountNumber::parse("1234").unwrap().last4(), "1234");
        assert!(AccountNumber::parse("12345678901234567").is_ok());
        for bad in ["", "123", "123456789012345678", "1234-5678", "12ab"] {
            assert!(
                matches!(AccountNumber::parse(bad), Err(AchError::AccountFormat)),
                "{bad}"
            );
        }
    }

    #[test]
    fn messages_name_the_field_and_never_the_value() {
        let errors = [
            RoutingNumber::parse("987654321").unwrap_err(),
            RoutingNumber::parse("98765432").unwrap_err(),
            AccountNumber::parse("98765432109876543210").unwrap_err(),
            AccountNumber::parse("987").unwrap_err(),
        ];
        for e in errors {
            let (shown, debug) = (e.to_string(), format!("{e:?}"));
            assert!(shown.starts_with("tr_number: ") || shown.starts_with("dda_number: "));
            assert!(!shown.contains("987") && !debug.contains("987"), "{shown}");
        }
    }

    proptest! {
        #[test]
        fn each_prefix_has_exactly_one_check_digit(prefix in "[0-9]{8}") {
            let valid = (0..10)
                .filter(|d| RoutingNumber::parse(&format!("{prefix}{d}")).is_ok())
                .count();
            prop_assert_eq!(valid, 1);
        }

        #[test]
        fn account_debug_never_shows_the_number(n in "[0-9]{4,17}") {
            let a = AccountNumber::parse(&n).unwrap();
            prop_assert_eq!(a.masked().len(), n.len());
            prop_assert!(n.ends_with(a.masked().trim_start_matches('x')));
            let debug = format!("{a:?}");
            prop_assert!(!debug.contains(&n));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = RoutingNumber::parse(&s);
            let _ = AccountNumber::parse(&s);
            let _ = AccountType::parse(&s);
        }
    }
}
