//! The vault's operations: validate a request, verify and encrypt card numbers, then hand the
//! store one transaction. Handlers call these; nothing here knows about HTTP.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::qualpay::{
    AddBillingCardRequest, AddCustomerRequest, AddShippingAddressRequest, CustomerFields,
    UpdateBillingCardRequest, UpdateCustomerRequest, UpdateShippingAddressRequest,
};
use crate::secret::Secret;
use crate::vault::crypto::{
    KeyPurpose, KeyRing, MasterKey, Sealed, new_wrapped_key, number_aad, random_alphanumeric,
};
use crate::vault::domain::ach::{AccountNumber, AccountType, RoutingNumber};
use crate::vault::domain::card::{CardBrand, CardError, CardNumber, Cvv, ExpDate};
use crate::vault::error::VaultError;
use crate::vault::processor::{self, Outcome};
use crate::vault::store::{
    BrowseQuery, CardKind, CardPatch, CardRow, CustomerKey, CustomerRecord, NewCard,
    NewShippingAddress, Page, SealedCard, VaultStore,
};
use crate::vault::validate::{self, Problems};

/// A stored card opened for a charge.
pub struct OpenedCard {
    /// `MMYY`.
    pub exp_date: Option<String>,
    pub number: Secret<String>,
}

/// Where a new card's `card_id` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CardIds {
    /// A new random id (every client request).
    Generated,
    /// The request's `card_id`: a token of this vault becoming a customer's card.
    Given,
}

/// How [`VaultService::children`] treats a request's cards and addresses: whether they came as
/// lists (errors name the element) and where new cards' ids come from.
#[derive(Debug, Clone, Copy)]
struct Children {
    lists: bool,
    ids: CardIds,
}

/// Length of a generated `customer_id`.
const GENERATED_CUSTOMER_ID_LEN: usize = 20;

pub struct VaultService {
    store: Arc<dyn VaultStore>,
    keys: KeyRing,
}

/// A payment method that passed validation, before verification and encryption.
enum ValidMethod {
    Card {
        number: CardNumber,
        exp: ExpDate,
        cvv: Option<Cvv>,
    },
    Ach {
        account: AccountNumber,
        routing: RoutingNumber,
        account_type: AccountType,
    },
}

impl VaultService {
    /// Loads the key ring, creating the data and fingerprint keys on first start.
    pub async fn open(
        store: Arc<dyn VaultStore>,
        master: &MasterKey,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let mut keys = store.keys().await?;
        for purpose in [KeyPurpose::Data, KeyPurpose::Fingerprint] {
            if !keys.iter().any(|k| k.purpose == purpose) {
                store
                    .insert_key(purpose, &new_wrapped_key(master, purpose), now)
                    .await?;
            }
        }
        if keys.len() < 2 {
            keys = store.keys().await?;
        }
        let keys = KeyRing::unwrap(master, &keys)?;
        Ok(Self { store, keys })
    }

    pub async fn add_customer(
        &self,
        merchant_id: i64,
        request: AddCustomerRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        self.add_customer_as(merchant_id, request, CardIds::Generated, now)
            .await
    }

    /// Adds a customer whose cards keep the `card_id` the request gives them (a token that
    /// becomes a customer's card); only the vault's own callers pass one.
    pub async fn add_customer_opened(
        &self,
        merchant_id: i64,
        request: AddCustomerRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        self.add_customer_as(merchant_id, request, CardIds::Given, now)
            .await
    }

    async fn add_customer_as(
        &self,
        merchant_id: i64,
        request: AddCustomerRequest,
        ids: CardIds,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        let mut problems = Problems::default();
        let customer_id = match (
            request.customer_id.as_deref().filter(|id| !id.is_empty()),
            request.auto_generate_customer_id.unwrap_or(false),
        ) {
            (Some(_), true) => {
                problems.push("customer_id: leave it out when auto_generate_customer_id is true");
                String::new()
            }
            (Some(id), false) => {
                validate::customer_id(&mut problems, id);
                id.to_owned()
            }
            (None, true) => random_alphanumeric(GENERATED_CUSTOMER_ID_LEN),
            (None, false) => {
                problems.push("customer_id: is required unless auto_generate_customer_id is true");
                String::new()
            }
        };
        let fields = request.fields();
        validate::customer_fields(&mut problems, &fields);
        validate::customer_names(&mut problems, &fields);
        let key = CustomerKey {
            merchant_id,
            customer_id: &customer_id,
        };
        let (cards, addresses) = self.children(
            key,
            &mut problems,
            request.billing_cards.unwrap_or_default(),
            request.shipping_addresses.unwrap_or_default(),
            Children { lists: true, ids },
            now,
        )?;
        Ok(self
            .store
            .create_customer(key, &fields, &cards, &addresses, now)
            .await?)
    }

    pub async fn customer(
        &self,
        merchant_id: i64,
        customer_id: &str,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        Ok(self.store.customer(key).await?)
    }

    pub async fn browse_customers(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<CustomerRecord>, VaultError> {
        Ok(self.store.browse_customers(merchant_id, query).await?)
    }

    pub async fn update_customer(
        &self,
        merchant_id: i64,
        customer_id: &str,
        request: UpdateCustomerRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        let mut problems = Problems::default();
        let fields = request.fields();
        validate::customer_fields(&mut problems, &fields);
        let current = self.store.customer(key).await?.customer;
        // The names rule holds for the customer as it will be after the update.
        let after = CustomerFields {
            customer_first_name: fields.customer_first_name.clone().or(current.first_name),
            customer_last_name: fields.customer_last_name.clone().or(current.last_name),
            customer_firm_name: fields.customer_firm_name.clone().or(current.firm_name),
            ..CustomerFields::default()
        };
        validate::customer_names(&mut problems, &after);
        let (cards, addresses) = self.children(
            key,
            &mut problems,
            request.billing_cards.unwrap_or_default(),
            request.shipping_addresses.unwrap_or_default(),
            Children {
                lists: true,
                ids: CardIds::Generated,
            },
            now,
        )?;
        Ok(self
            .store
            .update_customer(key, &fields, &cards, &addresses, now)
            .await?)
    }

    pub async fn delete_customer(
        &self,
        merchant_id: i64,
        customer_id: &str,
    ) -> Result<(), VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        Ok(self.store.delete_customer(key).await?)
    }

    pub async fn add_card(
        &self,
        merchant_id: i64,
        customer_id: &str,
        request: AddBillingCardRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        self.add_card_as(merchant_id, customer_id, request, CardIds::Generated, now)
            .await
    }

    /// Adds a card that keeps the `card_id` the request gives it (see
    /// [`VaultService::add_customer_opened`]).
    pub async fn add_card_opened(
        &self,
        merchant_id: i64,
        customer_id: &str,
        request: AddBillingCardRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        self.add_card_as(merchant_id, customer_id, request, CardIds::Given, now)
            .await
    }

    async fn add_card_as(
        &self,
        merchant_id: i64,
        customer_id: &str,
        request: AddBillingCardRequest,
        ids: CardIds,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        let mut problems = Problems::default();
        let (cards, _) = self.children(
            key,
            &mut problems,
            vec![request],
            Vec::new(),
            Children { lists: false, ids },
            now,
        )?;
        Ok(self
            .store
            .update_customer(key, &CustomerFields::default(), &cards, &[], now)
            .await?)
    }

    pub async fn update_card(
        &self,
        merchant_id: i64,
        customer_id: &str,
        request: UpdateBillingCardRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        let card = self.store.card(key, &request.card_id).await?;
        let brand = card.card_type.as_deref().and_then(CardBrand::from_code);
        let mut problems = Problems::default();
        validate::billing_fields(&mut problems, &request.billing());
        let exp_date = match request.exp_date.as_deref() {
            Some(_) if card.kind == CardKind::Ach.as_str() => {
                problems.push("exp_date: an ACH account has no expiry date");
                None
            }
            Some(text) => check_exp_date(&mut problems, text, now.date_naive()),
            None => None,
        };
        let cvv = request.cvv2.as_ref().and_then(|cvv| {
            Cvv::parse(cvv.expose(), brand)
                .map_err(|e| problems.push(e))
                .ok()
        });
        if !problems.is_empty() {
            return Err(VaultError::Validation(problems.messages));
        }
        let mut verified_at = None;
        if request.verify == Some(true) {
            if card.kind == CardKind::Card.as_str() {
                let number = self
                    .open_number(merchant_id, customer_id, &card, "verify", now)
                    .await?;
                outcome_to_result(processor::verify(
                    number.expose(),
                    cvv.as_ref().map(Cvv::expose),
                ))?;
            }
            verified_at = Some(now);
        }
        let patch = CardPatch {
            exp_date: exp_date.map(ExpDate::to_mmyy),
            billing: request.billing(),
            primary: request.primary == Some(true),
            verified_at,
        };
        Ok(self
            .store
            .update_card(key, &request.card_id, &patch, now)
            .await?)
    }

    /// The merchant's stored cards with these ids, decrypted for `purpose`: see
    /// [`VaultService::open_sealed`].
    pub async fn open_cards(
        &self,
        merchant_id: i64,
        wanted: &[(&str, &str)],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, OpenedCard>, VaultError> {
        let mut card_ids: Vec<&str> = wanted.iter().map(|(_, card_id)| *card_id).collect();
        card_ids.sort_unstable();
        card_ids.dedup();
        let sealed = self.store.sealed_cards(merchant_id, &card_ids).await?;
        self.open_sealed(merchant_id, wanted, sealed, purpose, now)
            .await
    }

    /// Which of the merchant's cards with these ids are on Account Updater hold.
    pub async fn held_cards(
        &self,
        merchant_id: i64,
        card_ids: &[&str],
    ) -> Result<HashSet<String>, VaultError> {
        Ok(self
            .store
            .held_cards(merchant_id, card_ids)
            .await?
            .into_iter()
            .collect())
    }

    /// Decrypts sealed cards for `purpose`, by `card_id`. One audit record per card is written
    /// first (PCI DSS 10.2), in one statement for the whole batch. A card not `wanted` as
    /// (customer_id, card_id) is left out.
    pub async fn open_sealed(
        &self,
        merchant_id: i64,
        wanted: &[(&str, &str)],
        sealed: Vec<SealedCard>,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, OpenedCard>, VaultError> {
        let wanted: HashSet<(&str, &str)> = wanted.iter().copied().collect();
        let mut owned: Vec<SealedCard> = sealed
            .into_iter()
            .filter(|card| wanted.contains(&(card.customer_id.as_str(), card.card_id.as_str())))
            .collect();
        owned.sort_unstable_by(|a, b| a.card_id.cmp(&b.card_id));
        owned.dedup_by(|a, b| a.card_id == b.card_id);
        if owned.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<&str> = owned.iter().map(|card| card.card_id.as_str()).collect();
        self.store
            .audit_decryptions(merchant_id, &ids, purpose, now)
            .await?;
        let mut opened = HashMap::with_capacity(owned.len());
        for card in owned {
            let blob = from_hex(&card.ciphertext_hex).ok_or_else(|| {
                VaultError::Internal(format!("card {}: the ciphertext is not hex", card.card_id))
            })?;
            let sealed = Sealed {
                key_id: card.key_id,
                blob,
            };
            let aad = number_aad(merchant_id, &card.customer_id, &card.card_id);
            let number = self.keys.open(&sealed, &aad)?;
            opened.insert(
                card.card_id,
                OpenedCard {
                    exp_date: card.exp_date,
                    number,
                },
            );
        }
        Ok(opened)
    }

    /// The keyed hash of a card or account number that identifies it within a merchant.
    pub fn fingerprint(&self, merchant_id: i64, number: &str) -> Vec<u8> {
        self.keys.fingerprint(merchant_id, number)
    }

    /// Encrypts a secret the vault must read back (a webhook's signing secret or password)
    /// with the current data key; `aad` says what it is and whose.
    pub fn seal_secret(&self, plaintext: &str, aad: &[u8]) -> Sealed {
        self.keys.seal(plaintext.as_bytes(), aad)
    }

    /// Decrypts what [`Self::seal_secret`] sealed.
    pub fn open_secret(&self, sealed: &Sealed, aad: &[u8]) -> Result<Secret<String>, VaultError> {
        self.keys
            .open(sealed, aad)
            .map_err(|e| VaultError::Internal(format!("a stored secret does not open: {e}")))
    }

    /// Encrypts a number with the current data key.
    pub fn seal_number(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        self.keys.seal(plaintext, aad)
    }

    /// Decrypts one sealed number for `purpose`, with its audit record written first.
    pub async fn open_audited(
        &self,
        merchant_id: i64,
        card_id: &str,
        sealed: &Sealed,
        aad: &[u8],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Secret<String>, VaultError> {
        self.store
            .audit_decryptions(merchant_id, &[card_id], purpose, now)
            .await?;
        Ok(self.keys.open(sealed, aad)?)
    }

    /// Decrypts a stored number; every call leaves an audit record first (PCI DSS 10.2).
    async fn open_number(
        &self,
        merchant_id: i64,
        customer_id: &str,
        card: &CardRow,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Secret<String>, VaultError> {
        self.store
            .audit_decryptions(merchant_id, &[card.card_id.as_str()], purpose, now)
            .await?;
        let sealed = Sealed {
            key_id: card.key_id,
            blob: card.ciphertext.clone(),
        };
        let aad = number_aad(merchant_id, customer_id, &card.card_id);
        Ok(self.keys.open(&sealed, &aad)?)
    }

    pub async fn delete_card(
        &self,
        merchant_id: i64,
        customer_id: &str,
        card_id: &str,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        Ok(self.store.delete_card(key, card_id).await?)
    }

    pub async fn set_primary_card(
        &self,
        merchant_id: i64,
        customer_id: &str,
        card_id: &str,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        Ok(self.store.set_primary_card(key, card_id).await?)
    }

    pub async fn add_shipping_address(
        &self,
        merchant_id: i64,
        customer_id: &str,
        request: AddShippingAddressRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        let mut problems = Problems::default();
        let (_, addresses) = self.children(
            key,
            &mut problems,
            Vec::new(),
            vec![request],
            Children {
                lists: false,
                ids: CardIds::Generated,
            },
            now,
        )?;
        Ok(self
            .store
            .update_customer(key, &CustomerFields::default(), &[], &addresses, now)
            .await?)
    }

    pub async fn update_shipping_address(
        &self,
        merchant_id: i64,
        customer_id: &str,
        request: UpdateShippingAddressRequest,
        now: DateTime<Utc>,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        let mut problems = Problems::default();
        validate::shipping_fields(&mut problems, &request.fields());
        for (field, value) in [
            ("shipping_first_name", &request.fields().shipping_first_name),
            ("shipping_last_name", &request.fields().shipping_last_name),
        ] {
            problems.required(field, value);
        }
        if !problems.is_empty() {
            return Err(VaultError::Validation(problems.messages));
        }
        Ok(self
            .store
            .update_shipping_address(
                key,
                request.shipping_id,
                &request.fields(),
                request.primary == Some(true),
                now,
            )
            .await?)
    }

    pub async fn delete_shipping_address(
        &self,
        merchant_id: i64,
        customer_id: &str,
        shipping_id: i64,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        Ok(self.store.delete_shipping_address(key, shipping_id).await?)
    }

    pub async fn set_primary_shipping_address(
        &self,
        merchant_id: i64,
        customer_id: &str,
        shipping_id: i64,
    ) -> Result<CustomerRecord, VaultError> {
        let key = CustomerKey {
            merchant_id,
            customer_id,
        };
        Ok(self
            .store
            .set_primary_shipping_address(key, shipping_id)
            .await?)
    }

    /// Validates, verifies and encrypts the cards and addresses of one request. Nothing is
    /// stored unless every one of them is valid. With `lists`, messages name the element
    /// (`billing_cards[1].exp_date`), as the request held arrays.
    fn children(
        &self,
        key: CustomerKey<'_>,
        problems: &mut Problems,
        cards: Vec<AddBillingCardRequest>,
        addresses: Vec<AddShippingAddressRequest>,
        how: Children,
        now: DateTime<Utc>,
    ) -> Result<(Vec<NewCard>, Vec<NewShippingAddress>), VaultError> {
        let Children { lists, ids } = how;
        let today = now.date_naive();
        let mut valid = Vec::with_capacity(cards.len());
        for (i, card) in cards.into_iter().enumerate() {
            let mut card_problems = nested(lists, "billing_cards", i);
            let method = check_method(&mut card_problems, &card, today, ids);
            problems.absorb(card_problems);
            valid.push((method, card));
        }
        let mut new_addresses = Vec::with_capacity(addresses.len());
        for (i, address) in addresses.into_iter().enumerate() {
            let mut address_problems = nested(lists, "shipping_addresses", i);
            validate::shipping_fields(&mut address_problems, &address.fields());
            address_problems.required("shipping_first_name", &address.fields().shipping_first_name);
            address_problems.required("shipping_last_name", &address.fields().shipping_last_name);
            problems.absorb(address_problems);
            new_addresses.push(NewShippingAddress {
                fields: address.fields(),
                primary: address.primary == Some(true),
            });
        }
        if !problems.is_empty() {
            return Err(VaultError::Validation(std::mem::take(
                &mut problems.messages,
            )));
        }
        let cards = valid
            .into_iter()
            .filter_map(|(method, request)| method.map(|m| (m, request)))
            .map(|(method, request)| self.seal(key, method, request, ids, now))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((cards, new_addresses))
    }

    /// Verifies (when asked) and encrypts one payment method. The CVV is dropped here.
    fn seal(
        &self,
        key: CustomerKey<'_>,
        method: ValidMethod,
        request: AddBillingCardRequest,
        ids: CardIds,
        now: DateTime<Utc>,
    ) -> Result<NewCard, VaultError> {
        let card_id = match (ids, &request.card_id) {
            (CardIds::Given, Some(card_id)) => card_id.clone(),
            _ => random_alphanumeric(32),
        };
        let aad = number_aad(key.merchant_id, key.customer_id, &card_id);
        let verify = request.verify == Some(true);
        let primary = request.primary == Some(true);
        let card = match method {
            ValidMethod::Card { number, exp, cvv } => {
                if verify {
                    outcome_to_result(processor::verify(
                        number.expose(),
                        cvv.as_ref().map(Cvv::expose),
                    ))?;
                }
                NewCard {
                    kind: CardKind::Card,
                    card_type: Some(number.brand().code().to_owned()),
                    type_id: None,
                    tr_number: None,
                    masked_number: number.masked(),
                    fingerprint: self.keys.fingerprint(key.merchant_id, number.expose()),
                    sealed: self.keys.seal(number.expose().as_bytes(), &aad),
                    exp_date: Some(exp.to_mmyy()),
                    card_id,
                    billing: request.billing(),
                    primary,
                    verified_at: verify.then_some(now),
                }
            }
            ValidMethod::Ach {
                account,
                routing,
                account_type,
            } => {
                let fingerprint_input = format!("{}:{}", routing.as_str(), account.expose());
                NewCard {
                    kind: CardKind::Ach,
                    card_type: None,
                    type_id: Some(account_type.code().to_owned()),
                    tr_number: Some(routing.as_str().to_owned()),
                    masked_number: account.masked(),
                    fingerprint: self.keys.fingerprint(key.merchant_id, &fingerprint_input),
                    sealed: self.keys.seal(account.expose().as_bytes(), &aad),
                    exp_date: None,
                    card_id,
                    billing: request.billing(),
                    primary,
                    verified_at: verify.then_some(now),
                }
            }
        };
        Ok(card)
    }
}

/// Bytes from hex text (as SQLite's `hex()` writes them).
fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn nested(indexed: bool, list: &str, index: usize) -> Problems {
    if indexed {
        Problems::nested(format!("{list}[{index}]."))
    } else {
        Problems::default()
    }
}

fn check_exp_date(problems: &mut Problems, text: &str, today: NaiveDate) -> Option<ExpDate> {
    match ExpDate::parse(text) {
        Ok(exp) if exp.is_expired(today) => {
            problems.push(CardError::Expired);
            None
        }
        Ok(exp) => Some(exp),
        Err(error) => {
            problems.push(error);
            None
        }
    }
}

/// Checks an `AddBillingCardRequest`: a card, or an ACH account when `tr_number` or
/// `dda_number` is present.
fn check_method(
    problems: &mut Problems,
    request: &AddBillingCardRequest,
    today: NaiveDate,
    ids: CardIds,
) -> Option<ValidMethod> {
    validate::billing_fields(problems, &request.billing());
    problems.required("billing_zip", &request.billing().billing_zip);
    if request.tr_number.is_some() || request.dda_number.is_some() {
        return check_ach(problems, request);
    }
    if request.card_number.is_none() && request.card_id.is_some() && ids == CardIds::Generated {
        problems.push("card_id: no such token, or it is used or expired");
        return None;
    }
    let number = match request
        .card_number
        .as_ref()
        .map(|n| CardNumber::parse(n.expose()))
    {
        Some(Ok(number)) => Some(number),
        Some(Err(error)) => {
            problems.push(error);
            None
        }
        None => {
            problems
                .push("card_number: is required (or tr_number and dda_number for an ACH account)");
            None
        }
    };
    let exp = match request.exp_date.as_deref() {
        Some(text) => check_exp_date(problems, text, today),
        None => {
            problems.push("exp_date: is required with card_number");
            None
        }
    };
    let cvv = match &request.cvv2 {
        Some(cvv) => match Cvv::parse(cvv.expose(), number.as_ref().map(CardNumber::brand)) {
            Ok(cvv) => Some(cvv),
            Err(error) => {
                problems.push(error);
                None
            }
        },
        None => None,
    };
    Some(ValidMethod::Card {
        number: number?,
        exp: exp?,
        cvv,
    })
}

fn check_ach(problems: &mut Problems, request: &AddBillingCardRequest) -> Option<ValidMethod> {
    problems.required("billing_first_name", &request.billing().billing_first_name);
    problems.required("billing_last_name", &request.billing().billing_last_name);
    if request.card_number.is_some() {
        problems.push("card_number: send either card_number or tr_number and dda_number, not both");
    }
    let routing = match request.tr_number.as_deref() {
        Some(text) => RoutingNumber::parse(text)
            .map_err(|e| problems.push(e))
            .ok(),
        None => {
            problems.push("tr_number: is required with dda_number");
            None
        }
    };
    let account = match request.dda_number.as_ref() {
        Some(text) => AccountNumber::parse(text.expose())
            .map_err(|e| problems.push(e))
            .ok(),
        None => {
            problems.push("dda_number: is required with tr_number");
            None
        }
    };
    let account_type = match request.type_id.as_deref().filter(|t| !t.is_empty()) {
        Some(code) => AccountType::parse(code).map_err(|e| problems.push(e)).ok(),
        None => Some(AccountType::PersonalChecking),
    };
    Some(ValidMethod::Ach {
        account: account?,
        routing: routing?,
        account_type: account_type?,
    })
}

fn outcome_to_result(outcome: Outcome) -> Result<(), VaultError> {
    match outcome {
        Outcome::Approved => Ok(()),
        Outcome::Declined {
            response_code,
            message,
        } => Err(VaultError::Declined {
            response_code,
            message,
        }),
    }
}
