#!/usr/bin/env bash
# Install what building and testing contact_list_fdw needs, on Debian 12 or
# later (or Ubuntu), for the PostgreSQL test/pgversion.sh picks: the one the
# machine has, else the distribution's own.  Idempotent: asks apt only for
# packages that are missing.
#
#   test/deps.sh [--packaging]
#
# --packaging adds what make deb, make dist and test/packaging.sh need
# (make test-matrix's chroots).
set -euo pipefail
cd "$(dirname "$0")/.."
packaging=
[ "${1:-}" = --packaging ] && packaging=1
# shellcheck source=test/pgversion.sh
source test/pgversion.sh

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# apt-cache knows nothing on a machine that has never run apt-get update;
# where it knows something, look-ups need no network (make test-matrix
# runs this again without one).
lists_read=
update_lists() {
  [ -n "$lists_read" ] && return 0
  [ "$(id -u)" -eq 0 ] || return 0
  apt-get update -qq
  lists_read=1
}
read_lists() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || update_lists
}

has_candidate() {
  local candidate
  candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

install_missing() {
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]}" >&2
    echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  update_lists
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

read_lists
major=$(clf_pg_major)
[ -n "$major" ] || { echo "no PostgreSQL server package found: set PG_CONFIG" >&2; exit 1; }

packages=(
  make gcc pkg-config
  libcurl4-openssl-dev libjson-c-dev
  clang                             # libFuzzer + ASan
  curl openssl tinyproxy            # tests: mock stats, TLS certificates, proxy
  python3 python3-requests python3-psycopg2   # mock, fault suite, ETL baseline
  python3-h2                        # the mock's HTTP/2 front (test/h2_front.py)
  gnuplot-nox time                  # bench chart, peak RSS
  iproute2 util-linux               # CLF_ISOLATE's network namespace, runuser
)
# A PG_CONFIG of the user's own build brings its server; else Debian's,
# and pg_cron (for sql/recipes_cron) where it is packaged for that major.
if [ -z "${PG_CONFIG:-}" ] || [ "$PG_CONFIG" = pg_config ]; then
  packages+=("postgresql-$major" "postgresql-server-dev-$major")
  installed "postgresql-$major-cron" || has_candidate "postgresql-$major-cron" &&
    packages+=("postgresql-$major-cron")
fi

if [ -n "$packaging" ]; then
  packages+=(
    build-essential dpkg-dev debhelper postgresql-server-dev-all   # make deb: dh --with pgxs, pg_buildext
    lintian
    git unzip pgxnclient                          # make dist (git archive), pgxn install
  )
fi

# the sanitizer runtime of the clang that "clang" is
clang_major=$(apt-cache depends clang 2>/dev/null | grep -oE 'clang-[0-9]+' | head -n 1)
[ -n "$clang_major" ] && packages+=("libclang-rt-${clang_major#clang-}-dev")

install_missing "${packages[@]}"

# PGXS compiles LLVM bitcode with the clang the server was built with,
# which need not be the default one.
pgxs_clang=$(sed -n -E 's/^CLANG *= *//p' "$(dirname "$("$(clf_pg_config)" --pgxs)")/../Makefile.global" 2>/dev/null | head -n 1)
if [ -n "$pgxs_clang" ] && [ ! -x "$pgxs_clang" ] && [[ $(basename "$pgxs_clang") =~ ^clang-[0-9]+$ ]]; then
  install_missing "$(basename "$pgxs_clang")"
fi
exit 0
