#!/usr/bin/env bash
# End-to-end: `cimlab run` in exact fidelity (every ADC conversion) on a tiny config: an MLP on 1,500
# MNIST digits (200 more for validation), 300 test images, 3 chip instances of a chip built so that
# the physics orders the stages: 128 x 128 arrays with 10 ohm wire segments (IR drop), 30 % programming
# variation, 4 % stuck cells, 3-bit weights on 1-bit cells, 4-bit inputs, a 4-bit calibrated ADC. Checks the accuracy.json contract
# (keys, ci95, images, chips, float_of_stage_model), that as-is lies below float and HAT+WMC above as-is
# (means and every chip), that the chips of one run differ, the known-faults row, and that training
# logged validation accuracy and left the test split to the stages. (Same seed, same numbers: run_small
# and the unit tests.)
set -euo pipefail
cimlab=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
cat > "$out/tiny.yaml" <<'YAML'
seed: 3
threads: 2
dataset: {name: mnist, train_limit: 1500, test_limit: 300, validation: 200}
model: {name: mlp}
training: {epochs: 3, batch_size: 32, optimizer: adam, learning_rate: 0.002}
hat_training: {epochs: 2, batch_size: 32, optimizer: adam, learning_rate: 0.0005, weight_decay: 0}
analog: {fidelity: exact, chips: 3, calibration_images: 128, error_budget: false}
chips:
  rram:
    device: {preset: rram, programming: {model: relative, sigma: 0.3}, faults: {p_stuck_on: 0.02, p_stuck_off: 0.02}}
    array: {rows: 128, cols: 128, wire_resistance: {row: "10 ohm", col: "10 ohm"},
            driver_resistance: "50 ohm", sense_resistance: "50 ohm"}
    mapping: {signed: differential, weight_bits: 3, cell_bits: 1, input: bit_serial, input_bits: 4}
    adc: {bits: 4, range: calibrated}
    correction: {method: compensated}
YAML
"$cimlab" run "$out/tiny.yaml" --out "$out/a" > "$out/a.txt"
cat "$out/a.txt"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rows = json.load(open(out + "/a/accuracy.json"))
keys = {"model", "dataset", "device", "stage", "mean", "std", "p5", "ratio_to_float", "ci95", "images", "chips",
        "float_of_stage_model"}
by = {r["stage"]: r for r in rows}
assert [r["stage"] for r in rows] == ["float", "analog", "hat", "hat_wmc", "hat_wmc_unknown_faults"], rows
for r in rows:
    assert set(r) == keys, r
    lo, hi = r["ci95"]
    assert 0 <= lo <= r["mean"] <= hi <= 1, r
    assert r["images"] == 300, r
    assert r["chips"] == (0 if r["stage"] == "float" else 3), r
flt, asis, hat, wmc = by["float"], by["analog"], by["hat"], by["hat_wmc"]
assert asis["float_of_stage_model"] == flt["mean"]
assert hat["float_of_stage_model"] == wmc["float_of_stage_model"] == by["hat_wmc_unknown_faults"]["float_of_stage_model"]
assert 0.5 < hat["float_of_stage_model"] <= 1, hat
# The physics: the chip costs accuracy as it is; HAT + WMC wins it back: by clear margins on the means,
# and chip by chip (the same chip instances and images in every stage: a paired comparison).
assert flt["mean"] - asis["mean"] > 0.05, (asis, flt)
assert wmc["mean"] - asis["mean"] > 0.03, (wmc, asis)
result = json.load(open(out + "/a/result.json"))
rows_full = {r["stage"]: r for r in result["rows"]}
assert all(w > a for w, a in zip(rows_full["hat_wmc"]["per_chip"], rows_full["analog"]["per_chip"])), rows_full
per_chip = result["rows"][1]["per_chip"]
assert len(per_chip) == 3 and len(set(per_chip)) > 1, ("the chips of one run are one chip", per_chip)
details = result["details"]["float"]
assert details["validation_images"] == 200 and details["test_accuracy"] is None, details
assert all("validation_accuracy" in e and "test_accuracy" not in e for e in details["epochs"]), details["epochs"]
print("ok")
PY
grep -q "95% CI" "$out/a.txt"
