#!/usr/bin/env bash
# The pg_regress suite against the extension as installed (a Debian package,
# pgxn install, or make install), without building anything: starts a
# throw-away cluster, the mock WeCom endpoint and the proxy (test/lib.sh),
# and runs make installcheck from this tree.  Used by debian/tests
# (autopkgtest) and test/packaging.sh.
#
#   test/installcheck.sh [--pg-config PATH]     (default: as test/pgversion.sh picks)
#
# Refuses to run when the tree holds a built contact_list_fdw.so, so that a
# pass can only come from the installed files.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = --pg-config ] && { export PG_CONFIG=${2:?--pg-config needs a path}; shift 2; }
[ $# -eq 0 ] || { echo "usage: $0 [--pg-config PATH]" >&2; exit 2; }

if compgen -G '*.so' >/dev/null || compgen -G 'src/*.o' >/dev/null; then
  echo "this tree holds a build (*.so, src/*.o): run make clean, so that the suite tests the installed files" >&2
  exit 1
fi
# shellcheck source=test/lib.sh
source test/lib.sh
so=$("$PG_CONFIG" --pkglibdir)/contact_list_fdw.so
control=$("$PG_CONFIG" --sharedir)/extension/contact_list_fdw.control
for f in "$so" "$control"; do
  [ -f "$f" ] || { echo "not installed: $f" >&2; exit 1; }
done
echo "testing the installed $so ($("$PG_CONFIG" --version))"
if command -v dpkg-query >/dev/null; then
  echo "owned by: $(dpkg-query -S "$so" 2>/dev/null | cut -d: -f1 || true)"
fi

start_cluster || exit 1
start_mock || exit 1
start_proxy || exit 1
if ! make -s installcheck PG_CONFIG="$PG_CONFIG" PGUSER=postgres; then
  [ -f regression.diffs ] && head -300 regression.diffs
  exit 1
fi
