-- Billing engine v2: versioned subscriptions, batched claims, 3-character response codes.

-- Every write bumps the version, so a write based on a stale read is refused.
ALTER TABLE subscriptions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- An ended subscription has nothing due (older versions could leave dates behind).
UPDATE subscriptions SET date_next = NULL, next_attempt_on = NULL WHERE status IN ('C', 'D');
UPDATE subscriptions SET next_attempt_on = NULL WHERE status IN ('P', 'S');

-- The engine bills one merchant at a time, oldest attempt first.
DROP INDEX subscriptions_due;
CREATE INDEX subscriptions_due ON subscriptions (merchant_id, status, next_attempt_on);

-- Attempts in flight, by subscription (claims skip those) and by merchant (runs finish them).
DROP INDEX subscription_transactions_pending;
CREATE INDEX subscription_transactions_in_flight
    ON subscription_transactions (subscription_id) WHERE tran_status = 'P';
CREATE INDEX subscription_transactions_pending
    ON subscription_transactions (merchant_id, tran_id) WHERE tran_status = 'P';

-- Qualpay's rcode is "Fixed length, 3 AN": issuer codes carry a leading zero (05 -> 005).
UPDATE subscription_transactions SET rcode = '0' || rcode WHERE length(rcode) = 2;
UPDATE processor_charges SET rcode = '0' || rcode WHERE length(rcode) = 2;
