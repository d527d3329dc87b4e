-- Webhooks (`/platform/webhook`) and their outbox. The secret and a BASIC password are sealed
-- under the vault's data key like card numbers (they must be read back to sign and to log in).
-- `failing_since` is the merchant time of the first failed delivery since the last 2xx: 48
-- hours later the webhook is SUSPENDED.
CREATE TABLE webhooks (
    webhook_id        BIGSERIAL PRIMARY KEY,
    merchant_id       BIGINT    NOT NULL,
    label             TEXT      NOT NULL,
    notification_url  TEXT      NOT NULL,
    status            TEXT      NOT NULL CHECK (status IN ('ACTIVE', 'DISABLED', 'SUSPENDED')),
    email_address     TEXT      NOT NULL,
    auth_type         TEXT      NOT NULL CHECK (auth_type IN ('NONE', 'BASIC')),
    auth_user_name    TEXT,
    auth_password_key BIGINT,
    auth_password     BYTEA   ,
    secret_key        BIGINT    NOT NULL,
    secret            BYTEA     NOT NULL,
    db_timestamp      TEXT      NOT NULL,
    failing_since     TEXT
);
CREATE INDEX webhooks_by_merchant ON webhooks (merchant_id, webhook_id);

-- The events each webhook subscribes to.
CREATE TABLE webhook_event_names (
    webhook_id  BIGINT  NOT NULL REFERENCES webhooks (webhook_id),
    event       TEXT    NOT NULL,
    PRIMARY KEY (webhook_id, event)
);

-- The outbox: one row per event and webhook that was ACTIVE and subscribed to it when the
-- event's transaction wrote it. A webhook gets its deliveries in `delivery_id` order, one at a
-- time: the oldest undelivered one is retried (at `next_attempt_at`, merchant time) until it
-- gets a 2xx. A worker leases a delivery (`lease_owner`, `lease_until` in process time) before
-- it posts it, so several vault processes never post one at the same time; a lease left by a
-- process that died runs out and the delivery is posted again, with the same `event_id`.
CREATE TABLE webhook_deliveries (
    delivery_id      BIGSERIAL PRIMARY KEY,
    webhook_id       BIGINT  NOT NULL REFERENCES webhooks (webhook_id),
    merchant_id      BIGINT  NOT NULL,
    event_id         TEXT    NOT NULL,
    event            TEXT    NOT NULL,
    data             TEXT    NOT NULL,
    db_timestamp     TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    lease_owner      TEXT,
    lease_until      TEXT,
    delivered_at     TEXT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (webhook_id, delivery_id)
    WHERE delivered_at IS NULL;
CREATE INDEX webhook_deliveries_open_merchants ON webhook_deliveries (merchant_id)
    WHERE delivered_at IS NULL;

-- The delivery log: every attempt to post a delivery.
CREATE TABLE webhook_attempts (
    attempt_id       BIGSERIAL PRIMARY KEY,
    webhook_id       BIGINT  NOT NULL,
    delivery_id      BIGINT  NOT NULL,
    event_id         TEXT    NOT NULL,
    event            TEXT    NOT NULL,
    attempt          BIGINT  NOT NULL,
    attempted_at     TEXT    NOT NULL,
    http_status      BIGINT,
    error            TEXT,
    latency_ms       BIGINT  NOT NULL,
    next_attempt_at  TEXT
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, attempt_id);
