#!/usr/bin/env bash
# Every upgrade path ends where a fresh install begins.  For each version
# that has an install script (contact_list_fdw--V.sql) older than the
# control file's default_version: CREATE EXTENSION ... VERSION 'V', ALTER
# EXTENSION ... UPDATE, and compare what the extension then consists of
# (test/sql/extension_snapshot.sql: members, comments, function signatures,
# privileges) with a fresh install of the default version.  Then checks that
# the comparison does see a difference: each of a list of small sabotages of
# the upgraded database must change the snapshot.
#
# Runs against the cluster test/run.sh started (PGHOST, PGPORT, PGUSER), with
# the extension as installed there; every script in this tree must be
# installed.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${PG_CONFIG:?}"
PGBIN=$("$PG_CONFIG" --bindir)
extdir=$("$PG_CONFIG" --sharedir)/extension
work=$(mktemp -d /tmp/clf-upgrade.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

psql_() { PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fresh_db() {
  psql_ -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 TEMPLATE template0" >/dev/null
}
snapshot() { psql_ -d "$1" -f test/sql/extension_snapshot.sql; }

default=$(sed -n -E "s/^default_version *= *'([^']+)'.*/\1/p" contact_list_fdw.control)
[ -n "$default" ] || { echo "no default_version in contact_list_fdw.control" >&2; exit 1; }

# every script of the tree is installed, unchanged (the Makefile's DATA)
for f in contact_list_fdw--*.sql; do
  cmp -s "$f" "$extdir/$f" || fail "$f is not installed as it is in the tree (missing from DATA in the Makefile?)"
done
[ -f "contact_list_fdw--$default.sql" ] || fail "no install script for the default version $default"

fresh_db clf_upgrade_fresh
psql_ -d clf_upgrade_fresh -c "CREATE EXTENSION contact_list_fdw" || exit 1
snapshot clf_upgrade_fresh >"$work/fresh" || exit 1
echo "fresh install of $default: $(wc -l <"$work/fresh") facts"

versions=$(ls contact_list_fdw--*.sql | sed -n -E 's/^contact_list_fdw--([^-]+)\.sql$/\1/p' | grep -vxF "$default" | sort -V)
[ -n "$versions" ] || echo "no version older than $default: nothing to upgrade from"
last=
for v in $versions; do
  db=clf_upgrade_from_$(echo "$v" | tr -c 'a-zA-Z0-9\n' _)
  fresh_db "$db"
  psql_ -d "$db" -c "CREATE EXTENSION contact_list_fdw VERSION '$v'" || { fail "cannot install $v"; continue; }
  snapshot "$db" >"$work/before-$v"
  # an older version is a different set of objects, or it should not exist
  cmp -s "$work/before-$v" "$work/fresh" && fail "$v installs exactly what $default does"
  # before the update, as the README says: the new library scans, and what
  # the newer SQL adds is missing with PostgreSQL's own error
  rows=$(psql_ -d "$db" <<'SQL'
SET log_min_messages = warning;
CREATE SERVER s FOREIGN DATA WRAPPER contact_list_fdw OPTIONS (api_url 'http://127.0.0.1:18642/cgi-bin');
CREATE USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (access_token 'fixed-basic');
CREATE FOREIGN TABLE t (external_userid text) SERVER s;
SELECT count(*) FROM t;
DROP SERVER s CASCADE;
SQL
)
  [ "$rows" = 25 ] || fail "the library does not scan under SQL version $v: '$rows'"
  for object in "relation contact_list_fdw_stats" "relation contact_list_fdw_recent_scans" \
                "function contact_list_fdw_shared_info"; do
    name=${object#* }
    case $object in
      relation*) there="SELECT to_regclass('$name') IS NOT NULL" sql="SELECT * FROM $name"
                 want="42P01: relation \"$name\" does not exist" ;;
      function*) there="SELECT to_regprocedure('$name()') IS NOT NULL" sql="SELECT * FROM $name()"
                 want="42883: function $name() does not exist" ;;
    esac
    [ "$(psql_ -d "$db" -c "$there")" = f ] || continue
    err=$(psql_ -d "$db" -v VERBOSITY=verbose -c "$sql" 2>&1)
    case $err in
      *"$want"*) echo "under $v: $want" ;;
      *) fail "$sql under SQL version $v: $err" ;;
    esac
  done
  psql_ -d "$db" -c "ALTER EXTENSION contact_list_fdw UPDATE" || { fail "no update from $v to $default"; continue; }
  snapshot "$db" >"$work/after-$v"
  if diff -u --label "fresh $default" --label "$v updated" "$work/fresh" "$work/after-$v"; then
    echo "$v -> $default: identical to a fresh install"
  else
    fail "$v updated to $default differs from a fresh install (above)"
  fi
  last=$db
done

# The comparison must be able to fail: each change below, made to an
# updated database (or, with no older version, to the fresh one) inside a
# transaction that is rolled back, must show in the snapshot.
target=${last:-clf_upgrade_fresh}
base=$work/fresh
sabotages=(
  "ALTER EXTENSION contact_list_fdw DROP FUNCTION contact_list_fdw_scans(); DROP FUNCTION contact_list_fdw_scans()"
  "ALTER EXTENSION contact_list_fdw DROP FUNCTION contact_list_fdw_scans()"
  "ALTER FUNCTION contact_list_fdw_scans() PARALLEL UNSAFE"
  "ALTER FUNCTION contact_list_fdw_scans() STABLE"
  "ALTER FUNCTION contact_list_fdw_scans() ROWS 1000"
  "ALTER FUNCTION contact_list_fdw_validator(text[], oid) CALLED ON NULL INPUT"
  "COMMENT ON FUNCTION contact_list_fdw_scans() IS NULL"
  "COMMENT ON FOREIGN DATA WRAPPER contact_list_fdw IS 'other'"
  "REVOKE EXECUTE ON FUNCTION contact_list_fdw_scans() FROM PUBLIC"
  "ALTER FOREIGN DATA WRAPPER contact_list_fdw NO VALIDATOR"
  "CREATE FUNCTION left_behind() RETURNS int LANGUAGE sql AS 'SELECT 1'"
  "CREATE VIEW left_behind AS SELECT 1 AS one; ALTER EXTENSION contact_list_fdw ADD VIEW left_behind"
)
for s in "${sabotages[@]}"; do
  if ! { echo "BEGIN;"; echo "$s;"; cat test/sql/extension_snapshot.sql; echo "ROLLBACK;"; } |
    psql_ -d "$target" >"$work/sabotaged" 2>"$work/sabotage.err"; then
    fail "sabotage failed to apply: $s: $(cat "$work/sabotage.err")"
  elif cmp -s "$work/sabotaged" "$base"; then
    fail "the comparison does not see: $s"
  fi
done
echo "${#sabotages[@]} sabotages checked"

for db in clf_upgrade_fresh $(for v in $versions; do echo "clf_upgrade_from_$(echo "$v" | tr -c 'a-zA-Z0-9\n' _)"; done); do
  psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
done
exit $failed
