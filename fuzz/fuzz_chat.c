/* libFuzzer target: dsv3_chat_format and dsv3_chat_format_turns on arbitrary
 * messages (roles, contents with any bytes, R1 reasoning markers, tool calls,
 * tool lists) in every template style, and the buffer-size contract: a
 * too-small buffer reports the size needed, which then fits exactly; turns
 * without calls or tools render as the same messages do.
 *
 *   make fuzz && build/fuzz_chat
 */
#include "dsv3.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Renders into an exact-size buffer after asking for the size; the text, or
 * NULL when the first call fails (its status in *st). */
static char *render(const dsv3_chat_message *messages, const dsv3_chat_turn *turns, size_t n, const dsv3_tool *tools,
                    size_t n_tools, int32_t add_generation, int32_t style, int32_t *st) {
    size_t need = 0, got = 0;
    *st = messages ? dsv3_chat_format(NULL, messages, n, add_generation, style, NULL, 0, &need)
                   : dsv3_chat_format_turns(NULL, turns, n, tools, n_tools, add_generation, style, NULL, 0, &need);
    if (*st != DSV3_ERR_BUFFER_TOO_SMALL && *st != DSV3_OK) return NULL;
    char *out = malloc(need + 1);
    if (!out) return NULL;
    int32_t st2 = messages ? dsv3_chat_format(NULL, messages, n, add_generation, style, out, need + 1, &got)
                           : dsv3_chat_format_turns(NULL, turns, n, tools, n_tools, add_generation, style, out,
                                                    need + 1, &got);
    if (st2 != DSV3_OK || got != need || strlen(out) > need) abort();
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const roles[] = {"system", "user", "assistant", "tool", "narrator"};
    if (size < 2) return 0;
    int32_t style = DSV3_CHAT_DEEPSEEK_V3 + data[0] % 4; /* V3, R1, V3.1, V3.1 thinking */
    int32_t add_generation = (data[0] >> 2) & 1, with_calls = (data[0] >> 3) & 1, with_tools = (data[0] >> 4) & 1;
    /* the rest: messages as [role byte][content ... NUL] */
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    dsv3_chat_message messages[16];
    dsv3_chat_turn turns[16];
    dsv3_tool_call calls[16];
    size_t n = 0, at = 0;
    while (at < size - 1 && n < 16) {
        uint8_t role = (uint8_t)text[at];
        messages[n].role = roles[role % 5];
        messages[n].content = text + at + 1 < text + size - 1 ? text + at + 1 : text + size - 1;
        /* an assistant turn may call a tool named by its content, with its content as arguments too */
        calls[n].name = messages[n].content;
        calls[n].arguments = messages[n].content;
        turns[n].role = messages[n].role;
        turns[n].content = with_calls && (role & 0x80) ? NULL : messages[n].content;
        turns[n].tool_calls = with_calls && !strcmp(turns[n].role, "assistant") ? &calls[n] : NULL;
        turns[n].n_tool_calls = turns[n].tool_calls ? 1 : 0;
        at += 2 + strlen(messages[n].content);
        n++;
    }
    const dsv3_tool tools[2] = {{n ? messages[0].content : "f", NULL, NULL}, {"g", "a tool", "{\"type\": \"object\"}"}};
    int32_t st_messages = 0, st_turns = 0;
    char *plain = render(messages, NULL, n, NULL, 0, add_generation, style, &st_messages);
    char *rendered = render(NULL, turns, n, with_tools ? tools : NULL, with_tools ? 2 : 0, add_generation, style,
                            &st_turns);
    if (!with_calls && !with_tools && (st_messages != st_turns || (plain && rendered && strcmp(plain, rendered))))
        abort();
    free(plain);
    free(rendered);
    free(text);
    return 0;
}
