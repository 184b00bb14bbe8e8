#!/usr/bin/env bash
# make sabotage: break the code one line at a time and check that the suite
# notices.  Each entry of test/sabotages.txt names a file, a fixed string
# that must occur in it exactly once, its replacement, and the tests that
# must fail because of it.  For each entry, on a scratch copy of the tree
# (git ls-files) built and installed into a scratch copy of PostgreSQL:
# apply it, rebuild what changed, run test/run.sh with only the named
# tests, restore the file.  An entry whose tests all pass is a survivor: the
# script prints the survivors and exits 1.  An entry whose string is not
# found exactly once, or whose breakage does not build without warnings,
# is an error of the list (it must stay in step with src/): exit 2.
#
# test/sabotage.sh [ID...]      only these entries
#
# The format of test/sabotages.txt: entries separated by blank lines, each
# a few "key: value" lines (the value starts after ": ", tabs kept):
#   id:       a name
#   file:     a path in the repository
#   find:     the fixed string (usually a whole line, with its indent)
#   replace:  what it becomes
#   tests:    regress:FILE,FILE  fault:WORD|WORD  secrets  bench
#             (in fault words, + stands for a space)
#             (any of them, space-separated; regress gets setup first;
#             fault runs the fault suite's cases whose names hold a word,
#             and on PostgreSQL 15/16 the per-backend suite's too)
#   pg:       optional, e.g. "<16" or ">=16": the entry only applies to
#             those PostgreSQL majors (a line under #if PG_VERSION_NUM)
#   why:      the promise it breaks (a comment for the reader)
# Lines starting with # are comments.
#
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

TMP=$(mktemp -d /tmp/clf-sabotage.XXXXXX)
chmod 755 "$TMP"
cleanup() { [ -n "${CLF_KEEP_WORK:-}" ] || rm -rf "$TMP"; }
trap cleanup EXIT

# A scratch PostgreSQL: Debian's layout under a prefix of our own, which
# pg_config follows (it finds its paths relative to itself), so installing
# a broken contact_list_fdw there touches nobody else's.
bindir=$("$PG_CONFIG" --bindir)
prefix=${bindir%/usr/lib/postgresql/$MAJOR/bin}
[ "$prefix" != "$bindir" ] || { echo "sabotage: $PG_CONFIG is not in Debian's layout (PREFIX/usr/lib/postgresql/N/bin)" >&2; exit 2; }
mkdir -p "$TMP/pg/usr/lib/postgresql" "$TMP/pg/usr/share/postgresql" "$TMP/pg/usr/include"
cp -a "$prefix/usr/lib/postgresql/$MAJOR" "$TMP/pg/usr/lib/postgresql/" &&
  cp -a "$prefix/usr/share/postgresql/$MAJOR" "$TMP/pg/usr/share/postgresql/" &&
  cp -a "$prefix/usr/include/postgresql" "$TMP/pg/usr/include/" ||
  { echo "sabotage: could not copy PostgreSQL from $prefix" >&2; exit 2; }
SPG=$TMP/pg/usr/lib/postgresql/$MAJOR/bin/pg_config
case "$("$SPG" --pkglibdir)" in
  "$TMP"/*) ;;
  *) echo "sabotage: the copied pg_config does not follow its copy: $("$SPG" --pkglibdir)" >&2; exit 2 ;;
esac

# The scratch tree: what git tracks, as it is in the work tree now.
mkdir -p "$TMP/tree" "$TMP/logs"
git ls-files -z | xargs -0 cp --parents -t "$TMP/tree" ||
  { echo "sabotage: could not copy the tree" >&2; exit 2; }
make -C "$TMP/tree" -s PG_CONFIG="$SPG" >"$TMP/logs/build.log" 2>&1 ||
  { cat "$TMP/logs/build.log" >&2; echo "sabotage: the unbroken tree does not build" >&2; exit 2; }

# parse the list into parallel arrays
ids=() files=() finds=() replaces=() tests=() pgs=()
flush() {
  if [ -n "${e_id:-}" ]; then
    ids+=("$e_id") files+=("$e_file") finds+=("$e_find") replaces+=("$e_replace")
    tests+=("$e_tests") pgs+=("${e_pg:-}")
  fi
  e_id= e_file= e_find= e_replace= e_tests= e_pg=
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
    'why: '*) ;;
    *) echo "sabotage: $LIST: cannot read: $line" >&2; exit 2 ;;
  esac
done <"$LIST"
flush

applies_to_major() {
  local cond=$1
  case "$cond" in
    '') return 0 ;;
    '<'[0-9]*) [ "$MAJOR" -lt "${cond#<}" ] ;;
    '>='[0-9]*) [ "$MAJOR" -ge "${cond#>=}" ] ;;
    *) echo "sabotage: bad pg condition: $cond" >&2; return 2 ;;
  esac
}

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

survivors=()
errors=()
caught=0
for i in "${!ids[@]}"; do
  id=${ids[$i]} file=${files[$i]}
  if [ $# -gt 0 ] && [[ " $* " != *" $id "* ]]; then continue; fi
  if ! applies_to_major "${pgs[$i]}"; then
    echo "-- $id: not for PostgreSQL $MAJOR (${pgs[$i]})"
    continue
  fi
  steps= regress= cases= bench_only=
  for t in ${tests[$i]}; do
    case "$t" in
      regress:*) steps+=,regress; regress="setup ${t#regress:}"; regress=${regress//,/ } ;;
      fault:*) steps+=,fault; cases=${t#fault:}; cases=${cases//|/,}; cases=${cases//+/ } ;;
      secrets) steps+=,secrets ;;
      bench) steps+=,bench; bench_only=1 ;;
      *) echo "sabotage: $id: unknown test selector $t" >&2; exit 2 ;;
    esac
  done
  [ -n "$steps" ] || { errors+=("$id (no tests named)"); continue; }
  cp "$TMP/tree/$file" "$TMP/orig"
  if ! err=$(replace_once "$TMP/tree/$file" "${finds[$i]}" "${replaces[$i]}" 2>&1); then
    echo "-- $id: LIST ERROR, $err"
    errors+=("$id")
    continue
  fi
  log=$TMP/logs/$id.log
  t1=$(date +%s)
  (cd "$TMP/tree" && env PG_CONFIG="$SPG" CLF_STEPS="${steps#,}" CLF_REGRESS="$regress" \
     CLF_FAULT_CASES="$cases" CLF_INCREMENTAL_BUILD=1 CLF_BENCH_FAILS_ONLY="$bench_only" CLF_DEPS_CHECKED=1 \
     test/run.sh) >"$log" 2>&1
  rc=$?
  cp "$TMP/orig" "$TMP/tree/$file"   # a new mtime: make rebuilds it next time
  took=$(($(date +%s) - t1))
  failed_steps=$(sed -n 's/^-- \(.*\): FAILED$/\1/p' "$log")
  if grep -q '^build failed' "$log" || [[ "$failed_steps" == *"build without warnings"* ]]; then
    echo "-- $id: LIST ERROR, the sabotage does not build without warnings (${took}s)"
    grep -E 'error|warning' "$log" | head -5
    errors+=("$id")
  elif [ "$rc" -ne 0 ] && [ -n "$failed_steps" ]; then
    echo "-- $id: caught by: $(echo "$failed_steps" | paste -sd, -) (${took}s)"
    grep -E '^not ok - |^test .*FAILED|^a secret or token appears' "$log" | head -3 | sed 's/^/     /'
    caught=$((caught + 1))
  elif [ "$rc" -ne 0 ]; then
    echo "-- $id: LIST ERROR, the run failed before any test (${took}s):"
    tail -5 "$log"
    errors+=("$id")
  else
    echo "-- $id: SURVIVED: $file, the tests passed (${took}s)"
    survivors+=("$id")
  fi
done

echo
echo "sabotage: $caught caught, ${#survivors[@]} survived, ${#errors[@]} list errors, $(($(date +%s) - T0)) s (PostgreSQL $MAJOR)"
[ ${#survivors[@]} -eq 0 ] || echo "survivors: ${survivors[*]}"
[ ${#errors[@]} -eq 0 ] || { echo "list errors: ${errors[*]}"; exit 2; }
[ ${#survivors[@]} -eq 0 ]
