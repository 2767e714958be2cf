/* Minimal test harness: CHECK counts, the summary line is "N passed, N failed". */
#ifndef DSV3_TEST_UTIL_H
#define DSV3_TEST_UTIL_H
#undef NDEBUG
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* mkstemp, mkdtemp; too late if a system header came first */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <direct.h> /* _mkdir, _rmdir */
#include <fcntl.h>
#include <io.h> /* _setmode */
#else
#include <sys/stat.h> /* mkdir */
#include <unistd.h> /* close, rmdir */
#endif

static int tests_passed, tests_failed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            tests_passed++;                                               \
        } else {                                                          \
            tests_failed++;                                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

static int test_summary(void) {
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed ? 1 : 0;
}

/* Reads a whole file into an exact-size heap buffer (so ASan sees overreads). */
static inline unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) *size = (size_t)n;
    return buf;
}
/* A golden file of tests/tools (format in tests/tools/README.md): "DSVG", u32
   version 1, u32 n_tokens, u32 n_vocab, i32 tokens[n_tokens], f32
   logits[n_tokens][n_vocab]. Returns 0 if the file is missing or malformed;
   free(g->raw) when done. */
typedef struct golden {
    uint32_t n_tokens, n_vocab;
    const int32_t *tokens;
    const float *logits;
    unsigned char *raw;
} golden;

static inline int read_golden(const char *path, golden *g) {
    size_t size = 0;
    memset(g, 0, sizeof *g);
    g->raw = read_file(path, &size);
    if (!g->raw || size < 16 || memcmp(g->raw, "DSVG", 4) != 0) return 0;
    uint32_t version;
    memcpy(&version, g->raw + 4, 4);
    memcpy(&g->n_tokens, g->raw + 8, 4);
    memcpy(&g->n_vocab, g->raw + 12, 4);
    if (version != 1 || size != 16 + 4 * (size_t)g->n_tokens * (1 + (size_t)g->n_vocab)) return 0;
    g->tokens = (const int32_t *)(const void *)(g->raw + 16);
    g->logits = (const float *)(const void *)(g->raw + 16 + 4 * (size_t)g->n_tokens);
    return 1;
}

/* An allocator for the model params that fails once `remaining` allocations
   have been made and counts the live ones (for out-of-memory tests). */
typedef struct alloc_budget {
    int remaining;
    int live;
} alloc_budget;

static inline void *budget_alloc(void *user, size_t size) {
    alloc_budget *b = (alloc_budget *)user;
    if (b->remaining-- <= 0) return NULL;
    b->live++;
    return malloc(size);
}

static inline void budget_free(void *user, void *p) {
    ((alloc_budget *)user)->live--;
    free(p);
}

/* ---- Portability: what the tests need beyond C11, on POSIX and Windows ---- */

/* Where temporary files go: /tmp, or %TEMP% on Windows. */
static inline const char *temp_dir(void) {
#if defined(_WIN32)
    const char *dir = getenv("TEMP");
    return dir && *dir ? dir : ".";
#else
    return "/tmp";
#endif
}

/* Creates a new empty file named PREFIX + a unique suffix in temp_dir() and
   writes its path to out; 1 on success. */
static inline int make_temp_file(char *out, size_t size, const char *prefix) {
    if ((size_t)snprintf(out, size, "%s/%sXXXXXX", temp_dir(), prefix) >= size) return 0;
#if defined(_WIN32)
    if (_mktemp_s(out, strlen(out) + 1) != 0) return 0;
    FILE *f = fopen(out, "wb");
    if (!f) return 0;
    fclose(f);
    return 1;
#else
    int fd = mkstemp(out);
    if (fd < 0) return 0;
    close(fd);
    return 1;
#endif
}

/* The same for a directory; remove it with remove_dir(). */
static inline int make_temp_dir(char *out, size_t size, const char *prefix) {
    if ((size_t)snprintf(out, size, "%s/%sXXXXXX", temp_dir(), prefix) >= size) return 0;
#if defined(_WIN32)
    return _mktemp_s(out, strlen(out) + 1) == 0 && _mkdir(out) == 0;
#else
    return mkdtemp(out) != NULL;
#endif
}

static inline int remove_dir(const char *path) {
#if defined(_WIN32)
    return _rmdir(path);
#else
    return rmdir(path);
#endif
}

/* Windows' C runtime writes "\n" as "\r\n" to a text-mode stdout; programs
   whose output a test compares byte for byte switch it to binary. */
static inline void binary_stdout(void) {
#if defined(_WIN32)
    fflush(stdout);
    _setmode(_fileno(stdout), _O_BINARY);
#endif
}

/* DeepSeek's special tokens as text (dsv3-tokenizer.md §2): fullwidth bars
   and the lower one-eighth block in their names. */
#define FW(name) "<\xef\xbd\x9c" name "\xef\xbd\x9c>"
#define LB "\xe2\x96\x81"
#define T_BOS FW("begin" LB "of" LB "sentence")
#define T_EOS FW("end" LB "of" LB "sentence")
#define T_USER FW("User")
#define T_ASSISTANT FW("Assistant")
#define T_CALLS_BEGIN FW("tool" LB "calls" LB "begin")
#define T_CALLS_END FW("tool" LB "calls" LB "end")
#define T_CALL_BEGIN FW("tool" LB "call" LB "begin")
#define T_CALL_END FW("tool" LB "call" LB "end")
#define T_SEP FW("tool" LB "sep")
#define T_OUTPUTS_BEGIN FW("tool" LB "outputs" LB "begin")
#define T_OUTPUTS_END FW("tool" LB "outputs" LB "end")
#define T_OUTPUT_BEGIN FW("tool" LB "output" LB "begin")
#define T_OUTPUT_END FW("tool" LB "output" LB "end")

#endif
