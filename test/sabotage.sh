#!/usr/bin/env bash
# make sabotage: break the code one line at a time and check that the suite
# notices.  Each entry of test/sabotages.txt names a file, a fixed string
# that must occur in it exactly once, its replacement, and the tests that
# must fail because of it.  For each entry, on a scratch copy of the tree
# (git ls-files) built and installed into a scratch copy of PostgreSQL:
# apply it, rebuild what changed, run test/run.sh with only the named
# tests (stopping at the first step that fails: CLF_FAIL_FAST), restore
# the file.  An entry whose tests all pass is a survivor: the
# script prints the survivors and exits 1.  An entry whose string is not
# found exactly once, or whose breakage does not build without warnings,
# is an error of the list (it must stay in step with src/): exit 2.  So
# are, before anything is built, an id twice, a condition (pg:, libcurl:)
# that cannot be read, an ID asked for that the list lacks, and a find
# string not exactly once in its file (in every entry).
#
# test/sabotage.sh [ID...]      only these entries
#
# The format of test/sabotages.txt: entries separated by blank lines, each
# a few "key: value" lines (the value starts after ": ", tabs kept):
#   id:       a name
#   file:     a path in the repository
#   find:     the fixed string (usually a whole line, with its indent)
#   replace:  what it becomes
#   tests:    regress:FILE,FILE  fault:WORD|WORD  secrets  bench  meta
#             (in fault words, + stands for a space)
#             (any of them, space-separated; regress gets setup first;
#             fault runs the fault suite's cases whose names hold a word,
#             and on PostgreSQL 15/16 the per-backend suite's too)
#   pg:       optional, e.g. "<16" or ">=16": the entry only applies to
#             those PostgreSQL majors (a line under #if PG_VERSION_NUM)
#   libcurl:  optional, e.g. ">=8.10": the entry only applies where the
#             libcurl we build against is that version (a defect only such
#             a libcurl shows); make test-matrix runs these entries in each
#             chroot they apply to
#   why:      the promise it breaks (a comment for the reader)
# Lines starting with # are comments.
#
# Entries run in parallel (CLF_SABOTAGE_JOBS, default the number of CPUs,
# at most 4; one without root), each in a network namespace of its own.
# As root, CLF_ISOLATE=1 runs it all in a private network namespace.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LIST=${CLF_SABOTAGE_LIST:-$ROOT/test/sabotages.txt}

test/deps.sh || exit 1
if [ -n "${CLF_ISOLATE:-}" ] && [ -z "${CLF_IN_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
  exec env CLF_IN_NETNS=1 unshare --net bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
# shellcheck source=test/pgversion.sh
source test/pgversion.sh
PG_CONFIG=$(clf_pg_config)
MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
T0=$(date +%s)

# parse the list into parallel arrays
ids=() files=() finds=() replaces=() tests=() pgs=() curls=()
flush() {
  if [ -n "${e_id:-}" ]; then
    ids+=("$e_id") files+=("$e_file") finds+=("$e_find") replaces+=("$e_replace")
    tests+=("$e_tests") pgs+=("${e_pg:-}") curls+=("${e_libcurl:-}")
  fi
  e_id= e_file= e_find= e_replace= e_tests= e_pg= e_libcurl=
}
flush
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    '#'*) continue ;;
    '') flush; continue ;;
    'id: '*) [ -z "$e_id" ] || { echo "sabotage: $LIST: no blank line before id ${line#id: }" >&2; exit 2; }
      e_id=${line#id: } ;;
    'file: '*) e_file=${line#file: } ;;
    'find: '*) e_find=${line#find: } ;;
    'replace: '*) e_replace=${line#replace: } ;;
    'tests: '*) e_tests=${line#tests: } ;;
    'pg: '*) e_pg=${line#pg: } ;;
    'libcurl: '*) e_libcurl=${line#libcurl: } ;;
    'why: '*) ;;
    *) echo "sabotage: $LIST: cannot read: $line" >&2; exit 2 ;;
  esac
done <"$LIST"
flush

# a condition is "<N" or ">=N" (pg: a major; libcurl: a version such as 8.10)
applies_to_major() {
  local cond=$1
  case "$cond" in
    '') return 0 ;;
    '<'*) [ "$MAJOR" -lt "${cond#<}" ] ;;
    *) [ "$MAJOR" -ge "${cond#>=}" ] ;;
  esac
}

LIBCURL=$(pkg-config --modversion libcurl)
applies_to_libcurl() {
  local cond=$1
  case "$cond" in
    '') return 0 ;;
    '<'*) dpkg --compare-versions "$LIBCURL" lt "${cond#<}" ;;
    *) dpkg --compare-versions "$LIBCURL" ge "${cond#>=}" ;;
  esac
}

# The list is checked before anything is built: a condition that cannot be
# read, an id twice, or an id asked for that the list lacks is its error
# (exit 2), never an entry quietly skipped.
list_ok=1
declare -A seen_ids=()
for i in "${!ids[@]}"; do
  [ -z "${seen_ids[${ids[$i]}]:-}" ] || { echo "sabotage: $LIST: id ${ids[$i]} twice" >&2; list_ok=; }
  seen_ids[${ids[$i]}]=1
  [[ -z "${pgs[$i]}" || "${pgs[$i]}" =~ ^(<|>=)[0-9]+$ ]] ||
    { echo "sabotage: $LIST: ${ids[$i]}: cannot read pg: ${pgs[$i]} (say <N or >=N)" >&2; list_ok=; }
  [[ -z "${curls[$i]}" || "${curls[$i]}" =~ ^(<|>=)[0-9]+(\.[0-9]+)*$ ]] ||
    { echo "sabotage: $LIST: ${ids[$i]}: cannot read libcurl: ${curls[$i]} (say <X.Y or >=X.Y)" >&2; list_ok=; }
done
for id in "$@"; do
  [ -n "${seen_ids[$id]:-}" ] || { echo "sabotage: $LIST has no entry $id" >&2; list_ok=; }
done
# each find string exactly once in its file, for every entry (also those
# this PostgreSQL or libcurl skips: they run elsewhere)
for i in "${!ids[@]}"; do printf '%s\0%s\0%s\0' "${ids[$i]}" "${files[$i]}" "${finds[$i]}"; done |
  /usr/bin/python3 -c '
import sys
fields = sys.stdin.buffer.read().decode("utf-8").split("\0")[:-1]
ok = True
for id_, path, find in zip(fields[0::3], fields[1::3], fields[2::3]):
    try:
        n = open(path, encoding="utf-8").read().count(find) if find else 0
    except OSError as e:
        n, find = 0, "%s (%s)" % (find, e.strerror)
    if n != 1:
        print("sabotage: %s: %s: found %d times in %s: %r" % (sys.argv[1], id_, n, path, find), file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)' "$LIST" || list_ok=
[ -n "$list_ok" ] || exit 2


TMP=$(mktemp -d /tmp/clf-sabotage.XXXXXX)
chmod 755 "$TMP"
cleanup() { [ -n "${CLF_KEEP_WORK:-}" ] || rm -rf "$TMP"; }
trap cleanup EXIT

# Entries run JOBS at a time (CLF_SABOTAGE_JOBS, default: the number of
# CPUs, at most 4), each worker with its own copy of PostgreSQL
# (clf_copy_postgres: installing a broken contact_list_fdw there touches
# nobody else's) and of the tree, and each run in a network namespace of
# its own so that the clusters and mocks of two runs never meet on a port.  Without root (no
# namespaces) one worker runs them all.
JOBS=${CLF_SABOTAGE_JOBS:-$(nproc)}
[ "$JOBS" -le 4 ] || JOBS=4
[ "$(id -u)" -eq 0 ] || JOBS=1
mkdir -p "$TMP/logs" "$TMP/results" "$TMP/claims"
for ((w = 0; w < JOBS; w++)); do
  spg=$(clf_copy_postgres "$PG_CONFIG" "$TMP/pg.$w") || { echo "sabotage: no scratch PostgreSQL" >&2; exit 2; }
  # The scratch tree: what git tracks, as it is in the work tree now (in a
  # copy that is no git checkout, a matrix chroot's, all but build products).
  mkdir -p "$TMP/tree.$w"
  { git ls-files -z 2>/dev/null ||
    find . -path ./.git -prune -o -type f ! -name '*.o' ! -name '*.so' ! -name '*.bc' -print0; } |
    xargs -0 cp --parents -t "$TMP/tree.$w" ||
    { echo "sabotage: could not copy the tree" >&2; exit 2; }
  make -C "$TMP/tree.$w" -s PG_CONFIG="$spg" >"$TMP/logs/build.$w.log" 2>&1 ||
    { cat "$TMP/logs/build.$w.log" >&2; echo "sabotage: the unbroken tree does not build" >&2; exit 2; }
done

# replace FILE FIND REPLACE: exactly one occurrence, or exit 3
replace_once() {
  /usr/bin/python3 - "$@" <<'PY'
import sys
path, find, repl = sys.argv[1:4]
with open(path, encoding="utf-8") as f:
    text = f.read()
n = text.count(find)
if n != 1:
    sys.exit("found %d times in %s: %r" % (n, path, find) if n else "not found in %s: %r" % (path, find))
with open(path, "w", encoding="utf-8") as f:
    f.write(text.replace(find, repl))
PY
}

# run_entry I W: entry I on worker W's tree and PostgreSQL.  Prints what
# came of it, and leaves "caught", "survived" or "error" in results/I.
run_entry() {
  local i=$1 w=$2 id=${ids[$1]} file=${files[$1]}
  local tree=$TMP/tree.$w spg=$TMP/pg.$w/usr/lib/postgresql/$MAJOR/bin/pg_config
  local steps= regress= cases= bench_only= t err log t1 rc took failed_steps
  local verdict=$TMP/results/$i
  for t in ${tests[$i]}; do
    case "$t" in
      regress:*) steps+=,regress; regress="setup ${t#regress:}"; regress=${regress//,/ } ;;
      fault:*) steps+=,fault; cases=${t#fault:}; cases=${cases//|/,}; cases=${cases//+/ } ;;
      secrets) steps+=,secrets ;;
      meta) steps+=,meta ;;
      bench) steps+=,bench; bench_only=1 ;;
      *) echo "-- $id: LIST ERROR, unknown test selector $t"; echo error >"$verdict"; return ;;
    esac
  done
  [ -n "$steps" ] || { echo "-- $id: LIST ERROR, no tests named"; echo error >"$verdict"; return; }
  cp "$tree/$file" "$TMP/orig.$w"
  if ! err=$(replace_once "$tree/$file" "${finds[$i]}" "${replaces[$i]}" 2>&1); then
    echo "-- $id: LIST ERROR, $err"
    echo error >"$verdict"
    return
  fi
  log=$TMP/logs/$id.log
  t1=$(date +%s)
  local isolate=()
  [ "$JOBS" -gt 1 ] && isolate=(unshare --net bash -c 'ip link set lo up && exec "$@"' isolated)
  (cd "$tree" && env PG_CONFIG="$spg" CLF_STEPS="${steps#,}" CLF_REGRESS="$regress" \
     CLF_FAULT_CASES="$cases" CLF_INCREMENTAL_BUILD=1 CLF_BENCH_FAILS_ONLY="$bench_only" CLF_DEPS_CHECKED=1 CLF_FAIL_FAST=1 \
     CLF_IN_NETNS=1 "${isolate[@]}" test/run.sh) >"$log" 2>&1
  rc=$?
  cp "$TMP/orig.$w" "$tree/$file"   # a new mtime: make rebuilds it next time
  took=$(($(date +%s) - t1))
  failed_steps=$(sed -n 's/^-- \(.*\): FAILED$/\1/p' "$log")
  if grep -q '^build failed' "$log" || [[ "$failed_steps" == *"build without warnings"* ]]; then
    { echo "-- $id: LIST ERROR, the sabotage does not build without warnings (${took}s)"
      grep -E 'error|warning' "$log" | head -5; } | flock "$TMP/out.lock" cat
    echo error >"$verdict"
  elif [ "$rc" -ne 0 ] && [ -n "$failed_steps" ]; then
    { echo "-- $id: caught by: $(echo "$failed_steps" | paste -sd, -) (${took}s)"
      grep -E '^not ok - |^test .*FAILED|^a secret or token appears' "$log" | head -3 | sed 's/^/     /'; } |
      flock "$TMP/out.lock" cat
    echo caught >"$verdict"
  elif [ "$rc" -ne 0 ]; then
    { echo "-- $id: LIST ERROR, the run failed before any test (${took}s):"
      tail -5 "$log"; } | flock "$TMP/out.lock" cat
    echo error >"$verdict"
  else
    echo "-- $id: SURVIVED: $file, the tests passed (${took}s)" | flock "$TMP/out.lock" cat
    echo survived >"$verdict"
  fi
}

# worker W: takes the next unclaimed entry (mkdir is atomic) until none is left
worker() {
  local w=$1 i
  for i in "${!ids[@]}"; do
    if [ $# -gt 1 ] && [[ " ${*:2} " != *" ${ids[$i]} "* ]]; then continue; fi
    mkdir "$TMP/claims/$i" 2>/dev/null || continue
    if ! applies_to_major "${pgs[$i]}"; then
      echo "-- ${ids[$i]}: not for PostgreSQL $MAJOR (${pgs[$i]})"
      continue
    fi
    if ! applies_to_libcurl "${curls[$i]}"; then
      echo "-- ${ids[$i]}: not for libcurl $LIBCURL: runs where libcurl is ${curls[$i]} (the host's, or a make test-matrix target's)"
      continue
    fi
    run_entry "$i" "$w"
  done
}

for ((w = 0; w < JOBS; w++)); do
  worker "$w" "$@" &
done
wait

survivors=()
errors=()
caught=0
for i in "${!ids[@]}"; do
  [ -f "$TMP/results/$i" ] || continue
  case "$(cat "$TMP/results/$i")" in
    caught) caught=$((caught + 1)) ;;
    survived) survivors+=("${ids[$i]}") ;;
    *) errors+=("${ids[$i]}") ;;
  esac
done

echo
echo "sabotage: $caught caught, ${#survivors[@]} survived, ${#errors[@]} list errors, $(($(date +%s) - T0)) s, $JOBS at a time (PostgreSQL $MAJOR)"
[ ${#survivors[@]} -eq 0 ] || echo "survivors: ${survivors[*]}"
[ ${#errors[@]} -eq 0 ] || { echo "list errors: ${errors[*]}"; exit 2; }
[ ${#survivors[@]} -eq 0 ]
