#!/usr/bin/env bash
# End-to-end: `cimlab graph lenet5 --json` prints only JSON on stdout, whose totals hold the contract
# keys with the figures counted by hand (nn/models.hpp: 61,706 parameters; MACs per 28 x 28 image:
# conv1 6*28*28*25 + conv2 16*10*10*150 + fc 400*120 + 120*84 + 84*10 = 416,520); the same figures for a
# batch of 4; an unknown model exits 2 with a suggestion on stderr and nothing on stdout.
set -euo pipefail
cimlab=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
"$cimlab" graph lenet5 --json > "$out/lenet5.json" 2> "$out/lenet5.err"
"$cimlab" graph lenet5 --json --batch 4 > "$out/lenet5_b4.json"
[ ! -s "$out/lenet5.err" ] || { echo "unexpected stderr:"; cat "$out/lenet5.err"; exit 1; }
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
r = json.load(open(out + "/lenet5.json"))
for k in ("model", "inputs", "outputs", "layers", "totals"):
    assert k in r, k
t = r["totals"]
expected = {"layers": 12, "crossbar_layers": 5, "crossbar_weights": 61470, "macs": 416520, "digital_macs": 0,
            "params": 61706}
for k, v in expected.items():
    assert t[k] == v, (k, t[k], v)
assert r["model"] == "lenet5" and r["inputs"][0]["shape"] == [1, 1, 28, 28], r["inputs"]
assert r["outputs"][0]["shape"] == [1, 10], r["outputs"]
units = [l["unit"] for l in r["layers"]]
assert units.count("crossbar") == 5 and set(units) == {"crossbar", "digital"}, units
conv1 = r["layers"][0]
assert (conv1["name"], conv1["rows"], conv1["cols"], conv1["macs"]) == ("conv1", 25, 6, 117600), conv1
b4 = json.load(open(out + "/lenet5_b4.json"))
assert b4["inputs"][0]["shape"] == [4, 1, 28, 28] and b4["totals"] == t, b4["totals"]
print("ok")
PY
set +e
"$cimlab" graph lenet --json > "$out/unknown.json" 2> "$out/unknown.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "unknown model: exit $rc, expected 2"; exit 1; }
[ ! -s "$out/unknown.json" ] || { echo "unknown model: output on stdout"; exit 1; }
grep -q "did you mean 'lenet5'" "$out/unknown.err" || { echo "no suggestion:"; cat "$out/unknown.err"; exit 1; }
