#!/usr/bin/env python3
"""Runs ggml's gpt-j example once and times its phases from its output stream.

    /usr/bin/python3 tools/bench/ggml/ggml_run.py --bin BUILD/bin/gpt-j --model FILE \
        [--threads 2] [--prompt-tokens 160] [--new-tokens 32] [--seed 1] --log RAW.log --json OUT.json

The example prints one summary at exit: load time, sample time, and "predict time", the sum of
every gptj_eval call after its 4-token warm-up (the prompt and the decode steps together), over
n_past tokens. To split prefill from decode without changing ggml, this wrapper reads the
example's stdout through a pipe and stamps each chunk: the example flushes stdout after each
loop step, printing the tokens it is about to evaluate (the whole prompt at once here, as
-b equals the prompt length: one batch of 160) or the token it just sampled. So
  prefill s = (first generated token's arrival) - (prompt text's arrival): the 160-token eval
              and one sampling;
  decode s/token = (last token's arrival - first token's arrival) / (new tokens - 1): one eval of
              one token and one sampling each, as magma-java's decode steps.
Each generated token prints as one " word" (random_model.py's vocabulary), so the words in a
chunk count its tokens even where a slow reader got several flushes at once; the run fails
rather than guess when fewer than --new-tokens arrive.
Greedy sampling (--top_k 1); the random model never emits <|endoftext|> (random_model.py), so it
generates all --new-tokens.

Bytes read per decode token: every tensor of the model file except the token embedding (one row
of it per token), at its stored size (f16 2 bytes, f32 4, q8_0 34 per 32 values), as
magma-java's bench counts its own.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import random_model  # noqa: E402

# ggml_type -> (bytes per block, values per block)
TYPE_SIZES = {0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32)}
TYPE_NAMES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0"}


def model_bytes(path):
    """(hparams, bytes per decode token, total tensor bytes, {type name: tensor count}) of a ggml GPT-J file."""
    with open(path, "rb") as f:
        magic, n_vocab, n_ctx, n_embd, n_head, n_layer, n_rot, ftype = struct.unpack("<8i", f.read(32))
        if magic != random_model.GGML_MAGIC:
            raise SystemExit("%s: not a ggml file" % path)
        (n,) = struct.unpack("<i", f.read(4))
        for _ in range(n):
            (length,) = struct.unpack("<I", f.read(4))
            f.seek(length, 1)
        per_token = total = 0
        types = {}
        while True:
            head = f.read(12)
            if len(head) < 12:
                break
            n_dims, length, ttype = struct.unpack("<3i", head)
            dims = struct.unpack("<%di" % n_dims, f.read(4 * n_dims))
            name = f.read(length).decode()
            count = 1
            for d in dims:
                count *= d
            size, block = TYPE_SIZES[ttype]
            nbytes = count // block * size
            total += nbytes
            types[TYPE_NAMES[ttype]] = types.get(TYPE_NAMES[ttype], 0) + 1
            if name != "transformer.wte.weight":
                per_token += nbytes
            f.seek(nbytes, 1)
    h = dict(n_vocab=n_vocab, n_ctx=n_ctx, n_embd=n_embd, n_head=n_head, n_layer=n_layer, n_rot=n_rot, ftype=ftype)
    return h, per_token, total, types


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=160)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()

    prompt = random_model.prompt_words(a.prompt_tokens)
    cmd = [a.bin, "-m", a.model, "-t", str(a.threads), "-n", str(a.new_tokens), "-b", str(a.prompt_tokens),
           "--seed", str(a.seed), "--top_k", "1", "-p", prompt]
    stream = bytearray()
    chunks = []  # (seconds since start, offset after the chunk)
    t0 = time.monotonic()
    with open(a.log + ".stderr", "wb") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        fd = p.stdout.fileno()
        while True:
            data = os.read(fd, 1 << 16)
            if not data:
                break
            stream += data
            chunks.append((time.monotonic() - t0, len(stream)))
        rc = p.wait()
    wall = time.monotonic() - t0
    text = stream.decode("utf-8", "replace")
    with open(a.log, "w") as f:
        f.write("$ " + " ".join(cmd[:-2]) + " -p '<%d one-token words>'\n" % a.prompt_tokens)
        f.write(text)
        f.write("\n# chunk arrivals (s since start, stream offset): %s\n" % json.dumps(
            [[round(t, 4), o] for t, o in chunks]))
    if rc != 0:
        raise SystemExit("gpt-j exited with %d; see %s and %s.stderr" % (rc, a.log, a.log))

    def grab(pattern, cast=float):
        m = re.search(pattern, text)
        if not m:
            raise SystemExit("no %r in %s" % (pattern, a.log))
        return cast(m.group(1))

    n_prompt = grab(r"number of tokens in prompt = (\d+)", int)
    if n_prompt != a.prompt_tokens:
        raise SystemExit("the prompt became %d tokens, not %d" % (n_prompt, a.prompt_tokens))
    load_ms = grab(r"load time = +([\d.]+) ms")
    sample_ms = grab(r"sample time = +([\d.]+) ms")
    predict_ms = grab(r"predict time = +([\d.]+) ms")
    total_ms = grab(r"total time = +([\d.]+) ms")
    # stream offsets: where the prompt text ends, where the exit summary begins
    p_end = stream.find(prompt.encode()) + len(prompt)
    if p_end < len(prompt):
        raise SystemExit("the prompt text is not in the output")
    s_start = stream.find(b"\n\nmain: mem per token")
    t_prompt = next(t for t, o in chunks if o >= p_end)
    # Generated text: one " word" per token (random_model.py keeps the byte tokens from being
    # sampled), in one flush per token; a slow reader may get several flushes in one chunk, and the
    # last chunk may also hold the exit summary, printed at once.
    arrivals = []  # (time, tokens so far) per chunk holding generated text
    prev = 0
    for t, o in chunks:
        if o > p_end and prev < s_start:
            arrivals.append((t, stream[p_end:min(o, s_start)].count(b" ")))
        prev = o
    generated = arrivals[-1][1] if arrivals else 0
    h, per_token, total_bytes, types = model_bytes(a.model)
    r = {
        "side": "ggml",
        "model": os.path.abspath(a.model),
        "modelFileBytes": os.path.getsize(a.model),
        "hparams": h,
        "tensorTypes": types,
        "threads": a.threads,
        "promptTokens": n_prompt,
        "newTokens": a.new_tokens,
        "loadSeconds": load_ms / 1e3,
        "sampleSeconds": sample_ms / 1e3,
        "predictSeconds": predict_ms / 1e3,
        "totalSeconds": total_ms / 1e3,
        "wallSeconds": wall,
        "decodeWeightBytesPerToken": per_token,
        "tokenArrivals": len(arrivals),
    }
    if generated != a.new_tokens or a.new_tokens < 2 or arrivals[-1][1] == arrivals[0][1]:
        raise SystemExit("%d tokens generated in %d arrivals for %d new tokens: cannot split prefill from decode (%s)"
                         % (generated, len(arrivals), a.new_tokens, a.log))
    (t_first, k_first), (t_last, k_last) = arrivals[0], arrivals[-1]
    decode = (t_last - t_first) / (k_last - k_first)
    prefill = t_first - t_prompt - (k_first - 1) * decode
    r["prefillSeconds"] = prefill
    r["prefillTokensPerSecond"] = n_prompt / prefill
    r["decodeSteps"] = a.new_tokens - 1
    r["decodeSecondsPerToken"] = decode
    r["decodeTokensPerSecond"] = 1 / decode
    r["decodeWeightGBps"] = per_token / decode / 1e9
    # check: ggml's own predict time = the prefill eval + (new tokens - 1) decode evals
    r["predictMinusStreamSeconds"] = predict_ms / 1e3 - (prefill + decode * (a.new_tokens - 1))
    with open(a.json, "w") as f:
        json.dump(r, f, indent=2)
    print("ggml %s: load %.2f s, prefill %.2f s (%d tokens), decode %.3f s/token = %.2f tok/s, %.1f GB/s of %.2f GB/token"
          % (os.path.basename(a.model), r["loadSeconds"], prefill, n_prompt, decode, 1 / decode,
             r["decodeWeightGBps"], per_token / 1e9))


if __name__ == "__main__":
    main()
