"""Writes summary.json and summary.md for scripts/gpu/check.sh from what its stages left in OUTDIR.

  python3 scripts/gpu/check_summary.py OUTDIR --mode gpu|cpu --stages "machine deps ..." \
      --seconds TOTAL --command "scripts/gpu/check.sh ..."

Reads OUTDIR/stages.tsv (one line per finished stage: name, status, seconds, gpu_only, note),
OUTDIR/machine.json, the Google Benchmark JSON files OUTDIR/bench/NAME.json and the baselines'
JSON lines OUTDIR/bench/NAME.jsonl. Every stage of --stages is listed; one without a line in
stages.tsv (the run was cut off) has status "not-run". The headline numbers are taken from the
benchmark files as they are: kernel vs baseline times and their ratios. check.sh calls this after
every stage, so a run killed at the device's time limit still leaves a summary. Standard library
only: it runs wherever check.sh does.
"""
import argparse
import datetime
import json
import os
import re


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_json_lines(path):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        pass
    except OSError:
        pass
    return rows


def bench_rows(outdir, name):
    """Google Benchmark entries of bench/NAME.json that ran (errors listed apart)."""
    data = read_json(os.path.join(outdir, "bench", name + ".json")) or {}
    ok, errors = [], []
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            errors.append({"name": b.get("name"), "error": b.get("error_message")})
        elif b.get("run_type", "iteration") == "iteration":
            ok.append(b)
    return ok, errors


UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds_of(b):
    return b["real_time"] * UNIT_SECONDS.get(b.get("time_unit", "ns"), 1e-9)


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def gbps(b):
    v = b.get("bytes_per_second")
    return float(f"{v / 1e9:.3g}") if v else None


def base_name(b):
    return re.sub(r"/(manual_time|real_time)$", "", b["name"])


def peak_bandwidth(outdir):
    """The GPU's theoretical memory bandwidth in GB/s (machine.json), or None."""
    return (read_json(os.path.join(outdir, "machine.json")) or {}).get("gpu_theoretical_bandwidth_GBps")


def percent_of(value, peak):
    return round(100 * value / peak, 1) if value and peak else None


def sampling(outdir):
    rows, errors = bench_rows(outdir, "sampling")
    peak = peak_bandwidth(outdir)
    by = {}
    for b in rows:
        m = re.match(r"(ours|libtorch)/(\d+)/(\d+)/(\w+)", base_name(b))
        if m:
            by.setdefault((int(m[2]), int(m[3]), m[4]), {})[m[1]] = b
    out = []
    for (batch, vocab, dtype), d in sorted(by.items()):
        ours, lib = d.get("ours"), d.get("libtorch")
        out.append({
            "batch": batch, "vocab": vocab, "dtype": dtype,
            "ours_us": round(seconds_of(ours) * 1e6, 2) if ours else None,
            "libtorch_us": round(seconds_of(lib) * 1e6, 2) if lib else None,
            "speedup": ratio(seconds_of(lib), seconds_of(ours)) if ours and lib else None,
            "ours_GBps": gbps(ours) if ours else None,
            "libtorch_GBps": gbps(lib) if lib else None,
            "ours_pct_of_peak_bandwidth": percent_of(gbps(ours), peak) if ours else None,
            "kernel": ("yes" if ours.get("kernel") else "no") if ours else None,
            "copies": (ours or lib).get("copies"),
        })
    return {"rows": out, "errors": errors}


NLL_METHODS = {0: "token_nll", 1: "cross_entropy", 2: "log_softmax_gather"}


def nll(outdir):
    rows, errors = bench_rows(outdir, "nll")
    peak = peak_bandwidth(outdir)
    by, chunked = {}, None
    for b in rows:
        name = base_name(b)
        m = re.match(r"logits_to_nll/method:(\d)/vocab:(\d+)/bf16:(\d)", name)
        if m:
            key = (int(m[2]), "bf16" if m[3] == "1" else "fp32")
            by.setdefault(key, {})[NLL_METHODS[int(m[1])]] = b
        elif name.startswith("chunked_corpus"):
            chunked = {"seconds": round(seconds_of(b), 3), "tokens": b.get("tokens"),
                       "tokens_per_s": round(b["items_per_second"]) if b.get("items_per_second") else None,
                       "peak_MiB": b.get("peak_MiB")}
    out = []
    for (vocab, dtype), d in sorted(by.items()):
        row = {"vocab": vocab, "dtype": dtype, "tokens": next(iter(d.values())).get("tokens")}
        for method, b in d.items():
            row[method + "_ms"] = round(seconds_of(b) * 1e3, 3)
            row[method + "_GBps"] = gbps(b)
            row[method + "_pct_of_peak_bandwidth"] = percent_of(gbps(b), peak)
            if "peak_MiB" in b:
                row[method + "_peak_MiB"] = round(b["peak_MiB"], 1)
        ours = d.get("token_nll")
        for method in ("cross_entropy", "log_softmax_gather"):
            if ours and method in d:
                row["speedup_vs_" + method] = ratio(seconds_of(d[method]), seconds_of(ours))
        out.append(row)
    return {"rows": out, "chunked": chunked, "errors": errors}


def ngram(outdir):
    rows, errors = bench_rows(outdir, "ngram")
    out = []
    for b in rows:
        rate = {k: round(b[k]) for k in ("tokens/s", "hypotheses/s") if k in b}
        out.append({"benchmark": base_name(b), "ms": round(seconds_of(b) * 1e3, 2), "engine": b.get("label"), **rate})
    return {"rows": out, "errors": errors}


def collapse_train(outdir):
    rows, errors = bench_rows(outdir, "train")
    out = {}
    for b in rows:
        m = re.match(r"train_steps/(\w+)/(\d+)", base_name(b))
        if m:
            out[(m[1], int(m[2]))] = {"preset": m[1], "batch": int(m[2]),
                                     "ms_per_step": round(seconds_of(b) * 1e3, 2),
                                     "tokens_per_s": round(b.get("items_per_second", 0))}
    return out, errors


def train(outdir):
    ours, errors = collapse_train(outdir)
    return {"rows": list(ours.values()), "errors": errors}


def train_baseline(outdir, name):
    ours, _ = collapse_train(outdir)
    out = []
    for r in read_json_lines(os.path.join(outdir, "bench", name + ".jsonl")):
        mine = ours.get((r.get("preset"), r.get("batch")))
        out.append({"preset": r.get("preset"), "batch": r.get("batch"), "mode": r.get("mode"),
                    "tokens_per_s": round(r["tokens_per_s"]) if r.get("tokens_per_s") else None,
                    "ms_per_step": round(r["ms_per_step"], 2) if r.get("ms_per_step") else None,
                    "warmup_s": round(r["warmup_s"], 1) if r.get("warmup_s") is not None else None,
                    "collapse_tokens_per_s": mine["tokens_per_s"] if mine else None,
                    "collapse_over_baseline": ratio(mine["tokens_per_s"], r.get("tokens_per_s")) if mine else None})
    return {"rows": out}


DECODE = {1: "eager", 2: "fixed", 3: "graph"}


def collapse_generate(outdir):
    rows, errors = bench_rows(outdir, "generate")
    by = {}
    for b in rows:
        m = re.match(r"generate/batch:(\d+)/decode:(\d)", base_name(b))
        if m and b.get("tokens/s"):
            by.setdefault(int(m[1]), {})[DECODE[int(m[2])]] = round(b["tokens/s"])
    return by, errors


def generate(outdir):
    by, errors = collapse_generate(outdir)
    out = []
    for batch, modes in sorted(by.items()):
        out.append({"batch": batch, **{m + "_tokens_per_s": v for m, v in modes.items()},
                    "graph_over_fixed": ratio(modes.get("graph"), modes.get("fixed")),
                    "graph_over_eager": ratio(modes.get("graph"), modes.get("eager"))})
    return {"rows": out, "errors": errors}


def generate_baseline(outdir):
    by, _ = collapse_generate(outdir)
    out = []
    for r in read_json_lines(os.path.join(outdir, "bench", "generate-hf.jsonl")):
        modes = by.get(r.get("batch"), {})
        best = max(modes.values()) if modes else None
        out.append({"batch": r.get("batch"), "hf_tokens_per_s": r.get("tokens_per_s"),
                    "collapse_best_tokens_per_s": best,
                    "collapse_best_mode": max(modes, key=modes.get) if modes else None,
                    "collapse_over_hf": ratio(best, r.get("tokens_per_s"))})
    return {"rows": out}


HEADLINES = {
    "bench-sampling": sampling,
    "bench-nll": nll,
    "bench-ngram": ngram,
    "bench-train": train,
    "baseline-train-eager": lambda d: train_baseline(d, "train-eager"),
    "baseline-train-compile": lambda d: train_baseline(d, "train-compile"),
    "bench-generate": generate,
    "baseline-generate-hf": generate_baseline,
}


def read_stages(outdir):
    done = {}
    try:
        with open(os.path.join(outdir, "stages.tsv"), encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 5:
                    name, status, seconds, gpu_only, note = parts[:5]
                    done[name] = {"status": status, "seconds": float(seconds),
                                  "gpu_only": gpu_only == "1", "note": note}
    except OSError:
        pass
    return done


def cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.6g}"
    return str(v)


def table(rows, columns):
    """Markdown table of the dicts `rows` with (key, header) columns that some row has."""
    columns = [(k, h) for k, h in columns if any(r.get(k) is not None for r in rows)]
    if not rows or not columns:
        return []
    lines = ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return lines + [""]


def markdown(summary):
    verdict = "PASSED" if summary["passed"] else ("FAILED" if summary["complete"] else "INCOMPLETE")
    lines = [f"# scripts/gpu/check.sh: {verdict} ({summary['mode']} mode, {summary['seconds']:.0f} s)", "",
             f"Command: `{summary['command']}`  ", f"Written: {summary['written']}", ""]
    machine = summary.get("machine") or {}
    if machine:
        lines += ["## Machine", ""] + [f"- {k}: {v}" for k, v in machine.items()] + [""]
    lines += ["## Stages", "", "| stage | status | seconds | note |", "|---|---|---:|---|"]
    for s in summary["stages"]:
        lines.append(f"| {s['name']} | {s['status']} | {s['seconds']:.1f} | {s['note']} |")
    lines.append("")
    h = {s["name"]: s.get("headline") for s in summary["stages"] if s.get("headline")}
    lines += ["## Headline numbers", "",
              "Kernel benchmarks: CUDA-event time per call on rotated inputs (CPU: host time); "
              "speedup = baseline time / ours; % of peak: of the theoretical bandwidth "
              "(memory clock x bus width, machine.json).", ""]
    if h.get("bench-sampling", {}).get("rows"):
        lines += ["### Sampling step (temperature 0.8, top-p 0.9)", ""]
        lines += table(h["bench-sampling"]["rows"], [
            ("batch", "batch"), ("vocab", "vocab"), ("dtype", "dtype"), ("ours_us", "ours (us)"),
            ("libtorch_us", "LibTorch (us)"), ("speedup", "speedup"), ("ours_GBps", "ours GB/s"),
            ("ours_pct_of_peak_bandwidth", "% of peak"),
            ("kernel", "fused kernel"), ("copies", "rotated copies")])
    if h.get("bench-nll", {}).get("rows") or h.get("bench-nll", {}).get("chunked"):
        lines += ["### Per-token NLL", ""]
        lines += table(h["bench-nll"]["rows"], [
            ("tokens", "N"), ("vocab", "vocab"), ("dtype", "dtype"), ("token_nll_ms", "token_nll (ms)"),
            ("cross_entropy_ms", "cross_entropy (ms)"), ("log_softmax_gather_ms", "log_softmax+gather (ms)"),
            ("speedup_vs_cross_entropy", "speedup vs CE"), ("token_nll_GBps", "token_nll GB/s"),
            ("token_nll_pct_of_peak_bandwidth", "% of peak"),
            ("token_nll_peak_MiB", "token_nll peak MiB")])
        c = h["bench-nll"].get("chunked")
        if c:
            lines += [f"Chunked path: {cell(c['tokens'])} tokens in {c['seconds']} s "
                      f"({cell(c['tokens_per_s'])} tokens/s), peak {cell(c['peak_MiB'])} MiB.", ""]
    if h.get("bench-ngram", {}).get("rows"):
        lines += ["### n-gram metrics", ""]
        lines += table(h["bench-ngram"]["rows"], [("benchmark", "benchmark"), ("engine", "engine"),
                                                  ("ms", "ms"), ("tokens/s", "tokens/s"),
                                                  ("hypotheses/s", "hypotheses/s")])
    train_rows = h.get("bench-train", {}).get("rows", [])
    base_rows = (h.get("baseline-train-eager") or {}).get("rows", []) + \
        (h.get("baseline-train-compile") or {}).get("rows", [])
    if train_rows or base_rows:
        lines += ["### Training throughput", ""]
        lines += table([dict(r, mode="collapse (C++)") for r in train_rows] + base_rows, [
            ("preset", "preset"), ("batch", "batch"), ("mode", "who"), ("tokens_per_s", "tokens/s"),
            ("ms_per_step", "ms/step"), ("warmup_s", "warm-up s (compile)"),
            ("collapse_over_baseline", "collapse / this")])
    gen_rows = h.get("bench-generate", {}).get("rows", [])
    hf_rows = (h.get("baseline-generate-hf") or {}).get("rows", [])
    if gen_rows or hf_rows:
        lines += ["### Generation throughput (tokens/s)", ""]
        hf = {r["batch"]: r for r in hf_rows}
        merged = [dict(r, **{k: v for k, v in hf.get(r["batch"], {}).items() if k != "batch"}) for r in gen_rows]
        merged += [r for r in hf_rows if r["batch"] not in {g["batch"] for g in gen_rows}]
        lines += table(merged, [
            ("batch", "batch"), ("eager_tokens_per_s", "eager"), ("fixed_tokens_per_s", "fixed"),
            ("graph_tokens_per_s", "CUDA graph"), ("hf_tokens_per_s", "HF generate()"),
            ("collapse_over_hf", "best / HF"), ("graph_over_fixed", "graph / fixed")])
    errors = [(n, e) for n, v in h.items() for e in (v.get("errors") or [])]
    if errors:
        lines += ["### Benchmark errors", ""] + [f"- {n}: {e['name']}: {e['error']}" for n, e in errors] + [""]
    lines += ["Logs: `logs/<stage>.log`; benchmark JSON: `bench/`.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--mode", required=True, choices=["gpu", "cpu"])
    parser.add_argument("--stages", required=True, help="every stage name, in order, space-separated")
    parser.add_argument("--seconds", type=float, required=True, help="seconds since check.sh started")
    parser.add_argument("--command", default="scripts/gpu/check.sh")
    args = parser.parse_args()

    done = read_stages(args.outdir)
    stages = []
    for name in args.stages.split():
        s = done.get(name, {"status": "not-run", "seconds": 0.0, "gpu_only": False,
                            "note": "not reached (the run was cut off or is still going)"})
        entry = {"name": name, **s, "log": f"logs/{name}.log"}
        if name in HEADLINES and s["status"] != "skipped":
            entry["headline"] = HEADLINES[name](args.outdir)
        stages.append(entry)
    complete = all(s["status"] != "not-run" for s in stages)
    summary = {
        "mode": args.mode,
        "command": args.command,
        "written": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(args.seconds, 1),
        "complete": complete,
        "passed": complete and all(s["status"] != "failed" for s in stages),
        "machine": read_json(os.path.join(args.outdir, "machine.json")) or {},
        "stages": stages,
    }
    for name, text in (("summary.json", json.dumps(summary, indent=1) + "\n"), ("summary.md", markdown(summary))):
        tmp = os.path.join(args.outdir, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, os.path.join(args.outdir, name))


if __name__ == "__main__":
    main()
