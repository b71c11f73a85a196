"""NLTK's sentence BLEU-4 (the Texygen self-BLEU setting) for tests/score/self_bleu_test.cpp.

Usage: self_bleu_nltk.py INPUT.json, where INPUT is a list of cases, each holding "documents"
(lists of token ids), "hypotheses" and "references" (document indices). Every hypothesis h is
scored with sentence_bleu(references other than h, h, weights (0.25,) * 4,
SmoothingFunction().method1). Prints {"nltk": version, "scores": [[one per hypothesis] per case]}
(one process for every case: importing nltk takes seconds).
Exit 0: scored; 77: nltk not importable (the test skips, or fails under CI)."""
import json
import sys

try:
    import nltk
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
except ImportError as error:
    print(f"cannot import: {error}")
    sys.exit(77)

with open(sys.argv[1]) as f:
    cases = json.load(f)
smoothing = SmoothingFunction().method1
scores = []
for case in cases:
    documents = case["documents"]
    scores.append([])
    for h in case["hypotheses"]:
        references = [documents[r] for r in case["references"] if r != h]
        scores[-1].append(float(sentence_bleu(references, documents[h], (0.25, 0.25, 0.25, 0.25),
                                              smoothing_function=smoothing)))
print(json.dumps({"nltk": nltk.__version__, "scores": scores}))
