//! Redaction of text that may carry a secret the caller sent: error messages that quote input,
//! and request paths on their way into the log.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// Digit runs this long (their groups may be split by single spaces or dashes) look like card
/// or account numbers, which no error message or log line may carry.
pub const CARD_LIKE_DIGITS: usize = 12;

/// Replaces each run of at least `min_digits` digits with `[REDACTED]`. A run goes on across a
/// single space or dash between digits, as card numbers are written (`4111 1111 1111 1111`).
pub fn redact_digits(message: &str, min_digits: usize) -> Cow<'_, str> {
    let bytes = message.as_bytes();
    let mut scrubbed = String::new();
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = 0;
        loop {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                digits += 1;
                i += 1;
            }
            let joined = i + 1 < bytes.len()
                && matches!(bytes[i], b' ' | b'-')
                && bytes[i + 1].is_ascii_digit();
            if !joined {
                break;
            }
            i += 1;
        }
        if digits >= min_digits {
            scrubbed.push_str(&message[copied..start]);
            scrubbed.push_str("[REDACTED]");
            copied = i;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(message);
    }
    scrubbed.push_str(&message[copied..]);
    Cow::Owned(scrubbed)
}

/// `path` as it may be logged: a segment that holds a card-like run of digits, percent-encoded
/// or not, is replaced by `[REDACTED]`.
pub fn redacted_path(path: &str) -> Cow<'_, str> {
    let card_like = |segment: &str| {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        matches!(redact_digits(&decoded, CARD_LIKE_DIGITS), Cow::Owned(_))
    };
    if !path.split('/').any(card_like) {
        return Cow::Borrowed(path);
    }
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            if card_like(segment) {
                "[REDACTED]"
            } else {
                segment
            }
        })
        .collect();
    Cow::Owned(segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_like_digit_runs_are_redacted_however_they_are_grouped() {
        let card = |message| redact_digits(message, CARD_LIKE_DIGITS);
        assert_eq!(card("card 4111111111111111!"), "card [REDACTED]!");
        assert_eq!(card("card 4111 1111 1111 1111."), "card [REDACTED].");
        assert_eq!(card("4111-1111-1111-1111"), "[REDACTED]");
        assert_eq!(card("123456789012"), "[REDACTED]");
        assert_eq!(card("a 12345678901 b"), "a 12345678901 b");
        assert_eq!(
            card("limit 65536 bytes, 100 aliases"),
            "limit 65536 bytes, 100 aliases"
        );
        assert_eq!(card("é 1234567890123 é"), "é [REDACTED] é");
        assert_eq!(
            card("ends in digits 1234 5678 9012"),
            "ends in digits [REDACTED]"
        );
    }

    #[test]
    fn echoed_values_lose_every_run_of_three_digits() {
        let echo = |message| redact_digits(message, 3);
        assert_eq!(echo(r#"found "737"."#), r#"found "[REDACTED]"."#);
        assert_eq!(echo("found 1234, expected"), "found [REDACTED], expected");
        assert_eq!(
            echo(r#"field "address1", line 12"#),
            r#"field "address1", line 12"#
        );
    }

    #[test]
    fn paths_lose_segments_that_hold_card_numbers() {
        assert_eq!(
            redacted_path("/platform/vault/customer/4111111111111111/billing"),
            "/platform/vault/customer/[REDACTED]/billing"
        );
        assert_eq!(
            redacted_path("/platform/vault/customer/4111%201111%201111%201111"),
            "/platform/vault/customer/[REDACTED]"
        );
        assert_eq!(redacted_path("/x/4111-1111-1111-1111;v=1"), "/x/[REDACTED]");
        assert_eq!(
            redacted_path("/platform/plan/12/delete"),
            "/platform/plan/12/delete"
        );
        assert!(matches!(redacted_path("/graphql"), Cow::Borrowed(_)));
    }
}
