/* dsv3-simple: the smallest complete program. Loads a model, tokenizes a
 * prompt, generates up to N tokens and prints the text as it comes.
 *
 *     build/dsv3-simple MODEL.gguf ["PROMPT"] [N]
 */
#include "dsv3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Called for every generated token with its newly completed text. */
static int32_t print_text(void *user, int32_t token, const char *text, size_t len) {
    (void)user;
    (void)token;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0; /* non-zero would stop generating */
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [PROMPT] [N]\n", argv[0]);
        return 2;
    }
    const char *prompt = argc > 2 ? argv[2] : "Once upon a time";
    int32_t n_predict = argc > 3 ? atoi(argv[3]) : 32;

    char error[256];
    dsv3_model *model = NULL;
    if (dsv3_model_load(argv[1], NULL, &model, error, sizeof error) != DSV3_OK) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    dsv3_context *ctx = NULL;
    int32_t tokens[1024];
    size_t n_tokens = 0;
    int32_t status = dsv3_context_create(model, NULL, &ctx);
    if (status == DSV3_OK) /* add BOS; parse special token strings */
        status = dsv3_tokenize(model, prompt, strlen(prompt), 1, 1, tokens, 1024, &n_tokens);
    if (status == DSV3_OK) status = dsv3_prefill(ctx, tokens, n_tokens, NULL);

    if (status == DSV3_OK) {
        dsv3_generate_params params;
        dsv3_generate_default_params(&params); /* default sampling, stops at EOS */
        params.max_tokens = n_predict;
        params.on_token = print_text;
        int32_t why;
        size_t n_generated;
        fputs(prompt, stdout);
        status = dsv3_generate(ctx, &params, &why, &n_generated);
        printf("\n");
        fflush(stdout); /* before the line on stderr, which may go to the same file */
        fprintf(stderr, "%zu tokens, stopped by %s\n", n_generated,
                why == DSV3_STOP_END_TOKEN ? "end of text" : why == DSV3_STOP_MAX_TOKENS ? "the limit"
                : why == DSV3_STOP_CONTEXT_FULL ? "a full context" : "an error");
    }
    if (status != DSV3_OK)
        fprintf(stderr, "error: %s: %s\n", dsv3_status_string(status), dsv3_context_last_error(ctx));
    dsv3_context_free(ctx);
    dsv3_model_free(model);
    return status == DSV3_OK ? 0 : 1;
}
