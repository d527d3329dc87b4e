//! From stored rows to Qualpay's wire shapes. Numbers are only ever shown masked.

use crate::qualpay::{BillingCard, BillingFields, CustomerVault, ShippingAddress, ShippingFields};
use crate::vault::store::{CardRow, CustomerRecord, ShippingRow};

pub fn customer(record: CustomerRecord) -> CustomerVault {
    let CustomerRecord {
        customer,
        cards,
        addresses,
    } = record;
    CustomerVault {
        primary_card_number: cards
            .iter()
            .find(|card| card.is_primary)
            .map(|card| card.masked_number.clone()),
        customer_id: customer.customer_id,
        rec_id: Some(customer.rec_id),
        node_id: Some(customer.merchant_id),
        customer_first_name: customer.first_name,
        customer_last_name: customer.last_name,
        customer_firm_name: customer.firm_name,
        customer_phone: customer.phone,
        customer_email: customer.email,
        reference_id: customer.reference_id,
        comments: customer.comments,
        developer_id: customer.developer_id,
        shipping_addresses: addresses.into_iter().map(shipping_address).collect(),
        billing_cards: cards.into_iter().map(billing_card).collect(),
    }
}

pub fn billing_card(row: CardRow) -> BillingCard {
    let is_ach = row.kind == "ach";
    BillingCard {
        card_id: row.card_id,
        dda_number: is_ach.then(|| row.masked_number.clone()),
        card_number: Some(row.masked_number),
        card_type: row.card_type,
        exp_date: row.exp_date,
        type_id: row.type_id,
        tr_number: row.tr_number,
        billing: BillingFields {
            billing_first_name: row.billing_first_name,
            billing_last_name: row.billing_last_name,
            billing_firm_name: row.billing_firm_name,
            billing_email: row
                .billing_email
                .and_then(|json| serde_json::from_str(&json).ok()),
            billing_addr1: row.billing_addr1,
            billing_addr2: row.billing_addr2,
            billing_city: row.billing_city,
            billing_state: row.billing_state,
            billing_zip: row.billing_zip,
            billing_zip4: row.billing_zip4,
            billing_country: row.billing_country,
            billing_country_code: row.billing_country_code,
        },
        primary: row.is_primary,
        verified_date: row.verified_at.as_deref().map(verified_date),
    }
}

pub fn shipping_address(row: ShippingRow) -> ShippingAddress {
    ShippingAddress {
        shipping_id: row.shipping_id,
        fields: ShippingFields {
            shipping_first_name: row.shipping_first_name,
            shipping_last_name: row.shipping_last_name,
            shipping_firm_name: row.shipping_firm_name,
            shipping_addr1: row.shipping_addr1,
            shipping_addr2: row.shipping_addr2,
            shipping_city: row.shipping_city,
            shipping_state: row.shipping_state,
            shipping_zip: row.shipping_zip,
            shipping_zip4: row.shipping_zip4,
            shipping_country: row.shipping_country,
            shipping_country_code: row.shipping_country_code,
        },
        primary: row.is_primary,
    }
}

/// Qualpay writes `verified_date` as `YYYYMMDDhhmmss`; rows keep RFC 3339.
fn verified_date(stored: &str) -> String {
    stored
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_dates_use_qualpays_compact_form() {
        assert_eq!(
            verified_date("2026-11-24T06:38:54.123456Z"),
            "20261124063854"
        );
    }
}
