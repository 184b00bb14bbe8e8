#!/usr/bin/env bash
# Install what building and testing contact_list_fdw needs, on Debian 12.
# Idempotent: asks apt only for packages that are missing.
set -euo pipefail

packages=(
  make gcc pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron
  libcurl4-openssl-dev libjson-c-dev
  clang libclang-rt-14-dev          # PGXS bitcode, libFuzzer + ASan
  curl openssl tinyproxy            # tests: mock stats, TLS certificates, proxy
  python3 python3-requests python3-psycopg2   # mock, fault suite, ETL baseline
  gnuplot-nox                       # bench chart
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]}" >&2
  echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
