#!/usr/bin/env bash
# The kube library's list throughput against plain libcurl on the same pages, in the same run
# (issue 3: the library, parse included, at >= 90% of curl). Starts a fresh kubesim, creates N
# config maps with kubesim_load, then lists them in pages of 500, ROUNDS rounds, curl and the
# library back to back in each round (alternating which goes first); best of the rounds each.
# Once per pager: the lazy one (ListAllLazyPages: every page parsed whole by simdjson into a
# JsonTape, the library's cheapest list and the one issue 3's figure is for), the page-scoped
# one (ListAllScopedPages: Boost.JSON DOM items valid while their page lives) and the counted
# one (ListAllPages: DOM items that may be kept anywhere).
#
#   bash bench/kube_list_bench.sh [N=100000] [ROUNDS=6]
#
# MODES ("lazy scoped counted"): the pagers to measure; `scan` is an old experiment (a SAX pass
# per page, one page at a time, building nothing).
# SETTLE_SECONDS (10): the pause between populating and measuring.
# LIFEBOAT_BUILD_DIR: an already configured build dir with LIFEBOAT_BUILD_BENCH=ON (the targets
# are built there, under /tmp/lifeboat-build.lock when flock exists); default: the release preset.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
ROUNDS=${2:-6}
targets=(kubesim kubesim_load kube_list_bench)
if [ -n "${LIFEBOAT_BUILD_DIR:-}" ]; then
  build=$LIFEBOAT_BUILD_DIR
  lock=()
  command -v flock >/dev/null && lock=(flock /tmp/lifeboat-build.lock)
  "${lock[@]}" ninja -C "$build" "${targets[@]}" >/dev/null
else
  build=build/release
  cmake --preset release >/dev/null
  cmake --build --preset release --target "${targets[@]}" >/dev/null
fi
dir=$(mktemp -d -t kube-bench-XXXXXX)
"$build"/bin/kubesim --data-dir "$dir" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" \
  --controller-resync-seconds 3600 --log-level warn >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do [ -s "$dir/kubeconfig" ] && break; sleep 0.05; done
server=$(grep 'server:' "$dir/kubeconfig" | awk '{print $2}')
token=$(grep -A2 'name: kubesim-admin' "$dir/kubeconfig" | grep 'token:' | awk '{print $2}')
"$build"/bin/kubesim_load --server "$server" --token "$token" --ca "$dir/pki/ca.crt" \
  --creates "$N" --threads 8 --page 500 >/dev/null
# Populating leaves the machine busy for a while (load average): let it settle first.
sleep "${SETTLE_SECONDS:-10}"
for mode in ${MODES:-lazy scoped counted}; do
"$build"/bin/kube_list_bench --kubeconfig "$dir/kubeconfig" --ca "$dir/pki/ca.crt" --namespace bench \
  --rounds "$ROUNDS" --mode "$mode" | /usr/bin/python3 -c "
import json, sys
r = json.load(sys.stdin)
what = {'lazy': 'ListAllLazyPages: pages parsed into a JsonTape, LazyItems', 'scoped': 'ListAllScopedPages: items valid while their page lives', 'counted': 'ListAllPages: items hold counted references, kept anywhere', 'scan': 'experiment: RestClient + a SAX pass per page, no items built'}[r['mode']]
print('kube library list benchmark (%s): %d config maps in %d pages of 500, best of %d rounds, $(nproc) cores, load %s' % (what, r['objects'], r['pages'], r['rounds'], open('/proc/loadavg').read().split()[0]))
print('  curl (fetch only)          : %8.0f objects/s   %.3f CPU-s per list (this process)' % (r['curl_objects_per_s'], r['curl_cpu_s']))
print('  kube library (with parse)  : %8.0f objects/s   %.3f CPU-s per list (this process)' % (r['library_objects_per_s'], r['library_cpu_s']))
print('  library / curl             : %5.1f%% best vs best, %5.1f%% median of the per-round ratios (target >= 90%%)' % (100 * r['library_vs_curl'], 100 * r['median_round_ratio']))
"
done
