#!/usr/bin/env bash
# The main job, on the embedded defaults: sets up a fresh Debian 12 machine, builds kubesim and
# lifeboat, starts kubesim with sample workloads, shows the cluster with the real kubectl, backs
# the demo namespace up into a local-directory bucket in Velero's format and shows the bucket,
# then deletes the namespace, restores it from that backup, and shows it back with its
# workloads running and the restore's log and results in the bucket.
#
#   bash scripts/demo.sh            # waits for Enter before stopping kubesim
#   DEMO_KEEP_RUNNING=0 bash scripts/demo.sh   # stops right away
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target kubesim lifeboat
DATA=${DEMO_DATA_DIR:-$PWD/build/demo-cluster}
mkdir -p "$DATA"
build/release/bin/kubesim --data-dir "$DATA" --fresh --listen 127.0.0.1:0 \
  --write-kubeconfig "$DATA/kubeconfig" --log-level warn >"$DATA/kubesim.out" 2>"$DATA/kubesim.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [ -s "$DATA/kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG="$DATA/kubeconfig"
step() { echo; echo "\$ $*"; "$@"; }
step kubectl get nodes -o wide
step kubectl apply -f kubesim/samples/workloads.yaml
step kubectl -n demo wait --for=condition=Available deployment/web --timeout=60s
step kubectl -n demo rollout status statefulset/db --timeout=60s
step kubectl -n demo get deployments,statefulsets,pods,services,configmaps,secrets,pvc -o wide
step kubectl get pv
pod=$(kubectl -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
step kubectl -n demo exec "$pod" -- sh -c 'echo "hello from $POD_NAME in $POD_NAMESPACE"; pwd'
BUCKET=$DATA/bucket
rm -rf "$BUCKET"
step build/release/bin/lifeboat backup run demo-backup --bucket-dir "$BUCKET" --include-namespaces demo
step ls -l "$BUCKET/lifeboat/backups/demo-backup"
echo; echo "\$ tar -tzf $BUCKET/lifeboat/backups/demo-backup/demo-backup.tar.gz | head -n 12"
# (Listed into a file first: under pipefail, tar killed by SIGPIPE from head would stop the demo.)
tar -tzf "$BUCKET/lifeboat/backups/demo-backup/demo-backup.tar.gz" >"$DATA/backup-entries"
head -n 12 "$DATA/backup-entries"
# The backup's phase, read as JSON (velero-backup.json is pretty-printed, so no grep).
echo; echo "\$ python3: status.phase of $BUCKET/lifeboat/backups/demo-backup/velero-backup.json"
phase=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"]["phase"])' \
  "$BUCKET/lifeboat/backups/demo-backup/velero-backup.json")
echo "$phase"
[ "$phase" = Completed ]
# Disaster and recovery: the namespace goes away, the restore brings it back.
step kubectl delete ns demo --wait --timeout=120s
step kubectl get ns
step build/release/bin/lifeboat restore run demo-restore --from-backup demo-backup --bucket-dir "$BUCKET"
step kubectl -n demo wait --for=condition=Available deployment/web --timeout=60s
step kubectl -n demo rollout status statefulset/db --timeout=60s
step kubectl -n demo get deployments,statefulsets,pods,services,configmaps,secrets,pvc
step ls -l "$BUCKET/lifeboat/restores/demo-restore"
echo; echo "\$ gzip -dc $BUCKET/lifeboat/restores/demo-restore/restore-demo-restore-results.gz"
gzip -dc "$BUCKET/lifeboat/restores/demo-restore/restore-demo-restore-results.gz"
echo; echo
echo "kubesim is serving https://$(grep -o '127.0.0.1:[0-9]*' "$DATA/kubesim.out" | head -n1)"
echo "Use it:  export KUBECONFIG=$KUBECONFIG"
if [ "${DEMO_KEEP_RUNNING:-1}" = 1 ] && [ -t 0 ]; then
  read -r -p "Press Enter to stop kubesim... " _
fi
