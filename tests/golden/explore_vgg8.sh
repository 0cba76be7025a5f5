#!/usr/bin/env bash
# End-to-end: `cimlab explore` on the shipped VGG-8 example (a short NSGA-II run) keeps the contract of
# points.jsonl, pareto.json and best/; no point of pareto.json is dominated by an ok point of points.jsonl;
# constraints hold for every reported point; each best/ config runs with `cimlab ppa` and gives the point's
# metrics exactly; an invalid combination and a broken constraint are rejected points with their reason; a
# search killed with SIGKILL and resumed ends with the front of an uninterrupted one; a folder that holds a
# search is not overwritten without --resume.
set -euo pipefail
cimlab=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
export CIMLAB_PROGRESS=0
example=../../configs/examples/explore_vgg8.yaml
"$cimlab" explore $example --out "$out/nsga2" --set 'explore.strategy={type: nsga2, population: 20, generations: 4}' > "$out/nsga2.txt"
"$cimlab" explore explore_small.yaml --out "$out/small" > "$out/small.txt"
for d in nsga2 small; do
  for o in $(python3 -c "import json,sys; print(' '.join(p['name'] for p in json.load(open(sys.argv[1]))['objectives']))" "$out/$d/pareto.json"); do
    "$cimlab" ppa "$out/$d/best/$o.yaml" --json > "$out/$d/best_$o.json"
  done
done
python3 - "$out" <<'PY'
import json, sys, re
out = sys.argv[1]
def check(d, constraints):
    points = [json.loads(l) for l in open(f"{out}/{d}/points.jsonl")]
    for p in points:
        assert set(p) >= {"id", "config", "metrics", "status"}, p
        assert p["status"] in ("ok", "rejected", "failed"), p
        assert p["status"] == "ok" or p["reason"], p
    ids = [p["id"] for p in points]
    assert sorted(ids) == list(range(len(ids))), "ids 0..n-1, each once"
    pareto = json.load(open(f"{out}/{d}/pareto.json"))
    objs = pareto["objectives"]
    assert all(set(o) == {"name", "sense"} and o["sense"] in ("min", "max") for o in objs), objs
    key = lambda m: [m[o["name"]] * (1 if o["sense"] == "min" else -1) for o in objs]
    ok = [key(p["metrics"]) for p in points if p["status"] == "ok"]
    assert pareto["points"], "an empty front"
    for f in pareto["points"]:
        assert set(f) >= {"id", "config", "metrics"}, f
        a = key(f["metrics"])
        for b in ok:
            assert not (all(x <= y for x, y in zip(b, a)) and any(x < y for x, y in zip(b, a))), (f["id"], b)
        for name, lim in constraints:
            assert f["metrics"][name] <= lim, (f["id"], name)
        assert points[[p["id"] for p in points].index(f["id"])]["status"] == "ok"
    for o in objs:
        best = open(f"{out}/{d}/best/{o['name']}.yaml").read()
        i = int(re.search(r"point \(id (\d+)\)|\(id (\d+)\)", best).group(1) or 0)
        t = json.load(open(f"{out}/{d}/best_{o['name']}.json"))["totals"]
        m = next(p for p in pareto["points"] if p["id"] == i)["metrics"]
        for k in ("area_mm2", "energy_per_inference_j", "latency_s", "throughput_inferences_per_s", "tops", "tops_per_w",
                  "tops_per_mm2", "leakage_w"):
            assert t[k] == m[k], (d, o["name"], k, t[k], m[k])
    return points
check("nsga2", [("area_mm2", 1000)])
small = check("small", [("area_mm2", 50)])
assert len(small) == 12, len(small)
reasons = [p["reason"] for p in small if p["status"] == "rejected"]
assert any("is out of range" in r or "columns" in r for r in reasons), reasons
assert any("constraint 'macro.adcs <= tile.macros * 16' does not hold" in r for r in reasons), reasons
for p in small:
    if p["status"] == "ok":
        assert p["config"]["macro.adcs"] <= p["config"]["tile.macros"] * 16, p
print("ok")
PY
# Kill a grid search with SIGKILL part-way, resume it, and compare with an uninterrupted run.
grid=(--set 'explore.strategy={type: grid, batch: 64}' --set explore.threads=2
      --set 'explore.space={array.rows: {values: [512, 1024], also: [array.cols]}, tile.macros: [2, 4, 8, 16],
             macro.adcs: [1, 2, 4, 8, 16], tile.input_buffer: {values: [2 KiB, 8 KiB, 32 KiB], also: [tile.output_buffer]},
             tile.bus_width: [16, 32, 64, 128], chip.flit_bits: [8, 16, 32, 64, 128]}')
"$cimlab" explore $example --out "$out/full" "${grid[@]}" > /dev/null
"$cimlab" explore $example --out "$out/killed" "${grid[@]}" > /dev/null &
pid=$!
for _ in $(seq 1 400); do
  [ -f "$out/killed/points.jsonl" ] && [ "$(wc -l < "$out/killed/points.jsonl")" -ge 800 ] && break
  sleep 0.02
done
kill -9 $pid 2> /dev/null || true
wait $pid 2> /dev/null || true
lines=$(wc -l < "$out/killed/points.jsonl")
if "$cimlab" explore $example --out "$out/killed" "${grid[@]}" > /dev/null 2> "$out/again.err"; then
  echo "a folder holding a search was overwritten without --resume"; exit 1
fi
grep -q "already holds a search: pass --resume" "$out/again.err"
"$cimlab" explore $example --out "$out/killed" "${grid[@]}" --resume > /dev/null
python3 - "$out" "$lines" <<'PY'
import json, sys
out, lines = sys.argv[1], int(sys.argv[2])
a = json.load(open(f"{out}/full/pareto.json")); b = json.load(open(f"{out}/killed/pareto.json"))
assert a["objectives"] == b["objectives"] and a["points"] == b["points"], "resumed front differs"
pa = sorted((json.loads(l) for l in open(f"{out}/full/points.jsonl")), key=lambda p: p["id"])
pb = sorted((json.loads(l) for l in open(f"{out}/killed/points.jsonl")), key=lambda p: p["id"])
assert pa == pb, "resumed points differ"
print(f"ok (killed after {lines} of {len(pa)} points)")
PY
