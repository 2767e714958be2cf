/* Minimal test harness: CHECK counts, the summary line is "N passed, N failed". */
#ifndef DSV3_TEST_UTIL_H
#define DSV3_TEST_UTIL_H
#undef NDEBUG
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#endif
