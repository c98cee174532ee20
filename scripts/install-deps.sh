#!/usr/bin/env bash
# Installs everything Lifeboat's build, tests and tools need on a fresh Debian 12 machine.
# Idempotent: packages already present are skipped; npm tools go to .deps/npm (git-ignored),
# never globally.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  g++ cmake ninja-build pkg-config git ca-certificates
  libcurl4-openssl-dev libssl-dev zlib1g-dev libdeflate-dev libzstd-dev libarchive-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libsimdjson-dev
  libyaml-cpp-dev libabsl-dev libcli11-dev libspdlog-dev libfmt-dev
  libpugixml-dev
  clang-14 libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-kubernetes python3-botocore python3-yaml
  python3-prometheus-client
  openssl procps
  tmux zsh fish
  tzdata
)
# Pinned npm tools: the storage emulators used by the object-store conformance tests.
NPM_PACKAGES=(azurite@3.37.0 s3rver@3.7.1)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm: the machines ship their own (not Debian's, whose npm package conflicts with
# it); install Debian's only when neither is there.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl is preinstalled on the project's machines (the conformance suite's judge); say so
# clearly when it is not, instead of failing later with a confusing error.
command -v kubectl >/dev/null || echo "install-deps: warning: kubectl not found; kubectl conformance tests will be skipped" >&2

NPM_DIR=.deps/npm
want="${NPM_PACKAGES[*]}"
if [ "$(cat "$NPM_DIR/.installed" 2>/dev/null)" != "$want" ]; then
  echo "install-deps: npm install $want (into $NPM_DIR)"
  mkdir -p "$NPM_DIR"
  [ -f "$NPM_DIR/package.json" ] || echo '{"name":"lifeboat-test-deps","private":true}' > "$NPM_DIR/package.json"
  (cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}" >/dev/null)
  echo "$want" > "$NPM_DIR/.installed"
fi
echo "install-deps: ok"
