#!/usr/bin/env bash
# Fails if any credential the suite used reaches the server log (every
# level down to DEBUG1 is logged during the suite).  The patterns are the
# mock's secrets, the tokens it issues or accepts, and the proxy password
# of sql/security.sql and the fault suite.
set -u
log=${1:?usage: check_secrets.sh SERVER_LOG}
[ -s "$log" ] || { echo "no server log at $log" >&2; exit 1; }
if grep -n -E 'secret-ok|tok-[A-Za-z0-9]+-[0-9]+|fixed-[A-Za-z0-9]+|pw-hunter2' "$log"; then
  echo "a secret or token appears in the server log above" >&2
  exit 1
fi
echo "checked $(wc -l <"$log") log lines: no secret or token"
