#!/usr/bin/env bash
# Our training step against PyTorch's on one case, alternated: each pair of
# short runs (`--quick`: 5 rounds of 0.1 s each side) is taken back to
# back, so a drift in the shared machine's speed touches both sides alike
# (absolute times here move by 10-30% within minutes). Prints each pair,
# the ratio ours / PyTorch, and the median ratio over the pairs.
#
#   benches/side_by_side.sh [net] [type] [threads] [pairs]
#   benches/side_by_side.sh 784 f32 2 15
#
# net: 784 (784-512-512-10 @256) or 64 (64-128-64-10 @32). Needs
# `pip install torch` for the python3 on PATH (or set PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."
net="${1:-784}" ty="${2:-f32}" threads="${3:-2}" pairs="${4:-15}"
python="${PYTHON:-python3}"
case "$ty" in f32) torch_ty=float32 ;; f64) torch_ty=float64 ;; *) echo "type: f32 or f64" >&2; exit 2 ;; esac
case "$net" in 784) label="784-512-512-10" ;; 64) label="64-128-64-10" ;; *) echo "net: 784 or 64" >&2; exit 2 ;; esac

cargo bench -q --bench mlp_step --no-run
log=$(mktemp)
trap 'rm -f "$log"' EXIT
to_ms() { awk '{ v = $1; if ($2 == "us") v /= 1000; printf "%.3f", v }'; }
for i in $(seq "$pairs"); do
    ours=$(cargo bench -q --bench mlp_step -- "$label" "$ty" "t$threads" --quick | grep "^$label" | awk '{print $5, $6}' | to_ms)
    theirs=$("$python" benches/pytorch_step.py "$label" "$torch_ty" "t$threads" --quick | grep "^$label" | awk '{print $5, $6}' | to_ms)
    awk -v i="$i" -v a="$ours" -v b="$theirs" -v l="$label $ty t$threads" \
        'BEGIN { printf "%s pair %d: ours %.3f ms  PyTorch %.3f ms  ours/PyTorch %.2f\n", l, i, a, b, a / b }' |
        tee -a "$log"
done
awk '{ print $NF }' "$log" | sort -n | awk '{ r[NR] = $1 } END {
    printf "median ours/PyTorch over %d pairs: %.2f (lowest %.2f, highest %.2f)\n", NR, (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2), r[1], r[NR] }'
