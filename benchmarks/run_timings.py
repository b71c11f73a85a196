#!/usr/bin/env python3
"""Where a run's time went: the wall-clock and CPU seconds of every phase, summed over the
timings.json of its finished generations, to set beside what `collapse run CONFIG --dry-run`
estimated.

  python3 benchmarks/run_timings.py RUN

Prints one markdown table. Data preparation and the report at the end are not in timings.json:
the run's own wall time (e.g. /usr/bin/time) is the whole.
"""
import argparse
import glob
import json
import os


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run")
    a = p.parse_args()
    wall, cpu, generations = {}, {}, 0
    for path in sorted(glob.glob(os.path.join(a.run, "*", "seed-*", "gen-*", "timings.json"))):
        if not os.path.exists(os.path.join(os.path.dirname(path), "DONE")):
            continue
        generations += 1
        for phase in json.load(open(path))["phases"]:
            wall[phase["phase"]] = wall.get(phase["phase"], 0.0) + phase["wall_seconds"]
            cpu[phase["phase"]] = cpu.get(phase["phase"], 0.0) + phase["cpu_seconds"]
    if not generations:
        raise SystemExit(f"{a.run}: no finished generation with a timings.json")
    print(f"{generations} finished generations of {a.run}\n")
    print("| phase | wall | CPU (all threads) |\n|---|---:|---:|")
    for phase in wall:
        print(f"| {phase} | {wall[phase] / 60:.1f} min | {cpu[phase] / 60:.1f} min |")
    print(f"| all | {sum(wall.values()) / 60:.1f} min | {sum(cpu.values()) / 60:.1f} min |")


if __name__ == "__main__":
    main()
