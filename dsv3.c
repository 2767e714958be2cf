/* dsv3.c - run DeepSeek-V3-architecture language models on the CPU.
 *
 * MIT licence (see LICENSE). The implementation of dsv3.h in one translation
 * unit: `cc -c dsv3.c` builds it with no flags.
 *
 * Build flags
 *   DSV3_NO_MMAP      never map files; read them into memory instead.
 *   DSV3_NO_THREADS   no threads: every context computes on the calling thread.
 *   DSV3_NO_SIMD      scalar reference kernels only.
 *
 * Contents (each section uses only what is above it)
 *   1  platform and configuration
 *   2  utilities: status, errors, allocation, checked arithmetic, half floats
 *   3  file mapping and the GGUF reader
 *   4  tensor type table
 *   5  tokenizer: Unicode classes, pre-tokenizers, byte-level BPE, chat format
 *   6  scalar reference kernels
 *   7  SIMD kernels (AVX2, AVX-VNNI, AVX-512, AMX, NEON) and dispatch
 *   8  thread pool
 *   9  model: hyperparameters, tensor binding, load
 *   10 forward pass: MLA attention, DeepSeekMoE, output head
 *   11 sampling
 *   12 public API, in dsv3.h order
 *   13 quantizers, GGUF writer, dsv3_quantize_file
 *
 * Sources for the math: DeepSeek-V3 technical report (arXiv 2412.19437v2),
 * DeepSeek-V2 report (arXiv 2405.04434), YaRN (arXiv 2309.00071), and the GGUF
 * conventions written down in the project's reference notes.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L
#endif
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#  define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#endif
#if defined(__MINGW32__) && !defined(__USE_MINGW_ANSI_STDIO)
#  define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats (%zu, %lld) */
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

/* ==== 1. Platform and configuration (private) =========================== */

/* Windows: Win32 file mapping and threads, UTF-8 paths through the wide-char
   calls. _WIN32_WINNT 0x0600 (Vista) is the floor for SRW locks and condition
   variables. */
#if defined(_WIN32)
#  if !defined(_WIN32_WINNT)
#    define _WIN32_WINNT 0x0600
#  elif _WIN32_WINNT < 0x0600
#    error "dsv3 needs _WIN32_WINNT >= 0x0600 (Windows Vista) for its thread pool"
#  endif
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  ifndef NOMINMAX
#    define NOMINMAX
#  endif
#  include <windows.h>
#endif

#if !defined(DSV3_NO_MMAP) && defined(_WIN32)
#  define DSV3_HAVE_MMAP 1 /* CreateFileMappingW + MapViewOfFile */
#elif !defined(DSV3_NO_MMAP) && (defined(__unix__) || defined(__APPLE__))
#  define DSV3_HAVE_MMAP 1
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <unistd.h>
#else
#  define DSV3_HAVE_MMAP 0
#endif

#if !defined(DSV3_NO_THREADS) && defined(_WIN32)
#  define DSV3_HAVE_THREADS 1 /* CreateThread, SRW lock, condition variables */
#elif !defined(DSV3_NO_THREADS) && (defined(__unix__) || defined(__APPLE__))
#  define DSV3_HAVE_THREADS 1
#  include <pthread.h>
#  include <sched.h>
#  include <unistd.h>
#else
#  define DSV3_HAVE_THREADS 0
#endif

/* printf-style checking of our own formatters; MinGW's "printf" archetype
   means msvcrt's dialect, but __USE_MINGW_ANSI_STDIO (above) gives C99's. */
#if defined(__MINGW32__) && !defined(__clang__)
#  define DSV3_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__) || defined(__clang__)
#  define DSV3_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define DSV3_PRINTF(fmt, args)
#endif

/* SIMD tile bodies are inlined into callers that fix their shape, so the
   compiler keeps their accumulator arrays in registers. */
#if defined(__GNUC__) || defined(__clang__)
#  define DSV3_ALWAYS_INLINE __attribute__((always_inline))
#elif defined(_MSC_VER)
#  define DSV3_ALWAYS_INLINE __forceinline
#else
#  define DSV3_ALWAYS_INLINE
#endif
/* Keeps a loaded vector in a register: compilers otherwise fold the load into
   each instruction that uses it, loading it again for every use. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define DSV3_IN_REGISTER(v) __asm__("" : "+x"(v))
#else
#  define DSV3_IN_REGISTER(v) (void)0
#endif
/* Makes the compiler read an object from memory again after this point,
   rather than forward what it stored from registers (with shuffles). */
#if defined(__GNUC__) || defined(__clang__)
#  define DSV3_IN_MEMORY(m) __asm__("" : "+m"(m))
#else
#  define DSV3_IN_MEMORY(m) (void)0
#endif
/* A hint to bring one cache line in ahead of its use (no-op where unknown). */
#if defined(__GNUC__) || defined(__clang__)
#  define DSV3_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#  include <xmmintrin.h>
#  define DSV3_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#  define DSV3_PREFETCH(p) (void)(p)
#endif
/* One-token dots that fetch their own rows ahead: DSV3_PREFETCH_AHEAD bytes
   past the block being read, a block's worth of lines per block, so requests
   go out evenly while the block is computed (rows lie end to end, so past a
   row's end is the stream's next row). Address arithmetic in integers: the
   lines may lie past the tensor, where a prefetch is harmless. */
#define DSV3_PREFETCH_AHEAD 4096
#define DSV3_PREFETCH_BLOCK(block, bytes)                                                                     \
    do {                                                                                                      \
        for (size_t ahead_ = 0; ahead_ < (bytes); ahead_ += 64)                                               \
            DSV3_PREFETCH((const void *)((uintptr_t)(block) + DSV3_PREFETCH_AHEAD + ahead_));                   \
    } while (0)
/* ... and unroll their short fixed loops over heads, tokens and chunks (fully:
   clang 14 kept the accumulators of the 8-token tiles on the stack under a
   plain "unroll", ~40% slower; GCC needs the depth spelled out) */
#if defined(__clang__)
#  define DSV3_UNROLL _Pragma("clang loop unroll(full)")
#  define DSV3_UNROLL16 _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#  define DSV3_UNROLL _Pragma("GCC unroll 8")
#  define DSV3_UNROLL16 _Pragma("GCC unroll 16") /* 16 registers indexed by the loop */
#else
#  define DSV3_UNROLL
#  define DSV3_UNROLL16
#endif

#define DSV3_ERROR_SIZE 320
#define DSV3_MAX_DIMS 4
#define DSV3_GGUF_DEFAULT_ALIGNMENT 32
#define DSV3_GGUF_MAX_NAME 64
/* Sigmoid-routed weight sums are clamped below by this before normalising,
   the value llama.cpp uses (deepseek2-gguf.md §5.1 step 7). */
#define DSV3_MIN_EXPERT_WEIGHT_SUM 6.103515625e-5f

/* ==== 2. Utilities: status, errors, allocation, checked math (private) */

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

DSV3_PRINTF(3, 4)
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

/* IEEE binary16 -> binary32, exact for every input (subnormals, inf, NaN;
   a signalling NaN comes out quiet, as from the F16C and NEON conversions). */
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mantissa << 13) | (mantissa ? 0x400000u : 0));
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

/* FNV-1a, 64-bit: a fast, well-spread hash for fingerprints and checksums. */
static uint64_t fnv1a(uint64_t hash, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    for (size_t i = 0; i < n; i++) hash = (hash ^ p[i]) * 0x100000001B3ull;
    return hash;
}
#define DSV3_FNV_OFFSET 0xCBF29CE484222325ull

static uint16_t read_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void store_u16le(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint32_t read_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t read_u64le(const uint8_t *p) {
    return (uint64_t)read_u32le(p) | (uint64_t)read_u32le(p + 4) << 32;
}

static float read_f32le(const uint8_t *p) { return f32_from_bits(read_u32le(p)); }

/* ==== 3. File mapping and GGUF reader (private) ========================= */

/* The bytes of a model file: mapped, read into memory, or lent by the host. */
typedef struct file_image {
    const uint8_t *data;
    size_t size;
    int kind; /* 0 lent by the host, 1 mapped, 2 heap copy */
} file_image;

/* Paths are UTF-8 everywhere. Windows takes them through its wide-char calls;
   elsewhere they go to the system as they are. */
#if defined(_WIN32)
/* UTF-8 -> UTF-16 in a buffer from the allocator; errno is ENOMEM or EINVAL
   (not UTF-8) on failure. */
static wchar_t *path_to_wide(const char *path, const allocator *a) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (n <= 0) {
        errno = EINVAL;
        return NULL;
    }
    wchar_t *w = (wchar_t *)mem_calloc(a, (size_t)n, sizeof *w);
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n) != n) {
        mem_free(a, w);
        errno = EINVAL;
        return NULL;
    }
    return w;
}

/* The system's message for a GetLastError() code, without its line break. */
static const char *win_error_text(DWORD code, char *buf, size_t size) {
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, buf,
                             (DWORD)size, NULL);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.' || buf[n - 1] == ' ')) n--;
    if (n == 0) snprintf(buf, size, "Windows error %lu", (unsigned long)code);
    else buf[n] = '\0';
    return buf;
}
#endif

/* fopen() of a UTF-8 path; NULL with errno set on failure. */
static FILE *path_fopen(const char *path, const char *mode, const allocator *a) {
#if defined(_WIN32)
    wchar_t wmode[8];
    size_t i = 0;
    for (; mode[i] && i + 1 < sizeof wmode / sizeof wmode[0]; i++) wmode[i] = (wchar_t)mode[i];
    wmode[i] = 0;
    wchar_t *wpath = path_to_wide(path, a);
    if (!wpath) return NULL;
    FILE *f = _wfopen(wpath, wmode);
    int e = errno;
    mem_free(a, wpath);
    errno = e;
    return f;
#else
    (void)a;
    return fopen(path, mode);
#endif
}

/* remove() of a UTF-8 path. */
static int path_remove(const char *path, const allocator *a) {
#if defined(_WIN32)
    wchar_t *wpath = path_to_wide(path, a);
    int r = wpath ? _wremove(wpath) : -1;
    mem_free(a, wpath);
    return r;
#else
    (void)a;
    return remove(path);
#endif
}

/* Moves from over to, replacing to if it exists (rename() does not replace on
   Windows); 0 on success, else -1 with a reason in buf. */
static int path_replace(const char *from, const char *to, const allocator *a, char *buf, size_t size) {
#if defined(_WIN32)
    wchar_t *wfrom = path_to_wide(from, a), *wto = wfrom ? path_to_wide(to, a) : NULL;
    int ok = wfrom && wto && MoveFileExW(wfrom, wto, MOVEFILE_REPLACE_EXISTING);
    if (!ok) {
        if (wfrom && wto) win_error_text(GetLastError(), buf, size);
        else snprintf(buf, size, "%s", strerror(errno));
    }
    mem_free(a, wfrom);
    mem_free(a, wto);
    return ok ? 0 : -1;
#else
    (void)a;
    if (rename(from, to) == 0) return 0;
    snprintf(buf, size, "%s", strerror(errno));
    return -1;
#endif
}

static int32_t image_open(file_image *img, const char *path, int use_mmap,
                          const allocator *a, error_slot *err) {
    memset(img, 0, sizeof *img);
#if DSV3_HAVE_MMAP && defined(_WIN32)
    if (use_mmap) {
        char reason[160];
        wchar_t *wpath = path_to_wide(path, a);
        if (!wpath)
            return errno == ENOMEM ? fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory for the path '%s'", path)
                                   : fail(err, DSV3_ERR_IO, "cannot open '%s': the path is not UTF-8", path);
        HANDLE file = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL,
                                  NULL);
        DWORD e = GetLastError();
        mem_free(a, wpath);
        if (file == INVALID_HANDLE_VALUE)
            return fail(err, DSV3_ERR_IO, "cannot open '%s': %s", path, win_error_text(e, reason, sizeof reason));
        LARGE_INTEGER size;
        if (!GetFileSizeEx(file, &size)) {
            e = GetLastError();
            CloseHandle(file);
            return fail(err, DSV3_ERR_IO, "cannot size '%s': %s", path, win_error_text(e, reason, sizeof reason));
        }
        if (size.QuadPart <= 0) {
            CloseHandle(file);
            return fail(err, DSV3_ERR_BAD_FILE, "'%s' is empty", path);
        }
        if ((uint64_t)size.QuadPart > (uint64_t)SIZE_MAX) {
            CloseHandle(file);
            return fail(err, DSV3_ERR_IO, "'%s' is too large to map", path);
        }
        /* the view keeps the mapping and the file open after their handles close */
        HANDLE mapping = CreateFileMappingW(file, NULL, PAGE_READONLY, 0, 0, NULL);
        CloseHandle(file);
        if (mapping) {
            void *p = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
            CloseHandle(mapping);
            if (p) {
                img->data = (const uint8_t *)p;
                img->size = (size_t)size.QuadPart;
                img->kind = 1;
                return DSV3_OK;
            }
        }
        /* fall through to reading the file */
    }
#elif DSV3_HAVE_MMAP
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
#if defined(MADV_HUGEPAGE)
            /* Decoding streams every weight once per token, and 2 MB pages
               spare it TLB misses and prefetch stops every 4 KB. Linux then
               reads the file into 2 MB page-cache folios where the file
               system supports them (after a cold load of a 2.9 GB bench file
               on ext4: 2.83 GB mapped in 2 MB pages, against 2.07 GB without
               the advice); pages already cached stay as they are. Mapped so,
               one Zen 5 core decoded at 79-81% of its read bandwidth, within
               a few percent of a heap copy in 2 MB pages. Advice only: its
               failure changes nothing. */
            (void)madvise(p, (size_t)st.st_size, MADV_HUGEPAGE);
#endif
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
    FILE *f = path_fopen(path, "rb", a);
    if (!f)
        return fail(err, errno == ENOMEM ? DSV3_ERR_OUT_OF_MEMORY : DSV3_ERR_IO, "cannot open '%s': %s", path,
                    strerror(errno));
    /* 64-bit offsets where long is 32 bits (Windows) */
#if defined(_WIN32)
    int64_t end = _fseeki64(f, 0, SEEK_END) == 0 ? (int64_t)_ftelli64(f) : -1;
    int rewound = end > 0 && _fseeki64(f, 0, SEEK_SET) == 0;
#else
    int64_t end = fseek(f, 0, SEEK_END) == 0 ? (int64_t)ftell(f) : -1;
    int rewound = end > 0 && fseek(f, 0, SEEK_SET) == 0;
#endif
    if (!rewound) {
        fclose(f);
        return fail(err, end == 0 ? DSV3_ERR_BAD_FILE : DSV3_ERR_IO, "cannot size '%s'%s", path,
                    end == 0 ? ": the file is empty" : "");
    }
    if ((uint64_t)end > (uint64_t)SIZE_MAX) {
        fclose(f);
        return fail(err, DSV3_ERR_IO, "'%s' is too large to read into memory", path);
    }
    uint8_t *buf = (uint8_t *)mem_alloc(a, (size_t)end);
    if (!buf) {
        fclose(f);
        return fail(err, DSV3_ERR_OUT_OF_MEMORY, "cannot allocate %lld bytes to read '%s'", (long long)end, path);
    }
    size_t got = fread(buf, 1, (size_t)end, f);
    fclose(f);
    if (got != (size_t)end) {
        mem_free(a, buf);
        return fail(err, DSV3_ERR_IO, "short read of '%s' (%zu of %lld bytes)", path, got, (long long)end);
    }
    img->data = buf;
    img->size = (size_t)end;
    img->kind = 2;
    return DSV3_OK;
}

static void image_close(file_image *img, const allocator *a) {
#if DSV3_HAVE_MMAP && defined(_WIN32)
    if (img->kind == 1) UnmapViewOfFile(img->data);
#elif DSV3_HAVE_MMAP
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

/* ==== 4. Tensor type table (private) ==================================== */

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

/* Legacy 32-element blocks (gguf.md §3): low nibbles hold elements 0-15, high
   nibbles 16-31; Q5 types add a fifth bit from a 32-bit mask. */
static void q4_0_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 18 * b;
        float d = f16_to_f32(read_u16le(block));
        const uint8_t *qs = block + 2;
        for (int j = 0; j < 16; j++) {
            out[32 * b + j] = d * (float)((qs[j] & 0xF) - 8);
            out[32 * b + j + 16] = d * (float)((qs[j] >> 4) - 8);
        }
    }
}

static void q4_1_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 20 * b;
        float d = f16_to_f32(read_u16le(block)), m = f16_to_f32(read_u16le(block + 2));
        const uint8_t *qs = block + 4;
        for (int j = 0; j < 16; j++) {
            out[32 * b + j] = d * (float)(qs[j] & 0xF) + m;
            out[32 * b + j + 16] = d * (float)(qs[j] >> 4) + m;
        }
    }
}

static void q5_0_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 22 * b;
        float d = f16_to_f32(read_u16le(block));
        uint32_t high = read_u32le(block + 2);
        const uint8_t *qs = block + 6;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0xF) | (int)(((high >> j) & 1) << 4);
            int hi = (qs[j] >> 4) | (int)(((high >> (j + 16)) & 1) << 4);
            out[32 * b + j] = d * (float)(lo - 16);
            out[32 * b + j + 16] = d * (float)(hi - 16);
        }
    }
}

static void q5_1_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 24 * b;
        float d = f16_to_f32(read_u16le(block)), m = f16_to_f32(read_u16le(block + 2));
        uint32_t high = read_u32le(block + 4);
        const uint8_t *qs = block + 8;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0xF) | (int)(((high >> j) & 1) << 4);
            int hi = (qs[j] >> 4) | (int)(((high >> (j + 16)) & 1) << 4);
            out[32 * b + j] = d * (float)lo + m;
            out[32 * b + j + 16] = d * (float)hi + m;
        }
    }
}

/* IQ4_NL: 32 weights, an f16 scale and 4-bit indices into a fixed non-linear
   table (ggml-common.h kvalues_iq4nl), laid out like Q4_0. llama-quantize falls
   back to it for Q2_K/Q3_K tensors whose rows do not fill 256-element blocks
   (DeepSeek's attn_k_b), so such files need it. */
static const int8_t iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static void iq4_nl_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 18 * b;
        float d = f16_to_f32(read_u16le(block));
        const uint8_t *qs = block + 2;
        for (int j = 0; j < 16; j++) {
            out[32 * b + j] = d * (float)iq4nl_values[qs[j] & 0xF];
            out[32 * b + j + 16] = d * (float)iq4nl_values[qs[j] >> 4];
        }
    }
}

/* IQ4_XS: IQ4_NL's table in 256-element super-blocks (ggml-common.h
   block_iq4_xs, 136 bytes): an f16 scale d, then eight 6-bit sub-block scales
   stored +32 (low 4 bits in the nibbles of bytes 4-7, sub-block 2i in the low
   one; high 2 bits in the bit pairs of the u16 at byte 2), then 16 bytes of
   indices per 32-element sub-block, low nibbles first, as IQ4_NL. */
static int iq4_xs_scale(const uint8_t *block, int sub) {
    int low = (block[4 + sub / 2] >> (4 * (sub % 2))) & 0xF;
    int high = (read_u16le(block + 2) >> (2 * sub)) & 3;
    return (low | high << 4) - 32;
}

static void iq4_xs_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 136 * b;
        float d = f16_to_f32(read_u16le(block));
        for (int sub = 0; sub < 8; sub++) {
            float dl = d * (float)iq4_xs_scale(block, sub);
            const uint8_t *qs = block + 8 + 16 * sub;
            float *o = out + 256 * b + 32 * sub;
            for (int j = 0; j < 16; j++) {
                o[j] = dl * (float)iq4nl_values[qs[j] & 0xF];
                o[j + 16] = dl * (float)iq4nl_values[qs[j] >> 4];
            }
        }
    }
}

/* IQ2_XXS (ggml-common.h block_iq2_xxs, 66 bytes per 256 elements): an f16
   scale d, then per 32 elements two u32. The first holds four byte indices
   into iq2xxs_grid, each entry 8 magnitudes from {8, 25, 43}; the second four
   7-bit sign indices (bits 7l..7l+6, for the entry in byte l) and a 4-bit
   scale s (bits 28-31). Element = d * (0.5 + s) / 4 * magnitude, negated
   where the sign byte has bit j set; a sign byte is its 7-bit index plus an
   eighth bit that makes the count of set bits even (ggml's ksigns_iq2xs).
   IQ3_XXS (block_iq3_xxs, 98 bytes): d, then 64 byte indices into
   iq3xxs_grid (4 magnitudes from {4, 12, ..., 62} each), then per 32
   elements a u32 of four 7-bit sign indices (each for 8 elements, two grid
   entries) and the scale s in bits 28-31: element = d * (0.5 + s) / 2 *
   magnitude, signed the same way.
   IQ2_XS (block_iq2_xs, 74 bytes): d, then per 8 elements a u16 (a 9-bit
   index into iq2xs_grid, then a 7-bit sign index as above), then 8 bytes of
   4-bit scales, one per 16 elements, low nibble first: element = d * (0.5 +
   s) / 4 * magnitude, signed.
   IQ1_S (block_iq1_s, 50 bytes): d, 32 byte indices into iq1s_grid (values
   -1, 0, 1), then per 32 elements a u16: 3 high index bits per 8 elements
   (bits 3l..3l+2), the scale s (bits 12-14) and the sign of delta = 1/8 (bit
   15): element = d * (2s + 1) * (value +- delta).
   IQ1_M (block_iq1_m, 56 bytes): 32 byte indices, 16 bytes of nibbles (one
   per 8 elements, low first: 3 high index bits and the delta's sign in bit
   3), then four u16 of 3-bit scales, one per 16 elements (scale k in bits
   3(k%4) of u16 k/4), whose top nibbles together are the f16 d (u16 j's in
   bits 4j..4j+3): element = d * (2s + 1) * (value +- delta).
   IQ2_S (block_iq2_s, 82 bytes): d, 32 low index bytes (one grid entry of
   iq2s_grid per 8 elements), 32 sign bytes (bit j negates element j), per 32
   elements a byte of the entries' two high index bits (bits 2l), then 4-bit
   scales as IQ2_XS: element = d * (0.5 + s) / 4 * magnitude, signed.
   IQ3_S (block_iq3_s, 110 bytes): d, 64 low index bytes (one entry of
   iq3s_grid, 4 magnitudes from {1, 3, ..., 15}, per 4 elements), per 32
   elements a byte of the 8 entries' ninth index bits, 32 sign bytes as
   IQ2_S's, then one 4-bit scale per 32 elements (low nibble first): element
   = d * (2s + 1) * magnitude, signed.
   The grids are part of the format: written down from gguf-py's definition
   by tests/tools/gen_iq_grids.py (which --check's them), each entry a
   little-endian uint64 or uint32, byte j the value of element j. */
/* BEGIN generated by tests/tools/gen_iq_grids.py */
static const uint64_t iq2xxs_grid[256] = {
    0x0808080808080808, 0x080808080808082b, 0x0808080808081919, 0x0808080808082b08,
    0x0808080808082b2b, 0x0808080808190819, 0x0808080808191908, 0x08080808082b0808,
    0x08080808082b082b, 0x08080808082b2b08, 0x08080808082b2b2b, 0x0808080819080819,
    0x0808080819081908, 0x0808080819190808, 0x0808080819192b08, 0x08080808192b0819,
    0x08080808192b1908, 0x080808082b080808, 0x080808082b08082b, 0x080808082b082b2b,
    0x080808082b2b082b, 0x0808081908080819, 0x0808081908081908, 0x0808081908190808,
    0x0808081908191919, 0x0808081919080808, 0x080808192b081908, 0x080808192b192b08,
    0x0808082b08080808, 0x0808082b0808082b, 0x0808082b082b082b, 0x0808082b2b08082b,
    0x0808190808080819, 0x0808190808081908, 0x0808190808190808, 0x08081908082b0819,
    0x08081908082b1908, 0x0808190819080808, 0x080819081908082b, 0x0808190819082b08,
    0x08081908192b0808, 0x080819082b080819, 0x080819082b081908, 0x080819082b190808,
    0x080819082b2b1908, 0x0808191908080808, 0x080819190808082b, 0x0808191908082b08,
    0x08081919082b0808, 0x080819191908192b, 0x08081919192b2b19, 0x080819192b080808,
    0x080819192b190819, 0x0808192b08082b19, 0x0808192b08190808, 0x0808192b19080808,
    0x0808192b2b081908, 0x0808192b2b2b1908, 0x08082b0808080808, 0x08082b0808081919,
    0x08082b0808082b08, 0x08082b0808191908, 0x08082b08082b2b08, 0x08082b0819080819,
    0x08082b0819081908, 0x08082b0819190808, 0x08082b081919082b, 0x08082b082b082b08,
    0x08082b1908081908, 0x08082b1919080808, 0x08082b2b0808082b, 0x08082b2b08191908,
    0x0819080808080819, 0x0819080808081908, 0x0819080808190808, 0x08190808082b0819,
    0x0819080819080808, 0x08190808192b0808, 0x081908082b081908, 0x081908082b190808,
    0x081908082b191919, 0x0819081908080808, 0x0819081908082b08, 0x08190819082b0808,
    0x0819081919190808, 0x0819081919192b2b, 0x081908192b080808, 0x0819082b082b1908,
    0x0819082b19081919, 0x0819190808080808, 0x0819190808082b08, 0x08191908082b0808,
    0x08191908082b1919, 0x0819190819082b19, 0x081919082b080808, 0x0819191908192b08,
    0x08191919192b082b, 0x0819192b08080808, 0x0819192b0819192b, 0x08192b0808080819,
    0x08192b0808081908, 0x08192b0808190808, 0x08192b0819080808, 0x08192b082b080819,
    0x08192b1908080808, 0x08192b1908081919, 0x08192b192b2b0808, 0x08192b2b19190819,
    0x082b080808080808, 0x082b08080808082b, 0x082b080808082b2b, 0x082b080819081908,
    0x082b0808192b0819, 0x082b08082b080808, 0x082b08082b08082b, 0x082b0819082b2b19,
    0x082b081919082b08, 0x082b082b08080808, 0x082b082b0808082b, 0x082b190808080819,
    0x082b190808081908, 0x082b190808190808, 0x082b190819080808, 0x082b19081919192b,
    0x082b191908080808, 0x082b191919080819, 0x082b1919192b1908, 0x082b192b2b190808,
    0x082b2b0808082b08, 0x082b2b08082b0808, 0x082b2b082b191908, 0x082b2b2b19081908,
    0x1908080808080819, 0x1908080808081908, 0x1908080808190808, 0x1908080808192b08,
    0x19080808082b0819, 0x19080808082b1908, 0x1908080819080808, 0x1908080819082b08,
    0x190808081919192b, 0x19080808192b0808, 0x190808082b080819, 0x190808082b081908,
    0x190808082b190808, 0x1908081908080808, 0x19080819082b0808, 0x19080819192b0819,
    0x190808192b080808, 0x190808192b081919, 0x1908082b08080819, 0x1908082b08190808,
    0x1908082b19082b08, 0x1908082b1919192b, 0x1908082b192b2b08, 0x1908190808080808,
    0x1908190808082b08, 0x19081908082b0808, 0x190819082b080808, 0x190819082b192b19,
    0x190819190819082b, 0x19081919082b1908, 0x1908192b08080808, 0x19082b0808080819,
    0x19082b0808081908, 0x19082b0808190808, 0x19082b0819080808, 0x19082b0819081919,
    0x19082b1908080808, 0x19082b1919192b08, 0x19082b19192b0819, 0x19082b192b08082b,
    0x19082b2b19081919, 0x19082b2b2b190808, 0x1919080808080808, 0x1919080808082b08,
    0x1919080808190819, 0x1919080808192b19, 0x19190808082b0808, 0x191908082b080808,
    0x191908082b082b08, 0x1919081908081908, 0x191908191908082b, 0x191908192b2b1908,
    0x1919082b2b190819, 0x191919082b190808, 0x191919082b19082b, 0x1919191908082b2b,
    0x1919192b08080819, 0x1919192b19191908, 0x19192b0808080808, 0x19192b0808190819,
    0x19192b0808192b19, 0x19192b08192b1908, 0x19192b1919080808, 0x19192b2b08082b08,
    0x192b080808081908, 0x192b080808190808, 0x192b080819080808, 0x192b0808192b2b08,
    0x192b081908080808, 0x192b081919191919, 0x192b082b08192b08, 0x192b082b192b0808,
    0x192b190808080808, 0x192b190808081919, 0x192b191908190808, 0x192b19190819082b,
    0x192b19192b081908, 0x192b2b081908082b, 0x2b08080808080808, 0x2b0808080808082b,
    0x2b08080808082b2b, 0x2b08080819080819, 0x2b0808082b08082b, 0x2b08081908081908,
    0x2b08081908192b08, 0x2b08081919080808, 0x2b08082b08190819, 0x2b08190808080819,
    0x2b08190808081908, 0x2b08190808190808, 0x2b08190808191919, 0x2b08190819080808,
    0x2b081908192b0808, 0x2b08191908080808, 0x2b0819191908192b, 0x2b0819192b191908,
    0x2b08192b08082b19, 0x2b08192b19080808, 0x2b08192b192b0808, 0x2b082b080808082b,
    0x2b082b1908081908, 0x2b082b2b08190819, 0x2b19080808081908, 0x2b19080808190808,
    0x2b190808082b1908, 0x2b19080819080808, 0x2b1908082b2b0819, 0x2b1908190819192b,
    0x2b1908192b080808, 0x2b19082b19081919, 0x2b19190808080808, 0x2b191908082b082b,
    0x2b19190819081908, 0x2b19191919190819, 0x2b192b082b080819, 0x2b192b19082b0808,
    0x2b2b08080808082b, 0x2b2b080819190808, 0x2b2b08082b081919, 0x2b2b081908082b19,
    0x2b2b082b08080808, 0x2b2b190808192b08, 0x2b2b2b0819190808, 0x2b2b2b1908081908,
};
static const uint32_t iq3xxs_grid[256] = {
    0x04040404, 0x04040414, 0x04040424, 0x04040c0c, 0x04040c1c, 0x04040c3e, 0x04041404, 0x04041414,
    0x04041c0c, 0x04042414, 0x04043e1c, 0x04043e2c, 0x040c040c, 0x040c041c, 0x040c0c04, 0x040c0c14,
    0x040c140c, 0x040c142c, 0x040c1c04, 0x040c1c14, 0x040c240c, 0x040c2c24, 0x040c3e04, 0x04140404,
    0x04140414, 0x04140424, 0x04140c0c, 0x04141404, 0x04141414, 0x04141c0c, 0x04141c1c, 0x04141c3e,
    0x04142c0c, 0x04142c3e, 0x04143e2c, 0x041c040c, 0x041c043e, 0x041c0c04, 0x041c0c14, 0x041c142c,
    0x041c3e04, 0x04240c1c, 0x04241c3e, 0x04242424, 0x04242c3e, 0x04243e1c, 0x04243e2c, 0x042c040c,
    0x042c043e, 0x042c1c14, 0x042c2c14, 0x04341c2c, 0x04343424, 0x043e0c04, 0x043e0c24, 0x043e0c34,
    0x043e241c, 0x043e340c, 0x0c04040c, 0x0c04041c, 0x0c040c04, 0x0c040c14, 0x0c04140c, 0x0c04141c,
    0x0c041c04, 0x0c041c14, 0x0c041c24, 0x0c04243e, 0x0c042c04, 0x0c0c0404, 0x0c0c0414, 0x0c0c0c0c,
    0x0c0c1404, 0x0c0c1414, 0x0c14040c, 0x0c14041c, 0x0c140c04, 0x0c140c14, 0x0c14140c, 0x0c141c04,
    0x0c143e14, 0x0c1c0404, 0x0c1c0414, 0x0c1c1404, 0x0c1c1c0c, 0x0c1c2434, 0x0c1c3434, 0x0c24040c,
    0x0c24042c, 0x0c242c04, 0x0c2c1404, 0x0c2c1424, 0x0c2c2434, 0x0c2c3e0c, 0x0c34042c, 0x0c3e1414,
    0x0c3e2404, 0x14040404, 0x14040414, 0x14040c0c, 0x14040c1c, 0x14041404, 0x14041414, 0x14041434,
    0x14041c0c, 0x14042414, 0x140c040c, 0x140c041c, 0x140c042c, 0x140c0c04, 0x140c0c14, 0x140c140c,
    0x140c1c04, 0x140c341c, 0x140c343e, 0x140c3e04, 0x14140404, 0x14140414, 0x14140c0c, 0x14140c3e,
    0x14141404, 0x14141414, 0x14141c3e, 0x14142404, 0x14142c2c, 0x141c040c, 0x141c0c04, 0x141c0c24,
    0x141c3e04, 0x141c3e24, 0x14241c2c, 0x14242c1c, 0x142c041c, 0x142c143e, 0x142c240c, 0x142c3e24,
    0x143e040c, 0x143e041c, 0x143e0c34, 0x143e242c, 0x1c04040c, 0x1c040c04, 0x1c040c14, 0x1c04140c,
    0x1c04141c, 0x1c042c04, 0x1c04342c, 0x1c043e14, 0x1c0c0404, 0x1c0c0414, 0x1c0c1404, 0x1c0c1c0c,
    0x1c0c2424, 0x1c0c2434, 0x1c14040c, 0x1c14041c, 0x1c140c04, 0x1c14142c, 0x1c142c14, 0x1c143e14,
    0x1c1c0c0c, 0x1c1c1c1c, 0x1c241c04, 0x1c24243e, 0x1c243e14, 0x1c2c0404, 0x1c2c0434, 0x1c2c1414,
    0x1c2c2c2c, 0x1c340c24, 0x1c341c34, 0x1c34341c, 0x1c3e1c1c, 0x1c3e3404, 0x24040424, 0x24040c3e,
    0x24041c2c, 0x24041c3e, 0x24042c1c, 0x24042c3e, 0x240c3e24, 0x24141404, 0x24141c3e, 0x24142404,
    0x24143404, 0x24143434, 0x241c043e, 0x241c242c, 0x24240424, 0x24242c0c, 0x24243424, 0x242c142c,
    0x242c241c, 0x242c3e04, 0x243e042c, 0x243e0c04, 0x243e0c14, 0x243e1c04, 0x2c040c14, 0x2c04240c,
    0x2c043e04, 0x2c0c0404, 0x2c0c0434, 0x2c0c1434, 0x2c0c2c2c, 0x2c140c24, 0x2c141c14, 0x2c143e14,
    0x2c1c0414, 0x2c1c2c1c, 0x2c240c04, 0x2c24141c, 0x2c24143e, 0x2c243e14, 0x2c2c0414, 0x2c2c1c0c,
    0x2c342c04, 0x2c3e1424, 0x2c3e2414, 0x34041424, 0x34042424, 0x34042434, 0x34043424, 0x340c140c,
    0x340c340c, 0x34140c3e, 0x34143424, 0x341c1c04, 0x341c1c34, 0x34242424, 0x342c042c, 0x342c2c14,
    0x34341c1c, 0x343e041c, 0x343e140c, 0x3e04041c, 0x3e04042c, 0x3e04043e, 0x3e040c04, 0x3e041c14,
    0x3e042c14, 0x3e0c1434, 0x3e0c2404, 0x3e140c14, 0x3e14242c, 0x3e142c14, 0x3e1c0404, 0x3e1c0c2c,
    0x3e1c1c1c, 0x3e1c3404, 0x3e24140c, 0x3e24240c, 0x3e2c0404, 0x3e2c0414, 0x3e2c1424, 0x3e341c04,
};
static const uint64_t iq2xs_grid[512] = {
    0x0808080808080808, 0x080808080808082b, 0x0808080808081919, 0x0808080808082b08,
    0x0808080808082b2b, 0x0808080808190819, 0x0808080808191908, 0x080808080819192b,
    0x0808080808192b19, 0x08080808082b0808, 0x08080808082b082b, 0x08080808082b1919,
    0x08080808082b2b08, 0x0808080819080819, 0x0808080819081908, 0x080808081908192b,
    0x0808080819082b19, 0x0808080819190808, 0x080808081919082b, 0x0808080819191919,
    0x0808080819192b08, 0x08080808192b0819, 0x08080808192b1908, 0x080808082b080808,
    0x080808082b08082b, 0x080808082b081919, 0x080808082b082b08, 0x080808082b190819,
    0x080808082b191908, 0x080808082b192b19, 0x080808082b2b0808, 0x0808081908080819,
    0x0808081908081908, 0x080808190808192b, 0x0808081908082b19, 0x0808081908190808,
    0x080808190819082b, 0x0808081908191919, 0x0808081908192b08, 0x0808081908192b2b,
    0x08080819082b0819, 0x08080819082b1908, 0x0808081919080808, 0x080808191908082b,
    0x0808081919081919, 0x0808081919082b08, 0x0808081919190819, 0x0808081919191908,
    0x08080819192b0808, 0x08080819192b2b08, 0x080808192b080819, 0x080808192b081908,
    0x080808192b190808, 0x0808082b08080808, 0x0808082b0808082b, 0x0808082b08081919,
    0x0808082b08082b08, 0x0808082b08190819, 0x0808082b08191908, 0x0808082b082b0808,
    0x0808082b19080819, 0x0808082b19081908, 0x0808082b19190808, 0x0808082b19191919,
    0x0808082b2b080808, 0x0808082b2b082b2b, 0x0808190808080819, 0x0808190808081908,
    0x080819080808192b, 0x0808190808082b19, 0x0808190808190808, 0x080819080819082b,
    0x0808190808191919, 0x0808190808192b08, 0x08081908082b0819, 0x08081908082b1908,
    0x0808190819080808, 0x080819081908082b, 0x0808190819081919, 0x0808190819082b08,
    0x0808190819190819, 0x0808190819191908, 0x080819081919192b, 0x08081908192b0808,
    0x080819082b080819, 0x080819082b081908, 0x080819082b190808, 0x0808191908080808,
    0x080819190808082b, 0x0808191908081919, 0x0808191908082b08, 0x0808191908190819,
    0x0808191908191908, 0x08081919082b0808, 0x0808191919080819, 0x0808191919081908,
    0x0808191919190808, 0x08081919192b0819, 0x080819192b080808, 0x0808192b08080819,
    0x0808192b08081908, 0x0808192b08190808, 0x0808192b082b192b, 0x0808192b19080808,
    0x0808192b1908082b, 0x0808192b2b081908, 0x08082b0808080808, 0x08082b080808082b,
    0x08082b0808081919, 0x08082b0808082b08, 0x08082b0808082b2b, 0x08082b0808190819,
    0x08082b0808191908, 0x08082b08082b0808, 0x08082b08082b1919, 0x08082b0819080819,
    0x08082b0819081908, 0x08082b0819190808, 0x08082b0819192b08, 0x08082b082b080808,
    0x08082b082b2b0808, 0x08082b082b2b2b2b, 0x08082b1908080819, 0x08082b1908081908,
    0x08082b1908190808, 0x08082b1919080808, 0x08082b192b080819, 0x08082b192b082b19,
    0x08082b2b08080808, 0x08082b2b082b0808, 0x08082b2b082b2b08, 0x08082b2b2b19192b,
    0x08082b2b2b2b0808, 0x0819080808080819, 0x0819080808081908, 0x081908080808192b,
    0x0819080808082b19, 0x0819080808190808, 0x081908080819082b, 0x0819080808191919,
    0x0819080808192b08, 0x08190808082b0819, 0x08190808082b1908, 0x0819080819080808,
    0x081908081908082b, 0x0819080819081919, 0x0819080819082b08, 0x0819080819190819,
    0x0819080819191908, 0x08190808192b0808, 0x08190808192b2b2b, 0x081908082b080819,
    0x081908082b081908, 0x081908082b190808, 0x0819081908080808, 0x081908190808082b,
    0x0819081908081919, 0x0819081908082b08, 0x0819081908190819, 0x0819081908191908,
    0x08190819082b0808, 0x0819081919080819, 0x0819081919081908, 0x0819081919190808,
    0x081908192b080808, 0x081908192b191908, 0x081908192b19192b, 0x0819082b08080819,
    0x0819082b08081908, 0x0819082b0808192b, 0x0819082b08190808, 0x0819082b19080808,
    0x0819082b192b0808, 0x0819190808080808, 0x081919080808082b, 0x0819190808081919,
    0x0819190808082b08, 0x0819190808190819, 0x0819190808191908, 0x08191908082b0808,
    0x0819190819080819, 0x0819190819081908, 0x0819190819082b19, 0x0819190819190808,
    0x08191908192b1908, 0x081919082b080808, 0x0819191908080819, 0x0819191908081908,
    0x0819191908190808, 0x0819191919080808, 0x0819192b08080808, 0x0819192b08191908,
    0x0819192b19082b19, 0x08192b0808080819, 0x08192b0808081908, 0x08192b0808190808,
    0x08192b080819082b, 0x08192b0819080808, 0x08192b0819191908, 0x08192b082b08192b,
    0x08192b1908080808, 0x08192b1908081919, 0x08192b19192b192b, 0x08192b2b19190819,
    0x08192b2b2b2b2b19, 0x082b080808080808, 0x082b08080808082b, 0x082b080808081919,
    0x082b080808082b08, 0x082b080808082b2b, 0x082b080808190819, 0x082b080808191908,
    0x082b0808082b0808, 0x082b080819080819, 0x082b080819081908, 0x082b080819190808,
    0x082b08082b080808, 0x082b08082b2b0808, 0x082b081908080819, 0x082b081908081908,
    0x082b081908190808, 0x082b081919080808, 0x082b081919082b08, 0x082b0819192b1919,
    0x082b082b08080808, 0x082b082b082b082b, 0x082b082b2b080808, 0x082b082b2b2b2b08,
    0x082b190808080819, 0x082b190808081908, 0x082b190808190808, 0x082b1908082b2b19,
    0x082b190819080808, 0x082b191908080808, 0x082b191919080819, 0x082b19191919082b,
    0x082b19192b192b19, 0x082b192b08080819, 0x082b192b08192b2b, 0x082b192b2b2b192b,
    0x082b2b0808080808, 0x082b2b0808082b08, 0x082b2b0808082b2b, 0x082b2b08082b0808,
    0x082b2b0819191919, 0x082b2b082b082b08, 0x082b2b082b2b082b, 0x082b2b19192b2b08,
    0x082b2b192b190808, 0x082b2b2b08082b08, 0x082b2b2b082b0808, 0x082b2b2b2b08082b,
    0x082b2b2b2b082b08, 0x082b2b2b2b082b2b, 0x1908080808080819, 0x1908080808081908,
    0x190808080808192b, 0x1908080808082b19, 0x1908080808190808, 0x190808080819082b,
    0x1908080808191919, 0x1908080808192b08, 0x19080808082b0819, 0x19080808082b1908,
    0x1908080819080808, 0x190808081908082b, 0x1908080819081919, 0x1908080819082b08,
    0x1908080819082b2b, 0x1908080819190819, 0x1908080819191908, 0x19080808192b0808,
    0x19080808192b1919, 0x190808082b080819, 0x190808082b081908, 0x190808082b190808,
    0x1908081908080808, 0x190808190808082b, 0x1908081908081919, 0x1908081908082b08,
    0x1908081908190819, 0x1908081908191908, 0x19080819082b0808, 0x1908081919080819,
    0x1908081919081908, 0x1908081919190808, 0x190808192b080808, 0x190808192b081919,
    0x190808192b2b082b, 0x1908082b08080819, 0x1908082b08081908, 0x1908082b08190808,
    0x1908082b0819082b, 0x1908082b082b2b19, 0x1908082b19080808, 0x1908190808080808,
    0x190819080808082b, 0x1908190808081919, 0x1908190808082b08, 0x1908190808190819,
    0x1908190808191908, 0x1908190808192b19, 0x19081908082b0808, 0x1908190819080819,
    0x1908190819081908, 0x1908190819190808, 0x190819082b080808, 0x190819082b191908,
    0x1908191908080819, 0x1908191908081908, 0x1908191908190808, 0x19081919082b1908,
    0x1908191919080808, 0x190819192b192b2b, 0x1908192b08080808, 0x1908192b08082b2b,
    0x1908192b19081908, 0x1908192b19190808, 0x19082b0808080819, 0x19082b0808081908,
    0x19082b0808190808, 0x19082b0819080808, 0x19082b0819081919, 0x19082b0819191908,
    0x19082b08192b082b, 0x19082b1908080808, 0x19082b1908190819, 0x19082b1919081908,
    0x19082b1919190808, 0x19082b19192b2b19, 0x19082b2b08081908, 0x1919080808080808,
    0x191908080808082b, 0x1919080808081919, 0x1919080808082b08, 0x1919080808190819,
    0x1919080808191908, 0x19190808082b0808, 0x19190808082b2b08, 0x1919080819080819,
    0x1919080819081908, 0x1919080819190808, 0x191908082b080808, 0x1919081908080819,
    0x1919081908081908, 0x1919081908190808, 0x1919081908191919, 0x1919081919080808,
    0x191908191908082b, 0x1919082b08080808, 0x1919082b19081908, 0x1919082b2b2b2b2b,
    0x1919190808080819, 0x1919190808081908, 0x1919190808190808, 0x19191908082b0819,
    0x1919190819080808, 0x19191908192b0808, 0x191919082b080819, 0x191919082b2b0819,
    0x1919191908080808, 0x1919191908082b08, 0x191919192b080808, 0x191919192b082b08,
    0x1919192b082b0819, 0x1919192b192b2b08, 0x1919192b2b2b0819, 0x19192b0808080808,
    0x19192b0808191908, 0x19192b0819080819, 0x19192b0819190808, 0x19192b082b192b19,
    0x19192b1908192b2b, 0x19192b1919080808, 0x19192b191908082b, 0x19192b2b2b081919,
    0x192b080808080819, 0x192b080808081908, 0x192b080808190808, 0x192b080819080808,
    0x192b080819191908, 0x192b0808192b082b, 0x192b08082b08192b, 0x192b08082b2b2b19,
    0x192b081908080808, 0x192b082b082b1908, 0x192b082b19082b2b, 0x192b082b2b19082b,
    0x192b190808080808, 0x192b19080819192b, 0x192b191908190808, 0x192b191919080808,
    0x192b191919081919, 0x192b19192b2b1908, 0x192b2b0808080819, 0x192b2b08192b2b2b,
    0x192b2b19082b1919, 0x192b2b2b0808192b, 0x192b2b2b19191908, 0x192b2b2b192b082b,
    0x2b08080808080808, 0x2b0808080808082b, 0x2b08080808081919, 0x2b08080808082b08,
    0x2b08080808190819, 0x2b08080808191908, 0x2b080808082b0808, 0x2b080808082b2b2b,
    0x2b08080819080819, 0x2b08080819081908, 0x2b08080819190808, 0x2b0808082b080808,
    0x2b0808082b08082b, 0x2b0808082b2b2b08, 0x2b0808082b2b2b2b, 0x2b08081908080819,
    0x2b08081908081908, 0x2b0808190808192b, 0x2b08081908190808, 0x2b08081919080808,
    0x2b08081919190819, 0x2b08081919192b19, 0x2b08082b08080808, 0x2b08082b082b0808,
    0x2b08082b2b080808, 0x2b08082b2b08082b, 0x2b08082b2b2b0808, 0x2b08082b2b2b2b08,
    0x2b08190808080819, 0x2b08190808081908, 0x2b08190808190808, 0x2b0819080819082b,
    0x2b08190808191919, 0x2b08190819080808, 0x2b081908192b0808, 0x2b0819082b082b19,
    0x2b08191908080808, 0x2b08191919081908, 0x2b0819192b2b1919, 0x2b08192b08192b08,
    0x2b08192b192b2b2b, 0x2b082b0808080808, 0x2b082b0808082b08, 0x2b082b08082b1919,
    0x2b082b0819192b2b, 0x2b082b082b080808, 0x2b082b082b08082b, 0x2b082b082b2b2b08,
    0x2b082b190808192b, 0x2b082b2b082b082b, 0x2b082b2b2b080808, 0x2b082b2b2b082b08,
    0x2b082b2b2b19192b, 0x2b082b2b2b2b2b08, 0x2b19080808080819, 0x2b19080808081908,
    0x2b19080808190808, 0x2b19080819080808, 0x2b1908081919192b, 0x2b1908082b081908,
    0x2b19081908080808, 0x2b190819082b082b, 0x2b190819192b1908, 0x2b19082b1919192b,
    0x2b19082b2b082b19, 0x2b19190808080808, 0x2b19190808081919, 0x2b19190819081908,
    0x2b19190819190808, 0x2b19190819192b08, 0x2b191919082b2b19, 0x2b1919192b190808,
    0x2b1919192b19082b, 0x2b19192b19080819, 0x2b192b0819190819, 0x2b192b082b2b192b,
    0x2b192b1919082b19, 0x2b192b2b08191919, 0x2b192b2b192b0808, 0x2b2b080808080808,
    0x2b2b08080808082b, 0x2b2b080808082b08, 0x2b2b080808082b2b, 0x2b2b0808082b0808,
    0x2b2b0808082b2b2b, 0x2b2b08082b2b0808, 0x2b2b081919190819, 0x2b2b081919192b19,
    0x2b2b08192b2b192b, 0x2b2b082b08080808, 0x2b2b082b0808082b, 0x2b2b082b08082b08,
    0x2b2b082b082b2b2b, 0x2b2b082b2b080808, 0x2b2b082b2b2b0808, 0x2b2b190819080808,
    0x2b2b19082b191919, 0x2b2b192b192b1919, 0x2b2b192b2b192b08, 0x2b2b2b0808082b2b,
    0x2b2b2b08082b0808, 0x2b2b2b08082b082b, 0x2b2b2b08082b2b08, 0x2b2b2b082b2b0808,
    0x2b2b2b082b2b2b08, 0x2b2b2b1908081908, 0x2b2b2b192b081908, 0x2b2b2b192b08192b,
    0x2b2b2b2b082b2b08, 0x2b2b2b2b082b2b2b, 0x2b2b2b2b2b190819, 0x2b2b2b2b2b2b2b2b,
};
static const uint64_t iq1s_grid[2048] = {
    0xffffffffffffffff, 0xffffffffffffff01, 0xffffffffffff0000, 0xffffffffffff01ff,
    0xffffffffffff0101, 0xffffffffff00ff00, 0xffffffffff000000, 0xffffffffff01ffff,
    0xffffffffff01ff01, 0xffffffffff0101ff, 0xffffffffff010101, 0xffffffff00ff0000,
    0xffffffff0000ff00, 0xffffffff000000ff, 0xffffffff00000001, 0xffffffff00010000,
    0xffffffff01ffffff, 0xffffffff01ffff01, 0xffffffff01ff01ff, 0xffffffff01ff0101,
    0xffffffff01000000, 0xffffffff0101ffff, 0xffffffff0101ff01, 0xffffffff010101ff,
    0xffffffff01010101, 0xffffff00ffff00ff, 0xffffff00ffff0000, 0xffffff00ff00ff00,
    0xffffff00ff0000ff, 0xffffff00ff000001, 0xffffff00ff000100, 0xffffff00ff000101,
    0xffffff00ff010000, 0xffffff0000ffff00, 0xffffff0000ff0001, 0xffffff0000ff0100,
    0xffffff000000ff01, 0xffffff0000000000, 0xffffff0000000101, 0xffffff000001ff00,
    0xffffff00000100ff, 0xffffff0000010001, 0xffffff00000101ff, 0xffffff0001ff0000,
    0xffffff000100ff00, 0xffffff00010000ff, 0xffffff0001000001, 0xffffff0001010000,
    0xffffff01ffffffff, 0xffffff01ffffff01, 0xffffff01ffff01ff, 0xffffff01ffff0101,
    0xffffff01ff000000, 0xffffff01ff01ffff, 0xffffff01ff01ff01, 0xffffff01ff0101ff,
    0xffffff01ff010101, 0xffffff0100ff0000, 0xffffff010000ff00, 0xffffff0100000100,
    0xffffff01000100ff, 0xffffff0100010100, 0xffffff0101ffffff, 0xffffff0101ffff01,
    0xffffff0101ff01ff, 0xffffff0101ff0101, 0xffffff010100ff00, 0xffffff0101000000,
    0xffffff0101000100, 0xffffff010101ffff, 0xffffff010101ff01, 0xffffff01010101ff,
    0xffffff0101010101, 0xffff00ffff00ff00, 0xffff00ffff0000ff, 0xffff00ffff000001,
    0xffff00ffff010000, 0xffff00ff00ffff00, 0xffff00ff00ff0100, 0xffff00ff00000000,
    0xffff00ff00000101, 0xffff00ff000100ff, 0xffff00ff00010000, 0xffff00ff0100ff00,
    0xffff00ff01000100, 0xffff00ff01010000, 0xffff0000ffffff00, 0xffff0000ffff00ff,
    0xffff0000ffff0000, 0xffff0000ffff0001, 0xffff0000ff000000, 0xffff0000ff0001ff,
    0xffff0000ff000101, 0xffff0000ff010100, 0xffff000000ffffff, 0xffff000000ff0000,
    0xffff000000ff0101, 0xffff00000000ffff, 0xffff00000000ff00, 0xffff0000000000ff,
    0xffff000000000000, 0xffff000000000001, 0xffff000000000100, 0xffff00000001ffff,
    0xffff00000001ff01, 0xffff000000010000, 0xffff0000000101ff, 0xffff000000010101,
    0xffff000001ffff00, 0xffff00000100ff00, 0xffff000001000000, 0xffff0000010001ff,
    0xffff000001000101, 0xffff00000101ff00, 0xffff0000010100ff, 0xffff000001010000,
    0xffff000001010001, 0xffff000001010100, 0xffff0001ff0000ff, 0xffff0001ff000100,
    0xffff000100ffff00, 0xffff000100ff00ff, 0xffff00010000ffff, 0xffff00010000ff01,
    0xffff000100000000, 0xffff0001000001ff, 0xffff00010001ffff, 0xffff00010001ff00,
    0xffff000100010001, 0xffff000100010100, 0xffff000101ff0000, 0xffff00010100ff00,
    0xffff0001010000ff, 0xffff000101000100, 0xffff01ffffffffff, 0xffff01ffffffff01,
    0xffff01ffffff01ff, 0xffff01ffffff0101, 0xffff01ffff000000, 0xffff01ffff01ffff,
    0xffff01ffff01ff01, 0xffff01ffff0101ff, 0xffff01ffff010101, 0xffff01ff00ff0000,
    0xffff01ff0000ff00, 0xffff01ff00000001, 0xffff01ff00010000, 0xffff01ff01ffffff,
    0xffff01ff01ffff01, 0xffff01ff01ff01ff, 0xffff01ff01ff0101, 0xffff01ff01000000,
    0xffff01ff0101ffff, 0xffff01ff0101ff01, 0xffff01ff010101ff, 0xffff01ff01010101,
    0xffff0100ffff0000, 0xffff0100ff00ff00, 0xffff0100ff0000ff, 0xffff0100ff000100,
    0xffff0100ff0100ff, 0xffff0100ff010000, 0xffff010000ffff00, 0xffff01000000ffff,
    0xffff01000000ff00, 0xffff010000000000, 0xffff01000001ff00, 0xffff0100000100ff,
    0xffff010000010100, 0xffff01000100ff00, 0xffff0100010000ff, 0xffff010001000001,
    0xffff010001000100, 0xffff010001010000, 0xffff0101ffffffff, 0xffff0101ffffff01,
    0xffff0101ffff01ff, 0xffff0101ffff0101, 0xffff0101ff000000, 0xffff0101ff01ffff,
    0xffff0101ff01ff01, 0xffff0101ff0101ff, 0xffff0101ff010101, 0xffff010100ff0000,
    0xffff01010000ff00, 0xffff010100000100, 0xffff01010001ff00, 0xffff010100010000,
    0xffff010101ffffff, 0xffff010101ffff01, 0xffff010101ff0000, 0xffff010101ff01ff,
    0xffff010101ff0101, 0xffff010101000000, 0xffff01010101ffff, 0xffff01010101ff01,
    0xffff0101010101ff, 0xffff010101010101, 0xff00ffffff00ffff, 0xff00ffffff00ff00,
    0xff00ffffff0000ff, 0xff00ffffff000100, 0xff00ffffff0100ff, 0xff00ffffff010000,
    0xff00ffff00ffff00, 0xff00ffff00ff00ff, 0xff00ffff0000ffff, 0xff00ffff00000000,
    0xff00ffff000001ff, 0xff00ffff0001ff00, 0xff00ffff000100ff, 0xff00ffff00010000,
    0xff00ffff00010100, 0xff00ffff0100ff00, 0xff00ffff010000ff, 0xff00ffff01000001,
    0xff00ffff0101ff00, 0xff00ffff01010000, 0xff00ff00ffffff00, 0xff00ff00ffff00ff,
    0xff00ff00ffff0001, 0xff00ff00ffff0100, 0xff00ff00ff00ffff, 0xff00ff00ff00ff01,
    0xff00ff00ff000000, 0xff00ff00ff0001ff, 0xff00ff00ff01ff00, 0xff00ff00ff0100ff,
    0xff00ff00ff010100, 0xff00ff0000ff0000, 0xff00ff0000ff0101, 0xff00ff000000ffff,
    0xff00ff000000ff00, 0xff00ff000000ff01, 0xff00ff00000000ff, 0xff00ff0000000000,
    0xff00ff0000000001, 0xff00ff0000000100, 0xff00ff000001ffff, 0xff00ff0000010000,
    0xff00ff0001ff00ff, 0xff00ff000100ff01, 0xff00ff0001000000, 0xff00ff000101ff00,
    0xff00ff00010100ff, 0xff00ff01ff00ff00, 0xff00ff01ff0000ff, 0xff00ff01ff000001,
    0xff00ff01ff010000, 0xff00ff0100ffffff, 0xff00ff0100ff0001, 0xff00ff0100ff0100,
    0xff00ff010000ff01, 0xff00ff0100000000, 0xff00ff01000001ff, 0xff00ff0100000101,
    0xff00ff01000100ff, 0xff00ff0100010001, 0xff00ff0101ff0000, 0xff00ff010100ff00,
    0xff00ff01010000ff, 0xff00ff0101000001, 0xff00ff0101010000, 0xff0000ffffffff00,
    0xff0000ffffff0001, 0xff0000ffffff0100, 0xff0000ffff0000ff, 0xff0000ffff000000,
    0xff0000ffff0001ff, 0xff0000ffff000100, 0xff0000ffff01ff00, 0xff0000ffff010001,
    0xff0000ff00ffff00, 0xff0000ff00ff0000, 0xff0000ff00ff0001, 0xff0000ff00ff01ff,
    0xff0000ff00ff0101, 0xff0000ff0000ff00, 0xff0000ff000000ff, 0xff0000ff00000000,
    0xff0000ff00000001, 0xff0000ff00000100, 0xff0000ff0001ff01, 0xff0000ff00010000,
    0xff0000ff000101ff, 0xff0000ff01ff00ff, 0xff0000ff01ff0100, 0xff0000ff0100ffff,
    0xff0000ff010000ff, 0xff0000ff01000000, 0xff0000ff010001ff, 0xff0000ff01000100,
    0xff0000ff01000101, 0xff0000ff0101ff00, 0xff0000ff010100ff, 0xff0000ff01010000,
    0xff0000ff01010100, 0xff000000ffffff01, 0xff000000ffff0000, 0xff000000ffff0101,
    0xff000000ff00ff00, 0xff000000ff0000ff, 0xff000000ff000000, 0xff000000ff000001,
    0xff000000ff000100, 0xff000000ff01ffff, 0xff000000ff01ff01, 0xff000000ff010000,
    0xff000000ff0101ff, 0xff000000ff010101, 0xff00000000ffff00, 0xff00000000ff00ff,
    0xff00000000ff0000, 0xff00000000ff0001, 0xff0000000000ff00, 0xff0000000000ff01,
    0xff000000000000ff, 0xff00000000000000, 0xff00000000000001, 0xff00000000000100,
    0xff00000000000101, 0xff0000000001ff00, 0xff000000000100ff, 0xff00000000010000,
    0xff00000000010001, 0xff00000000010100, 0xff00000001ffffff, 0xff00000001ffff01,
    0xff00000001ff00ff, 0xff00000001ff0000, 0xff00000001ff01ff, 0xff00000001ff0101,
    0xff0000000100ffff, 0xff0000000100ff00, 0xff000000010000ff, 0xff00000001000000,
    0xff00000001000001, 0xff00000001000100, 0xff00000001000101, 0xff0000000101ffff,
    0xff0000000101ff01, 0xff00000001010000, 0xff000001ffffff00, 0xff000001ffff00ff,
    0xff000001ffff0000, 0xff000001ffff0001, 0xff000001ff000000, 0xff000001ff000001,
    0xff000001ff0001ff, 0xff000001ff000101, 0xff000001ff01ff00, 0xff000001ff010001,
    0xff00000100ffffff, 0xff00000100ffff01, 0xff00000100ff00ff, 0xff00000100ff0000,
    0xff00000100ff01ff, 0xff00000100ff0101, 0xff0000010000ff00, 0xff00000100000000,
    0xff00000100000001, 0xff000001000001ff, 0xff00000100000100, 0xff0000010001ff00,
    0xff000001000100ff, 0xff00000100010000, 0xff000001000101ff, 0xff00000100010100,
    0xff00000100010101, 0xff00000101ff0001, 0xff00000101ff0101, 0xff0000010100ff01,
    0xff00000101000000, 0xff000001010100ff, 0xff00000101010100, 0xff0001ffff00ff00,
    0xff0001ffff000001, 0xff0001ffff010000, 0xff0001ff00ffff00, 0xff0001ff00ff00ff,
    0xff0001ff00ff0001, 0xff0001ff00ff0100, 0xff0001ff0000ffff, 0xff0001ff00000000,
    0xff0001ff000001ff, 0xff0001ff00000101, 0xff0001ff0001ffff, 0xff0001ff0001ff00,
    0xff0001ff000100ff, 0xff0001ff00010001, 0xff0001ff00010100, 0xff0001ff01ff0000,
    0xff0001ff0100ff00, 0xff0001ff010000ff, 0xff0001ff01010000, 0xff000100ff00ffff,
    0xff000100ff00ff01, 0xff000100ff000000, 0xff000100ff000101, 0xff000100ff01ff00,
    0xff000100ff010000, 0xff00010000ffff01, 0xff00010000ff00ff, 0xff00010000ff0000,
    0xff00010000ff01ff, 0xff0001000000ff00, 0xff000100000000ff, 0xff00010000000000,
    0xff00010000000001, 0xff00010000000100, 0xff00010000000101, 0xff0001000001ffff,
    0xff00010000010000, 0xff00010000010101, 0xff00010001ff0100, 0xff0001000100ff00,
    0xff0001000100ff01, 0xff00010001000000, 0xff000100010001ff, 0xff0001000101ff00,
    0xff00010001010001, 0xff00010001010100, 0xff000101ffff0100, 0xff000101ff000001,
    0xff000101ff0100ff, 0xff000101ff010001, 0xff00010100ff00ff, 0xff00010100ff0001,
    0xff00010100ff0100, 0xff0001010000ffff, 0xff0001010000ff01, 0xff00010100000000,
    0xff000101000001ff, 0xff0001010001ff00, 0xff00010100010001, 0xff00010100010100,
    0xff00010101ff0000, 0xff0001010100ff00, 0xff00010101000001, 0xff00010101000101,
    0xff01ffffffffffff, 0xff01ffffffffff01, 0xff01ffffffff01ff, 0xff01ffffffff0101,
    0xff01ffffff000000, 0xff01ffffff01ffff, 0xff01ffffff01ff01, 0xff01ffffff010000,
    0xff01ffffff0101ff, 0xff01ffffff010101, 0xff01ffff00ff0000, 0xff01ffff0000ff00,
    0xff01ffff00000100, 0xff01ffff0001ff00, 0xff01ffff00010000, 0xff01ffff01ffffff,
    0xff01ffff01ffff01, 0xff01ffff01ff01ff, 0xff01ffff01ff0101, 0xff01ffff01000000,
    0xff01ffff0101ffff, 0xff01ffff0101ff01, 0xff01ffff01010000, 0xff01ffff010101ff,
    0xff01ffff01010101, 0xff01ff00ffff0000, 0xff01ff00ff00ff00, 0xff01ff00ff0000ff,
    0xff01ff00ff000100, 0xff01ff00ff010000, 0xff01ff0000ffff01, 0xff01ff0000ff00ff,
    0xff01ff0000ff0100, 0xff01ff0000000000, 0xff01ff00000001ff, 0xff01ff0000000101,
    0xff01ff000001ff00, 0xff01ff00000100ff, 0xff01ff0000010000, 0xff01ff0000010001,
    0xff01ff0001ff0000, 0xff01ff000100ffff, 0xff01ff0001000001, 0xff01ff0001000100,
    0xff01ff0001010000, 0xff01ff01ffffff00, 0xff01ff01ffff01ff, 0xff01ff01ffff0101,
    0xff01ff01ff00ff00, 0xff01ff01ff000000, 0xff01ff01ff01ffff, 0xff01ff01ff01ff01,
    0xff01ff01ff0101ff, 0xff01ff01ff010101, 0xff01ff0100ff0000, 0xff01ff010000ff00,
    0xff01ff0100000001, 0xff01ff0100000100, 0xff01ff0100010000, 0xff01ff0101ffff00,
    0xff01ff0101ff01ff, 0xff01ff0101ff0101, 0xff01ff010100ff00, 0xff01ff0101000000,
    0xff01ff010101ffff, 0xff01ff010101ff01, 0xff01ff01010101ff, 0xff01ff0101010101,
    0xff0100ffffff0000, 0xff0100ffff0000ff, 0xff0100ffff000001, 0xff0100ffff000100,
    0xff0100ffff010000, 0xff0100ff00ff00ff, 0xff0100ff00ff0000, 0xff0100ff00ff0001,
    0xff0100ff00ff0100, 0xff0100ff0000ff01, 0xff0100ff00000000, 0xff0100ff000001ff,
    0xff0100ff00000101, 0xff0100ff00010001, 0xff0100ff01ff0000, 0xff0100ff0100ff00,
    0xff0100ff010000ff, 0xff0100ff01000100, 0xff0100ff0101ff00, 0xff0100ff01010000,
    0xff010000ffff0100, 0xff010000ff000000, 0xff010000ff01ff00, 0xff010000ff010100,
    0xff01000000ffffff, 0xff01000000ff0000, 0xff01000000ff01ff, 0xff0100000000ff00,
    0xff010000000000ff, 0xff01000000000000, 0xff01000000000100, 0xff0100000001ff01,
    0xff01000000010000, 0xff010000000101ff, 0xff01000001ff0100, 0xff0100000100ffff,
    0xff010000010000ff, 0xff01000001000000, 0xff010000010001ff, 0xff01000001000101,
    0xff0100000101ff00, 0xff010000010100ff, 0xff01000001010001, 0xff01000001010100,
    0xff010001ffff0000, 0xff010001ff00ffff, 0xff010001ff00ff01, 0xff010001ff000100,
    0xff010001ff010000, 0xff01000100ffff00, 0xff01000100ff0100, 0xff01000100000000,
    0xff0100010001ffff, 0xff0100010001ff00, 0xff01000100010100, 0xff01000101ff00ff,
    0xff01000101ff0001, 0xff0100010100ffff, 0xff01000101000101, 0xff0101ffffffffff,
    0xff0101ffffffff01, 0xff0101ffffff01ff, 0xff0101ffffff0101, 0xff0101ffff000000,
    0xff0101ffff01ffff, 0xff0101ffff01ff01, 0xff0101ffff0101ff, 0xff0101ffff010101,
    0xff0101ff00ff0000, 0xff0101ff0000ff00, 0xff0101ff000000ff, 0xff0101ff00010000,
    0xff0101ff01ffffff, 0xff0101ff01ffff01, 0xff0101ff01ff01ff, 0xff0101ff01ff0101,
    0xff0101ff0101ffff, 0xff0101ff0101ff01, 0xff0101ff010101ff, 0xff0101ff01010101,
    0xff010100ffff0100, 0xff010100ff00ff00, 0xff010100ff0000ff, 0xff010100ff000100,
    0xff010100ff010000, 0xff01010000ff0001, 0xff01010000ff0100, 0xff0101000000ff01,
    0xff01010000000000, 0xff0101000001ff00, 0xff010100000100ff, 0xff01010000010001,
    0xff01010000010100, 0xff01010001ff0000, 0xff0101000100ffff, 0xff01010001000001,
    0xff01010001000100, 0xff010100010100ff, 0xff01010001010000, 0xff010101ffffffff,
    0xff010101ffffff01, 0xff010101ffff01ff, 0xff010101ffff0101, 0xff010101ff01ffff,
    0xff010101ff01ff01, 0xff010101ff0101ff, 0xff010101ff010101, 0xff01010100ff0000,
    0xff0101010000ff00, 0xff01010100000001, 0xff01010100000100, 0xff01010100010000,
    0xff01010101ffffff, 0xff01010101ffff01, 0xff01010101ff01ff, 0xff01010101ff0101,
    0xff01010101000000, 0xff0101010101ffff, 0xff0101010101ff01, 0xff010101010101ff,
    0xff01010101010101, 0x00ffffffffff0000, 0x00ffffffff00ff00, 0x00ffffffff000001,
    0x00ffffffff010000, 0x00ffffff00ff0100, 0x00ffffff0000ff01, 0x00ffffff00000000,
    0x00ffffff000001ff, 0x00ffffff00000101, 0x00ffffff0001ff00, 0x00ffffff000100ff,
    0x00ffffff00010001, 0x00ffffff010000ff, 0x00ffffff01000100, 0x00ffffff0101ff00,
    0x00ffffff01010001, 0x00ffff00ffffffff, 0x00ffff00ffffff00, 0x00ffff00ffff00ff,
    0x00ffff00ffff0001, 0x00ffff00ffff0100, 0x00ffff00ff00ff01, 0x00ffff00ff000000,
    0x00ffff00ff000001, 0x00ffff00ff0001ff, 0x00ffff00ff000101, 0x00ffff00ff01ff00,
    0x00ffff00ff010001, 0x00ffff00ff010100, 0x00ffff0000ff0000, 0x00ffff0000ff01ff,
    0x00ffff0000ff0101, 0x00ffff000000ff00, 0x00ffff00000000ff, 0x00ffff0000000000,
    0x00ffff0000000001, 0x00ffff0000000100, 0x00ffff0000000101, 0x00ffff0000010000,
    0x00ffff00000101ff, 0x00ffff0000010101, 0x00ffff0001ffff00, 0x00ffff0001ff00ff,
    0x00ffff0001ff0001, 0x00ffff000100ffff, 0x00ffff000100ff01, 0x00ffff0001000000,
    0x00ffff000101ffff, 0x00ffff000101ff00, 0x00ffff000101ff01, 0x00ffff01ffff0000,
    0x00ffff01ff00ff00, 0x00ffff01ff0000ff, 0x00ffff01ff000001, 0x00ffff01ff010000,
    0x00ffff0100ffff00, 0x00ffff010000ff01, 0x00ffff0100000000, 0x00ffff0100000101,
    0x00ffff01000100ff, 0x00ffff0100010100, 0x00ffff0101ff0100, 0x00ffff01010000ff,
    0x00ffff0101010000, 0x00ff00ffffffff00, 0x00ff00ffff000000, 0x00ff00ffff000100,
    0x00ff00ffff010100, 0x00ff00ff00ff0000, 0x00ff00ff00ff01ff, 0x00ff00ff00ff0101,
    0x00ff00ff0000ff00, 0x00ff00ff000000ff, 0x00ff00ff00000000, 0x00ff00ff00000001,
    0x00ff00ff0001ff00, 0x00ff00ff0001ff01, 0x00ff00ff00010000, 0x00ff00ff000101ff,
    0x00ff00ff00010101, 0x00ff00ff01ffff00, 0x00ff00ff01ff0001, 0x00ff00ff01ff0100,
    0x00ff00ff0100ffff, 0x00ff00ff0100ff01, 0x00ff00ff01000000, 0x00ff00ff0101ffff,
    0x00ff00ff0101ff00, 0x00ff00ff01010100, 0x00ff0000ffffff00, 0x00ff0000ffffff01,
    0x00ff0000ffff0000, 0x00ff0000ffff0101, 0x00ff0000ff00ff00, 0x00ff0000ff0000ff,
    0x00ff0000ff000000, 0x00ff0000ff000001, 0x00ff0000ff000100, 0x00ff0000ff01ffff,
    0x00ff0000ff010000, 0x00ff0000ff010101, 0x00ff000000ffff00, 0x00ff000000ff00ff,
    0x00ff000000ff0000, 0x00ff000000ff0001, 0x00ff000000ff0100, 0x00ff00000000ffff,
    0x00ff00000000ff00, 0x00ff0000000000ff, 0x00ff000000000000, 0x00ff000000000001,
    0x00ff0000000001ff, 0x00ff000000000100, 0x00ff00000001ff00, 0x00ff0000000100ff,
    0x00ff000000010000, 0x00ff000000010001, 0x00ff000000010100, 0x00ff000001ffff01,
    0x00ff000001ff00ff, 0x00ff000001ff0000, 0x00ff000001ff01ff, 0x00ff00000100ff00,
    0x00ff0000010000ff, 0x00ff000001000000, 0x00ff000001000001, 0x00ff000001000100,
    0x00ff000001000101, 0x00ff000001010000, 0x00ff0000010101ff, 0x00ff000001010101,
    0x00ff0001ffffff00, 0x00ff0001ffff0000, 0x00ff0001ffff0100, 0x00ff0001ff0000ff,
    0x00ff0001ff000000, 0x00ff0001ff0001ff, 0x00ff0001ff000101, 0x00ff0001ff01ff00,
    0x00ff0001ff0100ff, 0x00ff0001ff010100, 0x00ff000100ffffff, 0x00ff000100ffff01,
    0x00ff000100ff0000, 0x00ff000100ff01ff, 0x00ff00010000ffff, 0x00ff00010000ff00,
    0x00ff00010000ff01, 0x00ff000100000000, 0x00ff000100000001, 0x00ff000100000100,
    0x00ff00010001ff01, 0x00ff000100010000, 0x00ff0001000101ff, 0x00ff000101ffff00,
    0x00ff000101ff0000, 0x00ff000101ff0101, 0x00ff0001010000ff, 0x00ff000101000000,
    0x00ff00010101ff00, 0x00ff0001010100ff, 0x00ff000101010001, 0x00ff01ffffff0000,
    0x00ff01ffff00ff00, 0x00ff01ffff000000, 0x00ff01ffff000101, 0x00ff01ffff010000,
    0x00ff01ff00ffff01, 0x00ff01ff00ff0100, 0x00ff01ff0000ffff, 0x00ff01ff00000000,
    0x00ff01ff000001ff, 0x00ff01ff0001ff00, 0x00ff01ff000100ff, 0x00ff01ff00010001,
    0x00ff01ff00010100, 0x00ff01ff01ff0000, 0x00ff01ff0100ff00, 0x00ff01ff010000ff,
    0x00ff01ff01000001, 0x00ff01ff01000100, 0x00ff01ff01010000, 0x00ff0100ffffff00,
    0x00ff0100ffff0000, 0x00ff0100ffff0001, 0x00ff0100ffff0101, 0x00ff0100ff00ffff,
    0x00ff0100ff0000ff, 0x00ff0100ff000000, 0x00ff0100ff0001ff, 0x00ff0100ff01ff00,
    0x00ff0100ff0100ff, 0x00ff0100ff010001, 0x00ff010000ffffff, 0x00ff010000ff0000,
    0x00ff010000ff0101, 0x00ff01000000ff00, 0x00ff01000000ff01, 0x00ff0100000000ff,
    0x00ff010000000000, 0x00ff010000000001, 0x00ff010000000100, 0x00ff01000001ffff,
    0x00ff01000001ff01, 0x00ff010000010000, 0x00ff010000010001, 0x00ff010000010101,
    0x00ff010001ff0001, 0x00ff010001ff0100, 0x00ff01000100ff01, 0x00ff010001000000,
    0x00ff010001000001, 0x00ff0100010001ff, 0x00ff01000101ff00, 0x00ff0100010100ff,
    0x00ff010001010001, 0x00ff010001010100, 0x00ff0101ff000001, 0x00ff010100ff00ff,
    0x00ff010100ff0001, 0x00ff010100ff0100, 0x00ff010100000000, 0x00ff0101000001ff,
    0x00ff010100000101, 0x00ff0101000100ff, 0x00ff010100010100, 0x00ff0101010000ff,
    0x00ff010101010000, 0x0000ffffffffff00, 0x0000ffffffff00ff, 0x0000ffffffff0000,
    0x0000ffffffff0001, 0x0000ffffffff0100, 0x0000ffffff00ff01, 0x0000ffffff000000,
    0x0000ffffff000101, 0x0000ffffff01ff00, 0x0000ffffff0100ff, 0x0000ffffff010100,
    0x0000ffff00ffffff, 0x0000ffff00ff0000, 0x0000ffff00ff01ff, 0x0000ffff0000ff00,
    0x0000ffff000000ff, 0x0000ffff00000000, 0x0000ffff00000001, 0x0000ffff00000100,
    0x0000ffff00010000, 0x0000ffff000101ff, 0x0000ffff01ff0001, 0x0000ffff01ff0100,
    0x0000ffff01000000, 0x0000ffff010001ff, 0x0000ffff0101ffff, 0x0000ffff0101ff00,
    0x0000ffff01010001, 0x0000ffff01010100, 0x0000ff00ffff0000, 0x0000ff00ffff01ff,
    0x0000ff00ffff0100, 0x0000ff00ffff0101, 0x0000ff00ff00ff00, 0x0000ff00ff0000ff,
    0x0000ff00ff000000, 0x0000ff00ff000001, 0x0000ff00ff0001ff, 0x0000ff00ff000100,
    0x0000ff00ff01ffff, 0x0000ff00ff010000, 0x0000ff00ff010001, 0x0000ff00ff0101ff,
    0x0000ff00ff010101, 0x0000ff0000ffff00, 0x0000ff0000ff00ff, 0x0000ff0000ff0000,
    0x0000ff0000ff0001, 0x0000ff0000ff0100, 0x0000ff000000ffff, 0x0000ff000000ff00,
    0x0000ff000000ff01, 0x0000ff00000000ff, 0x0000ff0000000000, 0x0000ff0000000001,
    0x0000ff00000001ff, 0x0000ff0000000100, 0x0000ff0000000101, 0x0000ff000001ff00,
    0x0000ff00000100ff, 0x0000ff0000010000, 0x0000ff0000010001, 0x0000ff0000010100,
    0x0000ff0001ffff01, 0x0000ff0001ff0000, 0x0000ff000100ff00, 0x0000ff00010000ff,
    0x0000ff0001000000, 0x0000ff0001000001, 0x0000ff0001000100, 0x0000ff000101ffff,
    0x0000ff0001010000, 0x0000ff0001010101, 0x0000ff01ffffff00, 0x0000ff01ffff0001,
    0x0000ff01ff00ff01, 0x0000ff01ff000000, 0x0000ff01ff000101, 0x0000ff01ff01ff00,
    0x0000ff01ff0100ff, 0x0000ff0100ffff01, 0x0000ff0100ff0000, 0x0000ff0100ff0101,
    0x0000ff010000ff00, 0x0000ff01000000ff, 0x0000ff0100000000, 0x0000ff0100000001,
    0x0000ff0100000100, 0x0000ff010001ff01, 0x0000ff0100010000, 0x0000ff0101ff0000,
    0x0000ff010100ffff, 0x0000ff010100ff01, 0x0000ff0101000000, 0x0000ff0101000100,
    0x0000ff0101000101, 0x0000ff01010100ff, 0x000000ffffff00ff, 0x000000ffffff0000,
    0x000000ffff00ff00, 0x000000ffff0000ff, 0x000000ffff000000, 0x000000ffff000001,
    0x000000ffff0001ff, 0x000000ffff000100, 0x000000ffff01ff00, 0x000000ffff010000,
    0x000000ffff0101ff, 0x000000ffff010101, 0x000000ff00ffff00, 0x000000ff00ff00ff,
    0x000000ff00ff0000, 0x000000ff00ff0001, 0x000000ff00ff0100, 0x000000ff00ff0101,
    0x000000ff0000ffff, 0x000000ff0000ff00, 0x000000ff000000ff, 0x000000ff00000000,
    0x000000ff00000001, 0x000000ff000001ff, 0x000000ff00000100, 0x000000ff00000101,
    0x000000ff0001ff00, 0x000000ff0001ff01, 0x000000ff000100ff, 0x000000ff00010000,
    0x000000ff00010001, 0x000000ff00010100, 0x000000ff01ffffff, 0x000000ff01ff01ff,
    0x000000ff01ff0101, 0x000000ff0100ff00, 0x000000ff010000ff, 0x000000ff01000000,
    0x000000ff01000001, 0x000000ff01000100, 0x000000ff0101ff00, 0x000000ff010100ff,
    0x000000ff01010000, 0x000000ff01010101, 0x00000000ffffff00, 0x00000000ffffff01,
    0x00000000ffff00ff, 0x00000000ffff0000, 0x00000000ffff0001, 0x00000000ffff0100,
    0x00000000ff00ffff, 0x00000000ff00ff00, 0x00000000ff00ff01, 0x00000000ff0000ff,
    0x00000000ff000000, 0x00000000ff000001, 0x00000000ff000100, 0x00000000ff000101,
    0x00000000ff01ff00, 0x00000000ff0100ff, 0x00000000ff010000, 0x00000000ff010001,
    0x00000000ff010100, 0x0000000000ffffff, 0x0000000000ffff00, 0x0000000000ffff01,
    0x0000000000ff00ff, 0x0000000000ff0000, 0x0000000000ff0001, 0x0000000000ff01ff,
    0x0000000000ff0100, 0x000000000000ffff, 0x000000000000ff00, 0x000000000000ff01,
    0x00000000000000ff, 0x0000000000000000, 0x0000000000000001, 0x00000000000001ff,
    0x0000000000000100, 0x0000000000000101, 0x000000000001ffff, 0x000000000001ff00,
    0x00000000000100ff, 0x0000000000010000, 0x0000000000010001, 0x00000000000101ff,
    0x0000000000010100, 0x0000000000010101, 0x0000000001ffff00, 0x0000000001ff00ff,
    0x0000000001ff0000, 0x0000000001ff0100, 0x0000000001ff0101, 0x000000000100ffff,
    0x000000000100ff00, 0x00000000010000ff, 0x0000000001000000, 0x0000000001000001,
    0x00000000010001ff, 0x0000000001000100, 0x000000000101ff00, 0x00000000010100ff,
    0x0000000001010000, 0x0000000001010001, 0x0000000001010100, 0x00000001ffffffff,
    0x00000001ffffff00, 0x00000001ffffff01, 0x00000001ffff00ff, 0x00000001ffff0001,
    0x00000001ffff01ff, 0x00000001ffff0100, 0x00000001ff00ff00, 0x00000001ff0000ff,
    0x00000001ff000000, 0x00000001ff0001ff, 0x00000001ff000100, 0x00000001ff01ffff,
    0x00000001ff01ff00, 0x00000001ff01ff01, 0x00000001ff0100ff, 0x00000001ff010000,
    0x00000001ff010001, 0x00000001ff0101ff, 0x00000001ff010100, 0x0000000100ffff00,
    0x0000000100ff0000, 0x0000000100ff0001, 0x0000000100ff01ff, 0x0000000100ff0100,
    0x0000000100ff0101, 0x000000010000ffff, 0x000000010000ff00, 0x000000010000ff01,
    0x00000001000000ff, 0x0000000100000000, 0x0000000100000001, 0x00000001000001ff,
    0x0000000100000100, 0x0000000100000101, 0x000000010001ff00, 0x00000001000100ff,
    0x0000000100010000, 0x0000000100010100, 0x0000000101ffff01, 0x0000000101ff0000,
    0x0000000101ff0001, 0x0000000101ff01ff, 0x0000000101ff0100, 0x0000000101ff0101,
    0x000000010100ff00, 0x0000000101000000, 0x0000000101000101, 0x000000010101ff01,
    0x0000000101010000, 0x0000000101010001, 0x00000001010101ff, 0x0000000101010100,
    0x000001ffffff00ff, 0x000001ffffff0000, 0x000001ffffff0001, 0x000001ffffff0100,
    0x000001ffff00ffff, 0x000001ffff000000, 0x000001ffff0001ff, 0x000001ffff01ff00,
    0x000001ffff010101, 0x000001ff00ff0000, 0x000001ff00ff01ff, 0x000001ff00ff0101,
    0x000001ff0000ff00, 0x000001ff000000ff, 0x000001ff00000000, 0x000001ff00000001,
    0x000001ff000001ff, 0x000001ff00000100, 0x000001ff0001ffff, 0x000001ff0001ff01,
    0x000001ff000100ff, 0x000001ff00010000, 0x000001ff01ffff01, 0x000001ff01ff0100,
    0x000001ff0100ffff, 0x000001ff0100ff01, 0x000001ff01000000, 0x000001ff010001ff,
    0x000001ff0101ff00, 0x000001ff01010100, 0x00000100ffffff00, 0x00000100ffffff01,
    0x00000100ffff0000, 0x00000100ffff0101, 0x00000100ff00ff00, 0x00000100ff0000ff,
    0x00000100ff000000, 0x00000100ff000001, 0x00000100ff000100, 0x00000100ff010000,
    0x0000010000ffff00, 0x0000010000ff00ff, 0x0000010000ff0000, 0x0000010000ff0001,
    0x0000010000ff0100, 0x000001000000ffff, 0x000001000000ff00, 0x000001000000ff01,
    0x00000100000000ff, 0x0000010000000000, 0x0000010000000001, 0x00000100000001ff,
    0x0000010000000100, 0x0000010000000101, 0x000001000001ff00, 0x00000100000100ff,
    0x0000010000010000, 0x0000010000010001, 0x0000010000010100, 0x0000010001ffff00,
    0x0000010001ff0000, 0x0000010001ff0100, 0x000001000100ff00, 0x00000100010000ff,
    0x0000010001000000, 0x0000010001000001, 0x00000100010001ff, 0x0000010001000100,
    0x0000010001010000, 0x00000101ffff00ff, 0x00000101ffff01ff, 0x00000101ff000000,
    0x00000101ff000101, 0x00000101ff01ffff, 0x00000101ff010000, 0x00000101ff010001,
    0x00000101ff010100, 0x0000010100ff0000, 0x0000010100ff01ff, 0x0000010100ff0100,
    0x000001010000ff00, 0x0000010100000000, 0x0000010100000001, 0x00000101000001ff,
    0x0000010100000100, 0x000001010001ff01, 0x0000010100010000, 0x00000101000101ff,
    0x0000010100010101, 0x0000010101ffff00, 0x0000010101ff0101, 0x000001010100ff01,
    0x0000010101000000, 0x0000010101000001, 0x00000101010001ff, 0x0000010101000101,
    0x000001010101ff00, 0x0001ffffffff0000, 0x0001ffffff0000ff, 0x0001ffffff000001,
    0x0001ffffff000100, 0x0001ffffff010000, 0x0001ffff00ff00ff, 0x0001ffff0000ffff,
    0x0001ffff00000000, 0x0001ffff00000001, 0x0001ffff000001ff, 0x0001ffff00000101,
    0x0001ffff0001ff00, 0x0001ffff000100ff, 0x0001ffff00010001, 0x0001ffff00010100,
    0x0001ffff01ffff00, 0x0001ffff01000001, 0x0001ffff01010000, 0x0001ff00ffffff00,
    0x0001ff00ffff00ff, 0x0001ff00ffff0001, 0x0001ff00ffff0100, 0x0001ff00ff00ff01,
    0x0001ff00ff000000, 0x0001ff00ff01ff00, 0x0001ff00ff01ff01, 0x0001ff00ff010001,
    0x0001ff00ff010100, 0x0001ff0000ff0000, 0x0001ff0000ff0100, 0x0001ff000000ff00,
    0x0001ff0000000000, 0x0001ff0000000001, 0x0001ff0000000100, 0x0001ff0000010000,
    0x0001ff0000010001, 0x0001ff0000010101, 0x0001ff0001ff00ff, 0x0001ff0001ff0101,
    0x0001ff000100ff01, 0x0001ff0001000000, 0x0001ff000101ff00, 0x0001ff0001010001,
    0x0001ff0001010100, 0x0001ff01ff00ff00, 0x0001ff01ff000001, 0x0001ff01ff000100,
    0x0001ff0100ffffff, 0x0001ff0100ffff00, 0x0001ff0100ff0001, 0x0001ff0100000000,
    0x0001ff0100000001, 0x0001ff01000001ff, 0x0001ff010001ffff, 0x0001ff0101ff0000,
    0x0001ff010100ff00, 0x0001ff0101000001, 0x0001ff0101010000, 0x000100ffff00ff00,
    0x000100ffff00ff01, 0x000100ffff000000, 0x000100ffff000001, 0x000100ffff000101,
    0x000100ffff01ff00, 0x000100ffff010001, 0x000100ffff010100, 0x000100ff00ffffff,
    0x000100ff00ffff01, 0x000100ff00ff0000, 0x000100ff00ff01ff, 0x000100ff00ff0101,
    0x000100ff0000ff00, 0x000100ff000000ff, 0x000100ff00000000, 0x000100ff00000001,
    0x000100ff00000100, 0x000100ff00000101, 0x000100ff0001ffff, 0x000100ff0001ff01,
    0x000100ff00010000, 0x000100ff01ff00ff, 0x000100ff01ff0000, 0x000100ff01ff0100,
    0x000100ff0100ffff, 0x000100ff0100ff01, 0x000100ff010000ff, 0x000100ff01000000,
    0x000100ff01000001, 0x000100ff010001ff, 0x000100ff01000101, 0x000100ff0101ff00,
    0x000100ff010100ff, 0x000100ff01010100, 0x00010000ffff0000, 0x00010000ffff01ff,
    0x00010000ffff0101, 0x00010000ff00ff00, 0x00010000ff000000, 0x00010000ff000001,
    0x00010000ff000100, 0x0001000000ff00ff, 0x0001000000ff0000, 0x0001000000ff0001,
    0x0001000000ff0100, 0x000100000000ffff, 0x000100000000ff00, 0x00010000000000ff,
    0x0001000000000000, 0x0001000000000001, 0x0001000000000100, 0x000100000001ff00,
    0x00010000000100ff, 0x0001000000010000, 0x0001000000010001, 0x0001000000010100,
    0x0001000001ff0001, 0x0001000001ff0100, 0x0001000001ff0101, 0x000100000100ff00,
    0x0001000001000000, 0x0001000001000001, 0x0001000001000100, 0x0001000001000101,
    0x000100000101ff01, 0x0001000001010000, 0x0001000001010001, 0x00010000010101ff,
    0x00010001ffffff01, 0x00010001ffff0100, 0x00010001ff000000, 0x00010001ff01ffff,
    0x00010001ff010001, 0x00010001ff0101ff, 0x00010001ff010100, 0x0001000100ffffff,
    0x0001000100ff0000, 0x0001000100ff01ff, 0x0001000100ff0101, 0x000100010000ff00,
    0x00010001000000ff, 0x0001000100000000, 0x0001000100000001, 0x00010001000001ff,
    0x0001000100000101, 0x000100010001ffff, 0x0001000100010000, 0x00010001000101ff,
    0x0001000101ffffff, 0x0001000101ffff01, 0x0001000101ff0000, 0x0001000101ff0101,
    0x00010001010000ff, 0x0001000101000001, 0x00010001010001ff, 0x0001000101000100,
    0x000100010101ffff, 0x00010001010100ff, 0x0001000101010001, 0x0001000101010101,
    0x000101ffff000001, 0x000101ffff000100, 0x000101ffff010000, 0x000101ff00ffff00,
    0x000101ff0000ff01, 0x000101ff00000000, 0x000101ff00000101, 0x000101ff0001ff00,
    0x000101ff00010100, 0x000101ff01ff0000, 0x000101ff0100ff00, 0x000101ff010001ff,
    0x000101ff01010001, 0x00010100ffffff00, 0x00010100ffff00ff, 0x00010100ff00ffff,
    0x00010100ff000000, 0x00010100ff01ff00, 0x00010100ff0100ff, 0x00010100ff010001,
    0x00010100ff010100, 0x0001010000ffffff, 0x0001010000ffff00, 0x0001010000ff0000,
    0x0001010000ff0001, 0x0001010000ff01ff, 0x000101000000ff00, 0x00010100000000ff,
    0x0001010000000000, 0x0001010000000001, 0x0001010000000100, 0x000101000001ffff,
    0x0001010000010000, 0x0001010000010101, 0x0001010001ffff01, 0x0001010001ff00ff,
    0x0001010001ff0101, 0x0001010001000000, 0x000101000101ff00, 0x00010100010100ff,
    0x0001010001010000, 0x0001010001010100, 0x00010101ff00ff00, 0x00010101ff000001,
    0x00010101ff0001ff, 0x0001010100ffff00, 0x0001010100ff00ff, 0x0001010100ff0100,
    0x000101010000ffff, 0x0001010100000000, 0x00010101000001ff, 0x0001010100000101,
    0x00010101000100ff, 0x0001010100010000, 0x0001010100010100, 0x0001010101ff0001,
    0x00010101010000ff, 0x00010101010001ff, 0x0001010101000101, 0x0001010101010001,
    0x01ffffffffffffff, 0x01ffffffffffff01, 0x01ffffffffff01ff, 0x01ffffffffff0101,
    0x01ffffffff01ffff, 0x01ffffffff01ff01, 0x01ffffffff0101ff, 0x01ffffffff010101,
    0x01ffffff00ff0000, 0x01ffffff0000ffff, 0x01ffffff0000ff00, 0x01ffffff000000ff,
    0x01ffffff00000001, 0x01ffffff00000100, 0x01ffffff00010000, 0x01ffffff01ffffff,
    0x01ffffff01ffff01, 0x01ffffff01ff01ff, 0x01ffffff01ff0101, 0x01ffffff01000000,
    0x01ffffff0101ffff, 0x01ffffff0101ff01, 0x01ffffff010101ff, 0x01ffffff01010101,
    0x01ffff00ffff0000, 0x01ffff00ff00ff00, 0x01ffff00ff0000ff, 0x01ffff00ff000001,
    0x01ffff00ff000100, 0x01ffff00ff010000, 0x01ffff0000ffff00, 0x01ffff0000ff00ff,
    0x01ffff0000ff0100, 0x01ffff000000ffff, 0x01ffff000000ff01, 0x01ffff0000000000,
    0x01ffff0000000001, 0x01ffff00000001ff, 0x01ffff0000000100, 0x01ffff00000100ff,
    0x01ffff0000010001, 0x01ffff0000010100, 0x01ffff0001ff0000, 0x01ffff0001ff0100,
    0x01ffff00010000ff, 0x01ffff0001000001, 0x01ffff0001000100, 0x01ffff0001010000,
    0x01ffff01ffffffff, 0x01ffff01ffffff01, 0x01ffff01ffff01ff, 0x01ffff01ffff0101,
    0x01ffff01ff000000, 0x01ffff01ff01ffff, 0x01ffff01ff01ff01, 0x01ffff01ff0101ff,
    0x01ffff01ff010101, 0x01ffff010000ff00, 0x01ffff01000000ff, 0x01ffff0100000100,
    0x01ffff0100010000, 0x01ffff0101ffffff, 0x01ffff0101ffff01, 0x01ffff0101ff01ff,
    0x01ffff0101ff0101, 0x01ffff0101000000, 0x01ffff010101ffff, 0x01ffff010101ff01,
    0x01ffff01010101ff, 0x01ffff0101010101, 0x01ff00ffff0000ff, 0x01ff00ffff000100,
    0x01ff00ff00ffff00, 0x01ff00ff00ff00ff, 0x01ff00ff0000ff00, 0x01ff00ff00000000,
    0x01ff00ff00000101, 0x01ff00ff0001ff00, 0x01ff00ff000100ff, 0x01ff00ff00010100,
    0x01ff00ff010000ff, 0x01ff00ff01000100, 0x01ff0000ffffff00, 0x01ff0000ffff0100,
    0x01ff0000ff00ff01, 0x01ff0000ff000000, 0x01ff0000ff000101, 0x01ff0000ff010001,
    0x01ff0000ff010100, 0x01ff000000ffffff, 0x01ff000000ffff00, 0x01ff000000ff0000,
    0x01ff000000ff01ff, 0x01ff00000000ff00, 0x01ff0000000000ff, 0x01ff000000000000,
    0x01ff000000000001, 0x01ff000000000100, 0x01ff000000000101, 0x01ff000000010000,
    0x01ff000000010001, 0x01ff0000000101ff, 0x01ff000000010101, 0x01ff000001ffff00,
    0x01ff000001ff00ff, 0x01ff000001ff0001, 0x01ff000001ff0100, 0x01ff00000100ffff,
    0x01ff00000100ff01, 0x01ff000001000000, 0x01ff0000010001ff, 0x01ff000001010001,
    0x01ff0001ff00ff00, 0x01ff0001ff000001, 0x01ff0001ff000100, 0x01ff0001ff010000,
    0x01ff000100ffff00, 0x01ff000100ff00ff, 0x01ff000100ff0100, 0x01ff000100ff0101,
    0x01ff00010000ffff, 0x01ff000100000000, 0x01ff000100000100, 0x01ff000100000101,
    0x01ff00010001ff00, 0x01ff000100010001, 0x01ff000100010101, 0x01ff000101ff0000,
    0x01ff00010100ff00, 0x01ff000101000101, 0x01ff0001010100ff, 0x01ff01ffffffffff,
    0x01ff01ffffffff01, 0x01ff01ffffff01ff, 0x01ff01ffffff0101, 0x01ff01ffff000000,
    0x01ff01ffff01ffff, 0x01ff01ffff01ff01, 0x01ff01ffff0101ff, 0x01ff01ffff010101,
    0x01ff01ff00ffff00, 0x01ff01ff00ff0000, 0x01ff01ff0000ff00, 0x01ff01ff000000ff,
    0x01ff01ff00000100, 0x01ff01ff00010000, 0x01ff01ff00010100, 0x01ff01ff01ffffff,
    0x01ff01ff01ffff01, 0x01ff01ff01ff01ff, 0x01ff01ff01ff0101, 0x01ff01ff01000000,
    0x01ff01ff0101ffff, 0x01ff01ff0101ff01, 0x01ff01ff010101ff, 0x01ff01ff01010101,
    0x01ff0100ffff0000, 0x01ff0100ffff0001, 0x01ff0100ff00ff00, 0x01ff0100ff0000ff,
    0x01ff0100ff000001, 0x01ff0100ff010000, 0x01ff010000ffff00, 0x01ff010000ff00ff,
    0x01ff010000ff0001, 0x01ff010000ff0100, 0x01ff01000000ffff, 0x01ff01000000ff01,
    0x01ff010000000000, 0x01ff010000000101, 0x01ff01000001ff00, 0x01ff0100000100ff,
    0x01ff010001ff0000, 0x01ff010001000001, 0x01ff010001000100, 0x01ff010001010000,
    0x01ff0101ffffffff, 0x01ff0101ffffff01, 0x01ff0101ffff01ff, 0x01ff0101ffff0101,
    0x01ff0101ff000000, 0x01ff0101ff01ffff, 0x01ff0101ff01ff01, 0x01ff0101ff0101ff,
    0x01ff0101ff010101, 0x01ff010100ff0000, 0x01ff01010000ff00, 0x01ff0101000000ff,
    0x01ff010100000001, 0x01ff010101ffffff, 0x01ff010101ffff01, 0x01ff010101ff01ff,
    0x01ff010101ff0101, 0x01ff010101000000, 0x01ff01010101ffff, 0x01ff01010101ff01,
    0x01ff0101010101ff, 0x01ff010101010101, 0x0100ffffffff0000, 0x0100ffffff00ff00,
    0x0100ffffff000001, 0x0100ffffff0001ff, 0x0100ffffff000100, 0x0100ffffff010000,
    0x0100ffff00ffff00, 0x0100ffff00ff0001, 0x0100ffff00ff0100, 0x0100ffff00000000,
    0x0100ffff000001ff, 0x0100ffff00000101, 0x0100ffff00010100, 0x0100ffff00010101,
    0x0100ffff01ff0000, 0x0100ffff0100ff00, 0x0100ffff010000ff, 0x0100ffff01000001,
    0x0100ffff01000100, 0x0100ffff01010000, 0x0100ff00ffffff00, 0x0100ff00ffff00ff,
    0x0100ff00ffff0001, 0x0100ff00ffff0100, 0x0100ff00ff00ffff, 0x0100ff00ff000000,
    0x0100ff00ff0001ff, 0x0100ff00ff000101, 0x0100ff00ff01ff00, 0x0100ff00ff0100ff,
    0x0100ff00ff010001, 0x0100ff00ff010100, 0x0100ff0000ffffff, 0x0100ff0000ff0000,
    0x0100ff000000ffff, 0x0100ff000000ff00, 0x0100ff00000000ff, 0x0100ff0000000000,
    0x0100ff0000000001, 0x0100ff0000000100, 0x0100ff000001ff01, 0x0100ff0000010000,
    0x0100ff0001ff00ff, 0x0100ff0001ff0001, 0x0100ff000100ff01, 0x0100ff0001000000,
    0x0100ff00010001ff, 0x0100ff000101ff00, 0x0100ff00010100ff, 0x0100ff0001010001,
    0x0100ff0001010100, 0x0100ff01ffff0000, 0x0100ff01ff00ff00, 0x0100ff01ff0000ff,
    0x0100ff01ff000100, 0x0100ff01ff010000, 0x0100ff0100ff00ff, 0x0100ff0100ff0001,
    0x0100ff0100ff0100, 0x0100ff010000ffff, 0x0100ff010000ff01, 0x0100ff0100000000,
    0x0100ff01000001ff, 0x0100ff0100010001, 0x0100ff0100010100, 0x0100ff0101ff0000,
    0x0100ff01010000ff, 0x0100ff0101000001, 0x0100ff0101010100, 0x010000ffffffff00,
    0x010000ffffff00ff, 0x010000ffffff0001, 0x010000ffff00ffff, 0x010000ffff000000,
    0x010000ffff0001ff, 0x010000ffff010001, 0x010000ff00ffffff, 0x010000ff00ff0101,
    0x010000ff0000ff00, 0x010000ff000000ff, 0x010000ff00000000, 0x010000ff00000001,
    0x010000ff000001ff, 0x010000ff00000100, 0x010000ff0001ffff, 0x010000ff0001ff00,
    0x010000ff0001ff01, 0x010000ff00010000, 0x010000ff01ff00ff, 0x010000ff01ff0001,
    0x010000ff0100ff01, 0x010000ff010000ff, 0x010000ff01000000, 0x010000ff010001ff,
    0x010000ff0101ff00, 0x010000ff01010100, 0x01000000ffffffff, 0x01000000ffff0000,
    0x01000000ffff01ff, 0x01000000ffff0101, 0x01000000ff00ffff, 0x01000000ff00ff00,
    0x01000000ff0000ff, 0x01000000ff000000, 0x01000000ff000001, 0x01000000ff000100,
    0x01000000ff01ff00, 0x01000000ff010000, 0x01000000ff010100, 0x01000000ff010101,
    0x0100000000ffff00, 0x0100000000ff00ff, 0x0100000000ff0000, 0x0100000000ff0001,
    0x0100000000ff0100, 0x010000000000ffff, 0x010000000000ff00, 0x010000000000ff01,
    0x01000000000000ff, 0x0100000000000000, 0x0100000000000001, 0x01000000000001ff,
    0x0100000000000100, 0x0100000000000101, 0x010000000001ff00, 0x01000000000100ff,
    0x0100000000010000, 0x0100000000010001, 0x0100000000010100, 0x0100000001ffff00,
    0x0100000001ff0000, 0x0100000001ff01ff, 0x010000000100ff00, 0x010000000100ff01,
    0x01000000010000ff, 0x0100000001000000, 0x0100000001000001, 0x0100000001000100,
    0x0100000001000101, 0x010000000101ffff, 0x010000000101ff01, 0x0100000001010000,
    0x01000000010101ff, 0x0100000001010101, 0x01000001ffffff00, 0x01000001ffff00ff,
    0x01000001ff00ffff, 0x01000001ff000000, 0x01000001ff000100, 0x01000001ff01ffff,
    0x01000001ff010001, 0x01000001ff010100, 0x0100000100ff0000, 0x0100000100ff01ff,
    0x0100000100ff0100, 0x010000010000ff00, 0x010000010000ff01, 0x0100000100000000,
    0x0100000100000001, 0x0100000100000100, 0x0100000100010000, 0x01000001000101ff,
    0x0100000101ffff01, 0x0100000101ff00ff, 0x0100000101ff0100, 0x0100000101ff0101,
    0x010000010100ff01, 0x01000001010000ff, 0x0100000101000000, 0x01000001010100ff,
    0x0100000101010001, 0x0100000101010100, 0x010001ffffff0000, 0x010001ffff000001,
    0x010001ffff000100, 0x010001ffff010000, 0x010001ff00ffff00, 0x010001ff00ff0001,
    0x010001ff0000ffff, 0x010001ff0000ff01, 0x010001ff00000000, 0x010001ff00000001,
    0x010001ff00000101, 0x010001ff000100ff, 0x010001ff00010000, 0x010001ff01ff0000,
    0x010001ff0100ff00, 0x010001ff01000001, 0x010001ff01000100, 0x010001ff01010000,
    0x01000100ffff00ff, 0x01000100ffff0001, 0x01000100ffff0100, 0x01000100ff00ffff,
    0x01000100ff00ff01, 0x01000100ff000000, 0x01000100ff0001ff, 0x01000100ff000101,
    0x01000100ff01ffff, 0x01000100ff01ff00, 0x01000100ff0100ff, 0x01000100ff010001,
    0x0100010000ffffff, 0x0100010000ffff01, 0x0100010000ff0000, 0x0100010000ff01ff,
    0x0100010000ff0101, 0x010001000000ff00, 0x01000100000000ff, 0x0100010000000000,
    0x0100010000000001, 0x0100010000000100, 0x010001000001ff01, 0x0100010000010000,
    0x0100010000010001, 0x0100010000010101, 0x0100010001ffff00, 0x0100010001ff00ff,
    0x010001000100ffff, 0x010001000100ff01, 0x0100010001000000, 0x0100010001000101,
    0x010001000101ff00, 0x0100010001010001, 0x01000101ffff0000, 0x01000101ff000000,
    0x01000101ff010000, 0x0100010100ff00ff, 0x0100010100ff0001, 0x0100010100ff0100,
    0x010001010000ffff, 0x0100010100000000, 0x01000101000001ff, 0x010001010001ff00,
    0x0100010101ff0000, 0x010001010100ff00, 0x01000101010000ff, 0x0100010101000000,
    0x0100010101000001, 0x0101ffffffffffff, 0x0101ffffffffff01, 0x0101ffffffff01ff,
    0x0101ffffffff0101, 0x0101ffffff000000, 0x0101ffffff01ffff, 0x0101ffffff01ff01,
    0x0101ffffff0101ff, 0x0101ffffff010101, 0x0101ffff00ff0000, 0x0101ffff0000ff00,
    0x0101ffff000000ff, 0x0101ffff00000001, 0x0101ffff00000100, 0x0101ffff01ffffff,
    0x0101ffff01ffff01, 0x0101ffff01ff01ff, 0x0101ffff01ff0101, 0x0101ffff01000000,
    0x0101ffff0101ffff, 0x0101ffff0101ff01, 0x0101ffff010101ff, 0x0101ffff01010101,
    0x0101ff00ffff0000, 0x0101ff00ffff0100, 0x0101ff00ff00ff00, 0x0101ff00ff0000ff,
    0x0101ff00ff000001, 0x0101ff00ff000100, 0x0101ff00ff000101, 0x0101ff0000ff0001,
    0x0101ff0000ff0100, 0x0101ff000000ff00, 0x0101ff0000000000, 0x0101ff00000001ff,
    0x0101ff0000000101, 0x0101ff000001ff00, 0x0101ff00000100ff, 0x0101ff0001ff0000,
    0x0101ff000100ffff, 0x0101ff000100ff01, 0x0101ff0001000001, 0x0101ff0001000100,
    0x0101ff01ffffff01, 0x0101ff01ffff01ff, 0x0101ff01ffff0101, 0x0101ff01ff00ffff,
    0x0101ff01ff000100, 0x0101ff01ff01ff01, 0x0101ff01ff0101ff, 0x0101ff01ff010101,
    0x0101ff0100ff0000, 0x0101ff010000ff00, 0x0101ff0100000001, 0x0101ff0100000100,
    0x0101ff0100010000, 0x0101ff0101ffffff, 0x0101ff0101ffff01, 0x0101ff0101ff01ff,
    0x0101ff0101ff0101, 0x0101ff0101000000, 0x0101ff010101ffff, 0x0101ff010101ff01,
    0x0101ff01010101ff, 0x0101ff0101010101, 0x010100ffff000100, 0x010100ffff010000,
    0x010100ff00ffff00, 0x010100ff00ff00ff, 0x010100ff0000ffff, 0x010100ff000000ff,
    0x010100ff00000000, 0x010100ff000001ff, 0x010100ff00000101, 0x010100ff0001ff00,
    0x010100ff00010000, 0x010100ff00010001, 0x010100ff000101ff, 0x010100ff00010100,
    0x010100ff01ff0000, 0x01010000ffff0001, 0x01010000ffff0100, 0x01010000ff00ffff,
    0x01010000ff00ff01, 0x01010000ff000000, 0x01010000ff0001ff, 0x01010000ff010001,
    0x01010000ff010100, 0x0101000000ffff01, 0x0101000000ff0000, 0x010100000000ff00,
    0x01010000000000ff, 0x0101000000000000, 0x0101000000000001, 0x0101000000000100,
    0x0101000000010000, 0x0101000000010101, 0x0101000001ffff00, 0x0101000001ff00ff,
    0x0101000001ff0000, 0x0101000001ff0001, 0x0101000001ff0100, 0x010100000100ff01,
    0x0101000001000000, 0x01010000010001ff, 0x01010001ffff0000, 0x01010001ff00ff00,
    0x01010001ff000001, 0x01010001ff000101, 0x01010001ff01ff00, 0x01010001ff010000,
    0x0101000100ff00ff, 0x0101000100ff0001, 0x0101000100ff0101, 0x010100010000ff01,
    0x0101000100000000, 0x0101000100000001, 0x01010001000001ff, 0x010100010001ffff,
    0x010100010001ff01, 0x0101000101ff0001, 0x010100010100ffff, 0x0101000101000000,
    0x0101000101000001, 0x0101000101000100, 0x010100010101ff00, 0x01010001010100ff,
    0x0101000101010001, 0x010101ffffffffff, 0x010101ffffffff01, 0x010101ffffff01ff,
    0x010101ffffff0101, 0x010101ffff01ffff, 0x010101ffff01ff01, 0x010101ffff0101ff,
    0x010101ffff010101, 0x010101ff0000ff00, 0x010101ff000000ff, 0x010101ff00000001,
    0x010101ff00000100, 0x010101ff01ffffff, 0x010101ff01ffff01, 0x010101ff01ff01ff,
    0x010101ff01ff0101, 0x010101ff01000000, 0x010101ff0101ffff, 0x010101ff0101ff01,
    0x010101ff010101ff, 0x010101ff01010101, 0x01010100ffff0000, 0x01010100ff0000ff,
    0x01010100ff000100, 0x01010100ff01ff00, 0x01010100ff010000, 0x0101010000ffff00,
    0x010101000000ffff, 0x0101010000000000, 0x0101010000000101, 0x010101000001ff00,
    0x0101010000010001, 0x0101010000010100, 0x010101000100ffff, 0x0101010001000001,
    0x01010101ffffffff, 0x01010101ffffff01, 0x01010101ffff01ff, 0x01010101ffff0101,
    0x01010101ff01ffff, 0x01010101ff01ff01, 0x01010101ff0101ff, 0x01010101ff010101,
    0x010101010000ff00, 0x01010101000000ff, 0x0101010100000001, 0x0101010101ffffff,
    0x0101010101ffff01, 0x0101010101ff01ff, 0x0101010101ff0101, 0x0101010101000000,
    0x010101010101ffff, 0x010101010101ff01, 0x01010101010101ff, 0x0101010101010101,
};
static const uint64_t iq2s_grid[1024] = {
    0x0808080808080808, 0x080808080808082b, 0x0808080808081919, 0x0808080808082b08,
    0x0808080808082b2b, 0x0808080808190819, 0x0808080808191908, 0x080808080819192b,
    0x0808080808192b19, 0x08080808082b0808, 0x08080808082b082b, 0x08080808082b1919,
    0x08080808082b2b08, 0x0808080819080819, 0x0808080819081908, 0x080808081908192b,
    0x0808080819082b19, 0x0808080819190808, 0x080808081919082b, 0x0808080819191919,
    0x0808080819192b08, 0x08080808192b0819, 0x08080808192b1908, 0x08080808192b192b,
    0x08080808192b2b19, 0x080808082b080808, 0x080808082b08082b, 0x080808082b081919,
    0x080808082b082b08, 0x080808082b190819, 0x080808082b191908, 0x080808082b2b0808,
    0x080808082b2b1919, 0x080808082b2b2b2b, 0x0808081908080819, 0x0808081908081908,
    0x080808190808192b, 0x0808081908082b19, 0x0808081908190808, 0x080808190819082b,
    0x0808081908191919, 0x0808081908192b08, 0x08080819082b0819, 0x08080819082b1908,
    0x0808081919080808, 0x080808191908082b, 0x0808081919081919, 0x0808081919082b08,
    0x0808081919190819, 0x0808081919191908, 0x080808191919192b, 0x0808081919192b19,
    0x08080819192b0808, 0x08080819192b1919, 0x08080819192b2b08, 0x080808192b080819,
    0x080808192b081908, 0x080808192b190808, 0x080808192b19082b, 0x080808192b191919,
    0x080808192b2b0819, 0x080808192b2b1908, 0x0808082b08080808, 0x0808082b0808082b,
    0x0808082b08081919, 0x0808082b08082b08, 0x0808082b08190819, 0x0808082b08191908,
    0x0808082b082b0808, 0x0808082b082b2b2b, 0x0808082b19080819, 0x0808082b19081908,
    0x0808082b1908192b, 0x0808082b19082b19, 0x0808082b19190808, 0x0808082b19191919,
    0x0808082b2b080808, 0x0808082b2b081919, 0x0808082b2b082b2b, 0x0808082b2b191908,
    0x0808082b2b2b082b, 0x0808190808080819, 0x0808190808081908, 0x080819080808192b,
    0x0808190808082b19, 0x0808190808190808, 0x080819080819082b, 0x0808190808191919,
    0x0808190808192b08, 0x08081908082b0819, 0x08081908082b1908, 0x08081908082b192b,
    0x08081908082b2b19, 0x0808190819080808, 0x080819081908082b, 0x0808190819081919,
    0x0808190819082b08, 0x0808190819082b2b, 0x0808190819190819, 0x0808190819191908,
    0x080819081919192b, 0x0808190819192b19, 0x08081908192b0808, 0x08081908192b082b,
    0x08081908192b1919, 0x080819082b080819, 0x080819082b081908, 0x080819082b08192b,
    0x080819082b082b19, 0x080819082b190808, 0x080819082b191919, 0x080819082b192b08,
    0x080819082b2b0819, 0x080819082b2b1908, 0x0808191908080808, 0x080819190808082b,
    0x0808191908081919, 0x0808191908082b08, 0x0808191908082b2b, 0x0808191908190819,
    0x0808191908191908, 0x080819190819192b, 0x0808191908192b19, 0x08081919082b0808,
    0x08081919082b1919, 0x08081919082b2b08, 0x0808191919080819, 0x0808191919081908,
    0x080819191908192b, 0x0808191919082b19, 0x0808191919190808, 0x080819191919082b,
    0x0808191919191919, 0x0808191919192b08, 0x08081919192b0819, 0x08081919192b1908,
    0x080819192b080808, 0x080819192b08082b, 0x080819192b081919, 0x080819192b082b08,
    0x080819192b190819, 0x080819192b191908, 0x080819192b2b0808, 0x0808192b08080819,
    0x0808192b08081908, 0x0808192b0808192b, 0x0808192b08082b19, 0x0808192b08190808,
    0x0808192b08191919, 0x0808192b19080808, 0x0808192b19081919, 0x0808192b19082b08,
    0x0808192b19190819, 0x0808192b19191908, 0x0808192b192b0808, 0x0808192b2b080819,
    0x0808192b2b081908, 0x0808192b2b190808, 0x08082b0808080808, 0x08082b080808082b,
    0x08082b0808081919, 0x08082b0808082b08, 0x08082b0808190819, 0x08082b0808191908,
    0x08082b080819192b, 0x08082b0808192b19, 0x08082b08082b0808, 0x08082b08082b1919,
    0x08082b08082b2b2b, 0x08082b0819080819, 0x08082b0819081908, 0x08082b081908192b,
    0x08082b0819082b19, 0x08082b0819190808, 0x08082b081919082b, 0x08082b0819191919,
    0x08082b0819192b08, 0x08082b08192b0819, 0x08082b08192b1908, 0x08082b082b080808,
    0x08082b082b081919, 0x08082b082b191908, 0x08082b082b2b2b2b, 0x08082b1908080819,
    0x08082b1908081908, 0x08082b1908190808, 0x08082b190819082b, 0x08082b1908191919,
    0x08082b1908192b08, 0x08082b19082b0819, 0x08082b1919080808, 0x08082b1919081919,
    0x08082b1919082b08, 0x08082b1919190819, 0x08082b1919191908, 0x08082b19192b0808,
    0x08082b192b080819, 0x08082b192b190808, 0x08082b2b08080808, 0x08082b2b08190819,
    0x08082b2b08191908, 0x08082b2b082b082b, 0x08082b2b082b2b08, 0x08082b2b082b2b2b,
    0x08082b2b19190808, 0x08082b2b2b192b19, 0x0819080808080819, 0x0819080808081908,
    0x081908080808192b, 0x0819080808082b19, 0x0819080808190808, 0x081908080819082b,
    0x0819080808191919, 0x0819080808192b08, 0x08190808082b0819, 0x08190808082b1908,
    0x08190808082b192b, 0x0819080819080808, 0x081908081908082b, 0x0819080819081919,
    0x0819080819082b08, 0x0819080819190819, 0x0819080819191908, 0x081908081919192b,
    0x0819080819192b19, 0x08190808192b0808, 0x08190808192b082b, 0x08190808192b1919,
    0x08190808192b2b08, 0x081908082b080819, 0x081908082b081908, 0x081908082b08192b,
    0x081908082b190808, 0x081908082b191919, 0x081908082b192b08, 0x081908082b2b0819,
    0x081908082b2b1908, 0x0819081908080808, 0x081908190808082b, 0x0819081908081919,
    0x0819081908082b08, 0x0819081908082b2b, 0x0819081908190819, 0x0819081908191908,
    0x081908190819192b, 0x0819081908192b19, 0x08190819082b0808, 0x08190819082b082b,
    0x08190819082b1919, 0x08190819082b2b08, 0x0819081919080819, 0x0819081919081908,
    0x081908191908192b, 0x0819081919082b19, 0x0819081919190808, 0x081908191919082b,
    0x0819081919191919, 0x0819081919192b08, 0x08190819192b0819, 0x08190819192b1908,
    0x081908192b080808, 0x081908192b08082b, 0x081908192b081919, 0x081908192b082b08,
    0x081908192b190819, 0x081908192b191908, 0x0819082b08080819, 0x0819082b08081908,
    0x0819082b08082b19, 0x0819082b08190808, 0x0819082b08191919, 0x0819082b082b0819,
    0x0819082b082b1908, 0x0819082b19080808, 0x0819082b19081919, 0x0819082b19190819,
    0x0819082b19191908, 0x0819082b2b080819, 0x0819082b2b081908, 0x0819082b2b190808,
    0x0819190808080808, 0x081919080808082b, 0x0819190808081919, 0x0819190808082b08,
    0x0819190808190819, 0x0819190808191908, 0x081919080819192b, 0x0819190808192b19,
    0x08191908082b0808, 0x08191908082b1919, 0x08191908082b2b08, 0x0819190819080819,
    0x0819190819081908, 0x081919081908192b, 0x0819190819082b19, 0x0819190819190808,
    0x081919081919082b, 0x0819190819191919, 0x0819190819192b08, 0x08191908192b0819,
    0x08191908192b1908, 0x081919082b080808, 0x081919082b08082b, 0x081919082b081919,
    0x081919082b082b08, 0x081919082b190819, 0x081919082b191908, 0x081919082b2b0808,
    0x0819191908080819, 0x0819191908081908, 0x081919190808192b, 0x0819191908082b19,
    0x0819191908190808, 0x081919190819082b, 0x0819191908191919, 0x0819191908192b08,
    0x08191919082b0819, 0x08191919082b1908, 0x0819191919080808, 0x081919191908082b,
    0x0819191919081919, 0x0819191919082b08, 0x0819191919190819, 0x0819191919191908,
    0x08191919192b0808, 0x081919192b080819, 0x081919192b081908, 0x081919192b190808,
    0x0819192b08080808, 0x0819192b08081919, 0x0819192b08082b08, 0x0819192b08190819,
    0x0819192b08191908, 0x0819192b082b0808, 0x0819192b19080819, 0x0819192b19081908,
    0x0819192b19190808, 0x0819192b2b080808, 0x0819192b2b2b2b2b, 0x08192b0808080819,
    0x08192b0808081908, 0x08192b080808192b, 0x08192b0808082b19, 0x08192b0808190808,
    0x08192b0808191919, 0x08192b0808192b08, 0x08192b08082b0819, 0x08192b0819080808,
    0x08192b081908082b, 0x08192b0819081919, 0x08192b0819082b08, 0x08192b0819190819,
    0x08192b0819191908, 0x08192b08192b0808, 0x08192b082b080819, 0x08192b082b081908,
    0x08192b1908080808, 0x08192b190808082b, 0x08192b1908081919, 0x08192b1908082b08,
    0x08192b1908190819, 0x08192b1908191908, 0x08192b19082b0808, 0x08192b1919080819,
    0x08192b1919081908, 0x08192b1919190808, 0x08192b19192b2b19, 0x08192b192b2b082b,
    0x08192b2b08081908, 0x08192b2b08190808, 0x08192b2b19080808, 0x08192b2b1919192b,
    0x082b080808080808, 0x082b08080808082b, 0x082b080808081919, 0x082b080808082b08,
    0x082b080808190819, 0x082b080808191908, 0x082b08080819192b, 0x082b080808192b19,
    0x082b0808082b0808, 0x082b0808082b1919, 0x082b0808082b2b2b, 0x082b080819080819,
    0x082b080819081908, 0x082b080819190808, 0x082b08081919082b, 0x082b080819191919,
    0x082b0808192b1908, 0x082b08082b080808, 0x082b08082b082b2b, 0x082b08082b191908,
    0x082b08082b2b2b2b, 0x082b081908080819, 0x082b081908081908, 0x082b081908190808,
    0x082b08190819082b, 0x082b081908191919, 0x082b0819082b0819, 0x082b081919080808,
    0x082b08191908082b, 0x082b081919081919, 0x082b081919190819, 0x082b081919191908,
    0x082b0819192b0808, 0x082b08192b080819, 0x082b08192b081908, 0x082b08192b190808,
    0x082b082b08080808, 0x082b082b08082b2b, 0x082b082b082b082b, 0x082b082b082b2b08,
    0x082b082b082b2b2b, 0x082b082b19081908, 0x082b082b19190808, 0x082b082b2b082b08,
    0x082b082b2b082b2b, 0x082b082b2b2b2b08, 0x082b190808080819, 0x082b190808081908,
    0x082b19080808192b, 0x082b190808082b19, 0x082b190808190808, 0x082b190808191919,
    0x082b190808192b08, 0x082b1908082b0819, 0x082b1908082b1908, 0x082b190819080808,
    0x082b19081908082b, 0x082b190819081919, 0x082b190819082b08, 0x082b190819190819,
    0x082b190819191908, 0x082b1908192b0808, 0x082b19082b080819, 0x082b19082b081908,
    0x082b19082b190808, 0x082b191908080808, 0x082b191908081919, 0x082b191908082b08,
    0x082b191908190819, 0x082b191908191908, 0x082b1919082b0808, 0x082b191919080819,
    0x082b191919081908, 0x082b191919190808, 0x082b1919192b192b, 0x082b19192b080808,
    0x082b192b08080819, 0x082b192b08081908, 0x082b192b08190808, 0x082b192b19080808,
    0x082b192b19192b19, 0x082b2b0808080808, 0x082b2b0808081919, 0x082b2b0808190819,
    0x082b2b0808191908, 0x082b2b0819080819, 0x082b2b0819081908, 0x082b2b0819190808,
    0x082b2b082b082b2b, 0x082b2b082b2b2b2b, 0x082b2b1908080819, 0x082b2b1908081908,
    0x082b2b1908190808, 0x082b2b192b191919, 0x082b2b2b08082b2b, 0x082b2b2b082b082b,
    0x082b2b2b192b1908, 0x082b2b2b2b082b08, 0x082b2b2b2b082b2b, 0x1908080808080819,
    0x1908080808081908, 0x190808080808192b, 0x1908080808082b19, 0x1908080808190808,
    0x190808080819082b, 0x1908080808191919, 0x1908080808192b08, 0x1908080808192b2b,
    0x19080808082b0819, 0x19080808082b1908, 0x19080808082b192b, 0x1908080819080808,
    0x190808081908082b, 0x1908080819081919, 0x1908080819082b08, 0x1908080819082b2b,
    0x1908080819190819, 0x1908080819191908, 0x190808081919192b, 0x1908080819192b19,
    0x19080808192b0808, 0x19080808192b082b, 0x19080808192b1919, 0x190808082b080819,
    0x190808082b081908, 0x190808082b190808, 0x190808082b191919, 0x190808082b192b08,
    0x190808082b2b0819, 0x190808082b2b1908, 0x1908081908080808, 0x190808190808082b,
    0x1908081908081919, 0x1908081908082b08, 0x1908081908190819, 0x1908081908191908,
    0x190808190819192b, 0x1908081908192b19, 0x19080819082b0808, 0x19080819082b082b,
    0x19080819082b1919, 0x1908081919080819, 0x1908081919081908, 0x190808191908192b,
    0x1908081919082b19, 0x1908081919190808, 0x190808191919082b, 0x1908081919191919,
    0x1908081919192b08, 0x19080819192b0819, 0x19080819192b1908, 0x190808192b080808,
    0x190808192b08082b, 0x190808192b081919, 0x190808192b082b08, 0x190808192b190819,
    0x190808192b191908, 0x190808192b2b0808, 0x1908082b08080819, 0x1908082b08081908,
    0x1908082b08190808, 0x1908082b0819082b, 0x1908082b08191919, 0x1908082b08192b08,
    0x1908082b082b1908, 0x1908082b19080808, 0x1908082b19081919, 0x1908082b19082b08,
    0x1908082b19190819, 0x1908082b19191908, 0x1908082b192b0808, 0x1908082b2b080819,
    0x1908082b2b081908, 0x1908190808080808, 0x190819080808082b, 0x1908190808081919,
    0x1908190808082b08, 0x1908190808082b2b, 0x1908190808190819, 0x1908190808191908,
    0x190819080819192b, 0x1908190808192b19, 0x19081908082b0808, 0x19081908082b082b,
    0x19081908082b1919, 0x19081908082b2b08, 0x1908190819080819, 0x1908190819081908,
    0x190819081908192b, 0x1908190819082b19, 0x1908190819190808, 0x190819081919082b,
    0x1908190819191919, 0x1908190819192b08, 0x19081908192b0819, 0x19081908192b1908,
    0x190819082b080808, 0x190819082b08082b, 0x190819082b081919, 0x190819082b082b08,
    0x190819082b190819, 0x190819082b191908, 0x190819082b2b0808, 0x1908191908080819,
    0x1908191908081908, 0x190819190808192b, 0x1908191908082b19, 0x1908191908190808,
    0x190819190819082b, 0x1908191908191919, 0x1908191908192b08, 0x19081919082b0819,
    0x19081919082b1908, 0x1908191919080808, 0x190819191908082b, 0x1908191919081919,
    0x1908191919082b08, 0x1908191919190819, 0x1908191919191908, 0x19081919192b0808,
    0x19081919192b2b2b, 0x190819192b080819, 0x190819192b081908, 0x190819192b190808,
    0x1908192b08080808, 0x1908192b0808082b, 0x1908192b08081919, 0x1908192b08082b08,
    0x1908192b08190819, 0x1908192b08191908, 0x1908192b082b0808, 0x1908192b19080819,
    0x1908192b19081908, 0x1908192b19190808, 0x1908192b2b080808, 0x1908192b2b2b1919,
    0x19082b0808080819, 0x19082b0808081908, 0x19082b0808082b19, 0x19082b0808190808,
    0x19082b080819082b, 0x19082b0808191919, 0x19082b0808192b08, 0x19082b08082b0819,
    0x19082b08082b1908, 0x19082b0819080808, 0x19082b081908082b, 0x19082b0819081919,
    0x19082b0819082b08, 0x19082b0819190819, 0x19082b0819191908, 0x19082b08192b0808,
    0x19082b082b081908, 0x19082b082b190808, 0x19082b1908080808, 0x19082b190808082b,
    0x19082b1908081919, 0x19082b1908082b08, 0x19082b1908190819, 0x19082b1908191908,
    0x19082b19082b0808, 0x19082b1919080819, 0x19082b1919081908, 0x19082b1919190808,
    0x19082b192b080808, 0x19082b192b19192b, 0x19082b2b08080819, 0x19082b2b08081908,
    0x19082b2b08190808, 0x19082b2b19080808, 0x1919080808080808, 0x191908080808082b,
    0x1919080808081919, 0x1919080808082b08, 0x1919080808190819, 0x1919080808191908,
    0x191908080819192b, 0x1919080808192b19, 0x19190808082b0808, 0x19190808082b082b,
    0x19190808082b1919, 0x19190808082b2b08, 0x1919080819080819, 0x1919080819081908,
    0x191908081908192b, 0x1919080819082b19, 0x1919080819190808, 0x191908081919082b,
    0x1919080819191919, 0x1919080819192b08, 0x19190808192b0819, 0x19190808192b1908,
    0x191908082b080808, 0x191908082b08082b, 0x191908082b081919, 0x191908082b082b08,
    0x191908082b190819, 0x191908082b191908, 0x1919081908080819, 0x1919081908081908,
    0x191908190808192b, 0x1919081908082b19, 0x1919081908190808, 0x191908190819082b,
    0x1919081908191919, 0x1919081908192b08, 0x19190819082b0819, 0x19190819082b1908,
    0x1919081919080808, 0x191908191908082b, 0x1919081919081919, 0x1919081919082b08,
    0x1919081919190819, 0x1919081919191908, 0x19190819192b0808, 0x191908192b080819,
    0x191908192b081908, 0x191908192b190808, 0x1919082b08080808, 0x1919082b08081919,
    0x1919082b08082b08, 0x1919082b08190819, 0x1919082b08191908, 0x1919082b082b0808,
    0x1919082b19080819, 0x1919082b19081908, 0x1919082b19190808, 0x1919082b192b2b19,
    0x1919082b2b080808, 0x1919190808080819, 0x1919190808081908, 0x191919080808192b,
    0x1919190808082b19, 0x1919190808190808, 0x191919080819082b, 0x1919190808191919,
    0x1919190808192b08, 0x19191908082b0819, 0x19191908082b1908, 0x1919190819080808,
    0x191919081908082b, 0x1919190819081919, 0x1919190819082b08, 0x1919190819190819,
    0x1919190819191908, 0x19191908192b0808, 0x191919082b080819, 0x191919082b081908,
    0x191919082b190808, 0x1919191908080808, 0x191919190808082b, 0x1919191908081919,
    0x1919191908082b08, 0x1919191908190819, 0x1919191908191908, 0x19191919082b0808,
    0x1919191919080819, 0x1919191919081908, 0x1919191919190808, 0x191919192b080808,
    0x1919192b08080819, 0x1919192b08081908, 0x1919192b08190808, 0x1919192b082b192b,
    0x1919192b19080808, 0x19192b0808080808, 0x19192b080808082b, 0x19192b0808081919,
    0x19192b0808082b08, 0x19192b0808190819, 0x19192b0808191908, 0x19192b08082b0808,
    0x19192b0819080819, 0x19192b0819081908, 0x19192b0819190808, 0x19192b0819192b2b,
    0x19192b082b080808, 0x19192b1908080819, 0x19192b1908081908, 0x19192b1908190808,
    0x19192b1919080808, 0x19192b2b08080808, 0x19192b2b08192b19, 0x19192b2b2b081919,
    0x19192b2b2b2b2b08, 0x192b080808080819, 0x192b080808081908, 0x192b08080808192b,
    0x192b080808190808, 0x192b08080819082b, 0x192b080808191919, 0x192b080808192b08,
    0x192b0808082b0819, 0x192b0808082b1908, 0x192b080819080808, 0x192b080819081919,
    0x192b080819082b08, 0x192b080819190819, 0x192b080819191908, 0x192b0808192b0808,
    0x192b08082b081908, 0x192b08082b190808, 0x192b081908080808, 0x192b08190808082b,
    0x192b081908081919, 0x192b081908082b08, 0x192b081908190819, 0x192b081908191908,
    0x192b0819082b0808, 0x192b081919080819, 0x192b081919081908, 0x192b081919190808,
    0x192b08192b080808, 0x192b08192b192b19, 0x192b082b08081908, 0x192b082b08190808,
    0x192b082b19080808, 0x192b082b1919192b, 0x192b082b2b2b0819, 0x192b190808080808,
    0x192b190808081919, 0x192b190808082b08, 0x192b190808190819, 0x192b190808191908,
    0x192b1908082b0808, 0x192b190819080819, 0x192b190819081908, 0x192b190819190808,
    0x192b19082b080808, 0x192b191908080819, 0x192b191908081908, 0x192b191908190808,
    0x192b191919080808, 0x192b191919082b2b, 0x192b1919192b2b08, 0x192b19192b19082b,
    0x192b192b08080808, 0x192b192b2b191908, 0x192b2b0808080819, 0x192b2b0808081908,
    0x192b2b0808190808, 0x192b2b08192b1919, 0x192b2b082b192b08, 0x192b2b1908080808,
    0x192b2b19082b2b2b, 0x192b2b2b1908082b, 0x192b2b2b2b2b0819, 0x2b08080808080808,
    0x2b0808080808082b, 0x2b08080808081919, 0x2b08080808082b08, 0x2b08080808190819,
    0x2b08080808191908, 0x2b08080808192b19, 0x2b080808082b0808, 0x2b080808082b1919,
    0x2b08080819080819, 0x2b08080819081908, 0x2b08080819190808, 0x2b0808081919082b,
    0x2b08080819191919, 0x2b08080819192b08, 0x2b080808192b0819, 0x2b0808082b080808,
    0x2b0808082b081919, 0x2b0808082b190819, 0x2b0808082b191908, 0x2b08081908080819,
    0x2b08081908081908, 0x2b08081908082b19, 0x2b08081908190808, 0x2b0808190819082b,
    0x2b08081908191919, 0x2b08081908192b08, 0x2b080819082b0819, 0x2b080819082b1908,
    0x2b08081919080808, 0x2b0808191908082b, 0x2b08081919081919, 0x2b08081919082b08,
    0x2b08081919190819, 0x2b08081919191908, 0x2b0808192b080819, 0x2b0808192b081908,
    0x2b0808192b190808, 0x2b0808192b2b2b19, 0x2b08082b08080808, 0x2b08082b08081919,
    0x2b08082b08082b2b, 0x2b08082b08190819, 0x2b08082b08191908, 0x2b08082b19080819,
    0x2b08082b19081908, 0x2b08082b19190808, 0x2b08190808080819, 0x2b08190808081908,
    0x2b0819080808192b, 0x2b08190808082b19, 0x2b08190808190808, 0x2b0819080819082b,
    0x2b08190808191919, 0x2b08190808192b08, 0x2b081908082b0819, 0x2b08190819080808,
    0x2b0819081908082b, 0x2b08190819081919, 0x2b08190819082b08, 0x2b08190819190819,
    0x2b08190819191908, 0x2b081908192b0808, 0x2b0819082b080819, 0x2b0819082b081908,
    0x2b0819082b190808, 0x2b08191908080808, 0x2b0819190808082b, 0x2b08191908081919,
    0x2b08191908082b08, 0x2b08191908190819, 0x2b08191908191908, 0x2b081919082b0808,
    0x2b08191919080819, 0x2b08191919081908, 0x2b08191919190808, 0x2b0819192b080808,
    0x2b0819192b082b2b, 0x2b08192b08080819, 0x2b08192b08081908, 0x2b08192b08190808,
    0x2b08192b082b2b19, 0x2b08192b19080808, 0x2b082b0808080808, 0x2b082b0808081919,
    0x2b082b0808190819, 0x2b082b0808191908, 0x2b082b0819080819, 0x2b082b0819081908,
    0x2b082b0819190808, 0x2b082b082b2b082b, 0x2b082b1908080819, 0x2b082b1908081908,
    0x2b082b1919080808, 0x2b082b19192b1919, 0x2b082b2b082b082b, 0x2b082b2b19192b08,
    0x2b082b2b19192b2b, 0x2b082b2b2b08082b, 0x2b082b2b2b2b082b, 0x2b19080808080819,
    0x2b19080808081908, 0x2b19080808082b19, 0x2b19080808190808, 0x2b1908080819082b,
    0x2b19080808191919, 0x2b19080808192b08, 0x2b190808082b1908, 0x2b19080819080808,
    0x2b1908081908082b, 0x2b19080819081919, 0x2b19080819082b08, 0x2b19080819190819,
    0x2b19080819191908, 0x2b190808192b0808, 0x2b1908082b080819, 0x2b1908082b081908,
    0x2b1908082b190808, 0x2b19081908080808, 0x2b19081908081919, 0x2b19081908190819,
    0x2b19081908191908, 0x2b19081919080819, 0x2b19081919081908, 0x2b19081919190808,
    0x2b19081919192b2b, 0x2b19082b08080819, 0x2b19082b08081908, 0x2b19082b08190808,
    0x2b19082b19080808, 0x2b19082b2b2b192b, 0x2b19190808080808, 0x2b1919080808082b,
    0x2b19190808081919, 0x2b19190808082b08, 0x2b19190808190819, 0x2b19190808191908,
    0x2b191908082b0808, 0x2b19190819080819, 0x2b19190819081908, 0x2b19190819190808,
    0x2b1919082b080808, 0x2b1919082b19192b, 0x2b19191908080819, 0x2b19191908081908,
    0x2b19191908190808, 0x2b19191919080808, 0x2b1919192b192b08, 0x2b1919192b2b0819,
    0x2b19192b08080808, 0x2b19192b1908192b, 0x2b19192b192b1908, 0x2b192b0808080819,
    0x2b192b0808081908, 0x2b192b0808190808, 0x2b192b08082b192b, 0x2b192b0819080808,
    0x2b192b082b2b2b19, 0x2b192b1908080808, 0x2b192b1919082b19, 0x2b192b191919082b,
    0x2b192b2b2b190808, 0x2b2b080808080808, 0x2b2b080808081919, 0x2b2b080808082b2b,
    0x2b2b080808191908, 0x2b2b0808082b082b, 0x2b2b0808082b2b2b, 0x2b2b080819080819,
    0x2b2b080819081908, 0x2b2b080819190808, 0x2b2b08082b2b082b, 0x2b2b08082b2b2b2b,
    0x2b2b081919080808, 0x2b2b0819192b1919, 0x2b2b082b0808082b, 0x2b2b082b08082b2b,
    0x2b2b082b082b082b, 0x2b2b082b082b2b08, 0x2b2b082b082b2b2b, 0x2b2b082b2b08082b,
    0x2b2b082b2b082b08, 0x2b2b082b2b082b2b, 0x2b2b082b2b2b2b08, 0x2b2b190808080819,
    0x2b2b190808081908, 0x2b2b190808190808, 0x2b2b190819080808, 0x2b2b19082b082b19,
    0x2b2b19082b2b1908, 0x2b2b191908080808, 0x2b2b191908192b19, 0x2b2b192b19190819,
    0x2b2b2b0808082b2b, 0x2b2b2b08082b2b08, 0x2b2b2b082b2b082b, 0x2b2b2b1919191908,
    0x2b2b2b192b08192b, 0x2b2b2b2b08082b08, 0x2b2b2b2b08082b2b, 0x2b2b2b2b082b0808,
    0x2b2b2b2b082b082b, 0x2b2b2b2b082b2b08, 0x2b2b2b2b2b082b08, 0x2b2b2b2b2b2b2b2b,
};
static const uint32_t iq3s_grid[512] = {
    0x01010101, 0x01010103, 0x01010105, 0x0101010b, 0x0101010f, 0x01010301, 0x01010303, 0x01010305,
    0x01010309, 0x0101030d, 0x01010501, 0x01010503, 0x0101050b, 0x01010707, 0x01010901, 0x01010905,
    0x0101090b, 0x0101090f, 0x01010b03, 0x01010b07, 0x01010d01, 0x01010d05, 0x01010f03, 0x01010f09,
    0x01010f0f, 0x01030101, 0x01030103, 0x01030105, 0x01030109, 0x01030301, 0x01030303, 0x0103030b,
    0x01030501, 0x01030507, 0x0103050f, 0x01030703, 0x0103070b, 0x01030909, 0x01030d03, 0x01030d0b,
    0x01030f05, 0x01050101, 0x01050103, 0x0105010b, 0x0105010f, 0x01050301, 0x01050307, 0x0105030d,
    0x01050503, 0x0105050b, 0x01050701, 0x01050709, 0x01050905, 0x0105090b, 0x0105090f, 0x01050b03,
    0x01050b07, 0x01050f01, 0x01050f07, 0x01070107, 0x01070303, 0x0107030b, 0x01070501, 0x01070505,
    0x01070703, 0x01070707, 0x0107070d, 0x01070909, 0x01070b01, 0x01070b05, 0x01070d0f, 0x01070f03,
    0x01070f0b, 0x01090101, 0x01090307, 0x0109030f, 0x01090503, 0x01090509, 0x01090705, 0x01090901,
    0x01090907, 0x01090b03, 0x01090f01, 0x010b0105, 0x010b0109, 0x010b0501, 0x010b0505, 0x010b050d,
    0x010b0707, 0x010b0903, 0x010b090b, 0x010b090f, 0x010b0d0d, 0x010b0f07, 0x010d010d, 0x010d0303,
    0x010d0307, 0x010d0703, 0x010d0b05, 0x010d0f03, 0x010f0101, 0x010f0105, 0x010f0109, 0x010f0501,
    0x010f0505, 0x010f050d, 0x010f0707, 0x010f0b01, 0x010f0b09, 0x03010101, 0x03010103, 0x03010105,
    0x03010109, 0x03010301, 0x03010303, 0x03010307, 0x0301030b, 0x0301030f, 0x03010501, 0x03010505,
    0x03010703, 0x03010709, 0x0301070d, 0x03010b09, 0x03010b0d, 0x03010d03, 0x03010f05, 0x03030101,
    0x03030103, 0x03030107, 0x0303010d, 0x03030301, 0x03030309, 0x03030503, 0x03030701, 0x03030707,
    0x03030903, 0x03030b01, 0x03030b05, 0x03030f01, 0x03030f0d, 0x03050101, 0x03050305, 0x0305030b,
    0x0305030f, 0x03050501, 0x03050509, 0x03050705, 0x03050901, 0x03050907, 0x03050b0b, 0x03050d01,
    0x03050f05, 0x03070103, 0x03070109, 0x0307010f, 0x03070301, 0x03070307, 0x03070503, 0x0307050f,
    0x03070701, 0x03070709, 0x03070903, 0x03070d05, 0x03070f01, 0x03090107, 0x0309010b, 0x03090305,
    0x03090309, 0x03090703, 0x03090707, 0x03090905, 0x0309090d, 0x03090b01, 0x03090b09, 0x030b0103,
    0x030b0301, 0x030b0307, 0x030b0503, 0x030b0701, 0x030b0705, 0x030b0b03, 0x030d0501, 0x030d0509,
    0x030d050f, 0x030d0909, 0x030d090d, 0x030f0103, 0x030f0107, 0x030f0301, 0x030f0305, 0x030f0503,
    0x030f070b, 0x030f0903, 0x030f0d05, 0x030f0f01, 0x05010101, 0x05010103, 0x05010107, 0x0501010b,
    0x0501010f, 0x05010301, 0x05010305, 0x05010309, 0x0501030d, 0x05010503, 0x05010507, 0x0501050f,
    0x05010701, 0x05010705, 0x05010903, 0x05010907, 0x0501090b, 0x05010b01, 0x05010b05, 0x05010d0f,
    0x05010f01, 0x05010f07, 0x05010f0b, 0x05030101, 0x05030105, 0x05030301, 0x05030307, 0x0503030f,
    0x05030505, 0x0503050b, 0x05030703, 0x05030709, 0x05030905, 0x05030b03, 0x05050103, 0x05050109,
    0x0505010f, 0x05050503, 0x05050507, 0x05050701, 0x0505070f, 0x05050903, 0x05050b07, 0x05050b0f,
    0x05050f03, 0x05050f09, 0x05070101, 0x05070105, 0x0507010b, 0x05070303, 0x05070505, 0x05070509,
    0x05070703, 0x05070707, 0x05070905, 0x05070b01, 0x05070d0d, 0x05090103, 0x0509010f, 0x05090501,
    0x05090507, 0x05090705, 0x0509070b, 0x05090903, 0x05090f05, 0x05090f0b, 0x050b0109, 0x050b0303,
    0x050b0505, 0x050b070f, 0x050b0901, 0x050b0b07, 0x050b0f01, 0x050d0101, 0x050d0105, 0x050d010f,
    0x050d0503, 0x050d0b0b, 0x050d0d03, 0x050f010b, 0x050f0303, 0x050f050d, 0x050f0701, 0x050f0907,
    0x050f0b01, 0x07010105, 0x07010303, 0x07010307, 0x0701030b, 0x0701030f, 0x07010505, 0x07010703,
    0x07010707, 0x0701070b, 0x07010905, 0x07010909, 0x0701090f, 0x07010b03, 0x07010d07, 0x07010f03,
    0x07030103, 0x07030107, 0x0703010b, 0x07030309, 0x07030503, 0x07030507, 0x07030901, 0x07030d01,
    0x07030f05, 0x07030f0d, 0x07050101, 0x07050305, 0x07050501, 0x07050705, 0x07050709, 0x07050b01,
    0x07070103, 0x07070301, 0x07070309, 0x07070503, 0x07070507, 0x0707050f, 0x07070701, 0x07070903,
    0x07070907, 0x0707090f, 0x07070b0b, 0x07070f07, 0x07090107, 0x07090303, 0x0709030d, 0x07090505,
    0x07090703, 0x07090b05, 0x07090d01, 0x07090d09, 0x070b0103, 0x070b0301, 0x070b0305, 0x070b050b,
    0x070b0705, 0x070b0909, 0x070b0b0d, 0x070b0f07, 0x070d030d, 0x070d0903, 0x070f0103, 0x070f0107,
    0x070f0501, 0x070f0505, 0x070f070b, 0x09010101, 0x09010109, 0x09010305, 0x09010501, 0x09010509,
    0x0901050f, 0x09010705, 0x09010903, 0x09010b01, 0x09010f01, 0x09030105, 0x0903010f, 0x09030303,
    0x09030307, 0x09030505, 0x09030701, 0x0903070b, 0x09030907, 0x09030b03, 0x09030b0b, 0x09050103,
    0x09050107, 0x09050301, 0x0905030b, 0x09050503, 0x09050707, 0x09050901, 0x09050b0f, 0x09050d05,
    0x09050f01, 0x09070109, 0x09070303, 0x09070307, 0x09070501, 0x09070505, 0x09070703, 0x0907070b,
    0x09090101, 0x09090105, 0x09090509, 0x0909070f, 0x09090901, 0x09090f03, 0x090b010b, 0x090b010f,
    0x090b0503, 0x090b0d05, 0x090d0307, 0x090d0709, 0x090d0d01, 0x090f0301, 0x090f030b, 0x090f0701,
    0x090f0907, 0x090f0b03, 0x0b010105, 0x0b010301, 0x0b010309, 0x0b010505, 0x0b010901, 0x0b010909,
    0x0b01090f, 0x0b010b05, 0x0b010d0d, 0x0b010f09, 0x0b030103, 0x0b030107, 0x0b03010b, 0x0b030305,
    0x0b030503, 0x0b030705, 0x0b030f05, 0x0b050101, 0x0b050303, 0x0b050507, 0x0b050701, 0x0b05070d,
    0x0b050b07, 0x0b070105, 0x0b07010f, 0x0b070301, 0x0b07050f, 0x0b070909, 0x0b070b03, 0x0b070d0b,
    0x0b070f07, 0x0b090103, 0x0b090109, 0x0b090501, 0x0b090705, 0x0b09090d, 0x0b0b0305, 0x0b0b050d,
    0x0b0b0b03, 0x0b0b0b07, 0x0b0d0905, 0x0b0f0105, 0x0b0f0109, 0x0b0f0505, 0x0d010303, 0x0d010307,
    0x0d01030b, 0x0d010703, 0x0d010707, 0x0d010d01, 0x0d030101, 0x0d030501, 0x0d03050f, 0x0d030d09,
    0x0d050305, 0x0d050709, 0x0d050905, 0x0d050b0b, 0x0d050d05, 0x0d050f01, 0x0d070101, 0x0d070309,
    0x0d070503, 0x0d070901, 0x0d09050b, 0x0d090907, 0x0d090d05, 0x0d0b0101, 0x0d0b0107, 0x0d0b0709,
    0x0d0b0d01, 0x0d0d010b, 0x0d0d0901, 0x0d0f0303, 0x0d0f0307, 0x0f010101, 0x0f010109, 0x0f01010f,
    0x0f010501, 0x0f010505, 0x0f01070d, 0x0f010901, 0x0f010b09, 0x0f010d05, 0x0f030105, 0x0f030303,
    0x0f030509, 0x0f030907, 0x0f03090b, 0x0f050103, 0x0f050109, 0x0f050301, 0x0f05030d, 0x0f050503,
    0x0f050701, 0x0f050b03, 0x0f070105, 0x0f070705, 0x0f07070b, 0x0f070b07, 0x0f090103, 0x0f09010b,
    0x0f090307, 0x0f090501, 0x0f090b01, 0x0f0b0505, 0x0f0b0905, 0x0f0d0105, 0x0f0d0703, 0x0f0f0101,
};
/* END generated by tests/tools/gen_iq_grids.py */

static unsigned iq2_sign_byte(uint32_t index) {
    uint32_t parity = (index & 127) ^ ((index & 127) >> 4);
    parity ^= parity >> 2;
    parity ^= parity >> 1;
    return (index & 127) | (parity & 1) << 7;
}

/* Four 7-bit sign fields (IQ2_XXS, IQ3_XXS, IQ2_XS) as the four bytes of
   the result, each completed to even parity as iq2_sign_byte does, all four
   at once: bit 7 of p below is the XOR of its byte's bits 0-7. */
DSV3_ALWAYS_INLINE static inline uint32_t iq2_sign_bits(uint32_t fields) {
    uint32_t x = (fields & 0x7F) | (fields << 1 & 0x7F00) | (fields << 2 & 0x7F0000) | (fields << 3 & 0x7F000000);
    uint32_t p = x ^ x << 4;
    p ^= p << 2;
    p ^= p << 1;
    return x | (p & 0x80808080u);
}

/* count magnitudes (byte j of grid) negated where bit j of signs is set */
static void iq_signed(uint64_t grid, unsigned signs, int count, int8_t *q) {
    for (int j = 0; j < count; j++) {
        int v = (int)((grid >> (8 * j)) & 255);
        q[j] = (int8_t)((signs >> j) & 1 ? -v : v);
    }
}

/* Group g (32 elements) of an IQ2_XXS block: the signed magnitudes, and the
   4-bit scale s as the return value. */
static uint32_t iq2_xxs_group(const uint8_t *block, int g, int8_t *q) {
    uint32_t indices = read_u32le(block + 2 + 8 * g), aux = read_u32le(block + 6 + 8 * g);
    for (int l = 0; l < 4; l++)
        iq_signed(iq2xxs_grid[(indices >> (8 * l)) & 255], iq2_sign_byte(aux >> (7 * l)), 8, q + 8 * l);
    return aux >> 28;
}

/* The same for IQ3_XXS */
static uint32_t iq3_xxs_group(const uint8_t *block, int g, int8_t *q) {
    const uint8_t *indices = block + 2 + 8 * g;
    uint32_t aux = read_u32le(block + 66 + 4 * g);
    for (int l = 0; l < 4; l++)
        iq_signed(iq3xxs_grid[indices[2 * l]] | (uint64_t)iq3xxs_grid[indices[2 * l + 1]] << 32,
                  iq2_sign_byte(aux >> (7 * l)), 8, q + 8 * l);
    return aux >> 28;
}

/* Every lattice type as integers: each element is d * m * step * q with q an
   int8 (the signed magnitude; for IQ1 8 * value +- 1, delta folded in), m
   an integer multiplier per 16 elements (2s + 1) and step a power of two;
   d * m * step is exact in float, so one multiply by q rounds once, as the
   format's own decoders do. */
static float iq_step(uint32_t type) { return type == 21 ? 1.0f : type == 18 ? 0.25f : 0.125f; }

#define DSV3_TYPE_COUNT 43
static const type_traits type_table[DSV3_TYPE_COUNT]; /* defined below */

static size_t iq_block_bytes(uint32_t type) { return type_table[type].type_size; }

/* d's half-precision bits (the SIMD kernels convert them in hardware) */
static inline uint16_t iq_block_d_half(uint32_t type, const uint8_t *block) {
    if (type != 29) return read_u16le(block);
    uint16_t d = 0; /* IQ1_M: the top nibbles of its four scale words */
    for (int j = 0; j < 4; j++) d |= (uint16_t)((read_u16le(block + 48 + 2 * j) >> 12) << (4 * j));
    return d;
}

static float iq_block_d(uint32_t type, const uint8_t *block) { return f16_to_f32(iq_block_d_half(type, block)); }

static void iq_group(uint32_t type, const uint8_t *block, int g, int8_t *q, int32_t *m) {
    switch (type) {
    case 16: case 18: {
        uint32_t s = type == 18 ? iq3_xxs_group(block, g, q) : iq2_xxs_group(block, g, q);
        m[0] = m[1] = (int32_t)(2 * s + 1);
        return;
    }
    case 17: /* IQ2_XS */
        for (int l = 0; l < 4; l++) {
            uint32_t word = read_u16le(block + 2 + 2 * (4 * g + l));
            iq_signed(iq2xs_grid[word & 511], iq2_sign_byte(word >> 9), 8, q + 8 * l);
        }
        m[0] = 2 * (block[66 + g] & 15) + 1;
        m[1] = 2 * (block[66 + g] >> 4) + 1;
        return;
    case 22: /* IQ2_S */
        for (int l = 0; l < 4; l++) {
            int k = 4 * g + l;
            iq_signed(iq2s_grid[block[2 + k] | ((block[66 + g] >> (2 * l)) & 3) << 8], block[34 + k], 8, q + 8 * l);
        }
        m[0] = 2 * (block[74 + g] & 15) + 1;
        m[1] = 2 * (block[74 + g] >> 4) + 1;
        return;
    case 21: /* IQ3_S */
        for (int e = 0; e < 8; e++) {
            int k = 8 * g + e;
            iq_signed(iq3s_grid[block[2 + k] | ((block[66 + g] >> e) & 1) << 8],
                      block[74 + 4 * g + e / 2] >> (4 * (e % 2)), 4, q + 4 * e);
        }
        m[0] = m[1] = 2 * ((block[106 + g / 2] >> (4 * (g % 2))) & 15) + 1;
        return;
    default: /* IQ1_S (19), IQ1_M (29) */
        for (int l = 0; l < 4; l++) {
            int k = 4 * g + l, high, minus;
            if (type == 19) {
                uint32_t word = read_u16le(block + 34 + 2 * g);
                high = (int)((word >> (3 * l)) & 7);
                minus = (word >> 15) & 1;
            } else {
                int nibble = (block[32 + k / 2] >> (4 * (k % 2))) & 15;
                high = nibble & 7;
                minus = nibble >> 3;
            }
            uint64_t grid = iq1s_grid[block[(type == 19 ? 2 : 0) + k] | high << 8];
            for (int j = 0; j < 8; j++) q[8 * l + j] = (int8_t)(8 * (int8_t)(grid >> (8 * j)) + (minus ? -1 : 1));
        }
        for (int h = 0; h < 2; h++) {
            int k = 2 * g + h;
            uint32_t s = type == 19 ? (read_u16le(block + 34 + 2 * g) >> 12) & 7
                                    : (read_u16le(block + 48 + 2 * (k / 4)) >> (3 * (k % 4))) & 7;
            m[h] = (int32_t)(2 * s + 1);
        }
        return;
    }
}

static void iq_row_to_f32(uint32_t type, const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + iq_block_bytes(type) * b;
        float d = iq_block_d(type, block);
        for (int g = 0; g < 8; g++) {
            int8_t q[32];
            int32_t m[2];
            iq_group(type, block, g, q, m);
            float dm[2] = {d * (float)m[0] * iq_step(type), d * (float)m[1] * iq_step(type)};
            for (int j = 0; j < 32; j++) out[256 * b + 32 * g + j] = dm[j / 16] * (float)q[j];
        }
    }
}

#define DSV3_IQ_DECODER(name, type)                                                                            \
    static void name##_row_to_f32(const uint8_t *row, float *out, size_t n) { iq_row_to_f32(type, row, out, n); }
DSV3_IQ_DECODER(iq2_xxs, 16)
DSV3_IQ_DECODER(iq2_xs, 17)
DSV3_IQ_DECODER(iq3_xxs, 18)
DSV3_IQ_DECODER(iq1_s, 19)
DSV3_IQ_DECODER(iq1_m, 29)
DSV3_IQ_DECODER(iq2_s, 22)
DSV3_IQ_DECODER(iq3_s, 21)
#undef DSV3_IQ_DECODER

/* K-quants: 256-element super-blocks (gguf.md §3). */
static void q2_k_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 84 * b;
        const uint8_t *scales = block, *qs = block + 16;
        float d = f16_to_f32(read_u16le(block + 80)), dmin = f16_to_f32(read_u16le(block + 82));
        float *y = out + 256 * b;
        for (int half = 0; half < 2; half++)
            for (int shift = 0; shift < 4; shift++)
                for (int k = 0; k < 2; k++) {
                    uint8_t sc = scales[8 * half + 2 * shift + k];
                    float scale = d * (float)(sc & 0xF), min = dmin * (float)(sc >> 4);
                    for (int l = 0; l < 16; l++) {
                        int q = (qs[32 * half + 16 * k + l] >> (2 * shift)) & 3;
                        y[128 * half + 32 * shift + 16 * k + l] = scale * (float)q - min;
                    }
                }
    }
}

static void q3_k_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 110 * b;
        const uint8_t *hmask = block, *qs = block + 32, *s = block + 96;
        float d = f16_to_f32(read_u16le(block + 108));
        int scales[16];
        for (int i = 0; i < 16; i++) {
            int low = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
            int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
            scales[i] = (low | (high << 4)) - 32;
        }
        float *y = out + 256 * b;
        for (int half = 0; half < 2; half++)
            for (int shift = 0; shift < 4; shift++)
                for (int k = 0; k < 2; k++) {
                    float scale = d * (float)scales[8 * half + 2 * shift + k];
                    for (int l = 0; l < 16; l++) {
                        int q = (qs[32 * half + 16 * k + l] >> (2 * shift)) & 3;
                        if (!(hmask[16 * k + l] & (1 << (4 * half + shift)))) q -= 4;
                        y[128 * half + 32 * shift + 16 * k + l] = scale * (float)q;
                    }
                }
    }
}

/* The 6-bit scale and min of sub-block t from Q4_K/Q5_K's 12 packed bytes. */
static void k_scale_min(const uint8_t *s, int t, int *scale, int *min) {
    if (t < 4) {
        *scale = s[t] & 63;
        *min = s[t + 4] & 63;
    } else {
        *scale = (s[t + 4] & 0xF) | ((s[t - 4] >> 6) << 4);
        *min = (s[t + 4] >> 4) | ((s[t] >> 6) << 4);
    }
}

static void q4_k_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 144 * b;
        float d = f16_to_f32(read_u16le(block)), dmin = f16_to_f32(read_u16le(block + 2));
        const uint8_t *s = block + 4, *qs = block + 16;
        float *y = out + 256 * b;
        for (int c = 0; c < 4; c++) {
            int sc0, mn0, sc1, mn1;
            k_scale_min(s, 2 * c, &sc0, &mn0);
            k_scale_min(s, 2 * c + 1, &sc1, &mn1);
            for (int l = 0; l < 32; l++) {
                y[64 * c + l] = d * (float)sc0 * (float)(qs[32 * c + l] & 0xF) - dmin * (float)mn0;
                y[64 * c + 32 + l] = d * (float)sc1 * (float)(qs[32 * c + l] >> 4) - dmin * (float)mn1;
            }
        }
    }
}

static void q5_k_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 176 * b;
        float d = f16_to_f32(read_u16le(block)), dmin = f16_to_f32(read_u16le(block + 2));
        const uint8_t *s = block + 4, *qh = block + 16, *qs = block + 48;
        float *y = out + 256 * b;
        for (int c = 0; c < 4; c++) {
            int sc0, mn0, sc1, mn1;
            k_scale_min(s, 2 * c, &sc0, &mn0);
            k_scale_min(s, 2 * c + 1, &sc1, &mn1);
            for (int l = 0; l < 32; l++) {
                int q0 = (qs[32 * c + l] & 0xF) + (((qh[l] >> (2 * c)) & 1) << 4);
                int q1 = (qs[32 * c + l] >> 4) + (((qh[l] >> (2 * c + 1)) & 1) << 4);
                y[64 * c + l] = d * (float)sc0 * (float)q0 - dmin * (float)mn0;
                y[64 * c + 32 + l] = d * (float)sc1 * (float)q1 - dmin * (float)mn1;
            }
        }
    }
}

static void q6_k_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 210 * b;
        float d = f16_to_f32(read_u16le(block + 208));
        float *y = out + 256 * b;
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = block + 64 * half, *qh = block + 128 + 32 * half;
            const int8_t *sc = (const int8_t *)(const void *)(block + 192 + 8 * half);
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[128 * half + l] = d * (float)sc[is] * (float)q1;
                y[128 * half + l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[128 * half + l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[128 * half + l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

/* Q8_K: f32 scale, 256 int8, 16 int16 block sums (activation format). */
static void q8_k_row_to_f32(const uint8_t *row, float *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 292 * b;
        float d = read_f32le(block);
        for (int j = 0; j < 256; j++) out[256 * b + j] = d * (float)(int8_t)block[4 + j];
    }
}

/* Reference dot product of a quantized row: decode one block at a time and
   accumulate, so the reference needs no row-sized buffer. */
#define DSV3_BLOCK_DOT(fn_name, to_f32_fn, block_elems, block_bytes)                     \
    static float fn_name(const uint8_t *row, const float *x, size_t n) {                 \
        float decoded[block_elems], sum = 0.0f;                                          \
        for (size_t b = 0; b < n / (block_elems); b++) {                                 \
            to_f32_fn(row + (block_bytes) * b, decoded, (block_elems));                  \
            sum += dot_f32_ref(decoded, x + (block_elems) * b, (block_elems));           \
        }                                                                                \
        return sum;                                                                      \
    }

static float dot_f32_ref(const float *a, const float *b, size_t n) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

DSV3_BLOCK_DOT(q4_0_row_dot, q4_0_row_to_f32, 32, 18)
DSV3_BLOCK_DOT(q4_1_row_dot, q4_1_row_to_f32, 32, 20)
DSV3_BLOCK_DOT(q5_0_row_dot, q5_0_row_to_f32, 32, 22)
DSV3_BLOCK_DOT(q5_1_row_dot, q5_1_row_to_f32, 32, 24)
DSV3_BLOCK_DOT(iq4_nl_row_dot, iq4_nl_row_to_f32, 32, 18)
DSV3_BLOCK_DOT(iq4_xs_row_dot, iq4_xs_row_to_f32, 256, 136)
DSV3_BLOCK_DOT(iq2_xxs_row_dot, iq2_xxs_row_to_f32, 256, 66)
DSV3_BLOCK_DOT(iq3_xxs_row_dot, iq3_xxs_row_to_f32, 256, 98)
DSV3_BLOCK_DOT(iq2_xs_row_dot, iq2_xs_row_to_f32, 256, 74)
DSV3_BLOCK_DOT(iq1_s_row_dot, iq1_s_row_to_f32, 256, 50)
DSV3_BLOCK_DOT(iq1_m_row_dot, iq1_m_row_to_f32, 256, 56)
DSV3_BLOCK_DOT(iq2_s_row_dot, iq2_s_row_to_f32, 256, 82)
DSV3_BLOCK_DOT(iq3_s_row_dot, iq3_s_row_to_f32, 256, 110)
DSV3_BLOCK_DOT(q2_k_row_dot, q2_k_row_to_f32, 256, 84)
DSV3_BLOCK_DOT(q3_k_row_dot, q3_k_row_to_f32, 256, 110)
DSV3_BLOCK_DOT(q4_k_row_dot, q4_k_row_to_f32, 256, 144)
DSV3_BLOCK_DOT(q5_k_row_dot, q5_k_row_to_f32, 256, 176)
DSV3_BLOCK_DOT(q6_k_row_dot, q6_k_row_to_f32, 256, 210)
DSV3_BLOCK_DOT(q8_k_row_dot, q8_k_row_to_f32, 256, 292)

/* Indexed by ggml type id (gguf.md §2). Removed ids have no layout. */
static const type_traits type_table[DSV3_TYPE_COUNT] = {
    [0] = {"F32", 1, 4, f32_row_to_f32, f32_row_dot},
    [1] = {"F16", 1, 2, f16_row_to_f32, f16_row_dot},
    [2] = {"Q4_0", 32, 18, q4_0_row_to_f32, q4_0_row_dot},
    [3] = {"Q4_1", 32, 20, q4_1_row_to_f32, q4_1_row_dot},
    [4] = {"Q4_2 (removed)", 0, 0, NULL, NULL},
    [5] = {"Q4_3 (removed)", 0, 0, NULL, NULL},
    [6] = {"Q5_0", 32, 22, q5_0_row_to_f32, q5_0_row_dot},
    [7] = {"Q5_1", 32, 24, q5_1_row_to_f32, q5_1_row_dot},
    [8] = {"Q8_0", 32, 34, q8_0_row_to_f32, q8_0_row_dot},
    [9] = {"Q8_1", 32, 36, NULL, NULL},
    [10] = {"Q2_K", 256, 84, q2_k_row_to_f32, q2_k_row_dot},
    [11] = {"Q3_K", 256, 110, q3_k_row_to_f32, q3_k_row_dot},
    [12] = {"Q4_K", 256, 144, q4_k_row_to_f32, q4_k_row_dot},
    [13] = {"Q5_K", 256, 176, q5_k_row_to_f32, q5_k_row_dot},
    [14] = {"Q6_K", 256, 210, q6_k_row_to_f32, q6_k_row_dot},
    [15] = {"Q8_K", 256, 292, q8_k_row_to_f32, q8_k_row_dot},
    [16] = {"IQ2_XXS", 256, 66, iq2_xxs_row_to_f32, iq2_xxs_row_dot},
    [17] = {"IQ2_XS", 256, 74, iq2_xs_row_to_f32, iq2_xs_row_dot},
    [18] = {"IQ3_XXS", 256, 98, iq3_xxs_row_to_f32, iq3_xxs_row_dot},
    [19] = {"IQ1_S", 256, 50, iq1_s_row_to_f32, iq1_s_row_dot},
    [20] = {"IQ4_NL", 32, 18, iq4_nl_row_to_f32, iq4_nl_row_dot},
    [21] = {"IQ3_S", 256, 110, iq3_s_row_to_f32, iq3_s_row_dot},
    [22] = {"IQ2_S", 256, 82, iq2_s_row_to_f32, iq2_s_row_dot},
    [23] = {"IQ4_XS", 256, 136, iq4_xs_row_to_f32, iq4_xs_row_dot},
    [24] = {"I8", 1, 1, NULL, NULL},
    [25] = {"I16", 1, 2, NULL, NULL},
    [26] = {"I32", 1, 4, NULL, NULL},
    [27] = {"I64", 1, 8, NULL, NULL},
    [28] = {"F64", 1, 8, NULL, NULL},
    [29] = {"IQ1_M", 256, 56, iq1_m_row_to_f32, iq1_m_row_dot},
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

/* ---- Integer dot products against 8-bit activations ---------------------
   The standard CPU approach for quantized weights (as in ggml): the activation
   vector is quantized once per product to 8-bit blocks, and each weight row is
   dotted with it in integers, the scales applied per block. Lossy types (4-6 bit
   and K-quants, and Q8_0 as ggml does) use it; F32/F16/BF16 keep the float
   path, and float_activations = 1 keeps it for every type. */

enum { ACT_NONE = 0, ACT_Q8_32 = 1, ACT_Q8_256 = 2 };

/* 32 activations: scale, sum of the quants (for the offset types), quants. */
typedef struct act_block32 {
    float d;
    int32_t sum;
    int8_t qs[32];
} act_block32;

/* 256 activations (the K-quant super-block): scale, quants, and the sums of
   each 16 quants, which apply the K-quants' per-sub-block minimums cheaply. */
typedef struct act_block256 {
    float d;
    int16_t bsums[16];
    int8_t qs[256];
} act_block256;

static size_t act_bytes(int kind, size_t n) {
    if (kind == ACT_Q8_32) return n / 32 * sizeof(act_block32);
    if (kind == ACT_Q8_256) return n / 256 * sizeof(act_block256);
    return 0;
}

/* Symmetric 8-bit quantization of each block: d = max|x| / 127. */
static float quantize_act_block(const float *x, int8_t *qs, size_t n) {
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    float d = amax / 127.0f, inv = d > 0.0f ? 1.0f / d : 0.0f;
    /* the clamp also turns NaN (from a corrupt model) into a defined value */
    for (size_t i = 0; i < n; i++) qs[i] = (int8_t)roundf(fmaxf(-127.0f, fminf(127.0f, x[i] * inv)));
    return d;
}

typedef float (*act_block_fn)(const float *x, int8_t *qs, size_t n);

/* quantize_act with a given block quantizer (the SIMD ones give the same bits) */
static void quantize_act_blocks(int kind, const float *x, void *out, size_t n, act_block_fn block_fn) {
    if (kind == ACT_Q8_32) {
        act_block32 *a = (act_block32 *)out;
        for (size_t b = 0; b < n / 32; b++) {
            a[b].d = block_fn(x + 32 * b, a[b].qs, 32);
            int32_t sum = 0;
            for (int j = 0; j < 32; j++) sum += a[b].qs[j];
            a[b].sum = sum;
        }
    } else {
        act_block256 *a = (act_block256 *)out;
        for (size_t b = 0; b < n / 256; b++) {
            a[b].d = block_fn(x + 256 * b, a[b].qs, 256);
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += a[b].qs[16 * g + j];
                a[b].bsums[g] = (int16_t)sum;
            }
        }
    }
}

static void quantize_act(int kind, const float *x, void *out, size_t n) {
    quantize_act_blocks(kind, x, out, n, quantize_act_block);
}

typedef void (*act_quantize_fn)(int kind, const float *x, void *out, size_t n);
typedef float (*act_dot_fn)(const uint8_t *row, const void *act, size_t n);

/* out[t * out_stride] = the act_dot of one row with each of n_tok (at most
   DSV3_TILE_TOKENS) tokens' activations, act_stride bytes apart; bit-identical
   to act_dot token by token. */
#define DSV3_TILE_TOKENS 8
typedef void (*act_tile_fn)(const uint8_t *row, const void *act, size_t act_stride, size_t n_tok, size_t n,
                            float *out, size_t out_stride);

/* A block of at most 16 rows (n_rows, row_bytes apart) against n_tok tokens'
   activations, act_stride bytes apart (for AMX: packed in 16-token groups of
   act_stride bytes); out[t * out_stride + r]. The scratch is the thread's
   own, 64-byte aligned. */
typedef void (*block_rows_fn)(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *acts,
                              size_t act_stride, size_t n_tok, size_t n, float *out, size_t out_stride,
                              uint8_t *scratch);

/* Two rows against one token's activations: act_dot on each, bit for bit,
   with the activation-side work shared and two independent streams. */
typedef void (*act_dot2_fn)(const uint8_t *row_a, const uint8_t *row_b, const void *act, size_t n, float *out_a,
                            float *out_b);

/* A SIMD set's kernels for a type that has a tile body: the act_tile_fn,
   which switches on the token count so each inlined body is compiled with a
   constant, and the one-token act_dot_fn (the same body with one token, so
   both give the same bits). `call(k)` expands the body for k tokens: up to 4
   here (bodies with 16 vector registers run more tokens 4 at a time), up to 8
   with DSV3_TILE_KERNELS8 (bodies with 32 registers). */
#define DSV3_TILE_DOT(target, dot_name, call)                                                                 \
    target static float dot_name(const uint8_t *row, const void *act, size_t n) {                              \
        float result, *out = &result;                                                                          \
        const uint8_t *acts = (const uint8_t *)act;                                                            \
        size_t act_stride = 0, out_stride = 0;                                                                 \
        call(1);                                                                                               \
        return result;                                                                                         \
    }
#define DSV3_TILE_KERNELS(target, tile_name, dot_name, call)                                                   \
    target static void tile_name(const uint8_t *row, const void *act, size_t act_stride, size_t n_tok, size_t n, \
                                 float *out, size_t out_stride) {                                              \
        const uint8_t *acts = (const uint8_t *)act;                                                            \
        for (; n_tok > 4; n_tok -= 4, acts += 4 * act_stride, out += 4 * out_stride) call(4);                  \
        switch (n_tok) {                                                                                       \
        case 1: call(1); break;                                                                                \
        case 2: call(2); break;                                                                                \
        case 3: call(3); break;                                                                                \
        default: call(4); break;                                                                               \
        }                                                                                                      \
    }                                                                                                          \
    DSV3_TILE_DOT(target, dot_name, call)
#define DSV3_TILE_KERNELS8(target, tile_name, dot_name, call)                                                  \
    target static void tile_name(const uint8_t *row, const void *act, size_t act_stride, size_t n_tok, size_t n, \
                                 float *out, size_t out_stride) {                                              \
        const uint8_t *acts = (const uint8_t *)act;                                                            \
        switch (n_tok) {                                                                                       \
        case 1: call(1); break;                                                                                \
        case 2: call(2); break;                                                                                \
        case 3: call(3); break;                                                                                \
        case 4: call(4); break;                                                                                \
        case 5: call(5); break;                                                                                \
        case 6: call(6); break;                                                                                \
        case 7: call(7); break;                                                                                \
        default: call(8); break;                                                                               \
        }                                                                                                      \
    }                                                                                                          \
    DSV3_TILE_DOT(target, dot_name, call)

/* An IQ type's act_tile_fn and act_dot_fn for one kernel set: body(type,
   row, acts, act_stride, n, out, out_stride, n_tok, extra) for up to 4 tokens,
   the same body with one token for act_dot (so the same bits). */
#define DSV3_IQ_TILES(target, tile_name, dot_name, body, type, extra)                                          \
    target static void tile_name(const uint8_t *row, const void *act, size_t act_stride, size_t n_tok, size_t n, \
                                 float *out, size_t out_stride) {                                              \
        const uint8_t *acts = (const uint8_t *)act;                                                            \
        for (; n_tok > 4; n_tok -= 4, acts += 4 * act_stride, out += 4 * out_stride)                           \
            body(type, row, acts, act_stride, n, out, out_stride, 4, extra);                                   \
        switch (n_tok) {                                                                                       \
        case 1: body(type, row, acts, act_stride, n, out, out_stride, 1, extra); break;                        \
        case 2: body(type, row, acts, act_stride, n, out, out_stride, 2, extra); break;                        \
        case 3: body(type, row, acts, act_stride, n, out, out_stride, 3, extra); break;                        \
        default: body(type, row, acts, act_stride, n, out, out_stride, 4, extra); break;                       \
        }                                                                                                      \
    }                                                                                                          \
    target static float dot_name(const uint8_t *row, const void *act, size_t n) {                              \
        float result;                                                                                          \
        body(type, row, (const uint8_t *)act, 0, n, &result, 0, 1, extra);                                     \
        return result;                                                                                         \
    }
/* The seven lattice types' kernels for one set */
#define DSV3_IQ_TILE_SET(target, suffix, body, extra)                                                          \
    DSV3_IQ_TILES(target, iq2_xxs_tiles_##suffix, iq2_xxs_act_dot_##suffix, body, 16, extra)                   \
    DSV3_IQ_TILES(target, iq3_xxs_tiles_##suffix, iq3_xxs_act_dot_##suffix, body, 18, extra)                   \
    DSV3_IQ_TILES(target, iq2_xs_tiles_##suffix, iq2_xs_act_dot_##suffix, body, 17, extra)                     \
    DSV3_IQ_TILES(target, iq1_s_tiles_##suffix, iq1_s_act_dot_##suffix, body, 19, extra)                       \
    DSV3_IQ_TILES(target, iq3_s_tiles_##suffix, iq3_s_act_dot_##suffix, body, 21, extra)                       \
    DSV3_IQ_TILES(target, iq2_s_tiles_##suffix, iq2_s_act_dot_##suffix, body, 22, extra)                       \
    DSV3_IQ_TILES(target, iq1_m_tiles_##suffix, iq1_m_act_dot_##suffix, body, 29, extra)
/* The kernel set's entries for the seven lattice types */
#define DSV3_IQ_SET(k, suffix)                                                                                 \
    do {                                                                                                       \
        (k)->act_dot[16] = iq2_xxs_act_dot_##suffix, (k)->act_tile[16] = iq2_xxs_tiles_##suffix;               \
        (k)->act_dot[18] = iq3_xxs_act_dot_##suffix, (k)->act_tile[18] = iq3_xxs_tiles_##suffix;               \
        (k)->act_dot[17] = iq2_xs_act_dot_##suffix, (k)->act_tile[17] = iq2_xs_tiles_##suffix;                 \
        (k)->act_dot[19] = iq1_s_act_dot_##suffix, (k)->act_tile[19] = iq1_s_tiles_##suffix;                   \
        (k)->act_dot[21] = iq3_s_act_dot_##suffix, (k)->act_tile[21] = iq3_s_tiles_##suffix;                   \
        (k)->act_dot[22] = iq2_s_act_dot_##suffix, (k)->act_tile[22] = iq2_s_tiles_##suffix;                   \
        (k)->act_dot[29] = iq1_m_act_dot_##suffix, (k)->act_tile[29] = iq1_m_tiles_##suffix;                   \
    } while (0)

/* Reference integer dots: the decoded integer quants times the activation
   quants, summed exactly in integers per (sub-)block, then scaled. */
static float q8_0_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block32 *a = (const act_block32 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 34 * b;
        const int8_t *qs = (const int8_t *)(const void *)(block + 2);
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) isum += qs[j] * a[b].qs[j];
        sum += f16_to_f32(read_u16le(block)) * a[b].d * (float)isum;
    }
    return sum;
}

static float q4_0_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block32 *a = (const act_block32 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 18 * b, *qs = block + 2;
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += ((qs[j] & 0xF) - 8) * a[b].qs[j] + ((qs[j] >> 4) - 8) * a[b].qs[j + 16];
        sum += f16_to_f32(read_u16le(block)) * a[b].d * (float)isum;
    }
    return sum;
}

static float q4_1_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block32 *a = (const act_block32 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 20 * b, *qs = block + 4;
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += (qs[j] & 0xF) * a[b].qs[j] + (qs[j] >> 4) * a[b].qs[j + 16];
        sum += f16_to_f32(read_u16le(block)) * a[b].d * (float)isum +
               f16_to_f32(read_u16le(block + 2)) * a[b].d * (float)a[b].sum;
    }
    return sum;
}

static int32_t q5_isum(const uint8_t *qs, uint32_t high, const int8_t *aq, int offset) {
    int32_t isum = 0;
    for (int j = 0; j < 16; j++) {
        int lo = ((qs[j] & 0xF) | (int)(((high >> j) & 1) << 4)) - offset;
        int hi = ((qs[j] >> 4) | (int)(((high >> (j + 16)) & 1) << 4)) - offset;
        isum += lo * aq[j] + hi * aq[j + 16];
    }
    return isum;
}

static float q5_0_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block32 *a = (const act_block32 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 22 * b;
        int32_t isum = q5_isum(block + 6, read_u32le(block + 2), a[b].qs, 16);
        sum += f16_to_f32(read_u16le(block)) * a[b].d * (float)isum;
    }
    return sum;
}

static float q5_1_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block32 *a = (const act_block32 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 24 * b;
        int32_t isum = q5_isum(block + 8, read_u32le(block + 4), a[b].qs, 0);
        sum += f16_to_f32(read_u16le(block)) * a[b].d * (float)isum +
               f16_to_f32(read_u16le(block + 2)) * a[b].d * (float)a[b].sum;
    }
    return sum;
}

static float iq4_nl_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block32 *a = (const act_block32 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 18 * b, *qs = block + 2;
        int32_t isum = 0;
        for (int j = 0; j < 16; j++)
            isum += iq4nl_values[qs[j] & 0xF] * a[b].qs[j] + iq4nl_values[qs[j] >> 4] * a[b].qs[j + 16];
        sum += f16_to_f32(read_u16le(block)) * a[b].d * (float)isum;
    }
    return sum;
}

/* Per sub-block: |isum| <= 32 * 127 * 127, times a scale of at most 32, eight
   times: below 2^28, exact in int32. */
static float iq4_xs_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block256 *a = (const act_block256 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 136 * b;
        int32_t scaled = 0;
        for (int sub = 0; sub < 8; sub++) {
            const uint8_t *qs = block + 8 + 16 * sub;
            const int8_t *aq = a[b].qs + 32 * sub;
            int32_t isum = 0;
            for (int j = 0; j < 16; j++)
                isum += iq4nl_values[qs[j] & 0xF] * aq[j] + iq4nl_values[qs[j] >> 4] * aq[j + 16];
            scaled += iq4_xs_scale(block, sub) * isum;
        }
        sum += a[b].d * f16_to_f32(read_u16le(block)) * (float)scaled;
    }
    return sum;
}

/* Per 16 elements |isum| <= 16 * 62 * 127, times m <= 31, sixteen times:
   below 2^26. */
static float iq_act_dot(uint32_t type, const uint8_t *row, const void *act, size_t n) {
    const act_block256 *a = (const act_block256 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + iq_block_bytes(type) * b;
        int32_t scaled = 0;
        for (int g = 0; g < 8; g++) {
            int8_t q[32];
            int32_t m[2], isum[2] = {0, 0};
            iq_group(type, block, g, q, m);
            for (int j = 0; j < 32; j++) isum[j / 16] += q[j] * a[b].qs[32 * g + j];
            scaled += m[0] * isum[0] + m[1] * isum[1];
        }
        sum += iq_step(type) * a[b].d * iq_block_d(type, block) * (float)scaled;
    }
    return sum;
}

#define DSV3_IQ_DOT(name, type)                                                                                \
    static float name##_act_dot(const uint8_t *row, const void *act, size_t n) { return iq_act_dot(type, row, act, n); }
DSV3_IQ_DOT(iq2_xxs, 16)
DSV3_IQ_DOT(iq2_xs, 17)
DSV3_IQ_DOT(iq3_xxs, 18)
DSV3_IQ_DOT(iq1_s, 19)
DSV3_IQ_DOT(iq1_m, 29)
DSV3_IQ_DOT(iq2_s, 22)
DSV3_IQ_DOT(iq3_s, 21)
#undef DSV3_IQ_DOT

static float q2_k_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block256 *a = (const act_block256 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 84 * b, *scales = block, *qs = block + 16;
        int32_t scaled = 0, mins = 0;
        for (int half = 0; half < 2; half++)
            for (int shift = 0; shift < 4; shift++)
                for (int k = 0; k < 2; k++) {
                    int sub = 8 * half + 2 * shift + k; /* 16 elements starting at 16 * sub */
                    int32_t isum = 0;
                    for (int l = 0; l < 16; l++)
                        isum += ((qs[32 * half + 16 * k + l] >> (2 * shift)) & 3) * a[b].qs[16 * sub + l];
                    scaled += (scales[sub] & 0xF) * isum;
                    mins += (scales[sub] >> 4) * a[b].bsums[sub];
                }
        sum += a[b].d * (f16_to_f32(read_u16le(block + 80)) * (float)scaled -
                         f16_to_f32(read_u16le(block + 82)) * (float)mins);
    }
    return sum;
}

static float q3_k_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block256 *a = (const act_block256 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 110 * b, *hmask = block, *qs = block + 32, *s = block + 96;
        int32_t scaled = 0;
        for (int half = 0; half < 2; half++)
            for (int shift = 0; shift < 4; shift++)
                for (int k = 0; k < 2; k++) {
                    int sub = 8 * half + 2 * shift + k;
                    int low = sub < 8 ? (s[sub] & 0xF) : (s[sub - 8] >> 4);
                    int scale = (low | (((s[8 + sub % 4] >> (2 * (sub / 4))) & 3) << 4)) - 32;
                    int32_t isum = 0;
                    for (int l = 0; l < 16; l++) {
                        int q = (qs[32 * half + 16 * k + l] >> (2 * shift)) & 3;
                        if (!(hmask[16 * k + l] & (1 << (4 * half + shift)))) q -= 4;
                        isum += q * a[b].qs[16 * sub + l];
                    }
                    scaled += scale * isum;
                }
        sum += a[b].d * f16_to_f32(read_u16le(block + 108)) * (float)scaled;
    }
    return sum;
}

/* Q4_K and Q5_K share their layout but for Q5_K's fifth bits (qh). */
static float q4_q5_k_act_dot(const uint8_t *row, const void *act, size_t n, int five_bits) {
    const act_block256 *a = (const act_block256 *)act;
    size_t block_bytes = five_bits ? 176 : 144;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + block_bytes * b, *s = block + 4;
        const uint8_t *qh = block + 16, *qs = five_bits ? block + 48 : block + 16;
        int32_t scaled = 0, mins = 0;
        for (int t = 0; t < 8; t++) { /* 32-element sub-blocks */
            int sc, mn;
            k_scale_min(s, t, &sc, &mn);
            const uint8_t *q = qs + 32 * (t / 2);
            int32_t isum = 0;
            for (int l = 0; l < 32; l++) {
                int v = t % 2 ? q[l] >> 4 : q[l] & 0xF;
                if (five_bits) v += ((qh[l] >> t) & 1) << 4;
                isum += v * a[b].qs[32 * t + l];
            }
            scaled += sc * isum;
            mins += mn * (a[b].bsums[2 * t] + a[b].bsums[2 * t + 1]);
        }
        sum += a[b].d * (f16_to_f32(read_u16le(block)) * (float)scaled -
                         f16_to_f32(read_u16le(block + 2)) * (float)mins);
    }
    return sum;
}

static float q4_k_act_dot(const uint8_t *row, const void *act, size_t n) { return q4_q5_k_act_dot(row, act, n, 0); }
static float q5_k_act_dot(const uint8_t *row, const void *act, size_t n) { return q4_q5_k_act_dot(row, act, n, 1); }

static float q6_k_act_dot(const uint8_t *row, const void *act, size_t n) {
    const act_block256 *a = (const act_block256 *)act;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 210 * b;
        const int8_t *sc = (const int8_t *)(const void *)(block + 192);
        int32_t scaled = 0;
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = block + 64 * half, *qh = block + 128 + 32 * half;
            const int8_t *aq = a[b].qs + 128 * half;
            int32_t isum[8] = {0}; /* per 16-element group, scale index order */
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                isum[is + 0] += (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32) * aq[l];
                isum[is + 2] += (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * aq[l + 32];
                isum[is + 4] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * aq[l + 64];
                isum[is + 6] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * aq[l + 96];
            }
            for (int j = 0; j < 8; j++) scaled += sc[8 * half + j] * isum[j];
        }
        sum += a[b].d * f16_to_f32(read_u16le(block + 208)) * (float)scaled;
    }
    return sum;
}

/* Which activation format each weight type pairs with, and its reference dot. */
static const struct {
    int kind;
    act_dot_fn dot;
} act_table[DSV3_TYPE_COUNT] = {
    [8] = {ACT_Q8_32, q8_0_act_dot},
    [2] = {ACT_Q8_32, q4_0_act_dot},   [3] = {ACT_Q8_32, q4_1_act_dot},   [6] = {ACT_Q8_32, q5_0_act_dot},
    [7] = {ACT_Q8_32, q5_1_act_dot},   [20] = {ACT_Q8_32, iq4_nl_act_dot},   [23] = {ACT_Q8_256, iq4_xs_act_dot},
    [16] = {ACT_Q8_256, iq2_xxs_act_dot},   [18] = {ACT_Q8_256, iq3_xxs_act_dot},
    [17] = {ACT_Q8_256, iq2_xs_act_dot},    [19] = {ACT_Q8_256, iq1_s_act_dot},     [29] = {ACT_Q8_256, iq1_m_act_dot},
    [21] = {ACT_Q8_256, iq3_s_act_dot},     [22] = {ACT_Q8_256, iq2_s_act_dot},
    [10] = {ACT_Q8_256, q2_k_act_dot}, [11] = {ACT_Q8_256, q3_k_act_dot}, [12] = {ACT_Q8_256, q4_k_act_dot},
    [13] = {ACT_Q8_256, q5_k_act_dot}, [14] = {ACT_Q8_256, q6_k_act_dot},
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
enum { GGUF_TOKEN_NORMAL = 1, GGUF_TOKEN_UNKNOWN = 2, GGUF_TOKEN_CONTROL = 3, GGUF_TOKEN_USER_DEFINED = 4,
       GGUF_TOKEN_UNUSED = 5, GGUF_TOKEN_BYTE = 6 };

enum { PRE_DEEPSEEK_V3 = 1, PRE_DEEPSEEK_LLM = 2 };
enum { CHAT_STYLE_V3 = 1, CHAT_STYLE_R1 = 2, CHAT_STYLE_V31 = 3 };

static int text_contains(const char *text, size_t len, const char *what) {
    size_t n = strlen(what);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(text + i, what, n) == 0) return 1;
    return 0;
}

/* Which DeepSeek template a file's chat_template is: V3.1's opens answers
   with <｜Assistant｜></think>; R1's mentions </think>; else V3's. */
static int chat_style_of(const char *tmpl, size_t len) {
    if (text_contains(tmpl, len, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c></think>")) return CHAT_STYLE_V31;
    if (text_contains(tmpl, len, "</think>")) return CHAT_STYLE_R1;
    return CHAT_STYLE_V3;
}

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
        int32_t type = GGUF_TOKEN_NORMAL;
        if (types) type = (int32_t)read_u32le(types->value + 4 * (size_t)i);
        if (type < GGUF_TOKEN_NORMAL || type > GGUF_TOKEN_BYTE) type = GGUF_TOKEN_NORMAL;
        v->types[i] = (uint8_t)type;
        v->offsets[i] = (uint32_t)o;
        if (type == GGUF_TOKEN_NORMAL || type == GGUF_TOKEN_BYTE) {
            /* in place is safe: decoding only ever shrinks */
            memcpy(v->text + o, s.ptr, s.len);
            o += alphabet_decode(v->text + o, s.len, v->text + o);
        } else {
            memcpy(v->text + o, s.ptr, s.len);
            o += s.len;
            if ((type == GGUF_TOKEN_CONTROL || type == GGUF_TOKEN_USER_DEFINED) && s.len) special_bytes += s.len;
        }
    }
    v->offsets[n] = (uint32_t)o;
    for (uint32_t i = 0; i < n; i++) {
        if (v->types[i] != GGUF_TOKEN_NORMAL && v->types[i] != GGUF_TOKEN_BYTE) continue;
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
                if (v->types[i] != GGUF_TOKEN_NORMAL && token_len(v, (int32_t)i) == want_len &&
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
        if ((v->types[i] != GGUF_TOKEN_CONTROL && v->types[i] != GGUF_TOKEN_USER_DEFINED) || len == 0) continue;
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
       for the answer; V3's does neither (dsv3-tokenizer.md §5.3); V3.1's
       opens the answer with <｜Assistant｜></think> (its non-thinking mode). */
    gguf_str tmpl = {"", 0};
    if ((st = meta_string(g, "tokenizer.chat_template", &tmpl, &found, err))) return st;
    v->chat_style = chat_style_of(tmpl.ptr, tmpl.len);
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
        if (t >= 0 && (parse_special || v->types[t] == GGUF_TOKEN_USER_DEFINED)) {
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
    if (type == GGUF_TOKEN_NORMAL || type == GGUF_TOKEN_BYTE || type == GGUF_TOKEN_USER_DEFINED || render_special)
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

/* ==== 6. Scalar reference kernels (private) ============================= */
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
    row_dot_fn dot;      /* this type's float dot product, chosen at load */
    int act_kind;        /* ACT_*: activations are quantized for act_dot */
    act_dot_fn act_dot;  /* integer dot against quantized activations */
    act_tile_fn act_tile; /* the same for a few tokens at once, or NULL */
    act_dot2_fn act_dot2; /* the same for two rows at once, or NULL */
    int act_dot_prefetches; /* act_dot fetches its rows ahead itself */
    block_rows_fn block_rows; /* a batch in blocks of 16 rows (VNNI or AMX), or NULL */
    act_quantize_fn quantize_act;
} tensor_view;

static const uint8_t *view_row(const tensor_view *w, size_t row) { return w->data + row * w->row_bytes; }

/* out[r] = W[first_row + r] . x,  W rows of length ne[0] = len(x).
   With act_scratch (room for act_bytes of one row) and a weight type that pairs
   with 8-bit activations, x is quantized once and the integer dot is used. */
static void matvec(const tensor_view *w, size_t first_row, size_t n_rows, const float *x, float *out,
                   uint8_t *act_scratch) {
    size_t n = (size_t)w->ne[0];
    if (w->act_kind && act_scratch) {
        w->quantize_act(w->act_kind, x, act_scratch, n);
        for (size_t r = 0; r < n_rows; r++) out[r] = w->act_dot(view_row(w, first_row + r), act_scratch, n);
        return;
    }
    row_dot_fn dot = w->dot;
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

/* RMSNorm's arithmetic on a float weight (the sum of squares in double). */
static void rmsnorm_f32(float *out, const float *x, const float *w, size_t n, float eps) {
    double sum_sq = 0.0;
    for (size_t i = 0; i < n; i++) sum_sq += (double)x[i] * x[i];
    float inv = (float)(1.0 / sqrt(sum_sq / (double)n + eps));
    for (size_t i = 0; i < n; i++) out[i] = x[i] * inv * w[i];
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

/* a * b + c rounded once, as IEEE 754 fusedMultiplyAdd. MinGW-w64's fmaf is
   not fused (it differs from the true result in about a quarter of random
   float triples), so there it is done in double: the product of two floats is
   exact in double, TwoSum gives the sum's rounding error, and rounding the
   double sum to odd before the final rounding to float makes that rounding
   single (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
   proved algorithms using rounding to odd", 2008). */
static float fused_mul_add(float a, float b, float c) {
#if defined(__MINGW32__) && !defined(__FMA__)
    double product = (double)a * b, sum = product + c;
    double c_part = sum - product;
    double error = (product - (sum - c_part)) + (c - c_part);
    if (error != 0 && isfinite(sum)) {
        uint64_t bits;
        memcpy(&bits, &sum, sizeof bits);
        if (!(bits & 1)) {
            if ((error > 0) == (sum > 0)) bits++; /* away from zero, towards the exact sum */
            else bits--;
        }
        memcpy(&sum, &bits, sizeof bits);
    }
    return (float)sum;
#else
    return fmaf(a, b, c);
#endif
}

/* KV cache rows in the element type chosen at context creation: one row per
   position and layer holds the latent c_kv then the rope key k_pe (DeepSeek-V3
   report eq. 1-3), as F32, F16, BF16 or GGUF Q8_0 blocks. In Q8_0 each part
   is zero-padded to whole 32-element blocks, so the rope key never shares a
   block scale with the (normalised, far smaller) latent. */
static void quantize_row_q8_0(const float *x, uint8_t *out, size_t n);

static uint32_t kv_gguf_type(int32_t kv_type) {
    static const uint32_t gguf[] = {0, 1, 30, 8}; /* F32, F16, BF16, Q8_0 */
    return gguf[kv_type];
}

/* Where the rope key starts in a row of n_lat latent values. */
static size_t kv_rope_offset(int32_t kv_type, size_t n_lat) {
    return kv_type == DSV3_KV_Q8_0 ? (n_lat + 31) / 32 * 32 : n_lat;
}

/* Elements of a cached row, padding included. */
static size_t kv_row_elements(int32_t kv_type, size_t n_lat, size_t n_rope) {
    return kv_rope_offset(kv_type, n_lat) + (kv_type == DSV3_KV_Q8_0 ? (n_rope + 31) / 32 * 32 : n_rope);
}

static size_t kv_row_size(int32_t kv_type, size_t n_lat, size_t n_rope) {
    size_t n = kv_row_elements(kv_type, n_lat, n_rope);
    return kv_type == DSV3_KV_Q8_0 ? n / 32 * 34 : n * (kv_type == DSV3_KV_F32 ? 4 : 2);
}

/* Stores n_lat latent values then n_rope rope values (contiguous in src) as a
   cache row; pad holds kv_row_elements floats. */
static void kv_store(uint8_t *dst, int32_t kv_type, const float *src, size_t n_lat, size_t n_rope, float *pad) {
    size_t width = n_lat + n_rope;
    switch (kv_type) {
    case DSV3_KV_F32: memcpy(dst, src, width * sizeof(float)); break;
    case DSV3_KV_F16:
        for (size_t i = 0; i < width; i++) store_u16le(dst + 2 * i, f32_to_f16(src[i]));
        break;
    case DSV3_KV_BF16:
        for (size_t i = 0; i < width; i++) store_u16le(dst + 2 * i, f32_to_bf16(src[i]));
        break;
    default: {
        size_t n = kv_row_elements(kv_type, n_lat, n_rope), rope = kv_rope_offset(kv_type, n_lat);
        for (size_t i = 0; i < n; i++) pad[i] = 0.0f;
        memcpy(pad, src, n_lat * sizeof(float));
        memcpy(pad + rope, src + n_lat, n_rope * sizeof(float));
        quantize_row_q8_0(pad, dst, n);
    }
    }
}

/* Element j of a cache row, as the SIMD kernels decode it (Q8_0: scale times level). */
static float kv_element(const uint8_t *row, int32_t kv_type, size_t j) {
    switch (kv_type) {
    case DSV3_KV_F32: {
        float v;
        memcpy(&v, row + 4 * j, sizeof v);
        return v;
    }
    case DSV3_KV_F16: return f16_to_f32(read_u16le(row + 2 * j));
    case DSV3_KV_BF16: return bf16_to_f32(read_u16le(row + 2 * j));
    default: {
        const uint8_t *block = row + j / 32 * 34;
        return f16_to_f32(read_u16le(block)) * (float)(int8_t)block[2 + j % 32];
    }
    }
}

/* MLA scores of one token's heads against cached rows in the absorbed form
   (DeepSeek-V2 report §2.1.3: W_UK folded into the query): out[h][t] = q[h] .
   row_t over `width` elements, where q[h] = [W_UK^T q_nope ; RoPE(q_pe)]
   matches the row's [c_kv ; k_pe] (zero where a Q8_0 row is padded). The
   attention scale is applied by the softmax. */
static void kv_scores(const float *q, size_t q_stride, size_t n_heads, const uint8_t *rows, size_t row_bytes,
                      size_t n_rows, size_t width, int32_t kv_type, float *out, size_t out_stride) {
    for (size_t t = 0; t < n_rows; t++) {
        const uint8_t *row = rows + t * row_bytes;
        for (size_t h = 0; h < n_heads; h++) out[h * out_stride + t] = 0.0f;
        for (size_t j = 0; j < width; j++) {
            float x = kv_element(row, kv_type, j);
            for (size_t h = 0; h < n_heads; h++) out[h * out_stride + t] += q[h * q_stride + j] * x;
        }
    }
}

/* Outputs [j, n) of one head's weighted sum of cached rows (kv_mix): each
   one chain of fused multiply-adds over the rows in order. */
static void kv_mix_columns(float *o, const float *p, const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t j,
                           size_t n, int32_t kv_type) {
    for (; j < n; j++) {
        float acc = 0.0f;
        for (size_t t = 0; t < n_rows; t++) acc = fused_mul_add(p[t], kv_element(rows + t * row_bytes, kv_type, j), acc);
        o[j] = acc;
    }
}

/* The weighted sum of the same rows' latents: o[h][j] = sum_t p[h][t] row_t[j]
   for j < n, each output one chain of fused multiply-adds over t in order, so
   the SIMD twins give the same bits. */
static void kv_mix(float *o, size_t o_stride, size_t n_heads, const float *p, size_t p_stride, const uint8_t *rows,
                   size_t row_bytes, size_t n_rows, size_t n, int32_t kv_type) {
    for (size_t h = 0; h < n_heads; h++)
        kv_mix_columns(o + h * o_stride, p + h * p_stride, rows, row_bytes, n_rows, 0, n, kv_type);
}

/* ==== 7. SIMD kernels and dispatch (private) ============================ */
/* Twins of the scalar kernels above, chosen once at load from what the CPU
   supports (x86: AVX2 + FMA + F16C through per-function target attributes, so
   one binary runs on any x86-64). Build with DSV3_NO_SIMD for scalar only.
   They sum in a different order, so they agree with the reference to rounding. */

typedef struct kernel_set {
    const char *name;
    row_dot_fn row_dot[DSV3_TYPE_COUNT]; /* NULL: type not implemented */
    act_dot_fn act_dot[DSV3_TYPE_COUNT]; /* NULL: the type keeps the float path */
    act_tile_fn act_tile[DSV3_TYPE_COUNT]; /* NULL: act_dot per token */
    act_dot2_fn act_dot2[DSV3_TYPE_COUNT]; /* NULL: act_dot per row */
    unsigned char act_dot_prefetches[DSV3_TYPE_COUNT]; /* 1: act_dot prefetches (DSV3_PREFETCH_BLOCK) */
    block_rows_fn block_rows[DSV3_TYPE_COUNT]; /* NULL: batches through act_tile */
    int block_rows_packed;                   /* block_rows wants amx_pack_group's layout */
    size_t block_rows_min_tokens;            /* fewer tokens go through act_tile (faster there) */
    act_quantize_fn quantize_act;          /* activations for act_dot */
    row_to_f32_fn to_f32[DSV3_TYPE_COUNT]; /* dequantization (the KV cache's F16/BF16 rows) */
    void (*axpy_f32)(float *y, float a, const float *x, size_t n);
    void (*kv_scores)(const float *q, size_t q_stride, size_t n_heads, const uint8_t *rows, size_t row_bytes,
                      size_t n_rows, size_t width, int32_t kv_type, float *out, size_t out_stride);
    void (*kv_mix)(float *o, size_t o_stride, size_t n_heads, const float *p, size_t p_stride, const uint8_t *rows,
                   size_t row_bytes, size_t n_rows, size_t n, int32_t kv_type);
    void (*gemm_f32)(float *out, size_t out_stride, const float *a, size_t a_stride, const float *w,
                     size_t w_stride, size_t m, size_t k, size_t n, int accumulate);
    float (*softmax_online)(float *s, size_t n_valid, size_t n, float scale, float *max, float *sum);
    void (*rmsnorm_f32)(float *out, const float *x, const float *w, size_t n, float eps);
    void (*softmax)(float *x, size_t n);
    void (*swiglu)(float *gate, const float *up, size_t n);
    void (*rope_rotate)(float *v, const float *cos_sin, size_t n_pairs);
} kernel_set;

/* RMSNorm: out = x * w / sqrt(mean(x^2) + eps) (DeepSeek-V3 report §2.1). The
   weight is a vector of any supported type; weight_scratch holds n floats. */
static void rmsnorm(const kernel_set *k, float *out, const float *x, const tensor_view *weight, size_t n, float eps,
                    float *weight_scratch) {
    /* aligned F32 weights (the usual) are used in place (hosts are little-endian) */
    const float *w = (const float *)(const void *)weight->data;
    if (weight->type != 0 || ((uintptr_t)weight->data & 3) != 0) {
        k->to_f32[weight->type](weight->data, weight_scratch, n);
        w = weight_scratch;
    }
    k->rmsnorm_f32(out, x, w, n, eps);
}

static void axpy_f32(float *y, float a, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* out[i][c] = (accumulate ? out[i][c] : 0) + sum_r a[i][r] * w[r][c] over
   i < m, c < n, r < k (row-major, strides in floats): the float matrix product
   of batched attention. Each output is one chain of fused multiply-adds over r
   in order, so the SIMD twins, which tile rows and columns, give the same bits. */
static void gemm_f32(float *out, size_t out_stride, const float *a, size_t a_stride, const float *w, size_t w_stride,
                     size_t m, size_t k, size_t n, int accumulate) {
    for (size_t i = 0; i < m; i++)
        for (size_t c = 0; c < n; c++) {
            float acc = accumulate ? out[i * out_stride + c] : 0.0f;
            for (size_t r = 0; r < k; r++) acc = fused_mul_add(a[i * a_stride + r], w[r * w_stride + c], acc);
            out[i * out_stride + c] = acc;
        }
}

/* softmax_online from element j on, with the block max m and the sum of the
   first j probabilities already found (the SIMD twins do those in vectors). */
static float softmax_online_tail(float *s, size_t j, size_t n_valid, size_t n, float scale, float m, float block,
                                 float *max, float *sum) {
    for (; j < n_valid; j++) {
        s[j] = expf(s[j] * scale - m);
        block += s[j];
    }
    for (; j < n; j++) s[j] = 0.0f;
    float correction = expf(*max - m);
    *sum = *sum * correction + block;
    *max = m;
    return correction;
}

/* One block of an online softmax (flash attention; Milakov & Gimelshein 2018):
   s[0, n_valid) are raw scores, multiplied by `scale`; s[n_valid, n) are masked.
   Raises the running max, writes the block's unnormalised probabilities
   exp(scale * s - max) (0 where masked), adds them to the running sum and
   returns exp(old max - new max), the factor earlier partial sums need. */
static float softmax_online(float *s, size_t n_valid, size_t n, float scale, float *max, float *sum) {
    float m = *max;
    for (size_t j = 0; j < n_valid; j++) m = fmaxf(m, s[j] * scale);
    return softmax_online_tail(s, 0, n_valid, n, scale, m, 0.0f, max, sum);
}

static void kernels_scalar(kernel_set *k) {
    memset(k, 0, sizeof *k);
    k->name = "scalar";
    for (uint32_t t = 0; t < DSV3_TYPE_COUNT; t++) {
        k->row_dot[t] = type_table[t].dot;
        k->act_dot[t] = act_table[t].dot;
        k->to_f32[t] = type_table[t].to_f32;
    }
    k->quantize_act = quantize_act;
    k->axpy_f32 = axpy_f32;
    k->kv_scores = kv_scores;
    k->kv_mix = kv_mix;
    k->gemm_f32 = gemm_f32;
    k->softmax_online = softmax_online;
    k->rmsnorm_f32 = rmsnorm_f32;
    k->softmax = softmax;
    k->swiglu = swiglu;
    k->rope_rotate = rope_rotate;
}

/* GCC and clang compile the AVX2 functions for AVX2 through a target attribute
   while the rest of the file stays baseline x86-64; MSVC compiles intrinsics
   for any ISA without one. Either way they run only after cpu_has_avx2(). */
#if !defined(DSV3_NO_SIMD) && (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#  define DSV3_HAVE_AVX2 1
#  include <cpuid.h>
#  include <immintrin.h>
#  define DSV3_AVX2 __attribute__((target("avx2,fma,f16c")))
#elif !defined(DSV3_NO_SIMD) && (defined(_M_X64) || defined(_M_IX86)) && defined(_MSC_VER)
#  define DSV3_HAVE_AVX2 1
#  include <intrin.h>
#  include <immintrin.h>
#  define DSV3_AVX2
#else
#  define DSV3_HAVE_AVX2 0
#endif
#if !DSV3_HAVE_AVX2
#  define DSV3_HAVE_AVX512 0
#  define DSV3_HAVE_AVXVNNI 0
#  define DSV3_HAVE_VNNI_ROWS 0
#endif

#if DSV3_HAVE_AVX2

/* One binary16 through F16C: exact, like f16_to_f32, without its branches. */
DSV3_AVX2 static float f16c_to_f32(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

DSV3_AVX2 static float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

DSV3_AVX2 static float hmax256(__m256 v) {
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}

DSV3_AVX2 static float dot_f32_avx2(const float *a, const float *b, size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float sum = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

DSV3_AVX2 static void axpy_f32_avx2(float *y, float a, const float *x, size_t n) {
    __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

/* e^x on 8 lanes: x = k ln 2 + r with |r| <= ln 2 / 2, e^r by Cephes' degree-6
   polynomial (expf's), 2^k through the exponent bits. Within 1 ulp of glibc's
   expf over [-87.3, 88.7] (measured at 1.4e8 points, the NEON twin too); below
   -87.3 (subnormal results) it gives 0, above 88.7 3.3e38; NaN stays NaN. */
DSV3_AVX2 static __m256 exp_avx2(__m256 x) {
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    __m256 clamped = _mm256_max_ps(_mm256_set1_ps(-87.3f), _mm256_min_ps(_mm256_set1_ps(88.7f), x));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, ln2_lo, _mm256_fnmadd_ps(k, ln2_hi, clamped));
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 e_r = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    /* 2^k: k is in [-126, 128]; 2^128 overflows to infinity in two steps */
    __m256i k_int = _mm256_cvtps_epi32(k);
    __m256i half_k = _mm256_srai_epi32(k_int, 1);
    __m256 two_a = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half_k, _mm256_set1_epi32(127)), 23));
    __m256 two_b = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(k_int, half_k), _mm256_set1_epi32(127)), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(e_r, two_a), two_b);
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); /* NaN in, NaN out */
}

DSV3_AVX2 static void rmsnorm_f32_avx2(float *out, const float *x, const float *w, size_t n, float eps) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        acc0 = _mm256_fmadd_pd(lo, lo, acc0);
        acc1 = _mm256_fmadd_pd(hi, hi, acc1);
    }
    __m256d acc = _mm256_add_pd(acc0, acc1);
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    double sum_sq = _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    for (; i < n; i++) sum_sq += (double)x[i] * x[i];
    float inv = (float)(1.0 / sqrt(sum_sq / (double)n + eps));
    __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) out[i] = x[i] * inv * w[i];
}

DSV3_AVX2 static void softmax_avx2(float *x, size_t n) {
    size_t i = 0;
    float max = x[0];
    if (n >= 8) {
        __m256 m = _mm256_loadu_ps(x);
        for (i = 8; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
        max = hmax256(m);
    }
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    __m256 vmax = _mm256_set1_ps(max);
    __m256d sum0 = _mm256_setzero_pd(), sum1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, e);
        sum0 = _mm256_add_pd(sum0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        sum1 = _mm256_add_pd(sum1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    __m256d acc = _mm256_add_pd(sum0, sum1);
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    __m256 vinv = _mm256_set1_ps((float)(1.0 / sum));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++) x[i] *= (float)(1.0 / sum);
}

/* The tail goes through the vector code too (padded), so an element's bits do
   not depend on where a thread's range of rows starts or ends. */
DSV3_AVX2 static void swiglu_avx2(float *gate, const float *up, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    for (size_t i = 0; i < n; i += 8) {
        float g_tail[8] = {0}, u_tail[8] = {0};
        size_t len = n - i < 8 ? n - i : 8;
        float *g_at = len == 8 ? gate + i : g_tail;
        const float *u_at = len == 8 ? up + i : u_tail;
        if (len < 8) {
            memcpy(g_tail, gate + i, len * sizeof(float));
            memcpy(u_tail, up + i, len * sizeof(float));
        }
        __m256 g = _mm256_loadu_ps(g_at);
        __m256 sig = _mm256_div_ps(one, _mm256_add_ps(one, exp_avx2(_mm256_xor_ps(g, sign))));
        _mm256_storeu_ps(g_at, _mm256_mul_ps(_mm256_mul_ps(g, sig), _mm256_loadu_ps(u_at)));
        if (len < 8) memcpy(gate + i, g_tail, len * sizeof(float));
    }
}

/* (a, b) -> (a c - b s, a s + b c) on 4 pairs at once: fmaddsub subtracts in
   the even lanes and adds in the odd ones. */
DSV3_AVX2 static void rope_rotate_avx2(float *v, const float *cos_sin, size_t n_pairs) {
    size_t i = 0;
    for (; i + 4 <= n_pairs; i += 4) {
        __m256 ab = _mm256_loadu_ps(v + 2 * i), cs = _mm256_loadu_ps(cos_sin + 2 * i);
        __m256 c = _mm256_moveldup_ps(cs), s = _mm256_movehdup_ps(cs);
        __m256 ba = _mm256_permute_ps(ab, 0xB1);
        _mm256_storeu_ps(v + 2 * i, _mm256_fmaddsub_ps(ab, c, _mm256_mul_ps(ba, s)));
    }
    rope_rotate(v + 2 * i, cos_sin + 2 * i, n_pairs - i);
}

/* Eight elements of a cache row from element j on, as floats: the values
   kv_element gives (a Q8_0 level times its block's scale, one rounding). */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256 kv_load8_avx2(const uint8_t *row, size_t j, int32_t kv_type) {
    switch (kv_type) {
    case DSV3_KV_F32: return _mm256_loadu_ps((const float *)(const void *)row + j);
    case DSV3_KV_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(row + 2 * j)));
    case DSV3_KV_BF16: {
        __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(row + 2 * j));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    default: {
        const uint8_t *block = row + j / 32 * 34;
        __m128i levels = _mm_loadl_epi64((const __m128i *)(const void *)(block + 2 + j % 32));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(levels)),
                             _mm256_set1_ps(_cvtsh_ss(read_u16le(block))));
    }
    }
}

/* Scores of nh heads x nt rows (constants once inlined) held in registers:
   each row chunk decoded once feeds every head of the tile. A (head, row)
   pair gets the same operations in any tile shape, so how heads or rows are
   grouped never changes a score. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void kv_scores_tile_avx2(const float *q, size_t q_stride, const uint8_t *rows,
                                                                    size_t row_bytes, size_t width, int32_t kv_type,
                                                                    float *out, size_t out_stride, int nh, int nt) {
    __m256 acc[4][2];
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) acc[i][t] = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= width; j += 8) {
        __m256 x[2];
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) x[t] = kv_load8_avx2(rows + t * row_bytes, j, kv_type);
        DSV3_UNROLL
        for (int i = 0; i < nh; i++) {
            __m256 qv = _mm256_loadu_ps(q + i * q_stride + j);
            DSV3_UNROLL
            for (int t = 0; t < nt; t++) acc[i][t] = _mm256_fmadd_ps(qv, x[t], acc[i][t]);
        }
    }
    for (int i = 0; i < nh; i++)
        for (int t = 0; t < nt; t++) {
            float tail = 0.0f;
            for (size_t e = j; e < width; e++) tail += q[i * q_stride + e] * kv_element(rows + t * row_bytes, kv_type, e);
            out[i * out_stride + t] = hsum256(acc[i][t]) + tail;
        }
}

DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void kv_scores_avx2_typed(const float *q, size_t q_stride, size_t n_heads,
                                                                     const uint8_t *rows, size_t row_bytes,
                                                                     size_t n_rows, size_t width, int32_t kv_type,
                                                                     float *out, size_t out_stride) {
    size_t h = 0;
    for (; h + 4 <= n_heads; h += 4) {
        size_t t = 0;
        for (; t + 2 <= n_rows; t += 2)
            kv_scores_tile_avx2(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type,
                                out + h * out_stride + t, out_stride, 4, 2);
        for (; t < n_rows; t++)
            kv_scores_tile_avx2(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type,
                                out + h * out_stride + t, out_stride, 4, 1);
    }
    for (; h < n_heads; h++) {
        size_t t = 0;
        for (; t + 2 <= n_rows; t += 2)
            kv_scores_tile_avx2(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type,
                                out + h * out_stride + t, out_stride, 1, 2);
        for (; t < n_rows; t++)
            kv_scores_tile_avx2(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type,
                                out + h * out_stride + t, out_stride, 1, 1);
    }
}

DSV3_AVX2 static void kv_scores_avx2(const float *q, size_t q_stride, size_t n_heads, const uint8_t *rows,
                                     size_t row_bytes, size_t n_rows, size_t width, int32_t kv_type, float *out,
                                     size_t out_stride) {
    switch (kv_type) {
    case DSV3_KV_F32: kv_scores_avx2_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_F32, out, out_stride); break;
    case DSV3_KV_F16: kv_scores_avx2_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_F16, out, out_stride); break;
    case DSV3_KV_BF16: kv_scores_avx2_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_BF16, out, out_stride); break;
    default: kv_scores_avx2_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_Q8_0, out, out_stride); break;
    }
}

/* nh heads x nc chunks of 8 outputs held in registers over all rows: each
   output one FMA chain over the rows in order, as the reference. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void kv_mix_tile_avx2(float *o, size_t o_stride, const float *p,
                                                                 size_t p_stride, const uint8_t *rows,
                                                                 size_t row_bytes, size_t n_rows, size_t j,
                                                                 int32_t kv_type, int nh, int nc) {
    __m256 acc[4][2];
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) acc[i][c] = _mm256_setzero_ps();
    for (size_t t = 0; t < n_rows; t++) {
        __m256 x[2];
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) x[c] = kv_load8_avx2(rows + t * row_bytes, j + 8 * c, kv_type);
        DSV3_UNROLL
        for (int i = 0; i < nh; i++) {
            __m256 w = _mm256_broadcast_ss(p + i * p_stride + t);
            DSV3_UNROLL
            for (int c = 0; c < nc; c++) acc[i][c] = _mm256_fmadd_ps(w, x[c], acc[i][c]);
        }
    }
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) _mm256_storeu_ps(o + i * o_stride + j + 8 * c, acc[i][c]);
}

DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void kv_mix_avx2_typed(float *o, size_t o_stride, size_t n_heads,
                                                                  const float *p, size_t p_stride,
                                                                  const uint8_t *rows, size_t row_bytes,
                                                                  size_t n_rows, size_t n, int32_t kv_type) {
    for (size_t h = 0; h < n_heads;) {
        int nh = n_heads - h >= 4 ? 4 : 1;
        size_t j = 0;
        for (; j + 16 <= n; j += 16) {
            if (nh == 4) kv_mix_tile_avx2(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 4, 2);
            else kv_mix_tile_avx2(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 1, 2);
        }
        for (; j + 8 <= n; j += 8) {
            if (nh == 4) kv_mix_tile_avx2(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 4, 1);
            else kv_mix_tile_avx2(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 1, 1);
        }
        for (int i = 0; i < nh; i++)
            kv_mix_columns(o + (h + i) * o_stride, p + (h + i) * p_stride, rows, row_bytes, n_rows, j, n, kv_type);
        h += (size_t)nh;
    }
}

DSV3_AVX2 static void kv_mix_avx2(float *o, size_t o_stride, size_t n_heads, const float *p, size_t p_stride,
                                  const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n, int32_t kv_type) {
    switch (kv_type) {
    case DSV3_KV_F32: kv_mix_avx2_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_F32); break;
    case DSV3_KV_F16: kv_mix_avx2_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_F16); break;
    case DSV3_KV_BF16: kv_mix_avx2_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_BF16); break;
    default: kv_mix_avx2_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_Q8_0); break;
    }
}

/* gemm_f32 for `rows` (1-4, a constant once inlined) rows of a: tiles of rows
   x 16 columns held in registers over all of k, then 8 columns, then single
   columns; every output one FMA chain over r in order, as the reference. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void gemm_rows_avx2(float *out, size_t out_stride, const float *a,
                                                               size_t a_stride, const float *w, size_t w_stride,
                                                               size_t k, size_t n, int accumulate, int rows) {
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        __m256 acc[4][2];
        DSV3_UNROLL
        for (int i = 0; i < rows; i++) {
            acc[i][0] = accumulate ? _mm256_loadu_ps(out + i * out_stride + c) : _mm256_setzero_ps();
            acc[i][1] = accumulate ? _mm256_loadu_ps(out + i * out_stride + c + 8) : _mm256_setzero_ps();
        }
        for (size_t r = 0; r < k; r++) {
            __m256 w0 = _mm256_loadu_ps(w + r * w_stride + c), w1 = _mm256_loadu_ps(w + r * w_stride + c + 8);
            DSV3_UNROLL
            for (int i = 0; i < rows; i++) {
                __m256 x = _mm256_broadcast_ss(a + i * a_stride + r);
                acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
            }
        }
        DSV3_UNROLL
        for (int i = 0; i < rows; i++) {
            _mm256_storeu_ps(out + i * out_stride + c, acc[i][0]);
            _mm256_storeu_ps(out + i * out_stride + c + 8, acc[i][1]);
        }
    }
    for (; c + 8 <= n; c += 8) {
        __m256 acc[4];
        DSV3_UNROLL
        for (int i = 0; i < rows; i++)
            acc[i] = accumulate ? _mm256_loadu_ps(out + i * out_stride + c) : _mm256_setzero_ps();
        for (size_t r = 0; r < k; r++) {
            __m256 w0 = _mm256_loadu_ps(w + r * w_stride + c);
            DSV3_UNROLL
            for (int i = 0; i < rows; i++) acc[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(a + i * a_stride + r), w0, acc[i]);
        }
        DSV3_UNROLL
        for (int i = 0; i < rows; i++) _mm256_storeu_ps(out + i * out_stride + c, acc[i]);
    }
    /* the last columns: the reference itself (the same FMA chains) */
    gemm_f32(out + c, out_stride, a, a_stride, w + c, w_stride, (size_t)rows, k, n - c, accumulate);
}

DSV3_AVX2 static void gemm_f32_avx2(float *out, size_t out_stride, const float *a, size_t a_stride, const float *w,
                                    size_t w_stride, size_t m, size_t k, size_t n, int accumulate) {
    size_t i = 0;
    for (; i + 4 <= m; i += 4)
        gemm_rows_avx2(out + i * out_stride, out_stride, a + i * a_stride, a_stride, w, w_stride, k, n, accumulate, 4);
    for (; i < m; i++)
        gemm_rows_avx2(out + i * out_stride, out_stride, a + i * a_stride, a_stride, w, w_stride, k, n, accumulate, 1);
}

DSV3_AVX2 static float softmax_online_avx2(float *s, size_t n_valid, size_t n, float scale, float *max, float *sum) {
    __m256 vscale = _mm256_set1_ps(scale), vm = _mm256_set1_ps(*max);
    size_t j = 0;
    for (; j + 8 <= n_valid; j += 8) vm = _mm256_max_ps(vm, _mm256_mul_ps(_mm256_loadu_ps(s + j), vscale));
    float m = hmax256(vm);
    for (; j < n_valid; j++) m = fmaxf(m, s[j] * scale);
    __m256 acc = _mm256_setzero_ps();
    vm = _mm256_set1_ps(m);
    for (j = 0; j + 8 <= n_valid; j += 8) {
        __m256 e = exp_avx2(_mm256_fmsub_ps(_mm256_loadu_ps(s + j), vscale, vm));
        _mm256_storeu_ps(s + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    return softmax_online_tail(s, j, n_valid, n, scale, m, hsum256(acc), max, sum);
}

DSV3_AVX2 static float f32_row_dot_avx2(const uint8_t *row, const float *x, size_t n) {
    return dot_f32_avx2((const float *)(const void *)row, x, n);
}

DSV3_AVX2 static float f16_row_dot_avx2(const uint8_t *row, const float *x, size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(row + 2 * i)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(row + 2 * i + 16)));
        acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), acc0);
        acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), acc1);
    }
    float sum = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) sum += f16c_to_f32(read_u16le(row + 2 * i)) * x[i];
    return sum;
}

DSV3_AVX2 static __m256 bf16x8_to_f32(const uint8_t *p) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

DSV3_AVX2 static float bf16_row_dot_avx2(const uint8_t *row, const float *x, size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(bf16x8_to_f32(row + 2 * i), _mm256_loadu_ps(x + i), acc0);
        acc1 = _mm256_fmadd_ps(bf16x8_to_f32(row + 2 * i + 16), _mm256_loadu_ps(x + i + 8), acc1);
    }
    float sum = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) sum += bf16_to_f32(read_u16le(row + 2 * i)) * x[i];
    return sum;
}

DSV3_AVX2 static void f16_row_to_f32_avx2(const uint8_t *row, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(row + 2 * i))));
    for (; i < n; i++) out[i] = f16c_to_f32(read_u16le(row + 2 * i));
}

DSV3_AVX2 static void bf16_row_to_f32_avx2(const uint8_t *row, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, bf16x8_to_f32(row + 2 * i));
    for (; i < n; i++) out[i] = bf16_to_f32(read_u16le(row + 2 * i));
}

DSV3_AVX2 static __m256 i8x8_to_f32(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}

DSV3_AVX2 static float q8_0_row_dot_avx2(const uint8_t *row, const float *x, size_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 34 * b;
        const float *xb = x + 32 * b;
        __m256 s = _mm256_mul_ps(i8x8_to_f32(block + 2), _mm256_loadu_ps(xb));
        s = _mm256_fmadd_ps(i8x8_to_f32(block + 10), _mm256_loadu_ps(xb + 8), s);
        s = _mm256_fmadd_ps(i8x8_to_f32(block + 18), _mm256_loadu_ps(xb + 16), s);
        s = _mm256_fmadd_ps(i8x8_to_f32(block + 26), _mm256_loadu_ps(xb + 24), s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16c_to_f32(read_u16le(block))), s, acc);
    }
    return hsum256(acc);
}

/* quantize_act_block on 8 lanes, bit for bit: the same max, the same product
   and clamp (min/max order makes NaN clamp to 127 as fminf does), and roundf's
   ties away from zero built from truncation, as the rounding instructions only
   offer ties to even. n is a multiple of 32. */
DSV3_AVX2 static float quantize_act_block_avx2(const float *x, int8_t *qs, size_t n) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 amax = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) amax = _mm256_max_ps(_mm256_andnot_ps(sign_bit, _mm256_loadu_ps(x + i)), amax);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    float d = _mm_cvtss_f32(m) / 127.0f, inv = d > 0.0f ? 1.0f / d : 0.0f;
    const __m256 vinv = _mm256_set1_ps(inv), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 32) {
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 v = _mm256_max_ps(_mm256_min_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), vinv), hi), lo);
            __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign_bit, _mm256_sub_ps(v, t)), half, _CMP_GE_OQ);
            __m256 step = _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(v, sign_bit), one));
            q[k] = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
        }
        /* the packs interleave 128-bit lanes; one permute restores the order */
        __m256i q16 = _mm256_packs_epi32(q[0], q[1]), q16b = _mm256_packs_epi32(q[2], q[3]);
        __m256i q8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q16, q16b),
                                                 _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(void *)(qs + i), q8);
    }
    return d;
}

DSV3_AVX2 static void quantize_act_avx2(int kind, const float *x, void *out, size_t n) {
    quantize_act_blocks(kind, x, out, n, quantize_act_block_avx2);
}

/* Integer dots on AVX2: _mm256_maddubs_epi16 multiplies the unsigned weight
   quants by the signed activation quants and adds neighbouring pairs into 16-bit
   lanes (no overflow: |pair| <= 2 * 63 * 127), _mm256_madd_epi16 applies 16-bit
   scales and widens to 32 bits. Offsets (Q4_0's 8, Q6_K's 32) and K-quant
   minimums are applied through the activation sums. */
/* The 32-element legacy types (Q4_0, Q4_1, Q5_0, Q5_1): 16 bytes of nibbles
   (elements j and j + 16), for Q5 a 32-bit word of fifth bits (bit j for
   element j), a scale d and for Q4_1/Q5_1 a minimum m:
   w = d * (q - offset) + m. sum(w * y) = d * (sum(q * y) - offset * sum(y))
   + m * sum(y), with sum(y) from the activation block. The layout arguments
   are constants in every caller. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline float legacy32_act_dot_avx2(const uint8_t *row, const void *act, size_t n,
                                                                      size_t block_bytes, int has_min, int five_bits,
                                                                      int offset) {
    const act_block32 *a = (const act_block32 *)act;
    const __m256i low_nibbles = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    /* byte i of the fifth-bit word for element i: bytes 0-7 from byte 0, ... */
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
                                            3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const size_t qs_at = 2 + (has_min ? 2 : 0) + (five_bits ? 4 : 0);
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + block_bytes * b;
        __m128i packed = _mm_loadu_si128((const __m128i *)(const void *)(block + qs_at));
        __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low_nibbles);
        if (five_bits) {
            __m256i high = _mm256_shuffle_epi8(_mm256_set1_epi32((int)read_u32le(block + qs_at - 4)), spread);
            __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(high, bit), bit);
            q = _mm256_or_si256(q, _mm256_and_si256(set, _mm256_set1_epi8(16)));
        }
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)a[b].qs);
        __m256 isum = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(q, y), ones));
        float scale = f16c_to_f32(read_u16le(block)) * a[b].d;
        float constant = (has_min ? f16c_to_f32(read_u16le(block + 2)) * a[b].d : 0.0f) - (float)offset * scale;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(scale), isum, acc);
        acc = _mm256_add_ps(acc, _mm256_setr_ps(constant * (float)a[b].sum, 0, 0, 0, 0, 0, 0, 0));
    }
    return hsum256(acc);
}

DSV3_AVX2 static float q4_0_act_dot_avx2(const uint8_t *row, const void *act, size_t n) {
    return legacy32_act_dot_avx2(row, act, n, 18, 0, 0, 8);
}

DSV3_AVX2 static float q4_1_act_dot_avx2(const uint8_t *row, const void *act, size_t n) {
    return legacy32_act_dot_avx2(row, act, n, 20, 1, 0, 0);
}

DSV3_AVX2 static float q5_0_act_dot_avx2(const uint8_t *row, const void *act, size_t n) {
    return legacy32_act_dot_avx2(row, act, n, 22, 0, 1, 16);
}

DSV3_AVX2 static float q5_1_act_dot_avx2(const uint8_t *row, const void *act, size_t n) {
    return legacy32_act_dot_avx2(row, act, n, 24, 1, 1, 0);
}

/* maddubs needs one unsigned operand: |w| times y carrying w's sign */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void q8_0_tile_avx2(const uint8_t *row, const uint8_t *act,
                                                               size_t act_stride, size_t n, float *out,
                                                               size_t out_stride, int n_tok) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 34 * b;
        __m256i w = _mm256_loadu_si256((const __m256i *)(const void *)(block + 2));
        __m256i w_abs = _mm256_sign_epi8(w, w);
        /* the weight scale in every lane: d * da is then one vector multiply
           by da broadcast from memory (the same single rounding as a scalar) */
        __m256 d = _mm256_cvtph_ps(_mm_set1_epi16((short)read_u16le(block)));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block32 *a = (const act_block32 *)(const void *)(act + act_stride * t) + b;
            __m256i y = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(const void *)a->qs), w);
            __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, y), ones);
            __m256 scale = _mm256_mul_ps(d, _mm256_broadcast_ss(&a->d));
            acc[t] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot), acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

/* Q4_K's 12 packed bytes of 6-bit scales and mins (gguf.md §3) as 8 scale
   bytes then 8 min bytes, in registers (k_scale_min's unpacking, all at once).
   Reads 16 bytes: the four after the scales are the block's own quants. */
DSV3_AVX2 static __m128i q4_k_scales_mins(const uint8_t *packed) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)packed);
    /* scales 0-3, 4-7 and mins 0-3, 4-7 take their low bits from bytes 0-3, 8-11,
       4-7, 8-11 (high nibbles for mins 4-7) and their top bits from bytes 0-3, 4-7 */
    __m128i low = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
    __m128i top = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7));
    low = _mm_blend_epi16(low, _mm_srli_epi16(low, 4), 0xC0);
    low = _mm_and_si128(low, _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
    top = _mm_and_si128(_mm_srli_epi16(top, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    return _mm_or_si128(low, top);
}

/* Each min of Q4_K/Q5_K covers two 16-element activation sums: the mins as
   16-bit lanes, each twice, to multiply with the sums directly. */
DSV3_AVX2 static __m256i q4_k_mins_twice(__m128i scales_mins) {
    return _mm256_cvtepu8_epi16(
        _mm_shuffle_epi8(scales_mins, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
}

/* isum + the 16-bit pairs of p times the 16-bit scales s, pairwise summed:
   two instructions on AVX2, one (vpdpwssd) with AVX-512 VNNI. */
typedef __m256i (*scaled_pairs_fn)(__m256i isum, __m256i p, __m256i s);

DSV3_AVX2 static inline __m256i scaled_pairs_avx2(__m256i isum, __m256i p, __m256i s) {
    return _mm256_add_epi32(isum, _mm256_madd_epi16(p, s));
}

/* Q4_K and Q5_K share their layout but for Q5_K's fifth bits (qh). n_rows
   weight rows (1, or 2 for one token) against n_tok (1..4) tokens'
   activations; out[r][t * out_stride]. Every (row, token) pair gets the float
   operations of the one-row, one-token case, so all shapes agree bit for bit.
   The callers pass constants for the shape, five_bits and scaled_pairs, so
   each inlined copy is specialised. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void q4_q5_k_tile_avx2(const uint8_t *const *rows, int n_rows,
                                                                  const uint8_t *act, size_t act_stride, size_t n,
                                                                  float *const *out, size_t out_stride, int n_tok,
                                                                  int five_bits, scaled_pairs_fn scaled_pairs) {
    const __m256i low_nibbles = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    const size_t block_bytes = five_bits ? 176 : 144;
    __m256 acc[2][4];
    DSV3_UNROLL
    for (int r = 0; r < n_rows; r++) {
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) acc[r][t] = _mm256_setzero_ps();
    }
    for (size_t b = 0; b < n / 256; b++) {
        __m128i scales_mins[2];
        __m256i scales16[2], high[2], isum[2][4], isum_hi[2];
        DSV3_UNROLL
        for (int r = 0; r < n_rows; r++) {
            const uint8_t *block = rows[r] + block_bytes * b;
            scales_mins[r] = q4_k_scales_mins(block + 4);
            /* 16-bit scales, each repeated over the two lanes of a 128-bit half */
            scales16[r] = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(scales_mins[r], scales_mins[r]));
            high[r] = five_bits ? _mm256_loadu_si256((const __m256i *)(const void *)(block + 16))
                                : _mm256_setzero_si256();
            isum_hi[r] = _mm256_setzero_si256();
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) isum[r][t] = _mm256_setzero_si256();
        }
        DSV3_UNROLL
        for (int c = 0; c < 4; c++) {
            DSV3_UNROLL
            for (int r = 0; r < n_rows; r++) {
                const uint8_t *qs = rows[r] + block_bytes * b + (five_bits ? 48 : 16);
                __m256i packed = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * c));
                __m256i lo = _mm256_and_si256(packed, low_nibbles);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
                if (five_bits) { /* sub-block t takes its fifth bit from bit t of qh */
                    __m256i h = high[r];
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c), one), 4));
                    hi = _mm256_or_si256(hi,
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c + 1), one), 4));
                }
                __m256i s_lo = _mm256_shuffle_epi8(scales16[r], _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * c))));
                __m256i s_hi =
                    _mm256_shuffle_epi8(scales16[r], _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * c + 1))));
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs + 64 * c;
                    __m256i y_lo = _mm256_loadu_si256((const __m256i *)(const void *)y);
                    __m256i y_hi = _mm256_loadu_si256((const __m256i *)(const void *)(y + 32));
                    isum[r][t] = scaled_pairs(isum[r][t], _mm256_maddubs_epi16(lo, y_lo), s_lo);
                    /* one token: a second chain halves the wait on each accumulate */
                    if (n_tok == 1) isum_hi[r] = scaled_pairs(isum_hi[r], _mm256_maddubs_epi16(hi, y_hi), s_hi);
                    else isum[r][t] = scaled_pairs(isum[r][t], _mm256_maddubs_epi16(hi, y_hi), s_hi);
                }
            }
        }
        DSV3_UNROLL
        for (int r = 0; r < n_rows; r++) {
            __m256i mins16 = q4_k_mins_twice(scales_mins[r]);
            __m128 d_dmin = _mm_cvtph_ps(_mm_cvtsi32_si128((int)read_u32le(rows[r] + block_bytes * b)));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
                __m256i min_dot = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)(const void *)a->bsums));
                __m128 scale = _mm_mul_ps(d_dmin, _mm_set1_ps(a->d)); /* d * da, dmin * da */
                __m256i total = n_tok == 1 ? _mm256_add_epi32(isum[r][0], isum_hi[r]) : isum[r][t];
                acc[r][t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(scale), _mm256_cvtepi32_ps(total), acc[r][t]);
                acc[r][t] = _mm256_fnmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(scale)),
                                             _mm256_cvtepi32_ps(min_dot), acc[r][t]);
            }
        }
    }
    DSV3_UNROLL
    for (int r = 0; r < n_rows; r++) {
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) out[r][out_stride * t] = hsum256(acc[r][t]);
    }
}

/* act_dot2_fn entries: the tile body with two rows and one token */
#define DSV3_Q4_Q5_K_DOT2(target, name, five_bits, pairs)                                                  \
    target static void name(const uint8_t *row_a, const uint8_t *row_b, const void *act, size_t n, float *out_a, \
                            float *out_b) {                                                              \
        const uint8_t *rows[2] = {row_a, row_b};                                                         \
        float *outs[2] = {out_a, out_b};                                                                 \
        q4_q5_k_tile_avx2(rows, 2, (const uint8_t *)act, 0, n, outs, 0, 1, five_bits, pairs);            \
    }
DSV3_Q4_Q5_K_DOT2(DSV3_AVX2, q4_k_act_dot2_avx2, 0, scaled_pairs_avx2)

DSV3_Q4_Q5_K_DOT2(DSV3_AVX2, q5_k_act_dot2_avx2, 1, scaled_pairs_avx2)

/* 32 IQ4 weights as signed bytes: the table looked up by the 16 bytes'
   low nibbles (the first 16 weights) and high nibbles (the last 16). */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i iq4_lookup_avx2(__m256i table2, const uint8_t *packed16) {
    __m128i packed = _mm_loadu_si128((const __m128i *)(const void *)packed16);
    __m256i idx = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0F));
    return _mm256_shuffle_epi8(table2, idx);
}

DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i iq4_table_avx2(void) {
    const __m128i table = _mm_loadu_si128((const __m128i *)(const void *)iq4nl_values);
    return _mm256_set_m128i(table, table);
}

/* IQ4_NL: per block the table lookup; maddubs wants an unsigned operand, so
   |q| times y with q's sign. n_tok <= 4. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void iq4_nl_tile_avx2(const uint8_t *row, const uint8_t *act,
                                                                 size_t act_stride, size_t n, float *out,
                                                                 size_t out_stride, int n_tok) {
    const __m256i table2 = iq4_table_avx2(), ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 18 * b;
        __m256i q = iq4_lookup_avx2(table2, block + 2), magnitudes = _mm256_sign_epi8(q, q);
        float dw = f16c_to_f32(read_u16le(block));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block32 *a = (const act_block32 *)(const void *)(act + act_stride * t) + b;
            __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)a->qs);
            __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(y, q)), ones);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a->d), _mm256_cvtepi32_ps(dot), acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

/* IQ4_XS: per sub-block IQ4_NL's table lookup, the 16-bit pair sums
   multiplied by the sub-block's scale in the same vpmaddwd; one float
   multiply-add per super-block. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void iq4_xs_tile_avx2(const uint8_t *row, const uint8_t *act,
                                                                 size_t act_stride, size_t n, float *out,
                                                                 size_t out_stride, int n_tok) {
    const __m256i table2 = iq4_table_avx2();
    __m256 acc[4];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 136 * b;
        __m256i isum[4];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm256_setzero_si256();
        for (int sub = 0; sub < 8; sub++) {
            __m256i q = iq4_lookup_avx2(table2, block + 8 + 16 * sub), magnitudes = _mm256_sign_epi8(q, q);
            __m256i scale = _mm256_set1_epi16((short)iq4_xs_scale(block, sub));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
                __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(a->qs + 32 * sub));
                __m256i p = _mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(y, q));
                isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, scale));
            }
        }
        float dw = f16c_to_f32(read_u16le(block));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(a->d * dw), _mm256_cvtepi32_ps(isum[t]), acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}
#define DSV3_IQ4_NL_TILE(k) iq4_nl_tile_avx2(row, acts, act_stride, n, out, out_stride, k)
#define DSV3_IQ4_XS_TILE(k) iq4_xs_tile_avx2(row, acts, act_stride, n, out, out_stride, k)
DSV3_TILE_KERNELS(DSV3_AVX2, iq4_nl_tiles_avx2, iq4_nl_act_dot_avx2, DSV3_IQ4_NL_TILE)
DSV3_TILE_KERNELS(DSV3_AVX2, iq4_xs_tiles_avx2, iq4_xs_act_dot_avx2, DSV3_IQ4_XS_TILE)
#undef DSV3_IQ4_NL_TILE
#undef DSV3_IQ4_XS_TILE

/* ---- IQ lattice types on AVX2: 32 weights at a time as signed bytes ----
   iq_group's integer form (d * m * step * q) in vectors: the group's grid
   entries side by side (scalar loads; a gather is no faster on Zen and slower
   on Intel since the Downfall microcode), negated where its 32 sign bits say.
   Per token the magnitudes are vpmaddubsw's unsigned operand and the
   activations take q's signs (|q| <= 62 and |y| <= 127: the pair sums fit 16
   bits), then the 16-bit pairs are scaled by m in vpmaddwd (vpdpwssd). */

/* byte j of the result: 0xFF where bit j of bits is set */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i iq_sign_mask_avx2(uint32_t bits) {
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303ll, 0x0202020202020202ll, 0x0101010101010101ll, 0);
    const __m256i bit_of_byte = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i repeated = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(repeated, bit_of_byte), bit_of_byte);
}

/* magnitudes negated where the bits say: (w ^ -1) - (-1) = -w */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i iq_signed_avx2(__m256i magnitudes, uint32_t bits) {
    __m256i negative = iq_sign_mask_avx2(bits);
    return _mm256_sub_epi8(_mm256_xor_si256(magnitudes, negative), negative);
}

DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i iq_grid64_avx2(const uint64_t *grid, uint32_t i0, uint32_t i1,
                                                                  uint32_t i2, uint32_t i3) {
    return _mm256_set_epi64x((long long)grid[i3], (long long)grid[i2], (long long)grid[i1], (long long)grid[i0]);
}

DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i iq_grid32_avx2(const uint32_t *grid, const uint32_t i[8]) {
    return _mm256_set_epi32((int)grid[i[7]], (int)grid[i[6]], (int)grid[i[5]], (int)grid[i[4]], (int)grid[i[3]],
                            (int)grid[i[2]], (int)grid[i[1]], (int)grid[i[0]]);
}

/* Group g of a block as iq_group decodes it: q returned, m[0] and m[1] the
   multipliers of its two halves. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i iq_group_avx2(uint32_t type, const uint8_t *block, int g,
                                                                 int32_t m[2]) {
    switch (type) {
    case 16: { /* IQ2_XXS: 4 grid bytes, then 4 x 7 sign bits and the scale */
        const uint8_t *k = block + 2 + 8 * g;
        uint32_t aux = read_u32le(k + 4);
        m[0] = m[1] = (int32_t)(2 * (aux >> 28) + 1);
        return iq_signed_avx2(iq_grid64_avx2(iq2xxs_grid, k[0], k[1], k[2], k[3]), iq2_sign_bits(aux));
    }
    case 18: { /* IQ3_XXS: 8 grid bytes; signs and scales after all of them */
        const uint8_t *k = block + 2 + 8 * g;
        uint32_t aux = read_u32le(block + 66 + 4 * g), i[8];
        DSV3_UNROLL
        for (int e = 0; e < 8; e++) i[e] = k[e];
        m[0] = m[1] = (int32_t)(2 * (aux >> 28) + 1);
        return iq_signed_avx2(iq_grid32_avx2(iq3xxs_grid, i), iq2_sign_bits(aux));
    }
    case 17: { /* IQ2_XS: four 16-bit words of 9-bit index and 7 sign bits */
        uint64_t w = read_u64le(block + 2 + 8 * g);
        uint32_t fields = (uint32_t)((w >> 9 & 0x7F) | (w >> 25 & 0x7F) << 7 | (w >> 41 & 0x7F) << 14 | (w >> 57) << 21);
        m[0] = 2 * (block[66 + g] & 15) + 1;
        m[1] = 2 * (block[66 + g] >> 4) + 1;
        return iq_signed_avx2(iq_grid64_avx2(iq2xs_grid, (uint32_t)w & 511, (uint32_t)(w >> 16) & 511,
                                             (uint32_t)(w >> 32) & 511, (uint32_t)(w >> 48) & 511),
                              iq2_sign_bits(fields));
    }
    case 22: { /* IQ2_S: 10-bit indices (2 high bits each in one byte), sign bytes */
        const uint8_t *k = block + 2 + 4 * g;
        uint32_t high = block[66 + g];
        m[0] = 2 * (block[74 + g] & 15) + 1;
        m[1] = 2 * (block[74 + g] >> 4) + 1;
        return iq_signed_avx2(iq_grid64_avx2(iq2s_grid, k[0] | (high << 8 & 0x300), k[1] | (high << 6 & 0x300),
                                             k[2] | (high << 4 & 0x300), k[3] | (high << 2 & 0x300)),
                              read_u32le(block + 34 + 4 * g));
    }
    case 21: { /* IQ3_S: 9-bit indices of 4 elements, sign bytes */
        const uint8_t *k = block + 2 + 8 * g;
        uint32_t high = block[66 + g], i[8];
        DSV3_UNROLL
        for (int e = 0; e < 8; e++) i[e] = k[e] | ((high >> e) & 1) << 8;
        m[0] = m[1] = 2 * ((block[106 + g / 2] >> (4 * (g % 2))) & 15) + 1;
        return iq_signed_avx2(iq_grid32_avx2(iq3s_grid, i), read_u32le(block + 74 + 4 * g));
    }
    default: { /* IQ1_S (19), IQ1_M (29): grid values -1, 0, 1 as 8 * value +- 1 */
        uint32_t index[4], minus = 0; /* byte l: 0xFF where elements 8l.. take - 1 */
        if (type == 19) {
            uint32_t word = read_u16le(block + 34 + 2 * g);
            DSV3_UNROLL
            for (int l = 0; l < 4; l++) index[l] = block[2 + 4 * g + l] | ((word >> (3 * l)) & 7) << 8;
            minus = word >> 15 ? 0xFFFFFFFFu : 0;
            m[0] = m[1] = (int32_t)(2 * ((word >> 12) & 7) + 1);
        } else {
            uint32_t nibbles = read_u16le(block + 32 + 2 * g);
            DSV3_UNROLL
            for (int l = 0; l < 4; l++) {
                index[l] = block[4 * g + l] | ((nibbles >> (4 * l)) & 7) << 8;
                minus |= (nibbles >> (4 * l + 3) & 1) * (0xFFu << (8 * l));
            }
            uint32_t scales = read_u16le(block + 48 + 2 * (g / 2)) >> (6 * (g % 2));
            m[0] = (int32_t)(2 * (scales & 7) + 1);
            m[1] = (int32_t)(2 * ((scales >> 3) & 7) + 1);
        }
        const __m256i spread = _mm256_set_epi64x(0x0303030303030303ll, 0x0202020202020202ll, 0x0101010101010101ll, 0);
        __m256i v = iq_grid64_avx2(iq1s_grid, index[0], index[1], index[2], index[3]);
        /* 8 * v in bytes: the 16-bit shift's carries into the next byte are masked off */
        __m256i eight_v = _mm256_and_si256(_mm256_slli_epi16(v, 3), _mm256_set1_epi8((char)0xF8));
        __m256i delta = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)minus), spread), _mm256_set1_epi8(1));
        return _mm256_add_epi8(eight_v, delta);
    }
    }
}

/* One row against n_tok tokens (at most 4: 2 x 4 accumulators and the group
   fit 16 registers); every group decoded once for all of them, and each
   token given the float operations of the one-token case. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void iq_tile_avx2(uint32_t type, const uint8_t *row, const uint8_t *act,
                                                             size_t act_stride, size_t n, float *out,
                                                             size_t out_stride, int n_tok, scaled_pairs_fn scaled_pairs) {
    const int one_scale = type == 16 || type == 18 || type == 19 || type == 21; /* one m per 32 elements */
    __m256 acc[4];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + iq_block_bytes(type) * b;
        __m256i isum[4];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm256_setzero_si256();
        DSV3_UNROLL
        for (int g = 0; g < 8; g++) {
            int32_t m[2];
            __m256i q = iq_group_avx2(type, block, g, m);
            __m256i magnitudes = _mm256_sign_epi8(q, q); /* q is never 0 */
            __m256i scales = one_scale ? _mm256_set1_epi16((short)m[0])
                                       : _mm256_set_m128i(_mm_set1_epi16((short)m[1]), _mm_set1_epi16((short)m[0]));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
                __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(a->qs + 32 * g));
                isum[t] = scaled_pairs(isum[t], _mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(y, q)), scales);
            }
        }
        float d = iq_step(type) * f16c_to_f32(iq_block_d_half(type, block));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * a->d), _mm256_cvtepi32_ps(isum[t]), acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

DSV3_IQ_TILE_SET(DSV3_AVX2, avx2, iq_tile_avx2, scaled_pairs_avx2)


/* Q2_K and Q3_K: for each half n and shift j, the 32 bytes qs[32n..] shifted
   right by 2j give the quants of elements 128n + 32j .. +31, whose scales are
   sub-blocks 8n + 2j (first 16) and 8n + 2j + 1 (last 16): with the 16-bit
   scales of sub-blocks 8n..8n+7 in both 128-bit lanes, one byte shuffle
   spreads the pair over the two lanes. */
DSV3_AVX2 static __m256i pair_scales(__m256i half_scales, int j) {
    const short lo = (short)(0x0100 + 0x0202 * (2 * j)), hi = (short)(0x0100 + 0x0202 * (2 * j + 1));
    return _mm256_shuffle_epi8(half_scales, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
}

/* Q2_K: scales and mins are the nibbles of 16 bytes; the mins apply through
   the activations' 16-element sums. n_tok and scaled_pairs are constants in
   every caller; each token gets the float operations of the one-token case. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void q2_k_tile_avx2(const uint8_t *row, const uint8_t *act,
                                                               size_t act_stride, size_t n, float *out,
                                                               size_t out_stride, int n_tok,
                                                               scaled_pairs_fn scaled_pairs) {
    const __m256i three = _mm256_set1_epi8(3);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    __m256 acc[4];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 84 * b, *qs = block + 16;
        __m128i sc8 = _mm_loadu_si128((const __m128i *)(const void *)block);
        __m256i scales16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, nibble));
        __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), nibble));
        __m256i isum[4];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm256_setzero_si256();
        DSV3_UNROLL
        for (int half = 0; half < 2; half++) {
            __m256i bytes = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * half));
            __m256i half_scales = half ? _mm256_permute2x128_si256(scales16, scales16, 0x11)
                                       : _mm256_permute2x128_si256(scales16, scales16, 0x00);
            DSV3_UNROLL
            for (int j = 0; j < 4; j++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * j), three);
                __m256i s = pair_scales(half_scales, j);
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs;
                    __m256i yv = _mm256_loadu_si256((const __m256i *)(const void *)(y + 128 * half + 32 * j));
                    isum[t] = scaled_pairs(isum[t], _mm256_maddubs_epi16(q, yv), s);
                }
            }
        }
        __m128 d_dmin = _mm_cvtph_ps(_mm_cvtsi32_si128((int)read_u32le(block + 80)));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            __m256i min_dot = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)(const void *)a->bsums));
            __m128 scale = _mm_mul_ps(d_dmin, _mm_set1_ps(a->d)); /* d * da, dmin * da */
            acc[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(scale), _mm256_cvtepi32_ps(isum[t]), acc[t]);
            acc[t] = _mm256_fnmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(scale)), _mm256_cvtepi32_ps(min_dot),
                                      acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

/* Q3_K's 16 signed 6-bit scales (gguf.md §3: low nibbles of bytes 0-7, then
   their high nibbles; top two bits from bytes 8-11, two per sub-block group)
   as 16-bit lanes. Reads exactly the 12 bytes. */
DSV3_AVX2 static __m256i q3_k_scales(const uint8_t *packed) {
    uint32_t tail;
    memcpy(&tail, packed + 8, 4);
    __m128i v = _mm_insert_epi32(_mm_loadl_epi64((const __m128i *)(const void *)packed), (int)tail, 2);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    __m128i low = _mm_unpacklo_epi64(_mm_and_si128(v, nibble), _mm_and_si128(_mm_srli_epi16(v, 4), nibble));
    /* byte 8 + i % 4 shifted right by 2 * (i / 4): each 32-bit lane is one i / 4 */
    __m128i tops = _mm_shuffle_epi8(v, _mm_setr_epi8(8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11));
    tops = _mm_and_si128(_mm_srlv_epi32(tops, _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3));
    __m128i scales = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(tops, 4)), _mm_set1_epi8(32));
    return _mm256_cvtepi8_epi16(scales);
}

/* acc + d * da * (isum - 2^shift * sum(scale * activation 16-sum)): the block
   total of a type whose quants all carry an offset of -2^shift (Q3_K, Q6_K). */
DSV3_AVX2 static inline __m256 add_offset_block(__m256 acc, __m256i isum, __m256i scales16, const act_block256 *a,
                                                float d, int shift) {
    __m256i offset = _mm256_madd_epi16(scales16, _mm256_loadu_si256((const __m256i *)(const void *)a->bsums));
    __m256i total = _mm256_sub_epi32(isum, _mm256_sll_epi32(offset, _mm_cvtsi32_si128(shift)));
    return _mm256_fmadd_ps(_mm256_set1_ps(a->d * d), _mm256_cvtepi32_ps(total), acc);
}

/* Q3_K: quants are low2 - 4 * (high bit clear) = (low2 + 4 * high bit) - 4:
   multiply the unsigned low2 + 4 * high, subtract 4 * scale * block sum. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void q3_k_tile_avx2(const uint8_t *row, const uint8_t *act,
                                                               size_t act_stride, size_t n, float *out,
                                                               size_t out_stride, int n_tok,
                                                               scaled_pairs_fn scaled_pairs) {
    const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    __m256 acc[4];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 110 * b, *qs = block + 32;
        __m256i scales16 = q3_k_scales(block + 96);
        __m256i hmask = _mm256_loadu_si256((const __m256i *)(const void *)block);
        __m256i isum[4];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm256_setzero_si256();
        DSV3_UNROLL
        for (int half = 0; half < 2; half++) {
            __m256i bytes = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * half));
            __m256i half_scales = half ? _mm256_permute2x128_si256(scales16, scales16, 0x11)
                                       : _mm256_permute2x128_si256(scales16, scales16, 0x00);
            DSV3_UNROLL
            for (int j = 0; j < 4; j++) {
                __m256i low2 = _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * j), three);
                __m256i hbit = _mm256_and_si256(_mm256_srli_epi16(hmask, 4 * half + j), one);
                __m256i q = _mm256_or_si256(low2, _mm256_slli_epi16(hbit, 2));
                __m256i s = pair_scales(half_scales, j);
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs;
                    __m256i yv = _mm256_loadu_si256((const __m256i *)(const void *)(y + 128 * half + 32 * j));
                    isum[t] = scaled_pairs(isum[t], _mm256_maddubs_epi16(q, yv), s);
                }
            }
        }
        float d = f16c_to_f32(read_u16le(block + 108));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++)
            acc[t] = add_offset_block(acc[t], isum[t], scales16,
                                      (const act_block256 *)(const void *)(act + act_stride * t) + b, d, 2);
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void q6_k_tile_avx2(const uint8_t *row, const uint8_t *act,
                                                               size_t act_stride, size_t n, float *out,
                                                               size_t out_stride, int n_tok) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    __m256 acc[4];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 210 * b;
        __m128i scale_bytes = _mm_loadu_si128((const __m128i *)(const void *)(block + 192));
        __m256i isum[4];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm256_setzero_si256();
        DSV3_UNROLL
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = block + 64 * half, *qh = block + 128 + 32 * half;
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(const void *)ql);
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(const void *)(ql + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
            DSV3_UNROLL
            for (int k = 0; k < 4; k++) {
                /* lanes 0-7 hold elements 0-15 (scale 2k), lanes 8-15 elements 16-31
                   (scale 2k+1): spread those two scale bytes, then widen */
                int p = 8 * half + 2 * k;
                __m256i scales = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(
                    scale_bytes, _mm_set_epi64x(0x0101010101010101ll * (p + 1), 0x0101010101010101ll * p)));
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs;
                    __m256i yk = _mm256_loadu_si256((const __m256i *)(const void *)(y + 128 * half + 32 * k));
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yk), scales));
                }
            }
        }
        /* every quant carries -32 */
        __m256i scales16 = _mm256_cvtepi8_epi16(scale_bytes);
        float d = f16c_to_f32(read_u16le(block + 208));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++)
            acc[t] = add_offset_block(acc[t], isum[t], scales16,
                                      (const act_block256 *)(const void *)(act + act_stride * t) + b, d, 5);
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

/* CPUID leaf 1: FMA (ECX 12), OSXSAVE (27), AVX (28), F16C (29); leaf 7: AVX2
   (EBX 5); and the OS must save YMM state (XCR0 bits 1-2). */
static int cpu_has_avx2(void) {
    const unsigned leaf1 = (1u << 12) | (1u << 27) | (1u << 28) | (1u << 29);
#if defined(_MSC_VER) && !defined(__clang__)
    int r[4];
    __cpuid(r, 0);
    if (r[0] < 7) return 0;
    __cpuid(r, 1);
    if (((unsigned)r[2] & leaf1) != leaf1) return 0;
    if ((_xgetbv(0) & 6u) != 6u) return 0;
    __cpuidex(r, 7, 0);
    return ((unsigned)r[1] & (1u << 5)) != 0;
#else
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if ((c & leaf1) != leaf1) return 0;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    if ((xcr0_lo & 6u) != 6u) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0;
#endif
}

#define DSV3_Q4_K_TILE(k) q4_q5_k_tile_avx2(&row, 1, acts, act_stride, n, &out, out_stride, k, 0, scaled_pairs_avx2)
#define DSV3_Q5_K_TILE(k) q4_q5_k_tile_avx2(&row, 1, acts, act_stride, n, &out, out_stride, k, 1, scaled_pairs_avx2)
#define DSV3_Q6_K_TILE(k) q6_k_tile_avx2(row, acts, act_stride, n, out, out_stride, k)
#define DSV3_Q8_0_TILE(k) q8_0_tile_avx2(row, acts, act_stride, n, out, out_stride, k)
#define DSV3_Q2_K_TILE(k) q2_k_tile_avx2(row, acts, act_stride, n, out, out_stride, k, scaled_pairs_avx2)
#define DSV3_Q3_K_TILE(k) q3_k_tile_avx2(row, acts, act_stride, n, out, out_stride, k, scaled_pairs_avx2)
DSV3_TILE_KERNELS(DSV3_AVX2, q2_k_tiles_avx2, q2_k_act_dot_avx2, DSV3_Q2_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVX2, q3_k_tiles_avx2, q3_k_act_dot_avx2, DSV3_Q3_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVX2, q4_k_tiles_avx2, q4_k_act_dot_avx2, DSV3_Q4_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVX2, q5_k_tiles_avx2, q5_k_act_dot_avx2, DSV3_Q5_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVX2, q6_k_tiles_avx2, q6_k_act_dot_avx2, DSV3_Q6_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVX2, q8_0_tiles_avx2, q8_0_act_dot_avx2, DSV3_Q8_0_TILE)
#undef DSV3_Q2_K_TILE
#undef DSV3_Q3_K_TILE
#undef DSV3_Q4_K_TILE
#undef DSV3_Q5_K_TILE
#undef DSV3_Q6_K_TILE
#undef DSV3_Q8_0_TILE

/* ---- Row blocks: a batch's integer products in blocks of 16 weight rows ----
   The tiles decode each weight block again for every few tokens and spend a
   shuffle-and-sum epilogue per row and token; a batch of several tokens
   instead goes through blocks of 16 rows, whose quants are unpacked once into
   bytes and transposed so that each 4-byte lane holds four consecutive
   weights of one row. vpdpbusd then multiplies a vector of them with four
   activation bytes of one token broadcast from memory: the rows' sums stay in
   lanes, no shuffles, no horizontal sums (AVX2 without VNNI: vpmaddubsw,
   summed in 16 bits while no sum can overflow, then one vpmaddwd by the
   sub-block's scale; Q8_0 and the IQ4 types as 16-bit pairs through
   vpmaddwd, in a layout of their own). The layout below is shared by the AVX2 and AVX-VNNI
   kernels (which take it as two 8-row halves of 32 bytes) and the AVX-512
   VNNI ones (16 rows in 64 bytes); the weights are the unsigned
   operand (K-quant quants are unsigned, Q8_0's carry +128, taken off again
   with the activation block's sum). Sub-block sums are exact int32, scaled
   in integers, and each token then gets the scalar reference's float
   operations in its order, so results are the scalar kernels' to rounding
   and the same bits whichever rows, tokens or threads share a block. */
#  define DSV3_HAVE_VNNI_ROWS 1

/* Q8_0, per block of 32: 8 groups of 64 bytes (the 16 rows' quants + 128,
   four of each row per 4-byte lane), then the 16 rows' scales as floats. */
#  define VNNI_Q8_0_BLOCK (512 + 64)
/* Q8_0 with AVX2 alone: its signed weights need vpmaddwd on 16-bit pairs,
   not vpmaddubsw (whose 16-bit pair sums would overflow on 8-bit weights
   times 8-bit activations, and the sign trick the tiles use costs a third
   multiply-port instruction per 32 products). Per block of 32, for each
   group of 4 quants and each 8-row half: two vectors of the rows' 16-bit
   quant pairs (quants 0 and 2 of the group, then 1 and 3: what shifting
   the bytes of a 16-bit lane gives), then the 16 rows' scales as floats. */
#  define AVX2_Q8_0_BLOCK (1024 + 64)
/* IQ4_XS with AVX2 alone: its 8 sub-blocks as 8 such chunks, then d. */
#  define AVX2_IQ4_XS_BLOCK (8 * 1024 + 64)
/* Q4_K and Q6_K share a super-block layout: the 64 groups of quants
   (unsigned: Q4_K's 0-15, Q6_K's 0-63), the 16 rows' scale of each
   sub-block (8 of 32 elements, or 16 of 16) as int32, then 8 pairs of 16-bit
   factors for the activations' 16-element sums in pairs (Q4_K: each
   sub-block's minimum twice; Q6_K: two sub-blocks' scales, which take off
   the -32 every quant carries), then d and (Q4_K) dmin of the 16 rows. */
#  define VNNI_K_SUPER (4096 + 1024 + 512 + 128)

/* Scratch a thread needs for one row block of length n. */
static size_t vnni_scratch_bytes(size_t n) {
    size_t k_quants = n / 256 * AVX2_IQ4_XS_BLOCK, q8_0 = (n / 32 + 1) * AVX2_Q8_0_BLOCK;
    return k_quants > q8_0 ? k_quants : q8_0; /* the largest layouts */
}

/* r[i] holds 8 words of row i; afterwards r[j] holds word j of every row. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void transpose_8x8_epi32(__m256i r[8]) {
    __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* 32 bytes at `offset` of rows 8h..8h+7, transposed (zero past n_rows). */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void rows256_load_words(__m256i r[8], const uint8_t *rows,
                                                                      size_t row_bytes, size_t n_rows, int h,
                                                                      size_t offset) {
    DSV3_UNROLL
    for (size_t m = 0; m < 8; m++) {
        size_t row = 8 * (size_t)h + m;
        r[m] = row < n_rows ? _mm256_loadu_si256((const __m256i *)(const void *)(rows + row * row_bytes + offset))
                            : _mm256_setzero_si256();
    }
    transpose_8x8_epi32(r);
}

/* The low 16 bits of each lane as a half-precision float. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256 rows256_halves_to_f32(__m256i words) {
    words = _mm256_and_si256(words, _mm256_set1_epi32(0xFFFF));
    return _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1)));
}

/* The 16 rows' half-float scales at `offset` (0 past n_rows) as floats. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void q8_0_rows256_scales(const uint8_t *rows, size_t row_bytes,
                                                                   size_t n_rows, size_t offset, float *out) {
    uint16_t halves[16];
    for (size_t m = 0; m < 16; m++) halves[m] = m < n_rows ? read_u16le(rows + m * row_bytes + offset) : 0;
    for (int h = 0; h < 2; h++)
        _mm256_store_ps(out + 8 * h, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(halves + 8 * h))));
}

DSV3_AVX2 static void q8_0_rows256_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                             uint8_t *out) {
    const __m256i sign = _mm256_set1_epi8((char)0x80);
    for (size_t b = 0; b < n / 32; b++) {
        uint8_t *base = out + VNNI_Q8_0_BLOCK * b;
        for (int h = 0; h < 2; h++) {
            __m256i r[8];
            rows256_load_words(r, rows, row_bytes, n_rows, h, 34 * b + 2);
            DSV3_UNROLL
            for (int k = 0; k < 8; k++) _mm256_store_si256((__m256i *)(void *)(base + 64 * k + 32 * h), _mm256_xor_si256(r[k], sign));
        }
        q8_0_rows256_scales(rows, row_bytes, n_rows, 34 * b, (float *)(void *)(base + 512));
    }
}

/* Bit k (0-7) of every byte moved to bit 4, the rest cleared (as
   bit_to_4_avx512). */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i bit_to_4_avx2(__m256i v, int k) {
    __m256i moved = k <= 4 ? _mm256_slli_epi16(v, 4 - k) : _mm256_srli_epi16(v, k - 4);
    return _mm256_and_si256(moved, _mm256_set1_epi8(0x10));
}

/* Q4_K, and Q5_K in its layout (as q4_q5_k_vnni_unpack). */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void q4_q5_k_rows256_unpack(const uint8_t *rows, size_t row_bytes,
                                                                      size_t n_rows, size_t n, uint8_t *out,
                                                                      int five_bits) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const size_t block_bytes = five_bits ? 176 : 144, qs = five_bits ? 48 : 16;
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        for (int h = 0; h < 2; h++) {
            __m256i qh[8];
            if (five_bits) rows256_load_words(qh, rows, row_bytes, n_rows, h, block_bytes * b + 16);
            for (int c = 0; c < 4; c++) {
                /* word 8c + i: bytes 32c + 4i, whose low nibbles are elements
                   64c + 4i.., high nibbles 64c + 32 + 4i.. */
                __m256i r[8];
                rows256_load_words(r, rows, row_bytes, n_rows, h, block_bytes * b + qs + 32 * c);
                DSV3_UNROLL
                for (int i = 0; i < 8; i++) {
                    __m256i lo = _mm256_and_si256(r[i], low4), hi = _mm256_and_si256(_mm256_srli_epi16(r[i], 4), low4);
                    if (five_bits) {
                        lo = _mm256_or_si256(lo, bit_to_4_avx2(qh[i], 2 * c));
                        hi = _mm256_or_si256(hi, bit_to_4_avx2(qh[i], 2 * c + 1));
                    }
                    _mm256_store_si256((__m256i *)(void *)(base + 64 * (16 * c + i) + 32 * h), lo);
                    _mm256_store_si256((__m256i *)(void *)(base + 64 * (16 * c + 8 + i) + 32 * h), hi);
                }
            }
        }
        int32_t *scales = (int32_t *)(void *)(base + 4096), *min_pairs = (int32_t *)(void *)(base + 5120);
        float *d = (float *)(void *)(base + 5632);
        for (int h = 0; h < 2; h++) {
            /* the block's first 32 bytes transposed: word 0 is d and dmin,
               words 1-3 the 12 bytes of 6-bit scales and minimums (as in
               k_scale_min: sub-blocks 0-3 in the low 6 bits of bytes 0-3 and
               4-7; 4-7 in the nibbles of bytes 8-11, their top bits in bits
               6-7 of bytes 0-3 and 4-7) */
            __m256i r[8];
            rows256_load_words(r, rows, row_bytes, n_rows, h, block_bytes * b);
            const __m256i six = _mm256_set1_epi32(63), four = _mm256_set1_epi32(15), top = _mm256_set1_epi32(0x30);
            for (int j = 0; j < 4; j++) {
                __m256i sc = _mm256_and_si256(_mm256_srli_epi32(r[1], 8 * j), six);
                __m256i mn = _mm256_and_si256(_mm256_srli_epi32(r[2], 8 * j), six);
                __m256i sc_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(r[3], 8 * j), four),
                                                _mm256_and_si256(_mm256_srli_epi32(r[1], 8 * j + 2), top));
                __m256i mn_hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(r[3], 8 * j + 4), four),
                                                _mm256_and_si256(_mm256_srli_epi32(r[2], 8 * j + 2), top));
                _mm256_store_si256((__m256i *)(void *)(scales + 16 * j + 8 * h), sc);
                _mm256_store_si256((__m256i *)(void *)(scales + 16 * (j + 4) + 8 * h), sc_hi);
                _mm256_store_si256((__m256i *)(void *)(min_pairs + 16 * j + 8 * h), _mm256_or_si256(mn, _mm256_slli_epi32(mn, 16)));
                _mm256_store_si256((__m256i *)(void *)(min_pairs + 16 * (j + 4) + 8 * h),
                                   _mm256_or_si256(mn_hi, _mm256_slli_epi32(mn_hi, 16)));
            }
            _mm256_store_ps(d + 8 * h, rows256_halves_to_f32(r[0]));
            _mm256_store_ps(d + 16 + 8 * h, rows256_halves_to_f32(_mm256_srli_epi32(r[0], 16)));
        }
    }
}
DSV3_AVX2 static void q4_k_rows256_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                          uint8_t *out) {
    q4_q5_k_rows256_unpack(rows, row_bytes, n_rows, n, out, 0);
}
DSV3_AVX2 static void q5_k_rows256_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                          uint8_t *out) {
    q4_q5_k_rows256_unpack(rows, row_bytes, n_rows, n, out, 1);
}

DSV3_AVX2 static void q6_k_rows256_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                             uint8_t *out) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30);
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        for (int rh = 0; rh < 2; rh++) {
            __m256i qh[16];
            rows256_load_words(qh, rows, row_bytes, n_rows, rh, 210 * b + 128);
            rows256_load_words(qh + 8, rows, row_bytes, n_rows, rh, 210 * b + 160);
            for (int h = 0; h < 2; h++)
                for (int s = 0; s < 2; s++) {
                    /* ql word 16h + 8s + i: low nibbles are elements 128h + 32s + 4i..,
                       high nibbles 128h + 32(s + 2) + 4i..; their top bits are
                       in bits 2s and 2(s + 2) of qh word 8h + i */
                    __m256i ql[8];
                    rows256_load_words(ql, rows, row_bytes, n_rows, rh, 210 * b + 64 * h + 32 * s);
                    DSV3_UNROLL
                    for (int i = 0; i < 8; i++) {
                        __m256i top = qh[8 * h + i];
                        __m256i low_top = s ? _mm256_slli_epi16(top, 2) : _mm256_slli_epi16(top, 4);
                        __m256i high_top = s ? _mm256_srli_epi16(top, 2) : top;
                        __m256i lo = _mm256_or_si256(_mm256_and_si256(ql[i], low4), _mm256_and_si256(low_top, top2));
                        __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql[i], 4), low4),
                                                     _mm256_and_si256(high_top, top2));
                        _mm256_store_si256((__m256i *)(void *)(base + 64 * (32 * h + 8 * s + i) + 32 * rh), lo);
                        _mm256_store_si256((__m256i *)(void *)(base + 64 * (32 * h + 8 * (s + 2) + i) + 32 * rh), hi);
                    }
                }
        }
        int32_t *scales = (int32_t *)(void *)(base + 4096), *scale_pairs = (int32_t *)(void *)(base + 5120);
        uint16_t halves[16];
        for (int h = 0; h < 2; h++) {
            /* the 16 int8 scales, 4 per word (16-byte loads: 32 would read
               past the block) */
            __m256i r[8];
            for (size_t m = 0; m < 8; m++) {
                size_t row = 8 * (size_t)h + m;
                r[m] = row < n_rows ? _mm256_castsi128_si256(_mm_loadu_si128(
                                          (const __m128i *)(const void *)(rows + row * row_bytes + 210 * b + 192)))
                                    : _mm256_setzero_si256();
                r[m] = _mm256_inserti128_si256(r[m], _mm_setzero_si128(), 1);
                halves[row] = row < n_rows ? read_u16le(rows + row * row_bytes + 210 * b + 208) : 0;
            }
            transpose_8x8_epi32(r);
            for (int w = 0; w < 4; w++) {
                __m256i sc[4];
                for (int k = 0; k < 4; k++) {
                    sc[k] = _mm256_srai_epi32(_mm256_slli_epi32(r[w], 24 - 8 * k), 24);
                    _mm256_store_si256((__m256i *)(void *)(scales + 16 * (4 * w + k) + 8 * h), sc[k]);
                }
                for (int p = 0; p < 2; p++)
                    _mm256_store_si256((__m256i *)(void *)(scale_pairs + 16 * (2 * w + p) + 8 * h),
                                       _mm256_or_si256(_mm256_and_si256(sc[2 * p], _mm256_set1_epi32(0xFFFF)),
                                                       _mm256_slli_epi32(sc[2 * p + 1], 16)));
            }
            _mm256_store_ps((float *)(void *)(base + 5632) + 8 * h,
                            _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(halves + 8 * h))));
        }
    }
}

/* Tokens per pass over a row block's half: 4 tokens' sums, scaled sums and
   float accumulators fit AVX2's 16 registers with the operands. */
#  define ROWS256_TOKENS 4

DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i rows256_broadcast(const void *p) {
    return _mm256_set1_epi32((int)read_u32le((const uint8_t *)p));
}

/* Rows 8h.. of the block (valid: how many of them exist) for n_tok tokens. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void rows256_store_out(const __m256 *acc, int n_tok, size_t valid,
                                                                     float *out, size_t out_stride) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)valid), lane);
    for (int t = 0; t < n_tok; t++) _mm256_maskstore_ps(out + t * out_stride, mask, acc[t]);
}

/* Both halves' sums of a block of n_rows rows for n_tok tokens. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void rows256_store_halves(const __m256 *half0, const __m256 *half1,
                                                                    int n_tok, size_t n_rows, float *out,
                                                                    size_t out_stride) {
    rows256_store_out(half0, n_tok, n_rows < 8 ? n_rows : 8, out, out_stride);
    if (n_rows > 8) rows256_store_out(half1, n_tok, n_rows - 8, out + 8, out_stride);
}

/* A row block's kernel: unpack the rows into the scratch, then each 8-row
   half in passes of up to ROWS256_TOKENS tokens, each pass an inlined body
   with its token count fixed (so its accumulators stay in registers). */
#  define DSV3_ROWS256(target, name, unpack, body)                                                           \
      target static void name(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *acts,       \
                              size_t act_stride, size_t n_tok, size_t n, float *out, size_t out_stride,        \
                              uint8_t *scratch) {                                                              \
          unpack(rows, row_bytes, n_rows, n, scratch);                                                         \
          for (int h = 0; h < 2 && (size_t)(8 * h) < n_rows; h++) {                                           \
              size_t valid = n_rows - 8 * (size_t)h < 8 ? n_rows - 8 * (size_t)h : 8;                          \
              for (size_t t = 0; t < n_tok; t += ROWS256_TOKENS) {                                             \
                  const uint8_t *act = acts + t * act_stride;                                                  \
                  float *o = out + t * out_stride + 8 * h;                                                     \
                  switch (n_tok - t < ROWS256_TOKENS ? n_tok - t : ROWS256_TOKENS) {                           \
                  case 1: body(scratch, n, act, act_stride, h, valid, o, out_stride, 1); break;                \
                  case 2: body(scratch, n, act, act_stride, h, valid, o, out_stride, 2); break;                \
                  case 3: body(scratch, n, act, act_stride, h, valid, o, out_stride, 3); break;                \
                  default: body(scratch, n, act, act_stride, h, valid, o, out_stride, 4); break;               \
                  }                                                                                            \
              }                                                                                                \
          }                                                                                                    \
      }

/* The same for bodies that take both halves in one pass (each broadcast
   then serves 16 rows), up to max_tok (at most 6) tokens per pass. */
#  define DSV3_ROWS256_BOTH(target, name, unpack, body, max_tok)                                               \
      target static void name(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *acts,    \
                                 size_t act_stride, size_t n_tok, size_t n, float *out, size_t out_stride,     \
                                 uint8_t *scratch) {                                                           \
          unpack(rows, row_bytes, n_rows, n, scratch);                                                         \
          for (size_t t = 0; t < n_tok; t += (max_tok)) {                                                      \
              const uint8_t *act = acts + t * act_stride;                                                      \
              float *o = out + t * out_stride;                                                                 \
              switch (n_tok - t < (max_tok) ? n_tok - t : (max_tok)) {                                         \
              case 1: body(scratch, n, act, act_stride, n_rows, o, out_stride, 1); break;                      \
              case 2: body(scratch, n, act, act_stride, n_rows, o, out_stride, 2); break;                      \
              case 3: body(scratch, n, act, act_stride, n_rows, o, out_stride, 3); break;                      \
              case 4: body(scratch, n, act, act_stride, n_rows, o, out_stride, 4); break;                      \
              case 5: body(scratch, n, act, act_stride, n_rows, o, out_stride, (max_tok) >= 5 ? 5 : 1); break; \
              default: body(scratch, n, act, act_stride, n_rows, o, out_stride, (max_tok) >= 6 ? 6 : 1); break; \
              }                                                                                                \
          }                                                                                                    \
      }

/* AVX2 without VNNI, K-quants (Q8_0's +128 weights would overflow
   vpmaddubsw's 16-bit pairs: it has its own kernel below). A 16-bit lane
   sums 2 products per group: Q4_K's at most 2 x 15 x 127, so a sub-block's 8 groups fit 16 bits (30480); Q5_K's
   2 x 31 x 127, so 4 groups do; Q6_K's 2 x 63 x 127, so two groups do (its
   4-group sub-blocks take two vpmaddwd). Integer totals are the VNNI
   kernels', so are results. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void k_quant_avx2_rows_body(const uint8_t *unpacked, size_t n,
                                                                      const uint8_t *act, size_t act_stride, int h,
                                                                      size_t valid, float *out, size_t out_stride,
                                                                      int n_tok, int quant_bits) {
    /* 16-element sub-blocks and a bias on every quant, no dmin: Q6_K (+32)
       and the IQ lattice types (7 bits: +64) */
    const int six_bits = quant_bits >= 6, offset_shift = quant_bits == 7 ? 6 : 5;
    /* groups summed in 16 bits: 2 x 15 x 127 x 8, 2 x 31 x 127 x 4,
       2 x 63 x 127 x 2 and 2 x 126 x 127 all stay below 32768 */
    const int sub_groups = six_bits ? 4 : 8, run = quant_bits == 4 ? 8 : quant_bits == 5 ? 4 : quant_bits == 6 ? 2 : 1;
    __m256 acc[ROWS256_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *base = unpacked + VNNI_K_SUPER * b;
        const int32_t *scales = (const int32_t *)(const void *)(base + 4096) + 8 * h;
        const int32_t *pairs = (const int32_t *)(const void *)(base + 5120) + 8 * h;
        const act_block256 *a[ROWS256_TOKENS];
        __m256i scaled[ROWS256_TOKENS], paired[ROWS256_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            a[t] = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            scaled[t] = paired[t] = _mm256_setzero_si256();
        }
        for (int j = 0; j < 64 / sub_groups; j++) {
            __m256i scale = _mm256_load_si256((const __m256i *)(const void *)(scales + 16 * j));
            scale = _mm256_or_si256(_mm256_and_si256(scale, _mm256_set1_epi32(0xFFFF)), /* in both 16-bit halves */
                                    _mm256_slli_epi32(scale, 16));
            for (int r = 0; r < sub_groups; r += run) {
                __m256i sum16[ROWS256_TOKENS];
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) sum16[t] = _mm256_setzero_si256();
                DSV3_UNROLL
                for (int k = 0; k < run; k++) {
                    int group = sub_groups * j + r + k;
                    __m256i w = _mm256_load_si256((const __m256i *)(const void *)(base + 64 * group + 32 * h));
                    DSV3_UNROLL
                    for (int t = 0; t < n_tok; t++)
                        sum16[t] = _mm256_add_epi16(sum16[t],
                                                    _mm256_maddubs_epi16(w, rows256_broadcast(a[t]->qs + 4 * group)));
                }
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) scaled[t] = _mm256_add_epi32(scaled[t], _mm256_madd_epi16(sum16[t], scale));
            }
        }
        for (int p = 0; p < 8; p++) {
            __m256i pair = _mm256_load_si256((const __m256i *)(const void *)(pairs + 16 * p));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++)
                paired[t] = _mm256_add_epi32(paired[t], _mm256_madd_epi16(pair, rows256_broadcast(a[t]->bsums + 2 * p)));
        }
        const float *d = (const float *)(const void *)(base + 5632) + 8 * h;
        __m256 dv = _mm256_load_ps(d), dmin = six_bits ? dv : _mm256_load_ps(d + 16);
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            if (six_bits) { /* the reference's da * d * (scaled - 32 * offset), 64 for IQ */
                __m256i total = _mm256_sub_epi32(scaled[t], _mm256_slli_epi32(paired[t], offset_shift));
                acc[t] = _mm256_add_ps(
                    acc[t], _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(a[t]->d), dv), _mm256_cvtepi32_ps(total)));
            } else { /* the reference's da * (d * scaled - dmin * mins) */
                __m256 dot = _mm256_sub_ps(_mm256_mul_ps(dv, _mm256_cvtepi32_ps(scaled[t])),
                                           _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(paired[t])));
                acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_set1_ps(a[t]->d), dot));
            }
        }
    }
    rows256_store_out(acc, n_tok, valid, out, out_stride);
}
#  define q4_k_avx2_rows_body(...) k_quant_avx2_rows_body(__VA_ARGS__, 4)
#  define q5_k_avx2_rows_body(...) k_quant_avx2_rows_body(__VA_ARGS__, 5)
#  define q6_k_avx2_rows_body(...) k_quant_avx2_rows_body(__VA_ARGS__, 6)
#  define iq_avx2_rows_body(...) k_quant_avx2_rows_body(__VA_ARGS__, 7)
DSV3_ROWS256(DSV3_AVX2, q4_k_avx2_rows, q4_k_rows256_unpack, q4_k_avx2_rows_body)
DSV3_ROWS256(DSV3_AVX2, q5_k_avx2_rows, q5_k_rows256_unpack, q5_k_avx2_rows_body)
DSV3_ROWS256(DSV3_AVX2, q6_k_avx2_rows, q6_k_rows256_unpack, q6_k_avx2_rows_body)

/* The IQ lattice types with AVX2 alone, both 8-row halves per pass (each
   broadcast serves 16 rows): a 16-bit pair holds one group's products
   (2 x 126 x 127), scaled per group by vpmaddwd with the sub-block's m. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void iq_avx2_rows_both(const uint8_t *unpacked, size_t n,
                                                                 const uint8_t *act, size_t act_stride,
                                                                 size_t n_rows, float *out, size_t out_stride,
                                                                 int n_tok) {
    __m256 acc[2][ROWS256_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *base = unpacked + VNNI_K_SUPER * b;
        const int32_t *scales = (const int32_t *)(const void *)(base + 4096);
        const int32_t *pairs = (const int32_t *)(const void *)(base + 5120);
        const act_block256 *a[ROWS256_TOKENS];
        __m256i scaled[2][ROWS256_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            a[t] = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            scaled[0][t] = scaled[1][t] = _mm256_setzero_si256();
        }
        for (int j = 0; j < 16; j++) {
            __m256i scale0 = _mm256_load_si256((const __m256i *)(const void *)(scales + 16 * j));
            __m256i scale1 = _mm256_load_si256((const __m256i *)(const void *)(scales + 16 * j + 8));
            scale0 = _mm256_or_si256(scale0, _mm256_slli_epi32(scale0, 16)); /* m > 0: in both halves */
            scale1 = _mm256_or_si256(scale1, _mm256_slli_epi32(scale1, 16));
            DSV3_UNROLL
            for (int k = 0; k < 4; k++) {
                int group = 4 * j + k;
                __m256i w0 = _mm256_load_si256((const __m256i *)(const void *)(base + 64 * group));
                __m256i w1 = _mm256_load_si256((const __m256i *)(const void *)(base + 64 * group + 32));
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    __m256i x = rows256_broadcast(a[t]->qs + 4 * group);
                    scaled[0][t] = scaled_pairs_avx2(scaled[0][t], _mm256_maddubs_epi16(w0, x), scale0);
                    scaled[1][t] = scaled_pairs_avx2(scaled[1][t], _mm256_maddubs_epi16(w1, x), scale1);
                }
                /* one running register per sum (GCC would regroup the additions) */
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    DSV3_IN_REGISTER(scaled[0][t]);
                    DSV3_IN_REGISTER(scaled[1][t]);
                }
            }
        }
        DSV3_UNROLL
        for (int h = 0; h < 2; h++) {
            __m256 dv = _mm256_load_ps((const float *)(const void *)(base + 5632) + 8 * h);
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                __m256i paired = _mm256_setzero_si256();
                for (int p = 0; p < 8; p++)
                    paired = _mm256_add_epi32(paired, _mm256_madd_epi16(_mm256_load_si256((const __m256i *)(const void *)(pairs + 16 * p + 8 * h)),
                                                                        rows256_broadcast(a[t]->bsums + 2 * p)));
                /* the reference's da * d * (scaled - 64 * offset) */
                __m256i total = _mm256_sub_epi32(scaled[h][t], _mm256_slli_epi32(paired, 6));
                acc[h][t] = _mm256_add_ps(
                    acc[h][t], _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(a[t]->d), dv), _mm256_cvtepi32_ps(total)));
            }
        }
    }
    rows256_store_halves(acc[0], acc[1], n_tok, n_rows, out, out_stride);
}

/* The IQ lattice types in Q6_K's layout, as iq_vnni_unpack: each group
   decoded by iq_group_avx2 and made unsigned by + 64 (|q| <= 62), its
   halves' multipliers m as the 16-element sub-blocks' scales, and
   d * step as the rows' d. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void iq_rows256_unpack(uint32_t type, const uint8_t *rows,
                                                                  size_t row_bytes, size_t n_rows, size_t n,
                                                                  uint8_t *out) {
    uint8_t bytes[16 * 256]; /* the 16 rows' biased quants, row by row */
    const __m256i bias = _mm256_set1_epi8(64);
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        int32_t *scales = (int32_t *)(void *)(base + 4096), *scale_pairs = (int32_t *)(void *)(base + 5120);
        float *d = (float *)(void *)(base + 5632);
        for (size_t r = 0; r < 16; r++) {
            if (r >= n_rows) { /* zero weights, scales and d: a zero result in unused lanes */
                memset(bytes + 256 * r, 0, 256);
                for (int sub = 0; sub < 16; sub++) scales[16 * sub + r] = 0;
                for (int p = 0; p < 8; p++) scale_pairs[16 * p + r] = 0;
                d[r] = 0.0f;
                continue;
            }
            const uint8_t *block = rows + r * row_bytes + iq_block_bytes(type) * b;
            DSV3_UNROLL
            for (int g = 0; g < 8; g++) {
                int32_t m[2];
                __m256i q = iq_group_avx2(type, block, g, m);
                _mm256_storeu_si256((__m256i *)(void *)(bytes + 256 * r + 32 * g), _mm256_add_epi8(q, bias));
                scales[16 * (2 * g) + r] = m[0];
                scales[16 * (2 * g + 1) + r] = m[1];
                scale_pairs[16 * g + r] = m[0] | m[1] << 16;
            }
            d[r] = iq_step(type) * f16c_to_f32(iq_block_d_half(type, block));
        }
        for (int h = 0; h < 2; h++)
            for (int c = 0; c < 8; c++) {
                __m256i words[8];
                rows256_load_words(words, bytes, 256, 16, h, 32 * (size_t)c);
                DSV3_UNROLL
                for (int k = 0; k < 8; k++)
                    _mm256_store_si256((__m256i *)(void *)(base + 64 * (8 * c + k) + 32 * h), words[k]);
            }
    }
}
#  define DSV3_IQ_ROWS256(name, type)                                                                          \
      DSV3_AVX2 static void name##_rows256_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n, \
                                                  uint8_t *out) {                                              \
          iq_rows256_unpack(type, rows, row_bytes, n_rows, n, out);                                            \
      }                                                                                                        \
      DSV3_ROWS256_BOTH(DSV3_AVX2, name##_avx2_rows, name##_rows256_unpack, iq_avx2_rows_both, ROWS256_TOKENS)
DSV3_IQ_ROWS256(iq2_xxs, 16)
DSV3_IQ_ROWS256(iq2_xs, 17)
DSV3_IQ_ROWS256(iq3_xxs, 18)
DSV3_IQ_ROWS256(iq1_s, 19)
DSV3_IQ_ROWS256(iq3_s, 21)
DSV3_IQ_ROWS256(iq2_s, 22)
DSV3_IQ_ROWS256(iq1_m, 29)
#  undef DSV3_IQ_ROWS256
/* The kernel set's entries for the seven lattice types' row blocks */
#  define DSV3_IQ_ROWS_SET(k, suffix)                                                                          \
      do {                                                                                                     \
          (k)->block_rows[16] = iq2_xxs_##suffix##_rows, (k)->block_rows[17] = iq2_xs_##suffix##_rows;         \
          (k)->block_rows[18] = iq3_xxs_##suffix##_rows, (k)->block_rows[19] = iq1_s_##suffix##_rows;          \
          (k)->block_rows[21] = iq3_s_##suffix##_rows, (k)->block_rows[22] = iq2_s_##suffix##_rows;            \
          (k)->block_rows[29] = iq1_m_##suffix##_rows;                                                         \
      } while (0)

/* Bytes 0, 2, .. of each 16-bit lane, and bytes 1, 3, .., sign-extended. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i even_bytes_epi16(__m256i v) {
    return _mm256_srai_epi16(_mm256_slli_epi16(v, 8), 8);
}
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline __m256i odd_bytes_epi16(__m256i v) { return _mm256_srai_epi16(v, 8); }

/* Rows 8h.. of a transposed chunk (word k of r: quants 4k..4k+3 of each
   row) as 16-bit pairs, each row's times its lane of `scale` (1 or an
   IQ4_XS sub-block's scale, in both 16-bit halves). */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void pairs16_store_chunk(const __m256i r[8], __m256i scale, int h,
                                                                   uint8_t *base) {
    DSV3_UNROLL
    for (int k = 0; k < 8; k++) {
        _mm256_store_si256((__m256i *)(void *)(base + 128 * k + 64 * h), _mm256_mullo_epi16(even_bytes_epi16(r[k]), scale));
        _mm256_store_si256((__m256i *)(void *)(base + 128 * k + 64 * h + 32), _mm256_mullo_epi16(odd_bytes_epi16(r[k]), scale));
    }
}

DSV3_AVX2 static void q8_0_avx2_rows_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                            uint8_t *out) {
    for (size_t b = 0; b < n / 32; b++) {
        uint8_t *base = out + AVX2_Q8_0_BLOCK * b;
        for (int h = 0; h < 2; h++) {
            __m256i r[8];
            rows256_load_words(r, rows, row_bytes, n_rows, h, 34 * b + 2);
            pairs16_store_chunk(r, _mm256_set1_epi16(1), h, base);
        }
        q8_0_rows256_scales(rows, row_bytes, n_rows, 34 * b, (float *)(void *)(base + 1024));
    }
}

/* IQ4_NL in Q8_0's layout: the table's values of each 16-byte block. */
DSV3_AVX2 static void iq4_nl_avx2_rows_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                              uint8_t *out) {
    const __m256i table2 = iq4_table_avx2();
    uint8_t values[16 * 32]; /* the 16 rows' values, row by row */
    for (size_t b = 0; b < n / 32; b++) {
        uint8_t *base = out + AVX2_Q8_0_BLOCK * b;
        for (size_t r = 0; r < 16; r++)
            _mm256_storeu_si256((__m256i *)(void *)(values + 32 * r),
                                r < n_rows ? iq4_lookup_avx2(table2, rows + r * row_bytes + 18 * b + 2)
                                           : _mm256_setzero_si256());
        for (int h = 0; h < 2; h++) {
            __m256i r[8];
            rows256_load_words(r, values, 32, 16, h, 0);
            pairs16_store_chunk(r, _mm256_set1_epi16(1), h, base);
        }
        q8_0_rows256_scales(rows, row_bytes, n_rows, 18 * b, (float *)(void *)(base + 1024));
    }
}

/* IQ4_XS: each 32-element sub-block a chunk of Q8_0's layout with its
   signed scale multiplied in (|value x scale| <= 127 x 32 fits 16 bits, and
   a super-block's sum, below 2^28, int32), then the rows' d as floats. */
DSV3_AVX2 static void iq4_xs_avx2_rows_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                              uint8_t *out) {
    const __m256i table2 = iq4_table_avx2();
    uint8_t values[16 * 32];
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + AVX2_IQ4_XS_BLOCK * b;
        for (int sub = 0; sub < 8; sub++) {
            int32_t scales[16];
            for (size_t r = 0; r < 16; r++) {
                const uint8_t *block = rows + r * row_bytes + 136 * b;
                _mm256_storeu_si256((__m256i *)(void *)(values + 32 * r),
                                    r < n_rows ? iq4_lookup_avx2(table2, block + 8 + 16 * sub) : _mm256_setzero_si256());
                int scale = r < n_rows ? iq4_xs_scale(block, sub) : 0;
                scales[r] = (scale & 0xFFFF) | (int32_t)((uint32_t)scale << 16);
            }
            for (int h = 0; h < 2; h++) {
                __m256i r[8];
                rows256_load_words(r, values, 32, 16, h, 0);
                pairs16_store_chunk(r, _mm256_loadu_si256((const __m256i *)(const void *)(scales + 8 * h)), h,
                                    base + 1024 * sub);
            }
        }
        q8_0_rows256_scales(rows, row_bytes, n_rows, 136 * b, (float *)(void *)(base + 8192));
    }
}

/* Tokens per pass: both halves' integer sums for 6 tokens, the two weight
   vectors and a broadcast take 15 of AVX2's 16 registers (the float sums
   live in memory, touched once per block). In cache on a Zen 5 core this
   ran at ~70 G multiply-adds/s against the tiles' ~50 (4 tokens: ~65). */
#  define Q8_0_AVX2_TOKENS 6

/* Both 8-row halves for n_tok (up to Q8_0_AVX2_TOKENS) tokens, over blocks
   of `chunks` 32-element chunks (Q8_0 and IQ4_NL 1, with 32-element
   activation blocks; IQ4_XS 8, its sub-blocks' scales already in the
   weights, with 256-element ones). Each token's quants are widened once per
   chunk into pairs, as the weights'. Integer sums are exact, then per block
   the reference's f16(dw) * da * isum and the running sum, in its order:
   the VNNI kernels' results. */
DSV3_AVX2 DSV3_ALWAYS_INLINE static inline void pairs16_avx2_rows_body(const uint8_t *unpacked, size_t n,
                                                                      const uint8_t *act, size_t act_stride,
                                                                      size_t n_rows, float *out, size_t out_stride,
                                                                      int n_tok, int chunks,
                                                                      scaled_pairs_fn accumulate) {
    const size_t block_bytes = 1024 * (size_t)chunks + 64;
    union { __m256i v[2]; int32_t w[16]; } pairs[Q8_0_AVX2_TOKENS]; /* 16-bit pairs */
    __m256 acc[2][Q8_0_AVX2_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / (32 * (size_t)chunks); b++) {
        const uint8_t *block = unpacked + block_bytes * b;
        const int8_t *qs[Q8_0_AVX2_TOKENS];
        float da[Q8_0_AVX2_TOKENS];
        __m256i isum[2][Q8_0_AVX2_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            if (chunks == 1) {
                const act_block32 *a = (const act_block32 *)(const void *)(act + act_stride * t) + b;
                qs[t] = a->qs, da[t] = a->d;
            } else {
                const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
                qs[t] = a->qs, da[t] = a->d;
            }
            isum[0][t] = isum[1][t] = _mm256_setzero_si256();
        }
        for (int c = 0; c < chunks; c++) {
            const uint8_t *base = block + 1024 * c;
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                __m256i q = _mm256_loadu_si256((const __m256i *)(const void *)(qs[t] + 32 * c));
                pairs[t].v[0] = even_bytes_epi16(q);
                pairs[t].v[1] = odd_bytes_epi16(q);
            }
            DSV3_IN_MEMORY(pairs); /* each broadcast a load */
            DSV3_UNROLL16
            for (int j = 0; j < 16; j++) {
                __m256i w0 = _mm256_load_si256((const __m256i *)(const void *)(base + 128 * (j / 2) + 32 * (j % 2)));
                __m256i w1 =
                    _mm256_load_si256((const __m256i *)(const void *)(base + 128 * (j / 2) + 64 + 32 * (j % 2)));
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    __m256i x = _mm256_set1_epi32(pairs[t].w[8 * (j % 2) + j / 2]);
                    isum[0][t] = accumulate(isum[0][t], w0, x);
                    isum[1][t] = accumulate(isum[1][t], w1, x);
                }
                /* keep each sum one running register: GCC would otherwise
                   regroup the 16 x 2 additions into trees and spill products */
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++) {
                    DSV3_IN_REGISTER(isum[0][t]);
                    DSV3_IN_REGISTER(isum[1][t]);
                }
            }
        }
        DSV3_UNROLL
        for (int h = 0; h < 2; h++) {
            __m256 dw = _mm256_load_ps((const float *)(const void *)(block + 1024 * chunks) + 8 * h);
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++)
                acc[h][t] = _mm256_add_ps(acc[h][t], _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(da[t])),
                                                                   _mm256_cvtepi32_ps(isum[h][t])));
        }
    }
    rows256_store_halves(acc[0], acc[1], n_tok, n_rows, out, out_stride);
}
#  define q8_0_avx2_rows_body(...) pairs16_avx2_rows_body(__VA_ARGS__, 1, scaled_pairs_avx2)
#  define iq4_xs_avx2_rows_body(...) pairs16_avx2_rows_body(__VA_ARGS__, 8, scaled_pairs_avx2)

DSV3_ROWS256_BOTH(DSV3_AVX2, q8_0_avx2_rows, q8_0_avx2_rows_unpack, q8_0_avx2_rows_body, Q8_0_AVX2_TOKENS)
DSV3_ROWS256_BOTH(DSV3_AVX2, iq4_nl_avx2_rows, iq4_nl_avx2_rows_unpack, q8_0_avx2_rows_body, Q8_0_AVX2_TOKENS)
DSV3_ROWS256_BOTH(DSV3_AVX2, iq4_xs_avx2_rows, iq4_xs_avx2_rows_unpack, iq4_xs_avx2_rows_body, Q8_0_AVX2_TOKENS)

static void kernels_avx2(kernel_set *k) {
    kernels_scalar(k);
    k->name = "avx2";
    k->row_dot[0] = f32_row_dot_avx2;
    k->row_dot[1] = f16_row_dot_avx2;
    k->row_dot[8] = q8_0_row_dot_avx2;
    k->row_dot[30] = bf16_row_dot_avx2;
    k->axpy_f32 = axpy_f32_avx2;
    k->kv_scores = kv_scores_avx2;
    k->kv_mix = kv_mix_avx2;
    k->gemm_f32 = gemm_f32_avx2;
    k->softmax_online = softmax_online_avx2;
    k->rmsnorm_f32 = rmsnorm_f32_avx2;
    k->softmax = softmax_avx2;
    k->swiglu = swiglu_avx2;
    k->rope_rotate = rope_rotate_avx2;
    k->act_dot[2] = q4_0_act_dot_avx2;
    k->act_dot[3] = q4_1_act_dot_avx2;
    k->act_dot[6] = q5_0_act_dot_avx2;
    k->act_dot[7] = q5_1_act_dot_avx2;
    k->act_dot[8] = q8_0_act_dot_avx2;
    k->act_dot[10] = q2_k_act_dot_avx2;
    k->act_dot[20] = iq4_nl_act_dot_avx2;
    k->act_dot[23] = iq4_xs_act_dot_avx2;
    k->act_tile[20] = iq4_nl_tiles_avx2;
    k->act_tile[23] = iq4_xs_tiles_avx2;
    DSV3_IQ_SET(k, avx2);
    k->act_dot[11] = q3_k_act_dot_avx2;
    k->act_dot[12] = q4_k_act_dot_avx2;
    k->act_dot[13] = q5_k_act_dot_avx2;
    k->act_dot[14] = q6_k_act_dot_avx2;
    k->quantize_act = quantize_act_avx2;
    k->to_f32[1] = f16_row_to_f32_avx2;
    k->to_f32[30] = bf16_row_to_f32_avx2;
    k->act_tile[8] = q8_0_tiles_avx2;
    k->act_tile[10] = q2_k_tiles_avx2;
    k->act_tile[11] = q3_k_tiles_avx2;
    k->act_tile[12] = q4_k_tiles_avx2;
    k->act_dot2[12] = q4_k_act_dot2_avx2;
    k->act_dot2[13] = q5_k_act_dot2_avx2;
    k->act_tile[13] = q5_k_tiles_avx2;
    k->act_tile[14] = q6_k_tiles_avx2;
    k->block_rows[8] = q8_0_avx2_rows;
    k->block_rows[20] = iq4_nl_avx2_rows;
    k->block_rows[23] = iq4_xs_avx2_rows;
    DSV3_IQ_ROWS_SET(k, avx2);
    k->block_rows[12] = q4_k_avx2_rows;
    k->block_rows[13] = q5_k_avx2_rows;
    k->block_rows[14] = q6_k_avx2_rows;
    /* in cache on a Zen 5 core the row blocks overtook the tiles at 6-8
       tokens (both sets, busy machine) */
    k->block_rows_min_tokens = 8;
}

/* ---- AVX-VNNI: the AVX2 kernels with VEX vpdpwssd (Alder Lake and later
   Intel client cores, which lack AVX-512; also Zen 5) ----
   The K-quant bodies take the scale multiply and the accumulation in one
   instruction, as the AVX-512 set does; vpdpwssd sums exactly what vpmaddwd
   + vpaddd sum, so every result is the AVX2 set's, bit for bit. */
#if DSV3_HAVE_AVX2 && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  define DSV3_HAVE_AVXVNNI 1
#  define DSV3_AVXVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))

/* CPUID leaf 7 sub-leaf 1: AVX-VNNI (EAX 4); the OS saves the YMM state (AVX2). */
static int cpu_has_avxvnni(void) {
    if (!cpu_has_avx2()) return 0;
    unsigned a, b, c, d;
    __cpuid_count(7, 1, a, b, c, d);
    return (a & (1u << 4)) != 0;
}

DSV3_AVXVNNI static inline __m256i scaled_pairs_avxvnni(__m256i isum, __m256i p, __m256i s) {
    return _mm256_dpwssd_avx_epi32(isum, p, s);
}

#define DSV3_Q4_K_TILE(k) q4_q5_k_tile_avx2(&row, 1, acts, act_stride, n, &out, out_stride, k, 0, scaled_pairs_avxvnni)
#define DSV3_Q5_K_TILE(k) q4_q5_k_tile_avx2(&row, 1, acts, act_stride, n, &out, out_stride, k, 1, scaled_pairs_avxvnni)
#define DSV3_Q2_K_TILE(k) q2_k_tile_avx2(row, acts, act_stride, n, out, out_stride, k, scaled_pairs_avxvnni)
#define DSV3_Q3_K_TILE(k) q3_k_tile_avx2(row, acts, act_stride, n, out, out_stride, k, scaled_pairs_avxvnni)
DSV3_TILE_KERNELS(DSV3_AVXVNNI, q2_k_tiles_avxvnni, q2_k_act_dot_avxvnni, DSV3_Q2_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVXVNNI, q3_k_tiles_avxvnni, q3_k_act_dot_avxvnni, DSV3_Q3_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVXVNNI, q4_k_tiles_avxvnni, q4_k_act_dot_avxvnni, DSV3_Q4_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVXVNNI, q5_k_tiles_avxvnni, q5_k_act_dot_avxvnni, DSV3_Q5_K_TILE)
#undef DSV3_Q2_K_TILE
#undef DSV3_Q3_K_TILE
#undef DSV3_Q4_K_TILE
#undef DSV3_Q5_K_TILE
DSV3_Q4_Q5_K_DOT2(DSV3_AVXVNNI, q4_k_act_dot2_avxvnni, 0, scaled_pairs_avxvnni)
DSV3_Q4_Q5_K_DOT2(DSV3_AVXVNNI, q5_k_act_dot2_avxvnni, 1, scaled_pairs_avxvnni)

DSV3_AVXVNNI DSV3_ALWAYS_INLINE static inline void q8_0_avxvnni_body(const uint8_t *unpacked, size_t n,
                                                                    const uint8_t *act, size_t act_stride, int h,
                                                                    size_t valid, float *out, size_t out_stride,
                                                                    int n_tok) {
    __m256 acc[ROWS256_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *base = unpacked + VNNI_Q8_0_BLOCK * b + 32 * h;
        const act_block32 *a[ROWS256_TOKENS];
        __m256i isum[ROWS256_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            a[t] = (const act_block32 *)(const void *)(act + act_stride * t) + b;
            isum[t] = _mm256_set1_epi32(-128 * a[t]->sum); /* the +128 of every weight */
        }
        DSV3_UNROLL
        for (int k = 0; k < 8; k++) {
            __m256i w = _mm256_load_si256((const __m256i *)(const void *)(base + 64 * k));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) isum[t] = _mm256_dpbusd_avx_epi32(isum[t], w, rows256_broadcast(a[t]->qs + 4 * k));
        }
        __m256 dw = _mm256_load_ps((const float *)(const void *)(base + 512));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) /* the reference's f16(dw) * da * isum, then the running sum */
            acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(a[t]->d)),
                                                         _mm256_cvtepi32_ps(isum[t])));
    }
    rows256_store_out(acc, n_tok, valid, out, out_stride);
}

/* offset_shift: 0 for Q4_K (which has minimums); else every quant carries
   +(1 << offset_shift) (Q6_K 32, the IQ lattice types 64), taken off
   through the activations' sums. */
DSV3_AVXVNNI DSV3_ALWAYS_INLINE static inline void k_quant_avxvnni_body(const uint8_t *unpacked, size_t n,
                                                                       const uint8_t *act, size_t act_stride, int h,
                                                                       size_t valid, float *out, size_t out_stride,
                                                                       int n_tok, int offset_shift) {
    const int six_bits = offset_shift != 0;  /* 16-element sub-blocks, no dmin */
    const int sub_groups = six_bits ? 4 : 8; /* 4-byte groups per sub-block */
    __m256 acc[ROWS256_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *base = unpacked + VNNI_K_SUPER * b;
        const int32_t *scales = (const int32_t *)(const void *)(base + 4096) + 8 * h;
        const int32_t *pairs = (const int32_t *)(const void *)(base + 5120) + 8 * h;
        const act_block256 *a[ROWS256_TOKENS];
        __m256i scaled[ROWS256_TOKENS], paired[ROWS256_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            a[t] = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            scaled[t] = paired[t] = _mm256_setzero_si256();
        }
        for (int j = 0; j < 64 / sub_groups; j++) { /* sub-blocks: exact int32 sums, scaled in integers */
            __m256i isum[ROWS256_TOKENS];
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) isum[t] = _mm256_setzero_si256();
            DSV3_UNROLL
            for (int k = 0; k < sub_groups; k++) {
                int group = sub_groups * j + k;
                __m256i w = _mm256_load_si256((const __m256i *)(const void *)(base + 64 * group + 32 * h));
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++)
                    isum[t] = _mm256_dpbusd_avx_epi32(isum[t], w, rows256_broadcast(a[t]->qs + 4 * group));
            }
            __m256i scale = _mm256_load_si256((const __m256i *)(const void *)(scales + 16 * j));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) scaled[t] = _mm256_add_epi32(scaled[t], _mm256_mullo_epi32(isum[t], scale));
        }
        for (int p = 0; p < 8; p++) {
            __m256i pair = _mm256_load_si256((const __m256i *)(const void *)(pairs + 16 * p));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++)
                paired[t] = _mm256_dpwssd_avx_epi32(paired[t], pair, rows256_broadcast(a[t]->bsums + 2 * p));
        }
        const float *d = (const float *)(const void *)(base + 5632) + 8 * h;
        __m256 dv = _mm256_load_ps(d), dmin = six_bits ? dv : _mm256_load_ps(d + 16); /* Q6_K has no dmin */
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            if (six_bits) { /* the reference's da * d * (scaled - 32 * offset) */
                __m256i total = _mm256_sub_epi32(scaled[t], _mm256_slli_epi32(paired[t], offset_shift));
                acc[t] = _mm256_add_ps(
                    acc[t], _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(a[t]->d), dv), _mm256_cvtepi32_ps(total)));
            } else { /* the reference's da * (d * scaled - dmin * mins) */
                __m256 dot = _mm256_sub_ps(_mm256_mul_ps(dv, _mm256_cvtepi32_ps(scaled[t])),
                                           _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(paired[t])));
                acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_set1_ps(a[t]->d), dot));
            }
        }
    }
    rows256_store_out(acc, n_tok, valid, out, out_stride);
}
#  define q4_k_avxvnni_body(...) k_quant_avxvnni_body(__VA_ARGS__, 0)
#  define q6_k_avxvnni_body(...) k_quant_avxvnni_body(__VA_ARGS__, 5)
#  define iq_avxvnni_body(...) k_quant_avxvnni_body(__VA_ARGS__, 6)

DSV3_ROWS256(DSV3_AVXVNNI, q8_0_avxvnni_rows, q8_0_rows256_unpack, q8_0_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, q4_k_avxvnni_rows, q4_k_rows256_unpack, q4_k_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, q5_k_avxvnni_rows, q5_k_rows256_unpack, q4_k_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, q6_k_avxvnni_rows, q6_k_rows256_unpack, q6_k_avxvnni_body)
/* IQ4_NL and IQ4_XS: the AVX2 kernels' 16-bit pairs, vpdpwssd fusing the
   multiply and the accumulation */
#  define iq4_nl_avxvnni_body(...) pairs16_avx2_rows_body(__VA_ARGS__, 1, scaled_pairs_avxvnni)
#  define iq4_xs_avxvnni_body(...) pairs16_avx2_rows_body(__VA_ARGS__, 8, scaled_pairs_avxvnni)
DSV3_ROWS256_BOTH(DSV3_AVXVNNI, iq4_nl_avxvnni_rows, iq4_nl_avx2_rows_unpack, iq4_nl_avxvnni_body, Q8_0_AVX2_TOKENS)
DSV3_ROWS256_BOTH(DSV3_AVXVNNI, iq4_xs_avxvnni_rows, iq4_xs_avx2_rows_unpack, iq4_xs_avxvnni_body, Q8_0_AVX2_TOKENS)
DSV3_ROWS256(DSV3_AVXVNNI, iq2_xxs_avxvnni_rows, iq2_xxs_rows256_unpack, iq_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, iq2_xs_avxvnni_rows, iq2_xs_rows256_unpack, iq_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, iq3_xxs_avxvnni_rows, iq3_xxs_rows256_unpack, iq_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, iq1_s_avxvnni_rows, iq1_s_rows256_unpack, iq_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, iq3_s_avxvnni_rows, iq3_s_rows256_unpack, iq_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, iq2_s_avxvnni_rows, iq2_s_rows256_unpack, iq_avxvnni_body)
DSV3_ROWS256(DSV3_AVXVNNI, iq1_m_avxvnni_rows, iq1_m_rows256_unpack, iq_avxvnni_body)

static void kernels_avxvnni(kernel_set *k) {
    kernels_avx2(k);
    k->name = "avx-vnni";
    k->act_dot[10] = q2_k_act_dot_avxvnni;
    k->act_tile[10] = q2_k_tiles_avxvnni;
    k->act_dot[11] = q3_k_act_dot_avxvnni;
    k->act_tile[11] = q3_k_tiles_avxvnni;
    k->act_dot[12] = q4_k_act_dot_avxvnni;
    k->act_tile[12] = q4_k_tiles_avxvnni;
    k->act_dot2[12] = q4_k_act_dot2_avxvnni;
    k->act_dot[13] = q5_k_act_dot_avxvnni;
    k->act_tile[13] = q5_k_tiles_avxvnni;
    k->act_dot2[13] = q5_k_act_dot2_avxvnni;
    k->block_rows[8] = q8_0_avxvnni_rows;
    k->block_rows[12] = q4_k_avxvnni_rows;
    k->block_rows[13] = q5_k_avxvnni_rows;
    k->block_rows[14] = q6_k_avxvnni_rows;
    k->block_rows[20] = iq4_nl_avxvnni_rows;
    k->block_rows[23] = iq4_xs_avxvnni_rows;
    DSV3_IQ_ROWS_SET(k, avxvnni);
}
#else
#  define DSV3_HAVE_AVXVNNI 0
#endif

/* ---- AVX-512 (F, BW, VL, VNNI): x86-64 CPUs from Ice Lake and Zen 4 ----
   Twice the bytes per instruction, and vpdpwssd fuses the scale multiply with
   the accumulation: the K-quant dots are bound by instructions issued, so this
   pays even where the core splits 512-bit work in two (Zen 4).
   The tile kernels dot one weight row with up to DSV3_TILE_TOKENS tokens at
   once, decoding each weight block once for all of them. A token's result goes
   through exactly the float operations of the one-token kernel (integer sums
   are exact in any order), so batch size never changes a result. */
#if DSV3_HAVE_AVX2 && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  define DSV3_HAVE_AVX512 1
#  define DSV3_AVX512 __attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512vl,avx512vnni")))

/* CPUID leaf 7: BMI2 (EBX 8; pdep is fast on every CPU with AVX-512, unlike
   Zen 1-2's), AVX512F (16), AVX512BW (30), AVX512VL (31), AVX512_VNNI (ECX
   11); the OS must save opmask and ZMM state too (XCR0 bits 5-7). */
static int cpu_has_avx512(void) {
    if (!cpu_has_avx2()) return 0;
    unsigned a, b, c, d, xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    if ((xcr0_lo & 0xE6u) != 0xE6u) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned ebx = (1u << 8) | (1u << 16) | (1u << 30) | (1u << 31);
    return (b & ebx) == ebx && (c & (1u << 11)) != 0;
}

/* 16-bit lanes: the first 16 hold lo, the last 16 hi. */
DSV3_AVX512 static __m512i halves_epi16(short lo, short hi) {
    return _mm512_inserti64x4(_mm512_set1_epi16(lo), _mm256_set1_epi16(hi), 1);
}

/* The lattice types in 512-bit registers, two groups (64 weights) a step:
   the magnitudes as vpmaddubsw's unsigned operand and the signs as a mask
   register, which negates the activations in one masked subtraction. */

/* A block's 16 multipliers m = 2s + 1 (one per 16 elements), m_j in both
   16-bit halves of dword j: each step's scales are then one permute. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512i iq_block_scales_avx512(uint32_t type, const uint8_t *block) {
    __m512i s;
    switch (type) {
    case 16: /* the top nibble of each group's aux word: dwords 1, 3, .. 15 of the 64 bytes */
        s = _mm512_srli_epi32(_mm512_permutexvar_epi32(
                                  _mm512_set_epi32(15, 15, 13, 13, 11, 11, 9, 9, 7, 7, 5, 5, 3, 3, 1, 1),
                                  _mm512_loadu_si512((const void *)(block + 2))),
                              28);
        break;
    case 18: /* the same of the 8 aux words after the grid bytes */
        s = _mm512_srli_epi32(_mm512_permutexvar_epi32(
                                  _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0),
                                  _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(block + 66)))),
                              28);
        break;
    case 17: case 22: { /* a nibble per 16 elements, low nibble first */
        __m128i bytes = _mm_loadl_epi64((const __m128i *)(const void *)(block + (type == 17 ? 66 : 74)));
        __m128i nibbles = _mm_unpacklo_epi8(_mm_and_si128(bytes, _mm_set1_epi8(15)),
                                            _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(15)));
        s = _mm512_cvtepu8_epi32(nibbles);
        break;
    }
    case 21: { /* a nibble per 32 elements */
        __m128i bytes = _mm_cvtsi32_si128((int)read_u32le(block + 106));
        __m128i nibbles = _mm_unpacklo_epi8(_mm_and_si128(bytes, _mm_set1_epi8(15)),
                                            _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(15)));
        s = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(nibbles, nibbles));
        break;
    }
    case 19: { /* bits 12-14 of each group's 16-bit word */
        __m128i words = _mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)(const void *)(block + 34)), 12),
                                      _mm_set1_epi16(7));
        s = _mm512_cvtepu16_epi32(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(words, words)),
                                                          _mm_unpackhi_epi16(words, words), 1));
        break;
    }
    default: { /* IQ1_M: 3 bits each, four to a 16-bit word */
        __m512i words = _mm512_cvtepu16_epi32(_mm256_castsi128_si256(
            _mm_loadl_epi64((const __m128i *)(const void *)(block + 48))));
        words = _mm512_permutexvar_epi32(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0), words);
        s = _mm512_and_si512(_mm512_srlv_epi32(words, _mm512_set_epi32(9, 6, 3, 0, 9, 6, 3, 0, 9, 6, 3, 0, 9, 6, 3, 0)),
                             _mm512_set1_epi32(7));
        break;
    }
    }
    __m512i m = _mm512_or_si512(_mm512_slli_epi32(s, 1), _mm512_set1_epi32(1));
    return _mm512_or_si512(m, _mm512_slli_epi32(m, 16));
}

/* Seven-bit sign fields (eight of them, 28 bits per group) spread to bytes
   by one pdep and completed to even parity together, as iq2_sign_bits. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __mmask64 iq2_sign_mask_avx512(uint64_t fields) {
    uint64_t x = _pdep_u64(fields, 0x7F7F7F7F7F7F7F7Full), p = x ^ x << 4;
    p ^= p << 2;
    p ^= p << 1;
    return _cvtu64_mask64(x | (p & 0x8080808080808080ull));
}

DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512i iq_join_avx512(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* Groups 2i and 2i + 1 of a block: magnitudes, and the negative ones' mask */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512i iq_pair_avx512(uint32_t type, const uint8_t *block, int i,
                                                                    __mmask64 *negative) {
    switch (type) {
    case 16: {
        const uint8_t *k = block + 2 + 16 * i;
        *negative = iq2_sign_mask_avx512((uint64_t)(read_u32le(k + 4) & 0x0FFFFFFF) |
                                         (uint64_t)(read_u32le(k + 12) & 0x0FFFFFFF) << 28);
        return iq_join_avx512(iq_grid64_avx2(iq2xxs_grid, k[0], k[1], k[2], k[3]),
                              iq_grid64_avx2(iq2xxs_grid, k[8], k[9], k[10], k[11]));
    }
    case 18: {
        const uint8_t *k = block + 2 + 16 * i;
        uint32_t lo[8], hi[8];
        DSV3_UNROLL
        for (int e = 0; e < 8; e++) lo[e] = k[e], hi[e] = k[8 + e];
        *negative = iq2_sign_mask_avx512((uint64_t)(read_u32le(block + 66 + 8 * i) & 0x0FFFFFFF) |
                                         (uint64_t)(read_u32le(block + 70 + 8 * i) & 0x0FFFFFFF) << 28);
        return iq_join_avx512(iq_grid32_avx2(iq3xxs_grid, lo), iq_grid32_avx2(iq3xxs_grid, hi));
    }
    case 17: {
        uint64_t w0 = read_u64le(block + 2 + 16 * i), w1 = read_u64le(block + 10 + 16 * i);
        const uint64_t sign_bits = 0xFE00FE00FE00FE00ull;
        *negative = iq2_sign_mask_avx512(_pext_u64(w0, sign_bits) | _pext_u64(w1, sign_bits) << 28);
        return iq_join_avx512(iq_grid64_avx2(iq2xs_grid, (uint32_t)w0 & 511, (uint32_t)(w0 >> 16) & 511,
                                             (uint32_t)(w0 >> 32) & 511, (uint32_t)(w0 >> 48) & 511),
                              iq_grid64_avx2(iq2xs_grid, (uint32_t)w1 & 511, (uint32_t)(w1 >> 16) & 511,
                                             (uint32_t)(w1 >> 32) & 511, (uint32_t)(w1 >> 48) & 511));
    }
    case 22: {
        const uint8_t *k = block + 2 + 8 * i;
        uint32_t h0 = block[66 + 2 * i], h1 = block[67 + 2 * i];
        *negative = _cvtu64_mask64(read_u64le(block + 34 + 8 * i));
        return iq_join_avx512(iq_grid64_avx2(iq2s_grid, k[0] | (h0 << 8 & 0x300), k[1] | (h0 << 6 & 0x300),
                                             k[2] | (h0 << 4 & 0x300), k[3] | (h0 << 2 & 0x300)),
                              iq_grid64_avx2(iq2s_grid, k[4] | (h1 << 8 & 0x300), k[5] | (h1 << 6 & 0x300),
                                             k[6] | (h1 << 4 & 0x300), k[7] | (h1 << 2 & 0x300)));
    }
    case 21: {
        const uint8_t *k = block + 2 + 16 * i;
        uint32_t h0 = block[66 + 2 * i], h1 = block[67 + 2 * i], lo[8], hi[8];
        DSV3_UNROLL
        for (int e = 0; e < 8; e++) lo[e] = k[e] | ((h0 >> e) & 1) << 8, hi[e] = k[8 + e] | ((h1 >> e) & 1) << 8;
        *negative = _cvtu64_mask64(read_u64le(block + 74 + 8 * i));
        return iq_join_avx512(iq_grid32_avx2(iq3s_grid, lo), iq_grid32_avx2(iq3s_grid, hi));
    }
    default: { /* IQ1: signed values from the AVX2 decoder */
        int32_t unused[2];
        __m512i q = iq_join_avx512(iq_group_avx2(type, block, 2 * i, unused), iq_group_avx2(type, block, 2 * i + 1, unused));
        *negative = _mm512_movepi8_mask(q);
        return _mm512_abs_epi8(q);
    }
    }
}

/* One row against n_tok <= 8 tokens (2 x 8 accumulators, the weights and the
   scales fit 32 registers; the kernels use up to 4), each token with the
   one-token case's float operations. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void iq_tile_avx512(uint32_t type, const uint8_t *row, const uint8_t *act,
                                                                 size_t act_stride, size_t n, float *out,
                                                                 size_t out_stride, int n_tok) {
    const __m512i quarter = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    __m512 acc[8];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm512_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + iq_block_bytes(type) * b;
        __m512i isum[8], m = iq_block_scales_avx512(type, block);
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm512_setzero_si512();
        DSV3_UNROLL
        for (int i = 0; i < 4; i++) {
            __mmask64 negative;
            __m512i w = iq_pair_avx512(type, block, i, &negative);
            __m512i scales = _mm512_permutexvar_epi32(_mm512_add_epi32(quarter, _mm512_set1_epi32(4 * i)), m);
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
                __m512i y = _mm512_loadu_si512((const void *)(a->qs + 64 * i));
                y = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(w, y), scales);
            }
        }
        float d = iq_step(type) * f16c_to_f32(iq_block_d_half(type, block));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * a->d), _mm512_cvtepi32_ps(isum[t]), acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = _mm512_reduce_add_ps(acc[t]);
}
/* four tokens at a time: batches of 6 or more go through the row blocks */
#define iq_tile_avx512_call(type, row, act, act_stride, n, out, out_stride, n_tok, unused)                     \
    iq_tile_avx512(type, row, act, act_stride, n, out, out_stride, n_tok)
DSV3_IQ_TILE_SET(DSV3_AVX512, avx512, iq_tile_avx512_call, 0)
#undef iq_tile_avx512_call

/* IQ4_XS 64 weights a step: both sub-blocks' 32 packed bytes as [low
   nibbles, high nibbles] of each (one lane shuffle and one per-word shift),
   the table's magnitudes looked up by vpshufb and its signs (indices 0-7
   are the negative entries) as a mask; the 6-bit scales (minus 32) of a
   block permuted into place as for the lattice types. n_tok <= 8. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void iq4_xs_tile_avx512(const uint8_t *row, const uint8_t *act,
                                                                     size_t act_stride, size_t n, float *out,
                                                                     size_t out_stride, int n_tok) {
    const __m512i magnitudes = _mm512_broadcast_i32x4(_mm_abs_epi8(_mm_loadu_si128((const __m128i *)(const void *)iq4nl_values)));
    const __m512i nibble_shift = _mm512_set_epi64(0x0004000400040004ll, 0x0004000400040004ll, 0, 0,
                                                  0x0004000400040004ll, 0x0004000400040004ll, 0, 0);
    __m512 acc[8];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm512_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 136 * b;
        const __m256i j = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        __m256i low = _mm256_srlv_epi32(_mm256_set1_epi32((int)read_u32le(block + 4)), _mm256_slli_epi32(j, 2));
        __m256i high = _mm256_srlv_epi32(_mm256_set1_epi32((int)read_u16le(block + 2)), _mm256_slli_epi32(j, 1));
        __m256i scale = _mm256_sub_epi32(_mm256_or_si256(_mm256_and_si256(low, _mm256_set1_epi32(15)),
                                                         _mm256_slli_epi32(_mm256_and_si256(high, _mm256_set1_epi32(3)), 4)),
                                         _mm256_set1_epi32(32));
        __m512i m = _mm512_castsi256_si512(_mm256_or_si256(_mm256_and_si256(scale, _mm256_set1_epi32(0xFFFF)),
                                                           _mm256_slli_epi32(scale, 16)));
        __m512i isum[8];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm512_setzero_si512();
        DSV3_UNROLL
        for (int i = 0; i < 4; i++) {
            __m512i packed = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(block + 8 + 32 * i)));
            packed = _mm512_shuffle_i64x2(packed, packed, 0x50); /* lanes 0, 0, 1, 1 */
            __m512i idx = _mm512_and_si512(_mm512_srlv_epi16(packed, nibble_shift), _mm512_set1_epi8(0x0F));
            __m512i w = _mm512_shuffle_epi8(magnitudes, idx);
            __mmask64 negative = _mm512_cmplt_epu8_mask(idx, _mm512_set1_epi8(8));
            __m512i scales = _mm512_permutexvar_epi32(
                _mm512_inserti64x4(_mm512_set1_epi32(2 * i), _mm256_set1_epi32(2 * i + 1), 1), m);
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
                __m512i y = _mm512_loadu_si512((const void *)(a->qs + 64 * i));
                y = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(w, y), scales);
            }
        }
        float dw = f16c_to_f32(read_u16le(block));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(a->d * dw), _mm512_cvtepi32_ps(isum[t]), acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = _mm512_reduce_add_ps(acc[t]);
}
#define DSV3_IQ4_XS_TILE(k) iq4_xs_tile_avx512(row, acts, act_stride, n, out, out_stride, k)
DSV3_TILE_KERNELS(DSV3_AVX512, iq4_xs_tiles_avx512, iq4_xs_act_dot_avx512, DSV3_IQ4_XS_TILE)
#undef DSV3_IQ4_XS_TILE

/* Q4_K / Q5_K: the AVX2 tiles with vpdpwssd, in 256-bit registers: on a Zen
   4 core they beat a 512-bit layout (which needs a permute per 64 weights for
   the scales) by ~10% for one token and for four. */
DSV3_AVX512 static inline __m256i scaled_pairs_vnni(__m256i isum, __m256i p, __m256i s) {
    return _mm256_dpwssd_epi32(isum, p, s);
}

/* Q6_K: each half of a block is 64 bytes of low nibbles (elements 0-63 low,
   64-127 high) and 32 bytes of 2-bit tops (element 32j + i in bits 2j of byte
   i). Broadcast over both register halves and shifted by a per-half count, the
   tops land in bits 4-5 for 64 consecutive elements at a time. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void q6_k_tile_body_avx512(const uint8_t *row, const uint8_t *act,
                                                                        size_t act_stride, size_t n, float *out,
                                                                        size_t out_stride, int n_tok) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i up_4_2 = halves_epi16(4, 2), down_0_2 = halves_epi16(0, 2);
    const long long lanes4 = 0x0001000100010001ll; /* a 64-bit word of four 16-bit ones */
    const __m512i ramp = _mm512_set_epi64(3 * lanes4, 3 * lanes4, 2 * lanes4, 2 * lanes4, lanes4, lanes4, 0, 0);
    __m256 acc[DSV3_TILE_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 210 * b;
        if (n_tok == 1) DSV3_PREFETCH_BLOCK(block, 210);
        __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(block + 192)));
        __m512i scales_wide = _mm512_castsi256_si512(scales16);
        __m512i isum[DSV3_TILE_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm512_setzero_si512();
        DSV3_UNROLL
        for (int half = 0; half < 2; half++) {
            __m512i ql = _mm512_loadu_si512((const void *)(block + 64 * half));
            __m512i qh =
                _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)(block + 128 + 32 * half)));
            /* ternary-logic 0xF8 is A | (B & C) */
            __m512i q0 = _mm512_ternarylogic_epi32(_mm512_and_si512(ql, m4), _mm512_sllv_epi16(qh, up_4_2), m30, 0xF8);
            __m512i q1 = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                                   _mm512_srlv_epi16(qh, down_0_2), m30, 0xF8);
            /* 16 elements per scale: 8 lanes of 16-bit pair sums each */
            __m512i s0 = _mm512_permutexvar_epi16(_mm512_add_epi16(ramp, _mm512_set1_epi16((short)(8 * half))),
                                                  scales_wide);
            __m512i s1 = _mm512_permutexvar_epi16(_mm512_add_epi16(ramp, _mm512_set1_epi16((short)(8 * half + 4))),
                                                  scales_wide);
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs + 128 * half;
                isum[t] = _mm512_dpwssd_epi32(isum[t], _mm512_maddubs_epi16(q0, _mm512_loadu_si512((const void *)y)),
                                              s0);
                isum[t] = _mm512_dpwssd_epi32(isum[t],
                                              _mm512_maddubs_epi16(q1, _mm512_loadu_si512((const void *)(y + 64))), s1);
            }
        }
        float d = f16c_to_f32(read_u16le(block + 208));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            /* every quant carries -32: subtract 32 * sum(scale * activation block sum) */
            __m256i offset = _mm256_madd_epi16(scales16, _mm256_loadu_si256((const __m256i *)(const void *)a->bsums));
            __m256i sum8 = _mm256_add_epi32(_mm512_castsi512_si256(isum[t]), _mm512_extracti64x4_epi64(isum[t], 1));
            sum8 = _mm256_sub_epi32(sum8, _mm256_slli_epi32(offset, 5));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(a->d * d), _mm256_cvtepi32_ps(sum8), acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

/* Q8_0: vpdpbusd multiplies unsigned by signed bytes and sums each four into
   32 bits: |w| times y carrying w's sign. Two blocks per 512-bit register (the
   weight scales of both as one vector, the activation scales put in its
   halves), so each pair of blocks costs a token one multiply, conversion and
   FMA in float; an odd last block goes through the low half alone. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void q8_0_tile_body_avx512(const uint8_t *row, const uint8_t *act,
                                                                        size_t act_stride, size_t n, float *out,
                                                                        size_t out_stride, int n_tok) {
    __m512 acc[DSV3_TILE_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm512_setzero_ps();
    size_t n_blocks = n / 32;
    for (size_t b = 0; b < n_blocks; b += 2) {
        int pair = b + 1 < n_blocks;
        const uint8_t *block = row + 34 * b, *next = pair ? block + 34 : block;
        if (n_tok == 1) DSV3_PREFETCH_BLOCK(block, 68);
        __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(block + 2))),
                                       _mm256_loadu_si256((const __m256i *)(const void *)(next + 2)), 1);
        __mmask16 lanes = pair ? (__mmask16)0xFFFF : (__mmask16)0x00FF; /* an odd last block: its half only */
        __m512i w_abs = _mm512_abs_epi8(w);
        __mmask64 negative = _mm512_movepi8_mask(w);
        __m512 d = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)read_u16le(block))),
                                                           _mm_set1_epi16((short)read_u16le(next)), 1));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block32 *a = (const act_block32 *)(const void *)(act + act_stride * t) + b;
            const act_block32 *a_next = pair ? a + 1 : a;
            __m512i y = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)a->qs)),
                                           _mm256_loadu_si256((const __m256i *)(const void *)a_next->qs), 1);
            y = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w_abs, y);
            __m512 da = _mm512_mask_broadcastss_ps(_mm512_set1_ps(a->d), 0xFF00, _mm_load_ss(&a_next->d));
            acc[t] = _mm512_mask3_fmadd_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(dot), acc[t], lanes);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = _mm512_reduce_add_ps(acc[t]);
}

/* Q4_K/Q5_K in 512-bit registers: a 32-byte chunk of quants broadcast to both
   halves and shifted by 0 / 4 bits gives sub-blocks 2c and 2c+1 side by side,
   which meet 64 contiguous activations in one maddubs and one vpdpwssd (half
   the instructions of the 256-bit body; Zen 5 runs 512-bit integer multiplies
   at full width). Each block's 16 int32 lanes are folded to the 8 of the
   256-bit body, lane j of the low half plus lane j of the high half being
   exactly the 256-bit body's lane j (integer sums), so every float operation
   after that, and so every result, is the same bits as q4_q5_k_tile_avx2's. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void q4_q5_k_tile_avx512(const uint8_t *row, const uint8_t *act,
                                                                      size_t act_stride, size_t n, float *out,
                                                                      size_t out_stride, int n_tok, int five_bits) {
    const __m512i low_nibbles = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
    const __m512i nibble_shift = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
    const size_t block_bytes = five_bits ? 176 : 144;
    __m256 acc[DSV3_TILE_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + block_bytes * b, *qs = block + (five_bits ? 48 : 16);
        if (n_tok == 1) DSV3_PREFETCH_BLOCK(block, block_bytes);
        __m128i scales_mins = q4_k_scales_mins(block + 4);
        /* the 8 scales as 16-bit values in every 128-bit lane */
        __m512i scales16 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(scales_mins));
        __m512i high = five_bits ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)(block + 16)))
                                 : _mm512_setzero_si512();
        __m512i isum[DSV3_TILE_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) isum[t] = _mm512_setzero_si512();
        DSV3_UNROLL
        for (int c = 0; c < 4; c++) {
            __m512i packed = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * c)));
            __m512i w = _mm512_and_si512(_mm512_srlv_epi64(packed, nibble_shift), low_nibbles);
            if (five_bits) { /* sub-block s takes its fifth bit from bit s of qh */
                __m512i shift = _mm512_set_epi64(2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c, 2 * c, 2 * c, 2 * c);
                w = _mm512_or_si512(w, _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi64(high, shift), one), 4));
            }
            /* scale 2c in the low half's 16-bit lanes, 2c+1 in the high half's */
            __m512i pick = _mm512_set_epi16(
                (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c),
                (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c),
                (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c),
                (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c),
                (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c), (short)(0x0302 + 0x0404 * c),
                (short)(0x0302 + 0x0404 * c), (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c),
                (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c),
                (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c),
                (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c),
                (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c),
                (short)(0x0100 + 0x0404 * c), (short)(0x0100 + 0x0404 * c));
            __m512i scale = _mm512_shuffle_epi8(scales16, pick);
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) {
                const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs + 64 * c;
                __m512i pairs = _mm512_maddubs_epi16(w, _mm512_loadu_si512((const void *)y));
                isum[t] = _mm512_dpwssd_epi32(isum[t], pairs, scale);
            }
        }
        __m256i mins16 = q4_k_mins_twice(scales_mins);
        __m128 d_dmin = _mm_cvtph_ps(_mm_cvtsi32_si128((int)read_u32le(block)));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            __m256i min_dot = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i *)(const void *)a->bsums));
            __m128 scale = _mm_mul_ps(d_dmin, _mm_set1_ps(a->d)); /* d * da, dmin * da */
            __m256i total = _mm256_add_epi32(_mm512_castsi512_si256(isum[t]), _mm512_extracti64x4_epi64(isum[t], 1));
            acc[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(scale), _mm256_cvtepi32_ps(total), acc[t]);
            acc[t] = _mm256_fnmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(scale)), _mm256_cvtepi32_ps(min_dot),
                                      acc[t]);
        }
    }
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = hsum256(acc[t]);
}

#define DSV3_Q4_K_TILE(k) q4_q5_k_tile_avx512(row, acts, act_stride, n, out, out_stride, k, 0)
#define DSV3_Q5_K_TILE(k) q4_q5_k_tile_avx512(row, acts, act_stride, n, out, out_stride, k, 1)
#define DSV3_Q6_K_TILE(k) q6_k_tile_body_avx512(row, acts, act_stride, n, out, out_stride, k)
#define DSV3_Q8_0_TILE(k) q8_0_tile_body_avx512(row, acts, act_stride, n, out, out_stride, k)
#define DSV3_Q2_K_TILE(k) q2_k_tile_avx2(row, acts, act_stride, n, out, out_stride, k, scaled_pairs_vnni)
#define DSV3_Q3_K_TILE(k) q3_k_tile_avx2(row, acts, act_stride, n, out, out_stride, k, scaled_pairs_vnni)
DSV3_TILE_KERNELS(DSV3_AVX512, q2_k_tile_avx512, q2_k_act_dot_avx512, DSV3_Q2_K_TILE)
DSV3_TILE_KERNELS(DSV3_AVX512, q3_k_tile_avx512, q3_k_act_dot_avx512, DSV3_Q3_K_TILE)
DSV3_TILE_KERNELS8(DSV3_AVX512, q4_k_tile_avx512, q4_k_act_dot_avx512, DSV3_Q4_K_TILE)
DSV3_TILE_KERNELS8(DSV3_AVX512, q5_k_tile_avx512, q5_k_act_dot_avx512, DSV3_Q5_K_TILE)
DSV3_TILE_KERNELS8(DSV3_AVX512, q6_k_tile_avx512, q6_k_act_dot_avx512, DSV3_Q6_K_TILE)
DSV3_TILE_KERNELS8(DSV3_AVX512, q8_0_tile_avx512, q8_0_act_dot_avx512, DSV3_Q8_0_TILE)
#undef DSV3_Q2_K_TILE
#undef DSV3_Q3_K_TILE
#undef DSV3_Q4_K_TILE
#undef DSV3_Q5_K_TILE
#undef DSV3_Q6_K_TILE
#undef DSV3_Q8_0_TILE


/* gemm_f32 for `rows` (1-4) rows of a: tiles of rows x 64 columns (16
   accumulators) over all of k, then 16 columns, then a masked remainder;
   every output one FMA chain over r in order, as the reference. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void gemm_rows_avx512(float *out, size_t out_stride, const float *a,
                                                                   size_t a_stride, const float *w, size_t w_stride,
                                                                   size_t k, size_t n, int accumulate, int rows) {
    size_t c = 0;
    for (; c + 64 <= n; c += 64) {
        __m512 acc[4][4];
        DSV3_UNROLL
        for (int i = 0; i < rows; i++)
            DSV3_UNROLL
            for (int v = 0; v < 4; v++)
                acc[i][v] = accumulate ? _mm512_loadu_ps(out + i * out_stride + c + 16 * v) : _mm512_setzero_ps();
        for (size_t r = 0; r < k; r++) {
            const float *wr = w + r * w_stride + c;
            __m512 w0 = _mm512_loadu_ps(wr), w1 = _mm512_loadu_ps(wr + 16), w2 = _mm512_loadu_ps(wr + 32),
                   w3 = _mm512_loadu_ps(wr + 48);
            DSV3_UNROLL
            for (int i = 0; i < rows; i++) {
                __m512 x = _mm512_set1_ps(a[i * a_stride + r]);
                acc[i][0] = _mm512_fmadd_ps(x, w0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(x, w1, acc[i][1]);
                acc[i][2] = _mm512_fmadd_ps(x, w2, acc[i][2]);
                acc[i][3] = _mm512_fmadd_ps(x, w3, acc[i][3]);
            }
        }
        DSV3_UNROLL
        for (int i = 0; i < rows; i++)
            DSV3_UNROLL
            for (int v = 0; v < 4; v++) _mm512_storeu_ps(out + i * out_stride + c + 16 * v, acc[i][v]);
    }
    for (; c < n; c += 16) {
        __mmask16 mask = n - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - c)) - 1);
        __m512 acc[4];
        DSV3_UNROLL
        for (int i = 0; i < rows; i++)
            acc[i] = accumulate ? _mm512_maskz_loadu_ps(mask, out + i * out_stride + c) : _mm512_setzero_ps();
        for (size_t r = 0; r < k; r++) {
            __m512 w0 = _mm512_maskz_loadu_ps(mask, w + r * w_stride + c);
            DSV3_UNROLL
            for (int i = 0; i < rows; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i * a_stride + r]), w0, acc[i]);
        }
        DSV3_UNROLL
        for (int i = 0; i < rows; i++) _mm512_mask_storeu_ps(out + i * out_stride + c, mask, acc[i]);
    }
}

DSV3_AVX512 static void gemm_f32_avx512(float *out, size_t out_stride, const float *a, size_t a_stride,
                                        const float *w, size_t w_stride, size_t m, size_t k, size_t n,
                                        int accumulate) {
    size_t i = 0;
    for (; i + 4 <= m; i += 4)
        gemm_rows_avx512(out + i * out_stride, out_stride, a + i * a_stride, a_stride, w, w_stride, k, n, accumulate,
                         4);
    for (; i < m; i++)
        gemm_rows_avx512(out + i * out_stride, out_stride, a + i * a_stride, a_stride, w, w_stride, k, n, accumulate,
                         1);
}

/* Sixteen elements of a cache row from element j on, as floats (kv_element's
   values); `masked` (a constant once inlined) reads only the lanes of mask and
   zeroes the rest, for a row's last elements. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512 kv_load16_avx512(const uint8_t *row, size_t j, int32_t kv_type,
                                                                     int masked, __mmask16 mask) {
    switch (kv_type) {
    case DSV3_KV_F32: {
        const float *f = (const float *)(const void *)row + j;
        return masked ? _mm512_maskz_loadu_ps(mask, f) : _mm512_loadu_ps(f);
    }
    case DSV3_KV_F16:
    case DSV3_KV_BF16: {
        const void *h = row + 2 * j;
        __m256i half = masked ? _mm256_maskz_loadu_epi16(mask, h) : _mm256_loadu_si256((const __m256i *)h);
        if (kv_type == DSV3_KV_F16) return _mm512_cvtph_ps(half);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
    }
    default: {
        const uint8_t *block = row + j / 32 * 34;
        const void *l = block + 2 + j % 32;
        __m128i levels = masked ? _mm_maskz_loadu_epi8(mask, l) : _mm_loadu_si128((const __m128i *)l);
        return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(levels)),
                             _mm512_set1_ps(_cvtsh_ss(read_u16le(block))));
    }
    }
}

/* Scores of nh heads x nt rows (constants once inlined) in registers: each
   row chunk decoded once feeds four heads, each query chunk four rows. The
   last width % 16 elements go through masked loads, so a (head, row) pair
   gets the same operations in any tile shape. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void kv_scores_tile_avx512(const float *q, size_t q_stride,
                                                                        const uint8_t *rows, size_t row_bytes,
                                                                        size_t width, int32_t kv_type, float *out,
                                                                        size_t out_stride, int nh, int nt) {
    __m512 acc[4][4];
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) acc[i][t] = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= width; j += 16) {
        __m512 x[4];
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) x[t] = kv_load16_avx512(rows + t * row_bytes, j, kv_type, 0, 0);
        DSV3_UNROLL
        for (int i = 0; i < nh; i++) {
            __m512 qv = _mm512_loadu_ps(q + i * q_stride + j);
            DSV3_UNROLL
            for (int t = 0; t < nt; t++) acc[i][t] = _mm512_fmadd_ps(qv, x[t], acc[i][t]);
        }
    }
    if (j < width) {
        __mmask16 mask = (__mmask16)((1u << (width - j)) - 1);
        __m512 x[4];
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) x[t] = kv_load16_avx512(rows + t * row_bytes, j, kv_type, 1, mask);
        DSV3_UNROLL
        for (int i = 0; i < nh; i++) {
            __m512 qv = _mm512_maskz_loadu_ps(mask, q + i * q_stride + j);
            DSV3_UNROLL
            for (int t = 0; t < nt; t++) acc[i][t] = _mm512_fmadd_ps(qv, x[t], acc[i][t]);
        }
    }
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) out[i * out_stride + t] = _mm512_reduce_add_ps(acc[i][t]);
}

DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void kv_scores_avx512_typed(const float *q, size_t q_stride,
                                                                         size_t n_heads, const uint8_t *rows,
                                                                         size_t row_bytes, size_t n_rows, size_t width,
                                                                         int32_t kv_type, float *out,
                                                                         size_t out_stride) {
    for (size_t h = 0; h < n_heads;) {
        int nh = n_heads - h >= 4 ? 4 : 1;
        const float *qh = q + h * q_stride;
        float *oh = out + h * out_stride;
        size_t t = 0;
        for (; t + 4 <= n_rows; t += 4) {
            if (nh == 4) kv_scores_tile_avx512(qh, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, oh + t, out_stride, 4, 4);
            else kv_scores_tile_avx512(qh, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, oh + t, out_stride, 1, 4);
        }
        for (; t < n_rows; t++) {
            if (nh == 4) kv_scores_tile_avx512(qh, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, oh + t, out_stride, 4, 1);
            else kv_scores_tile_avx512(qh, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, oh + t, out_stride, 1, 1);
        }
        h += (size_t)nh;
    }
}

DSV3_AVX512 static void kv_scores_avx512(const float *q, size_t q_stride, size_t n_heads, const uint8_t *rows,
                                         size_t row_bytes, size_t n_rows, size_t width, int32_t kv_type, float *out,
                                         size_t out_stride) {
    switch (kv_type) {
    case DSV3_KV_F32: kv_scores_avx512_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_F32, out, out_stride); break;
    case DSV3_KV_F16: kv_scores_avx512_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_F16, out, out_stride); break;
    case DSV3_KV_BF16: kv_scores_avx512_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_BF16, out, out_stride); break;
    default: kv_scores_avx512_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_Q8_0, out, out_stride); break;
    }
}

/* nh heads x nc chunks of 16 outputs in registers over all rows, the chunks
   from j on (masked: one chunk of the outputs in mask); each output one FMA
   chain over the rows in order, as the reference. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void kv_mix_tile_avx512(float *o, size_t o_stride, const float *p,
                                                                     size_t p_stride, const uint8_t *rows,
                                                                     size_t row_bytes, size_t n_rows, size_t j,
                                                                     int32_t kv_type, int nh, int nc, int masked,
                                                                     __mmask16 mask) {
    __m512 acc[4][4];
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) acc[i][c] = _mm512_setzero_ps();
    for (size_t t = 0; t < n_rows; t++) {
        __m512 x[4];
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) x[c] = kv_load16_avx512(rows + t * row_bytes, j + 16 * c, kv_type, masked, mask);
        DSV3_UNROLL
        for (int i = 0; i < nh; i++) {
            __m512 w = _mm512_set1_ps(p[i * p_stride + t]);
            DSV3_UNROLL
            for (int c = 0; c < nc; c++) acc[i][c] = _mm512_fmadd_ps(w, x[c], acc[i][c]);
        }
    }
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) {
            if (masked) _mm512_mask_storeu_ps(o + i * o_stride + j + 16 * c, mask, acc[i][c]);
            else _mm512_storeu_ps(o + i * o_stride + j + 16 * c, acc[i][c]);
        }
}

DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void kv_mix_avx512_typed(float *o, size_t o_stride, size_t n_heads,
                                                                      const float *p, size_t p_stride,
                                                                      const uint8_t *rows, size_t row_bytes,
                                                                      size_t n_rows, size_t n, int32_t kv_type) {
    for (size_t h = 0; h < n_heads;) {
        int nh = n_heads - h >= 4 ? 4 : 1;
        float *oh = o + h * o_stride;
        const float *ph = p + h * p_stride;
        size_t j = 0;
        for (; j + 64 <= n; j += 64) {
            if (nh == 4) kv_mix_tile_avx512(oh, o_stride, ph, p_stride, rows, row_bytes, n_rows, j, kv_type, 4, 4, 0, 0);
            else kv_mix_tile_avx512(oh, o_stride, ph, p_stride, rows, row_bytes, n_rows, j, kv_type, 1, 4, 0, 0);
        }
        for (; j + 16 <= n; j += 16) {
            if (nh == 4) kv_mix_tile_avx512(oh, o_stride, ph, p_stride, rows, row_bytes, n_rows, j, kv_type, 4, 1, 0, 0);
            else kv_mix_tile_avx512(oh, o_stride, ph, p_stride, rows, row_bytes, n_rows, j, kv_type, 1, 1, 0, 0);
        }
        if (j < n) {
            __mmask16 mask = (__mmask16)((1u << (n - j)) - 1);
            if (nh == 4) kv_mix_tile_avx512(oh, o_stride, ph, p_stride, rows, row_bytes, n_rows, j, kv_type, 4, 1, 1, mask);
            else kv_mix_tile_avx512(oh, o_stride, ph, p_stride, rows, row_bytes, n_rows, j, kv_type, 1, 1, 1, mask);
        }
        h += (size_t)nh;
    }
}

DSV3_AVX512 static void kv_mix_avx512(float *o, size_t o_stride, size_t n_heads, const float *p, size_t p_stride,
                                      const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                      int32_t kv_type) {
    switch (kv_type) {
    case DSV3_KV_F32: kv_mix_avx512_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_F32); break;
    case DSV3_KV_F16: kv_mix_avx512_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_F16); break;
    case DSV3_KV_BF16: kv_mix_avx512_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_BF16); break;
    default: kv_mix_avx512_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_Q8_0); break;
    }
}

/* ---- AVX-512 VNNI row blocks: a batch's integer products without AMX ----
   The tile kernels above decode each weight block again for every few
   tokens, and spend a shuffle-and-sum epilogue per row and token; a batch
   instead goes through blocks of 16 weight rows. A block's quants are
   unpacked once into bytes and transposed so that a 64-byte vector holds four
   consecutive weights of each of the 16 rows (one row per 32-bit lane); then
   vpdpbusd multiplies it with four activation bytes of one token broadcast
   from memory: 64 multiply-adds per instruction, the rows' sums in lanes, no
   shuffles and no horizontal sums (in cache on a Zen 5 core, Q4_K with 48
   tokens: ~250 G multiply-adds/s against the tile kernel's ~101). Weights are the unsigned operand: K-quant quants
   are unsigned, Q8_0's carry +128 (taken off again with the activation
   block's sum). Sub-block sums are exact int32, scaled in integers
   (vpmulld), so every block's integer total is the scalar reference's, and
   each token then gets the reference's float operations in its order: the
   results are the scalar kernels' (and the AMX kernels') to rounding, the
   same bits whichever rows, tokens or threads share a block. The layout is
   the one described with the AVX-VNNI row blocks above. */
#  define VNNI_ROW_TOKENS 8 /* tokens per pass over a row block: 3 x 8 accumulators in registers */

/* r[i] holds 16 words of row i; afterwards r[j] holds word j of every row
   (row i in lane i): four rounds of swapping off-diagonal blocks, 8x8 down
   to 1x1. */
static const int32_t vnni_transpose_index[4][2][16] = {
    {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}, {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}},
    {{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27}, {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}},
    {{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29}, {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}},
    {{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}, {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}},
};

DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void transpose_16x16_epi32(__m512i r[16]) {
    /* written out: GCC unrolls loops by 8 at most, and a loop left over the
       16 registers kept them in memory (the unpack then cost more than 8
       tokens' products) */
#  define DSV3_SWAP(i, d)                                                                                      \
      do {                                                                                                     \
          __m512i a_ = r[i], b_ = r[(i) + (d)];                                                                \
          r[i] = _mm512_permutex2var_epi32(a_, lo, b_);                                                        \
          r[(i) + (d)] = _mm512_permutex2var_epi32(a_, hi, b_);                                                \
      } while (0)
#  define DSV3_ROUND(round, d, i0, i1, i2, i3, i4, i5, i6, i7)                                                 \
      do {                                                                                                     \
          const __m512i lo = _mm512_loadu_si512((const void *)vnni_transpose_index[round][0]);                  \
          const __m512i hi = _mm512_loadu_si512((const void *)vnni_transpose_index[round][1]);                  \
          DSV3_SWAP(i0, d); DSV3_SWAP(i1, d); DSV3_SWAP(i2, d); DSV3_SWAP(i3, d);                              \
          DSV3_SWAP(i4, d); DSV3_SWAP(i5, d); DSV3_SWAP(i6, d); DSV3_SWAP(i7, d);                              \
      } while (0)
    DSV3_ROUND(0, 8, 0, 1, 2, 3, 4, 5, 6, 7);
    DSV3_ROUND(1, 4, 0, 1, 2, 3, 8, 9, 10, 11);
    DSV3_ROUND(2, 2, 0, 1, 4, 5, 8, 9, 12, 13);
    DSV3_ROUND(3, 1, 0, 2, 4, 6, 8, 10, 12, 14);
#  undef DSV3_ROUND
#  undef DSV3_SWAP
}

/* 16 words (64 bytes) of each row from `offset`; zero for rows >= n_rows. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void vnni_load_words(__m512i r[16], const uint8_t *rows, size_t row_bytes,
                                                                  size_t n_rows, size_t offset) {
    DSV3_UNROLL16
    for (size_t m = 0; m < 16; m++)
        r[m] = m < n_rows ? _mm512_loadu_si512((const void *)(rows + m * row_bytes + offset)) : _mm512_setzero_si512();
}

/* Four bytes of a token's activations in every lane (a broadcast load). */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512i vnni_broadcast(const void *p) {
    return _mm512_set1_epi32((int)read_u32le((const uint8_t *)p));
}

/* The 4 bytes at `offset` of each of the 16 rows, row i in lane i (zero for
   rows >= n_rows): the blocks' scales, gathered instead of 16 scalar loads
   and conversions per field (which cost more than the quants' transposes).
   Row-block kernels are only given rows shorter than 2^27 bytes, so the
   offsets fit 32 bits. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512i vnni_gather_words(const uint8_t *rows, size_t row_bytes,
                                                                       size_t n_rows, size_t offset) {
    const __m512i index = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32((int)row_bytes));
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), (__mmask16)((1u << n_rows) - 1), index,
                                       (const void *)(rows + offset), 1);
}

/* The low 16 bits of each lane as a half-precision float. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512 vnni_halves_to_f32(__m512i words) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
}

/* The row block's results for n_tok tokens (acc[t]: token t's 16 rows). */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void vnni_store_out(const __m512 *acc, int n_tok, size_t n_rows, float *out,
                                                                 size_t out_stride) {
    __mmask16 rows = (__mmask16)((1u << n_rows) - 1);
    for (int t = 0; t < n_tok; t++) _mm512_mask_storeu_ps(out + t * out_stride, rows, acc[t]);
}

/* A row block's kernel: unpack the rows into the scratch, then tokens in
   passes of up to VNNI_ROW_TOKENS, each pass an inlined body with its token
   count fixed (so its accumulators stay in registers). */
#  define DSV3_VNNI_PASSES(name, body)                                                                         \
      DSV3_AVX512 static void name(const uint8_t *scratch, size_t n, const uint8_t *acts, size_t act_stride,  \
                                   size_t n_tok, size_t n_rows, float *out, size_t out_stride) {               \
          for (size_t t = 0; t < n_tok; t += VNNI_ROW_TOKENS) {                                                \
              const uint8_t *act = acts + t * act_stride;                                                      \
              float *o = out + t * out_stride;                                                                 \
              switch (n_tok - t < VNNI_ROW_TOKENS ? n_tok - t : VNNI_ROW_TOKENS) {                             \
              case 1: body(scratch, n, act, act_stride, n_rows, o, out_stride, 1); break;                      \
              case 2: body(scratch, n, act, act_stride, n_rows, o, out_stride, 2); break;                      \
              case 3: body(scratch, n, act, act_stride, n_rows, o, out_stride, 3); break;                      \
              case 4: body(scratch, n, act, act_stride, n_rows, o, out_stride, 4); break;                      \
              case 5: body(scratch, n, act, act_stride, n_rows, o, out_stride, 5); break;                      \
              case 6: body(scratch, n, act, act_stride, n_rows, o, out_stride, 6); break;                      \
              case 7: body(scratch, n, act, act_stride, n_rows, o, out_stride, 7); break;                      \
              default: body(scratch, n, act, act_stride, n_rows, o, out_stride, 8); break;                     \
              }                                                                                                \
          }                                                                                                    \
      }
/* passes: the DSV3_VNNI_PASSES function of the unpacked layout (one per
   layout, shared by the types unpacked into it) */
#  define DSV3_VNNI_ROWS(name, unpack, passes)                                                                 \
      DSV3_AVX512 static void name(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *acts,   \
                                   size_t act_stride, size_t n_tok, size_t n, float *out, size_t out_stride,   \
                                   uint8_t *scratch) {                                                         \
          unpack(rows, row_bytes, n_rows, n, scratch);                                                         \
          passes(scratch, n, acts, act_stride, n_tok, n_rows, out, out_stride);                                \
      }

DSV3_AVX512 static void q8_0_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                         uint8_t *out) {
    const __m512i sign = _mm512_set1_epi8((char)0x80);
    size_t n_blocks = n / 32;
    for (size_t b = 0; b < n_blocks; b += 2) {
        int pair = b + 1 < n_blocks;
        __m512i r[16];
        DSV3_UNROLL16
        for (size_t m = 0; m < 16; m++) {
            const uint8_t *block = rows + m * row_bytes + 34 * b;
            __m256i first = m < n_rows ? _mm256_loadu_si256((const __m256i *)(const void *)(block + 2))
                                       : _mm256_setzero_si256();
            __m256i second = m < n_rows && pair ? _mm256_loadu_si256((const __m256i *)(const void *)(block + 36))
                                                : _mm256_setzero_si256();
            r[m] = _mm512_inserti64x4(_mm512_castsi256_si512(first), second, 1);
        }
        transpose_16x16_epi32(r);
        DSV3_UNROLL16
        for (int k = 0; k < 8 * (1 + pair); k++)
            _mm512_store_si512(out + VNNI_Q8_0_BLOCK * (b + k / 8) + 64 * (k % 8), _mm512_xor_si512(r[k], sign));
        for (size_t i = 0; i <= (size_t)pair; i++)
            _mm512_store_ps(out + VNNI_Q8_0_BLOCK * (b + i) + 512,
                            vnni_halves_to_f32(vnni_gather_words(rows, row_bytes, n_rows, 34 * (b + i))));
    }
}

/* IQ4_NL: Q8_0's layout with the table's values as the quants. */
DSV3_AVX512 static void iq4_nl_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                           uint8_t *out) {
    const __m512i sign = _mm512_set1_epi8((char)0x80);
    const __m256i table2 = iq4_table_avx2();
    size_t n_blocks = n / 32;
    for (size_t b = 0; b < n_blocks; b += 2) {
        int pair = b + 1 < n_blocks;
        __m512i r[16];
        DSV3_UNROLL16
        for (size_t m = 0; m < 16; m++) {
            const uint8_t *block = rows + m * row_bytes + 18 * b;
            __m256i first = m < n_rows ? iq4_lookup_avx2(table2, block + 2) : _mm256_setzero_si256();
            __m256i second = m < n_rows && pair ? iq4_lookup_avx2(table2, block + 20) : _mm256_setzero_si256();
            r[m] = _mm512_inserti64x4(_mm512_castsi256_si512(first), second, 1);
        }
        transpose_16x16_epi32(r);
        DSV3_UNROLL16
        for (int k = 0; k < 8 * (1 + pair); k++)
            _mm512_store_si512(out + VNNI_Q8_0_BLOCK * (b + k / 8) + 64 * (k % 8), _mm512_xor_si512(r[k], sign));
        for (size_t i = 0; i <= (size_t)pair; i++)
            _mm512_store_ps(out + VNNI_Q8_0_BLOCK * (b + i) + 512,
                            vnni_halves_to_f32(vnni_gather_words(rows, row_bytes, n_rows, 18 * (b + i))));
    }
}

DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void q8_0_vnni_body(const uint8_t *unpacked, size_t n, const uint8_t *act,
                                                                 size_t act_stride, size_t n_rows, float *out,
                                                                 size_t out_stride, int n_tok) {
    __m512 acc[VNNI_ROW_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm512_setzero_ps();
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *base = unpacked + VNNI_Q8_0_BLOCK * b;
        const act_block32 *a[VNNI_ROW_TOKENS];
        __m512i isum[VNNI_ROW_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            a[t] = (const act_block32 *)(const void *)(act + act_stride * t) + b;
            isum[t] = _mm512_set1_epi32(-128 * a[t]->sum); /* the +128 of every weight */
        }
        DSV3_UNROLL
        for (int k = 0; k < 8; k++) {
            __m512i w = _mm512_load_si512((const void *)(base + 64 * k));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++)
                isum[t] = _mm512_dpbusd_epi32(isum[t], w, vnni_broadcast(a[t]->qs + 4 * k));
        }
        __m512 dw = _mm512_load_ps((const void *)(base + 512));
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) /* the reference's f16(dw) * da * isum, then the running sum */
            acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t]->d)),
                                                         _mm512_cvtepi32_ps(isum[t])));
    }
    vnni_store_out(acc, n_tok, n_rows, out, out_stride);
}

/* Bit k (0-7) of every byte moved to bit 4, the rest cleared: Q5_K's fifth
   bits. Shifts of 16-bit lanes carry bits across bytes, never into bit 4. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512i bit_to_4_avx512(__m512i v, int k) {
    __m512i moved = k <= 4 ? _mm512_slli_epi16(v, (unsigned)(4 - k)) : _mm512_srli_epi16(v, (unsigned)(k - 4));
    return _mm512_and_si512(moved, _mm512_set1_epi8(0x10));
}

/* Q4_K, and Q5_K in Q4_K's layout: its quants 0-31 with the fifth bits from
   qh (bit 2c of qh byte i for element i of sub-block 2c, bit 2c + 1 for
   sub-block 2c + 1); scales, minimums, d and dmin are laid out alike. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void q4_q5_k_vnni_unpack(const uint8_t *rows, size_t row_bytes,
                                                                     size_t n_rows, size_t n, uint8_t *out,
                                                                     int five_bits) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const size_t block_bytes = five_bits ? 176 : 144, qs = five_bits ? 48 : 16;
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        __m512i qh[16];
        if (five_bits) { /* words 0-7: the 32 bytes of qh */
            vnni_load_words(qh, rows, row_bytes, n_rows, block_bytes * b + 16);
            transpose_16x16_epi32(qh);
        }
        for (int h = 0; h < 2; h++) {
            __m512i r[16];
            vnni_load_words(r, rows, row_bytes, n_rows, block_bytes * b + qs + 64 * h);
            transpose_16x16_epi32(r);
            /* word 16h + j: bytes 32c + 4i (c = 2h + j / 8, i = j % 8), whose
               low nibbles are elements 64c + 4i.., high nibbles 64c + 32 + 4i.. */
            DSV3_UNROLL16
            for (int j = 0; j < 16; j++) {
                int c = 2 * h + j / 8, i = j % 8;
                __m512i lo = _mm512_and_si512(r[j], low4), hi = _mm512_and_si512(_mm512_srli_epi16(r[j], 4), low4);
                if (five_bits) {
                    lo = _mm512_or_si512(lo, bit_to_4_avx512(qh[i], 2 * c));
                    hi = _mm512_or_si512(hi, bit_to_4_avx512(qh[i], 2 * c + 1));
                }
                _mm512_store_si512(base + 64 * (16 * c + i), lo);
                _mm512_store_si512(base + 64 * (16 * c + 8 + i), hi);
            }
        }
        int32_t *scales = (int32_t *)(void *)(base + 4096), *min_pairs = (int32_t *)(void *)(base + 5120);
        float *d = (float *)(void *)(base + 5632);
        /* d and dmin, then the 12 bytes of 6-bit scales and minimums (as in
           k_scale_min: sub-blocks 0-3 in the low 6 bits of bytes 0-3 and
           4-7; 4-7 in the nibbles of bytes 8-11, their top bits in bits 6-7
           of bytes 0-3 and 4-7) */
        __m512i d_dmin = vnni_gather_words(rows, row_bytes, n_rows, block_bytes * b);
        __m512i w0 = vnni_gather_words(rows, row_bytes, n_rows, block_bytes * b + 4);
        __m512i w1 = vnni_gather_words(rows, row_bytes, n_rows, block_bytes * b + 8);
        __m512i w2 = vnni_gather_words(rows, row_bytes, n_rows, block_bytes * b + 12);
        const __m512i six = _mm512_set1_epi32(63), four = _mm512_set1_epi32(15), top = _mm512_set1_epi32(0x30);
        for (int j = 0; j < 4; j++) {
            __m512i sc = _mm512_and_si512(_mm512_srli_epi32(w0, 8 * j), six);
            __m512i mn = _mm512_and_si512(_mm512_srli_epi32(w1, 8 * j), six);
            __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 8 * j), four),
                                            _mm512_and_si512(_mm512_srli_epi32(w0, 8 * j + 2), top));
            __m512i mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 8 * j + 4), four),
                                            _mm512_and_si512(_mm512_srli_epi32(w1, 8 * j + 2), top));
            _mm512_store_si512(scales + 16 * j, sc);
            _mm512_store_si512(scales + 16 * (j + 4), sc_hi);
            _mm512_store_si512(min_pairs + 16 * j, _mm512_or_si512(mn, _mm512_slli_epi32(mn, 16)));
            _mm512_store_si512(min_pairs + 16 * (j + 4), _mm512_or_si512(mn_hi, _mm512_slli_epi32(mn_hi, 16)));
        }
        _mm512_store_ps(d, vnni_halves_to_f32(d_dmin));
        _mm512_store_ps(d + 16, vnni_halves_to_f32(_mm512_srli_epi32(d_dmin, 16)));
    }
}
DSV3_AVX512 static void q4_k_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                         uint8_t *out) {
    q4_q5_k_vnni_unpack(rows, row_bytes, n_rows, n, out, 0);
}
DSV3_AVX512 static void q5_k_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                         uint8_t *out) {
    q4_q5_k_vnni_unpack(rows, row_bytes, n_rows, n, out, 1);
}

/* Q2_K in the K-quants' layout with 16-element sub-blocks and minimums:
   quants 0-3; element 128n + 32j + 16h + l is bits 2j of qs byte
   32n + 16h + l, so group 32n + 8j + 4h + i is qs word 8n + 4h + i shifted by
   2j; sub-block s's scale and minimum are the nibbles of scales[s]. */
DSV3_AVX512 static void q2_k_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                         uint8_t *out) {
    const __m512i two_bits = _mm512_set1_epi8(0x03), low4 = _mm512_set1_epi32(15);
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        __m512i r[16];
        vnni_load_words(r, rows, row_bytes, n_rows, 84 * b + 16);
        transpose_16x16_epi32(r);
        DSV3_UNROLL
        for (int g = 0; g < 64; g++) {
            int word = 8 * (g / 32) + 4 * (g % 8 / 4) + g % 4, shift = 2 * (g % 32 / 8);
            _mm512_store_si512(base + 64 * g, _mm512_and_si512(_mm512_srli_epi16(r[word], (unsigned)shift), two_bits));
        }
        int32_t *scales = (int32_t *)(void *)(base + 4096), *min_pairs = (int32_t *)(void *)(base + 5120);
        float *d = (float *)(void *)(base + 5632);
        for (int w = 0; w < 4; w++) { /* scales[4w..4w+3] */
            __m512i word = vnni_gather_words(rows, row_bytes, n_rows, 84 * b + 4 * w), mn[4];
            for (int k = 0; k < 4; k++) {
                _mm512_store_si512(scales + 16 * (4 * w + k), _mm512_and_si512(_mm512_srli_epi32(word, 8 * k), low4));
                mn[k] = _mm512_and_si512(_mm512_srli_epi32(word, 8 * k + 4), low4);
            }
            for (int p = 0; p < 2; p++)
                _mm512_store_si512(min_pairs + 16 * (2 * w + p), _mm512_or_si512(mn[2 * p], _mm512_slli_epi32(mn[2 * p + 1], 16)));
        }
        __m512i d_dmin = vnni_gather_words(rows, row_bytes, n_rows, 84 * b + 80);
        _mm512_store_ps(d, vnni_halves_to_f32(d_dmin));
        _mm512_store_ps(d + 16, vnni_halves_to_f32(_mm512_srli_epi32(d_dmin, 16)));
    }
}

/* Q3_K in Q6_K's layout with offset 4: element 128n + 32j + 16h + l is
   q2 = bits 2j of qs byte 32n + 16h + l, less 4 unless bit 4n + j of hmask
   byte 16h + l is set, so u = q2 + 4 hbit in 0-7 carries +4; group
   32n + 8j + 4h + i takes qs word 8n + 4h + i and hmask word 4h + i. The 16
   scales are 6 bits less 32: low nibbles in bytes 0-7 (sub-blocks 0-7) and
   their high nibbles (8-15), the top two bits in bytes 8-11. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline __m512i bit_to_2_avx512(__m512i v, int k) {
    __m512i moved = k <= 2 ? _mm512_slli_epi16(v, (unsigned)(2 - k)) : _mm512_srli_epi16(v, (unsigned)(k - 2));
    return _mm512_and_si512(moved, _mm512_set1_epi8(0x04));
}
DSV3_AVX512 static void q3_k_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                         uint8_t *out) {
    const __m512i two_bits = _mm512_set1_epi8(0x03), nibbles = _mm512_set1_epi32(0x0F0F0F0F),
                  tops = _mm512_set1_epi32(0x03030303);
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        __m512i qs[16], hm[16];
        vnni_load_words(qs, rows, row_bytes, n_rows, 110 * b + 32);
        transpose_16x16_epi32(qs);
        vnni_load_words(hm, rows, row_bytes, n_rows, 110 * b); /* words 0-7: hmask; 8-15: qs, unused */
        transpose_16x16_epi32(hm);
        DSV3_UNROLL
        for (int g = 0; g < 64; g++) {
            int n_half = g / 32, j = g % 32 / 8, h = g % 8 / 4, i = g % 4;
            __m512i q2 = _mm512_and_si512(_mm512_srli_epi16(qs[8 * n_half + 4 * h + i], (unsigned)(2 * j)), two_bits);
            _mm512_store_si512(base + 64 * g, _mm512_or_si512(q2, bit_to_2_avx512(hm[4 * h + i], 4 * n_half + j)));
        }
        int32_t *scales = (int32_t *)(void *)(base + 4096), *scale_pairs = (int32_t *)(void *)(base + 5120);
        __m512i a0 = vnni_gather_words(rows, row_bytes, n_rows, 110 * b + 96);
        __m512i a1 = vnni_gather_words(rows, row_bytes, n_rows, 110 * b + 100);
        __m512i top = vnni_gather_words(rows, row_bytes, n_rows, 110 * b + 104);
        __m512i words[4] = {
            _mm512_or_si512(_mm512_and_si512(a0, nibbles), _mm512_slli_epi32(_mm512_and_si512(top, tops), 4)),
            _mm512_or_si512(_mm512_and_si512(a1, nibbles),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(top, 2), tops), 4)),
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(a0, 4), nibbles),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(top, 4), tops), 4)),
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(a1, 4), nibbles),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(top, 6), tops), 4))};
        for (int w = 0; w < 4; w++) {
            __m512i sc[4];
            for (int k = 0; k < 4; k++) {
                sc[k] = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(words[w], 8 * k), _mm512_set1_epi32(0xFF)),
                                         _mm512_set1_epi32(32));
                _mm512_store_si512(scales + 16 * (4 * w + k), sc[k]);
            }
            for (int p = 0; p < 2; p++)
                _mm512_store_si512(scale_pairs + 16 * (2 * w + p),
                                   _mm512_or_si512(_mm512_and_si512(sc[2 * p], _mm512_set1_epi32(0xFFFF)),
                                                   _mm512_slli_epi32(sc[2 * p + 1], 16)));
        }
        /* d in the top half of the word at 106 (one at 108 would read past the block) */
        _mm512_store_ps((float *)(void *)(base + 5632),
                        vnni_halves_to_f32(_mm512_srli_epi32(vnni_gather_words(rows, row_bytes, n_rows, 110 * b + 106), 16)));
    }
}

DSV3_AVX512 static void q6_k_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                         uint8_t *out) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), top2 = _mm512_set1_epi8(0x30);
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        __m512i qh[16];
        vnni_load_words(qh, rows, row_bytes, n_rows, 210 * b + 128);
        transpose_16x16_epi32(qh);
        for (int h = 0; h < 2; h++) {
            __m512i ql[16];
            vnni_load_words(ql, rows, row_bytes, n_rows, 210 * b + 64 * h);
            transpose_16x16_epi32(ql);
            /* ql word w (i = w % 8, s = w / 8): low nibbles are elements
               128h + 32s + 4i.., high nibbles 128h + 32(s + 2) + 4i..; their
               top bits are in bits 2s and 2(s + 2) of qh word 8h + i */
            DSV3_UNROLL16
            for (int w = 0; w < 16; w++) {
                int i = w % 8, s = w / 8;
                __m512i top = qh[8 * h + i];
                __m512i low_top = s ? _mm512_slli_epi16(top, 2) : _mm512_slli_epi16(top, 4);
                __m512i high_top = s ? _mm512_srli_epi16(top, 2) : top;
                __m512i lo = _mm512_ternarylogic_epi32(_mm512_and_si512(ql[w], low4), low_top, top2, 0xF8);
                __m512i hi = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql[w], 4), low4), high_top,
                                                       top2, 0xF8);
                _mm512_store_si512(base + 64 * (32 * h + 8 * s + i), lo);
                _mm512_store_si512(base + 64 * (32 * h + 8 * (s + 2) + i), hi);
            }
        }
        int32_t *scales = (int32_t *)(void *)(base + 4096), *scale_pairs = (int32_t *)(void *)(base + 5120);
        float *d = (float *)(void *)(base + 5632);
        /* the 16 int8 scales, 4 per word; d in the top half of the word at 206
           (one at 208 would read past the block) */
        for (int w = 0; w < 4; w++) {
            __m512i word = vnni_gather_words(rows, row_bytes, n_rows, 210 * b + 192 + 4 * w), sc[4];
            for (int k = 0; k < 4; k++) {
                sc[k] = _mm512_srai_epi32(_mm512_slli_epi32(word, 24 - 8 * k), 24);
                _mm512_store_si512(scales + 16 * (4 * w + k), sc[k]);
            }
            for (int p = 0; p < 2; p++)
                _mm512_store_si512(scale_pairs + 16 * (2 * w + p),
                                   _mm512_or_si512(_mm512_and_si512(sc[2 * p], _mm512_set1_epi32(0xFFFF)),
                                                   _mm512_slli_epi32(sc[2 * p + 1], 16)));
        }
        _mm512_store_ps(d, vnni_halves_to_f32(_mm512_srli_epi32(vnni_gather_words(rows, row_bytes, n_rows, 210 * b + 206), 16)));
    }
}

/* offset_shift: 0 for Q4_K and Q2_K (which have minimums); else every quant
   carries +(1 << offset_shift) (Q6_K 32, the IQ types 64), taken off through
   the activations' sums. sub_groups: 4-byte groups per sub-block (8 for
   32-element sub-blocks, 4 for 16). */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void k_quant_vnni_body(const uint8_t *unpacked, size_t n,
                                                                    const uint8_t *act, size_t act_stride,
                                                                    size_t n_rows, float *out, size_t out_stride,
                                                                    int n_tok, int offset_shift, int sub_groups) {
    const int six_bits = offset_shift != 0; /* no dmin */
    __m512 acc[VNNI_ROW_TOKENS];
    DSV3_UNROLL
    for (int t = 0; t < n_tok; t++) acc[t] = _mm512_setzero_ps();
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *base = unpacked + VNNI_K_SUPER * b;
        const int32_t *scales = (const int32_t *)(const void *)(base + 4096);
        const int32_t *pairs = (const int32_t *)(const void *)(base + 5120);
        const act_block256 *a[VNNI_ROW_TOKENS];
        __m512i scaled[VNNI_ROW_TOKENS], paired[VNNI_ROW_TOKENS];
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            a[t] = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            scaled[t] = paired[t] = _mm512_setzero_si512();
        }
        for (int j = 0; j < 64 / sub_groups; j++) { /* sub-blocks: exact int32 sums, scaled in integers */
            __m512i isum[VNNI_ROW_TOKENS];
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) isum[t] = _mm512_setzero_si512();
            DSV3_UNROLL
            for (int k = 0; k < sub_groups; k++) {
                int group = sub_groups * j + k;
                __m512i w = _mm512_load_si512((const void *)(base + 64 * group));
                DSV3_UNROLL
                for (int t = 0; t < n_tok; t++)
                    isum[t] = _mm512_dpbusd_epi32(isum[t], w, vnni_broadcast(a[t]->qs + 4 * group));
            }
            __m512i scale = _mm512_load_si512((const void *)(scales + 16 * j));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++) scaled[t] = _mm512_add_epi32(scaled[t], _mm512_mullo_epi32(isum[t], scale));
        }
        for (int p = 0; p < 8; p++) {
            __m512i pair = _mm512_load_si512((const void *)(pairs + 16 * p));
            DSV3_UNROLL
            for (int t = 0; t < n_tok; t++)
                paired[t] = _mm512_dpwssd_epi32(paired[t], pair, vnni_broadcast(a[t]->bsums + 2 * p));
        }
        const float *d = (const float *)(const void *)(base + 5632);
        __m512 dv = _mm512_load_ps(d), dmin = six_bits ? dv : _mm512_load_ps(d + 16); /* Q6_K has no dmin */
        DSV3_UNROLL
        for (int t = 0; t < n_tok; t++) {
            if (six_bits) { /* the reference's da * d * (scaled - 32 * offset), 64 for IQ */
                __m512i total = _mm512_sub_epi32(scaled[t], _mm512_slli_epi32(paired[t], offset_shift));
                acc[t] = _mm512_add_ps(
                    acc[t], _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(a[t]->d), dv), _mm512_cvtepi32_ps(total)));
            } else { /* the reference's da * (d * scaled - dmin * mins) */
                __m512 dot = _mm512_sub_ps(_mm512_mul_ps(dv, _mm512_cvtepi32_ps(scaled[t])),
                                           _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(paired[t])));
                acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_set1_ps(a[t]->d), dot));
            }
        }
    }
    vnni_store_out(acc, n_tok, n_rows, out, out_stride);
}
#  define q4_k_vnni_body(...) k_quant_vnni_body(__VA_ARGS__, 0, 8)
#  define q2_k_vnni_body(...) k_quant_vnni_body(__VA_ARGS__, 0, 4)
#  define q6_k_vnni_body(...) k_quant_vnni_body(__VA_ARGS__, 5, 4)
#  define q3_k_vnni_body(...) k_quant_vnni_body(__VA_ARGS__, 2, 4)
#  define iq_vnni_body(...) k_quant_vnni_body(__VA_ARGS__, 6, 4)
DSV3_VNNI_PASSES(q8_0_vnni_passes, q8_0_vnni_body)
DSV3_VNNI_PASSES(q4_k_vnni_passes, q4_k_vnni_body)
DSV3_VNNI_PASSES(q2_k_vnni_passes, q2_k_vnni_body)
DSV3_VNNI_PASSES(q3_k_vnni_passes, q3_k_vnni_body)
DSV3_VNNI_PASSES(q6_k_vnni_passes, q6_k_vnni_body)
DSV3_VNNI_PASSES(iq_vnni_passes, iq_vnni_body)

/* 16 rows of 256 bytes, row by row, to the super-block layout: word k of
   the output is bytes 4k..4k+3 of every row. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void vnni_transpose_super(const uint8_t *bytes, uint8_t *base) {
    for (int h = 0; h < 4; h++) {
        __m512i words[16];
        vnni_load_words(words, bytes, 256, 16, 64 * (size_t)h);
        transpose_16x16_epi32(words);
        DSV3_UNROLL16
        for (int j = 0; j < 16; j++) _mm512_store_si512(base + 64 * (16 * h + j), words[j]);
    }
}

/* IQ4_XS in Q4_K's layout: the table's values + 128 as the quants, the
   sub-blocks' signed scales as scales and minimums, dmin = 128 d, so that
   d * scaled - dmin * paired takes the bias off again. */
DSV3_AVX512 static void iq4_xs_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                           uint8_t *out) {
    uint8_t bytes[16 * 256];
    const __m256i table2 = iq4_table_avx2(), bias = _mm256_set1_epi8((char)0x80);
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        int32_t *scales = (int32_t *)(void *)(base + 4096), *min_pairs = (int32_t *)(void *)(base + 5120);
        float *d = (float *)(void *)(base + 5632);
        for (size_t r = 0; r < 16; r++) {
            const uint8_t *block = rows + r * row_bytes + 136 * b;
            for (int sub = 0; sub < 8; sub++) {
                __m256i u = r < n_rows ? _mm256_xor_si256(iq4_lookup_avx2(table2, block + 8 + 16 * sub), bias)
                                       : _mm256_setzero_si256();
                _mm256_storeu_si256((__m256i *)(void *)(bytes + 256 * r + 32 * sub), u);
                int32_t scale = r < n_rows ? iq4_xs_scale(block, sub) : 0;
                scales[16 * sub + r] = scale;
                min_pairs[16 * sub + r] = (scale & 0xFFFF) | (int32_t)((uint32_t)scale << 16);
            }
            d[r] = r < n_rows ? f16c_to_f32(read_u16le(block)) : 0.0f;
            d[16 + r] = 128.0f * d[r];
        }
        vnni_transpose_super(bytes, base);
    }
}

/* The IQ lattice types in Q6_K's layout: each pair of groups decoded by
   iq_pair_avx512 and made unsigned by + 64 (|q| <= 62), the multipliers m
   (iq_block_scales_avx512, transposed to a row per lane) as the 16-element
   sub-blocks' scales and d * step as the rows' d. */
DSV3_AVX512 DSV3_ALWAYS_INLINE static inline void iq_vnni_unpack(uint32_t type, const uint8_t *rows, size_t row_bytes,
                                                                 size_t n_rows, size_t n, uint8_t *out) {
    uint8_t bytes[16 * 256]; /* the 16 rows' biased quants, row by row */
    const __m512i bias = _mm512_set1_epi8(64), low_half = _mm512_set1_epi32(0xFFFF);
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + VNNI_K_SUPER * b;
        float *d = (float *)(void *)(base + 5632);
        __m512i m[16];
        DSV3_UNROLL16
        for (size_t r = 0; r < 16; r++) {
            if (r >= n_rows) { /* zero weights, scales and d: a zero result in unused lanes */
                memset(bytes + 256 * r, 0, 256);
                m[r] = _mm512_setzero_si512();
                d[r] = 0.0f;
                continue;
            }
            const uint8_t *block = rows + r * row_bytes + iq_block_bytes(type) * b;
            m[r] = iq_block_scales_avx512(type, block);
            DSV3_UNROLL
            for (int i = 0; i < 4; i++) {
                __mmask64 negative;
                __m512i w = iq_pair_avx512(type, block, i, &negative);
                __m512i biased = _mm512_mask_sub_epi8(_mm512_add_epi8(w, bias), negative, bias, w); /* 64 + q */
                _mm512_storeu_si512((void *)(bytes + 256 * r + 64 * i), biased);
            }
            d[r] = iq_step(type) * f16c_to_f32(iq_block_d_half(type, block));
        }
        /* m[j] now holds sub-block j's m of every row (row r in lane r), in
           both 16-bit halves */
        transpose_16x16_epi32(m);
        DSV3_UNROLL16
        for (int j = 0; j < 16; j++) _mm512_store_si512(base + 4096 + 64 * j, _mm512_and_si512(m[j], low_half));
        DSV3_UNROLL
        for (int p = 0; p < 8; p++)
            _mm512_store_si512(base + 5120 + 64 * p, _mm512_or_si512(_mm512_and_si512(m[2 * p], low_half),
                                                                     _mm512_slli_epi32(m[2 * p + 1], 16)));
        vnni_transpose_super(bytes, base);
    }
}
#  define DSV3_IQ_VNNI_ROWS(name, type)                                                                        \
      DSV3_AVX512 static void name##_vnni_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n, \
                                                 uint8_t *out) {                                               \
          iq_vnni_unpack(type, rows, row_bytes, n_rows, n, out);                                               \
      }                                                                                                        \
      DSV3_VNNI_ROWS(name##_vnni_rows, name##_vnni_unpack, iq_vnni_passes)
DSV3_IQ_VNNI_ROWS(iq2_xxs, 16)
DSV3_IQ_VNNI_ROWS(iq2_xs, 17)
DSV3_IQ_VNNI_ROWS(iq3_xxs, 18)
DSV3_IQ_VNNI_ROWS(iq1_s, 19)
DSV3_IQ_VNNI_ROWS(iq3_s, 21)
DSV3_IQ_VNNI_ROWS(iq2_s, 22)
DSV3_IQ_VNNI_ROWS(iq1_m, 29)
#  undef DSV3_IQ_VNNI_ROWS

DSV3_VNNI_ROWS(q8_0_vnni_rows, q8_0_vnni_unpack, q8_0_vnni_passes)
DSV3_VNNI_ROWS(q4_k_vnni_rows, q4_k_vnni_unpack, q4_k_vnni_passes)
DSV3_VNNI_ROWS(q5_k_vnni_rows, q5_k_vnni_unpack, q4_k_vnni_passes)
DSV3_VNNI_ROWS(q2_k_vnni_rows, q2_k_vnni_unpack, q2_k_vnni_passes)
DSV3_VNNI_ROWS(q3_k_vnni_rows, q3_k_vnni_unpack, q3_k_vnni_passes)
DSV3_VNNI_ROWS(q6_k_vnni_rows, q6_k_vnni_unpack, q6_k_vnni_passes)
DSV3_VNNI_ROWS(iq4_nl_vnni_rows, iq4_nl_vnni_unpack, q8_0_vnni_passes)
DSV3_VNNI_ROWS(iq4_xs_vnni_rows, iq4_xs_vnni_unpack, q4_k_vnni_passes)

static void kernels_avx512(kernel_set *k) {
    kernels_avx2(k);
    k->name = "avx512";
    k->gemm_f32 = gemm_f32_avx512;
    k->kv_scores = kv_scores_avx512;
    k->kv_mix = kv_mix_avx512;
    k->act_dot[12] = q4_k_act_dot_avx512;
    k->act_dot[13] = q5_k_act_dot_avx512;
    k->act_dot[14] = q6_k_act_dot_avx512;
    k->act_tile[12] = q4_k_tile_avx512;
    /* one 512-bit row at a time beats the 256-bit two-row body here */
    k->act_dot2[12] = k->act_dot2[13] = NULL;
    k->act_dot_prefetches[8] = k->act_dot_prefetches[12] = k->act_dot_prefetches[13] = k->act_dot_prefetches[14] = 1;
    k->act_tile[13] = q5_k_tile_avx512;
    k->act_tile[14] = q6_k_tile_avx512;
    k->act_dot[8] = q8_0_act_dot_avx512;
    k->act_tile[8] = q8_0_tile_avx512;
    k->act_dot[10] = q2_k_act_dot_avx512;
    k->act_tile[10] = q2_k_tile_avx512;
    k->act_dot[11] = q3_k_act_dot_avx512;
    k->act_tile[11] = q3_k_tile_avx512;
    k->block_rows[8] = q8_0_vnni_rows;
    k->block_rows[12] = q4_k_vnni_rows;
    k->block_rows[13] = q5_k_vnni_rows;
    k->block_rows[10] = q2_k_vnni_rows;
    k->block_rows[11] = q3_k_vnni_rows;
    k->block_rows[14] = q6_k_vnni_rows;
    k->block_rows[20] = iq4_nl_vnni_rows;
    k->block_rows[23] = iq4_xs_vnni_rows;
    k->block_rows[16] = iq2_xxs_vnni_rows;
    k->block_rows[17] = iq2_xs_vnni_rows;
    k->block_rows[18] = iq3_xxs_vnni_rows;
    k->block_rows[19] = iq1_s_vnni_rows;
    k->block_rows[21] = iq3_s_vnni_rows;
    k->block_rows[22] = iq2_s_vnni_rows;
    k->block_rows[29] = iq1_m_vnni_rows;
    /* the unpacking costs about what 8 tokens' products do: in cache on a Zen
       5 core the row blocks overtake the tiles at 3-4 tokens (Q8_0, Q4_K)
       and ~7 (Q6_K) */
    k->block_rows_min_tokens = 6;
    DSV3_IQ_SET(k, avx512);
    k->act_dot[23] = iq4_xs_act_dot_avx512;
    k->act_tile[23] = iq4_xs_tiles_avx512;
}
#else
#  define DSV3_HAVE_AVX512 0
#endif


/* ---- AMX (Intel Xeon from Sapphire Rapids): prefill's integer products ----
   A tile multiply (TDPB*D) sums 16 rows x 64 bytes against 16 columns in one
   instruction (16384 multiply-adds against vpdpbusd's 64; in cache ~3.1 T/s
   per core on a Sapphire Rapids Xeon, measured by dsv3-bench), so a
   batch's quantized products go through tiles: A is 16 weight rows (unpacked
   to bytes where the type packs them), B is 16 tokens' activations laid out
   by amx_pack_group as the instruction wants them (four consecutive elements of a
   token per 32-bit column), C is 16 x 16 exact int32 sums. Every integer total
   is the scalar reference's (per block or super-block, exact), and each token
   then gets the reference's float operations in its order, so the results are
   the scalar kernel's to rounding and never depend on which other rows or
   tokens share a tile (nor on the thread count). They are not the bits of the
   AVX-512 one-token kernels, which sum in other lanes: a batch and the same
   tokens stepped one by one agree to rounding on a machine with AMX.
   K-quant sub-block scales are folded into the bytes of A: a Q4_K scale s
   (6 bits) is 8 hi + lo, and q * lo, q * hi (q <= 15, lo, hi <= 7) fit a
   byte, so the super-block's scaled sum is C_lo + 8 C_hi; a Q6_K scale (int8)
   is d0 + 8 d1 + 64 d2 with digits in [-3, 4], and each digit times q - 32
   fits a signed byte, so the sum is C_0 + 8 C_1 + 64 C_2. */
#if DSV3_HAVE_AVX512 && defined(__linux__) && !defined(DSV3_NO_AMX) &&                                         \
    ((!defined(__clang__) && __GNUC__ >= 11) || (defined(__clang__) && __clang_major__ >= 12))
#  define DSV3_HAVE_AMX 1
#  define DSV3_AMX                                                                                             \
      __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8")))
/* GCC's tile intrinsics are asm statements that name no memory: keep the
   compiler's own loads and stores of tile buffers on their side of them. */
#  define DSV3_TILE_FENCE() __asm__ volatile("" ::: "memory")

/* CPUID leaf 7: AMX-TILE (EDX 24), AMX-INT8 (EDX 25); the OS saves tile
   state (XCR0 bits 17-18), and Linux lets this process use it: the one-time
   ARCH_REQ_XCOMP_PERM request (Linux 5.16+; it grows the signal frame by the
   8 KiB of tile data, which is why Linux asks for the request). */
static int cpu_has_amx(void) {
    if (!cpu_has_avx512()) return 0;
    unsigned a, b, c, d, xcr0_lo, xcr0_hi;
    __cpuid_count(7, 0, a, b, c, d);
    if ((d & (3u << 24)) != (3u << 24)) return 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    if ((xcr0_lo & (3u << 17)) != (3u << 17)) return 0;
    long status; /* arch_prctl (syscall 158) without libc's feature macros */
    __asm__ volatile("syscall"
                     : "=a"(status)
                     : "0"(158L), "D"(0x1023L /* ARCH_REQ_XCOMP_PERM */), "S"(18L /* XFEATURE_XTILEDATA */)
                     : "rcx", "r11", "memory");
    return status == 0;
}

/* Bytes of one 16-token group of packed activations: per block of 32, the B
   tile (8 rows x 64) and the 16 scales; per super-block, four B tiles (16 x
   64), the scales, and each token's sub-block sums in pairs (int16 x 2). */
#  define AMX_Q8_32_BLOCK (512 + 64)
#  define AMX_Q8_256_BLOCK (4096 + 64 + 256)
static size_t amx_group_bytes(int kind, size_t n) {
    return kind == ACT_Q8_32 ? n / 32 * AMX_Q8_32_BLOCK : n / 256 * AMX_Q8_256_BLOCK;
}

/* Tokens [first, first + 16) (those below n_tok; the rest zero) of act as
   group `out`. */
static void amx_pack_group(int kind, const uint8_t *act, size_t act_stride, size_t first, size_t n_tok, size_t n,
                           uint8_t *out) {
    memset(out, 0, amx_group_bytes(kind, n));
    size_t count = n_tok - first < 16 ? n_tok - first : 16;
    for (size_t t = 0; t < count; t++) {
        const uint8_t *a = act + (first + t) * act_stride;
        if (kind == ACT_Q8_32) {
            for (size_t b = 0; b < n / 32; b++) {
                const act_block32 *blk = (const act_block32 *)(const void *)a + b;
                uint8_t *dst = out + b * AMX_Q8_32_BLOCK;
                for (int r = 0; r < 8; r++) memcpy(dst + 64 * r + 4 * t, blk->qs + 4 * r, 4);
                memcpy(dst + 512 + 4 * t, &blk->d, 4);
            }
        } else {
            for (size_t b = 0; b < n / 256; b++) {
                const act_block256 *blk = (const act_block256 *)(const void *)a + b;
                uint8_t *dst = out + b * AMX_Q8_256_BLOCK;
                for (int r = 0; r < 64; r++) memcpy(dst + 64 * r + 4 * t, blk->qs + 4 * r, 4);
                memcpy(dst + 4096 + 4 * t, &blk->d, 4);
                for (int p = 0; p < 4; p++) {
                    int16_t pair[2] = {(int16_t)(blk->bsums[4 * p] + blk->bsums[4 * p + 1]),
                                       (int16_t)(blk->bsums[4 * p + 2] + blk->bsums[4 * p + 3])};
                    memcpy(dst + 4096 + 64 + 64 * p + 4 * t, pair, 4);
                }
            }
        }
    }
}

/* The 64-byte tile configuration: palette 1, then bytes per row and rows of
   each tile register used. */
typedef struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

DSV3_AMX static void amx_configure(int n_tiles, const uint8_t *rows, const uint16_t *colsb) {
    amx_config cfg __attribute__((aligned(64)));
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < n_tiles; i++) { /* NULL: whole tiles, 16 rows of 64 bytes */
        cfg.rows[i] = rows ? rows[i] : 16;
        cfg.colsb[i] = colsb ? colsb[i] : 64;
    }
    /* GCC's _tile_loadconfig names only 8 bytes of the struct as read */
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

/* Writes the 16 x 16 float sums (row m's tokens in acc[m]) of rows < n_rows
   and tokens < n_tok. */
DSV3_AMX static void amx_store_out(const __m512 *acc, size_t n_rows, size_t n_tok, float *out, size_t out_stride) {
    float tmp[16] __attribute__((aligned(64)));
    for (size_t m = 0; m < n_rows; m++) {
        _mm512_store_ps(tmp, acc[m]);
        for (size_t t = 0; t < n_tok; t++) out[t * out_stride + m] = tmp[t];
    }
}

/* Q8_0: A is the rows' quants straight from the file (or a zero-padded copy
   of a short block of rows), one 32-byte block per product. */
DSV3_AMX static void q8_0_amx_rows(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *packed,
                                   size_t group_bytes, size_t n_tok, size_t n, float *out, size_t out_stride,
                                   uint8_t *scratch) {
    size_t n_blocks = n / 32;
    int32_t *c_buf = (int32_t *)(void *)scratch;  /* two 16 x 16 tile stores */
    float *dw = (float *)(void *)(scratch + 2048); /* [block][16 rows] */
    const uint8_t *a_rows = rows;
    if (n_rows < 16) {
        uint8_t *copy = scratch + 2048 + n_blocks * 64;
        memcpy(copy, rows, n_rows * row_bytes);
        memset(copy + n_rows * row_bytes, 0, (16 - n_rows) * row_bytes);
        a_rows = copy;
    }
    for (size_t b = 0; b < n_blocks; b++)
        for (size_t m = 0; m < 16; m++) dw[16 * b + m] = f16c_to_f32(read_u16le(a_rows + m * row_bytes + 34 * b));
    static const uint8_t tile_rows[6] = {16, 16, 16, 16, 8, 8};
    static const uint16_t tile_colsb[6] = {64, 64, 32, 32, 64, 64};
    amx_configure(6, tile_rows, tile_colsb);
    for (size_t g = 0; g * 16 < n_tok; g++) {
        const uint8_t *pg = packed + g * group_bytes;
        __m512 acc[16];
        for (int m = 0; m < 16; m++) acc[m] = _mm512_setzero_ps();
        for (size_t b = 0; b < n_blocks; b += 2) {
            int pair = b + 1 < n_blocks;
            DSV3_TILE_FENCE();
            _tile_zero(0);
            _tile_loadd(2, a_rows + 34 * b + 2, (long)row_bytes);
            _tile_loadd(4, pg + AMX_Q8_32_BLOCK * b, 64);
            _tile_dpbssd(0, 2, 4);
            _tile_stored(0, c_buf, 64);
            if (pair) {
                _tile_zero(1);
                _tile_loadd(3, a_rows + 34 * (b + 1) + 2, (long)row_bytes);
                _tile_loadd(5, pg + AMX_Q8_32_BLOCK * (b + 1), 64);
                _tile_dpbssd(1, 3, 5);
                _tile_stored(1, c_buf + 256, 64);
            }
            DSV3_TILE_FENCE();
            for (int k = 0; k <= pair; k++) {
                /* the reference's f16(dw) * da * isum, then the running sum */
                __m512 da = _mm512_loadu_ps(pg + AMX_Q8_32_BLOCK * (b + k) + 512);
                const float *dwb = dw + 16 * (b + k);
                const int32_t *c = c_buf + 256 * k;
                DSV3_UNROLL
                for (int m = 0; m < 16; m++) {
                    __m512 scale = _mm512_mul_ps(_mm512_set1_ps(dwb[m]), da);
                    __m512 prod = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * m)));
                    acc[m] = _mm512_add_ps(acc[m], prod);
                }
            }
        }
        amx_store_out(acc, n_rows, n_tok - 16 * g < 16 ? n_tok - 16 * g : 16, out + 16 * g * out_stride, out_stride);
    }
    _tile_release();
}

/* Q4_K: per super-block, the scratch holds A_lo and A_hi (q times the low and
   high 3 bits of its sub-block's scale) for the four 64-element chunks, then
   d, dmin and the sub-block minimums in pairs. */
#  define AMX_Q4_K_SUPER (8192 + 128 + 256)
static const uint8_t amx_nibble_times[8][16] = {
#  define DSV3_TIMES(s) {0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s, 8 * s, 9 * s, 10 * s, 11 * s, 12 * s, 13 * s, 14 * s, 15 * s}
    DSV3_TIMES(0), DSV3_TIMES(1), DSV3_TIMES(2), DSV3_TIMES(3), DSV3_TIMES(4), DSV3_TIMES(5), DSV3_TIMES(6), DSV3_TIMES(7)
#  undef DSV3_TIMES
};

DSV3_AMX static __m512i amx_lane_tables(int s0, int s1) {
    __m256i t0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)amx_nibble_times[s0]));
    __m256i t1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)amx_nibble_times[s1]));
    return _mm512_inserti64x4(_mm512_castsi256_si512(t0), t1, 1);
}

DSV3_AMX static void q4_k_amx_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n_super,
                                     uint8_t *out) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (size_t b = 0; b < n_super; b++) {
        uint8_t *base = out + b * AMX_Q4_K_SUPER;
        float *d = (float *)(void *)(base + 8192);
        int32_t *min_pairs = (int32_t *)(void *)(base + 8192 + 128);
        for (size_t m = 0; m < 16; m++) {
            if (m >= n_rows) {
                for (int c = 0; c < 8; c++) _mm512_store_si512(base + 1024 * c + 64 * m, _mm512_setzero_si512());
                d[m] = d[16 + m] = 0.0f;
                for (int p = 0; p < 4; p++) min_pairs[16 * p + m] = 0;
                continue;
            }
            const uint8_t *block = rows + m * row_bytes + 144 * b;
            uint8_t sc[16]; /* the 8 scales, then the 8 minimums */
            __m128i scales_mins = q4_k_scales_mins(block + 4);
            _mm_storeu_si128((__m128i *)(void *)sc, scales_mins);
            int32_t pairs[4];
            _mm_storeu_si128((__m128i *)(void *)pairs, _mm_cvtepu8_epi16(_mm_srli_si128(scales_mins, 8)));
            for (int p = 0; p < 4; p++) min_pairs[16 * p + m] = pairs[p];
            d[m] = f16c_to_f32(read_u16le(block));
            d[16 + m] = f16c_to_f32(read_u16le(block + 2));
            for (int c = 0; c < 4; c++) {
                __m256i packed = _mm256_loadu_si256((const __m256i *)(const void *)(block + 16 + 32 * c));
                __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(packed, low4)),
                                               _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4), 1);
                __m512i lo = _mm512_shuffle_epi8(amx_lane_tables(sc[2 * c] & 7, sc[2 * c + 1] & 7), q);
                __m512i hi = _mm512_shuffle_epi8(amx_lane_tables(sc[2 * c] >> 3, sc[2 * c + 1] >> 3), q);
                _mm512_store_si512(base + 2048 * c + 64 * m, lo);
                _mm512_store_si512(base + 2048 * c + 1024 + 64 * m, hi);
            }
        }
    }
}

DSV3_AMX static void q4_k_amx_rows(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *packed,
                                   size_t group_bytes, size_t n_tok, size_t n, float *out, size_t out_stride,
                                   uint8_t *scratch) {
    size_t n_super = n / 256;
    int32_t *c_buf = (int32_t *)(void *)scratch;
    uint8_t *unpacked = scratch + 2048;
    q4_k_amx_unpack(rows, row_bytes, n_rows, n_super, unpacked);
    amx_configure(5, NULL, NULL); /* all 16 x 64 bytes */
    for (size_t g = 0; g * 16 < n_tok; g++) {
        const uint8_t *pg = packed + g * group_bytes;
        __m512 acc[16];
        for (int m = 0; m < 16; m++) acc[m] = _mm512_setzero_ps();
        for (size_t b = 0; b < n_super; b++) {
            const uint8_t *base = unpacked + b * AMX_Q4_K_SUPER, *pb = pg + b * AMX_Q8_256_BLOCK;
            DSV3_TILE_FENCE();
            _tile_zero(0);
            _tile_zero(1);
            for (int c = 0; c < 4; c++) {
                _tile_loadd(2, base + 2048 * c, 64);
                _tile_loadd(3, base + 2048 * c + 1024, 64);
                _tile_loadd(4, pb + 1024 * c, 64);
                _tile_dpbusd(0, 2, 4);
                _tile_dpbusd(1, 3, 4);
            }
            _tile_stored(0, c_buf, 64);
            _tile_stored(1, c_buf + 256, 64);
            DSV3_TILE_FENCE();
            const float *d = (const float *)(const void *)(base + 8192);
            const int32_t *min_pairs = (const int32_t *)(const void *)(base + 8192 + 128);
            __m512 da = _mm512_loadu_ps(pb + 4096);
            __m512i sum_pairs[4];
            for (int p = 0; p < 4; p++) sum_pairs[p] = _mm512_loadu_si512(pb + 4096 + 64 + 64 * p);
            DSV3_UNROLL
            for (int m = 0; m < 16; m++) {
                __m512i scaled = _mm512_add_epi32(_mm512_load_si512(c_buf + 16 * m),
                                                  _mm512_slli_epi32(_mm512_load_si512(c_buf + 256 + 16 * m), 3));
                __m512i mins = _mm512_setzero_si512();
                for (int p = 0; p < 4; p++)
                    mins = _mm512_dpwssd_epi32(mins, sum_pairs[p], _mm512_set1_epi32(min_pairs[16 * p + m]));
                /* the reference's da * (d * scaled - dmin * mins), then the running sum */
                __m512 dot = _mm512_mul_ps(_mm512_set1_ps(d[m]), _mm512_cvtepi32_ps(scaled));
                __m512 offset = _mm512_mul_ps(_mm512_set1_ps(d[16 + m]), _mm512_cvtepi32_ps(mins));
                acc[m] = _mm512_add_ps(acc[m], _mm512_mul_ps(da, _mm512_sub_ps(dot, offset)));
            }
        }
        amx_store_out(acc, n_rows, n_tok - 16 * g < 16 ? n_tok - 16 * g : 16, out + 16 * g * out_stride, out_stride);
    }
    _tile_release();
}

/* Q6_K: per super-block, the three digit tiles of each 64-element chunk, then d. */
#  define AMX_Q6_K_SUPER (12288 + 64)
DSV3_AMX static void q6_k_amx_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n_super,
                                     uint8_t *out) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30), thirty_two = _mm512_set1_epi8(32);
    const __m512i up_4_2 = halves_epi16(4, 2), down_0_2 = halves_epi16(0, 2);
    const __m512i lane_index = _mm512_set_epi64(0x0003000300030003ll, 0x0003000300030003ll, 0x0002000200020002ll,
                                                0x0002000200020002ll, 0x0001000100010001ll, 0x0001000100010001ll, 0, 0);
    const __m256i three = _mm256_set1_epi16(3), seven = _mm256_set1_epi16(7);
    for (size_t b = 0; b < n_super; b++) {
        uint8_t *base = out + b * AMX_Q6_K_SUPER;
        float *d = (float *)(void *)(base + 12288);
        for (size_t m = 0; m < 16; m++) {
            if (m >= n_rows) {
                for (int c = 0; c < 12; c++) _mm512_store_si512(base + 1024 * c + 64 * m, _mm512_setzero_si512());
                d[m] = 0.0f;
                continue;
            }
            const uint8_t *block = rows + m * row_bytes + 210 * b;
            /* the 16 scales' digits, one sub-block per 16-bit lane */
            __m256i scale = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(block + 192)));
            __m512i digit[3];
            for (int k = 0; k < 3; k++) {
                __m256i dk = _mm256_sub_epi16(_mm256_and_si256(_mm256_add_epi16(scale, three), seven), three);
                digit[k] = _mm512_castsi256_si512(dk);
                scale = _mm256_srai_epi16(_mm256_sub_epi16(scale, dk), 3);
            }
            for (int half = 0; half < 2; half++) {
                __m512i ql = _mm512_loadu_si512((const void *)(block + 64 * half));
                __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)(block + 128 + 32 * half)));
                /* as in q6_k_tile_body_avx512: 64 consecutive elements per register */
                __m512i q[2] = {
                    _mm512_ternarylogic_epi32(_mm512_and_si512(ql, m4), _mm512_sllv_epi16(qh, up_4_2), m30, 0xF8),
                    _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                              _mm512_srlv_epi16(qh, down_0_2), m30, 0xF8)};
                for (int i = 0; i < 2; i++) {
                    int c = 2 * half + i;
                    __m512i v = _mm512_sub_epi8(q[i], thirty_two);
                    __m512i even = _mm512_srai_epi16(_mm512_slli_epi16(v, 8), 8), odd = _mm512_srai_epi16(v, 8);
                    /* sub-block 4c + lane in each 128-bit lane's 16-bit words */
                    __m512i pick = _mm512_add_epi16(lane_index, _mm512_set1_epi16((short)(4 * c)));
                    for (int k = 0; k < 3; k++) {
                        __m512i dk = _mm512_permutexvar_epi16(pick, digit[k]);
                        __m512i lo = _mm512_mullo_epi16(even, dk), hi = _mm512_slli_epi16(_mm512_mullo_epi16(odd, dk), 8);
                        _mm512_store_si512(base + 3072 * c + 1024 * k + 64 * m,
                                           _mm512_mask_blend_epi8((__mmask64)0xAAAAAAAAAAAAAAAAull, lo, hi));
                    }
                }
            }
            d[m] = f16c_to_f32(read_u16le(block + 208));
        }
    }
}

DSV3_AMX static void q6_k_amx_rows(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *packed,
                                   size_t group_bytes, size_t n_tok, size_t n, float *out, size_t out_stride,
                                   uint8_t *scratch) {
    size_t n_super = n / 256;
    int32_t *c_buf = (int32_t *)(void *)scratch;
    uint8_t *unpacked = scratch + 3072;
    q6_k_amx_unpack(rows, row_bytes, n_rows, n_super, unpacked);
    amx_configure(7, NULL, NULL); /* all 16 x 64 bytes */
    for (size_t g = 0; g * 16 < n_tok; g++) {
        const uint8_t *pg = packed + g * group_bytes;
        __m512 acc[16];
        for (int m = 0; m < 16; m++) acc[m] = _mm512_setzero_ps();
        for (size_t b = 0; b < n_super; b++) {
            const uint8_t *base = unpacked + b * AMX_Q6_K_SUPER, *pb = pg + b * AMX_Q8_256_BLOCK;
            DSV3_TILE_FENCE();
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            for (int c = 0; c < 4; c++) {
                _tile_loadd(6, pb + 1024 * c, 64);
                _tile_loadd(3, base + 3072 * c, 64);
                _tile_loadd(4, base + 3072 * c + 1024, 64);
                _tile_loadd(5, base + 3072 * c + 2048, 64);
                _tile_dpbssd(0, 3, 6);
                _tile_dpbssd(1, 4, 6);
                _tile_dpbssd(2, 5, 6);
            }
            _tile_stored(0, c_buf, 64);
            _tile_stored(1, c_buf + 256, 64);
            _tile_stored(2, c_buf + 512, 64);
            DSV3_TILE_FENCE();
            const float *d = (const float *)(const void *)(base + 12288);
            __m512 da = _mm512_loadu_ps(pb + 4096);
            DSV3_UNROLL
            for (int m = 0; m < 16; m++) {
                __m512i scaled = _mm512_add_epi32(
                    _mm512_load_si512(c_buf + 16 * m),
                    _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512(c_buf + 256 + 16 * m), 3),
                                     _mm512_slli_epi32(_mm512_load_si512(c_buf + 512 + 16 * m), 6)));
                /* the reference's da * d * scaled, then the running sum */
                __m512 scale = _mm512_mul_ps(da, _mm512_set1_ps(d[m]));
                acc[m] = _mm512_add_ps(acc[m], _mm512_mul_ps(scale, _mm512_cvtepi32_ps(scaled)));
            }
        }
        amx_store_out(acc, n_rows, n_tok - 16 * g < 16 ? n_tok - 16 * g : 16, out + 16 * g * out_stride, out_stride);
    }
    _tile_release();
}

/* Scratch each thread needs for a block of 16 rows of length n: the tile
   stores, then the unpacked rows (the largest: Q6_K's). */
static size_t amx_scratch_bytes(size_t n) { return 4096 + (n / 256 + 1) * AMX_Q6_K_SUPER + 16 * (n / 32) * 34; }

static void kernels_amx(kernel_set *k) {
    k->name = "avx512-amx";
    /* the VNNI row blocks read unpacked activations: the types AMX does not
       take go through the tiles */
    for (uint32_t t = 0; t < DSV3_TYPE_COUNT; t++) k->block_rows[t] = NULL;
    k->block_rows[8] = q8_0_amx_rows;
    k->block_rows[12] = q4_k_amx_rows;
    k->block_rows[14] = q6_k_amx_rows;
    k->block_rows_packed = 1;
    k->block_rows_min_tokens = 4;
}
#else
#  define DSV3_HAVE_AMX 0
#endif
#endif

#if !defined(DSV3_NO_SIMD) && defined(__aarch64__) && defined(__ARM_NEON)
#  define DSV3_HAVE_NEON 1
#  include <arm_neon.h>
#  if defined(__linux__)
#    include <sys/auxv.h> /* getauxval: the CPU's features */
#  endif

/* NEON is part of every AArch64 CPU, so these need no run-time check (the dot
   product instruction, Armv8.2, does). Integer dots widen int8 x int8 products
   to int16 (vmull_s8) and accumulate pairs into int32 (vpadalq_s16);
   |product| <= 127 * 127 fits int16. */
/* One half-precision value converted by the FPU (f16_to_f32 is the portable
   reference, a branchy function call per block in a kernel). */
static inline float f16_to_f32_neon(uint16_t h) {
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

static float dot_f32_neon(const float *a, const float *b, size_t n) {
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static void axpy_f32_neon(float *y, float a, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    for (; i < n; i++) y[i] += a * x[i];
}

static float f32_row_dot_neon(const uint8_t *row, const float *x, size_t n) {
    return dot_f32_neon((const float *)(const void *)row, x, n);
}

static float f16_row_dot_neon(const uint8_t *row, const float *x, size_t n) {
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const uint16_t *)(const void *)(row + 2 * i)));
        acc0 = vfmaq_f32(acc0, vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(x + i));
        acc1 = vfmaq_f32(acc1, vcvt_high_f32_f16(h), vld1q_f32(x + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) sum += f16_to_f32_neon(read_u16le(row + 2 * i)) * x[i];
    return sum;
}

static float bf16_row_dot_neon(const uint8_t *row, const float *x, size_t n) {
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x8_t h = vld1q_u16((const uint16_t *)(const void *)(row + 2 * i));
        acc0 = vfmaq_f32(acc0, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)), vld1q_f32(x + i));
        acc1 = vfmaq_f32(acc1, vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16)), vld1q_f32(x + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) sum += bf16_to_f32(read_u16le(row + 2 * i)) * x[i];
    return sum;
}

static void f16_row_to_f32_neon(const uint8_t *row, float *out, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const uint16_t *)(const void *)(row + 2 * i)));
        vst1q_f32(out + i, vcvt_f32_f16(vget_low_f16(h)));
        vst1q_f32(out + i + 4, vcvt_high_f32_f16(h));
    }
    for (; i < n; i++) out[i] = f16_to_f32_neon(read_u16le(row + 2 * i));
}

static float q8_0_row_dot_neon(const uint8_t *row, const float *x, size_t n) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 34 * b;
        const float *xb = x + 32 * b;
        float32x4_t s = vdupq_n_f32(0.0f);
        for (int h = 0; h < 2; h++) {
            int16x8_t q16a = vmovl_s8(vld1_s8((const int8_t *)(const void *)(block + 2 + 16 * h)));
            int16x8_t q16b = vmovl_s8(vld1_s8((const int8_t *)(const void *)(block + 10 + 16 * h)));
            s = vfmaq_f32(s, vcvtq_f32_s32(vmovl_s16(vget_low_s16(q16a))), vld1q_f32(xb + 16 * h));
            s = vfmaq_f32(s, vcvtq_f32_s32(vmovl_s16(vget_high_s16(q16a))), vld1q_f32(xb + 16 * h + 4));
            s = vfmaq_f32(s, vcvtq_f32_s32(vmovl_s16(vget_low_s16(q16b))), vld1q_f32(xb + 16 * h + 8));
            s = vfmaq_f32(s, vcvtq_f32_s32(vmovl_s16(vget_high_s16(q16b))), vld1q_f32(xb + 16 * h + 12));
        }
        acc = vfmaq_n_f32(acc, s, f16_to_f32_neon(read_u16le(block)));
    }
    return vaddvq_f32(acc);
}

/* sum(a[i] * b[i]) over 16 int8 lanes, as int32x4 partial sums. */
static inline int32x4_t dot16_s8(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_s8(vget_high_s8(a), vget_high_s8(b)));
}

/* The same sums with the Armv8.2 dot product instruction (four products per
   lane at once), for the kernels compiled as DSV3_DOTPROD. The lanes hold other
   partial sums than dot16_s8's, but every kernel adds them up in integers, so
   both give the same bits. */
#  if defined(__ARM_FEATURE_DOTPROD) /* the whole build targets it (Apple arm64, -march=...+dotprod) */
#    define DSV3_HAVE_DOTPROD 1
#    define DSV3_DOTPROD
#  elif defined(__GNUC__) && !defined(__clang__) /* gcc: this function only, chosen at run time */
#    define DSV3_HAVE_DOTPROD 1
#    define DSV3_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#  else /* clang 14's arm_neon.h offers vdotq_s32 only when the whole build targets it */
#    define DSV3_HAVE_DOTPROD 0
#  endif
#  if DSV3_HAVE_DOTPROD
DSV3_DOTPROD static inline int32x4_t dot16_sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    return vdotq_s32(acc, a, b);
}
#  endif

typedef int32x4_t (*dot16_fn)(int32x4_t acc, int8x16_t a, int8x16_t b);

/* NEON tiles: one weight row against n_tok (1..4, a constant in each caller)
   tokens, each weight block decoded once; every token gets the operations of
   the one-token case, bit for bit. */
DSV3_ALWAYS_INLINE static inline void q8_0_neon_tile(const uint8_t *row, const uint8_t *act, size_t act_stride,
                                                     size_t n, dot16_fn dot16, float *out, size_t out_stride,
                                                     int n_tok) {
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + 34 * b;
        const int8_t *qs = (const int8_t *)(const void *)(block + 2);
        int8x16_t w0 = vld1q_s8(qs), w1 = vld1q_s8(qs + 16);
        float d = f16_to_f32_neon(read_u16le(block));
        DSV3_UNROLL
        for (int tok = 0; tok < n_tok; tok++) {
            const act_block32 *a = (const act_block32 *)(const void *)(act + act_stride * tok) + b;
            int32x4_t acc = dot16(vdupq_n_s32(0), w0, vld1q_s8(a->qs));
            acc = dot16(acc, w1, vld1q_s8(a->qs + 16));
            sum[tok] += d * a->d * (float)vaddvq_s32(acc);
        }
    }
    DSV3_UNROLL
    for (int tok = 0; tok < n_tok; tok++) out[out_stride * tok] = sum[tok];
}

/* The 32-element legacy types, as legacy32_act_dot_avx2 describes them. */
static inline uint8x16_t fifth_bits_neon(uint32_t bits16) {
    const uint8x16_t mask = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t bytes = vcombine_u8(vdup_n_u8((uint8_t)bits16), vdup_n_u8((uint8_t)(bits16 >> 8)));
    return vandq_u8(vtstq_u8(bytes, mask), vdupq_n_u8(16));
}

DSV3_ALWAYS_INLINE static inline float legacy32_neon_body(const uint8_t *row, const void *act, size_t n,
                                                          dot16_fn dot16, size_t block_bytes, int has_min,
                                                          int five_bits, int offset) {
    const act_block32 *a = (const act_block32 *)act;
    const size_t qs_at = 2 + (has_min ? 2 : 0) + (five_bits ? 4 : 0);
    float sum = 0.0f;
    for (size_t b = 0; b < n / 32; b++) {
        const uint8_t *block = row + block_bytes * b;
        uint8x16_t packed = vld1q_u8(block + qs_at);
        uint8x16_t lo = vandq_u8(packed, vdupq_n_u8(0x0F)), hi = vshrq_n_u8(packed, 4);
        if (five_bits) {
            uint32_t high = read_u32le(block + qs_at - 4);
            lo = vorrq_u8(lo, fifth_bits_neon(high & 0xFFFF));
            hi = vorrq_u8(hi, fifth_bits_neon(high >> 16));
        }
        int32x4_t acc = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(lo), vld1q_s8(a[b].qs));
        acc = dot16(acc, vreinterpretq_s8_u8(hi), vld1q_s8(a[b].qs + 16));
        int32_t isum = vaddvq_s32(acc) - offset * a[b].sum;
        sum += f16_to_f32_neon(read_u16le(block)) * a[b].d * (float)isum;
        if (has_min) sum += f16_to_f32_neon(read_u16le(block + 2)) * a[b].d * (float)a[b].sum;
    }
    return sum;
}

/* 32 IQ4 weights (16 index bytes, low nibbles first) times 32 activations */
/* IQ4_NL (type 20) and IQ4_XS (23) against n_tok <= 4 tokens: each 32
   weights looked up in the table once (low nibbles the first 16, high the
   last), then dotted with every token. */
DSV3_ALWAYS_INLINE static inline void iq4_neon_tile(uint32_t type, const uint8_t *row, const uint8_t *act,
                                                    size_t act_stride, size_t n, float *out, size_t out_stride,
                                                    int n_tok, dot16_fn dot16) {
    const int8x16_t table = vld1q_s8(iq4nl_values);
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const int xs = type == 23;
    const size_t block_bytes = xs ? 136 : 18, block_size = xs ? 256 : 32;
    for (size_t b = 0; b < n / block_size; b++) {
        const uint8_t *block = row + block_bytes * b;
        int32x4_t isum[4];
        for (int t = 0; t < n_tok; t++) isum[t] = vdupq_n_s32(0);
        for (size_t sub = 0; sub < block_size / 32; sub++) {
            uint8x16_t packed = vld1q_u8(block + (xs ? 8 + 16 * sub : 2));
            int8x16_t lo = vqtbl1q_s8(table, vandq_u8(packed, vdupq_n_u8(0x0F)));
            int8x16_t hi = vqtbl1q_s8(table, vshrq_n_u8(packed, 4));
            int32_t scale = xs ? iq4_xs_scale(block, (int)sub) : 1;
            for (int t = 0; t < n_tok; t++) {
                const int8_t *y = xs ? ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs + 32 * sub
                                     : ((const act_block32 *)(const void *)(act + act_stride * t) + b)->qs;
                isum[t] = vmlaq_n_s32(isum[t], dot16(dot16(vdupq_n_s32(0), lo, vld1q_s8(y)), hi, vld1q_s8(y + 16)),
                                      scale);
            }
        }
        float dw = f16_to_f32_neon(read_u16le(block));
        for (int t = 0; t < n_tok; t++) {
            float da = xs ? ((const act_block256 *)(const void *)(act + act_stride * t) + b)->d
                          : ((const act_block32 *)(const void *)(act + act_stride * t) + b)->d;
            sum[t] += dw * da * (float)vaddvq_s32(isum[t]);
        }
    }
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = sum[t];
}

/* The lattice types, 32 weights at a time as iq_group decodes them: the grid
   rows side by side, negated where the group's 32 sign bits say (each sign
   byte repeated over 8 bytes and tested bit by bit). */
DSV3_ALWAYS_INLINE static inline void iq_group_neon(uint32_t type, const uint8_t *block, int g, int8x16_t q[2],
                                                    int32_t m[2]) {
    uint64_t grid[4];
    uint32_t bits = 0;
    switch (type) {
    case 16: case 18: { /* IQ2_XXS, IQ3_XXS */
        const uint8_t *k = block + 2 + 8 * g;
        uint32_t aux = read_u32le(type == 16 ? k + 4 : block + 66 + 4 * g);
        for (int l = 0; l < 4; l++)
            grid[l] = type == 16 ? iq2xxs_grid[k[l]] : iq3xxs_grid[k[2 * l]] | (uint64_t)iq3xxs_grid[k[2 * l + 1]] << 32;
        bits = iq2_sign_bits(aux);
        m[0] = m[1] = (int32_t)(2 * (aux >> 28) + 1);
        break;
    }
    case 17: { /* IQ2_XS */
        uint64_t w = read_u64le(block + 2 + 8 * g);
        for (int l = 0; l < 4; l++) grid[l] = iq2xs_grid[(w >> (16 * l)) & 511];
        bits = iq2_sign_bits((uint32_t)((w >> 9 & 0x7F) | (w >> 25 & 0x7F) << 7 | (w >> 41 & 0x7F) << 14 |
                                        (w >> 57) << 21));
        m[0] = 2 * (block[66 + g] & 15) + 1;
        m[1] = 2 * (block[66 + g] >> 4) + 1;
        break;
    }
    case 22: { /* IQ2_S */
        const uint8_t *k = block + 2 + 4 * g;
        for (int l = 0; l < 4; l++) grid[l] = iq2s_grid[k[l] | ((block[66 + g] >> (2 * l)) & 3) << 8];
        bits = read_u32le(block + 34 + 4 * g);
        m[0] = 2 * (block[74 + g] & 15) + 1;
        m[1] = 2 * (block[74 + g] >> 4) + 1;
        break;
    }
    case 21: { /* IQ3_S */
        const uint8_t *k = block + 2 + 8 * g;
        uint32_t high = block[66 + g];
        for (int l = 0; l < 4; l++)
            grid[l] = iq3s_grid[k[2 * l] | ((high >> (2 * l)) & 1) << 8] |
                      (uint64_t)iq3s_grid[k[2 * l + 1] | ((high >> (2 * l + 1)) & 1) << 8] << 32;
        bits = read_u32le(block + 74 + 4 * g);
        m[0] = m[1] = 2 * ((block[106 + g / 2] >> (4 * (g % 2))) & 15) + 1;
        break;
    }
    default: { /* IQ1_S, IQ1_M: 8 * value +- 1, the sign of the 1 per 8 elements */
        int8_t delta[4];
        if (type == 19) {
            uint32_t word = read_u16le(block + 34 + 2 * g);
            for (int l = 0; l < 4; l++) {
                grid[l] = iq1s_grid[block[2 + 4 * g + l] | ((word >> (3 * l)) & 7) << 8];
                delta[l] = word >> 15 ? -1 : 1;
            }
            m[0] = m[1] = (int32_t)(2 * ((word >> 12) & 7) + 1);
        } else {
            uint32_t nibbles = read_u16le(block + 32 + 2 * g);
            for (int l = 0; l < 4; l++) {
                grid[l] = iq1s_grid[block[4 * g + l] | ((nibbles >> (4 * l)) & 7) << 8];
                delta[l] = (nibbles >> (4 * l + 3)) & 1 ? -1 : 1;
            }
            uint32_t scales = read_u16le(block + 48 + 2 * (g / 2)) >> (6 * (g % 2));
            m[0] = (int32_t)(2 * (scales & 7) + 1);
            m[1] = (int32_t)(2 * ((scales >> 3) & 7) + 1);
        }
        for (int h = 0; h < 2; h++) {
            int8x16_t v = vreinterpretq_s8_u64(vcombine_u64(vcreate_u64(grid[2 * h]), vcreate_u64(grid[2 * h + 1])));
            q[h] = vaddq_s8(vshlq_n_s8(v, 3), vcombine_s8(vdup_n_s8(delta[2 * h]), vdup_n_s8(delta[2 * h + 1])));
        }
        return;
    }
    }
    const uint8x16_t bit_of_byte = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
    const uint8x8_t sign_bytes = vreinterpret_u8_u32(vdup_n_u32(bits));
    uint8x16_t negative[2] = {vtstq_u8(vcombine_u8(vdup_lane_u8(sign_bytes, 0), vdup_lane_u8(sign_bytes, 1)), bit_of_byte),
                              vtstq_u8(vcombine_u8(vdup_lane_u8(sign_bytes, 2), vdup_lane_u8(sign_bytes, 3)), bit_of_byte)};
    for (int h = 0; h < 2; h++) {
        uint8x16_t w = vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(grid[2 * h]), vcreate_u64(grid[2 * h + 1])));
        q[h] = vreinterpretq_s8_u8(vsubq_u8(veorq_u8(w, negative[h]), negative[h])); /* -w where negative */
    }
}

/* One row against n_tok <= 4 tokens, each group decoded once for all. */
DSV3_ALWAYS_INLINE static inline void iq_neon_tile(uint32_t type, const uint8_t *row, const uint8_t *act,
                                                   size_t act_stride, size_t n, float *out, size_t out_stride,
                                                   int n_tok, dot16_fn dot16) {
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + iq_block_bytes(type) * b;
        int32x4_t isum[4];
        for (int t = 0; t < n_tok; t++) isum[t] = vdupq_n_s32(0);
        for (int g = 0; g < 8; g++) {
            int8x16_t q[2];
            int32_t m[2];
            iq_group_neon(type, block, g, q, m);
            for (int t = 0; t < n_tok; t++) {
                const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * t) + b)->qs + 32 * g;
                isum[t] = vmlaq_n_s32(isum[t], dot16(vdupq_n_s32(0), q[0], vld1q_s8(y)), m[0]);
                isum[t] = vmlaq_n_s32(isum[t], dot16(vdupq_n_s32(0), q[1], vld1q_s8(y + 16)), m[1]);
            }
        }
        float d = iq_step(type) * f16_to_f32_neon(iq_block_d_half(type, block));
        for (int t = 0; t < n_tok; t++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * t) + b;
            sum[t] += d * a->d * (float)vaddvq_s32(isum[t]);
        }
    }
    for (int t = 0; t < n_tok; t++) out[out_stride * t] = sum[t];
}

/* Q4_K, and Q5_K (five_bits: sub-block t takes bit t of qh as its fifth bit) */
DSV3_ALWAYS_INLINE static inline void q4_q5_k_neon_tile(const uint8_t *row, const uint8_t *act, size_t act_stride,
                                                        size_t n, dot16_fn dot16, float *out, size_t out_stride,
                                                        int n_tok, int five_bits) {
    const uint8x16_t one = vdupq_n_u8(1);
    size_t block_bytes = five_bits ? 176 : 144;
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + block_bytes * b, *s = block + 4, *qs = block + (five_bits ? 48 : 16);
        int32_t scaled[4] = {0, 0, 0, 0}, mins[4] = {0, 0, 0, 0};
        for (int t = 0; t < 8; t++) {
            int sc, mn;
            k_scale_min(s, t, &sc, &mn);
            const uint8_t *q = qs + 32 * (t / 2);
            uint8x16_t v[2];
            for (int h = 0; h < 2; h++) {
                uint8x16_t packed = vld1q_u8(q + 16 * h);
                v[h] = t % 2 ? vshrq_n_u8(packed, 4) : vandq_u8(packed, vdupq_n_u8(0x0F));
                if (five_bits) {
                    uint8x16_t high = vshlq_u8(vld1q_u8(block + 16 + 16 * h), vdupq_n_s8((int8_t)-t));
                    v[h] = vorrq_u8(v[h], vshlq_n_u8(vandq_u8(high, one), 4));
                }
            }
            DSV3_UNROLL
            for (int tok = 0; tok < n_tok; tok++) {
                const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * tok) + b;
                mins[tok] += mn * (a->bsums[2 * t] + a->bsums[2 * t + 1]);
                int32x4_t acc = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(v[0]), vld1q_s8(a->qs + 32 * t));
                acc = dot16(acc, vreinterpretq_s8_u8(v[1]), vld1q_s8(a->qs + 32 * t + 16));
                scaled[tok] += sc * vaddvq_s32(acc);
            }
        }
        float d = f16_to_f32_neon(read_u16le(block)), dmin = f16_to_f32_neon(read_u16le(block + 2));
        DSV3_UNROLL
        for (int tok = 0; tok < n_tok; tok++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * tok) + b;
            sum[tok] += a->d * (d * (float)scaled[tok] - dmin * (float)mins[tok]);
        }
    }
    DSV3_UNROLL
    for (int tok = 0; tok < n_tok; tok++) out[out_stride * tok] = sum[tok];
}

/* Q2_K and Q3_K: sub-block 8 * half + 2 * shift + k holds the 2-bit fields at
   bit 2 * shift of bytes qs[32 * half + 16 * k ..] (gguf.md §3). Q3_K's high
   bits make the quant (low2 + 4 * hbit) - 4: the -4 applies through the
   activation sums. */
DSV3_ALWAYS_INLINE static inline float q2_q3_k_neon_body(const uint8_t *row, const void *act, size_t n,
                                                         dot16_fn dot16, int q3) {
    const act_block256 *a = (const act_block256 *)act;
    const uint8x16_t three = vdupq_n_u8(3), one = vdupq_n_u8(1);
    size_t block_bytes = q3 ? 110 : 84;
    float sum = 0.0f;
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + block_bytes * b, *qs = block + (q3 ? 32 : 16);
        int scales[16];
        int32_t scaled = 0, mins = 0;
        for (int sub = 0; sub < 16; sub++) {
            if (q3) {
                const uint8_t *s = block + 96;
                int low = sub < 8 ? (s[sub] & 0xF) : (s[sub - 8] >> 4);
                scales[sub] = (low | (((s[8 + sub % 4] >> (2 * (sub / 4))) & 3) << 4)) - 32;
                mins += 4 * scales[sub] * a[b].bsums[sub];
            } else {
                scales[sub] = block[sub] & 0xF;
                mins += (block[sub] >> 4) * a[b].bsums[sub];
            }
        }
        for (int half = 0; half < 2; half++)
            for (int shift = 0; shift < 4; shift++)
                for (int k = 0; k < 2; k++) {
                    int sub = 8 * half + 2 * shift + k;
                    uint8x16_t q = vandq_u8(vshlq_u8(vld1q_u8(qs + 32 * half + 16 * k), vdupq_n_s8((int8_t)(-2 * shift))),
                                            three);
                    if (q3) {
                        uint8x16_t h = vshlq_u8(vld1q_u8(block + 16 * k), vdupq_n_s8((int8_t)-(4 * half + shift)));
                        q = vorrq_u8(q, vshlq_n_u8(vandq_u8(h, one), 2));
                    }
                    int32x4_t acc = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(q), vld1q_s8(a[b].qs + 16 * sub));
                    scaled += scales[sub] * vaddvq_s32(acc);
                }
        if (q3)
            sum += a[b].d * f16_to_f32_neon(read_u16le(block + 108)) * (float)(scaled - mins);
        else
            sum += a[b].d * (f16_to_f32_neon(read_u16le(block + 80)) * (float)scaled -
                             f16_to_f32_neon(read_u16le(block + 82)) * (float)mins);
    }
    return sum;
}

DSV3_ALWAYS_INLINE static inline void q6_k_neon_tile(const uint8_t *row, const uint8_t *act, size_t act_stride,
                                                     size_t n, dot16_fn dot16, float *out, size_t out_stride,
                                                     int n_tok) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m2 = vdupq_n_u8(0x03);
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t b = 0; b < n / 256; b++) {
        const uint8_t *block = row + 210 * b;
        const int8_t *sc = (const int8_t *)(const void *)(block + 192);
        int32_t scaled[4] = {0, 0, 0, 0}, offset[4] = {0, 0, 0, 0};
        DSV3_UNROLL
        for (int tok = 0; tok < n_tok; tok++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * tok) + b;
            for (int g = 0; g < 16; g++) offset[tok] += sc[g] * a->bsums[g];
        }
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = block + 64 * half, *qh = block + 128 + 32 * half;
            for (int part = 0; part < 2; part++) { /* elements l = 16*part .. 16*part+15 */
                uint8x16_t l0 = vld1q_u8(ql + 16 * part), l1 = vld1q_u8(ql + 32 + 16 * part);
                uint8x16_t h = vld1q_u8(qh + 16 * part);
                uint8x16_t q[4];
                q[0] = vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(h, m2), 4));
                q[1] = vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), m2), 4));
                q[2] = vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), m2), 4));
                q[3] = vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4));
                for (int k = 0; k < 4; k++) {
                    DSV3_UNROLL
                    for (int tok = 0; tok < n_tok; tok++) {
                        const int8_t *y = ((const act_block256 *)(const void *)(act + act_stride * tok) + b)->qs;
                        int32x4_t acc = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(q[k]),
                                              vld1q_s8(y + 128 * half + 32 * k + 16 * part));
                        scaled[tok] += sc[8 * half + 2 * k + part] * vaddvq_s32(acc);
                    }
                }
            }
        }
        float d = f16_to_f32_neon(read_u16le(block + 208));
        DSV3_UNROLL
        for (int tok = 0; tok < n_tok; tok++) {
            const act_block256 *a = (const act_block256 *)(const void *)(act + act_stride * tok) + b;
            sum[tok] += a->d * d * (float)(scaled[tok] - 32 * offset[tok]);
        }
    }
    DSV3_UNROLL
    for (int tok = 0; tok < n_tok; tok++) out[out_stride * tok] = sum[tok];
}

/* e^x on 4 lanes, as exp_avx2 computes it. */
static float32x4_t exp_neon(float32x4_t x) {
    float32x4_t clamped = vmaxq_f32(vdupq_n_f32(-87.3f), vminq_f32(vdupq_n_f32(88.7f), x));
    float32x4_t k = vrndnq_f32(vmulq_n_f32(clamped, 1.44269504f));
    float32x4_t r = vfmsq_f32(vfmsq_f32(clamped, k, vdupq_n_f32(0.693359375f)), k, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    float32x4_t e_r = vaddq_f32(vfmaq_f32(r, vmulq_f32(p, r), r), vdupq_n_f32(1.0f));
    int32x4_t k_int = vcvtnq_s32_f32(k), half_k = vshrq_n_s32(k_int, 1);
    float32x4_t two_a = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(half_k, vdupq_n_s32(127)), 23));
    float32x4_t two_b = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(k_int, half_k), vdupq_n_s32(127)), 23));
    float32x4_t y = vmulq_f32(vmulq_f32(e_r, two_a), two_b);
    y = vbslq_f32(vcltq_f32(x, vdupq_n_f32(-87.3f)), vdupq_n_f32(0.0f), y);
    return vbslq_f32(vceqq_f32(x, x), y, x); /* NaN in, NaN out */
}

static void rmsnorm_f32_neon(float *out, const float *x, const float *w, size_t n, float eps) {
    float64x2_t acc0 = vdupq_n_f64(0.0), acc1 = vdupq_n_f64(0.0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
        acc0 = vfmaq_f64(acc0, lo, lo);
        acc1 = vfmaq_f64(acc1, hi, hi);
    }
    double sum_sq = vaddvq_f64(vaddq_f64(acc0, acc1));
    for (; i < n; i++) sum_sq += (double)x[i] * x[i];
    float inv = (float)(1.0 / sqrt(sum_sq / (double)n + eps));
    for (i = 0; i + 4 <= n; i += 4) vst1q_f32(out + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), inv), vld1q_f32(w + i)));
    for (; i < n; i++) out[i] = x[i] * inv * w[i];
}

static void softmax_neon(float *x, size_t n) {
    size_t i = 0;
    float max = x[0];
    if (n >= 4) {
        float32x4_t m = vld1q_f32(x);
        for (i = 4; i + 4 <= n; i += 4) m = vmaxq_f32(m, vld1q_f32(x + i));
        max = vmaxvq_f32(m);
    }
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    float64x2_t sum0 = vdupq_n_f64(0.0), sum1 = vdupq_n_f64(0.0);
    for (i = 0; i + 4 <= n; i += 4) {
        float32x4_t e = exp_neon(vsubq_f32(vld1q_f32(x + i), vdupq_n_f32(max)));
        vst1q_f32(x + i, e);
        sum0 = vaddq_f64(sum0, vcvt_f64_f32(vget_low_f32(e)));
        sum1 = vaddq_f64(sum1, vcvt_high_f64_f32(e));
    }
    double sum = vaddvq_f64(vaddq_f64(sum0, sum1));
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (i = 0; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inv));
    for (; i < n; i++) x[i] *= inv;
}

/* The tail goes through the vector code too (padded), as swiglu_avx2's. */
static void swiglu_neon(float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; i += 4) {
        float g_tail[4] = {0}, u_tail[4] = {0};
        size_t len = n - i < 4 ? n - i : 4;
        float *g_at = len == 4 ? gate + i : g_tail;
        const float *u_at = len == 4 ? up + i : u_tail;
        if (len < 4) {
            memcpy(g_tail, gate + i, len * sizeof(float));
            memcpy(u_tail, up + i, len * sizeof(float));
        }
        float32x4_t g = vld1q_f32(g_at);
        float32x4_t sig = vdivq_f32(vdupq_n_f32(1.0f), vaddq_f32(vdupq_n_f32(1.0f), exp_neon(vnegq_f32(g))));
        vst1q_f32(g_at, vmulq_f32(vmulq_f32(g, sig), vld1q_f32(u_at)));
        if (len < 4) memcpy(gate + i, g_tail, len * sizeof(float));
    }
}

/* vld2 splits the pairs into a vector of a's and one of b's */
static void rope_rotate_neon(float *v, const float *cos_sin, size_t n_pairs) {
    size_t i = 0;
    for (; i + 4 <= n_pairs; i += 4) {
        float32x4x2_t ab = vld2q_f32(v + 2 * i), cs = vld2q_f32(cos_sin + 2 * i);
        float32x4x2_t out;
        out.val[0] = vfmsq_f32(vmulq_f32(ab.val[0], cs.val[0]), ab.val[1], cs.val[1]);
        out.val[1] = vfmaq_f32(vmulq_f32(ab.val[0], cs.val[1]), ab.val[1], cs.val[0]);
        vst2q_f32(v + 2 * i, out);
    }
    rope_rotate(v + 2 * i, cos_sin + 2 * i, n_pairs - i);
}

/* Eight elements of a cache row from element j (a multiple of 8) on, as
   floats: the values kv_element gives. A Q8_0 chunk never leaves its block. */
DSV3_ALWAYS_INLINE static inline float32x4x2_t kv_load8_neon(const uint8_t *row, size_t j, int32_t kv_type) {
    float32x4x2_t v;
    switch (kv_type) {
    case DSV3_KV_F32: {
        const float *f = (const float *)(const void *)row + j;
        v.val[0] = vld1q_f32(f);
        v.val[1] = vld1q_f32(f + 4);
        break;
    }
    case DSV3_KV_F16: {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const uint16_t *)(const void *)(row + 2 * j)));
        v.val[0] = vcvt_f32_f16(vget_low_f16(h));
        v.val[1] = vcvt_high_f32_f16(h);
        break;
    }
    case DSV3_KV_BF16: {
        uint16x8_t h = vld1q_u16((const uint16_t *)(const void *)(row + 2 * j));
        v.val[0] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        v.val[1] = vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16));
        break;
    }
    default: {
        const uint8_t *block = row + j / 32 * 34;
        int16x8_t levels = vmovl_s8(vld1_s8((const int8_t *)(block + 2 + j % 32)));
        float32x4_t d = vdupq_n_f32(f16_to_f32_neon(read_u16le(block)));
        v.val[0] = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(levels))), d);
        v.val[1] = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(levels))), d);
    }
    }
    return v;
}

/* Scores of nh heads x nt rows in registers; a (head, row) pair gets the same
   operations in any tile shape. */
DSV3_ALWAYS_INLINE static inline void kv_scores_tile_neon(const float *q, size_t q_stride, const uint8_t *rows,
                                                          size_t row_bytes, size_t width, int32_t kv_type, float *out,
                                                          size_t out_stride, int nh, int nt) {
    float32x4_t acc[4][2][2];
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) acc[i][t][0] = acc[i][t][1] = vdupq_n_f32(0.0f);
    size_t j = 0;
    for (; j + 8 <= width; j += 8) {
        float32x4x2_t x[2];
        DSV3_UNROLL
        for (int t = 0; t < nt; t++) x[t] = kv_load8_neon(rows + t * row_bytes, j, kv_type);
        DSV3_UNROLL
        for (int i = 0; i < nh; i++) {
            float32x4_t q0 = vld1q_f32(q + i * q_stride + j), q1 = vld1q_f32(q + i * q_stride + j + 4);
            DSV3_UNROLL
            for (int t = 0; t < nt; t++) {
                acc[i][t][0] = vfmaq_f32(acc[i][t][0], q0, x[t].val[0]);
                acc[i][t][1] = vfmaq_f32(acc[i][t][1], q1, x[t].val[1]);
            }
        }
    }
    for (int i = 0; i < nh; i++)
        for (int t = 0; t < nt; t++) {
            float tail = 0.0f;
            for (size_t e = j; e < width; e++) tail += q[i * q_stride + e] * kv_element(rows + t * row_bytes, kv_type, e);
            out[i * out_stride + t] = vaddvq_f32(vaddq_f32(acc[i][t][0], acc[i][t][1])) + tail;
        }
}

DSV3_ALWAYS_INLINE static inline void kv_scores_neon_typed(const float *q, size_t q_stride, size_t n_heads,
                                                           const uint8_t *rows, size_t row_bytes, size_t n_rows,
                                                           size_t width, int32_t kv_type, float *out,
                                                           size_t out_stride) {
    for (size_t h = 0; h < n_heads;) {
        int nh = n_heads - h >= 4 ? 4 : 1;
        size_t t = 0;
        for (; t + 2 <= n_rows; t += 2) {
            if (nh == 4) kv_scores_tile_neon(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, out + h * out_stride + t, out_stride, 4, 2);
            else kv_scores_tile_neon(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, out + h * out_stride + t, out_stride, 1, 2);
        }
        for (; t < n_rows; t++) {
            if (nh == 4) kv_scores_tile_neon(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, out + h * out_stride + t, out_stride, 4, 1);
            else kv_scores_tile_neon(q + h * q_stride, q_stride, rows + t * row_bytes, row_bytes, width, kv_type, out + h * out_stride + t, out_stride, 1, 1);
        }
        h += (size_t)nh;
    }
}

static void kv_scores_neon(const float *q, size_t q_stride, size_t n_heads, const uint8_t *rows, size_t row_bytes,
                           size_t n_rows, size_t width, int32_t kv_type, float *out, size_t out_stride) {
    switch (kv_type) {
    case DSV3_KV_F32: kv_scores_neon_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_F32, out, out_stride); break;
    case DSV3_KV_F16: kv_scores_neon_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_F16, out, out_stride); break;
    case DSV3_KV_BF16: kv_scores_neon_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_BF16, out, out_stride); break;
    default: kv_scores_neon_typed(q, q_stride, n_heads, rows, row_bytes, n_rows, width, DSV3_KV_Q8_0, out, out_stride); break;
    }
}

/* nh heads x nc chunks of 8 outputs in registers over all rows: each output
   one fused chain over the rows in order, as the reference. */
DSV3_ALWAYS_INLINE static inline void kv_mix_tile_neon(float *o, size_t o_stride, const float *p, size_t p_stride,
                                                       const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t j,
                                                       int32_t kv_type, int nh, int nc) {
    float32x4_t acc[4][2][2];
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) acc[i][c][0] = acc[i][c][1] = vdupq_n_f32(0.0f);
    for (size_t t = 0; t < n_rows; t++) {
        float32x4x2_t x[2];
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) x[c] = kv_load8_neon(rows + t * row_bytes, j + 8 * c, kv_type);
        DSV3_UNROLL
        for (int i = 0; i < nh; i++) {
            float w = p[i * p_stride + t];
            DSV3_UNROLL
            for (int c = 0; c < nc; c++) {
                acc[i][c][0] = vfmaq_n_f32(acc[i][c][0], x[c].val[0], w);
                acc[i][c][1] = vfmaq_n_f32(acc[i][c][1], x[c].val[1], w);
            }
        }
    }
    DSV3_UNROLL
    for (int i = 0; i < nh; i++)
        DSV3_UNROLL
        for (int c = 0; c < nc; c++) {
            vst1q_f32(o + i * o_stride + j + 8 * c, acc[i][c][0]);
            vst1q_f32(o + i * o_stride + j + 8 * c + 4, acc[i][c][1]);
        }
}

DSV3_ALWAYS_INLINE static inline void kv_mix_neon_typed(float *o, size_t o_stride, size_t n_heads, const float *p,
                                                        size_t p_stride, const uint8_t *rows, size_t row_bytes,
                                                        size_t n_rows, size_t n, int32_t kv_type) {
    for (size_t h = 0; h < n_heads;) {
        int nh = n_heads - h >= 4 ? 4 : 1;
        size_t j = 0;
        for (; j + 16 <= n; j += 16) {
            if (nh == 4) kv_mix_tile_neon(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 4, 2);
            else kv_mix_tile_neon(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 1, 2);
        }
        for (; j + 8 <= n; j += 8) {
            if (nh == 4) kv_mix_tile_neon(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 4, 1);
            else kv_mix_tile_neon(o + h * o_stride, o_stride, p + h * p_stride, p_stride, rows, row_bytes, n_rows, j, kv_type, 1, 1);
        }
        for (int i = 0; i < nh; i++)
            kv_mix_columns(o + (h + i) * o_stride, p + (h + i) * p_stride, rows, row_bytes, n_rows, j, n, kv_type);
        h += (size_t)nh;
    }
}

static void kv_mix_neon(float *o, size_t o_stride, size_t n_heads, const float *p, size_t p_stride,
                        const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n, int32_t kv_type) {
    switch (kv_type) {
    case DSV3_KV_F32: kv_mix_neon_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_F32); break;
    case DSV3_KV_F16: kv_mix_neon_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_F16); break;
    case DSV3_KV_BF16: kv_mix_neon_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_BF16); break;
    default: kv_mix_neon_typed(o, o_stride, n_heads, p, p_stride, rows, row_bytes, n_rows, n, DSV3_KV_Q8_0); break;
    }
}

/* gemm_f32 in tiles of `rows` (1-4) rows x 16 columns, then 4 columns, then
   single columns; FMLA is fused, so every output is the reference's chain. */
DSV3_ALWAYS_INLINE static inline void gemm_rows_neon(float *out, size_t out_stride, const float *a, size_t a_stride,
                                                     const float *w, size_t w_stride, size_t k, size_t n,
                                                     int accumulate, int rows) {
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        float32x4_t acc[4][4];
        DSV3_UNROLL
        for (int i = 0; i < rows; i++)
            DSV3_UNROLL
            for (int v = 0; v < 4; v++)
                acc[i][v] = accumulate ? vld1q_f32(out + i * out_stride + c + 4 * v) : vdupq_n_f32(0.0f);
        for (size_t r = 0; r < k; r++) {
            const float *wr = w + r * w_stride + c;
            float32x4_t w0 = vld1q_f32(wr), w1 = vld1q_f32(wr + 4), w2 = vld1q_f32(wr + 8), w3 = vld1q_f32(wr + 12);
            DSV3_UNROLL
            for (int i = 0; i < rows; i++) {
                float x = a[i * a_stride + r];
                acc[i][0] = vfmaq_n_f32(acc[i][0], w0, x);
                acc[i][1] = vfmaq_n_f32(acc[i][1], w1, x);
                acc[i][2] = vfmaq_n_f32(acc[i][2], w2, x);
                acc[i][3] = vfmaq_n_f32(acc[i][3], w3, x);
            }
        }
        DSV3_UNROLL
        for (int i = 0; i < rows; i++)
            DSV3_UNROLL
            for (int v = 0; v < 4; v++) vst1q_f32(out + i * out_stride + c + 4 * v, acc[i][v]);
    }
    for (; c + 4 <= n; c += 4) {
        float32x4_t acc[4];
        DSV3_UNROLL
        for (int i = 0; i < rows; i++) acc[i] = accumulate ? vld1q_f32(out + i * out_stride + c) : vdupq_n_f32(0.0f);
        for (size_t r = 0; r < k; r++) {
            float32x4_t w0 = vld1q_f32(w + r * w_stride + c);
            DSV3_UNROLL
            for (int i = 0; i < rows; i++) acc[i] = vfmaq_n_f32(acc[i], w0, a[i * a_stride + r]);
        }
        DSV3_UNROLL
        for (int i = 0; i < rows; i++) vst1q_f32(out + i * out_stride + c, acc[i]);
    }
    /* the last columns: the reference itself (the same FMA chains) */
    gemm_f32(out + c, out_stride, a, a_stride, w + c, w_stride, (size_t)rows, k, n - c, accumulate);
}

static void gemm_f32_neon(float *out, size_t out_stride, const float *a, size_t a_stride, const float *w,
                          size_t w_stride, size_t m, size_t k, size_t n, int accumulate) {
    size_t i = 0;
    for (; i + 4 <= m; i += 4)
        gemm_rows_neon(out + i * out_stride, out_stride, a + i * a_stride, a_stride, w, w_stride, k, n, accumulate, 4);
    for (; i < m; i++)
        gemm_rows_neon(out + i * out_stride, out_stride, a + i * a_stride, a_stride, w, w_stride, k, n, accumulate, 1);
}

static float softmax_online_neon(float *s, size_t n_valid, size_t n, float scale, float *max, float *sum) {
    float32x4_t vm = vdupq_n_f32(*max);
    size_t j = 0;
    for (; j + 4 <= n_valid; j += 4) vm = vmaxq_f32(vm, vmulq_n_f32(vld1q_f32(s + j), scale));
    float m = vmaxvq_f32(vm);
    for (; j < n_valid; j++) m = fmaxf(m, s[j] * scale);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (j = 0; j + 4 <= n_valid; j += 4) {
        float32x4_t e = exp_neon(vsubq_f32(vmulq_n_f32(vld1q_f32(s + j), scale), vdupq_n_f32(m)));
        vst1q_f32(s + j, e);
        acc = vaddq_f32(acc, e);
    }
    return softmax_online_tail(s, j, n_valid, n, scale, m, vaddvq_f32(acc), max, sum);
}

/* Each integer kernel twice: with plain NEON, and with the dot product
   instruction for CPUs that have it (chosen at run time). */
#if DSV3_HAVE_DOTPROD
#  define DSV3_SDOT_KERNEL(name, body)                                                        \
    DSV3_DOTPROD static float name##_act_dot_sdot(const uint8_t *row, const void *act, size_t n) { \
        dot16_fn dot16 = dot16_sdot;                                                          \
        float out;                                                                            \
        body;                                                                                 \
        return out;                                                                           \
    }
#else
#  define DSV3_SDOT_KERNEL(name, body)
#endif
#define DSV3_NEON_KERNELS(name, body)                                                        \
    static float name##_act_dot_neon(const uint8_t *row, const void *act, size_t n) {        \
        dot16_fn dot16 = dot16_s8;                                                            \
        float out;                                                                            \
        body;                                                                                 \
        return out;                                                                           \
    }                                                                                         \
    DSV3_SDOT_KERNEL(name, body)
DSV3_NEON_KERNELS(q4_0, out = legacy32_neon_body(row, act, n, dot16, 18, 0, 0, 8))
DSV3_NEON_KERNELS(q4_1, out = legacy32_neon_body(row, act, n, dot16, 20, 1, 0, 0))
DSV3_NEON_KERNELS(q5_0, out = legacy32_neon_body(row, act, n, dot16, 22, 0, 1, 16))
DSV3_NEON_KERNELS(q5_1, out = legacy32_neon_body(row, act, n, dot16, 24, 1, 1, 0))
DSV3_NEON_KERNELS(q2_k, out = q2_q3_k_neon_body(row, act, n, dot16, 0))
DSV3_NEON_KERNELS(q3_k, out = q2_q3_k_neon_body(row, act, n, dot16, 1))
#undef DSV3_NEON_KERNELS
#undef DSV3_SDOT_KERNEL

/* Tile and one-token kernels, plain and with the dot product instruction */
DSV3_IQ_TILE_SET(, neon, iq_neon_tile, dot16_s8)
DSV3_IQ_TILES(, iq4_nl_tiles_neon, iq4_nl_act_dot_neon, iq4_neon_tile, 20, dot16_s8)
DSV3_IQ_TILES(, iq4_xs_tiles_neon, iq4_xs_act_dot_neon, iq4_neon_tile, 23, dot16_s8)
#if DSV3_HAVE_DOTPROD
DSV3_IQ_TILE_SET(DSV3_DOTPROD, sdot, iq_neon_tile, dot16_sdot)
DSV3_IQ_TILES(DSV3_DOTPROD, iq4_nl_tiles_sdot, iq4_nl_act_dot_sdot, iq4_neon_tile, 20, dot16_sdot)
DSV3_IQ_TILES(DSV3_DOTPROD, iq4_xs_tiles_sdot, iq4_xs_act_dot_sdot, iq4_neon_tile, 23, dot16_sdot)
#endif
#define DSV3_Q8_0_TILE(k) q8_0_neon_tile(row, acts, act_stride, n, dot16_s8, out, out_stride, k)
#define DSV3_Q4_K_TILE(k) q4_q5_k_neon_tile(row, acts, act_stride, n, dot16_s8, out, out_stride, k, 0)
#define DSV3_Q5_K_TILE(k) q4_q5_k_neon_tile(row, acts, act_stride, n, dot16_s8, out, out_stride, k, 1)
#define DSV3_Q6_K_TILE(k) q6_k_neon_tile(row, acts, act_stride, n, dot16_s8, out, out_stride, k)
DSV3_TILE_KERNELS(, q8_0_tile_neon, q8_0_act_dot_neon, DSV3_Q8_0_TILE)
DSV3_TILE_KERNELS(, q4_k_tile_neon, q4_k_act_dot_neon, DSV3_Q4_K_TILE)
DSV3_TILE_KERNELS(, q5_k_tile_neon, q5_k_act_dot_neon, DSV3_Q5_K_TILE)
DSV3_TILE_KERNELS(, q6_k_tile_neon, q6_k_act_dot_neon, DSV3_Q6_K_TILE)
#undef DSV3_Q8_0_TILE
#undef DSV3_Q4_K_TILE
#undef DSV3_Q5_K_TILE
#undef DSV3_Q6_K_TILE
#if DSV3_HAVE_DOTPROD
#  define DSV3_Q8_0_TILE(k) q8_0_neon_tile(row, acts, act_stride, n, dot16_sdot, out, out_stride, k)
#  define DSV3_Q4_K_TILE(k) q4_q5_k_neon_tile(row, acts, act_stride, n, dot16_sdot, out, out_stride, k, 0)
#  define DSV3_Q5_K_TILE(k) q4_q5_k_neon_tile(row, acts, act_stride, n, dot16_sdot, out, out_stride, k, 1)
#  define DSV3_Q6_K_TILE(k) q6_k_neon_tile(row, acts, act_stride, n, dot16_sdot, out, out_stride, k)
DSV3_TILE_KERNELS(DSV3_DOTPROD, q8_0_tile_sdot, q8_0_act_dot_sdot, DSV3_Q8_0_TILE)
DSV3_TILE_KERNELS(DSV3_DOTPROD, q4_k_tile_sdot, q4_k_act_dot_sdot, DSV3_Q4_K_TILE)
DSV3_TILE_KERNELS(DSV3_DOTPROD, q5_k_tile_sdot, q5_k_act_dot_sdot, DSV3_Q5_K_TILE)
DSV3_TILE_KERNELS(DSV3_DOTPROD, q6_k_tile_sdot, q6_k_act_dot_sdot, DSV3_Q6_K_TILE)
#  undef DSV3_Q8_0_TILE
#  undef DSV3_Q4_K_TILE
#  undef DSV3_Q5_K_TILE
#  undef DSV3_Q6_K_TILE
#endif

/* ---- NEON i8mm row blocks -------------------------------------------------
   Armv8.6's SMMLA (optional from Armv8.2; Neoverse V1/N2/V2, Apple M2, Graviton
   3/4) multiplies a 2x8 int8 matrix by the transpose of another into a 2x2
   int32 block: 32 multiply-adds, twice SDOT's 16. A batch of tokens then goes
   through blocks of 16 rows as on x86: each block's quants are decoded once to
   signed bytes (K-quants' minimums and Q6_K's -32 applied per sub-block as
   there) and stored so that one 16-byte vector holds 8 consecutive weights of
   two neighbouring rows; a token pair's activations are paired the same way
   (two 8-byte loads), so one SMMLA gives rows (2p, 2p+1) x tokens (t, t+1) as
   lanes [r0t0, r0t1, r1t0, r1t1]. Sums are exact int32, and each (row, token)
   lane then gets the scalar reference's float operations in its order, so
   results are the scalar kernels' to rounding and the same bits whichever
   rows, tokens or threads share a block. */
#  if defined(__ARM_FEATURE_MATMUL_INT8) /* the whole build targets it */
#    define DSV3_HAVE_I8MM 1
#    define DSV3_I8MM
#  elif defined(__GNUC__) && !defined(__clang__) /* gcc: these functions only, chosen at run time */
#    define DSV3_HAVE_I8MM 1
#    define DSV3_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))
#  else /* clang 14's arm_neon.h offers vmmlaq_s32 only when the whole build targets it */
#    define DSV3_HAVE_I8MM 0
#  endif

#  if DSV3_HAVE_I8MM
/* Q8_0, per block of 32: the 8 row pairs' quants as 4 chunks x 8 pairs x 16
   bytes (chunk-major: a chunk's pairs are adjacent), then per pair the scales
   [d0, d0, d1, d1] as floats (the lanes' rows). */
#    define I8MM_Q8_0_BLOCK (512 + 128)
/* Q4_K, Q5_K, Q6_K, per super-block of 256: the quants as 32 chunks x 8 pairs
   x 16 bytes; per sub-block and pair the scales [s0, s0, s1, s1] as int32
   (Q6_K: 16 sub-blocks of 16; Q4_K/Q5_K: 8 of 32); Q4_K/Q5_K's minimums
   likewise; then per pair d and dmin as [x0, x0, x1, x1] floats. */
#    define I8MM_K_WEIGHTS 0
#    define I8MM_K_SCALES  4096
#    define I8MM_K_MINS    (4096 + 2048)
#    define I8MM_K_D       (4096 + 2048 + 1024)
#    define I8MM_K_DMIN    (4096 + 2048 + 1024 + 128)
#    define I8MM_K_SUPER   (4096 + 2048 + 1024 + 256)
#    define DSV3_HAVE_I8MM_ROWS 1

static size_t i8mm_scratch_bytes(size_t n) {
    size_t k_quants = n / 256 * I8MM_K_SUPER, q8_0 = n / 32 * I8MM_Q8_0_BLOCK;
    return k_quants > q8_0 ? k_quants : q8_0;
}

/* Two rows' 16 bytes each (x: row 2p, y: row 2p+1) as two paired chunks, at
   chunk c and c + 1 of pair p (chunk stride 8 pairs x 16 bytes). */
DSV3_I8MM DSV3_ALWAYS_INLINE static inline void i8mm_store_pairs(uint8_t *weights, size_t c, size_t p, int8x16_t x,
                                                                   int8x16_t y) {
    int64x2_t a = vreinterpretq_s64_s8(x), b = vreinterpretq_s64_s8(y);
    vst1q_s64((int64_t *)(void *)(weights + (c * 8 + p) * 16), vzip1q_s64(a, b));
    vst1q_s64((int64_t *)(void *)(weights + ((c + 1) * 8 + p) * 16), vzip2q_s64(a, b));
}

/* [x0, x0, x1, x1]: a pair's per-row value in its SMMLA lanes. */
static void i8mm_store_lanes_f32(uint8_t *at, float x0, float x1) {
    float v[4] = {x0, x0, x1, x1};
    memcpy(at, v, sizeof v);
}

static void i8mm_store_lanes_i32(uint8_t *at, int32_t x0, int32_t x1) {
    int32_t v[4] = {x0, x0, x1, x1};
    memcpy(at, v, sizeof v);
}

DSV3_I8MM static void q8_0_i8mm_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                       uint8_t *out) {
    for (size_t b = 0; b < n / 32; b++) {
        uint8_t *base = out + I8MM_Q8_0_BLOCK * b;
        for (size_t p = 0; p < 8; p++) {
            int8x16_t q[2][2];
            float d[2];
            for (int i = 0; i < 2; i++) {
                size_t r = 2 * p + (size_t)i;
                const uint8_t *block = rows + r * row_bytes + 34 * b;
                int have = r < n_rows;
                q[i][0] = have ? vld1q_s8((const int8_t *)(const void *)(block + 2)) : vdupq_n_s8(0);
                q[i][1] = have ? vld1q_s8((const int8_t *)(const void *)(block + 18)) : vdupq_n_s8(0);
                d[i] = have ? f16_to_f32(read_u16le(block)) : 0.0f;
            }
            i8mm_store_pairs(base, 0, p, q[0][0], q[1][0]);
            i8mm_store_pairs(base, 2, p, q[0][1], q[1][1]);
            i8mm_store_lanes_f32(base + 512 + 16 * p, d[0], d[1]);
        }
    }
}

/* One row's super-block decoded to 256 signed bytes in element order, with
   its sub-block scales (and Q4_K/Q5_K minimums) and d (dmin). */
DSV3_I8MM static void k_quant_i8mm_decode(int type, const uint8_t *block, int8_t *q, int32_t *scales,
                                          int32_t *mins, float *d, float *dmin) {
    if (type == 14) { /* Q6_K: ql 128, qh 64, scales 16, d */
        const uint8x16_t low4 = vdupq_n_u8(0xF), two = vdupq_n_u8(3);
        const int8x16_t bias = vdupq_n_s8(32);
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = block + 64 * half, *qh = block + 128 + 32 * half;
            for (int l = 0; l < 32; l += 16) {
                uint8x16_t a = vld1q_u8(ql + l), b = vld1q_u8(ql + l + 32), h = vld1q_u8(qh + l);
                uint8x16_t v0 = vorrq_u8(vandq_u8(a, low4), vshlq_n_u8(vandq_u8(h, two), 4));
                uint8x16_t v1 = vorrq_u8(vandq_u8(b, low4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), two), 4));
                uint8x16_t v2 = vorrq_u8(vshrq_n_u8(a, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), two), 4));
                uint8x16_t v3 = vorrq_u8(vshrq_n_u8(b, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4));
                int8_t *o = q + 128 * half + l;
                vst1q_s8(o, vsubq_s8(vreinterpretq_s8_u8(v0), bias));
                vst1q_s8(o + 32, vsubq_s8(vreinterpretq_s8_u8(v1), bias));
                vst1q_s8(o + 64, vsubq_s8(vreinterpretq_s8_u8(v2), bias));
                vst1q_s8(o + 96, vsubq_s8(vreinterpretq_s8_u8(v3), bias));
            }
        }
        for (int j = 0; j < 16; j++) scales[j] = ((const int8_t *)(const void *)(block + 192))[j];
        *d = f16_to_f32(read_u16le(block + 208));
        *dmin = 0.0f;
        return;
    }
    /* Q4_K (d, dmin, scales 12, qs 128) and Q5_K (the same, qh 32 before qs) */
    int five_bits = type == 13;
    const uint8_t *s = block + 4, *qh = block + 16, *qs = five_bits ? block + 48 : block + 16;
    const uint8x16_t low4 = vdupq_n_u8(0xF), sixteen = vdupq_n_u8(16);
    uint8x16_t h[2] = {vdupq_n_u8(0), vdupq_n_u8(0)};
    if (five_bits) h[0] = vld1q_u8(qh), h[1] = vld1q_u8(qh + 16);
    for (int g = 0; g < 4; g++)
        for (int k = 0; k < 2; k++) {
            uint8x16_t v = vld1q_u8(qs + 32 * g + 16 * k);
            uint8x16_t lo = vandq_u8(v, low4), hi = vshrq_n_u8(v, 4);
            if (five_bits) {
                lo = vorrq_u8(lo, vandq_u8(vtstq_u8(h[k], vdupq_n_u8((uint8_t)(1u << (2 * g)))), sixteen));
                hi = vorrq_u8(hi, vandq_u8(vtstq_u8(h[k], vdupq_n_u8((uint8_t)(2u << (2 * g)))), sixteen));
            }
            vst1q_s8(q + 64 * g + 16 * k, vreinterpretq_s8_u8(lo));
            vst1q_s8(q + 64 * g + 32 + 16 * k, vreinterpretq_s8_u8(hi));
        }
    for (int t = 0; t < 8; t++) {
        int sc, mn;
        k_scale_min(s, t, &sc, &mn);
        scales[t] = sc;
        mins[t] = mn;
    }
    *d = f16_to_f32(read_u16le(block));
    *dmin = f16_to_f32(read_u16le(block + 2));
}

DSV3_I8MM static void k_quant_i8mm_unpack(int type, const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n,
                                          uint8_t *out) {
    size_t block_bytes = type_table[type].type_size;
    int n_sub = type == 14 ? 16 : 8;
    for (size_t b = 0; b < n / 256; b++) {
        uint8_t *base = out + I8MM_K_SUPER * b;
        for (size_t p = 0; p < 8; p++) {
            int8_t q[2][256];
            int32_t scales[2][16], mins[2][8];
            float d[2], dmin[2];
            for (int i = 0; i < 2; i++) {
                size_t r = 2 * p + (size_t)i;
                if (r < n_rows) {
                    k_quant_i8mm_decode(type, rows + r * row_bytes + block_bytes * b, q[i], scales[i], mins[i], &d[i],
                                        &dmin[i]);
                } else {
                    memset(q[i], 0, sizeof q[i]);
                    memset(scales[i], 0, sizeof scales[i]);
                    memset(mins[i], 0, sizeof mins[i]);
                    d[i] = dmin[i] = 0.0f;
                }
            }
            for (size_t c = 0; c < 32; c += 2)
                i8mm_store_pairs(base + I8MM_K_WEIGHTS, c, p, vld1q_s8(q[0] + 8 * c), vld1q_s8(q[1] + 8 * c));
            for (int j = 0; j < n_sub; j++)
                i8mm_store_lanes_i32(base + I8MM_K_SCALES + (8 * (size_t)j + p) * 16, scales[0][j], scales[1][j]);
            for (int j = 0; j < 8 && n_sub == 8; j++)
                i8mm_store_lanes_i32(base + I8MM_K_MINS + (8 * (size_t)j + p) * 16, mins[0][j], mins[1][j]);
            i8mm_store_lanes_f32(base + I8MM_K_D + 16 * p, d[0], d[1]);
            i8mm_store_lanes_f32(base + I8MM_K_DMIN + 16 * p, dmin[0], dmin[1]);
        }
    }
}

DSV3_I8MM static void q4_k_i8mm_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n, uint8_t *out) {
    k_quant_i8mm_unpack(12, rows, row_bytes, n_rows, n, out);
}
DSV3_I8MM static void q5_k_i8mm_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n, uint8_t *out) {
    k_quant_i8mm_unpack(13, rows, row_bytes, n_rows, n, out);
}
DSV3_I8MM static void q6_k_i8mm_unpack(const uint8_t *rows, size_t row_bytes, size_t n_rows, size_t n, uint8_t *out) {
    k_quant_i8mm_unpack(14, rows, row_bytes, n_rows, n, out);
}

/* Eight bytes of each of two tokens' quants as one SMMLA operand. */
DSV3_I8MM DSV3_ALWAYS_INLINE static inline int8x16_t i8mm_token_pair(const int8_t *a, const int8_t *b) {
    return vcombine_s8(vld1_s8(a), vld1_s8(b));
}

/* Lanes [r0t0, r0t1, r1t0, r1t1] of pair p (rows 2p, 2p+1 of the block) to
   out[t * out_stride + r], for the rows that exist and the tokens asked for. */
DSV3_I8MM DSV3_ALWAYS_INLINE static inline void i8mm_store_out(float32x4_t acc, size_t p, size_t n_rows, int two_tokens,
                                                                 float *out, size_t out_stride) {
    float v[4];
    vst1q_f32(v, acc);
    for (size_t i = 0; i < 2; i++) {
        size_t r = 2 * p + i;
        if (r >= n_rows) break;
        out[r] = v[2 * i];
        if (two_tokens) out[out_stride + r] = v[2 * i + 1];
    }
}

/* Rows 8h..8h+7 (pairs 4h..4h+3) against tokens a and b (b == a for a lone
   token: its lanes are computed and dropped). */
DSV3_I8MM DSV3_ALWAYS_INLINE static inline void q8_0_i8mm_body(const uint8_t *unpacked, size_t n, const uint8_t *act_a,
                                                                 const uint8_t *act_b, int h, float32x4_t acc[4]) {
    const act_block32 *a = (const act_block32 *)(const void *)act_a, *b = (const act_block32 *)(const void *)act_b;
    for (size_t k = 0; k < n / 32; k++) {
        const uint8_t *base = unpacked + I8MM_Q8_0_BLOCK * k;
        int32x4_t sums[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
        DSV3_UNROLL
        for (size_t c = 0; c < 4; c++) {
            int8x16_t tokens = i8mm_token_pair(a[k].qs + 8 * c, b[k].qs + 8 * c);
            DSV3_UNROLL
            for (size_t p = 0; p < 4; p++)
                sums[p] = vmmlaq_s32(sums[p], vld1q_s8((const int8_t *)(const void *)(base + (c * 8 + 4 * (size_t)h + p) * 16)),
                                     tokens);
        }
        const float token_d[4] = {a[k].d, b[k].d, a[k].d, b[k].d};
        float32x4_t dt = vld1q_f32(token_d);
        DSV3_UNROLL
        for (size_t p = 0; p < 4; p++) {
            float32x4_t dw = vld1q_f32((const float *)(const void *)(base + 512 + (4 * (size_t)h + p) * 16));
            /* the scalar reference's (d_row * d_token) * sum, added */
            acc[p] = vaddq_f32(acc[p], vmulq_f32(vmulq_f32(dw, dt), vcvtq_f32_s32(sums[p])));
        }
    }
}

/* The K-quants: n_sub sub-blocks of 256 / n_sub elements (Q6_K 16, Q4_K and
   Q5_K 8, with minimums). */
DSV3_I8MM DSV3_ALWAYS_INLINE static inline void k_quant_i8mm_body(const uint8_t *unpacked, size_t n,
                                                                    const uint8_t *act_a, const uint8_t *act_b, int h,
                                                                    float32x4_t acc[4], int n_sub) {
    const act_block256 *a = (const act_block256 *)(const void *)act_a, *b = (const act_block256 *)(const void *)act_b;
    const size_t chunks = 32 / (size_t)n_sub;
    for (size_t k = 0; k < n / 256; k++) {
        const uint8_t *base = unpacked + I8MM_K_SUPER * k;
        int32x4_t scaled[4], mins[4];
        DSV3_UNROLL
        for (size_t p = 0; p < 4; p++) scaled[p] = mins[p] = vdupq_n_s32(0);
        for (size_t j = 0; j < (size_t)n_sub; j++) {
            int32x4_t sums[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
            DSV3_UNROLL
            for (size_t cc = 0; cc < chunks; cc++) {
                size_t c = j * chunks + cc;
                int8x16_t tokens = i8mm_token_pair(a[k].qs + 8 * c, b[k].qs + 8 * c);
                DSV3_UNROLL
                for (size_t p = 0; p < 4; p++)
                    sums[p] = vmmlaq_s32(
                        sums[p], vld1q_s8((const int8_t *)(const void *)(base + (c * 8 + 4 * (size_t)h + p) * 16)), tokens);
            }
            const int32_t *scales = (const int32_t *)(const void *)(base + I8MM_K_SCALES) + 4 * (8 * j + 4 * (size_t)h);
            DSV3_UNROLL
            for (size_t p = 0; p < 4; p++) scaled[p] = vmlaq_s32(scaled[p], sums[p], vld1q_s32(scales + 4 * p));
            if (n_sub == 8) { /* each sub-block's minimum times the tokens' sums of its 32 quants */
                const int32_t token_sums[4] = {a[k].bsums[2 * j] + a[k].bsums[2 * j + 1],
                                               b[k].bsums[2 * j] + b[k].bsums[2 * j + 1],
                                               a[k].bsums[2 * j] + a[k].bsums[2 * j + 1],
                                               b[k].bsums[2 * j] + b[k].bsums[2 * j + 1]};
                int32x4_t bt = vld1q_s32(token_sums);
                const int32_t *m = (const int32_t *)(const void *)(base + I8MM_K_MINS) + 4 * (8 * j + 4 * (size_t)h);
                DSV3_UNROLL
                for (size_t p = 0; p < 4; p++) mins[p] = vmlaq_s32(mins[p], bt, vld1q_s32(m + 4 * p));
            }
        }
        const float token_d[4] = {a[k].d, b[k].d, a[k].d, b[k].d};
        float32x4_t dt = vld1q_f32(token_d);
        DSV3_UNROLL
        for (size_t p = 0; p < 4; p++) {
            const float *dw = (const float *)(const void *)(base + I8MM_K_D) + 4 * (4 * (size_t)h + p);
            float32x4_t part;
            if (n_sub == 8) { /* a.d * (d * scaled - dmin * mins), as the scalar reference */
                const float *dmin = (const float *)(const void *)(base + I8MM_K_DMIN) + 4 * (4 * (size_t)h + p);
                part = vmulq_f32(dt, vsubq_f32(vmulq_f32(vld1q_f32(dw), vcvtq_f32_s32(scaled[p])),
                                               vmulq_f32(vld1q_f32(dmin), vcvtq_f32_s32(mins[p]))));
            } else { /* Q6_K: a.d * d * scaled */
                part = vmulq_f32(vmulq_f32(dt, vld1q_f32(dw)), vcvtq_f32_s32(scaled[p]));
            }
            acc[p] = vaddq_f32(acc[p], part);
        }
    }
}

DSV3_I8MM DSV3_ALWAYS_INLINE static inline void q8_0_i8mm_pass(const uint8_t *unpacked, size_t n, const uint8_t *act_a,
                                                                 const uint8_t *act_b, int h, float32x4_t acc[4]) {
    q8_0_i8mm_body(unpacked, n, act_a, act_b, h, acc);
}
DSV3_I8MM DSV3_ALWAYS_INLINE static inline void q4_k_i8mm_pass(const uint8_t *unpacked, size_t n, const uint8_t *act_a,
                                                                 const uint8_t *act_b, int h, float32x4_t acc[4]) {
    k_quant_i8mm_body(unpacked, n, act_a, act_b, h, acc, 8);
}
DSV3_I8MM DSV3_ALWAYS_INLINE static inline void q6_k_i8mm_pass(const uint8_t *unpacked, size_t n, const uint8_t *act_a,
                                                                 const uint8_t *act_b, int h, float32x4_t acc[4]) {
    k_quant_i8mm_body(unpacked, n, act_a, act_b, h, acc, 16);
}

/* A row block's kernel: unpack the rows into the scratch, then each 8-row half
   against the tokens two at a time. */
#    define DSV3_I8MM_ROWS(name, unpack, pass)                                                                   \
        DSV3_I8MM static void name(const uint8_t *rows, size_t row_bytes, size_t n_rows, const uint8_t *acts,   \
                                   size_t act_stride, size_t n_tok, size_t n, float *out, size_t out_stride,    \
                                   uint8_t *scratch) {                                                          \
            unpack(rows, row_bytes, n_rows, n, scratch);                                                        \
            for (int h = 0; h < 2 && (size_t)(8 * h) < n_rows; h++)                                            \
                for (size_t t = 0; t < n_tok; t += 2) {                                                         \
                    int two = t + 1 < n_tok;                                                                    \
                    const uint8_t *act_a = acts + t * act_stride, *act_b = two ? act_a + act_stride : act_a;    \
                    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f),              \
                                          vdupq_n_f32(0.0f)};                                                   \
                    pass(scratch, n, act_a, act_b, h, acc);                                                     \
                    for (size_t p = 0; p < 4; p++)                                                              \
                        i8mm_store_out(acc[p], 4 * (size_t)h + p, n_rows, two, out + t * out_stride,           \
                                       out_stride);                                                             \
                }                                                                                               \
        }
DSV3_I8MM_ROWS(q8_0_i8mm_rows, q8_0_i8mm_unpack, q8_0_i8mm_pass)
DSV3_I8MM_ROWS(q4_k_i8mm_rows, q4_k_i8mm_unpack, q4_k_i8mm_pass)
DSV3_I8MM_ROWS(q5_k_i8mm_rows, q5_k_i8mm_unpack, q4_k_i8mm_pass)
DSV3_I8MM_ROWS(q6_k_i8mm_rows, q6_k_i8mm_unpack, q6_k_i8mm_pass)
#    undef DSV3_I8MM_ROWS
#  else
#    define DSV3_HAVE_I8MM_ROWS 0
#  endif

/* Armv8.2 dot product: built for it, or HWCAP_ASIMDDP on Linux. */
static int cpu_has_dotprod(void) {
#  if defined(__ARM_FEATURE_DOTPROD)
    return 1;
#  elif DSV3_HAVE_DOTPROD && defined(__linux__)
    return (getauxval(AT_HWCAP) & (1ul << 20)) != 0; /* HWCAP_ASIMDDP */
#  else
    return 0;
#  endif
}

/* Int8 matrix multiply (SMMLA): built for it, or HWCAP2_I8MM on Linux. */
static int cpu_has_i8mm(void) {
#  if defined(__ARM_FEATURE_MATMUL_INT8)
    return 1;
#  elif DSV3_HAVE_I8MM && defined(__linux__) && defined(AT_HWCAP2)
    return (getauxval(AT_HWCAP2) & (1ul << 13)) != 0; /* HWCAP2_I8MM */
#  else
    return 0;
#  endif
}

static void kernels_neon(kernel_set *k) {
    kernels_scalar(k);
    k->name = "neon";
    k->row_dot[0] = f32_row_dot_neon;
    k->row_dot[1] = f16_row_dot_neon;
    k->row_dot[8] = q8_0_row_dot_neon;
    k->row_dot[30] = bf16_row_dot_neon;
    k->to_f32[1] = f16_row_to_f32_neon;
    k->axpy_f32 = axpy_f32_neon;
    k->kv_scores = kv_scores_neon;
    k->kv_mix = kv_mix_neon;
    k->gemm_f32 = gemm_f32_neon;
    k->softmax_online = softmax_online_neon;
    k->rmsnorm_f32 = rmsnorm_f32_neon;
    k->softmax = softmax_neon;
    k->swiglu = swiglu_neon;
    k->rope_rotate = rope_rotate_neon;
    k->act_dot[2] = q4_0_act_dot_neon;
    k->act_dot[3] = q4_1_act_dot_neon;
    k->act_dot[6] = q5_0_act_dot_neon;
    k->act_dot[7] = q5_1_act_dot_neon;
    k->act_dot[8] = q8_0_act_dot_neon;
    k->act_dot[20] = iq4_nl_act_dot_neon;
    k->act_dot[23] = iq4_xs_act_dot_neon;
    k->act_tile[20] = iq4_nl_tiles_neon;
    k->act_tile[23] = iq4_xs_tiles_neon;
    DSV3_IQ_SET(k, neon);
    k->act_dot[10] = q2_k_act_dot_neon;
    k->act_dot[11] = q3_k_act_dot_neon;
    k->act_dot[12] = q4_k_act_dot_neon;
    k->act_dot[13] = q5_k_act_dot_neon;
    k->act_dot[14] = q6_k_act_dot_neon;
    k->act_tile[8] = q8_0_tile_neon;
    k->act_tile[12] = q4_k_tile_neon;
    k->act_tile[13] = q5_k_tile_neon;
    k->act_tile[14] = q6_k_tile_neon;
}

static void kernels_neon_dotprod(kernel_set *k) {
    kernels_neon(k);
#  if DSV3_HAVE_DOTPROD
    k->name = "neon-dotprod";
    k->act_dot[2] = q4_0_act_dot_sdot;
    k->act_dot[3] = q4_1_act_dot_sdot;
    k->act_dot[6] = q5_0_act_dot_sdot;
    k->act_dot[7] = q5_1_act_dot_sdot;
    k->act_dot[8] = q8_0_act_dot_sdot;
    k->act_dot[20] = iq4_nl_act_dot_sdot;
    k->act_dot[23] = iq4_xs_act_dot_sdot;
    k->act_tile[20] = iq4_nl_tiles_sdot;
    k->act_tile[23] = iq4_xs_tiles_sdot;
    DSV3_IQ_SET(k, sdot);
    k->act_dot[10] = q2_k_act_dot_sdot;
    k->act_dot[11] = q3_k_act_dot_sdot;
    k->act_dot[12] = q4_k_act_dot_sdot;
    k->act_dot[13] = q5_k_act_dot_sdot;
    k->act_dot[14] = q6_k_act_dot_sdot;
    k->act_tile[8] = q8_0_tile_sdot;
    k->act_tile[12] = q4_k_tile_sdot;
    k->act_tile[13] = q5_k_tile_sdot;
    k->act_tile[14] = q6_k_tile_sdot;
#  endif
}

/* The dot product set, and batches through SMMLA row blocks. */
static void kernels_neon_i8mm(kernel_set *k) {
    kernels_neon_dotprod(k);
#  if DSV3_HAVE_I8MM
    k->name = "neon-i8mm";
    k->block_rows[8] = q8_0_i8mm_rows;
    k->block_rows[12] = q4_k_i8mm_rows;
    k->block_rows[13] = q5_k_i8mm_rows;
    k->block_rows[14] = q6_k_i8mm_rows;
    /* not measured on hardware (none here): the x86 sets' threshold, above
       which unpacking a block costs less than the tiles' repeated decoding */
    k->block_rows_min_tokens = 8;
#  endif
}
#else
#  define DSV3_HAVE_NEON 0
#  define DSV3_HAVE_I8MM_ROWS 0
#endif

/* The fastest kernel set this CPU runs. */
static void kernels_best(kernel_set *k) {
#if DSV3_HAVE_AVX512
    if (cpu_has_avx512()) {
        kernels_avx512(k);
#  if DSV3_HAVE_AMX
        if (cpu_has_amx()) kernels_amx(k);
#  endif
        return;
    }
#endif
#if DSV3_HAVE_AVXVNNI
    if (cpu_has_avxvnni()) {
        kernels_avxvnni(k);
        return;
    }
#endif
#if DSV3_HAVE_AVX2
    if (cpu_has_avx2()) {
        kernels_avx2(k);
        return;
    }
#endif
#if DSV3_HAVE_NEON
    if (cpu_has_dotprod() && cpu_has_i8mm()) kernels_neon_i8mm(k);
    else if (cpu_has_dotprod()) kernels_neon_dotprod(k);
    else kernels_neon(k);
    return;
#endif
    kernels_scalar(k);
}

/* ==== 8. Thread pool (private) ========================================== */
/* One pool per context, created with it. Workers sleep on a condition variable
   between jobs, so an idle context costs no CPU. A job is a range of items split
   into one contiguous chunk per thread; each item is computed by exactly one
   thread with the same code, so results are bit-identical for any thread count. */

typedef void (*task_fn)(void *arg, uint32_t thread_index, size_t begin, size_t end);

/* The thread shim: just what the pool uses, over pthreads or Win32 (an SRW lock
   and condition variables, which need no destruction). The init calls return 0
   on success, as pthreads does. */
#if DSV3_HAVE_THREADS && defined(_WIN32)
typedef HANDLE sys_thread;
typedef SRWLOCK sys_mutex;
typedef CONDITION_VARIABLE sys_cond;
static int mutex_init(sys_mutex *m) { InitializeSRWLock(m); return 0; }
static void mutex_destroy(sys_mutex *m) { (void)m; }
static void mutex_lock(sys_mutex *m) { AcquireSRWLockExclusive(m); }
static void mutex_unlock(sys_mutex *m) { ReleaseSRWLockExclusive(m); }
static int cond_init(sys_cond *c) { InitializeConditionVariable(c); return 0; }
static void cond_destroy(sys_cond *c) { (void)c; }
static void cond_wait(sys_cond *c, sys_mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
static void cond_signal(sys_cond *c) { WakeConditionVariable(c); }
static void cond_broadcast(sys_cond *c) { WakeAllConditionVariable(c); }
#elif DSV3_HAVE_THREADS
typedef pthread_t sys_thread;
typedef pthread_mutex_t sys_mutex;
typedef pthread_cond_t sys_cond;
static int mutex_init(sys_mutex *m) { return pthread_mutex_init(m, NULL); }
static void mutex_destroy(sys_mutex *m) { pthread_mutex_destroy(m); }
static void mutex_lock(sys_mutex *m) { pthread_mutex_lock(m); }
static void mutex_unlock(sys_mutex *m) { pthread_mutex_unlock(m); }
static int cond_init(sys_cond *c) { return pthread_cond_init(c, NULL); }
static void cond_destroy(sys_cond *c) { pthread_cond_destroy(c); }
static void cond_wait(sys_cond *c, sys_mutex *m) { pthread_cond_wait(c, m); }
static void cond_signal(sys_cond *c) { pthread_cond_signal(c); }
static void cond_broadcast(sys_cond *c) { pthread_cond_broadcast(c); }
#endif

/* Waiting threads spin this many rounds before they sleep: a decoded token runs
   hundreds of short parallel sections, and waking a sleeping thread costs tens
   of microseconds each time. */
#define DSV3_SPIN_ROUNDS 256

/* The few atomic operations the spin needs: an acquire load outside the mutex
   of values that are written (with release) under it. */
#if DSV3_HAVE_THREADS && defined(_MSC_VER) && !defined(__clang__)
static uint64_t load_acquire_u64(const volatile uint64_t *p) {
    uint64_t v = (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)p, 0, 0);
    return v;
}
static uint32_t load_acquire_u32(const volatile uint32_t *p) {
    return (uint32_t)InterlockedCompareExchange((volatile LONG *)p, 0, 0);
}
static void store_release_u64(volatile uint64_t *p, uint64_t v) { InterlockedExchange64((volatile LONG64 *)p, (LONG64)v); }
static void store_release_u32(volatile uint32_t *p, uint32_t v) { InterlockedExchange((volatile LONG *)p, (LONG)v); }
static void cpu_relax_round(int round) {
    if (round >= 64) SwitchToThread();
    else YieldProcessor();
}
#elif DSV3_HAVE_THREADS
static uint64_t load_acquire_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static uint32_t load_acquire_u32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store_release_u64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static void store_release_u32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/* A short pause for the first rounds, then the processor is offered to other
   threads: on an oversubscribed machine a pure spin would steal the time slice
   of the very thread it waits for. */
static void cpu_relax_round(int round) {
    if (round >= 64) {
#  if defined(_WIN32)
        SwitchToThread();
#  else
        sched_yield();
#  endif
        return;
    }
#  if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#  elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#  endif
}
#endif

typedef struct thread_pool {
    uint32_t n_threads; /* including the calling thread */
#if DSV3_HAVE_THREADS
    sys_thread *workers;
    sys_mutex mutex;
    sys_cond work_ready, work_done;
    uint64_t generation;
    uint32_t pending;
    uint32_t shutdown;
    task_fn fn;
    void *arg;
    size_t n_items;
#endif
} thread_pool;

static void run_chunk(task_fn fn, void *arg, uint32_t index, uint32_t n_threads, size_t n_items) {
    size_t begin = n_items * index / n_threads, end = n_items * (index + 1) / n_threads;
    if (begin < end) fn(arg, index, begin, end);
}

#if DSV3_HAVE_THREADS
typedef struct worker_start {
    thread_pool *pool;
    uint32_t index;
} worker_start;

static void worker_main(worker_start *start) {
    thread_pool *pool = start->pool;
    uint32_t index = start->index;
    uint64_t seen = 0;
    mutex_lock(&pool->mutex);
    for (;;) {
        if (pool->generation == seen && !pool->shutdown) {
            mutex_unlock(&pool->mutex);
            for (int i = 0; i < DSV3_SPIN_ROUNDS && load_acquire_u64(&pool->generation) == seen &&
                            !load_acquire_u32(&pool->shutdown);
                 i++)
                cpu_relax_round(i);
            mutex_lock(&pool->mutex);
        }
        while (pool->generation == seen && !pool->shutdown) cond_wait(&pool->work_ready, &pool->mutex);
        if (pool->shutdown) break;
        seen = pool->generation;
        task_fn fn = pool->fn;
        void *arg = pool->arg;
        size_t n_items = pool->n_items;
        mutex_unlock(&pool->mutex);
        run_chunk(fn, arg, index, pool->n_threads, n_items);
        mutex_lock(&pool->mutex);
        store_release_u32(&pool->pending, pool->pending - 1);
        if (pool->pending == 0) cond_signal(&pool->work_done);
    }
    mutex_unlock(&pool->mutex);
}

/* Starts a worker on start; 0 on success. */
#if defined(_WIN32)
static DWORD WINAPI worker_entry(LPVOID p) {
    worker_main((worker_start *)p);
    return 0;
}
static int thread_start(sys_thread *t, worker_start *start) {
    *t = CreateThread(NULL, 0, worker_entry, start, 0, NULL);
    return *t ? 0 : -1;
}
static void thread_join(sys_thread t) {
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
static void *worker_entry(void *p) {
    worker_main((worker_start *)p);
    return NULL;
}
static int thread_start(sys_thread *t, worker_start *start) { return pthread_create(t, NULL, worker_entry, start); }
static void thread_join(sys_thread t) { pthread_join(t, NULL); }
#endif
#endif

/* Starts n_threads - 1 workers. start_args holds n_threads entries and must
   live as long as the pool. */
static int pool_start(thread_pool *pool, uint32_t n_threads, void *start_args, const allocator *a) {
    pool->n_threads = n_threads ? n_threads : 1;
#if DSV3_HAVE_THREADS
    if (pool->n_threads == 1) return 1;
    worker_start *starts = (worker_start *)start_args;
    pool->workers = (sys_thread *)mem_calloc(a, pool->n_threads, sizeof(sys_thread));
    if (!pool->workers) return 0;
    if (mutex_init(&pool->mutex) != 0) {
        mem_free(a, pool->workers);
        pool->workers = NULL;
        return 0;
    }
    if (cond_init(&pool->work_ready) != 0) {
        mutex_destroy(&pool->mutex);
        mem_free(a, pool->workers);
        pool->workers = NULL;
        return 0;
    }
    if (cond_init(&pool->work_done) != 0) {
        cond_destroy(&pool->work_ready);
        mutex_destroy(&pool->mutex);
        mem_free(a, pool->workers);
        pool->workers = NULL;
        return 0;
    }
    for (uint32_t i = 1; i < pool->n_threads; i++) {
        starts[i].pool = pool;
        starts[i].index = i;
        if (thread_start(&pool->workers[i], &starts[i]) != 0) {
            /* run with the workers that did start */
            pool->n_threads = i;
            break;
        }
    }
    return 1;
#else
    (void)start_args;
    (void)a;
    pool->n_threads = 1;
    return 1;
#endif
}

static void pool_stop(thread_pool *pool, const allocator *a) {
#if DSV3_HAVE_THREADS
    if (pool->workers) {
        mutex_lock(&pool->mutex);
        store_release_u32(&pool->shutdown, 1);
        cond_broadcast(&pool->work_ready);
        mutex_unlock(&pool->mutex);
        for (uint32_t i = 1; i < pool->n_threads; i++) thread_join(pool->workers[i]);
        cond_destroy(&pool->work_ready);
        cond_destroy(&pool->work_done);
        mutex_destroy(&pool->mutex);
        mem_free(a, pool->workers);
        pool->workers = NULL;
    }
#else
    (void)a;
#endif
    (void)pool;
}

/* Runs fn over [0, n_items) on every thread of the pool and returns when all
   chunks are done. Small jobs stay on the calling thread. */
static void parallel_for(thread_pool *pool, size_t n_items, size_t min_items_per_thread, task_fn fn, void *arg) {
    uint32_t n = pool->n_threads;
#if DSV3_HAVE_THREADS
    if (n > 1 && n_items >= (size_t)n * min_items_per_thread) {
        mutex_lock(&pool->mutex);
        pool->fn = fn;
        pool->arg = arg;
        pool->n_items = n_items;
        pool->pending = n - 1;
        store_release_u64(&pool->generation, pool->generation + 1);
        cond_broadcast(&pool->work_ready);
        mutex_unlock(&pool->mutex);
        run_chunk(fn, arg, 0, n, n_items);
        for (int i = 0; i < DSV3_SPIN_ROUNDS && load_acquire_u32(&pool->pending) > 0; i++) cpu_relax_round(i);
        mutex_lock(&pool->mutex);
        while (pool->pending > 0) cond_wait(&pool->work_done, &pool->mutex);
        mutex_unlock(&pool->mutex);
        return;
    }
#endif
    (void)min_items_per_thread;
    run_chunk(fn, arg, 0, 1, n_items);
    (void)n;
}

static uint32_t hardware_threads(void) {
#if DSV3_HAVE_THREADS && defined(_WIN32)
    SYSTEM_INFO info;
    GetSystemInfo(&info); /* the calling thread's processor group: at most 64 */
    DWORD n = info.dwNumberOfProcessors;
    if (n > 0) return n > 256 ? 256 : (uint32_t)n;
#elif DSV3_HAVE_THREADS && defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 0) return n > 256 ? 256 : (uint32_t)n;
#endif
    return 1;
}

/* ==== 9. Model: hyperparameters, tensor binding, load (private) ========= */

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
    kernel_set kernels;       /* best for this CPU, chosen at load */
    int float_activations;    /* 1: never quantize activations */
    int ignore_expert_bias;   /* 1: route without exp_probs_b */
    uint32_t qk_head_dim;     /* qk_nope + qk_rope */
    int32_t token_bos, token_eos, token_pad;
    tensor_view token_embd, output_norm, output;
    layer_weights *layers;
    double *rope_inv_freq;    /* per rope pair, YaRN blend applied */
    size_t max_row;           /* longest row any kernel converts to floats */
    uint64_t fingerprint;     /* FNV-1a of the GGUF header: names the model in saved states */
    uint32_t n_extra_parts;   /* a split model's parts after the first (gguf.md §1.4) */
    file_image *extra_images;
    gguf_file *extra_ggufs;
    int vocab_only;           /* loaded with params.vocab_only: no weights */
    vocab vocab;              /* the tokenizer; vocab.present = 0 if none */
    dsv3_progress_fn progress;/* during load only; NULL afterwards */
    void *progress_user;
};

DSV3_PRINTF(3, 4)
static void model_log(const dsv3_model *m, int32_t level, const char *fmt, ...) {
    if (!m->log) return;
    char msg[DSV3_ERROR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m->log(m->log_user, level, msg);
}

/* Reports load progress; a non-zero answer cancels the load. */
static int32_t load_progress(const dsv3_model *m, float fraction, error_slot *err) {
    if (m->progress && m->progress(m->progress_user, fraction))
        return fail(err, DSV3_ERR_ABORTED, "loading cancelled by the progress callback at %.0f%%", fraction * 100.0);
    return DSV3_OK;
}

/* A tensor of any part of the model: metadata lives in the first part, tensor
   data in whichever part holds the tensor's info record. */
static const gguf_tensor *model_find_tensor(const dsv3_model *m, const char *name) {
    const gguf_tensor *t = gguf_find_tensor(&m->gguf, name);
    for (uint32_t i = 0; !t && i < m->n_extra_parts; i++) t = gguf_find_tensor(&m->extra_ggufs[i], name);
    return t;
}

/* Opens the other parts of a split model, NAME-00001-of-0000N.gguf: each is a
   complete GGUF file whose split.no says which part it is (gguf.md §1.4). */
static int32_t open_split_parts(dsv3_model *m, const char *path, int use_mmap, error_slot *err) {
    uint64_t count = 1, no = 0;
    int found;
    int32_t st;
    if ((st = meta_uint(&m->gguf, "split.count", 0xFFFF, &count, &found, err))) return st;
    if (!found || count <= 1) return DSV3_OK;
    if ((st = meta_uint(&m->gguf, "split.no", 0xFFFF, &no, &found, err))) return st;
    size_t len = strlen(path);
    const char *suffix = len >= 20 ? path + len - 20 : NULL; /* "-00001-of-000NN.gguf" */
    unsigned first = 0, total = 0;
    char tail[8];
    if (no != 0 || !suffix || sscanf(suffix, "-%5u-of-%5u%5s", &first, &total, tail) != 3 || first != 1 ||
        total != count || strcmp(tail, ".gguf") != 0)
        return fail(err, DSV3_ERR_INVALID_ARGUMENT,
                    "'%s' is part %llu of a model split in %llu: load the first part, named NAME-00001-of-%05llu.gguf",
                    path, (unsigned long long)no + 1, (unsigned long long)count, (unsigned long long)count);
    m->extra_images = (file_image *)mem_calloc(&m->alloc, (size_t)count - 1, sizeof *m->extra_images);
    m->extra_ggufs = (gguf_file *)mem_calloc(&m->alloc, (size_t)count - 1, sizeof *m->extra_ggufs);
    if (!m->extra_images || !m->extra_ggufs) return fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory opening parts");
    char *part_path = (char *)mem_alloc(&m->alloc, len + 1);
    if (!part_path) return fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory opening parts");
    memcpy(part_path, path, len + 1);
    for (uint32_t i = 1; i < count && st == DSV3_OK; i++) {
        char part_suffix[48]; /* count <= 65535: always 20 characters */
        snprintf(part_suffix, sizeof part_suffix, "-%05u-of-%05u.gguf", i + 1, (unsigned)count);
        memcpy(part_path + len - 20, part_suffix, 21);
        st = image_open(&m->extra_images[i - 1], part_path, use_mmap, &m->alloc, err);
        if (st) break;
        m->n_extra_parts = i;
        gguf_file *g = &m->extra_ggufs[i - 1];
        st = gguf_parse(g, m->extra_images[i - 1].data, m->extra_images[i - 1].size, &m->alloc, err);
        if (st) {
            char detail[DSV3_ERROR_SIZE];
            snprintf(detail, sizeof detail, "%s", err->message);
            st = fail(err, st, "%s: %s", part_path, detail);
            break;
        }
        uint64_t part_no = 0, part_count = 0;
        int has_no, has_count;
        if ((st = meta_uint(g, "split.no", 0xFFFF, &part_no, &has_no, err)) ||
            (st = meta_uint(g, "split.count", 0xFFFF, &part_count, &has_count, err)))
            break;
        if (!has_no || !has_count || part_no != i || part_count != count) {
            st = fail(err, DSV3_ERR_BAD_FILE, "%s says it is part %llu of %llu, expected part %u of %llu", part_path,
                      (unsigned long long)part_no + 1, (unsigned long long)part_count, i + 1,
                      (unsigned long long)count);
            break;
        }
        /* a tensor name must be unique over all parts */
        for (uint64_t t = 0; t < g->n_tensors && st == DSV3_OK; t++) {
            char name[DSV3_GGUF_MAX_NAME + 1];
            snprintf(name, sizeof name, "%.*s", (int)g->tensors[t].name.len, g->tensors[t].name.ptr);
            const gguf_tensor *other = gguf_find_tensor(&m->gguf, name);
            for (uint32_t j = 0; !other && j + 1 < i; j++) other = gguf_find_tensor(&m->extra_ggufs[j], name);
            if (other) st = fail(err, DSV3_ERR_BAD_FILE, "tensor '%s' appears in two parts", name);
        }
    }
    mem_free(&m->alloc, part_path);
    if (st == DSV3_OK)
        model_log(m, DSV3_LOG_INFO, "split model: %llu parts", (unsigned long long)count);
    return st;
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
    const gguf_tensor *t = model_find_tensor(m, name);
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
    view->dot = m->kernels.row_dot[t->type];
    if (!m->float_activations && m->kernels.act_dot[t->type]) {
        view->act_kind = act_table[t->type].kind;
        view->act_dot = m->kernels.act_dot[t->type];
        view->act_tile = m->kernels.act_tile[t->type];
        view->act_dot2 = m->kernels.act_dot2[t->type];
        view->act_dot_prefetches = m->kernels.act_dot_prefetches[t->type];
        /* the row-block kernels gather with 32-bit offsets (16 rows) */
        view->block_rows = view->row_bytes < ((size_t)1 << 27) ? m->kernels.block_rows[t->type] : NULL;
        view->quantize_act = m->kernels.quantize_act;
    }
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
    return model_find_tensor(m, name);
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
    /* Multi-token-prediction layers are counted in block_count and stored after
       the main layers (llama.cpp's next-n convention); the forward pass skips them. */
    if ((st = hp_uint(m, "nextn_predict_layers", 0, &hp->n_layer_nextn, err))) return st;
    if (hp->n_layer_nextn >= hp->n_layer)
        return fail(err, DSV3_ERR_BAD_MODEL, "nextn_predict_layers %u leaves no main layers of block_count %u",
                    hp->n_layer_nextn, hp->n_layer);
    hp->n_layer -= hp->n_layer_nextn;
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
    uint32_t q_lora_seen = 0;
    int32_t st;
    const gguf_tensor *emb = model_find_tensor(m, "token_embd.weight");
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
        if (l && (st = load_progress(m, 0.05f + 0.9f * (float)l / (float)hp->n_layer, err))) return st;
        if ((st = bind_layer_tensor(m, &L->attn_norm, l, "attn_norm.weight", 1, E, 1, 1, err))) return st;
        if (find_layer_tensor(m, l, "attn_q_a.weight")) {
            uint64_t Lq = find_layer_tensor(m, l, "attn_q_a.weight")->ne[1];
            if (Lq > UINT32_MAX || (q_lora_seen && Lq != q_lora_seen))
                return fail(err, DSV3_ERR_BAD_MODEL, "blk.%u.attn_q_a.weight has %llu outputs, other layers %u", l,
                            (unsigned long long)Lq, q_lora_seen);
            q_lora_seen = (uint32_t)Lq;
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
    /* Keys no tensor confirmed must not size anything: zero what is unused. */
    hp->q_lora_rank = q_lora_seen;
    if (hp->n_layer_dense_lead == 0) hp->n_ff = 0;
    if (hp->n_layer_dense_lead == hp->n_layer) {
        hp->n_expert = hp->n_expert_used = hp->n_expert_shared = hp->n_ff_expert = 0;
        hp->n_expert_groups = hp->n_expert_groups_used = 0;
        hp->has_expert_bias = 0;
    }
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
    for (uint32_t i = 0; i < m->n_extra_parts; i++) {
        gguf_release(&m->extra_ggufs[i], &a);
        image_close(&m->extra_images[i], &a);
    }
    mem_free(&a, m->extra_ggufs);
    mem_free(&a, m->extra_images);
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
    m->float_activations = params.float_activations != 0;
    m->ignore_expert_bias = params.ignore_expert_bias != 0;
    m->log = params.log;
    m->log_user = params.user;
    m->progress = params.progress;
    m->progress_user = params.user;
    if (path) {
        if ((st = image_open(&m->image, path, params.use_mmap, &a, &err))) goto done;
    } else {
        m->image.data = (const uint8_t *)data;
        m->image.size = size;
        m->image.kind = 0;
    }
    if ((st = gguf_parse(&m->gguf, m->image.data, m->image.size, &a, &err))) goto done;
    kernels_best(&m->kernels);
    /* the header's padding may run past the end of a file without tensors */
    m->fingerprint = fnv1a(DSV3_FNV_OFFSET, m->image.data,
                           m->gguf.data_offset < m->image.size ? (size_t)m->gguf.data_offset : m->image.size);
    if (path && !params.vocab_only && (st = open_split_parts(m, path, params.use_mmap, &err))) goto done;
    if ((st = load_progress(m, 0.05f, &err))) goto done;
    if (params.vocab_only) {
        if ((st = load_vocab_only(m, &err))) goto done;
        st = load_progress(m, 1.0f, &err);
        goto done;
    }
    if ((st = load_hparams(m, &params, &err))) goto done;
    {
        /* block_count sizes an allocation: confirm it by the last layer's tensor first */
        char last[DSV3_GGUF_MAX_NAME + 16];
        snprintf(last, sizeof last, "blk.%u.attn_norm.weight", m->hp.n_layer - 1);
        if (!model_find_tensor(m, last)) {
            st = fail(&err, DSV3_ERR_BAD_MODEL, "block_count is %u but tensor '%s' is missing",
                      m->hp.n_layer + m->hp.n_layer_nextn, last);
            goto done;
        }
    }
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
    if ((st = load_tokenizer(m, &err))) {
        /* A tokenizer dsv3 cannot run exactly (another pre-tokenizer, e.g. Kimi-K2's)
           must not stop the weights from running on token ids: say so, go on
           without text in and out (dsv3_tokenize then returns UNSUPPORTED). */
        if (st != DSV3_ERR_UNSUPPORTED) goto done;
        model_log(m, DSV3_LOG_WARN, "%s; the model runs on token ids only", err.message);
        err.message[0] = '\0';
        st = DSV3_OK;
    }
    m->hp.struct_size = sizeof m->hp;
    if ((st = load_progress(m, 1.0f, &err))) goto done;
    model_log(m, DSV3_LOG_INFO, "loaded deepseek2 model: %u layers, %u embd, %u heads, %u experts (%u used), vocab %u",
              m->hp.n_layer, m->hp.n_embd, m->hp.n_head, m->hp.n_expert, m->hp.n_expert_used, m->hp.n_vocab);
done:
    if (m) m->progress = NULL; /* the callback's user data need not outlive the load */
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

/* ==== 10. Forward pass: MLA attention, DeepSeekMoE, output head (private) */

struct dsv3_context {
    const dsv3_model *model;
    uint32_t n_ctx, n_batch;
    int32_t kv_type;
    size_t pos;
    uint8_t *kv_cache;      /* [layer][position][kv_lora + rope] */
    size_t kv_row_bytes;    /* one position of one layer */
    size_t kv_width;        /* elements of a row: kv_lora + rope, Q8_0 padded to its blocks */
    size_t kv_rope;         /* where a row's rope key starts */
    float *scratch;         /* the float buffers below point into it; B = n_batch */
    float *x, *xn;          /* [B][n_embd] residual stream, normalised copy */
    float *q;               /* [B][n_head][nope + rope] */
    float *q_lora;          /* [B][q_lora_rank] */
    float *kv;              /* [B][kv_lora + rope] */
    float *q_pack;          /* [n_head][q_pack_stride] one token's queries in the cache's row space */
    size_t q_pack_stride;
    float *attn_scores;     /* [n_threads][n_head][DSV3_ATTN_SEGMENT] a segment's scores, then weights */
    size_t attn_scores_stride;
    float *attn_part;       /* [segments][n_head][kv_lora] each segment's weighted latent sum */
    float *attn_ml;         /* [segments][n_head][2] and its softmax max and sum */
    float *o_lat;           /* [n_head][kv_lora] */
    float *attn_cat;        /* [B][n_head * v_head_dim] */
    float *hidden;          /* [B][n_embd] sublayer output before the residual add */
    float *ffn_gate, *ffn_up; /* [B][widest FFN] */
    float *expert_in, *expert_out; /* [B][n_embd] the rows of the tokens routed to one expert */
    float *router_logits;   /* [B][n_expert] */
    float *route_scratch;   /* [n_threads][route_stride]: moe_route's bias, choice and group scores */
    size_t route_stride;
    float *expert_weights;  /* [B][n_expert_used] gate weights, by ascending expert id */
    float *bucket_weights;  /* [B * n_expert_used] gate weights grouped by expert */
    float *row;             /* [n_threads][row_stride] per-thread row scratch */
    float *mla_chunk;       /* [n_threads][mla_chunk_stride] scratch of decompressed attention, or NULL */
    size_t mla_chunk_stride;
    int mla_form;           /* MLA_AUTO: the cheaper form per chunk; tests force one */
    float *rope_cs;         /* [B][rope] cos/sin pairs of the batch's positions, shared by all layers */
    float *logits;          /* [n_vocab] */
    uint8_t *act;           /* [B][quantized activations of the longest row] */
    uint8_t *thread_act;    /* [n_threads][thread_act_stride] the same, per thread */
    size_t thread_act_stride;
    int row_blocks;         /* batches go through block_rows (tests turn it off) */
    uint8_t *amx_packed;    /* a batch's activations in 16-token groups for AMX tiles */
    uint8_t *block_scratch; /* [n_threads][block_scratch_stride], 64-byte aligned */
    uint8_t *block_scratch_base;
    size_t block_scratch_stride;
    uint32_t *chosen;       /* [B][n_expert_used] expert ids, ascending */
    uint32_t *bucket_start; /* [n_expert + 1] first entry of each expert's bucket */
    uint32_t *bucket_tokens;/* [B * n_expert_used] token index of each entry */
    size_t row_stride;
    thread_pool pool;
    uint32_t min_parallel_work; /* multiply-adds per thread worth a split */
    void *pool_start_args;
    int has_logits;
    int32_t *tokens;        /* [n_ctx] the tokens fed so far */
    uint64_t rng_state;     /* sampling generator */
    struct candidate *candidates; /* [n_vocab] sampling scratch */
    uint8_t *seen;          /* [n_vocab] sampling scratch: penalty marks */
    uint64_t *expert_counts;/* [n_layer][n_expert] tokens routed to each expert */
    dsv3_abort_fn abort_cb; /* polled before every layer; NULL: never */
    void *abort_user;
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

/* Cache rows [first, first + n) of a layer as floats, kv_width apart: the
   cache itself when it is F32, else decoded into scratch. */
static const float *kv_rows(const dsv3_context *ctx, uint32_t layer, size_t first, size_t n, float *scratch,
                            const row_to_f32_fn *to_f32) {
    if (ctx->kv_type == DSV3_KV_F32) return (const float *)(const void *)kv_row(ctx, layer, first);
    row_to_f32_fn decode = to_f32[kv_gguf_type(ctx->kv_type)];
    for (size_t i = 0; i < n; i++) decode(kv_row(ctx, layer, first + i), scratch + i * ctx->kv_width, ctx->kv_width);
    return scratch;
}

typedef struct matmul_job {
    const tensor_view *w;
    size_t first_row;
    const float *x;
    size_t x_stride;
    uint8_t *act;        /* quantized activations, or NULL for the float path */
    size_t act_stride;
    float *out;
    size_t out_stride;
    size_t n_tokens;
    const tensor_view *up; /* with up: out2 = up . x too, then out = swiglu(out, out2) */
    float *out2;
    const kernel_set *kernels;
    const uint8_t *block_acts; /* non-NULL: the batch goes through block_rows */
    size_t block_act_stride;
    uint8_t *block_scratch;
    size_t block_scratch_stride;
} matmul_job;

#define DSV3_PREFETCH_ROWS 2

/* Rows [begin, end) for every token: blocks of rows stay in cache while each
   token's activations stream past them, so a batch reads its weights once. */
static void matmul_rows(const matmul_job *job, const tensor_view *w, float *out_base, size_t begin, size_t end,
                        uint8_t *block_scratch) {
    size_t n = (size_t)w->ne[0];
    if (job->block_acts) {
        for (size_t r0 = begin; r0 < end; r0 += 16)
            w->block_rows(view_row(w, job->first_row + r0), w->row_bytes, end - r0 < 16 ? end - r0 : 16,
                          job->block_acts, job->block_act_stride, job->n_tokens, n, out_base + r0, job->out_stride,
                          block_scratch);
        return;
    }
    if (job->act && job->n_tokens == 1) {
        /* one token streams each row once: two interleaved streams (the two
           halves of this thread's rows) keep more reads in flight than one;
           a Zen 4 core streams Q6_K rows ~35% faster so. The hardware
           prefetchers stop at page boundaries and ramp up slowly on short
           rows, so the rows are fetched ahead in software: on a 2-core Intel
           Xeon, prefetching each stream's row DSV3_PREFETCH_ROWS ahead whole
           took decode from 62% to ~80% of the bench's read bandwidth (Q4_K_M
           27.6 -> 35.2 t/s on 2 threads, 15.1 -> 18.5 on one). A whole row's
           requests at once stall the core, though, once the miss buffers
           are full: kernels that prefetch a block's lines per block
           (act_dot_prefetches) decoded 6-15% faster on a Zen 5 core. */
        size_t half = (end - begin + 1) / 2;
        for (size_t i = 0; i < half; i++) {
            size_t r = begin + i, r2 = begin + half + i;
            if (!w->act_dot_prefetches && r2 + DSV3_PREFETCH_ROWS < end) {
                const uint8_t *next = view_row(w, job->first_row + r + DSV3_PREFETCH_ROWS);
                const uint8_t *next2 = view_row(w, job->first_row + r2 + DSV3_PREFETCH_ROWS);
                for (size_t at = 0; at < w->row_bytes; at += 64) {
                    DSV3_PREFETCH(next + at);
                    DSV3_PREFETCH(next2 + at);
                }
            }
            if (r2 < end && w->act_dot2) {
                w->act_dot2(view_row(w, job->first_row + r), view_row(w, job->first_row + r2), job->act, n,
                            &out_base[r], &out_base[r2]);
                continue;
            }
            out_base[r] = w->act_dot(view_row(w, job->first_row + r), job->act, n);
            if (r2 < end) out_base[r2] = w->act_dot(view_row(w, job->first_row + r2), job->act, n);
        }
        return;
    }
    for (size_t r0 = begin; r0 < end; r0 += 16) {
        size_t r1 = r0 + 16 < end ? r0 + 16 : end;
        if (job->act && w->act_tile && job->n_tokens > 1) {
            /* a few tokens at a time, each weight block decoded once for them */
            for (size_t t = 0; t < job->n_tokens; t += DSV3_TILE_TOKENS) {
                size_t n_tok = job->n_tokens - t < DSV3_TILE_TOKENS ? job->n_tokens - t : DSV3_TILE_TOKENS;
                for (size_t r = r0; r < r1; r++)
                    w->act_tile(view_row(w, job->first_row + r), job->act + t * job->act_stride, job->act_stride,
                                n_tok, n, out_base + t * job->out_stride + r, job->out_stride);
            }
            continue;
        }
        for (size_t t = 0; t < job->n_tokens; t++) {
            float *out = out_base + t * job->out_stride;
            if (job->act) {
                const uint8_t *act = job->act + t * job->act_stride;
                for (size_t r = r0; r < r1; r++) out[r] = w->act_dot(view_row(w, job->first_row + r), act, n);
            } else {
                const float *x = job->x + t * job->x_stride;
                for (size_t r = r0; r < r1; r++) out[r] = w->dot(view_row(w, job->first_row + r), x, n);
            }
        }
    }
}

static void matmul_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    const matmul_job *job = (const matmul_job *)arg;
    uint8_t *block_scratch =
        job->block_scratch ? job->block_scratch + thread_index * job->block_scratch_stride : NULL;
    matmul_rows(job, job->w, job->out, begin, end, block_scratch);
    if (!job->up) return;
    /* the up rows of the same range, then SwiGLU on them (report §2.1.2) */
    matmul_rows(job, job->up, job->out2, begin, end, block_scratch);
    for (size_t t = 0; t < job->n_tokens; t++)
        job->kernels->swiglu(job->out + t * job->out_stride + begin, job->out2 + t * job->out_stride + begin,
                             end - begin);
}

/* Quantizes the activations of tokens [begin, end) of a matmul job. */
static void quantize_tokens_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    const matmul_job *job = (const matmul_job *)arg;
    const tensor_view *w = job->w;
    (void)thread_index;
    for (size_t t = begin; t < end; t++)
        w->quantize_act(w->act_kind, job->x + t * job->x_stride, job->act + t * job->act_stride,
                        (size_t)w->ne[0]);
}

/* out[t][r] = W[first_row + r] . x[t] for n_tokens tokens, rows split across
   the context's threads. Every element is the weight type's dot product (one
   row and token alone, in a tile of tokens or in a pair of rows: the same
   bits), so the result does not depend on the thread count; a batch of
   block_rows_min_tokens or more through block_rows (VNNI or AMX) sums in the
   scalar reference's order instead, and agrees with the same tokens stepped
   one by one to rounding. */
#if DSV3_HAVE_AMX
/* Packs 16-token groups [begin, end) of a matmul job's activations. */
static void amx_pack_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    const matmul_job *job = (const matmul_job *)arg;
    size_t n = (size_t)job->w->ne[0], group_bytes = amx_group_bytes(job->w->act_kind, n);
    (void)thread_index;
    for (size_t g = begin; g < end; g++)
        amx_pack_group(job->w->act_kind, job->act, job->act_stride, 16 * g, job->n_tokens, n,
                       (uint8_t *)(uintptr_t)job->block_acts + g * group_bytes);
}
#endif

static void par_matmul_job(dsv3_context *ctx, matmul_job *job, size_t n_rows) {
    const tensor_view *w = job->w;
    job->kernels = &ctx->model->kernels;
    if (w->act_kind) {
        /* each token's activations quantized once, shared by every row */
        size_t n = (size_t)w->ne[0];
        job->act = ctx->act;
        job->act_stride = act_bytes(w->act_kind, n);
        if (job->n_tokens >= 8 && ctx->pool.n_threads > 1) /* a prefill batch: the tokens split across threads */
            parallel_for(&ctx->pool, job->n_tokens, 4, quantize_tokens_task, job);
        else
            quantize_tokens_task(job, 0, 0, job->n_tokens);
        if (ctx->row_blocks && job->n_tokens >= job->kernels->block_rows_min_tokens && w->block_rows &&
            (!job->up || job->up->block_rows)) {
            job->block_acts = job->act;
            job->block_act_stride = job->act_stride;
            job->block_scratch = ctx->block_scratch;
            job->block_scratch_stride = ctx->block_scratch_stride;
#if DSV3_HAVE_AMX
            if (job->kernels->block_rows_packed) { /* AMX: the activations laid out once for every row */
                job->block_acts = ctx->amx_packed;
                job->block_act_stride = amx_group_bytes(w->act_kind, n);
                parallel_for(&ctx->pool, (job->n_tokens + 15) / 16, 1, amx_pack_task, job);
            }
#endif
        }
    }
    /* splitting pays only when each thread gets real work */
    size_t work = n_rows * (size_t)w->ne[0] * job->n_tokens * (job->up ? 2 : 1);
    size_t min_rows = work >= (size_t)ctx->min_parallel_work * ctx->pool.n_threads ? 16 : n_rows + 1;
    parallel_for(&ctx->pool, n_rows, min_rows, matmul_task, job);
}

static void par_matmul(dsv3_context *ctx, const tensor_view *w, size_t first_row, size_t n_rows, const float *x,
                       size_t x_stride, size_t n_tokens, float *out, size_t out_stride) {
    matmul_job job = {w, first_row, x, x_stride, NULL, 0, out, out_stride, n_tokens, NULL, NULL, NULL, NULL, 0, NULL, 0};
    par_matmul_job(ctx, &job, n_rows);
}

/* Decoding attends over the cache in segments of this many positions: each
   segment's softmax partial is found on its own, on any thread, and the
   partials are merged in order (flash-decoding), so the cache is split across
   threads by position as well as by head and the result never depends on the
   thread count. */
#define DSV3_ATTN_SEGMENT 256

typedef struct attend_job {
    dsv3_context *ctx;
    const layer_weights *L;
    uint32_t layer;
    size_t n_cached;       /* rows 0..pos */
    const float *q;        /* this token's query, [n_head][nope + rope], rope not yet applied */
    const float *cos_sin;  /* this token's rope angles */
    float *out;            /* this token's [n_head * v_head_dim] */
    size_t n_groups, group_heads; /* heads split into groups of group_heads */
} attend_job;

/* Heads [begin, end): the query in the cache's row space, [W_UK^T q_nope ;
   RoPE(q_pe)] (the absorbed form: DeepSeek-V2 report §2.1.3), zero-padded. */
static void attend_query(const attend_job *job, uint32_t thread_index, size_t begin, size_t end) {
    dsv3_context *ctx = job->ctx;
    const layer_weights *L = job->L;
    const dsv3_model *m = ctx->model;
    size_t Lkv = m->hp.kv_lora_rank, dr = m->hp.qk_rope_head_dim, dn = m->hp.qk_nope_head_dim;
    size_t dv = m->hp.v_head_dim, dk = m->qk_head_dim, stride = ctx->q_pack_stride;
    float *row = ctx->row + thread_index * ctx->row_stride;
    uint8_t *act = ctx->thread_act + thread_index * ctx->thread_act_stride;
    for (size_t h = begin; h < end; h++) {
        const float *q_head = job->q + h * dk;
        float *packed = ctx->q_pack + h * stride;
        if (L->k_b.data) /* rows (h, r) of length dn: packed[r] = W_UK[h][:, r] . q_nope */
            matvec(&L->k_b, h * Lkv, Lkv, q_head, packed, act);
        else /* legacy rows h*(dn+dv) + d hold W_UK[h][d, :] */
            matvec_transposed(&L->kv_b, h * (dn + dv), dn, q_head, packed, row);
        size_t rope = ctx->kv_rope; /* the row's layout, padding zeroed */
        for (size_t j = Lkv; j < rope; j++) packed[j] = 0.0f;
        memcpy(packed + rope, q_head + dn, dr * sizeof(float));
        m->kernels.rope_rotate(packed + rope, job->cos_sin, dr / 2);
        for (size_t j = rope + dr; j < stride; j++) packed[j] = 0.0f;
    }
}

/* One work item, a segment of cached rows for a group of heads: the scores,
   their softmax partial (max and sum of exponentials, in ctx->attn_ml) and
   the weighted sum of the rows' latents (in ctx->attn_part). */
static void attend_segment(const attend_job *job, uint32_t thread_index, size_t item) {
    dsv3_context *ctx = job->ctx;
    const dsv3_model *m = ctx->model;
    const kernel_set *k = &m->kernels;
    size_t H = m->hp.n_head, Lkv = m->hp.kv_lora_rank, S = DSV3_ATTN_SEGMENT;
    size_t segment = item / job->n_groups, h0 = item % job->n_groups * job->group_heads;
    size_t h1 = h0 + job->group_heads < H ? h0 + job->group_heads : H;
    size_t t0 = segment * S, n_rows = job->n_cached - t0 < S ? job->n_cached - t0 : S;
    float *scores = ctx->attn_scores + thread_index * ctx->attn_scores_stride;
    const uint8_t *rows = kv_row(ctx, job->layer, t0);
    k->kv_scores(ctx->q_pack + h0 * ctx->q_pack_stride, ctx->q_pack_stride, h1 - h0, rows, ctx->kv_row_bytes, n_rows,
                 ctx->kv_width, ctx->kv_type, scores, S);
    for (size_t h = h0; h < h1; h++) {
        float *ml = ctx->attn_ml + (segment * H + h) * 2;
        ml[0] = -INFINITY;
        ml[1] = 0.0f;
        k->softmax_online(scores + (h - h0) * S, n_rows, n_rows, m->hp.attn_scale, &ml[0], &ml[1]);
    }
    k->kv_mix(ctx->attn_part + (segment * H + h0) * Lkv, Lkv, h1 - h0, scores, S, rows, ctx->kv_row_bytes, n_rows, Lkv,
              ctx->kv_type);
}

/* Heads [begin, end): the segments' partials merged in order, each weighted
   by exp(its max - the overall max), normalised by the merged sum, and mapped
   out through W_UV. */
static void attend_output(const attend_job *job, uint32_t thread_index, size_t begin, size_t end) {
    dsv3_context *ctx = job->ctx;
    const layer_weights *L = job->L;
    const dsv3_model *m = ctx->model;
    size_t H = m->hp.n_head, Lkv = m->hp.kv_lora_rank, dn = m->hp.qk_nope_head_dim, dv = m->hp.v_head_dim;
    size_t n_segments = (job->n_cached + DSV3_ATTN_SEGMENT - 1) / DSV3_ATTN_SEGMENT;
    uint8_t *act = ctx->thread_act + thread_index * ctx->thread_act_stride;
    for (size_t h = begin; h < end; h++) {
        float max = -INFINITY, sum = 0.0f, *o = ctx->o_lat + h * Lkv;
        for (size_t s = 0; s < n_segments; s++) max = fmaxf(max, ctx->attn_ml[(s * H + h) * 2]);
        memset(o, 0, Lkv * sizeof(float));
        for (size_t s = 0; s < n_segments; s++) {
            const float *ml = ctx->attn_ml + (s * H + h) * 2;
            float weight = expf(ml[0] - max);
            sum += weight * ml[1];
            m->kernels.axpy_f32(o, weight, ctx->attn_part + (s * H + h) * Lkv, Lkv);
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < Lkv; j++) o[j] *= inv;
        float *out = job->out + h * dv;
        if (L->v_b.data) matvec(&L->v_b, h * dv, dv, o, out, act);
        else matvec(&L->kv_b, h * (dn + dv) + dn, dv, o, out, act);
    }
}

static void attend_query_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    attend_query((const attend_job *)arg, thread_index, begin, end);
}

static void attend_segment_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    for (size_t item = begin; item < end; item++) attend_segment((const attend_job *)arg, thread_index, item);
}

static void attend_output_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    attend_output((const attend_job *)arg, thread_index, begin, end);
}

/* A cache of one segment: each thread takes whole head groups through all
   three steps, one parallel section instead of three. */
static void attend_group_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    const attend_job *job = (const attend_job *)arg;
    size_t H = job->ctx->model->hp.n_head;
    for (size_t g = begin; g < end; g++) {
        size_t h0 = g * job->group_heads, h1 = h0 + job->group_heads < H ? h0 + job->group_heads : H;
        attend_query(job, thread_index, h0, h1);
        attend_segment(job, thread_index, g);
        attend_output(job, thread_index, h0, h1);
    }
}

/* Multi-head latent attention for one token at `pos` over cache rows 0..pos,
   in the absorbed form (DeepSeek-V2 report §2.1.2-2.1.3): each head's nope
   query is mapped into the latent space through W_UK, scores are taken
   against the cached latent plus the rope key, and the weighted latent sum
   is mapped out through W_UV. The rows are read in the cache's own element
   type, once per head group; the work splits by segment and head group. */
static void mla_attend_token(dsv3_context *ctx, const layer_weights *L, uint32_t layer, const float *q, size_t pos,
                             const float *cos_sin, float *out) {
    const dsv3_hparams *hp = &ctx->model->hp;
    size_t H = hp->n_head, Lkv = hp->kv_lora_rank, threads = ctx->pool.n_threads;
    size_t n_cached = pos + 1, n_segments = (n_cached + DSV3_ATTN_SEGMENT - 1) / DSV3_ATTN_SEGMENT;
    /* enough items for every thread, while each group keeps whole tiles of 4 heads */
    size_t groups = 1;
    while (n_segments * groups < 2 * threads && H / (groups * 2) >= 4) groups *= 2;
    size_t group_heads = (H + groups - 1) / groups;
    groups = (H + group_heads - 1) / group_heads;
    attend_job job = {ctx, L, layer, n_cached, q, cos_sin, out, groups, group_heads};
    size_t min_work = (size_t)ctx->min_parallel_work * threads;
    size_t query_work = H * Lkv * (hp->qk_nope_head_dim + hp->v_head_dim);
    size_t row_work = H * n_cached * (ctx->kv_width + Lkv);
    if (n_segments == 1) {
        parallel_for(&ctx->pool, groups, query_work + row_work >= min_work ? 1 : groups + 1, attend_group_task, &job);
        return;
    }
    parallel_for(&ctx->pool, H, query_work / 2 >= min_work ? 1 : H + 1, attend_query_task, &job);
    parallel_for(&ctx->pool, n_segments * groups, row_work >= min_work ? 1 : n_segments * groups + 1,
                 attend_segment_task, &job);
    parallel_for(&ctx->pool, H, query_work / 2 >= min_work ? 1 : H + 1, attend_output_task, &job);
}

/* Batched attention of a prefill chunk reads the cache in blocks of this many
   rows, rebuilding each block's keys and values once for all of the chunk's
   queries of a head. */
#define DSV3_ATTN_BLOCK 64
enum { MLA_AUTO = 0, MLA_ABSORBED = 1, MLA_DECOMPRESSED = 2 };

/* One thread's scratch for mla_attend_chunk with batches of B tokens: lays
   out the parts from base (when given) and returns the floats they take. The
   parts: W_UK and W_UV of a head as [latent][nope|value], a dequantized row,
   a block of cache rows as floats, its keys, the keys transposed (nope then
   rope), its values, and per query the block's scores, the running output,
   max and sum. */
enum { MLA_W_K, MLA_W_V, MLA_TMP, MLA_BLOCK, MLA_KEYS, MLA_KEYS_T, MLA_VALUES, MLA_SCORES, MLA_ACC, MLA_MAX, MLA_SUM,
       MLA_PARTS };
static size_t mla_chunk_layout(const dsv3_hparams *hp, size_t B, float *base, float **parts) {
    size_t Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim, dn = hp->qk_nope_head_dim, dv = hp->v_head_dim;
    const size_t BLK = DSV3_ATTN_BLOCK;
    const size_t sizes[MLA_PARTS] = {Lkv * dn, Lkv * dv,  Lkv,     BLK * kv_row_elements(DSV3_KV_Q8_0, Lkv, dr), BLK * dn, (dn + dr) * BLK,
                                     BLK * dv, B * BLK, B * dv, B,                B};
    size_t total = 0;
    for (size_t i = 0; i < MLA_PARTS; i++) {
        if (base) parts[i] = base + total;
        total += (sizes[i] + 15) & ~(size_t)15; /* 64-byte aligned parts */
    }
    return total;
}

typedef struct chunk_attend_job {
    dsv3_context *ctx;
    const layer_weights *L;
    uint32_t layer;
    size_t n;      /* tokens of the chunk, at positions ctx->pos.. */
    size_t splits; /* token ranges per head (several when threads outnumber heads) */
} chunk_attend_job;

/* Attention of head h for the chunk's tokens [t0, t1) in the decompressed form:
   per block of cached rows, the head's keys k = [W_UK c ; k_pe] and values
   v = W_UV c are rebuilt from the latent rows (DeepSeek-V3 report eq. 1-5),
   then the queries' scores, an online softmax and the weighted values run as
   float matrix products. Every query's arithmetic depends only on its own row
   and the block boundaries, never on how tokens or heads are split. */
static void attend_head_range(const chunk_attend_job *job, float *scratch, size_t h, size_t t0, size_t t1) {
    dsv3_context *ctx = job->ctx;
    const layer_weights *L = job->L;
    const dsv3_model *m = ctx->model;
    const dsv3_hparams *hp = &m->hp;
    const kernel_set *k = &m->kernels;
    size_t Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim, dn = hp->qk_nope_head_dim, dv = hp->v_head_dim;
    size_t H = hp->n_head, dk = m->qk_head_dim, width = ctx->kv_width, BLK = DSV3_ATTN_BLOCK;
    float *parts[MLA_PARTS];
    mla_chunk_layout(hp, ctx->n_batch, scratch, parts);
    float *w_k = parts[MLA_W_K], *w_v = parts[MLA_W_V], *tmp = parts[MLA_TMP], *block = parts[MLA_BLOCK];
    float *keys = parts[MLA_KEYS], *keys_t = parts[MLA_KEYS_T], *values = parts[MLA_VALUES];
    float *scores = parts[MLA_SCORES], *acc = parts[MLA_ACC], *run_max = parts[MLA_MAX], *run_sum = parts[MLA_SUM];

    /* this head's W_UK as [latent][nope] and W_UV as [latent][value], in float */
    if (L->k_b.data) {
        for (size_t r = 0; r < Lkv; r++) k->to_f32[L->k_b.type](view_row(&L->k_b, h * Lkv + r), w_k + r * dn, dn);
    } else {
        for (size_t d = 0; d < dn; d++) {
            k->to_f32[L->kv_b.type](view_row(&L->kv_b, h * (dn + dv) + d), tmp, Lkv);
            for (size_t r = 0; r < Lkv; r++) w_k[r * dn + d] = tmp[r];
        }
    }
    const tensor_view *wv = L->v_b.data ? &L->v_b : &L->kv_b;
    size_t v_first = L->v_b.data ? h * dv : h * (dn + dv) + dn;
    for (size_t d = 0; d < dv; d++) {
        k->to_f32[wv->type](view_row(wv, v_first + d), tmp, Lkv);
        for (size_t r = 0; r < Lkv; r++) w_v[r * dv + d] = tmp[r];
    }

    size_t pos = ctx->pos, q_stride = H * dk;
    for (size_t t = t0; t < t1; t++) {
        k->rope_rotate(ctx->q + t * q_stride + h * dk + dn, ctx->rope_cs + t * dr, dr / 2);
        run_max[t - t0] = -INFINITY;
        run_sum[t - t0] = 0.0f;
    }
    memset(acc, 0, (t1 - t0) * dv * sizeof(float));
    size_t n_rows_total = pos + t1; /* causal: the last query sees rows [0, pos + t1) */
    for (size_t b0 = 0; b0 < n_rows_total; b0 += BLK) {
        size_t nr = n_rows_total - b0 < BLK ? n_rows_total - b0 : BLK;
        const float *rows = kv_rows(ctx, job->layer, b0, nr, block, k->to_f32);
        k->gemm_f32(keys, dn, rows, width, w_k, dn, nr, Lkv, dn, 0);
        k->gemm_f32(values, dv, rows, width, w_v, dv, nr, Lkv, dv, 0);
        for (size_t j = 0; j < nr; j++) {
            for (size_t d = 0; d < dn; d++) keys_t[d * BLK + j] = keys[j * dn + d];
            for (size_t e = 0; e < dr; e++) keys_t[(dn + e) * BLK + j] = rows[j * width + ctx->kv_rope + e];
        }
        /* the queries that see row b0: positions pos + t >= b0 */
        size_t tq = b0 > pos && b0 - pos > t0 ? b0 - pos : t0, nq = t1 - tq, i0 = tq - t0;
        k->gemm_f32(scores + i0 * BLK, BLK, ctx->q + tq * q_stride + h * dk, q_stride, keys_t, BLK, nq, dk, nr, 0);
        for (size_t i = i0; i < t1 - t0; i++) {
            size_t seen = pos + t0 + i + 1 - b0, valid = seen < nr ? seen : nr;
            float correction = k->softmax_online(scores + i * BLK, valid, nr, hp->attn_scale, &run_max[i], &run_sum[i]);
            if (correction != 1.0f)
                for (size_t d = 0; d < dv; d++) acc[i * dv + d] *= correction;
        }
        k->gemm_f32(acc + i0 * dv, dv, scores + i0 * BLK, BLK, values, dv, nq, nr, dv, 1);
    }
    for (size_t t = t0; t < t1; t++) {
        float inv = 1.0f / run_sum[t - t0], *out = ctx->attn_cat + t * H * dv + h * dv;
        for (size_t d = 0; d < dv; d++) out[d] = acc[(t - t0) * dv + d] * inv;
    }
}

static void chunk_attend_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    const chunk_attend_job *job = (const chunk_attend_job *)arg;
    float *scratch = job->ctx->mla_chunk + thread_index * job->ctx->mla_chunk_stride;
    for (size_t item = begin; item < end; item++) {
        size_t h = item / job->splits, part = item % job->splits;
        size_t t0 = job->n * part / job->splits, t1 = job->n * (part + 1) / job->splits;
        if (t0 < t1) attend_head_range(job, scratch, h, t0, t1);
    }
}

/* Whether a chunk of n queries at ctx->pos attends in the decompressed form:
   it rebuilds the keys and values of every cached row once per head (W_UK and
   W_UV over the latent: Lkv (dn + dv) multiply-adds per row, plus dequantizing
   the head's weights, counted as 8 rows' worth) and then costs dn + dr + dv
   per query and row, where the absorbed form maps every query in and out of
   the latent space (the same Lkv (dn + dv) per query) and costs 2 Lkv + dr per
   query and row. The absorbed form's multiply-adds are weighted 2.7x: the
   weight fitted to where the two forms' measured times crossed (Zen 5, chunks
   of 16-256 tokens at depths 0, 1024 and 4096); with it the choice was the
   faster form in every case measured but 16-token chunks at depth 0, where the
   two were within 7%. */
static int use_decompressed(const dsv3_context *ctx, size_t n) {
    if (!ctx->mla_chunk || n < 2 || ctx->mla_form == MLA_ABSORBED) return 0; /* a step stays absorbed */
    if (ctx->mla_form == MLA_DECOMPRESSED) return 1;
    const dsv3_hparams *hp = &ctx->model->hp;
    double Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim, dn = hp->qk_nope_head_dim, dv = hp->v_head_dim;
    double rows = (double)(ctx->pos + n), pairs = (double)n * ((double)ctx->pos + (double)(n + 1) / 2);
    double absorbed = n * Lkv * (dn + dv) + pairs * (2 * Lkv + dr);
    double decompressed = (rows + 8) * Lkv * (dn + dv) + pairs * (dn + dr + dv);
    return decompressed < 2.7 * absorbed;
}

static void mla_attend_chunk(dsv3_context *ctx, const layer_weights *L, uint32_t layer, size_t n) {
    size_t H = ctx->model->hp.n_head, threads = ctx->pool.n_threads;
    size_t splits = H >= threads ? 1 : (threads + H - 1) / H;
    if (splits > n) splits = n;
    chunk_attend_job job = {ctx, L, layer, n, splits};
    parallel_for(&ctx->pool, H * splits, 1, chunk_attend_task, &job);
}

static void moe_route(dsv3_context *ctx, const layer_weights *L, float *scores, uint32_t *chosen, float *weights,
                      float *scratch);

/* The per-token steps between the matrix products of a batch, split across
   the threads by token (each token's arithmetic is the same on any thread). */
enum { TOKENS_ATTN_NORM, TOKENS_KV, TOKENS_Q_NORM, TOKENS_FFN_NORM, TOKENS_ROUTE, TOKENS_RESIDUAL };
typedef struct token_job {
    dsv3_context *ctx;
    const layer_weights *L;
    uint32_t layer;
    int step;
} token_job;

static void token_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    const token_job *job = (const token_job *)arg;
    dsv3_context *ctx = job->ctx;
    const layer_weights *L = job->L;
    const dsv3_model *m = ctx->model;
    const dsv3_hparams *hp = &m->hp;
    size_t E = hp->n_embd, Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim, Lq = hp->q_lora_rank;
    size_t X = hp->n_expert, k = hp->n_expert_used;
    float *row = ctx->row + thread_index * ctx->row_stride;
    for (size_t i = begin; i < end; i++) {
        float *x = ctx->x + i * E, *xn = ctx->xn + i * E;
        switch (job->step) {
        case TOKENS_ATTN_NORM: rmsnorm(&m->kernels, xn, x, &L->attn_norm, E, hp->rms_norm_eps, row); break;
        case TOKENS_KV: {
            float *kv = ctx->kv + i * (Lkv + dr);
            rmsnorm(&m->kernels, kv, kv, &L->kv_a_norm, Lkv, hp->rms_norm_eps, row);
            m->kernels.rope_rotate(kv + Lkv, ctx->rope_cs + i * dr, dr / 2);
            kv_store(kv_row(ctx, job->layer, ctx->pos + i), ctx->kv_type, kv, Lkv, dr, row);
            break;
        }
        case TOKENS_Q_NORM:
            rmsnorm(&m->kernels, ctx->q_lora + i * Lq, ctx->q_lora + i * Lq, &L->q_a_norm, Lq, hp->rms_norm_eps, row);
            break;
        case TOKENS_FFN_NORM: /* the attention's residual, then the FFN's norm */
            for (size_t j = 0; j < E; j++) x[j] += ctx->hidden[i * E + j];
            rmsnorm(&m->kernels, xn, x, &L->ffn_norm, E, hp->rms_norm_eps, row);
            break;
        case TOKENS_ROUTE:
            moe_route(ctx, L, ctx->router_logits + i * X, ctx->chosen + i * k, ctx->expert_weights + i * k,
                      ctx->route_scratch + thread_index * ctx->route_stride);
            break;
        default: /* TOKENS_RESIDUAL: the FFN's */
            for (size_t j = 0; j < E; j++) x[j] += ctx->hidden[i * E + j];
            break;
        }
    }
}

static void for_each_token(dsv3_context *ctx, const layer_weights *L, uint32_t layer, int step, size_t n) {
    token_job job = {ctx, L, layer, step};
    parallel_for(&ctx->pool, n, 4, token_task, &job);
}

/* The attention sublayer for n tokens at positions pos..pos+n-1: joint KV
   compression into the cache (DeepSeek-V3 report eq. 1-3: the latent
   c_kv = RMSNorm(W_DKV h) and the shared rope key k_pe = RoPE(W_KR h)), the
   queries (eq. 6-8, or a plain projection for V2-Lite), causal attention token
   by token, and the output projection into ctx->hidden. */
static void attention_batch(dsv3_context *ctx, const layer_weights *L, uint32_t layer, size_t n) {
    const dsv3_model *m = ctx->model;
    const dsv3_hparams *hp = &m->hp;
    size_t E = hp->n_embd, H = hp->n_head, dk = m->qk_head_dim, dv = hp->v_head_dim;
    size_t Lkv = hp->kv_lora_rank, dr = hp->qk_rope_head_dim, Lq = hp->q_lora_rank;
    par_matmul(ctx, &L->kv_a_mqa, 0, Lkv + dr, ctx->xn, E, n, ctx->kv, Lkv + dr);
    for_each_token(ctx, L, layer, TOKENS_KV, n);
    if (L->q_a.data) {
        par_matmul(ctx, &L->q_a, 0, Lq, ctx->xn, E, n, ctx->q_lora, Lq);
        for_each_token(ctx, L, layer, TOKENS_Q_NORM, n);
        par_matmul(ctx, &L->q_b, 0, H * dk, ctx->q_lora, Lq, n, ctx->q, H * dk);
    } else {
        par_matmul(ctx, &L->q, 0, H * dk, ctx->xn, E, n, ctx->q, H * dk);
    }
    if (use_decompressed(ctx, n))
        mla_attend_chunk(ctx, L, layer, n);
    else
        for (size_t i = 0; i < n; i++)
            mla_attend_token(ctx, L, layer, ctx->q + i * H * dk, ctx->pos + i, ctx->rope_cs + i * dr,
                             ctx->attn_cat + i * H * dv);
    par_matmul(ctx, &L->attn_output, 0, E, ctx->attn_cat, H * dv, n, ctx->hidden, E);
}

/* SwiGLU FFNs for n token rows of x (stride n_embd): out = W_down (silu(W_gate x)
   * W_up x) (report §2.1.2), on rows [first_row, first_row + width) of the
   stacked gate/up tensors and rows [down_row, down_row + n_embd) of down. */
static void swiglu_ffn(dsv3_context *ctx, const tensor_view *gate, const tensor_view *up, const tensor_view *down,
                       size_t first_row, size_t width, size_t down_row, const float *x, size_t n, float *out) {
    size_t E = ctx->model->hp.n_embd, stride = width;
    if (gate->type == up->type && gate->ne[0] == up->ne[0]) {
        /* one parallel section: gate and up rows of a range on one thread, which
           applies SwiGLU to them; the activations are quantized once for both */
        matmul_job job = {gate, first_row, x, E, NULL, 0, ctx->ffn_gate, stride, n, up, ctx->ffn_up, NULL, NULL, 0, NULL, 0};
        par_matmul_job(ctx, &job, width);
    } else {
        par_matmul(ctx, gate, first_row, width, x, E, n, ctx->ffn_gate, stride);
        par_matmul(ctx, up, first_row, width, x, E, n, ctx->ffn_up, stride);
        for (size_t i = 0; i < n; i++)
            ctx->model->kernels.swiglu(ctx->ffn_gate + i * stride, ctx->ffn_up + i * stride, width);
    }
    par_matmul(ctx, down, down_row, E, ctx->ffn_gate, stride, n, out, E);
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

/* DeepSeekMoE routing of one token (DeepSeek-V3 report §2.1.2, eq. 12-16) from
   its router logits (overwritten with the affinities): sigmoid (V3) or softmax
   (V2) affinities; the bias only picks experts (eq. 16), the gate weights come
   from the unbiased affinities, normalised (eq. 13) when the file says so, times
   the routed scaling factor. Group-limited: experts are split into groups and
   only the best groups compete (§2.1.2 node-limited routing). Writes the chosen
   experts in ascending id order, with their weights. */
static void moe_route(dsv3_context *ctx, const layer_weights *L, float *scores, uint32_t *chosen, float *weights,
                      float *scratch) {
    const dsv3_hparams *hp = &ctx->model->hp;
    uint32_t X = hp->n_expert, k = hp->n_expert_used, G = hp->n_expert_groups;
    /* scratch: [X] bias, [X] choice, [G] group scores, [G] kept group ids */
    float *bias = scratch, *choice = scratch + X, *group_scores = choice + X;
    uint32_t *kept = (uint32_t *)(void *)(group_scores + G);
    if (hp->expert_gating == 2) {
        for (uint32_t i = 0; i < X; i++) scores[i] = sigmoid(scores[i]);
    } else {
        ctx->model->kernels.softmax(scores, X);
    }
    int use_bias = L->exp_probs_b.data && !ctx->model->ignore_expert_bias;
    if (use_bias) {
        type_table[L->exp_probs_b.type].to_f32(L->exp_probs_b.data, bias, X);
        for (uint32_t i = 0; i < X; i++) choice[i] = scores[i] + bias[i];
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
            group_scores[g] = L->exp_probs_b.data && group_size > 1 ? first + second : first;
        }
        uint32_t n_kept = hp->n_expert_groups_used;
        for (uint32_t j = 0; j < n_kept; j++) kept[j] = argmax_excluding(group_scores, G, kept, j);
        for (uint32_t g = 0; g < G; g++) {
            int keep = 0;
            for (uint32_t j = 0; j < n_kept; j++) keep |= kept[j] == g;
            if (!keep)
                for (uint32_t i = 0; i < group_size; i++) choice[(size_t)g * group_size + i] = -INFINITY;
        }
    }
    float sum = 0.0f;
    for (uint32_t j = 0; j < k; j++) {
        chosen[j] = argmax_excluding(choice, X, chosen, j);
        weights[j] = scores[chosen[j]];
        sum += weights[j];
    }
    float scale = hp->expert_weights_scale;
    if (hp->expert_weights_norm) scale /= sum > DSV3_MIN_EXPERT_WEIGHT_SUM ? sum : DSV3_MIN_EXPERT_WEIGHT_SUM;
    for (uint32_t j = 0; j < k; j++) weights[j] *= scale;
    /* ascending expert id: the order the experts' outputs are added in */
    for (uint32_t j = 1; j < k; j++)
        for (uint32_t i = j; i > 0 && chosen[i - 1] > chosen[i]; i--) {
            uint32_t e = chosen[i];
            chosen[i] = chosen[i - 1];
            chosen[i - 1] = e;
            float w = weights[i];
            weights[i] = weights[i - 1];
            weights[i - 1] = w;
        }
}

/* Entries [begin, end) of an expert's bucket (from `first`): gathered into
   expert_in, or (scatter) their weighted outputs added to their tokens' rows. */
typedef struct bucket_job {
    dsv3_context *ctx;
    size_t first;
    int scatter;
} bucket_job;

static void bucket_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    const bucket_job *job = (const bucket_job *)arg;
    dsv3_context *ctx = job->ctx;
    size_t E = ctx->model->hp.n_embd;
    (void)thread_index;
    for (size_t j = begin; j < end; j++) {
        size_t token = ctx->bucket_tokens[job->first + j];
        if (job->scatter)
            ctx->model->kernels.axpy_f32(ctx->hidden + token * E, ctx->bucket_weights[job->first + j],
                                         ctx->expert_out + j * E, E);
        else
            memcpy(ctx->expert_in + j * E, ctx->xn + token * E, E * sizeof(float));
    }
}

/* The FFN sublayer for n tokens (rows of ctx->xn) into ctx->hidden: dense
   SwiGLU, or the shared experts plus the routed ones (report eq. 12). Tokens
   are grouped by expert, so each chosen expert's weights are read once per
   batch; every token adds its experts' outputs in ascending expert id. */
static void ffn_batch(dsv3_context *ctx, const layer_weights *L, uint32_t layer, size_t n) {
    const dsv3_hparams *hp = &ctx->model->hp;
    size_t E = hp->n_embd, X = hp->n_expert, k = hp->n_expert_used, Fe = hp->n_ff_expert;
    if (!L->is_moe) {
        swiglu_ffn(ctx, &L->ffn_gate, &L->ffn_up, &L->ffn_down, 0, hp->n_ff, 0, ctx->xn, n, ctx->hidden);
        return;
    }
    par_matmul(ctx, &L->gate_inp, 0, X, ctx->xn, E, n, ctx->router_logits, X);
    for_each_token(ctx, L, layer, TOKENS_ROUTE, n);
    if (L->gate_shexp.data)
        swiglu_ffn(ctx, &L->gate_shexp, &L->up_shexp, &L->down_shexp, 0, Fe * hp->n_expert_shared, 0, ctx->xn, n,
                   ctx->hidden);
    else
        memset(ctx->hidden, 0, n * E * sizeof(float));

    /* Bucket the (token, weight) pairs by expert: a counting sort. */
    uint32_t *start = ctx->bucket_start;
    memset(start, 0, (X + 1) * sizeof(uint32_t));
    for (size_t j = 0; j < n * k; j++) start[ctx->chosen[j] + 1]++;
    for (size_t e = 0; e < X; e++) start[e + 1] += start[e];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++) {
            uint32_t e = ctx->chosen[i * k + j], slot = start[e]++;
            ctx->bucket_tokens[slot] = (uint32_t)i;
            ctx->bucket_weights[slot] = ctx->expert_weights[i * k + j];
        }
    for (size_t e = X; e > 0; e--) start[e] = start[e - 1]; /* undo the fill's advance */
    start[0] = 0;
    uint64_t *counts = ctx->expert_counts + (size_t)layer * X;
    for (size_t e = 0; e < X; e++) counts[e] += start[e + 1] - start[e];

    /* Tokens are bucketed in ascending order and experts visited in ascending
       id, so each token's sum runs in the same order as for a single token. */
    for (size_t e = 0; e < X; e++) {
        size_t first = start[e], count = start[e + 1] - first;
        if (count == 0) continue;
        /* gather the expert's tokens, run it, add its weighted outputs back:
           each token's row is one thread's, whole, so the bits never depend
           on the split */
        bucket_job job = {ctx, first, 0};
        parallel_for(&ctx->pool, count, 16, bucket_task, &job);
        swiglu_ffn(ctx, &L->gate_exps, &L->up_exps, &L->down_exps, e * Fe, Fe, e * E, ctx->expert_in, count,
                   ctx->expert_out);
        job.scatter = 1;
        parallel_for(&ctx->pool, count, 16, bucket_task, &job);
    }
}

/* Runs n tokens (n <= n_batch) at positions pos..pos+n-1 through the model,
   layer by layer over the whole batch. Logits of every position go to
   all_logits when given; the last position's go to ctx->logits when `last`
   (the final batch of a prefill; earlier ones skip the output head).
   Returns 1, with the position and logits unchanged, when abort_cb stops it:
   it only wrote cache rows and token slots past the position. */
static int forward_batch(dsv3_context *ctx, const int32_t *tokens, size_t n, float *all_logits, int last) {
    const dsv3_model *m = ctx->model;
    const dsv3_hparams *hp = &m->hp;
    size_t E = hp->n_embd, V = hp->n_vocab;
    for (size_t i = 0; i < n; i++) {
        type_table[m->token_embd.type].to_f32(view_row(&m->token_embd, (size_t)tokens[i]), ctx->x + i * E, E);
        ctx->tokens[ctx->pos + i] = tokens[i];
        rope_angles(m, ctx->pos + i, ctx->rope_cs + i * hp->qk_rope_head_dim); /* the same in every layer */
    }
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const layer_weights *L = &m->layers[l];
        if (ctx->abort_cb && ctx->abort_cb(ctx->abort_user)) return 1;
        for_each_token(ctx, L, l, TOKENS_ATTN_NORM, n);
        attention_batch(ctx, L, l, n);
        for_each_token(ctx, L, l, TOKENS_FFN_NORM, n);
        ffn_batch(ctx, L, l, n);
        for_each_token(ctx, L, l, TOKENS_RESIDUAL, n);
    }
    ctx->pos += n;
    if (!all_logits && !last) return 0;
    size_t first = all_logits ? 0 : n - 1;
    for (size_t i = first; i < n; i++)
        rmsnorm(&m->kernels, ctx->xn + i * E, ctx->x + i * E, &m->output_norm, E, hp->rms_norm_eps, ctx->row);
    if (all_logits) {
        par_matmul(ctx, &m->output, 0, V, ctx->xn, E, n, all_logits, V);
        if (last) memcpy(ctx->logits, all_logits + (n - 1) * V, V * sizeof(float));
    } else {
        par_matmul(ctx, &m->output, 0, V, ctx->xn + (n - 1) * E, E, 1, ctx->logits, V);
    }
    if (last) ctx->has_logits = 1;
    return 0;
}

/* ==== 11. Sampling (private) ============================================ */

typedef struct candidate {
    float logit;
    int32_t id;
} candidate;

/* splitmix64 (Steele, Lea, Flood 2014): a tiny generator with a full 64-bit
   period whose output passes BigCrush; one state word per context. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static double next_uniform(uint64_t *state) { return (double)(next_random(state) >> 11) * (1.0 / 9007199254740992.0); }

/* Descending logit, ties to the lower id: a total order, so sorting is deterministic. */
static int candidate_order(const void *pa, const void *pb) {
    const candidate *a = (const candidate *)pa, *b = (const candidate *)pb;
    if (a->logit != b->logit) return a->logit > b->logit ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int32_t sample_token(dsv3_context *ctx, const dsv3_sampling_params *p, const float *logits) {
    size_t V = ctx->model->hp.n_vocab;
    candidate *c = ctx->candidates;
    for (size_t i = 0; i < V; i++) {
        c[i].logit = logits[i] == logits[i] ? logits[i] : -INFINITY; /* NaN never wins */
        c[i].id = (int32_t)i;
    }
    /* Penalties apply once per distinct recent token (CTRL paper, Keskar et al.
       2019, eq. 3, for the repetition penalty). */
    if ((p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f) && p->penalty_window > 0) {
        size_t window = (size_t)p->penalty_window < ctx->pos ? (size_t)p->penalty_window : ctx->pos;
        const int32_t *recent = ctx->tokens + ctx->pos - window;
        for (size_t i = 0; i < window; i++) {
            int32_t t = recent[i];
            if (ctx->seen[t]) continue;
            ctx->seen[t] = 1;
            float *l = &c[t].logit;
            if (p->repeat_penalty > 0.0f && p->repeat_penalty != 1.0f)
                *l = *l > 0.0f ? *l / p->repeat_penalty : *l * p->repeat_penalty;
            *l -= p->presence_penalty;
        }
        for (size_t i = 0; i < window; i++) ctx->seen[recent[i]] = 0;
    }
    if (!(p->temperature > 0.0f)) {
        size_t best = 0;
        for (size_t i = 1; i < V; i++)
            if (c[i].logit > c[best].logit) best = i;
        return (int32_t)best;
    }
    for (size_t i = 0; i < V; i++) c[i].logit /= p->temperature;
    qsort(c, V, sizeof *c, candidate_order);
    size_t n = V;
    if (p->top_k > 0 && (size_t)p->top_k < n) n = (size_t)p->top_k;
    if (c[0].logit == -INFINITY) return c[0].id; /* everything masked: nothing to draw from */
    /* probabilities of the survivors, in place of their logits */
    double sum = 0.0;
    float top = c[0].logit;
    for (size_t i = 0; i < n; i++) {
        c[i].logit = expf(c[i].logit - top);
        sum += c[i].logit;
    }
    if (p->top_p < 1.0f) {
        double mass = 0.0;
        for (size_t i = 0; i < n; i++) {
            mass += c[i].logit / sum;
            if (mass >= p->top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (p->min_p > 0.0f) {
        size_t keep = 1; /* c[0] has probability 1 relative to itself */
        while (keep < n && c[keep].logit >= p->min_p) keep++;
        n = keep;
    }
    sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += c[i].logit;
    double r = next_uniform(&ctx->rng_state) * sum;
    for (size_t i = 0; i < n; i++) {
        r -= c[i].logit;
        if (r < 0.0) return c[i].id;
    }
    return c[n - 1].id;
}

/* ==== 12. Public API, in dsv3.h order =================================== */

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
    case DSV3_ERR_ABORTED: return "aborted by a callback";
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

static uint64_t view_bytes(const tensor_view *v, uint64_t rows) { return v->data ? v->row_bytes * rows : 0; }

static uint64_t view_all_bytes(const tensor_view *v) {
    return view_bytes(v, v->ne[1] * v->ne[2] * v->ne[3]);
}

uint64_t dsv3_model_active_bytes(const dsv3_model *model) {
    if (!model) return 0;
    const dsv3_hparams *hp = &model->hp;
    uint64_t total = model->token_embd.row_bytes + view_all_bytes(&model->output_norm) + view_all_bytes(&model->output);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const layer_weights *L = &model->layers[l];
        const tensor_view *whole[] = {&L->attn_norm, &L->q, &L->q_a, &L->q_a_norm, &L->q_b, &L->kv_a_mqa,
                                      &L->kv_a_norm, &L->k_b, &L->v_b, &L->kv_b, &L->attn_output, &L->ffn_norm,
                                      &L->ffn_gate, &L->ffn_up, &L->ffn_down, &L->gate_inp, &L->exp_probs_b,
                                      &L->gate_shexp, &L->up_shexp, &L->down_shexp};
        for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) total += view_all_bytes(whole[i]);
        if (L->is_moe) {
            uint64_t k = hp->n_expert_used, Fe = hp->n_ff_expert, E = hp->n_embd;
            total += view_bytes(&L->gate_exps, k * Fe) + view_bytes(&L->up_exps, k * Fe) +
                     view_bytes(&L->down_exps, k * E);
        }
    }
    return total;
}

int32_t dsv3_model_hparams(const dsv3_model *model, dsv3_hparams *out) {
    if (!model || !out || out->struct_size < sizeof(uint32_t)) return DSV3_ERR_INVALID_ARGUMENT;
    size_t n = out->struct_size < sizeof model->hp ? out->struct_size : sizeof model->hp;
    uint32_t caller_size = out->struct_size;
    memcpy(out, &model->hp, n);
    out->struct_size = caller_size;
    return DSV3_OK;
}

int32_t dsv3_model_has_tokenizer(const dsv3_model *model) { return model && model->vocab.present ? 1 : 0; }

int32_t dsv3_model_chat_style(const dsv3_model *model) {
    if (!model || !model->vocab.present) return DSV3_CHAT_DEEPSEEK_V3;
    return model->vocab.chat_style == CHAT_STYLE_R1    ? DSV3_CHAT_DEEPSEEK_R1
         : model->vocab.chat_style == CHAT_STYLE_V31 ? DSV3_CHAT_DEEPSEEK_V31
                                                     : DSV3_CHAT_DEEPSEEK_V3;
}

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

/* DeepSeek's chat and tool-call special tokens as text (dsv3-tokenizer.md §2). */
static const char chat_user[] = "<\xef\xbd\x9cUser\xef\xbd\x9c>";
static const char chat_assistant[] = "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>";
static const char chat_eos[] = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
static const char chat_outputs_begin[] = "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "begin\xef\xbd\x9c>";
static const char chat_outputs_end[] = "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>";
static const char chat_output_begin[] = "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>";
static const char chat_output_end[] = "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>";
static const char chat_calls_begin[] = "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>";
static const char chat_calls_end[] = "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>";
static const char chat_call_begin[] = "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>";
static const char chat_call_end[] = "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>";
static const char chat_sep[] = "<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>";

/* One turn of either public array: dsv3_chat_message or dsv3_chat_turn. */
typedef struct chat_view {
    const dsv3_chat_message *messages;
    const dsv3_chat_turn *turns;
} chat_view;

static const char *chat_role(const chat_view *v, size_t i) { return v->messages ? v->messages[i].role : v->turns[i].role; }
static const char *chat_content(const chat_view *v, size_t i) {
    return v->messages ? v->messages[i].content : v->turns[i].content;
}
static size_t chat_n_calls(const chat_view *v, size_t i) { return v->messages ? 0 : v->turns[i].n_tool_calls; }

/* The tool list after the system prompt: DeepSeek-V3.1's model card layout,
   with the call format of the V3/R1 templates' assistant turns. */
static void chat_tools(text_out *o, const dsv3_tool *tools, size_t n_tools, int v31) {
    out_str(o, "\n\n## Tools\nYou have access to the following tools:\n");
    for (size_t i = 0; i < n_tools; i++) {
        out_str(o, "\n### ");
        out_str(o, tools[i].name);
        out_str(o, "\nDescription: ");
        out_str(o, tools[i].description ? tools[i].description : "");
        out_str(o, "\n\nParameters: ");
        out_str(o, tools[i].parameters ? tools[i].parameters : "{}");
        out_str(o, "\n");
    }
    out_str(o, "\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n"
               "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c><\xef\xbd\x9ctool\xe2\x96\x81"
               "call\xe2\x96\x81" "begin\xef\xbd\x9c>");
    out_str(o, v31 ? "tool_call_name<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>tool_call_arguments"
                   : "function<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>tool_call_name\n```json\ntool_call_arguments\n```");
    out_str(o, "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81"
               "end\xef\xbd\x9c>{additional_tool_calls}<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81"
               "end\xef\xbd\x9c>\n\nWhere:\n"
               "- `tool_call_name` must be an exact match to one of the available tools\n"
               "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n");
    out_str(o, v31 ? "- For multiple tool calls, chain them directly without separators or spaces"
                   : "- For multiple tool calls, start each one after the first on a new line");
}

/* The turns of DeepSeek-V3.1's template (tokenizer_config.json of
   DeepSeek-V3.1): an answer after a user turn opens with <｜Assistant｜> and
   </think> (non-thinking) or <think>; a turn of tool calls after a user turn
   with <｜Assistant｜></think>; calls are NAME<｜tool▁sep｜>ARGUMENTS, chained
   without separators; tool outputs have no outer markers and the answer after
   them follows directly; an answer keeps what follows its first </think>; the
   generation prompt comes only after a user turn. */
static int32_t chat_v31(text_out *o, const chat_view *v, size_t n_messages, int32_t add_generation_prompt,
                        int thinking, char *out, size_t out_size, size_t *n_out) {
    int is_tool = 0, is_last_user = 0;
    for (size_t i = 0; i < n_messages; i++) {
        const char *role = chat_role(v, i), *content = chat_content(v, i);
        size_t n_calls = chat_n_calls(v, i);
        if (!strcmp(role, "user")) {
            is_tool = 0;
            is_last_user = 1;
            out_str(o, chat_user);
            out_str(o, content);
        } else if (!strcmp(role, "assistant") && n_calls) {
            if (is_last_user) {
                out_str(o, chat_assistant);
                out_str(o, "</think>");
            }
            is_last_user = is_tool = 0;
            if (content) out_str(o, content);
            out_str(o, chat_calls_begin);
            for (size_t c = 0; c < n_calls; c++) {
                const dsv3_tool_call *call = &v->turns[i].tool_calls[c];
                out_str(o, chat_call_begin);
                out_str(o, call->name);
                out_str(o, chat_sep);
                out_str(o, call->arguments);
                out_str(o, chat_call_end);
            }
            out_str(o, chat_calls_end);
            out_str(o, chat_eos);
        } else if (!strcmp(role, "assistant")) {
            if (is_last_user) {
                out_str(o, chat_assistant);
                out_str(o, "</think>");
            }
            is_last_user = 0;
            if (!is_tool) { /* content.split('</think>', 1)[1] */
                const char *end_think = strstr(content, "</think>");
                if (end_think) content = end_think + 8;
            }
            is_tool = 0;
            out_str(o, content);
            out_str(o, chat_eos);
        } else if (!strcmp(role, "tool")) {
            is_last_user = 0;
            is_tool = 1;
            out_str(o, chat_output_begin);
            out_str(o, content);
            out_str(o, chat_output_end);
        }
    }
    if (add_generation_prompt && is_last_user && !is_tool) {
        out_str(o, chat_assistant);
        out_str(o, thinking ? "<think>" : "</think>");
    }
    *n_out = o->n;
    if (o->n >= out_size) return DSV3_ERR_BUFFER_TOO_SMALL;
    out[o->n] = '\0';
    return DSV3_OK;
}

static int32_t chat_render(const dsv3_model *model, const chat_view *v, size_t n_messages, const dsv3_tool *tools,
                           size_t n_tools, int32_t add_generation_prompt, int32_t style, char *out, size_t out_size,
                           size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!n_out || (!v->messages && !v->turns && n_messages) || (!out && out_size) || (!tools && n_tools))
        return DSV3_ERR_INVALID_ARGUMENT;
    if (style == DSV3_CHAT_AUTO) {
        int32_t st = need_tokenizer(model);
        if (st) return st;
        style = dsv3_model_chat_style(model);
    }
    if (style < DSV3_CHAT_DEEPSEEK_V3 || style > DSV3_CHAT_DEEPSEEK_V31_THINKING) return DSV3_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n_messages; i++) {
        const char *r = chat_role(v, i);
        if (!r) return DSV3_ERR_INVALID_ARGUMENT;
        if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "tool"))
            return DSV3_ERR_INVALID_ARGUMENT;
        size_t n_calls = chat_n_calls(v, i);
        if (n_calls && (strcmp(r, "assistant") || !v->turns[i].tool_calls)) return DSV3_ERR_INVALID_ARGUMENT;
        for (size_t c = 0; c < n_calls; c++)
            if (!v->turns[i].tool_calls[c].name || !v->turns[i].tool_calls[c].arguments) return DSV3_ERR_INVALID_ARGUMENT;
        if (!chat_content(v, i) && !n_calls) return DSV3_ERR_INVALID_ARGUMENT;
    }
    for (size_t t = 0; t < n_tools; t++)
        if (!tools[t].name) return DSV3_ERR_INVALID_ARGUMENT;
    text_out o = {out, out_size, 0};
    /* DeepSeek-V3's tokenizer_config.json chat_template (dsv3-tokenizer.md §5.1),
       message-content part; R1 differences per §5.3. */
    if (model && model->vocab.present && model->vocab.bos >= 0) {
        const vocab *vb = &model->vocab;
        out_bytes(&o, (const char *)token_bytes(vb, vb->bos), token_len(vb, vb->bos));
    } else {
        out_str(&o, "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
    }
    int first_system = 1;
    for (size_t i = 0; i < n_messages; i++) {
        if (strcmp(chat_role(v, i), "system")) continue;
        if (!first_system) out_str(&o, "\n\n");
        out_str(&o, chat_content(v, i) ? chat_content(v, i) : "");
        first_system = 0;
    }
    int v31 = style == DSV3_CHAT_DEEPSEEK_V31 || style == DSV3_CHAT_DEEPSEEK_V31_THINKING;
    if (n_tools) chat_tools(&o, tools, n_tools, v31);
    if (v31) return chat_v31(&o, v, n_messages, add_generation_prompt, style == DSV3_CHAT_DEEPSEEK_V31_THINKING, out,
                             out_size, n_out);
    int is_tool = 0, is_output_first = 1;
    for (size_t i = 0; i < n_messages; i++) {
        const char *role = chat_role(v, i), *content = chat_content(v, i);
        if (!strcmp(role, "user")) {
            is_tool = 0;
            out_str(&o, chat_user);
            out_str(&o, content);
        } else if (!strcmp(role, "assistant")) {
            /* right after tool outputs the answer continues after their end
               marker (the template's content case; its tool-call case writes
               <｜Assistant｜> there, which the model never generates) */
            if (is_tool) {
                out_str(&o, chat_outputs_end);
                is_tool = 0;
            } else {
                if (style == DSV3_CHAT_DEEPSEEK_R1 && content) content = after_last_think(content);
                out_str(&o, chat_assistant);
            }
            if (content) out_str(&o, content);
            size_t n_calls = chat_n_calls(v, i);
            if (n_calls) {
                out_str(&o, chat_calls_begin);
                for (size_t c = 0; c < n_calls; c++) {
                    const dsv3_tool_call *call = &v->turns[i].tool_calls[c];
                    if (c) out_str(&o, "\n");
                    out_str(&o, chat_call_begin);
                    out_str(&o, "function");
                    out_str(&o, chat_sep);
                    out_str(&o, call->name);
                    out_str(&o, "\n```json\n");
                    out_str(&o, call->arguments);
                    out_str(&o, "\n```");
                    out_str(&o, chat_call_end);
                }
                out_str(&o, chat_calls_end);
            }
            out_str(&o, chat_eos);
        } else if (!strcmp(role, "tool")) {
            is_tool = 1;
            /* the template never resets is_output_first: later runs of tool
               outputs start with "\n" too */
            if (is_output_first) {
                out_str(&o, chat_outputs_begin);
                is_output_first = 0;
            } else {
                out_str(&o, "\n");
            }
            out_str(&o, chat_output_begin);
            out_str(&o, content);
            out_str(&o, chat_output_end);
        }
    }
    if (is_tool) out_str(&o, chat_outputs_end);
    if (add_generation_prompt && !is_tool) {
        out_str(&o, chat_assistant);
        if (style == DSV3_CHAT_DEEPSEEK_R1) out_str(&o, "<think>\n");
    }
    *n_out = o.n;
    if (o.n >= out_size) return DSV3_ERR_BUFFER_TOO_SMALL;
    out[o.n] = '\0';
    return DSV3_OK;
}

int32_t dsv3_chat_format(const dsv3_model *model, const dsv3_chat_message *messages, size_t n_messages,
                         int32_t add_generation_prompt, int32_t style, char *out, size_t out_size, size_t *n_out) {
    chat_view v = {messages, NULL}; /* chat_render checks the arguments */
    return chat_render(model, &v, n_messages, NULL, 0, add_generation_prompt, style, out, out_size, n_out);
}

int32_t dsv3_chat_format_turns(const dsv3_model *model, const dsv3_chat_turn *turns, size_t n_turns,
                               const dsv3_tool *tools, size_t n_tools, int32_t add_generation_prompt, int32_t style,
                               char *out, size_t out_size, size_t *n_out) {
    chat_view v = {NULL, turns};
    return chat_render(model, &v, n_turns, tools, n_tools, add_generation_prompt, style, out, out_size, n_out);
}

void dsv3_context_default_params(dsv3_context_params *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->n_ctx = 0;
    out->n_batch = 512;
    out->n_threads = 0;
    out->kv_type = DSV3_KV_F16;
    out->seed = 1;
}

void dsv3_context_free(dsv3_context *ctx) {
    if (!ctx) return;
    const allocator *a = &ctx->model->alloc;
    pool_stop(&ctx->pool, a);
    mem_free(a, ctx->pool_start_args);
    mem_free(a, ctx->tokens);
    mem_free(a, ctx->act);
    mem_free(a, ctx->thread_act);
    mem_free(a, ctx->amx_packed);
    mem_free(a, ctx->block_scratch_base);
    mem_free(a, ctx->expert_counts);
    mem_free(a, ctx->candidates);
    mem_free(a, ctx->seen);
    mem_free(a, ctx->kv_cache);
    mem_free(a, ctx->attn_part);
    mem_free(a, ctx->scratch);
    mem_free(a, ctx->mla_chunk);
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
    if (p.kv_type < DSV3_KV_F32 || p.kv_type > DSV3_KV_Q8_0) {
        model_log(model, DSV3_LOG_ERROR, "unknown kv_type %d", (int)p.kv_type);
        return DSV3_ERR_INVALID_ARGUMENT;
    }
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_batch == 0) p.n_batch = 512;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads < 0) {
        model_log(model, DSV3_LOG_ERROR, "n_threads %d is negative", (int)p.n_threads);
        return DSV3_ERR_INVALID_ARGUMENT;
    }
    uint32_t n_threads = p.n_threads ? (uint32_t)p.n_threads : hardware_threads();
    if (n_threads > 1024) n_threads = 1024;
    if (!DSV3_HAVE_THREADS) n_threads = 1;

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
    size_t B = ctx->n_batch, X = hp->n_expert, K = hp->n_expert_used;
    /* moe_route's per-thread scratch: bias and choice (X each), group scores and kept group ids */
    size_t route_stride = (2 * X + 2 * (size_t)hp->n_expert_groups + 15) & ~(size_t)15;
    ctx->kv_width = kv_row_elements(p.kv_type, Lkv, dr);
    ctx->kv_rope = kv_rope_offset(p.kv_type, Lkv);
    ctx->q_pack_stride = (ctx->kv_width + 15) & ~(size_t)15;
    ctx->attn_scores_stride = H * DSV3_ATTN_SEGMENT;
    /* per-thread rows: the longest weight row, or a cache row being quantized */
    ctx->row_stride = ((model->max_row > ctx->kv_width ? model->max_row : ctx->kv_width) + 15) & ~(size_t)15;
    /* Sizes in floats, in the order the pointers are laid out. */
    size_t sizes[] = {
        B * E, B * E, B * H * model->qk_head_dim, B * hp->q_lora_rank, B * (Lkv + dr), H * ctx->q_pack_stride,
        n_threads * ctx->attn_scores_stride, H * Lkv, B * H * hp->v_head_dim, B * E, B * widest_ffn, B * widest_ffn,
        B * E, B * E, B * X, n_threads * route_stride, B * K, B * K,
        n_threads * ctx->row_stride, B * dr, hp->n_vocab,
    };
    float **slots[] = {
        &ctx->x, &ctx->xn, &ctx->q, &ctx->q_lora, &ctx->kv, &ctx->q_pack, &ctx->attn_scores, &ctx->o_lat,
        &ctx->attn_cat, &ctx->hidden, &ctx->ffn_gate, &ctx->ffn_up, &ctx->expert_in, &ctx->expert_out,
        &ctx->router_logits, &ctx->route_scratch, &ctx->expert_weights, &ctx->bucket_weights,
        &ctx->row, &ctx->rope_cs, &ctx->logits,
    };
    size_t total = 0;
    int overflow = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t padded = (sizes[i] + 15) & ~(size_t)15; /* 64-byte aligned slices */
        if (padded < sizes[i] || total > SIZE_MAX / sizeof(float) - padded) overflow = 1;
        total += padded;
    }
    uint64_t kv_bytes = 0;
    ctx->kv_row_bytes = kv_row_size(p.kv_type, Lkv, dr);
    if (mul_overflows((uint64_t)hp->n_layer * ctx->n_ctx, ctx->kv_row_bytes, &kv_bytes) || kv_bytes > SIZE_MAX)
        overflow = 1;
    /* decoding's per-segment partials: weighted latent sums, then max and sum */
    size_t n_segments = (ctx->n_ctx + DSV3_ATTN_SEGMENT - 1) / DSV3_ATTN_SEGMENT;
    uint64_t part_bytes = 0;
    int need_block_rows = 0;
    if (!overflow) {
        ctx->scratch = (float *)mem_calloc(a, total, sizeof(float));
        /* Not zeroed: every row is written before it is read, so a large
           context's cache pages are committed only as positions fill them
           (mmap-backed malloc on Linux, demand-zero pages on Windows/macOS). */
        ctx->kv_cache = (uint8_t *)mem_alloc(a, (size_t)kv_bytes ? (size_t)kv_bytes : 1);
        ctx->attn_part = mul_overflows(n_segments * H, (Lkv + 2) * sizeof(float), &part_bytes) || part_bytes > SIZE_MAX
                             ? NULL
                             : (float *)mem_alloc(a, (size_t)part_bytes);
        ctx->attn_ml = ctx->attn_part ? ctx->attn_part + n_segments * H * Lkv : NULL;
        ctx->chosen = (uint32_t *)mem_calloc(a, 2 * B * K + X + 1, sizeof(uint32_t));
        ctx->pool_start_args = mem_calloc(a, n_threads, 64); /* >= sizeof(worker_start) each */
        ctx->tokens = (int32_t *)mem_calloc(a, ctx->n_ctx, sizeof(int32_t));
        ctx->act = (uint8_t *)mem_calloc(a, B, model->max_row / 32 * sizeof(act_block32) + 64);
        ctx->thread_act_stride = (model->max_row / 32 * sizeof(act_block32) + 127) & ~(size_t)63;
        ctx->thread_act = (uint8_t *)mem_calloc(a, n_threads, ctx->thread_act_stride);
        ctx->expert_counts = (uint64_t *)mem_calloc(a, (size_t)hp->n_layer * X + 1, sizeof(uint64_t));
        ctx->candidates = (candidate *)mem_calloc(a, hp->n_vocab, sizeof(candidate));
        ctx->seen = (uint8_t *)mem_calloc(a, hp->n_vocab, 1);
        for (uint32_t t = 0; t < DSV3_TYPE_COUNT && B > 1; t++)
            if (model->kernels.block_rows[t]) need_block_rows = 1;
        if (need_block_rows) {
            /* each thread unpacks one block of 16 rows at a time */
            size_t scratch_bytes = 0;
#if DSV3_HAVE_VNNI_ROWS
            scratch_bytes = vnni_scratch_bytes(model->max_row);
#endif
#if DSV3_HAVE_I8MM_ROWS
            scratch_bytes = i8mm_scratch_bytes(model->max_row);
#endif
#if DSV3_HAVE_AMX
            if (model->kernels.block_rows_packed) {
                scratch_bytes = amx_scratch_bytes(model->max_row);
                /* a group's packed bytes are at most 18 per element (Q8_0's) */
                ctx->amx_packed = (uint8_t *)mem_alloc(a, ((size_t)B + 15) / 16 * (model->max_row * 18 + 64));
            }
#endif
            ctx->block_scratch_stride = (scratch_bytes + 63) & ~(size_t)63;
            ctx->block_scratch_base = (uint8_t *)mem_alloc(a, n_threads * ctx->block_scratch_stride + 64);
            ctx->block_scratch =
                ctx->block_scratch_base
                    ? ctx->block_scratch_base + (64 - (uintptr_t)ctx->block_scratch_base % 64) % 64
                    : NULL;
            ctx->row_blocks = 1;
        }
        if (B > 1) {
            ctx->mla_chunk_stride = mla_chunk_layout(hp, B, NULL, NULL);
            ctx->mla_chunk = (float *)mem_calloc(a, n_threads * ctx->mla_chunk_stride, sizeof(float));
        }
    }
    if (overflow || !ctx->scratch || !ctx->kv_cache || !ctx->attn_part || !ctx->chosen || !ctx->pool_start_args || !ctx->tokens ||
        !ctx->candidates || !ctx->seen || !ctx->act || !ctx->thread_act || !ctx->expert_counts ||
        (B > 1 && !ctx->mla_chunk) || (need_block_rows && (!ctx->block_scratch_base || (model->kernels.block_rows_packed && !ctx->amx_packed))) ||
        !pool_start(&ctx->pool, n_threads, ctx->pool_start_args, a)) {
        model_log(model, DSV3_LOG_ERROR, "out of memory creating a context of %u positions (%llu bytes of KV cache)",
                  ctx->n_ctx, (unsigned long long)kv_bytes);
        dsv3_context_free(ctx);
        return DSV3_ERR_OUT_OF_MEMORY;
    }
    ctx->bucket_start = ctx->chosen + B * K;
    ctx->bucket_tokens = ctx->bucket_start + X + 1;
    ctx->route_stride = route_stride;
    ctx->rng_state = p.seed;
    ctx->min_parallel_work = p.min_parallel_work ? p.min_parallel_work : 65536;
    ctx->abort_cb = p.abort_cb;
    ctx->abort_user = p.abort_user;
    float *cursor_f = ctx->scratch;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *slots[i] = cursor_f;
        cursor_f += (sizes[i] + 15) & ~(size_t)15;
    }
    *out_context = ctx;
    return DSV3_OK;
}

DSV3_PRINTF(3, 4)
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
    if (forward_batch(ctx, &token, 1, NULL, 1))
        return context_fail(ctx, DSV3_ERR_ABORTED, "aborted by abort_cb; the context is as it was");
    ctx->last_error[0] = '\0';
    if (out_logits) *out_logits = ctx->logits;
    return DSV3_OK;
}

int32_t dsv3_prefill(dsv3_context *ctx, const int32_t *tokens, size_t n_tokens, float *all_logits) {
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    if (!tokens && n_tokens) return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "NULL tokens");
    int32_t st = check_tokens(ctx, tokens, n_tokens);
    if (st) return st;
    size_t V = ctx->model->hp.n_vocab, start = ctx->pos;
    for (size_t done = 0; done < n_tokens;) {
        size_t n = n_tokens - done < ctx->n_batch ? n_tokens - done : ctx->n_batch;
        if (forward_batch(ctx, tokens + done, n, all_logits ? all_logits + done * V : NULL, done + n == n_tokens)) {
            /* Earlier batches only filled cache rows past `start`, and the
               logits are written by the last batch alone: rewinding the
               position restores the context exactly. */
            ctx->pos = start;
            return context_fail(ctx, DSV3_ERR_ABORTED,
                                "aborted by abort_cb after %zu of %zu tokens; the context is as it was", done, n_tokens);
        }
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

const int32_t *dsv3_context_tokens(const dsv3_context *ctx) { return ctx && ctx->pos ? ctx->tokens : NULL; }

void dsv3_sampling_default_params(dsv3_sampling_params *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->temperature = 0.8f;
    out->top_k = 40;
    out->top_p = 0.95f;
    out->min_p = 0.05f;
    out->repeat_penalty = 1.0f;
    out->presence_penalty = 0.0f;
    out->penalty_window = 64;
}

int32_t dsv3_sample(dsv3_context *ctx, const dsv3_sampling_params *params, const float *logits, int32_t *out_token) {
    if (out_token) *out_token = -1;
    if (!ctx || !out_token) return DSV3_ERR_INVALID_ARGUMENT;
    error_slot err = {DSV3_OK, ""};
    dsv3_sampling_params p;
    dsv3_sampling_default_params(&p);
    int32_t st = merge_params(&p, sizeof p, params, &err);
    if (st) return context_fail(ctx, st, "%s", err.message);
    if (!logits) logits = dsv3_context_logits(ctx);
    if (!logits) return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "no logits to sample from: feed a token first");
    if (!(p.top_p > 0.0f) || !(p.min_p >= 0.0f) || p.min_p > 1.0f || p.top_k < 0 || p.penalty_window < 0 ||
        !(p.repeat_penalty > 0.0f) || p.temperature != p.temperature)
        return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT,
                            "bad sampling params: temperature %g, top_k %d, top_p %g, min_p %g, repeat_penalty %g, window %d",
                            (double)p.temperature, (int)p.top_k, (double)p.top_p, (double)p.min_p,
                            (double)p.repeat_penalty, (int)p.penalty_window);
    *out_token = sample_token(ctx, &p, logits);
    return DSV3_OK;
}

/* ---- Context state ------------------------------------------------------ */
/* Layout (little-endian): magic "DSV3STAT", u32 format version, u32 library
   version, u64 model fingerprint, u32 n_layer, u32 kv row bytes, i32 kv type,
   u32 has_logits, u64 position, u64 generator state, i32 tokens[position],
   KV rows [n_layer][position][kv row bytes], f32 logits[n_vocab] (if any),
   u64 FNV-1a checksum of everything before it. */
#define DSV3_STATE_VERSION 1
#define DSV3_STATE_HEADER 56

static size_t state_size_for(const dsv3_context *ctx, size_t pos, int has_logits) {
    const dsv3_hparams *hp = &ctx->model->hp;
    return DSV3_STATE_HEADER + pos * sizeof(int32_t) + (size_t)hp->n_layer * pos * ctx->kv_row_bytes +
           (has_logits ? (size_t)hp->n_vocab * sizeof(float) : 0) + 8;
}

static size_t state_size(const dsv3_context *ctx) { return state_size_for(ctx, ctx->pos, ctx->has_logits); }

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

size_t dsv3_context_state_size(const dsv3_context *ctx) { return ctx ? state_size(ctx) : 0; }

int32_t dsv3_context_state_save(const dsv3_context *ctx, void *buf, size_t buf_size, size_t *n_written) {
    if (n_written) *n_written = 0;
    if (!ctx || (!buf && buf_size)) return DSV3_ERR_INVALID_ARGUMENT;
    const dsv3_hparams *hp = &ctx->model->hp;
    size_t need = state_size(ctx);
    if (n_written) *n_written = need;
    if (buf_size < need) return DSV3_ERR_BUFFER_TOO_SMALL;
    uint8_t *p = (uint8_t *)buf;
    memcpy(p, "DSV3STAT", 8);
    p = put_u32(p + 8, DSV3_STATE_VERSION);
    p = put_u32(p, DSV3_VERSION_NUMBER);
    p = put_u64(p, ctx->model->fingerprint);
    p = put_u32(p, hp->n_layer);
    p = put_u32(p, (uint32_t)ctx->kv_row_bytes);
    p = put_u32(p, (uint32_t)ctx->kv_type);
    p = put_u32(p, (uint32_t)ctx->has_logits);
    p = put_u64(p, ctx->pos);
    p = put_u64(p, ctx->rng_state);
    for (size_t i = 0; i < ctx->pos; i++) p = put_u32(p, (uint32_t)ctx->tokens[i]);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        memcpy(p, kv_row(ctx, l, 0), ctx->pos * ctx->kv_row_bytes); /* host order: little-endian only */
        p += ctx->pos * ctx->kv_row_bytes;
    }
    if (ctx->has_logits) {
        memcpy(p, ctx->logits, hp->n_vocab * sizeof(float));
        p += hp->n_vocab * sizeof(float);
    }
    put_u64(p, fnv1a(DSV3_FNV_OFFSET, buf, (size_t)(p - (uint8_t *)buf)));
    return DSV3_OK;
}

int32_t dsv3_context_state_load(dsv3_context *ctx, const void *buf, size_t size) {
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    if (!buf) return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "NULL state buffer");
    const dsv3_hparams *hp = &ctx->model->hp;
    const uint8_t *p = (const uint8_t *)buf;
    if (size < DSV3_STATE_HEADER + 8 || memcmp(p, "DSV3STAT", 8) != 0)
        return context_fail(ctx, DSV3_ERR_BAD_FILE, "not a dsv3 context state (%zu bytes)", size);
    uint32_t version = read_u32le(p + 8);
    if (version != DSV3_STATE_VERSION)
        return context_fail(ctx, DSV3_ERR_UNSUPPORTED, "state format version %u; this library reads version %u",
                            version, DSV3_STATE_VERSION);
    if (read_u64le(p + size - 8) != fnv1a(DSV3_FNV_OFFSET, p, size - 8))
        return context_fail(ctx, DSV3_ERR_BAD_FILE, "state checksum mismatch: the state is corrupt or truncated");
    if (read_u64le(p + 16) != ctx->model->fingerprint || read_u32le(p + 24) != hp->n_layer)
        return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "the state was saved from another model file");
    if (read_u32le(p + 28) != ctx->kv_row_bytes || (int32_t)read_u32le(p + 32) != ctx->kv_type)
        return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "the state has KV cache type %d; this context uses %d",
                            (int)read_u32le(p + 32), (int)ctx->kv_type);
    uint32_t has_logits = read_u32le(p + 36);
    uint64_t pos = read_u64le(p + 40);
    if (pos > ctx->n_ctx)
        return context_fail(ctx, DSV3_ERR_CONTEXT_FULL, "the state holds %llu positions; this context holds %u",
                            (unsigned long long)pos, ctx->n_ctx);
    if (has_logits > 1) return context_fail(ctx, DSV3_ERR_BAD_FILE, "corrupt state header");
    /* the size implied by the header must be exactly the size given */
    size_t implied = state_size_for(ctx, (size_t)pos, (int)has_logits);
    if (implied != size)
        return context_fail(ctx, DSV3_ERR_BAD_FILE, "state of %zu bytes, its header implies %zu", size, implied);
    const uint8_t *tokens = p + DSV3_STATE_HEADER;
    for (uint64_t i = 0; i < pos; i++) {
        uint32_t t = read_u32le(tokens + 4 * i);
        if (t >= hp->n_vocab) return context_fail(ctx, DSV3_ERR_BAD_FILE, "state token %u is out of range", t);
    }
    /* everything checked: now change the context */
    ctx->pos = (size_t)pos;
    ctx->rng_state = read_u64le(p + 48);
    for (uint64_t i = 0; i < pos; i++) ctx->tokens[i] = (int32_t)read_u32le(tokens + 4 * i);
    const uint8_t *kv = tokens + 4 * pos;
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        memcpy(kv_row(ctx, l, 0), kv, ctx->pos * ctx->kv_row_bytes);
        kv += ctx->pos * ctx->kv_row_bytes;
    }
    ctx->has_logits = (int)has_logits;
    if (has_logits) memcpy(ctx->logits, kv, hp->n_vocab * sizeof(float));
    ctx->last_error[0] = '\0';
    return DSV3_OK;
}

int32_t dsv3_context_state_save_file(const dsv3_context *ctx, const char *path) {
    if (!ctx || !path) return DSV3_ERR_INVALID_ARGUMENT;
    dsv3_context *mut = (dsv3_context *)(uintptr_t)ctx; /* only its error message is written */
    size_t size = state_size(ctx);
    uint8_t *buf = (uint8_t *)mem_alloc(&ctx->model->alloc, size);
    if (!buf) return context_fail(mut, DSV3_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for the state", size);
    size_t written = 0;
    int32_t st = dsv3_context_state_save(ctx, buf, size, &written);
    FILE *f = st ? NULL : path_fopen(path, "wb", &ctx->model->alloc);
    if (!st && !f) st = context_fail(mut, DSV3_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    if (f) {
        int ok = fwrite(buf, 1, written, f) == written;
        ok &= fclose(f) == 0;
        if (!ok) st = context_fail(mut, DSV3_ERR_IO, "writing '%s' failed", path);
    }
    mem_free(&ctx->model->alloc, buf);
    return st;
}

int32_t dsv3_context_state_load_file(dsv3_context *ctx, const char *path) {
    if (!ctx || !path) return DSV3_ERR_INVALID_ARGUMENT;
    error_slot err = {DSV3_OK, ""};
    file_image img;
    int32_t st = image_open(&img, path, 0, &ctx->model->alloc, &err);
    if (st) return context_fail(ctx, st, "%s", err.message);
    st = dsv3_context_state_load(ctx, img.data, img.size);
    image_close(&img, &ctx->model->alloc);
    return st;
}

int32_t dsv3_context_expert_counts(const dsv3_context *ctx, uint32_t layer, uint64_t *counts, size_t n_counts) {
    if (!ctx || !counts) return DSV3_ERR_INVALID_ARGUMENT;
    const dsv3_hparams *hp = &ctx->model->hp;
    if (layer >= hp->n_layer || n_counts < hp->n_expert) return DSV3_ERR_INVALID_ARGUMENT;
    memset(counts, 0, n_counts * sizeof *counts);
    memcpy(counts, ctx->expert_counts + (size_t)layer * hp->n_expert, hp->n_expert * sizeof *counts);
    return DSV3_OK;
}

int32_t dsv3_context_reset_expert_counts(dsv3_context *ctx) {
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    memset(ctx->expert_counts, 0, ((size_t)ctx->model->hp.n_layer * ctx->model->hp.n_expert + 1) * sizeof(uint64_t));
    return DSV3_OK;
}

int32_t dsv3_context_set_seed(dsv3_context *ctx, uint64_t seed) {
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    ctx->rng_state = seed;
    return DSV3_OK;
}

/* ---- Generation ---------------------------------------------------------- */

void dsv3_generate_default_params(dsv3_generate_params *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
}

/* Decoded text not yet handed to on_token: its tail may begin a stop string. */
typedef struct gen_text {
    char *buf;
    size_t n, cap;
    const char *const *stops;
    size_t n_stops, longest;
} gen_text;

/* Where the earliest stop string starts in the text, or SIZE_MAX. */
static size_t gen_stop_find(const gen_text *t) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < t->n_stops; i++) {
        size_t len = strlen(t->stops[i]);
        for (size_t at = 0; at + len <= t->n && at < best; at++)
            if (memcmp(t->buf + at, t->stops[i], len) == 0) {
                best = at;
                break;
            }
    }
    return best;
}

/* The length of the longest tail of the text that is a proper prefix of a stop
   string: it must wait for the next token. */
static size_t gen_stop_tail(const gen_text *t) {
    size_t best = 0;
    for (size_t i = 0; i < t->n_stops; i++) {
        size_t len = strlen(t->stops[i]);
        for (size_t k = len - 1 < t->n ? len - 1 : t->n; k > best; k--)
            if (memcmp(t->buf + t->n - k, t->stops[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/* Makes room for `extra` more bytes plus a NUL. */
static int gen_reserve(gen_text *t, const allocator *a, size_t extra) {
    if (extra <= t->cap - t->n - 1) return 1;
    if (extra > SIZE_MAX / 2 - t->n) return 0;
    size_t cap = 2 * (t->n + extra + 1);
    char *buf = (char *)mem_alloc(a, cap);
    if (!buf) return 0;
    memcpy(buf, t->buf, t->n);
    mem_free(a, t->buf);
    t->buf = buf;
    t->cap = cap;
    return 1;
}

/* Hands the first n_emit bytes of the text to on_token (NUL-terminated in
   place) and drops them. */
static int32_t gen_emit(gen_text *t, const dsv3_generate_params *p, int32_t token, size_t n_emit) {
    int32_t stop = 0;
    if (p->on_token) {
        char saved = t->buf[n_emit];
        t->buf[n_emit] = '\0';
        stop = p->on_token(p->user, token, t->buf, n_emit);
        t->buf[n_emit] = saved;
    }
    memmove(t->buf, t->buf + n_emit, t->n - n_emit);
    t->n -= n_emit;
    return stop;
}

int32_t dsv3_generate(dsv3_context *ctx, const dsv3_generate_params *params, int32_t *out_stop_reason,
                      size_t *out_n_tokens) {
    if (out_stop_reason) *out_stop_reason = DSV3_STOP_ERROR;
    if (out_n_tokens) *out_n_tokens = 0;
    if (!ctx) return DSV3_ERR_INVALID_ARGUMENT;
    const dsv3_model *m = ctx->model;
    error_slot err = {DSV3_OK, ""};
    dsv3_generate_params p;
    dsv3_generate_default_params(&p);
    int32_t st = merge_params(&p, sizeof p, params, &err);
    if (st) return context_fail(ctx, st, "%s", err.message);
    if (p.max_tokens < 0 || (!p.stop_tokens && p.n_stop_tokens) || (!p.stop_strings && p.n_stop_strings))
        return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT,
                            "bad generate params: max_tokens %d, %zu stop tokens at %p, %zu stop strings at %p",
                            (int)p.max_tokens, p.n_stop_tokens, (const void *)p.stop_tokens, p.n_stop_strings,
                            (const void *)p.stop_strings);
    gen_text t = {NULL, 0, 0, p.stop_strings, p.n_stop_strings, 0};
    for (size_t i = 0; i < p.n_stop_strings; i++) {
        if (!p.stop_strings[i] || !p.stop_strings[i][0])
            return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "stop_strings[%zu] is NULL or empty", i);
        size_t len = strlen(p.stop_strings[i]);
        if (len > t.longest) t.longest = len;
    }
    if (p.n_stop_strings && !m->vocab.present)
        return context_fail(ctx, DSV3_ERR_UNSUPPORTED, "stop strings need a tokenizer, and this model has none");
    if (!ctx->has_logits)
        return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "no logits to generate from: prefill a prompt first");
    int has_text = m->vocab.present;
    if (t.longest > SIZE_MAX / 2 - 64)
        return context_fail(ctx, DSV3_ERR_INVALID_ARGUMENT, "stop string too long");
    t.cap = t.longest + 64;
    t.buf = (char *)mem_alloc(&m->alloc, t.cap);
    if (!t.buf) return context_fail(ctx, DSV3_ERR_OUT_OF_MEMORY, "out of memory for the generated text");
    t.buf[0] = '\0';
    dsv3_decoder dec;
    dsv3_decoder_init(&dec, 0);
    size_t n_done = 0;
    int32_t reason = DSV3_STOP_ERROR;
    for (;;) {
        if (p.max_tokens && n_done == (size_t)p.max_tokens) {
            reason = DSV3_STOP_MAX_TOKENS;
            break;
        }
        int32_t token;
        if ((st = dsv3_sample(ctx, p.sampling, NULL, &token))) break;
        int end = token == m->token_eos;
        for (size_t i = 0; i < p.n_stop_tokens && !end; i++) end = token == p.stop_tokens[i];
        if (end) {
            reason = DSV3_STOP_END_TOKEN;
            break;
        }
        if (ctx->pos >= ctx->n_ctx) {
            reason = DSV3_STOP_CONTEXT_FULL;
            break;
        }
        if ((st = dsv3_step(ctx, token, NULL))) break;
        n_done++;
        size_t n_emit = 0;
        int hit = 0;
        if (has_text && (uint32_t)token < m->vocab.n_tokens) {
            size_t got = 0;
            st = dsv3_decoder_push(m, &dec, token, t.buf + t.n, t.cap - t.n - 1, &got);
            if (st == DSV3_ERR_BUFFER_TOO_SMALL) {
                if (!gen_reserve(&t, &m->alloc, got)) {
                    st = context_fail(ctx, DSV3_ERR_OUT_OF_MEMORY, "out of memory for the generated text");
                    break;
                }
                st = dsv3_decoder_push(m, &dec, token, t.buf + t.n, t.cap - t.n - 1, &got);
            }
            if (st) break;
            t.n += got;
            size_t at = gen_stop_find(&t);
            hit = at != SIZE_MAX;
            n_emit = hit ? at : t.n - gen_stop_tail(&t);
        }
        int32_t stop = gen_emit(&t, &p, token, n_emit);
        if (hit) {
            t.n = 0; /* the stop string and whatever followed it */
            reason = DSV3_STOP_STRING;
            break;
        }
        if (stop) {
            reason = DSV3_STOP_CALLBACK;
            break;
        }
    }
    /* Whatever is still held back belongs to reported tokens: hand it over
       (cut at a stop string only an unfinished character completed). */
    size_t tail = 0;
    if (has_text && reason != DSV3_STOP_STRING &&
        dsv3_decoder_flush(&dec, t.buf + t.n, t.cap - t.n - 1, &tail) == DSV3_OK)
        t.n += tail;
    size_t at = gen_stop_find(&t), n_final = at != SIZE_MAX ? at : t.n;
    if (n_final) gen_emit(&t, &p, -1, n_final);
    mem_free(&m->alloc, t.buf);
    if (out_n_tokens) *out_n_tokens = n_done;
    if (st) return st;
    ctx->last_error[0] = '\0';
    if (out_stop_reason) *out_stop_reason = reason;
    return DSV3_OK;
}

/* ==== 13. Quantizers, GGUF writer, dsv3_quantize_file ================== */
/* Reference quantizers for every block type dsv3 reads (layouts: gguf.md §3),
   a minimal GGUF writer, and the file converter behind `dsv3-quantize`.

   The algorithms follow the published ggml reference quantizers
   (ggml-quants.c: quantize_row_*_ref, make_qx_quants, make_q3_quants,
   make_qkx2_quants), re-derived here rather than copied:
   - Q8_0, Q4_0, Q5_0: one scale per 32 weights from the largest magnitude; the
     4/5-bit types map the extreme value, with its sign, to the asymmetric end of
     the range (-8 / -16), which buys half a step on the other side. Q8_0 stays
     symmetric (-127..127) so integer kernels never meet -128.
   - Q4_1, Q5_1: scale and offset from the block's min and max.
   - K-quants: per sub-block a grid search over inverse scales, each candidate
     refined by weighted least squares (scale and min for Q2_K/Q4_K/Q5_K,
     scale only for Q3_K/Q6_K, plus coordinate descent on the levels for
     Q3_K); then the sub-block scales are themselves quantized against one
     f16 super-scale, and the levels are recomputed with the scales as stored.
   Every stored f16 scale is rounded first and the levels are computed against
   the rounded value, so decoding reproduces exactly what the fit assumed. */


/* ggml type ids used below (gguf.md §2). */
enum {
    QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q4_1 = 3, QT_Q5_0 = 6, QT_Q5_1 = 7, QT_Q8_0 = 8,
    QT_Q2_K = 10, QT_Q3_K = 11, QT_Q4_K = 12, QT_Q5_K = 13, QT_Q6_K = 14, QT_Q8_K = 15, QT_IQ2_XXS = 16, QT_IQ3_XXS = 18,
    QT_IQ4_NL = 20,
    QT_IQ4_XS = 23, QT_BF16 = 30
};

/* n floats (a multiple of the type's block size) -> n/block blocks. */
typedef void (*quantize_row_fn)(const float *x, uint8_t *out, size_t n);

static void store_u32le(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void store_u64le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The integer level nearest to v, clamped to [lo, hi]; NaN gives lo. Rounds
   halves up. No float-to-int conversion ever sees an out-of-range value. */
static int quant_level(float v, int lo, int hi) {
    if (!(v > (float)lo)) return lo;
    if (!(v < (float)hi)) return hi;
    return lo + (int)(v - (float)lo + 0.5f);
}

/* Stores a scale as f16 (clamped to the largest finite f16, so an enormous
   block saturates instead of decoding as inf) and returns the stored value. */
static float store_scale_f16(uint8_t *p, float d) {
    if (d > 65504.0f) d = 65504.0f;
    if (d < -65504.0f) d = -65504.0f;
    uint16_t h = f32_to_f16(d);
    store_u16le(p, h);
    return f16_to_f32(h);
}

/* The element of largest magnitude, with its sign (0 for an empty/zero block). */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax) {
            amax = a;
            max = x[i];
        }
    }
    return max;
}

/* ---- F16 / BF16 ---------------------------------------------------------- */

static void quantize_row_f16(const float *x, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) store_u16le(out + 2 * i, f32_to_f16(x[i]));
}

static void quantize_row_bf16(const float *x, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) store_u16le(out + 2 * i, f32_to_bf16(x[i]));
}

/* ---- Legacy 32-element blocks -------------------------------------------- */

static void quantize_row_q8_0(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++, x += 32, out += 34) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        float d = store_scale_f16(out, amax / 127.0f);
        float inv = d > 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) out[2 + j] = (uint8_t)(int8_t)quant_level(x[j] * inv, -127, 127);
    }
}

/* Symmetric 4/5-bit: the extreme value lands exactly on level -half. Low
   nibbles hold elements 0-15, high nibbles 16-31; Q5_0's fifth bits go to a
   little-endian u32 (bit j for element j). */
static void quantize_row_q4_0(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++, x += 32, out += 18) {
        float d = store_scale_f16(out, signed_absmax(x, 32) / -8.0f);
        float inv = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 16; j++) {
            int lo = quant_level(x[j] * inv + 8.0f, 0, 15), hi = quant_level(x[j + 16] * inv + 8.0f, 0, 15);
            out[2 + j] = (uint8_t)(lo | hi << 4);
        }
    }
}

static void quantize_row_q5_0(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++, x += 32, out += 22) {
        float d = store_scale_f16(out, signed_absmax(x, 32) / -16.0f);
        float inv = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t high = 0;
        for (int j = 0; j < 16; j++) {
            int lo = quant_level(x[j] * inv + 16.0f, 0, 31), hi = quant_level(x[j + 16] * inv + 16.0f, 0, 31);
            out[6 + j] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
            high |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        store_u32le(out + 2, high);
    }
}

/* Affine 4/5-bit: y = d*q + m with m the block minimum (stored first, so the
   step is fitted to the rounded minimum). */
static void quantize_row_affine32(const float *x, uint8_t *out, size_t n, int nmax, size_t block_bytes) {
    for (size_t b = 0; b < n / 32; b++, x += 32, out += block_bytes) {
        float min = x[0], max = x[0];
        for (int j = 1; j < 32; j++) {
            min = x[j] < min ? x[j] : min;
            max = x[j] > max ? x[j] : max;
        }
        float m = store_scale_f16(out + 2, min);
        float d = store_scale_f16(out, (max - m) / (float)nmax);
        if (d == 0.0f) m = store_scale_f16(out + 2, 0.5f * (min + max)); /* range below f16 resolution */
        float inv = d > 0.0f ? 1.0f / d : 0.0f;
        uint8_t *qs = out + (nmax == 15 ? 4 : 8);
        uint32_t high = 0;
        for (int j = 0; j < 16; j++) {
            int lo = quant_level((x[j] - m) * inv, 0, nmax), hi = quant_level((x[j + 16] - m) * inv, 0, nmax);
            qs[j] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
            high |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        if (nmax == 31) store_u32le(out + 4, high);
    }
}

static void quantize_row_q4_1(const float *x, uint8_t *out, size_t n) { quantize_row_affine32(x, out, n, 15, 20); }
static void quantize_row_q5_1(const float *x, uint8_t *out, size_t n) { quantize_row_affine32(x, out, n, 31, 24); }

/* ---- Sub-block fitting for the K-quants ---------------------------------- */

/* Fits x[i] ~ scale * L[i] - min_out with L in 0..nmax, scale >= 0, min_out >= 0
   (a block that is all positive is fitted with no offset), minimising the
   w-weighted squared error, or the weighted absolute error when use_abs.
   Starting from the plain min/max mapping, the inverse scale is tried at
   nmax / range and at (nmax + rmin + rdelta*k) / range for k = 0..nstep, with
   levels taken from the best offset so far; each trial's levels get their
   least-squares scale and offset, and the best fit wins. Returns the scale.
   L receives n levels; aux is n bytes of scratch. */
static float fit_scale_min(const float *x, const float *w, int n, int nmax, uint8_t *L, uint8_t *aux,
                           float *min_out, float rmin, float rdelta, int nstep, int use_abs) {
    float lo = x[0], hi = x[0], sw = 0.0f, swx = 0.0f;
    for (int i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        sw += w[i];
        swx += w[i] * x[i];
    }
    if (lo > 0.0f) lo = 0.0f;
    if (!(hi > lo)) { /* constant non-positive block: the offset alone is exact */
        memset(L, 0, (size_t)n);
        *min_out = -lo;
        return 0.0f;
    }
    /* start from the plain min/max mapping */
    float range = hi - lo, best_scale = range / (float)nmax, best_off = lo, best_err = 0.0f;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)quant_level((x[i] - lo) / best_scale, 0, nmax);
        float diff = best_scale * (float)L[i] + lo - x[i];
        best_err += w[i] * (use_abs ? fabsf(diff) : diff * diff);
    }
    for (int k = -1; k <= nstep; k++) {
        float iscale = (k < 0 ? (float)nmax : (float)nmax + rmin + rdelta * (float)k) / range;
        float sl = 0.0f, sl2 = 0.0f, sxl = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = quant_level((x[i] - best_off) * iscale, 0, nmax);
            aux[i] = (uint8_t)l;
            sl += w[i] * (float)l;
            sl2 += w[i] * (float)l * (float)l;
            sxl += w[i] * (float)l * x[i];
        }
        /* weighted least squares for x ~ scale*l + off */
        float det = sw * sl2 - sl * sl;
        if (!(det > 0.0f)) continue;
        float scale = (sw * sxl - swx * sl) / det, off = (sl2 * swx - sl * sxl) / det;
        if (off > 0.0f) { /* the format's offset can only lower values */
            off = 0.0f;
            scale = sxl / sl2;
        }
        float err = 0.0f;
        for (int i = 0; i < n; i++) {
            float diff = scale * (float)aux[i] + off - x[i];
            err += w[i] * (use_abs ? fabsf(diff) : diff * diff);
        }
        if (err < best_err) {
            best_err = err;
            best_scale = scale;
            best_off = off;
            memcpy(L, aux, (size_t)n);
        }
    }
    *min_out = -best_off;
    return best_scale;
}

/* Fits x[i] ~ scale * l[i] with l in -nmax..nmax-1, weights x^2 (large values
   matter most). The extreme value with its sign maps near -nmax; inverse
   scales (nmax + 0.1k)/max for k = -9..9 are tried, each with its
   least-squares scale. L receives l + nmax. Returns the scale (may be < 0). */
static float fit_symmetric(const float *x, int n, int nmax, uint8_t *L) {
    float max = signed_absmax(x, n);
    if (fabsf(max) < 1e-15f) {
        memset(L, nmax, (size_t)n);
        return 0.0f;
    }
    float best_num = 0.0f, best_den = 1.0f, best_scale = 0.0f;
    int have = 0;
    for (int k = -9; k <= 9; k++) {
        float iscale = -((float)nmax + 0.1f * (float)k) / max;
        float sxl = 0.0f, sl2 = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = quant_level(x[i] * iscale, -nmax, nmax - 1);
            float w = x[i] * x[i];
            sxl += w * x[i] * (float)l;
            sl2 += w * (float)l * (float)l;
        }
        /* the weighted error at the best scale is sum(w x^2) - sxl^2/sl2 */
        if (sl2 > 0.0f && (!have || sxl * sxl * best_den > best_num * sl2)) {
            have = 1;
            best_num = sxl * sxl;
            best_den = sl2;
            best_scale = sxl / sl2;
            for (int i = 0; i < n; i++) L[i] = (uint8_t)(quant_level(x[i] * iscale, -nmax, nmax - 1) + nmax);
        }
    }
    if (!have) {
        memset(L, nmax, (size_t)n);
        return 0.0f;
    }
    return best_scale;
}

/* Q3_K's sub-block fit: levels -nmax..nmax-1 from the signed maximum, then
   coordinate descent: each level in turn moves to the value that is best
   for the current least-squares scale of the others, kept when the
   weighted fit (sxl^2 / sl2, weights x^2) improves. L receives l + nmax. */
static float fit_levels_descent(const float *x, int n, int nmax, uint8_t *L) {
    float max = signed_absmax(x, n);
    if (fabsf(max) < 1e-15f) {
        memset(L, nmax, (size_t)n);
        return 0.0f;
    }
    float iscale = -(float)nmax / max, sxl = 0.0f, sl2 = 0.0f;
    int l[256];
    for (int i = 0; i < n; i++) {
        l[i] = quant_level(x[i] * iscale, -nmax, nmax - 1);
        float w = x[i] * x[i];
        sxl += w * x[i] * (float)l[i];
        sl2 += w * (float)l[i] * (float)l[i];
    }
    for (int pass = 0; pass < 5; pass++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float other_xl = sxl - w * x[i] * (float)l[i], other_l2 = sl2 - w * (float)l[i] * (float)l[i];
            if (!(other_xl > 0.0f)) continue;
            int cand = quant_level(x[i] * other_l2 / other_xl, -nmax, nmax - 1);
            if (cand == l[i]) continue;
            float new_xl = other_xl + w * x[i] * (float)cand, new_l2 = other_l2 + w * (float)cand * (float)cand;
            if (new_l2 > 0.0f && new_xl * new_xl * sl2 > sxl * sxl * new_l2) {
                l[i] = cand;
                sxl = new_xl;
                sl2 = new_l2;
                changed = 1;
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (uint8_t)(l[i] + nmax);
    return sl2 > 0.0f ? sxl / sl2 : 0.0f;
}

/* ---- K-quants: 256-element super-blocks ---------------------------------- */

static void quantize_row_q2_k(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++, x += 256, out += 84) {
        uint8_t L[256], aux[16];
        float w[16], scale[16], min[16], max_scale = 0.0f, max_min = 0.0f;
        for (int s = 0; s < 16; s++) {
            for (int i = 0; i < 16; i++) w[i] = fabsf(x[16 * s + i]);
            scale[s] = fit_scale_min(x + 16 * s, w, 16, 3, L + 16 * s, aux, &min[s], -0.5f, 0.1f, 15, 1);
            max_scale = scale[s] > max_scale ? scale[s] : max_scale;
            max_min = min[s] > max_min ? min[s] : max_min;
        }
        float d = store_scale_f16(out + 80, max_scale / 15.0f), dmin = store_scale_f16(out + 82, max_min / 15.0f);
        memset(out + 16, 0, 64);
        for (int s = 0; s < 16; s++) {
            int sc = d > 0.0f ? quant_level(scale[s] / d, 0, 15) : 0;
            int mn = dmin > 0.0f ? quant_level(min[s] / dmin, 0, 15) : 0;
            out[s] = (uint8_t)(sc | mn << 4);
            float ds = d * (float)sc, dm = dmin * (float)mn;
            for (int i = 0; i < 16; i++) {
                int e = 16 * s + i;
                int q = ds > 0.0f ? quant_level((x[e] + dm) / ds, 0, 3) : 0;
                /* element e = 128h + 32j + r (r < 32): byte 32h + r, bits 2j */
                out[16 + 32 * (e / 128) + e % 32] |= (uint8_t)(q << (2 * ((e % 128) / 32)));
            }
        }
    }
}

static void quantize_row_q3_k(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++, x += 256, out += 110) {
        uint8_t L[256];
        float scale[16], max_scale = 0.0f;
        for (int s = 0; s < 16; s++) {
            scale[s] = fit_levels_descent(x + 16 * s, 16, 4, L + 16 * s);
            if (fabsf(scale[s]) > fabsf(max_scale)) max_scale = scale[s];
        }
        memset(out, 0, 110);
        /* signed 6-bit scales: the largest maps to -32 */
        float d = store_scale_f16(out + 108, max_scale / -32.0f);
        uint8_t *hmask = out, *qs = out + 32, *sb = out + 96;
        for (int s = 0; s < 16; s++) {
            int sc = d != 0.0f ? quant_level(scale[s] / d, -32, 31) : 0;
            int u = sc + 32;
            if (s < 8) sb[s] |= (uint8_t)(u & 0xF);
            else sb[s - 8] |= (uint8_t)((u & 0xF) << 4);
            sb[8 + s % 4] |= (uint8_t)((u >> 4) << (2 * (s / 4)));
            float ds = d * (float)sc;
            for (int i = 0; i < 16; i++) {
                int e = 16 * s + i;
                int q = ds != 0.0f ? quant_level(x[e] / ds, -4, 3) : 0;
                int stored = q + 4; /* 0..7: bit 2 -> hmask, low 2 bits -> qs */
                if (stored & 4) hmask[e % 32] |= (uint8_t)(1u << (e / 32));
                qs[32 * (e / 128) + e % 32] |= (uint8_t)((stored & 3) << (2 * ((e % 128) / 32)));
            }
        }
    }
}

/* Q4_K and Q5_K share everything but the level count and qh. Sub-block fits
   weight each element by rms(sub-block) + |x|. */
static void quantize_row_q45_k(const float *x, uint8_t *out, size_t n, int nmax) {
    size_t block_bytes = nmax == 15 ? 144 : 176;
    float rmin = nmax == 15 ? -1.0f : -0.5f;
    int nstep = nmax == 15 ? 20 : 15;
    for (size_t b = 0; b < n / 256; b++, x += 256, out += block_bytes) {
        uint8_t L[256], aux[32];
        float w[32], scale[8], min[8], max_scale = 0.0f, max_min = 0.0f;
        for (int s = 0; s < 8; s++) {
            const float *xs = x + 32 * s;
            float sum2 = 0.0f;
            for (int i = 0; i < 32; i++) sum2 += xs[i] * xs[i];
            float rms = sqrtf(sum2 / 32.0f);
            for (int i = 0; i < 32; i++) w[i] = rms + fabsf(xs[i]);
            scale[s] = fit_scale_min(xs, w, 32, nmax, L + 32 * s, aux, &min[s], rmin, 0.1f, nstep, 0);
            max_scale = scale[s] > max_scale ? scale[s] : max_scale;
            max_min = min[s] > max_min ? min[s] : max_min;
        }
        memset(out, 0, block_bytes);
        float d = store_scale_f16(out, max_scale / 63.0f), dmin = store_scale_f16(out + 2, max_min / 63.0f);
        uint8_t *sb = out + 4;
        for (int s = 0; s < 8; s++) {
            int sc = d > 0.0f ? quant_level(scale[s] / d, 0, 63) : 0;
            int mn = dmin > 0.0f ? quant_level(min[s] / dmin, 0, 63) : 0;
            if (s < 4) {
                sb[s] = (uint8_t)sc;
                sb[s + 4] = (uint8_t)mn;
            } else {
                sb[s + 4] = (uint8_t)((sc & 0xF) | (mn & 0xF) << 4);
                sb[s - 4] |= (uint8_t)((sc >> 4) << 6);
                sb[s] |= (uint8_t)((mn >> 4) << 6);
            }
            float ds = d * (float)sc, dm = dmin * (float)mn;
            for (int i = 0; i < 32; i++)
                L[32 * s + i] = (uint8_t)(ds > 0.0f ? quant_level((x[32 * s + i] + dm) / ds, 0, nmax) : 0);
        }
        uint8_t *qh = nmax == 15 ? NULL : out + 16, *qs = out + (nmax == 15 ? 16 : 48);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                int q0 = L[64 * c + l], q1 = L[64 * c + 32 + l];
                qs[32 * c + l] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
                if (qh) qh[l] |= (uint8_t)((q0 >> 4) << (2 * c) | (q1 >> 4) << (2 * c + 1));
            }
    }
}

static void quantize_row_q4_k(const float *x, uint8_t *out, size_t n) { quantize_row_q45_k(x, out, n, 15); }
static void quantize_row_q5_k(const float *x, uint8_t *out, size_t n) { quantize_row_q45_k(x, out, n, 31); }

static void quantize_row_q6_k(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++, x += 256, out += 210) {
        uint8_t L[256];
        float scale[16], max_scale = 0.0f;
        for (int s = 0; s < 16; s++) {
            scale[s] = fit_symmetric(x + 16 * s, 16, 32, L + 16 * s);
            if (fabsf(scale[s]) > fabsf(max_scale)) max_scale = scale[s];
        }
        memset(out, 0, 210);
        /* signed 8-bit scales: the largest maps to -128 */
        float d = store_scale_f16(out + 208, max_scale / -128.0f);
        for (int s = 0; s < 16; s++) {
            int sc = d != 0.0f ? quant_level(scale[s] / d, -128, 127) : 0;
            out[192 + s] = (uint8_t)(int8_t)sc;
            float ds = d * (float)sc;
            for (int i = 0; i < 16; i++)
                L[16 * s + i] = (uint8_t)((ds != 0.0f ? quant_level(x[16 * s + i] / ds, -32, 31) : 0) + 32);
        }
        /* element 128h + 32g + l: low nibble in ql[64h + l + 32(g&1)] (high
           half for g >= 2), top 2 bits in qh[32h + l] at bits 2g */
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const uint8_t *q = L + 128 * h + l;
                out[64 * h + l] = (uint8_t)((q[0] & 0xF) | (q[64] & 0xF) << 4);
                out[64 * h + l + 32] = (uint8_t)((q[32] & 0xF) | (q[96] & 0xF) << 4);
                out[128 + 32 * h + l] =
                    (uint8_t)(q[0] >> 4 | (q[32] >> 4) << 2 | (q[64] >> 4) << 4 | (q[96] >> 4) << 6);
            }
    }
}

/* ---- IQ4_NL / IQ4_XS ---------------------------------------------------------
   Levels are the fixed table iq4nl_values, so only the scale is fitted: the
   element of largest magnitude is mapped near the table's far end (-127) by
   21 candidate scales 2% apart; each assigns every element its nearest level,
   the scale is refitted by least squares for those levels, and the pair
   with the smallest squared error is kept. No importance matrix. */

/* The index of the table level nearest to v (ties to the lower level). */
static int iq4_nearest(float v) {
    int best = 0;
    for (int i = 1; i < 16; i++)
        if (fabsf(v - (float)iq4nl_values[i]) < fabsf(v - (float)iq4nl_values[best])) best = i;
    return best;
}

static float iq4_fit_scale(const float *x, int n) {
    float max = signed_absmax(x, n);
    if (max == 0.0f) return 0.0f;
    float best_scale = max / -127.0f, best_err = INFINITY;
    for (int k = -10; k <= 10; k++) {
        float d = max / (-127.0f * (1.0f + 0.02f * (float)k));
        float xq = 0.0f, qq = 0.0f;
        for (int i = 0; i < n; i++) {
            float q = (float)iq4nl_values[iq4_nearest(x[i] / d)];
            xq += x[i] * q;
            qq += q * q;
        }
        if (qq <= 0.0f) continue;
        float fit = xq / qq, err = 0.0f;
        for (int i = 0; i < n; i++) {
            float e = x[i] - fit * (float)iq4nl_values[iq4_nearest(x[i] / d)];
            err += e * e;
        }
        if (err < best_err) {
            best_err = err;
            best_scale = fit;
        }
    }
    return best_scale;
}

/* 32 elements' indices against the scale as stored, low nibbles first */
static void iq4_pack32(const float *x, float d, uint8_t *qs) {
    for (int j = 0; j < 16; j++) {
        int lo = d != 0.0f ? iq4_nearest(x[j] / d) : iq4_nearest(0.0f);
        int hi = d != 0.0f ? iq4_nearest(x[j + 16] / d) : iq4_nearest(0.0f);
        qs[j] = (uint8_t)(lo | hi << 4);
    }
}

static void quantize_row_iq4_nl(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 32; b++, x += 32, out += 18)
        iq4_pack32(x, store_scale_f16(out, iq4_fit_scale(x, 32)), out + 2);
}

/* IQ4_XS: the sub-block scales quantized to 6 bits against one f16 scale,
   the largest mapped to -32 (the signed range's wider end). */
static void quantize_row_iq4_xs(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++, x += 256, out += 136) {
        float scale[8], max_scale = 0.0f;
        for (int sub = 0; sub < 8; sub++) {
            scale[sub] = iq4_fit_scale(x + 32 * sub, 32);
            if (fabsf(scale[sub]) > fabsf(max_scale)) max_scale = scale[sub];
        }
        memset(out, 0, 136);
        float d = store_scale_f16(out, max_scale / -32.0f);
        uint16_t high = 0;
        for (int sub = 0; sub < 8; sub++) {
            int level = d != 0.0f ? quant_level(scale[sub] / d, -32, 31) : 0;
            int stored = level + 32;
            out[4 + sub / 2] |= (uint8_t)((stored & 0xF) << (4 * (sub % 2)));
            high |= (uint16_t)((stored >> 4) << (2 * sub));
            iq4_pack32(x + 32 * sub, d * (float)level, out + 8 + 16 * sub);
        }
        store_u16le(out + 2, high);
    }
}

/* Q8_K (activation format): f32 scale with the extreme at -127, 256 int8,
   and the sums of each 16 levels for the min terms of K-quant dot products. */
static void quantize_row_q8_k(const float *x, uint8_t *out, size_t n) {
    for (size_t b = 0; b < n / 256; b++, x += 256, out += 292) {
        float max = signed_absmax(x, 256);
        float inv = max != 0.0f ? -127.0f / max : 0.0f;
        store_u32le(out, bits_from_f32(max != 0.0f ? 1.0f / inv : 0.0f));
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) {
                int q = quant_level(x[16 * g + i] * inv, -127, 127);
                out[4 + 16 * g + i] = (uint8_t)(int8_t)q;
                sum += q;
            }
            store_u16le(out + 260 + 2 * g, (uint16_t)(int16_t)sum);
        }
    }
}

/* The row quantizer of a ggml type id; NULL: none (F32 rows are stored as is).
   (Could become a from_f32 column of type_table.) */
static quantize_row_fn quantize_fn(uint32_t type) {
    switch (type) {
    case QT_F16: return quantize_row_f16;
    case QT_BF16: return quantize_row_bf16;
    case QT_Q4_0: return quantize_row_q4_0;
    case QT_Q4_1: return quantize_row_q4_1;
    case QT_Q5_0: return quantize_row_q5_0;
    case QT_Q5_1: return quantize_row_q5_1;
    case QT_Q8_0: return quantize_row_q8_0;
    case QT_Q2_K: return quantize_row_q2_k;
    case QT_Q3_K: return quantize_row_q3_k;
    case QT_Q4_K: return quantize_row_q4_k;
    case QT_Q5_K: return quantize_row_q5_k;
    case QT_Q6_K: return quantize_row_q6_k;
    case QT_Q8_K: return quantize_row_q8_k;
    case QT_IQ4_NL: return quantize_row_iq4_nl;
    case QT_IQ4_XS: return quantize_row_iq4_xs;
    default: return NULL;
    }
}

/* ---- GGUF writer ---------------------------------------------------------- */
/* Sequential writer over a FILE; the first failure sticks and later writes are
   skipped, so callers check once at the end. */
typedef struct gguf_writer {
    FILE *f;
    uint64_t pos;
    int failed;
} gguf_writer;

static void gw_bytes(gguf_writer *w, const void *p, size_t n) {
    if (w->failed || n == 0) return;
    if (fwrite(p, 1, n, w->f) != n) w->failed = 1;
    w->pos += n;
}

static void gw_u32(gguf_writer *w, uint32_t v) {
    uint8_t b[4];
    store_u32le(b, v);
    gw_bytes(w, b, 4);
}

static void gw_u64(gguf_writer *w, uint64_t v) {
    uint8_t b[8];
    store_u64le(b, v);
    gw_bytes(w, b, 8);
}

static void gw_str(gguf_writer *w, const char *s, size_t len) {
    gw_u64(w, len);
    gw_bytes(w, s, len);
}

static void gw_pad(gguf_writer *w, uint64_t alignment) {
    static const uint8_t zeros[64] = {0};
    uint64_t pad = (alignment - w->pos % alignment) % alignment;
    while (pad > 0) {
        size_t chunk = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        gw_bytes(w, zeros, chunk);
        pad -= chunk;
    }
}

static void gw_header(gguf_writer *w, uint64_t n_tensors, uint64_t n_kv) {
    gw_bytes(w, "GGUF", 4);
    gw_u32(w, 3);
    gw_u64(w, n_tensors);
    gw_u64(w, n_kv);
}

static void gw_kv_u32(gguf_writer *w, const char *key, uint32_t v) {
    gw_str(w, key, strlen(key));
    gw_u32(w, GGUF_U32);
    gw_u32(w, v);
}

/* One past the last byte of a parsed key/value record (bounds already checked
   by gguf_parse). The record starts at the key's 8-byte length. */
static const uint8_t *gguf_kv_end(const gguf_kv *kv) {
    const uint8_t *p = kv->value;
    if (kv->type == GGUF_STRING) return p + 8 + read_u64le(p);
    if (kv->type != GGUF_ARRAY) return p + gguf_scalar_size(kv->type);
    if (kv->array_type != GGUF_STRING) return p + kv->array_count * gguf_scalar_size(kv->array_type);
    for (uint64_t i = 0; i < kv->array_count; i++) p += 8 + read_u64le(p);
    return p;
}

/* Copies a metadata record byte for byte: every value type round-trips. */
static void gw_kv_raw(gguf_writer *w, const gguf_kv *kv) {
    const uint8_t *start = (const uint8_t *)kv->key.ptr - 8;
    gw_bytes(w, start, (size_t)(gguf_kv_end(kv) - start));
}

static void gw_tensor_info(gguf_writer *w, gguf_str name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                           uint64_t offset) {
    gw_str(w, name.ptr, name.len);
    gw_u32(w, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) gw_u64(w, ne[d]);
    gw_u32(w, type);
    gw_u64(w, offset);
}

/* ---- File conversion ------------------------------------------------------ */

/* Q4_K_M-style mix (params.mix = 1), after llama.cpp's llama_tensor_get_type:
   - output.weight gets the "more bits" type of the bulk type T;
   - the value path and the down projections, attn_v_b / legacy attn_kv_b and
     ffn_down / ffn_down_exps / ffn_down_shexp, get it in the first and the last
     eighth of the layers and in every third layer between (use_more_bits);
   - everything else, token_embd included, gets T.
   More bits: Q2_K -> Q4_K, Q3_K -> Q5_K, Q4_K and Q5_K -> Q6_K, Q4_0/Q4_1/
   Q5_0/Q5_1 -> Q6_K; Q6_K, Q8_0, F16 and BF16 are left as they are.
   Independently of the mix, 1-D tensors and the MoE router (ffn_gate_inp) stay
   F32, and a matrix whose rows do not fill the chosen type's blocks falls back
   to Q8_0 (rows of a multiple of 32, e.g. attn_k_b's 128) or F16. */
static uint32_t more_bits_type(uint32_t t) {
    switch (t) {
    case QT_Q2_K: return QT_Q4_K;
    case QT_Q3_K: return QT_Q5_K;
    case QT_Q4_K: case QT_Q5_K: case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_IQ4_XS:
    case QT_IQ4_NL: return QT_Q6_K;
    default: return t;
    }
}

static int use_more_bits(uint32_t layer, uint32_t n_layer) {
    return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

/* "blk.N." prefix -> N; -1 when the tensor belongs to no layer. */
static int64_t tensor_layer(const char *name) {
    if (strncmp(name, "blk.", 4) != 0 || name[4] < '0' || name[4] > '9') return -1;
    int64_t v = 0;
    const char *p = name + 4;
    while (*p >= '0' && *p <= '9' && v < 100000000) v = v * 10 + (*p++ - '0');
    return *p == '.' ? v : -1;
}

static uint32_t fit_row_type(uint32_t type, uint64_t row) {
    if (row % type_table[type].block_size == 0) return type;
    if (type == QT_IQ4_XS && row % 32 == 0) return QT_IQ4_NL; /* as llama-quantize */
    if (type_table[type].block_size == 256 && row % 32 == 0) return QT_Q8_0;
    return QT_F16;
}

static uint32_t choose_type(const gguf_tensor *t, const char *name, const dsv3_quantize_params *p, uint32_t n_layer) {
    if (t->n_dims < 2 || strstr(name, "ffn_gate_inp") != NULL) return QT_F32;
    uint32_t type = (uint32_t)p->type;
    if (p->mix) {
        int64_t layer = tensor_layer(name);
        int value_or_down = strstr(name, "attn_v_b.") || strstr(name, "attn_kv_b.") || strstr(name, "ffn_down");
        if (strcmp(name, "output.weight") == 0 ||
            (value_or_down && layer >= 0 && use_more_bits((uint32_t)layer, n_layer)))
            type = more_bits_type(type);
    }
    return fit_row_type(type, t->ne[0]);
}

/* llama_ftype for general.file_type (llama.h). */
static uint32_t ftype_of(int32_t type, int32_t mix) {
    switch (type) {
    case QT_F16: return 1;
    case QT_BF16: return 32;
    case QT_Q4_0: return 2;
    case QT_Q4_1: return 3;
    case QT_Q5_0: return 8;
    case QT_Q5_1: return 9;
    case QT_Q8_0: return 7;
    case QT_Q2_K: return 10;
    case QT_Q3_K: return mix ? 12 : 11; /* Q3_K_M : Q3_K_S */
    case QT_Q4_K: return mix ? 15 : 14; /* Q4_K_M : Q4_K_S */
    case QT_Q5_K: return mix ? 17 : 16; /* Q5_K_M : Q5_K_S */
    case QT_Q6_K: return 18;
    case QT_IQ4_NL: return 25;
    case QT_IQ4_XS: return 30;
    default: return 0;
    }
}

/* One chunk of rows of one tensor, split across the pool's threads. */
typedef struct quantize_job {
    const uint8_t *in;       /* first input row of the chunk */
    size_t in_row_bytes, out_row_bytes, n;
    row_to_f32_fn to_f32;
    quantize_row_fn quantize; /* NULL: write F32 */
    int check_finite;
    uint8_t *out;
    float *scratch;          /* n floats per thread */
    size_t *bad_row;         /* per thread: first row with a NaN/inf, or SIZE_MAX */
} quantize_job;

static void quantize_task(void *arg, uint32_t thread_index, size_t begin, size_t end) {
    quantize_job *job = (quantize_job *)arg;
    float *row = job->scratch + (size_t)thread_index * job->n;
    for (size_t r = begin; r < end; r++) {
        job->to_f32(job->in + r * job->in_row_bytes, row, job->n);
        if (job->check_finite) {
            int bad = 0;
            for (size_t i = 0; i < job->n; i++) bad |= !isfinite(row[i]);
            if (bad) {
                if (r < job->bad_row[thread_index]) job->bad_row[thread_index] = r;
                continue;
            }
        }
        uint8_t *dst = job->out + r * job->out_row_bytes;
        if (job->quantize) job->quantize(row, dst, job->n);
        else for (size_t i = 0; i < job->n; i++) store_u32le(dst + 4 * i, bits_from_f32(row[i]));
    }
}

static int accepted_quantize_type(int32_t t) {
    switch (t) {
    case QT_F16: case QT_BF16: case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_Q8_0:
    case QT_Q2_K: case QT_Q3_K: case QT_Q4_K: case QT_Q5_K: case QT_Q6_K: case QT_IQ4_NL: case QT_IQ4_XS: return 1;
    default: return 0;
    }
}

/* Writes every tensor of g, converted, after the header already written. */
static int32_t write_tensor_data(gguf_writer *w, const gguf_file *g, const uint32_t *out_types, thread_pool *pool,
                                 const allocator *a, error_slot *err) {
    uint32_t n_threads = pool->n_threads;
    size_t max_row = 1; /* longest row that is converted (copies need no buffer) */
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].type != out_types[i] && g->tensors[i].ne[0] > max_row) max_row = (size_t)g->tensors[i].ne[0];
    const size_t chunk_target = (size_t)16 << 20; /* bytes of output per chunk */
    float *scratch = NULL;
    size_t *bad_row = (size_t *)mem_calloc(a, n_threads, sizeof *bad_row);
    uint8_t *chunk = NULL;
    size_t chunk_size = 0;
    int32_t st = DSV3_OK;
    if (!bad_row || max_row > SIZE_MAX / sizeof(float) / n_threads ||
        !(scratch = (float *)mem_alloc(a, max_row * n_threads * sizeof(float)))) {
        st = fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory for row buffers of %zu elements", max_row);
        goto done;
    }
    for (uint64_t i = 0; i < g->n_tensors && st == DSV3_OK; i++) {
        const gguf_tensor *t = &g->tensors[i];
        uint32_t in_type = t->type, out_type = out_types[i];
        const type_traits *ti = &type_table[in_type], *to = &type_table[out_type];
        size_t n = (size_t)t->ne[0];
        size_t n_rows = (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        size_t in_row_bytes = n / ti->block_size * ti->type_size, out_row_bytes = n / to->block_size * to->type_size;
        gw_pad(w, g->alignment);
        if (in_type == out_type) { /* same type: copy, no second rounding */
            gw_bytes(w, t->data, (size_t)t->n_bytes);
            continue;
        }
        size_t rows_per_chunk = chunk_target / out_row_bytes;
        if (rows_per_chunk == 0) rows_per_chunk = 1;
        if (rows_per_chunk > n_rows) rows_per_chunk = n_rows;
        if (rows_per_chunk * out_row_bytes > chunk_size) {
            mem_free(a, chunk);
            chunk_size = rows_per_chunk * out_row_bytes;
            if (!(chunk = (uint8_t *)mem_alloc(a, chunk_size))) {
                st = fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory for a %zu-byte output buffer", chunk_size);
                break;
            }
        }
        quantize_job job = {NULL, in_row_bytes, out_row_bytes, n, ti->to_f32,
                            out_type == QT_F32 ? NULL : quantize_fn(out_type),
                            out_type != QT_F32 && out_type != QT_F16 && out_type != QT_BF16,
                            chunk, scratch, bad_row};
        for (size_t first = 0; first < n_rows; first += rows_per_chunk) {
            size_t rows = n_rows - first < rows_per_chunk ? n_rows - first : rows_per_chunk;
            job.in = t->data + first * in_row_bytes;
            for (uint32_t k = 0; k < n_threads; k++) bad_row[k] = SIZE_MAX;
            parallel_for(pool, rows, 4, quantize_task, &job);
            size_t bad = SIZE_MAX;
            for (uint32_t k = 0; k < n_threads; k++) bad = bad_row[k] < bad ? bad_row[k] : bad;
            if (bad != SIZE_MAX) {
                st = fail(err, DSV3_ERR_BAD_MODEL,
                          "tensor '%.*s': row %zu holds NaN or infinity; cannot quantize it to %s",
                          (int)t->name.len, t->name.ptr, first + bad, to->name);
                break;
            }
            gw_bytes(w, chunk, rows * out_row_bytes);
        }
    }
done:
    mem_free(a, chunk);
    mem_free(a, scratch);
    mem_free(a, bad_row);
    return st;
}

static int32_t quantize_file(const char *in_path, const char *out_path, const dsv3_quantize_params *p,
                             const allocator *a, error_slot *err) {
    file_image img;
    gguf_file g;
    memset(&g, 0, sizeof g);
    uint32_t *out_types = NULL;
    char *tmp_path = NULL;
    FILE *f = NULL;
    int created = 0;
    thread_pool pool;
    void *pool_args = NULL;
    int pool_running = 0;
    memset(&pool, 0, sizeof pool);
    int32_t st = image_open(&img, in_path, 1, a, err);
    if (st) return st;
    if ((st = gguf_parse(&g, img.data, img.size, a, err))) goto done;

    out_types = (uint32_t *)mem_calloc(a, (size_t)g.n_tensors, sizeof *out_types);
    if (!out_types) {
        st = fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory for %llu tensor types", (unsigned long long)g.n_tensors);
        goto done;
    }
    uint32_t n_layer = 0;
    char name[DSV3_GGUF_MAX_NAME];
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *t = &g.tensors[i];
        memcpy(name, t->name.ptr, t->name.len);
        name[t->name.len] = '\0';
        int64_t layer = tensor_layer(name);
        if (layer >= 0 && (uint64_t)layer + 1 > n_layer) n_layer = (uint32_t)layer + 1;
        if (!type_table[t->type].to_f32) {
            st = fail(err, DSV3_ERR_UNSUPPORTED, "tensor '%s' uses ggml type %u (%s), which dsv3 cannot read", name,
                      t->type, type_name(t->type));
            goto done;
        }
    }
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *t = &g.tensors[i];
        memcpy(name, t->name.ptr, t->name.len);
        name[t->name.len] = '\0';
        out_types[i] = choose_type(t, name, p, n_layer);
    }

    size_t path_len = strlen(out_path);
    if (!(tmp_path = (char *)mem_alloc(a, path_len + 5))) {
        st = fail(err, DSV3_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    memcpy(tmp_path, out_path, path_len);
    memcpy(tmp_path + path_len, ".tmp", 5);
    if (!(f = path_fopen(tmp_path, "wb", a))) {
        st = fail(err, DSV3_ERR_IO, "cannot create '%s': %s", tmp_path, strerror(errno));
        goto done;
    }
    created = 1;
    gguf_writer w = {f, 0, 0};

    /* Metadata: every record copied verbatim, except general.file_type which
       gets the new type (added when absent, with general.quantization_version). */
    const gguf_kv *ftype_kv = gguf_find(&g, "general.file_type");
    int add_qv = gguf_find(&g, "general.quantization_version") == NULL;
    uint32_t ftype = ftype_of(p->type, p->mix);
    gw_header(&w, g.n_tensors, g.n_kv + (ftype_kv ? 0 : 1) + (uint64_t)add_qv);
    for (uint64_t i = 0; i < g.n_kv; i++) {
        if (&g.kv[i] == ftype_kv) gw_kv_u32(&w, "general.file_type", ftype);
        else gw_kv_raw(&w, &g.kv[i]);
    }
    if (!ftype_kv) gw_kv_u32(&w, "general.file_type", ftype);
    if (add_qv) gw_kv_u32(&w, "general.quantization_version", 2);

    uint64_t offset = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const gguf_tensor *t = &g.tensors[i];
        const type_traits *tt = &type_table[out_types[i]];
        /* rows * row bytes; the element count is below 2^63 (gguf_parse) */
        uint64_t bytes = t->ne[0] / tt->block_size * tt->type_size, rows = t->ne[1] * t->ne[2] * t->ne[3], next;
        if (mul_overflows(bytes, rows, &bytes) || bytes > SIZE_MAX / 2 ||
            add_overflows(offset, bytes + (g.alignment - bytes % g.alignment) % g.alignment, &next)) {
            st = fail(err, DSV3_ERR_UNSUPPORTED, "tensor '%.*s' is too large as %s", (int)t->name.len, t->name.ptr,
                      tt->name);
            goto done;
        }
        gw_tensor_info(&w, t->name, t->n_dims, t->ne, out_types[i], offset);
        offset = next;
    }

    uint32_t n_threads = p->n_threads > 0 ? (uint32_t)p->n_threads : hardware_threads();
    if (n_threads > 256) n_threads = 256;
    if (!DSV3_HAVE_THREADS) n_threads = 1;
#if DSV3_HAVE_THREADS
    pool_args = mem_calloc(a, n_threads, sizeof(worker_start));
#else
    pool_args = mem_calloc(a, 1, 1);
#endif
    if (!pool_args || !pool_start(&pool, n_threads, pool_args, a)) {
        st = fail(err, DSV3_ERR_OUT_OF_MEMORY, "cannot start %u threads", n_threads);
        goto done;
    }
    pool_running = 1;
    if ((st = write_tensor_data(&w, &g, out_types, &pool, a, err))) goto done;
    if (g.n_tensors > 0) gw_pad(&w, g.alignment);
    if (w.failed || fflush(f) != 0) {
        st = fail(err, DSV3_ERR_IO, "cannot write '%s': %s", tmp_path, strerror(errno));
        goto done;
    }
    int close_failed = fclose(f) != 0;
    f = NULL;
    if (close_failed) {
        st = fail(err, DSV3_ERR_IO, "cannot write '%s': %s", tmp_path, strerror(errno));
        goto done;
    }
    char reason[160];
    if (path_replace(tmp_path, out_path, a, reason, sizeof reason) != 0) {
        st = fail(err, DSV3_ERR_IO, "cannot rename '%s' to '%s': %s", tmp_path, out_path, reason);
        goto done;
    }
done:
    if (pool_running) pool_stop(&pool, a);
    mem_free(a, pool_args);
    if (f) fclose(f);
    if (st != DSV3_OK && created) path_remove(tmp_path, a);
    mem_free(a, tmp_path);
    mem_free(a, out_types);
    gguf_release(&g, a);
    image_close(&img, a);
    return st;
}

void dsv3_quantize_default_params(dsv3_quantize_params *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->type = QT_Q4_K;
    out->mix = 1;
    out->n_threads = 0;
}

int32_t dsv3_quantize_file(const char *in_path, const char *out_path, const dsv3_quantize_params *params,
                           char *error_message, size_t error_message_size) {
    error_slot err = {DSV3_OK, ""};
    allocator a = {NULL, NULL, NULL};
    dsv3_quantize_params p;
    dsv3_quantize_default_params(&p);
    int32_t st = merge_params(&p, sizeof p, params, &err);
    if (st == DSV3_OK) {
        uint16_t probe = 1;
        uint8_t first;
        memcpy(&first, &probe, 1);
        if (!in_path || !out_path)
            st = fail(&err, DSV3_ERR_INVALID_ARGUMENT, "NULL %s path", in_path ? "output" : "input");
        else if (!accepted_quantize_type(p.type))
            st = fail(&err, DSV3_ERR_INVALID_ARGUMENT,
                      "cannot quantize to ggml type %d (%s)%s; use F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, "
                      "Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL or IQ4_XS", (int)p.type,
                      p.type >= 0 && p.type < DSV3_TYPE_COUNT ? type_name((uint32_t)p.type) : "unknown",
                      /* the lattice IQ types: dsv3 reads them, but without an
                         importance matrix they quantize badly */
                      (p.type >= 16 && p.type <= 22 && p.type != 20) || p.type == 29
                          ? ": it needs an importance matrix (llama-quantize --imatrix)"
                          : "");
        else if (p.mix != 0 && p.mix != 1)
            st = fail(&err, DSV3_ERR_INVALID_ARGUMENT, "mix must be 0 or 1, not %d", (int)p.mix);
        else if (p.n_threads < 0)
            st = fail(&err, DSV3_ERR_INVALID_ARGUMENT, "n_threads %d is negative", (int)p.n_threads);
        else if (first != 1)
            st = fail(&err, DSV3_ERR_UNSUPPORTED, "dsv3 runs on little-endian machines only");
        else
            st = quantize_file(in_path, out_path, &p, &a, &err);
    }
    if (error_message && error_message_size) {
        size_t n = st == DSV3_OK ? 0 : strlen(err.message);
        if (n >= error_message_size) n = error_message_size - 1;
        memcpy(error_message, err.message, n);
        error_message[n] = '\0';
    }
    return st;
}
