#!/usr/bin/env bash
# The kube library's list throughput against plain libcurl on the same pages, in the same run
# (issue 3: the library, parse included, at >= 90% of curl). Starts a fresh kubesim, creates N
# config maps with kubesim_load, then lists them in pages of 500 (best of 3 rounds each).
#
#   bash bench/kube_list_bench.sh [N=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
cmake --preset release >/dev/null
cmake --build --preset release --target kubesim kubesim_load kube_list_bench >/dev/null
dir=$(mktemp -d -t kube-bench-XXXXXX)
build/release/bin/kubesim --data-dir "$dir" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" \
  --log-level warn >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do [ -s "$dir/kubeconfig" ] && break; sleep 0.05; done
server=$(grep 'server:' "$dir/kubeconfig" | awk '{print $2}')
token=$(grep -A2 'name: kubesim-admin' "$dir/kubeconfig" | grep 'token:' | awk '{print $2}')
build/release/bin/kubesim_load --server "$server" --token "$token" --ca "$dir/pki/ca.crt" \
  --creates "$N" --threads 8 --page 500 >/dev/null
build/release/bin/kube_list_bench --kubeconfig "$dir/kubeconfig" --ca "$dir/pki/ca.crt" --namespace bench | python3 -c "
import json, sys
r = json.load(sys.stdin)
print('kube library list benchmark: %d config maps in %d pages of 500, best of 3, 2-core machine' % (r['objects'], r['pages']))
print('  curl (fetch only)          : %8.0f objects/s' % r['curl_objects_per_s'])
print('  kube library (with parse)  : %8.0f objects/s   (%.0f%% of curl; target >= 90%%)' % (r['library_objects_per_s'], 100 * r['library_vs_curl']))
"
