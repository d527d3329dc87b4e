//! Recurring billing in the vault: plans, subscriptions on them (or off them), and the engine
//! that charges subscriptions when they fall due, exactly once per billing event.
//!
//! - [`plans`] holds the plan rules and [`schedule`] the date and amount arithmetic;
//! - [`subscription`] is the typed subscription with its transitions;
//! - [`attempts`] says what a claim writes and how an outcome moves a subscription on;
//! - [`engine`] claims, charges and records payment attempts in batches;
//! - [`jobs`] runs clock advances that outlive their request; [`wire`] is the REST shape.
//!
//! Every operation here takes the merchant's `now`, read once by the caller from
//! [`crate::vault::clock::Clock`].

pub mod attempts;
pub mod engine;
pub mod jobs;
pub mod money;
pub mod plans;
pub mod schedule;
pub mod subscription;
pub mod wire;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use self::engine::Engine;
use self::jobs::{JobReport, Jobs};
use self::money::cents;
use self::schedule::{Frequency, Schedule, check_amount, prorated_amount};
use self::subscription::{Cents, Length, Subscription, Terms, TransitionError};
use crate::qualpay::codes::PlanStatus;
use crate::qualpay::{
    AddSubscriptionRequest, ArchivePlanRequest, PlanRequest, SubscriptionActionRequest,
    UpdateSubscriptionRequest,
};
use crate::vault::account_updater::DueWork;
use crate::vault::clock::{Clock, IsoDuration};
use crate::vault::error::VaultError;
use crate::vault::filter::{Condition, Operator, Value};
use crate::vault::service::VaultService;
use crate::vault::store::billing::{BillingStore, PlanRow, TRANSACTION_FIELDS, TransactionRow};
use crate::vault::store::{BrowseQuery, Page, StoreError, timestamp};
use crate::vault::validate::Problems;

/// How often a change to a subscription is retried when the engine moved it on in between.
const SAVE_ATTEMPTS: usize = 20;

pub struct BillingService {
    vault: Arc<VaultService>,
    store: Arc<dyn BillingStore>,
    pub clock: Clock,
    pub engine: Engine,
    pub jobs: Jobs,
    /// What a clock advance runs before it bills (the Account Updater's completions and
    /// harvests).
    due_work: Option<Arc<dyn DueWork>>,
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

impl BillingService {
    pub fn new(
        vault: Arc<VaultService>,
        store: Arc<dyn BillingStore>,
        clock: Clock,
        batch: usize,
    ) -> Self {
        Self {
            engine: Engine::new(vault.clone(), store.clone(), batch),
            clock,
            vault,
            store,
            jobs: Jobs::default(),
            due_work: None,
        }
    }

    /// Counts the engine's charges and runs in the process's metrics.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.engine = self.engine.with_metrics(metrics);
        self
    }

    /// Runs `work` on each clock advance, after the clock moves and before billing.
    pub fn with_due_work(mut self, work: Arc<dyn DueWork>) -> Self {
        self.due_work = Some(work);
        self
    }

    pub async fn add_plan(
        &self,
        merchant_id: i64,
        request: PlanRequest,
        now: DateTime<Utc>,
    ) -> Result<PlanRow, VaultError> {
        let mut problems = Problems::default();
        for (field, missing) in [
            ("plan_code", request.plan_code.is_none()),
            ("plan_name", request.plan_name.is_none()),
            ("plan_desc", request.plan_desc.is_none()),
            ("plan_frequency", request.plan_frequency.is_none()),
            ("plan_duration", request.plan_duration.is_none()),
            ("amt_tran", request.amt_tran.is_none()),
        ] {
            if missing {
                problems.push(format!("{field}: is required"));
            }
        }
        let mut plan = PlanRow {
            merchant_id,
            plan_code: request.plan_code.clone().unwrap_or_default(),
            interval: 1,
            tran_currency: "840".into(),
            status: PlanStatus::Active.code().into(),
            db_timestamp: timestamp(now),
            mod_timestamp: timestamp(now),
            ..PlanRow::default()
        };
        plans::apply(&mut plan, &request, &mut problems);
        problems.into_result()?;
        Ok(self.store.insert_plan(&plan).await?)
    }

    pub async fn plan(&self, merchant_id: i64, plan_code: &str) -> Result<PlanRow, VaultError> {
        Ok(self.store.plan(merchant_id, plan_code).await?)
    }

    pub async fn browse_plans(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<PlanRow>, VaultError> {
        Ok(self.store.browse_plans(merchant_id, query).await?)
    }

    /// Changes a plan. Existing subscriptions keep the values they were made with.
    pub async fn update_plan(
        &self,
        merchant_id: i64,
        plan_code: &str,
        request: PlanRequest,
        now: DateTime<Utc>,
    ) -> Result<PlanRow, VaultError> {
        let mut plan = self.store.plan(merchant_id, plan_code).await?;
        let mut problems = Problems::default();
        if request
            .plan_code
            .as_deref()
            .is_some_and(|code| code != plan_code)
        {
            problems.push("plan_code: cannot be changed");
        }
        plans::apply(&mut plan, &request, &mut problems);
        problems.into_result()?;
        plan.mod_timestamp = timestamp(now);
        Ok(self.store.save_plan(&plan).await?)
    }

    /// An archived plan takes no new subscriptions; existing ones go on. The body is optional;
    /// when it is sent, its `plan_name` is required (`ArchiveRecurringPlanRequest`).
    pub async fn archive_plan(
        &self,
        merchant_id: i64,
        plan_code: &str,
        request: Option<ArchivePlanRequest>,
        now: DateTime<Utc>,
    ) -> Result<PlanRow, VaultError> {
        let mut plan = self.store.plan(merchant_id, plan_code).await?;
        if let Some(request) = request
            && request.plan_name.as_deref().is_none_or(str::is_empty)
        {
            return Err(VaultError::invalid("plan_name: is required"));
        }
        plan.status = PlanStatus::Archived.code().into();
        plan.mod_timestamp = timestamp(now);
        Ok(self.store.save_plan(&plan).await?)
    }

    pub async fn delete_plan(
        &self,
        merchant_id: i64,
        plan_id: i64,
        now: DateTime<Utc>,
    ) -> Result<PlanRow, VaultError> {
        Ok(self.store.delete_plan(merchant_id, plan_id, now).await?)
    }

    pub async fn add_subscription(
        &self,
        merchant_id: i64,
        request: AddSubscriptionRequest,
        now: DateTime<Utc>,
    ) -> Result<Subscription, VaultError> {
        let mut problems = Problems::default();
        let today = now.date_naive();
        let start = match request.date_start.as_deref().map(|d| (d, date(d))) {
            None => {
                problems.push("date_start: is required (YYYY-MM-DD)");
                None
            }
            Some((_, None)) => {
                problems.push("date_start: must be a date, YYYY-MM-DD");
                None
            }
            Some((_, Some(start))) if start < today => {
                problems.push(format!(
                    "date_start: must be today ({}) or later",
                    day(today)
                ));
                None
            }
            Some((_, Some(start))) => Some(start),
        };
        if request.customer.is_some() {
            problems.push("customer: this vault adds subscriptions for existing customers only; send customer_id");
        }
        let Some(customer_id) = request.customer_id.clone().filter(|id| !id.is_empty()) else {
            problems.push("customer_id: is required");
            return Err(VaultError::Validation(problems.messages));
        };
        let mut draft = match request.plan_code.as_deref() {
            Some(code) => {
                let plan = self.store.plan(merchant_id, code).await?;
                if plan.status == PlanStatus::Archived.code() {
                    problems.push("plan_code: the plan is archived and takes no new subscriptions");
                }
                Draft::on_plan(&plan, &mut problems)
            }
            None => Draft::off_plan(&request, &mut problems),
        };
        if let Some(amount) = request.amt_tran {
            match check_amount("amt_tran", amount) {
                Ok(amount) => draft.recur_amt = cents(amount),
                Err(error) => problems.push(error),
            }
        }
        if let Some(amount) = request.amt_setup {
            match check_amount("amt_setup", amount) {
                Ok(amount) => draft.amt_setup = Some(cents(amount)),
                Err(error) => problems.push(error),
            }
        }
        if request.amt_setup_ignore == Some(true) {
            draft.amt_setup = None;
        }
        match self
            .billing_card(merchant_id, &customer_id, request.card_id.as_deref())
            .await
        {
            Ok(card_id) => draft.card_id = card_id,
            Err(VaultError::Validation(messages)) => problems.messages.extend(messages),
            Err(other) => return Err(other),
        }
        problems.into_result()?;
        let (Some(schedule), Some(length)) = (draft.schedule, draft.length) else {
            return Err(VaultError::invalid(
                "plan_frequency: the schedule is not valid",
            ));
        };
        let start = start.unwrap_or(today);
        let first = schedule.first_billing_date(start);
        let anchor_day = schedule.anchor_day(first);
        let terms = Terms {
            schedule,
            length,
            trial_cycles: draft.trial_cycles,
            amt_setup: draft.amt_setup,
            trial_amt: draft.trial_amt,
            recur_amt: draft.recur_amt,
            prorate_amt: draft.prorate_amt(&schedule, start, first, anchor_day),
            tran_currency: draft
                .tran_currency
                .or(request.tran_currency.clone())
                .unwrap_or_else(|| "840".into()),
        };
        let sub = Subscription {
            plan_id: draft.plan_id,
            plan_code: draft.plan_code,
            plan_name: draft.plan_name,
            plan_desc: draft.plan_desc,
            profile_id: request.profile_id.clone(),
            purchase_id: request.purchase_id.clone(),
            cancel_on_setup_fail: request.cancel_on_setup_fail.unwrap_or(false),
            ..Subscription::new(
                merchant_id,
                customer_id,
                draft.card_id,
                terms,
                start,
                first,
                now,
            )
        };
        Ok(self.store.insert_subscription(&sub).await?)
    }

    /// The card a subscription bills: the one named, which must be the customer's, or else the
    /// customer's primary payment method.
    async fn billing_card(
        &self,
        merchant_id: i64,
        customer_id: &str,
        card_id: Option<&str>,
    ) -> Result<String, VaultError> {
        let record = self.vault.customer(merchant_id, customer_id).await?;
        let found = match card_id {
            Some(card_id) => record.cards.iter().find(|c| c.card_id == card_id),
            None => record.cards.iter().find(|c| c.is_primary),
        };
        match (found, card_id) {
            (Some(card), _) => Ok(card.card_id.clone()),
            (None, Some(_)) => Err(VaultError::invalid(
                "card_id: the customer has no such card",
            )),
            (None, None) => Err(VaultError::invalid(
                "card_id: the customer has no card to bill",
            )),
        }
    }

    /// The subscription with its last payment attempt.
    pub async fn subscription(
        &self,
        merchant_id: i64,
        subscription_id: i64,
    ) -> Result<(Subscription, Option<TransactionRow>), VaultError> {
        let sub = self
            .store
            .subscription(merchant_id, subscription_id)
            .await?;
        let query = BrowseQuery {
            conditions: vec![subscription_condition(subscription_id)],
            order_on: &TRANSACTION_FIELDS[3],
            descending: true,
            count: 1,
            page: 0,
        };
        let last = self
            .store
            .browse_transactions(merchant_id, &query)
            .await?
            .items
            .pop();
        Ok((sub, last))
    }

    pub async fn browse_subscriptions(
        &self,
        merchant_id: i64,
        query: &BrowseQuery,
    ) -> Result<Page<Subscription>, VaultError> {
        Ok(self.store.browse_subscriptions(merchant_id, query).await?)
    }

    /// `date_start` moves the next billing date; `card_id` changes the card (and re-activates a
    /// suspended subscription); `plan_code` and `amt_tran` change what it bills from now on.
    pub async fn update_subscription(
        &self,
        merchant_id: i64,
        subscription_id: i64,
        request: UpdateSubscriptionRequest,
        now: DateTime<Utc>,
    ) -> Result<Subscription, VaultError> {
        let today = now.date_naive();
        let next = match request.date_start.as_deref() {
            Some(text) => Some(
                date(text)
                    .ok_or_else(|| VaultError::invalid("date_start: must be a date, YYYY-MM-DD"))?,
            ),
            None => None,
        };
        let amount = match request.amt_tran {
            Some(amount) => Some(cents(
                check_amount("amt_tran", amount).map_err(|e| VaultError::invalid(e.to_string()))?,
            )),
            None => None,
        };
        // What needs the database is looked up first; the change itself is then applied to
        // the subscription as it is when written (its customer never changes).
        let current = self
            .store
            .subscription(merchant_id, subscription_id)
            .await?;
        let card_id = match request.card_id.as_deref() {
            Some(card_id) => Some(
                self.billing_card(merchant_id, &current.customer_id, Some(card_id))
                    .await?,
            ),
            None => None,
        };
        let plan = match request.plan_code.as_deref() {
            Some(code) => {
                let plan = self.store.plan(merchant_id, code).await?;
                let mut problems = Problems::default();
                let draft = Draft::on_plan(&plan, &mut problems);
                problems.into_result()?;
                Some(draft)
            }
            None => None,
        };
        self.change(merchant_id, subscription_id, now, |sub| {
            if sub.due().is_none() {
                return Err(TransitionError::Ended.into());
            }
            if let Some(card_id) = &card_id {
                sub.change_card(card_id.clone(), today)?;
            }
            if let Some(next) = next {
                sub.reschedule(next, today)?;
            }
            if request.profile_id.is_some() {
                sub.profile_id = request.profile_id.clone();
            }
            if let Some(plan) = &plan {
                plan.apply_plan(sub)?;
            }
            if let Some(amount) = amount {
                sub.terms.recur_amt = amount;
            }
            Ok(())
        })
        .await
    }

    /// Pause, resume or cancel. The body's `customer_id` must be the subscription's.
    pub async fn act(
        &self,
        merchant_id: i64,
        subscription_id: i64,
        request: SubscriptionActionRequest,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<Subscription, VaultError> {
        self.change(merchant_id, subscription_id, now, |sub| {
            if request.customer_id != sub.customer_id {
                return Err(VaultError::NotFound(
                    "subscription_id: no such subscription for this customer_id".into(),
                ));
            }
            match action {
                Action::Pause => sub.pause()?,
                Action::Resume => sub.resume(now.date_naive())?,
                Action::Cancel => sub.cancel()?,
            }
            Ok(())
        })
        .await
    }

    /// Reads the subscription, applies `change` and writes it back if nothing (the engine, say)
    /// wrote it in between; otherwise reads it again and retries. A pause or cancel that this
    /// returns has committed: no claim made after it can see the subscription as active.
    async fn change(
        &self,
        merchant_id: i64,
        subscription_id: i64,
        now: DateTime<Utc>,
        change: impl Fn(&mut Subscription) -> Result<(), VaultError>,
    ) -> Result<Subscription, VaultError> {
        for _ in 0..SAVE_ATTEMPTS {
            let mut sub = self
                .store
                .subscription(merchant_id, subscription_id)
                .await?;
            change(&mut sub)?;
            sub.updated_at = now;
            match self.store.save_subscription(&sub).await {
                Err(StoreError::Concurrent) => continue,
                saved => return Ok(saved?),
            }
        }
        Err(StoreError::Concurrent.into())
    }

    /// Payment attempts, of one subscription or all.
    pub async fn browse_transactions(
        &self,
        merchant_id: i64,
        mut query: BrowseQuery,
        subscription_id: Option<i64>,
    ) -> Result<Page<TransactionRow>, VaultError> {
        if let Some(id) = subscription_id {
            self.store.subscription(merchant_id, id).await?;
            query.conditions.push(subscription_condition(id));
        }
        Ok(self.store.browse_transactions(merchant_id, &query).await?)
    }

    /// Moves the merchant's clock forward and bills everything that fell due, as a job that
    /// runs to its end whatever happens to the request that started it.
    pub fn advance_clock(
        self: &Arc<Self>,
        merchant_id: i64,
        by: IsoDuration,
    ) -> watch::Receiver<JobReport> {
        let billing = self.clone();
        self.jobs.start(merchant_id, move |progress| async move {
            let now = billing.clock.advance(merchant_id, &by).await?;
            progress.clock_moved(now);
            if let Some(work) = &billing.due_work {
                work.run_due(merchant_id, now).await?;
            }
            let total = billing
                .engine
                .run(merchant_id, now, &|total| progress.billed(total))
                .await?;
            progress.billed(total);
            Ok(())
        })
    }
}

fn subscription_condition(subscription_id: i64) -> Condition {
    Condition {
        field: &TRANSACTION_FIELDS[0],
        op: Operator::Eq(Value::Integer(subscription_id)),
    }
}

/// What `POST /subscription/{id}/pause|resume|cancel` does.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Pause,
    Resume,
    Cancel,
}

/// A new subscription's terms while its request is checked: what the plan (or the request,
/// off plan) says, before the start date fixes the first billing date and the proration.
#[derive(Default)]
struct Draft {
    card_id: String,
    plan_id: Option<i64>,
    plan_code: Option<String>,
    plan_name: Option<String>,
    plan_desc: Option<String>,
    schedule: Option<Schedule>,
    length: Option<Length>,
    trial_cycles: u32,
    amt_setup: Option<Cents>,
    trial_amt: Option<Cents>,
    recur_amt: Cents,
    /// A fixed prorated first payment, or (marked by `Some(0)`) one worked out from the days.
    prorate: Option<Cents>,
    tran_currency: Option<String>,
}

impl Draft {
    /// Plan values, copied into the subscription (later plan changes don't touch it).
    fn on_plan(plan: &PlanRow, problems: &mut Problems) -> Self {
        let schedule = plans::schedule(plan).map_err(|e| problems.push(e)).ok();
        let length = Length::from_code(plan.plan_duration);
        if length.is_none() {
            problems.push("plan_duration: the plan's duration is not valid");
        }
        Self {
            plan_id: Some(plan.plan_id),
            plan_code: Some(plan.plan_code.clone()),
            plan_name: Some(plan.plan_name.clone()),
            plan_desc: Some(plan.plan_desc.clone()),
            schedule,
            length,
            trial_cycles: u32::try_from(plan.trial_duration).unwrap_or(0),
            amt_setup: plan.amt_setup,
            trial_amt: plan.amt_trial,
            recur_amt: plan.amt_tran,
            prorate: plan
                .prorate_first_pmt
                .then(|| plan.amt_prorate.unwrap_or(0)),
            tran_currency: Some(plan.tran_currency.clone()),
            ..Self::default()
        }
    }

    /// An off-plan subscription carries its own frequency, duration and amount.
    fn off_plan(request: &AddSubscriptionRequest, problems: &mut Problems) -> Self {
        let frequency = match request.plan_frequency {
            Some(code) => Frequency::from_code(code).or_else(|| {
                problems.push("plan_frequency: must be 0, 1, 3, 4, 5, 6 or 7");
                None
            }),
            None => {
                problems.push("plan_frequency: is required without plan_code");
                None
            }
        };
        let length = match request.plan_duration {
            Some(code) => Length::from_code(code).or_else(|| {
                problems.push(
                    "plan_duration: must be -1 (until cancelled) or 1 to 9999 billing cycles",
                );
                None
            }),
            None => {
                problems.push("plan_duration: is required without plan_code");
                None
            }
        };
        if request.amt_tran.is_none() {
            problems.push("amt_tran: is required without plan_code");
        }
        let interval = match request.interval {
            Some(interval) if (1..=99).contains(&interval) => u32::try_from(interval).ok(),
            Some(_) => {
                problems.push("interval: must be 1 to 99");
                None
            }
            None => Some(1),
        };
        let schedule = match (frequency, interval) {
            (Some(frequency), Some(interval)) => Schedule::new(frequency, interval, None)
                .map_err(|e| problems.push(e))
                .ok(),
            _ => None,
        };
        Self {
            plan_desc: request.plan_desc.clone(),
            schedule,
            length,
            ..Self::default()
        }
    }

    /// The prorated first payment of a subscription starting on `start` whose first billing
    /// day is `first`: it covers the days in between.
    fn prorate_amt(
        &self,
        schedule: &Schedule,
        start: NaiveDate,
        first: NaiveDate,
        anchor_day: u32,
    ) -> Option<Cents> {
        match self.prorate {
            Some(0) if first > start => {
                let previous = schedule.previous_billing_date(first, anchor_day);
                let full = (first - previous).num_days();
                Some(cents(prorated_amount(
                    money::dollars(self.recur_amt),
                    start,
                    first,
                    full,
                )))
            }
            Some(fixed) if first > start => Some(fixed),
            _ => None,
        }
    }

    /// Moves an existing subscription onto this plan's terms, from its next cycle on.
    fn apply_plan(&self, sub: &mut Subscription) -> Result<(), VaultError> {
        let (Some(schedule), Some(length)) = (self.schedule, self.length) else {
            return Err(VaultError::invalid(
                "plan_code: the plan's schedule is not valid",
            ));
        };
        sub.plan_id = self.plan_id;
        sub.plan_code.clone_from(&self.plan_code);
        sub.plan_name.clone_from(&self.plan_name);
        sub.plan_desc.clone_from(&self.plan_desc);
        sub.terms = Terms {
            schedule,
            length,
            trial_cycles: self.trial_cycles,
            amt_setup: self.amt_setup,
            trial_amt: self.trial_amt,
            recur_amt: self.recur_amt,
            prorate_amt: sub.terms.prorate_amt,
            tran_currency: self
                .tran_currency
                .clone()
                .unwrap_or_else(|| sub.terms.tran_currency.clone()),
        };
        Ok(())
    }
}
