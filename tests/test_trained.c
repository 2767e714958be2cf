/* The shipped model (models/dsv3-kjv.gguf) through the public API, against the PyTorch
 * model that trained it (tests/tools/train/golden.py, float64 from the file's stored
 * weights, cross-checked with tests/tools/reference.py):
 *   - logits of every position of a fixed text (kjv.golden), by prefill and by steps,
 *     within 1e-4 of the largest logit per position, with the same argmax;
 *   - greedy generation from a prompt (kjv.greedy), token for token;
 *   - the tokenizer stored in the file gives the golden's tokens for its text
 *     (kjv.golden.txt), and the expert-load counters match PyTorch's routing of the
 *     golden's tokens with and without the routing bias (kjv.experts).
 *
 * usage: test_trained MODEL.gguf DATA_DIR      (DATA_DIR has the kjv.* files)
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, mkdtemp in test_util.h */
#include "dsv3.h"
#include "test_util.h"

#include <math.h>
#include <stdint.h>

#define TOL 1e-4 /* of the largest |logit| at each position */
#define MAX_IDS 512



/* Parses one line of comma-separated token ids; returns how many, or -1. */
static int parse_ids(FILE *f, int32_t *ids, int max) {
    char line[8192];
    if (!fgets(line, sizeof line, f)) return -1;
    int n = 0;
    char *p = line;
    while (*p && *p != '\n') {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || n == max) return -1;
        ids[n++] = (int32_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

static size_t argmax(const float *v, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Worst relative error over positions, and argmax disagreements. */
static void compare(const char *what, const float *got, const golden *g) {
    size_t V = g->n_vocab, worst_pos = 0, mismatches = 0;
    double worst = 0.0;
    for (size_t p = 0; p < g->n_tokens; p++) {
        const float *want = g->logits + p * V, *have = got + p * V;
        double max_abs = 0.0, max_diff = 0.0;
        for (size_t i = 0; i < V; i++) {
            if (fabs(want[i]) > max_abs) max_abs = fabs(want[i]);
            double d = fabs((double)have[i] - want[i]);
            if (!(d <= max_diff)) max_diff = d; /* NaN fails */
        }
        double e = max_diff / (max_abs > 0 ? max_abs : 1.0);
        if (!(e <= worst)) {
            worst = e;
            worst_pos = p;
        }
        if (argmax(have, V) != argmax(want, V)) mismatches++;
    }
    CHECK(worst <= TOL, "%s: relative error %.3g at position %zu exceeds %.3g", what, worst, worst_pos, TOL);
    CHECK(mismatches == 0, "%s: argmax differs at %zu positions", what, mismatches);
    printf("  %-26s max relative error %.2e (position %zu), argmax equal at %zu of %u positions\n", what, worst,
           worst_pos, g->n_tokens - mismatches, g->n_tokens);
}

/* The exact path: an F32 latent cache (the default F16 one rounds every cached value)
   and float activations, so the bar is the engine's float32 arithmetic alone. */
static dsv3_context *new_context(const dsv3_model *model) {
    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    cp.kv_type = DSV3_KV_F32;
    dsv3_context *ctx = NULL;
    int32_t st = dsv3_context_create(model, &cp, &ctx);
    CHECK(st == DSV3_OK && ctx, "context: %s", dsv3_status_string(st));
    return ctx;
}

static void test_logits(const dsv3_model *model, const golden *g) {
    size_t V = g->n_vocab, N = g->n_tokens;
    float *all = (float *)malloc(N * V * sizeof(float));
    dsv3_context *ctx = new_context(model);
    if (!ctx || !all) goto done;
    CHECK(g->tokens[0] == dsv3_model_token_bos(model), "the golden text starts with BOS");
    int32_t st = dsv3_prefill(ctx, g->tokens, N, all);
    CHECK(st == DSV3_OK, "prefill: %s", dsv3_context_last_error(ctx));
    if (st == DSV3_OK) compare("prefill, all logits", all, g);

    CHECK(dsv3_context_rewind(ctx, 0) == DSV3_OK, "rewind");
    for (size_t i = 0; i < N; i++) {
        const float *logits = NULL;
        st = dsv3_step(ctx, g->tokens[i], &logits);
        CHECK(st == DSV3_OK && logits, "step %zu: %s", i, dsv3_context_last_error(ctx));
        if (st) goto done;
        memcpy(all + i * V, logits, V * sizeof(float));
    }
    compare("one token at a time", all, g);
done:
    dsv3_context_free(ctx);
    free(all);
}

static void test_greedy(const dsv3_model *model, const char *path) {
    int32_t prompt[MAX_IDS], want[MAX_IDS];
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return;
    int n_prompt = parse_ids(f, prompt, MAX_IDS), n_want = parse_ids(f, want, MAX_IDS);
    fclose(f);
    CHECK(n_prompt > 0 && n_want > 0, "%s: two lines of comma-separated token ids expected", path);
    if (n_prompt <= 0 || n_want <= 0) return;
    dsv3_context *ctx = new_context(model);
    if (!ctx) return;
    size_t V = dsv3_model_n_vocab(model);
    int32_t st = dsv3_prefill(ctx, prompt, (size_t)n_prompt, NULL);
    CHECK(st == DSV3_OK, "prefill prompt: %s", dsv3_context_last_error(ctx));
    int same = 0;
    for (int i = 0; i < n_want && st == DSV3_OK; i++) {
        int32_t next = (int32_t)argmax(dsv3_context_logits(ctx), V);
        if (next != want[i]) {
            CHECK(0, "greedy token %d is %d, PyTorch chose %d", i, (int)next, (int)want[i]);
            break;
        }
        same++;
        st = dsv3_step(ctx, next, NULL);
        CHECK(st == DSV3_OK, "step: %s", dsv3_context_last_error(ctx));
    }
    CHECK(same == n_want, "greedy: %d of %d tokens agree", same, n_want);
    printf("  greedy generation          %d of %d tokens equal to PyTorch's\n", same, n_want);
    dsv3_context_free(ctx);
}

static void test_tokenizer(const dsv3_model *model, const golden *g, const char *path) {
    size_t size = 0, n = 0;
    char *text = (char *)read_file(path, &size);
    CHECK(text != NULL, "cannot read %s", path);
    if (!text) return;
    int32_t *ids = (int32_t *)malloc((size + 2) * sizeof(int32_t));
    int32_t st = dsv3_tokenize(model, text, size, 1, 0, ids, size + 2, &n);
    CHECK(st == DSV3_OK, "tokenize: %s", dsv3_status_string(st));
    CHECK(n == g->n_tokens && memcmp(ids, g->tokens, n * sizeof(int32_t)) == 0,
          "the C tokenizer gives %zu tokens for %s, the golden has %u (or they differ)", n, path, g->n_tokens);
    if (st == DSV3_OK) printf("  tokenizer                  %zu tokens of %s, equal to bpe.py's\n", n, path);
    free(ids);
    free(text);
}

/* Per MoE layer, tokens per expert after prefilling the golden's tokens, against the
   "bias"/"nobias" lines of kjv.experts. */
static void test_expert_counts(const char *model_path, const golden *g, const char *path, int ignore_bias) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return;
    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    mp.float_activations = 1;
    mp.ignore_expert_bias = ignore_bias;
    dsv3_model *model = NULL;
    char message[256], kind[16], line[4096];
    CHECK(dsv3_model_load(model_path, &mp, &model, message, sizeof message) == DSV3_OK, "%s", message);
    dsv3_context *ctx = model ? new_context(model) : NULL;
    int layers = 0, equal = 0;
    if (ctx && dsv3_prefill(ctx, g->tokens, g->n_tokens, NULL) == DSV3_OK) {
        while (fgets(line, sizeof line, f)) {
            unsigned layer;
            int off = 0;
            if (sscanf(line, "%15s %u %n", kind, &layer, &off) != 2) continue;
            if (strcmp(kind, ignore_bias ? "nobias" : "bias") != 0) continue;
            uint64_t got[256];
            int32_t st = dsv3_context_expert_counts(ctx, layer, got, 256);
            CHECK(st == DSV3_OK, "expert counts of layer %u: %s", layer, dsv3_status_string(st));
            const char *p = line + off;
            int same = st == DSV3_OK;
            for (int e = 0; e < 256 && *p && *p != '\n'; e++) {
                char *end;
                unsigned long long want = strtoull(p, &end, 10);
                if (end == p) break;
                if (same && got[e] != want) same = 0;
                p = *end == ',' ? end + 1 : end;
            }
            CHECK(same, "%s: layer %u expert counts differ from PyTorch's", ignore_bias ? "no bias" : "bias", layer);
            layers++;
            equal += same;
        }
    }
    CHECK(layers > 0, "no '%s' lines in %s", ignore_bias ? "nobias" : "bias", path);
    printf("  expert counts, %-11s %d of %d MoE layers equal to PyTorch's routing\n",
           ignore_bias ? "no bias" : "with bias", equal, layers);
    fclose(f);
    dsv3_context_free(ctx);
    dsv3_model_free(model);
}

int main(int argc, char **argv) {
    const char *model_path = argc > 1 ? argv[1] : "models/dsv3-kjv.gguf";
    const char *dir = argc > 2 ? argv[2] : "tests/data";
    char path[1024], message[512];
    golden g;
    snprintf(path, sizeof path, "%s/kjv.golden", dir);
    int have_golden = read_golden(path, &g);
    CHECK(have_golden, "cannot read golden %s", path);
    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    mp.float_activations = 1;
    dsv3_model *model = NULL;
    int32_t st = dsv3_model_load(model_path, &mp, &model, message, sizeof message);
    CHECK(st == DSV3_OK && model, "load %s: %s", model_path, message);
    if (model && have_golden) {
        printf("%s against the PyTorch model:\n", model_path);
        CHECK(dsv3_model_n_vocab(model) == g.n_vocab, "n_vocab %zu, golden %u", dsv3_model_n_vocab(model), g.n_vocab);
        CHECK(dsv3_model_token_bos(model) == 0 && dsv3_model_token_eos(model) == 1, "BOS 0, EOS 1");
        dsv3_hparams hp;
        memset(&hp, 0, sizeof hp);
        hp.struct_size = sizeof hp;
        CHECK(dsv3_model_hparams(model, &hp) == DSV3_OK && hp.n_layer_nextn == 1,
              "the MTP layer is recognised as such (n_layer_nextn %u)", hp.n_layer_nextn);
        if (dsv3_model_n_vocab(model) == g.n_vocab) test_logits(model, &g);
        snprintf(path, sizeof path, "%s/kjv.greedy", dir);
        test_greedy(model, path);
        snprintf(path, sizeof path, "%s/kjv.golden.txt", dir);
        test_tokenizer(model, &g, path);
        snprintf(path, sizeof path, "%s/kjv.experts", dir);
        test_expert_counts(model_path, &g, path, 0);
        test_expert_counts(model_path, &g, path, 1);
    }
    dsv3_model_free(model);
    free(g.raw);
    printf("trained: ");
    return test_summary();
}
