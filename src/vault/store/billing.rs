//! Storage of plans, subscriptions, their payment attempts, the test processor's ledger and the
//! sandbox clock. The engine's exactly-once rule lives in the schema: a payment attempt is
//! claimed as a unique (subscription, event, attempt) row before the processor is called, and
//! at most one attempt per event can be approved. Subscriptions cross this boundary typed
//! ([`Subscription`]); their rows stay inside the backends.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::{BrowseQuery, Page, SealedCard, StoreError};
use crate::vault::billing::attempts::{ClaimPlan, DueSubscription, Outcome, Tally, plan_claims};
use crate::vault::billing::subscription::Subscription;
use crate::vault::filter::{Field, FieldKind};

/// A plan as stored. Amounts are cents.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct PlanRow {
    pub plan_id: i64,
    pub merchant_id: i64,
    pub plan_code: String,
    pub plan_name: String,
    pub plan_desc: String,
    pub plan_frequency: i32,
    pub interval: i32,
    pub plan_duration: i32,
    pub trial_duration: i32,
    pub amt_trial: Option<i64>,
    pub amt_setup: Option<i64>,
    pub amt_tran: i64,
    pub tran_currency: String,
    pub profile_id: Option<String>,
    pub bill_specific_day: bool,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub month: Option<i32>,
    pub prorate_first_pmt: bool,
    pub amt_prorate: Option<i64>,
    pub status: String,
    pub db_timestamp: String,
    pub mod_timestamp: String,
}

/// One payment attempt of a subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TransactionRow {
    pub tran_id: i64,
    pub pg_id: String,
    pub merchant_id: i64,
    pub subscription_id: i64,
    pub customer_id: String,
    pub event: i64,
    pub attempt: i64,
    pub kind: String,
    pub tran_date: String,
    pub tran_time: String,
    pub amt_tran: i64,
    pub tran_currency: String,
    pub tran_status: String,
    pub rcode: Option<String>,
    pub rmsg: Option<String>,
    pub auth_code: Option<String>,
    pub card_id: String,
    pub card_number: String,
    pub card_type: Option<String>,
    pub cardholder_first_name: Option<String>,
    pub cardholder_last_name: Option<String>,
    pub purchase_id: Option<String>,
    pub claimed_at: String,
}

/// What the test processor answered to one idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProcessorRecord {
    pub approved: bool,
    pub rcode: String,
    pub rmsg: String,
    pub auth_code: Option<String>,
}

/// The plan fields browse can filter and sort on.
pub static PLAN_FIELDS: &[Field] = &[
    Field {
        name: "plan_code",
        column: "plan_code",
        kind: FieldKind::Text,
    },
    Field {
        name: "plan_id",
        column: "plan_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "plan_name",
        column: "plan_name",
        kind: FieldKind::Text,
    },
    Field {
        name: "plan_desc",
        column: "plan_desc",
        kind: FieldKind::Text,
    },
    Field {
        name: "plan_frequency",
        column: "plan_frequency",
        kind: FieldKind::Integer,
    },
    Field {
        name: "interval",
        column: "interval",
        kind: FieldKind::Integer,
    },
    Field {
        name: "plan_duration",
        column: "plan_duration",
        kind: FieldKind::Integer,
    },
    Field {
        name: "trial_duration",
        column: "trial_duration",
        kind: FieldKind::Integer,
    },
    Field {
        name: "amt_tran",
        column: "amt_tran",
        kind: FieldKind::Decimal,
    },
    Field {
        name: "amt_setup",
        column: "amt_setup",
        kind: FieldKind::Decimal,
    },
    Field {
        name: "amt_trial",
        column: "amt_trial",
        kind: FieldKind::Decimal,
    },
    Field {
        name: "tran_currency",
        column: "tran_currency",
        kind: FieldKind::Text,
    },
    Field {
        name: "status",
        column: "status",
        kind: FieldKind::Text,
    },
    Field {
        name: "db_timestamp",
        column: "db_timestamp",
        kind: FieldKind::Text,
    },
    Field {
        name: "mod_timestamp",
        column: "mod_timestamp",
        kind: FieldKind::Text,
    },
];

/// The subscription fields browse can filter and sort on.
pub static SUBSCRIPTION_FIELDS: &[Field] = &[
    Field {
        name: "subscription_id",
        column: "subscription_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "customer_id",
        column: "customer_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "card_id",
        column: "card_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "plan_code",
        column: "plan_code",
        kind: FieldKind::Text,
    },
    Field {
        name: "plan_id",
        column: "plan_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "plan_frequency",
        column: "plan_frequency",
        kind: FieldKind::Integer,
    },
    Field {
        name: "status",
        column: "status",
        kind: FieldKind::Text,
    },
    Field {
        name: "date_start",
        column: "date_start",
        kind: FieldKind::Date,
    },
    Field {
        name: "date_next",
        column: "date_next",
        kind: FieldKind::Date,
    },
    Field {
        name: "recur_amt",
        column: "recur_amt",
        kind: FieldKind::Decimal,
    },
    Field {
        name: "tran_currency",
        column: "tran_currency",
        kind: FieldKind::Text,
    },
    Field {
        name: "db_timestamp",
        column: "created_at",
        kind: FieldKind::Text,
    },
];

/// The transaction fields browse can filter and sort on.
pub static TRANSACTION_FIELDS: &[Field] = &[
    Field {
        name: "subscription_id",
        column: "subscription_id",
        kind: FieldKind::Integer,
    },
    Field {
        name: "customer_id",
        column: "customer_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "pg_id",
        column: "pg_id",
        kind: FieldKind::Text,
    },
    Field {
        name: "tran_time",
        column: "tran_time",
        kind: FieldKind::Text,
    },
    Field {
        name: "tran_date",
        column: "tran_date",
        kind: FieldKind::Date,
    },
    Field {
        name: "tran_status",
        column: "tran_status",
        kind: FieldKind::Text,
    },
    Field {
        name: "rcode",
        column: "rcode",
        kind: FieldKind::Text,
    },
    Field {
        name: "amt_tran",
        column: "amt_tran",
        kind: FieldKind::Decimal,
    },
    Field {
        name: "card_id",
        column: "card_id",
        kind: FieldKind::Text,
    },
];

/// An attempt to charge through the processor, under its idempotency key.
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub key: String,
    pub merchant_id: i64,
    pub amount: i64,
    pub record: ProcessorRecord,
}

/// Which share of the due subscriptions a claim takes: those whose id is `index` modulo `of`,
/// so the lanes of one engine never compete for a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane {
    pub index: u32,
    pub of: u32,
}

impl Lane {
    /// Every due subscription.
    pub const ALL: Lane = Lane { index: 0, of: 1 };
}

/// What a claim transaction did.
#[derive(Debug, Default)]
pub struct Claimed {
    /// Pending attempts now owned by the caller, to charge and record.
    pub attempts: Vec<TransactionRow>,
    /// Their subscriptions as they were when claimed.
    pub subscriptions: Vec<Subscription>,
    /// Their cards, sealed, read with the claim so the charge need not read them again.
    pub cards: Vec<SealedCard>,
    /// Subscriptions moved past a free event.
    pub passed: usize,
}

#[async_trait]
pub trait BillingStore: Send + Sync + 'static {
    /// Stores a new plan (its `plan_id` is assigned); a live plan with the code is a conflict.
    async fn insert_plan(&self, plan: &PlanRow) -> Result<PlanRow, StoreError>;
    /// A plan that is not deleted, by code.
    async fn plan(&self, merchant_id: i64, plan_code: &str) -> Result<PlanRow, StoreError>;
    async fn browse_plans(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<PlanRow>, StoreError>;
    /// Writes every column of the plan with this `plan_id`.
    async fn save_plan(&self, plan: &PlanRow) -> Result<PlanRow, StoreError>;
    /// Marks a plan deleted, unless a subscription that is not cancelled or complete uses it.
    async fn delete_plan(
        &self,
        merchant_id: i64,
        plan_id: i64,
        now: DateTime<Utc>,
    ) -> Result<PlanRow, StoreError>;

    /// Stores a new subscription; its `subscription_id` is assigned.
    async fn insert_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StoreError>;
    async fn subscription(
        &self,
        merchant_id: i64,
        subscription_id: i64,
    ) -> Result<Subscription, StoreError>;
    async fn browse_subscriptions(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<Subscription>, StoreError>;
    /// Writes the subscription if its stored `version` is still the one it was read with, and
    /// bumps the version; a concurrent change in between is [`StoreError::Concurrent`].
    async fn save_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, StoreError>;
    /// Approved and declined attempts (never pending ones).
    async fn browse_transactions(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<TransactionRow>, StoreError>;

    /// Up to `limit` of the merchant's active subscriptions in `lane` whose attempt is due by
    /// `today` and not made yet, oldest first, each with its card.
    async fn due_subscriptions(
        &self,
        merchant_id: i64,
        today: NaiveDate,
        limit: usize,
        lane: Lane,
    ) -> Result<Vec<DueSubscription>, StoreError>;
    /// Finds up to `limit` of the merchant's due subscriptions in `lane` at `now` and claims
    /// them: how many were found, and the claims written. By default [`Self::due_subscriptions`]
    /// then [`Self::write_claims`]; a backend that several processes bill at once overrides it
    /// so that each process claims what the others are not claiming (row locks held from the
    /// read to the claim, skipping rows another process holds), instead of all of them reading
    /// the same oldest rows and all but one losing the race for each.
    async fn claim_due(
        &self,
        merchant_id: i64,
        now: DateTime<Utc>,
        limit: usize,
        lane: Lane,
    ) -> Result<(usize, Claimed), StoreError> {
        let today = now.date_naive();
        let due = self
            .due_subscriptions(merchant_id, today, limit, lane)
            .await?;
        let found = due.len();
        let claimed = self.write_claims(plan_claims(due, today, now)).await?;
        Ok((found, claimed))
    }
    /// Writes the claims [`crate::vault::billing::attempts::plan_claims`] made, in one write
    /// transaction, each only if its subscription is still exactly as it was read (so a pause
    /// or cancel that committed since is always seen) and no other engine claimed the attempt.
    /// Returns the claims that were written.
    async fn write_claims(&self, plan: ClaimPlan) -> Result<Claimed, StoreError>;
    /// The newest attempt's `tran_id` (0 when there is none).
    async fn last_attempt_id(&self) -> Result<i64, StoreError>;
    /// The merchant's attempts still pending with `after < tran_id <= up_to`, oldest first:
    /// claims a stopped run left charged (or not) but unrecorded.
    async fn pending(
        &self,
        merchant_id: i64,
        after: i64,
        up_to: i64,
        limit: usize,
    ) -> Result<Vec<TransactionRow>, StoreError>;
    /// In one write transaction: records the outcomes of attempts that are still pending and
    /// moves their subscriptions on ([`crate::vault::billing::attempts::apply_outcomes`]). An
    /// outcome already recorded (by another engine) is skipped and not counted. `claimed` are
    /// the subscriptions as their attempts were claimed (or none): one whose version is still
    /// the same need not be read again.
    async fn record(
        &self,
        merchant_id: i64,
        outcomes: &[Outcome],
        claimed: Vec<Subscription>,
        now: DateTime<Utc>,
    ) -> Result<Tally, StoreError>;

    /// The processor's ledger: stores each entry's record under its key unless the key is
    /// there, and returns what is stored for each entry, in order, so a charge retried with the
    /// same key is never charged twice.
    async fn processor_charges(
        &self,
        entries: &[LedgerEntry],
        now: DateTime<Utc>,
    ) -> Result<Vec<ProcessorRecord>, StoreError>;
    /// How many charges the processor made (for tests and the sandbox's summaries).
    async fn processor_charge_count(&self, merchant_id: i64) -> Result<i64, StoreError>;

    /// How far the merchant's sandbox clock is ahead of the process's time, in seconds.
    async fn clock_offset(&self, merchant_id: i64) -> Result<i64, StoreError>;
    /// Sets the offset if it is still `expected`; `false` when another request moved it first.
    async fn swap_clock_offset(
        &self,
        merchant_id: i64,
        expected: i64,
        offset_seconds: i64,
    ) -> Result<bool, StoreError>;
    /// Merchants with billing to do (active subscriptions or attempts in flight) and their
    /// clock offsets.
    async fn billing_merchants(&self) -> Result<Vec<(i64, i64)>, StoreError>;
}
