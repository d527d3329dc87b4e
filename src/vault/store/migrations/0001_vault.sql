-- Keys: data keys and the fingerprint key, each encrypted under the master key.
CREATE TABLE vault_keys (
    key_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('data', 'fingerprint')),
    wrapped    BLOB    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE UNIQUE INDEX vault_keys_one_fingerprint_key ON vault_keys (purpose) WHERE purpose = 'fingerprint';

CREATE TABLE customers (
    rec_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id  INTEGER NOT NULL,
    customer_id  TEXT    NOT NULL,
    first_name   TEXT,
    last_name    TEXT,
    firm_name    TEXT,
    phone        TEXT,
    email        TEXT,
    reference_id TEXT,
    comments     TEXT,
    developer_id TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    UNIQUE (merchant_id, customer_id)
);
-- Browse filters and sorts run on these.
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
    rec_id               INTEGER PRIMARY KEY AUTOINCREMENT,
    card_id              TEXT    NOT NULL UNIQUE,
    customer_rec_id      INTEGER NOT NULL REFERENCES customers (rec_id) ON DELETE CASCADE,
    merchant_id          INTEGER NOT NULL,
    kind                 TEXT    NOT NULL CHECK (kind IN ('card', 'ach')),
    card_type            TEXT,
    type_id              TEXT,
    tr_number            TEXT,
    masked_number        TEXT    NOT NULL,
    fingerprint          BLOB    NOT NULL,
    key_id               INTEGER NOT NULL REFERENCES vault_keys (key_id),
    ciphertext           BLOB    NOT NULL,
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
    is_primary           INTEGER NOT NULL DEFAULT 0,
    verified_at          TEXT,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    UNIQUE (customer_rec_id, fingerprint)
);
CREATE UNIQUE INDEX billing_cards_one_primary ON billing_cards (customer_rec_id) WHERE is_primary = 1;

CREATE TABLE shipping_addresses (
    shipping_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_rec_id       INTEGER NOT NULL REFERENCES customers (rec_id) ON DELETE CASCADE,
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
    is_primary            INTEGER NOT NULL DEFAULT 0,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL
);
CREATE INDEX shipping_addresses_customer ON shipping_addresses (customer_rec_id);
CREATE UNIQUE INDEX shipping_addresses_one_primary ON shipping_addresses (customer_rec_id) WHERE is_primary = 1;

-- Every decryption of a stored number (PCI DSS 10.2).
CREATE TABLE decryption_audit (
    audit_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id INTEGER NOT NULL,
    card_id     TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    at          TEXT    NOT NULL
);
