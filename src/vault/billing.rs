//! Recurring billing in the vault: plans, subscriptions on them (or off them), and the engine
//! that charges subscriptions when they fall due, exactly once per billing event.
//!
//! - [`plans`] and [`subscriptions`] hold the rules; [`schedule`] the date and amount arithmetic;
//! - [`engine`] claims, charges and records payment attempts; [`clock`] is the sandbox clock.

pub mod clock;
pub mod engine;
pub mod money;
pub mod plans;
pub mod schedule;
pub mod subscriptions;

use std::sync::Arc;

use chrono::Utc;

use self::clock::Clock;
use self::engine::Engine;
use self::money::cents;
use self::schedule::{check_amount, prorated_amount};
use self::subscriptions::{ACTIVE, CANCELLED, COMPLETE, PAUSED, SUSPENDED, date, day};
use crate::qualpay::{
    AddSubscriptionRequest, ArchivePlanRequest, PlanRequest, SubscriptionActionRequest,
    UpdateSubscriptionRequest,
};
use crate::vault::error::VaultError;
use crate::vault::filter::{Condition, Operator, Value};
use crate::vault::service::VaultService;
use crate::vault::store::billing::{
    BillingStore, PlanRow, SubscriptionRow, TRANSACTION_FIELDS, TransactionRow,
};
use crate::vault::store::{BrowseQuery, Page, timestamp};
use crate::vault::validate::Problems;

pub struct BillingService {
    vault: Arc<VaultService>,
    store: Arc<dyn BillingStore>,
    pub clock: Clock,
    pub engine: Engine,
}

impl BillingService {
    pub fn new(vault: Arc<VaultService>, store: Arc<dyn BillingStore>) -> Self {
        Self {
            clock: Clock::new(store.clone()),
            engine: Engine::new(vault.clone(), store.clone()),
            vault,
            store,
        }
    }

    pub async fn add_plan(
        &self,
        merchant_id: i64,
        request: PlanRequest,
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
        let now = timestamp(Utc::now());
        let mut plan = PlanRow {
            merchant_id,
            plan_code: request.plan_code.clone().unwrap_or_default(),
            interval: 1,
            tran_currency: "840".into(),
            status: "E".into(),
            db_timestamp: now.clone(),
            mod_timestamp: now,
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
        plan.mod_timestamp = timestamp(Utc::now());
        Ok(self.store.save_plan(&plan).await?)
    }

    /// An archived plan takes no new subscriptions; existing ones go on.
    pub async fn archive_plan(
        &self,
        merchant_id: i64,
        plan_code: &str,
        request: ArchivePlanRequest,
    ) -> Result<PlanRow, VaultError> {
        let mut plan = self.store.plan(merchant_id, plan_code).await?;
        if request.plan_name.as_deref().is_none_or(str::is_empty) {
            return Err(VaultError::invalid("plan_name: is required"));
        }
        plan.status = "A".into();
        plan.mod_timestamp = timestamp(Utc::now());
        Ok(self.store.save_plan(&plan).await?)
    }

    pub async fn delete_plan(&self, merchant_id: i64, plan_id: i64) -> Result<PlanRow, VaultError> {
        Ok(self.store.delete_plan(merchant_id, plan_id).await?)
    }

    pub async fn add_subscription(
        &self,
        merchant_id: i64,
        request: AddSubscriptionRequest,
    ) -> Result<SubscriptionRow, VaultError> {
        let mut problems = Problems::default();
        let today = self.clock.today(merchant_id).await?;
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
        let mut sub = SubscriptionRow {
            merchant_id,
            customer_id: customer_id.clone(),
            status: ACTIVE.into(),
            profile_id: request.profile_id.clone(),
            purchase_id: request.purchase_id.clone(),
            cancel_on_setup_fail: request.cancel_on_setup_fail.unwrap_or(false),
            tran_currency: request
                .tran_currency
                .clone()
                .unwrap_or_else(|| "840".into()),
            interval: 1,
            ..SubscriptionRow::default()
        };
        match request.plan_code.as_deref() {
            Some(code) => {
                self.on_plan(&mut sub, merchant_id, code, &mut problems)
                    .await?
            }
            None => off_plan(&mut sub, &request, &mut problems),
        }
        if let Some(amount) = request.amt_tran {
            match check_amount("amt_tran", amount) {
                Ok(amount) => sub.recur_amt = cents(amount),
                Err(error) => problems.push(error),
            }
        }
        if let Some(amount) = request.amt_setup {
            match check_amount("amt_setup", amount) {
                Ok(amount) => sub.amt_setup = Some(cents(amount)),
                Err(error) => problems.push(error),
            }
        }
        if request.amt_setup_ignore == Some(true) {
            sub.amt_setup = None;
        }
        let card = self
            .billing_card(merchant_id, &customer_id, request.card_id.as_deref())
            .await;
        match card {
            Ok(card_id) => sub.card_id = card_id,
            Err(VaultError::Validation(messages)) => problems.messages.extend(messages),
            Err(other) => return Err(other),
        }
        problems.into_result()?;
        let start = start.unwrap_or(today);
        let schedule = subscriptions::schedule(&sub);
        let first = schedule.first_billing_date(start);
        let anchor = schedule.anchor_day(first);
        sub.anchor_day = i32::try_from(anchor).unwrap_or(1);
        // A prorated first payment covers the days from the start to the first billing day.
        sub.prorate_amt = match sub.prorate_amt {
            Some(0) if first > start => {
                let previous = subscriptions::previous_billing_date(&schedule, first, anchor);
                let full = (first - previous).num_days();
                Some(cents(prorated_amount(
                    money::dollars(sub.recur_amt),
                    start,
                    first,
                    full,
                )))
            }
            Some(fixed) if first > start => Some(fixed),
            _ => None,
        };
        sub.date_start = day(start);
        sub.first_billing = day(first);
        sub.next_event = subscriptions::first_event(&sub);
        let date_next = if sub.next_event < 0 {
            day(start)
        } else {
            day(first)
        };
        sub.date_next = Some(date_next.clone());
        sub.next_attempt_on = Some(date_next);
        let now = timestamp(Utc::now());
        sub.created_at = now.clone();
        sub.updated_at = now;
        Ok(self.store.insert_subscription(&sub).await?)
    }

    /// Plan values, copied into the subscription (later plan changes don't touch it).
    async fn on_plan(
        &self,
        sub: &mut SubscriptionRow,
        merchant_id: i64,
        plan_code: &str,
        problems: &mut Problems,
    ) -> Result<(), VaultError> {
        let plan = self.store.plan(merchant_id, plan_code).await?;
        if plan.status == "A" {
            problems.push("plan_code: the plan is archived and takes no new subscriptions");
        }
        sub.plan_id = Some(plan.plan_id);
        sub.plan_code = Some(plan.plan_code);
        sub.plan_name = Some(plan.plan_name);
        sub.plan_desc = Some(plan.plan_desc);
        sub.plan_frequency = plan.plan_frequency;
        sub.interval = plan.interval;
        sub.plan_duration = plan.plan_duration;
        sub.trial_duration = plan.trial_duration;
        sub.trial_amt = plan.amt_trial;
        sub.amt_setup = plan.amt_setup;
        sub.recur_amt = plan.amt_tran;
        sub.tran_currency = plan.tran_currency;
        sub.bill_specific_day = plan.bill_specific_day;
        sub.day_of_week = plan.day_of_week;
        sub.day_of_month = plan.day_of_month;
        sub.month = plan.month;
        // A fixed prorate amount of the plan, or (marked by Some(0)) one computed from the days.
        sub.prorate_amt = plan
            .prorate_first_pmt
            .then(|| plan.amt_prorate.unwrap_or(0));
        Ok(())
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
    ) -> Result<(SubscriptionRow, Option<TransactionRow>), VaultError> {
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
    ) -> Result<Page<SubscriptionRow>, VaultError> {
        Ok(self.store.browse_subscriptions(merchant_id, query).await?)
    }

    /// `date_start` moves the next billing date; `card_id` changes the card (and re-activates a
    /// suspended subscription); `plan_code` and `amt_tran` change what it bills from now on.
    pub async fn update_subscription(
        &self,
        merchant_id: i64,
        subscription_id: i64,
        request: UpdateSubscriptionRequest,
    ) -> Result<SubscriptionRow, VaultError> {
        let before = self
            .store
            .subscription(merchant_id, subscription_id)
            .await?;
        let mut sub = before.clone();
        let mut problems = Problems::default();
        let today = self.clock.today(merchant_id).await?;
        if matches!(sub.status.as_str(), CANCELLED | COMPLETE) {
            return Err(VaultError::invalid(
                "subscription_id: the subscription has ended",
            ));
        }
        if let Some(card_id) = request.card_id.as_deref() {
            sub.card_id = self
                .billing_card(merchant_id, &sub.customer_id, Some(card_id))
                .await?;
            if sub.status == SUSPENDED {
                subscriptions::resume(&mut sub, today);
            }
        }
        if let Some(next) = request.date_start.as_deref() {
            match date(next) {
                Some(next) if next >= today && sub.next_event >= 0 => {
                    sub.date_next = Some(day(next));
                    sub.next_attempt_on = Some(day(next));
                    sub.anchor_day = i32::try_from(chrono::Datelike::day(&next)).unwrap_or(1);
                }
                Some(_) if sub.next_event < 0 => {
                    problems.push("date_start: the start charges are not billed yet")
                }
                Some(_) => problems.push(format!(
                    "date_start: must be today ({}) or later",
                    day(today)
                )),
                None => problems.push("date_start: must be a date, YYYY-MM-DD"),
            }
        }
        if request.profile_id.is_some() {
            sub.profile_id = request.profile_id.clone();
        }
        if let Some(code) = request.plan_code.as_deref() {
            let status = std::mem::take(&mut sub.status);
            self.on_plan(&mut sub, merchant_id, code, &mut problems)
                .await?;
            sub.status = status;
        }
        if let Some(amount) = request.amt_tran {
            match check_amount("amt_tran", amount) {
                Ok(amount) => sub.recur_amt = cents(amount),
                Err(error) => problems.push(error),
            }
        }
        problems.into_result()?;
        sub.updated_at = timestamp(Utc::now());
        Ok(self
            .store
            .save_subscription(&sub, &before.updated_at)
            .await?)
    }

    /// Pause, resume or cancel. The body's `customer_id` must be the subscription's.
    pub async fn act(
        &self,
        merchant_id: i64,
        subscription_id: i64,
        request: SubscriptionActionRequest,
        action: Action,
    ) -> Result<SubscriptionRow, VaultError> {
        let before = self
            .store
            .subscription(merchant_id, subscription_id)
            .await?;
        if request.customer_id != before.customer_id {
            return Err(VaultError::NotFound(
                "subscription_id: no such subscription for this customer_id".into(),
            ));
        }
        let mut sub = before.clone();
        let allowed = match action {
            Action::Pause => sub.status == ACTIVE,
            Action::Resume => sub.status == PAUSED || sub.status == SUSPENDED,
            Action::Cancel => !matches!(sub.status.as_str(), CANCELLED | COMPLETE),
        };
        if !allowed {
            return Err(VaultError::Conflict(format!(
                "status: a subscription with status {} cannot be {}",
                sub.status,
                action.past()
            )));
        }
        match action {
            Action::Pause => sub.status = PAUSED.into(),
            Action::Resume => subscriptions::resume(&mut sub, self.clock.today(merchant_id).await?),
            Action::Cancel => subscriptions::cancel(&mut sub),
        }
        sub.updated_at = timestamp(Utc::now());
        Ok(self
            .store
            .save_subscription(&sub, &before.updated_at)
            .await?)
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

impl Action {
    fn past(self) -> &'static str {
        match self {
            Self::Pause => "paused",
            Self::Resume => "resumed",
            Self::Cancel => "cancelled",
        }
    }
}

/// An off-plan subscription carries its own frequency, duration and amount.
fn off_plan(sub: &mut SubscriptionRow, request: &AddSubscriptionRequest, problems: &mut Problems) {
    match request.plan_frequency {
        Some(frequency) if schedule::Frequency::from_code(frequency).is_some() => {
            sub.plan_frequency = frequency
        }
        Some(_) => problems.push("plan_frequency: must be 0, 1, 3, 4, 5, 6 or 7"),
        None => problems.push("plan_frequency: is required without plan_code"),
    }
    match request.plan_duration {
        Some(duration) if duration == -1 || (1..=9999).contains(&duration) => {
            sub.plan_duration = duration
        }
        Some(_) => {
            problems.push("plan_duration: must be -1 (until cancelled) or 1 to 9999 billing cycles")
        }
        None => problems.push("plan_duration: is required without plan_code"),
    }
    if request.amt_tran.is_none() {
        problems.push("amt_tran: is required without plan_code");
    }
    match request.interval {
        Some(interval) if (1..=99).contains(&interval) => sub.interval = interval,
        Some(_) => problems.push("interval: must be 1 to 99"),
        None => {}
    }
    sub.plan_desc = request.plan_desc.clone();
}
