/* libFuzzer target: dsv3-server's request parsing (examples/server_http.h)
 * and JSON reader and writer (examples/json.h), on arbitrary bytes. Needs no
 * model and not the library.
 *
 *   make fuzz && build/fuzz_http -dict=fuzz/http.dict fuzz/corpus/http
 *
 * The input is parsed as a request head (with small limits, so that both the
 * 431 and 413 paths are reached), its body (what follows the head, or the
 * whole input) as JSON. Properties checked, beyond memory safety:
 *   - a complete head lies within the input and its body length within the
 *     limit; the parser's answer does not change when more bytes follow a
 *     complete head;
 *   - every string the reader decodes, written back by sbuf_json_string(),
 *     reads back as the same bytes when it was valid UTF-8 without NUL (and
 *     as valid JSON always);
 *   - the tree's links stay within the node array and child counts match;
 *   - a parsed document written back by json_write() parses again, and
 *     writes the same text a second time;
 *   - a tool call's text (examples/tool_calls.h), split at any offset, gives
 *     name and arguments within it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "examples/json.h"
#include "examples/server_http.h"
#include "examples/tool_calls.h"

/* Valid UTF-8 with no NUL: the bytes sbuf_json_string() keeps as they are. */
static int plain_utf8(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (!s[i]) return 0;
        size_t k = json_utf8_char((const unsigned char *)s + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

static void check_round_trip(const char *s, size_t n) {
    sbuf out = {0};
    sbuf_json_string(&out, s, n);
    if (out.failed) {
        sbuf_free(&out);
        return;
    }
    json_doc back;
    if (json_parse(&back, out.data, out.len, 4) != 0 || json_root(&back)->type != JSON_STRING) abort();
    const json_node *v = json_root(&back);
    if (plain_utf8(s, n) && (v->str_len != n || memcmp(json_str(&back, v), s, n) != 0)) abort();
    json_free(&back);
    sbuf_free(&out);
}

static void walk(const json_doc *doc, const json_node *node, int depth) {
    if (depth > 64) abort(); /* the reader's limit is 16 here */
    if (node->type == JSON_STRING) check_round_trip(json_str(doc, node), node->str_len);
    if (node->type != JSON_ARRAY && node->type != JSON_OBJECT) return;
    uint32_t count = 0;
    for (const json_node *c = json_first(doc, node); c; c = json_next(doc, c)) {
        if ((size_t)(c - doc->nodes) >= doc->n_nodes) abort();
        if (node->type == JSON_OBJECT) {
            check_round_trip(doc->text + c->key, c->key_len);
            if (json_get(doc, node, doc->text + c->key) == NULL && strlen(doc->text + c->key) == c->key_len) abort();
        }
        walk(doc, c, depth + 1);
        count++;
    }
    if (count != node->n_children) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    http_request req;
    int rc = http_parse_head(text, size, 1024, 512, &req);
    const char *body = text;
    size_t body_len = size;
    if (rc == HTTP_COMPLETE) {
        if (req.head_len > size || req.content_length > 512 || !req.method[0] || !req.path[0]) abort();
        body = text + req.head_len;
        body_len = size - req.head_len;
        /* Bytes after the head are the body's: they change nothing above. */
        http_request again;
        if (http_parse_head(text, req.head_len, 1024, 512, &again) != HTTP_COMPLETE || memcmp(&again, &req, sizeof req))
            abort();
    } else if (rc != HTTP_NEED_MORE && rc != -400 && rc != -413 && rc != -431 && rc != -501 && rc != -505) {
        abort();
    }
    (void)http_secret_equal("secret", req.authorization);

    json_doc doc;
    if (json_parse(&doc, body, body_len, 16) == 0) {
        walk(&doc, json_root(&doc), 0);
        sbuf once = {0}, twice = {0};
        json_write(&once, &doc, json_root(&doc));
        json_doc back;
        if (!once.failed) {
            if (json_parse(&back, once.data, once.len, 16) != 0) abort();
            json_write(&twice, &back, json_root(&back));
            if (!twice.failed && (twice.len != once.len || memcmp(twice.data, once.data, once.len))) abort();
            json_free(&back);
        }
        sbuf_free(&once);
        sbuf_free(&twice);
    }
    json_free(&doc);

    tool_call_span span;
    size_t sep = size ? data[0] % (size + 1) : 0;
    if (tool_call_split(text, size, sep, &span) == 0 &&
        (span.name_len == 0 || span.name + span.name_len > size || span.arguments + span.arguments_len > size))
        abort();
    return 0;
}
