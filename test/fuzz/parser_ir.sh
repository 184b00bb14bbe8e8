#!/usr/bin/env bash
# The callgrind instruction count (Ir) of parsing a fixed 2.5 MB CJK-heavy
# contact_list page: src/page_parser.c and src/json_validate.c built as the
# extension builds them (-O2), fed 16 kB at a time.  Deterministic, unlike a
# timing: compare the figure before and after a change to the parser.
#
#   test/fuzz/parser_ir.sh [BODY]    (default: the generated CJK page)
#
# Prints the total Ir and the Ir spent in the two files (self cost).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
command -v valgrind >/dev/null || { echo "valgrind not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

body=${1:-$tmp/cjk.json}
if [ -z "${1:-}" ]; then
  /usr/bin/python3 - "$body" <<'PY'
import json, random, sys
r = random.Random(17)
def text(n):
    out = []
    for _ in range(n):
        k = r.random()
        if k < 0.85:
            out.append(chr(r.randint(0x4E00, 0x9FA5)))
        elif k < 0.95:
            out.append(r.choice("abcdefghijklmnopqrstuvwxyz0123456789 -_"))
        elif k < 0.98:
            out.append("\U0001F600")
        else:
            out.append(r.choice("\n\"\\/\t"))
    return "".join(out)
items = []
for i in range(1090):
    if i % 2:
        items.append({"is_customer": False, "tmp_openid": "%032x" % r.getrandbits(128),
                      "name": text(r.randint(2, 30)), "follow_userid": "user%04d" % r.randint(0, 9999),
                      "chat_id": "wr%030x" % r.getrandbits(120), "chat_name": text(r.randint(400, 1200)),
                      "add_time": 1700000000 + i})
    else:
        items.append({"is_customer": True, "tmp_openid": "%032x" % r.getrandbits(128),
                      "external_userid": "wm%030x" % r.getrandbits(120),
                      "name": text(r.randint(200, 1200)), "follow_userid": "user%04d" % r.randint(0, 9999),
                      "add_time": 1700000000 + i})
body = json.dumps({"errcode": 0, "errmsg": "ok", "info_list": items, "next_cursor": "c" * 40},
                  ensure_ascii=False, separators=(",", ":"))
open(sys.argv[1], "wb").write(body.encode())
PY
fi

# shellcheck disable=SC2046
gcc -O2 -g -fno-strict-aliasing -fwrapv -fno-omit-frame-pointer -I"$root/src" \
  $(pkg-config --cflags json-c) "$here/parser_ir.c" "$root/src/page_parser.c" \
  "$root/src/json_validate.c" $(pkg-config --libs json-c) -o "$tmp/parser_ir"
"$tmp/parser_ir" "$body"
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$tmp/parser_ir" "$body" >/dev/null 2>&1
callgrind_annotate "$tmp/cg.out" | awk '
  /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
  /src\/(page_parser|json_validate)\.c:/ && !/=>/ { gsub(",", "", $1); ours += $1 }
  END { printf "Ir total %d, in page_parser.c and json_validate.c %d\n", total, ours }'
