#!/usr/bin/env bash
# The multi-corp benchmark (issue 18): a partitioned table over one foreign
# table per corp, 4 and 16 corps, against the same query on one corp alone,
# with async_capable on and off, warm and cold tokens.  A benchmark, not a
# test: it fails when a part fails or a child does not return every row,
# and reports the targets as PASS/MISS without failing on them.  make bench
# runs it after bench/run.sh's parts (bench/run.sh calls it, --smoke too).
#
# bench/multi_corp.sh [--runs K] [--smoke] [--results DIR]
#   --runs K       runs of each pair (default 3)
#   --smoke        one run of 5 pages per corp, results in a temp dir
#   --results DIR  the results.md whose multi-corp section is (re)written
#                  (default bench/, with --smoke the temp dir)
#
# Every corp: its own server, user mapping (corp_id corp-benchdelayK) and
# foreign table, $PAGES pages of $PAGE_SIZE rows, each page (and each
# gettoken) answered after 20 ms by one mock process (test/mock_wecom.py,
# scenario benchdelayK; its threads sleep side by side, checked below).
#
# Paired runs, as in bench/run.sh: each Append figure is taken right after
# its reference, the same statement on a partitioned table with one corp
# (one corp, 4 corps async on, one corp, 4 corps async off, one corp, 16
# on, ...), each pair gives a ratio, and the report shows the median of the
# ratios with their range; the targets are judged on it.
#
# Warm tokens: every corp's token is in the cluster's shared cache (the
# cluster runs with shared_preload_libraries, as bench/run.sh's does).
# Cold tokens: before each cold measurement every corp it reads gets a new
# corp_id (ALTER USER MAPPING ... SET corp_id 'corp-benchdelayNNN', a corp
# no session has a token for, since the cache is keyed by api_url, corp_id
# and secret), and the mock's gettoken count proves each corp fetched one
# (and a warm run none).  Every measurement is a new session.
set -uo pipefail
cd "$(dirname "$0")/.."

ARGS=("$@")
RUNS=3
SMOKE=
RESULTS=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    --results) RESULTS=$2; shift 2 ;;
    *) echo "usage: bench/multi_corp.sh [--runs K] [--smoke] [--results DIR]" >&2; exit 2 ;;
  esac
done
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || { echo "--runs must be a number >= 1" >&2; exit 2; }
[ -n "$SMOKE" ] && RUNS=1

[ -n "${CLF_DEPS_CHECKED:-}" ] || test/deps.sh || exit 1

if [ -n "${CLF_ISOLATE:-}" ] && [ -z "${CLF_IN_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
  exec env CLF_IN_NETNS=1 unshare --net bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "${ARGS[@]}"
fi

# Own ports: bench/run.sh's cluster and mocks are still up when it calls us.
export CLF_PGPORT=${CLF_BENCH_MC_PGPORT:-54360}
export CLF_MOCK_PORT=${CLF_BENCH_MC_MOCK_PORT:-18654}
# shellcheck source=test/lib.sh
source test/lib.sh
PSQL="$PGBIN/psql"

PAGE_SIZE=100
DELAY_MS=20
PAGES=50
[ -n "$SMOKE" ] && PAGES=5
ROWS=$((PAGES * PAGE_SIZE))    # per corp
CORPS_MAX=16

if [ -n "$SMOKE" ]; then OUT=$CLF_WORK/out; RESULTS=${RESULTS:-$OUT}; else OUT=bench/out; RESULTS=${RESULTS:-bench}; fi
mkdir -p "$OUT"
RAW=$OUT/multi_corp_raw.tsv
PAIRS=$OUT/multi_corp_pairs.tsv
: >"$RAW"
: >"$PAIRS"

BENCH_NAME=multi_corp
# shellcheck source=bench/measure.sh
source bench/measure.sh

# ---------------------------------------------------------------- setup

build_and_install || fail "build failed"
start_cluster "log_min_messages = warning" || fail "could not start the cluster"
start_mock --bench-rows "$ROWS" --delay-ms "$DELAY_MS" || fail "could not start the mock"
MOCK=http://127.0.0.1:$CLF_MOCK_PORT
mock_stats() { curl -sf -H 'Accept-Encoding: identity' "$MOCK/_stats"; }
mock_reset() { curl -sf "$MOCK/_reset" >/dev/null; }

# Does the mock answer 16 concurrent 20 ms pages in about 20 ms?  16 keep-alive
# connections, opened first; then every one asks for a first page at once.
MOCK_CONC=$($PY - "$CLF_MOCK_PORT" "$CORPS_MAX" <<'PY'
import http.client, json, statistics, sys, threading, time
port, n = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"cursor": "", "limit": 100})
def ask(conn):
    conn.request("POST", "/cgi-bin/externalcontact/contact_list?access_token=fixed-benchdelay",
                 body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200 and b'"errcode":0' in r.read()
def burst(k):
    conns = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(k)]
    for c in conns:
        ask(c)  # connect and warm the page cache
    ts = [threading.Thread(target=ask, args=(c,)) for c in conns]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ms = (time.monotonic() - t0) * 1000
    for c in conns:
        c.close()
    return ms
one = statistics.median(burst(1) for _ in range(5))
many = statistics.median(burst(n) for _ in range(5))
print("%.1f %.1f" % (one, many))
PY
) || fail "the mock concurrency check failed"
read -r MOCK_ONE MOCK_MANY <<<"$MOCK_CONC"
number "one page's time" "$MOCK_ONE"
number "$CORPS_MAX concurrent pages' time" "$MOCK_MANY"
log "mock: one $DELAY_MS ms page $MOCK_ONE ms, $CORPS_MAX at once $MOCK_MANY ms"
# Serialised they would take 16 × 20 ms: then no Append could beat the sum.
awk "BEGIN {exit !($MOCK_MANY < 4 * $MOCK_ONE)}" ||
  fail "the mock answers $CORPS_MAX concurrent pages in $MOCK_MANY ms against $MOCK_ONE ms for one: it serialises them"

COLS="is_customer boolean, tmp_openid text, external_userid text, name text,
      follow_userid text, chat_id text, chat_name text, add_time timestamptz"
{
  echo "CREATE EXTENSION contact_list_fdw;"
  for k in $(seq 1 $CORPS_MAX); do
    echo "CREATE SERVER mc_$k FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url '$MOCK/cgi-bin');"
    echo "CREATE USER MAPPING FOR CURRENT_USER SERVER mc_$k OPTIONS (corp_id 'corp-benchdelay$k', corp_secret 'secret-ok');"
  done
  # mc1: the reference, one corp (a partitioned table with one partition:
  # the plan is that partition's scan alone); mcN_on / mcN_off: N corps with
  # async_capable on / off (each foreign table belongs to one parent)
  part() {  # part PARENT K ASYNC
    echo "CREATE FOREIGN TABLE ${1}_$2 PARTITION OF $1 FOR VALUES IN ('mc_$2') SERVER mc_$2
            OPTIONS (page_size '$PAGE_SIZE'${3:+, async_capable '$3'});"
    echo "ALTER FOREIGN TABLE ${1}_$2 ALTER COLUMN corp OPTIONS (ADD source 'server');"
  }
  echo "CREATE TABLE mc1 (corp text, $COLS) PARTITION BY LIST (corp);"
  part mc1 1 ""
  for n in 4 $CORPS_MAX; do
    for a in on off; do
      echo "CREATE TABLE mc${n}_$a (corp text, $COLS) PARTITION BY LIST (corp);"
      for k in $(seq 1 "$n"); do part "mc${n}_$a" "$k" "$([ $a = on ] && echo true || echo false)"; done
    done
  done
} | "$PSQL" -X -q -v ON_ERROR_STOP=1 >/dev/null || fail "setup SQL failed"

# Every corp returns exactly its rows, each saying whose they are.
check_per_corp() {  # TABLE N
  local out want
  out=$(quiet_sql "SELECT corp || ' ' || count(*) FROM $1 GROUP BY corp ORDER BY corp") ||
    fail "counting $1 per corp failed"
  want=$(for k in $(seq 1 "$2"); do echo "mc_$k $ROWS"; done | sort)
  [ "$out" = "$want" ] || { echo "$out" >&2; fail "$1: not $ROWS rows from each of its $2 corps"; }
}
log "checking the rows of every corp (and warming the mock's pages and the tokens)"
check_per_corp mc1 1
check_per_corp mc4_on 4
check_per_corp mc${CORPS_MAX}_on $CORPS_MAX
check_per_corp mc${CORPS_MAX}_off $CORPS_MAX

# ---------------------------------------------------------------- measuring

# Cold tokens: a corp_id no session has a token for, for mc_1 .. mc_N.
COLD_SEQ=0
make_cold() {
  local k sql=
  COLD_SEQ=$((COLD_SEQ + 1))
  for k in $(seq 1 "$1"); do
    sql+="ALTER USER MAPPING FOR CURRENT_USER SERVER mc_$k OPTIONS (SET corp_id 'corp-benchdelay$((COLD_SEQ * 100 + k))');"
  done
  quiet_sql "$sql" || fail "ALTER USER MAPPING failed"
}

SELECT_ALL="EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF, SUMMARY OFF, VERBOSE) SELECT * FROM"
# measure QUERY TOKENS N ASYNC: one measurement of QUERY (count or select)
# over N corps (1: mc1) with tokens warm or cold; sets T.  Checks the rows
# (select: every child's own count from EXPLAIN ANALYZE, and the plan's
# scans async or not as asked), the requests and the gettoken calls.
measure() {
  local q=$1 tok=$2 n=$3 a=$4 table stats gt cl scans async_scans rows want_async
  if [ "$n" = 1 ]; then table=mc1; else table=mc${n}_$a; fi
  [ "$tok" = cold ] && make_cold "$n"
  mock_reset || fail "/_reset failed"
  case $q in
    count)
      pg_measure "SELECT count(*) FROM $table;" || fail "count(*) over $table failed"
      [ "$(echo "$M_OUT" | head -1)" = "$((n * ROWS))" ] || fail "count(*) over $table returned $M_OUT, not $((n * ROWS))"
      ;;
    select)
      pg_measure "$SELECT_ALL $table;" || fail "SELECT * over $table failed"
      scans=$(grep -c 'Foreign Scan on' <<<"$M_OUT")
      async_scans=$(grep -c 'Async Foreign Scan on' <<<"$M_OUT")
      rows=$(sed -n 's/.*Foreign Scan on.*actual rows=\([0-9]*\).*/\1/p' <<<"$M_OUT" | sort -u)
      [ "$scans" = "$n" ] && [ "$rows" = "$ROWS" ] ||
        { echo "$M_OUT" >&2; fail "SELECT * over $table: not $n scans of $ROWS rows each"; }
      want_async=0
      [ "$n" -gt 1 ] && [ "$a" = on ] && want_async=$n
      [ "$async_scans" = "$want_async" ] ||
        { echo "$M_OUT" >&2; fail "SELECT * over $table: $async_scans async scans, not $want_async"; }
      grep -q 'Output: .*corp.*is_customer.*tmp_openid.*external_userid.*name.*follow_userid.*chat_id.*chat_name.*add_time' <<<"$M_OUT" ||
        { echo "$M_OUT" >&2; fail "SELECT * over $table does not output every column"; }
      ;;
  esac
  stats=$(mock_stats | $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["gettoken"], s["contact_list"])') ||
    fail "/_stats failed"
  read -r gt cl <<<"$stats"
  [ "$cl" -ge $((n * PAGES)) ] || fail "$q over $table: $cl requests for $n × $PAGES pages"
  if [ "$tok" = cold ]; then
    [ "$gt" = "$n" ] || fail "$q over $table with cold tokens: $gt gettoken calls, not $n"
  else
    [ "$gt" = 0 ] || fail "$q over $table with warm tokens: $gt gettoken calls"
  fi
  record "$q.$tok.$n.$a" "$M_MS" "$M_HWM"
  record "$q.$tok.$n.$a.requests" "$cl" 0
  T=$M_MS
}

# warm_up: every corp's current corp_id gets its token (one page each)
warm_up() {
  local k sql="SELECT count(*) FROM ("
  for k in $(seq 1 $CORPS_MAX); do
    [ "$k" -gt 1 ] && sql+=" UNION ALL "
    sql+="(SELECT 1 FROM mc${CORPS_MAX}_off_$k LIMIT 1)"
  done
  quiet_sql "$sql) t" >/dev/null || fail "the warm-up failed"
}

TARGETS="4.on 4.off $CORPS_MAX.on $CORPS_MAX.off"
log "$RUNS run(s): 1, 4 and $CORPS_MAX corps of $PAGES pages × $PAGE_SIZE rows, $DELAY_MS ms a page, paired"
for run in $(seq 1 "$RUNS"); do
  for tok in warm cold; do
    [ "$tok" = warm ] && warm_up
    for q in count select; do
      log "run $run/$RUNS: $q, $tok tokens"
      for t in $TARGETS; do
        measure "$q" "$tok" 1 -; ref=$T
        measure "$q" "$tok" "${t%.*}" "${t#*.}"
        pair "$q.$tok.$t" "$ref" "$T"
      done
    done
  done
  pg_measure "SELECT 1;" || fail "idle backend failed"
  record idle "$M_MS" "$M_HWM"
done

# ---------------------------------------------------------------- report

R_idle=$(median idle 3) || fail "no idle measurement"
number "the idle RSS" "$R_idle"
PG_VERSION=$(quiet_sql "SHOW server_version") || fail "SHOW server_version failed"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
ONE_MS=$(calc "%.0f" "$PAGES * $DELAY_MS + $DELAY_MS")

SECTION=$OUT/multi_corp.md
{
  echo "## Multi-corp benchmark (issue 18)"
  echo
  echo "A partitioned table (\`PARTITION BY LIST (corp)\`, \`corp\` filled by \`source 'server'\`) over one foreign table per corp, each corp $PAGES pages of $PAGE_SIZE rows ($ROWS rows) with ${DELAY_MS} ms before every page and every \`gettoken\` answer, against the same statement on a partitioned table of one corp. $RUNS run(s); $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, PostgreSQL $PG_VERSION, $(nproc) cores; load average at the end $LOAD. One corp alone takes at least $PAGES × $DELAY_MS ms = $((PAGES * DELAY_MS)) ms (+ $DELAY_MS ms for a cold token)."
  echo
  echo "| statement | tokens | corps | \`async_capable\` | median time | one corp alone (median) | × one corp: median of pairs (range) | target | verdict |"
  echo "|---|---|---:|---|---:|---:|---:|---|---|"
  for q in count select; do
    for tok in warm cold; do
      for t in $TARGETS; do
        n=${t%.*}; a=${t#*.}
        ms=$(median "$q.$tok.$n.$a" 2) || fail "no measurement of $q.$tok.$t"
        ref=$(median "$q.$tok.1.-" 2) || fail "no reference for $q.$tok"
        read -r med lo hi <<<"$(pairstat "$q.$tok.$t")" || fail "no pair $q.$tok.$t"
        for x in "$ms" "$ref" "$med" "$lo" "$hi"; do number "a figure of $q.$tok.$t" "$x"; done
        if [ "$a" = on ]; then
          limit=$([ "$n" = 4 ] && echo 1.2 || echo 1.5)
          target="≤ $limit ×"; v=$(verdict "$med <= $limit")
        else
          target="(≈ $n × expected)"; v="—"
        fi
        label=$([ $q = count ] && echo '`count(*)`' || echo '`SELECT *`')
        echo "| $label | $tok | $n | $a | $(calc "%.0f ms" "$ms") | $(calc "%.0f ms" "$ref") | $(calc "%.2f" "$med") ($(calc "%.2f" "$lo")–$(calc "%.2f" "$hi")) | $target | $v |"
      done
    done
  done
  echo
  # the same ratios, one line per statement and tokens (README "Performance")
  echo "In short, × one corp alone (median of $RUNS pair(s), range):"
  echo
  echo "| statement, tokens | one corp alone | 4 corps, async on | $CORPS_MAX corps, async on | 4 corps, async off | $CORPS_MAX corps, async off |"
  echo "|---|---:|---:|---:|---:|---:|"
  for q in count select; do
    for tok in warm cold; do
      label=$([ $q = count ] && echo '`count(*)`' || echo '`SELECT *`')
      echo -n "| $label, $tok | $(calc "%.0f ms" "$(median "$q.$tok.1.-" 2)") |"
      for t in 4.on $CORPS_MAX.on 4.off $CORPS_MAX.off; do
        read -r med lo hi <<<"$(pairstat "$q.$tok.$t")"
        echo -n " $(calc "%.2f" "$med") ($(calc "%.2f" "$lo")–$(calc "%.2f" "$hi")) |"
      done
      echo
    done
  done
  echo
  # What cold tokens add with async on, beyond what one corp's own fetch
  # adds: about 0 if the children fetch their tokens side by side, about
  # (N - 1) fetches if one after the other.
  echo -n "Cold tokens with async on, beyond one corp's own fetch (the median cold minus warm time of N corps, minus that of one corp; \`SELECT *\`):"
  for n in 4 $CORPS_MAX; do
    x=$(calc "%.0f" "($(median "select.cold.$n.on" 2) - $(median "select.warm.$n.on" 2)) - ($(median select.cold.1.- 2) - $(median select.warm.1.- 2))")
    echo -n " $n corps $x ms ($(calc "%.1f" "$x / $DELAY_MS") × a ${DELAY_MS} ms fetch; one after the other would be $((n - 1)))$([ "$n" = 4 ] && echo ";" || echo ".")"
  done
  echo
  echo
  echo -n "Rows per child: every scan returned exactly $ROWS rows (checked on every \`SELECT *\` from its EXPLAIN ANALYZE line, each of the 4 or $CORPS_MAX children; \`count(*)\` checked against corps × $ROWS; before the runs, \`GROUP BY corp\` gave $ROWS rows for every corp). "
  echo "Memory: the backend's peak RSS (VmHWM of the measuring session, read from /proc after the statement: the whole process, shared buffers it touched and the catalog caches of its relations included, so an upper bound of what the children cost), median of the warm \`SELECT *\` runs: idle session $(mb "$R_idle"); one corp $(mb "$(median select.warm.1.- 3)");$(for t in $TARGETS; do n=${t%.*}; a=${t#*.}; r=$(median "select.warm.$n.$a" 3); echo -n " $n corps async $a $(mb "$r")"; [ "$t" = "$CORPS_MAX.off" ] && echo -n "." || echo -n ";"; done) Per child beyond the first, async on: $(calc "%.2f MB" "($(median select.warm.$CORPS_MAX.on 3) - $(median select.warm.1.- 3)) / ($CORPS_MAX - 1) / 1024") (16 corps against one)."
  echo
  echo "The mock (one test/mock_wecom.py process, scenario \`benchdelayK\` per corp, a thread per connection) answered one ${DELAY_MS} ms page in $MOCK_ONE ms and $CORPS_MAX concurrent ones, on $CORPS_MAX keep-alive connections, in $MOCK_MANY ms (median of 5 bursts), so it waits side by side, not in turn."
  echo
  echo "How it is measured (\`bench/multi_corp.sh\`): every figure is psql's \`\\timing\` of one statement in a new session. \`count(*)\` is \`SELECT count(*) FROM t\`; \`SELECT *\` is \`EXPLAIN (ANALYZE, TIMING OFF, VERBOSE) SELECT * FROM t\`, every row produced with all 9 columns and discarded. Warm: every corp's token is in the cluster's shared cache (shared_preload_libraries) and the mock counts no \`gettoken\`. Cold: right before the statement every corp it reads gets a corp_id no session has a token for (\`ALTER USER MAPPING … SET corp_id\`; the cache is keyed by api_url, corp_id and secret), and the mock counts exactly one \`gettoken\` per corp. Each run takes, per statement and tokens, one corp, 4 corps async on, one corp, 4 corps async off, one corp, $CORPS_MAX on, one corp, $CORPS_MAX off; each ratio is taken within one adjacent pair, so a burst of load from other processes moves both sides or shows in the range."
} >"$SECTION"

# Keep every other section of results.md: replace ours, or append it.
mkdir -p "$RESULTS"
$PY - "$RESULTS/results.md" "$SECTION" <<'PY' || fail "could not write $RESULTS/results.md"
import os, sys
path, section = sys.argv[1], open(sys.argv[2]).read()
head = "## Multi-corp benchmark"
lines = open(path).read().splitlines(True) if os.path.exists(path) else []
out, skip = [], False
for line in lines:
    if line.startswith("## "):
        skip = line.startswith(head)
    if not skip:
        out.append(line)
text = "".join(out).rstrip("\n")
open(path, "w").write((text + "\n\n" if text else "") + section)
PY
cat "$SECTION"
echo
log "results: $RESULTS/results.md (raw: $RAW, $PAIRS)"
