#!/usr/bin/env bash
# End-to-end: `cimlab map` on LeNet-5 and the demo chip (configs/chips/demo.yaml) prints only JSON with
# --json, holding the contract keys with the figures derived by hand in tests/unit/mapper/test_mapper.cpp
# (area mode: 42 arrays on 13 tiles, bottleneck conv1 at 18,816 cycles); --out writes mapping.json
# beside config.resolved.yaml; the same seed gives the same placement; a network that does not fit
# (VGG-8 on the demo chip: 410 arrays in 104 tiles of a 16-tile mesh) exits 0 with feasible false and the
# shortfall (352 arrays).
set -euo pipefail
cimlab=$1 out=$2
cfg=../../configs/examples/map_lenet_demo.yaml
rm -rf "$out" && mkdir -p "$out"
"$cimlab" map "$cfg" --json --set pipeline.mode=area > "$out/area.json" 2> "$out/area.err"
[ ! -s "$out/area.err" ] || { echo "unexpected stderr:"; cat "$out/area.err"; exit 1; }
"$cimlab" map "$cfg" --json --out "$out/run" > "$out/balanced.json"
"$cimlab" map "$cfg" --json > "$out/balanced2.json"
"$cimlab" map "$cfg" --json --set model.name=vgg8 --set model.input_shape=3x32x32 > "$out/vgg8.json"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
r = json.load(open(out + "/area.json"))
for k in ("model", "chip", "feasible", "totals", "layers", "placement", "provenance"):
    assert k in r, k
t = r["totals"]
for k in ("arrays", "arrays_available", "tiles", "utilisation", "copies", "bottleneck_layer", "cycles_per_inference",
          "traffic_hops"):
    assert k in t, k
assert r["model"] == "lenet5" and r["feasible"] is True
assert (t["arrays"], t["arrays_available"], t["tiles"], t["copies"]) == (42, 64, 13, 5), t
assert (t["bottleneck_layer"], t["cycles_per_inference"]) == ("conv1", 18816), t
assert 0 < t["utilisation"] <= 1 and t["traffic_hops"] <= r["placement"]["row_major_traffic_hops"], t
layers = r["layers"]
assert [l["name"] for l in layers] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
for l in layers:
    for k in ("name", "rows", "cols", "groups", "slices", "arrays", "copies", "stage_cycles", "tiles"):
        assert k in l, (k, l)
assert [l["arrays"] for l in layers] == [1, 2, 32, 6, 1], layers
assert r["placement"]["floorplan"] and len(r["placement"]["floorplan"]) == 4
b = json.load(open(out + "/balanced.json"))
assert b["pipeline_mode"] == "balanced" and b["totals"]["cycles_per_inference"] < t["cycles_per_inference"], b["totals"]
saved = json.load(open(out + "/run/mapping.json"))
assert saved["totals"] == b["totals"] and saved["placement"] == b["placement"]
assert json.load(open(out + "/balanced2.json"))["placement"]["floorplan"] == b["placement"]["floorplan"]
v = json.load(open(out + "/vgg8.json"))
assert v["feasible"] is False and v["shortfall_arrays"] == 352 and v["totals"]["arrays"] == 410, v["totals"]
assert v["placement"] is None
print("ok")
PY
[ -s "$out/run/config.resolved.yaml" ] || { echo "no config.resolved.yaml"; exit 1; }
grep -q "preset: demo" "$out/run/config.resolved.yaml" || { echo "resolved config lacks the chip preset"; exit 1; }
