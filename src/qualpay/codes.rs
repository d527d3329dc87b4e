//! Qualpay's code tables, each defined once: how often a plan bills, a plan's and a
//! subscription's status, a card's type and an ACH account's type. The gateway maps them to its
//! GraphQL enums and the vault to its rules and database values, both from here.

/// Declares a code table: an enum whose variants each stand for one Qualpay code, with
/// `code()`, `from_code()` and `ALL`.
macro_rules! code_table {
    (
        $(#[doc = $doc:literal])*
        $name:ident: $code:ty as $borrowed:ty {
            $($(#[doc = $variant_doc:literal])* $variant:ident = $value:expr),+ $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[doc = $variant_doc])* $variant),+
        }

        impl $name {
            /// Every value, in the order of the table.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The code Qualpay sends and stores.
            pub fn code(self) -> $code {
                match self {
                    $(Self::$variant => $value),+
                }
            }

            /// The value for a code; `None` for a code this table does not have (codes are
            /// case-sensitive, as Qualpay's are).
            pub fn from_code(code: $borrowed) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.code() == code)
            }
        }
    };
}

code_table! {
    /// How often a plan bills (`plan_frequency`).
    Frequency: i32 as i32 {
        /// Every `interval` weeks.
        Weekly = 0,
        /// Every 14 days; `interval` does not apply.
        BiWeekly = 1,
        /// Every `interval` months.
        Monthly = 3,
        /// Every 3 months; `interval` does not apply.
        Quarterly = 4,
        /// Every 6 months; `interval` does not apply.
        BiAnnually = 5,
        /// Every 12 months; `interval` does not apply.
        Annually = 6,
        /// Every day; `interval` does not apply.
        Daily = 7,
    }
}

code_table! {
    /// A recurring plan's `status`.
    PlanStatus: &'static str as &str {
        /// Open to new subscriptions.
        Active = "E",
        /// Takes no new subscriptions; existing ones go on.
        Archived = "A",
        Deleted = "D",
    }
}

code_table! {
    /// A subscription's `status`.
    SubscriptionStatus: &'static str as &str {
        Active = "A",
        Paused = "P",
        /// Every retry of a payment was declined; a resume or a new card re-activates it.
        Suspended = "S",
        Cancelled = "C",
        /// Every billing cycle has been billed.
        Complete = "D",
    }
}

code_table! {
    /// A payment method's `card_type`: the card network.
    CardType: &'static str as &str {
        Visa = "VS",
        /// Mastercard, the 2-series range included.
        Mastercard = "MC",
        /// American Express.
        Amex = "AM",
        /// Discover, and Diners Club, which settles over the Discover network.
        Discover = "DS",
        Jcb = "JC",
        Paypal = "PP",
        ApplePay = "AP",
    }
}

code_table! {
    /// An ACH bank account's `type_id`.
    AchAccountType: &'static str as &str {
        PersonalChecking = "C",
        PersonalSavings = "S",
        BusinessChecking = "K",
        BusinessSavings = "V",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_read_back_as_its_value_and_codes_are_distinct() {
        fn check<T: Copy + PartialEq + std::fmt::Debug, C: PartialEq + std::fmt::Debug>(
            all: &[T],
            code: impl Fn(T) -> C,
            from_code: impl Fn(&C) -> Option<T>,
        ) {
            for (i, value) in all.iter().enumerate() {
                assert_eq!(from_code(&code(*value)), Some(*value));
                for other in &all[i + 1..] {
                    assert_ne!(code(*value), code(*other), "{value:?} and {other:?}");
                }
            }
        }
        check(Frequency::ALL, Frequency::code, |c| {
            Frequency::from_code(*c)
        });
        check(PlanStatus::ALL, PlanStatus::code, |c| {
            PlanStatus::from_code(c)
        });
        check(SubscriptionStatus::ALL, SubscriptionStatus::code, |c| {
            SubscriptionStatus::from_code(c)
        });
        check(CardType::ALL, CardType::code, |c| CardType::from_code(c));
        check(AchAccountType::ALL, AchAccountType::code, |c| {
            AchAccountType::from_code(c)
        });
    }

    #[test]
    fn unknown_codes_are_none() {
        assert_eq!(Frequency::from_code(2), None);
        assert_eq!(SubscriptionStatus::from_code("a"), None);
        assert_eq!(CardType::from_code(""), None);
        assert_eq!(AchAccountType::from_code("X"), None);
        assert_eq!(PlanStatus::from_code("EE"), None);
    }
}
