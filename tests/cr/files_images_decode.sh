#!/bin/sh
# files_images_decode.sh CRTEST-RUN CRISP DECODER CRISP-IMG CRIT SCENARIO...
# Each scenario is dumped with -R --file-locks --ext-unix-sk (then verified:
# it runs on); every image of the dump must decode with CRIU's crit and the
# dump must pass `crisp-img check`. Proves that the open-file images are
# CRIU's format.
set -u
run=${1:?usage}; crisp=${2:?}; dec=${3:?}; img=${4:?}; crit=${5:?}
shift 5
bad=0
for sc in "$@"; do
	out=$("$run" --crisp "$crisp" --decoder "$dec" --steps "dump -R --file-locks --ext-unix-sk; verify" --keep -- "$sc" 2>&1)
	st=$?
	dir=$(printf '%s\n' "$out" | sed -n 's/.* steps ".*" in \(.*\)$/\1/p' | head -n 1)
	if [ $st -ne 0 ] || [ -z "$dir" ] || [ ! -d "$dir/img-1" ]; then
		printf '%s\n' "$out" >&2
		echo "files_images_decode: $sc: the dump did not go through" >&2
		bad=1
		[ -n "$dir" ] && rm -rf "$dir"
		continue
	fi
	for f in "$dir"/img-1/*.img; do
		case "$f" in */pages-*.img) continue ;; esac
		if ! "$crit" decode -i "$f" >/dev/null 2>"$dir/crit.err"; then
			echo "files_images_decode: $sc: crit cannot decode $(basename "$f"):" >&2
			tail -n 3 "$dir/crit.err" >&2
			bad=1
		fi
	done
	if ! "$img" check "$dir/img-1" >&2; then
		echo "files_images_decode: $sc: crisp-img check fails" >&2
		bad=1
	fi
	echo "files_images_decode: $(basename "$sc"): $(ls "$dir/img-1" | tr '\n' ' ')"
	rm -rf "$dir"
done
exit $bad
