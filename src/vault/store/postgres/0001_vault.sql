-- The vault on PostgreSQL: the schema SQLite reaches through its migrations 0001-0004, written
-- once with PostgreSQL's types. Timestamps and dates stay fixed-width UTC text, as on SQLite,
-- so both backends sort, filter and return them alike; amounts are integer cents.

-- Keys: data keys and the fingerprint key, each encrypted under the master key.
CREATE TABLE vault_keys (
    key_id     BIGSERIAL PRIMARY KEY,
    purpose    TEXT      NOT NULL CHECK (purpose IN ('data', 'fingerprint')),
    wrapped    BYTEA     NOT NULL,
    created_at TEXT      NOT NULL
);
CREATE UNIQUE INDEX vault_keys_one_fingerprint_key ON vault_keys (purpose) WHERE purpose = 'fingerprint';

CREATE TABLE customers (
    rec_id       BIGSERIAL PRIMARY KEY,
    merchant_id  BIGINT    NOT NULL,
    customer_id  TEXT      NOT NULL,
    first_name   TEXT,
    last_name    TEXT,
    firm_name    TEXT,
    phone        TEXT,
    email        TEXT,
    reference_id TEXT,
    comments     TEXT,
    developer_id TEXT,
    created_at   TEXT      NOT NULL,
    updated_at   TEXT      NOT NULL,
    UNIQUE (merchant_id, customer_id)
);
CREATE INDEX customers_first_name   ON customers (merchant_id, first_name);
CREATE INDEX customers_last_name    ON customers (merchant_id, last_name);
CREATE INDEX customers_firm_name    ON customers (merchant_id, firm_name);
CREATE INDEX customers_phone        ON customers (merchant_id, phone);
CREATE INDEX customers_email        ON customers (merchant_id, email);
CREATE INDEX customers_reference_id ON customers (merchant_id, reference_id);
CREATE INDEX customers_developer_id ON customers (merchant_id, developer_id);
CREATE INDEX customers_created_at   ON customers (merchant_id, created_at);

-- Cards and ACH accounts. The number exists only as `ciphertext`; `masked_number` is what is shown.
CREATE TABLE billing_cards (
    rec_id               BIGSERIAL PRIMARY KEY,
    card_id              TEXT      NOT NULL UNIQUE,
    customer_rec_id      BIGINT    NOT NULL REFERENCES customers (rec_id) ON DELETE CASCADE,
    merchant_id          BIGINT    NOT NULL,
    kind                 TEXT      NOT NULL CHECK (kind IN ('card', 'ach')),
    card_type            TEXT,
    type_id              TEXT,
    tr_number            TEXT,
    masked_number        TEXT      NOT NULL,
    fingerprint          BYTEA     NOT NULL,
    key_id               BIGINT    NOT NULL REFERENCES vault_keys (key_id),
    ciphertext           BYTEA     NOT NULL,
    exp_date             TEXT,
    billing_first_name   TEXT,
    billing_last_name    TEXT,
    billing_firm_name    TEXT,
    billing_email        TEXT,
    billing_addr1        TEXT,
    billing_addr2        TEXT,
    billing_city         TEXT,
    billing_state        TEXT,
    billing_zip          TEXT,
    billing_zip4         TEXT,
    billing_country      TEXT,
    billing_country_code TEXT,
    is_primary           BOOLEAN   NOT NULL DEFAULT FALSE,
    verified_at          TEXT,
    created_at           TEXT      NOT NULL,
    updated_at           TEXT      NOT NULL,
    UNIQUE (customer_rec_id, fingerprint)
);
CREATE UNIQUE INDEX billing_cards_one_primary ON billing_cards (customer_rec_id) WHERE is_primary;
CREATE INDEX billing_cards_merchant_card ON billing_cards (merchant_id, card_id);

CREATE TABLE shipping_addresses (
    shipping_id           BIGSERIAL PRIMARY KEY,
    customer_rec_id       BIGINT    NOT NULL REFERENCES customers (rec_id) ON DELETE CASCADE,
    shipping_first_name   TEXT,
    shipping_last_name    TEXT,
    shipping_firm_name    TEXT,
    shipping_addr1        TEXT,
    shipping_addr2        TEXT,
    shipping_city         TEXT,
    shipping_state        TEXT,
    shipping_zip          TEXT,
    shipping_zip4         TEXT,
    shipping_country      TEXT,
    shipping_country_code TEXT,
    is_primary            BOOLEAN   NOT NULL DEFAULT FALSE,
    created_at            TEXT      NOT NULL,
    updated_at            TEXT      NOT NULL
);
CREATE INDEX shipping_addresses_customer ON shipping_addresses (customer_rec_id);
CREATE UNIQUE INDEX shipping_addresses_one_primary ON shipping_addresses (customer_rec_id) WHERE is_primary;

-- Every decryption of a stored number (PCI DSS 10.2).
CREATE TABLE decryption_audit (
    audit_id    BIGSERIAL PRIMARY KEY,
    merchant_id BIGINT    NOT NULL,
    card_id     TEXT      NOT NULL,
    purpose     TEXT      NOT NULL,
    at          TEXT      NOT NULL
);

-- Recurring billing.
CREATE TABLE plans (
    plan_id           BIGSERIAL PRIMARY KEY,
    merchant_id       BIGINT    NOT NULL,
    plan_code         TEXT      NOT NULL,
    plan_name         TEXT      NOT NULL,
    plan_desc         TEXT      NOT NULL,
    plan_frequency    INTEGER   NOT NULL,
    interval          INTEGER   NOT NULL,
    plan_duration     INTEGER   NOT NULL,
    trial_duration    INTEGER   NOT NULL DEFAULT 0,
    amt_trial         BIGINT,
    amt_setup         BIGINT,
    amt_tran          BIGINT    NOT NULL,
    tran_currency     TEXT      NOT NULL,
    profile_id        TEXT,
    bill_specific_day BOOLEAN   NOT NULL DEFAULT FALSE,
    day_of_week       INTEGER,
    day_of_month      INTEGER,
    month             INTEGER,
    prorate_first_pmt BOOLEAN   NOT NULL DEFAULT FALSE,
    amt_prorate       BIGINT,
    status            TEXT      NOT NULL CHECK (status IN ('E', 'A', 'D')),
    db_timestamp      TEXT      NOT NULL,
    mod_timestamp     TEXT      NOT NULL
);
-- A deleted plan frees its code.
CREATE UNIQUE INDEX plans_code ON plans (merchant_id, plan_code) WHERE status <> 'D';
CREATE INDEX plans_status ON plans (merchant_id, status);

CREATE TABLE subscriptions (
    subscription_id      BIGSERIAL PRIMARY KEY,
    merchant_id          BIGINT    NOT NULL,
    customer_id          TEXT      NOT NULL,
    card_id              TEXT      NOT NULL,
    plan_id              BIGINT    REFERENCES plans (plan_id),
    plan_code            TEXT,
    plan_name            TEXT,
    plan_desc            TEXT,
    plan_frequency       INTEGER   NOT NULL,
    interval             INTEGER   NOT NULL,
    plan_duration        INTEGER   NOT NULL,
    trial_duration       INTEGER   NOT NULL DEFAULT 0,
    bill_specific_day    BOOLEAN   NOT NULL DEFAULT FALSE,
    day_of_week          INTEGER,
    day_of_month         INTEGER,
    month                INTEGER,
    anchor_day           INTEGER   NOT NULL,
    amt_setup            BIGINT,
    trial_amt            BIGINT,
    recur_amt            BIGINT    NOT NULL,
    prorate_amt          BIGINT,
    tran_currency        TEXT      NOT NULL,
    profile_id           TEXT,
    purchase_id          TEXT,
    cancel_on_setup_fail BOOLEAN   NOT NULL DEFAULT FALSE,
    status               TEXT      NOT NULL CHECK (status IN ('A', 'P', 'C', 'S', 'D')),
    date_start           TEXT      NOT NULL,
    first_billing        TEXT      NOT NULL,
    -- The billing event to charge next: -2 setup fee, -1 prorated payment, 0.. billing cycles.
    next_event           BIGINT    NOT NULL,
    -- The scheduled date of that event; NULL once cancelled or complete.
    date_next            TEXT,
    -- When the engine tries next (the date, or a retry date after a decline); active only.
    next_attempt_on      TEXT,
    -- Attempts made at the current event; the attempt number of the next one.
    failed_attempts      BIGINT    NOT NULL DEFAULT 0,
    -- failed_attempts when the subscription was last re-activated: retries count from here.
    retry_base           BIGINT    NOT NULL DEFAULT 0,
    created_at           TEXT      NOT NULL,
    updated_at           TEXT      NOT NULL,
    -- Bumped by every write, so a write based on a stale read is refused.
    version              BIGINT    NOT NULL DEFAULT 0,
    CHECK ((status IN ('C', 'D')) = (date_next IS NULL)),
    CHECK ((status = 'A') = (next_attempt_on IS NOT NULL))
);
CREATE INDEX subscriptions_customer ON subscriptions (merchant_id, customer_id);
CREATE INDEX subscriptions_plan ON subscriptions (merchant_id, plan_code);
CREATE INDEX subscriptions_date_next ON subscriptions (merchant_id, date_next);
-- What the engine looks for: active subscriptions whose attempt is due, oldest first.
CREATE INDEX subscriptions_due ON subscriptions (merchant_id, next_attempt_on, subscription_id)
    WHERE status = 'A';

-- Every payment attempt. (subscription, event, attempt) is claimed before the processor is
-- called, so two engines (in one process or many) cannot both charge it; at most one attempt
-- per event is approved.
CREATE TABLE subscription_transactions (
    tran_id          BIGSERIAL PRIMARY KEY,
    pg_id            TEXT      NOT NULL UNIQUE,
    merchant_id      BIGINT    NOT NULL,
    subscription_id  BIGINT    NOT NULL REFERENCES subscriptions (subscription_id),
    customer_id      TEXT      NOT NULL,
    event            BIGINT    NOT NULL,
    attempt          BIGINT    NOT NULL,
    kind             TEXT      NOT NULL CHECK (kind IN ('setup', 'prorate', 'trial', 'recurring')),
    tran_date        TEXT      NOT NULL,
    tran_time        TEXT      NOT NULL,
    amt_tran         BIGINT    NOT NULL,
    tran_currency    TEXT      NOT NULL,
    -- P pending (claimed, outcome not yet recorded), A approved, D declined.
    tran_status      TEXT      NOT NULL CHECK (tran_status IN ('P', 'A', 'D')),
    -- Qualpay's gateway response code: "Fixed length, 3 AN" (000 approved, 0xx declines).
    rcode            TEXT      CHECK (rcode IS NULL OR length(rcode) = 3),
    rmsg             TEXT,
    auth_code        TEXT,
    card_id          TEXT      NOT NULL,
    card_number      TEXT      NOT NULL,
    card_type        TEXT,
    cardholder_first_name TEXT,
    cardholder_last_name  TEXT,
    purchase_id      TEXT,
    claimed_at       TEXT      NOT NULL,
    UNIQUE (subscription_id, event, attempt)
);
CREATE UNIQUE INDEX subscription_transactions_one_approval
    ON subscription_transactions (subscription_id, event) WHERE tran_status = 'A';
CREATE INDEX subscription_transactions_merchant
    ON subscription_transactions (merchant_id, tran_date);
CREATE INDEX subscription_transactions_pending
    ON subscription_transactions (merchant_id, tran_id) WHERE tran_status = 'P';

-- The built-in test processor's own ledger: what it charged, by idempotency key. It stands for
-- an external processor, so it is written in its own transaction, never in the vault's.
CREATE TABLE processor_charges (
    idempotency_key TEXT    PRIMARY KEY,
    merchant_id     BIGINT  NOT NULL,
    amount          BIGINT  NOT NULL,
    approved        BOOLEAN NOT NULL,
    rcode           TEXT    NOT NULL,
    rmsg            TEXT    NOT NULL,
    auth_code       TEXT,
    charged_at      TEXT    NOT NULL
);
CREATE INDEX processor_charges_merchant ON processor_charges (merchant_id);

-- The sandbox clock: how far each merchant's time is ahead of the real clock.
CREATE TABLE sandbox_clock (
    merchant_id    BIGINT PRIMARY KEY,
    offset_seconds BIGINT NOT NULL
);
