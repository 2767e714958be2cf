/* Malformed GGUF files, built in memory from the good files in tests/data.
 *
 * Included by test_dsv3.c (one translation unit: it shares the CHECK counters).
 * Every mutated image is loaded from an exact-size heap copy, so that
 * AddressSanitizer (make sanitize) reports any read past its end.
 *
 * The byte offsets of every field come from mf_walk(), a small GGUF walker
 * written for this test alone: it shares no code with the library's parser, so
 * a parser bug cannot hide the field it misreads.
 */
#include <stdint.h>


/* ---- An independent GGUF walker ------------------------------------------ */

#define MF_MAX_NAME 128

typedef struct mf_kv {
    char key[MF_MAX_NAME];
    size_t key_off;      /* the key's u64 length; its bytes follow */
    size_t key_len;
    size_t type_off;     /* u32 value type */
    uint32_t type;
    size_t value_off;    /* scalar payload, string's u64 length, or array element type */
    uint32_t elem_type;  /* arrays: element type (at value_off) ... */
    size_t count_off;    /* ... u64 element count ... */
    uint64_t count;
    size_t first_off;    /* ... and the first element */
    size_t end_off;      /* first byte after the record */
} mf_kv;

typedef struct mf_tensor {
    char name[MF_MAX_NAME];
    size_t name_off;     /* u64 length; the name follows */
    size_t name_len;
    size_t n_dims_off;
    uint32_t n_dims;
    size_t ne_off[4];
    uint64_t ne[4];
    size_t type_off;
    uint32_t type;
    size_t offset_off;
    uint64_t offset;
    uint64_t n_bytes;    /* F32/F16/BF16/Q8_0 only (what tests/data uses) */
} mf_tensor;

typedef struct mf_file {
    char name[64];
    uint8_t *bytes;
    size_t size;
    size_t version_off, n_tensors_off, n_kv_off;
    uint32_t version;
    uint64_t n_tensors, n_kv;
    mf_kv *kv;
    mf_tensor *t;
    uint64_t alignment;
    size_t header_end, data_off;
} mf_file;

typedef struct mf_reader {
    const uint8_t *p;
    size_t n, pos;
    int ok;
} mf_reader;

static uint64_t mf_get(const uint8_t *p, int width) {
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void mf_set(uint8_t *p, int width, uint64_t v) {
    for (int i = 0; i < width; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t mf_read(mf_reader *r, int width) {
    if (!r->ok || r->n - r->pos < (size_t)width) {
        r->ok = 0;
        return 0;
    }
    uint64_t v = mf_get(r->p + r->pos, width);
    r->pos += (size_t)width;
    return v;
}

/* Skips a GGUF string; copies up to MF_MAX_NAME-1 bytes of it into out (if any). */
static size_t mf_string(mf_reader *r, char *out) {
    uint64_t len = mf_read(r, 8);
    if (!r->ok || len > r->n - r->pos) {
        r->ok = 0;
        return 0;
    }
    if (out) {
        size_t k = len < MF_MAX_NAME - 1 ? (size_t)len : MF_MAX_NAME - 1;
        memcpy(out, r->p + r->pos, k);
        out[k] = '\0';
    }
    r->pos += (size_t)len;
    return (size_t)len;
}

static int mf_scalar_width(uint32_t type) {
    static const int widths[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return type < 13 ? widths[type] : 0;
}

static void mf_skip_value(mf_reader *r, uint32_t type) {
    if (type == 8) {
        mf_string(r, NULL);
        return;
    }
    int w = mf_scalar_width(type);
    if (w == 0) r->ok = 0;
    else mf_read(r, w);
}

/* Walks the header of f->bytes; 1 on success. */
static int mf_walk(mf_file *f) {
    mf_reader r = {f->bytes, f->size, 0, 1};
    if (f->size < 4 || memcmp(f->bytes, "GGUF", 4) != 0) return 0;
    r.pos = 4;
    f->version_off = r.pos;
    f->version = (uint32_t)mf_read(&r, 4);
    f->n_tensors_off = r.pos;
    f->n_tensors = mf_read(&r, 8);
    f->n_kv_off = r.pos;
    f->n_kv = mf_read(&r, 8);
    if (!r.ok || f->n_kv > 4096 || f->n_tensors > 4096) return 0;
    f->kv = (mf_kv *)calloc((size_t)f->n_kv + 1, sizeof *f->kv);
    f->t = (mf_tensor *)calloc((size_t)f->n_tensors + 1, sizeof *f->t);
    if (!f->kv || !f->t) return 0;
    f->alignment = 32;
    for (uint64_t i = 0; i < f->n_kv && r.ok; i++) {
        mf_kv *kv = &f->kv[i];
        kv->key_off = r.pos;
        kv->key_len = mf_string(&r, kv->key);
        kv->type_off = r.pos;
        kv->type = (uint32_t)mf_read(&r, 4);
        kv->value_off = r.pos;
        if (kv->type == 9) {
            kv->elem_type = (uint32_t)mf_read(&r, 4);
            kv->count_off = r.pos;
            kv->count = mf_read(&r, 8);
            kv->first_off = r.pos;
            if (kv->elem_type == 9) return 0;
            for (uint64_t j = 0; j < kv->count && r.ok; j++) mf_skip_value(&r, kv->elem_type);
        } else {
            mf_skip_value(&r, kv->type);
        }
        kv->end_off = r.pos;
        if (r.ok && strcmp(kv->key, "general.alignment") == 0 && kv->type == 4)
            f->alignment = mf_get(f->bytes + kv->value_off, 4);
    }
    for (uint64_t i = 0; i < f->n_tensors && r.ok; i++) {
        mf_tensor *t = &f->t[i];
        t->name_off = r.pos;
        t->name_len = mf_string(&r, t->name);
        t->n_dims_off = r.pos;
        t->n_dims = (uint32_t)mf_read(&r, 4);
        if (t->n_dims < 1 || t->n_dims > 4) return 0;
        uint64_t elements = 1;
        for (uint32_t d = 0; d < 4; d++) {
            t->ne[d] = 1;
            if (d < t->n_dims) {
                t->ne_off[d] = r.pos;
                t->ne[d] = mf_read(&r, 8);
            }
            elements *= t->ne[d];
        }
        t->type_off = r.pos;
        t->type = (uint32_t)mf_read(&r, 4);
        t->offset_off = r.pos;
        t->offset = mf_read(&r, 8);
        switch (t->type) {
        case 0: t->n_bytes = 4 * elements; break;
        case 1: case 30: t->n_bytes = 2 * elements; break;
        case 8: t->n_bytes = elements / 32 * 34; break;
        default: return 0;
        }
    }
    if (!r.ok || f->alignment == 0) return 0;
    f->header_end = r.pos;
    f->data_off = (r.pos + f->alignment - 1) / f->alignment * f->alignment;
    return f->data_off <= f->size;
}

static void mf_close(mf_file *f) {
    free(f->bytes);
    free(f->kv);
    free(f->t);
    memset(f, 0, sizeof *f);
}

static int mf_open(mf_file *f, const char *dir, const char *name) {
    char path[512];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f->bytes = read_file(path, &f->size);
    int ok = f->bytes && mf_walk(f);
    CHECK(ok, "malformed: cannot read or walk %s", path);
    if (!ok) mf_close(f);
    return ok;
}

static const mf_kv *mf_key(const mf_file *f, const char *key) {
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (strcmp(f->kv[i].key, key) == 0) return &f->kv[i];
    CHECK(0, "malformed: %s has no key %s", f->name, key);
    return NULL;
}

static const mf_tensor *mf_tensor_named(const mf_file *f, const char *name) {
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    CHECK(0, "malformed: %s has no tensor %s", f->name, name);
    return NULL;
}

/* ---- Images and loading ----------------------------------------------------- */

typedef struct mf_img {
    uint8_t *p;
    size_t n;
} mf_img;

/* An exact-size heap copy of the first n bytes. */
static mf_img mf_prefix(const mf_file *f, size_t n) {
    mf_img m = {(uint8_t *)malloc(n ? n : 1), n};
    if (m.p && n) memcpy(m.p, f->bytes, n);
    return m;
}

static mf_img mf_copy(const mf_file *f) { return mf_prefix(f, f->size); }

static void mf_put(mf_img *m, size_t off, int width, uint64_t v) {
    if (m->p && off + (size_t)width <= m->n) mf_set(m->p + off, width, v);
}

/* Replaces header bytes [off, off + del) by ins and re-pads the header, so that
   the data section again starts at an aligned offset: the result is a
   well-formed image unless the inserted bytes themselves are not. */
static mf_img mf_splice(const mf_file *f, size_t off, size_t del, const void *ins, size_t ins_len) {
    size_t A = (size_t)f->alignment;
    size_t header_end = f->header_end - del + ins_len;
    size_t data_off = (header_end + A - 1) / A * A;
    size_t data_len = f->size - f->data_off;
    mf_img m = {(uint8_t *)calloc(data_off + data_len ? data_off + data_len : 1, 1), data_off + data_len};
    if (!m.p) return m;
    memcpy(m.p, f->bytes, off);
    memcpy(m.p + off, ins, ins_len);
    memcpy(m.p + off + ins_len, f->bytes + off + del, f->header_end - off - del);
    memcpy(m.p + data_off, f->bytes + f->data_off, data_len);
    return m;
}

/* Builds a GGUF string (u64 length + bytes) into out; returns its size. */
static size_t mf_gguf_string(uint8_t *out, const char *s) {
    size_t n = strlen(s);
    mf_set(out, 8, n);
    memcpy(out + 8, s, n);
    return 8 + n;
}

/* The allocator of every malformed load: counts, records the largest request,
   and refuses anything over 64 MiB (no mutation of a 2 MB file needs that). */
typedef struct mf_alloc_stats {
    size_t largest;
    int live;
} mf_alloc_stats;

static void *mf_alloc(void *user, size_t size) {
    mf_alloc_stats *s = (mf_alloc_stats *)user;
    if (size > s->largest) s->largest = size;
    if (size > ((size_t)64 << 20)) return NULL;
    void *p = malloc(size);
    if (p) s->live++;
    return p;
}

static void mf_free(void *user, void *p) {
    ((mf_alloc_stats *)user)->live--;
    free(p);
}

typedef struct mf_result {
    int32_t status;
    char message[512];
    size_t largest_alloc;
    int leaked;
} mf_result;

/* Loads the image (then frees the model and the image). */
static mf_result mf_load(mf_img m) {
    mf_result r;
    memset(&r, 0, sizeof r);
    if (!m.p) {
        r.status = DSV3_ERR_OUT_OF_MEMORY;
        snprintf(r.message, sizeof r.message, "test could not allocate the image");
        return r;
    }
    mf_alloc_stats stats = {0, 0};
    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    mp.alloc = mf_alloc;
    mp.free_fn = mf_free;
    mp.user = &stats;
    dsv3_model *model = NULL;
    r.status = dsv3_model_load_memory(m.p, m.n, &mp, &model, r.message, sizeof r.message);
    if (r.status != DSV3_OK && model) r.leaked = 1; /* *out_model must be NULL on failure */
    dsv3_model_free(model);
    r.largest_alloc = stats.largest;
    r.leaked |= stats.live != 0;
    free(m.p);
    return r;
}

/* Loads the image and checks the status and that the message contains each
   needle (NULL: none). */
static void mf_expect(const char *file, const char *what, mf_img m, int32_t want, const char *needle1,
                      const char *needle2) {
    mf_result r = mf_load(m);
    int named = (!needle1 || strstr(r.message, needle1)) && (!needle2 || strstr(r.message, needle2));
    CHECK(r.status == want && named && !r.leaked && r.largest_alloc <= ((size_t)4 << 20),
          "%s, %s: got %d (%s) \"%s\" [largest allocation %zu%s]; want %d (%s) naming \"%s\"%s%s%s", file, what,
          (int)r.status, dsv3_status_string(r.status), r.message, r.largest_alloc, r.leaked ? ", leaked" : "",
          (int)want, dsv3_status_string(want), needle1 ? needle1 : "", needle2 ? " and \"" : "",
          needle2 ? needle2 : "", needle2 ? "\"" : "");
}

/* One in-place field change of an otherwise intact copy. */
static void mf_expect_put(const mf_file *f, const char *what, size_t off, int width, uint64_t v, int32_t want,
                          const char *needle1, const char *needle2) {
    mf_img m = mf_copy(f);
    mf_put(&m, off, width, v);
    mf_expect(f->name, what, m, want, needle1, needle2);
}

/* Replaces one byte of a key or tensor name (keeps the length). */
static void mf_expect_rename(const mf_file *f, const char *what, size_t str_off, size_t index, char c, int32_t want,
                             const char *needle1, const char *needle2) {
    mf_expect_put(f, what, str_off + 8 + index, 1, (uint8_t)c, want, needle1, needle2);
}

/* ---- Truncation ------------------------------------------------------------- */

static int mf_truncation_message_ok(const char *msg) {
    return strstr(msg, "past the end") || strstr(msg, "truncated") || strstr(msg, "outside the file") ||
           strstr(msg, "more than the file holds") || strstr(msg, "bad magic");
}

/* Loads the first n bytes for every n in [from, to) stepping by `step`: each must
   fail with BAD_FILE and a message that says the file ends early. One CHECK per
   run, reporting the first length that misbehaved. */
static void mf_truncations(const mf_file *f, const char *region, size_t from, size_t to, size_t step) {
    size_t count = 0, bad = 0, first_bad = 0;
    mf_result first;
    memset(&first, 0, sizeof first);
    if (to > f->size) to = f->size; /* the whole file is not a truncation */
    for (size_t n = from; n < to; n += step) {
        mf_result r = mf_load(mf_prefix(f, n));
        count++;
        if (r.status != DSV3_ERR_BAD_FILE || !mf_truncation_message_ok(r.message) || r.leaked ||
            r.largest_alloc > ((size_t)4 << 20)) {
            if (!bad++) {
                first = r;
                first_bad = n;
            }
        }
    }
    CHECK(bad == 0 && count > 0,
          "%s truncated in the %s (%zu lengths): %zu misbehave; first at %zu bytes: %d (%s) \"%s\" [alloc %zu]",
          f->name, region, count, bad, first_bad, (int)first.status, dsv3_status_string(first.status),
          first.message, first.largest_alloc);
}

/* Cuts every tensor's data one byte short (in file order, so earlier tensors are
   whole): the error must name exactly that tensor. */
static void mf_tensor_end_truncations(const mf_file *f) {
    size_t count = 0, bad = 0;
    const char *first_name = "";
    mf_result first;
    memset(&first, 0, sizeof first);
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const mf_tensor *t = &f->t[i];
        size_t end = f->data_off + (size_t)t->offset + (size_t)t->n_bytes;
        int later_first = 0; /* skip tensors whose data precedes an earlier record's */
        for (uint64_t j = 0; j < i; j++) later_first |= f->t[j].offset > t->offset;
        if (later_first || end > f->size) continue;
        mf_result r = mf_load(mf_prefix(f, end - 1));
        char quoted[MF_MAX_NAME + 2];
        snprintf(quoted, sizeof quoted, "'%s'", t->name);
        count++;
        if (r.status != DSV3_ERR_BAD_FILE || !strstr(r.message, quoted) || !strstr(r.message, "outside") || r.leaked)
            if (!bad++) {
                first = r;
                first_name = t->name;
            }
    }
    CHECK(bad == 0 && count == f->n_tensors, "%s cut 1 byte short of a tensor's end (%zu of %llu tensors): %zu misbehave; "
          "first %s: %d \"%s\"", f->name, count, (unsigned long long)f->n_tensors, bad, first_name, (int)first.status,
          first.message);
}

static void mf_truncation_suite(const mf_file *f, size_t header_step, size_t data_step) {
    size_t header_to = f->data_off + 64;
    mf_truncations(f, "header", 0, header_to, header_step);
    if (header_to < f->size) mf_truncations(f, "data", header_to, f->size, data_step);
    mf_truncations(f, "last 64 bytes", f->size > 64 ? f->size - 64 : 0, f->size, 1);
    mf_tensor_end_truncations(f);
}

/* ---- Cases ------------------------------------------------------------------ */

static void mf_header_cases(const mf_file *f) {
    const char *F = f->name;
    /* Controls: the pristine image and an identity splice load; a longer
       general.name (re-padded header) still loads, so splices below are valid. */
    mf_expect(F, "pristine copy", mf_copy(f), DSV3_OK, NULL, NULL);
    mf_expect(F, "identity splice", mf_splice(f, f->header_end, 0, "", 0), DSV3_OK, NULL, NULL);
    const mf_kv *name = mf_key(f, "general.name");
    if (name) {
        uint8_t s[128];
        size_t n = mf_gguf_string(s, "a considerably longer general.name value, 61 bytes in total..");
        mf_expect(F, "longer general.name (re-padded)", mf_splice(f, name->value_off, name->end_off - name->value_off, s, n),
                  DSV3_OK, NULL, NULL);
    }

    mf_expect_put(f, "magic GGUX", 3, 1, 'X', DSV3_ERR_BAD_FILE, "magic", NULL);
    mf_expect_put(f, "magic lower-case", 0, 4, 0x66756767u, DSV3_ERR_BAD_FILE, "magic", NULL);
    mf_expect_put(f, "version 1", f->version_off, 4, 1, DSV3_ERR_UNSUPPORTED, "version 1", NULL);
    mf_expect_put(f, "version 0", f->version_off, 4, 0, DSV3_ERR_UNSUPPORTED, "version 0", NULL);
    mf_expect_put(f, "version 4", f->version_off, 4, 4, DSV3_ERR_UNSUPPORTED, "version 4", NULL);
    mf_expect_put(f, "byte-swapped version 3", f->version_off, 4, 0x03000000u, DSV3_ERR_UNSUPPORTED, "big-endian",
                  NULL);
    mf_expect_put(f, "n_kv 2^60", f->n_kv_off, 8, (uint64_t)1 << 60, DSV3_ERR_BAD_FILE, "metadata keys", NULL);
    mf_expect_put(f, "n_kv 2^64-1", f->n_kv_off, 8, UINT64_MAX, DSV3_ERR_BAD_FILE, "metadata keys", NULL);
    mf_expect_put(f, "n_tensors 2^60", f->n_tensors_off, 8, (uint64_t)1 << 60, DSV3_ERR_BAD_FILE, "tensors", NULL);
    mf_expect_put(f, "n_tensors 2^64-1", f->n_tensors_off, 8, UINT64_MAX, DSV3_ERR_BAD_FILE, "tensors", NULL);
    /* one key more than there is: the tensor infos are read as a key */
    mf_expect_put(f, "n_kv + 1", f->n_kv_off, 8, f->n_kv + 1, DSV3_ERR_BAD_FILE, NULL, NULL);
    /* one key fewer: the last key is read as a tensor info (whatever the status, no crash) */
    {
        mf_img m = mf_copy(f);
        mf_put(&m, f->n_kv_off, 8, f->n_kv - 1);
        mf_result r = mf_load(m);
        CHECK(r.status != DSV3_OK && !r.leaked, "%s, n_kv - 1: got %d \"%s\"", F, (int)r.status, r.message);
        m = mf_copy(f);
        mf_put(&m, f->n_tensors_off, 8, f->n_tensors + 1);
        r = mf_load(m);
        CHECK(r.status == DSV3_ERR_BAD_FILE && !r.leaked, "%s, n_tensors + 1: got %d \"%s\"", F, (int)r.status,
              r.message);
        m = mf_copy(f);
        mf_put(&m, f->n_tensors_off, 8, f->n_tensors - 1);
        r = mf_load(m);
        CHECK(r.status != DSV3_OK && !r.leaked, "%s, n_tensors - 1: got %d \"%s\"", F, (int)r.status, r.message);
    }

    /* String lengths past the end: just one byte past, and absurd. */
    const mf_kv *k0 = &f->kv[0];
    size_t rest = f->size - (k0->key_off + 8);
    mf_expect_put(f, "first key's length 1 byte past the end", k0->key_off, 8, rest + 1, DSV3_ERR_BAD_FILE,
                  "metadata key", "past the end");
    mf_expect_put(f, "first key's length 2^63", k0->key_off, 8, (uint64_t)1 << 63, DSV3_ERR_BAD_FILE,
                  "metadata key", "past the end");
    mf_expect_put(f, "first key's length 2^64-1", k0->key_off, 8, UINT64_MAX, DSV3_ERR_BAD_FILE, "metadata key",
                  "past the end");
    const mf_kv *arch = mf_key(f, "general.architecture");
    if (arch) {
        mf_expect_put(f, "architecture string length past the end", arch->value_off, 8,
                      f->size - (arch->value_off + 8) + 1, DSV3_ERR_BAD_FILE, "general.architecture", "past the end");
        mf_expect_put(f, "architecture string length 2^64-1", arch->value_off, 8, UINT64_MAX, DSV3_ERR_BAD_FILE,
                      "general.architecture", "past the end");
        /* the string swallows the rest of the file exactly: the next read fails */
        mf_expect_put(f, "architecture string to the end of the file", arch->value_off, 8,
                      f->size - (arch->value_off + 8), DSV3_ERR_BAD_FILE, "past the end", NULL);
        mf_expect_put(f, "architecture type 13", arch->type_off, 4, 13, DSV3_ERR_BAD_FILE, "general.architecture",
                      "unknown value type 13");
        mf_expect_put(f, "architecture type 99", arch->type_off, 4, 99, DSV3_ERR_BAD_FILE, "general.architecture",
                      "unknown value type 99");
        mf_expect_put(f, "architecture type 2^31", arch->type_off, 4, 0x80000000u, DSV3_ERR_BAD_FILE,
                      "general.architecture", "unknown value type");
    }
    const mf_kv *tokens = mf_key(f, "tokenizer.ggml.tokens");
    if (tokens) {
        mf_expect_put(f, "first token string length past the end", tokens->first_off, 8,
                      f->size - (tokens->first_off + 8) + 1, DSV3_ERR_BAD_FILE, "tokenizer.ggml.tokens",
                      "past the end");
        mf_expect_put(f, "first token string length 2^62", tokens->first_off, 8, (uint64_t)1 << 62,
                      DSV3_ERR_BAD_FILE, "tokenizer.ggml.tokens", "past the end");
        mf_expect_put(f, "token count 2^60", tokens->count_off, 8, (uint64_t)1 << 60, DSV3_ERR_BAD_FILE,
                      "tokenizer.ggml.tokens", "past the end");
        mf_expect_put(f, "token array element type 13", tokens->value_off, 4, 13, DSV3_ERR_BAD_FILE,
                      "tokenizer.ggml.tokens", "unknown array element type 13");
        mf_expect_put(f, "nested array (element type ARRAY)", tokens->value_off, 4, 9, DSV3_ERR_UNSUPPORTED,
                      "tokenizer.ggml.tokens", "nested");
    }
    const mf_kv *types = mf_key(f, "tokenizer.ggml.token_type");
    if (types) {
        mf_expect_put(f, "token_type element type 99", types->value_off, 4, 99, DSV3_ERR_BAD_FILE,
                      "tokenizer.ggml.token_type", "unknown array element type 99");
        mf_expect_put(f, "token_type count 2^62 (bytes overflow)", types->count_off, 8, (uint64_t)1 << 62,
                      DSV3_ERR_BAD_FILE, "tokenizer.ggml.token_type", "past the end");
        mf_expect_put(f, "token_type count 2^61", types->count_off, 8, (uint64_t)1 << 61, DSV3_ERR_BAD_FILE,
                      "tokenizer.ggml.token_type", "past the end");
        /* i32 elements read as i64: the array runs over the following records */
        mf_result r;
        mf_img m = mf_copy(f);
        mf_put(&m, types->value_off, 4, 11);
        r = mf_load(m);
        CHECK(r.status != DSV3_OK && !r.leaked, "%s, token_type as i64: got %d \"%s\"", F, (int)r.status, r.message);
    }

    /* Tensor infos. */
    const mf_tensor *t0 = &f->t[0];
    mf_expect_put(f, "tensor name length past the end", t0->name_off, 8, f->size - (t0->name_off + 8) + 1,
                  DSV3_ERR_BAD_FILE, "tensor info 0", "past the end");
    mf_expect_put(f, "tensor name length 2^64-1", t0->name_off, 8, UINT64_MAX, DSV3_ERR_BAD_FILE, "tensor info 0",
                  "past the end");
    {
        /* ggml's limit: names of 64 bytes and more are refused; 63 is fine (and
           then token_embd.weight is missing) */
        char long_name[65];
        uint8_t s[80];
        memset(long_name, 'n', 64);
        long_name[64] = '\0';
        size_t n = mf_gguf_string(s, long_name);
        mf_expect(F, "tensor name of 64 bytes", mf_splice(f, t0->name_off, 8 + t0->name_len, s, n), DSV3_ERR_BAD_FILE,
                  "limit 63", NULL);
        long_name[63] = '\0';
        n = mf_gguf_string(s, long_name);
        mf_expect(F, "tensor name of 63 bytes", mf_splice(f, t0->name_off, 8 + t0->name_len, s, n),
                  DSV3_ERR_BAD_MODEL, "token_embd.weight", "missing");
    }
    mf_expect_put(f, "n_dims 0", t0->n_dims_off, 4, 0, DSV3_ERR_BAD_FILE, t0->name, "dimensions");
    mf_expect_put(f, "n_dims 5", t0->n_dims_off, 4, 5, DSV3_ERR_BAD_FILE, t0->name, "dimensions");
    mf_expect_put(f, "n_dims 2^32-1", t0->n_dims_off, 4, UINT32_MAX, DSV3_ERR_BAD_FILE, t0->name, "dimensions");
    mf_expect_put(f, "ne[1] 0", t0->ne_off[1], 8, 0, DSV3_ERR_BAD_FILE, t0->name, "invalid shape");
    mf_expect_put(f, "ne[0] 2^63", t0->ne_off[0], 8, (uint64_t)1 << 63, DSV3_ERR_BAD_FILE, t0->name,
                  "invalid shape");
    mf_expect_put(f, "ne[1] 2^62 (element count overflows)", t0->ne_off[1], 8, (uint64_t)1 << 62, DSV3_ERR_BAD_FILE,
                  t0->name, NULL);
    mf_expect_put(f, "ne[1] 2^40 (data past the end)", t0->ne_off[1], 8, (uint64_t)1 << 40, DSV3_ERR_BAD_FILE,
                  t0->name, "outside");
    mf_expect_put(f, "tensor type 99", t0->type_off, 4, 99, DSV3_ERR_UNSUPPORTED, t0->name, "type 99");
    mf_expect_put(f, "tensor type 4 (Q4_2, removed)", t0->type_off, 4, 4, DSV3_ERR_UNSUPPORTED, t0->name, "Q4_2");
    mf_expect_put(f, "tensor type 33 (Q4_0_8_8, removed)", t0->type_off, 4, 33, DSV3_ERR_UNSUPPORTED, t0->name,
                  "type 33");
    mf_expect_put(f, "tensor type 2^32-1", t0->type_off, 4, UINT32_MAX, DSV3_ERR_UNSUPPORTED, t0->name, NULL);
    /* Offsets: misaligned, past the end, overflowing. The last tensor holds the
       last bytes, so any push of its offset lands outside. */
    const mf_tensor *tl = &f->t[f->n_tensors - 1];
    const mf_tensor *t1 = &f->t[1];
    mf_expect_put(f, "misaligned offset (+4)", t1->offset_off, 8, t1->offset + 4, DSV3_ERR_BAD_FILE, t1->name,
                  "not aligned");
    mf_expect_put(f, "misaligned offset (+alignment/2)", t1->offset_off, 8, t1->offset + f->alignment / 2,
                  DSV3_ERR_BAD_FILE, t1->name, "not aligned");
    {
        uint64_t end = f->data_off + tl->offset + tl->n_bytes; /* <= size */
        uint64_t push = (f->size - end + f->alignment) / f->alignment * f->alignment;
        mf_expect_put(f, "last tensor pushed just past the end", tl->offset_off, 8, tl->offset + push,
                      DSV3_ERR_BAD_FILE, tl->name, "outside");
    }
    mf_expect_put(f, "offset 2^62", tl->offset_off, 8, (uint64_t)1 << 62, DSV3_ERR_BAD_FILE, tl->name, "outside");
    mf_expect_put(f, "offset 2^64-alignment (start overflows)", tl->offset_off, 8, (uint64_t)0 - f->alignment,
                  DSV3_ERR_BAD_FILE, tl->name, "outside");
    {
        /* data_offset + offset fits, + size overflows */
        uint64_t off = (UINT64_MAX - f->data_off - tl->n_bytes / 2) / f->alignment * f->alignment;
        mf_expect_put(f, "offset + size overflows uint64", tl->offset_off, 8, off, DSV3_ERR_BAD_FILE, tl->name,
                      "outside");
    }
}

/* Cases specific to v3_f32 (F32, GGUF v3, general.alignment = 32 as key 0). */
static void mf_v3_f32_cases(const mf_file *f) {
    const char *F = f->name;
    const mf_kv *al = mf_key(f, "general.alignment");
    if (al) {
        mf_expect_put(f, "alignment 0", al->value_off, 4, 0, DSV3_ERR_BAD_FILE, "general.alignment", NULL);
        mf_expect_put(f, "alignment 3", al->value_off, 4, 3, DSV3_ERR_BAD_FILE, "general.alignment", "power of two");
        mf_expect_put(f, "alignment 48", al->value_off, 4, 48, DSV3_ERR_BAD_FILE, "general.alignment",
                      "power of two");
        mf_expect_put(f, "alignment 2^31", al->value_off, 4, 0x80000000u, DSV3_ERR_BAD_FILE, NULL, NULL);
        mf_expect_put(f, "alignment as i32", al->type_off, 4, 5, DSV3_ERR_BAD_FILE, "general.alignment", "u32");
        mf_expect_put(f, "alignment as f32", al->type_off, 4, 6, DSV3_ERR_BAD_FILE, "general.alignment", "u32");
        {
            uint8_t v[12];
            mf_set(v, 4, 10); /* u64 */
            mf_set(v + 4, 8, 32);
            mf_expect(F, "alignment as u64", mf_splice(f, al->type_off, 8, v, 12), DSV3_ERR_BAD_FILE,
                      "general.alignment", "u32");
        }
        /* alignment 16: the tensor offsets (multiples of 32) stay aligned, but the
           data section moves to a 16-aligned start: either way, never a crash */
        mf_img m = mf_copy(f);
        mf_put(&m, al->value_off, 4, 16);
        mf_result r = mf_load(m);
        CHECK(!r.leaked && (r.status == DSV3_OK || r.status == DSV3_ERR_BAD_FILE), "%s, alignment 16: %d \"%s\"", F,
              (int)r.status, r.message);
    }
    const mf_kv *norm = mf_key(f, "deepseek2.expert_weights_norm");
    if (norm) {
        mf_expect_put(f, "bool value 2", norm->value_off, 1, 2, DSV3_ERR_BAD_FILE, "deepseek2.expert_weights_norm",
                      "bool");
        mf_expect_put(f, "bool value 255", norm->value_off, 1, 255, DSV3_ERR_BAD_FILE,
                      "deepseek2.expert_weights_norm", "bool");
    }
    const mf_kv *arch = mf_key(f, "general.architecture");
    if (arch) {
        size_t s = arch->value_off + 8; /* "deepseek2" */
        mf_expect_rename(f, "architecture deepseek4", arch->value_off, 8, '4', DSV3_ERR_UNSUPPORTED, "deepseek4",
                         "not supported");
        mf_img m = mf_copy(f);
        if (m.p) memset(m.p + s, 'x', 9);
        mf_expect(F, "architecture xxxxxxxxx", m, DSV3_ERR_UNSUPPORTED, "xxxxxxxxx", "not supported");
        mf_expect_rename(f, "general.architecture renamed (missing)", arch->key_off, arch->key_len - 1, 'X',
                         DSV3_ERR_BAD_MODEL, "general.architecture", "missing");
        uint8_t v[8];
        mf_set(v, 4, 4); /* u32 2 */
        mf_set(v + 4, 4, 2);
        mf_expect(F, "general.architecture as u32", mf_splice(f, arch->type_off, arch->end_off - arch->type_off, v, 8),
                  DSV3_ERR_BAD_MODEL, "general.architecture", "string");
        uint8_t longer[32];
        size_t n = mf_gguf_string(longer, "deepseek2x");
        mf_expect(F, "architecture deepseek2x", mf_splice(f, arch->value_off, arch->end_off - arch->value_off, longer, n),
                  DSV3_ERR_UNSUPPORTED, "deepseek2x", NULL);
    }
    const mf_kv *scaling = mf_key(f, "deepseek2.rope.scaling.type");
    if (scaling)
        mf_expect_rename(f, "rope scaling type yawn", scaling->value_off, 2, 'w', DSV3_ERR_UNSUPPORTED, "yawn", NULL);

    /* Tensor mutations. */
    const mf_tensor *t = mf_tensor_named(f, "blk.1.attn_norm.weight");
    if (t) /* 'blk.1.' -> 'blk.0.': the same name as an earlier tensor */
        mf_expect_rename(f, "duplicate tensor name", t->name_off, 4, '0', DSV3_ERR_BAD_FILE, "blk.0.attn_norm.weight",
                         "twice");
    t = mf_tensor_named(f, "output_norm.weight");
    if (t) {
        mf_expect_rename(f, "output_norm.weight renamed (missing)", t->name_off, 10, 'X', DSV3_ERR_BAD_MODEL,
                         "'output_norm.weight'", "missing");
        /* 64 F32 (256 bytes) as MXFP4: 2 blocks of 17 bytes, a known type that
           gguf.md says to recognise and reject */
        mf_expect_put(f, "norm as MXFP4 (not implemented)", t->type_off, 4, 39, DSV3_ERR_UNSUPPORTED,
                      "output_norm.weight", "MXFP4");
        /* IQ4_NL is read: llama-quantize's fallback in Q2_K/Q3_K files */
        mf_expect_put(f, "norm as IQ4_NL (valid)", t->type_off, 4, 20, DSV3_OK, NULL, NULL);
        mf_expect_put(f, "norm as Q8_1 (activation type)", t->type_off, 4, 9, DSV3_ERR_UNSUPPORTED,
                      "output_norm.weight", "Q8_1");
        /* 64 is not a multiple of Q4_K's 256: a corrupt shape, not a missing feature */
        mf_expect_put(f, "norm as Q4_K (row not a block multiple)", t->type_off, 4, 12, DSV3_ERR_BAD_FILE,
                      "output_norm.weight", "block size");
        mf_expect_put(f, "norm as IQ2_XXS (row not a block multiple)", t->type_off, 4, 16, DSV3_ERR_BAD_FILE,
                      "output_norm.weight", "block size");
        /* F32 -> BF16 halves the size: loads fine, just different numbers */
        mf_expect_put(f, "norm as BF16 (valid)", t->type_off, 4, 30, DSV3_OK, NULL, NULL);
    }
    t = mf_tensor_named(f, "blk.2.ffn_down_exps.weight");
    if (t)
        mf_expect_rename(f, "blk.2.ffn_down_exps.weight renamed", t->name_off, 6, 'X', DSV3_ERR_BAD_MODEL,
                         "'blk.2.ffn_down_exps.weight'", "missing");
    t = mf_tensor_named(f, "blk.0.attn_q_b.weight");
    if (t)
        mf_expect_rename(f, "blk.0.attn_q_b.weight renamed", t->name_off, 6, 'X', DSV3_ERR_BAD_MODEL, "attn_q",
                         "missing");
    t = mf_tensor_named(f, "token_embd.weight");
    if (t)
        mf_expect_rename(f, "token_embd.weight renamed", t->name_off, 0, 'X', DSV3_ERR_BAD_MODEL, "token_embd.weight",
                         "missing");
    t = mf_tensor_named(f, "blk.0.attn_kv_a_mqa.weight");
    if (t) { /* (64, 48) -> (48, 64): the same bytes, the wrong orientation */
        mf_img m = mf_copy(f);
        mf_put(&m, t->ne_off[0], 8, t->ne[1]);
        mf_put(&m, t->ne_off[1], 8, t->ne[0]);
        mf_expect(F, "attn_kv_a_mqa ne swapped", m, DSV3_ERR_BAD_MODEL, "blk.0.attn_kv_a_mqa.weight", "expected ne");
        /* (64, 48) -> (64, 24, 2): same element count, an extra dimension */
        uint8_t dims[28];
        mf_set(dims, 4, 3);
        mf_set(dims + 4, 8, 64);
        mf_set(dims + 12, 8, 24);
        mf_set(dims + 20, 8, 2);
        mf_expect(F, "attn_kv_a_mqa reshaped to 3-D", mf_splice(f, t->n_dims_off, t->type_off - t->n_dims_off, dims, 28),
                  DSV3_ERR_BAD_MODEL, "blk.0.attn_kv_a_mqa.weight", "expected ne");
    }
    t = mf_tensor_named(f, "blk.1.exp_probs_b.bias");
    if (t)
        mf_expect_rename(f, "first MoE layer without exp_probs_b, later with", t->name_off, 6, 'X', DSV3_ERR_BAD_MODEL,
                         "exp_probs_b", NULL);

    /* Hyperparameters inconsistent with the tensors or each other. */
    struct {
        const char *key, *what;
        uint64_t value;
        int32_t want;
        const char *needle1, *needle2;
    } hp[] = {
        {"deepseek2.attention.key_length_mla", "key_length_mla 41", 41, DSV3_ERR_BAD_MODEL, "key_length_mla", NULL},
        {"deepseek2.attention.value_length_mla", "value_length_mla 21", 21, DSV3_ERR_BAD_MODEL, "value_length_mla",
         NULL},
        {"deepseek2.attention.key_length", "key_length 47", 47, DSV3_ERR_BAD_MODEL, "key_length", NULL},
        {"deepseek2.attention.value_length", "value_length 31", 31, DSV3_ERR_BAD_MODEL, "value_length", NULL},
        {"deepseek2.attention.head_count", "head_count 3", 3, DSV3_ERR_BAD_MODEL, "3 heads", NULL},
        {"deepseek2.attention.head_count", "head_count 5", 5, DSV3_ERR_BAD_MODEL, "key_length_mla", NULL},
        {"deepseek2.attention.head_count", "head_count 0", 0, DSV3_ERR_BAD_MODEL, "head_count 0", NULL},
        {"deepseek2.attention.head_count", "head_count 2", 2, DSV3_ERR_BAD_MODEL, NULL, NULL},
        {"deepseek2.expert_count", "expert_count 15", 15, DSV3_ERR_BAD_MODEL, "expert groups", NULL},
        {"deepseek2.expert_count", "expert_count 8", 8, DSV3_ERR_BAD_MODEL, "ffn_gate_inp", "expected ne"},
        {"deepseek2.expert_count", "expert_count 0", 0, DSV3_ERR_BAD_MODEL, "expert_count 0", NULL},
        {"deepseek2.expert_used_count", "expert_used_count 17", 17, DSV3_ERR_BAD_MODEL, "expert_used_count", NULL},
        {"deepseek2.expert_used_count", "expert_used_count 9 (> 2 groups of 4)", 9, DSV3_ERR_BAD_MODEL,
         "expert groups", NULL},
        {"deepseek2.expert_group_count", "expert_group_count 3", 3, DSV3_ERR_BAD_MODEL, "expert groups", NULL},
        {"deepseek2.expert_group_used_count", "expert_group_used_count 5", 5, DSV3_ERR_BAD_MODEL, "expert groups",
         NULL},
        {"deepseek2.expert_feed_forward_length", "expert_feed_forward_length 33", 33, DSV3_ERR_BAD_MODEL,
         "ffn_gate_exps", "expected ne"},
        {"deepseek2.feed_forward_length", "feed_forward_length 95", 95, DSV3_ERR_BAD_MODEL, "blk.0.ffn_gate.weight",
         "expected ne"},
        {"deepseek2.embedding_length", "embedding_length 32", 32, DSV3_ERR_BAD_MODEL, "token_embd.weight",
         "expected ne"},
        {"deepseek2.attention.kv_lora_rank", "kv_lora_rank 31", 31, DSV3_ERR_BAD_MODEL, "key_length", NULL},
        {"deepseek2.attention.q_lora_rank", "q_lora_rank 47", 47, DSV3_ERR_BAD_MODEL, "q_lora_rank", NULL},
        {"deepseek2.rope.dimension_count", "rope dimension 15 (odd)", 15, DSV3_ERR_BAD_MODEL, "rope dimension", NULL},
        {"deepseek2.rope.dimension_count", "rope dimension 0", 0, DSV3_ERR_BAD_MODEL, "rope dimension", NULL},
        {"deepseek2.block_count", "block_count 4 (blk.3 missing)", 4, DSV3_ERR_BAD_MODEL, "blk.3.", "missing"},
        {"deepseek2.block_count", "block_count 0", 0, DSV3_ERR_BAD_MODEL, "block_count 0", NULL},
        {"deepseek2.leading_dense_block_count", "leading_dense_block_count 4", 4, DSV3_ERR_BAD_MODEL,
         "leading_dense_block_count", NULL},
        {"deepseek2.leading_dense_block_count", "leading_dense_block_count 2", 2, DSV3_ERR_BAD_MODEL,
         "blk.1.ffn_gate.weight", "missing"},
        {"deepseek2.leading_dense_block_count", "leading_dense_block_count 0", 0, DSV3_ERR_BAD_MODEL,
         "blk.0.ffn_gate_inp.weight", "missing"},
        {"deepseek2.vocab_size", "vocab_size 321", 321, DSV3_ERR_BAD_MODEL, "vocab_size", NULL},
        {"deepseek2.expert_gating_func", "expert_gating_func 3", 3, DSV3_ERR_UNSUPPORTED, "expert_gating_func", NULL},
        {"deepseek2.rope.scaling.original_context_length", "YaRN without original context", 0, DSV3_ERR_BAD_MODEL,
         "original_context_length", NULL},
    };
    for (size_t i = 0; i < sizeof hp / sizeof hp[0]; i++) {
        const mf_kv *kv = mf_key(f, hp[i].key);
        if (kv) mf_expect_put(f, hp[i].what, kv->value_off, 4, hp[i].value, hp[i].want, hp[i].needle1, hp[i].needle2);
    }
    const mf_kv *base = mf_key(f, "deepseek2.rope.freq_base");
    if (base) {
        mf_expect_put(f, "rope.freq_base NaN", base->value_off, 4, 0x7FC00000u, DSV3_ERR_BAD_MODEL,
                      "deepseek2.rope.freq_base", "finite");
        mf_expect_put(f, "rope.freq_base 0.5", base->value_off, 4, 0x3F000000u, DSV3_ERR_BAD_MODEL, "freq_base",
                      NULL);
    }
    const mf_kv *eps = mf_key(f, "deepseek2.attention.layer_norm_rms_epsilon");
    if (eps)
        mf_expect_put(f, "rms epsilon -1", eps->value_off, 4, 0xBF800000u, DSV3_ERR_BAD_MODEL, "epsilon", NULL);

    const mf_kv *kv = mf_key(f, "deepseek2.block_count");
    if (kv) {
        mf_expect_rename(f, "block_count renamed (missing)", kv->key_off, kv->key_len - 1, 'X', DSV3_ERR_BAD_MODEL,
                         "deepseek2.block_count", "missing");
        uint8_t v[16];
        mf_set(v, 4, 8); /* string "3" */
        size_t n = 4 + mf_gguf_string(v + 4, "3");
        mf_expect(F, "block_count as a string", mf_splice(f, kv->type_off, 8, v, n), DSV3_ERR_BAD_MODEL,
                  "deepseek2.block_count", "string");
        mf_expect_put(f, "block_count as f32", kv->type_off, 4, 6, DSV3_ERR_BAD_MODEL, "deepseek2.block_count",
                      "integer");
        mf_expect_put(f, "block_count as i32 (accepted)", kv->type_off, 4, 5, DSV3_OK, NULL, NULL);
        uint8_t w[12];
        mf_set(w, 4, 10); /* u64 3: any integer width is accepted */
        mf_set(w + 4, 8, 3);
        mf_expect(F, "block_count as u64 (accepted)", mf_splice(f, kv->type_off, 8, w, 12), DSV3_OK, NULL, NULL);
        mf_set(w, 4, 11); /* i64 -3 */
        mf_set(w + 4, 8, (uint64_t)-3);
        mf_expect(F, "block_count i64 -3", mf_splice(f, kv->type_off, 8, w, 12), DSV3_ERR_BAD_MODEL,
                  "deepseek2.block_count", "out of range");
        mf_set(w, 4, 10); /* u64 2^32 */
        mf_set(w + 4, 8, (uint64_t)1 << 32);
        mf_expect(F, "block_count u64 2^32", mf_splice(f, kv->type_off, 8, w, 12), DSV3_ERR_BAD_MODEL,
                  "deepseek2.block_count", "out of range");
    }
    kv = mf_key(f, "tokenizer.ggml.padding_token_id");
    if (kv) /* out-of-vocabulary special ids are ignored, not fatal */
        mf_expect_put(f, "padding id 320 (ignored)", kv->value_off, 4, 320, DSV3_OK, NULL, NULL);
}

/* v3_legacy_bf16: general.alignment 64 and the legacy attn_kv_b layout. */
static void mf_legacy_cases(const mf_file *f) {
    const mf_tensor *t = &f->t[1];
    mf_expect_put(f, "offset aligned to 32 but not 64", t->offset_off, 8, t->offset + 32, DSV3_ERR_BAD_FILE, t->name,
                  "aligned to 64");
    t = mf_tensor_named(f, "blk.0.attn_kv_b.weight");
    if (t) { /* (48, 120) -> (48, 119): 119 outputs do not split into 3 heads */
        mf_expect_put(f, "attn_kv_b outputs not a multiple of heads", t->ne_off[1], 8, 119, DSV3_ERR_BAD_MODEL,
                      "attn_kv_b", "heads");
        mf_expect_rename(f, "attn_kv_b missing", t->name_off, 6, 'X', DSV3_ERR_BAD_MODEL, "attn_kv_b", "missing");
    }
    const mf_kv *kv = mf_key(f, "deepseek2.attention.head_count");
    if (kv) mf_expect_put(f, "head_count 5", kv->value_off, 4, 5, DSV3_ERR_BAD_MODEL, "5 heads", NULL);
}

/* v2lite_f16: GGUF v2, extra keys of every value type. */
static void mf_v2_cases(const mf_file *f) {
    mf_expect_put(f, "v2 as version 1", f->version_off, 4, 1, DSV3_ERR_UNSUPPORTED, "version 1", NULL);
    mf_expect_put(f, "v2 byte-swapped", f->version_off, 4, 0x02000000u, DSV3_ERR_UNSUPPORTED, "big-endian", NULL);
    mf_expect_put(f, "v2 as v3 (same layout)", f->version_off, 4, 3, DSV3_OK, NULL, NULL);
    const mf_kv *kv = mf_key(f, "dsv3test.bools");
    if (kv) {
        mf_expect_put(f, "bool array element 2", kv->first_off + 1, 1, 2, DSV3_ERR_BAD_FILE, "dsv3test.bools",
                      "bool element 1");
        mf_expect_put(f, "bool array count past the end", kv->count_off, 8, f->size, DSV3_ERR_BAD_FILE,
                      "dsv3test.bools", "past the end");
    }
    kv = mf_key(f, "dsv3test.empty");
    if (kv) {
        mf_expect_put(f, "empty u32 array count 2^62", kv->count_off, 8, (uint64_t)1 << 62, DSV3_ERR_BAD_FILE,
                      "dsv3test.empty", "past the end");
        mf_expect_put(f, "empty array of nested arrays", kv->value_off, 4, 9, DSV3_ERR_UNSUPPORTED, "dsv3test.empty",
                      "nested");
        mf_expect_put(f, "empty array of type 13", kv->value_off, 4, 13, DSV3_ERR_BAD_FILE, "dsv3test.empty",
                      "unknown array element type");
    }
    kv = mf_key(f, "dsv3test.f64s");
    if (kv)
        mf_expect_put(f, "f64 array element type 12 -> 13", kv->value_off, 4, 13, DSV3_ERR_BAD_FILE, "dsv3test.f64s",
                      "unknown array element type 13");
    kv = mf_key(f, "tokenizer.ggml.add_bos_token");
    if (kv)
        mf_expect_put(f, "bool key value 2", kv->value_off, 1, 2, DSV3_ERR_BAD_FILE, "tokenizer.ggml.add_bos_token",
                      "bool");
    kv = mf_key(f, "dsv3test.u8");
    if (kv) /* the last byte type: u8 read as u64 swallows the next key's length */
        mf_expect_put(f, "u8 key type 99", kv->type_off, 4, 99, DSV3_ERR_BAD_FILE, "dsv3test.u8", "unknown value type");
    kv = mf_key(f, "deepseek2.expert_gating_func");
    if (kv) /* 0 is how old V2 files say softmax */
        mf_expect_put(f, "gating 0 (softmax)", kv->value_off, 4, 0, DSV3_OK, NULL, NULL);
    const mf_tensor *t = mf_tensor_named(f, "blk.0.attn_q.weight");
    if (t) {
        mf_expect_rename(f, "attn_q missing", t->name_off, 6, 'X', DSV3_ERR_BAD_MODEL, "attn_q", "missing");
    }
    t = &f->t[f->n_tensors - 1]; /* F16 -> F32: twice the bytes, past the end */
    mf_expect_put(f, "last tensor F16 as F32", t->type_off, 4, 0, DSV3_ERR_BAD_FILE, t->name, "outside");
    t = mf_tensor_named(f, "blk.1.ffn_up_shexp.weight");
    if (t)
        mf_expect_put(f, "shared expert width 32", t->ne_off[1], 8, 32, DSV3_ERR_BAD_MODEL, "ffn_up_shexp",
                      "expected ne");
}

/* v3_256x_q8_0: Q8_0 blocks, a 256-element F32 bias (a multiple of every block).
   The "not implemented" types are the ones gguf.md says to recognise and reject
   (IQ*, TQ*, MXFP4), not the K-quants a later dsv3 may run. */
static void mf_q8_0_cases(const mf_file *f) {
    const mf_tensor *t = mf_tensor_named(f, "blk.1.exp_probs_b.bias");
    if (t) {
        mf_expect_put(f, "bias as NVFP4 (not implemented)", t->type_off, 4, 40, DSV3_ERR_UNSUPPORTED,
                      "blk.1.exp_probs_b.bias", "NVFP4");
        mf_expect_put(f, "bias as TQ2_0 (not implemented)", t->type_off, 4, 35, DSV3_ERR_UNSUPPORTED,
                      "blk.1.exp_probs_b.bias", "TQ2_0");
        mf_expect_put(f, "bias as TQ1_0 (not implemented)", t->type_off, 4, 34, DSV3_ERR_UNSUPPORTED,
                      "blk.1.exp_probs_b.bias", "TQ1_0");
        mf_expect_put(f, "bias as MXFP4 (not implemented)", t->type_off, 4, 39, DSV3_ERR_UNSUPPORTED,
                      "blk.1.exp_probs_b.bias", "MXFP4");
    }
    t = mf_tensor_named(f, "token_embd.weight");
    if (t) {
        /* Q8_0 rows of 64 -> 48: not a multiple of 32 */
        mf_expect_put(f, "Q8_0 row of 48", t->ne_off[0], 8, 48, DSV3_ERR_BAD_FILE, "token_embd.weight", "block size");
        mf_expect_put(f, "Q8_0 as Q8_K (256 blocks)", t->type_off, 4, 15, DSV3_ERR_BAD_FILE, "token_embd.weight",
                      "block size");
    }
    t = mf_tensor_named(f, "blk.1.ffn_gate_exps.weight");
    if (t)
        mf_expect_put(f, "expert tensor for 255 experts", t->ne_off[2], 8, 255, DSV3_ERR_BAD_MODEL,
                      "ffn_gate_exps", "expected ne");
}

/* Hyperparameters that could size allocations before any tensor confirms them
   (found by the fuzzer). Each load/context must fail or succeed without asking
   for more than 4 MiB (the images are ~1.4 MB). */
static void mf_expect_small_context(const char *file, const char *what, mf_img m) {
    mf_alloc_stats stats = {0, 0};
    dsv3_model_params mp;
    dsv3_model_default_params(&mp);
    mp.alloc = mf_alloc;
    mp.free_fn = mf_free;
    mp.user = &stats;
    dsv3_model *model = NULL;
    char msg[512] = "";
    int32_t st = dsv3_model_load_memory(m.p, m.n, &mp, &model, msg, sizeof msg);
    int32_t cst = DSV3_OK;
    if (model) {
        dsv3_context_params cp;
        dsv3_context_default_params(&cp);
        cp.n_ctx = 8;
        cp.n_batch = 4;
        dsv3_context *ctx = NULL;
        cst = dsv3_context_create(model, &cp, &ctx);
        dsv3_context_free(ctx);
    }
    dsv3_model_free(model);
    CHECK(stats.largest <= ((size_t)4 << 20) && cst != DSV3_ERR_OUT_OF_MEMORY && st != DSV3_ERR_OUT_OF_MEMORY,
          "%s, %s: load %d \"%s\", context %d, largest allocation request %zu bytes", file, what, (int)st, msg,
          (int)cst, stats.largest);
    free(m.p);
}

static void mf_unconfirmed_sizes(const mf_file *f) {
    const mf_kv *bc = mf_key(f, "deepseek2.block_count");
    const mf_kv *ec = mf_key(f, "deepseek2.expert_count"), *eu = mf_key(f, "deepseek2.expert_used_count");
    const mf_kv *ef = mf_key(f, "deepseek2.expert_feed_forward_length");
    const mf_kv *es = mf_key(f, "deepseek2.expert_shared_count");
    if (!bc || !ec || !eu || !ef || !es) return;
    /* block_count 10^6: 1.6 GB of layer structs before blk.3 is found missing */
    mf_img m = mf_copy(f);
    mf_put(&m, bc->value_off, 4, 1000000);
    mf_expect(f->name, "block_count 10^6", m, DSV3_ERR_BAD_MODEL, "blk.999999.", "missing");
    /* block_count 1 leaves only the dense layer 0: the MoE keys are then never
       checked against a tensor, yet size the context's scratch */
    m = mf_copy(f);
    mf_put(&m, bc->value_off, 4, 1);
    mf_put(&m, eu->value_off, 4, 0x40000000u);
    mf_expect_small_context(f->name, "dense-only model, expert_used_count 2^30", m);
    m = mf_copy(f);
    mf_put(&m, bc->value_off, 4, 1);
    mf_put(&m, ec->value_off, 4, 0x10000000u);
    mf_expect_small_context(f->name, "dense-only model, expert_count 2^28", m);
    m = mf_copy(f);
    mf_put(&m, bc->value_off, 4, 1);
    mf_put(&m, ef->value_off, 4, 0x100000u);
    mf_put(&m, es->value_off, 4, 0x400u);
    mf_expect_small_context(f->name, "dense-only model, shared experts 2^30 wide", m);
}

/* A plain attn_q model (no attn_q_a) with a q_lora_rank key: the key is never
   checked, yet sizes the context's q_lora scratch. */
static void mf_unconfirmed_sizes_v2(const mf_file *f) {
    uint8_t rec[64];
    size_t n = mf_gguf_string(rec, "deepseek2.attention.q_lora_rank");
    mf_set(rec + n, 4, 4);
    mf_set(rec + n + 4, 4, 0x40000000u);
    n += 8;
    mf_img m = mf_splice(f, f->t[0].name_off, 0, rec, n);
    mf_put(&m, f->n_kv_off, 8, f->n_kv + 1);
    mf_expect_small_context(f->name, "attn_q model with q_lora_rank 2^30", m);
}

static void test_malformed_files(const char *dir) {
    static const struct {
        const char *name;
        size_t data_off;   /* as tests/tools/gguf_reader.py reports it */
        size_t header_step, data_step;
    } files[] = {
        {"v3_f32.gguf", 10880, 1, 40009},
        {"v3_legacy_bf16.gguf", 10496, 3, 40009},
        {"v2lite_f16.gguf", 11904, 3, 40009},
        {"v3_256x_q8_0.gguf", 9344, 1, 20011},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        mf_file f;
        if (!mf_open(&f, dir, files[i].name)) continue;
        CHECK(f.data_off == files[i].data_off, "%s: walker data offset %zu, expected %zu", f.name, f.data_off,
              files[i].data_off);
        mf_header_cases(&f);
        if (i == 0) mf_v3_f32_cases(&f);
        if (i == 1) mf_legacy_cases(&f);
        if (i == 2) mf_v2_cases(&f);
        if (i == 3) mf_q8_0_cases(&f);
        if (i == 0) mf_unconfirmed_sizes(&f);
        if (i == 2) mf_unconfirmed_sizes_v2(&f);
        mf_truncation_suite(&f, files[i].header_step, files[i].data_step);
        mf_close(&f);
    }
}
