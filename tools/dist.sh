#!/usr/bin/env bash
# make dist: the PGXN distribution contact_list_fdw-X.Y.Z.zip (X.Y.Z from
# META.json), made by git archive from HEAD, after test/check_meta.py has
# checked META.json against the control file and debian/changelog.
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 test/check_meta.py
version=$(/usr/bin/python3 -c 'import json; print(json.load(open("META.json"))["version"])')
name=contact_list_fdw-$version
git rev-parse --verify -q HEAD >/dev/null || { echo "make dist needs a git repository with a commit" >&2; exit 1; }
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "warning: uncommitted changes are not in $name.zip (it holds HEAD)" >&2
fi
git archive --format=zip --prefix="$name/" -o "$name.zip" HEAD
echo "$name.zip"
