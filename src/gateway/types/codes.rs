//! The billing enums, and the one place that maps them to and from Qualpay's codes.

use async_graphql::{Enum, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// How often a plan bills (Qualpay `plan_frequency`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
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
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            0 => Self::Weekly,
            1 => Self::BiWeekly,
            3 => Self::Monthly,
            4 => Self::Quarterly,
            5 => Self::BiAnnually,
            6 => Self::Annually,
            7 => Self::Daily,
            _ => return None,
        })
    }

    pub fn code(self) -> i32 {
        match self {
            Self::Weekly => 0,
            Self::BiWeekly => 1,
            Self::Monthly => 3,
            Self::Quarterly => 4,
            Self::BiAnnually => 5,
            Self::Annually => 6,
            Self::Daily => 7,
        }
    }
}

/// A plan's status (Qualpay `E`, `A`, `D`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PlanStatus {
    Active,
    /// Takes no new subscriptions; existing ones go on.
    Archived,
    Deleted,
}

impl PlanStatus {
    pub fn from_code(code: &str) -> Self {
        match code {
            "A" => Self::Archived,
            "D" => Self::Deleted,
            _ => Self::Active,
        }
    }
}

/// A subscription's status (Qualpay `A`, `P`, `C`, `S`, `D`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
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
    pub fn from_code(code: &str) -> Self {
        match code {
            "P" => Self::Paused,
            "C" => Self::Cancelled,
            "S" => Self::Suspended,
            "D" => Self::Complete,
            _ => Self::Active,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "A",
            Self::Paused => "P",
            Self::Cancelled => "C",
            Self::Suspended => "S",
            Self::Complete => "D",
        }
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
