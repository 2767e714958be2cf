/* dsv3-server's reading of DeepSeek tool calls in generated text (kept apart
 * so that tests/test_server.c checks it directly).
 *
 * A call is the text between <｜tool▁call▁begin｜> and <｜tool▁call▁end｜>,
 * in two parts split by <｜tool▁sep｜>. DeepSeek-V3 and R1 write
 *   function<｜tool▁sep｜>NAME\n```json\nARGUMENTS\n```
 * (their chat templates' form) and DeepSeek-V3.1 writes
 *   NAME<｜tool▁sep｜>ARGUMENTS
 * Both are read: a fenced json block after the separator means the first. */
#ifndef DSV3_TOOL_CALLS_H
#define DSV3_TOOL_CALLS_H

#include <stddef.h>
#include <string.h>

typedef struct tool_call_span {
    size_t name, name_len;           /* offsets into the call's text */
    size_t arguments, arguments_len;
} tool_call_span;

static inline int tool_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* [*at, *at + *n) without surrounding white space. */
static inline void tool_trim(const char *text, size_t *at, size_t *n) {
    while (*n && tool_space(text[*at])) (*at)++, (*n)--;
    while (*n && tool_space(text[*at + *n - 1])) (*n)--;
}

static inline const char *tool_find(const char *text, size_t len, const char *what) {
    size_t n = strlen(what);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (!memcmp(text + i, what, n)) return text + i;
    return NULL;
}

/* Splits a call's text (len bytes; sep: where the text after the separator
 * starts). 0 on success, -1 when no name is found. */
static inline int tool_call_split(const char *text, size_t len, size_t sep, tool_call_span *out) {
    if (sep > len) return -1;
    const char *after = text + sep, *fence = tool_find(after, len - sep, "```json");
    if (fence) { /* V3/R1: the name, then the arguments in a fenced block */
        size_t name_end = (size_t)(fence - text);
        const char *newline = memchr(after, '\n', (size_t)(fence - after));
        if (newline) name_end = (size_t)(newline - text);
        out->name = sep;
        out->name_len = name_end - sep;
        size_t args = (size_t)(fence - text) + 7, args_end = len;
        for (size_t i = len; i >= args + 3; i--) /* the last closing fence */
            if (!memcmp(text + i - 3, "```", 3)) {
                args_end = i - 3;
                break;
            }
        out->arguments = args;
        out->arguments_len = args_end - args;
    } else { /* V3.1: name<sep>arguments */
        out->name = 0;
        out->name_len = sep;
        out->arguments = sep;
        out->arguments_len = len - sep;
    }
    tool_trim(text, &out->name, &out->name_len);
    tool_trim(text, &out->arguments, &out->arguments_len);
    return out->name_len ? 0 : -1;
}

#endif
