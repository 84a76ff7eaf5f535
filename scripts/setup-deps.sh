#!/usr/bin/env bash
# Installs every Debian package the project builds, tests, benchmarks and demos with.
# Idempotent and quiet; runs as root with no terminal (CI) or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev
  nlohmann-json3-dev libfmt-dev libexpected-dev libboost-dev
  libhowardhinnant-date-dev tzdata
  libsqlite3-dev sqlite3 libmimalloc-dev
  libhiredis-dev libpq-dev libcli11-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server postgresql
  libssl-dev openssl curl prometheus
  chromium chromium-driver fonts-dejavu-core jq
  doxygen
  systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
