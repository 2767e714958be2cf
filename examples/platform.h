/* examples/platform.h - the little the example programs need beyond C11, for
 * POSIX and Windows alike: a monotonic clock, command-line arguments and file
 * names in UTF-8 (what dsv3 takes), and a stdout that writes bytes as they are.
 *
 * dsv3 takes UTF-8 paths on every platform. On Windows a program's argv is in
 * the ANSI code page, which cannot hold most of Unicode, so these programs
 * rebuild it from the UTF-16 command line, and open files through _wfopen.
 */
#ifndef DSV3_EXAMPLES_PLATFORM_H
#define DSV3_EXAMPLES_PLATFORM_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  ifndef NOMINMAX
#    define NOMINMAX
#  endif
#  include <windows.h>
#  include <shellapi.h> /* CommandLineToArgvW */
#  include <fcntl.h>
#  include <io.h>
#  if defined(_MSC_VER)
#    pragma comment(lib, "shell32.lib")
#  endif
#endif

/* Seconds from an arbitrary start, for measuring intervals. */
static inline double now_seconds(void) {
#if defined(_WIN32)
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart / (double)f.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
#endif
}

/* Replaces argv with a UTF-8 copy on Windows (kept until exit); elsewhere the
   arguments are already the bytes the user typed. */
static inline void utf8_args(int *argc, char ***argv) {
#if defined(_WIN32)
    int n = 0;
    wchar_t **wide = CommandLineToArgvW(GetCommandLineW(), &n);
    if (!wide) return;
    char **out = (char **)calloc((size_t)n + 1, sizeof *out);
    for (int i = 0; out && i < n; i++) {
        int len = WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, NULL, 0, NULL, NULL);
        if (len <= 0 || !(out[i] = (char *)malloc((size_t)len))) {
            out = NULL; /* keep the runtime's argv; the copy leaks, once */
            break;
        }
        WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, out[i], len, NULL, NULL);
    }
    LocalFree(wide);
    if (!out) return;
    *argc = n;
    *argv = out;
#else
    (void)argc;
    (void)argv;
#endif
}

/* fopen() of a UTF-8 path. */
static inline FILE *fopen_utf8(const char *path, const char *mode) {
#if defined(_WIN32)
    wchar_t wpath[1024], wmode[8];
    if (!MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, 1024) ||
        !MultiByteToWideChar(CP_UTF8, 0, mode, -1, wmode, 8))
        return NULL;
    return _wfopen(wpath, wmode);
#else
    return fopen(path, mode);
#endif
}

/* Generated text is UTF-8 bytes, written as they are: no "\r\n" on Windows,
   and a console told to show them as UTF-8. */
static inline void binary_stdout(void) {
#if defined(_WIN32)
    fflush(stdout);
    _setmode(_fileno(stdout), _O_BINARY);
    SetConsoleOutputCP(CP_UTF8);
#endif
}

#endif
