#!/usr/bin/env python3
"""λ sweep of the hardware-aware DARTS loss on NB201 (issue 10).

Runs experiments/configs/darts-nb201-mnist.toml on the shipped digits with
lambda in LAMBDAS (3 seeds each; a finished run directory is reused), reads
each seed's derived cell and its table FPGA latency and CIFAR-10 accuracy from
the run, and writes OUT/lambda_sweep.csv and OUT/lambda_sweep.svg (mean table
latency over the seeds against lambda, with the seeds' range).

    python3 experiments/benches/lambda_sweep.py [OUT]   (default runs/lambda-sweep)
"""
import json
import os
import statistics
import subprocess
import sys

LAMBDAS = [0.0, 0.01, 0.03, 0.1, 0.3]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "runs", "lambda-sweep"))
HWNAS = os.path.join(ROOT, "target", "release", "hwnas")


def run(lam):
    out = os.path.join(OUT, f"lambda-{lam}")
    if os.path.exists(os.path.join(out, "differentiable", "summary.json")) and os.path.exists(os.path.join(out, "pareto.json")):
        return out
    src = open(os.path.join(ROOT, "experiments", "configs", "darts-nb201-mnist.toml")).read()
    cfg = src.replace('dataset = "mnist10k"', 'dataset = "digits"').replace("lambda = 0.1", f"lambda = {lam}")
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"lambda-{lam}.toml")
    open(path, "w").write(cfg)
    subprocess.run([HWNAS, "run", path, "--out", out, "--quiet"], check=True)
    return out


def seeds(out):
    trials = {}
    for line in open(os.path.join(out, "trials.jsonl")):
        t = json.loads(line)
        trials[t["arch"]] = t["metrics"]
    summary = json.load(open(os.path.join(out, "differentiable", "summary.json")))
    return [(s["seed"], s["notation"], trials[s["notation"]]) for s in summary["seeds"]]


def svg(rows, path):
    w, h, m = 640, 420, 60
    xs = list(range(len(rows)))
    lo = min(r[2] for r in rows)
    hi = max(r[3] for r in rows)
    hi = hi + 0.1 * (hi - lo + 1e-9)
    lo = max(0.0, lo - 0.1 * (hi - lo + 1e-9))
    px = lambda i: m + i * (w - 2 * m) / max(1, len(rows) - 1)
    py = lambda v: h - m - (v - lo) * (h - 2 * m) / (hi - lo)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="13">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w/2}" y="24" text-anchor="middle" font-size="16">DARTS on NB201: table FPGA latency of the derived cell vs λ (3 seeds)</text>',
             f'<line x1="{m}" y1="{h-m}" x2="{w-m}" y2="{h-m}" stroke="black"/>',
             f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h-m}" stroke="black"/>',
             f'<text x="{w/2}" y="{h-15}" text-anchor="middle">λ (hardware-term weight)</text>',
             f'<text x="18" y="{h/2}" text-anchor="middle" transform="rotate(-90 18 {h/2})">FPGA latency (ms), mean and range</text>']
    for k in range(5):
        v = lo + k * (hi - lo) / 4
        parts.append(f'<text x="{m-6}" y="{py(v)+4}" text-anchor="end">{v:.2f}</text>')
    pts = []
    for i, (lam, mean, mn, mx, _acc) in zip(xs, rows):
        parts.append(f'<line x1="{px(i)}" y1="{py(mn)}" x2="{px(i)}" y2="{py(mx)}" stroke="#1f77b4" stroke-width="2"/>')
        parts.append(f'<text x="{px(i)}" y="{h-m+18}" text-anchor="middle">{lam}</text>')
        pts.append(f"{px(i)},{py(mean)}")
    parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="#d62728" stroke-width="2.5"/>')
    for p in pts:
        x, y = p.split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="#d62728"/>')
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts))


def main():
    rows = []
    lines = ["lambda,seed,fpga_latency_ms,cifar10_accuracy,cell"]
    for lam in LAMBDAS:
        got = seeds(run(lam))
        lat = [m["latency_ms"] for _, _, m in got]
        acc = [m["accuracy"] for _, _, m in got]
        rows.append((lam, statistics.mean(lat), min(lat), max(lat), statistics.mean(acc)))
        lines += [f'{lam},{s},{m["latency_ms"]},{m["accuracy"]},"{n}"' for s, n, m in got]
    open(os.path.join(OUT, "lambda_sweep.csv"), "w").write("\n".join(lines) + "\n")
    svg(rows, os.path.join(OUT, "lambda_sweep.svg"))
    print("lambda  mean fpga ms  (min..max)  mean cifar10 acc")
    for lam, mean, mn, mx, acc in rows:
        print(f"{lam:<7} {mean:.3f}        ({mn:.3f}..{mx:.3f})  {acc:.2f}")
    means = [r[1] for r in rows]
    print("non-increasing in lambda:", all(b <= a + 1e-12 for a, b in zip(means, means[1:])))


if __name__ == "__main__":
    main()
