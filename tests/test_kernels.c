/* Kernel tests: each SIMD variant against its scalar reference on random inputs
 * of awkward lengths, the half-float conversions exhaustively, and the thread
 * pool. Includes dsv3.c itself to reach its private kernels. */
#ifndef DSV3_TESTS_ONE_UNIT /* test_internal.c includes dsv3.c once for all four */
#include "../dsv3.c"
#endif
#include "test_util.h"

static uint64_t kernels_rng = 0x2545F4914F6CDD1Dull;
static uint32_t next_u32(void) {
    kernels_rng ^= kernels_rng << 13;
    kernels_rng ^= kernels_rng >> 7;
    kernels_rng ^= kernels_rng << 17;
    return (uint32_t)(kernels_rng >> 16);
}
static float next_float(void) { return (float)((next_u32() & 0xFFFFFF) / 8388608.0 - 1.0); } /* [-1, 1) */

/* Reference decoding of a binary16 from its fields. */
static double f16_fields(uint16_t h) {
    int sign = h >> 15, e = (h >> 10) & 31, mant = h & 1023;
    double v = e == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, e - 25);
    return sign ? -v : v;
}

static void test_half_conversions(void) {
    int bad = 0, bad_round_trip = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = f16_to_f32((uint16_t)h);
        int e = (h >> 10) & 31;
        if (e == 31) {
            if ((h & 1023) ? !isnan(f) : !isinf(f)) bad++;
            continue;
        }
        if ((double)f != f16_fields((uint16_t)h)) bad++;
        if (f32_to_f16(f) != h) bad_round_trip++;
    }
    CHECK(bad == 0, "%d f16 values decode wrongly", bad);
    CHECK(bad_round_trip == 0, "%d f16 values do not round-trip", bad_round_trip);
    /* round to nearest even at the midpoints, overflow to infinity */
    CHECK(f32_to_f16(1.0f + 1.0f / 2048) == 0x3C00, "midpoint 1+2^-11 rounds to even (down)");
    CHECK(f32_to_f16(1.0f + 3.0f / 2048) == 0x3C02, "midpoint 1+3*2^-11 rounds to even (up)");
    CHECK(f32_to_f16(65520.0f) == 0x7C00 && f32_to_f16(65519.0f) == 0x7BFF, "overflow threshold");
    CHECK(f32_to_f16(5.9604644775390625e-8f) == 0x0001 && f32_to_f16(2.98e-8f) == 0x0000, "smallest subnormal");
    CHECK(f32_to_bf16(1.0f + 1.0f / 256) == 0x3F80 && f32_to_bf16(1.0f + 3.0f / 256) == 0x3F82, "bf16 rounding");
    CHECK(bf16_to_f32(0x3F80) == 1.0f && bf16_to_f32(0xC000) == -2.0f, "bf16 decode");
#if DSV3_HAVE_AVX2
    if (cpu_has_avx2()) {
        /* F16C must agree with the scalar decoder on every value */
        uint8_t row[2 * 16];
        float x[16], scalar, simd;
        int mismatch = 0;
        for (uint32_t base = 0; base < 65536; base += 16) {
            for (int j = 0; j < 16; j++) {
                uint16_t h = (uint16_t)(base + j);
                if (((h >> 10) & 31) == 31) h = 0; /* inf/NaN would poison the sum */
                row[2 * j] = (uint8_t)h;
                row[2 * j + 1] = (uint8_t)(h >> 8);
                x[j] = j == (int)(base / 16 % 16) ? 1.0f : 0.0f; /* pick one lane */
            }
            scalar = f16_row_dot(row, x, 16);
            simd = f16_row_dot_avx2(row, x, 16);
            if (scalar != simd) mismatch++;
        }
        CHECK(mismatch == 0, "F16C and scalar decode disagree %d times", mismatch);
    }
#endif
}

/* Fills a row of `type` with n random weights and returns its bytes. */
static void random_row(uint32_t type, uint8_t *row, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float w = next_float() * 2.0f;
        if (type == 0) memcpy(row + 4 * i, &w, 4);
        if (type == 1 || type == 30) {
            uint16_t h = type == 1 ? f32_to_f16(w) : f32_to_bf16(w);
            row[2 * i] = (uint8_t)h;
            row[2 * i + 1] = (uint8_t)(h >> 8);
        }
    }
    if (type == 8) {
        for (size_t b = 0; b < n / 32; b++) {
            uint16_t d = f32_to_f16(0.01f + (next_u32() % 1000) / 20000.0f);
            row[34 * b] = (uint8_t)d;
            row[34 * b + 1] = (uint8_t)(d >> 8);
            for (int j = 0; j < 32; j++) row[34 * b + 2 + j] = (uint8_t)(next_u32() & 0xFF);
        }
    }
}

static inline void compare_kernel_sets(const kernel_set *ref, const kernel_set *simd) {
    enum { MAX_N = 4096 };
    static uint8_t row[MAX_N * 4];
    static float x[MAX_N], y_ref[MAX_N], y_simd[MAX_N];
    const uint32_t types[] = {0, 1, 30, 8};
    /* awkward lengths: below, at and above the vector widths, and long rows */
    const size_t lengths[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 576, 1000, 4096};
    for (size_t ti = 0; ti < 4; ti++) {
        uint32_t type = types[ti];
        int worst_ok = 1;
        double worst = 0;
        size_t tested = 0;
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            size_t n = lengths[li];
            if (n % type_table[type].block_size) continue;
            for (int rep = 0; rep < 20; rep++) {
                random_row(type, row, n);
                for (size_t i = 0; i < n; i++) x[i] = next_float();
                /* dequantized |w*x| bounds the rounding error of any summation order */
                type_table[type].to_f32(row, y_ref, n);
                double bound = 0;
                for (size_t i = 0; i < n; i++) bound += fabs((double)y_ref[i] * x[i]);
                double a = ref->row_dot[type](row, x, n), b = simd->row_dot[type](row, x, n);
                double err = fabs(a - b) / (bound + 1e-30);
                if (err > worst) worst = err;
                if (!(err <= 1e-5)) worst_ok = 0;
                tested++;
            }
        }
        CHECK(worst_ok && tested > 0, "%s %s dot: relative error %.3g vs scalar (bar 1e-5)", simd->name,
              type_table[type].name, worst);
    }
    /* (the float dot itself is checked above as the F32 row dot) */
    int axpy_ok = 1;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        size_t n = lengths[li];
        for (size_t i = 0; i < n; i++) {
            x[i] = next_float();
            y_ref[i] = y_simd[i] = next_float();
        }
        ref->axpy_f32(y_ref, 0.37f, x, n);
        simd->axpy_f32(y_simd, 0.37f, x, n);
        for (size_t i = 0; i < n; i++)
            if (!(fabsf(y_ref[i] - y_simd[i]) <= 1e-6f * (fabsf(y_ref[i]) + 1.0f))) axpy_ok = 0;
    }
    /* conversions (the KV cache's F16/BF16 rows) are exact: the same bits */
    for (size_t ti = 0; ti < DSV3_TYPE_COUNT; ti++) {
        if (simd->to_f32[ti] == ref->to_f32[ti]) continue;
        int same = 1;
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            size_t n = lengths[li];
            if (n % type_table[ti].block_size) continue;
            random_row((uint32_t)ti, row, n);
            if (ti == 1 || ti == 30) /* any bits: subnormals, infinities, NaN */
                for (size_t i = 0; i < 2 * n; i++) row[i] = (uint8_t)next_u32();
            ref->to_f32[ti](row, y_ref, n);
            simd->to_f32[ti](row, y_simd, n);
            same &= memcmp(y_ref, y_simd, n * sizeof(float)) == 0;
        }
        CHECK(same, "%s %s conversion differs from scalar", simd->name, type_table[ti].name);
    }
    CHECK(axpy_ok, "%s axpy_f32 differs from scalar", simd->name);
}

/* Every kernel set this CPU can run, the scalar reference first and the
   one kernels_best picks last. */
static size_t runnable_kernel_sets(kernel_set *sets) {
    size_t n = 0;
    kernels_scalar(&sets[n++]);
#if DSV3_HAVE_AVX2
    if (cpu_has_avx2()) kernels_avx2(&sets[n++]);
#endif
#if DSV3_HAVE_AVXVNNI
    if (cpu_has_avxvnni()) kernels_avxvnni(&sets[n++]);
#endif
#if DSV3_HAVE_AVX512
    if (cpu_has_avx512()) kernels_avx512(&sets[n++]);
#endif
#if DSV3_HAVE_AMX
    if (cpu_has_amx()) { /* the same kernels, and AMX rows for batches */
        sets[n] = sets[n - 1];
        kernels_amx(&sets[n++]);
    }
#endif
#if DSV3_HAVE_NEON
    kernels_neon(&sets[n++]);
    if (cpu_has_dotprod()) kernels_neon_dotprod(&sets[n++]);
    if (cpu_has_dotprod() && cpu_has_i8mm()) kernels_neon_i8mm(&sets[n++]);
#endif
    return n;
}

/* The MLA decode kernels, reading cache rows of every element type: each set
   against the scalar reference on awkward shapes (scores to rounding, the
   weighted sums bit for bit: both are FMA chains in row order), and split by
   heads or rows, as work items split them, bit for bit equal to one call. */
static void compare_attention(const kernel_set *ref, const kernel_set *simd) {
    enum { MAX_H = 9, MAX_T = 9, MAX_W = 128, Q_STRIDE = 128, MAX_ROW_BYTES = MAX_W * 4 };
    static float q[MAX_H * Q_STRIDE], values[MAX_W], pad[MAX_W];
    static uint8_t rows[MAX_T * MAX_ROW_BYTES];
    static float s_ref[MAX_H * MAX_T], s_simd[MAX_H * MAX_T], s_split[MAX_H * MAX_T];
    static float o_ref[MAX_H * MAX_W], o_simd[MAX_H * MAX_W], o_split[MAX_H * MAX_W];
    const size_t widths[] = {1, 7, 8, 9, 16, 17, 33, 64, 67, 80};
    const char *type_names[] = {"F32", "F16", "BF16", "Q8_0"};
    for (int32_t type = DSV3_KV_F32; type <= DSV3_KV_Q8_0; type++) {
        int scores_ok = 1, mix_ok = 1, split_ok = 1;
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (size_t n_heads = 1; n_heads <= MAX_H; n_heads += 2)
                for (size_t n_rows = 1; n_rows <= MAX_T; n_rows += 2) {
                    size_t values_w = widths[wi], n_lat = values_w - values_w / 5, n_rope = values_w - n_lat;
                    size_t width = kv_row_elements(type, n_lat, n_rope), row_bytes = kv_row_size(type, n_lat, n_rope);
                    for (size_t t = 0; t < n_rows; t++) {
                        for (size_t j = 0; j < values_w; j++) values[j] = next_float();
                        kv_store(rows + t * row_bytes, type, values, n_lat, n_rope, pad);
                    }
                    for (size_t i = 0; i < MAX_H * Q_STRIDE; i++) q[i] = i % Q_STRIDE < width ? next_float() : 0.0f;
                    ref->kv_scores(q, Q_STRIDE, n_heads, rows, row_bytes, n_rows, width, type, s_ref, MAX_T);
                    simd->kv_scores(q, Q_STRIDE, n_heads, rows, row_bytes, n_rows, width, type, s_simd, MAX_T);
                    /* heads split 1 + rest, rows split 1 + rest */
                    simd->kv_scores(q, Q_STRIDE, 1, rows, row_bytes, n_rows, width, type, s_split, MAX_T);
                    if (n_heads > 1)
                        simd->kv_scores(q + Q_STRIDE, Q_STRIDE, n_heads - 1, rows, row_bytes, n_rows, width, type,
                                        s_split + MAX_T, MAX_T);
                    for (size_t h = 0; h < n_heads; h++)
                        for (size_t t = 0; t < n_rows; t++) {
                            double bound = 0;
                            for (size_t j = 0; j < width; j++)
                                bound += fabs(q[h * Q_STRIDE + j] * kv_element(rows + t * row_bytes, type, j));
                            size_t at = h * MAX_T + t;
                            if (!(fabs(s_ref[at] - s_simd[at]) <= 1e-5 * bound + 1e-30)) scores_ok = 0;
                            if (memcmp(&s_simd[at], &s_split[at], sizeof(float))) split_ok = 0;
                        }
                    if (n_rows > 1) {
                        simd->kv_scores(q, Q_STRIDE, n_heads, rows + row_bytes, row_bytes, n_rows - 1, width, type,
                                        s_split, MAX_T);
                        for (size_t h = 0; h < n_heads; h++)
                            for (size_t t = 1; t < n_rows; t++)
                                if (memcmp(&s_simd[h * MAX_T + t], &s_split[h * MAX_T + t - 1], sizeof(float)))
                                    split_ok = 0;
                    }
                    /* weights: the scores made positive, as after a softmax */
                    for (size_t i = 0; i < MAX_H * MAX_T; i++) s_ref[i] = fabsf(s_ref[i]);
                    ref->kv_mix(o_ref, MAX_W, n_heads, s_ref, MAX_T, rows, row_bytes, n_rows, n_lat, type);
                    simd->kv_mix(o_simd, MAX_W, n_heads, s_ref, MAX_T, rows, row_bytes, n_rows, n_lat, type);
                    simd->kv_mix(o_split, MAX_W, 1, s_ref, MAX_T, rows, row_bytes, n_rows, n_lat, type);
                    if (n_heads > 1)
                        simd->kv_mix(o_split + MAX_W, MAX_W, n_heads - 1, s_ref + MAX_T, MAX_T, rows, row_bytes,
                                     n_rows, n_lat, type);
                    for (size_t h = 0; h < n_heads; h++)
                        for (size_t j = 0; j < n_lat; j++) {
                            size_t at = h * MAX_W + j;
                            if (memcmp(&o_ref[at], &o_simd[at], sizeof(float))) mix_ok = 0;
                            if (memcmp(&o_simd[at], &o_split[at], sizeof(float))) split_ok = 0;
                        }
                }
        if (simd->kv_scores != ref->kv_scores)
            CHECK(scores_ok, "%s attention scores over a %s cache differ from scalar", simd->name, type_names[type]);
        if (simd->kv_mix != ref->kv_mix)
            CHECK(mix_ok, "%s attention weighted sum over a %s cache differs from scalar", simd->name,
                  type_names[type]);
        CHECK(split_ok, "%s attention over a %s cache changes when heads or rows are split", simd->name,
              type_names[type]);
    }
}

/* The scalar float products' multiply-add rounds once (MinGW's fmaf does not):
   triples whose single and double roundings differ, results from glibc's fmaf. */
static void test_fused_mul_add(void) {
    static const float cases[][4] = {
        {0x1.a6dacap-4f, -0x1.2f4cf4p-6f, 0x1.945834p-12f, -0x1.8fe604p-10f},
        {0x1.8b31b4p-11f, 0x1.cf258p-1f, 0x1.d4575cp-1f, 0x1.d4b0bcp-1f},
        {-0x1.38531ep-11f, 0x1.43744ap-11f, 0x1.71ab2ep-11f, 0x1.7179dap-11f},
        {-0x1.d64ecep-2f, -0x1.ef2a12p-11f, 0x1.113dbap-12f, 0x1.6c0ac8p-11f},
        {-0x1.85881ap-3f, 0x1.8321d6p-11f, -0x1.afc1a6p-12f, -0x1.2182dap-11f},
        {0x1.000002p0f, 0x1.000002p0f, -0x1.000004p0f, 0x1p-46f}, /* the product's low bits survive */
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        volatile float a = cases[i][0], b = cases[i][1], c = cases[i][2];
        float r = fused_mul_add(a, b, c);
        if (memcmp(&r, &cases[i][3], sizeof r)) bad++;
    }
    CHECK(bad == 0, "%d multiply-adds not rounded once", bad);
}

/* The float matrix product of batched attention: every set bit for bit the
   scalar reference (each output one FMA chain in order), with and without
   accumulation, on shapes around every tile edge; the online softmax within
   a few ulp of it, blocks chained with masking, and the chained result equal
   to a plain softmax of the whole row. */
static void compare_gemm_softmax(const kernel_set *ref, const kernel_set *simd) {
    enum { MAX_M = 9, MAX_K = 70, MAX_N = 140, STRIDE = 150 };
    static float a[MAX_M * STRIDE], w[MAX_K * STRIDE], o_ref[MAX_M * STRIDE], o_simd[MAX_M * STRIDE];
    const size_t ms[] = {1, 3, 4, 5, 9}, ks[] = {1, 7, 64, 70}, ns[] = {1, 7, 8, 15, 16, 17, 33, 64, 65, 130, 140};
    int gemm_ok = 1, softmax_ok = 1, chained_ok = 1;
    for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (int accumulate = 0; accumulate < 2; accumulate++) {
                    size_t m = ms[mi], k = ks[ki], n = ns[ni];
                    for (size_t i = 0; i < MAX_M * STRIDE; i++) {
                        a[i] = next_float();
                        o_ref[i] = o_simd[i] = next_float();
                    }
                    for (size_t i = 0; i < MAX_K * STRIDE; i++) w[i] = next_float();
                    ref->gemm_f32(o_ref, STRIDE, a, STRIDE, w, STRIDE, m, k, n, accumulate);
                    simd->gemm_f32(o_simd, STRIDE, a, STRIDE, w, STRIDE, m, k, n, accumulate);
                    /* outside [m) x [n) nothing may change: compare whole buffers */
                    if (memcmp(o_ref, o_simd, sizeof o_ref)) gemm_ok = 0;
                }
    const size_t lengths[] = {1, 5, 8, 9, 16, 31, 64};
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
        for (int rep = 0; rep < 10; rep++) {
            size_t n = lengths[li], n_valid = 1 + (size_t)next_u32() % n;
            float s_ref[64], s_simd[64], max_ref = rep % 2 ? -INFINITY : 0.5f, max_simd = max_ref;
            float sum_ref = rep % 2 ? 0.0f : 2.0f, sum_simd = sum_ref;
            for (size_t j = 0; j < n; j++) s_ref[j] = s_simd[j] = next_float() * 30.0f;
            float c_ref = ref->softmax_online(s_ref, n_valid, n, 0.7f, &max_ref, &sum_ref);
            float c_simd = simd->softmax_online(s_simd, n_valid, n, 0.7f, &max_simd, &sum_simd);
            if (!(max_ref == max_simd && fabsf(c_ref - c_simd) <= 4e-6f * c_ref &&
                  fabsf(sum_ref - sum_simd) <= 4e-6f * sum_ref))
                softmax_ok = 0;
            for (size_t j = 0; j < n; j++)
                if (!(fabsf(s_ref[j] - s_simd[j]) <= 4e-6f * s_ref[j] + 1e-30f) || (j >= n_valid && s_simd[j] != 0.0f))
                    softmax_ok = 0;
        }
    /* blocks of 16 chained: p_j * exp(max_block - max_final) / sum = softmax */
    for (int rep = 0; rep < 20; rep++) {
        float x[100], whole[100], block[100], max = -INFINITY, sum = 0.0f, out[100];
        for (size_t j = 0; j < 100; j++) x[j] = whole[j] = next_float() * 20.0f;
        ref->softmax(whole, 100);
        float block_max[7];
        for (size_t b = 0; b < 100; b += 16) {
            size_t len = 100 - b < 16 ? 100 - b : 16;
            memcpy(block + b, x + b, len * sizeof(float));
            simd->softmax_online(block + b, len, len, 1.0f, &max, &sum);
            block_max[b / 16] = max;
        }
        for (size_t j = 0; j < 100; j++) out[j] = block[j] * expf(block_max[j / 16] - max) / sum;
        for (size_t j = 0; j < 100; j++)
            if (!(fabsf(out[j] - whole[j]) <= 1e-5f * whole[j] + 1e-30f)) chained_ok = 0;
    }
    if (simd->gemm_f32 != ref->gemm_f32) CHECK(gemm_ok, "%s gemm_f32 differs from scalar", simd->name);
    if (simd->softmax_online != ref->softmax_online)
        CHECK(softmax_ok, "%s online softmax differs from scalar", simd->name);
    CHECK(chained_ok, "%s online softmax over blocks differs from a softmax of the row", simd->name);
}

/* RMSNorm, softmax, SwiGLU and RoPE: each set against the scalar reference
   on awkward lengths, with large, tiny and negative inputs (the SIMD exp is
   within 1 ulp of expf; the float sums run in another order). */
static void compare_elementwise(const kernel_set *ref, const kernel_set *simd) {
    enum { MAX_N = 600 };
    static float x[MAX_N], w[MAX_N], a[MAX_N], b[MAX_N], up[MAX_N], cs[MAX_N];
    const size_t lengths[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 513, 600};
    int norm_ok = 1, softmax_ok = 1, swiglu_ok = 1, rope_ok = 1;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++)
        for (int rep = 0; rep < 20; rep++) {
            size_t n = lengths[li];
            float spread = rep % 4 == 0 ? 100.0f : rep % 4 == 1 ? 1e-3f : 4.0f;
            for (size_t i = 0; i < n; i++) {
                x[i] = next_float() * spread;
                w[i] = next_float() + 1.0f;
                up[i] = next_float() * 3.0f;
                float angle = next_float() * 6.3f;
                cs[i] = (i % 2) ? sinf(angle) : cosf(angle);
            }
            ref->rmsnorm_f32(a, x, w, n, 1e-6f);
            simd->rmsnorm_f32(b, x, w, n, 1e-6f);
            for (size_t i = 0; i < n; i++)
                if (!(fabsf(a[i] - b[i]) <= 1e-6f * fabsf(a[i]) + 1e-30f)) norm_ok = 0;
            memcpy(a, x, n * sizeof(float));
            memcpy(b, x, n * sizeof(float));
            ref->softmax(a, n);
            simd->softmax(b, n);
            for (size_t i = 0; i < n; i++)
                if (!(fabsf(a[i] - b[i]) <= 4e-6f * a[i] + 1e-30f)) softmax_ok = 0;
            memcpy(a, x, n * sizeof(float));
            memcpy(b, x, n * sizeof(float));
            ref->swiglu(a, up, n);
            simd->swiglu(b, up, n);
            for (size_t i = 0; i < n; i++)
                if (!(fabsf(a[i] - b[i]) <= 4e-6f * fabsf(x[i] * up[i]) + 1e-30f)) swiglu_ok = 0;
            memcpy(a, x, n * sizeof(float));
            memcpy(b, x, n * sizeof(float));
            ref->rope_rotate(a, cs, n / 2);
            simd->rope_rotate(b, cs, n / 2);
            for (size_t i = 0; i + 1 < n; i += 2) {
                float mag = fabsf(x[i]) + fabsf(x[i + 1]);
                if (!(fabsf(a[i] - b[i]) <= 1e-6f * mag + 1e-30f && fabsf(a[i + 1] - b[i + 1]) <= 1e-6f * mag + 1e-30f))
                    rope_ok = 0;
            }
        }
    CHECK(norm_ok, "%s RMSNorm differs from scalar", simd->name);
    CHECK(softmax_ok, "%s softmax differs from scalar", simd->name);
    CHECK(swiglu_ok, "%s SwiGLU differs from scalar", simd->name);
    CHECK(rope_ok, "%s RoPE differs from scalar", simd->name);
}

/* AVX-VNNI's vpdpwssd sums exactly what AVX2's vpmaddwd + vpaddd sum: the two
   sets' integer dots agree bit for bit. */
static void compare_avxvnni_avx2(void) {
#if DSV3_HAVE_AVXVNNI
    if (!cpu_has_avxvnni()) return;
    kernel_set avx2, vnni;
    kernels_avx2(&avx2);
    kernels_avxvnni(&vnni);
    static uint8_t row[2048 * 2], act[2048 * 2];
    static float x[2048];
    int same = 1, tested = 0;
    for (uint32_t type = 10; type <= 13; type++)
        for (int rep = 0; rep < 20; rep++) {
            size_t n = 256 * (size_t)(1 + rep % 5);
            random_row(type, row, n);
            for (size_t i = 0; i < n; i++) x[i] = next_float() * 3.0f;
            avx2.quantize_act(ACT_Q8_256, x, act, n);
            float a = avx2.act_dot[type](row, act, n), b = vnni.act_dot[type](row, act, n);
            same &= memcmp(&a, &b, sizeof a) == 0;
            tested++;
        }
    CHECK(same && tested == 80, "avx-vnni integer dots differ from avx2's");
#endif
}

static void test_simd_kernels(void) {
    kernel_set sets[5], best;
    size_t n_sets = runnable_kernel_sets(sets);
    kernels_best(&best);
    printf("kernels: best set on this CPU is '%s'\n", best.name);
    CHECK(strcmp(best.name, sets[n_sets - 1].name) == 0, "'%s' chosen but '%s' runs here", best.name,
          sets[n_sets - 1].name);
    for (size_t s = 1; s < n_sets; s++) compare_kernel_sets(&sets[0], &sets[s]);
    for (size_t s = 0; s < n_sets; s++) compare_attention(&sets[0], &sets[s]);
    for (size_t s = 0; s < n_sets; s++) compare_gemm_softmax(&sets[0], &sets[s]);
    for (size_t s = 1; s < n_sets; s++) compare_elementwise(&sets[0], &sets[s]);
    compare_avxvnni_avx2();
#if DSV3_HAVE_AVX2
    if (!cpu_has_avx2()) printf("kernels: this CPU lacks AVX2+FMA+F16C; only the scalar set is tested\n");
#endif
#if DSV3_HAVE_AVX512
    if (cpu_has_avx2() && !cpu_has_avx512()) printf("kernels: this CPU lacks AVX-512 VNNI; that set is not tested\n");
#endif
}

/* Every item of a parallel_for is visited exactly once, by a valid thread. */
typedef struct visit_job {
    int *counts;
    uint32_t n_threads;
    int bad_index;
} visit_job;
static void visit_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    visit_job *job = (visit_job *)arg;
    if (thread_index >= job->n_threads) job->bad_index = 1;
    for (size_t i = begin; i < end; i++) job->counts[i]++;
}

static void test_thread_pool(void) {
    allocator a = {NULL, NULL, NULL};
    const uint32_t sizes[] = {1, 2, 3, 8};
    for (size_t s = 0; s < 4; s++) {
        thread_pool pool;
        memset(&pool, 0, sizeof pool);
        void *args = calloc(sizes[s], 64);
        CHECK(pool_start(&pool, sizes[s], args, &a), "pool of %u", sizes[s]);
        int ok = 1;
        for (size_t n = 0; n < 200; n += 7) {
            int counts[200] = {0};
            visit_job job = {counts, pool.n_threads, 0};
            for (int rep = 0; rep < 3; rep++) parallel_for(&pool, n, 1, visit_task, &job);
            for (size_t i = 0; i < n; i++) ok &= counts[i] == 3;
            ok &= !job.bad_index;
        }
        CHECK(ok, "pool of %u threads: items visited other than once per job", sizes[s]);
        pool_stop(&pool, &a);
        free(args);
    }
}

/* Dequantization of every type against tests/tools/quant_ref.py's vectors
   (independent numpy decoders written from the block layouts). */
static void test_dequantize_vectors(const char *path, const uint32_t *expected, size_t n_expected) {
    size_t size = 0;
    unsigned char *buf = read_file(path, &size);
    CHECK(buf && size >= 12 && memcmp(buf, "DSVQ", 4) == 0, "cannot read %s", path);
    if (!buf || size < 12) {
        free(buf);
        return;
    }
    uint32_t n_records = read_u32le(buf + 8);
    size_t at = 12;
    int seen[DSV3_TYPE_COUNT] = {0};
    for (uint32_t r = 0; r < n_records; r++) {
        if (at + 12 > size) break;
        uint32_t type = read_u32le(buf + at), n = read_u32le(buf + at + 4), n_bytes = read_u32le(buf + at + 8);
        at += 12;
        if (type >= DSV3_TYPE_COUNT || at + n_bytes + 4 * (size_t)n > size || !type_table[type].to_f32 ||
            (size_t)n / type_table[type].block_size * type_table[type].type_size != n_bytes) {
            CHECK(0, "record %u: bad type %u or size", r, type);
            break;
        }
        const uint8_t *blocks = buf + at;
        float *want = (float *)malloc(n * sizeof(float)), *got = (float *)malloc(n * sizeof(float));
        memcpy(want, buf + at + n_bytes, n * sizeof(float));
        at += n_bytes + 4 * (size_t)n;
        type_table[type].to_f32(blocks, got, n);
        double max_abs = 0, max_diff = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (fabs(want[i]) > max_abs) max_abs = fabs(want[i]);
            double d = fabs((double)got[i] - want[i]);
            if (!(d <= max_diff)) max_diff = d;
        }
        /* every operation but the last is exact in float32, so decoders agree exactly */
        CHECK(max_diff == 0.0, "%s dequantization differs by %.3g (max %.3g)", type_table[type].name, max_diff,
              max_abs);
        /* the reference dot product agrees with dequantize-then-dot */
        float *x = (float *)malloc(n * sizeof(float));
        double bound = 0, plain = 0;
        for (uint32_t i = 0; i < n; i++) {
            x[i] = next_float();
            plain += (double)got[i] * x[i];
            bound += fabs((double)got[i] * x[i]);
        }
        double dot = type_table[type].dot(blocks, x, n);
        CHECK(fabs(dot - plain) <= 1e-5 * bound + 1e-30, "%s dot %.9g vs %.9g", type_table[type].name, dot, plain);
        seen[type] = 1;
        free(x);
        free(want);
        free(got);
    }
    for (size_t i = 0; i < n_expected; i++)
        CHECK(seen[expected[i]], "no vectors for %s", type_table[expected[i]].name);
    free(buf);
}

/* A row of n weights of a quantized type: random bytes, with every f16 scale
   field replaced by a finite value of moderate size. */
static void random_quant_row(uint32_t type, uint8_t *row, size_t n) {
    static const struct {
        uint32_t type;
        int offsets[2];
    } scale_fields[] = {{2, {0, -1}}, {3, {0, 2}}, {6, {0, -1}}, {7, {0, 2}},  {8, {0, -1}}, {10, {80, 82}}, {20, {0, -1}},
                        {11, {108, -1}}, {12, {0, 2}}, {13, {0, 2}}, {14, {208, -1}}, {23, {0, -1}}, {16, {0, -1}}, {18, {0, -1}},
                        {17, {0, -1}}, {19, {0, -1}}, {21, {0, -1}}, {22, {0, -1}}};
    size_t block = type_table[type].type_size, n_blocks = n / type_table[type].block_size;
    for (size_t i = 0; i < block * n_blocks; i++) row[i] = (uint8_t)next_u32();
    for (size_t f = 0; f < sizeof scale_fields / sizeof scale_fields[0]; f++) {
        if (scale_fields[f].type != type) continue;
        for (size_t b = 0; b < n_blocks; b++)
            for (int k = 0; k < 2; k++) {
                if (scale_fields[f].offsets[k] < 0) continue;
                uint16_t h = f32_to_f16((next_float() + 1.5f) * 0.01f * (k ? -1.0f : 1.0f));
                row[b * block + scale_fields[f].offsets[k]] = (uint8_t)h;
                row[b * block + scale_fields[f].offsets[k] + 1] = (uint8_t)(h >> 8);
            }
    }
    if (type == 29) /* IQ1_M: d is the top nibbles of the four scale words */
        for (size_t b = 0; b < n_blocks; b++) {
            uint16_t h = f32_to_f16((next_float() + 1.5f) * 0.01f);
            for (int j = 0; j < 4; j++) {
                uint8_t *hi = row + b * block + 48 + 2 * j + 1;
                *hi = (uint8_t)((*hi & 0x0F) | ((h >> (4 * j)) & 15) << 4);
            }
        }
}

/* Integer dots against 8-bit activations: the reference is exact for the
   quantized activations, within the activation rounding of the float dot, and
   every SIMD twin agrees with it. */
static void test_activation_dots(void) {
    enum { MAX_N = 2048 };
    static uint8_t row[MAX_N * 2];
    static float x[MAX_N], w[MAX_N], xq[MAX_N];
    static uint8_t act[MAX_N * 2];
    kernel_set sets[5];
    size_t n_sets = runnable_kernel_sets(sets);
    const uint32_t types[] = {2, 3, 6, 7, 8, 20, 10, 11, 12, 13, 14, 23, 16, 18, 17, 19, 29, 22, 21};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t type = types[ti];
        int kind = act_table[type].kind;
        size_t block = kind == ACT_Q8_32 ? 32 : 256;
        int exact_ok = 1, bound_ok = 1, simd_ok[4] = {1, 1, 1, 1}, simd_tested[4] = {0};
        for (size_t n = block; n <= MAX_N; n *= 2) {
            for (int rep = 0; rep < 10; rep++) {
                random_quant_row(type, row, n);
                for (size_t i = 0; i < n; i++) x[i] = next_float() * (rep % 3 ? 1.0f : 100.0f);
                quantize_act(kind, x, act, n);
                type_table[type].to_f32(row, w, n);
                /* the activations as the integer path sees them */
                double exact = 0, mag = 0, rounding = 0;
                for (size_t i = 0; i < n; i++) {
                    float d = kind == ACT_Q8_32 ? ((act_block32 *)(void *)act)[i / 32].d
                                                : ((act_block256 *)(void *)act)[i / 256].d;
                    int8_t q = kind == ACT_Q8_32 ? ((act_block32 *)(void *)act)[i / 32].qs[i % 32]
                                                 : ((act_block256 *)(void *)act)[i / 256].qs[i % 256];
                    xq[i] = d * q;
                    exact += (double)w[i] * xq[i];
                    mag += fabs((double)w[i] * xq[i]) + fabs((double)w[i] * x[i]);
                    rounding += fabs((double)w[i]) * d * 0.5;
                }
                double got = act_table[type].dot(row, act, n);
                double plain = type_table[type].dot(row, x, n);
                if (!(fabs(got - exact) <= 1e-5 * mag + 1e-20)) exact_ok = 0;
                if (!(fabs(got - plain) <= rounding * 1.0001 + 1e-5 * mag)) bound_ok = 0;
                float previous = 0.0f;
                for (size_t s = 1; s < n_sets; s++) {
                    if (sets[s].act_dot[type] == act_table[type].dot) continue;
                    simd_tested[s] = 1;
                    float simd = sets[s].act_dot[type](row, act, n);
                    if (!(fabs(simd - got) <= 1e-5 * mag + 1e-20)) simd_ok[s] = 0;
                    /* the dot product instruction only regroups integer sums */
                    if (!strcmp(sets[s].name, "neon-dotprod") && memcmp(&simd, &previous, sizeof simd)) simd_ok[s] = 0;
                    previous = simd;
                }
            }
        }
        CHECK(exact_ok, "%s integer dot is not exact for its quantized activations", type_table[type].name);
        CHECK(bound_ok, "%s integer dot strays beyond the activation rounding", type_table[type].name);
        for (size_t s = 1; s < n_sets; s++) {
            CHECK(simd_ok[s], "%s %s integer dot differs from the scalar reference", sets[s].name,
                  type_table[type].name);
            if (simd_tested[s])
                printf("kernels: %s %s integer dot checked against scalar\n", sets[s].name, type_table[type].name);
        }
    }
    /* Q8_K-style block sums are consistent with the quants */
    for (size_t i = 0; i < 512; i++) x[i] = next_float();
    quantize_act(ACT_Q8_256, x, act, 512);
    int sums_ok = 1;
    for (int b = 0; b < 2; b++)
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += ((act_block256 *)(void *)act)[b].qs[16 * g + j];
            sums_ok &= sum == ((act_block256 *)(void *)act)[b].bsums[g];
        }
    CHECK(sums_ok, "activation block sums");
}

/* Every set quantizes activations to the scalar reference's exact bytes:
   random values, exact ties (x / d = k + 0.5, where roundf goes away from
   zero), zeros, subnormals, infinities and NaN. */
static void test_activation_quantizers(void) {
    enum { N = 512 };
    static float x[N];
    static uint8_t want[N * 2], got[N * 2];
    kernel_set sets[5];
    size_t n_sets = runnable_kernel_sets(sets);
    for (size_t s = 1; s < n_sets; s++) {
        int ok = 1;
        for (int rep = 0; rep < 200; rep++) {
            int flavour = rep % 5;
            for (size_t i = 0; i < N; i++) {
                float r = next_float();
                if (flavour == 0) x[i] = r * 3.0f;
                else if (flavour == 1) x[i] = (float)((int)(r * 126.0f)) + (r > 0 ? 0.5f : -0.5f); /* ties */
                else if (flavour == 2) x[i] = r * 1e-39f;                                       /* subnormal */
                else if (flavour == 3) x[i] = (next_u32() % 7 == 0) ? 0.0f : r;
                else x[i] = r * 10.0f;
            }
            if (flavour == 1)
                for (size_t b = 0; b < N; b += 32) x[b + next_u32() % 32] = 127.0f; /* d = 1 */
            if (flavour == 4) {
                x[next_u32() % N] = NAN;
                x[next_u32() % N] = INFINITY;
                x[next_u32() % N] = -NAN;
            }
            for (int kind = ACT_Q8_32; kind <= ACT_Q8_256; kind++) {
                size_t bytes = act_bytes(kind, N);
                memset(want, 0xAB, sizeof want);
                memset(got, 0xAB, sizeof got);
                quantize_act(kind, x, want, N);
                sets[s].quantize_act(kind, x, got, N);
                ok &= memcmp(want, got, bytes) == 0;
            }
        }
        CHECK(ok, "%s activation quantization differs from the scalar bytes", sets[s].name);
        if (sets[s].quantize_act != quantize_act) printf("kernels: %s activation quantizer checked bit for bit\n", sets[s].name);
    }
}

/* Tile kernels (one row, several tokens) give each token exactly the bits of
   the one-token kernel, for every token count and with gaps between the
   tokens' activations: that is what keeps a batched prefill bit-identical to
   decoding the same tokens one at a time. */
static void test_activation_tiles(void) {
    enum { MAX_N = 1024, GAP = 52 };
    static uint8_t row[MAX_N * 2];
    static float x[MAX_N];
    static uint8_t acts[DSV3_TILE_TOKENS * (MAX_N * 2 + GAP)];
    kernel_set sets[5];
    size_t n_sets = runnable_kernel_sets(sets), tested = 0;
    for (size_t s = 0; s < n_sets; s++)
        for (uint32_t type = 0; type < DSV3_TYPE_COUNT; type++) {
            if (!sets[s].act_tile[type]) continue;
            int kind = act_table[type].kind, ok = 1;
            for (size_t n = 256; n <= MAX_N; n *= 2) {
                size_t stride = act_bytes(kind, n) + GAP;
                for (int rep = 0; rep < 8; rep++) {
                    random_quant_row(type, row, n);
                    for (int t = 0; t < DSV3_TILE_TOKENS; t++) {
                        for (size_t i = 0; i < n; i++) x[i] = next_float() * (float)(1 + t * 30);
                        quantize_act(kind, x, acts + t * stride, n);
                    }
                    for (size_t n_tok = 1; n_tok <= DSV3_TILE_TOKENS; n_tok++) {
                        float out[DSV3_TILE_TOKENS * 3];
                        for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) out[i] = -1.0f;
                        sets[s].act_tile[type](row, acts, stride, n_tok, n, out, 3);
                        for (size_t t = 0; t < DSV3_TILE_TOKENS; t++) {
                            if (t < n_tok) {
                                float one = sets[s].act_dot[type](row, acts + t * stride, n);
                                ok &= memcmp(&one, &out[3 * t], sizeof one) == 0;
                            } else {
                                ok &= out[3 * t] == -1.0f; /* nothing written past n_tok */
                            }
                            ok &= out[3 * t + 1] == -1.0f && out[3 * t + 2] == -1.0f;
                        }
                    }
                }
            }
            CHECK(ok, "%s %s tile differs from its one-token dot", sets[s].name, type_table[type].name);
            printf("kernels: %s %s tile checked bit for bit\n", sets[s].name, type_table[type].name);
            tested++;
        }
    if (!tested) printf("kernels: no tile kernels on this CPU\n");
    /* two rows at once: each row's bits are its one-row dot's */
    for (size_t s = 0; s < n_sets; s++)
        for (uint32_t type = 0; type < DSV3_TYPE_COUNT; type++) {
            if (!sets[s].act_dot2[type]) continue;
            static uint8_t row2[MAX_N * 2];
            int kind = act_table[type].kind, ok = 1;
            for (size_t n = 256; n <= MAX_N; n *= 2)
                for (int rep = 0; rep < 8; rep++) {
                    random_quant_row(type, row, n);
                    random_quant_row(type, row2, n);
                    for (size_t i = 0; i < n; i++) x[i] = next_float() * (float)(1 + rep * 10);
                    quantize_act(kind, x, acts, n);
                    float a = -1.0f, b = -1.0f;
                    sets[s].act_dot2[type](row, row2, acts, n, &a, &b);
                    float one_a = sets[s].act_dot[type](row, acts, n), one_b = sets[s].act_dot[type](row2, acts, n);
                    ok &= memcmp(&a, &one_a, sizeof a) == 0 && memcmp(&b, &one_b, sizeof b) == 0;
                }
            CHECK(ok, "%s %s two-row dot differs from its one-row dots", sets[s].name, type_table[type].name);
            printf("kernels: %s %s two-row dot checked bit for bit\n", sets[s].name, type_table[type].name);
        }
}

/* Row-block kernels (AVX-512 VNNI; AMX on Intel from Sapphire Rapids): every
   (row, token) against the scalar reference dot to float rounding (bound:
   1e-5 of the sum of the products' magnitudes), the same bits whichever rows
   and tokens share a block (short row blocks, partial token passes and
   groups), and nothing written outside the n_rows x n_tok outputs. */
static size_t block_scratch_size(size_t n) {
    size_t bytes = 0;
    (void)n;
#if DSV3_HAVE_VNNI_ROWS
    bytes = vnni_scratch_bytes(n);
#endif
#if DSV3_HAVE_I8MM_ROWS
    bytes = i8mm_scratch_bytes(n);
#endif
#if DSV3_HAVE_AMX
    if (amx_scratch_bytes(n) > bytes) bytes = amx_scratch_bytes(n);
#endif
    return bytes;
}

static void test_block_rows(void) {
    kernel_set sets[8];
    size_t n_sets = runnable_kernel_sets(sets), n_checked = 0;
    enum { MAX_N = 1312, MAX_TOK = 37, GAP = 20, OUT_STRIDE = 19 };
    static uint8_t rows[16 * MAX_N * 2], acts[MAX_TOK * (MAX_N * 2 + GAP)];
    static float wf[16][MAX_N], x[MAX_N], ref[MAX_TOK][16], bound[MAX_TOK][16], full[MAX_TOK][16];
    static float out[MAX_TOK * OUT_STRIDE];
    /* 1312: an odd number of 32-element blocks (row blocks take them in pairs) */
    const size_t sizes[] = {256, 512, 1280, 1312}, token_counts[] = {37, 1, 4, 8, 9, 16, 17, 33}, row_counts[] = {16, 1, 5, 15};
    for (size_t s = 0; s < n_sets; s++)
        for (uint32_t type = 0; type < DSV3_TYPE_COUNT; type++) {
            const kernel_set *k = &sets[s];
            if (!k->block_rows[type]) continue;
            int kind = act_table[type].kind, close = 1, same = 1, untouched = 1;
            for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
                size_t n = sizes[si], row_bytes = n / type_table[type].block_size * type_table[type].type_size;
                if (n % type_table[type].block_size) continue;
                size_t stride = act_bytes(kind, n) + GAP, groups = (MAX_TOK + 15) / 16, group_bytes = 0;
#if DSV3_HAVE_AMX
                group_bytes = amx_group_bytes(kind, n);
#endif
                uint8_t *packed = (uint8_t *)malloc(groups * group_bytes + 1);
                uint8_t *scratch_base = (uint8_t *)malloc(block_scratch_size(n) + 64);
                CHECK(packed && scratch_base, "out of memory");
                if (!packed || !scratch_base) return;
                uint8_t *scratch = scratch_base + (64 - (uintptr_t)scratch_base % 64) % 64;
                for (size_t r = 0; r < 16; r++) {
                    random_quant_row(type, rows + r * row_bytes, n);
                    type_table[type].to_f32(rows + r * row_bytes, wf[r], n);
                }
                for (size_t t = 0; t < MAX_TOK; t++) {
                    for (size_t i = 0; i < n; i++) x[i] = next_float() * (float)(1 + t % 5 * 40);
                    uint8_t *a = acts + t * stride;
                    quantize_act(kind, x, a, n);
                    for (size_t r = 0; r < 16; r++) {
                        ref[t][r] = act_table[type].dot(rows + r * row_bytes, a, n);
                        double magnitude = 0;
                        for (size_t i = 0; i < n; i++) {
                            float ai = kind == ACT_Q8_32 ? ((const act_block32 *)(const void *)a)[i / 32].d *
                                                               ((const act_block32 *)(const void *)a)[i / 32].qs[i % 32]
                                                         : ((const act_block256 *)(const void *)a)[i / 256].d *
                                                               ((const act_block256 *)(const void *)a)[i / 256].qs[i % 256];
                            magnitude += fabs((double)wf[r][i] * ai);
                        }
                        bound[t][r] = (float)(1e-5 * magnitude);
                    }
                }
                for (size_t ti = 0; ti < sizeof token_counts / sizeof token_counts[0]; ti++)
                    for (size_t ri = 0; ri < sizeof row_counts / sizeof row_counts[0]; ri++) {
                        size_t n_tok = token_counts[ti], n_rows = row_counts[ri], first_row = 16 - n_rows;
                        const uint8_t *block_acts = acts;
                        size_t block_stride = stride;
#if DSV3_HAVE_AMX
                        if (k->block_rows_packed) {
                            for (size_t g = 0; g * 16 < n_tok; g++)
                                amx_pack_group(kind, acts, stride, 16 * g, n_tok, n, packed + g * group_bytes);
                            block_acts = packed;
                            block_stride = group_bytes;
                        }
#endif
                        for (size_t i = 0; i < MAX_TOK * OUT_STRIDE; i++) out[i] = -1.0f;
                        k->block_rows[type](rows + first_row * row_bytes, row_bytes, n_rows, block_acts, block_stride,
                                            n_tok, n, out + 1, OUT_STRIDE, scratch);
                        for (size_t t = 0; t < MAX_TOK; t++)
                            for (size_t c = 0; c < OUT_STRIDE; c++) {
                                float got = out[t * OUT_STRIDE + c];
                                if (t >= n_tok || c < 1 || c > n_rows) {
                                    untouched &= got == -1.0f;
                                    continue;
                                }
                                size_t r = first_row + c - 1;
                                close &= fabsf(got - ref[t][r]) <= bound[t][r];
                                if (ti == 0 && ri == 0) full[t][r] = got; /* all 37 tokens, all 16 rows */
                                else same &= memcmp(&got, &full[t][r], sizeof got) == 0;
                            }
                    }
                free(packed);
                free(scratch_base);
            }
            CHECK(close, "%s %s row blocks differ from the scalar dot beyond rounding", k->name, type_table[type].name);
            CHECK(same, "%s %s row blocks depend on the rows or tokens sharing a block", k->name, type_table[type].name);
            CHECK(untouched, "%s %s row blocks wrote outside their outputs", k->name, type_table[type].name);
            printf("kernels: %s %s row blocks checked against scalar, and bit for bit across block sharing\n", k->name,
                   type_table[type].name);
            n_checked++;
        }
    if (!n_checked) printf("kernels: no row-block kernels on this CPU (VNNI/AMX untested here)\n");
}

/* IQ4_NL decoded by hand: ggml's 16-entry table, low nibbles first. */
static void test_iq4_nl(void) {
    static const int table[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    uint8_t block[18 * 4];
    float got[128];
    int ok = 1;
    for (int rep = 0; rep < 50; rep++) {
        random_quant_row(20, block, 128);
        type_table[20].to_f32(block, got, 128);
        for (int b = 0; b < 4; b++) {
            float d = f16_to_f32((uint16_t)(block[18 * b] | block[18 * b + 1] << 8));
            for (int j = 0; j < 16; j++) {
                ok &= got[32 * b + j] == d * (float)table[block[18 * b + 2 + j] & 15];
                ok &= got[32 * b + j + 16] == d * (float)table[block[18 * b + 2 + j] >> 4];
            }
        }
    }
    CHECK(ok, "IQ4_NL dequantization");
}

int main(int argc, char **argv) {
    /* quant_vectors.bin: decoded by tests/tools/quant_ref.py; iq_vectors.bin:
       by llama.cpp's gguf-py, blocks that use every grid entry (see the tools) */
    const uint32_t plain_types[] = {2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15, 20, 23}, iq_types[] = {16, 18, 17, 19, 29, 22, 21};
    test_dequantize_vectors(argc > 1 ? argv[1] : "tests/data/quant_vectors.bin", plain_types,
                            sizeof plain_types / sizeof plain_types[0]);
    test_dequantize_vectors(argc > 2 ? argv[2] : "tests/data/iq_vectors.bin", iq_types,
                            sizeof iq_types / sizeof iq_types[0]);
    test_half_conversions();
    test_fused_mul_add();
    test_simd_kernels();
    test_activation_dots();
    test_activation_tiles();
    test_block_rows();
    test_activation_quantizers();
    test_iq4_nl();
    test_thread_pool();
    printf("kernels: ");
    return test_summary();
}
