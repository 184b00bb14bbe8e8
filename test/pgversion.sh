# Which PostgreSQL the build and the tests use, shared by test/deps.sh and
# test/lib.sh so that the packages installed and the server started agree.
#
# In order: PG_CONFIG when it names a pg_config (any build, Debian's or
# not); CLF_PG_MAJOR; the newest PostgreSQL server installed from packages;
# else the distribution's default, the version its "postgresql" package
# depends on (15 on Debian 12, 17 on 13).
# shellcheck shell=bash

clf_pg_major() {
  local major
  if [ -n "${PG_CONFIG:-}" ] && [ "$PG_CONFIG" != pg_config ] && [ -x "$(command -v "$PG_CONFIG")" ]; then
    "$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/'
    return
  fi
  if [ -n "${CLF_PG_MAJOR:-}" ]; then
    echo "$CLF_PG_MAJOR"
    return
  fi
  major=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'postgresql-[0-9]*' 2>/dev/null |
    awk '$1 == "ii" && $2 ~ /^postgresql-[0-9]+$/ { sub("postgresql-", "", $2); print $2 }' |
    sort -n | tail -n 1)
  if [ -z "$major" ]; then
    major=$(apt-cache depends postgresql 2>/dev/null | grep -oE 'postgresql-[0-9]+' | head -n 1)
    major=${major#postgresql-}
  fi
  echo "$major"
}

# The pg_config of that version: PG_CONFIG when given, else Debian's path.
clf_pg_config() {
  if [ -n "${PG_CONFIG:-}" ] && [ "$PG_CONFIG" != pg_config ] && [ -x "$(command -v "$PG_CONFIG")" ]; then
    command -v "$PG_CONFIG"
    return
  fi
  echo "/usr/lib/postgresql/$(clf_pg_major)/bin/pg_config"
}

# clf_copy_postgres PG_CONFIG DEST: a scratch copy of that PostgreSQL in
# Debian's layout under DEST, whose pg_config follows the copy (it finds
# its paths relative to itself), so that installing a broken or
# instrumented contact_list_fdw there touches nobody else's.  Prints the
# copy's pg_config; fails, saying why, if PG_CONFIG is not in Debian's
# layout or the copy cannot be made.
clf_copy_postgres() {
  local pgc=$1 dest=$2 major bindir prefix copied
  major=$("$pgc" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
  bindir=$("$pgc" --bindir)
  prefix=${bindir%/usr/lib/postgresql/"$major"/bin}
  if [ "$prefix" = "$bindir" ]; then
    echo "$pgc is not in Debian's layout (PREFIX/usr/lib/postgresql/N/bin)" >&2
    return 2
  fi
  mkdir -p "$dest/usr/lib/postgresql" "$dest/usr/share/postgresql" "$dest/usr/include" &&
    cp -a "$prefix/usr/lib/postgresql/$major" "$dest/usr/lib/postgresql/" &&
    cp -a "$prefix/usr/share/postgresql/$major" "$dest/usr/share/postgresql/" &&
    cp -a "$prefix/usr/include/postgresql" "$dest/usr/include/" ||
    { echo "could not copy PostgreSQL from $prefix" >&2; return 2; }
  copied=$dest/usr/lib/postgresql/$major/bin/pg_config
  case "$("$copied" --pkglibdir)" in
    "$dest"/*) ;;
    *) echo "the copied pg_config does not follow its copy: $("$copied" --pkglibdir)" >&2; return 2 ;;
  esac
  echo "$copied"
}
