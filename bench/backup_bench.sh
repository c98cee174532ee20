#!/usr/bin/env bash
# The backup engine against a paginated list of the same objects, in the same run (issue 5):
# kubesim filled with config maps, secrets, services, deployments and custom resources over 200
# namespaces; at SMALL objects and then at LARGE objects, a plain paginated LIST of every
# collection (the baseline) and a whole-cluster backup into a local bucket, each in its own
# process so its peak memory is its own; both times start before discovery, which each reads once
# (the backup refreshes it at its start). Targets: backup <= 1.5x the list time, peak RSS <=
# 256 MiB, and peak RSS at LARGE no more than 1.5x that at SMALL.
#
# Each size is measured ROUNDS times (default 3), list and backup alternating, so both see the
# same machine load; the summary gives every round and the best of each.
#
#   bash bench/backup_bench.sh [LARGE=100000] [SMALL=10000]
#   env: ROUNDS (3), SETTLE_SECONDS (15), LEVELS (archive compression levels, each backed up
#        every round: "1" by default = fastest, ISA-L's igzip when the build has it; "1 6"
#        compares with libdeflate level 6, the previous default), LIFEBOAT_BUILD_DIR (an already configured build dir with
#        -DLIFEBOAT_BUILD_BENCH=ON, built with ninja under /tmp/lifeboat-build.lock; default: the
#        `release` preset)
set -euo pipefail
cd "$(dirname "$0")/.."
LARGE=${1:-100000}
SMALL=${2:-10000}
ROUNDS=${ROUNDS:-3}
LEVELS=${LEVELS:-1}
if [ -n "${LIFEBOAT_BUILD_DIR:-}" ]; then
  build=$LIFEBOAT_BUILD_DIR
  flock /tmp/lifeboat-build.lock ninja -C "$build" kubesim backup_bench >/dev/null
else
  build=build/release
  cmake --preset release >/dev/null
  cmake --build --preset release --target kubesim backup_bench >/dev/null
fi
dir=$(mktemp -d -t backup-bench-XXXXXX)
# Controllers resync hourly, not every 30 s: kubesim's controllers run in its process on the
# benchmark's two cores, and a resync of 100,000 objects costs seconds of CPU (a real API
# server's controllers resync from their own caches, in another process).
"$build"/bin/kubesim --data-dir "$dir/ks" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" \
  --controller-resync-seconds 3600 --log-level warn >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 200); do [ -s "$dir/kubeconfig" ] && break; sleep 0.05; done
bench() { "$build"/bin/backup_bench --kubeconfig "$dir/kubeconfig" "$@"; }
measure() {  # $1 = label
  local list backup round
  for round in $(seq 1 "$ROUNDS"); do
    list=$(bench list)
    echo "  $1 objects, round $round: list $list"
    for level in $LEVELS; do
      rm -rf "$dir/bucket"; mkdir -p "$dir/bucket"
      backup=$(bench backup --bucket-root "$dir/bucket" --level "$level")
      echo "$1 $level $list $backup" >>"$dir/results"
      echo "  $1 objects, round $round: backup (level $level) $backup"
    done
  done
}
echo "backup benchmark (2-core machine; kubesim on the same machine; $ROUNDS rounds; levels $LEVELS)"
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
rows = {}
for line in open(sys.argv[1]):
    label, level, rest = line.split(" ", 2)
    dec = json.JSONDecoder()
    lst, i = dec.raw_decode(rest.strip())
    bak, _ = dec.raw_decode(rest.strip()[i:].strip())
    rows.setdefault((int(level), int(label)), []).append((lst, bak))
best = {}
for (level, n), runs in sorted(rows.items()):
    for lst, bak in runs:
        print("level %2d %7d objects: list %.2f s, backup %.2f s (%d items, %s) -> %.2fx the list time; peak RSS list %.0f MiB, backup %.0f MiB"
              % (level, n, lst["seconds"], bak["seconds"], bak["items"], bak["phase"], bak["seconds"] / lst["seconds"],
                 lst["peak_rss_mib"], bak["peak_rss_mib"]))
    bl = min(l["seconds"] for l, _ in runs)
    bb = min(b["seconds"] for _, b in runs)
    rss = max(b["peak_rss_mib"] for _, b in runs)
    best.setdefault(level, {})[n] = rss
    print("level %2d %7d objects, best of %d: list %.2f s, backup %.2f s -> %.2fx (target <= 1.5x); median round ratio %.2fx; peak RSS backup %.0f MiB (target <= 256)"
          % (level, n, len(runs), bl, bb, bb / bl, sorted(b["seconds"] / l["seconds"] for l, b in runs)[len(runs) // 2], rss))
for level, sizes in sorted(best.items()):
    if len(sizes) == 2:
        (small, s_rss), (large, l_rss) = sorted(sizes.items())
        print("level %2d peak RSS growth %d -> %d objects: %.2fx (target <= 1.5x)" % (level, small, large, l_rss / s_rss))
PY
