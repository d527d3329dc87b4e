//! Amounts in the database are integer cents; on the wire they are decimals.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Cents of an amount already checked to have at most two decimals.
pub fn cents(amount: Decimal) -> i64 {
    (amount * Decimal::ONE_HUNDRED)
        .round()
        .to_i64()
        .unwrap_or(i64::MAX)
}

pub fn dollars(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}
