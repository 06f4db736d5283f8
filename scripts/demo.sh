#!/usr/bin/env bash
# demo.sh: lazysnap end to end on a local registry it starts itself.
#  1. installs what is missing and builds lazysnap (scripts/setup.sh);
#  2. builds the fixture images once (a debootstrapped Debian and Debian + python3;
#     cached in $LAZYSNAP_FIXTURES, default /var/cache/lazysnap-fixtures);
#  3. starts a throwaway docker-registry on 127.0.0.1 and pushes the python image (gzip);
#  4. converts it to eStargz with `lazysnap convert`, inspects both;
#  5. takes one file out of each without pulling the image, and shows what that fetched;
#  6. mounts the eStargz image lazily, runs python3 in it (chroot), shows `status`.
# Everything it starts is stopped and removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
bash scripts/setup.sh

fixtures=${LAZYSNAP_FIXTURES:-/var/cache/lazysnap-fixtures}
echo "== fixture images (cached in $fixtures)"
bash test/fixtures/build-images.sh "$fixtures" 2> >(grep -E '== [a-z]+: |WARN|rror' >&2)

work=$(mktemp -d /tmp/lazysnap-demo.XXXXXX)
export LAZYSNAP_STATE_DIR=$work/state
lazysnap() { node "$root/bin/lazysnap" "$@"; }
mnt=$work/mnt
cleanup() {
	set +e
	if mountpoint -q "$mnt" 2>/dev/null; then lazysnap umount "$mnt"; fi
	lazysnap daemon stop --all >/dev/null 2>&1
	bash test/fixtures/registry.sh stop "$work/registry" 2>/dev/null
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "== a local registry"
reg=$(bash test/fixtures/registry.sh start "$work/registry")
echo "registry at $reg"
skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$fixtures/oci:python" "docker://$reg/demo/python:gzip"

echo
echo "== inspect (gzip, as most images in the wild are)"
lazysnap inspect "$reg/demo/python:gzip"

echo
echo "== convert to eStargz (lazily readable, still a plain tar.gz to every other tool)"
printf '/usr/bin/python3.11\n/usr/lib/python3.11/json/__init__.py\n' >"$work/prefetch.txt"
lazysnap convert "$reg/demo/python:gzip" "$reg/demo/python:estargz" --prefetch-list "$work/prefetch.txt"
lazysnap inspect "$reg/demo/python:estargz"

echo
echo "== one file out of the image, without pulling it"
lazysnap cat "$reg/demo/python:estargz" /etc/os-release --stats | head -n 3

echo
echo "== mount it lazily and run python3 inside"
mkdir -p "$mnt"
lazysnap mount "$reg/demo/python:estargz" "$mnt"
ls "$mnt"
chroot "$mnt" /usr/bin/python3 -c 'import json, sys; print("python", sys.version.split()[0], "says", json.dumps({"lazy": True}))'
lazysnap status
lazysnap umount "$mnt"
echo
echo "demo done"
