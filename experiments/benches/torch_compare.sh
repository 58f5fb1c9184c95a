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
      ms=$("$hwnas" bench --threads "$t" --backend flex --kernels "$k" --steps "$steps" | sed -E 's/.*\(([0-9.]+) ms\/step.*/\1/')
      echo "round $r threads $t $k $ms" | tee -a "$out"
    done
    ms=$(python3 experiments/benches/torch_reference_cnn.py --threads "$t" --steps "$steps" --json |
      python3 -c "import json,sys; print(round(json.load(sys.stdin)['step_ms'], 2))")
    echo "round $r threads $t torch $ms" | tee -a "$out"
  done
done
python3 - "$out" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for _, _, _, t, who, ms in rows:
    med.setdefault((t, who), []).append(float(ms))
print("\nmedian ms/step (hwnas speed relative to PyTorch = torch ms / hwnas ms)")
for t in ("1", "2"):
    m = {who: statistics.median(v) for (tt, who), v in med.items() if tt == t}
    print(f"threads {t}: hwnas {m['hwnas']:.1f}  burn {m['burn']:.1f}  torch {m['torch']:.1f}  "
          f"hwnas/torch speed {m['torch'] / m['hwnas']:.2f}x  burn/torch speed {m['torch'] / m['burn']:.2f}x")
EOF
rm -f "$out"
