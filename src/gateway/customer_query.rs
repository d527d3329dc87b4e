//! `CustomerFilter` and `CustomerOrder`, and their translation into the upstream's browse
//! grammar (`filter=field,OP,value`, `order_on`, `order_by`).

use async_graphql::{Enum, InputObject};

use crate::gateway::error::GatewayError;
use crate::qualpay::Filter;

/// Conditions on customers; all given conditions must hold. `...Prefix` matches the start of
/// the value.
#[derive(InputObject, Default, Debug)]
pub struct CustomerFilter {
    pub customer_id: Option<String>,
    pub customer_id_prefix: Option<String>,
    /// Any of these customer ids.
    pub customer_id_in: Option<Vec<String>>,
    pub first_name: Option<String>,
    pub first_name_prefix: Option<String>,
    pub last_name: Option<String>,
    pub last_name_prefix: Option<String>,
    pub firm_name: Option<String>,
    pub firm_name_prefix: Option<String>,
    pub email: Option<String>,
    pub email_prefix: Option<String>,
    pub phone: Option<String>,
    pub phone_prefix: Option<String>,
    pub reference_id: Option<String>,
    pub reference_id_prefix: Option<String>,
}

/// How to sort customers.
#[derive(InputObject, Debug)]
pub struct CustomerOrder {
    pub field: CustomerOrderField,
    pub direction: OrderDirection,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CustomerOrderField {
    CustomerId,
    FirstName,
    LastName,
    FirmName,
    Email,
    /// When the customer was added to the vault.
    CreatedAt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderDirection {
    Asc,
    Desc,
}

impl CustomerOrder {
    /// `(order_on, order_by)`. The vault's internal `rec_id` grows as customers are added,
    /// so it orders by creation.
    pub fn to_upstream(&self) -> (&'static str, &'static str) {
        let field = match self.field {
            CustomerOrderField::CustomerId => "customer_id",
            CustomerOrderField::FirstName => "customer_first_name",
            CustomerOrderField::LastName => "customer_last_name",
            CustomerOrderField::FirmName => "customer_firm_name",
            CustomerOrderField::Email => "customer_email",
            CustomerOrderField::CreatedAt => "rec_id",
        };
        let direction = match self.direction {
            OrderDirection::Asc => "asc",
            OrderDirection::Desc => "desc",
        };
        (field, direction)
    }
}

impl CustomerFilter {
    /// The upstream `filter` items, under the grammar's one rule ([`Filter`]): a value it
    /// cannot carry, or a list or value too large, is refused rather than sent.
    pub fn to_upstream(&self) -> Result<Vec<Filter>, GatewayError> {
        let pairs = [
            ("customer_id", &self.customer_id, &self.customer_id_prefix),
            (
                "customer_first_name",
                &self.first_name,
                &self.first_name_prefix,
            ),
            (
                "customer_last_name",
                &self.last_name,
                &self.last_name_prefix,
            ),
            (
                "customer_firm_name",
                &self.firm_name,
                &self.firm_name_prefix,
            ),
            ("customer_email", &self.email, &self.email_prefix),
            ("customer_phone", &self.phone, &self.phone_prefix),
            (
                "reference_id",
                &self.reference_id,
                &self.reference_id_prefix,
            ),
        ];
        let mut filters = Vec::new();
        for (field, exact, prefix) in pairs {
            if let Some(value) = exact {
                filters.push(Filter::eq(field, value)?);
            }
            if let Some(prefix) = prefix {
                filters.push(Filter::prefix(field, prefix)?);
            }
        }
        if let Some(ids) = &self.customer_id_in {
            filters.push(Filter::any_of("customer_id", ids)?);
        }
        Ok(filters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_the_upstream_grammar() {
        let filter = CustomerFilter {
            last_name: Some("Doe".into()),
            email_prefix: Some("jd".into()),
            customer_id_in: Some(vec!["A1".into(), "B2".into()]),
            ..Default::default()
        };
        let wire: Vec<String> = filter
            .to_upstream()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            wire,
            [
                "customer_last_name,EQ,Doe",
                "customer_email,LIKE,jd%",
                "customer_id,IN,A1|B2"
            ]
        );
    }

    #[test]
    fn values_the_grammar_cannot_carry_are_refused() {
        for filter in [
            CustomerFilter {
                last_name: Some("a;b".into()),
                ..Default::default()
            },
            CustomerFilter {
                email_prefix: Some("50%".into()),
                ..Default::default()
            },
            CustomerFilter {
                customer_id_in: Some(vec!["a|b".into()]),
                ..Default::default()
            },
            CustomerFilter {
                customer_id_in: Some(vec![]),
                ..Default::default()
            },
        ] {
            assert!(filter.to_upstream().is_err(), "{filter:?}");
        }
    }
}
