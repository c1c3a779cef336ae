#!/usr/bin/env bash
# Screenshot of a report in headless Chromium (Debian's `chromium` package; not a CI
# dependency). Usage: scripts/screenshot.sh reports/all/report.html [out.png] [width] [height]
set -euo pipefail
report=$(realpath "$1")
out=${2:-report.png}
width=${3:-1400}
height=${4:-2400}
command -v chromium >/dev/null || { echo "needs chromium: apt-get install chromium" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$(realpath -m "$out")" "file://$report" 2>/dev/null
echo "wrote $out"
