//! `addCard`, `addBankAccount`, `updateCard`, `removeCard`, `setPrimaryCard`. The full card
//! number and the CVV exist only in these inputs; no output type can carry them.

use super::per_mutation;
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::changed;
use crate::gateway::access::{self, Permission};
use crate::gateway::context::upstream;
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::types::{BankAccount, BankAccountType, Card, Customer, PaymentMethod};
use crate::qualpay::{AddBillingCardRequest, CardIdRequest, UpdateBillingCardRequest};
use crate::secret::Secret;

#[derive(Default)]
pub struct CardMutations;

/// A card to store: a `cardNumber` with its `expDate` and `billingZip`, or a `cardToken` from
/// the embedded card fields (`createCardSetup`) or the Payment Gateway's tokenize. `cardNumber`
/// and `cvv2` are sent to the vault and never returned.
#[derive(InputObject)]
pub struct CardInput {
    /// The full card number (digits only).
    pub card_number: Option<String>,
    /// A token (`card_id`) from the embedded card fields or `/pg/tokenize`, instead of a
    /// number; a single-use one needs `verify: true`. The card keeps the token's `cardId`.
    pub card_token: Option<String>,
    /// Expiry, `MMYY`; required with `cardNumber` (a token brings its own).
    pub exp_date: Option<String>,
    /// Used for verification, never stored.
    pub cvv2: Option<String>,
    pub billing_first_name: Option<String>,
    pub billing_last_name: Option<String>,
    pub billing_firm_name: Option<String>,
    pub billing_emails: Option<Vec<String>>,
    pub billing_addr1: Option<String>,
    pub billing_addr2: Option<String>,
    pub billing_city: Option<String>,
    pub billing_state: Option<String>,
    /// Required with `cardNumber`.
    pub billing_zip: Option<String>,
    pub billing_zip4: Option<String>,
    pub billing_country: Option<String>,
    pub billing_country_code: Option<String>,
    /// Verify the card with the issuer (a zero-amount authorization) before storing it.
    pub verify: Option<bool>,
    /// Make this the primary payment method.
    pub primary: Option<bool>,
}

impl CardInput {
    /// The vault's request, once the input names exactly one card: a number (with its expiry
    /// and billing zip) or a token. Checked before any upstream call.
    pub fn to_request(&self) -> Result<AddBillingCardRequest, GatewayError> {
        let required = |field: &str, value: &Option<String>| match value {
            Some(_) => Ok(()),
            None => Err(GatewayError::BadUserInput(format!(
                "{field} is required with cardNumber"
            ))),
        };
        match (&self.card_number, &self.card_token) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(GatewayError::BadUserInput(
                    "give either cardNumber or cardToken".to_owned(),
                ));
            }
            (Some(_), None) => {
                required("expDate", &self.exp_date)?;
                required("billingZip", &self.billing_zip)?;
            }
            (None, Some(_)) => {}
        }
        Ok(AddBillingCardRequest {
            card_number: self.card_number.clone().map(Secret::new),
            card_id: self.card_token.clone(),
            exp_date: self.exp_date.clone(),
            cvv2: self.cvv2.clone().map(Secret::new),
            billing_first_name: self.billing_first_name.clone(),
            billing_last_name: self.billing_last_name.clone(),
            billing_firm_name: self.billing_firm_name.clone(),
            billing_email: self.billing_emails.clone(),
            billing_addr1: self.billing_addr1.clone(),
            billing_addr2: self.billing_addr2.clone(),
            billing_city: self.billing_city.clone(),
            billing_state: self.billing_state.clone(),
            billing_zip: self.billing_zip.clone(),
            billing_zip4: self.billing_zip4.clone(),
            billing_country: self.billing_country.clone(),
            billing_country_code: self.billing_country_code.clone(),
            verify: self.verify,
            primary: self.primary,
            ..AddBillingCardRequest::default()
        })
    }
}

/// An ACH bank account to store. `accountNumber` is sent to the vault and never returned.
#[derive(InputObject)]
pub struct BankAccountInput {
    #[graphql(default_with = "BankAccountType::PersonalChecking")]
    pub account_type: BankAccountType,
    /// ABA routing number, 9 digits.
    pub routing_number: String,
    /// The account number, 4 to 17 digits.
    pub account_number: String,
    pub billing_first_name: String,
    pub billing_last_name: String,
    pub billing_firm_name: Option<String>,
    pub billing_emails: Option<Vec<String>>,
    pub billing_addr1: Option<String>,
    pub billing_addr2: Option<String>,
    pub billing_city: Option<String>,
    pub billing_state: Option<String>,
    pub billing_zip: String,
    pub billing_zip4: Option<String>,
    pub billing_country: Option<String>,
    pub billing_country_code: Option<String>,
    pub primary: Option<bool>,
}

impl BankAccountInput {
    pub fn to_request(&self) -> AddBillingCardRequest {
        AddBillingCardRequest {
            type_id: Some(self.account_type.code().to_owned()),
            tr_number: Some(self.routing_number.clone()),
            dda_number: Some(Secret::new(self.account_number.clone())),
            billing_first_name: Some(self.billing_first_name.clone()),
            billing_last_name: Some(self.billing_last_name.clone()),
            billing_firm_name: self.billing_firm_name.clone(),
            billing_email: self.billing_emails.clone(),
            billing_addr1: self.billing_addr1.clone(),
            billing_addr2: self.billing_addr2.clone(),
            billing_city: self.billing_city.clone(),
            billing_state: self.billing_state.clone(),
            billing_zip: Some(self.billing_zip.clone()),
            billing_zip4: self.billing_zip4.clone(),
            billing_country: self.billing_country.clone(),
            billing_country_code: self.billing_country_code.clone(),
            primary: self.primary,
            ..AddBillingCardRequest::default()
        }
    }
}

#[derive(InputObject)]
pub struct AddCardInput {
    pub customer_id: String,
    #[graphql(flatten)]
    pub card: CardInput,
}

#[derive(SimpleObject)]
pub struct AddCardPayload {
    pub customer: Customer,
    /// The card just stored.
    pub card: Option<Card>,
}

#[derive(InputObject)]
pub struct AddBankAccountInput {
    pub customer_id: String,
    #[graphql(flatten)]
    pub bank_account: BankAccountInput,
}

#[derive(SimpleObject)]
pub struct AddBankAccountPayload {
    pub customer: Customer,
    pub bank_account: Option<BankAccount>,
}

/// Fields that are given change. The card number cannot change: add a new card instead.
#[derive(InputObject)]
pub struct UpdateCardInput {
    pub customer_id: String,
    pub card_id: String,
    /// New expiry, `MMYY`.
    pub exp_date: Option<String>,
    /// Used for verification, never stored.
    pub cvv2: Option<String>,
    pub billing_first_name: Option<String>,
    pub billing_last_name: Option<String>,
    pub billing_firm_name: Option<String>,
    pub billing_emails: Option<Vec<String>>,
    pub billing_addr1: Option<String>,
    pub billing_addr2: Option<String>,
    pub billing_city: Option<String>,
    pub billing_state: Option<String>,
    pub billing_zip: Option<String>,
    pub billing_zip4: Option<String>,
    pub billing_country: Option<String>,
    pub billing_country_code: Option<String>,
    pub verify: Option<bool>,
    pub primary: Option<bool>,
}

#[derive(SimpleObject)]
pub struct UpdateCardPayload {
    pub customer: Customer,
    /// The card after the change (a bank account when `cardId` named one).
    pub card: Option<PaymentMethod>,
}

per_mutation! {
    /// Names one payment method of a customer.
    #[derive(InputObject)]
    { customer_id: String, card_id: String }
    as RemoveCardInput, SetPrimaryCardInput
}

#[derive(SimpleObject)]
pub struct RemoveCardPayload {
    pub customer: Customer,
    pub removed_card_id: String,
}

#[derive(SimpleObject)]
pub struct SetPrimaryCardPayload {
    pub customer: Customer,
    pub card: Option<PaymentMethod>,
}

#[Object]
impl CardMutations {
    /// Stores a card for a customer.
    async fn add_card(&self, ctx: &Context<'_>, input: AddCardInput) -> Result<AddCardPayload> {
        access::customer(ctx, &input.customer_id, Some(Permission::AddPaymentMethod))?;
        let request = input.card.to_request().map_err(gql)?;
        let result = upstream(ctx)?.add_card(&input.customer_id, &request).await;
        let customer = changed(ctx, result).await?;
        let card = customer
            .payment_method_list()
            .into_iter()
            .filter_map(PaymentMethod::into_card)
            .rfind(
                |card| match (&input.card.card_token, &input.card.card_number) {
                    // A token keeps its id as the card's.
                    (Some(token), _) => card.key() == token,
                    (None, Some(number)) => {
                        card.matches(number, input.card.exp_date.as_deref().unwrap_or_default())
                    }
                    (None, None) => false,
                },
            );
        Ok(AddCardPayload { customer, card })
    }

    /// Stores an ACH bank account for a customer.
    async fn add_bank_account(
        &self,
        ctx: &Context<'_>,
        input: AddBankAccountInput,
    ) -> Result<AddBankAccountPayload> {
        access::customer(ctx, &input.customer_id, Some(Permission::AddPaymentMethod))?;
        let result = upstream(ctx)?
            .add_card(&input.customer_id, &input.bank_account.to_request())
            .await;
        let customer = changed(ctx, result).await?;
        let account = &input.bank_account;
        let bank_account = customer
            .payment_method_list()
            .into_iter()
            .filter_map(PaymentMethod::into_bank_account)
            .rfind(|found| found.matches(&account.routing_number, &account.account_number));
        Ok(AddBankAccountPayload {
            customer,
            bank_account,
        })
    }

    async fn update_card(
        &self,
        ctx: &Context<'_>,
        input: UpdateCardInput,
    ) -> Result<UpdateCardPayload> {
        access::customer(ctx, &input.customer_id, Some(Permission::AddPaymentMethod))?;
        let request = UpdateBillingCardRequest {
            card_id: input.card_id.clone(),
            exp_date: input.exp_date,
            cvv2: input.cvv2.map(Secret::new),
            billing_first_name: input.billing_first_name,
            billing_last_name: input.billing_last_name,
            billing_firm_name: input.billing_firm_name,
            billing_email: input.billing_emails,
            billing_addr1: input.billing_addr1,
            billing_addr2: input.billing_addr2,
            billing_city: input.billing_city,
            billing_state: input.billing_state,
            billing_zip: input.billing_zip,
            billing_zip4: input.billing_zip4,
            billing_country: input.billing_country,
            billing_country_code: input.billing_country_code,
            verify: input.verify,
            primary: input.primary,
            merchant_id: None,
        };
        let result = upstream(ctx)?
            .update_card(&input.customer_id, &request)
            .await;
        let customer = changed(ctx, result).await?;
        let card = customer.payment_method(&input.card_id);
        Ok(UpdateCardPayload { customer, card })
    }

    /// Removes a card or bank account; if it was primary, the oldest remaining one becomes primary.
    async fn remove_card(
        &self,
        ctx: &Context<'_>,
        input: RemoveCardInput,
    ) -> Result<RemoveCardPayload> {
        access::customer(
            ctx,
            &input.customer_id,
            Some(Permission::RemovePaymentMethod),
        )?;
        let result = upstream(ctx)?
            .delete_card(&input.customer_id, &card_ref(&input.card_id))
            .await;
        let customer = changed(ctx, result).await?;
        Ok(RemoveCardPayload {
            customer,
            removed_card_id: input.card_id,
        })
    }

    /// Makes a card or bank account the customer's primary payment method.
    async fn set_primary_card(
        &self,
        ctx: &Context<'_>,
        input: SetPrimaryCardInput,
    ) -> Result<SetPrimaryCardPayload> {
        access::customer(
            ctx,
            &input.customer_id,
            Some(Permission::SetPrimaryPaymentMethod),
        )?;
        let result = upstream(ctx)?
            .set_primary_card(&input.customer_id, &card_ref(&input.card_id))
            .await;
        let customer = changed(ctx, result).await?;
        let card = customer.payment_method(&input.card_id);
        Ok(SetPrimaryCardPayload { customer, card })
    }
}

fn card_ref(card_id: &str) -> CardIdRequest {
    CardIdRequest {
        card_id: card_id.to_owned(),
        merchant_id: None,
    }
}
