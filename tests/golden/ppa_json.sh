#!/usr/bin/env bash
# End-to-end: `cimlab ppa` prints only JSON with --json, holding the contract keys; components and layers
# add up to the totals; TOPS/W is 2 x MACs / energy; --out writes ppa.json and the CSV files; the mvm
# workload runs without a model; every technology node preset loads.
set -euo pipefail
cimlab=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
"$cimlab" ppa ../../configs/examples/ppa_lenet_demo.yaml --json --out "$out/run" > "$out/lenet.json" 2> "$out/lenet.err"
[ ! -s "$out/lenet.err" ] || { echo "unexpected stderr:"; cat "$out/lenet.err"; exit 1; }
"$cimlab" ppa ../../configs/examples/ppa_macro_mvm.yaml --json > "$out/mvm.json"
for node in 130nm 90nm 65nm 45nm 32nm 22nm 14nm 7nm; do
  "$cimlab" ppa ../../configs/examples/ppa_macro_mvm.yaml --json --set technology.node=$node > "$out/mvm_$node.json"
done
# NeuroSim's VGG-8 against its published table: a silicon section on a network workload.
"$cimlab" ppa ../../configs/examples/neurosim_vgg8.yaml --json > "$out/neurosim.json"
python3 - "$out" <<'PY'
import json, sys, math
out = sys.argv[1]
r = json.load(open(out + "/lenet.json"))
for k in ("model", "chip", "feasible", "totals", "components", "layers", "provenance"):
    assert k in r, k
t = r["totals"]
for k in ("area_mm2", "energy_per_inference_j", "latency_s", "throughput_inferences_per_s", "tops", "tops_per_w",
          "tops_per_mm2", "leakage_w"):
    assert k in t and math.isfinite(t[k]) and t[k] > 0, (k, t.get(k))
for part in ("components", "layers"):
    items = r[part].values() if part == "components" else r[part]
    for key, total in (("energy_j", "energy_per_inference_j"), ("area_mm2", "area_mm2"), ("latency_s", "latency_s")):
        s = sum(c[key] for c in items)
        assert abs(s - t[total]) <= 1e-9 * t[total], (part, key, s, t[total])
for c in r["components"].values():
    assert set(c) >= {"energy_j", "area_mm2", "latency_s"}, c
assert [l["name"] for l in r["layers"]] == ["conv1", "conv2", "fc1", "fc2", "fc3", "shared"]
assert abs(t["tops_per_w"] - 2 * 416520 / t["energy_per_inference_j"] / 1e12) <= 1e-9 * t["tops_per_w"]
saved = json.load(open(out + "/run/ppa.json"))
assert saved["totals"] == t
m = json.load(open(out + "/mvm.json"))
assert m["workload"] == "mvm" and m["totals"]["macs"] == 128 * 16, m["totals"]
e = [json.load(open(f"{out}/mvm_{n}.json"))["totals"]["energy_per_inference_j"] for n in
     ("130nm", "90nm", "65nm", "45nm", "32nm", "22nm", "14nm", "7nm")]
assert all(x > 0 for x in e)
n = json.load(open(out + "/neurosim.json"))
assert n["model"] == "vgg8_neurosim" and n["totals"]["macs"] == 615917568, n["totals"]["macs"]
assert n["silicon"]["kind"] == "simulated" and set(n["silicon"]["error"]) == {"area_mm2", "tops", "tops_per_w"}
for k, e in n["silicon"]["error"].items():
    assert math.isclose(n["silicon"]["model"][k] / n["silicon"]["published"][k] - 1, e, rel_tol=1e-9), k
print("ok")
PY
for f in ppa.json components.csv layers.csv config.resolved.yaml; do
  [ -s "$out/run/$f" ] || { echo "missing $f"; exit 1; }
done
