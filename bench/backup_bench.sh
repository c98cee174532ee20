#!/usr/bin/env bash
# The backup engine against a paginated list of the same objects, in the same run (issue 5):
# kubesim filled with config maps, secrets, services, deployments and custom resources over 200
# namespaces; at SMALL objects and then at LARGE objects, a plain paginated LIST of every
# collection (the baseline) and a whole-cluster backup into a local bucket, each in its own
# process so its peak memory is its own. Targets: backup <= 1.5x the list time, peak RSS <=
# 256 MiB, and peak RSS at LARGE no more than 1.5x that at SMALL.
#
#   bash bench/backup_bench.sh [LARGE=100000] [SMALL=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
LARGE=${1:-100000}
SMALL=${2:-10000}
cmake --preset release >/dev/null
cmake --build --preset release --target kubesim backup_bench >/dev/null
dir=$(mktemp -d -t backup-bench-XXXXXX)
build/release/bin/kubesim --data-dir "$dir/ks" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" \
  --log-level warn >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do [ -s "$dir/kubeconfig" ] && break; sleep 0.05; done
bench() { build/release/bin/backup_bench --kubeconfig "$dir/kubeconfig" "$@"; }
measure() {  # $1 = label
  local list backup
  list=$(bench list)
  rm -rf "$dir/bucket"; mkdir -p "$dir/bucket"
  backup=$(bench backup --bucket-root "$dir/bucket")
  echo "$1 $list $backup" >>"$dir/results"
  echo "  $1 objects: list $list"
  echo "  $1 objects: backup $backup"
}
echo "backup benchmark (2-core machine; kubesim on the same machine)"
# kubesim's controllers keep working on what populating created (replica sets, endpoints) for a
# while: measure once the API server is idle, as a production one would be for a backup.
settle() { sleep "${SETTLE_SECONDS:-15}"; }
bench populate --objects "$SMALL" --namespaces 200 >/dev/null
settle
measure "$SMALL"
bench populate --objects "$LARGE" --namespaces 200 >/dev/null  # adds the rest (existing ones are kept)
settle
measure "$LARGE"
/usr/bin/python3 - "$dir/results" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    label, rest = line.split(" ", 1)
    dec = json.JSONDecoder()
    lst, i = dec.raw_decode(rest.strip())
    bak, _ = dec.raw_decode(rest.strip()[i:].strip())
    rows.append((int(label), lst, bak))
for n, lst, bak in rows:
    print("%7d objects: list %.2f s, backup %.2f s (%d items, %s) -> %.2fx the list time; peak RSS list %.0f MiB, backup %.0f MiB"
          % (n, lst["seconds"], bak["seconds"], bak["items"], bak["phase"], bak["seconds"] / lst["seconds"],
             lst["peak_rss_mib"], bak["peak_rss_mib"]))
if len(rows) == 2:
    print("peak RSS growth %d -> %d objects: %.2fx (target <= 1.5x)" % (rows[0][0], rows[1][0], rows[1][2]["peak_rss_mib"] / rows[0][2]["peak_rss_mib"]))
PY
