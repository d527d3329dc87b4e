//! `Card` and `BankAccount`, the two kinds of `PaymentMethod` the vault stores. Numbers are
//! only ever masked here: no output type has a field that could carry a full number or a CVV.

use std::sync::Arc;

use async_graphql::{Context, ID, Interface, Object, Result, SimpleObject};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};

use super::codes::{BankAccountType, CardBrand};
use super::{Customer, linked_customer};
use crate::gateway::context::request_time;
use crate::gateway::ids;
use crate::qualpay::{BillingCard, CustomerVault};

/// Something a customer pays with. The vault keeps cards and ACH bank accounts in one list with
/// one primary; `Customer.paymentMethods` returns both kinds.
#[derive(Interface, Clone)]
#[expect(
    clippy::duplicated_attributes,
    reason = "each `field(...)` of the interface repeats `ty = ...` by design"
)]
#[graphql(
    field(name = "id", ty = "ID", desc = "Global id, for `node(id:)`."),
    field(
        name = "card_id",
        ty = "&str",
        desc = "The vault's id of the payment method."
    ),
    field(name = "masked_number", ty = "&str", desc = "The number, masked."),
    field(name = "last4", ty = "&str"),
    field(name = "is_primary", ty = "bool"),
    field(name = "verified_at", ty = "Option<DateTime<Utc>>"),
    field(name = "billing_first_name", ty = "Option<&str>"),
    field(name = "billing_last_name", ty = "Option<&str>"),
    field(name = "billing_firm_name", ty = "Option<&str>"),
    field(name = "billing_emails", ty = "Vec<String>"),
    field(name = "billing_address", ty = "Option<BillingAddress>"),
    field(name = "customer", ty = "Customer")
)]
pub enum PaymentMethod {
    Card(Card),
    BankAccount(BankAccount),
}

impl PaymentMethod {
    /// The customer's payment method at `index` of its `billing_cards`: a bank account when the
    /// vault gave it ACH fields, a card otherwise.
    pub(super) fn at(customer: &Arc<CustomerVault>, index: usize) -> Self {
        let record = Record {
            customer: customer.clone(),
            index,
        };
        if record.card().tr_number.is_some() || record.card().type_id.is_some() {
            Self::BankAccount(BankAccount(record))
        } else {
            Self::Card(Card(record))
        }
    }

    /// Whether this is the customer's primary payment method.
    pub fn primary(&self) -> bool {
        self.record().card().primary
    }

    /// The vault's `card_id`.
    pub fn key(&self) -> &str {
        &self.record().card().card_id
    }

    pub fn into_card(self) -> Option<Card> {
        match self {
            Self::Card(card) => Some(card),
            Self::BankAccount(_) => None,
        }
    }

    pub fn into_bank_account(self) -> Option<BankAccount> {
        match self {
            Self::BankAccount(account) => Some(account),
            Self::Card(_) => None,
        }
    }

    fn record(&self) -> &Record {
        match self {
            Self::Card(Card(record)) | Self::BankAccount(BankAccount(record)) => record,
        }
    }
}

/// What both kinds hold: the customer as the vault answered it, and which of its billing
/// records this is.
#[derive(Clone)]
struct Record {
    customer: Arc<CustomerVault>,
    index: usize,
}

impl Record {
    fn card(&self) -> &BillingCard {
        &self.customer.billing_cards[self.index]
    }

    fn customer_id(&self) -> &str {
        &self.customer.customer_id
    }

    fn masked(&self) -> &str {
        self.card().card_number.as_deref().unwrap_or_default()
    }

    fn last4(&self) -> &str {
        let masked = self.masked();
        &masked[masked.len().saturating_sub(4)..]
    }

    /// Qualpay writes `verified_date` as `YYYYMMDDhhmmss`, in UTC.
    fn verified_at(&self) -> Option<DateTime<Utc>> {
        let text = self.card().verified_date.as_deref()?;
        NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S")
            .ok()
            .map(|at| at.and_utc())
    }

    fn emails(&self) -> Vec<String> {
        self.card()
            .billing
            .billing_email
            .clone()
            .unwrap_or_default()
    }

    fn address(&self) -> Option<BillingAddress> {
        let b = &self.card().billing;
        let address = BillingAddress {
            addr1: b.billing_addr1.clone(),
            addr2: b.billing_addr2.clone(),
            city: b.billing_city.clone(),
            state: b.billing_state.clone(),
            zip: b.billing_zip.clone(),
            zip4: b.billing_zip4.clone(),
            country: b.billing_country.clone(),
            country_code: b.billing_country_code.clone(),
        };
        (address != BillingAddress::default()).then_some(address)
    }
}

/// The billing address of a payment method.
#[derive(SimpleObject, Clone, Default, PartialEq, Eq)]
pub struct BillingAddress {
    pub addr1: Option<String>,
    pub addr2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub zip4: Option<String>,
    pub country: Option<String>,
    /// ISO 3166 numeric country code, e.g. `840`.
    pub country_code: Option<String>,
}

/// A stored card.
#[derive(Clone)]
pub struct Card(Record);

#[Object]
impl Card {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        ids::payment_method(self.0.customer_id(), &self.0.card().card_id)
    }

    /// The vault's id of the card (32 letters and digits).
    pub async fn card_id(&self) -> &str {
        &self.0.card().card_id
    }

    /// The last four digits.
    pub async fn last4(&self) -> &str {
        self.0.last4()
    }

    /// First six and last four digits, e.g. `411111xxxxxx1111`.
    pub async fn masked_number(&self) -> &str {
        self.0.masked()
    }

    pub async fn brand(&self) -> CardBrand {
        CardBrand::from_wire(self.0.card().card_type.as_deref())
    }

    /// Expiry month, 1–12.
    pub async fn exp_month(&self) -> Option<u32> {
        self.exp().map(|(month, _)| month)
    }

    /// Expiry year, four digits.
    pub async fn exp_year(&self) -> Option<i32> {
        self.exp().map(|(_, year)| year)
    }

    /// Expiry as the vault stores it: `MMYY`.
    pub async fn exp_date(&self) -> Option<&str> {
        self.0.card().exp_date.as_deref()
    }

    /// Whether the card is past its expiry month (a card is good through the month's last day).
    pub async fn is_expired(&self, ctx: &Context<'_>) -> Result<bool> {
        let today = request_time(ctx)?.date_naive();
        Ok(self
            .exp()
            .is_some_and(|(month, year)| (year, month) < (today.year(), today.month())))
    }

    /// Whether recurring billing charges this payment method.
    pub async fn is_primary(&self) -> bool {
        self.0.card().primary
    }

    /// When the issuer last verified the card; null if never.
    pub async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at()
    }

    /// On Account Updater hold: left out of account updater requests and not charged by
    /// recurring billing (`holdCard`, or the account updater found the account closed). False
    /// when the upstream does not say (Qualpay's own vault).
    pub async fn is_on_hold(&self) -> bool {
        self.0.card().on_hold
    }

    /// When the account updater last changed the card (number, expiry, or a hold); null if
    /// never.
    pub async fn updated_by_account_updater_at(&self) -> Option<DateTime<Utc>> {
        let text = self.0.card().au_updated_at.as_deref()?;
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    pub async fn billing_first_name(&self) -> Option<&str> {
        self.0.card().billing.billing_first_name.as_deref()
    }

    pub async fn billing_last_name(&self) -> Option<&str> {
        self.0.card().billing.billing_last_name.as_deref()
    }

    pub async fn billing_firm_name(&self) -> Option<&str> {
        self.0.card().billing.billing_firm_name.as_deref()
    }

    pub async fn billing_emails(&self) -> Vec<String> {
        self.0.emails()
    }

    /// Null when the vault has no address fields for the card.
    pub async fn billing_address(&self) -> Option<BillingAddress> {
        self.0.address()
    }

    pub async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        linked_customer(ctx, self.0.customer_id()).await
    }
}

impl Card {
    /// Whether this stored card is the one with this full number and expiry, as far as the
    /// masked number (first six, last four) and the expiry tell.
    /// The vault's `card_id`.
    pub fn key(&self) -> &str {
        &self.0.card().card_id
    }

    pub fn matches(&self, number: &str, exp_date: &str) -> bool {
        let number = number.trim();
        let masked = self.0.masked();
        number.len() >= 10
            && masked.len() == number.len()
            && masked.get(..6) == number.get(..6)
            && masked.get(masked.len() - 4..) == number.get(number.len() - 4..)
            && self.0.card().exp_date.as_deref() == Some(exp_date.trim())
    }

    fn exp(&self) -> Option<(u32, i32)> {
        let text = self.0.card().exp_date.as_deref()?;
        if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let month: u32 = text[..2].parse().ok()?;
        let year: i32 = text[2..].parse().ok()?;
        (1..=12).contains(&month).then_some((month, 2000 + year))
    }
}

/// A stored ACH bank account.
#[derive(Clone)]
pub struct BankAccount(Record);

impl BankAccount {
    /// Whether this stored account has this routing number and ends like this account number.
    pub fn matches(&self, routing_number: &str, account_number: &str) -> bool {
        let account_number = account_number.trim();
        self.0.card().tr_number.as_deref() == Some(routing_number.trim())
            && account_number.len() >= 4
            && self.0.last4() == &account_number[account_number.len() - 4..]
    }
}

#[Object]
impl BankAccount {
    /// Global id, for `node(id:)`.
    pub async fn id(&self) -> ID {
        ids::payment_method(self.0.customer_id(), &self.0.card().card_id)
    }

    /// The vault's id of the account (the vault calls every payment method a card).
    pub async fn card_id(&self) -> &str {
        &self.0.card().card_id
    }

    pub async fn account_type(&self) -> BankAccountType {
        BankAccountType::from_wire(self.0.card().type_id.as_deref())
    }

    /// ABA routing number (public, not masked).
    pub async fn routing_number(&self) -> Option<&str> {
        self.0.card().tr_number.as_deref()
    }

    /// The account number, masked to its last four digits.
    pub async fn masked_number(&self) -> &str {
        self.0.masked()
    }

    pub async fn last4(&self) -> &str {
        self.0.last4()
    }

    pub async fn is_primary(&self) -> bool {
        self.0.card().primary
    }

    pub async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at()
    }

    pub async fn billing_first_name(&self) -> Option<&str> {
        self.0.card().billing.billing_first_name.as_deref()
    }

    pub async fn billing_last_name(&self) -> Option<&str> {
        self.0.card().billing.billing_last_name.as_deref()
    }

    pub async fn billing_firm_name(&self) -> Option<&str> {
        self.0.card().billing.billing_firm_name.as_deref()
    }

    pub async fn billing_emails(&self) -> Vec<String> {
        self.0.emails()
    }

    pub async fn billing_address(&self) -> Option<BillingAddress> {
        self.0.address()
    }

    pub async fn customer(&self, ctx: &Context<'_>) -> Result<Customer> {
        linked_customer(ctx, self.0.customer_id()).await
    }
}
