#!/usr/bin/env bash
# Starts a kubesim on a free loopback port with a fresh data dir, exports KUBECONFIG (and
# KUBESIM_DATA_DIR), runs the given command, then stops kubesim.
#
#   run_with_kubesim.sh /path/to/kubesim [kubesim flags...] -- command [args...]
set -euo pipefail
bin=$1
shift
flags=()
while (($#)) && [ "$1" != "--" ]; do flags+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
dir=$(mktemp -d -t kubesim-test-XXXXXX)
"$bin" --data-dir "$dir" --listen 127.0.0.1:0 --write-kubeconfig "$dir/kubeconfig" --log-level warn \
  "${flags[@]}" >"$dir/stdout" 2>"$dir/stderr" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "${KEEP_KUBESIM_DIR:-0}" = 1 ]; then echo "kubesim data dir kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  [ -s "$dir/kubeconfig" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "kubesim exited early:"; cat "$dir/stderr"; exit 1; fi
  sleep 0.05
done
[ -s "$dir/kubeconfig" ] || { echo "kubesim did not write its kubeconfig"; cat "$dir/stderr"; exit 1; }
export KUBECONFIG="$dir/kubeconfig" KUBESIM_DATA_DIR="$dir"
set +e
"$@"
rc=$?
set -e
if [ $rc -ne 0 ] && [ -s "$dir/stderr" ]; then echo "--- kubesim stderr (tail) ---"; tail -n 30 "$dir/stderr"; fi
# Under the sanitizer preset, kubesim's own findings (reported on its stderr, also at exit)
# fail the suite.
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error:" "$dir/stderr"; then
  echo "--- kubesim sanitizer report ---"
  grep -E -A30 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$dir/stderr" | head -n 80
  rc=1
fi
exit $rc
