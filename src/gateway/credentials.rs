//! Who a GraphQL request acts for. Every `/graphql` request carries a credential in its
//! `Authorization` header (never in the query string or a cookie), checked before anything in
//! the request is parsed:
//!
//! - a **secret key**: the caller's own Qualpay API key, sent as Qualpay takes it (HTTP Basic,
//!   the key as user name, an empty password). The gateway passes it through to the upstream
//!   with each REST call of that request, and the upstream decides which merchant it is: one
//!   gateway serves many merchants, each seeing only its own data.
//!
//! The gateway's own key (`--upstream-api-key`) never serves a GraphQL request.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::http::Unauthenticated;
use crate::secret::Secret;

/// Longest API key accepted; Qualpay's are 32 characters.
const MAX_KEY_LEN: usize = 256;

/// The secret key of a request's `Authorization: Basic` header.
pub fn secret_key(headers: &HeaderMap) -> Result<Secret<String>, Unauthenticated> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(Unauthenticated(
            "every request needs one Authorization header: Basic, with the API key as user name \
             and an empty password",
        ));
    };
    let malformed = Unauthenticated(
        "the Authorization header must be Basic, with the API key as user name and an empty \
         password",
    );
    let value = value.to_str().map_err(|_| malformed)?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed);
    }
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
