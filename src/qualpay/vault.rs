//! Customer Vault bodies: `CustomerVault`, `BillingCard`, `ShippingAddress` and the requests
//! that add and change them.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// `CustomerVault`: a customer with its cards and shipping addresses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerVault {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rec_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_firm_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_id: Option<String>,
    /// The primary card's number, masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_card_number: Option<String>,
    #[serde(default)]
    pub shipping_addresses: Vec<ShippingAddress>,
    #[serde(default)]
    pub billing_cards: Vec<BillingCard>,
}

/// `BillingCard`: a stored card, or an ACH account (then `type_id`, `tr_number` and a masked
/// `dda_number` are set, and `card_type` and `exp_date` are not).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BillingCard {
    pub card_id: String,
    /// Always masked: first 6 and last 4 digits of a card, last 4 of an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tr_number: Option<String>,
    /// Masked account number of an ACH account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dda_number: Option<String>,
    #[serde(flatten)]
    pub billing: BillingFields,
    #[serde(default)]
    pub primary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_date: Option<String>,
}

/// The billing name and address fields shared by cards and the requests that change them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BillingFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_firm_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_email: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_addr1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_addr2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_zip4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_country_code: Option<String>,
}

/// `ShippingAddress`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShippingAddress {
    pub shipping_id: i64,
    #[serde(flatten)]
    pub fields: ShippingFields,
    #[serde(default)]
    pub primary: bool,
}

/// The fields of a shipping address, as sent on add and update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShippingFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_firm_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_addr1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_addr2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_zip4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_country_code: Option<String>,
}

/// `GetBillingCardsResponse`, the `data` of `GET .../billing`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BillingCards {
    #[serde(default)]
    pub billing_cards: Vec<BillingCard>,
}

/// `GetShippingAddressesResponse`, the `data` of `GET .../shipping`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShippingAddresses {
    #[serde(default)]
    pub shipping_addresses: Vec<ShippingAddress>,
}

/// The editable customer fields, shared by `AddCustomerRequest` and `UpdateCustomerRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_firm_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_id: Option<String>,
}

/// `AddCustomerRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddCustomerRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_generate_customer_id: Option<bool>,
    #[serde(flatten)]
    pub fields: CustomerFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_addresses: Option<Vec<AddShippingAddressRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_cards: Option<Vec<AddBillingCardRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `UpdateCustomerRequest`: fields that are present change; cards and addresses are added.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateCustomerRequest {
    #[serde(flatten)]
    pub fields: CustomerFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_addresses: Option<Vec<AddShippingAddressRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_cards: Option<Vec<AddBillingCardRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `AddBillingCardRequest`: a card (`card_number`, `exp_date`) or an ACH account
/// (`tr_number`, `dda_number`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddBillingCardRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv2: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tr_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dda_number: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(flatten)]
    pub billing: BillingFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `UpdateBillingCardRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateBillingCardRequest {
    pub card_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv2: Option<Secret<String>>,
    #[serde(flatten)]
    pub billing: BillingFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `DeleteBillingCardRequest` and `SetPrimaryBillingCardRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CardIdRequest {
    pub card_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `AddShippingAddressRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddShippingAddressRequest {
    #[serde(flatten)]
    pub fields: ShippingFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `UpdateShippingAddressRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateShippingAddressRequest {
    pub shipping_id: i64,
    #[serde(flatten)]
    pub fields: ShippingFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

/// `SetPrimaryShippingAddressRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShippingIdRequest {
    pub shipping_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}
