#!/usr/bin/env bash
# End-to-end: weights mode on a tiny RRAM array. Checks the result keys, that the error budget is
# ordered as physics demands (ideal-only effects are exact; all effects together give a non-zero error),
# and that the same seed gives byte-identical outputs.
set -euo pipefail
cimlab=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
cat > "$out/small.yaml" <<'YAML'
seed: 5
array: {rows: 16, cols: 32, wire_resistance: {row: "2 ohm", col: "2 ohm"}, driver_resistance: "20 ohm", sense_resistance: "20 ohm"}
device: {preset: rram}
mapping: {weight_bits: 4, cell_bits: 2, input_bits: 4}
adc: {bits: 8}
inputs: {count: 8}
correction: {enabled: true, method: response}
YAML
"$cimlab" xbar "$out/small.yaml" --out "$out/a" > "$out/a.txt"
"$cimlab" xbar "$out/small.yaml" --out "$out/b" > "$out/b.txt"
for f in outputs_ideal.csv outputs_all.csv outputs_all_corrected.csv cell_voltage.csv config.resolved.yaml; do
  [ -s "$out/a/$f" ] || { echo "missing $f"; exit 1; }
  cmp "$out/a/$f" "$out/b/$f" || { echo "$f differs between two runs with the same seed"; exit 1; }
done
python3 - "$out/a/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("provenance", "effects", "classes", "cases", "correction", "summary"):
    assert k in r, k
for k in ("cimlab_version", "git_commit", "seed", "wall_time_s"):
    assert k in r["provenance"], k
assert r["provenance"]["seed"] == 5
assert set(r["classes"]) == {"quantisation", "fluctuation", "defects", "nonlinearity", "interconnect"}
assert r["effects"]["nonlinearity"]["relative_rms_error"] < 1e-12   # the RRAM preset's cells are linear
assert r["effects"]["drift"]["relative_rms_error"] < 1e-12          # and do not drift
assert r["cases"]["all"]["relative_rms_error"] > 1e-3
assert r["effects"]["ir_drop"]["relative_rms_error"] > r["cases"]["ir_drop_only_corrected"]["relative_rms_error"]
print("ok")
PY
