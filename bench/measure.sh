# Sourced by bench/run.sh and bench/multi_corp.sh: how a benchmark takes,
# pairs and sums up its measurements.  The caller sets BENCH_NAME (for its
# messages), RAW and PAIRS (the files the figures go to) and PSQL.

fail() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { echo "$BENCH_NAME: $*" >&2; }
# number NAME VALUE: VALUE must be a (decimal) number, or the benchmark fails
number() { [[ "$2" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || fail "$1 is not a number: '$2'"; }
calc() { awk "BEGIN {printf \"$1\", $2}"; }

# record NAME MS RSS_KB: one measurement, into the raw file
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"; }
# pair NAME REF_MS MS: a measurement and its reference, taken one right
# after the other; their ratio MS / REF_MS goes into the pairs file
pair() {
  number "the reference of $1" "$2"
  number "the time of $1" "$3"
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(calc "%.6f" "$3 / $2")" >>"$PAIRS"
}

# pg_measure SQL: runs SQL (\timing) in a fresh connection, then reads that
# backend's VmHWM.  Sets M_MS, M_HWM (kB) and M_OUT (the statement's output).
pg_measure() {
  local out
  out=$("$PSQL" -X -At -v ON_ERROR_STOP=1 2>&1 <<SQL
\\timing on
$1
\\timing off
SELECT 'HWM ' || (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\\s*(\\d+)'))[1];
SQL
  ) || { echo "$out" >&2; return 1; }
  M_MS=$(echo "$out" | awk '/^Time: /{print $2; exit}')
  M_HWM=$(echo "$out" | awk '/^HWM /{print $2}')
  M_OUT=$(echo "$out" | grep -v -e '^Time: ' -e '^HWM ' -e '^Timing is ')
  [ -n "$M_MS" ] && [ -n "$M_HWM" ] || { echo "$out" >&2; return 1; }
}

quiet_sql() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# median NAME COLUMN: of that measurement's column in the raw file
median() { awk -F'\t' -v k="$1" -v c="$2" '$1 == k {print $c}' "$RAW" | sort -g |
  awk '{v[NR] = $1} END {if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
maxof() { awk -F'\t' -v k="$1" -v c="$2" '$1 == k {print $c}' "$RAW" | sort -g | tail -1; }
# pairstat NAME: "median min max" of that pair's ratios
pairstat() { awk -F'\t' -v k="$1" '$1 == k {print $4}' "$PAIRS" | sort -g |
  awk '{v[NR] = $1} END {if (NR == 0) exit 1; print ((NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR]}'; }
verdict() { if awk "BEGIN {exit !($1)}"; then echo PASS; else echo MISS; fi; }
mb() { calc "%.1f MB" "$1 / 1024"; }
