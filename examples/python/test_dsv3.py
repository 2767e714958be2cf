"""Tests of the ctypes binding (standard library only).

    python3 examples/python/test_dsv3.py      (DSV3_LIB may name the library)
"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsv3  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data")
BPE = os.path.join(DATA, "v3_f32_bpe.gguf")  # tiny random model with a real BPE vocabulary
IDS = os.path.join(DATA, "v3_f32.gguf")      # the same without a tokenizer


class Binding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = dsv3.Model(BPE)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def greedy(self, prompt="The quick brown fox", **kw):
        with dsv3.Context(self.model, n_ctx=128) as ctx:
            ctx.prefill(self.model.tokenize(prompt))
            return ctx.generate(temperature=0, **kw)

    def test_version_and_layouts(self):
        self.assertGreater(dsv3.version(), 0)
        # _defaults() compares every struct's size with the library's
        for cls, fill in ((dsv3.ModelParams, dsv3._lib.dsv3_model_default_params),
                          (dsv3.ContextParams, dsv3._lib.dsv3_context_default_params),
                          (dsv3.SamplingParams, dsv3._lib.dsv3_sampling_default_params),
                          (dsv3.GenerateParams, dsv3._lib.dsv3_generate_default_params)):
            dsv3._defaults(cls, fill)
        self.assertAlmostEqual(dsv3.Context.sampling_params().top_p, 0.95, places=6)

    def test_tokenize_roundtrip(self):
        text = "Hello, world! Ünïcödé and 日本語"
        ids = self.model.tokenize(text)
        self.assertEqual(ids[0], self.model.bos)
        self.assertEqual(self.model.detokenize(ids), text)
        self.assertEqual(self.model.tokenize(text, add_bos=False), ids[1:])
        self.assertEqual(self.model.tokenize(""), [self.model.bos])

    def test_chat_format(self):
        text = self.model.chat_format([("system", "Be brief."), {"role": "user", "content": "Hi"}])
        self.assertIn("<｜User｜>Hi<｜Assistant｜>", text)
        self.assertTrue(text.startswith("<｜begin▁of▁sentence｜>Be brief."))
        with self.assertRaises(dsv3.Error) as e:
            self.model.chat_format([("wizard", "x")])
        self.assertEqual(e.exception.status, dsv3.ERR_INVALID_ARGUMENT)

    def test_generate(self):
        a = self.greedy(max_tokens=24)
        b = self.greedy(max_tokens=24)
        self.assertEqual(a.tokens, b.tokens)
        self.assertIn(a.stop_reason, (dsv3.STOP_MAX_TOKENS, dsv3.STOP_END_TOKEN))
        self.assertEqual(a.text, self.model.detokenize(a.tokens))
        self.assertGreater(len(a.text), 4)
        streamed = []
        c = self.greedy(max_tokens=24, on_token=lambda tok, text: streamed.append(text))
        self.assertEqual("".join(streamed), a.text)

    def test_stop_string(self):
        full = self.greedy(max_tokens=24)
        raw = full.text.encode()
        stop = raw[3:6]
        r = self.greedy(max_tokens=24, stop=[stop])
        self.assertEqual(r.stop_reason, dsv3.STOP_STRING)
        self.assertEqual(r.text.encode(), raw[:raw.index(stop)])
        self.assertLess(len(r.tokens), len(full.tokens) + 1)

    def test_callback_stop_and_exceptions(self):
        r = self.greedy(max_tokens=24, on_token=lambda tok, text: True)
        self.assertEqual((r.stop_reason, len(r.tokens)), (dsv3.STOP_CALLBACK, 1))

        def boom(tok, text):
            raise KeyError("from the callback")
        with self.assertRaises(KeyError):
            self.greedy(max_tokens=24, on_token=boom)

    def test_seeded_sampling(self):
        runs = []
        for _ in range(2):
            with dsv3.Context(self.model, n_ctx=64, seed=42) as ctx:
                ctx.prefill(self.model.tokenize("Once"))
                runs.append(ctx.generate(max_tokens=16, temperature=1.0, top_k=0).tokens)
        self.assertEqual(runs[0], runs[1])

    def test_state_roundtrip(self):
        with dsv3.Context(self.model, n_ctx=64) as a, dsv3.Context(self.model, n_ctx=64) as b:
            a.prefill(self.model.tokenize("Save me"))
            state = a.save_state()
            b.load_state(state)
            self.assertEqual(a.tokens, b.tokens)
            self.assertEqual(a.logits(), b.logits())
            self.assertEqual(a.generate(max_tokens=8, temperature=0).tokens,
                             b.generate(max_tokens=8, temperature=0).tokens)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "state.bin")
                a.save_state_file(path)
                b.rewind(0)
                b.load_state_file(path)
                self.assertEqual(a.logits(), b.logits())
            with self.assertRaises(dsv3.Error) as e:
                b.load_state(state[:-3])
            self.assertEqual(e.exception.status, dsv3.ERR_BAD_FILE)

    def test_abort(self):
        calls = []
        flag = [False]

        def abort():
            calls.append(1)
            return flag[0]
        with dsv3.Context(self.model, n_ctx=64, n_batch=4, abort=abort) as ctx:
            ctx.prefill([1, 2, 3])
            before = ctx.logits()
            flag[0] = True
            with self.assertRaises(dsv3.Error) as e:
                ctx.prefill(list(range(5, 15)))
            self.assertEqual(e.exception.status, dsv3.ERR_ABORTED)
            self.assertEqual((ctx.position, ctx.logits()), (3, before))
            flag[0] = False
            ctx.prefill(list(range(5, 15)))
            self.assertEqual(ctx.position, 13)
        self.assertGreater(len(calls), 3)

    def test_progress(self):
        seen = []
        with dsv3.Model(IDS, progress=seen.append) as m:
            self.assertFalse(m.has_tokenizer)
        self.assertEqual(seen[-1], 1.0)
        self.assertEqual(seen, sorted(seen))
        with self.assertRaises(dsv3.Error) as e:
            dsv3.Model(IDS, progress=lambda f: f > 0.5)
        self.assertEqual(e.exception.status, dsv3.ERR_ABORTED)

    def test_errors(self):
        with self.assertRaises(dsv3.Error) as e:
            dsv3.Model(os.path.join(DATA, "no-such-model.gguf"))
        self.assertEqual(e.exception.status, dsv3.ERR_IO)
        self.assertIn("no-such-model.gguf", str(e.exception))
        with dsv3.Model(IDS) as m, dsv3.Context(m, n_ctx=8) as ctx:
            with self.assertRaises(dsv3.Error) as e:
                ctx.generate()  # no logits yet
            self.assertEqual(e.exception.status, dsv3.ERR_INVALID_ARGUMENT)
            ctx.prefill([1, 2, 3])
            with self.assertRaises(dsv3.Error) as e:
                ctx.generate(stop=["x"])  # stop strings need a tokenizer
            self.assertEqual(e.exception.status, dsv3.ERR_UNSUPPORTED)
            r = ctx.generate(temperature=0)
            self.assertEqual((r.stop_reason, ctx.position), (dsv3.STOP_CONTEXT_FULL, 8))
            self.assertEqual(r.text, "")
            with self.assertRaises(dsv3.Error) as e:
                ctx.step(5)
            self.assertEqual(e.exception.status, dsv3.ERR_CONTEXT_FULL)
            with self.assertRaises(RuntimeError):
                m.close()  # a context is still open


if __name__ == "__main__":
    unittest.main()
