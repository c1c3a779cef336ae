#!/usr/bin/env bash
# Whole-program scale run (issue: performance at national scale).
#
# For each N (default: 100000 and 1000000 episodes) this generates an export with
# `synth --episodes N`, times the bare floor (polars reading the same CSV files and doing
# nothing else, examples/polars_read.rs) and the full `run`, and prints wall time, peak
# memory (from /usr/bin/time -v), rows per second per input file, and the ratio of the full
# run to the bare read.
#
# Usage: benches/scale.sh [N ...]      (work files go to ${SCALE_DIR:-/tmp/iop-scale})
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
work=${SCALE_DIR:-/tmp/iop-scale}
mkdir -p "$work"
cargo build --release --quiet --features bench-floor --bin iop-outcomes --example polars_read
bin=target/release/iop-outcomes
floor=target/release/examples/polars_read
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 2; }

measure() { # label, command...: runs it under /usr/bin/time -v, prints "wall_s peak_mib"
  local log="$work/time.log"
  /usr/bin/time -v "$@" > "$work/out.log" 2> "$log"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  echo "$wall $rss"
}

printf '%-9s %-10s %9s %9s %s\n' episodes stage wall_s peak_MiB "rows/s per file"
for n in "${sizes[@]}"; do
  export_dir="$work/export-$n"
  if [ ! -f "$export_dir/synth.json" ] || ! grep -q "\"episodes\": $n," "$export_dir/synth.json"; then
    "$bin" synth --quiet --episodes "$n" --seed 1 --dirty 0.001 --out "$export_dir"
  fi
  rows() { python3 -c "import json,sys; print(json.load(open('$export_dir/synth.json'))['files']['$1']['rows'])"; }
  r_ep=$(rows episodes.csv); r_as=$(rows assessments.csv); r_at=$(rows attendance.csv)
  read -r fw fm < <(measure "$floor" "$export_dir")
  read -r rw rm < <(measure "$bin" run --quiet --input "$export_dir" --out "$work/reports-$n")
  per() { python3 -c "print(', '.join(f'{f} {r/$1:,.0f}' for f, r in (('episodes', $r_ep), ('assessments', $r_as), ('attendance', $r_at))))"; }
  printf '%-9s %-10s %9s %9s %s\n' "$n" polars-read "$fw" "$fm" "$(per "$fw")"
  printf '%-9s %-10s %9s %9s %s\n' "$n" full-run "$rw" "$rm" "$(per "$rw")"
  python3 -c "print(f'{$n:<9} ratio      full run / bare read = {$rw/$fw:.2f}')"
done
