#!/usr/bin/env bash
# kubesim's benchmark (not a test): starts a fresh kubesim, creates N config maps from parallel
# clients, lists them all in pages of 500, and reports creates/s, listed objects/s, and the
# resident memory of kubesim holding them, next to a same-run transport baseline (authenticated
# GET /version round trips on the same connections).
#
#   bash bench/kubesim_bench.sh [N=100000] [THREADS=8]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
THREADS=${2:-8}
cmake --preset release >/dev/null
cmake --build --preset release --target kubesim kubesim_load >/dev/null
dir=$(mktemp -d -t kubesim-bench-XXXXXX)
build/release/bin/kubesim --data-dir "$dir" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" \
  --log-level warn >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do [ -s "$dir/kubeconfig" ] && break; sleep 0.05; done
server=$(grep 'server:' "$dir/kubeconfig" | awk '{print $2}')
token=$(grep -A2 'name: kubesim-admin' "$dir/kubeconfig" | grep 'token:' | awk '{print $2}')
cp "$dir/pki/ca.crt" "$dir/ca.pem"
rss_before=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
result=$(build/release/bin/kubesim_load --server "$server" --token "$token" --ca "$dir/ca.pem" \
  --creates "$N" --threads "$THREADS" --page 500)
rss_after=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
echo "$result" | python3 -c "
import json, sys
r = json.load(sys.stdin)
print('kubesim benchmark: %d config maps, %d client threads, 2-core machine' % (r['creates'], r['create_threads']))
print('  baseline (GET /version)   : %8.0f requests/s' % r['baseline_requests_per_s'])
print('  parallel creates          : %8.0f objects/s   (%.2fx baseline request rate, %d failures)' % (r['creates_per_s'], r['create_vs_baseline'], r['create_failures']))
print('  paginated list (500/page) : %8.0f objects/s   (%d pages, %.2fx baseline request rate)' % (r['list_objects_per_s'], r['list_pages'], r['list_pages_per_s_vs_baseline']))
"
echo "  kubesim RSS: ${rss_before} KiB empty, ${rss_after} KiB holding ${N} objects (peak ${hwm} KiB)"
