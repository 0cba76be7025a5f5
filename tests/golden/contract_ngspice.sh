#!/usr/bin/env bash
# End-to-end: the scriptable contract (--conductances/--inputs) on a non-square array with driver and
# sense resistance, checked against ngspice run on the netlist cimlab writes (--spice).
set -euo pipefail
cimlab=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
rows=12 cols=20
awk -v R=$rows -v C=$cols 'BEGIN { srand(7); for (i = 0; i < R; i++) { s = ""; for (j = 0; j < C; j++) s = s (j ? "," : "") sprintf("%.9e", (1 + 99 * rand()) * 1e-6); print s } }' > "$out/G.csv"
awk -v R=$rows 'BEGIN { srand(9); for (k = 0; k < 3; k++) { s = ""; for (i = 0; i < R; i++) s = s (i ? "," : "") sprintf("%.6f", 0.2 * rand()); print s } }' > "$out/V.csv"
cat > "$out/circuit.yaml" <<YAML
array:
  rows: $rows
  cols: $cols
  wire_resistance: {row: "2 ohm", col: "3 ohm"}
  driver_resistance: "50 ohm"
  sense_resistance: "40 ohm"
YAML
"$cimlab" xbar "$out/circuit.yaml" --conductances "$out/G.csv" --inputs "$out/V.csv" --out "$out/run" --spice "$out/array.cir"
[ "$(wc -l < "$out/run/currents.csv")" -eq 3 ] || { echo "currents.csv must hold one line per input"; exit 1; }
awk -F, -v C=$cols 'NF != C { print "line " NR " has " NF " values"; exit 1 }' "$out/run/currents.csv"
(cd "$out" && ngspice -b array.cir > ngspice.log 2>&1) || { cat "$out/ngspice.log"; exit 1; }
python3 - "$out" <<'PY'
import sys, re
out = sys.argv[1]
mine = [float(x) for x in open(out + "/run/currents.csv").readline().split(",")]
lines = open(out + "/currents.raw").read().splitlines()
names = []
start = lines.index("Variables:") + 1
while not lines[start].startswith("Values:"):
    names.append(lines[start].split()[1])
    start += 1
values = " ".join(lines[start + 1:]).split()[1:]  # the first field is the point index
by_name = dict(zip(names, (float(v) for v in values)))
ref = [by_name["i(vcol%d)" % j] for j in range(len(mine))]
assert len(ref) == len(mine), (len(ref), len(mine))
worst = max(abs(a - b) / abs(b) for a, b in zip(mine, ref))
print("max relative error vs ngspice:", worst)
assert worst < 1e-6
PY
