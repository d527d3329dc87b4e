//! `/plan`: recurring billing plans.

use axum::Json;
use axum::extract::State;

use super::{PathParams, Reply, browse_query, reply, total_pages};
use crate::qualpay::{
    ArchivePlanRequest, ListResponse, PlanRequest, RecurringPlan, SUCCESS_MESSAGE,
};
use crate::vault::VaultState;
use crate::vault::auth::Caller;
use crate::vault::billing::wire::plan as to_wire;
use crate::vault::error::VaultError;
use crate::vault::extract::{JsonBody, OptionalJsonBody, QueryPairs};
use crate::vault::store::billing::PLAN_FIELDS;

pub async fn browse(
    State(state): State<VaultState>,
    caller: Caller,
    query: QueryPairs,
) -> Result<Json<ListResponse<RecurringPlan>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let browse = browse_query(&query, PLAN_FIELDS, "plan_code", false)?;
    let page = state.billing.browse_plans(merchant_id, &browse).await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: page.total_records,
        total_pages: total_pages(page.total_records, browse.count),
        data: page.items.into_iter().map(to_wire).collect(),
    }))
}

pub async fn add(
    State(state): State<VaultState>,
    caller: Caller,
    JsonBody(request): JsonBody<PlanRequest>,
) -> Reply<RecurringPlan> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    reply(to_wire(
        state.billing.add_plan(merchant_id, request, now).await?,
    ))
}

/// `GET /plan/{plan_code}` answers a `RecurringPlanListResponse` holding the plan.
pub async fn get(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(plan_code): PathParams<String>,
) -> Result<Json<ListResponse<RecurringPlan>>, VaultError> {
    let merchant_id = caller.merchant_id(None)?;
    let plan = state.billing.plan(merchant_id, &plan_code).await?;
    Ok(Json(ListResponse {
        code: 0,
        message: SUCCESS_MESSAGE.to_owned(),
        total_records: 1,
        total_pages: 1,
        data: vec![to_wire(plan)],
    }))
}

pub async fn update(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(plan_code): PathParams<String>,
    JsonBody(request): JsonBody<PlanRequest>,
) -> Reply<RecurringPlan> {
    let merchant_id = caller.merchant_id(request.merchant_id)?;
    let now = state.clock.now(merchant_id).await?;
    reply(to_wire(
        state
            .billing
            .update_plan(merchant_id, &plan_code, request, now)
            .await?,
    ))
}

pub async fn archive(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(plan_code): PathParams<String>,
    OptionalJsonBody(request): OptionalJsonBody<ArchivePlanRequest>,
) -> Reply<RecurringPlan> {
    let merchant_id = caller.merchant_id(request.as_ref().and_then(|r| r.merchant_id))?;
    let now = state.clock.now(merchant_id).await?;
    reply(to_wire(
        state
            .billing
            .archive_plan(merchant_id, &plan_code, request, now)
            .await?,
    ))
}

/// `DELETE /plan/{plan_id}/delete`: by the numeric `plan_id`, not the code.
pub async fn delete(
    State(state): State<VaultState>,
    caller: Caller,
    PathParams(plan_id): PathParams<String>,
) -> Reply<RecurringPlan> {
    let merchant_id = caller.merchant_id(None)?;
    let plan_id = plan_id
        .parse::<i64>()
        .map_err(|_| VaultError::invalid("plan_id: must be an integer"))?;
    let now = state.clock.now(merchant_id).await?;
    reply(to_wire(
        state.billing.delete_plan(merchant_id, plan_id, now).await?,
    ))
}
