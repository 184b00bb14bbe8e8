#!/usr/bin/env bash
# make deb: build postgresql-NN-contact-list-fdw packages, one per
# PostgreSQL major whose postgresql-server-dev-NN is installed (and which
# debian/pgversions allows), into deb/.  Builds only: installs nothing.
#
# The build runs in a copy of the tree (deb/build/), so that the
# debian/control pg_buildext writes for this machine's majors, and the
# build's own files, never touch the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
out=$src/deb

for tool in dpkg-buildpackage dh pg_buildext; do
  command -v "$tool" >/dev/null || {
    echo "$tool not found: apt-get install build-essential dpkg-dev debhelper postgresql-server-dev-all" >&2
    exit 1
  }
done
[ -e /usr/share/perl5/Debian/Debhelper/Sequence/pgxs.pm ] ||
  { echo "dh --with pgxs not found: apt-get install postgresql-server-dev-all" >&2; exit 1; }

# the majors to build for: every installed postgresql-server-dev-NN
export PG_SUPPORTED_VERSIONS=installed
majors=$(pg_buildext supported-versions 2>/dev/null || true)
[ -n "$majors" ] || { echo "no postgresql-server-dev-NN installed that debian/pgversions allows" >&2; exit 1; }

version=$(dpkg-parsechangelog -S Version)
build=$out/build
tree=$build/contact-list-fdw-${version%-*}
rm -rf "$build"
mkdir -p "$tree"
# the tree as git sees it (tracked and untracked, not ignored), else all of it
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$src" ls-files -z --cached --others --exclude-standard |
    xargs -0 tar -cf - --ignore-failed-read 2>/dev/null | tar -xf - -C "$tree"
else
  tar -cf - --exclude=./deb --exclude='*.o' --exclude='*.so' --exclude='*.bc' . | tar -xf - -C "$tree"
fi

cd "$tree"
pg_buildext updatecontrol
echo "building for PostgreSQL $(echo "$majors" | paste -sd' ')"
dpkg-buildpackage --build=binary --no-sign >"$build/build.log" 2>&1 ||
  { tail -n 60 "$build/build.log" >&2; echo "dpkg-buildpackage failed; log: $build/build.log" >&2; exit 1; }
cd "$build"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mv ./*.deb ./*.changes ./*.buildinfo "$out"/
echo "built in $out:"
ls -1 "$out"/*.deb
