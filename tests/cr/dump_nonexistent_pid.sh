#!/bin/sh
# dump_nonexistent_pid.sh CRISP — `crisp dump -t PID` of a PID no process
# has must fail with exit status 1 and an error that names that PID.
# Not a scenario (there is no task to verify): a plain test of the CLI.
set -u
crisp=${1:?usage: dump_nonexistent_pid.sh CRISP}

work=$(mktemp -d "${TMPDIR:-/tmp}/crtest-nopid-XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

# A PID that was just used and reaped is free (and will not be reused for a
# long while: PIDs are handed out in increasing order).
sh -c 'exit 0' &
pid=$!
wait "$pid"
if [ -e "/proc/$pid" ]; then
	echo "dump_nonexistent_pid: PID $pid is in use again; cannot run" >&2
	exit 2
fi

mkdir "$work/img"
"$crisp" dump -t "$pid" -D "$work/img" >"$work/out" 2>&1
status=$?
fail=0
if [ "$status" -ne 1 ]; then
	echo "dump_nonexistent_pid: crisp dump -t $pid exited with $status, expected 1" >&2
	fail=1
fi
if ! grep -q "\\b$pid\\b" "$work/out"; then
	echo "dump_nonexistent_pid: the error does not name PID $pid" >&2
	fail=1
fi
if grep -qi "not implemented" "$work/out"; then
	echo "dump_nonexistent_pid: crisp says dump is not implemented" >&2
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "---- crisp's output ----" >&2
	cat "$work/out" >&2
	exit 1
fi
echo "dump_nonexistent_pid: PASS ($(head -n 1 "$work/out"))"
