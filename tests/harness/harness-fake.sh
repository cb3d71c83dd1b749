#!/bin/sh
# The harness measured against fake-engine: every scenario runs, the freeze
# the workload saw is at least the fake engine's SIGSTOP time, the restored
# workload verifies, and the JSON and plots are written and well formed;
# with --baseline each freeze has its baseline series; with --settle no
# engine command starts sooner than that after its workload was ready.
set -eu
harness=$1 workload=$2 engine=$3 check=$4
dir=$(mktemp -d "${TMPDIR:-/tmp}/harness-test-XXXXXX")
trap 'rm -rf "$dir"' EXIT
export FAKE_WORKLOAD=$workload FAKE_FREEZE_MS=60 FAKE_SETTLE_MS=400

"$harness" --engine "$engine" --workload "$workload" --sizes 8 --reps 2 --rounds 2 --baseline \
	--settle 0.4 --dir "$dir/run" --json "$dir/results.json" --plot "$dir/plot" > "$dir/out.txt"
cat "$dir/out.txt"

# SIGSTOP takes effect a little after kill() returns: allow 10 % (54 of 60 ms)
"$check" "$dir/results.json" 54
grep -q '<polyline' "$dir/plot-by-size.svg"
grep -q '<polyline' "$dir/plot-by-round.svg"
grep -q '0 of 10 runs failed' "$dir/out.txt"
echo "harness-fake: PASS"
