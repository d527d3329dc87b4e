//! Customer session tokens: what a merchant's backend hands a browser or app so it can act for
//! one signed-in customer, and no more.
//!
//! A token is `vqs1.<key id>.<claims>.<mac>`: the version prefix, the id of the signing key,
//! the claims as base64url JSON, and HMAC-SHA256 over everything before the last dot, as
//! base64url. There is one algorithm and no header to choose another. A token is checked in
//! this order: its length, its shape and prefix, its key id, its MAC (compared in constant
//! time), and only then are its claims parsed; then their lifetime.
//!
//! The signing keys come from a key file (`--session-keys-file`, made on first start like the
//! vault's master key): one key per line, `<key id> <base64 of 32 bytes>`. The first line
//! signs; every line verifies, so a key is rotated by putting a new line first and removing the
//! old one once its tokens have expired (an hour at most).

use std::collections::HashMap;
use std::path::Path;

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as BASE64URL};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::private_files;

/// What a customer session may do; nothing is granted unless it is listed when the session is
/// made.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(name = "SessionPermission")]
pub enum Permission {
    /// Names, email, phone, reference and comments of the customer.
    ReadProfile,
    /// `updateCustomer`.
    UpdateProfile,
    /// Cards and bank accounts (masked), also where a subscription or payment links to one.
    ReadPaymentMethods,
    /// `addCard`, `addBankAccount`, `updateCard`.
    AddPaymentMethod,
    /// `removeCard`.
    RemovePaymentMethod,
    /// `setPrimaryCard`.
    SetPrimaryPaymentMethod,
    ReadShippingAddresses,
    /// Add, change, remove and choose the primary shipping address.
    ManageShippingAddresses,
    /// The customer's subscriptions and their payment attempts.
    ReadSubscriptions,
    /// Create, change, pause, resume and cancel the customer's subscriptions.
    ManageSubscriptions,
    /// The customer's payments (`Customer.payments`, `payment(pgId:)` and `node` for its own),
    /// with their refunds. A session can never charge, capture, void, refund or verify.
    ReadPayments,
}

/// The version prefix of every token.
const PREFIX: &str = "vqs1";
/// Longest token looked at; anything longer is refused unread.
pub const MAX_TOKEN_LEN: usize = 2048;
/// Longest lifetime a token may have.
pub const MAX_LIFETIME: Duration = Duration::seconds(3600);
/// Lifetime when the minting call does not say.
pub const DEFAULT_LIFETIME: Duration = Duration::seconds(900);
/// How far in the future a token's issue time may be (gateway processes' clocks differ a little).
const CLOCK_SKEW: Duration = Duration::seconds(5);
const KEY_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// What a session allows: one customer of one merchant, and these permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// The merchant (Qualpay's `merchant_id`, the customer record's `node_id`).
    #[serde(rename = "mid")]
    pub merchant_id: i64,
    #[serde(rename = "cid")]
    pub customer_id: String,
    #[serde(rename = "perm")]
    pub permissions: Vec<Permission>,
    #[serde(rename = "iat")]
    pub issued_at: i64,
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

impl Session {
    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    pub fn expires(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_at, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// Why a token was refused. The reasons are for tests and logs; callers all answer 401 alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the session token is malformed")]
    Malformed,
    #[error("the session token was signed with an unknown key")]
    UnknownKey,
    #[error("the session token's signature does not match")]
    BadSignature,
    #[error("the session token has expired")]
    Expired,
    #[error("the session token is not valid yet")]
    NotYetValid,
    #[error("the session token lives longer than sessions may")]
    TooLong,
}

/// The keys that sign and verify session tokens.
pub struct SessionKeys {
    /// The id of the key that signs.
    signing: String,
    keys: HashMap<String, Zeroizing<[u8; KEY_LEN]>>,
}

impl SessionKeys {
    /// Reads the key file, making it with one fresh key when there is none.
    pub fn load_or_create(path: &Path) -> anyhow::Result<SessionKeys> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text)
                .with_context(|| format!("the session key file {} is unusable", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate();
                if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    private_files::create_dir(dir)?;
                }
                private_files::write(path, keys.to_file_text().as_bytes())?;
                Ok(keys)
            }
            Err(error) => Err(error)
                .with_context(|| format!("could not read the session key file {}", path.display())),
        }
    }

    /// One fresh random key.
    pub fn generate() -> SessionKeys {
        let mut id = [0u8; 4];
        OsRng.fill_bytes(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(key.as_mut());
        SessionKeys {
            signing: id.clone(),
            keys: HashMap::from([(id, key)]),
        }
    }

    /// Keys from the key file's text: `<id> <base64 key>` per line, `#` comments; the first
    /// key signs.
    pub fn parse(text: &str) -> anyhow::Result<SessionKeys> {
        let mut signing = None;
        let mut keys = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let number = number + 1;
            let (id, encoded) = line
                .split_once(char::is_whitespace)
                .with_context(|| format!("line {number}: expected `<key id> <base64 key>`"))?;
            if id.is_empty()
                || id.len() > 32
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                anyhow::bail!("line {number}: a key id is 1 to 32 letters, digits or dashes");
            }
            let bytes = Zeroizing::new(
                STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .with_context(|| format!("line {number}: the key is not base64"))?,
            );
            let key: [u8; KEY_LEN] = bytes.as_slice().try_into().ok().with_context(|| {
                format!("line {number}: a key is {KEY_LEN} bytes (base64 of 32 random bytes)")
            })?;
            if keys.insert(id.to_owned(), Zeroizing::new(key)).is_some() {
                anyhow::bail!("line {number}: the key id {id} is used twice");
            }
            signing.get_or_insert_with(|| id.to_owned());
        }
        let signing = signing.context("there is no key in it")?;
        Ok(SessionKeys { signing, keys })
    }

    fn to_file_text(&self) -> String {
        let mut text = String::from(
            "# vaultql customer session keys: `<key id> <base64 key>`; the first line signs.\n",
        );
        text.push_str(&self.signing);
        text.push(' ');
        text.push_str(&STANDARD.encode(self.keys[&self.signing].as_ref()));
        text.push('\n');
        text
    }

    /// A token for `session`, signed with the signing key.
    pub fn mint(&self, session: &Session) -> String {
        let claims = serde_json::to_vec(session).expect("claims serialize");
        let signed = format!("{PREFIX}.{}.{}", self.signing, BASE64URL.encode(claims));
        let mac = self.mac(&self.signing, signed.as_bytes());
        format!("{signed}.{}", BASE64URL.encode(mac))
    }

    /// The session a token stands for, at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Session, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (signed, mac) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let mut parts = signed.split('.');
        let (Some(PREFIX), Some(key_id), Some(claims), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let key = self.keys.get(key_id).ok_or(TokenError::UnknownKey)?;
        let mac = BASE64URL.decode(mac).map_err(|_| TokenError::Malformed)?;
        let mut check = HmacSha256::new_from_slice(key.as_ref()).expect("any key length");
        check.update(signed.as_bytes());
        check
            .verify_slice(&mac)
            .map_err(|_| TokenError::BadSignature)?;
        // Only a token this gateway signed gets this far.
        let claims = BASE64URL
            .decode(claims)
            .map_err(|_| TokenError::Malformed)?;
        let session: Session =
            serde_json::from_slice(&claims).map_err(|_| TokenError::Malformed)?;
        let now = now.timestamp();
        if session.expires_at - session.issued_at > MAX_LIFETIME.num_seconds() {
            return Err(TokenError::TooLong);
        }
        if session.issued_at > now + CLOCK_SKEW.num_seconds() {
            return Err(TokenError::NotYetValid);
        }
        if session.expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(session)
    }

    fn mac(&self, key_id: &str, bytes: &[u8]) -> Vec<u8> {
        let mut mac =
            HmacSha256::new_from_slice(self.keys[key_id].as_ref()).expect("any key length");
        mac.update(bytes);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("a time")
    }

    const NOW: i64 = 1_900_000_000;

    fn session(issued_at: i64, lifetime: i64) -> Session {
        Session {
            merchant_id: 1001,
            customer_id: "ALICE".into(),
            permissions: vec![Permission::ReadProfile, Permission::ReadPaymentMethods],
            issued_at,
            expires_at: issued_at + lifetime,
        }
    }

    fn keys() -> SessionKeys {
        SessionKeys::parse(&format!(
            "# test\nnew {}\nold {}\n",
            STANDARD.encode([7u8; 32]),
            STANDARD.encode([9u8; 32])
        ))
        .expect("keys")
    }

    #[test]
    fn a_token_round_trips_until_it_expires() {
        let keys = keys();
        let session = session(NOW, 900);
        let token = keys.mint(&session);
        assert!(token.starts_with("vqs1.new."), "{token}");
        assert_eq!(keys.verify(&token, at(NOW)), Ok(session.clone()));
        assert_eq!(keys.verify(&token, at(NOW + 899)), Ok(session));
        assert_eq!(keys.verify(&token, at(NOW + 900)), Err(TokenError::Expired));
    }

    #[test]
    fn tokens_of_every_listed_key_verify_and_unknown_keys_do_not() {
        let keys = keys();
        let old_only =
            SessionKeys::parse(&format!("old {}\n", STANDARD.encode([9u8; 32]))).expect("keys");
        let old_token = old_only.mint(&session(NOW, 60));
        assert!(keys.verify(&old_token, at(NOW)).is_ok());
        let other = SessionKeys::generate();
        assert_eq!(
            keys.verify(&other.mint(&session(NOW, 60)), at(NOW)),
            Err(TokenError::UnknownKey)
        );
        let renamed = old_token.replacen("vqs1.old.", "vqs1.new.", 1);
        assert_eq!(
            keys.verify(&renamed, at(NOW)),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn lifetimes_outside_the_rules_are_refused() {
        let keys = keys();
        let early = keys.mint(&session(NOW + 60, 60));
        assert_eq!(keys.verify(&early, at(NOW)), Err(TokenError::NotYetValid));
        let long = keys.mint(&session(NOW, 3601));
        assert_eq!(keys.verify(&long, at(NOW)), Err(TokenError::TooLong));
        let hour = keys.mint(&session(NOW, 3600));
        assert!(keys.verify(&hour, at(NOW)).is_ok());
    }

    #[test]
    fn wrong_prefixes_truncations_and_paddings_are_refused() {
        let keys = keys();
        let token = keys.mint(&session(NOW, 60));
        let mut refused = vec![
            String::new(),
            ".".into(),
            token.replacen("vqs1", "vqs2", 1),
            token.replacen("vqs1.", "", 1),
            format!("x{token}"),
            format!("{token}="),
            format!("{token}.x"),
            format!("{token} "),
            token[..token.len() - 1].to_owned(),
            "a".repeat(MAX_TOKEN_LEN + 1),
        ];
        for cut in 1..token.len() {
            refused.push(token[..cut].to_owned());
        }
        for bad in refused {
            assert!(keys.verify(&bad, at(NOW)).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_files_are_checked() {
        let key = STANDARD.encode([1u8; 32]);
        for bad in [
            String::new(),
            "# only a comment\n".to_owned(),
            format!("{key}\n"),
            format!("a {}\n", STANDARD.encode([1u8; 16])),
            format!("a {key}\na {key}\n"),
            format!("a.b {key}\n"),
            "a !!!\n".to_owned(),
        ] {
            assert!(SessionKeys::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("keys");
        let made = SessionKeys::load_or_create(&path).expect("made");
        let read = SessionKeys::load_or_create(&path).expect("read");
        let token = made.mint(&session(NOW, 60));
        assert!(read.verify(&token, at(NOW)).is_ok());
    }

    proptest! {
        #[test]
        fn any_single_changed_byte_is_refused(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let keys = keys();
            let token = keys.mint(&session(NOW, 600));
            let mut bytes = token.clone().into_bytes();
            let at_index = position.index(bytes.len());
            prop_assume!(bytes[at_index] != byte);
            bytes[at_index] = byte;
            let changed = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(keys.verify(&changed, at(NOW)).is_err(), "{}", changed);
        }
    }
}
