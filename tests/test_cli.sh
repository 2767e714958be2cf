#!/bin/sh
# Tests of build/dsv3 as a user runs it. usage: test_cli.sh DSV3_BINARY DATA_DIR
set -u
bin=$1
# RUN: a prefix for running the binaries, e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu"
# or "wine"; EXE: their file name suffix (".exe" for Windows)
RUN=${RUN:-}
EXE=${EXE:-}
data=$2
helper=$(dirname "$bin")/test_dsv3$EXE
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL test_cli.sh: $*" >&2; }

for name in v3_f32 v3_legacy_bf16 v2lite_f16 v3_256x_q8_0; do
    tokens=$($RUN "$helper" --golden-tokens "$data/$name.golden")
    n=$(echo "$tokens" | tr ',' '\n' | wc -l)
    for mode in batch step; do
        # --float-act: exact products, as the reference computes them
        if $RUN "$bin" -m "$data/$name.gguf" --tokens "$tokens" -n 4 --prefill $mode --float-act \
               --dump-logits "$tmp/$name.$mode" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "$name $mode exit status"; fi
        cp "$tmp/out" "$tmp/$name.$mode.ids"
        # the prompt's logits match the golden; 4 generated positions follow
        if $RUN "$helper" --compare-dump "$tmp/$name.$mode" "$data/$name.golden" "$n" >/dev/null; then ok; else bad "$name $mode logits"; fi
        size=$(wc -c <"$tmp/$name.$mode")
        if [ "$size" -eq $(( (n + 4) * 320 * 4 )) ]; then ok; else bad "$name $mode dump has $size bytes"; fi
        if grep -Eq '^[0-9]+,[0-9]+,[0-9]+,[0-9]+$' "$tmp/out"; then ok; else bad "$name $mode printed '$(cat "$tmp/out")'"; fi
        if grep -q 'tok/s' "$tmp/err" && grep -q 'KV cache' "$tmp/err"; then ok; else bad "$name $mode report line"; fi
    done
    # batch prefill (attention in the decompressed form) and step-by-step
    # (absorbed) both match the golden above, and continue with the same tokens
    if cmp -s "$tmp/$name.batch.ids" "$tmp/$name.step.ids"; then ok; else bad "$name batch and step continue differently"; fi
done
# the default 8-bit integer products of Q8_0 run in both modes and differ from
# the exact products (their accuracy is test_quantize's)
for mode in batch step; do
    $RUN "$bin" -m "$data/v3_256x_q8_0.gguf" --tokens "$tokens" -n 4 --prefill $mode \
        --dump-logits "$tmp/int.$mode" >/dev/null 2>&1
    size=$(wc -c <"$tmp/int.$mode")
    if [ "$size" -eq $(( (n + 4) * 320 * 4 )) ]; then ok; else bad "integer $mode dump has $size bytes"; fi
done
if cmp -s "$tmp/int.batch" "$tmp/v3_256x_q8_0.batch"; then bad "--float-act changed nothing"; else ok; fi

# a Q8_0 latent cache: the report line names its size (204 bytes a position
# here: 3 layers x 2 blocks of 34, latent and rope key), and the prompt's
# logits differ from the F32 cache's
tokens=$($RUN "$helper" --golden-tokens "$data/v3_f32.golden")
n=$(echo "$tokens" | tr ',' '\n' | wc -l)
if $RUN "$bin" -m "$data/v3_f32.gguf" --tokens "$tokens" -n 2 --kv-type q8_0 --float-act \
       --dump-logits "$tmp/q8kv" >/dev/null 2>"$tmp/err"; then ok; else bad "--kv-type q8_0 exit status"; fi
if grep -q 'KV cache 204 bytes/token' "$tmp/err"; then ok; else bad "--kv-type q8_0 report: $(cat "$tmp/err")"; fi
if [ "$(wc -c <"$tmp/q8kv")" -eq $(( (n + 2) * 320 * 4 )) ] && ! cmp -s -n $((n * 320 * 4)) "$tmp/q8kv" "$tmp/v3_f32.batch"; then ok
else bad "--kv-type q8_0 logits"; fi
if $RUN "$bin" -m "$data/v3_f32.gguf" --tokens 1,2 --kv-type q4_0 >/dev/null 2>&1; then bad "--kv-type q4_0 accepted"
else ok; fi

# llama.cpp-style routing follows the no-groups golden
tokens=$($RUN "$helper" --golden-tokens "$data/v3_256x_q8_0.golden")
n=$(echo "$tokens" | tr ',' '\n' | wc -l)
$RUN "$bin" -m "$data/v3_256x_q8_0.gguf" --tokens "$tokens" -n 0 --no-groups --float-act --dump-logits "$tmp/ng" 2>/dev/null
if $RUN "$helper" --compare-dump "$tmp/ng" "$data/v3_256x_q8_0.nogroups.golden" "$n" >/dev/null; then ok; else bad "--no-groups logits"; fi
if $RUN "$helper" --compare-dump "$tmp/ng" "$data/v3_256x_q8_0.golden" "$n" >/dev/null 2>&1; then bad "grouped and ungrouped routing agree"; else ok; fi

# expert-load telemetry: one row per MoE layer; the bias switch changes routing
$RUN "$bin" -m "$data/v3_256x_q8_0.gguf" --tokens "$tokens" -n 0 --expert-stats 2>"$tmp/stats" >/dev/null
$RUN "$bin" -m "$data/v3_256x_q8_0.gguf" --tokens "$tokens" -n 0 --expert-stats --no-expert-bias 2>"$tmp/stats2" >/dev/null
if grep -Eq '^ +1 +1\.75 ' "$tmp/stats"; then ok; else bad "expert stats: $(cat "$tmp/stats")"; fi
if ! cmp -s "$tmp/stats" "$tmp/stats2"; then ok; else bad "--no-expert-bias changed nothing"; fi

# seeded sampling is reproducible
$RUN "$bin" -m "$data/v3_f32.gguf" --tokens 1,2,3 -n 8 --temp 1.0 --seed 7 >"$tmp/s1" 2>/dev/null
$RUN "$bin" -m "$data/v3_f32.gguf" --tokens 1,2,3 -n 8 --temp 1.0 --seed 7 >"$tmp/s2" 2>/dev/null
if cmp -s "$tmp/s1" "$tmp/s2" && grep -Eq '^([0-9]+,){7}[0-9]+$' "$tmp/s1"; then ok; else bad "seeded sampling"; fi

# dsv3-quantize: a converted model loads and runs; bad arguments fail with a message
quantize=$(dirname "$bin")/dsv3-quantize$EXE
if $RUN "$quantize" "$data/v3_f32.gguf" "$tmp/q8.gguf" q8_0 >/dev/null 2>&1 &&
   $RUN "$bin" -m "$tmp/q8.gguf" --tokens 1,2,3 -n 4 >/dev/null 2>&1; then ok; else bad "dsv3-quantize q8_0"; fi
if $RUN "$quantize" "$data/v3_f32.gguf" "$tmp/q4km.gguf" Q4_K_M >/dev/null 2>&1 &&
   $RUN "$bin" -m "$tmp/q4km.gguf" --tokens 1,2,3 -n 4 >/dev/null 2>&1; then ok; else bad "dsv3-quantize Q4_K_M"; fi
if $RUN "$quantize" "$data/v3_f32.gguf" "$tmp/iq4xs.gguf" iq4_xs >/dev/null 2>&1 &&
   $RUN "$bin" -m "$tmp/iq4xs.gguf" --tokens 1,2,3 -n 4 >/dev/null 2>&1; then ok; else bad "dsv3-quantize iq4_xs"; fi
# a type that needs an importance matrix is refused, saying so
if $RUN "$quantize" "$data/v3_f32.gguf" "$tmp/x.gguf" iq2_xxs >/dev/null 2>"$tmp/err"; then bad "iq2_xxs written"
elif grep -q "importance matrix" "$tmp/err" && [ ! -e "$tmp/x.gguf" ]; then ok
else bad "dsv3-quantize iq2_xxs: no importance-matrix message"; fi
# paths are UTF-8 on every platform (Windows: through the wide-char calls)
utf8="$tmp/modèle 模型"
mkdir "$utf8"
cp "$data/v3_f32.gguf" "$utf8/f32.gguf"
if $RUN "$quantize" "$utf8/f32.gguf" "$utf8/q8 ✓.gguf" q8_0 >/dev/null 2>&1 &&
   $RUN "$bin" -m "$utf8/q8 ✓.gguf" --tokens 1,2,3 -n 4 --dump-logits "$utf8/logits ✓" >/dev/null 2>&1 &&
   [ -s "$utf8/logits ✓" ]; then ok; else bad "UTF-8 paths"; fi
for args in "" "$data/v3_f32.gguf $tmp/x.gguf q9_9" "$tmp/none.gguf $tmp/x.gguf q8_0"; do
    # shellcheck disable=SC2086
    if $RUN "$quantize" $args >/dev/null 2>"$tmp/err"; then bad "dsv3-quantize $args succeeded"
    elif [ -s "$tmp/err" ] && [ ! -e "$tmp/x.gguf" ]; then ok
    else bad "dsv3-quantize $args: no message or a partial file"; fi
done

# bad arguments and bad files: a message on stderr and a non-zero exit
expect_failure() {
    if $RUN "$bin" "$@" >"$tmp/out" 2>"$tmp/err"; then bad "succeeded: $*"
    elif [ -s "$tmp/err" ]; then ok
    else bad "no message: $*"; fi
}
expect_failure
expect_failure -m "$data/v3_f32.gguf" --tokens 1,x
expect_failure -m "$data/v3_f32.gguf" --tokens 1,999
expect_failure -m "$data/v3_f32.gguf" --bogus
expect_failure -m "$data/v3_f32.gguf" -n
expect_failure -m "$data/v3_f32.gguf" --prefill sideways
expect_failure -m "$tmp/does-not-exist.gguf" --tokens 1
expect_failure -m "$data/v3_f32.golden" --tokens 1
head -c 1000 "$data/v3_f32.gguf" >"$tmp/trunc.gguf"
expect_failure -m "$tmp/trunc.gguf" --tokens 1
expect_failure -m "$data/v3_f32.gguf" --tokens 1 --dump-logits "$tmp/no/such/dir/x"
# the report on stderr starts a line of its own when it shares a file with the text
if $RUN "$bin" -m "$data/v3_f32_bpe.gguf" --tokens 1,2,3 -n 6 >"$tmp/both" 2>&1 &&
   grep -q '^dsv3: prompt 3 tokens' "$tmp/both"; then ok; else bad "report line: $(cat "$tmp/both")"; fi
# a full context stops generation with a message, not a failure
if $RUN "$bin" -m "$data/v3_f32.gguf" --tokens 1,2 -n 10 -c 4 >"$tmp/out" 2>"$tmp/err" && grep -q 'context full' "$tmp/err"; then ok; else bad "context full"; fi

# ---- the tokenizer path ----
tok=$(dirname "$bin")/test_tokenizer$EXE
vocab="$data/deepseek-v3-vocab.gguf"
expect_ids() { # expected ids, then dsv3 arguments
    want=$1
    shift
    got=$($RUN "$bin" "$@" 2>"$tmp/err")
    if [ "$got" = "$want" ]; then ok; else bad "$* printed '$got', want '$want' ($(cat "$tmp/err"))"; fi
}
expect_ids 0,19923,2058 -m "$vocab" --tokenize -p "Hello world"
expect_ids 19923,2058 -m "$vocab" --tokenize -p "Hello world" --no-bos
expect_ids 128803,6366 -m "$vocab" --tokenize -p "<｜User｜>hi" --no-bos
expect_ids 30,28217,6756,28217,32,6366 -m "$vocab" --tokenize -p "<｜User｜>hi" --no-bos --no-special
expect_ids 0,128803,23166,128804 -m "$vocab" --tokenize -p "Hi" --chat
expect_ids 128803,23166,128804 -m "$vocab" --tokenize -p "Hi" --chat --no-bos
expect_ids 0,128803,23166,30,28217,6756,28217,32,128804 -m "$vocab" --tokenize -p "Hi<｜User｜>" --chat --no-special
expect_ids 0,128803,23166,128803,128804 -m "$vocab" --tokenize -p "Hi<｜User｜>" --chat
# -f takes the file's bytes exactly: CR, tabs, trailing spaces and newline kept
# (ids from the JS reference tokenizer)
printf 'a  b\r\n\tc \n' >"$tmp/prompt.txt"
expect_ids 67,223,291,204,201,28544,539 -m "$vocab" --tokenize -f "$tmp/prompt.txt" --no-bos
printf '' >"$tmp/empty.txt"
expect_ids 0 -m "$vocab" --tokenize -f "$tmp/empty.txt"
expect_failure -m "$vocab" --tokenize
expect_failure -m "$vocab" --tokenize -f "$tmp/no-such-file"
expect_failure -m "$vocab" -p "needs weights"
expect_failure -m "$data/v3_f32.gguf" -p "the tiny test models have no tokenizer"
expect_failure -m "$data/v3_f32.gguf" --tokens 1 -p "both"

# v3_f32_bpe.gguf: v3_f32's weights with a small real BPE vocabulary
bpe="$data/v3_f32_bpe.gguf"
expect_ids 0,271,279,48,262,275 -m "$bpe" --tokenize -p "hello there, the dog"
tokens=$($RUN "$helper" --golden-tokens "$data/v3_f32.golden")
n=$(echo "$tokens" | tr ',' '\n' | wc -l)
$RUN "$bin" -m "$bpe" --tokens "$tokens" -n 0 --dump-logits "$tmp/bpe" 2>/dev/null
if $RUN "$helper" --compare-dump "$tmp/bpe" "$data/v3_f32.golden" "$n" >/dev/null; then ok; else bad "bpe model logits"; fi
# generated text streams out and is the decoding of the ids the same weights pick
ids=$($RUN "$bin" -m "$data/v3_f32.gguf" --tokens 1,2,3 -n 24 2>/dev/null)
$RUN "$bin" -m "$bpe" --tokens 1,2,3 -n 24 >"$tmp/text" 2>/dev/null
$RUN "$tok" --decode "$bpe" "$ids" >"$tmp/want"
if cmp -s "$tmp/text" "$tmp/want"; then ok; else bad "streamed text differs from the decoded ids $ids"; fi
if $RUN "$bin" -m "$bpe" -p "the cat" -n 8 >"$tmp/out" 2>"$tmp/err" && grep -q 'prompt 3 tokens' "$tmp/err"; then ok
else bad "text prompt on the bpe model: $(cat "$tmp/err")"; fi

echo "test_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
