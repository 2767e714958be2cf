/* Tests of build/dsv3-server as a client sees it, over loopback sockets.
 *
 *   usage: test_server SERVER_BINARY MODEL.gguf [TOOL_MODEL.gguf]
 *   RUN  a prefix for running the server (e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu")
 *
 * Starts the server on a free port (--port 0; the port is read from its
 * "listening on" line) with 2 slots of 4096 positions (past the model's 256,
 * so that a long generation takes seconds), an API key, a 2-second time-out
 * and small limits, then checks the endpoints' answers (parsed with the server's
 * own JSON reader), streaming, the prefix cache, concurrency, every kind of
 * bad input, and that SIGTERM ends it with status 0 (under ASan: no leaks).
 */
#define _POSIX_C_SOURCE 200809L
#include "tests/test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#ifdef __linux__
#  include <sys/prctl.h>
#endif
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "examples/json.h"
#include "examples/tool_calls.h"

#define KEY "test-key-1234"

static int server_port;

/* ---- Watchdog --------------------------------------------------------------
 * A server that stops answering must fail this test with a report, never hang
 * the suite: each read waits up to 60 s and a connect to a listener nobody
 * accepts from up to two minutes, so a stuck server once held CI until its
 * budget ran out. After WATCHDOG_SECONDS the watchdog prints the section, the
 * checks done so far and each server thread's state and wait channel, kills
 * the server and fails. */
#ifndef WATCHDOG_SECONDS
#  define WATCHDOG_SECONDS 600
#endif
static pid_t server_pid;
static volatile sig_atomic_t section; /* an index into section_names */
static const char *const section_names[] = {"starting the server", "basics",       "chat",
                                            "completions",         "concurrent",   "prefix cache",
                                            "choices",             "logprobs",     "echo",
                                            "tool calls",
                                            "bad requests",        "disconnects",  "connection limit",
                                            "SIGTERM",             "generated tool calls"};

static void print_proc_file(const char *path, const char *label) {
    char text[256];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = '\0';
    text[strcspn(text, "\n")] = '\0';
    const char *shown = text;
    if (!strcmp(label, "state")) { /* stat: "pid (name) S ...": the state letter */
        const char *paren = strrchr(text, ')');
        if (paren && paren[1] && paren[2]) text[paren + 3 - text] = '\0', shown = paren + 2;
    }
    fprintf(stderr, " %s %s", label, n ? shown : "?");
}

static void *watchdog_main(void *arg) {
    (void)arg;
    struct timespec ts = {WATCHDOG_SECONDS, 0};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
    fprintf(stderr, "test_server: FAIL: still running after %d s, in section '%s', after %d checks\n",
            WATCHDOG_SECONDS, section_names[section], tests_passed + tests_failed);
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)server_pid);
    DIR *d = server_pid > 0 ? opendir(dir) : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[600];
        fprintf(stderr, "  server thread %s:", e->d_name);
        snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
        print_proc_file(path, "state");
        snprintf(path, sizeof path, "%s/%s/wchan", dir, e->d_name);
        print_proc_file(path, "wchan");
        snprintf(path, sizeof path, "%s/%s/syscall", dir, e->d_name);
        print_proc_file(path, "syscall");
        fprintf(stderr, "\n");
    }
    if (d) closedir(d);
    if (server_pid > 0) kill(server_pid, SIGKILL);
    _exit(1);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Starts the server (through $RUN) and reads its port from stdout. */
static pid_t start_server(const char *binary, const char *model, int *port) {
    const char *run = getenv("RUN");
    char *prefix = strdup(run ? run : "");
    char *argv[64];
    int argc = 0;
    for (char *w = strtok(prefix, " "); w && argc < 40; w = strtok(NULL, " ")) argv[argc++] = w;
    const char *args[] = {binary, "-m", model, "--port", "0", "--slots", "2", "-t", "1", "-c", "4096",
                          "--api-key", KEY, "--timeout", "2", "--max-body", "65536", "--max-conns", "8"};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    int out[2];
    if (pipe(out)) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
#ifdef __linux__
        /* The server must not outlive this test: if the test crashed, an orphan
         * holding the test's stderr would keep ctest waiting forever. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
#else
        (void)parent;
#endif
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    free(prefix);
    close(out[1]);
    /* The first line names the port; emulation may take a while to start. */
    char line[512];
    size_t n = 0;
    double deadline = seconds_now() + 60;
    *port = 0;
    while (n + 1 < sizeof line && seconds_now() < deadline) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, 500) <= 0) continue;
        ssize_t k = read(out[0], line + n, 1);
        if (k <= 0) break;
        if (line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    close(out[0]); /* the server writes nothing more to stdout */
    const char *at = strstr(line, "127.0.0.1:");
    if (at) *port = atoi(at + 10);
    return pid;
}

static int connect_server(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)server_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    struct timeval tv = {60, 0}; /* nothing here should take that long */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int send_text(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Everything until the server closes. */
static char *read_all(int fd, size_t *len) {
    sbuf b = {0};
    sbuf_add(&b, "", 0);
    char chunk[4096];
    ssize_t k;
    while ((k = recv(fd, chunk, sizeof chunk, 0)) > 0) sbuf_add(&b, chunk, (size_t)k);
    *len = b.len;
    return b.data;
}

typedef struct response {
    int status;
    char *raw;      /* the whole response */
    const char *body;
    size_t body_len;
} response;

static void parse_response(response *r) {
    r->status = 0;
    r->body = "";
    r->body_len = 0;
    if (r->raw && !strncmp(r->raw, "HTTP/1.1 ", 9)) r->status = atoi(r->raw + 9);
    const char *end = r->raw ? strstr(r->raw, "\r\n\r\n") : NULL;
    if (end) {
        r->body = end + 4;
        r->body_len = strlen(r->body);
    }
}

/* Sends raw bytes as they are and reads the whole answer. */
static response exchange(const char *raw, size_t len) {
    response r = {0, NULL, "", 0};
    int fd = connect_server();
    if (fd < 0) return r;
    size_t n;
    if (!send_text(fd, raw, len)) r.raw = read_all(fd, &n);
    close(fd);
    parse_response(&r);
    return r;
}

static response request(const char *method, const char *path, const char *auth, const char *body) {
    sbuf b = {0};
    sbuf_printf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path);
    if (auth) sbuf_printf(&b, "Authorization: Bearer %s\r\n", auth);
    if (body) sbuf_printf(&b, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    else sbuf_str(&b, "\r\n");
    response r = exchange(b.data, b.len);
    sbuf_free(&b);
    return r;
}

static response post(const char *path, const char *body) {
    return request("POST", path, KEY, body);
}

/* A parsed body; json_root is NULL when it is not JSON. Every json_doc here
 * starts zeroed, so json_free is safe on it whether or not a parse filled it
 * (an unexpected status skips the parse: freeing garbage once crashed the
 * test when a /health poll met a 503). */
static int parse_body(const response *r, json_doc *doc) {
    return json_parse(doc, r->body, r->body_len, 64) == 0;
}

/* The member at a path of names and [indices], e.g. "choices.0.message.content". */
static const json_node *at_path(const json_doc *doc, const char *path) {
    const json_node *v = json_root(doc);
    char part[64];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        path += n + (path[n] == '.');
        if (v->type == JSON_ARRAY) {
            long i = atol(part);
            const json_node *c = json_first(doc, v);
            while (c && i-- > 0) c = json_next(doc, c);
            v = c;
        } else {
            v = json_get(doc, v, part);
        }
    }
    return v;
}

static const char *str_at(const json_doc *doc, const char *path) {
    const json_node *v = at_path(doc, path);
    return v && v->type == JSON_STRING ? json_str(doc, v) : NULL;
}

static double num_at(const json_doc *doc, const char *path) {
    const json_node *v = at_path(doc, path);
    return v && v->type == JSON_NUMBER ? v->number : -1;
}

static int str_is(const char *s, const char *want) {
    return s && !strcmp(s, want);
}

/* The concatenated deltas of a stream, its finish reason and whether it
 * ended with [DONE]; also its usage chunk's completion_tokens (-1: none). */
typedef struct stream_result {
    char *text;
    char finish[32];
    int done, chunks, first_has_role, completion_tokens, shape_ok;
} stream_result;

/* The stream's chunks of choice `index` (and its usage and [DONE]). */
static stream_result read_stream(const response *r, int chat, int index) {
    stream_result s = {NULL, "", 0, 0, 0, -1, 1};
    sbuf text = {0};
    sbuf_add(&text, "", 0);
    const char *p = r->body;
    while (p && *p) {
        const char *eol = strstr(p, "\n\n");
        if (!eol) break;
        if (strncmp(p, "data: ", 6) != 0) s.shape_ok = 0;
        const char *data = p + 6;
        size_t len = (size_t)(eol - data);
        if (len == 6 && !strncmp(data, "[DONE]", 6)) s.done = 1;
        else {
            json_doc doc = {0};
            if (json_parse(&doc, data, len, 64) == 0) {
                if (!str_is(str_at(&doc, "object"), chat ? "chat.completion.chunk" : "text_completion")) s.shape_ok = 0;
                int mine = !at_path(&doc, "choices.0") || num_at(&doc, "choices.0.index") == index;
                const char *t = mine ? str_at(&doc, chat ? "choices.0.delta.content" : "choices.0.text") : NULL;
                if (t) sbuf_str(&text, t);
                if (s.chunks == 0 && str_is(str_at(&doc, "choices.0.delta.role"), "assistant")) s.first_has_role = 1;
                const char *f = mine ? str_at(&doc, "choices.0.finish_reason") : NULL;
                if (f) snprintf(s.finish, sizeof s.finish, "%s", f);
                if (at_path(&doc, "usage")) s.completion_tokens = (int)num_at(&doc, "usage.completion_tokens");
                if (s.done) s.shape_ok = 0; /* nothing after [DONE] */
            } else {
                s.shape_ok = 0;
            }
            json_free(&doc);
            s.chunks++;
        }
        p = eol + 2;
    }
    s.text = text.data;
    return s;
}

static void free_response(response *r) {
    free(r->raw);
    r->raw = NULL;
}

/* A completion's text (NULL on any error), for comparing runs. */
static char *completion_text(const char *body) {
    response r = post("/v1/completions", body);
    json_doc doc = {0};
    char *text = NULL;
    if (r.status == 200 && parse_body(&r, &doc)) {
        const char *t = str_at(&doc, "choices.0.text");
        if (t) text = strdup(t);
    }
    json_free(&doc);
    free_response(&r);
    return text;
}

typedef struct concurrent_job {
    const char *body;
    char *text;
} concurrent_job;

static void *run_job(void *arg) {
    concurrent_job *j = (concurrent_job *)arg;
    j->text = completion_text(j->body);
    return NULL;
}

/* /health's idle slots; *most_cached (may be NULL) receives the most
 * positions an idle slot holds. */
static int health_idle(double *most_cached) {
    response r = request("GET", "/health", NULL, NULL);
    json_doc doc = {0};
    int idle = -1;
    if (r.status == 200 && parse_body(&r, &doc)) {
        idle = (int)num_at(&doc, "slots_idle");
        for (int i = 0; most_cached && i < 2; i++) {
            char path[32];
            snprintf(path, sizeof path, "slots.%d.n_cached", i);
            if (num_at(&doc, path) > *most_cached) *most_cached = num_at(&doc, path);
        }
    }
    json_free(&doc);
    free_response(&r);
    return idle;
}

/* An error answer: the status and the OpenAI error object's type (and param
 * when given). */
static void check_error(const char *what, response r, int status, const char *type, const char *param) {
    json_doc doc = {0};
    int parsed = parse_body(&r, &doc);
    CHECK(r.status == status, "%s: status %d, want %d: %s", what, r.status, status, r.body);
    CHECK(parsed && str_at(&doc, "error.message") && str_is(str_at(&doc, "error.type"), type) &&
              at_path(&doc, "error.param") && at_path(&doc, "error.code"),
          "%s: error object %s", what, r.body);
    if (param) CHECK(str_is(str_at(&doc, "error.param"), param), "%s: param in %s", what, r.body);
    json_free(&doc);
    free_response(&r);
}

static void test_basics(void) {
    response r = request("GET", "/health", NULL, NULL); /* no key needed */
    json_doc doc = {0};
    CHECK(r.status == 200 && parse_body(&r, &doc) && str_is(str_at(&doc, "status"), "ok") &&
              num_at(&doc, "slots_idle") == 2,
          "/health: %d %s", r.status, r.body);
    json_free(&doc);
    free_response(&r);

    r = request("GET", "/v1/models", KEY, NULL);
    CHECK(r.status == 200 && parse_body(&r, &doc) && str_is(str_at(&doc, "object"), "list") &&
              str_is(str_at(&doc, "data.0.id"), "dsv3-kjv.gguf") && str_is(str_at(&doc, "data.0.object"), "model"),
          "/v1/models: %d %s", r.status, r.body);
    json_free(&doc);
    free_response(&r);
}

#define CHAT_BODY(extra) \
    "{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"Answer as scripture.\"}," \
    "{\"role\":\"user\",\"content\":\"Who made the heaven and the earth?\"}],\"temperature\":0," \
    "\"cache_prompt\":false" extra "}"

/* Non-streamed and streamed chat; a stop string. */
static void test_chat(void) {
    response r = post("/v1/chat/completions", CHAT_BODY(",\"max_tokens\":16"));
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok, "chat: %d %s", r.status, r.body);
    if (!ok) {
        free_response(&r);
        return;
    }
    const char *content = str_at(&doc, "choices.0.message.content");
    char *text = content ? strdup(content) : NULL;
    CHECK(str_is(str_at(&doc, "object"), "chat.completion") && str_at(&doc, "id") &&
              !strncmp(str_at(&doc, "id"), "chatcmpl-", 9) && num_at(&doc, "created") > 0 &&
              str_is(str_at(&doc, "model"), "dsv3-kjv.gguf") && num_at(&doc, "choices.0.index") == 0 &&
              str_is(str_at(&doc, "choices.0.message.role"), "assistant"),
          "chat shape: %s", r.body);
    CHECK(text && strlen(text) > 0, "chat text: %s", r.body);
    CHECK(str_is(str_at(&doc, "choices.0.finish_reason"), "length"), "finish_reason: %s", r.body);
    double prompt = num_at(&doc, "usage.prompt_tokens");
    CHECK(prompt > 10 && num_at(&doc, "usage.completion_tokens") == 16 &&
              num_at(&doc, "usage.total_tokens") == prompt + 16 &&
              num_at(&doc, "usage.prompt_tokens_details.cached_tokens") >= 0,
          "chat usage: %s", r.body);
    json_free(&doc);
    free_response(&r);
    if (!text) return;

    /* The same request streamed gives the same text, chunk by chunk. */
    r = post("/v1/chat/completions", CHAT_BODY(",\"max_tokens\":16,\"stream\":true,"
                                               "\"stream_options\":{\"include_usage\":true}"));
    CHECK(r.status == 200 && r.raw && strstr(r.raw, "Content-Type: text/event-stream"), "stream head: %s", r.raw);
    stream_result s = read_stream(&r, 1, 0);
    CHECK(s.shape_ok && s.done && s.first_has_role, "stream shape (%d chunks): %s", s.chunks, r.body);
    CHECK(str_is(s.text, text), "streamed text '%s', not streamed '%s'", s.text, text);
    CHECK(str_is(s.finish, "length") && s.completion_tokens == 16, "stream finish '%s', usage %d", s.finish,
          s.completion_tokens);
    free(s.text);
    free_response(&r);

    /* A stop string from the middle of the text ends the reply before it. */
    size_t cut = strlen(text) / 2;
    char stop[4] = {0};
    memcpy(stop, text + cut, 3);
    char *first = strstr(text, stop);
    sbuf body = {0};
    sbuf_str(&body, CHAT_BODY(",\"max_tokens\":16,\"stop\":["));
    body.len--; /* reopen the object */
    sbuf_json_string(&body, stop, strlen(stop));
    sbuf_str(&body, "]}");
    r = post("/v1/chat/completions", body.data);
    ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok && str_is(str_at(&doc, "choices.0.finish_reason"), "stop") && str_at(&doc, "choices.0.message.content") &&
              strlen(str_at(&doc, "choices.0.message.content")) == (size_t)(first - text) &&
              !strncmp(str_at(&doc, "choices.0.message.content"), text, (size_t)(first - text)),
          "stop '%s' in '%s': %s", stop, text, r.body);
    if (ok) json_free(&doc);
    free_response(&r);
    sbuf_free(&body);

    /* Unknown fields and content parts are accepted. */
    r = post("/v1/chat/completions",
             "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Who made\"},"
             "{\"type\":\"text\",\"text\":\" the heaven?\"}],\"name\":\"x\"}],\"max_tokens\":2,"
             "\"frobnicate\":{\"a\":[1,2,{\"b\":null}]},\"logit_bias\":{},\"user\":\"u\"}");
    CHECK(r.status == 200, "unknown fields: %d %s", r.status, r.body);
    free_response(&r);
    free(text);
}

static void test_completions(void) {
    const char *body = "{\"prompt\":\"And God said\",\"max_tokens\":12,\"seed\":5,\"temperature\":0.9,\"cache_prompt\":false}";
    response r = post("/v1/completions", body);
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok && str_is(str_at(&doc, "object"), "text_completion") && str_at(&doc, "choices.0.text") &&
              str_is(str_at(&doc, "choices.0.finish_reason"), "length") && num_at(&doc, "usage.completion_tokens") == 12 &&
              num_at(&doc, "usage.prompt_tokens") > 1,
          "completion: %d %s", r.status, r.body);
    char *text = ok && str_at(&doc, "choices.0.text") ? strdup(str_at(&doc, "choices.0.text")) : NULL;
    if (ok) json_free(&doc);
    free_response(&r);
    /* The same seed streamed: the same text. */
    r = post("/v1/completions", "{\"prompt\":\"And God said\",\"max_tokens\":12,\"seed\":5,\"temperature\":0.9,"
                                "\"stream\":true,\"cache_prompt\":false}");
    stream_result s = read_stream(&r, 0, 0);
    CHECK(r.status == 200 && s.shape_ok && s.done && str_is(s.finish, "length") && text && str_is(s.text, text),
          "streamed completion '%s' vs '%s': %s", s.text, text ? text : "(none)", r.body);
    free(s.text);
    free_response(&r);
    free(text);
    /* Token ids as the prompt. */
    r = post("/v1/completions", "{\"prompt\":[1,2,3],\"max_tokens\":3}");
    CHECK(r.status == 200 && parse_body(&r, &doc) && num_at(&doc, "usage.prompt_tokens") == 3, "token prompt: %s",
          r.body);
    json_free(&doc);
    free_response(&r);
}

/* Two requests at once on the two slots give what they give one at a time. */
static void test_concurrent(void) {
    concurrent_job jobs[2] = {
        {"{\"prompt\":\"In the beginning\",\"max_tokens\":24,\"seed\":11,\"temperature\":0.9,\"cache_prompt\":false}", NULL},
        {"{\"prompt\":\"The LORD is my shepherd\",\"max_tokens\":24,\"seed\":12,\"temperature\":0.9,\"cache_prompt\":false}", NULL},
    };
    char *alone[2];
    for (int i = 0; i < 2; i++) alone[i] = completion_text(jobs[i].body);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, run_job, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK(alone[i] && jobs[i].text && !strcmp(alone[i], jobs[i].text), "job %d: alone '%s', together '%s'", i,
              alone[i] ? alone[i] : "(error)", jobs[i].text ? jobs[i].text : "(error)");
        free(alone[i]);
        free(jobs[i].text);
    }
}

/* The next turn of a chat reuses the slot's cached history. */
static void test_prefix_cache(void) {
    const char *turn1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell of the flood and of Noah.\"}],"
                        "\"max_tokens\":20,\"temperature\":0}";
    response r = post("/v1/chat/completions", turn1);
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok, "turn 1: %s", r.body);
    if (!ok) {
        free_response(&r);
        return;
    }
    double prompt1 = num_at(&doc, "usage.prompt_tokens");
    sbuf body = {0};
    sbuf_str(&body, "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell of the flood and of Noah.\"},"
                    "{\"role\":\"assistant\",\"content\":");
    const char *reply = str_at(&doc, "choices.0.message.content");
    sbuf_json_string(&body, reply ? reply : "", reply ? strlen(reply) : 0);
    sbuf_str(&body, "},{\"role\":\"user\",\"content\":\"And then?\"}],\"max_tokens\":4,\"temperature\":0}");
    json_free(&doc);
    free_response(&r);
    r = post("/v1/chat/completions", body.data);
    ok = r.status == 200 && parse_body(&r, &doc);
    double cached = ok ? num_at(&doc, "usage.prompt_tokens_details.cached_tokens") : -1;
    CHECK(cached >= prompt1 && cached < num_at(&doc, "usage.prompt_tokens"),
          "turn 2 cached %g tokens, turn 1's prompt had %g: %s", cached, prompt1, r.body);
    if (ok) json_free(&doc);
    free_response(&r);
    /* The same prompt again: all of it cached but the last token, which is fed. */
    r = post("/v1/chat/completions", body.data);
    ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok && num_at(&doc, "usage.prompt_tokens_details.cached_tokens") == num_at(&doc, "usage.prompt_tokens") - 1,
          "repeated prompt: %s", r.body);
    if (ok) json_free(&doc);
    free_response(&r);
    sbuf_free(&body);
}

static void test_bad_requests(void) {
    const char *chat = "/v1/chat/completions";
    check_error("malformed JSON", post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}"), 400,
                "invalid_request_error", NULL);
    check_error("not an object", post(chat, "[1,2]"), 400, "invalid_request_error", NULL);
    check_error("empty body", post(chat, ""), 400, "invalid_request_error", NULL);
    check_error("deep nesting", post(chat, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                                         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
                400, "invalid_request_error", NULL);
    check_error("messages a string", post(chat, "{\"messages\":\"hi\"}"), 400, "invalid_request_error", "messages");
    check_error("no messages", post(chat, "{\"model\":\"m\"}"), 400, "invalid_request_error", "messages");
    check_error("bad role", post(chat, "{\"messages\":[{\"role\":\"god\",\"content\":\"hi\"}]}"), 400,
                "invalid_request_error", "messages");
    check_error("content a number", post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}"), 400,
                "invalid_request_error", "messages");
    check_error("temperature a string",
                post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}"), 400,
                "invalid_request_error", "temperature");
    check_error("max_tokens negative",
                post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-1}"), 400,
                "invalid_request_error", "max_tokens");
    check_error("max_tokens fractional",
                post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2.5}"), 400,
                "invalid_request_error", "max_tokens");
    check_error("stream a number", post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":1}"),
                400, "invalid_request_error", "stream");
    check_error("stop a number", post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":7}"), 400,
                "invalid_request_error", "stop");
    check_error("n = 9", post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":9}"), 400,
                "invalid_request_error", "n");
    check_error("prompt an object", post("/v1/completions", "{\"prompt\":{}}"), 400, "invalid_request_error", "prompt");
    check_error("token out of range", post("/v1/completions", "{\"prompt\":[1,999999]}"), 400,
                "invalid_request_error", "prompt");
    check_error("token 1e300", post("/v1/completions", "{\"prompt\":[1,1e300]}"), 400, "invalid_request_error",
                "prompt");
    check_error("token 2.5", post("/v1/completions", "{\"prompt\":[1,2.5]}"), 400, "invalid_request_error", "prompt");
    check_error("seed 1e300", post("/v1/completions", "{\"prompt\":\"a\",\"seed\":1e300}"), 400,
                "invalid_request_error", "seed");

    /* A prompt longer than the context (4096 positions). */
    sbuf big = {0};
    sbuf_str(&big, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (int i = 0; i < 1500; i++) sbuf_str(&big, "the LORD said unto Moses ");
    sbuf_str(&big, "\"}]}");
    response r = post(chat, big.data);
    json_doc doc = {0};
    CHECK(r.status == 400 && parse_body(&r, &doc) && str_is(str_at(&doc, "error.code"), "context_length_exceeded"),
          "too long prompt: %d %s", r.status, r.body);
    json_free(&doc);
    check_error("too long prompt", r, 400, "invalid_request_error", "messages");

    /* A body over --max-body (65536): refused from the head alone. */
    const char head[] = "POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer " KEY
                        "\r\nContent-Length: 100000\r\n\r\n";
    check_error("oversized body", exchange(head, sizeof head - 1), 413, "invalid_request_error", NULL);
    sbuf_free(&big);

    /* HTTP-level errors. */
    check_error("unknown path", request("GET", "/v1/nothing", KEY, NULL), 404, "not_found_error", NULL);
    check_error("wrong method", request("GET", chat, KEY, NULL), 405, "invalid_request_error", NULL);
    check_error("wrong method 2", request("POST", "/v1/models", KEY, "{}"), 405, "invalid_request_error", NULL);
    check_error("no key", request("GET", "/v1/models", NULL, NULL), 401, "authentication_error", NULL);
    check_error("wrong key", request("GET", "/v1/models", "test-key-1235", NULL), 401, "authentication_error", NULL);
    check_error("key prefix", request("POST", chat, "test-key-123", "{}"), 401, "authentication_error", NULL);
    const char garbage[] = "HELLO\r\n\r\n";
    check_error("garbage", exchange(garbage, sizeof garbage - 1), 400, "invalid_request_error", NULL);
    const char chunked[] = "POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    check_error("chunked", exchange(chunked, sizeof chunked - 1), 501, "server_error", NULL);
    sbuf huge = {0};
    sbuf_str(&huge, "GET /health HTTP/1.1\r\n");
    for (int i = 0; i < 2000; i++) sbuf_str(&huge, "X-Filler: 0123456789\r\n");
    sbuf_str(&huge, "\r\n");
    r = exchange(huge.data, huge.len);
    CHECK(r.status == 431, "huge head: %d", r.status);
    free_response(&r);
    sbuf_free(&huge);
}

/* Clients that leave mid-stream or stall: their generations stop, their slots
 * and threads come back. */
static void test_disconnects(void) {
    for (int round = 0; round < 3; round++) {
        int fd = connect_server();
        const char *body = "{\"prompt\":\"And it came to pass\",\"max_tokens\":3000,\"stream\":true}";
        char req[512];
        int n = snprintf(req, sizeof req,
                         "POST /v1/completions HTTP/1.1\r\nAuthorization: Bearer " KEY "\r\nContent-Length: %zu\r\n\r\n%s",
                         strlen(body), body);
        CHECK(fd >= 0 && !send_text(fd, req, (size_t)n), "stream request");
        char first[64];
        ssize_t got = fd >= 0 ? recv(fd, first, sizeof first, 0) : -1; /* the stream has begun */
        CHECK(got > 0, "stream began");
        if (fd >= 0) close(fd);
    }
    /* A client that leaves while its answer (not streamed) is generated. */
    int leaver = connect_server();
    const char *leaver_body = "{\"prompt\":\"And it came to pass\",\"max_tokens\":3000}";
    char leaver_req[512];
    int leaver_len = snprintf(leaver_req, sizeof leaver_req,
                              "POST /v1/completions HTTP/1.1\r\nAuthorization: Bearer " KEY
                              "\r\nContent-Length: %zu\r\n\r\n%s",
                              strlen(leaver_body), leaver_body);
    CHECK(leaver >= 0 && !send_text(leaver, leaver_req, (size_t)leaver_len), "request to leave");
    sleep_ms(100);
    if (leaver >= 0) close(leaver);
    /* The generations stopped far short of their 3000 tokens (a few seconds
     * here if they ran), so the slots, idle again, hold few positions. */
    int idle = -1;
    double most_cached = 0;
    for (int tries = 0; tries < 300 && idle != 2; tries++) {
        most_cached = 0;
        idle = health_idle(&most_cached);
        if (idle != 2) sleep_ms(100);
    }
    CHECK(idle == 2 && most_cached > 0 && most_cached < 1500, "after the disconnects: %d idle slots, up to %g positions",
          idle, most_cached);
    /* A request that stalls in its head, and one in its body, are closed
     * after the 2-second time-out. */
    const char *partial[] = {"POST /v1/chat/completions HTTP/1.1\r\nContent-Le",
                             "POST /v1/completions HTTP/1.1\r\nAuthorization: Bearer " KEY
                             "\r\nContent-Length: 100\r\n\r\n{\"prompt\":"};
    for (int i = 0; i < 2; i++) {
        int fd = connect_server();
        double t0 = seconds_now();
        CHECK(fd >= 0 && !send_text(fd, partial[i], strlen(partial[i])), "partial request %d", i);
        size_t len = 0;
        char *answer = fd >= 0 ? read_all(fd, &len) : NULL;
        double waited = seconds_now() - t0;
        CHECK(waited > 1.5 && waited < 10, "partial request %d closed after %.1f s", i, waited);
        CHECK(!answer || len == 0 || !strncmp(answer, "HTTP/1.1 408", 12), "partial request %d: %s", i, answer);
        free(answer);
        if (fd >= 0) close(fd);
    }
    /* Both slots serve. */
    concurrent_job jobs[2] = {{"{\"prompt\":\"And God saw\",\"max_tokens\":4}", NULL},
                              {"{\"prompt\":\"Blessed are\",\"max_tokens\":4}", NULL}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, run_job, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    CHECK(jobs[0].text && jobs[1].text, "both slots serve after the disconnects");
    free(jobs[0].text);
    free(jobs[1].text);
}

/* n: choice k is the answer a single request with seed + k gives, streamed
 * or not, its chunks marked with its index. */
static void test_choices(void) {
    static const char fmt[] = "{\"prompt\":\"In the beginning\",\"max_tokens\":6,\"temperature\":0.9,\"seed\":%d,"
                              "\"cache_prompt\":false%s}";
    char body[256], *alone[3];
    for (int k = 0; k < 3; k++) {
        snprintf(body, sizeof body, fmt, 40 + k, "");
        alone[k] = completion_text(body);
    }
    snprintf(body, sizeof body, fmt, 40, ",\"n\":3");
    response r = post("/v1/completions", body);
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    int same = ok, indexed = ok;
    for (int k = 0; ok && k < 3; k++) {
        char path[32];
        snprintf(path, sizeof path, "choices.%d.text", k);
        same &= alone[k] && str_is(str_at(&doc, path), alone[k]);
        snprintf(path, sizeof path, "choices.%d.index", k);
        indexed &= num_at(&doc, path) == k;
    }
    CHECK(same && indexed && !at_path(&doc, "choices.3") && num_at(&doc, "usage.completion_tokens") > 6 &&
              num_at(&doc, "usage.completion_tokens") <= 18,
          "n = 3: %s", r.body);
    if (ok) json_free(&doc);
    free_response(&r);

    snprintf(body, sizeof body, fmt, 40, ",\"n\":3,\"stream\":true");
    r = post("/v1/completions", body);
    int streamed_same = r.status == 200;
    for (int k = 0; k < 3; k++) {
        stream_result st = read_stream(&r, 0, k);
        streamed_same &= st.shape_ok && st.done && alone[k] && str_is(st.text, alone[k]) && st.finish[0];
        free(st.text);
    }
    CHECK(streamed_same, "n = 3 streamed: %s", r.body);
    free_response(&r);
    for (int k = 0; k < 3; k++) free(alone[k]);
}

/* logprobs: greedy, each token is its distribution's most likely one, so its
 * log-probability is the first alternative's; the probabilities listed sum to
 * at most 1; the tokens spell the text; streamed entries equal the whole. */
static void test_logprobs(void) {
    response r = post("/v1/completions", "{\"prompt\":\"And God said\",\"max_tokens\":6,\"temperature\":0,\"logprobs\":3,"
                                         "\"cache_prompt\":false}");
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    const json_node *tokens = ok ? at_path(&doc, "choices.0.logprobs.tokens") : NULL;
    const json_node *values = ok ? at_path(&doc, "choices.0.logprobs.token_logprobs") : NULL;
    const json_node *tops = ok ? at_path(&doc, "choices.0.logprobs.top_logprobs") : NULL;
    const json_node *offsets = ok ? at_path(&doc, "choices.0.logprobs.text_offset") : NULL;
    int shape = tokens && values && tops && offsets && tokens->n_children == 6 && values->n_children == 6 &&
                tops->n_children == 6 && offsets->n_children == 6;
    int consistent = shape;
    sbuf spelled = {0};
    sbuf_add(&spelled, "", 0);
    const json_node *t = shape ? json_first(&doc, tokens) : NULL, *v = shape ? json_first(&doc, values) : NULL;
    const json_node *top = shape ? json_first(&doc, tops) : NULL, *off = shape ? json_first(&doc, offsets) : NULL;
    for (; t && v && top && off; t = json_next(&doc, t), v = json_next(&doc, v), top = json_next(&doc, top),
                                  off = json_next(&doc, off)) {
        consistent &= off->type == JSON_NUMBER && off->number == (double)spelled.len;
        sbuf_add(&spelled, json_str(&doc, t), t->str_len);
        double best = -1e30, mass = 0;
        for (const json_node *a = json_first(&doc, top); a; a = json_next(&doc, a)) {
            if (a->number > best) best = a->number;
            mass += exp(a->number);
        }
        consistent &= top->n_children >= 1 && top->n_children <= 3 && v->number <= 0 && v->number == best &&
                      mass <= 1.0 + 1e-6;
    }
    CHECK(consistent && spelled.data && str_is(str_at(&doc, "choices.0.text"), spelled.data), "completion logprobs: %s",
          r.body);
    sbuf_free(&spelled);
    if (ok) json_free(&doc);
    free_response(&r);

    const char *chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"Who made the heaven?\"}],\"max_tokens\":5,"
                       "\"temperature\":0,\"logprobs\":true,\"top_logprobs\":2,\"cache_prompt\":false%s}";
    char body[256];
    snprintf(body, sizeof body, chat, "");
    r = post("/v1/chat/completions", body);
    ok = r.status == 200 && parse_body(&r, &doc);
    const json_node *content = ok ? at_path(&doc, "choices.0.logprobs.content") : NULL;
    consistent = content && content->n_children == (uint32_t)num_at(&doc, "usage.completion_tokens");
    sbuf whole = {0}, streamed = {0};
    sbuf_add(&whole, "", 0);
    sbuf_add(&streamed, "", 0);
    for (const json_node *e = content ? json_first(&doc, content) : NULL; e; e = json_next(&doc, e)) {
        const json_node *alt = json_first(&doc, json_get(&doc, e, "top_logprobs"));
        const json_node *lp = json_get(&doc, e, "logprob"), *tok = json_get(&doc, e, "token");
        consistent &= lp && tok && alt && json_get(&doc, alt, "logprob") &&
                      json_get(&doc, alt, "logprob")->number == lp->number &&
                      json_get(&doc, e, "top_logprobs")->n_children == 2 &&
                      json_get(&doc, e, "bytes")->n_children == tok->str_len;
        if (tok) sbuf_printf(&whole, "%s %.9g|", json_str(&doc, tok), lp ? lp->number : 0.0);
    }
    CHECK(consistent && str_at(&doc, "choices.0.message.content"), "chat logprobs: %s", r.body);
    if (ok) json_free(&doc);
    free_response(&r);

    snprintf(body, sizeof body, chat, ",\"stream\":true");
    r = post("/v1/chat/completions", body);
    const char *p = r.body;
    while (p && *p) { /* each chunk's entries, in order */
        const char *eol = strstr(p, "\n\n");
        if (!eol) break;
        json_doc chunk = {0};
        if (!strncmp(p, "data: {", 7) && json_parse(&chunk, p + 6, (size_t)(eol - p - 6), 64) == 0) {
            const json_node *c = at_path(&chunk, "choices.0.logprobs.content");
            for (const json_node *e = c ? json_first(&chunk, c) : NULL; e; e = json_next(&chunk, e)) {
                const json_node *lp = json_get(&chunk, e, "logprob"), *tok = json_get(&chunk, e, "token");
                if (tok) sbuf_printf(&streamed, "%s %.9g|", json_str(&chunk, tok), lp ? lp->number : 0.0);
            }
            json_free(&chunk);
        }
        p = eol + 2;
    }
    CHECK(whole.len > 0 && whole.data && streamed.data && !strcmp(whole.data, streamed.data),
          "streamed logprobs '%s', whole '%s'", streamed.data, whole.data);
    sbuf_free(&whole);
    sbuf_free(&streamed);
    free_response(&r);

    check_error("top_logprobs 21", post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                                                                "\"logprobs\":true,\"top_logprobs\":21}"),
                400, "invalid_request_error", "top_logprobs");
    check_error("completion logprobs 6", post("/v1/completions", "{\"prompt\":\"x\",\"logprobs\":6}"), 400,
                "invalid_request_error", "logprobs");
}

/* echo: the prompt, then the answer; with logprobs and max_tokens 0 it scores
 * the prompt (each token from the distribution after the ones before it). */
static void test_echo(void) {
    response r = post("/v1/completions", "{\"prompt\":\"And God said unto Moses\",\"max_tokens\":0,\"echo\":true,"
                                         "\"logprobs\":1}");
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    const json_node *tokens = ok ? at_path(&doc, "choices.0.logprobs.tokens") : NULL;
    const json_node *values = ok ? at_path(&doc, "choices.0.logprobs.token_logprobs") : NULL;
    int scored = tokens && values && tokens->n_children == values->n_children &&
                 tokens->n_children + 1 == (uint32_t)num_at(&doc, "usage.prompt_tokens") && /* all but BOS */
                 num_at(&doc, "usage.completion_tokens") == 0 &&
                 str_is(str_at(&doc, "choices.0.text"), "And God said unto Moses");
    sbuf spelled = {0};
    sbuf_add(&spelled, "", 0);
    for (const json_node *t = tokens ? json_first(&doc, tokens) : NULL, *v = values ? json_first(&doc, values) : NULL;
         t && v; t = json_next(&doc, t), v = json_next(&doc, v)) {
        sbuf_add(&spelled, json_str(&doc, t), t->str_len);
        scored &= v->type == JSON_NUMBER && v->number <= 0;
    }
    CHECK(scored && spelled.data && !strcmp(spelled.data, "And God said unto Moses"), "scoring a prompt: %s", r.body);
    sbuf_free(&spelled);
    if (ok) json_free(&doc);
    free_response(&r);

    char *plain = completion_text("{\"prompt\":\"And God said\",\"max_tokens\":5,\"temperature\":0,\"cache_prompt\":false}");
    char *echoed = completion_text(
        "{\"prompt\":\"And God said\",\"max_tokens\":5,\"temperature\":0,\"echo\":true,\"cache_prompt\":false}");
    CHECK(plain && echoed && !strncmp(echoed, "And God said", 12) && !strcmp(echoed + 12, plain),
          "echo: '%s', without: '%s'", echoed ? echoed : "(error)", plain ? plain : "(error)");
    free(plain);
    free(echoed);

    /* token ids: no BOS is added, so the first token has no log-probability */
    r = post("/v1/completions", "{\"prompt\":[5,6,7],\"max_tokens\":0,\"echo\":true,\"logprobs\":0}");
    ok = r.status == 200 && parse_body(&r, &doc);
    values = ok ? at_path(&doc, "choices.0.logprobs.token_logprobs") : NULL;
    CHECK(values && values->n_children == 3 && json_first(&doc, values)->type == JSON_NULL &&
              json_next(&doc, json_first(&doc, values))->type == JSON_NUMBER,
          "echoed token ids: %s", r.body);
    if (ok) json_free(&doc);
    free_response(&r);

    check_error("max_tokens 0 without echo", post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":0}"), 400,
                "invalid_request_error", "max_tokens");
    check_error("chat max_tokens 0",
                post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}"),
                400, "invalid_request_error", "max_tokens");
}

/* ---- Tool calls ------------------------------------------------------------ */

static int split_is(const char *text, size_t sep, const char *name, const char *args) {
    tool_call_span sp;
    if (tool_call_split(text, strlen(text), sep, &sp)) return name == NULL;
    return name && sp.name_len == strlen(name) && !memcmp(text + sp.name, name, sp.name_len) &&
           sp.arguments_len == strlen(args) && !memcmp(text + sp.arguments, args, sp.arguments_len);
}

/* The call reader and the JSON writer, without the server. */
static void test_tool_call_reading(void) {
    CHECK(split_is("function" "get_weather\n```json\n{\"city\": \"Paris\"}\n```", 8, "get_weather", "{\"city\": \"Paris\"}"),
          "V3 call");
    CHECK(split_is("get_weather" "{\"city\": \"Paris\"}", 11, "get_weather", "{\"city\": \"Paris\"}"), "V3.1 call");
    CHECK(split_is("function" " f \n```json\n{\"a\": \"```\"}", 8, "f", "{\"a\": \""), "V3 call cut short");
    CHECK(split_is("function" "f\n```json\n{}\n```\n", 8, "f", "{}"), "V3 call, trailing newline");
    CHECK(split_is("  {}", 0, NULL, NULL), "no name");
    CHECK(split_is("x", 5, NULL, NULL), "separator past the end");
    json_doc doc = {0};
    const char *in = "{\"a\":[1,2.5,-3e-7,\"x\\n\\u00e9\"],\"b\":{\"c\":null,\"d\":true,\"e\":false},\"f\":{}}";
    int ok = json_parse(&doc, in, strlen(in), 8) == 0;
    sbuf out = {0};
    if (ok) json_write(&out, &doc, json_root(&doc));
    CHECK(ok && out.data &&
              !strcmp(out.data, "{\"a\": [1, 2.5, -2.9999999999999999e-07, \"x\\n\xc3\xa9\"], \"b\": {\"c\": null, \"d\": true, "
                                "\"e\": false}, \"f\": {}}"),
          "json_write: %s", out.data ? out.data : "(null)");
    sbuf_free(&out);
    if (ok) json_free(&doc);
}

/* A request with tools and a history of calls renders as the template's text:
 * the same prompt as that text sent to /v1/completions (the shipped model has
 * no tool-call tokens, so they are plain text to it, in both). */
static void test_tool_calls(void) {
    static const char chat[] =
        "{\"messages\":[{\"role\":\"system\",\"content\":\"You answer briefly.\"},"
        "{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"21 degrees\"},"
        "{\"role\":\"user\",\"content\":\"Thanks.\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather of a city\","
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}],"
        "%s\"max_tokens\":8,\"temperature\":0}";
    static const char rendered[] =
        "You answer briefly.\n\n## Tools\nYou have access to the following tools:\n"
        "\n### get_weather\nDescription: Weather of a city\n\n"
        "Parameters: {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}\n"
        "\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n" T_CALLS_BEGIN T_CALL_BEGIN "function" T_SEP
        "tool_call_name\n```json\ntool_call_arguments\n```" T_CALL_END "{additional_tool_calls}" T_CALLS_END
        "\n\nWhere:\n- `tool_call_name` must be an exact match to one of the available tools\n"
        "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n"
        "- For multiple tool calls, start each one after the first on a new line" T_USER "Weather in Paris?" T_ASSISTANT
        T_CALLS_BEGIN T_CALL_BEGIN "function" T_SEP "get_weather\n```json\n{\"city\": \"Paris\"}\n```" T_CALL_END
        T_CALLS_END T_EOS T_OUTPUTS_BEGIN T_OUTPUT_BEGIN "21 degrees" T_OUTPUT_END T_USER "Thanks." T_ASSISTANT;
    char body[4096];
    snprintf(body, sizeof body, chat, "");
    response r = post("/v1/chat/completions", body);
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    double chat_prompt = ok ? num_at(&doc, "usage.prompt_tokens") : -1;
    char *chat_text = ok && str_at(&doc, "choices.0.message.content") ? strdup(str_at(&doc, "choices.0.message.content")) : NULL;
    CHECK(ok && chat_text && str_is(str_at(&doc, "choices.0.finish_reason"), "length"), "chat with tools: %d %s",
          r.status, r.body);
    if (ok) json_free(&doc);
    free_response(&r);

    sbuf completion = {0};
    sbuf_str(&completion, "{\"prompt\":");
    sbuf_json_string(&completion, rendered, strlen(rendered));
    sbuf_str(&completion, ",\"max_tokens\":8,\"temperature\":0}");
    r = post("/v1/completions", completion.data);
    ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok && num_at(&doc, "usage.prompt_tokens") == chat_prompt && chat_text &&
              str_is(str_at(&doc, "choices.0.text"), chat_text),
          "the rendered tools and calls: %g prompt tokens, the template's text %g; '%s' / %s", chat_prompt,
          ok ? num_at(&doc, "usage.prompt_tokens") : -1.0, chat_text ? chat_text : "(none)", r.body);
    if (ok) json_free(&doc);
    free_response(&r);
    sbuf_free(&completion);
    free(chat_text);

    /* tool_choice "none": the tools are not listed */
    snprintf(body, sizeof body, chat, "\"tool_choice\":\"none\",");
    r = post("/v1/chat/completions", body);
    ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok && num_at(&doc, "usage.prompt_tokens") > 0 && num_at(&doc, "usage.prompt_tokens") < chat_prompt,
          "tool_choice none: %s", r.body);
    if (ok) json_free(&doc);
    free_response(&r);

    check_error("tools not an array", post("/v1/chat/completions",
                                           "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}"),
                400, "invalid_request_error", "tools");
    check_error("a tool without a name",
                post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                                             "\"tools\":[{\"type\":\"function\",\"function\":{\"description\":\"d\"}}]}"),
                400, "invalid_request_error", "tools");
    check_error("a call without arguments",
                post("/v1/chat/completions",
                     "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"type\":\"function\","
                     "\"function\":{\"name\":\"f\"}}]}]}"),
                400, "invalid_request_error", "messages");
}

/* --max-conns 8: a ninth connection is refused while eight are open. */
static void test_connection_limit(void) {
    int fds[8];
    for (int i = 0; i < 8; i++) fds[i] = connect_server();
    sleep_ms(500); /* let the server accept them all */
    int fd = connect_server();
    size_t len = 0;
    char *answer = fd >= 0 ? read_all(fd, &len) : NULL;
    CHECK(answer && !strncmp(answer, "HTTP/1.1 503", 12), "ninth connection: %s", answer ? answer : "(none)");
    free(answer);
    if (fd >= 0) close(fd);
    for (int i = 0; i < 8; i++)
        if (fds[i] >= 0) close(fds[i]);
    int idle = -1;
    for (int tries = 0; tries < 50 && idle != 2; tries++) {
        idle = health_idle(NULL);
        if (idle != 2) sleep_ms(100);
    }
    CHECK(idle == 2, "health after the connection limit: %d", idle);
}

/* SIGTERM, and the exit status (-1: none within 20 s; then killed). */
static int stop_server(pid_t pid) {
    kill(pid, SIGTERM);
    int status = -1;
    double t0 = seconds_now();
    while (seconds_now() - t0 < 20) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        sleep_ms(50);
        status = -1;
    }
    if (status == -1) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    return status;
}

/* A model that answers with a tool call (tests/tools/gen_tool_model.py: its
 * greedy answer is DeepSeek-V3's call of get_weather with {"city": "Paris"}):
 * the call comes back as tool_calls, streamed and not, and the history with
 * it and the tool's output is accepted. */
static void test_generated_tool_calls(void) {
    static const char fmt[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}],\"temperature\":0,"
        "\"max_tokens\":20,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"parameters\":{\"type\":\"object\"}}}]%s}";
    char body[1024];
    snprintf(body, sizeof body, fmt, "");
    response r = post("/v1/chat/completions", body);
    json_doc doc = {0};
    int ok = r.status == 200 && parse_body(&r, &doc);
    const char *id = ok ? str_at(&doc, "choices.0.message.tool_calls.0.id") : NULL;
    CHECK(ok && at_path(&doc, "choices.0.message.content") &&
              at_path(&doc, "choices.0.message.content")->type == JSON_NULL && id && !strncmp(id, "call_", 5) &&
              str_is(str_at(&doc, "choices.0.message.tool_calls.0.type"), "function") &&
              str_is(str_at(&doc, "choices.0.message.tool_calls.0.function.name"), "get_weather") &&
              str_is(str_at(&doc, "choices.0.message.tool_calls.0.function.arguments"), "{\"city\": \"Paris\"}") &&
              !at_path(&doc, "choices.0.message.tool_calls.1") &&
              str_is(str_at(&doc, "choices.0.finish_reason"), "tool_calls"),
          "a generated tool call: %s", r.body);
    json_free(&doc);
    free_response(&r);

    snprintf(body, sizeof body, fmt, ",\"stream\":true");
    r = post("/v1/chat/completions", body);
    stream_result st = read_stream(&r, 1, 0);
    CHECK(r.status == 200 && st.shape_ok && st.done && str_is(st.finish, "tool_calls") && r.raw &&
              strstr(r.raw, "\"delta\":{\"tool_calls\":[{\"index\":0,") &&
              strstr(r.raw, "\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\""),
          "a streamed tool call: %s", r.body);
    free(st.text);
    free_response(&r);

    /* without tools the call's tokens are no text, and no call is read */
    r = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],"
                                     "\"temperature\":0,\"max_tokens\":20}");
    ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok && !at_path(&doc, "choices.0.message.tool_calls") && str_is(str_at(&doc, "choices.0.finish_reason"), "stop"),
          "no tools, no tool_calls: %s", r.body);
    json_free(&doc);
    free_response(&r);

    /* the call and its output sent back */
    snprintf(body, sizeof body, fmt,
             ",\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},{\"role\":\"assistant\","
             "\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
             "\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]},{\"role\":\"tool\","
             "\"tool_call_id\":\"call_1\",\"content\":\"21 degrees\"}]");
    r = post("/v1/chat/completions", body);
    ok = r.status == 200 && parse_body(&r, &doc);
    CHECK(ok && num_at(&doc, "usage.prompt_tokens") > 0, "the call and its output sent back: %s", r.body);
    json_free(&doc);
    free_response(&r);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: test_server SERVER_BINARY MODEL.gguf [TOOL_MODEL.gguf]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    test_tool_call_reading();
    pthread_t watchdog;
    pthread_create(&watchdog, NULL, watchdog_main, NULL);
    pthread_detach(watchdog);
    pid_t pid = start_server(argv[1], argv[2], &server_port);
    server_pid = pid;
    CHECK(pid > 0 && server_port > 0, "the server started and named its port");
    if (pid <= 0 || server_port <= 0) {
        if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
        return test_summary();
    }
    /* in section_names' order */
    void (*const sections[])(void) = {test_basics,       test_chat,         test_completions, test_concurrent,
                                      test_prefix_cache, test_choices,      test_logprobs,    test_echo,
                                      test_tool_calls,   test_bad_requests, test_disconnects, test_connection_limit};
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        section = (sig_atomic_t)(i + 1);
        sections[i]();
    }
    section = (sig_atomic_t)(sizeof sections / sizeof *sections + 1);

    /* SIGTERM: a clean exit, promptly, with a client still connected. */
    int idle_fd = connect_server();
    int status = stop_server(pid);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit after SIGTERM: status %d", status);
    if (idle_fd >= 0) close(idle_fd);

    if (argc == 4) { /* a second server, on the tool-calling model */
        section = (sig_atomic_t)(sizeof sections / sizeof *sections + 2);
        pid = start_server(argv[1], argv[3], &server_port);
        server_pid = pid;
        CHECK(pid > 0 && server_port > 0, "the tool model's server started");
        if (pid > 0 && server_port > 0) test_generated_tool_calls();
        if (pid > 0) {
            status = stop_server(pid);
            CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "tool model's server: status %d",
                  status);
        }
    }
    return test_summary();
}
