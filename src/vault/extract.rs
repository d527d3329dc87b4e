//! Request extractors that turn every malformed input into the vault's own error envelope.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::vault::error::VaultError;

/// A JSON body. Unlike `axum::Json` it ignores the content type (Qualpay clients always send
/// JSON), answers malformed JSON and wrong types with a 400 naming the field, and never echoes
/// the offending value (it could be a card number).
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = VaultError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body the operation may go without: an empty body is `None`, anything else must be
/// the JSON object [`JsonBody`] takes.
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = VaultError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        parse_json(&bytes).map(|value| Self(Some(value)))
    }
}

/// The whole body, within the configured limit.
pub(crate) async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Bytes, VaultError> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map(|limit| limit.0)
        .unwrap_or_default();
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            VaultError::PayloadTooLarge(limit)
        } else {
            VaultError::invalid("request body could not be read")
        }
    })
}

/// The configured body limit, put in the request extensions so error messages can quote it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, VaultError> {
    // Every request body of the API is an object; serde would also take an array for a struct.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(VaultError::invalid("request body must be a JSON object"));
    }
    if holds_escaped_nul(bytes) {
        return Err(VaultError::invalid(NUL_REFUSED));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let problem = describe(&inner);
        if path.is_empty() || path == "." {
            VaultError::invalid(format!("request body: {problem}"))
        } else {
            VaultError::invalid(format!("{path}: {problem}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|_| VaultError::invalid("request body: unexpected text after the JSON object"))?;
    Ok(value)
}

const NUL_REFUSED: &str =
    "the request holds a NUL character (\\u0000 or %00), which no field may hold";

/// Whether a JSON text escapes a NUL character (`\u0000`) in a string: no field may hold one
/// (PostgreSQL cannot store it in text, and no Qualpay field means it), so it is refused at
/// the edge on every backend alike. A raw NUL byte is already malformed JSON.
fn holds_escaped_nul(json: &[u8]) -> bool {
    json.windows(6).enumerate().any(|(at, window)| {
        // `\\u0000` is a backslash and the text `u0000`: the escape counts only after an odd
        // number of backslashes.
        window == b"\\u0000"
            && json[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

/// Refuses a request whose path or query holds an encoded NUL character (`%00`), for the
/// reason [`holds_escaped_nul`] gives, before any handler reads it.
pub async fn refuse_nul_characters(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = request.uri();
    let encoded_nul = |text: &str| text.contains("%00");
    if encoded_nul(uri.path()) || uri.query().is_some_and(encoded_nul) {
        return VaultError::invalid(NUL_REFUSED).into_response();
    }
    next.run(request).await
}

/// Says what is wrong without quoting the value: serde's messages quote it
/// (``invalid type: integer `4111111111111111`, expected a string``).
fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof => format!(
            "malformed JSON at line {} column {}",
            error.line(),
            error.column()
        ),
        Category::Io => "could not be read".to_owned(),
        Category::Data => {
            let message = error.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned();
            if let Some(field) = message.strip_prefix("missing field ") {
                return format!("missing required field {field}");
            }
            match message.find(", expected") {
                Some(at) => {
                    let kind = message[..at].split(':').next().unwrap_or("invalid value");
                    let expected = match &message[at..] {
                        ", expected i64" | ", expected i32" | ", expected u64" => {
                            ", expected an integer"
                        }
                        other => other,
                    };
                    format!("{kind}{expected}")
                }
                None => "has an invalid value".to_owned(),
            }
        }
    }
}

/// The query string as ordered name/value pairs; `filter` may repeat.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = VaultError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(QueryPairs(
            form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        ))
    }
}

impl QueryPairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// An optional integer parameter, with a 400 naming it when it isn't one.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, VaultError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| VaultError::invalid(format!("{name}: must be an integer")))
            })
            .transpose()
    }

    /// An optional `int32` parameter (as the spec types `count` and `page`), with a 400 naming
    /// it when it isn't one.
    pub fn int32(&self, name: &str) -> Result<Option<i64>, VaultError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.trim().parse::<i32>().map(i64::from).map_err(|_| {
                    VaultError::invalid(format!(
                        "{name}: must be an integer from {} to {}",
                        i32::MIN,
                        i32::MAX
                    ))
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        card: Option<Card>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Card {
        number: String,
    }

    fn message(body: &str) -> String {
        parse_json::<Body>(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn wrong_types_name_the_field_and_never_quote_the_value() {
        let text = message(r#"{"card":{"number":4111111111111111}}"#);
        assert!(text.contains("card.number"), "{text}");
        assert!(text.contains("expected a string"), "{text}");
        assert!(!text.contains("4111111111111111"), "{text}");
        let text = message(r#"{"name":"4111111111111111x","card":{"number":false}}"#);
        assert!(!text.contains("4111111111111111"), "{text}");
    }

    #[test]
    fn an_escaped_nul_character_is_refused_and_an_escaped_backslash_before_u0000_is_not() {
        let nul = br#"{"customer_id": "a\u0000b"}"#;
        assert!(holds_escaped_nul(nul));
        assert!(holds_escaped_nul(br#"{"a": "\\\u0000"}"#));
        assert!(!holds_escaped_nul(br#"{"customer_id": "a\\u0000b"}"#));
        assert!(!holds_escaped_nul(br#"{"customer_id": "u0000"}"#));
        let error = parse_json::<serde_json::Value>(nul)
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(error, VaultError::Validation(_)), "{error:?}");
    }

    #[test]
    fn malformed_json_says_where() {
        assert!(message("{\"name\": ").contains("malformed JSON"));
        assert!(message("").contains("JSON object"));
        assert!(message("[]").contains("JSON object"));
        assert!(message(r#"{"name":"a"} trailing"#).contains("after the JSON object"));
    }
}
