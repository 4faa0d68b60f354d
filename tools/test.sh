#!/usr/bin/env bash
# The test command: sets up a fresh machine (tools/prereqs.sh) and runs every check —
# lint, typecheck, the generated-code check, unit and integration tests, the unit tests
# again under the image's Node.js (tools/image/node-version), the image build and its
# smoke run, and a smoke run of every benchmark. Run as root: the dataplane tests create
# network namespaces. No test skips itself for a missing prerequisite: without root, nft or
# the cached Kubernetes binaries the tests that need them fail. (The one conditional test,
# in tools/image/runtime.test.ts, runs only when this script sets NATPLAN_EXPECT_NODE.)
# CI=true only makes tools/prereqs.sh run `npm ci` every time.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash tools/prereqs.sh
echo "== lint";            npm run -s lint
echo "== typecheck";       npm run -s typecheck
echo "== generated code";  npm run -s check:generated
# One command per line: set -e ignores a failure inside an `a && b` list.
echo "== build";           npm run -s build
node --conditions=natplan-dist dist/bin/natplan.js operator --help >/dev/null
node --conditions=natplan-dist dist/bin/natplan.js agent --help >/dev/null
node --conditions=natplan-dist dist/bin/natplan.js --version >/dev/null
echo "== tests";           npx vitest run
# The image runs a newer Node than this machine's: the unit tests run under that binary
# too (first on PATH; NATPLAN_EXPECT_NODE makes a test prove it).
node_dir=$(bash tools/image/node-runtime.sh)
echo "== unit tests on $("$node_dir/bin/node" --version)"
PATH="$node_dir/bin:$PATH" NATPLAN_EXPECT_NODE=$("$node_dir/bin/node" --version) npx vitest run --project unit
echo "== image";           archive=$(bash tools/image/build.sh)
bash tools/image/smoke.sh "$archive"
# Tiny sizes: fails when a benchmark no longer runs; its timings are not judged here.
echo "== bench smoke";     npm run -s bench:smoke
echo "== done in $(( $(date +%s) - start ))s"
