#!/usr/bin/env bash
# Builds the real-node e2e's workload image: one static Go binary (tiny/main.go) that is
# the pod sandbox's pause process, the Service's HTTP backend and the client, committed
# with buildah to an OCI archive. Cached outside the repository by source hash.
# Usage: bash e2e/real-node/tiny-image.sh <image ref>   prints the archive path.
set -euo pipefail
# stdout carries only the archive path (callers read it); every tool's output goes to
# stderr, also the ones that print only on a cold cache (npm ci, go downloads, apt).
exec 3>&1 1>&2
cd "$(dirname "$0")"
ref=$1
CACHE_DIR="${NATPLAN_CACHE_DIR:-$HOME/.cache/natplan}/real-node"
key=$( { cat tiny/main.go tiny/go.mod; echo "$ref"; } | sha256sum | cut -c1-16)
archive="$CACHE_DIR/tiny-$key.oci.tar"
if [ -f "$archive" ]; then echo "$archive" >&3; exit 0; fi
mkdir -p "$CACHE_DIR"
work=$(mktemp -d "${TMPDIR:-/tmp}/natplan-tiny.XXXXXX")
# shellcheck source=tools/image/storage.sh
source ../../tools/image/storage.sh
trap 'storage_remove "$work"' EXIT
(cd tiny && CGO_ENABLED=0 GOFLAGS=-mod=mod /usr/local/go/bin/go build -trimpath -ldflags "-s -w" -o "$work/tiny" .)
bah() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver overlay "$@"; }
c=$(bah from --quiet scratch)
bah add --quiet --chmod 0755 "$c" "$work/tiny" /tiny >/dev/null
bah config --entrypoint '["/tiny"]' --cmd '' "$c"
bah commit --quiet --rm "$c" "oci-archive:$archive.tmp:$ref" >/dev/null
mv "$archive.tmp" "$archive"
echo "$archive" >&3
