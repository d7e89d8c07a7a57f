#!/usr/bin/env python3
"""Writes a random GPT-J in the legacy ggml format that ggml's examples/gpt-j reads, fp16.

    /usr/bin/python3 tools/bench/ggml/random_model.py [--tiny] [--out FILE] [--seed N]
                                                      [--quantize PATH/gpt-j-quantize]

Full size (default): GPT-J 6B's shapes, n_vocab 50400, n_ctx 2048, n_embd 4096, n_head 16,
n_layer 28, n_rot 64: ~12.1 GB at ~/.cache/magma-java/ggml/gptj-6b-random-f16.bin.
--tiny: 2 layers, n_embd 256, n_head 4 (same vocabulary), ~55 MB, for smoke tests.
--quantize BIN: afterwards runs ggml's quantize tool into the sibling ...-q8_0.bin (~6.5 GB).

The layout is what examples/gpt-j/main.cpp's gptj_model_load reads (and its
convert-h5-to-ggml.py writes): int32 magic 0x67676d6c; int32 n_vocab, n_ctx, n_embd, n_head,
n_layer, n_rot, ftype (1 = mostly f16); int32 n_vocab again and per token an int32 length and its
bytes; then per tensor int32 n_dims, name length, type (0 f32, 1 f16), the dims innermost first,
the name, the data. 2-D ".weight" tensors are f16, LayerNorm parameters and biases f32.

Values as magma-java's synthetic checkpoint (SyntheticCheckpoint): weights uniform with std 0.02,
biases uniform with std 0.002, LayerNorm weights 1; values below fp16's smallest normal
(6.1e-5) in magnitude are raised to it, so no weight is subnormal, and nothing is NaN.
lm_head.bias is -100 for token 50256 (GPT-2's <|endoftext|>: the example stops there, and a
benchmark must generate all its tokens) and for the single-byte tokens 0-255 (each generated token
then prints as one " word", which ggml_run.py counts).

The vocabulary is synthetic: the loader only reads strings, and the example's tokenizer matches
the longest known string of each word. Ids 0-255 are the single bytes, id i >= 256 is " " plus i
written in letters (bijective base 26: " a" ... " z", " aa", ...); `--prompt-words N` prints a
prompt of N such words that the example tokenizes into exactly N tokens.

Streams tensor by tensor in chunks (a few hundred MB of memory), writes FILE.partial and renames.
"""
import argparse
import os
import struct
import subprocess
import sys
import time

import numpy as np

GGML_MAGIC = 0x67676D6C
EOT = 50256
FULL = dict(n_vocab=50400, n_ctx=2048, n_embd=4096, n_head=16, n_layer=28, n_rot=64)
TINY = dict(n_vocab=50400, n_ctx=2048, n_embd=256, n_head=4, n_layer=2, n_rot=64)
CHUNK = 1 << 24  # elements per generated chunk
F16_MIN_NORMAL = 2.0 ** -14


def letters(i):
    s = ""
    i += 1
    while i > 0:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s


def vocab(n_vocab):
    for i in range(n_vocab):
        yield bytes([i]) if i < 256 else (" " + letters(i)).encode("ascii")


def prompt_words(n, first=1000):
    """N vocabulary words that tokenize one token each (ids first .. first+n-1)."""
    return "".join(" " + letters(i) for i in range(first, first + n))


def tensors(h):
    e, v, f = h["n_embd"], h["n_vocab"], 4 * h["n_embd"]
    # name, numpy shape (outermost first, as PyTorch), kind
    yield "transformer.wte.weight", (v, e), "w"
    for i in range(h["n_layer"]):
        p = "transformer.h.%d." % i
        yield p + "ln_1.weight", (e,), "one"
        yield p + "ln_1.bias", (e,), "b"
        yield p + "attn.k_proj.weight", (e, e), "w"
        yield p + "attn.v_proj.weight", (e, e), "w"
        yield p + "attn.q_proj.weight", (e, e), "w"
        yield p + "attn.out_proj.weight", (e, e), "w"
        yield p + "mlp.fc_in.weight", (f, e), "w"
        yield p + "mlp.fc_in.bias", (f,), "b"
        yield p + "mlp.fc_out.weight", (e, f), "w"
        yield p + "mlp.fc_out.bias", (e,), "b"
    yield "transformer.ln_f.weight", (e,), "one"
    yield "transformer.ln_f.bias", (e,), "b"
    yield "lm_head.weight", (v, e), "w"
    yield "lm_head.bias", (v,), "lmb"


def write_tensor(out, name, shape, kind, rng):
    n = int(np.prod(shape))
    f16 = kind == "w"
    bname = name.encode("utf-8")
    out.write(struct.pack("iii", len(shape), len(bname), 1 if f16 else 0))
    for d in reversed(shape):
        out.write(struct.pack("i", d))
    out.write(bname)
    if kind == "one":
        np.ones(n, dtype=np.float32).tofile(out)
        return
    std = 0.02 if f16 else 0.002
    amp = np.float32(std * np.sqrt(3.0))
    at = 0
    while at < n:
        m = min(CHUNK, n - at)
        x = rng.random(m, dtype=np.float32)
        x *= 2 * amp
        x -= amp
        if f16:
            mag = np.abs(x)
            np.maximum(mag, np.float32(F16_MIN_NORMAL), out=mag)
            np.copysign(mag, x, out=x)
            x = x.astype(np.float16)
        if kind == "lmb":
            # never sampled: <|endoftext|> (the example stops there) and the byte tokens (so that
            # each generated token prints as one " word", which ggml_run.py counts)
            for i in list(range(256)) + [EOT]:
                if at <= i < at + m:
                    x[i - at] = -100.0
        x.tofile(out)
        at += m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="2 layers, n_embd 256 (smoke tests)")
    ap.add_argument("--out", help="output file (default under ~/.cache/magma-java/ggml/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quantize", metavar="BIN", help="gpt-j-quantize binary: also write the q8_0 sibling")
    ap.add_argument("--force", action="store_true", help="rewrite the file even if it exists")
    ap.add_argument("--prompt-words", type=int, metavar="N",
                    help="print a prompt of N one-token words and exit")
    a = ap.parse_args()
    if a.prompt_words is not None:
        sys.stdout.write(prompt_words(a.prompt_words))
        return
    h = TINY if a.tiny else FULL
    cache = os.path.expanduser("~/.cache/magma-java/ggml")
    out = a.out or os.path.join(cache, "gptj-%s-random-seed%d-f16.bin" % ("tiny" if a.tiny else "6b", a.seed))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if os.path.exists(out) and not a.force:
        print("exists: %s" % out)
    else:
        t0 = time.time()
        tmp = out + ".partial"
        with open(tmp, "wb") as f:
            f.write(struct.pack("i", GGML_MAGIC))
            for k in ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer", "n_rot"):
                f.write(struct.pack("i", h[k]))
            f.write(struct.pack("i", 1))  # ftype: mostly f16
            f.write(struct.pack("i", h["n_vocab"]))
            for word in vocab(h["n_vocab"]):
                f.write(struct.pack("i", len(word)))
                f.write(word)
            for index, (name, shape, kind) in enumerate(tensors(h)):
                write_tensor(f, name, shape, kind, np.random.default_rng([a.seed, index]))
                if index % 10 == 0:
                    print("  %-40s %6.1f s" % (name, time.time() - t0), flush=True)
        os.replace(tmp, out)
        print("wrote %s (%.2f GB) in %.0f s" % (out, os.path.getsize(out) / 1e9, time.time() - t0))
    if a.quantize:
        q = out[:-len("-f16.bin")] + "-q8_0.bin" if out.endswith("-f16.bin") else out + ".q8_0"
        if os.path.exists(q) and not a.force:
            print("exists: %s" % q)
        else:
            subprocess.run([a.quantize, out, q + ".partial", "q8_0"], check=True)
            os.replace(q + ".partial", q)
            print("wrote %s (%.2f GB)" % (q, os.path.getsize(q) / 1e9))


if __name__ == "__main__":
    main()
