#!/usr/bin/env bash
# The test command: sets up a fresh machine (tools/prereqs.sh) and runs every check —
# lint, typecheck, the generated-code check, unit and integration tests, and a smoke run
# of every benchmark. Run as root: the dataplane tests create network namespaces. In CI (CI=true) nothing is skipped: a
# missing prerequisite fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash tools/prereqs.sh
echo "== lint";            npm run -s lint
echo "== typecheck";       npm run -s typecheck
echo "== generated code";  npm run -s check:generated
echo "== build";           npm run -s build && node dist/bin/natplan.js operator --help >/dev/null && node dist/bin/natplan.js agent --help >/dev/null
echo "== tests";           npx vitest run
# Tiny sizes: fails when a benchmark no longer runs; its timings are not judged here.
echo "== bench smoke";     npm run -s bench:smoke
echo "== done in $(( $(date +%s) - start ))s"
