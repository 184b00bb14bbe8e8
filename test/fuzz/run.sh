#!/usr/bin/env bash
# Fuzz src/page_parser.c and src/json_validate.c with libFuzzer (ASan + UBSan) for a bounded time.
#
#   test/fuzz/run.sh [--seconds N]      (default 60; make fuzz SECONDS=N)
#
# First runs test/fuzz/cases.sh (fixed bodies with their expected verdicts).
# Builds test/fuzz/fuzz_page_parser with clang, writes a seed corpus of the
# mock's real response bodies into test/fuzz/corpus/ (git-ignored, kept
# between runs so the fuzzer builds on earlier work), runs every committed
# input in test/fuzz/regressions/ once, then fuzzes for N seconds.  Exits
# non-zero on any crash, leak, sanitizer report or timeout; the input that
# caused it is copied into regressions/ so it runs every time from then on
# (commit it with the fix).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)

seconds=60
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    *) echo "usage: $0 [--seconds N]" >&2; exit 2 ;;
  esac
done

CC=${CLF_FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "$CC not found: run test/deps.sh" >&2; exit 1; }
json_cflags=$(pkg-config --cflags json-c) && json_libs=$(pkg-config --libs json-c) ||
  { echo "json-c development files not found: run test/deps.sh" >&2; exit 1; }

"$here/cases.sh" || { echo "a parser case fails" >&2; exit 1; }

bin=$here/fuzz_page_parser
# shellcheck disable=SC2086
"$CC" -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror \
  -I"$root/src" $json_cflags \
  "$here/fuzz_page_parser.c" "$root/src/page_parser.c" "$root/src/json_validate.c" \
  $json_libs -o "$bin"

corpus=$here/corpus
mkdir -p "$corpus" "$here/regressions"
/usr/bin/python3 "$here/seeds.py" "$corpus" ||
  echo "warning: could not get seed bodies from the mock; fuzzing from regressions/ only" >&2

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
artifacts=$(mktemp -d)
logs=$(mktemp -d)
trap 'rm -rf "$artifacts" "$logs"' EXIT

keep_artifacts() {
  local f
  for f in "$artifacts"/*; do
    [ -e "$f" ] || continue
    cp "$f" "$here/regressions/$(basename "$f")"
    echo "kept $(basename "$f") in test/fuzz/regressions/: fix the bug and commit it" >&2
  done
}

# Every committed input once, each on its own so a failure names its file.
regressions=("$here"/regressions/*)
if [ -e "${regressions[0]}" ]; then
  echo "running ${#regressions[@]} regression inputs"
  "$bin" "${regressions[@]}" >"$logs/regressions.log" 2>&1 || {
    cat "$logs/regressions.log" >&2
    echo "a regression input fails" >&2
    exit 1
  }
fi

echo "fuzzing for $seconds s"
status=0
# New inputs go to corpus/ (the first directory); regressions/ seeds only.
"$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$corpus" "$here/regressions" >"$logs/fuzz.log" 2>&1 || status=$?
tail -n 30 "$logs/fuzz.log"
if [ "$status" -ne 0 ]; then
  keep_artifacts
  echo "the fuzzer failed (exit $status)" >&2
  exit 1
fi
echo "fuzzing ran clean for $seconds s"
