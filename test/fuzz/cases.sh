#!/usr/bin/env bash
# Build and run test/fuzz/parser_cases.c: the page parser's verdicts on fixed
# bodies, each fed whole and split at every byte, against the json-c found
# by pkg-config.  Uses clang or gcc with ASan and UBSan.  (make parser-cases)
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)

CC=${CLF_FUZZ_CC:-$(command -v clang || command -v gcc || echo cc)}
json_cflags=$(pkg-config --cflags json-c) && json_libs=$(pkg-config --libs json-c) ||
  { echo "json-c development files not found: run test/deps.sh" >&2; exit 1; }

bin=$here/parser_cases
# shellcheck disable=SC2086
"$CC" -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror -I"$root/src" $json_cflags \
  "$here/parser_cases.c" "$root/src/page_parser.c" "$root/src/json_validate.c" $json_libs -o "$bin"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" "$here/regressions"
