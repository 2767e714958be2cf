/* build/dsv3-bench - prefill and decode speed against the machine's own memory
 * bandwidth.
 *
 *   dsv3-bench -m MODEL.gguf [-t THREADS] [-p 512] [-n 128] [-d 0[,4096...]] [-b BATCH] [-r REPEATS]
 *              [-ctk f16|bf16|f32|q8_0] [-c N_CTX] [-mmp 0|1]
 *
 * -d runs each measurement at a context depth, as llama-bench's -d does: the
 * cache is first filled with D tokens (untimed), then -p tokens are prefilled
 * and, from depth D again, -n tokens decoded (-p 0 or -n 0 skips either).
 * -ctk is the latent cache's type (llama-bench's flag; default f16); -c sizes
 * the context (default: the deepest depth plus the longer of -p and -n), so
 * the peak RSS column shows what a large, partly used context costs. -mmp 0
 * reads the file into memory instead of mapping it (llama-bench's flag).
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

/* Multiply-adds of weight products one prefilled token costs (attention over
   the cache excluded: it grows with depth; the output head excluded: a
   prefill runs it for the last token only), from the model's shapes. */
static double weight_macs_per_token(const dsv3_model *model) {
    dsv3_hparams hp;
    hp.struct_size = sizeof hp;
    if (dsv3_model_hparams(model, &hp) != DSV3_OK) return 0.0;
    double E = hp.n_embd, H = hp.n_head, dk = hp.qk_nope_head_dim + hp.qk_rope_head_dim, dv = hp.v_head_dim;
    double attn = hp.q_lora_rank ? E * hp.q_lora_rank + (double)hp.q_lora_rank * H * dk : E * H * dk;
    attn += E * (hp.kv_lora_rank + hp.qk_rope_head_dim) + H * dv * E;
    double dense = 3.0 * E * hp.n_ff;
    double moe = 3.0 * E * hp.n_ff_expert * (hp.n_expert_used + hp.n_expert_shared) + E * hp.n_expert;
    return hp.n_layer * attn + hp.n_layer_dense_lead * dense + (hp.n_layer - hp.n_layer_dense_lead) * moe;
}

/* The machine's int8 multiply-add peak on one core, in cache: AMX tile
   products where the CPU has them, else ten independent chains of the
   widest integer dot instruction (AVX-512 VNNI's vpdpbusd, 64 multiply-adds
   each; else AVX2's vpmaddubsw, 32 each, whose int16 sums need a second
   instruction to accumulate). 0 elsewhere. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
/* Ten accumulators named one by one: in an array indexed by a loop the
   compiler kept them in memory, and the chains then ran at a third of the
   instruction's rate on a Zen 5 core. */
#define PEAK_CHAINS 10
#define PEAK_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double int8_peak_vnni(long iterations) {
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
#define PEAK_INIT(i) __m512i acc##i = _mm512_set1_epi32(i);
#define PEAK_STEP(i) acc##i = _mm512_dpbusd_epi32(acc##i, a, b);
#define PEAK_KEEP(i) __asm__("" : "+v"(acc##i));
#define PEAK_SUM(i) sum += _mm_cvtsi128_si32(_mm512_castsi512_si128(acc##i));
    PEAK_EACH(PEAK_INIT)
    double t0 = now_seconds();
    for (long it = 0; it < iterations; it++) {
        PEAK_EACH(PEAK_STEP)
        PEAK_EACH(PEAK_KEEP)
    }
    double dt = now_seconds() - t0;
    int sum = 0;
    PEAK_EACH(PEAK_SUM)
    return sum == 42 ? 0.0 : 64.0 * PEAK_CHAINS * iterations / dt;
#undef PEAK_INIT
#undef PEAK_STEP
#undef PEAK_KEEP
#undef PEAK_SUM
}
__attribute__((target("avx2"))) static double int8_peak_avx2(long iterations) {
    const __m256i a = _mm256_set1_epi8(3);
#define PEAK_INIT(i) __m256i acc##i = _mm256_set1_epi16((short)i);
#define PEAK_STEP(i) acc##i = _mm256_maddubs_epi16(a, acc##i);
#define PEAK_KEEP(i) __asm__("" : "+x"(acc##i));
#define PEAK_SUM(i) sum += _mm_cvtsi128_si32(_mm256_castsi256_si128(acc##i));
    PEAK_EACH(PEAK_INIT)
    double t0 = now_seconds();
    for (long it = 0; it < iterations; it++) {
        PEAK_EACH(PEAK_STEP)
        PEAK_EACH(PEAK_KEEP)
    }
    double dt = now_seconds() - t0;
    int sum = 0;
    PEAK_EACH(PEAK_SUM)
    return sum == 42 ? 0.0 : 32.0 * PEAK_CHAINS * iterations / dt;
#undef PEAK_INIT
#undef PEAK_STEP
#undef PEAK_KEEP
#undef PEAK_SUM
}
#if defined(__linux__) && ((!defined(__clang__) && __GNUC__ >= 11) || (defined(__clang__) && __clang_major__ >= 12))
#include <cpuid.h>
/* AMX-INT8 (Intel Xeon from Sapphire Rapids): four independent tile
   products (16 x 16 x 64 multiply-adds each) per round. 0 without AMX, or if
   Linux refuses the process its tile state. */
__attribute__((target("amx-tile,amx-int8"))) static double int8_peak_amx(long iterations) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || (d & (3u << 24)) != (3u << 24)) return 0.0;
    long status; /* arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) */
    __asm__ volatile("syscall" : "=a"(status) : "0"(158L), "D"(0x1023L), "S"(18L) : "rcx", "r11", "memory");
    if (status != 0) return 0.0;
    struct {
        unsigned char palette, start_row, reserved[14];
        unsigned short colsb[16];
        unsigned char rows[16];
    } __attribute__((aligned(64))) cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) {
        cfg.colsb[i] = 64;
        cfg.rows[i] = 16;
    }
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
    static const unsigned char bytes[1024] __attribute__((aligned(64))) = {1, 2, 3};
    _tile_loadd(4, bytes, 64);
    _tile_loadd(5, bytes, 64);
    _tile_loadd(6, bytes, 64);
    _tile_loadd(7, bytes, 64);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    double t0 = now_seconds();
    for (long it = 0; it < iterations; it++) {
        _tile_dpbusd(0, 4, 6);
        _tile_dpbusd(1, 4, 7);
        _tile_dpbusd(2, 5, 6);
        _tile_dpbusd(3, 5, 7);
    }
    int sink[256] __attribute__((aligned(64)));
    _tile_stored(0, sink, 64);
    __asm__ volatile("" : : "r"(sink) : "memory");
    double dt = now_seconds() - t0;
    _tile_release();
    return 4.0 * 16 * 16 * 64 * (double)iterations / dt;
}
#else
static double int8_peak_amx(long iterations) {
    (void)iterations;
    return 0.0;
}
#endif
static double int8_peak(const char **how) {
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double r = int8_peak_amx(200000);
        if (r > best) best = r;
    }
    if (best > 0.0) { /* what dsv3's prefill tiles use where the CPU has it */
        *how = "AMX tdpbusd";
        return best;
    }
    __builtin_cpu_init();
    int vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    *how = vnni ? "AVX-512 vpdpbusd" : __builtin_cpu_supports("avx2") ? "AVX2 vpmaddubsw" : "none";
    for (int rep = 0; rep < 5; rep++) {
        double r = vnni ? int8_peak_vnni(2000000) : __builtin_cpu_supports("avx2") ? int8_peak_avx2(2000000) : 0.0;
        if (r > best) best = r;
    }
    return best;
}
#else
static double int8_peak(const char **how) {
    *how = "not measured on this architecture";
    return 0.0;
}
#endif

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

#define USAGE                                                                                                  \
    "usage: dsv3-bench -m MODEL.gguf [-t THREADS] [-p 512] [-n 128] [-d 0[,4096...]] [-b BATCH] [-r REPEATS]\n" \
    "                  [-ctk f16|bf16|f32|q8_0] [-c N_CTX] [-mmp 0|1]\n"

/* Parses "0,4096,16384" into depths[]; returns how many, or -1. */
static int parse_depths(const char *text, long *depths, int max) {
    int n = 0;
    while (*text) {
        char *end;
        long d = strtol(text, &end, 10);
        if (end == text || d < 0 || n == max || (*end && *end != ',')) return -1;
        depths[n++] = d;
        text = *end ? end + 1 : end;
    }
    return n;
}

/* Fills the cache with `n` tokens of `tokens`, untimed (a benchmark's depth). */
static int32_t fill(dsv3_context *ctx, const int32_t *tokens, long n) {
    dsv3_context_rewind(ctx, 0);
    return n ? dsv3_prefill(ctx, tokens, (size_t)n, NULL) : DSV3_OK;
}

int main(int argc, char **argv) {
    utf8_args(&argc, &argv);
    const char *model_path = NULL;
    long n_threads = 0, n_prompt = 512, n_gen = 128, repeats = 1, n_batch = 0, n_ctx = 0, depths[16] = {0};
    int n_depths = 1, use_mmap = 1;
    int32_t kv_type = DSV3_KV_F16;
    const char *kv_name = "f16";
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
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
        else if (!strcmp(a, "-b")) n_batch = atol(v);
        else if (!strcmp(a, "-d")) n_depths = parse_depths(v, depths, 16);
        else if (!strcmp(a, "-c")) n_ctx = atol(v);
        else if (!strcmp(a, "-mmp")) use_mmap = atol(v);
        else if (!strcmp(a, "-ctk")) {
            static const char *names[] = {"f32", "f16", "bf16", "q8_0"};
            kv_type = -1;
            for (int32_t k = 0; k < 4; k++)
                if (!strcmp(v, names[k])) kv_type = k; /* DSV3_KV_F32 .. DSV3_KV_Q8_0 */
            kv_name = v;
            if (kv_type < 0) {
                fprintf(stderr, USAGE);
                return 2;
            }
        } else {
            fprintf(stderr, USAGE);
            return 2;
        }
    }
    if (!model_path || n_prompt < 0 || n_gen < 0 || n_prompt + n_gen < 1 || repeats < 1 || n_threads < 0 ||
        n_batch < 0 || n_depths < 1 || n_ctx < 0 || (unsigned long long)n_ctx > UINT32_MAX) {
        fprintf(stderr, USAGE);
        return 2;
    }
    long max_depth = 0;
    for (int i = 0; i < n_depths; i++) max_depth = depths[i] > max_depth ? depths[i] : max_depth;
    char message[512];
    dsv3_model *model = NULL;
    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    mp.use_mmap = use_mmap != 0;
    int32_t st = dsv3_model_load(model_path, &mp, &model, message, sizeof message);
    if (st) {
        fprintf(stderr, "dsv3-bench: %s\n", message);
        return 1;
    }
    dsv3_context_params cp;
    dsv3_context_default_params(&cp);
    long longest = n_prompt > n_gen ? n_prompt : n_gen;
    /* room for the warm-up's 256 tokens at least */
    cp.n_ctx = (uint32_t)(max_depth + longest + 1 > 257 ? max_depth + longest + 1 : 257);
    if (n_ctx && n_ctx < max_depth + longest + 1) {
        fprintf(stderr, "dsv3-bench: -c %ld is less than the deepest run needs (%ld)\n", n_ctx, max_depth + longest + 1);
        return 2;
    }
    if (n_ctx) cp.n_ctx = (uint32_t)n_ctx;
    if (n_batch) cp.n_batch = (uint32_t)n_batch; /* else the library's default */
    cp.n_threads = (int32_t)n_threads;
    cp.kv_type = kv_type;
    dsv3_context *ctx = NULL;
    if ((st = dsv3_context_create(model, &cp, &ctx))) {
        fprintf(stderr, "dsv3-bench: cannot create a context: %s\n", dsv3_status_string(st));
        dsv3_model_free(model);
        return 1;
    }
    size_t n_vocab = dsv3_model_n_vocab(model);
    /* random tokens: the depth's, then the timed prompt's */
    size_t n_tokens = (size_t)(max_depth + n_prompt + 1 > 256 ? max_depth + n_prompt + 1 : 256);
    int32_t *tokens = malloc(n_tokens * sizeof *tokens);
    uint64_t rng = 12345;
    for (size_t i = 0; tokens && i < n_tokens; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        tokens[i] = (int32_t)((rng >> 33) % n_vocab);
    }
    uint64_t active = dsv3_model_active_bytes(model);
    size_t n_runs = (size_t)n_depths * (size_t)repeats;
    double *prefill = calloc(n_runs, sizeof *prefill), *decode = calloc(n_runs, sizeof *decode);
    if (!tokens || !prefill || !decode) {
        fprintf(stderr, "dsv3-bench: out of memory\n");
        return 1;
    }
    /* one untimed prefill first, as llama-bench warms up: the first pass over
       mapped weights pays for faulting their pages in (256 tokens at least,
       so nearly every expert is touched) */
    long warm = n_prompt > 256 ? n_prompt : 256;
    st = fill(ctx, tokens, warm < (long)cp.n_ctx ? warm : (long)cp.n_ctx - 1);
    size_t runs = 0;
    for (int di = 0; di < n_depths && !st; di++) {
        long depth = depths[di];
        for (long r = 0; r < repeats && !st; r++, runs++) {
            /* prefill of n_prompt tokens after `depth`, as llama-bench's pp@d */
            if ((st = fill(ctx, tokens, depth))) break;
            double t0 = now_seconds();
            st = n_prompt ? dsv3_prefill(ctx, tokens + depth, (size_t)n_prompt, NULL) : DSV3_OK;
            double t1 = now_seconds();
            if (st) break;
            prefill[runs] = n_prompt ? n_prompt / (t1 - t0) : 0.0;
            if (!n_gen) continue;
            /* then n_gen decoded tokens starting at `depth`, as tg@d (a rewind
               drops the logits: the last token of the depth is fed again) */
            long keep = depth > 0 ? depth - 1 : 0;
            if ((st = dsv3_context_rewind(ctx, (size_t)keep))) break;
            if ((st = dsv3_prefill(ctx, tokens + keep, 1, NULL))) break;
            const float *logits = dsv3_context_logits(ctx);
            double t2 = now_seconds();
            for (long i = 0; i < n_gen && !st; i++) {
                int32_t next = 0;
                for (size_t v = 1; v < n_vocab; v++)
                    if (logits[v] > logits[next]) next = (int32_t)v;
                st = dsv3_step(ctx, next, &logits);
            }
            double t3 = now_seconds();
            decode[runs] = n_gen / (t3 - t2);
        }
    }
    if (st) fprintf(stderr, "dsv3-bench: %s\n", dsv3_context_last_error(ctx));
    /* after the runs, so the 1 GiB read buffer does not count as the model's memory */
    long long rss = peak_rss_bytes();
    double bandwidth = read_bandwidth(n_threads ? (int)n_threads : 2);
    size_t kv_token = dsv3_context_kv_bytes_per_token(ctx);
    printf("model %s: %.3f GB of weights read per decoded token\n", model_path, active / 1e9);
    /* how close prefill comes to the integer units' limit */
    const char *peak_how = "";
    double peak = int8_peak(&peak_how), macs = weight_macs_per_token(model), best_prefill = 0.0;
    for (size_t r = 0; r < runs; r++)
        if (depths[r / (size_t)repeats] == 0 && prefill[r] > best_prefill) best_prefill = prefill[r];
    if (best_prefill > 0.0) {
        printf("prefill at depth 0: %.1f G weight multiply-adds/s (%.2f G per token)", best_prefill * macs / 1e9,
               macs / 1e9);
        if (peak > 0.0 && n_threads)
            printf(", %.0f%% of the int8 peak of %ld core(s) (%s in cache: %.1f G/s per core)",
                   100.0 * best_prefill * macs / (peak * (double)n_threads), n_threads, peak_how, peak / 1e9);
        printf("\n");
    }
    printf("KV cache (%s): %zu bytes/token, %.1f MB for the context of %u positions, committed as positions fill; "
           "prefill batch %u\n",
           kv_name, kv_token, kv_token * (double)cp.n_ctx / 1e6, cp.n_ctx, cp.n_batch);
    printf("%-4s %8s %7s %14s %12s %12s %12s %8s %10s\n", "run", "threads", "depth", "prefill t/s", "decode t/s",
           "eff. GB/s", "read GB/s", "ratio", "peak RSS");
    char threads_text[24];
    if (n_threads) snprintf(threads_text, sizeof threads_text, "%ld", n_threads);
    else snprintf(threads_text, sizeof threads_text, "auto");
    for (size_t r = 0; r < runs; r++) {
        double effective = active * decode[r];
        char pp[32];
        if (n_prompt) snprintf(pp, sizeof pp, "pp%ld %.2f", n_prompt, prefill[r]);
        else snprintf(pp, sizeof pp, "-");
        if (n_gen)
            printf("%-4zu %8s %7ld %14s %12.2f %12.2f %12.2f %7.0f%% %7.0f MB\n", r % (size_t)repeats + 1,
                   threads_text, depths[r / (size_t)repeats], pp, decode[r], effective / 1e9, bandwidth / 1e9,
                   100.0 * effective / bandwidth, rss / 1e6);
        else
            printf("%-4zu %8s %7ld %14s %12s %12s %12.2f %8s %7.0f MB\n", r % (size_t)repeats + 1, threads_text,
                   depths[r / (size_t)repeats], pp, "-", "-", bandwidth / 1e9, "-", rss / 1e6);
    }
    free(prefill);
    free(decode);
    free(tokens);
    dsv3_context_free(ctx);
    dsv3_model_free(model);
    return st ? 1 : 0;
}
