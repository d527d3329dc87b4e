-- The test processor's ledger is only ever reached by its idempotency key: keep its rows in
-- that key's b-tree (WITHOUT ROWID) instead of a rowid table plus an index on the key, so a
-- charge writes one b-tree, not two.
CREATE TABLE processor_charges_by_key (
    idempotency_key TEXT    PRIMARY KEY,
    merchant_id     INTEGER NOT NULL,
    amount          INTEGER NOT NULL,
    approved        INTEGER NOT NULL,
    rcode           TEXT    NOT NULL,
    rmsg            TEXT    NOT NULL,
    auth_code       TEXT,
    charged_at      TEXT    NOT NULL
) WITHOUT ROWID;
INSERT INTO processor_charges_by_key
SELECT idempotency_key, merchant_id, amount, approved, rcode, rmsg, auth_code, charged_at
FROM processor_charges;
DROP TABLE processor_charges;
ALTER TABLE processor_charges_by_key RENAME TO processor_charges;
