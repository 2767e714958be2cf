/* build/dsv3-bench - prefill and decode speed against the machine's own memory
 * bandwidth.
 *
 *   dsv3-bench -m MODEL.gguf [-t THREADS] [-p 512] [-n 128] [-r REPEATS]
 *
 * Decoding on a CPU streams the active weights from memory once per token, so
 * the figure that matters is the effective bandwidth (active bytes per token x
 * tokens/s) as a fraction of what a plain read loop achieves on this machine.
 */
#define _POSIX_C_SOURCE 200809L
#include "dsv3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform.h" /* now_seconds, utf8_args */
#if defined(_WIN32)
#include <psapi.h> /* GetProcessMemoryInfo */
#if defined(_MSC_VER)
#pragma comment(lib, "psapi.lib")
#endif
#else
#include <sys/resource.h>
#ifndef DSV3_NO_THREADS
#include <pthread.h>
#endif
#endif

typedef struct read_job {
    const uint64_t *data;
    size_t n_words;
    uint64_t sum;
} read_job;

/* Sums a buffer with eight independent accumulators: 64 bytes per iteration
   keep the loop bound by memory, not by issuing instructions (four 8-byte
   loads per iteration measured a fifth below what a Zen 4 core can read). */
static void read_sum(read_job *job) {
    const uint64_t *data = job->data;
    size_t n = job->n_words, i = 0;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += data[i];
        s1 += data[i + 1];
        s2 += data[i + 2];
        s3 += data[i + 3];
        s4 += data[i + 4];
        s5 += data[i + 5];
        s6 += data[i + 6];
        s7 += data[i + 7];
    }
    for (; i < n; i++) s0 += data[i];
    job->sum = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

#if defined(_WIN32)
static DWORD WINAPI read_worker(LPVOID arg) {
    read_sum((read_job *)arg);
    return 0;
}
#elif !defined(DSV3_NO_THREADS)
static void *read_worker(void *arg) {
    read_sum((read_job *)arg);
    return NULL;
}
#endif

/* Best-of-5 streaming read bandwidth (bytes/s) over a buffer much larger than
   any last-level cache, split across n_threads. */
static double read_bandwidth(int n_threads) {
    size_t bytes = (size_t)1 << 30;
    uint64_t *buf = malloc(bytes);
    if (!buf) return 0.0;
    size_t n_words = bytes / sizeof *buf;
    for (size_t i = 0; i < n_words; i++) buf[i] = i; /* fault every page in */
    read_job jobs[64];
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 64) n_threads = 64;
    double best = 0.0;
    uint64_t check = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_seconds();
#if defined(_WIN32) && !defined(DSV3_NO_THREADS)
        HANDLE threads[64];
        for (int t = 0; t < n_threads; t++) {
            jobs[t].data = buf + n_words * t / n_threads;
            jobs[t].n_words = n_words * (t + 1) / n_threads - n_words * t / n_threads;
            if (t > 0) threads[t] = CreateThread(NULL, 0, read_worker, &jobs[t], 0, NULL);
        }
        read_sum(&jobs[0]);
        for (int t = 1; t < n_threads; t++) {
            WaitForSingleObject(threads[t], INFINITE);
            CloseHandle(threads[t]);
        }
#elif !defined(DSV3_NO_THREADS)
        pthread_t threads[64];
        for (int t = 0; t < n_threads; t++) {
            jobs[t].data = buf + n_words * t / n_threads;
            jobs[t].n_words = n_words * (t + 1) / n_threads - n_words * t / n_threads;
            if (t > 0) pthread_create(&threads[t], NULL, read_worker, &jobs[t]);
        }
        read_sum(&jobs[0]);
        for (int t = 1; t < n_threads; t++) pthread_join(threads[t], NULL);
#else
        n_threads = 1;
        jobs[0].data = buf;
        jobs[0].n_words = n_words;
        read_sum(&jobs[0]);
#endif
        double dt = now_seconds() - t0;
        for (int t = 0; t < n_threads; t++) check += jobs[t].sum;
        if (bytes / dt > best) best = bytes / dt;
    }
    free(buf);
    return check == 42 ? best * 1.0000001 : best; /* keeps the sums observable */
}

static long long peak_rss_bytes(void) {
#if defined(_WIN32)
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) return 0;
    return (long long)pmc.PeakWorkingSetSize;
#else
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return ru.ru_maxrss * 1024LL; /* kilobytes on Linux */
#endif
}

int main(int argc, char **argv) {
    utf8_args(&argc, &argv);
    const char *model_path = NULL;
    long n_threads = 0, n_prompt = 512, n_gen = 128, repeats = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "dsv3-bench: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "-m")) model_path = v;
        else if (!strcmp(a, "-t")) n_threads = atol(v);
        else if (!strcmp(a, "-p")) n_prompt = atol(v);
        else if (!strcmp(a, "-n")) n_gen = atol(v);
        else if (!strcmp(a, "-r")) repeats = atol(v);
        else {
            fprintf(stderr, "usage: dsv3-bench -m MODEL.gguf [-t THREADS] [-p 512] [-n 128] [-r REPEATS]\n");
            return 2;
        }
        i++;
    }
    if (!model_path || n_prompt < 1 || n_gen < 1 || repeats < 1 || n_threads < 0) {
        fprintf(stderr, "usage: dsv3-bench -m MODEL.gguf [-t THREADS] [-p 512] [-n 128] [-r REPEATS]\n");
        return 2;
    }
    char message[512];
    dsv3_model *model = NULL;
    int32_t st = dsv3_model_load(model_path, NULL, &model, message, sizeof message);
    if (st) {
        fprintf(stderr, "dsv3-bench: %s\n", message);
        return 1;
    }
    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    cp.n_ctx = (uint32_t)(n_prompt + n_gen + 1);
    cp.n_batch = (uint32_t)(n_prompt < 512 ? n_prompt : 512);
    cp.n_threads = (int32_t)n_threads;
    cp.kv_type = DSV3_KV_F16;
    dsv3_context *ctx = NULL;
    if ((st = dsv3_context_create(model, &cp, &ctx))) {
        fprintf(stderr, "dsv3-bench: cannot create a context: %s\n", dsv3_status_string(st));
        dsv3_model_free(model);
        return 1;
    }
    size_t n_vocab = dsv3_model_n_vocab(model);
    int32_t *prompt = malloc((size_t)n_prompt * sizeof *prompt);
    uint64_t rng = 12345;
    for (long i = 0; i < n_prompt; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        prompt[i] = (int32_t)((rng >> 33) % n_vocab);
    }
    uint64_t active = dsv3_model_active_bytes(model);
    double *prefill = calloc((size_t)repeats, sizeof *prefill), *decode = calloc((size_t)repeats, sizeof *decode);
    long runs = 0;
    for (long r = 0; r < repeats && prefill && decode; r++, runs++) {
        dsv3_context_rewind(ctx, 0);
        double t0 = now_seconds();
        st = dsv3_prefill(ctx, prompt, (size_t)n_prompt, NULL);
        double t1 = now_seconds();
        const float *logits = dsv3_context_logits(ctx);
        for (long i = 0; i < n_gen && !st; i++) {
            int32_t next = 0;
            for (size_t v = 1; v < n_vocab; v++)
                if (logits[v] > logits[next]) next = (int32_t)v;
            st = dsv3_step(ctx, next, &logits);
        }
        double t2 = now_seconds();
        if (st) {
            fprintf(stderr, "dsv3-bench: %s\n", dsv3_context_last_error(ctx));
            break;
        }
        prefill[r] = n_prompt / (t1 - t0);
        decode[r] = n_gen / (t2 - t1);
    }
    /* after the runs, so the 1 GiB read buffer does not count as the model's memory */
    long long rss = peak_rss_bytes();
    double bandwidth = read_bandwidth(n_threads ? (int)n_threads : 2);
    printf("model %s: %.3f GB of weights read per decoded token, KV cache %zu bytes/token\n", model_path,
           active / 1e9, dsv3_context_kv_bytes_per_token(ctx));
    printf("%-4s %8s %12s %12s %12s %12s %8s %10s\n", "run", "threads", "prefill t/s", "decode t/s", "eff. GB/s",
           "read GB/s", "ratio", "peak RSS");
    char threads_text[24];
    if (n_threads) snprintf(threads_text, sizeof threads_text, "%ld", n_threads);
    else snprintf(threads_text, sizeof threads_text, "auto");
    for (long r = 0; r < runs; r++) {
        double effective = active * decode[r];
        printf("%-4ld %8s %12.2f %12.2f %12.2f %12.2f %7.0f%% %7.0f MB\n", r + 1, threads_text, prefill[r],
               decode[r], effective / 1e9, bandwidth / 1e9, 100.0 * effective / bandwidth, rss / 1e6);
    }
    free(prefill);
    free(decode);
    free(prompt);
    dsv3_context_free(ctx);
    dsv3_model_free(model);
    return st ? 1 : 0;
}
