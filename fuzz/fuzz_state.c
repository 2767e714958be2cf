/* libFuzzer target: arbitrary bytes restored as a context state
 * (dsv3_context_state_load) into a context of tests/data/v3_f32.gguf; when the
 * restore succeeds the context must still run. A refused state must leave the
 * context unchanged. The input is a state without its trailing checksum: the
 * harness appends the right one half of the time, so mutations reach the
 * parser instead of stopping at the checksum.
 *
 *   make fuzz && build/fuzz_state fuzz/corpus/state
 *
 * DSV3_FUZZ_MODEL overrides the model (default tests/data/v3_f32.gguf).
 */
#include "dsv3.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static dsv3_model *model; /* loaded once: the fuzzer calls from one thread */
static dsv3_context *ctx;

static void fuzz_setup(void) {
    const char *path = getenv("DSV3_FUZZ_MODEL");
    if (dsv3_model_load(path ? path : "tests/data/v3_f32.gguf", NULL, &model, NULL, 0)) abort();
    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    cp.n_ctx = 16;
    cp.n_batch = 4;
    cp.n_threads = 1;
    if (dsv3_context_create(model, &cp, &ctx)) abort();
}

/* FNV-1a 64, the state format's checksum */
static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t input_size);
int LLVMFuzzerTestOneInput(const uint8_t *input, size_t input_size) {
    if (!model) fuzz_setup();
    uint8_t *data = malloc(input_size + 8);
    if (!data) return 0;
    memcpy(data, input, input_size);
    size_t size = input_size;
    if (input_size % 2 == 0) {
        uint64_t h = fnv1a(input, input_size);
        for (int i = 0; i < 8; i++) data[size++] = (uint8_t)(h >> (8 * i));
    }
    dsv3_context_rewind(ctx, 0);
    const int32_t prefix[] = {5, 6};
    if (dsv3_prefill(ctx, prefix, 2, NULL)) abort();
    int32_t st = dsv3_context_state_load(ctx, data, size);
    if (st != DSV3_OK) {
        /* refused: nothing changed */
        if (dsv3_context_position(ctx) != 2 || dsv3_context_tokens(ctx)[1] != 6) abort();
        free(data);
        return 0;
    }
    free(data);
    if (dsv3_context_position(ctx) > dsv3_context_n_ctx(ctx)) abort();
    const float *logits = NULL;
    st = dsv3_step(ctx, 1, &logits);
    if (st != DSV3_OK && st != DSV3_ERR_CONTEXT_FULL) abort();
    return 0;
}
