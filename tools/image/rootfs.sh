#!/usr/bin/env bash
# Prints the path of the image's root filesystem tar: a minimal Debian bookworm from
# mmdebstrap (essential variant plus the agent's dataplane tools and node's libstdc++6),
# built once and cached under ${NATPLAN_CACHE_DIR:-~/.cache/natplan}/image, keyed by
# everything that determines it (this file's options and the host's apt sources).
# Building it takes minutes; the cached tar is reused. Run as root.
set -euo pipefail
cd "$(dirname "$0")"
CACHE_DIR="${NATPLAN_CACHE_DIR:-$HOME/.cache/natplan}/image"
SUITE=bookworm
# The host's own Debian sources (this machine is bookworm too): no mirror is named here.
SOURCES=${NATPLAN_DEBIAN_SOURCES:-/etc/apt/sources.list.d/debian.sources}
# libstdc++6: node links it; without it node fails to start. The rest is what the agent
# execs (nft, iptables-restore, conntrack, ip).
PACKAGES=nftables,iptables,conntrack,iproute2,ca-certificates,libstdc++6
OPTIONS=(--variant=essential --include="$PACKAGES" --format=tar
  # Documentation and translations are dead weight in an image; copyrights stay.
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*')

key=$( { echo "$SUITE ${OPTIONS[*]}"; cat "$SOURCES"; } | sha256sum | cut -c1-16)
tar="$CACHE_DIR/rootfs-$SUITE-$key.tar"
if [ ! -s "$tar" ]; then
  mkdir -p "$CACHE_DIR"
  echo "rootfs: building $tar with mmdebstrap (minutes)" >&2
  mmdebstrap --quiet "${OPTIONS[@]}" "$SUITE" "$tar.tmp" "$SOURCES" >&2
  mv "$tar.tmp" "$tar"
fi
echo "$tar"
