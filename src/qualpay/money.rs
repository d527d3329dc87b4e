//! Amounts on the wire: Qualpay types them as JSON numbers ("12,2 N"), so they are written as
//! numbers, not as rust_decimal's default strings, and read back exactly (through the shortest
//! decimal form of the number, never through float arithmetic).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::de::{Error, Visitor};
use serde::{Deserializer, Serializer};

/// For `#[serde(with = "money")]` on `Option<Decimal>` fields.
pub fn serialize<S: Serializer>(
    amount: &Option<Decimal>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // Not rounded: an amount with too many decimals must reach the vault and be refused there.
    match amount.and_then(|a| a.to_f64()) {
        Some(number) => serializer.serialize_f64(number),
        None => serializer.serialize_none(),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    let amount = deserializer.deserialize_option(OptionalAmount)?;
    // Whole-cent form (`29` reads as `29.00`); more decimals are kept for validation to refuse.
    Ok(amount.map(|mut amount| {
        if amount.scale() < 2 {
            amount.rescale(2);
        }
        amount
    }))
}

/// Reads an amount as the JSON has it (a number, or a string of one), without buffering it
/// first as an untagged enum would.
struct OptionalAmount;

impl<'de> Visitor<'de> for OptionalAmount {
    type Value = Option<Decimal>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an amount")
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_u64<E: Error>(self, number: u64) -> Result<Self::Value, E> {
        Ok(Some(Decimal::from(number)))
    }

    fn visit_i64<E: Error>(self, number: i64) -> Result<Self::Value, E> {
        Ok(Some(Decimal::from(number)))
    }

    fn visit_f64<E: Error>(self, number: f64) -> Result<Self::Value, E> {
        if !number.is_finite() {
            return Err(E::custom("expected an amount"));
        }
        // The shortest representation of the double is the decimal the sender wrote.
        Decimal::from_str(&number.to_string())
            .map(Some)
            .map_err(|_| E::custom("expected an amount"))
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<Self::Value, E> {
        Decimal::from_str(text.trim())
            .map(Some)
            .map_err(|_| E::custom("expected an amount"))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Body {
        #[serde(default, with = "super", skip_serializing_if = "Option::is_none")]
        amt: Option<Decimal>,
    }

    #[test]
    fn amounts_are_json_numbers_and_read_back_exactly() {
        let body = Body {
            amt: Some(Decimal::from_str("19.99").unwrap()),
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"amt":19.99}"#);
        let back: Body = serde_json::from_str(r#"{"amt":19.99}"#).unwrap();
        assert_eq!(back, body);
        let back: Body = serde_json::from_str(r#"{"amt":0.1}"#).unwrap();
        assert_eq!(back.amt.unwrap().to_string(), "0.10");
        let whole: Body = serde_json::from_str(r#"{"amt":29}"#).unwrap();
        assert_eq!(whole.amt.unwrap().to_string(), "29.00");
        let fine: Body = serde_json::from_str(r#"{"amt":1.005}"#).unwrap();
        assert_eq!(fine.amt.unwrap().to_string(), "1.005");
        let text: Body = serde_json::from_str(r#"{"amt":"12.50"}"#).unwrap();
        assert_eq!(text.amt.unwrap().to_string(), "12.50");
        assert!(serde_json::from_str::<Body>(r#"{"amt":true}"#).is_err());
        let none: Body = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(none.amt, None);
        let null: Body = serde_json::from_str(r#"{"amt":null}"#).unwrap();
        assert_eq!(null.amt, None);
        let negative: Body = serde_json::from_str(r#"{"amt":-5}"#).unwrap();
        assert_eq!(negative.amt.unwrap().to_string(), "-5.00");
        assert!(serde_json::from_str::<Body>(r#"{"amt":"12,50"}"#).is_err());
        assert!(serde_json::from_str::<Body>(r#"{"amt":[1]}"#).is_err());
    }
}
