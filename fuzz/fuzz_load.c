/* libFuzzer target: load arbitrary bytes as a GGUF model from memory and, when
 * that succeeds, run three tokens through a small context.
 *
 *   make fuzz          clang -fsanitize=fuzzer,address,undefined -> build/fuzz_load
 *   make fuzz-replay   the corpus through fuzz/driver.c under ASan + UBSan (gcc or clang)
 *
 * Allocations go through the library's hooks and are capped (FUZZ_ALLOC_CAP), so
 * a header asking for gigabytes gets DSV3_ERR_OUT_OF_MEMORY instead of ending the
 * run; the largest request is still visible with FUZZ_REPORT_ALLOC=1, and
 * FUZZ_VERBOSE=1 prints each input's load status.
 */
#include "dsv3.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_ALLOC_CAP
#define FUZZ_ALLOC_CAP ((size_t)256 << 20)
#endif

static size_t largest_request;

static void *capped_alloc(void *user, size_t size) {
    (void)user;
    if (size > largest_request) largest_request = size;
    return size > FUZZ_ALLOC_CAP ? NULL : malloc(size);
}

static void capped_free(void *user, void *p) {
    (void)user;
    free(p);
}

/* Every message must be a NUL-terminated string: strlen lets ASan check it. */
static void check_log(void *user, int32_t level, const char *message) {
    (void)user;
    if (!message || level < DSV3_LOG_ERROR || level > DSV3_LOG_INFO) abort();
    volatile size_t n = strlen(message);
    (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    mp.alloc = capped_alloc;
    mp.free_fn = capped_free;
    mp.log = check_log;
    /* both routing rules, chosen by the input, so both get explored */
    mp.expert_groups = size % 2 ? DSV3_GROUPS_FILE_ONLY : DSV3_GROUPS_AUTO;
    char message[256];
    memset(message, 'x', sizeof message);
    dsv3_model *model = NULL;
    largest_request = 0;
    int32_t st = dsv3_model_load_memory(data, size, &mp, &model, message, sizeof message);
    /* contract: a status with a message; a model exactly when OK */
    if (!memchr(message, '\0', sizeof message)) abort();
    if ((st == DSV3_OK) != (model != NULL)) abort();
    if (st != DSV3_OK && message[0] == '\0') abort();
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "fuzz_load: %zu bytes: status %d %s\n", size, (int)st, message);
    if (getenv("FUZZ_REPORT_ALLOC") && largest_request > ((size_t)64 << 20))
        fprintf(stderr, "fuzz_load: largest allocation request %zu bytes (status %d: %s)\n", largest_request,
                (int)st, st ? message : "");
    if (st != DSV3_OK) return 0;

    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    cp.n_ctx = 8;
    cp.n_batch = 4;
    cp.n_threads = 1;
    cp.kv_type = (int32_t)(size / 2 % 3); /* F32, F16 or BF16 cache */
    dsv3_context *ctx = NULL;
    largest_request = 0;
    st = dsv3_context_create(model, &cp, &ctx);
    if (getenv("FUZZ_REPORT_ALLOC") && largest_request > ((size_t)64 << 20))
        fprintf(stderr, "fuzz_load: context: largest allocation request %zu bytes (status %d)\n", largest_request,
                (int)st);
    if (st == DSV3_OK) {
        size_t V = dsv3_model_n_vocab(model);
        if (V == 0 || V > INT32_MAX) abort();
        int32_t tokens[3];
        for (int i = 0; i < 3; i++) tokens[i] = (int32_t)((size + 7u * (unsigned)i) % V);
        if (dsv3_prefill(ctx, tokens, 3, NULL) != DSV3_OK) abort();
        if (!dsv3_context_logits(ctx) || dsv3_context_position(ctx) != 3) abort();
        const float *logits = NULL;
        if (dsv3_step(ctx, tokens[0], &logits) != DSV3_OK || !logits) abort();
    } else if (ctx) {
        abort();
    }
    dsv3_context_free(ctx);
    dsv3_model_free(model);
    return 0;
}
