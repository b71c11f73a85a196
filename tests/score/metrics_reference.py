"""Every metric of `collapse score` recomputed from the token files, as docs/metrics.md defines it,
with numpy (and transformers for the per-document perplexities, NLTK for self-BLEU).

Usage: metrics_reference.py SAMPLES.tok REAL.tok [HF_MODEL_DIR BOS EOS]
Prints {"metrics": {...}, "sizes": {...}} as JSON. Exit 77 when a library is missing.

Written from the definitions, not from the C++ code: tests/cli/end_to_end_test.cpp compares it with
what `collapse score` wrote, so a swapped direction (KL(synthetic || real)), another reference
split, a per-document average or an off-by-one window shows as a difference.
"""
import json
import math
import struct
import sys
from collections import Counter

try:
    import numpy as np
except ImportError:
    sys.exit(77)


def read_token_file(path):
    b = open(path, "rb").read()
    magic, version, width, n_tokens, n_docs, _vocab = struct.unpack_from("<8sIIQQI", b, 0)
    assert magic == b"CLPSTOK\0" and version == 1 and width in (2, 4), path
    assert len(b) == 64 + n_tokens * width + (n_docs + 1) * 8, path
    tokens = np.frombuffer(b, dtype="<u2" if width == 2 else "<u4", count=n_tokens, offset=64)
    offsets = np.frombuffer(b, dtype="<u8", count=n_docs + 1, offset=64 + n_tokens * width)
    return [[int(t) for t in tokens[offsets[d]:offsets[d + 1]]] for d in range(n_docs)]


def ngrams(docs, n):
    """Every window of n tokens inside one document, with repetition."""
    return Counter(tuple(d[i:i + n]) for d in docs for i in range(len(d) - n + 1))


def distinct(counts):
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def entropy(counts):
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def coverage(real, synthetic, rare_only):
    # The real split's distinct n-grams by count, descending, ties by the ids ascending; the
    # first floor(10% of distinct) are frequent, the rest rare.
    ranked = sorted(real, key=lambda g: (-real[g], g))
    pool = ranked[len(ranked) * 10 // 100:] if rare_only else ranked
    return sum(1 for g in pool if g in synthetic) / len(pool) if pool else 0.0


def unigram_kl(real, synthetic):
    union = set(real) | set(synthetic)
    R, S, U = sum(real.values()), sum(synthetic.values()), len(union)
    kl = 0.0
    for t in union:
        p = (real[t] + 1) / (R + U)
        q = (synthetic[t] + 1) / (S + U)
        kl += p * math.log2(p / q)
    return kl


def unigram_js(real, synthetic):
    union = sorted(set(real) | set(synthetic))
    if not union:
        return 0.0

    def dist(c):
        total = sum(c.values())
        return np.array([c[t] / total if total else 1 / len(union) for t in union])

    p, q = dist(real), dist(synthetic)
    m = (p + q) / 2

    def kl(a, b):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))

    return kl(p, m) / 2 + kl(q, m) / 2


def zipf_exponent(unigrams):
    f = sorted(unigrams.values(), reverse=True)[:1000]
    if len(f) < 2:
        return 0.0
    slope, _ = np.polyfit(np.log(np.arange(1, len(f) + 1)), np.log(f), 1)
    return -float(slope)


def document_perplexities(model_dir, docs, bos, eos):
    """Each document alone as BOS x_1..x_n EOS: exp of the mean NLL of its n + 1 predictions."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir).float().eval()
    out = []
    with torch.no_grad():
        for d in docs:
            ids = torch.tensor([[bos] + d + [eos]])
            logits = model(ids).logits[0, :-1].double()
            nll = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="mean")
            out.append(math.exp(float(nll)))
    return out


def self_bleu4(docs):
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    smooth = SmoothingFunction().method1
    scores = [sentence_bleu(docs[:i] + docs[i + 1:], h, weights=(0.25,) * 4, smoothing_function=smooth)
              for i, h in enumerate(docs)]
    return sum(scores) / len(scores)


def main():
    synthetic, real = read_token_file(sys.argv[1]), read_token_file(sys.argv[2])
    metrics, sizes = {}, {"synthetic_documents": len(synthetic), "real_documents": len(real)}
    for n in (1, 2, 3, 4):
        s, r = ngrams(synthetic, n), ngrams(real, n)
        metrics[f"distinct_{n}"] = distinct(s)
        metrics[f"entropy_{n}"] = entropy(s)
        metrics[f"coverage_{n}"] = coverage(r, s, False)
        metrics[f"rare_coverage_{n}"] = coverage(r, s, True)
        sizes[f"ngrams_{n}"] = sum(s.values())
        sizes[f"real_distinct_{n}"] = len(r)
    s1, r1 = Counter(t for d in synthetic for t in d), Counter(t for d in real for t in d)
    metrics["unigram_kl"] = unigram_kl(r1, s1)
    metrics["unigram_js"] = unigram_js(r1, s1)
    metrics["zipf_exponent"] = zipf_exponent(s1)
    try:
        metrics["self_bleu_4"] = self_bleu4(synthetic)
    except ImportError:
        sys.exit(77)
    if len(sys.argv) > 3:
        try:
            ppl = document_perplexities(sys.argv[3], synthetic, int(sys.argv[4]), int(sys.argv[5]))
        except ImportError:
            sys.exit(77)
        metrics["ppl_mean"] = float(np.mean(ppl))
        for name, q in (("ppl_median", 0.5), ("ppl_p10", 0.1), ("ppl_p90", 0.9)):
            metrics[name] = float(np.quantile(ppl, q))
    print(json.dumps({"metrics": metrics, "sizes": sizes}))


if __name__ == "__main__":
    main()
