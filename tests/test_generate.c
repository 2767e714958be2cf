/* Tests of the embedding helpers: dsv3_generate (end tokens, stop strings
 * across token boundaries, budgets, callbacks, a full context), the abort
 * callback of long prefills and steps, and the load progress callback.
 *
 * usage: test_generate DATA_DIR
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, in test_util.h */
#include "dsv3.h"
#include "test_util.h"

#include <stdint.h>
#include <stdlib.h>

static const char *data_dir = "tests/data";

static dsv3_model *load(const char *name, dsv3_model_params *mp) {
    char path[512], message[256];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    dsv3_model *m = NULL;
    int32_t st = dsv3_model_load(path, mp, &m, message, sizeof message);
    CHECK(st == DSV3_OK, "load %s: %s", path, message);
    return m;
}

static dsv3_context *context(const dsv3_model *m, uint32_t n_ctx, uint32_t n_batch, int32_t threads,
                             dsv3_abort_fn abort_cb, void *abort_user) {
    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = threads;
    cp.abort_cb = abort_cb;
    cp.abort_user = abort_user;
    dsv3_context *ctx = NULL;
    CHECK(dsv3_context_create(m, &cp, &ctx) == DSV3_OK, "context");
    return ctx;
}

/* ---- on_token recorder ---------------------------------------------------- */

typedef struct record {
    int32_t tokens[512];
    size_t n_tokens;
    char text[8192];
    size_t n_text;
    size_t text_after[512]; /* text length after each token's call */
    int final_calls;        /* calls with token -1 */
    size_t final_len;
    size_t stop_after;      /* ask to stop after this many tokens; 0: never */
    int bad_text;           /* text not NUL-terminated, or NULL */
} record;

static int32_t on_token(void *user, int32_t token, const char *text, size_t len) {
    record *r = (record *)user;
    if (!text || text[len] != '\0') r->bad_text = 1;
    if (r->n_text + len < sizeof r->text) {
        memcpy(r->text + r->n_text, text, len);
        r->n_text += len;
    }
    if (token < 0) {
        r->final_calls++;
        r->final_len = len;
        return 0;
    }
    if (r->final_calls) r->bad_text = 1; /* nothing after the final call */
    if (r->n_tokens < 512) {
        r->text_after[r->n_tokens] = r->n_text;
        r->tokens[r->n_tokens++] = token;
    }
    return r->stop_after && r->n_tokens >= r->stop_after;
}

static int32_t gen(dsv3_context *ctx, const dsv3_generate_params *gp, record *r, int32_t *reason, size_t *n) {
    memset(r, 0, sizeof *r);
    return dsv3_generate(ctx, gp, reason, n);
}

/* ---- dsv3_generate on a model without a tokenizer ------------------------- */

static void test_generate_ids(void) {
    dsv3_model *m = load("v3_f32.gguf", NULL);
    if (!m) return;
    size_t V = dsv3_model_n_vocab(m);
    const int32_t prompt[] = {1, 2, 3, 4};
    dsv3_context *ref = context(m, 64, 8, 1, NULL, NULL);
    dsv3_context *ctx = context(m, 64, 8, 1, NULL, NULL);
    dsv3_sampling_params greedy;
    dsv3_sampling_default_params(&greedy);
    greedy.temperature = 0.0f;

    /* greedy generation equals a hand-written sample/step loop */
    int32_t want[12];
    const float *logits = NULL;
    CHECK(dsv3_prefill(ref, prompt, 4, NULL) == DSV3_OK, "prefill");
    logits = dsv3_context_logits(ref);
    for (int i = 0; i < 12; i++) {
        CHECK(dsv3_sample(ref, &greedy, logits, &want[i]) == DSV3_OK, "sample");
        CHECK(dsv3_step(ref, want[i], &logits) == DSV3_OK, "step");
    }
    int eos_in_run = 0;
    for (int i = 0; i < 12; i++) eos_in_run |= want[i] == dsv3_model_token_eos(m);
    CHECK(!eos_in_run, "the reference run contains EOS; pick another prompt");

    dsv3_generate_params gp;
    dsv3_generate_default_params(&gp);
    CHECK(gp.struct_size == sizeof gp && gp.max_tokens == 0 && !gp.on_token, "defaults");
    record r;
    int32_t reason = -1;
    size_t n = 99;
    CHECK(gen(ctx, &gp, &r, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT && reason == DSV3_STOP_ERROR && n == 0 &&
              strstr(dsv3_context_last_error(ctx), "no logits"), "no logits yet: %s", dsv3_context_last_error(ctx));
    CHECK(dsv3_prefill(ctx, prompt, 4, NULL) == DSV3_OK, "prefill");
    gp.sampling = &greedy;
    gp.max_tokens = 12;
    gp.on_token = on_token;
    gp.user = &r;
    CHECK(gen(ctx, &gp, &r, &reason, &n) == DSV3_OK, "generate: %s", dsv3_context_last_error(ctx));
    CHECK(reason == DSV3_STOP_MAX_TOKENS && n == 12 && r.n_tokens == 12, "budget: reason %d, %zu tokens", reason, n);
    CHECK(memcmp(r.tokens, want, sizeof want) == 0, "generated tokens differ from the sample/step loop");
    CHECK(r.n_text == 0 && r.final_calls == 0 && !r.bad_text, "no text without a tokenizer");
    CHECK(dsv3_context_position(ctx) == 16 && memcmp(dsv3_context_tokens(ctx) + 4, want, sizeof want) == 0,
          "every token was fed");
    CHECK(memcmp(dsv3_context_logits(ctx), dsv3_context_logits(ref), V * sizeof(float)) == 0,
          "logits ready for the next call");

    /* continuing: the next call picks up where the last stopped */
    /* (rewind drops the logits: re-feed the last prompt token) */
    CHECK(dsv3_context_rewind(ctx, 3) == DSV3_OK && dsv3_step(ctx, prompt[3], NULL) == DSV3_OK, "re-feed");
    gp.max_tokens = 5;
    CHECK(gen(ctx, &gp, &r, &reason, &n) == DSV3_OK && n == 5, "first half");
    gp.max_tokens = 7;
    record r2;
    gp.user = &r2;
    CHECK(gen(ctx, &gp, &r2, &reason, &n) == DSV3_OK && n == 7, "second half");
    CHECK(memcmp(r.tokens, want, 5 * sizeof(int32_t)) == 0 && memcmp(r2.tokens, want + 5, 7 * sizeof(int32_t)) == 0,
          "split generation differs");
    gp.user = &r;

    /* an extra end token stops before it: neither fed nor reported */
    int32_t stop_ids[2] = {-5, want[6]};
    int first = 0;
    while (want[first] != want[6]) first++;
    dsv3_context_rewind(ctx, 3);
    dsv3_step(ctx, prompt[3], NULL);
    gp.max_tokens = 0;
    gp.stop_tokens = stop_ids;
    gp.n_stop_tokens = 2;
    CHECK(gen(ctx, &gp, &r, &reason, &n) == DSV3_OK && reason == DSV3_STOP_END_TOKEN && n == (size_t)first &&
              r.n_tokens == (size_t)first && dsv3_context_position(ctx) == 4 + (size_t)first,
          "end token: reason %d, %zu tokens, first %d", reason, n, first);
    gp.stop_tokens = NULL;
    gp.n_stop_tokens = 0;

    /* the callback stops it after its token */
    dsv3_context_rewind(ctx, 3);
    dsv3_step(ctx, prompt[3], NULL);
    memset(&r, 0, sizeof r);
    r.stop_after = 3;
    CHECK(dsv3_generate(ctx, &gp, &reason, &n) == DSV3_OK && reason == DSV3_STOP_CALLBACK && n == 3 &&
              dsv3_context_position(ctx) == 7, "callback stop: reason %d, %zu", reason, n);

    /* a full context: stops, and the context stays usable */
    dsv3_context *small = context(m, 9, 8, 1, NULL, NULL);
    CHECK(dsv3_prefill(small, prompt, 4, NULL) == DSV3_OK, "prefill small");
    CHECK(gen(small, &gp, &r, &reason, &n) == DSV3_OK && reason == DSV3_STOP_CONTEXT_FULL && n == 5 &&
              dsv3_context_position(small) == 9 && memcmp(r.tokens, want, 5 * sizeof(int32_t)) == 0,
          "context full: reason %d, %zu", reason, n);
    CHECK(gen(small, &gp, &r, &reason, &n) == DSV3_OK && reason == DSV3_STOP_CONTEXT_FULL && n == 0, "still full");
    CHECK(dsv3_context_rewind(small, 3) == DSV3_OK && dsv3_step(small, prompt[3], NULL) == DSV3_OK, "usable");
    gp.max_tokens = 2;
    CHECK(gen(small, &gp, &r, &reason, &n) == DSV3_OK && n == 2 && memcmp(r.tokens, want, 8) == 0, "after rewind");
    dsv3_context_free(small);

    /* the model's EOS ends it (found by search: after [109], greedy reaches EOS
       as the third token) */
    dsv3_context_rewind(ctx, 0);
    dsv3_step(ctx, 109, NULL);
    gp.max_tokens = 10;
    CHECK(gen(ctx, &gp, &r, &reason, &n) == DSV3_OK && reason == DSV3_STOP_END_TOKEN && n == 2 &&
              dsv3_context_position(ctx) == 3 && dsv3_model_token_eos(m) == 1, "EOS: reason %d, %zu tokens", reason, n);

    /* NULL params and outputs: defaults (sampled, unlimited) on a tiny context */
    dsv3_context *tiny = context(m, 6, 8, 1, NULL, NULL);
    CHECK(dsv3_prefill(tiny, prompt, 4, NULL) == DSV3_OK && dsv3_generate(tiny, NULL, NULL, NULL) == DSV3_OK &&
              dsv3_context_position(tiny) <= 6, "NULL params");
    dsv3_context_free(tiny);

    /* bad arguments change nothing */
    size_t pos = dsv3_context_position(ctx);
    const char *stops[] = {"a", ""};
    dsv3_generate_params bad = gp;
    CHECK(dsv3_generate(NULL, &gp, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT, "NULL ctx");
    bad.max_tokens = -1;
    CHECK(dsv3_generate(ctx, &bad, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT, "negative budget");
    bad = gp;
    bad.n_stop_tokens = 1;
    CHECK(dsv3_generate(ctx, &bad, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT, "NULL stop tokens");
    bad = gp;
    bad.n_stop_strings = 1;
    CHECK(dsv3_generate(ctx, &bad, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT, "NULL stop strings");
    bad.stop_strings = stops + 1;
    CHECK(dsv3_generate(ctx, &bad, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT, "empty stop string");
    bad.stop_strings = stops;
    CHECK(dsv3_generate(ctx, &bad, &reason, &n) == DSV3_ERR_UNSUPPORTED &&
              strstr(dsv3_context_last_error(ctx), "tokenizer"), "stop strings need a tokenizer");
    bad = gp;
    bad.struct_size = 0;
    CHECK(dsv3_generate(ctx, &bad, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT, "struct_size 0");
    dsv3_sampling_params hot = greedy;
    hot.top_p = -1.0f;
    bad = gp;
    bad.sampling = &hot;
    CHECK(dsv3_generate(ctx, &bad, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT && reason == DSV3_STOP_ERROR,
          "bad sampling params");
    CHECK(dsv3_context_position(ctx) == pos, "errors changed the context");
    /* a larger struct from a newer header: accepted when its extra bytes are zero */
    struct {
        dsv3_generate_params p;
        uint32_t future;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.p = gp;
    newer.p.struct_size = sizeof newer;
    newer.p.max_tokens = 1;
    int32_t st = dsv3_generate(ctx, &newer.p, &reason, &n);
    CHECK(st == DSV3_OK && n <= 1, "newer struct: %d, %zu, %s", st, n, dsv3_context_last_error(ctx));
    newer.future = 1;
    CHECK(dsv3_generate(ctx, &newer.p, &reason, &n) == DSV3_ERR_INVALID_ARGUMENT, "unknown fields");

    dsv3_context_free(ctx);
    dsv3_context_free(ref);
    dsv3_model_free(m);
}

/* The same seed gives the same sampled tokens, at any thread count. */
static void test_generate_seeded(void) {
    dsv3_model *m = load("v3_f32.gguf", NULL);
    if (!m) return;
    const int32_t prompt[] = {5, 6, 7};
    record a, b;
    int32_t reason;
    size_t n;
    dsv3_sampling_params sp;
    dsv3_sampling_default_params(&sp);
    sp.temperature = 1.5f;
    sp.top_k = 0;
    sp.min_p = 0.0f;
    dsv3_generate_params gp;
    dsv3_generate_default_params(&gp);
    gp.sampling = &sp;
    gp.max_tokens = 24;
    gp.on_token = on_token;
    for (int threads = 1; threads <= 2; threads++) {
        record *r = threads == 1 ? &a : &b;
        dsv3_context *ctx = context(m, 64, 8, threads, NULL, NULL);
        dsv3_context_set_seed(ctx, 1234);
        gp.user = r;
        CHECK(dsv3_prefill(ctx, prompt, 3, NULL) == DSV3_OK && gen(ctx, &gp, r, &reason, &n) == DSV3_OK,
              "seeded generate");
        dsv3_context_free(ctx);
    }
    CHECK(a.n_tokens == b.n_tokens && memcmp(a.tokens, b.tokens, a.n_tokens * sizeof(int32_t)) == 0,
          "1 and 2 threads differ");
    int distinct = 0;
    for (size_t i = 1; i < a.n_tokens; i++) distinct += a.tokens[i] != a.tokens[0];
    CHECK(distinct > 0, "temperature 1.5 gave one token over and over");
    dsv3_model_free(m);
}

/* ---- text and stop strings (v3_f32_bpe.gguf: a real BPE vocabulary) -------- */

static void decode_all(const dsv3_model *m, const int32_t *tokens, size_t n, char *out, size_t *n_out) {
    dsv3_decoder dec;
    dsv3_decoder_init(&dec, 0);
    size_t k = 0, got;
    for (size_t i = 0; i < n; i++) {
        CHECK(dsv3_decoder_push(m, &dec, tokens[i], out + k, 4096, &got) == DSV3_OK, "decode");
        k += got;
    }
    dsv3_decoder_flush(&dec, out + k, 4, &got);
    *n_out = k + got;
}

/* Prefill the prompt into a fresh context and generate greedily. */
static int32_t run_text(const dsv3_model *m, const int32_t *prompt, size_t n_prompt, const char *const *stops,
                        size_t n_stops, int32_t max_tokens, record *r, int32_t *reason, size_t *n) {
    dsv3_context *ctx = context(m, 256, 16, 1, NULL, NULL);
    dsv3_sampling_params greedy;
    dsv3_sampling_default_params(&greedy);
    greedy.temperature = 0.0f;
    dsv3_generate_params gp;
    dsv3_generate_default_params(&gp);
    gp.sampling = &greedy;
    gp.max_tokens = max_tokens;
    gp.stop_strings = stops;
    gp.n_stop_strings = n_stops;
    gp.on_token = on_token;
    gp.user = r;
    CHECK(dsv3_prefill(ctx, prompt, n_prompt, NULL) == DSV3_OK, "prefill");
    int32_t st = gen(ctx, &gp, r, reason, n);
    CHECK(st != DSV3_OK || dsv3_context_position(ctx) == n_prompt + *n, "position after generate");
    dsv3_context_free(ctx);
    return st;
}

static void test_generate_text(void) {
    dsv3_model *m = load("v3_f32_bpe.gguf", NULL);
    if (!m) return;
    CHECK(dsv3_model_has_tokenizer(m), "v3_f32_bpe has a tokenizer");
    const char *text = "The quick brown fox";
    int32_t prompt[64];
    size_t n_prompt = 0;
    CHECK(dsv3_tokenize(m, text, strlen(text), 1, 1, prompt, 64, &n_prompt) == DSV3_OK, "tokenize");

    /* the reference run: all text, streamed, equals the decoded tokens */
    static record ref;
    int32_t reason;
    size_t n;
    enum { N = 48 };
    CHECK(run_text(m, prompt, n_prompt, NULL, 0, N, &ref, &reason, &n) == DSV3_OK, "reference run");
    int32_t ref_reason = reason;
    CHECK(!ref.bad_text, "text not NUL-terminated or after the final call");
    static char decoded[N * 4096];
    size_t n_decoded = 0;
    decode_all(m, ref.tokens, ref.n_tokens, decoded, &n_decoded);
    CHECK(ref.n_text == n_decoded && memcmp(ref.text, decoded, n_decoded) == 0, "streamed text != decoded (%zu, %zu)",
          ref.n_text, n_decoded);
    CHECK(ref.n_text >= 40, "the reference run gave only %zu bytes (%zu tokens, reason %d)", ref.n_text, ref.n_tokens,
          reason);
    if (ref.n_text < 40) {
        dsv3_model_free(m);
        return;
    }

    /* stop strings cut anywhere, across token boundaries: the text before the
       first occurrence is reported, and generation stops at the token that
       completes it */
    int cases = 0, spanning = 0;
    for (size_t start = 0; start + 2 < ref.n_text && start < 40; start += 3) {
        for (size_t len = 1; len <= 7 && start + len <= ref.n_text; len += 3) {
            char stop[8];
            memcpy(stop, ref.text + start, len);
            stop[len] = '\0';
            if (strlen(stop) != len) continue;
            const char *first = NULL;
            for (size_t at = 0; at + len <= ref.n_text && !first; at++)
                if (!memcmp(ref.text + at, stop, len)) first = ref.text + at;
            size_t at = (size_t)(first - ref.text), end = at + len, want_tokens = 0;
            while (want_tokens < ref.n_tokens && ref.text_after[want_tokens] < end) want_tokens++;
            want_tokens++;
            if (want_tokens >= 2 && ref.text_after[want_tokens - 2] > at) spanning++;
            static record r;
            const char *stops[] = {"\x01never", stop};
            CHECK(run_text(m, prompt, n_prompt, stops, 2, N, &r, &reason, &n) == DSV3_OK, "stop run");
            CHECK(reason == DSV3_STOP_STRING && n == want_tokens && r.n_tokens == want_tokens,
                  "stop '%s' at %zu: reason %d, %zu tokens, want %zu", stop, at, reason, n, want_tokens);
            CHECK(r.n_text == at && memcmp(r.text, ref.text, at) == 0 && r.final_calls == 0 && !r.bad_text,
                  "stop '%s': reported %zu bytes, want %zu", stop, r.n_text, at);
            cases++;
        }
    }
    CHECK(cases > 20 && spanning > 0, "%d stop-string cases, %d span tokens", cases, spanning);

    /* a tail that may begin a stop string is held back, then handed over at the end */
    char tail_stop[16];
    memcpy(tail_stop, ref.text + ref.n_text - 2, 2);
    memcpy(tail_stop + 2, "\x01", 2);
    const char *stops[] = {tail_stop};
    static record r;
    CHECK(run_text(m, prompt, n_prompt, stops, 1, N, &r, &reason, &n) == DSV3_OK && reason == ref_reason,
          "held-back run: reason %d, %zu tokens", reason, n);
    CHECK(r.n_text == ref.n_text && memcmp(r.text, ref.text, ref.n_text) == 0 && r.final_calls == 1 &&
              r.final_len >= 2 && !r.bad_text,
          "held-back tail: %zu of %zu bytes, %d final calls of %zu", r.n_text, ref.n_text, r.final_calls, r.final_len);
    dsv3_model_free(m);
}

/* ---- abort callback --------------------------------------------------------- */

typedef struct countdown {
    int remaining; /* polls answered 0 before answering 1; < 0: never abort */
    int polls;
} countdown;

static int32_t abort_after(void *user) {
    countdown *c = (countdown *)user;
    c->polls++;
    if (c->remaining < 0) return 0;
    return c->remaining-- == 0;
}

static void test_abort(void) {
    dsv3_model *m = load("v3_f32.gguf", NULL);
    if (!m) return;
    size_t V = dsv3_model_n_vocab(m);
    dsv3_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.struct_size = sizeof hp;
    dsv3_model_hparams(m, &hp);
    const int32_t head[] = {11, 12, 13};
    const int32_t body[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    /* reference: no abort */
    dsv3_context *ref = context(m, 32, 4, 1, NULL, NULL);
    static float all_ref[10 * 512], all[10 * 512];
    CHECK(V <= 512, "vocab");
    CHECK(dsv3_prefill(ref, head, 3, NULL) == DSV3_OK, "prefill head");
    float *head_logits = (float *)malloc(V * sizeof(float));
    memcpy(head_logits, dsv3_context_logits(ref), V * sizeof(float));
    CHECK(dsv3_prefill(ref, body, 10, all_ref) == DSV3_OK, "prefill body");

    countdown c = {-1, 0};
    dsv3_context *ctx = context(m, 32, 4, 1, abort_after, &c);
    CHECK(dsv3_prefill(ctx, head, 3, NULL) == DSV3_OK, "prefill head");
    int polls = c.polls;
    CHECK(polls == (int)hp.n_layer, "one poll per layer: %d for %u layers", polls, hp.n_layer);
    /* abort at every poll of a three-batch prefill in turn */
    int aborted = 0;
    for (int k = 0; k <= 3 * (int)hp.n_layer; k++) {
        c.remaining = k;
        c.polls = 0;
        int32_t st = dsv3_prefill(ctx, body, 10, (k & 1) ? all : NULL);
        if (k < 3 * (int)hp.n_layer) {
            CHECK(st == DSV3_ERR_ABORTED && c.polls == k + 1, "poll %d: status %d after %d polls", k, st, c.polls);
            CHECK(strstr(dsv3_context_last_error(ctx), "abort"), "message: %s", dsv3_context_last_error(ctx));
            CHECK(dsv3_context_position(ctx) == 3 && dsv3_context_tokens(ctx)[2] == 13, "poll %d: position %zu", k,
                  dsv3_context_position(ctx));
            CHECK(dsv3_context_logits(ctx) && memcmp(dsv3_context_logits(ctx), head_logits, V * sizeof(float)) == 0,
                  "poll %d: logits changed", k);
            aborted++;
        } else {
            CHECK(st == DSV3_OK, "no abort after the last poll");
        }
    }
    CHECK(aborted == 3 * (int)hp.n_layer, "aborted %d times", aborted);
    CHECK(memcmp(dsv3_context_logits(ctx), all_ref + 9 * V, V * sizeof(float)) == 0 &&
              memcmp(all, all_ref, sizeof(float) * 10 * V) == 0, "after aborts, the prefill matches");
    /* a step aborts the same way */
    const float *before = dsv3_context_logits(ctx);
    memcpy(head_logits, before, V * sizeof(float));
    c.remaining = 1;
    const float *out = (const float *)1;
    CHECK(dsv3_step(ctx, 3, &out) == DSV3_ERR_ABORTED && out == NULL && dsv3_context_position(ctx) == 13 &&
              memcmp(dsv3_context_logits(ctx), head_logits, V * sizeof(float)) == 0, "aborted step");
    /* and generate stops with the tokens reported so far fed */
    dsv3_generate_params gp;
    dsv3_generate_default_params(&gp);
    record r;
    gp.on_token = on_token;
    gp.user = &r;
    gp.max_tokens = 10;
    c.remaining = 2 * (int)hp.n_layer + 1; /* two tokens, then abort in the third */
    int32_t reason = -1;
    size_t n = 0;
    CHECK(gen(ctx, &gp, &r, &reason, &n) == DSV3_ERR_ABORTED && reason == DSV3_STOP_ERROR && n == 2 &&
              r.n_tokens == 2 && dsv3_context_position(ctx) == 15, "aborted generate: reason %d, n %zu, pos %zu",
          reason, n, dsv3_context_position(ctx));
    c.remaining = -1;
    CHECK(gen(ctx, &gp, &r, &reason, &n) == DSV3_OK && n == 10, "generate after an abort");
    free(head_logits);
    dsv3_context_free(ctx);
    dsv3_context_free(ref);
    dsv3_model_free(m);
}

/* ---- load progress -------------------------------------------------------- */

typedef struct progress_log {
    float fractions[256];
    int n;
    int cancel_at; /* answer 1 at this call; < 0: never */
} progress_log;

/* Progress shares the user pointer with the allocator, so one struct holds
   both. */
typedef struct load_user {
    alloc_budget budget; /* first: budget_alloc casts the user pointer */
    progress_log log;
} load_user;

static int32_t on_progress(void *user, float fraction) {
    progress_log *p = &((load_user *)user)->log;
    if (p->n < 256) p->fractions[p->n] = fraction;
    return p->n++ == p->cancel_at;
}

static void test_progress(void) {
    char path[512], message[256];
    snprintf(path, sizeof path, "%s/v3_f32.gguf", data_dir);
    for (int vocab_only = 0; vocab_only <= 1; vocab_only++) {
        const char *name = vocab_only ? "v3_f32_bpe.gguf" : "v3_f32.gguf";
        snprintf(path, sizeof path, "%s/%s", data_dir, name);
        load_user u;
        memset(&u, 0, sizeof u);
        u.budget.remaining = 1 << 30;
        u.log.cancel_at = -1;
        dsv3_model_params mp;
        dsv3_model_default_params(&mp);
        mp.progress = on_progress;
        mp.alloc = budget_alloc;
        mp.free_fn = budget_free;
        mp.user = &u;
        mp.vocab_only = vocab_only;
        dsv3_model *m = NULL;
        CHECK(dsv3_model_load(path, &mp, &m, message, sizeof message) == DSV3_OK, "load: %s", message);
        dsv3_model_free(m);
        int n = u.log.n, ordered = 1;
        for (int i = 1; i < n; i++) ordered &= u.log.fractions[i] >= u.log.fractions[i - 1];
        CHECK(n >= (vocab_only ? 2 : 3) && ordered && u.log.fractions[0] > 0.0f && u.log.fractions[n - 1] == 1.0f,
              "%s: %d progress calls, last %g", name, n, n ? (double)u.log.fractions[n - 1] : -1.0);
        CHECK(u.budget.live == 0, "leak");
        /* cancelling at each call in turn fails cleanly, from a path and from memory */
        size_t size = 0;
        unsigned char *image = read_file(path, &size);
        for (int at = 0; at < n; at++) {
            for (int from_memory = 0; from_memory <= 1; from_memory++) {
                memset(&u, 0, sizeof u);
                u.budget.remaining = 1 << 30;
                u.log.cancel_at = at;
                m = (dsv3_model *)1;
                int32_t st = from_memory ? dsv3_model_load_memory(image, size, &mp, &m, message, sizeof message)
                                         : dsv3_model_load(path, &mp, &m, message, sizeof message);
                CHECK(st == DSV3_ERR_ABORTED && m == NULL && strstr(message, "cancel") && u.budget.live == 0 &&
                          u.log.n == at + 1, "%s: cancel at %d: status %d, %s", name, at, st, message);
            }
        }
        free(image);
    }
    CHECK(!strcmp(dsv3_status_string(DSV3_ERR_ABORTED), "aborted by a callback") && DSV3_ERR_ABORTED == -10,
          "status string");
}

/* ---- out of memory in generate --------------------------------------------- */

static void test_generate_oom(void) {
    alloc_budget b = {1 << 30, 0};
    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    mp.alloc = budget_alloc;
    mp.free_fn = budget_free;
    mp.user = &b;
    dsv3_model *m = load("v3_f32_bpe.gguf", &mp);
    if (!m) return;
    dsv3_context *ctx = context(m, 32, 8, 1, NULL, NULL);
    const int32_t prompt[] = {1, 2, 3};
    CHECK(dsv3_prefill(ctx, prompt, 3, NULL) == DSV3_OK, "prefill");
    b.remaining = 0;
    int32_t reason = -1;
    size_t n = 9;
    CHECK(dsv3_generate(ctx, NULL, &reason, &n) == DSV3_ERR_OUT_OF_MEMORY && reason == DSV3_STOP_ERROR && n == 0 &&
              dsv3_context_position(ctx) == 3, "generate without memory");
    b.remaining = 1 << 30;
    dsv3_context_free(ctx);
    dsv3_model_free(m);
    CHECK(b.live == 0, "leak");
}

int main(int argc, char **argv) {
    if (argc > 1) data_dir = argv[1];
    test_generate_ids();
    test_generate_seeded();
    test_generate_text();
    test_abort();
    test_progress();
    test_generate_oom();
    return test_summary();
}
