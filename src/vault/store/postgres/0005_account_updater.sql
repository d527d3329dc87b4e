-- Account Updater (`/platform/aus/...`). A card on hold is left out of harvests and is not
-- charged by recurring billing; `au_updated_at` is when a completed request last changed it.
ALTER TABLE billing_cards ADD COLUMN on_hold BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE billing_cards ADD COLUMN au_updated_at TEXT;

-- A request completes once, `due_at` (merchant time) or later: the UPDATE that moves it out of
-- INPROGRESS is the guard every noticer (scheduler, clock advance, a read) goes through.
CREATE TABLE aus_requests (
    request_id     BIGSERIAL PRIMARY KEY,
    merchant_id    BIGINT  NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('INPROGRESS', 'QUEUED', 'COMPLETED', 'CANCELED')),
    method         TEXT    NOT NULL,
    cnt_request    BIGINT  NOT NULL,
    cnt_response   BIGINT  NOT NULL DEFAULT 0,
    cnt_update     BIGINT  NOT NULL DEFAULT 0,
    request_date   TEXT    NOT NULL,
    due_at         TEXT    NOT NULL,
    response_date  TEXT,
    -- A JSON array of {card_id, reject_reason}.
    rejected_cards TEXT    NOT NULL
);
CREATE INDEX aus_requests_by_merchant ON aus_requests (merchant_id, request_id);
CREATE INDEX aus_requests_due ON aus_requests (status, merchant_id, due_at);

-- The cards of a request: masked number and expiry as they were asked about, the answer once
-- the request completes.
CREATE TABLE aus_request_cards (
    request_id      BIGINT  NOT NULL REFERENCES aus_requests (request_id),
    merchant_id     BIGINT  NOT NULL,
    card_id         TEXT    NOT NULL,
    customer_id     TEXT    NOT NULL,
    card_number     TEXT    NOT NULL,
    exp_date        TEXT,
    request_date    TEXT    NOT NULL,
    response_date   TEXT,
    card_number_new TEXT,
    exp_date_new    TEXT,
    reason_code     TEXT,
    PRIMARY KEY (request_id, card_id)
);
CREATE INDEX aus_request_cards_by_merchant ON aus_request_cards (merchant_id, request_date);

-- The monthly harvest (vaultql's own): per merchant, on or off, and since when.
CREATE TABLE aus_harvest (
    merchant_id BIGINT  PRIMARY KEY,
    enabled     BOOLEAN NOT NULL,
    since       TEXT    NOT NULL
);

-- One row per merchant and month harvested: the key makes each month's harvest happen once.
CREATE TABLE aus_harvest_runs (
    merchant_id BIGINT NOT NULL,
    month       TEXT   NOT NULL,
    ran_at      TEXT   NOT NULL,
    PRIMARY KEY (merchant_id, month)
);
