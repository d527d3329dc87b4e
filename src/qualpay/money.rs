//! Amounts on the wire: Qualpay types them as JSON numbers ("12,2 N"), so they are written as
//! numbers, not as rust_decimal's default strings, and read back exactly (through the shortest
//! decimal form of the number, never through float arithmetic).

use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serializer};

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
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }
    let amount = match Option::<Raw>::deserialize(deserializer)? {
        None => return Ok(None),
        // The shortest representation of the double is the decimal the sender wrote.
        Some(Raw::Number(number)) if number.is_finite() => Decimal::from_str(&number.to_string())
            .map(Some)
            .map_err(|_| D::Error::custom("expected an amount")),
        Some(Raw::Number(_)) => Err(D::Error::custom("expected an amount")),
        Some(Raw::Text(text)) => Decimal::from_str(text.trim())
            .map(Some)
            .map_err(|_| D::Error::custom("expected an amount")),
    }?;
    // Whole-cent form (`29` reads as `29.00`); more decimals are kept for validation to refuse.
    Ok(amount.map(|mut amount| {
        if amount.scale() < 2 {
            amount.rescale(2);
        }
        amount
    }))
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
    }
}
