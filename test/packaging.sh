#!/usr/bin/env bash
# The packaging steps of make test-matrix, run in each chroot after
# test/run.sh: what a user installs must pass the suite, from the installed
# files alone.
#
#   deb:  make deb; lintian; apt-get install ./deb/postgresql-NN-...deb;
#         the pg_regress suite against it (debian/tests/installcheck, the
#         autopkgtest, with no build in the tree); apt-get purge, which must
#         leave nothing behind.
#   pgxn: make dist; test/check_meta.py --zip; pgxn install ./the.zip into a
#         PostgreSQL that has none of our files; the suite from the zip's own
#         unpacked tree; pgxn uninstall.
#
# It installs and removes packages and files in the system's PostgreSQL, so
# it runs only on a throw-away system: CLF_THROWAWAY_SYSTEM=1 (make
# test-matrix sets it in its chroots).  Needs root, and what
# test/deps.sh --packaging installs.  CLF_STEPS (deb, pgxn) as in test/run.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
[ "${CLF_THROWAWAY_SYSTEM:-}" = 1 ] ||
  { echo "test/packaging.sh installs packages into the system: set CLF_THROWAWAY_SYSTEM=1 on a throw-away one" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "test/packaging.sh needs root" >&2; exit 2; }
# shellcheck source=test/pgversion.sh
source test/pgversion.sh
PG_CONFIG=$(clf_pg_config)
export PG_CONFIG
major=$(clf_pg_major)
pkg=postgresql-$major-contact-list-fdw
pkglibdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension

# shellcheck source=test/steps.sh
source test/steps.sh

# our files in this PostgreSQL, installed by anyone
our_files() {
  ls -d "$pkglibdir"/contact_list_fdw.so "$pkglibdir"/bitcode/contact_list_fdw* \
    "$extdir"/contact_list_fdw.control "$extdir"/contact_list_fdw--*.sql 2>/dev/null
}
# "a clean server": none of our files (test/run.sh's make install left some)
remove_our_files() {
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    apt-get purge -y -qq "$pkg" >/dev/null || return 1
  fi
  make -s uninstall PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1
  rm -rf "$pkglibdir/bitcode/contact_list_fdw" "$pkglibdir/bitcode/contact_list_fdw.index.bc"
  if [ -n "$(our_files)" ]; then
    echo "cannot remove: $(our_files)" >&2
    return 1
  fi
}

deb_package() {
  local deb f owner
  make -s clean PG_CONFIG="$PG_CONFIG" >/dev/null
  make deb || return 1
  lintian --pedantic --fail-on error,warning deb/*.changes 2>&1 | grep -v 'running with root privileges'
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "lintian reports errors or warnings (above)"; return 1; }
  remove_our_files || return 1
  deb=$(ls deb/"${pkg}"_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || { echo "make deb built no $pkg" >&2; return 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null ||
    { echo "apt-get install ./$deb failed" >&2; return 1; }
  # every file of ours in PostgreSQL now belongs to the package
  for f in $(our_files); do
    owner=$(dpkg-query -S "$f" 2>/dev/null | cut -d: -f1)
    [ "$owner" = "$pkg" ] || { echo "$f is not from $pkg (dpkg: ${owner:-none})" >&2; return 1; }
  done
  [ -f "$pkglibdir/contact_list_fdw.so" ] || { echo "$pkg installed no contact_list_fdw.so" >&2; return 1; }
  # the autopkgtest itself: test/installcheck.sh for each installed major
  debian/tests/installcheck || return 1
  apt-get purge -y -qq "$pkg" >/dev/null || return 1
  [ -z "$(our_files)" ] || { echo "left behind after apt-get purge: $(our_files)" >&2; return 1; }
}

pgxn_install() {
  local repo=$src zip unpacked status=0
  # make dist archives a git commit: the chroot's copy of the tree has no
  # repository, so it gets a throw-away one holding the tree as copied
  if ! git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    repo=$(mktemp -d /tmp/clf-dist.XXXXXX)
    tar -C "$src" -cf - --exclude=./deb --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
      --exclude='*.zip' --exclude=./results . | tar -xf - -C "$repo"
    git -C "$repo" init -q && git -C "$repo" add -A &&
      git -C "$repo" -c user.name=clf -c user.email=clf@localhost commit -q -m tree || return 1
  fi
  (cd "$repo" && make -s dist) || return 1
  zip=$(ls "$repo"/contact_list_fdw-*.zip | head -n 1)
  $PY_ test/check_meta.py --zip "$zip" || return 1
  remove_our_files || return 1
  pgxn install --pg_config "$PG_CONFIG" "$zip" || { echo "pgxn install $zip failed" >&2; return 1; }
  [ -f "$pkglibdir/contact_list_fdw.so" ] && [ -f "$extdir/contact_list_fdw.control" ] ||
    { echo "pgxn install installed no contact_list_fdw.so or control file" >&2; return 1; }
  # the suite from the zip's own files: nothing of this tree is needed
  unpacked=$(mktemp -d /tmp/clf-pgxn.XXXXXX)
  (cd "$unpacked" && unzip -q "$zip") || return 1
  "$unpacked"/contact_list_fdw-*/test/installcheck.sh --pg-config "$PG_CONFIG" || status=1
  pgxn uninstall --pg_config "$PG_CONFIG" "$zip" >/dev/null || { echo "pgxn uninstall failed" >&2; status=1; }
  [ -z "$(our_files | grep -v /bitcode/)" ] || { echo "left behind after pgxn uninstall: $(our_files)" >&2; status=1; }
  rm -rf "$unpacked"
  [ "$repo" = "$src" ] || rm -rf "$repo"
  return $status
}
PY_=/usr/bin/python3

wanted deb && step "deb package" deb_package
wanted pgxn && step "pgxn install" pgxn_install

steps_summary packaging
