#!/usr/bin/env bash
# Builds the Kubernetes binaries the tests run (kube-apiserver, etcd,
# kube-controller-manager, kube-proxy, and for the real-node e2e kube-scheduler, kubelet) from the Go module proxy, once, into a cache
# outside the repository keyed by version. Nothing built here is committed.
#
# k8s.io/kubernetes cannot be required as-is: its go.mod requires every staging module
# (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0 and replaces it with ./staging/src/...,
# and replace directives of a dependency are ignored. A small wrapper module therefore
# replaces each staging module with its published v0.X.Y release; the list is read from
# kubernetes' own go.mod so it never goes stale.
#
# Usage: tools/k8s-binaries/build.sh            prints the bin directory on stdout
# Env:   NATPLAN_K8S_VERSION (default below), NATPLAN_CACHE_DIR (default ~/.cache/natplan)
set -euo pipefail

K8S_VERSION="${NATPLAN_K8S_VERSION:-1.34.4}"
STAGING_VERSION="0.${K8S_VERSION#1.}"
CACHE_DIR="${NATPLAN_CACHE_DIR:-$HOME/.cache/natplan}"
OUT="$CACHE_DIR/k8s-v$K8S_VERSION"
BIN="$OUT/bin"
BINARIES=(kube-apiserver etcd kube-controller-manager kube-proxy kube-scheduler kubelet)

have_all() { for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] || return 1; done; }
if have_all; then echo "$BIN"; exit 0; fi

export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "build.sh: go is required (expected /usr/local/go/bin/go)" >&2; exit 1; }

WORK="$OUT/wrapper"
rm -rf "$WORK" && mkdir -p "$WORK/etcd" "$BIN"
cd "$WORK"
log() { echo "build.sh: $*" >&2; }

log "resolving k8s.io/kubernetes v$K8S_VERSION"
gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$gomod" ] || { log "could not download kubernetes go.mod"; exit 1; }
go_directive=$(awk '$1=="go"{print $2; exit}' "$gomod")

{
  echo "module natplan.io/k8s-binaries"
  echo
  echo "go $go_directive"
  echo
  echo "require k8s.io/kubernetes v$K8S_VERSION"
  echo
  # every "k8s.io/x => ./staging/src/k8s.io/x" becomes "k8s.io/x => k8s.io/x v0.Y.Z"
  grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" \
    | awk -v v="v$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
} > go.mod

# etcd's own main lives in a module kubernetes does not require; its server package
# (in kubernetes' build list, used by the integration framework) exposes the same entry.
cat > etcd/main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO

log "go mod tidy"
go mod tidy >&2
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
for cmd in kube-apiserver kube-controller-manager kube-proxy kube-scheduler kubelet; do
  [ -x "$BIN/$cmd" ] && continue # kept from an earlier build of the same version
  log "building $cmd (this takes minutes on a cold cache)"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd" >&2
  mv "$BIN/$cmd.tmp" "$BIN/$cmd"
done
[ -x "$BIN/etcd" ] || {
log "building etcd"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" ./etcd >&2
mv "$BIN/etcd.tmp" "$BIN/etcd"
}
have_all || { log "some binaries are missing in $BIN"; exit 1; }
echo "$BIN"
