// dsv3.hpp - a small C++17 wrapper over dsv3.h: RAII handles, std::string and
// std::vector in and out, errors as exceptions (dsv3::Error carries the status).
//
//     dsv3::Model model("model.gguf");
//     dsv3::Context ctx(model);
//     ctx.prefill(model.tokenize("Once upon a time"));
//     dsv3::GenerateOptions opt;
//     opt.max_tokens = 64;
//     opt.on_token = [](int32_t, std::string_view text) { std::cout << text << std::flush; return true; };
//     dsv3::Generated out = ctx.generate(opt);
//
// Header-only; link the C library (libdsv3.a or dsv3.c). A Model must outlive
// its Contexts. Thread safety is the C library's: share a Model freely, use a
// Context from one thread at a time.
#ifndef DSV3_HPP
#define DSV3_HPP

#include "dsv3.h"

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dsv3 {

// A failed call: what() is the detailed message, status() the DSV3_ERR_* code.
class Error : public std::runtime_error {
public:
    Error(int32_t status, const std::string &message) : std::runtime_error(message), status_(status) {}
    int32_t status() const noexcept { return status_; }

private:
    int32_t status_;
};

namespace detail {
inline void check(int32_t status, const char *detail = nullptr) {
    if (status == DSV3_OK) return;
    std::string message = dsv3_status_string(status);
    if (detail && *detail) message += std::string(": ") + detail;
    throw Error(status, message);
}
struct ModelFree {
    void operator()(dsv3_model *m) const noexcept { dsv3_model_free(m); }
};
struct ContextFree {
    void operator()(dsv3_context *c) const noexcept { dsv3_context_free(c); }
};
} // namespace detail

class Model {
public:
    // params: nullptr for defaults, or filled by dsv3_model_default_params().
    explicit Model(const std::string &path, const dsv3_model_params *params = nullptr) {
        char message[512] = "";
        dsv3_model *m = nullptr;
        detail::check(dsv3_model_load(path.c_str(), params, &m, message, sizeof message), message);
        model_.reset(m);
    }

    dsv3_model *get() const noexcept { return model_.get(); }
    std::size_t n_vocab() const noexcept { return dsv3_model_n_vocab(get()); }
    int32_t eos() const noexcept { return dsv3_model_token_eos(get()); }
    bool has_tokenizer() const noexcept { return dsv3_model_has_tokenizer(get()) != 0; }

    std::vector<int32_t> tokenize(std::string_view text, bool add_bos = true, bool parse_special = true) const {
        std::vector<int32_t> ids(text.size() / 2 + 8);
        std::size_t n = 0;
        for (;;) {
            int32_t st = dsv3_tokenize(get(), text.data(), text.size(), add_bos, parse_special, ids.data(),
                                       ids.size(), &n);
            if (st != DSV3_ERR_BUFFER_TOO_SMALL) {
                detail::check(st);
                break;
            }
            ids.resize(n);
        }
        ids.resize(n);
        return ids;
    }

    // Token ids -> text; control tokens render as their text when render_special.
    std::string detokenize(const std::vector<int32_t> &ids, bool render_special = false) const {
        std::string out;
        dsv3_decoder dec;
        dsv3_decoder_init(&dec, render_special);
        for (int32_t id : ids) {
            std::size_t n = 0;
            std::size_t at = out.size();
            out.resize(at + 64);
            int32_t st = dsv3_decoder_push(get(), &dec, id, &out[at], 64, &n);
            if (st == DSV3_ERR_BUFFER_TOO_SMALL) {
                out.resize(at + n);
                st = dsv3_decoder_push(get(), &dec, id, &out[at], n, &n);
            }
            detail::check(st);
            out.resize(at + n);
        }
        char tail[4];
        std::size_t n = 0;
        detail::check(dsv3_decoder_flush(&dec, tail, sizeof tail, &n));
        out.append(tail, n);
        return out;
    }

    // {role, content} pairs -> the prompt text of the model's chat template.
    std::string chat_format(const std::vector<std::pair<std::string, std::string>> &messages,
                            bool add_generation_prompt = true, int32_t style = DSV3_CHAT_AUTO) const {
        std::vector<dsv3_chat_message> msgs;
        msgs.reserve(messages.size());
        for (const auto &m : messages) msgs.push_back({m.first.c_str(), m.second.c_str()});
        std::size_t n = 0;
        int32_t st = dsv3_chat_format(get(), msgs.data(), msgs.size(), add_generation_prompt, style, nullptr, 0, &n);
        if (st != DSV3_ERR_BUFFER_TOO_SMALL) detail::check(st);
        std::string out(n + 1, '\0');
        detail::check(dsv3_chat_format(get(), msgs.data(), msgs.size(), add_generation_prompt, style, &out[0],
                                       out.size(), &n));
        out.resize(n);
        return out;
    }

private:
    std::unique_ptr<dsv3_model, detail::ModelFree> model_;
};

struct GenerateOptions {
    int32_t max_tokens = 0;                       // 0: until an end token or a full context
    const dsv3_sampling_params *sampling = nullptr; // nullptr: the library's defaults
    std::vector<int32_t> stop_tokens;             // end tokens besides EOS
    std::vector<std::string> stop_strings;
    // Each token and the text it completes; return false to stop.
    std::function<bool(int32_t token, std::string_view text)> on_token;
};

struct Generated {
    int32_t stop_reason = DSV3_STOP_ERROR; // DSV3_STOP_*
    std::vector<int32_t> tokens;           // as fed to the context
    std::string text;                      // all text reported (stop string excluded)
};

class Context {
public:
    explicit Context(const Model &model, const dsv3_context_params *params = nullptr) {
        dsv3_context *c = nullptr;
        detail::check(dsv3_context_create(model.get(), params, &c), "cannot create a context");
        ctx_.reset(c);
    }

    dsv3_context *get() const noexcept { return ctx_.get(); }
    std::size_t position() const noexcept { return dsv3_context_position(get()); }
    std::size_t n_ctx() const noexcept { return dsv3_context_n_ctx(get()); }
    const float *logits() const noexcept { return dsv3_context_logits(get()); }

    void prefill(const std::vector<int32_t> &tokens) { check(dsv3_prefill(get(), tokens.data(), tokens.size(), nullptr)); }
    void step(int32_t token) { check(dsv3_step(get(), token, nullptr)); }
    void rewind(std::size_t n_pos) { check(dsv3_context_rewind(get(), n_pos)); }
    void set_seed(uint64_t seed) { check(dsv3_context_set_seed(get(), seed)); }

    Generated generate(const GenerateOptions &opt) {
        std::vector<const char *> stops;
        for (const auto &s : opt.stop_strings) stops.push_back(s.c_str());
        Trampoline t{&opt, Generated{}, nullptr};
        dsv3_generate_params p;
        dsv3_generate_default_params(&p);
        p.max_tokens = opt.max_tokens;
        p.sampling = opt.sampling;
        p.stop_tokens = opt.stop_tokens.data();
        p.n_stop_tokens = opt.stop_tokens.size();
        p.stop_strings = stops.data();
        p.n_stop_strings = stops.size();
        p.on_token = &Context::on_token;
        p.user = &t;
        int32_t st = dsv3_generate(get(), &p, &t.out.stop_reason, nullptr);
        if (t.error) std::rethrow_exception(t.error); // thrown by on_token: never crosses C frames
        check(st);
        return std::move(t.out);
    }

    std::vector<uint8_t> save_state() const {
        std::vector<uint8_t> buf(dsv3_context_state_size(get()));
        std::size_t n = 0;
        check(dsv3_context_state_save(get(), buf.data(), buf.size(), &n));
        buf.resize(n);
        return buf;
    }
    void load_state(const std::vector<uint8_t> &state) {
        check(dsv3_context_state_load(get(), state.data(), state.size()));
    }
    void save_state_file(const std::string &path) const { check(dsv3_context_state_save_file(get(), path.c_str())); }
    void load_state_file(const std::string &path) { check(dsv3_context_state_load_file(get(), path.c_str())); }

private:
    struct Trampoline {
        const GenerateOptions *opt;
        Generated out;
        std::exception_ptr error;
    };

    static int32_t on_token(void *user, int32_t token, const char *text, std::size_t len) {
        auto *t = static_cast<Trampoline *>(user);
        try {
            if (token >= 0) t->out.tokens.push_back(token);
            t->out.text.append(text, len);
            if (t->opt->on_token && !t->opt->on_token(token, std::string_view(text, len))) return 1;
            return 0;
        } catch (...) {
            t->error = std::current_exception();
            return 1;
        }
    }

    void check(int32_t status) const { detail::check(status, dsv3_context_last_error(get())); }

    std::unique_ptr<dsv3_context, detail::ContextFree> ctx_;
};

} // namespace dsv3

#endif // DSV3_HPP
