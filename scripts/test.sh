#!/usr/bin/env bash
# The one test command (npm test): type-check, then every *.test.ts under src/ and test/ with
# node's test runner. Tests that need real tools (oslo-config-validator) skip with a reason
# when the tool is missing; .ci/run installs them first.
set -euo pipefail
cd "$(dirname "$0")/.."
tsc -p tsconfig.json --noEmit
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-reporter=spec --test-concurrency=2 "${files[@]}"
