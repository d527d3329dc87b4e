//! The Payment Gateway (`/pg`): sales, auths and their lifecycle (capture, void, refund,
//! recharge), verifications, credits, forces, tokens and the daily batch. Handlers call these
//! with the merchant's time; every answer is a [`PgReply`] or a [`PgError`], which the routes
//! write as Qualpay's flat `/pg` body.
//!
//! Settlement and the auto-void of old auths are not timers: each operation first applies what
//! the merchant's clock says has happened ([`PaymentService::catch_up`]).

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use rust_decimal::Decimal;

use crate::qualpay::{
    AddBillingCardRequest, AddCustomerRequest, PG_APPROVED, PG_PARTIAL, PgRequest, PgResponse,
};
use crate::secret::Secret;
use crate::vault::billing::money::{cents, dollars};
use crate::vault::crypto::{Sealed, number_aad, random_alphanumeric};
use crate::vault::domain::ach::{AccountNumber, AccountType, RoutingNumber};
use crate::vault::domain::card::{CardNumber, Cvv, ExpDate};
use crate::vault::error::VaultError;
use crate::vault::processor::{self, Authorization, Outcome};
use crate::vault::service::VaultService;
use crate::vault::store::StoreError;
use crate::vault::store::payments::{
    DuplicateKey, OwnedCard, PaymentStore, PgTransactionRow, Recorded, Refused, TokenRow,
};
use crate::vault::validate::Problems;

/// The daily batch closes at this time of the merchant's clock.
pub const BATCH_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(21, 0, 0) {
    Some(time) => time,
    None => panic!("a valid time"),
};
/// An auth not captured in this many days is voided by the system.
pub const AUTH_LIFETIME_DAYS: i64 = 28;
/// A single-use token expires this long after it was made.
pub const SINGLE_USE_MINUTES: i64 = 10;
/// The longest duplicate window a request may ask for.
pub const MAX_DUPLICATE_SECONDS: i64 = 86_400;
/// The currency when a request names none (ISO 4217 numeric: US dollars).
const DEFAULT_CURRENCY: i32 = 840;
const MAX_ECHO_FIELDS: usize = 1024;

/// What an operation answers: the body and its HTTP status (200 approved, 402 declined, 509
/// processor timeout).
#[derive(Debug)]
pub struct PgReply {
    pub status: StatusCode,
    pub body: PgResponse,
}

/// A request refused before anything was recorded.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PgError {
    pub rcode: &'static str,
    pub message: String,
}

impl PgError {
    fn new(rcode: &'static str, message: impl Into<String>) -> Self {
        Self {
            rcode,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.rcode)
    }
}

/// The HTTP status of an `rcode`, by the table in the README.
pub fn status_of(rcode: &str) -> StatusCode {
    match rcode {
        PG_APPROVED | PG_PARTIAL => StatusCode::OK,
        "101" => StatusCode::UNAUTHORIZED,
        "110" | "111" | "112" | "113" => StatusCode::CONFLICT,
        "998" => StatusCode::from_u16(509).unwrap_or(StatusCode::GATEWAY_TIMEOUT),
        "999" => StatusCode::INTERNAL_SERVER_ERROR,
        code if code.starts_with('0') => StatusCode::PAYMENT_REQUIRED,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<VaultError> for PgError {
    fn from(error: VaultError) -> Self {
        let rcode = match &error {
            VaultError::Unauthorized | VaultError::ForbiddenMerchant(_) => "101",
            VaultError::NotFound(_) => "104",
            VaultError::Declined { response_code, .. } => response_code,
            VaultError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                return Self::new("999", "Internal error");
            }
            VaultError::Validation(_)
            | VaultError::MethodNotAllowed
            | VaultError::Conflict(_)
            | VaultError::PayloadTooLarge(_) => "103",
        };
        Self::new(rcode, error.to_string())
    }
}

impl From<StoreError> for PgError {
    fn from(error: StoreError) -> Self {
        VaultError::from(error).into()
    }
}

/// The transaction kinds that authorize a card (the others act on an earlier transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sale,
    Auth,
    Credit,
    Force,
    Verify,
    Recharge,
}

impl Kind {
    fn tran_type(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Auth => "auth",
            Self::Credit => "credit",
            Self::Force => "force",
            Self::Verify => "verify",
            Self::Recharge => "recharge",
        }
    }
}

/// The card or account a request pays with, resolved and opened.
struct Source {
    number: Secret<String>,
    ach: bool,
    exp_date: Option<String>,
    /// The vault card or token it came from.
    card_id: Option<String>,
    /// The customer it belongs to (or the request's `customer_id`).
    customer_id: Option<String>,
    masked: String,
    card_type: Option<String>,
    fingerprint: Vec<u8>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// The billing zip the token was made with, for storing it on a customer.
    zip: Option<String>,
    /// A single-use token, used up by this request.
    single_use_token: Option<String>,
    /// A number from the request itself, which `tokenize` may store.
    fresh: Option<Fresh>,
}

/// A card or account number the request carried, validated.
enum Fresh {
    Card,
    Ach {
        routing: RoutingNumber,
        account_type: AccountType,
    },
}

pub struct PaymentService {
    vault: Arc<VaultService>,
    store: Arc<dyn PaymentStore>,
}

/// A time as the payments tables keep it (the merchant's clock): `YYYY-MM-DD HH:MM:SS`.
pub fn time_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn day_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// The date of the batch a transaction captured at `now` settles in: today's until 21:00,
/// tomorrow's after.
pub fn open_batch(now: DateTime<Utc>) -> String {
    if now.time() < BATCH_CLOSE {
        day_text(now)
    } else {
        day_text(now + Duration::days(1))
    }
}

/// An amount in cents: positive, at most two decimals, at most 10 integer digits.
fn amount_cents(problems: &mut Problems, amount: Option<Decimal>) -> Option<i64> {
    let Some(amount) = amount else {
        problems.push("amt_tran: is required");
        return None;
    };
    let normalized = amount.normalize();
    if amount <= Decimal::ZERO {
        problems.push("amt_tran: must be more than 0");
    } else if normalized.scale() > 2 {
        problems.push("amt_tran: must have at most 2 decimal places");
    } else if normalized.trunc() >= Decimal::from(10_000_000_000_i64) {
        problems.push("amt_tran: must be less than 10000000000");
    } else {
        return Some(cents(normalized));
    }
    None
}

/// Splits a cardholder name at its last space: "Ada King Lovelace" is "Ada King", "Lovelace".
fn split_name(name: &str) -> (Option<String>, Option<String>) {
    let name = name.trim();
    match name.rsplit_once(' ') {
        Some((first, last)) => (Some(first.trim().to_owned()), Some(last.to_owned())),
        None if name.is_empty() => (None, None),
        None => (None, Some(name.to_owned())),
    }
}

fn random_pg_id() -> String {
    random_alphanumeric(32)
}

impl PaymentService {
    pub fn new(vault: Arc<VaultService>, store: Arc<dyn PaymentStore>) -> Self {
        Self { vault, store }
    }

    /// The store, for what builds on payments (the embedded fields' keys).
    pub fn store(&self) -> &dyn PaymentStore {
        &*self.store
    }

    /// Applies what the clock says happened since the last request: batches that closed and
    /// auths that expired.
    pub async fn catch_up(&self, merchant_id: i64, now: DateTime<Utc>) -> Result<(), PgError> {
        Ok(self
            .store
            .catch_up(merchant_id, now, &open_batch(now))
            .await?)
    }

    /// A sale, auth, credit, force or verification.
    pub async fn transact(
        &self,
        kind: Kind,
        merchant_id: i64,
        request: PgRequest,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        self.catch_up(merchant_id, now).await?;
        self.authorize(kind, merchant_id, request, None, now).await
    }

    async fn authorize(
        &self,
        kind: Kind,
        merchant_id: i64,
        request: PgRequest,
        original: Option<&PgTransactionRow>,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        let mut problems = Problems::default();
        common_checks(&mut problems, &request);
        let amount = if kind == Kind::Verify {
            if request.amt_tran.is_some_and(|a| !a.is_zero()) {
                problems.push("amt_tran: a verification is for no amount; leave it out");
            }
            Some(0)
        } else {
            amount_cents(&mut problems, request.amt_tran)
        };
        if kind == Kind::Force {
            match request.auth_code.as_deref() {
                Some(code)
                    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_alphanumeric()) => {}
                _ => problems
                    .push("auth_code: a force needs the 6-character voice authorization code"),
            }
        }
        let currency = request.tran_currency.unwrap_or(DEFAULT_CURRENCY);
        if !(1..=999).contains(&currency) {
            problems.push("tran_currency: must be an ISO 4217 numeric code (840 for USD)");
        }
        let (Some(amount), true) = (amount, problems.is_empty()) else {
            return Err(PgError::new(
                "103",
                VaultError::Validation(problems.messages).to_string(),
            ));
        };
        let purpose = if kind == Kind::Verify {
            "verify"
        } else {
            "charge"
        };
        let source = self.source(merchant_id, &request, purpose, now).await?;
        // A single-use token is used up here, whatever the outcome: of two requests with it,
        // one gets it.
        if let Some(token) = &source.single_use_token
            && !self
                .store
                .claim_token(merchant_id, token, &time_text(now))
                .await?
        {
            return Err(token_gone());
        }
        // The CVV stays in the request's `Secret` (wiped when dropped): it is never copied out.
        let cvv = request.cvv2.as_ref().map(|c| c.expose().as_str());
        if let Some(cvv) = cvv {
            let brand = source
                .card_type
                .as_deref()
                .and_then(crate::vault::domain::card::CardBrand::from_code);
            Cvv::parse(cvv, brand).map_err(|e| PgError::new("103", e.to_string()))?;
        }
        let authorized = match kind {
            // A force carries the issuer's voice approval; a credit pays the cardholder.
            Kind::Force | Kind::Credit => processor::Authorized {
                outcome: Outcome::Approved,
                approved: amount,
                partial: false,
                avs_result: None,
                cvv2_result: None,
            },
            _ if source.ach => processor::Authorized {
                outcome: Outcome::Approved,
                approved: amount,
                partial: false,
                avs_result: None,
                cvv2_result: None,
            },
            _ => processor::authorize(&Authorization {
                card_number: source.number.expose(),
                exp_date: source.exp_date.as_deref(),
                cvv,
                avs_zip: request.avs_zip.as_deref(),
                avs_address: request.avs_address.as_deref(),
                amount,
                partial_auth: request.partial_auth == Some(true),
                today: now.date_naive(),
            }),
        };
        let approved = authorized.outcome == Outcome::Approved;
        // Stored only once approved; the CVV is not passed on and is dropped with `request`.
        let card_id = if approved && request.tokenize == Some(true) {
            Some(self.store_card(merchant_id, &request, &source, now).await?)
        } else {
            source.card_id.clone()
        };
        let (rcode, rmsg, auth_code) = match authorized.outcome {
            Outcome::Approved if authorized.partial => (
                PG_PARTIAL,
                "Partially approved".to_owned(),
                Some(auth_code()),
            ),
            Outcome::Approved => {
                let code = match kind {
                    Kind::Force => request.auth_code.clone().unwrap_or_default(),
                    _ => auth_code(),
                };
                (PG_APPROVED, format!("Approved {code}"), Some(code))
            }
            Outcome::Declined {
                response_code,
                message,
            } => (response_code, message.to_owned(), None),
        };
        let tran_status = match (authorized.outcome, kind) {
            (
                Outcome::Declined {
                    response_code: "998",
                    ..
                },
                _,
            ) => "F",
            (Outcome::Declined { .. }, _) => "D",
            (Outcome::Approved, Kind::Auth | Kind::Verify) => "A",
            (Outcome::Approved, _) => "C",
        };
        let captured = tran_status == "C";
        let (first_name, last_name) = match request.cardholder_name.as_deref() {
            Some(name) => split_name(name),
            None => (source.first_name.clone(), source.last_name.clone()),
        };
        let row = PgTransactionRow {
            pg_id: random_pg_id(),
            merchant_id,
            tran_type: kind.tran_type().to_owned(),
            pg_id_orig: original.map(|o| o.pg_id.clone()),
            tran_status: tran_status.to_owned(),
            rcode: rcode.to_owned(),
            rmsg,
            auth_code,
            avs_result: authorized.avs_result.map(str::to_owned),
            cvv2_result: authorized.cvv2_result.map(str::to_owned),
            amt_requested: amount,
            // A decline is reported for the amount asked; an approval for the amount approved.
            amt_tran: if approved {
                authorized.approved
            } else {
                amount
            },
            amt_captured: captured.then_some(authorized.approved),
            amt_refunded: 0,
            tran_currency: currency.to_string(),
            card_id,
            card_number: Some(source.masked.clone()),
            card_type: source.card_type.clone(),
            fingerprint: Some(source.fingerprint.clone()),
            customer_id: source.customer_id.clone(),
            cardholder_first_name: first_name,
            cardholder_last_name: last_name,
            purchase_id: request.purchase_id.clone(),
            merch_ref_num: request.merch_ref_num.clone(),
            tran_time: time_text(now),
            tran_date: day_text(now),
            // A verification is never captured: it does not expire into a system void.
            expires_at: (kind == Kind::Auth && approved)
                .then(|| time_text(now + Duration::days(AUTH_LIFETIME_DAYS))),
            batch_due: captured.then(|| open_batch(now)),
            batch_date: None,
            settle_date: None,
        };
        let duplicate = duplicate_key(&request, &row, now);
        let recorded = self.store.record(&row, duplicate.as_ref(), now).await?;
        let (Recorded::New(saved) | Recorded::Duplicate(saved)) = recorded;
        Ok(reply(&saved, request.echo_fields))
    }

    /// Resolves the request's card source and opens its number (with an audit record).
    async fn source(
        &self,
        merchant_id: i64,
        request: &PgRequest,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Source, PgError> {
        for (field, given) in [
            ("card_swipe", request.card_swipe.is_some()),
            ("payload_google_pay", request.payload_google_pay.is_some()),
            ("payload_apple_pay", request.payload_apple_pay.is_some()),
        ] {
            if given {
                return Err(PgError::new(
                    "103",
                    format!("{field}: not supported by this vault; send card_number or card_id"),
                ));
            }
        }
        let ach = request.dda_number.is_some() || request.tr_number.is_some();
        let given = [
            request.card_number.is_some(),
            request.card_id.is_some(),
            ach,
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(PgError::new(
                "103",
                "card source: send one of card_number, card_id or dda_number with tr_number",
            ));
        }
        if let Some(customer_id) = request.customer_id.as_deref()
            && customer_id.chars().count() > 32
        {
            return Err(PgError::new(
                "103",
                "customer_id: must be at most 32 characters",
            ));
        }
        if let Some(number) = &request.card_number {
            let number = CardNumber::parse(number.expose())
                .map_err(|e| PgError::new("103", e.to_string()))?;
            let exp = match request.exp_date.as_deref() {
                Some(text) => {
                    ExpDate::parse(text).map_err(|e| PgError::new("103", e.to_string()))?
                }
                None => {
                    return Err(PgError::new(
                        "103",
                        "exp_date: is required with card_number",
                    ));
                }
            };
            return Ok(Source {
                number: Secret::new(number.expose().to_owned()),
                ach: false,
                exp_date: Some(exp.to_mmyy()),
                card_id: None,
                customer_id: request.customer_id.clone(),
                masked: number.masked(),
                card_type: Some(number.brand().code().to_owned()),
                fingerprint: self.vault.fingerprint(merchant_id, number.expose()),
                first_name: None,
                last_name: None,
                zip: None,
                single_use_token: None,
                fresh: Some(Fresh::Card),
            });
        }
        if ach {
            let routing = RoutingNumber::parse(request.tr_number.as_deref().unwrap_or_default())
                .map_err(|e| PgError::new("103", e.to_string()))?;
            let account = AccountNumber::parse(
                request
                    .dda_number
                    .as_ref()
                    .map(|d| d.expose().as_str())
                    .unwrap_or_default(),
            )
            .map_err(|e| PgError::new("103", e.to_string()))?;
            let account_type = match request.type_id.as_deref().filter(|t| !t.is_empty()) {
                Some(code) => {
                    AccountType::parse(code).map_err(|e| PgError::new("103", e.to_string()))?
                }
                None => AccountType::PersonalChecking,
            };
            let fingerprint = self.vault.fingerprint(
                merchant_id,
                &format!("{}:{}", routing.as_str(), account.expose()),
            );
            return Ok(Source {
                number: Secret::new(account.expose().to_owned()),
                ach: true,
                exp_date: None,
                card_id: None,
                customer_id: request.customer_id.clone(),
                masked: account.masked(),
                card_type: None,
                fingerprint,
                first_name: None,
                last_name: None,
                zip: None,
                single_use_token: None,
                fresh: Some(Fresh::Ach {
                    routing,
                    account_type,
                }),
            });
        }
        match (request.card_id.as_deref(), request.customer_id.as_deref()) {
            (Some(card_id), customer_id) => {
                if let Some(card) = self.store.owned_card(merchant_id, card_id).await? {
                    if customer_id.is_some_and(|c| c != card.customer_id) {
                        return Err(PgError::new(
                            "104",
                            "card_id: not a card of this customer_id",
                        ));
                    }
                    return self
                        .open_owned(merchant_id, card, request, purpose, now)
                        .await;
                }
                if customer_id.is_some() && request.tokenize != Some(true) {
                    return Err(PgError::new(
                        "104",
                        "card_id: not a card of this customer_id",
                    ));
                }
                let token = self
                    .store
                    .token(merchant_id, card_id)
                    .await?
                    .ok_or_else(|| PgError::new("104", "card_id: no such card"))?;
                self.open_token(merchant_id, token, request, purpose, now)
                    .await
            }
            (None, Some(customer_id)) => {
                let card = self
                    .store
                    .primary_card(merchant_id, customer_id)
                    .await?
                    .ok_or_else(|| {
                        PgError::new(
                            "104",
                            "customer_id: no such customer, or it has no primary payment method",
                        )
                    })?;
                self.open_owned(merchant_id, card, request, purpose, now)
                    .await
            }
            (None, None) => Err(PgError::new(
                "103",
                "card source: send card_number and exp_date, card_id, customer_id, or \
                 dda_number and tr_number",
            )),
        }
    }

    async fn open_owned(
        &self,
        merchant_id: i64,
        card: OwnedCard,
        request: &PgRequest,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Source, PgError> {
        let aad = number_aad(merchant_id, &card.customer_id, &card.card_id);
        let number = self
            .vault
            .open_audited(
                merchant_id,
                &card.card_id,
                &Sealed {
                    key_id: card.key_id,
                    blob: card.ciphertext,
                },
                &aad,
                purpose,
                now,
            )
            .await?;
        Ok(Source {
            number,
            ach: card.kind == "ach",
            // The request may bring a newer expiry for a stored card.
            exp_date: request.exp_date.clone().or(card.exp_date),
            card_id: Some(card.card_id),
            customer_id: Some(card.customer_id),
            masked: card.masked_number,
            card_type: card.card_type,
            fingerprint: card.fingerprint,
            first_name: card.billing_first_name,
            last_name: card.billing_last_name,
            zip: None,
            single_use_token: None,
            fresh: None,
        })
    }

    async fn open_token(
        &self,
        merchant_id: i64,
        token: TokenRow,
        request: &PgRequest,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Source, PgError> {
        if !token_usable(&token, now) {
            return Err(token_gone());
        }
        let number = self
            .open_token_number(merchant_id, &token, purpose, now)
            .await?;
        let (first_name, last_name) = token
            .cardholder_name
            .as_deref()
            .map(split_name)
            .unwrap_or_default();
        Ok(Source {
            number,
            ach: token.kind == "ach",
            exp_date: request.exp_date.clone().or(token.exp_date),
            single_use_token: token.single_use.then(|| token.card_id.clone()),
            card_id: Some(token.card_id),
            customer_id: request.customer_id.clone(),
            masked: token.masked_number,
            card_type: token.card_type,
            fingerprint: token.fingerprint,
            first_name,
            last_name,
            zip: token.avs_zip,
            fresh: None,
        })
    }

    /// Stores the request's card for `tokenize`: on the customer it names (created when new,
    /// with a `customer` object), else as a token. Answers the `card_id`.
    async fn store_card(
        &self,
        merchant_id: i64,
        request: &PgRequest,
        source: &Source,
        now: DateTime<Utc>,
    ) -> Result<String, PgError> {
        let Some(customer_id) = request.customer_id.as_deref() else {
            return match (&source.fresh, &source.card_id) {
                // A permanent card already: nothing to store.
                (None, Some(card_id)) if source.single_use_token.is_none() => Ok(card_id.clone()),
                _ => {
                    self.insert_token(merchant_id, request, source, false, now)
                        .await
                }
            };
        };
        if let Some(existing) = self
            .store
            .card_by_fingerprint(merchant_id, customer_id, &source.fingerprint)
            .await?
        {
            return Ok(existing);
        }
        let mut card = AddBillingCardRequest {
            card_number: (!source.ach).then(|| source.number.clone()),
            exp_date: (!source.ach).then(|| source.exp_date.clone()).flatten(),
            dda_number: source.ach.then(|| source.number.clone()),
            // A token keeps its id as the customer's card.
            card_id: source.single_use_token.clone().or_else(|| {
                source
                    .fresh
                    .is_none()
                    .then(|| source.card_id.clone())
                    .flatten()
            }),
            billing_first_name: source.first_name.clone(),
            billing_last_name: source.last_name.clone(),
            billing_zip: request.avs_zip.clone().or(source.zip.clone()),
            billing_addr1: request.avs_address.clone(),
            ..AddBillingCardRequest::default()
        };
        if let Some(Fresh::Ach {
            routing,
            account_type,
            ..
        }) = &source.fresh
        {
            card.tr_number = Some(routing.as_str().to_owned());
            card.type_id = Some(account_type.code().to_owned());
        }
        if let Some(name) = request.cardholder_name.as_deref() {
            (card.billing_first_name, card.billing_last_name) = split_name(name);
        }
        let exists = match self.vault.customer(merchant_id, customer_id).await {
            Ok(_) => true,
            Err(VaultError::NotFound(_)) => false,
            Err(error) => return Err(error.into()),
        };
        // The vault keeps a billing zip with every card (its add-card rule): `avs_zip` here, or
        // the `customer` object's `billing_zip` for a new customer.
        let zip_missing = || {
            PgError::new(
                "103",
                "avs_zip: is required to store the card on a customer (tokenize with customer_id)",
            )
        };
        if exists {
            if card.billing_zip.is_none() {
                return Err(zip_missing());
            }
            self.vault
                .add_card_opened(merchant_id, customer_id, card, now)
                .await?;
        } else {
            let Some(customer) = &request.customer else {
                return Err(PgError::new(
                    "104",
                    "customer_id: no such customer (send a customer object to create one)",
                ));
            };
            let billing = customer.billing();
            card.billing_first_name = card.billing_first_name.or(billing.billing_first_name);
            card.billing_last_name = card.billing_last_name.or(billing.billing_last_name);
            card.billing_firm_name = billing.billing_firm_name;
            card.billing_email = billing.billing_email;
            card.billing_addr1 = card.billing_addr1.or(billing.billing_addr1);
            card.billing_addr2 = billing.billing_addr2;
            card.billing_city = billing.billing_city;
            card.billing_state = billing.billing_state;
            card.billing_zip = card.billing_zip.or(billing.billing_zip);
            card.billing_zip4 = billing.billing_zip4;
            card.billing_country = billing.billing_country;
            card.billing_country_code = billing.billing_country_code;
            if card.billing_zip.is_none() {
                return Err(zip_missing());
            }
            card.primary = Some(true);
            let fields = customer.fields();
            let add = AddCustomerRequest {
                customer_id: Some(customer_id.to_owned()),
                customer_first_name: fields.customer_first_name,
                customer_last_name: fields.customer_last_name,
                customer_firm_name: fields.customer_firm_name,
                customer_phone: fields.customer_phone,
                customer_email: fields.customer_email,
                billing_cards: Some(vec![card]),
                shipping_addresses: customer
                    .shipping_addresses
                    .as_ref()
                    .map(|addresses| addresses.iter().map(|a| a.to_add_request()).collect()),
                ..AddCustomerRequest::default()
            };
            self.vault
                .add_customer_opened(merchant_id, add, now)
                .await?;
        }
        if let Some(token) = &source.single_use_token {
            self.store.delete_token(merchant_id, token).await?;
        }
        self.store
            .card_by_fingerprint(merchant_id, customer_id, &source.fingerprint)
            .await?
            .ok_or_else(|| PgError::new("999", "the stored card was not found"))
    }

    async fn insert_token(
        &self,
        merchant_id: i64,
        request: &PgRequest,
        source: &Source,
        single_use: bool,
        now: DateTime<Utc>,
    ) -> Result<String, PgError> {
        let card_id = random_alphanumeric(32);
        let aad = number_aad(merchant_id, "", &card_id);
        let sealed = self
            .vault
            .seal_number(source.number.expose().as_bytes(), &aad);
        let (type_id, tr_number) = match &source.fresh {
            Some(Fresh::Ach {
                routing,
                account_type,
                ..
            }) => (
                Some(account_type.code().to_owned()),
                Some(routing.as_str().to_owned()),
            ),
            _ => (None, None),
        };
        let token = TokenRow {
            card_id: card_id.clone(),
            merchant_id,
            kind: if source.ach { "ach" } else { "card" }.to_owned(),
            card_type: source.card_type.clone(),
            type_id,
            tr_number,
            masked_number: source.masked.clone(),
            fingerprint: source.fingerprint.clone(),
            key_id: sealed.key_id,
            ciphertext: sealed.blob,
            exp_date: source.exp_date.clone(),
            cardholder_name: request.cardholder_name.clone(),
            avs_address: request.avs_address.clone(),
            avs_zip: request.avs_zip.clone(),
            single_use,
            expires_at: single_use.then(|| time_text(now + Duration::minutes(SINGLE_USE_MINUTES))),
            used_at: None,
            created_at: time_text(now),
        };
        self.store.insert_token(&token).await?;
        Ok(card_id)
    }

    /// `/tokenize`: stores a card (or account) without authorizing it.
    pub async fn tokenize(
        &self,
        merchant_id: i64,
        request: PgRequest,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        let mut problems = Problems::default();
        common_checks(&mut problems, &request);
        problems.into_result()?;
        if request.card_number.is_none() && request.dda_number.is_none() {
            return Err(PgError::new(
                "103",
                "card_number: is required (with exp_date), or dda_number with tr_number",
            ));
        }
        let source = self.source(merchant_id, &request, "tokenize", now).await?;
        let single_use = request.single_use == Some(true);
        let card_id = self
            .insert_token(merchant_id, &request, &source, single_use, now)
            .await?;
        Ok(PgReply {
            status: StatusCode::OK,
            body: PgResponse {
                pg_id: Some(random_pg_id()),
                rcode: PG_APPROVED.to_owned(),
                rmsg: "Token request complete".to_owned(),
                echo_fields: request.echo_fields,
                card_id: Some(card_id),
                card_number: Some(source.masked),
                ..PgResponse::default()
            },
        })
    }

    /// `/expireToken`.
    pub async fn expire_token(
        &self,
        merchant_id: i64,
        request: PgRequest,
    ) -> Result<PgReply, PgError> {
        let Some(card_id) = request.card_id.as_deref() else {
            return Err(PgError::new("103", "card_id: is required"));
        };
        if !self.store.delete_token(merchant_id, card_id).await? {
            return Err(PgError::new("104", "card_id: no such token"));
        }
        Ok(approved_reply("Token removed", request.echo_fields))
    }

    /// A single-use or permanent token for `POST /platform/vault/customer/{id}/billing` with
    /// `card_id`: its number, opened, and whether it is single-use.
    pub async fn open_token_for_card(
        &self,
        merchant_id: i64,
        card_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(TokenRow, Secret<String>), VaultError> {
        let token = self
            .store
            .token(merchant_id, card_id)
            .await?
            .filter(|token| token_usable(token, now))
            .ok_or_else(|| {
                VaultError::invalid("card_id: no such token, or it is used or expired")
            })?;
        let number = self
            .open_token_number(merchant_id, &token, "tokenize", now)
            .await?;
        Ok((token, number))
    }

    /// A token's number, decrypted for `purpose` with its audit record. Tokens belong to no
    /// customer: their associated data names none.
    async fn open_token_number(
        &self,
        merchant_id: i64,
        token: &TokenRow,
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Secret<String>, VaultError> {
        let sealed = Sealed {
            key_id: token.key_id,
            blob: token.ciphertext.clone(),
        };
        let aad = number_aad(merchant_id, "", &token.card_id);
        self.vault
            .open_audited(merchant_id, &token.card_id, &sealed, &aad, purpose, now)
            .await
    }

    /// Uses up a token for a customer's card (see [`PaymentStore::claim_token`]).
    pub async fn claim_token(
        &self,
        merchant_id: i64,
        card_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), VaultError> {
        if self
            .store
            .claim_token(merchant_id, card_id, &time_text(now))
            .await?
        {
            Ok(())
        } else {
            Err(VaultError::invalid(
                "card_id: no such token, or it is used or expired",
            ))
        }
    }

    /// Removes a token once it became a customer's card.
    pub async fn retire_token(&self, merchant_id: i64, card_id: &str) -> Result<(), VaultError> {
        self.store.delete_token(merchant_id, card_id).await?;
        Ok(())
    }

    /// `/capture/{pg_id}`.
    pub async fn capture(
        &self,
        merchant_id: i64,
        pg_id: &str,
        request: PgRequest,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        self.catch_up(merchant_id, now).await?;
        let mut problems = Problems::default();
        let amount = amount_cents(&mut problems, request.amt_tran);
        problems.into_result()?;
        let amount = amount.unwrap_or_default();
        match self
            .store
            .capture(merchant_id, pg_id, amount, &open_batch(now), now)
            .await?
        {
            Ok(row) => Ok(PgReply {
                status: StatusCode::OK,
                body: PgResponse {
                    pg_id: Some(row.pg_id),
                    ..approved_reply("Capture request accepted", request.echo_fields).body
                },
            }),
            Err(Refused::NotFound) => Err(no_such_transaction()),
            Err(Refused::State(row)) => Err(PgError::new(
                "110",
                if row.tran_type != "auth" {
                    "only an auth can be captured".to_owned()
                } else if row.tran_status == "A" {
                    format!(
                        "amt_tran: more than the {} authorized",
                        dollars(row.amt_tran)
                    )
                } else {
                    format!(
                        "the auth is {} and cannot be captured",
                        describe(&row.tran_status)
                    )
                },
            )),
        }
    }

    /// `/void/{pg_id}`.
    pub async fn void(
        &self,
        merchant_id: i64,
        pg_id: &str,
        request: PgRequest,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        self.catch_up(merchant_id, now).await?;
        match self.store.void(merchant_id, pg_id, now).await? {
            Ok(row) => Ok(PgReply {
                status: StatusCode::OK,
                body: PgResponse {
                    pg_id: Some(row.pg_id),
                    ..approved_reply("Transaction voided", request.echo_fields).body
                },
            }),
            Err(Refused::NotFound) => Err(no_such_transaction()),
            Err(Refused::State(row)) => Err(PgError::new(
                "111",
                match row.tran_status.as_str() {
                    "S" => "the transaction is settled (its batch closed): refund it instead"
                        .to_owned(),
                    status => format!(
                        "the transaction is {} and cannot be voided",
                        describe(status)
                    ),
                },
            )),
        }
    }

    /// `/refund/{pg_id}`.
    pub async fn refund(
        &self,
        merchant_id: i64,
        pg_id: &str,
        request: PgRequest,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        self.catch_up(merchant_id, now).await?;
        let mut problems = Problems::default();
        let amount = amount_cents(&mut problems, request.amt_tran);
        problems.into_result()?;
        let amount = amount.unwrap_or_default();
        let original = self
            .store
            .transaction(merchant_id, pg_id)
            .await?
            .ok_or_else(no_such_transaction)?;
        let refund = PgTransactionRow {
            pg_id: random_pg_id(),
            tran_type: "refund".to_owned(),
            pg_id_orig: Some(original.pg_id.clone()),
            tran_status: "C".to_owned(),
            rcode: PG_APPROVED.to_owned(),
            rmsg: "Refund request accepted".to_owned(),
            auth_code: None,
            avs_result: None,
            cvv2_result: None,
            amt_requested: amount,
            amt_tran: amount,
            amt_captured: Some(amount),
            amt_refunded: 0,
            purchase_id: request.purchase_id.clone().or(original.purchase_id.clone()),
            // Not the original's: a caller's reference (or idempotency key) is its own.
            merch_ref_num: request.merch_ref_num.clone(),
            tran_time: time_text(now),
            tran_date: day_text(now),
            expires_at: None,
            batch_due: Some(open_batch(now)),
            batch_date: None,
            settle_date: None,
            ..original.clone()
        };
        match self.store.refund(&refund, now).await? {
            Ok(saved) => Ok(PgReply {
                status: StatusCode::OK,
                body: PgResponse {
                    pg_id: Some(saved.pg_id),
                    ..approved_reply("Refund request accepted", request.echo_fields).body
                },
            }),
            Err(Refused::NotFound) => Err(no_such_transaction()),
            Err(Refused::State(row)) => Err(PgError::new(
                "112",
                if !matches!(
                    row.tran_type.as_str(),
                    "sale" | "auth" | "force" | "recharge"
                ) {
                    format!("a {} cannot be refunded", row.tran_type)
                } else if row.tran_status == "C" {
                    "the transaction is not settled yet (its batch is open): void it instead"
                        .to_owned()
                } else if row.tran_status != "S" {
                    format!(
                        "the transaction is {} and cannot be refunded",
                        describe(&row.tran_status)
                    )
                } else {
                    format!(
                        "amt_tran: more than the {} left to refund",
                        dollars(row.amt_captured.unwrap_or_default() - row.amt_refunded)
                    )
                },
            )),
        }
    }

    /// `/recharge/{pg_id}`: a new sale on the card of an earlier approved transaction.
    pub async fn recharge(
        &self,
        merchant_id: i64,
        pg_id: &str,
        request: PgRequest,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        self.catch_up(merchant_id, now).await?;
        let original = self
            .store
            .transaction(merchant_id, pg_id)
            .await?
            .ok_or_else(no_such_transaction)?;
        let approved = matches!(original.rcode.as_str(), PG_APPROVED | PG_PARTIAL)
            && original.tran_type != "refund"
            && original.tran_type != "credit";
        if !approved {
            return Err(PgError::new(
                "113",
                "a recharge needs an earlier approved sale, auth, force, verify or recharge",
            ));
        }
        let Some(card_id) = original.card_id.clone() else {
            return Err(PgError::new(
                "113",
                "the transaction was made with a card number that was not stored: a recharge \
                 needs a card_id, customer_id or tokenize on the original",
            ));
        };
        let recharge = PgRequest {
            amt_tran: request.amt_tran,
            tran_currency: request
                .tran_currency
                .or(original.tran_currency.parse().ok()),
            card_id: Some(card_id),
            customer_id: original.customer_id.clone(),
            merch_ref_num: request.merch_ref_num,
            purchase_id: request.purchase_id,
            echo_fields: request.echo_fields,
            ..PgRequest::default()
        };
        self.authorize(Kind::Recharge, merchant_id, recharge, Some(&original), now)
            .await
    }

    /// `/batchClose`: settles every captured transaction now.
    pub async fn close_batch(
        &self,
        merchant_id: i64,
        request: PgRequest,
        now: DateTime<Utc>,
    ) -> Result<PgReply, PgError> {
        self.catch_up(merchant_id, now).await?;
        let settled = self
            .store
            .close_batch(merchant_id, &day_text(now), now)
            .await?;
        Ok(approved_reply(
            &format!("Batch closed: {settled} transactions settled"),
            request.echo_fields,
        ))
    }

    /// The reporting store, after catching up with the clock.
    pub async fn report_store(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
    ) -> Result<&dyn PaymentStore, VaultError> {
        self.store
            .catch_up(merchant_id, now, &open_batch(now))
            .await?;
        Ok(&*self.store)
    }
}

/// Field rules every transaction request shares.
fn common_checks(problems: &mut Problems, request: &PgRequest) {
    problems.text("merch_ref_num", &request.merch_ref_num, 128);
    problems.text("purchase_id", &request.purchase_id, 25);
    problems.text("cardholder_name", &request.cardholder_name, 64);
    problems.text("avs_address", &request.avs_address, 20);
    problems.text("avs_zip", &request.avs_zip, 9);
    problems.text("customer_code", &request.customer_code, 17);
    if request
        .echo_fields
        .as_ref()
        .is_some_and(|e| e.len() > MAX_ECHO_FIELDS)
    {
        problems.push(format!(
            "echo_fields: must be at most {MAX_ECHO_FIELDS} bytes"
        ));
    }
    if let Some(seconds) = request.duplicate_seconds
        && !(0..=MAX_DUPLICATE_SECONDS).contains(&seconds)
    {
        problems.push(format!(
            "duplicate_seconds: must be between 0 and {MAX_DUPLICATE_SECONDS}"
        ));
    }
}

/// The duplicate check a request asks for: a window and a reference to match on.
fn duplicate_key(
    request: &PgRequest,
    row: &PgTransactionRow,
    now: DateTime<Utc>,
) -> Option<DuplicateKey> {
    let seconds = request.duplicate_seconds.filter(|s| *s > 0)?;
    if request.merch_ref_num.is_none() && request.purchase_id.is_none() {
        return None;
    }
    Some(DuplicateKey {
        fingerprint: row.fingerprint.clone()?,
        tran_type: row.tran_type.clone(),
        merch_ref_num: request.merch_ref_num.clone(),
        purchase_id: request.purchase_id.clone(),
        since: time_text(now - Duration::seconds(seconds)),
    })
}

fn token_usable(token: &TokenRow, now: DateTime<Utc>) -> bool {
    token.used_at.is_none()
        && token
            .expires_at
            .as_deref()
            .is_none_or(|expires| expires > time_text(now).as_str())
}

fn token_gone() -> PgError {
    PgError::new("105", "card_id: the token is used or expired")
}

fn no_such_transaction() -> PgError {
    PgError::new("102", "Invalid PG Identifier: no such transaction")
}

fn describe(status: &str) -> &'static str {
    match status {
        "A" => "authorized",
        "C" => "captured",
        "S" => "settled",
        "V" => "voided",
        "v" => "voided by the system",
        "D" => "declined",
        "F" => "failed",
        _ => "in an unknown state",
    }
}

/// A six-character authorization code, as an issuer's.
fn auth_code() -> String {
    format!("T{}", random_alphanumeric(5).to_ascii_uppercase())
}

fn approved_reply(message: &str, echo_fields: Option<String>) -> PgReply {
    PgReply {
        status: StatusCode::OK,
        body: PgResponse {
            pg_id: Some(random_pg_id()),
            rcode: PG_APPROVED.to_owned(),
            rmsg: message.to_owned(),
            echo_fields,
            ..PgResponse::default()
        },
    }
}

/// The answer for a recorded transaction (the first one, for a duplicate). A decline, a
/// timeout and a recharge answer with the spec's four common fields only, as their response
/// schemas have no others.
fn reply(row: &PgTransactionRow, echo_fields: Option<String>) -> PgReply {
    let status = status_of(&row.rcode);
    if status != StatusCode::OK || row.tran_type == "recharge" {
        return PgReply {
            status,
            body: PgResponse {
                pg_id: Some(row.pg_id.clone()),
                rcode: row.rcode.clone(),
                rmsg: row.rmsg.clone(),
                echo_fields,
                ..PgResponse::default()
            },
        };
    }
    PgReply {
        status,
        body: PgResponse {
            pg_id: Some(row.pg_id.clone()),
            rcode: row.rcode.clone(),
            rmsg: row.rmsg.clone(),
            echo_fields,
            card_id: row.card_id.clone(),
            card_number: (row.tran_type == "verify")
                .then(|| row.card_number.clone())
                .flatten(),
            auth_code: row.auth_code.clone(),
            auth_avs_result: row.avs_result.clone(),
            auth_cvv2_result: row.cvv2_result.clone(),
            amt_tran: (row.rcode == PG_PARTIAL).then(|| dollars(row.amt_tran)),
        },
    }
}
