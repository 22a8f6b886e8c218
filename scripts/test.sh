#!/usr/bin/env bash
# The one test command (npm test): the tools the tests check against, a type-check and build,
# then every *.test.ts under src/ and test/ with node's test runner. test/allinone.e2e.test.ts
# brings up a real all-in-one cloud with `osk up --yes`, which installs Debian's OpenStack
# packages itself (root; a few minutes the first time), and test/allinone-libvirt.e2e.test.ts
# another one with real guests (QEMU), alone, at the end.
#
# The generated oslo configs are checked by Debian's oslo-config-validator against the real
# option definitions; as root this installs them (a no-op once present). Without root those
# tests skip and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then
  bash scripts/install-oslo-validator.sh
  bash scripts/install-test-tools.sh
elif ! command -v oslo-config-validator >/dev/null 2>&1; then
  echo "warning: oslo-config-validator is missing and this is not root: the oslo config tests will skip (sudo bash scripts/install-oslo-validator.sh)" >&2
fi
# Format and lint (Biome, biome.jsonc): a misformatted file or a lint finding fails the run.
biome ci --colors=off --error-on-warnings .
# Which module may import which, and no import cycles (.dependency-cruiser.cjs).
depcruise src --output-type err
tsc -p tsconfig.json --noEmit
# The end-to-end tests run the osk command itself (bin/osk.js → dist/).
npm run -s build
# Two files at a time, but test/allinone-libvirt.e2e.test.ts alone after them: its cloud and the
# one of allinone.e2e.test.ts use the same loopback ports, and only one cloud runs on a host.
mapfile -t files < <(find src test -name '*.test.ts' ! -name 'allinone-libvirt.e2e.test.ts' | sort)
status=0
node --import tsx --test --test-reporter=spec --test-concurrency=2 "${files[@]}" || status=$?
OSK_E2E_LIBVIRT=1 node --import tsx --test --test-reporter=spec test/allinone-libvirt.e2e.test.ts || status=$?
exit "$status"
