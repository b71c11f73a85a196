#!/usr/bin/env python3
"""The mutation check: does the test suite fail when a result is wrong?

Usage: scripts/mutants.py [--check] [--only ID[,ID...]] [--scratch DIR] [--jobs N] [--list]

tests/mutants.toml lists planted faults, one per [[mutant]]: a `file` of the source tree, a
snippet to `find` there (exactly once) and what to `replace` it with, the `concept` it breaks, and
`tests`, a ctest regular expression of the tests that should notice. Each mutant is applied to a
scratch copy of the tree (DIR, default build-mutants/: the tree under DIR/tree, its build under
DIR/tree/build, kept between invocations so each mutant rebuilds only what it touched), built, and
run against its `tests` first, then, if they all pass, against every CPU test (labels unit and
cli). A mutant is killed when a test fails or times out; it survives when the whole suite passes.
A mutant that does not compile is an error of the list. A survivor is either killed by a new test
or marked `equivalent = "why the change cannot alter a result"`; equivalent mutants are still run
and reported but do not count.

Prints one line per mutant and the mutation score (killed / counted) with the time taken; writes
DIR/last.json. Exit status 0 when every counted mutant was killed. Not part of CI: a rebuild per
mutant takes hours on 2 cores. docs/testing.md has the last score.

--check only validates the list against the working tree (each snippet found exactly once, the
fields present, ids unique): the ctest `mutants.list_applies` runs it so that the list moves with
the code. --list prints the mutants.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # --root replaces it (tests/support/mutants_tool_test.py)
FIELDS = {"id", "concept", "file", "find", "replace", "tests"}
OPTIONAL = {"equivalent"}


def load(path):
    with open(path, "rb") as f:
        mutants = tomllib.load(f).get("mutant", [])
    errors, seen = [], set()
    for i, m in enumerate(mutants):
        where = f"{path.name}: mutant {i + 1} ({m.get('id', '?')})"
        missing, unknown = FIELDS - m.keys(), m.keys() - FIELDS - OPTIONAL
        if missing:
            errors.append(f"{where}: missing {', '.join(sorted(missing))}")
            continue
        if unknown:
            errors.append(f"{where}: unknown key {', '.join(sorted(unknown))}")
        if m["id"] in seen:
            errors.append(f"{where}: id '{m['id']}' used twice")
        seen.add(m["id"])
        source = ROOT / m["file"]
        if not source.is_file():
            errors.append(f"{where}: no file {m['file']}")
            continue
        found = source.read_text().count(m["find"])
        if found != 1:
            errors.append(f"{where}: `find` occurs {found} times in {m['file']} (must be once)")
        if m["find"] == m["replace"]:
            errors.append(f"{where}: `replace` equals `find`")
    return mutants, errors


def run(cmd, cwd, log, timeout=None):
    """Runs cmd, appending its output to log; returns (exit status, seconds)."""
    start = time.monotonic()
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        try:
            rc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    return rc, time.monotonic() - start


def sync_tree(tree):
    """The scratch tree holds the working tree's tracked and untracked (not ignored) files; files
    whose bytes did not change keep their times, so the scratch build stays incremental."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src, dst = ROOT / name, tree / name
        if not src.is_file():
            continue
        if dst.is_file() and dst.read_bytes() == src.read_bytes():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    # The scratch tree uses this checkout's Python environment and corpus cache.
    for shared in (".venv", ".cache"):
        link = tree / shared
        if (ROOT / shared).exists() and not link.exists():
            link.symlink_to(ROOT / shared)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only validate tests/mutants.toml")
    parser.add_argument("--list", action="store_true", help="print the mutants")
    parser.add_argument("--only", help="comma-separated mutant ids to run")
    parser.add_argument("--scratch", help="scratch folder (default: ROOT/build-mutants)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="build and test jobs")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one ctest run may take")
    parser.add_argument("--root", help="the source tree (default: this checkout)")
    args = parser.parse_args()
    global ROOT
    if args.root:
        ROOT = Path(args.root).resolve()

    mutants, errors = load(ROOT / "tests" / "mutants.toml")
    if errors:
        for e in errors:
            print(f"mutants: error: {e}", file=sys.stderr)
        return 1
    if args.check:
        print(f"mutants: {len(mutants)} mutants, each applies to the working tree")
        return 0
    if args.list:
        for m in mutants:
            print(f"{m['id']:28s} {m['concept']}  ({m['file']})")
        return 0
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m["id"] for m in mutants}
        if unknown:
            print(f"mutants: error: --only names no mutant {', '.join(sorted(unknown))}", file=sys.stderr)
            return 1
        mutants = [m for m in mutants if m["id"] in wanted]

    scratch = Path(args.scratch) if args.scratch else ROOT / "build-mutants"
    tree, log = scratch / "tree", scratch / "mutants.log"
    tree.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    started = time.monotonic()
    sync_tree(tree)
    build = tree / "build"
    jobs = str(args.jobs)
    print(f"mutants: building the unmutated scratch tree in {build} (log: {log})", flush=True)
    if run(["cmake", "-S", str(tree), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", "-DCOLLAPSE_CUDA=OFF"],
           tree, log)[0] != 0 or run(["cmake", "--build", str(build), "-j", jobs], tree, log)[0] != 0:
        print(f"mutants: error: the unmutated tree does not build; see {log}", file=sys.stderr)
        return 1
    ctest = ["ctest", "--test-dir", str(build), "-j", jobs, "--stop-on-failure", "--timeout", "600"]
    results = []
    for i, m in enumerate(mutants, 1):
        source = tree / m["file"]
        original = source.read_text()
        source.write_text(original.replace(m["find"], m["replace"], 1))
        try:
            rc, took = run(["cmake", "--build", str(build), "-j", jobs], tree, log)
            if rc != 0:
                verdict, by = "does not compile", ""
            else:
                verdict, by = "survived", ""
                for stage, selection in (("its tests", ["-R", m["tests"]]), ("the suite", ["-L", "unit|cli"])):
                    rc, seconds = run(ctest + selection, tree, log, timeout=args.timeout)
                    took += seconds
                    if rc != 0:
                        verdict, by = "killed", stage
                        break
        finally:
            source.write_text(original)
        note = f" (equivalent: {m['equivalent']})" if "equivalent" in m else ""
        print(f"[{i}/{len(mutants)}] {m['id']}: {verdict}{' by ' + by if by else ''} in {took:.0f} s{note}",
              flush=True)
        results.append({"id": m["id"], "concept": m["concept"], "verdict": verdict, "by": by,
                        "seconds": round(took), "equivalent": "equivalent" in m})
    # Rebuild the unmutated tree so that the next invocation starts from it.
    run(["cmake", "--build", str(build), "-j", jobs], tree, log)

    counted = [r for r in results if not r["equivalent"]]
    killed = sum(r["verdict"] == "killed" for r in counted)
    broken = [r["id"] for r in results if r["verdict"] == "does not compile"]
    survivors = [r["id"] for r in counted if r["verdict"] == "survived"]
    minutes = (time.monotonic() - started) / 60
    print(f"mutants: score {killed}/{len(counted)} killed ({len(results) - len(counted)} equivalent) "
          f"in {minutes:.0f} min")
    if survivors:
        print(f"mutants: survived: {', '.join(survivors)}")
    if broken:
        print(f"mutants: error: these do not compile (fix the list): {', '.join(broken)}")
    (scratch / "last.json").write_text(json.dumps(
        {"killed": killed, "counted": len(counted), "minutes": round(minutes, 1), "results": results}, indent=1))
    return 0 if killed == len(counted) and not broken else 1


if __name__ == "__main__":
    sys.exit(main())
