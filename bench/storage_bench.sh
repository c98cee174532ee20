#!/usr/bin/env bash
# Object-storage throughput (issue 4): upload and download of one SIZE_MIB file through each
# Lifeboat driver against the local emulators, compared in the same run with `aws s3 cp`
# (Debian's awscli) against the very same s3rver, plus a plain `cp` of the file as the disk
# baseline. Every figure is the best of 2 runs; runs of the two S3 clients are interleaved.
# Every download is checked byte for byte (cmp) against the source file.
#
#   bash bench/storage_bench.sh [SIZE_MIB=1024]
#
# Environment: LIFEBOAT_BUILD_DIR (default: the `release` preset's build/release), or
# STORAGE_BENCH_BIN (an already built storage_bench: nothing is built),
# AWS_CLI (default /usr/bin/aws from Debian's awscli: `apt-get install -y awscli`),
# S3_EXTRA / AZURE_EXTRA: extra driver config, e.g. S3_EXTRA=uploadConcurrency=8.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
ROUNDS=2
root=$PWD
npm_bin=$root/.deps/npm/node_modules/.bin
AWS_CLI=${AWS_CLI:-/usr/bin/aws}

[ -x "$AWS_CLI" ] || { echo "storage_bench: $AWS_CLI missing: apt-get install -y awscli" >&2; exit 1; }
for b in s3rver azurite-blob; do
  [ -x "$npm_bin/$b" ] || { echo "storage_bench: $npm_bin/$b missing: run scripts/install-deps.sh" >&2; exit 1; }
done

if [ -n "${STORAGE_BENCH_BIN:-}" ]; then
  bench_bin=$(realpath "$STORAGE_BENCH_BIN")
elif [ -n "${LIFEBOAT_BUILD_DIR:-}" ]; then
  cmake --build "$LIFEBOAT_BUILD_DIR" --target storage_bench -- -j2 >/dev/null
  bench_bin=$(realpath "$LIFEBOAT_BUILD_DIR/bin/storage_bench")
else
  cmake --preset release >/dev/null
  cmake --build --preset release --target storage_bench >/dev/null
  bench_bin=$root/build/release/bin/storage_bench
fi

dir=$(mktemp -d -t storage-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- data -------------------------------------------------------------------------------------
src=$dir/data.bin
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$src"
bytes=$(stat -c %s "$src")

# --- emulators, on free loopback ports, data on the same disk as the source -------------------
mkdir -p "$dir/s3rver" "$dir/azurite" "$dir/local/bench"
# s3rver encrypts ListObjectsV2 continuation tokens with DES: OpenSSL 3 needs the legacy provider.
NODE_OPTIONS="--openssl-legacy-provider ${NODE_OPTIONS:-}" "$npm_bin/s3rver" -d "$dir/s3rver" \
  -a 127.0.0.1 -p 0 --silent >"$dir/s3rver.log" 2>&1 &
pids+=($!)
azure_port=$(free_port)
"$npm_bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$azure_port" --location "$dir/azurite" \
  --silent --disableTelemetry >"$dir/azurite.log" 2>&1 &
pids+=($!)
s3_port=
for _ in $(seq 1 600); do
  s3_port=$(sed -n 's/.*S3rver listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/s3rver.log" | head -1)
  [ -n "$s3_port" ] && break
  sleep 0.05
done
[ -n "$s3_port" ] || { echo "storage_bench: s3rver did not start:" >&2; cat "$dir/s3rver.log" >&2; exit 1; }
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$azure_port") 2>/dev/null && break
  sleep 0.1
done
s3_url=http://127.0.0.1:$s3_port
azure_url=http://127.0.0.1:$azure_port/devstoreaccount1

# --- clients: one credentials file for aws-cli and the Lifeboat aws driver --------------------
cat >"$dir/aws-credentials" <<EOF
[default]
aws_access_key_id = S3RVER
aws_secret_access_key = S3RVER
EOF
cat >"$dir/aws-config" <<EOF
[default]
region = us-east-1
s3 =
  addressing_style = path
EOF
export AWS_SHARED_CREDENTIALS_FILE=$dir/aws-credentials AWS_CONFIG_FILE=$dir/aws-config
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
azure_key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
echo "AZURE_STORAGE_ACCOUNT_ACCESS_KEY=$azure_key" >"$dir/azure-credentials"

awscli() { "$AWS_CLI" --endpoint-url "$s3_url" "$@"; }
s3cp() { awscli s3 cp --only-show-errors --no-progress "$@"; }
awscli s3 mb s3://bench >/dev/null
# Create Container (Shared Key) on Azurite: the driver never creates containers.
python3 - "$azure_port" "$azure_key" <<'EOF'
import base64, email.utils, hashlib, hmac, http.client, sys
port, key = sys.argv[1], base64.b64decode(sys.argv[2])
acct, ver, date = "devstoreaccount1", "2021-08-06", email.utils.formatdate(usegmt=True)
sts = "PUT\n" + "\n" * 11 + f"x-ms-date:{date}\nx-ms-version:{ver}\n/{acct}/{acct}/bench\nrestype:container"
sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode()
conn = http.client.HTTPConnection("127.0.0.1", int(port))
conn.request("PUT", f"/{acct}/bench?restype=container", body=b"",
             headers={"x-ms-date": date, "x-ms-version": ver, "Authorization": f"SharedKey {acct}:{sig}"})
resp = conn.getresponse()
if resp.status != 201:
    sys.exit(f"storage_bench: creating the Azurite container: HTTP {resp.status} {resp.read()[:300]!r}")
EOF

s3_config="s3Url=$s3_url,s3ForcePathStyle=true,region=us-east-1${S3_EXTRA:+,$S3_EXTRA}"
azure_config="storageAccount=devstoreaccount1,storageAccountKeyEnvVar=AZURE_STORAGE_ACCOUNT_ACCESS_KEY"
azure_config+=",storageAccountURI=$azure_url,credentialsFile=$dir/azure-credentials${AZURE_EXTRA:+,$AZURE_EXTRA}"
local_config="root=$dir/local"

# --- measurements: wall time of each command, the same timer for every client -----------------
results=$dir/results
: >"$results"
timed() {  # timed NAME command...: appends "NAME seconds" to $results
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$name $(echo "$t1 - $t0" | bc -l)" >>"$results"
}
verify() {  # verify FILE: the download must equal the source byte for byte
  cmp -s "$src" "$1" || { echo "storage_bench: $1 differs from the uploaded file" >&2; exit 1; }
  rm -f "$1"
}
lifeboat() {  # lifeboat PROVIDER CONFIG args...
  local provider=$1 config=$2
  shift 2
  "$bench_bin" --provider "$provider" --config "$config" --bucket bench "$@"
}

echo "storage_bench: $SIZE_MIB MiB, s3rver at $s3_url, Azurite at $azure_url, $ROUNDS rounds" >&2
for round in $(seq 1 "$ROUNDS"); do
  echo "  round $round" >&2
  timed cp cp "$src" "$dir/cp.bin"
  rm -f "$dir/cp.bin"
  timed awscli_startup awscli s3api head-bucket --bucket bench
  timed awscli_put s3cp "$src" s3://bench/awscli.bin
  timed lifeboat_s3_put lifeboat aws "$s3_config" --key lifeboat.bin --put "$src"
  timed awscli_get s3cp s3://bench/awscli.bin "$dir/awscli.out"
  verify "$dir/awscli.out"
  timed lifeboat_s3_get lifeboat aws "$s3_config" --key lifeboat.bin --get "$dir/s3.out"
  verify "$dir/s3.out"
  timed lifeboat_azure_put lifeboat azure "$azure_config" --key lifeboat.bin --put "$src"
  timed lifeboat_azure_get lifeboat azure "$azure_config" --key lifeboat.bin --get "$dir/azure.out"
  verify "$dir/azure.out"
  timed lifeboat_local_put lifeboat local "$local_config" --key lifeboat.bin --put "$src"
  timed lifeboat_local_get lifeboat local "$local_config" --key lifeboat.bin --get "$dir/local.out"
  verify "$dir/local.out"
done

python3 - "$results" "$bytes" "$SIZE_MIB" "$("$AWS_CLI" --version 2>&1)" <<'EOF'
import sys
path, size, mib, aws_version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = {}
for line in open(path):
    name, secs = line.split()
    runs.setdefault(name, []).append(float(secs))
best = {k: min(v) for k, v in runs.items()}
rate = {k: size / (1 << 20) / v for k, v in best.items()}
print(f"storage benchmark: {mib} MiB file, best of 2, wall time per command, all downloads verified")
print(f"  aws-cli: {aws_version}")
rows = [("cp (disk baseline)", "cp", None),
        ("aws s3 cp -> s3rver", "awscli_put", "awscli_get"),
        ("Lifeboat S3 -> s3rver", "lifeboat_s3_put", "lifeboat_s3_get"),
        ("Lifeboat Azure -> Azurite", "lifeboat_azure_put", "lifeboat_azure_get"),
        ("Lifeboat local", "lifeboat_local_put", "lifeboat_local_get")]
print(f"  {'':28} {'upload MiB/s':>13} {'download MiB/s':>15}")
for label, up, down in rows:
    d = f"{rate[down]:15.1f}" if down else f"{'':>15}"
    print(f"  {label:28} {rate[up]:13.1f} {d}")
print(f"  (aws-cli's fixed cost, start-up plus one HEAD request: {best['awscli_startup']:.2f} s per command,"
      " included in its figures)")
print(f"  Lifeboat S3 / aws-cli: upload {rate['lifeboat_s3_put'] / rate['awscli_put']:.2f}x, "
      f"download {rate['lifeboat_s3_get'] / rate['awscli_get']:.2f}x")
print("  every run, seconds: " + "; ".join(f"{k} " + " ".join(f"{x:.2f}" for x in v) for k, v in runs.items()))
EOF
