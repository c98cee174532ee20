#!/usr/bin/env bash
# `lifeboat backup run` end to end: kubesim with the sample workloads, a backup of the demo
# namespace into a local bucket, then the bucket's files, the tarball (read by GNU tar) and the
# backup's phase; a second run of the same name must fail without touching the first.
set -euo pipefail
KUBESIM=$1 LIFEBOAT=$2 SAMPLES=$3
dir=$(mktemp -d -t lifeboat-run-XXXXXX)
"$KUBESIM" --data-dir "$dir/ks" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" --log-level warn \
  >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do [ -s "$dir/kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG=$dir/kubeconfig
kubectl apply -f "$SAMPLES" >/dev/null
kubectl -n demo wait --for=condition=Available deployment/web --timeout=60s >/dev/null
"$LIFEBOAT" backup run b1 --bucket-dir "$dir/bucket" --include-namespaces demo >"$dir/run1"
grep -q "Backup b1: Completed" "$dir/run1" || { cat "$dir/run1"; exit 1; }
b=$dir/bucket/lifeboat/backups/b1
for f in b1.tar.gz b1-logs.gz b1-results.gz b1-resource-list.json.gz b1-volumesnapshots.json.gz velero-backup.json; do
  [ -s "$b/$f" ] || { echo "missing $f"; exit 1; }
done
tar -tzf "$b/b1.tar.gz" >"$dir/entries"
grep -qx "metadata/version" "$dir/entries"
grep -q "^resources/deployments.apps/namespaces/demo/web.json$" "$dir/entries"
grep -q "^resources/deployments.apps/v1-preferredversion/namespaces/demo/web.json$" "$dir/entries"
grep -q "^resources/namespaces/cluster/demo.json$" "$dir/entries"
grep -q '"phase": *"Completed"' "$b/velero-backup.json"
gzip -dc "$b/b1-resource-list.json.gz" | grep -q '"apps/v1/Deployment":\["demo/web"\]'
before=$(md5sum "$b/velero-backup.json")
if "$LIFEBOAT" backup run b1 --bucket-dir "$dir/bucket" >"$dir/run2"; then echo "second run should fail"; exit 1; fi
grep -q "backup already exists in object storage" "$dir/run2"
[ "$before" = "$(md5sum "$b/velero-backup.json")" ]

# Killed at any moment (kill -9), a backup is either absent from the bucket or whole: never a
# velero-backup.json without every file beside it. A run of the same name afterwards works when
# the killed one did not finish.
/usr/bin/python3 - <<'PY' | kubectl apply -f - >/dev/null
import json
items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bulk-%d" % i, "namespace": "demo"},
          "data": {"payload": "x" * 2000}} for i in range(3000)]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
for delay in 0.05 0.1 0.2 0.3 0.5; do
  name=k$(echo "$delay" | tr -d .)
  "$LIFEBOAT" backup run "$name" --bucket-dir "$dir/bucket" >/dev/null 2>&1 &
  run=$!
  sleep "$delay"
  kill -9 "$run" 2>/dev/null || true
  wait "$run" 2>/dev/null || true
  kb=$dir/bucket/lifeboat/backups/$name
  if [ -e "$kb/velero-backup.json" ]; then
    for f in "$name.tar.gz" "$name-results.gz" "$name-resource-list.json.gz"; do
      [ -s "$kb/$f" ] || { echo "killed after ${delay}s: velero-backup.json without $f"; exit 1; }
    done
    gzip -t "$kb/$name.tar.gz"
    echo "killed after ${delay}s: the backup had finished (whole)"
  else
    echo "killed after ${delay}s: no backup visible; a new run of it completes"
    "$LIFEBOAT" backup run "$name" --bucket-dir "$dir/bucket" >"$dir/rerun"
    grep -q "Backup $name: Completed" "$dir/rerun" || { cat "$dir/rerun"; exit 1; }
  fi
done
echo "lifeboat backup run: ok"
