#!/usr/bin/env bash
# setup.sh: install what lazysnap needs on a Debian machine (idempotent), then build it.
#   Debian: docker-registry (tests, demo), umoci + skopeo + debootstrap (fixture images),
#   libfuse2 (fuse-native links libfuse.so.2) and fuse3 (fusermount3) -- never the `fuse`
#   package, which conflicts with fuse3 --, attr (xattrs), apache2-utils (htpasswd for the
#   password-protected test registry), crun and runc (runtimes on the mount), jq, zstd.
#   npm: the locked dependencies (npm ci), then `npm run build`.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PATH=$PATH:/usr/sbin:/sbin

log() { printf 'setup: %s\n' "$*" >&2; }

# need CMD:PACKAGE... -> the packages whose command is missing
missing=()
for pair in docker-registry:docker-registry umoci:umoci skopeo:skopeo debootstrap:debootstrap \
	fusermount3:fuse3 setfattr:attr htpasswd:apache2-utils crun:crun runc:runc jq:jq zstd:zstd \
	squashfuse:squashfuse mksquashfs:squashfs-tools fuse-overlayfs:fuse-overlayfs; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[[ -e /usr/lib/x86_64-linux-gnu/libfuse.so.2 || -e /lib/x86_64-linux-gnu/libfuse.so.2 ]] ||
	ldconfig -p 2>/dev/null | grep -q 'libfuse.so.2 ' || missing+=(libfuse2)
if ((${#missing[@]})); then
	if ((EUID != 0)); then
		log "missing Debian packages; as root run: apt-get install -y --no-install-recommends ${missing[*]}"
		exit 1
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -q)
	if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2; then
		"${apt[@]}" update >&2
		"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2
	fi
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
	log "installing npm packages"
	npm ci --no-audit --no-fund --loglevel=error >&2
fi
log "building"
npm run --silent build >&2
