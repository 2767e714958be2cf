/* dsv3 tokenizer tests: DeepSeek-V3's vocabulary against goldens from an
 * independent implementation (tests/tools/gen_tokenizer_goldens.js), round
 * trips, invalid UTF-8, the streaming decoder, chat formatting, API misuse, and
 * a work count showing that long inputs without spaces stay O(n log n).
 *
 * The library is one translation unit, included here so that the work counter
 * of its encoder can be read; everything else goes through the public API.
 *
 * usage: test_tokenizer DATA_DIR
 *        test_tokenizer --decode MODEL ID,ID,...   (for tests/test_cli.sh) prints
 *            the text of the ids up to the first EOS, then a newline
 *        test_tokenizer --bench DATA_DIR           (make bench) throughput
 *        test_tokenizer --golden VOCAB GOLDEN      checks one golden file, e.g. of
 *            random strings (tests/tools/gen_tokenizer_goldens.js --random)
 */
#ifndef DSV3_TESTS_ONE_UNIT /* test_internal.c includes dsv3.c once for all four */
#include "../dsv3.c" /* first: it asks for POSIX.1-2008 */
#endif
#include "test_util.h"

#include <time.h>

static const char *tokenizer_data_dir = "tests/data";

/* name inside tokenizer_data_dir, or a path as given when it has a '/' */
static void data_path(char *buf, size_t size, const char *name) {
    if (strchr(name, '/')) snprintf(buf, size, "%s", name);
    else snprintf(buf, size, "%s/%s", tokenizer_data_dir, name);
}

static dsv3_model *load_vocab(const char *file) {
    char path[512], err[512];
    data_path(path, sizeof path, file);
    dsv3_model_params p;
    dsv3_model_default_params(&p);
    p.vocab_only = 1;
    dsv3_model *m = NULL;
    int32_t st = dsv3_model_load(path, &p, &m, err, sizeof err);
    CHECK(st == DSV3_OK, "loading %s: %s", path, err);
    return m;
}

/* ids of text, in a heap buffer of exactly the needed size (ASan sees overruns). */
static int32_t *tokenize(const dsv3_model *m, const char *text, size_t len, int add_bos, int special, size_t *n) {
    size_t need = 0;
    int32_t st = dsv3_tokenize(m, text, len, add_bos, special, NULL, 0, &need);
    if (st != DSV3_OK && st != DSV3_ERR_BUFFER_TOO_SMALL) return NULL;
    int32_t *ids = (int32_t *)malloc(need ? need * sizeof *ids : 1);
    st = dsv3_tokenize(m, text, len, add_bos, special, ids, need, n);
    if (st != DSV3_OK || *n != need) {
        free(ids);
        return NULL;
    }
    return ids;
}

/* Concatenated pieces of ids, malloc'd; *len set. */
static char *detokenize(const dsv3_model *m, const int32_t *ids, size_t n, int render_special, size_t *len) {
    size_t cap = 16, used = 0;
    char *out = (char *)malloc(cap);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        int32_t st = dsv3_token_to_piece(m, ids[i], render_special, NULL, 0, &k);
        if (st != DSV3_OK && st != DSV3_ERR_BUFFER_TOO_SMALL) {
            free(out);
            return NULL;
        }
        while (used + k + 1 > cap) out = (char *)realloc(out, cap *= 2);
        if (k && dsv3_token_to_piece(m, ids[i], render_special, out + used, k, &k) != DSV3_OK) {
            free(out);
            return NULL;
        }
        used += k;
    }
    out[used] = '\0';
    *len = used;
    return out;
}

static int valid_utf8(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        if (cp == CP_INVALID) return 0;
        i += l;
    }
    return 1;
}

/* The streaming decoder gives back the text, every chunk a whole number of
   characters when the text is valid UTF-8. */
static int stream_decode_ok(const dsv3_model *m, const int32_t *ids, size_t n, const char *text, size_t len,
                            int render_special) {
    dsv3_decoder dec;
    dsv3_decoder_init(&dec, render_special);
    char *out = (char *)malloc(len + 8);
    size_t used = 0;
    int ok = 1, valid = valid_utf8((const uint8_t *)text, len);
    for (size_t i = 0; i < n && ok; i++) {
        char chunk[256];
        size_t k;
        if (dsv3_decoder_push(m, &dec, ids[i], chunk, sizeof chunk, &k) != DSV3_OK) ok = 0;
        else if (used + k > len) ok = 0;
        else {
            if (valid && !valid_utf8((const uint8_t *)chunk, k)) ok = 0;
            memcpy(out + used, chunk, k);
            used += k;
        }
    }
    size_t k = 0;
    char tail[4];
    if (ok && dsv3_decoder_flush(&dec, tail, sizeof tail, &k) == DSV3_OK && used + k <= len) {
        memcpy(out + used, tail, k);
        used += k;
    } else {
        ok = 0;
    }
    ok = ok && used == len && memcmp(out, text, len) == 0;
    free(out);
    return ok;
}

static uint32_t rd32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* ---- goldens ---- */

static int same_ids(const int32_t *got, size_t n_got, const unsigned char *want, uint32_t n_want) {
    if (n_got != n_want) return 0;
    for (size_t i = 0; i < n_got; i++)
        if (got[i] != (int32_t)rd32(want + 4 * i)) return 0;
    return 1;
}

static void test_goldens(const dsv3_model *m, const char *file) {
    char path[512];
    data_path(path, sizeof path, file);
    int32_t bos = dsv3_model_token_bos(m);
    size_t size = 0;
    unsigned char *g = read_file(path, &size);
    CHECK(g && size >= 12 && memcmp(g, "DSVT", 4) == 0 && rd32(g + 4) == 1, "%s is missing or not a golden", path);
    if (!g || size < 12) return;
    uint32_t n_cases = rd32(g + 8);
    size_t pos = 12, matched = 0, round_trips = 0, streamed = 0;
    for (uint32_t c = 0; c < n_cases; c++) {
        uint32_t len = rd32(g + pos);
        char *text = (char *)malloc(len + 1); /* exact copy: overreads are caught */
        memcpy(text, g + pos + 4, len);
        pos += 4 + len;
        const unsigned char *want[2];
        uint32_t n_want[2];
        for (int k = 0; k < 2; k++) {
            n_want[k] = rd32(g + pos);
            want[k] = g + pos + 4;
            pos += 4 + 4 * (size_t)n_want[k];
        }
        for (int k = 0; k < 2; k++) { /* k = 0: parse_special on, 1: off */
            size_t n = 0;
            int32_t *ids = tokenize(m, text, len, 0, k == 0, &n);
            int ok = ids && same_ids(ids, n, want[k], n_want[k]);
            matched += ok;
            CHECK(ok, "golden %u (parse_special %d) differs: %.60s", c, k == 0, text);
            if (ids) {
                size_t back_len;
                char *back = detokenize(m, ids, n, 1, &back_len);
                int rt = back && back_len == len && memcmp(back, text, len) == 0;
                round_trips += rt;
                CHECK(rt, "golden %u: decode(encode(x)) != x", c);
                free(back);
                int sd = stream_decode_ok(m, ids, n, text, len, 1);
                streamed += sd;
                CHECK(sd, "golden %u: the streaming decoder differs", c);
            }
            free(ids);
            if (k == 0) { /* BOS when asked, the vocab saying add_bos_token */
                size_t nb = 0;
                int32_t *with_bos = tokenize(m, text, len, 1, 1, &nb);
                CHECK(with_bos && nb == n_want[0] + 1 && with_bos[0] == bos && same_ids(with_bos + 1, nb - 1, want[0], n_want[0]),
                      "golden %u with BOS", c);
                free(with_bos);
            }
        }
        free(text);
    }
    CHECK(pos == size, "golden file has %zu trailing bytes", size - pos);
    printf("%s: %u strings, %zu of %u encodings match id for id, %zu round trips, %zu streamed\n", file,
           n_cases, matched, 2 * n_cases, round_trips, streamed);
    free(g);
}

typedef struct vector_case {
    const char *text;
    int32_t ids[40];
    size_t n;
} vector_case;

static void check_vectors(const dsv3_model *m, const vector_case *cases, size_t n_cases, const char *what) {
    for (size_t c = 0; c < n_cases; c++) {
        size_t n = 0;
        int32_t *ids = tokenize(m, cases[c].text, strlen(cases[c].text), 0, 1, &n);
        int ok = ids && n == cases[c].n && memcmp(ids, cases[c].ids, n * sizeof *ids) == 0;
        CHECK(ok, "%s vector %zu: %s", what, c, cases[c].text);
        free(ids);
    }
}

/* Test vectors of the project's dsv3-tokenizer.md §3.2, inline. */
static void test_reference_vectors(const dsv3_model *m) {
    static const vector_case cases[] = {
        {"Hello world", {19923, 2058}, 2},
        {"Hello, world! 1234567", {19923, 14, 2058, 3, 223, 6895, 18009, 25}, 8},
        {"  leading spaces\n\nnewlines\r\n", {223, 6646, 13564, 271, 2839, 12678, 204, 201}, 8},
        {"\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xe3\x80\x82\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
         "\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88",
         {30594, 303, 3427, 320, 88768, 1576, 17383, 20367, 24552}, 9},
        {"x=a.b_c; // C++ comment", {90, 34397, 6229, 4941, 29, 1915, 345, 3312, 7006}, 9},
        {"<\xef\xbd\x9cUser\xef\xbd\x9c>hi<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", {128803, 6366, 128804}, 3},
        {"<think>\nok</think>", {30, 37947, 1018, 633, 1718, 37947, 32}, 7},
        {"\xc3\xa9moji \xf0\x9f\x98\x8a done", {619, 7129, 7063, 53769, 235, 3989}, 6},
        {"3.14159 and 1,000,000", {21, 16, 9926, 3318, 305, 223, 19, 14, 1320, 14, 1320}, 11},
    };
    check_vectors(m, cases, sizeof cases / sizeof cases[0], "deepseek-v3");
}

/* DeepSeek LLM / V2 vocabulary: vectors from llama.cpp's
   models/ggml-vocab-deepseek-llm.gguf.out (made with Hugging Face tokenizers),
   a source independent of this project's JS goldens. */
static void test_llm_vectors(const dsv3_model *m) {
    static const vector_case cases[] = {
        {" ", {207}, 1},
        {"\t\n", {184, 185}, 2},
        {"Hello world", {17464, 1843}, 2},
        {" Hello World!", {37727, 5427, 0}, 3},
        {"    Hello\n    Hello", {300, 37727, 185, 300, 37727}, 5},
        {" this is \xf0\x9f\xa6\x99.cpp", {437, 317, 12356, 99, 234, 13, 14743}, 7},
        {"w048 7tuijk dsdfhu", {86, 15, 19, 23, 207, 22, 83, 3970, 27519, 26016, 3944, 14025}, 12},
        {"\xd0\xbd\xd0\xb5\xd1\x89\xd0\xbe \xd0\xbd\xd0\xb0 \xd0\x91\xd1\x8a\xd0\xbb\xd0\xb3\xd0\xb0\xd1\x80\xd1\x81"
         "\xd0\xba\xd0\xb8", {1603, 6476, 620, 91754}, 4},
        {"\n =", {185, 403}, 2},
        {"' era", {6, 2906}, 2},
        {"Hello, y'all! How are you \xf0\x9f\x98\x81 ?\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8" "apple\xe5\xb7\xa5\xe4\xbd\x9c"
         "1314151\xe5\xa4\xa9\xef\xbd\x9e",
         {17464, 11, 320, 6, 436, 0, 1724, 418, 340, 33701, 210, 3025, 19017, 612, 9407, 2681, 16, 18, 16, 19, 16, 20, 16, 1398,
          68940, 239}, 26},
        {"3333333", {18, 18, 18, 18, 18, 18, 18}, 7},
    };
    check_vectors(m, cases, sizeof cases / sizeof cases[0], "deepseek-llm");
    CHECK(dsv3_model_n_vocab(m) == 102400 && dsv3_model_token_bos(m) == 100000 && dsv3_model_token_eos(m) == 100001,
          "deepseek-llm special ids");
}

/* ---- invalid UTF-8 and random round trips ---- */

static uint64_t tokenizer_rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    tokenizer_rng ^= tokenizer_rng << 13;
    tokenizer_rng ^= tokenizer_rng >> 7;
    tokenizer_rng ^= tokenizer_rng << 17;
    return (uint32_t)(tokenizer_rng >> 11);
}

static int token_round_trip(const dsv3_model *m, const char *text, size_t len, int special) {
    size_t n = 0, back_len = 0;
    int32_t *ids = tokenize(m, text, len, 0, special, &n);
    if (!ids) return 0;
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= ids[i] >= 0 && (size_t)ids[i] < dsv3_model_n_vocab(m);
    char *back = detokenize(m, ids, n, 1, &back_len);
    ok = ok && back && back_len == len && memcmp(back, text, len) == 0 && stream_decode_ok(m, ids, n, text, len, 1);
    free(back);
    free(ids);
    return ok;
}

/* exact: decode(encode(x)) == x also for invalid UTF-8 (every byte has a BPE
   token); else the ids need only be valid. */
static int invalid_ok(const dsv3_model *m, const char *text, size_t len, int special, int exact) {
    if (exact) return token_round_trip(m, text, len, special);
    size_t n = 0;
    int32_t *ids = tokenize(m, text, len, 0, special, &n);
    int ok = ids != NULL;
    for (size_t i = 0; ok && i < n; i++) ok = ids[i] >= 0 && (size_t)ids[i] < dsv3_model_n_vocab(m);
    free(ids);
    return ok;
}

static void test_invalid_utf8(const dsv3_model *m, int exact) {
    static const char *const bad[] = {
        "\xff", "\xfe\xff", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xed\xbf\xbf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf0\x9f\x98", "\xf0\x9f", "\xe4\xbd", "\x80", "\x80\x80\x80",
        "abc\xff" "def", "\xf0\x9f\x98\x8a\xf0\x9f\x98", "caf\xc3", "\xc3\xa9\xa9", " \xff \xfe ", "1\xff" "2",
        "<\xef\xbd\x9cUser\xef\xbd\x9c>\xff<\xef\xbd\x9c",
    };
    int all = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        all &= invalid_ok(m, bad[i], strlen(bad[i]), 1, exact);
        all &= invalid_ok(m, bad[i], strlen(bad[i]), 0, exact);
    }
    CHECK(all, "invalid UTF-8 strings tokenize and decode back to their bytes");
    /* random bytes, including NULs */
    int random_ok = 1;
    for (int t = 0; t < 300; t++) {
        size_t len = rnd() % 48;
        char *buf = (char *)malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) buf[i] = (char)(rnd() % 4 ? (char)(rnd() & 0xFF) : "\x80\xbf\xe0\xf0 \n"[rnd() % 6]);
        random_ok &= invalid_ok(m, buf, len, (int)(t & 1), exact);
        free(buf);
    }
    CHECK(random_ok, "random byte strings round-trip");
}

/* Random valid UTF-8 drawn from many scripts and classes: decode(encode(x)) == x. */
static void test_random_round_trips(const dsv3_model *m) {
    static const uint32_t pool[][2] = {
        {0x20, 0x7E}, {0x20, 0x20}, {0x0A, 0x0D}, {0x09, 0x09}, {0xA0, 0x17F}, {0x300, 0x36F}, {0x370, 0x3FF},
        {0x400, 0x4FF}, {0x590, 0x6FF}, {0x900, 0x97F}, {0xE00, 0xE7F}, {0x1100, 0x11FF}, {0x2000, 0x206F},
        {0x2190, 0x23FF}, {0x3000, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0xFE00, 0xFE0F}, {0xFF00, 0xFFEF},
        {0x1F300, 0x1F6FF}, {0x1F3FB, 0x1F3FF}, {0x200D, 0x200D}, {0x20000, 0x2A6DF}, {0x30, 0x39}, {0x660, 0x669},
    };
    int ok = 1;
    for (int t = 0; t < 500; t++) {
        uint8_t buf[256];
        size_t len = 0, chars = rnd() % 40;
        for (size_t i = 0; i < chars; i++) {
            const uint32_t *r = pool[rnd() % (sizeof pool / sizeof pool[0])];
            uint32_t cp = r[0] + rnd() % (r[1] - r[0] + 1);
            if (cp < 0x80) buf[len++] = (uint8_t)cp;
            else if (cp < 0x800) buf[len++] = (uint8_t)(0xC0 | cp >> 6), buf[len++] = (uint8_t)(0x80 | (cp & 0x3F));
            else if (cp < 0x10000)
                buf[len++] = (uint8_t)(0xE0 | cp >> 12), buf[len++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)),
                buf[len++] = (uint8_t)(0x80 | (cp & 0x3F));
            else
                buf[len++] = (uint8_t)(0xF0 | cp >> 18), buf[len++] = (uint8_t)(0x80 | (cp >> 12 & 0x3F)),
                buf[len++] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), buf[len++] = (uint8_t)(0x80 | (cp & 0x3F));
        }
        char *text = (char *)malloc(len ? len : 1);
        memcpy(text, buf, len);
        ok &= token_round_trip(m, text, len, 0);
        free(text);
    }
    CHECK(ok, "500 random valid UTF-8 strings round-trip");
}

/* ---- API ---- */

static void test_api(const dsv3_model *m) {
    const char *text = "Hello, world! 1234567";
    size_t len = strlen(text), n = 99;
    int32_t ids[16];
    CHECK(dsv3_model_has_tokenizer(m) == 1 && dsv3_model_has_tokenizer(NULL) == 0, "has_tokenizer");
    CHECK(dsv3_model_n_vocab(m) == 129280, "n_vocab %zu", dsv3_model_n_vocab(m));
    CHECK(dsv3_model_token_bos(m) == 0 && dsv3_model_token_eos(m) == 1 && dsv3_model_token_pad(m) == 1, "bos/eos/pad");
    /* counting, too small, exact */
    CHECK(dsv3_tokenize(m, text, len, 0, 1, NULL, 0, &n) == DSV3_ERR_BUFFER_TOO_SMALL && n == 8, "count: %zu", n);
    memset(ids, 0x7F, sizeof ids);
    CHECK(dsv3_tokenize(m, text, len, 0, 1, ids, 5, &n) == DSV3_ERR_BUFFER_TOO_SMALL && n == 8 && ids[0] == 19923 &&
              ids[4] == 223 && ids[5] == 0x7F7F7F7F,
          "too small: first ids written, nothing past them");
    CHECK(dsv3_tokenize(m, text, len, 1, 1, ids, 8, &n) == DSV3_ERR_BUFFER_TOO_SMALL && n == 9, "BOS counts");
    CHECK(dsv3_tokenize(m, text, len, 1, 1, ids, 9, &n) == DSV3_OK && n == 9 && ids[0] == 0, "BOS fits");
    CHECK(dsv3_tokenize(m, NULL, 0, 0, 1, NULL, 0, &n) == DSV3_OK && n == 0, "empty text, no BOS");
    CHECK(dsv3_tokenize(m, "", 0, 1, 1, ids, 1, &n) == DSV3_OK && n == 1 && ids[0] == 0, "empty text with BOS");
    /* NULL arguments */
    CHECK(dsv3_tokenize(NULL, text, len, 0, 1, ids, 16, &n) == DSV3_ERR_INVALID_ARGUMENT && n == 0, "NULL model");
    CHECK(dsv3_tokenize(m, text, len, 0, 1, ids, 16, NULL) == DSV3_ERR_INVALID_ARGUMENT, "NULL n_tokens");
    CHECK(dsv3_tokenize(m, NULL, 3, 0, 1, ids, 16, &n) == DSV3_ERR_INVALID_ARGUMENT, "NULL text");
    CHECK(dsv3_tokenize(m, text, len, 0, 1, NULL, 16, &n) == DSV3_ERR_INVALID_ARGUMENT, "NULL tokens");
    /* text need not be NUL-terminated: a length inside a longer string */
    CHECK(dsv3_tokenize(m, "Hello world!!!", 11, 0, 1, ids, 16, &n) == DSV3_OK && n == 2 && ids[1] == 2058, "length honoured");

    /* token_to_piece */
    char buf[64];
    size_t k = 99;
    CHECK(dsv3_token_to_piece(m, 2058, 0, buf, sizeof buf, &k) == DSV3_OK && k == 6 && !memcmp(buf, " world", 6), "piece");
    CHECK(dsv3_token_to_piece(m, 0, 0, buf, sizeof buf, &k) == DSV3_OK && k == 0, "BOS hidden");
    CHECK(dsv3_token_to_piece(m, 0, 1, buf, sizeof buf, &k) == DSV3_OK && k == 29 &&
              !memcmp(buf, "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", 29),
          "BOS rendered (%zu bytes)", k);
    CHECK(dsv3_token_to_piece(m, 129000, 0, buf, sizeof buf, &k) == DSV3_OK && k == 0, "padding token renders nothing");
    CHECK(dsv3_token_to_piece(m, 2058, 0, buf, 3, &k) == DSV3_ERR_BUFFER_TOO_SMALL && k == 6, "piece too small");
    CHECK(dsv3_token_to_piece(m, -1, 0, buf, sizeof buf, &k) == DSV3_ERR_TOKEN_OUT_OF_RANGE, "negative id");
    CHECK(dsv3_token_to_piece(m, 129280, 0, buf, sizeof buf, &k) == DSV3_ERR_TOKEN_OUT_OF_RANGE, "id past the vocab");
    CHECK(dsv3_token_to_piece(NULL, 1, 0, buf, sizeof buf, &k) == DSV3_ERR_INVALID_ARGUMENT, "NULL model");
    CHECK(dsv3_token_to_piece(m, 1, 0, NULL, 4, &k) == DSV3_ERR_INVALID_ARGUMENT, "NULL buf");

    /* streaming decoder: 😊 arrives over two tokens (53769 = " \xf0\x9f\x98", 235 = "\x8a") */
    dsv3_decoder dec;
    dsv3_decoder_init(&dec, 0);
    CHECK(dsv3_decoder_push(m, &dec, 53769, buf, sizeof buf, &k) == DSV3_OK && k == 1 && buf[0] == ' ' && dec.n_pending == 3,
          "half an emoji is held back (%zu out)", k);
    CHECK(dsv3_decoder_push(m, &dec, 235, buf, 1, &k) == DSV3_ERR_BUFFER_TOO_SMALL && k == 4 && dec.n_pending == 3,
          "too small leaves the decoder unchanged");
    CHECK(dsv3_decoder_push(m, &dec, 235, buf, sizeof buf, &k) == DSV3_OK && k == 4 && !memcmp(buf, "\xf0\x9f\x98\x8a", 4),
          "the emoji comes out whole");
    CHECK(dsv3_decoder_push(m, &dec, 0, buf, sizeof buf, &k) == DSV3_OK && k == 0, "BOS not rendered");
    CHECK(dsv3_decoder_push(m, &dec, 53769, buf, sizeof buf, &k) == DSV3_OK && k == 1, "half again");
    CHECK(dsv3_decoder_push(m, &dec, 2058, buf, sizeof buf, &k) == DSV3_OK && k == 9 && !memcmp(buf, "\xf0\x9f\x98 world", 9),
          "an unfinishable prefix is passed through (%zu)", k);
    CHECK(dsv3_decoder_push(m, &dec, 53769, buf, sizeof buf, &k) == DSV3_OK && k == 1, "half a third time");
    CHECK(dsv3_decoder_flush(&dec, buf, 1, &k) == DSV3_ERR_BUFFER_TOO_SMALL && k == 3, "flush too small");
    CHECK(dsv3_decoder_flush(&dec, buf, sizeof buf, &k) == DSV3_OK && k == 3 && !memcmp(buf, "\xf0\x9f\x98", 3), "flush");
    CHECK(dsv3_decoder_flush(&dec, buf, sizeof buf, &k) == DSV3_OK && k == 0, "flush empties");
    dsv3_decoder_init(&dec, 1);
    CHECK(dsv3_decoder_push(m, &dec, 1, buf, sizeof buf, &k) == DSV3_OK && k == 27, "EOS rendered (%zu)", k);
    CHECK(dsv3_decoder_push(m, &dec, -5, buf, sizeof buf, &k) == DSV3_ERR_TOKEN_OUT_OF_RANGE, "decoder: bad id");
    CHECK(dsv3_decoder_push(NULL, &dec, 5, buf, sizeof buf, &k) == DSV3_ERR_INVALID_ARGUMENT, "decoder: NULL model");
    CHECK(dsv3_decoder_push(m, NULL, 5, buf, sizeof buf, &k) == DSV3_ERR_INVALID_ARGUMENT, "decoder: NULL decoder");
    CHECK(dsv3_decoder_flush(NULL, buf, sizeof buf, &k) == DSV3_ERR_INVALID_ARGUMENT, "flush: NULL decoder");
    dsv3_decoder_init(NULL, 0); /* no-op */

    /* a context cannot be made from a vocab-only model */
    dsv3_context *ctx = (dsv3_context *)&dec;
    CHECK(dsv3_context_create(m, NULL, &ctx) == DSV3_ERR_INVALID_ARGUMENT && ctx == NULL, "vocab-only context");
}

/* ---- chat ---- */

static void test_chat(const dsv3_model *m) {
    char path[512];
    snprintf(path, sizeof path, "%s/chat.golden", tokenizer_data_dir);
    size_t size = 0;
    unsigned char *g = read_file(path, &size);
    CHECK(g && size >= 12 && memcmp(g, "DSVC", 4) == 0, "%s", path);
    if (!g || size < 12) return;
    uint32_t n_cases = rd32(g + 8);
    size_t pos = 12, matched = 0;
    for (uint32_t c = 0; c < n_cases; c++) {
        uint32_t style = rd32(g + pos), gen = rd32(g + pos + 4), n_msg = rd32(g + pos + 8);
        pos += 12;
        dsv3_chat_message msgs[16];
        char *owned[32];
        size_t n_owned = 0;
        for (uint32_t i = 0; i < n_msg && i < 16; i++) {
            for (int f = 0; f < 2; f++) {
                uint32_t len = rd32(g + pos);
                char *s = (char *)malloc(len + 1);
                memcpy(s, g + pos + 4, len);
                s[len] = '\0';
                pos += 4 + len;
                owned[n_owned++] = s;
                if (f == 0) msgs[i].role = s;
                else msgs[i].content = s;
            }
        }
        uint32_t want_len = rd32(g + pos);
        const char *want = (const char *)g + pos + 4;
        pos += 4 + want_len;
        size_t n = 0;
        dsv3_chat_format(m, msgs, n_msg, (int32_t)gen, (int32_t)style, NULL, 0, &n);
        char *out = (char *)malloc(n + 1);
        int32_t st = dsv3_chat_format(m, msgs, n_msg, (int32_t)gen, (int32_t)style, out, n + 1, &n);
        int ok = st == DSV3_OK && n == want_len && memcmp(out, want, n) == 0 && out[n] == '\0';
        matched += ok;
        CHECK(ok, "chat case %u (style %u, generation prompt %u): got '%.*s'", c, style, gen, (int)n, out);
        /* the prompt tokenizes with its special tokens and comes back */
        if (ok) CHECK(token_round_trip(m, out, n, 1), "chat case %u round trip", c);
        if (style == DSV3_CHAT_DEEPSEEK_V3) { /* the V3 vocab's own template is V3 */
            size_t n_auto = 0;
            st = dsv3_chat_format(m, msgs, n_msg, (int32_t)gen, DSV3_CHAT_AUTO, out, n + 1, &n_auto);
            CHECK(st == DSV3_OK && n_auto == n && memcmp(out, want, n) == 0, "chat case %u, automatic style", c);
        }
        free(out);
        for (size_t i = 0; i < n_owned; i++) free(owned[i]);
    }
    printf("chat goldens: %zu of %u match\n", matched, n_cases);
    free(g);

    dsv3_chat_message msgs[2] = {{"system", "S"}, {"user", "Hi"}};
    char out[128];
    size_t n = 0;
    CHECK(dsv3_chat_format(NULL, msgs, 2, 1, DSV3_CHAT_DEEPSEEK_V3, out, sizeof out, &n) == DSV3_OK && strlen(out) == n &&
              !strcmp(out, "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>S<\xef\xbd\x9cUser\xef\xbd\x9c>Hi"
                           "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"),
          "no model: default BOS");
    CHECK(dsv3_chat_format(m, msgs, 2, 1, DSV3_CHAT_DEEPSEEK_V3, out, n, &n) == DSV3_ERR_BUFFER_TOO_SMALL, "no room for NUL");
    CHECK(dsv3_chat_format(NULL, msgs, 2, 1, DSV3_CHAT_AUTO, out, sizeof out, &n) == DSV3_ERR_INVALID_ARGUMENT,
          "auto style needs a model");
    CHECK(dsv3_chat_format(m, msgs, 2, 1, 7, out, sizeof out, &n) == DSV3_ERR_INVALID_ARGUMENT, "unknown style");
    dsv3_chat_message bad[1] = {{"robot", "x"}};
    CHECK(dsv3_chat_format(m, bad, 1, 1, 0, out, sizeof out, &n) == DSV3_ERR_INVALID_ARGUMENT, "unknown role");
    dsv3_chat_message null_content[1] = {{"user", NULL}};
    CHECK(dsv3_chat_format(m, null_content, 1, 1, 0, out, sizeof out, &n) == DSV3_ERR_INVALID_ARGUMENT, "NULL content");
    CHECK(dsv3_chat_format(m, msgs, 2, 1, 0, out, sizeof out, NULL) == DSV3_ERR_INVALID_ARGUMENT, "NULL n_out");
}

/* Tool calls and tool lists (dsv3_chat_format_turns), written out from the V3
   template's rules (dsv3-tokenizer.md §5.1) and the V3.1 model card's tool
   list; every special string must come out as its one token. */

static int render_turns(const dsv3_model *m, const dsv3_chat_turn *turns, size_t n, const dsv3_tool *tools,
                        size_t n_tools, int32_t gen, int32_t style, const char *want) {
    char out[4096];
    size_t len = 0;
    int32_t st = dsv3_chat_format_turns(m, turns, n, tools, n_tools, gen, style, out, sizeof out, &len);
    int ok = st == DSV3_OK && len == strlen(out) && (!want || !strcmp(out, want));
    if (!ok) fprintf(stderr, "  rendered (status %d): %s\n  wanted: %s\n", (int)st, st == DSV3_OK ? out : "", want ? want : "");
    return ok;
}

static void test_chat_turns(const dsv3_model *m) {
    const dsv3_tool_call weather[1] = {{"get_weather", "{\"city\": \"Paris\"}"}};
    const dsv3_chat_turn one_call[4] = {{"system", "S", NULL, 0},
                                        {"user", "Weather?", NULL, 0},
                                        {"assistant", NULL, weather, 1},
                                        {"tool", "21 degrees", NULL, 0}};
    CHECK(render_turns(m, one_call, 4, NULL, 0, 1, DSV3_CHAT_DEEPSEEK_V3,
                       T_BOS "S" T_USER "Weather?" T_ASSISTANT T_CALLS_BEGIN T_CALL_BEGIN "function" T_SEP
                             "get_weather\n```json\n{\"city\": \"Paris\"}\n```" T_CALL_END T_CALLS_END T_EOS
                                 T_OUTPUTS_BEGIN T_OUTPUT_BEGIN "21 degrees" T_OUTPUT_END T_OUTPUTS_END),
          "one tool call, then its output");

    /* after tool outputs the turn continues past their end marker; R1 keeps
       the thinking there (the template strips it only after <｜Assistant｜>) */
    const dsv3_tool_call two[2] = {{"a", "{}"}, {"b", "{\"x\": [1, 2]}"}};
    const dsv3_chat_turn after_outputs[3] = {{"user", "Q", NULL, 0},
                                             {"tool", "r", NULL, 0},
                                             {"assistant", "<think>x</think>ok", two, 2}};
    CHECK(render_turns(m, after_outputs, 3, NULL, 0, 1, DSV3_CHAT_DEEPSEEK_R1,
                       T_BOS T_USER "Q" T_OUTPUTS_BEGIN T_OUTPUT_BEGIN "r" T_OUTPUT_END T_OUTPUTS_END
                             "<think>x</think>ok" T_CALLS_BEGIN T_CALL_BEGIN "function" T_SEP "a\n```json\n{}\n```"
                                 T_CALL_END "\n" T_CALL_BEGIN "function" T_SEP "b\n```json\n{\"x\": [1, 2]}\n```"
                                     T_CALL_END T_CALLS_END T_EOS T_ASSISTANT "<think>\n"),
          "two calls with content, after tool outputs (R1)");
    const dsv3_chat_turn r1_content[2] = {{"user", "Q", NULL, 0}, {"assistant", "<think>x</think>ok", weather, 1}};
    CHECK(render_turns(m, r1_content, 2, NULL, 0, 0, DSV3_CHAT_DEEPSEEK_R1,
                       T_BOS T_USER "Q" T_ASSISTANT "ok" T_CALLS_BEGIN T_CALL_BEGIN "function" T_SEP
                             "get_weather\n```json\n{\"city\": \"Paris\"}\n```" T_CALL_END T_CALLS_END T_EOS),
          "R1: the thinking of a turn with calls is dropped");

    const dsv3_tool tools[2] = {{"f", "does f", "{\"type\":\"object\"}"}, {"g", NULL, NULL}};
    const dsv3_chat_turn ask[2] = {{"system", "S", NULL, 0}, {"user", "Q", NULL, 0}};
    char out[4096];
    size_t len = 0;
    int32_t st = dsv3_chat_format_turns(m, ask, 2, tools, 2, 1, DSV3_CHAT_DEEPSEEK_V3, out, sizeof out, &len);
    static const char head[] = T_BOS "S\n\n## Tools\nYou have access to the following tools:\n"
                                     "\n### f\nDescription: does f\n\nParameters: {\"type\":\"object\"}\n"
                                     "\n### g\nDescription: \n\nParameters: {}\n"
                                     "\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n" T_CALLS_BEGIN
                                         T_CALL_BEGIN "function" T_SEP "tool_call_name\n```json\n";
    static const char tail[] = T_USER "Q" T_ASSISTANT;
    CHECK(st == DSV3_OK && len > sizeof head + sizeof tail && !strncmp(out, head, sizeof head - 1) &&
              !strcmp(out + len - (sizeof tail - 1), tail),
          "tool list after the system prompt: %s", st == DSV3_OK ? out : "(error)");

    /* without calls or tools: dsv3_chat_format's text */
    const dsv3_chat_message plain[3] = {{"system", "S"}, {"user", "Hi"}, {"assistant", "Hello"}};
    const dsv3_chat_turn plain_turns[3] = {{"system", "S", NULL, 0}, {"user", "Hi", NULL, 0}, {"assistant", "Hello", NULL, 0}};
    char a[512], b[512];
    size_t na = 0, nb = 0;
    CHECK(dsv3_chat_format(m, plain, 3, 1, DSV3_CHAT_AUTO, a, sizeof a, &na) == DSV3_OK &&
              dsv3_chat_format_turns(m, plain_turns, 3, NULL, 0, 1, DSV3_CHAT_AUTO, b, sizeof b, &nb) == DSV3_OK &&
              na == nb && !strcmp(a, b),
          "turns without calls = messages");

    /* each special string is one token of the V3 vocabulary */
    if (m) {
        st = dsv3_chat_format_turns(m, one_call, 4, NULL, 0, 1, DSV3_CHAT_DEEPSEEK_V3, out, sizeof out, &len);
        int32_t ids[512];
        size_t n_ids = 0;
        int found[5] = {0, 0, 0, 0, 0}; /* 128806 calls begin, 128807 end, 128808 call begin, 128809 end, 128814 sep */
        if (st == DSV3_OK && dsv3_tokenize(m, out, len, 0, 1, ids, 512, &n_ids) == DSV3_OK)
            for (size_t i = 0; i < n_ids; i++)
                for (int k = 0; k < 5; k++) found[k] += ids[i] == (k < 4 ? 128806 + k : 128814);
        CHECK(found[0] == 1 && found[1] == 1 && found[2] == 1 && found[3] == 1 && found[4] == 1,
              "tool-call tokens: %d %d %d %d %d", found[0], found[1], found[2], found[3], found[4]);
    }

    /* DeepSeek-V3.1 (its template in DeepSeek-V3.1's tokenizer_config.json) */
    const dsv3_chat_turn v31_chat[4] = {{"system", "S", NULL, 0},
                                        {"user", "Hi", NULL, 0},
                                        {"assistant", "<think>r</think>Hello</think>!", NULL, 0},
                                        {"user", "More", NULL, 0}};
    CHECK(render_turns(m, v31_chat, 4, NULL, 0, 1, DSV3_CHAT_DEEPSEEK_V31,
                       T_BOS "S" T_USER "Hi" T_ASSISTANT "</think>Hello</think>!" T_EOS T_USER "More" T_ASSISTANT "</think>"),
          "V3.1 chat, non-thinking");
    CHECK(render_turns(m, v31_chat, 4, NULL, 0, 1, DSV3_CHAT_DEEPSEEK_V31_THINKING,
                       T_BOS "S" T_USER "Hi" T_ASSISTANT "</think>Hello</think>!" T_EOS T_USER "More" T_ASSISTANT "<think>"),
          "V3.1 chat, thinking");
    const dsv3_tool_call v31_calls[2] = {{"a", "{}"}, {"b", "{\"x\": 1}"}};
    const dsv3_chat_turn v31_tools[6] = {{"user", "Q", NULL, 0},          {"assistant", NULL, v31_calls, 2},
                                         {"tool", "r1", NULL, 0},         {"tool", "r2", NULL, 0},
                                         {"assistant", "<think>x</think>It is r", NULL, 0}, {"user", "ok", NULL, 0}};
    CHECK(render_turns(m, v31_tools, 6, NULL, 0, 1, DSV3_CHAT_DEEPSEEK_V31,
                       T_BOS T_USER "Q" T_ASSISTANT "</think>" T_CALLS_BEGIN T_CALL_BEGIN "a" T_SEP "{}" T_CALL_END
                           T_CALL_BEGIN "b" T_SEP "{\"x\": 1}" T_CALL_END T_CALLS_END T_EOS T_OUTPUT_BEGIN "r1"
                               T_OUTPUT_END T_OUTPUT_BEGIN "r2" T_OUTPUT_END "<think>x</think>It is r" T_EOS T_USER "ok"
                                   T_ASSISTANT "</think>"),
          "V3.1 tool calls and outputs");
    CHECK(render_turns(m, v31_tools, 4, NULL, 0, 1, DSV3_CHAT_DEEPSEEK_V31,
                       T_BOS T_USER "Q" T_ASSISTANT "</think>" T_CALLS_BEGIN T_CALL_BEGIN "a" T_SEP "{}" T_CALL_END
                           T_CALL_BEGIN "b" T_SEP "{\"x\": 1}" T_CALL_END T_CALLS_END T_EOS T_OUTPUT_BEGIN "r1"
                               T_OUTPUT_END T_OUTPUT_BEGIN "r2" T_OUTPUT_END),
          "V3.1: no generation prompt after tool outputs");
    const dsv3_chat_turn content_calls[2] = {{"user", "Q", NULL, 0}, {"assistant", "Let me look.", weather, 1}};
    CHECK(render_turns(m, content_calls, 2, NULL, 0, 0, DSV3_CHAT_DEEPSEEK_V31,
                       T_BOS T_USER "Q" T_ASSISTANT "</think>Let me look." T_CALLS_BEGIN T_CALL_BEGIN "get_weather" T_SEP
                             "{\"city\": \"Paris\"}" T_CALL_END T_CALLS_END T_EOS),
          "V3.1: content before the calls");
    st = dsv3_chat_format_turns(m, ask, 2, tools, 1, 1, DSV3_CHAT_DEEPSEEK_V31, out, sizeof out, &len);
    CHECK(st == DSV3_OK && strstr(out, T_CALLS_BEGIN T_CALL_BEGIN "tool_call_name" T_SEP "tool_call_arguments" T_CALL_END
                                       "{additional_tool_calls}" T_CALLS_END "\n\nWhere:\n") &&
              strstr(out, "- For multiple tool calls, chain them directly without separators or spaces" T_USER "Q"),
          "V3.1 tool list: %s", st == DSV3_OK ? out : "(error)");
    /* which template a file holds */
    CHECK(chat_style_of("", 0) == CHAT_STYLE_V3 &&
              chat_style_of("{{'<think>\\n'}}...</think>", 26) == CHAT_STYLE_R1 &&
              chat_style_of("x</think>" T_ASSISTANT "</think>y", strlen("x</think>" T_ASSISTANT "</think>y")) == CHAT_STYLE_V31,
          "chat styles from templates");
    CHECK(dsv3_model_chat_style(NULL) == DSV3_CHAT_DEEPSEEK_V3 &&
              (!m || dsv3_model_chat_style(m) == DSV3_CHAT_DEEPSEEK_V3),
          "the V3 vocabulary's style");
    CHECK(dsv3_chat_format_turns(m, ask, 2, NULL, 0, 1, 5, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "style 5");

    const dsv3_chat_turn user_calls[1] = {{"user", "x", weather, 1}};
    CHECK(dsv3_chat_format_turns(m, user_calls, 1, NULL, 0, 1, 0, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "calls on a user turn");
    const dsv3_chat_turn no_content[1] = {{"assistant", NULL, NULL, 0}};
    CHECK(dsv3_chat_format_turns(m, no_content, 1, NULL, 0, 1, 0, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "NULL content without calls");
    const dsv3_tool_call nameless[1] = {{NULL, "{}"}};
    const dsv3_chat_turn bad_call[1] = {{"assistant", NULL, nameless, 1}};
    CHECK(dsv3_chat_format_turns(m, bad_call, 1, NULL, 0, 1, 0, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "a call without a name");
    const dsv3_chat_turn missing_calls[1] = {{"assistant", NULL, NULL, 2}};
    CHECK(dsv3_chat_format_turns(m, missing_calls, 1, NULL, 0, 1, 0, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "n_tool_calls without tool_calls");
    CHECK(dsv3_chat_format_turns(m, ask, 2, NULL, 1, 1, 0, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "n_tools without tools");
    const dsv3_tool nameless_tool[1] = {{NULL, "d", "{}"}};
    CHECK(dsv3_chat_format_turns(m, ask, 2, nameless_tool, 1, 1, 0, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "a tool without a name");
    CHECK(dsv3_chat_format_turns(m, NULL, 1, NULL, 0, 1, 0, out, sizeof out, &len) == DSV3_ERR_INVALID_ARGUMENT,
          "NULL turns");
}

/* ---- complexity: counting the encoder's steps ---- */

static uint64_t encode_work(const dsv3_model *m, const uint8_t *s, size_t n, size_t *n_ids) {
    encoder e;
    encoder_init(&e, &m->vocab, &m->alloc, NULL, 0, n);
    int32_t st = encode_text(&e, s, n, 0, 1);
    encoder_release(&e);
    *n_ids = e.n;
    return st == DSV3_OK ? e.work : UINT64_MAX;
}

static void test_no_quadratic(const dsv3_model *m) {
    static const char *const units[] = {"a", "ab", "xyz", "\xe4\xb8\xad", "\xed\x95\x9c", "1", "!", " ", "\n",
                                        "\xe2\x80\x8d", "\xcc\x81", "\xf0\x9f\x98\x8a", "\xff"};
    const size_t big = 1 << 20, small = 1 << 16;
    uint8_t *buf = (uint8_t *)malloc(big);
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]);
        for (size_t i = 0; i < big; i++) buf[i] = (uint8_t)units[u][i % ul];
        size_t n_small, n_big;
        uint64_t w_small = encode_work(m, buf, small, &n_small);
        uint64_t w_big = encode_work(m, buf, big, &n_big);
        /* O(n log n): 16x the input may cost 16 * log(2^20)/log(2^16) = 20x
           the work, with room to spare; quadratic would be 256x. */
        CHECK(w_big != UINT64_MAX && w_big <= 25 * w_small + 1000 && w_big <= 64 * (uint64_t)big,
              "unit '%s': %llu steps for 64 KiB, %llu for 1 MiB", units[u], (unsigned long long)w_small,
              (unsigned long long)w_big);
    }
    /* random letters without spaces: one long piece */
    for (size_t i = 0; i < big; i++) buf[i] = (uint8_t)('a' + rnd() % 26);
    size_t n_big, n_small;
    uint64_t w_small = encode_work(m, buf, small, &n_small), w_big = encode_work(m, buf, big, &n_big);
    CHECK(w_big <= 25 * w_small + 1000, "random letters: %llu steps for 64 KiB, %llu for 1 MiB",
          (unsigned long long)w_small, (unsigned long long)w_big);
    free(buf);
}

/* The piece cache (on for long texts) changes nothing: a long mixed text
   encodes to the same ids with and without it. */
static void test_cache_equivalence(const dsv3_model *m) {
    char path[512];
    snprintf(path, sizeof path, "%s/deepseek-v3-vocab.golden", tokenizer_data_dir);
    size_t size = 0, len = 0;
    unsigned char *g = read_file(path, &size);
    if (!g || size < 12) return;
    uint8_t *text = (uint8_t *)malloc(size);
    for (size_t pos = 12, c = 0; c < rd32(g + 8); c++) {
        uint32_t l = rd32(g + pos);
        memcpy(text + len, g + pos + 4, l);
        len += l;
        text[len++] = (uint8_t)" \n"[c % 2];
        pos += 4 + l;
        pos += 4 + 4 * (size_t)rd32(g + pos);
        pos += 4 + 4 * (size_t)rd32(g + pos);
    }
    int32_t *a = (int32_t *)malloc(len * sizeof *a), *b = (int32_t *)malloc(len * sizeof *b);
    encoder e1, e2;
    encoder_init(&e1, &m->vocab, &m->alloc, a, len, 0);
    encoder_init(&e2, &m->vocab, &m->alloc, b, len, len);
    CHECK(e1.cache == NULL && e2.cache != NULL, "cache off for short, on for long texts");
    int32_t s1 = encode_text(&e1, text, len, 0, 1), s2 = encode_text(&e2, text, len, 0, 1);
    CHECK(s1 == DSV3_OK && s2 == DSV3_OK && e1.n == e2.n && e1.n <= len && memcmp(a, b, e1.n * sizeof *a) == 0,
          "cached and uncached encodings of %zu bytes agree (%zu and %zu ids)", len, e1.n, e2.n);
    encoder_release(&e1);
    encoder_release(&e2);
    free(a);
    free(b);
    free(text);
    free(g);
}

/* ---- out of memory ---- */

/* Every allocation of the vocabulary load and of tokenize failing in turn:
   DSV3_ERR_OUT_OF_MEMORY, nothing leaked, and the model still usable. */
static void test_out_of_memory(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/deepseek-v3-vocab.gguf", tokenizer_data_dir);
    alloc_budget b = {0, 0};
    dsv3_model_params p;
    dsv3_model_default_params(&p);
    p.vocab_only = 1;
    p.alloc = budget_alloc;
    p.free_fn = budget_free;
    p.user = &b;
    dsv3_model *m = NULL;
    int failures = 0, k = 0;
    for (;; k++) {
        b.remaining = k;
        b.live = 0;
        int32_t st = dsv3_model_load(path, &p, &m, err, sizeof err);
        if (st == DSV3_OK) break;
        failures += st != DSV3_ERR_OUT_OF_MEMORY || b.live != 0 || m != NULL;
        if (k > 100) break;
    }
    CHECK(m != NULL && failures == 0, "vocabulary load under %d failing allocations", k);
    if (!m) return;
    static char text[8192];
    for (size_t i = 0; i < sizeof text; i++) text[i] = "Hello, world! 123 \xe4\xbd\xa0"[i % 21];
    int32_t *ids = (int32_t *)malloc(sizeof text * sizeof *ids);
    size_t n = 0;
    int live = b.live;
    for (int k2 = 0; k2 < 3; k2++) { /* the piece cache, then the BPE scratch, fail */
        b.remaining = k2;
        CHECK(dsv3_tokenize(m, text, sizeof text, 1, 1, ids, sizeof text, &n) == DSV3_ERR_OUT_OF_MEMORY && b.live == live,
              "tokenize with %d allocations", k2);
    }
    b.remaining = 1000;
    CHECK(dsv3_tokenize(m, text, sizeof text, 1, 1, ids, sizeof text, &n) == DSV3_OK && n > 100 && b.live == live,
          "tokenize with memory again");
    free(ids);
    dsv3_model_free(m);
    CHECK(b.live == 0, "%d allocations leaked", b.live);
}

/* ---- models without a tokenizer, bad files ---- */

static void remember_warning(void *user, int32_t level, const char *message) {
    if (level == DSV3_LOG_WARN) snprintf((char *)user, 512, "%s", message);
}

static void test_no_tokenizer(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/v3_f32.gguf", tokenizer_data_dir);
    dsv3_model *m = NULL;
    CHECK(dsv3_model_load(path, NULL, &m, err, sizeof err) == DSV3_OK, "%s", err);
    if (!m) return;
    int32_t ids[4];
    size_t n;
    char buf[8];
    CHECK(dsv3_model_has_tokenizer(m) == 0, "the tiny test models have tokens but no merges");
    CHECK(dsv3_tokenize(m, "hi", 2, 1, 1, ids, 4, &n) == DSV3_ERR_UNSUPPORTED, "tokenize without a tokenizer");
    CHECK(dsv3_token_to_piece(m, 3, 1, buf, sizeof buf, &n) == DSV3_ERR_UNSUPPORTED, "piece without a tokenizer");
    dsv3_model_free(m);
    dsv3_model_params p;
    dsv3_model_default_params(&p);
    p.vocab_only = 1;
    CHECK(dsv3_model_load(path, &p, &m, err, sizeof err) == DSV3_ERR_UNSUPPORTED && m == NULL && strstr(err, "tokenizer"),
          "vocab_only on a file without a tokenizer: %s", err);

    /* an unknown pre-tokenizer is a load error that names it */
    snprintf(path, sizeof path, "%s/deepseek-v3-vocab.gguf", tokenizer_data_dir);
    size_t size = 0;
    unsigned char *img = read_file(path, &size);
    CHECK(img != NULL, "%s", path);
    if (!img) return;
    unsigned char *hit = NULL;
    for (size_t i = 0; i + 11 <= size && !hit; i++)
        if (!memcmp(img + i, "deepseek-v3", 11) && img[i - 1] == 0) hit = img + i;
    CHECK(hit != NULL, "pre-tokenizer string found");
    if (hit) {
        memcpy(hit, "qwen-v3-xyz", 11);
        CHECK(dsv3_model_load_memory(img, size, &p, &m, err, sizeof err) == DSV3_ERR_UNSUPPORTED && strstr(err, "qwen-v3-xyz"),
              "unknown pre-tokenizer: %s", err);
        memcpy(hit, "deepseek-v3", 11);
    }
    CHECK(dsv3_model_load_memory(img, size, &p, &m, err, sizeof err) == DSV3_OK, "restored image loads: %s", err);
    dsv3_model_free(m);
    free(img);

    /* a full model whose tokenizer dsv3 cannot run still runs on token ids, and
       says why it has no tokenizer */
    snprintf(path, sizeof path, "%s/v3_f32_bpe.gguf", tokenizer_data_dir);
    img = read_file(path, &size);
    CHECK(img != NULL, "%s", path);
    if (!img) return;
    hit = NULL;
    for (size_t i = 1; i + 11 <= size && !hit; i++)
        if (!memcmp(img + i, "deepseek-v3", 11) && img[i - 1] == 0) hit = img + i;
    CHECK(hit != NULL, "pre-tokenizer string found in the bpe model");
    if (hit) {
        memcpy(hit, "qwen-v3-xyz", 11);
        dsv3_model_params full;
        dsv3_model_default_params(&full);
        char logged[512] = "";
        full.log = remember_warning;
        full.user = logged;
        CHECK(dsv3_model_load_memory(img, size, &full, &m, err, sizeof err) == DSV3_OK && m, "model loads: %s", err);
        CHECK(strstr(logged, "qwen-v3-xyz") != NULL, "the warning names the pre-tokenizer: '%s'", logged);
        CHECK(m && !dsv3_model_has_tokenizer(m), "no tokenizer");
        CHECK(m && dsv3_tokenize(m, "hi", 2, 1, 1, ids, 4, &n) == DSV3_ERR_UNSUPPORTED, "tokenize refuses");
        dsv3_context *ctx = NULL;
        const int32_t toks[] = {1, 2, 3};
        CHECK(m && dsv3_context_create(m, NULL, &ctx) == DSV3_OK && dsv3_prefill(ctx, toks, 3, NULL) == DSV3_OK,
              "it still runs on token ids");
        dsv3_context_free(ctx);
        dsv3_model_free(m);
    }
    free(img);
}

static int decode_helper(const char *path, const char *list) {
    dsv3_model_params p;
    dsv3_model_default_params(&p);
    p.vocab_only = 1;
    dsv3_model *m = NULL;
    char err[512];
    if (dsv3_model_load(path, &p, &m, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (const char *q = list; *q;) {
        char *end;
        long id = strtol(q, &end, 10);
        if (end == q || id == dsv3_model_token_eos(m)) break;
        char piece[256];
        size_t n = 0;
        if (dsv3_token_to_piece(m, (int32_t)id, 0, piece, sizeof piece, &n) == DSV3_OK) fwrite(piece, 1, n, stdout);
        q = *end == ',' ? end + 1 : end;
    }
    printf("\n");
    dsv3_model_free(m);
    return 0;
}

static double seconds(void) {
#if defined(_WIN32) /* MinGW's runtime lacks timespec_get; windows.h comes with dsv3.c */
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart / (double)f.QuadPart;
#else
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
#endif
}

/* Tokenizer throughput on ~4 MB of mixed text: the golden corpus (prose, code,
   numbers, CJK, scripts, emoji, whitespace) repeated, one string per line. */
static int bench(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/deepseek-v3-vocab.golden", tokenizer_data_dir);
    size_t size = 0;
    unsigned char *g = read_file(path, &size);
    if (!g || size < 12) return 1;
    size_t cap = 4u << 20, len = 0;
    char *text = (char *)malloc(cap);
    while (len < cap - 4096) {
        size_t pos = 12;
        for (uint32_t c = 0, n_cases = rd32(g + 8); c < n_cases && len < cap - 4096; c++) {
            uint32_t l = rd32(g + pos);
            if (l < 4000) {
                memcpy(text + len, g + pos + 4, l);
                len += l;
                text[len++] = '\n';
            }
            pos += 4 + l;
            pos += 4 + 4 * (size_t)rd32(g + pos);
            pos += 4 + 4 * (size_t)rd32(g + pos);
        }
    }
    free(g);
    static const char *const files[] = {"deepseek-v3-vocab.gguf", "deepseek-llm-vocab.gguf"};
    for (size_t f = 0; f < 2; f++) {
        double t0 = seconds();
        dsv3_model *m = load_vocab(files[f]);
        double t1 = seconds();
        if (!m) return 1;
        size_t n = 0;
        dsv3_tokenize(m, text, len, 0, 1, NULL, 0, &n);
        int32_t *ids = (int32_t *)malloc(n * sizeof *ids);
        double best_enc = 1e9, best_dec = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            double a = seconds();
            dsv3_tokenize(m, text, len, 0, 1, ids, n, &n);
            double b = seconds();
            size_t out_len = 0;
            char piece[256];
            for (size_t i = 0; i < n; i++) {
                size_t k;
                dsv3_token_to_piece(m, ids[i], 1, piece, sizeof piece, &k);
                out_len += k;
            }
            double c = seconds();
            if (b - a < best_enc) best_enc = b - a;
            if (c - b < best_dec) best_dec = c - b;
            if (out_len != len) printf("decode length differs\n");
        }
        printf("%-24s load %6.1f ms | encode %.2f MB in %zu tokens: %6.2f MB/s | decode %7.1f MB/s\n", files[f],
               (t1 - t0) * 1e3, len / 1e6, n, len / 1e6 / best_enc, len / 1e6 / best_dec);
        free(ids);
        dsv3_model_free(m);
    }
    free(text);
    return 0;
}

int main(int argc, char **argv) {
    binary_stdout(); /* test_cli.sh compares the --decode text byte for byte */
    if (argc == 4 && !strcmp(argv[1], "--decode")) return decode_helper(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "--golden")) {
        dsv3_model *m = load_vocab(argv[2]);
        if (m) test_goldens(m, argv[3]);
        dsv3_model_free(m);
        return test_summary();
    }
    if (argc >= 2 && !strcmp(argv[1], "--bench")) {
        if (argc > 2) tokenizer_data_dir = argv[2];
        return bench();
    }
    if (argc > 1) tokenizer_data_dir = argv[1];
    dsv3_model *v3 = load_vocab("deepseek-v3-vocab.gguf");
    if (v3) {
        test_reference_vectors(v3);
        test_goldens(v3, "deepseek-v3-vocab.golden");
        test_goldens(v3, "deepseek-v3-vocab.random.golden");
        test_api(v3);
        test_invalid_utf8(v3, 1);
        test_random_round_trips(v3);
        test_chat(v3);
        test_chat_turns(v3);
        test_no_quadratic(v3);
        test_cache_equivalence(v3);
    }
    dsv3_model_free(v3);
    dsv3_model *llm = load_vocab("deepseek-llm-vocab.gguf");
    if (llm) {
        test_llm_vectors(llm);
        test_goldens(llm, "deepseek-llm-vocab.golden");
        test_goldens(llm, "deepseek-llm-vocab.random.golden");
        test_invalid_utf8(llm, 0);
        test_random_round_trips(llm);
        test_no_quadratic(llm);
        test_cache_equivalence(llm);
    }
    dsv3_model_free(llm);
    test_no_tokenizer();
    test_out_of_memory();
    return test_summary();
}
