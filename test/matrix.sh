#!/usr/bin/env bash
# make test-matrix: the whole suite (pg_regress, fault suite, secret check of
# the server log, a short fuzz run) on each Debian release our users run,
# each in a chroot built with debootstrap from the archive the host's own apt
# uses.  Prints one table: target, PostgreSQL, json-c, libcurl, each step.
#
#   test/matrix.sh [--targets bookworm,trixie,sid,experimental] [--readme]
#
# Targets: a Debian suite name (the host's own suite runs on the host
# itself), or "experimental": sid with PostgreSQL's newest major from
# Debian's experimental suite.  Chroots are kept in CLF_MATRIX_CACHE
# (default /var/cache/contact_list_fdw-matrix) and reused; delete one to
# build it again.  Each suite runs in a private network namespace, so it
# cannot collide with anything on the host's loopback.  --readme writes the
# table into README.md.  CLF_STEPS and CLF_FAULT_CASES (see test/run.sh)
# pass through.  Needs root (debootstrap, chroot, mount).
set -uo pipefail
# (one compound command: bash reads all of it before running any, so an edit
# during a long run cannot change that run)
{
cd "$(dirname "$0")/.."
src=$(pwd)

targets=${TARGETS:-bookworm,trixie,sid,experimental}
update_readme=
while [ $# -gt 0 ]; do
  case $1 in
    --targets) targets=${2:?--targets needs a list}; shift 2 ;;
    --targets=*) targets=${1#*=}; shift ;;
    --readme) update_readme=1; shift ;;
    *) echo "usage: $0 [--targets t1,t2,...] [--readme]" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a targets <<<"$targets"

[ "$(id -u)" -eq 0 ] || { echo "make test-matrix needs root (debootstrap, chroot, mount)" >&2; exit 1; }

cache=${CLF_MATRIX_CACHE:-/var/cache/contact_list_fdw-matrix}
logs=$cache/logs
mkdir -p "$logs"
fuzz_seconds=${CLF_FUZZ_SECONDS:-20}
# CLF_MATRIX_HOST=0: the host's own suite in a chroot too, leaving the
# host's PostgreSQL alone (for running several matrices at once)
host_suite=
[ "${CLF_MATRIX_HOST:-1}" = 0 ] || host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

for t in "${targets[@]}"; do
  case $t in
    bookworm | trixie | forky | sid | experimental) ;;
    *) echo "unknown target '$t': one of bookworm, trixie, forky, sid, experimental" >&2; exit 2 ;;
  esac
done

# The Debian archive the host's apt already uses (CLF_DEBIAN_MIRROR overrides).
debian_mirror() {
  if [ -n "${CLF_DEBIAN_MIRROR:-}" ]; then
    echo "$CLF_DEBIAN_MIRROR"
    return
  fi
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
    awk '$3 == "deb" && $2 ~ /^[a-z]+$/ { print $1; exit }'
}

# Mounts made below, undone on any exit.
mounts=()
unmount_all() {
  local m i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    mountpoint -q "$m" && { umount -R "$m" 2>/dev/null || umount -lR "$m"; }
  done
  mounts=()
}
trap unmount_all EXIT
trap 'exit 130' INT TERM

# (mounts a killed run left behind are taken over and undone too)
mount_chroot() {
  local dir=$1
  mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc" || return 1
  mounts+=("$dir/proc")
  if ! mountpoint -q "$dir/dev"; then
    # rslave: unmounting the chroot's /dev/pts must not unmount the host's
    mount --rbind /dev "$dir/dev" && mount --make-rslave "$dir/dev" || return 1
  fi
  mounts+=("$dir/dev")
}

in_chroot() {
  local dir=$1
  shift
  chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# A chroot for the target, built once: debootstrap, then apt set up to
# install packages without starting services or clusters.
make_chroot() {
  local target=$1 dir=$cache/$1 suite=$1 mirror new
  [ "$target" = experimental ] && suite=sid
  [ -f "$dir/.clf-ready" ] && return 0
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "no Debian archive in the host's apt configuration: set CLF_DEBIAN_MIRROR" >&2; return 1; }
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed" >&2; return 1; }
  new=$dir.new
  rm -rf "$new" "$dir"
  echo "debootstrap $suite into $dir"
  debootstrap --variant=minbase "$suite" "$new" "$mirror" >"$logs/$target.debootstrap.log" 2>&1 ||
    { tail -n 20 "$logs/$target.debootstrap.log" >&2; return 1; }
  # a snapshot of the archive may serve sid's Release past its Valid-Until
  echo 'Acquire::Check-Valid-Until "false";' >"$new/etc/apt/apt.conf.d/90clf-snapshot"
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
  chmod 755 "$new/usr/sbin/policy-rc.d"
  mkdir -p "$new/etc/postgresql-common"
  echo "create_main_cluster = false" >"$new/etc/postgresql-common/createcluster.conf"
  [ "$target" = experimental ] && echo "deb $mirror experimental main" >"$new/etc/apt/sources.list.d/experimental.list"
  touch "$new/.clf-ready"
  mv "$new" "$dir"
}

# The newest PostgreSQL major in experimental, installed from there: its
# packages (server, libpq, postgresql-common) pinned to experimental, the
# rest of the system (perl, say) left as sid has it.
install_experimental_postgresql() {
  local dir=$1 major
  cat >"$dir/etc/apt/preferences.d/postgresql-experimental" <<'PIN'
Package: postgresql* libpq* libecpg* libpgtypes*
Pin: release a=experimental
Pin-Priority: 500
PIN
  in_chroot "$dir" apt-get update -qq || return 1
  major=$(in_chroot "$dir" apt-cache search --names-only '^postgresql-server-dev-[0-9]+$' |
    grep -oE '^postgresql-server-dev-[0-9]+' | sed 's/.*-//' | sort -n | tail -n 1)
  [ -n "$major" ] || { echo "no PostgreSQL in experimental" >&2; return 1; }
  in_chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "postgresql-$major" "postgresql-server-dev-$major" >/dev/null
}

# Copy the working tree (tracked and untracked, not ignored) into the chroot.
copy_source() {
  local dest=$1/root/contact_list_fdw
  rm -rf "$dest"
  mkdir -p "$dest"
  git -C "$src" ls-files -z --cached --others --exclude-standard |
    (cd "$src" && xargs -0 tar -cf - --ignore-failed-read 2>/dev/null) | tar -xf - -C "$dest"
}

# Provisioning needs the network; the suite then runs without one.
provision() {
  local target=$1 dir=$cache/$1
  if [ "$target" = "$host_suite" ]; then
    test/deps.sh
    return
  fi
  make_chroot "$target" || return 1
  mount_chroot "$dir" || return 1
  copy_source "$dir"
  if [ "$target" = experimental ]; then
    install_experimental_postgresql "$dir" || return 1
  fi
  in_chroot "$dir" bash -c 'cd /root/contact_list_fdw && test/deps.sh --packaging'
}

# The sabotage entries bound to a libcurl version (test/sabotage.sh): the
# host's make sabotage skips those its libcurl does not show, so each chroot
# runs them, skipping in turn those it does not show.  Not for a run of
# chosen steps or cases.
libcurl_sabotage() {
  local ids
  [ -z "${CLF_STEPS:-}" ] && [ -z "${CLF_FAULT_CASES:-}" ] || return 0
  ids=$(awk '/^id: / { id = $2 } /^libcurl: / { print id }' "$src/test/sabotages.txt" | paste -sd' ')
  [ -n "$ids" ] && echo "test/sabotage.sh $ids || rc=1;"
}

suite_command() {
  local target=$1 dir=$cache/$1
  local env=(CLF_BENCH=0 "CLF_FUZZ_SECONDS=$fuzz_seconds")
  [ -n "${CLF_STEPS:-}" ] && env+=("CLF_STEPS=$CLF_STEPS")
  # the command is a line the caller runs again through bash: quoted
  [ -n "${CLF_FAULT_CASES:-}" ] && env+=("$(printf 'CLF_FAULT_CASES=%q' "$CLF_FAULT_CASES")")
  if [ "$target" = "$host_suite" ]; then
    echo env "${env[@]}" CLF_ISOLATE=1 test/run.sh
  else
    echo unshare --net bash -c "'ip link set lo up && exec \"\$@\"'" - \
      chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 "${env[@]}" \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      bash -c "'cd /root/contact_list_fdw && { test/run.sh; rc=\$?; CLF_THROWAWAY_SYSTEM=1 test/packaging.sh || rc=1; $(libcurl_sabotage) exit \$rc; }'"
  fi
}

versions() {
  local target=$1 dir=$cache/$1 probe
  # shellcheck disable=SC2016
  probe='cd "$1" && source test/pgversion.sh && "$(clf_pg_config)" --version | cut -d" " -f2;
         pkg-config --modversion json-c; pkg-config --modversion libcurl'
  if [ "$target" = "$host_suite" ]; then
    bash -c "$probe" - "$src"
  else
    in_chroot "$dir" bash -c "$probe" - /root/contact_list_fdw
  fi | paste -sd' '
}

# "-- step: ok" lines of a test/run.sh log, as one table cell per step
step_result() {
  local log=$1 name=$2 line
  line=$(grep -E "^-- $name: " "$log" | tail -n 1)
  case $line in
    *": ok") echo "pass" ;;
    *": FAILED") echo "**FAIL**" ;;
    *": skipped, "*) echo "skipped" ;;
    *) echo "not run" ;;
  esac
}

table=$(mktemp)
trap 'unmount_all; rm -f "$table"' EXIT
{
  echo "| target | PostgreSQL | json-c | libcurl | build | pg_regress | upgrade | dump/restore | fault suite | fault, per-backend | make demo | secrets in log | fuzz | deb | pgxn | skipped |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$table"

# Provisioning is mostly downloads: every target at once, each into its own
# log.  The suites then run one after another, since each wants both cores.
for t in "${targets[@]}"; do
  if [ "$t" != "$host_suite" ] && ! command -v debootstrap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    break
  fi
done
declare -A provisioning provisioned
for t in "${targets[@]}"; do
  : >"$logs/$t.log"
  ( provision "$t"; status=$?; unmount_all; exit "$status" ) >>"$logs/$t.log" 2>&1 &
  provisioning[$t]=$!
done
echo "provisioning ${targets[*]}"
for t in "${targets[@]}"; do
  wait "${provisioning[$t]}"
  provisioned[$t]=$?
done

failed=0
for t in "${targets[@]}"; do
  log=$logs/$t.log
  where=chroot
  [ "$t" = "$host_suite" ] && where=host
  echo "== $t ($where)"
  if [ "${provisioned[$t]}" -ne 0 ] || { [ "$where" = chroot ] && ! mount_chroot "$cache/$t" >>"$log" 2>&1; }; then
    tail -n 30 "$log"
    echo "| $t | | | | provisioning failed | | | | | | | | | | | |" >>"$table"
    failed=$((failed + 1))
    unmount_all
    continue
  fi
  read -r pg json curl <<<"$(versions "$t")"
  if [ "$where" = host ]; then
    # the packaging steps install packages: only in chroots
    for s in "deb package" "pgxn install"; do
      echo "-- $s: skipped, installs packages: CLF_MATRIX_HOST=0 runs it in a chroot" >>"$log"
    done
  fi
  start=$(date +%s)
  timeout 40m bash -c "$(suite_command "$t")" >>"$log" 2>&1
  status=$?
  echo "   $(grep -E '^[0-9]+ passed, ' "$log" | tail -n 1)$(grep -E '^(packaging|sabotage): ' "$log" | tail -n 2 | sed 's/^/; /' | paste -sd'\0' -) in $(($(date +%s) - start)) s; log: $log"
  if [ "$status" -ne 0 ]; then
    failed=$((failed + 1))
    grep -E '^(-- |failed steps)' "$log"
    grep -A 40 -E '^(diff|\+\+\+|not ok)' "$log" | head -n 80
  fi
  skips=$(sed -n -E 's/^-- (.*): skipped, (.*)$/\1: \2/p' "$log" | grep -v '^benchmark smoke run' | paste -sd';' | sed 's/;/; /g')
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$pg" "$json" "$curl" \
    "$(step_result "$log" "build without warnings")" "$(step_result "$log" "pg_regress suite")" \
    "$(step_result "$log" "upgrade paths")" "$(step_result "$log" "dump and restore")" "$(step_result "$log" "fault suite")" \
    "$(step_result "$log" "fault suite, per-backend mode")" "$(step_result "$log" "make demo")" \
    "$(step_result "$log" "no secret in the server log")" "$(step_result "$log" "page parser fuzzing")" \
    "$(step_result "$log" "deb package")" "$(step_result "$log" "pgxn install")" \
    "${skips:-none}" >>"$table"
  unmount_all
done

echo
cat "$table"
if [ -n "$update_readme" ]; then
  /usr/bin/python3 - "$table" README.md <<'PY'
import sys
table = open(sys.argv[1]).read()
path = sys.argv[2]
text = open(path).read()
begin, end = "<!-- test-matrix:begin -->\n", "<!-- test-matrix:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(path, "w").write(text[:a] + table + text[b:])
PY
  echo "README.md: matrix table updated"
fi
echo
echo "$((${#targets[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
exit
}
