-- Billing engine v2: versioned subscriptions, batched claims, 3-character response codes.
--
-- The two billing tables are rebuilt, because SQLite cannot change a CHECK constraint in
-- place: `status IN ('A', 'P', ...)` makes SQLite build a small lookup table for every row it
-- checks, which doubled the cost of the engine's batched writes; the same rules written with
-- `OR` are checked in a few comparisons. The rebuild keeps every row and id. The child table
-- is set aside first, so that replacing the parent never leaves a foreign key dangling.

CREATE TABLE billing_v2_sequence AS
    SELECT name, seq FROM sqlite_sequence
    WHERE name IN ('subscriptions', 'subscription_transactions');
CREATE TABLE billing_v2_transactions AS SELECT * FROM subscription_transactions;
DROP TABLE subscription_transactions;

CREATE TABLE subscriptions_v2 (
    subscription_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id          INTEGER NOT NULL,
    customer_id          TEXT    NOT NULL,
    card_id              TEXT    NOT NULL,
    plan_id              INTEGER REFERENCES plans (plan_id),
    plan_code            TEXT,
    plan_name            TEXT,
    plan_desc            TEXT,
    plan_frequency       INTEGER NOT NULL,
    interval             INTEGER NOT NULL,
    plan_duration        INTEGER NOT NULL,
    trial_duration       INTEGER NOT NULL DEFAULT 0,
    bill_specific_day    INTEGER NOT NULL DEFAULT 0,
    day_of_week          INTEGER,
    day_of_month         INTEGER,
    month                INTEGER,
    anchor_day           INTEGER NOT NULL,
    amt_setup            INTEGER,
    trial_amt            INTEGER,
    recur_amt            INTEGER NOT NULL,
    prorate_amt          INTEGER,
    tran_currency        TEXT    NOT NULL,
    profile_id           TEXT,
    purchase_id          TEXT,
    cancel_on_setup_fail INTEGER NOT NULL DEFAULT 0,
    status               TEXT    NOT NULL
        CHECK (status = 'A' OR status = 'P' OR status = 'C' OR status = 'S' OR status = 'D'),
    date_start           TEXT    NOT NULL,
    first_billing        TEXT    NOT NULL,
    -- The billing event to charge next: -2 setup fee, -1 prorated payment, 0.. billing cycles.
    next_event           INTEGER NOT NULL,
    -- The scheduled date of that event; NULL once cancelled or complete.
    date_next            TEXT,
    -- When the engine tries next (the date, or a retry date after a decline); active only.
    next_attempt_on      TEXT,
    -- Attempts made at the current event; the attempt number of the next one.
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    -- failed_attempts when the subscription was last re-activated: retries count from here.
    retry_base           INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    -- Bumped by every write, so a write based on a stale read is refused.
    version              INTEGER NOT NULL DEFAULT 0,
    -- What the typed subscription requires: ended ones have nothing due, live ones do.
    CHECK ((status = 'C' OR status = 'D') = (date_next IS NULL)),
    CHECK ((status = 'A') = (next_attempt_on IS NOT NULL))
);
INSERT INTO subscriptions_v2 (subscription_id, merchant_id, customer_id, card_id, plan_id,
    plan_code, plan_name, plan_desc, plan_frequency, interval, plan_duration, trial_duration,
    bill_specific_day, day_of_week, day_of_month, month, anchor_day, amt_setup, trial_amt,
    recur_amt, prorate_amt, tran_currency, profile_id, purchase_id, cancel_on_setup_fail,
    status, date_start, first_billing, next_event, date_next, next_attempt_on, failed_attempts,
    retry_base, created_at, updated_at, version)
SELECT subscription_id, merchant_id, customer_id, card_id, plan_id, plan_code, plan_name,
    plan_desc, plan_frequency, interval, plan_duration, trial_duration, bill_specific_day,
    day_of_week, day_of_month, month, anchor_day, amt_setup, trial_amt, recur_amt, prorate_amt,
    tran_currency, profile_id, purchase_id, cancel_on_setup_fail, status, date_start,
    first_billing, next_event,
    -- Older versions could leave dates on ended subscriptions and attempt dates on paused ones.
    CASE WHEN status IN ('C', 'D') THEN NULL ELSE date_next END,
    CASE WHEN status = 'A' THEN next_attempt_on END,
    failed_attempts, retry_base, created_at, updated_at, 0
FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_v2 RENAME TO subscriptions;
CREATE INDEX subscriptions_customer ON subscriptions (merchant_id, customer_id);
CREATE INDEX subscriptions_plan ON subscriptions (merchant_id, plan_code);
-- The engine bills one merchant at a time, oldest attempt first.
CREATE INDEX subscriptions_due ON subscriptions (merchant_id, status, next_attempt_on);
CREATE INDEX subscriptions_date_next ON subscriptions (merchant_id, date_next);

-- Every payment attempt. (subscription, event, attempt) is claimed before the processor is
-- called, so two engines cannot both charge it; at most one attempt per event is approved.
CREATE TABLE subscription_transactions (
    tran_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pg_id            TEXT    NOT NULL UNIQUE,
    merchant_id      INTEGER NOT NULL,
    subscription_id  INTEGER NOT NULL REFERENCES subscriptions (subscription_id),
    customer_id      TEXT    NOT NULL,
    event            INTEGER NOT NULL,
    attempt          INTEGER NOT NULL,
    kind             TEXT    NOT NULL
        CHECK (kind = 'setup' OR kind = 'prorate' OR kind = 'trial' OR kind = 'recurring'),
    tran_date        TEXT    NOT NULL,
    tran_time        TEXT    NOT NULL,
    amt_tran         INTEGER NOT NULL,
    tran_currency    TEXT    NOT NULL,
    -- P pending (claimed, outcome not yet recorded), A approved, D declined.
    tran_status      TEXT    NOT NULL
        CHECK (tran_status = 'P' OR tran_status = 'A' OR tran_status = 'D'),
    -- Qualpay's gateway response code: "Fixed length, 3 AN" (000 approved, 0xx declines).
    rcode            TEXT    CHECK (rcode IS NULL OR length(rcode) = 3),
    rmsg             TEXT,
    auth_code        TEXT,
    card_id          TEXT    NOT NULL,
    card_number      TEXT    NOT NULL,
    card_type        TEXT,
    cardholder_first_name TEXT,
    cardholder_last_name  TEXT,
    purchase_id      TEXT,
    claimed_at       TEXT    NOT NULL,
    UNIQUE (subscription_id, event, attempt)
);
-- Older versions wrote the issuer's two characters (05 -> 005).
INSERT INTO subscription_transactions
SELECT tran_id, pg_id, merchant_id, subscription_id, customer_id, event, attempt, kind,
    tran_date, tran_time, amt_tran, tran_currency, tran_status,
    CASE WHEN length(rcode) = 2 THEN '0' || rcode ELSE rcode END,
    rmsg, auth_code, card_id, card_number, card_type, cardholder_first_name,
    cardholder_last_name, purchase_id, claimed_at
FROM billing_v2_transactions;
DROP TABLE billing_v2_transactions;
CREATE UNIQUE INDEX subscription_transactions_one_approval
    ON subscription_transactions (subscription_id, event) WHERE tran_status = 'A';
CREATE INDEX subscription_transactions_merchant
    ON subscription_transactions (merchant_id, tran_date);
-- Attempts in flight, by merchant, oldest first: a run finishes those an earlier run left.
CREATE INDEX subscription_transactions_pending
    ON subscription_transactions (merchant_id, tran_id) WHERE tran_status = 'P';

-- Ids are never handed out twice, rebuild or not.
UPDATE sqlite_sequence SET seq = max(seq, (SELECT s.seq FROM billing_v2_sequence s
    WHERE s.name = sqlite_sequence.name))
WHERE name IN (SELECT name FROM billing_v2_sequence);
INSERT INTO sqlite_sequence (name, seq)
    SELECT name, seq FROM billing_v2_sequence
    WHERE name NOT IN (SELECT name FROM sqlite_sequence);
DROP TABLE billing_v2_sequence;

UPDATE processor_charges SET rcode = '0' || rcode WHERE length(rcode) = 2;
