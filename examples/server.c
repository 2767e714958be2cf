/* dsv3-server: an OpenAI-compatible HTTP server on dsv3's public API.
 *
 *     build/dsv3-server -m MODEL.gguf [--host 127.0.0.1] [--port 8080] [--slots N] [-c CTX] [-t THREADS]
 *                       [--api-key KEY] [--timeout SECONDS] [--max-body BYTES] [--max-conns N]
 *
 * Serves POST /v1/chat/completions, POST /v1/completions, GET /v1/models and
 * GET /health. One model, one context per slot; a request takes the free slot
 * whose cached tokens share the longest prefix with its prompt and prefills
 * only the rest, so the next turn of a chat does not prefill the history
 * again. Requests wait while every slot is busy.
 *
 * Each connection gets a thread (at most --max-conns), serves one request and
 * is closed (Connection: close), which keeps time-outs and limits simple: the
 * head and body must arrive within --timeout seconds in all, the head within
 * 16 KiB and the body within --max-body bytes. A client that goes away stops
 * its generation: the context's abort callback notices the closed socket, and
 * so does a failed send. SIGINT/SIGTERM stop accepting, abort what is running,
 * wait for the connections' threads and free everything.
 *
 * POSIX only (sockets, pthreads, poll); not built for Windows.
 */
#define _POSIX_C_SOURCE 200809L
#include "dsv3.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "server_http.h"
#include "tool_calls.h"

#ifndef MSG_NOSIGNAL
#  define MSG_NOSIGNAL 0 /* SIGPIPE is ignored as well */
#endif

#define MAX_HEAD   (16 * 1024)
#define JSON_DEPTH 64
#define MAX_STOPS  4 /* as OpenAI allows */
#define MAX_CHOICES 8 /* n: answers to one prompt, generated one after another */

/* Set by SIGINT/SIGTERM; read by every thread (the only global state). */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

typedef struct server_config {
    const char *model_path, *host, *api_key;
    int port, n_slots, timeout_s, max_conns;
    size_t max_body;
    uint32_t n_ctx;
    int32_t n_threads;
} server_config;

typedef struct slot {
    dsv3_context *ctx;
    int busy;          /* guarded by server.lock */
    int client_fd;     /* the request's socket, polled by the abort callback */
    atomic_int cancel; /* the client went away (a failed send) */
} slot;

typedef struct server {
    server_config cfg;
    dsv3_model *model;
    char model_id[256];
    time_t started;
    slot *slots;
    pthread_mutex_t lock;
    pthread_cond_t slot_freed, conn_done;
    int32_t tool_tokens[5]; /* TOOL_* token ids, -1 where the vocabulary has none */
    int *conn_fds; /* cfg.max_conns entries, -1 when unused; guarded by lock */
    int n_conns;
    atomic_ulong next_id;
} server;

/* ---- Sockets -------------------------------------------------------------- */
static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int send_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1; /* includes the send time-out (SO_SNDTIMEO) */
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Receives into buf until the deadline; >0 bytes, 0 at end of stream, -1 on
 * error or time-out. */
static ssize_t recv_until(int fd, char *buf, size_t size, double deadline) {
    for (;;) {
        double left = deadline - now_seconds();
        if (left <= 0 || stop_requested) return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int ms = left > 0.25 ? 250 : (int)(left * 1000) + 1; /* wake to see stop_requested */
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR) return -1;
        if (r <= 0) continue;
        ssize_t n = recv(fd, buf, size, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        return n;
    }
}

/* Whether the peer closed its side (or the socket failed), without blocking.
 * Bytes after the request (a stray CRLF, a pipelined request) are read and
 * dropped: one request per connection, and unread bytes would hide the end of
 * the stream. */
static int peer_gone(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLERR | POLLNVAL)) return 1;
    char sink[256];
    ssize_t n = recv(fd, sink, sizeof sink, 0);
    return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Closing with unread input makes the kernel send a reset, which can destroy
 * the response before the client reads it (a 413 skips the body): stop
 * writing, drain for a moment, then close. */
static void close_gracefully(int fd) {
    shutdown(fd, SHUT_WR);
    char sink[4096];
    double deadline = now_seconds() + 1.0;
    size_t drained = 0;
    while (drained < (1u << 20)) {
        ssize_t n = recv_until(fd, sink, sizeof sink, deadline);
        if (n <= 0) break;
        drained += (size_t)n;
    }
    close(fd);
}

/* ---- Responses ------------------------------------------------------------ */
static const char *status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

static int send_response(int fd, int status, const char *extra_headers, const char *body, size_t body_len) {
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     status, status_text(status), body_len, extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof head) return -1;
    if (send_all(fd, head, (size_t)n)) return -1;
    return send_all(fd, body, body_len);
}

/* The error object of the OpenAI API: message, type, param and code. */
static void error_json(sbuf *b, const char *type, const char *message, const char *param, const char *code) {
    sbuf_str(b, "{\"error\":{\"message\":");
    sbuf_json_string(b, message, strlen(message));
    sbuf_str(b, ",\"type\":");
    sbuf_json_string(b, type, strlen(type));
    sbuf_str(b, ",\"param\":");
    if (param) sbuf_json_string(b, param, strlen(param));
    else sbuf_str(b, "null");
    sbuf_str(b, ",\"code\":");
    if (code) sbuf_json_string(b, code, strlen(code));
    else sbuf_str(b, "null");
    sbuf_str(b, "}}");
}

static void send_error(int fd, int status, const char *message, const char *param, const char *code,
                       const char *extra_headers) {
    const char *type = status == 401 ? "authentication_error"
                     : status >= 500 ? "server_error"
                     : status == 404 ? "not_found_error"
                                     : "invalid_request_error";
    sbuf b = {0};
    error_json(&b, type, message, param, code);
    if (!b.failed) send_response(fd, status, extra_headers, b.data, b.len);
    sbuf_free(&b);
}

/* ---- Requests ------------------------------------------------------------- */
/* What a completion request asks for, checked. */
typedef struct gen_request {
    int chat, stream, include_usage;
    int cache_prompt; /* 0: prefill the whole prompt, for results that do not
                         depend on what a slot held before */
    int32_t *prompt;
    size_t n_prompt;
    int32_t max_tokens; /* 0: until the context is full */
    dsv3_sampling_params sampling;
    uint64_t seed;
    const char *stops[MAX_STOPS];
    size_t n_stops;
    int tools; /* tools were offered: generated tool calls become tool_calls */
    int n_choices;
    int logprobs, top_logprobs; /* each token's log-probability, and the most likely alternatives' */
    int echo;       /* completions: the answer starts with the prompt */
    size_t echo_from; /* the prompt's first token to show (1 past a BOS the server added) */
    int generate;   /* 0: max_tokens 0 (echo only) */
} gen_request;

/* DeepSeek's tool-call tokens (dsv3-tokenizer.md §2), as server.tool_tokens. */
enum { TOOL_CALLS_BEGIN, TOOL_CALLS_END, TOOL_CALL_BEGIN, TOOL_CALL_END, TOOL_SEP };
static const char *const tool_token_text[5] = {
    "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>",
    "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>",
    "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>",
    "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>",
    "<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>",
};

/* A request error: the status, message and offending parameter. */
typedef struct req_error {
    int status;
    char message[256];
    const char *param, *code;
} req_error;

static int fail(req_error *e, int status, const char *param, const char *code, const char *message) {
    e->status = status;
    e->param = param;
    e->code = code;
    snprintf(e->message, sizeof e->message, "%s", message);
    return -1;
}

/* A number member within [lo, hi]; absent or null leaves *out as it is. */
static int get_number(const json_doc *doc, const json_node *root, const char *name, double lo, double hi,
                      double *out, req_error *e) {
    const json_node *v = json_get(doc, root, name);
    if (!v || v->type == JSON_NULL) return 0;
    char msg[128];
    if (v->type != JSON_NUMBER) {
        snprintf(msg, sizeof msg, "'%s' must be a number", name);
        return fail(e, 400, name, "invalid_type", msg);
    }
    if (!(v->number >= lo && v->number <= hi)) {
        snprintf(msg, sizeof msg, "'%s' must be between %g and %g", name, lo, hi);
        return fail(e, 400, name, "invalid_value", msg);
    }
    *out = v->number;
    return 0;
}

static int get_integer(const json_doc *doc, const json_node *root, const char *name, double lo, double hi,
                       double *out, req_error *e) {
    double v = *out;
    if (get_number(doc, root, name, lo, hi, &v, e)) return -1;
    if (v != (double)(int64_t)v) {
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' must be an integer", name);
        return fail(e, 400, name, "invalid_type", msg);
    }
    *out = v;
    return 0;
}

static int get_bool(const json_doc *doc, const json_node *root, const char *name, int *out, req_error *e) {
    const json_node *v = json_get(doc, root, name);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' must be a boolean", name);
        return fail(e, 400, name, "invalid_type", msg);
    }
    *out = v->type == JSON_TRUE;
    return 0;
}

/* Text the library takes NUL-terminated must not hold a NUL of its own. */
static int plain_text(const json_doc *doc, const json_node *v) {
    return strlen(json_str(doc, v)) == v->str_len;
}

static uint64_t mix64(uint64_t x) { /* splitmix64's finalizer */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The sampling and stopping members both endpoints share. */
static int parse_common(server *s, const json_doc *doc, const json_node *root, gen_request *r, req_error *e) {
    dsv3_sampling_default_params(&r->sampling);
    /* OpenAI's defaults: temperature 1, top_p 1, nothing else cut. */
    double temperature = 1, top_p = 1, top_k = 0, min_p = 0, n = 1;
    double max_tokens = 0, seed = -1;
    int has_seed = json_get(doc, root, "seed") && json_get(doc, root, "seed")->type != JSON_NULL;
    if (get_number(doc, root, "temperature", 0, 2, &temperature, e) ||
        get_number(doc, root, "top_p", 0, 1, &top_p, e) ||
        get_integer(doc, root, "top_k", 0, 1e9, &top_k, e) ||
        get_number(doc, root, "min_p", 0, 1, &min_p, e) ||
        get_integer(doc, root, "n", 1, MAX_CHOICES, &n, e) ||
        get_integer(doc, root, "max_tokens", 0, 1e9, &max_tokens, e) ||
        get_integer(doc, root, "max_completion_tokens", 0, 1e9, &max_tokens, e) ||
        get_integer(doc, root, "seed", -9.2e18, 9.2e18, &seed, e) ||
        get_bool(doc, root, "stream", &r->stream, e) ||
        get_bool(doc, root, "cache_prompt", &r->cache_prompt, e))
        return -1;
    r->sampling.temperature = (float)temperature;
    r->sampling.top_p = (float)top_p;
    r->sampling.top_k = (int32_t)top_k;
    r->sampling.min_p = (float)min_p;
    r->max_tokens = (int32_t)max_tokens;
    /* 0 tokens: scoring the prompt (echo with logprobs); absent: until full */
    const json_node *mt = json_get(doc, root, "max_tokens");
    if (!mt || mt->type == JSON_NULL) mt = json_get(doc, root, "max_completion_tokens");
    r->generate = !(mt && mt->type == JSON_NUMBER && mt->number == 0);
    r->n_choices = (int)n;
    r->seed = has_seed ? (uint64_t)(int64_t)seed
                       : mix64((uint64_t)time(NULL) ^ mix64(atomic_fetch_add(&s->next_id, 1)));

    const json_node *opts = json_get(doc, root, "stream_options");
    if (opts && opts->type != JSON_NULL) {
        if (opts->type != JSON_OBJECT) return fail(e, 400, "stream_options", "invalid_type",
                                                    "'stream_options' must be an object");
        if (get_bool(doc, opts, "include_usage", &r->include_usage, e)) return -1;
    }

    const json_node *stop = json_get(doc, root, "stop");
    if (stop && stop->type == JSON_STRING) {
        if (stop->str_len) r->stops[r->n_stops++] = json_str(doc, stop);
    } else if (stop && stop->type == JSON_ARRAY) {
        if (stop->n_children > MAX_STOPS) return fail(e, 400, "stop", "invalid_value", "'stop' takes at most 4 strings");
        for (const json_node *v = json_first(doc, stop); v; v = json_next(doc, v)) {
            if (v->type != JSON_STRING) return fail(e, 400, "stop", "invalid_type", "'stop' must hold strings");
            if (v->str_len && plain_text(doc, v)) r->stops[r->n_stops++] = json_str(doc, v);
        }
    } else if (stop && stop->type != JSON_NULL) {
        return fail(e, 400, "stop", "invalid_type", "'stop' must be a string or an array of strings");
    }
    return 0;
}

/* Text -> tokens into r->prompt. */
static int tokenize_prompt(server *s, const char *text, size_t len, int32_t add_bos, gen_request *r, req_error *e) {
    size_t n = 0;
    int32_t st = dsv3_tokenize(s->model, text, len, add_bos, 1, NULL, 0, &n);
    if (st == DSV3_OK || st == DSV3_ERR_BUFFER_TOO_SMALL) {
        r->prompt = (int32_t *)malloc((n ? n : 1) * sizeof(int32_t));
        st = r->prompt ? dsv3_tokenize(s->model, text, len, add_bos, 1, r->prompt, n, &n) : DSV3_ERR_OUT_OF_MEMORY;
    }
    if (st != DSV3_OK) return fail(e, 500, NULL, NULL, dsv3_status_string(st));
    r->n_prompt = n;
    return 0;
}

/* One message's content: a string, null, or an array of {"type":"text"} parts
 * (joined; *owned receives what must be freed). */
static int message_content(const json_doc *doc, const json_node *content, const char **out, char **owned,
                           req_error *e) {
    if (!content || content->type == JSON_NULL) {
        *out = "";
        return 0;
    }
    if (content->type == JSON_STRING) {
        if (!plain_text(doc, content)) return fail(e, 400, "messages", "invalid_value", "content must not contain NUL");
        *out = json_str(doc, content);
        return 0;
    }
    if (content->type != JSON_ARRAY)
        return fail(e, 400, "messages", "invalid_type", "a message's content must be a string or an array of parts");
    sbuf joined = {0};
    sbuf_add(&joined, "", 0);
    for (const json_node *part = json_first(doc, content); part; part = json_next(doc, part)) {
        const json_node *type = json_get(doc, part, "type"), *text = json_get(doc, part, "text");
        if (!type || type->type != JSON_STRING || strcmp(json_str(doc, type), "text") != 0 || !text ||
            text->type != JSON_STRING || !plain_text(doc, text)) {
            sbuf_free(&joined);
            return fail(e, 400, "messages", "invalid_value", "only content parts of type 'text' are supported");
        }
        sbuf_add(&joined, json_str(doc, text), text->str_len);
    }
    if (joined.failed) {
        sbuf_free(&joined);
        return fail(e, 500, NULL, NULL, "out of memory");
    }
    *out = *owned = joined.data;
    return 0;
}

/* What parse_chat allocates, freed together. */
typedef struct owned_list {
    void **items;
    size_t n, cap;
} owned_list;

static void *own(owned_list *o, void *p) {
    if (!p) return NULL;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        void **items = (void **)realloc(o->items, cap * sizeof *items);
        if (!items) {
            free(p);
            return NULL;
        }
        o->items = items;
        o->cap = cap;
    }
    return o->items[o->n++] = p;
}

static void own_free(owned_list *o) {
    for (size_t i = 0; i < o->n; i++) free(o->items[i]);
    free(o->items);
}

/* A JSON value as compact text (owned), or NULL when out of memory. */
static const char *json_text(owned_list *o, const json_doc *doc, const json_node *v) {
    sbuf b = {0};
    json_write(&b, doc, v);
    if (b.failed || !b.data) {
        sbuf_free(&b);
        return NULL;
    }
    return (const char *)own(o, b.data);
}

/* A non-empty string member, or NULL. */
static const char *string_member(const json_doc *doc, const json_node *object, const char *name) {
    const json_node *v = json_get(doc, object, name);
    return v && v->type == JSON_STRING && v->str_len && plain_text(doc, v) ? json_str(doc, v) : NULL;
}

/* OpenAI's tools: [{"type": "function", "function": {"name", "description", "parameters"}}]. */
static int parse_tools(const json_doc *doc, const json_node *root, owned_list *o, dsv3_tool **out, size_t *n_out,
                       req_error *e) {
    const json_node *tools = json_get(doc, root, "tools"), *choice = json_get(doc, root, "tool_choice");
    *out = NULL;
    *n_out = 0;
    if (!tools || tools->type == JSON_NULL) return 0;
    if (tools->type != JSON_ARRAY) return fail(e, 400, "tools", "invalid_type", "'tools' must be an array");
    if (choice && choice->type == JSON_STRING && !strcmp(json_str(doc, choice), "none")) return 0;
    if (!tools->n_children) return 0;
    dsv3_tool *list = (dsv3_tool *)own(o, calloc(tools->n_children, sizeof *list));
    if (!list) return fail(e, 500, NULL, NULL, "out of memory");
    size_t n = 0;
    for (const json_node *t = json_first(doc, tools); t; t = json_next(doc, t), n++) {
        const json_node *fn = json_get(doc, t, "function");
        const char *type = string_member(doc, t, "type");
        if (!type || strcmp(type, "function") || !fn || fn->type != JSON_OBJECT || !string_member(doc, fn, "name"))
            return fail(e, 400, "tools", "invalid_value",
                        "each tool must be {\"type\": \"function\", \"function\": {\"name\": ...}}");
        list[n].name = string_member(doc, fn, "name");
        list[n].description = string_member(doc, fn, "description");
        const json_node *params = json_get(doc, fn, "parameters");
        if (params && params->type != JSON_NULL) {
            if (params->type != JSON_OBJECT)
                return fail(e, 400, "tools", "invalid_type", "a tool's 'parameters' must be a JSON Schema object");
            if (!(list[n].parameters = json_text(o, doc, params))) return fail(e, 500, NULL, NULL, "out of memory");
        }
    }
    *out = list;
    *n_out = n;
    return 0;
}

/* An assistant message's tool_calls: [{"type": "function", "function": {"name", "arguments"}}]. */
static int parse_tool_calls(const json_doc *doc, const json_node *calls, owned_list *o, dsv3_chat_turn *turn,
                            req_error *e) {
    if (!calls || calls->type == JSON_NULL) return 0;
    if (calls->type != JSON_ARRAY) return fail(e, 400, "messages", "invalid_type", "'tool_calls' must be an array");
    if (!calls->n_children) return 0;
    dsv3_tool_call *list = (dsv3_tool_call *)own(o, calloc(calls->n_children, sizeof *list));
    if (!list) return fail(e, 500, NULL, NULL, "out of memory");
    size_t n = 0;
    for (const json_node *c = json_first(doc, calls); c; c = json_next(doc, c), n++) {
        const json_node *fn = json_get(doc, c, "function");
        const json_node *args = fn ? json_get(doc, fn, "arguments") : NULL;
        if (!fn || fn->type != JSON_OBJECT || !string_member(doc, fn, "name") || !args ||
            (args->type != JSON_STRING && args->type != JSON_OBJECT) ||
            (args->type == JSON_STRING && !plain_text(doc, args)))
            return fail(e, 400, "messages", "invalid_value",
                        "each tool call must have a function with a 'name' and 'arguments' (a JSON string)");
        list[n].name = string_member(doc, fn, "name");
        list[n].arguments = args->type == JSON_STRING ? json_str(doc, args) : json_text(o, doc, args);
        if (!list[n].arguments) return fail(e, 500, NULL, NULL, "out of memory");
    }
    turn->tool_calls = list;
    turn->n_tool_calls = n;
    return 0;
}

/* messages (and tools) -> the chat template's text -> tokens. */
static int parse_chat(server *s, const json_doc *doc, const json_node *root, gen_request *r, req_error *e) {
    double top = 0;
    if (get_bool(doc, root, "logprobs", &r->logprobs, e) || get_integer(doc, root, "top_logprobs", 0, 20, &top, e))
        return -1;
    r->top_logprobs = (int)top;
    if (!r->generate) return fail(e, 400, "max_tokens", "invalid_value", "'max_tokens' must be at least 1");
    const json_node *msgs = json_get(doc, root, "messages");
    if (!msgs) return fail(e, 400, "messages", "missing_required_parameter", "'messages' is required");
    if (msgs->type != JSON_ARRAY) return fail(e, 400, "messages", "invalid_type", "'messages' must be an array");
    if (!msgs->n_children) return fail(e, 400, "messages", "invalid_value", "'messages' must not be empty");
    owned_list o = {NULL, 0, 0};
    dsv3_tool *tools = NULL;
    size_t n_tools = 0, n = msgs->n_children;
    int rc = parse_tools(doc, root, &o, &tools, &n_tools, e);
    r->tools = n_tools > 0;
    dsv3_chat_turn *list = rc ? NULL : (dsv3_chat_turn *)own(&o, calloc(n, sizeof *list));
    if (!rc && !list) rc = fail(e, 500, NULL, NULL, "out of memory");
    size_t i = 0;
    for (const json_node *m = json_first(doc, msgs); m && !rc; m = json_next(doc, m), i++) {
        const json_node *role = m->type == JSON_OBJECT ? json_get(doc, m, "role") : NULL;
        if (!role || role->type != JSON_STRING) {
            rc = fail(e, 400, "messages", "invalid_type", "each message must be an object with a string 'role'");
            break;
        }
        const char *name = json_str(doc, role);
        if (!strcmp(name, "developer")) name = "system"; /* OpenAI's newer name for it */
        if (strcmp(name, "system") && strcmp(name, "user") && strcmp(name, "assistant") && strcmp(name, "tool")) {
            rc = fail(e, 400, "messages", "invalid_value", "a message's role must be system, developer, user, assistant or tool");
            break;
        }
        list[i].role = name;
        char *joined = NULL;
        const json_node *content = json_get(doc, m, "content");
        rc = message_content(doc, content, &list[i].content, &joined, e);
        own(&o, joined);
        if (!rc && !strcmp(name, "assistant")) {
            rc = parse_tool_calls(doc, json_get(doc, m, "tool_calls"), &o, &list[i], e);
            /* calls without content: the template's own form for them */
            if (!rc && list[i].n_tool_calls && (!content || content->type == JSON_NULL || !*list[i].content))
                list[i].content = NULL;
        }
    }
    /* DeepSeek-V3.1's thinking mode, asked for as vLLM and SGLang do */
    int32_t style = DSV3_CHAT_AUTO;
    const json_node *kwargs = json_get(doc, root, "chat_template_kwargs");
    int thinking = 0;
    if (!rc && kwargs && kwargs->type == JSON_OBJECT) rc = get_bool(doc, kwargs, "thinking", &thinking, e);
    if (thinking && dsv3_model_chat_style(s->model) == DSV3_CHAT_DEEPSEEK_V31) style = DSV3_CHAT_DEEPSEEK_V31_THINKING;
    char *text = NULL;
    size_t len = 0;
    if (!rc) {
        int32_t st = dsv3_chat_format_turns(s->model, list, n, tools, n_tools, 1, style, NULL, 0, &len);
        if (st == DSV3_ERR_BUFFER_TOO_SMALL && (text = (char *)malloc(len + 1)) != NULL)
            st = dsv3_chat_format_turns(s->model, list, n, tools, n_tools, 1, style, text, len + 1, &len);
        if (st != DSV3_OK) rc = fail(e, 500, NULL, NULL, text ? dsv3_status_string(st) : "out of memory");
    }
    /* The template's text starts with BOS and holds its special tokens. */
    if (!rc) rc = tokenize_prompt(s, text, len, 0, r, e);
    free(text);
    own_free(&o);
    return rc;
}

static int parse_completion(server *s, const json_doc *doc, const json_node *root, gen_request *r, req_error *e) {
    /* the legacy API's logprobs: how many alternatives to list, 0-5 (null: none) */
    double top = -1;
    if (get_integer(doc, root, "logprobs", 0, 5, &top, e)) return -1;
    r->logprobs = top >= 0;
    r->top_logprobs = top >= 0 ? (int)top : 0;
    if (get_bool(doc, root, "echo", &r->echo, e)) return -1;
    if (!r->generate && !r->echo)
        return fail(e, 400, "max_tokens", "invalid_value", "'max_tokens' 0 needs 'echo' (scoring the prompt)");
    const json_node *prompt = json_get(doc, root, "prompt");
    if (!prompt) return fail(e, 400, "prompt", "missing_required_parameter", "'prompt' is required");
    if (prompt->type == JSON_ARRAY && prompt->n_children == 1 && json_first(doc, prompt)->type == JSON_STRING)
        prompt = json_first(doc, prompt); /* ["text"]: one prompt */
    if (prompt->type == JSON_STRING) {
        if (tokenize_prompt(s, json_str(doc, prompt), prompt->str_len, 1, r, e)) return -1;
        r->echo_from = r->n_prompt && r->prompt[0] == dsv3_model_token_bos(s->model); /* past the BOS added here */
        return 0;
    }
    if (prompt->type != JSON_ARRAY || !prompt->n_children)
        return fail(e, 400, "prompt", "invalid_type", "'prompt' must be a string, or an array of token ids");
    /* An array of token ids. */
    r->prompt = (int32_t *)malloc(prompt->n_children * sizeof(int32_t));
    if (!r->prompt) return fail(e, 500, NULL, NULL, "out of memory");
    double n_vocab = (double)dsv3_model_n_vocab(s->model);
    for (const json_node *v = json_first(doc, prompt); v; v = json_next(doc, v)) {
        /* The range first: converting a huge double to an integer is undefined. */
        if (v->type != JSON_NUMBER || !(v->number >= 0 && v->number < n_vocab) || v->number != (double)(int32_t)v->number)
            return fail(e, 400, "prompt", "invalid_value",
                        "'prompt' must be one string or an array of token ids within the vocabulary");
        r->prompt[r->n_prompt++] = (int32_t)v->number;
    }
    return 0;
}

/* ---- Slots ---------------------------------------------------------------- */
static int32_t slot_should_abort(void *user) {
    slot *sl = (slot *)user;
    return stop_requested || atomic_load(&sl->cancel) || peer_gone(sl->client_fd);
}

static size_t common_prefix(const int32_t *a, size_t n_a, const int32_t *b, size_t n_b) {
    size_t n = 0;
    while (n < n_a && n < n_b && a[n] == b[n]) n++;
    return n;
}

/* Waits for a free slot and takes the one whose cache shares the longest
 * prefix with the prompt. NULL when the server stops or the client leaves. */
static slot *acquire_slot(server *s, const int32_t *prompt, size_t n_prompt, int fd, size_t *cached) {
    pthread_mutex_lock(&s->lock);
    slot *best = NULL;
    while (!best) {
        size_t best_len = 0;
        for (int i = 0; i < s->cfg.n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->busy) continue;
            size_t len = common_prefix(dsv3_context_tokens(sl->ctx), dsv3_context_position(sl->ctx), prompt, n_prompt);
            if (!best || len > best_len) best = sl, best_len = len;
        }
        if (best) {
            best->busy = 1;
            best->client_fd = fd;
            atomic_store(&best->cancel, 0);
            *cached = best_len;
            break;
        }
        if (stop_requested || peer_gone(fd)) break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->slot_freed, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return best;
}

static void release_slot(server *s, slot *sl) {
    pthread_mutex_lock(&s->lock);
    sl->busy = 0;
    sl->client_fd = -1;
    pthread_cond_signal(&s->slot_freed);
    pthread_mutex_unlock(&s->lock);
}

/* ---- Generation ----------------------------------------------------------- */
typedef struct generation {
    server *s;
    const gen_request *r;
    slot *sl;
    int fd;
    char id[48];
    long long created;
    sbuf text;       /* the whole reply (not streamed) */
    int client_gone; /* a send failed */
    /* tool calls: inside <｜tool▁calls▁begin｜>..., the current call's text and
       where its part after <｜tool▁sep｜> starts; the finished calls as JSON */
    int in_calls, n_calls;
    sbuf call, calls;
    size_t call_sep;
    int index; /* the choice's */
    /* logprobs: the distribution the next token is drawn from (raw logits,
       before temperature and filters, as OpenAI reports them); the entries
       so far (chat: content items; completions: the four arrays' members),
       and those not yet streamed */
    float *prev;
    size_t n_vocab, text_offset;
    int n_logprobs;
    sbuf lp, lp_tokens, lp_values, lp_top, lp_offsets;
    size_t streamed[5]; /* how much of lp, lp_tokens, ... the stream has sent */
} generation;

/* Starts a chunk of the stream: the envelope up to the choice's content. */
static void chunk_begin(sbuf *b, const generation *g) {
    sbuf_printf(b, "data: {\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":", g->id,
                g->r->chat ? "chat.completion.chunk" : "text_completion", g->created);
    sbuf_json_string(b, g->s->model_id, strlen(g->s->model_id));
    sbuf_str(b, ",\"choices\":[");
}

static void logprobs_json(sbuf *b, generation *g, int stream);

static void stream_text(generation *g, const char *text, size_t len, const char *finish_reason) {
    sbuf b = {0};
    chunk_begin(&b, g);
    if (g->r->chat) {
        sbuf_printf(&b, "{\"index\":%d,\"delta\":", g->index);
        if (finish_reason) sbuf_str(&b, "{}");
        else if (!text) sbuf_str(&b, "{\"role\":\"assistant\",\"content\":\"\"}");
        else {
            sbuf_str(&b, "{\"content\":");
            sbuf_json_string(&b, text, len);
            sbuf_str(&b, "}");
        }
    } else {
        sbuf_str(&b, "{\"text\":");
        sbuf_json_string(&b, text ? text : "", text ? len : 0);
        sbuf_printf(&b, ",\"index\":%d", g->index);
    }
    sbuf_str(&b, ",\"logprobs\":");
    if (text && !finish_reason) logprobs_json(&b, g, 1);
    else sbuf_str(&b, "null");
    sbuf_str(&b, ",\"finish_reason\":");
    if (finish_reason) sbuf_printf(&b, "\"%s\"", finish_reason);
    else sbuf_str(&b, "null");
    sbuf_str(&b, "}]}\n\n");
    if (b.failed || send_all(g->fd, b.data, b.len)) {
        g->client_gone = 1;
        atomic_store(&g->sl->cancel, 1);
    }
    sbuf_free(&b);
}

/* ---- Log-probabilities ------------------------------------------------------ */
static double log_sum_exp(const float *x, size_t n) {
    float top = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > top) top = x[i];
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += exp((double)x[i] - top);
    return top + log(sum);
}

/* A token as OpenAI shows it: "token" (its text; a partial UTF-8 character
 * as U+FFFD), "logprob", "bytes". */
static void token_json(sbuf *b, const server *s, int32_t token, double logprob, size_t *n_bytes) {
    char piece[256];
    size_t n = 0;
    if (dsv3_token_to_piece(s->model, token, 0, piece, sizeof piece, &n) != DSV3_OK) n = 0;
    sbuf_str(b, "{\"token\":");
    sbuf_json_string(b, piece, n);
    sbuf_printf(b, ",\"logprob\":%.9g,\"bytes\":[", logprob);
    for (size_t i = 0; i < n; i++) sbuf_printf(b, "%s%u", i ? "," : "", (unsigned)(unsigned char)piece[i]);
    sbuf_str(b, "]");
    if (n_bytes) *n_bytes = n;
}

/* The k most likely tokens of logits (k <= 20), best first. */
static int top_tokens(const float *x, size_t n, int k, int32_t *ids) {
    int have = 0;
    if (k <= 0) return 0;
    for (size_t i = 0; i < n; i++) {
        if (have == k && !(x[i] > x[ids[k - 1]])) continue;
        int at = have < k ? have++ : k - 1;
        while (at > 0 && x[i] > x[ids[at - 1]]) ids[at] = ids[at - 1], at--;
        ids[at] = (int32_t)i;
    }
    return have;
}

/* A token's entry, from the distribution p it was drawn from (NULL: none, as
 * for an echoed prompt's first token); render_special as dsv3_token_to_piece
 * (an echoed prompt shows its special tokens, generated text does not). */
static void add_entry(generation *g, const float *p, int32_t token, int32_t render_special) {
    double lse = p ? log_sum_exp(p, g->n_vocab) : 0;
    int32_t top[20];
    int n_top = p ? top_tokens(p, g->n_vocab, g->r->top_logprobs, top) : 0;
    size_t n_bytes = 0;
    const char *sep = g->n_logprobs ? "," : "";
    if (g->r->chat) {
        sbuf e = {0};
        token_json(&e, g->s, token, p[token] - lse, &n_bytes);
        sbuf_str(&e, ",\"top_logprobs\":[");
        for (int i = 0; i < n_top; i++) {
            if (i) sbuf_str(&e, ",");
            token_json(&e, g->s, top[i], p[top[i]] - lse, NULL);
            sbuf_str(&e, "}");
        }
        sbuf_str(&e, "]}");
        sbuf_str(&g->lp, sep);
        sbuf_add(&g->lp, e.data, e.len);
        sbuf_free(&e);
    } else { /* the legacy completions shape: four parallel arrays */
        char piece[256];
        if (dsv3_token_to_piece(g->s->model, token, render_special, piece, sizeof piece, &n_bytes) != DSV3_OK)
            n_bytes = 0;
        sbuf_str(&g->lp_tokens, sep);
        sbuf_json_string(&g->lp_tokens, piece, n_bytes);
        if (p) sbuf_printf(&g->lp_values, "%s%.9g", sep, p[token] - lse);
        else sbuf_printf(&g->lp_values, "%snull", sep);
        sbuf_printf(&g->lp_offsets, "%s%zu", sep, g->text_offset);
        if (!p) {
            sbuf_printf(&g->lp_top, "%snull", sep);
            g->text_offset += n_bytes;
            g->n_logprobs++;
            return;
        }
        sbuf_printf(&g->lp_top, "%s{", sep);
        for (int i = 0; i < n_top; i++) {
            size_t n = 0;
            if (dsv3_token_to_piece(g->s->model, top[i], 0, piece, sizeof piece, &n) != DSV3_OK) n = 0;
            if (i) sbuf_str(&g->lp_top, ",");
            sbuf_json_string(&g->lp_top, piece, n);
            sbuf_printf(&g->lp_top, ":%.9g", p[top[i]] - lse);
        }
        sbuf_str(&g->lp_top, "}");
    }
    g->text_offset += n_bytes;
    g->n_logprobs++;
}

/* A generated token's entry; then the distribution after it is kept. */
static void add_logprob(generation *g, int32_t token) {
    add_entry(g, g->prev, token, 0);
    const float *next = dsv3_context_logits(g->sl->ctx);
    if (next) memcpy(g->prev, next, g->n_vocab * sizeof *g->prev);
}

/* echo with logprobs: prefills all but the prompt's last token in short
 * batches whose every position's logits score the token after it; the
 * entries go to g (tokens from `first` on: a BOS the server added is not
 * shown). */
static int32_t prefill_scored(generation *g, dsv3_context *ctx, const int32_t *prompt, size_t n_prompt, size_t first) {
    enum { SCORE_BATCH = 16 };
    float *logits = (float *)malloc((size_t)SCORE_BATCH * g->n_vocab * sizeof *logits);
    if (!logits) return DSV3_ERR_OUT_OF_MEMORY;
    int32_t st = DSV3_OK;
    if (first == 0) add_entry(g, NULL, prompt[0], 1);
    for (size_t at = 0; at + 1 < n_prompt && st == DSV3_OK; at += SCORE_BATCH) {
        size_t m = n_prompt - 1 - at < SCORE_BATCH ? n_prompt - 1 - at : SCORE_BATCH;
        st = dsv3_prefill(ctx, prompt + at, m, logits);
        for (size_t j = 0; j < m && st == DSV3_OK; j++)
            if (at + j + 1 >= first) add_entry(g, logits + j * g->n_vocab, prompt[at + j + 1], 1);
    }
    free(logits);
    return st;
}

/* The members of list added since `from` (without the separating comma). */
static void list_since(sbuf *b, const sbuf *list, size_t from) {
    if (from < list->len && list->data[from] == ',') from++;
    if (from < list->len) sbuf_add(b, list->data + from, list->len - from);
}

/* A choice's "logprobs" member's value: all its entries, or (streaming) the
 * ones not sent yet, which are then marked sent. */
static void logprobs_json(sbuf *b, generation *g, int stream) {
    sbuf *lists[5] = {&g->lp, &g->lp_tokens, &g->lp_values, &g->lp_top, &g->lp_offsets};
    size_t from[5] = {0, 0, 0, 0, 0};
    if (stream) memcpy(from, g->streamed, sizeof from);
    if (!g->r->logprobs) {
        sbuf_str(b, "null");
    } else if (g->r->chat) {
        sbuf_str(b, "{\"content\":[");
        list_since(b, lists[0], from[0]);
        sbuf_str(b, "],\"refusal\":null}");
    } else {
        static const char *const names[4] = {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
        for (int i = 0; i < 4; i++) {
            sbuf_printf(b, "%s\"%s\":[", i ? "],": "{", names[i]);
            list_since(b, lists[i + 1], from[i + 1]);
        }
        sbuf_str(b, "]}");
    }
    if (stream)
        for (int i = 0; i < 5; i++) g->streamed[i] = lists[i]->len;
}

/* One finished call: into g->calls (a JSON array's members), and streamed. */
static void finish_call(generation *g) {
    tool_call_span span;
    if (g->call.failed || !g->call.data || tool_call_split(g->call.data, g->call.len, g->call_sep, &span)) return;
    sbuf one = {0};
    sbuf_printf(&one, "{\"index\":%d,\"id\":\"call_%s_%d\",\"type\":\"function\",\"function\":{\"name\":", g->n_calls,
                g->id, g->n_calls);
    sbuf_json_string(&one, g->call.data + span.name, span.name_len);
    sbuf_str(&one, ",\"arguments\":");
    sbuf_json_string(&one, g->call.data + span.arguments, span.arguments_len);
    sbuf_str(&one, "}}");
    if (one.failed) {
        sbuf_free(&one);
        return;
    }
    if (g->n_calls) sbuf_str(&g->calls, ",");
    sbuf_add(&g->calls, one.data, one.len);
    g->n_calls++;
    if (g->r->stream && !g->client_gone) {
        sbuf b = {0};
        chunk_begin(&b, g);
        sbuf_printf(&b, "{\"index\":%d,\"delta\":{\"tool_calls\":[", g->index);
        sbuf_add(&b, one.data, one.len);
        sbuf_str(&b, "]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        if (b.failed || send_all(g->fd, b.data, b.len)) {
            g->client_gone = 1;
            atomic_store(&g->sl->cancel, 1);
        }
        sbuf_free(&b);
    }
    sbuf_free(&one);
}

/* Tool-call tokens and the text inside calls; 1 when the token was one. */
static int tool_call_token(generation *g, int32_t token, const char *text, size_t len) {
    const int32_t *tt = g->s->tool_tokens;
    if (token >= 0 && token == tt[TOOL_CALLS_BEGIN]) {
        g->in_calls = 1;
        return 1;
    }
    if (!g->in_calls) return 0;
    if (token >= 0 && token == tt[TOOL_CALL_BEGIN]) {
        g->call.len = 0;
        g->call_sep = 0;
    } else if (token >= 0 && token == tt[TOOL_SEP]) {
        g->call_sep = g->call.len;
    } else if (token >= 0 && token == tt[TOOL_CALL_END]) {
        finish_call(g);
    } else if (token >= 0 && token == tt[TOOL_CALLS_END]) {
        g->in_calls = 0;
    } else {
        sbuf_add(&g->call, text, len);
    }
    return 1;
}

static int32_t on_token(void *user, int32_t token, const char *text, size_t len) {
    generation *g = (generation *)user;
    if (g->prev && token >= 0) add_logprob(g, token);
    if (g->r->tools && tool_call_token(g, token, text, len)) return stop_requested || g->client_gone;
    if (len && !g->client_gone) {
        if (g->r->stream) stream_text(g, text, len, NULL);
        else sbuf_add(&g->text, text, len);
    }
    return stop_requested || g->client_gone;
}

static void usage_json(sbuf *b, size_t prompt, size_t completion, size_t cached) {
    sbuf_printf(b,
                "\"usage\":{\"prompt_tokens\":%zu,\"completion_tokens\":%zu,\"total_tokens\":%zu,"
                "\"prompt_tokens_details\":{\"cached_tokens\":%zu}}",
                prompt, completion, prompt + completion, cached);
}

/* Runs a checked request on a slot and answers it. */
static void run_request(server *s, int fd, gen_request *r) {
    if (r->n_prompt == 0) {
        send_error(fd, 400, "the prompt is empty", r->chat ? "messages" : "prompt", NULL, NULL);
        return;
    }
    size_t n_ctx = dsv3_context_n_ctx(s->slots[0].ctx);
    if (r->n_prompt >= n_ctx) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "This model's context holds %zu tokens; the prompt has %zu (and one more is needed to generate).",
                 n_ctx, r->n_prompt);
        send_error(fd, 400, msg, r->chat ? "messages" : "prompt", "context_length_exceeded", NULL);
        return;
    }
    size_t cached = 0;
    slot *sl = acquire_slot(s, r->prompt, r->n_prompt, fd, &cached);
    if (!sl) {
        if (stop_requested) send_error(fd, 503, "the server is shutting down", NULL, NULL, NULL);
        return;
    }
    /* The prompt's last token is always fed, alone: its logits start each
       choice's reply (the others rewind to it), so all choices start alike. */
    if (cached >= r->n_prompt) cached = r->n_prompt - 1;
    if (!r->cache_prompt || (r->echo && r->logprobs)) cached = 0; /* scoring needs every position's logits */
    int n_choices = r->n_choices > 0 ? r->n_choices : 1;
    generation *gens = (generation *)calloc((size_t)n_choices, sizeof *gens);
    if (!gens) {
        release_slot(s, sl);
        send_error(fd, 500, "out of memory", NULL, NULL, NULL);
        return;
    }
    for (int k = 0; k < n_choices; k++) {
        generation *g = &gens[k];
        g->s = s, g->r = r, g->sl = sl, g->fd = fd, g->index = k;
        g->created = k ? gens[0].created : (long long)time(NULL);
        if (r->logprobs) {
            g->n_vocab = dsv3_model_n_vocab(s->model);
            g->prev = (float *)malloc(g->n_vocab * sizeof *g->prev);
        }
        if (k) memcpy(g->id, gens[0].id, sizeof g->id);
        else
            snprintf(g->id, sizeof g->id, "%s-%llx%06lx", r->chat ? "chatcmpl" : "cmpl",
                     (unsigned long long)s->started, (unsigned long)atomic_fetch_add(&s->next_id, 1));
    }
    int32_t st = dsv3_context_rewind(sl->ctx, cached);
    for (int k = 0; k < n_choices && r->logprobs; k++)
        if (!gens[k].prev) st = DSV3_ERR_OUT_OF_MEMORY;
    if (st == DSV3_OK && r->echo && r->logprobs)
        st = prefill_scored(&gens[0], sl->ctx, r->prompt, r->n_prompt, r->echo_from);
    else if (st == DSV3_OK && r->n_prompt - 1 > cached)
        st = dsv3_prefill(sl->ctx, r->prompt + cached, r->n_prompt - 1 - cached, NULL);
    sbuf echo = {0}; /* the prompt as text, with its special tokens */
    for (size_t i = r->echo_from; r->echo && i < r->n_prompt; i++) {
        char piece[256];
        size_t n = 0;
        if (dsv3_token_to_piece(s->model, r->prompt[i], 1, piece, sizeof piece, &n) == DSV3_OK) sbuf_add(&echo, piece, n);
    }
    if (echo.failed) st = DSV3_ERR_OUT_OF_MEMORY;
    for (int k = 1; k < n_choices && r->echo && r->logprobs; k++) { /* every answer starts with the prompt's entries */
        sbuf *from[5] = {&gens[0].lp, &gens[0].lp_tokens, &gens[0].lp_values, &gens[0].lp_top, &gens[0].lp_offsets};
        sbuf *to[5] = {&gens[k].lp, &gens[k].lp_tokens, &gens[k].lp_values, &gens[k].lp_top, &gens[k].lp_offsets};
        for (int i = 0; i < 5; i++) sbuf_add(to[i], from[i]->data ? from[i]->data : "", from[i]->len);
        gens[k].text_offset = gens[0].text_offset;
        gens[k].n_logprobs = gens[0].n_logprobs;
    }

    int streaming = 0, client_gone = 0;
    if (st == DSV3_OK && r->stream) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                   "Connection: close\r\n\r\n";
        streaming = 1;
        if (send_all(fd, head, sizeof head - 1)) client_gone = 1;
    }
    int32_t why[MAX_CHOICES];
    size_t n_generated = 0;
    int n_done = 0; /* choices generated to their end */
    for (int k = 0; k < n_choices && st == DSV3_OK && !client_gone; k++) {
        generation *g = &gens[k];
        why[k] = DSV3_STOP_ERROR;
        st = dsv3_context_rewind(sl->ctx, r->n_prompt - 1);
        if (st == DSV3_OK) st = dsv3_prefill(sl->ctx, r->prompt + r->n_prompt - 1, 1, NULL);
        if (st == DSV3_OK) st = dsv3_context_set_seed(sl->ctx, r->seed + (uint64_t)k);
        if (st != DSV3_OK) break;
        if (r->logprobs) memcpy(g->prev, dsv3_context_logits(sl->ctx), g->n_vocab * sizeof *g->prev);
        if (streaming && r->chat) stream_text(g, NULL, 0, NULL); /* the role comes first */
        if (streaming && echo.len) stream_text(g, echo.data, echo.len, NULL);
        if (!streaming && echo.len) sbuf_add(&g->text, echo.data, echo.len);
        if (g->client_gone) {
            client_gone = 1;
            break;
        }
        dsv3_generate_params gp;
        dsv3_generate_default_params(&gp);
        gp.max_tokens = r->max_tokens;
        gp.sampling = &r->sampling;
        gp.stop_strings = r->n_stops ? r->stops : NULL;
        gp.n_stop_strings = r->n_stops;
        gp.on_token = on_token;
        gp.user = g;
        size_t n_choice = 0;
        if (r->generate) st = dsv3_generate(sl->ctx, &gp, &why[k], &n_choice);
        else why[k] = DSV3_STOP_MAX_TOKENS;
        n_generated += n_choice;
        client_gone = g->client_gone;
        if (st == DSV3_OK && why[k] != DSV3_STOP_CALLBACK) n_done++;
        else break;
    }
    char error[256] = "";
    if (st != DSV3_OK) snprintf(error, sizeof error, "%s: %s", dsv3_status_string(st), dsv3_context_last_error(sl->ctx));
    release_slot(s, sl);

    int failed = n_done < n_choices; /* an error, or the callback (which stops only on shutdown) */
    sbuf b = {0};
    if (client_gone || (st == DSV3_ERR_ABORTED && !stop_requested)) { /* nobody to answer */
    } else if (streaming) {
        if (failed) {
            sbuf_str(&b, "data: ");
            error_json(&b, "server_error", stop_requested ? "the server is shutting down" : error, NULL, NULL);
            sbuf_str(&b, "\n\n");
        } else {
            for (int k = 0; k < n_choices; k++) {
                const char *finish = why[k] == DSV3_STOP_MAX_TOKENS || why[k] == DSV3_STOP_CONTEXT_FULL ? "length"
                                   : gens[k].n_calls                                                    ? "tool_calls"
                                                                                                        : "stop";
                stream_text(&gens[k], NULL, 0, finish);
            }
            if (r->include_usage) {
                chunk_begin(&b, &gens[0]);
                sbuf_str(&b, "],");
                usage_json(&b, r->n_prompt, n_generated, cached);
                sbuf_str(&b, "}\n\n");
            }
        }
        sbuf_str(&b, "data: [DONE]\n\n");
        if (!b.failed) send_all(fd, b.data, b.len);
    } else if (failed) {
        send_error(fd, stop_requested ? 503 : 500, stop_requested ? "the server is shutting down" : error, NULL, NULL, NULL);
    } else {
        int incomplete = 0;
        sbuf_printf(&b, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":", gens[0].id,
                    r->chat ? "chat.completion" : "text_completion", gens[0].created);
        sbuf_json_string(&b, s->model_id, strlen(s->model_id));
        sbuf_str(&b, ",\"choices\":[");
        for (int k = 0; k < n_choices; k++) {
            generation *g = &gens[k];
            const char *finish = why[k] == DSV3_STOP_MAX_TOKENS || why[k] == DSV3_STOP_CONTEXT_FULL ? "length"
                               : g->n_calls                                                         ? "tool_calls"
                                                                                                    : "stop";
            sbuf_printf(&b, "%s{\"index\":%d,", k ? "," : "", k);
            if (r->chat) sbuf_str(&b, "\"message\":{\"role\":\"assistant\",\"content\":");
            else sbuf_str(&b, "\"text\":");
            if (r->chat && g->n_calls && !g->text.len) sbuf_str(&b, "null");
            else sbuf_json_string(&b, g->text.data ? g->text.data : "", g->text.len);
            if (r->chat && g->n_calls) {
                sbuf_str(&b, ",\"tool_calls\":[");
                sbuf_add(&b, g->calls.data, g->calls.len);
                sbuf_str(&b, "]");
            }
            if (r->chat) sbuf_str(&b, "}");
            sbuf_str(&b, ",\"logprobs\":");
            logprobs_json(&b, &gens[k], 0);
            sbuf_printf(&b, ",\"finish_reason\":\"%s\"}", finish);
            incomplete |= g->text.failed || g->calls.failed || g->lp.failed || g->lp_tokens.failed ||
                          g->lp_values.failed || g->lp_top.failed || g->lp_offsets.failed;
        }
        sbuf_str(&b, "],");
        usage_json(&b, r->n_prompt, n_generated, cached);
        sbuf_str(&b, "}");
        if (b.failed || incomplete) send_error(fd, 500, "out of memory", NULL, NULL, NULL);
        else send_response(fd, 200, NULL, b.data, b.len);
    }
    sbuf_free(&b);
    sbuf_free(&echo);
    for (int k = 0; k < n_choices; k++) {
        sbuf_free(&gens[k].text);
        sbuf_free(&gens[k].call);
        sbuf_free(&gens[k].calls);
        sbuf_free(&gens[k].lp);
        sbuf_free(&gens[k].lp_tokens);
        sbuf_free(&gens[k].lp_values);
        sbuf_free(&gens[k].lp_top);
        sbuf_free(&gens[k].lp_offsets);
        free(gens[k].prev);
    }
    free(gens);
}

static void handle_completion(server *s, int fd, const char *body, size_t len, int chat) {
    json_doc doc;
    gen_request r;
    memset(&r, 0, sizeof r);
    r.chat = chat;
    r.cache_prompt = 1;
    req_error e = {0, "", NULL, NULL};
    int rc = 0;
    if (json_parse(&doc, body, len, JSON_DEPTH)) {
        char msg[160];
        snprintf(msg, sizeof msg, "the body is not valid JSON: %s", doc.error);
        rc = fail(&e, 400, NULL, "invalid_json", msg);
    } else if (json_root(&doc)->type != JSON_OBJECT) {
        rc = fail(&e, 400, NULL, "invalid_type", "the body must be a JSON object");
    }
    if (!rc) rc = parse_common(s, &doc, json_root(&doc), &r, &e);
    if (!rc) rc = chat ? parse_chat(s, &doc, json_root(&doc), &r, &e) : parse_completion(s, &doc, json_root(&doc), &r, &e);
    if (rc) send_error(fd, e.status, e.message, e.param, e.code, NULL);
    else run_request(s, fd, &r); /* the stop strings point into doc */
    free(r.prompt);
    json_free(&doc);
}

static void handle_models(server *s, int fd) {
    sbuf b = {0};
    sbuf_str(&b, "{\"object\":\"list\",\"data\":[{\"id\":");
    sbuf_json_string(&b, s->model_id, strlen(s->model_id));
    sbuf_printf(&b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"dsv3\"}]}", (long long)s->started);
    if (!b.failed) send_response(fd, 200, NULL, b.data, b.len);
    sbuf_free(&b);
}

/* The slots, and the positions an idle one holds (a busy one's context
 * belongs to its request's thread). */
static void handle_health(server *s, int fd) {
    int idle = 0;
    sbuf slots = {0};
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->cfg.n_slots; i++) {
        const slot *sl = &s->slots[i];
        idle += !sl->busy;
        sbuf_printf(&slots, "%s{\"id\":%d,\"busy\":%s", i ? "," : "", i, sl->busy ? "true" : "false");
        if (!sl->busy) sbuf_printf(&slots, ",\"n_cached\":%zu", dsv3_context_position(sl->ctx));
        sbuf_str(&slots, "}");
    }
    pthread_mutex_unlock(&s->lock);
    sbuf b = {0};
    sbuf_printf(&b, "{\"status\":\"ok\",\"slots_idle\":%d,\"slots_busy\":%d,\"slots\":[", idle, s->cfg.n_slots - idle);
    sbuf_add(&b, slots.data ? slots.data : "", slots.len);
    sbuf_str(&b, "]}");
    if (!b.failed && !slots.failed) send_response(fd, 200, NULL, b.data, b.len);
    sbuf_free(&slots);
    sbuf_free(&b);
}

/* Reads one request within the time-out and answers it. */
static void serve_connection(server *s, int fd) {
    double deadline = now_seconds() + s->cfg.timeout_s;
    char head[MAX_HEAD];
    size_t have = 0;
    http_request req;
    int rc = HTTP_NEED_MORE;
    while (rc == HTTP_NEED_MORE) {
        ssize_t n = recv_until(fd, head + have, sizeof head - have, deadline);
        if (n <= 0) { /* a client that stalls or leaves gets no answer but the close */
            if (n < 0 && have && !stop_requested) send_error(fd, 408, "the request took too long", NULL, NULL, NULL);
            return;
        }
        have += (size_t)n;
        rc = http_parse_head(head, have, sizeof head, s->cfg.max_body, &req);
    }
    if (rc < 0) {
        const char *msg = rc == -413 ? "the body is larger than the server accepts"
                        : rc == -431 ? "the request's head is too large"
                        : rc == -501 ? "chunked request bodies are not supported: send Content-Length"
                        : rc == -505 ? "only HTTP/1.x is supported"
                                     : "malformed HTTP request";
        send_error(fd, -rc, msg, NULL, NULL, NULL);
        return;
    }
    int is_get = !strcmp(req.method, "GET"), is_post = !strcmp(req.method, "POST");
    const char *allow = NULL;
    int route = 0; /* 1 health, 2 models, 3 chat, 4 completions */
    if (!strcmp(req.path, "/health")) route = 1, allow = "GET";
    else if (!strcmp(req.path, "/v1/models")) route = 2, allow = "GET";
    else if (!strcmp(req.path, "/v1/chat/completions")) route = 3, allow = "POST";
    else if (!strcmp(req.path, "/v1/completions")) route = 4, allow = "POST";
    if (!route) {
        send_error(fd, 404, "unknown path", NULL, "unknown_url", NULL);
        return;
    }
    if ((!strcmp(allow, "GET") && !is_get) || (!strcmp(allow, "POST") && !is_post)) {
        char headers[32];
        snprintf(headers, sizeof headers, "Allow: %s\r\n", allow);
        send_error(fd, 405, "method not allowed", NULL, "method_not_allowed", headers);
        return;
    }
    /* /health stays open so that a supervisor needs no key. */
    if (route != 1 && s->cfg.api_key) {
        const char *auth = req.authorization;
        int ok = !strncmp(auth, "Bearer ", 7) && http_secret_equal(s->cfg.api_key, auth + 7);
        if (!ok) {
            send_error(fd, 401, "invalid API key", NULL, "invalid_api_key", "WWW-Authenticate: Bearer\r\n");
            return;
        }
    }
    if (route == 1) {
        handle_health(s, fd);
        return;
    }
    if (route == 2) {
        handle_models(s, fd);
        return;
    }
    if (!req.has_content_length) {
        send_error(fd, 411, "a body with Content-Length is required", NULL, NULL, NULL);
        return;
    }
    char *body = (char *)malloc(req.content_length + 1);
    if (!body) {
        send_error(fd, 500, "out of memory", NULL, NULL, NULL);
        return;
    }
    size_t got = have - req.head_len;
    if (got > req.content_length) got = req.content_length; /* a pipelined request is ignored */
    memcpy(body, head + req.head_len, got);
    if (got < req.content_length && req.expect_continue) {
        static const char go_on[] = "HTTP/1.1 100 Continue\r\n\r\n";
        send_all(fd, go_on, sizeof go_on - 1);
    }
    while (got < req.content_length) {
        ssize_t n = recv_until(fd, body + got, req.content_length - got, deadline);
        if (n <= 0) {
            if (n < 0 && !stop_requested) send_error(fd, 408, "the request took too long", NULL, NULL, NULL);
            free(body);
            return;
        }
        got += (size_t)n;
    }
    body[got] = '\0';
    handle_completion(s, fd, body, got, route == 3);
    free(body);
}

typedef struct connection {
    server *s;
    int fd, index;
} connection;

static void *connection_main(void *arg) {
    connection *c = (connection *)arg;
    serve_connection(c->s, c->fd);
    /* Unlisted before it is closed, so that shutdown never meets a reused fd. */
    pthread_mutex_lock(&c->s->lock);
    c->s->conn_fds[c->index] = -1;
    pthread_mutex_unlock(&c->s->lock);
    close_gracefully(c->fd);
    pthread_mutex_lock(&c->s->lock);
    c->s->n_conns--;
    pthread_cond_broadcast(&c->s->conn_done);
    pthread_mutex_unlock(&c->s->lock);
    free(c);
    return NULL;
}

/* Hands a new connection to a thread of its own, or refuses it (503). */
static void admit(server *s, int fd) {
    struct timeval tv = {s->cfg.timeout_s, 0}; /* a client that stops reading is dropped */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    connection *c = (connection *)malloc(sizeof *c);
    int index = -1;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; c && i < s->cfg.max_conns; i++)
        if (s->conn_fds[i] < 0) {
            index = i;
            break;
        }
    if (index >= 0) {
        s->conn_fds[index] = fd;
        s->n_conns++;
    }
    pthread_mutex_unlock(&s->lock);
    if (index < 0) {
        send_error(fd, 503, "too many connections", NULL, NULL, "Retry-After: 1\r\n");
        close(fd);
        free(c);
        return;
    }
    c->s = s;
    c->fd = fd;
    c->index = index;
    /* The signals stay with the main thread, whose poll they interrupt. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int err = pthread_create(&thread, &attr, connection_main, c);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        send_error(fd, 503, "cannot start a thread", NULL, NULL, "Retry-After: 1\r\n");
        close(fd);
        free(c);
        pthread_mutex_lock(&s->lock);
        s->conn_fds[index] = -1;
        s->n_conns--;
        pthread_mutex_unlock(&s->lock);
    }
}

static int open_listener(const server_config *cfg, int *port_out) {
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int err = getaddrinfo(cfg->host, port, &hints, &list);
    if (err) {
        fprintf(stderr, "dsv3-server: cannot resolve %s: %s\n", cfg->host, gai_strerror(err));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = list; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 64)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        fprintf(stderr, "dsv3-server: cannot listen on %s port %d: %s\n", cfg->host, cfg->port, strerror(errno));
        return -1;
    }
    struct sockaddr_storage addr;
    socklen_t addr_len = sizeof addr;
    *port_out = cfg->port;
    if (!getsockname(fd, (struct sockaddr *)&addr, &addr_len)) { /* --port 0: the port the system chose */
        if (addr.ss_family == AF_INET) *port_out = ntohs(((struct sockaddr_in *)&addr)->sin_port);
        else if (addr.ss_family == AF_INET6) *port_out = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    }
    return fd;
}

/* -h/--help: to stdout, status 0; a bad command line: to stderr, status 2. */
static int usage(FILE *out) {
    fprintf(out,
            "usage: dsv3-server -m MODEL.gguf [--host 127.0.0.1] [--port 8080] [--slots N] [-c CTX] [-t THREADS]\n"
            "                   [--api-key KEY] [--timeout SECONDS] [--max-body BYTES] [--max-conns N]\n"
            "  --slots N        contexts, so requests served at once (default 1)\n"
            "  -c CTX           positions per slot (default: min(4096, the model's))\n"
            "  -t THREADS       threads per slot (default: one per hardware thread)\n"
            "  --api-key KEY    require 'Authorization: Bearer KEY' (not on /health)\n"
            "  --timeout SECONDS  to receive a request, head and body (default 30)\n"
            "  --max-body BYTES largest request body (default 1048576)\n"
            "  --max-conns N    connections served at once; more get 503 (default 64)\n"
            "--port 0 takes a free port; the line 'listening on http://HOST:PORT' on stdout names it.\n");
    return out == stdout ? 0 : 2;
}

static int parse_int(const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

int main(int argc, char **argv) {
    server_config cfg = {NULL, "127.0.0.1", NULL, 8080, 1, 30, 64, 1u << 20, 0, 0};
    for (int i = 1; i < argc; i += 2) { /* every option but -h takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!v) return usage(stderr);
        int bad = 0;
        if (!strcmp(a, "-m")) cfg.model_path = v;
        else if (!strcmp(a, "--host")) cfg.host = v;
        else if (!strcmp(a, "--api-key")) cfg.api_key = v;
        else if (!strcmp(a, "--port")) bad = parse_int(v, 0, 65535, &x), cfg.port = (int)x;
        else if (!strcmp(a, "--slots")) bad = parse_int(v, 1, 256, &x), cfg.n_slots = (int)x;
        else if (!strcmp(a, "-c")) bad = parse_int(v, 0, 1L << 30, &x), cfg.n_ctx = (uint32_t)x;
        else if (!strcmp(a, "-t")) bad = parse_int(v, 0, 1024, &x), cfg.n_threads = (int32_t)x;
        else if (!strcmp(a, "--timeout")) bad = parse_int(v, 1, 86400, &x), cfg.timeout_s = (int)x;
        else if (!strcmp(a, "--max-body")) bad = parse_int(v, 1, 1L << 30, &x), cfg.max_body = (size_t)x;
        else if (!strcmp(a, "--max-conns")) bad = parse_int(v, 1, 4096, &x), cfg.max_conns = (int)x;
        else bad = 1;
        if (bad) return usage(stderr);
    }
    if (!cfg.model_path) return usage(stderr);

    server s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.started = time(NULL);
    atomic_init(&s.next_id, 1);
    char error[256];
    if (dsv3_model_load(cfg.model_path, NULL, &s.model, error, sizeof error) != DSV3_OK) {
        fprintf(stderr, "dsv3-server: %s\n", error);
        return 1;
    }
    if (!dsv3_model_has_tokenizer(s.model)) {
        fprintf(stderr, "dsv3-server: %s has no tokenizer\n", cfg.model_path);
        dsv3_model_free(s.model);
        return 1;
    }
    const char *base = strrchr(cfg.model_path, '/');
    snprintf(s.model_id, sizeof s.model_id, "%s", base ? base + 1 : cfg.model_path);

    int rc = 1, listen_fd = -1, port = 0;
    s.slots = (slot *)calloc((size_t)cfg.n_slots, sizeof *s.slots);
    s.conn_fds = (int *)malloc((size_t)cfg.max_conns * sizeof(int));
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.slot_freed, NULL);
    pthread_cond_init(&s.conn_done, NULL);
    int n_created = 0;
    if (s.slots && s.conn_fds) {
        for (int i = 0; i < cfg.max_conns; i++) s.conn_fds[i] = -1;
        for (; n_created < cfg.n_slots; n_created++) {
            slot *sl = &s.slots[n_created];
            dsv3_context_params cp;
            dsv3_context_default_params(&cp);
            cp.n_ctx = cfg.n_ctx;
            cp.n_threads = cfg.n_threads;
            cp.abort_cb = slot_should_abort;
            cp.abort_user = sl;
            sl->client_fd = -1;
            atomic_init(&sl->cancel, 0);
            int32_t st = dsv3_context_create(s.model, &cp, &sl->ctx);
            if (st != DSV3_OK) {
                fprintf(stderr, "dsv3-server: cannot create context %d: %s\n", n_created + 1, dsv3_status_string(st));
                break;
            }
        }
    } else {
        fprintf(stderr, "dsv3-server: out of memory\n");
    }
    for (int t = 0; t < 5; t++) { /* each a single token of the vocabulary, or none */
        int32_t ids[2];
        size_t n_ids = 0;
        const char *text = tool_token_text[t];
        s.tool_tokens[t] = dsv3_tokenize(s.model, text, strlen(text), 0, 1, ids, 2, &n_ids) == DSV3_OK && n_ids == 1
                               ? ids[0]
                               : -1;
    }
    if (n_created == cfg.n_slots) listen_fd = open_listener(&cfg, &port);
    if (listen_fd >= 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal; /* no SA_RESTART: poll returns at once */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        int ipv6 = strchr(cfg.host, ':') != NULL;
        printf("dsv3-server: listening on http://%s%s%s:%d (model %s, %d slot%s of %zu positions)\n",
               ipv6 ? "[" : "", cfg.host, ipv6 ? "]" : "", port, s.model_id, cfg.n_slots, cfg.n_slots == 1 ? "" : "s",
               dsv3_context_n_ctx(s.slots[0].ctx));
        fflush(stdout);
        while (!stop_requested) {
            struct pollfd p = {listen_fd, POLLIN, 0};
            if (poll(&p, 1, 250) <= 0) continue;
            int fd = accept(listen_fd, NULL, NULL);
            if (fd >= 0) admit(&s, fd);
            else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec pause = {0, 100 * 1000000L}; /* out of descriptors: do not spin */
                nanosleep(&pause, NULL);
            }
        }
        close(listen_fd);
        /* Wake the connections' threads: reads end, generations abort. */
        pthread_mutex_lock(&s.lock);
        for (int i = 0; i < cfg.max_conns; i++)
            if (s.conn_fds[i] >= 0) shutdown(s.conn_fds[i], SHUT_RD);
        while (s.n_conns > 0) pthread_cond_wait(&s.conn_done, &s.lock);
        pthread_mutex_unlock(&s.lock);
        fprintf(stderr, "dsv3-server: stopped\n");
        rc = 0;
    }
    for (int i = 0; i < n_created; i++) dsv3_context_free(s.slots[i].ctx);
    pthread_cond_destroy(&s.conn_done);
    pthread_cond_destroy(&s.slot_freed);
    pthread_mutex_destroy(&s.lock);
    free(s.conn_fds);
    free(s.slots);
    dsv3_model_free(s.model);
    return rc;
}
