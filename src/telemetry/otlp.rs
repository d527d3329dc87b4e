//! The OTLP/HTTP trace exporter, configured by the standard OpenTelemetry variables: on only
//! when an endpoint is named, protobuf unless `http/json` is asked for, gRPC refused (it is
//! not built in). Batches are sent by the async reqwest client from a tokio task.

use anyhow::{Context, bail};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
const SERVICE_NAME: &str = "vaultql";

/// OTLP's encodings over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `http/protobuf`, the default.
    Protobuf,
    /// `http/json`.
    Json,
}

/// What the environment asks of the trace exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracesConfig {
    /// The endpoint as given (the exporter reads the variables itself; this is what was checked).
    pub endpoint: String,
    pub protocol: Protocol,
}

/// Reads the standard variables through `var`: `None` (export nothing) unless
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, or when
/// `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. An endpoint that is not an
/// http(s) URL, or a protocol other than `http/protobuf` and `http/json`, is an error.
pub fn traces_config(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<TracesConfig>> {
    let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    match set("OTEL_TRACES_EXPORTER").as_deref().map(str::trim) {
        None | Some("otlp") => {}
        Some("none") => return Ok(None),
        Some(other) => bail!(
            "OTEL_TRACES_EXPORTER={other}: vaultql exports traces over OTLP only (set it to \
             otlp or none)"
        ),
    }
    let Some((endpoint_var, endpoint)) = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .into_iter()
    .find_map(|name| Some((name, set(name)?))) else {
        return Ok(None);
    };
    let url = reqwest::Url::parse(endpoint.trim())
        .with_context(|| format!("{endpoint_var} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("{endpoint_var} must be an http:// or https:// URL (OTLP over HTTP)");
    }
    let (protocol_var, protocol) = [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]
    .into_iter()
    .find_map(|name| Some((name, set(name)?)))
    .unwrap_or(("", "http/protobuf".to_owned()));
    let protocol = match protocol.trim() {
        "http/protobuf" => Protocol::Protobuf,
        "http/json" => Protocol::Json,
        "grpc" => bail!(
            "{protocol_var}=grpc: this vaultql exports OTLP over HTTP only (gRPC is not built \
             in); set it to http/protobuf and point {endpoint_var} at the collector's OTLP/HTTP \
             port (usually 4318)"
        ),
        other => bail!("{protocol_var}={other}: use http/protobuf or http/json"),
    };
    Ok(Some(TracesConfig {
        endpoint: endpoint.trim().to_owned(),
        protocol,
    }))
}

/// The running exporter.
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// Starts the exporter and the layer that feeds it: the spans and events of this crate at
    /// `info` and above (whatever `RUST_LOG` says of the log).
    pub fn start<S>(
        config: &TracesConfig,
    ) -> anyhow::Result<(Self, Box<dyn Layer<S> + Send + Sync>)>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        let protocol = match config.protocol {
            Protocol::Protobuf => opentelemetry_otlp::Protocol::HttpBinary,
            Protocol::Json => opentelemetry_otlp::Protocol::HttpJson,
        };
        // Endpoint, headers (OTEL_EXPORTER_OTLP_HEADERS) and timeout come from the variables.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .build()
            .context("could not start the OTLP trace exporter")?;
        let processor = BatchSpanProcessor::builder(exporter, Tokio).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource())
            .build();
        let tracer = provider.tracer("vaultql");
        let filter = Targets::new()
            .with_target("vaultql", LevelFilter::INFO)
            .with_default(LevelFilter::OFF);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_filter(filter)
            .boxed();
        Ok((Self { provider }, layer))
    }

    /// Sends what is buffered and stops. The SDK blocks the calling thread until its task has
    /// sent the last batch (each export bounded by `OTEL_EXPORTER_OTLP_TIMEOUT`; the tokio
    /// processor takes no timeout of its own), so this runs on the blocking pool, not on a
    /// runtime worker the task may need.
    pub async fn shutdown(self) {
        let provider = self.provider;
        let done = tokio::task::spawn_blocking(move || provider.shutdown());
        match done.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("vaultql: the last spans may not have been exported: {error}")
            }
            Err(error) => eprintln!("vaultql: the trace exporter did not stop: {error}"),
        }
    }
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), named `vaultql` when
/// they do not name the service.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::new("service.name"))
        .is_some_and(|name| name.as_str() != "unknown_service");
    if named {
        detected
    } else {
        Resource::builder().with_service_name(SERVICE_NAME).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Option<TracesConfig>> {
        traces_config(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn no_endpoint_means_no_exporter() {
        assert_eq!(config(&[]).unwrap(), None);
        assert_eq!(
            config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap(),
            None
        );
        assert_eq!(
            config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]).unwrap(),
            None
        );
    }

    #[test]
    fn an_endpoint_turns_export_on_with_protobuf_by_default() {
        let on = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")]).unwrap();
        assert_eq!(
            on,
            Some(TracesConfig {
                endpoint: "http://localhost:4318".into(),
                protocol: Protocol::Protobuf
            })
        );
        let json = config(&[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://collector/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ])
        .unwrap();
        assert_eq!(json.unwrap().protocol, Protocol::Json);
    }

    #[test]
    fn grpc_and_malformed_endpoints_are_refused_with_what_to_set() {
        let grpc = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap_err()
        .to_string();
        assert!(grpc.contains("gRPC is not built in"), "{grpc}");
        assert!(grpc.contains("http/protobuf"), "{grpc}");
        let url = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")]);
        assert!(url.is_err());
        let other = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
        ]);
        assert!(other.is_err());
    }

    #[test]
    fn export_can_be_switched_off_by_the_standard_variables() {
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            let vars = [
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
                off,
            ];
            assert_eq!(config(&vars).unwrap(), None, "{off:?}");
        }
    }
}
