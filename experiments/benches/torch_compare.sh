#!/usr/bin/env bash
# hwnas vs PyTorch training throughput on the reference CNN (batch 64, 3x32x32,
# Adam), same threads, alternating ROUNDS rounds (default 3); prints every
# measurement and the median step time and ratio per thread count.
#
#   bash experiments/benches/torch_compare.sh [ROUNDS] [STEPS]
#
# Needs torch (`pip install torch`) and a release build of hwnas
# (`cargo build --release -p experiments`). The hwnas kernels and burn's own
# (`--kernels burn`) are both measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
steps=${2:-40}
hwnas=target/release/hwnas
[ -x "$hwnas" ] || cargo build --release -q -p experiments
python3 -c "import torch" 2>/dev/null || { echo "torch_compare.sh needs PyTorch: pip install torch" >&2; exit 1; }
out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  for t in 1 2; do
    for k in hwnas burn; do
      ms=$("$hwnas" bench --threads "$t" --backend flex --kernels "$k" --steps "$steps" |
        sed -E 's/.*\(([0-9.]+) ms\/step = forward ([0-9.]+) \+ backward ([0-9.]+) \+ optimizer ([0-9.]+)\).*/\1 \2 \3 \4/')
      echo "round $r threads $t $k $ms" | tee -a "$out"
    done
    ms=$(python3 experiments/benches/torch_reference_cnn.py --threads "$t" --steps "$steps" --json |
      python3 -c "import json,sys; j=json.load(sys.stdin); print(*(round(j[k], 2) for k in ('step_ms', 'forward_ms', 'backward_ms', 'optimizer_ms')))")
    echo "round $r threads $t torch $ms" | tee -a "$out"
  done
done
python3 - "$out" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
times = {}
for row in rows:
    t, who, vals = row[3], row[4], [float(v) for v in row[5:9]]
    times.setdefault((t, who), []).append(vals)
print("\nmedians over the rounds, ms: step = forward + backward + optimizer")
print("(speed relative to PyTorch = median of the per-round ratios torch step / step)")
for t in ("1", "2"):
    torch_rounds = [v[0] for v in times[(t, "torch")]]
    for who in ("hwnas", "burn", "torch"):
        vs = times[(t, who)]
        med = [statistics.median(v[i] for v in vs) for i in range(4)]
        ratio = statistics.median(tr / v[0] for tr, v in zip(torch_rounds, vs))
        print(f"threads {t} {who:<6} {med[0]:6.1f} = {med[1]:5.1f} + {med[2]:5.1f} + {med[3]:4.1f}   x{ratio:.2f}")
EOF
rm -f "$out"
