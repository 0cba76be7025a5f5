#!/usr/bin/env bash
# End-to-end: `cimlab run` (the default experiment) on the demo config cut down to a few hundred MNIST
# digits, one epoch each and two chip instances, checking the accuracy.json contract (rows, keys,
# stage names and order), the ratio to float, the report, and that --resume after a lost stage gives
# the same numbers (finished stages and trainings are read back, the missing stage is recomputed).
set -euo pipefail
cimlab=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
small=(--set dataset.train_limit=600 --set dataset.test_limit=200 --set training.epochs=3 --set training.batch_size=16
       --set hat_training.batch_size=16
       --set hat_training.epochs=1 --set analog.chips=2 --set analog.calibration_images=64 --set analog.error_budget=true
       --set threads=1 --set chips.rram.array.rows=64 --set chips.rram.array.cols=64
       --set chips.nor_flash.array.rows=64 --set chips.nor_flash.array.cols=64)
"$cimlab" run ../../configs/examples/demo.yaml --out "$out/run" "${small[@]}" --set analog.fidelity=fast > "$out/stdout.txt"
cp "$out/run/accuracy.json" "$out/first.json"
rm "$out/run/stages/nor_flash_hat_wmc.json"
"$cimlab" run ../../configs/examples/demo.yaml --out "$out/run" "${small[@]}" --set analog.fidelity=fast --resume > /dev/null
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rows = json.load(open(out + "/run/accuracy.json"))
assert json.load(open(out + "/first.json")) == rows, "resume changed the numbers"
keys = {"model", "dataset", "device", "stage", "mean", "std", "p5", "ratio_to_float", "ci95", "images", "chips",
        "float_of_stage_model"}
assert len(rows) == 9, len(rows)
# The RRAM preset has stuck cells and the correction assumes their map known: its WMC figure also comes
# without that knowledge. NOR Flash has none.
stages = ("float", "analog", "hat", "hat_wmc")
expected = [("rram", s) for s in stages + ("hat_wmc_unknown_faults",)] + [("nor_flash", s) for s in stages]
assert [(r["device"], r["stage"]) for r in rows] == expected, rows
flt = rows[0]["mean"]
for r in rows:
    assert set(r) == keys, r
    assert r["model"] == "lenet5" and r["dataset"] == "mnist", r
    assert 0.6 < r["mean"] <= 1 and r["p5"] <= r["mean"] + 1e-12 and r["std"] >= 0, r
    assert abs(r["ratio_to_float"] - r["mean"] / flt) < 1e-9, r
    assert r["ci95"][0] <= r["mean"] <= r["ci95"][1] and r["images"] == 200, r
    assert r["chips"] == (0 if r["stage"] == "float" else 2), r
result = json.load(open(out + "/run/result.json"))
assert len(result["rows"][1]["per_chip"]) == 2
budget = result["details"]["chips"]["rram"]["analog"]["budget"]
assert budget[-1]["effect"] == "all" and len(budget) >= 4, budget
html = open(out + "/run/report.html").read()
assert "Error budget" in html and "hat_wmc" in html
PY
grep -q "ratio_to_float" "$out/stdout.txt"
