#!/usr/bin/env bash
# Installs the Debian packages the image build and its smoke run need (run as root):
# mmdebstrap builds the root filesystem, buildah commits the image, podman + runc run it
# (crun, podman's default, refuses this machine's hybrid cgroups). Idempotent: apt runs
# only when a package is missing.
set -euo pipefail
IMAGE_PACKAGES=(mmdebstrap buildah podman runc)
missing=()
for p in "${IMAGE_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "image prereqs: installing Debian packages: ${missing[*]}" >&2
  # Other installs may hold the dpkg lock for a while; wait instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in mmdebstrap buildah podman runc; do
  command -v "$tool" >/dev/null || { echo "image prereqs: $tool missing after install" >&2; exit 1; }
done
