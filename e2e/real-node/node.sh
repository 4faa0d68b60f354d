#!/usr/bin/env bash
# One Kubernetes node: containerd + kubelet. The harness (node.ts) starts this script as
#   nsenter --net=<node netns> unshare --mount --propagation slave bash node.sh <dir> ...
# so that the node's network is a test namespace and every mount made here (the shadowed
# state directories below, containerd's overlays, kubelet's volumes) lives in a private
# mount namespace that vanishes with the node's last process. Nothing here touches the
# machine's own network, mounts or sysctls.
# Args: <dir> <node name> <node IP> <pod CIDR> <cgroup root> <sandbox image> <kubeconfig>
set -euo pipefail
dir=$1 node_name=$2 node_ip=$3 pod_cidr=$4 cgroup_root=$5 sandbox_image=$6 kubeconfig=$7
log() { echo "node.sh: $*" >&2; }

# This script and everything it starts (containerd, its shims, the kubelet) run in the
# cgroup <cgroup root>/node of every hierarchy, beside the kubelet's pods: the harness
# finds and kills the whole node by that subtree, even after a crashed test.
for h in $(awk '($3 == "cgroup" || $3 == "cgroup2") && $2 ~ "^/sys/fs/cgroup/" {print $2}' /proc/self/mounts); do
  mkdir -p "$h$cgroup_root/node"
  for f in cpuset.cpus cpuset.mems; do
    [ -f "$h$cgroup_root/$f" ] && cat "$h$cgroup_root/$f" > "$h$cgroup_root/node/$f"
  done
  echo $$ > "$h$cgroup_root/node/cgroup.procs"
done

# Never let a mount made here reach the host, whatever unshare's defaults were.
mount --make-rslave /

# State the machine's own containerd/kubelet/CNI would use: shadowed by test directories.
for path in /run/containerd /var/lib/containerd /var/log/containers /var/lib/cni /etc/cni/net.d /run/netns /var/lib/kubelet; do
  shadow="$dir/shadow$path"
  mkdir -p "$shadow" "$path"
  mount --bind "$shadow" "$path"
done
# The chart mounts the host's /lib/modules; containerd creates a missing host path. This
# machine has none: an overlay over the directory holding it keeps that creation here.
if [ ! -e /lib/modules ]; then
  lib=$(realpath -m /lib)
  mkdir -p "$dir/lib-upper" "$dir/lib-work"
  mount -t overlay overlay -o "lowerdir=$lib,upperdir=$dir/lib-upper,workdir=$dir/lib-work" "$lib"
  mkdir -p /lib/modules
fi
# The agent's xtables lock (a hostPath) is a file of its own for this node.
: > "$dir/xtables.lock"
[ -e /run/xtables.lock ] && mount --bind "$dir/xtables.lock" /run/xtables.lock

# kubelet checks global (not per-namespace) sysctls and would write them: show it the
# values it wants through files bind-mounted over the entries, in this namespace only.
for kv in vm/overcommit_memory=1 kernel/panic=10 kernel/panic_on_oops=1; do
  key=${kv%%=*} value=${kv#*=}
  file="$dir/sysctl-${key//\//-}"
  echo "$value" > "$file"
  mount --bind "$file" "/proc/sys/$key"
done

cat > /etc/cni/net.d/10-natplan-e2e.conflist <<JSON
{
  "cniVersion": "1.0.0",
  "name": "natplan-e2e",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    }
  ]
}
JSON

cat > "$dir/containerd.toml" <<TOML
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$dir/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox_image"
  # No CAP_SYS_RESOURCE here: a negative oom_score_adj makes runc fail to create sandboxes.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
TOML

cat > "$dir/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$dir/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: $cgroup_root
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failSwapOn: false
failCgroupV1: false
protectKernelDefaults: false
readOnlyPort: 0
podLogsDir: $dir/pod-logs
resolvConf: /etc/resolv.conf
# The machine's disk is shared and may be fuller than the defaults allow.
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 2s
YAML

pids=()
cleanup() {
  trap - TERM INT EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait || true
}
trap cleanup TERM INT EXIT

log "starting containerd"
containerd --config "$dir/containerd.toml" > "$dir/containerd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/containerd.sock" ] && break; sleep 0.1; done
[ -S "$dir/containerd.sock" ] || { log "containerd did not start"; exit 1; }

# Images kubelet runs with pullPolicy Never (one OCI archive path a line; the ref name
# annotation names the image).
while read -r archive; do
  [ -n "$archive" ] || continue
  log "importing $archive"
  ctr --address "$dir/containerd.sock" -n k8s.io images import "$archive" >&2
done < "$dir/images"

log "starting kubelet"
"$KUBELET" --config="$dir/kubelet.yaml" --kubeconfig="$kubeconfig" --root-dir=/var/lib/kubelet \
  --hostname-override="$node_name" --node-ip="$node_ip" --v=1 > "$dir/kubelet.log" 2>&1 &
pids+=($!)
echo "node.sh: running" >&2
wait -n
log "a node process exited"
