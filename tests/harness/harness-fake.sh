#!/bin/sh
# The harness measured against fake-engine: every scenario runs, the freeze
# the workload saw is at least the fake engine's SIGSTOP time, the restored
# workload verifies, and the JSON and plots are written and well formed.
set -eu
harness=$1 workload=$2 engine=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/harness-test-XXXXXX")
trap 'rm -rf "$dir"' EXIT
export FAKE_WORKLOAD=$workload FAKE_FREEZE_MS=60

"$harness" --engine "$engine" --workload "$workload" --sizes 8 --reps 2 --rounds 2 \
	--dir "$dir/run" --json "$dir/results.json" --plot "$dir/plot" > "$dir/out.txt"
cat "$dir/out.txt"

python3 - "$dir/results.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
res = doc["results"]
def series(scenario, metric, round_=0):
    for r in res:
        if r["scenario"] == scenario and r["metric"] == metric and r["round"] == round_:
            return r
    sys.exit(f"missing series {scenario}/{metric}/r{round_}")
fails = []
for sc in ("dump-R", "pre-dump"):
    rounds = [0] if sc == "dump-R" else [1, 2, 3]
    for rd in rounds:
        s = series(sc, "freeze_ms", rd)
        # SIGSTOP takes effect a little after kill() returns: allow 10 %
        if len(s["values"]) != 2 or min(s["values"]) < 54:
            fails.append(f"{sc} round {rd}: freeze {s['values']} should be >= 54 ms twice")
for sc, rd in (("dump", 0), ("pre-dump", 3)):
    v = series(sc, "verified", rd)["values"]
    if v != [1, 1]:
        fails.append(f"{sc}: verified {v}")
for m in ("freeze_ms_v0", "freeze_ms_v4", "wall_ms_v0", "wall_ms_v4"):
    if len(series("log-cost", m)["values"]) != 2:
        fails.append(f"log-cost {m} incomplete")
if doc["machine"]["cpus"] < 1 or not doc["git_revision"]:
    fails.append("machine description or revision missing")
if fails:
    sys.exit("\n".join(fails))
print("results.json checks out:", len(res), "series")
PY
grep -q '<polyline' "$dir/plot-by-size.svg"
grep -q '<polyline' "$dir/plot-by-round.svg"
grep -q '0 of 8 runs failed' "$dir/out.txt"
echo "harness-fake: PASS"
