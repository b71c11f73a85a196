"""Times NLTK's sentence_bleu (Texygen self-BLEU-4: uniform weights, SmoothingFunction().method1)
on the corpus benchmarks/ngram_bench.cpp builds, for the comparison in benchmarks/RESULTS.md.

Scoring all N hypotheses against all N - 1 others in Python takes hours for N = 10k, so this
times a seeded sample of hypotheses (the one self_bleu's max_hypotheses draws with seed 0, the
same as ngram_bench's SelfBleuSample), each against every other document, and extrapolates:
    estimated full time = N x (mean CPU seconds per hypothesis)
(CPU time of the process, so a busy machine does not inflate it; wall time is printed too).
It prints the sample's mean BLEU (compare with SelfBleuSample's "self_bleu" counter).

Usage: python3 benchmarks/self_bleu_nltk.py --documents 10000 [--hypotheses 20]
"""
import argparse
import json
import time

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

MASK = (1 << 64) - 1
SEED, VOCAB, LENGTH = 2024, 8192, 128


def splitmix64(x):  # collapse/random.h
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def random_key(seed, keys):
    h = splitmix64(seed)
    for k in keys:
        h = splitmix64(h ^ splitmix64(k))
    return h


def uniform_below(h, n):
    return (h * n) >> 64


def document(d):
    return [min(uniform_below(random_key(SEED, [d, i, j]), VOCAB) for j in range(3))
            for i in range(LENGTH)]


def seeded_subset(documents, size, seed, purpose):  # collapse::seeded_subset
    if size <= 0 or size >= documents:
        return list(range(documents))
    keyed = sorted((random_key(seed, [purpose, d]), d) for d in range(documents))
    return sorted(d for _, d in keyed[:size])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10000)
    parser.add_argument("--hypotheses", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the hypothesis sample")
    args = parser.parse_args()

    docs = [document(d) for d in range(args.documents)]
    sample = seeded_subset(args.documents, args.hypotheses, args.seed, 0)
    smoothing = SmoothingFunction().method1
    scores = []
    start, start_cpu = time.perf_counter(), time.process_time()
    for h in sample:
        references = docs[:h] + docs[h + 1:]
        scores.append(sentence_bleu(references, docs[h], (0.25, 0.25, 0.25, 0.25),
                                    smoothing_function=smoothing))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    per_hypothesis = cpu_seconds / len(sample)
    print(json.dumps({
        "documents": args.documents, "hypotheses_timed": len(sample),
        "wall_seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
        "cpu_seconds_per_hypothesis": per_hypothesis,
        "estimated_full_cpu_seconds": per_hypothesis * args.documents,
        "sample_mean_bleu": sum(scores) / len(scores),
    }))


if __name__ == "__main__":
    main()
