/* libFuzzer target: dsv3_chat_format on arbitrary messages (roles, contents
 * with any bytes, R1 reasoning markers) in both template styles, and the
 * buffer-size contract: a too-small buffer reports the size needed, which then
 * fits exactly.
 *
 *   make fuzz && build/fuzz_chat
 */
#include "dsv3.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const roles[] = {"system", "user", "assistant", "tool", "narrator"};
    if (size < 2) return 0;
    int32_t style = data[0] % 2 ? DSV3_CHAT_DEEPSEEK_R1 : DSV3_CHAT_DEEPSEEK_V3;
    int32_t add_generation = (data[0] >> 1) & 1;
    /* the rest: messages as [role byte][content ... NUL] */
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    dsv3_chat_message messages[16];
    size_t n = 0, at = 0;
    while (at < size - 1 && n < 16) {
        messages[n].role = roles[(uint8_t)text[at] % 5];
        messages[n].content = text + at + 1 < text + size - 1 ? text + at + 1 : text + size - 1;
        at += 2 + strlen(messages[n].content);
        n++;
    }
    size_t need = 0;
    int32_t st = dsv3_chat_format(NULL, messages, n, add_generation, style, NULL, 0, &need);
    if (st == DSV3_ERR_BUFFER_TOO_SMALL || st == DSV3_OK) {
        char *out = malloc(need + 1);
        size_t got = 0;
        if (out) {
            int32_t st2 = dsv3_chat_format(NULL, messages, n, add_generation, style, out, need + 1, &got);
            if (st2 != DSV3_OK || got != need) abort();
            free(out);
        }
    }
    free(text);
    return 0;
}
