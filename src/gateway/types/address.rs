//! `ShippingAddress`.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};

use super::{Customer, linked_customer};
use crate::gateway::ids;
use crate::qualpay::{self, CustomerVault};

/// A view of one of the customer's shipping addresses, as the vault answered the customer.
#[derive(Clone)]
pub struct ShippingAddress {
    customer: Arc<CustomerVault>,
    index: usize,
}

impl ShippingAddress {
    /// The customer's address at `index` of its `shipping_addresses`.
    pub(super) fn at(customer: &Arc<CustomerVault>, index: usize) -> Self {
        Self {
            customer: customer.clone(),
            index,
        }
    }

    fn address(&self) -> &qualpay::ShippingAddress {
        &self.customer.shipping_addresses[self.index]
    }

    /// Whether this is the customer's default address.
    pub fn primary(&self) -> bool {
        self.address().primary
    }

    /// The vault's `shipping_id`.
    pub fn key(&self) -> i64 {
        self.address().shipping_id
    }

    /// First and last name, empty when unset.
    pub fn names(&self) -> (String, String) {
        let fields = &self.address().fields;
        (
            fields.shipping_first_name.clone().unwrap_or_default(),
            fields.shipping_last_name.clone().unwrap_or_default(),
        )
    }
}

/// A shipping address of a customer.
#[Object]
impl ShippingAddress {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        ids::shipping_address(&self.customer.customer_id, self.address().shipping_id)
    }

    /// The vault's id of the address (digits; up to 10 of them, so an ID rather than an Int).
    pub async fn shipping_id(&self) -> ID {
        ID(self.address().shipping_id.to_string())
    }

    pub async fn first_name(&self) -> Option<&str> {
        self.address().fields.shipping_first_name.as_deref()
    }

    pub async fn last_name(&self) -> Option<&str> {
        self.address().fields.shipping_last_name.as_deref()
    }

    pub async fn firm_name(&self) -> Option<&str> {
        self.address().fields.shipping_firm_name.as_deref()
    }

    pub async fn addr1(&self) -> Option<&str> {
        self.address().fields.shipping_addr1.as_deref()
    }

    pub async fn addr2(&self) -> Option<&str> {
        self.address().fields.shipping_addr2.as_deref()
    }

    pub async fn city(&self) -> Option<&str> {
        self.address().fields.shipping_city.as_deref()
    }

    pub async fn state(&self) -> Option<&str> {
        self.address().fields.shipping_state.as_deref()
    }

    pub async fn zip(&self) -> Option<&str> {
        self.address().fields.shipping_zip.as_deref()
    }

    pub async fn zip4(&self) -> Option<&str> {
        self.address().fields.shipping_zip4.as_deref()
    }

    pub async fn country(&self) -> Option<&str> {
        self.address().fields.shipping_country.as_deref()
    }

    /// ISO 3166 numeric country code, e.g. `840`.
    pub async fn country_code(&self) -> Option<&str> {
        self.address().fields.shipping_country_code.as_deref()
    }

    /// Whether this is the customer's default shipping address.
    pub async fn is_primary(&self) -> bool {
        self.address().primary
    }

    pub async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        linked_customer(ctx, &self.customer.customer_id).await
    }
}
