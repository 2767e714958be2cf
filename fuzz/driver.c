/* Replays files through LLVMFuzzerTestOneInput without libFuzzer, so that the
 * corpus (and any crash input) runs under gcc or clang with ASan + UBSan.
 *
 *   usage: fuzz_replay FILE_OR_DIRECTORY...
 * Directories are read one level deep, in name order. Each input is passed as an
 * exact-size heap copy, so ASan sees any read past its end.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t size = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            size = (size_t)n;
            buf = (uint8_t *)malloc(size ? size : 1);
            if (buf && fread(buf, 1, size, f) != size) {
                free(buf);
                buf = NULL;
            }
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, size);
    free(buf);
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    int runs = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_replay: no such file %s\n", argv[i]);
            errors++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += run_file(argv[i]);
            runs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "fuzz_replay: cannot list %s\n", argv[i]);
            errors++;
            continue;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                char **grown = (char **)realloc(names, cap * sizeof *names);
                if (!grown) break;
                names = grown;
            }
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[n] = (char *)malloc(len);
            if (!names[n]) break;
            snprintf(names[n], len, "%s/%s", argv[i], e->d_name);
            n++;
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, by_name);
        for (size_t j = 0; j < n; j++) {
            if (stat(names[j], &st) == 0 && S_ISREG(st.st_mode)) {
                errors += run_file(names[j]);
                runs++;
            }
            free(names[j]);
        }
        free(names);
    }
    printf("fuzz_replay: %d inputs, %d unreadable\n", runs, errors);
    return errors ? 1 : 0;
}
