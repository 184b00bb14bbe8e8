#!/usr/bin/env bash
# check_secrets.sh SERVER_LOG...: fails if any credential the suite uses
# reaches a PostgreSQL server log (every level down to DEBUG1 is logged
# during the suite).  test/run.sh passes every server log the suite made:
# its own cluster's, the per-backend cluster's, the fault suite's extra
# clusters' and the demo's; never the mock's, which is sent the secrets.
#
# The patterns are every secret the suite uses, the wrong ones too (a
# wrong secret is still somebody's secret, and the path that reports it is
# the one most likely to quote it):
#   corp secrets   secret-ok, secret-ok2 (mock_wecom.py's good ones),
#                  secret-wrong (transport.sql), Wr0ng-S3cret-Value
#                  (tokens.sql), Wr0ng-Secret (fault suite), s3cr3t
#                  (options.sql), bench-wrong-secret (test/run.sh),
#                  secret-echo (errors.sql: the mock quotes its request);
#                  every form of them begins so: escaped, in lowercase hex,
#                  escaped twice or more, as JSON ("\/" for "/"); and the end of
#                  secret-ok/+=3 and secret-echo/+=3 in each form, should
#                  the beginning alone be hidden: /+=3 %2F%2B%3D3 %2f%2b%3d3
#                  %252F%252B%253D3 %252f%252b%253d3 \/+=3, in any case and
#                  escaped any number of times; secret-echo-more/+=3... as
#                  JSON escapes its letters (the mock's "\u0073e\u0063...",
#                  "\u0073\u0065...") and its end so ("\u002F+\u003d3",
#                  "\u002F\u002b\u003D", "\u0025\u0032\u0046");
#                  secret-echo-json/+=3 with every byte of its JSON
#                  escapes or of its escaped form percent-encoded
#                  ("%5C%75%30%30%37%33...", "%73%65%63%72%65%74...%25%32%46");
#                  secret-echo-html a+b&<>"'/é as HTML character references
#                  (its "s" as "&#115;" or "&#x73;", leading zeros too, and
#                  so put into a URL, "%26%23115%3B") and its end so, should
#                  the beginning alone be hidden: form-encoded "+a%2Bb",
#                  HTML-escaped "a+b&amp;&lt;", percent-encoded in a page
#                  "a&#37;2Bb"
#   tokens         tok-... (issued by the mock), fixed-... (set in user
#                  mappings), t0k3n (options.sql)
#   proxy          pw-hunter2, pw-hunter2-wrong (security.sql, fault suite)
#                  and their Basic-auth form: base64 of "squid:pw-hunter2..."
#                  begins c3F1aWQ6cHctaHVudGVy whatever follows, and of
#                  "a:pw-hunter2..." (the fault suite's one-letter proxy_user)
#                  YTpwdy1odW50ZXIy, and of "a b:pw-hunter..." (its proxy_user
#                  with a space) YSBiOnB3LWh1bnRl
#
# A failed statement is logged with its text (log_min_error_statement):
# the STATEMENT entries quote what the test typed, e.g. CREATE SERVER ...
# OPTIONS (corp_secret 's3cr3t') refused by the validator, which is the
# user's own text and not something contact_list_fdw wrote, so they are
# left out (an entry runs from its "%m [%p] " prefix to the next one).
set -u
[ $# -ge 1 ] || { echo "usage: check_secrets.sh SERVER_LOG..." >&2; exit 2; }
PATTERN='secret-ok|secret-wrong|Wr0ng-S3cret-Value|Wr0ng-Secret|s3cr3t|bench-wrong-secret|secret-echo'
PATTERN+='|tok-[A-Za-z0-9]+-[0-9]+|fixed-[A-Za-z0-9]+|t0k3n'
PATTERN+='|/\+=3|%(25)*2[Ff]%(25)*2[Bb]%(25)*3[Dd]3'
PATTERN+='|\\u0073(e|\\u0065)|(/|\\u002[Ff])(\+|\\u002[Bb])(=|\\u003[Dd])|\\u0025\\u0032\\u0046'
PATTERN+='|%5C%75%30%30|%73%65%63%72%65%74|%25%32%46'
PATTERN+='|&#(0*115|[xX]0*73);|%26%23(115|[xX]73)%3B|\+a%2Bb|a\+b(&|&amp;)(<|&lt;)|a&#37;2Bb'
PATTERN+='|pw-hunter2|c3F1aWQ6cHctaHVudGVy|YTpwdy1odW50ZXIy|YSBiOnB3LWh1bnRl'
status=0
for log in "$@"; do
  [ -s "$log" ] || { echo "no server log at $log" >&2; status=1; continue; }
  found=$(awk '
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:.]+ [A-Z]+ \[[0-9]+\] / {
      stmt = ($0 ~ /^[^[]*\[[0-9]+\] STATEMENT: /)
    }
    !stmt { print FILENAME ":" FNR ": " $0 }' "$log" | grep -E "$PATTERN")
  if [ -n "$found" ]; then
    echo "$found"
    echo "a secret or token appears in the server log $log (above)" >&2
    status=1
  else
    echo "checked $(wc -l <"$log") lines of $log: no secret or token"
  fi
done
exit $status
