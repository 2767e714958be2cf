"""Generate text with dsv3 from Python.

    python3 examples/python/generate.py MODEL.gguf ["PROMPT"] [N]
"""
import sys

import dsv3


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: generate.py MODEL.gguf [PROMPT] [N]")
    prompt = sys.argv[2] if len(sys.argv) > 2 else "Once upon a time"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    with dsv3.Model(sys.argv[1]) as model, dsv3.Context(model) as ctx:
        ctx.prefill(model.tokenize(prompt))
        print(prompt, end="", flush=True)
        result = ctx.generate(max_tokens=n, on_token=lambda token, text: print(text, end="", flush=True))
        print(flush=True)
        print("%d tokens, stop reason %d" % (len(result.tokens), result.stop_reason), file=sys.stderr)


if __name__ == "__main__":
    main()
