//! CORS on `/graphql`: the listed origins only, with correct preflight answers.

use reqwest::Method;
use reqwest::header::HeaderMap;

use super::support::{GATEWAY_KEY, GatewayApp};

const APP: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.com";

async fn preflight(app: &GatewayApp, origin: &str) -> (u16, HeaderMap) {
    let response = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/graphql", app.base))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("an answer");
    (response.status().as_u16(), response.headers().clone())
}

async fn post_from(app: &GatewayApp, origin: &str) -> (u16, HeaderMap) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("origin", origin)
        .basic_auth(GATEWAY_KEY, Some(""))
        .header("content-type", "application/json")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .expect("an answer");
    (response.status().as_u16(), response.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listed_origin_gets_preflight_and_response_headers_and_no_other_does() {
    let app = GatewayApp::spawn_with(|args| {
        args.cors_origins = vec![APP.into(), "http://localhost:5173".into()];
    })
    .await;

    let (status, headers) = preflight(&app, APP).await;
    assert!(status == 200 || status == 204, "{status} {headers:?}");
    assert_eq!(header(&headers, "access-control-allow-origin"), APP);
    let methods = header(&headers, "access-control-allow-methods").to_ascii_uppercase();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let allowed = header(&headers, "access-control-allow-headers").to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert!(
        header(&headers, "vary")
            .to_ascii_lowercase()
            .contains("origin")
    );

    let (status, headers) = post_from(&app, APP).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), APP);

    for origin in [OTHER, "https://app.example.com.evil.com", "null"] {
        let (_, headers) = preflight(&app, origin).await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{origin} was allowed: {headers:?}"
        );
        let (_, headers) = post_from(&app, origin).await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_origin_listed_no_browser_origin_is_allowed() {
    let app = GatewayApp::spawn().await;
    let (_, headers) = preflight(&app, APP).await;
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers:?}"
    );
    let (status, headers) = post_from(&app, APP).await;
    assert_eq!(status, 200);
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers:?}"
    );
}
