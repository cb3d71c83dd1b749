#!/bin/sh
# A stand-in for crisp that answers `dump -t PID` the way FAKE_CRISP_MODE
# says, so that dump_nonexistent_pid.sh can be shown to pass and to fail.
pid=
while [ $# -gt 0 ]; do
	[ "$1" = "-t" ] && pid=$2
	shift
done
case ${FAKE_CRISP_MODE:-clear} in
clear)    echo "Error: no process with PID $pid: No such process" >&2; exit 1 ;;
silent)   exit 1 ;;
succeeds) echo "Dumping finished successfully" >&2; exit 0 ;;
crashes)  kill -SEGV $$ ;;
esac
exit 3
