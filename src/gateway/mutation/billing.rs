//! Plan and subscription mutations.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use rust_decimal::Decimal;

use super::per_mutation;
use crate::gateway::access::{self, Permission};
use crate::gateway::context::{loaders, request_time, upstream};
use crate::gateway::error::{GatewayError, gql};
use crate::gateway::types::codes::{BillingFrequency, Date};
use crate::gateway::types::{BillingSubscription, Customer, Plan, linked_customer};
use crate::qualpay::{
    AddSubscriptionRequest, ArchivePlanRequest, PlanRequest, RecurringPlan, Subscription,
    SubscriptionActionRequest, UpdateSubscriptionRequest,
};
use crate::upstream::UpstreamError;

#[derive(Default)]
pub struct BillingMutations;

/// A new plan.
#[derive(InputObject)]
pub struct CreatePlanInput {
    /// Up to 16 letters, digits, `-` or `_`.
    pub plan_code: String,
    pub name: String,
    pub description: String,
    pub frequency: BillingFrequency,
    /// Bills every `interval` weeks or months (weekly and monthly plans).
    #[graphql(default = 1)]
    pub interval: i32,
    /// Billing cycles after the trial; -1 bills until cancelled.
    pub duration: i32,
    pub amount: Decimal,
    pub setup_amount: Option<Decimal>,
    pub trial_amount: Option<Decimal>,
    pub trial_duration: Option<i32>,
    /// ISO 4217 numeric code; `840` (US dollars) when absent.
    pub currency: Option<String>,
    pub bill_specific_day: Option<bool>,
    /// 1 = Sunday ... 7 = Saturday.
    pub day_of_week: Option<i32>,
    /// 1-31, or 32 for the last day of the month.
    pub day_of_month: Option<i32>,
    pub month: Option<i32>,
    pub prorate_first_payment: Option<bool>,
    pub prorate_amount: Option<Decimal>,
}

/// Fields that are given change; subscriptions already on the plan keep their terms.
#[derive(InputObject)]
pub struct UpdatePlanInput {
    pub plan_code: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub frequency: Option<BillingFrequency>,
    pub interval: Option<i32>,
    pub duration: Option<i32>,
    pub amount: Option<Decimal>,
    pub setup_amount: Option<Decimal>,
    pub trial_amount: Option<Decimal>,
    pub trial_duration: Option<i32>,
    pub currency: Option<String>,
    pub bill_specific_day: Option<bool>,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub month: Option<i32>,
    pub prorate_first_payment: Option<bool>,
    pub prorate_amount: Option<Decimal>,
}

per_mutation! {
    /// Names one of the merchant's plans.
    #[derive(InputObject)]
    { plan_code: String }
    as ArchivePlanInput, DeletePlanInput
}

/// A plan after a change.
pub struct PlanChange {
    plan: Plan,
}

per_mutation! {
    #[derive(SimpleObject)]
    from PlanChange
    { plan: Plan }
    as CreatePlanPayload, UpdatePlanPayload, ArchivePlanPayload
}

#[derive(SimpleObject)]
pub struct DeletePlanPayload {
    pub deleted_plan_code: String,
}

/// A new subscription: on a plan (`planCode`), or with its own `frequency`, `duration` and
/// `amount`.
#[derive(InputObject)]
pub struct CreateSubscriptionInput {
    pub customer_id: String,
    pub plan_code: Option<String>,
    /// The card to charge; the customer's primary payment method when absent.
    pub card_id: Option<String>,
    /// The first billing day; today (UTC) when absent.
    pub start_date: Option<Date>,
    /// Overrides the plan's amount per cycle.
    pub amount: Option<Decimal>,
    pub setup_amount: Option<Decimal>,
    /// Without a plan: how often it bills.
    pub frequency: Option<BillingFrequency>,
    pub interval: Option<i32>,
    /// Without a plan: billing cycles; -1 until cancelled.
    pub duration: Option<i32>,
    pub description: Option<String>,
}

/// Fields that are given change.
#[derive(InputObject)]
pub struct UpdateSubscriptionInput {
    pub subscription_id: ID,
    /// Moves the subscription to another plan's terms from the next cycle on.
    pub plan_code: Option<String>,
    /// Charges this card from now on (re-activates a suspended subscription).
    pub card_id: Option<String>,
    pub amount: Option<Decimal>,
    pub next_billing_date: Option<Date>,
}

per_mutation! {
    /// Names one subscription by the vault's id.
    #[derive(InputObject)]
    { subscription_id: ID }
    as PauseSubscriptionInput, ResumeSubscriptionInput, CancelSubscriptionInput
}

/// A subscription and its customer after a change.
pub struct SubscriptionChange {
    subscription: BillingSubscription,
    customer: Customer,
}

per_mutation! {
    #[derive(SimpleObject)]
    from SubscriptionChange
    { subscription: BillingSubscription, customer: Customer }
    as CreateSubscriptionPayload, UpdateSubscriptionPayload, PauseSubscriptionPayload,
        ResumeSubscriptionPayload, CancelSubscriptionPayload
}

#[Object]
impl BillingMutations {
    async fn create_plan(
        &self,
        ctx: &Context<'_>,
        input: CreatePlanInput,
    ) -> Result<CreatePlanPayload> {
        access::merchant_only(ctx)?;
        let request = PlanRequest {
            plan_code: Some(input.plan_code),
            plan_name: Some(input.name),
            plan_desc: Some(input.description),
            plan_frequency: Some(input.frequency.code()),
            interval: Some(input.interval),
            plan_duration: Some(input.duration),
            amt_tran: Some(input.amount),
            amt_setup: input.setup_amount,
            amt_trial: input.trial_amount,
            trial_duration: input.trial_duration,
            tran_currency: input.currency,
            bill_specific_day: input.bill_specific_day,
            day_of_week: input.day_of_week,
            day_of_month: input.day_of_month,
            month: input.month,
            prorate_first_pmt: input.prorate_first_payment,
            amt_prorate: input.prorate_amount,
            ..PlanRequest::default()
        };
        plan_payload(ctx, upstream(ctx)?.add_plan(&request).await).await
    }

    async fn update_plan(
        &self,
        ctx: &Context<'_>,
        input: UpdatePlanInput,
    ) -> Result<UpdatePlanPayload> {
        access::merchant_only(ctx)?;
        let request = PlanRequest {
            plan_name: input.name,
            plan_desc: input.description,
            plan_frequency: input.frequency.map(BillingFrequency::code),
            interval: input.interval,
            plan_duration: input.duration,
            amt_tran: input.amount,
            amt_setup: input.setup_amount,
            amt_trial: input.trial_amount,
            trial_duration: input.trial_duration,
            tran_currency: input.currency,
            bill_specific_day: input.bill_specific_day,
            day_of_week: input.day_of_week,
            day_of_month: input.day_of_month,
            month: input.month,
            prorate_first_pmt: input.prorate_first_payment,
            amt_prorate: input.prorate_amount,
            ..PlanRequest::default()
        };
        plan_payload(
            ctx,
            upstream(ctx)?.update_plan(&input.plan_code, &request).await,
        )
        .await
    }

    /// An archived plan takes no new subscriptions; existing ones go on.
    async fn archive_plan(
        &self,
        ctx: &Context<'_>,
        input: ArchivePlanInput,
    ) -> Result<ArchivePlanPayload> {
        access::merchant_only(ctx)?;
        let plan = existing_plan(ctx, &input.plan_code).await?;
        let request = ArchivePlanRequest {
            plan_name: plan.plan_name.clone(),
            merchant_id: None,
        };
        plan_payload(
            ctx,
            upstream(ctx)?
                .archive_plan(&input.plan_code, &request)
                .await,
        )
        .await
    }

    /// Deletes a plan that no live subscription uses.
    async fn delete_plan(
        &self,
        ctx: &Context<'_>,
        input: DeletePlanInput,
    ) -> Result<DeletePlanPayload> {
        access::merchant_only(ctx)?;
        let plan = existing_plan(ctx, &input.plan_code).await?;
        let plan_id = plan
            .plan_id
            .ok_or_else(|| gql(GatewayError::Internal("the plan has no plan_id".into())))?;
        upstream(ctx)?.delete_plan(plan_id).await.map_err(gql)?;
        loaders(ctx)?.forget_plans();
        Ok(DeletePlanPayload {
            deleted_plan_code: input.plan_code,
        })
    }

    async fn create_subscription(
        &self,
        ctx: &Context<'_>,
        input: CreateSubscriptionInput,
    ) -> Result<CreateSubscriptionPayload> {
        access::customer(
            ctx,
            &input.customer_id,
            Some(Permission::ManageSubscriptions),
        )?;
        let start = match input.start_date {
            Some(date) => date.to_wire(),
            None => Date(request_time(ctx)?.date_naive()).to_wire(),
        };
        let request = AddSubscriptionRequest {
            date_start: Some(start),
            customer_id: Some(input.customer_id),
            card_id: input.card_id,
            plan_code: input.plan_code,
            plan_desc: input.description,
            plan_frequency: input.frequency.map(BillingFrequency::code),
            interval: input.interval,
            plan_duration: input.duration,
            amt_setup: input.setup_amount,
            amt_tran: input.amount,
            ..AddSubscriptionRequest::default()
        };
        subscription_payload(ctx, upstream(ctx)?.add_subscription(&request).await).await
    }

    /// Changes the card, the next billing date, the plan or the amount.
    async fn update_subscription(
        &self,
        ctx: &Context<'_>,
        input: UpdateSubscriptionInput,
    ) -> Result<UpdateSubscriptionPayload> {
        access::needs(ctx, Permission::ManageSubscriptions)?;
        let id = subscription_id(&input.subscription_id)?;
        let request = UpdateSubscriptionRequest {
            date_start: input.next_billing_date.map(Date::to_wire),
            card_id: input.card_id,
            plan_code: input.plan_code.clone(),
            amt_tran: input.amount,
            ..UpdateSubscriptionRequest::default()
        };
        let updated = upstream(ctx)?
            .update_subscription(id, &request)
            .await
            .map_err(gql)?;
        // Qualpay's own update takes only the date and the card; an upstream that ignored the
        // plan or the amount must not look as if it had applied them.
        let ignored = input
            .plan_code
            .is_some_and(|code| updated.plan_code.as_deref() != Some(code.as_str()))
            || input
                .amount
                .is_some_and(|amount| updated.recur_amt != Some(amount));
        if ignored {
            return Err(gql(GatewayError::BadUserInput(
                "the vault does not support changing a subscription's plan or amount".into(),
            )));
        }
        subscription_payload(ctx, Ok(updated)).await
    }

    async fn pause_subscription(
        &self,
        ctx: &Context<'_>,
        input: PauseSubscriptionInput,
    ) -> Result<PauseSubscriptionPayload> {
        access::needs(ctx, Permission::ManageSubscriptions)?;
        act(ctx, &input.subscription_id, "pause").await
    }

    async fn resume_subscription(
        &self,
        ctx: &Context<'_>,
        input: ResumeSubscriptionInput,
    ) -> Result<ResumeSubscriptionPayload> {
        access::needs(ctx, Permission::ManageSubscriptions)?;
        act(ctx, &input.subscription_id, "resume").await
    }

    async fn cancel_subscription(
        &self,
        ctx: &Context<'_>,
        input: CancelSubscriptionInput,
    ) -> Result<CancelSubscriptionPayload> {
        access::needs(ctx, Permission::ManageSubscriptions)?;
        act(ctx, &input.subscription_id, "cancel").await
    }
}

async fn plan_payload<Payload: From<PlanChange>>(
    ctx: &Context<'_>,
    result: Result<RecurringPlan, UpstreamError>,
) -> Result<Payload> {
    let plan = Arc::new(result.map_err(gql)?);
    loaders(ctx)?.remember_plans([plan.clone()]).await;
    Ok(PlanChange {
        plan: Plan::new(plan),
    }
    .into())
}

async fn existing_plan(ctx: &Context<'_>, plan_code: &str) -> Result<Arc<RecurringPlan>> {
    loaders(ctx)?
        .plan(plan_code)
        .await
        .map_err(gql)?
        .ok_or_else(|| gql(GatewayError::NotFound(format!("no plan {plan_code}"))))
}

fn subscription_id(id: &ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| {
        gql(GatewayError::BadUserInput(format!(
            "subscriptionId '{}' is not a subscription id",
            id.as_str()
        )))
    })
}

async fn subscription_payload<Payload: From<SubscriptionChange>>(
    ctx: &Context<'_>,
    result: Result<Subscription, UpstreamError>,
) -> Result<Payload> {
    let subscription = Arc::new(result.map_err(gql)?);
    let loaders = loaders(ctx)?;
    loaders.remember_subscriptions([subscription.clone()]).await;
    loaders.forget_subscription_lists();
    let customer =
        linked_customer(ctx, subscription.customer_id.as_deref().unwrap_or_default()).await?;
    Ok(SubscriptionChange {
        subscription: BillingSubscription::new(subscription),
        customer,
    }
    .into())
}

/// Pause, resume or cancel: Qualpay wants the subscription's customer in the body.
async fn act<Payload: From<SubscriptionChange>>(
    ctx: &Context<'_>,
    id: &ID,
    action: &'static str,
) -> Result<Payload> {
    let id = subscription_id(id)?;
    let current = loaders(ctx)?
        .subscription(id)
        .await
        .map_err(gql)?
        .ok_or_else(|| gql(GatewayError::NotFound(format!("no subscription {id}"))))?;
    let request = SubscriptionActionRequest {
        customer_id: current.customer_id.clone().unwrap_or_default(),
        merchant_id: None,
    };
    subscription_payload(
        ctx,
        upstream(ctx)?
            .subscription_action(id, action, &request)
            .await,
    )
    .await
}
