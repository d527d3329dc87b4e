-- Payment Gateway (`/pg`) transactions: sales, auths, refunds, credits, forces, verifications
-- and recharges. Amounts are cents. Times are the merchant's clock, `YYYY-MM-DD HH:MM:SS`.
CREATE TABLE pg_transactions (
    pg_id            TEXT      PRIMARY KEY,
    merchant_id      BIGINT    NOT NULL,
    tran_type        TEXT      NOT NULL
        CHECK (tran_type IN ('sale', 'auth', 'refund', 'credit', 'force', 'verify', 'recharge')),
    -- The transaction a refund or recharge refers to.
    pg_id_orig       TEXT      REFERENCES pg_transactions (pg_id),
    -- A auth not captured, C captured (awaiting its batch), S settled, V voided by the
    -- merchant, v voided by the system, D declined, F failed.
    tran_status      TEXT      NOT NULL CHECK (tran_status IN ('A', 'C', 'S', 'V', 'v', 'D', 'F')),
    rcode            TEXT      NOT NULL CHECK (length(rcode) = 3),
    rmsg             TEXT      NOT NULL,
    auth_code        TEXT,
    avs_result       TEXT,
    cvv2_result      TEXT,
    amt_requested    BIGINT    NOT NULL CHECK (amt_requested >= 0),
    -- The amount: what was approved (less than requested on a partial approval), or what was
    -- asked for when declined or failed.
    amt_tran         BIGINT    NOT NULL CHECK (amt_tran >= 0),
    amt_captured     BIGINT    CHECK (amt_captured >= 0 AND amt_captured <= amt_tran),
    amt_refunded     BIGINT    NOT NULL DEFAULT 0
        CHECK (amt_refunded >= 0 AND amt_refunded <= COALESCE(amt_captured, 0)),
    tran_currency    TEXT      NOT NULL,
    card_id          TEXT,
    card_number      TEXT,
    card_type        TEXT,
    -- Keyed hash of the card or account number (the duplicate check's "same card").
    fingerprint      BLOB,
    customer_id      TEXT,
    cardholder_first_name TEXT,
    cardholder_last_name  TEXT,
    purchase_id      TEXT,
    merch_ref_num    TEXT,
    tran_time        TEXT      NOT NULL,
    tran_date        TEXT      NOT NULL,
    -- An auth not captured by then is voided by the system.
    expires_at       TEXT,
    -- The date of the batch a captured transaction settles in (21:00 that day).
    batch_due        TEXT,
    batch_date       TEXT,
    settle_date      TEXT
);
CREATE INDEX pg_transactions_date ON pg_transactions (merchant_id, tran_date);
CREATE INDEX pg_transactions_customer ON pg_transactions (merchant_id, customer_id);
CREATE INDEX pg_transactions_open ON pg_transactions (merchant_id, tran_status)
    WHERE tran_status IN ('A', 'C');
CREATE INDEX pg_transactions_duplicates
    ON pg_transactions (merchant_id, fingerprint, tran_type, tran_time);
CREATE INDEX pg_transactions_orig ON pg_transactions (pg_id_orig);

-- Cards stored by `/pg` without a customer (`tokenize`, `/pg/tokenize`), encrypted as vault
-- cards are. A single-use token expires at `expires_at` or its first use.
CREATE TABLE pg_tokens (
    card_id          TEXT      PRIMARY KEY,
    merchant_id      BIGINT    NOT NULL,
    kind             TEXT      NOT NULL CHECK (kind IN ('card', 'ach')),
    card_type        TEXT,
    type_id          TEXT,
    tr_number        TEXT,
    masked_number    TEXT      NOT NULL,
    fingerprint      BLOB      NOT NULL,
    key_id           BIGINT    NOT NULL REFERENCES vault_keys (key_id),
    ciphertext       BLOB      NOT NULL,
    exp_date         TEXT,
    cardholder_name  TEXT,
    avs_address      TEXT,
    avs_zip          TEXT,
    single_use       INTEGER   NOT NULL,
    expires_at       TEXT,
    used_at          TEXT,
    created_at       TEXT      NOT NULL
);
CREATE INDEX pg_tokens_merchant ON pg_tokens (merchant_id);

-- What `GET /reporting/transactions` browses: `/pg` transactions and recurring billing's
-- charges (reported settled), in the spec's `Transaction` columns.
CREATE VIEW reporting_transactions AS
SELECT pg_id, merchant_id, tran_type, pg_id_orig, tran_status, rcode, rmsg, auth_code,
       amt_tran, amt_captured, amt_refunded, tran_currency, card_id, card_number, card_type,
       customer_id, CAST(NULL AS BIGINT) AS subscription_id, cardholder_first_name,
       cardholder_last_name, purchase_id, merch_ref_num, tran_time, tran_date, batch_date,
       settle_date
FROM pg_transactions
UNION ALL
SELECT pg_id, merchant_id, 'sale', CAST(NULL AS TEXT),
       CASE WHEN tran_status = 'A' THEN 'S' ELSE 'D' END, rcode, rmsg, auth_code,
       amt_tran, CASE WHEN tran_status = 'A' THEN amt_tran END, 0, tran_currency, card_id,
       card_number, card_type, customer_id, subscription_id, cardholder_first_name,
       cardholder_last_name, purchase_id, CAST(NULL AS TEXT), tran_time, tran_date,
       CASE WHEN tran_status = 'A' THEN tran_date END,
       CASE WHEN tran_status = 'A' THEN tran_date END
FROM subscription_transactions
WHERE tran_status <> 'P';
