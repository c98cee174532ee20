#!/usr/bin/env bash
# `lifeboat restore run` end to end, driven by the real kubectl against a kubesim on loopback:
#  1. back up namespace demo (the sample workloads), delete it, restore it, and compare every
#     object field by field with what was there before (server-set fields normalised away);
#     check the restore's files in the bucket;
#  2. the same backup restored under a namespace mapping demo:demo-copy;
#  3. a second restore over the existing namespace with the default policy (none): nothing is
#     created, identical objects give no warning, the others one "already exists" warning each;
#  4. restores killed with SIGKILL part-way through a few hundred config maps, each followed by a
#     rerun of the same restore with --existing-resource-policy update, which must complete and
#     leave every object present and equal to the backup: a killed restore is safely re-runnable.
# Arguments: the kubesim binary, the lifeboat binary, kubesim/samples/workloads.yaml.
set -euo pipefail
KUBESIM=$1 LIFEBOAT=$2 SAMPLES=$3
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
[ -x "$KUBECTL" ] || KUBECTL=$(command -v kubectl)
PY=/usr/bin/python3
dir=$(mktemp -d -t lifeboat-restore-XXXXXX)
"$KUBESIM" --data-dir "$dir/ks" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" --log-level warn \
  >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do [ -s "$dir/kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG=$dir/kubeconfig
BUCKET=$dir/bucket
kc() { "$KUBECTL" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Normalises `kubectl get -o json` output (argv[1]: the namespace, replaced by "NS" so that a
# mapped namespace compares equal) into {"Kind/name": object}, sorted. Ignored, and why:
#  - uid, resourceVersion, creationTimestamp, generation, managedFields: set by the API server on
#    every create; a restore creates new objects, so these always differ;
#  - status: written by controllers after the restore (Velero restores no status by default);
#  - ownerReferences: point at uids of the deleted owners; Velero strips them on restore;
#  - labels velero.io/backup-name and velero.io/restore-name: added by the restore on purpose;
#  - Service spec.clusterIP(s): allocated anew by the API server (Velero's service action
#    resets them);
#  - PVC spec.volumeName and the bind annotations (pv.kubernetes.io/bind-completed,
#    bound-by-controller, volume.(beta.)kubernetes.io/storage-provisioner, selected-node): the
#    backed-up PVs had reclaim policy Delete and no snapshot, so the restored claims are bound
#    afresh by the provisioner to new volumes and these record that new binding.
cat >"$dir/normalize.py" <<'EOF'
import json, sys
ns = sys.argv[1]
BIND = ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
        "volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/selected-node")
out = {}
for o in json.load(sys.stdin)["items"]:
    m = o["metadata"]
    for k in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
              "ownerReferences", "selfLink"):
        m.pop(k, None)
    o.pop("status", None)
    assert m.pop("namespace") == ns
    for k in ("velero.io/backup-name", "velero.io/restore-name"):
        m.get("labels", {}).pop(k, None)
    for k in BIND:
        m.get("annotations", {}).pop(k, None)
    for k in ("labels", "annotations"):
        if k in m and not m[k]:
            del m[k]
    if o["kind"] == "Service":
        o["spec"].pop("clusterIP", None)
        o["spec"].pop("clusterIPs", None)
    if o["kind"] == "PersistentVolumeClaim":
        o["spec"].pop("volumeName", None)
    out["%s/%s" % (o["kind"], m["name"])] = o
json.dump(out, sys.stdout, indent=1, sort_keys=True)
EOF
KINDS=deployments,statefulsets,services,configmaps,secrets,serviceaccounts,persistentvolumeclaims
snapshot() { kc -n "$1" get "$KINDS" -o json | "$PY" "$dir/normalize.py" "$1" >"$2"; }
same() { diff -u "$1" "$2" >"$dir/diff" || { cat "$dir/diff"; fail "$3"; }; }
delete_ns() {
  kc delete ns "$1" --wait --timeout=120s >/dev/null
  for _ in $(seq 1 200); do kc get ns "$1" >/dev/null 2>&1 || return 0; sleep 0.1; done
  fail "namespace $1 still there"
}
# restore NAME ARGS...: runs `lifeboat restore run`, leaving its exit code in $rc.
restore() {
  local name=$1; shift
  rc=0
  "$LIFEBOAT" restore run "$name" --bucket-dir "$BUCKET" "$@" >"$dir/$name.out" 2>&1 || rc=$?
}
# check_files NAME: the restore's files, as Velero names them; results and resource list parse.
check_files() {
  local r=$BUCKET/lifeboat/restores/$1
  for f in logs.gz results.gz resource-list.json.gz; do
    [ -s "$r/restore-$1-$f" ] || fail "missing restores/$1/restore-$1-$f"
    gzip -t "$r/restore-$1-$f"
  done
  gzip -dc "$r/restore-$1-results.gz" >"$dir/$1.results"
  gzip -dc "$r/restore-$1-resource-list.json.gz" >"$dir/$1.list"
  "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert set(r) <= {"errors","warnings"}, r
json.load(open(sys.argv[2]))' "$dir/$1.results" "$dir/$1.list"
  gzip -dc "$r/restore-$1-logs.gz" >"$dir/$1.log"
  grep -q "restore=velero/$1" "$dir/$1.log" || fail "restore $1: log lacks its name"
}
# results_messages NAME errors|warnings: prints those messages of the restore, one a line.
results_messages() {
  "$PY" -c 'import json,sys
r = json.load(open(sys.argv[1])).get(sys.argv[2]) or {}
for group in ("velero", "cluster"):
    for m in r.get(group) or []: print(m)
for ms in (r.get("namespaces") or {}).values():
    for m in ms: print(m)' "$dir/$1.results" "$2"
}

# --- 1. delete and restore namespace demo -------------------------------------------------------
kc apply -f "$SAMPLES" >/dev/null
kc -n demo wait --for=condition=Available deployment/web --timeout=60s >/dev/null
kc -n demo rollout status statefulset/db --timeout=60s >/dev/null
"$LIFEBOAT" backup run b1 --bucket-dir "$BUCKET" --include-namespaces demo >"$dir/b1.out"
grep -q "Backup b1: Completed" "$dir/b1.out" || { cat "$dir/b1.out"; fail "backup b1"; }
snapshot demo "$dir/before"
# The comparison is not vacuous: every kind the sample has is in it.
for k in Deployment/web StatefulSet/db Service/web ConfigMap/web-config Secret/web-secret \
         ServiceAccount/default PersistentVolumeClaim/data PersistentVolumeClaim/www-db-0; do
  grep -q "\"$k\":" "$dir/before" || fail "snapshot lacks $k"
done
delete_ns demo
restore r1 --from-backup b1
[ "$rc" = 0 ] || { cat "$dir/r1.out"; fail "restore r1 exited $rc"; }
grep -q "Restore r1: Completed" "$dir/r1.out"
grep -q "errors: 0" "$dir/r1.out"
kc -n demo wait --for=condition=Available deployment/web --timeout=60s >/dev/null
# The StatefulSet comes back whole: its controller adopts the restored ControllerRevision (which
# a restore brings back without owner references) and reports its pods again.
kc -n demo rollout status statefulset/db --timeout=60s >/dev/null
snapshot demo "$dir/after"
same "$dir/before" "$dir/after" "restored namespace demo differs from the backed-up one"
check_files r1
[ -z "$(results_messages r1 errors)" ] || fail "restore r1 has errors"
"$PY" -c 'import json,sys; l=json.load(open(sys.argv[1]))
for k, v in {"apps/v1/Deployment": "demo/web", "apps/v1/StatefulSet": "demo/db", "v1/Service": "demo/web",
             "v1/ConfigMap": "demo/web-config", "v1/Secret": "demo/web-secret",
             "v1/PersistentVolumeClaim": "demo/data", "v1/Namespace": "demo"}.items():
    assert v + "(created)" in l.get(k, []), (k, v, l.get(k))' "$dir/r1.list"
[ "$(kc -n demo get configmap web-config -o jsonpath='{.metadata.labels.velero\.io/restore-name}')" = r1 ]
[ "$(kc -n demo get configmap web-config -o jsonpath='{.metadata.labels.velero\.io/backup-name}')" = b1 ]

# --- 2. the same backup into demo-copy ----------------------------------------------------------
# A NodePort service may legitimately fail there ("provided port is already allocated": the
# original still holds the port), which makes the restore PartiallyFailed (exit 3).
restore r-map --from-backup b1 --namespace-mappings demo:demo-copy
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { cat "$dir/r-map.out"; fail "restore r-map exited $rc"; }
check_files r-map
snapshot demo-copy "$dir/copy-raw"
if [ "$rc" = 3 ]; then
  results_messages r-map errors | grep -v "provided port is already allocated" && fail "r-map: other errors"
  drop_services='import json,sys; d=json.load(sys.stdin); json.dump({k:v for k,v in d.items() if not k.startswith("Service/")}, sys.stdout, indent=1, sort_keys=True)'
  "$PY" -c "$drop_services" <"$dir/before" >"$dir/before-map"
  "$PY" -c "$drop_services" <"$dir/copy-raw" >"$dir/copy"
else
  [ -z "$(results_messages r-map errors)" ] || fail "restore r-map: exit 0 with errors"
  cp "$dir/before" "$dir/before-map"; cp "$dir/copy-raw" "$dir/copy"
fi
kc -n demo-copy wait --for=condition=Available deployment/web --timeout=60s >/dev/null
same "$dir/before-map" "$dir/copy" "namespace demo-copy differs from the backed-up demo"
[ "$(kc -n demo-copy get secret web-secret -o jsonpath='{.metadata.labels.velero\.io/restore-name}')" = r-map ]
# The source namespace is untouched.
snapshot demo "$dir/after-map"
same "$dir/after" "$dir/after-map" "restore with a mapping changed namespace demo"
[ "$(kc -n demo get configmap web-config -o jsonpath='{.metadata.labels.velero\.io/restore-name}')" = r1 ]

# --- 3. over the existing namespace, default policy ---------------------------------------------
restore r2 --from-backup b1 --include-namespaces demo
[ "$rc" = 0 ] || { cat "$dir/r2.out"; fail "restore r2 exited $rc"; }
check_files r2
! grep -q "(created)" "$dir/r2.list" || fail "restore r2 over an existing namespace created objects"
[ -z "$(results_messages r2 errors)" ] || fail "restore r2 has errors"
results_messages r2 warnings >"$dir/r2.warnings"
grep -v "already exists. Warning: the in-cluster version is different than the backed-up version" \
  "$dir/r2.warnings" && fail "r2: unexpected warnings"
# Objects nothing changed since the first restore are identical: no warning for them.
grep -E "ConfigMap:web-config |Secret:web-secret " "$dir/r2.warnings" && fail "r2: warning for an identical object"
grep -q "warnings: $(wc -l <"$dir/r2.warnings")," "$dir/r2.out" || { cat "$dir/r2.out"; fail "r2: warning count"; }
snapshot demo "$dir/after-r2"
same "$dir/after" "$dir/after-r2" "restore with policy none changed existing objects"
[ "$(kc -n demo get configmap web-config -o jsonpath='{.metadata.labels.velero\.io/restore-name}')" = r1 ]

# --- 4. killed part-way, then rerun with --existing-resource-policy update ----------------------
kc create namespace bulk >/dev/null
"$PY" - <<'EOF' | kc apply -f - >/dev/null
import json
items = [{"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "bulk-%d" % i, "namespace": "bulk", "labels": {"set": "bulk"}},
          "data": {"i": str(i), "payload": "y" * 1000}} for i in range(400)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
EOF
"$LIFEBOAT" backup run bb --bucket-dir "$BUCKET" --include-namespaces bulk >"$dir/bb.out"
grep -q "Backup bb: Completed" "$dir/bb.out" || { cat "$dir/bb.out"; fail "backup bb"; }
snapshot bulk "$dir/bulk-before"
[ "$(grep -c '"ConfigMap/bulk-' "$dir/bulk-before")" = 400 ]
# count_bulk: how many of the 400 config maps exist.
count_bulk() { kc -n bulk get configmaps -l set=bulk -o name 2>/dev/null | wc -l; }
midway=0
for how in sleep-0.3 sleep-1 first-objects; do
  delete_ns bulk
  name=rk-$how
  "$LIFEBOAT" restore run "$name" --bucket-dir "$BUCKET" --from-backup bb >/dev/null 2>&1 &
  run=$!
  case $how in
    sleep-*) sleep "${how#sleep-}" ;;
    first-objects) for _ in $(seq 1 300); do [ "$(count_bulk)" -ge 1 ] && break; sleep 0.02; done ;;
  esac
  kill -9 "$run" 2>/dev/null || true
  wait "$run" 2>/dev/null || true
  n=$(count_bulk)
  echo "restore $name killed ($how) with $n of 400 config maps restored"
  if [ "$n" -gt 0 ] && [ "$n" -lt 400 ]; then midway=$((midway + 1)); fi
  # Whatever the killed run left in the bucket is not a torn file.
  for f in "$BUCKET/lifeboat/restores/$name"/*; do
    if [ -e "$f" ]; then gzip -t "$f"; fi
  done
  restore "$name" --from-backup bb --existing-resource-policy update
  [ "$rc" = 0 ] || { cat "$dir/$name.out"; fail "rerun of killed restore $name exited $rc"; }
  grep -q "Restore $name: Completed" "$dir/$name.out"
  grep -q "errors: 0" "$dir/$name.out"
  check_files "$name"
  snapshot bulk "$dir/bulk-after"
  same "$dir/bulk-before" "$dir/bulk-after" "namespace bulk after the rerun of $name"
  n=$(kc -n bulk get configmaps -l "set=bulk,velero.io/restore-name=$name" -o name | wc -l)
  [ "$n" = 400 ] || fail "$name: $n of 400 config maps carry the restore's label"
done
# At least one kill must have hit a restore part-way (if restores get fast enough to finish
# before the first poll, back up more config maps).
[ "$midway" -gt 0 ] || fail "no restore was killed part-way through"
echo "lifeboat restore run: ok"
