#!/usr/bin/env bash
# Smoke-runs the image archive with podman: `natplan --version`, `operator --help` and
# `agent --help` must succeed inside it, and `natplan agent` with no cluster to talk to
# must fail fast with a one-line error. Containers get no network (--network none);
# podman's storage is a temporary directory removed on exit, containers included.
# runc, not podman's default crun: crun refuses hybrid cgroup v1/v2 mounts. The rlimits
# are passed explicitly because the process may not raise them (no CAP_SYS_RESOURCE).
# Usage: bash tools/image/smoke.sh [archive]   (default dist/natplan-image.oci.tar)
set -euo pipefail
cd "$(dirname "$0")/../.."
archive=$(realpath "${1:-dist/natplan-image.oci.tar}")
log() { echo "image smoke: $*" >&2; }
fail() { echo "image smoke: FAIL: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/natplan-smoke.XXXXXX")
# shellcheck source=tools/image/storage.sh
source tools/image/storage.sh
# Its own engine config too: file locks under the temporary directory instead of the
# machine-wide shared-memory lock segment, which a podman starting on fresh state would
# reset under any other podman using it.
mkdir -p "$work/tmp"
cat > "$work/containers.conf" <<CONF
[engine]
lock_type = "file"
tmp_dir = "$work/tmp"
events_logger = "none"
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
pod() {
  CONTAINERS_CONF="$work/containers.conf" podman --root "$work/storage" --runroot "$work/run" \
    --tmpdir "$work/tmp" --storage-driver overlay --runtime-flag "root=$work/runc" "$@"
}
cleanup() { pod rm --all --force >/dev/null 2>&1 || true; storage_remove "$work"; }
trap cleanup EXIT

image=$(pod load --quiet --input "$archive" | sed -n 's/^Loaded image[^:]*: *//p' | tail -1)
[ -n "$image" ] || fail "podman load found no image in $archive"
log "loaded $image: $(( $(pod image inspect --format '{{.Size}}' "$image") / 1000000 )) MB unpacked"
# Every container: no network, a time limit, and rlimits it is allowed to have.
contain() {
  pod run --rm --network none --timeout 60 \
    --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 "$@"
}
run() { contain "$image" "$@"; }

version=$(run --version)
expected="natplan $(node -p "require('./package.json').version")"
[ "$version" = "$expected" ] || fail "--version printed '$version', expected '$expected'"
run operator --help | grep -q -- '--mode' || fail "operator --help does not list its flags"
run agent --help | grep -q -- '--node-name' || fail "agent --help does not list its flags"
node_version=$(contain --entrypoint /usr/local/bin/node "$image" --version)
[ "$node_version" = "v$(tr -d '[:space:]' < tools/image/node-version)" ] || fail "image node is $node_version"
# The agent's dataplane tools, each run once (a missing library fails here too).
contain --entrypoint /bin/sh "$image" -c \
  'nft --version && iptables-restore --version && iptables-nft-restore --version && conntrack --version && ip -V' >/dev/null \
  || fail "a dataplane tool is missing or broken in the image"

# No cluster: the agent must give up quickly with one clear line, not hang or dump a stack.
set +e
agent_err=$(run agent --node-name smoke 2>&1 >/dev/null)
agent_rc=$?
set -e
log "agent with no cluster: exit $agent_rc: $agent_err"
[ "$agent_rc" -ne 0 ] && [ "$agent_rc" -ne 124 ] || fail "agent with no cluster exited $agent_rc"
[ "$(printf '%s\n' "$agent_err" | wc -l)" -eq 1 ] || fail "agent with no cluster printed more than one line"
log "passed ($image, node $node_version)"
