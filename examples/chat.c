/* dsv3-chat: a terminal chat with DeepSeek-V3's chat template.
 *
 *     build/dsv3-chat -m MODEL.gguf [-s SYSTEM] [-n N] [-c CTX] [--temp T] [--seed S] [-t THREADS]
 *
 * Each line on stdin is a user turn; the reply is streamed to stdout and a
 * speed line goes to stderr. Lines starting with / are commands:
 *     /reset        forget the conversation
 *     /save FILE    save the conversation (the context's state) to FILE
 *     /load FILE    resume a conversation saved by /save, in this or another process
 *     /quit         leave (so does end of input)
 * Ctrl-C stops a reply (through the context's abort callback and the token
 * callback); at the prompt it quits. Piped input works the same, so a script
 * can drive a session.
 *
 * The conversation lives in the context: each turn appends only its own tokens
 * (the template of one user message, without BOS after the first turn), and
 * each reply is closed with EOS as the template writes it. So /save and /load
 * need nothing but the context's state.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, in platform.h */
#include "dsv3.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#  include <io.h>
#  define isatty _isatty
#  define fileno _fileno
#else
#  include <unistd.h>
#endif

#include "platform.h" /* now_seconds, utf8_args, binary_stdout */

static volatile sig_atomic_t generating, interrupted;

static void on_sigint(int sig) {
    (void)sig;
    if (!generating) _Exit(130);
    interrupted = 1;
    signal(SIGINT, on_sigint);
}

static int32_t stop_requested(void *user) {
    (void)user;
    return interrupted;
}

static int32_t print_text(void *user, int32_t token, const char *text, size_t len) {
    (void)user;
    (void)token;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return interrupted;
}

typedef struct chat {
    dsv3_model *model;
    dsv3_context *ctx;
    dsv3_sampling_params sampling;
    const char *system;
    int32_t max_tokens;
} chat;

/* The tokens of one user turn and the assistant prompt after it. */
static int32_t turn_tokens(const chat *c, const char *user_text, int32_t **tokens, size_t *n_tokens) {
    dsv3_chat_message msgs[2] = {{"system", c->system}, {"user", user_text}};
    int first = dsv3_context_position(c->ctx) == 0;
    const dsv3_chat_message *turn = first && c->system ? msgs : msgs + 1;
    size_t n_msgs = first && c->system ? 2 : 1, len = 0;
    int32_t st = dsv3_chat_format(c->model, turn, n_msgs, 1, DSV3_CHAT_AUTO, NULL, 0, &len);
    if (st != DSV3_ERR_BUFFER_TOO_SMALL) return st;
    char *text = (char *)malloc(len + 1);
    if (!text) return DSV3_ERR_OUT_OF_MEMORY;
    st = dsv3_chat_format(c->model, turn, n_msgs, 1, DSV3_CHAT_AUTO, text, len + 1, &len);
    size_t n = 0;
    if (st == DSV3_OK) { /* count, then encode: no BOS of our own, special tokens parsed */
        st = dsv3_tokenize(c->model, text, len, 0, 1, NULL, 0, &n);
        if (st == DSV3_ERR_BUFFER_TOO_SMALL) st = DSV3_OK;
    }
    if (st == DSV3_OK) {
        *tokens = (int32_t *)malloc((n + 1) * sizeof(int32_t));
        st = *tokens ? dsv3_tokenize(c->model, text, len, 0, 1, *tokens, n, &n) : DSV3_ERR_OUT_OF_MEMORY;
    }
    free(text);
    /* The template starts with BOS; only the conversation's first turn keeps it. */
    if (st == DSV3_OK && !first && n && (*tokens)[0] == dsv3_model_token_bos(c->model)) {
        memmove(*tokens, *tokens + 1, --n * sizeof(int32_t));
    }
    *n_tokens = n;
    return st;
}

static void reply(chat *c, const char *user_text) {
    int32_t *tokens = NULL;
    size_t n = 0, pos = dsv3_context_position(c->ctx);
    int32_t st = turn_tokens(c, user_text, &tokens, &n);
    if (st == DSV3_OK && pos + n + 1 > dsv3_context_n_ctx(c->ctx)) {
        fprintf(stderr, "[the context is full (%zu of %zu positions): /reset or /save and start again]\n", pos,
                dsv3_context_n_ctx(c->ctx));
        free(tokens);
        return;
    }
    interrupted = 0;
    generating = 1;
    double t0 = now_seconds();
    if (st == DSV3_OK) st = dsv3_prefill(c->ctx, tokens, n, NULL);
    double t1 = now_seconds();
    free(tokens);
    int32_t why = DSV3_STOP_ERROR;
    size_t n_reply = 0;
    if (st == DSV3_OK) {
        dsv3_generate_params gp;
        dsv3_generate_default_params(&gp);
        gp.sampling = &c->sampling;
        gp.max_tokens = c->max_tokens;
        gp.on_token = print_text;
        st = dsv3_generate(c->ctx, &gp, &why, &n_reply);
    }
    double t2 = now_seconds();
    /* Close the turn as the template does, whatever ended the reply. */
    int32_t eos = dsv3_model_token_eos(c->model);
    if (st == DSV3_OK && eos >= 0 && dsv3_context_position(c->ctx) < dsv3_context_n_ctx(c->ctx))
        st = dsv3_step(c->ctx, eos, NULL);
    generating = 0;
    printf("\n");
    fflush(stdout);
    if (st == DSV3_ERR_ABORTED || (st == DSV3_OK && why == DSV3_STOP_CALLBACK))
        fprintf(stderr, "[interrupted]\n");
    else if (st != DSV3_OK)
        fprintf(stderr, "[error: %s: %s]\n", dsv3_status_string(st), dsv3_context_last_error(c->ctx));
    fprintf(stderr, "[prompt %zu tokens, %.1f tok/s; reply %zu tokens, %.1f tok/s; context %zu/%zu]\n", n,
            t1 > t0 ? (double)n / (t1 - t0) : 0.0, n_reply, t2 > t1 ? (double)n_reply / (t2 - t1) : 0.0,
            dsv3_context_position(c->ctx), dsv3_context_n_ctx(c->ctx));
}

static void command(chat *c, const char *line) {
    const char *arg = strchr(line, ' ');
    arg = arg ? arg + 1 : "";
    int32_t st = DSV3_OK;
    if (!strcmp(line, "/reset")) {
        st = dsv3_context_rewind(c->ctx, 0);
        fprintf(stderr, "[conversation cleared]\n");
    } else if (!strncmp(line, "/save ", 6) && *arg) {
        st = dsv3_context_state_save_file(c->ctx, arg);
        if (st == DSV3_OK) fprintf(stderr, "[saved %zu tokens to %s]\n", dsv3_context_position(c->ctx), arg);
    } else if (!strncmp(line, "/load ", 6) && *arg) {
        st = dsv3_context_state_load_file(c->ctx, arg);
        if (st == DSV3_OK) fprintf(stderr, "[loaded %zu tokens from %s]\n", dsv3_context_position(c->ctx), arg);
    } else {
        fprintf(stderr, "[commands: /reset, /save FILE, /load FILE, /quit]\n");
    }
    if (st != DSV3_OK) fprintf(stderr, "[%s: %s]\n", dsv3_status_string(st), dsv3_context_last_error(c->ctx));
}

/* -h/--help: to stdout, status 0; a bad command line: to stderr, status 2. */
static int usage(FILE *out) {
    fprintf(out, "usage: dsv3-chat -m MODEL.gguf [-s SYSTEM] [-n MAX_REPLY_TOKENS] [-c CTX] [--temp T] [--seed S]\n"
                 "                 [-t THREADS]\n");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
    utf8_args(&argc, &argv);
    binary_stdout();
    const char *path = NULL;
    chat c = {NULL, NULL, {0}, NULL, 256};
    dsv3_sampling_default_params(&c.sampling);
    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    for (int i = 1; i < argc; i += 2) { /* every option but -h takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!v) return usage(stderr);
        if (!strcmp(a, "-m")) path = v;
        else if (!strcmp(a, "-s")) c.system = v;
        else if (!strcmp(a, "-n")) c.max_tokens = atoi(v);
        else if (!strcmp(a, "-c")) cp.n_ctx = (uint32_t)atol(v);
        else if (!strcmp(a, "-t")) cp.n_threads = atoi(v);
        else if (!strcmp(a, "--temp")) c.sampling.temperature = (float)atof(v);
        else if (!strcmp(a, "--seed")) cp.seed = strtoull(v, NULL, 10);
        else return usage(stderr);
    }
    if (!path || c.max_tokens < 0) return usage(stderr);
    char error[256];
    if (dsv3_model_load(path, NULL, &c.model, error, sizeof error) != DSV3_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    if (!dsv3_model_has_tokenizer(c.model)) {
        fprintf(stderr, "%s has no tokenizer\n", path);
        dsv3_model_free(c.model);
        return 1;
    }
    cp.abort_cb = stop_requested;
    int32_t st = dsv3_context_create(c.model, &cp, &c.ctx);
    if (st != DSV3_OK) {
        fprintf(stderr, "cannot create a context: %s\n", dsv3_status_string(st));
        dsv3_model_free(c.model);
        return 1;
    }
    signal(SIGINT, on_sigint);
    int interactive = isatty(fileno(stdin));
    static char line[1 << 16];
    for (;;) {
        if (interactive) fputs("> ", stderr);
        if (!fgets(line, sizeof line, stdin)) break;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        if (!strcmp(line, "/quit")) break;
        if (line[0] == '/') command(&c, line);
        else reply(&c, line);
    }
    dsv3_context_free(c.ctx);
    dsv3_model_free(c.model);
    return 0;
}
