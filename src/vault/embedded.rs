//! Embedded card fields: a card goes from a browser into the vault without passing through the
//! merchant's page or server.
//!
//! The merchant's server gets a *transient key* (`GET /platform/embedded`); its page frames the
//! hosted fields (`/embedded/frame`, with `fields.js` as the page's library), hands the key to
//! the frame by `postMessage`, and the frame posts the card to `/embedded/tokenize` with the key
//! as its only credential. The answer is a single-use token (`card_id`), which the page hands
//! on; the number and CVV never reach the page. A key tokenizes one card; it ends
//! [`Lifetime::idle`] after it was made or after its last declined card, at most
//! [`Lifetime::max`] after it was made, and after [`MAX_DECLINES`] declined cards.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::qualpay::{EmbeddedKey, PgRequest};
use crate::secret::Secret;
use crate::vault::crypto::random_alphanumeric;
use crate::vault::domain::card::{CardNumber, Cvv, ExpDate};
use crate::vault::error::VaultError;
use crate::vault::payments::{PaymentService, time_text};
use crate::vault::processor::{self, Authorization, Outcome};
use crate::vault::store::payments::{EmbeddedKeyRow, PaymentStore};

/// Declined cards after which a transient key no longer tokenizes.
pub const MAX_DECLINES: i64 = 3;

/// The hosted fields page; `{{PARENT_ORIGINS}}` becomes the origins allowed to frame it.
pub const FRAME_HTML: &str = include_str!("embedded/frame.html");
pub const FRAME_JS: &str = include_str!("embedded/frame.js");
pub const FRAME_CSS: &str = include_str!("embedded/frame.css");
/// The library a merchant's page loads to frame the fields (`VaultqlFields.loadFrame`).
pub const FIELDS_JS: &str = include_str!("embedded/fields.js");

/// How long transient keys live (`--embedded-key-idle-minutes`, `--embedded-key-max-hours`).
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub idle: Duration,
    pub max: Duration,
}

/// What the embedded fields need from the vault's settings.
#[derive(Debug, Clone)]
pub struct EmbeddedSettings {
    pub lifetime: Lifetime,
    /// Page origins allowed to frame the fields, besides the vault's own.
    pub origins: Vec<String>,
}

/// `db_timestamp` and `expiry_time` as the spec writes them: `2016-02-21T12:57:47.000-0700`.
fn spec_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

fn digest(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Makes a transient key for the merchant.
pub async fn issue(
    store: &dyn PaymentStore,
    lifetime: Lifetime,
    merchant_id: i64,
    now: DateTime<Utc>,
) -> Result<EmbeddedKey, VaultError> {
    let key = random_alphanumeric(32);
    let expires = now + lifetime.idle.min(lifetime.max);
    store
        .insert_embedded_key(&EmbeddedKeyRow {
            key_digest: digest(&key),
            merchant_id,
            created_at: time_text(now),
            expires_at: time_text(expires),
            ends_at: time_text(now + lifetime.max),
            declines: 0,
            used_at: None,
        })
        .await?;
    Ok(EmbeddedKey {
        transient_key: Some(key),
        merchant_id: Some(merchant_id),
        db_timestamp: Some(spec_time(now)),
        expiry_time: Some(spec_time(expires)),
    })
}

/// What the fields post to `/embedded/tokenize`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenizeRequest {
    #[serde(default)]
    pub transient_key: Option<Secret<String>>,
    #[serde(default)]
    pub card_number: Option<Secret<String>>,
    #[serde(default)]
    pub exp_date: Option<String>,
    #[serde(default)]
    pub cvv2: Option<Secret<String>>,
    #[serde(default)]
    pub avs_zip: Option<String>,
}

/// The single-use token the fields hand to the page.
#[derive(Debug, serde::Serialize)]
pub struct Tokenized {
    pub card_id: String,
    pub card_type: String,
    pub last4: String,
    pub exp_date: String,
}

/// Why a tokenization was refused; `code` is what the fields and the page switch on.
#[derive(Debug, serde::Serialize)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    /// The field at fault, for `invalid_card`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// The processor's response code, for `declined`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<&'static str>,
}

impl Refusal {
    pub fn key_invalid() -> Self {
        Self {
            code: "key_invalid",
            message: "The card form has expired: reload it and try again.".to_owned(),
            field: None,
            rcode: None,
        }
    }

    pub fn origin_refused() -> Self {
        Self {
            code: "origin_refused",
            message: "Cards are accepted only from the vault's own card fields.".to_owned(),
            field: None,
            rcode: None,
        }
    }

    fn invalid(field: &'static str, message: impl ToString) -> Self {
        Self {
            code: "invalid_card",
            message: message.to_string(),
            field: Some(field),
            rcode: None,
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> u16 {
        match self.code {
            "key_invalid" => 401,
            "origin_refused" => 403,
            "declined" => 402,
            "internal" => 500,
            _ => 400,
        }
    }
}

impl From<VaultError> for Refusal {
    fn from(error: VaultError) -> Self {
        if let VaultError::Internal(cause) = &error {
            tracing::error!(%cause, "internal error");
        }
        Self {
            code: "internal",
            message: "Internal error".to_owned(),
            field: None,
            rcode: None,
        }
    }
}

/// Tokenizes one card with a transient key: claims the key, checks and verifies the card (its
/// CVV and zip are used here and dropped), and stores it as a single-use token. A refused card
/// gives the key back (a decline counts against it).
pub async fn tokenize(
    store: &dyn PaymentStore,
    payments: &PaymentService,
    lifetime: Lifetime,
    request: TokenizeRequest,
    clock: &crate::vault::clock::Clock,
) -> Result<Tokenized, Refusal> {
    let Some(key) = request.transient_key.as_ref().map(|k| digest(k.expose())) else {
        return Err(Refusal::key_invalid());
    };
    // Keys live by their merchant's clock (the sandbox's offset included).
    let Some(merchant_id) = store
        .embedded_key_merchant(&key)
        .await
        .map_err(VaultError::from)?
    else {
        return Err(Refusal::key_invalid());
    };
    let now = clock.now(merchant_id).await?;
    if store
        .claim_embedded_key(&key, &time_text(now), MAX_DECLINES)
        .await
        .map_err(VaultError::from)?
        .is_none()
    {
        return Err(Refusal::key_invalid());
    }
    let outcome = check_and_verify(&request, now);
    match outcome {
        Ok((number, exp)) => {
            let tokenized = payments
                .tokenize(
                    merchant_id,
                    PgRequest {
                        card_number: Some(Secret::new(number.expose().to_owned())),
                        exp_date: Some(exp.to_mmyy()),
                        avs_zip: request.avs_zip.clone(),
                        single_use: Some(true),
                        ..PgRequest::default()
                    },
                    now,
                )
                .await;
            match tokenized {
                Ok(reply) => Ok(Tokenized {
                    card_id: reply.body.card_id.unwrap_or_default(),
                    card_type: number.brand().code().to_owned(),
                    last4: number.last4().to_owned(),
                    exp_date: exp.to_mmyy(),
                }),
                Err(error) => {
                    release(store, &key, false, now, lifetime).await?;
                    tracing::error!(rcode = error.rcode, "embedded tokenization failed");
                    Err(VaultError::Internal("tokenization failed".into()).into())
                }
            }
        }
        Err(refusal) => {
            release(store, &key, refusal.code == "declined", now, lifetime).await?;
            Err(refusal)
        }
    }
}

async fn release(
    store: &dyn PaymentStore,
    key: &[u8],
    declined: bool,
    now: DateTime<Utc>,
    lifetime: Lifetime,
) -> Result<(), Refusal> {
    store
        .release_embedded_key(key, declined, &time_text(now + lifetime.idle))
        .await
        .map_err(VaultError::from)?;
    Ok(())
}

/// Checks the card's fields and verifies it with the test processor (zero amount, with the
/// CVV and zip).
fn check_and_verify(
    request: &TokenizeRequest,
    now: DateTime<Utc>,
) -> Result<(CardNumber, ExpDate), Refusal> {
    let number = request
        .card_number
        .as_ref()
        .ok_or_else(|| Refusal::invalid("card_number", "Enter the card number."))?;
    let number =
        CardNumber::parse(number.expose()).map_err(|e| Refusal::invalid("card_number", e))?;
    let exp = request
        .exp_date
        .as_deref()
        .ok_or_else(|| Refusal::invalid("exp_date", "Enter the expiry date."))?;
    let exp = ExpDate::parse(exp).map_err(|e| Refusal::invalid("exp_date", e))?;
    if exp.is_expired(now.date_naive()) {
        return Err(Refusal::invalid("exp_date", "The card has expired."));
    }
    let cvv = match &request.cvv2 {
        Some(cvv) => Some(
            Cvv::parse(cvv.expose(), Some(number.brand()))
                .map_err(|e| Refusal::invalid("cvv2", e))?,
        ),
        None => None,
    };
    if let Some(zip) = &request.avs_zip
        && (zip.is_empty() || zip.chars().count() > 9 || zip.chars().any(char::is_control))
    {
        return Err(Refusal::invalid(
            "avs_zip",
            "Enter a postal code of up to 9 characters.",
        ));
    }
    let verified = processor::authorize(&Authorization {
        card_number: number.expose(),
        exp_date: Some(&exp.to_mmyy()),
        cvv: cvv.as_ref().map(Cvv::expose),
        avs_zip: request.avs_zip.as_deref(),
        avs_address: None,
        amount: 0,
        partial_auth: false,
        today: now.date_naive(),
    });
    match verified.outcome {
        Outcome::Approved => Ok((number, exp)),
        Outcome::Declined {
            response_code,
            message,
        } => Err(Refusal {
            code: "declined",
            message: format!("The card was declined: {message}."),
            field: None,
            rcode: Some(response_code),
        }),
    }
}
