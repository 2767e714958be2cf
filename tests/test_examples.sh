#!/bin/sh
# Runs the examples as a user would. usage: test_examples.sh BUILD_DIR DATA_DIR
#   RUN     prefix for running binaries (emulation, wine); the Python test is skipped with it
#   EXE     the binaries' file name suffix (".exe" for Windows)
#   CPP     the C++ example binary, empty when it was not built
#   PYTHON  python3 to run the binding's test with, empty to skip it
set -u
build=$1
data=$2
RUN=${RUN:-}
EXE=${EXE:-}
CPP=${CPP:-}
PYTHON=${PYTHON:-}
bpe="$data/v3_f32_bpe.gguf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL test_examples.sh: $*" >&2; }

# dsv3-simple: prompt echoed, then generated text; a model without a tokenizer fails clearly
if $RUN "$build/dsv3-simple$EXE" "$bpe" "Hello there" 12 >"$tmp/out" 2>"$tmp/err" &&
   grep -q '^Hello there' "$tmp/out" && grep -Eq '^[0-9]+ tokens, stopped by' "$tmp/err"; then ok
else bad "dsv3-simple: $(cat "$tmp/err")"; fi
# its last line, on stderr, starts a line of its own in a file shared with stdout
if $RUN "$build/dsv3-simple$EXE" "$bpe" "Hello there" 12 >"$tmp/both" 2>&1 &&
   grep -Eq '^[0-9]+ tokens, stopped by' "$tmp/both"; then ok
else bad "dsv3-simple's last line: $(cat "$tmp/both")"; fi
if $RUN "$build/dsv3-simple$EXE" "$data/v3_f32.gguf" >/dev/null 2>"$tmp/err"; then bad "dsv3-simple without a tokenizer"
elif grep -q 'unsupported' "$tmp/err"; then ok; else bad "dsv3-simple message: $(cat "$tmp/err")"; fi

# dsv3-chat, driven through a pipe. A conversation saved in one process resumes
# in another: the next reply is the same, and so is the whole state after it
# (tokens, KV cache, next-token logits, generator), byte for byte.
chat() { $RUN "$build/dsv3-chat$EXE" -m "$bpe" -n 12 "$@"; }
for temp in 0 0.8; do
    printf 'Hi there\n/save %s\nHow are you?\n/save %s\n' "$tmp/turn1" "$tmp/a2" |
        chat --temp $temp -s "Be brief." >"$tmp/a.out" 2>"$tmp/a.err"
    printf '/load %s\nHow are you?\n/save %s\n' "$tmp/turn1" "$tmp/b2" |
        chat --temp $temp >"$tmp/b.out" 2>"$tmp/b.err"
    if [ -s "$tmp/a2" ] && cmp -s "$tmp/a2" "$tmp/b2"; then ok; else bad "temp $temp: resumed state differs"; fi
    size=$(wc -c <"$tmp/b.out")
    if [ "$size" -gt 1 ] && tail -c "$size" "$tmp/a.out" | cmp -s - "$tmp/b.out"; then ok
    else bad "temp $temp: resumed reply differs"; fi
    if [ "$(grep -c 'tok/s' "$tmp/a.err")" -eq 2 ] && grep -q 'loaded' "$tmp/b.err"; then ok
    else bad "temp $temp: stderr $(cat "$tmp/a.err" "$tmp/b.err")"; fi
done
# /reset forgets the conversation: the same greedy reply to the same first line
printf 'Hello\n/reset\nHello\n' | chat --temp 0 >"$tmp/r.out" 2>"$tmp/r.err"
if [ "$(wc -l <"$tmp/r.out")" -ge 2 ] && [ "$(sed -n 1p "$tmp/r.out")" = "$(sed -n 2p "$tmp/r.out")" ] &&
   grep -q 'cleared' "$tmp/r.err"; then ok; else bad "/reset: $(cat "$tmp/r.out")"; fi
# a bad /load reports its error and the session goes on; so does an unknown command
printf '/load %s\n/what\nHello\n' "$tmp/no-such-state" | chat --temp 0 >"$tmp/e.out" 2>"$tmp/e.err"
if [ $? -eq 0 ] && grep -q 'input/output error' "$tmp/e.err" && grep -q 'commands:' "$tmp/e.err" &&
   grep -q 'tok/s' "$tmp/e.err"; then ok; else bad "chat errors: $(cat "$tmp/e.err")"; fi
if $RUN "$build/dsv3-chat$EXE" -m "$data/v3_f32.gguf" </dev/null >/dev/null 2>&1; then bad "chat without a tokenizer"
else ok; fi

# C++: the wrapper generates, and a restored state replays the same reply
if [ -n "$CPP" ]; then
    if $RUN "$CPP" "$bpe" "Tell me a story." 16 >"$tmp/cpp.out" 2>"$tmp/cpp.err" &&
       grep -q 'replay identical' "$tmp/cpp.err"; then ok; else bad "dsv3-cpp: $(cat "$tmp/cpp.err")"; fi
    if $RUN "$CPP" "$tmp/no-such-model.gguf" >/dev/null 2>"$tmp/cpp.err"; then bad "dsv3-cpp with no model"
    elif grep -q 'dsv3 error -3: input/output error' "$tmp/cpp.err"; then ok; else bad "dsv3-cpp: $(cat "$tmp/cpp.err")"; fi
else
    echo "note: no C++ compiler for this target, skipping the C++ example"
fi

# Python: the ctypes binding's own tests, against this build's shared library
if [ -n "$PYTHON" ] && [ -z "$RUN" ]; then
    lib="$build/libdsv3.so"
    # a sanitizer build needs its runtimes loaded first (leaks are Python's own)
    preload=$(ldd "$lib" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { printf "%s ", $3 }')
    if LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 DSV3_LIB="$lib" \
       "$PYTHON" examples/python/test_dsv3.py >"$tmp/py.out" 2>&1; then ok
    else bad "python binding: $(tail -n 20 "$tmp/py.out")"; fi
    if DSV3_LIB="$lib" LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 \
       "$PYTHON" examples/python/generate.py "$bpe" "Hi" 8 >"$tmp/py.out" 2>"$tmp/py.err" &&
       grep -q '^Hi' "$tmp/py.out" && grep -Eq 'tokens, stop reason [13]$' "$tmp/py.err"; then ok
    else bad "generate.py: $(cat "$tmp/py.err")"; fi
else
    echo "note: python3 not found (or emulated run), skipping the Python binding's test"
fi

echo "test_examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
