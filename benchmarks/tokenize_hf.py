"""The baseline of benchmarks/tokenize_bench.cpp: the `tokenizers` library encoding the same
built-in corpus with the same tokenizer.json, on 1 and 2 threads.

Usage: python3 benchmarks/tokenize_hf.py [--tokenizer PATH] [--corpus moby-dick|sotu] [--repeats N]

The documents are the ones collapse's load_builtin_corpus reads (moby-dick: chapter_N and the
epilogue; sotu: the YYYY_... addresses), from the corpus cache (COLLAPSE_CACHE_DIR or .cache).
Prints the best of N runs per thread count as MB/s, with the corpus size and token count, so
the two programs can be checked to have encoded the same text into the same number of tokens."""
import argparse
import glob
import json
import os
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def documents(corpus):
    cache = os.environ.get("COLLAPSE_CACHE_DIR", os.path.join(root, ".cache"))
    texts = []
    for path in sorted(glob.glob(os.path.join(cache, "corpora", corpus, "package", "data", "*.json"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        if corpus == "moby-dick" and not (stem.startswith("chapter_") or stem == "epilogue"):
            continue
        if corpus == "sotu" and not (len(stem) > 5 and stem[0].isdigit()):
            continue
        with open(path, encoding="utf-8") as f:
            texts.append(json.load(f)["text"])
    if not texts:
        sys.exit(f"tokenize_hf: no documents of {corpus} in {cache}/corpora (run data/fetch_corpora.sh)")
    return texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokenizer", default=os.path.join(root, "build", "test-work", "hf-tokenizers", "gpt2-real"))
    parser.add_argument("--corpus", default="moby-dick")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    path = args.tokenizer
    if os.path.isdir(path):
        path = os.path.join(path, "tokenizer.json")
    texts = documents(args.corpus)
    size = sum(len(t.encode("utf-8")) for t in texts)
    for threads in (1, 2):
        os.environ["RAYON_NUM_THREADS"] = str(threads)
        os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
        # A fresh process per thread count: the library reads the variables once.
        code = (
            "import sys, time\n"
            "from tokenizers import Tokenizer\n"
            "import json\n"
            f"texts = json.loads(sys.stdin.read())\n"
            f"t = Tokenizer.from_file({path!r})\n"
            "best = None\n"
            f"for _ in range({args.repeats}):\n"
            "    start = time.perf_counter()\n"
            f"    out = t.encode_batch(texts, add_special_tokens=False) if {threads} > 1 else [t.encode(x, add_special_tokens=False) for x in texts]\n"
            "    took = time.perf_counter() - start\n"
            "    best = took if best is None else min(best, took)\n"
            "print(best, sum(len(e.ids) for e in out))\n"
        )
        import subprocess
        r = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, env=os.environ)
        if r.returncode != 0:
            sys.exit(f"tokenize_hf: {r.stderr.strip()}")
        best, tokens = r.stdout.split()
        best = float(best)
        print(f"tokenizers {threads} thread(s): {size / best / 1e6:.2f} MB/s "
              f"({len(texts)} documents, {size / 1e6:.2f} MB, {tokens} tokens, best of {args.repeats}: {best * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
