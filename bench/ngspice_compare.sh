#!/usr/bin/env bash
# Side by side on the same arrays: ngspice `.op` (Debian ngspice, the reference circuit simulator) vs
# cimlab's exact solver (program + solve of one input vector, from result.json), and the largest
# relative difference of their column currents. Arrays: n x n, G uniform in [1, 100] uS, inputs
# 0-0.2 V, 1 ohm wire segments, 100 ohm driver and sense resistors.
#   bench/ngspice_compare.sh BUILD_DIR [sizes...]     (default sizes: 32 64 128; 128 takes ~100 s)
set -euo pipefail
build=${1:-build}; shift || true
sizes=${*:-32 64 128}
cimlab="$build/src/cli/cimlab"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%6s %14s %14s %12s %14s\n' size ngspice_s cimlab_s speedup max_rel_diff
for n in $sizes; do
  d="$work/$n"; mkdir -p "$d"
  awk -v n=$n 'BEGIN { srand(n); for (i = 0; i < n; i++) { s = ""; for (j = 0; j < n; j++) s = s (j ? "," : "") sprintf("%.9e", (1 + 99 * rand()) * 1e-6); print s } }' > "$d/G.csv"
  awk -v n=$n 'BEGIN { srand(n + 1); s = ""; for (i = 0; i < n; i++) s = s (i ? "," : "") sprintf("%.6f", 0.2 * rand()); print s }' > "$d/V.csv"
  printf 'array: {rows: %d, cols: %d, wire_resistance: {row: "1 ohm", col: "1 ohm"}, driver_resistance: "100 ohm", sense_resistance: "100 ohm"}\noutput: {voltage_map: false}\n' $n $n > "$d/c.yaml"
  "$cimlab" xbar "$d/c.yaml" --conductances "$d/G.csv" --inputs "$d/V.csv" --out "$d/run" --spice "$d/array.cir" > /dev/null
  start=$(date +%s.%N)
  (cd "$d" && ngspice -b array.cir > ngspice.log 2>&1)
  end=$(date +%s.%N)
  python3 - "$d" "$n" "$start" "$end" <<'PY'
import json, sys
d, n, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
r = json.load(open(d + "/run/result.json"))
mine = r["currents_A"][0]
lines = open(d + "/currents.raw").read().splitlines()
k = lines.index("Variables:") + 1
names = []
while not lines[k].startswith("Values:"):
    names.append(lines[k].split()[1]); k += 1
vals = dict(zip(names, map(float, " ".join(lines[k + 1:]).split()[1:])))
ref = [vals["i(vcol%d)" % j] for j in range(n)]
diff = max(abs(a - b) / abs(b) for a, b in zip(mine, ref))
ours = r["program_seconds"] + r["solver"]["seconds"]
spice = end - start
print("%6d %14.3f %14.6f %12.0f %14.2e" % (n, spice, ours, spice / ours, diff))
PY
done
