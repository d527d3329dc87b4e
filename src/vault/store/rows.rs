//! Rows as read from the database.

use std::collections::HashMap;

use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct CustomerRow {
    pub rec_id: i64,
    pub merchant_id: i64,
    pub customer_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub firm_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub reference_id: Option<String>,
    pub comments: Option<String>,
    pub developer_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A stored card or ACH account. `ciphertext` is only opened by the service, with an audit record.
#[derive(Debug, Clone, FromRow)]
pub struct CardRow {
    pub rec_id: i64,
    pub card_id: String,
    pub customer_rec_id: i64,
    pub merchant_id: i64,
    pub kind: String,
    pub card_type: Option<String>,
    pub type_id: Option<String>,
    pub tr_number: Option<String>,
    pub masked_number: String,
    pub key_id: i64,
    pub ciphertext: Vec<u8>,
    pub exp_date: Option<String>,
    pub billing_first_name: Option<String>,
    pub billing_last_name: Option<String>,
    pub billing_firm_name: Option<String>,
    /// JSON array of addresses.
    pub billing_email: Option<String>,
    pub billing_addr1: Option<String>,
    pub billing_addr2: Option<String>,
    pub billing_city: Option<String>,
    pub billing_state: Option<String>,
    pub billing_zip: Option<String>,
    pub billing_zip4: Option<String>,
    pub billing_country: Option<String>,
    pub billing_country_code: Option<String>,
    pub is_primary: bool,
    pub verified_at: Option<String>,
    pub created_at: String,
    /// On Account Updater hold: not harvested, not charged by recurring billing.
    pub on_hold: bool,
    /// When the Account Updater last changed the card.
    pub au_updated_at: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct ShippingRow {
    pub shipping_id: i64,
    pub customer_rec_id: i64,
    pub shipping_first_name: Option<String>,
    pub shipping_last_name: Option<String>,
    pub shipping_firm_name: Option<String>,
    pub shipping_addr1: Option<String>,
    pub shipping_addr2: Option<String>,
    pub shipping_city: Option<String>,
    pub shipping_state: Option<String>,
    pub shipping_zip: Option<String>,
    pub shipping_zip4: Option<String>,
    pub shipping_country: Option<String>,
    pub shipping_country_code: Option<String>,
    pub is_primary: bool,
}

/// A customer with its cards and addresses, oldest first.
#[derive(Debug, Clone)]
pub struct CustomerRecord {
    pub customer: CustomerRow,
    pub cards: Vec<CardRow>,
    pub addresses: Vec<ShippingRow>,
}

impl CustomerRecord {
    /// Each customer with its cards and addresses (each list in the order given).
    pub fn assemble(
        customers: Vec<CustomerRow>,
        cards: Vec<CardRow>,
        addresses: Vec<ShippingRow>,
    ) -> Vec<CustomerRecord> {
        let mut cards_by_customer: HashMap<i64, Vec<CardRow>> = HashMap::new();
        for card in cards {
            cards_by_customer
                .entry(card.customer_rec_id)
                .or_default()
                .push(card);
        }
        let mut addresses_by_customer: HashMap<i64, Vec<ShippingRow>> = HashMap::new();
        for address in addresses {
            addresses_by_customer
                .entry(address.customer_rec_id)
                .or_default()
                .push(address);
        }
        customers
            .into_iter()
            .map(|customer| CustomerRecord {
                cards: cards_by_customer
                    .remove(&customer.rec_id)
                    .unwrap_or_default(),
                addresses: addresses_by_customer
                    .remove(&customer.rec_id)
                    .unwrap_or_default(),
                customer,
            })
            .collect()
    }
}
