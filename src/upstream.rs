//! The Qualpay REST client the gateway uses, for Qualpay itself or for the embedded vault alike:
//! one pooled `reqwest` client, HTTP Basic with the API key, connect and request timeouts, and
//! no automatic retry (Qualpay has no idempotency key, so a retried write could happen twice).
//! It knows nothing of the vault in this crate; it speaks only the wire format in [`crate::qualpay`].

mod error;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::UpstreamError;

use crate::metrics::Metrics;
use crate::qualpay::{
    AddBillingCardRequest, AddCustomerRequest, AddShippingAddressRequest, AddSubscriptionRequest,
    ApiResponse, ArchivePlanRequest, CardIdRequest, CustomerVault, ListResponse, PlanRequest,
    RecurringPlan, ShippingIdRequest, Subscription, SubscriptionActionRequest, Transaction,
    UpdateBillingCardRequest, UpdateCustomerRequest, UpdateShippingAddressRequest,
    UpdateSubscriptionRequest,
};

/// Idle pooled connections are closed before the 60 s keep-alive of common load balancers, so
/// the client never sends on a connection the other side is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Where Qualpay's API lives, e.g. `https://api-test.qualpay.com`; `/platform` is appended.
    pub base_url: String,
    pub api_key: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// Paging and filtering of a browse call, in Qualpay's grammar.
#[derive(Debug, Clone, Default)]
pub struct BrowseParams {
    pub count: i64,
    pub page: i64,
    pub order_on: Option<&'static str>,
    pub order_by: Option<&'static str>,
    pub filters: Vec<String>,
}

#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
    platform: Url,
    authorization: HeaderValue,
    metrics: Arc<Metrics>,
    /// The calls left to the GraphQL request this client serves; `None`: unbounded.
    budget: Option<Arc<CallBudget>>,
}

/// How many upstream calls one GraphQL request may still make.
struct CallBudget {
    left: AtomicU32,
    limit: u32,
}

impl CallBudget {
    /// Takes one call; false when none is left.
    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

impl Upstream {
    pub fn new(config: &UpstreamConfig, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let mut platform = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| anyhow::anyhow!("--upstream is not a URL: {e}"))?;
        if platform.cannot_be_a_base() {
            anyhow::bail!("--upstream must be an http(s) URL");
        }
        platform
            .path_segments_mut()
            .map_err(|()| anyhow::anyhow!("--upstream must be an http(s) URL"))?
            .pop_if_empty()
            .push("platform");
        let authorization = basic_authorization(&config.api_key)
            .ok_or_else(|| anyhow::anyhow!("the upstream API key cannot be sent in a header"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            platform,
            authorization,
            metrics,
            budget: None,
        })
    }

    /// The same client acting with another API key: the caller's own, passed through per
    /// GraphQL request. `None` when the key cannot be sent in a header.
    pub fn with_api_key(&self, api_key: &str) -> Option<Upstream> {
        Some(Upstream {
            authorization: basic_authorization(api_key)?,
            ..self.clone()
        })
    }

    /// The same client, allowed `limit` calls in all (its clones share them): one GraphQL
    /// request's, so that no query can make unbounded upstream work.
    pub fn with_call_budget(&self, limit: u32) -> Upstream {
        Upstream {
            budget: Some(Arc::new(CallBudget {
                left: AtomicU32::new(limit),
                limit,
            })),
            ..self.clone()
        }
    }

    /// `GET /vault/customer`: one page of customers, with their cards and addresses.
    pub async fn browse_customers(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<CustomerVault>, UpstreamError> {
        self.browse("/vault/customer", &["vault", "customer"], params)
            .await
    }

    /// `GET /plan`: one page of plans.
    pub async fn browse_plans(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<RecurringPlan>, UpstreamError> {
        self.browse("/plan", &["plan"], params).await
    }

    /// `GET /subscription`: one page of subscriptions.
    pub async fn browse_subscriptions(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<Subscription>, UpstreamError> {
        self.browse("/subscription", &["subscription"], params)
            .await
    }

    /// `GET /subscription/transactions`: one page of payment attempts of subscriptions.
    pub async fn browse_transactions(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<Transaction>, UpstreamError> {
        self.browse(
            "/subscription/transactions",
            &["subscription", "transactions"],
            params,
        )
        .await
    }

    pub async fn add_plan(&self, request: &PlanRequest) -> Result<RecurringPlan, UpstreamError> {
        data(
            self.send(Method::POST, "/plan", &["plan"], &[], Some(request))
                .await?,
        )
    }

    pub async fn update_plan(
        &self,
        plan_code: &str,
        request: &PlanRequest,
    ) -> Result<RecurringPlan, UpstreamError> {
        data(
            self.send(
                Method::PUT,
                "/plan/{plan_code}",
                &["plan", plan_code],
                &[],
                Some(request),
            )
            .await?,
        )
    }

    pub async fn archive_plan(
        &self,
        plan_code: &str,
        request: &ArchivePlanRequest,
    ) -> Result<RecurringPlan, UpstreamError> {
        data(
            self.send(
                Method::POST,
                "/plan/{plan_code}/archive",
                &["plan", plan_code, "archive"],
                &[],
                Some(request),
            )
            .await?,
        )
    }

    pub async fn delete_plan(&self, plan_id: i64) -> Result<RecurringPlan, UpstreamError> {
        let id = plan_id.to_string();
        data(
            self.send(
                Method::DELETE,
                "/plan/{plan_id}/delete",
                &["plan", &id, "delete"],
                &[],
                None::<&()>,
            )
            .await?,
        )
    }

    pub async fn add_subscription(
        &self,
        request: &AddSubscriptionRequest,
    ) -> Result<Subscription, UpstreamError> {
        data(
            self.send(
                Method::POST,
                "/subscription",
                &["subscription"],
                &[],
                Some(request),
            )
            .await?,
        )
    }

    pub async fn update_subscription(
        &self,
        subscription_id: i64,
        request: &UpdateSubscriptionRequest,
    ) -> Result<Subscription, UpstreamError> {
        let id = subscription_id.to_string();
        data(
            self.send(
                Method::PUT,
                "/subscription/{subscription_id}",
                &["subscription", &id],
                &[],
                Some(request),
            )
            .await?,
        )
    }

    /// `POST /subscription/{id}/pause`, `/resume` or `/cancel`.
    pub async fn subscription_action(
        &self,
        subscription_id: i64,
        action: &'static str,
        request: &SubscriptionActionRequest,
    ) -> Result<Subscription, UpstreamError> {
        let id = subscription_id.to_string();
        let route = match action {
            "pause" => "/subscription/{subscription_id}/pause",
            "resume" => "/subscription/{subscription_id}/resume",
            _ => "/subscription/{subscription_id}/cancel",
        };
        data(
            self.send(
                Method::POST,
                route,
                &["subscription", &id, action],
                &[],
                Some(request),
            )
            .await?,
        )
    }

    async fn browse<T: DeserializeOwned>(
        &self,
        route: &'static str,
        segments: &[&str],
        params: &BrowseParams,
    ) -> Result<ListResponse<T>, UpstreamError> {
        let mut query = vec![
            ("count", params.count.to_string()),
            ("page", params.page.to_string()),
        ];
        if let Some(order_on) = params.order_on {
            query.push(("order_on", order_on.to_owned()));
        }
        if let Some(order_by) = params.order_by {
            query.push(("order_by", order_by.to_owned()));
        }
        query.extend(params.filters.iter().map(|f| ("filter", f.clone())));
        self.send(Method::GET, route, segments, &query, None::<&()>)
            .await
    }

    pub async fn customer(&self, customer_id: &str) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::GET,
            "/vault/customer/{customer_id}",
            customer_id,
            None::<&()>,
        )
        .await
    }

    pub async fn add_customer(
        &self,
        request: &AddCustomerRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        data(
            self.send(
                Method::POST,
                "/vault/customer",
                &["vault", "customer"],
                &[],
                Some(request),
            )
            .await?,
        )
    }

    pub async fn update_customer(
        &self,
        customer_id: &str,
        request: &UpdateCustomerRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::PUT,
            "/vault/customer/{customer_id}",
            customer_id,
            Some(request),
        )
        .await
    }

    pub async fn delete_customer(&self, customer_id: &str) -> Result<(), UpstreamError> {
        let _: ApiResponse<serde_json::Value> = self
            .send(
                Method::DELETE,
                "/vault/customer/{customer_id}",
                &["vault", "customer", customer_id],
                &[],
                None::<&()>,
            )
            .await?;
        Ok(())
    }

    pub async fn add_card(
        &self,
        customer_id: &str,
        request: &AddBillingCardRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::POST,
            "/vault/customer/{customer_id}/billing",
            customer_id,
            Some(request),
        )
        .await
    }

    pub async fn update_card(
        &self,
        customer_id: &str,
        request: &UpdateBillingCardRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::PUT,
            "/vault/customer/{customer_id}/billing",
            customer_id,
            Some(request),
        )
        .await
    }

    pub async fn delete_card(
        &self,
        customer_id: &str,
        request: &CardIdRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::PUT,
            "/vault/customer/{customer_id}/billing/delete",
            customer_id,
            Some(request),
        )
        .await
    }

    pub async fn set_primary_card(
        &self,
        customer_id: &str,
        request: &CardIdRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::PUT,
            "/vault/customer/{customer_id}/billing/primary",
            customer_id,
            Some(request),
        )
        .await
    }

    pub async fn add_shipping_address(
        &self,
        customer_id: &str,
        request: &AddShippingAddressRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::POST,
            "/vault/customer/{customer_id}/shipping",
            customer_id,
            Some(request),
        )
        .await
    }

    pub async fn update_shipping_address(
        &self,
        customer_id: &str,
        request: &UpdateShippingAddressRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::PUT,
            "/vault/customer/{customer_id}/shipping",
            customer_id,
            Some(request),
        )
        .await
    }

    pub async fn delete_shipping_address(
        &self,
        customer_id: &str,
        shipping_id: i64,
    ) -> Result<CustomerVault, UpstreamError> {
        let id = shipping_id.to_string();
        data(
            self.send(
                Method::DELETE,
                "/vault/customer/{customer_id}/shipping/{id}",
                &["vault", "customer", customer_id, "shipping", &id],
                &[],
                None::<&()>,
            )
            .await?,
        )
    }

    pub async fn set_primary_shipping_address(
        &self,
        customer_id: &str,
        request: &ShippingIdRequest,
    ) -> Result<CustomerVault, UpstreamError> {
        self.customer_call(
            Method::PUT,
            "/vault/customer/{customer_id}/shipping/primary",
            customer_id,
            Some(request),
        )
        .await
    }

    /// Whether the vault answers an authenticated request (for `/readyz`).
    pub async fn ready(&self) -> Result<(), UpstreamError> {
        let params = BrowseParams {
            count: 1,
            ..BrowseParams::default()
        };
        self.browse_customers(&params).await.map(|_| ())
    }

    /// A call on a `/vault/customer/{customer_id}...` route answered by a `CustomerResponse`.
    /// `route` is the path template (also the metrics label); the id fills its placeholder.
    async fn customer_call<B: Serialize>(
        &self,
        method: Method,
        route: &'static str,
        customer_id: &str,
        body: Option<&B>,
    ) -> Result<CustomerVault, UpstreamError> {
        let segments: Vec<&str> = route
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| {
                if segment == "{customer_id}" {
                    customer_id
                } else {
                    segment
                }
            })
            .collect();
        data(self.send(method, route, &segments, &[], body).await?)
    }

    /// Sends one request and reads Qualpay's envelope. `route` is the path template, for metrics.
    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        route: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, UpstreamError> {
        if let Some(budget) = &self.budget
            && !budget.take()
        {
            return Err(UpstreamError::CallBudgetSpent {
                limit: budget.limit,
            });
        }
        let mut url = self.platform.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to be a base")
            .extend(segments);
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, self.authorization.clone())
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let result = request.send().await;
        let status = result.as_ref().ok().map(|r| r.status().as_u16());
        let outcome = match result {
            Ok(response) => read_envelope(response).await,
            Err(error) => Err(UpstreamError::from_reqwest(error)),
        };
        self.metrics
            .record_upstream(method.as_str(), route, status, started.elapsed());
        outcome
    }
}

/// `Authorization` as Qualpay takes an API key: HTTP Basic, the key as user name and an empty
/// password; marked sensitive so that no debug output shows it. `None` when the key cannot be
/// sent in a header.
pub fn basic_authorization(api_key: &str) -> Option<HeaderValue> {
    let mut value =
        HeaderValue::from_str(&format!("Basic {}", BASE64.encode(format!("{api_key}:")))).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Reads a response: an error envelope (non-zero `code` or non-2xx status) becomes
/// [`UpstreamError::Status`]; anything else is decoded as `T`.
async fn read_envelope<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, UpstreamError> {
    #[derive(serde::Deserialize)]
    struct Head {
        code: Option<i32>,
        message: Option<String>,
    }
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(UpstreamError::from_reqwest)?;
    let head: Option<Head> = serde_json::from_slice(&bytes).ok();
    let code = head.as_ref().and_then(|h| h.code);
    if !status.is_success() || code.is_some_and(|c| c != 0) {
        return Err(UpstreamError::Status {
            status: status.as_u16(),
            code,
            message: head
                .and_then(|h| h.message)
                .unwrap_or_else(|| format!("the vault answered HTTP {status}")),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| UpstreamError::Decode(e.to_string()))
}

fn data<T>(response: ApiResponse<T>) -> Result<T, UpstreamError> {
    response
        .data
        .ok_or_else(|| UpstreamError::Decode("the response has no data".into()))
}
