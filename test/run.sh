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

# CLF_DEPS_CHECKED=1: the caller ran test/deps.sh already (test/sabotage.sh)
[ -n "${CLF_DEPS_CHECKED:-}" ] || test/deps.sh || exit 1

# CLF_ISOLATE=1 (as root): run in a private network namespace, so several
# runs on one machine cannot collide on the loopback ports.
if [ -n "${CLF_ISOLATE:-}" ] && [ -z "${CLF_IN_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
  exec env CLF_IN_NETNS=1 unshare --net bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
# shellcheck source=test/lib.sh
source test/lib.sh

# a clean build, so that build.log holds the compiler's word on every file
# (CLF_INCREMENTAL_BUILD=1: test/sabotage.sh rebuilds only what it broke)
build_flag=--clean
[ -n "${CLF_INCREMENTAL_BUILD:-}" ] && build_flag=
build_and_install $build_flag || { echo "build failed" >&2; exit 1; }
start_cluster || exit 1
start_mock || exit 1
start_proxy || exit 1
export CLF_WORK

# shellcheck source=test/steps.sh
source test/steps.sh

# CLF_REGRESS="setup a b": only those pg_regress files (setup first)
regress() {
  make -s installcheck PGUSER=postgres ${CLF_REGRESS:+REGRESS="$CLF_REGRESS"} || { [ -f regression.diffs ] && head -300 regression.diffs; return 1; }
}

# CLF_STEPS picks from: meta, regress, upgrade, dump, fault, demo, secrets,
# fuzz, bench (make test runs them all); CLF_REGRESS and CLF_FAULT_CASES
# narrow regress and fault down

no_build_warnings() {
  ! grep -E 'warning:' "$CLF_WORK/build.log"
}

step "build without warnings" no_build_warnings

# As pg_buildext builds (VPATH, a directory of its own), on a machine
# without pkg-config: the library still links libcurl and json-c, and a
# header changed in the source tree rebuilds the objects that include it.
out_of_tree_build() {
  local top ok=0
  top=$(mktemp -d) || return 1
  # the sources alone: VPATH would find this tree's own build products (the
  # tracked files, or in a copy that is no git checkout, all but those)
  mkdir "$top/src" "$top/build"
  { git ls-files -z 2>/dev/null ||
    find . -path ./.git -prune -o -type f ! -name '*.o' ! -name '*.so' ! -name '*.bc' -print0; } |
    xargs -0 cp --parents -t "$top/src" || { rm -rf "$top"; return 1; }
  local vmake=(make -C "$top/build" -f "$top/src/Makefile" VPATH="$top/src" USE_PGXS=1 with_llvm=no)
  local needed would_run
  # (outputs read whole: grep -q would end a pipe early, and pipefail count it)
  if ! "${vmake[@]}" -s PKG_CONFIG=false >"$top/make.log" 2>&1; then
    cat "$top/make.log"; ok=1
  elif needed=$(readelf -d "$top/build/contact_list_fdw.so" 2>&1)
       [[ "$needed" != *"(NEEDED)"*"[libcurl"* ]] || [[ "$needed" != *"(NEEDED)"*"[libjson-c"* ]]; then
    echo "built without pkg-config, the library does not link libcurl and json-c:"
    echo "$needed" | grep -E 'NEEDED|rror'; ok=1
  elif would_run=$("${vmake[@]}" -n -W "$top/src/src/shared_state.h" 2>&1)
       [[ "$would_run" != *"-o src/shmem.o "* ]]; then
    echo "a changed src/shared_state.h does not rebuild src/shmem.o out of tree"; ok=1
  fi
  rm -rf "$top"
  return $ok
}
wanted meta && step "out-of-tree build: links without pkg-config, follows headers" out_of_tree_build
wanted meta && step "release metadata" $PY test/check_meta.py
# src/ on the floors of CONTRIBUTING.md's map (the checker first proves it can fail)
layers_hold() { $PY test/check_layers.py --selftest && $PY test/check_layers.py; }
wanted meta && step "includes and calls run down the floors" layers_hold
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
# Every PostgreSQL server log the steps made: this suite's cluster, the
# per-backend one, the fault suite's own (mini-*), the demo's (kept under
# $CLF_WORK/demo).  Not the mock's or the proxy's: they are sent the secrets.
secrets_in_logs() {
  local logs=("$CLF_WORK/postgres.log") log
  for log in "$CLF_WORK"/pgdata_*.log "$CLF_WORK"/mini-*/postgres.log "$CLF_WORK"/demo/*/postgres.log; do
    [ -f "$log" ] && logs+=("$log")
  done
  if wanted fault && [ "$(pg_major)" -lt 17 ] && [ ! -f "$CLF_WORK/pgdata_per_backend.log" ]; then
    echo "the per-backend cluster left no log" >&2
    return 1
  fi
  if wanted demo && ! compgen -G "$CLF_WORK/demo/*/postgres.log" >/dev/null; then
    echo "the demo left no server log" >&2
    return 1
  fi
  test/check_secrets.sh "${logs[@]}"
}
# every link of the README stays inside the repository, and every row of
# its errors table is an error some test raised, with that SQLSTATE; the
# tests CONTRIBUTING.md names for the promises exist
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
run_demo() {
  mkdir -p "$CLF_WORK/demo" && chmod 755 "$CLF_WORK/demo" &&
    env CLF_PGPORT=$((PGPORT + 10)) CLF_MOCK_PORT=$((CLF_MOCK_PORT + 10)) \
      CLF_PROXY_PORT=$((CLF_PROXY_PORT + 10)) CLF_WORK_PARENT="$CLF_WORK/demo" CLF_KEEP_WORK=1 \
      test/demo.sh
}
wanted demo && step "make demo" run_demo
wanted secrets && step "no secret in the server log" secrets_in_logs
wanted fuzz && step "page parser fuzzing" test/fuzz/run.sh --seconds "${CLF_FUZZ_SECONDS:-60}"
# The benchmark with a wrong corp_secret for its token run: it must exit
# non-zero and say which part failed, not report nonsense and exit 0.
bench_fails() {
  local out rc
  out=$(CLF_BENCH_CORP_SECRET=bench-wrong-secret bench/run.sh --rows 10000 --smoke 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ] || ! grep -q '^bench: the connections run failed' <<<"$out"; then
    echo "$out" | tail -20
    echo "bench/run.sh exited $rc with a failing gettoken" >&2
    return 1
  fi
}
if wanted bench; then
  # CLF_BENCH=0: make test-matrix runs the benchmark on the host only
  if [ "${CLF_BENCH:-1}" = 0 ]; then
    skip "benchmark smoke run" "CLF_BENCH=0"
  else
    # CLF_BENCH_FAILS_ONLY=1 (test/sabotage.sh): only the failing run
    [ -n "${CLF_BENCH_FAILS_ONLY:-}" ] || step "benchmark smoke run" bench/run.sh --rows 20000 --smoke
    step "benchmark fails when a part fails (gettoken)" bench_fails
  fi
fi

steps_summary
exit
}
