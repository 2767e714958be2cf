/* examples/json.h - a small JSON reader and writer for dsv3-server.
 *
 * Reader: json_parse() turns a whole document (RFC 8259, UTF-8) into a tree of
 * nodes kept in one growing array; strings are decoded (escapes, surrogate
 * pairs; a lone surrogate becomes U+FFFD) into a second buffer, each
 * NUL-terminated with its length kept (a string may hold "\u0000"). Nesting is
 * limited so that a hostile document cannot exhaust the stack. Everything is
 * freed by json_free(). No globals: the server's threads, its test and the
 * fuzz target (fuzz/fuzz_http.c) share it; static inline, so that a file
 * using only part of it compiles without unused-function warnings.
 *
 * Writer: sbuf, a growing byte string, and sbuf_json_string(), which escapes
 * text into a JSON string and replaces invalid UTF-8 (which a model can
 * produce a byte at a time) with U+FFFD, so the output is always valid JSON.
 */
#ifndef DSV3_EXAMPLES_JSON_H
#define DSV3_EXAMPLES_JSON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

/* Children are linked through `next` by index; index 0 (the root) is never a
 * child, so 0 means "none". */
typedef struct json_node {
    json_type type;
    uint32_t first_child, next, n_children;
    size_t key, key_len;  /* object members: offset of the decoded key in text */
    size_t str, str_len;  /* strings: offset of the decoded value in text */
    double number;
} json_node;

typedef struct json_doc {
    json_node *nodes;
    size_t n_nodes, cap_nodes;
    char *text; /* decoded strings; never more than the input's length + 1 */
    size_t text_used;
    const char *src;
    size_t len, at;
    int depth, max_depth;
    char error[96];
} json_doc;

static inline void json_free(json_doc *doc) {
    free(doc->nodes);
    free(doc->text);
    doc->nodes = NULL;
    doc->text = NULL;
    doc->n_nodes = doc->cap_nodes = 0;
}

static inline int json_fail(json_doc *doc, const char *what) {
    if (!doc->error[0]) snprintf(doc->error, sizeof doc->error, "%s at byte %zu", what, doc->at);
    return -1;
}

static inline void json_skip_space(json_doc *doc) {
    while (doc->at < doc->len) {
        char c = doc->src[doc->at];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        doc->at++;
    }
}

/* Appends a node; -1 when out of memory. */
static inline int json_new_node(json_doc *doc, json_type type, uint32_t *id) {
    if (doc->n_nodes == doc->cap_nodes) {
        size_t cap = doc->cap_nodes ? doc->cap_nodes * 2 : 64;
        if (cap > UINT32_MAX) return json_fail(doc, "too many values");
        json_node *grown = (json_node *)realloc(doc->nodes, cap * sizeof *grown);
        if (!grown) return json_fail(doc, "out of memory");
        doc->nodes = grown;
        doc->cap_nodes = cap;
    }
    json_node *n = &doc->nodes[doc->n_nodes];
    memset(n, 0, sizeof *n);
    n->type = type;
    *id = (uint32_t)doc->n_nodes++;
    return 0;
}

static inline void json_put_utf8(json_doc *doc, uint32_t cp) {
    char *o = doc->text + doc->text_used;
    if (cp < 0x80) {
        o[0] = (char)cp;
        doc->text_used += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        doc->text_used += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        doc->text_used += 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        doc->text_used += 4;
    }
}

static inline int json_hex4(json_doc *doc, uint32_t *out) {
    if (doc->len - doc->at < 4) return json_fail(doc, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = doc->src[doc->at + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return json_fail(doc, "bad \\u escape");
    }
    doc->at += 4;
    *out = v;
    return 0;
}

/* Decodes the string at doc->at (its opening quote) into text. Each escape's
 * output is no longer than its source ("\uXXXX" is 6 bytes, U+FFFF 3 in
 * UTF-8; a surrogate pair 12 bytes, 4 in UTF-8), so text never overflows. */
static inline int json_string(json_doc *doc, size_t *off, size_t *n) {
    doc->at++; /* the quote */
    *off = doc->text_used;
    for (;;) {
        if (doc->at >= doc->len) return json_fail(doc, "unterminated string");
        unsigned char c = (unsigned char)doc->src[doc->at];
        if (c == '"') {
            doc->at++;
            break;
        }
        if (c < 0x20) return json_fail(doc, "control character in string");
        if (c != '\\') {
            doc->text[doc->text_used++] = (char)c;
            doc->at++;
            continue;
        }
        if (++doc->at >= doc->len) return json_fail(doc, "unterminated string");
        char e = doc->src[doc->at++];
        uint32_t cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (json_hex4(doc, &cp)) return -1;
            if (cp >= 0xD800 && cp < 0xDC00) { /* a high surrogate wants its low half */
                uint32_t low = 0;
                if (doc->len - doc->at >= 6 && doc->src[doc->at] == '\\' && doc->src[doc->at + 1] == 'u') {
                    size_t back = doc->at;
                    doc->at += 2;
                    if (json_hex4(doc, &low)) return -1;
                    if (low >= 0xDC00 && low < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    else {
                        doc->at = back; /* not a pair: the next escape stands alone */
                        cp = 0xFFFD;
                    }
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            break;
        default: return json_fail(doc, "bad escape");
        }
        json_put_utf8(doc, cp);
    }
    *n = doc->text_used - *off;
    doc->text[doc->text_used++] = '\0';
    return 0;
}

static inline int json_number(json_doc *doc, double *out) {
    size_t start = doc->at, i = doc->at;
    const char *s = doc->src;
    if (i < doc->len && s[i] == '-') i++;
    if (i >= doc->len || s[i] < '0' || s[i] > '9') return json_fail(doc, "bad number");
    if (s[i] == '0') i++;
    else while (i < doc->len && s[i] >= '0' && s[i] <= '9') i++;
    if (i < doc->len && s[i] == '.') {
        i++;
        if (i >= doc->len || s[i] < '0' || s[i] > '9') return json_fail(doc, "bad number");
        while (i < doc->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < doc->len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < doc->len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= doc->len || s[i] < '0' || s[i] > '9') return json_fail(doc, "bad number");
        while (i < doc->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    char tmp[64]; /* strtod needs a terminated copy; longer numbers are refused */
    if (i - start >= sizeof tmp) return json_fail(doc, "number too long");
    memcpy(tmp, s + start, i - start);
    tmp[i - start] = '\0';
    *out = strtod(tmp, NULL);
    doc->at = i;
    return 0;
}

static inline int json_literal(json_doc *doc, const char *word) {
    size_t n = strlen(word);
    if (doc->len - doc->at < n || memcmp(doc->src + doc->at, word, n) != 0) return json_fail(doc, "unexpected token");
    doc->at += n;
    return 0;
}

static inline int json_value(json_doc *doc, uint32_t *out);

/* Arrays and objects: members are appended to `parent`'s child list. */
static inline int json_container(json_doc *doc, uint32_t parent, int is_object) {
    char close = is_object ? '}' : ']';
    if (++doc->depth > doc->max_depth) return json_fail(doc, "nested too deeply");
    doc->at++; /* the opening bracket */
    json_skip_space(doc);
    uint32_t last = 0;
    if (doc->at < doc->len && doc->src[doc->at] == close) {
        doc->at++;
        doc->depth--;
        return 0;
    }
    for (;;) {
        size_t key = 0, key_len = 0;
        if (is_object) {
            json_skip_space(doc);
            if (doc->at >= doc->len || doc->src[doc->at] != '"') return json_fail(doc, "expected a member name");
            if (json_string(doc, &key, &key_len)) return -1;
            json_skip_space(doc);
            if (doc->at >= doc->len || doc->src[doc->at] != ':') return json_fail(doc, "expected ':'");
            doc->at++;
        }
        uint32_t child;
        if (json_value(doc, &child)) return -1;
        doc->nodes[child].key = key;
        doc->nodes[child].key_len = key_len;
        if (last) doc->nodes[last].next = child;
        else doc->nodes[parent].first_child = child;
        last = child;
        doc->nodes[parent].n_children++;
        json_skip_space(doc);
        if (doc->at >= doc->len) return json_fail(doc, "unterminated array or object");
        char c = doc->src[doc->at++];
        if (c == close) break;
        if (c != ',') return json_fail(doc, "expected ',' or a closing bracket");
    }
    doc->depth--;
    return 0;
}

static inline int json_value(json_doc *doc, uint32_t *out) {
    json_skip_space(doc);
    if (doc->at >= doc->len) return json_fail(doc, "unexpected end");
    char c = doc->src[doc->at];
    json_type type = c == '{' ? JSON_OBJECT : c == '[' ? JSON_ARRAY : c == '"' ? JSON_STRING
                   : c == 't' ? JSON_TRUE : c == 'f' ? JSON_FALSE : c == 'n' ? JSON_NULL : JSON_NUMBER;
    uint32_t id;
    if (json_new_node(doc, type, &id)) return -1;
    *out = id;
    switch (type) {
    case JSON_OBJECT: return json_container(doc, id, 1);
    case JSON_ARRAY: return json_container(doc, id, 0);
    case JSON_STRING: {
        size_t off, n;
        if (json_string(doc, &off, &n)) return -1;
        doc->nodes[id].str = off;
        doc->nodes[id].str_len = n;
        return 0;
    }
    case JSON_TRUE: return json_literal(doc, "true");
    case JSON_FALSE: return json_literal(doc, "false");
    case JSON_NULL: return json_literal(doc, "null");
    case JSON_NUMBER: {
        double v;
        if (json_number(doc, &v)) return -1;
        doc->nodes[id].number = v;
        return 0;
    }
    }
    return json_fail(doc, "unexpected token");
}

/* Parses src[0..len) as one JSON value (with nothing but white space after it).
 * 0 on success (the root is doc->nodes[0]); -1 with doc->error set. The doc
 * must be freed with json_free() either way. */
static inline int json_parse(json_doc *doc, const char *src, size_t len, int max_depth) {
    memset(doc, 0, sizeof *doc);
    doc->src = src;
    doc->len = len;
    doc->max_depth = max_depth;
    doc->text = (char *)malloc(len + 1);
    if (!doc->text) return json_fail(doc, "out of memory");
    uint32_t root;
    if (json_value(doc, &root)) return -1;
    json_skip_space(doc);
    if (doc->at != len) return json_fail(doc, "trailing characters");
    return 0;
}

static inline const json_node *json_root(const json_doc *doc) {
    return doc->n_nodes ? &doc->nodes[0] : NULL;
}

/* An object's member by name (the last one when a name repeats, as most
 * parsers keep), or NULL. */
static inline const json_node *json_get(const json_doc *doc, const json_node *object, const char *name) {
    if (!object || object->type != JSON_OBJECT) return NULL;
    size_t name_len = strlen(name);
    const json_node *found = NULL;
    for (uint32_t i = object->first_child; i; i = doc->nodes[i].next) {
        const json_node *m = &doc->nodes[i];
        if (m->key_len == name_len && memcmp(doc->text + m->key, name, name_len) == 0) found = m;
    }
    return found;
}

static inline const json_node *json_first(const json_doc *doc, const json_node *parent) {
    return parent && parent->first_child ? &doc->nodes[parent->first_child] : NULL;
}

static inline const json_node *json_next(const json_doc *doc, const json_node *node) {
    return node->next ? &doc->nodes[node->next] : NULL;
}

static inline const char *json_str(const json_doc *doc, const json_node *node) {
    return doc->text + node->str;
}

/* ---- Writer --------------------------------------------------------------- */
typedef struct sbuf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
} sbuf;

static inline void sbuf_free(sbuf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static inline int sbuf_reserve(sbuf *b, size_t extra) {
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *grown = (char *)realloc(b->data, cap);
    if (!grown) {
        b->failed = 1;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

static inline void sbuf_add(sbuf *b, const char *s, size_t n) {
    if (sbuf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void sbuf_str(sbuf *b, const char *s) {
    sbuf_add(b, s, strlen(s));
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void sbuf_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        sbuf_add(b, small, (size_t)n);
        return;
    }
    if (sbuf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The length of the valid UTF-8 character at s (n bytes available), or 0. */
static inline size_t json_utf8_char(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t need;
    uint32_t min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) need = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) need = 4, min = 0x10000;
    else return 0;
    if (n < need) return 0;
    uint32_t cp = c & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return 0;
    return need;
}

/* Appends s[0..n) as a quoted JSON string. */
static inline void sbuf_json_string(sbuf *b, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    sbuf_add(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sbuf_add(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (named) sbuf_add(b, named, 2);
            else sbuf_printf(b, "\\u%04x", c);
            i++;
        } else {
            size_t k = json_utf8_char(u + i, n - i);
            if (k) sbuf_add(b, s + i, k);
            else sbuf_add(b, "\xEF\xBF\xBD", 3); /* U+FFFD for a byte that is no character */
            i += k ? k : 1;
        }
    }
    sbuf_add(b, "\"", 1);
}

/* Appends a parsed value as JSON text, with the separators Python's
 * json.dumps uses (", " and ": "; what DeepSeek's model card feeds the model),
 * strings as UTF-8. Recursion is bounded by the parse's max_depth. */
static inline void json_write(sbuf *b, const json_doc *doc, const json_node *v) {
    switch (v->type) {
    case JSON_NULL: sbuf_str(b, "null"); break;
    case JSON_FALSE: sbuf_str(b, "false"); break;
    case JSON_TRUE: sbuf_str(b, "true"); break;
    case JSON_NUMBER:
        if (v->number > -1e15 && v->number < 1e15 && v->number == (double)(long long)v->number)
            sbuf_printf(b, "%lld", (long long)v->number);
        else if (v->number >= -1.7976931348623157e308 && v->number <= 1.7976931348623157e308)
            sbuf_printf(b, "%.17g", v->number);
        else /* a literal past double's range (1e999) read as infinity: JSON has no such number */
            sbuf_str(b, "null");
        break;
    case JSON_STRING: sbuf_json_string(b, json_str(doc, v), v->str_len); break;
    case JSON_ARRAY:
    case JSON_OBJECT: {
        int object = v->type == JSON_OBJECT;
        sbuf_str(b, object ? "{" : "[");
        for (const json_node *c = json_first(doc, v); c; c = json_next(doc, c)) {
            if (c != json_first(doc, v)) sbuf_str(b, ", ");
            if (object) {
                sbuf_json_string(b, doc->text + c->key, c->key_len);
                sbuf_str(b, ": ");
            }
            json_write(b, doc, c);
        }
        sbuf_str(b, object ? "}" : "]");
        break;
    }
    }
}

#endif
