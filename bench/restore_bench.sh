#!/usr/bin/env bash
# The restore engine against raw parallel creates of the same objects, in the same run (issue 6):
# kubesim filled with N objects (config maps, secrets, services, deployments, custom resources
# over 200 namespaces) by 8 parallel clients — the baseline, objects/s of plain creates — then
# backed up whole into a local bucket, and restored into a second, empty kubesim. Target:
# >= 5,000 objects/s, bounded peak memory.
#
#   bash bench/restore_bench.sh [N=100000] [WORKERS=16]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
WORKERS=${2:-16}
cmake --preset release >/dev/null
cmake --build --preset release --target kubesim backup_bench restore_bench >/dev/null
dir=$(mktemp -d -t restore-bench-XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; wait $p 2>/dev/null || true; done; [ -n "${KEEP_BENCH_DIR:-}" ] || rm -rf "$dir"' EXIT
start_kubesim() {  # $1 = name
  build/release/bin/kubesim --data-dir "$dir/$1" --listen 127.0.0.1:0 --write-kubeconfig "$dir/$1.kubeconfig" \
    --log-level warn >"$dir/$1.stdout" 2>"$dir/$1.stderr" &
  pids+=($!)
  for _ in $(seq 1 200); do [ -s "$dir/$1.kubeconfig" ] && break; sleep 0.05; done
}
echo "restore benchmark (2-core machine; kubesim on the same machine)"
start_kubesim source
populate=$(build/release/bin/backup_bench --kubeconfig "$dir/source.kubeconfig" populate --objects "$N" --namespaces 200)
echo "  populate (8 clients): $populate"
mkdir -p "$dir/bucket"
backup=$(build/release/bin/backup_bench --kubeconfig "$dir/source.kubeconfig" backup --bucket-root "$dir/bucket")
echo "  backup: $backup"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
start_kubesim target
restore=$(build/release/bin/restore_bench --kubeconfig "$dir/target.kubeconfig" --bucket-root "$dir/bucket" --workers "$WORKERS")
echo "  restore: $restore"
echo "  per resource (from the restore's log):"
zcat "$dir/bucket/bucket/restores/bench-restore/restore-bench-restore-logs.gz" | grep -o 'Restored [0-9]* items of resource [^ ]* in [0-9]* ms' \
  | awk '{ printf "    %-40s %7d items %7d ms %8.0f items/s\n", $6, $2, $8, ($8 > 0 ? $2 * 1000 / $8 : 0) }'
/usr/bin/python3 - "$populate" "$restore" <<'PY'
import json, sys
pop, res = json.loads(sys.argv[1]), json.loads(sys.argv[2])
base = pop["populated"] / pop["seconds"]
print("restore %d items in %.2f s: %.0f objects/s (target >= 5000), %.2fx the plain-create rate (%.0f objects/s); peak RSS %.0f MiB; %s, %d warnings, %d errors"
      % (res["items"], res["seconds"], res["objects_per_second"], res["objects_per_second"] / base, base,
         res["peak_rss_mib"], res["phase"], res["warnings"], res["errors"]))
PY
