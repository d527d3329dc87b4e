//! API keys, as Qualpay does them: HTTP Basic with the key as user name and an empty password.
//! Each key belongs to one merchant and may be allowed to act for others via `merchant_id`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::config::ApiKeySpec;
use crate::vault::error::VaultError;
use crate::vault::extract::QueryPairs;

/// Known keys, held only as SHA-256 digests so a lookup's timing says nothing about a key.
#[derive(Clone, Default)]
pub struct ApiKeys {
    by_digest: Arc<HashMap<[u8; 32], KeyGrant>>,
}

#[derive(Debug, Clone)]
struct KeyGrant {
    merchant_id: i64,
    acts_for: Vec<i64>,
}

impl ApiKeys {
    pub fn new(specs: &[ApiKeySpec]) -> Self {
        let by_digest = specs
            .iter()
            .map(|spec| {
                (
                    digest(&spec.key),
                    KeyGrant {
                        merchant_id: spec.merchant_id,
                        acts_for: spec.acts_for.clone(),
                    },
                )
            })
            .collect();
        Self {
            by_digest: Arc::new(by_digest),
        }
    }

    fn grant(&self, key: &str) -> Option<&KeyGrant> {
        self.by_digest.get(&digest(key))
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The authenticated caller of a request: the key's merchant, the merchants it may act for,
/// and the `merchant_id` query parameter if one was sent.
#[derive(Debug, Clone)]
pub struct Caller {
    grant: KeyGrant,
    query_merchant_id: Option<i64>,
}

impl Caller {
    /// The merchant a request acts on: `merchant_id` from the body or else the query; absent or
    /// 0 means the key's own merchant. Any other merchant needs the key's permission.
    pub fn merchant_id(&self, body_merchant_id: Option<i64>) -> Result<i64, VaultError> {
        let requested = body_merchant_id
            .filter(|id| *id != 0)
            .or(self.query_merchant_id.filter(|id| *id != 0));
        match requested {
            None => Ok(self.grant.merchant_id),
            Some(id) if id == self.grant.merchant_id || self.grant.acts_for.contains(&id) => Ok(id),
            Some(id) => Err(VaultError::ForbiddenMerchant(id)),
        }
    }
}

/// Anything that can hand out the key registry (the vault's router state).
pub trait HasApiKeys {
    fn api_keys(&self) -> &ApiKeys;
}

impl<S: HasApiKeys + Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = VaultError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(basic_user)
            .ok_or(VaultError::Unauthorized)?;
        let grant = state
            .api_keys()
            .grant(&key)
            .ok_or(VaultError::Unauthorized)?
            .clone();
        let query = QueryPairs::from_request_parts(parts, state).await?;
        Ok(Caller {
            grant,
            query_merchant_id: query.integer("merchant_id")?,
        })
    }
}

/// The user name of a `Basic` authorization header; the password is ignored, as Qualpay does.
fn basic_user(header: &str) -> Option<String> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    (!user.is_empty()).then(|| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_headers_yield_the_user_name() {
        let header = format!("Basic {}", BASE64.encode("key123:"));
        assert_eq!(basic_user(&header).as_deref(), Some("key123"));
        let header = format!("basic {}", BASE64.encode("key123"));
        assert_eq!(basic_user(&header).as_deref(), Some("key123"));
        assert_eq!(basic_user("Bearer abc"), None);
        assert_eq!(basic_user("Basic !!!"), None);
        assert_eq!(basic_user(&format!("Basic {}", BASE64.encode(":pw"))), None);
    }

    #[test]
    fn merchant_id_zero_or_absent_is_the_keys_own() {
        let keys = ApiKeys::new(&["k:1001:2002".parse().unwrap()]);
        let grant = keys.grant("k").unwrap().clone();
        let caller = Caller {
            grant,
            query_merchant_id: Some(0),
        };
        assert_eq!(caller.merchant_id(None).unwrap(), 1001);
        assert_eq!(caller.merchant_id(Some(0)).unwrap(), 1001);
        assert_eq!(caller.merchant_id(Some(2002)).unwrap(), 2002);
        assert!(matches!(
            caller.merchant_id(Some(3003)),
            Err(VaultError::ForbiddenMerchant(3003))
        ));
        assert!(keys.grant("other").is_none());
    }
}
