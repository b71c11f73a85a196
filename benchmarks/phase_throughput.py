#!/usr/bin/env python3
"""Per-phase throughput of a finished run of benchmarks/phase_probe.toml, from each generation's
timings.json (wall seconds per phase) and metrics.json (sizes): the numbers the dry run's time
estimate uses (src/experiment/time_estimate.cpp, measured_throughput()).

  train    tokens/s of optimizer steps: steps x batch x context over the train phase, less its
           valid-loss evaluations (charged at the forward rate)
  forward  tokens/s of scoring: the test split + the synthetic tokens twice (perplexity and
           features under the generation-0 model) + as many real test windows, over the score phase
  decode   generated tokens/s over the generate phase

Usage: python3 benchmarks/phase_throughput.py RUN [--steps 250 --batch 16 --context 64 --eval-every 100]
"""
import argparse
import glob
import json
import os


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--eval-every", type=int, default=100)
    a = p.parse_args()
    manifest = json.load(open(os.path.join(a.run, "data", "manifest.json")))
    valid = manifest["splits"]["valid"]["tokens"]
    evals = a.steps // a.eval_every + (1 if a.steps % a.eval_every else 0)
    rates = {"train": [], "forward": [], "decode": []}
    for gen in sorted(glob.glob(os.path.join(a.run, "*", "seed-*", "gen-*"))):
        timings = json.load(open(os.path.join(gen, "timings.json")))
        sizes = json.load(open(os.path.join(gen, "metrics.json")))["sizes"]
        wall = {ph["phase"]: ph["wall_seconds"] for ph in timings["phases"]}
        synthetic, test = sizes["synthetic_tokens"], sizes["test_tokens"]
        forward_tokens = test + 2 * synthetic + min(synthetic, test)
        forward = forward_tokens / wall["score"]
        train = a.steps * a.batch * a.context / (wall["train"] - evals * valid / forward)
        decode = synthetic / wall["generate"]
        rates["train"].append(train)
        rates["forward"].append(forward)
        rates["decode"].append(decode)
        print(f"{os.path.relpath(gen, a.run)}: train {train:.0f}, forward {forward:.0f}, decode {decode:.0f} tokens/s")
    print("mean: " + ", ".join(f"{k} {sum(v) / len(v):.0f}" for k, v in rates.items()) + " tokens/s")


if __name__ == "__main__":
    main()
