#!/usr/bin/env bash
# Wall time of the built-in default study (NB201 cells trained on MNIST-10k,
# `hwnas run` with no config) evaluated by 1 worker process and by 2, the
# driver only handing out trials (--no-local), through an SQLite store; the
# plain one-process run for reference. Rounds alternate; medians printed.
#
#   cargo build --release -p experiments --bin hwnas
#   bash experiments/benches/study_scaling.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
H=${HWNAS:-./target/release/hwnas}
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="sqlite:$tmp/studies.db"

now() { date +%s.%N; }

study() { # $1 = workers, $2 = round
  local name="w$1-r$2" start end drv
  start=$(now)
  "$H" run --storage "$db" --study "$name" --no-local --out "$tmp/$name" -q >/dev/null &
  drv=$!
  until "$H" study list --storage "$db" 2>/dev/null | grep -q "^$name "; do sleep 0.05; done
  local pids=()
  for _ in $(seq "$1"); do
    "$H" worker --storage "$db" --study "$name" --threads 1 -q >/dev/null 2>&1 &
    pids+=($!)
  done
  wait "$drv"
  wait "${pids[@]}"
  end=$(now)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }'
}

plain() {
  local start end
  start=$(now)
  "$H" run --out "$tmp/plain-$1" -q >/dev/null
  end=$(now)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$tmp/one"; : > "$tmp/two"; : > "$tmp/plain"
for r in $(seq "$rounds"); do
  one=$(study 1 "$r"); echo "$one" >> "$tmp/one"
  two=$(study 2 "$r"); echo "$two" >> "$tmp/two"
  p=$(plain "$r"); echo "$p" >> "$tmp/plain"
  echo "round $r: 1 worker ${one} s, 2 workers ${two} s, one process (no store) ${p} s"
done
m1=$(median < "$tmp/one"); m2=$(median < "$tmp/two"); mp=$(median < "$tmp/plain")
echo "median: 1 worker ${m1} s, 2 workers ${m2} s (ratio $(awk -v a="$m2" -v b="$m1" 'BEGIN { printf "%.3f", a / b }')), one process ${mp} s"
