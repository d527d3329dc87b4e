//! The Qualpay REST client the gateway uses, for Qualpay itself or for the embedded vault alike:
//! one pooled `reqwest` client, HTTP Basic with the API key, connect and request timeouts, and
//! no automatic retry (Qualpay has no idempotency key, so a retried write could happen twice).
//! It knows nothing of the vault in this crate; it speaks only the wire format in [`crate::qualpay`].
//! Identical reads in flight are made once ([`inflight`]). The Payment Gateway (`/pg`) calls
//! and the transaction reports are in [`payments`].

mod account_updater;
mod error;
mod inflight;
mod payments;
mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::UpstreamError;
use inflight::InFlight;
pub use payments::PgCall;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::metrics::Metrics;
use crate::qualpay::{
    AddBillingCardRequest, AddCustomerRequest, AddShippingAddressRequest, AddSubscriptionRequest,
    ApiResponse, ArchivePlanRequest, CardIdRequest, CustomerVault, EmbeddedKey, Envelope, Filter,
    ListResponse, PlanRequest, RecurringPlan, ShippingIdRequest, Subscription,
    SubscriptionActionRequest, Transaction, UpdateBillingCardRequest, UpdateCustomerRequest,
    UpdateShippingAddressRequest, UpdateSubscriptionRequest,
};
use crate::telemetry::spans;

/// Idle pooled connections are closed before the 60 s keep-alive of common load balancers, so
/// the client never sends on a connection the other side is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Where Qualpay's API lives, e.g. `https://api-test.qualpay.com`; `/platform` is appended
    /// (and `/pg` for the Payment Gateway).
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
    pub filters: Vec<Filter>,
}

#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
    platform: Url,
    /// The Payment Gateway's base: the same root with `/pg`.
    pg: Url,
    authorization: HeaderValue,
    metrics: Arc<Metrics>,
    /// The calls left to the GraphQL request this client serves; `None`: unbounded.
    budget: Option<Arc<CallBudget>>,
    scope: Scope,
    /// The process's reads in flight, shared by every clone.
    inflight: Arc<InFlight>,
    /// The number of this request's last completed write (see [`inflight`]).
    last_write: Arc<AtomicU64>,
    /// The GraphQL request's `x-request-id`, sent on with each of its calls so that the
    /// vault's log lines carry the same id as the gateway's.
    request_id: Option<HeaderValue>,
}

/// Longest request id passed on to the upstream; a longer one is not sent.
const MAX_REQUEST_ID: usize = 128;

/// What a client may reach with its key.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Everything the key may (a merchant's secret key, or the gateway's own).
    Key,
    /// One customer of one merchant, acting with the gateway's service key for a customer
    /// session: every call names the merchant (`merchant_id`), customer routes must be this
    /// customer's, every browse (customers, subscriptions, their attempts, the transaction
    /// report) is narrowed to it (and its answer checked), subscriptions are changed only after
    /// they are found among the customer's, and nothing else is sent: no `/pg` call, no
    /// transaction looked up by `pg_id` alone.
    Customer {
        merchant_id: i64,
        customer_id: Arc<str>,
    },
}

impl Scope {
    /// Whether a call may be sent, and what it must add to its query to stay in scope.
    fn admit(
        &self,
        method: &Method,
        route: &str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Vec<(&'static str, String)>, UpstreamError> {
        let Scope::Customer {
            merchant_id,
            customer_id,
        } = self
        else {
            return Ok(Vec::new());
        };
        let mut extra = vec![("merchant_id", merchant_id.to_string())];
        let narrowed = (
            "filter",
            Filter::eq("customer_id", customer_id)?.to_string(),
        );
        let refused = UpstreamError::OutOfScope("a customer session cannot make this call");
        match (method.clone(), route) {
            (
                Method::GET,
                "/vault/customer"
                | "/subscription"
                | "/subscription/transactions"
                | "/reporting/transactions",
            ) => extra.push(narrowed),
            // A transient key tokenizes one card for whoever holds it, nothing else.
            (Method::GET, "/embedded") => {}
            // A subscription's plan, looked up by its code: not a listing of the plans.
            (Method::GET, "/plan")
                if query.iter().any(|(name, value)| {
                    *name == "filter" && value.starts_with("plan_code,IN,")
                }) => {}
            (Method::DELETE, "/vault/customer/{customer_id}") => return Err(refused),
            (_, route) if route.starts_with("/vault/customer/{customer_id}") => {
                if segments.get(2) != Some(&&**customer_id) {
                    return Err(UpstreamError::OutOfScope(
                        "a customer session can reach its own customer only",
                    ));
                }
            }
            // The request body is checked by `add_subscription`, ownership by the callers of
            // `owned_subscription`.
            (Method::POST, "/subscription")
            | (Method::PUT, "/subscription/{subscription_id}")
            | (
                Method::POST,
                "/subscription/{subscription_id}/pause"
                | "/subscription/{subscription_id}/resume"
                | "/subscription/{subscription_id}/cancel",
            ) => {}
            _ => return Err(refused),
        }
        Ok(extra)
    }

    /// Refuses a customer other than the session's.
    fn customer(&self, customer_id: Option<&str>) -> Result<(), UpstreamError> {
        match self {
            Scope::Customer {
                customer_id: own, ..
            } if customer_id != Some(&**own) => Err(UpstreamError::OutOfScope(
                "a customer session can reach its own customer only",
            )),
            _ => Ok(()),
        }
    }

    /// Drops items of other customers from an answer (the narrowed browse should have none).
    fn retain<T>(&self, items: &mut Vec<T>, customer_of: impl Fn(&T) -> Option<&str>) {
        if let Scope::Customer { customer_id, .. } = self {
            items.retain(|item| customer_of(item) == Some(&**customer_id));
        }
    }
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
        let root = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| anyhow::anyhow!("--upstream is not a URL: {e}"))?;
        if root.cannot_be_a_base() {
            anyhow::bail!("--upstream must be an http(s) URL");
        }
        let under = |segment: &str| -> anyhow::Result<Url> {
            let mut url = root.clone();
            url.path_segments_mut()
                .map_err(|()| anyhow::anyhow!("--upstream must be an http(s) URL"))?
                .pop_if_empty()
                .push(segment);
            Ok(url)
        };
        let platform = under("platform")?;
        let pg = under("pg")?;
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
            pg,
            authorization,
            metrics,
            budget: None,
            scope: Scope::Key,
            inflight: Arc::default(),
            last_write: Arc::default(),
            request_id: None,
        })
    }

    /// The process's metrics, for what is counted around this client's calls (dataloader
    /// batches).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The same client (with its own key: the gateway's service key) confined to one customer
    /// of one merchant, for a customer session.
    pub fn for_customer(&self, merchant_id: i64, customer_id: &str) -> Upstream {
        Upstream {
            scope: Scope::Customer {
                merchant_id,
                customer_id: customer_id.into(),
            },
            ..self.clone()
        }
    }

    /// The same client acting with another API key: the caller's own, passed through per
    /// GraphQL request. `None` when the key cannot be sent in a header.
    pub fn with_api_key(&self, api_key: &str) -> Option<Upstream> {
        Some(Upstream {
            authorization: basic_authorization(api_key)?,
            ..self.clone()
        })
    }

    /// The same client for one GraphQL request: allowed `limit` calls in all (its clones share
    /// them), so that no query can make unbounded upstream work, and reading its own writes.
    pub fn with_call_budget(&self, limit: u32) -> Upstream {
        Upstream {
            budget: Some(Arc::new(CallBudget {
                left: AtomicU32::new(limit),
                limit,
            })),
            last_write: Arc::default(),
            ..self.clone()
        }
    }

    /// The same client sending `request_id` as `x-request-id` with every call, when it is a
    /// short printable id (it comes from the client, which may send anything).
    pub fn with_request_id(&self, request_id: &HeaderValue) -> Upstream {
        let bytes = request_id.as_bytes();
        let fit = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID
            && bytes.iter().all(|b| b.is_ascii_graphic());
        Upstream {
            request_id: fit.then(|| request_id.clone()),
            ..self.clone()
        }
    }

    /// `GET /vault/customer`: one page of customers, with their cards and addresses.
    pub async fn browse_customers(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<CustomerVault>, UpstreamError> {
        let mut page: ListResponse<CustomerVault> = self
            .browse("/vault/customer", &["vault", "customer"], params)
            .await?;
        self.scope
            .retain(&mut page.data, |c| Some(c.customer_id.as_str()));
        Ok(page)
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
        let mut page: ListResponse<Subscription> = self
            .browse("/subscription", &["subscription"], params)
            .await?;
        self.scope
            .retain(&mut page.data, |s| s.customer_id.as_deref());
        Ok(page)
    }

    /// `GET /subscription/transactions`: one page of payment attempts of subscriptions.
    pub async fn browse_transactions(
        &self,
        params: &BrowseParams,
    ) -> Result<ListResponse<Transaction>, UpstreamError> {
        let mut page: ListResponse<Transaction> = self
            .browse(
                "/subscription/transactions",
                &["subscription", "transactions"],
                params,
            )
            .await?;
        self.scope
            .retain(&mut page.data, |t| t.customer_id.as_deref());
        Ok(page)
    }

    /// For a customer session's client: fails with "not found" unless the subscription is one
    /// of its customer's (one browse). Other clients are not checked here.
    async fn owned_subscription(&self, subscription_id: i64) -> Result<(), UpstreamError> {
        if matches!(self.scope, Scope::Key) {
            return Ok(());
        }
        let params = BrowseParams {
            count: 1,
            page: 0,
            order_on: None,
            order_by: None,
            filters: vec![Filter::id("subscription_id", subscription_id)],
        };
        let page = self.browse_subscriptions(&params).await?;
        if page.data.is_empty() {
            return Err(UpstreamError::NotFound("no such subscription"));
        }
        Ok(())
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
        self.scope.customer(request.customer_id.as_deref())?;
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
        self.owned_subscription(subscription_id).await?;
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
        self.owned_subscription(subscription_id).await?;
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
        query.extend(params.filters.iter().map(|f| ("filter", f.to_string())));
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
    /// `GET /embedded`: a transient key for the embedded card fields. A customer session's
    /// client may ask for one (it can tokenize a card and do nothing else).
    pub async fn embedded_key(&self) -> Result<EmbeddedKey, UpstreamError> {
        data(
            self.send(Method::GET, "/embedded", &["embedded"], &[], None::<&()>)
                .await?,
        )
    }

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
    async fn send<B: Serialize, T: DeserializeOwned + Envelope>(
        &self,
        method: Method,
        route: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, UpstreamError> {
        let mut request = self.request(&self.platform, &method, route, segments, query, body)?;
        let span = spans::upstream(&method, route);
        spans::inject(&span, request.headers_mut());
        let read_key = (method == Method::GET).then(|| self.call_key(&request));
        let metrics = self.metrics.clone();
        let call = self.http.execute(request);
        let call_span = span.clone();
        let timed = async move {
            let started = Instant::now();
            let result = call.await;
            let status = result.as_ref().ok().map(|r| r.status().as_u16());
            spans::upstream_answered(&call_span, status);
            let body = match result {
                Ok(response) => read_body(response).await,
                Err(error) => Err(UpstreamError::from_reqwest(error)),
            };
            metrics.record_upstream(method.as_str(), route, status, started.elapsed());
            body
        };
        let body = if let Some(key) = read_key {
            let last_write = self.last_write.load(Ordering::SeqCst);
            let joined = || {
                spans::upstream_joined(&span);
                self.metrics.record_shared_read(route);
            };
            self.inflight
                .read(key, last_write, timed, joined)
                .instrument(span.clone())
                .await
        } else {
            let body = timed.instrument(span.clone()).await;
            // Whatever its outcome (a timed-out write may still have happened), later reads of
            // this request do not join calls made before it.
            let epoch = self.inflight.write_done();
            self.last_write.store(epoch, Ordering::SeqCst);
            body
        };
        let answer: T =
            serde_json::from_slice(&body?).map_err(|e| UpstreamError::Decode(e.to_string()))?;
        if answer.code() != 0 {
            return Err(UpstreamError::Status {
                status: 200,
                code: Some(answer.code()),
                message: answer.message().to_owned(),
            });
        }
        Ok(answer)
    }

    /// A request under `base` (`/platform` or `/pg`), once the scope admits it and the budget
    /// has a call left: nothing is sent otherwise.
    fn request<B: Serialize>(
        &self,
        base: &Url,
        method: &Method,
        route: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<reqwest::Request, UpstreamError> {
        let narrowing = self.scope.admit(method, route, segments, query)?;
        if let Some(budget) = &self.budget
            && !budget.take()
        {
            return Err(UpstreamError::CallBudgetSpent {
                limit: budget.limit,
            });
        }
        let mut url = base.clone();
        url.path_segments_mut()
            .expect("the base URL was checked to be a base")
            .extend(segments);
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, self.authorization.clone())
            .query(query)
            .query(&narrowing);
        if let Some(request_id) = &self.request_id {
            request = request.header("x-request-id", request_id.clone());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request
            .build()
            .map_err(|e| UpstreamError::Transport(e.without_url().to_string()))
    }

    /// Which call a read is: the credential sent upstream, the scope and the whole URL.
    fn call_key(&self, request: &reqwest::Request) -> inflight::CallKey {
        let mut hash = Sha256::new();
        hash.update(self.authorization.as_bytes());
        hash.update([0]);
        hash.update(format!("{:?}", self.scope).as_bytes());
        hash.update([0]);
        hash.update(request.url().as_str().as_bytes());
        hash.finalize().into()
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
/// [`UpstreamError::Status`]; anything else is the body, to decode.
/// The body of a 2xx answer, read once by whoever decodes it (with its envelope's `code`); any
/// other status is an error with the envelope's `code` and `message` when it has them.
async fn read_body(response: reqwest::Response) -> Result<bytes::Bytes, UpstreamError> {
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
    if !status.is_success() {
        let head: Option<Head> = serde_json::from_slice(&bytes).ok();
        let code = head.as_ref().and_then(|h| h.code);
        return Err(UpstreamError::Status {
            status: status.as_u16(),
            code,
            message: head
                .and_then(|h| h.message)
                .unwrap_or_else(|| format!("the vault answered HTTP {status}")),
        });
    }
    Ok(bytes)
}

fn data<T>(response: ApiResponse<T>) -> Result<T, UpstreamError> {
    response
        .data
        .ok_or_else(|| UpstreamError::Decode("the response has no data".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Scope {
        Scope::Customer {
            merchant_id: 1001,
            customer_id: "ALICE".into(),
        }
    }

    fn admit(
        method: Method,
        route: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<(&'static str, String)>, UpstreamError> {
        let segments: Vec<&str> = route
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| if s == "{customer_id}" { "ALICE" } else { s })
            .collect();
        session().admit(&method, route, &segments, query)
    }

    #[test]
    fn a_session_client_names_its_merchant_and_narrows_every_browse_to_its_customer() {
        for route in [
            "/vault/customer",
            "/subscription",
            "/subscription/transactions",
            "/reporting/transactions",
        ] {
            let extra = admit(Method::GET, route, &[]).expect("allowed");
            assert_eq!(
                extra,
                [
                    ("merchant_id", "1001".to_owned()),
                    ("filter", "customer_id,EQ,ALICE".to_owned())
                ],
                "{route}"
            );
        }
        let extra = admit(Method::PUT, "/vault/customer/{customer_id}/billing", &[]).unwrap();
        assert_eq!(extra, [("merchant_id", "1001".to_owned())]);
    }

    #[test]
    fn a_session_client_refuses_other_customers_and_merchant_wide_calls() {
        let other = session().admit(
            &Method::GET,
            "/vault/customer/{customer_id}",
            &["vault", "customer", "BOB"],
            &[],
        );
        assert!(matches!(other, Err(UpstreamError::OutOfScope(_))));
        for (method, route) in [
            (Method::POST, "/vault/customer"),
            (Method::DELETE, "/vault/customer/{customer_id}"),
            (Method::POST, "/plan"),
            (Method::GET, "/plan"),
            (Method::DELETE, "/plan/{plan_id}/delete"),
            (Method::POST, "/pg/sale"),
            (Method::POST, "/pg/auth"),
            (Method::POST, "/pg/verify"),
            (Method::POST, "/pg/capture/{pg_id}"),
            (Method::POST, "/pg/void/{pg_id}"),
            (Method::POST, "/pg/refund/{pg_id}"),
            (Method::GET, "/reporting/transactions/bypgid/{pg_id}"),
        ] {
            assert!(
                matches!(
                    admit(method.clone(), route, &[]),
                    Err(UpstreamError::OutOfScope(_))
                ),
                "{method} {route}"
            );
        }
        let lookup = [("filter", "plan_code,IN,GOLD".to_owned())];
        assert!(admit(Method::GET, "/plan", &lookup).is_ok());
        assert!(session().customer(Some("BOB")).is_err());
        assert!(session().customer(None).is_err());
        assert!(session().customer(Some("ALICE")).is_ok());
        assert!(Scope::Key.customer(Some("BOB")).is_ok());
    }

    #[test]
    fn a_session_client_drops_other_customers_from_answers() {
        let mut items = vec![Some("ALICE"), Some("BOB"), None];
        session().retain(&mut items, |item| *item);
        assert_eq!(items, [Some("ALICE")]);
    }
}
