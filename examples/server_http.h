/* examples/server_http.h - the HTTP/1.1 request-head parser of dsv3-server.
 *
 * http_parse_head() reads a request line and headers from the bytes received
 * so far. It says whether more bytes are needed, the request is malformed (and
 * which status to answer), or the head is complete (with its length, so the
 * body follows). It keeps only what the server uses: the method, the path
 * (without its query), Content-Length, Authorization, and whether the body is
 * chunked (refused: OpenAI clients send Content-Length). No allocation, no
 * globals: the fuzz target (fuzz/fuzz_http.c) calls it on arbitrary bytes.
 */
#ifndef DSV3_EXAMPLES_SERVER_HTTP_H
#define DSV3_EXAMPLES_SERVER_HTTP_H

#include <stdint.h>
#include <string.h>

#define HTTP_NEED_MORE 0
#define HTTP_COMPLETE  1
/* Errors are negative HTTP statuses: -400, -413 (Content-Length over the
 * limit), -431 (head over the limit), -501 (chunked or other transfer
 * codings), -505 (not HTTP/1.x). */

typedef struct http_request {
    char method[16];
    char path[512];
    size_t head_len;        /* bytes up to and including the blank line */
    size_t content_length;  /* 0 when absent */
    int has_content_length;
    char authorization[512];/* the header's value, "" when absent */
    int expect_continue;    /* "Expect: 100-continue" */
} http_request;

static inline int http_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static inline int http_name_is(const char *name, size_t n, const char *want) {
    size_t k = strlen(want);
    if (n != k) return 0;
    for (size_t i = 0; i < n; i++) {
        char a = name[i], b = want[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

/* The value with surrounding spaces and tabs removed. */
static inline void http_trim(const char **v, size_t *n) {
    while (*n && (**v == ' ' || **v == '\t')) (*v)++, (*n)--;
    while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t')) (*n)--;
}

/* buf[0..len) holds the bytes received so far. max_head: the most bytes the
 * head may take; max_body: the most Content-Length accepted. Lines end with
 * CRLF or a bare LF (RFC 9112 lets a server accept it). */
static inline int http_parse_head(const char *buf, size_t len, size_t max_head, size_t max_body, http_request *req) {
    memset(req, 0, sizeof *req);
    /* Find the end of the head first: nothing is judged on a partial line
     * but its length. */
    size_t end = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n') continue;
        if (i + 1 < len && buf[i + 1] == '\n') { end = i + 2; break; }
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') { end = i + 3; break; }
    }
    if (!end) return len >= max_head ? -431 : HTTP_NEED_MORE;
    if (end > max_head) return -431;
    req->head_len = end;

    /* Request line: METHOD SP TARGET SP HTTP/1.x */
    size_t at = 0;
    while (at < end && (buf[at] == '\r' || buf[at] == '\n')) at++; /* stray CRLF before a request */
    size_t m = 0;
    while (at < end && http_tchar((unsigned char)buf[at])) {
        if (m + 1 >= sizeof req->method) return -400;
        req->method[m++] = buf[at++];
    }
    if (!m || at >= end || buf[at] != ' ') return -400;
    at++;
    size_t p = 0, query = 0;
    while (at < end && buf[at] != ' ') {
        unsigned char c = (unsigned char)buf[at];
        if (c <= 0x20 || c == 0x7F) return -400;
        if (c == '?' && !query) query = 1;
        if (!query) {
            if (p + 1 >= sizeof req->path) return -400;
            req->path[p++] = (char)c;
        }
        at++;
    }
    if (!p || at >= end) return -400;
    at++;
    if (end - at < 8 || memcmp(buf + at, "HTTP/1.", 7) != 0) {
        return end - at >= 5 && memcmp(buf + at, "HTTP/", 5) == 0 ? -505 : -400;
    }
    at += 7;
    if (buf[at] != '0' && buf[at] != '1') return -505;
    at++;
    if (at < end && buf[at] == '\r') at++;
    if (at >= end || buf[at] != '\n') return -400;
    at++;

    /* Header fields: NAME ":" OWS VALUE OWS, until the empty line. */
    int chunked = 0;
    while (at < end) {
        size_t line = at, eol = at;
        while (eol < end && buf[eol] != '\n') eol++;
        size_t stop = eol > line && buf[eol - 1] == '\r' ? eol - 1 : eol;
        at = eol + 1;
        if (stop == line) break; /* the blank line */
        size_t colon = line;
        while (colon < stop && http_tchar((unsigned char)buf[colon])) colon++;
        if (colon == line || colon >= stop || buf[colon] != ':') return -400; /* also refuses obsolete folding */
        const char *name = buf + line, *value = buf + colon + 1;
        size_t name_len = colon - line, value_len = stop - colon - 1;
        http_trim(&value, &value_len);
        for (size_t i = 0; i < value_len; i++) {
            unsigned char c = (unsigned char)value[i];
            if ((c < 0x20 && c != '\t') || c == 0x7F) return -400;
        }
        if (http_name_is(name, name_len, "content-length")) {
            if (!value_len) return -400;
            size_t v = 0;
            for (size_t i = 0; i < value_len; i++) {
                if (value[i] < '0' || value[i] > '9') return -400;
                if (v > (SIZE_MAX - 9) / 10) return -413;
                v = v * 10 + (size_t)(value[i] - '0');
            }
            /* Two different lengths make request smuggling possible. */
            if (req->has_content_length && v != req->content_length) return -400;
            req->content_length = v;
            req->has_content_length = 1;
        } else if (http_name_is(name, name_len, "transfer-encoding")) {
            chunked = 1; /* any coding: the body's length is not known up front */
        } else if (http_name_is(name, name_len, "authorization")) {
            if (value_len >= sizeof req->authorization) return -400;
            memcpy(req->authorization, value, value_len);
            req->authorization[value_len] = '\0';
        } else if (http_name_is(name, name_len, "expect")) {
            if (value_len == 12 && http_name_is(value, value_len, "100-continue")) req->expect_continue = 1;
        }
    }
    if (chunked) return -501;
    if (req->content_length > max_body) return -413;
    return HTTP_COMPLETE;
}

/* Compares a secret with a candidate in time that depends only on the
 * secret's length, so timing does not reveal how many bytes matched. */
static inline int http_secret_equal(const char *secret, const char *candidate) {
    size_t n = strlen(secret), m = strlen(candidate);
    unsigned diff = (unsigned)(n != m);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = m ? (unsigned char)candidate[i < m ? i : m - 1] : 0;
        diff |= (unsigned)((unsigned char)secret[i] ^ c);
    }
    return diff == 0;
}

#endif
