/* dsv3.c - run DeepSeek-V3-architecture language models on the CPU.
 *
 * MIT licence (see LICENSE). The implementation of dsv3.h in one translation
 * unit: `cc -c dsv3.c` builds it with no flags.
 *
 * Build flags
 *   DSV3_NO_MMAP      never map files; read them into memory instead.
 *
 * Contents (each section uses only what is above it)
 *   1  platform and configuration
 *   2  utilities: status, errors, allocation, checked arithmetic, half floats
 *   3  file mapping and the GGUF reader
 *   4  tensor type table
 *   5  tokenizer: Unicode classes, pre-tokenizers, byte-level BPE, chat format
 *   6  scalar reference kernels
 *   7  model: hyperparameters, tensor binding, load
 *   8  forward pass: MLA attention, DeepSeekMoE, output head
 *   9  public API, in dsv3.h order
 *
 * Sources for the math: DeepSeek-V3 technical report (arXiv 2412.19437v2),
 * DeepSeek-V2 report (arXiv 2405.04434), YaRN (arXiv 2309.00071), and the GGUF
 * conventions written down in the project's reference notes.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif
#define DSV3_BUILD
#include "dsv3.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== 1. Platform and configuration (private) ============================ */

#if !defined(DSV3_NO_MMAP) && (defined(__unix__) || defined(__APPLE__))
#  define DSV3_HAVE_MMAP 1
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <unistd.h>
#else
#  define DSV3_HAVE_MMAP 0
#endif

#define DSV3_ERROR_SIZE 320
#define DSV3_MAX_DIMS 4
#define DSV3_GGUF_DEFAULT_ALIGNMENT 32
#define DSV3_GGUF_MAX_NAME 64
/* Sigmoid-routed weight sums are clamped below by this before normalising,
   the value llama.cpp uses (deepseek2-gguf.md §5.1 step 7). */
#define DSV3_MIN_EXPERT_WEIGHT_SUM 6.103515625e-5f

/* ==== 2. Utilities: status, errors, allocation, checked math (private) === */

typedef struct allocator {
    dsv3_alloc_fn alloc;
    dsv3_free_fn free_fn;
    void *user;
} allocator;

static void *mem_alloc(const allocator *a, size_t size) {
    if (size == 0) size = 1;
    return a->alloc ? a->alloc(a->user, size) : malloc(size);
}

static void *mem_calloc(const allocator *a, size_t count, size_t size) {
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    size_t bytes = count * size;
    void *p = mem_alloc(a, bytes);
    if (p) memset(p, 0, bytes != 0 ? bytes : 1);
    return p;
}

static void mem_free(const allocator *a, void *p) {
    if (!p) return;
    if (a->free_fn) a->free_fn(a->user, p);
    else free(p);
}

/* An error being built: a status and its detailed message. */
typedef struct error_slot {
    int32_t status;
    char message[DSV3_ERROR_SIZE];
} error_slot;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static int32_t fail(error_slot *err, int32_t status, const char *fmt, ...) {
    va_list ap;
    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status;
}

static int mul_overflows(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return 1;
    *out = a * b;
    return 0;
}

static int add_overflows(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return 1;
    *out = a + b;
    return 0;
}

static float f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint32_t bits_from_f32(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* IEEE binary16 -> binary32, exact for every input (subnormals, inf, NaN). */
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mantissa << 13));
    if (exponent == 0) {
        /* zero or subnormal: mantissa * 2^-24, exactly representable */
        float magnitude = (float)mantissa * 5.9604644775390625e-8f;
        return sign ? -magnitude : magnitude;
    }
    return f32_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

/* binary32 -> binary16 with round-to-nearest-even, overflow to inf. */
static uint16_t f32_to_f16(float f) {
    uint32_t bits = bits_from_f32(f);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t exponent = (bits >> 23) & 0xFFu;
    uint32_t mantissa = bits & 0x7FFFFFu;
    if (exponent == 0xFF) return (uint16_t)(sign | 0x7C00u | (mantissa ? 0x200u : 0));
    int32_t e = (int32_t)exponent - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00u);
    if (e <= 0) {
        if (e < -10) return sign;
        mantissa |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        uint32_t midpoint = 1u << (shift - 1);
        if (rest > midpoint || (rest == midpoint && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mantissa >> 13);
    uint32_t rest = mantissa & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1))) half++; /* may carry into inf */
    return (uint16_t)(sign | half);
}

static float bf16_to_f32(uint16_t b) { return f32_from_bits((uint32_t)b << 16); }

static uint16_t f32_to_bf16(float f) {
    uint32_t bits = bits_from_f32(f);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((bits >> 16) | 0x40u); /* quiet NaN */
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

static uint16_t read_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t read_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t read_u64le(const uint8_t *p) {
    return (uint64_t)read_u32le(p) | (uint64_t)read_u32le(p + 4) << 32;
}

static float read_f32le(const uint8_t *p) { return f32_from_bits(read_u32le(p)); }

/* ==== 3. File mapping and GGUF reader (private) ========================== */

/* The bytes of a model file: mapped, read into memory, or lent by the host. */
typedef struct file_image {
    const uint8_t *data;
    size_t size;
    int kind; /* 0 lent by the host, 1 mapped, 2 heap copy */
} file_image;

static int32_t image_open(file_image *img, const char *path, int use_mmap,
                          const allocator *a, error_slot *err) {
    memset(img, 0, sizeof *img);
#if DSV3_HAVE_MMAP
    if (use_mmap) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) return fail(err, DSV3_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        struct stat st;
        if (fstat(fd, &st) != 0) {
            int e = errno;
            close(fd);
            return fail(err, DSV3_ERR_IO, "cannot stat '%s': %s", path, strerror(e));
        }
        if (st.st_size <= 0) {
            close(fd);
            return fail(err, DSV3_ERR_BAD_FILE, "'%s' is empty", path);
        }
        if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
            close(fd);
            return fail(err, DSV3_ERR_IO, "'%s' is too large to map", path);
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        int e = errno;
        close(fd);
        if (p != MAP_FAILED) {
            img->data = (const uint8_t *)p;
            img->size = (size_t)st.st_size;
            img->kind = 1;
            return DSV3_OK;
        }
        (void)e; /* fall through to reading the file */
    }
#else
    (void)use_mmap;
#endif
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, DSV3_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return fail(err, DSV3_ERR_IO, "cannot seek in '%s'", path);
    }
    long end = ftell(f);
    if (end <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return fail(err, end == 0 ? DSV3_ERR_BAD_FILE : DSV3_ERR_IO, "cannot size '%s'%s", path,
                    end == 0 ? ": the file is empty" : "");
    }
    uint8_t *buf = (uint8_t *)mem_alloc(a, (size_t)end);
    if (!buf) {
        fclose(f);
        return fail(err, DSV3_ERR_OUT_OF_MEMORY, "cannot allocate %ld bytes to read '%s'", end, path);
    }
    size_t got = fread(buf, 1, (size_t)end, f);
    fclose(f);
    if (got != (size_t)end) {
        mem_free(a, buf);
        return fail(err, DSV3_ERR_IO, "short read of '%s' (%zu of %ld bytes)", path, got, end);
    }
    img->data = buf;
    img->size = (size_t)end;
    img->kind = 2;
    return DSV3_OK;
}

static void image_close(file_image *img, const allocator *a) {
#if DSV3_HAVE_MMAP
    if (img->kind == 1) munmap((void *)img->data, img->size);
#endif
    if (img->kind == 2) mem_free(a, (void *)img->data);
    memset(img, 0, sizeof *img);
}

/* GGUF metadata value types (gguf.md §1.2). */
enum {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12, GGUF_TYPE_COUNT = 13
};

static const char *const gguf_type_names[GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};

static size_t gguf_scalar_size(uint32_t type) {
    switch (type) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

/* A string inside the file: not NUL-terminated. */
typedef struct gguf_str {
    const char *ptr;
    size_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    uint32_t type;
    const uint8_t *value;   /* scalar payload, or first array element */
    uint32_t array_type;    /* for arrays */
    uint64_t array_count;
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[DSV3_MAX_DIMS];
    uint64_t offset;        /* relative to the data section */
    uint64_t n_bytes;
    const uint8_t *data;
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t alignment;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t data_offset;
} gguf_file;

/* Bounds-checked reading of the header: every read is checked against the end. */
typedef struct cursor {
    const uint8_t *base, *pos, *end;
} cursor;

static size_t cursor_offset(const cursor *c) { return (size_t)(c->pos - c->base); }

static int cursor_take(cursor *c, size_t n, const uint8_t **out) {
    if ((size_t)(c->end - c->pos) < n) return 0;
    *out = c->pos;
    c->pos += n;
    return 1;
}

static int cursor_u32(cursor *c, uint32_t *v) {
    const uint8_t *p;
    if (!cursor_take(c, 4, &p)) return 0;
    *v = read_u32le(p);
    return 1;
}

static int cursor_u64(cursor *c, uint64_t *v) {
    uint32_t lo, hi;
    if (!cursor_u32(c, &lo) || !cursor_u32(c, &hi)) return 0;
    *v = (uint64_t)hi << 32 | lo;
    return 1;
}

static int cursor_str(cursor *c, gguf_str *s) {
    uint64_t len;
    const uint8_t *p;
    if (!cursor_u64(c, &len)) return 0;
    if (len > (uint64_t)(c->end - c->pos)) return 0;
    if (!cursor_take(c, (size_t)len, &p)) return 0;
    s->ptr = (const char *)p;
    s->len = (size_t)len;
    return 1;
}

static int gguf_str_eq(gguf_str s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && memcmp(s.ptr, z, n) == 0;
}

/* Skips (and validates) one value of the given type. */
static int32_t gguf_skip_value(cursor *c, uint32_t type, const gguf_str *key, error_slot *err) {
    size_t at = cursor_offset(c);
    if (type == GGUF_STRING) {
        gguf_str s;
        if (!cursor_str(c, &s))
            return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': string at byte %zu runs past the end of the file",
                        (int)key->len, key->ptr, at);
        return DSV3_OK;
    }
    size_t size = gguf_scalar_size(type);
    if (size == 0)
        return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': unknown value type %u at byte %zu",
                    (int)key->len, key->ptr, type, at);
    const uint8_t *p;
    if (!cursor_take(c, size, &p))
        return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': value at byte %zu runs past the end of the file",
                    (int)key->len, key->ptr, at);
    if (type == GGUF_BOOL && *p > 1)
        return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': bool value %u at byte %zu is neither 0 nor 1",
                    (int)key->len, key->ptr, *p, at);
    return DSV3_OK;
}

static int32_t gguf_read_kv(cursor *c, gguf_kv *kv, error_slot *err) {
    size_t at = cursor_offset(c);
    if (!cursor_str(c, &kv->key))
        return fail(err, DSV3_ERR_BAD_FILE, "metadata key at byte %zu runs past the end of the file", at);
    if (!cursor_u32(c, &kv->type))
        return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': type runs past the end of the file",
                    (int)kv->key.len, kv->key.ptr);
    kv->value = c->pos;
    if (kv->type != GGUF_ARRAY) return gguf_skip_value(c, kv->type, &kv->key, err);

    if (!cursor_u32(c, &kv->array_type) || !cursor_u64(c, &kv->array_count))
        return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': array header runs past the end of the file",
                    (int)kv->key.len, kv->key.ptr);
    kv->value = c->pos;
    if (kv->array_type == GGUF_ARRAY)
        return fail(err, DSV3_ERR_UNSUPPORTED, "key '%.*s': nested arrays are not supported",
                    (int)kv->key.len, kv->key.ptr);
    if (kv->array_type == GGUF_STRING) {
        /* each string needs at least its 8-byte length: reject absurd counts early */
        if (kv->array_count > (uint64_t)(c->end - c->pos) / 8)
            return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': array of %llu strings runs past the end of the file",
                        (int)kv->key.len, kv->key.ptr, (unsigned long long)kv->array_count);
        for (uint64_t i = 0; i < kv->array_count; i++) {
            int32_t st = gguf_skip_value(c, GGUF_STRING, &kv->key, err);
            if (st) return st;
        }
        return DSV3_OK;
    }
    size_t size = gguf_scalar_size(kv->array_type);
    if (size == 0)
        return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': unknown array element type %u",
                    (int)kv->key.len, kv->key.ptr, kv->array_type);
    uint64_t bytes;
    if (mul_overflows(kv->array_count, size, &bytes) || bytes > (uint64_t)(c->end - c->pos))
        return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': array of %llu elements runs past the end of the file",
                    (int)kv->key.len, kv->key.ptr, (unsigned long long)kv->array_count);
    if (kv->array_type == GGUF_BOOL) {
        for (uint64_t i = 0; i < kv->array_count; i++)
            if (c->pos[i] > 1)
                return fail(err, DSV3_ERR_BAD_FILE, "key '%.*s': bool element %llu is neither 0 nor 1",
                            (int)kv->key.len, kv->key.ptr, (unsigned long long)i);
    }
    c->pos += bytes;
    return DSV3_OK;
}

static const gguf_kv *gguf_find(const gguf_file *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

/* Reads any integer-typed value as int64 (converters differ in widths, gguf.md §1.2). */
static int gguf_value_int(uint32_t type, const uint8_t *p, int64_t *out) {
    uint64_t u;
    switch (type) {
    case GGUF_U8: *out = p[0]; return 1;
    case GGUF_I8: *out = (int8_t)p[0]; return 1;
    case GGUF_BOOL: *out = p[0]; return 1;
    case GGUF_U16: *out = read_u16le(p); return 1;
    case GGUF_I16: *out = (int16_t)read_u16le(p); return 1;
    case GGUF_U32: *out = read_u32le(p); return 1;
    case GGUF_I32: *out = (int32_t)read_u32le(p); return 1;
    case GGUF_U64: case GGUF_I64:
        u = read_u64le(p);
        if (type == GGUF_U64 && u > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)u;
        return 1;
    default: return 0;
    }
}

static int gguf_value_float(uint32_t type, const uint8_t *p, double *out) {
    if (type == GGUF_F32) {
        *out = read_f32le(p);
        return 1;
    }
    if (type == GGUF_F64) {
        uint64_t bits = read_u64le(p);
        memcpy(out, &bits, 8);
        return 1;
    }
    int64_t i;
    if (!gguf_value_int(type, p, &i)) return 0;
    *out = (double)i;
    return 1;
}

/* Typed metadata getters: absent keys leave *out alone and return 0 with
   status OK; a key of the wrong type is an error. */
static int32_t meta_uint(const gguf_file *g, const char *key, uint64_t max, uint64_t *out,
                         int *found, error_slot *err) {
    const gguf_kv *kv = gguf_find(g, key);
    *found = 0;
    if (!kv) return DSV3_OK;
    int64_t v;
    if (kv->type == GGUF_ARRAY || kv->type == GGUF_STRING || kv->type == GGUF_F32 ||
        kv->type == GGUF_F64 || !gguf_value_int(kv->type, kv->value, &v))
        return fail(err, DSV3_ERR_BAD_MODEL, "key '%s' has type %s, expected an integer", key,
                    kv->type < GGUF_TYPE_COUNT ? gguf_type_names[kv->type] : "?");
    if (v < 0 || (uint64_t)v > max)
        return fail(err, DSV3_ERR_BAD_MODEL, "key '%s' = %lld is out of range (0..%llu)", key,
                    (long long)v, (unsigned long long)max);
    *out = (uint64_t)v;
    *found = 1;
    return DSV3_OK;
}

static int32_t meta_float(const gguf_file *g, const char *key, double *out, int *found,
                          error_slot *err) {
    const gguf_kv *kv = gguf_find(g, key);
    *found = 0;
    if (!kv) return DSV3_OK;
    if (kv->type == GGUF_ARRAY || kv->type == GGUF_STRING || kv->type == GGUF_BOOL ||
        !gguf_value_float(kv->type, kv->value, out) || !isfinite(*out))
        return fail(err, DSV3_ERR_BAD_MODEL, "key '%s' is not a finite number", key);
    *found = 1;
    return DSV3_OK;
}

static int32_t meta_bool(const gguf_file *g, const char *key, int *out, int *found,
                         error_slot *err) {
    const gguf_kv *kv = gguf_find(g, key);
    *found = 0;
    if (!kv) return DSV3_OK;
    int64_t v;
    if (kv->type == GGUF_ARRAY || kv->type == GGUF_STRING || !gguf_value_int(kv->type, kv->value, &v))
        return fail(err, DSV3_ERR_BAD_MODEL, "key '%s' is not a bool", key);
    *out = v != 0;
    *found = 1;
    return DSV3_OK;
}

static int32_t meta_string(const gguf_file *g, const char *key, gguf_str *out, int *found,
                           error_slot *err) {
    const gguf_kv *kv = gguf_find(g, key);
    *found = 0;
    if (!kv) return DSV3_OK;
    if (kv->type != GGUF_STRING)
        return fail(err, DSV3_ERR_BAD_MODEL, "key '%s' has type %s, expected a string", key,
                    kv->type < GGUF_TYPE_COUNT ? gguf_type_names[kv->type] : "?");
    out->ptr = (const char *)kv->value + 8;
    out->len = (size_t)read_u64le(kv->value); /* bounds validated by gguf_read_kv */
    *found = 1;
    return DSV3_OK;
}

/* ==== 4. Tensor type table (private) ===================================== */

/* One row of weights (n elements, n a multiple of the block size) as floats. */
typedef void (*row_to_f32_fn)(const uint8_t *row, float *out, size_t n);
/* dot(row, x) over n elements. */
typedef float (*row_dot_fn)(const uint8_t *row, const float *x, size_t n);

typedef struct type_traits {
    const char *name;
    uint32_t block_size;  /* elements per block; 0 = unknown layout */
    uint32_t type_size;   /* bytes per block */
    row_to_f32_fn to_f32; /* NULL = recognised but not implemented */
    row_dot_fn dot;
} type_traits;

static void f32_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = read_f32le(row + 4 * i);
}

static void f16_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = f16_to_f32(read_u16le(row + 2 * i));
}

static void bf16_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = bf16_to_f32(read_u16le(row + 2 * i));
}

/* Q8_0: blocks of 32 int8 with one f16 scale (gguf.md §3). */
static void q8_0_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 34 * b;
        float d = f16_to_f32(read_u16le(block));
        for (int j = 0; j < 32; j++) out[32 * b + j] = d * (float)(int8_t)block[2 + j];
    }
}

static float f32_row_dot(const uint8_t *row, const float *x, size_t n) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += read_f32le(row + 4 * i) * x[i];
    return sum;
}

static float f16_row_dot(const uint8_t *row, const float *x, size_t n) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += f16_to_f32(read_u16le(row + 2 * i)) * x[i];
    return sum;
}

static float bf16_row_dot(const uint8_t *row, const float *x, size_t n) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += bf16_to_f32(read_u16le(row + 2 * i)) * x[i];
    return sum;
}

static float q8_0_row_dot(const uint8_t *row, const float *x, size_t n) {
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 34 * b;
        const float *xb = x + 32 * b;
        float block_sum = 0.0f;
        for (int j = 0; j < 32; j++) block_sum += (float)(int8_t)block[2 + j] * xb[j];
        sum += f16_to_f32(read_u16le(block)) * block_sum;
    }
    return sum;
}

#define DSV3_TYPE_COUNT 43
/* Indexed by ggml type id (gguf.md §2). Removed ids have no layout. */
static const type_traits type_table[DSV3_TYPE_COUNT] = {
    [0] = {"F32", 1, 4, f32_row_to_f32, f32_row_dot},
    [1] = {"F16", 1, 2, f16_row_to_f32, f16_row_dot},
    [2] = {"Q4_0", 32, 18, NULL, NULL},
    [3] = {"Q4_1", 32, 20, NULL, NULL},
    [4] = {"Q4_2 (removed)", 0, 0, NULL, NULL},
    [5] = {"Q4_3 (removed)", 0, 0, NULL, NULL},
    [6] = {"Q5_0", 32, 22, NULL, NULL},
    [7] = {"Q5_1", 32, 24, NULL, NULL},
    [8] = {"Q8_0", 32, 34, q8_0_row_to_f32, q8_0_row_dot},
    [9] = {"Q8_1", 32, 36, NULL, NULL},
    [10] = {"Q2_K", 256, 84, NULL, NULL},
    [11] = {"Q3_K", 256, 110, NULL, NULL},
    [12] = {"Q4_K", 256, 144, NULL, NULL},
    [13] = {"Q5_K", 256, 176, NULL, NULL},
    [14] = {"Q6_K", 256, 210, NULL, NULL},
    [15] = {"Q8_K", 256, 292, NULL, NULL},
    [16] = {"IQ2_XXS", 256, 66, NULL, NULL},
    [17] = {"IQ2_XS", 256, 74, NULL, NULL},
    [18] = {"IQ3_XXS", 256, 98, NULL, NULL},
    [19] = {"IQ1_S", 256, 50, NULL, NULL},
    [20] = {"IQ4_NL", 32, 18, NULL, NULL},
    [21] = {"IQ3_S", 256, 110, NULL, NULL},
    [22] = {"IQ2_S", 256, 82, NULL, NULL},
    [23] = {"IQ4_XS", 256, 136, NULL, NULL},
    [24] = {"I8", 1, 1, NULL, NULL},
    [25] = {"I16", 1, 2, NULL, NULL},
    [26] = {"I32", 1, 4, NULL, NULL},
    [27] = {"I64", 1, 8, NULL, NULL},
    [28] = {"F64", 1, 8, NULL, NULL},
    [29] = {"IQ1_M", 256, 56, NULL, NULL},
    [30] = {"BF16", 1, 2, bf16_row_to_f32, bf16_row_dot},
    [31] = {"Q4_0_4_4 (removed)", 0, 0, NULL, NULL},
    [32] = {"Q4_0_4_8 (removed)", 0, 0, NULL, NULL},
    [33] = {"Q4_0_8_8 (removed)", 0, 0, NULL, NULL},
    [34] = {"TQ1_0", 256, 54, NULL, NULL},
    [35] = {"TQ2_0", 256, 66, NULL, NULL},
    [36] = {"IQ4_NL_4_4 (removed)", 0, 0, NULL, NULL},
    [37] = {"IQ4_NL_4_8 (removed)", 0, 0, NULL, NULL},
    [38] = {"IQ4_NL_8_8 (removed)", 0, 0, NULL, NULL},
    [39] = {"MXFP4", 32, 17, NULL, NULL},
    [40] = {"NVFP4", 64, 36, NULL, NULL},
    [41] = {"Q1_0", 128, 18, NULL, NULL},
    [42] = {"Q2_0", 64, 18, NULL, NULL},
};

static const char *type_name(uint32_t type) {
    return type < DSV3_TYPE_COUNT && type_table[type].name ? type_table[type].name : "unknown";
}

/* Parses the header, metadata and tensor infos of a GGUF image. Every length,
   count and offset is checked against the image before it is used. */
static int32_t gguf_parse(gguf_file *g, const uint8_t *data, size_t size, const allocator *a,
                          error_slot *err) {
    memset(g, 0, sizeof *g);
    cursor c = {data, data, data + size};
    const uint8_t *magic;
    if (!cursor_take(&c, 4, &magic) || memcmp(magic, "GGUF", 4) != 0)
        return fail(err, DSV3_ERR_BAD_FILE, "not a GGUF file (bad magic)");
    if (!cursor_u32(&c, &g->version))
        return fail(err, DSV3_ERR_BAD_FILE, "truncated GGUF header");
    if (g->version == 1)
        return fail(err, DSV3_ERR_UNSUPPORTED, "GGUF version 1 is obsolete; convert the file again");
    if ((g->version & 0xFFFFu) == 0 && g->version != 0)
        return fail(err, DSV3_ERR_UNSUPPORTED, "GGUF file is big-endian (version field 0x%08x)", g->version);
    if (g->version < 2 || g->version > 3)
        return fail(err, DSV3_ERR_UNSUPPORTED, "GGUF version %u is not supported (2 and 3 are)", g->version);
    if (!cursor_u64(&c, &g->n_tensors) || !cursor_u64(&c, &g->n_kv))
        return fail(err, DSV3_ERR_BAD_FILE, "truncated GGUF header");
    /* A key/value record takes at least 13 bytes and a tensor info 32 (gguf.md
       §1.2-1.3): larger counts cannot fit in the file, so refuse before allocating. */
    size_t remaining = size - cursor_offset(&c);
    if (g->n_kv > remaining / 13)
        return fail(err, DSV3_ERR_BAD_FILE, "GGUF header claims %llu metadata keys, more than the file holds",
                    (unsigned long long)g->n_kv);
    if (g->n_tensors > remaining / 32)
        return fail(err, DSV3_ERR_BAD_FILE, "GGUF header claims %llu tensors, more than the file holds",
                    (unsigned long long)g->n_tensors);
    g->kv = (gguf_kv *)mem_calloc(a, (size_t)g->n_kv, sizeof *g->kv);
    g->tensors = (gguf_tensor *)mem_calloc(a, (size_t)g->n_tensors, sizeof *g->tensors);
    if (!g->kv || !g->tensors) return fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory reading GGUF header");

    for (uint64_t i = 0; i < g->n_kv; i++) {
        int32_t st = gguf_read_kv(&c, &g->kv[i], err);
        if (st) return st;
    }

    g->alignment = DSV3_GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *align_kv = gguf_find(g, "general.alignment");
    if (align_kv) {
        if (align_kv->type != GGUF_U32)
            return fail(err, DSV3_ERR_BAD_FILE, "general.alignment must be a u32");
        uint32_t al = read_u32le(align_kv->value);
        if (al == 0 || (al & (al - 1)) != 0)
            return fail(err, DSV3_ERR_BAD_FILE, "general.alignment = %u is not a power of two", al);
        g->alignment = al;
    }

    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        size_t at = cursor_offset(&c);
        if (!cursor_str(&c, &t->name))
            return fail(err, DSV3_ERR_BAD_FILE, "tensor info %llu at byte %zu runs past the end of the file",
                        (unsigned long long)i, at);
        if (t->name.len >= DSV3_GGUF_MAX_NAME)
            return fail(err, DSV3_ERR_BAD_FILE, "tensor %llu has a name of %zu bytes (limit 63)",
                        (unsigned long long)i, t->name.len);
        if (!cursor_u32(&c, &t->n_dims))
            return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s': info runs past the end of the file",
                        (int)t->name.len, t->name.ptr);
        if (t->n_dims < 1 || t->n_dims > DSV3_MAX_DIMS)
            return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s' has %u dimensions (1 to 4 allowed)",
                        (int)t->name.len, t->name.ptr, t->n_dims);
        uint64_t n_elements = 1;
        for (uint32_t d = 0; d < DSV3_MAX_DIMS; d++) {
            t->ne[d] = 1;
            if (d < t->n_dims && !cursor_u64(&c, &t->ne[d]))
                return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s': info runs past the end of the file",
                            (int)t->name.len, t->name.ptr);
            if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX ||
                mul_overflows(n_elements, t->ne[d], &n_elements) || n_elements > (uint64_t)INT64_MAX)
                return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s' has an invalid shape (dimension %u = %llu)",
                            (int)t->name.len, t->name.ptr, d, (unsigned long long)t->ne[d]);
        }
        if (!cursor_u32(&c, &t->type) || !cursor_u64(&c, &t->offset))
            return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s': info runs past the end of the file",
                        (int)t->name.len, t->name.ptr);
        if (t->type >= DSV3_TYPE_COUNT || type_table[t->type].block_size == 0)
            return fail(err, DSV3_ERR_UNSUPPORTED,
                        "tensor '%.*s' uses ggml type %u (%s), which dsv3 does not know; "
                        "files from ik_llama.cpp may use types mainline ggml lacks",
                        (int)t->name.len, t->name.ptr, t->type, type_name(t->type));
        const type_traits *tt = &type_table[t->type];
        if (t->ne[0] % tt->block_size != 0)
            return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s': row length %llu is not a multiple of the %s block size %u",
                        (int)t->name.len, t->name.ptr, (unsigned long long)t->ne[0], tt->name, tt->block_size);
        if (mul_overflows(n_elements / tt->block_size, tt->type_size, &t->n_bytes))
            return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s' is too large", (int)t->name.len, t->name.ptr);
        if (t->offset % g->alignment != 0)
            return fail(err, DSV3_ERR_BAD_FILE, "tensor '%.*s': data offset %llu is not aligned to %llu",
                        (int)t->name.len, t->name.ptr, (unsigned long long)t->offset,
                        (unsigned long long)g->alignment);
        for (uint64_t j = 0; j < i; j++)
            if (g->tensors[j].name.len == t->name.len &&
                memcmp(g->tensors[j].name.ptr, t->name.ptr, t->name.len) == 0)
                return fail(err, DSV3_ERR_BAD_FILE, "tensor name '%.*s' appears twice",
                            (int)t->name.len, t->name.ptr);
    }

    uint64_t header_end = cursor_offset(&c);
    g->data_offset = header_end + (g->alignment - header_end % g->alignment) % g->alignment;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        uint64_t start, end;
        if (add_overflows(g->data_offset, t->offset, &start) || add_overflows(start, t->n_bytes, &end) ||
            end > size)
            return fail(err, DSV3_ERR_BAD_FILE,
                        "tensor '%.*s': data [%llu, +%llu) lies outside the file (%zu bytes); truncated file?",
                        (int)t->name.len, t->name.ptr, (unsigned long long)t->offset,
                        (unsigned long long)t->n_bytes, size);
        t->data = data + start;
    }
    return DSV3_OK;
}

static void gguf_release(gguf_file *g, const allocator *a) {
    mem_free(a, g->kv);
    mem_free(a, g->tensors);
    memset(g, 0, sizeof *g);
}

static const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (gguf_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

/* ==== 5. Tokenizer: Unicode classes, pre-tokenizers, byte-level BPE (private) */

/* Facts from the project's dsv3-tokenizer.md: GPT-2 byte-level BPE, merges by
   rank, pre-tokenizer regexes of DeepSeek-V3 ("deepseek-v3") and of DeepSeek LLM /
   V2 ("deepseek-llm") written out by hand below, added tokens matched in the raw
   text before pre-tokenization (leftmost, longest). */

/* Unicode classes the pre-tokenizer regexes use. */
#define UC_L 1u  /* \p{L}: Lu Ll Lt Lm Lo */
#define UC_M 2u  /* \p{M}: Mn Mc Me */
#define UC_N 4u  /* \p{N}: Nd Nl No */
#define UC_P 8u  /* \p{P}: Pc Pd Ps Pe Pi Pf Po */
#define UC_S 16u /* \p{S}: Sm Sc Sk So */
#define UC_W 32u /* \s: the White_Space property */

/* BEGIN unicode tables: generated by tests/tools/gen_unicode.py, do not edit */
/* Source: Unicode Character Database (for the Unicode Character Database, for Version 15.0.0 of the Unicode Standard.): UnicodeData.txt general
   categories, PropList.txt White_Space. 2230 ranges. */
static const uint8_t unicode_ascii[128] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 32, 32, 32, 32, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    32, 8, 8, 8, 16, 8, 8, 8, 8, 8, 8, 16, 8, 8, 8, 8,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8, 16, 16, 16, 8,
    8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 16, 8,
    16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 16, 8, 16, 0,
};
static const uint32_t unicode_ranges[2230] = {
    0x8000, 0x8520, 0x8600, 0xa020, 0xa108, 0xa210, 0xa708, 0xa810, 0xaa01, 0xab08, 0xac10, 0xad00,
    0xae10, 0xb204, 0xb410, 0xb501, 0xb608, 0xb810, 0xb904, 0xba01, 0xbb08, 0xbc04, 0xbf08, 0xc001,
    0xd710, 0xd801, 0xf710, 0xf801, 0x2c210, 0x2c601, 0x2d210, 0x2e001, 0x2e510, 0x2ec01, 0x2ed10,
    0x2ee01, 0x2ef10, 0x30002, 0x37001, 0x37510, 0x37601, 0x37800, 0x37a01, 0x37e08, 0x37f01,
    0x38000, 0x38410, 0x38601, 0x38708, 0x38801, 0x38b00, 0x38c01, 0x38d00, 0x38e01, 0x3a200,
    0x3a301, 0x3f610, 0x3f701, 0x48210, 0x48302, 0x48a01, 0x53000, 0x53101, 0x55700, 0x55901,
    0x55a08, 0x56001, 0x58908, 0x58b00, 0x58d10, 0x59000, 0x59102, 0x5be08, 0x5bf02, 0x5c008,
    0x5c102, 0x5c308, 0x5c402, 0x5c608, 0x5c702, 0x5c800, 0x5d001, 0x5eb00, 0x5ef01, 0x5f308,
    0x5f500, 0x60610, 0x60908, 0x60b10, 0x60c08, 0x60e10, 0x61002, 0x61b08, 0x61c00, 0x61d08,
    0x62001, 0x64b02, 0x66004, 0x66a08, 0x66e01, 0x67002, 0x67101, 0x6d408, 0x6d501, 0x6d602,
    0x6dd00, 0x6de10, 0x6df02, 0x6e501, 0x6e702, 0x6e910, 0x6ea02, 0x6ee01, 0x6f004, 0x6fa01,
    0x6fd10, 0x6ff01, 0x70008, 0x70e00, 0x71001, 0x71102, 0x71201, 0x73002, 0x74b00, 0x74d01,
    0x7a602, 0x7b101, 0x7b200, 0x7c004, 0x7ca01, 0x7eb02, 0x7f401, 0x7f610, 0x7f708, 0x7fa01,
    0x7fb00, 0x7fd02, 0x7fe10, 0x80001, 0x81602, 0x81a01, 0x81b02, 0x82401, 0x82502, 0x82801,
    0x82902, 0x82e00, 0x83008, 0x83f00, 0x84001, 0x85902, 0x85c00, 0x85e08, 0x85f00, 0x86001,
    0x86b00, 0x87001, 0x88810, 0x88901, 0x88f00, 0x89802, 0x8a001, 0x8ca02, 0x8e200, 0x8e302,
    0x90401, 0x93a02, 0x93d01, 0x93e02, 0x95001, 0x95102, 0x95801, 0x96202, 0x96408, 0x96604,
    0x97008, 0x97101, 0x98102, 0x98400, 0x98501, 0x98d00, 0x98f01, 0x99100, 0x99301, 0x9a900,
    0x9aa01, 0x9b100, 0x9b201, 0x9b300, 0x9b601, 0x9ba00, 0x9bc02, 0x9bd01, 0x9be02, 0x9c500,
    0x9c702, 0x9c900, 0x9cb02, 0x9ce01, 0x9cf00, 0x9d702, 0x9d800, 0x9dc01, 0x9de00, 0x9df01,
    0x9e202, 0x9e400, 0x9e604, 0x9f001, 0x9f210, 0x9f404, 0x9fa10, 0x9fc01, 0x9fd08, 0x9fe02,
    0x9ff00, 0xa0102, 0xa0400, 0xa0501, 0xa0b00, 0xa0f01, 0xa1100, 0xa1301, 0xa2900, 0xa2a01,
    0xa3100, 0xa3201, 0xa3400, 0xa3501, 0xa3700, 0xa3801, 0xa3a00, 0xa3c02, 0xa3d00, 0xa3e02,
    0xa4300, 0xa4702, 0xa4900, 0xa4b02, 0xa4e00, 0xa5102, 0xa5200, 0xa5901, 0xa5d00, 0xa5e01,
    0xa5f00, 0xa6604, 0xa7002, 0xa7201, 0xa7502, 0xa7608, 0xa7700, 0xa8102, 0xa8400, 0xa8501,
    0xa8e00, 0xa8f01, 0xa9200, 0xa9301, 0xaa900, 0xaaa01, 0xab100, 0xab201, 0xab400, 0xab501,
    0xaba00, 0xabc02, 0xabd01, 0xabe02, 0xac600, 0xac702, 0xaca00, 0xacb02, 0xace00, 0xad001,
    0xad100, 0xae001, 0xae202, 0xae400, 0xae604, 0xaf008, 0xaf110, 0xaf200, 0xaf901, 0xafa02,
    0xb0000, 0xb0102, 0xb0400, 0xb0501, 0xb0d00, 0xb0f01, 0xb1100, 0xb1301, 0xb2900, 0xb2a01,
    0xb3100, 0xb3201, 0xb3400, 0xb3501, 0xb3a00, 0xb3c02, 0xb3d01, 0xb3e02, 0xb4500, 0xb4702,
    0xb4900, 0xb4b02, 0xb4e00, 0xb5502, 0xb5800, 0xb5c01, 0xb5e00, 0xb5f01, 0xb6202, 0xb6400,
    0xb6604, 0xb7010, 0xb7101, 0xb7204, 0xb7800, 0xb8202, 0xb8301, 0xb8400, 0xb8501, 0xb8b00,
    0xb8e01, 0xb9100, 0xb9201, 0xb9600, 0xb9901, 0xb9b00, 0xb9c01, 0xb9d00, 0xb9e01, 0xba000,
    0xba301, 0xba500, 0xba801, 0xbab00, 0xbae01, 0xbba00, 0xbbe02, 0xbc300, 0xbc602, 0xbc900,
    0xbca02, 0xbce00, 0xbd001, 0xbd100, 0xbd702, 0xbd800, 0xbe604, 0xbf310, 0xbfb00, 0xc0002,
    0xc0501, 0xc0d00, 0xc0e01, 0xc1100, 0xc1201, 0xc2900, 0xc2a01, 0xc3a00, 0xc3c02, 0xc3d01,
    0xc3e02, 0xc4500, 0xc4602, 0xc4900, 0xc4a02, 0xc4e00, 0xc5502, 0xc5700, 0xc5801, 0xc5b00,
    0xc5d01, 0xc5e00, 0xc6001, 0xc6202, 0xc6400, 0xc6604, 0xc7000, 0xc7708, 0xc7804, 0xc7f10,
    0xc8001, 0xc8102, 0xc8408, 0xc8501, 0xc8d00, 0xc8e01, 0xc9100, 0xc9201, 0xca900, 0xcaa01,
    0xcb400, 0xcb501, 0xcba00, 0xcbc02, 0xcbd01, 0xcbe02, 0xcc500, 0xcc602, 0xcc900, 0xcca02,
    0xcce00, 0xcd502, 0xcd700, 0xcdd01, 0xcdf00, 0xce001, 0xce202, 0xce400, 0xce604, 0xcf000,
    0xcf101, 0xcf302, 0xcf400, 0xd0002, 0xd0401, 0xd0d00, 0xd0e01, 0xd1100, 0xd1201, 0xd3b02,
    0xd3d01, 0xd3e02, 0xd4500, 0xd4602, 0xd4900, 0xd4a02, 0xd4e01, 0xd4f10, 0xd5000, 0xd5401,
    0xd5702, 0xd5804, 0xd5f01, 0xd6202, 0xd6400, 0xd6604, 0xd7910, 0xd7a01, 0xd8000, 0xd8102,
    0xd8400, 0xd8501, 0xd9700, 0xd9a01, 0xdb200, 0xdb301, 0xdbc00, 0xdbd01, 0xdbe00, 0xdc001,
    0xdc700, 0xdca02, 0xdcb00, 0xdcf02, 0xdd500, 0xdd602, 0xdd700, 0xdd802, 0xde000, 0xde604,
    0xdf000, 0xdf202, 0xdf408, 0xdf500, 0xe0101, 0xe3102, 0xe3201, 0xe3402, 0xe3b00, 0xe3f10,
    0xe4001, 0xe4702, 0xe4f08, 0xe5004, 0xe5a08, 0xe5c00, 0xe8101, 0xe8300, 0xe8401, 0xe8500,
    0xe8601, 0xe8b00, 0xe8c01, 0xea400, 0xea501, 0xea600, 0xea701, 0xeb102, 0xeb201, 0xeb402,
    0xebd01, 0xebe00, 0xec001, 0xec500, 0xec601, 0xec700, 0xec802, 0xecf00, 0xed004, 0xeda00,
    0xedc01, 0xee000, 0xf0001, 0xf0110, 0xf0408, 0xf1310, 0xf1408, 0xf1510, 0xf1802, 0xf1a10,
    0xf2004, 0xf3410, 0xf3502, 0xf3610, 0xf3702, 0xf3810, 0xf3902, 0xf3a08, 0xf3e02, 0xf4001,
    0xf4800, 0xf4901, 0xf6d00, 0xf7102, 0xf8508, 0xf8602, 0xf8801, 0xf8d02, 0xf9800, 0xf9902,
    0xfbd00, 0xfbe10, 0xfc602, 0xfc710, 0xfcd00, 0xfce10, 0xfd008, 0xfd510, 0xfd908, 0xfdb00,
    0x100001, 0x102b02, 0x103f01, 0x104004, 0x104a08, 0x105001, 0x105602, 0x105a01, 0x105e02,
    0x106101, 0x106202, 0x106501, 0x106702, 0x106e01, 0x107102, 0x107501, 0x108202, 0x108e01,
    0x108f02, 0x109004, 0x109a02, 0x109e10, 0x10a001, 0x10c600, 0x10c701, 0x10c800, 0x10cd01,
    0x10ce00, 0x10d001, 0x10fb08, 0x10fc01, 0x124900, 0x124a01, 0x124e00, 0x125001, 0x125700,
    0x125801, 0x125900, 0x125a01, 0x125e00, 0x126001, 0x128900, 0x128a01, 0x128e00, 0x129001,
    0x12b100, 0x12b201, 0x12b600, 0x12b801, 0x12bf00, 0x12c001, 0x12c100, 0x12c201, 0x12c600,
    0x12c801, 0x12d700, 0x12d801, 0x131100, 0x131201, 0x131600, 0x131801, 0x135b00, 0x135d02,
    0x136008, 0x136904, 0x137d00, 0x138001, 0x139010, 0x139a00, 0x13a001, 0x13f600, 0x13f801,
    0x13fe00, 0x140008, 0x140101, 0x166d10, 0x166e08, 0x166f01, 0x168020, 0x168101, 0x169b08,
    0x169d00, 0x16a001, 0x16eb08, 0x16ee04, 0x16f101, 0x16f900, 0x170001, 0x171202, 0x171600,
    0x171f01, 0x173202, 0x173508, 0x173700, 0x174001, 0x175202, 0x175400, 0x176001, 0x176d00,
    0x176e01, 0x177100, 0x177202, 0x177400, 0x178001, 0x17b402, 0x17d408, 0x17d701, 0x17d808,
    0x17db10, 0x17dc01, 0x17dd02, 0x17de00, 0x17e004, 0x17ea00, 0x17f004, 0x17fa00, 0x180008,
    0x180b02, 0x180e00, 0x180f02, 0x181004, 0x181a00, 0x182001, 0x187900, 0x188001, 0x188502,
    0x188701, 0x18a902, 0x18aa01, 0x18ab00, 0x18b001, 0x18f600, 0x190001, 0x191f00, 0x192002,
    0x192c00, 0x193002, 0x193c00, 0x194010, 0x194100, 0x194408, 0x194604, 0x195001, 0x196e00,
    0x197001, 0x197500, 0x198001, 0x19ac00, 0x19b001, 0x19ca00, 0x19d004, 0x19db00, 0x19de10,
    0x1a0001, 0x1a1702, 0x1a1c00, 0x1a1e08, 0x1a2001, 0x1a5502, 0x1a5f00, 0x1a6002, 0x1a7d00,
    0x1a7f02, 0x1a8004, 0x1a8a00, 0x1a9004, 0x1a9a00, 0x1aa008, 0x1aa701, 0x1aa808, 0x1aae00,
    0x1ab002, 0x1acf00, 0x1b0002, 0x1b0501, 0x1b3402, 0x1b4501, 0x1b4d00, 0x1b5004, 0x1b5a08,
    0x1b6110, 0x1b6b02, 0x1b7410, 0x1b7d08, 0x1b7f00, 0x1b8002, 0x1b8301, 0x1ba102, 0x1bae01,
    0x1bb004, 0x1bba01, 0x1be602, 0x1bf400, 0x1bfc08, 0x1c0001, 0x1c2402, 0x1c3800, 0x1c3b08,
    0x1c4004, 0x1c4a00, 0x1c4d01, 0x1c5004, 0x1c5a01, 0x1c7e08, 0x1c8001, 0x1c8900, 0x1c9001,
    0x1cbb00, 0x1cbd01, 0x1cc008, 0x1cc800, 0x1cd002, 0x1cd308, 0x1cd402, 0x1ce901, 0x1ced02,
    0x1cee01, 0x1cf402, 0x1cf501, 0x1cf702, 0x1cfa01, 0x1cfb00, 0x1d0001, 0x1dc002, 0x1e0001,
    0x1f1600, 0x1f1801, 0x1f1e00, 0x1f2001, 0x1f4600, 0x1f4801, 0x1f4e00, 0x1f5001, 0x1f5800,
    0x1f5901, 0x1f5a00, 0x1f5b01, 0x1f5c00, 0x1f5d01, 0x1f5e00, 0x1f5f01, 0x1f7e00, 0x1f8001,
    0x1fb500, 0x1fb601, 0x1fbd10, 0x1fbe01, 0x1fbf10, 0x1fc201, 0x1fc500, 0x1fc601, 0x1fcd10,
    0x1fd001, 0x1fd400, 0x1fd601, 0x1fdc00, 0x1fdd10, 0x1fe001, 0x1fed10, 0x1ff000, 0x1ff201,
    0x1ff500, 0x1ff601, 0x1ffd10, 0x1fff00, 0x200020, 0x200b00, 0x201008, 0x202820, 0x202a00,
    0x202f20, 0x203008, 0x204410, 0x204508, 0x205210, 0x205308, 0x205f20, 0x206000, 0x207004,
    0x207101, 0x207200, 0x207404, 0x207a10, 0x207d08, 0x207f01, 0x208004, 0x208a10, 0x208d08,
    0x208f00, 0x209001, 0x209d00, 0x20a010, 0x20c100, 0x20d002, 0x20f100, 0x210010, 0x210201,
    0x210310, 0x210701, 0x210810, 0x210a01, 0x211410, 0x211501, 0x211610, 0x211901, 0x211e10,
    0x212401, 0x212510, 0x212601, 0x212710, 0x212801, 0x212910, 0x212a01, 0x212e10, 0x212f01,
    0x213a10, 0x213c01, 0x214010, 0x214501, 0x214a10, 0x214e01, 0x214f10, 0x215004, 0x218301,
    0x218504, 0x218a10, 0x218c00, 0x219010, 0x230808, 0x230c10, 0x232908, 0x232b10, 0x242700,
    0x244010, 0x244b00, 0x246004, 0x249c10, 0x24ea04, 0x250010, 0x276808, 0x277604, 0x279410,
    0x27c508, 0x27c710, 0x27e608, 0x27f010, 0x298308, 0x299910, 0x29d808, 0x29dc10, 0x29fc08,
    0x29fe10, 0x2b7400, 0x2b7610, 0x2b9600, 0x2b9710, 0x2c0001, 0x2ce510, 0x2ceb01, 0x2cef02,
    0x2cf201, 0x2cf400, 0x2cf908, 0x2cfd04, 0x2cfe08, 0x2d0001, 0x2d2600, 0x2d2701, 0x2d2800,
    0x2d2d01, 0x2d2e00, 0x2d3001, 0x2d6800, 0x2d6f01, 0x2d7008, 0x2d7100, 0x2d7f02, 0x2d8001,
    0x2d9700, 0x2da001, 0x2da700, 0x2da801, 0x2daf00, 0x2db001, 0x2db700, 0x2db801, 0x2dbf00,
    0x2dc001, 0x2dc700, 0x2dc801, 0x2dcf00, 0x2dd001, 0x2dd700, 0x2dd801, 0x2ddf00, 0x2de002,
    0x2e0008, 0x2e2f01, 0x2e3008, 0x2e5010, 0x2e5208, 0x2e5e00, 0x2e8010, 0x2e9a00, 0x2e9b10,
    0x2ef400, 0x2f0010, 0x2fd600, 0x2ff010, 0x2ffc00, 0x300020, 0x300108, 0x300410, 0x300501,
    0x300704, 0x300808, 0x301210, 0x301408, 0x302010, 0x302104, 0x302a02, 0x303008, 0x303101,
    0x303610, 0x303804, 0x303b01, 0x303d08, 0x303e10, 0x304000, 0x304101, 0x309700, 0x309902,
    0x309b10, 0x309d01, 0x30a008, 0x30a101, 0x30fb08, 0x30fc01, 0x310000, 0x310501, 0x313000,
    0x313101, 0x318f00, 0x319010, 0x319204, 0x319610, 0x31a001, 0x31c010, 0x31e400, 0x31f001,
    0x320010, 0x321f00, 0x322004, 0x322a10, 0x324804, 0x325010, 0x325104, 0x326010, 0x328004,
    0x328a10, 0x32b104, 0x32c010, 0x340001, 0x4dc010, 0x4e0001, 0xa48d00, 0xa49010, 0xa4c700,
    0xa4d001, 0xa4fe08, 0xa50001, 0xa60d08, 0xa61001, 0xa62004, 0xa62a01, 0xa62c00, 0xa64001,
    0xa66f02, 0xa67308, 0xa67402, 0xa67e08, 0xa67f01, 0xa69e02, 0xa6a001, 0xa6e604, 0xa6f002,
    0xa6f208, 0xa6f800, 0xa70010, 0xa71701, 0xa72010, 0xa72201, 0xa78910, 0xa78b01, 0xa7cb00,
    0xa7d001, 0xa7d200, 0xa7d301, 0xa7d400, 0xa7d501, 0xa7da00, 0xa7f201, 0xa80202, 0xa80301,
    0xa80602, 0xa80701, 0xa80b02, 0xa80c01, 0xa82302, 0xa82810, 0xa82c02, 0xa82d00, 0xa83004,
    0xa83610, 0xa83a00, 0xa84001, 0xa87408, 0xa87800, 0xa88002, 0xa88201, 0xa8b402, 0xa8c600,
    0xa8ce08, 0xa8d004, 0xa8da00, 0xa8e002, 0xa8f201, 0xa8f808, 0xa8fb01, 0xa8fc08, 0xa8fd01,
    0xa8ff02, 0xa90004, 0xa90a01, 0xa92602, 0xa92e08, 0xa93001, 0xa94702, 0xa95400, 0xa95f08,
    0xa96001, 0xa97d00, 0xa98002, 0xa98401, 0xa9b302, 0xa9c108, 0xa9ce00, 0xa9cf01, 0xa9d004,
    0xa9da00, 0xa9de08, 0xa9e001, 0xa9e502, 0xa9e601, 0xa9f004, 0xa9fa01, 0xa9ff00, 0xaa0001,
    0xaa2902, 0xaa3700, 0xaa4001, 0xaa4302, 0xaa4401, 0xaa4c02, 0xaa4e00, 0xaa5004, 0xaa5a00,
    0xaa5c08, 0xaa6001, 0xaa7710, 0xaa7a01, 0xaa7b02, 0xaa7e01, 0xaab002, 0xaab101, 0xaab202,
    0xaab501, 0xaab702, 0xaab901, 0xaabe02, 0xaac001, 0xaac102, 0xaac201, 0xaac300, 0xaadb01,
    0xaade08, 0xaae001, 0xaaeb02, 0xaaf008, 0xaaf201, 0xaaf502, 0xaaf700, 0xab0101, 0xab0700,
    0xab0901, 0xab0f00, 0xab1101, 0xab1700, 0xab2001, 0xab2700, 0xab2801, 0xab2f00, 0xab3001,
    0xab5b10, 0xab5c01, 0xab6a10, 0xab6c00, 0xab7001, 0xabe302, 0xabeb08, 0xabec02, 0xabee00,
    0xabf004, 0xabfa00, 0xac0001, 0xd7a400, 0xd7b001, 0xd7c700, 0xd7cb01, 0xd7fc00, 0xf90001,
    0xfa6e00, 0xfa7001, 0xfada00, 0xfb0001, 0xfb0700, 0xfb1301, 0xfb1800, 0xfb1d01, 0xfb1e02,
    0xfb1f01, 0xfb2910, 0xfb2a01, 0xfb3700, 0xfb3801, 0xfb3d00, 0xfb3e01, 0xfb3f00, 0xfb4001,
    0xfb4200, 0xfb4301, 0xfb4500, 0xfb4601, 0xfbb210, 0xfbc300, 0xfbd301, 0xfd3e08, 0xfd4010,
    0xfd5001, 0xfd9000, 0xfd9201, 0xfdc800, 0xfdcf10, 0xfdd000, 0xfdf001, 0xfdfc10, 0xfe0002,
    0xfe1008, 0xfe1a00, 0xfe2002, 0xfe3008, 0xfe5300, 0xfe5408, 0xfe6210, 0xfe6308, 0xfe6410,
    0xfe6700, 0xfe6808, 0xfe6910, 0xfe6a08, 0xfe6c00, 0xfe7001, 0xfe7500, 0xfe7601, 0xfefd00,
    0xff0108, 0xff0410, 0xff0508, 0xff0b10, 0xff0c08, 0xff1004, 0xff1a08, 0xff1c10, 0xff1f08,
    0xff2101, 0xff3b08, 0xff3e10, 0xff3f08, 0xff4010, 0xff4101, 0xff5b08, 0xff5c10, 0xff5d08,
    0xff5e10, 0xff5f08, 0xff6601, 0xffbf00, 0xffc201, 0xffc800, 0xffca01, 0xffd000, 0xffd201,
    0xffd800, 0xffda01, 0xffdd00, 0xffe010, 0xffe700, 0xffe810, 0xffef00, 0xfffc10, 0xfffe00,
    0x1000001, 0x1000c00, 0x1000d01, 0x1002700, 0x1002801, 0x1003b00, 0x1003c01, 0x1003e00,
    0x1003f01, 0x1004e00, 0x1005001, 0x1005e00, 0x1008001, 0x100fb00, 0x1010008, 0x1010300,
    0x1010704, 0x1013400, 0x1013710, 0x1014004, 0x1017910, 0x1018a04, 0x1018c10, 0x1018f00,
    0x1019010, 0x1019d00, 0x101a010, 0x101a100, 0x101d010, 0x101fd02, 0x101fe00, 0x1028001,
    0x1029d00, 0x102a001, 0x102d100, 0x102e002, 0x102e104, 0x102fc00, 0x1030001, 0x1032004,
    0x1032400, 0x1032d01, 0x1034104, 0x1034201, 0x1034a04, 0x1034b00, 0x1035001, 0x1037602,
    0x1037b00, 0x1038001, 0x1039e00, 0x1039f08, 0x103a001, 0x103c400, 0x103c801, 0x103d008,
    0x103d104, 0x103d600, 0x1040001, 0x1049e00, 0x104a004, 0x104aa00, 0x104b001, 0x104d400,
    0x104d801, 0x104fc00, 0x1050001, 0x1052800, 0x1053001, 0x1056400, 0x1056f08, 0x1057001,
    0x1057b00, 0x1057c01, 0x1058b00, 0x1058c01, 0x1059300, 0x1059401, 0x1059600, 0x1059701,
    0x105a200, 0x105a301, 0x105b200, 0x105b301, 0x105ba00, 0x105bb01, 0x105bd00, 0x1060001,
    0x1073700, 0x1074001, 0x1075600, 0x1076001, 0x1076800, 0x1078001, 0x1078600, 0x1078701,
    0x107b100, 0x107b201, 0x107bb00, 0x1080001, 0x1080600, 0x1080801, 0x1080900, 0x1080a01,
    0x1083600, 0x1083701, 0x1083900, 0x1083c01, 0x1083d00, 0x1083f01, 0x1085600, 0x1085708,
    0x1085804, 0x1086001, 0x1087710, 0x1087904, 0x1088001, 0x1089f00, 0x108a704, 0x108b000,
    0x108e001, 0x108f300, 0x108f401, 0x108f600, 0x108fb04, 0x1090001, 0x1091604, 0x1091c00,
    0x1091f08, 0x1092001, 0x1093a00, 0x1093f08, 0x1094000, 0x1098001, 0x109b800, 0x109bc04,
    0x109be01, 0x109c004, 0x109d000, 0x109d204, 0x10a0001, 0x10a0102, 0x10a0400, 0x10a0502,
    0x10a0700, 0x10a0c02, 0x10a1001, 0x10a1400, 0x10a1501, 0x10a1800, 0x10a1901, 0x10a3600,
    0x10a3802, 0x10a3b00, 0x10a3f02, 0x10a4004, 0x10a4900, 0x10a5008, 0x10a5900, 0x10a6001,
    0x10a7d04, 0x10a7f08, 0x10a8001, 0x10a9d04, 0x10aa000, 0x10ac001, 0x10ac810, 0x10ac901,
    0x10ae502, 0x10ae700, 0x10aeb04, 0x10af008, 0x10af700, 0x10b0001, 0x10b3600, 0x10b3908,
    0x10b4001, 0x10b5600, 0x10b5804, 0x10b6001, 0x10b7300, 0x10b7804, 0x10b8001, 0x10b9200,
    0x10b9908, 0x10b9d00, 0x10ba904, 0x10bb000, 0x10c0001, 0x10c4900, 0x10c8001, 0x10cb300,
    0x10cc001, 0x10cf300, 0x10cfa04, 0x10d0001, 0x10d2402, 0x10d2800, 0x10d3004, 0x10d3a00,
    0x10e6004, 0x10e7f00, 0x10e8001, 0x10eaa00, 0x10eab02, 0x10ead08, 0x10eae00, 0x10eb001,
    0x10eb200, 0x10efd02, 0x10f0001, 0x10f1d04, 0x10f2701, 0x10f2800, 0x10f3001, 0x10f4602,
    0x10f5104, 0x10f5508, 0x10f5a00, 0x10f7001, 0x10f8202, 0x10f8608, 0x10f8a00, 0x10fb001,
    0x10fc504, 0x10fcc00, 0x10fe001, 0x10ff700, 0x1100002, 0x1100301, 0x1103802, 0x1104708,
    0x1104e00, 0x1105204, 0x1107002, 0x1107101, 0x1107302, 0x1107501, 0x1107600, 0x1107f02,
    0x1108301, 0x110b002, 0x110bb08, 0x110bd00, 0x110be08, 0x110c202, 0x110c300, 0x110d001,
    0x110e900, 0x110f004, 0x110fa00, 0x1110002, 0x1110301, 0x1112702, 0x1113500, 0x1113604,
    0x1114008, 0x1114401, 0x1114502, 0x1114701, 0x1114800, 0x1115001, 0x1117302, 0x1117408,
    0x1117601, 0x1117700, 0x1118002, 0x1118301, 0x111b302, 0x111c101, 0x111c508, 0x111c902,
    0x111cd08, 0x111ce02, 0x111d004, 0x111da01, 0x111db08, 0x111dc01, 0x111dd08, 0x111e000,
    0x111e104, 0x111f500, 0x1120001, 0x1121200, 0x1121301, 0x1122c02, 0x1123808, 0x1123e02,
    0x1123f01, 0x1124102, 0x1124200, 0x1128001, 0x1128700, 0x1128801, 0x1128900, 0x1128a01,
    0x1128e00, 0x1128f01, 0x1129e00, 0x1129f01, 0x112a908, 0x112aa00, 0x112b001, 0x112df02,
    0x112eb00, 0x112f004, 0x112fa00, 0x1130002, 0x1130400, 0x1130501, 0x1130d00, 0x1130f01,
    0x1131100, 0x1131301, 0x1132900, 0x1132a01, 0x1133100, 0x1133201, 0x1133400, 0x1133501,
    0x1133a00, 0x1133b02, 0x1133d01, 0x1133e02, 0x1134500, 0x1134702, 0x1134900, 0x1134b02,
    0x1134e00, 0x1135001, 0x1135100, 0x1135702, 0x1135800, 0x1135d01, 0x1136202, 0x1136400,
    0x1136602, 0x1136d00, 0x1137002, 0x1137500, 0x1140001, 0x1143502, 0x1144701, 0x1144b08,
    0x1145004, 0x1145a08, 0x1145c00, 0x1145d08, 0x1145e02, 0x1145f01, 0x1146200, 0x1148001,
    0x114b002, 0x114c401, 0x114c608, 0x114c701, 0x114c800, 0x114d004, 0x114da00, 0x1158001,
    0x115af02, 0x115b600, 0x115b802, 0x115c108, 0x115d801, 0x115dc02, 0x115de00, 0x1160001,
    0x1163002, 0x1164108, 0x1164401, 0x1164500, 0x1165004, 0x1165a00, 0x1166008, 0x1166d00,
    0x1168001, 0x116ab02, 0x116b801, 0x116b908, 0x116ba00, 0x116c004, 0x116ca00, 0x1170001,
    0x1171b00, 0x1171d02, 0x1172c00, 0x1173004, 0x1173c08, 0x1173f10, 0x1174001, 0x1174700,
    0x1180001, 0x1182c02, 0x1183b08, 0x1183c00, 0x118a001, 0x118e004, 0x118f300, 0x118ff01,
    0x1190700, 0x1190901, 0x1190a00, 0x1190c01, 0x1191400, 0x1191501, 0x1191700, 0x1191801,
    0x1193002, 0x1193600, 0x1193702, 0x1193900, 0x1193b02, 0x1193f01, 0x1194002, 0x1194101,
    0x1194202, 0x1194408, 0x1194700, 0x1195004, 0x1195a00, 0x119a001, 0x119a800, 0x119aa01,
    0x119d102, 0x119d800, 0x119da02, 0x119e101, 0x119e208, 0x119e301, 0x119e402, 0x119e500,
    0x11a0001, 0x11a0102, 0x11a0b01, 0x11a3302, 0x11a3a01, 0x11a3b02, 0x11a3f08, 0x11a4702,
    0x11a4800, 0x11a5001, 0x11a5102, 0x11a5c01, 0x11a8a02, 0x11a9a08, 0x11a9d01, 0x11a9e08,
    0x11aa300, 0x11ab001, 0x11af900, 0x11b0008, 0x11b0a00, 0x11c0001, 0x11c0900, 0x11c0a01,
    0x11c2f02, 0x11c3700, 0x11c3802, 0x11c4001, 0x11c4108, 0x11c4600, 0x11c5004, 0x11c6d00,
    0x11c7008, 0x11c7201, 0x11c9000, 0x11c9202, 0x11ca800, 0x11ca902, 0x11cb700, 0x11d0001,
    0x11d0700, 0x11d0801, 0x11d0a00, 0x11d0b01, 0x11d3102, 0x11d3700, 0x11d3a02, 0x11d3b00,
    0x11d3c02, 0x11d3e00, 0x11d3f02, 0x11d4601, 0x11d4702, 0x11d4800, 0x11d5004, 0x11d5a00,
    0x11d6001, 0x11d6600, 0x11d6701, 0x11d6900, 0x11d6a01, 0x11d8a02, 0x11d8f00, 0x11d9002,
    0x11d9200, 0x11d9302, 0x11d9801, 0x11d9900, 0x11da004, 0x11daa00, 0x11ee001, 0x11ef302,
    0x11ef708, 0x11ef900, 0x11f0002, 0x11f0201, 0x11f0302, 0x11f0401, 0x11f1100, 0x11f1201,
    0x11f3402, 0x11f3b00, 0x11f3e02, 0x11f4308, 0x11f5004, 0x11f5a00, 0x11fb001, 0x11fb100,
    0x11fc004, 0x11fd510, 0x11ff200, 0x11fff08, 0x1200001, 0x1239a00, 0x1240004, 0x1246f00,
    0x1247008, 0x1247500, 0x1248001, 0x1254400, 0x12f9001, 0x12ff108, 0x12ff300, 0x1300001,
    0x1343000, 0x1344002, 0x1344101, 0x1344702, 0x1345600, 0x1440001, 0x1464700, 0x1680001,
    0x16a3900, 0x16a4001, 0x16a5f00, 0x16a6004, 0x16a6a00, 0x16a6e08, 0x16a7001, 0x16abf00,
    0x16ac004, 0x16aca00, 0x16ad001, 0x16aee00, 0x16af002, 0x16af508, 0x16af600, 0x16b0001,
    0x16b3002, 0x16b3708, 0x16b3c10, 0x16b4001, 0x16b4408, 0x16b4510, 0x16b4600, 0x16b5004,
    0x16b5a00, 0x16b5b04, 0x16b6200, 0x16b6301, 0x16b7800, 0x16b7d01, 0x16b9000, 0x16e4001,
    0x16e8004, 0x16e9708, 0x16e9b00, 0x16f0001, 0x16f4b00, 0x16f4f02, 0x16f5001, 0x16f5102,
    0x16f8800, 0x16f8f02, 0x16f9301, 0x16fa000, 0x16fe001, 0x16fe208, 0x16fe301, 0x16fe402,
    0x16fe500, 0x16ff002, 0x16ff200, 0x1700001, 0x187f800, 0x1880001, 0x18cd600, 0x18d0001,
    0x18d0900, 0x1aff001, 0x1aff400, 0x1aff501, 0x1affc00, 0x1affd01, 0x1afff00, 0x1b00001,
    0x1b12300, 0x1b13201, 0x1b13300, 0x1b15001, 0x1b15300, 0x1b15501, 0x1b15600, 0x1b16401,
    0x1b16800, 0x1b17001, 0x1b2fc00, 0x1bc0001, 0x1bc6b00, 0x1bc7001, 0x1bc7d00, 0x1bc8001,
    0x1bc8900, 0x1bc9001, 0x1bc9a00, 0x1bc9c10, 0x1bc9d02, 0x1bc9f08, 0x1bca000, 0x1cf0002,
    0x1cf2e00, 0x1cf3002, 0x1cf4700, 0x1cf5010, 0x1cfc400, 0x1d00010, 0x1d0f600, 0x1d10010,
    0x1d12700, 0x1d12910, 0x1d16502, 0x1d16a10, 0x1d16d02, 0x1d17300, 0x1d17b02, 0x1d18310,
    0x1d18502, 0x1d18c10, 0x1d1aa02, 0x1d1ae10, 0x1d1eb00, 0x1d20010, 0x1d24202, 0x1d24510,
    0x1d24600, 0x1d2c004, 0x1d2d400, 0x1d2e004, 0x1d2f400, 0x1d30010, 0x1d35700, 0x1d36004,
    0x1d37900, 0x1d40001, 0x1d45500, 0x1d45601, 0x1d49d00, 0x1d49e01, 0x1d4a000, 0x1d4a201,
    0x1d4a300, 0x1d4a501, 0x1d4a700, 0x1d4a901, 0x1d4ad00, 0x1d4ae01, 0x1d4ba00, 0x1d4bb01,
    0x1d4bc00, 0x1d4bd01, 0x1d4c400, 0x1d4c501, 0x1d50600, 0x1d50701, 0x1d50b00, 0x1d50d01,
    0x1d51500, 0x1d51601, 0x1d51d00, 0x1d51e01, 0x1d53a00, 0x1d53b01, 0x1d53f00, 0x1d54001,
    0x1d54500, 0x1d54601, 0x1d54700, 0x1d54a01, 0x1d55100, 0x1d55201, 0x1d6a600, 0x1d6a801,
    0x1d6c110, 0x1d6c201, 0x1d6db10, 0x1d6dc01, 0x1d6fb10, 0x1d6fc01, 0x1d71510, 0x1d71601,
    0x1d73510, 0x1d73601, 0x1d74f10, 0x1d75001, 0x1d76f10, 0x1d77001, 0x1d78910, 0x1d78a01,
    0x1d7a910, 0x1d7aa01, 0x1d7c310, 0x1d7c401, 0x1d7cc00, 0x1d7ce04, 0x1d80010, 0x1da0002,
    0x1da3710, 0x1da3b02, 0x1da6d10, 0x1da7502, 0x1da7610, 0x1da8402, 0x1da8510, 0x1da8708,
    0x1da8c00, 0x1da9b02, 0x1daa000, 0x1daa102, 0x1dab000, 0x1df0001, 0x1df1f00, 0x1df2501,
    0x1df2b00, 0x1e00002, 0x1e00700, 0x1e00802, 0x1e01900, 0x1e01b02, 0x1e02200, 0x1e02302,
    0x1e02500, 0x1e02602, 0x1e02b00, 0x1e03001, 0x1e06e00, 0x1e08f02, 0x1e09000, 0x1e10001,
    0x1e12d00, 0x1e13002, 0x1e13701, 0x1e13e00, 0x1e14004, 0x1e14a00, 0x1e14e01, 0x1e14f10,
    0x1e15000, 0x1e29001, 0x1e2ae02, 0x1e2af00, 0x1e2c001, 0x1e2ec02, 0x1e2f004, 0x1e2fa00,
    0x1e2ff10, 0x1e30000, 0x1e4d001, 0x1e4ec02, 0x1e4f004, 0x1e4fa00, 0x1e7e001, 0x1e7e700,
    0x1e7e801, 0x1e7ec00, 0x1e7ed01, 0x1e7ef00, 0x1e7f001, 0x1e7ff00, 0x1e80001, 0x1e8c500,
    0x1e8c704, 0x1e8d002, 0x1e8d700, 0x1e90001, 0x1e94402, 0x1e94b01, 0x1e94c00, 0x1e95004,
    0x1e95a00, 0x1e95e08, 0x1e96000, 0x1ec7104, 0x1ecac10, 0x1ecad04, 0x1ecb010, 0x1ecb104,
    0x1ecb500, 0x1ed0104, 0x1ed2e10, 0x1ed2f04, 0x1ed3e00, 0x1ee0001, 0x1ee0400, 0x1ee0501,
    0x1ee2000, 0x1ee2101, 0x1ee2300, 0x1ee2401, 0x1ee2500, 0x1ee2701, 0x1ee2800, 0x1ee2901,
    0x1ee3300, 0x1ee3401, 0x1ee3800, 0x1ee3901, 0x1ee3a00, 0x1ee3b01, 0x1ee3c00, 0x1ee4201,
    0x1ee4300, 0x1ee4701, 0x1ee4800, 0x1ee4901, 0x1ee4a00, 0x1ee4b01, 0x1ee4c00, 0x1ee4d01,
    0x1ee5000, 0x1ee5101, 0x1ee5300, 0x1ee5401, 0x1ee5500, 0x1ee5701, 0x1ee5800, 0x1ee5901,
    0x1ee5a00, 0x1ee5b01, 0x1ee5c00, 0x1ee5d01, 0x1ee5e00, 0x1ee5f01, 0x1ee6000, 0x1ee6101,
    0x1ee6300, 0x1ee6401, 0x1ee6500, 0x1ee6701, 0x1ee6b00, 0x1ee6c01, 0x1ee7300, 0x1ee7401,
    0x1ee7800, 0x1ee7901, 0x1ee7d00, 0x1ee7e01, 0x1ee7f00, 0x1ee8001, 0x1ee8a00, 0x1ee8b01,
    0x1ee9c00, 0x1eea101, 0x1eea400, 0x1eea501, 0x1eeaa00, 0x1eeab01, 0x1eebc00, 0x1eef010,
    0x1eef200, 0x1f00010, 0x1f02c00, 0x1f03010, 0x1f09400, 0x1f0a010, 0x1f0af00, 0x1f0b110,
    0x1f0c000, 0x1f0c110, 0x1f0d000, 0x1f0d110, 0x1f0f600, 0x1f10004, 0x1f10d10, 0x1f1ae00,
    0x1f1e610, 0x1f20300, 0x1f21010, 0x1f23c00, 0x1f24010, 0x1f24900, 0x1f25010, 0x1f25200,
    0x1f26010, 0x1f26600, 0x1f30010, 0x1f6d800, 0x1f6dc10, 0x1f6ed00, 0x1f6f010, 0x1f6fd00,
    0x1f70010, 0x1f77700, 0x1f77b10, 0x1f7da00, 0x1f7e010, 0x1f7ec00, 0x1f7f010, 0x1f7f100,
    0x1f80010, 0x1f80c00, 0x1f81010, 0x1f84800, 0x1f85010, 0x1f85a00, 0x1f86010, 0x1f88800,
    0x1f89010, 0x1f8ae00, 0x1f8b010, 0x1f8b200, 0x1f90010, 0x1fa5400, 0x1fa6010, 0x1fa6e00,
    0x1fa7010, 0x1fa7d00, 0x1fa8010, 0x1fa8900, 0x1fa9010, 0x1fabe00, 0x1fabf10, 0x1fac600,
    0x1face10, 0x1fadc00, 0x1fae010, 0x1fae900, 0x1faf010, 0x1faf900, 0x1fb0010, 0x1fb9300,
    0x1fb9410, 0x1fbcb00, 0x1fbf004, 0x1fbfa00, 0x2000001, 0x2a6e000, 0x2a70001, 0x2b73a00,
    0x2b74001, 0x2b81e00, 0x2b82001, 0x2cea200, 0x2ceb001, 0x2ebe100, 0x2f80001, 0x2fa1e00,
    0x3000001, 0x3134b00, 0x3135001, 0x323b000, 0xe010002, 0xe01f000,
};
/* END unicode tables */

static unsigned unicode_class(uint32_t cp) {
    if (cp < 128) return unicode_ascii[cp];
    if (cp > 0x10FFFF) return 0; /* includes the invalid-byte marker */
    size_t lo = 0, hi = sizeof unicode_ranges / sizeof unicode_ranges[0];
    while (hi - lo > 1) { /* last range starting at or before cp */
        size_t mid = lo + (hi - lo) / 2;
        if ((unicode_ranges[mid] >> 8) <= cp) lo = mid;
        else hi = mid;
    }
    return unicode_ranges[lo] & 0xFFu;
}

/* A byte that does not start a valid UTF-8 sequence decodes as this marker, one
   byte long, with no Unicode class: invalid input still tokenizes (into byte
   tokens) and decodes back to the same bytes. */
#define CP_INVALID 0xFFFFFFFFu

static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    uint32_t b = s[0], c, min;
    size_t len;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) len = 2, c = b & 0x1F, min = 0x80;
    else if (b >= 0xE0 && b <= 0xEF) len = 3, c = b & 0x0F, min = 0x800;
    else if (b >= 0xF0 && b <= 0xF4) len = 4, c = b & 0x07, min = 0x10000;
    else goto invalid;
    if (len > n) goto invalid;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto invalid;
        c = c << 6 | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) goto invalid;
    *cp = c;
    return len;
invalid:
    *cp = CP_INVALID;
    return 1;
}

/* GPT-2's bytes_to_unicode (dsv3-tokenizer.md §1.1): printable bytes stand for
   themselves; the other 68, in increasing order, for U+0100..U+0143. */
static int byte_is_printable(uint32_t b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static int byte_from_alphabet(uint32_t cp) {
    if (cp <= 0xFF) return byte_is_printable(cp) ? (int)cp : -1;
    if (cp > 0x143) return -1;
    uint32_t k = cp - 0x100; /* index among the non-printable bytes */
    if (k <= 0x20) return (int)k;                /* 0x00..0x20 */
    if (k <= 0x20 + 34) return (int)(k - 33 + 0x7F); /* 0x7F..0xA0 */
    return 0xAD;
}

static uint32_t byte_to_alphabet(uint32_t b) {
    if (byte_is_printable(b)) return b;
    if (b <= 0x20) return 0x100 + b;
    if (b >= 0x7F && b <= 0xA0) return 0x100 + 33 + (b - 0x7F);
    return 0x143; /* 0xAD */
}

/* GGUF token types (llama.cpp's llama_token_type). */
enum { TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_USER_DEFINED = 4,
       TOKEN_UNUSED = 5, TOKEN_BYTE = 6 };

enum { PRE_DEEPSEEK_V3 = 1, PRE_DEEPSEEK_LLM = 2 };
enum { CHAT_STYLE_V3 = 1, CHAT_STYLE_R1 = 2 };

typedef struct merge_entry {
    int32_t left, right; /* token ids; left < 0: empty slot */
    int32_t rank, result;
} merge_entry;

/* One node of the added-token trie: children are a sibling list. */
typedef struct trie_node {
    int32_t child, sibling;
    int32_t token;          /* token that ends here, or -1 */
    uint8_t byte;
} trie_node;

typedef struct vocab {
    int present;            /* a usable BPE tokenizer was loaded */
    int pre;                /* PRE_* */
    int chat_style;         /* CHAT_STYLE_* guessed from the file */
    uint32_t n_tokens, n_merges;
    uint8_t *types;         /* per token, TOKEN_* */
    uint32_t *offsets;      /* n_tokens + 1 offsets into text */
    uint8_t *text;          /* NORMAL tokens as raw bytes, others as written */
    int32_t *token_hash;    /* NORMAL tokens by their bytes; -1 empty */
    size_t token_mask;
    merge_entry *merges;
    size_t merge_mask;
    int32_t byte_token[256];
    trie_node *trie;        /* node 0 is the root */
    size_t n_trie;
    uint8_t special_first[256]; /* bytes that can start an added token */
    int32_t bos, eos, pad;
    int add_bos;
} vocab;

static uint64_t hash_mix(uint64_t x) { /* splitmix64's finalizer */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t hash_bytes(const uint8_t *s, size_t n) {
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a, then mixed */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001B3ull;
    return hash_mix(h ^ n);
}

static size_t token_len(const vocab *v, int32_t id) { return v->offsets[id + 1] - v->offsets[id]; }
static const uint8_t *token_bytes(const vocab *v, int32_t id) { return v->text + v->offsets[id]; }

static int32_t vocab_find(const vocab *v, const uint8_t *s, size_t n) {
    for (size_t i = (size_t)hash_bytes(s, n) & v->token_mask;; i = (i + 1) & v->token_mask) {
        int32_t id = v->token_hash[i];
        if (id < 0) return -1;
        if (token_len(v, id) == n && memcmp(token_bytes(v, id), s, n) == 0) return id;
    }
}

static const merge_entry *merge_find(const vocab *v, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    for (size_t i = (size_t)hash_mix(key) & v->merge_mask;; i = (i + 1) & v->merge_mask) {
        const merge_entry *e = &v->merges[i];
        if (e->left < 0) return NULL;
        if (e->left == left && e->right == right) return e;
    }
}

static void vocab_release(vocab *v, const allocator *a) {
    mem_free(a, v->types);
    mem_free(a, v->offsets);
    mem_free(a, v->text);
    mem_free(a, v->token_hash);
    mem_free(a, v->merges);
    mem_free(a, v->trie);
    memset(v, 0, sizeof *v);
}

/* Walks a GGUF string array: *pos starts at the first element (bounds were
   validated when the file was parsed). */
static gguf_str gguf_next_str(const uint8_t **pos) {
    gguf_str s;
    s.len = (size_t)read_u64le(*pos);
    s.ptr = (const char *)*pos + 8;
    *pos += 8 + s.len;
    return s;
}

/* Decodes a token written in the byte-level alphabet into out (room for
   4 * len bytes); code points outside the alphabet are kept as UTF-8. */
static size_t alphabet_decode(const uint8_t *s, size_t n, uint8_t *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        int b = cp == CP_INVALID ? -1 : byte_from_alphabet(cp);
        if (b >= 0) {
            out[o++] = (uint8_t)b;
        } else {
            memmove(out + o, s + i, l); /* may overlap: decoding runs in place */
            o += l;
        }
        i += l;
    }
    return o;
}

static void trie_insert(vocab *v, const uint8_t *s, size_t n, int32_t token) {
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = v->trie[node].child;
        while (c >= 0 && v->trie[c].byte != s[i]) c = v->trie[c].sibling;
        if (c < 0) {
            c = (int32_t)v->n_trie++;
            v->trie[c].child = -1;
            v->trie[c].token = -1;
            v->trie[c].byte = s[i];
            v->trie[c].sibling = v->trie[node].child;
            v->trie[node].child = c;
        }
        node = c;
    }
    if (v->trie[node].token < 0) v->trie[node].token = token; /* first of duplicates wins */
}

static size_t pow2_at_least(size_t n) {
    size_t p = 16;
    while (p < n) p *= 2;
    return p;
}

/* Loads the tokenizer from the tokenizer.ggml.* metadata. A file without a
   token list, or with tokens but no merges (the tiny test models), simply has
   no tokenizer (v->present = 0); a BPE file dsv3 cannot tokenize exactly is an
   error. *skipped_merges counts merges that name tokens not in the vocab. */
static int32_t vocab_load(vocab *v, const gguf_file *g, const allocator *a, size_t *skipped_merges,
                          error_slot *err) {
    int32_t st;
    int found;
    memset(v, 0, sizeof *v);
    *skipped_merges = 0;
    const gguf_kv *tokens = gguf_find(g, "tokenizer.ggml.tokens");
    const gguf_kv *merges = gguf_find(g, "tokenizer.ggml.merges");
    if (!tokens || !merges) return DSV3_OK;
    gguf_str model = {"", 0}, pre = {"", 0};
    if ((st = meta_string(g, "tokenizer.ggml.model", &model, &found, err))) return st;
    if (!gguf_str_eq(model, "gpt2"))
        return fail(err, DSV3_ERR_UNSUPPORTED, "tokenizer.ggml.model '%.*s' is not supported (dsv3 reads \"gpt2\" byte-level BPE)",
                    (int)model.len, model.ptr);
    if ((st = meta_string(g, "tokenizer.ggml.pre", &pre, &found, err))) return st;
    if (gguf_str_eq(pre, "deepseek-v3") || gguf_str_eq(pre, "deepseek-v3.1")) {
        v->pre = PRE_DEEPSEEK_V3; /* V3.1 has the same tokenizer (dsv3-tokenizer.md §3.1) */
    } else if (gguf_str_eq(pre, "deepseek-llm")) {
        v->pre = PRE_DEEPSEEK_LLM;
    } else {
        return fail(err, DSV3_ERR_UNSUPPORTED,
                    "tokenizer.ggml.pre '%.*s' is not supported (dsv3 knows \"deepseek-v3\" and \"deepseek-llm\")",
                    found ? (int)pre.len : 9, found ? pre.ptr : "(missing)");
    }
    if (tokens->type != GGUF_ARRAY || tokens->array_type != GGUF_STRING)
        return fail(err, DSV3_ERR_BAD_MODEL, "key 'tokenizer.ggml.tokens' is not an array of strings");
    if (merges->type != GGUF_ARRAY || merges->array_type != GGUF_STRING)
        return fail(err, DSV3_ERR_BAD_MODEL, "key 'tokenizer.ggml.merges' is not an array of strings");
    if (tokens->array_count == 0 || tokens->array_count > (uint64_t)INT32_MAX / 4)
        return fail(err, DSV3_ERR_BAD_MODEL, "tokenizer.ggml.tokens has %llu entries",
                    (unsigned long long)tokens->array_count);
    if (merges->array_count > (uint64_t)INT32_MAX / 4)
        return fail(err, DSV3_ERR_BAD_MODEL, "tokenizer.ggml.merges has %llu entries",
                    (unsigned long long)merges->array_count);
    uint32_t n = (uint32_t)tokens->array_count;
    v->n_tokens = n;

    const gguf_kv *types = gguf_find(g, "tokenizer.ggml.token_type");
    if (types && (types->type != GGUF_ARRAY || types->array_count != n ||
                  (types->array_type != GGUF_I32 && types->array_type != GGUF_U32)))
        return fail(err, DSV3_ERR_BAD_MODEL, "tokenizer.ggml.token_type is not an array of %u integers", n);

    /* Sizes first: decoded NORMAL tokens never grow, others are copied. */
    size_t text_bytes = 0;
    const uint8_t *pos = tokens->value;
    for (uint32_t i = 0; i < n; i++) {
        gguf_str s = gguf_next_str(&pos);
        if (s.len > UINT32_MAX / 8 || text_bytes + s.len > UINT32_MAX / 2)
            return fail(err, DSV3_ERR_BAD_MODEL, "token %u is too long", i);
        text_bytes += s.len;
    }
    v->types = (uint8_t *)mem_alloc(a, n);
    v->offsets = (uint32_t *)mem_alloc(a, ((size_t)n + 1) * sizeof(uint32_t));
    v->text = (uint8_t *)mem_alloc(a, text_bytes);
    v->token_mask = pow2_at_least(2 * (size_t)n) - 1;
    v->token_hash = (int32_t *)mem_alloc(a, (v->token_mask + 1) * sizeof(int32_t));
    v->merge_mask = pow2_at_least(2 * (size_t)merges->array_count) - 1;
    v->merges = (merge_entry *)mem_alloc(a, (v->merge_mask + 1) * sizeof(merge_entry));
    if (!v->types || !v->offsets || !v->text || !v->token_hash || !v->merges)
        return fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory loading a vocabulary of %u tokens", n);
    memset(v->token_hash, 0xFF, (v->token_mask + 1) * sizeof(int32_t));
    for (size_t i = 0; i <= v->merge_mask; i++) v->merges[i].left = -1;

    size_t special_bytes = 0, o = 0;
    pos = tokens->value;
    for (uint32_t i = 0; i < n; i++) {
        gguf_str s = gguf_next_str(&pos);
        int32_t type = TOKEN_NORMAL;
        if (types) type = (int32_t)read_u32le(types->value + 4 * (size_t)i);
        if (type < TOKEN_NORMAL || type > TOKEN_BYTE) type = TOKEN_NORMAL;
        v->types[i] = (uint8_t)type;
        v->offsets[i] = (uint32_t)o;
        if (type == TOKEN_NORMAL || type == TOKEN_BYTE) {
            /* in place is safe: decoding only ever shrinks */
            memcpy(v->text + o, s.ptr, s.len);
            o += alphabet_decode(v->text + o, s.len, v->text + o);
        } else {
            memcpy(v->text + o, s.ptr, s.len);
            o += s.len;
            if ((type == TOKEN_CONTROL || type == TOKEN_USER_DEFINED) && s.len) special_bytes += s.len;
        }
    }
    v->offsets[n] = (uint32_t)o;
    for (uint32_t i = 0; i < n; i++) {
        if (v->types[i] != TOKEN_NORMAL && v->types[i] != TOKEN_BYTE) continue;
        size_t len = token_len(v, (int32_t)i);
        if (len == 0) continue;
        if (vocab_find(v, token_bytes(v, (int32_t)i), len) >= 0) continue; /* first wins */
        size_t h = (size_t)hash_bytes(token_bytes(v, (int32_t)i), len) & v->token_mask;
        while (v->token_hash[h] >= 0) h = (h + 1) & v->token_mask;
        v->token_hash[h] = (int32_t)i;
    }
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        v->byte_token[b] = vocab_find(v, &byte, 1);
        if (v->byte_token[b] < 0) {
            /* DeepSeek LLM's vocabulary lacks the bytes that never occur in
               UTF-8 (C0, C1, F5..FF) among its BPE tokens and has their
               alphabet characters as added tokens instead; like llama.cpp,
               use those (only invalid UTF-8 input reaches them). */
            uint32_t cp = byte_to_alphabet((uint32_t)b);
            uint8_t want[2] = {(uint8_t)(cp < 0x80 ? cp : 0xC0 | cp >> 6), (uint8_t)(0x80 | (cp & 0x3F))};
            size_t want_len = cp < 0x80 ? 1 : 2;
            for (uint32_t i = 0; i < n && v->byte_token[b] < 0; i++)
                if (v->types[i] != TOKEN_NORMAL && token_len(v, (int32_t)i) == want_len &&
                    memcmp(token_bytes(v, (int32_t)i), want, want_len) == 0)
                    v->byte_token[b] = (int32_t)i;
        }
        if (v->byte_token[b] < 0)
            return fail(err, DSV3_ERR_BAD_MODEL, "the vocabulary has no token for byte 0x%02X: not a byte-level BPE vocabulary", b);
    }

    /* Merges "left right" in the alphabet, rank = position in the list. */
    uint8_t buf[1024];
    pos = merges->value;
    for (uint32_t r = 0; r < (uint32_t)merges->array_count; r++) {
        gguf_str s = gguf_next_str(&pos);
        const char *space = s.len ? (const char *)memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        if (!space || s.len > sizeof buf / 2) {
            (*skipped_merges)++;
            continue;
        }
        size_t left_len = alphabet_decode((const uint8_t *)s.ptr, (size_t)(space - s.ptr), buf);
        size_t right_len = alphabet_decode((const uint8_t *)space + 1, s.len - (size_t)(space - s.ptr) - 1, buf + left_len);
        int32_t left = vocab_find(v, buf, left_len), right = vocab_find(v, buf + left_len, right_len);
        int32_t result = vocab_find(v, buf, left_len + right_len);
        if (left < 0 || right < 0 || result < 0) {
            (*skipped_merges)++;
            continue;
        }
        if (merge_find(v, left, right)) continue; /* the first rank wins */
        uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
        size_t h = (size_t)hash_mix(key) & v->merge_mask;
        while (v->merges[h].left >= 0) h = (h + 1) & v->merge_mask;
        v->merges[h].left = left;
        v->merges[h].right = right;
        v->merges[h].rank = (int32_t)r;
        v->merges[h].result = result;
        v->n_merges++;
    }

    /* Added tokens (CONTROL and USER_DEFINED) go in a byte trie. */
    v->trie = (trie_node *)mem_alloc(a, (special_bytes + 1) * sizeof(trie_node));
    if (!v->trie) return fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory for the added-token trie");
    v->trie[0].child = v->trie[0].sibling = v->trie[0].token = -1;
    v->trie[0].byte = 0;
    v->n_trie = 1;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = token_len(v, (int32_t)i);
        if ((v->types[i] != TOKEN_CONTROL && v->types[i] != TOKEN_USER_DEFINED) || len == 0) continue;
        trie_insert(v, token_bytes(v, (int32_t)i), len, (int32_t)i);
        v->special_first[token_bytes(v, (int32_t)i)[0]] = 1;
    }

    uint64_t id;
    v->bos = v->eos = v->pad = -1;
    if ((st = meta_uint(g, "tokenizer.ggml.bos_token_id", UINT32_MAX, &id, &found, err))) return st;
    if (found && id < n) v->bos = (int32_t)id;
    if ((st = meta_uint(g, "tokenizer.ggml.eos_token_id", UINT32_MAX, &id, &found, err))) return st;
    if (found && id < n) v->eos = (int32_t)id;
    if ((st = meta_uint(g, "tokenizer.ggml.padding_token_id", UINT32_MAX, &id, &found, err))) return st;
    if (found && id < n) v->pad = (int32_t)id;
    v->add_bos = 1; /* llama.cpp's default for gpt2-type vocabularies with a BOS */
    if ((st = meta_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos, &found, err))) return st;

    /* DeepSeek-R1's template strips reasoning from history and opens <think>
       for the answer; V3's does neither (dsv3-tokenizer.md §5.3). */
    gguf_str tmpl = {"", 0};
    if ((st = meta_string(g, "tokenizer.chat_template", &tmpl, &found, err))) return st;
    v->chat_style = CHAT_STYLE_V3;
    for (size_t i = 0; i + 8 <= tmpl.len; i++)
        if (memcmp(tmpl.ptr + i, "</think>", 8) == 0) v->chat_style = CHAT_STYLE_R1;
    v->present = 1;
    return DSV3_OK;
}

/* ---- Encoding ---- */

typedef struct bpe_symbol {
    int32_t id;          /* -1 once merged into its left neighbour */
    int32_t prev, next;  /* neighbours, -1 at the ends */
} bpe_symbol;

typedef struct bpe_pair {
    int32_t rank, left;  /* heap order: lowest rank, then leftmost */
    int32_t right, left_id, right_id, result;
} bpe_pair;

/* Recently seen short pieces and their ids: words repeat, and a hit skips
   the BPE. Direct-mapped, per call (the model stays read-only). */
#define PIECE_CACHE_BYTES 30
#define PIECE_CACHE_IDS 15
typedef struct piece_cache_slot {
    uint8_t len, n_ids;
    uint8_t bytes[PIECE_CACHE_BYTES];
    int32_t ids[PIECE_CACHE_IDS];
} piece_cache_slot;

typedef struct encoder {
    const vocab *v;
    const allocator *a;
    int32_t *out;
    size_t cap, n;       /* n counts every token, also past cap */
    bpe_symbol *sym;
    bpe_pair *heap;
    size_t scratch;      /* symbols the scratch holds */
    size_t n_heap;
    piece_cache_slot *cache; /* NULL: no cache (short texts) */
    size_t cache_mask;
    uint64_t work;       /* steps taken, for the tests' complexity check */
} encoder;

static void emit_token(encoder *e, int32_t id) {
    if (e->n < e->cap) e->out[e->n] = id;
    e->n++;
}

static int pair_less(const bpe_pair *x, const bpe_pair *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static void heap_push(encoder *e, int32_t left, int32_t right) {
    const merge_entry *m = merge_find(e->v, e->sym[left].id, e->sym[right].id);
    if (!m) return;
    bpe_pair p = {m->rank, left, right, e->sym[left].id, e->sym[right].id, m->result};
    size_t i = e->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_less(&p, &e->heap[parent])) break;
        e->heap[i] = e->heap[parent];
        i = parent;
        e->work++;
    }
    e->heap[i] = p;
}

static bpe_pair heap_pop(encoder *e) {
    bpe_pair top = e->heap[0], last = e->heap[--e->n_heap];
    size_t i = 0, n = e->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_less(&e->heap[c + 1], &e->heap[c])) c++;
        if (!pair_less(&e->heap[c], &last)) break;
        e->heap[i] = e->heap[c];
        i = c;
        e->work++;
    }
    if (n) e->heap[i] = last;
    return top;
}

/* Byte-level BPE on one pre-tokenized piece: repeatedly merge the adjacent pair
   of lowest merge rank (leftmost on ties) until no pair has a merge. A heap of
   candidate pairs with lazy invalidation makes it O(n log n) in the piece. */
static int32_t bpe_piece(encoder *e, const uint8_t *s, size_t n) {
    const vocab *v = e->v;
    if (n == 1) {
        emit_token(e, v->byte_token[s[0]]);
        return DSV3_OK;
    }
    piece_cache_slot *slot = NULL;
    if (e->cache && n <= PIECE_CACHE_BYTES) {
        slot = &e->cache[(size_t)hash_bytes(s, n) & e->cache_mask];
        if (slot->len == n && memcmp(slot->bytes, s, n) == 0) {
            for (size_t i = 0; i < slot->n_ids; i++) emit_token(e, slot->ids[i]);
            return DSV3_OK;
        }
    }
    if (n > e->scratch) {
        size_t want = n < 256 ? 256 : n;
        if (want > (size_t)INT32_MAX / 4) return DSV3_ERR_OUT_OF_MEMORY;
        mem_free(e->a, e->sym);
        mem_free(e->a, e->heap);
        e->sym = (bpe_symbol *)mem_alloc(e->a, want * sizeof *e->sym);
        e->heap = (bpe_pair *)mem_alloc(e->a, 3 * want * sizeof *e->heap);
        e->scratch = e->sym && e->heap ? want : 0;
        if (!e->scratch) return DSV3_ERR_OUT_OF_MEMORY;
    }
    bpe_symbol *sym = e->sym;
    for (size_t i = 0; i < n; i++) {
        sym[i].id = v->byte_token[s[i]];
        sym[i].prev = (int32_t)i - 1;
        sym[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    e->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) heap_push(e, (int32_t)i, (int32_t)i + 1);
    while (e->n_heap) {
        bpe_pair p = heap_pop(e);
        e->work++;
        bpe_symbol *l = &sym[p.left], *r = &sym[p.right];
        if (l->id != p.left_id || l->next != p.right || r->id != p.right_id) continue; /* stale */
        l->id = p.result;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        r->id = -1;
        if (l->prev >= 0) heap_push(e, l->prev, p.left);
        if (l->next >= 0) heap_push(e, p.left, l->next);
    }
    size_t n_ids = 0;
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        emit_token(e, sym[i].id);
        if (slot && n_ids < PIECE_CACHE_IDS) slot->ids[n_ids] = sym[i].id;
        n_ids++;
    }
    if (slot) {
        slot->len = 0; /* invalid unless it fits */
        if (n_ids <= PIECE_CACHE_IDS) {
            slot->len = (uint8_t)n;
            slot->n_ids = (uint8_t)n_ids;
            memcpy(slot->bytes, s, n);
        }
    }
    return DSV3_OK;
}

/* ---- Pre-tokenizers: each stage is one regex of the reference, applied with
   "Isolated" behaviour (matches and the text between them become pieces) to
   every piece of the stage before. A match function returns the length of the
   leftmost-first match at p, or 0; *resume may move the next attempt forward
   when no match can start before it. */

typedef size_t (*stage_match_fn)(const uint8_t *s, size_t n, size_t p, size_t *resume);

static unsigned class_at(const uint8_t *s, size_t n, size_t p, uint32_t *cp, size_t *len) {
    *len = utf8_decode(s + p, n - p, cp);
    return unicode_class(*cp);
}

/* Length of the run of characters from p whose class has any of the bits. */
static size_t run_of(const uint8_t *s, size_t n, size_t p, unsigned bits) {
    size_t q = p;
    while (q < n) {
        uint32_t cp;
        size_t l;
        if (!(class_at(s, n, q, &cp, &l) & bits)) break;
        q += l;
    }
    return q - p;
}

/* Length of the run of characters from p that satisfy a predicate. */
static size_t run_while(const uint8_t *s, size_t n, size_t p, int (*pred)(uint32_t)) {
    size_t q = p;
    while (q < n) {
        uint32_t cp;
        size_t l = utf8_decode(s + q, n - q, &cp);
        if (!pred(cp)) break;
        q += l;
    }
    return q - p;
}

static int is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

/* deepseek-v3 stage 1: \p{N}{1,3} */
static size_t match_v3_digits(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)resume;
    size_t q = p;
    for (int k = 0; k < 3 && q < n; k++) {
        uint32_t cp;
        size_t l;
        if (!(class_at(s, n, q, &cp, &l) & UC_N)) break;
        q += l;
    }
    return q - p;
}

/* [一-龥぀-ゟ゠-ヿ]: U+4E00..U+9FA5, U+3040..U+30FF */
static int is_v3_cjk(uint32_t cp) { return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x3040 && cp <= 0x30FF); }

/* deepseek-v3 stage 2: [一-龥぀-ゟ゠-ヿ]+ */
static size_t match_v3_cjk(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)resume;
    return run_while(s, n, p, is_v3_cjk);
}

static int is_ascii_alpha(uint32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_ascii_punct(uint32_t c) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* deepseek-v3 stage 3, the alternatives in order:
     [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
   | [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
   | ?[\p{P}\p{S}]+[\r\n]*
   | \s*[\r\n]+
   | \s+(?!\S)
   | \s+                                                                      */
static size_t match_v3_main(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)resume;
    uint32_t c0, c1 = CP_INVALID;
    size_t l0, l1 = 0;
    unsigned f0 = class_at(s, n, p, &c0, &l0), f1 = 0;
    if (p + l0 < n) f1 = class_at(s, n, p + l0, &c1, &l1);
    /* 1: one ASCII punctuation character, then ASCII letters */
    if (is_ascii_punct(c0) && p + 1 < n && is_ascii_alpha(s[p + 1])) {
        size_t q = p + 1;
        while (q < n && is_ascii_alpha(s[q])) q++;
        return q - p;
    }
    /* 2: an optional character that is not CR/LF/letter/punctuation/symbol,
       then letters and marks */
    if (!is_crlf(c0) && !(f0 & (UC_L | UC_P | UC_S)) && (f1 & (UC_L | UC_M)))
        return l0 + run_of(s, n, p + l0, UC_L | UC_M);
    if (f0 & (UC_L | UC_M)) return run_of(s, n, p, UC_L | UC_M);
    /* 3: an optional space, punctuation and symbols, then CR/LF */
    size_t q = p;
    if (c0 == ' ' && (f1 & (UC_P | UC_S))) q = p + 1;
    else if (!(f0 & (UC_P | UC_S))) q = n; /* no match */
    if (q < n) {
        q += run_of(s, n, q, UC_P | UC_S);
        while (q < n && (s[q] == '\r' || s[q] == '\n')) q++;
        return q - p;
    }
    if (!(f0 & UC_W)) return 0;
    /* 4: whitespace up to and including its last CR/LF */
    size_t end = p, last_crlf = 0, chars = 0, last_start = p;
    while (end < n) {
        uint32_t cp;
        size_t l;
        if (!(class_at(s, n, end, &cp, &l) & UC_W)) break;
        last_start = end;
        end += l;
        chars++;
        if (is_crlf(cp)) last_crlf = end;
    }
    if (last_crlf) return last_crlf - p;
    /* 5: whitespace not followed by a non-space: all of it at the end of the
       piece, else all but its last character; 6: \s+ (one character here) */
    if (end == n) return end - p;
    if (chars > 1) return last_start - p;
    return end - p;
}

/* deepseek-llm stage 1: [\r\n] */
static size_t match_llm_newline(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)n;
    (void)resume;
    return s[p] == '\r' || s[p] == '\n';
}

/* The letter class of deepseek-llm's second regex (llama.cpp llama-vocab.cpp,
   from DeepSeek LLM's tokenizer.json): these ranges, not \p{L}. */
static const uint32_t llm_letter_ranges[][2] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
    {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F},
    {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481},
    {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A},
    {0x1E00, 0x1F15}, {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57},
    {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4},
    {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124},
    {0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139},
    {0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B},
    {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06},
    {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
    {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

static int is_llm_letter(uint32_t cp) {
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    size_t lo = 0, hi = sizeof llm_letter_ranges / sizeof llm_letter_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < llm_letter_ranges[mid][0]) hi = mid;
        else if (cp > llm_letter_ranges[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* [!-/:-~！-／：-～‘-‟　-。] */
static int is_llm_punct(uint32_t cp) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x7E) || (cp >= 0xFF01 && cp <= 0xFF0F) ||
           (cp >= 0xFF1A && cp <= 0xFF5E) || (cp >= 0x2018 && cp <= 0x201F) || (cp >= 0x3000 && cp <= 0x3002);
}

/* \s?[class]+ for the two classes above */
static size_t match_llm_space_run(const uint8_t *s, size_t n, size_t p, int (*in_class)(uint32_t)) {
    uint32_t c0, c1 = CP_INVALID;
    size_t l0 = utf8_decode(s + p, n - p, &c0), start;
    if (p + l0 < n) utf8_decode(s + p + l0, n - p - l0, &c1);
    if ((unicode_class(c0) & UC_W) && in_class(c1)) start = p + l0;
    else if (in_class(c0)) start = p;
    else return 0;
    return start - p + run_while(s, n, start, in_class);
}

static size_t match_llm_letters(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)resume;
    return match_llm_space_run(s, n, p, is_llm_letter);
}

static size_t match_llm_punct(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)resume;
    return match_llm_space_run(s, n, p, is_llm_punct);
}

/* \s+$ : whitespace that reaches the end of the piece. A run that stops short
   fails at every position inside it, so the search resumes after it. */
static size_t match_llm_trailing_space(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    size_t q = p + run_of(s, n, p, UC_W);
    if (q == p) return 0;
    if (q == n) return q - p;
    *resume = q;
    return 0;
}

/* [一-龥ࠀ-一가-퟿]+ : U+4E00..U+9FA5, U+0800..U+4E00, U+AC00..U+D7FF */
static int is_llm_cjk(uint32_t cp) { return (cp >= 0x800 && cp <= 0x9FA5) || (cp >= 0xAC00 && cp <= 0xD7FF); }

static size_t match_llm_cjk(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)resume;
    return run_while(s, n, p, is_llm_cjk);
}

/* \p{N}+ */
static size_t match_llm_digits(const uint8_t *s, size_t n, size_t p, size_t *resume) {
    (void)resume;
    return run_of(s, n, p, UC_N);
}

static const stage_match_fn pre_v3_stages[] = {match_v3_digits, match_v3_cjk, match_v3_main};
static const stage_match_fn pre_llm_stages[] = {match_llm_newline, match_llm_letters, match_llm_punct,
                                                match_llm_trailing_space, match_llm_cjk, match_llm_digits};

static int32_t pretokenize(encoder *e, const stage_match_fn *stages, size_t n_stages, const uint8_t *s, size_t n) {
    if (n_stages == 0) return bpe_piece(e, s, n);
    int32_t st;
    size_t gap = 0, p = 0;
    while (p < n) {
        size_t resume = 0;
        size_t m = stages[0](s, n, p, &resume);
        e->work++;
        if (m == 0) {
            uint32_t cp;
            size_t next = p + utf8_decode(s + p, n - p, &cp);
            p = resume > next ? resume : next;
            continue;
        }
        if (gap < p && (st = pretokenize(e, stages + 1, n_stages - 1, s + gap, p - gap))) return st;
        if ((st = pretokenize(e, stages + 1, n_stages - 1, s + p, m))) return st;
        p += m;
        gap = p;
    }
    if (gap < n) return pretokenize(e, stages + 1, n_stages - 1, s + gap, n - gap);
    return DSV3_OK;
}

static int32_t encode_plain(encoder *e, const uint8_t *s, size_t n) {
    if (n == 0) return DSV3_OK;
    if (e->v->pre == PRE_DEEPSEEK_LLM)
        return pretokenize(e, pre_llm_stages, sizeof pre_llm_stages / sizeof pre_llm_stages[0], s, n);
    return pretokenize(e, pre_v3_stages, sizeof pre_v3_stages / sizeof pre_v3_stages[0], s, n);
}

/* The longest added token at p that may be matched: CONTROL ones only with
   parse_special, USER_DEFINED ones always (as llama.cpp does; Hugging Face
   always extracts its non-special added tokens). Returns its length, 0 if none. */
static size_t match_added_token(const vocab *v, const uint8_t *s, size_t n, size_t p, int parse_special,
                                int32_t *token) {
    size_t best = 0;
    int32_t node = 0;
    for (size_t q = p; q < n; q++) {
        int32_t c = v->trie[node].child;
        while (c >= 0 && v->trie[c].byte != s[q]) c = v->trie[c].sibling;
        if (c < 0) break;
        node = c;
        int32_t t = v->trie[node].token;
        if (t >= 0 && (parse_special || v->types[t] == TOKEN_USER_DEFINED)) {
            best = q + 1 - p;
            *token = t;
        }
    }
    return best;
}

static int32_t encode_text(encoder *e, const uint8_t *s, size_t n, int add_bos, int parse_special) {
    const vocab *v = e->v;
    int32_t st;
    if (add_bos && v->add_bos && v->bos >= 0) emit_token(e, v->bos);
    size_t start = 0;
    for (size_t p = 0; p < n; p++) {
        if (!v->special_first[s[p]]) continue;
        int32_t token = -1;
        size_t m = match_added_token(v, s, n, p, parse_special, &token);
        if (!m) continue;
        if ((st = encode_plain(e, s + start, p - start))) return st;
        emit_token(e, token);
        p += m - 1;
        start = p + 1;
    }
    return encode_plain(e, s + start, n - start);
}

/* A cache only pays off on longer texts; without memory it is simply off. */
static void encoder_init(encoder *e, const vocab *v, const allocator *a, int32_t *out, size_t cap, size_t text_len) {
    memset(e, 0, sizeof *e);
    e->v = v;
    e->a = a;
    e->out = out;
    e->cap = cap;
    if (text_len >= 4096) {
        size_t slots = pow2_at_least(text_len / 64 < 4096 ? text_len / 64 : 4096);
        e->cache = (piece_cache_slot *)mem_calloc(a, slots, sizeof *e->cache);
        if (e->cache) e->cache_mask = slots - 1;
    }
}

static void encoder_release(encoder *e) {
    mem_free(e->a, e->sym);
    mem_free(e->a, e->heap);
    mem_free(e->a, e->cache);
    e->sym = NULL;
    e->heap = NULL;
    e->cache = NULL;
    e->scratch = 0;
}

/* ---- Decoding ---- */

/* The bytes a token stands for: NORMAL tokens always, CONTROL/UNKNOWN/UNUSED
   ones only when rendering specials, USER_DEFINED ones (text such as <think>)
   always. */
static size_t token_piece(const vocab *v, int32_t token, int render_special, const uint8_t **bytes) {
    int type = v->types[token];
    *bytes = token_bytes(v, token);
    if (type == TOKEN_NORMAL || type == TOKEN_BYTE || type == TOKEN_USER_DEFINED || render_special)
        return token_len(v, token);
    return 0;
}

/* How many bytes at the end of s form the start of a UTF-8 character that more
   bytes could still complete (0..3). */
static size_t utf8_incomplete_tail(const uint8_t *s, size_t n) {
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        uint8_t b = s[n - back];
        if ((b & 0xC0) == 0x80) continue; /* continuation: look further back */
        size_t need = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 1;
        if (need <= back) return 0;
        /* a valid prefix? (second byte ranges of E0, ED, F0, F4) */
        if (back >= 2) {
            uint8_t c = s[n - back + 1];
            if ((b == 0xE0 && c < 0xA0) || (b == 0xED && c > 0x9F) || (b == 0xF0 && c < 0x90) || (b == 0xF4 && c > 0x8F))
                return 0;
        }
        return back;
    }
    return 0;
}

/* ---- Chat formatting ---- */

typedef struct text_out {
    char *buf;
    size_t cap, n; /* n counts every byte, also past cap */
} text_out;

static void out_bytes(text_out *o, const char *s, size_t n) {
    if (o->n < o->cap) memcpy(o->buf + o->n, s, o->cap - o->n < n ? o->cap - o->n : n);
    o->n += n;
}

static void out_str(text_out *o, const char *s) { out_bytes(o, s, strlen(s)); }

/* Text after the last "</think>", or all of it (R1's template:
   content.split('</think>')[-1]). */
static const char *after_last_think(const char *s) {
    const char *keep = s;
    for (const char *p = strstr(s, "</think>"); p; p = strstr(p + 1, "</think>")) keep = p + 8;
    return keep;
}

/* ==== 6. Scalar reference kernels (private) ============================== */
/* Plain C written for clarity: the reference that faster variants are tested
   against. Weights are only ever read through a tensor_view. */

/* A weight tensor inside the mapping: rows of ne[0] elements, nb[1] bytes apart.
   Rows are numbered across ne[1..3], so expert e's row r is e * ne[1] + r. */
typedef struct tensor_view {
    const char *name;   /* for messages; NUL-terminated copy in the model */
    uint32_t type;
    uint64_t ne[DSV3_MAX_DIMS];
    size_t row_bytes;
    const uint8_t *data; /* NULL: the tensor is absent */
} tensor_view;

static const uint8_t *view_row(const tensor_view *w, size_t row) { return w->data + row * w->row_bytes; }

/* out[r] = W[first_row + r] . x,  W rows of length ne[0] = len(x). */
static void matvec(const tensor_view *w, size_t first_row, size_t n_rows, const float *x, float *out) {
    row_dot_fn dot = type_table[w->type].dot;
    size_t n = (size_t)w->ne[0];
    for (size_t r = 0; r < n_rows; r++) out[r] = dot(view_row(w, first_row + r), x, n);
}

/* out[j] = sum_r coeff[r] * W[first_row + r][j]: a product with the transpose of
   a block of rows, used where a tensor is stored the other way round (legacy
   attn_kv_b). row_scratch holds ne[0] floats. */
static void matvec_transposed(const tensor_view *w, size_t first_row, size_t n_rows,
                              const float *coeff, float *out, float *row_scratch) {
    size_t n = (size_t)w->ne[0];
    row_to_f32_fn to_f32 = type_table[w->type].to_f32;
    for (size_t j = 0; j < n; j++) out[j] = 0.0f;
    for (size_t r = 0; r < n_rows; r++) {
        to_f32(view_row(w, first_row + r), row_scratch, n);
        for (size_t j = 0; j < n; j++) out[j] += coeff[r] * row_scratch[j];
    }
}

/* RMSNorm: out = x * w / sqrt(mean(x^2) + eps) (DeepSeek-V3 report §2.1). The
   weight is a vector of any supported type; weight_scratch holds n floats. */
static void rmsnorm(float *out, const float *x, const tensor_view *weight, size_t n, float eps,
                    float *weight_scratch) {
    type_table[weight->type].to_f32(weight->data, weight_scratch, n);
    double sum_sq = 0.0;
    for (size_t i = 0; i < n; i++) sum_sq += (double)x[i] * x[i];
    float inv = (float)(1.0 / sqrt(sum_sq / (double)n + eps));
    for (size_t i = 0; i < n; i++) out[i] = x[i] * inv * weight_scratch[i];
}

static void softmax(float *x, size_t n) {
    float max = x[0];
    for (size_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) x[i] *= inv;
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* SwiGLU: gate <- silu(gate) * up (DeepSeek-V3 report §2.1.2). */
static void swiglu(float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; i++) gate[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

static float dot_f32(const float *a, const float *b, size_t n) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

/* Rotates adjacent pairs (v[2i], v[2i+1]) by angle i (GGUF "NORM" rope type,
   the complex-pair form of DeepSeek's apply_rotary_emb; deepseek2-gguf.md §4.1). */
static void rope_rotate(float *v, const float *cos_sin, size_t n_pairs) {
    for (size_t i = 0; i < n_pairs; i++) {
        float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
        float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c - b * s;
        v[2 * i + 1] = a * s + b * c;
    }
}

/* KV cache rows in the element type chosen at context creation. */
static void kv_store(void *dst, int32_t kv_type, const float *src, size_t n) {
    if (kv_type == DSV3_KV_F32) {
        memcpy(dst, src, n * sizeof(float));
    } else {
        uint16_t *d = (uint16_t *)dst;
        for (size_t i = 0; i < n; i++) d[i] = kv_type == DSV3_KV_F16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
    }
}

static const float *kv_load(const void *src, int32_t kv_type, float *scratch, size_t n) {
    if (kv_type == DSV3_KV_F32) return (const float *)src;
    const uint16_t *s = (const uint16_t *)src;
    for (size_t i = 0; i < n; i++) scratch[i] = kv_type == DSV3_KV_F16 ? f16_to_f32(s[i]) : bf16_to_f32(s[i]);
    return scratch;
}

static size_t kv_element_size(int32_t kv_type) { return kv_type == DSV3_KV_F32 ? 4 : 2; }

/* ==== 7. Model: hyperparameters, tensor binding, load (private) ========== */

typedef struct layer_weights {
    tensor_view attn_norm;
    tensor_view q;                        /* plain query projection (q_lora_rank 0) */
    tensor_view q_a, q_a_norm, q_b;       /* low-rank query */
    tensor_view kv_a_mqa, kv_a_norm;
    tensor_view k_b, v_b;                 /* split layout */
    tensor_view kv_b;                     /* legacy layout */
    tensor_view attn_output;
    tensor_view ffn_norm;
    tensor_view ffn_gate, ffn_up, ffn_down;               /* dense layers */
    tensor_view gate_inp, exp_probs_b;                    /* router */
    tensor_view gate_exps, up_exps, down_exps;            /* routed experts */
    tensor_view gate_shexp, up_shexp, down_shexp;         /* shared experts */
    int is_moe;
} layer_weights;

struct dsv3_model {
    allocator alloc;
    dsv3_log_fn log;
    void *log_user;
    file_image image;
    gguf_file gguf;
    dsv3_hparams hp;
    uint32_t qk_head_dim;     /* qk_nope + qk_rope */
    int32_t token_bos, token_eos, token_pad;
    tensor_view token_embd, output_norm, output;
    layer_weights *layers;
    double *rope_inv_freq;    /* per rope pair, YaRN blend applied */
    size_t max_row;           /* longest row any kernel converts to floats */
    int vocab_only;           /* loaded with params.vocab_only: no weights */
    vocab vocab;              /* the tokenizer; vocab.present = 0 if none */
};

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static void model_log(const dsv3_model *m, int32_t level, const char *fmt, ...) {
    if (!m->log) return;
    char msg[DSV3_ERROR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m->log(m->log_user, level, msg);
}

/* Reads deepseek2.<suffix> as an unsigned integer; absent keys keep *out. */
static int32_t hp_uint(const dsv3_model *m, const char *suffix, int required, uint32_t *out,
                       error_slot *err) {
    char key[96];
    snprintf(key, sizeof key, "deepseek2.%s", suffix);
    uint64_t v;
    int found;
    int32_t st = meta_uint(&m->gguf, key, UINT32_MAX, &v, &found, err);
    if (st) return st;
    if (!found) {
        if (required) return fail(err, DSV3_ERR_BAD_MODEL, "required key '%s' is missing", key);
        return DSV3_OK;
    }
    *out = (uint32_t)v;
    return DSV3_OK;
}

static int32_t hp_float(const dsv3_model *m, const char *suffix, float *out, int *found, error_slot *err) {
    char key[96];
    snprintf(key, sizeof key, "deepseek2.%s", suffix);
    double v;
    int32_t st = meta_float(&m->gguf, key, &v, found, err);
    if (st == DSV3_OK && *found) *out = (float)v;
    return st;
}

static int hp_has(const dsv3_model *m, const char *suffix) {
    char key[96];
    snprintf(key, sizeof key, "deepseek2.%s", suffix);
    return gguf_find(&m->gguf, key) != NULL;
}

/* Binds a tensor by name and checks its shape (expected ne, missing dims = 1)
   and that dsv3 implements its type. Absent optional tensors stay NULL. */
static int32_t bind_tensor(dsv3_model *m, tensor_view *view, const char *name, int required,
                           uint64_t e0, uint64_t e1, uint64_t e2, error_slot *err) {
    memset(view, 0, sizeof *view);
    const gguf_tensor *t = gguf_find_tensor(&m->gguf, name);
    if (!t) {
        if (required) return fail(err, DSV3_ERR_BAD_MODEL, "tensor '%s' is missing", name);
        return DSV3_OK;
    }
    uint64_t expect[DSV3_MAX_DIMS] = {e0, e1, e2, 1};
    if (memcmp(expect, t->ne, sizeof expect) != 0)
        return fail(err, DSV3_ERR_BAD_MODEL,
                    "tensor '%s': expected ne {%llu, %llu, %llu, 1}, got {%llu, %llu, %llu, %llu}", name,
                    (unsigned long long)e0, (unsigned long long)e1, (unsigned long long)e2,
                    (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                    (unsigned long long)t->ne[2], (unsigned long long)t->ne[3]);
    const type_traits *tt = &type_table[t->type];
    if (!tt->to_f32)
        return fail(err, DSV3_ERR_UNSUPPORTED,
                    "tensor '%s' uses ggml type %u (%s), which this version of dsv3 does not implement",
                    name, t->type, tt->name);
    view->name = NULL;
    view->type = t->type;
    memcpy(view->ne, t->ne, sizeof view->ne);
    view->row_bytes = (size_t)(t->ne[0] / tt->block_size * tt->type_size);
    view->data = t->data;
    if ((size_t)t->ne[0] > m->max_row) m->max_row = (size_t)t->ne[0];
    return DSV3_OK;
}

static int32_t bind_layer_tensor(dsv3_model *m, tensor_view *view, uint32_t layer, const char *what,
                                 int required, uint64_t e0, uint64_t e1, uint64_t e2, error_slot *err) {
    char name[DSV3_GGUF_MAX_NAME + 16];
    snprintf(name, sizeof name, "blk.%u.%s", layer, what);
    return bind_tensor(m, view, name, required, e0, e1, e2, err);
}

static const gguf_tensor *find_layer_tensor(const dsv3_model *m, uint32_t layer, const char *what) {
    char name[DSV3_GGUF_MAX_NAME + 16];
    snprintf(name, sizeof name, "blk.%u.%s", layer, what);
    return gguf_find_tensor(&m->gguf, name);
}

/* Reads the hyperparameters and derives the head dims from the tensors of the
   first layer, cross-checked against every key that states them. */
static int32_t load_hparams(dsv3_model *m, const dsv3_model_params *params, error_slot *err) {
    dsv3_hparams *hp = &m->hp;
    int32_t st;
    int found;
    gguf_str arch;
    if ((st = meta_string(&m->gguf, "general.architecture", &arch, &found, err))) return st;
    if (!found) return fail(err, DSV3_ERR_BAD_MODEL, "key 'general.architecture' is missing");
    if (!gguf_str_eq(arch, "deepseek2")) {
        int newer = gguf_str_eq(arch, "deepseek32") || gguf_str_eq(arch, "deepseek4");
        return fail(err, DSV3_ERR_UNSUPPORTED, "architecture '%.*s' is not supported%s", (int)arch.len,
                    arch.ptr,
                    newer ? " (DeepSeek-V3.2/V4 add sparse attention; dsv3 runs \"deepseek2\": V2, V3, R1, Kimi-K2, Moonlight)"
                          : " (dsv3 runs \"deepseek2\" files: DeepSeek-V2, V3, R1, Kimi-K2, Moonlight)");
    }

    if ((st = hp_uint(m, "block_count", 1, &hp->n_layer, err))) return st;
    if ((st = hp_uint(m, "embedding_length", 1, &hp->n_embd, err))) return st;
    if ((st = hp_uint(m, "attention.head_count", 1, &hp->n_head, err))) return st;
    if ((st = hp_uint(m, "attention.kv_lora_rank", 1, &hp->kv_lora_rank, err))) return st;
    if ((st = hp_uint(m, "rope.dimension_count", 1, &hp->qk_rope_head_dim, err))) return st;
    if ((st = hp_uint(m, "attention.q_lora_rank", 0, &hp->q_lora_rank, err))) return st;
    hp->n_ctx_train = 0;
    if ((st = hp_uint(m, "context_length", 0, &hp->n_ctx_train, err))) return st;
    if ((st = hp_uint(m, "leading_dense_block_count", 0, &hp->n_layer_dense_lead, err))) return st;
    if ((st = hp_uint(m, "feed_forward_length", 0, &hp->n_ff, err))) return st;
    if ((st = hp_uint(m, "expert_feed_forward_length", 0, &hp->n_ff_expert, err))) return st;
    if ((st = hp_uint(m, "expert_count", 0, &hp->n_expert, err))) return st;
    if ((st = hp_uint(m, "expert_used_count", 0, &hp->n_expert_used, err))) return st;
    if ((st = hp_uint(m, "expert_shared_count", 0, &hp->n_expert_shared, err))) return st;
    uint32_t gating = 0;
    if ((st = hp_uint(m, "expert_gating_func", 0, &gating, err))) return st;
    /* 0/absent is how older V2 files say softmax (deepseek2-gguf.md §1). */
    if (gating == 0) gating = 1;
    if (gating != 1 && gating != 2)
        return fail(err, DSV3_ERR_UNSUPPORTED, "expert_gating_func %u is not supported (1 softmax, 2 sigmoid)", gating);
    hp->expert_gating = gating;

    const char *E = "attention.layer_norm_rms_epsilon";
    hp->rms_norm_eps = 1e-6f;
    if ((st = hp_float(m, E, &hp->rms_norm_eps, &found, err))) return st;
    if (!(hp->rms_norm_eps >= 0.0f)) return fail(err, DSV3_ERR_BAD_MODEL, "negative rms epsilon");
    hp->expert_weights_scale = 0.0f;
    if ((st = hp_float(m, "expert_weights_scale", &hp->expert_weights_scale, &found, err))) return st;
    int norm = 0;
    char key[96];
    snprintf(key, sizeof key, "deepseek2.expert_weights_norm");
    if ((st = meta_bool(&m->gguf, key, &norm, &found, err))) return st;
    hp->expert_weights_norm = (uint32_t)norm;
    hp->rope_freq_base = 10000.0f;
    if ((st = hp_float(m, "rope.freq_base", &hp->rope_freq_base, &found, err))) return st;

    uint32_t n_layer = hp->n_layer, H = hp->n_head, dr = hp->qk_rope_head_dim, Lkv = hp->kv_lora_rank;
    if (n_layer == 0 || hp->n_embd == 0 || H == 0 || Lkv == 0 || dr == 0 || dr % 2 != 0)
        return fail(err, DSV3_ERR_BAD_MODEL,
                    "invalid hyperparameters: block_count %u, embedding_length %u, head_count %u, "
                    "kv_lora_rank %u, rope dimension %u (must be even)",
                    n_layer, hp->n_embd, H, Lkv, dr);
    if (hp->n_layer_dense_lead > n_layer)
        return fail(err, DSV3_ERR_BAD_MODEL, "leading_dense_block_count %u exceeds block_count %u",
                    hp->n_layer_dense_lead, n_layer);

    /* Head dims from layer 0: the query projection gives nope+rope per head. */
    const gguf_tensor *tq = find_layer_tensor(m, 0, "attn_q_b.weight");
    if (!tq) tq = find_layer_tensor(m, 0, "attn_q.weight");
    if (!tq) return fail(err, DSV3_ERR_BAD_MODEL, "tensor 'blk.0.attn_q_b.weight' (or 'blk.0.attn_q.weight') is missing");
    if (tq->ne[1] % H != 0 || tq->ne[1] / H <= dr || tq->ne[1] / H > 65536)
        return fail(err, DSV3_ERR_BAD_MODEL, "tensor '%.*s': %llu outputs do not split into %u heads of more than %u",
                    (int)tq->name.len, tq->name.ptr, (unsigned long long)tq->ne[1], H, dr);
    uint32_t dk = (uint32_t)(tq->ne[1] / H);
    hp->qk_nope_head_dim = dk - dr;
    uint32_t key_mla = 0, value_mla = 0, key_len = 0, value_len = 0;
    if ((st = hp_uint(m, "attention.key_length_mla", 0, &key_mla, err))) return st;
    if ((st = hp_uint(m, "attention.value_length_mla", 0, &value_mla, err))) return st;
    if ((st = hp_uint(m, "attention.key_length", 0, &key_len, err))) return st;
    if ((st = hp_uint(m, "attention.value_length", 0, &value_len, err))) return st;
    if (key_mla && key_mla != dk)
        return fail(err, DSV3_ERR_BAD_MODEL, "attention.key_length_mla = %u but the query heads are %u wide", key_mla, dk);
    /* New files store key_length = kv_lora + rope (576); legacy ones nope + rope. */
    if (key_len && key_len != dk && key_len != Lkv + dr)
        return fail(err, DSV3_ERR_BAD_MODEL, "attention.key_length = %u matches neither %u (nope+rope) nor %u (latent+rope)",
                    key_len, dk, Lkv + dr);

    const gguf_tensor *tvb = find_layer_tensor(m, 0, "attn_v_b.weight");
    const gguf_tensor *tkvb = find_layer_tensor(m, 0, "attn_kv_b.weight");
    if (tvb) {
        hp->v_head_dim = (uint32_t)(tvb->ne[1] > UINT32_MAX ? 0 : tvb->ne[1]);
    } else if (tkvb) {
        uint64_t per_head = tkvb->ne[1] / H;
        if (tkvb->ne[1] % H != 0 || per_head <= hp->qk_nope_head_dim)
            return fail(err, DSV3_ERR_BAD_MODEL, "tensor 'blk.0.attn_kv_b.weight': %llu outputs do not split into %u heads",
                        (unsigned long long)tkvb->ne[1], H);
        hp->v_head_dim = (uint32_t)(per_head - hp->qk_nope_head_dim);
    } else {
        return fail(err, DSV3_ERR_BAD_MODEL, "tensor 'blk.0.attn_k_b.weight'/'attn_v_b.weight' (or legacy 'attn_kv_b.weight') is missing");
    }
    if (hp->v_head_dim == 0) return fail(err, DSV3_ERR_BAD_MODEL, "value head dimension is 0");
    if (value_mla && value_mla != hp->v_head_dim)
        return fail(err, DSV3_ERR_BAD_MODEL, "attention.value_length_mla = %u but the value heads are %u wide",
                    value_mla, hp->v_head_dim);
    if (value_len && value_len != hp->v_head_dim && value_len != Lkv)
        return fail(err, DSV3_ERR_BAD_MODEL, "attention.value_length = %u matches neither %u (value head) nor %u (latent)",
                    value_len, hp->v_head_dim, Lkv);
    hp->split_kv_b = tvb != NULL;
    m->qk_head_dim = dk;

    /* MoE hyperparameters, needed when any layer is MoE. */
    if (hp->n_layer_dense_lead < n_layer) {
        if (hp->n_expert == 0 || hp->n_expert_used == 0 || hp->n_expert_used > hp->n_expert || hp->n_ff_expert == 0)
            return fail(err, DSV3_ERR_BAD_MODEL, "invalid MoE hyperparameters: expert_count %u, expert_used_count %u, "
                        "expert_feed_forward_length %u", hp->n_expert, hp->n_expert_used, hp->n_ff_expert);
        int has_bias = find_layer_tensor(m, hp->n_layer_dense_lead, "exp_probs_b.bias") != NULL;
        hp->has_expert_bias = (uint32_t)has_bias;
        uint32_t groups = 0, groups_used = 0;
        if ((st = hp_uint(m, "expert_group_count", 0, &groups, err))) return st;
        if ((st = hp_uint(m, "expert_group_used_count", 0, &groups_used, err))) return st;
        if (!hp_has(m, "expert_group_count")) {
            /* Files converted before the group keys existed: DeepSeek-V3 routes
               within 8 groups, keeping the best 4 (report §2.1.2 "node-limited
               routing"; inference/model.py Gate). llama.cpp does not. */
            if (params->expert_groups == DSV3_GROUPS_AUTO && hp->n_expert == 256 && gating == 2 && has_bias) {
                groups = 8;
                groups_used = 4;
                model_log(m, DSV3_LOG_INFO, "no expert_group_count key: routing as DeepSeek-V3 (8 groups, top 4)");
            } else {
                groups = 1;
                groups_used = 1;
            }
        }
        if (groups == 0) groups = 1;
        if (groups_used == 0) groups_used = groups;
        if (hp->n_expert % groups != 0 || groups_used > groups ||
            hp->n_expert_used > groups_used * (hp->n_expert / groups))
            return fail(err, DSV3_ERR_BAD_MODEL, "inconsistent expert groups: %u experts in %u groups, %u groups used, %u experts used",
                        hp->n_expert, groups, groups_used, hp->n_expert_used);
        hp->n_expert_groups = groups;
        hp->n_expert_groups_used = groups_used;
    }
    if (hp->n_layer_dense_lead > 0 && hp->n_ff == 0)
        return fail(err, DSV3_ERR_BAD_MODEL, "feed_forward_length is missing or 0 but there are dense layers");
    if (hp->expert_weights_scale == 0.0f) hp->expert_weights_scale = 1.0f;

    /* RoPE scaling (deepseek2-gguf.md §4; YaRN paper eq. 17-21). */
    hp->rope_scaling_factor = 1.0f;
    hp->rope_yarn = 0;
    gguf_str scaling = {"none", 4};
    if ((st = meta_string(&m->gguf, "deepseek2.rope.scaling.type", &scaling, &found, err))) return st;
    float factor = 1.0f;
    if ((st = hp_float(m, "rope.scaling.factor", &factor, &found, err))) return st;
    int linear = 0;
    if (gguf_str_eq(scaling, "yarn")) {
        hp->rope_yarn = factor > 1.0f;
    } else if (gguf_str_eq(scaling, "linear")) {
        linear = factor > 1.0f;
    } else if (!gguf_str_eq(scaling, "none")) {
        return fail(err, DSV3_ERR_UNSUPPORTED, "rope scaling type '%.*s' is not supported", (int)scaling.len, scaling.ptr);
    }
    if (hp->rope_yarn || linear) hp->rope_scaling_factor = factor;
    hp->rope_orig_ctx = hp->n_ctx_train;
    if ((st = hp_uint(m, "rope.scaling.original_context_length", 0, &hp->rope_orig_ctx, err))) return st;
    if (hp->rope_yarn && hp->rope_orig_ctx == 0)
        return fail(err, DSV3_ERR_BAD_MODEL, "YaRN scaling needs rope.scaling.original_context_length");
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;
    if ((st = hp_float(m, "rope.scaling.yarn_beta_fast", &hp->yarn_beta_fast, &found, err))) return st;
    if ((st = hp_float(m, "rope.scaling.yarn_beta_slow", &hp->yarn_beta_slow, &found, err))) return st;
    if (params->yarn_beta_fast > 0.0f) hp->yarn_beta_fast = params->yarn_beta_fast;
    if (params->yarn_beta_slow > 0.0f) hp->yarn_beta_slow = params->yarn_beta_slow;
    /* The converter stores 0.1 * mscale_all_dim (deepseek2-gguf.md §1). */
    float log_mul = 0.0f;
    if ((st = hp_float(m, "rope.scaling.yarn_log_multiplier", &log_mul, &found, err))) return st;
    hp->yarn_mscale_all_dim = log_mul / 0.1f;
    double mscale = 1.0;
    if (hp->rope_yarn) mscale = 1.0 + 0.1 * (double)hp->yarn_mscale_all_dim * log((double)factor);
    /* Softmax scale over the nope+rope head dim, with YaRN's attention-temperature
       correction squared (deepseek2-gguf.md §3.1). */
    hp->attn_scale = (float)(mscale * mscale / sqrt((double)dk));
    if (!(hp->rope_freq_base > 1.0f))
        return fail(err, DSV3_ERR_BAD_MODEL, "rope.freq_base %g must be above 1", (double)hp->rope_freq_base);
    return DSV3_OK;
}

/* Per-pair angular frequency: YaRN blends the original frequency (high-frequency
   pairs) with the interpolated one (low-frequency pairs) over a linear ramp
   between the correction dims of beta_fast and beta_slow (YaRN §3.2, eq. 18-19;
   ggml_rope_yarn_corr_dims). */
static void compute_rope_frequencies(const dsv3_hparams *hp, double *inv_freq) {
    uint32_t d = hp->qk_rope_head_dim;
    double base = hp->rope_freq_base, f = hp->rope_scaling_factor;
    double low = 0.0, high = 0.0;
    if (hp->rope_yarn) {
        const double two_pi = 6.283185307179586;
        double corr_fast = d * log(hp->rope_orig_ctx / (two_pi * hp->yarn_beta_fast)) / (2.0 * log(base));
        double corr_slow = d * log(hp->rope_orig_ctx / (two_pi * hp->yarn_beta_slow)) / (2.0 * log(base));
        low = floor(corr_fast);
        if (low < 0.0) low = 0.0;
        high = ceil(corr_slow);
        if (high > d - 1.0) high = d - 1.0;
    }
    for (uint32_t i = 0; i < d / 2; i++) {
        double extrapolated = pow(base, -2.0 * i / d);
        if (hp->rope_yarn) {
            double denom = high - low > 0.001 ? high - low : 0.001;
            double y = (i - low) / denom;
            if (y < 0.0) y = 0.0;
            if (y > 1.0) y = 1.0;
            double ramp = 1.0 - y; /* 1: keep the original frequency */
            inv_freq[i] = extrapolated * (ramp + (1.0 - ramp) / f);
        } else {
            inv_freq[i] = extrapolated / f; /* f = 1 unless linear scaling */
        }
    }
}

static int32_t bind_model_tensors(dsv3_model *m, error_slot *err) {
    dsv3_hparams *hp = &m->hp;
    uint64_t E = hp->n_embd, H = hp->n_head, Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim;
    uint64_t dn = hp->qk_nope_head_dim, dv = hp->v_head_dim, dk = m->qk_head_dim;
    int32_t st;
    const gguf_tensor *emb = gguf_find_tensor(&m->gguf, "token_embd.weight");
    if (!emb) return fail(err, DSV3_ERR_BAD_MODEL, "tensor 'token_embd.weight' is missing");
    if (emb->ne[1] > INT32_MAX) return fail(err, DSV3_ERR_BAD_MODEL, "vocabulary of %llu tokens is too large",
                                            (unsigned long long)emb->ne[1]);
    uint64_t V = emb->ne[1];
    hp->n_vocab = (uint32_t)V;
    uint32_t vocab_key = 0;
    if ((st = hp_uint(m, "vocab_size", 0, &vocab_key, err))) return st;
    if (vocab_key && vocab_key != V)
        return fail(err, DSV3_ERR_BAD_MODEL, "deepseek2.vocab_size = %u but token_embd.weight has %llu rows",
                    vocab_key, (unsigned long long)V);
    if ((st = bind_tensor(m, &m->token_embd, "token_embd.weight", 1, E, V, 1, err))) return st;
    if ((st = bind_tensor(m, &m->output_norm, "output_norm.weight", 1, E, 1, 1, err))) return st;
    if ((st = bind_tensor(m, &m->output, "output.weight", 0, E, V, 1, err))) return st;
    if (!m->output.data) {
        m->output = m->token_embd; /* tied embeddings */
        model_log(m, DSV3_LOG_WARN, "no output.weight: using token_embd.weight as the output head");
    }

    for (uint32_t l = 0; l < hp->n_layer; l++) {
        layer_weights *L = &m->layers[l];
        if ((st = bind_layer_tensor(m, &L->attn_norm, l, "attn_norm.weight", 1, E, 1, 1, err))) return st;
        if (find_layer_tensor(m, l, "attn_q_a.weight")) {
            uint64_t Lq = find_layer_tensor(m, l, "attn_q_a.weight")->ne[1];
            if (hp->q_lora_rank && Lq != hp->q_lora_rank)
                return fail(err, DSV3_ERR_BAD_MODEL, "blk.%u.attn_q_a.weight has %llu outputs but q_lora_rank is %u", l,
                            (unsigned long long)Lq, hp->q_lora_rank);
            hp->q_lora_rank = (uint32_t)Lq;
            if ((st = bind_layer_tensor(m, &L->q_a, l, "attn_q_a.weight", 1, E, Lq, 1, err))) return st;
            if ((st = bind_layer_tensor(m, &L->q_a_norm, l, "attn_q_a_norm.weight", 1, Lq, 1, 1, err))) return st;
            if ((st = bind_layer_tensor(m, &L->q_b, l, "attn_q_b.weight", 1, Lq, H * dk, 1, err))) return st;
        } else {
            if ((st = bind_layer_tensor(m, &L->q, l, "attn_q.weight", 1, E, H * dk, 1, err))) return st;
        }
        if ((st = bind_layer_tensor(m, &L->kv_a_mqa, l, "attn_kv_a_mqa.weight", 1, E, Lkv + dr, 1, err))) return st;
        if ((st = bind_layer_tensor(m, &L->kv_a_norm, l, "attn_kv_a_norm.weight", 1, Lkv, 1, 1, err))) return st;
        if (find_layer_tensor(m, l, "attn_k_b.weight") || find_layer_tensor(m, l, "attn_v_b.weight")) {
            if ((st = bind_layer_tensor(m, &L->k_b, l, "attn_k_b.weight", 1, dn, Lkv, H, err))) return st;
            if ((st = bind_layer_tensor(m, &L->v_b, l, "attn_v_b.weight", 1, Lkv, dv, H, err))) return st;
        } else {
            if ((st = bind_layer_tensor(m, &L->kv_b, l, "attn_kv_b.weight", 1, Lkv, H * (dn + dv), 1, err))) return st;
        }
        if ((st = bind_layer_tensor(m, &L->attn_output, l, "attn_output.weight", 1, H * dv, E, 1, err))) return st;
        if ((st = bind_layer_tensor(m, &L->ffn_norm, l, "ffn_norm.weight", 1, E, 1, 1, err))) return st;
        L->is_moe = l >= hp->n_layer_dense_lead;
        if (!L->is_moe) {
            uint64_t F = hp->n_ff;
            if ((st = bind_layer_tensor(m, &L->ffn_gate, l, "ffn_gate.weight", 1, E, F, 1, err))) return st;
            if ((st = bind_layer_tensor(m, &L->ffn_up, l, "ffn_up.weight", 1, E, F, 1, err))) return st;
            if ((st = bind_layer_tensor(m, &L->ffn_down, l, "ffn_down.weight", 1, F, E, 1, err))) return st;
            continue;
        }
        uint64_t X = hp->n_expert, Fe = hp->n_ff_expert, Fs = (uint64_t)hp->n_ff_expert * hp->n_expert_shared;
        if ((st = bind_layer_tensor(m, &L->gate_inp, l, "ffn_gate_inp.weight", 1, E, X, 1, err))) return st;
        if ((st = bind_layer_tensor(m, &L->exp_probs_b, l, "exp_probs_b.bias", hp->has_expert_bias, X, 1, 1, err)))
            return st;
        if (!hp->has_expert_bias && find_layer_tensor(m, l, "exp_probs_b.bias"))
            return fail(err, DSV3_ERR_BAD_MODEL, "blk.%u.exp_probs_b.bias exists but the first MoE layer has none", l);
        if ((st = bind_layer_tensor(m, &L->gate_exps, l, "ffn_gate_exps.weight", 1, E, Fe, X, err))) return st;
        if ((st = bind_layer_tensor(m, &L->up_exps, l, "ffn_up_exps.weight", 1, E, Fe, X, err))) return st;
        if ((st = bind_layer_tensor(m, &L->down_exps, l, "ffn_down_exps.weight", 1, Fe, E, X, err))) return st;
        if (Fs) {
            if ((st = bind_layer_tensor(m, &L->gate_shexp, l, "ffn_gate_shexp.weight", 1, E, Fs, 1, err))) return st;
            if ((st = bind_layer_tensor(m, &L->up_shexp, l, "ffn_up_shexp.weight", 1, E, Fs, 1, err))) return st;
            if ((st = bind_layer_tensor(m, &L->down_shexp, l, "ffn_down_shexp.weight", 1, Fs, E, 1, err))) return st;
        }
    }
    if (m->max_row < Lkv + dr) m->max_row = Lkv + dr;
    return DSV3_OK;
}

static int32_t special_token(const dsv3_model *m, const char *key, int32_t *out, error_slot *err) {
    uint64_t v;
    int found;
    *out = -1;
    int32_t st = meta_uint(&m->gguf, key, UINT32_MAX, &v, &found, err);
    if (st) return st;
    if (found && v < m->hp.n_vocab) *out = (int32_t)v;
    else if (found) model_log(m, DSV3_LOG_WARN, "%s = %llu is outside the vocabulary; ignored", key, (unsigned long long)v);
    return DSV3_OK;
}

static int32_t load_tokenizer(dsv3_model *m, error_slot *err) {
    size_t skipped = 0;
    int32_t st = vocab_load(&m->vocab, &m->gguf, &m->alloc, &skipped, err);
    if (st) return st;
    if (!m->vocab.present) {
        model_log(m, DSV3_LOG_INFO, "the file has no BPE tokenizer (tokens and merges): text in and out is unavailable");
        return DSV3_OK;
    }
    if (skipped)
        model_log(m, DSV3_LOG_WARN, "%zu of the tokenizer's merges name tokens that are not in the vocabulary; ignored", skipped);
    if (m->hp.n_vocab && m->vocab.n_tokens != m->hp.n_vocab)
        model_log(m, DSV3_LOG_WARN, "the tokenizer has %u tokens but the model %u embedding rows", m->vocab.n_tokens,
                  m->hp.n_vocab);
    model_log(m, DSV3_LOG_INFO, "tokenizer: %u tokens, %u merges, pre-tokenizer %s", m->vocab.n_tokens,
              m->vocab.n_merges, m->vocab.pre == PRE_DEEPSEEK_LLM ? "deepseek-llm" : "deepseek-v3");
    return DSV3_OK;
}

/* params.vocab_only: the tokenizer of a file of any architecture. */
static int32_t load_vocab_only(dsv3_model *m, error_slot *err) {
    int32_t st = load_tokenizer(m, err);
    if (st) return st;
    if (!m->vocab.present)
        return fail(err, DSV3_ERR_UNSUPPORTED, "vocab_only: the file has no BPE tokenizer (tokenizer.ggml.tokens and merges)");
    m->vocab_only = 1;
    m->hp.n_vocab = m->vocab.n_tokens;
    m->hp.struct_size = sizeof m->hp;
    m->token_bos = m->vocab.bos;
    m->token_eos = m->vocab.eos;
    m->token_pad = m->vocab.pad;
    return DSV3_OK;
}

static void model_destroy(dsv3_model *m) {
    if (!m) return;
    allocator a = m->alloc;
    mem_free(&a, m->rope_inv_freq);
    mem_free(&a, m->layers);
    vocab_release(&m->vocab, &a);
    gguf_release(&m->gguf, &a);
    image_close(&m->image, &a);
    mem_free(&a, m);
}

/* Copies a caller's params over the defaults, honouring struct_size. */
static int32_t merge_params(void *dst, size_t dst_size, const void *src, error_slot *err) {
    if (!src) return DSV3_OK;
    uint32_t size;
    memcpy(&size, src, sizeof size);
    if (size < sizeof(uint32_t))
        return fail(err, DSV3_ERR_INVALID_ARGUMENT, "params.struct_size is %u; call the *_default_params() function first", size);
    if (size > dst_size) {
        const uint8_t *extra = (const uint8_t *)src + dst_size;
        for (size_t i = 0; i < size - dst_size; i++)
            if (extra[i]) return fail(err, DSV3_ERR_INVALID_ARGUMENT, "params use fields this version of dsv3 does not know");
        size = (uint32_t)dst_size;
    }
    memcpy(dst, src, size);
    memcpy(dst, &(uint32_t){(uint32_t)dst_size}, sizeof(uint32_t));
    return DSV3_OK;
}

static int32_t model_load_common(const char *path, const void *data, size_t size,
                                 const dsv3_model_params *user_params, dsv3_model **out,
                                 char *message, size_t message_size) {
    error_slot err = {DSV3_OK, ""};
    dsv3_model_params params;
    dsv3_model_default_params(&params);
    dsv3_model *m = NULL;
    int32_t st;
    if (out) *out = NULL;
    if (!out || (!path && !data)) {
        st = fail(&err, DSV3_ERR_INVALID_ARGUMENT, "NULL %s", out ? "path" : "out_model");
        goto done;
    }
    if ((st = merge_params(&params, sizeof params, user_params, &err))) goto done;
    if ((params.alloc == NULL) != (params.free_fn == NULL)) {
        st = fail(&err, DSV3_ERR_INVALID_ARGUMENT, "set both alloc and free_fn, or neither");
        goto done;
    }
    {
        uint16_t probe = 1;
        uint8_t first;
        memcpy(&first, &probe, 1);
        if (first != 1) {
            st = fail(&err, DSV3_ERR_UNSUPPORTED, "dsv3 runs on little-endian machines only");
            goto done;
        }
    }
    allocator a = {params.alloc, params.free_fn, params.user};
    m = (dsv3_model *)mem_calloc(&a, 1, sizeof *m);
    if (!m) {
        st = fail(&err, DSV3_ERR_OUT_OF_MEMORY, "out of memory allocating the model");
        goto done;
    }
    m->alloc = a;
    m->log = params.log;
    m->log_user = params.user;
    if (path) {
        if ((st = image_open(&m->image, path, params.use_mmap, &a, &err))) goto done;
    } else {
        m->image.data = (const uint8_t *)data;
        m->image.size = size;
        m->image.kind = 0;
    }
    if ((st = gguf_parse(&m->gguf, m->image.data, m->image.size, &a, &err))) goto done;
    if (params.vocab_only) {
        if ((st = load_vocab_only(m, &err))) goto done;
        goto done;
    }
    if ((st = load_hparams(m, &params, &err))) goto done;
    m->layers = (layer_weights *)mem_calloc(&a, m->hp.n_layer, sizeof *m->layers);
    m->rope_inv_freq = (double *)mem_calloc(&a, m->hp.qk_rope_head_dim / 2, sizeof(double));
    if (!m->layers || !m->rope_inv_freq) {
        st = fail(&err, DSV3_ERR_OUT_OF_MEMORY, "out of memory allocating %u layers", m->hp.n_layer);
        goto done;
    }
    if ((st = bind_model_tensors(m, &err))) goto done;
    compute_rope_frequencies(&m->hp, m->rope_inv_freq);
    if (m->hp.n_ctx_train == 0) m->hp.n_ctx_train = m->hp.rope_orig_ctx ? m->hp.rope_orig_ctx : 4096;
    if ((st = special_token(m, "tokenizer.ggml.bos_token_id", &m->token_bos, &err))) goto done;
    if ((st = special_token(m, "tokenizer.ggml.eos_token_id", &m->token_eos, &err))) goto done;
    if ((st = special_token(m, "tokenizer.ggml.padding_token_id", &m->token_pad, &err))) goto done;
    if ((st = load_tokenizer(m, &err))) goto done;
    m->hp.struct_size = sizeof m->hp;
    model_log(m, DSV3_LOG_INFO, "loaded deepseek2 model: %u layers, %u embd, %u heads, %u experts (%u used), vocab %u",
              m->hp.n_layer, m->hp.n_embd, m->hp.n_head, m->hp.n_expert, m->hp.n_expert_used, m->hp.n_vocab);
done:
    if (st != DSV3_OK) {
        if (m && m->log) m->log(m->log_user, DSV3_LOG_ERROR, err.message);
        else if (params.log) params.log(params.user, DSV3_LOG_ERROR, err.message);
        model_destroy(m);
        m = NULL;
    }
    if (message && message_size) {
        size_t n = strlen(err.message);
        if (n >= message_size) n = message_size - 1;
        memcpy(message, err.message, n);
        message[n] = '\0';
    }
    if (out) *out = m;
    return st;
}

/* ==== 8. Forward pass: MLA attention, DeepSeekMoE, output head (private) = */

struct dsv3_context {
    const dsv3_model *model;
    uint32_t n_ctx, n_batch;
    int32_t kv_type;
    size_t pos;
    uint8_t *kv_cache;      /* [layer][position][kv_lora + rope] */
    size_t kv_row_bytes;    /* one position of one layer */
    float *scratch;         /* everything below points into it */
    float *x, *xn;          /* [n_batch][n_embd] residual stream, normalised copy */
    float *q;               /* [n_head][nope + rope] */
    float *q_lora;          /* [q_lora_rank] */
    float *kv;              /* [kv_lora + rope] */
    float *q_abs;           /* [n_head][kv_lora] query absorbed into the latent space */
    float *scores;          /* [n_head][n_ctx] */
    float *o_lat;           /* [n_head][kv_lora] */
    float *attn_cat;        /* [n_head * v_head_dim] */
    float *hidden;          /* [n_embd] layer output before the residual add */
    float *ffn_gate, *ffn_up; /* [widest FFN] */
    float *expert_out;      /* [n_embd] */
    float *router_scores, *router_choice, *group_scores; /* [n_expert], [n_expert], [groups] */
    float *row;             /* [max_row] one weight row or cache row as floats */
    float *rope_cs;         /* [rope] cos/sin pairs for one position */
    float *logits;          /* [n_vocab] */
    float *expert_weights;  /* [n_expert_used] */
    uint32_t *chosen;       /* [n_expert_used] */
    uint32_t *kept_groups;  /* [n_expert_groups_used] */
    int has_logits;
    char last_error[DSV3_ERROR_SIZE];
};

static void rope_angles(const dsv3_model *m, size_t pos, float *cos_sin) {
    for (uint32_t i = 0; i < m->hp.qk_rope_head_dim / 2; i++) {
        double theta = (double)pos * m->rope_inv_freq[i];
        cos_sin[2 * i] = (float)cos(theta);
        cos_sin[2 * i + 1] = (float)sin(theta);
    }
}

static uint8_t *kv_row(const dsv3_context *ctx, uint32_t layer, size_t pos) {
    return ctx->kv_cache + ((size_t)layer * ctx->n_ctx + pos) * ctx->kv_row_bytes;
}

/* Joint KV compression for one token (DeepSeek-V3 report eq. 1-3): the latent
   c_kv = RMSNorm(W_DKV h) and the shared rope key k_pe = RoPE(W_KR h), cached. */
static void mla_cache_token(dsv3_context *ctx, const layer_weights *L, uint32_t layer, const float *xn, size_t pos) {
    const dsv3_model *m = ctx->model;
    const dsv3_hparams *hp = &m->hp;
    uint32_t Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim;
    matvec(&L->kv_a_mqa, 0, Lkv + dr, xn, ctx->kv);
    rmsnorm(ctx->kv, ctx->kv, &L->kv_a_norm, Lkv, hp->rms_norm_eps, ctx->row);
    rope_angles(m, pos, ctx->rope_cs);
    rope_rotate(ctx->kv + Lkv, ctx->rope_cs, dr / 2);
    kv_store(kv_row(ctx, layer, pos), ctx->kv_type, ctx->kv, Lkv + dr);
}

/* Multi-head latent attention for one token at `pos` over cache rows 0..pos,
   in the absorbed form (DeepSeek-V2 report §2.1.2-2.1.3): each head's nope query
   is mapped into the latent space through W_UK, scores are taken against the
   cached latent plus the rope key, and the weighted latent sum is mapped out
   through W_UV. Writes the attention output (before the residual) to ctx->hidden. */
static void mla_attend(dsv3_context *ctx, const layer_weights *L, uint32_t layer, const float *xn, size_t pos) {
    const dsv3_model *m = ctx->model;
    const dsv3_hparams *hp = &m->hp;
    uint32_t H = hp->n_head, Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim;
    uint32_t dn = hp->qk_nope_head_dim, dv = hp->v_head_dim, dk = m->qk_head_dim;
    size_t n_cached = pos + 1;

    /* Query: low-rank (report eq. 6-8) or a plain projection (V2-Lite). */
    if (L->q_a.data) {
        matvec(&L->q_a, 0, hp->q_lora_rank, xn, ctx->q_lora);
        rmsnorm(ctx->q_lora, ctx->q_lora, &L->q_a_norm, hp->q_lora_rank, hp->rms_norm_eps, ctx->row);
        matvec(&L->q_b, 0, (size_t)H * dk, ctx->q_lora, ctx->q);
    } else {
        matvec(&L->q, 0, (size_t)H * dk, xn, ctx->q);
    }
    rope_angles(m, pos, ctx->rope_cs);
    for (uint32_t h = 0; h < H; h++) {
        float *q_head = ctx->q + (size_t)h * dk;
        rope_rotate(q_head + dn, ctx->rope_cs, dr / 2);
        float *q_abs = ctx->q_abs + (size_t)h * Lkv;
        if (L->k_b.data) /* rows (h, r) of length dn: q_abs[r] = W_UK[h][:, r] . q_nope */
            matvec(&L->k_b, (size_t)h * Lkv, Lkv, q_head, q_abs);
        else /* legacy rows h*(dn+dv) + d hold W_UK[h][d, :] */
            matvec_transposed(&L->kv_b, (size_t)h * (dn + dv), dn, q_head, q_abs, ctx->row);
    }

    /* Scores against every cached position, one cache row at a time. */
    for (size_t t = 0; t < n_cached; t++) {
        const float *c = kv_load(kv_row(ctx, layer, t), ctx->kv_type, ctx->row, Lkv + dr);
        for (uint32_t h = 0; h < H; h++) {
            float s = dot_f32(ctx->q_abs + (size_t)h * Lkv, c, Lkv) +
                      dot_f32(ctx->q + (size_t)h * dk + dn, c + Lkv, dr);
            ctx->scores[(size_t)h * ctx->n_ctx + t] = s * hp->attn_scale;
        }
    }
    for (uint32_t h = 0; h < H; h++) softmax(ctx->scores + (size_t)h * ctx->n_ctx, n_cached);

    memset(ctx->o_lat, 0, (size_t)H * Lkv * sizeof(float));
    for (size_t t = 0; t < n_cached; t++) {
        const float *c = kv_load(kv_row(ctx, layer, t), ctx->kv_type, ctx->row, Lkv);
        for (uint32_t h = 0; h < H; h++) {
            float p = ctx->scores[(size_t)h * ctx->n_ctx + t];
            float *o = ctx->o_lat + (size_t)h * Lkv;
            for (uint32_t j = 0; j < Lkv; j++) o[j] += p * c[j];
        }
    }
    for (uint32_t h = 0; h < H; h++) {
        const float *o = ctx->o_lat + (size_t)h * Lkv;
        float *out = ctx->attn_cat + (size_t)h * dv;
        if (L->v_b.data) matvec(&L->v_b, (size_t)h * dv, dv, o, out);
        else matvec(&L->kv_b, (size_t)h * (dn + dv) + dn, dv, o, out);
    }
    matvec(&L->attn_output, 0, hp->n_embd, ctx->attn_cat, ctx->hidden);
}

/* One SwiGLU FFN: out = W_down (silu(W_gate x) * W_up x), on rows
   [first_row, first_row + width) of the stacked gate/up tensors and on the
   down tensor's rows [down_row, down_row + n_embd). */
static void swiglu_ffn(dsv3_context *ctx, const tensor_view *gate, const tensor_view *up, const tensor_view *down,
                       size_t first_row, size_t width, size_t down_row, const float *x, float *out) {
    matvec(gate, first_row, width, x, ctx->ffn_gate);
    matvec(up, first_row, width, x, ctx->ffn_up);
    swiglu(ctx->ffn_gate, ctx->ffn_up, width);
    matvec(down, down_row, ctx->model->hp.n_embd, ctx->ffn_gate, out);
}

/* Index of the largest value among those not yet taken; ties go to the lower
   index, so routing is deterministic. */
static uint32_t argmax_excluding(const float *v, uint32_t n, const uint32_t *taken, uint32_t n_taken) {
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        int used = 0;
        for (uint32_t k = 0; k < n_taken; k++) used |= taken[k] == i;
        if (used) continue;
        if (best == UINT32_MAX || v[i] > v[best]) best = i;
    }
    return best;
}

/* DeepSeekMoE routing (DeepSeek-V3 report §2.1.2, eq. 12-16): affinities by
   sigmoid (V3) or softmax (V2); the bias only picks experts (eq. 16), the gate
   weights come from the unbiased affinities, normalised (eq. 13) when the file
   says so, times the routed scaling factor. Group-limited: experts are split into
   groups and only the best groups compete (§2.1.2 node-limited routing). */
static void moe_route(dsv3_context *ctx, const layer_weights *L, const float *xn, float *weights) {
    const dsv3_hparams *hp = &ctx->model->hp;
    uint32_t X = hp->n_expert, k = hp->n_expert_used, G = hp->n_expert_groups;
    float *scores = ctx->router_scores, *choice = ctx->router_choice;
    matvec(&L->gate_inp, 0, X, xn, scores);
    if (hp->expert_gating == 2) {
        for (uint32_t i = 0; i < X; i++) scores[i] = sigmoid(scores[i]);
    } else {
        softmax(scores, X);
    }
    if (L->exp_probs_b.data) {
        type_table[L->exp_probs_b.type].to_f32(L->exp_probs_b.data, ctx->row, X);
        for (uint32_t i = 0; i < X; i++) choice[i] = scores[i] + ctx->row[i];
    } else {
        memcpy(choice, scores, X * sizeof(float));
    }
    if (G > 1) {
        uint32_t group_size = X / G;
        for (uint32_t g = 0; g < G; g++) {
            const float *s = choice + (size_t)g * group_size;
            float first = -INFINITY, second = -INFINITY;
            for (uint32_t i = 0; i < group_size; i++) {
                if (s[i] > first) {
                    second = first;
                    first = s[i];
                } else if (s[i] > second) {
                    second = s[i];
                }
            }
            /* V3 (with bias) ranks a group by its two best experts; V2's
               group_limited_greedy (no bias) by its best one. */
            ctx->group_scores[g] = L->exp_probs_b.data && group_size > 1 ? first + second : first;
        }
        uint32_t *kept = ctx->kept_groups, n_kept = hp->n_expert_groups_used;
        for (uint32_t j = 0; j < n_kept; j++) kept[j] = argmax_excluding(ctx->group_scores, G, kept, j);
        for (uint32_t g = 0; g < G; g++) {
            int keep = 0;
            for (uint32_t j = 0; j < n_kept; j++) keep |= kept[j] == g;
            if (!keep)
                for (uint32_t i = 0; i < group_size; i++) choice[(size_t)g * group_size + i] = -INFINITY;
        }
    }
    float sum = 0.0f;
    for (uint32_t j = 0; j < k; j++) {
        ctx->chosen[j] = argmax_excluding(choice, X, ctx->chosen, j);
        weights[j] = scores[ctx->chosen[j]];
        sum += weights[j];
    }
    float scale = hp->expert_weights_scale;
    if (hp->expert_weights_norm) scale /= sum > DSV3_MIN_EXPERT_WEIGHT_SUM ? sum : DSV3_MIN_EXPERT_WEIGHT_SUM;
    for (uint32_t j = 0; j < k; j++) weights[j] *= scale;
}

/* The FFN of one layer for one token: dense SwiGLU, or routed experts plus the
   shared experts (report eq. 12). Writes ctx->hidden. */
static void ffn_token(dsv3_context *ctx, const layer_weights *L, const float *xn) {
    const dsv3_hparams *hp = &ctx->model->hp;
    uint32_t E = hp->n_embd;
    if (!L->is_moe) {
        swiglu_ffn(ctx, &L->ffn_gate, &L->ffn_up, &L->ffn_down, 0, hp->n_ff, 0, xn, ctx->hidden);
        return;
    }
    float *weights = ctx->expert_weights;
    uint32_t k = hp->n_expert_used;
    moe_route(ctx, L, xn, weights);
    if (L->gate_shexp.data) {
        size_t width = (size_t)hp->n_ff_expert * hp->n_expert_shared;
        swiglu_ffn(ctx, &L->gate_shexp, &L->up_shexp, &L->down_shexp, 0, width, 0, xn, ctx->hidden);
    } else {
        memset(ctx->hidden, 0, E * sizeof(float));
    }
    for (uint32_t j = 0; j < k; j++) {
        size_t e = ctx->chosen[j], Fe = hp->n_ff_expert;
        swiglu_ffn(ctx, &L->gate_exps, &L->up_exps, &L->down_exps, e * Fe, Fe, e * E, xn, ctx->expert_out);
        for (uint32_t i = 0; i < E; i++) ctx->hidden[i] += weights[j] * ctx->expert_out[i];
    }
}

/* Runs n tokens (n <= n_batch) at positions pos..pos+n-1 through the model,
   layer by layer over the whole batch. Logits of every position go to
   all_logits when given; the last position's always go to ctx->logits. */
static void forward_batch(dsv3_context *ctx, const int32_t *tokens, size_t n, float *all_logits) {
    const dsv3_model *m = ctx->model;
    const dsv3_hparams *hp = &m->hp;
    size_t E = hp->n_embd, V = hp->n_vocab;
    for (size_t i = 0; i < n; i++)
        type_table[m->token_embd.type].to_f32(view_row(&m->token_embd, (size_t)tokens[i]), ctx->x + i * E, E);

    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const layer_weights *L = &m->layers[l];
        for (size_t i = 0; i < n; i++) {
            rmsnorm(ctx->xn + i * E, ctx->x + i * E, &L->attn_norm, E, hp->rms_norm_eps, ctx->row);
            mla_cache_token(ctx, L, l, ctx->xn + i * E, ctx->pos + i);
        }
        for (size_t i = 0; i < n; i++) {
            mla_attend(ctx, L, l, ctx->xn + i * E, ctx->pos + i);
            float *x = ctx->x + i * E;
            for (size_t j = 0; j < E; j++) x[j] += ctx->hidden[j];
            rmsnorm(ctx->xn + i * E, x, &L->ffn_norm, E, hp->rms_norm_eps, ctx->row);
            ffn_token(ctx, L, ctx->xn + i * E);
            for (size_t j = 0; j < E; j++) x[j] += ctx->hidden[j];
        }
    }
    for (size_t i = all_logits ? 0 : n - 1; i < n; i++) {
        rmsnorm(ctx->xn, ctx->x + i * E, &m->output_norm, E, hp->rms_norm_eps, ctx->row);
        float *out = all_logits ? all_logits + i * V : ctx->logits;
        matvec(&m->output, 0, V, ctx->xn, out);
        if (all_logits && i == n - 1) memcpy(ctx->logits, out, V * sizeof(float));
    }
    ctx->pos += n;
    ctx->has_logits = 1;
}

/* ==== 9. Public API, in dsv3.h order ===================================== */

const char *dsv3_status_string(int32_t status) {
    switch (status) {
    case DSV3_OK: return "success";
    case DSV3_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DSV3_ERR_OUT_OF_MEMORY: return "out of memory";
    case DSV3_ERR_IO: return "input/output error";
    case DSV3_ERR_BAD_FILE: return "malformed or truncated GGUF file";
    case DSV3_ERR_UNSUPPORTED: return "unsupported model, format or tensor type";
    case DSV3_ERR_BAD_MODEL: return "missing or inconsistent model tensors or hyperparameters";
    case DSV3_ERR_CONTEXT_FULL: return "context is full";
    case DSV3_ERR_TOKEN_OUT_OF_RANGE: return "token id out of range";
    case DSV3_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    default: return "unknown status code";
    }
}

uint32_t dsv3_version(void) { return DSV3_VERSION_NUMBER; }

void dsv3_model_default_params(dsv3_model_params *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->use_mmap = 1;
    out->expert_groups = DSV3_GROUPS_AUTO;
}

int32_t dsv3_model_load(const char *path, const dsv3_model_params *params, dsv3_model **out_model,
                        char *error_message, size_t error_message_size) {
    return model_load_common(path, NULL, 0, params, out_model, error_message, error_message_size);
}

int32_t dsv3_model_load_memory(const void *data, size_t size, const dsv3_model_params *params,
                               dsv3_model **out_model, char *error_message, size_t error_message_size) {
    if (!data && out_model) {
        *out_model = NULL;
        if (error_message && error_message_size) snprintf(error_message, error_message_size, "NULL data");
        return DSV3_ERR_INVALID_ARGUMENT;
    }
    return model_load_common(NULL, data, size, params, out_model, error_message, error_message_size);
}

void dsv3_model_free(dsv3_model *model) { model_destroy(model); }

size_t dsv3_model_n_vocab(const dsv3_model *model) { return model ? model->hp.n_vocab : 0; }
size_t dsv3_model_n_ctx_train(const dsv3_model *model) { return model ? model->hp.n_ctx_train : 0; }
int32_t dsv3_model_token_bos(const dsv3_model *model) { return model ? model->token_bos : -1; }
int32_t dsv3_model_token_eos(const dsv3_model *model) { return model ? model->token_eos : -1; }
int32_t dsv3_model_token_pad(const dsv3_model *model) { return model ? model->token_pad : -1; }

int32_t dsv3_model_hparams(const dsv3_model *model, dsv3_hparams *out) {
    if (!model || !out || out->struct_size < sizeof(uint32_t)) return DSV3_ERR_INVALID_ARGUMENT;
    size_t n = out->struct_size < sizeof model->hp ? out->struct_size : sizeof model->hp;
    uint32_t caller_size = out->struct_size;
    memcpy(out, &model->hp, n);
    out->struct_size = caller_size;
    return DSV3_OK;
}

int32_t dsv3_model_has_tokenizer(const dsv3_model *model) { return model && model->vocab.present ? 1 : 0; }

static int32_t need_tokenizer(const dsv3_model *model) {
    if (!model) return DSV3_ERR_INVALID_ARGUMENT;
    if (!model->vocab.present) {
        model_log(model, DSV3_LOG_ERROR, "this model file has no tokenizer (tokenizer.ggml.tokens with merges)");
        return DSV3_ERR_UNSUPPORTED;
    }
    return DSV3_OK;
}

int32_t dsv3_tokenize(const dsv3_model *model, const char *text, size_t text_len, int32_t add_bos,
                      int32_t parse_special, int32_t *tokens, size_t max_tokens, size_t *n_tokens) {
    if (n_tokens) *n_tokens = 0;
    if (!model || !n_tokens || (!text && text_len) || (!tokens && max_tokens)) return DSV3_ERR_INVALID_ARGUMENT;
    int32_t st = need_tokenizer(model);
    if (st) return st;
    encoder e;
    encoder_init(&e, &model->vocab, &model->alloc, tokens, max_tokens, text_len);
    st = encode_text(&e, (const uint8_t *)text, text_len, add_bos != 0, parse_special != 0);
    encoder_release(&e);
    if (st) return st;
    *n_tokens = e.n;
    return e.n > max_tokens ? DSV3_ERR_BUFFER_TOO_SMALL : DSV3_OK;
}

int32_t dsv3_token_to_piece(const dsv3_model *model, int32_t token, int32_t render_special, char *buf,
                            size_t buf_size, size_t *n_bytes) {
    if (n_bytes) *n_bytes = 0;
    if (!model || !n_bytes || (!buf && buf_size)) return DSV3_ERR_INVALID_ARGUMENT;
    int32_t st = need_tokenizer(model);
    if (st) return st;
    if (token < 0 || (uint32_t)token >= model->vocab.n_tokens) return DSV3_ERR_TOKEN_OUT_OF_RANGE;
    const uint8_t *bytes;
    size_t n = token_piece(&model->vocab, token, render_special != 0, &bytes);
    *n_bytes = n;
    if (n > buf_size) return DSV3_ERR_BUFFER_TOO_SMALL;
    if (n) memcpy(buf, bytes, n);
    return DSV3_OK;
}

void dsv3_decoder_init(dsv3_decoder *decoder, int32_t render_special) {
    if (!decoder) return;
    memset(decoder, 0, sizeof *decoder);
    decoder->render_special = render_special != 0;
}

int32_t dsv3_decoder_push(const dsv3_model *model, dsv3_decoder *decoder, int32_t token, char *buf,
                          size_t buf_size, size_t *n_bytes) {
    if (n_bytes) *n_bytes = 0;
    if (!model || !decoder || !n_bytes || (!buf && buf_size) || decoder->n_pending > 3)
        return DSV3_ERR_INVALID_ARGUMENT;
    int32_t st = need_tokenizer(model);
    if (st) return st;
    if (token < 0 || (uint32_t)token >= model->vocab.n_tokens) return DSV3_ERR_TOKEN_OUT_OF_RANGE;
    const uint8_t *bytes;
    size_t n = token_piece(&model->vocab, token, decoder->render_special != 0, &bytes);
    /* The held-back tail of pending + piece lies in their last 3 bytes. */
    uint8_t tail[7];
    size_t n_tail = 0, from_piece = n < 3 ? n : 3;
    size_t from_pending = 3 - from_piece < decoder->n_pending ? 3 - from_piece : decoder->n_pending;
    memcpy(tail, decoder->pending + decoder->n_pending - from_pending, from_pending);
    memcpy(tail + from_pending, bytes + n - from_piece, from_piece);
    n_tail = from_pending + from_piece;
    size_t keep = utf8_incomplete_tail(tail, n_tail);
    size_t total = decoder->n_pending + n, emit = total - keep;
    *n_bytes = emit;
    if (emit > buf_size) return DSV3_ERR_BUFFER_TOO_SMALL;
    /* Write pending + piece minus the kept tail, then keep the tail. */
    size_t w = 0;
    for (size_t i = 0; i < decoder->n_pending && w < emit; i++) buf[w++] = (char)decoder->pending[i];
    if (w < emit) memcpy(buf + w, bytes, emit - w);
    memcpy(decoder->pending, tail + n_tail - keep, keep);
    decoder->n_pending = (uint32_t)keep;
    return DSV3_OK;
}

int32_t dsv3_decoder_flush(dsv3_decoder *decoder, char *buf, size_t buf_size, size_t *n_bytes) {
    if (n_bytes) *n_bytes = 0;
    if (!decoder || !n_bytes || (!buf && buf_size) || decoder->n_pending > 3) return DSV3_ERR_INVALID_ARGUMENT;
    *n_bytes = decoder->n_pending;
    if (decoder->n_pending > buf_size) return DSV3_ERR_BUFFER_TOO_SMALL;
    if (decoder->n_pending) memcpy(buf, decoder->pending, decoder->n_pending);
    decoder->n_pending = 0;
    return DSV3_OK;
}

int32_t dsv3_chat_format(const dsv3_model *model, const dsv3_chat_message *messages, size_t n_messages,
                         int32_t add_generation_prompt, int32_t style, char *out, size_t out_size, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!n_out || (!messages && n_messages) || (!out && out_size)) return DSV3_ERR_INVALID_ARGUMENT;
    if (style == DSV3_CHAT_AUTO) {
        int32_t st = need_tokenizer(model);
        if (st) return st;
        style = model->vocab.chat_style == CHAT_STYLE_R1 ? DSV3_CHAT_DEEPSEEK_R1 : DSV3_CHAT_DEEPSEEK_V3;
    }
    if (style != DSV3_CHAT_DEEPSEEK_V3 && style != DSV3_CHAT_DEEPSEEK_R1) return DSV3_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n_messages; i++) {
        const char *r = messages[i].role;
        if (!r || !messages[i].content) return DSV3_ERR_INVALID_ARGUMENT;
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "tool"))
            return DSV3_ERR_INVALID_ARGUMENT;
    }
    text_out o = {out, out_size, 0};
    /* DeepSeek-V3's tokenizer_config.json chat_template (dsv3-tokenizer.md §5.1),
       message-content part; R1 differences per §5.3. */
    if (model && model->vocab.present && model->vocab.bos >= 0) {
        const vocab *v = &model->vocab;
        out_bytes(&o, (const char *)token_bytes(v, v->bos), token_len(v, v->bos));
    } else {
        out_str(&o, "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
    }
    int first_system = 1;
    for (size_t i = 0; i < n_messages; i++) {
        if (strcmp(messages[i].role, "system")) continue;
        if (!first_system) out_str(&o, "\n\n");
        out_str(&o, messages[i].content);
        first_system = 0;
    }
    static const char user[] = "<\xef\xbd\x9cUser\xef\xbd\x9c>";
    static const char assistant[] = "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>";
    static const char eos[] = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
    static const char outputs_begin[] = "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "begin\xef\xbd\x9c>";
    static const char outputs_end[] = "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>";
    static const char output_begin[] = "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>";
    static const char output_end[] = "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>";
    int is_tool = 0, is_output_first = 1;
    for (size_t i = 0; i < n_messages; i++) {
        const char *role = messages[i].role, *content = messages[i].content;
        if (!strcmp(role, "user")) {
            is_tool = 0;
            out_str(&o, user);
            out_str(&o, content);
        } else if (!strcmp(role, "assistant")) {
            if (is_tool) {
                out_str(&o, outputs_end);
                is_tool = 0;
            } else {
                if (style == DSV3_CHAT_DEEPSEEK_R1) content = after_last_think(content);
                out_str(&o, assistant);
            }
            out_str(&o, content);
            out_str(&o, eos);
        } else if (!strcmp(role, "tool")) {
            is_tool = 1;
            /* the template never resets is_output_first: later runs of tool
               outputs start with "\n" too */
            if (is_output_first) {
                out_str(&o, outputs_begin);
                is_output_first = 0;
            } else {
                out_str(&o, "\n");
            }
            out_str(&o, output_begin);
            out_str(&o, content);
            out_str(&o, output_end);
        }
    }
    if (is_tool) out_str(&o, outputs_end);
    if (add_generation_prompt && !is_tool) {
        out_str(&o, assistant);
        if (style == DSV3_CHAT_DEEPSEEK_R1) out_str(&o, "<think>\n");
    }
    *n_out = o.n;
    if (o.n >= out_size) return DSV3_ERR_BUFFER_TOO_SMALL;
    out[o.n] = '\0';
    return DSV3_OK;
}

void dsv3_context_default_params(dsv3_context_params *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->n_ctx = 0;
    out->n_batch = 64;
    out->n_threads = 0;
    out->kv_type = DSV3_KV_F32;
}

void dsv3_context_free(dsv3_context *ctx) {
    if (!ctx) return;
    const allocator *a = &ctx->model->alloc;
    mem_free(a, ctx->kv_cache);
    mem_free(a, ctx->scratch);
    mem_free(a, ctx->chosen);
    mem_free(a, ctx);
}

int32_t dsv3_context_create(const dsv3_model *model, const dsv3_context_params *user_params,
                            dsv3_context **out_context) {
    error_slot err = {DSV3_OK, ""};
    if (out_context) *out_context = NULL;
    if (!model || !out_context) return DSV3_ERR_INVALID_ARGUMENT;
    if (model->vocab_only) {
        model_log(model, DSV3_LOG_ERROR, "the model was loaded with vocab_only: it has no weights to run");
        return DSV3_ERR_INVALID_ARGUMENT;
    }
    dsv3_context_params p;
    dsv3_context_default_params(&p);
    int32_t st = merge_params(&p, sizeof p, user_params, &err);
    if (st) {
        model_log(model, DSV3_LOG_ERROR, "%s", err.message);
        return st;
    }
    const dsv3_hparams *hp = &model->hp;
    if (p.kv_type != DSV3_KV_F32 && p.kv_type != DSV3_KV_F16 && p.kv_type != DSV3_KV_BF16) {
        model_log(model, DSV3_LOG_ERROR, "unknown kv_type %d", (int)p.kv_type);
        return DSV3_ERR_INVALID_ARGUMENT;
    }
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_batch == 0) p.n_batch = 64;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;

    const allocator *a = &model->alloc;
    dsv3_context *ctx = (dsv3_context *)mem_calloc(a, 1, sizeof *ctx);
    if (!ctx) return DSV3_ERR_OUT_OF_MEMORY;
    ctx->model = model;
    ctx->n_ctx = p.n_ctx;
    ctx->n_batch = p.n_batch;
    ctx->kv_type = p.kv_type;

    size_t E = hp->n_embd, H = hp->n_head, Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim;
    size_t widest_ffn = hp->n_ff;
    size_t shared = (size_t)hp->n_ff_expert * hp->n_expert_shared;
    if (shared > widest_ffn) widest_ffn = shared;
    if (hp->n_ff_expert > widest_ffn) widest_ffn = hp->n_ff_expert;
    size_t B = ctx->n_batch;
    /* Sizes in floats, in the order the pointers are laid out. */
    size_t sizes[] = {
        B * E, B * E, H * model->qk_head_dim, hp->q_lora_rank + 1, Lkv + dr, H * Lkv,
        H * (size_t)ctx->n_ctx, H * Lkv, H * hp->v_head_dim, E, widest_ffn, widest_ffn, E,
        hp->n_expert + 1, hp->n_expert + 1, hp->n_expert_groups + 1, model->max_row, dr,
        hp->n_vocab, hp->n_expert_used + 1,
    };
    float **slots[] = {
        &ctx->x, &ctx->xn, &ctx->q, &ctx->q_lora, &ctx->kv, &ctx->q_abs, &ctx->scores, &ctx->o_lat,
        &ctx->attn_cat, &ctx->hidden, &ctx->ffn_gate, &ctx->ffn_up, &ctx->expert_out,
        &ctx->router_scores, &ctx->router_choice, &ctx->group_scores, &ctx->row, &ctx->rope_cs,
        &ctx->logits, &ctx->expert_weights,
    };
    size_t total = 0;
    int overflow = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t padded = (sizes[i] + 15) & ~(size_t)15; /* 64-byte aligned slices */
        if (padded < sizes[i] || total > SIZE_MAX / sizeof(float) - padded) overflow = 1;
        total += padded;
    }
    uint64_t kv_bytes = 0;
    ctx->kv_row_bytes = (Lkv + dr) * kv_element_size(p.kv_type);
    if (mul_overflows((uint64_t)hp->n_layer * ctx->n_ctx, ctx->kv_row_bytes, &kv_bytes) || kv_bytes > SIZE_MAX)
        overflow = 1;
    if (!overflow) {
        ctx->scratch = (float *)mem_calloc(a, total, sizeof(float));
        ctx->kv_cache = (uint8_t *)mem_calloc(a, (size_t)kv_bytes, 1);
        ctx->chosen = (uint32_t *)mem_calloc(a, (size_t)hp->n_expert_used + hp->n_expert_groups + 2, sizeof(uint32_t));
    }
    if (overflow || !ctx->scratch || !ctx->kv_cache || !ctx->chosen) {
        model_log(model, DSV3_LOG_ERROR, "out of memory creating a context of %u positions (%llu bytes of KV cache)",
                  ctx->n_ctx, (unsigned long long)kv_bytes);
        dsv3_context_free(ctx);
        return DSV3_ERR_OUT_OF_MEMORY;
    }
    ctx->kept_groups = ctx->chosen + hp->n_expert_used + 1;
    float *cursor_f = ctx->scratch;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *slots[i] = cursor_f;
        cursor_f += (sizes[i] + 15) & ~(size_t)15;
    }
    *out_context = ctx;
    return DSV3_OK;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static int32_t context_fail(dsv3_context *ctx, int32_t status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->last_error, sizeof ctx->last_error, fmt, ap);
    va_end(ap);
    return status;
}

static int32_t check_tokens(dsv3_context *ctx, const int32_t *tokens, size_t n) {
    if (n > ctx->n_ctx - ctx->pos)
        return context_fail(ctx, DSV3_ERR_CONTEXT_FULL, "%zu tokens do not fit: position %zu of %u", n, ctx->pos,
                            ctx->n_ctx);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= ctx->model->hp.n_vocab)
            return context_fail(ctx, DSV3_ERR_TOKEN_OUT_OF_RANGE, "token %d at index %zu is outside the vocabulary (0..%u)",
                                tokens[i], i, ctx->model->hp.n_vocab - 1);
    return DSV3_OK;
}

int32_t dsv3_step(dsv3_context *ctx, int32_t token, const float **out_logits) {
    if (out_logits) *out_logits = NULL;
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    int32_t st = check_tokens(ctx, &token, 1);
    if (st) return st;
    forward_batch(ctx, &token, 1, NULL);
    ctx->last_error[0] = '\0';
    if (out_logits) *out_logits = ctx->logits;
    return DSV3_OK;
}

int32_t dsv3_prefill(dsv3_context *ctx, const int32_t *tokens, size_t n_tokens, float *all_logits) {
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    if (!tokens && n_tokens) return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "NULL tokens");
    int32_t st = check_tokens(ctx, tokens, n_tokens);
    if (st) return st;
    size_t V = ctx->model->hp.n_vocab;
    for (size_t done = 0; done < n_tokens;) {
        size_t n = n_tokens - done < ctx->n_batch ? n_tokens - done : ctx->n_batch;
        forward_batch(ctx, tokens + done, n, all_logits ? all_logits + done * V : NULL);
        done += n;
    }
    ctx->last_error[0] = '\0';
    return DSV3_OK;
}

const float *dsv3_context_logits(const dsv3_context *ctx) {
    return ctx && ctx->has_logits ? ctx->logits : NULL;
}

int32_t dsv3_context_rewind(dsv3_context *ctx, size_t n_pos) {
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    if (n_pos > ctx->pos)
        return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "cannot rewind to position %zu: only %zu are filled", n_pos,
                            ctx->pos);
    ctx->pos = n_pos;
    /* The logits belonged to a position that is gone (or kept): drop them so a
       caller cannot sample from a stale distribution. */
    ctx->has_logits = 0;
    return DSV3_OK;
}

size_t dsv3_context_position(const dsv3_context *ctx) { return ctx ? ctx->pos : 0; }
size_t dsv3_context_n_ctx(const dsv3_context *ctx) { return ctx ? ctx->n_ctx : 0; }
size_t dsv3_context_kv_bytes_per_token(const dsv3_context *ctx) {
    return ctx ? ctx->kv_row_bytes * ctx->model->hp.n_layer : 0;
}
const char *dsv3_context_last_error(const dsv3_context *ctx) { return ctx ? ctx->last_error : ""; }
