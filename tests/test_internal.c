/* The four tests that reach dsv3.c's private functions (kernels, attention,
 * tokenizer, quantizers), in one translation unit, so that dsv3.c is
 * compiled once for them: compiling it is most of a test build's time, and
 * under the sanitizers minutes each. Each test keeps its own program:
 * tests/test_main.c, built with -DTEST_MAIN=test_<name>_main, runs one. */
#define DSV3_TESTS_ONE_UNIT
#include "../dsv3.c" /* first: it asks for POSIX.1-2008 */
#include "test_util.h"

#define main test_kernels_main
#include "test_kernels.c"
#undef main
#define main test_attention_main
#include "test_attention.c"
#undef main
#define main test_tokenizer_main
#include "test_tokenizer.c"
#undef main
#define main test_quantize_main
#include "test_quantize.c"
#undef main
