/* build/dsv3-quantize - convert a GGUF model to another weight type.
 *
 *   dsv3-quantize IN.gguf OUT.gguf TYPE [--mix] [-t N]
 *
 * TYPE: f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k,
 * iq4_nl, iq4_xs, or a llama.cpp mix name: q3_k_m, q4_k_m, q5_k_m (= the K type with --mix),
 * q3_k_s, q4_k_s, q5_k_s (= without). Uses only the public API of dsv3.h.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, in platform.h */
#include "dsv3.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h" /* utf8_args, fopen_utf8 */

static void usage(FILE *out) {
    fprintf(out,
            "usage: dsv3-quantize IN.gguf OUT.gguf TYPE [--mix] [-t N]\n"
            "  TYPE       f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k\n"
            "             iq4_nl iq4_xs (without an importance matrix: RMS error per weight\n"
            "             about Q4_K's; the 1-3-bit IQ types need one and are not written)\n"
            "             or q3_k_m q4_k_m q5_k_m (mix), q3_k_s q4_k_s q5_k_s (no mix)\n"
            "  --mix      Q4_K_M-style mix: output.weight, and attn_v_b/attn_kv_b/ffn_down*\n"
            "             of the first and last eighth of the layers and every third layer\n"
            "             between, get more bits (Q2_K->Q4_K, Q3_K->Q5_K, Q4_*/Q5_*/IQ4_*->Q6_K)\n"
            "  -t N       threads (default: all CPUs)\n"
            "Norms, biases and the MoE router stay F32; matrices whose rows do not fill\n"
            "the type's blocks fall back to Q8_0 (IQ4_XS: IQ4_NL) or F16.\n");
}

static const struct {
    const char *name;
    int32_t type;
    int mix; /* -1: as --mix says */
} type_names[] = {
    {"f16", 1, -1},    {"bf16", 30, -1},  {"q4_0", 2, -1},   {"q4_1", 3, -1},   {"q5_0", 6, -1},
    {"q5_1", 7, -1},   {"q8_0", 8, -1},   {"q2_k", 10, -1},  {"q3_k", 11, -1},  {"q4_k", 12, -1},
    {"q5_k", 13, -1},  {"q6_k", 14, -1},  {"q3_k_m", 11, 1}, {"q4_k_m", 12, 1}, {"q5_k_m", 13, 1},
    {"q3_k_s", 11, 0}, {"q4_k_s", 12, 0}, {"q5_k_s", 13, 0}, {"iq4_nl", 20, -1}, {"iq4_xs", 23, -1},
};

static double file_mib(const char *path) {
    FILE *f = fopen_utf8(path, "rb");
    long size = -1;
    if (f) {
        if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
        fclose(f);
    }
    return size < 0 ? 0.0 : (double)size / (1024.0 * 1024.0);
}

static int parse_type(const char *s, int32_t *type, int *mix) {
    char lower[16];
    size_t n = strlen(s);
    if (n >= sizeof lower) return 0;
    for (size_t i = 0; i <= n; i++) lower[i] = (char)tolower((unsigned char)s[i]);
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(lower, type_names[i].name) == 0) {
            *type = type_names[i].type;
            *mix = type_names[i].mix;
            return 1;
        }
    return 0;
}

int main(int argc, char **argv) {
    utf8_args(&argc, &argv);
    const char *positional[3] = {NULL, NULL, NULL};
    int n_positional = 0, mix_flag = 0;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--mix") == 0) {
            mix_flag = 1;
        } else if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
            char *end;
            if (i + 1 >= argc) {
                fprintf(stderr, "dsv3-quantize: %s needs a value\n", a);
                return 2;
            }
            errno = 0;
            threads = strtol(argv[++i], &end, 10);
            if (errno || end == argv[i] || *end || threads < 1 || threads > 1024) {
                fprintf(stderr, "dsv3-quantize: bad thread count '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "dsv3-quantize: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (n_positional < 3) {
            positional[n_positional++] = a;
        } else {
            fprintf(stderr, "dsv3-quantize: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (n_positional != 3) {
        usage(stderr);
        return 2;
    }
    dsv3_quantize_params params;
    dsv3_quantize_default_params(&params);
    int mix;
    if (!parse_type(positional[2], &params.type, &mix)) {
        if (tolower((unsigned char)positional[2][0]) == 'i' && tolower((unsigned char)positional[2][1]) == 'q')
            fprintf(stderr, "dsv3-quantize: '%s' needs an importance matrix, which dsv3-quantize does not take "
                            "(llama-quantize --imatrix writes it; dsv3 reads it)\n", positional[2]);
        else
            fprintf(stderr, "dsv3-quantize: unknown type '%s'\n", positional[2]);
        usage(stderr);
        return 2;
    }
    if (mix == 0 && mix_flag) {
        fprintf(stderr, "dsv3-quantize: --mix contradicts type '%s'\n", positional[2]);
        return 2;
    }
    params.mix = mix >= 0 ? mix : mix_flag;
    params.n_threads = (int32_t)threads;

    char message[512];
    int32_t st = dsv3_quantize_file(positional[0], positional[1], &params, message, sizeof message);
    if (st != DSV3_OK) {
        fprintf(stderr, "dsv3-quantize: %s (%s)\n", message, dsv3_status_string(st));
        return 1;
    }
    double in_mib = file_mib(positional[0]), out_mib = file_mib(positional[1]);
    fprintf(stderr, "dsv3-quantize: %s (%.1f MiB) -> %s (%.1f MiB)\n", positional[0], in_mib, positional[1], out_mib);
    return 0;
}
