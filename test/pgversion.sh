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
