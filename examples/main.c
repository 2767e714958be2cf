/* build/dsv3 - command-line front end of the dsv3 library.
 *
 *   dsv3 -m MODEL.gguf -p "Hello" -n 16          text in, text out
 *   dsv3 -m MODEL.gguf --tokens 1,2,3 -n 16      token ids in, ids out
 *   dsv3 -m MODEL.gguf --tokenize -f FILE        print the prompt's ids and exit
 *
 * Feeds a prompt, generates tokens (greedy by default) and streams them as text
 * when the model has a tokenizer (as ids otherwise), optionally dumps the logits
 * of every evaluated position, and reports speed on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include "dsv3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform.h" /* now_seconds, utf8_args, fopen_utf8, binary_stdout */

static void usage(FILE *out) {
    fprintf(out,
            "usage: dsv3 -m MODEL.gguf [--tokens ID,ID,... | -p PROMPT | -f FILE] [options]\n"
            "  -m, --model FILE      GGUF model (architecture deepseek2)\n"
            "      --tokens LIST     prompt as comma-separated token ids\n"
            "  -p, --prompt TEXT     prompt text, through the model's tokenizer\n"
            "  -f, --file FILE       prompt text from a file, its bytes exactly\n"
            "      --chat            wrap the prompt as one user turn of the chat template\n"
            "      --no-special      special token strings in the prompt are plain text\n"
            "                        (default: parsed as special tokens, as Hugging Face does)\n"
            "      --no-bos          do not start the prompt with BOS\n"
            "      --tokenize        print the prompt's token ids on one line and exit\n"
            "  -n, --n-predict N     tokens to generate (default 16)\n"
            "  -c, --ctx N           context length (default: min(4096, the model's))\n"
            "  -t, --threads N       threads (default: one per hardware thread)\n"
            "      --temp T          sampling temperature, 0 = greedy (default 0)\n"
            "      --top-k K         sample among the K most likely (default 40; 0 = off)\n"
            "      --top-p P         nucleus sampling mass (default 0.95; 1 = off)\n"
            "      --min-p P         drop tokens below P x the top probability (default 0.05)\n"
            "      --repeat-penalty R  penalise the last 64 tokens (default 1 = off)\n"
            "      --seed S          sampling seed (default 1)\n"
            "      --prefill MODE    batch (default) or step: how the prompt is fed\n"
            "      --batch N         prefill batch size (default 512)\n"
            "      --kv-type TYPE    f32 (default here, for exact logits), f16 (the library default), bf16 or q8_0\n"
            "      --no-groups       llama.cpp routing: no expert groups unless the file has the keys\n"
            "      --no-expert-bias  route without the expert bias (exp_probs_b)\n"
            "      --expert-stats    print each MoE layer's expert load (max/mean tokens per expert)\n"
            "      --float-act       multiply quantized weights in float, not 8-bit integers (exact, slower)\n"
            "      --dump-logits F   write float32 logits of every evaluated position to F\n"
            "  -h, --help            this text\n");
}

static int parse_long(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return 0;
    *out = v;
    return 1;
}

/* Parses "1,2,3" into a malloc'd array. */
static int parse_tokens(const char *s, int32_t **out, size_t *n_out) {
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < 0 || v > INT32_MAX) {
            free(ids);
            return 0;
        }
        if (n == cap) {
            int32_t *grown = realloc(ids, 2 * cap * sizeof *ids);
            if (!grown) {
                free(ids);
                return 0;
            }
            ids = grown;
            cap *= 2;
        }
        ids[n++] = (int32_t)v;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        else if (*p) {
            free(ids);
            return 0;
        }
    }
    *out = ids;
    *n_out = n;
    return 1;
}

static int write_logits(FILE *f, const float *logits, size_t n) {
    /* float32 little-endian: the host order on every platform dsv3 supports */
    return fwrite(logits, sizeof(float), n, f) == n;
}

/* Load balance of each MoE layer over everything this context evaluated. */
static void print_expert_stats(const dsv3_model *model, const dsv3_context *ctx) {
    dsv3_hparams hp;
    memset(&hp, 0, sizeof hp);
    hp.struct_size = sizeof hp;
    dsv3_model_hparams(model, &hp);
    if (hp.n_expert == 0) return;
    uint64_t *counts = malloc(hp.n_expert * sizeof *counts);
    if (!counts) return;
    fprintf(stderr, "expert load (tokens per expert; max/mean 1.00 is perfectly even):\n");
    fprintf(stderr, "%6s %10s %10s %10s %8s\n", "layer", "mean", "max", "min", "max/mean");
    for (uint32_t l = hp.n_layer_dense_lead; l < hp.n_layer; l++) {
        if (dsv3_context_expert_counts(ctx, l, counts, hp.n_expert)) break;
        uint64_t max = 0, min = UINT64_MAX, total = 0;
        for (uint32_t e = 0; e < hp.n_expert; e++) {
            total += counts[e];
            if (counts[e] > max) max = counts[e];
            if (counts[e] < min) min = counts[e];
        }
        double mean = (double)total / hp.n_expert;
        fprintf(stderr, "%6u %10.2f %10llu %10llu %8.2f\n", l, mean, (unsigned long long)max,
                (unsigned long long)min, mean > 0 ? max / mean : 0.0);
    }
    free(counts);
}

/* Reads a whole file, bytes exactly (nothing stripped, no escapes). */
static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen_utf8(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Appends the ids of text to *ids (a malloc'd array of *n). */
static int32_t append_tokens(const dsv3_model *model, const char *text, size_t len, int add_bos, int special,
                             int32_t **ids, size_t *n) {
    size_t need = 0;
    int32_t st = dsv3_tokenize(model, text, len, add_bos, special, NULL, 0, &need);
    if (st != DSV3_OK && st != DSV3_ERR_BUFFER_TOO_SMALL) return st;
    int32_t *grown = realloc(*ids, (*n + need + 1) * sizeof **ids);
    if (!grown) return DSV3_ERR_OUT_OF_MEMORY;
    *ids = grown;
    st = dsv3_tokenize(model, text, len, add_bos, special, *ids + *n, need, &need);
    if (st == DSV3_OK) *n += need;
    return st;
}

/* The prompt's ids. With --chat the text is one user turn: the template's own
   text (BOS, <｜User｜>, <｜Assistant｜>...) is encoded with special tokens, the
   user's text as --no-special says. */
static int32_t prompt_tokens(const dsv3_model *model, const char *text, size_t len, int chat, int special, int bos,
                             int32_t **ids, size_t *n) {
    int32_t st;
    *ids = NULL;
    *n = 0;
    if (!chat) {
        st = append_tokens(model, text, len, bos, special, ids, n);
        return st;
    }
    dsv3_chat_message turn = {"user", ""};
    char head[256], full[512];
    size_t n_head = 0, n_full = 0;
    st = dsv3_chat_format(model, &turn, 1, 0, DSV3_CHAT_AUTO, head, sizeof head, &n_head);
    if (!st) st = dsv3_chat_format(model, &turn, 1, 1, DSV3_CHAT_AUTO, full, sizeof full, &n_full);
    if (st) return st;
    /* the template starts with BOS itself: add none */
    if (!st) st = append_tokens(model, head, n_head, 0, 1, ids, n);
    if (!st) st = append_tokens(model, text, len, 0, special, ids, n);
    if (!st) st = append_tokens(model, full + n_head, n_full - n_head, 0, 1, ids, n);
    if (!st && !bos && *n && (*ids)[0] == dsv3_model_token_bos(model)) {
        memmove(*ids, *ids + 1, (*n - 1) * sizeof **ids);
        (*n)--;
    }
    return st;
}

int main(int argc, char **argv) {
    utf8_args(&argc, &argv);
    binary_stdout();
    const char *model_path = NULL, *tokens_arg = NULL, *dump_path = NULL, *prefill_mode = "batch";
    const char *text_prompt = NULL, *prompt_file = NULL;
    int chat = 0, special = 1, add_bos = 1, tokenize_only = 0;
    long n_predict = 16, n_ctx = 0, n_threads = 0, n_batch = 512, seed = 1;
    dsv3_sampling_params sampling;
    dsv3_sampling_default_params(&sampling);
    sampling.temperature = 0.0f; /* greedy unless asked */
    int32_t kv_type = DSV3_KV_F32;
    int no_groups = 0, no_expert_bias = 0, expert_stats = 0, float_activations = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-groups")) {
            no_groups = 1;
            takes_value = 0;
        } else if (!strcmp(a, "--no-expert-bias")) {
            no_expert_bias = 1;
            takes_value = 0;
        } else if (!strcmp(a, "--expert-stats")) {
            expert_stats = 1;
            takes_value = 0;
        } else if (!strcmp(a, "--float-act")) {
            float_activations = 1;
            takes_value = 0;
        } else if (!strcmp(a, "--chat")) {
            chat = 1;
            takes_value = 0;
        } else if (!strcmp(a, "--no-special")) {
            special = 0;
            takes_value = 0;
        } else if (!strcmp(a, "--no-bos")) {
            add_bos = 0;
            takes_value = 0;
        } else if (!strcmp(a, "--tokenize")) {
            tokenize_only = 1;
            takes_value = 0;
        } else if (!v) {
            fprintf(stderr, "dsv3: option %s needs a value\n", a);
            return 2;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            model_path = v;
        } else if (!strcmp(a, "--tokens")) {
            tokens_arg = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            text_prompt = v;
            prompt_file = NULL;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            prompt_file = v;
            text_prompt = NULL;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            if (!parse_long(v, 0, 1 << 30, &n_predict)) goto bad_value;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) {
            /* INT32_MAX, not UINT32_MAX: long has 32 bits on Windows */
            if (!parse_long(v, 1, INT32_MAX, &n_ctx)) goto bad_value;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!parse_long(v, 0, 1024, &n_threads)) goto bad_value;
        } else if (!strcmp(a, "--batch")) {
            if (!parse_long(v, 1, 1 << 20, &n_batch)) goto bad_value;
        } else if (!strcmp(a, "--seed")) {
            if (!parse_long(v, 0, INT32_MAX, &seed)) goto bad_value;
        } else if (!strcmp(a, "--temp") || !strcmp(a, "--top-p") || !strcmp(a, "--min-p") ||
                   !strcmp(a, "--repeat-penalty")) {
            char *end;
            float f = strtof(v, &end);
            if (end == v || *end || !(f >= 0.0f)) goto bad_value;
            if (!strcmp(a, "--temp")) sampling.temperature = f;
            else if (!strcmp(a, "--top-p")) sampling.top_p = f;
            else if (!strcmp(a, "--min-p")) sampling.min_p = f;
            else sampling.repeat_penalty = f;
        } else if (!strcmp(a, "--top-k")) {
            long k;
            if (!parse_long(v, 0, INT32_MAX, &k)) goto bad_value;
            sampling.top_k = (int32_t)k;
        } else if (!strcmp(a, "--prefill")) {
            if (strcmp(v, "batch") && strcmp(v, "step")) goto bad_value;
            prefill_mode = v;
        } else if (!strcmp(a, "--kv-type")) {
            if (!strcmp(v, "f32")) kv_type = DSV3_KV_F32;
            else if (!strcmp(v, "f16")) kv_type = DSV3_KV_F16;
            else if (!strcmp(v, "bf16")) kv_type = DSV3_KV_BF16;
            else if (!strcmp(v, "q8_0")) kv_type = DSV3_KV_Q8_0;
            else goto bad_value;
        } else if (!strcmp(a, "--dump-logits")) {
            dump_path = v;
        } else {
            fprintf(stderr, "dsv3: unknown option '%s' (try --help)\n", a);
            return 2;
        }
        i += takes_value;
        continue;
    bad_value:
        fprintf(stderr, "dsv3: bad value '%s' for %s\n", v, a);
        return 2;
    }
    if (!model_path) {
        fprintf(stderr, "dsv3: no model given (-m MODEL.gguf)\n");
        usage(stderr);
        return 2;
    }
    if (tokens_arg && (text_prompt || prompt_file)) {
        fprintf(stderr, "dsv3: give the prompt as --tokens or as text (-p/-f), not both\n");
        return 2;
    }
    if (tokenize_only && !text_prompt && !prompt_file) {
        fprintf(stderr, "dsv3: --tokenize needs a text prompt (-p TEXT or -f FILE)\n");
        return 2;
    }
    char *text = NULL;
    size_t text_len = 0;
    if (prompt_file) {
        text = read_all(prompt_file, &text_len);
        if (!text) {
            fprintf(stderr, "dsv3: cannot read %s: %s\n", prompt_file, strerror(errno));
            return 1;
        }
    } else if (text_prompt) {
        text_len = strlen(text_prompt);
        text = malloc(text_len + 1);
        if (!text) return 1;
        memcpy(text, text_prompt, text_len + 1);
    }

    int32_t *prompt = NULL;
    size_t n_prompt = 0;
    if (tokens_arg && !parse_tokens(tokens_arg, &prompt, &n_prompt)) {
        fprintf(stderr, "dsv3: --tokens wants comma-separated non-negative integers, got '%s'\n", tokens_arg);
        return 2;
    }

    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    if (no_groups) mp.expert_groups = DSV3_GROUPS_FILE_ONLY;
    mp.ignore_expert_bias = no_expert_bias;
    mp.float_activations = float_activations;
    mp.vocab_only = tokenize_only; /* the tokenizer alone: any GGUF with one */
    dsv3_model *model = NULL;
    char message[512];
    int32_t st = dsv3_model_load(model_path, &mp, &model, message, sizeof message);
    if (st) {
        fprintf(stderr, "dsv3: cannot load %s: %s (%s)\n", model_path, message, dsv3_status_string(st));
        free(prompt);
        free(text);
        return 1;
    }
    int has_tokenizer = dsv3_model_has_tokenizer(model);
    if (text) {
        if (!has_tokenizer) {
            fprintf(stderr, "dsv3: %s has no tokenizer (tokenizer.ggml.tokens with merges): use --tokens ID,ID,...\n",
                    model_path);
            free(text);
            dsv3_model_free(model);
            return 1;
        }
        st = prompt_tokens(model, text, text_len, chat, special, add_bos, &prompt, &n_prompt);
        free(text);
        if (st) {
            fprintf(stderr, "dsv3: cannot tokenize the prompt: %s\n", dsv3_status_string(st));
            free(prompt);
            dsv3_model_free(model);
            return 1;
        }
        if (tokenize_only) {
            for (size_t i = 0; i < n_prompt; i++) printf("%s%d", i ? "," : "", prompt[i]);
            printf("\n");
            free(prompt);
            dsv3_model_free(model);
            return 0;
        }
    }
    size_t n_vocab = dsv3_model_n_vocab(model);
    if (n_prompt == 0) {
        int32_t bos = dsv3_model_token_bos(model);
        prompt = malloc(sizeof *prompt);
        if (!prompt) return 1;
        prompt[0] = bos >= 0 ? bos : 0;
        n_prompt = 1;
    }

    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_threads = (int32_t)n_threads;
    cp.n_batch = (uint32_t)n_batch;
    cp.kv_type = kv_type;
    cp.seed = (uint64_t)seed;
    dsv3_context *ctx = NULL;
    st = dsv3_context_create(model, &cp, &ctx);
    if (st) {
        fprintf(stderr, "dsv3: cannot create a context: %s\n", dsv3_status_string(st));
        dsv3_model_free(model);
        free(prompt);
        return 1;
    }

    int rc = 0;
    FILE *dump = NULL;
    float *all_logits = NULL;
    if (dump_path && !(dump = fopen_utf8(dump_path, "wb"))) {
        fprintf(stderr, "dsv3: cannot write %s: %s\n", dump_path, strerror(errno));
        rc = 1;
        goto out;
    }

    double t0 = now_seconds();
    const float *logits = NULL;
    if (!strcmp(prefill_mode, "step")) {
        for (size_t i = 0; i < n_prompt && !st; i++) {
            st = dsv3_step(ctx, prompt[i], &logits);
            if (!st && dump && !write_logits(dump, logits, n_vocab)) goto write_error;
        }
    } else {
        if (dump) {
            all_logits = malloc(n_prompt * n_vocab * sizeof *all_logits);
            if (!all_logits) {
                fprintf(stderr, "dsv3: out of memory for %zu x %zu logits\n", n_prompt, n_vocab);
                rc = 1;
                goto out;
            }
        }
        st = dsv3_prefill(ctx, prompt, n_prompt, all_logits);
        if (!st && dump && !write_logits(dump, all_logits, n_prompt * n_vocab)) goto write_error;
        logits = dsv3_context_logits(ctx);
    }
    if (st) {
        fprintf(stderr, "dsv3: prompt failed: %s\n", dsv3_context_last_error(ctx));
        rc = 1;
        goto out;
    }
    double t1 = now_seconds();

    long generated = 0;
    /* With a tokenizer, text streams out as it is generated (never half a
       UTF-8 character) and EOS ends the answer; without one, ids are printed. */
    dsv3_decoder decoder;
    dsv3_decoder_init(&decoder, 0);
    int32_t eos = dsv3_model_token_eos(model);
    for (; generated < n_predict; generated++) {
        int32_t next;
        st = dsv3_sample(ctx, &sampling, logits, &next);
        if (st) {
            fprintf(stderr, "\ndsv3: sampling failed: %s\n", dsv3_context_last_error(ctx));
            rc = 1;
            goto out;
        }
        if (has_tokenizer) {
            char piece[512];
            size_t n_piece = 0;
            if (next == eos) {
                generated++;
                break;
            }
            if (dsv3_decoder_push(model, &decoder, next, piece, sizeof piece, &n_piece) == DSV3_OK)
                fwrite(piece, 1, n_piece, stdout);
        } else {
            printf("%s%d", generated ? "," : "", next);
        }
        fflush(stdout);
        st = dsv3_step(ctx, next, &logits);
        if (st == DSV3_ERR_CONTEXT_FULL) {
            fprintf(stderr, "\ndsv3: context full after %zu positions\n", dsv3_context_position(ctx));
            generated++;
            break;
        }
        if (st) {
            fprintf(stderr, "\ndsv3: step failed: %s\n", dsv3_context_last_error(ctx));
            rc = 1;
            goto out;
        }
        if (dump && !write_logits(dump, logits, n_vocab)) goto write_error;
    }
    if (has_tokenizer) {
        char tail[8];
        size_t n_tail = 0;
        if (dsv3_decoder_flush(&decoder, tail, sizeof tail, &n_tail) == DSV3_OK) fwrite(tail, 1, n_tail, stdout);
    }
    if (n_predict) printf("\n");
    fflush(stdout); /* the report below starts a line of its own, even in a file shared with stdout */
    double t2 = now_seconds();

    size_t kv_per_token = dsv3_context_kv_bytes_per_token(ctx);
    fprintf(stderr, "dsv3: prompt %zu tokens, %.2f tok/s | generated %ld tokens, %.2f tok/s | "
                    "KV cache %zu bytes/token, %.1f MiB for %zu positions\n",
            n_prompt, n_prompt / (t1 - t0 > 1e-9 ? t1 - t0 : 1e-9), generated,
            generated / (t2 - t1 > 1e-9 ? t2 - t1 : 1e-9), kv_per_token,
            kv_per_token * (double)dsv3_context_n_ctx(ctx) / (1024.0 * 1024.0), dsv3_context_n_ctx(ctx));
    if (expert_stats) print_expert_stats(model, ctx);
    goto out;

write_error:
    fprintf(stderr, "dsv3: writing %s failed\n", dump_path);
    rc = 1;
out:
    if (dump && fclose(dump) != 0 && rc == 0) {
        fprintf(stderr, "dsv3: writing %s failed\n", dump_path);
        rc = 1;
    }
    free(all_logits);
    free(prompt);
    dsv3_context_free(ctx);
    dsv3_model_free(model);
    return rc;
}
