#!/usr/bin/env bash
# dump_signal_gives_group_back.sh CRISP — crisp lowers its session's
# scheduler group while the tree it dumps (in another session) runs again;
# a SIGTERM or SIGINT that ends crisp meanwhile must give the group its nice
# back. Runs `dump -R --snapshot frozen` of a 768 MiB task (writing its
# images after the release takes a while), waits until the group is
# lowered, signals crisp and reads the group's nice. Not a scenario: the state checked is crisp's
# own session's, not the task's.
set -u
crisp=${1:?usage: dump_signal_gives_group_back.sh CRISP}

work=$(mktemp -d "${TMPDIR:-/tmp}/crtest-yieldsig-XXXXXX") || exit 2
task=
cleanup() {
	[ -n "$task" ] && kill -9 "$task" 2>/dev/null && wait "$task" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

group_nice() {
	sed -n 's/^\/autogroup-[0-9]* nice \(-\{0,1\}[0-9]*\)$/\1/p' /proc/self/autogroup
}

before=$(group_nice)
if [ -z "$before" ]; then
	echo "dump_signal_gives_group_back: no /proc/self/autogroup: this kernel has no session groups" >&2
	exit 1
fi
fail=0
for sig in TERM INT; do
	rm -rf "$work/img" "$work/ready"
	mkdir "$work/img"
	# the task: its own session, 768 MiB touched, then it waits
	setsid python3 -c '
import sys, time
b = bytearray(768 << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
open(sys.argv[1], "w").write("ready")
time.sleep(600)' "$work/ready" </dev/null >/dev/null 2>&1 &
	task=$!
	for _ in $(seq 300); do [ -e "$work/ready" ] && break; sleep 0.1; done
	if [ ! -e "$work/ready" ]; then
		echo "dump_signal_gives_group_back: the task did not get ready" >&2
		exit 2
	fi
	"$crisp" dump -t "$task" -D "$work/img" -R --snapshot frozen >"$work/out" 2>&1 &
	dumper=$!
	lowered=0
	for _ in $(seq 2000); do
		[ "$(group_nice)" = 19 ] && { lowered=1; break; }
		kill -0 "$dumper" 2>/dev/null || break
		sleep 0.005
	done
	if [ "$lowered" = 1 ]; then
		kill -"$sig" "$dumper"
	fi
	wait "$dumper"
	status=$?
	after=$(group_nice)
	if [ "$lowered" != 1 ]; then
		echo "dump_signal_gives_group_back: crisp never lowered its session group (exit $status)" >&2
		cat "$work/out" >&2
		fail=1
	elif [ "$after" != "$before" ]; then
		echo "dump_signal_gives_group_back: after SIG$sig the session group has nice $after, it had $before" >&2
		echo "$before" >/proc/self/autogroup
		fail=1
	elif ! kill -0 "$task" 2>/dev/null; then
		echo "dump_signal_gives_group_back: the task died with crisp (SIG$sig)" >&2
		fail=1
	fi
	kill -9 "$task" 2>/dev/null
	wait "$task" 2>/dev/null
	task=
done
exit "$fail"
