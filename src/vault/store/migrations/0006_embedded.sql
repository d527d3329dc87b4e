-- Transient keys of the embedded card fields (`GET /platform/embedded`), kept as SHA-256
-- digests like API keys. A key tokenizes one card: `used_at` is set by the tokenization that
-- claims it (and cleared again when that card is refused). It ends at `expires_at` (moved
-- forward by each declined card, never past `ends_at`), or after `declines` reaches the limit.
CREATE TABLE embedded_keys (
    key_digest   BLOB      PRIMARY KEY,
    merchant_id  BIGINT    NOT NULL,
    created_at   TEXT      NOT NULL,
    expires_at   TEXT      NOT NULL,
    ends_at      TEXT      NOT NULL,
    declines     BIGINT    NOT NULL DEFAULT 0,
    used_at      TEXT
);
