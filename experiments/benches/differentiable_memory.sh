#!/bin/bash
# Peak resident memory of `hwnas run` per differentiable method on the same
# NB201 supernet and batch: the shipped *-nb201-mnist.toml configs with one
# seed, one epoch, the Hessian probe off, and the supernet / batch given here.
#   bash experiments/benches/differentiable_memory.sh [CHANNELS] [CELLS] [BATCH]
# (default 16 2 256, the README's figures). Prints method, peak MiB, seconds.
set -euo pipefail
C=${1:-16}; N=${2:-2}; B=${3:-256}
root=$(cd "$(dirname "$0")/../.." && pwd)
hwnas="$root/target/release/hwnas"
test -x "$hwnas" || cargo build --release -p experiments --bin hwnas
tmp=$(mktemp -d)
for m in darts pc-darts gdas proxyless; do
  sed -e "s/seeds = \[0, 1, 2\]/seeds = [0]/" -e "s/epochs = 6/epochs = 1\nbatch_size = $B/" \
      -e "s/channels = 8/channels = $C/" -e "s/cells_per_stage = 1/cells_per_stage = $N/" \
      -e 's/policy = "warn"/policy = "warn"\nhessian_iterations = 0/' -e "s/budget = 3/budget = 1/" \
      "$root/experiments/configs/$m-nb201-mnist.toml" > "$tmp/$m.toml"
  "$hwnas" run "$tmp/$m.toml" --out "$tmp/out-$m" --quiet > /dev/null
  python3 -c "import json,sys;r=json.load(open(sys.argv[1]));print('$m', round(r['peak_rss_mb']), 'MiB', round(r['seconds'],1), 's')" \
    "$tmp/out-$m/differentiable/seed-0/result.json"
done
rm -rf "$tmp"
