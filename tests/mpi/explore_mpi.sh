#!/usr/bin/env bash
# `mpirun --oversubscribe -np 3 cimlab explore` evaluates the same points and gives the same front as the
# single-process run (same seed); rank 0 alone writes the folder. Run by ctest as `mpi.explore` (its
# environment allows Open MPI to run as root, as CI does).
set -euo pipefail
cimlab=$1 mpirun=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
export CIMLAB_PROGRESS=0
example=../../configs/examples/explore_vgg8.yaml
args=(--set 'explore.strategy={type: nsga2, population: 24, generations: 4}' --set explore.threads=1)
"$cimlab" explore $example --out "$out/single" "${args[@]}" > /dev/null
"$mpirun" --oversubscribe -np 3 "$cimlab" explore $example --out "$out/mpi" "${args[@]}" > "$out/mpi.txt"
[ "$(grep -c '^results:' "$out/mpi.txt")" -eq 1 ] || { echo "more than one rank wrote"; cat "$out/mpi.txt"; exit 1; }
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
a = json.load(open(f"{out}/single/pareto.json")); b = json.load(open(f"{out}/mpi/pareto.json"))
assert a["objectives"] == b["objectives"] and a["points"] == b["points"], "the MPI front differs"
pa = sorted((json.loads(l) for l in open(f"{out}/single/points.jsonl")), key=lambda p: p["id"])
pb = sorted((json.loads(l) for l in open(f"{out}/mpi/points.jsonl")), key=lambda p: p["id"])
assert pa == pb, "the MPI points differ"
print(f"ok ({len(pa)} points, {len(a['points'])} on the front)")
PY
