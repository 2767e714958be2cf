/* dsv3.h - run DeepSeek-V3-architecture language models on the CPU.
 *
 * The one public header of dsv3 (MIT licence, see LICENSE). Pair it with dsv3.c.
 *
 * Objects
 *   dsv3_model    weights mapped read-only from a GGUF file, and the tokenizer.
 *                 Immutable after load: any number of contexts, in any number of
 *                 threads, may share one.
 *   dsv3_context  one conversation: the latent KV cache, the position, scratch.
 *                 A context is used by one thread at a time.
 *
 * Conventions
 *   - Functions that can fail return an int32_t status: DSV3_OK (0) or a negative
 *     DSV3_ERR_* code. dsv3_status_string() names a code; a context keeps a
 *     detailed message of its last failure (dsv3_context_last_error()); a failed
 *     load writes its message to the caller's buffer.
 *   - Sizes and counts are size_t, token ids int32_t, flags int32_t (0 or 1).
 *   - Parameter structs are filled in place by *_default_params() and carry their
 *     own size (struct_size) so that a caller compiled against an older header
 *     keeps working with a newer library.
 *   - The library never prints, aborts or exits, and has no global mutable state.
 *     Logging goes to the callback in the model params, if any.
 *   - Free functions accept NULL.
 */
#ifndef DSV3_H
#define DSV3_H

#include <stddef.h>
#include <stdint.h>

#define DSV3_VERSION_MAJOR 0
#define DSV3_VERSION_MINOR 1
#define DSV3_VERSION_PATCH 0
#define DSV3_VERSION_NUMBER \
    (DSV3_VERSION_MAJOR * 10000 + DSV3_VERSION_MINOR * 100 + DSV3_VERSION_PATCH)

/* DSV3_API marks the public functions. Windows: define DSV3_SHARED both when
   building dsv3.dll and when using it (dllexport/dllimport); leave it undefined
   for a static library or for compiling dsv3.c into the program. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(DSV3_SHARED) && defined(DSV3_BUILD)
#    define DSV3_API __declspec(dllexport)
#  elif defined(DSV3_SHARED)
#    define DSV3_API __declspec(dllimport)
#  else
#    define DSV3_API
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define DSV3_API __attribute__((visibility("default")))
#else
#  define DSV3_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes (values are part of the ABI and never change) ---------- */
#define DSV3_OK                      0
#define DSV3_ERR_INVALID_ARGUMENT   -1  /* NULL pointer, bad size, bad params     */
#define DSV3_ERR_OUT_OF_MEMORY      -2
#define DSV3_ERR_IO                 -3  /* cannot open, stat, map or read a file  */
#define DSV3_ERR_BAD_FILE           -4  /* not GGUF, truncated, corrupt layout    */
#define DSV3_ERR_UNSUPPORTED        -5  /* valid file, but an architecture, tensor
                                           type or feature dsv3 does not run      */
#define DSV3_ERR_BAD_MODEL          -6  /* missing/misshaped tensor, inconsistent
                                           hyperparameters                        */
#define DSV3_ERR_CONTEXT_FULL       -7  /* no room left for the tokens given      */
#define DSV3_ERR_TOKEN_OUT_OF_RANGE -8  /* token id < 0 or >= n_vocab             */
#define DSV3_ERR_BUFFER_TOO_SMALL   -9
#define DSV3_ERR_ABORTED           -10  /* a progress or abort callback asked to stop */

/* A static English description of a status code; never NULL. */
DSV3_API const char *dsv3_status_string(int32_t status);

/* DSV3_VERSION_NUMBER of the compiled library, to catch a mismatched .so. */
DSV3_API uint32_t dsv3_version(void);

/* ---- Model --------------------------------------------------------------- */
typedef struct dsv3_model dsv3_model;

#define DSV3_LOG_ERROR 0
#define DSV3_LOG_WARN  1
#define DSV3_LOG_INFO  2

typedef void (*dsv3_log_fn)(void *user, int32_t level, const char *message);
/* Allocation hooks: both or neither. free_fn receives what alloc returned. */
typedef void *(*dsv3_alloc_fn)(void *user, size_t size);
typedef void (*dsv3_free_fn)(void *user, void *ptr);
/* Load progress: fraction runs from 0 to 1 (1 when the model is ready). Return
 * non-zero to cancel the load, which then fails with DSV3_ERR_ABORTED. */
typedef int32_t (*dsv3_progress_fn)(void *user, float fraction);

/* How MoE layers choose experts when a file has no expert_group_count keys. */
#define DSV3_GROUPS_AUTO       0 /* DeepSeek-V3's own rule: a 256-expert sigmoid
                                    model with a routing bias uses 8 groups, top 4 */
#define DSV3_GROUPS_FILE_ONLY  1 /* llama.cpp's behaviour: no group limiting
                                    unless the file has the keys                  */

typedef struct dsv3_model_params {
    uint32_t      struct_size;  /* sizeof(dsv3_model_params) as the caller built it */
    int32_t       use_mmap;     /* 1 (default): map the file; 0: read it into memory */
    int32_t       expert_groups;/* DSV3_GROUPS_AUTO (default) or DSV3_GROUPS_FILE_ONLY */
    float         yarn_beta_fast; /* > 0 overrides; 0: the file's
                                   rope.scaling.yarn_beta_fast, or 32 (as
                                   llama.cpp) when absent */
    float         yarn_beta_slow; /* likewise; the default is 1 */
    dsv3_log_fn   log;          /* NULL: silent */
    dsv3_alloc_fn alloc;        /* NULL: malloc */
    dsv3_free_fn  free_fn;      /* NULL: free */
    void         *user;         /* passed to log, alloc and free_fn */
    int32_t       float_activations; /* 0 (default): products with quantized weights
                                   (every type but F32, F16 and BF16) quantize the
                                   activations to 8 bits and use integer dot
                                   products (fast, as llama.cpp);
                                   1: dequantize and multiply in float (exact) */
    int32_t       ignore_expert_bias; /* 1: route without exp_probs_b (to see what
                                   DeepSeek-V3's bias-based load balancing does) */
    int32_t       vocab_only;   /* 1: load only the tokenizer (tokenizer.ggml.*
                                   metadata) from a file of any architecture,
                                   with or without tensors. Such a model
                                   tokenizes and decodes; contexts refuse it. */
    dsv3_progress_fn progress;  /* NULL: none. Called with `user` on the loading
                                   thread a few times: after the header is
                                   parsed, as layers are bound, and with 1 at
                                   the end */
} dsv3_model_params;

DSV3_API void dsv3_model_default_params(dsv3_model_params *out);

/* Loads a "deepseek2"-architecture GGUF file (v2 or v3), and its tokenizer when
 * the file has one (tokenizer.ggml.* metadata with merges). params may be NULL for
 * defaults. On success *out_model is set and DSV3_OK returned; on failure
 * *out_model is NULL and, when error_message is not NULL, a NUL-terminated
 * description (which key, tensor or byte offset) is written into it. */
DSV3_API int32_t dsv3_model_load(const char *path, const dsv3_model_params *params,
                                 dsv3_model **out_model,
                                 char *error_message, size_t error_message_size);

/* The same from a GGUF image in memory. The bytes are not copied: they must stay
 * valid and unchanged until dsv3_model_free(). */
DSV3_API int32_t dsv3_model_load_memory(const void *data, size_t size,
                                        const dsv3_model_params *params,
                                        dsv3_model **out_model,
                                        char *error_message, size_t error_message_size);

/* Frees the model. Every context created from it must be freed first. */
DSV3_API void dsv3_model_free(dsv3_model *model);

/* Model facts. Token ids are -1 where the file names none. */
DSV3_API size_t  dsv3_model_n_vocab(const dsv3_model *model);
DSV3_API size_t  dsv3_model_n_ctx_train(const dsv3_model *model);
DSV3_API int32_t dsv3_model_token_bos(const dsv3_model *model);
DSV3_API int32_t dsv3_model_token_eos(const dsv3_model *model);
DSV3_API int32_t dsv3_model_token_pad(const dsv3_model *model);
/* 1 when the model has a tokenizer (dsv3_tokenize and the decoders work), else 0. */
DSV3_API int32_t dsv3_model_has_tokenizer(const dsv3_model *model);

/* Bytes of weights one decoded token reads: every layer's attention, dense and
 * shared-expert weights, expert_used_count routed experts per MoE layer, the
 * routers, the output head and one embedding row. Decode speed is bounded by
 * memory bandwidth divided by this. */
DSV3_API uint64_t dsv3_model_active_bytes(const dsv3_model *model);

/* Hyperparameters as dsv3 runs them (after defaults and overrides). */
typedef struct dsv3_hparams {
    uint32_t struct_size;          /* set by the caller to sizeof(dsv3_hparams) */
    uint32_t n_vocab, n_ctx_train, n_embd;
    uint32_t n_layer;              /* main layers (block_count - n_layer_nextn) */
    uint32_t n_head;
    uint32_t q_lora_rank;          /* 0: plain attn_q projection */
    uint32_t kv_lora_rank;
    uint32_t qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
    uint32_t n_ff;                 /* dense FFN width */
    uint32_t n_ff_expert;          /* one routed (and shared) expert's width */
    uint32_t n_layer_dense_lead;
    uint32_t n_expert, n_expert_used, n_expert_shared;
    uint32_t n_expert_groups, n_expert_groups_used;
    uint32_t expert_gating;        /* 1 softmax, 2 sigmoid */
    uint32_t expert_weights_norm;  /* 0 or 1 */
    uint32_t has_expert_bias;      /* 0 or 1 */
    uint32_t split_kv_b;           /* 1: attn_k_b + attn_v_b; 0: legacy attn_kv_b */
    uint32_t rope_yarn;            /* 1 when YaRN scaling is active */
    float    expert_weights_scale;
    float    rms_norm_eps;
    float    rope_freq_base;
    float    rope_scaling_factor;  /* 1 when unscaled */
    uint32_t rope_orig_ctx;
    float    yarn_beta_fast, yarn_beta_slow;
    float    yarn_mscale_all_dim;
    float    attn_scale;           /* the softmax scale actually used */
    uint32_t n_layer_nextn;        /* multi-token-prediction layers in the file
                                      (after the n_layer main ones; not run) */
} dsv3_hparams;

/* Fills *out up to out->struct_size bytes (set it first). */
DSV3_API int32_t dsv3_model_hparams(const dsv3_model *model, dsv3_hparams *out);

/* ---- Tokenizer ------------------------------------------------------------
 * DeepSeek's byte-level BPE, loaded from the GGUF file's tokenizer.ggml.*
 * metadata (pre-tokenizers "deepseek-v3" and "deepseek-llm"). Exact to the
 * Hugging Face tokenizer of the model. Everything here reads the model only:
 * any number of threads may tokenize and decode with one model at once. Models
 * without a tokenizer return DSV3_ERR_UNSUPPORTED. */

/* Text -> token ids. text: text_len bytes of UTF-8 (need not be NUL-terminated;
 * invalid UTF-8 is accepted and encoded byte by byte, so every input gives ids
 * that decode back to the same bytes).
 * add_bos: prepend BOS when the vocabulary asks for one (add_bos_token).
 * parse_special: 1 turns added-token strings in the text (<｜User｜>,
 *   <｜end▁of▁sentence｜>, ...) into their ids, as Hugging Face's tokenizer does;
 *   0 encodes them as plain text (use 0 for untrusted content). Added tokens of
 *   type USER_DEFINED (R1's <think>) are matched either way, as in llama.cpp.
 * *n_tokens receives the number of ids the text needs. When that exceeds
 * max_tokens, the first max_tokens are written and DSV3_ERR_BUFFER_TOO_SMALL
 * returned: call again with a buffer of *n_tokens. tokens may be NULL when
 * max_tokens is 0 (to ask for the count). */
DSV3_API int32_t dsv3_tokenize(const dsv3_model *model, const char *text, size_t text_len,
                               int32_t add_bos, int32_t parse_special,
                               int32_t *tokens, size_t max_tokens, size_t *n_tokens);

/* The bytes of one token (not NUL-terminated; may be part of a UTF-8 character).
 * render_special: 1 gives control tokens (BOS, EOS, <｜User｜>, ...) as their
 * text, 0 as nothing. *n_bytes receives the length; when it exceeds buf_size,
 * nothing is written and DSV3_ERR_BUFFER_TOO_SMALL returned.
 * DSV3_ERR_TOKEN_OUT_OF_RANGE for ids outside the vocabulary. */
DSV3_API int32_t dsv3_token_to_piece(const dsv3_model *model, int32_t token, int32_t render_special,
                                     char *buf, size_t buf_size, size_t *n_bytes);

/* Streaming decoder: turns tokens into text as they are generated and never
 * splits a UTF-8 character: bytes that start a character the next token may
 * complete are held back (at most 3). Caller-allocated, no cleanup needed;
 * one decoder per stream. The fields are private.
 *
 *     dsv3_decoder dec; char text[256]; size_t n;
 *     dsv3_decoder_init(&dec, 0);
 *     for each generated token t:
 *         if (dsv3_decoder_push(model, &dec, t, text, sizeof text, &n) == DSV3_OK)
 *             fwrite(text, 1, n, stdout);
 *     dsv3_decoder_flush(&dec, text, sizeof text, &n); fwrite(text, 1, n, stdout);
 */
typedef struct dsv3_decoder {
    uint8_t  pending[4];     /* held-back bytes of an incomplete character */
    uint32_t n_pending;
    int32_t  render_special; /* as in dsv3_token_to_piece */
    uint32_t reserved[4];
} dsv3_decoder;

DSV3_API void dsv3_decoder_init(dsv3_decoder *decoder, int32_t render_special);
/* Appends a token's bytes and writes out what is now complete text (*n_bytes
 * may be 0). Bytes that can never form a character (invalid UTF-8) are passed
 * through as they are. Needs at most 3 + (the token's length) bytes of buf;
 * on DSV3_ERR_BUFFER_TOO_SMALL (*n_bytes = the size needed) the decoder is
 * unchanged, so the call can be repeated with a larger buffer. */
DSV3_API int32_t dsv3_decoder_push(const dsv3_model *model, dsv3_decoder *decoder, int32_t token,
                                   char *buf, size_t buf_size, size_t *n_bytes);
/* Writes out any held-back bytes (an unfinished character) and resets the
 * decoder. buf_size 4 always suffices. */
DSV3_API int32_t dsv3_decoder_flush(dsv3_decoder *decoder, char *buf, size_t buf_size, size_t *n_bytes);

/* Chat formatting: messages -> the prompt text DeepSeek's chat template makes
 * (encode it with parse_special = 1 and add_bos = 0: the text starts with BOS).
 * role: "system", "user", "assistant" or "tool"; role and content are
 * NUL-terminated UTF-8. System messages are joined by "\n\n" and placed right
 * after BOS; each user turn is <｜User｜>content, each assistant turn
 * <｜Assistant｜>content<｜end▁of▁sentence｜>; add_generation_prompt ends with
 * <｜Assistant｜>. The DeepSeek-R1 template also keeps only the text after the
 * last </think> of earlier assistant turns and opens the answer with
 * "<think>\n".
 * DeepSeek-V3.1's template opens an answer that follows a user turn with
 * <｜Assistant｜></think> (non-thinking; <｜Assistant｜><think> thinking), keeps
 * what follows the first </think> of earlier answers, and gives tool outputs
 * no outer markers (dsv3_chat_format_turns for its tool calls).
 * style: DSV3_CHAT_AUTO picks V3.1 when the file's chat template holds
 * <｜Assistant｜></think>, else R1 when it mentions </think> (model may then
 * not be NULL), else V3; or force one of the styles below (model may be NULL:
 * BOS is <｜begin▁of▁sentence｜>). Tool calls: dsv3_chat_format_turns below.
 * *n_out receives the length (no NUL is counted); the text is NUL-terminated
 * when out_size > *n_out. DSV3_ERR_BUFFER_TOO_SMALL when out_size <= *n_out.
 * DSV3_ERR_INVALID_ARGUMENT for an unknown role or NULL strings. */
#define DSV3_CHAT_AUTO                  0
#define DSV3_CHAT_DEEPSEEK_V3           1
#define DSV3_CHAT_DEEPSEEK_R1           2
#define DSV3_CHAT_DEEPSEEK_V31          3 /* V3.1, non-thinking (its template's default) */
#define DSV3_CHAT_DEEPSEEK_V31_THINKING 4 /* V3.1, thinking: the answer opens with <think> */

/* The style DSV3_CHAT_AUTO picks for this model's file (DSV3_CHAT_DEEPSEEK_V3
 * without a tokenizer): e.g. to offer V3.1's thinking mode. */
DSV3_API int32_t dsv3_model_chat_style(const dsv3_model *model);

typedef struct dsv3_chat_message {
    const char *role;
    const char *content;
} dsv3_chat_message;

DSV3_API int32_t dsv3_chat_format(const dsv3_model *model, const dsv3_chat_message *messages,
                                  size_t n_messages, int32_t add_generation_prompt, int32_t style,
                                  char *out, size_t out_size, size_t *n_out);

/* Tool calls, in DeepSeek's tool-call tokens. An assistant turn may carry
 * calls: with content NULL it renders as the V3 template renders one,
 *   <｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
 *   ```json
 *   ARGUMENTS
 *   ```<｜tool▁call▁end｜>
 * further calls after "\n", closed by <｜tool▁calls▁end｜><｜end▁of▁sentence｜>
 * (the original template writes that closer only after a second call, a quirk
 * its later revisions fixed: here it always closes the turn, as the model
 * generates it); with content, the content comes first (as DeepSeek's later
 * templates do). Tool results are "tool" turns, as in dsv3_chat_format.
 * tools: the functions the model may call, listed after the system prompt as
 * DeepSeek-V3.1's model card lays them out ("\n\n## Tools\nYou have access to
 * the following tools:\n\n### NAME\nDescription: ...\n\nParameters: SCHEMA\n"
 * and the call format to use); V3's own template lists none. The V3.1 styles
 * write calls as V3.1's template does: after a user turn
 * <｜Assistant｜></think>, content if any, then <｜tool▁calls▁begin｜> and per
 * call <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGUMENTS<｜tool▁call▁end｜>, no
 * separators, closed by <｜tool▁calls▁end｜><｜end▁of▁sentence｜>. */
typedef struct dsv3_tool_call {
    const char *name;      /* the function's name */
    const char *arguments; /* its arguments: JSON text */
} dsv3_tool_call;

typedef struct dsv3_tool {
    const char *name;        /* the function's name */
    const char *description; /* NULL: none */
    const char *parameters;  /* JSON Schema of the arguments as JSON text; NULL: {} */
} dsv3_tool;

typedef struct dsv3_chat_turn {
    const char *role;                  /* as in dsv3_chat_message */
    const char *content;               /* NULL only for an assistant turn with tool calls */
    const dsv3_tool_call *tool_calls;  /* assistant turns only; NULL when n_tool_calls is 0 */
    size_t n_tool_calls;
} dsv3_chat_turn;

/* dsv3_chat_format with tool calls and tool definitions (tools may be NULL
 * when n_tools is 0). Without either it gives dsv3_chat_format's text. */
DSV3_API int32_t dsv3_chat_format_turns(const dsv3_model *model, const dsv3_chat_turn *turns, size_t n_turns,
                                        const dsv3_tool *tools, size_t n_tools, int32_t add_generation_prompt,
                                        int32_t style, char *out, size_t out_size, size_t *n_out);

/* ---- Context ------------------------------------------------------------- */
typedef struct dsv3_context dsv3_context;

/* Polled during long computations (see dsv3_context_params.abort_cb), e.g. to
 * keep a game's frame time: return non-zero to stop. */
typedef int32_t (*dsv3_abort_fn)(void *user);

/* Element type of the latent KV cache. */
#define DSV3_KV_F32  0
#define DSV3_KV_F16  1
#define DSV3_KV_BF16 2
#define DSV3_KV_Q8_0 3

typedef struct dsv3_context_params {
    uint32_t struct_size;  /* sizeof(dsv3_context_params) as the caller built it */
    uint32_t n_ctx;        /* positions the cache holds; 0: min(4096, n_ctx_train).
                              The cache is reserved whole but its memory is
                              committed as positions fill (with the default
                              allocator), so a large n_ctx costs little until used */
    uint32_t n_batch;      /* most tokens one prefill pass works on (default 512,
                              the fastest measured; at most n_ctx); longer prefills
                              are split. Scratch grows with it, mostly float
                              copies of 5 n_embd + n_head (qk + v head dims) + 2 x
                              the widest FFN per token: ~0.5 MB per token for
                              DeepSeek-V3 (~250 MB at 512), ~0.17 MB for the
                              bench models (~87 MB) */
    int32_t  n_threads;    /* 0 (default): one per hardware thread; at most 1024,
                              and 1 in a build with DSV3_NO_THREADS. The context's
                              thread pool splits rows, heads and experts (logits do
                              not depend on the count) */
    int32_t  kv_type;      /* DSV3_KV_F16 (default: half the memory of F32, relative
                              logit error ~1e-3), DSV3_KV_F32 (exact), DSV3_KV_BF16
                              or DSV3_KV_Q8_0 (53% of F16's bytes: 612 per layer and
                              position at DeepSeek-V3's dims; error ~1e-2) */
    uint64_t seed;         /* seed of the context's sampling generator (default 1) */
    dsv3_abort_fn abort_cb;/* NULL (default): never abort. Polled with abort_user
                              before every layer of dsv3_prefill, dsv3_step and
                              dsv3_generate, on the thread that called them;
                              non-zero stops the call with DSV3_ERR_ABORTED */
    void    *abort_user;
    uint32_t min_parallel_work; /* a product is split across threads only when each
                              thread gets at least this many multiply-adds
                              (waking a thread costs about as much); 0: the
                              default, 65536. 1 splits everything */
} dsv3_context_params;

DSV3_API void dsv3_context_default_params(dsv3_context_params *out);

/* Creates a context: allocates the whole KV cache and scratch now, so the token
 * loop never allocates. params may be NULL for defaults. */
DSV3_API int32_t dsv3_context_create(const dsv3_model *model,
                                     const dsv3_context_params *params,
                                     dsv3_context **out_context);
DSV3_API void dsv3_context_free(dsv3_context *ctx);

/* Feeds one token at the current position and advances it. *out_logits (may be
 * NULL) receives n_vocab floats, valid until the next call on this context.
 * On error nothing changes: DSV3_ERR_CONTEXT_FULL, DSV3_ERR_TOKEN_OUT_OF_RANGE,
 * DSV3_ERR_ABORTED (abort_cb). */
DSV3_API int32_t dsv3_step(dsv3_context *ctx, int32_t token, const float **out_logits);

/* Feeds n_tokens tokens at once and advances the position by n_tokens.
 * all_logits: NULL, or room for n_tokens * n_vocab floats that receive the logits
 * of every position in order. The last position's logits are then available from
 * dsv3_context_logits(). All tokens are checked before any work is done.
 * When abort_cb stops it (DSV3_ERR_ABORTED), the context is as it was before
 * the call (position, tokens, logits; only the expert counts keep the work
 * done) and the contents of all_logits are unspecified. */
DSV3_API int32_t dsv3_prefill(dsv3_context *ctx, const int32_t *tokens, size_t n_tokens,
                              float *all_logits);

/* The logits of the last position evaluated (n_vocab floats), NULL if none. */
DSV3_API const float *dsv3_context_logits(const dsv3_context *ctx);

/* Truncates the context to its first n_pos positions (n_pos <= position): the
 * cached prefix is kept and the next token is fed at position n_pos. */
DSV3_API int32_t dsv3_context_rewind(dsv3_context *ctx, size_t n_pos);

DSV3_API size_t dsv3_context_position(const dsv3_context *ctx);
DSV3_API size_t dsv3_context_n_ctx(const dsv3_context *ctx);
/* Bytes of KV cache one position takes, over all layers. */
DSV3_API size_t dsv3_context_kv_bytes_per_token(const dsv3_context *ctx);
/* Detailed message of the context's last failure ("" if none); never NULL. */
DSV3_API const char *dsv3_context_last_error(const dsv3_context *ctx);
/* The tokens fed so far (dsv3_context_position() of them); valid until the next
 * call that changes the context. NULL when empty. */
DSV3_API const int32_t *dsv3_context_tokens(const dsv3_context *ctx);

/* Expert-load telemetry: how many tokens each routed expert of MoE layer `layer`
 * (0-based over all layers; dense layers report zeros) received since the context
 * was created or the counts were reset. counts receives n_counts values, which
 * must be at least the model's expert count. */
DSV3_API int32_t dsv3_context_expert_counts(const dsv3_context *ctx, uint32_t layer, uint64_t *counts,
                                            size_t n_counts);
DSV3_API int32_t dsv3_context_reset_expert_counts(dsv3_context *ctx);

/* ---- State ---------------------------------------------------------------- */
/* A context's state (tokens, position, the filled part of the KV cache, the last
 * logits and the sampling generator) as bytes, to resume a conversation later or
 * in another process, or to cache a long system prompt. The format is versioned
 * and checksummed, and names the model it belongs to: restoring into a context
 * of another model file, with another KV cache type, or too short a context
 * fails with a clear error and leaves the context unchanged. */
DSV3_API size_t  dsv3_context_state_size(const dsv3_context *ctx);
/* Writes the state into buf; DSV3_ERR_BUFFER_TOO_SMALL (and *n_written = the
 * size needed) when buf_size is too small. */
DSV3_API int32_t dsv3_context_state_save(const dsv3_context *ctx, void *buf, size_t buf_size, size_t *n_written);
DSV3_API int32_t dsv3_context_state_load(dsv3_context *ctx, const void *buf, size_t size);
DSV3_API int32_t dsv3_context_state_save_file(const dsv3_context *ctx, const char *path);
DSV3_API int32_t dsv3_context_state_load_file(dsv3_context *ctx, const char *path);

/* ---- Sampling ------------------------------------------------------------ */
/* Applied in this order: repetition/presence penalties over the last
 * penalty_window tokens of the context, temperature, top-k, top-p (nucleus),
 * min-p, then a draw from the context's seeded generator. The same seed, inputs
 * and params give the same tokens on every run and any thread count. */
typedef struct dsv3_sampling_params {
    uint32_t struct_size;      /* sizeof(dsv3_sampling_params) as the caller built it */
    float    temperature;      /* <= 0: greedy (argmax). Default 0.8 */
    int32_t  top_k;            /* keep the k most likely; 0: off. Default 40 */
    float    top_p;            /* keep the smallest set with this much mass; 1: off. Default 0.95 */
    float    min_p;            /* drop tokens below min_p * the top probability; 0: off. Default 0.05 */
    float    repeat_penalty;   /* divide positive (multiply negative) logits of recent tokens; 1: off (default) */
    float    presence_penalty; /* subtract from logits of recent tokens; 0: off (default) */
    int32_t  penalty_window;   /* how many recent tokens the penalties look at. Default 64 */
} dsv3_sampling_params;

DSV3_API void dsv3_sampling_default_params(dsv3_sampling_params *out);

/* Picks the next token from logits (n_vocab floats: the context's own, from
 * dsv3_context_logits(), or any array the host has modified, e.g. with biases or
 * a grammar mask; -INFINITY removes a token). params NULL: defaults. The logits
 * are not modified. Advances the context's generator. */
DSV3_API int32_t dsv3_sample(dsv3_context *ctx, const dsv3_sampling_params *params, const float *logits,
                             int32_t *out_token);

/* Reseeds the context's sampling generator. */
DSV3_API int32_t dsv3_context_set_seed(dsv3_context *ctx, uint64_t seed);

/* ---- Generation ---------------------------------------------------------- */
/* Why dsv3_generate() stopped (values are part of the ABI). */
#define DSV3_STOP_ERROR        0 /* it returned an error (e.g. DSV3_ERR_ABORTED)       */
#define DSV3_STOP_END_TOKEN    1 /* sampled EOS or one of stop_tokens                 */
#define DSV3_STOP_STRING       2 /* the text reached one of stop_strings              */
#define DSV3_STOP_MAX_TOKENS   3 /* generated max_tokens tokens                       */
#define DSV3_STOP_CALLBACK     4 /* on_token returned non-zero                        */
#define DSV3_STOP_CONTEXT_FULL 5 /* no room left in the context for the next token    */

/* Receives each generated token and the text it completes. text: text_len bytes
 * of whole UTF-8 characters (NUL-terminated, valid only during the call; may be
 * empty: a token can end half a character, and text that could be the start of
 * a stop string is held back until it is known not to be). Control tokens give
 * no text, and neither does a model without a tokenizer. Return non-zero to stop
 * after this token. After the last token, one more call with token = -1 hands
 * over text still held back, if any (its return value is ignored). It may read
 * the context (position, tokens) but must not change it. */
typedef int32_t (*dsv3_token_fn)(void *user, int32_t token, const char *text, size_t text_len);

typedef struct dsv3_generate_params {
    uint32_t struct_size;    /* sizeof(dsv3_generate_params) as the caller built it */
    int32_t  max_tokens;     /* most tokens to generate; 0 (default): until the context is full */
    const dsv3_sampling_params *sampling; /* NULL (default): dsv3_sampling_default_params() */
    const int32_t *stop_tokens;           /* end tokens besides the model's EOS */
    size_t   n_stop_tokens;
    const char *const *stop_strings;      /* NUL-terminated UTF-8, none empty; need a tokenizer */
    size_t   n_stop_strings;
    dsv3_token_fn on_token;  /* NULL: none */
    void    *user;           /* passed to on_token */
} dsv3_generate_params;

DSV3_API void dsv3_generate_default_params(dsv3_generate_params *out);

/* Generates from the context's current logits (after dsv3_prefill, dsv3_step,
 * a state load or an earlier dsv3_generate): sample a token, stop if it is an
 * end token (which is neither fed nor reported: feed it yourself to continue a
 * chat template), else feed it with dsv3_step, call on_token, and stop on a
 * stop string, on_token's request or max_tokens. A stop string is matched on
 * the decoded text across token boundaries; it and anything after it are not
 * reported, but the tokens that made it are in the context. Every reported
 * token (token >= 0) has been fed, so the context's position grows by
 * *out_n_tokens and its logits are ready for the next call. params NULL:
 * defaults. out_stop_reason (DSV3_STOP_*) and out_n_tokens may be NULL.
 * Errors: DSV3_ERR_INVALID_ARGUMENT (no logits yet, bad params: see
 * dsv3_context_last_error()), DSV3_ERR_UNSUPPORTED (stop strings on a model
 * without a tokenizer), DSV3_ERR_OUT_OF_MEMORY, DSV3_ERR_ABORTED (abort_cb; the
 * token being fed is dropped and the context holds the tokens reported). */
DSV3_API int32_t dsv3_generate(dsv3_context *ctx, const dsv3_generate_params *params,
                               int32_t *out_stop_reason, size_t *out_n_tokens);

/* ---- Quantization -------------------------------------------------------- */
#define DSV3_HAVE_QUANTIZE 1

typedef struct dsv3_quantize_params {
    uint32_t struct_size; /* sizeof(dsv3_quantize_params) as the caller built it */
    int32_t  type;        /* ggml type id of the bulk of the matrices: 1 F16, 30 BF16,
                             2 Q4_0, 3 Q4_1, 6 Q5_0, 7 Q5_1, 8 Q8_0, 10 Q2_K, 11 Q3_K,
                             12 Q4_K (default), 13 Q5_K, 14 Q6_K, 20 IQ4_NL, 23 IQ4_XS
                             (the other IQ types need an importance matrix) */
    int32_t  mix;         /* 0: every eligible matrix gets `type`; 1 (default): a
                             Q4_K_M-style mix, see below */
    int32_t  n_threads;   /* 0 (default): one per online CPU; at most 256, and 1
                             in a build with DSV3_NO_THREADS */
} dsv3_quantize_params;

DSV3_API void dsv3_quantize_default_params(dsv3_quantize_params *out);

/* Converts the GGUF file in_path (any architecture; tensors F32, F16, BF16 or
 * any type dsv3 reads, which are dequantized first) into out_path:
 *   - every metadata key is copied unchanged, except general.file_type, which is
 *     set to the llama_ftype of the result (general.quantization_version = 2 is
 *     added when absent);
 *   - 1-D tensors (norms, exp_probs_b.bias) and the MoE router ffn_gate_inp are
 *     stored as F32; every other tensor as `type`, or with mix = 1: output.weight,
 *     and attn_v_b / attn_kv_b / ffn_down* in the first and last eighth of the
 *     layers and every third layer between, one step up (Q2_K->Q4_K,
 *     Q3_K->Q5_K, Q4_K/Q5_K/Q4_0/Q4_1/Q5_0/Q5_1/IQ4_NL/IQ4_XS->Q6_K);
 *   - a matrix whose rows do not fill whole blocks falls back, when its rows
 *     are a multiple of 32 (e.g. attn_k_b with 128), to IQ4_NL from IQ4_XS and
 *     to Q8_0 from the other 256-element types, or else to F16; a tensor
 *     already of its target type is copied bit for bit.
 * The file is written to out_path + ".tmp" and renamed on success; on failure
 * nothing is left behind. Rows holding NaN or infinity are refused
 * (DSV3_ERR_BAD_MODEL) when written as a quantized type (not F32, F16, BF16).
 * Errors: DSV3_ERR_INVALID_ARGUMENT (NULL path, type not listed above, mix
 * not 0/1, negative n_threads), DSV3_ERR_IO, DSV3_ERR_BAD_FILE,
 * DSV3_ERR_UNSUPPORTED, DSV3_ERR_OUT_OF_MEMORY; error_message (may be NULL)
 * receives a NUL-terminated description. Thread-safe: no shared state. */
DSV3_API int32_t dsv3_quantize_file(const char *in_path, const char *out_path,
                                    const dsv3_quantize_params *params,
                                    char *error_message, size_t error_message_size);

#ifdef __cplusplus
}
#endif
#endif /* DSV3_H */
