-- Recurring billing. Amounts are integer cents: exact, and comparable in filters.
CREATE TABLE plans (
    plan_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id       INTEGER NOT NULL,
    plan_code         TEXT    NOT NULL,
    plan_name         TEXT    NOT NULL,
    plan_desc         TEXT    NOT NULL,
    plan_frequency    INTEGER NOT NULL,
    interval          INTEGER NOT NULL,
    plan_duration     INTEGER NOT NULL,
    trial_duration    INTEGER NOT NULL DEFAULT 0,
    amt_trial         INTEGER,
    amt_setup         INTEGER,
    amt_tran          INTEGER NOT NULL,
    tran_currency     TEXT    NOT NULL,
    profile_id        TEXT,
    bill_specific_day INTEGER NOT NULL DEFAULT 0,
    day_of_week       INTEGER,
    day_of_month      INTEGER,
    month             INTEGER,
    prorate_first_pmt INTEGER NOT NULL DEFAULT 0,
    amt_prorate       INTEGER,
    status            TEXT    NOT NULL CHECK (status IN ('E', 'A', 'D')),
    db_timestamp      TEXT    NOT NULL,
    mod_timestamp     TEXT    NOT NULL
);
-- A deleted plan frees its code.
CREATE UNIQUE INDEX plans_code ON plans (merchant_id, plan_code) WHERE status <> 'D';
CREATE INDEX plans_status ON plans (merchant_id, status);

CREATE TABLE subscriptions (
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
    status               TEXT    NOT NULL CHECK (status IN ('A', 'P', 'C', 'S', 'D')),
    date_start           TEXT    NOT NULL,
    first_billing        TEXT    NOT NULL,
    -- The billing event to charge next: -2 setup fee, -1 prorated payment, 0.. billing cycles.
    next_event           INTEGER NOT NULL,
    -- The scheduled date of that event; NULL once cancelled or complete.
    date_next            TEXT,
    -- When the scheduler tries next (the scheduled date, or a retry date after a decline).
    next_attempt_on      TEXT,
    -- Attempts made at the current event; the attempt number of the next one.
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    -- failed_attempts when the subscription was last re-activated: retries count from here.
    retry_base           INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (merchant_id, customer_id);
CREATE INDEX subscriptions_plan ON subscriptions (merchant_id, plan_code);
CREATE INDEX subscriptions_due ON subscriptions (status, next_attempt_on);
CREATE INDEX subscriptions_date_next ON subscriptions (merchant_id, date_next);

-- Every payment attempt. (subscription, event, attempt) is claimed before the processor is
-- called, so two schedulers cannot both charge it; at most one attempt per event is approved.
CREATE TABLE subscription_transactions (
    tran_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pg_id            TEXT    NOT NULL UNIQUE,
    merchant_id      INTEGER NOT NULL,
    subscription_id  INTEGER NOT NULL REFERENCES subscriptions (subscription_id),
    customer_id      TEXT    NOT NULL,
    event            INTEGER NOT NULL,
    attempt          INTEGER NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('setup', 'prorate', 'trial', 'recurring')),
    tran_date        TEXT    NOT NULL,
    tran_time        TEXT    NOT NULL,
    amt_tran         INTEGER NOT NULL,
    tran_currency    TEXT    NOT NULL,
    -- P pending (claimed, outcome not yet recorded), A approved, D declined.
    tran_status      TEXT    NOT NULL CHECK (tran_status IN ('P', 'A', 'D')),
    rcode            TEXT,
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
CREATE UNIQUE INDEX subscription_transactions_one_approval
    ON subscription_transactions (subscription_id, event) WHERE tran_status = 'A';
CREATE INDEX subscription_transactions_merchant ON subscription_transactions (merchant_id, tran_date);
CREATE INDEX subscription_transactions_pending ON subscription_transactions (tran_status) WHERE tran_status = 'P';

-- The built-in test processor's own ledger: what it charged, by idempotency key. It stands for
-- an external processor, so it is written in its own transaction, never in the vault's.
CREATE TABLE processor_charges (
    idempotency_key TEXT    PRIMARY KEY,
    merchant_id     INTEGER NOT NULL,
    amount          INTEGER NOT NULL,
    approved        INTEGER NOT NULL,
    rcode           TEXT    NOT NULL,
    rmsg            TEXT    NOT NULL,
    auth_code       TEXT,
    charged_at      TEXT    NOT NULL
);

-- The sandbox clock: how far each merchant's time is ahead of the real clock.
CREATE TABLE sandbox_clock (
    merchant_id    INTEGER PRIMARY KEY,
    offset_seconds INTEGER NOT NULL
);
