# GraphiQL's browser bundles, fetched from the npm registry in a stage of their own (the build
# below takes them from here and fails if they are missing, so the image always serves
# GraphiQL without any CDN).
FROM node:20.19.5-bookworm-slim AS graphiql
WORKDIR /assets
RUN npm pack graphiql@4.1.2 react@18.3.1 react-dom@18.3.1 --pack-destination /assets

# cargo-chef caches the dependencies in a layer of their own: its recipe is made from the
# manifest and the lock file only, so a change to the source rebuilds the crate and not its
# dependencies.
FROM rust:1.95.0-slim-bookworm AS chef
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /src

# The recipe: the same whatever the source says, so the cook layer below stays cached.
FROM chef AS planner
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY tests ./tests
RUN cargo chef prepare --recipe-path recipe.json

# Build stage: the dependencies from the recipe (cached), then the release binary.
FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY schema ./schema
# The manifest names these targets, so cargo wants their files even to build the binary.
COPY benches ./benches
COPY tests ./tests
COPY --from=graphiql /assets /graphiql-assets
ENV VAULTQL_GRAPHIQL_DIR=/graphiql-assets VAULTQL_REQUIRE_GRAPHIQL=1
RUN cargo build --release --locked && strip target/release/vaultql

# Runtime stage: the binary alone, as a non-root user, with the data directory as a volume.
FROM debian:12.12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data vaultql \
 && mkdir -p /data && chown vaultql /data
COPY --from=build /src/target/release/vaultql /usr/local/bin/vaultql
USER vaultql
VOLUME ["/data"]
ENV VAULTQL_DATA_DIR=/data VAULTQL_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["vaultql", "healthcheck"]
ENTRYPOINT ["vaultql"]
CMD ["serve"]
