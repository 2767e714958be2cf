#!/bin/sh
# The README's command synopses list the options each program's --help lists
# (dsv3, dsv3-quantize, dsv3-chat and, but on Windows, dsv3-server).
# usage: check_docs.sh BUILD_DIR README
#   RUN  prefix for running the binaries (emulation, wine); EXE  their suffix
#
# Options are the words starting with - or -- in the help text and in the
# README's synopsis of the program: its `build/NAME ... [...]` line and the
# lines of [...] that continue it (examples of a command, without brackets,
# are not synopses). A long name that --help pairs with a short one
# ("-m, --model") counts as the short one; -h/--help are left out.
set -u
build=$1
readme=$2
RUN=${RUN:-}
EXE=${EXE:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
# dsv3-server is not built for Windows (it needs POSIX sockets).
servers=dsv3-server
[ "$EXE" = .exe ] && servers=

# Option words of stdin, one per line, with each alias mapped to its short
# name through the pairs in $tmp/aliases ("--model -m").
options() {
    awk -v aliases="$tmp/aliases" '
        BEGIN { while ((getline pair < aliases) > 0) { split(pair, f, " "); short[f[1]] = f[2] } }
        {
            line = " " $0
            while (match(line, /[][ |,(]--?[a-z][a-z0-9-]*/)) {
                word = substr(line, RSTART + 1, RLENGTH - 1)
                line = substr(line, RSTART + RLENGTH)
                if (word in short) word = short[word]
                if (word != "-h" && word != "--help") print word
            }
        }' | sort -u
}

for name in dsv3 dsv3-quantize dsv3-chat $servers; do
    if ! $RUN "$build/$name$EXE" --help 2>&1 | tr -d '\r' >"$tmp/help"; then
        failed=$((failed + 1))
        echo "FAIL check_docs.sh: $name --help failed" >&2
        continue
    fi
    sed -n 's/.*[ [|,]\(-[a-z]\), \(--[a-z][a-z0-9-]*\).*/\2 \1/p' "$tmp/help" >"$tmp/aliases"
    options <"$tmp/help" >"$tmp/help.options"
    awk -v cmd="build/$name" '
        $1 == cmd && / \[/ { on = 1; print; next }
        on && /^ *\[/ { print; next }
        { on = 0 }' "$readme" | options >"$tmp/readme.options"
    if [ ! -s "$tmp/readme.options" ]; then
        failed=$((failed + 1))
        echo "FAIL check_docs.sh: $readme has no synopsis of build/$name" >&2
    elif diff "$tmp/help.options" "$tmp/readme.options" >"$tmp/diff"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL check_docs.sh: $name: --help (<) and $readme (>) list different options:" >&2
        grep '^[<>]' "$tmp/diff" >&2
    fi
done

echo "check_docs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
