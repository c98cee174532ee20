#!/usr/bin/env bash
# The main job, on the embedded defaults — Lifeboat's quickstart on a fresh Debian 12 machine:
# sets the machine up, builds kubesim and lifeboat, starts kubesim (a local Kubernetes API server
# with a simulated CSI driver), deploys a small application whose database writes files into
# its CSI volumes, installs Lifeboat with one command (CRDs, RBAC, Deployment, a local-directory
# BackupStorageLocation), runs `lifeboat server` next to kubesim (kubesim runs no containers, so
# the server's Deployment there is only objects), backs the application up with
# `lifeboat backup create --wait` (objects into the bucket in Velero's format, volumes as CSI
# snapshots bracketed by the pods' pre/post hooks), deletes the namespace and its volumes, and
# restores everything with `lifeboat restore create --wait`, checking the files in the volumes.
#
#   bash scripts/demo.sh            # waits for Enter before stopping kubesim and the server
#   DEMO_KEEP_RUNNING=0 bash scripts/demo.sh   # stops right away
#   DEMO_BIN_DIR=build/lead/bin bash scripts/demo.sh   # use binaries built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ -n "${DEMO_BIN_DIR:-}" ]; then  # binaries already built elsewhere (e.g. build/lead/bin)
  BIN=$(cd "$DEMO_BIN_DIR" && pwd)
else
  cmake --preset release >/dev/null
  cmake --build --preset release --target kubesim lifeboat
  BIN=$PWD/build/release/bin
fi
DATA=${DEMO_DATA_DIR:-$PWD/build/demo-cluster}
rm -rf "$DATA"
mkdir -p "$DATA"
"$BIN/kubesim" --data-dir "$DATA/cluster" --fresh --listen 127.0.0.1:0 \
  --write-kubeconfig "$DATA/kubeconfig" --log-level warn >"$DATA/kubesim.out" 2>"$DATA/kubesim.log" &
kubesim_pid=$!
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  kill "$kubesim_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 200); do [ -s "$DATA/kubeconfig" ] && break; sleep 0.05; done
export KUBECONFIG="$DATA/kubeconfig"
step() { echo; echo "\$ $*"; "$@"; }
lifeboat() { "$BIN/lifeboat" "$@"; }

# --- a cluster with an application that keeps data in volumes
step kubectl get nodes
step kubectl get storageclass,volumesnapshotclass
step kubectl apply -f scripts/quickstart-app.yaml
step kubectl -n shop rollout status deployment/web --timeout=60s
step kubectl -n shop rollout status statefulset/db --timeout=60s
for i in 0 1; do
  step kubectl -n shop exec "db-$i" -- sh -c \
    'for n in 1 2 3; do head -c 65536 /dev/urandom > "$KUBESIM_ROOT/var/lib/db/table-$n.dat"; done; ls "$KUBESIM_ROOT/var/lib/db"'
done
checksums() {
  for i in 0 1; do
    kubectl -n shop exec "db-$i" -- sh -c 'cd "$KUBESIM_ROOT/var/lib/db" && sha256sum table-*.dat' | sed "s/^/db-$i /"
  done
}
checksums >"$DATA/before.sha256"
step cat "$DATA/before.sha256"
step kubectl -n shop get pods,pvc,svc,configmaps,secrets

# --- install Lifeboat (one command) and run its server
BUCKET=$DATA/bucket
mkdir -p "$BUCKET/lifeboat"   # the bucket (a directory under the local provider's root)
step lifeboat install --provider local --bucket lifeboat --no-secret \
  --backup-location-config "root=$BUCKET" --use-volume-snapshots=false
"$BIN/lifeboat" --log-level info server --namespace velero --temp-dir "$DATA" \
  --metrics-address 127.0.0.1:0 >"$DATA/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [ "$(kubectl -n velero get bsl default -o jsonpath='{.status.phase}' 2>/dev/null)" = Available ] && break
  sleep 0.2
done
step lifeboat backup-location get

# --- back up
step lifeboat backup create shop-backup --include-namespaces shop --wait
step lifeboat backup describe shop-backup --details
step lifeboat backup get
step ls -l "$BUCKET/lifeboat/backups/shop-backup"
step kubectl get volumesnapshotcontents

# --- the disaster: the namespace and its volumes are gone
step kubectl delete namespace shop --wait --timeout=120s
step kubectl get pv

# --- restore
step lifeboat restore create shop-restore --from-backup shop-backup --wait
step lifeboat restore describe shop-restore
step kubectl -n shop rollout status deployment/web --timeout=60s
step kubectl -n shop rollout status statefulset/db --timeout=60s
step kubectl -n shop get pods,pvc,svc,configmaps,secrets
checksums >"$DATA/after.sha256"
step cat "$DATA/after.sha256"
if cmp -s "$DATA/before.sha256" "$DATA/after.sha256"; then
  echo; echo "The volumes' files came back identical (sha256)."
else
  echo; echo "The restored volumes differ from the backed-up ones:" >&2
  diff "$DATA/before.sha256" "$DATA/after.sha256" >&2 || true
  exit 1
fi
echo
echo "kubesim is serving https://$(grep -o '127.0.0.1:[0-9]*' "$DATA/kubesim.out" | head -n1)"
echo "Use it:  export KUBECONFIG=$KUBECONFIG    (server log: $DATA/server.log)"
if [ "${DEMO_KEEP_RUNNING:-1}" = 1 ] && [ -t 0 ]; then
  read -r -p "Press Enter to stop kubesim and the server... " _
fi
