#!/usr/bin/env bash
# End-to-end on a kind cluster (needs Docker and kind): builds the image, deploys the operator
# with the manifests as shipped, records a Deployment's rollout, and reads it back through the
# Kubernetes API server's service proxy with a ServiceAccount token — the path `hindsight` (the
# CLI) takes. Usage: e2e/kind.sh [--keep]   (--keep leaves the cluster for a look around)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLUSTER=hindsight-e2e
IMAGE=hindsight:e2e
KEEP=${1:-}

for tool in docker kind kubectl curl; do
  command -v "$tool" >/dev/null || { echo "e2e: '$tool' is not installed; the kind end-to-end test needs docker, kind, kubectl and curl" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "e2e: the Docker engine is not reachable; start it or run the integration tests (npm test), which need no Docker" >&2; exit 1; }

cleanup() { [ "$KEEP" = --keep ] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step() { echo "::: $*"; }
wait_for() { # wait_for DESCRIPTION SECONDS COMMAND...
  local what=$1 secs=$2; shift 2
  for ((i = 0; i < secs; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "e2e: timed out after ${secs}s waiting for $what" >&2
  kubectl -n hindsight-system logs statefulset/hindsight --tail=50 >&2 || true
  return 1
}

step "build the image"
docker build -t "$IMAGE" .
step "create the kind cluster"
kind create cluster --name "$CLUSTER" --wait 120s
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "deploy Hindsight as shipped (image replaced by the one just built)"
kubectl apply -f crds/ -f manifests/namespace.yaml -f manifests/rbac.yaml
# The serving certificate the operator's HTTPS port presents (cert-manager in a real cluster).
tls=$(mktemp -d)
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=hindsight.hindsight-system.svc \
  -addext subjectAltName=DNS:hindsight.hindsight-system.svc -keyout "$tls/tls.key" -out "$tls/tls.crt"
kubectl -n hindsight-system create secret tls hindsight-tls --cert="$tls/tls.crt" --key="$tls/tls.key"
sed "s|image: .*hindsight:.*|image: $IMAGE|" manifests/operator.yaml | kubectl apply -f -
kubectl apply -f config/samples/historypolicy-workloads.yaml
kubectl -n hindsight-system rollout status statefulset/hindsight --timeout=180s
wait_for "the workloads policy to be Ready" 60 \
  sh -c '[ "$(kubectl get hp workloads -o jsonpath="{.status.conditions[?(@.type==\"Ready\")].status}")" = True ]'

step "a Deployment and its rollout"
kubectl create namespace e2e
kubectl -n e2e create deployment web --image=registry.k8s.io/pause:3.10 --replicas=2
kubectl -n e2e rollout status deployment/web --timeout=120s
kubectl -n e2e set env deployment/web ROUND=2
kubectl -n e2e rollout status deployment/web --timeout=120s

step "read it back through the API server's service proxy"
kubectl -n e2e create serviceaccount reader
kubectl create clusterrolebinding e2e-reader --clusterrole=view --serviceaccount=e2e:reader
TOKEN=$(kubectl -n e2e create token reader)
SERVER=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
PROXY="$SERVER/api/v1/namespaces/hindsight-system/services/https:hindsight:https/proxy"
# The API server authenticates the proxy request and drops its Authorization header; Hindsight
# reads the caller's token from X-Hindsight-Authorization.
api() { curl -sfk -H "Authorization: Bearer $TOKEN" -H "X-Hindsight-Authorization: Bearer $TOKEN" "$PROXY$1"; }
wait_for "two ReplicaSets of web in the history" 60 \
  sh -c "$(declare -f api); TOKEN=$TOKEN PROXY=$PROXY; api '/api/v1/resources?namespace=e2e&kind=ReplicaSet' | grep -o '\"kind\":\"ReplicaSet\"' | wc -l | grep -qx 2"
api '/api/v1/resources?namespace=e2e&kind=Deployment&name=web' | grep -q '"name":"web"'
step "the CLI, through the same proxy"
[ -f dist/cli/main.js ] || npm run build
node dist/cli/main.js history deploy/web -n e2e --token "$TOKEN" | tee /dev/stderr | grep -q modified
node dist/cli/main.js changes -n e2e --since 1h --token "$TOKEN" -o json | grep -q '"ReplicaSet"'
step "the UI is served"
api '/' | grep -qi '<html'
echo "e2e: passed"
