//! Field rules of the vault's requests: lengths and formats from Qualpay's spec. Every check
//! collects a message starting with the field's name, so one response lists every problem.

use crate::qualpay::{BillingFields, CustomerFields, ShippingFields};

/// Collected validation messages; `prefix` names the array element being checked
/// (`billing_cards[1].`), so nested errors say where they are.
#[derive(Debug, Default)]
pub struct Problems {
    pub messages: Vec<String>,
    prefix: String,
}

impl Problems {
    pub fn nested(prefix: String) -> Self {
        Self {
            messages: Vec::new(),
            prefix,
        }
    }

    pub fn push(&mut self, message: impl std::fmt::Display) {
        self.messages.push(format!("{}{message}", self.prefix));
    }

    pub fn absorb(&mut self, other: Problems) {
        self.messages.extend(other.messages);
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// `Ok` when nothing was wrong, else a validation error listing every problem.
    pub fn into_result(self) -> Result<(), crate::vault::error::VaultError> {
        if self.messages.is_empty() {
            Ok(())
        } else {
            Err(crate::vault::error::VaultError::Validation(self.messages))
        }
    }

    /// Checks an optional text field's length in characters and that it has no control characters.
    pub fn text(&mut self, field: &str, value: &Option<String>, max: usize) {
        if let Some(value) = value {
            if value.chars().count() > max {
                self.push(format!("{field}: must be at most {max} characters"));
            } else if value.chars().any(char::is_control) {
                self.push(format!("{field}: must not contain control characters"));
            }
        }
    }

    pub fn required(&mut self, field: &str, value: &Option<String>) {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            self.push(format!("{field}: is required"));
        }
    }

    /// A value of exactly `len` ASCII digits, when present and not empty.
    pub fn digits(&mut self, field: &str, value: &Option<String>, len: usize) {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty())
            && (value.len() != len || !value.bytes().all(|b| b.is_ascii_digit()))
        {
            self.push(format!("{field}: must be exactly {len} digits"));
        }
    }

    /// An ISO numeric country code: three letters or digits.
    pub fn country_code(&mut self, field: &str, value: &Option<String>) {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty())
            && (value.len() != 3 || !value.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            self.push(format!("{field}: must be a 3 character country code"));
        }
    }

    pub fn email(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.push(format!("{field}: must be at most {max} characters"));
        } else if !looks_like_email(value) {
            self.push(format!("{field}: is not an email address"));
        }
    }
}

fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
        }
        None => false,
    }
}

/// `customer_id`: letters and digits only, 1 to 32 of them.
pub fn customer_id(problems: &mut Problems, value: &str) {
    if value.is_empty() || value.len() > 32 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        problems.push("customer_id: must be 1 to 32 letters and digits");
    }
}

pub fn customer_fields(problems: &mut Problems, fields: &CustomerFields) {
    problems.text("customer_first_name", &fields.customer_first_name, 32);
    problems.text("customer_last_name", &fields.customer_last_name, 32);
    problems.text("customer_firm_name", &fields.customer_firm_name, 64);
    problems.text("customer_phone", &fields.customer_phone, 16);
    if let Some(email) = fields.customer_email.as_deref().filter(|e| !e.is_empty()) {
        problems.email("customer_email", email, 64);
    }
    problems.text("reference_id", &fields.reference_id, 128);
    problems.text("comments", &fields.comments, 128);
    problems.text("developer_id", &fields.developer_id, 32);
}

/// A customer needs a business name, or both a first and a last name.
pub fn customer_names(problems: &mut Problems, fields: &CustomerFields) {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    let named = set(&fields.customer_first_name) && set(&fields.customer_last_name);
    if !(named || set(&fields.customer_firm_name)) {
        problems.push(
            "customer_first_name: customer_first_name and customer_last_name, or customer_firm_name, are required",
        );
    }
}

pub fn billing_fields(problems: &mut Problems, billing: &BillingFields) {
    problems.text("billing_first_name", &billing.billing_first_name, 32);
    problems.text("billing_last_name", &billing.billing_last_name, 32);
    problems.text("billing_firm_name", &billing.billing_firm_name, 64);
    for (i, email) in billing.billing_email.iter().flatten().enumerate() {
        problems.email(&format!("billing_email[{i}]"), email, 128);
    }
    problems.text("billing_addr1", &billing.billing_addr1, 128);
    problems.text("billing_addr2", &billing.billing_addr2, 128);
    problems.text("billing_city", &billing.billing_city, 64);
    problems.text("billing_state", &billing.billing_state, 3);
    problems.text("billing_zip", &billing.billing_zip, 10);
    problems.digits("billing_zip4", &billing.billing_zip4, 4);
    problems.text("billing_country", &billing.billing_country, 128);
    problems.country_code("billing_country_code", &billing.billing_country_code);
}

pub fn shipping_fields(problems: &mut Problems, fields: &ShippingFields) {
    problems.text("shipping_first_name", &fields.shipping_first_name, 32);
    problems.text("shipping_last_name", &fields.shipping_last_name, 32);
    problems.text("shipping_firm_name", &fields.shipping_firm_name, 64);
    problems.text("shipping_addr1", &fields.shipping_addr1, 128);
    problems.text("shipping_addr2", &fields.shipping_addr2, 128);
    problems.text("shipping_city", &fields.shipping_city, 64);
    problems.text("shipping_state", &fields.shipping_state, 3);
    problems.text("shipping_zip", &fields.shipping_zip, 10);
    problems.digits("shipping_zip4", &fields.shipping_zip4, 4);
    problems.text("shipping_country", &fields.shipping_country, 128);
    problems.country_code("shipping_country_code", &fields.shipping_country_code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_are_letters_and_digits_up_to_32() {
        for good in ["JOHNDOE", "a1", &"x".repeat(32)] {
            let mut problems = Problems::default();
            customer_id(&mut problems, good);
            assert!(problems.is_empty(), "{good}");
        }
        for bad in ["", "john doe", "a-b", "ä", &"x".repeat(33)] {
            let mut problems = Problems::default();
            customer_id(&mut problems, bad);
            assert_eq!(problems.messages.len(), 1, "{bad}");
        }
    }

    #[test]
    fn nested_problems_say_which_element() {
        let mut problems = Problems::nested("billing_cards[2].".into());
        problems.text("billing_state", &Some("CALI".into()), 3);
        assert_eq!(
            problems.messages,
            ["billing_cards[2].billing_state: must be at most 3 characters"]
        );
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(looks_like_email("jdoe@example.com"));
        for bad in [
            "jdoe",
            "@example.com",
            "jdoe@example",
            "j doe@example.com",
            "a@b@c.d",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
