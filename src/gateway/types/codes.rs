//! The GraphQL enums over Qualpay's code tables ([`crate::qualpay::codes`], where each code is
//! defined), what the gateway answers when a code is missing or unknown, and the `Date` scalar.

use async_graphql::{Enum, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

use crate::qualpay::codes;

/// How often a plan bills (Qualpay `plan_frequency`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::qualpay::codes::Frequency")]
pub enum BillingFrequency {
    Weekly,
    BiWeekly,
    Monthly,
    Quarterly,
    BiAnnually,
    Annually,
    Daily,
}

impl BillingFrequency {
    /// From `plan_frequency`; monthly, Qualpay's default, when it is missing or unknown.
    pub fn from_wire(code: Option<i32>) -> Self {
        code.and_then(codes::Frequency::from_code)
            .map_or(Self::Monthly, Self::from)
    }

    pub fn code(self) -> i32 {
        codes::Frequency::from(self).code()
    }
}

/// A plan's status (Qualpay `E`, `A`, `D`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::qualpay::codes::PlanStatus")]
pub enum PlanStatus {
    Active,
    /// Takes no new subscriptions; existing ones go on.
    Archived,
    Deleted,
}

impl PlanStatus {
    /// From `status`; active when it is missing or unknown.
    pub fn from_wire(code: Option<&str>) -> Self {
        code.and_then(codes::PlanStatus::from_code)
            .map_or(Self::Active, Self::from)
    }
}

/// A subscription's status (Qualpay `A`, `P`, `C`, `S`, `D`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::qualpay::codes::SubscriptionStatus")]
pub enum SubscriptionStatus {
    Active,
    Paused,
    Cancelled,
    /// Payments failed after every retry; a new card or a resume re-activates it.
    Suspended,
    /// Every billing cycle has been billed.
    Complete,
}

impl SubscriptionStatus {
    /// From `status`; active when it is missing or unknown.
    pub fn from_wire(code: Option<&str>) -> Self {
        code.and_then(codes::SubscriptionStatus::from_code)
            .map_or(Self::Active, Self::from)
    }

    pub fn code(self) -> &'static str {
        codes::SubscriptionStatus::from(self).code()
    }
}

/// The card network, from the vault's `card_type`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    /// Discover, and Diners Club cards, which run on the Discover network.
    Discover,
    Jcb,
    Paypal,
    ApplePay,
    /// A `card_type` this gateway does not know.
    Unknown,
}

impl CardBrand {
    /// From `card_type`; `Unknown` when it is missing or not in the table.
    pub fn from_wire(code: Option<&str>) -> Self {
        code.and_then(codes::CardType::from_code)
            .map_or(Self::Unknown, Self::from)
    }
}

impl From<codes::CardType> for CardBrand {
    fn from(card_type: codes::CardType) -> Self {
        match card_type {
            codes::CardType::Visa => Self::Visa,
            codes::CardType::Mastercard => Self::Mastercard,
            codes::CardType::Amex => Self::Amex,
            codes::CardType::Discover => Self::Discover,
            codes::CardType::Jcb => Self::Jcb,
            codes::CardType::Paypal => Self::Paypal,
            codes::CardType::ApplePay => Self::ApplePay,
        }
    }
}

/// The kind of an ACH account, from the vault's `type_id`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::qualpay::codes::AchAccountType")]
pub enum BankAccountType {
    PersonalChecking,
    PersonalSavings,
    BusinessChecking,
    BusinessSavings,
}

impl BankAccountType {
    /// From `type_id`; personal checking, Qualpay's default, when it is missing or unknown.
    pub fn from_wire(code: Option<&str>) -> Self {
        code.and_then(codes::AchAccountType::from_code)
            .map_or(Self::PersonalChecking, Self::from)
    }

    pub fn code(self) -> &'static str {
        codes::AchAccountType::from(self).code()
    }
}

/// The outcome of a payment attempt.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TransactionStatus {
    Approved,
    Declined,
}

impl TransactionStatus {
    pub fn from_code(code: Option<&str>) -> Self {
        match code {
            Some("A" | "C" | "Approved") => Self::Approved,
            _ => Self::Declined,
        }
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

impl Date {
    pub fn parse(text: Option<&str>) -> Option<Self> {
        NaiveDate::parse_from_str(text?, "%Y-%m-%d").ok().map(Self)
    }

    pub fn to_wire(self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => Self::parse(Some(text))
                .ok_or_else(|| InputValueError::custom("expected a date, YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_wire())
    }
}
