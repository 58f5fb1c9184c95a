#!/usr/bin/env python3
"""Utilisation as an objective (DRACO, issue 14) on a 64x64 weight-stationary array.

Runs experiments/configs/draco-nb201-ws64.toml (objectives accuracy, latency,
PE utilisation) and the same config without the utilisation objective (the
utilisation-blind baseline) for SEEDS seeds each (a finished run directory is
reused), reads each run's front from pareto.json and reports, mean over seeds:

- the mean PE utilisation of the front's networks (the chosen networks);
- at equal accuracy: for each baseline front member, the most utilised member
  of the utilisation-aware front that is at least as accurate — the mean
  utilisation of those, against the baseline members' own.

Writes OUT/draco.json.

    python3 experiments/benches/draco_utilisation.py [OUT]   (default runs/draco)
"""
import json
import os
import statistics
import subprocess
import sys

SEEDS = 10
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "runs", "draco"))
HWNAS = os.path.join(ROOT, "target", "release", "hwnas")
CONFIG = os.path.join(ROOT, "experiments", "configs", "draco-nb201-ws64.toml")
UTIL_OBJECTIVE = '[[objectives]]\nmetric = "pe_utilisation"\n'


def run(arm, seed):
    out = os.path.join(OUT, f"{arm}-s{seed}")
    if not os.path.exists(os.path.join(out, "pareto.json")):
        src = open(CONFIG).read()
        assert UTIL_OBJECTIVE in src, "the config's utilisation objective moved"
        cfg = src if arm == "aware" else src.replace(UTIL_OBJECTIVE, "")
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, f"{arm}.toml")
        open(path, "w").write(cfg)
        subprocess.run([HWNAS, "run", path, "--seed", str(seed), "--out", out, "--quiet"], check=True)
    return [m["metrics"] for m in json.load(open(os.path.join(out, "pareto.json")))["front"]]


def main():
    rows = []
    for seed in range(SEEDS):
        blind, aware = run("blind", seed), run("aware", seed)
        util = lambda ms: statistics.mean(m["pe_utilisation"] for m in ms)
        matched = []
        for b in blind:
            better = [a for a in aware if a["accuracy"] >= b["accuracy"]]
            if better:
                best = max(better, key=lambda a: a["pe_utilisation"])
                matched.append((b["pe_utilisation"], best["pe_utilisation"], best["accuracy"] - b["accuracy"]))
        rows.append({
            "seed": seed,
            "front_util_blind": util(blind),
            "front_util_aware": util(aware),
            "matched_util_blind": statistics.mean(x[0] for x in matched),
            "matched_util_aware": statistics.mean(x[1] for x in matched),
            "matched_accuracy_gain": statistics.mean(x[2] for x in matched),
            "matched": len(matched),
        })
    mean = lambda k: statistics.mean(r[k] for r in rows)
    summary = {k: mean(k) for k in rows[0] if k != "seed"}
    json.dump({"seeds": rows, "mean": summary}, open(os.path.join(OUT, "draco.json"), "w"), indent=2)
    print(f"mean PE utilisation of the front's networks: blind {summary['front_util_blind']:.1f}%, "
          f"utilisation-aware {summary['front_util_aware']:.1f}%")
    print(f"at equal (or higher) accuracy: blind {summary['matched_util_blind']:.1f}% -> aware "
          f"{summary['matched_util_aware']:.1f}% "
          f"({100 * (summary['matched_util_aware'] / summary['matched_util_blind'] - 1):+.1f}% relative; "
          f"accuracy {summary['matched_accuracy_gain']:+.2f} points)")
    print(f"wrote {OUT}/draco.json")


if __name__ == "__main__":
    main()
