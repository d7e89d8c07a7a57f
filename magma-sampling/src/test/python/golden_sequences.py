"""Independent reference for the pinned token sequences in StochasticSamplerTest.

Re-implements, from docs/sampling.md and not from the Java code, the generator (SplitMix64, the
algorithm of java.util.SplittableRandom), the two test rows of logits and the documented pipeline
(top-k, nucleus top-p on softmax(logits) with tolerance 1e-6, inverse-CDF draw from
softmax(logits / T) over the kept ids in ascending id order, one nextDouble per token) with a
full numpy sort. Prints the Java arrays to paste into the test.

Run: /usr/bin/python3 magma-sampling/src/test/python/golden_sequences.py
"""
import numpy as np

MASK = (1 << 64) - 1
VOCAB, LIMIT, TOKENS = 50400, 50258, 12


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_long(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def next_double(self):
        return (self.next_long() >> 11) * 2.0 ** -53


def row(seed, peaked):
    rng = SplitMix64(seed)
    out = np.empty(VOCAB, dtype=np.float32)
    for i in range(VOCAB):
        u = rng.next_double()
        u2 = u * u
        u4 = u2 * u2  # u ** 8 by squaring, the same roundings as the Java row
        out[i] = np.float32(20 * (u4 * u4) - 3) if peaked else np.float32(u * 6 - 3)
    return out


def sequence(logits, temperature, top_k, top_p, seed):
    t = float(np.float32(temperature))
    p = float(np.float32(top_p))
    lg = logits[:LIMIT].astype(np.float64)
    ids = np.nonzero(lg != -np.inf)[0]
    ranked = ids[np.lexsort((ids, -lg[ids]))]  # logit descending, id ascending
    if 0 < top_k < len(ranked):
        ranked = ranked[:top_k]
    mx = lg[ranked[0]]
    if p < 1:
        w = np.exp(lg[ranked] - mx)
        head = np.cumsum(w) / w.sum()
        reach = np.nonzero(head >= p - 1e-6)[0]
        ranked = ranked[: (reach[0] + 1 if len(reach) else len(ranked))]
    kept = np.sort(ranked)
    cum = np.cumsum(np.exp((lg[kept] - mx) / t))
    rng = SplitMix64(seed)
    out = []
    for _ in range(TOKENS):
        target = rng.next_double() * cum[-1]
        out.append(int(kept[min(np.searchsorted(cum, target, side="right"), len(kept) - 1)]))
    return out, len(kept)


CASES = [  # name, row, temperature, top_k, top_p, seed
    ("GOLDEN_FLAT_DEFAULTS", "flat", 0.7, 0, 0.9, 0),
    ("GOLDEN_PEAKED_DEFAULTS", "peaked", 0.7, 0, 0.9, 0),
    ("GOLDEN_PEAKED_TOP_K", "peaked", 1.3, 40, 1.0, 0),
    ("GOLDEN_PEAKED_ALL", "peaked", 0.5, 5, 0.5, 123456789),
    ("GOLDEN_FLAT_NO_FILTER", "flat", 1.0, 0, 1.0, -1),
]

if __name__ == "__main__":
    rows = {"flat": row(11, False), "peaked": row(12, True)}
    for name, r, t, k, p, seed in CASES:
        ids, kept = sequence(rows[r], t, k, p, seed)
        print(f"    // {r} row, T={t}, topK={k}, topP={p}, seed={seed}: {kept} ids kept")
        print(f"    private static final int[] {name} = {{{', '.join(map(str, ids))}}};")
