#!/usr/bin/env bash
# make bench [N=1000000]: contact_list_fdw against the floor (a minimal C
# client parsing with the wrapper's own parser), the loopback limit (the
# same requests, transfer and gunzip only) and the ETL script a user would
# otherwise write.  A benchmark, not a test: it checks that every part ran
# and returned every row, and reports the issue-5 targets as PASS/MISS
# without failing on them.
#
# bench/run.sh [--rows N] [--runs K] [--smoke]
#   --rows N   rows the mock serves (default 1,000,000)
#   --runs K   runs of each measurement (default 5)
#   --smoke    one run, results in a temp dir (CI: `bench/run.sh --rows 20000 --smoke`)
# Then bench/multi_corp.sh (many corps under one partitioned table, its own
# cluster and mock: see there) adds its section to the same results.md,
# with --smoke too.
#
# Paired runs: on a shared machine one run's times move by 2× (other
# processes take the cores), so a median of wrapper times over a median of
# floor times can land anywhere, even below 1.  Each wrapper figure is
# therefore taken right after its own reference run (floor, count(*),
# floor, SELECT *, ...), each pair gives a ratio, and the report shows the
# median of those ratios with their range; the targets are judged on it.
# Absolute times are the medians of all runs of each.
#
# What runs: a throw-away cluster (test/lib.sh, default settings), the mock
# (test/mock_wecom.py, scenario `bench`, pages pre-built in memory by /_warm,
# keep-alive, TCP_NODELAY, gzip) and, for the latency run, the same mock over
# HTTPS with a self-signed certificate and 20 ms added to every page
# (bench/delay_mock.py).  Results: bench/results.md and bench/results.png
# (raw numbers in bench/out/), or a temp dir with --smoke.
#
# As root, CLF_ISOLATE=1 runs everything in a private network namespace.
# CLF_BENCH_CORP_SECRET (tests only) replaces the corp_secret of the token
# run, so test/run.sh can show that a failing part fails the benchmark.
#
# Every part's result is checked where it is taken: a failure inside $(...)
# only ends that subshell, so each command substitution that runs a part is
# followed by its own || fail, and every figure is checked to be a number.
set -uo pipefail
# (grep -q stops reading at its first match: a pipe into it can then fail
# under pipefail with SIGPIPE, so the text is given to grep with <<<)
cd "$(dirname "$0")/.."

ARGS=("$@")
ROWS=1000000
RUNS=5
SMOKE=
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    *) echo "usage: bench/run.sh [--rows N] [--runs K] [--smoke]" >&2; exit 2 ;;
  esac
done
[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -ge 10000 ]] || { echo "--rows must be a number >= 10000" >&2; exit 2; }
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || { echo "--runs must be a number >= 1" >&2; exit 2; }
[ -n "$SMOKE" ] && RUNS=1

# CLF_DEPS_CHECKED=1: the caller ran test/deps.sh already (test/sabotage.sh)
[ -n "${CLF_DEPS_CHECKED:-}" ] || test/deps.sh || exit 1

if [ -n "${CLF_ISOLATE:-}" ] && [ -z "${CLF_IN_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
  exec env CLF_IN_NETNS=1 unshare --net bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "${ARGS[@]}"
fi

# Own ports: the smoke run starts while make test's cluster and mock are up.
export CLF_PGPORT=${CLF_BENCH_PGPORT:-54359}
export CLF_MOCK_PORT=${CLF_BENCH_MOCK_PORT:-18652}
TLS_PORT=${CLF_BENCH_TLS_PORT:-18653}
# shellcheck source=test/lib.sh
source test/lib.sh
PSQL="$PGBIN/psql"

LAT_PAGES=200          # latency run: 200 pages of 100 rows,
LAT_PAGE_SIZE=100      # 20 ms added to each
LAT_DELAY_MS=20
LAT_ROWS=$((LAT_PAGES * LAT_PAGE_SIZE))
LAT_RUNS=$((RUNS < 3 ? RUNS : 3))
RSS_SMALL=10000

if [ -n "$SMOKE" ]; then OUT=$CLF_WORK/out; RESULTS=$OUT; else OUT=bench/out; RESULTS=bench; fi
mkdir -p "$OUT"
RAW=$OUT/raw.tsv
PAIRS=$OUT/pairs.tsv
: >"$RAW"
: >"$PAIRS"

BENCH_NAME=bench
# shellcheck source=bench/measure.sh
source bench/measure.sh

# ---------------------------------------------------------------- setup

build_and_install || fail "build failed"
FLOOR=$CLF_WORK/floor_client
# The floor parses with the wrapper's own parser: every source of it here.
PARSER_SRC="src/page_parser.c src/json_validate.c"
# shellcheck disable=SC2046,SC2086
gcc -O2 -Wall -Isrc -o "$FLOOR" bench/floor_client.c $PARSER_SRC $(pkg-config --cflags --libs libcurl json-c) ||
  fail "could not build bench/floor_client.c"

start_cluster "log_min_messages = warning" || fail "could not start the cluster"
start_mock --bench-rows "$ROWS" || fail "could not start the mock"
MOCK=http://127.0.0.1:$CLF_MOCK_PORT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$CLF_WORK/tls.key" -out "$CLF_WORK/tls.crt" \
  >"$CLF_WORK/openssl.log" 2>&1 || { cat "$CLF_WORK/openssl.log" >&2; fail "openssl failed"; }
chmod 644 "$CLF_WORK/tls.crt"
port_free "$TLS_PORT" || fail "port $TLS_PORT is busy: set CLF_BENCH_TLS_PORT"
$PY bench/delay_mock.py --host 127.0.0.1 --port "$TLS_PORT" --bench-rows "$LAT_ROWS" \
  --tls-cert "$CLF_WORK/tls.crt" --tls-key "$CLF_WORK/tls.key" \
  >"$CLF_WORK/tls_mock.out" 2>&1 &
CLF_PIDS+=($!)
wait_for_port "$TLS_PORT" || fail "the HTTPS mock did not start"
TLS=https://127.0.0.1:$TLS_PORT
tls_curl() { curl -sf --cacert "$CLF_WORK/tls.crt" "$TLS$1"; }

log "pre-building the mock's pages ($ROWS rows)"
curl -sf "$MOCK/_warm?limit=1000&gzip=1" >/dev/null || fail "/_warm failed"
tls_curl "/_warm?limit=$LAT_PAGE_SIZE&gzip=1" >/dev/null || fail "/_warm on the HTTPS mock failed"

COLS="is_customer boolean, tmp_openid text, external_userid text, name text,
      follow_userid text, chat_id text, chat_name text, add_time timestamptz"
"$PSQL" -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL || fail "setup SQL failed"
CREATE EXTENSION contact_list_fdw;
CREATE SERVER bench FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url '$MOCK/cgi-bin');
CREATE USER MAPPING FOR CURRENT_USER SERVER bench OPTIONS (access_token 'fixed-bench');
CREATE FOREIGN TABLE contacts ($COLS) SERVER bench;
CREATE MATERIALIZED VIEW contacts_mv AS SELECT * FROM contacts WITH NO DATA;
CREATE SERVER bench_tls FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url '$TLS/cgi-bin', ca_file '$CLF_WORK/tls.crt');
CREATE USER MAPPING FOR CURRENT_USER SERVER bench_tls OPTIONS (access_token 'fixed-bench');
CREATE FOREIGN TABLE contacts_tls ($COLS) SERVER bench_tls OPTIONS (page_size '$LAT_PAGE_SIZE');
CREATE SERVER bench_tok FOREIGN DATA WRAPPER contact_list_fdw
  OPTIONS (api_url '$MOCK/cgi-bin');
CREATE USER MAPPING FOR CURRENT_USER SERVER bench_tok OPTIONS (corp_id 'corp-basic', corp_secret '${CLF_BENCH_CORP_SECRET:-secret-ok}');
CREATE FOREIGN TABLE contacts_tok ($COLS) SERVER bench_tok;
SQL

# ---------------------------------------------------------------- measuring

# The "actual rows" of the ForeignScan node in EXPLAIN ANALYZE output.
scanned_rows() { echo "$M_OUT" | sed -n 's/.*Foreign Scan.*actual rows=\([0-9]*\).*/\1/p' | head -1; }

# floor_run URL LIMIT CA_FILE ROWS [--transfer-only]: sets F_MS, F_RSS,
# F_CONN; checks the rows (the pages with --transfer-only, which counts no rows).
floor_run() {
  local out expect="rows=$4 "
  [ -n "${5:-}" ] && expect="pages=$(( ($4 + $2 - 1) / $2 )) "
  out=$(/usr/bin/time -f "maxrss=%M" "$FLOOR" ${5:+"$5"} "$1/cgi-bin" fixed-bench "$2" "$3" 2>&1) ||
    { echo "$out" >&2; return 1; }
  F_MS=$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' | awk '{printf "%.3f", $1 * 1000}')
  F_RSS=$(echo "$out" | sed -n 's/^maxrss=//p')
  F_CONN=$(echo "$out" | sed -n 's/.*connections=\([0-9]*\).*/\1/p')
  grep -q "$expect" <<<"$out" || { echo "$out" >&2; echo "expected $expect" >&2; return 1; }
  [[ "$F_MS" =~ ^[0-9.]+$ && "$F_RSS" =~ ^[0-9]+$ ]] || { echo "$out" >&2; echo "no time or RSS" >&2; return 1; }
}

# Each sets T (its time in ms) for the pair it is part of.
m_floor() {
  floor_run "$MOCK" 1000 "" "$ROWS" || fail "floor client failed"
  record floor "$F_MS" "$F_RSS"
  T=$F_MS
}
# the loopback limit: the floor's requests, transfer and gunzip only
m_limit() {
  floor_run "$MOCK" 1000 "" "$ROWS" --transfer-only || fail "the transfer-only client failed"
  record limit "$F_MS" "$F_RSS"
  T=$F_MS
}
m_count() {
  pg_measure "SELECT count(*) FROM contacts;" || fail "SELECT count(*) failed"
  [ "$(echo "$M_OUT" | head -1)" = "$ROWS" ] || fail "count(*) returned $M_OUT, not $ROWS"
  record count "$M_MS" "$M_HWM"
  T=$M_MS
}
# SELECT * into nowhere: EXPLAIN ANALYZE runs the plan and throws the rows
# away, so the time is the scan's own: every row with all 8 columns
# converted (the target list is all of them), no client transfer, no
# output functions; TIMING OFF: no clock reads per row.
SELECT_ALL="EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF, SUMMARY OFF, VERBOSE) SELECT * FROM"
m_select() {
  pg_measure "$SELECT_ALL contacts;" || fail "SELECT * failed"
  [ "$(scanned_rows)" = "$ROWS" ] || { echo "$M_OUT" >&2; fail "SELECT * did not scan $ROWS rows"; }
  grep -q 'Output: .*is_customer.*tmp_openid.*external_userid.*name.*follow_userid.*chat_id.*chat_name.*add_time' <<<"$M_OUT" ||
    { echo "$M_OUT" >&2; fail "SELECT * does not output every column"; }
  record select "$M_MS" "$M_HWM"
  T=$M_MS
}
m_rss_small() {
  pg_measure "$SELECT_ALL contacts LIMIT $RSS_SMALL;" || fail "SELECT * LIMIT $RSS_SMALL failed"
  [ "$(scanned_rows)" = "$RSS_SMALL" ] || { echo "$M_OUT" >&2; fail "the small scan did not read $RSS_SMALL rows"; }
  record select_small "$M_MS" "$M_HWM"
  T=$M_MS
}
m_idle() {
  pg_measure "SELECT 1;" || fail "idle backend failed"
  record idle "$M_MS" "$M_HWM"
  T=$M_MS
}
m_ctas() {
  quiet_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS contacts_ctas" && quiet_sql "CHECKPOINT" || fail "CTAS setup failed"
  pg_measure "CREATE TABLE contacts_ctas AS SELECT * FROM contacts;" || fail "CREATE TABLE AS failed"
  grep -qx "SELECT $ROWS" <<<"$M_OUT" || fail "CREATE TABLE AS said: $M_OUT"
  record ctas "$M_MS" "$M_HWM"
  T=$M_MS
}
m_refresh() {
  quiet_sql "CHECKPOINT" || fail "CHECKPOINT failed"
  pg_measure "REFRESH MATERIALIZED VIEW contacts_mv;" || fail "REFRESH MATERIALIZED VIEW failed"
  [ "$(quiet_sql 'SELECT count(*) FROM contacts_mv')" = "$ROWS" ] || fail "the materialized view lacks rows"
  record refresh "$M_MS" "$M_HWM"
  T=$M_MS
}
m_etl() {
  local out ms rss
  quiet_sql "SET client_min_messages = warning; DROP TABLE IF EXISTS contacts_etl" && quiet_sql "CHECKPOINT" || fail "ETL setup failed"
  out=$(/usr/bin/time -f "maxrss=%M" $PY bench/etl.py "$MOCK/cgi-bin" fixed-bench contacts_etl 2>&1) ||
    { echo "$out" >&2; fail "the ETL script failed"; }
  grep -q "rows=$ROWS " <<<"$out" || { echo "$out" >&2; fail "the ETL script did not load $ROWS rows"; }
  [ "$(quiet_sql 'SELECT count(*) FROM contacts_etl')" = "$ROWS" ] || fail "the ETL table lacks rows"
  ms=$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' | awk '{printf "%.3f", $1 * 1000}')
  rss=$(echo "$out" | sed -n 's/^maxrss=//p')
  number "the ETL time" "$ms"
  number "the ETL RSS" "$rss"
  record etl "$ms" "$rss"
  T=$ms
}
# One connection for several queries of one backend: two scans, one session.
m_reuse() {
  curl -sf "$MOCK/_reset" >/dev/null || fail "/_reset failed"
  quiet_sql "SELECT count(*) FROM (SELECT * FROM contacts LIMIT 2500) a; SELECT count(*) FROM (SELECT * FROM contacts LIMIT 2500) b" >/dev/null ||
    fail "the keep-alive check failed"
  REUSE_CONN=$(curl -sf -H 'Accept-Encoding: identity' "$MOCK/_stats" |
    $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["connections"], s["contact_list"])') ||
    fail "/_stats failed"
}
# Latency: 200 pages over HTTPS with 20 ms each.
m_latency() {
  local stats
  tls_curl "/_reset" >/dev/null || fail "/_reset on the HTTPS mock failed"
  pg_measure "$SELECT_ALL contacts_tls;" || fail "the latency run failed"
  [ "$(scanned_rows)" = "$LAT_ROWS" ] || { echo "$M_OUT" >&2; fail "the latency run did not read $LAT_ROWS rows"; }
  stats=$(curl -sf -H 'Accept-Encoding: identity' --cacert "$CLF_WORK/tls.crt" "$TLS/_stats" |
    $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["connections"], s["contact_list"])') ||
    fail "/_stats on the HTTPS mock failed"
  record latency "$M_MS" "$M_HWM"
  T=$M_MS
  record latency_connections "${stats% *}" 0
  record latency_requests "${stats#* }" 0
}

# One run: every measurement next to its reference.  Pairs (ratio =
# measurement / reference): limit / the floor after it, count, select, ctas
# and refresh / the floor before each, etl / the ctas before it.  The small scan and the idle backend are taken
# for their RSS and paired with nothing.
log "$RUNS run(s) of each measurement over $ROWS rows, paired"
for run in $(seq 1 "$RUNS"); do
  log "run $run/$RUNS"
  m_limit; lim=$T; m_floor; pair limit "$T" "$lim"
  ref=$T; m_count; pair count "$ref" "$T"
  m_floor; ref=$T; m_select; pair select "$ref" "$T"
  m_floor; ref=$T; m_ctas; pair ctas "$ref" "$T"
  ref=$T; m_etl; pair etl_ctas "$ref" "$T"
  m_floor; ref=$T; m_refresh; pair refresh "$ref" "$T"
  m_rss_small; m_idle
done
m_reuse

# Latency: each run goes floor over HTTPS without the delay, floor with
# it, FDW with it.  The FDW run is paired against its budget, pages × delay
# + the floor without it (the issue-5 target), and against the floor with
# the delay, which also pays for the mock's own overshoot of its sleeps.
log "latency run: $LAT_PAGES pages of $LAT_PAGE_SIZE rows over HTTPS, ${LAT_DELAY_MS} ms each, paired"
for run in $(seq 1 "$LAT_RUNS"); do
  tls_curl "/_delay?ms=0" >/dev/null || fail "/_delay failed"
  floor_run "$TLS" "$LAT_PAGE_SIZE" "$CLF_WORK/tls.crt" "$LAT_ROWS" || fail "floor client over HTTPS failed"
  record floor_tls "$F_MS" "$F_RSS"
  budget=$(calc "%.3f" "$LAT_PAGES * $LAT_DELAY_MS + $F_MS")
  tls_curl "/_delay?ms=$LAT_DELAY_MS" >/dev/null || fail "/_delay failed"
  floor_run "$TLS" "$LAT_PAGE_SIZE" "$CLF_WORK/tls.crt" "$LAT_ROWS" || fail "floor client over delayed HTTPS failed"
  record floor_tls_delay "$F_MS" "$F_RSS"
  ref=$F_MS
  m_latency; pair latency "$budget" "$T"; pair latency_floor "$ref" "$T"
done

# 200 short connections, each SELECT ... LIMIT 1 with a corp_secret: the
# shared token cache against each backend on its own (PostgreSQL 15/16
# without shared_preload_libraries; 17+ always shares)
CONN_N=200
m_connections() {
  local out
  out=$($PY bench/connections.py "$MOCK" contacts_tok "$CONN_N") && [[ "$out" =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]] ||
    { echo "$out" >&2; return 1; }
  echo "$out"
}
CONN_SHARED=$(m_connections) || fail "the connections run failed"
CONN_ALONE=
if [ "$(pg_major)" -lt 17 ]; then
  libs=
  [ -n "$CLF_HAVE_PG_CRON" ] && libs=pg_cron
  echo "shared_preload_libraries = '$libs'" >>"$CLF_WORK/pgdata/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$CLF_WORK/pgdata" -l "$CLF_WORK/postgres.log" -w restart >/dev/null ||
    fail "could not restart the cluster without shared_preload_libraries"
  CONN_ALONE=$(m_connections) || fail "the connections run without shared_preload_libraries failed"
fi

# ---------------------------------------------------------------- report

for k in floor limit count select select_small idle ctas refresh etl floor_tls floor_tls_delay latency; do
  v=$(median "$k" 2) || fail "no measurement of $k"
  number "the time of $k" "$v"
  declare "T_$k=$v"
  v=$(median "$k" 3) || fail "no measurement of $k"
  number "the RSS of $k" "$v"
  declare "R_$k=$v"
done
# P_x: the median ratio of pair x; P_x_lo, P_x_hi: its range
for k in limit count select ctas etl_ctas refresh latency latency_floor; do
  v=$(pairstat "$k") || fail "no pair $k"
  read -r med lo hi <<<"$v"
  for x in "$med" "$lo" "$hi"; do number "the ratio of $k" "$x"; done
  declare "P_$k=$med" "P_${k}_lo=$lo" "P_${k}_hi=$hi"
done
PAIR_N=$(awk -F'\t' '$1 == "count"' "$PAIRS" | wc -l)
LAT_PAIR_N=$(awk -F'\t' '$1 == "latency"' "$PAIRS" | wc -l)
LAT_CONN=$(maxof latency_connections 2)
LAT_REQ=$(maxof latency_requests 2)
number "the latency run's connections" "$LAT_CONN"
number "the latency run's requests" "$LAT_REQ"
[[ "$REUSE_CONN" =~ ^[0-9]+\ [0-9]+$ ]] || fail "the keep-alive check said '$REUSE_CONN'"

PG_VERSION=$(quiet_sql "SHOW server_version") || fail "SHOW server_version failed"
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
MACHINE="$(nproc) cores, $CPU, $(awk '/MemTotal/ {printf "%.0f GB RAM", $2 / 1048576}' /proc/meminfo), Linux $(uname -r), PostgreSQL $PG_VERSION, libcurl $(pkg-config --modversion libcurl), json-c $(pkg-config --modversion json-c)"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

rows_s() { calc "%.0f" "$ROWS / ($1 / 1000)"; }
# ratio KEY: a pair's median ratio and its range, e.g. 1.08 (1.02–1.15)
ratio() {
  local m lo hi
  m=$(eval echo "\$P_$1"); lo=$(eval echo "\$P_$1_lo"); hi=$(eval echo "\$P_$1_hi")
  echo "$(calc "%.2f" "$m") ($(calc "%.2f" "$lo")–$(calc "%.2f" "$hi"))"
}

{
  echo "## contact_list_fdw benchmark"
  echo
  echo "$ROWS rows (1000 per page), $RUNS run(s), each figure paired with a reference run next to it; $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT; load average at the end $LOAD."
  echo
  echo "Machine: $MACHINE."
  echo
  echo "| what | median time | rows/s | × floor: median of $PAIR_N pair(s) (range) | speed-up vs ETL | peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|"
  line() {  # label key "× floor" "speed-up vs ETL" rss_note
    local t r
    t=$(eval echo "\$T_$2"); r=$(eval echo "\$R_$2")
    echo "| $1 | $(calc "%.3f s" "$t / 1000") | $(rows_s "$t") | $3 | $4 | $(mb "$r")$5 |"
  }
  unpaired() { echo "$(calc "%.2f" "$1")³"; }
  line "loopback limit: transfer + gunzip, no parse" limit "$(ratio limit)" "$(unpaired "$T_etl / $T_limit")" " (client)"
  line "floor: C client, libcurl + the wrapper's parser" floor "1.00" "$(unpaired "$T_etl / $T_floor")" " (client)"
  line "FDW \`SELECT count(*)\`" count "$(ratio count)" "$(unpaired "$T_etl / $T_count")" " (backend)"
  line "FDW \`SELECT *\` into nowhere" select "$(ratio select)" "$(unpaired "$T_etl / $T_select")" " (backend)"
  line "FDW \`CREATE TABLE AS\`" ctas "$(ratio ctas)" "$(ratio etl_ctas)" " (backend¹)"
  line "FDW \`REFRESH MATERIALIZED VIEW\`" refresh "$(ratio refresh)" "$(unpaired "$T_etl / $T_refresh")" " (backend¹)"
  line "Python ETL: requests + psycopg2 COPY" etl "$(unpaired "$T_etl / $T_floor")" "1.00" " (client²)"
  echo
  echo "Peak backend RSS (VmHWM, fresh connection each): idle $(mb "$R_idle"), \`SELECT *\` over $RSS_SMALL rows $(mb "$R_select_small"), over $ROWS rows $(mb "$R_select") (growth $(calc "%+.1f MB" "($R_select - $R_select_small) / 1024"))."
  echo
  echo "Latency run: $LAT_PAGES pages of $LAT_PAGE_SIZE rows over HTTPS (self-signed certificate via \`ca_file\`), ${LAT_DELAY_MS} ms added per page, $LAT_PAIR_N pair(s): FDW \`SELECT *\` $(calc "%.0f ms" "$T_latency") (median); each run against $LAT_PAGES × $LAT_DELAY_MS ms + the floor over HTTPS without the delay run just before it (median $(calc "%.0f ms" "$T_floor_tls")): ratio $(ratio latency); and against the floor with the delay run just before it (median $(calc "%.0f ms" "$T_floor_tls_delay")), which pays for the mock's own overshoot of its sleeps too: ratio $(ratio latency_floor); TCP connections the mock accepted per scan: $LAT_CONN (for $LAT_REQ requests). Two scans in one session over plain HTTP: ${REUSE_CONN% *} connection(s) for ${REUSE_CONN#* } requests."
  echo
  echo "$CONN_N short connections, each \`SELECT * FROM t LIMIT 1\` with \`corp_id\`/\`corp_secret\` (4 client threads): shared token cache $(calc "%.0f ms" "${CONN_SHARED%% *}"), $(echo "$CONN_SHARED" | cut -d' ' -f2) gettoken call(s) for $(echo "$CONN_SHARED" | cut -d' ' -f3) contact_list calls; $(if [ -n "$CONN_ALONE" ]; then echo "each backend alone (no shared_preload_libraries) $(calc "%.0f ms" "${CONN_ALONE%% *}"), $(echo "$CONN_ALONE" | cut -d' ' -f2) gettoken calls."; else echo "PostgreSQL $(pg_major) always shares, so there is no per-backend run."; fi)"
  echo
  echo "### Targets (issue 5), judged on the median of the paired ratios"
  echo
  echo "| target | measured: median (range) | verdict |"
  echo "|---|---|---|"
  echo "| \`SELECT count(*)\` ≤ 1.2 × floor | $(ratio count) × | $(verdict "$P_count <= 1.2") |"
  echo "| \`SELECT *\` ≤ 1.5 × floor | $(ratio select) × | $(verdict "$P_select <= 1.5") |"
  echo "| \`CREATE TABLE AS\` ≥ 3 × faster than the ETL script | $(ratio etl_ctas) × | $(verdict "$P_etl_ctas >= 3") |"
  echo "| peak RSS at $ROWS rows ≤ 16 MB above $RSS_SMALL rows | $(calc "%+.1f MB" "($R_select - $R_select_small) / 1024") | $(verdict "$R_select - $R_select_small <= 16384") |"
  echo "| latency run within 10 % of $LAT_PAGES × $LAT_DELAY_MS ms + floor | $(calc "%+.1f %%" "($P_latency - 1) * 100") ($(calc "%+.1f" "($P_latency_lo - 1) * 100")–$(calc "%+.1f %%" "($P_latency_hi - 1) * 100")) | $(verdict "$P_latency <= 1.1") |"
  echo "| latency run over exactly 1 TCP connection | $LAT_CONN | $(verdict "$LAT_CONN == 1") |"
  echo
  echo "How it is measured (\`bench/run.sh\`): the mock is test/mock_wecom.py (Python; scenario \`bench\`, every page built once by \`/_warm\` and served from memory as gzip bytes, keep-alive, TCP_NODELAY) on loopback; each FDW figure is psql's \`\\timing\` of one statement in a fresh connection, whose VmHWM is then read from /proc. \`SELECT *\` into nowhere is \`EXPLAIN (ANALYZE, TIMING OFF) SELECT * FROM t\`: every row is produced with all 8 columns converted and discarded, with no client transfer or output functions. \`CREATE TABLE AS\`, \`REFRESH\` and the ETL script each start after a \`CHECKPOINT\` and write the same 8 typed columns. The ETL time is the script's own (first request to commit, interpreter start-up excluded). The floor is bench/floor_client.c: one keep-alive libcurl handle, the FDW's request, each body fed from the write callback to the wrapper's own parser (src/page_parser.c over src/json_validate.c: the strict RFC 8259/UTF-8 check, then json-c's incremental tokener), the same errcode and page checks, every item taken. The loopback limit is the same client with \`--transfer-only\`: the same requests, libcurl's gunzip, bodies discarded unparsed (next_cursor read from each body's last bytes). Each run goes loopback limit, floor, \`count(*)\`, floor, \`SELECT *\`, floor, \`CREATE TABLE AS\`, ETL, floor, \`REFRESH\`; each ratio is taken within one adjacent pair (the loopback limit and the floor after it, the floor and the \`count(*)\`, \`SELECT *\`, \`CREATE TABLE AS\` or \`REFRESH\` after it, the \`CREATE TABLE AS\` and the ETL run after it), so a burst of load from other processes moves both of its sides or shows up in the range; the times are the medians of all runs of each."
  echo
  echo "¹ includes the shared buffers the backend wrote into. ² the Python process; its backend is not counted. ³ not paired: the ratio of the two medians."
} >"$RESULTS/results.md"

# chart: rows/s per method (grey: the references and the ETL script, blue: the FDW)
{
  printf '"loopback limit\\n(transfer + gunzip)"\t%s\t0xbbbbbb\n' "$(rows_s "$T_limit")"
  printf '"floor\\n(C client + parser)"\t%s\t0x888888\n' "$(rows_s "$T_floor")"
  printf '"FDW\\nSELECT count(*)"\t%s\t0x4c72b0\n' "$(rows_s "$T_count")"
  printf '"FDW\\nSELECT *"\t%s\t0x4c72b0\n' "$(rows_s "$T_select")"
  printf '"FDW\\nCREATE TABLE AS"\t%s\t0x4c72b0\n' "$(rows_s "$T_ctas")"
  printf '"FDW\\nREFRESH MAT. VIEW"\t%s\t0x4c72b0\n' "$(rows_s "$T_refresh")"
  printf '"Python ETL\\n(requests + COPY)"\t%s\t0x888888\n' "$(rows_s "$T_etl")"
} >"$OUT/chart.dat"
gnuplot >"$OUT/gnuplot.log" 2>&1 <<GP || { cat "$OUT/gnuplot.log" >&2; fail "gnuplot failed"; }
set terminal pngcairo size 1100,560 font "sans,10"
set bmargin 5
set output "$RESULTS/results.png"
set title "contact_list_fdw: rows per second reading $ROWS rows (median of $RUNS runs), higher is better\\n$(nproc) cores, $CPU, PostgreSQL $PG_VERSION" noenhanced
set style fill solid 0.85 border -1
set boxwidth 0.6
set xrange [-0.6:6.6]
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set ylabel "thousand rows per second"
set format y "%.0f"
set grid ytics
set xtics noenhanced nomirror scale 0
unset key
plot "$OUT/chart.dat" using 0:(\$2 / 1000):3:xticlabels(stringcolumn(1)) with boxes linecolor rgb variable, \\
     "" using 0:(\$2 / 1000):(sprintf("%.0fk", \$2 / 1000)) with labels offset 0,0.8 notitle
GP

cat "$RESULTS/results.md"
echo
log "results: $RESULTS/results.md, $RESULTS/results.png (raw: $RAW)"

# Issue 18: many corps under one partitioned table, on its own cluster and
# mock; it adds its section to the same results.md.
CLF_DEPS_CHECKED=1 bench/multi_corp.sh ${SMOKE:+--smoke} --results "$RESULTS" ||
  fail "the multi-corp benchmark failed"
