#!/bin/sh
# bench/compare on fixtures: a 10 % slowdown over 5 repetitions is flagged
# (exit 1, the metric marked WORSE), noise within the threshold is not
# (exit 0), a restored task that no longer verifies is a regression, and
# files of different kinds or broken JSON are refused (exit 2).
set -u
compare=$1 dir=$2
fail=0
expect() {	# expect STATUS PATTERN OLD NEW
	want=$1 pattern=$2; shift 2
	out=$("$compare" "$@" 2>&1); got=$?
	if [ "$got" -ne "$want" ] || ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
		echo "FAIL: compare $* exited $got (wanted $want) without '$pattern':"
		printf '%s\n' "$out"
		fail=1
	else
		echo "ok: compare $* -> $got"
	fi
}
expect 1 'freeze_ms .*WORSE' "$dir/harness-old.json" "$dir/harness-slower.json"
expect 1 'REGRESSION: 1 of 3' "$dir/harness-old.json" "$dir/harness-slower.json"
expect 0 'verdict: OK' "$dir/harness-old.json" "$dir/harness-noise.json"
expect 0 'freeze_ms .*same' "$dir/harness-old.json" "$dir/harness-noise.json"
expect 0 'verdict: OK' "$dir/harness-old.json" "$dir/harness-old.json"
expect 1 'verified .*WORSE' "$dir/harness-old.json" "$dir/harness-unverified.json"
expect 0 'freeze_ms .*better' "$dir/harness-slower.json" "$dir/harness-old.json"
expect 1 'real_time .*WORSE' "$dir/gbench-old.json" "$dir/gbench-slower.json"
expect 1 'items_per_second .*WORSE' "$dir/gbench-old.json" "$dir/gbench-slower.json"
expect 0 'verdict: OK' "$dir/gbench-old.json" "$dir/gbench-noise.json"
expect 0 'verdict: OK' --threshold 20 "$dir/gbench-old.json" "$dir/gbench-slower.json"
expect 2 'not of the same kind' "$dir/harness-old.json" "$dir/gbench-old.json"
expect 2 'compare-test.sh: ' "$dir/harness-old.json" "$dir/compare-test.sh"
expect 2 'usage' "$dir/harness-old.json"
exit $fail
