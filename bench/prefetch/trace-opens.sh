#!/usr/bin/env bash
# trace-opens.sh: write the prefetch list for an image: the files a start-up command opens.
#
#   trace-opens.sh ROOTFS CMD...   e.g. trace-opens.sh /tmp/python/rootfs python3 -c 'import json'
#
# Runs CMD in `chroot ROOTFS` under strace (openat, execve; following forks) and prints, one
# per line and in first-open order, every regular file inside ROOTFS that was opened or
# executed successfully, and after each executed file its ELF interpreter (the kernel maps
# ld.so itself: no openat shows it, yet its bytes are read first; needs readelf, binutils). This is what `lazysnap convert --prefetch-list` wants: the files a
# container reads at start, stored first in the layer, ahead of the landmark. ROOTFS is an
# unpacked copy of the image (e.g. `umoci unpack`); nothing in it is changed. Needs root
# (chroot) and strace (Debian package strace).
set -euo pipefail
(($# >= 2)) || { sed -n '2,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
command -v strace >/dev/null || { echo "trace-opens.sh: strace not found (apt-get install strace)" >&2; exit 1; }
root=$(cd "$1" && pwd -P)
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
strace -f -qq -e trace=openat,execve -o "$log" chroot "$root" "$@" >/dev/null
# Successful calls only (the result is not -1), the quoted path of each; resolve symlinks
# inside ROOTFS so that the list names the files whose bytes are read.
# The chroot binary's own opens (host files) come before the first execve of CMD: skip them.
# Each line is "o PATH" (opened) or "x PATH" (executed).
resolve() { chroot "$root" /usr/bin/readlink -f "$1" 2>/dev/null; }
awk '!started && /execve\("/ && !/chroot"/ { started = 1 } started' "$log" | grep -v '= -1 ' |
	sed -nE 's/^[0-9]+ +openat\([^"]*"([^"]+)".*/o \1/p; s/^[0-9]+ +execve\("([^"]+)".*/x \1/p' |
	while read -r kind p; do
		[[ $p == /* ]] || continue
		real=$(resolve "$p") || continue
		[[ -f $root$real ]] || continue
		printf '%s\n' "$real"
		[[ $kind == x ]] && command -v readelf >/dev/null || continue
		interp=$(LC_ALL=C readelf -l "$root$real" 2>/dev/null | sed -nE 's/.*Requesting program interpreter: (.*)]$/\1/p')
		[[ -n $interp ]] && interp=$(resolve "$interp") && [[ -f $root$interp ]] && printf '%s\n' "$interp"
	done | awk '!seen[$0]++'
