#!/usr/bin/env bash
# test.sh: the whole test suite, as CI runs it (.ci/run calls this and nothing else).
# Installs what is missing, builds the fixture images once (cached in
# $LAZYSNAP_FIXTURES, default /var/cache/lazysnap-fixtures), then runs node's test runner.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export LAZYSNAP_FIXTURES=${LAZYSNAP_FIXTURES:-/var/cache/lazysnap-fixtures}
echo "test: fixture images in $LAZYSNAP_FIXTURES" >&2
bash test/fixtures/build-images.sh "$LAZYSNAP_FIXTURES" 2> >(grep -E '==|WARN|rror' >&2)
# Each test file runs in its own process, two at a time (2 cores); FUSE tests unmount
# what they mount even when they fail.
# Only *.test.js: given a directory, node 20 would also run helper modules as tests.
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
