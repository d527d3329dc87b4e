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
/// `dda_number` are set, and `card_type` and `exp_date` are not). Read through [`FlatCard`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "FlatCard")]
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
    /// vaultql's: the card is on Account Updater hold (not harvested, not charged by recurring
    /// billing). Always sent by the vault; Qualpay leaves it out, read as `false`.
    #[serde(default)]
    pub on_hold: bool,
    /// vaultql's: when the Account Updater last changed the card (its number or expiry date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub au_updated_at: Option<String>,
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

/// `ShippingAddress`. Read through [`FlatAddress`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "FlatAddress")]
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

// Cards and addresses are read as they arrive, every field at the top level, and then grouped:
// reading them through `#[serde(flatten)]` would first copy every field of every card into
// serde's buffer (a quarter of the time the gateway spent decoding a page of customers).

/// [`BillingCard`] as the wire has it.
#[derive(Deserialize)]
struct FlatCard {
    card_id: String,
    #[serde(default)]
    card_number: Option<String>,
    #[serde(default)]
    card_type: Option<String>,
    #[serde(default)]
    exp_date: Option<String>,
    #[serde(default)]
    type_id: Option<String>,
    #[serde(default)]
    tr_number: Option<String>,
    #[serde(default)]
    dda_number: Option<String>,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified_date: Option<String>,
    #[serde(default)]
    on_hold: bool,
    #[serde(default)]
    au_updated_at: Option<String>,
    #[serde(default)]
    billing_first_name: Option<String>,
    #[serde(default)]
    billing_last_name: Option<String>,
    #[serde(default)]
    billing_firm_name: Option<String>,
    #[serde(default)]
    billing_email: Option<Vec<String>>,
    #[serde(default)]
    billing_addr1: Option<String>,
    #[serde(default)]
    billing_addr2: Option<String>,
    #[serde(default)]
    billing_city: Option<String>,
    #[serde(default)]
    billing_state: Option<String>,
    #[serde(default)]
    billing_zip: Option<String>,
    #[serde(default)]
    billing_zip4: Option<String>,
    #[serde(default)]
    billing_country: Option<String>,
    #[serde(default)]
    billing_country_code: Option<String>,
}

impl From<FlatCard> for BillingCard {
    fn from(card: FlatCard) -> Self {
        Self {
            card_id: card.card_id,
            card_number: card.card_number,
            card_type: card.card_type,
            exp_date: card.exp_date,
            type_id: card.type_id,
            tr_number: card.tr_number,
            dda_number: card.dda_number,
            billing: BillingFields {
                billing_first_name: card.billing_first_name,
                billing_last_name: card.billing_last_name,
                billing_firm_name: card.billing_firm_name,
                billing_email: card.billing_email,
                billing_addr1: card.billing_addr1,
                billing_addr2: card.billing_addr2,
                billing_city: card.billing_city,
                billing_state: card.billing_state,
                billing_zip: card.billing_zip,
                billing_zip4: card.billing_zip4,
                billing_country: card.billing_country,
                billing_country_code: card.billing_country_code,
            },
            primary: card.primary,
            verified_date: card.verified_date,
            on_hold: card.on_hold,
            au_updated_at: card.au_updated_at,
        }
    }
}

/// [`ShippingAddress`] as the wire has it.
#[derive(Deserialize)]
struct FlatAddress {
    shipping_id: i64,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    shipping_first_name: Option<String>,
    #[serde(default)]
    shipping_last_name: Option<String>,
    #[serde(default)]
    shipping_firm_name: Option<String>,
    #[serde(default)]
    shipping_addr1: Option<String>,
    #[serde(default)]
    shipping_addr2: Option<String>,
    #[serde(default)]
    shipping_city: Option<String>,
    #[serde(default)]
    shipping_state: Option<String>,
    #[serde(default)]
    shipping_zip: Option<String>,
    #[serde(default)]
    shipping_zip4: Option<String>,
    #[serde(default)]
    shipping_country: Option<String>,
    #[serde(default)]
    shipping_country_code: Option<String>,
}

impl From<FlatAddress> for ShippingAddress {
    fn from(address: FlatAddress) -> Self {
        Self {
            shipping_id: address.shipping_id,
            fields: ShippingFields {
                shipping_first_name: address.shipping_first_name,
                shipping_last_name: address.shipping_last_name,
                shipping_firm_name: address.shipping_firm_name,
                shipping_addr1: address.shipping_addr1,
                shipping_addr2: address.shipping_addr2,
                shipping_city: address.shipping_city,
                shipping_state: address.shipping_state,
                shipping_zip: address.shipping_zip,
                shipping_zip4: address.shipping_zip4,
                shipping_country: address.shipping_country,
                shipping_country_code: address.shipping_country_code,
            },
            primary: address.primary,
        }
    }
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

// Requests list their fields one by one rather than through `#[serde(flatten)]`: serde loses
// the field name of a flattened field in its errors, and a 400 has to say which field is wrong.

/// `AddCustomerRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddCustomerRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_generate_customer_id: Option<bool>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_addresses: Option<Vec<AddShippingAddressRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_cards: Option<Vec<AddBillingCardRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

impl AddCustomerRequest {
    /// The customer fields of the request.
    pub fn fields(&self) -> CustomerFields {
        CustomerFields {
            customer_first_name: self.customer_first_name.clone(),
            customer_last_name: self.customer_last_name.clone(),
            customer_firm_name: self.customer_firm_name.clone(),
            customer_phone: self.customer_phone.clone(),
            customer_email: self.customer_email.clone(),
            reference_id: self.reference_id.clone(),
            comments: self.comments.clone(),
            developer_id: self.developer_id.clone(),
        }
    }
}

/// `UpdateCustomerRequest`: fields that are present change; cards and addresses are added.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateCustomerRequest {
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_addresses: Option<Vec<AddShippingAddressRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_cards: Option<Vec<AddBillingCardRequest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

impl UpdateCustomerRequest {
    /// The customer fields of the request.
    pub fn fields(&self) -> CustomerFields {
        CustomerFields {
            customer_first_name: self.customer_first_name.clone(),
            customer_last_name: self.customer_last_name.clone(),
            customer_firm_name: self.customer_firm_name.clone(),
            customer_phone: self.customer_phone.clone(),
            customer_email: self.customer_email.clone(),
            reference_id: self.reference_id.clone(),
            comments: self.comments.clone(),
            developer_id: self.developer_id.clone(),
        }
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

impl AddBillingCardRequest {
    /// The billing name and address of the request.
    pub fn billing(&self) -> BillingFields {
        BillingFields {
            billing_first_name: self.billing_first_name.clone(),
            billing_last_name: self.billing_last_name.clone(),
            billing_firm_name: self.billing_firm_name.clone(),
            billing_email: self.billing_email.clone(),
            billing_addr1: self.billing_addr1.clone(),
            billing_addr2: self.billing_addr2.clone(),
            billing_city: self.billing_city.clone(),
            billing_state: self.billing_state.clone(),
            billing_zip: self.billing_zip.clone(),
            billing_zip4: self.billing_zip4.clone(),
            billing_country: self.billing_country.clone(),
            billing_country_code: self.billing_country_code.clone(),
        }
    }
}

/// `UpdateBillingCardRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateBillingCardRequest {
    pub card_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv2: Option<Secret<String>>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

impl UpdateBillingCardRequest {
    /// The billing name and address of the request.
    pub fn billing(&self) -> BillingFields {
        BillingFields {
            billing_first_name: self.billing_first_name.clone(),
            billing_last_name: self.billing_last_name.clone(),
            billing_firm_name: self.billing_firm_name.clone(),
            billing_email: self.billing_email.clone(),
            billing_addr1: self.billing_addr1.clone(),
            billing_addr2: self.billing_addr2.clone(),
            billing_city: self.billing_city.clone(),
            billing_state: self.billing_state.clone(),
            billing_zip: self.billing_zip.clone(),
            billing_zip4: self.billing_zip4.clone(),
            billing_country: self.billing_country.clone(),
            billing_country_code: self.billing_country_code.clone(),
        }
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

impl AddShippingAddressRequest {
    /// The address fields of the request.
    pub fn fields(&self) -> ShippingFields {
        ShippingFields {
            shipping_first_name: self.shipping_first_name.clone(),
            shipping_last_name: self.shipping_last_name.clone(),
            shipping_firm_name: self.shipping_firm_name.clone(),
            shipping_addr1: self.shipping_addr1.clone(),
            shipping_addr2: self.shipping_addr2.clone(),
            shipping_city: self.shipping_city.clone(),
            shipping_state: self.shipping_state.clone(),
            shipping_zip: self.shipping_zip.clone(),
            shipping_zip4: self.shipping_zip4.clone(),
            shipping_country: self.shipping_country.clone(),
            shipping_country_code: self.shipping_country_code.clone(),
        }
    }
}

/// `UpdateShippingAddressRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateShippingAddressRequest {
    pub shipping_id: i64,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

impl UpdateShippingAddressRequest {
    /// The address fields of the request.
    pub fn fields(&self) -> ShippingFields {
        ShippingFields {
            shipping_first_name: self.shipping_first_name.clone(),
            shipping_last_name: self.shipping_last_name.clone(),
            shipping_firm_name: self.shipping_firm_name.clone(),
            shipping_addr1: self.shipping_addr1.clone(),
            shipping_addr2: self.shipping_addr2.clone(),
            shipping_city: self.shipping_city.clone(),
            shipping_state: self.shipping_state.clone(),
            shipping_zip: self.shipping_zip.clone(),
            shipping_zip4: self.shipping_zip4.clone(),
            shipping_country: self.shipping_country.clone(),
            shipping_country_code: self.shipping_country_code.clone(),
        }
    }
}

/// `SetPrimaryShippingAddressRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShippingIdRequest {
    pub shipping_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
}

#[cfg(test)]
mod flat_tests {
    use super::*;

    #[test]
    fn a_card_from_qualpay_without_on_hold_reads_as_not_held() {
        let card: BillingCard = serde_json::from_value(serde_json::json!({
            "card_id": "c1", "card_number": "411111XXXXXX1111", "primary": true,
        }))
        .expect("a card");
        assert!(!card.on_hold);
        assert_eq!(card.au_updated_at, None);
    }

    #[test]
    fn cards_and_addresses_read_back_as_written_with_every_field() {
        let card = serde_json::json!({
            "card_id": "c1", "card_number": "411111XXXXXX1111", "card_type": "VS",
            "exp_date": "1230", "type_id": "C", "tr_number": "021000021", "dda_number": "1234",
            "billing_first_name": "Ada", "billing_last_name": "L", "billing_firm_name": "F",
            "billing_email": ["a@example.com"], "billing_addr1": "1 Main", "billing_addr2": "2",
            "billing_city": "C", "billing_state": "CA", "billing_zip": "94107",
            "billing_zip4": "0001", "billing_country": "US", "billing_country_code": "840",
            "primary": true, "verified_date": "20270131120000", "on_hold": true,
            "au_updated_at": "2027-01-31T12:00:00.000000Z",
        });
        let read: BillingCard = serde_json::from_value(card.clone()).expect("a card");
        assert_eq!(serde_json::to_value(&read).expect("json"), card);

        let address = serde_json::json!({
            "shipping_id": 7, "shipping_first_name": "Ada", "shipping_last_name": "L",
            "shipping_firm_name": "F", "shipping_addr1": "1 Main", "shipping_addr2": "2",
            "shipping_city": "C", "shipping_state": "CA", "shipping_zip": "94107",
            "shipping_zip4": "0001", "shipping_country": "US", "shipping_country_code": "840",
            "primary": true,
        });
        let read: ShippingAddress = serde_json::from_value(address.clone()).expect("an address");
        assert_eq!(serde_json::to_value(&read).expect("json"), address);

        // Unknown fields are ignored, as before; a missing id is still an error.
        let read: BillingCard =
            serde_json::from_value(serde_json::json!({"card_id": "c2", "new_field": 1}))
                .expect("a card");
        assert_eq!(read.card_id, "c2");
        assert!(serde_json::from_value::<ShippingAddress>(serde_json::json!({})).is_err());
    }
}
