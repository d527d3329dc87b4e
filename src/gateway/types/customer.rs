//! `Customer`: a vault customer with its payment methods and shipping addresses.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};

use super::codes::SubscriptionStatus;
use super::{
    BankAccount, BillingSubscription, Card, CustomerPaymentFilter, PaymentConnection,
    PaymentMethod, ShippingAddress, customer_payments,
};
use crate::gateway::access::{Needs, Permission};
use crate::gateway::context::loaders;
use crate::gateway::error::gql;
use crate::gateway::ids;
use crate::gateway::paging::PageArgs;
use crate::qualpay::CustomerVault;

/// A customer in the vault. Cards, bank accounts and addresses come with the customer in one
/// upstream call.
#[derive(Clone)]
pub struct Customer(Arc<CustomerVault>);

impl Customer {
    pub fn new(vault: Arc<CustomerVault>) -> Self {
        Self(vault)
    }

    /// The vault's `customer_id`.
    pub fn key(&self) -> &str {
        &self.0.customer_id
    }

    /// Cards and bank accounts, in the vault's order.
    pub fn payment_method_list(&self) -> Vec<PaymentMethod> {
        (0..self.0.billing_cards.len())
            .map(|index| PaymentMethod::at(&self.0, index))
            .collect()
    }

    /// The payment method with this `card_id`.
    pub fn payment_method(&self, card_id: &str) -> Option<PaymentMethod> {
        let index = self
            .0
            .billing_cards
            .iter()
            .position(|card| card.card_id == card_id)?;
        Some(PaymentMethod::at(&self.0, index))
    }

    /// The payment method recurring billing charges.
    pub fn primary_payment_method(&self) -> Option<PaymentMethod> {
        let index = self.0.billing_cards.iter().position(|card| card.primary)?;
        Some(PaymentMethod::at(&self.0, index))
    }

    pub fn shipping_address_list(&self) -> Vec<ShippingAddress> {
        (0..self.0.shipping_addresses.len())
            .map(|index| ShippingAddress::at(&self.0, index))
            .collect()
    }

    /// The shipping address with this `shipping_id`.
    pub fn shipping_address(&self, shipping_id: i64) -> Option<ShippingAddress> {
        let index = self
            .0
            .shipping_addresses
            .iter()
            .position(|address| address.shipping_id == shipping_id)?;
        Some(ShippingAddress::at(&self.0, index))
    }
}

impl From<CustomerVault> for Customer {
    fn from(vault: CustomerVault) -> Self {
        Self(Arc::new(vault))
    }
}

#[Object]
impl Customer {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        ids::customer(self.key())
    }

    /// The vault's id of the customer: letters and digits, case-sensitive.
    pub async fn customer_id(&self) -> &str {
        self.key()
    }

    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn first_name(&self) -> Option<&str> {
        self.0.customer_first_name.as_deref()
    }

    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn last_name(&self) -> Option<&str> {
        self.0.customer_last_name.as_deref()
    }

    /// Business name.
    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn firm_name(&self) -> Option<&str> {
        self.0.customer_firm_name.as_deref()
    }

    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn email(&self) -> Option<&str> {
        self.0.customer_email.as_deref()
    }

    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn phone(&self) -> Option<&str> {
        self.0.customer_phone.as_deref()
    }

    /// The merchant's own reference for the customer.
    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn reference_id(&self) -> Option<&str> {
        self.0.reference_id.as_deref()
    }

    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn comments(&self) -> Option<&str> {
        self.0.comments.as_deref()
    }

    /// Which integration created the customer.
    #[graphql(guard = "Needs(Permission::ReadProfile)")]
    pub async fn developer_id(&self) -> Option<&str> {
        self.0.developer_id.as_deref()
    }

    /// The customer's cards (bank accounts are in `bankAccounts`), oldest first.
    #[graphql(
        complexity = "crate::gateway::cost::embedded(child_complexity)",
        guard = "Needs(Permission::ReadPaymentMethods)"
    )]
    pub async fn cards(&self) -> Vec<Card> {
        self.payment_method_list()
            .into_iter()
            .filter_map(PaymentMethod::into_card)
            .collect()
    }

    /// The customer's ACH bank accounts, oldest first.
    #[graphql(
        complexity = "crate::gateway::cost::embedded(child_complexity)",
        guard = "Needs(Permission::ReadPaymentMethods)"
    )]
    pub async fn bank_accounts(&self) -> Vec<BankAccount> {
        self.payment_method_list()
            .into_iter()
            .filter_map(PaymentMethod::into_bank_account)
            .collect()
    }

    /// Cards and bank accounts together, oldest first.
    #[graphql(
        complexity = "crate::gateway::cost::embedded(child_complexity)",
        guard = "Needs(Permission::ReadPaymentMethods)"
    )]
    pub async fn payment_methods(&self) -> Vec<PaymentMethod> {
        self.payment_method_list()
    }

    /// The primary payment method when it is a card; null when there is none or it is a bank account.
    #[graphql(guard = "Needs(Permission::ReadPaymentMethods)")]
    pub async fn primary_card(&self) -> Option<Card> {
        self.primary_payment_method()
            .and_then(PaymentMethod::into_card)
    }

    /// The payment method recurring billing charges.
    #[graphql(
        name = "primaryPaymentMethod",
        guard = "Needs(Permission::ReadPaymentMethods)"
    )]
    pub async fn primary_payment_method_field(&self) -> Option<PaymentMethod> {
        self.primary_payment_method()
    }

    #[graphql(
        complexity = "crate::gateway::cost::embedded(child_complexity)",
        guard = "Needs(Permission::ReadShippingAddresses)"
    )]
    pub async fn shipping_addresses(&self) -> Vec<ShippingAddress> {
        self.shipping_address_list()
    }

    /// The customer's subscriptions, newest first; only those with one of `status` when given.
    #[graphql(
        complexity = "crate::gateway::cost::embedded(child_complexity)",
        guard = "Needs(Permission::ReadSubscriptions)"
    )]
    pub async fn subscriptions(
        &self,
        ctx: &Context<'_>,
        status: Option<Vec<SubscriptionStatus>>,
    ) -> Result<Vec<BillingSubscription>> {
        let all = loaders(ctx)?
            .subscriptions_of(self.key())
            .await
            .map_err(gql)?;
        Ok(all
            .iter()
            .cloned()
            .map(BillingSubscription::new)
            .filter(|s| {
                status
                    .as_ref()
                    .is_none_or(|wanted| wanted.contains(&s.status_code()))
            })
            .collect())
    }

    /// The customer's payments (Payment Gateway transactions), newest first, a page at a time:
    /// 10 when neither `first` nor `last` is given, at most 100. The payments of every customer
    /// of a request are read in one batched browse.
    #[graphql(
        complexity = "crate::gateway::cost::page(first, last, child_complexity)",
        guard = "Needs(Permission::ReadPayments)"
    )]
    pub async fn payments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CustomerPaymentFilter>,
    ) -> Result<PaymentConnection> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        customer_payments(ctx, self.key(), args, filter).await
    }

    #[graphql(guard = "Needs(Permission::ReadShippingAddresses)")]
    pub async fn primary_shipping_address(&self) -> Option<ShippingAddress> {
        self.shipping_address_list()
            .into_iter()
            .find(ShippingAddress::primary)
    }
}
