# Shared by test/run.sh, test/demo.sh and bench/run.sh: a throw-away
# PostgreSQL cluster, the mock WeCom endpoint and a proxy, all on loopback,
# stopped again when the calling script exits.
# shellcheck shell=bash

CLF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=test/pgversion.sh
source "$CLF_ROOT/test/pgversion.sh"
PG_CONFIG=$(clf_pg_config)
export PG_CONFIG
PGBIN=$("$PG_CONFIG" --bindir)
# pg_cron is packaged for some PostgreSQL majors only: without it the tests
# that need it are skipped, and say so.
CLF_HAVE_PG_CRON=
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ] && CLF_HAVE_PG_CRON=1
export CLF_HAVE_PG_CRON
export PGPORT=${CLF_PGPORT:-54329}
export CLF_MOCK_PORT=${CLF_MOCK_PORT:-18642}
export CLF_PROXY_PORT=${CLF_PROXY_PORT:-18643}
export PGUSER=postgres
export PGDATABASE=postgres
PY=/usr/bin/python3

# CLF_WORK_PARENT: where the work directory goes (test/run.sh puts the
# demo's under its own, with CLF_KEEP_WORK, to check the demo's server log)
CLF_WORK=$(mktemp -d "${CLF_WORK_PARENT:-/tmp}/contact_list_fdw.XXXXXX")
chmod 755 "$CLF_WORK"
export PGHOST=$CLF_WORK
CLF_PIDS=()

# The server refuses to run as root: run it as the postgres user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

clf_cleanup() {
  local pid data
  for pid in "${CLF_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # the suite's clusters, and the fault suite's own (a standby among them)
  for data in "$CLF_WORK"/pgdata* "$CLF_WORK"/mini-*/data; do
    if [ -f "$data/postmaster.pid" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
    fi
  done
  [ -n "${CLF_KEEP_WORK:-}" ] || rm -rf "$CLF_WORK"
}
trap clf_cleanup EXIT

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_port() {
  local port=$1 i
  for i in $(seq 1 100); do
    port_free "$port" || return 0
    sleep 0.1
  done
  echo "nothing listens on port $port" >&2
  return 1
}

# The PostgreSQL major we test against.
pg_major() {
  "$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/'
}

# start_cluster [extra postgresql.conf lines...]
# CLF_PGDATA_NAME names the data directory under $CLF_WORK (pgdata) and the
# server log ($name.log, postgres.log for pgdata).  CLF_PRELOAD=0 leaves
# contact_list_fdw out of shared_preload_libraries: on PostgreSQL 15 and 16
# that is the per-backend mode; 17+ needs no preload and gets none.
start_cluster() {
  local name=${CLF_PGDATA_NAME:-pgdata} log libs=()
  log=$CLF_WORK/postgres.log
  [ "$name" = pgdata ] || log=$CLF_WORK/$name.log
  port_free "$PGPORT" || { echo "port $PGPORT is busy: set CLF_PGPORT" >&2; return 1; }
  [ "$(id -u)" -eq 0 ] && chown postgres "$CLF_WORK"
  as_pg "$PGBIN/initdb" -D "$CLF_WORK/$name" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$CLF_WORK/initdb.log" 2>&1 ||
    { cat "$CLF_WORK/initdb.log" >&2; return 1; }
  [ -n "$CLF_HAVE_PG_CRON" ] && libs+=(pg_cron)
  [ "${CLF_PRELOAD:-1}" = 1 ] && [ "$(pg_major)" -lt 17 ] && libs+=(contact_list_fdw)
  {
    echo "port = $PGPORT"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$CLF_WORK'"
    if [ ${#libs[@]} -gt 0 ]; then
      echo "shared_preload_libraries = '$(IFS=,; echo "${libs[*]}")'"
    fi
    if [ -n "$CLF_HAVE_PG_CRON" ]; then
      echo "cron.database_name = 'contrib_regression'"
      echo "cron.use_background_workers = on"
    fi
    echo "log_min_messages = debug1"
    echo "log_line_prefix = '%m [%p] '"
    echo "max_connections = 60"
    # the fault suite's PREPARE TRANSACTION case
    echo "max_prepared_transactions = 10"
    for line in "$@"; do echo "$line"; done
  } >>"$CLF_WORK/$name/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$CLF_WORK/$name" -l "$log" -w start >/dev/null ||
    { cat "$log" >&2; return 1; }
}

# start_mock [extra mock arguments...]
start_mock() {
  port_free "$CLF_MOCK_PORT" || { echo "port $CLF_MOCK_PORT is busy: set CLF_MOCK_PORT" >&2; return 1; }
  $PY "$CLF_ROOT/test/mock_wecom.py" --host 127.0.0.1 --port "$CLF_MOCK_PORT" \
    --log "$CLF_WORK/mock.log" "$@" >"$CLF_WORK/mock.out" 2>&1 &
  CLF_PIDS+=($!)
  wait_for_port "$CLF_MOCK_PORT"
}

start_proxy() {
  port_free "$CLF_PROXY_PORT" || { echo "port $CLF_PROXY_PORT is busy: set CLF_PROXY_PORT" >&2; return 1; }
  cat >"$CLF_WORK/tinyproxy.conf" <<CONF
Port $CLF_PROXY_PORT
Listen 127.0.0.1
Timeout 60
MaxClients 50
LogFile "$CLF_WORK/tinyproxy.log"
LogLevel Connect
Allow 127.0.0.1
ConnectPort $CLF_MOCK_PORT
CONF
  [ "$(id -u)" -eq 0 ] && chown postgres "$CLF_WORK/tinyproxy.conf" && echo "User postgres" >>"$CLF_WORK/tinyproxy.conf" && echo "Group postgres" >>"$CLF_WORK/tinyproxy.conf"
  /usr/bin/tinyproxy -d -c "$CLF_WORK/tinyproxy.conf" >"$CLF_WORK/tinyproxy.out" 2>&1 &
  CLF_PIDS+=($!)
  wait_for_port "$CLF_PROXY_PORT"
}

# build_and_install [--clean]: --clean rebuilds every object, so that
# $CLF_WORK/build.log holds the compiler's word on all of them (any other
# argument: only what changed).
build_and_install() {
  [ "${1:-}" = --clean ] && make -C "$CLF_ROOT" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
  make -C "$CLF_ROOT" -s PG_CONFIG="$PG_CONFIG" 2>&1 >/dev/null | tee "$CLF_WORK/build.log" >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  make -C "$CLF_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}
