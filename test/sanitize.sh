#!/usr/bin/env bash
# make sanitize: test/run.sh's steps (CLF_STEPS, default regress,fault) with
# the library built under AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc), on a scratch copy of PostgreSQL whose server starts with the
# sanitizer runtimes preloaded.  Fails, printing them, if any server log of
# the run holds a sanitizer report or a backend killed by a signal.  Not a
# step of make test: it is slower, and its verdict is the reports alone.
#
# run.sh's own verdict is shown but does not count: under ASan some fault
# cases cannot pass, and fail whatever the code does:
#  - errors mid-scan leave no memory behind: freed memory waits in ASan's
#    quarantine (CLF_ASAN_OPTIONS=quarantine_size_mb=0 lets it pass);
#  - shared token copies, redaction ..., async scans ... no copy of its URL:
#    they read a backend's whole private memory, and ASan's shadow is terabytes;
#  - libcurl failures ... after OOM (and so the README step): ASan's malloc
#    takes the place of the case's failing one.
# What ASan cannot see: PostgreSQL itself is not instrumented, and palloc
# carves chunks out of blocks it mallocs, so an overrun inside a memory
# context's block goes unseen (libcurl's and json-c's buffers, our stack
# and our globals are seen).  Variant builds (the layout cases) are built
# with a COPT of their own, so without the sanitizers.
#
#   CLF_STEPS=regress CLF_REGRESS="setup scan" test/sanitize.sh
#   CLF_ASAN_OPTIONS=detect_stack_use_after_return=1  (added to the server's)
#   CLF_KEEP_WORK=1      keep the scratch directory (kept anyway on a report)
#   CLF_ISOLATE=1        (as root) a network namespace of its own, as for run.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=test/pgversion.sh
source test/pgversion.sh
PG_CONFIG=$(clf_pg_config)
MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
# the runtimes of the compiler PGXS builds with (Debian's PostgreSQL: gcc)
CC=gcc
asan=$("$CC" -print-file-name=libasan.so)
ubsan=$("$CC" -print-file-name=libubsan.so)
[ -f "$asan" ] && [ -f "$ubsan" ] ||
  { echo "sanitize: $CC has no libasan.so/libubsan.so (apt-get install gcc)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/clf-sanitize.XXXXXX)
chmod 755 "$TMP"
found=
cleanup() { [ -n "${CLF_KEEP_WORK:-}$found" ] || rm -rf "$TMP"; }
trap cleanup EXIT

# A scratch PostgreSQL, which the sanitizer build is installed into
pg=$TMP/pg
spg=$(clf_copy_postgres "$PG_CONFIG" "$pg") || { echo "sanitize: no scratch PostgreSQL" >&2; exit 2; }

# ASan starts up inside the first malloc, which in the server is
# libgpg-error's constructor calling bindtextdomain() under glibc's
# _nl_state_lock; its failed dlsym("swift_demangle") then makes dlerror()
# take that lock again, and the server hangs in its own bindtextdomain().
# A swift_demangle that is found keeps dlerror() quiet.
cat >"$TMP/swift_stub.c" <<'C'
#include <stddef.h>
#include <stdint.h>
char *swift_demangle(const char *name, size_t len, char *out, size_t *outlen, uint32_t flags);
char *swift_demangle(const char *name, size_t len, char *out, size_t *outlen, uint32_t flags) { return NULL; }
C
"$CC" -shared -fPIC -o "$TMP/swift_stub.so" "$TMP/swift_stub.c" || exit 2
# The server (and every backend it forks) with the runtimes preloaded, any
# LD_PRELOAD of a fault case after them; reports go to the server log.
mv "$pg/usr/lib/postgresql/$MAJOR/bin/postgres" "$pg/usr/lib/postgresql/$MAJOR/bin/postgres.real"
cat >"$pg/usr/lib/postgresql/$MAJOR/bin/postgres" <<SH
#!/bin/bash
export LD_PRELOAD="$asan $ubsan $TMP/swift_stub.so\${LD_PRELOAD:+ \$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=0:quarantine_size_mb=32\${CLF_ASAN_OPTIONS:+:\$CLF_ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0"
exec -a "\$0" "\${0%/*}/postgres.real" "\$@"
SH
chmod 755 "$pg/usr/lib/postgresql/$MAJOR/bin/postgres"

mkdir "$TMP/work" && chmod 755 "$TMP/work"
env PG_CONFIG="$spg" CLF_WORK_PARENT="$TMP/work" CLF_KEEP_WORK=1 CLF_STEPS="${CLF_STEPS:-regress,fault}" \
  COPT="-fsanitize=address,undefined -fsanitize-recover=address -fno-omit-frame-pointer -g -O1" \
  test/run.sh
echo "sanitize: test/run.sh exited $? (see the header of test/sanitize.sh for the cases that cannot pass)"

logs=()
while IFS= read -r -d '' log; do logs+=("$log"); done \
  < <(find "$TMP/work" \( -name 'postgres.log' -o -name 'pgdata_*.log' \) -print0)
[ ${#logs[@]} -gt 0 ] || { echo "sanitize: the run left no server log" >&2; exit 1; }
reports=$(grep -E -n -A40 'ERROR: AddressSanitizer|runtime error:|terminated by signal' "${logs[@]}")
if [ -n "$reports" ]; then
  found=1
  echo "$reports" | head -400
  echo "sanitize: reports in the server logs above (kept in $TMP)" >&2
  exit 1
fi
echo "sanitize: no sanitizer report in ${#logs[@]} server logs"
