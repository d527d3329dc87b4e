#!/usr/bin/env bash
# Builds the image and smoke-tests it wherever a container engine runs (docker or podman):
# the container becomes healthy (its HEALTHCHECK runs `vaultql healthcheck`), /readyz answers,
# and a GraphQL query with the development key returns the demo customers. Prints the image's
# size. Usage: scripts/docker-smoke.sh [image-tag]
set -euo pipefail
cd "$(dirname "$0")/.."
engine=$(command -v docker || command -v podman || true)
if [ -z "$engine" ]; then
  echo "no container engine (docker or podman) on this machine" >&2
  exit 2
fi
tag=${1:-vaultql:smoke}
"$engine" build -t "$tag" .
echo "image size: $("$engine" image inspect "$tag" --format '{{.Size}}') bytes"
name=vaultql-smoke-$$
"$engine" run -d --name "$name" -p 127.0.0.1::8080 "$tag" >/dev/null
trap '"$engine" rm -f "$name" >/dev/null' EXIT
for _ in $(seq 1 60); do
  status=$("$engine" inspect "$name" --format '{{.State.Health.Status}}' 2>/dev/null || echo none)
  [ "$status" = healthy ] && break
  sleep 1
done
[ "$status" = healthy ] || { "$engine" logs "$name"; echo "not healthy: $status" >&2; exit 1; }
port=$("$engine" port "$name" 8080 | head -1 | sed 's/.*://')
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null
key=$("$engine" exec "$name" cat /data/dev-api-key)
answer=$(curl -fsS -u "$key:" -H 'content-type: application/json' \
  -d '{"query":"{ customers(first: 5) { totalCount } }"}' "http://127.0.0.1:$port/graphql")
echo "$answer" | grep -q '"totalCount":5' || { echo "unexpected answer: $answer" >&2; exit 1; }
echo "the image is healthy and answers GraphQL"
