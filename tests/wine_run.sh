#!/bin/sh
# Runs a Windows test program under wine (CI's Windows stage: RUN="sh
# tests/wine_run.sh"), and runs it again, up to twice, when wine itself
# failed: once in a while a program dies at start with "wine client error:
# ..." (its wineserver connection) or prints nothing at all, which is no
# failure of the program. A program's own failures (it printed something)
# are passed on at once. Its output is held until it ends, then written out.
out=$(mktemp) err=$(mktemp)
try=1
while :; do
    wine "$@" >"$out" 2>"$err"
    rc=$?
    if [ "$try" -lt 3 ] && [ "$rc" -ne 0 ] &&
       { grep -q -e '^wine client error' -e '^wine: ' -e '^wineserver: ' "$err" || { [ ! -s "$out" ] && [ ! -s "$err" ]; }; }; then
        echo "wine_run: wine failed (status $rc: $(head -n 1 "$err")), running $1 again" >&2
        try=$((try + 1))
        continue
    fi
    break
done
cat "$out"
cat "$err" >&2
rm -f "$out" "$err"
exit "$rc"
