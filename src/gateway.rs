//! The GraphQL gateway: customers, cards, bank accounts and shipping addresses, plans,
//! subscriptions and payments as linked types, resolved through per-request dataloaders over the
//! Qualpay REST client in [`crate::upstream`].
//! It never imports the vault: the embedded vault is reached over HTTP like Qualpay itself.
//!
//! - [`query`] and [`mutation`] are the roots (with [`customer_query`], [`subscription_query`]
//!   and [`payment_query`] beside them); [`types`] the object types;
//! - [`context`] is what each request brings its resolvers: its time, upstream client and
//!   [`loaders`], which batch upstream calls; [`paging`] maps Relay connections onto browse
//!   pages;
//! - [`http`] serves GraphQL over HTTP (and GraphiQL, from `graphiql`; persisted queries from
//!   [`apq`] and parsed documents from [`documents`], both kept in a [`caller_cache`]);
//!   [`error`] maps failures to `extensions.code`, [`nulls`] puts failed fields' nulls where the
//!   spec wants them; [`idle`] says when the loaders fetch.
//! - [`credentials`] says who a request acts for ([`session`] makes and checks customer session
//!   tokens), [`access`] what it may use; [`cost`] prices a query before it runs; [`guard`]
//!   limits requests in progress and failed authentications per address.

pub mod access;
pub mod apq;
pub mod caller_cache;
pub mod context;
pub mod cost;
pub mod credentials;
pub mod customer_query;
pub mod demo;
pub mod documents;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod guard;
pub mod http;
pub mod idle;
pub mod ids;
pub mod live_query;
pub mod loaders;
pub mod mutation;
pub mod nulls;
pub mod paging;
pub mod payment_query;
pub mod query;
pub mod receiver;
pub mod session;
pub mod subscription_query;
pub mod types;
pub mod webhook_query;
pub mod websocket;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Schema;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::Semaphore;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::UpstreamBatch;
use crate::gateway::access::Caller;
use crate::gateway::context::{CardFields, RequestTime, SessionIssuer};
use crate::gateway::credentials::Credential;
use crate::gateway::error::GatewayError;
use crate::gateway::events::EventBroker;
use crate::gateway::idle::IdleBatches;
use crate::gateway::live_query::SubscriptionRoot;
use crate::gateway::loaders::Loaders;
use crate::gateway::mutation::MutationRoot;
use crate::gateway::query::QueryRoot;
use crate::gateway::receiver::ReceiverSecrets;
use crate::gateway::session::SessionKeys;
use crate::gateway::websocket::Live;
use crate::metrics::Metrics;
use crate::readiness;
use crate::time::TimeSource;
use crate::upstream::{Upstream, UpstreamError, basic_authorization};

pub type VaultSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Deepest query accepted.
const MAX_DEPTH: usize = 20;

/// The schema, without any data: for `vaultql schema` and as the one served (each request
/// brings its own data).
pub fn schema() -> VaultSchema {
    let builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .override_output_type_description::<rust_decimal::Decimal>(
        "An exact decimal number, answered as a string such as `\"9.99\"` so that no amount \
         passes through a float. Send amounts as strings too: a JSON number is accepted, but it \
         is a float on its way. Amounts are in the currency's major unit (dollars for `840`).",
    )
    .override_output_type_description::<chrono::DateTime<chrono::Utc>>(
        "A point in time, as an RFC 3339 string in UTC, such as `\"2027-01-31T12:00:00Z\"`.",
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(cost::MAX_COST);
    if crate::telemetry::traces() {
        builder.extension(cost::CostOnSpan).finish()
    } else {
        builder.finish()
    }
}

/// The schema in SDL, as committed in `schema/vault.graphql`.
pub fn sdl() -> String {
    schema().sdl()
}

#[derive(Clone)]
struct GatewayState {
    /// What `/readyz` checks: the upstream, then what the process adds.
    readiness: Arc<[Arc<dyn readiness::Check>]>,
}

/// The upstream answers an authenticated request.
struct UpstreamReady(Upstream);

#[async_trait::async_trait]
impl readiness::Check for UpstreamReady {
    fn name(&self) -> String {
        "upstream".into()
    }

    async fn check(&self) -> Result<(), String> {
        self.0
            .ready()
            .await
            .map_err(|error| GatewayError::from(error).code().to_owned())
    }
}

/// What GraphiQL shows first.
const DEFAULT_QUERY: &str = "# Customers with their payment methods and addresses.
{
  customers(first: 5) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        customerId
        firstName
        lastName
        primaryCard { maskedNumber brand expMonth expYear }
        paymentMethods { __typename maskedNumber isPrimary }
        shippingAddresses { city state isPrimary }
      }
    }
  }
}
";

/// How the gateway serves `/graphql`.
pub struct Settings {
    /// How the customer loader asks the upstream for several customers.
    pub upstream_batch: UpstreamBatch,
    pub time: TimeSource,
    /// Browser origins allowed by CORS.
    pub cors_origins: Vec<String>,
    /// Whether GraphiQL is served.
    pub graphiql: bool,
    /// The key GraphiQL's Headers tab starts with (development only).
    pub development_key: Option<String>,
    /// Most upstream calls one GraphQL request may make.
    pub max_upstream_calls: u32,
    /// Largest GraphQL response body, in bytes.
    pub max_response_bytes: usize,
    /// Most `/graphql` requests worked on at once.
    pub max_concurrent_requests: u32,
    /// Failed authentications one client address may make per [`AUTH_FAILURE_WINDOW`].
    pub max_auth_failures: u32,
    /// The keys that sign and verify customer session tokens.
    pub session_keys: Arc<SessionKeys>,
    /// What `/readyz` checks besides the upstream (the embedded vault's database).
    pub readiness: Vec<Arc<dyn readiness::Check>>,
    /// The hosted card fields page `createCardSetup` names: the embedded vault's.
    pub card_fields: Option<String>,
    /// Serve the demo checkout page (`/demo/add-card`): embedded vault on loopback only.
    pub demo: bool,
    /// Where received webhook events go to live subscriptions.
    pub broker: EventBroker,
    /// The secrets `POST /webhooks/qualpay` accepts signatures of.
    pub receiver_secrets: Arc<ReceiverSecrets>,
}

/// The window over which failed authentications are counted per client address.
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// `/graphql` (and GraphiQL's assets), `/metrics`, `/healthz` and `/readyz`. `upstream` is the
/// gateway's own client (readiness); GraphQL requests get one of their own, for their key.
pub fn router(upstream: Upstream, metrics: Arc<Metrics>, settings: Settings) -> Router {
    let Settings {
        upstream_batch,
        time,
        cors_origins,
        graphiql,
        development_key,
        max_upstream_calls,
        max_response_bytes,
        max_concurrent_requests,
        max_auth_failures,
        session_keys,
        readiness,
        card_fields,
        demo,
        broker,
        receiver_secrets,
    } = settings;
    let demo_routes = demo.then(|| demo::routes(session_keys.clone(), upstream.clone(), time));
    let schema = schema();
    let field_types = nulls::FieldTypes::of_sdl(&schema.sdl());
    // Each request acts for its caller: a secret key with its own upstream client, a customer
    // session with the gateway's service client confined to its customer. The client and the
    // loaders are made for that request alone (a cache shared across requests would leak data
    // between them), and the schema holds no client of its own to fall back on. The time is
    // read here, once per request: the token is checked and the operations run at that time.
    let base = upstream.clone();
    let socket_keys = session_keys.clone();
    let admit: http::Admit = Arc::new(move |headers| {
        let now = time.now();
        // Every client of the request, the service client that checks a new session included,
        // draws on one budget of upstream calls.
        let budgeted = base.with_call_budget(max_upstream_calls);
        let budgeted = match headers.get("x-request-id") {
            Some(request_id) => budgeted.with_request_id(request_id),
            None => budgeted,
        };
        let (caller, upstream, issuer) = match credentials::credential(headers, &session_keys, now)?
        {
            Credential::SecretKey(key) => {
                let upstream = budgeted
                    .with_api_key(key.expose())
                    .ok_or(http::Unauthenticated("the API key cannot be sent on"))?;
                let issuer = SessionIssuer {
                    keys: session_keys.clone(),
                    service: budgeted,
                };
                (Caller::Merchant, upstream, Some(issuer))
            }
            Credential::Session(session) => {
                let upstream = budgeted.for_customer(session.merchant_id, &session.customer_id);
                (Caller::Customer(session), upstream, None)
            }
        };
        let card_fields = card_fields.clone();
        Ok(Arc::new(
            move |request: async_graphql::Request, batches: &IdleBatches| {
                let request = request
                    .data(RequestTime(now))
                    .data(caller.clone())
                    .data(Loaders::per_request(&upstream, upstream_batch, batches))
                    .data(upstream.clone())
                    .data(CardFields(card_fields.clone()));
                match &issuer {
                    Some(issuer) => request.data(issuer.clone()),
                    None => request,
                }
            },
        ) as http::Prepare)
    });
    let live = Arc::new(Live {
        schema: schema.clone(),
        admit: admit.clone(),
        verify: socket_credential(upstream.clone(), socket_keys, time),
        broker: broker.clone(),
        origins: cors_origins.clone(),
        now: Arc::new(move || time.now()),
        metrics: metrics.clone(),
        open: Arc::default(),
    });
    let receiver = receiver::routes(broker, receiver_secrets, time, metrics.clone());
    let checks = std::iter::once(Arc::new(UpstreamReady(upstream)) as Arc<dyn readiness::Check>);
    let state = GatewayState {
        readiness: checks.chain(readiness).collect(),
    };
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(state)
        .merge(crate::metrics::router(metrics.clone()))
        .merge(
            http::router(
                schema,
                field_types,
                admit,
                graphiql_page(graphiql, development_key.as_deref()),
                max_response_bytes,
                metrics,
            )
            .layer(axum::middleware::from_fn_with_state(
                live,
                websocket::upgrade_or_next,
            ))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(Semaphore::new(max_concurrent_requests as usize)),
                guard::at_most_so_many,
            ))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(guard::AuthFailures::new(
                    max_auth_failures,
                    AUTH_FAILURE_WINDOW,
                )),
                guard::limit_auth_failures,
            ))
            .layer(cors(&cors_origins)),
        )
        .merge(receiver);
    match demo_routes {
        Some(demo) => router.merge(demo),
        None => router,
    }
}

/// Checks a WebSocket's credential at `connection_init`: a session token must be valid now
/// (the socket closes when it expires); a secret key must be accepted by the upstream, since
/// no later request would tell the client it is wrong.
fn socket_credential(
    upstream: Upstream,
    session_keys: Arc<SessionKeys>,
    time: TimeSource,
) -> websocket::Verify {
    Arc::new(move |headers| {
        let checked = credentials::credential(&headers, &session_keys, time.now());
        let upstream = upstream.clone();
        Box::pin(async move {
            match checked.map_err(|refused| refused.0)? {
                Credential::Session(session) => Ok(Some(session.expires())),
                Credential::SecretKey(key) => {
                    let client = upstream
                        .with_api_key(key.expose())
                        .ok_or("the API key cannot be sent on")?;
                    match client.ready().await {
                        Ok(()) => Ok(None),
                        Err(UpstreamError::Status {
                            status: 401 | 403, ..
                        }) => Err("the upstream refused the API key"),
                        Err(_) => Err("the upstream could not be asked about the API key"),
                    }
                }
            }
        })
    })
}

/// GraphiQL on `GET /graphql`, its Headers tab filled with `development_key` when there is one.
fn graphiql_page(on: bool, development_key: Option<&str>) -> http::Graphiql {
    if !on {
        return http::Graphiql::Off;
    }
    let default_headers = development_key
        .and_then(basic_authorization)
        .and_then(|basic| {
            let basic = basic.to_str().ok()?;
            Some(format!("{{\n  \"Authorization\": \"{basic}\"\n}}"))
        });
    http::Graphiql::On {
        default_query: DEFAULT_QUERY,
        default_headers,
    }
}

/// CORS for `/graphql`: only the listed origins, `GET` and `POST`, and the headers a GraphQL
/// client sends (`Authorization` among them). With no origins, no CORS header is ever sent, so
/// browsers keep every other origin out.
fn cors(origins: &[String]) -> CorsLayer {
    let origins = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok());
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(600))
}

/// Ready when the upstream answers an authenticated request.
async fn ready(State(state): State<GatewayState>) -> impl IntoResponse {
    readiness::report(&state.readiness).await
}
