//! Payment Gateway bodies (`/pg`): one request type for every operation (the spec's
//! `PGApiTransactionRequest` and the capture, refund, recharge, void, tokenize, expireToken and
//! batchClose requests are subsets of one field list) and one flat response, `PGApiResponse`
//! with each operation's extra fields. Unlike `/platform`, `/pg` has no envelope: `rcode` `000`
//! is an approval.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{AddShippingAddressRequest, BillingFields, CustomerFields, ShippingFields};
use crate::secret::Secret;

/// The `rcode` of an approval.
pub const PG_APPROVED: &str = "000";
/// The `rcode` of a partial approval: `amt_tran` in the response holds the approved amount.
pub const PG_PARTIAL: &str = "010";

/// A Payment Gateway request. Fields the vault does not support (`card_swipe`, wallet
/// payloads) are read so that it can refuse them by name rather than ignore them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PgRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<i64>,
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
    /// ISO 4217 numeric code; 840 (USD) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tran_currency: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<Secret<String>>,
    /// `MMYY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv2: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// With `tokenize` and a new `customer_id`: the vault customer to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<PgCustomer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenize: Option<bool>,
    /// `/tokenize` only: a token that expires after its first use or 10 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_use: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avs_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avs_zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_auth: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merch_ref_num: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_fields: Option<String>,
    /// `/force` only: the voice authorization code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tr_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dda_number: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moto_ecomm_ind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_swipe: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_google_pay: Option<Secret<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_apple_pay: Option<Secret<String>>,
}

/// The spec's `Customer` object of a transaction request: the vault customer that a
/// `tokenize` request with a new `customer_id` creates.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PgCustomer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_firm_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_phone: Option<String>,
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
    pub shipping_addresses: Option<Vec<PgShippingAddress>>,
}

impl PgCustomer {
    pub fn fields(&self) -> CustomerFields {
        CustomerFields {
            customer_first_name: self.customer_first_name.clone(),
            customer_last_name: self.customer_last_name.clone(),
            customer_firm_name: self.customer_firm_name.clone(),
            customer_phone: self.customer_phone.clone(),
            customer_email: self.customer_email.clone(),
            ..CustomerFields::default()
        }
    }

    /// The customer's billing address, for the card the request stores.
    pub fn billing(&self) -> BillingFields {
        BillingFields {
            billing_first_name: self.customer_first_name.clone(),
            billing_last_name: self.customer_last_name.clone(),
            billing_firm_name: self.customer_firm_name.clone(),
            billing_email: self.customer_email.clone().map(|email| vec![email]),
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

/// `PGShippingAddress`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PgShippingAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(flatten)]
    pub fields: ShippingFields,
}

impl PgShippingAddress {
    /// The vault's request that adds this address to a customer.
    pub fn to_add_request(&self) -> AddShippingAddressRequest {
        let f = self.fields.clone();
        AddShippingAddressRequest {
            shipping_first_name: f.shipping_first_name,
            shipping_last_name: f.shipping_last_name,
            shipping_firm_name: f.shipping_firm_name,
            shipping_addr1: f.shipping_addr1,
            shipping_addr2: f.shipping_addr2,
            shipping_city: f.shipping_city,
            shipping_state: f.shipping_state,
            shipping_zip: f.shipping_zip,
            shipping_zip4: f.shipping_zip4,
            shipping_country: f.shipping_country,
            shipping_country_code: f.shipping_country_code,
            primary: self.primary,
            ..AddShippingAddressRequest::default()
        }
    }
}

/// Every `/pg` response: `PGApiResponse` plus the fields some operations add. `rcode` `000`
/// (or `010`, a partial approval) is success.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PgResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_id: Option<String>,
    pub rcode: String,
    #[serde(default)]
    pub rmsg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo_fields: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// Masked: first six and last four digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_avs_result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_cvv2_result: Option<String>,
    /// Only on a partial approval: the amount approved.
    #[serde(
        default,
        with = "super::money",
        skip_serializing_if = "Option::is_none"
    )]
    pub amt_tran: Option<Decimal>,
}

impl PgResponse {
    /// `000` or `010`.
    pub fn approved(&self) -> bool {
        self.rcode == PG_APPROVED || self.rcode == PG_PARTIAL
    }
}
