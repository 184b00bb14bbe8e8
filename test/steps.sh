# The steps of a test driver (test/run.sh, test/packaging.sh): each one's
# outcome as a line "-- NAME: ok|FAILED|skipped, why", which make
# test-matrix reads back, and the counts for the closing line.
# shellcheck shell=bash

passed=0
failed=0
skipped=0
failures=()

# step NAME COMMAND...: run COMMAND, count and report it under NAME
step() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "-- $name: ok"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "-- $name: FAILED"
    # CLF_FAIL_FAST=1 (test/sabotage.sh): the first failure is the answer
    if [ -n "${CLF_FAIL_FAST:-}" ]; then
      steps_summary
      exit 1
    fi
  fi
}

# skip NAME WHY
skip() {
  skipped=$((skipped + 1))
  echo "-- $1: skipped, $2"
}

# CLF_STEPS=a,b,...: run only those steps (a developer's shortcut)
wanted() {
  [ -z "${CLF_STEPS:-}" ] || [[ ",$CLF_STEPS," == *",$1,"* ]]
}

# steps_summary [PREFIX]: the closing line; fails if any step failed
steps_summary() {
  echo
  [ ${#failures[@]} -gt 0 ] && echo "failed steps: ${failures[*]}"
  echo "${1:+$1: }$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}
