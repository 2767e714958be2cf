"""dsv3 from Python: a ctypes binding of dsv3.h (standard library only).

    import dsv3
    with dsv3.Model("model.gguf") as model, dsv3.Context(model) as ctx:
        ctx.prefill(model.tokenize("Once upon a time"))
        result = ctx.generate(max_tokens=64, on_token=lambda tok, text: print(text, end=""))

The shared library is found through the DSV3_LIB environment variable, else
build/libdsv3.so (libdsv3.dylib, dsv3.dll) two directories above this file,
else the system's library path. Errors raise dsv3.Error, whose .status is the
DSV3_ERR_* code. A Context keeps its Model alive; use a Context from one thread
at a time.
"""

import ctypes
import os
import sys
import weakref
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char, c_char_p, c_float, c_int32, c_size_t,
                    c_uint8, c_uint32, c_uint64, c_void_p)

# ---- status codes and stop reasons (values pinned by dsv3.h) ----------------
OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_OUT_OF_MEMORY = -2
ERR_IO = -3
ERR_BAD_FILE = -4
ERR_UNSUPPORTED = -5
ERR_BAD_MODEL = -6
ERR_CONTEXT_FULL = -7
ERR_TOKEN_OUT_OF_RANGE = -8
ERR_BUFFER_TOO_SMALL = -9
ERR_ABORTED = -10

STOP_ERROR = 0
STOP_END_TOKEN = 1
STOP_STRING = 2
STOP_MAX_TOKENS = 3
STOP_CALLBACK = 4
STOP_CONTEXT_FULL = 5

KV_F32, KV_F16, KV_BF16 = 0, 1, 2


def _library_path():
    if os.environ.get("DSV3_LIB"):
        return os.environ["DSV3_LIB"]
    name = {"win32": "dsv3.dll", "darwin": "libdsv3.dylib"}.get(sys.platform, "libdsv3.so")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", name)
    return here if os.path.exists(here) else name


_lib = ctypes.CDLL(_library_path())

# ---- the C types ----------------------------------------------------------------
LOG_FN = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
ALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_size_t)
FREE_FN = CFUNCTYPE(None, c_void_p, c_void_p)
PROGRESS_FN = CFUNCTYPE(c_int32, c_void_p, c_float)
ABORT_FN = CFUNCTYPE(c_int32, c_void_p)
TOKEN_FN = CFUNCTYPE(c_int32, c_void_p, c_int32, POINTER(c_char), c_size_t)


class ModelParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("use_mmap", c_int32), ("expert_groups", c_int32),
                ("yarn_beta_fast", c_float), ("yarn_beta_slow", c_float), ("log", LOG_FN),
                ("alloc", ALLOC_FN), ("free_fn", FREE_FN), ("user", c_void_p),
                ("float_activations", c_int32), ("ignore_expert_bias", c_int32), ("vocab_only", c_int32),
                ("progress", PROGRESS_FN)]


class ContextParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("n_ctx", c_uint32), ("n_batch", c_uint32), ("n_threads", c_int32),
                ("kv_type", c_int32), ("seed", c_uint64), ("abort_cb", ABORT_FN), ("abort_user", c_void_p),
                ("min_parallel_work", c_uint32)]


class SamplingParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("temperature", c_float), ("top_k", c_int32), ("top_p", c_float),
                ("min_p", c_float), ("repeat_penalty", c_float), ("presence_penalty", c_float),
                ("penalty_window", c_int32)]


class GenerateParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("max_tokens", c_int32), ("sampling", POINTER(SamplingParams)),
                ("stop_tokens", POINTER(c_int32)), ("n_stop_tokens", c_size_t),
                ("stop_strings", POINTER(c_char_p)), ("n_stop_strings", c_size_t),
                ("on_token", TOKEN_FN), ("user", c_void_p)]


class ChatMessage(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


class Decoder(Structure):
    _fields_ = [("pending", c_uint8 * 4), ("n_pending", c_uint32), ("render_special", c_int32),
                ("reserved", c_uint32 * 4)]


_model_p, _ctx_p, _size_p = c_void_p, c_void_p, POINTER(c_size_t)
_I32P = POINTER(c_int32)
_SIGNATURES = {
    "dsv3_status_string": (c_char_p, [c_int32]),
    "dsv3_version": (c_uint32, []),
    "dsv3_model_default_params": (None, [c_void_p]),
    "dsv3_model_load": (c_int32, [c_char_p, POINTER(ModelParams), POINTER(_model_p), c_char_p, c_size_t]),
    "dsv3_model_free": (None, [_model_p]),
    "dsv3_model_n_vocab": (c_size_t, [_model_p]),
    "dsv3_model_token_bos": (c_int32, [_model_p]),
    "dsv3_model_token_eos": (c_int32, [_model_p]),
    "dsv3_model_has_tokenizer": (c_int32, [_model_p]),
    "dsv3_tokenize": (c_int32, [_model_p, c_char_p, c_size_t, c_int32, c_int32, _I32P, c_size_t, _size_p]),
    "dsv3_decoder_init": (None, [POINTER(Decoder), c_int32]),
    "dsv3_decoder_push": (c_int32, [_model_p, POINTER(Decoder), c_int32, c_char_p, c_size_t, _size_p]),
    "dsv3_decoder_flush": (c_int32, [POINTER(Decoder), c_char_p, c_size_t, _size_p]),
    "dsv3_chat_format": (c_int32, [_model_p, POINTER(ChatMessage), c_size_t, c_int32, c_int32, c_char_p,
                                   c_size_t, _size_p]),
    "dsv3_context_default_params": (None, [c_void_p]),
    "dsv3_context_create": (c_int32, [_model_p, POINTER(ContextParams), POINTER(_ctx_p)]),
    "dsv3_context_free": (None, [_ctx_p]),
    "dsv3_step": (c_int32, [_ctx_p, c_int32, POINTER(POINTER(c_float))]),
    "dsv3_prefill": (c_int32, [_ctx_p, _I32P, c_size_t, POINTER(c_float)]),
    "dsv3_context_logits": (POINTER(c_float), [_ctx_p]),
    "dsv3_context_rewind": (c_int32, [_ctx_p, c_size_t]),
    "dsv3_context_position": (c_size_t, [_ctx_p]),
    "dsv3_context_n_ctx": (c_size_t, [_ctx_p]),
    "dsv3_context_last_error": (c_char_p, [_ctx_p]),
    "dsv3_context_tokens": (_I32P, [_ctx_p]),
    "dsv3_context_state_size": (c_size_t, [_ctx_p]),
    "dsv3_context_state_save": (c_int32, [_ctx_p, c_void_p, c_size_t, _size_p]),
    "dsv3_context_state_load": (c_int32, [_ctx_p, c_void_p, c_size_t]),
    "dsv3_context_state_save_file": (c_int32, [_ctx_p, c_char_p]),
    "dsv3_context_state_load_file": (c_int32, [_ctx_p, c_char_p]),
    "dsv3_sampling_default_params": (None, [c_void_p]),
    "dsv3_sample": (c_int32, [_ctx_p, POINTER(SamplingParams), POINTER(c_float), _I32P]),
    "dsv3_context_set_seed": (c_int32, [_ctx_p, c_uint64]),
    "dsv3_generate_default_params": (None, [c_void_p]),
    "dsv3_generate": (c_int32, [_ctx_p, POINTER(GenerateParams), _I32P, _size_p]),
}
for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(_lib, _name)
    _fn.restype, _fn.argtypes = _res, _args


def _defaults(cls, fill):
    """A params struct filled by the library, after checking that the library's
    struct has the size this binding was written for."""
    buf = ctypes.create_string_buffer(4096)
    fill(buf)
    size = c_uint32.from_buffer(buf).value
    if size != ctypes.sizeof(cls):
        raise RuntimeError("%s: the library's struct has %d bytes, this binding's %d: mismatched dsv3.py and %s"
                           % (cls.__name__, size, ctypes.sizeof(cls), _library_path()))
    return cls.from_buffer_copy(buf.raw[:size])


def version():
    """The library's DSV3_VERSION_NUMBER (major * 10000 + minor * 100 + patch)."""
    return _lib.dsv3_version()


class Error(Exception):
    """A failed dsv3 call; .status is the DSV3_ERR_* code."""

    def __init__(self, status, detail=""):
        self.status = status
        text = _lib.dsv3_status_string(status).decode()
        super().__init__(text + (": " + detail if detail else ""))


def _check(status, detail=""):
    if status != OK:
        raise Error(status, detail)


def _utf8(text):
    return text if isinstance(text, bytes) else text.encode("utf-8")


class _Closing:
    """`with` closes the object."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Closing):
    """A GGUF model. progress(fraction) -> truthy cancels the load."""

    def __init__(self, path, use_mmap=True, vocab_only=False, progress=None):
        params = _defaults(ModelParams, _lib.dsv3_model_default_params)
        params.use_mmap = int(use_mmap)
        params.vocab_only = int(vocab_only)
        errors = []

        def on_progress(_user, fraction):
            try:
                return 1 if progress(fraction) else 0
            except BaseException as e:  # never let it unwind through C
                errors.append(e)
                return 1

        if progress is not None:
            params.progress = PROGRESS_FN(on_progress)
        self._handle = None
        self._contexts = weakref.WeakSet()
        handle, message = c_void_p(), ctypes.create_string_buffer(512)
        status = _lib.dsv3_model_load(os.fsencode(path), byref(params), byref(handle), message, len(message))
        if errors:
            raise errors[0]
        _check(status, message.value.decode(errors="replace"))
        self._handle = handle

    def close(self):
        """Frees the model now (its contexts must be closed first)."""
        if any(c._handle for c in self._contexts):
            raise RuntimeError("close the model's contexts first")
        if self._handle:
            _lib.dsv3_model_free(self._handle)
            self._handle = None

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib.dsv3_model_free(self._handle)

    @property
    def n_vocab(self):
        return _lib.dsv3_model_n_vocab(self._handle)

    @property
    def bos(self):
        return _lib.dsv3_model_token_bos(self._handle)

    @property
    def eos(self):
        return _lib.dsv3_model_token_eos(self._handle)

    @property
    def has_tokenizer(self):
        return bool(_lib.dsv3_model_has_tokenizer(self._handle))

    def tokenize(self, text, add_bos=True, parse_special=True):
        data = _utf8(text)
        n = c_size_t()
        status = _lib.dsv3_tokenize(self._handle, data, len(data), add_bos, parse_special, None, 0, byref(n))
        if status not in (OK, ERR_BUFFER_TOO_SMALL):
            _check(status)
        ids = (c_int32 * max(n.value, 1))()
        _check(_lib.dsv3_tokenize(self._handle, data, len(data), add_bos, parse_special, ids, n.value, byref(n)))
        return list(ids[:n.value])

    def detokenize(self, tokens, render_special=False):
        """Token ids -> str (invalid UTF-8 becomes U+FFFD)."""
        dec, out = Decoder(), bytearray()
        _lib.dsv3_decoder_init(byref(dec), render_special)
        buf, n = ctypes.create_string_buffer(256), c_size_t()
        for token in tokens:
            status = _lib.dsv3_decoder_push(self._handle, byref(dec), token, buf, len(buf), byref(n))
            if status == ERR_BUFFER_TOO_SMALL:
                buf = ctypes.create_string_buffer(n.value)
                status = _lib.dsv3_decoder_push(self._handle, byref(dec), token, buf, len(buf), byref(n))
            _check(status)
            out += buf.raw[:n.value]
        _check(_lib.dsv3_decoder_flush(byref(dec), buf, len(buf), byref(n)))
        out += buf.raw[:n.value]
        return out.decode("utf-8", errors="replace")

    def chat_format(self, messages, add_generation_prompt=True):
        """messages: (role, content) pairs or {"role", "content"} dicts -> prompt text
        (tokenize it with add_bos=False: it starts with BOS)."""
        pairs = [(m["role"], m["content"]) if isinstance(m, dict) else m for m in messages]
        msgs = (ChatMessage * max(len(pairs), 1))(*[ChatMessage(_utf8(r), _utf8(c)) for r, c in pairs])
        n = c_size_t()
        status = _lib.dsv3_chat_format(self._handle, msgs, len(pairs), add_generation_prompt, 0, None, 0, byref(n))
        if status != ERR_BUFFER_TOO_SMALL:
            _check(status)
        out = ctypes.create_string_buffer(n.value + 1)
        _check(_lib.dsv3_chat_format(self._handle, msgs, len(pairs), add_generation_prompt, 0, out, len(out),
                                     byref(n)))
        return out.raw[:n.value].decode("utf-8", errors="replace")


class Result:
    """What generate() produced: text (str), tokens (list), stop_reason (STOP_*)."""

    def __init__(self, text, tokens, stop_reason):
        self.text, self.tokens, self.stop_reason = text, tokens, stop_reason

    def __repr__(self):
        return "Result(text=%r, tokens=%d, stop_reason=%d)" % (self.text, len(self.tokens), self.stop_reason)


class Context(_Closing):
    """One conversation. abort() -> truthy stops a long prefill or generation
    (Error with status ERR_ABORTED; the context is left as it was)."""

    def __init__(self, model, n_ctx=0, n_batch=0, n_threads=0, seed=1, kv_type=KV_F32, abort=None):
        self._handle = None
        params = _defaults(ContextParams, _lib.dsv3_context_default_params)
        params.n_ctx, params.n_threads, params.seed, params.kv_type = n_ctx, n_threads, seed, kv_type
        if n_batch:
            params.n_batch = n_batch
        self._errors = errors = []  # the callback must not hold self: no cycle, so freed in order

        def on_abort(_user):
            try:
                return 1 if abort() else 0
            except BaseException as e:
                errors.append(e)
                return 1

        # kept referenced for the context's life: C calls it later
        self._abort = ABORT_FN(on_abort) if abort is not None else ABORT_FN()
        params.abort_cb = self._abort
        handle = c_void_p()
        _check(_lib.dsv3_context_create(model._handle, byref(params), byref(handle)), "cannot create a context")
        self._handle, self.model = handle, model
        model._contexts.add(self)

    def close(self):
        if self._handle:
            _lib.dsv3_context_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def _check(self, status):
        if self._errors:
            raise self._errors.pop(0)
        _check(status, _lib.dsv3_context_last_error(self._handle).decode(errors="replace"))

    @property
    def position(self):
        return _lib.dsv3_context_position(self._handle)

    @property
    def n_ctx(self):
        return _lib.dsv3_context_n_ctx(self._handle)

    @property
    def tokens(self):
        p = _lib.dsv3_context_tokens(self._handle)
        return list(p[:self.position]) if p else []

    def logits(self):
        """The last position's logits as a list of floats (None before any token)."""
        p = _lib.dsv3_context_logits(self._handle)
        return list(p[:self.model.n_vocab]) if p else None

    def prefill(self, tokens):
        ids = (c_int32 * max(len(tokens), 1))(*tokens)
        self._check(_lib.dsv3_prefill(self._handle, ids, len(tokens), None))

    def step(self, token):
        self._check(_lib.dsv3_step(self._handle, token, None))

    def rewind(self, n_pos):
        self._check(_lib.dsv3_context_rewind(self._handle, n_pos))

    def set_seed(self, seed):
        self._check(_lib.dsv3_context_set_seed(self._handle, seed))

    @staticmethod
    def sampling_params(**kw):
        """A SamplingParams with the library's defaults, then the given fields."""
        p = _defaults(SamplingParams, _lib.dsv3_sampling_default_params)
        for key, value in kw.items():
            setattr(p, key, value)
        return p

    def sample(self, **sampling):
        token = c_int32()
        params = self.sampling_params(**sampling)
        self._check(_lib.dsv3_sample(self._handle, byref(params), None, byref(token)))
        return token.value

    def generate(self, max_tokens=0, stop=(), stop_tokens=(), on_token=None, **sampling):
        """Generates from the current logits; sampling keywords as in SamplingParams
        (temperature=0 for greedy). on_token(token, text) -> truthy stops; token is
        -1 for text held back until the end. Returns a Result."""
        params = _defaults(GenerateParams, _lib.dsv3_generate_default_params)
        sp = self.sampling_params(**sampling)
        stops = (c_char_p * max(len(stop), 1))(*[_utf8(s) for s in stop])
        ids = (c_int32 * max(len(stop_tokens), 1))(*stop_tokens)
        params.max_tokens, params.sampling = max_tokens, ctypes.pointer(sp)
        params.stop_strings, params.n_stop_strings = stops, len(stop)
        params.stop_tokens, params.n_stop_tokens = ids, len(stop_tokens)
        chunks, tokens = [], []

        def trampoline(_user, token, text, length):
            try:
                data = ctypes.string_at(text, length)
                chunks.append(data)
                if token >= 0:
                    tokens.append(token)
                if on_token is not None and on_token(token, data.decode("utf-8", errors="replace")):
                    return 1
                return 0
            except BaseException as e:
                self._errors.append(e)
                return 1

        params.on_token = TOKEN_FN(trampoline)
        reason = c_int32()
        status = _lib.dsv3_generate(self._handle, byref(params), byref(reason), None)
        self._check(status)
        return Result(b"".join(chunks).decode("utf-8", errors="replace"), tokens, reason.value)

    def save_state(self):
        """The context's state as bytes (see dsv3_context_state_save)."""
        size, n = _lib.dsv3_context_state_size(self._handle), c_size_t()
        buf = ctypes.create_string_buffer(max(size, 1))
        self._check(_lib.dsv3_context_state_save(self._handle, buf, size, byref(n)))
        return buf.raw[:n.value]

    def load_state(self, state):
        self._check(_lib.dsv3_context_state_load(self._handle, state, len(state)))

    def save_state_file(self, path):
        self._check(_lib.dsv3_context_state_save_file(self._handle, os.fsencode(path)))

    def load_state_file(self, path):
        self._check(_lib.dsv3_context_state_load_file(self._handle, os.fsencode(path)))
