#!/usr/bin/env bash
# make test: the whole suite, from a fresh Debian 12 or later machine (as
# root) or a developer's one.  Installs what is missing, builds and installs the
# extension, starts a throw-away cluster, the mock WeCom endpoint and a
# proxy on loopback, and runs every step below.  Exits non-zero if any fails.
set -uo pipefail
# (one compound command: bash reads all of it before running any, so an edit
# during a run cannot change that run)
{
cd "$(dirname "$0")/.."

test/deps.sh || exit 1

# CLF_ISOLATE=1 (as root): run in a private network namespace, so several
# runs on one machine cannot collide on the loopback ports.
if [ -n "${CLF_ISOLATE:-}" ] && [ -z "${CLF_IN_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
  exec env CLF_IN_NETNS=1 unshare --net bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
# shellcheck source=test/lib.sh
source test/lib.sh

build_and_install --clean || { echo "build failed" >&2; exit 1; }
start_cluster || exit 1
start_mock || exit 1
start_proxy || exit 1
export CLF_WORK

# shellcheck source=test/steps.sh
source test/steps.sh

regress() {
  make -s installcheck PGUSER=postgres || { [ -f regression.diffs ] && head -300 regression.diffs; return 1; }
}

# CLF_STEPS picks from: meta, regress, upgrade, dump, fault, demo, secrets,
# fuzz, bench (make test runs them all)

no_build_warnings() {
  ! grep -E 'warning:' "$CLF_WORK/build.log"
}

step "build without warnings" no_build_warnings
wanted meta && step "release metadata" $PY test/check_meta.py
if wanted regress; then
  step "pg_regress suite" regress
  [ -n "$CLF_HAVE_PG_CRON" ] ||
    skip "pg_cron recipe" "pg_cron is not installed for PostgreSQL $("$PG_CONFIG" --version | cut -d' ' -f2), so sql/recipes_cron is left out"
fi
wanted upgrade && step "upgrade paths" test/upgrade.sh
wanted dump && step "dump and restore" test/dump_restore.sh
# (both modes' output is kept: test/check_readme.py reads the errors they saw)
fault_suite() {
  $PY test/fault_suite.py "$@" | tee -a "$CLF_WORK/fault_suite.log"
}
wanted fault && step "fault suite" fault_suite

# PostgreSQL 15 and 16 without contact_list_fdw in shared_preload_libraries:
# each backend alone, as before shared state existed.  A second cluster.
per_backend_suite() {
  (
    export PGPORT=$((PGPORT + 1)) CLF_PGDATA_NAME=pgdata_per_backend CLF_PRELOAD=0
    start_cluster && fault_suite --per-backend
  )
}
if wanted fault; then
  if [ "$(pg_major)" -lt 17 ]; then
    step "fault suite, per-backend mode" per_backend_suite
  else
    skip "fault suite, per-backend mode" "PostgreSQL $(pg_major) always shares state (named DSM segment)"
  fi
fi
secrets_in_logs() {
  local log
  for log in "$CLF_WORK/postgres.log" "$CLF_WORK"/pgdata_*.log; do
    [ -f "$log" ] || continue
    test/check_secrets.sh "$log" || return 1
  done
}
# every link of the README stays inside the repository, and every row of
# its errors table is an error some test raised, with that SQLSTATE
readme_true() {
  local args=()
  if wanted fault && [ -z "${CLF_FAULT_CASES:-}" ]; then
    args=(--fault-log "$CLF_WORK/fault_suite.log")
    [ "$(pg_major)" -ge 17 ] && args+=(--always-shared)
  else
    args=(--links-only)
  fi
  $PY test/check_readme.py "${args[@]}"
}
wanted regress && step "README: links and errors table" readme_true
# make mock: the SQL it prints, pasted as it is, reads the mock's rows
mock_sql_works() {
  local port=$((CLF_MOCK_PORT + 20)) out=$CLF_WORK/make_mock.out pid rows
  CLF_MOCK_PORT=$port test/mock.sh >"$out" 2>&1 &
  pid=$!
  wait_for_port "$port" || { kill "$pid"; return 1; }
  "$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE try_mock" &&
    rows=$(sed -n '/^CREATE EXTENSION/,/^SELECT \* FROM/p' "$out" |
      "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d try_mock -t -A | grep -c '|')
  "$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS try_mock"
  kill "$pid"
  echo "make mock's SQL returned ${rows:-no} rows"
  [ "${rows:-0}" -eq 25 ]
}
wanted regress && step "make mock: the SQL it prints works" mock_sql_works
# the README's other command, beside this suite's cluster and mock
wanted demo && step "make demo" env CLF_PGPORT=$((PGPORT + 10)) CLF_MOCK_PORT=$((CLF_MOCK_PORT + 10)) \
  CLF_PROXY_PORT=$((CLF_PROXY_PORT + 10)) test/demo.sh
wanted secrets && step "no secret in the server log" secrets_in_logs
wanted fuzz && step "page parser fuzzing" test/fuzz/run.sh --seconds "${CLF_FUZZ_SECONDS:-60}"
if wanted bench; then
  # CLF_BENCH=0: make test-matrix runs the benchmark on the host only
  if [ "${CLF_BENCH:-1}" = 0 ]; then
    skip "benchmark smoke run" "CLF_BENCH=0"
  else
    step "benchmark smoke run" bench/run.sh --rows 20000 --smoke
  fi
fi

steps_summary
exit
}
