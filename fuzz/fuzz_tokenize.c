/* libFuzzer target: any bytes through dsv3_tokenize (parse_special from the
 * first byte) and back through dsv3_token_to_piece and the streaming decoder;
 * with DeepSeek-V3's vocabulary every input must decode to itself.
 *
 *   make fuzz && build/fuzz_tokenize -max_len=4096 -max_total_time=60
 *
 * DSV3_FUZZ_VOCAB overrides the vocabulary (default tests/data/deepseek-v3-vocab.gguf).
 */
#include "dsv3.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static dsv3_model *model; /* loaded once: the fuzzer calls in one thread */

static void fuzz_load(void) {
    const char *path = getenv("DSV3_FUZZ_VOCAB");
    dsv3_model_params p;
    dsv3_model_default_params(&p);
    p.vocab_only = 1;
    if (dsv3_model_load(path ? path : "tests/data/deepseek-v3-vocab.gguf", &p, &model, NULL, 0)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!model) fuzz_load();
    if (size == 0) return 0;
    int special = data[0] & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1, n = 0;
    dsv3_tokenize(model, text, len, 1, special, NULL, 0, &n);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids || dsv3_tokenize(model, text, len, 1, special, ids, n, &n) != DSV3_OK) abort();
    char *back = malloc(len + 32);
    size_t used = 0;
    dsv3_decoder dec;
    dsv3_decoder_init(&dec, 1);
    for (size_t i = 0; i < n; i++) {
        char piece[256];
        size_t k;
        if (dsv3_token_to_piece(model, ids[i], 1, piece, sizeof piece, &k) != DSV3_OK) abort();
        if (dsv3_decoder_push(model, &dec, ids[i], piece, sizeof piece, &k) != DSV3_OK) abort();
        if (used + k > len + 32) abort();
        memcpy(back + used, piece, k);
        used += k;
    }
    char tail[4];
    size_t k;
    if (dsv3_decoder_flush(&dec, tail, sizeof tail, &k) != DSV3_OK) abort();
    memcpy(back + used, tail, k);
    used += k;
    /* the BOS token renders as its text first */
    size_t bos_len = 0;
    char bos[64];
    dsv3_token_to_piece(model, dsv3_model_token_bos(model), 1, bos, sizeof bos, &bos_len);
    if (used != bos_len + len || memcmp(back + bos_len, text, len) != 0) abort();
    free(back);
    free(ids);
    return 0;
}
