//! Who a GraphQL request acts for. Every `/graphql` request carries a credential in its
//! `Authorization` header (never in the query string or a cookie), checked before anything in
//! the request is parsed:
//!
//! - a **secret key**: the caller's own Qualpay API key, sent as Qualpay takes it (HTTP Basic,
//!   the key as user name, an empty password). The gateway passes it through to the upstream
//!   with each REST call of that request, and the upstream decides which merchant it is: one
//!   gateway serves many merchants, each seeing only its own data.
//! - a **customer session token** (`Bearer`), made by `createCustomerSession` for one customer
//!   (see [`super::session`]). The gateway acts for it with its own service key
//!   (`--upstream-api-key`), confined to that merchant and customer.
//!
//! The gateway's own key never serves a GraphQL request by itself.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};

use super::http::Unauthenticated;
use super::session::{Session, SessionKeys};
use crate::secret::Secret;

/// Longest API key accepted; Qualpay's are 32 characters.
const MAX_KEY_LEN: usize = 256;

/// A request's verified credential.
pub enum Credential {
    SecretKey(Secret<String>),
    Session(Session),
}

/// The credential of a request's one `Authorization` header: a secret key (Basic) or a session
/// token (Bearer) that `sessions` signed and that is valid at `now`.
pub fn credential(
    headers: &HeaderMap,
    sessions: &SessionKeys,
    now: DateTime<Utc>,
) -> Result<Credential, Unauthenticated> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(Unauthenticated(
            "every request needs one Authorization header: Basic with a secret key as user name \
             and an empty password, or Bearer with a customer session token",
        ));
    };
    let malformed = Unauthenticated(
        "the Authorization header must be Basic, with the API key as user name and an empty \
         password, or Bearer with a customer session token",
    );
    let value = value.to_str().map_err(|_| malformed)?;
    let (scheme, rest) = value.trim().split_once(' ').ok_or(malformed)?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return sessions
            .verify(rest.trim(), now)
            .map(Credential::Session)
            .map_err(|_| {
                Unauthenticated(
                    "the customer session token is not valid (malformed, altered, expired or \
                     signed with a retired key): ask the merchant's server for a new one",
                )
            });
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed);
    }
    secret_key(rest, malformed).map(Credential::SecretKey)
}

/// The key of a Basic credential's `encoded` part.
fn secret_key(
    encoded: &str,
    malformed: Unauthenticated,
) -> Result<Secret<String>, Unauthenticated> {
    let decoded = Secret::new(BASE64.decode(encoded.trim()).map_err(|_| malformed)?);
    let text = std::str::from_utf8(decoded.expose()).map_err(|_| malformed)?;
    let Some((key, "")) = text.split_once(':') else {
        return Err(malformed);
    };
    let printable = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_KEY_LEN || !printable {
        return Err(malformed);
    }
    Ok(Secret::new(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn secret_key(headers: &HeaderMap) -> Result<Secret<String>, Unauthenticated> {
        match credential(headers, &SessionKeys::generate(), DateTime::UNIX_EPOCH)? {
            Credential::SecretKey(key) => Ok(key),
            Credential::Session(_) => Err(Unauthenticated("a session")),
        }
    }

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn a_basic_key_with_an_empty_password_is_the_only_form_taken() {
        let basic = |text: &str| format!("Basic {}", BASE64.encode(text));
        let key = secret_key(&with(&[&basic("abc123:")])).expect("a key");
        assert_eq!(key.expose(), "abc123");
        assert!(secret_key(&with(&[&format!("basic {}", BASE64.encode("k:"))])).is_ok());
        for refused in [
            vec![],
            vec![basic("abc123:pw")],
            vec![basic("abc123")],
            vec![basic(":")],
            vec![basic("a b:")],
            vec![basic(&format!("{}:", "k".repeat(MAX_KEY_LEN + 1)))],
            vec!["Bearer abc123".to_owned()],
            vec!["Basic !!!".to_owned()],
            vec!["Basic".to_owned()],
            vec![basic("abc123:"), basic("abc123:")],
        ] {
            let values: Vec<&str> = refused.iter().map(String::as_str).collect();
            assert!(secret_key(&with(&values)).is_err(), "{refused:?}");
        }
    }
}
