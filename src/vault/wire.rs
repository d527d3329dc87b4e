//! From stored rows to Qualpay's wire shapes. Numbers are only ever shown masked.

use crate::qualpay::{
    BillingCard, BillingFields, CustomerVault, ShippingAddress, ShippingFields, Transaction,
};
use crate::vault::billing::money::dollars;
use crate::vault::store::payments::ReportRow;
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
        on_hold: row.on_hold,
        au_updated_at: row.au_updated_at,
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

/// A transaction as the reporting API shows it.
pub fn report(row: ReportRow) -> Transaction {
    Transaction {
        merchant_id: Some(row.merchant_id),
        tran_time: Some(row.tran_time),
        tran_date: Some(row.tran_date),
        tran_status: Some(row.tran_status),
        auth_code: row.auth_code,
        rcode: row.rcode,
        card_number: row.card_number,
        card_type: row.card_type,
        purchase_id: row.purchase_id,
        pg_id: Some(row.pg_id),
        cardholder_first_name: row.cardholder_first_name,
        cardholder_last_name: row.cardholder_last_name,
        amt_tran: Some(dollars(row.amt_tran)),
        tran_currency: Some(row.tran_currency),
        customer_id: row.customer_id,
        subscription_id: row.subscription_id.map(|id| id.to_string()),
        merch_ref_num: row.merch_ref_num,
        amt_refunded: Some(dollars(row.amt_refunded)),
        batch_date: row.batch_date,
        settle_date: row.settle_date,
        card_id: row.card_id,
        tran_type: Some(row.tran_type),
        pg_id_orig: row.pg_id_orig,
        amt_captured: row.amt_captured.map(dollars),
        rmsg: row.rmsg,
    }
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
