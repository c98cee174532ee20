#!/usr/bin/env bash
# Conformance of an API server as the real kubectl sees it. Runs against whatever KUBECONFIG
# points at (kubesim in CI; any real cluster too), in namespaces it creates and deletes.
#
#   KUBECONFIG=... KUBECTL=/path/to/kubectl bash kubectl_conformance.sh
#
# Exits non-zero if any check failed; the last line is "N passed, M failed".
set -uo pipefail

KUBECTL=${KUBECTL:-kubectl}
HERE=$(cd "$(dirname "$0")" && pwd)
NS=conf-$RANDOM$RANDOM
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; $KUBECTL delete namespace "$NS" "$NS-gone" --wait=false >/dev/null 2>&1; $KUBECTL delete crd widgets.conformance.lifeboat.dev --wait=false >/dev/null 2>&1' EXIT

passed=0
failed=0
k() { $KUBECTL "$@"; }

# check NAME COMMAND...: COMMAND must succeed.
check() {
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/     | /' "$WORK/out" | tail -n 15
  fi
}

# expect_error NAME HTTP_CODE REASON KUBECTL_ARGS...: the request must fail with that HTTP
# status and that Status reason (both read from kubectl's -v=8 trace).
expect_error() {
  local name=$1 code=$2 reason=$3
  shift 3
  if k -v=8 "$@" >"$WORK/out" 2>&1; then
    failed=$((failed + 1))
    echo "FAIL $name: succeeded, expected $code $reason"
    return
  fi
  # kubectl words errors differently per command ("Error from server (X)", "error: failed to
  # create ...", "The request is invalid"), so the reason is read from the Status body.
  if grep -Eq "(Response Status: $code |(\] |\" )[A-Z]+ https?://[^ ]+ $code )" "$WORK/out" &&
     grep -q "\"reason\":\"$reason\"" "$WORK/out"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name: expected $code $reason"
    grep -E "Error from server|https?://" "$WORK/out" | sed 's/^/     | /' | tail -n 6
  fi
}

# eventually NAME SECONDS COMMAND...: COMMAND must succeed within SECONDS.
eventually() {
  local name=$1 secs=$2
  shift 2
  local end=$((SECONDS + secs))
  while ((SECONDS < end)); do
    if "$@" >"$WORK/out" 2>&1; then
      passed=$((passed + 1))
      echo "ok   $name"
      return
    fi
    sleep 0.5
  done
  failed=$((failed + 1))
  echo "FAIL $name (not within ${secs}s)"
  sed 's/^/     | /' "$WORK/out" | tail -n 10
}

contains() { grep -q -- "$2" <<<"$1"; }
out_has() { grep -Eq -- "$1" "$WORK/out"; }
run_has() { # run_has PATTERN CMD...: CMD succeeds and its output matches PATTERN
  local pattern=$1
  shift
  local o
  o=$("$@" 2>&1) || { echo "$o"; return 1; }
  grep -Eq -- "$pattern" <<<"$o" || { echo "output did not match /$pattern/:"; echo "$o"; return 1; }
}

echo "# kubectl: $($KUBECTL version --client 2>/dev/null | head -n1)"

# --- Discovery and raw endpoints -------------------------------------------------------------
check "version" run_has 'Server Version' k version
check "get --raw /version" run_has '"gitVersion"' k get --raw /version
check "get --raw /api" run_has '"APIVersions"' k get --raw /api
check "get --raw /apis/apps/v1" run_has '"deployments"' k get --raw /apis/apps/v1
check "get --raw /healthz" run_has '^ok$' k get --raw /healthz
check "api-resources lists deployments" run_has 'deployments +deploy +apps/v1 +true +Deployment' k api-resources
check "api-resources lists cluster-scoped" run_has 'namespaces +ns +v1 +false +Namespace' k api-resources
check "api-versions serves autoscaling v1 and v2" bash -c "$KUBECTL api-versions | grep -qx autoscaling/v1 && $KUBECTL api-versions | grep -qx autoscaling/v2"
check "default namespaces exist" run_has 'kube-node-lease' k get namespaces

# --- Apply a realistic manifest --------------------------------------------------------------
sed "s/__NS__/$NS/g" "$HERE/testdata/app.yaml" >"$WORK/app.yaml"
check "apply multi-document manifest" k apply -f "$WORK/app.yaml"
check "re-apply is a no-op" run_has 'unchanged' k apply -f "$WORK/app.yaml"
eventually "namespace gets default service account" 10 k -n "$NS" get serviceaccount default
eventually "namespace gets kube-root-ca.crt" 10 k -n "$NS" get configmap kube-root-ca.crt
check "get -o json with label selector" run_has '"name": "web-config"' k -n "$NS" get configmaps -l app=web -o json
check "label selector excludes" bash -c "[ \"\$($KUBECTL -n $NS get configmaps -l 'app notin (web)' -o name | grep -c web-config)\" = 0 ]"
check "secret stringData became data" run_has '^aHVudGVyMg==$' k -n "$NS" get secret web-secret -o 'jsonpath={.data.password}'
eventually "deployment becomes Available" 60 k -n "$NS" wait --for=condition=Available deployment/web --timeout=5s
check "rollout status" k -n "$NS" rollout status deployment/web --timeout=30s
check "pods are Running with IPs" run_has 'Running' k -n "$NS" get pods -l app=web -o wide
check "pods have owner references" run_has 'ReplicaSet' k -n "$NS" get pods -l app=web -o 'jsonpath={.items[0].metadata.ownerReferences[0].kind}'
check "service got a cluster IP" run_has '^10\.' k -n "$NS" get service web -o 'jsonpath={.spec.clusterIP}'
eventually "endpoints follow ready pods" 30 run_has '[0-9]' k -n "$NS" get endpoints web -o 'jsonpath={.subsets[0].addresses[0].ip}'
eventually "PVC is bound" 30 run_has '^Bound$' k -n "$NS" get pvc data -o 'jsonpath={.status.phase}'
eventually "statefulset pods and claims" 60 run_has '^Bound$' k -n "$NS" get pvc www-db-1 -o 'jsonpath={.status.phase}'
eventually "statefulset ready" 60 k -n "$NS" rollout status statefulset/db --timeout=5s

# --- CRDs ------------------------------------------------------------------------------------
check "apply CRD" k apply -f "$HERE/testdata/crd.yaml"
eventually "CRD established" 20 k wait --for=condition=Established crd/widgets.conformance.lifeboat.dev --timeout=5s
eventually "CRD in discovery" 20 run_has 'widgets' k api-resources --api-group=conformance.lifeboat.dev
sed "s/__NS__/$NS/g" "$HERE/testdata/widgets.yaml" >"$WORK/widgets.yaml"
eventually "apply custom resources" 20 k apply -f "$WORK/widgets.yaml"
check "get custom resources" run_has 'gizmo' k -n "$NS" get widgets
check "custom resource in second version" run_has 'conformance.lifeboat.dev/v1beta1' k get --raw "/apis/conformance.lifeboat.dev/v1beta1/namespaces/$NS/widgets/gizmo"
check "status subresource of a CR" k -n "$NS" patch widget gizmo --subresource=status --type=merge -p '{"status":{"phase":"Ready"}}'
check "spec unchanged by status patch" run_has '^3$' k -n "$NS" get widget gizmo -o 'jsonpath={.spec.size}'

# --- Label, annotate, patch ------------------------------------------------------------------
check "label" k -n "$NS" label configmap web-config tier=frontend
check "label visible to selector" run_has 'web-config' k -n "$NS" get configmaps -l tier=frontend -o name
check "annotate" k -n "$NS" annotate configmap web-config note=hello
check "patch --type merge" k -n "$NS" patch configmap web-config --type merge -p '{"data":{"merged":"yes"}}'
check "patch --type json" k -n "$NS" patch configmap web-config --type json -p '[{"op":"add","path":"/data/json","value":"yes"}]'
check "patch --type strategic" k -n "$NS" patch deployment web --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"MODE","value":"blue"}]}]}}}}'
check "strategic patch merged the container by name" run_has '^nginx:1.25 blue$' k -n "$NS" get deployment web -o 'jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value}'
check "apply --server-side" k apply --server-side -f "$WORK/app.yaml" --force-conflicts
check "managedFields record the server-side apply" run_has 'kubectl' k -n "$NS" get configmap web-config -o 'jsonpath={.metadata.managedFields[*].manager}'
expect_error "json patch test failure is 422" 422 Invalid -n "$NS" patch configmap web-config --type json -p '[{"op":"test","path":"/data/merged","value":"no"}]'
expect_error "strategic patch of a CR is 415" 415 UnsupportedMediaType -n "$NS" patch widget gizmo --type strategic -p '{"spec":{"size":4}}'

# --- Scale, exec, dry run --------------------------------------------------------------------
check "scale" k -n "$NS" scale deployment web --replicas=3
eventually "scaled to 3 ready" 60 run_has '^3$' k -n "$NS" get deployment web -o 'jsonpath={.status.readyReplicas}'
POD=$(k -n "$NS" get pods -l app=web -o 'jsonpath={.items[0].metadata.name}' 2>/dev/null)
check "exec echoes" run_has '^hello from exec$' k -n "$NS" exec "$POD" -- sh -c 'echo hello from exec'
check "exec sets the pod's name" run_has "^$POD\$" k -n "$NS" exec "$POD" -- sh -c 'echo $POD_NAME'
check "exec exit code propagates" bash -c "$KUBECTL -n $NS exec $POD -- sh -c 'exit 3'; [ \$? -eq 3 ]"
check "create --dry-run=server stores nothing" k -n "$NS" create configmap dry --from-literal=a=b --dry-run=server
expect_error "dry-run object is absent" 404 NotFound -n "$NS" get configmap dry

# --- Pagination and watch --------------------------------------------------------------------
for i in $(seq 1 25); do echo "---
apiVersion: v1
kind: ConfigMap
metadata: {name: page-$i, labels: {set: paged}}
data: {i: \"$i\"}"; done >"$WORK/paged.yaml"
check "create 25 configmaps" k -n "$NS" apply -f "$WORK/paged.yaml"
check "chunked list returns all" bash -c "[ \"\$($KUBECTL -n $NS get configmaps -l set=paged --chunk-size=7 -o name | wc -l)\" -eq 25 ]"
( timeout 15 $KUBECTL -n "$NS" get configmaps --watch -o name >"$WORK/watch.out" 2>&1 & echo $! >"$WORK/watch.pid" )
sleep 2
k -n "$NS" create configmap watched --from-literal=a=b >/dev/null 2>&1
eventually "get --watch sees a new object" 10 grep -q 'configmap/watched' "$WORK/watch.out"
kill "$(cat "$WORK/watch.pid")" >/dev/null 2>&1

# --- Errors, with their exact HTTP status and Status reason ----------------------------------
expect_error "get missing is 404" 404 NotFound -n "$NS" get configmap does-not-exist
expect_error "create duplicate is 409" 409 AlreadyExists -n "$NS" create configmap web-config
expect_error "invalid name is 422" 422 Invalid -n "$NS" create configmap Bad_Name
expect_error "missing namespace is 404" 404 NotFound -n "no-such-ns-$RANDOM" create configmap x
k -n "$NS" get configmap web-config -o json >"$WORK/stale.json" 2>/dev/null
k -n "$NS" label configmap web-config bump=1 >/dev/null 2>&1
expect_error "stale update is 409 Conflict" 409 Conflict replace -f "$WORK/stale.json"
expect_error "unknown resource is 404" 404 NotFound get --raw /apis/nope.example.com/v1/things

# --- Deletion --------------------------------------------------------------------------------
check "delete a deployment cascades" k -n "$NS" delete deployment web --wait=true --timeout=30s
eventually "its pods are gone" 30 bash -c "[ -z \"\$($KUBECTL -n $NS get pods -l app=web -o name)\" ]"
check "create namespace to delete" k create namespace "$NS-gone"
check "fill it" k -n "$NS-gone" create configmap x --from-literal=a=b
# A finalizer holds the namespace in Terminating until we release it.
check "hold it" k -n "$NS-gone" patch configmap x --type merge -p '{"metadata":{"finalizers":["conformance.lifeboat.dev/hold"]}}'
check "delete namespace" k delete namespace "$NS-gone" --wait=false
eventually "namespace is Terminating" 10 bash -c "[ \"\$($KUBECTL get namespace $NS-gone -o jsonpath={.status.phase})\" = Terminating ]"
expect_error "terminating namespace refuses content" 403 Forbidden -n "$NS-gone" create configmap y --from-literal=a=b
check "release it" k -n "$NS-gone" patch configmap x --type merge -p '{"metadata":{"finalizers":null}}'
eventually "namespace goes away" 30 bash -c "! $KUBECTL get namespace $NS-gone >/dev/null 2>&1"
check "delete CRD removes its resources" k delete crd widgets.conformance.lifeboat.dev --timeout=30s
eventually "CR type left discovery" 20 bash -c "! $KUBECTL -n $NS get widgets >/dev/null 2>&1"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
