#!/usr/bin/env bash
# Whole-program scale run (issue: speed and memory at national scale).
#
# For each N (default: 100000 and 1000000 episodes) this generates an export with
# `synth --episodes N --seed 1 --dirty 0.001` (kept between runs), then times, alternating
# and ${SCALE_RUNS:-3} times each:
#   - the floor: the fastest typed read polars offers, as the faster of
#       python: the newest polars release from PyPI (pl.read_csv, benches/floor.py), installed
#               in a virtual environment under the work folder (skipped if pip cannot reach
#               PyPI), and
#       rust:   the polars crate this project pins (examples/polars_read.rs, feature
#               bench-floor);
#     both read the three files typed (dates as dates, scores and minutes as numbers) and do
#     nothing else;
#   - the full `run` (every table, chart and format, suppression on).
# It prints the median wall time and peak memory (/usr/bin/time -v) of each, rows per second
# per input file, and the ratio of the full run to the floor.
#
# Usage: benches/scale.sh [N ...]   (work files in ${SCALE_DIR:-/tmp/iop-scale}; delete it after)
# A 10,000,000-episode export is 13 GB of CSV and the Python floor holds one whole file
# in memory (about 15 GB for attendance.csv): SCALE_FLOOR=rust skips the Python floor.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
work=${SCALE_DIR:-/tmp/iop-scale}
runs=${SCALE_RUNS:-3}
floors=${SCALE_FLOOR:-python,rust}
mkdir -p "$work"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 2; }
cargo build --release --quiet --features bench-floor --bin iop-outcomes --example polars_read
bin=target/release/iop-outcomes
rust_floor=target/release/examples/polars_read
python=""
if [[ $floors == *python* ]]; then
  if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv" && "$work/venv/bin/pip" install --quiet --upgrade polars \
      || rm -rf "$work/venv"
  fi
  if [ -x "$work/venv/bin/python" ]; then
    python="$work/venv/bin/python"
    echo "python floor: polars $("$python" -c 'import polars; print(polars.__version__)') (PyPI)"
  else
    echo "python floor: skipped (pip could not install polars)"
  fi
fi
echo "rust floor: polars $(grep -A1 '^name = "polars"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p') (crate)"
echo "iop-outcomes $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores"

measure() { # command...: runs it under /usr/bin/time -v, prints "wall_s peak_mib"
  local log="$work/time.log"
  /usr/bin/time -v "$@" > "$work/out.log" 2> "$log" || { cat "$log" >&2; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; w=s}
              /Maximum resident set size/ {m=$2/1024}
              END {printf "%s %.0f\n", w, m}' "$log"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

printf '%-9s %-12s %8s %9s  %s\n' episodes stage wall_s peak_MiB "rows/s per file"
for n in "${sizes[@]}"; do
  export_dir="$work/export-$n"
  if [ ! -f "$export_dir/synth.json" ] || ! grep -q "\"episodes\": $n," "$export_dir/synth.json"; then
    rm -rf "$export_dir"
    "$bin" synth --quiet --episodes "$n" --seed 1 --dirty 0.001 --out "$export_dir"
  fi
  rows() { python3 -c "import json; print(json.load(open('$export_dir/synth.json'))['files']['$1']['rows'])"; }
  r_ep=$(rows episodes.csv); r_as=$(rows assessments.csv); r_at=$(rows attendance.csv)
  declare -A wall=() mem=()
  stages=()
  [ -n "$python" ] && stages+=(python-floor)
  [[ $floors == *rust* ]] && stages+=(rust-floor)
  stages+=(full-run)
  for ((r = 1; r <= runs; r++)); do
    for s in "${stages[@]}"; do
      case $s in
        python-floor) cmd=("$python" benches/floor.py "$export_dir") ;;
        rust-floor) cmd=("$rust_floor" "$export_dir") ;;
        full-run) rm -rf "$work/reports-$n"; cmd=("$bin" run --quiet --input "$export_dir" --out "$work/reports-$n") ;;
      esac
      read -r w m < <(measure "${cmd[@]}")
      wall[$s]="${wall[$s]:-} $w"; mem[$s]="${mem[$s]:-} $m"
    done
  done
  per() { python3 -c "print(', '.join(f'{f} {r/$1:,.0f}' for f, r in (('episodes', $r_ep), ('assessments', $r_as), ('attendance', $r_at))))"; }
  floor=""
  for s in "${stages[@]}"; do
    # shellcheck disable=SC2086
    w=$(median ${wall[$s]}); m=$(median ${mem[$s]})
    printf '%-9s %-12s %8s %9s  %s   (runs: %s s)\n' "$n" "$s" "$w" "$m" "$(per "$w")" "${wall[$s]# }"
    if [[ $s == *floor ]] && { [ -z "$floor" ] || python3 -c "import sys; sys.exit(not $w < $floor)"; }; then
      floor=$w
    fi
    [ "$s" = full-run ] && full=$w
  done
  python3 -c "print(f'{$n:<9} ratio        full run / fastest floor = {$full/$floor:.2f} (median of $runs, alternating)')"
done
