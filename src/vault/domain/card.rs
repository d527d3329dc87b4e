//! Validates card numbers, expiry dates and CVVs, and keeps the secret digits out of logs.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A card network: Qualpay's `card_type` table. The vault accepts Visa, Mastercard, Amex,
/// Discover and JCB numbers (see [`brand_of`]).
pub use crate::qualpay::codes::CardType as CardBrand;

impl CardBrand {
    /// How many digits this brand's CVV has.
    pub fn cvv_len(self) -> usize {
        if self == Self::Amex { 4 } else { 3 }
    }
}

/// Why a card field was rejected. Messages name the field, never its value.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum CardError {
    /// No card number was given.
    #[error("card_number: is required")]
    Empty,
    /// The card number holds something other than digits.
    #[error("card_number: must contain only digits")]
    NotDigits,
    /// The number's prefix belongs to no supported brand.
    #[error("card_number: does not belong to a supported card brand")]
    UnknownBrand,
    /// The number has a length (second) that its brand (first) never issues.
    #[error("card_number: {1} digits is not a valid length for {0:?}")]
    Length(CardBrand, usize),
    /// The check digit is wrong, usually a typo.
    #[error("card_number: fails the Luhn check")]
    Luhn,
    /// The expiry date is not a valid MMYY.
    #[error("exp_date: must be MMYY with month 01-12")]
    ExpDate,
    /// The card expired before today; callers raise it after [`ExpDate::is_expired`].
    #[error("exp_date: the card has expired")]
    Expired,
    /// The CVV is not 3 or 4 digits.
    #[error("cvv2: must be 3 or 4 digits")]
    Cvv,
    /// The CVV has the wrong length for the card's brand.
    #[error("cvv2: must be {len} digits for {0:?}", len = .0.cvv_len())]
    CvvLength(CardBrand),
}

const SIXTEEN_TO_19: &[usize] = &[16, 17, 18, 19];
const FOURTEEN_TO_19: &[usize] = &[14, 15, 16, 17, 18, 19];

/// IIN ranges as (prefix length, low, high, brand, allowed lengths). Diners Club ranges report
/// as Discover because Discover's network carries them, but keep Diners' own 14-19 lengths.
const IIN_RANGES: &[(usize, u32, u32, CardBrand, &[usize])] = &[
    (1, 4, 4, CardBrand::Visa, &[13, 16, 19]),
    (2, 51, 55, CardBrand::Mastercard, &[16]),
    (4, 2221, 2720, CardBrand::Mastercard, &[16]),
    (2, 34, 34, CardBrand::Amex, &[15]),
    (2, 37, 37, CardBrand::Amex, &[15]),
    (4, 6011, 6011, CardBrand::Discover, SIXTEEN_TO_19),
    (3, 644, 649, CardBrand::Discover, SIXTEEN_TO_19),
    (2, 65, 65, CardBrand::Discover, SIXTEEN_TO_19),
    (6, 622126, 622925, CardBrand::Discover, SIXTEEN_TO_19),
    (3, 300, 305, CardBrand::Discover, FOURTEEN_TO_19),
    (2, 36, 36, CardBrand::Discover, FOURTEEN_TO_19),
    (2, 38, 39, CardBrand::Discover, FOURTEEN_TO_19),
    (4, 3528, 3589, CardBrand::Jcb, SIXTEEN_TO_19),
];

fn classify(digits: &str) -> Option<(CardBrand, &'static [usize])> {
    IIN_RANGES
        .iter()
        .find(|(len, lo, hi, _, _)| {
            digits
                .get(..*len)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| (*lo..=*hi).contains(&p))
        })
        .map(|&(_, _, _, brand, lengths)| (brand, lengths))
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            match (i % 2 == 1, d * 2) {
                (true, x) if x > 9 => x - 9,
                (true, x) => x,
                (false, _) => d,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// A validated primary account number. Deliberately has no `Display` so that the full
/// number can only leave through [`CardNumber::expose`].
#[derive(Clone)]
pub struct CardNumber {
    digits: String,
    brand: CardBrand,
}

impl CardNumber {
    /// Validates a card number: surrounding whitespace is trimmed, then it must be digits
    /// only, of a known brand and length, and pass the Luhn check.
    pub fn parse(input: &str) -> Result<CardNumber, CardError> {
        let digits = input.trim();
        if digits.is_empty() {
            return Err(CardError::Empty);
        }
        if !all_digits(digits) {
            return Err(CardError::NotDigits);
        }
        let (brand, lengths) = classify(digits).ok_or(CardError::UnknownBrand)?;
        if !lengths.contains(&digits.len()) {
            return Err(CardError::Length(brand, digits.len()));
        }
        if !luhn_ok(digits) {
            return Err(CardError::Luhn);
        }
        Ok(CardNumber {
            digits: digits.to_owned(),
            brand,
        })
    }

    /// The card's brand, from its IIN.
    pub fn brand(&self) -> CardBrand {
        self.brand
    }

    /// The number with every digit between the first 6 and the last 4 replaced by `x`.
    pub fn masked(&self) -> String {
        let (d, n) = (&self.digits, self.digits.len());
        format!("{}{}{}", &d[..6], "x".repeat(n - 10), &d[n - 4..])
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// The full number; only for encryption and the test processor.
    pub fn expose(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.masked())
    }
}

/// A card's expiry month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpDate {
    month: u32,
    year: i32,
}

impl ExpDate {
    /// Parses exactly four ASCII digits `MMYY`; the year is taken as `20YY`.
    pub fn parse(mmyy: &str) -> Result<ExpDate, CardError> {
        let b = mmyy.as_bytes();
        if b.len() != 4 || !all_digits(mmyy) {
            return Err(CardError::ExpDate);
        }
        let pair = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
        let month = u32::from(pair(0));
        if !(1..=12).contains(&month) {
            return Err(CardError::ExpDate);
        }
        let year = 2000 + i32::from(pair(2));
        Ok(ExpDate { month, year })
    }

    /// The month, 1–12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The four-digit year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Whether the card is expired on `today`; it stays valid through the last day of its month.
    pub fn is_expired(self, today: NaiveDate) -> bool {
        (today.year(), today.month()) > (self.year, self.month)
    }

    /// The date back in `MMYY` form.
    pub fn to_mmyy(self) -> String {
        format!("{:02}{:02}", self.month, self.year % 100)
    }
}

/// A card verification value. Has no `Display`; `Debug` prints `Cvv(***)`.
#[derive(Clone)]
pub struct Cvv(String);

impl Cvv {
    /// Validates a CVV: surrounding whitespace is trimmed, then 3 or 4 ASCII digits, and
    /// exactly the brand's length when the brand is known.
    pub fn parse(input: &str, brand: Option<CardBrand>) -> Result<Cvv, CardError> {
        let digits = input.trim();
        if !(3..=4).contains(&digits.len()) || !all_digits(digits) {
            return Err(CardError::Cvv);
        }
        if let Some(brand) = brand
            && digits.len() != brand.cvv_len()
        {
            return Err(CardError::CvvLength(brand));
        }
        Ok(Cvv(digits.to_owned()))
    }

    /// The CVV digits; only for passing on to the processor.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvv(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Appends the digit that makes `body` pass Luhn.
    fn with_check_digit(body: &str) -> String {
        (0..10)
            .map(|d| format!("{body}{d}"))
            .find(|n| luhn_ok(n))
            .expect("one check digit always fits")
    }

    fn brand_of(n: &str) -> Result<CardBrand, CardError> {
        CardNumber::parse(n).map(|c| c.brand())
    }

    #[test]
    fn known_test_numbers_get_their_brand() {
        use CardBrand::*;
        let cases = [
            (Visa, "4111111111111111 4222222222222 4012888888881881"),
            (
                Mastercard,
                "5555555555554444 5105105105105100 2223003122003222",
            ),
            (Amex, "378282246310005 371449635398431"),
            (
                Discover,
                "6011111111111117 6011000990139424 36227206271667 38520000023237",
            ),
            (Jcb, "3530111333300000 3566002020360505"),
        ];
        for (brand, numbers) in cases {
            for n in numbers.split(' ') {
                assert_eq!(brand_of(n), Ok(brand), "{n}");
            }
        }
    }

    #[test]
    fn range_edges_classify() {
        use CardBrand::*;
        // Each entry is prefix:length; the rest is zero-padded and given a check digit.
        let cases = [
            (Mastercard, "2221:16 2720:16 51:16 55:16"),
            (
                Discover,
                "644:16 649:19 65:17 622126:16 622925:18 300:14 305:19 36:15 38:14 39:19",
            ),
            (Jcb, "3528:16 3589:19"),
            (Visa, "4:13 4:19"),
        ];
        for (brand, entries) in cases {
            for (prefix, len) in entries.split(' ').filter_map(|e| e.split_once(':')) {
                let width = len.parse::<usize>().unwrap() - 1;
                let n = with_check_digit(&format!("{prefix:0<width$}"));
                assert_eq!(brand_of(&n), Ok(brand), "{n}");
            }
        }
        for bad in "2220 2721 622125 622926 306 3527 3590 50 56 1 7".split(' ') {
            let n = with_check_digit(&format!("{bad:0<15}"));
            assert_eq!(brand_of(&n), Err(CardError::UnknownBrand), "{n}");
        }
    }

    #[test]
    fn rejects_bad_input_in_order() {
        assert_eq!(brand_of(""), Err(CardError::Empty));
        assert_eq!(brand_of("   "), Err(CardError::Empty));
        assert_eq!(brand_of("4111 1111 1111 1111"), Err(CardError::NotDigits));
        assert_eq!(brand_of("4111-1111-1111-1111"), Err(CardError::NotDigits));
        assert_eq!(brand_of("４１１１"), Err(CardError::NotDigits));
        assert_eq!(brand_of("4111111111111112"), Err(CardError::Luhn));
        let len = |brand, len| Err(CardError::Length(brand, len));
        assert_eq!(brand_of("41111111111111"), len(CardBrand::Visa, 14));
        assert_eq!(brand_of("37828224631000"), len(CardBrand::Amex, 14));
        assert_eq!(brand_of("555555555555444"), len(CardBrand::Mastercard, 15));
        assert_eq!(brand_of("3622720627166"), len(CardBrand::Discover, 13));
        assert_eq!(brand_of(" 4111111111111111\n"), Ok(CardBrand::Visa));
    }

    #[test]
    fn masking_keeps_length() {
        let visa = CardNumber::parse("4111111111111111").unwrap();
        assert_eq!(visa.masked(), "411111xxxxxx1111");
        assert_eq!(visa.last4(), "1111");
        assert_eq!(visa.expose(), "4111111111111111");
        assert_eq!(format!("{visa:?}"), "CardNumber(411111xxxxxx1111)");
        let amex = CardNumber::parse("378282246310005").unwrap();
        assert_eq!(amex.masked(), "378282xxxxx0005");
        assert_eq!(
            CardNumber::parse("4222222222222").unwrap().masked(),
            "422222xxx2222"
        );
    }

    #[test]
    fn brand_codes_round_trip() {
        use CardBrand::*;
        for b in [Visa, Mastercard, Amex, Discover, Jcb] {
            assert_eq!(CardBrand::from_code(b.code()), Some(b));
            assert_eq!(b.cvv_len(), if b == Amex { 4 } else { 3 });
        }
        assert_eq!(CardBrand::from_code("vs"), None);
        assert_eq!(CardBrand::from_code("XX"), None);
    }

    #[test]
    fn exp_date_parse_and_expiry() {
        let d = ExpDate::parse("0926").unwrap();
        assert_eq!(
            (d.month(), d.year(), d.to_mmyy()),
            (9, 2026, "0926".to_owned())
        );
        assert_eq!(ExpDate::parse("1200").unwrap().to_mmyy(), "1200");
        for bad in "|926|09/26|0026|1326|09260| 926|0a26|０９２６".split('|') {
            assert_eq!(ExpDate::parse(bad), Err(CardError::ExpDate), "{bad}");
        }
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(!d.is_expired(day(2026, 9, 30)));
        assert!(!d.is_expired(day(2025, 12, 31)));
        assert!(d.is_expired(day(2026, 10, 1)));
        assert!(d.is_expired(day(2027, 1, 1)));
    }

    #[test]
    fn cvv_rules() {
        assert_eq!(Cvv::parse("123", None).unwrap().expose(), "123");
        assert_eq!(Cvv::parse("1234", None).unwrap().expose(), "1234");
        assert!(Cvv::parse("1234", Some(CardBrand::Amex)).is_ok());
        assert!(Cvv::parse("123", Some(CardBrand::Visa)).is_ok());
        for bad in ["", "12", "12345", "12a", "1 23"] {
            assert_eq!(Cvv::parse(bad, None).unwrap_err(), CardError::Cvv, "{bad}");
        }
        let amex = CardError::CvvLength(CardBrand::Amex);
        assert_eq!(Cvv::parse("123", Some(CardBrand::Amex)).unwrap_err(), amex);
        assert_eq!(amex.to_string(), "cvv2: must be 4 digits for Amex");
        assert_eq!(
            format!("{:?}", Cvv::parse("987", None).unwrap()),
            "Cvv(***)"
        );
    }

    #[test]
    fn messages_name_the_field_and_never_the_value() {
        let errors = [
            CardNumber::parse("").unwrap_err(),
            CardNumber::parse("4111x11111111111").unwrap_err(),
            CardNumber::parse("9111111111111111").unwrap_err(),
            CardNumber::parse("41111111111111").unwrap_err(),
            CardNumber::parse("4111111111111112").unwrap_err(),
            ExpDate::parse("1399").unwrap_err(),
            CardError::Expired,
            Cvv::parse("98765", None).unwrap_err(),
            Cvv::parse("987", Some(CardBrand::Amex)).unwrap_err(),
        ];
        for e in errors {
            let (shown, debug) = (e.to_string(), format!("{e:?}"));
            let field = ["card_number: ", "exp_date: ", "cvv2: "];
            assert!(field.iter().any(|f| shown.starts_with(f)), "{shown}");
            for secret in ["4111", "9111", "1399", "987"] {
                assert!(!shown.contains(secret) && !debug.contains(secret), "{e}");
            }
        }
        assert_eq!(
            CardNumber::parse("4111111111111112")
                .unwrap_err()
                .to_string(),
            "card_number: fails the Luhn check"
        );
        assert_eq!(
            CardError::Expired.to_string(),
            "exp_date: the card has expired"
        );
    }

    proptest! {
        #[test]
        fn valid_visa_parses_and_masks(body in "4[0-9]{14}") {
            let n = with_check_digit(&body);
            let card = CardNumber::parse(&n).unwrap();
            prop_assert_eq!(card.brand(), CardBrand::Visa);
            prop_assert_eq!(card.masked(), format!("{}xxxxxx{}", &n[..6], &n[12..]));
            let debug = format!("{card:?}");
            prop_assert!(!debug.contains(&n));
        }

        #[test]
        fn one_changed_digit_fails_luhn(body in "4[0-9]{14}", pos in 1usize..16, bump in 1u8..10) {
            let mut bytes = with_check_digit(&body).into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + bump) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            let err = CardNumber::parse(&changed).unwrap_err();
            prop_assert_eq!(&err, &CardError::Luhn);
            let debug = format!("{err:?}");
            prop_assert!(!debug.contains(&changed));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*", digits in "[0-9 ]{0,24}") {
            for input in [&s, &digits] {
                if let Ok(card) = CardNumber::parse(input) {
                    let debug = format!("{card:?}");
                    prop_assert!(!debug.contains(card.expose()));
                }
                let _ = ExpDate::parse(input);
                let _ = Cvv::parse(input, Some(CardBrand::Amex));
            }
        }
    }
}
