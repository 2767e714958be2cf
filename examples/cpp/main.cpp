// dsv3-cpp: the C++ wrapper (dsv3.hpp) in use. Generates a reply to a chat
// prompt, then shows a saved state resuming to the same tokens.
//
//     build/dsv3-cpp MODEL.gguf ["PROMPT"] [N]
#include "dsv3.hpp"

#include <cstdlib>
#include <iostream>

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " MODEL.gguf [PROMPT] [N]\n";
        return 2;
    }
    const std::string prompt = argc > 2 ? argv[2] : "Tell me a story.";
    const int32_t n_predict = argc > 3 ? std::atoi(argv[3]) : 32;
    try {
        dsv3::Model model(argv[1]);
        dsv3::Context ctx(model);
        // The chat template's text starts with BOS: add none of our own.
        ctx.prefill(model.tokenize(model.chat_format({{"user", prompt}}), false));
        const std::vector<uint8_t> saved = ctx.save_state();

        dsv3::GenerateOptions opt;
        opt.max_tokens = n_predict;
        opt.on_token = [](int32_t, std::string_view text) {
            std::cout << text << std::flush;
            return true; // keep going
        };
        dsv3::Generated first = ctx.generate(opt);
        std::cout << '\n';

        // Back to the prompt: the same state and seed give the same reply.
        ctx.load_state(saved);
        opt.on_token = nullptr;
        dsv3::Generated again = ctx.generate(opt);
        bool same = again.tokens == first.tokens && again.text == first.text &&
                    model.detokenize(first.tokens) == first.text;
        std::cerr << first.tokens.size() << " tokens (stop reason " << first.stop_reason << "); replay "
                  << (same ? "identical" : "DIFFERS") << '\n';
        return same ? 0 : 1;
    } catch (const dsv3::Error &e) {
        std::cerr << "dsv3 error " << e.status() << ": " << e.what() << '\n';
        return 1;
    }
}
